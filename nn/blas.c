/* blas.c: nn_sgemm's dispatch between qadapt's kernels and OpenBLAS, and
 * thin row-major wrappers over cblas. */
#include "nn/blas.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nn/gemm.h"

/* OpenBLAS 0.3.21's cblas.h does not declare it */
char *openblas_get_corename(void);

#define GEMM_OPENBLAS (-1)

/* nn_gemm_kernel, or GEMM_OPENBLAS */
static int gemm_choice = NN_GEMM_AUTO;
static nn_gemm_kernel gemm_kernel = NN_GEMM_AUTO; /* gemm_choice resolved on first use */

static const char *const CHOICES[] = {"auto", "avx512", "avx2", "portable", "openblas", NULL};

static pthread_once_t single_once = PTHREAD_ONCE_INIT;

static void single_thread(void)
{
    openblas_set_num_threads(1);
}

static void openblas_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                           int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    pthread_once(&single_once, single_thread);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (gemm_choice == GEMM_OPENBLAS) {
        openblas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (gemm_kernel == NN_GEMM_AUTO)
        gemm_kernel = nn_gemm_resolve((nn_gemm_kernel)gemm_choice);
    nn_gemm_b b = {B, ldb, NULL, tb};
    nn_gemm(gemm_kernel, ta, M, N, K, alpha, A, lda, &b, beta, C, ldc);
}

int nn_blas_rows(void)
{
    return gemm_choice != GEMM_OPENBLAS;
}

void nn_sgemm_rows(int ta, int tr, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *const *R, float beta, float *C, int ldc)
{
    QA_ASSERT(nn_blas_rows());
    if (gemm_kernel == NN_GEMM_AUTO)
        gemm_kernel = nn_gemm_resolve((nn_gemm_kernel)gemm_choice);
    nn_gemm_b b = {NULL, 0, R, tr};
    nn_gemm(gemm_kernel, ta, M, N, K, alpha, A, lda, &b, beta, C, ldc);
}

void nn_sgemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y)
{
    pthread_once(&single_once, single_thread);
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta, y,
                1);
}

const char *nn_blas_choices(void)
{
    return "auto, avx512, avx2, portable, openblas";
}

int nn_blas_select(const char *name, qa_err *err)
{
    int i = 0;
    while (CHOICES[i] && strcmp(CHOICES[i], name) != 0)
        i++;
    if (!CHOICES[i])
        return qa_fail(err, QA_ERR_ARG, "gemm '%s': expected one of %s", name,
                       nn_blas_choices());
    if (strcmp(name, "openblas") == 0) {
        gemm_choice = GEMM_OPENBLAS;
        return QA_OK;
    }
    if (!nn_gemm_available((nn_gemm_kernel)i))
        return qa_fail(err, QA_ERR_ARG, "gemm '%s': this CPU or build cannot run it (auto picks "
                       "the fastest it can)", name);
    gemm_choice = i;
    gemm_kernel = nn_gemm_resolve((nn_gemm_kernel)i);
    return QA_OK;
}

const char *nn_blas_gemm(void)
{
    if (gemm_choice == GEMM_OPENBLAS)
        return "openblas";
    return nn_gemm_name(nn_gemm_resolve((nn_gemm_kernel)gemm_choice));
}

const char *nn_blas_core(void)
{
    return openblas_get_corename();
}

const char *nn_blas_info(void)
{
    static char info[320];
    pthread_once(&single_once, single_thread);
    int par = openblas_get_parallel();
    snprintf(info, sizeof info, "%s (%s, %d threads, core %s)", openblas_get_config(),
             par == 1 ? "pthreads" : par == 2 ? "openmp" : "serial", openblas_get_num_threads(),
             nn_blas_core());
    return info;
}
