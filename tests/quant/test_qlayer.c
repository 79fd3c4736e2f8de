/* test_qlayer.c: the quantized layers against themselves and against nn.
 * - at 32 bits the wrapped net equals the plain one (outputs, every
 *   gradient) and passes nn's gradient check (residual nets included);
 * - hard mode with per-sample widths equals running each sample alone
 *   (outputs, input gradients, summed parameter gradients) for every
 *   quantizer kind (DDQ below its widths, adaptive levels), per-tensor and
 *   per-channel;
 * - soft mode with a one-hot plan equals hard mode (tied and untied), and
 *   so does a soft plan pruned to its most probable candidate;
 * - dL/dp and dL/dr written into the plan match finite differences, also
 *   those of the pruned (renormalised) surrogate;
 * - input domains follow ReLU / pooling / residual sums; quant.input = none
 *   leaves the network input unquantized. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/act.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/gradcheck.h"
#include "nn/models.h"
#include "quant/ddq.h"
#include "nn/par.h"
#include "nn/pool.h"
#include "quant/qnet.h"

#define NB 6

/* conv 2->4 3x3 -> relu -> depthwise 3x3 s2 -> relu -> 1x1 conv 4->6 in 2
 * groups -> relu -> global avg pool -> dense 6->5, all with biases */
static nn_net *tiny_net(void)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, NB, 2, 6, 6, &err), QA_OK);
    net->input_grad = 1;
    nn_conv2d_cfg c1 = nn_conv2d_cfg_make("c1", 4, 3, 1, 1);
    c1.bias = 1;
    nn_conv2d_cfg c2 = nn_conv2d_cfg_make("dw", 4, 3, 2, 1);
    c2.groups = 4;
    c2.bias = 1;
    nn_conv2d_cfg c3 = nn_conv2d_cfg_make("pw", 6, 1, 1, 0);
    c3.groups = 2;
    c3.bias = 1;
    nn_act_cfg r1 = {"r1", NN_ACT_RELU}, r2 = {"r2", NN_ACT_RELU}, r3 = {"r3", NN_ACT_RELU};
    nn_pool_cfg pc = {"pool", NN_POOL_GLOBAL_AVG, 0, 0, 0};
    nn_dense_cfg dc = {"fc", 5, 1};
    int t = nn_conv2d_new(net, &c1, 0, &err);
    t = nn_act_new(net, &r1, t, &err);
    t = nn_conv2d_new(net, &c2, t, &err);
    t = nn_act_new(net, &r2, t, &err);
    t = nn_conv2d_new(net, &c3, t, &err);
    t = nn_act_new(net, &r3, t, &err);
    t = nn_pool_new(net, &pc, t, &err);
    t = nn_dense_new(net, &dc, t, &err);
    ck_assert_msg(t > 0, "%s", err.msg);
    return net;
}

