/* run.c: setting up a run (data, model, optimizer, method) and its epoch
 * loop. The run file's columns and rows are in run_log.c, progress lines in
 * progress.c. */
#include "experiments/run/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "experiments/io/dirlock.h"
#include "experiments/run/checkpoint.h"
#include "experiments/run/datasets.h"
#include "experiments/run/grid.h"
#include "experiments/run/memory.h"
#include "experiments/run/pretrained.h"
#include "experiments/run/progress.h"
#include "experiments/run/run_env.h"
#include "experiments/run/run_log.h"
#include "nn/blas.h"
#include "nn/models.h"
#include "nn/par.h"

double exp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int exp_run_add_params(exp_run *r, const char *name, nn_params *p, const nn_optim_cfg *ocfg,
                       nn_optim **opt, qa_err *err)
{
    if (r->nsets == EXP_MAX_PARAM_SETS)
        return qa_fail(err, QA_ERR_ARG, "parameter set %s: at most %d sets", name,
                       EXP_MAX_PARAM_SETS);
    exp_param_set *s = &r->sets[r->nsets];
    int rc = nn_optim_create(&s->opt, ocfg, p, err);
    if (rc)
        return qa_err_prefix(err, "optimizer of %s: ", name);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->p = p;
    r->nsets++;
    if (opt)
        *opt = s->opt;
    return QA_OK;
}

int exp_run_check_finite(const exp_run *r, double loss, qa_err *err)
{
    if (!isfinite(loss))
        return qa_fail(err, QA_ERR_NUMERIC, "NaN or Inf detected: the training loss is %s",
                       isnan(loss) ? "NaN" : loss > 0 ? "+Inf" : "-Inf");
    for (int i = 0; i < r->nsets; i++) {
        const nn_params *p = r->sets[i].p;
        for (int v = 0; v < p->nviews; v++) {
            const float *g = nn_params_grad(p, v);
            float sum = 0; /* NaN and Inf survive a sum */
            for (size_t j = 0; g && j < p->views[v].n; j++)
                sum += g[j] * 0.0f;
            if (!isfinite(sum))
                return qa_fail(err, QA_ERR_NUMERIC, "NaN or Inf detected in the gradient of %s %s",
                               r->sets[i].name, p->views[v].name);
        }
    }
    return QA_OK;
}

/* Mean and std per channel, in the units data_image_to_float takes. */
static int run_normalization(exp_run *r, qa_err *err)
{
    const exp_data_cfg *dc = &r->cfg->data;
    int c = r->train_set.c;
    double mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    if (dc->normalize == EXP_NORM_DATASET)
        data_channel_stats(&r->train_set, r->split.train, r->split.ntrain, mean, std);
    if (dc->normalize == EXP_NORM_FIXED) {
        if (dc->mean.n != c)
            return qa_fail(err, QA_ERR_CONFIG,
                           "data.mean and data.std have %d values but the images have %d "
                           "channels",
                           dc->mean.n, c);
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = dc->mean.v[ch];
            std[ch] = dc->std.v[ch];
        }
    }
    for (int ch = 0; ch < c; ch++) {
        r->mean[ch] = (float)mean[ch];
        r->std[ch] = std[ch] > 1e-6 ? (float)std[ch] : 1.0f; /* a constant channel */
    }
    return QA_OK;
}

static int run_loaders(exp_run *r, qa_err *err)
{
    const exp_config *c = r->cfg;
    int ntrain = c->data.limit ? (c->data.limit < r->train_set.n ? c->data.limit : r->train_set.n)
                               : r->train_set.n;
    int ntest = c->data.test_limit && c->data.test_limit < r->test_set.n ? c->data.test_limit
                                                                        : r->test_set.n;
    int ebatch = c->eval.batch ? c->eval.batch : c->train.batch;
    data_loader_cfg tl = {c->train.batch, c->train.drop_last, 1, r->seed};
    data_loader_cfg el = {ebatch, 0, 0, r->seed};
    int rc = data_split_make(&r->split, ntrain, c->data.val_fraction, r->seed, err);
    if (!rc)
        rc = data_loader_init(&r->train_loader, r->split.train, r->split.ntrain, &tl, err);
    if (!rc && r->split.nval > 0)
        rc = data_loader_init(&r->val_loader, r->split.val, r->split.nval, &el, err);
    if (!rc)
        rc = data_loader_init(&r->test_loader, NULL, ntest, &el, err);
    if (rc) { /* config values the data cannot meet (fewer images than a batch) */
        qa_err_prefix(err, "%s: ", r->train_set.source);
        if (err && rc == QA_ERR_ARG)
            err->code = QA_ERR_CONFIG;
        return rc == QA_ERR_ARG ? QA_ERR_CONFIG : rc;
    }
    r->steps_per_epoch = data_loader_batches(&r->train_loader);
    if (c->train.epoch_steps > 0 && c->train.epoch_steps < r->steps_per_epoch)
        r->steps_per_epoch = c->train.epoch_steps;
    r->total_steps = r->steps_per_epoch * c->train.epochs;
    return run_normalization(r, err);
}

