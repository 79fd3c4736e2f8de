/* search_ddpg.c: the DDPG agent of the HAQ search (Lillicrap et al. 2016,
 * as HAQ runs it; search.h is the interface).
 *
 *   actor   a = sigmoid(MLP_mu(s))            D -> H -> H -> 1
 *   critic  Q(s, a) = MLP_Q([s, a])           D + 1 -> H -> H -> 1
 *   store   every step t of an episode with reward R: (s_t, a_t, R, s_t+1,
 *           done = last step; the last step's s' is its own s)
 *   update  per stored transition after warm-up, on a minibatch of B:
 *           b = m b + (1 - m) mean_i r_i        (HAQ's moving reward baseline)
 *           y_i = r_i - b + gamma (1 - done_i) Q'(s'_i, mu'(s'_i))
 *           critic: Adam on mean_i (Q(s_i, a_i) - y_i)^2
 *           actor:  Adam on -mean_i Q(s_i, mu(s_i)), through dQ/da
 *           targets: theta' += tau (theta - theta')
 *   explore a ~ N(mu(s), sigma^2) truncated to [0, 1] (rejection; after 64
 *           misses, mu itself), sigma = sigma_0 decay^(episode - warmup)
 * The MLPs are agent/mlp.h's (tanh hidden units, not HAQ's ReLU: the same
 * function class, and gradient-checked). HAQ's critic adds W_s s + W_a a in
 * its first layer, which is one linear map of [s, a]; that is this one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/mlp.h"
#include "agent/replay.h"
#include "agent/search.h"

enum { ACTOR, CRITIC, ACTOR_T, CRITIC_T, NNETS };

static const char *const net_names[NNETS] = {"actor", "critic", "actor_target",
                                             "critic_target"};

typedef struct {
    agent_search base;
    nn_params p[NNETS];
    agent_mlp net[NNETS];
    nn_optim *opt[2]; /* actor, critic */
    agent_replay rb;
    double baseline;
    int64_t have_baseline, updates;
    float value_loss, policy_loss; /* of the last update */
    const float **rows; /* (B) the minibatch */
    float *s;           /* (B, D) */
    float *in, *din;    /* (B, D + 1) critic input and its gradient */
    float *y, *q, *dy, *act; /* (B) */
} agent_ddpg;

extern const agent_search_ops agent_search_ddpg_ops;

static void ddpg_free(agent_search *s)
{
    agent_ddpg *d = (agent_ddpg *)s;
    for (int k = 0; k < NNETS; k++) {
        agent_mlp_free(&d->net[k]);
        nn_params_free(&d->p[k]);
    }
    nn_optim_free(d->opt[0]);
    nn_optim_free(d->opt[1]);
    agent_replay_free(&d->rb);
    free(d->rows);
    free(d->s);
    agent_search_base_free(s);
    free(d);
}

/* net k; a target starts as a copy of its net (made first) */
static int make_net(agent_ddpg *d, int k, qa_err *err)
{
    const agent_search_cfg *c = &d->base.cfg;
    int in = c->dim + (k == CRITIC || k == CRITIC_T);
    nn_params_init(&d->p[k]);
    int rc = agent_mlp_init(&d->net[k], &d->p[k], net_names[k], in, c->hidden, 1, c->batch, err);
    if (!rc)
        rc = nn_params_alloc(&d->p[k], err);
    if (rc)
        return rc;
    if (k < ACTOR_T)
        agent_mlp_init_weights(&d->net[k], &d->p[k], d->base.seed, 0x10 + (uint32_t)k, 1.0f);
    else
        memcpy(d->p[k].w, d->p[k - ACTOR_T].w, d->p[k].n * sizeof *d->p[k].w);
    return QA_OK;
}

static int make_rest(agent_ddpg *d, qa_err *err)
{
    const agent_search_cfg *c = &d->base.cfg;
    nn_optim_cfg oc = {.type = NN_OPT_ADAMW};
    int rc = QA_OK;
    for (int k = 0; k < 2 && !rc; k++) {
        oc.lr = k ? c->lr_critic : c->lr_actor;
        rc = nn_optim_create(&d->opt[k], &oc, &d->p[k], err);
    }
    if (!rc)
        rc = agent_replay_init(&d->rb, c->dim, c->replay * c->max_steps, err);
    if (rc)
        return rc;
    size_t B = (size_t)c->batch, D = (size_t)c->dim;
    d->rows = malloc(B * sizeof *d->rows);
    d->s = malloc(B * (D + 2 * (D + 1) + 4) * sizeof *d->s);
    if (!d->rows || !d->s)
        return qa_fail(err, QA_ERR_NOMEM, "ddpg: out of memory for a minibatch of %d", c->batch);
    d->in = d->s + B * D;
    d->din = d->in + B * (D + 1);
    d->y = d->din + B * (D + 1);
    d->q = d->y + B;
    d->dy = d->q + B;
    d->act = d->dy + B;
    return QA_OK;
}

