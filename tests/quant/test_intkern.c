/* test_intkern.c: the integer path (integer codes, int32 accumulation,
 * per-channel rescale) equals the fake-quant float path of the quantized
 * layers, for every width 2..8, for LSQ (per tensor and per channel),
 * DoReFa/PACT, min-max and DDQ (uniform and adaptive levels, at random
 * precisions), on conv (plain, depthwise, grouped) and dense: the layer's
 * quantized input is exactly codes * scale, and its output matches the
 * integer result within float rounding of the float GEMM, bounded by the
 * same kernel run on |codes|. DDQ's levels also go through the lookup-table
 * kernels (level indices and a table of fine codes per side). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/act.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/pool.h"
#include "quant/ddq.h"
#include "quant/intkern.h"
#include "quant/qnet.h"

#define NB 3
#define IN (3 * 7 * 7)

static nn_net *tiny_net(void)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, NB, 3, 7, 7, &err), QA_OK);
    nn_conv2d_cfg c1 = nn_conv2d_cfg_make("c1", 6, 3, 1, 1);
    nn_conv2d_cfg c2 = nn_conv2d_cfg_make("dw", 6, 3, 2, 1);
    c2.groups = 6;
    c2.bias = 1;
    nn_conv2d_cfg c3 = nn_conv2d_cfg_make("pw", 4, 1, 1, 0);
    c3.groups = 2;
    nn_act_cfg r1 = {"r1", NN_ACT_RELU}, r2 = {"r2", NN_ACT_RELU6}, r3 = {"r3", NN_ACT_RELU};
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

typedef struct {
    int32_t *qa, *qw, *absa, *absw;
    float *sw, *y, *bound, *scale_rows;
} bufs;

/* weight codes of slot 0 and one scale per output channel */
static void weight_codes(const q_layer *q, const nn_params *p, bufs *b)
{
    q_rows wr = q_layer_wrows(q, 0);
    q_quant_codes(&q->wq[0], b->qw, b->scale_rows, nn_params_value(p, q->w_view), &wr);
    int oc = q->groups * q->ocg;
    for (int o = 0; o < oc; o++)
        b->sw[o] = b->scale_rows[wr.n == 1 ? 0 : o];
    for (size_t i = 0; i < q->w_n; i++)
        b->absw[i] = abs(b->qw[i]);
}

static void check_layer(const q_layer *q, nn_net *net, bufs *b)
{
    const nn_params *p = &net->params;
    const float *x = net->t[q->base.in[0]].data, *yf = net->t[q->base.out].data;
    const float *bias = q->b_view >= 0 ? nn_params_value(p, q->b_view) : NULL;
    q_rows all = {q->in_n, NULL, NB};
    float sa[NB];
    q_quant_codes(&q->aq[0], b->qa, sa, x, &all);
    for (size_t i = 0; i < NB * q->in_n; i++) {
        ck_assert_msg(q->xq[i] == (float)b->qa[i] * sa[i / q->in_n],
                      "%s input %zu: %g is not code %d * %g", q->base.name, i, q->xq[i], b->qa[i],
                      sa[i / q->in_n]);
        b->absa[i] = abs(b->qa[i]);
    }
    weight_codes(q, p, b);
    int conv = q->kern == &q_kern_conv2d;
    ck_assert(q_int_fits((long)q->w_row, 255, 255));
    for (int s = 0; s < NB; s++) {
        const int32_t *qa = b->qa + s * q->in_n, *aa = b->absa + s * q->in_n;
        if (conv) {
            q_int_conv2d(&q->g[0], qa, sa[s], b->qw, b->sw, bias, b->y);
            q_int_conv2d(&q->g[0], aa, sa[s], b->absw, b->sw, NULL, b->bound);
        } else {
            q_int_dense((int)q->in_n, (int)q->out_n, qa, sa[s], b->qw, b->sw, bias, b->y);
            q_int_dense((int)q->in_n, (int)q->out_n, aa, sa[s], b->absw, b->sw, NULL, b->bound);
        }
        for (size_t o = 0; o < q->out_n; o++) {
            float f = yf[s * q->out_n + o];
            float tol = 1e-5f * fabsf(b->bound[o]) + 1e-6f * (bias ? fabsf(bias[0]) + 1 : 1);
            ck_assert_msg(fabsf(b->y[o] - f) <= tol, "%s sample %d out %zu: int %.8g float %.8g",
                          q->base.name, s, o, b->y[o], f);
        }
    }
}

/* every layer's levels as lookup tables: the level indices, each side's
 * table of fine codes, and y from q_int_*_lut against the float path */
