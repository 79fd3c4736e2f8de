/* test_instab.c: the activation instability measure (quant/instab.h) on
 * inputs written by hand into the tensors the planned layers read: a known
 * answer, 0 when the configurations agree, unchanged by a common scale,
 * and the channel-averaged statistics it reports. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/act.h"
#include "nn/conv2d.h"
#include "quant/instab.h"

/* conv 2->3 (planned, reads the input) -> relu -> conv 3->2 (planned) */
static nn_net *net_make(q_net **qn)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, 2, 2, 7, 7, &err), QA_OK);
    nn_conv2d_cfg c1 = nn_conv2d_cfg_make("c1", 3, 3, 1, 1), c2 = nn_conv2d_cfg_make("c2", 2, 3, 1, 1);
    nn_act_cfg r1 = {"r1", NN_ACT_RELU};
    int t = nn_conv2d_new(net, &c1, 0, &err);
    t = nn_act_new(net, &r1, t, &err);
    ck_assert_int_gt(nn_conv2d_new(net, &c2, t, &err), 0);
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.first_bits = cfg.last_bits = 0;
    ck_assert_msg(q_net_wrap(qn, net, &cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(nn_net_finalize(net, 1, &err) == QA_OK, "%s", err.msg);
    return net;
}

/* Layer 0, two samples of 49 positions per channel:
 *   configuration 0: channel 0 all 1 (mu 1, sd 0); channel 1: 0 then 2 (mu 1, sd 1)
 *   configuration 1: channel 0 all 3 (mu 3, sd 0); channel 1: 0 then 4 (mu 2, sd 2)
 * means over k: mu (2, 1.5), sd (0, 1.5); moves |1-2|+|3-2| + 4 x 0.5 = 4:
 * I = 4 / (2 x 1.5). Layer 1 reads the same values in both: I = 0. */
static void write_inputs(nn_net *net, const q_instab *s, int k, float scale)
{
    float *x0 = net->t[s->tensor[0]].data, *x1 = net->t[s->tensor[1]].data;
    for (int i = 0; i < 2; i++)
        for (int p = 0; p < 49; p++) {
            x0[(i * 2 + 0) * 49 + p] = scale * (k ? 3.0f : 1.0f);
            x0[(i * 2 + 1) * 49 + p] = scale * (i ? (k ? 4.0f : 2.0f) : 0.0f);
            for (int c = 0; c < 3; c++)
                x1[(i * 3 + c) * 49 + p] = scale * (float)((p * 7 + c + i) % 5);
        }
}

START_TEST(test_instab_known_answer)
{
    q_net *qn;
    nn_net *net = net_make(&qn);
    q_instab *s;
    qa_err err;
    ck_assert_int_eq(q_instab_create(&s, qn, net, 2, &err), QA_OK);
    ck_assert(s->L == 2 && s->nch[0] == 2 && s->nch[1] == 3 && s->tensor[0] == 0);
    double inst[2], mean[4], sd[4], inst3[2];
    for (int pass = 0; pass < 2; pass++) {
        float scale = pass ? 3.0f : 1.0f;
        q_instab_reset(s);
        for (int k = 0; k < 2; k++) {
            write_inputs(net, s, k, scale);
            q_instab_add(s, net, k, 2);
        }
        q_instab_measure(s, pass ? inst3 : inst, mean, sd);
    }
    ck_assert_double_eq_tol(inst[0], 4.0 / 3.0, 1e-12);
    ck_assert_double_eq_tol(inst[1], 0.0, 1e-12);
    ck_assert_double_eq_tol(inst3[0], inst[0], 1e-12);
    /* the last pass (scale 3): channel-averaged statistics per (l, k) */
    ck_assert_double_eq_tol(mean[0], 3.0 * 1.0, 1e-9);
    ck_assert_double_eq_tol(mean[1], 3.0 * 2.5, 1e-9);
    ck_assert_double_eq_tol(sd[0], 3.0 * 0.5, 1e-9);
    ck_assert_double_eq_tol(sd[1], 3.0 * 1.0, 1e-9);
    ck_assert_double_eq_tol(mean[2], mean[3], 1e-12);
    q_instab_free(s);
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_instab");
    TCase *tc = tcase_create("instab");
    tcase_add_test(tc, test_instab_known_answer);
    suite_add_tcase(s, tc);
    return s;
}
