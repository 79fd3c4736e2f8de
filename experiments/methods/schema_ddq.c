/* schema_ddq.c: the [ddq] section, method ddq's training, bound to quant/'s
 * q_ddq_train_cfg (the quantizers' own settings are [quant] ddq_*, in
 * schema_quant.c); the rules across its keys are quant/'s
 * (q_ddq_train_check). */
#include <stddef.h>

#include "experiments/methods/sections.h"
#include "quant/qcfg.h"

#define FIELD(f) .off = offsetof(q_ddq_train_cfg, f), .size = sizeof(((q_ddq_train_cfg *)0)->f)

/* same orders as q_cost_kind and q_penalty_form (quant/cost.h) */
static const char *const cost_names[] = {"bitops", "bytes", NULL};
static const char *const form_names[] = {"hinge", "abs", NULL};

const cfg_key exp_ddq_keys[] = {
    {.key = "max_bits", .type = CFG_INT, FIELD(max_bits), .def = "8", .min = 2, .max = 8,
     .help = "the planned layers' one width, the highest precision their gates reach"},
    {.key = "cost", .type = CFG_ENUM, FIELD(cost), .def = "bitops", .names = cost_names,
     .help = "cost the penalty measures: bitops (MACs x w x a) or bytes (weight memory)"},
    {.key = "form", .type = CFG_ENUM, FIELD(form), .def = "hinge", .names = form_names,
     .help = "penalty: hinge (lambda max(0, r - target): pushes down only while above) or abs "
             "(lambda |r - target|: holds r at the target from both sides)"},
    {.key = "lambda", .type = CFG_FLOAT, FIELD(lambda), .def = "1", .min = 0, .max = 1e6,
     .help = "weight of the penalty (in units of the task loss)"},
    {.key = "target", .type = CFG_FLOAT, FIELD(target), .def = "0.25", .min = 0, .max = 16,
     .help = "r asked for: the cost over its value with every layer at 8 bits (pinned layers "
             "count at their widths); ignored when target_bits > 0"},
    {.key = "target_bits", .type = CFG_INT, FIELD(target_bits), .def = "0", .min = 0, .max = 8,
     .help = "> 0: target = the cost with every planned layer at this width (pinned at theirs), "
             "the budget of method fixed at W<bits>A<bits>; 0 = use target"},
    {.key = "gate_lr_mult", .type = CFG_FLOAT, FIELD(gate_lr_mult), .def = "1", .min = 0,
     .max = 1e6, .help = "the gates' learning rate over train.lr (precision moves faster)"},
    {.key = "level_lr_mult", .type = CFG_FLOAT, FIELD(level_lr_mult), .def = "1", .min = 0,
     .max = 1e6, .help = "quant.ddq_adaptive: the level warps' learning rate over train.lr"},
    {.key = "warmup", .type = CFG_INT, FIELD(warmup), .def = "0", .min = 0, .max = 100000,
     .help = "first epochs: gates frozen at quant.ddq_init_bits, no penalty (ranges and weights "
             "train)"},
    {.key = "finetune", .type = CFG_INT, FIELD(finetune), .def = "0", .min = 0, .max = 100000,
     .help = "last epochs: gates frozen where they are, no penalty"},
    {.key = "fit", .type = CFG_BOOL, FIELD(fit), .def = "true",
     .help = "when the gates stop learning (the first fine-tune step, else after the last "
             "step) close gates, the least open first, until the cost is at most the target"},
    {.key = "log_every", .type = CFG_INT, FIELD(log_every), .def = "0", .min = 0,
     .max = 100000000, .help = "steps between rows of /train/ddq; 0 = one row per epoch"},
    {0},
};

int exp_ddq_check(const void *section, qa_err *err)
{
    return q_ddq_train_check(section, err);
}