static int ddpg_create(agent_search **out, const agent_search_cfg *cfg, uint64_t seed,
                       qa_err *err)
{
    agent_ddpg *d = calloc(1, sizeof *d);
    if (!d)
        return qa_fail(err, QA_ERR_NOMEM, "ddpg: out of memory");
    for (int k = 0; k < NNETS; k++)
        nn_params_init(&d->p[k]);
    int rc = agent_search_base_init(&d->base, &agent_search_ddpg_ops, cfg, seed, err);
    for (int k = 0; k < NNETS && !rc; k++)
        rc = make_net(d, k, err);
    if (!rc)
        rc = make_rest(d, err);
    if (rc) {
        ddpg_free(&d->base);
        return rc;
    }
    *out = &d->base;
    return QA_OK;
}

static float ddpg_greedy(agent_search *s, const float *state)
{
    agent_ddpg *d = (agent_ddpg *)s;
    float y;
    agent_mlp_forward(&d->net[ACTOR], &d->p[ACTOR], state, &y, 1);
    return agent_sigmoid(y);
}

static float ddpg_explore(agent_search *s, const float *state, nn_rng *r)
{
    float mu = ddpg_greedy(s, state), sigma = agent_search_sigma(s);
    for (int i = 0; i < 64; i++) {
        float a = mu + sigma * nn_rng_normal(r);
        if (a >= 0.0f && a <= 1.0f)
            return a;
    }
    return mu;
}

/* critic input rows [s_i, a_i] */
static void critic_input(agent_ddpg *d, const float *s, const float *a, int B)
{
    size_t D = (size_t)d->base.cfg.dim;
    for (int i = 0; i < B; i++) {
        memcpy(d->in + (size_t)i * (D + 1), s + (size_t)i * D, D * sizeof *s);
        d->in[(size_t)i * (D + 1) + D] = a[i];
    }
}

/* y_i = r_i - b + gamma (1 - done_i) Q'(s'_i, mu'(s'_i)) */
static void targets(agent_ddpg *d, int B)
{
    const agent_replay *rb = &d->rb;
    size_t D = (size_t)d->base.cfg.dim;
    for (int i = 0; i < B; i++)
        memcpy(d->s + (size_t)i * D, agent_replay_s2(rb, d->rows[i]), D * sizeof *d->s);
    agent_mlp_forward(&d->net[ACTOR_T], &d->p[ACTOR_T], d->s, d->act, B);
    for (int i = 0; i < B; i++)
        d->act[i] = agent_sigmoid(d->act[i]);
    critic_input(d, d->s, d->act, B);
    agent_mlp_forward(&d->net[CRITIC_T], &d->p[CRITIC_T], d->in, d->q, B);
    for (int i = 0; i < B; i++) {
        const float *row = d->rows[i];
        float live = 1.0f - agent_replay_done(rb, row);
        d->y[i] = agent_replay_r(rb, row) - (float)d->baseline +
                  d->base.cfg.discount * live * d->q[i];
    }
}

static void fit_critic(agent_ddpg *d, int B)
{
    size_t D = (size_t)d->base.cfg.dim;
    for (int i = 0; i < B; i++) {
        memcpy(d->s + (size_t)i * D, d->rows[i], D * sizeof *d->s);
        d->act[i] = agent_replay_a(&d->rb, d->rows[i]);
    }
    critic_input(d, d->s, d->act, B);
    agent_mlp_forward(&d->net[CRITIC], &d->p[CRITIC], d->in, d->q, B);
    double loss = 0.0;
    for (int i = 0; i < B; i++) {
        float e = d->q[i] - d->y[i];
        loss += (double)e * e / B;
        d->dy[i] = 2.0f * e / (float)B;
    }
    d->value_loss = (float)loss;
    nn_params_zero_grad(&d->p[CRITIC]);
    agent_mlp_backward(&d->net[CRITIC], &d->p[CRITIC], d->dy, NULL, B);
    nn_optim_step(d->opt[1], d->base.cfg.lr_critic);
}

