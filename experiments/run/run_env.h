/* run_env.h: the degradation environment inside a run ([env]).
 *
 * When [env] enabled is set the run holds two mixes (env/mix.h): the
 * training mix degrades training batches (round = epoch) and validation
 * batches (evaluation round 1); the test mix degrades test batches
 * (evaluation round 0), or only featurises them when test = clean. Features follow [env] features
 * and fill exp_batch's features; corruption and severity are always the
 * truth. Disabled, batches stay clean and carry no features.
 * Deliberately not here: the mix itself (env/), the keys (schema_env.c). */
#ifndef EXP_RUN_ENV_H
#define EXP_RUN_ENV_H

#include "nn/status.h"

typedef struct exp_run exp_run;
typedef struct exp_batch exp_batch;

/* Makes the run's mixes for its data (after the data is loaded). */
int exp_env_open(exp_run *r, qa_err *err);
/* features per sample of the run's batches */
int exp_env_nfeat(const exp_run *r);
/* Degrades and featurises a staged batch; test: it comes from the test set. */
int exp_env_degrade(exp_run *r, exp_batch *b, int test, qa_err *err);
void exp_env_close(exp_run *r);

#endif
