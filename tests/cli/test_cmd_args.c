/* test_cmd_args.c: the commands' shared option syntax (cmd_args.h) and
 * durations (progress.h): known answers and the missing-value error. */
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "experiments/cli/cmd_args.h"
#include "experiments/run/progress.h"

START_TEST(test_arg_is)
{
    ck_assert(exp_arg_is("--set", "--set"));
    ck_assert(exp_arg_is("--set=a.b=1", "--set"));
    ck_assert(!exp_arg_is("--settle", "--set"));
    ck_assert(!exp_arg_is("--se", "--set"));
    ck_assert(!exp_arg_is("set", "--set"));
}
END_TEST

START_TEST(test_arg_value)
{
    char *argv[] = {"qadapt", "--set=a.b=1", "--out", "dir", "--set"};
    int argc = 5, i = 1;
    const char *v = NULL;
    qa_err err = {0};
    ck_assert_int_eq(exp_arg_value(argc, argv, &i, "--set", "run", &v, &err), QA_OK);
    ck_assert_str_eq(v, "a.b=1");
    ck_assert_int_eq(i, 1);
    i = 2;
    ck_assert_int_eq(exp_arg_value(argc, argv, &i, "--out", "run", &v, &err), QA_OK);
    ck_assert_str_eq(v, "dir");
    ck_assert_int_eq(i, 3);
    i = 4;
    ck_assert_int_eq(exp_arg_value(argc, argv, &i, "--set", "sweep", &v, &err), QA_ERR_ARG);
    ck_assert_str_eq(err.msg, "--set needs a value (see qadapt sweep --help)");
}
END_TEST

START_TEST(test_duration)
{
    char buf[32];
    static const struct {
        double s;
        const char *want;
    } cases[] = {{0, "0s"}, {42.4, "42s"}, {59.6, "1m00s"}, {187, "3m07s"}, {7500, "2h05m"},
                 {-5, "0s"}, {NAN, "0s"}, {1e12, "0s"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        exp_fmt_duration(cases[k].s, buf, sizeof buf);
        ck_assert_msg(strcmp(buf, cases[k].want) == 0, "%g s: '%s', expected '%s'", cases[k].s,
                      buf, cases[k].want);
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("cmd_args");
    TCase *tc = tcase_create("args");
    tcase_add_test(tc, test_arg_is);
    tcase_add_test(tc, test_arg_value);
    tcase_add_test(tc, test_duration);
    suite_add_tcase(s, tc);
    return s;
}
