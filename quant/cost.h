/* cost.h: the cost model of docs/METHODS.md, on the list of quantized layers.
 *
 * For a layer with MACs (per sample) and P weights at widths b_w, b_a:
 *   BitOps = MACs * b_w * b_a          weight bytes = P * b_w / 8
 * Soft plans (probabilities p over weight widths c_k, r over activation
 * widths): E[BitOps] = MACs * (sum p_k c_k)(sum r_k c_k) when independent,
 * MACs * sum p_k c_k^2 when tied; E[bytes] = P * sum p_k c_k / 8. Their
 * gradients with respect to p and r are what a policy descends.
 * References: every layer at 32 x 32 bits (fp32) and at 8 x 8 bits; costs
 * are reported as fractions of both. Biases, batchnorm and pooling are not
 * counted: they are not multiplied at the chosen widths.
 *
 * Deliberately not here: measuring time or memory, and the layers. */
#ifndef Q_COST_H
#define Q_COST_H

#include <stdint.h>
#include <stdio.h>

#include "nn/status.h"
#include "quant/plan.h"
#include "quant/qcfg.h"

typedef struct {
    char name[32];
    char type[16];    /* "conv2d", "dense", ... as nn names it */
    int64_t macs;     /* per sample */
    int64_t params;   /* weights, biases excluded */
    int plan_layer;   /* row in the plan, -1 when pinned */
    int wbits, abits; /* the pinned widths (plan_layer < 0) */
    /* the shape, for a layer's description (the HAQ search's state) */
    int cin, cout;      /* input / output channels (dense: features) */
    int kernel, stride; /* conv: KH and SH; dense: 1 and 0 */
    int groups;         /* conv groups (depthwise: groups == cin > 1); dense 1 */
    int in_hw;          /* input positions per channel, H W (dense 1) */
} q_cost_layer;

typedef struct {
    q_cost_layer *layers; /* (n) in forward order */
    int n;
    int nplanned;
    double ref_fp32;      /* BitOps per sample, all layers at 32 x 32 */
    double ref_int8;      /* all layers at 8 x 8 */
    double bytes_fp32;    /* weight bytes at 32 bits */
} q_cost_model;

typedef struct {
    double bitops; /* per sample */
    double bytes;  /* weight bytes */
} q_cost;

/* Copies layers; fails if plan rows are not 0..nplanned-1 in order. */
int q_cost_model_init(q_cost_model *cm, const q_cost_layer *layers, int n, qa_err *err);
void q_cost_model_free(q_cost_model *cm);

/* Cost of sample i under the plan's current mode. In soft mode, gw/ga (each
 * nlayers * ncand, NULL to skip) receive d E[BitOps] / d p for the sample's
 * row (ga unused when the plan is tied: everything goes into gw); soft_a
 * takes the hard weight widths, E[BitOps_l] = MACs_l b_w E_r[c], and
 * writes zeros into gw. */
q_cost q_cost_sample(const q_cost_model *cm, const q_plan *p, int i, float *gw, float *ga);
/* Cost of sample i at the argmax widths of its soft rows (what
 * q_plan_harden would leave), whatever the plan's mode. */
q_cost q_cost_argmax(const q_cost_model *cm, const q_plan *p, int i);
/* Every layer at the given widths (the references use this too). */
q_cost q_cost_uniform(const q_cost_model *cm, int wbits, int abits);
/* Planned layers at the given widths, pinned layers at theirs. */
q_cost q_cost_fixed(const q_cost_model *cm, int wbits, int abits);
/* Planned layer (row) l at wbits[l] x abits[l], pinned layers at theirs:
 * a static per-layer plan without a q_plan. */
q_cost q_cost_layers(const q_cost_model *cm, const int *wbits, const int *abits);

/* A penalty on the cost of a static per-layer plan (as q_cost_layers),
 * toward a target fraction r* of the cost with every layer at 8 bits
 * (BitOps: 8 x 8, bytes: 8-bit weights):
 *   hinge     P = lambda max(0, r - r*)      absolute  P = lambda |r - r*|
 * with r = cost / that reference. At the kink (r = r*) the derivative is 0.
 * dP/db of one side of one planned layer is exact for a one-bit move of
 * that side alone (the cost is linear in each side's width). */
typedef enum { Q_COST_BITOPS, Q_COST_BYTES } q_cost_kind;
typedef enum { Q_PENALTY_HINGE, Q_PENALTY_ABS } q_penalty_form;

typedef struct {
    int kind;     /* q_cost_kind */
    int form;     /* q_penalty_form */
    float lambda;
    float target; /* r* */
} q_penalty;

/* r of a fixed-precision plan: every planned layer at bits x bits, pinned
 * layers at theirs (the budget of method fixed at W<bits>A<bits>). */
double q_cost_fixed_ratio(const q_cost_model *cm, int kind, int bits);

/* P at the planned widths (nplanned each); *ratio (nullable) = r; dP/db_w
 * and dP/db_a of every planned layer into gw and ga (nplanned each,
 * nullable). */
double q_cost_penalty(const q_cost_model *cm, const int *wbits, const int *abits,
                      const q_penalty *pen, double *ratio, double *gw, double *ga);

/* The per-layer table of `qadapt info --model`: MACs, weights and BitOps at
 * the reference widths, plus totals normalised to fp32 and 8 bits. */
void q_cost_print(const q_cost_model *cm, FILE *f);

/* Builds model `arch` for (c, h, w) inputs, wraps it with cfg and prints
 * its table to f (cost_info.c), or keeps its cost model in cm (freed with
 * q_cost_model_free). */
int q_cost_info(FILE *f, const char *arch, int c, int h, int w, int nclass, const q_cfg *cfg,
                qa_err *err);
int q_cost_model_build(q_cost_model *cm, const char *arch, int c, int h, int w, int nclass,
                       const q_cfg *cfg, qa_err *err);

#endif
