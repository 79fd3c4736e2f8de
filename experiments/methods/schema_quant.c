/* schema_quant.c: the [quant] section, bound to quant/'s q_cfg. The rules
 * across its keys are quant/'s own (q_cfg_check); list syntaxes are parsed
 * by quant/ too, so a value means the same wherever it is read; quant.plan
 * reads a search's file (io/runfile.h). */
#include <stddef.h>
#include <string.h>

#include "experiments/io/runfile.h"
#include "experiments/methods/sections.h"
#include "quant/qcfg.h"

#define FIELD(f) .off = offsetof(q_cfg, f), .size = sizeof(((q_cfg *)0)->f)

static int parse_cand(void *section, const char *text, qa_err *err)
{
    return q_cfg_parse_cand(section, text, err);
}

static void format_cand(const void *section, char *buf, size_t n)
{
    q_cfg_format_cand(section, buf, n);
}

static int parse_layers(void *section, const char *text, qa_err *err)
{
    return q_cfg_parse_layer_bits(section, text, err);
}

static void format_layers(const void *section, char *buf, size_t n)
{
    q_cfg_format_layer_bits(section, buf, n);
}

/* quant.plan: an inline list (the layer_bits syntax) or the file of a
 * search, read once into layer_bits; the resolved config holds the widths
 * there, so a stored config reads back without the file. */
static int parse_plan(void *section, const char *text, qa_err *err)
{
    if (!*text)
        return QA_OK;
    if (strspn(text, "0123456789,: ") == strlen(text))
        return q_cfg_parse_layer_bits(section, text, err);
    int w[Q_MAX_LAYERS], a[Q_MAX_LAYERS], n;
    int rc = exp_rf_best_plan(text, w, a, Q_MAX_LAYERS, &n, err);
    return rc ? rc : q_cfg_set_layer_bits(section, w, a, n, text, err);
}

static void format_plan(const void *section, char *buf, size_t n)
{
    (void)section;
    if (n)
        buf[0] = '\0';
}

static const cfg_custom cand_syntax = {parse_cand, format_cand};
static const cfg_custom plan_syntax = {parse_plan, format_plan};
static const cfg_custom layer_syntax = {parse_layers, format_layers};

/* same order as q_kind */
static const char *const kind_names[] = {"lsq", "pact", "dorefa", "minmax", "ema", "ddq", NULL};
static const char *const granularity_names[] = {"tensor", "channel", NULL};
/* same order as q_input */
static const char *const input_names[] = {"auto", "signed", "unsigned", "none", NULL};

