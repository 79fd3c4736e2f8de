/* test_im2col.c: the lowering (nn/im2col.h) against its definition, bit
 * for bit: row r = (c, ki, kj), column i*ld + j (j < OW) holds
 * xpad[c][i*SH + ki][j*SW + kj], for narrow and wide rows, a channel range
 * off 0, and geometries on both sides of the AVX-512 phase-plane path's
 * limits (plane rows of at most 16, input rows of at most 32: resnet20's
 * strided 16x16 and 32x32 inputs fall on either side); nn_im2col_rows
 * points at exactly the wide columns nn_im2col copies, junk included; and
 * col2im is the adjoint: <col, im2col(x)> = <col2im(col), x> for a col
 * whose wide junk columns are 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/conv2d.h"
#include "nn/im2col.h"
#include "nn/rng.h"

/* c, h, w, then the conv: kh, kw, sh, sw, ph, pw */
static const int GEOMS[][9] = {
    {3, 8, 8, 3, 3, 1, 1, 1, 1},    /* 3x3: plane rows of 10 */
    {3, 16, 16, 3, 3, 2, 2, 1, 1},  /* strided, resnet20's 32 -> 64: plane rows of 9 */
    {3, 32, 32, 3, 3, 2, 2, 1, 1},  /* strided, 16 -> 32: plane rows of 17, past 16 */
    {2, 40, 12, 3, 3, 2, 2, 1, 1},  /* narrow input, tall */
    {2, 13, 36, 3, 3, 1, 3, 1, 1},  /* plane rows of 12 from input rows of 36, past 32 */
    {3, 32, 32, 3, 3, 3, 3, 1, 1},  /* input rows of exactly 32, stride 3 */
    {3, 15, 13, 3, 3, 2, 2, 1, 1},  /* odd sizes: the last phase column shorter */
    {3, 11, 10, 5, 2, 3, 1, 2, 0},  /* non-square, stride 3 */
    {2, 19, 21, 7, 7, 2, 2, 3, 3},  /* a stem-like 7x7 */
    {3, 9, 9, 1, 1, 2, 2, 0, 0},    /* strided pointwise */
};
#define NGEOMS ((int)(sizeof GEOMS / sizeof GEOMS[0]))

static void geom_of(int i, nn_conv_geom *g)
{
    const int *a = GEOMS[i];
    nn_conv2d_cfg cfg = {"c", 4, a[3], a[4], a[5], a[6], a[7], a[8], 1, 0};
    qa_err err;
    ck_assert_int_eq(nn_conv_geom_init(g, a[0], a[1], a[2], &cfg, &err), QA_OK);
}

static float *randn(size_t n, nn_rng *r)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = nn_rng_normal(r);
    return x;
}

/* xpad[c][y][x], 0 outside x */
static float xpad(const nn_conv_geom *g, const float *x, int c, int y, int xx)
{
    y -= g->ph, xx -= g->pw;
    return y < 0 || y >= g->h || xx < 0 || xx >= g->w ? 0.0f : x[((size_t)c * g->h + y) * g->w + xx];
}

static void check_defined(const nn_conv_geom *g, const float *x, int c0, const float *col, int ld,
                          int rows)
{
    size_t P = (size_t)g->oh * (size_t)ld;
    for (int r = 0; r < rows; r++) {
        int c = c0 + r / (g->kh * g->kw), ki = r / g->kw % g->kh, kj = r % g->kw;
        for (int i = 0; i < g->oh; i++)
            for (int j = 0; j < ld; j++) {
                float v = col[r * P + (size_t)i * ld + j];
                if (j >= g->ow) {
                    ck_assert_msg(isfinite(v), "junk column not finite: row %d (%d, %d)", r, i, j);
                    continue;
                }
                float want = xpad(g, x, c, i * g->sh + ki, j * g->sw + kj);
                ck_assert_msg(memcmp(&v, &want, sizeof v) == 0,
                              "%dx%d s%d,%d on %dx%d, ld %d: row %d (c %d, tap %d,%d) at (%d, %d): "
                              "%g, want %g",
                              g->kh, g->kw, g->sh, g->sw, g->h, g->w, ld, r, c, ki, kj, i, j,
                              (double)v, (double)want);
            }
    }
}

