/* objective.h: the cost part of DQMQ's hybrid objective (docs/METHODS.md,
 * section 5) and its gradient with respect to the plan's probabilities.
 *
 *   expected  C = lambda * mean_i E[BitOps_i] / ref
 *   budget    C = lambda * max(0, mean_i E[BitOps_i] / ref - target)
 *   target    C = lambda * |mean_i E[BitOps_i] / ref - target|
 * The budget only pushes down, so when the task loss alone already keeps
 * the mean below the target it never acts and methods land at different
 * costs; target pulls from both sides and holds every method compared at
 * the same mean cost (the task loss then decides only how it is spread).
 * ref = every quantized layer at 8 x 8 bits (q_cost_model.ref_int8), so
 * target 0.25 asks for a quarter of the uniform 8-bit BitOps. E[BitOps_i]
 * and dE/dp come from quant/cost.h (soft plan); the task part (mean
 * cross-entropy) reaches the plan through the backbone's backward.
 * argmax: a ceiling on the argmax plans' mean, the widths evaluation runs
 * (the soft plan's mean can sit on the target while its argmax plans, from
 * distributions straddling two widths, do not): while it is above the
 * target, the term is lambda * (argmax mean - target), pushing down; below
 * it, budget is silent and target holds the soft mean as above (an argmax
 * mean alone would swing a single plan between the widths either side of
 * the target, step after step). The gradient is always dE/dp, so the
 * argmax part is a straight-through estimate; for expected only the mean
 * reported changes.
 * Deliberately not here: the task loss, the update (the methods). */
#ifndef AGENT_OBJECTIVE_H
#define AGENT_OBJECTIVE_H

#include "quant/cost.h"
#include "quant/plan.h"

typedef enum { AGENT_COST_EXPECTED, AGENT_COST_BUDGET, AGENT_COST_TARGET } agent_cost_kind;

typedef struct {
    int kind;     /* agent_cost_kind */
    float lambda;
    float target; /* budget: mean BitOps / ref allowed without penalty; target: asked for */
    int argmax;   /* also cap the argmax plans' mean (see above) */
} agent_objective;

/* C for samples [0, n) of a soft plan; adds dC/dp into gw and ga (layout
 * (B, L, K) like plan->gpw/gpa; ga unused when tied). *mean_rel receives
 * the mean BitOps / ref, of the argmax plans with argmax (nullable). */
double agent_cost_term(const agent_objective *o, const q_cost_model *cm, const q_plan *plan,
                       int n, float *gw, float *ga, double *mean_rel);
/* One sample's share of the cost form, per sample rather than of the batch
 * mean (a score-function estimator's reward): rel = the sample's BitOps /
 * ref, mean_rel the batch's mean; expected: rel, budget: max(0, rel -
 * target), target: s (rel - target) with s the sign of mean_rel - target
 * (per sample |.| would pull every input to the target). Not multiplied by
 * lambda. */
double agent_cost_sample(const agent_objective *o, double rel, double mean_rel);

#endif
