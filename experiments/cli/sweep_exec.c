/* sweep_exec.c: running a sweep's points as child processes.
 *
 * Each point is `EXE run CONFIG [--set user]... [--set axis=v]... --set
 * experiment.name=<hash> --out DIR [--resume]` (--resume when the folder
 * has a checkpoint: a killed sweep continues its points where their last
 * epoch ended), stdout and stderr appended to
 * DIR/<hash>/log.txt. Children get their own process group, so a Ctrl-C on
 * the terminal reaches only this process, which forwards it once to each
 * running child (each then finishes its step and closes its run file as
 * interrupted); a second Ctrl-C is forwarded again and ends them at once.
 * The wait is sigsuspend with SIGCHLD/SIGINT/SIGTERM blocked outside it, so
 * a signal can never slip in between the check of the stop flag and the
 * wait. Under mpirun this is rank 0's loop, whose slots include the other
 * ranks' (sweep_dist.c): their messages raise no signal, so it naps 20 ms
 * with pselect instead of waiting in sigsuspend. Rank 0 alone holds the
 * sweep folder's lock (io/dirlock.h); whichever rank starts a point first
 * waits for the point's own folder lock, which a killed earlier attempt may
 * still hold, and its child `qadapt run` takes that lock for itself. */
#include "experiments/cli/sweep_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/dist/dist.h"
#include "experiments/io/ckpt.h"
#include "experiments/io/dirlock.h"
#include "experiments/run/progress.h"
#include "experiments/run/run.h"

static void on_child(int sig)
{
    (void)sig;
}

static void point_label(const exp_sweeper *sw, const exp_sweep_point *pt, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "%s", pt->hash);
    for (int i = 0; i < sw->spec->naxes && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s=%s", i ? " " : " (", sw->spec->axes[i].key,
                         sw->spec->axes[i].values[pt->value[i]]);
        used += w > 0 ? (size_t)w : 0;
    }
    if (sw->spec->naxes && used < n)
        snprintf(buf + used, n - used, ")");
}

static void progress(exp_sweeper *sw, const exp_sweep_point *pt, const char *what)
{
    FILE *f = sw->o->progress;
    if (!f)
        return;
    long done = 0, failed = 0;
    for (long p = 0; p < sw->npoints; p++) {
        done += sw->pts[p].status == EXP_POINT_COMPLETE;
        failed += sw->pts[p].status == EXP_POINT_FAILED && sw->pts[p].attempts >= 2;
    }
    long left = sw->npoints - done - failed;
    char label[1200], eta[32] = "?";
    point_label(sw, pt, label, sizeof label);
    if (sw->run_done > 0) {
        int slots = sw->o->jobs * exp_dist_size();
        int jobs = slots < left ? slots : (int)(left > 0 ? left : 1);
        exp_fmt_duration(sw->run_seconds / (double)sw->run_done * (double)left / jobs, eta,
                         sizeof eta);
    }
    fprintf(f, "sweep: %s %s  [%ld/%ld done, %ld failed, %d running, ETA %s]\n", label, what, done, sw->npoints, failed,
            sw->nkids, left ? eta : "0s");
    fflush(f);
}

/* A point's first attempt continues from the checkpoint an interrupted
 * or killed sweep left in its folder; a retry starts afresh, in case it
 * was the checkpoint that made the first attempt fail. */
static int resumable(const exp_sweep_point *pt, const char *folder)
{
    char run_path[1200], ck[1300];
    snprintf(run_path, sizeof run_path, "%s/run.h5", folder);
    exp_ckpt_path(run_path, ck, sizeof ck);
    return pt->attempts == 0 && access(ck, F_OK) == 0;
}

/* argv of a point's child; strings point into sets/own, which the caller keeps. */
static int child_argv(const exp_sweeper *sw, const exp_sweep_point *pt, char **argv,
                      char (*own)[EXP_SWEEP_VALUE_LEN + 128], char *name, size_t name_n,
                      const char *exe, int resume)
{
    const exp_sweep_opts *o = sw->o;
    int n = 0;
    argv[n++] = (char *)exe;
    argv[n++] = "run";
    argv[n++] = (char *)o->config;
    for (int i = 0; i < o->nsets; i++) {
        argv[n++] = "--set";
        argv[n++] = o->sets[i];
    }
    for (int i = 0; i < sw->spec->naxes; i++) {
        const exp_sweep_axis *a = &sw->spec->axes[i];
        snprintf(own[i], EXP_SWEEP_VALUE_LEN + 128, "%s=%s", a->key, a->values[pt->value[i]]);
        argv[n++] = "--set";
        argv[n++] = own[i];
    }
    snprintf(name, name_n, "experiment.name=%s", pt->hash);
    argv[n++] = "--set";
    argv[n++] = name;
    argv[n++] = "--out";
    argv[n++] = (char *)sw->dir;
    if (resume)
        argv[n++] = "--resume";
    argv[n] = NULL;
    return n;
}

