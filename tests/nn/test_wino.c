/* test_wino.c: the Winograd F(2x2, 3x3) path of the conv2d raw kernels
 * against the im2col path on the same data: forward (with and without
 * bias), input gradient (overwrite and accumulate), weight and bias
 * gradients accumulated into non-zero buffers, over all samples and index
 * subsets, on odd and even sizes (a padded last tile), channel counts that
 * are multiples of nothing, several chunks per thread, on 1 and 2 threads;
 * two runs on 2 threads are bit-identical.
 *
 * Tolerance: |wino - im2col| <= 1e-5 * scale, scale = the largest
 * |im2col| value of the tensor compared (for accumulated buffers, of the
 * part the call added). Both paths round in float: im2col sums 9C products
 * per output; Winograd sums C products per transformed value, each factor
 * a sum of at most 9 weights (times 1/4) or 4 inputs, then 9 of those
 * values per output. Its values are at most 4-9x the inputs' scale, so its
 * error is a few float epsilons (6e-8) times sqrt(terms) times that
 * growth: ~1e-6 of the output scale on these shapes (what it measures),
 * and 1e-5 leaves a 10x margin while a wrong tap, tile or transform
 * coefficient gives errors of the order of the scale itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/conv2d.h"
#include "nn/par.h"
#include "nn/rng.h"

typedef struct {
    int c, oc, h, w, n, bias;
} wino_case;

static const wino_case CASES[] = {
    {3, 5, 7, 7, 70, 1},    /* odd 7x7: last tile row and column padded; 2+ chunks per thread */
    {17, 6, 14, 14, 5, 0},  /* channel counts multiples of nothing */
    {5, 19, 28, 28, 3, 1},  /* 28x28 */
    {7, 11, 5, 5, 130, 1},  /* 5x5, several chunks per thread */
    {4, 3, 5, 9, 4, 0},     /* non-square */
    {2, 2, 1, 1, 3, 1},     /* one pixel: one tile, 3 of its 4 outputs dropped */
    {16, 16, 6, 8, 9, 1},   /* even sizes, no padded tile */
};

static float *randn(size_t n, nn_rng *r)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = nn_rng_normal(r);
    return x;
}

static float *copy_of(const float *v, size_t n)
{
    float *c = malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    return c;
}

/* max |ref - base| (base NULL: max |ref|) */
static double scale_of(const float *ref, const float *base, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)ref[i] - (base ? base[i] : 0.0));
        s = d > s ? d : s;
    }
    return s;
}

static void assert_near(const char *what, const float *a, const float *ref, const float *base,
                        size_t n)
{
    double tol = 1e-5 * scale_of(ref, base, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)a[i] - ref[i]) <= tol, "%s[%zu]: winograd %.8g im2col %.8g (tol %.3g)",
                      what, i, a[i], ref[i], tol);
}

typedef struct {
    nn_conv_geom g[2]; /* [0] im2col, [1] winograd */
    size_t nx, ny, nw, sn;
    float *x, *w, *b, *dy, *y0, *dx0, *dw0, *db0, *scratch;
    int *idx, nsel;
} fixture;

static void fixture_init(fixture *f, const wino_case *k, uint64_t seed)
{
    qa_err err;
    nn_conv2d_cfg cfg = nn_conv2d_cfg_make("w", k->oc, 3, 1, 1);
    ck_assert_int_eq(nn_conv_geom_init(&f->g[0], k->c, k->h, k->w, &cfg, &err), QA_OK);
    f->g[1] = f->g[0];
    f->g[0].algo = NN_CONV_IM2COL;
    f->g[1].algo = NN_CONV_WINOGRAD;
    ck_assert_int_eq(nn_conv2d_algo(&f->g[1]), NN_CONV_WINOGRAD);
    nn_rng r;
    nn_rng_init(&r, seed, NN_STREAM_TEST, 40, 0);
    f->nx = (size_t)k->n * (size_t)(k->c * k->h * k->w);
    f->ny = (size_t)k->n * (size_t)(k->oc * k->h * k->w);
    f->nw = (size_t)(k->oc * k->c * 9);
    f->x = randn(f->nx, &r), f->w = randn(f->nw, &r), f->b = randn((size_t)k->oc, &r);
    f->dy = randn(f->ny, &r), f->y0 = randn(f->ny, &r), f->dx0 = randn(f->nx, &r);
    f->dw0 = randn(f->nw, &r), f->db0 = randn((size_t)k->oc, &r);
    size_t s0 = nn_conv2d_scratch_floats(&f->g[0], 2, nn_par_shares());
    size_t s1 = nn_conv2d_scratch_floats(&f->g[1], 2, nn_par_shares());
    f->sn = s0 > s1 ? s0 : s1;
    f->scratch = malloc(f->sn * sizeof(float));
    /* every third sample, last first: an unordered subset */
    f->idx = malloc((size_t)k->n * sizeof(int));
    f->nsel = 0;
    for (int s = k->n - 1; s >= 0; s -= 3)
        f->idx[f->nsel++] = s;
}

static void fixture_free(fixture *f)
{
    free(f->x), free(f->w), free(f->b), free(f->dy), free(f->y0), free(f->dx0), free(f->dw0);
    free(f->db0), free(f->scratch), free(f->idx);
}

typedef struct {
    float *y, *dx, *dw, *db;
} outputs;