static void fill(float *x, size_t n, uint32_t key, float scale)
{
    nn_rng r;
    nn_rng_init(&r, 11, NN_STREAM_TEST, key, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = scale * nn_rng_normal(&r);
}

static q_net *quantize(nn_net *net, q_cfg *cfg)
{
    q_net *qn;
    qa_err err;
    ck_assert_msg(q_net_wrap(&qn, net, cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(nn_net_finalize(net, 7, &err) == QA_OK, "%s", err.msg);
    fill(nn_net_input(net), (size_t)NB * 72, 1, 1.0f);
    /* non-zero biases: low-bit codes often cancel exactly, and a sum that is
     * exactly 0 sits on the ReLU kink, where rounding order picks the side */
    for (int v = 0; v < net->params.nviews; v++)
        if (net->params.views[v].kind == NN_PARAM_BIAS)
            fill(nn_params_value(&net->params, v), net->params.views[v].n, 100 + (uint32_t)v,
                 0.1f);
    return qn;
}

/* every slot of every layer initialised from the same full batch */
static void init_all_widths(nn_net *net, q_net *qn)
{
    q_plan *p = qn->plan;
    for (int i = 0; i < NB; i++)
        for (int l = 0; l < p->nlayers; l++)
            for (int k = 0; k < p->ncand; k++)
                q_plan_pw(p, i, l)[k] = q_plan_pa(p, i, l)[k] = 1.0f / (float)p->ncand;
    p->mode = Q_PLAN_SOFT;
    nn_net_forward(net, NB, 0);
}

static void random_hard_plan(q_plan *p, uint32_t key)
{
    nn_rng r;
    nn_rng_init(&r, 12, NN_STREAM_TEST, key, 0);
    for (int i = 0; i < NB; i++)
        for (int l = 0; l < p->nlayers; l++) {
            int w = p->cand[nn_rng_below(&r, (uint32_t)p->ncand)];
            q_plan_wbits(p, i)[l] = (uint8_t)w;
            q_plan_abits(p, i)[l] =
                (uint8_t)(p->tied ? w : p->cand[nn_rng_below(&r, (uint32_t)p->ncand)]);
        }
    p->mode = Q_PLAN_HARD;
}

typedef struct {
    float y[NB * 5], dx[NB * 72];
} run_out;

/* forward + backward of n samples with output gradient R; grads accumulate */
static void run(nn_net *net, int n, int train, const float *R, float *y, float *dx)
{
    nn_net_forward(net, n, train);
    memcpy(y, nn_net_output(net)->data, (size_t)n * 5 * sizeof *y);
    memcpy(nn_net_output_grad(net), R, (size_t)n * 5 * sizeof *R);
    nn_net_backward(net, n);
    memcpy(dx, net->dt[0].data, (size_t)n * 72 * sizeof *dx);
}

static void expect_close(const float *a, const float *b, size_t n, float tol, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(a[i])), "%s[%zu]: %.7g vs %.7g",
                      what, i, a[i], b[i]);
}

/* DDQ: precisions below each slot's width and random level warps, so the
 * level tables and every gradient of the kind take part */
static void shake_ddq(nn_net *net, q_net *qn)
{
    nn_rng r;
    nn_rng_init(&r, 13, NN_STREAM_TEST, 1, 0);
    for (int l = 0; l < qn->n; l++)
        for (int k = 0; k < qn->layers[l]->nslot; k++) {
            q_quant *qs[2] = {&qn->layers[l]->wq[k], &qn->layers[l]->aq[k]};
            for (int side = 0; side < 2; side++) {
                const q_ddq *d = qs[side]->ddq;
                q_ddq_set_bits(qs[side], &net->params, d->max_bits - (int)nn_rng_below(&r, 3));
                for (int i = 0; d->vlevel >= 0 && i < d->knots; i++)
                    nn_params_value(&net->params, d->vlevel)[i] = nn_rng_normal(&r);
            }
        }
}

/* hard mode over the batch vs each sample alone */
static void check_grouping(int wk, int ak, int per_channel, int train)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    static const int cand[4] = {2, 3, 4, 8};
    memcpy(cfg.cand, cand, sizeof cand);
    cfg.ncand = 4;
    cfg.tied = 0;
    cfg.first_bits = cfg.last_bits = 0;
    cfg.w_kind = wk;
    cfg.a_kind = ak;
    cfg.per_channel = per_channel;
    cfg.pact_decay = 0.0f; /* added once per backward call: per batch vs per sample */
    cfg.soft = 1;
    cfg.ddq.adaptive = 1;
    cfg.ddq.curvature = 0; /* kappa is a ratio of sums over one call, not a sum */
    nn_net *net = tiny_net();
    q_net *qn = quantize(net, &cfg);
    init_all_widths(net, qn);
    if (wk == Q_KIND_DDQ)
        shake_ddq(net, qn);
    random_hard_plan(qn->plan, (uint32_t)(wk * 16 + ak * 2 + per_channel));
    float R[NB * 5], x[NB * 72];
    fill(R, NB * 5, 2, 1.0f);
    memcpy(x, nn_net_input(net), sizeof x);
    size_t np = net->params.n;
    float *gb = malloc(np * sizeof *gb);
    run_out *b = malloc(sizeof *b), *a = malloc(sizeof *a);
    nn_net_zero_grad(net);
    run(net, NB, train, R, b->y, b->dx);
    memcpy(gb, net->params.g, np * sizeof *gb);
    int grouped = 0;
    for (int k = 0; k < qn->n; k++)
        grouped += qn->layers[k]->cnt[16] == NB && qn->layers[k]->cnt[1] < NB;
    ck_assert_int_gt(grouped, 0);
    int L = qn->plan->nlayers;
    uint8_t wb[NB * 8], ab[NB * 8];
    memcpy(wb, qn->plan->wbits, (size_t)(NB * L));
    memcpy(ab, qn->plan->abits, (size_t)(NB * L));
    nn_net_zero_grad(net);
    for (int i = 0; i < NB; i++) {
        memcpy(q_plan_wbits(qn->plan, 0), wb + i * L, (size_t)L);
        memcpy(q_plan_abits(qn->plan, 0), ab + i * L, (size_t)L);
        memcpy(nn_net_input(net), x + i * 72, 72 * sizeof(float));
        run(net, 1, train, R + i * 5, a->y + i * 5, a->dx + i * 72);
    }
    expect_close(b->y, a->y, NB * 5, 1e-5f, "y");
    expect_close(b->dx, a->dx, NB * 72, 1e-5f, "dx");
    expect_close(gb, net->params.g, np, 1e-4f, "param grad");
    free(gb);
    free(a);
    free(b);
    q_net_free(qn);
    nn_net_free(net);
}

