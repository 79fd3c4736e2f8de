/* reinforce.h: the score-function (REINFORCE) estimator of DQMQ's policy
 * gradient (docs/METHODS.md, section 5, the
 * `reinforce` estimator), with a
 * moving-average baseline.
 *
 * Each sample i took widths k_i drawn from its distributions p_i (the
 * one-hot rows of action.h) and got the reward
 *   R_i = -(loss_i + lambda * c_i),   c_i = agent_cost_sample(bitops_i / ref)
 * The surrogate L = -(1/n) sum_i (R_i - b) sum_{s,l} log p_{i,s,l}(k) has
 *   dL/dp_{i,s,l,k} = -(R_i - b) / (n p_{i,s,l,k})  at the drawn k, 0 elsewhere
 * (p floored at 1e-6), whose expectation over the draws is the gradient of
 * -E[R] (b does not bias it; it lowers the variance). The baseline starts
 * at the first batch's mean reward and then moves as
 *   b <- m b + (1 - m) mean_i R_i   after each batch's gradient.
 * Deliberately not here: drawing the widths (action.h), the backward into
 * the policy (policy.h). */
#ifndef AGENT_REINFORCE_H
#define AGENT_REINFORCE_H

#include "agent/objective.h"

typedef struct {
    double baseline;
    int have_baseline; /* 0 until the first batch */
    float momentum;    /* m */
} agent_reinforce;

/* R (n) of the samples; adds lambda c_i / n to *cost sample by sample;
 * returns sum_i R_i. ref: the cost model's uniform-8-bit BitOps. */
double agent_reinforce_reward(const agent_objective *o, const double *bitops, double ref,
                              const float *loss, int n, float *R, double *cost);
/* gw, ga (n, L, K each; ga unused when S = 1) = dL/dp above at baseline b,
 * from prob and onehot (n, S, L, K). */
void agent_reinforce_grad(double b, const float *prob, const float *onehot, const float *R, int n,
                          int S, int L, int K, float *gw, float *ga);
/* One batch: rewards, the baseline's first value, the gradient, the
 * baseline's update; returns the gradients like agent_reinforce_grad. */
void agent_reinforce_step(agent_reinforce *rf, const agent_objective *o, const double *bitops,
                          double ref, const float *loss, const float *prob, const float *onehot,
                          int n, int S, int L, int K, float *R, float *gw, float *ga,
                          double *cost);

#endif
