/* qlayer.h: quantized conv2d (incl. grouped/depthwise) and dense layers that
 * read the batch's plan (docs/METHODS.md, section 3).
 *
 * A q_layer replaces an nn conv2d/dense in the net (nn_net_replace_layer)
 * and runs nn's raw kernels on quantized copies of the weights and input:
 *   y_i = conv(Q^w_{b_w,i}(W), Q^a_{b_a,i}(x_i)) + b
 * Q^a quantizes the layer's INPUT: unsigned after ReLU/ReLU6 (also through
 * pooling), signed for anything else (residual sums, linear bottlenecks);
 * the network input follows quant.input (auto: signed when the loader
 * standardises images, unsigned for pixels / 255). The bias is not quantized.
 * Each width the layer can run (its slots: the plan's candidates, or the one
 * pinned width of a first/last layer) has its own weight and activation
 * quantizer, so LSQ steps / PACT alphas are per width ("conv2.w_step.b4").
 *
 * Hard mode (and pinned layers in any mode): samples are grouped by
 * (w_bits, a_bits); weights are quantized once per distinct width, the input
 * once per sample at its width, and each group runs one kernel call over its
 * index list (the whole batch in order when there is one group).
 * Soft mode, probabilities p (weights) and r (activations) over K slots:
 *   untied  y_i = sum_j p_ij conv(Q_j(W), xbar_i) + b, xbar_i = sum_k r_ik Q_k(x_i)
 *           one GEMM over the K quantized weights stacked (K*OC outputs)
 *   tied    y_i = sum_k p_ik conv(Q_k(W), Q_k(x_i)) + b, K GEMMs
 *   dL/dp_ij = <dy_i, conv(Q_j(W), xbar_i)>, dL/dr_ik = <dL/dxbar_i, Q_k(x_i)>
 *   (tied: dL/dp_ik = <dy_i, conv(Q_k(W), Q_k(x_i))>), written to the plan
 *   for every candidate, also when p is one-hot: a straight-through
 *   (hard-forward, soft-backward) relaxation runs soft mode with one-hot p.
 * Soft_a mode (untied plans): weights hard as in hard mode (samples grouped
 * by weight width only, one kernel call per group), the input mixed as in
 * untied soft mode, xbar_i = sum_k r_ik Q_k(x_i), over the slots some
 * sample gives r > 0; dL/dr as above (0 for skipped slots). One
 * convolution instead of K: the relaxation of a search over activation
 * widths at fixed weight widths.
 * Candidate pruning (tied; quant.soft_keep, quant.soft_min_p), an
 * approximation: sample i runs only the set S_i of its soft_keep most
 * probable candidates whose p_ik >= soft_min_p (the most probable always),
 * mixed renormalised, with the exact gradient of that surrogate (S_i held):
 *   y_i = sum_{k in S_i} p_ik z_ik / P_i + b,   P_i = sum_{k in S_i} p_ik
 *   dL/dp_ik = (g_ik - sum_{j in S_i} p_ij g_ij / P_i) / P_i (k in S_i), 0 else
 * with g_ik = <dy_i, z_ik>; each candidate's kernels run over its samples only.
 * Stacking keeps groups intact: stacked output s = (g*K + j)*OCg + o holds
 * candidate j of output channel g*OCg + o.
 *
 * Buffers, all sized at build for max_batch: xq (quantized or mixed input,
 * kept for backward), wq (each slot's quantized weights), z (soft: the K
 * candidate outputs, kept for dL/dp); temporaries come from ctx->scratch
 * after the nn kernel's own share.
 *
 * Deliberately not here: choosing the layers to wrap and the plan's rows
 * (qnet.h), costs (cost.h). */
#ifndef Q_QLAYER_H
#define Q_QLAYER_H

#include <stddef.h>

#include "nn/conv2d.h"
#include "nn/dense.h"
#include "quant/plan.h"
#include "quant/quantizer.h"

typedef struct q_layer q_layer;

/* The inner layer's kernels, with k candidates stacked along the outputs. */
typedef struct {
    const char *type; /* nn's type name of the wrapped layer */
    void (*forward)(const q_layer *q, const float *x, const float *w, float *y, const int *idx,
                    int n, int k, float *scratch);
    void (*backward)(const q_layer *q, const float *x, const float *w, const float *dy, float *dx,
                     float *dw, float *db, const int *idx, int n, int k, float *scratch);
    size_t (*scratch)(const q_layer *q, int k);
} q_kern;

