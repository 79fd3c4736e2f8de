/* qmeta.h: the weight-step loss of MetaMix (docs/METHODS.md, "MetaMix"), a
 * quantized net's mean cross-entropy averaged over K plans:
 *
 *   L = (1/K) sum_k CE_k,   CE_k = (1/n) sum_i CE(f(x_i; W, plan_k), y_i)
 *   dL/dW = (1/K) sum_k dCE_k/dW
 *
 * One forward and one backward per plan (fill(arg, k) sets plan k), each
 * with batch statistics of its own (batch norm normalises pass k by pass
 * k's activations, as K separate networks would), the output gradient of
 * pass k scaled by 1/K and the parameter gradients accumulated over the
 * passes (zeroed before the first). Nothing cheaper is exact once the plans
 * differ in the first planned layer: every later activation, and so every
 * later batch statistic, is the plan's own. What the passes share is the
 * weights (not copied; quantized once per pass and width).
 * Deliberately not here: which plans (agent/metamix.h), the optimizer step
 * (the method). */
#ifndef Q_QMETA_H
#define Q_QMETA_H

#include "nn/net.h"
#include "quant/plan.h"

typedef void (*q_meta_fill)(void *arg, int k, int n, q_plan *plan);

typedef struct {
    double loss;                /* L */
    double loss_k[Q_MAX_CAND];  /* CE_k */
    int correct_k[Q_MAX_CAND];  /* samples whose argmax is the label, pass k */
} q_meta_result;

/* L and dL/dW (into net's gradients) for the n samples in nn_net_input
 * with labels; loss_i (n, nullable) gets each sample's loss averaged over
 * the K passes, work (n floats) is needed with it. 1 <= K <= Q_MAX_CAND. */
void q_meta_mean_step(nn_net *net, q_plan *plan, int K, q_meta_fill fill, void *arg,
                      const int *label, int n, float *loss_i, float *work, q_meta_result *res);

#endif
