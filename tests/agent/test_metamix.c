/* test_metamix.c: MetaMix's maths (agent/metamix.h, quant/qmeta.h).
 * - the weight step's loss is the mean of the candidates' losses, and its
 *   gradient the mean of theirs: a known answer on a one-layer net worked
 *   by hand, which also differs from the mixture's loss;
 * - the architecture gradient through the mixture (and the penalty)
 *   against finite differences of the logits;
 * - the penalty's value and the side its gradient pushes, on both sides of
 *   the target, with and without the argmax ceiling;
 * - the held widths: at or under the target, a known first move, the
 *   argmax when it fits or with hold off;
 * - candidate plans, the plan's widths, bad configurations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metamix.h"
#include "agent/relax.h"
#include "check_main.h"
#include "nn/act.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/gradcheck.h"
#include "nn/pool.h"
#include "quant/qmeta.h"
#include "quant/qnet.h"

static agent_mm_cfg cfg_make(int c0, int c1, int c2)
{
    agent_mm_cfg c = {.cand = {c0, c1, c2}, .ncand = c2 ? 3 : 2, .search_w_bits = 32,
                      .w_bits = 4, .cost = AGENT_COST_TARGET, .lambda = 0, .target = 1,
                      .hold = 1, .finetune = 1, .arch_lr = 0.01f};
    return c;
}

static q_net *wrap(nn_net *net, const agent_mm_cfg *mc, int first, int last)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.ncand = agent_mm_plan_widths(mc, cfg.cand);
    cfg.tied = 0;
    cfg.first_bits = first;
    cfg.last_bits = last;
    q_net *qn;
    qa_err err;
    ck_assert_msg(q_net_wrap(&qn, net, &cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(nn_net_finalize(net, 5, &err) == QA_OK, "%s", err.msg);
    return qn;
}

static agent_metamix *agent_make(const agent_mm_cfg *mc, q_net *qn)
{
    agent_metamix *ag;
    qa_err err;
    ck_assert_msg(agent_metamix_create(&ag, mc, qn->plan, &qn->cost, &err) == QA_OK, "%s",
                  err.msg);
    return ag;
}

static float *view(nn_net *net, const char *name)
{
    int v = nn_params_find(&net->params, name);
    ck_assert_msg(v >= 0, "no view %s", name);
    return nn_params_value(&net->params, v);
}

/* ---- the weight step: a known answer ----
 * One planned dense layer 2 -> 2 reading the (signed) input, weights at 32
 * bits, W = [[1, 2], [-1, 0.5]], b = 0; activation candidates 2 bits (step
 * 0.5, codes -2..1) and 4 bits (step 0.1, codes -8..7). Inputs x1 = (0.3,
 * -0.7), label 0; x2 = (-0.2, 0.9), label 1:
 *   2 bits: Q(x1) = (0.5, -0.5), Q(x2) = (0, 0.5)
 *   4 bits: Q(x1) = (0.3, -0.7), Q(x2) = (-0.2, 0.7)
 * The mixture (r = 1/2 each, uniform logits) runs xbar = (Q2 + Q4) / 2. */
static const double W[4] = {1, 2, -1, 0.5};
static const double Q2[2][2] = {{0.5, -0.5}, {0, 0.5}}, Q4[2][2] = {{0.3, -0.7}, {-0.2, 0.7}};
static const int Y[2] = {0, 1};

/* CE of logits W q for label y, and dCE/dz */
static double ce(const double *q, int y, double *dz)
{
    double z[2] = {W[0] * q[0] + W[1] * q[1], W[2] * q[0] + W[3] * q[1]};
    double m = fmax(z[0], z[1]), s = exp(z[0] - m) + exp(z[1] - m);
    for (int j = 0; dz && j < 2; j++)
        dz[j] = exp(z[j] - m) / s - (j == y);
    return m + log(s) - z[y];
}

static nn_net *dense_net(void)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, 2, 1, 1, 2, &err), QA_OK);
    nn_dense_cfg dc = {"fc", 2, 1};
    ck_assert_int_gt(nn_dense_new(net, &dc, 0, &err), 0);
    return net;
}

