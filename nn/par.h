/* par.h: the fork-join thread pool nn's kernels split their work over.
 *
 * One process-wide pool of nn_par_threads() threads (the caller counts as
 * thread 0). A kernel calls nn_par_run(fn, arg, nt) and fn(arg, tid, nt) runs
 * once for every share tid = 0..nt-1 of the work, each share on whichever
 * thread claims it first (a thread that finishes early takes the share of
 * one the machine has descheduled). fn must depend on the share index only,
 * never on the thread running it: then results depend on the share count
 * but never on timing, partial sums being kept per share and reduced by the
 * caller in share order. While the pool has more than one thread, OpenBLAS runs
 * single-threaded inside each share (two BLAS thread pools would fight for
 * the same cores). Set the thread count once, before building networks:
 * layers size their per-thread scratch for the count they were built with.
 * Calls from inside a running job, or from a second application thread
 * while the pool is busy, run serially on the calling thread.
 * The pool does not schedule dynamically and has no task queue. */
#ifndef NN_PAR_H
#define NN_PAR_H

#include "nn/status.h"

#define NN_PAR_MAX_THREADS 64

typedef void (*nn_par_fn)(void *arg, int tid, int nt);

/* Starts or stops workers so that n threads run jobs (1 = serial); BLAS
 * is set to one thread either way. Not callable from inside a job. */
int nn_par_set_threads(int n, qa_err *err);
int nn_par_threads(void);
/* Runs fn(arg, t, nt) once for each t = 0..nt-1, on the caller and the
 * workers in any distribution; returns when all are done. nt is clamped to
 * [1, nn_par_threads()]. */
void nn_par_run(nn_par_fn fn, void *arg, int nt);
/* Stops the workers (also done at exit). */
void nn_par_shutdown(void);

/* Static balanced split of [0, n) into nt parts: part tid is [*lo, *hi). */
static inline void nn_par_range(long n, int tid, int nt, long *lo, long *hi)
{
    *lo = n * tid / nt;
    *hi = n * (tid + 1) / nt;
}

#endif
