/* method_blockrep.c: full-precision-guided QAT by block replacement
 * (docs/METHODS.md section 11). The student is method fixed's (its [quant]
 * widths and quantizers, columns and layer table, through fixed's own
 * hooks); quant/blockrep.h trains it with the intermediate models that mix
 * its blocks with a frozen fp32 teacher loaded from [blockrep] teacher.
 * This file sequences: the teacher built and loaded in setup, each step's
 * models drawn and trained and the backbone stepped, each test evaluation
 * through every model, and per epoch
 *   /train/epochs    fixed's columns and `objective` (the mean training
 *                    objective, intermediate terms included; train_loss
 *                    stays the student's cross-entropy)
 *   /train/blockrep  one row per model: epoch, model (0 the teacher,
 *                    1..M the intermediate models, M + 1 the student),
 *                    q_first, q_last (its quantized blocks, 1-based; 0 0
 *                    for the teacher), train_loss, train_acc, train_n (the
 *                    samples it was trained on this epoch; the teacher's
 *                    only when a KL term or single mode runs it),
 *                    test_loss, test_acc (NaN without an evaluation);
 *                    attributes blocks, mode, unit, models
 * and the teacher's digest in checkpoints, so a resume against another
 * teacher is refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/io/ckpt.h"
#include "experiments/methods/qmethod.h"
#include "experiments/run/datasets.h"
#include "experiments/run/method.h"
#include "experiments/run/pretrained.h"
#include "nn/models.h"

extern const exp_method exp_method_fixed;

enum { NSTAT = NN_MAX_BLOCKS + 2 };

typedef struct {
    void *fixed; /* method fixed's state (an exp_qmethod) */
    q_br_method_cfg cfg;
    nn_net *teacher;
    q_br *br;
    h5log_table *table;              /* /train/blockrep */
    q_br_stat tr[NSTAT], te[NSTAT];  /* this epoch's training and test sums per model */
    double objective, objective_n;   /* this epoch's objective sum and samples */
    int c_objective;
    int64_t digest;                  /* of the teacher's values and buffers */
} br_state;

static const char *arch_of(const exp_run *r)
{
    return nn_model_names()[r->cfg->model.arch];
}

static int br_create(exp_run *r, void **state, qa_err *err)
{
    br_state *st = calloc(1, sizeof *st);
    if (!st)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating method blockrep");
    *state = st;
    st->cfg = r->cfg->blockrep;
    if (!st->cfg.teacher[0])
        return qa_fail(err, QA_ERR_CONFIG, "blockrep.teacher is empty: name a finished fp32 "
                       "run of model.arch = %s on the same data (its run.h5 or ckpt.h5), e.g. "
                       "runs/fmnist-resnet20-fp32/run.h5 made by `qadapt run "
                       "configs/fmnist-resnet20-fp32.ini`", arch_of(r));
    return exp_method_fixed.create(r, &st->fixed, err);
}

static int br_wrap(exp_run *r, void *state, qa_err *err)
{
    return exp_method_fixed.wrap(r, ((br_state *)state)->fixed, err);
}

/* FNV-1a over the teacher's values and buffers */
static int64_t digest(const nn_params *p)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b[2] = {(const unsigned char *)p->w, (const unsigned char *)p->buf};
    size_t n[2] = {p->n * sizeof(float), p->nbuf * sizeof(float)};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < n[k]; i++)
            h = (h ^ b[k][i]) * 1099511628211ull;
    return (int64_t)h;
}

/* A refused teacher: the key and where it was set, and how to make one. */
static int teacher_error(const exp_run *r, int rc, qa_err *err)
{
    char where[300];
    exp_config_key_where(r->cfg, "blockrep", "teacher", where, sizeof where);
    if (rc == QA_ERR_IO && err)
        snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                 " (train the teacher first: `qadapt run` of a method fp32 config with "
                 "model.arch = %s and this [data], as configs/fmnist-resnet20-fp32.ini is for "
                 "resnet20 on Fashion-MNIST)",
                 arch_of(r));
    return qa_err_prefix(err, "%s: ", where);
}

/* The teacher: the student's architecture in fp32, the run's weights. */
static int load_teacher(exp_run *r, br_state *st, qa_err *err)
{
    const exp_config *c = r->cfg;
    const int *d = r->net->t[0].d;
    int rc = nn_model_build(&st->teacher, arch_of(r), r->net->max_batch, d[1], d[2], d[3],
                            nn_net_output_size(r->net), err);
    if (!rc)
        rc = nn_net_finalize(st->teacher, r->seed, err);
    exp_pretrained_want want = {arch_of(r), exp_dataset_choice(c->data.dataset), r->mean,
                                r->std, 0, 1};
    exp_pretrained_info in;
    if (!rc && (rc = exp_pretrained_load(st->teacher, st->cfg.teacher, &want, &in, err)) != 0)
        return teacher_error(r, rc, err);
    if (!rc && strcmp(in.method, "fp32") != 0)
        return teacher_error(r, qa_fail(err, QA_ERR_CONFIG, "%s is a run of method %s; the "
                                        "teacher must be full precision (method fp32)", in.ckpt,
                                        in.method), err);
    st->digest = rc ? 0 : digest(&st->teacher->params);
    if (!rc && r->opts->progress)
        fprintf(r->opts->progress, "blockrep: teacher %s (%d epochs)\n", in.ckpt, in.epochs);
    return rc;
}

