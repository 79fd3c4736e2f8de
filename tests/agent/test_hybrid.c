/* test_hybrid.c: the policy trained through a tiny relaxed quantized
 * backbone (dense layers on synthetic data), the way method dqmq's analytic
 * step does it:
 *   - the gradient of the hybrid loss mean CE + cost term with respect to
 *     every policy parameter matches finite differences (DQMQ and Gumbel
 *     heads, tied and untied plans; the planned layer reads the fixed
 *     network input and the next layer runs at 32 bits, so no rounding
 *     boundary moves under a perturbation);
 *   - lambda = 0 drives every layer toward the widest width, a large
 *     lambda toward the narrowest;
 *   - the cost forms' values and plan gradients on both sides of the
 *     target, and cost = target alone pulling the mean to the target from
 *     below (where the budget does nothing) and from above;
 *   - on a two-quality task (strong vs weak class signal, the weak one lost
 *     at low widths) the policy gives the weak inputs more bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/objective.h"
#include "agent/policy.h"
#include "check_main.h"
#include "nn/act.h"
#include "nn/dense.h"
#include "nn/gradcheck.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "nn/par.h"
#include "nn/rng.h"
#include "quant/qnet.h"

enum { F = 2, NCLS = 4 };

typedef struct {
    nn_net *net;
    q_net *qn;
    agent_policy *pol;
    agent_objective obj;
    float *feat;  /* (B, F) */
    int *label;   /* (B) */
    float *gw, *ga; /* scratch for the cost term's value */
    int n;
} rig;