/* the steps set directly (their own references), the weights, the input */
static void dense_setup(nn_net *net)
{
    static const float x[4] = {0.3f, -0.7f, -0.2f, 0.9f};
    view(net, "fc.a_step.b2")[0] = 0.5f;
    view(net, "fc.a_step.b4")[0] = 0.1f;
    view(net, "fc.a_state.b2")[Q_ST_INIT] = view(net, "fc.a_state.b4")[Q_ST_INIT] = 1.0f;
    for (int j = 0; j < 4; j++)
        view(net, "fc.w")[j] = (float)W[j];
    memset(view(net, "fc.b"), 0, 2 * sizeof(float));
    memcpy(nn_net_input(net), x, sizeof x);
}

static void fill_candidate(void *arg, int k, int n, q_plan *plan)
{
    agent_metamix_candidate(arg, k, n, plan);
}

START_TEST(test_weight_step_is_candidate_mean)
{
    agent_mm_cfg mc = cfg_make(2, 4, 0);
    nn_net *net = dense_net();
    q_net *qn = wrap(net, &mc, 0, 0);
    agent_metamix *ag = agent_make(&mc, qn);
    dense_setup(net);
    double want = 0.0, want_i[2] = {0, 0}, gW[4] = {0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2; i++) {
            double dz[2];
            const double *q = k ? Q4[i] : Q2[i];
            double l = ce(q, Y[i], dz);
            want += l / 4;
            want_i[i] += l / 2;
            for (int o = 0; o < 2; o++)
                for (int j = 0; j < 2; j++)
                    gW[o * 2 + j] += dz[o] * q[j] / 4;
        }
    q_meta_result m;
    float loss_i[2], work[2];
    q_meta_mean_step(net, qn->plan, 2, fill_candidate, ag, Y, 2, loss_i, work, &m);
    ck_assert_double_eq_tol(m.loss, want, 1e-6);
    ck_assert_double_eq_tol((m.loss_k[0] + m.loss_k[1]) / 2, m.loss, 1e-12);
    for (int i = 0; i < 2; i++)
        ck_assert_double_eq_tol(loss_i[i], want_i[i], 1e-6);
    const float *g = nn_params_grad(&net->params, nn_params_find(&net->params, "fc.w"));
    for (int j = 0; j < 4; j++)
        ck_assert_msg(fabs(g[j] - gW[j]) < 1e-6, "dL/dW[%d] %g, want %g", j, g[j], gW[j]);
    /* the mixture's loss: CE at xbar, a different number */
    double mix = 0.0;
    for (int i = 0; i < 2; i++) {
        double xb[2] = {(Q2[i][0] + Q4[i][0]) / 2, (Q2[i][1] + Q4[i][1]) / 2};
        mix += ce(xb, Y[i], NULL) / 2;
    }
    agent_obs o = {2, 0, NULL, NULL, 0, 0};
    agent_act(&ag->base, &o, AGENT_ACT_TRAIN, qn->plan);
    ck_assert_int_eq(qn->plan->mode, Q_PLAN_SOFT_A);
    nn_net_forward(net, 2, 1);
    float got = 0.0f;
    const float *z = nn_net_output(net)->data;
    for (int i = 0; i < 2; i++) {
        double zz = fmax(z[2 * i], z[2 * i + 1]);
        got += (float)((zz + log(exp(z[2 * i] - zz) + exp(z[2 * i + 1] - zz)) - z[2 * i + Y[i]]) / 2);
    }
    ck_assert_double_eq_tol(got, mix, 1e-6);
    ck_assert_msg(fabs(mix - want) > 1e-3, "mixture %g vs mean %g: no difference to test", mix,
                  want);
    agent_free(&ag->base);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* ---- the architecture gradient through the mixture ----
 * conv 1->3 (pinned 32 bits) -> relu -> conv 3->4 s2 (planned) -> relu ->
 * pool -> dense 4->3 (pinned 32): nothing after the planned layer rounds,
 * so the loss is smooth in its probabilities but for ReLU kinks. */
#define NB 4

static nn_net *conv_net(int c, int hw)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, NB, c, hw, hw, &err), QA_OK);
    nn_conv2d_cfg c1 = nn_conv2d_cfg_make("c1", 3, 3, 1, 1), c2 = nn_conv2d_cfg_make("c2", 4, 3, 2, 1);
    c1.bias = c2.bias = 1;
    nn_act_cfg r1 = {"r1", NN_ACT_RELU}, r2 = {"r2", NN_ACT_RELU};
    nn_pool_cfg pc = {"pool", NN_POOL_GLOBAL_AVG, 0, 0, 0};
    nn_dense_cfg dc = {"fc", 3, 1};
    int t = nn_conv2d_new(net, &c1, 0, &err);
    t = nn_act_new(net, &r1, t, &err);
    t = nn_conv2d_new(net, &c2, t, &err);
    t = nn_act_new(net, &r2, t, &err);
    t = nn_pool_new(net, &pc, t, &err);
    t = nn_dense_new(net, &dc, t, &err);
    ck_assert_msg(t > 0, "%s", err.msg);
    return net;
}

