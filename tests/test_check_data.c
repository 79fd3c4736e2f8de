/* test_check_data.c: qa_test_skip_data (check_main.h), run in an inner
 * Check runner: a missing dataset skips (the test passes) unless
 * QA_REQUIRE_DATA=1, where it fails, so CI cannot pass by skipping. */
#include <stdlib.h>

#include "check_main.h"

START_TEST(needs_missing_data)
{
    if (qa_test_skip_data("needs_missing_data", "no such dataset (test_check_data)"))
        return;
    ck_abort_msg("not reached: qa_test_skip_data returns 1 or fails the test");
}
END_TEST

/* Failures of an inner runner over needs_missing_data, its logs discarded
 * (the outer runner's TAP goes to stdout). */
static int inner_failures(void)
{
    Suite *s = suite_create("inner");
    TCase *tc = tcase_create("data");
    tcase_add_test(tc, needs_missing_data);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_set_tap(sr, "/dev/null");
    srunner_run(sr, NULL, NULL, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

START_TEST(test_skip_data)
{
    ck_assert_int_eq(setenv("QA_REQUIRE_DATA", "0", 1), 0);
    ck_assert_int_eq(inner_failures(), 0);
    ck_assert_int_eq(unsetenv("QA_REQUIRE_DATA"), 0);
    ck_assert_int_eq(inner_failures(), 0);
    ck_assert_int_eq(setenv("QA_REQUIRE_DATA", "1", 1), 0);
    ck_assert_int_eq(inner_failures(), 1);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("check_data");
    TCase *tc = tcase_create("skip");
    tcase_add_test(tc, test_skip_data);
    suite_add_tcase(s, tc);
    return s;
}
