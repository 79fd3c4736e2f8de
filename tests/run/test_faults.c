/* test_faults.c: the real binary (QADAPT_BIN) where things go wrong around
 * a run, on configs/smoke.ini at a small scale:
 * - the disk fills up while the second checkpoint is written
 *   (tests/run/qa_enospc.c preloaded): exit 1 (not a crash in HDF5's exit
 *   handler), "No space left on device", no half-written file left, the
 *   first checkpoint intact, and --resume, with room again, ends like a run
 *   that never stopped;
 * - a folder it cannot write in, and a run folder another run is writing
 *   to: refused before anything is trained, naming the folder;
 * - a failed --resume and a rerun that fails in set-up leave the complete
 *   run file that was there as it was, byte for byte;
 * - an empty --out or out_dir is refused, nothing written at /;
 * - a grid corruption that is the identity on the data is refused before
 *   training;
 * - a second Ctrl-C (or SIGTERM) ends the run at once without leaving
 *   run.h5.part. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    run_bin_setup("faults", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

static int run(char *const args[])
{
    return run_bin(tmp, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* "run smoke --out tmp/<sub> [more...]" at 3 short epochs (static storage) */
static char **args(const char *sub, const char *more1, const char *more2)
{
    static char *argv[24], out[128];
    int n = 0;
    snprintf(out, sizeof out, "%s/%s", tmp, sub);
    char *fixed[] = {"run", smoke, "--out", out, "--set", "data.limit=1000", "--set",
                     "data.test_limit=300", "--set", "train.epochs=3"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[n++] = fixed[i];
    if (more1)
        argv[n++] = (char *)more1;
    if (more2)
        argv[n++] = (char *)more2;
    argv[n] = NULL;
    return argv;
}

static void path_in(char *buf, size_t n, const char *sub, const char *file)
{
    snprintf(buf, n, "%s/%s/smoke/%s", tmp, sub, file);
}

static const char *const TIMINGS[] = {"img_per_s", "seconds", "elapsed", "start_time",
                                      "end_time", "command", "resumed_after_epoch", NULL};

START_TEST(test_disk_full)
{
    const char *lib = getenv("QA_ENOSPC_LIB");
    ck_assert_msg(lib && exists(lib), "QA_ENOSPC_LIB unset or missing (run through meson test)");
    char dir[128], path[256], ck[256], part[300];
    snprintf(dir, sizeof dir, "%s/full", tmp);
    setenv("LD_PRELOAD", lib, 1);
    /* under AddressSanitizer (tools/test.sh --sanitize) the preload comes
     * before ASan's runtime, which refuses to start unless told */
    const char *env = getenv("ASAN_OPTIONS");
    char saved[400], asan_opts[512];
    snprintf(saved, sizeof saved, "%s", env ? env : "");
    snprintf(asan_opts, sizeof asan_opts, "%s%sverify_asan_link_order=0", saved,
             saved[0] ? ":" : "");
    setenv("ASAN_OPTIONS", asan_opts, 1);
    setenv("QA_ENOSPC_DIR", dir, 1);
    setenv("QA_ENOSPC_BYTES", "300000", 1); /* the run file and one checkpoint */
    int code = run(args("full", NULL, NULL));
    unsetenv("LD_PRELOAD");
    unsetenv("QA_ENOSPC_DIR");
    if (env)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    ck_assert_msg(code == 1, "exit %d (139: the crash at exit): %s", code, err_text);
    ck_assert_msg(strstr(err_text, "No space left on device"), "%s", err_text);
    ck_assert_msg(strstr(err_text, "ckpt.h5 is intact: qadapt run --resume"), "%s", err_text);
    path_in(path, sizeof path, "full", "run.h5");
    path_in(ck, sizeof ck, "full", "ckpt.h5");
    snprintf(part, sizeof part, "%s.part", path);
    ck_assert(!exists(part) && !exists(path));
    snprintf(part, sizeof part, "%s.tmp", ck);
    ck_assert(!exists(part));
    hid_t f = H5Fopen(ck, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "the first checkpoint is not readable");
    ck_assert_int_eq(h5read_i64_attr(f, "/", "epochs"), 1);
    H5Fclose(f);
    /* room again: --resume finishes it, as if it had never stopped */
    code = run(args("full", "--resume", NULL));
    ck_assert_msg(code == 0, "resume: exit %d: %s", code, err_text);
    ck_assert_int_eq(run(args("whole", NULL, NULL)), 0);
    char whole[256];
    path_in(whole, sizeof whole, "whole", "run.h5");
    h5same_result r;
    ck_assert_msg(h5same_files(whole, path, TIMINGS, &r) == 0, "%s", r.why);
}
END_TEST

/* The run as uid nobody when the test runs as root (root may write
 * anywhere): its exit code, stderr in err_text. */
static int run_unprivileged(char **argv)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(126);
        char *full[32] = {getenv("QADAPT_BIN")};
        for (int i = 0; argv[i] && i < 30; i++)
            full[i + 1] = argv[i];
        execv(full[0], full);
        _exit(127);
    }
    close(p[1]);
    run_bin_slurp(p[0], err_text, sizeof err_text);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(test_folder_not_writable)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/ro", tmp);
    ck_assert_int_eq(chmod(tmp, 0755), 0);
    ck_assert_int_eq(mkdir(dir, 0555), 0);
    /* the run folder cannot be made, then it exists but cannot be written */
    int code = run_unprivileged(args("ro", NULL, NULL));
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, "/ro/smoke: cannot create the folder: Permission denied"),
                  "%s", err_text);
    char run_dir[160];
    snprintf(run_dir, sizeof run_dir, "%s/smoke", dir);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_int_eq(mkdir(run_dir, 0555), 0);
    code = run_unprivileged(args("ro", NULL, NULL));
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, "/ro/smoke: cannot write in this folder: Permission denied"),
                  "%s", err_text);
    ck_assert_ptr_null(strstr(err_text, "epoch 1/"));
}
END_TEST