static void randomize(float *v, size_t n, uint32_t key, float scale)
{
    nn_rng r;
    nn_rng_init(&r, 31, NN_STREAM_TEST, key, 0);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * nn_rng_normal(&r);
}

typedef struct {
    agent_metamix *ag;
    nn_net *net;
    q_plan *plan;
    float R[NB * 3];
} arch_ctx;

/* sum R . y under the mixture plus the penalty */
static double arch_loss(void *arg)
{
    arch_ctx *c = arg;
    agent_obs o = {NB, 0, NULL, NULL, 0, 0};
    agent_act(&c->ag->base, &o, AGENT_ACT_TRAIN, c->plan);
    nn_net_forward(c->net, NB, 0);
    double l = 0.0;
    for (int i = 0; i < NB * 3; i++)
        l += (double)c->R[i] * nn_net_output(c->net)->data[i];
    return l + agent_metamix_penalty(c->ag, NULL, NULL, NULL);
}

START_TEST(test_arch_grad_fd)
{
    agent_mm_cfg mc = cfg_make(2, 4, 8);
    mc.lambda = 0.3f;
    mc.target = 0.01f; /* far below: the penalty's side never changes */
    mc.hold = 0;
    nn_net *net = conv_net(1, 6);
    q_net *qn = wrap(net, &mc, 32, 32);
    ck_assert_int_eq(qn->plan->nlayers, 1);
    agent_metamix *ag = agent_make(&mc, qn);
    randomize(nn_net_input(net), NB * 36, 1, 1.0f);
    randomize(ag->params.w, 3, 2, 1.0f);
    arch_ctx c = {ag, net, qn->plan, {0}};
    randomize(c.R, NB * 3, 3, 1.0f);
    agent_obs o = {NB, 0, NULL, NULL, 0, 0};
    agent_act(&ag->base, &o, AGENT_ACT_TRAIN, qn->plan);
    nn_net_forward(net, NB, 1); /* initialises the steps from this batch */
    nn_net_forward(net, NB, 0);
    memcpy(nn_net_output_grad(net), c.R, sizeof c.R);
    nn_net_backward(net, NB);
    agent_feedback f = {NB, NULL, NULL, qn->plan->gpa};
    agent_stats st = {0};
    ck_assert_uint_eq(agent_learn(&ag->base, &o, qn->plan, &f, &st), 1u);
    ck_assert_double_gt(st.cost, 0.0);
    float g[3];
    memcpy(g, ag->params.g, sizeof g);
    nn_gradcheck_cfg gc = {.eps = 1e-3f, .rtol = 2e-2f, .atol = 1e-5f, .kinks = 1};
    nn_gradcheck_result res = {0};
    qa_err err;
    ck_assert_msg(nn_gradcheck_vec(arch_loss, &c, ag->params.w, g, 3, "alpha", &gc, &res, &err) ==
                      QA_OK,
                  "%s", err.msg);
    agent_free(&ag->base);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* ---- the penalty ---- */

/* m = E[BitOps] / BitOps_8bit by hand: pinned layers at 8 x 8, the planned
 * one at w_bits x sum_k r_k c_k */
static double rel_by_hand(const q_net *qn, const agent_metamix *ag)
{
    double e = 0.0;
    for (int k = 0; k < ag->K; k++)
        e += ag->prob[k] * ag->cfg.cand[k];
    double b = 0.0, ref = 0.0;
    for (int j = 0; j < qn->cost.n; j++) {
        const q_cost_layer *L = &qn->cost.layers[j];
        b += (double)L->macs * (L->plan_layer >= 0 ? ag->cfg.w_bits * e : 64.0);
        ref += (double)L->macs * 64.0;
    }
    return b / ref;
}

/* sign of dC/dalpha_k for the widest (k = 2) and narrowest (k = 0) */
static void penalty_sides(agent_metamix *ag, double *c, int *narrow, int *wide)
{
    float g[3] = {0, 0, 0}, ga[3];
    *c = agent_metamix_penalty(ag, g, NULL, NULL);
    agent_gumbel_backward(ag->prob, g, 3, 1.0f, ga);
    *narrow = (ga[0] > 0) - (ga[0] < 0);
    *wide = (ga[2] > 0) - (ga[2] < 0);
}

START_TEST(test_penalty_sides)
{
    agent_mm_cfg mc = cfg_make(2, 4, 8);
    mc.lambda = 2.0f;
    mc.hold = 0;
    nn_net *net = conv_net(1, 6);
    q_net *qn = wrap(net, &mc, 8, 8);
    static const float logits[3] = {0.2f, -0.1f, 0.4f};
    agent_metamix *ag = agent_make(&mc, qn);
    memcpy(ag->params.w, logits, sizeof logits);
    agent_metamix_probs(ag);
    double m = rel_by_hand(qn, ag), soft, c;
    int narrow, wide;
    /* above the target: C = lambda (m - t), pushing toward narrow widths */
    ag->obj.target = (float)(0.8 * m);
    penalty_sides(ag, &c, &narrow, &wide);
    agent_metamix_penalty(ag, NULL, &soft, NULL);
    ck_assert_double_eq_tol(soft, m, 1e-6);
    ck_assert_double_eq_tol(c, 2.0 * (m - ag->obj.target), 1e-5);
    ck_assert_int_eq(narrow, -1);
    ck_assert_int_eq(wide, 1);
    /* below: C = lambda (t - m), pulling toward wide ones */
    ag->prob[0] = ag->prob[1] = 0.0f; /* the argmax plan (8 bits) by hand; */
    ag->prob[2] = 1.0f;                 /* the penalty recomputes prob */
    double am8 = rel_by_hand(qn, ag);
    ag->obj.target = (float)(1.2 * am8);
    penalty_sides(ag, &c, &narrow, &wide);
    ck_assert_double_eq_tol(c, 2.0 * (ag->obj.target - m), 1e-5);
    ck_assert_int_eq(narrow, 1);
    ck_assert_int_eq(wide, -1);
    /* between the mixture's and the argmax's: below for the mixture, but
     * with the ceiling the argmax above the target decides: pushed down */
    ag->obj.target = (float)(0.5 * (m + am8));
    ag->obj.argmax = 0;
    penalty_sides(ag, &c, &narrow, &wide);
    ck_assert_int_eq(narrow, 1);
    ck_assert_int_eq(wide, -1);
    ag->obj.argmax = 1;
    penalty_sides(ag, &c, &narrow, &wide);
    double arg;
    agent_metamix_penalty(ag, NULL, NULL, &arg);
    ck_assert_double_eq_tol(arg, am8, 1e-9);
    ck_assert_double_eq_tol(c, 2.0 * (am8 - ag->obj.target), 1e-5);
    ck_assert_int_eq(narrow, -1);
    ck_assert_int_eq(wide, 1);
    agent_free(&ag->base);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* ---- the held widths ----
 * conv_net with c1 and c2 planned (972 MACs each), fc pinned at 8 bits;
 * c1 sure of 8 bits, c2 nearly indifferent between the widths: the hold
 * lowers c2 first, though c1 comes first in the net. */
static double rel_at(const q_net *qn, int a1, int a2)
{
    int w[2] = {4, 4}, a[2] = {a1, a2};
    return q_cost_layers(&qn->cost, w, a).bitops / qn->cost.ref_int8;
}

static void held(agent_metamix *ag, double target, int *a, agent_mm_hold *h)
{
    int w[2];
    ag->cfg.target = (float)(target * (1 + 1e-6)); /* not rounded below the width's BitOps */
    agent_metamix_widths(ag, w, a, h);
    ck_assert_int_eq(w[0], ag->final ? 4 : 32);
}

START_TEST(test_hold)
{
    agent_mm_cfg mc = cfg_make(2, 4, 8);
    nn_net *net = conv_net(1, 6);
    q_net *qn = wrap(net, &mc, 0, 8);
    ck_assert_int_eq(qn->plan->nlayers, 2);
    ck_assert_int_eq(qn->cost.layers[0].macs, qn->cost.layers[1].macs);
    agent_metamix *ag = agent_make(&mc, qn);
    static const float logits[6] = {-4.6f, -4.6f, 0.0f, 0.0f, 0.095f, 0.21f};
    memcpy(ag->params.w, logits, sizeof logits);
    int a[2];
    agent_mm_hold h;
    held(ag, 1.0, a, &h); /* the argmax fits */
    ck_assert(a[0] == 8 && a[1] == 8 && h.moves == 0 && h.held_rel == h.argmax_rel);
    ck_assert_double_eq_tol(h.argmax_rel, rel_at(qn, 8, 8), 1e-12);
    held(ag, rel_at(qn, 8, 4), a, &h); /* one move: c2, the cheaper in probability */
    ck_assert_msg(a[0] == 8 && a[1] == 4 && h.moves == 1, "%d %d after %d", a[0], a[1], h.moves);
    ck_assert_double_le(h.held_rel, ag->cfg.target);
    held(ag, rel_at(qn, 4, 2), a, &h); /* c2 to the floor first, then c1 */
    ck_assert_msg(a[0] == 4 && a[1] == 2 && h.moves == 3, "%d %d after %d", a[0], a[1], h.moves);
    ck_assert_double_le(h.held_rel, ag->cfg.target);
    ag->final = 1;
    held(ag, 0.9 * rel_at(qn, 4, 2), a, &h); /* every width down */
    ck_assert(a[0] == 2 && a[1] == 2 && h.held_rel <= ag->cfg.target);
    ag->cfg.hold = 0;
    held(ag, 0.1, a, &h);
    ck_assert(a[0] == 8 && a[1] == 8 && h.moves == 0 && h.held_rel > ag->cfg.target);
    /* a greedy act runs the held widths, weights at w_bits (final) */
    ag->cfg.hold = 1;
    agent_obs o = {NB, 0, NULL, NULL, 0, 0};
    ag->cfg.target = (float)(rel_at(qn, 8, 4) * (1 + 1e-6));
    agent_act(&ag->base, &o, AGENT_ACT_GREEDY, qn->plan);
    for (int i = 0; i < NB; i++) {
        ck_assert(q_plan_abits(qn->plan, i)[0] == 8 && q_plan_abits(qn->plan, i)[1] == 4);
        ck_assert(q_plan_wbits(qn->plan, i)[0] == 4 && q_plan_wbits(qn->plan, i)[1] == 4);
    }
    ck_assert_int_eq(qn->plan->mode, Q_PLAN_HARD);
    agent_free(&ag->base);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

START_TEST(test_candidates_and_config)
{
    agent_mm_cfg mc = cfg_make(3, 4, 8);
    int wd[Q_MAX_CAND];
    ck_assert_int_eq(agent_mm_plan_widths(&mc, wd), 4);
    ck_assert(wd[0] == 3 && wd[1] == 4 && wd[2] == 8 && wd[3] == 32);
    nn_net *net = conv_net(1, 6);
    q_net *qn = wrap(net, &mc, 0, 8);
    agent_metamix *ag = agent_make(&mc, qn);
    for (int k = 0; k < 3; k++)
        for (int final = 0; final < 2; final++) {
            ag->final = final;
            agent_metamix_candidate(ag, k, NB, qn->plan);
            for (int i = 0; i < NB; i++)
                for (int l = 0; l < 2; l++) {
                    ck_assert_int_eq(q_plan_abits(qn->plan, i)[l], mc.cand[k]);
                    ck_assert_int_eq(q_plan_wbits(qn->plan, i)[l], final ? 4 : 32);
                }
        }
    agent_free(&ag->base);
    qa_err err;
    agent_mm_cfg bad = mc;
    bad.target = 0.01f; /* below every width at its narrowest */
    ck_assert_int_eq(agent_metamix_create(&ag, &bad, qn->plan, &qn->cost, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "metamix.target"));
    bad = mc;
    bad.cand[1] = 3;
    ck_assert_int_eq(agent_mm_cfg_check(&bad, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "ascending"));
    bad = mc;
    bad.finetune = 0;
    ck_assert_int_eq(agent_mm_cfg_check(&bad, &err), QA_ERR_CONFIG);
    bad = mc;
    bad.cost = AGENT_COST_EXPECTED;
    ck_assert_int_eq(agent_mm_cfg_check(&bad, &err), QA_ERR_CONFIG);
    bad = mc;
    bad.ncand = 1;
    ck_assert_int_eq(agent_mm_cfg_check(&bad, &err), QA_ERR_CONFIG);
    ck_assert_int_eq(agent_mm_cfg_check(&mc, &err), QA_OK);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("agent_metamix");
    TCase *tc = tcase_create("metamix");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_weight_step_is_candidate_mean);
    tcase_add_test(tc, test_arch_grad_fd);
    tcase_add_test(tc, test_penalty_sides);
    tcase_add_test(tc, test_hold);
    tcase_add_test(tc, test_candidates_and_config);
    suite_add_tcase(s, tc);
    return s;
}
