/* phase.h: a method's epochs in three phases, and values annealed over the
 * middle one, as DQMQ sequences its training (and methods with a search
 * then a fine-tuning phase will):
 *
 *   warm-up   the first `warmup` epochs
 *   main      the epochs between
 *   fine-tune the last `finetune` epochs
 *
 * Progress t through the main phase runs over its optimizer steps, from 0
 * at its first step to 1 at its end (clamped outside it; 1 when it has no
 * step); a value annealed geometrically from a to b is a (b / a)^t.
 * Deliberately not here: what a phase does (the methods), the keys that
 * set the lengths (the methods' sections). */
#ifndef EXP_PHASE_H
#define EXP_PHASE_H

#include "nn/status.h"

typedef enum { EXP_PHASE_WARMUP, EXP_PHASE_MAIN, EXP_PHASE_FINETUNE } exp_phase;

typedef struct {
    int warmup, finetune; /* epochs */
} exp_phases;

/* An error naming the keys `section`.warmup and `section`.finetune when
 * they leave no main epoch of `epochs`. */
int exp_phases_check(const exp_phases *p, int epochs, const char *section, qa_err *err);
/* The phase of 0-based epoch `epoch` of `epochs`. */
exp_phase exp_phase_of(const exp_phases *p, int epoch, int epochs);
/* t in [0, 1] at optimizer step `step` (0-based) of a run of total_steps
 * with steps_per_epoch. */
double exp_phase_progress(const exp_phases *p, long step, long steps_per_epoch,
                          long total_steps);
/* from at t = 0 to to at t = 1, geometrically: from (to / from)^t. */
double exp_anneal_geometric(double from, double to, double t);

#endif
