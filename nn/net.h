/* net.h: a network as a list of layers over a list of tensors.
 *
 * Build: create (input shape, max batch), add tensors and layers (layer
 * constructors in nn/ do this), optionally replace layers (quant/ wraps
 * conv/dense), then finalize: parameters, activations, gradients and the
 * shared scratch are allocated once and weights initialised from the seed.
 * Run: fill nn_net_input(), forward, fill nn_net_output_grad(), backward.
 * Tensor 0 is the input; the output is the last layer's output. A tensor
 * may feed several layers (residual connections): backward sums their
 * gradients, the first writer in backward order overwriting. */
#ifndef NN_NET_H
#define NN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/arena.h"
#include "nn/layer.h"
#include "nn/param.h"
#include "nn/status.h"
#include "nn/tensor.h"

typedef struct {
    int max_batch;
    nn_tensor *t, *dt;   /* (ntensors) activations and gradients */
    int ntensors, cap_tensors;
    nn_layer **layers;   /* (nlayers) in forward order */
    int nlayers, cap_layers;
    nn_params params;
    nn_arena arena;      /* layers, activations, caches */
    float *scratch;      /* (scratch_n) shared by all layers */
    size_t scratch_n;
    int input_grad;      /* compute dt[0] too (gradient checks) */
    int frozen;          /* backward wants input gradients only: nn's layers skip
                            their parameter gradients (a frozen teacher); a layer that
                            computes them anyway is still right, nothing reads them */
    nn_init_scheme init; /* set before finalize; 0 = kaiming_uniform */
    size_t batch_floats; /* per sample, of the layers' nn_net_batch_buffer caches */
    int finalized;
} nn_net;

int nn_net_create(nn_net **out, int max_batch, int c, int h, int w, qa_err *err);
void nn_net_free(nn_net *net);

/* Build-time helpers for layer constructors. */
int nn_net_add_tensor(nn_net *net, int c, int h, int w, qa_err *err);
/* Zeroed layer struct of `size` bytes from the net's arena, base filled. */
void *nn_net_new_layer(nn_net *net, size_t size, const nn_layer_ops *ops, const char *name,
                       qa_err *err);
/* Appends l (from nn_net_new_layer) whose in/nin/out are set; returns its index. */
int nn_net_add_layer(nn_net *net, nn_layer *l, qa_err *err);
/* Puts l in place of layer i, taking over its tensors; l's own fields stay. */
void nn_net_replace_layer(nn_net *net, int i, nn_layer *l);
void nn_net_need_scratch(nn_net *net, size_t floats);
/* floats from the arena sized for max_batch samples of per_sample floats */
float *nn_net_batch_buffer(nn_net *net, size_t per_sample, qa_err *err);

int nn_net_finalize(nn_net *net, uint64_t seed, qa_err *err);

float *nn_net_input(nn_net *net);            /* (max_batch, C, H, W) */
const nn_tensor *nn_net_output(const nn_net *net);
float *nn_net_output_grad(nn_net *net);      /* same shape as the output */
int nn_net_output_size(const nn_net *net);   /* per sample */

void nn_net_forward(nn_net *net, int n, int train);
void nn_net_backward(nn_net *net, int n);
/* Layers [first, last] only (forward order; backward runs them last to
 * first): a part of the net fed or read between two tensors (a block of
 * nn_model_blocks). Gradients follow the whole net's accumulation rule, so
 * the tensor feeding layer `first` gets its gradient written once all of
 * its readers in the range have run. */
void nn_net_forward_range(nn_net *net, int first, int last, int n, int train);
void nn_net_backward_range(nn_net *net, int first, int last, int n);
void nn_net_zero_grad(nn_net *net);

/* Bytes a finalized net holds once it has run: its arena (activations,
 * gradients, caches, scratch, layers: net->arena.used), its parameters,
 * gradients and buffers. Most of it is not resident until the first
 * training step, so this is known before it is taken. */
size_t nn_net_bytes(const nn_net *net);
/* The part of nn_net_bytes that grows with max_batch, per sample:
 * activations and their gradients, the layers' batch caches. */
size_t nn_net_sample_bytes(const nn_net *net);

/* Sum of the layers' MACs per sample. */
int64_t nn_net_macs(const nn_net *net);
/* Layer index by name, or -1. */
int nn_net_find_layer(const nn_net *net, const char *name);

#endif
