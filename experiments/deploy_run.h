/* deploy_run.h: a finished run's trained model as an integer model
 * (deploy/), for `qadapt export`, `qadapt eval --engine int` and `qadapt
 * infer`'s run-file input.
 *
 * The run is restored from its checkpoint (run.h: resume, eval_only,
 * inspect), so the network, quantizers and policy are exactly those the
 * run evaluated; the method's deploy hook (methods.h) says what the
 * integer model is made of, and deploy/lower.h builds it.
 *
 * Deliberately not here: the model file and engine (deploy/), argument
 * parsing (the commands). */
#ifndef EXP_DEPLOY_RUN_H
#define EXP_DEPLOY_RUN_H

#include "agent/policy.h"
#include "deploy/qam.h"
#include "experiments/run.h"
#include "quant/qnet.h"

struct exp_deploy {
    const q_net *qn;
    const agent_policy *pol;     /* NULL: fixed widths */
    int feat_mode;               /* env_feat_mode the policy reads */
    int fixed_w[Q_MAX_LAYERS], fixed_a[Q_MAX_LAYERS]; /* per planned layer */
};

/* The config stored in run file `run` with `--set` overrides sets[0..n). */
int exp_run_config_load(const char *run, char *const *sets, int nsets, exp_config *cfg,
                        qa_err *err);
/* Restores the finished run `run` (config overrides sets[0..n)) and calls
 * fn(r, ctx, err) on it; the run file is left as it was. */
int exp_deploy_inspect(const char *run, char *const *sets, int nsets,
                       int (*fn)(exp_run *r, void *ctx, qa_err *err), void *ctx, qa_err *err);
/* The integer model of the restored run r. */
int exp_deploy_lower(exp_run *r, dep_model *m, qa_err *err);

#endif
