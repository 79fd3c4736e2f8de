/* dqmq.c: see dqmq.h. */
#include "agent/dqmq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/action.h"
#include "agent/relax.h"

enum { SET_POLICY = 1u << 0, SET_CRITIC = 1u << 1 };

/* the policy's distributions into the plan's soft rows; in training it
 * also updates its feature statistics and draws the Gumbel noise of the
 * gumbel head or the straight-through draw of a hard dqmq one */
static void policy_forward(agent_dqmq *a, const agent_obs *o, int train, q_plan *plan)
{
    int noise = train && (a->cfg.head == AGENT_HEAD_GUMBEL || a->train.hard) &&
                a->train.optimizer == AGENT_OPT_ANALYTIC;
    if (train)
        agent_policy_observe(a->pol, o->x, o->n);
    if (noise)
        agent_policy_draw_noise(a->pol, o->seed, o->key, o->n, o->round);
    agent_policy_forward(a->pol, o->x, o->n, noise, plan);
}

static void draw(agent_dqmq *a, const agent_obs *o, q_plan *plan)
{
    agent_plan_sample(a->pol->prob, a->S, o->key, o->n, o->seed, o->round, plan, a->onehot);
}

static void policy_backward(agent_dqmq *a, const float *gw, const float *ga, int n)
{
    nn_params_zero_grad(&a->pol->params);
    agent_policy_backward(a->pol, gw, ga, n);
}

static void fit_critic(agent_dqmq *a, const agent_feedback *f, agent_stats *st)
{
    st->mse += agent_critic_fit(a->cr, a->pol->xn, a->onehot, f->loss, f->n);
    st->mse_n++;
}

/* ---- the estimators ---- */

static void act_soft(agent_dqmq *a, const agent_obs *o, q_plan *plan)
{
    (void)a;
    (void)o;
    (void)plan;
}

static unsigned learn_analytic(agent_dqmq *a, q_plan *plan, const agent_feedback *f,
                               agent_stats *st)
{
    st->cost += agent_cost_term(&a->obj, a->cm, plan, f->n, f->gw, f->ga, NULL);
    policy_backward(a, f->gw, f->ga, f->n);
    return SET_POLICY;
}

/* the cost term's gradient needs the soft plan: taken before the draw */
static void act_critic(agent_dqmq *a, const agent_obs *o, q_plan *plan)
{
    size_t lk = (size_t)o->n * (size_t)(a->L * a->K);
    memset(a->gw, 0, lk * sizeof *a->gw);
    memset(a->ga, 0, lk * sizeof *a->ga);
    a->act_cost = agent_cost_term(&a->obj, a->cm, plan, o->n, a->gw, a->ga, NULL);
    draw(a, o, plan);
}

static unsigned learn_critic(agent_dqmq *a, q_plan *plan, const agent_feedback *f,
                             agent_stats *st)
{
    (void)plan;
    st->cost += a->act_cost;
    agent_critic_grad(a->cr, a->pol->xn, a->pol->prob, f->n, 1.0f, a->gp);
    agent_critic_merge(a->gp, f->n, a->S, a->L, a->K, a->gw, a->ga);
    policy_backward(a, a->gw, a->ga, f->n);
    fit_critic(a, f, st);
    return SET_POLICY | SET_CRITIC;
}

static unsigned explore_critic(agent_dqmq *a, q_plan *plan, const agent_feedback *f,
                               agent_stats *st)
{
    agent_plan_onehot(plan, a->S, f->n, a->onehot);
    fit_critic(a, f, st);
    return SET_CRITIC;
}

static unsigned learn_reinforce(agent_dqmq *a, q_plan *plan, const agent_feedback *f,
                                agent_stats *st)
{
    for (int i = 0; i < f->n; i++)
        a->bitops[i] = q_cost_sample(a->cm, plan, i, NULL, NULL).bitops;
    agent_reinforce_step(&a->rf, &a->obj, a->bitops, a->cm->ref_int8, f->loss, a->pol->prob,
                         a->onehot, f->n, a->S, a->L, a->K, a->R, a->gw, a->ga, &st->cost);
    policy_backward(a, a->gw, a->ga, f->n);
    return SET_POLICY;
}

typedef struct {
    void (*act_train)(agent_dqmq *a, const agent_obs *o, q_plan *plan);
    unsigned (*learn_train)(agent_dqmq *a, q_plan *plan, const agent_feedback *f,
                            agent_stats *st);
    /* after an EXPLORE action, NULL: nothing learns off the policy */
    unsigned (*learn_explore)(agent_dqmq *a, q_plan *plan, const agent_feedback *f,
                              agent_stats *st);
} estimator;

static const estimator estimators[] = {
    [AGENT_OPT_ANALYTIC] = {act_soft, learn_analytic, NULL},
    [AGENT_OPT_CRITIC] = {act_critic, learn_critic, explore_critic},
    [AGENT_OPT_REINFORCE] = {draw, learn_reinforce, NULL},
};

/* ---- the agent interface ---- */

/* EXPLORE's widths: uniform, or from the dqmq distribution at the policy's
 * initial location with spread warmup_sigma */
