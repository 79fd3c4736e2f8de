/* mix.c: per-sample draws, the parallel degrade-and-featurise pass. */
#include "env/mix.h"

#include <stdlib.h>
#include <string.h>

#include "nn/par.h"

typedef struct {
    env_work *ws;
    float *scratch; /* env_quality_scratch floats */
    int rc;
    qa_err err;
} mix_thread;

struct env_mix {
    env_mix_cfg cfg;
    uint64_t seed;
    int h, w, c, nfeat;
    double cum[ENV_NCORRUPTION]; /* cumulative normalised weights, last = 1 */
    int nt;
    mix_thread th[NN_PAR_MAX_THREADS];
};

/* The corruption list's own rules (ids, colour-only on grey, repeats) and
 * the weights; *fields gets the bits at fault. */
static int check_corruptions(const env_mix_cfg *cfg, int c, int *fields, qa_err *err)
{
    double total = 0;
    *fields = ENV_MIX_CORRUPTIONS;
    for (int i = 0; i < cfg->ncorr; i++) {
        int id = cfg->corr[i];
        const env_corruption_info *in = env_corruption_get(id);
        if (!in)
            return qa_fail(err, QA_ERR_ARG, "corruption id %d is unknown", id);
        if (!in->available)
            return qa_fail(err, QA_ERR_UNSUPPORTED,
                           "%s is optional in the reference (docs/CORRUPTIONS.md) and not implemented",
                           in->name);
        if (c && env_corruption_is_identity(id, c))
            return qa_fail(err, QA_ERR_ARG, "%s is the identity on %d-channel images: leave it "
                           "out of the mix", in->name, c);
        for (int k = 0; k < i; k++)
            if (cfg->corr[k] == id)
                return qa_fail(err, QA_ERR_ARG, "%s is listed twice (use weights instead)",
                               in->name);
        double wgt = cfg->nweight ? cfg->weight[i] : 1.0;
        *fields = ENV_MIX_WEIGHTS;
        if (!(wgt >= 0))
            return qa_fail(err, QA_ERR_ARG, "weight %g of %s is negative", wgt, in->name);
        *fields = ENV_MIX_CORRUPTIONS;
        total += wgt;
    }
    *fields = ENV_MIX_WEIGHTS;
    if (cfg->ncorr > 0 && !(total > 0))
        return qa_fail(err, QA_ERR_ARG, "the corruption weights sum to 0");
    *fields = 0;
    return QA_OK;
}

static int check_mix(const env_mix_cfg *cfg, int c, int *fields, qa_err *err)
{
    *fields = ENV_MIX_CLEAN;
    if (!(cfg->clean_fraction >= 0 && cfg->clean_fraction <= 1))
        return qa_fail(err, QA_ERR_ARG, "clean fraction %g is outside 0..1", cfg->clean_fraction);
    *fields = ENV_MIX_CORRUPTIONS | (cfg->ncorr < 1 ? ENV_MIX_CLEAN : 0);
    if (cfg->ncorr < (cfg->clean_fraction < 1) || cfg->ncorr > ENV_NCORRUPTION)
        return qa_fail(err, QA_ERR_ARG, "%d corruptions listed: expected 1..%d (or 0 with a clean "
                       "fraction of 1)", cfg->ncorr, ENV_NCORRUPTION);
    *fields = ENV_MIX_WEIGHTS | ENV_MIX_CORRUPTIONS;
    if (cfg->nweight != 0 && cfg->nweight != cfg->ncorr)
        return qa_fail(err, QA_ERR_ARG, "%d weights for %d corruptions: give one per corruption "
                       "or none (all equal)", cfg->nweight, cfg->ncorr);
    *fields = ENV_MIX_SEVERITIES;
    if (cfg->nsev < 1 || cfg->nsev > ENV_MAX_SEVERITY)
        return qa_fail(err, QA_ERR_ARG, "%d severities listed: expected 1..%d", cfg->nsev,
                       ENV_MAX_SEVERITY);
    *fields = ENV_MIX_MODES;
    if ((int)cfg->table < 0 || cfg->table >= ENV_NTABLE || (int)cfg->features < 0 ||
        cfg->features >= ENV_NFEAT_MODE ||
        (cfg->schedule != ENV_SCHEDULE_FIXED && cfg->schedule != ENV_SCHEDULE_EPOCH))
        return qa_fail(err, QA_ERR_ARG, "unknown table, schedule or feature mode");
    int rc = check_corruptions(cfg, c, fields, err);
    if (rc)
        return rc;
    *fields = ENV_MIX_SEVERITIES;
    for (int i = 0; i < cfg->nsev; i++) {
        if (cfg->sev[i] < 1 || cfg->sev[i] > ENV_MAX_SEVERITY)
            return qa_fail(err, QA_ERR_ARG, "severity %d is outside 1..%d (clean images come "
                           "from the clean fraction)", cfg->sev[i], ENV_MAX_SEVERITY);
        for (int k = 0; k < i; k++)
            if (cfg->sev[k] == cfg->sev[i])
                return qa_fail(err, QA_ERR_ARG, "severity %d is listed twice", cfg->sev[i]);
    }
    *fields = 0;
    return QA_OK;
}

int env_mix_check(const env_mix_cfg *cfg, int c, int *fields, qa_err *err)
{
    int f;
    int rc = check_mix(cfg, c, &f, err);
    if (fields)
        *fields = rc ? f : 0;
    return rc;
}

