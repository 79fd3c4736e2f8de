/* test_qsofta.c: soft_a plans (quant/plan.h): hard weights, mixed inputs.
 * - with one-hot activation rows they equal hard mode (outputs, input and
 *   parameter gradients), per-sample weight widths included;
 * - with any rows they equal untied soft mode whose weight rows are one-hot
 *   at the same widths (outputs, gradients, dL/dr), which costs K
 *   convolutions where soft_a runs one;
 * - a candidate no sample gives probability gets dL/dr = 0 and changes
 *   nothing else;
 * - dL/dr against finite differences;
 * - the expected cost takes the hard weight widths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/act.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/gradcheck.h"
#include "nn/pool.h"
#include "quant/qnet.h"

#define NB 5
#define IN (2 * 7 * 7)
#define OUT 3

static const int CAND[4] = {2, 4, 8, 32};

/* conv 2->3 3x3 -> relu -> conv 3->4 3x3 s2 -> relu -> pool -> dense 4->3 */
static nn_net *net_make(q_net **qn)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, NB, 2, 7, 7, &err), QA_OK);
    net->input_grad = 1;
    nn_conv2d_cfg c1 = nn_conv2d_cfg_make("c1", 3, 3, 1, 1), c2 = nn_conv2d_cfg_make("c2", 4, 3, 2, 1);
    c1.bias = c2.bias = 1;
    nn_act_cfg r1 = {"r1", NN_ACT_RELU}, r2 = {"r2", NN_ACT_RELU};
    nn_pool_cfg pc = {"pool", NN_POOL_GLOBAL_AVG, 0, 0, 0};
    nn_dense_cfg dc = {"fc", OUT, 1};
    int t = nn_conv2d_new(net, &c1, 0, &err);
    t = nn_act_new(net, &r1, t, &err);
    t = nn_conv2d_new(net, &c2, t, &err);
    t = nn_act_new(net, &r2, t, &err);
    t = nn_pool_new(net, &pc, t, &err);
    t = nn_dense_new(net, &dc, t, &err);
    ck_assert_msg(t > 0, "%s", err.msg);
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    memcpy(cfg.cand, CAND, sizeof CAND);
    cfg.ncand = 4;
    cfg.tied = 0;
    cfg.first_bits = cfg.last_bits = 0;
    cfg.soft = 1; /* for the untied soft comparison; soft_a needs no buffer of its own */
    ck_assert_msg(q_net_wrap(qn, net, &cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(nn_net_finalize(net, 3, &err) == QA_OK, "%s", err.msg);
    nn_rng r;
    nn_rng_init(&r, 21, NN_STREAM_TEST, 1, 0);
    for (int i = 0; i < NB * IN; i++)
        nn_net_input(net)[i] = nn_rng_normal(&r);
    for (int v = 0; v < net->params.nviews; v++) /* biases off the ReLU kinks */
        if (net->params.views[v].kind == NN_PARAM_BIAS)
            for (size_t j = 0; j < net->params.views[v].n; j++)
                nn_params_value(&net->params, v)[j] = 0.1f * nn_rng_normal(&r);
    /* every width's steps initialised from the same batch */
    q_plan *p = (*qn)->plan;
    for (int i = 0; i < NB * p->nlayers * p->ncand; i++)
        p->pw[i] = p->pa[i] = 0.25f;
    p->mode = Q_PLAN_SOFT;
    nn_net_forward(net, NB, 0);
    return net;
}

/* per-sample random weight widths and activation rows: one-hot when
 * onehot, else positive, with candidate `zero` (-1: none) at 0 */
static void plan_rows(q_plan *p, uint32_t key, int onehot, int zero)
{
    nn_rng r;
    nn_rng_init(&r, 22, NN_STREAM_TEST, key, 0);
    for (int i = 0; i < NB; i++)
        for (int l = 0; l < p->nlayers; l++) {
            int w = (int)nn_rng_below(&r, 4), a = (int)nn_rng_below(&r, 4);
            q_plan_wbits(p, i)[l] = (uint8_t)CAND[w];
            q_plan_abits(p, i)[l] = (uint8_t)CAND[a];
            for (int k = 0; k < 4; k++) {
                q_plan_pw(p, i, l)[k] = k == w ? 1.0f : 0.0f;
                float v = onehot ? (k == a ? 1.0f : 0.0f) : 0.1f + nn_rng_uniform(&r);
                q_plan_pa(p, i, l)[k] = k == zero ? 0.0f : v;
            }
        }
}

typedef struct {
    float y[NB * OUT], dx[NB * IN], *g, ga[NB * 3 * 4];
} result;

static void run(nn_net *net, q_plan *p, int mode, result *res)
{
    p->mode = mode;
    nn_net_zero_grad(net);
    nn_net_forward(net, NB, 1);
    memcpy(res->y, nn_net_output(net)->data, sizeof res->y);
    nn_rng r;
    nn_rng_init(&r, 23, NN_STREAM_TEST, 0, 0);
    for (int i = 0; i < NB * OUT; i++)
        nn_net_output_grad(net)[i] = nn_rng_normal(&r);
    nn_net_backward(net, NB);
    memcpy(res->dx, net->dt[0].data, sizeof res->dx);
    res->g = malloc(net->params.n * sizeof *res->g);
    memcpy(res->g, net->params.g, net->params.n * sizeof *res->g);
    memcpy(res->ga, p->gpa, sizeof res->ga);
}

static void close_all(const float *a, const float *b, size_t n, float tol, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(a[i])), "%s[%zu]: %.7g vs %.7g",
                      what, i, a[i], b[i]);
}

