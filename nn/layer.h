/* layer.h: the interface every layer implements.
 *
 * A concrete layer struct embeds nn_layer first and points at a shared
 * static const ops table. Layers read and write the network's tensors by id
 * through the nn_ctx they are given, so a layer can be wrapped or replaced
 * (quant/ does this) without touching the tensors around it.
 *
 * forward  reads ctx->t[in[i]], writes ctx->t[out]; in training mode it
 *          saves what backward needs in buffers sized at build time.
 * backward reads ctx->dt[out], writes ctx->dt[in[i]] when need_dx[i]
 *          (accumulating when acc[i], overwriting otherwise) and adds the
 *          parameter gradients into ctx->p->g.
 * init     sets initial parameter values from rng (keyed by the layer's
 *          index) following the net's scheme, NULL for layers without
 *          parameters. */
#ifndef NN_LAYER_H
#define NN_LAYER_H

#include <stdint.h>

#include "nn/param.h"
#include "nn/rng.h"
#include "nn/tensor.h"

typedef struct nn_layer nn_layer;

/* How conv/dense weights start. Batch-normalised nets are insensitive to the
 * weights' scale in the forward pass but not under weight decay, whose pull
 * is relative to that scale, so the scheme changes where training ends up.
 *   kaiming_uniform  PyTorch's default (kaiming_uniform_ with a = sqrt(5)):
 *                    weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in));
 *                    what the peer script trains with
 *   he_normal        N(0, 2 / fan_in) weights, zero biases (He et al. 2015) */
typedef enum { NN_INIT_KAIMING_UNIFORM = 0, NN_INIT_HE_NORMAL = 1 } nn_init_scheme;

typedef struct {
    int n;          /* samples in this batch, <= the net's max_batch */
    int train;      /* 1: batch statistics, caches for backward */
    nn_tensor *t;   /* the network's activations, by tensor id */
    nn_tensor *dt;  /* their gradients */
    nn_params *p;
    float *scratch; /* shared, nn_net.scratch_n floats, contents not kept */
    int frozen;     /* backward may skip parameter gradients (nn_net.frozen) */
} nn_ctx;

typedef struct {
    const char *type;
    void (*forward)(nn_layer *l, const nn_ctx *c);
    void (*backward)(nn_layer *l, const nn_ctx *c);
    void (*init)(nn_layer *l, nn_params *p, nn_rng *rng, nn_init_scheme s);
} nn_layer_ops;

struct nn_layer {
    const nn_layer_ops *ops;
    char name[32];
    int nin;        /* 1, or 2 for residual add */
    int in[2];      /* input tensor ids */
    int out;        /* output tensor id */
    int need_dx[2]; /* set by the net: input gradient is wanted */
    int acc[2];     /* set by the net: another consumer already wrote dt[in[i]] */
    int64_t macs;   /* multiply-accumulates per sample (cost model) */
};

/* dx = acc ? dx + v : v, the accumulation rule of every backward */
static inline void nn_grad_store(float *dx, float v, int acc)
{
    *dx = acc ? *dx + v : v;
}

#endif
