/* dist.h: the processes of an MPI job. With MPI built in (meson -Dmpi) and
 * the process started by an MPI launcher (mpirun, srun), exp_dist_init joins
 * the job: this process is rank exp_dist_rank() of exp_dist_size(). Started
 * any other way, or without MPI built in, the job is this one process
 * (rank 0 of 1) and nothing of MPI is touched, so a plain `qadapt run` works
 * as before on a machine without a launcher.
 * What ranks say to each other is a small fixed message (exp_dist_msg): a
 * tag and two integers; sends are eager, so a sender never waits for its
 * receiver.
 * For data-parallel training the ranks exchange nn's per-share blocks
 * through the hook of nn/par.h, which exp_dist_train_hook installs.
 * Deliberately not here: what the messages mean (cli/sweep_dist.c says it
 * for sweeps), and which shares a rank computes (nn/par_ranks.c). */
#ifndef EXP_DIST_H
#define EXP_DIST_H

#include "nn/status.h"

typedef struct {
    int from; /* set by exp_dist_poll */
    int tag;  /* the caller's, 0..1000 */
    long a, b;
} exp_dist_msg;

/* Joins the MPI job when started by a launcher; otherwise a no-op. Call
 * once, before any thread is created. */
int exp_dist_init(int *argc, char ***argv, qa_err *err);
/* Leaves the job (every rank must call it once its messages are done). */
void exp_dist_finish(void);
/* Ends every rank of the job at once with exit code `code`: for a rank
 * that cannot go on while others wait for it. */
void exp_dist_abort(int code);
int exp_dist_rank(void);
int exp_dist_size(void);
/* The MPI library built in ("Open MPI v4.1.4, ..."), NULL without MPI. */
const char *exp_dist_library(void);

/* Sends m to rank `to`. */
int exp_dist_send(int to, const exp_dist_msg *m, qa_err *err);
/* Takes one waiting message, from any rank, into m: 1 when there was one,
 * 0 when none is waiting (always 0 in a one-process job). */
int exp_dist_poll(exp_dist_msg *m);

/* Installs nn's data-parallel hook (nn/par.h) over this job's ranks: an
 * MPI allgather; a rank that cannot exchange ends the job. A no-op in a
 * job of one. */
void exp_dist_train_hook(void);

/* The largest of every rank's v: a collective, every rank calls it at the
 * same point (v itself in a job of one). */
int exp_dist_max(int v);

/* Every rank's set-up status combined, so that a rank that failed alone
 * (a dataset or folder missing on its node, a memory check refusing) does
 * not leave the others waiting in their first exchange: a collective, every
 * rank calls it once at the same point, whatever its own rc. Returns rc when
 * this rank failed; when only other ranks did, a failure in err naming the
 * lowest of them; QA_OK when every rank's rc was. rc itself in a job of
 * one. */
int exp_dist_agree(int rc, qa_err *err);
/* 1 when this rank's own failure went into exp_dist_agree while rank 0's
 * set-up succeeded: rank 0 cannot report it, so this rank must. */
int exp_dist_failed_alone(void);
/* 1 once an exp_dist_agree found every rank set up: from then on the ranks
 * go in step, and one that fails may leave the others inside a collective
 * (its first exchange included). */
int exp_dist_agreed(void);

typedef struct {
    long calls;     /* exchanges (allgathers) */
    double bytes;   /* received from other ranks */
    double seconds; /* wall time inside them, waiting for the slowest rank included */
} exp_dist_exchanges;

/* What this rank's data-parallel exchanges have cost so far (zeros in a
 * job of one). */
exp_dist_exchanges exp_dist_exchange_totals(void);

/* The environment for a child process that must not believe it is a rank
 * of this job: environ less the launcher's variables (OMPI_*, PMIX_*,
 * PMI_*). A NULL-terminated array of environ's strings; free() the array
 * only. NULL when out of memory. */
char **exp_dist_child_env(void);

#endif