START_TEST(test_grouping_lsq)
{
    check_grouping(Q_KIND_LSQ, Q_KIND_LSQ, 0, 1);
}
END_TEST

START_TEST(test_grouping_lsq_per_channel)
{
    check_grouping(Q_KIND_LSQ, Q_KIND_LSQ, 1, 1);
}
END_TEST

START_TEST(test_grouping_ddq)
{
    check_grouping(Q_KIND_DDQ, Q_KIND_DDQ, 0, 1);
    check_grouping(Q_KIND_DDQ, Q_KIND_DDQ, 1, 1);
}
END_TEST

START_TEST(test_grouping_dorefa_pact)
{
    check_grouping(Q_KIND_DOREFA, Q_KIND_PACT, 0, 1);
    check_grouping(Q_KIND_DOREFA, Q_KIND_DOREFA, 1, 1);
}
END_TEST

/* calibration statistics depend on the batch, so compare in evaluation */
START_TEST(test_grouping_calibrated)
{
    check_grouping(Q_KIND_MINMAX, Q_KIND_EMA, 1, 0);
    check_grouping(Q_KIND_MINMAX, Q_KIND_MINMAX, 0, 0);
}
END_TEST

/* The net's outputs, input gradient and parameter gradients under its plan
 * equal those after change(plan), within tol (10 tol for the sums over the
 * batch that parameter gradients are) */
static void same_after(nn_net *net, q_plan *plan, void (*change)(q_plan *p), float tol)
{
    float R[NB * 5];
    fill(R, NB * 5, 3, 1.0f);
    size_t np = net->params.n;
    float *g0 = malloc(np * sizeof *g0);
    run_out *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    nn_net_zero_grad(net);
    run(net, NB, 1, R, a->y, a->dx);
    memcpy(g0, net->params.g, np * sizeof *g0);
    change(plan);
    nn_net_zero_grad(net);
    run(net, NB, 1, R, b->y, b->dx);
    expect_close(a->y, b->y, NB * 5, tol, "y");
    expect_close(a->dx, b->dx, NB * 72, tol, "dx");
    expect_close(g0, net->params.g, np, 10 * tol, "param grad");
    free(g0);
    free(a);
    free(b);
}

static void onehot(q_plan *p)
{
    q_plan_onehot(p, NB);
}

static void harden(q_plan *p)
{
    q_plan_harden(p, NB);
}

