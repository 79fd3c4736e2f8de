/* param.h: every trainable value of a network in one flat array.
 *
 * Layers register named views at build time and keep the returned view id;
 * after nn_params_alloc the values, gradients and non-trainable buffers
 * (batchnorm running statistics, quantizer calibration state) are three
 * contiguous arrays, so an optimizer step is one loop per view and a
 * checkpoint is one write per array. */
#ifndef NN_PARAM_H
#define NN_PARAM_H

#include <stddef.h>

#include "nn/status.h"

typedef enum {
    NN_PARAM_WEIGHT, /* conv/dense kernels */
    NN_PARAM_BIAS,
    NN_PARAM_NORM,   /* batchnorm gamma/beta */
    NN_PARAM_QUANT,  /* quantizer steps, clip values */
    NN_PARAM_BUFFER, /* not trainable: running statistics, calibration state */
} nn_param_kind;

typedef struct {
    char name[64];
    size_t off, n;    /* into w/g (trainable) or buf (NN_PARAM_BUFFER) */
    int kind;         /* nn_param_kind */
    float decay_mult; /* multiplies the optimizer's weight decay (default 1) */
    float lr_mult;    /* multiplies the learning rate (default 1) */
} nn_param_view;

typedef struct {
    float *w;    /* (n) values */
    float *g;    /* (n) gradients */
    float *buf;  /* (nbuf) non-trainable state */
    size_t n, nbuf;
    nn_param_view *views;
    int nviews, cap;
    int allocated;
} nn_params;

void nn_params_init(nn_params *p);
/* Registers n values; returns the view id (>= 0) or a negative status. */
int nn_params_add(nn_params *p, const char *name, size_t n, nn_param_kind kind, qa_err *err);
/* Allocates w, g and buf (zeroed); no view can be added afterwards. */
int nn_params_alloc(nn_params *p, qa_err *err);
void nn_params_free(nn_params *p);

float *nn_params_value(const nn_params *p, int view);
/* NULL for buffers */
float *nn_params_grad(const nn_params *p, int view);
void nn_params_zero_grad(nn_params *p);
/* view id of the exact name, or -1 */
int nn_params_find(const nn_params *p, const char *name);
/* number of trainable scalars */
size_t nn_params_trainable(const nn_params *p);

#endif
