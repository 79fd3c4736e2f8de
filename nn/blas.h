/* blas.h: the BLAS door: the only file that includes cblas.h is blas.c.
 * Row-major throughout: C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C.
 *
 * nn_sgemm runs one of qadapt's own GEMM kernels (gemm.h: a fused
 * multiply-add chain per element, the same bits on every CPU, kernel and
 * split of the work) or OpenBLAS's, as selected once per process
 * (nn_blas_select, before any training; the default is "auto": the
 * fastest of qadapt's this CPU runs). OpenBLAS picks its own kernel by a
 * guess at the CPU that OPENBLAS_CORETYPE overrides; nn_blas_info names
 * both. OpenBLAS always runs on one thread, set before its first product:
 * nn's pool (nn/par.h) is the only parallelism, so two thread pools never
 * fight for the cores and a product's rounding never depends on how many
 * threads OpenBLAS would have split it over. */
#ifndef NN_BLAS_H
#define NN_BLAS_H

#include "nn/status.h"

/* ta/tb: 0 = as stored, 1 = transposed; lda/ldb/ldc are row strides as stored */
void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* nn_sgemm with op(B) given by row pointers: tr = 0: K rows of N floats,
 * op(B)[k,j] = R[k][j]; tr = 1: N rows of K floats, op(B)[k,j] = R[j][k].
 * Only with qadapt's kernels (nn_blas_rows() == 1); callers lower into a
 * buffer for OpenBLAS. */
void nn_sgemm_rows(int ta, int tr, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *const *R, float beta, float *C, int ldc);
int nn_blas_rows(void);
/* y (M) = alpha * op(A) @ x + beta * y, A stored (M,N) row-major; op = A or A^T (OpenBLAS) */
void nn_sgemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y);

/* The GEMM: "auto", "avx512", "avx2", "portable" (qadapt's) or "openblas".
 * QA_ERR_ARG naming the choices when unknown, or when this CPU or build
 * cannot run it. Not callable while kernels run. */
int nn_blas_select(const char *name, qa_err *err);
/* the GEMM in use, resolved: "avx512", "avx2", "portable" or "openblas" */
const char *nn_blas_gemm(void);
/* the names nn_blas_select takes, comma-separated */
const char *nn_blas_choices(void);

/* OpenBLAS's kernel family, as OPENBLAS_CORETYPE or its CPU guess chose: "Haswell", ... */
const char *nn_blas_core(void);
/* e.g. "OpenBLAS 0.3.21 ... (pthreads, 1 threads, core Haswell)" */
const char *nn_blas_info(void);

#endif
