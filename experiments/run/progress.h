/* progress.h: training progress for a person watching (stderr): epoch,
 * step, loss, accuracy, images/s and ETA, as one refreshing line on a
 * terminal and as a line every ten seconds otherwise, then one summary line
 * per epoch. Nothing here is part of the results (the run file is). */
#ifndef EXP_PROGRESS_H
#define EXP_PROGRESS_H

#include <stdio.h>

#include "experiments/run/run.h"

typedef struct {
    FILE *f;     /* NULL: quiet */
    int tty;
    double last; /* epoch seconds of the last line */
    int open;    /* a refreshing line is on screen */
} exp_progress;

void exp_progress_start(exp_progress *p, const exp_run *r);
/* After each step; seconds since the epoch started. */
void exp_progress_step(exp_progress *p, const exp_run *r, const exp_stats *s, double seconds);
void exp_progress_end(exp_progress *p);
/* s seconds as "42s", "3m07s" or "2h05m" (0s for negative, NaN or huge
 * values), for ETAs and elapsed times (the sweep's too). */
void exp_fmt_duration(double s, char *buf, size_t n);
/* The summary line of an epoch. */
void exp_progress_epoch(const exp_run *r, const exp_stats *train, const exp_stats *test,
                        double seconds);

#endif
