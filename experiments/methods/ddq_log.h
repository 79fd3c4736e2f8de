/* ddq_log.h: method ddq's state (method_ddq.c) and what it writes to the
 * run file (ddq_log.c):
 *   /train/epochs   qmethod.h's columns at the realised widths (bitops,
 *                   bitops_vs_fp32, bitops_vs_int8, weight_bytes; w_bits and
 *                   a_bits of each planned layer at the epoch's end), then
 *                   penalty (mean over the epoch's steps, 0 outside the main
 *                   phase), cost_ratio (r of the penalty's cost at the
 *                   epoch's end), target (r*), phase (0 warm-up, 1 main,
 *                   2 fine-tune)
 *   /train/ddq      a row every ddq.log_every steps and at each epoch's end:
 *                   epoch (1-based, the one being trained), step (optimizer
 *                   steps so far), cost_ratio, and per wrapped layer (the
 *                   order of /quant/layers, pinned ones included) w_bits,
 *                   a_bits (realised precision; 32 = not quantized) and
 *                   w_range, a_range (R; weights: the mean over channels)
 *   /quant/ddq_levels  after the last epoch, a row per wrapped layer: layer,
 *                   w_bits, a_bits, and w_levels, a_levels: 256 slots
 *                   (2^8) hold the levels as fractions of R (ascending;
 *                   signed data in [-1, 1), after ReLU in [0, 1)), NaN past
 *                   the 2^bits used
 * Deliberately not here: the steps and phases (method_ddq.c), the maths
 * (quant/ddq.h). */
#ifndef EXP_DDQ_LOG_H
#define EXP_DDQ_LOG_H

#include "experiments/methods/phase.h"
#include "experiments/methods/qmethod.h"
#include "quant/ddq.h"

typedef struct {
    exp_qmethod qm;        /* first: qmethod's hooks take this state */
    q_ddq_train_cfg cfg;   /* [ddq] */
    exp_phases phases;     /* ddq.warmup, ddq.finetune */
    q_penalty pen;         /* its target resolved (ddq.target_bits) */
    int n;                 /* wrapped layers */
    double pen_sum;        /* the epoch's penalties */
    long pen_steps;
    int c_pen, c_ratio, c_target, c_phase; /* /train/epochs columns */
    h5log_table *trace;    /* /train/ddq */
    h5log_table *levels;   /* /quant/ddq_levels */
    h5log_value *row;      /* one row of the wider of the two tables */
} ddq_state;

/* The cost ratio r of the penalty's cost at the realised widths; the
 * realised cost per sample into *cost and widths (by plan row) into wbits,
 * abits (nullable). */
double ddq_cost_ratio(const ddq_state *st, const nn_params *p, q_cost *cost, int *wbits,
                      int *abits);
/* In setup: the columns and both tables. */
int ddq_log_setup(exp_run *r, ddq_state *st, qa_err *err);
/* A row of /train/ddq for the parameters as they are after `step`
 * optimizer steps. */
int ddq_log_trace(exp_run *r, ddq_state *st, long step, qa_err *err);
/* The epoch's columns of /train/epochs. */
void ddq_log_row(exp_run *r, ddq_state *st, exp_phase ph, h5log_value *row);
/* /quant/ddq_levels: the final levels of every layer. */
int ddq_log_levels(exp_run *r, ddq_state *st, qa_err *err);

#endif
