/* metamix.h: method metamix's state, shared by its steps (method_metamix.c)
 * and its run-file output (metamix_log.c). Internal to those two files.
 *
 * Run-file output of method metamix:
 *   /train/epochs  the qmethod.h columns of the test evaluation's plan (the
 *                  held widths; weights at metamix.search_w_bits in the
 *                  search, at w_bits in weight training), plus phase (0
 *                  warm-up, 1 search, 2 weight training), cand_loss (K: the
 *                  mean weight step's loss per candidate, NaN otherwise),
 *                  arch_loss and cost_term (the architecture steps' mean
 *                  cross-entropy and penalty, NaN without), soft_, argmax_
 *                  and held_bitops_vs_int8 (the mixture's expected BitOps,
 *                  the argmax widths' and the held widths', weights at
 *                  w_bits, at the epoch's end), hold_moves, instability (L)
 *                  and instability_mean (the probe's, NaN with probe = 0),
 *                  weight_seconds and arch_seconds (time in the two steps)
 *   /train/arch    per epoch and planned layer: epoch, phase, layer, p_a
 *                  (K: the softmax over metamix.candidates; p_w too when
 *                  weights are searched), w_bits and a_bits (held), the
 *                  layer's instability and its input's channel-averaged
 *                  mean and sd under each candidate (K each); attributes
 *                  names (planned layers) and candidates
 * Both tables exist from setup on (checkpoints restore their rows). */
#ifndef EXP_METAMIX_H
#define EXP_METAMIX_H

#include "agent/metamix.h"
#include "experiments/methods/phase.h"
#include "experiments/methods/qmethod.h"
#include "experiments/run/run.h"
#include "quant/instab.h"

typedef struct {
    double cand_loss[Q_MAX_CAND]; /* sums over mean weight steps */
    long mean_steps;
    double arch_loss, cost;       /* sums over architecture steps */
    long arch_steps;
    double weight_s, arch_s;      /* seconds in each step */
} mm_sums;

typedef struct {
    exp_qmethod qm;        /* first: the grid's eval_cost hook reads it */
    exp_phases phases;     /* metamix.warmup, metamix.finetune */
    agent_mm_cfg cfg;      /* [metamix] */
    agent_metamix *ag;
    nn_optim *arch_opt;    /* owned by the run */
    q_instab *inst;
    int L, K, S;
    float *work;           /* (B) a pass's per-sample losses */
    float *bufsave;        /* (nbuf) the backbone's buffers around an architecture step */
    mm_sums sums;
    double *inst_l, *mean, *sd; /* (L), (L, K), (L, K) of the last probe */
    /* run file */
    int c_phase, c_cand, c_arch, c_cost, c_soft, c_argmax, c_held, c_moves, c_inst, c_imean;
    int c_wsec, c_asec;
    h5log_table *arch;
    h5log_value *arow;
} mm_state;

/* metamix_log.c */
int mm_log_setup(exp_run *r, mm_state *st, qa_err *err);
/* the probe's instability (all NaN with metamix.probe = 0) */
int mm_probe(exp_run *r, mm_state *st, qa_err *err);
/* the epoch's row and its /train/arch rows */
int mm_log_epoch(exp_run *r, mm_state *st, h5log_value *row, qa_err *err);

#endif
