/* test_kernels.c: the BLAS door against a naive product, the convolution
 * and dense raw kernels against direct loops (all samples and index
 * subsets, overwrite and accumulate), and the thread pool: every share
 * runs once, on whichever thread claims it (test_shares.c: results do not
 * depend on the thread count). */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "nn/blas.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/par.h"
#include "nn/rng.h"

static float *randn(size_t n, nn_rng *r)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = nn_rng_normal(r);
    return x;
}

static void assert_close(const char *what, const float *a, const float *b, size_t n, float tol)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i])), "%s[%zu]: %.7g vs %.7g",
                      what, i, a[i], b[i]);
}

/* C = alpha op(A) op(B) + beta C for the four transpose combinations, with
 * leading dimensions larger than the matrices */
START_TEST(test_sgemm_transposes)
{
    nn_rng r;
    nn_rng_init(&r, 1, NN_STREAM_TEST, 20, 0);
    const int M = 7, N = 5, K = 9, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
            float *A = randn((size_t)(ta ? K : M) * lda, &r), *B = randn((size_t)(tb ? N : K) * ldb, &r);
            float *C = randn((size_t)M * ldc, &r), *ref = malloc(sizeof(float) * (size_t)M * ldc);
            memcpy(ref, C, sizeof(float) * (size_t)M * ldc);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) *
                             (tb ? B[j * ldb + k] : B[k * ldb + j]);
                    ref[i * ldc + j] = (float)(1.5 * s - 0.5 * ref[i * ldc + j]);
                }
            nn_sgemm(ta, tb, M, N, K, 1.5f, A, lda, B, ldb, -0.5f, C, ldc);
            assert_close("sgemm", C, ref, (size_t)M * ldc, 1e-5f);
            free(A);
            free(B);
            free(C);
            free(ref);
        }
    float A[6] = {1, 2, 3, 4, 5, 6}, x[3] = {1, 0, -1}, y[2] = {1, 1};
    nn_sgemv(0, 2, 3, 2.0f, A, 3, x, 1.0f, y);
    ck_assert_float_eq(y[0], 1 + 2 * (1 - 3));
    ck_assert_float_eq(y[1], 1 + 2 * (4 - 6));
}
END_TEST

/* direct convolution: y (N, OC, OH, OW) */
static void conv_ref_forward(const nn_conv_geom *g, int n, const float *x, const float *w,
                             const float *b, float *y)
{
    int cg = g->c / g->groups, ocg = g->oc / g->groups;
    for (int s = 0; s < n; s++)
        for (int o = 0; o < g->oc; o++)
            for (int i = 0; i < g->oh; i++)
                for (int j = 0; j < g->ow; j++) {
                    double acc = b ? b[o] : 0;
                    for (int c = 0; c < cg; c++)
                        for (int ki = 0; ki < g->kh; ki++)
                            for (int kj = 0; kj < g->kw; kj++) {
                                int ih = i * g->sh - g->ph + ki, iw = j * g->sw - g->pw + kj;
                                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
                                    continue;
                                int ci = (o / ocg) * cg + c;
                                acc += (double)w[((o * cg + c) * g->kh + ki) * g->kw + kj] *
                                       x[((s * g->c + ci) * g->h + ih) * g->w + iw];
                            }
                    y[((s * g->oc + o) * g->oh + i) * g->ow + j] = (float)acc;
                }
}

/* adjoint of the direct convolution: dx = conv^T(dy), dw, db (overwrite) */
static void conv_ref_backward(const nn_conv_geom *g, int n, const float *x, const float *w,
                              const float *dy, float *dx, float *dw, float *db)
{
    int cg = g->c / g->groups, ocg = g->oc / g->groups;
    memset(dx, 0, sizeof(float) * (size_t)n * g->c * g->h * g->w);
    memset(dw, 0, sizeof(float) * (size_t)g->oc * cg * g->kh * g->kw);
    memset(db, 0, sizeof(float) * (size_t)g->oc);
    for (int s = 0; s < n; s++)
        for (int o = 0; o < g->oc; o++)
            for (int i = 0; i < g->oh; i++)
                for (int j = 0; j < g->ow; j++) {
                    float d = dy[((s * g->oc + o) * g->oh + i) * g->ow + j];
                    db[o] += d;
                    for (int c = 0; c < cg; c++)
                        for (int ki = 0; ki < g->kh; ki++)
                            for (int kj = 0; kj < g->kw; kj++) {
                                int ih = i * g->sh - g->ph + ki, iw = j * g->sw - g->pw + kj;
                                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
                                    continue;
                                size_t xi = (size_t)((s * g->c + (o / ocg) * cg + c) * g->h + ih) * g->w + iw;
                                size_t wi = (size_t)((o * cg + c) * g->kh + ki) * g->kw + kj;
                                dw[wi] += d * x[xi];
                                dx[xi] += d * w[wi];
                            }
                }
}

