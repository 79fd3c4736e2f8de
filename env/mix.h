/* mix.h: the mixed-quality sampler, clean images -> a batch of mixed quality.
 *
 * For each sample the mix draws whether it stays clean (probability
 * clean_fraction), else a corruption from the list with probability
 * proportional to its weight and a severity uniformly from the severity
 * list, then applies it (corrupt.h) in place and computes the sample's
 * features (quality.h). All of it is a pure function of (seed, key, round):
 * the key is the sample's dataset index, the round an epoch
 * (env_round_train) or an evaluation tag (env_round_eval). The draw uses
 * stream ENV_STREAM_MIX, the corruption its own stream per id, so a sample
 * gets the same bytes whatever the batch it is in, its position there or
 * the thread count.
 *
 * Schedules: `epoch` redraws corruption, severity and noise every training
 * round; `fixed` maps every training round to round 0, so a sample keeps its
 * corruption, severity and noise for the whole run (a fixed degraded data
 * set). Evaluation rounds are used as given by both.
 *
 * Samples are split over nn's thread pool (nn/par.h) with one corruption
 * scratch per thread, sized when the mix is made.
 * Deliberately not here: the corruptions (corrupt.h), the features
 * (quality.h), the config syntax (experiments/run/schema_env.c). */
#ifndef ENV_MIX_H
#define ENV_MIX_H

#include <stdint.h>

#include "env/corrupt.h"
#include "env/quality.h"
#include "nn/status.h"

typedef enum { ENV_SCHEDULE_FIXED = 0, ENV_SCHEDULE_EPOCH = 1 } env_schedule;

typedef struct {
    int ncorr;                        /* corruptions listed, >= 1 unless clean_fraction = 1 */
    int corr[ENV_NCORRUPTION];        /* their ids (available, no repeats) */
    double weight[ENV_NCORRUPTION];   /* >= 0, relative; nweight = 0: all equal */
    int nweight;                      /* 0 or ncorr */
    int nsev;                         /* severities listed, >= 1 */
    int sev[ENV_MAX_SEVERITY];        /* 1..5, no repeats */
    double clean_fraction;            /* 0..1 */
    env_table table;
    env_schedule schedule;
    env_feat_mode features;
} env_mix_cfg;

typedef struct env_mix env_mix;

/* Validates cfg for images (h, w, c) and makes per-thread scratch for
 * nn_par_threads() threads. A colour-only corruption (saturate) on grey
 * images is refused: it would log corrupted samples that are clean. */
int env_mix_create(env_mix **m, const env_mix_cfg *cfg, uint64_t seed, int h, int w, int c,
                   qa_err *err);
void env_mix_free(env_mix *m);
/* The fields a failed env_mix_check is about (bits), so a config reader
 * can say where the offending keys were set. */
enum {
    ENV_MIX_CORRUPTIONS = 1, /* ncorr, corr */
    ENV_MIX_WEIGHTS = 2,     /* nweight, weight */
    ENV_MIX_SEVERITIES = 4,  /* nsev, sev */
    ENV_MIX_CLEAN = 8,       /* clean_fraction */
    ENV_MIX_MODES = 16,      /* table, schedule, features */
};
/* The rules env_mix_create checks, for config checks that do not know the
 * images yet: c = 0 skips the colour-only test. On failure *fields (if not
 * NULL) gets the ENV_MIX_* bits of the fields at fault, else 0. */
int env_mix_check(const env_mix_cfg *cfg, int c, int *fields, qa_err *err);
/* features per sample (env_feat_count of the mode) */
int env_mix_nfeat(const env_mix *m);

/* The round the draws and noise of `round` use under the schedule. */
uint32_t env_mix_round(const env_mix *m, uint32_t round);
/* The (corruption, severity) sample key gets in round; ENV_CLEAN and 0 when clean. */
void env_mix_draw(const env_mix *m, uint32_t key, uint32_t round, int *corruption, int *severity);

/* Degrades px (n, h, w, c) in place: sample i with key keys[i] in round.
 * corruption/severity (n) receive the truth; features (n, nfeat) the
 * features of the degraded images (NULL, or nfeat = 0: none). */
int env_mix_apply(env_mix *m, uint8_t *px, int n, const int *keys, uint32_t round,
                  int *corruption, int *severity, float *features, qa_err *err);

#endif
