/* search_reinforce.c: REINFORCE (Williams 1992) with a moving-average
 * baseline, the simpler agent of the HAQ search (search.h).
 *
 *   policy  p(k | s) = softmax_k(MLP(s))        D -> H -> H -> K, K = nbins
 *   act     k ~ p(. | s_t), action (k + 0.5) / K: the middle of bin k, which
 *           haq.h maps back to the k-th width
 *   learn   after warm-up, with A = R - b (b the baseline before this
 *           episode; b = R on the first):
 *             Adam on L = -A sum_t log p(k_t | s_t)
 *             dL/dlogit_tj = -A (1[j = k_t] - p_tj)
 *           then b = m b + (1 - m) R (also in warm-up, whose uniform
 *           actions are not the policy's and are not learnt from)
 *   greedy  the middle of the most probable bin */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/mlp.h"
#include "agent/search.h"
#include "quant/plan.h"

typedef struct {
    agent_search base;
    nn_params p;
    agent_mlp mlp;
    nn_optim *opt;
    double baseline;
    int64_t have_baseline;
    float *logit; /* (max_steps, K) */
    float *prob;  /* (max_steps, K) */
} agent_reinforce;

extern const agent_search_ops agent_search_reinforce_ops;

static void rf_free(agent_search *s)
{
    agent_reinforce *f = (agent_reinforce *)s;
    agent_mlp_free(&f->mlp);
    nn_params_free(&f->p);
    nn_optim_free(f->opt);
    free(f->logit);
    agent_search_base_free(s);
    free(f);
}

static int rf_create(agent_search **out, const agent_search_cfg *cfg, uint64_t seed,
                     qa_err *err)
{
    agent_reinforce *f = calloc(1, sizeof *f);
    if (!f)
        return qa_fail(err, QA_ERR_NOMEM, "reinforce: out of memory");
    nn_params_init(&f->p);
    int rc = agent_search_base_init(&f->base, &agent_search_reinforce_ops, cfg, seed, err);
    if (!rc)
        rc = agent_mlp_init(&f->mlp, &f->p, "policy", cfg->dim, cfg->hidden, cfg->nbins,
                            cfg->max_steps, err);
    if (!rc)
        rc = nn_params_alloc(&f->p, err);
    nn_optim_cfg oc = {.type = NN_OPT_ADAMW, .lr = cfg->lr_actor};
    if (!rc)
        rc = nn_optim_create(&f->opt, &oc, &f->p, err);
    size_t n = (size_t)cfg->max_steps * (size_t)cfg->nbins;
    if (!rc && !(f->logit = malloc(2 * n * sizeof *f->logit)))
        rc = qa_fail(err, QA_ERR_NOMEM, "reinforce: out of memory for %d steps", cfg->max_steps);
    if (rc) {
        rf_free(&f->base);
        return rc;
    }
    f->prob = f->logit + n;
    agent_mlp_init_weights(&f->mlp, &f->p, seed, 0x12, 1.0f);
    *out = &f->base;
    return QA_OK;
}

/* prob (n, K) = softmax of the policy's logits for states (n, D) */
static void policy(agent_reinforce *f, const float *states, int n)
{
    int K = f->base.cfg.nbins;
    agent_mlp_forward(&f->mlp, &f->p, states, f->logit, n);
    for (int t = 0; t < n; t++) {
        const float *l = f->logit + (size_t)t * K;
        float *p = f->prob + (size_t)t * K, top = l[0], sum = 0.0f;
        for (int k = 1; k < K; k++)
            top = l[k] > top ? l[k] : top;
        for (int k = 0; k < K; k++)
            sum += p[k] = expf(l[k] - top);
        for (int k = 0; k < K; k++)
            p[k] /= sum;
    }
}

static float bin_action(int k, int K)
{
    return ((float)k + 0.5f) / (float)K;
}

static int action_bin(float a, int K)
{
    int k = (int)floorf(a * (float)K);
    return k < 0 ? 0 : k >= K ? K - 1 : k;
}

static float rf_explore(agent_search *s, const float *state, nn_rng *r)
{
    agent_reinforce *f = (agent_reinforce *)s;
    int K = s->cfg.nbins, k = 0;
    policy(f, state, 1);
    float u = nn_rng_uniform(r), c = f->prob[0];
    while (k < K - 1 && u >= c)
        c += f->prob[++k];
    return bin_action(k, K);
}

static float rf_greedy(agent_search *s, const float *state)
{
    agent_reinforce *f = (agent_reinforce *)s;
    policy(f, state, 1);
    return bin_action(q_plan_argmax(f->prob, s->cfg.nbins), s->cfg.nbins);
}

void agent_search_reinforce_probs(agent_search *s, const float *state, float *p)
{
    QA_ASSERT(s->ops == &agent_search_reinforce_ops);
    agent_reinforce *f = (agent_reinforce *)s;
    policy(f, state, 1);
    memcpy(p, f->prob, (size_t)s->cfg.nbins * sizeof *p);
}

static int rf_learn(agent_search *s, float reward, qa_err *err)
{
    agent_reinforce *f = (agent_reinforce *)s;
    int T = s->step, K = s->cfg.nbins;
    int on_policy = s->episode >= s->cfg.warmup && f->have_baseline;
    double adv = reward - f->baseline;
    agent_search_baseline(&f->baseline, &f->have_baseline, s->cfg.baseline_momentum, reward);
    if (!on_policy)
        return QA_OK;
    policy(f, s->states, T);
    float *dy = f->logit; /* the logits are not needed any more */
    for (int t = 0; t < T; t++) {
        int k = action_bin(s->actions[t], K);
        for (int j = 0; j < K; j++)
            dy[(size_t)t * K + j] = -(float)adv * ((j == k) - f->prob[(size_t)t * K + j]);
    }
    nn_params_zero_grad(&f->p);
    agent_mlp_backward(&f->mlp, &f->p, dy, NULL, T);
    nn_optim_step(f->opt, s->cfg.lr_actor);
    for (size_t j = 0; j < f->p.n; j++)
        if (!isfinite(f->p.w[j]))
            return qa_fail(err, QA_ERR_NUMERIC,
                           "reinforce: episode %lld left a policy weight non-finite",
                           (long long)s->episode);
    return QA_OK;
}

static int rf_state(agent_search *s, agent_state_fn fn, void *ctx, qa_err *err)
{
    agent_reinforce *f = (agent_reinforce *)s;
    int rc = agent_search_params_state(&f->p, f->opt, "policy", fn, ctx, err);
    if (!rc)
        rc = fn(ctx, "baseline", AGENT_VAL_F64, &f->baseline, 1, err);
    if (!rc)
        rc = fn(ctx, "baseline_set", AGENT_VAL_I64, &f->have_baseline, 1, err);
    if (!rc && s->episode < 0)
        rc = qa_fail(err, QA_ERR_FORMAT, "reinforce: negative episode count %lld",
                     (long long)s->episode);
    return rc;
}

const agent_search_ops agent_search_reinforce_ops = {
    .name = "reinforce",
    .create = rf_create,
    .explore = rf_explore,
    .greedy = rf_greedy,
    .learn = rf_learn,
    .state = rf_state,
    .free = rf_free,
};
