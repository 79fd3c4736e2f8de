/* test_kern.c: the kernel variants (kern.h) agree bit for bit with the
 * portable one on random shapes (odd channel counts, 1x1 and 3x3 windows,
 * strides 1 and 2, padding, output channels not a multiple of 16), random
 * codes of every width, zero points 0 and 128, every output kind, with and
 * without a residual input; and the portable one equals a direct sum. The
 * same for shapes of the VNNI variant's one-block tile (quad_tile) and for
 * the depthwise kernels (odd channel counts up to 40: full and
 * partial vectors of 8 and 16 channels). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "deploy/kern.h"
#include "nn/rng.h"

typedef struct {
    int c, h, w, oc, k, s, p, oh, ow, T, Cp;
    int8_t *w8;      /* (OC, T, Cp) */
    uint8_t *x;      /* (n, H, W, Cp) */
    int32_t *ind, *zc, *skip;
    float *m, *b;
    size_t stride; /* bytes per sample: its pixels, then Cp bytes of z */
    int dw;        /* depthwise (make_dw): w8 is (T, DEP_DW_CP(C)), OC = C */
} shape;

static uint32_t rnd(nn_rng *r, uint32_t n)
{
    return nn_rng_u32(r) % n;
}

static void make_ind(shape *g)
{
    for (int oy = 0; oy < g->oh; oy++)
        for (int ox = 0; ox < g->ow; ox++)
            for (int t = 0; t < g->T; t++) {
                int iy = oy * g->s - g->p + t / g->k, ix = ox * g->s - g->p + t % g->k;
                int in = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;
                g->ind[(oy * g->ow + ox) * g->T + t] = (in ? iy * g->w + ix : g->h * g->w) * g->Cp;
            }
}

/* a random layer: weights of `bits` bits, inputs over the whole byte */
static void make_shape(shape *g, nn_rng *r, int n, int bits, int z)
{
    g->dw = 0;
    g->c = 1 + (int)rnd(r, 19);
    g->oc = 1 + (int)rnd(r, 70);
    g->k = rnd(r, 2) ? 3 : 1;
    g->s = 1 + (int)rnd(r, 2);
    g->p = g->k == 3 ? (int)rnd(r, 2) : 0;
    g->h = g->k + (int)rnd(r, 9);
    g->w = g->k + (int)rnd(r, 9);
    g->oh = (g->h + 2 * g->p - g->k) / g->s + 1;
    g->ow = (g->w + 2 * g->p - g->k) / g->s + 1;
    g->T = g->k * g->k;
    g->Cp = (g->c + 3) / 4 * 4;
    g->stride = (size_t)(g->h * g->w + 1) * g->Cp;
    size_t nw = (size_t)g->oc * g->T * g->Cp, nx = (size_t)n * g->stride;
    g->w8 = calloc(nw, 1);
    g->x = malloc(nx);
    g->ind = malloc((size_t)g->oh * g->ow * g->T * sizeof *g->ind);
    g->zc = malloc((size_t)g->oc * sizeof *g->zc);
    g->m = malloc((size_t)g->oc * sizeof *g->m);
    g->b = malloc((size_t)g->oc * sizeof *g->b);
    g->skip = malloc((size_t)n * g->oh * g->ow * g->oc * sizeof *g->skip);
    int lo = -(1 << (bits - 1)), span = 1 << bits;
    for (size_t i = 0; i < nw; i++)
        if ((int)(i % (size_t)g->Cp) < g->c)
            g->w8[i] = (int8_t)(lo + (int)rnd(r, (uint32_t)span));
    for (size_t i = 0; i < nx; i++)
        g->x[i] = i % g->stride < g->stride - (size_t)g->Cp ? (uint8_t)rnd(r, 256) : (uint8_t)z;
    for (int o = 0; o < g->oc; o++) {
        int32_t s = 0;
        for (int i = 0; i < g->T * g->Cp; i++)
            s += g->w8[(size_t)o * g->T * g->Cp + i];
        g->zc[o] = z * s;
        g->m[o] = 0.002f * (1.0f + nn_rng_uniform(r));
        g->b[o] = 2.0f * nn_rng_normal(r);
    }
    for (int i = 0; i < n * g->oh * g->ow * g->oc; i++)
        g->skip[i] = (int32_t)rnd(r, 20000) - 10000;
    make_ind(g);
}

static void free_shape(shape *g)
{
    free(g->w8), free(g->x), free(g->ind), free(g->zc), free(g->m), free(g->b), free(g->skip);
}

