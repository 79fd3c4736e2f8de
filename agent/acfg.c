/* acfg.c: see acfg.h. */
#include "agent/acfg.h"

#include "agent/policy.h"

int agent_cfg_check(const agent_cfg *c, qa_err *err)
{
    if (c->head == AGENT_HEAD_DQMQ && c->sigma_max < c->sigma_min)
        return qa_fail(err, QA_ERR_CONFIG, "sigma_max = %g is below sigma_min = %g",
                       (double)c->sigma_max, (double)c->sigma_min);
    return QA_OK;
}

int agent_train_cfg_check(const agent_train_cfg *c, qa_err *err)
{
    if (c->optimizer != AGENT_OPT_ANALYTIC && c->hard)
        return qa_fail(err, QA_ERR_CONFIG,
                       "hard = true (straight-through) needs optimizer = analytic: critic and "
                       "reinforce already run sampled hard plans");
    return QA_OK;
}
