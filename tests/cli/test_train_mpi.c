/* test_train_mpi.c: `mpirun -n 2 qadapt run` (built with MPI only) trains
 * data-parallel and ends bit for bit as the one-process run of the same
 * config: run file and checkpoint equal in every value but timings, for
 * fp32 `small`, fp32 resnet20 (Winograd convolutions, residual adds),
 * `small` on mixed-quality data with the corruption grid, fixed QAT (LSQ;
 * DoReFa weights with PACT activations), DQMQ (relaxed and hard phases:
 * per-sample widths, layers run whole on gathered rows), DDQ and MetaMix. Each rank
 * computes only its half of every batch, so a partial sum that did not
 * cross ranks would change the numbers. A 2-rank run resumed by one process
 * ends as the uninterrupted one-process run; methods that cannot train over
 * ranks, and fewer shares than ranks, are refused. mpirun runs with
 * --oversubscribe and, as root (CI), --allow-run-as-root. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "h5read.h"
#include "h5same.h"
#include "run_bin.h"

static char tmp[64], smoke[1024], qadapt[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_mpi_setup("train_mpi", tmp, sizeof tmp, smoke, sizeof smoke, qadapt, sizeof qadapt);
}

static void teardown(void)
{
    setenv("QADAPT_BIN", qadapt, 1);
    run_bin_teardown(tmp);
}

/* What differs between a 2-rank and a 1-process run: timings and the
 * command line (the config's keys are compared as /config attributes). */
#define TIMING                                                                            \
    "img_per_s", "seconds", "elapsed", "start_time", "end_time", "weight_seconds", "arch_seconds", \
        "command", "/config"
static const char *const SKIP[] = {TIMING, NULL};
static const char *const SKIP_CKPT[] = {TIMING, "/tables/", NULL};
/* and a resumed run says where it resumed */
static const char *const SKIP_RESUMED[] = {TIMING, "resumed_after_epoch", NULL};

/* qadapt run CONFIG (under configs/, NULL: smoke.ini) into tmp/<tag> as
 * `ranks` MPI ranks (0: no mpirun), with the NULL-terminated --set values
 * of sets and of more, named smoke; exit code. */
static int run_config(const char *config, int ranks, const char *tag, const char *const *sets,
                      const char *const *more, int resume)
{
    static char *argv[80], out[128], nr[8], path[1100];
    int n = 0;
    snprintf(out, sizeof out, "%s/%s", tmp, tag);
    snprintf(nr, sizeof nr, "%d", ranks);
    if (ranks > 0) {
        setenv("QADAPT_BIN", getenv("MPIRUN"), 1);
        n = run_bin_mpi_args(argv, nr);
        argv[n++] = qadapt;
    } else {
        setenv("QADAPT_BIN", qadapt, 1);
    }
    snprintf(path, sizeof path, "%.*s/%s", (int)(strrchr(smoke, '/') - smoke), smoke,
             config ? config : "smoke.ini");
    argv[n++] = "run";
    argv[n++] = path;
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n++] = "--set";
    argv[n++] = "experiment.name=smoke";
    for (const char *const *s = sets; s && *s; s++) {
        argv[n++] = "--set";
        argv[n++] = (char *)*s;
    }
    for (const char *const *s = more; s && *s; s++) {
        argv[n++] = "--set";
        argv[n++] = (char *)*s;
    }
    if (resume)
        argv[n++] = "--resume";
    argv[n] = NULL;
    return run_bin(tmp, argv, out_text, sizeof out_text, err_text, sizeof err_text);
}

static int run_ranks(int ranks, const char *tag, const char *const *sets, const char *const *more,
                     int resume)
{
    return run_config(NULL, ranks, tag, sets, more, resume);
}

static void compare(const char *ta, const char *tb, const char *what, const char *const *skip)
{
    char pa[256], pb[256];
    h5same_result r;
    snprintf(pa, sizeof pa, "%s/%s/smoke/run.h5", tmp, ta);
    snprintf(pb, sizeof pb, "%s/%s/smoke/run.h5", tmp, tb);
    ck_assert_msg(h5same_files(pa, pb, skip, &r) == 0, "%s: run.h5 of %s differs from %s: %s",
                  what, tb, ta, r.why);
    ck_assert_int_gt(r.values, 100);
    snprintf(pa, sizeof pa, "%s/%s/smoke/ckpt.h5", tmp, ta);
    snprintf(pb, sizeof pb, "%s/%s/smoke/ckpt.h5", tmp, tb);
    ck_assert_msg(h5same_files(pa, pb, SKIP_CKPT, &r) == 0, "%s: ckpt.h5 of %s differs from %s: %s",
                  what, tb, ta, r.why);
    ck_assert_int_gt(r.values, 10000);
}

