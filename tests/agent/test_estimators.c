/* test_estimators.c: DQMQ's estimators in agent/ and the agent interface:
 *   - REINFORCE on a two-armed bandit: the mean of the estimator over many
 *     draws matches the analytic gradient of -E[R] (with and without a
 *     baseline), points to the better arm, and descending it makes the
 *     better arm the likely one; a sign error fails all three;
 *   - the per-sample cost forms (known answers on both sides of a target);
 *   - the critic's plan-gradient merge: layout, and against finite
 *     differences of the critic's mean prediction;
 *   - widths drawn from distributions (frequencies, keying, one-hot rows);
 *   - observations (oracle one-hot, features, constant);
 *   - DQMQ's agent, each estimator, on a toy environment whose loss is a
 *     known function of the width: learning moves the policy to the best
 *     width. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/action.h"
#include "agent/dqmq.h"
#include "agent/reinforce.h"
#include "agent/relax.h"
#include "check_main.h"
#include "nn/optim.h"

enum { NDRAW = 20000 };
static const int CAND2[2] = {2, 4};

/* p = softmax(theta) over two arms */
static void softmax2(const float *theta, float *p)
{
    agent_gumbel_forward(theta, NULL, 2, 1.0f, p);
}

/* The estimator's mean gradient wrt the logits over NDRAW draws from p,
 * arm k losing loss[k]; *se gets each component's standard error. */
static void reinforce_mean(const float *theta, const float *loss, double b, double *g, double *se)
{
    qa_err err;
    q_plan *plan;
    ck_assert_int_eq(q_plan_create(&plan, NDRAW, 1, CAND2, 2, 1, &err), QA_OK);
    float p[2];
    softmax2(theta, p);
    float *prob = malloc(NDRAW * 2 * sizeof *prob), *onehot = malloc(NDRAW * 2 * sizeof *onehot);
    float *R = malloc(NDRAW * sizeof *R), *gw = malloc(NDRAW * 2 * sizeof *gw);
    int *key = malloc(NDRAW * sizeof *key);
    for (int i = 0; i < NDRAW; i++) {
        prob[2 * i] = p[0];
        prob[2 * i + 1] = p[1];
        key[i] = i;
    }
    agent_plan_sample(prob, 1, key, NDRAW, 7, 0, plan, onehot);
    for (int i = 0; i < NDRAW; i++)
        R[i] = -loss[onehot[2 * i + 1] > 0.5f];
    agent_reinforce_grad(b, prob, onehot, R, NDRAW, 1, 1, 2, gw, NULL);
    double s[2] = {0, 0}, s2[2] = {0, 0};
    for (int i = 0; i < NDRAW; i++) {
        float gl[2];
        agent_gumbel_backward(p, gw + 2 * i, 2, 1.0f, gl); /* through the softmax */
        for (int j = 0; j < 2; j++) {
            s[j] += gl[j];
            s2[j] += (double)gl[j] * gl[j] * NDRAW; /* per-draw value is gl * NDRAW */
        }
    }
    for (int j = 0; j < 2; j++) {
        g[j] = s[j];
        double var = s2[j] - s[j] * s[j];
        se[j] = sqrt(var / NDRAW);
    }
    free(prob), free(onehot), free(R), free(gw), free(key);
    q_plan_free(plan);
}

START_TEST(test_reinforce_bandit_mean)
{
    const float theta[2] = {0.3f, -0.2f}, loss[2] = {1.0f, 0.2f}; /* arm 1 is better */
    float p[2];
    softmax2(theta, p);
    double mean_loss = p[0] * loss[0] + p[1] * loss[1];
    for (int with_b = 0; with_b < 2; with_b++) {
        double g[2], se[2];
        reinforce_mean(theta, loss, with_b ? -mean_loss : 0.0, g, se);
        for (int j = 0; j < 2; j++) {
            /* d/dtheta_j of E[loss] = sum_k p_k loss_k */
            double want = p[j] * (loss[j] - mean_loss);
            ck_assert_msg(fabs(g[j] - want) < 4 * se[j] + 1e-6,
                          "baseline %d, arm %d: mean %g, analytic %g (se %g)", with_b, j, g[j],
                          want, se[j]);
        }
        ck_assert_double_lt(g[1], 0.0); /* descending raises the better arm */
        ck_assert_double_gt(g[0], 0.0);
    }
}
END_TEST

/* Gradient descent on the logits with the estimator (its baseline moving
 * as agent_reinforce_step moves it) makes the better arm the likely one. */
