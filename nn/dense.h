/* dense.h: fully connected layer. The input (N, C, H, W) is read as
 * (N, I = C*H*W), the output is (N, O, 1, 1).
 *
 *   y[n, o] = b[o] + sum_i w[o, i] * x[n, i]        w is (O, I) like nn.Linear
 *
 * The raw kernels run the same code on caller-given pointers (a quantized
 * copy of w, a subset of samples). Large products are split into nn_par
 * shares along independent rows, so no partial sums are needed. */
#ifndef NN_DENSE_H
#define NN_DENSE_H

#include <stddef.h>

#include "nn/layer.h"
#include "nn/net.h"

typedef struct {
    const char *name; /* parameters "<name>.w", "<name>.b" */
    int out;          /* output features */
    int bias;         /* 1: add a learned bias */
} nn_dense_cfg;

typedef struct {
    nn_layer base;
    int in, out;
    int w_view; /* (O, I) */
    int b_view; /* (O), -1 without bias */
} nn_dense;

extern const nn_layer_ops nn_dense_ops;

int nn_dense_new(nn_net *net, const nn_dense_cfg *cfg, int input, qa_err *err);

/* ---- raw kernels ----
 * x: (N, I), y/dy: (N, O), pointing at sample 0; samples idx[0..n) (0..n-1
 * when idx is NULL). With an index list the selected rows are gathered into
 * scratch, which must then hold nn_dense_scratch_floats(I, O, n) floats
 * (NULL is fine without one). */
size_t nn_dense_scratch_floats(int in, int out, int n);

/* y[s] = w @ x[s] + b */
void nn_dense_forward_raw(int in, int out, const float *x, const float *w, const float *b,
                          float *y, const int *idx, int n, float *scratch);

/* dx[s] = (dx_acc ? dx[s] : 0) + w^T @ dy[s] (dx nullable);
 * dw (O, I) += sum_s dy[s] x[s]^T, db (O) += sum_s dy[s] (nullable) */
void nn_dense_backward_raw(int in, int out, const float *x, const float *w, const float *dy,
                           float *dx, int dx_acc, float *dw, float *db, const int *idx, int n,
                           float *scratch);

#endif
