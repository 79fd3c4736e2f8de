/* policy.c: see policy.h. */
#include "agent/policy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/relax.h"

#define FEAT_EPS 1e-4f
#define FEAT_MOMENTUM 0.99f

static int check_cfg(const agent_policy_cfg *c, qa_err *err)
{
    if (c->nin < 1 || c->hidden < 1 || c->nlayers < 1 || c->ncand < 2 ||
        c->ncand > Q_MAX_CAND || c->max_batch < 1)
        return qa_fail(err, QA_ERR_ARG,
                       "policy: %d features, %d hidden, %d layers, %d candidates, batch %d: "
                       "needs >= 1 of each and 2..%d candidates",
                       c->nin, c->hidden, c->nlayers, c->ncand, c->max_batch, Q_MAX_CAND);
    if (c->head == AGENT_HEAD_DQMQ && !(c->sigma_min > 0 && c->sigma_max >= c->sigma_min))
        return qa_fail(err, QA_ERR_ARG, "policy: sigma range [%g, %g] must be positive",
                       (double)c->sigma_min, (double)c->sigma_max);
    if (c->head == AGENT_HEAD_GUMBEL && !(c->tau > 0))
        return qa_fail(err, QA_ERR_ARG, "policy: temperature %g must be positive",
                       (double)c->tau);
    return QA_OK;
}

static int alloc_buffers(agent_policy *pol, qa_err *err)
{
    const agent_policy_cfg *c = &pol->cfg;
    size_t B = (size_t)c->max_batch, sl = (size_t)pol->nside * (size_t)c->nlayers;
    size_t total = B * ((size_t)c->nin + 2 * (size_t)pol->nout + 2 * sl * (size_t)c->ncand +
                        4 * sl);
    pol->xn = calloc(total, sizeof *pol->xn);
    if (!pol->xn)
        return qa_fail(err, QA_ERR_NOMEM, "policy: out of memory for a batch of %d",
                       c->max_batch);
    pol->raw = pol->xn + B * (size_t)c->nin;
    pol->draw = pol->raw + B * (size_t)pol->nout;
    pol->prob = pol->draw + B * (size_t)pol->nout;
    pol->noise = pol->prob + B * sl * (size_t)c->ncand;
    pol->mu = pol->noise + B * sl * (size_t)c->ncand;
    pol->sigma = pol->mu + B * sl;
    pol->dmu = pol->sigma + B * sl;
    pol->dsig = pol->dmu + B * sl;
    return QA_OK;
}

float agent_policy_mu0(const agent_policy_cfg *c)
{
    return c->mu_init > 0 ? c->mu_init : 0.5f * (float)(c->cand[0] + c->cand[c->ncand - 1]);
}

/* last-layer biases: dqmq starts at mu_init with a wide spread */
static void init_heads(agent_policy *pol)
{
    const agent_policy_cfg *c = &pol->cfg;
    if (c->head != AGENT_HEAD_DQMQ)
        return;
    float lo = (float)c->cand[0], hi = (float)c->cand[c->ncand - 1];
    float mu = agent_policy_mu0(c);
    float t = 2.0f * (mu - lo) / (hi - lo) - 1.0f;
    t = t > 0.95f ? 0.95f : t < -0.95f ? -0.95f : t;
    float *b = nn_params_value(&pol->params, pol->mlp.v_b3);
    for (int j = 0; j < pol->nout; j += 2) {
        b[j] = atanhf(t);
        b[j + 1] = 2.0f;
    }
}

