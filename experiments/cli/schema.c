/* schema.c: the whole schema of qadapt's configs: [experiment], which names
 * the method, the run's own sections (experiments/run/schema.h) and the
 * sections methods read (experiments/methods/sections.h), in the order they
 * are rendered; loading a config (a file's or a run file's) and every
 * check. */
#include "experiments/cli/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/io/runfile.h"
#include "experiments/methods/registry.h"
#include "experiments/methods/sections.h"
#include "experiments/search/search.h"
#include "nn/par.h"

#define FIELD(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)
#define STR(x) #x
#define XSTR(x) STR(x)

static const cfg_key experiment_keys[] = {
    {.key = "name", .type = CFG_STRING, FIELD(exp_experiment_cfg, name), .def = "run",
     .help = "run name: the run file is out_dir/name/run.h5"},
    {.key = "seed", .type = CFG_INT, FIELD(exp_experiment_cfg, seed), .def = "0", .min = 0,
     .max = 2147483647, .help = "seed of every random stream (init, shuffle, split, ...)"},
    {.key = "out_dir", .type = CFG_STRING, FIELD(exp_experiment_cfg, out_dir), .def = "runs",
     .help = "directory of run folders (--out overrides)"},
    {.key = "method", .type = CFG_ENUM, FIELD(exp_experiment_cfg, method), .def = "fp32",
     .choice = exp_method_choice, .help = "training method"},
    {.key = "threads", .type = CFG_INT, FIELD(exp_experiment_cfg, threads), .def = "0", .min = 0,
     .max = NN_PAR_MAX_THREADS,
     .help = "compute threads (nn's pool; BLAS runs inside each share), 0 = all cores; results "
             "do not depend on it"},
    {.key = "shares", .type = CFG_INT, FIELD(exp_experiment_cfg, shares),
     .def = XSTR(NN_PAR_DEFAULT_SHARES), .min = 1, .max = NN_PAR_MAX_SHARES,
     .help = "parts every sum over a batch is split into, summed in a fixed order: results are "
             "bit-identical at any thread count for one value, differ in the last bits between "
             "values; more than `threads` parts keep every thread busy"},
    {.key = "gemm", .type = CFG_ENUM, FIELD(exp_experiment_cfg, gemm), .def = "auto",
     .names = exp_gemm_names,
     .help = "matrix products: qadapt's kernels (auto = the fastest this CPU runs, avx512, "
             "avx2, portable; the same bits on every CPU) or openblas (its own CPU guess)"},
    {.key = "label", .type = CFG_STRING, FIELD(exp_experiment_cfg, label), .def = "",
     .help = "the run's arm in `qadapt report --markdown` (e.g. dqmq-oracle); \"\" = the "
             "method's name; training does not read it"},
    {.key = "group", .type = CFG_STRING, FIELD(exp_experiment_cfg, group), .def = "",
     .help = "what `qadapt report --markdown` compares the run within (e.g. a BitOps budget, "
             "b3); training does not read it"},
    {.key = "memory_mb", .type = CFG_INT, FIELD(exp_experiment_cfg, memory_mb), .def = "0",
     .min = -1, .max = 2147483647,
     .help = "the most memory a run may take at its peak, in MB: a run estimated above it is "
             "refused before its first step; 0 = what the machine has available (MemAvailable, "
             "or a cgroup's limit), -1 = no check"},
    {0},
};

/* The sections in the order they are rendered. A new section: its struct
 * in exp_config (run/schema.h), its keys beside the code that reads them,
 * one line here. */