static void *run(const dep_kern *k, const shape *g, int n, int kind, int skip, size_t *bytes)
{
    int P = g->oh * g->ow, cp = (g->oc + 3) / 4 * 4;
    size_t per = kind == DEP_OUT_CODES ? (size_t)P * cp : (size_t)P * g->oc;
    *bytes = (size_t)n * per * (kind == DEP_OUT_CODES ? 1 : 4);
    void *out = calloc(*bytes, 1), *w = g->dw ? NULL : malloc(k->wbytes(g->oc, g->T, g->Cp));
    if (!g->dw)
        k->pack(g->w8, g->oc, g->T, g->Cp, w);
    dep_conv_args a = {.n = n, .p_lo = 0, .p_hi = P, .T = g->T,
                       .Cp = g->dw ? DEP_DW_CP(g->c) : g->Cp, .OC = g->oc, .in = g->x,
                       .in_stride = g->stride, .ind = g->ind, .w = g->dw ? g->w8 : w,
                       .zc = g->zc, .m = g->m, .b = g->b, .skip = skip ? g->skip : NULL,
                       .skip_stride = (size_t)P * g->oc, .u = 0.37f,
                       .lo = kind == DEP_OUT_FLOAT ? -INFINITY : -128.0f,
                       .hi = kind == DEP_OUT_FLOAT ? INFINITY : 127.0f, .out_kind = kind,
                       .z_out = 128, .out = out, .out_stride = per, .out_cp = cp};
    if (kind == DEP_OUT_FIX) {
        a.lo = -DEP_FIX_MAX;
        a.hi = DEP_FIX_MAX;
    }
    if (g->dw)
        k->dw(&a);
    else
        k->conv(&a);
    free(w);
    return out;
}

/* 60 random layers from make, every output kind: each variant's output
 * equals the portable kernel's byte for byte; returns the comparisons */
static int agree(uint64_t seed, void (*make)(shape *, nn_rng *, int, int, int))
{
    nn_rng r;
    nn_rng_init(&r, seed, NN_STREAM_TEST, 0, 0);
    const dep_kern *c = dep_kern_find("c");
    ck_assert_ptr_nonnull(c);
    int compared = 0;
    for (int trial = 0; trial < 60; trial++) {
        int bits = 2 + trial % 7, n = 1 + trial % 3, z = trial % 2 ? 128 : 0;
        shape g;
        make(&g, &r, n, bits, z);
        for (int kind = 0; kind < 3; kind++) {
            size_t nb, nb2;
            void *ref = run(c, &g, n, kind, trial % 4 == 1, &nb);
            for (int v = 0; dep_kern_table[v]; v++) {
                if (!dep_kern_table[v]->supported() || dep_kern_table[v] == c)
                    continue;
                void *o = run(dep_kern_table[v], &g, n, kind, trial % 4 == 1, &nb2);
                ck_assert_msg(memcmp(o, ref, nb) == 0, "%s%s differs from c: trial %d kind %d "
                              "C %d OC %d k %d s %d", dep_kern_table[v]->name,
                              g.dw ? " (depthwise)" : "", trial, kind, g.c, g.oc, g.k, g.s);
                compared++;
                free(o);
            }
            free(ref);
        }
        free_shape(&g);
    }
    return compared;
}

START_TEST(test_variants_agree)
{
    /* the project's machine has AVX-512 VNNI and AVX2: both must be compared */
    ck_assert_int_ge(agree(7, make_shape), dep_kern_best() == dep_kern_find("c") ? 0 : 180);
}
END_TEST

/* the portable kernel against a direct sum over the unpadded window */
START_TEST(test_c_known)
{
    nn_rng r;
    nn_rng_init(&r, 8, NN_STREAM_TEST, 0, 0);
    shape g;
    make_shape(&g, &r, 1, 8, 128);
    size_t nb;
    int32_t *o = run(dep_kern_find("c"), &g, 1, DEP_OUT_FIX, 0, &nb);
    for (int oy = 0; oy < g.oh; oy++)
        for (int ox = 0; ox < g.ow; ox++)
            for (int k = 0; k < g.oc; k++) {
                int32_t acc = 0;
                for (int t = 0; t < g.T; t++) {
                    int iy = oy * g.s - g.p + t / g.k, ix = ox * g.s - g.p + t % g.k;
                    if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w)
                        continue;
                    for (int c = 0; c < g.c; c++)
                        acc += g.w8[((size_t)k * g.T + t) * g.Cp + c] *
                               (g.x[((size_t)iy * g.w + ix) * g.Cp + c] - 128);
                }
                float v = (float)acc * g.m[k] + g.b[k];
                int32_t want = (int32_t)roundf(v);
                ck_assert_int_eq(o[((size_t)oy * g.ow + ox) * g.oc + k], want);
            }
    free(o);
    free_shape(&g);
}
END_TEST

/* A layer of quad_tile's shape (kern_vnni.c): 13 to 16 input channels
 * (one block of 16), at most 16 output channels, 3x3; odd sizes, so that
 * tiles of 4 pixels span samples */
static void make_quad(shape *g, nn_rng *r, int n, int bits, int z)
{
    nn_rng q;
    uint64_t seed = nn_rng_u32(r);
    for (;;) { /* make_shape's draws until the shape fits, then its layer */
        nn_rng_init(&q, seed, NN_STREAM_TEST, 0, 0);
        make_shape(g, &q, n, bits, z);
        if (g->c >= 13 && g->c <= 16 && g->oc <= 16 && g->k == 3)
            return;
        free_shape(g);
        seed = nn_rng_u32(r);
    }
}