int agent_policy_create(agent_policy **out, const agent_policy_cfg *cfg, uint64_t seed,
                        qa_err *err)
{
    *out = NULL;
    int rc = check_cfg(cfg, err);
    if (rc)
        return rc;
    agent_policy *pol = calloc(1, sizeof *pol);
    if (!pol)
        return qa_fail(err, QA_ERR_NOMEM, "policy: out of memory");
    pol->cfg = *cfg;
    pol->nside = cfg->tied ? 1 : 2;
    pol->P = cfg->head == AGENT_HEAD_DQMQ ? 2 : cfg->ncand;
    pol->nout = pol->nside * cfg->nlayers * pol->P;
    pol->sigma_max = cfg->sigma_max;
    pol->tau = cfg->tau;
    nn_params_init(&pol->params);
    rc = agent_mlp_init(&pol->mlp, &pol->params, "policy", cfg->nin, cfg->hidden, pol->nout,
                        cfg->max_batch, err);
    if (!rc && (pol->v_mean = nn_params_add(&pol->params, "policy.feat_mean", (size_t)cfg->nin,
                                            NN_PARAM_BUFFER, err)) < 0)
        rc = pol->v_mean;
    if (!rc && (pol->v_var = nn_params_add(&pol->params, "policy.feat_var", (size_t)cfg->nin,
                                           NN_PARAM_BUFFER, err)) < 0)
        rc = pol->v_var;
    if (!rc && (pol->v_seen = nn_params_add(&pol->params, "policy.feat_seen", 1,
                                            NN_PARAM_BUFFER, err)) < 0)
        rc = pol->v_seen;
    if (!rc)
        rc = nn_params_alloc(&pol->params, err);
    if (!rc)
        rc = alloc_buffers(pol, err);
    if (rc) {
        agent_policy_free(pol);
        return rc;
    }
    float *var = nn_params_value(&pol->params, pol->v_var);
    for (int f = 0; f < cfg->nin; f++)
        var[f] = 1.0f;
    agent_mlp_init_weights(&pol->mlp, &pol->params, seed, 0, 0.1f);
    init_heads(pol);
    *out = pol;
    return QA_OK;
}

void agent_policy_free(agent_policy *pol)
{
    if (!pol)
        return;
    agent_mlp_free(&pol->mlp);
    nn_params_free(&pol->params);
    free(pol->xn);
    free(pol);
}

void agent_policy_observe(agent_policy *pol, const float *x, int n)
{
    int F = pol->cfg.nin;
    float *mean = nn_params_value(&pol->params, pol->v_mean);
    float *var = nn_params_value(&pol->params, pol->v_var);
    float *seen = nn_params_value(&pol->params, pol->v_seen);
    float m = *seen > 0 ? FEAT_MOMENTUM : 0.0f;
    for (int f = 0; f < F && n > 0; f++) {
        double s = 0.0, s2 = 0.0;
        for (int i = 0; i < n; i++)
            s += x[(size_t)i * F + f];
        double mu = s / n;
        for (int i = 0; i < n; i++) {
            double d = x[(size_t)i * F + f] - mu;
            s2 += d * d;
        }
        mean[f] = m * mean[f] + (1.0f - m) * (float)mu;
        var[f] = m * var[f] + (1.0f - m) * (float)(s2 / n);
    }
    *seen = 1.0f;
}

void agent_policy_draw_noise(agent_policy *pol, uint64_t seed, const int *key, int n,
                             uint32_t epoch)
{
    size_t per = (size_t)pol->nside * (size_t)pol->cfg.nlayers * (size_t)pol->cfg.ncand;
    for (int i = 0; i < n; i++) {
        nn_rng r;
        nn_rng_init(&r, seed, AGENT_STREAM_GUMBEL, (uint32_t)key[i], epoch);
        agent_gumbel_noise(&r, pol->noise + (size_t)i * per, (int)per);
    }
}

static void normalise(agent_policy *pol, const float *x, int n)
{
    int F = pol->cfg.nin;
    const float *mean = nn_params_value(&pol->params, pol->v_mean);
    const float *var = nn_params_value(&pol->params, pol->v_var);
    for (int i = 0; i < n; i++)
        for (int f = 0; f < F; f++)
            pol->xn[(size_t)i * F + f] =
                (x[(size_t)i * F + f] - mean[f]) / sqrtf(var[f] + FEAT_EPS);
}

static float *plan_row(q_plan *plan, int s, int i, int l)
{
    return s == 0 ? q_plan_pw(plan, i, l) : q_plan_pa(plan, i, l);
}

/* dqmq straight-through: a width drawn from p by Gumbel-max (the argmax of
 * z + g, z = -(c - mu)^2 / 2 sigma^2 being log p up to a constant, so no
 * log of an underflowed p), or the argmax of p without noise */
static int dqmq_pick(const float *cf, int K, float mu, float sigma, const float *p,
                     const float *g)
{
    if (!g)
        return q_plan_argmax(p, K);
    float inv = 1.0f / (2.0f * sigma * sigma), top = -INFINITY;
    int best = 0;
    for (int k = 0; k < K; k++) {
        float v = -(cf[k] - mu) * (cf[k] - mu) * inv + g[k];
        if (v > top) {
            top = v;
            best = k;
        }
    }
    return best;
}