static void explore(agent_dqmq *a, const agent_obs *o, q_plan *plan)
{
    float p[Q_MAX_CAND], c[Q_MAX_CAND];
    if (a->train.warmup_sigma > 0) {
        for (int k = 0; k < a->K; k++)
            c[k] = (float)plan->cand[k];
        agent_dqmq_forward(c, a->K, agent_policy_mu0(&a->pol->cfg), a->train.warmup_sigma, p);
    }
    agent_plan_random(a->train.warmup_sigma > 0 ? p : NULL, o->key, o->n, o->seed, o->round, plan);
}

static void dqmq_act(agent *base, const agent_obs *o, agent_act_mode mode, q_plan *plan)
{
    agent_dqmq *a = (agent_dqmq *)base;
    a->last = mode;
    policy_forward(a, o, mode != AGENT_ACT_GREEDY, plan);
    if (mode == AGENT_ACT_TRAIN)
        estimators[a->train.optimizer].act_train(a, o, plan);
    else if (mode == AGENT_ACT_EXPLORE)
        explore(a, o, plan);
    else
        q_plan_harden(plan, o->n);
}

static unsigned dqmq_learn(agent *base, const agent_obs *o, q_plan *plan,
                           const agent_feedback *f, agent_stats *st)
{
    (void)o;
    agent_dqmq *a = (agent_dqmq *)base;
    const estimator *e = &estimators[a->train.optimizer];
    if (a->last == AGENT_ACT_TRAIN)
        return e->learn_train(a, plan, f, st);
    if (a->last == AGENT_ACT_EXPLORE && e->learn_explore)
        return e->learn_explore(a, plan, f, st);
    return 0;
}

static void dqmq_free(agent *base)
{
    agent_dqmq *a = (agent_dqmq *)base;
    agent_policy_free(a->pol);
    agent_critic_free(a->cr);
    free(a->gw);
    free(a->bitops);
    free(a);
}

static const agent_ops dqmq_ops = {"dqmq", dqmq_act, dqmq_learn, dqmq_free};

static void add_set(agent *a, const char *name, nn_params *p, float lr, float wd)
{
    agent_set *s = &a->sets[a->nsets++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->params = p;
    s->lr = lr;
    s->weight_decay = wd;
}

static int alloc_buffers(agent_dqmq *a, int max_batch, qa_err *err)
{
    size_t B = (size_t)max_batch, lk = (size_t)(a->L * a->K), slk = (size_t)a->S * lk;
    a->gw = malloc(B * (2 * lk + 2 * slk + 1) * sizeof *a->gw);
    a->bitops = malloc(B * sizeof *a->bitops);
    if (!a->gw || !a->bitops)
        return qa_fail(err, QA_ERR_NOMEM, "dqmq agent: out of memory for a batch of %d",
                       max_batch);
    a->ga = a->gw + B * lk;
    a->gp = a->ga + B * lk;
    a->onehot = a->gp + B * slk;
    a->R = a->onehot + B * slk;
    return QA_OK;
}

static int make_nets(agent_dqmq *a, const q_plan *plan, int nobs, int max_batch, uint64_t seed,
                     qa_err *err)
{
    const agent_cfg *c = &a->cfg;
    const agent_train_cfg *t = &a->train;
    agent_policy_cfg pc = {.nin = nobs, .hidden = c->hidden, .nlayers = plan->nlayers,
                           .ncand = plan->ncand, .tied = plan->tied, .head = c->head,
                           .hard = t->hard, .sigma_min = c->sigma_min,
                           .sigma_max = c->sigma_max, .mu_init = c->mu_init, .tau = c->tau,
                           .max_batch = max_batch};
    memcpy(pc.cand, plan->cand, sizeof pc.cand);
    int rc = agent_policy_create(&a->pol, &pc, seed, err);
    if (rc)
        return rc;
    add_set(&a->base, "policy", &a->pol->params, t->lr, t->weight_decay);
    if (t->optimizer != AGENT_OPT_CRITIC)
        return QA_OK;
    rc = agent_critic_create(&a->cr, nobs, a->S * a->L * a->K, c->critic_hidden, max_batch, seed,
                             err);
    if (!rc)
        add_set(&a->base, "critic", &a->cr->params, t->critic_lr, 0.0f);
    return rc;
}

int agent_dqmq_create(agent_dqmq **out, const agent_cfg *cfg, const agent_train_cfg *train,
                      const q_plan *plan, const q_cost_model *cm, int nobs, int max_batch,
                      uint64_t seed, qa_err *err)
{
    *out = NULL;
    agent_dqmq *a = calloc(1, sizeof *a);
    if (!a)
        return qa_fail(err, QA_ERR_NOMEM, "dqmq agent: out of memory");
    a->base.ops = &dqmq_ops;
    a->cfg = *cfg;
    a->train = *train;
    a->obj = (agent_objective){train->cost, train->lambda, train->target, train->cost_argmax};
    a->rf.momentum = train->baseline_momentum;
    a->cm = cm;
    a->L = plan->nlayers;
    a->K = plan->ncand;
    a->S = plan->tied ? 1 : 2;
    int rc = alloc_buffers(a, max_batch, err);
    if (!rc)
        rc = make_nets(a, plan, nobs, max_batch, seed, err);
    if (rc) {
        dqmq_free(&a->base);
        return rc;
    }
    *out = a;
    return QA_OK;
}
