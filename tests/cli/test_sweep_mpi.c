/* test_sweep_mpi.c: `mpirun -n 2 qadapt sweep` (built with MPI only): four
 * points of configs/smoke.ini (one epoch on 1000 images) run exactly once
 * each, on both ranks, the index by rank 0; a rerun runs none; a point that
 * fails on one rank, or is killed there, is retried on the other; Ctrl-C on
 * mpirun stops the points of both ranks cleanly. mpirun runs with --oversubscribe (two ranks
 * on any machine) and, as root (CI), --allow-run-as-root. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "h5read.h"
#include "run_bin.h"

static char tmp[64], smoke[1024], qadapt[1024];
static char out_text[1 << 16], err_text[1 << 16];

/* run_bin starts QADAPT_BIN: here mpirun, given qadapt as its program */
static void setup(void)
{
    run_bin_mpi_setup("sweep_mpi", tmp, sizeof tmp, smoke, sizeof smoke, qadapt, sizeof qadapt);
    setenv("QADAPT_BIN", getenv("MPIRUN"), 1);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

/* argv for mpirun: 2 ranks, qadapt, then args (NULL-terminated) */
static void mpi_args(char **argv, char *const args[])
{
    int n = run_bin_mpi_args(argv, "2");
    argv[n++] = qadapt;
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
}

static int run(char *const args[])
{
    char *argv[64];
    mpi_args(argv, args);
    return run_bin(tmp, argv, out_text, sizeof out_text, err_text, sizeof err_text);
}

static void write_config(char *path, size_t n, const char *name, const char *text)
{
    snprintf(path, n, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "include = %s\n\n%s", smoke, text);
    fclose(f);
}

static int count_str(const char *text, const char *s)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, s)) != NULL; p += strlen(s))
        n++;
    return n;
}

static int file_count(const char *path, const char *s)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    run_bin_slurp(fileno(f), buf, sizeof buf);
    fclose(f);
    return count_str(buf, s);
}

/* the hashes of dir/index.csv's rows, and how many rows say `status` */
static int index_rows(const char *dir, char hashes[][16], const char *status, int *nstatus)
{
    char path[300], line[2048], want[40];
    snprintf(path, sizeof path, "%s/index.csv", dir);
    snprintf(want, sizeof want, ",%s,", status);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    int n = 0;
    *nstatus = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (n < 8 && fgets(line, sizeof line, f)) {
        snprintf(hashes[n++], 16, "%.10s", line);
        *nstatus += strstr(line, want) != NULL;
    }
    fclose(f);
    return n;
}

/* out/hash/run.h5 exists and its status attribute is `want` */
static void assert_run_status(const char *out, const char *hash, const char *want)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/run.h5", out, hash);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "%s", path);
    char *st = h5read_str_attr(f, "/", "status");
    ck_assert_str_eq(st, want);
    free(st);
    H5Fclose(f);
}

#define SMALL "--set", "train.epochs=1", "--set", "data.limit=1000", "--set", "data.test_limit=500"

START_TEST(test_mpi_sweep)
{
    char cfg[256], out[256], path[512], hashes[8][16];
    write_config(cfg, sizeof cfg, "sweep.ini", "[sweep]\ntrain.lr = 0.05, 0.1\ntrain.batch = 64, 128\n");
    snprintf(out, sizeof out, "%s/sw", tmp);
    char *args[] = {"sweep", cfg, "--out", out, "--set", "experiment.threads=1", SMALL, NULL};
    int code = run(args);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(err_text, "with 1 job on each of 2 ranks"));
    ck_assert_int_eq(count_str(err_text, " complete on rank "), 4);
    ck_assert_msg(strstr(err_text, "complete on rank 0") && strstr(err_text, "complete on rank 1"),
                  "%s", err_text);
    ck_assert_int_eq(count_str(out_text, "points: 4, complete 4 (0 were already)"), 1);
    int ncomplete, n = index_rows(out, hashes, "complete", &ncomplete);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(ncomplete, 4);
    for (int i = 0; i < 4; i++) { /* each point ran exactly once */
        snprintf(path, sizeof path, "%s/%s/log.txt", out, hashes[i]);
        ck_assert_int_eq(file_count(path, " attempt "), 1);
        assert_run_status(out, hashes[i], "complete");
    }
    code = run(args); /* a rerun runs nothing */
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_int_eq(count_str(err_text, " complete on rank "), 0);
    ck_assert_int_eq(count_str(out_text, "complete 4 (4 were already)"), 1);
}
END_TEST

/* The one point fails on rank 0 and is retried on rank 1, which is free. */
START_TEST(test_mpi_retry)
{
    char cfg[256], out[256], path[512], hashes[8][16];
    write_config(cfg, sizeof cfg, "fail.ini", "[sweep]\ndata.dir = /nonexistent\n");
    snprintf(out, sizeof out, "%s/fail", tmp);
    char *args[] = {"sweep", cfg, "--out", out, SMALL, NULL};
    int code = run(args);
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(err_text, "failed on rank 0 (exit 1, see its log.txt), retrying once"));
    ck_assert_ptr_nonnull(strstr(err_text, "failed on rank 1 (exit 1, see its log.txt)  ["));
    ck_assert_ptr_nonnull(strstr(err_text, "1 of 1 points failed twice"));
    int nfailed;
    ck_assert_int_eq(index_rows(out, hashes, "failed", &nfailed), 1);
    ck_assert_int_eq(nfailed, 1);
    snprintf(path, sizeof path, "%s/%s/log.txt", out, hashes[0]);
    ck_assert_int_eq(file_count(path, " attempt "), 2);
}
END_TEST

