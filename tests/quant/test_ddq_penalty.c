/* test_ddq_penalty.c: DDQ's precision under a cost penalty (quant/ddq.h,
 * quant/cost.h).
 * - a toy parameter set (six weight tensors, each quantized by DDQ with the
 *   reconstruction loss |x_hat - w|^2 / 2 pulling its precision up) under
 *   a hinge penalty on the weight bytes toward a mean of 4 bits: from 8 bits
 *   the mean precision comes down to the target and stays within one bit of
 *   the largest tensor around it; without the penalty it stays at 8;
 * - a quantized network's view: pinned layers keep their width and have no
 *   gates, the cost model sees each layer's realised widths, the penalty's
 *   derivative reaches the planned layers' gates exactly as the one-bit
 *   cost change times the gate slope;
 * - the fit into a budget: gates closed one bit at a time, the least open
 *   top gate first, only until the cost meets the target, never a gate
 *   that does not lower the cost, nothing when the cost already fits. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "quant/ddq.h"

#define NT 6
#define MAXW 900

typedef struct {
    nn_net *net;
    q_quant q[NT];
    int n[NT];
    float w[NT][MAXW];
    q_cost_model cm;
    nn_optim *o;
} toy;

static void toy_make(toy *t)
{
    qa_err err;
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    ck_assert_int_eq(nn_net_create(&t->net, 1, 1, 1, 1, &err), QA_OK);
    q_cost_layer cl[NT];
    nn_rng rng;
    nn_rng_init(&rng, 51, NN_STREAM_TEST, 1, 0);
    for (int l = 0; l < NT; l++) {
        char name[8];
        snprintf(name, sizeof name, "t%d", l);
        t->n[l] = 150 * (l + 1);
        q_quant_spec s = {Q_KIND_DDQ, Q_SIDE_W, Q_DOM_SIGNED, 8, 1, (size_t)t->n[l], 0};
        ck_assert_int_eq(q_quant_init(&t->q[l], t->net, name, &s, &cfg, &err), QA_OK);
        cl[l] = (q_cost_layer){.macs = t->n[l], .params = t->n[l], .plan_layer = l};
        float spread = 0.1f + 0.08f * (float)((l * 5) % NT); /* layers differ in need */
        for (int i = 0; i < t->n[l]; i++)
            t->w[l][i] = spread * nn_rng_normal(&rng);
    }
    ck_assert_int_eq(nn_params_alloc(&t->net->params, &err), QA_OK);
    ck_assert_int_eq(q_cost_model_init(&t->cm, cl, NT, &err), QA_OK);
    /* the nested gates: the j-th from the boundary needs j times a top gate's push */
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.015f, .momentum = 0.0f};
    ck_assert_int_eq(nn_optim_create(&t->o, &oc, &t->net->params, &err), QA_OK);
}

static void toy_free(toy *t)
{
    nn_optim_free(t->o);
    q_cost_model_free(&t->cm);
    nn_net_free(t->net);
}

/* one step of the reconstruction losses plus the penalty; returns the mean
 * precision (weighted by size, as the bytes are) before the step */
static double toy_step(toy *t, const q_penalty *pen)
{
    nn_params *p = &t->net->params;
    int wb[NT], ab[NT];
    double gw[NT], sum = 0.0, tot = 0.0;
    float y[MAXW], dy[MAXW];
    nn_params_zero_grad(p);
    for (int l = 0; l < NT; l++) {
        q_rows r = {(size_t)t->n[l], NULL, 1};
        q_quant_resolve(&t->q[l], p, t->w[l], &r, 1);
        q_quant_forward(&t->q[l], y, t->w[l], &r);
        for (int i = 0; i < t->n[l]; i++)
            dy[i] = y[i] - t->w[l][i];
        q_quant_backward(&t->q[l], p, NULL, dy, t->w[l], &r, NULL, 0, NULL);
        wb[l] = q_ddq_bits(&t->q[l], p);
        ab[l] = 8;
        sum += (double)t->n[l] * wb[l];
        tot += t->n[l];
    }
    q_cost_penalty(&t->cm, wb, ab, pen, NULL, gw, NULL);
    for (int l = 0; l < NT; l++)
        q_ddq_bits_grad(&t->q[l], p, gw[l]);
    nn_optim_step(t->o, t->o->cfg.lr);
    return sum / tot;
}

