/* registry.c: the table of training methods, and a config's run with its
 * method. */
#include "experiments/methods/registry.h"

#include <math.h>
#include <string.h>

extern const exp_method exp_method_fp32;
extern const exp_method exp_method_fixed;
extern const exp_method exp_method_dqmq;

/* One line per method, defined in experiments/method_<name>.c. */
static const exp_method *const methods[] = {
    &exp_method_fp32,
    &exp_method_fixed,
    &exp_method_dqmq,
};

enum { NMETHODS = (int)(sizeof methods / sizeof methods[0]) };

const exp_method *exp_method_get(int i)
{
    return i >= 0 && i < NMETHODS ? methods[i] : NULL;
}

const char *exp_method_choice(int i)
{
    return i >= 0 && i < NMETHODS ? methods[i]->name : NULL;
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
    return exp_run_with(cfg, m, opts, res, err);
}
