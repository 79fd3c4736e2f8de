/* schema_blockrep.c: the [blockrep] section of method blockrep, bound to
 * quant/blockrep.h's q_br_method_cfg (the maths' settings and the
 * method's own). */
#include <stddef.h>

#include "experiments/methods/sections.h"
#include "quant/blockrep.h"

#define FIELD(f) .off = offsetof(q_br_method_cfg, f), .size = sizeof(((q_br_method_cfg *)0)->f)

/* same order as q_br_mode */
static const char *const mode_names[] = {"prefix", "single", NULL};
static const char *const unit_names[] = {"block", "stage", NULL};

const cfg_key exp_blockrep_keys[] = {
    {.key = "teacher", .type = CFG_STRING, FIELD(teacher), .def = "",
     .help = "the frozen full-precision teacher: a finished method fp32 run of model.arch on "
             "the same data (its run.h5 or ckpt.h5), e.g. runs/fmnist-resnet20-fp32/run.h5 from "
             "qadapt run configs/fmnist-resnet20-fp32.ini"},
    {.key = "mode", .type = CFG_ENUM, FIELD(br.mode), .def = "prefix", .names = mode_names,
     .help = "intermediate models: prefix (the first k blocks quantized, the teacher's after "
             "them) or single (only block k quantized)"},
    {.key = "unit", .type = CFG_ENUM, FIELD(br.stages), .def = "block", .names = unit_names,
     .help = "what is replaced at a time: block (qadapt info --model lists them) or stage "
             "(consecutive blocks of one output shape together, stem and head apart: fewer "
             "models, a cheaper step)"},
    {.key = "models", .type = CFG_INT, FIELD(models), .def = "0", .min = 0, .max = 64,
     .help = "intermediate models trained per step, drawn at random (their terms scaled by "
             "models / drawn); 0 = every one"},
    {.key = "ce_weight", .type = CFG_FLOAT, FIELD(br.ce_weight), .def = "1", .min = 0,
     .max = 1000, .help = "weight of each intermediate model's cross-entropy with the labels"},
    {.key = "kl_weight", .type = CFG_FLOAT, FIELD(br.kl_weight), .def = "0", .min = 0,
     .max = 1000,
     .help = "weight of each intermediate model's KL to the teacher's softened outputs "
             "(times temperature^2)"},
    {.key = "temperature", .type = CFG_FLOAT, FIELD(br.temperature), .def = "4", .min = 0.01,
     .max = 100, .help = "softening temperature of the KL terms"},
    {.key = "eval_models", .type = CFG_BOOL, FIELD(eval_models), .def = "true",
     .help = "each test evaluation also runs the teacher and every intermediate model "
             "(/train/blockrep's test columns)"},
    {0},
};