/* sample i, side s, layer l: raw -> prob, and the plan's row */
static void head_forward(agent_policy *pol, int i, int s, int l, int noise, q_plan *plan)
{
    const agent_policy_cfg *c = &pol->cfg;
    int K = c->ncand;
    size_t u = ((size_t)i * pol->nside + (size_t)s) * (size_t)c->nlayers + (size_t)l;
    const float *r = pol->raw + (size_t)i * pol->nout + ((size_t)s * c->nlayers + l) * pol->P;
    float *p = pol->prob + u * (size_t)K, *row = plan_row(plan, s, i, l);
    float cf[Q_MAX_CAND];
    for (int k = 0; k < K; k++)
        cf[k] = (float)c->cand[k];
    if (c->head == AGENT_HEAD_DQMQ) {
        pol->mu[u] = agent_mu_head(r[0], cf[0], cf[K - 1], &pol->dmu[u]);
        pol->sigma[u] = agent_sigma_head(r[1], c->sigma_min, pol->sigma_max, &pol->dsig[u]);
        agent_dqmq_forward(cf, K, pol->mu[u], pol->sigma[u], p);
        if (!c->hard) {
            memcpy(row, p, (size_t)K * sizeof *p);
            return;
        }
        int pick = dqmq_pick(cf, K, pol->mu[u], pol->sigma[u], p,
                             noise ? pol->noise + u * (size_t)K : NULL);
        for (int k = 0; k < K; k++)
            row[k] = k == pick ? 1.0f : 0.0f;
        return;
    }
    agent_gumbel_forward(r, noise ? pol->noise + u * (size_t)K : NULL, K, pol->tau, p);
    int best = q_plan_argmax(p, K);
    for (int k = 0; k < K; k++)
        row[k] = c->hard ? (k == best ? 1.0f : 0.0f) : p[k];
}

void agent_policy_forward(agent_policy *pol, const float *x, int n, int noise, q_plan *plan)
{
    const agent_policy_cfg *c = &pol->cfg;
    QA_ASSERT(plan->nlayers == c->nlayers && plan->ncand == c->ncand && plan->tied == c->tied);
    normalise(pol, x, n);
    agent_mlp_forward(&pol->mlp, &pol->params, pol->xn, pol->raw, n);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < pol->nside; s++)
            for (int l = 0; l < c->nlayers; l++)
                head_forward(pol, i, s, l, noise, plan);
    plan->mode = Q_PLAN_SOFT;
}

static void head_backward(agent_policy *pol, int i, int s, int l, const float *g)
{
    const agent_policy_cfg *c = &pol->cfg;
    int K = c->ncand;
    size_t u = ((size_t)i * pol->nside + (size_t)s) * (size_t)c->nlayers + (size_t)l;
    float *d = pol->draw + (size_t)i * pol->nout + ((size_t)s * c->nlayers + l) * pol->P;
    const float *p = pol->prob + u * (size_t)K;
    if (c->head == AGENT_HEAD_GUMBEL) {
        agent_gumbel_backward(p, g, K, pol->tau, d);
        return;
    }
    float cf[Q_MAX_CAND], gmu, gsig;
    for (int k = 0; k < K; k++)
        cf[k] = (float)c->cand[k];
    agent_dqmq_backward(cf, K, pol->mu[u], pol->sigma[u], p, g, &gmu, &gsig);
    d[0] = gmu * pol->dmu[u];
    d[1] = gsig * pol->dsig[u];
}

void agent_policy_backward(agent_policy *pol, const float *gw, const float *ga, int n)
{
    const agent_policy_cfg *c = &pol->cfg;
    size_t row = (size_t)c->nlayers * (size_t)c->ncand;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < pol->nside; s++)
            for (int l = 0; l < c->nlayers; l++)
                head_backward(pol, i, s, l,
                              (s == 0 ? gw : ga) + (size_t)i * row + (size_t)l * c->ncand);
    agent_mlp_backward(&pol->mlp, &pol->params, pol->draw, NULL, n);
}

int64_t agent_policy_macs(const agent_policy *pol)
{
    /* heads: about one multiply-add per candidate and side for the softmax */
    return agent_mlp_macs(&pol->mlp) +
           (int64_t)pol->nside * pol->cfg.nlayers * pol->cfg.ncand * 4;
}