/* forward and backward with path a, from the same initial buffers; sub
 * selects the index subset (dx accumulated) or all samples (dx written) */
static outputs run_path(const fixture *f, const wino_case *k, int a, int sub)
{
    outputs o = {copy_of(f->y0, f->ny), copy_of(f->dx0, f->nx), copy_of(f->dw0, f->nw),
                 copy_of(f->db0, (size_t)k->oc)};
    const int *idx = sub ? f->idx : NULL;
    int n = sub ? f->nsel : k->n;
    nn_conv2d_forward_raw(&f->g[a], f->x, f->w, k->bias ? f->b : NULL, o.y, idx, n, f->scratch, f->sn);
    nn_conv2d_backward_raw(&f->g[a], f->x, f->w, f->dy, o.dx, sub, o.dw, o.db, idx, n, f->scratch,
                           f->sn);
    return o;
}

static void outputs_free(outputs *o)
{
    free(o->y), free(o->dx), free(o->dw), free(o->db);
}

START_TEST(test_wino_vs_im2col)
{
    const wino_case *k = &CASES[_i];
    fixture f;
    fixture_init(&f, k, 50 + (uint64_t)_i);
    qa_err err;
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(nn_par_set_threads(threads, &err), QA_OK);
        for (int sub = 0; sub < 2; sub++) {
            outputs ref = run_path(&f, k, 0, sub), win = run_path(&f, k, 1, sub);
            /* samples outside the subset keep their bytes; compare all */
            assert_near("y", win.y, ref.y, sub ? f.y0 : NULL, f.ny);
            assert_near("dx", win.dx, ref.dx, sub ? f.dx0 : NULL, f.nx);
            assert_near("dw", win.dw, ref.dw, f.dw0, f.nw);
            assert_near("db", win.db, ref.db, f.db0, (size_t)k->oc);
            if (sub) {
                size_t sy = f.ny / (size_t)k->n, sx = f.nx / (size_t)k->n;
                for (int s = 0; s < k->n; s++)
                    if ((k->n - 1 - s) % 3 != 0) {
                        ck_assert(!memcmp(win.y + s * sy, f.y0 + s * sy, sy * sizeof(float)));
                        ck_assert(!memcmp(win.dx + s * sx, f.dx0 + s * sx, sx * sizeof(float)));
                    }
            }
            outputs_free(&ref);
            outputs_free(&win);
        }
    }
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
    fixture_free(&f);
}
END_TEST

/* same inputs, same thread count: the same bytes */
START_TEST(test_wino_reproducible)
{
    const wino_case *k = &CASES[0];
    fixture f;
    fixture_init(&f, k, 60);
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(2, &err), QA_OK);
    outputs a = run_path(&f, k, 1, 0), b = run_path(&f, k, 1, 0);
    ck_assert(!memcmp(a.y, b.y, f.ny * sizeof(float)));
    ck_assert(!memcmp(a.dx, b.dx, f.nx * sizeof(float)));
    ck_assert(!memcmp(a.dw, b.dw, f.nw * sizeof(float)));
    ck_assert(!memcmp(a.db, b.db, (size_t)k->oc * sizeof(float)));
    outputs_free(&a);
    outputs_free(&b);
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
    fixture_free(&f);
}
END_TEST

/* AUTO: Winograd only where it applies (3x3, stride 1, pad 1, one group)
 * and pays (enough channels) */
START_TEST(test_wino_auto)
{
    qa_err err;
    nn_conv_geom g;
    nn_conv2d_cfg cfg = nn_conv2d_cfg_make("w", 64, 3, 1, 1);
    ck_assert_int_eq(nn_conv_geom_init(&g, 64, 7, 7, &cfg, &err), QA_OK);
    ck_assert_int_eq(nn_conv2d_algo(&g), NN_CONV_WINOGRAD);
    g.algo = NN_CONV_IM2COL;
    ck_assert_int_eq(nn_conv2d_algo(&g), NN_CONV_IM2COL);
    nn_conv2d_cfg no[] = {nn_conv2d_cfg_make("w", 64, 3, 2, 1), nn_conv2d_cfg_make("w", 64, 3, 1, 0),
                          nn_conv2d_cfg_make("w", 64, 1, 1, 0), nn_conv2d_cfg_make("w", 64, 5, 1, 1)};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        ck_assert_int_eq(nn_conv_geom_init(&g, 64, 7, 7, &no[i], &err), QA_OK);
        ck_assert_int_eq(nn_conv2d_algo(&g), NN_CONV_IM2COL);
    }
    cfg.groups = 2;
    ck_assert_int_eq(nn_conv_geom_init(&g, 64, 7, 7, &cfg, &err), QA_OK);
    ck_assert_int_eq(nn_conv2d_algo(&g), NN_CONV_IM2COL);
    /* too few input channels for the transforms to pay (conv2d_kern.c) */
    cfg.groups = 1;
    ck_assert_int_eq(nn_conv_geom_init(&g, 4, 28, 28, &cfg, &err), QA_OK);
    ck_assert_int_eq(nn_conv2d_algo(&g), NN_CONV_IM2COL);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_wino");
    TCase *tc = tcase_create("wino");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_wino_vs_im2col, 0, (int)(sizeof CASES / sizeof CASES[0]));
    tcase_add_test(tc, test_wino_reproducible);
    tcase_add_test(tc, test_wino_auto);
    suite_add_tcase(s, tc);
    return s;
}
