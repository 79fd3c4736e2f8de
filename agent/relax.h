/* relax.h: the relaxed per-layer distributions over ordered candidate
 * widths c_1 < ... < c_K (docs/METHODS.md, section 5), with their backward.
 *
 * DQMQ's two-parameter form: location mu and spread sigma,
 *   z_k = -(c_k - mu)^2 / (2 sigma^2),   p_k = softmax_k(z)
 *   dL/dz_k = p_k (g_k - sum_j p_j g_j)                     (g = dL/dp)
 *   dL/dmu = sum_k dL/dz_k (c_k - mu) / sigma^2,  dL/dsigma = sum_k dL/dz_k (c_k - mu)^2 / sigma^3
 * Its heads map unbounded outputs (a, b) of the policy into range:
 *   mu = lo + (hi - lo) (tanh(a) + 1) / 2,   sigma = smin + (smax - smin) sigmoid(b)
 * Gumbel-softmax over free logits l with noise G_k = -log(-log U_k):
 *   y = softmax((l + G) / tau),  dL/dl = y (g - <y, g>) / tau
 * The straight-through hard variant emits onehot(argmax y) and takes the
 * gradient of the soft y (the caller keeps y for backward).
 * Deliberately not here: the network producing the parameters (policy.h),
 * and sampling a width from p (the methods). */
#ifndef AGENT_RELAX_H
#define AGENT_RELAX_H

#include "nn/rng.h"

/* Stream ids of agent/ (nn/rng.h reserves 0x4000-0x4fff). */
enum {
    AGENT_STREAM_INIT = 0x4000,   /* a = salt (policy 0, critic 1), b = view */
    AGENT_STREAM_GUMBEL = 0x4001, /* a = sample key, b = epoch */
    AGENT_STREAM_WARMUP = 0x4002, /* a = sample key, b = epoch: random plans */
    AGENT_STREAM_SAMPLE = 0x4003, /* a = sample key, b = epoch: widths drawn from p */
    AGENT_STREAM_LOG = 0x4004,    /* a = sample key, b = epoch: which samples are logged */
};

/* p (K) of the two-parameter distribution; sigma > 0 */
void agent_dqmq_forward(const float *c, int K, float mu, float sigma, float *p);
/* gmu, gsigma from gp = dL/dp and the p of the forward */
void agent_dqmq_backward(const float *c, int K, float mu, float sigma, const float *p,
                         const float *gp, float *gmu, float *gsigma);

/* heads: value, and its derivative into *d */
float agent_mu_head(float a, float lo, float hi, float *d);
float agent_sigma_head(float b, float smin, float smax, float *d);

/* K Gumbel(0, 1) draws */
void agent_gumbel_noise(nn_rng *r, float *g, int K);
/* y = softmax((l + g) / tau); g NULL: no noise */
void agent_gumbel_forward(const float *l, const float *g, int K, float tau, float *y);
/* gl = dL/dl from gy = dL/dy and the y of the forward */
void agent_gumbel_backward(const float *y, const float *gy, int K, float tau, float *gl);

/* index k drawn with probability p_k (p sums to 1) */
int agent_sample(nn_rng *r, const float *p, int K);

#endif