START_TEST(test_penalty_toy)
{
    toy t;
    toy_make(&t);
    q_penalty pen = {Q_COST_BYTES, Q_PENALTY_HINGE, 60.0f, 0.5f};
    double band = (double)t.n[NT - 1] / (150.0 * NT * (NT + 1) / 2); /* a bit of the largest */
    int reached = -1;
    double lo = 8.0, hi_after = 0.0, first = 0.0;
    for (int it = 0; it < 600; it++) {
        double m = toy_step(&t, &pen);
        first = it == 0 ? m : first;
        lo = fmin(lo, m);
        if (reached < 0 && m <= 4.0 + band)
            reached = it;
        if (reached >= 0 && it >= reached + 100)
            hi_after = fmax(hi_after, fabs(m - 4.0));
    }
    ck_assert_double_eq(first, 8.0);
    ck_assert_msg(reached >= 0 && reached < 300, "mean precision reached 4 + %g at step %d",
                  band, reached);
    ck_assert_msg(lo >= 4.0 - band, "it went down to %g (target 4, band %g)", lo, band);
    ck_assert_msg(hi_after <= band, "after reaching the target it moved %g bits away", hi_after);
    toy_free(&t);
}
END_TEST

START_TEST(test_no_penalty_stays)
{
    toy t;
    toy_make(&t);
    q_penalty pen = {Q_COST_BYTES, Q_PENALTY_HINGE, 0.0f, 0.5f};
    double m = 0.0;
    for (int it = 0; it < 200; it++)
        m = toy_step(&t, &pen);
    ck_assert_double_eq(m, 8.0);
    toy_free(&t);
}
END_TEST

/* ---- a network ---- */