static int run_data(exp_run *r, qa_err *err)
{
    const exp_data_cfg *dc = &r->cfg->data;
    int rc = exp_dataset_load(dc->dataset, dc->dir, dc->folder_side, &r->train_set,
                              &r->test_set, err);
    if (rc)
        return rc;
    if (r->test_set.h != r->train_set.h || r->test_set.w != r->train_set.w ||
        r->test_set.c != r->train_set.c || r->test_set.nclass != r->train_set.nclass)
        return qa_fail(err, QA_ERR_FORMAT, "%s and %s differ in image shape or classes",
                       r->train_set.source, r->test_set.source);
    return run_loaders(r, err);
}

static int run_optimizer(exp_run *r, qa_err *err)
{
    static const int opt_type[] = {[EXP_OPT_SGD] = NN_OPT_SGD, [EXP_OPT_ADAMW] = NN_OPT_ADAMW};
    static const int sched_type[] = {[EXP_SCHED_CONST] = NN_SCHED_CONST,
                                     [EXP_SCHED_COSINE] = NN_SCHED_COSINE,
                                     [EXP_SCHED_STEP] = NN_SCHED_STEP};
    const exp_train_cfg *t = &r->cfg->train;
    nn_optim_cfg oc = {.type = opt_type[t->optimizer], .lr = t->lr, .momentum = t->momentum,
                       .nesterov = t->nesterov, .weight_decay = t->weight_decay,
                       .beta1 = t->beta1, .beta2 = t->beta2, .eps = t->eps};
    r->sched = (nn_sched_cfg){.type = sched_type[t->schedule], .base_lr = t->lr,
                              .warmup_steps = (long)t->warmup * r->steps_per_epoch,
                              .step_size = (long)t->step_epochs * r->steps_per_epoch,
                              .gamma = t->gamma};
    int rc = nn_sched_check(&r->sched, err);
    if (!rc)
        rc = exp_run_add_params(r, "net", &r->net->params, &oc, &r->opt, err);
    return rc;
}

const char *const exp_gemm_names[] = {"auto", "avx512", "avx2", "portable", "openblas", NULL};

/* the compute threads and the GEMM, before anything is built */
static int run_threads(const exp_config *c, qa_err *err)
{
    long n = c->experiment.threads;
    if (n == 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    int rc = nn_blas_select(exp_gemm_names[c->experiment.gemm], err);
    if (!rc)
        rc = nn_par_set_threads(n > NN_PAR_MAX_THREADS ? NN_PAR_MAX_THREADS : (int)n, err);
    return rc ? rc : nn_par_set_shares(c->experiment.shares, err);
}

/* [model] pretrained: the run's weights before training (a resume takes
 * them from its checkpoint instead). Only the architecture's own views
 * must match; a method's (quantizer steps) may be on one side only. */
static int run_pretrained(exp_run *r, qa_err *err)
{
    const exp_config *c = r->cfg;
    if (!c->model.pretrained[0] || r->opts->resume)
        return QA_OK;
    exp_pretrained_want want = {nn_model_names()[c->model.arch],
                                exp_dataset_choice(c->data.dataset), r->mean, r->std, 1, 1};
    exp_pretrained_info in;
    int rc = exp_pretrained_load(r->net, c->model.pretrained, &want, &in, err);
    if (rc && access(c->model.pretrained, F_OK) != 0 && err) /* say how to make it */
        snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                 " (train that run first: `qadapt run` of a config with model.arch = %s and "
                 "this [data], e.g. configs/fmnist-resnet20-fp32.ini for resnet20 on "
                 "Fashion-MNIST)", want.arch);
    char where[400];
    exp_config_key_where(c, "model", "pretrained", where, sizeof where);
    if (rc)
        return qa_err_prefix(err, "%s: ", where);
    if (r->opts->progress)
        fprintf(r->opts->progress, "pretrained start: %d parameter views from %s (method %s, "
                "%d epochs); %d of this network's views not in it%s%s\n", in.loaded, in.ckpt,
                in.method, in.epochs, in.missing, in.missing ? ", the first " : "",
                in.first_missing);
    return QA_OK;
}

