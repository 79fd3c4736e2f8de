/* run.h: the run engine, config -> network -> epochs -> HDF5 run file, as
 * a library a driver calls (methods/registry.h's exp_run_main for one
 * config; a search runs many short ones in one process):
 *
 *   exp_run_open      load and split the data, build the model (the method
 *                     wraps it), the optimizer, the method's setup, the run
 *                     file; with opts->resume, the state of the checkpoint
 *                     (checkpoint.h). The widths a fixed-precision method
 *                     trains are the config's (quant.w_bits/a_bits, or a
 *                     plan per layer in quant.layer_bits): a driver supplies
 *                     a plan by the config it opens the run with.
 *   exp_run_train     the next n epochs with the method's steps: after each,
 *                     the test evaluation when due, one row of
 *                     /train/epochs (flushed) and the checkpoint.
 *   exp_run_evaluate  one pass of the method's eval step over the test or
 *                     validation set, told which (exp_eval, method.h).
 *   exp_run_close     after the last epoch the corruption grid ([eval]
 *                     grid), then the run file's status: complete,
 *                     interrupted (the stop flag was raised: the current
 *                     step finishes, the file is written and closed) or
 *                     failed (with the error, e.g. NaN/Inf in the loss or
 *                     gradients at epoch e, step s); frees the run.
 *   exp_run_discard   instead of close, for a run opened only to be read:
 *                     nothing recorded, the run file as it was.
 * Progress goes to opts->progress. exp_run is also what methods see
 * (method.h).
 * Deliberately not here: argument parsing and exit codes (cli/), the steps
 * of the methods (methods/), file formats (io/). */
#ifndef EXP_RUN_H
#define EXP_RUN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "experiments/io/h5log.h"
#include "experiments/run/batch.h"
#include "experiments/run/method.h"
#include "experiments/run/schema.h"
#include "nn/net.h"
#include "nn/optim.h"

#define EXP_MAX_PARAM_SETS 8
#define EXP_MAX_COLUMNS 64

/* A parameter set trained with its own optimizer: the backbone ("net") and
 * whatever methods register. The run checks their gradients every step. */
typedef struct {
    char name[32];
    nn_params *p;
    nn_optim *opt; /* owned by the run */
} exp_param_set;

typedef struct {
    const char *out_dir;        /* overrides [experiment] out_dir (--out), NULL: keep */
    const char *command;        /* the command line, stored in the run file */
    volatile sig_atomic_t *stop; /* raised by SIGINT/SIGTERM, NULL: none */
    FILE *progress;             /* progress lines, NULL: quiet */
    int resume;                 /* continue from ckpt.h5 next to the run file (checkpoint.h) */
    int eval_only;              /* qadapt eval of a finished run: with resume, train nothing
                                   and replace the run file only when the run completes */
    const char *run_path;       /* the run file wherever it is (qadapt eval), NULL:
                                   out_dir/experiment.name/run.h5 */
    void (*temp_file)(const char *path); /* told each file the run writes under a
                                   temporary name (run.h5.part, ckpt.h5.tmp), NULL: none */
    int no_test;                /* a driver's run that never sees the test set (the
                                   search's fine-tunes): no test evaluation after epochs */
    int read_only;              /* with resume and eval_only: a finished run opened to be
                                   read (qadapt export): its run file's content is rebuilt
                                   in memory only, nothing on disk is created or changed
                                   (nor its folder claimed), and closing it records nothing */
    int mirror;                 /* a rank > 0 of a data-parallel run (nn/par.h): trains in
                                   step with rank 0 but writes nothing: its run file in
                                   memory, no folder claimed, no checkpoint written or
                                   removed */
    int (*agree_stop)(int stop); /* data-parallel: every rank's stop flag combined (a
                                   collective), so that all ranks stop at the same step;
                                   NULL: this process's flag alone */
    int (*agree_open)(int rc, qa_err *err); /* data-parallel: every rank's set-up status
                                   combined (a collective, exp_dist_agree), so that a rank
                                   that failed alone does not leave the others waiting in
                                   their first exchange; NULL: this process's alone */
} exp_run_opts;

typedef enum { EXP_RUN_COMPLETE, EXP_RUN_INTERRUPTED, EXP_RUN_FAILED } exp_run_status;

/* What is at the run file's path once the run is closed. */
typedef enum {
    EXP_FILE_WRITTEN, /* this run's file, with its status */
    EXP_FILE_KEPT,    /* the file that was there before, left as it was: a run that failed
                         before training (or a failed qadapt eval) replaces nothing */
    EXP_FILE_NONE,    /* none: it could not be created, or not finished (disk full) */
} exp_run_file;

