/* blas.c: thin row-major wrappers over cblas. */
#include "nn/blas.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>

static pthread_once_t single_once = PTHREAD_ONCE_INIT;

static void single_thread(void)
{
    openblas_set_num_threads(1);
}

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    pthread_once(&single_once, single_thread);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nn_sgemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y)
{
    pthread_once(&single_once, single_thread);
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta, y,
                1);
}

const char *nn_blas_info(void)
{
    static char info[256];
    pthread_once(&single_once, single_thread);
    snprintf(info, sizeof info, "%s (%s, %d threads)", openblas_get_config(),
             openblas_get_parallel() == 1 ? "pthreads" : openblas_get_parallel() == 2 ? "openmp" : "serial",
             openblas_get_num_threads());
    return info;
}
