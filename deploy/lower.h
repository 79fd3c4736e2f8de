/* lower.h: a trained fake-quant network -> a dep_model (qam.h), what
 * `qadapt export` writes.
 *
 * The net's layers are walked in order. Each quantized conv/dense (q_layer)
 * starts an op; the batchnorm, ReLU/ReLU6 and residual add that follow it
 * fold into its epilogue (an add folds when its other input is already
 * made, as a FIX tensor); a global average pool becomes a GAP op. An op's
 * output is CODES when its only reader is one quantized layer, FLOAT when
 * it is the network's output, else FIX (read by several layers, a residual
 * add or a pool), with QUANT ops making each reader's codes. Weight codes
 * and steps come from the quantizers themselves (q_quant_codes, resolved in
 * evaluation mode), so the model holds exactly the codes the fake-quant
 * evaluation multiplies.
 *
 * Refused, naming the layer: grouped convolutions other than depthwise
 * (groups = input = output channels), max/avg pooling windows,
 * a dense layer reading a feature map wider than 1x1, DoReFa 8-bit weights
 * (odd codes up to 255 need 9 bits), sums that could overflow int32, an
 * unquantized network input unless it is pixels / 255.
 *
 * Deliberately not here: reading run files or checkpoints (the export
 * command), running the model (engine.h). */
#ifndef DEP_LOWER_H
#define DEP_LOWER_H

#include "agent/policy.h"
#include "deploy/qam.h"
#include "quant/qnet.h"

typedef struct {
    const nn_net *net;          /* finalized, trained */
    const q_net *qn;
    const agent_policy *pol;    /* NULL: fixed widths */
    int feat_mode;              /* env_feat_mode the policy reads */
    const char *arch;
    int nclass;
    const float *mean, *std;    /* (C) the loader's normalisation */
    const int *fixed_w, *fixed_a; /* (planned layers) widths without a policy */
} dep_lower_src;

int dep_lower(dep_model *m, const dep_lower_src *s, qa_err *err);

#endif