int exp_sweep_launch(exp_sweeper *sw, long p, const sigset_t *orig, qa_err *err)
{
    exp_sweep_point *pt = &sw->pts[p];
    char folder[1100], log_path[1200], name[64];
    snprintf(folder, sizeof folder, "%s/%s", sw->dir, pt->hash);
    /* the point of a killed sweep may still be closing its run file (it was
     * sent SIGTERM): wait for it rather than fail the point */
    int lock, rc = exp_dir_claim_wait(folder, "a run", 60.0, &lock, err);
    exp_dir_release(lock);
    if (rc)
        return rc;
    snprintf(log_path, sizeof log_path, "%s/log.txt", folder);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", log_path, strerror(errno));
    const char *exe = sw->o->exe ? sw->o->exe : "/proc/self/exe";
    char **argv = malloc((size_t)(2 * sw->o->nsets + 2 * sw->spec->naxes + 10) * sizeof *argv);
    char (*own)[EXP_SWEEP_VALUE_LEN + 128] = malloc(EXP_SWEEP_MAX_AXES * sizeof *own);
    char **env = exp_dist_child_env(); /* a child is no rank of this job */
    if (!argv || !own || !env) {
        close(fd);
        free(argv);
        free(own);
        free(env);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory starting a point");
    }
    int argc = child_argv(sw, pt, argv, own, name, sizeof name, exe, resumable(pt, folder));
    char when[32];
    h5log_now(when, sizeof when);
    dprintf(fd, "== %s attempt %d:", when, pt->attempts + 1);
    for (int i = 1; i < argc; i++)
        dprintf(fd, " %s", argv[i]);
    dprintf(fd, "\n");
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a killed sweep leaves no orphans training */
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0)
            dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        sigprocmask(SIG_SETMASK, orig, NULL);
        execve(exe, argv, env);
        dprintf(2, "qadapt sweep: cannot execute %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(fd);
    free(argv);
    free(own);
    free(env);
    if (pid < 0)
        return qa_fail(err, QA_ERR_IO, "cannot start a process: %s", strerror(errno));
    pt->attempts++;
    pt->rank = exp_dist_rank();
    sw->kids[sw->nkids++] = (exp_sweep_child){pid, p, exp_now(), pt->rank};
    return QA_OK;
}

static int stopping(const exp_sweeper *sw)
{
    return sw->o->stop && *sw->o->stop;
}

/* A child ended: read its run file, retry once, update the index. */
static int finished(exp_sweeper *sw, int k, int wstatus, qa_err *err)
{
    exp_sweep_child c = sw->kids[k];
    sw->kids[k] = sw->kids[--sw->nkids];
    exp_sweep_point *pt = &sw->pts[c.point];
    double secs = exp_now() - c.start;
    exp_sweep_read_point(sw->dir, pt);
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    char msg[160], where[32] = "";
    if (exp_dist_size() > 1)
        snprintf(where, sizeof where, " on rank %d", c.rank);
    if (pt->status == EXP_POINT_COMPLETE) {
        sw->run_seconds += secs;
        sw->run_done++;
        if (!isnan(pt->m.test_acc))
            snprintf(msg, sizeof msg, "complete%s in %.1fs, test acc %.2f%%", where, secs,
                     100 * pt->m.test_acc);
        else
            snprintf(msg, sizeof msg, "complete%s in %.1fs", where, secs);
    } else if (stopping(sw)) {
        pt->status = EXP_POINT_INTERRUPTED;
        snprintf(msg, sizeof msg, "interrupted");
    } else {
        pt->status = EXP_POINT_FAILED;
        if (pt->attempts < 2)
            sw->queue[--sw->qhead] = c.point;
        snprintf(msg, sizeof msg, "failed%s (exit %d, see its log.txt)%s", where, code,
                 pt->attempts < 2 ? ", retrying once" : "");
    }
    progress(sw, pt, msg);
    return exp_sweep_write_index(sw->dir, sw->spec, sw->pts, sw->npoints, err);
}

