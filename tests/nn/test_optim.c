/* test_optim.c: optimizer steps against values worked out by hand (the
 * arithmetic is in the comments; PyTorch 1.13 gives the same numbers) and
 * the learning-rate schedules against their formulas. */
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "nn/optim.h"

/* views: w (2 values), b (1 value, lr_mult 2, decay_mult 0), a buffer */
static void make_params(nn_params *p, int *w, int *b, int *buf)
{
    qa_err err;
    nn_params_init(p);
    *w = nn_params_add(p, "w", 2, NN_PARAM_WEIGHT, &err);
    *b = nn_params_add(p, "b", 1, NN_PARAM_BIAS, &err);
    *buf = nn_params_add(p, "stat", 1, NN_PARAM_BUFFER, &err);
    p->views[*b].lr_mult = 2.0f;
    p->views[*b].decay_mult = 0.0f;
    ck_assert_int_eq(nn_params_alloc(p, &err), QA_OK);
    float *wv = nn_params_value(p, *w);
    wv[0] = 1.0f;
    wv[1] = -2.0f;
    nn_params_value(p, *b)[0] = 3.0f;
    nn_params_value(p, *buf)[0] = 7.0f;
}

/* lr 0.1, momentum 0.9, weight decay 0.01, g = (0.5, 0.25) and 1 twice:
 * step 1: d = g + 0.01 w = (0.51, 0.23), buf = d, w = (0.949, -2.023);
 *         b: d = 1 (no decay), buf = 1, b = 3 - 0.2 = 2.8
 * step 2: d = (0.50949, 0.22977), buf = 0.9 (0.51, 0.23) + d = (0.96849, 0.43677),
 *         w = (0.852151, -2.066677); b: buf = 1.9, b = 2.8 - 0.38 = 2.42 */
START_TEST(test_sgd_two_steps)
{
    nn_params p;
    int w, b, buf;
    make_params(&p, &w, &b, &buf);
    nn_optim *o;
    qa_err err;
    nn_optim_cfg cfg = {.type = NN_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f};
    ck_assert_int_eq(nn_optim_create(&o, &cfg, &p, &err), QA_OK);
    static const double want_w[2][2] = {{0.949, -2.023}, {0.852151, -2.066677}}, want_b[2] = {2.8, 2.42};
    for (int step = 0; step < 2; step++) {
        float *g = nn_params_grad(&p, w);
        g[0] = 0.5f;
        g[1] = 0.25f;
        nn_params_grad(&p, b)[0] = 1.0f;
        nn_optim_step(o, 0.1f);
        ck_assert_double_eq_tol(nn_params_value(&p, w)[0], want_w[step][0], 1e-6);
        ck_assert_double_eq_tol(nn_params_value(&p, w)[1], want_w[step][1], 1e-6);
        ck_assert_double_eq_tol(nn_params_value(&p, b)[0], want_b[step], 1e-6);
    }
    ck_assert_double_eq_tol(o->m[p.views[w].off], 0.96849, 1e-6); /* the exposed momentum */
    ck_assert_float_eq(nn_params_value(&p, buf)[0], 7.0f);        /* buffers untouched */
    ck_assert_int_eq(o->t, 2);
    nn_optim_free(o);
    nn_params_free(&p);
}
END_TEST

/* nesterov, lr 0.1, momentum 0.9, g = 0.5 twice, w = 1:
 * step 1: buf = 0.5, w -= 0.1 (0.5 + 0.45) -> 0.905
 * step 2: buf = 0.95, w -= 0.1 (0.5 + 0.855) -> 0.7695 */
START_TEST(test_sgd_nesterov)
{
    nn_params p;
    int w, b, buf;
    make_params(&p, &w, &b, &buf);
    nn_optim *o;
    nn_optim_cfg cfg = {.type = NN_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .nesterov = 1};
    ck_assert_int_eq(nn_optim_create(&o, &cfg, &p, NULL), QA_OK);
    for (int step = 0; step < 2; step++) {
        nn_params_grad(&p, w)[0] = 0.5f;
        nn_optim_step(o, 0.1f);
    }
    ck_assert_double_eq_tol(nn_params_value(&p, w)[0], 0.7695, 1e-6);
    nn_optim_free(o);
    nn_params_free(&p);
}
END_TEST

/* AdamW, lr 0.1, weight decay 0.01, betas (0.9, 0.999), eps 1e-8, w = 1:
 * step 1 (g = 0.5): w = 0.999; m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25
 *                   w = 0.999 - 0.1 * 0.5 / 0.5 = 0.899
 * step 2 (g = -0.25): w = 0.899 * 0.999 = 0.898101; m = 0.02,
 *   v = 0.00031225; m^ = 0.02 / 0.19, sqrt(v^) = sqrt(0.00031225 / 0.001999)
 *   = 0.3952260; w = 0.898101 - 0.1 * 0.1052632 / 0.3952260 = 0.8714673 */