START_TEST(test_reinforce_bandit_learns)
{
    qa_err err;
    enum { N = 64 };
    q_plan *plan;
    ck_assert_int_eq(q_plan_create(&plan, N, 1, CAND2, 2, 1, &err), QA_OK);
    agent_objective obj = {AGENT_COST_EXPECTED, 0.0f, 0.0f, 0};
    agent_reinforce rf = {.momentum = 0.9f};
    const float loss_of[2] = {1.0f, 0.2f};
    float theta[2] = {1.0f, -1.0f}, prob[2 * N], onehot[2 * N], loss[N], R[N], gw[2 * N];
    double bitops[N] = {0}, cost = 0;
    int key[N];
    for (int step = 0; step < 300; step++) {
        float p[2], gl[2], g[2] = {0, 0};
        softmax2(theta, p);
        for (int i = 0; i < N; i++) {
            prob[2 * i] = p[0], prob[2 * i + 1] = p[1];
            key[i] = step * N + i;
        }
        agent_plan_sample(prob, 1, key, N, 3, 0, plan, onehot);
        for (int i = 0; i < N; i++)
            loss[i] = loss_of[onehot[2 * i + 1] > 0.5f];
        agent_reinforce_step(&rf, &obj, bitops, 1.0, loss, prob, onehot, N, 1, 1, 2, R, gw, NULL,
                             &cost);
        for (int i = 0; i < N; i++) {
            agent_gumbel_backward(p, gw + 2 * i, 2, 1.0f, gl);
            g[0] += gl[0], g[1] += gl[1];
        }
        theta[0] -= 1.0f * g[0];
        theta[1] -= 1.0f * g[1];
    }
    float p[2];
    softmax2(theta, p);
    ck_assert_msg(p[1] > 0.95f, "p(better arm) = %g after 300 steps", (double)p[1]);
    ck_assert_int_eq(rf.have_baseline, 1);
    ck_assert_double_lt(rf.baseline, -0.1); /* near -0.2, the better arm's reward */
    ck_assert_double_gt(rf.baseline, -0.5);
    q_plan_free(plan);
}
END_TEST

/* R, the first baseline and its update by hand: two samples, lambda 2,
 * budget 0.5 on BitOps / ref 0.25 and 0.75 (mean 0.5) */
START_TEST(test_reinforce_step_known)
{
    agent_objective obj = {AGENT_COST_BUDGET, 2.0f, 0.5f, 0};
    agent_reinforce rf = {.momentum = 0.5f};
    const double bitops[2] = {25, 75};
    const float loss[2] = {1.0f, 0.5f}, prob[4] = {0.5f, 0.5f, 0.25f, 0.75f},
                onehot[4] = {1, 0, 0, 1};
    float R[2], gw[4];
    double cost = 0;
    agent_reinforce_step(&rf, &obj, bitops, 100.0, loss, prob, onehot, 2, 1, 1, 2, R, gw, NULL,
                         &cost);
    /* c = (0, 0.25): R = -(1 + 0) = -1, -(0.5 + 2 * 0.25) = -1; cost = 2 * 0.25 / 2 */
    ck_assert_float_eq(R[0], -1.0f);
    ck_assert_float_eq(R[1], -1.0f);
    ck_assert_double_eq(cost, 0.25);
    /* baseline = mean R = -1: zero advantage, zero gradient; then it stays */
    for (int j = 0; j < 4; j++)
        ck_assert_float_eq(gw[j], 0.0f);
    ck_assert_double_eq(rf.baseline, -1.0);
    const float loss2[2] = {0.0f, 2.0f};
    agent_reinforce_step(&rf, &obj, bitops, 100.0, loss2, prob, onehot, 2, 1, 1, 2, R, gw, NULL,
                         &cost);
    /* R = (0, -2.5): g = -(R - b) / (n p) at the drawn widths = -(1) / (2 * 0.5), -(-1.5) / (2 * 0.75) */
    ck_assert_float_eq_tol(gw[0], -1.0f, 1e-6f);
    ck_assert_float_eq(gw[1], 0.0f);
    ck_assert_float_eq(gw[2], 0.0f);
    ck_assert_float_eq_tol(gw[3], 1.0f, 1e-6f);
    ck_assert_double_eq_tol(rf.baseline, 0.5 * -1.0 + 0.5 * -1.25, 1e-12);
}
END_TEST

