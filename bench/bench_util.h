/* bench_util.h: what every benchmark here shares: the clocks its
 * repetitions are timed with, the median over them, peak RSS and the
 * "--name value" options of its command line. */
#ifndef QA_BENCH_UTIL_H
#define QA_BENCH_UTIL_H

#include <stddef.h>

/* Wall time in seconds (monotonic): throughput on the machine as it is. */
double bench_now_s(void);
/* The calling thread's CPU time in seconds: what a single-threaded kernel
 * takes of a core, whatever else the shared machine runs meanwhile. */
double bench_cpu_s(void);
/* The CPU time of all this process's threads, in seconds: the cores a
 * multi-threaded step costs, robust to the waits a loaded machine adds to
 * the wall clock (and it charges the pool's spinning to the step). */
double bench_process_cpu_s(void);

/* Sorts v (n > 0 values) in place and returns its median (the mean of the
 * two middle values for even n): after it v[0] is the min, v[n - 1] the max. */
double bench_median(double *v, int n);

/* This process's peak resident set so far, in MiB. */
double bench_peak_rss_mb(void);

/* One option "--name value": exactly one of num (an int >= min), real (a
 * number in [min, max]), str (kept as given), choice (the index of the
 * value in names, a NULL-terminated list) or flag (takes no value; set to
 * 1) is set. */
typedef struct {
    const char *name;
    int *num;
    double *real;
    const char **str;
    int *choice;
    const char *const *names;
    int *flag;
    double min, max;
} bench_opt;

/* index of the len characters at s in names (NULL-terminated), or -1 */
int bench_name_index(const char *const *names, const char *s, size_t len);

/* Reads argv[1..argc-1] against the nopts options (the defaults are what
 * their targets hold before). An unknown option, a missing value or one out
 * of range: a message naming prog and -1. --help (-h) prints the options
 * and their defaults and exits with 0. */
int bench_parse_args(int argc, char **argv, const char *prog, const bench_opt *opts, int nopts);

#endif
