/* build.h: the steps every layer constructor shares (name checks, naming
 * parameters "<layer>.<suffix>", appending with its output tensor), so each
 * constructor only states its own geometry. Build time only. */
#ifndef NN_BUILD_H
#define NN_BUILD_H

#include <stddef.h>

#include "nn/net.h"

/* A zeroed layer struct, after checking that `name` is non-empty, fits
 * nn_layer.name and is not taken, and that the inputs are existing tensors
 * (in1 = -1 for one input). NULL and err filled otherwise. */
void *nn_build_layer(nn_net *net, size_t size, const nn_layer_ops *ops, const char *name,
                     int in0, int in1, qa_err *err);

/* Registers parameter "<layer name>.<suffix>"; returns its view id. */
int nn_build_param(nn_net *net, const nn_layer *l, const char *suffix, size_t n,
                   nn_param_kind kind, qa_err *err);

/* Creates the (c, h, w) output tensor, sets the inputs given to
 * nn_build_layer and appends l; returns the output tensor id. */
int nn_build_finish(nn_net *net, nn_layer *l, int c, int h, int w, qa_err *err);

/* Initial weights of a layer with fan_in inputs per output, by scheme s
 * (nn_init_scheme in layer.h), and its biases (zero under he_normal). */
void nn_init_fill(float *w, size_t n, double fan_in, nn_init_scheme s, nn_rng *rng);
void nn_init_bias(float *b, size_t n, double fan_in, nn_init_scheme s, nn_rng *rng);

#endif
