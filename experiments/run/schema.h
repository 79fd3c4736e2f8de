/* schema.h: the experiment config (exp_config) as the run engine sees it,
 * and the keys of the sections the run reads itself.
 *
 * exp_config holds one struct per section. The run's own sections ([data],
 * [model], [train], [eval], [env]) are bound here (schema.c, schema_env.c);
 * a module that owns a section (quant, agent) defines its struct in its own
 * header and its keys beside the code that reads them
 * (experiments/methods/sections.h); the table of all sections is
 * experiments/cli/schema.c, which binds every loaded config (c->schema), so
 * this layer renders and compares configs without knowing the methods.
 * Consistency rules inside a section go in the section's check function;
 * the run's rules across keys in exp_run_config_check.
 *
 * Deliberately not here: INI syntax and value parsing (config/config.h),
 * what the values do (run.c, the methods, the modules). */
#ifndef EXP_SCHEMA_H
#define EXP_SCHEMA_H

#include "agent/acfg.h"
#include "agent/haq.h"
#include "agent/metamix.h"
#include "experiments/config/config.h"
#include "experiments/run/schema_env.h"
#include "nn/status.h"
#include "quant/blockrep.h"
#include "quant/qcfg.h"

typedef struct {
    char name[64];     /* run name: the run file goes to out_dir/name/run.h5 */
    int seed;          /* the one seed every random stream is keyed on */
    char out_dir[512];
    int method;        /* index into the method registry (methods/registry.h) */
    int threads;       /* compute threads (nn_par), 0 = all online cores */
    int shares;        /* shares of every split sum (nn_par): fixes the rounding */
    int gemm;          /* index into exp_gemm_names: nn_blas_select's choice */
    char label[64];    /* the run's arm in a study's report; read by nothing else */
    char group[64];    /* the budget (or other group) it is compared within, idem */
    int memory_mb;     /* the most a run may take (run/memory.h); 0: what is available, -1: no check */
} exp_experiment_cfg;

/* experiment.gemm's values, NULL-terminated (nn/blas.h's names) */
extern const char *const exp_gemm_names[];

typedef enum { EXP_NORM_DATASET, EXP_NORM_FIXED, EXP_NORM_NONE } exp_norm;

typedef struct {
    int dataset;          /* index into the dataset table (datasets.h) */
    char dir[512];        /* "" = the dataset's default location */
    int folder_side;      /* dataset folder: images resized and cropped to this square */
    int limit;            /* use the first N training images, 0 = all */
    int test_limit;       /* evaluate on the first N test images, 0 = all */
    double val_fraction;  /* held out of training for validation */
    int normalize;        /* exp_norm */
    cfg_num_list mean, std; /* per channel, in [0, 1] pixel units (normalize = fixed) */
} exp_data_cfg;

typedef struct {
    int arch; /* index into nn's model table (nn/models.h) */
    int init; /* nn_init_scheme */
    char pretrained[512]; /* a finished run whose weights start this one (pretrained.h), "" = none */
} exp_model_cfg;

typedef enum { EXP_OPT_SGD, EXP_OPT_ADAMW } exp_optimizer;
typedef enum { EXP_SCHED_CONST, EXP_SCHED_COSINE, EXP_SCHED_STEP } exp_schedule;

typedef struct {
    int epochs;
    int epoch_steps;    /* steps per epoch (the first batches of its shuffle), 0 = a pass */
    int batch;
    int drop_last;      /* skip the final short batch of an epoch (as the peer does) */
    int optimizer;      /* exp_optimizer */
    float lr;
    float momentum;
    int nesterov;
    float weight_decay;
    float beta1, beta2, eps; /* AdamW */
    int schedule;       /* exp_schedule */
    int warmup;         /* epochs of linear warm-up */
    int step_epochs;    /* schedule = step: epochs between decays */
    float gamma;        /* schedule = step: decay factor */
} exp_train_cfg;

typedef struct {
    int batch; /* test batch, 0 = train.batch */
    int every; /* evaluate on the test set every N epochs (and after the last), 0 = last only */
    int grid;  /* the corruption grid after the last epoch (grid.h) */
    cfg_name_list grid_corruptions; /* corruption ids, empty = every available one */
    cfg_int_list grid_severities;
    int grid_seed;       /* of the grid's corruption noise, shared across runs */
    char reference[512]; /* run file whose grid mCE is measured against, "" = none */
} exp_eval_cfg;

typedef struct {
    exp_experiment_cfg experiment;
    exp_data_cfg data;
    exp_env_cfg env;    /* [env]: experiments/run/schema_env.c */
    exp_model_cfg model;
    q_cfg quant;        /* [quant]: experiments/methods/schema_quant.c */
    agent_cfg agent;    /* [agent]: experiments/methods/schema_agent.c */
    agent_train_cfg dqmq; /* [dqmq]: experiments/methods/schema_agent.c */
    q_ddq_train_cfg ddq;  /* [ddq]: experiments/methods/schema_ddq.c */
    agent_mm_cfg metamix; /* [metamix]: experiments/methods/schema_metamix.c */
    q_br_method_cfg blockrep; /* [blockrep]: experiments/methods/schema_blockrep.c */
    agent_haq_cfg search; /* [search]: experiments/search/schema_search.c (qadapt search) */
    exp_train_cfg train;
    exp_eval_cfg eval;
    cfg_trace trace; /* where each key was set */
    const cfg_schema *schema; /* what the config was bound with (exp_config_defaults) */
} exp_config;

/* The run's sections' keys (schema.c; [env]'s in schema_env.h). */
extern const cfg_key exp_data_keys[], exp_model_keys[], exp_train_keys[], exp_eval_keys[];

/* [env]'s rules (env_mix_check) for the training and the test mix, on
 * images of `channels` channels (0: not known yet, as when a config is
 * bound); messages name the offending keys and where they were set
 * (experiments/run/schema_env.c). */
int exp_env_check(const exp_config *c, int channels, qa_err *err);

/* Every key of schema at its default, c bound to it. */
int exp_config_reset(exp_config *c, const cfg_schema *schema, qa_err *err);
/* The binding of c to its schema (c->schema), for the cfg_* functions. */
cfg_doc exp_config_doc(exp_config *c);
/* The run's own rules across keys (train.warmup, normalisation, the run
 * name, the grid's corruptions, [env]); messages say where the keys were
 * set. The sections' own checks are the schema's (cli/schema.h). */
int exp_run_config_check(exp_config *c, qa_err *err);
/* "section.key (file:line)" -- or "(a --set argument)", "(the default)" --
 * into buf, for messages about a key's value. */
void exp_config_key_where(const exp_config *c, const char *section, const char *key, char *buf,
                          size_t n);

#endif