/* in -> dense(h1) -> relu -> [dense(h2) -> relu ->] dense(NCLS) */
static void rig_make(rig *g, int B, int D, int h1, int h2, const char *cand, int tied, int head,
                     int last_bits)
{
    qa_err err;
    memset(g, 0, sizeof *g);
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
    ck_assert_int_eq(nn_net_create(&g->net, B, 1, 1, D, &err), QA_OK);
    nn_dense_cfg d1 = {"fc1", h1, 1}, d2 = {"fc2", h2, 1}, d3 = {"fc3", NCLS, 1};
    nn_act_cfg a1 = {"relu1", NN_ACT_RELU}, a2 = {"relu2", NN_ACT_RELU};
    int t = nn_dense_new(g->net, &d1, 0, &err);
    t = nn_act_new(g->net, &a1, t, &err);
    if (h2 > 0) {
        t = nn_dense_new(g->net, &d2, t, &err);
        t = nn_act_new(g->net, &a2, t, &err);
    }
    ck_assert_int_ge(nn_dense_new(g->net, &d3, t, &err), 0);
    q_cfg qc;
    q_cfg_defaults(&qc);
    ck_assert_int_eq(q_cfg_parse_cand(&qc, cand, &err), QA_OK);
    qc.tied = tied;
    qc.soft = 1;
    qc.first_bits = 0;
    qc.last_bits = last_bits;
    qc.input_domain = Q_INPUT_SIGNED;
    ck_assert_msg(q_net_wrap(&g->qn, g->net, &qc, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_net_finalize(g->net, 3, &err), QA_OK);
    agent_policy_cfg pc = {.nin = F, .hidden = 16, .nlayers = g->qn->plan->nlayers,
                           .ncand = qc.ncand, .tied = tied, .head = head, .sigma_min = 0.3f,
                           .sigma_max = 2.0f, .tau = 1.0f, .max_batch = B};
    memcpy(pc.cand, qc.cand, sizeof pc.cand);
    ck_assert_int_eq(agent_policy_create(&g->pol, &pc, 5, &err), QA_OK);
    g->feat = calloc((size_t)B * F, sizeof *g->feat);
    g->label = calloc((size_t)B, sizeof *g->label);
    size_t lk = (size_t)B * (size_t)pc.nlayers * (size_t)pc.ncand;
    g->gw = calloc(2 * lk, sizeof *g->gw);
    g->ga = g->gw + lk;
    g->n = B;
}

static void rig_free(rig *g)
{
    agent_policy_free(g->pol);
    q_net_free(g->qn);
    nn_net_free(g->net);
    free(g->feat);
    free(g->label);
    free(g->gw);
}

/* forward of policy and backbone; returns mean CE + cost term */
static double hybrid_forward(rig *g, float *dlogits)
{
    agent_policy_forward(g->pol, g->feat, g->n, 1, g->qn->plan);
    nn_net_forward(g->net, g->n, 1);
    const nn_tensor *out = nn_net_output(g->net);
    double ce = nn_softmax_ce(out->data, g->label, g->n, NCLS, dlogits, NULL, NULL);
    return ce + agent_cost_term(&g->obj, &g->qn->cost, g->qn->plan, g->n, g->gw, g->ga, NULL);
}

static double hybrid_loss(void *arg)
{
    return hybrid_forward(arg, NULL);
}

/* method dqmq's analytic gradient: backbone backward, cost term, policy */
static double hybrid_backward(rig *g)
{
    q_plan *p = g->qn->plan;
    double L = hybrid_forward(g, nn_net_output_grad(g->net));
    nn_net_zero_grad(g->net);
    nn_net_backward(g->net, g->n);
    agent_cost_term(&g->obj, &g->qn->cost, p, g->n, p->gpw, p->gpa, NULL);
    nn_params_zero_grad(&g->pol->params);
    agent_policy_backward(g->pol, p->gpw, p->gpa, g->n);
    return L;
}

/* cost: agent_cost_kind; target (budget and target forms) is set 0.1 above
 * the mean of the first forward when below = 1, else 0.05 */
static void check_hybrid_gradient(int head, int tied, int cost, int below)
{
    enum { B = 8, D = 6 };
    rig g;
    rig_make(&g, B, D, 5, 0, "2,4,8", tied, head, 32);
    ck_assert_int_eq(g.qn->plan->nlayers, 1);
    g.obj = (agent_objective){cost, 0.7f, 0.05f, 0};
    nn_rng r;
    nn_rng_init(&r, 21, NN_STREAM_TEST, (uint32_t)(head * 4 + tied * 2 + (cost > 0)), 0);
    float *x = nn_net_input(g.net);
    for (int j = 0; j < B * D; j++)
        x[j] = nn_rng_normal(&r);
    for (int i = 0; i < B; i++) {
        g.label[i] = (int)nn_rng_below(&r, NCLS);
        for (int f = 0; f < F; f++)
            g.feat[i * F + f] = nn_rng_normal(&r);
    }
    float *w3 = nn_params_value(&g.pol->params, g.pol->mlp.v_w3);
    for (size_t j = 0; j < g.pol->params.views[g.pol->mlp.v_w3].n; j++)
        w3[j] *= 20.0f; /* samples get clearly different plans */
    int key[B] = {0, 1, 2, 3, 4, 5, 6, 7};
    agent_policy_draw_noise(g.pol, 4, key, B, 0);
    hybrid_backward(&g); /* the first forward initialises the LSQ steps */
    if (below) {
        double mean;
        agent_cost_term(&g.obj, &g.qn->cost, g.qn->plan, B, g.gw, g.ga, &mean);
        g.obj.target = (float)mean + 0.1f;
    }
    hybrid_backward(&g);
    nn_gradcheck_cfg gc = {.eps = 1e-3f, .rtol = 3e-2f, .atol = 3e-4f, .max_elems = 40,
                           .seed = 2, .kinks = 1};
    nn_gradcheck_result res = {0};
    qa_err err;
    for (int v = 0; v < g.pol->params.nviews; v++) {
        const nn_param_view *pv = &g.pol->params.views[v];
        if (pv->kind == NN_PARAM_BUFFER)
            continue;
        ck_assert_msg(nn_gradcheck_vec(hybrid_loss, &g, nn_params_value(&g.pol->params, v),
                                       nn_params_grad(&g.pol->params, v), pv->n, pv->name, &gc,
                                       &res, &err) == QA_OK,
                      "head %d tied %d cost %d: %s", head, tied, cost, err.msg);
    }
    ck_assert_int_gt(res.nchecked, 60);
    rig_free(&g);
}

START_TEST(test_hybrid_grad_dqmq_tied)
{
    check_hybrid_gradient(AGENT_HEAD_DQMQ, 1, AGENT_COST_EXPECTED, 0);
}
END_TEST
START_TEST(test_hybrid_grad_dqmq_untied)
{
    check_hybrid_gradient(AGENT_HEAD_DQMQ, 0, AGENT_COST_EXPECTED, 0);
}
END_TEST
START_TEST(test_hybrid_grad_gumbel_budget)
{
    check_hybrid_gradient(AGENT_HEAD_GUMBEL, 0, AGENT_COST_BUDGET, 0);
}
END_TEST
/* below the target: the target form's gradient is the expected form's negated */
START_TEST(test_hybrid_grad_dqmq_target_below)
{
    check_hybrid_gradient(AGENT_HEAD_DQMQ, 1, AGENT_COST_TARGET, 1);
}
END_TEST
START_TEST(test_hybrid_grad_gumbel_target_above)
{
    check_hybrid_gradient(AGENT_HEAD_GUMBEL, 0, AGENT_COST_TARGET, 0);
}
END_TEST

/* ---- the cost forms ---- */

/* value and plan gradient of kind at target; gw zeroed first */
static double cost_of(rig *g, int kind, float target, int argmax, double *mean)
{
    size_t lk = (size_t)g->n * (size_t)g->qn->plan->nlayers * (size_t)g->qn->plan->ncand;
    memset(g->gw, 0, 2 * lk * sizeof *g->gw);
    agent_objective o = {kind, 0.7f, target, argmax};
    return agent_cost_term(&o, &g->qn->cost, g->qn->plan, g->n, g->gw, g->ga, mean);
}

START_TEST(test_cost_forms)
{
    enum { B = 8, D = 6 };
    rig g;
    rig_make(&g, B, D, 5, 0, "2,4,8", 1, AGENT_HEAD_DQMQ, 8);
    nn_rng r;
    nn_rng_init(&r, 23, NN_STREAM_TEST, 1, 0);
    for (int i = 0; i < B * F; i++)
        g.feat[i] = nn_rng_normal(&r);
    agent_policy_forward(g.pol, g.feat, B, 0, g.qn->plan);
    size_t lk = (size_t)B * (size_t)g.qn->plan->nlayers * (size_t)g.qn->plan->ncand;
    double m;
    double ce = cost_of(&g, AGENT_COST_EXPECTED, 0, 0, &m);
    ck_assert(m > 0.05 && m < 1.0);
    ck_assert_double_eq_tol(ce, 0.7 * m, 1e-6);
    float *ge = malloc(lk * sizeof *ge);
    memcpy(ge, g.gw, lk * sizeof *ge);
    double gsum = 0;
    for (size_t j = 0; j < lk; j++)
        gsum += fabs(ge[j]);
    ck_assert(gsum > 0);
    /* below the target: the budget is silent, the target form pulls up */
    ck_assert_double_eq(cost_of(&g, AGENT_COST_BUDGET, (float)m + 0.1f, 0, NULL), 0.0);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq(g.gw[j], 0.0f);
    ck_assert_double_eq_tol(cost_of(&g, AGENT_COST_TARGET, (float)m + 0.1f, 0, NULL), 0.07, 1e-6);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq_tol(g.gw[j], -ge[j], 1e-6f);
    /* above it both push down like the expected form */
    ck_assert_double_eq_tol(cost_of(&g, AGENT_COST_BUDGET, (float)m - 0.05f, 0, NULL), 0.035, 1e-6);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq_tol(g.gw[j], ge[j], 1e-6f);
    ck_assert_double_eq_tol(cost_of(&g, AGENT_COST_TARGET, (float)m - 0.05f, 0, NULL), 0.035, 1e-6);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq_tol(g.gw[j], ge[j], 1e-6f);
    /* argmax: every row (0.3, 0.3, 0.4) over {2, 4, 8} has its argmax at 8
     * bits, above its expectation; with a target between the two means the
     * argmax plans are above it (the ceiling acts) and the soft plan below */
    q_plan *p = g.qn->plan;
    for (size_t j = 0; j < lk; j++)
        p->pw[j] = j % 3 == 2 ? 0.4f : 0.3f;
    double ms, ma = 0;
    cost_of(&g, AGENT_COST_EXPECTED, 0, 0, &ms);
    memcpy(ge, g.gw, lk * sizeof *ge);
    q_plan_harden(p, B);
    for (int i = 0; i < B; i++)
        ma += q_cost_sample(&g.qn->cost, p, i, NULL, NULL).bitops / g.qn->cost.ref_int8 / B;
    p->mode = Q_PLAN_SOFT;
    ck_assert_msg(ma > ms + 0.01, "argmax mean %.4f, expected %.4f", ma, ms);
    float mid = (float)(ma + ms) / 2;
    double got;
    ck_assert_double_eq_tol(cost_of(&g, AGENT_COST_TARGET, mid, 1, &got), 0.7 * (ma - mid), 1e-6);
    ck_assert_double_eq_tol(got, ma, 1e-9);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq_tol(g.gw[j], ge[j], 1e-6f);
    ck_assert_double_eq_tol(cost_of(&g, AGENT_COST_BUDGET, mid, 1, NULL), 0.7 * (ma - mid), 1e-6);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq_tol(g.gw[j], ge[j], 1e-6f);
    /* the soft mean alone would pull up */
    ck_assert_double_eq_tol(cost_of(&g, AGENT_COST_TARGET, mid, 0, NULL), 0.7 * (mid - ms), 1e-6);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq_tol(g.gw[j], -ge[j], 1e-6f);
    /* under the ceiling the soft mean decides; the budget is silent */
    float above = (float)ma + 0.05f;
    ck_assert_double_eq_tol(cost_of(&g, AGENT_COST_TARGET, above, 1, NULL), 0.7 * (above - ms),
                            1e-6);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq_tol(g.gw[j], -ge[j], 1e-6f);
    ck_assert_double_eq(cost_of(&g, AGENT_COST_BUDGET, above, 1, NULL), 0.0);
    for (size_t j = 0; j < lk; j++)
        ck_assert_float_eq(g.gw[j], 0.0f);
    free(ge);
    rig_free(&g);
}
END_TEST

/* the policy trained on the cost term alone from mu_init; returns the mean
 * the term compares (of the argmax plans with argmax) and in *hard that of
 * the hardened plans, both averaged over the last 40 steps (argmax means
 * move in whole inputs around the target) */
static double cost_only(int kind, float target, float mu_init, int argmax, double *hard)
{
    enum { B = 16, D = 6 };
    rig g;
    rig_make(&g, B, D, 5, 0, "2,3,4,6,8", 1, AGENT_HEAD_DQMQ, 8);
    agent_policy_free(g.pol);
    agent_policy_cfg pc = {.nin = F, .hidden = 16, .nlayers = 1, .ncand = 5, .tied = 1,
                           .head = AGENT_HEAD_DQMQ, .sigma_min = 0.3f, .sigma_max = 1.0f,
                           .mu_init = mu_init, .max_batch = B};
    memcpy(pc.cand, g.qn->plan->cand, sizeof pc.cand);
    qa_err err;
    ck_assert_int_eq(agent_policy_create(&g.pol, &pc, 5, &err), QA_OK);
    nn_optim *po;
    nn_optim_cfg oc = {.type = NN_OPT_ADAMW, .lr = 0.01f};
    ck_assert_int_eq(nn_optim_create(&po, &oc, &g.pol->params, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 29, NN_STREAM_TEST, (uint32_t)kind, 0);
    for (int i = 0; i < B * F; i++)
        g.feat[i] = nn_rng_normal(&r);
    agent_objective o = {kind, 1.0f, target, argmax};
    q_plan *p = g.qn->plan;
    size_t lk = (size_t)B * (size_t)p->ncand;
    double mean = 0, last = 0;
    if (hard)
        *hard = 0;
    for (int s = 0; s < 400; s++) {
        agent_policy_forward(g.pol, g.feat, B, 0, p);
        memset(p->gpw, 0, lk * sizeof *p->gpw);
        agent_cost_term(&o, &g.qn->cost, p, B, p->gpw, p->gpa, &mean);
        last += s >= 360 ? mean / 40 : 0.0;
        if (hard && s >= 360) {
            q_plan_harden(p, B);
            for (int i = 0; i < B; i++)
                *hard += q_cost_sample(&g.qn->cost, p, i, NULL, NULL).bitops / g.qn->cost.ref_int8 /
                         (40 * B);
            p->mode = Q_PLAN_SOFT;
        }
        nn_params_zero_grad(&g.pol->params);
        agent_policy_backward(g.pol, p->gpw, p->gpa, B);
        nn_optim_step(po, oc.lr);
    }
    nn_optim_free(po);
    rig_free(&g);
    return last;
}

START_TEST(test_target_holds_mean)
{
    /* fc1 (30 MACs) planned, fc3 (20) pinned at 8 bits: the mean runs from
     * (30 * 4 + 20 * 64) / (50 * 64) = 0.44 at 2 bits to 1 at 8 */
    double up = cost_only(AGENT_COST_TARGET, 0.7f, 2.5f, 0, NULL);
    double down = cost_only(AGENT_COST_TARGET, 0.7f, 7.5f, 0, NULL);
    double budget = cost_only(AGENT_COST_BUDGET, 0.7f, 2.5f, 0, NULL);
    ck_assert_msg(fabs(up - 0.7) < 0.02, "from below: %.3f", up);
    ck_assert_msg(fabs(down - 0.7) < 0.02, "from above: %.3f", down);
    ck_assert_msg(budget < 0.55, "the budget moved the mean up to %.3f", budget);
    /* argmax plans cost 0.55 at 4 bits and 0.74 at 6: the target is met by
     * sending some inputs to each; the hardened plans say the same */
    double hard_up, hard_down;
    double arg_up = cost_only(AGENT_COST_TARGET, 0.7f, 2.5f, 1, &hard_up);
    double arg_down = cost_only(AGENT_COST_TARGET, 0.7f, 7.5f, 1, &hard_down);
    ck_assert_msg(fabs(arg_up - 0.7) < 0.02, "argmax from below: %.3f", arg_up);
    ck_assert_msg(fabs(arg_down - 0.7) < 0.02, "argmax from above: %.3f", arg_down);
    ck_assert_double_eq_tol(hard_up, arg_up, 1e-9);
    ck_assert_double_eq_tol(hard_down, arg_down, 1e-9);
}
END_TEST

/* ---- training on synthetic tasks ---- */

enum { TD = 16, TB = 64 };

typedef struct {
    float proto[NCLS][TD];
    float amp[2]; /* class-signal amplitude of quality 0 and 1 */
} task;

static void task_make(task *t, float amp0, float amp1)
{
    nn_rng r;
    nn_rng_init(&r, 31, NN_STREAM_TEST, 7, 0);
    for (int c = 0; c < NCLS; c++)
        for (int d = 0; d < TD; d++)
            t->proto[c][d] = nn_rng_uniform(&r) < 0.5f ? -1.0f : 1.0f;
    t->amp[0] = amp0;
    t->amp[1] = amp1;
}

/* a batch: half of each quality when amp differ; feature 0 = quality */
static void task_batch(const task *t, rig *g, nn_rng *r)
{
    float *x = nn_net_input(g->net);
    for (int i = 0; i < g->n; i++) {
        int q = i % 2, c = (int)nn_rng_below(r, NCLS);
        g->label[i] = c;
        g->feat[i * F] = (float)q;
        g->feat[i * F + 1] = 1.0f;
        for (int d = 0; d < TD; d++)
            x[i * TD + d] = t->amp[q] * t->proto[c][d] + 0.5f * nn_rng_normal(r);
    }
}

/* mean expected width of layer l over the samples of quality q */
static double mean_bits(const rig *g, int q, int l)
{
    const q_plan *p = g->qn->plan;
    double s = 0;
    int n = 0;
    for (int i = q; i < g->n; i += 2, n++)
        for (int k = 0; k < p->ncand; k++)
            s += q_plan_pw(p, i, l)[k] * p->cand[k];
    return s / n;
}

static void train(rig *g, const task *t, int steps)
{
    qa_err err;
    nn_optim *bo, *po;
    nn_optim_cfg bc = {.type = NN_OPT_SGD, .lr = 0.05f, .momentum = 0.9f};
    nn_optim_cfg pc = {.type = NN_OPT_ADAMW, .lr = 0.01f};
    ck_assert_int_eq(nn_optim_create(&bo, &bc, &g->net->params, &err), QA_OK);
    ck_assert_int_eq(nn_optim_create(&po, &pc, &g->pol->params, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 41, NN_STREAM_TEST, 8, 0);
    for (int s = 0; s < steps; s++) {
        task_batch(t, g, &r);
        if (s == 0)
            agent_policy_observe(g->pol, g->feat, g->n);
        hybrid_backward(g);
        nn_optim_step(bo, bc.lr);
        nn_optim_step(po, pc.lr);
    }
    task_batch(t, g, &r);
    hybrid_forward(g, NULL);
    nn_optim_free(bo);
    nn_optim_free(po);
}

static void check_lambda(float lambda, int widest)
{
    rig g;
    rig_make(&g, TB, TD, 24, 24, "2,3,4,6,8", 1, AGENT_HEAD_DQMQ, 0);
    g.obj = (agent_objective){AGENT_COST_EXPECTED, lambda, 0, 0};
    task t;
    task_make(&t, 0.6f, 0.6f);
    train(&g, &t, 300);
    for (int l = 0; l < g.qn->plan->nlayers; l++) {
        double b = 0.5 * (mean_bits(&g, 0, l) + mean_bits(&g, 1, l));
        if (widest)
            ck_assert_msg(b > 6.5, "lambda %g: layer %d at %.2f bits", (double)lambda, l, b);
        else
            ck_assert_msg(b < 2.25, "lambda %g: layer %d at %.2f bits", (double)lambda, l, b);
    }
    rig_free(&g);
}

START_TEST(test_lambda_zero_widest) { check_lambda(0.0f, 1); }
END_TEST
START_TEST(test_lambda_large_narrowest) { check_lambda(5.0f, 0); }
END_TEST

START_TEST(test_two_quality)
{
    rig g;
    rig_make(&g, TB, TD, 24, 24, "2,3,4,6,8", 1, AGENT_HEAD_DQMQ, 0);
    g.obj = (agent_objective){AGENT_COST_EXPECTED, 0.15f, 0, 0};
    task t;
    task_make(&t, 3.0f, 0.4f);
    train(&g, &t, 400);
    int more = 0, L = g.qn->plan->nlayers;
    char msg[256] = "";
    for (int l = 0; l < L; l++) {
        double b0 = mean_bits(&g, 0, l), b1 = mean_bits(&g, 1, l);
        more += b1 > b0 + 0.2;
        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " layer %d: %.2f vs %.2f", l, b0,
                 b1);
    }
    ck_assert_msg(2 * more > L, "weak inputs do not get more bits in most layers:%s", msg);
    rig_free(&g);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("agent");
    TCase *tc = tcase_create("hybrid");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hybrid_grad_dqmq_tied);
    tcase_add_test(tc, test_hybrid_grad_dqmq_untied);
    tcase_add_test(tc, test_hybrid_grad_gumbel_budget);
    tcase_add_test(tc, test_hybrid_grad_dqmq_target_below);
    tcase_add_test(tc, test_hybrid_grad_gumbel_target_above);
    tcase_add_test(tc, test_cost_forms);
    tcase_add_test(tc, test_target_holds_mean);
    tcase_add_test(tc, test_lambda_zero_widest);
    tcase_add_test(tc, test_lambda_large_narrowest);
    tcase_add_test(tc, test_two_quality);
    suite_add_tcase(s, tc);
    return s;
}
