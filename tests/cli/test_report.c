/* test_report.c: qadapt report on sweep folders it cannot or can barely
 * read, in process: a folder without index.csv (a clear error, nothing
 * freed that was never allocated: malloc's memory is poisoned so that a
 * stray free fails here and not only under AddressSanitizer), and an index
 * line of 60 KB (one row, not a run of junk rows). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "experiments/cli/report.h"

static char tmp[64];

static void setup(void)
{
    qa_test_tmpdir(tmp, sizeof tmp, "report");
}

static void teardown(void)
{
    qa_test_rmtree(tmp);
}

/* Runs exp_report_sweep on tmp into a memory stream: the status, the
 * output in out (malloc'd). */
static int report(char **out, qa_err *err)
{
    size_t n = 0;
    FILE *f = open_memstream(out, &n);
    ck_assert_ptr_nonnull(f);
    int rc = exp_report_sweep(f, tmp, err);
    fclose(f);
    return rc;
}

START_TEST(test_no_index)
{
    mallopt(M_PERTURB, 0xa5); /* every malloc'd byte 0x5a until written */
    char *out = NULL;
    qa_err err = {0};
    ck_assert_int_eq(report(&out, &err), QA_ERR_IO);
    ck_assert_msg(strstr(err.msg, "index.csv: no such file: not a sweep folder"), "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, tmp));
    free(out);
}
END_TEST

START_TEST(test_long_line)
{
    char path[128];
    snprintf(path, sizeof path, "%s/index.csv", tmp);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("hash,quant.layer_bits,status,test_acc,test_loss,bitops,seconds,run\n", f);
    fputs("0123456789,\"", f);
    for (int i = 0; i < 30000; i++)
        fputs("4,", f);
    fputs("8\",complete,0.5,1.25,0.3,10,0123456789/run.h5\n", f);
    fputs("abcdefabcd,2,failed,,,,,abcdefabcd/run.h5\n", f);
    fclose(f);
    char *out = NULL;
    qa_err err = {0};
    ck_assert_msg(report(&out, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(strstr(out, "points:  2, 1 complete, 1 axes"), "%s", out);
    ck_assert_msg(strstr(out, "\n0123456789 ") && strstr(out, "\nabcdefabcd "), "%.2000s", out);
    free(out);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_no_index);
    tcase_add_test(tc, test_long_line);
    suite_add_tcase(s, tc);
    return s;
}