static const nn_conv2d_cfg CONV_CASES[] = {
    {"c", 8, 3, 3, 1, 1, 1, 1, 1, 1},  /* the common 3x3 */
    {"c", 6, 3, 3, 2, 2, 1, 1, 2, 0},  /* stride 2, groups */
    {"c", 5, 1, 1, 1, 1, 0, 0, 1, 1},  /* pointwise: no lowering */
    {"c", 4, 3, 3, 2, 2, 1, 1, 4, 0},  /* depthwise stride 2 */
    {"c", 3, 5, 2, 3, 1, 2, 0, 1, 1},  /* non-square */
    {"c", 6, 1, 1, 2, 2, 0, 0, 2, 0},  /* strided pointwise, groups */
};

/* 40 samples of (4, 11, 10): several chunks per thread on 2 threads */
START_TEST(test_conv_raw_vs_direct)
{
    const nn_conv2d_cfg *cfg = &CONV_CASES[_i];
    nn_conv_geom g;
    qa_err err;
    const int n = 40;
    ck_assert_int_eq(nn_conv_geom_init(&g, 4, 11, 10, cfg, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 2 + (uint64_t)_i, NN_STREAM_TEST, 21, 0);
    size_t nx = (size_t)n * 4 * 11 * 10, ny = (size_t)n * g.oc * g.oh * g.ow;
    size_t nw = (size_t)g.oc * (4 / g.groups) * g.kh * g.kw;
    float *x = randn(nx, &r), *w = randn(nw, &r), *b = randn((size_t)g.oc, &r), *dy = randn(ny, &r);
    float *y = randn(ny, &r), *yr = malloc(ny * sizeof *yr), *dx = randn(nx, &r), *dxr = malloc(nx * sizeof *dxr);
    float *dw = calloc(nw, sizeof *dw), *dwr = malloc(nw * sizeof *dwr), *db = calloc((size_t)g.oc, sizeof *db),
          *dbr = malloc((size_t)g.oc * sizeof *dbr);
    const float *bias = cfg->bias ? b : NULL;
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(nn_par_set_threads(threads, &err), QA_OK);
        size_t sn = nn_conv2d_scratch_floats(&g, threads, nn_par_shares());
        float *scratch = malloc(sn * sizeof *scratch);
        conv_ref_forward(&g, n, x, w, bias, yr);
        nn_conv2d_forward_raw(&g, x, w, bias, y, NULL, n, scratch, sn);
        assert_close("y", y, yr, ny, 1e-5f);
        conv_ref_backward(&g, n, x, w, dy, dxr, dwr, dbr);
        memset(dw, 0, nw * sizeof *dw);
        memset(db, 0, (size_t)g.oc * sizeof *db);
        nn_conv2d_backward_raw(&g, x, w, dy, dx, 0, dw, cfg->bias ? db : NULL, NULL, n, scratch, sn);
        assert_close("dx", dx, dxr, nx, 1e-5f);
        assert_close("dw", dw, dwr, nw, 1e-4f);
        if (cfg->bias)
            assert_close("db", db, dbr, (size_t)g.oc, 1e-4f);
        free(scratch);
    }
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
    free(x), free(w), free(b), free(dy), free(y), free(yr), free(dx), free(dxr);
    free(dw), free(dwr), free(db), free(dbr);
}
END_TEST

/* an index list touches exactly its samples: y and dx (accumulating) at
 * those positions equal the full-batch results, the others keep their
 * values, and dw sums over the subset only */