START_TEST(test_adamw_two_steps)
{
    nn_params p;
    int w, b, buf;
    make_params(&p, &w, &b, &buf);
    nn_optim *o;
    nn_optim_cfg cfg = {.type = NN_OPT_ADAMW, .lr = 0.1f, .weight_decay = 0.01f};
    ck_assert_int_eq(nn_optim_create(&o, &cfg, &p, NULL), QA_OK);
    ck_assert_float_eq(o->cfg.beta1, 0.9f); /* defaults */
    ck_assert_float_eq(o->cfg.eps, 1e-8f);
    nn_params_grad(&p, w)[0] = 0.5f;
    nn_optim_step(o, 0.1f);
    ck_assert_double_eq_tol(nn_params_value(&p, w)[0], 0.899, 1e-6);
    nn_params_grad(&p, w)[0] = -0.25f;
    nn_optim_step(o, 0.1f);
    ck_assert_double_eq_tol(nn_params_value(&p, w)[0], 0.8714673, 1e-6);
    ck_assert_double_eq_tol(o->v[p.views[w].off], 0.00031225, 1e-8); /* 1 - 0.999f in float */
    /* b has lr_mult 2 and no decay: with g = 0 it stays at 3 */
    ck_assert_float_eq(nn_params_value(&p, b)[0], 3.0f);
    nn_optim_free(o);
    nn_params_free(&p);
}
END_TEST

START_TEST(test_optim_errors)
{
    nn_params p;
    int w, b, buf;
    make_params(&p, &w, &b, &buf);
    nn_optim *o = (nn_optim *)&p;
    qa_err err;
    nn_optim_cfg bad[] = {
        {.type = 7, .lr = 0.1f},
        {.type = NN_OPT_SGD, .lr = -1.0f},
        {.type = NN_OPT_SGD, .lr = 0.1f, .momentum = 1.0f},
        {.type = NN_OPT_SGD, .lr = 0.1f, .nesterov = 1},
        {.type = NN_OPT_ADAMW, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 1.5f},
        {.type = NN_OPT_SGD, .lr = NAN},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(nn_optim_create(&o, &bad[i], &p, &err), QA_ERR_ARG);
        ck_assert_ptr_null(o);
        ck_assert(strlen(err.msg) > 10);
    }
    nn_params_free(&p);
}
END_TEST

START_TEST(test_schedules)
{
    nn_sched_cfg cosine = {.type = NN_SCHED_COSINE, .base_lr = 0.05f};
    ck_assert_float_eq(nn_sched_lr(&cosine, 0, 10), 0.05f);
    ck_assert_double_eq_tol(nn_sched_lr(&cosine, 3, 10), 0.05 * 0.5 * (1 + cos(M_PI * 0.3)), 1e-8);
    ck_assert_double_eq_tol(nn_sched_lr(&cosine, 5, 10), 0.025, 1e-8);
    ck_assert_double_eq_tol(nn_sched_lr(&cosine, 10, 10), 0.0, 1e-9);
    for (long k = 1; k < 10; k++)
        ck_assert(nn_sched_lr(&cosine, k, 10) < nn_sched_lr(&cosine, k - 1, 10));
    nn_sched_cfg step = {.type = NN_SCHED_STEP, .base_lr = 1.0f, .step_size = 3, .gamma = 0.1f};
    ck_assert_float_eq(nn_sched_lr(&step, 2, 100), 1.0f);
    ck_assert_double_eq_tol(nn_sched_lr(&step, 3, 100), 0.1, 1e-7);
    ck_assert_double_eq_tol(nn_sched_lr(&step, 7, 100), 0.01, 1e-8);
    nn_sched_cfg cst = {.type = NN_SCHED_CONST, .base_lr = 0.3f};
    ck_assert_float_eq(nn_sched_lr(&cst, 999, 10), 0.3f);
    /* warm-up: (k+1)/4 of base for 4 steps, then cosine over the other 6 */
    nn_sched_cfg wu = {.type = NN_SCHED_COSINE, .base_lr = 1.0f, .warmup_steps = 4};
    ck_assert_double_eq_tol(nn_sched_lr(&wu, 0, 10), 0.25, 1e-7);
    ck_assert_double_eq_tol(nn_sched_lr(&wu, 3, 10), 1.0, 1e-7);
    ck_assert_double_eq_tol(nn_sched_lr(&wu, 4, 10), 1.0, 1e-7);
    ck_assert_double_eq_tol(nn_sched_lr(&wu, 7, 10), 0.5, 1e-7);
    qa_err err;
    ck_assert_int_eq(nn_sched_check(&cosine, &err), QA_OK);
    nn_sched_cfg bad = {.type = NN_SCHED_STEP, .base_lr = 1.0f, .step_size = 0, .gamma = 0.1f};
    ck_assert_int_eq(nn_sched_check(&bad, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "step_size"));
    bad.type = 9;
    ck_assert_int_eq(nn_sched_check(&bad, &err), QA_ERR_ARG);
    nn_sched_cfg neg = {.type = NN_SCHED_CONST, .base_lr = 1.0f, .warmup_steps = -1};
    ck_assert_int_eq(nn_sched_check(&neg, &err), QA_ERR_ARG);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_optim");
    TCase *tc = tcase_create("optim");
    tcase_add_test(tc, test_sgd_two_steps);
    tcase_add_test(tc, test_sgd_nesterov);
    tcase_add_test(tc, test_adamw_two_steps);
    tcase_add_test(tc, test_optim_errors);
    tcase_add_test(tc, test_schedules);
    suite_add_tcase(s, tc);
    return s;
}