static void check_layer_lut(const q_layer *q, nn_net *net, bufs *b)
{
    const nn_params *p = &net->params;
    const float *x = net->t[q->base.in[0]].data, *yf = net->t[q->base.out].data;
    const float *bias = q->b_view >= 0 ? nn_params_value(p, q->b_view) : NULL;
    int32_t la[256], lw[256], ala[256], alw[256];
    int na = q_ddq_lut(&q->aq[0], la), nw = q_ddq_lut(&q->wq[0], lw);
    for (int k = 0; k < 256; k++) {
        ala[k] = k < na ? abs(la[k]) : 0;
        alw[k] = k < nw ? abs(lw[k]) : 0;
    }
    q_rows all = {q->in_n, NULL, NB}, wr = q_layer_wrows(q, 0);
    float sa[NB];
    q_ddq_index_codes(&q->aq[0], b->qa, sa, x, &all);
    q_ddq_index_codes(&q->wq[0], b->qw, b->scale_rows, nn_params_value(p, q->w_view), &wr);
    for (int o = 0; o < q->groups * q->ocg; o++)
        b->sw[o] = b->scale_rows[wr.n == 1 ? 0 : o];
    q_int_lut lut = {la, lw}, abs_lut = {ala, alw};
    for (int s = 0; s < NB; s++) {
        const int32_t *ia = b->qa + s * q->in_n;
        if (q->kern == &q_kern_conv2d) {
            q_int_conv2d_lut(&q->g[0], ia, sa[s], b->qw, b->sw, bias, &lut, b->y);
            q_int_conv2d_lut(&q->g[0], ia, sa[s], b->qw, b->sw, NULL, &abs_lut, b->bound);
        } else {
            q_int_dense_lut((int)q->in_n, (int)q->out_n, ia, sa[s], b->qw, b->sw, bias, &lut, b->y);
            q_int_dense_lut((int)q->in_n, (int)q->out_n, ia, sa[s], b->qw, b->sw, NULL, &abs_lut,
                            b->bound);
        }
        for (size_t o = 0; o < q->out_n; o++) {
            float f = yf[s * q->out_n + o];
            float tol = 1e-5f * fabsf(b->bound[o]) + 1e-6f * (bias ? fabsf(bias[0]) + 1 : 1);
            ck_assert_msg(fabsf(b->y[o] - f) <= tol, "%s sample %d out %zu: lut %.8g float %.8g",
                          q->base.name, s, o, b->y[o], f);
        }
    }
}

/* DDQ: a random precision per quantizer, random level warps when adaptive */
static void tweak_ddq(q_net *qn, nn_net *net, nn_rng *r)
{
    for (int k = 0; k < qn->n; k++) {
        q_quant *qs[2] = {&qn->layers[k]->wq[0], &qn->layers[k]->aq[0]};
        for (int side = 0; side < 2; side++) {
            const q_ddq *d = qs[side]->ddq;
            q_ddq_set_bits(qs[side], &net->params, 2 + (int)(nn_rng_uniform(r) * 7.0f));
            for (int i = 0; d->vlevel >= 0 && i < d->knots; i++)
                nn_params_value(&net->params, d->vlevel)[i] = 2.0f * nn_rng_normal(r);
        }
    }
}

