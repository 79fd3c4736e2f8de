/* grid.h: the corruption grid evaluation ([eval] grid = true): the trained
 * model on the clean test set and on every (corruption, severity) cell of
 * [eval] grid_corruptions x grid_severities, written to the run file as
 *
 *   /eval/grid   one row per cell, clean first: corruption (name, "clean"),
 *                corruption_id (-1 clean), severity (0 clean), n, accuracy,
 *                loss (mean cross-entropy), bitops (mean per sample; NaN
 *                for a method that wraps the network without reporting its
 *                cost: method.h eval_cost), and
 *                w_bits, a_bits (mean width of each planned layer) for
 *                methods with planned layers; attributes clean_acc,
 *                clean_loss, clean_bitops, mean_corrupted_acc (over the
 *                corrupted cells), grid_seed, table, features, and mce,
 *                rel_mce (NaN without a reference), reference (path),
 *                reference_error ("" when fine).
 *
 * Every cell degrades test image i with the same key (i) and evaluation
 * round, keyed on [eval] grid_seed rather than the run's seed: every run of
 * a comparison sees identical corrupted images, whatever its seed, batch or
 * thread count. Features (for methods that read them) are those of the
 * run's [env] features mode, computed on the cell's images.
 *
 * mCE (Hendrycks & Dietterich 2019) against the reference run file's grid
 * (e.g. the fp32 run): CE_c = sum_s E(c,s) / sum_s E_ref(c,s) and relative
 * CE_c = sum_s (E(c,s) - E_clean) / sum_s (E_ref(c,s) - E_ref_clean), E the
 * error rate, each averaged over the corruptions whose cells the reference
 * has.
 *
 * Deliberately not here: the corruptions (env/), training (run.c). */
#ifndef EXP_GRID_H
#define EXP_GRID_H

#include "nn/status.h"

typedef struct exp_run exp_run;

/* Evaluates r's model on the grid and writes /eval/grid to its run file.
 * The stop flag ends it early with QA_ERR_INTERRUPTED and nothing written. */
int exp_grid_run(exp_run *r, qa_err *err);
/* The grid's corruptions against the images' channels (saturate is the
 * identity on grey images) and [eval] reference (a run file with a grid):
 * at set-up, before training, as [env]'s are. */
int exp_grid_check(const exp_run *r, qa_err *err);

/* One grid's cells for mCE: n cells of (corruption id, severity,
 * accuracy), clean cells with id -1. */
typedef struct {
    const int *id, *sev;
    const double *acc;
    int n;
} exp_grid_cells;

typedef struct {
    double mce, rel; /* NaN when no corruption has all its cells in both grids */
    int nskipped;    /* corruptions left out of rel */
} exp_mce;

/* mCE and relative mCE of run against ref. A corruption the reference's
 * error does not rise on (its relative denominator is zero) is left out
 * of rel only: its id goes to skipped (room for run->n ids, may be NULL). */
exp_mce exp_grid_mce(const exp_grid_cells *run, const exp_grid_cells *ref, int *skipped);

#endif
