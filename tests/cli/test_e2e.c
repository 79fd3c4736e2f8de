/* test_e2e.c: the real qadapt binary (QADAPT_BIN) on configs/smoke.ini
 * (under QADAPT_SOURCE_ROOT) into temporary directories, read back with the
 * HDF5 API: a complete run whose loss falls, a run stopped by SIGINT, a run
 * that diverges to NaN, config and usage errors with their exit codes. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "h5read.h"
#include "run_bin.h"

static char tmp[64], smoke[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("e2e", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

/* Runs qadapt to the end: its exit code, output in out_text/err_text. */
static int run(char *const args[])
{
    return run_bin(tmp, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

static hid_t open_run(const char *name)
{
    char path[256], part[270];
    snprintf(path, sizeof path, "%s/%s/run.h5", tmp, name);
    snprintf(part, sizeof part, "%s.part", path);
    struct stat st;
    ck_assert_msg(stat(part, &st) != 0, "%s left behind", part);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot open %s", path);
    return f;
}

static void expect_attr(hid_t f, const char *name, const char *want)
{
    char *v = h5read_str_attr(f, "/", name);
    ck_assert_msg(strstr(v, want) != NULL, "attribute %s = '%s' lacks '%s'", name, v, want);
    free(v);
}

START_TEST(test_smoke_run)
{
    char *args[] = {"run", smoke, "--out", tmp, NULL};
    int code = run(args);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "/smoke/run.h5"));
    ck_assert_ptr_nonnull(strstr(err_text, "epoch 2/2  train loss"));
    hid_t f = open_run("smoke");
    expect_attr(f, "status", "complete");
    char *rev = h5read_str_attr(f, "/", "git_revision");
    ck_assert_int_gt(strlen(rev), 0);
    free(rev);
    char *cfg = h5read_str_dataset(f, "/config");
    ck_assert_ptr_nonnull(strstr(cfg, "[train]\nepochs = 2\n"));
    ck_assert_ptr_nonnull(strstr(cfg, "[data]\ndataset = fmnist\n"));
    free(cfg);
    ck_assert_int_eq(h5read_i64_attr(f, "/config", "train.epochs"), 2);
    int n, m;
    double *epoch = h5read_column(f, "/train/epochs", "epoch", &n);
    double *loss = h5read_column(f, "/train/epochs", "train_loss", &m);
    double *acc = h5read_column(f, "/train/epochs", "test_acc", &m);
    ck_assert_ptr_nonnull(epoch);
    ck_assert_int_eq(n, 2);
    ck_assert_double_eq(epoch[0], 1);
    ck_assert_double_eq(epoch[1], 2);
    ck_assert_msg(loss[1] < loss[0], "training loss did not fall: %g -> %g", loss[0], loss[1]);
    ck_assert(acc[1] > 0.3 && acc[1] <= 1.0);
    ck_assert_double_eq(h5read_f64_attr(f, "/", "test_acc"), acc[1]);
    free(epoch);
    free(loss);
    free(acc);
    H5Fclose(f);
}
END_TEST

/* SIGINT after the first epoch: exit 130, a complete file saying interrupted. */
START_TEST(test_interrupted_run)
{
    char *args[] = {"run", smoke, "--out", tmp, "--set", "train.epochs=40", NULL};
    int err_fd;
    pid_t pid = run_bin_spawn(tmp, args, &err_fd);
    FILE *e = fdopen(err_fd, "r");
    ck_assert_msg(run_bin_await_line(e, "epoch 1/40  train", NULL), "no epoch line before the end");
    kill(pid, SIGINT);
    char line[512];
    while (fgets(line, sizeof line, e))
        ;
    fclose(e);
    int code = run_bin_wait_exit(pid, tmp, out_text, sizeof out_text);
    ck_assert_int_eq(code, 130);
    hid_t f = open_run("smoke");
    expect_attr(f, "status", "interrupted");
    expect_attr(f, "error", "interrupted at step");
    int n;
    double *epoch = h5read_column(f, "/train/epochs", "epoch", &n);
    ck_assert_ptr_nonnull(epoch);
    ck_assert(n >= 1 && n < 40);
    ck_assert_int_eq(h5read_i64_attr(f, "/", "epochs_completed"), n);
    free(epoch);
    H5Fclose(f);
}
END_TEST

/* Inputs scaled by 1e6 and lr 100 with momentum 0.999 diverge within a few
 * dozen steps: the run stops with status failed naming epoch and step. */
