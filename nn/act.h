/* act.h: element-wise activations.
 *
 *   relu:  y = max(0, x)            dy/dx = [x > 0]
 *   relu6: y = min(max(0, x), 6)    dy/dx = [0 < x < 6]
 *
 * The derivative is read from the output (y > 0, y < 6 mark the same sets
 * as x), PyTorch's convention of 0 at the kinks. Elements are split over
 * the nn_par threads. */
#ifndef NN_ACT_H
#define NN_ACT_H

#include "nn/layer.h"
#include "nn/net.h"

typedef enum {
    NN_ACT_RELU,
    NN_ACT_RELU6,
    NN_ACT_COUNT,
} nn_act_type;

typedef struct {
    const char *name;
    int type; /* nn_act_type */
} nn_act_cfg;

typedef struct {
    nn_layer base;
    int type;
} nn_act;

/* indexed by nn_act_type */
extern const nn_layer_ops nn_act_ops[NN_ACT_COUNT];

int nn_act_new(nn_net *net, const nn_act_cfg *cfg, int input, qa_err *err);

#endif