START_TEST(test_run_in_use)
{
    int err_fd;
    pid_t pid = run_bin_spawn(tmp, args("busy", NULL, NULL), &err_fd);
    FILE *e = fdopen(err_fd, "r");
    ck_assert_msg(run_bin_await_line(e, "epoch 1/", "train loss"), "no epoch line");
    char out_a[1 << 12];
    int code = run(args("busy", NULL, NULL));
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, "/busy/smoke is in use by another qadapt process"), "%s",
                  err_text);
    char line[512];
    while (fgets(line, sizeof line, e))
        ;
    fclose(e);
    ck_assert_int_eq(run_bin_wait_exit(pid, tmp, out_a, sizeof out_a), 0);
    char path[256];
    path_in(path, sizeof path, "busy", "run.h5");
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    char *status = h5read_str_attr(f, "/", "status");
    ck_assert_str_eq(status, "complete");
    ck_assert_int_eq(h5read_i64_attr(f, "/", "epochs_completed"), 3);
    free(status);
    H5Fclose(f);
}
END_TEST

/* A complete run in tmp/<sub>, then argv fails (code): the run file must be
 * byte for byte what it was, and the message say so. */
static void expect_kept(const char *sub, char **argv, int code)
{
    char path[256];
    path_in(path, sizeof path, sub, "run.h5");
    long n0, n1;
    char *before = run_bin_read_file(path, &n0);
    int got = run(argv);
    ck_assert_msg(got == code, "exit %d: %s", got, err_text);
    ck_assert_msg(strstr(err_text, "run.h5 is left as it was"), "%s", err_text);
    char *after = run_bin_read_file(path, &n1);
    ck_assert_msg(n0 == n1 && memcmp(before, after, (size_t)n0) == 0, "%s was replaced", path);
    free(before);
    free(after);
}

START_TEST(test_failed_setup_keeps_run_file)
{
    ck_assert_int_eq(run(args("keep", NULL, NULL)), 0);
    /* fewer training images than a batch: refused in set-up */
    expect_kept("keep", args("keep", "--set", "data.limit=10"), 1);
}
END_TEST

