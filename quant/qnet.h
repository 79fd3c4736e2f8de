/* qnet.h: turning a built (unfinalized) network into a quantized one.
 *
 * Every conv2d and dense layer (or those of a range of the net's layers) is
 * wrapped by a q_layer. The first and last
 * of them are pinned at quant.first_bits / quant.last_bits (0: planned like
 * the rest); the others are the plan's rows, in forward order. The plan's
 * candidates are cfg->cand, tied by cfg->tied. The cost model lists every
 * wrapped layer with its MACs and weights.
 * Input domains: a layer reading a ReLU/ReLU6 output (possibly through
 * pooling) quantizes unsigned, the network input per cfg->input_domain,
 * anything else (residual sums, linear bottlenecks) signed.
 *
 * Deliberately not here: how a method fills the plan. */
#ifndef Q_QNET_H
#define Q_QNET_H

#include "nn/net.h"
#include "quant/cost.h"
#include "quant/plan.h"
#include "quant/qcfg.h"
#include "quant/qlayer.h"

typedef struct {
    q_cfg cfg;
    q_plan *plan;
    q_layer **layers;  /* (n) every wrapped layer, forward order */
    int n;
    q_cost_model cost;
} q_net;

/* Wraps the layers of net (built, not finalized); call nn_net_finalize after. */
int q_net_wrap(q_net **out, nn_net *net, const q_cfg *cfg, qa_err *err);
/* The same for the quantizable layers among net->layers[first..last] only
 * (a block of the net). First/last pinning and quant.input refer to the
 * whole net's first and last quantizable layers, so each layer of the
 * range is wrapped as the whole-net wrap would wrap it; the plan's rows are
 * the range's planned layers, in forward order. */
int q_net_wrap_range(q_net **out, nn_net *net, const q_cfg *cfg, int first, int last,
                     qa_err *err);
void q_net_free(q_net *qn);

/* domain of the tensor feeding layer l (see above) */
q_domain q_net_input_domain(const nn_net *net, const nn_layer *l, int input_signed);

#endif