/* only rank 0 wrote: the run folder holds run.h5 and ckpt.h5, nothing else */
static void assert_files(const char *tag)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s/smoke", tmp, tag);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "%s", dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        ck_assert_msg(strcmp(e->d_name, "run.h5") == 0 || strcmp(e->d_name, "ckpt.h5") == 0,
                      "%s/%s written", dir, e->d_name);
        n++;
    }
    closedir(d);
    ck_assert_int_eq(n, 2);
}

typedef struct {
    const char *name;
    const char *config; /* under configs/, NULL: smoke.ini */
    const char *sets[16];
} train_case;

#define QUICK "data.limit=256", "data.test_limit=128", "experiment.threads=1"

static const train_case CASES[] = {
    {"small", NULL, {QUICK, NULL}},
    {"resnet20", NULL,
     {"model.arch=resnet20", "data.limit=128", "data.test_limit=64", "train.epochs=1",
      "train.batch=32", "experiment.threads=1", NULL}},
    {"mixed", NULL,
     {QUICK, "env.enabled=true",
      "env.corruptions=gaussian_noise, gaussian_blur, jpeg_compression, contrast",
      "eval.grid=true", "eval.grid_corruptions=gaussian_noise, defocus_blur",
      "eval.grid_severities=2, 5", NULL}},
    {"fixed LSQ", NULL, {"experiment.method=fixed", QUICK, NULL}},
    {"fixed DoReFa/PACT", NULL,
     {"experiment.method=fixed", "quant.w_quantizer=dorefa", "quant.a_quantizer=pact",
      "quant.pact_alpha=0.5", QUICK, NULL}},
    /* as test_threads' DQMQ case: relaxed and hard phases, the policy */
    {"dqmq", "fmnist-dqmq.ini",
     {"data.limit=768", "data.test_limit=300", "train.epochs=3", "dqmq.warmup=1",
      "dqmq.finetune=1", "dqmq.sample_rate=0.1", "eval.grid_corruptions=gaussian_noise",
      "eval.grid_severities=3", "experiment.threads=1", NULL}},
    {"ddq", NULL,
     {"experiment.method=ddq", "quant.w_quantizer=ddq", "quant.a_quantizer=ddq",
      "ddq.target_bits=4", "ddq.warmup=1", "ddq.finetune=0", "ddq.gate_lr_mult=5", QUICK,
      NULL}},
    {"metamix", NULL,
     {"experiment.method=metamix", "train.epochs=2", "metamix.finetune=1",
      "metamix.target=0.3", "metamix.probe=64", QUICK, NULL}},
};

START_TEST(test_two_ranks_as_one)
{
    const train_case *k = &CASES[_i];
    int code = run_config(k->config, 0, "one", k->sets, NULL, 0);
    ck_assert_msg(code == 0, "%s, one process: exit %d: %s", k->name, code, err_text);
    code = run_config(k->config, 2, "two", k->sets, NULL, 0);
    ck_assert_msg(code == 0, "%s, 2 ranks: exit %d: %s", k->name, code, err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "status: complete"));
    compare("one", "two", k->name, SKIP);
    assert_files("two");
}
END_TEST

/* 1 epoch over 2 ranks, then one more by one process = 2 epochs by one */
START_TEST(test_resume_other_ranks)
{
    static const char *const base[] = {"data.limit=256", "data.test_limit=128",
                                       "experiment.threads=1", "train.schedule=const", NULL};
    static const char *const one[] = {"train.epochs=1", NULL}, *const two[] = {"train.epochs=2", NULL};
    int code = run_ranks(0, "whole", base, two, 0);
    ck_assert_msg(code == 0, "one process: exit %d: %s", code, err_text);
    code = run_ranks(2, "split", base, one, 0);
    ck_assert_msg(code == 0, "2 ranks: exit %d: %s", code, err_text);
    code = run_ranks(0, "split", base, two, 1);
    ck_assert_msg(code == 0, "resumed by one process: exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(err_text, "resuming after epoch 1 of 2"));
    compare("whole", "split", "2 ranks then 1", SKIP_RESUMED);
}
END_TEST

/* what cannot be exact over ranks is refused before anything is written */
START_TEST(test_refused)
{
    static const char *const br[] = {"data.limit=256", "experiment.method=blockrep", NULL};
    int code = run_ranks(2, "br", br, NULL, 0);
    ck_assert_int_ne(code, 0);
    ck_assert_msg(strstr(err_text, "method blockrep cannot train over 2 MPI ranks yet (data-"
                               "parallel training is built for fp32, fixed, dqmq, ddq, metamix)"),
                  "%s", err_text);
    static const char *const one_share[] = {"data.limit=256", "experiment.shares=1", NULL};
    code = run_ranks(2, "shares", one_share, NULL, 0);
    ck_assert_int_ne(code, 0);
    ck_assert_msg(strstr(err_text, "experiment.shares = 1 is fewer than the 2 MPI ranks"), "%s",
                  err_text);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/br/smoke/run.h5", tmp);
    ck_assert_int_ne(access(dir, F_OK), 0);
}
END_TEST

/* Diverging to NaN (as test_e2e's run, in smaller batches) fails on every rank at the same
 * step: rank 0 writes the run file, status failed, and the job ends. */
START_TEST(test_nan_over_ranks)
{
    static const char *const nan[] = {"data.limit=512", "data.test_limit=64", "train.batch=16",
                                      "train.lr=100", "train.momentum=0.999",
                                      "train.schedule=const", "data.normalize=fixed",
                                      "data.mean=0", "data.std=1e-6", "train.epochs=12",
                                      "experiment.threads=1", NULL};
    int code = run_ranks(2, "nan", nan, NULL, 0);
    ck_assert_int_ne(code, 0);
    ck_assert_msg(strstr(err_text, "NaN or Inf detected"), "%s", err_text);
    char path[256];
    snprintf(path, sizeof path, "%s/nan/smoke/run.h5", tmp);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "%s not written", path);
    char *st = h5read_str_attr(f, "/", "status");
    ck_assert_str_eq(st, "failed");
    free(st);
    H5Fclose(f);
}
END_TEST

