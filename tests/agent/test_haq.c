/* test_haq.c: the HAQ search's rules (agent/haq.h):
 *   - action -> width at the ends, the middle, either side of a bin edge,
 *     outside [0, 1], equal to HAQ's formula on contiguous widths and to
 *     bin k for the middle of bin k on any widths;
 *   - the state: min-max columns, constant columns 0, the depthwise flag,
 *     the side flag and the previous action, the steps of tied and untied
 *     plans;
 *   - the budget: over thousands of random plans on the small backbone
 *     (BitOps and bytes, tied and untied) a fitted plan is never over the
 *     budget, only lowered, still made of candidates, and a plan that fits
 *     comes back unchanged; HAQ's order (last layer, activations first);
 *     an unreachable budget fails and leaves the plan alone. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agent/haq.h"
#include "check_main.h"
#include "nn/models.h"
#include "nn/rng.h"
#include "quant/qnet.h"

static const int WIDTHS[7] = {2, 3, 4, 5, 6, 7, 8};

START_TEST(test_width_ends_middle)
{
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, 0.0f), 2);
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, 1.0f), 8);
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, 0.5f), 5);
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, 1.0f / 7 - 1e-4f), 2);
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, 1.0f / 7 + 1e-4f), 3);
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, 6.0f / 7 - 1e-4f), 7);
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, 6.0f / 7 + 1e-4f), 8);
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, -0.3f), 2);
    ck_assert_int_eq(agent_haq_width(WIDTHS, 7, 1.7f), 8);
    static const int sparse[3] = {2, 4, 8};
    ck_assert_int_eq(agent_haq_width(sparse, 3, 0.5f), 4);
    ck_assert_int_eq(agent_haq_width(sparse, 3, 0.0f), 2);
    ck_assert_int_eq(agent_haq_width(sparse, 3, 0.99f), 8);
}
END_TEST

/* round(b_min - 0.5 + a (b_max - b_min + 1)) clamped, away from the ties */
START_TEST(test_width_haq_formula)
{
    for (int i = 0; i <= 1000; i++) {
        float a = (float)i / 1000.0f;
        double x = 2 - 0.5 + a * 7.0;
        if (fabs(x - floor(x) - 0.5) < 1e-3)
            continue;
        long b = lround(x);
        b = b < 2 ? 2 : b > 8 ? 8 : b;
        ck_assert_msg(agent_haq_width(WIDTHS, 7, a) == b, "a = %g: %d, HAQ %ld", a,
                      agent_haq_width(WIDTHS, 7, a), b);
    }
    for (int k = 0; k < 7; k++)
        ck_assert_int_eq(agent_haq_width(WIDTHS, 7, ((float)k + 0.5f) / 7.0f), WIDTHS[k]);
}
END_TEST

static q_cost_layer layer(int row, int cin, int cout, int kernel, int stride, int groups,
                          int hw)
{
    q_cost_layer L = {.macs = 100, .plan_layer = row, .wbits = row < 0 ? 8 : 0,
                      .abits = row < 0 ? 8 : 0, .cin = cin, .cout = cout, .kernel = kernel,
                      .stride = stride, .groups = groups, .in_hw = hw};
    L.params = (int64_t)cout * (cin / groups) * kernel * kernel;
    snprintf(L.name, sizeof L.name, "l%d", row);
    return L;
}

/* three planned layers between two pinned ones; the second is depthwise,
 * all have kernel 3 */
START_TEST(test_state)
{
    q_cost_layer L[5] = {layer(-1, 3, 8, 3, 1, 1, 1024), layer(0, 8, 16, 3, 1, 1, 1024),
                         layer(1, 16, 16, 3, 2, 16, 1024), layer(2, 16, 32, 3, 1, 1, 256),
                         layer(-1, 32, 10, 1, 0, 1, 1)};
    q_cost_model cm;
    qa_err err;
    ck_assert_int_eq(q_cost_model_init(&cm, L, 5, &err), QA_OK);
    agent_haq h;
    ck_assert_int_eq(agent_haq_init(&h, &cm, WIDTHS, 7, 0, &err), QA_OK);
    ck_assert_int_eq(h.nsteps, 6);
    /* index, cin, cout, stride, kernel, weights, feature size, depthwise */
    /* (weights 1152, 144, 4608: (x - 144) / (4608 - 144)) */
    static const float want[3][AGENT_HAQ_STATIC] = {
        {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, (1152.0f - 144.0f) / (4608.0f - 144.0f), 1.0f, 0.0f},
        {0.5f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f},
        {1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f},
    };
    float s[AGENT_HAQ_DIM];
    for (int t = 0; t < 6; t++) {
        agent_haq_state(&h, t, 0.25f, s);
        int l = t / 2;
        for (int j = 0; j < AGENT_HAQ_STATIC; j++)
            ck_assert_msg(fabsf(s[j] - want[l][j]) < 1e-6f, "step %d feature %d: %g, expected %g",
                          t, j, s[j], want[l][j]);
        ck_assert_float_eq(s[8], (t % 2 ? 0.0f : 1.0f));
        ck_assert_float_eq(s[9], (t ? 0.25f : 1.0f));
    }
    ck_assert_int_eq(agent_haq_init(&h, &cm, WIDTHS, 7, 1, &err), QA_OK);
    ck_assert_int_eq(h.nsteps, 3);
    agent_haq_state(&h, 2, 0.5f, s);
    ck_assert_float_eq(s[0], 1.0f);
    ck_assert_float_eq(s[8], 1.0f);
    agent_haq_plan p = {0};
    agent_haq_apply(&h, 1, 0.0f, &p);
    ck_assert_int_eq(p.w[1], 2);
    ck_assert_int_eq(p.a[1], 2);
    q_cost_model_free(&cm);
}
END_TEST