void exp_sweep_forward(exp_sweeper *sw, int level)
{
    if (level <= sw->forwarded)
        return;
    sw->forwarded = level;
    for (int k = 0; k < sw->nkids; k++)
        if (sw->kids[k].pid > 0)
            kill(sw->kids[k].pid, SIGINT);
    if (sw->o->progress && level == 1)
        fprintf(sw->o->progress, "sweep: stopping %d running point(s) (Ctrl-C again: at once)\n",
                sw->nkids);
}

/* Rank 0's loop: start points where there is room, reap local children
 * and other ranks' reports, forward a Ctrl-C. */
static int loop(exp_sweeper *sw, const sigset_t *orig, qa_err *err)
{
    int rc = QA_OK, rank;
    for (;;) {
        while (!rc && !stopping(sw) && sw->qhead < sw->qtail &&
               (rank = exp_sweep_pick_rank(sw, sw->queue[sw->qhead])) >= 0) {
            long p = sw->queue[sw->qhead++];
            rc = rank == 0 ? exp_sweep_launch(sw, p, orig, err)
                           : exp_sweep_send_point(sw, p, rank, err);
        }
        if (stopping(sw)) {
            int rc2 = exp_sweep_send_stop(sw, err);
            rc = rc ? rc : rc2;
            exp_sweep_forward(sw, *sw->o->stop);
        }
        int reaped = 0, st, k;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            for (k = 0; k < sw->nkids; k++)
                if (sw->kids[k].rank == 0 && sw->kids[k].pid == pid) {
                    int rc2 = finished(sw, k, st, err);
                    rc = rc ? rc : rc2;
                    reaped = 1;
                    break;
                }
        }
        while ((k = exp_sweep_take_end(sw, &st)) >= 0) {
            int rc2 = finished(sw, k, st, err);
            rc = rc ? rc : rc2;
            reaped = 1;
        }
        if (sw->nkids == 0 && (rc || stopping(sw) || sw->qhead == sw->qtail))
            return rc;
        if (!reaped && sw->nkids > 0) {
            if (exp_dist_size() > 1)
                exp_sweep_nap(orig);
            else
                sigsuspend(orig);
        }
    }
}

static int sweep_dir(exp_sweeper *sw, qa_err *err)
{
    if (sw->o->out_dir) {
        snprintf(sw->dir, sizeof sw->dir, "%s", sw->o->out_dir);
        return QA_OK;
    }
    /* [experiment] out_dir / name of the base config: the axes cannot change them */
    exp_config *c = malloc(sizeof *c);
    if (!c)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the config");
    char sets[EXP_SWEEP_MAX_AXES][EXP_SWEEP_VALUE_LEN + 128];
    char **all = malloc((size_t)(sw->o->nsets + EXP_SWEEP_MAX_AXES) * sizeof *all);
    int rc = all ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "out of memory for the config");
    if (!rc) {
        exp_sweep_point_sets(sw->spec, 0, sets, NULL);
        for (int i = 0; i < sw->o->nsets; i++)
            all[i] = sw->o->sets[i];
        for (int i = 0; i < sw->spec->naxes; i++)
            all[sw->o->nsets + i] = sets[i];
        rc = exp_config_load(c, sw->o->config, all, sw->o->nsets + sw->spec->naxes, err);
    }
    if (!rc)
        snprintf(sw->dir, sizeof sw->dir, "%s/%s", c->experiment.out_dir, c->experiment.name);
    free(all);
    free(c);
    return rc;
}

static void count(const exp_sweeper *sw, exp_sweep_result *res)
{
    res->points = sw->npoints;
    for (long p = 0; p < sw->npoints; p++) {
        const exp_sweep_point *pt = &sw->pts[p];
        res->complete += pt->status == EXP_POINT_COMPLETE;
        res->skipped += pt->skipped;
        res->failed += pt->status == EXP_POINT_FAILED;
        res->interrupted += pt->status == EXP_POINT_INTERRUPTED;
        res->pending += pt->status == EXP_POINT_PENDING;
    }
}

