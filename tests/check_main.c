/* check_main.c: the shared main of the Check test programs. Output format
 * comes from the environment (meson sets TAP), so a developer running a test
 * by hand gets Check's normal summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

int qa_test_skip_data(const char *test, const char *why)
{
    const char *req = getenv("QA_REQUIRE_DATA");
    if (req && strcmp(req, "1") == 0)
        ck_abort_msg("%s: %s (QA_REQUIRE_DATA=1: a missing dataset is a failure)", test, why);
    fprintf(stderr, "%s: SKIPPED, %s\n", test, why);
    return 1;
}

void qa_test_tmpdir(char *dir, size_t n, const char *name)
{
    ck_assert_int_lt(snprintf(dir, n, "/tmp/qa_test_%s_XXXXXX", name), (int)n);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void qa_test_rmtree(const char *dir)
{
    char cmd[512];
    ck_assert_int_lt(snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir), (int)sizeof cmd);
    ck_assert_int_eq(system(cmd), 0);
}

int main(void)
{
    SRunner *sr = srunner_create(qa_test_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