START_TEST(test_cost_sample)
{
    agent_objective e = {AGENT_COST_EXPECTED, 1, 0.3f, 0}, b = {AGENT_COST_BUDGET, 1, 0.3f, 0},
                    t = {AGENT_COST_TARGET, 1, 0.3f, 0};
    ck_assert_double_eq(agent_cost_sample(&e, 0.5, 0.1), 0.5);
    ck_assert_double_eq_tol(agent_cost_sample(&b, 0.5, 0.1), 0.2, 1e-7);
    ck_assert_double_eq(agent_cost_sample(&b, 0.2, 0.9), 0.0);
    /* target: the batch mean's side decides the sign for every sample */
    ck_assert_double_eq_tol(agent_cost_sample(&t, 0.5, 0.4), 0.2, 1e-7);
    ck_assert_double_eq_tol(agent_cost_sample(&t, 0.2, 0.4), -0.1, 1e-7);
    ck_assert_double_eq_tol(agent_cost_sample(&t, 0.5, 0.2), -0.2, 1e-7);
    ck_assert_double_eq_tol(agent_cost_sample(&t, 0.2, 0.2), 0.1, 1e-7);
}
END_TEST

START_TEST(test_critic_merge_layout)
{
    enum { N = 2, L = 2, K = 3 };
    float gp[N * 2 * L * K], gw[N * L * K], ga[N * L * K];
    for (int j = 0; j < N * 2 * L * K; j++)
        gp[j] = (float)(j + 1);
    for (int j = 0; j < N * L * K; j++)
        gw[j] = ga[j] = 100.0f;
    agent_critic_merge(gp, N, 2, L, K, gw, ga);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < L * K; j++) {
            ck_assert_float_eq(gw[i * L * K + j], 100.0f + gp[(i * 2 + 0) * L * K + j]);
            ck_assert_float_eq(ga[i * L * K + j], 100.0f + gp[(i * 2 + 1) * L * K + j]);
        }
    for (int j = 0; j < N * L * K; j++)
        ga[j] = 7.0f;
    agent_critic_merge(gp, N, 1, L, K, gw, ga); /* tied: ga untouched */
    for (int j = 0; j < N * L * K; j++)
        ck_assert_float_eq(ga[j], 7.0f);
    ck_assert_float_eq(gw[L * K], 100.0f + gp[2 * L * K] + gp[L * K]);
}
END_TEST

/* mean over samples of the critic's prediction */
static double critic_mean(agent_critic *cr, const float *o, const float *p, int n)
{
    agent_critic_predict(cr, o, p, n);
    double s = 0;
    for (int i = 0; i < n; i++)
        s += cr->pred[i];
    return s / n;
}

/* The merged plan gradient (untied: weights and activations) is the
 * derivative of the critic's mean prediction wrt each side's probabilities. */
START_TEST(test_critic_merge_fd)
{
    enum { N = 3, F = 2, L = 2, K = 3, P = 2 * L * K };
    qa_err err;
    agent_critic *cr;
    ck_assert_int_eq(agent_critic_create(&cr, F, P, 8, N, 5, &err), QA_OK);
    float o[N * F], p[N * P], gp[N * P], gw[N * L * K] = {0}, ga[N * L * K] = {0};
    nn_rng g;
    nn_rng_init(&g, 9, NN_STREAM_TEST, 0, 0);
    for (int j = 0; j < N * F; j++)
        o[j] = nn_rng_normal(&g);
    for (int j = 0; j < N * P; j++)
        p[j] = nn_rng_uniform(&g);
    agent_critic_grad(cr, o, p, N, 1.0f, gp);
    agent_critic_merge(gp, N, 2, L, K, gw, ga);
    for (int i = 0; i < N; i++)
        for (int s = 0; s < 2; s++)
            for (int j = 0; j < L * K; j++) {
                float *x = &p[(i * 2 + s) * L * K + j], keep = *x, h = 1e-2f;
                *x = keep + h;
                double up = critic_mean(cr, o, p, N);
                *x = keep - h;
                double down = critic_mean(cr, o, p, N);
                *x = keep;
                double fd = (up - down) / (2 * h), got = (s ? ga : gw)[i * L * K + j];
                ck_assert_msg(fabs(fd - got) < 1e-3 + 1e-2 * fabs(fd),
                              "sample %d side %d entry %d: merged %g, fd %g", i, s, j, got, fd);
            }
    agent_critic_free(cr);
}
END_TEST

/* Widths drawn from p come out with p's frequencies, the same for a key
 * wherever it sits in a batch, with their one-hot rows (and those of
 * agent_plan_onehot) marking them. */
