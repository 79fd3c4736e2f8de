/* test_sweep_faults.c: qadapt sweep (the real binary, QADAPT_BIN) when
 * processes collide or die, on configs/smoke.ini at a small scale:
 * - two sweeps on one folder: the second is refused while the first runs,
 *   and takes the folder over once the first is killed with SIGKILL (the
 *   lock of a dead process is no obstacle);
 * - kill -9 soak: a sweep of four short points with --jobs 2, killed at
 *   random moments (the sweep alone, or the sweep and its points, as a
 *   crash would; see run_then_kill) and rerun each time, ends with every point complete, an
 *   index of exactly those points, and each run file bit-identical, timings
 *   aside, to an uninterrupted sweep's. QA_SOAK_KILLS sets the number of
 *   kills (default 4, the acceptance run uses 20), QA_SOAK_SEED the
 *   moments' seed (default 1). */
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

static char tmp[64], smoke[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("sweep_faults", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

static int run(char *const args[])
{
    return run_bin(tmp, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

/* tmp/name: smoke.ini included, then a [sweep] of axes points */
static void write_config(char *path, size_t n, const char *name, const char *axes)
{
    snprintf(path, n, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "include = %s\n\n[sweep]\n%s", smoke, axes);
    fclose(f);
}

/* "sweep cfg --out tmp/sub --jobs 2" at epochs short epochs (static storage) */
static char **sweep_args(const char *cfg, const char *sub, const char *epochs)
{
    static char *argv[24], out[128], ep[64];
    snprintf(out, sizeof out, "%s/%s", tmp, sub);
    snprintf(ep, sizeof ep, "train.epochs=%s", epochs);
    char *fixed[] = {"sweep", (char *)cfg, "--out", out, "--jobs", "2", "--set", ep,
                     "--set", "data.limit=600", "--set", "data.test_limit=200",
                     "--set", "experiment.threads=1", NULL};
    memcpy(argv, fixed, sizeof fixed);
    return argv;
}

/* The index's rows: hash and status of each (at most 8), the count. */
static int read_index(const char *dir, char hash[][16], char status[][32])
{
    char path[256], line[4096];
    snprintf(path, sizeof path, "%s/index.csv", dir);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s missing", path);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_msg(strncmp(line, "hash,", 5) == 0, "index header: %s", line);
    int col = 0; /* of status: after the axes */
    for (char *p = strtok(line, ",\n"); p && strcmp(p, "status") != 0; p = strtok(NULL, ",\n"))
        col++;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_msg(n < 8, "more than 8 rows in %s", path);
        ck_assert_msg(strchr(line, '\n'), "a cut row in %s: %s", path, line);
        char *fields[16];
        int nf = 0;
        for (char *p = strtok(line, ",\n"); p && nf < 16; p = strtok(NULL, ",\n"))
            fields[nf++] = p;
        ck_assert_int_gt(nf, col);
        snprintf(hash[n], 16, "%.15s", fields[0]);
        snprintf(status[n], 32, "%.31s", fields[col]);
        n++;
    }
    fclose(f);
    return n;
}

/* Waits (up to a minute) until path holds text. */
static int await_text(const char *path, const char *text)
{
    for (int tries = 0; tries < 600; tries++) {
        FILE *f = fopen(path, "r");
        if (f) {
            run_bin_slurp(fileno(f), out_text, sizeof out_text);
            fclose(f);
            if (strstr(out_text, text))
                return 1;
        }
        usleep(100000);
    }
    return 0;
}

START_TEST(test_two_sweeps)
{
    char cfg[256], dir[128], hash[8][16], status[8][32];
    write_config(cfg, sizeof cfg, "two.ini", "train.lr = 0.05, 0.1\n");
    char **a = sweep_args(cfg, "two", "3");
    snprintf(dir, sizeof dir, "%s/two", tmp);
    int err_fd;
    pid_t first = run_bin_spawn(tmp, a, &err_fd);
    char log[300], index[200];
    snprintf(index, sizeof index, "%s/index.csv", dir);
    ck_assert_msg(await_text(index, "pending"), "the first sweep wrote no index");
    ck_assert_int_eq(read_index(dir, hash, status), 2);
    snprintf(log, sizeof log, "%s/%s/log.txt", dir, hash[0]);
    ck_assert_msg(await_text(log, "epoch 1/3  train"), "the first sweep's point did not train");
    int code = run(a);
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, "/two is in use by another qadapt process (a sweep)"), "%s",
                  err_text);
    ck_assert_ptr_null(strstr(err_text, "complete in"));
    /* the first dies without a word: its lock goes with it */
    kill(first, SIGKILL);
    close(err_fd);
    int st = run_bin_reap(first, tmp, out_text, sizeof out_text);
    ck_assert(WIFSIGNALED(st));
    code = run(a);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_int_eq(read_index(dir, hash, status), 2);
    ck_assert_str_eq(status[0], "complete");
    ck_assert_str_eq(status[1], "complete");
}
END_TEST

/* pid's children (the sweep's points), from /proc; their count. */
static int children(pid_t pid, pid_t *kids, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    int n = 0, k;
    while (f && n < max && fscanf(f, "%d", &k) == 1)
        kids[n++] = k;
    if (f)
        fclose(f);
    return n;
}

/* The epoch lines in the logs of every point of the sweep folder dir. */
static int epoch_lines(const char *dir)
{
    static char text[1 << 16];
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s/log.txt", dir, e->d_name);
        FILE *f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        if (!f)
            continue;
        run_bin_slurp(fileno(f), text, sizeof text);
        fclose(f);
        for (const char *q = text; (q = strstr(q, "/3  train loss")); q++)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* The sweep a (in dir) dies of SIGKILL, every other time with its points as
 * in a crash. When: at a random moment 0.2 to 4 s after its start (set-up,
 * a step, the index), or on odd kills 0 to 0.4 s after a point ends an
 * epoch (its checkpoint being written, the next epoch's first steps), so
 * that resumes are exercised whatever the machine's speed. */
static void run_then_kill(char **a, const char *dir, int i, unsigned *seed)
{
    int err_fd, st, lines = epoch_lines(dir);
    pid_t pid = run_bin_spawn(tmp, a, &err_fd);
    useconds_t us = 200000 + (useconds_t)(rand_r(seed) % 3800) * 1000;
    if (i % 2) {
        for (int t = 0; t < 6000 && epoch_lines(dir) == lines && waitpid(pid, &st, WNOHANG) == 0;
             t++)
            usleep(10000);
        us = (useconds_t)(rand_r(seed) % 400) * 1000;
    }
    for (useconds_t t = 0; t < us && waitpid(pid, &st, WNOHANG) == 0; t += 10000)
        usleep(10000);
    if (waitpid(pid, &st, WNOHANG) != 0) {
        close(err_fd);
        return; /* it had finished: nothing left to kill */
    }
    pid_t kids[8];
    int nk = i % 4 >= 2 ? children(pid, kids, 8) : 0;
    kill(pid, SIGKILL);
    for (int k = 0; k < nk; k++)
        kill(kids[k], SIGKILL);
    close(err_fd);
    waitpid(pid, &st, 0);
}

START_TEST(test_kill9_soak)
{
    static const char *const timings[] = {"img_per_s", "seconds", "elapsed", "start_time",
                                          "end_time", "command", "resumed_after_epoch", NULL};
    const char *k = getenv("QA_SOAK_KILLS"), *s = getenv("QA_SOAK_SEED");
    int kills = k ? atoi(k) : 4;
    unsigned seed = s ? (unsigned)atoi(s) : 1;
    char cfg[256], dir[128], ref[128], hash[8][16], status[8][32];
    char rhash[8][16], rstatus[8][32];
    int attempts = 0, resumed = 0;
    write_config(cfg, sizeof cfg, "soak.ini", "train.lr = 0.05, 0.1\ntrain.batch = 32, 64\n");
    snprintf(dir, sizeof dir, "%s/soak", tmp);
    for (int i = 0; i < kills; i++)
        run_then_kill(sweep_args(cfg, "soak", "3"), dir, i, &seed);
    int code = run(sweep_args(cfg, "soak", "3"));
    ck_assert_msg(code == 0, "after %d kills: exit %d: %s", kills, code, err_text);
    code = run(sweep_args(cfg, "ref", "3"));
    ck_assert_msg(code == 0, "the uninterrupted sweep: exit %d: %s", code, err_text);
    snprintf(ref, sizeof ref, "%s/ref", tmp);
    ck_assert_int_eq(read_index(dir, hash, status), 4);
    ck_assert_int_eq(read_index(ref, rhash, rstatus), 4);
    for (int p = 0; p < 4; p++) {
        ck_assert_str_eq(status[p], "complete");
        ck_assert_str_eq(hash[p], rhash[p]);
        char a[300], b[300];
        snprintf(a, sizeof a, "%s/%s/run.h5", dir, hash[p]);
        snprintf(b, sizeof b, "%s/%s/run.h5", ref, hash[p]);
        h5same_result r;
        ck_assert_msg(h5same_files(b, a, timings, &r) == 0, "point %s after %d kills: %s",
                      hash[p], kills, r.why);
        snprintf(a, sizeof a, "%s/%s/log.txt", dir, hash[p]);
        FILE *f = fopen(a, "r");
        ck_assert_ptr_nonnull(f);
        run_bin_slurp(fileno(f), out_text, sizeof out_text);
        fclose(f);
        for (const char *q = out_text; (q = strstr(q, " attempt ")); q++)
            attempts++;
        for (const char *q = out_text; (q = strstr(q, "resuming after epoch")); q++)
            resumed++;
    }
    /* what the kills hit, for the record: attempts beyond 4 were restarts */
    fprintf(stderr, "soak: %d kills, %d attempts at 4 points, %d resumed from a checkpoint\n",
            kills, attempts, resumed);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("sweep_faults");
    TCase *tc = tcase_create("sweep_faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_two_sweeps);
    tcase_add_test(tc, test_kill9_soak);
    suite_add_tcase(s, tc);
    return s;
}