/* channels [1, C) of each geometry, narrow and wide, then the row pointers */
START_TEST(test_im2col_is_the_definition)
{
    nn_conv_geom g;
    geom_of(_i, &g);
    nn_rng r;
    nn_rng_init(&r, 7 + (uint64_t)_i, NN_STREAM_TEST, 31, 0);
    int c0 = 1, cn = g.c - 1, rows = cn * g.kh * g.kw, qw = nn_im2col_wide_width(&g);
    float *x = randn((size_t)g.c * g.h * g.w, &r);
    size_t np = nn_im2col_planes_floats(&g, cn), nc = (size_t)rows * g.oh * qw;
    float *planes = malloc(np * sizeof *planes), *col = malloc(nc * sizeof *col);
    const float **R = malloc((size_t)rows * sizeof *R);
    nn_im2col(&g, x, c0, cn, col, g.ow, planes);
    check_defined(&g, x, c0, col, g.ow, rows);
    nn_im2col(&g, x, c0, cn, col, qw, planes);
    check_defined(&g, x, c0, col, qw, rows);
    for (size_t k = 0; k < np; k++)
        planes[k] = NAN; /* _rows must fill what it points at */
    nn_im2col_rows(&g, x, c0, cn, planes, R);
    size_t P = (size_t)g.oh * qw;
    for (int k = 0; k < rows; k++)
        ck_assert_msg(memcmp(R[k], col + k * P, P * sizeof *col) == 0, "rows: row %d differs", k);
    free(x), free(planes), free(col), free(R);
}
END_TEST

START_TEST(test_col2im_adjoint)
{
    nn_conv_geom g;
    geom_of(_i, &g);
    nn_rng r;
    nn_rng_init(&r, 9 + (uint64_t)_i, NN_STREAM_TEST, 32, 0);
    int rows = g.c * g.kh * g.kw, qw = nn_im2col_wide_width(&g);
    size_t nx = (size_t)g.c * g.h * g.w, P = (size_t)g.oh * qw;
    float *x = randn(nx, &r), *d = randn((size_t)rows * P, &r), *dx = randn(nx, &r);
    float *col = malloc((size_t)rows * P * sizeof *col);
    float *planes = malloc(nn_im2col_planes_floats(&g, g.c) * sizeof *planes);
    for (int k = 0; k < rows; k++)
        for (int i = 0; i < g.oh; i++)
            for (int j = g.ow; j < qw; j++)
                d[k * P + (size_t)i * qw + j] = 0.0f;
    nn_im2col(&g, x, 0, g.c, col, qw, planes);
    nn_col2im(&g, d, qw, 0, g.c, dx, 0, planes);
    double lhs = 0.0, rhs = 0.0, scale = 0.0;
    for (size_t k = 0; k < (size_t)rows * P; k++) {
        lhs += (double)d[k] * col[k];
        scale += fabs((double)d[k] * col[k]);
    }
    for (size_t k = 0; k < nx; k++)
        rhs += (double)dx[k] * x[k];
    ck_assert_msg(fabs(lhs - rhs) <= 1e-5 * (1.0 + scale), "<d, im2col x> %.9g, <col2im d, x> %.9g",
                  lhs, rhs);
    free(x), free(d), free(dx), free(col), free(planes);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_im2col");
    TCase *tc = tcase_create("im2col");
    tcase_add_loop_test(tc, test_im2col_is_the_definition, 0, NGEOMS);
    tcase_add_loop_test(tc, test_col2im_adjoint, 0, NGEOMS);
    suite_add_tcase(s, tc);
    return s;
}
