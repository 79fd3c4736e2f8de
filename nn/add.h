/* add.h: residual addition of two tensors of the same shape.
 *
 *   y = a + b        da = dy, db = dy
 *
 * Elements are split over the nn_par threads. */
#ifndef NN_ADD_H
#define NN_ADD_H

#include "nn/layer.h"
#include "nn/net.h"

typedef struct {
    const char *name;
} nn_add_cfg;

extern const nn_layer_ops nn_add_ops;

/* QA_ERR_ARG when the shapes of a and b differ */
int nn_add_new(nn_net *net, const nn_add_cfg *cfg, int a, int b, qa_err *err);

#endif