static int prepare(exp_sweeper *sw, exp_sweep_spec *spec, qa_err *err)
{
    const exp_sweep_opts *o = sw->o;
    int rc = exp_sweep_parse(spec, o->config, err);
    if (!rc && !spec->line)
        rc = qa_fail(err, QA_ERR_CONFIG, "%s has no [sweep] section: nothing to sweep (qadapt "
                                         "run trains one config)", o->config);
    if (!rc && spec->naxes == 0)
        rc = qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] has no axes (section.key = v1, v2, ...)",
                     o->config, spec->line);
    if (rc)
        return rc;
    sw->pts = malloc((size_t)spec->npoints * sizeof *sw->pts);
    sw->queue = malloc((size_t)(spec->npoints + 1) * 2 * sizeof *sw->queue);
    sw->kids = malloc((size_t)o->jobs * (size_t)exp_dist_size() * sizeof *sw->kids);
    if (!sw->pts || !sw->queue || !sw->kids)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for %ld points", spec->npoints);
    rc = exp_sweep_resolve(spec, o->sets, o->nsets, sw->pts, &sw->npoints, err);
    if (!rc)
        rc = sweep_dir(sw, err);
    /* one sweep per folder: two ran every point twice and raced on the index;
     * rank 0 alone holds it, reads and writes the sweep's state */
    if (!rc && exp_dist_rank() == 0)
        rc = exp_dir_claim(sw->dir, "a sweep", &sw->lock_fd, err);
    if (rc || exp_dist_rank() > 0)
        return rc;
    /* the queue has room for one retry per point in front of its head */
    sw->qhead = sw->qtail = sw->npoints;
    for (long p = 0; p < sw->npoints; p++) {
        exp_sweep_read_point(sw->dir, &sw->pts[p]);
        sw->pts[p].skipped = sw->pts[p].status == EXP_POINT_COMPLETE;
        if (!sw->pts[p].skipped)
            sw->queue[sw->qtail++] = p;
    }
    if (o->progress)
        fprintf(o->progress, "sweep: %ld points in %s (%d axes), %ld complete already, %ld to run "
                             "with %d job%s on each of %d rank%s\n",
                sw->npoints, sw->dir, spec->naxes, sw->npoints - (sw->qtail - sw->qhead),
                sw->qtail - sw->qhead, o->jobs, o->jobs == 1 ? "" : "s", exp_dist_size(),
                exp_dist_size() == 1 ? "" : "s");
    return exp_sweep_write_index(sw->dir, spec, sw->pts, sw->npoints, err);
}

/* Runs the prepared sweep: rank 0's loop (the only process's), or another
 * rank's service; SIGCHLD, SIGINT and SIGTERM are blocked outside waits. */
static int execute(exp_sweeper *sw, qa_err *err)
{
    struct sigaction sa, old_chld;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_child;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, &old_chld);
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &orig);
    int rc = exp_dist_rank() ? exp_sweep_serve(sw, &orig, err) : loop(sw, &orig, err);
    sigprocmask(SIG_SETMASK, &orig, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    if (exp_dist_rank() > 0)
        return rc;
    qa_err e2 = {0};
    int rc2 = exp_sweep_write_index(sw->dir, sw->spec, sw->pts, sw->npoints, &e2);
    if (!rc && rc2) {
        *err = e2;
        rc = rc2;
    }
    return rc;
}

int exp_sweep_run(const exp_sweep_opts *o, exp_sweep_result *res, qa_err *err)
{
    memset(res, 0, sizeof *res);
    if (o->jobs < 1)
        return qa_fail(err, QA_ERR_ARG, "--jobs must be at least 1 (got %d)", o->jobs);
    exp_sweeper sw = {.o = o, .t0 = exp_now(), .lock_fd = -1};
    exp_sweep_spec *spec = malloc(sizeof *spec);
    sw.spec = spec;
    int rc = spec ? prepare(&sw, spec, err) : qa_fail(err, QA_ERR_NOMEM, "out of memory");
    if (!rc)
        rc = execute(&sw, err);
    if (exp_dist_rank() == 0)
        exp_sweep_send_done();
    exp_dir_release(sw.lock_fd);
    snprintf(res->dir, sizeof res->dir, "%s", sw.dir);
    count(&sw, res);
    res->seconds = exp_now() - sw.t0;
    free(sw.pts);
    free(sw.queue);
    free(sw.kids);
    free(spec);
    if (!rc && stopping(&sw) && exp_dist_rank() == 0)
        rc = qa_fail(err, QA_ERR_INTERRUPTED, "interrupted: %ld points left; rerun the same "
                                              "command to continue", res->points - res->complete);
    return rc;
}
