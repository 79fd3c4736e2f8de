/* acfg.h: the [agent] and [dqmq] configuration as agent/ and method dqmq
 * see it, independent of how it was read (experiments/methods/schema_agent.c
 * binds the INI keys and their help text to these fields).
 *
 * Deliberately not here: INI parsing, the per-layer plan (quant/plan.h). */
#ifndef AGENT_ACFG_H
#define AGENT_ACFG_H

#include "nn/status.h"

/* what the policy sees of an input */
typedef enum {
    AGENT_OBS_FEATURES, /* the environment's quality features (constant without [env]) */
    AGENT_OBS_ORACLE,   /* the true corruption (one-hot) and severity / 5 */
    AGENT_OBS_CONSTANT, /* one constant: a single plan for every input (static MPQ) */
} agent_obs_kind;

/* how the policy is updated */
typedef enum {
    AGENT_OPT_ANALYTIC,  /* gradient of the hybrid loss through the soft backbone */
    AGENT_OPT_CRITIC,    /* gradient of a learned model of the loss; hard backbone */
    AGENT_OPT_REINFORCE, /* score function with a moving-average baseline; hard backbone */
} agent_opt;

typedef enum { AGENT_SCHED_JOINT, AGENT_SCHED_ALTERNATE } agent_sched;

#define AGENT_ORACLE_NCORR 19 /* corruption ids 0..18 (env/corrupt.h), plus clean */

/* [agent]: the policy network (and the critic's), what it sees and how
 * its distributions are shaped */
typedef struct {
    int observation;        /* agent_obs_kind */
    int head;               /* agent_head (policy.h) */
    int hidden;             /* policy MLP width */
    float sigma_min, sigma_max; /* dqmq spread range (sigma_max: at the start of the main phase) */
    float mu_init;          /* dqmq initial location in bits, 0 = middle */
    float tau;              /* gumbel temperature at the start of the main phase */
    int critic_hidden;
} agent_cfg;

/* [dqmq]: DQMQ's training of that network: the estimator and its
 * objective, the phases and schedules, what is logged */
typedef struct {
    int optimizer;          /* agent_opt */
    int hard;               /* analytic: straight-through hard plans (drawn from p) */
    float lr;               /* policy Adam learning rate (constant) */
    float weight_decay;     /* policy AdamW decay */
    int cost;               /* agent_cost_kind (objective.h) */
    float lambda;           /* weight of the cost term */
    float target;           /* budget: mean BitOps / uniform-8-bit BitOps */
    int cost_argmax;        /* budget/target also cap the argmax plans' mean (objective.h) */
    int warmup;             /* epochs of random hard plans, backbone only */
    float warmup_sigma;     /* their spread around mu_init (bits); 0 = uniform over the widths */
    int finetune;           /* last epochs: backbone only, on the frozen policy's argmax plans */
    int schedule;           /* agent_sched */
    float sigma_end;        /* dqmq: sigma_max annealed to this at the last step */
    float tau_end;          /* gumbel: tau annealed to this at the last step */
    float critic_lr;
    float baseline_momentum; /* reinforce */
    double sample_rate;     /* fraction of training samples logged to /train/samples */
} agent_train_cfg;

/* rules inside each section */
int agent_cfg_check(const agent_cfg *c, qa_err *err);
int agent_train_cfg_check(const agent_train_cfg *c, qa_err *err);

#endif
