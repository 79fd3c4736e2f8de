/* haq.h: the rules of the HAQ-style search (docs/METHODS.md section 6) over the
 * planned layers of a cost model: the state of each step, the width an
 * action means, and the budget a finished plan is lowered into.
 *
 * An episode walks the planned layers in forward order: one step per layer
 * when weights and activations are tied, else two (weights, then
 * activations). The state of a step, AGENT_HAQ_DIM features:
 *   0 index  1 cin  2 cout  3 stride  4 kernel  5 weights  6 feature size
 *   (input H W)  7 depthwise (groups == cin > 1)  8 side (1: weights, or
 *   tied; 0: activations)  9 previous action (1 at the first step, as HAQ)
 * 0-7 are min-max normalised over the planned layers, (x - min) / (max -
 * min), and 0 for a feature all layers share; 8 and 9 are in [0, 1].
 * Width of an action a in [0, 1] over the candidates c_0 < ... < c_{K-1}:
 *   k = clamp(round(a K - 0.5), 0, K - 1)      width c_k
 * On the contiguous widths b_min..b_max this is HAQ's
 * round(b_min - 0.5 + a (b_max - b_min + 1)) clamped to [b_min, b_max]:
 * every width gets an equal share of [0, 1].
 * Budget: the plan's BitOps (or weight bytes), pinned layers included,
 * over those of every layer at 8 x 8 bits (q_cost_model.ref_int8; for
 * bytes, bytes_fp32 / 4) must be <= budget. A plan over it is lowered as
 * HAQ does: sweeps from the last planned layer to the first, each layer's
 * activation width and then its weight width one candidate down (tied: the
 * one width), until the plan fits. A plan that fits is not touched.
 * The search's settings ([search], agent_haq_cfg) are here too: the
 * agent and its hyperparameters, the episodes, the budget, the reward's
 * scale. Deliberately not here: the agents (search.h), the fine-tune,
 * files. */
#ifndef AGENT_HAQ_H
#define AGENT_HAQ_H

#include "agent/search.h"
#include "nn/status.h"
#include "quant/cost.h"
#include "quant/qcfg.h"

enum { AGENT_HAQ_DIM = 10, AGENT_HAQ_STATIC = 8 };

typedef enum { AGENT_BUDGET_BITOPS, AGENT_BUDGET_BYTES } agent_budget_kind;

typedef struct {
    int nlayers, tied, nsteps;
    int cand[Q_MAX_CAND];
    int ncand;
    float feat[Q_MAX_LAYERS][AGENT_HAQ_STATIC]; /* normalised features 0-7 */
} agent_haq;

/* A static plan: the widths of each planned layer (a == w when tied). */
typedef struct {
    int n, tied;
    int w[Q_MAX_LAYERS], a[Q_MAX_LAYERS];
} agent_haq_plan;

/* [search]: the reward of an episode is reward_scale (acc_q - acc_ref),
 * validation accuracies in percent (HAQ: 0.1, top-1 in percent), after
 * the plan was fitted into budget (of kind cost). */
typedef struct {
    int episodes;       /* in all; a resumed search may raise it */
    int cost;           /* agent_budget_kind */
    double budget;      /* of the plan over every layer at 8 x 8 bits */
    double reward_scale;
    char pretrained[512];   /* the run every fine-tune starts from (its file's path) */
    agent_search_cfg agent; /* kind and hyperparameters; dim, max_steps and nbins are
                               the search's (agent_haq_agent_cfg) */
} agent_haq_cfg;

/* Consistency of c (the agent's hyperparameters as agent_search_cfg_check
 * sees them, with one step of AGENT_HAQ_DIM features). */
int agent_haq_cfg_check(const agent_haq_cfg *c, qa_err *err);
/* The agent's configuration for the steps of h: c's, with dim
 * AGENT_HAQ_DIM, max_steps h->nsteps and nbins (REINFORCE's actions) the
 * candidates' count when c leaves it 0. */
void agent_haq_agent_cfg(const agent_haq_cfg *c, const agent_haq *h, agent_search_cfg *out);

/* The steps over cm's planned layers (1 <= nplanned <= Q_MAX_LAYERS) with
 * the candidates cand (ascending, 1 <= ncand <= Q_MAX_CAND). */
int agent_haq_init(agent_haq *h, const q_cost_model *cm, const int *cand, int ncand, int tied,
                   qa_err *err);
/* planned layer and side (0 weights, 1 activations) of step t */
static inline int agent_haq_layer(const agent_haq *h, int t)
{
    return h->tied ? t : t / 2;
}
static inline int agent_haq_side(const agent_haq *h, int t)
{
    return h->tied ? 0 : t % 2;
}
/* state (AGENT_HAQ_DIM) of step t after the previous step's action prev */
void agent_haq_state(const agent_haq *h, int t, float prev, float *state);
/* the width action a means over cand (above) */
int agent_haq_width(const int *cand, int ncand, float a);
/* step t's action a into p (its layer's weight or activation width, both
 * when tied); p->n and p->tied are set from h */
void agent_haq_apply(const agent_haq *h, int t, float a, agent_haq_plan *p);
/* p's BitOps or weight bytes over every layer's at 8 bits */
double agent_haq_cost(const q_cost_model *cm, int kind, const agent_haq_plan *p);
/* Lowers p until agent_haq_cost <= budget (above); fails, leaving p as it
 * was, when even every planned layer at cand[0] is over the budget. */
int agent_haq_fit(const agent_haq *h, const q_cost_model *cm, int kind, double budget,
                  agent_haq_plan *p, qa_err *err);

#endif