/* soft mode with a one-hot plan == hard mode */
static void check_onehot(int tied)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    static const int cand[3] = {2, 4, 8};
    memcpy(cfg.cand, cand, sizeof cand);
    cfg.ncand = 3;
    cfg.tied = tied;
    cfg.first_bits = 0;
    cfg.last_bits = 8; /* a pinned layer runs hard inside a soft pass */
    cfg.soft = 1;
    nn_net *net = tiny_net();
    q_net *qn = quantize(net, &cfg);
    init_all_widths(net, qn);
    random_hard_plan(qn->plan, 40 + (uint32_t)tied);
    same_after(net, qn->plan, onehot, 1e-5f);
    q_net_free(qn);
    nn_net_free(net);
}

START_TEST(test_onehot_untied)
{
    check_onehot(0);
}
END_TEST

START_TEST(test_onehot_tied)
{
    check_onehot(1);
}
END_TEST

/* ---- dL/dp against finite differences ----
 * Layer X's probabilities are perturbed while every other planned layer
 * sits one-hot on 32 bits: downstream layers are then exact (no rounding
 * to jump across) and the loss is smooth in X's probabilities but for
 * ReLU kinks, which the checker's one-sided mode handles. */
typedef struct {
    nn_net *net;
    const float *R;
} prob_ctx;

static double prob_loss(void *arg)
{
    prob_ctx *c = arg;
    nn_net_forward(c->net, NB, 0);
    const float *y = nn_net_output(c->net)->data;
    double l = 0.0;
    for (int i = 0; i < NB * 5; i++)
        l += (double)c->R[i] * y[i];
    return l;
}

static void one_layer_soft(q_plan *p, int X, uint32_t key)
{
    nn_rng r;
    nn_rng_init(&r, 13, NN_STREAM_TEST, key, 0);
    for (int i = 0; i < NB; i++)
        for (int l = 0; l < p->nlayers; l++)
            for (int k = 0; k < p->ncand; k++) {
                float off = p->cand[k] == 32 ? 1.0f : 0.0f;
                q_plan_pw(p, i, l)[k] = l == X ? 0.1f + nn_rng_uniform(&r) : off;
                q_plan_pa(p, i, l)[k] = l == X ? 0.1f + nn_rng_uniform(&r) : off;
            }
    p->mode = Q_PLAN_SOFT;
}

static void check_prob_grads(int tied, int wk, int ak, int keep, float min_p)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    static const int cand[4] = {2, 3, 8, 32};
    memcpy(cfg.cand, cand, sizeof cand);
    cfg.ncand = 4;
    cfg.tied = tied;
    cfg.soft_keep = keep;
    cfg.soft_min_p = min_p;
    cfg.first_bits = cfg.last_bits = 0;
    cfg.w_kind = wk;
    cfg.a_kind = ak;
    cfg.soft = 1;
    nn_net *net = tiny_net();
    q_net *qn = quantize(net, &cfg);
    init_all_widths(net, qn);
    q_plan *p = qn->plan;
    float R[NB * 5];
    fill(R, NB * 5, 4, 1.0f);
    prob_ctx pc = {net, R};
    nn_gradcheck_cfg gc = {.eps = 1e-3f, .rtol = 2e-2f, .atol = 1e-4f, .kinks = 1};
    for (int X = 0; X < p->nlayers; X++) {
        one_layer_soft(p, X, 50 + (uint32_t)X);
        float y[NB * 5], dx[NB * 72];
        run(net, NB, 1, R, y, dx);
        for (int i = 0; i < NB; i++) {
            float gw[4], ga[4];
            memcpy(gw, q_plan_gpw(p, i, X), sizeof gw);
            memcpy(ga, q_plan_gpa(p, i, X), sizeof ga);
            nn_gradcheck_result res = {0};
            qa_err err;
            ck_assert_msg(nn_gradcheck_vec(prob_loss, &pc, q_plan_pw(p, i, X), gw, 4, "p", &gc,
                                           &res, &err) == QA_OK,
                          "layer %d sample %d tied %d: %s", X, i, tied, err.msg);
            if (!tied)
                ck_assert_msg(nn_gradcheck_vec(prob_loss, &pc, q_plan_pa(p, i, X), ga, 4, "r",
                                               &gc, &res, &err) == QA_OK,
                              "layer %d sample %d: %s", X, i, err.msg);
        }
    }
    q_net_free(qn);
    nn_net_free(net);
}

