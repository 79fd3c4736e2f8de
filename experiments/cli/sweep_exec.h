/* sweep_exec.h: what the two halves of a sweep's execution share (private
 * to cli/): the sweeper, the state of one running sweep, kept by rank 0 (or
 * the only process) in sweep_exec.c, and the starting of a point's child
 * process, which every rank does.
 * sweep_dist.c spreads points over the ranks of an MPI job: rank 0 chooses
 * the rank of each point and sends it there; the other ranks serve, running
 * what they are sent and reporting each child's end. Messages (dist.h):
 *
 *   RUN  (0 -> r)  a = point, b = its attempts so far
 *   END  (r -> 0)  a = point, b = the child's wait status
 *   STOP (0 -> r)  a = the Ctrl-C count to forward to r's children
 *   DONE (0 -> r)  no more points: r returns once its children have ended
 *
 * Every rank parses and resolves the sweep itself (the same points in the
 * same order), so a point travels as its index. */
#ifndef EXP_SWEEP_EXEC_H
#define EXP_SWEEP_EXEC_H

#include <signal.h>
#include <sys/types.h>

#include "experiments/cli/sweep.h"

enum { EXP_SWEEP_RUN = 1, EXP_SWEEP_END, EXP_SWEEP_STOP, EXP_SWEEP_DONE };

typedef struct {
    pid_t pid;  /* on its rank; 0 on rank 0 for another rank's */
    long point;
    double start;
    int rank;   /* where it runs */
} exp_sweep_child;

typedef struct {
    const exp_sweep_opts *o;
    const exp_sweep_spec *spec;
    exp_sweep_point *pts;
    long npoints;
    char dir[1024];
    long *queue; /* points to run, in order; retries go to the front */
    long qhead, qtail;
    exp_sweep_child *kids; /* jobs x ranks */
    int nkids;
    double run_seconds; /* summed over points finished by this sweep */
    long run_done;
    double t0;
    sig_atomic_t forwarded; /* signals passed on to the children so far */
    int lock_fd;            /* the sweep folder's lock (io/dirlock.h), rank 0's; -1: none */
} exp_sweeper;

/* Starts point p as a child of this process (recorded in sw->kids). */
int exp_sweep_launch(exp_sweeper *sw, long p, const sigset_t *orig, qa_err *err);
/* Forwards stop count `level` to this process's children when it is
 * higher than the last forwarded (first: finish cleanly; again: at once). */
void exp_sweep_forward(exp_sweeper *sw, int level);

/* Rank 0: the rank point p should start on now, -1 when every rank runs
 * its --jobs points; a retried point avoids the rank it failed on when
 * another has room. */
int exp_sweep_pick_rank(const exp_sweeper *sw, long p);
/* Rank 0: point p started on another rank. */
int exp_sweep_send_point(exp_sweeper *sw, long p, int rank, qa_err *err);
/* Rank 0: a stop count raised here, passed to every other rank once. */
int exp_sweep_send_stop(exp_sweeper *sw, qa_err *err);
/* Rank 0: the index in sw->kids of the child whose END message was taken
 * (*wstatus: its status), -1 when no message is waiting. */
int exp_sweep_take_end(exp_sweeper *sw, int *wstatus);
/* Rank 0, on every way out once the other ranks serve: no more points. */
void exp_sweep_send_done(void);
/* Ranks > 0: run what rank 0 sends until DONE and every child has ended. */
int exp_sweep_serve(exp_sweeper *sw, const sigset_t *orig, qa_err *err);
/* Sleeps until a signal or 20 ms (the ranks' messages raise no signal). */
void exp_sweep_nap(const sigset_t *orig);

#endif