/* Build (the method may wrap), finalize, pretrained weights, optimizer,
 * method setup. */
static int run_model(exp_run *r, qa_err *err)
{
    const exp_config *c = r->cfg;
    const char *arch = nn_model_names()[c->model.arch];
    int ebatch = c->eval.batch ? c->eval.batch : c->train.batch;
    int max_batch = c->train.batch > ebatch ? c->train.batch : ebatch;
    int rc = run_threads(c, err);
    if (!rc)
        rc = exp_env_open(r, err); /* after the threads: one scratch per thread */
    if (!rc)
        rc = nn_model_build(&r->net, arch, max_batch, r->train_set.c, r->train_set.h,
                            r->train_set.w, r->train_set.nclass, err);
    if (!rc)
        rc = exp_batch_alloc(&r->batch, max_batch, r->train_set.h, r->train_set.w,
                             r->train_set.c, exp_env_nfeat(r), err);
    if (!rc && r->method->wrap)
        rc = r->method->wrap(r, r->mstate, err);
    if (!rc) {
        r->net->init = (nn_init_scheme)r->cfg->model.init;
        rc = nn_net_finalize(r->net, r->seed, err);
    }
    if (!rc)
        rc = run_pretrained(r, err);
    if (!rc)
        rc = run_optimizer(r, err);
    if (!rc)
        rc = exp_run_log_columns(r, err);
    if (!rc && r->method->setup)
        rc = r->method->setup(r, r->mstate, err);
    return rc;
}

static int run_train_batch(exp_run *r, const int *idx, int n, exp_stats *s, qa_err *err)
{
    int rc = exp_batch_prepare(r, &r->batch, &r->train_set, idx, n, 1, err);
    r->lr = nn_sched_lr(&r->sched, r->step, r->total_steps);
    double before = s->loss_sum;
    if (!rc)
        rc = r->method->train_step ? r->method->train_step(r, r->mstate, &r->batch, s, err)
                                   : exp_step_train(r, &r->batch, s, err);
    if (!rc)
        rc = exp_run_check_finite(r, (s->loss_sum - before) / (n > 0 ? n : 1), err);
    if (rc)
        return qa_err_prefix(err, "epoch %d step %ld: ", r->epoch + 1, r->step + 1);
    r->step++;
    return QA_OK;
}

int exp_run_stopping(const exp_run *r)
{
    int stop = r->opts->stop && *r->opts->stop;
    return r->opts->agree_stop ? r->opts->agree_stop(stop) : stop;
}

/* One epoch: train.epoch_steps batches of the training loader, or a whole
 * pass; *seconds is its wall time. */
static int run_train_epoch(exp_run *r, exp_stats *s, double *seconds, qa_err *err)
{
    exp_progress pr;
    exp_progress_start(&pr, r);
    data_loader_start_epoch(&r->train_loader, r->epoch);
    double t0 = exp_now();
    const int *idx;
    int n, rc = QA_OK;
    for (long k = 0; rc == QA_OK && !exp_run_stopping(r) && k < r->steps_per_epoch &&
                     (n = data_loader_next(&r->train_loader, &idx)) > 0;
         k++) {
        rc = run_train_batch(r, idx, n, s, err);
        exp_progress_step(&pr, r, s, exp_now() - t0);
    }
    *seconds = exp_now() - t0;
    exp_progress_end(&pr);
    return rc;
}