START_TEST(test_prob_grad_untied)
{
    check_prob_grads(0, Q_KIND_LSQ, Q_KIND_LSQ, 0, 0.0f);
    check_prob_grads(0, Q_KIND_DOREFA, Q_KIND_PACT, 0, 0.0f);
}
END_TEST

START_TEST(test_prob_grad_tied)
{
    check_prob_grads(1, Q_KIND_LSQ, Q_KIND_LSQ, 0, 0.0f);
}
END_TEST

/* the two (three) most probable of four, or those of p >= 0.6 (p here is
 * 0.1 + U(0, 1)): the surrogate's gradient, 0 for the others */
START_TEST(test_prob_grad_pruned)
{
    check_prob_grads(1, Q_KIND_LSQ, Q_KIND_LSQ, 2, 0.0f);
    check_prob_grads(1, Q_KIND_DOREFA, Q_KIND_PACT, 3, 0.0f);
    check_prob_grads(1, Q_KIND_LSQ, Q_KIND_LSQ, 0, 0.6f);
}
END_TEST

/* a soft plan pruned to one candidate runs each sample at its argmax, as
 * the hard plan of those widths does (the weight p / P is exactly 1) */
START_TEST(test_keep1_is_hard)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    static const int cand[3] = {2, 4, 8};
    memcpy(cfg.cand, cand, sizeof cand);
    cfg.ncand = 3;
    cfg.first_bits = 0;
    cfg.soft = 1;
    cfg.soft_keep = 1;
    nn_net *net = tiny_net();
    q_net *qn = quantize(net, &cfg);
    init_all_widths(net, qn);
    nn_rng r;
    nn_rng_init(&r, 14, NN_STREAM_TEST, 0, 0);
    for (size_t e = 0; e < (size_t)NB * (size_t)qn->plan->nlayers * 3; e++)
        qn->plan->pw[e] = nn_rng_uniform(&r);
    same_after(net, qn->plan, harden, 1e-6f);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* ---- 32 bits: the wrapper is the plain layer ---- */