static const cfg_section sections[] = {
    {"experiment", experiment_keys, offsetof(exp_config, experiment), "what is run and where", NULL},
    {"data", exp_data_keys, offsetof(exp_config, data), "images and their normalisation", NULL},
    {"env", exp_env_keys, offsetof(exp_config, env),
     "the degradation environment: corruption mix, severities, quality features", NULL},
    {"model", exp_model_keys, offsetof(exp_config, model), "the network", NULL},
    {"quant", exp_quant_keys, offsetof(exp_config, quant),
     "quantizers, candidate widths and the fixed method's widths", exp_quant_check},
    {"agent", exp_agent_keys, offsetof(exp_config, agent),
     "method dqmq: the bit-width policy network, what it sees, its distributions",
     exp_agent_check},
    {"dqmq", exp_dqmq_keys, offsetof(exp_config, dqmq),
     "method dqmq: training the policy: estimator, objective, phases, schedules, logging",
     exp_dqmq_check},
    {"ddq", exp_ddq_keys, offsetof(exp_config, ddq),
     "method ddq: the planned layers' width, the cost penalty and its target, gate learning "
     "rates, phases, logging", exp_ddq_check},
    {"metamix", exp_metamix_keys, offsetof(exp_config, metamix),
     "method metamix: activation-width search (meta-state weight steps), then weight training",
     exp_metamix_check},
    {"blockrep", exp_blockrep_keys, offsetof(exp_config, blockrep),
     "method blockrep: the frozen full-precision teacher, the intermediate models, their loss",
     NULL},
    {"search", exp_search_keys, offsetof(exp_config, search),
     "qadapt search: the agent, episodes, budget and reward of the HAQ-style search",
     exp_search_check},
    {"train", exp_train_keys, offsetof(exp_config, train), "optimizer and schedule", NULL},
    {"eval", exp_eval_keys, offsetof(exp_config, eval), "evaluation on the test set", NULL},
};

/* [sweep] is read by qadapt sweep (sweep.h); qadapt run trains the base config. */
static const char *const foreign_sections[] = {"sweep", NULL};

/* [dqmq] took DQMQ's training keys out of [agent] (qadapt 0.1.0 after
 * 1cac2af): a config still setting them there is told where they went;
 * run files and checkpoints written before read them in their new place. */
static const cfg_moved moved[] = {{"agent", "dqmq"}, {NULL, NULL}};

const cfg_schema exp_schema = {sections, (int)(sizeof sections / sizeof sections[0]),
                               foreign_sections, moved};

int exp_config_defaults(exp_config *c, qa_err *err)
{
    return exp_config_reset(c, &exp_schema, err);
}

static int load_sets(exp_config *c, cfg_doc *d, char *const *sets, int nsets, qa_err *err)
{
    int rc = QA_OK;
    for (int i = 0; !rc && i < nsets; i++)
        rc = cfg_set(d, sets[i], err);
    return rc ? rc : exp_config_check(c, err);
}

int exp_config_load(exp_config *c, const char *path, char *const *sets, int nsets, qa_err *err)
{
    int rc = exp_config_defaults(c, err);
    cfg_doc d = exp_config_doc(c);
    d.sets = sets; /* a --set replaces a file's value before it is read */
    d.nsets = nsets;
    if (!rc && path)
        rc = cfg_load_file(&d, path, err);
    return rc ? rc : load_sets(c, &d, sets, nsets, err);
}

int exp_config_load_run(exp_config *c, const char *run, char *const *sets, int nsets,
                        qa_err *err)
{
    hid_t f;
    int rc = exp_rf_open_run(&f, run, err);
    if (rc)
        return rc;
    char *text = exp_rf_config(f);
    exp_rf_close(f);
    if (!text)
        return qa_fail(err, QA_ERR_FORMAT, "%s: no /config (not a qadapt run file)", run);
    char name[1100];
    snprintf(name, sizeof name, "%s:/config", run);
    rc = exp_config_defaults(c, err);
    cfg_doc d = exp_config_doc(c);
    if (!rc)
        rc = cfg_load_stored(&d, text, name, err);
    free(text);
    return rc ? rc : load_sets(c, &d, sets, nsets, err);
}

int exp_config_check(exp_config *c, qa_err *err)
{
    int rc = exp_run_config_check(c, err);
    for (int i = 0; !rc && i < exp_schema.nsections; i++) {
        const cfg_section *sec = &exp_schema.sections[i];
        if (sec->check && (rc = sec->check((char *)c + sec->off, err)) != QA_OK)
            qa_err_prefix(err, "[%s]: ", sec->name);
    }
    return rc;
}