START_TEST(test_conv_raw_subset)
{
    const nn_conv2d_cfg *cfg = &CONV_CASES[_i];
    nn_conv_geom g;
    qa_err err;
    const int n = 9, idx[4] = {7, 2, 3, 8};
    ck_assert_int_eq(nn_conv_geom_init(&g, 4, 6, 7, cfg, &err), QA_OK);
    ck_assert_int_eq(nn_par_set_threads(2, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 3 + (uint64_t)_i, NN_STREAM_TEST, 22, 0);
    size_t sx = (size_t)4 * 6 * 7, sy = (size_t)g.oc * g.oh * g.ow;
    size_t nw = (size_t)g.oc * (4 / g.groups) * g.kh * g.kw;
    float *x = randn(n * sx, &r), *w = randn(nw, &r), *dy = randn(n * sy, &r), *b = randn((size_t)g.oc, &r);
    float *yfull = malloc(n * sy * sizeof(float)), *y = randn(n * sy, &r), *y0 = malloc(n * sy * sizeof(float));
    float *dx = randn(n * sx, &r), *dx0 = malloc(n * sx * sizeof(float)), *dxs = malloc(n * sx * sizeof(float));
    float *dw = calloc(nw, sizeof *dw), *dwr = malloc(nw * sizeof *dwr), *dbr = malloc((size_t)g.oc * sizeof *dbr);
    size_t sn = nn_conv2d_scratch_floats(&g, 2, nn_par_shares());
    float *scratch = malloc(sn * sizeof *scratch);
    memcpy(y0, y, n * sy * sizeof(float));
    memcpy(dx0, dx, n * sx * sizeof(float));
    memset(dwr, 0, nw * sizeof(float));
    conv_ref_forward(&g, n, x, w, b, yfull);
    nn_conv2d_forward_raw(&g, x, w, b, y, idx, 4, scratch, sn);
    nn_conv2d_backward_raw(&g, x, w, dy, dx, 1, dw, NULL, idx, 4, scratch, sn);
    for (int s = 0; s < n; s++) {
        int in = s == 2 || s == 3 || s == 7 || s == 8;
        assert_close("y", y + s * sy, (in ? yfull : y0) + s * sy, sy, 1e-5f);
        float *xs = malloc(sx * sizeof(float)), *dws = malloc(nw * sizeof(float)), *dbs = malloc((size_t)g.oc * sizeof(float));
        conv_ref_backward(&g, 1, x + s * sx, w, dy + s * sy, xs, dws, dbs);
        for (size_t k = 0; k < sx; k++)
            dxs[s * sx + k] = dx0[s * sx + k] + (in ? xs[k] : 0.0f);
        if (in)
            for (size_t k = 0; k < nw; k++)
                dwr[k] += dws[k];
        free(xs), free(dws), free(dbs);
    }
    assert_close("dx", dx, dxs, n * sx, 1e-5f);
    assert_close("dw", dw, dwr, nw, 1e-4f);
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
    free(x), free(w), free(dy), free(b), free(yfull), free(y), free(y0), free(dx), free(dx0), free(dxs);
    free(dw), free(dwr), free(dbr), free(scratch);
}
END_TEST

/* dense raw kernels: all rows and an index subset against direct loops */
START_TEST(test_dense_raw)
{
    nn_rng r;
    nn_rng_init(&r, 5, NN_STREAM_TEST, 24, 0);
    const int n = 6, in = 13, out = 4, idx[3] = {5, 0, 2};
    float *x = randn(n * in, &r), *w = randn(out * in, &r), *b = randn(out, &r), *dy = randn(n * out, &r);
    float *y = randn(n * out, &r), *y0 = malloc(n * out * sizeof(float)), *dx = randn(n * in, &r);
    float *dx0 = malloc(n * in * sizeof(float)), *dw = calloc(out * in, sizeof(float)), *db = calloc(out, sizeof(float));
    float *scratch = malloc(nn_dense_scratch_floats(in, out, 3) * sizeof(float));
    memcpy(y0, y, n * out * sizeof(float));
    memcpy(dx0, dx, n * in * sizeof(float));
    nn_dense_forward_raw(in, out, x, w, b, y, idx, 3, scratch);
    nn_dense_backward_raw(in, out, x, w, dy, dx, 1, dw, db, idx, 3, scratch);
    for (int s = 0; s < n; s++) {
        int sel = s == 0 || s == 2 || s == 5;
        for (int o = 0; o < out; o++) {
            double acc = b[o];
            for (int i = 0; i < in; i++)
                acc += (double)w[o * in + i] * x[s * in + i];
            float want = sel ? (float)acc : y0[s * out + o];
            ck_assert_msg(fabsf(y[s * out + o] - want) < 1e-5f, "y[%d,%d]", s, o);
        }
        for (int i = 0; i < in; i++) {
            double acc = dx0[s * in + i];
            for (int o = 0; o < out && sel; o++)
                acc += (double)w[o * in + i] * dy[s * out + o];
            ck_assert_msg(fabsf(dx[s * in + i] - (float)acc) < 1e-5f, "dx[%d,%d]", s, i);
        }
    }
    for (int o = 0; o < out; o++) {
        double sb = dy[0 * out + o] + dy[2 * out + o] + dy[5 * out + o];
        ck_assert(fabs(db[o] - sb) < 1e-5);
        for (int i = 0; i < in; i++) {
            double sw = 0;
            for (int k = 0; k < 3; k++)
                sw += (double)dy[idx[k] * out + o] * x[idx[k] * in + i];
            ck_assert_msg(fabs(dw[o * in + i] - sw) < 1e-5, "dw[%d,%d]", o, i);
        }
    }
    free(x), free(w), free(b), free(dy), free(y), free(y0), free(dx), free(dx0), free(dw), free(db), free(scratch);
}
END_TEST

static void mark_job(void *arg, int tid, int nt)
{
    int *hits = arg;
    hits[tid] += 1 + 100 * nt;
}

static void nested_job(void *arg, int tid, int nt)
{
    int *hits = arg;
    (void)nt;
    if (tid == 0)
        nn_par_run(mark_job, hits + 10, 2); /* runs serially inside a job */
}

/* shares are claimed by whichever thread is free: a share that stalls
 * (here every 7th, for ~0.2 ms) must not be run twice or skipped, and a
 * late worker must not take a share of the next job, whose share count
 * differs, for the one it woke for */
typedef struct {
    atomic_int runs[8];
    atomic_int bad; /* shares run with an index out of [0, nt) */
    int rep;
} claim_job;

static void claim_fn(void *arg, int tid, int nt)
{
    claim_job *j = arg;
    if (tid < 0 || tid >= nt || tid >= 8) {
        atomic_fetch_add(&j->bad, 1);
        return;
    }
    if ((j->rep + tid) % 7 == 0) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&j->runs[tid], 1);
}

