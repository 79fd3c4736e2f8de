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
 * The pool does not schedule dynamically and has no task queue.
 *
 * Ranks (par_ranks.c): in a job of several processes training one model
 * (data-parallel, experiments/dist/ installs the hook with
 * nn_par_set_ranks), rank r of R owns the samples of the fixed shares
 * [S r / R, S (r+1) / R) (S = nn_par_shares(), R <= S). Per-sample jobs run
 * through nn_par_run_owned, which runs only the shares whose samples this
 * rank owns; a sum over a batch still adds its S partials in share order,
 * after nn_par_gather has brought every rank's partials to every rank, so
 * the result is the one-process result bit for bit at any rank count. What
 * every rank needs whole (the classifier's input rows) is gathered the same
 * way. Without the hook (one process) both are the plain calls. nn knows no
 * MPI: the hook is one function. */
#ifndef NN_PAR_H
#define NN_PAR_H

#include <stddef.h>

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

/* The data-parallel hook: allgather(ctx, buf, counts, displs) leaves in
 * buf on every rank the bytes [displs[r], displs[r] + counts[r]) of every
 * rank r (in place: each rank's own bytes are already there). */
typedef struct {
    int rank, nranks;
    void (*allgather)(void *ctx, void *buf, const long *counts, const long *displs);
    void *ctx;
} nn_par_ranks;

/* Installs the hook (copied), NULL: this process alone (the default). */
void nn_par_set_ranks(const nn_par_ranks *r);
/* 1 while a hook of more than one rank is installed (and not whole). */
int nn_par_ranked(void);
/* 1 when share s of a job of ns shares over n samples is this rank's
 * (always 1 without ranks): its first sample lies in this rank's shares. */
int nn_par_owns(long n, int s, int ns);
/* nn_par_run_on(fn, arg, ns, nslots) for shares over n samples, running
 * only the shares this rank owns. */
void nn_par_run_owned(nn_par_fn fn, void *arg, int ns, int nslots, long n);
/* Between nn_par_whole(1) and nn_par_whole(0) (nestable) this rank
 * computes every share and exchanges nothing: for work on rows every rank
 * holds whole (a layer run on gathered inputs). */
void nn_par_whole(int on);
/* Blocks s = first..ns-1 of a job of ns shares over n samples, at base +
 * (s - first) * block bytes, each from the rank that owns share s, to every
 * rank; a no-op without ranks. */
void nn_par_gather(void *base, size_t block, long n, int first, int ns);

/* Static balanced split of [0, n) into ns parts: part s is [*lo, *hi). */
static inline void nn_par_range(long n, int s, int ns, long *lo, long *hi)
{
    *lo = n * s / ns;
    *hi = n * (s + 1) / ns;
}

#endif
