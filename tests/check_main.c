/* check_main.c: the shared main of the Check test programs. Output format
 * comes from the environment (meson sets TAP), so a developer running a test
 * by hand gets Check's normal summary. */
#include <stdlib.h>

#include "check_main.h"

int main(void)
{
    SRunner *sr = srunner_create(qa_test_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
