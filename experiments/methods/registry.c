/* registry.c: the table of training methods (the built-in ones, then any
 * a program registers), and a config's run with its method. */
#include "experiments/methods/registry.h"

#include <math.h>
#include <string.h>

extern const exp_method exp_method_fp32;
extern const exp_method exp_method_fixed;
extern const exp_method exp_method_dqmq;
extern const exp_method exp_method_ddq;
extern const exp_method exp_method_metamix;
extern const exp_method exp_method_blockrep;

/* One line per method, defined in experiments/methods/method_<name>.c. */
static const exp_method *const methods[] = {
    &exp_method_fp32,
    &exp_method_fixed,
    &exp_method_dqmq,
    &exp_method_ddq,
    &exp_method_metamix,
    &exp_method_blockrep,
};

enum { NMETHODS = (int)(sizeof methods / sizeof methods[0]), NEXTRA = 8 };

/* exp_method_register's, after the table (a program's own methods) */
static const exp_method *extra[NEXTRA];
static int nextra;

const exp_method *exp_method_get(int i)
{
    if (i >= 0 && i < NMETHODS)
        return methods[i];
    return i >= NMETHODS && i < NMETHODS + nextra ? extra[i - NMETHODS] : NULL;
}

const char *exp_method_choice(int i)
{
    const exp_method *m = exp_method_get(i);
    return m ? m->name : NULL;
}

int exp_method_register(const exp_method *m, qa_err *err)
{
    for (int i = 0; exp_method_get(i); i++)
        if (strcmp(exp_method_get(i)->name, m->name) == 0)
            return qa_fail(err, QA_ERR_ARG, "method %s is registered already", m->name);
    if (nextra == NEXTRA)
        return qa_fail(err, QA_ERR_ARG, "method %s: at most %d methods beyond the table",
                       m->name, NEXTRA);
    extra[nextra++] = m;
    return QA_OK;
}

int exp_run_main(const exp_config *cfg, const exp_run_opts *opts, exp_run_result *res,
                 qa_err *err)
{
    const exp_method *m = exp_method_get(cfg->experiment.method);
    if (!m) {
        memset(res, 0, sizeof *res);
        res->test_acc = res->test_loss = NAN;
        return qa_fail(err, QA_ERR_CONFIG, "method %d is not in the method table",
                       cfg->experiment.method);
    }
    exp_run *r;
    int rc = exp_run_open(&r, cfg, m, opts, res, err);
    if (!rc)
        rc = exp_run_train(r, cfg->train.epochs, res, err);
    return exp_run_close(r, res, rc, err);
}