const cfg_key exp_quant_keys[] = {
    {.key = "bits", .type = CFG_CUSTOM, FIELD(cand), .def = "2,3,4,6,8", .custom = &cand_syntax,
     .help = "candidate widths an adaptive plan chooses from, ascending (2..8, 32 = float)"},
    {.key = "tied", .type = CFG_BOOL, FIELD(tied), .def = "true",
     .help = "one width (or distribution) per layer for weights and activations together"},
    {.key = "w_quantizer", .type = CFG_ENUM, FIELD(w_kind), .def = "lsq", .names = kind_names,
     .help = "weight quantizer: lsq, dorefa, minmax or ddq (learned precision, method ddq)"},
    {.key = "a_quantizer", .type = CFG_ENUM, FIELD(a_kind), .def = "lsq", .names = kind_names,
     .help = "input-activation quantizer: lsq, pact, dorefa, minmax, ema or ddq"},
    {.key = "granularity", .type = CFG_ENUM, FIELD(per_channel), .def = "tensor",
     .names = granularity_names, .help = "weight steps per tensor or per output channel"},
    {.key = "first_bits", .type = CFG_INT, FIELD(first_bits), .def = "8", .min = 0, .max = 32,
     .help = "width of the first conv/dense layer (weights and input), 0 = chosen by the plan"},
    {.key = "last_bits", .type = CFG_INT, FIELD(last_bits), .def = "8", .min = 0, .max = 32,
     .help = "width of the last conv/dense layer, 0 = chosen by the plan"},
    {.key = "input", .type = CFG_ENUM, FIELD(input_domain), .def = "auto", .names = input_names,
     .help = "network input quantized signed or unsigned, or none (left as it comes, like "
             "the PyTorch peer; needs first_bits > 0); auto: signed unless data.normalize = none"},
    {.key = "soft", .type = CFG_BOOL, FIELD(soft), .def = "false",
     .help = "build the buffers of soft (relaxed) plans; adaptive methods set it themselves"},
    {.key = "soft_keep", .type = CFG_INT, FIELD(soft_keep), .def = "0", .min = 0,
     .max = Q_MAX_CAND,
     .help = "soft plans (tied): run only the N most probable candidates per sample and "
             "layer, mixed renormalised (an approximation); 0 = all (exact)"},
    {.key = "soft_min_p", .type = CFG_FLOAT, FIELD(soft_min_p), .def = "0", .min = 0, .max = 1,
     .help = "soft plans (tied): skip candidates below this probability, the most probable "
             "always runs (an approximation); 0 = none (exact)"},
    {.key = "pact_alpha", .type = CFG_FLOAT, FIELD(pact_init), .def = "8", .min = 1e-3,
     .max = 1e4, .help = "PACT clip alpha at the first batch"},
    {.key = "pact_decay", .type = CFG_FLOAT, FIELD(pact_decay), .def = "0.0001", .min = 0,
     .max = 1, .help = "L2 decay on PACT's alpha"},
    {.key = "ema_momentum", .type = CFG_FLOAT, FIELD(ema_momentum), .def = "0.9", .min = 0,
     .max = 0.9999, .help = "ema quantizer: weight of the running value at each batch"},
    {.key = "ddq_min_bits", .type = CFG_INT, FIELD(ddq.min_bits), .def = "2", .min = 2, .max = 8,
     .help = "ddq: lowest precision the gates can reach"},
    {.key = "ddq_init_bits", .type = CFG_INT, FIELD(ddq.init_bits), .def = "8", .min = 2,
     .max = 8, .help = "ddq: precision the gates open to at the first batch"},
    {.key = "ddq_range_bits", .type = CFG_INT, FIELD(ddq.range_bits), .def = "4", .min = 2,
     .max = 8,
     .help = "ddq: the initial range is LSQ's initial step at this width times its levels"},
    {.key = "ddq_gate_init", .type = CFG_FLOAT, FIELD(ddq.gate_init), .def = "0.5", .min = 1e-6,
     .max = 100, .help = "ddq: |gate logit| at the first batch (open +, closed -)"},
    {.key = "ddq_tau", .type = CFG_FLOAT, FIELD(ddq.tau), .def = "1", .min = 0, .max = 100,
     .help = "ddq: temperature of the gates' sigmoid relaxation (backward), 0 = straight-through"},
    {.key = "ddq_curvature", .type = CFG_BOOL, FIELD(ddq.curvature), .def = "true",
     .help = "ddq: a gate's flip estimate adds the loss's curvature along the quantization "
             "error (false: first order only)"},
    {.key = "ddq_adaptive", .type = CFG_BOOL, FIELD(ddq.adaptive), .def = "false",
     .help = "ddq: learn non-uniform levels (adaptive resolution; false: uniform levels)"},
    {.key = "ddq_knots", .type = CFG_INT, FIELD(ddq.knots), .def = "16", .min = 1,
     .max = Q_DDQ_MAX_KNOTS, .help = "ddq: pieces of the adaptive levels' monotone warp"},
    {.key = "ddq_range_floor", .type = CFG_FLOAT, FIELD(ddq.range_floor), .def = "2", .min = 0,
     .max = 100,
     .help = "ddq: weights' forward range at least this times the channel's mean |w| "
             "(no gradient to the range while it holds); 0 = no floor"},
    {.key = "w_bits", .type = CFG_INT, FIELD(w_bits), .def = "8", .min = 2, .max = 32,
     .help = "method = fixed: weight width of every planned layer"},
    {.key = "a_bits", .type = CFG_INT, FIELD(a_bits), .def = "8", .min = 2, .max = 32,
     .help = "method = fixed: activation width of every planned layer"},
    {.key = "layer_bits", .type = CFG_CUSTOM, FIELD(nlayer_bits), .def = "",
     .custom = &layer_syntax,
     .help = "method = fixed: per planned layer W or W:A (static mixed precision), "
             "overrides w_bits/a_bits; `qadapt info --model NAME` lists the layers"},
    {.key = "plan", .type = CFG_CUSTOM, FIELD(nlayer_bits), .def = "", .custom = &plan_syntax,
     .help = "method = fixed: a searched plan, read once into layer_bits: the search.h5 of "
             "`qadapt search` (its /search/best_plan) or an inline W or W:A list"},
    {0},
};

int exp_quant_check(const void *section, qa_err *err)
{
    return q_cfg_check(section, err);
}
