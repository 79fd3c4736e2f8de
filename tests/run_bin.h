/* run_bin.h: running the real qadapt binary (QADAPT_BIN) from tests: its
 * stdout to DIR/stdout.txt (read back after exit), its stderr through a
 * pipe the test reads while it runs or after. */
#ifndef QA_TEST_RUN_BIN_H
#define QA_TEST_RUN_BIN_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* The fixture of these tests: fails unless meson test set QADAPT_BIN and
 * QADAPT_SOURCE_ROOT, puts configs/smoke.ini's path in smoke and makes a
 * fresh directory /tmp/qa_test_<name>_XXXXXX, its path in tmp. */
void run_bin_setup(const char *name, char *tmp, size_t ntmp, char *smoke, size_t nsmoke);
/* The fixture of the MPI tests: run_bin_setup, and the qadapt binary
 * (QADAPT_BIN) into qadapt unless it holds it already (a test may point
 * QADAPT_BIN at mpirun); fails unless meson test set MPIRUN. */
void run_bin_mpi_setup(const char *name, char *tmp, size_t ntmp, char *smoke, size_t nsmoke,
                       char *qadapt, size_t nqadapt);
/* The start of an mpirun command line into argv: -n ranks, --oversubscribe
 * (any rank count on any machine) and, as root (CI), --allow-run-as-root;
 * the number of arguments written (at most 4). */
int run_bin_mpi_args(char **argv, const char *ranks);
/* Removes tmp and everything in it. */
void run_bin_teardown(const char *tmp);

/* The whole content of the file at path (malloc'd), *n its size: to tell
 * whether a command left a file as it was. */
char *run_bin_read_file(const char *path, long *n);

/* Reads fd to its end (or n - 1 bytes) into buf, NUL-terminated. */
void run_bin_slurp(int fd, char *buf, size_t n);

/* Starts QADAPT_BIN with the NULL-terminated args (at most 62); *err_fd is
 * the read end of its stderr. */
pid_t run_bin_spawn(const char *dir, char *const args[], int *err_fd);

/* Reads lines of e (a running qadapt's stderr) until one that begins with
 * prefix and, unless also is NULL, contains also: 1, or 0 if e ends first. */
int run_bin_await_line(FILE *e, const char *prefix, const char *also);

/* Waits for pid and reads its stdout into out; returns the wait status. */
int run_bin_reap(pid_t pid, const char *dir, char *out, size_t n);

/* run_bin_reap, failing the test if qadapt died of a signal: its exit code. */
int run_bin_wait_exit(pid_t pid, const char *dir, char *out, size_t n);

/* Runs qadapt to the end: its exit code, stdout in out, stderr in err. */
int run_bin(const char *dir, char *const args[], char *out, size_t nout, char *err, size_t nerr);

#endif
