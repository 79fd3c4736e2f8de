/* gemm.h: qadapt's own single-precision GEMM, nn-internal (the public door
 * is blas.h's nn_sgemm, which dispatches here or to OpenBLAS).
 *
 * Why: OpenBLAS picks its kernels by a guess at the CPU (0.3.21 takes this
 * machine's Xeon for a Prescott and runs SSE3 kernels; OPENBLAS_CORETYPE
 * overrides it), so its speed and its rounding change with that guess. The
 * shapes of these nets are small (M = 10..288 rows) and one call runs on
 * one thread (nn_par splits the work), where a plain register-tiled kernel
 * is as fast as a tuned library.
 *
 * Every element of C is one fused multiply-add chain over k in increasing
 * order, from 0: acc = fma(op(A)[i,k], op(B)[k,j], acc); then
 * C = alpha*acc (beta = 0), C + alpha*acc (beta = 1), beta*C + alpha*acc
 * (alpha = 1 skips its product). Tiling and vector width only decide which
 * elements are computed together, never an element's order, so the
 * AVX-512, AVX2 and portable (fmaf) kernels give the same bits, whatever
 * the CPU or the thread count. op(B) stored transposed is packed, a sliver
 * of columns at a time, into a per-thread buffer that grows to the largest
 * K seen (allocated once, freed when the thread ends). op(B) may also come
 * as row pointers, so that a convolution's lowered columns, which are
 * blocks of its zero-padded input planes, need no copy (im2col.h).
 * Not here: threading (one call, one thread), complex or double types. */
#ifndef NN_GEMM_H
#define NN_GEMM_H

/* The kernels, fastest first; NN_GEMM_AUTO picks the first the CPU runs. */
typedef enum { NN_GEMM_AUTO = 0, NN_GEMM_AVX512, NN_GEMM_AVX2, NN_GEMM_PORTABLE } nn_gemm_kernel;

/* 1 if this build and CPU can run kernel k (AUTO and PORTABLE: always) */
int nn_gemm_available(nn_gemm_kernel k);
/* k resolved: AUTO becomes the fastest available */
nn_gemm_kernel nn_gemm_resolve(nn_gemm_kernel k);
/* "avx512", "avx2", "portable" ("auto" for AUTO) */
const char *nn_gemm_name(nn_gemm_kernel k);

/* op(B), (K, N): a matrix m stored with row stride ld, op(B) = B (t = 0) or
 * B^T (t = 1); or, when rows is set, rows of floats: op(B)[k,j] =
 * rows[k][j] (t = 0: K rows) or rows[j][k] (t = 1: N rows). */
typedef struct {
    const float *m;
    int ld;
    const float *const *rows;
    int t;
} nn_gemm_b;

/* blas.h's nn_sgemm contract, op(B) as B says, with kernel k (available) */
void nn_gemm(nn_gemm_kernel k, int ta, int M, int N, int K, float alpha, const float *A, int lda,
             const nn_gemm_b *B, float beta, float *C, int ldc);

#endif
