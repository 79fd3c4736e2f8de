/* blas.h: the only door to OpenBLAS; no other file includes cblas.h.
 * Row-major throughout: C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C. */
#ifndef NN_BLAS_H
#define NN_BLAS_H

/* ta/tb: 0 = as stored, 1 = transposed; lda/ldb/ldc are row strides as stored */
void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* y (M) = alpha * op(A) @ x + beta * y, A stored (M,N) row-major; op = A or A^T */
void nn_sgemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y);

void nn_blas_set_threads(int n);
int nn_blas_threads(void);
/* e.g. "OpenBLAS 0.3.21 ... (pthread, 2 threads)" */
const char *nn_blas_info(void);

#endif