static void check_identity(const char *arch)
{
    qa_err err;
    nn_net *plain, *wrapped;
    ck_assert_int_eq(nn_model_build(&plain, arch, 3, 1, 12, 12, 4, &err), QA_OK);
    ck_assert_int_eq(nn_model_build(&wrapped, arch, 3, 1, 12, 12, 4, &err), QA_OK);
    plain->input_grad = wrapped->input_grad = 1;
    /* The float loss of a batch-2 BN net is only marginally smooth enough for
     * the whole-net finite-difference check below (nn's layer tests cover
     * each gradient in isolation); it was tuned with these He-normal weights
     * and seed, on which PyTorch-style initial weights fail it unwrapped too. */
    plain->init = wrapped->init = NN_INIT_HE_NORMAL;
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.cand[0] = 32;
    cfg.ncand = 1;
    cfg.first_bits = cfg.last_bits = 32;
    q_net *qn;
    ck_assert_msg(q_net_wrap(&qn, wrapped, &cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_net_finalize(plain, 5, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(wrapped, 5, &err), QA_OK);
    ck_assert_int_eq(q_plan_set_hard(qn->plan, 3, 32, 32, NULL, NULL, &err), QA_OK);
    ck_assert_uint_eq(plain->params.n, wrapped->params.n);
    nn_net *nets[2] = {plain, wrapped};
    for (int k = 0; k < 2; k++) {
        fill(nn_net_input(nets[k]), 3 * 144, 9, 1.0f);
        nn_net_zero_grad(nets[k]);
        nn_net_forward(nets[k], 3, 1);
        fill(nn_net_output_grad(nets[k]), 3 * 4, 10, 1.0f);
        nn_net_backward(nets[k], 3);
    }
    expect_close(nn_net_output(plain)->data, nn_net_output(wrapped)->data, 12, 1e-6f, "y");
    expect_close(plain->params.g, wrapped->params.g, plain->params.n, 1e-5f, "grad");
    expect_close(plain->dt[0].data, wrapped->dt[0].data, 3 * 144, 1e-5f, "dx");
    /* equal to nn, so nn's own checks cover the rest; the finite-difference
     * check runs where it is well conditioned (deep nets with batch-2 batch
     * norm on 12x12 inputs are too curved for its step even unwrapped) */
    if (strcmp(arch, "small") == 0) {
        nn_gradcheck_cfg gc = {.kinks = 1, .seed = 3};
        nn_gradcheck_result res = {0};
        ck_assert_msg(nn_gradcheck_net(wrapped, 2, 1, &gc, &res, &err) == QA_OK, "%s", err.msg);
    }
    q_net_free(qn);
    nn_net_free(plain);
    nn_net_free(wrapped);
}

START_TEST(test_identity_small)
{
    check_identity("small");
}
END_TEST

START_TEST(test_identity_resnet20)
{
    check_identity("resnet20");
}
END_TEST

START_TEST(test_identity_mobilenet)
{
    check_identity("mobilenetv2_tiny");
}
END_TEST

/* unsigned after ReLU (also through pooling), signed after a residual sum
 * or a linear bottleneck, the network input per quant.input */
START_TEST(test_input_domains)
{
    qa_err err;
    nn_net *net;
    ck_assert_int_eq(nn_model_build(&net, "mobilenetv2_tiny", 2, 1, 28, 28, 10, &err), QA_OK);
    const struct {
        const char *layer;
        q_domain dom;
    } want[] = {{"stem.conv", Q_DOM_SIGNED},     {"block1.dw", Q_DOM_UNSIGNED},
                {"block1.project", Q_DOM_UNSIGNED}, {"block2.expand", Q_DOM_SIGNED},
                {"block3.expand", Q_DOM_SIGNED},    {"fc", Q_DOM_UNSIGNED}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int l = nn_net_find_layer(net, want[i].layer);
        ck_assert_msg(l >= 0, "%s", want[i].layer);
        ck_assert_int_eq(q_net_input_domain(net, net->layers[l], 1), want[i].dom);
    }
    ck_assert_int_eq(q_net_input_domain(net, net->layers[0], 0), Q_DOM_UNSIGNED);
    nn_net_free(net);
}
END_TEST

/* quant.input = none: the first layer convolves the input as it comes with
 * its 8-bit weights, has no input step to learn, and costs 8 x 32 bits; it
 * needs a pinned first layer. Against input = signed, whose 8-bit grid moves
 * N(0, 1) inputs, the same check must fail. */
static float first_layer_error(int input)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.input_domain = input;
    nn_net *net = tiny_net();
    q_net *qn = quantize(net, &cfg);
    qa_err err;
    ck_assert_int_eq(q_plan_set_hard(qn->plan, NB, 4, 4, NULL, NULL, &err), QA_OK);
    nn_net_forward(net, NB, 1);
    q_layer *q = qn->layers[0];
    ck_assert_int_eq(q->abits[0], input == Q_INPUT_NONE ? Q_BITS_OFF : 8);
    ck_assert_int_eq(q->wbits[0], 8);
    ck_assert_int_eq(q->a_learned, input != Q_INPUT_NONE);
    ck_assert_int_eq(nn_params_find(&net->params, "c1.a_step.b8") >= 0, input != Q_INPUT_NONE);
    ck_assert_int_eq(qn->cost.layers[0].abits, q->abits[0]);
    const nn_conv2d *cv = (const nn_conv2d *)q->inner;
    size_t out_n = q->out_n * NB;
    float *want = malloc(out_n * sizeof *want);
    size_t sn = nn_conv2d_scratch_floats(&cv->g, nn_par_threads(), nn_par_shares());
    float *sc = malloc(sn * sizeof *sc);
    nn_conv2d_forward_raw(&cv->g, nn_net_input(net), q->wqbuf,
                          nn_params_value(&net->params, q->b_view), want, NULL, NB, sc, sn);
    const float *got = net->t[q->base.out].data;
    float diff = 0.0f;
    for (size_t i = 0; i < out_n; i++)
        diff = fmaxf(diff, fabsf(got[i] - want[i]));
    free(want);
    free(sc);
    q_net_free(qn);
    nn_net_free(net);
    return diff;
}

START_TEST(test_input_none)
{
    ck_assert_float_le(first_layer_error(Q_INPUT_NONE), 1e-6f);
    ck_assert_float_gt(first_layer_error(Q_INPUT_SIGNED), 1e-4f);
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.input_domain = Q_INPUT_NONE;
    cfg.first_bits = 0;
    nn_net *net = tiny_net();
    q_net *qn;
    qa_err err;
    ck_assert_int_eq(q_net_wrap(&qn, net, &cfg, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "quant.first_bits"));
    nn_net_free(net);
}
END_TEST

START_TEST(test_params_per_width)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.a_kind = Q_KIND_PACT;
    nn_net *net = tiny_net();
    q_net *qn = quantize(net, &cfg);
    /* c1 pinned at 8 bits, dw and pw planned over 2,3,4,6,8, fc pinned */
    ck_assert_int_ge(nn_params_find(&net->params, "c1.w_step.b8"), 0);
    ck_assert_int_lt(nn_params_find(&net->params, "c1.w_step.b4"), 0);
    ck_assert_int_ge(nn_params_find(&net->params, "dw.w_step.b3"), 0);
    ck_assert_int_ge(nn_params_find(&net->params, "pw.a_alpha.b6"), 0);
    int v = nn_params_find(&net->params, "pw.a_alpha.b6");
    ck_assert_int_eq(net->params.views[v].kind, NN_PARAM_QUANT);
    ck_assert_float_eq(net->params.views[v].decay_mult, 0.0f);
    ck_assert_int_eq(qn->plan->nlayers, 2);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

START_TEST(test_wrap_errors)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.w_kind = Q_KIND_EMA;
    nn_net *net = tiny_net();
    q_net *qn;
    qa_err err;
    ck_assert_int_eq(q_net_wrap(&qn, net, &cfg, &err), QA_ERR_CONFIG);
    ck_assert_ptr_null(qn);
    q_layer *ql;
    q_layer_spec spec = {NULL, -1, 8, 8, Q_DOM_SIGNED, &cfg};
    ck_assert_int_eq(q_layer_wrap(net, nn_net_find_layer(net, "r1"), &spec, &ql, &err),
                     QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "r1"));
    nn_net_free(net);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_qlayer");
    TCase *tc = tcase_create("qlayer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_grouping_lsq);
    tcase_add_test(tc, test_grouping_lsq_per_channel);
    tcase_add_test(tc, test_grouping_ddq);
    tcase_add_test(tc, test_grouping_dorefa_pact);
    tcase_add_test(tc, test_grouping_calibrated);
    tcase_add_test(tc, test_onehot_untied);
    tcase_add_test(tc, test_onehot_tied);
    tcase_add_test(tc, test_prob_grad_untied);
    tcase_add_test(tc, test_prob_grad_tied);
    tcase_add_test(tc, test_prob_grad_pruned);
    tcase_add_test(tc, test_keep1_is_hard);
    tcase_add_test(tc, test_identity_small);
    tcase_add_test(tc, test_identity_resnet20);
    tcase_add_test(tc, test_identity_mobilenet);
    tcase_add_test(tc, test_input_domains);
    tcase_add_test(tc, test_input_none);
    tcase_add_test(tc, test_params_per_width);
    tcase_add_test(tc, test_wrap_errors);
    suite_add_tcase(s, tc);
    return s;
}