/* -mean_i Q(s_i, mu(s_i)) down the actor; d->s holds the states (fit_critic) */
static void step_actor(agent_ddpg *d, int B)
{
    size_t D = (size_t)d->base.cfg.dim;
    agent_mlp_forward(&d->net[ACTOR], &d->p[ACTOR], d->s, d->act, B);
    for (int i = 0; i < B; i++)
        d->act[i] = agent_sigmoid(d->act[i]);
    critic_input(d, d->s, d->act, B);
    agent_mlp_forward(&d->net[CRITIC], &d->p[CRITIC], d->in, d->q, B);
    double loss = 0.0;
    for (int i = 0; i < B; i++) {
        loss -= (double)d->q[i] / B;
        d->dy[i] = -1.0f / (float)B;
    }
    d->policy_loss = (float)loss;
    agent_mlp_backward(&d->net[CRITIC], &d->p[CRITIC], d->dy, d->din, B);
    nn_params_zero_grad(&d->p[CRITIC]);
    for (int i = 0; i < B; i++) /* dL/dy = dL/da sigmoid'(y) */
        d->dy[i] = d->din[(size_t)i * (D + 1) + D] * d->act[i] * (1.0f - d->act[i]);
    nn_params_zero_grad(&d->p[ACTOR]);
    agent_mlp_backward(&d->net[ACTOR], &d->p[ACTOR], d->dy, NULL, B);
    nn_optim_step(d->opt[0], d->base.cfg.lr_actor);
}

static void soft_update(nn_params *target, const nn_params *net, float tau)
{
    for (size_t j = 0; j < target->n; j++)
        target->w[j] += tau * (net->w[j] - target->w[j]);
}

static void update(agent_ddpg *d)
{
    const agent_search_cfg *c = &d->base.cfg;
    int B = c->batch;
    nn_rng r;
    nn_rng_init(&r, d->base.seed, AGENT_STREAM_SEARCH_REPLAY, (uint32_t)d->updates++, 0);
    agent_replay_sample(&d->rb, &r, d->rows, B);
    double mean = 0.0;
    for (int i = 0; i < B; i++)
        mean += agent_replay_r(&d->rb, d->rows[i]) / (double)B;
    agent_search_baseline(&d->baseline, &d->have_baseline, c->baseline_momentum, mean);
    targets(d, B);
    fit_critic(d, B);
    step_actor(d, B);
    soft_update(&d->p[ACTOR_T], &d->p[ACTOR], c->tau);
    soft_update(&d->p[CRITIC_T], &d->p[CRITIC], c->tau);
}

static int ddpg_learn(agent_search *s, float reward, qa_err *err)
{
    agent_ddpg *d = (agent_ddpg *)s;
    int T = s->step;
    size_t D = (size_t)s->cfg.dim;
    for (int t = 0; t < T; t++) {
        const float *st = s->states + (size_t)t * D;
        const float *next = t + 1 < T ? st + D : st;
        agent_replay_push(&d->rb, st, s->actions[t], reward, next, t == T - 1);
    }
    if (s->episode < s->cfg.warmup)
        return QA_OK;
    for (int u = 0; u < T * s->cfg.updates; u++)
        update(d);
    if (!isfinite(d->value_loss) || !isfinite(d->policy_loss))
        return qa_fail(err, QA_ERR_NUMERIC, "ddpg: episode %lld: critic loss %g, actor loss %g",
                       (long long)s->episode, d->value_loss, d->policy_loss);
    return QA_OK;
}

static int ddpg_state(agent_search *s, agent_state_fn fn, void *ctx, qa_err *err)
{
    agent_ddpg *d = (agent_ddpg *)s;
    int rc = QA_OK;
    for (int k = 0; k < NNETS && !rc; k++)
        rc = agent_search_params_state(&d->p[k], k < ACTOR_T ? d->opt[k] : NULL, net_names[k],
                                       fn, ctx, err);
    size_t nrows = (size_t)d->rb.capacity * (size_t)d->rb.width;
    if (!rc)
        rc = fn(ctx, "replay.rows", AGENT_VAL_F32, d->rb.rows, nrows, err);
    if (!rc)
        rc = fn(ctx, "replay.count", AGENT_VAL_I64, &d->rb.count, 1, err);
    if (!rc)
        rc = fn(ctx, "baseline", AGENT_VAL_F64, &d->baseline, 1, err);
    if (!rc)
        rc = fn(ctx, "baseline_set", AGENT_VAL_I64, &d->have_baseline, 1, err);
    if (!rc)
        rc = fn(ctx, "updates", AGENT_VAL_I64, &d->updates, 1, err);
    if (!rc && (d->rb.count < 0 || d->updates < 0 || s->episode < 0))
        rc = qa_fail(err, QA_ERR_FORMAT, "ddpg: negative counters (episode %lld, replay %lld, "
                     "updates %lld)", (long long)s->episode, (long long)d->rb.count,
                     (long long)d->updates);
    return rc;
}

const agent_search_ops agent_search_ddpg_ops = {
    .name = "ddpg",
    .create = ddpg_create,
    .explore = ddpg_explore,
    .greedy = ddpg_greedy,
    .learn = ddpg_learn,
    .state = ddpg_state,
    .free = ddpg_free,
};
