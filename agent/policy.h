/* policy.h: the bit-width policy, quality features -> per planned layer a
 * distribution over the candidate widths, written into a q_plan.
 *
 *   x_hat = (x - mean) / sqrt(var + 1e-4)        running feature statistics
 *   raw   = MLP(x_hat)                           in -> hidden -> hidden -> out
 *   dqmq:   raw = (a, b) per (side, layer):  mu = head(a), sigma = head(b),
 *           p = agent_dqmq_forward(c, mu, sigma)               out = 2 S L
 *           hard: onehot(k) in the plan, k drawn from p by Gumbel-max with
 *           the noise (the argmax of p without), p kept for backward
 *   gumbel: raw = K logits per (side, layer): p = softmax((l + G) / tau),
 *           hard: onehot(argmax p) in the plan, p kept for backward  out = K S L
 * S = 1 when the plan is tied (one distribution drives weights and
 * activations), else 2 (side 0 weights, side 1 activations). The raw
 * output of sample i, side s, layer l starts at ((s L + l) P) with P = 2
 * or K. sigma_max and tau are fields a method anneals between steps.
 * Parameters ("policy.w1" ... and the buffers "policy.feat_mean/var") live
 * in the policy's own nn_params, trained by its own optimizer.
 * Deliberately not here: where features come from, the loss, the update
 * rule (the methods), the critic (critic.h). */
#ifndef AGENT_POLICY_H
#define AGENT_POLICY_H

#include <stdint.h>

#include "agent/mlp.h"
#include "nn/param.h"
#include "nn/status.h"
#include "quant/plan.h"

typedef enum { AGENT_HEAD_DQMQ, AGENT_HEAD_GUMBEL } agent_head;

typedef struct {
    int nin;          /* features per sample (>= 1) */
    int hidden;       /* units of both hidden layers */
    int nlayers;      /* planned layers */
    int cand[Q_MAX_CAND];
    int ncand;
    int tied;
    int head;         /* agent_head */
    int hard;         /* straight-through one-hot in the plan */
    float sigma_min, sigma_max; /* dqmq spread range (sigma_max is annealed) */
    float mu_init;    /* dqmq: initial location in bits, 0 = middle of the range */
    float tau;        /* gumbel temperature (annealed) */
    int max_batch;
} agent_policy_cfg;

typedef struct {
    agent_policy_cfg cfg;
    int nside, P, nout;
    nn_params params;
    agent_mlp mlp;
    int v_mean, v_var, v_seen; /* feature statistics (buffers) */
    float sigma_max, tau;      /* current values, start at the cfg's */
    float *xn;    /* (B, nin) normalised features */
    float *raw;   /* (B, nout) */
    float *draw;  /* (B, nout) */
    float *prob;  /* (B, S, L, K) the relaxed distribution (soft y) */
    float *noise; /* (B, S, L, K) gumbel noise of the current batch */
    float *mu, *sigma, *dmu, *dsig; /* (B, S, L) dqmq and its head derivatives */
} agent_policy;

int agent_policy_create(agent_policy **out, const agent_policy_cfg *cfg, uint64_t seed,
                        qa_err *err);
void agent_policy_free(agent_policy *pol);

/* Training: update the running feature statistics with x (n, nin): the
 * first call sets them from the batch, later ones move by 1% per call. */
void agent_policy_observe(agent_policy *pol, const float *x, int n);
/* Fills pol->noise (Gumbel draws, for the gumbel head or a hard dqmq one)
 * of samples [0, n) from (seed, AGENT_STREAM_GUMBEL,
 * key[i], epoch). */
void agent_policy_draw_noise(agent_policy *pol, uint64_t seed, const int *key, int n,
                             uint32_t epoch);
/* Forward on x (n, nin) into the plan's soft rows; noise: use pol->noise
 * (gumbel, or hard dqmq). Leaves plan->mode = Q_PLAN_SOFT. */
void agent_policy_forward(agent_policy *pol, const float *x, int n, int noise, q_plan *plan);
/* Accumulates into pol->params.g the gradient of gw, ga = dL/dp, laid out
 * (B, L, K) like the plan's gpw / gpa (ga unused when tied). */
void agent_policy_backward(agent_policy *pol, const float *gw, const float *ga, int n);

/* relaxed distribution of sample i, side s, layer l (K floats) */
static inline float *agent_policy_prob(const agent_policy *pol, int i, int s, int l)
{
    const agent_policy_cfg *c = &pol->cfg;
    return pol->prob + (((size_t)i * pol->nside + (size_t)s) * (size_t)c->nlayers + (size_t)l) *
                           (size_t)c->ncand;
}

/* dqmq: the initial location in bits (mu_init, or the middle of the
 * candidate range when it is 0) */
float agent_policy_mu0(const agent_policy_cfg *c);

/* Multiply-accumulates per sample (MLP and heads). */
int64_t agent_policy_macs(const agent_policy *pol);

#endif
