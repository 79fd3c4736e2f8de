/* test_plan_cost.c: the plan's layout and operations, and the cost model:
 * BitOps of `small` and `resnet20` against hand-computed totals, soft-plan
 * expectations and their gradients against finite differences, and the
 * per-layer table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/gradcheck.h"
#include "nn/models.h"
#include "quant/cost.h"
#include "quant/qnet.h"

static const int CAND[4] = {2, 3, 4, 8};

START_TEST(test_plan_layout)
{
    q_plan *p;
    qa_err err;
    ck_assert_int_eq(q_plan_create(&p, 5, 3, CAND, 4, 0, &err), QA_OK);
    /* sample-major rows: sample i, layer l, candidate k */
    ck_assert_ptr_eq(q_plan_pw(p, 2, 1), p->pw + (2 * 3 + 1) * 4);
    ck_assert_ptr_eq(q_plan_wbits(p, 4), p->wbits + 12);
    ck_assert_ptr_ne(p->pa, p->pw);
    ck_assert_ptr_ne(p->gpa, p->gpw);
    ck_assert_ptr_ne(p->abits, p->wbits);
    /* the four probability arrays do not overlap */
    q_plan_pa(p, 4, 2)[3] = 7.0f;
    ck_assert_float_eq(q_plan_gpw(p, 4, 2)[3], 0.0f);
    ck_assert_float_eq(q_plan_pw(p, 4, 2)[3], 0.0f);
    q_plan_free(p);
    ck_assert_int_eq(q_plan_create(&p, 5, 3, CAND, 4, 1, &err), QA_OK);
    ck_assert_ptr_eq(p->pa, p->pw);
    ck_assert_ptr_eq(p->gpa, p->gpw);
    ck_assert_ptr_eq(p->abits, p->wbits);
    q_plan_free(p);
    static const int bad[2] = {4, 2};
    ck_assert_int_eq(q_plan_create(&p, 5, 3, bad, 2, 0, &err), QA_ERR_ARG);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_plan_hard_soft)
{
    q_plan *p;
    qa_err err;
    ck_assert_int_eq(q_plan_create(&p, 4, 2, CAND, 4, 0, &err), QA_OK);
    int lw[2] = {8, 2}, la[2] = {4, 3};
    ck_assert_int_eq(q_plan_set_hard(p, 4, 0, 0, lw, la, &err), QA_OK);
    ck_assert_int_eq(q_plan_wbits(p, 3)[1], 2);
    ck_assert_int_eq(q_plan_abits(p, 3)[0], 4);
    q_plan_onehot(p, 4);
    ck_assert_int_eq(p->mode, Q_PLAN_SOFT);
    ck_assert_float_eq(q_plan_pw(p, 1, 0)[3], 1.0f);
    ck_assert_float_eq(q_plan_pa(p, 1, 1)[1], 1.0f);
    ck_assert_float_eq(q_plan_pa(p, 1, 1)[0], 0.0f);
    float mw[2], ma[2];
    q_plan_mean_bits(p, 4, mw, ma);
    ck_assert_float_eq(mw[0], 8.0f);
    ck_assert_float_eq(ma[1], 3.0f);
    q_plan_pw(p, 0, 0)[0] = 0.3f; /* 0.3 at 2 bits vs 1.0 at 8: argmax stays 8 */
    q_plan_harden(p, 4);
    ck_assert_int_eq(q_plan_wbits(p, 0)[0], 8);
    ck_assert_int_eq(p->mode, Q_PLAN_HARD);
    lw[1] = 5;
    ck_assert_int_eq(q_plan_set_hard(p, 4, 0, 0, lw, la, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer 2"));
    q_plan_free(p);
    ck_assert_int_eq(q_plan_create(&p, 4, 2, CAND, 4, 1, &err), QA_OK);
    ck_assert_int_eq(q_plan_set_hard(p, 4, 4, 8, NULL, NULL, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "tied"));
    q_plan_free(p);
}
END_TEST

static q_net *wrap_model(nn_net **net, const char *arch, const q_cfg *cfg)
{
    qa_err err;
    q_net *qn;
    ck_assert_msg(nn_model_build(net, arch, 2, 1, 28, 28, 10, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(q_net_wrap(&qn, *net, cfg, &err) == QA_OK, "%s", err.msg);
    return qn;
}

/* small on 28x28x1, MACs = OH*OW*OC*(C*KH*KW):
 *   conv1 28*28*16*(1*9)  =  112896
 *   conv2 14*14*32*(16*9) =  903168
 *   conv3  7* 7*64*(32*9) =  903168
 *   fc    64*10           =     640      total 1919872 MACs
 * weights 144 + 4608 + 18432 + 640 = 23824.
 * conv1 and fc pinned at 8 bits, conv2/conv3 at W4A4:
 *   (112896 + 640) * 64 + (903168 + 903168) * 16 = 7266304 + 28901376 = 36167680
 * references: 1919872 * 1024 = 1965948928 (fp32), 1919872 * 64 = 122871808 (8 bit) */
START_TEST(test_bitops_small)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.ncand = 1;
    cfg.cand[0] = 4;
    nn_net *net;
    q_net *qn = wrap_model(&net, "small", &cfg);
    ck_assert_int_eq(qn->n, 4);
    ck_assert_int_eq(qn->plan->nlayers, 2);
    ck_assert_double_eq(qn->cost.ref_fp32, 1965948928.0);
    ck_assert_double_eq(qn->cost.ref_int8, 122871808.0);
    q_cost c = q_cost_fixed(&qn->cost, 4, 4);
    ck_assert_double_eq(c.bitops, 36167680.0);
    /* bytes: 144 + 640 at 8 bits, 4608 + 18432 at 4 bits */
    ck_assert_double_eq(c.bytes, 784.0 + 23040.0 / 2.0);
    /* the budgets of W4A4 relative to every layer at 8 bits: BitOps, and
     * bytes over 23824 bytes at 8 bits */
    ck_assert_double_eq(q_cost_fixed_ratio(&qn->cost, Q_COST_BITOPS, 4),
                        36167680.0 / 122871808.0);
    ck_assert_double_eq(q_cost_fixed_ratio(&qn->cost, Q_COST_BYTES, 4), 12304.0 / 23824.0);
    ck_assert_double_eq(q_cost_fixed_ratio(&qn->cost, Q_COST_BITOPS, 8), 1.0);
    qa_err err;
    ck_assert_int_eq(q_plan_set_hard(qn->plan, 2, 4, 4, NULL, NULL, &err), QA_OK);
    q_cost h = q_cost_sample(&qn->cost, qn->plan, 1, NULL, NULL);
    ck_assert_double_eq(h.bitops, 36167680.0);
    ck_assert_int_eq(nn_net_macs(net), 1919872);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* resnet20 on 28x28x1 (22 quantized layers):
 *   conv1                 28*28*16*(1*9)               =   112896
 *   stage 1: 6 convs      6 * 28*28*16*(16*9) = 6 * 1806336 = 10838016
 *   stage 2: 903168 (14*14*32*16*9) + 5 * 1806336 (14*14*32*32*9)
 *            + shortcut 100352 (14*14*32*16)           = 10035200
 *   stage 3: 903168 (7*7*64*32*9) + 5 * 1806336 (7*7*64*64*9)
 *            + shortcut 100352 (7*7*64*32)             = 10035200
 *   fc       640
 *   total 112896 + 10838016 + 2 * 10035200 + 640       = 31021952 MACs
 * W4A4 with conv1/fc at 8 bits:
 *   (112896 + 640) * 64 + (31021952 - 113536) * 16 = 7266304 + 494534656 = 501800960 */
/* A static per-layer plan on small (conv2 W3A5, conv3 W4A4, conv1 and fc
 * pinned at 8):
 *   (112896 + 640) * 64 + 903168 * 15 + 903168 * 16 = 35264512 BitOps
 *   bytes 144 + 640 at 8 bits, 4608 at 3, 18432 at 4: 784 + 1728 + 9216
 * and uniform widths give q_cost_fixed's. The table carries each layer's
 * shape (dense as one position, stride 0). */
START_TEST(test_cost_layers_small)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    nn_net *net;
    q_net *qn = wrap_model(&net, "small", &cfg);
    static const int w[2] = {3, 4}, a[2] = {5, 4}, u[2] = {6, 6};
    q_cost c = q_cost_layers(&qn->cost, w, a);
    ck_assert_double_eq(c.bitops, 35264512.0);
    ck_assert_double_eq(c.bytes, 784.0 + 1728.0 + 9216.0);
    ck_assert_double_eq(q_cost_layers(&qn->cost, u, u).bitops,
                        q_cost_fixed(&qn->cost, 6, 6).bitops);
    static const int shape[4][6] = {/* cin, cout, kernel, stride, groups, in_hw */
                                    {1, 16, 3, 1, 1, 784},
                                    {16, 32, 3, 2, 1, 784},
                                    {32, 64, 3, 2, 1, 196},
                                    {64, 10, 1, 0, 1, 1}};
    for (int l = 0; l < 4; l++) {
        const q_cost_layer *L = &qn->cost.layers[l];
        int got[6] = {L->cin, L->cout, L->kernel, L->stride, L->groups, L->in_hw};
        for (int j = 0; j < 6; j++)
            ck_assert_msg(got[j] == shape[l][j], "%s field %d: %d, expected %d", L->name, j,
                          got[j], shape[l][j]);
    }
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

START_TEST(test_bitops_resnet20)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    nn_net *net;
    q_net *qn = wrap_model(&net, "resnet20", &cfg);
    ck_assert_int_eq(qn->n, 22);
    ck_assert_int_eq(qn->plan->nlayers, 20);
    ck_assert_double_eq(qn->cost.ref_fp32, 31021952.0 * 1024.0);
    ck_assert_double_eq(q_cost_fixed(&qn->cost, 4, 4).bitops, 501800960.0);
    ck_assert_double_eq(q_cost_fixed_ratio(&qn->cost, Q_COST_BITOPS, 4),
                        501800960.0 / (31021952.0 * 64.0)); /* 0.2527: uniform 4-bit BitOps */
    ck_assert_str_eq(qn->cost.layers[0].name, "conv1");
    ck_assert_str_eq(qn->cost.layers[21].name, "fc");
    ck_assert_int_eq(qn->cost.layers[21].wbits, 8);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* E[BitOps] of a soft plan: tied sum p c^2, untied (sum p c)(sum r c); the
 * gradient against finite differences, the hard one-hot limit. */
typedef struct {
    const q_cost_model *cm;
    q_plan *p;
} cost_ctx;

static double cost_loss(void *arg)
{
    cost_ctx *c = arg;
    return q_cost_sample(c->cm, c->p, 1, NULL, NULL).bitops * 1e-3;
}

/* a cost-table row: plan row `row`, or pinned at bits x bits when row < 0 */
static q_cost_layer cl(const char *name, const char *type, int64_t macs, int64_t params, int row,
                       int bits)
{
    q_cost_layer L = {.macs = macs, .params = params, .plan_layer = row, .wbits = bits,
                      .abits = bits};
    snprintf(L.name, sizeof L.name, "%s", name);
    snprintf(L.type, sizeof L.type, "%s", type);
    return L;
}

static void check_soft_cost(int tied)
{
    q_cost_layer L[3] = {
        cl("a", "conv2d", 1000, 50, -1, 8),
        cl("b", "conv2d", 3000, 70, 0, 0),
        cl("c", "dense", 200, 20, 1, 0),
    };
    q_cost_model cm;
    q_plan *p;
    qa_err err;
    ck_assert_int_eq(q_cost_model_init(&cm, L, 3, &err), QA_OK);
    ck_assert_int_eq(q_plan_create(&p, 2, 2, CAND, 4, tied, &err), QA_OK);
    nn_rng rng;
    nn_rng_init(&rng, 4, NN_STREAM_TEST, (uint32_t)tied, 0);
    for (size_t k = 0; k < 2 * 2 * 4; k++) {
        p->pw[k] = nn_rng_uniform(&rng);
        p->pa[k] = nn_rng_uniform(&rng);
    }
    p->mode = Q_PLAN_SOFT;
    float gw[8], ga[8];
    q_cost c = q_cost_sample(&cm, p, 1, gw, ga);
    const float *pw = q_plan_pw(p, 1, 0), *pa = q_plan_pa(p, 1, 0);
    double ew = 0, ea = 0, e2 = 0;
    for (int k = 0; k < 4; k++) {
        ew += pw[k] * CAND[k];
        ea += pa[k] * CAND[k];
        e2 += pw[k] * CAND[k] * CAND[k];
    }
    double layer_b = 3000.0 * (tied ? e2 : ew * ea);
    double rest = c.bitops - 1000.0 * 64 - layer_b;
    ck_assert(rest > 0);
    cost_ctx cc = {&cm, p};
    nn_gradcheck_cfg cfg = {.eps = 1e-3f, .rtol = 1e-4f, .atol = 1e-6f};
    nn_gradcheck_result res = {0};
    for (int k = 0; k < 8; k++)
        gw[k] *= 1e-3f, ga[k] *= 1e-3f;
    ck_assert_msg(nn_gradcheck_vec(cost_loss, &cc, q_plan_pw(p, 1, 0), gw, 8, "pw", &cfg, &res,
                                   &err) == QA_OK, "%s", err.msg);
    if (!tied)
        ck_assert_msg(nn_gradcheck_vec(cost_loss, &cc, q_plan_pa(p, 1, 0), ga, 8, "pa", &cfg,
                                       &res, &err) == QA_OK, "%s", err.msg);
    int lw[2] = {4, 2};
    ck_assert_int_eq(q_plan_set_hard(p, 2, 0, 0, lw, lw, &err), QA_OK);
    q_cost hard = q_cost_sample(&cm, p, 1, NULL, NULL);
    q_plan_onehot(p, 2);
    q_cost soft = q_cost_sample(&cm, p, 1, NULL, NULL);
    ck_assert_double_eq(hard.bitops, 1000.0 * 64 + 3000.0 * 16 + 200.0 * 4);
    ck_assert_double_eq(soft.bitops, hard.bitops);
    ck_assert_double_eq(soft.bytes, 50.0 + 70.0 * 4 / 8 + 20.0 * 2 / 8);
    q_plan_free(p);
    q_cost_model_free(&cm);
}

START_TEST(test_soft_cost_untied)
{
    check_soft_cost(0);
}
END_TEST

START_TEST(test_soft_cost_tied)
{
    check_soft_cost(1);
}
END_TEST

/* q_cost_argmax: the cost of the widths q_plan_harden picks, read from the
 * soft rows without touching the plan; a distribution straddling two
 * widths costs its argmax, not its expectation. */
START_TEST(test_cost_argmax)
{
    q_cost_layer L[2] = {cl("a", "conv2d", 1000, 50, -1, 8), cl("b", "conv2d", 3000, 70, 0, 0)};
    q_cost_model cm;
    q_plan *p;
    qa_err err;
    ck_assert_int_eq(q_cost_model_init(&cm, L, 2, &err), QA_OK);
    ck_assert_int_eq(q_plan_create(&p, 3, 1, CAND, 4, 0, &err), QA_OK);
    static const float pw[3][4] = {{0.1f, 0.2f, 0.3f, 0.4f}, {0.5f, 0.5f, 0, 0}, {0, 0.3f, 0.7f, 0}};
    static const float pa[3][4] = {{0.4f, 0.3f, 0.2f, 0.1f}, {0, 0.2f, 0.2f, 0.6f}, {0, 0.6f, 0.4f, 0}};
    static const int wb[3] = {8, 2, 4}, ab[3] = {2, 8, 3};
    memcpy(p->pw, pw, sizeof pw);
    memcpy(p->pa, pa, sizeof pa);
    p->mode = Q_PLAN_SOFT;
    for (int i = 0; i < 3; i++) {
        q_cost c = q_cost_argmax(&cm, p, i);
        ck_assert_double_eq(c.bitops, 1000.0 * 64 + 3000.0 * wb[i] * ab[i]);
        ck_assert_double_eq(c.bytes, 50.0 + 70.0 * wb[i] / 8);
    }
    ck_assert_int_eq(p->mode, Q_PLAN_SOFT);
    double straddle = q_cost_sample(&cm, p, 2, NULL, NULL).bitops;
    ck_assert_double_eq_tol(straddle, 1000.0 * 64 + 3000.0 * 3.7 * 3.4, 1e-2);
    q_plan_harden(p, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq(q_cost_argmax(&cm, p, i).bitops,
                            q_cost_sample(&cm, p, i, NULL, NULL).bitops);
    q_plan_free(p);
    q_cost_model_free(&cm);
}
END_TEST

START_TEST(test_cost_table)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    nn_net *net;
    q_net *qn = wrap_model(&net, "small", &cfg);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    q_cost_print(&qn->cost, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "conv2"));
    ck_assert_ptr_nonnull(strstr(buf, "1919872"));
    ck_assert_ptr_nonnull(strstr(buf, "8/8")); /* pinned conv1 */
    free(buf);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

START_TEST(test_cost_bad_rows)
{
    q_cost_layer L[2] = {cl("a", "conv2d", 10, 1, 1, 0), cl("b", "conv2d", 10, 1, 0, 0)};
    q_cost_model cm;
    qa_err err;
    ck_assert_int_eq(q_cost_model_init(&cm, L, 2, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "a"));
}
END_TEST

/* Net indices of the quantizable layers of net, in order; returns their count. */
static int quantizable(const nn_net *net, int *at)
{
    int n = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (q_layer_supported(net->layers[i]))
            at[n++] = i;
    return n;
}

/* A range of resnet20's layers wraps exactly its quantizable layers, each as
 * the whole-net wrap does (names, pinning, MACs), with plan rows 0.. over
 * the range's planned layers; the others stay float layers. */
START_TEST(test_wrap_range)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    qa_err err = {0};
    nn_net *whole_net, *net;
    q_net *whole = wrap_model(&whole_net, "resnet20", &cfg), *qn;
    int at[64], n;
    ck_assert_msg(nn_model_build(&net, "resnet20", 2, 1, 28, 28, 10, &err) == QA_OK, "%s",
                  err.msg);
    n = quantizable(net, at);
    ck_assert_int_eq(n, 22);
    /* a middle block, and one reaching the last (pinned) layer */
    const int ranges[2][2] = {{at[5], at[12]}, {at[15], net->nlayers - 1}};
    for (int t = 0; t < 2; t++) {
        nn_net_free(net);
        ck_assert_int_eq(nn_model_build(&net, "resnet20", 2, 1, 28, 28, 10, &err), QA_OK);
        int first = ranges[t][0], last = ranges[t][1];
        ck_assert_msg(q_net_wrap_range(&qn, net, &cfg, first, last, &err) == QA_OK, "%s",
                      err.msg);
        int k0 = t == 0 ? 5 : 15, nk = t == 0 ? 8 : 7, row = 0;
        ck_assert_int_eq(qn->n, nk);
        for (int k = 0; k < nk; k++) {
            const q_cost_layer *a = &qn->cost.layers[k], *b = &whole->cost.layers[k0 + k];
            ck_assert_str_eq(a->name, b->name);
            ck_assert_int_eq(a->macs, b->macs);
            ck_assert_int_eq(a->wbits, b->wbits);
            ck_assert_int_eq(a->plan_layer, b->plan_layer < 0 ? -1 : row);
            row += b->plan_layer >= 0;
        }
        ck_assert_int_eq(qn->plan->nlayers, row);
        ck_assert_int_eq(qn->cost.layers[nk - 1].wbits, t == 1 ? 8 : 0); /* fc pinned */
        for (int i = 0, j = 0; i < net->nlayers; i++) {
            int quantizable_i = j < n && at[j] == i;
            j += quantizable_i;
            int in = quantizable_i && i >= first && i <= last;
            ck_assert_int_eq(strcmp(net->layers[i]->ops->type, "qlayer") == 0, in);
        }
        ck_assert_msg(nn_net_finalize(net, 1, &err) == QA_OK, "%s", err.msg);
        q_net_free(qn);
    }
    ck_assert_int_eq(q_net_wrap_range(&qn, net, &cfg, 5, 2, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer range [5, 2]"));
    ck_assert_int_eq(q_net_wrap_range(&qn, net, &cfg, 0, net->nlayers, &err), QA_ERR_ARG);
    nn_net_free(net);
    q_net_free(whole);
    nn_net_free(whole_net);
}
END_TEST

/* The penalty of a static per-layer plan: known values (hinge, absolute;
 * BitOps, bytes; the pinned layer at its widths) and its derivative equal
 * to the penalty's change for a one-bit move of one side of one planned
 * layer wherever the move stays on one side of the target. */
START_TEST(test_cost_penalty)
{
    q_cost_layer L[3] = {
        cl("a", "conv2d", 1000, 50, -1, 8),
        cl("b", "conv2d", 3000, 70, 0, 0),
        cl("c", "dense", 200, 30, 1, 0),
    };
    q_cost_model cm;
    qa_err err;
    ck_assert_int_eq(q_cost_model_init(&cm, L, 3, &err), QA_OK);
    int wb[2] = {4, 3}, ab[2] = {2, 5};
    double r, gw[2], ga[2];
    /* BitOps (64000 + 24000 + 3000) / (4200 * 64); bytes (50 * 8 + 70 * 4 + 30 * 3) / (150 * 8) */
    double rb = 91000.0 / 268800.0, ry = 770.0 / 1200.0;
    q_penalty pen = {Q_COST_BITOPS, Q_PENALTY_HINGE, 2.0f, 0.25f};
    ck_assert_double_eq_tol(q_cost_penalty(&cm, wb, ab, &pen, &r, gw, ga), 2.0 * (rb - 0.25), 1e-9);
    ck_assert_double_eq_tol(r, rb, 1e-12);
    ck_assert_double_eq_tol(gw[0], 2.0 * 3000 * 2 / 268800.0, 1e-12); /* MACs b_a lambda / ref */
    ck_assert_double_eq_tol(ga[0], 2.0 * 3000 * 4 / 268800.0, 1e-12);
    pen.target = 0.5f; /* below the target: the hinge is silent, the absolute form pulls up */
    ck_assert_double_eq(q_cost_penalty(&cm, wb, ab, &pen, &r, gw, ga), 0.0);
    ck_assert_double_eq(gw[0] + gw[1] + ga[0] + ga[1], 0.0);
    pen.form = Q_PENALTY_ABS;
    ck_assert_double_eq_tol(q_cost_penalty(&cm, wb, ab, &pen, &r, gw, ga), 2.0 * (0.5 - rb), 1e-9);
    ck_assert(gw[1] < 0.0 && ga[1] < 0.0);
    pen = (q_penalty){Q_COST_BYTES, Q_PENALTY_ABS, 3.0f, 0.4f};
    ck_assert_double_eq_tol(q_cost_penalty(&cm, wb, ab, &pen, &r, gw, ga),
                            3.0 * (ry - (double)0.4f), 1e-9);
    ck_assert_double_eq_tol(gw[1], 3.0 * 30 / 8.0 / 150.0, 1e-12); /* a bit: 30 / 8 of 150 bytes */
    ck_assert_double_eq(ga[0] + ga[1], 0.0);
    for (int f = 0; f < 4; f++) { /* one-bit moves, every planned layer and side */
        pen = (q_penalty){f & 1, f >> 1, 1.5f, f & 1 ? 0.3f : 0.1f};
        double P0 = q_cost_penalty(&cm, wb, ab, &pen, NULL, gw, ga);
        for (int l = 0; l < 2; l++)
            for (int side = 0; side < 2; side++) {
                int *b = side ? ab : wb;
                b[l]++;
                double d = q_cost_penalty(&cm, wb, ab, &pen, NULL, NULL, NULL) - P0;
                b[l]--;
                ck_assert_double_eq_tol(d, side ? ga[l] : gw[l], 1e-12);
            }
    }
    q_cost_model_free(&cm);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_plan_cost");
    TCase *tc = tcase_create("plan_cost");
    tcase_add_test(tc, test_plan_layout);
    tcase_add_test(tc, test_plan_hard_soft);
    tcase_add_test(tc, test_bitops_small);
    tcase_add_test(tc, test_cost_layers_small);
    tcase_add_test(tc, test_bitops_resnet20);
    tcase_add_test(tc, test_wrap_range);
    tcase_add_test(tc, test_soft_cost_untied);
    tcase_add_test(tc, test_soft_cost_tied);
    tcase_add_test(tc, test_cost_argmax);
    tcase_add_test(tc, test_cost_table);
    tcase_add_test(tc, test_cost_bad_rows);
    tcase_add_test(tc, test_cost_penalty);
    suite_add_tcase(s, tc);
    return s;
}