START_TEST(test_softa_onehot_is_hard)
{
    q_net *qn;
    nn_net *net = net_make(&qn);
    plan_rows(qn->plan, 1, 1, -1);
    result h, s;
    run(net, qn->plan, Q_PLAN_HARD, &h);
    run(net, qn->plan, Q_PLAN_SOFT_A, &s);
    close_all(h.y, s.y, NB * OUT, 1e-6f, "y");
    close_all(h.dx, s.dx, NB * IN, 1e-5f, "dx");
    close_all(h.g, s.g, net->params.n, 1e-5f, "param grad");
    free(h.g), free(s.g);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* soft_a == untied soft with one-hot weight rows; zero: a candidate left
 * at probability 0 for every sample */
static void check_vs_soft(int zero)
{
    q_net *qn;
    nn_net *net = net_make(&qn);
    plan_rows(qn->plan, 2 + (uint32_t)(zero + 1), 0, zero);
    result u, s;
    run(net, qn->plan, Q_PLAN_SOFT, &u);
    run(net, qn->plan, Q_PLAN_SOFT_A, &s);
    close_all(u.y, s.y, NB * OUT, 1e-5f, "y");
    close_all(u.dx, s.dx, NB * IN, 1e-5f, "dx");
    close_all(u.g, s.g, net->params.n, 1e-4f, "param grad");
    for (int j = 0; j < NB * 3 * 4; j++) {
        if (j % 4 == zero) {
            ck_assert_msg(s.ga[j] == 0.0f, "skipped candidate: dL/dr %g", s.ga[j]);
            ck_assert_msg(u.ga[j] != 0.0f, "soft mode writes every candidate");
        } else {
            close_all(&u.ga[j], &s.ga[j], 1, 1e-4f, "dL/dr");
        }
    }
    free(u.g), free(s.g);
    q_net_free(qn);
    nn_net_free(net);
}

START_TEST(test_softa_is_soft_with_hard_weights)
{
    check_vs_soft(-1);
}
END_TEST

START_TEST(test_softa_skips_unused_candidates)
{
    check_vs_soft(1);
    check_vs_soft(3);
}
END_TEST

typedef struct {
    nn_net *net;
    float R[NB * OUT];
} fd_ctx;

static double fd_loss(void *arg)
{
    fd_ctx *c = arg;
    nn_net_forward(c->net, NB, 0);
    double l = 0.0;
    for (int i = 0; i < NB * OUT; i++)
        l += (double)c->R[i] * nn_net_output(c->net)->data[i];
    return l;
}

/* dL/dr of layer X; the other layers at 32 bits (exact: nothing rounds) */
START_TEST(test_softa_prob_grad_fd)
{
    q_net *qn;
    nn_net *net = net_make(&qn);
    q_plan *p = qn->plan;
    fd_ctx c = {net, {0}};
    nn_rng r;
    nn_rng_init(&r, 24, NN_STREAM_TEST, 0, 0);
    for (int i = 0; i < NB * OUT; i++)
        c.R[i] = nn_rng_normal(&r);
    nn_gradcheck_cfg gc = {.eps = 1e-3f, .rtol = 2e-2f, .atol = 1e-4f, .kinks = 1};
    for (int X = 0; X < p->nlayers; X++) {
        plan_rows(p, 10 + (uint32_t)X, 0, -1);
        for (int i = 0; i < NB; i++)
            for (int l = 0; l < p->nlayers; l++)
                for (int k = 0; l != X && k < 4; k++)
                    q_plan_pa(p, i, l)[k] = k == 3 ? 1.0f : 0.0f;
        p->mode = Q_PLAN_SOFT_A;
        nn_net_forward(net, NB, 0);
        memcpy(nn_net_output_grad(net), c.R, sizeof c.R);
        nn_net_backward(net, NB);
        for (int i = 0; i < NB; i++) {
            float g[4];
            memcpy(g, q_plan_gpa(p, i, X), sizeof g);
            nn_gradcheck_result res = {0};
            qa_err err;
            ck_assert_msg(nn_gradcheck_vec(fd_loss, &c, q_plan_pa(p, i, X), g, 4, "r", &gc, &res,
                                           &err) == QA_OK,
                          "layer %d sample %d: %s", X, i, err.msg);
        }
    }
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* E[BitOps] = sum_l MACs_l b_w,l E_r[c] (+ nothing pinned here); mean widths */
START_TEST(test_softa_cost)
{
    q_net *qn;
    nn_net *net = net_make(&qn);
    q_plan *p = qn->plan;
    plan_rows(p, 30, 0, -1);
    for (int j = 0; j < NB * 3 * 4; j++)
        p->pw[j] = 0.25f; /* not read: the weights are hard */
    p->mode = Q_PLAN_SOFT_A;
    float gw[3 * 4], ga[3 * 4];
    for (int i = 0; i < NB; i++) {
        double want = 0.0;
        for (int l = 0; l < 3; l++) {
            const float *r = q_plan_pa(p, i, l);
            double ea = 0.0;
            for (int k = 0; k < 4; k++)
                ea += r[k] * CAND[k];
            want += (double)qn->cost.layers[l].macs * q_plan_wbits(p, i)[l] * ea;
        }
        memset(gw, 0x7f, sizeof gw);
        q_cost c = q_cost_sample(&qn->cost, p, i, gw, ga);
        ck_assert_double_eq_tol(c.bitops, want, 1e-6 * want);
        for (int l = 0; l < 3; l++)
            for (int k = 0; k < 4; k++) {
                ck_assert_float_eq(gw[l * 4 + k], 0.0f);
                double d = (double)qn->cost.layers[l].macs * q_plan_wbits(p, i)[l] * CAND[k];
                ck_assert_double_eq_tol(ga[l * 4 + k], d, 1e-6 * d);
            }
    }
    float mw[3], ma[3];
    q_plan_mean_bits(p, 1, mw, ma);
    for (int l = 0; l < 3; l++) {
        float ea = 0.0f;
        for (int k = 0; k < 4; k++)
            ea += q_plan_pa(p, 0, l)[k] * (float)CAND[k];
        ck_assert_float_eq(mw[l], (float)q_plan_wbits(p, 0)[l]);
        ck_assert_float_eq_tol(ma[l], ea, 1e-5f);
    }
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_qsofta");
    TCase *tc = tcase_create("softa");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_softa_onehot_is_hard);
    tcase_add_test(tc, test_softa_is_soft_with_hard_weights);
    tcase_add_test(tc, test_softa_skips_unused_candidates);
    tcase_add_test(tc, test_softa_prob_grad_fd);
    tcase_add_test(tc, test_softa_cost);
    suite_add_tcase(s, tc);
    return s;
}
