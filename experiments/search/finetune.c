/* finetune.c: see finetune.h. */
#include "experiments/search/finetune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/methods/qmethod.h"
#include "experiments/methods/registry.h"
#include "experiments/run/datasets.h"
#include "experiments/run/pretrained.h"
#include "nn/models.h"

struct exp_finetune {
    exp_config cfg; /* the search's, with the run's keys changed */
    exp_run_opts opts;
    char dir[1024];
};

static int method_index(const char *name)
{
    for (int i = 0; exp_method_choice(i); i++)
        if (strcmp(exp_method_choice(i), name) == 0)
            return i;
    QA_ASSERT(!"method missing from the registry");
    return -1;
}

int exp_finetune_create(exp_finetune **out, const exp_config *cfg, const char *dir,
                        volatile sig_atomic_t *stop, qa_err *err)
{
    exp_finetune *f = *out = calloc(1, sizeof *f);
    if (!f)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the search's runs");
    f->cfg = *cfg;
    snprintf(f->cfg.experiment.name, sizeof f->cfg.experiment.name, "finetune");
    f->cfg.eval.grid = 0;
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    f->opts = (exp_run_opts){.out_dir = f->dir, .command = "qadapt search: a fine-tune",
                             .stop = stop, .no_test = 1};
    return QA_OK;
}

void exp_finetune_free(exp_finetune *f)
{
    free(f);
}

/* A run of f->cfg's method with the pretrained parameters in its net. */
static int open_loaded(exp_finetune *f, exp_run **r, exp_run_result *res, qa_err *err)
{
    const exp_config *c = &f->cfg;
    int rc = exp_run_open(r, c, exp_method_get(c->experiment.method), &f->opts, res, err);
    if (!rc && (*r)->split.nval < 1)
        return qa_fail(err, QA_ERR_CONFIG,
                       "data.val_fraction = %g leaves no validation images: the search's "
                       "rewards are validation accuracies (never the test set's)",
                       c->data.val_fraction);
    if (rc)
        return rc;
    exp_pretrained_want want = {.arch = nn_model_names()[c->model.arch],
                                .dataset = exp_dataset_choice(c->data.dataset),
                                .mean = (*r)->mean, .std = (*r)->std, .missing_ok = 1};
    rc = exp_pretrained_load((*r)->net, c->search.pretrained, &want, NULL, err);
    return rc ? qa_err_prefix(err, "search.pretrained: ") : QA_OK;
}

static int stopped(const exp_finetune *f)
{
    return f->opts.stop && *f->opts.stop;
}

int exp_finetune_reference(exp_finetune *f, double *acc, q_cost_model *cm, qa_err *err)
{
    f->cfg.experiment.method = method_index("fp32");
    memset(cm, 0, sizeof *cm);
    exp_run *r;
    exp_run_result res;
    exp_stats s = {0};
    int rc = open_loaded(f, &r, &res, err);
    if (!rc)
        rc = exp_run_evaluate(r, EXP_EVAL_VAL, &s, err);
    if (!rc) {
        exp_qmethod qm; /* [quant] resolved as the fine-tunes' method resolves it */
        exp_qmethod_init(&qm, &f->cfg);
        const data_set *d = &r->train_set;
        rc = q_cost_model_build(cm, nn_model_names()[f->cfg.model.arch], d->c, d->h, d->w,
                                d->nclass, &qm.cfg, err);
    }
    rc = exp_run_close(r, &res, rc, err); /* trained nothing: "interrupted" */
    *acc = s.n ? (double)s.correct / (double)s.n : NAN;
    if (!rc && stopped(f))
        rc = qa_fail(err, QA_ERR_INTERRUPTED, "interrupted evaluating the pretrained run");
    if (rc)
        q_cost_model_free(cm);
    return rc;
}

int exp_finetune_plan(exp_finetune *f, const agent_haq_plan *p, exp_run_result *res,
                      qa_err *err)
{
    f->cfg.experiment.method = method_index("fixed");
    q_cfg *q = &f->cfg.quant;
    q->nlayer_bits = p->n;
    memcpy(q->layer_wbits, p->w, (size_t)p->n * sizeof *p->w);
    memcpy(q->layer_abits, p->a, (size_t)p->n * sizeof *p->a);
    exp_run *r;
    int rc = open_loaded(f, &r, res, err);
    if (!rc)
        rc = exp_run_train(r, f->cfg.train.epochs, res, err);
    return exp_run_close(r, res, rc, err);
}
