/* test_memory.c: the memory check before a run's first step (run/memory.h):
 * the limit read from meminfo and cgroup files written here, the refusal
 * and the batch that would fit on known figures, then the real binary
 * refused by experiment.memory_mb before it trains and let through by -1.
 * nn's byte count of a network is test_core's test_net_bytes_known. */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "experiments/run/memory.h"
#include "run_bin.h"

#define MB (1024.0 * 1024.0)

static char tmp[64], smoke[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("memory", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_limit_read)
{
    char meminfo[128], cmax[128], cuse[128], none[128];
    snprintf(meminfo, sizeof meminfo, "%s/meminfo", tmp);
    snprintf(cmax, sizeof cmax, "%s/memory.max", tmp);
    snprintf(cuse, sizeof cuse, "%s/memory.current", tmp);
    snprintf(none, sizeof none, "%s/absent", tmp);
    write_file(meminfo, "MemTotal:       4096000 kB\nMemFree:    10 kB\n"
                        "MemAvailable:    2048000 kB\nBuffers: 1 kB\n");
    exp_mem_limit l;
    qa_err err = {0};
    double resident = 100 * MB;
    /* the machine: what is available plus what this process holds */
    ck_assert_int_eq(exp_mem_limit_read(0, resident, meminfo, none, none, &l, &err), QA_OK);
    ck_assert_double_eq(l.bytes, 2048000 * 1024.0 + resident);
    ck_assert_ptr_nonnull(strstr(l.source, "MemAvailable"));
    /* cgroup v2 without a limit ("max"), then a limit of 1000 MB, 700 used */
    write_file(cmax, "max\n");
    write_file(cuse, "734003200\n");
    ck_assert_int_eq(exp_mem_limit_read(0, resident, meminfo, cmax, cuse, &l, &err), QA_OK);
    ck_assert_double_eq(l.bytes, 2048000 * 1024.0 + resident);
    write_file(cmax, "1048576000\n");
    ck_assert_int_eq(exp_mem_limit_read(0, resident, meminfo, cmax, cuse, &l, &err), QA_OK);
    ck_assert_double_eq(l.bytes, 300 * MB + resident);
    ck_assert_ptr_nonnull(strstr(l.source, "cgroup"));
    /* the key: a figure, or no check */
    ck_assert_int_eq(exp_mem_limit_read(512, resident, meminfo, cmax, cuse, &l, &err), QA_OK);
    ck_assert_double_eq(l.bytes, 512 * MB);
    ck_assert_int_eq(exp_mem_limit_read(-1, resident, meminfo, cmax, cuse, &l, &err), QA_OK);
    ck_assert(l.bytes < 0);
    /* no MemAvailable: an error that says how to go on */
    write_file(meminfo, "MemTotal: 4096000 kB\n");
    ck_assert_int_eq(exp_mem_limit_read(0, resident, meminfo, none, none, &l, &err), QA_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "experiment.memory_mb"));
}
END_TEST

START_TEST(test_judge_known)
{
    /* 100 resident + 1000 nets (640 of them 10 per sample of 64) + 4 batch */
    exp_mem_est e = {100 * MB, 1000 * MB, 10 * MB, 4 * MB, 64};
    ck_assert_double_eq(exp_mem_peak(&e), 1104 * MB);
    /* without the batch part 464 MB stay: 500 MB hold 3 samples, 1104 all 64 */
    ck_assert_int_eq(exp_mem_batch_fit(&e, 500 * MB), 3);
    ck_assert_int_eq(exp_mem_batch_fit(&e, 1104 * MB), 64);
    ck_assert_int_eq(exp_mem_batch_fit(&e, 470 * MB), 0);
    exp_mem_limit l = {1104 * MB, "test"};
    qa_err err = {0};
    ck_assert_int_eq(exp_mem_judge(&e, &l, &err), QA_OK);
    l.bytes = 500 * MB;
    ck_assert_int_eq(exp_mem_judge(&e, &l, &err), QA_ERR_NOMEM);
    ck_assert_msg(strstr(err.msg, "about 1104 MB at its peak") &&
                      strstr(err.msg, "10.0 MB per sample of batch 64") &&
                      strstr(err.msg, "500 MB are available (test)") &&
                      strstr(err.msg, "a batch of 3 would fit") &&
                      strstr(err.msg, "experiment.memory_mb"),
                  "%s", err.msg);
    l.bytes = -1; /* no check */
    ck_assert_int_eq(exp_mem_judge(&e, &l, &err), QA_OK);
}
END_TEST

/* The real binary: refused at set-up by a 1 MB limit, nothing trained;
 * run with -1 and the estimate printed. */
START_TEST(test_run_refused)
{
    char out[128];
    snprintf(out, sizeof out, "%s/runs", tmp);
    char *refused[] = {"run", smoke, "--out", out, "--set", "experiment.memory_mb=1", "--set",
                       "data.limit=256", NULL};
    int code = run_bin(tmp, refused, out_text, sizeof out_text, err_text, sizeof err_text);
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, "qadapt run: this run would take about") &&
                      strstr(err_text, "but 1 MB are available (experiment.memory_mb = 1)") &&
                      strstr(err_text, "lower train.batch"),
                  "%s", err_text);
    ck_assert_ptr_null(strstr(err_text, "epoch 1/"));
    char *unchecked[] = {"run", smoke, "--out", out, "--set", "experiment.memory_mb=-1",
                         "--set", "data.limit=256", "--set", "data.test_limit=64", "--set",
                         "train.epochs=1", NULL};
    code = run_bin(tmp, unchecked, out_text, sizeof out_text, err_text, sizeof err_text);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, "memory: about ") &&
                      strstr(err_text, "not checked (experiment.memory_mb = -1)"),
                  "%s", err_text);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("memory");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_limit_read);
    tcase_add_test(tc, test_judge_known);
    tcase_add_test(tc, test_run_refused);
    suite_add_tcase(s, tc);
    return s;
}
