/* schema_env.c: the [env] keys, bound to exp_env_cfg; the rules are env/'s
 * own (env_mix_check), so a mix means the same in a config and in code. */
#include "experiments/run/schema_env.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "experiments/run/schema.h"

#define FIELD(f) .off = offsetof(exp_env_cfg, f), .size = sizeof(((exp_env_cfg *)0)->f)

/* Every corruption of corrupt.h by id; the check refuses unavailable ones. */
static const char *corruption_choice(int i)
{
    const env_corruption_info *in = env_corruption_get(i);
    return in ? in->name : NULL;
}

static const char *table_choice(int i)
{
    return i >= 0 && i < ENV_NTABLE ? env_table_name((env_table)i) : NULL;
}

static const char *features_choice(int i)
{
    return i >= 0 && i < ENV_NFEAT_MODE ? env_feat_mode_name((env_feat_mode)i) : NULL;
}

/* same order as env_schedule and exp_env_test */
static const char *const schedule_names[] = {"fixed", "epoch", NULL};
static const char *const test_names[] = {"mix", "clean", NULL};

const cfg_key exp_env_keys[] = {
    {.key = "enabled", .type = CFG_BOOL, FIELD(enabled), .def = "false",
     .help = "degrade images with the mix below (false: every image stays clean)"},
    {.key = "corruptions", .type = CFG_NAME_LIST, FIELD(corruptions),
     .def = "gaussian_noise, gaussian_blur, jpeg_compression, contrast", .choice = corruption_choice,
     .help = "corruptions the mix draws from (names of docs/CORRUPTIONS.md; `qadapt corrupt --list`)"},
    {.key = "severities", .type = CFG_INT_LIST, FIELD(severities), .def = "1, 2, 3, 4, 5",
     .min = 1, .max = 5, .help = "severities drawn uniformly for a corrupted sample"},
    {.key = "weights", .type = CFG_NUM_LIST, FIELD(weights), .def = "", .min = 0, .max = 1e6,
     .help = "relative probability of each listed corruption, empty = equal"},
    {.key = "clean_fraction", .type = CFG_DOUBLE, FIELD(clean_fraction), .def = "0.2", .min = 0,
     .max = 1, .help = "probability that a sample stays clean"},
    {.key = "table", .type = CFG_ENUM, FIELD(table), .def = "cifar", .choice = table_choice,
     .help = "severity tables: cifar (images up to 32 px), tiny (64 px), imagenet"},
    {.key = "schedule", .type = CFG_ENUM, FIELD(schedule), .def = "epoch", .names = schedule_names,
     .help = "epoch: corruption, severity and noise redrawn every epoch; fixed: drawn once per "
             "sample for the whole run"},
    {.key = "features", .type = CFG_ENUM, FIELD(features), .def = "quality",
     .choice = features_choice,
     .help = "per-sample features: quality (no-reference measures of the degraded image), "
             "oracle (one-hot true corruption + severity / 5) or none"},
    {.key = "test", .type = CFG_ENUM, FIELD(test), .def = "mix", .names = test_names,
     .help = "test set: mix (degraded once, with evaluation rounds) or clean"},
    {.key = "test_corruptions", .type = CFG_NAME_LIST, FIELD(test_corruptions), .def = "",
     .choice = corruption_choice,
     .help = "test = mix: corruptions of the test set (equal weights), empty = the training mix"},
    {0},
};

static void names_to_ids(const cfg_name_list *l, env_mix_cfg *m)
{
    m->ncorr = l->n < ENV_NCORRUPTION ? l->n : ENV_NCORRUPTION;
    for (int i = 0; i < m->ncorr; i++)
        m->corr[i] = l->v[i];
}

void exp_env_mix_cfg(const exp_env_cfg *e, int test, env_mix_cfg *m)
{
    memset(m, 0, sizeof *m);
    int own = test && e->test_corruptions.n > 0;
    names_to_ids(own ? &e->test_corruptions : &e->corruptions, m);
    m->nweight = own ? 0 : e->weights.n;
    for (int i = 0; i < m->nweight && i < ENV_NCORRUPTION; i++)
        m->weight[i] = e->weights.v[i];
    m->nsev = e->severities.n < ENV_MAX_SEVERITY ? e->severities.n : ENV_MAX_SEVERITY;
    for (int i = 0; i < m->nsev; i++)
        m->sev[i] = e->severities.v[i];
    m->clean_fraction = e->clean_fraction;
    m->table = (env_table)e->table;
    m->schedule = (env_schedule)e->schedule;
    m->features = (env_feat_mode)e->features;
}

/* "env.a (where), env.b (where)" for the keys behind the ENV_MIX_* bits;
 * the test mix's corruptions are test_corruptions, its weights equal. */
static void blame(const exp_config *c, int test, int fields, char *buf, size_t n)
{
    static const struct {
        int bit;
        const char *train, *test;
    } keys[] = {
        {ENV_MIX_CORRUPTIONS, "corruptions", "test_corruptions"},
        {ENV_MIX_WEIGHTS, "weights", NULL},
        {ENV_MIX_SEVERITIES, "severities", "severities"},
        {ENV_MIX_CLEAN, "clean_fraction", NULL},
        {ENV_MIX_MODES, "table", "table"},
        {ENV_MIX_MODES, "schedule", NULL},
        {ENV_MIX_MODES, "features", "features"},
    };
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && used < n; i++) {
        const char *key = test ? keys[i].test : keys[i].train;
        if (!(fields & keys[i].bit) || !key)
            continue;
        char one[400];
        exp_config_key_where(c, "env", key, one, sizeof one);
        used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? ", " : "", one);
    }
}

int exp_env_check(const exp_config *c, int channels, qa_err *err)
{
    const exp_env_cfg *e = &c->env;
    char where[1200];
    /* a name list longer than the ids can only repeat one */
    const char *lists[] = {"corruptions", "test_corruptions", "severities"};
    int len[] = {e->corruptions.n, e->test_corruptions.n, e->severities.n};
    int cap[] = {ENV_NCORRUPTION, ENV_NCORRUPTION, ENV_MAX_SEVERITY};
    for (int i = 0; i < 3; i++)
        if (len[i] > cap[i]) {
            exp_config_key_where(c, "env", lists[i], where, sizeof where);
            return qa_fail(err, QA_ERR_CONFIG, "%s: %d values repeat one (at most %d)", where,
                           len[i], cap[i]);
        }
    for (int test = 0; test < 2; test++) {
        if (test && e->test_corruptions.n == 0)
            break; /* the test mix is the training mix */
        env_mix_cfg m;
        exp_env_mix_cfg(e, test, &m);
        int fields;
        if (env_mix_check(&m, channels, &fields, err) == QA_OK)
            continue;
        blame(c, test, fields, where, sizeof where);
        if (err) /* a bad value in a config, whatever env/ calls it */
            err->code = QA_ERR_CONFIG;
        qa_err_prefix(err, "%s: ", where);
        return QA_ERR_CONFIG;
    }
    return QA_OK;
}