/* /train/blockrep and its attributes */
static int log_table(exp_run *r, br_state *st, qa_err *err)
{
    static const char *const modes[2] = {"prefix", "single"}, *const units[2] = {"block",
                                                                                   "stage"};
    h5log_col cols[] = {{"epoch", H5LOG_I64, 1},      {"model", H5LOG_I64, 1},
                        {"q_first", H5LOG_I64, 1},    {"q_last", H5LOG_I64, 1},
                        {"train_loss", H5LOG_F64, 1}, {"train_acc", H5LOG_F64, 1},
                        {"train_n", H5LOG_I64, 1},    {"test_loss", H5LOG_F64, 1},
                        {"test_acc", H5LOG_F64, 1}};
    const char *path = "/train/blockrep";
    char names[NN_MAX_BLOCKS * 33] = "";
    for (int b = 0; b < st->br->nblocks; b++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", b ? "," : "",
                 st->br->blk[b].name);
    int rc = h5log_table_create(&st->table, r->log, path, cols, 9, 64, 0, err);
    if (!rc)
        rc = h5log_attr_str(r->log, path, "blocks", names, err);
    if (!rc)
        rc = h5log_attr_str(r->log, path, "mode", modes[st->cfg.br.mode], err);
    if (!rc)
        rc = h5log_attr_str(r->log, path, "unit", units[st->cfg.br.stages != 0], err);
    if (!rc)
        rc = h5log_attr_i64(r->log, path, "models", st->cfg.models, err);
    return rc;
}

static int br_setup(exp_run *r, void *state, qa_err *err)
{
    br_state *st = state;
    int rc = exp_method_fixed.setup(r, st->fixed, err);
    if (!rc)
        rc = load_teacher(r, st, err);
    if (!rc)
        rc = q_br_create(&st->br, r->net, st->teacher, arch_of(r), &st->cfg.br, err);
    if (!rc)
        rc = exp_run_add_f64(r, "objective", 1, &st->c_objective, err);
    if (!rc)
        rc = log_table(r, st, err);
    return rc;
}

/* the student's sums into the run's, from its entry's change */
static void student_stats(const q_br_stat *now, const q_br_stat *before, exp_stats *s)
{
    s->loss_sum += now->loss - before->loss;
    s->correct += now->correct - before->correct;
    s->n += now->n - before->n;
}

static int br_train_step(exp_run *r, void *state, exp_batch *b, exp_stats *s, qa_err *err)
{
    (void)err;
    br_state *st = state;
    unsigned char use[NN_MAX_BLOCKS + 1];
    float scale = q_br_select(st->br, st->cfg.models, r->seed, r->step, use);
    q_br_stat *self = &st->tr[st->br->nmodels + 1], before = *self;
    double obj = q_br_train(st->br, b->label, b->n, use, scale, st->tr, b->loss);
    nn_optim_step(r->opt, r->lr);
    student_stats(self, &before, s);
    st->objective += obj * b->n;
    st->objective_n += b->n;
    return QA_OK;
}

static int br_eval_step(exp_run *r, void *state, const exp_eval *ev, exp_batch *b, exp_stats *s,
                        qa_err *err)
{
    br_state *st = state;
    q_br_stat *self = &st->te[st->br->nmodels + 1], before = *self;
    if (ev->kind != EXP_EVAL_TEST || !st->cfg.eval_models) {
        exp_stats s0 = *s;
        int rc = exp_step_eval(r, b, s, err);
        if (ev->kind == EXP_EVAL_TEST) { /* the student's row of /train/blockrep */
            self->loss += s->loss_sum - s0.loss_sum;
            self->correct += s->correct - s0.correct;
            self->n += s->n - s0.n;
        }
        return rc;
    }
    unsigned char use[NN_MAX_BLOCKS + 1];
    q_br_select(st->br, 0, 0, 0, use);
    q_br_forward(st->br, b->label, b->n, use, 1.0f, 0, st->te, b->loss);
    student_stats(self, &before, s);
    return QA_OK;
}

static double mean_or_nan(double sum, long n)
{
    return n > 0 ? sum / (double)n : NAN;
}