typedef struct {
    int status;          /* exp_run_status */
    int file;            /* exp_run_file */
    char path[1024];     /* the run file, "" when it could not be created */
    int epochs;          /* epochs completed */
    double test_acc, test_loss; /* of the last evaluation, NaN if none */
    double val_acc, val_loss;   /* of the validation split after the last epoch this
                                   process trained, NaN if none */
    double seconds;      /* wall time of the run */
} exp_run_result;

struct exp_run {
    const exp_config *cfg;
    const exp_run_opts *opts;
    uint64_t seed;
    data_set train_set, test_set;
    data_split split;             /* training / validation indices of train_set */
    data_loader train_loader, val_loader, test_loader;
    float mean[3], std[3];        /* input normalisation per channel */
    nn_net *net;
    nn_optim *opt;                /* the backbone's */
    nn_sched_cfg sched;
    long steps_per_epoch, total_steps;
    exp_batch batch;
    struct env_mix *env_train, *env_test; /* [env] (run_env.h); NULL when disabled */
    const exp_method *method;
    void *mstate;
    exp_param_set sets[EXP_MAX_PARAM_SETS];
    int nsets;
    h5log *log;
    int lock_fd;                  /* the run folder's lock (io/dirlock.h), -1: none */
    int started;                  /* set when setup is done: a failure from then on is
                                     recorded in the run file whatever it replaces */
    h5log_table *epochs;
    h5log_col cols[EXP_MAX_COLUMNS]; /* of /train/epochs, fixed when setup ends */
    int ncols, width;
    h5log_value *row;             /* (width) the current epoch's row */
    int epoch;                    /* 0-based, of the batch being trained */
    long step;                    /* optimizer steps taken */
    float lr;                     /* of the current step */
    double t_start;               /* monotonic seconds at the start */
};

/* Opens a run of cfg with method (both must outlive it). *out is the run
 * even when opening fails (NULL only without memory): pass it and the
 * status to exp_run_close, which records the failure in the run file. */
int exp_run_open(exp_run **out, const exp_config *cfg, const exp_method *method,
                 const exp_run_opts *opts, exp_run_result *res, qa_err *err);
/* Trains up to n more epochs (never past train.epochs); res follows the
 * epochs done and the last test metrics. Stops early, returning 0, when
 * the stop flag is raised. */
int exp_run_train(exp_run *r, int n, exp_run_result *res, qa_err *err);
/* One evaluation of the test (EXP_EVAL_TEST) or validation (EXP_EVAL_VAL)
 * set into *s; the method's eval step is told which. */
int exp_run_evaluate(exp_run *r, exp_eval_kind kind, exp_stats *s, qa_err *err);
/* The method's eval step (or the default) on a prepared batch, for ev. */
int exp_run_eval_step(exp_run *r, const exp_eval *ev, exp_batch *b, exp_stats *s, qa_err *err);
/* Ends the run: with rc 0 and every epoch trained, the corruption grid when
 * configured; then res->status and seconds, the run file closed under its
 * final name, r freed. Returns 0 when the run completed or was interrupted
 * (see res->status), a negative status when it failed; the run file then
 * says "failed" with the message when it could be created. */
int exp_run_close(exp_run *r, exp_run_result *res, int rc, qa_err *err);
/* Ends a run with nothing recorded: no grid, no status, the run file left
 * as it was (its temporary copy removed); frees r. For a driver that opens
 * a finished run (opts->resume, eval_only and read_only) to read its
 * restored state, e.g. the trained model qadapt export lowers. */
void exp_run_discard(exp_run *r);

/* For methods' setup hooks: a column of /train/epochs (count values per
 * row); returns the index of its first value in the row. */
int exp_run_add_column(exp_run *r, const char *name, h5log_type type, int count, qa_err *err);
/* The same for a float column, its index into *at; returns 0 or the error. */
int exp_run_add_f64(exp_run *r, const char *name, int count, int *at, qa_err *err);
/* For methods' setup hooks: params trained by an optimizer made here from
 * ocfg, owned and freed by the run; *opt (may be NULL) receives it. */
int exp_run_add_params(exp_run *r, const char *name, nn_params *p, const nn_optim_cfg *ocfg,
                       nn_optim **opt, qa_err *err);
/* 1 when the run should stop (the stop flag, agreed over ranks): the
 * engine and its drivers check it between steps. */
int exp_run_stopping(const exp_run *r);
/* NaN/Inf in loss or any registered gradient: QA_ERR_NUMERIC naming which. */
int exp_run_check_finite(const exp_run *r, double loss, qa_err *err);

/* Monotonic clock in seconds. */
double exp_now(void);

#endif