int exp_run_evaluate(exp_run *r, exp_eval_kind kind, exp_stats *s, qa_err *err)
{
    data_loader *dl = kind == EXP_EVAL_VAL ? &r->val_loader : &r->test_loader;
    const data_set *ds = kind == EXP_EVAL_VAL ? &r->train_set : &r->test_set;
    const exp_eval ev = {.kind = kind};
    memset(s, 0, sizeof *s);
    data_loader_start_epoch(dl, 0);
    const int *idx;
    int n, rc = QA_OK;
    while (rc == QA_OK && !exp_run_stopping(r) && (n = data_loader_next(dl, &idx)) > 0) {
        rc = exp_batch_prepare(r, &r->batch, ds, idx, n, 0, err);
        if (!rc)
            rc = exp_run_eval_step(r, &ev, &r->batch, s, err);
    }
    return rc;
}

int exp_run_eval_step(exp_run *r, const exp_eval *ev, exp_batch *b, exp_stats *s, qa_err *err)
{
    return r->method->eval_step ? r->method->eval_step(r, r->mstate, ev, b, s, err)
                                : exp_step_eval(r, b, s, err);
}

static int run_epoch(exp_run *r, exp_run_result *res, qa_err *err)
{
    const exp_config *c = r->cfg;
    exp_stats tr = {0}, te = {0}, va = {0};
    double seconds;
    int rc = run_train_epoch(r, &tr, &seconds, err);
    int last = r->epoch + 1 == c->train.epochs;
    int eval = !r->opts->no_test &&
               (last || (c->eval.every > 0 && (r->epoch + 1) % c->eval.every == 0));
    if (!rc && eval && !exp_run_stopping(r))
        rc = exp_run_evaluate(r, EXP_EVAL_TEST, &te, err);
    if (!rc && r->split.nval > 0 && !exp_run_stopping(r))
        rc = exp_run_evaluate(r, EXP_EVAL_VAL, &va, err);
    if (rc || exp_run_stopping(r))
        return rc;
    if (te.n > 0) {
        res->test_loss = te.loss_sum / (double)te.n;
        res->test_acc = (double)te.correct / (double)te.n;
    }
    if (va.n > 0) {
        res->val_loss = va.loss_sum / (double)va.n;
        res->val_acc = (double)va.correct / (double)va.n;
    }
    exp_run_log_row(r, &tr, &te, &va, seconds);
    if (r->method->epoch_end)
        rc = r->method->epoch_end(r, r->mstate, r->row, err);
    if (!rc)
        rc = exp_run_log_append(r, err);
    if (!rc && !r->opts->mirror)
        rc = exp_ckpt_save(r, res, err);
    exp_progress_epoch(r, &tr, &te, seconds);
    res->epochs = r->epoch + 1;
    return rc;
}

static int run_open(exp_run *r, qa_err *err)
{
    int rc = run_data(r, err);
    if (!rc && (r->cfg->eval.grid || r->opts->eval_only))
        rc = exp_grid_check(r, err);
    if (!rc && r->method->create)
        rc = r->method->create(r, &r->mstate, err);
    if (!rc)
        rc = run_model(r, err);
    if (!rc) /* after the build (nn's arena is not touched yet), before any step */
        rc = exp_mem_check(r, err);
    return rc;
}

static void run_free(exp_run *r)
{
    if (r->method && r->method->destroy && r->mstate)
        r->method->destroy(r->mstate);
    for (int i = 0; i < r->nsets; i++)
        nn_optim_free(r->sets[i].opt);
    nn_net_free(r->net);
    exp_batch_free(&r->batch);
    exp_env_close(r);
    free(r->row);
    data_loader_free(&r->train_loader);
    data_loader_free(&r->val_loader);
    data_loader_free(&r->test_loader);
    data_split_free(&r->split);
    data_set_free(&r->train_set);
    data_set_free(&r->test_set);
}

/* --resume: the checkpoint is read and checked before the run file is
 * touched, so a refused resume changes nothing. */
static int run_resume_open(exp_run *r, exp_ckpt **ck, qa_err *err)
{
    char run_path[1024], path[1100];
    int rc = exp_run_log_path(r, run_path, sizeof run_path, err);
    exp_ckpt_path(run_path, path, sizeof path);
    return rc ? rc : exp_ckpt_open(ck, path, r->cfg, err);
}