/* one row per model; model k's quantized blocks by mode */
static int log_rows(const exp_run *r, br_state *st, qa_err *err)
{
    int nm = st->br->nmodels, single = st->cfg.br.mode == Q_BR_SINGLE;
    h5log_value rows[NSTAT * 9];
    for (int k = 0; k <= nm + 1; k++) {
        h5log_value *v = rows + 9 * k;
        const q_br_stat *tr = &st->tr[k], *te = &st->te[k];
        int student = k == nm + 1;
        v[0].i = r->epoch + 1;
        v[1].i = k;
        v[2].i = k == 0 ? 0 : single && !student ? k : 1;
        v[3].i = student ? st->br->nblocks : k;
        v[4].f = mean_or_nan(tr->loss, tr->n);
        v[5].f = mean_or_nan((double)tr->correct, tr->n);
        v[6].i = tr->n;
        v[7].f = mean_or_nan(te->loss, te->n);
        v[8].f = mean_or_nan((double)te->correct, te->n);
    }
    return h5log_table_append(st->table, rows, nm + 2, err);
}

/* "blockrep test acc: teacher 91.2 | M1 .. | student 84.0" (train when not tested) */
static void progress(const exp_run *r, const br_state *st)
{
    FILE *f = r->opts->progress;
    int nm = st->br->nmodels, test = st->te[nm + 1].n > 0;
    const q_br_stat *s = test ? st->te : st->tr;
    if (!f)
        return;
    fprintf(f, "blockrep %s acc:", test ? "test" : "train");
    for (int k = 0; k <= nm + 1; k++) {
        const char *sep = k == 1 || k == nm + 1 ? " |" : "";
        if (s[k].n == 0)
            fprintf(f, "%s -", sep);
        else if (k == 0 || k == nm + 1)
            fprintf(f, "%s %s %.2f", sep, k ? "student" : "teacher",
                    100.0 * (double)s[k].correct / (double)s[k].n);
        else
            fprintf(f, "%s M%d %.2f", sep, k, 100.0 * (double)s[k].correct / (double)s[k].n);
    }
    fprintf(f, "\n");
    fflush(f);
}

static int br_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err)
{
    br_state *st = state;
    int rc = exp_qmethod_epoch_end(r, st->fixed, row, err);
    row[st->c_objective].f = mean_or_nan(st->objective, (long)st->objective_n);
    if (!rc)
        rc = log_rows(r, st, err);
    progress(r, st);
    memset(st->tr, 0, sizeof st->tr);
    memset(st->te, 0, sizeof st->te);
    st->objective = st->objective_n = 0;
    return rc;
}

static int br_save(exp_run *r, void *state, exp_ckpt *ck, qa_err *err)
{
    (void)r;
    return exp_ckpt_put(ck, "teacher_digest", EXP_CKPT_I64, &((br_state *)state)->digest, 1, err);
}

static int br_load(exp_run *r, void *state, exp_ckpt *ck, qa_err *err)
{
    br_state *st = state;
    int64_t d = 0;
    int rc = exp_ckpt_get(ck, "teacher_digest", EXP_CKPT_I64, &d, 1, err);
    if (!rc && d != st->digest)
        rc = qa_fail(err, QA_ERR_CONFIG, "resume refused: the teacher %s holds other weights "
                     "than when the run started", st->cfg.teacher);
    (void)r;
    return rc;
}

static int br_eval_cost(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                        float *a)
{
    return exp_qmethod_eval_cost(r, ((br_state *)state)->fixed, b, bitops, w, a);
}

/* the teacher: a second network at the run's batch, run by every step */
static void br_memory(const exp_run *r, const void *state, size_t *bytes, size_t *sample)
{
    (void)r;
    const br_state *st = state;
    if (!st->teacher)
        return;
    *bytes += nn_net_bytes(st->teacher);
    *sample += nn_net_sample_bytes(st->teacher);
}

static void br_destroy(void *state)
{
    br_state *st = state;
    q_br_free(st->br);
    nn_net_free(st->teacher);
    if (st->fixed)
        exp_method_fixed.destroy(st->fixed);
    free(st);
}

/* the keys of qadapt report's config summary: method fixed's widths, the
 * teacher and the intermediate models */
static const char *const br_quant_keys[] = {"quant.w_quantizer", "quant.a_quantizer",
                                            "quant.w_bits",      "quant.a_bits",
                                            "quant.layer_bits",  "quant.first_bits",
                                            "quant.last_bits",   NULL};
static const char *const br_keys[] = {"blockrep.teacher", "blockrep.mode",      "blockrep.unit",
                                      "blockrep.models",  "blockrep.kl_weight", NULL};
static const exp_summary br_summary[] = {
    {"quant:   ", br_quant_keys}, {"blockrep:", br_keys}, {NULL, NULL}};

const exp_method exp_method_blockrep = {
    .name = "blockrep",
    .help = "QAT at method fixed's widths guided by a frozen fp32 teacher through "
            "intermediate models that replace its blocks ([blockrep])",
    .summary = br_summary,
    .create = br_create,
    .wrap = br_wrap,
    .setup = br_setup,
    .train_step = br_train_step,
    .eval_step = br_eval_step,
    .epoch_end = br_epoch_end,
    .destroy = br_destroy,
    .memory = br_memory,
    .save = br_save,
    .load = br_load,
    .eval_cost = br_eval_cost,
};
