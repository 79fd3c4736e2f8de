/* test_threads.c: same seed, same result at any thread count. Short runs of
 * the real binary at 1, 2 and 4 threads (oversubscribed on a 2-core
 * machine: this is a correctness test) write run files and checkpoints
 * equal in every value but the timings and the thread count itself:
 * fp32 `small` on mixed-quality data with the corruption grid, fp32
 * resnet20 (Winograd convolutions, residual adds), and DQMQ (quantized
 * layers in relaxed and hard phases, the policy on quality features). A
 * run at another share count differs, so the comparison would see a split
 * that followed the threads (its checkpoint: the parameters). */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "h5same.h"
#include "run_bin.h"

static char tmp[64], smoke[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("threads", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

/* What may differ between thread counts: timings, the thread count, the
 * command line that set it and the config text that records it (each key
 * of which is still compared as a /config attribute). */
#define TIMING_AND_THREADS                                                                        \
    "img_per_s", "seconds", "elapsed", "start_time", "end_time", "threads", "experiment.threads", \
        "command", "/config"
static const char *const SKIP[] = {TIMING_AND_THREADS, NULL};
/* a checkpoint's copies of the run file's tables keep every column's bits,
 * timings included: the run files compare their values */
static const char *const SKIP_CKPT[] = {TIMING_AND_THREADS, "/tables/", NULL};
/* The share count shows in the parameters (weight gradients summed per
 * share); with qadapt's GEMM kernels, whose products do not depend on how
 * the batch is split, a quantized run's logged values may not show it. */
static const char *const SKIP_CKPT_SHARES[] = {TIMING_AND_THREADS, "/tables/", "shares",
                                               "experiment.shares", NULL};

typedef struct {
    const char *name;
    const char *config; /* under configs/ */
    const char *sets[24];
} thread_case;

static const thread_case CASES[] = {
    {"mixed", "smoke.ini",
     {"data.limit=512", "data.test_limit=160", "env.enabled=true",
      "env.corruptions=gaussian_noise, gaussian_blur, jpeg_compression, contrast",
      "eval.grid=true", "eval.grid_corruptions=gaussian_noise, defocus_blur",
      "eval.grid_severities=2, 5", NULL}},
    {"resnet20", "smoke.ini",
     {"model.arch=resnet20", "data.limit=256", "data.test_limit=128", "train.epochs=1", NULL}},
    {"dqmq", "fmnist-dqmq.ini",
     {"data.limit=384", "data.test_limit=160", "train.epochs=3", "dqmq.warmup=1",
      "dqmq.finetune=1", "dqmq.sample_rate=0.1", "eval.grid_corruptions=gaussian_noise",
      "eval.grid_severities=3", NULL}},
};

/* Runs case k into tmp/<tag> at the given threads and shares. */
static void run_case(const thread_case *k, const char *tag, int threads, int shares)
{
    static char *argv[64], config[1100], out[128], sets[3][64];
    int n = 0;
    snprintf(config, sizeof config, "%.*s/%s", (int)(strrchr(smoke, '/') - smoke), smoke, k->config);
    snprintf(out, sizeof out, "%s/%s", tmp, tag);
    snprintf(sets[0], sizeof sets[0], "experiment.threads=%d", threads);
    snprintf(sets[1], sizeof sets[1], "experiment.shares=%d", shares);
    snprintf(sets[2], sizeof sets[2], "experiment.name=%s", k->name);
    argv[n++] = "run";
    argv[n++] = config;
    argv[n++] = "--out";
    argv[n++] = out;
    for (int i = 0; i < 3; i++) {
        argv[n++] = "--set";
        argv[n++] = sets[i];
    }
    for (int i = 0; k->sets[i]; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)k->sets[i];
    }
    argv[n] = NULL;
    int code = run_bin(tmp, argv, out_text, sizeof out_text, err_text, sizeof err_text);
    ck_assert_msg(code == 0, "%s at %d threads, %d shares: exit %d: %s", k->name, threads, shares,
                  code, err_text);
}

/* tmp/<ta>/<case>/<file> against tmp/<tb>/...: 0 when equal; values compared */
static int compare(const thread_case *k, const char *ta, const char *tb, const char *file,
                   const char *const *skip, h5same_result *r)
{
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/%s/%s/%s", tmp, ta, k->name, file);
    snprintf(pb, sizeof pb, "%s/%s/%s/%s", tmp, tb, k->name, file);
    return h5same_files(pa, pb, skip, r);
}

START_TEST(test_thread_counts)
{
    const thread_case *k = &CASES[_i];
    static const int threads[] = {1, 2, 4};
    char tags[3][8];
    for (int t = 0; t < 3; t++) {
        snprintf(tags[t], sizeof tags[t], "t%d", threads[t]);
        run_case(k, tags[t], threads[t], 8);
    }
    for (int t = 1; t < 3; t++) {
        h5same_result r;
        ck_assert_msg(compare(k, "t1", tags[t], "run.h5", SKIP, &r) == 0,
                      "%s: run.h5 at %d threads differs from 1: %s", k->name, threads[t], r.why);
        ck_assert_int_gt(r.values, 100);
        ck_assert_msg(compare(k, "t1", tags[t], "ckpt.h5", SKIP_CKPT, &r) == 0,
                      "%s: ckpt.h5 at %d threads differs from 1: %s", k->name, threads[t], r.why);
        ck_assert_int_gt(r.values, 10000);
    }
    run_case(k, "s1", 2, 1);
    h5same_result r;
    ck_assert_msg(compare(k, "t1", "s1", "ckpt.h5", SKIP_CKPT_SHARES, &r) != 0,
                  "%s: one share gives the same checkpoint as eight", k->name);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_thread_counts, 0, (int)(sizeof CASES / sizeof CASES[0]));
    suite_add_tcase(s, tc);
    return s;
}
