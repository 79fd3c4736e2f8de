/* run_bin.c: fork/exec of QADAPT_BIN for the tests that run the binary. */
#include "run_bin.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"

void run_bin_setup(const char *name, char *tmp, size_t ntmp, char *smoke, size_t nsmoke)
{
    const char *root = getenv("QADAPT_SOURCE_ROOT");
    ck_assert_msg(root && getenv("QADAPT_BIN"), "run through meson test (QADAPT_BIN unset)");
    snprintf(smoke, nsmoke, "%s/configs/smoke.ini", root);
    qa_test_tmpdir(tmp, ntmp, name);
}

void run_bin_mpi_setup(const char *name, char *tmp, size_t ntmp, char *smoke, size_t nsmoke,
                       char *qadapt, size_t nqadapt)
{
    run_bin_setup(name, tmp, ntmp, smoke, nsmoke);
    if (!qadapt[0])
        snprintf(qadapt, nqadapt, "%s", getenv("QADAPT_BIN"));
    ck_assert_msg(getenv("MPIRUN"), "MPIRUN unset (run through meson test)");
}

int run_bin_mpi_args(char **argv, const char *ranks)
{
    int n = 0;
    argv[n++] = "-n";
    argv[n++] = (char *)ranks;
    argv[n++] = "--oversubscribe";
    if (geteuid() == 0)
        argv[n++] = "--allow-run-as-root";
    return n;
}

void run_bin_teardown(const char *tmp)
{
    qa_test_rmtree(tmp);
}

char *run_bin_read_file(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)*n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)*n, f), (size_t)*n);
    fclose(f);
    return buf;
}

void run_bin_slurp(int fd, char *buf, size_t n)
{
    size_t used = 0;
    ssize_t r;
    while (used + 1 < n && (r = read(fd, buf + used, n - 1 - used)) > 0)
        used += (size_t)r;
    buf[used] = '\0';
}

static void stdout_path(char *path, size_t n, const char *dir)
{
    snprintf(path, n, "%s/stdout.txt", dir);
}

pid_t run_bin_spawn(const char *dir, char *const args[], int *err_fd)
{
    int p[2];
    char out_path[256];
    stdout_path(out_path, sizeof out_path, dir);
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(p[1], 2);
        close(p[0]);
        char *argv[64] = {getenv("QADAPT_BIN")};
        for (int i = 0; args[i] && i < 62; i++)
            argv[i + 1] = args[i];
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *err_fd = p[0];
    return pid;
}

int run_bin_await_line(FILE *e, const char *prefix, const char *also)
{
    char line[512];
    while (fgets(line, sizeof line, e))
        if (strncmp(line, prefix, strlen(prefix)) == 0 && (!also || strstr(line, also)))
            return 1;
    return 0;
}

int run_bin_reap(pid_t pid, const char *dir, char *out, size_t n)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    char out_path[256];
    stdout_path(out_path, sizeof out_path, dir);
    int fd = open(out_path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    run_bin_slurp(fd, out, n);
    close(fd);
    return st;
}

int run_bin_wait_exit(pid_t pid, const char *dir, char *out, size_t n)
{
    int st = run_bin_reap(pid, dir, out, n);
    ck_assert_msg(WIFEXITED(st), "qadapt died of signal %d", WTERMSIG(st));
    return WEXITSTATUS(st);
}

int run_bin(const char *dir, char *const args[], char *out, size_t nout, char *err, size_t nerr)
{
    int err_fd;
    pid_t pid = run_bin_spawn(dir, args, &err_fd);
    run_bin_slurp(err_fd, err, nerr);
    close(err_fd);
    return run_bin_wait_exit(pid, dir, out, nout);
}