static q_net *small_net(nn_net **net)
{
    qa_err err;
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    ck_assert_int_eq(q_cfg_parse_cand(&cfg, "2,3,4,5,6,7,8", &err), QA_OK);
    q_net *qn;
    ck_assert_msg(nn_model_build(net, "small", 2, 1, 28, 28, 10, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(q_net_wrap(&qn, *net, &cfg, &err) == QA_OK, "%s", err.msg);
    return qn;
}

static void random_plan(const agent_haq *h, nn_rng *r, agent_haq_plan *p)
{
    for (int t = 0; t < h->nsteps; t++)
        agent_haq_apply(h, t, nn_rng_uniform(r), p);
}

static void check_fit(const agent_haq *h, const q_cost_model *cm, int kind, double budget)
{
    nn_rng r;
    nn_rng_init(&r, 7, NN_STREAM_TEST, (uint32_t)kind, (uint32_t)h->tied);
    qa_err err;
    int fitting = 0;
    for (int i = 0; i < 3000; i++) {
        agent_haq_plan p = {0}, q;
        random_plan(h, &r, &p);
        q = p;
        double before = agent_haq_cost(cm, kind, &p);
        ck_assert_int_eq(agent_haq_fit(h, cm, kind, budget, &q, &err), QA_OK);
        ck_assert_msg(agent_haq_cost(cm, kind, &q) <= budget, "plan %d over: %g > %g", i,
                      agent_haq_cost(cm, kind, &q), budget);
        if (before <= budget) {
            fitting++;
            ck_assert_msg(memcmp(&p, &q, sizeof p) == 0, "plan %d fit and was changed", i);
        }
        for (int l = 0; l < h->nlayers; l++) {
            ck_assert(q.w[l] <= p.w[l] && q.a[l] <= p.a[l] && q.w[l] >= 2 && q.a[l] >= 2);
            ck_assert(!h->tied || q.w[l] == q.a[l]);
        }
    }
    /* both cases occurred */
    ck_assert_int_gt(fitting, 100);
    ck_assert_int_lt(fitting, 2900);
}

START_TEST(test_budget)
{
    nn_net *net;
    q_net *qn = small_net(&net);
    qa_err err;
    for (int tied = 0; tied < 2; tied++) {
        agent_haq h;
        ck_assert_int_eq(agent_haq_init(&h, &qn->cost, WIDTHS, 7, tied, &err), QA_OK);
        check_fit(&h, &qn->cost, AGENT_BUDGET_BITOPS, 0.243);
        check_fit(&h, &qn->cost, AGENT_BUDGET_BYTES, 0.6);
    }
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

/* Everything at 8 bits and the budget of conv3's activations at 7: HAQ
 * lowers the last layer's activation width first and stops there. The
 * budget of everything at 7 takes one whole sweep. */
START_TEST(test_budget_order)
{
    nn_net *net;
    q_net *qn = small_net(&net);
    qa_err err;
    agent_haq h;
    ck_assert_int_eq(agent_haq_init(&h, &qn->cost, WIDTHS, 7, 0, &err), QA_OK);
    agent_haq_plan p = {.n = 2, .w = {8, 8}, .a = {8, 8}};
    agent_haq_plan low = {.n = 2, .w = {2, 2}, .a = {2, 2}}, q = p;
    q.a[1] = 7;
    double c87 = agent_haq_cost(&qn->cost, AGENT_BUDGET_BITOPS, &q);
    ck_assert_double_lt(c87, 1.0);
    ck_assert_int_eq(agent_haq_fit(&h, &qn->cost, AGENT_BUDGET_BITOPS, c87, &p, &err), QA_OK);
    ck_assert_mem_eq(&p, &q, sizeof p);
    agent_haq_plan all7 = {.n = 2, .w = {7, 7}, .a = {7, 7}};
    agent_haq_plan full = {.n = 2, .w = {8, 8}, .a = {8, 8}};
    double c7 = agent_haq_cost(&qn->cost, AGENT_BUDGET_BITOPS, &all7);
    ck_assert_int_eq(agent_haq_fit(&h, &qn->cost, AGENT_BUDGET_BITOPS, c7, &full, &err), QA_OK);
    ck_assert_mem_eq(&full, &all7, sizeof full);
    /* unreachable: under every planned layer at 2 bits */
    double floor_cost = agent_haq_cost(&qn->cost, AGENT_BUDGET_BITOPS, &low);
    q = p;
    ck_assert_int_eq(
        agent_haq_fit(&h, &qn->cost, AGENT_BUDGET_BITOPS, floor_cost * 0.99, &q, &err),
        QA_ERR_ARG);
    ck_assert_mem_eq(&p, &q, sizeof p);
    ck_assert_ptr_nonnull(strstr(err.msg, "budget"));
    q_net_free(qn);
    nn_net_free(net);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("agent_haq");
    TCase *tc = tcase_create("haq");
    tcase_add_test(tc, test_width_ends_middle);
    tcase_add_test(tc, test_width_haq_formula);
    tcase_add_test(tc, test_state);
    tcase_add_test(tc, test_budget);
    tcase_add_test(tc, test_budget_order);
    suite_add_tcase(s, tc);
    return s;
}