START_TEST(test_par_claims)
{
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(3, &err), QA_OK);
    for (int rep = 0; rep < 3000; rep++) {
        claim_job j = {.rep = rep};
        int nt = 1 + rep % 3;
        nn_par_run(claim_fn, &j, nt);
        ck_assert_int_eq(atomic_load(&j.bad), 0);
        for (int t = 0; t < 8; t++)
            ck_assert_msg(atomic_load(&j.runs[t]) == (t < nt), "rep %d: share %d of %d ran %d times",
                          rep, t, nt, atomic_load(&j.runs[t]));
    }
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
}
END_TEST

START_TEST(test_par_pool)
{
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(0, &err), QA_ERR_ARG);
    ck_assert_int_eq(nn_par_set_threads(3, &err), QA_OK);
    ck_assert_int_eq(nn_par_threads(), 3);
    for (int rep = 0; rep < 1000; rep++) {
        int hits[16] = {0};
        nn_par_run(mark_job, hits, 3);
        ck_assert(hits[0] == 301 && hits[1] == 301 && hits[2] == 301);
        nn_par_run(mark_job, hits + 3, 8); /* more shares than threads */
        ck_assert(hits[3] == 801 && hits[10] == 801 && hits[11] == 0);
    }
    int hits[16] = {0};
    nn_par_run(nested_job, hits, 3);
    ck_assert(hits[10] == 201 && hits[11] == 201);
    long lo, hi, covered = 0;
    for (int t = 0; t < 3; t++) {
        nn_par_range(10, t, 3, &lo, &hi);
        ck_assert_int_eq(lo, covered);
        covered = hi;
    }
    ck_assert_int_eq(covered, 10);
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_kernels");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 60);
    int ncase = (int)(sizeof CONV_CASES / sizeof CONV_CASES[0]);
    tcase_add_test(tc, test_sgemm_transposes);
    tcase_add_loop_test(tc, test_conv_raw_vs_direct, 0, ncase);
    tcase_add_loop_test(tc, test_conv_raw_subset, 0, ncase);
    tcase_add_test(tc, test_dense_raw);
    tcase_add_test(tc, test_par_pool);
    tcase_add_test(tc, test_par_claims);
    suite_add_tcase(s, tc);
    return s;
}
