/* schema_metamix.c: the [metamix] section, bound to agent/metamix.h's
 * agent_mm_cfg; the rules inside it are agent/'s (agent_mm_cfg_check). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metamix.h"
#include "experiments/methods/sections.h"

#define FIELD(f) .off = offsetof(agent_mm_cfg, f), .size = sizeof(((agent_mm_cfg *)0)->f)

/* "3,4,8" -> cand/ncand; the order and range are agent_mm_cfg_check's */
static int parse_cand(void *section, const char *text, qa_err *err)
{
    agent_mm_cfg *c = section;
    const char *p = text;
    int n = 0;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 2 || v > 32 || n == Q_MAX_CAND)
            return qa_fail(err, QA_ERR_CONFIG, "metamix.candidates '%s': expected up to %d "
                           "comma-separated widths, e.g. 3,4,8", text, Q_MAX_CAND);
        c->cand[n++] = (int)v;
        p = end + strspn(end, " ");
        if (*p == ',')
            p += 1 + strspn(p + 1, " ");
        else if (*p)
            return qa_fail(err, QA_ERR_CONFIG, "metamix.candidates '%s': unexpected '%c'", text,
                           *p);
    }
    c->ncand = n;
    return QA_OK;
}

static void format_cand(const void *section, char *buf, size_t n)
{
    const agent_mm_cfg *c = section;
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < c->ncand && at < n; k++)
        at += (size_t)snprintf(buf + at, n - at, "%s%d", k ? "," : "", c->cand[k]);
}

static const cfg_custom cand_syntax = {parse_cand, format_cand};

/* same orders as agent_mm_step, agent_mm_opt, agent_cost_kind */
static const char *const step_names[] = {"mean", "mixture", NULL};
static const char *const opt_names[] = {"adam", "sgd", NULL};
static const char *const cost_names[] = {"expected", "budget", "target", NULL};
static const char *const width_names[] = {"expected", "argmax", NULL};

const cfg_key exp_metamix_keys[] = {
    {.key = "candidates", .type = CFG_CUSTOM, FIELD(cand), .def = "3,4,8", .custom = &cand_syntax,
     .help = "activation widths searched per planned layer, ascending in 2..8 (one LSQ step "
             "each); the plan's widths are these, search_w_bits and w_bits ([quant] bits and "
             "tied are not read)"},
    {.key = "search_w_bits", .type = CFG_INT, FIELD(search_w_bits), .def = "32", .min = 2,
     .max = 32, .help = "weight width of the planned layers during the search (32: full precision)"},
    {.key = "w_bits", .type = CFG_INT, FIELD(w_bits), .def = "4", .min = 2, .max = 32,
     .help = "weight width of the planned layers in weight training (phase 2); also the width "
             "the BitOps penalty and target count"},
    {.key = "search_weights", .type = CFG_BOOL, FIELD(search_weights), .def = "false",
     .help = "search the weights' widths over the candidates too (own logits; weights then run "
             "the searched widths in phase 2)"},
    {.key = "weight_step", .type = CFG_ENUM, FIELD(weight_step), .def = "mean",
     .names = step_names,
     .help = "mean: MetaMix's weight step on the mean loss over the candidates (every planned "
             "layer at each in turn); mixture: the ablation, a plain differentiable search whose "
             "weight step runs the softmax mixture"},
    {.key = "arch_optimizer", .type = CFG_ENUM, FIELD(arch_optimizer), .def = "adam",
     .names = opt_names, .help = "optimizer of the architecture logits (AdamW or SGD)"},
    {.key = "arch_lr", .type = CFG_FLOAT, FIELD(arch_lr), .def = "0.01", .min = 1e-8, .max = 100,
     .help = "learning rate of the architecture logits (constant)"},
    {.key = "arch_momentum", .type = CFG_FLOAT, FIELD(arch_momentum), .def = "0.9", .min = 0,
     .max = 0.999, .help = "arch_optimizer = sgd: momentum"},
    {.key = "arch_weight_decay", .type = CFG_FLOAT, FIELD(arch_weight_decay), .def = "0",
     .min = 0, .max = 1, .help = "weight decay of the architecture logits"},
    {.key = "cost", .type = CFG_ENUM, FIELD(cost), .def = "target", .names = cost_names,
     .help = "penalty: target (lambda |E[BitOps] / BitOps_8bit - target|) or budget "
             "(lambda max(0, that - target))"},
    {.key = "lambda", .type = CFG_FLOAT, FIELD(lambda), .def = "4", .min = 0, .max = 1e6,
     .help = "weight of the BitOps penalty"},
    {.key = "target", .type = CFG_FLOAT, FIELD(target), .def = "0.25", .min = 1e-6, .max = 16,
     .help = "BitOps over those of every layer at 8 x 8 bits, weights at w_bits"},
    {.key = "cost_widths", .type = CFG_ENUM, FIELD(cost_argmax), .def = "argmax",
     .names = width_names,
     .help = "argmax: above the target the argmax widths' BitOps decide the penalty's side "
             "(gradient of the mixture's); expected: only the mixture's"},
    {.key = "hold", .type = CFG_BOOL, FIELD(hold), .def = "true",
     .help = "lower the argmax widths, least probable step per BitOps first, until their "
             "BitOps are at or under the target (what evaluation and weight training run)"},
    {.key = "warmup", .type = CFG_INT, FIELD(warmup), .def = "0", .min = 0, .max = 100000,
     .help = "first epochs: weight steps only (the architecture stays uniform)"},
    {.key = "finetune", .type = CFG_INT, FIELD(finetune), .def = "1", .min = 1, .max = 100000,
     .help = "last epochs: weight training at the held widths (phase 2), from the search's "
             "weights and steps"},
    {.key = "probe", .type = CFG_INT, FIELD(probe), .def = "256", .min = 0, .max = 100000,
     .help = "training images the activation instability is measured on after every epoch "
             "(0 = not measured)"},
    {0},
};

int exp_metamix_check(const void *section, qa_err *err)
{
    return agent_mm_cfg_check(section, err);
}
