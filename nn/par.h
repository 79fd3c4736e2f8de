/* par.h: the fork-join thread pool nn's kernels split their work over.
 *
 * One process-wide pool of nn_par_threads() threads (the caller counts as
 * thread 0). A kernel calls nn_par_run(fn, arg, ns) and fn(arg, s, ns) runs
 * once for every share s = 0..ns-1 of the work, each share on whichever
 * thread claims it first (a thread that finishes early takes the share of
 * one the machine has descheduled). fn must depend on the share index only,
 * never on the thread running it, partial sums being kept per share and
 * reduced by the caller in share order: then results depend on the share
 * count but never on timing or on the thread count.
 * A job whose result depends on how its work is split (a sum over samples,
 * a GEMM over a range of rows: OpenBLAS rounds a row differently in calls
 * of different heights) splits into nn_par_shares() shares, a count fixed
 * by the caller's configuration, so 1, 2 or 4 threads give bit-identical
 * results. A job whose every output element is computed the same way
 * whatever the split (element-wise maps, per-sample transforms) may split
 * by nn_par_threads() instead.
 * Scratch a share only borrows (not its partial sums) is kept per thread
 * and indexed by nn_par_slot(). OpenBLAS runs single-threaded throughout
 * (nn/blas.h). Set the thread and share counts once, before building
 * networks: layers size their per-thread scratch and per-share partial
 * sums for the counts they were built with.
 * Calls from inside a running job, or from a second application thread
 * while the pool is busy, run serially on the calling thread.
 * The pool does not schedule dynamically and has no task queue. */
#ifndef NN_PAR_H
#define NN_PAR_H

#include "nn/status.h"

#define NN_PAR_MAX_THREADS 64
#define NN_PAR_MAX_SHARES 64
#define NN_PAR_DEFAULT_SHARES 8

typedef void (*nn_par_fn)(void *arg, int share, int nshares);

/* Starts or stops workers so that n threads run jobs (1 = serial). Not
 * callable from inside a job. */
int nn_par_set_threads(int n, qa_err *err);
int nn_par_threads(void);
/* The share count of jobs whose results depend on their split, 1 to
 * NN_PAR_MAX_SHARES (NN_PAR_DEFAULT_SHARES until set). */
int nn_par_set_shares(int n, qa_err *err);
int nn_par_shares(void);
/* Runs fn(arg, s, ns) once for each s = 0..ns-1 (ns clamped to >= 1), on
 * the caller and the workers in any distribution; returns when all are
 * done. */
void nn_par_run(nn_par_fn fn, void *arg, int ns);
/* The same on at most nslots threads, for a job whose per-thread scratch
 * holds nslots blocks. */
void nn_par_run_on(nn_par_fn fn, void *arg, int ns, int nslots);
/* The slot, 0 to nn_par_threads() - 1, of the thread running the current
 * share: shares of one job running at once never have the same slot. 0
 * outside jobs and in jobs run serially. */
int nn_par_slot(void);
/* Stops the workers (also done at exit). */
void nn_par_shutdown(void);

/* Static balanced split of [0, n) into ns parts: part s is [*lo, *hi). */
static inline void nn_par_range(long n, int s, int ns, long *lo, long *hi)
{
    *lo = n * s / ns;
    *hi = n * (s + 1) / ns;
}

#endif
