/* test_policy.c: agent/ on its own: the relaxed distributions and the
 * policy network checked against finite differences (two-parameter head,
 * Gumbel soft and straight-through with fixed noise, tied and untied),
 * known values, the policy's MAC count against the small backbone's, the
 * feature statistics, and the critic's regression on held-out tuples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/critic.h"
#include "agent/policy.h"
#include "agent/relax.h"
#include "check_main.h"
#include "nn/gradcheck.h"
#include "nn/optim.h"
#include "nn/rng.h"

static const float CAND[5] = {2, 3, 4, 6, 8};

/* ---- the two-parameter distribution ---- */

typedef struct {
    float mu, sigma;
    const float *R; /* L = sum_k R_k p_k */
} dqmq_ctx;

static double dqmq_loss(void *arg)
{
    dqmq_ctx *c = arg;
    float p[5];
    agent_dqmq_forward(CAND, 5, c->mu, c->sigma, p);
    double s = 0;
    for (int k = 0; k < 5; k++)
        s += (double)c->R[k] * p[k];
    return s;
}

START_TEST(test_dqmq_known)
{
    float p[5];
    agent_dqmq_forward(CAND, 5, 4.0f, 1.0f, p);
    /* z = -(c - 4)^2 / 2 = -2, -0.5, 0, -2, -8 */
    double e[5] = {exp(-2.0), exp(-0.5), 1.0, exp(-2.0), exp(-8.0)}, s = 0;
    for (int k = 0; k < 5; k++)
        s += e[k];
    for (int k = 0; k < 5; k++)
        ck_assert_double_eq_tol(p[k], e[k] / s, 1e-6);
    /* tiny sigma: one-hot at the nearest candidate, no NaN */
    agent_dqmq_forward(CAND, 5, 6.2f, 0.01f, p);
    ck_assert_float_eq(p[3], 1.0f);
    ck_assert_float_eq(p[0], 0.0f);
    ck_assert_int_eq(q_plan_argmax(p, 5), 3);
}
END_TEST

START_TEST(test_dqmq_gradient)
{
    nn_rng r;
    nn_rng_init(&r, 5, NN_STREAM_TEST, 1, 0);
    for (int t = 0; t < 20; t++) {
        float R[5], p[5], gmu, gsig;
        for (int k = 0; k < 5; k++)
            R[k] = nn_rng_normal(&r);
        dqmq_ctx c = {2.0f + 6.0f * nn_rng_uniform(&r), 0.3f + 2.0f * nn_rng_uniform(&r), R};
        agent_dqmq_forward(CAND, 5, c.mu, c.sigma, p);
        agent_dqmq_backward(CAND, 5, c.mu, c.sigma, p, R, &gmu, &gsig);
        nn_gradcheck_cfg gc = {.eps = 1e-3f, .rtol = 1e-2f, .atol = 1e-4f};
        nn_gradcheck_result res = {0};
        qa_err err;
        ck_assert_msg(nn_gradcheck_vec(dqmq_loss, &c, &c.mu, &gmu, 1, "mu", &gc, &res, &err) ==
                          QA_OK, "%s", err.msg);
        ck_assert_msg(nn_gradcheck_vec(dqmq_loss, &c, &c.sigma, &gsig, 1, "sigma", &gc, &res,
                                       &err) == QA_OK, "%s", err.msg);
    }
}
END_TEST

START_TEST(test_heads)
{
    float d;
    ck_assert_float_eq_tol(agent_mu_head(0.0f, 2, 8, &d), 5.0f, 1e-6);
    ck_assert_float_eq_tol(d, 3.0f, 1e-6);
    ck_assert_float_lt(agent_mu_head(-30.0f, 2, 8, &d), 2.0001f);
    ck_assert_float_gt(agent_mu_head(30.0f, 2, 8, &d), 7.9999f);
    ck_assert_float_eq_tol(agent_sigma_head(0.0f, 0.5f, 2.5f, &d), 1.5f, 1e-6);
    ck_assert_float_eq_tol(d, 0.5f, 1e-6);
    float h = 1e-3f, d0;
    float s0 = agent_sigma_head(0.7f, 0.5f, 2.5f, &d0);
    float s1 = agent_sigma_head(0.7f + h, 0.5f, 2.5f, &d);
    ck_assert_float_eq_tol((s1 - s0) / h, d0, 2e-3);
}
END_TEST