START_TEST(test_plan_sample)
{
    qa_err err;
    enum { N = 6000 };
    const int cand[3] = {2, 4, 8};
    q_plan *plan;
    ck_assert_int_eq(q_plan_create(&plan, N, 1, cand, 3, 0, &err), QA_OK);
    float *prob = malloc(N * 6 * sizeof *prob), *oh = malloc(N * 6 * sizeof *oh);
    float *oh2 = malloc(N * 6 * sizeof *oh2);
    int *key = malloc(N * sizeof *key), count[2][3] = {{0}};
    const float pw[3] = {0.2f, 0.5f, 0.3f}, pa[3] = {0.6f, 0.1f, 0.3f};
    for (int i = 0; i < N; i++) {
        memcpy(prob + 6 * i, pw, sizeof pw);
        memcpy(prob + 6 * i + 3, pa, sizeof pa);
        key[i] = i;
    }
    agent_plan_sample(prob, 2, key, N, 11, 4, plan, oh);
    ck_assert_int_eq(plan->mode, Q_PLAN_HARD);
    for (int i = 0; i < N; i++)
        for (int s = 0; s < 2; s++) {
            int bits = (s ? q_plan_abits(plan, i) : q_plan_wbits(plan, i))[0];
            int k = q_plan_cand_index(plan, bits);
            count[s][k]++;
            ck_assert_float_eq(oh[6 * i + 3 * s + k], 1.0f);
        }
    for (int k = 0; k < 3; k++) {
        ck_assert_double_eq_tol(count[0][k] / (double)N, pw[k], 0.02);
        ck_assert_double_eq_tol(count[1][k] / (double)N, pa[k], 0.02);
    }
    agent_plan_onehot(plan, 2, N, oh2);
    ck_assert_mem_eq(oh, oh2, N * 6 * sizeof *oh);
    /* sample 5 alone, drawn again: the same widths */
    uint8_t w5 = q_plan_wbits(plan, 5)[0], a5 = q_plan_abits(plan, 5)[0];
    agent_plan_sample(prob, 2, key + 5, 1, 11, 4, plan, oh);
    ck_assert_int_eq(q_plan_wbits(plan, 0)[0], w5);
    ck_assert_int_eq(q_plan_abits(plan, 0)[0], a5);
    /* random widths: uniform over the candidates */
    int ucount[3] = {0};
    agent_plan_random(NULL, key, N, 11, 0, plan);
    for (int i = 0; i < N; i++)
        ucount[q_plan_cand_index(plan, q_plan_wbits(plan, i)[0])]++;
    for (int k = 0; k < 3; k++)
        ck_assert_double_eq_tol(ucount[k] / (double)N, 1.0 / 3.0, 0.02);
    free(prob), free(oh), free(oh2), free(key);
    q_plan_free(plan);
}
END_TEST

START_TEST(test_observe)
{
    const int corr[2] = {-1, 4}, sev[2] = {0, 5};
    const float feat[4] = {1, 2, 3, 4};
    int n = agent_obs_size(AGENT_OBS_ORACLE, 12);
    ck_assert_int_eq(n, AGENT_ORACLE_NCORR + 2);
    float x[2 * (AGENT_ORACLE_NCORR + 2)];
    agent_observe(AGENT_OBS_ORACLE, corr, sev, feat, 2, 2, x, n);
    ck_assert_float_eq(x[0], 1.0f); /* clean: slot 0 */
    ck_assert_float_eq(x[n - 1], 0.0f);
    ck_assert_float_eq(x[n + 5], 1.0f); /* corruption 4: slot 5 */
    ck_assert_float_eq(x[2 * n - 1], 1.0f);
    ck_assert_int_eq(agent_obs_size(AGENT_OBS_FEATURES, 2), 2);
    agent_observe(AGENT_OBS_FEATURES, corr, sev, feat, 2, 2, x, 2);
    ck_assert_mem_eq(x, feat, sizeof feat);
    ck_assert_int_eq(agent_obs_size(AGENT_OBS_FEATURES, 0), 1);
    ck_assert_int_eq(agent_obs_size(AGENT_OBS_CONSTANT, 12), 1);
    agent_observe(AGENT_OBS_CONSTANT, corr, sev, feat, 2, 2, x, 1);
    ck_assert_float_eq(x[0], 1.0f);
    ck_assert_float_eq(x[1], 1.0f);
}
END_TEST

/* ---- DQMQ's agent on a toy environment: one planned layer, widths
 * {2, 4, 8}, a sample's task loss LOSS[k] at width k (4 bits is best), no
 * cost term. Each estimator, through agent_act / agent_learn and Adam on
 * the sets learn names, moves the policy's mass to 4 bits. ---- */

static const float LOSS[3] = {1.0f, 0.1f, 0.8f};

