/* schema_agent.c: the sections of method dqmq, bound to agent/'s structs:
 * [agent] (the policy network: agent_cfg) and [dqmq] (its training: the
 * estimator, objective, phases, schedules and logging: agent_train_cfg);
 * the rules inside each are agent/'s own. */
#include <stddef.h>

#include "agent/acfg.h"
#include "experiments/methods/sections.h"

#define FIELD(f) .off = offsetof(agent_cfg, f), .size = sizeof(((agent_cfg *)0)->f)

/* same orders as agent_obs_kind, agent_opt, agent_head, agent_cost_kind, agent_sched */
static const char *const obs_names[] = {"features", "oracle", "constant", NULL};
static const char *const opt_names[] = {"analytic", "critic", "reinforce", NULL};
static const char *const head_names[] = {"dqmq", "gumbel", NULL};
static const char *const cost_names[] = {"expected", "budget", "target", NULL};
static const char *const sched_names[] = {"joint", "alternate", NULL};
static const char *const cost_width_names[] = {"expected", "argmax", NULL};

const cfg_key exp_agent_keys[] = {
    {.key = "observation", .type = CFG_ENUM, FIELD(observation), .def = "features",
     .names = obs_names,
     .help = "policy input: features (the env's quality features; a constant without [env]), "
             "oracle (true corruption and severity), constant (static mixed precision)"},
    {.key = "head", .type = CFG_ENUM, FIELD(head), .def = "dqmq", .names = head_names,
     .help = "per-layer distribution: dqmq (location and spread over the ordered widths) or "
             "gumbel (free logits, Gumbel-softmax)"},
    {.key = "hidden", .type = CFG_INT, FIELD(hidden), .def = "64", .min = 1, .max = 4096,
     .help = "units of the policy's two hidden layers"},
    {.key = "sigma_min", .type = CFG_FLOAT, FIELD(sigma_min), .def = "0.3", .min = 1e-3,
     .max = 100, .help = "dqmq: smallest spread (bits)"},
    {.key = "sigma_max", .type = CFG_FLOAT, FIELD(sigma_max), .def = "2", .min = 1e-3,
     .max = 100,
     .help = "dqmq: largest spread at the end of warm-up (bits), annealed to dqmq.sigma_end"},
    {.key = "mu_init", .type = CFG_FLOAT, FIELD(mu_init), .def = "0", .min = 0, .max = 32,
     .help = "dqmq: initial location in bits, 0 = middle of the candidate range"},
    {.key = "tau", .type = CFG_FLOAT, FIELD(tau), .def = "5", .min = 1e-3, .max = 1000,
     .help = "gumbel: temperature at the end of warm-up, annealed to dqmq.tau_end"},
    {.key = "critic_hidden", .type = CFG_INT, FIELD(critic_hidden), .def = "64", .min = 1,
     .max = 4096, .help = "dqmq.optimizer = critic: units of the critic's hidden layers"},
    {0},
};

#undef FIELD
#define FIELD(f) .off = offsetof(agent_train_cfg, f), .size = sizeof(((agent_train_cfg *)0)->f)

const cfg_key exp_dqmq_keys[] = {
    {.key = "optimizer", .type = CFG_ENUM, FIELD(optimizer), .def = "analytic",
     .names = opt_names,
     .help = "policy update: analytic (through the soft backbone), critic (learned loss "
             "model, hard backbone), reinforce (score function, hard backbone)"},
    {.key = "hard", .type = CFG_BOOL, FIELD(hard), .def = "false",
     .help = "straight-through (optimizer = analytic): the backbone runs one width per "
             "sample and layer, drawn from the policy's distribution (gumbel: its noisy "
             "argmax), and the policy gets the gradient of the soft distribution"},
    {.key = "lr", .type = CFG_FLOAT, FIELD(lr), .def = "0.003", .min = 1e-8, .max = 10,
     .help = "policy learning rate (Adam, constant)"},
    {.key = "weight_decay", .type = CFG_FLOAT, FIELD(weight_decay), .def = "0", .min = 0,
     .max = 1, .help = "policy decoupled weight decay"},
    {.key = "cost", .type = CFG_ENUM, FIELD(cost), .def = "expected", .names = cost_names,
     .help = "cost term: expected (lambda * E[BitOps] / uniform-8-bit BitOps), budget "
             "(lambda * max(0, that - target)) or target (lambda * |that - target|: the mean held "
             "at the target from both sides, so compared methods spend the same)"},
    {.key = "lambda", .type = CFG_FLOAT, FIELD(lambda), .def = "1", .min = 0, .max = 1e6,
     .help = "weight of the cost term"},
    {.key = "target", .type = CFG_FLOAT, FIELD(target), .def = "0.25", .min = 0, .max = 16,
     .help = "cost = budget: mean BitOps relative to uniform 8 bits allowed without penalty; "
             "cost = target: the mean asked for"},
    {.key = "cost_widths", .type = CFG_ENUM, FIELD(cost_argmax), .def = "argmax",
     .names = cost_width_names,
     .help = "argmax: budget and target also cap the mean BitOps of the argmax plans (what "
             "evaluation runs; straight-through, with the soft plan's gradient); expected: only "
             "the soft plan's mean is compared"},
    {.key = "warmup", .type = CFG_INT, FIELD(warmup), .def = "1", .min = 0, .max = 100000,
     .help = "epochs of random per-sample hard plans (backbone only) before the policy trains"},
    {.key = "warmup_sigma", .type = CFG_FLOAT, FIELD(warmup_sigma), .def = "0", .min = 0,
     .max = 100,
     .help = "warm-up widths drawn per sample and layer from the dqmq distribution at the "
             "policy's initial location (agent.mu_init) with this spread in bits, so the backbone "
             "first trains near the budget; 0 = uniform over all candidate widths"},
    {.key = "finetune", .type = CFG_INT, FIELD(finetune), .def = "0", .min = 0, .max = 100000,
     .help = "last epochs: the policy frozen, the backbone trained on its argmax plans (hard, "
             "as evaluated)"},
    {.key = "schedule", .type = CFG_ENUM, FIELD(schedule), .def = "joint", .names = sched_names,
     .help = "after warm-up: joint (both updated every step) or alternate (backbone and "
             "policy on alternate steps)"},
    {.key = "sigma_end", .type = CFG_FLOAT, FIELD(sigma_end), .def = "0.5", .min = 1e-3,
     .max = 100,
     .help = "dqmq: largest spread at the last step (geometric annealing from "
             "agent.sigma_max; not below agent.sigma_min)"},
    {.key = "tau_end", .type = CFG_FLOAT, FIELD(tau_end), .def = "0.5", .min = 1e-3,
     .max = 1000, .help = "gumbel: temperature at the last step (geometric annealing)"},
    {.key = "critic_lr", .type = CFG_FLOAT, FIELD(critic_lr), .def = "0.001", .min = 1e-8,
     .max = 10, .help = "optimizer = critic: critic learning rate (Adam)"},
    {.key = "baseline_momentum", .type = CFG_FLOAT, FIELD(baseline_momentum), .def = "0.9",
     .min = 0, .max = 0.9999, .help = "optimizer = reinforce: moving-average reward baseline"},
    {.key = "sample_rate", .type = CFG_DOUBLE, FIELD(sample_rate), .def = "0.02", .min = 0,
     .max = 1, .help = "fraction of training samples whose decisions go to /train/samples"},
    {0},
};

int exp_agent_check(const void *section, qa_err *err)
{
    return agent_cfg_check(section, err);
}

int exp_dqmq_check(const void *section, qa_err *err)
{
    return agent_train_cfg_check(section, err);
}
