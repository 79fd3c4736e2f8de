/* test_gemm.c: qadapt's GEMM kernels (nn/gemm.h) and the BLAS door's choice.
 * - every kernel this CPU runs gives, bit for bit, the contract's fused
 *   multiply-add chain (computed here with fmaf, element by element), for
 *   the four transpose combinations, leading dimensions beyond the
 *   matrices, shapes off the tile sizes, K = 0, and alpha/beta variants,
 *   op(B) given as a matrix or as row pointers;
 *   OpenBLAS agrees within rounding;
 * - beta = 0 never reads C (NaN there does not leak);
 * - nn_blas_select refuses unknown names and names what it runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/blas.h"
#include "nn/gemm.h"
#include "nn/rng.h"

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    float *A, *B, *C0; /* C0: C before the call */
} case_t;

static float *randn(size_t n, nn_rng *r)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = nn_rng_normal(r);
    return x;
}

static void make_case(case_t *c, int ta, int tb, int M, int N, int K, nn_rng *r)
{
    c->ta = ta, c->tb = tb, c->M = M, c->N = N, c->K = K;
    c->lda = (ta ? M : K) + 2;
    c->ldb = (tb ? K : N) + 3;
    c->ldc = N + 1;
    c->A = randn((size_t)(ta ? K : M) * (size_t)c->lda, r);
    c->B = randn((size_t)(tb ? N : K) * (size_t)c->ldb, r);
    c->C0 = randn((size_t)M * (size_t)c->ldc, r);
}

static void free_case(case_t *c)
{
    free(c->A);
    free(c->B);
    free(c->C0);
}

/* the contract, element by element */
static void chain_ref(const case_t *c, float *C)
{
    memcpy(C, c->C0, sizeof(float) * (size_t)c->M * (size_t)c->ldc);
    for (int i = 0; i < c->M; i++)
        for (int j = 0; j < c->N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < c->K; k++)
                acc = fmaf(c->ta ? c->A[k * c->lda + i] : c->A[i * c->lda + k],
                           c->tb ? c->B[j * c->ldb + k] : c->B[k * c->ldb + j], acc);
            float r = c->alpha == 1.0f ? acc : c->alpha * acc, *y = C + i * c->ldc + j;
            *y = c->beta == 0.0f ? r : c->beta == 1.0f ? *y + r : c->beta * *y + r;
        }
}

/* op(B) as the matrix (rows = 0) or as pointers to its stored rows */
static void check_kernel(nn_gemm_kernel k, const case_t *c, const float *ref, int rows)
{
    size_t n = (size_t)c->M * (size_t)c->ldc;
    int nrows = c->tb ? c->N : c->K;
    float *C = malloc(n * sizeof *C);
    const float **R = malloc((size_t)(nrows ? nrows : 1) * sizeof *R);
    for (int r = 0; r < nrows; r++)
        R[r] = c->B + (size_t)r * (size_t)c->ldb;
    memcpy(C, c->C0, n * sizeof *C);
    nn_gemm_b b = {rows ? NULL : c->B, c->ldb, rows ? R : NULL, c->tb};
    nn_gemm(k, c->ta, c->M, c->N, c->K, c->alpha, c->A, c->lda, &b, c->beta, C, c->ldc);
    for (size_t e = 0; e < n; e++)
        ck_assert_msg(memcmp(C + e, ref + e, sizeof *C) == 0,
                      "%s rows %d ta %d tb %d M %d N %d K %d alpha %g beta %g: C[%zu] %.9g, "
                      "chain %.9g",
                      nn_gemm_name(k), rows, c->ta, c->tb, c->M, c->N, c->K, (double)c->alpha,
                      (double)c->beta, e, (double)C[e], (double)ref[e]);
    free(R);
    free(C);
}

