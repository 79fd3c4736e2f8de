/* run.h: one training run, config -> network -> epochs -> HDF5 run file.
 *
 * exp_run_main does the whole run: load and split the data, build the
 * model (letting the method wrap it), train for the configured epochs with
 * the method's steps, evaluate, log one row per epoch to /train/epochs
 * (flushed every epoch) and close the run file with its status: complete,
 * interrupted (the stop flag was raised: the current step finishes, the
 * file is written and closed) or failed (with the error, e.g. NaN/Inf in
 * the loss or gradients at epoch e, step s). Progress goes to opts->progress.
 * After every epoch's row it writes the checkpoint; opts->resume continues
 * from it (checkpoint.h). exp_run is also what methods see (methods.h).
 * Deliberately not here: argument parsing and exit codes (main.c, cmd_run.c),
 * the steps of the methods, file formats. */
#ifndef EXP_RUN_H
#define EXP_RUN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "experiments/batch.h"
#include "experiments/h5log.h"
#include "experiments/methods.h"
#include "experiments/schema.h"
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
    /* with resume and eval_only: called on the restored run instead of
     * the grid (qadapt export, eval --engine int); the run file stays as
     * it was */
    int (*inspect)(exp_run *r, void *ctx, qa_err *err);
    void *inspect_ctx;
} exp_run_opts;

typedef enum { EXP_RUN_COMPLETE, EXP_RUN_INTERRUPTED, EXP_RUN_FAILED } exp_run_status;

typedef struct {
    int status;          /* exp_run_status */
    char path[1024];     /* the run file, "" when it could not be created */
    int epochs;          /* epochs completed */
    double test_acc, test_loss; /* of the last evaluation, NaN if none */
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
    h5log_table *epochs;
    h5log_col cols[EXP_MAX_COLUMNS]; /* of /train/epochs, fixed when setup ends */
    int ncols, width;
    h5log_value *row;             /* (width) the current epoch's row */
    int epoch;                    /* 0-based, of the batch being trained */
    long step;                    /* optimizer steps taken */
    float lr;                     /* of the current step */
    double t_start;               /* monotonic seconds at the start */
};

/* Runs cfg. Returns 0 when the run completed or was interrupted (see
 * res->status), a negative status when it failed; the run file then says
 * "failed" with the message when it could be created. */
int exp_run_main(const exp_config *cfg, const exp_run_opts *opts, exp_run_result *res,
                 qa_err *err);

/* For methods' setup hooks: a column of /train/epochs (count values per
 * row); returns the index of its first value in the row. */
int exp_run_add_column(exp_run *r, const char *name, h5log_type type, int count, qa_err *err);
/* For methods' setup hooks: params trained by an optimizer made here from
 * ocfg, owned and freed by the run; *opt (may be NULL) receives it. */
int exp_run_add_params(exp_run *r, const char *name, nn_params *p, const nn_optim_cfg *ocfg,
                       nn_optim **opt, qa_err *err);
/* NaN/Inf in loss or any registered gradient: QA_ERR_NUMERIC naming which. */
int exp_run_check_finite(const exp_run *r, double loss, qa_err *err);

/* Monotonic clock in seconds. */
double exp_now(void);

#endif
