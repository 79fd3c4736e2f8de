/* memory.c: the run's peak memory against the machine's (memory.h). */
#include "experiments/run/memory.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "experiments/run/run.h"

#define MB (1024.0 * 1024.0)

double exp_mem_peak(const exp_mem_est *e)
{
    return e->resident + e->nets + e->batch;
}

long exp_mem_batch_fit(const exp_mem_est *e, double limit)
{
    double fixed = exp_mem_peak(e) - e->per_sample * e->max_batch;
    if (e->per_sample <= 0 || limit < fixed + e->per_sample)
        return 0;
    return (long)((limit - fixed) / e->per_sample);
}

/* "Key:   123 kB" of a /proc file into bytes; -1 when absent. */
static double proc_kb(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    double v = -1;
    size_t n = strlen(key);
    while (f && v < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':' && sscanf(line + n + 1, "%lf", &v) == 1)
            v *= 1024;
    if (f)
        fclose(f);
    return v;
}

/* A number of bytes alone in a file ("max", a missing file: -1). */
static double file_bytes(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    double v = -1;
    if (f && fscanf(f, "%lf", &v) != 1)
        v = -1;
    if (f)
        fclose(f);
    return v;
}

int exp_mem_limit_read(int mb, double resident, const char *meminfo, const char *cgroup_max,
                       const char *cgroup_usage, exp_mem_limit *l, qa_err *err)
{
    l->bytes = mb < 0 ? -1 : mb * MB;
    snprintf(l->source, sizeof l->source, "experiment.memory_mb = %d", mb);
    if (mb != 0)
        return QA_OK;
    double avail = proc_kb(meminfo, "MemAvailable");
    if (avail < 0)
        return qa_fail(err, QA_ERR_IO, "%s: no MemAvailable line (set experiment.memory_mb to "
                       "the memory a run may take, or -1 not to check)", meminfo);
    l->bytes = avail + resident;
    snprintf(l->source, sizeof l->source, "MemAvailable in %s, plus this process's %.0f MB",
             meminfo, resident / MB);
    /* a cgroup's limit (a container, a batch job) binds before the machine's */
    double max = file_bytes(cgroup_max), used = file_bytes(cgroup_usage);
    if (max > 0 && used >= 0 && max < 1e18 && max - used + resident < l->bytes) {
        l->bytes = max - used + resident;
        snprintf(l->source, sizeof l->source, "the cgroup's %s less its usage, plus this "
                 "process's %.0f MB", cgroup_max, resident / MB);
    }
    return QA_OK;
}

int exp_mem_judge(const exp_mem_est *e, const exp_mem_limit *l, qa_err *err)
{
    double peak = exp_mem_peak(e);
    if (l->bytes < 0 || peak <= l->bytes)
        return QA_OK;
    long fit = exp_mem_batch_fit(e, l->bytes);
    char hint[200] = "";
    if (fit > 0)
        snprintf(hint, sizeof hint, "a batch of %ld would fit; ", fit);
    return qa_fail(err, QA_ERR_NOMEM,
                   "this run would take about %.0f MB at its peak (%.0f MB resident now, "
                   "%.0f MB for the networks of which %.1f MB per sample of batch %d, %.0f MB "
                   "of batch buffers) but %.0f MB are available (%s): lower train.batch and "
                   "eval.batch (%sa smaller image side, data.folder_side, or model helps too), "
                   "or set experiment.memory_mb (-1: no check) to run anyway",
                   peak / MB, e->resident / MB, e->nets / MB, e->per_sample / MB, e->max_batch,
                   e->batch / MB, l->bytes / MB, l->source, hint);
}

static double batch_bytes(const exp_batch *b)
{
    /* pixels; index, label, corruption, severity; loss and features */
    double per = (double)b->h * b->w * b->c + 4 * sizeof(int) + sizeof(float) * (1 + b->nfeat);
    return per * b->cap;
}

static void run_estimate(const exp_run *r, exp_mem_est *e)
{
    size_t nets = nn_net_bytes(r->net), sample = nn_net_sample_bytes(r->net);
    if (r->method->memory)
        r->method->memory(r, r->mstate, &nets, &sample);
    for (int i = 0; i < r->nsets; i++)
        nets += nn_optim_bytes(r->sets[i].opt);
    e->resident = proc_kb("/proc/self/status", "VmRSS");
    if (e->resident < 0)
        e->resident = 0;
    e->nets = (double)nets;
    e->per_sample = (double)sample;
    e->batch = batch_bytes(&r->batch);
    e->max_batch = r->net->max_batch;
}

int exp_mem_check(const exp_run *r, qa_err *err)
{
    exp_mem_est e;
    exp_mem_limit l;
    run_estimate(r, &e);
    int rc = exp_mem_limit_read(r->cfg->experiment.memory_mb, e.resident, "/proc/meminfo",
                                access("/sys/fs/cgroup/memory.max", R_OK) == 0
                                    ? "/sys/fs/cgroup/memory.max"
                                    : "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                access("/sys/fs/cgroup/memory.current", R_OK) == 0
                                    ? "/sys/fs/cgroup/memory.current"
                                    : "/sys/fs/cgroup/memory/memory.usage_in_bytes",
                                &l, err);
    if (!rc && r->opts->progress)
        fprintf(r->opts->progress, "memory: about %.0f MB at the peak (%.1f MB per sample of "
                "batch %d); ", exp_mem_peak(&e) / MB, e.per_sample / MB, e.max_batch);
    if (!rc && r->opts->progress && l.bytes < 0)
        fprintf(r->opts->progress, "not checked (%s)\n", l.source);
    else if (!rc && r->opts->progress)
        fprintf(r->opts->progress, "%.0f MB available (%s)\n", l.bytes / MB, l.source);
    return rc ? rc : exp_mem_judge(&e, &l, err);
}
