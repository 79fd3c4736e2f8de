/* pool.h: max, average and global-average pooling, PyTorch semantics.
 *
 *   max:    y = max over the window of the valid (unpadded) inputs;
 *           backward routes dy to the first maximum found in scan order
 *   avg:    y = sum over the window / (K*K), padding counted as zeros
 *           (count_include_pad, PyTorch's default)
 *   global: y[n, c] = mean over H*W of x[n, c], output (N, C, 1, 1)
 *
 * Square windows; output size floor((H + 2 pad - K) / stride) + 1 and
 * pad <= K/2, as PyTorch requires. No ceil mode, no dilation. Planes
 * (sample, channel) are split over the nn_par threads. */
#ifndef NN_POOL_H
#define NN_POOL_H

#include "nn/layer.h"
#include "nn/net.h"

typedef enum {
    NN_POOL_MAX,
    NN_POOL_AVG,
    NN_POOL_GLOBAL_AVG,
    NN_POOL_COUNT,
} nn_pool_type;

typedef struct {
    const char *name;
    int type;                /* nn_pool_type */
    int kernel, stride, pad; /* ignored by NN_POOL_GLOBAL_AVG */
} nn_pool_cfg;

typedef struct {
    nn_layer base;
    int type;
    int c, h, w, oh, ow;
    int k, s, p;
    int *argmax; /* (max_batch, C, OH, OW) index into the H*W plane; max pool only */
} nn_pool;

/* indexed by nn_pool_type */
extern const nn_layer_ops nn_pool_ops[NN_POOL_COUNT];

int nn_pool_new(nn_net *net, const nn_pool_cfg *cfg, int input, qa_err *err);

#endif