/* ---- Gumbel-softmax ---- */

typedef struct {
    float l[5], g[5], tau;
    const float *R;
} gumbel_ctx;

static double gumbel_loss(void *arg)
{
    gumbel_ctx *c = arg;
    float y[5];
    agent_gumbel_forward(c->l, c->g, 5, c->tau, y);
    double s = 0;
    for (int k = 0; k < 5; k++)
        s += (double)c->R[k] * y[k];
    return s;
}

START_TEST(test_gumbel_gradient)
{
    nn_rng r;
    nn_rng_init(&r, 6, NN_STREAM_TEST, 2, 0);
    for (int t = 0; t < 20; t++) {
        float R[5], y[5], gl[5];
        gumbel_ctx c;
        c.tau = 0.5f + 4.5f * nn_rng_uniform(&r);
        c.R = R;
        for (int k = 0; k < 5; k++) {
            R[k] = nn_rng_normal(&r);
            c.l[k] = nn_rng_normal(&r);
        }
        agent_gumbel_noise(&r, c.g, 5);
        agent_gumbel_forward(c.l, c.g, 5, c.tau, y);
        agent_gumbel_backward(y, R, 5, c.tau, gl);
        nn_gradcheck_cfg gc = {.eps = 1e-3f, .rtol = 1e-2f, .atol = 1e-4f};
        nn_gradcheck_result res = {0};
        qa_err err;
        ck_assert_msg(nn_gradcheck_vec(gumbel_loss, &c, c.l, gl, 5, "logits", &gc, &res, &err) ==
                          QA_OK, "%s", err.msg);
    }
}
END_TEST

/* Gumbel noise: mean 0.5772 (Euler-Mascheroni), and argmax(l + G) is a
 * draw from softmax(l) */
START_TEST(test_gumbel_noise)
{
    nn_rng r;
    nn_rng_init(&r, 7, NN_STREAM_TEST, 3, 0);
    const float l[3] = {0.0f, 1.0f, -1.0f};
    double mean = 0, cnt[3] = {0};
    int N = 20000;
    for (int t = 0; t < N; t++) {
        float g[3], y[3];
        agent_gumbel_noise(&r, g, 3);
        mean += g[0];
        agent_gumbel_forward(l, g, 3, 1.0f, y);
        cnt[q_plan_argmax(y, 3)] += 1;
    }
    ck_assert_double_eq_tol(mean / N, 0.5772, 0.03);
    double z = 1 + exp(1.0) + exp(-1.0);
    ck_assert_double_eq_tol(cnt[1] / N, exp(1.0) / z, 0.015);
    ck_assert_double_eq_tol(cnt[2] / N, exp(-1.0) / z, 0.015);
}
END_TEST

/* ---- the policy network ---- */

typedef struct {
    agent_policy *pol;
    q_plan *plan;
    const float *x;
    const float *R; /* (B, S, L, K) projection of the relaxed distribution */
    int n;
} pol_ctx;

static double pol_loss(void *arg)
{
    pol_ctx *c = arg;
    agent_policy_forward(c->pol, c->x, c->n, 1, c->plan);
    const agent_policy_cfg *pc = &c->pol->cfg;
    size_t m = (size_t)c->n * c->pol->nside * pc->nlayers * pc->ncand;
    double s = 0;
    for (size_t j = 0; j < m; j++)
        s += (double)c->R[j] * c->pol->prob[j];
    return s;
}