/* quad_tile: every variant equals the portable kernel bit for bit */
START_TEST(test_quad_variants_agree)
{
    ck_assert_int_ge(agree(27, make_quad), dep_kern_best() == dep_kern_find("c") ? 0 : 180);
}
END_TEST

/* A random depthwise layer: OC = C channels, weights (T, DEP_DW_CP(C)) in
 * g->w8 (zero past C), the input as for make_shape (channel stride Cp =
 * round4(C)); zc, m, b, skip per channel. */
static void make_dw(shape *g, nn_rng *r, int n, int bits, int z)
{
    make_shape(g, r, n, bits, z);
    g->dw = 1;
    g->c = g->oc = 1 + (int)rnd(r, 40);
    g->Cp = (g->c + 3) / 4 * 4;
    g->stride = (size_t)(g->h * g->w + 1) * g->Cp;
    int cw = DEP_DW_CP(g->c), lo = -(1 << (bits - 1)), span = 1 << bits;
    free(g->x), free(g->w8), free(g->zc), free(g->m), free(g->b), free(g->skip), free(g->ind);
    g->x = malloc((size_t)n * g->stride);
    g->w8 = calloc((size_t)g->T * cw, 1);
    g->ind = malloc((size_t)g->oh * g->ow * g->T * sizeof *g->ind);
    g->zc = calloc((size_t)g->c, sizeof *g->zc);
    g->m = malloc((size_t)g->c * sizeof *g->m);
    g->b = malloc((size_t)g->c * sizeof *g->b);
    g->skip = malloc((size_t)n * g->oh * g->ow * g->c * sizeof *g->skip);
    for (size_t i = 0; i < (size_t)n * g->stride; i++)
        g->x[i] = i % g->stride < g->stride - (size_t)g->Cp ? (uint8_t)rnd(r, 256) : (uint8_t)z;
    for (int t = 0; t < g->T; t++)
        for (int c = 0; c < g->c; c++) {
            int8_t v = (int8_t)(lo + (int)rnd(r, (uint32_t)span));
            g->w8[(size_t)t * cw + c] = v;
            g->zc[c] += z * v;
        }
    for (int c = 0; c < g->c; c++) {
        g->m[c] = 0.02f * (1.0f + nn_rng_uniform(r));
        g->b[c] = 2.0f * nn_rng_normal(r);
    }
    for (int i = 0; i < n * g->oh * g->ow * g->c; i++)
        g->skip[i] = (int32_t)rnd(r, 20000) - 10000;
    make_ind(g);
}

/* depthwise: every variant's dw equals the portable one bit for bit */
START_TEST(test_dw_variants_agree)
{
    ck_assert_int_ge(agree(17, make_dw), dep_kern_best() == dep_kern_find("c") ? 0 : 180);
}
END_TEST

/* the portable depthwise kernel against a direct sum over the window */
START_TEST(test_dw_c_known)
{
    nn_rng r;
    nn_rng_init(&r, 18, NN_STREAM_TEST, 0, 0);
    for (int trial = 0; trial < 8; trial++) {
        shape g;
        make_dw(&g, &r, 1, 8, 128);
        size_t nb;
        int32_t *o = run(dep_kern_find("c"), &g, 1, DEP_OUT_FIX, 0, &nb);
        int cw = DEP_DW_CP(g.c);
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++)
                for (int c = 0; c < g.c; c++) {
                    int32_t acc = 0;
                    for (int t = 0; t < g.T; t++) {
                        int iy = oy * g.s - g.p + t / g.k, ix = ox * g.s - g.p + t % g.k;
                        if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w)
                            acc += g.w8[(size_t)t * cw + c] *
                                   (g.x[((size_t)iy * g.w + ix) * g.Cp + c] - 128);
                    }
                    int32_t want = (int32_t)roundf((float)acc * g.m[c] + g.b[c]);
                    ck_assert_int_eq(o[((size_t)oy * g.ow + ox) * g.c + c], want);
                }
        free(o);
        free_shape(&g);
    }
}
END_TEST

/* x + copysign(0.49999997, x) truncated is roundf (half away from zero) */
START_TEST(test_round_rule)
{
    const float v[] = {0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f, 126.5f,
                       -127.5f, 8388607.5f, 1e9f, -0.0f, 3.4999998f};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        ck_assert_int_eq(dep_round(v[i]), (int32_t)roundf(v[i]));
    nn_rng r;
    nn_rng_init(&r, 9, NN_STREAM_TEST, 0, 0);
    for (int i = 0; i < 100000; i++) {
        float x = 300.0f * nn_rng_normal(&r);
        ck_assert_int_eq(dep_round(x), (int32_t)roundf(x));
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("deploy_kern");
    TCase *tc = tcase_create("kern");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_variants_agree);
    tcase_add_test(tc, test_c_known);
    tcase_add_test(tc, test_quad_variants_agree);
    tcase_add_test(tc, test_dw_variants_agree);
    tcase_add_test(tc, test_dw_c_known);
    tcase_add_test(tc, test_round_rule);
    suite_add_tcase(s, tc);
    return s;
}
