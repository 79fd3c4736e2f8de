/* bench_util.c: clocks, medians, peak RSS and options for the benchmarks. */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double bench_now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

double bench_cpu_s(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

double bench_process_cpu_s(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double bench_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

int bench_name_index(const char *const *names, const char *s, size_t len)
{
    for (int k = 0; names[k]; k++)
        if (strlen(names[k]) == len && strncmp(s, names[k], len) == 0)
            return k;
    return -1;
}

/* Stores v into o's target; 0, or -1 when v is out of o's range. */
static int set_opt(const bench_opt *o, const char *v)
{
    if (o->num) {
        if (atoi(v) < o->min)
            return -1;
        *o->num = atoi(v);
    } else if (o->real) {
        double x = atof(v);
        if (!(x >= o->min && x <= o->max))
            return -1;
        *o->real = x;
    } else if (o->choice) {
        int k = bench_name_index(o->names, v, strlen(v));
        if (k < 0)
            return -1;
        *o->choice = k;
    } else {
        *o->str = v;
    }
    return 0;
}

/* --help: the options with their defaults (what their targets hold now);
 * a benchmark is a program, so it ends here with status 0 */
static void print_help(const char *prog, const bench_opt *opts, int nopts)
{
    printf("usage: %s [options]\n", prog);
    for (int j = 0; j < nopts; j++) {
        const bench_opt *o = &opts[j];
        if (o->flag)
            printf("  %-14s (a flag)\n", o->name);
        else if (o->num)
            printf("  %-14s N   integer >= %g, default %d\n", o->name, o->min, *o->num);
        else if (o->real)
            printf("  %-14s X   number in [%g, %g], default %g\n", o->name, o->min, o->max,
                   *o->real);
        else if (o->choice) {
            printf("  %-14s S   one of", o->name);
            for (int k = 0; o->names[k]; k++)
                printf(" %s", o->names[k]);
            printf(", default %s\n", o->names[*o->choice]);
        } else
            printf("  %-14s S   default %s\n", o->name, *o->str ? *o->str : "(none)");
    }
    printf("What it measures and prints: the comment at the top of bench/%s.c\n", prog);
    exit(0);
}

int bench_parse_args(int argc, char **argv, const char *prog, const bench_opt *opts, int nopts)
{
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "--help") || !strcmp(k, "-h"))
            print_help(prog, opts, nopts);
        const bench_opt *o = NULL;
        for (int j = 0; j < nopts && !o; j++)
            if (!strcmp(k, opts[j].name))
                o = &opts[j];
        if (o && o->flag) {
            *o->flag = 1;
            continue;
        }
        if (o && !v) {
            fprintf(stderr, "%s: '%s' needs a value\n", prog, k);
            return -1;
        }
        if (!o || set_opt(o, v) < 0) {
            fprintf(stderr, "%s: bad argument '%s' (see the comment at the top of %s.c)\n", prog, k,
                    prog);
            return -1;
        }
        i++;
    }
    return 0;
}
