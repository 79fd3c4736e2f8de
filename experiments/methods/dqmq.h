/* dqmq.h: method dqmq's state, shared by its steps (method_dqmq.c) and its
 * run-file output (dqmq_log.c). Internal to those two files.
 *
 * Run-file output of method dqmq:
 *   /train/epochs  the qmethod.h columns filled from the test evaluation
 *                  (realised per-sample hard plans: mean BitOps, vs fp32 and
 *                  8 bits, weight bytes, mean w_bits/a_bits per planned
 *                  layer; NaN in epochs without one), plus train_bitops_vs_int8
 *                  and train_w_bits/train_a_bits (expected under soft plans,
 *                  realised under hard ones), cost_term, critic_mse (NaN
 *                  unless optimizer = critic), policy_macs,
 *                  policy_macs_vs_backbone, sigma_max, tau, phase (0 warm-up,
 *                  1 policy, 2 fine-tuning)
 *   /train/samples per sample, subsampled by dqmq.sample_rate, and
 *   /eval/samples  per test sample of the final evaluation: epoch, index,
 *                  corruption (-1 clean), severity, features (the env's,
 *                  when it has any), p_w (and p_a untied: per planned layer
 *                  the K probabilities), w_bits, a_bits, loss, correct, bitops
 *   /eval/policy_grid  final evaluation per (corruption, severity): epoch,
 *                  n, accuracy, bitops_vs_int8, w_bits and a_bits per layer
 * All three tables exist from setup on (checkpoints restore their rows). */
#ifndef EXP_DQMQ_H
#define EXP_DQMQ_H

#include "agent/acfg.h"
#include "agent/dqmq.h"
#include "experiments/methods/phase.h"
#include "experiments/methods/qmethod.h"
#include "experiments/run/run.h"
#include "quant/qnet.h"

#define DQMQ_NCELL ((AGENT_ORACLE_NCORR + 1) * 6) /* (clean + corruptions) x severity 0..5 */

typedef struct {
    long n, correct;
    double bitops;
    double *w, *a; /* (L) sums of the widths */
} dqmq_cell;

typedef struct {
    agent_stats ag; /* the agent's: cost terms, critic errors */
    double rel;     /* sum of BitOps / uniform-8-bit BitOps */
    double bytes;   /* sum of weight bytes (evaluation) */
    long n, steps;
    double *w, *a;  /* (L) */
} dqmq_sums;

typedef struct {
    exp_qmethod qm;     /* first: the grid's eval_cost hook reads it */
    exp_phases phases;  /* dqmq.warmup, dqmq.finetune */
    agent_cfg acfg;     /* [agent] */
    agent_train_cfg tcfg; /* [dqmq] */
    agent_dqmq *ag;
    nn_optim *opt[AGENT_MAX_SETS]; /* of the agent's parameter sets (owned by the run) */
    int L, K, S;
    float *obs;       /* (B, nobs) the agent's observations of a batch */
    int *correct;     /* (B) */
    double *bitops;   /* (B) per-sample BitOps (expected when soft) */
    dqmq_sums tr, ev; /* training epoch and test evaluation */
    dqmq_cell cells[DQMQ_NCELL];
    double *cell_mem;
    /* run file */
    int c_tr_rel, c_tr_w, c_tr_a, c_cost, c_mse, c_pmacs, c_pfrac, c_sigma, c_tau, c_phase;
    h5log_table *tsamp, *esamp, *grid;
    int swidth;
    h5log_value *srow;
} dqmq_state;

/* dqmq_log.c */
int dqmq_log_setup(exp_run *r, dqmq_state *st, qa_err *err);
/* One sample's row to the training (eval = 0) or evaluation table; probs
 * NULL: uniform (warm-up). */
int dqmq_log_sample(exp_run *r, dqmq_state *st, const exp_batch *b, int i, int eval,
                    const float *probs, qa_err *err);
/* 1 when sample i of a training batch is logged (dqmq.sample_rate) */
int dqmq_log_keep(const exp_run *r, const dqmq_state *st, const exp_batch *b, int i);
void dqmq_log_row(exp_run *r, dqmq_state *st, h5log_value *row);
int dqmq_log_grid(exp_run *r, dqmq_state *st, qa_err *err);

#endif
