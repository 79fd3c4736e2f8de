/* schema_search.c: the [search] section of `qadapt search`, bound to
 * agent/haq.h's agent_haq_cfg (the agent's hyperparameters inside it are
 * agent/search.h's); the rules are agent/'s own (agent_haq_cfg_check).
 * Defaults are HAQ's (Wang et al. 2019) where it has one. */
#include <stddef.h>

#include "agent/haq.h"
#include "experiments/search/search.h"

#define FIELD(f) .off = offsetof(agent_haq_cfg, f), .size = sizeof(((agent_haq_cfg *)0)->f)

/* same orders as agent_search_kind and agent_budget_kind */
static const char *const agent_names[] = {"ddpg", "reinforce", NULL};
static const char *const cost_names[] = {"bitops", "bytes", NULL};

const cfg_key exp_search_keys[] = {
    {.key = "agent", .type = CFG_ENUM, FIELD(agent.kind), .def = "ddpg", .names = agent_names,
     .help = "ddpg (HAQ's: actor-critic, replay, target networks) or reinforce (a softmax "
             "over widths with a moving-average baseline)"},
    {.key = "episodes", .type = CFG_INT, FIELD(episodes), .def = "200", .min = 1,
     .max = 1000000, .help = "episodes in all (--resume may raise it): one plan, one "
                             "fine-tune, one reward each"},
    {.key = "warmup", .type = CFG_INT, FIELD(agent.warmup), .def = "20", .min = 0,
     .max = 1000000, .help = "first episodes with uniform random actions, no policy update"},
    {.key = "cost", .type = CFG_ENUM, FIELD(cost), .def = "bitops", .names = cost_names,
     .help = "what the budget bounds: bitops (per sample) or bytes (of the weights)"},
    {.key = "budget", .type = CFG_DOUBLE, FIELD(budget), .def = "0.25", .min = 1e-6, .max = 16,
     .help = "the plan's cost over every layer's at 8 x 8 bits, at most; a plan over it is "
             "lowered layer by layer from the last"},
    {.key = "reward_scale", .type = CFG_DOUBLE, FIELD(reward_scale), .def = "0.1", .min = 1e-6,
     .max = 1e6, .help = "reward = reward_scale (acc - acc_ref), validation accuracies in "
                         "percent, acc_ref the pretrained model's"},
    {.key = "pretrained", .type = CFG_STRING, FIELD(pretrained), .def = "",
     .help = "run file (or its ckpt.h5) of the finished run every fine-tune starts from; "
             "its validation accuracy in full precision is acc_ref"},
    {.key = "hidden", .type = CFG_INT, FIELD(agent.hidden), .def = "300", .min = 1,
     .max = 4096, .help = "units of both hidden layers of every network of the agent"},
    {.key = "lr_actor", .type = CFG_FLOAT, FIELD(agent.lr_actor), .def = "0.0001", .min = 1e-9,
     .max = 10, .help = "Adam rate of the actor (reinforce: of the policy; 1e-3 suits it)"},
    {.key = "lr_critic", .type = CFG_FLOAT, FIELD(agent.lr_critic), .def = "0.001",
     .min = 1e-9, .max = 10, .help = "ddpg: Adam rate of the critic"},
    {.key = "sigma", .type = CFG_FLOAT, FIELD(agent.sigma), .def = "0.5", .min = 1e-6,
     .max = 100, .help = "ddpg: spread of the truncated-normal exploration after warm-up"},
    {.key = "sigma_decay", .type = CFG_FLOAT, FIELD(agent.sigma_decay), .def = "0.99",
     .min = 1e-6, .max = 1, .help = "ddpg: the spread's factor per episode"},
    {.key = "tau", .type = CFG_FLOAT, FIELD(agent.tau), .def = "0.01", .min = 1e-6, .max = 1,
     .help = "ddpg: soft target update, target += tau (net - target)"},
    {.key = "discount", .type = CFG_FLOAT, FIELD(agent.discount), .def = "1", .min = 0,
     .max = 1, .help = "ddpg: gamma of the critic's target"},
    {.key = "batch", .type = CFG_INT, FIELD(agent.batch), .def = "64", .min = 1, .max = 65536,
     .help = "ddpg: minibatch of transitions"},
    {.key = "replay", .type = CFG_INT, FIELD(agent.replay), .def = "128", .min = 1,
     .max = 1000000, .help = "ddpg: replay capacity in episodes"},
    {.key = "updates", .type = CFG_INT, FIELD(agent.updates), .def = "1", .min = 1, .max = 1000,
     .help = "ddpg: minibatch updates per stored transition"},
    {.key = "baseline_momentum", .type = CFG_FLOAT, FIELD(agent.baseline_momentum),
     .def = "0.5", .min = 0, .max = 0.9999,
     .help = "m of the reward baseline b = m b + (1 - m) r (ddpg: per minibatch; reinforce: "
             "per episode, 0.9 suits it)"},
    {.key = "nbins", .type = CFG_INT, FIELD(agent.nbins), .def = "0", .min = 0, .max = 4096,
     .help = "reinforce: actions (k + 0.5) / nbins; 0 = one per candidate width"},
    {0},
};

int exp_search_check(const void *section, qa_err *err)
{
    return agent_haq_cfg_check(section, err);
}
