/* test_phase.c: the phase helper (experiments/methods/phase.h): which
 * epochs are warm-up, main and fine-tune, progress through the main phase
 * by optimizer step, geometric annealing, and the check that a main phase
 * is left. */
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "experiments/methods/phase.h"

START_TEST(test_phase_of)
{
    exp_phases p = {2, 1};
    const exp_phase want[6] = {EXP_PHASE_WARMUP, EXP_PHASE_WARMUP, EXP_PHASE_MAIN,
                               EXP_PHASE_MAIN,   EXP_PHASE_MAIN,   EXP_PHASE_FINETUNE};
    for (int e = 0; e < 6; e++)
        ck_assert_int_eq(exp_phase_of(&p, e, 6), want[e]);
    exp_phases none = {0, 0};
    ck_assert_int_eq(exp_phase_of(&none, 0, 1), EXP_PHASE_MAIN);
    ck_assert_int_eq(exp_phase_of(&none, 5, 6), EXP_PHASE_MAIN);
}
END_TEST

/* 6 epochs of 10 steps, warm-up 2, fine-tune 1: the main phase is steps
 * 20..49, t = (step - 20) / 30, 0 before it and 1 after it */
START_TEST(test_phase_progress)
{
    exp_phases p = {2, 1};
    ck_assert_double_eq(exp_phase_progress(&p, 0, 10, 60), 0.0);
    ck_assert_double_eq(exp_phase_progress(&p, 20, 10, 60), 0.0);
    ck_assert_double_eq(exp_phase_progress(&p, 35, 10, 60), 0.5);
    ck_assert_double_eq(exp_phase_progress(&p, 50, 10, 60), 1.0);
    ck_assert_double_eq(exp_phase_progress(&p, 59, 10, 60), 1.0);
    ck_assert_double_eq_tol(exp_phase_progress(&p, 21, 10, 60), 1.0 / 30.0, 1e-15);
    exp_phases all = {3, 3}; /* no main step: the end values */
    ck_assert_double_eq(exp_phase_progress(&all, 0, 10, 60), 1.0);
}
END_TEST

START_TEST(test_anneal)
{
    ck_assert_double_eq(exp_anneal_geometric(2.0, 0.5, 0.0), 2.0);
    ck_assert_double_eq_tol(exp_anneal_geometric(2.0, 0.5, 1.0), 0.5, 1e-15);
    ck_assert_double_eq_tol(exp_anneal_geometric(2.0, 0.5, 0.5), 1.0, 1e-15);
    ck_assert_double_eq_tol(exp_anneal_geometric(5.0, 0.5, 0.25), 5.0 * pow(0.1, 0.25), 1e-14);
    /* monotone between the ends */
    double prev = 3.0;
    for (int i = 1; i <= 10; i++) {
        double v = exp_anneal_geometric(3.0, 0.3, i / 10.0);
        ck_assert_double_lt(v, prev);
        prev = v;
    }
}
END_TEST

START_TEST(test_phases_check)
{
    qa_err err = {0};
    exp_phases ok = {1, 1}, bad = {2, 1};
    ck_assert_int_eq(exp_phases_check(&ok, 3, "dqmq", &err), QA_OK);
    ck_assert_int_eq(exp_phases_check(&bad, 3, "dqmq", &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "dqmq.warmup = 2 and dqmq.finetune = 1"));
    ck_assert_ptr_nonnull(strstr(err.msg, "train.epochs = 3"));
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("methods_phase");
    TCase *tc = tcase_create("phase");
    tcase_add_test(tc, test_phase_of);
    tcase_add_test(tc, test_phase_progress);
    tcase_add_test(tc, test_anneal);
    tcase_add_test(tc, test_phases_check);
    suite_add_tcase(s, tc);
    return s;
}
