/* critic.h: the learned model of the reward (docs/METHODS.md, section 5,
 * the `critic` estimator): R_phi(o, p) predicts a sample's task loss from its
 * normalised observation o and a plan p (per side and planned layer a
 * distribution over the K widths; one-hot for a sampled hard plan).
 *
 *   input = [o (F), p (S L K)]      R_phi = MLP(input) (F + S L K -> H -> H -> 1)
 *   fit:  L_phi = mean_i (R_phi(o_i, onehot(a_i)) - loss_i)^2 on observed tuples
 *   grad: dR/dp of mean_i R_phi(o_i, p_i), the policy's model-based gradient
 *
 * The cost needs no model: it is known in closed form (quant/cost.h).
 * Parameters "critic.w1" ... in the critic's own nn_params.
 * Deliberately not here: collecting tuples and the optimizer (the method). */
#ifndef AGENT_CRITIC_H
#define AGENT_CRITIC_H

#include <stdint.h>

#include "agent/mlp.h"
#include "nn/param.h"
#include "nn/status.h"

typedef struct {
    int nin, nplan; /* F, S L K */
    nn_params params;
    agent_mlp mlp;
    float *in;   /* (B, F + S L K) */
    float *pred; /* (B) */
    float *dy;   /* (B) */
    float *din;  /* (B, F + S L K) */
} agent_critic;

int agent_critic_create(agent_critic **out, int nin, int nplan, int hidden, int max_batch,
                        uint64_t seed, qa_err *err);
void agent_critic_free(agent_critic *cr);

/* Predictions (n) for o (n, F) and p (n, S L K) into cr->pred. */
void agent_critic_predict(agent_critic *cr, const float *o, const float *p, int n);
/* One regression pass: zeroes the critic's gradients, accumulates those of
 * the mean squared error against target (n); returns the error. */
float agent_critic_fit(agent_critic *cr, const float *o, const float *p, const float *target,
                       int n);
/* gp (n, S L K) = d/dp_i of (1/n) sum_i R_phi(o_i, p_i) (scale multiplies
 * it); the critic's own gradients are zeroed afterwards. */
void agent_critic_grad(agent_critic *cr, const float *o, const float *p, int n, float scale,
                       float *gp);
/* The plan gradient gp (n, S, L, K) added into the policy's gradients laid
 * out like the plan's: gw (n, L, K) gets side 0, ga (n, L, K) side 1 (S = 2,
 * untied; ga untouched when S = 1). */
void agent_critic_merge(const float *gp, int n, int S, int L, int K, float *gw, float *ga);

#endif
