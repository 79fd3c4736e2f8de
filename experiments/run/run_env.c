/* run_env.c: the run's mixes, made from [env] and applied to batches. */
#include "experiments/run/run_env.h"

#include "experiments/run/run.h"
#include "experiments/run/schema.h"
#include "experiments/run/schema_env.h"

/* evaluation rounds (env_round_eval tags) */
enum { ROUND_TEST = 0, ROUND_VAL = 1 };

int exp_env_open(exp_run *r, qa_err *err)
{
    const exp_env_cfg *e = &r->cfg->env;
    if (!e->enabled)
        return QA_OK;
    const data_set *ds = &r->train_set;
    /* the rules that need the images (saturate on grey), naming the keys */
    int rc = exp_env_check(r->cfg, ds->c, err);
    if (rc)
        return rc;
    env_mix_cfg m;
    exp_env_mix_cfg(e, 0, &m);
    rc = env_mix_create(&r->env_train, &m, r->seed, ds->h, ds->w, ds->c, err);
    if (!rc) {
        exp_env_mix_cfg(e, 1, &m);
        if (e->test == EXP_ENV_TEST_CLEAN) { /* clean images still get their features */
            m.ncorr = m.nweight = 0;
            m.clean_fraction = 1;
        }
        rc = env_mix_create(&r->env_test, &m, r->seed, ds->h, ds->w, ds->c, err);
    }
    return rc ? qa_err_prefix(err, "[env]: ") : QA_OK;
}

int exp_env_nfeat(const exp_run *r)
{
    return r->env_train ? env_mix_nfeat(r->env_train) : 0;
}

int exp_env_degrade(exp_run *r, exp_batch *b, int test, qa_err *err)
{
    env_mix *m = test ? r->env_test : r->env_train;
    if (!m)
        return QA_OK; /* clean, as staged; features stay zero */
    uint32_t round = b->train ? env_round_train((uint32_t)b->epoch)
                              : env_round_eval(test ? ROUND_TEST : ROUND_VAL);
    return env_mix_apply(m, b->px, b->n, b->index, round, b->corruption, b->severity,
                         b->features, err);
}

void exp_env_close(exp_run *r)
{
    env_mix_free(r->env_train);
    env_mix_free(r->env_test);
    r->env_train = r->env_test = NULL;
}
