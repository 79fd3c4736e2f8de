/* memory.h: a run's peak memory, estimated once it is set up and before its
 * first step, against what the machine has available; a run that would not
 * fit is refused with what to lower (a mobilenetv2_tiny at 200x200 and
 * batch 64 grew to 24 GB and was killed mid-epoch).
 *
 * The estimate is what is resident at the check (the process, its
 * libraries, the datasets, the parameters) plus what the run's networks
 * will take: nn_net_bytes of the backbone and of the method's own networks
 * (exp_method.memory: blockrep's teacher), computed by the build from the
 * shapes, batch, image size, method (quantizers' caches, dqmq's relaxed
 * candidates) and threads (scratch per thread), not yet touched (nn's
 * arena is lazily zeroed); plus the optimizer moments and the batch
 * buffers. The limit is MemAvailable (/proc/meminfo) plus what the process
 * already holds, lowered to a cgroup's room when one is set, or
 * experiment.memory_mb.
 *
 * Deliberately not here: the datasets' own size before they are loaded
 * (they are resident at the check), a sweep's points running side by side
 * (--jobs N: each point checks what is available when it starts). */
#ifndef EXP_RUN_MEMORY_H
#define EXP_RUN_MEMORY_H

#include <stddef.h>

#include "nn/status.h"

typedef struct exp_run exp_run;

typedef struct {
    double resident;   /* bytes resident at the check (VmRSS) */
    double nets;       /* the networks' bytes (nn_net_bytes), their optimizers' moments */
    double per_sample; /* the part of nets that grows with the batch, per sample */
    double batch;      /* the run's batch buffers */
    int max_batch;     /* the larger of train.batch and eval.batch */
} exp_mem_est;

typedef struct {
    double bytes;     /* what the run may take at its peak; < 0: no check */
    char source[160]; /* where the figure comes from */
} exp_mem_limit;

/* The estimated peak: resident + nets + batch. */
double exp_mem_peak(const exp_mem_est *e);
/* The largest batch whose peak fits the limit (0: not even one sample). */
long exp_mem_batch_fit(const exp_mem_est *e, double limit);
/* The limit: experiment.memory_mb = mb when > 0, no check when -1,
 * else the machine's (meminfo, cgroup: the files read, for tests) with the
 * resident bytes added. */
int exp_mem_limit_read(int mb, double resident, const char *meminfo, const char *cgroup_max,
                       const char *cgroup_usage, exp_mem_limit *l, qa_err *err);
/* A refusal naming the estimate, the limit and what to lower when the
 * peak exceeds it (QA_ERR_NOMEM), else QA_OK. */
int exp_mem_judge(const exp_mem_est *e, const exp_mem_limit *l, qa_err *err);
/* The run's estimate against the machine's limit, before its first step;
 * a progress line says both. */
int exp_mem_check(const exp_run *r, qa_err *err);

#endif
