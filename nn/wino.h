/* wino.h: Winograd F(2x2, 3x3) convolution kernels, nn-internal (the
 * public entry points are conv2d.h's raw kernels, which dispatch here).
 *
 * For a 3x3, stride-1, pad-1, one-group convolution every 2x2 block of
 * outputs (a tile) is computed from the 4x4 input patch around it as
 *   Y = A^T [ U (.) V ] A,   U = G g G^T (weights),  V = B^T d B (patch),
 * 16 products per tile and channel pair instead of 36. Summed over input
 * channels, each of the 16 positions xi of the 4x4 transformed domain is one
 * GEMM over a chunk of samples: M[xi] (tiles, OC) = V[xi] (tiles, C) @
 * U[xi]^T, U[xi] being (OC, C). The backward pass is the exact adjoint of
 * that map: dM = A dY A^T, dU[xi] += dM[xi]^T @ V[xi] (then dw += G^T dU G)
 * and dV[xi] = dM[xi] @ U[xi] (then dx += B dV B^T, overlapping patches
 * added). Adjoint dx equals a Winograd convolution of dy with the rotated,
 * channel-transposed kernel (G rot180(g) G^T is U with rows and columns 0
 * and 3 swapped), but shares dM with the weight gradient instead of
 * transforming dy a second time. Outputs past an odd OH/OW are computed in
 * a last tile whose extra row/column is dropped (forward) or fed zeros
 * (backward). The arguments and guarantees are those of conv2d.h's raw
 * kernels; scratch is laid out as the transformed weights (shared), one
 * block of partial gradients per nn_par share, then one block of
 * transformed data per thread. */
#ifndef NN_WINO_H
#define NN_WINO_H

#include <stddef.h>

#include "nn/im2col.h"

/* 3x3 kernel, stride 1, padding 1, one group: the shapes handled here */
int nn_wino_applies(const nn_conv_geom *g);

size_t nn_wino_scratch_floats(const nn_conv_geom *g, int nthreads, int nshares);

/* samples per chunk (16 GEMMs each) and tiles per sample, for benchmarks
 * that time the GEMMs these kernels issue */
void nn_wino_chunking(const nn_conv_geom *g, int *samples, int *tiles);

void nn_wino_forward(const nn_conv_geom *g, const float *x, const float *w, const float *b,
                     float *y, const int *idx, int n, float *scratch, size_t scratch_n);

void nn_wino_backward(const nn_conv_geom *g, const float *x, const float *w, const float *dy,
                      float *dx, int dx_acc, float *dw, float *db, const int *idx, int n,
                      float *scratch, size_t scratch_n);

#endif
