/* conv2d.h: 2-D convolution (any kernel, stride, zero padding, groups;
 * depthwise is groups == C), optional bias.
 *
 *   y[n, o, i, j] = b[o] + sum_{c in group(o), ki, kj}
 *                   w[o, c - c0(o), ki, kj] * x[n, c, i*SH - PH + ki, j*SW - PW + kj]
 *
 * w is (OC, C/G, KH, KW) like PyTorch's Conv2d.weight. Samples are lowered
 * with im2col in chunks that stay in cache and each chunk is one GEMM per
 * group, or, for 3x3 stride-1 pad-1 convolutions with enough channels,
 * computed with Winograd F(2x2, 3x3) (nn/wino.h: 16 GEMMs per chunk of
 * samples); samples are split into nn_par shares. The raw kernels below run
 * the same code on caller-given pointers, so a wrapper (quant/) can convolve
 * with a quantized copy of w, or only a subset of the batch's samples.
 * Not here: dilation, non-zero padding modes, transposed convolution. */
#ifndef NN_CONV2D_H
#define NN_CONV2D_H

#include <stddef.h>

#include "nn/im2col.h"
#include "nn/layer.h"
#include "nn/net.h"

typedef struct {
    const char *name;             /* layer name; parameters are "<name>.w", "<name>.b" */
    int out_channels;
    int kernel_h, kernel_w;
    int stride_h, stride_w;       /* >= 1 */
    int pad_h, pad_w;             /* >= 0 */
    int groups;                   /* >= 1, divides C and out_channels */
    int bias;                     /* 1: add a learned bias */
} nn_conv2d_cfg;

typedef struct {
    nn_layer base;
    nn_conv_geom g;
    int w_view;       /* (OC, C/G, KH, KW) */
    int b_view;       /* (OC), -1 without bias */
    size_t scratch_n; /* floats of ctx->scratch this layer may use */
} nn_conv2d;

extern const nn_layer_ops nn_conv2d_ops;

/* Square kernel/stride/padding, one group, no bias: the common case. */
nn_conv2d_cfg nn_conv2d_cfg_make(const char *name, int out_channels, int kernel, int stride,
                                 int pad);

/* Fills g for an input (c, h, w); QA_ERR_ARG naming the layer when the
 * geometry is impossible (window larger than the padded input, groups not
 * dividing the channels, non-positive sizes). */
int nn_conv_geom_init(nn_conv_geom *g, int c, int h, int w, const nn_conv2d_cfg *cfg,
                      qa_err *err);

/* Appends a conv2d reading tensor `input`; returns the output tensor id. */
int nn_conv2d_new(nn_net *net, const nn_conv2d_cfg *cfg, int input, qa_err *err);

/* ---- raw kernels (the layer's own code path) ----
 * x: (N, C, H, W), y/dy: (N, OC, OH, OW), both pointing at sample 0; the
 * samples processed are idx[0..n) (0..n-1 when idx is NULL), each read and
 * written at its own position. w: (OC, C/G, KH, KW), b: (OC) or NULL.
 * scratch: scratch_n floats, at least nn_conv2d_scratch_floats(g, 1,
 * nn_par_shares()); the kernels use as many nn_par threads as fit in it. */
size_t nn_conv2d_scratch_floats(const nn_conv_geom *g, int nthreads, int nshares);

/* the kernel the raw kernels run for g: g->algo, or AUTO resolved by geometry */
nn_conv_algo nn_conv2d_algo(const nn_conv_geom *g);

/* y[s] = conv(x[s], w) + b for the selected samples */
void nn_conv2d_forward_raw(const nn_conv_geom *g, const float *x, const float *w,
                           const float *b, float *y, const int *idx, int n, float *scratch,
                           size_t scratch_n);

/* For the selected samples: dx[s] = (dx_acc ? dx[s] : 0) + conv^T(dy[s], w)
 * when dx is non-NULL; dw (OC, C/G, KH, KW) += sum_s dy[s] (*) x[s] and
 * db (OC) += sum_s sum_ij dy[s] when non-NULL. Partial sums are per nn_par
 * share, reduced in share order, so results depend on nn_par_shares() and
 * never on the thread count. */
void nn_conv2d_backward_raw(const nn_conv_geom *g, const float *x, const float *w,
                            const float *dy, float *dx, int dx_acc, float *dw, float *db,
                            const int *idx, int n, float *scratch, size_t scratch_n);

#endif
