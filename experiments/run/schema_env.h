/* schema_env.h: the [env] section (the degradation environment) as bound
 * by the config schema, and its translation to env/'s mix config.
 *
 * Training batches are degraded by the mix with the epoch as round;
 * validation batches by the same mix with evaluation round 1; test batches
 * (test = mix) by the mix with evaluation round 0, over test_corruptions
 * when given, so the test set is one fixed degraded set for the whole run,
 * never sharing noise with training. Keys, defaults and help: schema_env.c. */
#ifndef EXP_SCHEMA_ENV_H
#define EXP_SCHEMA_ENV_H

#include "env/mix.h"
#include "experiments/config/config.h"

typedef enum { EXP_ENV_TEST_MIX = 0, EXP_ENV_TEST_CLEAN = 1 } exp_env_test;

typedef struct {
    int enabled;
    cfg_name_list corruptions;      /* corruption ids (corrupt.h) */
    cfg_int_list severities;
    cfg_num_list weights;           /* empty: equal */
    double clean_fraction;
    int table;                      /* env_table */
    int schedule;                   /* env_schedule */
    int features;                   /* env_feat_mode */
    int test;                       /* exp_env_test */
    cfg_name_list test_corruptions; /* empty: the training corruptions */
} exp_env_cfg;

extern const cfg_key exp_env_keys[];

/* The mix of training (test = 0) or of the test set (test = 1). */
void exp_env_mix_cfg(const exp_env_cfg *e, int test, env_mix_cfg *m);

#endif