int env_mix_create(env_mix **out, const env_mix_cfg *cfg, uint64_t seed, int h, int w, int c,
                   qa_err *err)
{
    *out = NULL;
    if (h < ENV_MIN_SIDE || w < ENV_MIN_SIDE || (c != 1 && c != 3))
        return qa_fail(err, QA_ERR_ARG, "mixed-quality images of %dx%dx%d: expected c = 1 or 3 "
                       "and sides >= %d", h, w, c, ENV_MIN_SIDE);
    int rc = env_mix_check(cfg, c, NULL, err);
    if (rc)
        return rc;
    env_mix *m = calloc(1, sizeof *m);
    if (!m)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the mixed-quality sampler");
    m->cfg = *cfg;
    m->seed = seed;
    m->h = h;
    m->w = w;
    m->c = c;
    m->nfeat = env_feat_count(cfg->features);
    double total = 0, run = 0;
    for (int i = 0; i < cfg->ncorr; i++)
        total += cfg->nweight ? cfg->weight[i] : 1.0;
    for (int i = 0; i < cfg->ncorr; i++) {
        run += cfg->nweight ? cfg->weight[i] : 1.0;
        m->cum[i] = i + 1 == cfg->ncorr ? 1.0 : run / total;
    }
    m->nt = nn_par_threads();
    for (int t = 0; t < m->nt && !rc; t++) {
        rc = env_work_create(&m->th[t].ws, h, w, err);
        m->th[t].scratch = malloc(env_quality_scratch(h, w) * sizeof(float));
        if (!rc && !m->th[t].scratch)
            rc = qa_fail(err, QA_ERR_NOMEM, "out of memory for quality scratch");
    }
    if (rc) {
        env_mix_free(m);
        return rc;
    }
    *out = m;
    return QA_OK;
}

void env_mix_free(env_mix *m)
{
    if (!m)
        return;
    for (int t = 0; t < m->nt; t++) {
        env_work_free(m->th[t].ws);
        free(m->th[t].scratch);
    }
    free(m);
}

int env_mix_nfeat(const env_mix *m)
{
    return m->nfeat;
}

uint32_t env_mix_round(const env_mix *m, uint32_t round)
{
    int eval = (round & ENV_ROUND_EVAL) != 0;
    return m->cfg.schedule == ENV_SCHEDULE_FIXED && !eval ? env_round_train(0) : round;
}

void env_mix_draw(const env_mix *m, uint32_t key, uint32_t round, int *corruption, int *severity)
{
    nn_rng r;
    nn_rng_init(&r, m->seed, ENV_STREAM_MIX, key, env_mix_round(m, round));
    double u = nn_rng_uniform_d(&r), v = nn_rng_uniform_d(&r);
    uint32_t s = nn_rng_below(&r, (uint32_t)m->cfg.nsev);
    if (m->cfg.ncorr == 0 || u < m->cfg.clean_fraction) {
        *corruption = ENV_CLEAN;
        *severity = 0;
        return;
    }
    int i = 0;
    while (i + 1 < m->cfg.ncorr && !(v < m->cum[i]))
        i++;
    *corruption = m->cfg.corr[i];
    *severity = m->cfg.sev[s];
}

typedef struct {
    env_mix *m;
    uint8_t *px;
    int n;
    const int *keys;
    uint32_t round;
    int *corruption, *severity;
    float *features;
} mix_job;

static int one_sample(env_mix *m, mix_thread *th, const mix_job *j, int i)
{
    size_t sz = (size_t)m->h * (size_t)m->w * (size_t)m->c;
    uint8_t *img = j->px + (size_t)i * sz;
    uint32_t key = (uint32_t)j->keys[i], round = env_mix_round(m, j->round);
    int id, sev;
    env_mix_draw(m, key, j->round, &id, &sev);
    j->corruption[i] = id;
    j->severity[i] = sev;
    if (id != ENV_CLEAN) {
        nn_rng r;
        env_corrupt_rng(&r, m->seed, id, key, round);
        int rc = env_corrupt(th->ws, id, sev, m->cfg.table, img, img, m->h, m->w, m->c, &r,
                             &th->err);
        if (rc)
            return qa_err_prefix(&th->err, "sample %d (key %u, round %u): ", i, key, j->round);
    }
    if (!j->features || m->nfeat == 0)
        return QA_OK;
    float *f = j->features + (size_t)i * (size_t)m->nfeat;
    if (m->cfg.features == ENV_FEAT_QUALITY)
        env_quality(img, m->h, m->w, m->c, th->scratch, f);
    else
        env_oracle(id, sev, f);
    return QA_OK;
}

static void mix_worker(void *arg, int tid, int nt)
{
    const mix_job *j = arg;
    mix_thread *th = &j->m->th[tid];
    long lo, hi;
    nn_par_range(j->n, tid, nt, &lo, &hi);
    for (long i = lo; i < hi && th->rc == QA_OK; i++)
        th->rc = one_sample(j->m, th, j, (int)i);
}

int env_mix_apply(env_mix *m, uint8_t *px, int n, const int *keys, uint32_t round,
                  int *corruption, int *severity, float *features, qa_err *err)
{
    if (n <= 0)
        return QA_OK;
    mix_job j = {m, px, n, keys, round, corruption, severity, features};
    int nt = m->nt < n ? m->nt : n;
    if (nt > nn_par_threads())
        nt = nn_par_threads();
    for (int t = 0; t < nt; t++)
        m->th[t].rc = QA_OK;
    nn_par_run(mix_worker, &j, nt);
    for (int t = 0; t < nt; t++)
        if (m->th[t].rc) {
            if (err)
                *err = m->th[t].err;
            return m->th[t].rc;
        }
    return QA_OK;
}
