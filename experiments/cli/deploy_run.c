/* deploy_run.c: a finished run restored for the integer engine. */
#include "experiments/cli/deploy_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/kern.h"
#include "deploy/lower.h"
#include "experiments/cli/cmd_stop.h"
#include "experiments/cli/schema.h"
#include "experiments/methods/registry.h"
#include "nn/models.h"

int exp_kernel_arg(const char *kernel, qa_err *err)
{
    char names[200] = "";
    for (int i = 0; dep_kern_table[i]; i++) {
        if (strcmp(kernel, dep_kern_table[i]->name) == 0)
            return QA_OK;
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                 dep_kern_table[i]->name);
    }
    return qa_fail(err, QA_ERR_ARG, "--kernel %s: expected one of %s", kernel, names);
}

int exp_trained_open(exp_trained_run *t, const char *run, char *const *sets, int nsets,
                     FILE *progress, qa_err *err)
{
    memset(t, 0, sizeof *t);
    t->cfg = malloc(sizeof *t->cfg);
    if (!t->cfg)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the config");
    int rc = exp_config_load_run(t->cfg, run, sets, nsets, err);
    const exp_method *m = rc ? NULL : exp_method_get(t->cfg->experiment.method);
    if (!rc && !m)
        rc = qa_fail(err, QA_ERR_CONFIG, "%s: method %d is not in the method table", run,
                     t->cfg->experiment.method);
    if (rc)
        return rc;
    t->opts = (exp_run_opts){.run_path = run, .command = "qadapt (reading the run)",
                             .stop = exp_stop_flag(), .progress = progress, .resume = 1,
                             .eval_only = 1, .read_only = 1};
    exp_stop_on_signals();
    exp_run_result res;
    rc = exp_run_open(&t->r, t->cfg, m, &t->opts, &res, err);
    if (rc) {
        exp_run_discard(t->r);
        t->r = NULL;
    }
    return rc;
}

void exp_trained_close(exp_trained_run *t)
{
    exp_run_discard(t->r);
    free(t->cfg);
    memset(t, 0, sizeof *t);
}

int exp_trained_lower(exp_run *r, exp_deploy *d, dep_model *m, qa_err *err)
{
    memset(d, 0, sizeof *d);
    if (!r->method->deploy)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "method %s has no integer model: export a "
                       "quantized run (method fixed or dqmq)", r->method->name);
    int rc = r->method->deploy(r, r->mstate, d, err);
    if (rc)
        return rc;
    dep_lower_src s = {.net = r->net, .qn = d->qn, .pol = d->pol, .feat_mode = d->feat_mode,
                       .arch = nn_model_names()[r->cfg->model.arch],
                       .nclass = r->train_set.nclass, .mean = r->mean, .std = r->std,
                       .fixed_w = d->fixed_w, .fixed_a = d->fixed_a};
    return dep_lower(m, &s, err);
}
