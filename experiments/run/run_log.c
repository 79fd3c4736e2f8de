/* run_log.c: the run's HDF5 content. */
#include "experiments/run/run_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/io/dirlock.h"
#include "experiments/run/checkpoint.h"
#include "experiments/run/datasets.h"
#include "nn/blas.h"
#include "nn/par.h"

enum {
    COL_EPOCH, COL_STEP, COL_TRAIN_LOSS, COL_TRAIN_ACC, COL_TEST_LOSS, COL_TEST_ACC, COL_LR,
    COL_IMG_PER_S, COL_SECONDS, COL_ELAPSED, COL_VAL_LOSS, COL_VAL_ACC,
};

int exp_run_add_column(exp_run *r, const char *name, h5log_type type, int count, qa_err *err)
{
    if (r->epochs)
        return qa_fail(err, QA_ERR_ARG, "column %s: /train/epochs exists already (add columns "
                                        "in the method's setup)", name);
    if (r->ncols == EXP_MAX_COLUMNS || count < 1 || strlen(name) >= sizeof r->cols[0].name)
        return qa_fail(err, QA_ERR_ARG, "column %s: bad name or count %d, or more than %d columns",
                       name, count, EXP_MAX_COLUMNS);
    h5log_col *c = &r->cols[r->ncols++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->type = type;
    c->count = count;
    r->width += count;
    return r->width - count;
}

int exp_run_add_f64(exp_run *r, const char *name, int count, int *at, qa_err *err)
{
    int rc = exp_run_add_column(r, name, H5LOG_F64, count, err);
    *at = rc;
    return rc < 0 ? rc : QA_OK;
}

int exp_run_log_columns(exp_run *r, qa_err *err)
{
    static const char *const f64[] = {"train_loss", "train_acc", "test_loss", "test_acc", "lr",
                                      "img_per_s", "seconds", "elapsed"};
    int rc = exp_run_add_column(r, "epoch", H5LOG_I64, 1, err);
    if (rc >= 0)
        rc = exp_run_add_column(r, "step", H5LOG_I64, 1, err);
    for (size_t i = 0; rc >= 0 && i < sizeof f64 / sizeof f64[0]; i++)
        rc = exp_run_add_column(r, f64[i], H5LOG_F64, 1, err);
    if (rc >= 0 && r->split.nval > 0)
        rc = exp_run_add_column(r, "val_loss", H5LOG_F64, 1, err);
    if (rc >= 0 && r->split.nval > 0)
        rc = exp_run_add_column(r, "val_acc", H5LOG_F64, 1, err);
    return rc < 0 ? rc : QA_OK;
}

int exp_run_log_path(const exp_run *r, char *buf, size_t n, qa_err *err)
{
    const exp_experiment_cfg *e = &r->cfg->experiment;
    const char *dir = r->opts->out_dir ? r->opts->out_dir : e->out_dir;
    int w = r->opts->run_path ? snprintf(buf, n, "%s", r->opts->run_path)
                              : snprintf(buf, n, "%s/%s/run.h5", dir, e->name);
    if (w < 0 || (size_t)w >= n) {
        buf[0] = '\0';
        return r->opts->run_path
                   ? qa_fail(err, QA_ERR_ARG, "run file path %s is too long", r->opts->run_path)
                   : qa_fail(err, QA_ERR_ARG, "run file path %s/%s/run.h5 is too long", dir,
                             e->name);
    }
    return QA_OK;
}

/* The run folder claimed before the .part is created (another run would
 * truncate ours), and the files a second Ctrl-C removes made known. */
static int claim_folder(exp_run *r, const exp_run_result *res, qa_err *err)
{
    int rc = exp_dir_claim_for(res->path, "a run, qadapt eval or a sweep's point", &r->lock_fd,
                               err);
    if (rc || !r->opts->temp_file)
        return rc;
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.part", res->path);
    r->opts->temp_file(tmp);
    exp_ckpt_path(res->path, tmp, sizeof tmp - 4);
    strcat(tmp, ".tmp");
    r->opts->temp_file(tmp);
    return QA_OK;
}

int exp_run_log_open(exp_run *r, exp_run_result *res, qa_err *err)
{
    int rc = exp_run_log_path(r, res->path, sizeof res->path, err);
    int mem = r->opts->read_only || r->opts->mirror;
    if (!rc && !mem) /* qadapt export and a mirror write nothing: no claim */
        rc = claim_folder(r, res, err);
    if (!rc)
        rc = mem ? h5log_create_mem(&r->log, res->path, err)
                 : h5log_create(&r->log, res->path, err);
    if (rc) {
        res->path[0] = '\0';
        return rc;
    }
    char *text = NULL;
    cfg_doc d = exp_config_doc((exp_config *)r->cfg);
    rc = cfg_render(&d, &text, err);
    if (!rc)
        rc = h5log_write_config(r->log, &d, text, err);
    free(text);
    if (!rc)
        rc = h5log_attr_str(r->log, "/", "command", r->opts->command ? r->opts->command : "",
                            err);
    return rc;
}

int exp_run_log_describe(exp_run *r, qa_err *err)
{
    r->row = calloc((size_t)r->width, sizeof *r->row);
    if (!r->row)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for a row of %d values", r->width);
    double mean[3], std[3];
    for (int c = 0; c < r->train_set.c; c++) {
        mean[c] = r->mean[c];
        std[c] = r->std[c];
    }
    h5log *l = r->log;
    int rc = h5log_table_create(&r->epochs, l, "/train/epochs", r->cols, r->ncols, 64, 0, err);
    if (!rc)
        rc = h5log_attr_str(l, "/", "dataset", r->train_set.source, err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "train_images", r->split.ntrain, err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "val_images", r->split.nval, err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "test_images", r->test_loader.n, err);
    if (!rc)
        rc = h5log_attr_f64v(l, "/", "input_mean", mean, r->train_set.c, err);
    if (!rc)
        rc = h5log_attr_f64v(l, "/", "input_std", std, r->train_set.c, err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "params", (int64_t)nn_params_trainable(&r->net->params), err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "macs_per_sample", nn_net_macs(r->net), err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "threads", nn_par_threads(), err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "shares", nn_par_shares(), err);
    if (!rc)
        rc = h5log_attr_str(l, "/", "gemm", nn_blas_gemm(), err);
    if (!rc)
        rc = h5log_attr_str(l, "/", "blas", nn_blas_info(), err);
    return rc ? rc : h5log_flush(l, err);
}

static double mean_or_nan(double sum, long n)
{
    return n > 0 ? sum / (double)n : NAN;
}

void exp_run_log_row(exp_run *r, const exp_stats *train, const exp_stats *test,
                     const exp_stats *val, double seconds)
{
    h5log_value *row = r->row;
    row[COL_EPOCH].i = r->epoch + 1;
    row[COL_STEP].i = r->step;
    row[COL_TRAIN_LOSS].f = mean_or_nan(train->loss_sum, train->n);
    row[COL_TRAIN_ACC].f = mean_or_nan((double)train->correct, train->n);
    row[COL_TEST_LOSS].f = mean_or_nan(test->loss_sum, test->n);
    row[COL_TEST_ACC].f = mean_or_nan((double)test->correct, test->n);
    row[COL_LR].f = r->lr;
    row[COL_IMG_PER_S].f = seconds > 0 ? (double)train->n / seconds : NAN;
    row[COL_SECONDS].f = seconds;
    row[COL_ELAPSED].f = exp_now() - r->t_start;
    if (r->split.nval > 0) {
        row[COL_VAL_LOSS].f = mean_or_nan(val->loss_sum, val->n);
        row[COL_VAL_ACC].f = mean_or_nan((double)val->correct, val->n);
    }
}

int exp_run_log_append(exp_run *r, qa_err *err)
{
    int rc = h5log_table_append(r->epochs, r->row, 1, err);
    return rc ? rc : h5log_flush(r->log, err);
}

static int log_outcome(exp_run *r, const exp_run_result *res, qa_err *err)
{
    h5log *l = r->log;
    int rc = h5log_attr_i64(l, "/", "epochs_completed", res->epochs, err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "steps", r->step, err);
    if (!rc)
        rc = h5log_attr_f64(l, "/", "test_acc", res->test_acc, err);
    if (!rc)
        rc = h5log_attr_f64(l, "/", "test_loss", res->test_loss, err);
    if (!rc)
        rc = h5log_attr_f64(l, "/", "seconds", res->seconds, err);
    return rc;
}

/* A failed qadapt eval, or a run that failed before training (a refused
 * resume, data that cannot be loaded), replaces no run file that exists. */
static int keep_previous(const exp_run *r, const exp_run_result *res, int outcome_rc)
{
    if (r->opts->read_only || r->opts->mirror) /* read, or rank 0's to write */
        return 1;
    if (r->opts->eval_only)
        return res->status != EXP_RUN_COMPLETE || outcome_rc;
    return !r->started && access(res->path, F_OK) == 0;
}

int exp_run_log_close(exp_run *r, exp_run_result *res, int rc, qa_err *err)
{
    static const char *const status[] = {"complete", "interrupted", "failed"};
    res->file = EXP_FILE_NONE;
    if (!r->log)
        return rc;
    char msg[sizeof err->msg] = "";
    if (res->status == EXP_RUN_FAILED)
        snprintf(msg, sizeof msg, "%s", err->msg);
    else if (res->status == EXP_RUN_INTERRUPTED)
        snprintf(msg, sizeof msg, "interrupted at step %ld in epoch %d; %d epochs complete",
                 r->step, r->epoch + 1, res->epochs);
    qa_err e2 = {0};
    int rc2 = log_outcome(r, res, &e2);
    int rc3 = QA_OK;
    if (keep_previous(r, res, rc2)) {
        h5log_discard(r->log);
        res->file = EXP_FILE_KEPT;
    } else {
        rc3 = h5log_finish(r->log, status[res->status], msg, rc2 ? NULL : &e2);
        res->file = rc3 ? EXP_FILE_NONE : EXP_FILE_WRITTEN;
    }
    r->log = NULL;
    if (rc)
        return rc;
    if (rc2 || rc3) {
        *err = e2;
        return rc2 ? rc2 : rc3;
    }
    return QA_OK;
}
