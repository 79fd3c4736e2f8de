/* dqmq.h: DQMQ's agent (docs/METHODS.md, section 5) behind the agent interface
 * (agent.h): the policy (policy.h) over the observation, and the estimator
 * of its gradient chosen by dqmq.optimizer:
 *
 *   analytic  TRAIN acts soft (the distribution; with `hard`, the policy's
 *             straight-through draw); learn adds the cost term's dC/dp to
 *             the backbone's dL/dp and backpropagates both into the policy
 *             (the model-based gradient through the relaxed backbone).
 *   critic    TRAIN takes the cost term's gradient at the soft plan, then
 *             draws hard widths; learn adds the critic's plan gradient
 *             (critic.h: dR_phi/dp at the soft p, agent_critic_merge),
 *             backpropagates, and fits the critic on (observation, drawn
 *             widths, per-sample loss).
 *   reinforce TRAIN draws hard widths; learn rewards each sample with its
 *             loss and its own cost (objective.h agent_cost_sample) and
 *             takes the score-function gradient (reinforce.h).
 * EXPLORE acts with random widths (uniform, or near the policy's initial
 * location with warmup_sigma) after the policy has seen the observation
 * (its feature statistics; the critic's inputs), and learn then only fits
 * the critic; GREEDY acts with the argmax widths and learns nothing.
 * Parameter sets: "policy" (dqmq.lr, weight_decay), "critic"
 * (dqmq.critic_lr) with the critic estimator.
 * Deliberately not here: phases, annealing sigma_max/tau and the schedule
 * of the updates (the method), the backbone. */
#ifndef AGENT_DQMQ_H
#define AGENT_DQMQ_H

#include "agent/acfg.h"
#include "agent/agent.h"
#include "agent/critic.h"
#include "agent/objective.h"
#include "agent/policy.h"
#include "agent/reinforce.h"
#include "quant/cost.h"

typedef struct {
    agent base;
    agent_cfg cfg;          /* [agent] */
    agent_train_cfg train;  /* [dqmq] */
    agent_objective obj;
    const q_cost_model *cm;
    agent_policy *pol;
    agent_critic *cr;    /* estimator critic */
    agent_reinforce rf;  /* estimator reinforce: the baseline */
    int S, L, K;
    agent_act_mode last; /* of the last act */
    double act_cost;     /* critic: the cost term of the last training action */
    float *gw, *ga;      /* (B, L, K) the policy's gradient in the hard modes */
    float *gp, *onehot;  /* (B, S L K) the critic's plan gradient; the widths taken */
    float *R;            /* (B) rewards */
    double *bitops;      /* (B) per-sample BitOps of a hard action */
} agent_dqmq;

/* For the plan (layers, candidates, tying) and cost model cm (both must
 * outlive it), observations of nobs values, batches up to max_batch; the
 * weights from seed. */
int agent_dqmq_create(agent_dqmq **out, const agent_cfg *cfg, const agent_train_cfg *train,
                      const q_plan *plan, const q_cost_model *cm, int nobs, int max_batch,
                      uint64_t seed, qa_err *err);

#endif