static void check_cfg(const q_cfg *cfg, uint32_t seed, int ddq)
{
    nn_net *net = tiny_net();
    q_net *qn;
    qa_err err;
    ck_assert_msg(q_net_wrap(&qn, net, cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_net_finalize(net, 3, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 21, NN_STREAM_TEST, seed, 0);
    for (int i = 0; i < NB * IN; i++)
        nn_net_input(net)[i] = nn_rng_normal(&r);
    for (int v = 0; v < net->params.nviews; v++)
        if (net->params.views[v].kind == NN_PARAM_BIAS)
            for (size_t i = 0; i < net->params.views[v].n; i++)
                nn_params_value(&net->params, v)[i] = 0.1f * nn_rng_normal(&r);
    ck_assert_int_eq(q_plan_set_hard(qn->plan, NB, cfg->cand[0], cfg->cand[0], NULL, NULL, &err),
                     QA_OK);
    nn_net_forward(net, NB, 1); /* first batch: LSQ/PACT init, calibration */
    if (ddq)
        tweak_ddq(qn, net, &r);
    nn_net_forward(net, NB, 0);
    bufs b;
    b.qa = malloc(NB * 300 * sizeof *b.qa);
    b.absa = malloc(NB * 300 * sizeof *b.absa);
    b.qw = malloc(300 * sizeof *b.qw);
    b.absw = malloc(300 * sizeof *b.absw);
    b.sw = malloc(64 * sizeof *b.sw);
    b.scale_rows = malloc(64 * sizeof *b.scale_rows);
    b.y = malloc(300 * sizeof *b.y);
    b.bound = malloc(300 * sizeof *b.bound);
    for (int k = 0; k < qn->n; k++) {
        check_layer(qn->layers[k], net, &b);
        if (ddq)
            check_layer_lut(qn->layers[k], net, &b);
    }
    free(b.qa), free(b.absa), free(b.qw), free(b.absw);
    free(b.sw), free(b.scale_rows), free(b.y), free(b.bound);
    q_net_free(qn);
    nn_net_free(net);
}

static void width_cfg(q_cfg *cfg, int bits, int wk, int ak, int per_channel)
{
    q_cfg_defaults(cfg);
    cfg->cand[0] = bits;
    cfg->ncand = 1;
    cfg->first_bits = cfg->last_bits = 0;
    cfg->w_kind = wk;
    cfg->a_kind = ak;
    cfg->per_channel = per_channel;
    cfg->pact_init = 2.0f;
}

static void check_width(int bits, int wk, int ak, int per_channel)
{
    q_cfg cfg;
    width_cfg(&cfg, bits, wk, ak, per_channel);
    check_cfg(&cfg, (uint32_t)bits, 0);
}

START_TEST(test_int_lsq)
{
    for (int bits = 2; bits <= 8; bits++)
        check_width(bits, Q_KIND_LSQ, Q_KIND_LSQ, 0);
}
END_TEST

START_TEST(test_int_lsq_per_channel)
{
    for (int bits = 2; bits <= 8; bits++)
        check_width(bits, Q_KIND_LSQ, Q_KIND_LSQ, 1);
}
END_TEST

START_TEST(test_int_dorefa_pact)
{
    for (int bits = 2; bits <= 8; bits++)
        check_width(bits, Q_KIND_DOREFA, Q_KIND_PACT, bits % 2);
}
END_TEST

START_TEST(test_int_minmax)
{
    for (int bits = 2; bits <= 8; bits++)
        check_width(bits, Q_KIND_MINMAX, Q_KIND_MINMAX, 1);
}
END_TEST

/* DDQ at its realised precision (uniform: codes at b bits; adaptive: fine
 * codes), from every maximum width, and through the level tables */
START_TEST(test_int_ddq)
{
    for (int bits = 2; bits <= 8; bits++)
        for (int k = 0; k < 4; k++) {
            q_cfg cfg;
            width_cfg(&cfg, bits, Q_KIND_DDQ, Q_KIND_DDQ, k & 1);
            cfg.ddq.adaptive = k >> 1;
            check_cfg(&cfg, (uint32_t)(bits * 4 + k), 1);
        }
}
END_TEST

/* hand-made: 2x2 input, 2x2 kernel, one output; 1 * 3 + 2 * -1 + 3 * 0 + 4 * 2 = 9 */
START_TEST(test_int_known)
{
    nn_conv_geom g = {1, 2, 2, 1, 1, 1, 2, 2, 1, 1, 0, 0, 1, NN_CONV_AUTO};
    int32_t qa[4] = {1, 2, 3, 4}, qw[4] = {3, -1, 0, 2};
    float sw = 0.5f, b = 0.25f, y;
    q_int_conv2d(&g, qa, 0.25f, qw, &sw, &b, &y);
    ck_assert_float_eq(y, 9.0f * 0.125f + 0.25f);
    q_int_dense(4, 1, qa, 0.25f, qw, &sw, NULL, &y);
    ck_assert_float_eq(y, 9.0f * 0.125f);
    ck_assert(q_int_fits(33025, 255, 255));  /* 33025 * 255^2 = 2147450625 < 2^31 */
    ck_assert(!q_int_fits(33026, 255, 255)); /* 2147515650 */
    int32_t ia[4] = {0, 1, 2, 3}, iw[4] = {3, 0, 1, 2}, la[4] = {1, 2, 3, 4}, lw[4] = {-1, 0, 2, 3};
    q_int_lut lut = {la, lw}; /* the same codes through tables */
    q_int_conv2d_lut(&g, ia, 0.25f, iw, &sw, &b, &lut, &y);
    ck_assert_float_eq(y, 9.0f * 0.125f + 0.25f);
    q_int_dense_lut(4, 1, ia, 0.25f, iw, &sw, NULL, &lut, &y);
    ck_assert_float_eq(y, 9.0f * 0.125f);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_intkern");
    TCase *tc = tcase_create("intkern");
    tcase_add_test(tc, test_int_lsq);
    tcase_add_test(tc, test_int_lsq_per_channel);
    tcase_add_test(tc, test_int_dorefa_pact);
    tcase_add_test(tc, test_int_minmax);
    tcase_add_test(tc, test_int_ddq);
    tcase_add_test(tc, test_int_known);
    suite_add_tcase(s, tc);
    return s;
}
