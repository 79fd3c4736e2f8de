/* progress.c: progress lines. */
#include "experiments/run/progress.h"

#include <unistd.h>

void exp_fmt_duration(double s, char *buf, size_t n)
{
    long t = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

void exp_progress_start(exp_progress *p, const exp_run *r)
{
    p->f = r->opts->progress;
    p->tty = p->f && isatty(fileno(p->f));
    p->last = 0;
    p->open = 0;
}

void exp_progress_step(exp_progress *p, const exp_run *r, const exp_stats *s, double seconds)
{
    long in_epoch = r->step - (long)r->epoch * r->steps_per_epoch;
    int done = in_epoch == r->steps_per_epoch;
    if (!p->f || s->n == 0 || done || seconds - p->last < (p->tty ? 0.25 : 10.0))
        return;
    p->last = seconds;
    double run_s = exp_now() - r->t_start;
    char eta[32];
    exp_fmt_duration(run_s / (double)r->step * (double)(r->total_steps - r->step), eta, sizeof eta);
    fprintf(p->f, "%sepoch %d/%d  step %ld/%ld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %s%s",
            p->tty ? "\r" : "", r->epoch + 1, r->cfg->train.epochs, in_epoch, r->steps_per_epoch,
            s->loss_sum / (double)s->n, 100.0 * (double)s->correct / (double)s->n,
            (double)s->n / seconds, eta, p->tty ? "\033[K" : "\n");
    fflush(p->f);
    p->open = p->tty;
}

void exp_progress_end(exp_progress *p)
{
    if (p->open)
        fprintf(p->f, "\r\033[K");
    p->open = 0;
}

void exp_progress_epoch(const exp_run *r, const exp_stats *train, const exp_stats *test,
                        double seconds)
{
    FILE *f = r->opts->progress;
    if (!f || train->n == 0)
        return;
    char test_text[64] = "";
    if (test->n > 0)
        snprintf(test_text, sizeof test_text, "  test loss %.4f acc %.2f%%",
                 test->loss_sum / (double)test->n, 100.0 * (double)test->correct / (double)test->n);
    fprintf(f, "epoch %d/%d  train loss %.4f acc %.2f%%%s  lr %.4g  %.0f img/s  %.1fs\n",
            r->epoch + 1, r->cfg->train.epochs, train->loss_sum / (double)train->n,
            100.0 * (double)train->correct / (double)train->n, test_text, r->lr,
            (double)train->n / seconds, seconds);
    fflush(f);
}
