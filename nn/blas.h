/* blas.h: the only door to OpenBLAS; no other file includes cblas.h.
 * Row-major throughout: C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C.
 * OpenBLAS always runs on one thread, set before the first product: nn's
 * pool (nn/par.h) is the only parallelism, so two thread pools never fight
 * for the cores and a product's rounding never depends on how many threads
 * OpenBLAS would have split it over. */
#ifndef NN_BLAS_H
#define NN_BLAS_H

/* ta/tb: 0 = as stored, 1 = transposed; lda/ldb/ldc are row strides as stored */
void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* y (M) = alpha * op(A) @ x + beta * y, A stored (M,N) row-major; op = A or A^T */
void nn_sgemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y);

/* e.g. "OpenBLAS 0.3.21 ... (pthread, 2 threads)" */
const char *nn_blas_info(void);

#endif
