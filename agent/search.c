/* search.c: see search.h. */
#include "agent/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const agent_search_ops agent_search_ddpg_ops, agent_search_reinforce_ops;

static const agent_search_ops *const kinds[AGENT_SEARCH_COUNT] = {
    [AGENT_SEARCH_DDPG] = &agent_search_ddpg_ops,
    [AGENT_SEARCH_REINFORCE] = &agent_search_reinforce_ops,
};

void agent_search_defaults(agent_search_cfg *c, int kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->hidden = 300;
    c->warmup = 20;
    c->lr_actor = kind == AGENT_SEARCH_DDPG ? 1e-4f : 1e-3f;
    c->lr_critic = 1e-3f;
    c->sigma = 0.5f;
    c->sigma_decay = 0.99f;
    c->tau = 0.01f;
    c->discount = 1.0f;
    c->batch = 64;
    c->replay = 128;
    c->updates = 1;
    c->baseline_momentum = kind == AGENT_SEARCH_DDPG ? 0.5f : 0.9f;
}

int agent_search_cfg_check(const agent_search_cfg *c, qa_err *err)
{
    if (c->kind < 0 || c->kind >= AGENT_SEARCH_COUNT)
        return qa_fail(err, QA_ERR_ARG, "search agent %d is not ddpg (0) or reinforce (1)",
                       c->kind);
    if (c->dim < 1 || c->max_steps < 1 || c->hidden < 1 || c->warmup < 0)
        return qa_fail(err, QA_ERR_ARG,
                       "search agent: dim %d, max_steps %d, hidden %d must be >= 1, warmup %d >= 0",
                       c->dim, c->max_steps, c->hidden, c->warmup);
    if (!(c->lr_actor > 0) || !(c->baseline_momentum >= 0 && c->baseline_momentum < 1))
        return qa_fail(err, QA_ERR_ARG,
                       "search agent: lr %g must be > 0, baseline_momentum %g in [0, 1)",
                       c->lr_actor, c->baseline_momentum);
    if (c->kind == AGENT_SEARCH_REINFORCE)
        return c->nbins >= 2 ? QA_OK
                             : qa_fail(err, QA_ERR_ARG, "reinforce: %d widths, need 2 or more",
                                       c->nbins);
    if (!(c->lr_critic > 0) || !(c->sigma > 0) || !(c->sigma_decay > 0 && c->sigma_decay <= 1) ||
        !(c->tau > 0 && c->tau <= 1) || !(c->discount >= 0 && c->discount <= 1))
        return qa_fail(err, QA_ERR_ARG,
                       "ddpg: lr_critic %g and sigma %g must be > 0, sigma_decay %g and tau %g in "
                       "(0, 1], discount %g in [0, 1]",
                       c->lr_critic, c->sigma, c->sigma_decay, c->tau, c->discount);
    if (c->batch < 1 || c->replay < 1 || c->updates < 1)
        return qa_fail(err, QA_ERR_ARG, "ddpg: batch %d, replay %d and updates %d must be >= 1",
                       c->batch, c->replay, c->updates);
    return QA_OK;
}

int agent_search_create(agent_search **out, const agent_search_cfg *cfg, uint64_t seed,
                        qa_err *err)
{
    *out = NULL;
    int rc = agent_search_cfg_check(cfg, err);
    return rc < 0 ? rc : kinds[cfg->kind]->create(out, cfg, seed, err);
}

void agent_search_free(agent_search *s)
{
    if (s)
        s->ops->free(s);
}

int agent_search_base_init(agent_search *s, const agent_search_ops *ops,
                           const agent_search_cfg *cfg, uint64_t seed, qa_err *err)
{
    s->ops = ops;
    s->cfg = *cfg;
    s->seed = seed;
    s->states = calloc((size_t)cfg->max_steps * (size_t)cfg->dim, sizeof *s->states);
    s->actions = calloc((size_t)cfg->max_steps, sizeof *s->actions);
    if (!s->states || !s->actions)
        return qa_fail(err, QA_ERR_NOMEM, "%s: out of memory for an episode of %d steps",
                       ops->name, cfg->max_steps);
    return QA_OK;
}

void agent_search_base_free(agent_search *s)
{
    free(s->states);
    free(s->actions);
}

float agent_search_sigma(const agent_search *s)
{
    if (s->cfg.kind != AGENT_SEARCH_DDPG || s->episode < s->cfg.warmup)
        return 0.0f;
    return (float)(s->cfg.sigma * pow(s->cfg.sigma_decay, (double)(s->episode - s->cfg.warmup)));
}

float agent_search_act(agent_search *s, const float *state)
{
    QA_ASSERT(s->step < s->cfg.max_steps);
    nn_rng r;
    nn_rng_init(&r, s->seed, AGENT_STREAM_SEARCH_ACT, (uint32_t)s->episode, (uint32_t)s->step);
    float a = s->episode < s->cfg.warmup ? nn_rng_uniform(&r) : s->ops->explore(s, state, &r);
    memcpy(s->states + (size_t)s->step * (size_t)s->cfg.dim, state,
           (size_t)s->cfg.dim * sizeof *state);
    s->actions[s->step++] = a;
    return a;
}

float agent_search_greedy(agent_search *s, const float *state)
{
    return s->ops->greedy(s, state);
}

int agent_search_end(agent_search *s, float reward, qa_err *err)
{
    if (!isfinite(reward))
        return qa_fail(err, QA_ERR_NUMERIC, "%s: episode %lld ended with reward %g",
                       s->ops->name, (long long)s->episode, reward);
    if (s->step < 1)
        return qa_fail(err, QA_ERR_ARG, "%s: episode %lld ended before its first step",
                       s->ops->name, (long long)s->episode);
    int rc = s->ops->learn(s, reward, err);
    s->episode++;
    s->step = 0;
    return rc;
}

int agent_search_state(agent_search *s, agent_state_fn fn, void *ctx, qa_err *err)
{
    QA_ASSERT(s->step == 0);
    int rc = fn(ctx, "episode", AGENT_VAL_I64, &s->episode, 1, err);
    return rc < 0 ? rc : s->ops->state(s, fn, ctx, err);
}

int agent_search_params_state(nn_params *p, nn_optim *o, const char *prefix, agent_state_fn fn,
                              void *ctx, qa_err *err)
{
    char name[80];
    snprintf(name, sizeof name, "%s.w", prefix);
    int rc = fn(ctx, name, AGENT_VAL_F32, p->w, p->n, err);
    if (rc < 0 || !o)
        return rc;
    snprintf(name, sizeof name, "%s.m", prefix);
    rc = fn(ctx, name, AGENT_VAL_F32, o->m, p->n, err);
    snprintf(name, sizeof name, "%s.v", prefix);
    if (!rc && o->v)
        rc = fn(ctx, name, AGENT_VAL_F32, o->v, p->n, err);
    int64_t t = o->t;
    snprintf(name, sizeof name, "%s.t", prefix);
    if (!rc)
        rc = fn(ctx, name, AGENT_VAL_I64, &t, 1, err);
    o->t = (long)t;
    return rc;
}

void agent_search_baseline(double *b, int64_t *have, float m, double x)
{
    *b = *have ? m * *b + (1.0 - m) * x : x;
    *have = 1;
}

float agent_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}