/* After setup: the checkpoint's state into r, or for a fresh run the
 * removal of a previous run's checkpoint (a later --resume would take it). */
static int run_resume(exp_run *r, exp_ckpt *ck, exp_run_result *res, qa_err *err)
{
    char path[1100];
    exp_ckpt_path(res->path, path, sizeof path);
    if (!ck) {
        if (!r->opts->mirror)
            remove(path);
        return QA_OK;
    }
    int rc = exp_ckpt_restore(ck, r, res, err);
    if (!rc && r->opts->progress)
        fprintf(r->opts->progress, "resuming after epoch %d of %d from %s\n", res->epochs,
                r->cfg->train.epochs, path);
    return rc;
}

int exp_run_open(exp_run **out, const exp_config *cfg, const exp_method *method,
                 const exp_run_opts *opts, exp_run_result *res, qa_err *err)
{
    exp_run *r = *out = calloc(1, sizeof *r);
    memset(res, 0, sizeof *res);
    res->file = EXP_FILE_NONE;
    res->test_acc = res->test_loss = res->val_acc = res->val_loss = NAN;
    if (!r) {
        int rc = qa_fail(err, QA_ERR_NOMEM, "out of memory for a run");
        return opts->agree_open ? opts->agree_open(rc, err) : rc;
    }
    r->method = method;
    r->cfg = cfg;
    r->opts = opts;
    r->lock_fd = -1;
    r->seed = (uint64_t)cfg->experiment.seed;
    r->t_start = exp_now();
    exp_ckpt *ck = NULL;
    int rc = opts->resume ? run_resume_open(r, &ck, err) : QA_OK;
    if (!rc)
        rc = exp_run_log_open(r, res, err);
    if (!rc)
        rc = run_open(r, err);
    if (!rc)
        rc = exp_run_log_describe(r, err);
    if (!rc)
        rc = run_resume(r, ck, res, err);
    exp_ckpt_close(ck);
    if (opts->agree_open) /* before any step: the first exchange */
        rc = opts->agree_open(rc, err);
    if (!rc && opts->eval_only && res->epochs < cfg->train.epochs)
        rc = qa_fail(err, QA_ERR_CONFIG, "the run is not finished: its checkpoint has %d of "
                     "train.epochs = %d epochs (qadapt run --resume finishes it)",
                     res->epochs, cfg->train.epochs);
    r->started = !rc;
    return rc;
}

int exp_run_train(exp_run *r, int epochs, exp_run_result *res, qa_err *err)
{
    int end = res->epochs + epochs < r->cfg->train.epochs ? res->epochs + epochs
                                                          : r->cfg->train.epochs;
    int rc = QA_OK;
    for (r->epoch = res->epochs; !rc && r->epoch < end; r->epoch++) {
        rc = run_epoch(r, res, err);
        if (rc || exp_run_stopping(r))
            break; /* r->epoch stays the epoch that was stopped */
    }
    return rc;
}

/* After the last epoch: the corruption grid when [eval] asks for it; it is
 * all qadapt eval does, so an eval that did not reach it failed. */
static int run_finish(exp_run *r, const exp_run_result *res, qa_err *err)
{
    const exp_config *cfg = r->cfg;
    if (!exp_run_stopping(r) && res->epochs == cfg->train.epochs && cfg->eval.grid)
        return exp_grid_run(r, err);
    if (r->opts->eval_only)
        return qa_fail(err, QA_ERR_INTERRUPTED, "the grid evaluation was interrupted");
    return QA_OK;
}

int exp_run_close(exp_run *r, exp_run_result *res, int rc, qa_err *err)
{
    if (!r)
        return rc;
    if (!rc)
        rc = run_finish(r, res, err);
    res->seconds = exp_now() - r->t_start;
    res->status = rc                                    ? EXP_RUN_FAILED
                  : res->epochs < r->cfg->train.epochs ? EXP_RUN_INTERRUPTED
                                                        : EXP_RUN_COMPLETE;
    rc = exp_run_log_close(r, res, rc, err);
    exp_dir_release(r->lock_fd);
    run_free(r);
    free(r);
    return rc;
}

void exp_run_discard(exp_run *r)
{
    if (!r)
        return;
    if (r->log)
        h5log_discard(r->log);
    r->log = NULL;
    run_free(r);
    free(r);
}
