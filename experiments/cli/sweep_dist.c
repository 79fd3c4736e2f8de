/* sweep_dist.c: a sweep's points over the ranks of an MPI job (the
 * protocol is in sweep_exec.h). Rank 0 keeps the queue, the index and the
 * retries; a point's run file is written by the rank that runs it, so the
 * sweep folder must be one every rank sees (a shared file system on a
 * cluster). A rank that dies ends the whole job (mpirun's rule): rerunning
 * the command reruns what was not complete. In a one-process job only
 * exp_sweep_pick_rank is called (it answers 0 or -1) and no message is
 * sent. */
#include <stddef.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

#include "experiments/cli/sweep_exec.h"
#include "experiments/dist/dist.h"
#include "experiments/run/run.h"

#define NAP_NS 20000000L

static int running_on(const exp_sweeper *sw, int rank)
{
    int n = 0;
    for (int k = 0; k < sw->nkids; k++)
        n += sw->kids[k].rank == rank;
    return n;
}

int exp_sweep_pick_rank(const exp_sweeper *sw, long p)
{
    const exp_sweep_point *pt = &sw->pts[p];
    int jobs = sw->o->jobs, best = -1, best_key = 0;
    for (int r = 0; r < exp_dist_size(); r++) {
        int n = running_on(sw, r);
        if (n >= jobs)
            continue;
        /* the least busy rank; the one a retried point failed on after all others */
        int key = n + (pt->attempts > 0 && r == pt->rank ? jobs : 0);
        if (best < 0 || key < best_key)
            best = r, best_key = key;
    }
    return best;
}

int exp_sweep_send_point(exp_sweeper *sw, long p, int rank, qa_err *err)
{
    exp_sweep_point *pt = &sw->pts[p];
    exp_dist_msg m = {.tag = EXP_SWEEP_RUN, .a = p, .b = pt->attempts};
    int rc = exp_dist_send(rank, &m, err);
    if (rc)
        return rc;
    pt->attempts++;
    pt->rank = rank;
    sw->kids[sw->nkids++] = (exp_sweep_child){0, p, exp_now(), rank};
    return QA_OK;
}

int exp_sweep_send_stop(exp_sweeper *sw, qa_err *err)
{
    if (exp_dist_size() == 1 || *sw->o->stop <= sw->forwarded)
        return QA_OK;
    exp_dist_msg m = {.tag = EXP_SWEEP_STOP, .a = *sw->o->stop};
    for (int r = 1; r < exp_dist_size(); r++) {
        int rc = exp_dist_send(r, &m, err);
        if (rc)
            return rc;
    }
    return QA_OK;
}

int exp_sweep_take_end(exp_sweeper *sw, int *wstatus)
{
    exp_dist_msg m;
    while (exp_dist_poll(&m)) {
        if (m.tag != EXP_SWEEP_END)
            continue; /* rank 0 is sent nothing else */
        for (int k = 0; k < sw->nkids; k++)
            if (sw->kids[k].rank == m.from && sw->kids[k].point == m.a) {
                *wstatus = (int)m.b;
                return k;
            }
    }
    return -1;
}

void exp_sweep_send_done(void)
{
    exp_dist_msg m = {.tag = EXP_SWEEP_DONE};
    qa_err err = {0};
    for (int r = 1; r < exp_dist_size(); r++)
        exp_dist_send(r, &m, &err); /* a rank that cannot be told has ended the job already */
}

void exp_sweep_nap(const sigset_t *orig)
{
    struct timespec ts = {0, NAP_NS};
    pselect(0, NULL, NULL, NULL, &ts, orig);
}

/* One message from rank 0; *done set by DONE. A point that cannot start
 * here is reported as a child that could not execute: rank 0 retries it. */
static void serve_msg(exp_sweeper *sw, const exp_dist_msg *m, const sigset_t *orig, int *done)
{
    if (m->tag == EXP_SWEEP_DONE) {
        *done = 1;
    } else if (m->tag == EXP_SWEEP_STOP) {
        exp_sweep_forward(sw, (int)m->a > *sw->o->stop ? (int)m->a : *sw->o->stop);
    } else if (m->tag == EXP_SWEEP_RUN && m->a >= 0 && m->a < sw->npoints) {
        sw->pts[m->a].attempts = (int)m->b;
        qa_err err = {0};
        if (exp_sweep_launch(sw, m->a, orig, &err)) {
            if (sw->o->progress)
                fprintf(sw->o->progress, "sweep: rank %d: %s\n", exp_dist_rank(), err.msg);
            exp_dist_msg end = {.tag = EXP_SWEEP_END, .a = m->a, .b = 127 << 8};
            exp_dist_send(0, &end, &err);
        }
    }
}

int exp_sweep_serve(exp_sweeper *sw, const sigset_t *orig, qa_err *err)
{
    int done = 0, rc = QA_OK;
    for (;;) {
        exp_dist_msg m;
        while (exp_dist_poll(&m))
            serve_msg(sw, &m, orig, &done);
        exp_sweep_forward(sw, *sw->o->stop);
        int st;
        pid_t pid;
        while (!rc && (pid = waitpid(-1, &st, WNOHANG)) > 0)
            for (int k = 0; k < sw->nkids; k++)
                if (sw->kids[k].pid == pid) {
                    exp_dist_msg end = {.tag = EXP_SWEEP_END, .a = sw->kids[k].point, .b = st};
                    sw->kids[k] = sw->kids[--sw->nkids];
                    rc = exp_dist_send(0, &end, err);
                    break;
                }
        if (rc || (done && sw->nkids == 0))
            return rc;
        exp_sweep_nap(orig);
    }
}