static q_net *ddq_small(nn_net **net)
{
    qa_err err;
    ck_assert_int_eq(nn_model_build(net, "small", 2, 1, 28, 28, 10, &err), QA_OK);
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.cand[0] = 8;
    cfg.ncand = 1;
    cfg.w_kind = cfg.a_kind = Q_KIND_DDQ;
    q_net *qn;
    ck_assert_msg(q_net_wrap(&qn, *net, &cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_net_finalize(*net, 1, &err), QA_OK);
    ck_assert_int_eq(q_plan_set_hard(qn->plan, 2, 8, 8, NULL, NULL, &err), QA_OK);
    nn_rng rng;
    nn_rng_init(&rng, 52, NN_STREAM_TEST, 1, 0);
    for (int i = 0; i < 2 * 28 * 28; i++)
        nn_net_input(*net)[i] = nn_rng_uniform(&rng);
    nn_net_forward(*net, 2, 1); /* first batch: ranges and gates */
    return qn;
}

START_TEST(test_net_penalty_grad)
{
    nn_net *net;
    q_net *qn = ddq_small(&net);
    const nn_params *p = &net->params;
    q_ddq_layer_stat st[8];
    ck_assert_int_le(qn->n, 8);
    for (int l = 0; l < qn->n; l++) {
        int pinned = qn->cost.layers[l].plan_layer < 0;
        ck_assert_int_eq(qn->layers[l]->wq[0].ddq->vgate < 0, pinned);
        if (!pinned) /* a different precision per layer and side */
            q_ddq_set_bits(&qn->layers[l]->wq[0], p, 3 + l);
    }
    q_ddq_net_stats(qn, p, st);
    int wb[8], ab[8]; /* by plan row */
    for (int l = 0; l < qn->n; l++) {
        int row = qn->cost.layers[l].plan_layer;
        ck_assert_int_eq(st[l].wbits, row < 0 ? 8 : 3 + l);
        ck_assert(st[l].wrange > 0.0f && st[l].arange > 0.0f);
        if (row >= 0) {
            wb[row] = st[l].wbits;
            ab[row] = st[l].abits;
        }
    }
    q_penalty pen = {Q_COST_BITOPS, Q_PENALTY_ABS, 1.5f, 0.05f};
    double r, rr, gw[8], ga[8];
    nn_net_zero_grad(net);
    double P = q_ddq_net_penalty(qn, p, &pen, &r);
    ck_assert_double_eq_tol(P, q_cost_penalty(&qn->cost, wb, ab, &pen, &rr, gw, ga), 1e-12);
    ck_assert_double_eq(r, rr);
    for (int l = 0; l < qn->n; l++) {
        const q_quant *q = &qn->layers[l]->wq[0];
        int row = qn->cost.layers[l].plan_layer;
        if (row < 0)
            continue;
        const float *g = nn_params_grad(p, q->ddq->vgate), *th = nn_params_value(p, q->ddq->vgate);
        for (int k = 0; k < q->ddq->ngate; k++) { /* every gate: one bit's cost */
            double want = gw[row] * q_ddq_gate_slope(th[k], q->ddq->tau);
            ck_assert_msg(fabs(g[k] - want) <= 1e-6 * (1.0 + fabs(want)),
                          "layer %d gate %d: %g, want %g", l, k, g[k], want);
        }
    }
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* gate logits of every planned side: top gate of side (l, s) at logit top[l][s] */
static void set_tops(const q_net *qn, const nn_params *p, const int bits[][2],
                     const float top[][2])
{
    for (int l = 0; l < qn->n; l++) {
        if (qn->cost.layers[l].plan_layer < 0)
            continue;
        const q_quant *q[2] = {&qn->layers[l]->wq[0], &qn->layers[l]->aq[0]};
        for (int s = 0; s < 2; s++) {
            q_ddq_set_bits(q[s], p, bits[l][s]);
            nn_params_value(p, q[s]->ddq->vgate)[bits[l][s] - q[s]->ddq->min_bits - 1] =
                top[l][s];
        }
    }
}

/* small: conv2 and conv3 planned, 903168 MACs each; conv1 + fc pinned at
 * 8 x 8: 7266304 BitOps. r = (7266304 + 903168 (w2 a2 + w3 a3)) / 122871808. */
START_TEST(test_net_fit)
{
    nn_net *net;
    q_net *qn = ddq_small(&net);
    const nn_params *p = &net->params;
    /* conv2 W6A5, conv3 W4A8; top logits: conv3's weights least open (0.1),
     * then conv2's activations (0.2), conv3's (0.5), conv2's weights (0.9) */
    const int bits[4][2] = {{8, 8}, {6, 5}, {4, 8}, {8, 8}};
    const float top[4][2] = {{0, 0}, {0.9f, 0.2f}, {0.1f, 0.5f}, {0, 0}};
    set_tops(qn, p, bits, top);
    const double u = 903168.0 / 122871808.0; /* r of one conv2/conv3 BitOp unit */
    double r0 = (7266304.0 + 903168.0 * (30 + 32)) / 122871808.0, r;
    /* 4 units under: conv3's weights 4 -> 3 bits save 8 (its inputs are at 8) */
    q_penalty pen = {Q_COST_BITOPS, Q_PENALTY_HINGE, 1.0f, (float)(r0 - 4 * u)};
    ck_assert_int_eq(q_ddq_net_fit(qn, p, &pen, &r), 1);
    ck_assert_double_eq_tol(r, r0 - 8 * u, 1e-12);
    ck_assert_int_eq(q_ddq_bits(&qn->layers[2]->wq[0], p), 3);
    ck_assert_int_eq(q_ddq_bits(&qn->layers[1]->aq[0], p), 5);
    ck_assert_int_eq(q_ddq_net_fit(qn, p, &pen, &r), 0); /* fits already */
    /* conv3's weights now have their next gate on top, nested at 2 gate_init
     * (1.0): conv2's activations (0.2) go next, 5 -> 4 bits saving 6 units */
    pen.target = (float)(r - 5 * u);
    ck_assert_int_eq(q_ddq_net_fit(qn, p, &pen, &r), 1);
    ck_assert_int_eq(q_ddq_bits(&qn->layers[1]->aq[0], p), 4);
    ck_assert_double_eq_tol(r, r0 - 14 * u, 1e-12);
    /* a target below everything at 2 bits: every planned gate closes */
    pen.target = 0.01f;
    q_ddq_net_fit(qn, p, &pen, &r);
    for (int l = 1; l < 3; l++) {
        ck_assert_int_eq(q_ddq_bits(&qn->layers[l]->wq[0], p), 2);
        ck_assert_int_eq(q_ddq_bits(&qn->layers[l]->aq[0], p), 2);
    }
    ck_assert_double_eq_tol(r, (7266304.0 + 903168.0 * 8) / 122871808.0, 1e-12);
    /* bytes: the activations' gates never close (they cost no bytes) */
    set_tops(qn, p, bits, top);
    pen = (q_penalty){Q_COST_BYTES, Q_PENALTY_HINGE, 1.0f, 0.01f};
    q_ddq_net_fit(qn, p, &pen, &r);
    ck_assert_int_eq(q_ddq_bits(&qn->layers[1]->aq[0], p), 5);
    ck_assert_int_eq(q_ddq_bits(&qn->layers[2]->aq[0], p), 8);
    ck_assert_int_eq(q_ddq_bits(&qn->layers[1]->wq[0], p), 2);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_ddq_penalty");
    TCase *tc = tcase_create("ddq_penalty");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_penalty_toy);
    tcase_add_test(tc, test_no_penalty_stays);
    tcase_add_test(tc, test_net_penalty_grad);
    tcase_add_test(tc, test_net_fit);
    suite_add_tcase(s, tc);
    return s;
}