struct q_layer {
    nn_layer base;
    nn_layer *inner;      /* the wrapped nn_conv2d / nn_dense: geometry, views */
    const q_kern *kern;
    nn_conv_geom g[2];    /* conv: [0] the layer, [1] K slots stacked */
    q_plan *plan;
    int row;              /* plan row, -1 when pinned */
    int nslot;            /* widths the layer runs: plan->ncand, or 1 when pinned */
    int wbits[Q_MAX_CAND], abits[Q_MAX_CAND]; /* width of each slot */
    q_quant wq[Q_MAX_CAND], aq[Q_MAX_CAND];
    int a_learned;        /* the input quantizer has a trainable parameter */
    int w_view, b_view;
    int groups, ocg, pos; /* groups, output channels per group, positions per channel */
    size_t in_n, out_n;   /* per-sample input / output floats */
    size_t w_n, w_row;    /* weights, weights per output channel */
    float *xq;            /* (max_batch, in_n) */
    float *wqbuf;         /* (nslot, w_n) */
    float *wstack;        /* (nslot * w_n) soft, interleaved by group; == wqbuf if groups == 1 */
    float *z;             /* (nslot, max_batch, out_n) tied / (max_batch, nslot*out_n) untied */
    int *idx;             /* (max_batch) samples ordered by (w slot, a slot) */
    int *idx_a;           /* (max_batch) samples ordered by a slot */
    int *key;             /* (max_batch) group of each sample */
    int cnt[Q_MAX_CAND * Q_MAX_CAND + 1], cnt_a[Q_MAX_CAND + 1]; /* group starts */
    float *wt, *dot;      /* (max_batch) per-sample weights and dot products */
    int keep;             /* soft, tied: candidates run per sample (nslot: all) */
    float min_p;          /* soft, tied: candidates below it are skipped */
    int *sel;             /* (nslot, max_batch) soft: the samples each candidate runs */
    int nsel[Q_MAX_CAND];
    float *mixw;          /* (max_batch, nslot) soft: mixing weights p (or p / P_i) */
    float *mass;          /* (max_batch) soft: P_i, the probability kept */
    unsigned char *kmask; /* (max_batch) soft: bit k set when candidate k runs */
    size_t kscratch;      /* floats of ctx->scratch the nn kernels use */
    size_t sc_dxq, sc_xt, sc_dz, sc_dw, sc_ds; /* offsets of the temporaries */
};

extern const nn_layer_ops q_layer_ops;

typedef struct {
    q_plan *plan;
    int row;              /* plan row, or -1 with pin_w/pin_a */
    int pin_w, pin_a;
    q_domain in_dom;      /* domain of the layer's input */
    const q_cfg *cfg;
} q_layer_spec;

/* 1 if nn layer l can be wrapped (conv2d, dense) */
int q_layer_supported(const nn_layer *l);
/* Replaces layer i of the (unfinalized) net by its quantized wrapper. */
int q_layer_wrap(nn_net *net, int i, const q_layer_spec *spec, q_layer **out, qa_err *err);

/* slot of width `bits` for weights (w = 1) or activations, -1 if none */
int q_layer_slot(const q_layer *q, int bits, int w);

/* the weights as quantizer rows: one row per tensor, or one per channel */
static inline q_rows q_layer_wrows(const q_layer *q, int slot)
{
    int per_ch = q->wq[slot].nch > 1;
    q_rows r = {per_ch ? q->w_row : q->w_n, NULL, per_ch ? (int)(q->w_n / q->w_row) : 1};
    return r;
}

/* y += b over the batch */
void q_layer_add_bias(const q_layer *q, const nn_ctx *c, float *y);

/* soft mode (qsoft.c) */
void q_layer_soft_forward(q_layer *q, const nn_ctx *c);
void q_layer_soft_backward(q_layer *q, const nn_ctx *c);
/* The mixed input xq_i = sum_k r_ik Q_k(x_i) over every slot, or with
 * skip_zero only over slots some sample of the batch gives r > 0 (soft_a
 * mode), and its backward from dxb = dL/dxq: dx (+)= sum_k r_ik
 * dQ_k(x_i)/dx dxb_i (dx NULL: skip) and the plan's gpa_ik = <dxb_i,
 * Q_k(x_i)>, 0 for skipped slots. */
void q_layer_mix_inputs(q_layer *q, const nn_ctx *c, int skip_zero);
void q_layer_mix_inputs_backward(q_layer *q, const nn_ctx *c, const float *dxb, float *dx,
                                 int skip_zero);

/* kernel tables (qkern.c) */
extern const q_kern q_kern_conv2d, q_kern_dense;

#endif
