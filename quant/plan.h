/* plan.h: the per-sample bit plan of a batch, the only thing quantized
 * layers read to decide precision (docs/METHODS.md, section 3).
 *
 * A plan covers the net's "planned" layers (every quantized conv/dense whose
 * width is not pinned by quant.first_bits/last_bits), numbered 0..nlayers-1
 * in forward order, and the ordered candidate widths cand[0] < ... <
 * cand[ncand-1]. Per batch it is in one of two modes:
 *   hard  sample i uses wbits[i][l] / abits[i][l] (each one of cand[]) in
 *         layer l. Fixed precision and static per-layer mixed precision are
 *         constant hard plans.
 *   soft  sample i mixes the candidates of layer l with probabilities
 *         pw[i][l][k] (weights) and pa[i][l][k] (activations); backward
 *         writes dL/dp into gpw/gpa.
 *   soft_a (untied plans only) weights hard, activations soft: sample i
 *         runs layer l's weights at wbits[i][l] on the mixed input
 *         sum_k pa[i][l][k] Q_k(x_i), one convolution per weight width;
 *         backward writes dL/dpa into gpa (gpw is not written). A
 *         candidate whose pa is 0 for every sample of the batch is skipped
 *         and its gpa is 0 (through a softmax it would get no gradient
 *         anyway): the mixture a search over activation widths runs.
 * tied (set at creation): one width / one distribution per layer drives
 * both weights and activations: abits aliases wbits, pa aliases pw and gpa
 * aliases gpw (so soft tied mode costs K convolutions and mixes
 * sum_k p_k conv(Q_k(W), Q_k(x))). Untied soft mode mixes
 * sum_j p_j conv(Q_j(W), sum_k r_k Q_k(x)) (bilinear, also K convolutions).
 *
 * Memory layout: everything is allocated once, for max_batch samples, and is
 * sample-major, so sample i's whole decision is one contiguous row (what a
 * policy emits and what the run file logs):
 *   wbits, abits  uint8 (max_batch, nlayers)         [i * nlayers + l]
 *   pw, pa        float (max_batch, nlayers, ncand)  [(i * nlayers + l) * ncand + k]
 *   gpw, gpa      float, same shape as pw/pa
 * Layers overwrite the gradient rows of the batch's samples in backward (no
 * zeroing needed); rows of samples >= n are left alone.
 *
 * Deliberately not here: where probabilities come from (agent/), their
 * cost (cost.h), and anything about layers. */
#ifndef Q_PLAN_H
#define Q_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"
#include "quant/qcfg.h"

typedef enum { Q_PLAN_HARD, Q_PLAN_SOFT, Q_PLAN_SOFT_A } q_plan_mode;

typedef struct {
    int max_batch, nlayers;
    int cand[Q_MAX_CAND];
    int ncand;
    int tied;
    int mode;        /* q_plan_mode of the current batch */
    uint8_t *wbits;  /* (max_batch, nlayers) */
    uint8_t *abits;  /* == wbits when tied */
    float *pw;       /* (max_batch, nlayers, ncand) */
    float *pa;       /* == pw when tied */
    float *gpw;      /* dL/dpw, written by the layers' backward */
    float *gpa;      /* == gpw when tied */
} q_plan;

int q_plan_create(q_plan **out, int max_batch, int nlayers, const int *cand, int ncand, int tied,
                  qa_err *err);
void q_plan_free(q_plan *p);

/* index of width `bits` in cand, or -1 */
int q_plan_cand_index(const q_plan *p, int bits);

static inline uint8_t *q_plan_wbits(const q_plan *p, int i)
{
    return p->wbits + (size_t)i * (size_t)p->nlayers;
}
static inline uint8_t *q_plan_abits(const q_plan *p, int i)
{
    return p->abits + (size_t)i * (size_t)p->nlayers;
}
/* probabilities of sample i, layer l: ncand floats */
static inline float *q_plan_pw(const q_plan *p, int i, int l)
{
    return p->pw + ((size_t)i * (size_t)p->nlayers + (size_t)l) * (size_t)p->ncand;
}
static inline float *q_plan_pa(const q_plan *p, int i, int l)
{
    return p->pa + ((size_t)i * (size_t)p->nlayers + (size_t)l) * (size_t)p->ncand;
}
static inline float *q_plan_gpw(const q_plan *p, int i, int l)
{
    return p->gpw + ((size_t)i * (size_t)p->nlayers + (size_t)l) * (size_t)p->ncand;
}
static inline float *q_plan_gpa(const q_plan *p, int i, int l)
{
    return p->gpa + ((size_t)i * (size_t)p->nlayers + (size_t)l) * (size_t)p->ncand;
}

/* Constant hard plan for samples [0, n): per-layer widths (NULL: the
 * uniform wb/ab). Fails naming the layer if a width is not a candidate or
 * a tied plan is given w != a. */
int q_plan_set_hard(q_plan *p, int n, int wb, int ab, const int *layer_w, const int *layer_a,
                    qa_err *err);
/* Index of the largest of ncand probabilities (the first on ties). */
int q_plan_argmax(const float *prob, int ncand);
/* Hard plan = q_plan_argmax of the soft probabilities. */
void q_plan_harden(q_plan *p, int n);
/* Soft plan putting probability 1 on each sample's chosen widths. */
void q_plan_onehot(q_plan *p, int n);
/* Mean width per planned layer over samples [0, n) (hard: chosen; soft:
 * expected; soft_a: weights chosen, activations expected), weights into mw
 * and activations into ma (nlayers each). */
void q_plan_mean_bits(const q_plan *p, int n, float *mw, float *ma);

#endif
