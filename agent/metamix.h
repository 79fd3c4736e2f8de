/* metamix.h: MetaMix's bit selection (Kim et al., AAAI 2024; docs/METHODS.md,
 * "MetaMix"): static per-layer architecture parameters over candidate
 * activation widths, their mixture plan and gradient, the BitOps penalty,
 * the candidate plans of the meta-state weight step, and the widths the
 * search hands to weight training, held at the target.
 *
 * Per planned layer l (and side s: activations, and weights when they are
 * searched too) logits alpha_sl (K) and r_sl = softmax(alpha_sl) over the
 * candidates c_1 < ... < c_K, the same for every input:
 *   mixture plan  activations mix sum_k r_lk Q_ck(x); weights at the search
 *                 width (soft_a plan, quant/plan.h), or searched: mixed too
 *                 (untied soft plan)
 *   dL/dalpha_lj = r_lj (g_lj - sum_k r_lk g_lk),  g_lk = sum_i dL/dr_ilk
 *                 (the backbone's per-sample gradients, quant/qlayer.h)
 *   penalty       C = lambda |E[BitOps] / BitOps_8bit - target|
 *                 (or a one-sided budget), with weights at their phase-2
 *                 width w_bits (searched: their mixture), pinned layers at
 *                 their widths: E[BitOps] = sum_l MACs_l w_l sum_k r_lk c_k
 *                 + pinned; dC/dr_lk = lambda s MACs_l w_l c_k / BitOps_8bit,
 *                 s the sign of (m - target); with cost_argmax the argmax
 *                 plan's m decides the side while it is above the target
 *                 (agent/objective.h)
 *   candidate k   every planned layer's activations at c_k (and weights at
 *                 the search width, or at c_k when searched): the plans
 *                 whose mean loss is the meta-state weight step's
 *                 (quant/qmeta.h)
 *   held widths   the argmax widths with weights at w_bits; while their
 *                 BitOps exceed the target, one layer's width goes one
 *                 candidate down: the layer losing the least log-probability
 *                 per BitOps saved, log r_lk - log r_l,k-1 over
 *                 MACs_l w_l (c_k - c_k-1) (ties: the earlier layer). What
 *                 evaluation and weight training run.
 * Through agent.h: act TRAIN (and EXPLORE) writes the mixture plan, GREEDY
 * the held widths, hard; learn turns the feedback's dL/dr into the logits'
 * gradient plus the penalty's (set 0, "arch").
 * Deliberately not here: running the backbone, the optimizers, the phases
 * (the method), the run file. */
#ifndef AGENT_METAMIX_H
#define AGENT_METAMIX_H

#include "agent/agent.h"
#include "agent/objective.h"
#include "quant/cost.h"

typedef enum { AGENT_MM_STEP_MEAN, AGENT_MM_STEP_MIXTURE } agent_mm_step;
typedef enum { AGENT_MM_OPT_ADAM, AGENT_MM_OPT_SGD } agent_mm_opt;

/* [metamix] */
typedef struct {
    int cand[Q_MAX_CAND], ncand; /* activation widths searched, ascending */
    int search_w_bits;  /* weights during the search (32 = full precision) */
    int w_bits;         /* weights in weight training (phase 2) */
    int search_weights; /* search the weights' widths over cand too */
    int weight_step;    /* agent_mm_step: MetaMix's mean, or the ablation's mixture */
    int arch_optimizer; /* agent_mm_opt */
    float arch_lr, arch_momentum, arch_weight_decay;
    int cost;           /* agent_cost_kind: budget or target */
    float lambda, target;
    int cost_argmax;    /* the argmax plan's BitOps decide the penalty's side above the target */
    int hold;           /* lower the argmax widths into the target (above) */
    int warmup;         /* epochs of weight steps only, before the search */
    int finetune;       /* epochs of weight training at the held widths */
    int probe;          /* images of the instability probe, 0 = none */
} agent_mm_cfg;

int agent_mm_cfg_check(const agent_mm_cfg *c, qa_err *err);
/* The plan's candidates a run needs: cand, search_w_bits and w_bits,
 * ascending and distinct, into out; returns their count. */
int agent_mm_plan_widths(const agent_mm_cfg *c, int *out);

typedef struct {
    agent base;            /* sets[0]: "arch" */
    agent_mm_cfg cfg;
    const q_cost_model *cm;
    int L, K, S;           /* planned layers, candidates, sides searched (1 or 2) */
    int Kp;                /* the plan's candidates */
    int slot[Q_MAX_CAND];  /* plan candidate of candidate k */
    int final;             /* weights at w_bits (weight training), else at the search width */
    nn_params params;      /* "alpha_a" (L, K), with search_weights "alpha_w" (L, K) */
    float *prob;           /* (S, L, K) softmax of the logits; side 0 activations */
    float *grad;           /* (S, L, K) dL/dr of the last learn */
    q_plan *cplan;         /* one sample: the penalty's soft plan */
    agent_objective obj;
} agent_metamix;

/* For the planned layers and candidates of plan (untied, its candidates
 * agent_mm_plan_widths of cfg) and cost model cm (both outlive the agent). */
int agent_metamix_create(agent_metamix **out, const agent_mm_cfg *cfg, const q_plan *plan,
                         const q_cost_model *cm, qa_err *err);
/* r = softmax(alpha) into ag->prob (learn and act do it themselves). */
void agent_metamix_probs(agent_metamix *ag);
/* Candidate plan k, hard, for samples [0, n): activations at c_k, weights
 * at c_k when searched, else at w_bits with ag->final, the search width
 * without. */
void agent_metamix_candidate(agent_metamix *ag, int k, int n, q_plan *plan);

typedef struct {
    double argmax_rel; /* BitOps over BitOps_8bit of the argmax widths */
    double held_rel;   /* ... of the held ones (the argmax ones with hold off) */
    int moves;         /* candidate steps the hold took */
} agent_mm_hold;

/* The widths a greedy act runs (held, weights at w_bits with ag->final or
 * searched, else at the search width) into w and a (L each); the BitOps
 * in *h (nullable) are those with weights at w_bits. */
void agent_metamix_widths(agent_metamix *ag, int *w, int *a, agent_mm_hold *h);
/* The penalty at the current probabilities; adds dC/dr into grad ((S, L,
 * K), nullable); *soft_rel and *argmax_rel (nullable) the mixture's and
 * the argmax plan's BitOps over BitOps_8bit (weights at w_bits). */
double agent_metamix_penalty(agent_metamix *ag, float *grad, double *soft_rel,
                             double *argmax_rel);

#endif
