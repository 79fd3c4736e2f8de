/* deploy_run.c: restoring a finished run for the integer engine. */
#include <stdlib.h>
#include <string.h>

#include "deploy/lower.h"
#include "experiments/cmd_stop.h"
#include "experiments/deploy_run.h"
#include "experiments/runfile.h"
#include "nn/models.h"

int exp_run_config_load(const char *run, char *const *sets, int nsets, exp_config *cfg,
                        qa_err *err)
{
    hid_t f;
    int rc = exp_rf_open_run(&f, run, err);
    if (rc)
        return rc;
    char *text = exp_rf_config(f);
    exp_rf_close(f);
    if (!text)
        return qa_fail(err, QA_ERR_FORMAT, "%s: no /config (not a qadapt run file)", run);
    char name[1100];
    rc = exp_config_defaults(cfg, err);
    cfg_doc d = exp_config_doc(cfg);
    snprintf(name, sizeof name, "%s:/config", run);
    if (!rc)
        rc = cfg_load_text(&d, text, name, err);
    for (int i = 0; !rc && i < nsets; i++)
        rc = cfg_set(&d, sets[i], err);
    if (!rc)
        rc = exp_config_check(cfg, err);
    free(text);
    return rc;
}

int exp_deploy_inspect(const char *run, char *const *sets, int nsets,
                       int (*fn)(exp_run *r, void *ctx, qa_err *err), void *ctx, qa_err *err)
{
    exp_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the config");
    int rc = exp_run_config_load(run, sets, nsets, cfg, err);
    exp_run_result res = {0};
    exp_run_opts opts = {.run_path = run, .command = "qadapt (inspect)", .stop = exp_stop_flag(),
                         .progress = NULL, .resume = 1, .eval_only = 1, .inspect = fn,
                         .inspect_ctx = ctx};
    if (!rc) {
        exp_stop_on_signals();
        rc = exp_run_main(cfg, &opts, &res, err);
    }
    free(cfg);
    return rc;
}

int exp_deploy_lower(exp_run *r, dep_model *m, qa_err *err)
{
    exp_deploy d;
    memset(&d, 0, sizeof d);
    if (!r->method->deploy)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "method %s has no integer model: export a "
                       "quantized run (method fixed or dqmq)", r->method->name);
    int rc = r->method->deploy(r, r->mstate, &d, err);
    if (rc)
        return rc;
    dep_lower_src s = {.net = r->net, .qn = d.qn, .pol = d.pol, .feat_mode = d.feat_mode,
                       .arch = nn_model_names()[r->cfg->model.arch],
                       .nclass = r->train_set.nclass, .mean = r->mean, .std = r->std,
                       .fixed_w = d.fixed_w, .fixed_a = d.fixed_a};
    return dep_lower(m, &s, err);
}
