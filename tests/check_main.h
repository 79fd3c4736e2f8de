/* check_main.h: every test program defines its suite; check_main.c runs it. */
#ifndef QA_CHECK_MAIN_H
#define QA_CHECK_MAIN_H

#include <check.h>

Suite *qa_test_suite(void);

/* For a test that needs an installed dataset which is missing: prints
 * "<test>: SKIPPED, <why>" and returns 1 (the caller returns), unless the
 * environment has QA_REQUIRE_DATA=1 (tools/test.sh, CI), where the missing
 * dataset fails the test: CI installs the datasets and must not pass by
 * skipping. */
int qa_test_skip_data(const char *test, const char *why);

#endif