START_TEST(test_nan_detected)
{
    char *args[] = {"run", smoke, "--out", tmp, "--set", "train.lr=100", "--set",
                    "train.momentum=0.999", "--set", "train.schedule=const", "--set",
                    "data.normalize=fixed", "--set", "data.mean=0", "--set", "data.std=1e-6",
                    "--set", "train.epochs=4", NULL};
    int code = run(args);
    ck_assert_int_eq(code, 1);
    ck_assert_msg(strstr(err_text, "NaN or Inf detected") && strstr(err_text, " step "), "%s",
                  err_text);
    hid_t f = open_run("smoke");
    expect_attr(f, "status", "failed");
    expect_attr(f, "error", "NaN or Inf detected");
    H5Fclose(f);
}
END_TEST

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_config_errors)
{
    char bad[128], want[200];
    snprintf(bad, sizeof bad, "%s/bad.ini", tmp);
    write_text(bad, "[experiment]\nname = x\n[train]\nepochz = 3\n");
    char *a1[] = {"run", bad, "--out", tmp, NULL};
    ck_assert_int_eq(run(a1), 1);
    snprintf(want, sizeof want, "%s:4: unknown key 'epochz' in [train] (did you mean epochs?)", bad);
    ck_assert_msg(strstr(err_text, want), "%s", err_text);
    struct stat st;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/x", tmp);
    ck_assert_int_ne(stat(dir, &st), 0); /* no run folder for a bad config */

    char *a2[] = {"run", "/nonexistent/cfg.ini", NULL};
    ck_assert_int_eq(run(a2), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "/nonexistent/cfg.ini: cannot open config"));
    /* a wrong value set on the command line is a config error like one in a
     * file (exit 1); a --set that is not section.key=value is bad usage
     * (exit 2: it was 1) */
    char *a3[] = {"run", smoke, "--set", "train.lr=fast", NULL};
    ck_assert_int_eq(run(a3), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "--set train.lr=fast: train.lr: 'fast' is not a number"));
    char *a4[] = {"run", smoke, "--set", "model.arch=vgg", NULL};
    ck_assert_int_eq(run(a4), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "small, resnet20"));
    char *a5[] = {"run", smoke, "--set", "train.lr", NULL};
    ck_assert_int_eq(run(a5), 2);
    ck_assert_ptr_nonnull(strstr(err_text, "--set train.lr: expected section.key=value"));
}
END_TEST

START_TEST(test_data_error_logged)
{
    char *args[] = {"run", smoke, "--out", tmp, "--set", "data.dir=/nonexistent", NULL};
    ck_assert_int_eq(run(args), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "/nonexistent/train-images-idx3-ubyte.gz"));
    hid_t f = open_run("smoke");
    expect_attr(f, "status", "failed");
    expect_attr(f, "error", "/nonexistent/train-images-idx3-ubyte.gz: cannot open");
    H5Fclose(f);
}
END_TEST

START_TEST(test_usage)
{
    static const struct {
        const char *args[4];
        int code;
        const char *frag;
    } cases[] = {
        {{"run"}, 2, "missing CONFIG"},
        {{"run", "a.ini", "b.ini"}, 2, "one CONFIG expected"},
        {{"run", "a.ini", "--bogus"}, 2, "unknown option '--bogus'"},
        {{"run", "a.ini", "--set"}, 2, "--set needs a value"},
        {{"bogus"}, 2, "unknown command 'bogus'"},
        {{"info", "extra"}, 2, "info takes no arguments"},
        {{"--help"}, 0, "commands:"},
        {{"run", "--help"}, 0, "usage: qadapt run CONFIG"},
        {{"info"}, 0, "HDF5"},
        {{"info", "--model", "resnet20"}, 0, "  10 layer3.2     layer3.2.conv1       .. "
                                             "layer3.2.relu        -> 64x7x7\n  11 head"},
        {{"info", "--model", "small"}, 0, "   4 head         pool"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *args[5] = {0};
        for (int j = 0; j < 4 && cases[i].args[j]; j++)
            args[j] = (char *)cases[i].args[j];
        int code = run(args);
        ck_assert_msg(code == cases[i].code, "%s: exit %d", cases[i].args[0], code);
        const char *text = cases[i].code ? err_text : out_text;
        ck_assert_msg(strstr(text, cases[i].frag), "'%s' not in: %s", cases[i].frag, text);
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("qadapt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_smoke_run);
    tcase_add_test(tc, test_interrupted_run);
    tcase_add_test(tc, test_nan_detected);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_data_error_logged);
    tcase_add_test(tc, test_usage);
    suite_add_tcase(s, tc);
    return s;
}
