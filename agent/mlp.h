/* mlp.h: the small two-hidden-layer perceptron behind the policy and the
 * critic, with hand-written forward and backward over nn's dense kernels.
 *
 *   h1 = tanh(W1 x + b1)   h2 = tanh(W2 h1 + b2)   y = W3 h2 + b3
 *   W1 (H, I), W2 (H, H), W3 (O, H), like nn.Linear
 *
 * tanh rather than ReLU: the agent's gradients are checked by finite
 * differences end to end and tanh has no kinks; the nets are tiny, so its
 * cost does not matter. The weights are views "<prefix>.w1" ... of a
 * caller's nn_params (registered before nn_params_alloc), so one optimizer
 * and one NaN check cover them; activations are kept for backward in
 * buffers sized once for max_batch.
 * Legend: B max_batch, I inputs, H hidden, O outputs.
 * Deliberately not here: what the inputs and outputs mean (policy.h,
 * critic.h). */
#ifndef AGENT_MLP_H
#define AGENT_MLP_H

#include <stdint.h>

#include "nn/param.h"
#include "nn/status.h"

typedef struct {
    int in, hidden, out, max_batch;
    int v_w1, v_b1, v_w2, v_b2, v_w3, v_b3; /* views in the caller's params */
    float *x;   /* (B, I) input of the last forward */
    float *h1;  /* (B, H) */
    float *h2;  /* (B, H) */
    float *dh1; /* (B, H) backward scratch */
    float *dh2; /* (B, H) */
} agent_mlp;

/* Registers the views in p (not yet allocated) and allocates the buffers. */
int agent_mlp_init(agent_mlp *m, nn_params *p, const char *prefix, int in, int hidden, int out,
                   int max_batch, qa_err *err);
void agent_mlp_free(agent_mlp *m);
/* PyTorch's nn.Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from
 * (seed, AGENT_STREAM_INIT, a = salt, b = view); W3 and b3 are scaled by
 * out_scale (a small last layer starts the policy near its biases). */
void agent_mlp_init_weights(const agent_mlp *m, nn_params *p, uint64_t seed, uint32_t salt,
                            float out_scale);
/* y (n, O) from x (n, I); x is copied for backward. */
void agent_mlp_forward(agent_mlp *m, const nn_params *p, const float *x, float *y, int n);
/* Accumulates the parameter gradients of dy (n, O) into p->g; dx (n, I)
 * receives dL/dx when non-NULL (overwritten). */
void agent_mlp_backward(agent_mlp *m, nn_params *p, const float *dy, float *dx, int n);
/* Multiply-accumulates per sample. */
int64_t agent_mlp_macs(const agent_mlp *m);

#endif
