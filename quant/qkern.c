/* qkern.c: nn's raw conv2d / dense kernels seen through one table, with k
 * candidate weight sets stacked along the output channels (k = 1: the
 * layer itself). The stacked conv geometry is precomputed in q->g[1]. */
#include "quant/qlayer.h"

#include "nn/par.h"

static const nn_conv_geom *geom(const q_layer *q, int k)
{
    QA_ASSERT(k == 1 || k == q->nslot);
    return &q->g[k == 1 ? 0 : 1];
}

static void conv_forward(const q_layer *q, const float *x, const float *w, float *y,
                         const int *idx, int n, int k, float *scratch)
{
    nn_conv2d_forward_raw(geom(q, k), x, w, NULL, y, idx, n, scratch, q->kscratch);
}

static void conv_backward(const q_layer *q, const float *x, const float *w, const float *dy,
                          float *dx, float *dw, float *db, const int *idx, int n, int k,
                          float *scratch)
{
    nn_conv2d_backward_raw(geom(q, k), x, w, dy, dx, 0, dw, db, idx, n, scratch, q->kscratch);
}

static size_t conv_scratch(const q_layer *q, int k)
{
    return nn_conv2d_scratch_floats(geom(q, k), nn_par_threads(), nn_par_shares());
}

const q_kern q_kern_conv2d = {"conv2d", conv_forward, conv_backward, conv_scratch};

static void dense_forward(const q_layer *q, const float *x, const float *w, float *y,
                          const int *idx, int n, int k, float *scratch)
{
    const nn_dense *d = (const nn_dense *)q->inner;
    nn_dense_forward_raw(d->in, d->out * k, x, w, NULL, y, idx, n, scratch);
}

static void dense_backward(const q_layer *q, const float *x, const float *w, const float *dy,
                           float *dx, float *dw, float *db, const int *idx, int n, int k,
                           float *scratch)
{
    const nn_dense *d = (const nn_dense *)q->inner;
    nn_dense_backward_raw(d->in, d->out * k, x, w, dy, dx, 0, dw, db, idx, n, scratch);
}

static size_t dense_scratch(const q_layer *q, int k)
{
    const nn_dense *d = (const nn_dense *)q->inner;
    return nn_dense_scratch_floats(d->in, d->out * k, q->plan->max_batch);
}

const q_kern q_kern_dense = {"dense", dense_forward, dense_backward, dense_scratch};
