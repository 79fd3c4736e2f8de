/* batch.h: turning a list of dataset indices into network input.
 *
 *   dataset indices -> uint8 staging (n, h, w, c) -> [env/: per-sample
 *   degradation, true corruption and severity, quality features] -> float
 *   NCHW in nn_net_input, normalised with the run's mean/std.
 *
 * Every per-sample array is sized once for the largest batch; nothing is
 * allocated while training. Until an environment is configured the
 * corruption is -1 (clean), the severity 0 and there are no features.
 * Not here: which indices make a batch (data/loader.h), the degradations
 * themselves (env/). */
#ifndef EXP_BATCH_H
#define EXP_BATCH_H

#include <stdint.h>

#include "data/dataset.h"
#include "nn/status.h"

struct exp_batch {
    int cap;          /* samples the buffers hold */
    int n;            /* samples in the current batch */
    int h, w, c;      /* image shape */
    int nfeat;        /* quality features per sample, 0 without an environment */
    int train;        /* 1 for a training batch (the environment degrades those) */
    int epoch;        /* of the current batch */
    int *index;       /* (cap) dataset indices: the stable per-sample key */
    int *label;       /* (cap) */
    uint8_t *px;      /* (cap, h, w, c) staged pixels, degraded in place */
    int *corruption;  /* (cap) corruption id of the sample, -1 = clean */
    int *severity;    /* (cap) 0 = clean */
    float *features;  /* (cap, nfeat) quality features, NULL when nfeat = 0 */
    float *loss;      /* (cap) per-sample loss of the last step */
};

typedef struct exp_batch exp_batch;

int exp_batch_alloc(exp_batch *b, int cap, int h, int w, int c, int nfeat, qa_err *err);
void exp_batch_free(exp_batch *b);

/* Copies images idx[0..n) of ds and their labels into b, marked clean. */
void exp_batch_stage(exp_batch *b, const data_set *ds, const int *idx, int n, int train,
                     int epoch);
/* Staged pixels -> out (n, c, h, w) as (v / 255 - mean) / std per channel. */
void exp_batch_to_input(const exp_batch *b, const float *mean, const float *std, float *out);

typedef struct exp_run exp_run;
/* The whole preparation for run r: stage, degrade and featurise (when the
 * run has an environment, run_env.h; ds == &r->test_set takes the test
 * mix), convert into nn_net_input(r->net), epoch r->epoch. */
int exp_batch_prepare(exp_run *r, exp_batch *b, const data_set *ds, const int *idx, int n,
                      int train, qa_err *err);

#endif