static double mass_at_4(agent_dqmq *a, q_plan *plan, const agent_obs *o)
{
    agent_act(&a->base, o, AGENT_ACT_GREEDY, plan);
    double m = 0;
    for (int i = 0; i < o->n; i++)
        m += q_plan_pw(plan, i, 0)[1];
    return m / o->n;
}

static double train_toy(int estimator, double *before)
{
    enum { N = 32 };
    const int cand[3] = {2, 4, 8};
    qa_err err;
    q_plan *plan;
    ck_assert_int_eq(q_plan_create(&plan, N, 1, cand, 3, 1, &err), QA_OK);
    q_cost_layer cl = {.name = "l", .type = "dense", .macs = 100, .params = 10};
    q_cost_model cm;
    ck_assert_int_eq(q_cost_model_init(&cm, &cl, 1, &err), QA_OK);
    agent_cfg c = {.observation = AGENT_OBS_CONSTANT, .head = AGENT_HEAD_DQMQ, .hidden = 8,
                   .sigma_min = 0.3f, .sigma_max = 2.0f, .mu_init = 7.0f, .tau = 1.0f,
                   .critic_hidden = 16};
    agent_train_cfg t = {.optimizer = estimator, .lr = 0.01f, .cost = AGENT_COST_EXPECTED,
                         .critic_lr = 0.01f, .baseline_momentum = 0.9f};
    agent_dqmq *a;
    ck_assert_int_eq(agent_dqmq_create(&a, &c, &t, plan, &cm, 1, N, 3, &err), QA_OK);
    nn_optim *opt[AGENT_MAX_SETS] = {0};
    for (int i = 0; i < a->base.nsets; i++) {
        nn_optim_cfg oc = {.type = NN_OPT_ADAMW, .lr = a->base.sets[i].lr};
        ck_assert_int_eq(nn_optim_create(&opt[i], &oc, a->base.sets[i].params, &err), QA_OK);
    }
    float x[N], loss[N];
    int key[N];
    for (int i = 0; i < N; i++)
        x[i] = 1.0f, key[i] = i;
    agent_obs o = {N, 1, x, key, 3, 0};
    *before = mass_at_4(a, plan, &o);
    for (int step = 0; step < 400; step++) {
        o.round = (uint32_t)step;
        agent_act(&a->base, &o, AGENT_ACT_TRAIN, plan);
        int soft = plan->mode == Q_PLAN_SOFT;
        for (int i = 0; i < N; i++) {
            const float *p = q_plan_pw(plan, i, 0);
            int k = q_plan_cand_index(plan, q_plan_wbits(plan, i)[0]);
            loss[i] = soft ? p[0] * LOSS[0] + p[1] * LOSS[1] + p[2] * LOSS[2] : LOSS[k];
            for (int j = 0; j < 3; j++) /* d(mean loss)/dp: the backbone's part */
                q_plan_gpw(plan, i, 0)[j] = LOSS[j] / N;
        }
        agent_feedback f = {N, loss, soft ? plan->gpw : NULL, soft ? plan->gpa : NULL};
        agent_stats st = {0};
        unsigned learned = agent_learn(&a->base, &o, plan, &f, &st);
        ck_assert_uint_ne(learned & 1u, 0);
        for (int i = 0; i < a->base.nsets; i++)
            if (learned >> i & 1u)
                nn_optim_step(opt[i], a->base.sets[i].lr);
    }
    double after = mass_at_4(a, plan, &o);
    for (int i = 0; i < AGENT_MAX_SETS; i++)
        nn_optim_free(opt[i]);
    agent_free(&a->base);
    q_cost_model_free(&cm);
    q_plan_free(plan);
    return after;
}

START_TEST(test_dqmq_agent_toy)
{
    static const char *const name[] = {"analytic", "critic", "reinforce"};
    for (int e = AGENT_OPT_ANALYTIC; e <= AGENT_OPT_REINFORCE; e++) {
        double before, after = train_toy(e, &before);
        ck_assert_msg(before < 0.3 && after > 0.6, "%s: p(4 bits) %g -> %g", name[e], before,
                      after);
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("agent_estimators");
    TCase *tc = tcase_create("estimators");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reinforce_bandit_mean);
    tcase_add_test(tc, test_reinforce_bandit_learns);
    tcase_add_test(tc, test_reinforce_step_known);
    tcase_add_test(tc, test_cost_sample);
    tcase_add_test(tc, test_critic_merge_layout);
    tcase_add_test(tc, test_critic_merge_fd);
    tcase_add_test(tc, test_plan_sample);
    tcase_add_test(tc, test_observe);
    tcase_add_test(tc, test_dqmq_agent_toy);
    suite_add_tcase(s, tc);
    return s;
}
