/* test_run_soak.c: kill -9 soak of a plain `qadapt run` (the sweep's is
 * test_sweep_faults): a short run of configs/smoke.ini killed with SIGKILL
 * QA_SOAK_KILLS times (4 here, 20 for the acceptance; QA_SOAK_SEED picks the
 * moments), each time started again with --resume when a checkpoint is
 * there and afresh when not (an attempt that ended before its kill is
 * removed: the kills hit runs in progress), then run to its end: its run file and final
 * checkpoint equal an uninterrupted run's in every value but the timings
 * and the command line. The moments: even kills at a random point of an
 * uninterrupted run's duration (set-up, a step, an evaluation, a
 * checkpoint being written), odd kills 0 to 0.3 s after an epoch's line
 * (the checkpoint just written, the next epoch's first steps), so both
 * kinds happen whatever the machine's speed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "h5same.h"
#include "run_bin.h"

static char tmp[64], smoke[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("run_soak", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "run smoke --out tmp/<sub>" at 3 short epochs, with --resume when asked
 * (static storage) */
static char **args(const char *sub, int resume)
{
    static char *argv[24], out[128];
    snprintf(out, sizeof out, "%s/%s", tmp, sub);
    char *fixed[] = {"run", smoke, "--out", out, "--set", "data.limit=1024", "--set",
                     "data.test_limit=256", "--set", "train.epochs=3", "--set",
                     "experiment.threads=2", resume ? "--resume" : NULL, NULL};
    memcpy(argv, fixed, sizeof fixed);
    return argv;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* One attempt killed at kill i's moment (see the header); 1 when it was
 * killed, 0 when it ended first (exit 0 expected). */
static int attempt(int i, double span, unsigned *seed, int *resumed)
{
    char ck[160];
    snprintf(ck, sizeof ck, "%s/soak/smoke/ckpt.h5", tmp);
    int resume = exists(ck), err_fd, st;
    *resumed += resume;
    pid_t pid = run_bin_spawn(tmp, args("soak", resume), &err_fd);
    double wait = 0.9 * span * (double)(rand_r(seed) % 1000) / 1000.0, t0 = now();
    if (i % 2) {
        FILE *e = fdopen(dup(err_fd), "r");
        int seen = run_bin_await_line(e, "epoch ", "train loss");
        fclose(e);
        wait = seen ? 0.3 * (double)(rand_r(seed) % 1000) / 1000.0 : 0;
        t0 = now();
    }
    pid_t done = 0;
    while (now() - t0 < wait && (done = waitpid(pid, &st, WNOHANG)) == 0)
        usleep(5000);
    if (!done) { /* it may end before the signal lands: then as if not sent */
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    int killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    ck_assert_msg(killed || (WIFEXITED(st) && WEXITSTATUS(st) == 0), "kill %d: status %d", i,
                  st);
    close(err_fd);
    return killed;
}

START_TEST(test_kill9_soak_run)
{
    static const char *const timings[] = {"img_per_s", "seconds", "elapsed", "start_time",
                                          "end_time", "command", "resumed_after_epoch", NULL};
    static const char *const ckpt_skip[] = {"img_per_s", "seconds", "elapsed", "start_time",
                                            "end_time", "command", "resumed_after_epoch",
                                            "/tables/", NULL};
    const char *k = getenv("QA_SOAK_KILLS"), *s = getenv("QA_SOAK_SEED");
    int kills = k ? atoi(k) : 4, killed = 0, resumed = 0;
    unsigned seed = s ? (unsigned)atoi(s) : 1;
    double t0 = now();
    int code = run_bin(tmp, args("ref", 0), out_text, sizeof out_text, err_text,
                       sizeof err_text);
    ck_assert_msg(code == 0, "the uninterrupted run: exit %d: %s", code, err_text);
    double span = now() - t0;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/soak", tmp);
    for (int i = 0; killed < kills && i < 3 * kills; i++)
        if (attempt(i, span, &seed, &resumed))
            killed++;
        else /* it ended: the next kills hit a new run */
            qa_test_rmtree(dir);
    char ck[160], path[160];
    snprintf(ck, sizeof ck, "%s/soak/smoke/ckpt.h5", tmp);
    snprintf(path, sizeof path, "%s/soak/smoke/run.h5", tmp);
    /* to the end (a resume of a run that had ended rewrites it as it was) */
    code = run_bin(tmp, args("soak", exists(ck)), out_text, sizeof out_text, err_text,
                   sizeof err_text);
    ck_assert_msg(code == 0, "after %d kills: exit %d: %s", killed, code, err_text);
    char ref[160], ref_ck[160];
    snprintf(ref, sizeof ref, "%s/ref/smoke/run.h5", tmp);
    snprintf(ref_ck, sizeof ref_ck, "%s/ref/smoke/ckpt.h5", tmp);
    h5same_result r;
    ck_assert_msg(h5same_files(ref, path, timings, &r) == 0, "run.h5 after %d kills: %s", killed,
                  r.why);
    ck_assert_int_gt(r.values, 20);
    ck_assert_msg(h5same_files(ref_ck, ck, ckpt_skip, &r) == 0, "ckpt.h5 after %d kills: %s",
                  killed, r.why);
    ck_assert_int_gt(r.values, 10000);
    ck_assert_msg(!exists(strcat(path, ".part")), "%s left behind", path);
    /* what the kills hit, for the record */
    fprintf(stderr, "soak: %d kills, %d attempts started from a checkpoint, run %.1f s\n",
            killed, resumed, span);
    ck_assert_int_eq(killed, kills);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("run_soak");
    TCase *tc = tcase_create("run_soak");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_kill9_soak_run);
    suite_add_tcase(s, tc);
    return s;
}