static void check_policy(int head, int tied, int hard)
{
    enum { B = 6, F = 3, L = 3 };
    agent_policy_cfg pc = {.nin = F, .hidden = 8, .nlayers = L, .ncand = 5, .tied = tied,
                           .head = head, .hard = hard, .sigma_min = 0.3f, .sigma_max = 2.0f,
                           .tau = 1.5f, .max_batch = B};
    memcpy(pc.cand, (int[]){2, 3, 4, 6, 8}, sizeof(int) * 5);
    agent_policy *pol;
    q_plan *plan;
    qa_err err;
    ck_assert_msg(agent_policy_create(&pol, &pc, 11, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(q_plan_create(&plan, B, L, pc.cand, 5, tied, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 8, NN_STREAM_TEST, 4, (uint32_t)(head * 4 + tied * 2 + hard));
    float x[B * F], R[B * 2 * L * 5], gw[B * L * 5], ga[B * L * 5];
    for (int j = 0; j < B * F; j++)
        x[j] = nn_rng_normal(&r);
    for (int j = 0; j < B * 2 * L * 5; j++)
        R[j] = nn_rng_normal(&r);
    /* larger last-layer weights so the gradient is not dominated by biases */
    float *w3 = nn_params_value(&pol->params, pol->mlp.v_w3);
    for (size_t j = 0; j < pol->params.views[pol->mlp.v_w3].n; j++)
        w3[j] *= 10.0f;
    agent_policy_observe(pol, x, B);
    int key[B] = {0, 1, 2, 3, 4, 5};
    agent_policy_draw_noise(pol, 3, key, B, 0);
    pol_ctx c = {pol, plan, x, R, B};
    pol_loss(&c);
    /* the plan: soft rows equal the relaxed distribution, or its one-hot
     * (gumbel: the noisy argmax; dqmq: a draw, tested in test_policy_dqmq_draw) */
    for (int i = 0; i < B; i++)
        for (int l = 0; l < L; l++) {
            const float *p = agent_policy_prob(pol, i, 0, l), *row = q_plan_pw(plan, i, l);
            float sum = 0;
            for (int k = 0; k < 5; k++) {
                sum += row[k];
                if (hard && head == AGENT_HEAD_DQMQ)
                    ck_assert(row[k] == 0.0f || row[k] == 1.0f);
                else
                    ck_assert_float_eq(row[k], hard ? (k == q_plan_argmax(p, 5)) : p[k]);
            }
            ck_assert_float_eq_tol(sum, 1.0f, 1e-6f);
        }
    for (int i = 0; i < B; i++)
        for (int l = 0; l < L; l++) {
            memcpy(gw + (i * L + l) * 5, R + ((i * pol->nside) * L + l) * 5, 5 * sizeof(float));
            if (!tied)
                memcpy(ga + (i * L + l) * 5, R + ((i * 2 + 1) * L + l) * 5, 5 * sizeof(float));
        }
    nn_params_zero_grad(&pol->params);
    agent_policy_backward(pol, gw, ga, B);
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .rtol = 2e-2f, .atol = 2e-4f, .max_elems = 48,
                           .seed = 9};
    nn_gradcheck_result res = {0};
    for (int v = 0; v < pol->params.nviews; v++) {
        const nn_param_view *pv = &pol->params.views[v];
        if (pv->kind == NN_PARAM_BUFFER)
            continue;
        ck_assert_msg(nn_gradcheck_vec(pol_loss, &c, nn_params_value(&pol->params, v),
                                       nn_params_grad(&pol->params, v), pv->n, pv->name, &gc,
                                       &res, &err) == QA_OK,
                      "head %d tied %d hard %d: %s", head, tied, hard, err.msg);
    }
    ck_assert_int_gt(res.nchecked, 100);
    q_plan_free(plan);
    agent_policy_free(pol);
}

START_TEST(test_policy_dqmq_tied) { check_policy(AGENT_HEAD_DQMQ, 1, 0); }
END_TEST
START_TEST(test_policy_dqmq_untied) { check_policy(AGENT_HEAD_DQMQ, 0, 0); }
END_TEST
START_TEST(test_policy_gumbel_soft) { check_policy(AGENT_HEAD_GUMBEL, 0, 0); }
END_TEST
START_TEST(test_policy_gumbel_hard) { check_policy(AGENT_HEAD_GUMBEL, 1, 1); }
END_TEST
START_TEST(test_policy_dqmq_hard) { check_policy(AGENT_HEAD_DQMQ, 0, 1); }
END_TEST

/* hard dqmq: with noise, the plan's one-hot widths are draws from the
 * relaxed p (frequencies over many keys); without, p's argmax */
START_TEST(test_policy_dqmq_draw)
{
    enum { B = 4000 };
    agent_policy_cfg pc = {.nin = 1, .hidden = 4, .nlayers = 1, .ncand = 5, .tied = 1,
                           .head = AGENT_HEAD_DQMQ, .hard = 1, .sigma_min = 0.3f,
                           .sigma_max = 1.5f, .mu_init = 3.5f, .max_batch = B};
    memcpy(pc.cand, (int[]){2, 3, 4, 6, 8}, sizeof(int) * 5);
    agent_policy *pol;
    q_plan *plan;
    qa_err err;
    ck_assert_int_eq(agent_policy_create(&pol, &pc, 2, &err), QA_OK);
    ck_assert_int_eq(q_plan_create(&plan, B, 1, pc.cand, 5, 1, &err), QA_OK);
    static float x[B];
    static int key[B];
    for (int i = 0; i < B; i++)
        key[i] = i;
    agent_policy_draw_noise(pol, 5, key, B, 0);
    agent_policy_forward(pol, x, B, 1, plan);
    const float *p = agent_policy_prob(pol, 0, 0, 0);
    /* the same input everywhere: one p, spread over at least 3 widths */
    ck_assert_float_eq(agent_policy_prob(pol, B - 1, 0, 0)[1], p[1]);
    ck_assert_float_gt(p[0], 0.05f);
    ck_assert_float_gt(p[3], 0.02f);
    double cnt[5] = {0};
    for (int i = 0; i < B; i++)
        for (int k = 0; k < 5; k++)
            cnt[k] += q_plan_pw(plan, i, 0)[k];
    for (int k = 0; k < 5; k++) /* 4 binomial standard deviations at most */
        ck_assert_double_eq_tol(cnt[k] / B, p[k], 4.0 * sqrt(p[k] * (1.0 - p[k]) / B) + 1e-3);
    agent_policy_forward(pol, x, 1, 0, plan);
    for (int k = 0; k < 5; k++)
        ck_assert_float_eq(q_plan_pw(plan, 0, 0)[k], k == q_plan_argmax(p, 5));
    q_plan_free(plan);
    agent_policy_free(pol);
}
END_TEST

/* The `small` backbone has 1919872 MACs per sample (qadapt info); the
 * default policy (64 hidden) on 8 features, 2 planned layers, 5 widths,
 * untied, must cost under 1% of it. */
START_TEST(test_policy_macs)
{
    agent_policy_cfg pc = {.nin = 8, .hidden = 64, .nlayers = 2, .ncand = 5, .tied = 0,
                           .head = AGENT_HEAD_DQMQ, .sigma_min = 0.3f, .sigma_max = 2.0f,
                           .max_batch = 4};
    memcpy(pc.cand, (int[]){2, 3, 4, 6, 8}, sizeof(int) * 5);
    agent_policy *pol;
    qa_err err;
    ck_assert_int_eq(agent_policy_create(&pol, &pc, 1, &err), QA_OK);
    /* 64 * (8 + 64 + 2*2*2) + 2*2*5*4 */
    ck_assert_int_eq(agent_policy_macs(pol), 64 * 80 + 80);
    ck_assert_double_lt((double)agent_policy_macs(pol) / 1919872.0, 0.01);
    /* initial distribution: wide, centred on the middle width */
    q_plan *plan;
    ck_assert_int_eq(q_plan_create(&plan, 4, 2, pc.cand, 5, 0, &err), QA_OK);
    float x[4 * 8] = {0};
    agent_policy_forward(pol, x, 4, 0, plan);
    ck_assert_float_eq_tol(pol->mu[0], 5.0f, 0.5f);
    ck_assert_float_gt(pol->sigma[0], 1.5f);
    q_plan_free(plan);
    agent_policy_free(pol);
    pc.nin = 0;
    ck_assert_int_eq(agent_policy_create(&pol, &pc, 1, &err), QA_ERR_ARG);
    pc.nin = 8;
    pc.sigma_min = 0;
    ck_assert_int_eq(agent_policy_create(&pol, &pc, 1, &err), QA_ERR_ARG);
}
END_TEST

START_TEST(test_policy_observe)
{
    agent_policy_cfg pc = {.nin = 2, .hidden = 4, .nlayers = 1, .ncand = 2, .tied = 1,
                           .head = AGENT_HEAD_DQMQ, .sigma_min = 0.3f, .sigma_max = 2.0f,
                           .max_batch = 4};
    pc.cand[0] = 2;
    pc.cand[1] = 8;
    agent_policy *pol;
    qa_err err;
    ck_assert_int_eq(agent_policy_create(&pol, &pc, 1, &err), QA_OK);
    float x[8] = {1, 10, 3, 10, 5, 10, 7, 10};
    agent_policy_observe(pol, x, 4);
    const float *mean = nn_params_value(&pol->params, pol->v_mean);
    const float *var = nn_params_value(&pol->params, pol->v_var);
    ck_assert_float_eq(mean[0], 4.0f);
    ck_assert_float_eq(var[0], 5.0f);
    ck_assert_float_eq(mean[1], 10.0f);
    ck_assert_float_eq(var[1], 0.0f);
    float y[8] = {5, 10, 5, 10, 5, 10, 5, 10};
    agent_policy_observe(pol, y, 4);
    ck_assert_float_eq_tol(mean[0], 4.01f, 1e-5);
    agent_policy_free(pol);
}
END_TEST

/* ---- critic ---- */

/* loss of a tuple: quality o0 in [0, 1] times the narrowness of the plan */
static float true_loss(const float *o, const float *p, int L, int K)
{
    float s = 0.2f;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < K; k++)
            s += p[l * K + k] * o[0] * (float)(K - 1 - k) / (float)(K - 1);
    return s;
}

static void make_tuples(nn_rng *r, float *o, float *p, float *y, int n, int L, int K)
{
    for (int i = 0; i < n; i++) {
        o[i * 2] = nn_rng_uniform(r);
        o[i * 2 + 1] = nn_rng_normal(r);
        memset(p + i * L * K, 0, sizeof(float) * (size_t)(L * K));
        for (int l = 0; l < L; l++)
            p[i * L * K + l * K + (int)nn_rng_below(r, (uint32_t)K)] = 1.0f;
        y[i] = true_loss(o + i * 2, p + i * L * K, L, K) + 0.02f * nn_rng_normal(r);
    }
}

START_TEST(test_critic_regression)
{
    enum { N = 64, L = 2, K = 5 };
    agent_critic *cr;
    qa_err err;
    ck_assert_int_eq(agent_critic_create(&cr, 2, L * K, 32, N, 3, &err), QA_OK);
    nn_optim *opt;
    nn_optim_cfg oc = {.type = NN_OPT_ADAMW, .lr = 3e-3f};
    ck_assert_int_eq(nn_optim_create(&opt, &oc, &cr->params, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 4, NN_STREAM_TEST, 5, 0);
    float ho[N * 2], hp[N * L * K], hy[N], o[N * 2], p[N * L * K], y[N];
    make_tuples(&r, ho, hp, hy, N, L, K);
    float before = agent_critic_fit(cr, ho, hp, hy, N);
    for (int t = 0; t < 400; t++) {
        make_tuples(&r, o, p, y, N, L, K);
        agent_critic_fit(cr, o, p, y, N);
        nn_optim_step(opt, oc.lr);
    }
    float after = agent_critic_fit(cr, ho, hp, hy, N);
    ck_assert_msg(after < 0.1f * before && after < 0.01f, "held-out MSE %g -> %g",
                  (double)before, (double)after);
    /* its plan gradient: wider widths lower the predicted loss of a poor-quality input */
    float oq[2] = {1.0f, 0.0f}, pu[L * K], gp[L * K];
    for (int j = 0; j < L * K; j++)
        pu[j] = 1.0f / K;
    agent_critic_grad(cr, oq, pu, 1, 1.0f, gp);
    ck_assert_float_gt(gp[0], gp[K - 1]);
    ck_assert_float_gt(gp[K], gp[2 * K - 1]);
    nn_optim_free(opt);
    agent_critic_free(cr);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("agent");
    TCase *tc = tcase_create("policy");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_dqmq_known);
    tcase_add_test(tc, test_dqmq_gradient);
    tcase_add_test(tc, test_heads);
    tcase_add_test(tc, test_gumbel_gradient);
    tcase_add_test(tc, test_gumbel_noise);
    tcase_add_test(tc, test_policy_dqmq_tied);
    tcase_add_test(tc, test_policy_dqmq_untied);
    tcase_add_test(tc, test_policy_gumbel_soft);
    tcase_add_test(tc, test_policy_gumbel_hard);
    tcase_add_test(tc, test_policy_dqmq_hard);
    tcase_add_test(tc, test_policy_dqmq_draw);
    tcase_add_test(tc, test_policy_macs);
    tcase_add_test(tc, test_policy_observe);
    tcase_add_test(tc, test_critic_regression);
    suite_add_tcase(s, tc);
    return s;
}