START_TEST(test_failed_resume_keeps_run_file)
{
    ck_assert_int_eq(run(args("keep", NULL, NULL)), 0);
    /* the checkpoint a valid HDF5 file, one of its datasets missing */
    char ck[256];
    path_in(ck, sizeof ck, "keep", "ckpt.h5");
    hid_t f = H5Fopen(ck, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    ck_assert_int_ge(H5Ldelete(f, "/sets/net/m", H5P_DEFAULT), 0);
    H5Fclose(f);
    char **argv = args("keep", "--resume", NULL);
    expect_kept("keep", argv, 1);
    ck_assert_msg(strstr(err_text, "/sets/net/m"), "%s", err_text);
}
END_TEST

START_TEST(test_empty_out)
{
    char *a1[] = {"run", smoke, "--out", "", NULL};
    ck_assert_int_eq(run(a1), 2);
    ck_assert_msg(strstr(err_text, "--out needs a value, not an empty string"), "%s", err_text);
    char name[64], set_name[96], root[80];
    snprintf(name, sizeof name, "qa_test_root_%d", (int)getpid());
    snprintf(set_name, sizeof set_name, "experiment.name=%s", name);
    snprintf(root, sizeof root, "/%s", name);
    char *a2[] = {"run", smoke, "--set", "experiment.out_dir=", "--set", set_name, NULL};
    ck_assert_int_eq(run(a2), 1);
    ck_assert_msg(strstr(err_text, "experiment.out_dir (--set experiment.out_dir=) is empty"),
                  "%s", err_text);
    ck_assert(!exists(root));
}
END_TEST

START_TEST(test_grid_identity_up_front)
{
    char **argv = args("grey", "--set", "eval.grid_corruptions=saturate, contrast");
    int n = 0;
    while (argv[n])
        n++;
    argv[n++] = "--set";
    argv[n++] = "eval.grid=true";
    argv[n] = NULL;
    ck_assert_int_eq(run(argv), 1);
    ck_assert_msg(strstr(err_text, "saturate is the identity on 1-channel images"), "%s",
                  err_text);
    ck_assert_ptr_null(strstr(err_text, "epoch 1/"));
}
END_TEST

START_TEST(test_second_interrupt)
{
    int err_fd;
    pid_t pid = run_bin_spawn(tmp, args("int", NULL, NULL), &err_fd);
    FILE *e = fdopen(err_fd, "r");
    ck_assert_msg(run_bin_await_line(e, "epoch 1/", "train loss"), "no epoch line");
    /* both signals pending when it resumes: a 20 ms pause between them
     * raced with a clean stop that was quicker */
    kill(pid, SIGSTOP);
    kill(pid, SIGINT);
    kill(pid, SIGTERM);
    kill(pid, SIGCONT);
    char line[512];
    while (fgets(line, sizeof line, e))
        ;
    fclose(e);
    int st = run_bin_reap(pid, tmp, out_text, sizeof out_text);
    ck_assert_msg(WIFSIGNALED(st) && (WTERMSIG(st) == SIGINT || WTERMSIG(st) == SIGTERM),
                  "status %d", st);
    char path[256];
    path_in(path, sizeof path, "int", "run.h5.part");
    ck_assert_msg(!exists(path), "%s left behind", path);
    path_in(path, sizeof path, "int", "ckpt.h5.tmp");
    ck_assert_msg(!exists(path), "%s left behind", path);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_disk_full);
    tcase_add_test(tc, test_folder_not_writable);
    tcase_add_test(tc, test_run_in_use);
    tcase_add_test(tc, test_failed_setup_keeps_run_file);
    tcase_add_test(tc, test_failed_resume_keeps_run_file);
    tcase_add_test(tc, test_empty_out);
    tcase_add_test(tc, test_grid_identity_up_front);
    tcase_add_test(tc, test_second_interrupt);
    suite_add_tcase(s, tc);
    return s;
}