/* Ctrl-C on mpirun reaches the ranks at different moments; they agree to
 * stop after the same step, and rank 0 closes the run file interrupted. */
START_TEST(test_interrupt_over_ranks)
{
    char out[128], path[256];
    snprintf(out, sizeof out, "%s/int", tmp);
    char *argv[24], *run[] = {qadapt, "run", smoke, "--out", out, "--set", "train.epochs=50",
                              "--set", "data.limit=1024", "--set", "data.test_limit=64",
                              "--set", "experiment.threads=1", NULL};
    int n = run_bin_mpi_args(argv, "2");
    for (int i = 0; run[i]; i++)
        argv[n++] = run[i];
    argv[n] = NULL;
    setenv("QADAPT_BIN", getenv("MPIRUN"), 1);
    int err_fd;
    pid_t pid = run_bin_spawn(tmp, argv, &err_fd);
    FILE *e = fdopen(err_fd, "r");
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(run_bin_await_line(e, "epoch 1/50", NULL), "the run did not train an epoch");
    kill(pid, SIGINT);
    run_bin_slurp(err_fd, err_text, sizeof err_text);
    fclose(e);
    int st = run_bin_reap(pid, tmp, out_text, sizeof out_text);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "status %d: %s", st, err_text);
    snprintf(path, sizeof path, "%s/smoke/run.h5", out);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "%s not written: %s", path, err_text);
    char *status = h5read_str_attr(f, "/", "status");
    ck_assert_str_eq(status, "interrupted");
    free(status);
    H5Fclose(f);
}
END_TEST

/* A rank whose set-up fails alone (here rank 1's dataset folder is missing,
 * as on a node without the data) must not leave rank 0 waiting in its first
 * exchange: the ranks agree on set-up, rank 1 says what failed and who it
 * is, and both end non-zero at once. Run under timeout(1): a hang is
 * exit 124 after LONG_S. */
#define LONG_S "60"
START_TEST(test_one_rank_fails_setup)
{
    char out[128], dir[256];
    snprintf(out, sizeof out, "%s/alone", tmp);
    snprintf(dir, sizeof dir, "data.dir=%s/no_such_data", tmp);
    char *rank0[] = {qadapt, "run", smoke, "--out", out, "--set", "data.limit=256", NULL};
    char *argv[40];
    int n = 0;
    argv[n++] = "-k";
    argv[n++] = "5";
    argv[n++] = LONG_S;
    argv[n++] = getenv("MPIRUN");
    n += run_bin_mpi_args(argv + n, "1"); /* mpirun's flags, rank 0's count */
    for (int i = 0; rank0[i]; i++)
        argv[n++] = rank0[i];
    argv[n++] = ":"; /* rank 1: the same, but for its data.dir */
    argv[n++] = "-n";
    argv[n++] = "1";
    for (int i = 0; rank0[i]; i++)
        argv[n++] = rank0[i];
    argv[n++] = "--set";
    argv[n++] = dir;
    argv[n] = NULL;
    setenv("QADAPT_BIN", "/usr/bin/timeout", 1);
    int code = run_bin(tmp, argv, out_text, sizeof out_text, err_text, sizeof err_text);
    ck_assert_msg(code != 124 && code != 137, "the job hung (killed after " LONG_S " s): %s",
                  err_text);
    ck_assert_int_ne(code, 0);
    ck_assert_msg(strstr(err_text, "no_such_data") && strstr(err_text, "(rank 1)"), "%s",
                  err_text);
    ck_assert_msg(strstr(err_text, "rank 1 of 2 could not set up the run"), "%s", err_text);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("train_mpi");
    TCase *tc = tcase_create("train_mpi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_two_ranks_as_one, 0, (int)(sizeof CASES / sizeof CASES[0]));
    tcase_add_test(tc, test_resume_other_ranks);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_nan_over_ranks);
    tcase_add_test(tc, test_interrupt_over_ranks);
    tcase_add_test(tc, test_one_rank_fails_setup);
    suite_add_tcase(s, tc);
    return s;
}
