/* check_main.h: every test program defines its suite; check_main.c runs it. */
#ifndef QA_CHECK_MAIN_H
#define QA_CHECK_MAIN_H

#include <check.h>
#include <stddef.h>

Suite *qa_test_suite(void);

/* For a test that needs an installed dataset which is missing: prints
 * "<test>: SKIPPED, <why>" and returns 1 (the caller returns), unless the
 * environment has QA_REQUIRE_DATA=1 (tools/test.sh, CI), where the missing
 * dataset fails the test: CI installs the datasets and must not pass by
 * skipping. */
int qa_test_skip_data(const char *test, const char *why);

/* A new, empty directory /tmp/qa_test_<name>_XXXXXX, its path in dir (n
 * bytes); the test fails if it cannot be made. */
void qa_test_tmpdir(char *dir, size_t n, const char *name);
/* Removes dir and everything below it; the test fails if that fails. */
void qa_test_rmtree(const char *dir);

#endif
