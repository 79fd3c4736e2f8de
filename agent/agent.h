/* agent.h: the reinforcement-learning view every bit-width agent shares,
 * with the quantized backbone as the environment's model:
 *
 *   observation  per sample a feature vector: the quality features of an
 *                input, the oracle's one-hot corruption and severity / 5,
 *                or a constant (agent_observe); for a static search, one
 *                "sample" per episode. With it, the keys of the samples'
 *                random streams (dataset indices) and the round (epoch).
 *   action       a plan (quant/plan.h): per sample and planned layer a
 *                distribution over the candidate widths (soft), or the
 *                widths themselves (hard), written where the quantized
 *                layers read them.
 *   reward       R_i = -(task loss_i + cost term_i). The backbone returns
 *                the task part (agent_feedback: each sample's loss and,
 *                after a soft action, dL/dp through the backbone: the
 *                model-based gradient); the agent adds the configured cost
 *                term itself, known in closed form from the plan and the
 *                cost model (objective.h).
 *
 * An agent is a struct beginning with `agent` (its ops table and the
 * parameter sets it trains), made by its own create function:
 *   act    observation -> action, in one of three modes:
 *          AGENT_ACT_TRAIN   its training action (its distribution, or
 *                            widths drawn from it, as its estimator needs)
 *          AGENT_ACT_EXPLORE random widths, not the policy's (warm-up);
 *                            the agent still sees the observation
 *          AGENT_ACT_GREEDY  the most probable widths (evaluation)
 *   learn  the feedback on the last action -> gradients in its parameter
 *          sets (zeroed first); returns a mask of the sets that got
 *          gradients (bit i: sets[i]), which the caller steps with their
 *          optimizers (AdamW at the set's lr and weight decay), and adds
 *          the cost term and critic error to its epoch sums.
 * DQMQ's policy with its three estimators (analytic, critic, reinforce) is
 * agent_dqmq (dqmq.h); docs/DESIGN.md says how another agent plugs in.
 * Deliberately not here: running the backbone, optimizer steps and their
 * schedule (the methods), where observations come from (env/). */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdint.h>

#include "nn/param.h"
#include "quant/plan.h"

#define AGENT_MAX_SETS 4

typedef struct {
    int n, nobs;
    const float *x;  /* (n, nobs) */
    const int *key;  /* (n) stable per-sample keys of the random streams */
    uint64_t seed;   /* the run's */
    uint32_t round;  /* epoch (or episode) */
} agent_obs;

typedef enum { AGENT_ACT_TRAIN, AGENT_ACT_EXPLORE, AGENT_ACT_GREEDY } agent_act_mode;

typedef struct {
    int n;
    const float *loss; /* (n) task loss of each sample under the action */
    float *gw, *ga;    /* (n, L, K) dL/dp through the backbone after a soft action (the
                          plan's gpw/gpa; the agent may add to them), else NULL */
} agent_feedback;

/* Sums over learn calls, the caller's to reset. */
typedef struct {
    double cost; /* cost terms */
    double mse;  /* critic errors */
    long mse_n;  /* critic fits */
} agent_stats;

typedef struct {
    char name[32];     /* the parameter set's name in checkpoints ("policy", "critic") */
    nn_params *params;
    float lr, weight_decay;
} agent_set;

typedef struct agent agent;

typedef struct {
    const char *name;
    void (*act)(agent *a, const agent_obs *o, agent_act_mode mode, q_plan *plan);
    unsigned (*learn)(agent *a, const agent_obs *o, q_plan *plan, const agent_feedback *f,
                      agent_stats *st);
    void (*free)(agent *a);
} agent_ops;

struct agent {
    const agent_ops *ops;
    agent_set sets[AGENT_MAX_SETS];
    int nsets;
};

static inline void agent_act(agent *a, const agent_obs *o, agent_act_mode mode, q_plan *plan)
{
    a->ops->act(a, o, mode, plan);
}

static inline unsigned agent_learn(agent *a, const agent_obs *o, q_plan *plan,
                                   const agent_feedback *f, agent_stats *st)
{
    return a->ops->learn(a, o, plan, f, st);
}

static inline void agent_free(agent *a)
{
    if (a)
        a->ops->free(a);
}

/* What the policy sees (agent_obs_kind, acfg.h): the observation's width
 * for a batch with nfeat features per sample, and the observation of n
 * samples into x (n, nobs): the features, the oracle's one-hot of
 * corruption + 1 (0 clean) and severity / 5, or 1. */
int agent_obs_size(int kind, int nfeat);
void agent_observe(int kind, const int *corruption, const int *severity, const float *features,
                   int nfeat, int n, float *x, int nobs);

#endif
