/* run_log.h: what a run writes to its HDF5 file (the columns of
 * /train/epochs, one row per epoch, the root attributes describing the run
 * and its outcome). Internal to run.c; methods use exp_run_add_column.
 *
 * /train/epochs columns: epoch (1-based), step (optimizer steps so far),
 * train_loss, train_acc (running over the epoch), test_loss, test_acc (NaN
 * when the epoch was not evaluated), lr (of the epoch's last step),
 * img_per_s (training), seconds (training time of the epoch), elapsed
 * (since the run started), then val_loss, val_acc when data.val_fraction > 0,
 * then the method's columns. */
#ifndef EXP_RUN_LOG_H
#define EXP_RUN_LOG_H

#include "experiments/run/run.h"

/* OUT_DIR/NAME/run.h5 of the run (out_dir: --out or [experiment] out_dir). */
int exp_run_log_path(const exp_run *r, char *buf, size_t n, qa_err *err);
/* Creates the run file with /config and the command line. */
int exp_run_log_open(exp_run *r, exp_run_result *res, qa_err *err);
/* The common columns, before the method adds its own. */
int exp_run_log_columns(exp_run *r, qa_err *err);
/* Creates /train/epochs and writes the data/model attributes. */
int exp_run_log_describe(exp_run *r, qa_err *err);
/* Fills the common values of r->row for the epoch just trained. */
void exp_run_log_row(exp_run *r, const exp_stats *train, const exp_stats *test,
                     const exp_stats *val, double seconds);
/* Appends r->row and flushes the file. */
int exp_run_log_append(exp_run *r, qa_err *err);
/* Writes the outcome (status, error, final metrics) and closes the file,
 * or discards it where it would replace a file it should not (res->file
 * says which). Returns rc (the run's own status) unless closing fails on a
 * good run. */
int exp_run_log_close(exp_run *r, exp_run_result *res, int rc, qa_err *err);

#endif