/* Polls of 100 ms before a wait for a point to start training gives up: 60
 * s, times CK_TIMEOUT_MULTIPLIER as Check's own timeouts (4 under
 * tools/test.sh --sanitize: one point's first epoch took 12 s under ASan at
 * load 11, and the interrupt case waits for two at once, so at load 30 a
 * fixed 60 s is near). */
static int start_polls(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    int k = m ? atoi(m) : 1;
    return 600 * (k > 1 ? k : 1);
}

/* The pid of the `qadapt run` whose command line holds `needle`, 0 if none. */
static pid_t find_run(const char *needle)
{
    DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    pid_t found = 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], cmd[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++) /* arguments are NUL-separated */
            cmd[i] = cmd[i] ? cmd[i] : ' ';
        cmd[n] = '\0';
        if (strstr(cmd, " run ") && strstr(cmd, needle))
            found = (pid_t)atol(e->d_name);
    }
    closedir(d);
    return found;
}

/* A point killed (SIGKILL) while training on rank 0 is rerun on rank 1. */
START_TEST(test_mpi_killed)
{
    char cfg[256], out[256], path[512], needle[300], hashes[8][16];
    write_config(cfg, sizeof cfg, "kill.ini", "[sweep]\ntrain.lr = 0.05\n");
    snprintf(out, sizeof out, "%s/kill", tmp);
    char *args[] = {"sweep", cfg, "--out", out, "--set", "train.epochs=3", "--set",
                    "data.limit=1000", "--set", "data.test_limit=200", NULL};
    char *argv[64];
    mpi_args(argv, args);
    int err_fd, n = 0;
    pid_t pid = run_bin_spawn(tmp, argv, &err_fd), victim = 0;
    snprintf(needle, sizeof needle, "--out %s", out);
    for (int tries = 0, polls = start_polls(); tries < polls && !victim; tries++) {
        usleep(100000);
        snprintf(path, sizeof path, "%s/index.csv", out);
        int np;
        if (access(path, R_OK) != 0 || (n = index_rows(out, hashes, "pending", &np)) != 1)
            continue;
        snprintf(path, sizeof path, "%s/%s/log.txt", out, hashes[0]);
        if (file_count(path, "epoch 1/3  train") > 0)
            victim = find_run(needle);
    }
    ck_assert_msg(victim > 0, "the point did not start training");
    kill(victim, SIGKILL);
    run_bin_slurp(err_fd, err_text, sizeof err_text);
    close(err_fd);
    ck_assert_int_eq(run_bin_wait_exit(pid, tmp, out_text, sizeof out_text), 0);
    ck_assert_ptr_nonnull(strstr(err_text, "failed on rank 0 (exit 137, see its log.txt), retrying once"));
    ck_assert_ptr_nonnull(strstr(err_text, "complete on rank 1 in "));
    int ncomplete;
    ck_assert_int_eq(index_rows(out, hashes, "complete", &ncomplete), 1);
    ck_assert_int_eq(ncomplete, 1);
    assert_run_status(out, hashes[0], "complete");
}
END_TEST

/* Ctrl-C on mpirun: the running point of each rank ends as interrupted. */
START_TEST(test_mpi_interrupt)
{
    char cfg[256], out[256], path[512], hashes[8][16];
    write_config(cfg, sizeof cfg, "long.ini", "[sweep]\ntrain.lr = 0.05, 0.1\n");
    snprintf(out, sizeof out, "%s/int", tmp);
    char *args[] = {"sweep", cfg, "--out", out, "--set", "train.epochs=50", "--set",
                    "data.limit=1000", "--set", "data.test_limit=200", NULL};
    char *argv[64];
    mpi_args(argv, args);
    int err_fd, n = 0, started = 0;
    pid_t pid = run_bin_spawn(tmp, argv, &err_fd);
    for (int tries = 0, polls = start_polls(); tries < polls && started < 2; tries++) {
        usleep(100000);
        snprintf(path, sizeof path, "%s/index.csv", out);
        if (access(path, R_OK) != 0)
            continue;
        int np;
        n = index_rows(out, hashes, "pending", &np);
        started = 0;
        for (int i = 0; i < n; i++) {
            snprintf(path, sizeof path, "%s/%s/log.txt", out, hashes[i]);
            started += file_count(path, "epoch 1/50  train") > 0;
        }
    }
    ck_assert_msg(started == 2, "the points did not start training");
    kill(pid, SIGINT);
    run_bin_slurp(err_fd, err_text, sizeof err_text);
    close(err_fd);
    run_bin_reap(pid, tmp, out_text, sizeof out_text);
    int nint;
    ck_assert_int_eq(index_rows(out, hashes, "interrupted", &nint), 2);
    ck_assert_msg(nint == 2, "%s", err_text);
    for (int i = 0; i < 2; i++)
        assert_run_status(out, hashes[i], "interrupted");
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("sweep_mpi");
    TCase *tc = tcase_create("mpirun");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_mpi_sweep);
    tcase_add_test(tc, test_mpi_retry);
    tcase_add_test(tc, test_mpi_killed);
    tcase_add_test(tc, test_mpi_interrupt);
    suite_add_tcase(s, tc);
    return s;
}