START_TEST(test_kernels_are_the_chain)
{
    static const int sizes[] = {1, 7, 9, 17, 40};
    static const int depths[] = {0, 1, 5, 37};
    static const float ab[3][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {1.5f, -0.5f}};
    nn_rng r;
    nn_rng_init(&r, 1, NN_STREAM_TEST, 21, 0);
    int checked = 0;
    for (int t = 0; t < 4; t++)
        for (int mi = 0; mi < 5; mi++)
            for (int ni = 0; ni < 5; ni++)
                for (int ki = 0; ki < 4; ki++) {
                    case_t c;
                    make_case(&c, t / 2, t % 2, sizes[mi], sizes[ni], depths[ki], &r);
                    float *ref = malloc(sizeof(float) * (size_t)c.M * (size_t)c.ldc);
                    for (int v = 0; v < 3; v++) {
                        c.alpha = ab[v][0];
                        c.beta = ab[v][1];
                        chain_ref(&c, ref);
                        for (int k = NN_GEMM_AVX512; k <= NN_GEMM_PORTABLE; k++)
                            if (nn_gemm_available((nn_gemm_kernel)k)) {
                                check_kernel((nn_gemm_kernel)k, &c, ref, 0);
                                check_kernel((nn_gemm_kernel)k, &c, ref, 1);
                                checked++;
                            }
                    }
                    free(ref);
                    free_case(&c);
                }
    ck_assert_int_ge(checked, 4 * 5 * 5 * 4 * 3); /* the portable kernel at least */
}
END_TEST

/* OpenBLAS sums in its own order: equal within rounding */
START_TEST(test_openblas_agrees)
{
    nn_rng r;
    nn_rng_init(&r, 1, NN_STREAM_TEST, 22, 0);
    qa_err err;
    for (int t = 0; t < 4; t++) {
        case_t c;
        make_case(&c, t / 2, t % 2, 19, 35, 70, &r);
        c.alpha = 1.5f;
        c.beta = -0.5f;
        size_t n = (size_t)c.M * (size_t)c.ldc;
        float *ref = malloc(n * sizeof *ref), *C = malloc(n * sizeof *C);
        chain_ref(&c, ref);
        memcpy(C, c.C0, n * sizeof *C);
        ck_assert_int_eq(nn_blas_select("openblas", &err), QA_OK);
        ck_assert_str_eq(nn_blas_gemm(), "openblas");
        nn_sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, c.A, c.lda, c.B, c.ldb, c.beta, C, c.ldc);
        ck_assert_int_eq(nn_blas_select("auto", &err), QA_OK);
        for (size_t e = 0; e < n; e++)
            ck_assert_msg(fabsf(C[e] - ref[e]) <= 1e-4f * (1.0f + fabsf(ref[e])),
                          "C[%zu] %g vs %g", e, (double)C[e], (double)ref[e]);
        free(ref);
        free(C);
        free_case(&c);
    }
}
END_TEST

START_TEST(test_beta0_ignores_c)
{
    nn_rng r;
    nn_rng_init(&r, 1, NN_STREAM_TEST, 23, 0);
    for (int k = NN_GEMM_AVX512; k <= NN_GEMM_PORTABLE; k++) {
        if (!nn_gemm_available((nn_gemm_kernel)k))
            continue;
        case_t c;
        make_case(&c, 0, 1, 10, 33, 4, &r);
        size_t n = (size_t)c.M * (size_t)c.ldc;
        for (size_t e = 0; e < n; e++)
            c.C0[e] = NAN;
        float *C = malloc(n * sizeof *C);
        memcpy(C, c.C0, n * sizeof *C);
        nn_gemm_b b = {c.B, c.ldb, NULL, 1};
        nn_gemm((nn_gemm_kernel)k, 0, c.M, c.N, c.K, 1.0f, c.A, c.lda, &b, 0.0f, C, c.ldc);
        for (int i = 0; i < c.M; i++)
            for (int j = 0; j < c.N; j++)
                ck_assert_msg(isfinite(C[i * c.ldc + j]), "%s C[%d,%d]", nn_gemm_name(k), i, j);
        free(C);
        free_case(&c);
    }
}
END_TEST

START_TEST(test_select)
{
    qa_err err;
    ck_assert_int_eq(nn_blas_select("cublas", &err), QA_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "cublas") && strstr(err.msg, "openblas"), "%s", err.msg);
    ck_assert_int_eq(nn_blas_select("portable", &err), QA_OK);
    ck_assert_str_eq(nn_blas_gemm(), "portable");
    ck_assert_int_eq(nn_blas_select("auto", &err), QA_OK);
    ck_assert_str_eq(nn_blas_gemm(), nn_gemm_name(nn_gemm_resolve(NN_GEMM_AUTO)));
    ck_assert_ptr_nonnull(strstr(nn_blas_info(), "core "));
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_gemm");
    TCase *tc = tcase_create("gemm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kernels_are_the_chain);
    tcase_add_test(tc, test_openblas_agrees);
    tcase_add_test(tc, test_beta0_ignores_c);
    tcase_add_test(tc, test_select);
    suite_add_tcase(s, tc);
    return s;
}
