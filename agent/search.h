/* search.h: the agents of the HAQ-style search (docs/METHODS.md section 6), one
 * interface for DDPG (search_ddpg.c) and REINFORCE (search_reinforce.c).
 *
 * An episode is a sequence of steps; at each the agent sees a state (dim
 * floats, haq.h builds them) and answers one action a in [0, 1]. After the
 * last step the episode's one reward closes it and the agent learns:
 *
 *   agent_search_act   exploring action, recorded as the episode's next step:
 *                      uniform in [0, 1] for the first `warmup` episodes,
 *                      then the agent's own exploration (DDPG: truncated
 *                      normal around the actor, spread sigma decaying per
 *                      episode; REINFORCE: a width drawn from its policy)
 *   agent_search_greedy the agent's best action now (not recorded)
 *   agent_search_end   the episode's reward: store, learn, next episode
 *
 * Randomness: the action of step t in episode e is drawn from
 * (seed, AGENT_STREAM_SEARCH_ACT, e, t), a replay minibatch from
 * (seed, AGENT_STREAM_SEARCH_REPLAY, update number, 0), so the counters
 * saved with the state are the whole RNG state.
 * Save and resume: agent_search_state walks every value later episodes
 * depend on (networks, optimizer moments and steps, replay buffer,
 * baselines, counters), one named array at a time, through a caller's
 * function that writes them (save) or overwrites them (load), so both
 * directions read the same list. It is called between episodes only.
 * Deliberately not here: what states and actions mean (haq.h), files
 * (the caller's function), the fine-tune that yields the reward. */
#ifndef AGENT_SEARCH_H
#define AGENT_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "nn/optim.h"
#include "nn/param.h"
#include "nn/rng.h"
#include "nn/status.h"

/* Stream ids (agent/ holds 0x4000-0x4fff; relax.h uses 0x4000-0x4004). */
enum {
    AGENT_STREAM_SEARCH_ACT = 0x4010,    /* a = episode, b = step */
    AGENT_STREAM_SEARCH_REPLAY = 0x4011, /* a = minibatch update number, b = 0 */
};

typedef enum { AGENT_SEARCH_DDPG, AGENT_SEARCH_REINFORCE, AGENT_SEARCH_COUNT } agent_search_kind;

typedef struct {
    int kind;            /* agent_search_kind */
    int dim;             /* state features per step */
    int max_steps;       /* steps per episode, at most */
    int hidden;          /* units of both hidden layers of every MLP (HAQ: 300) */
    int warmup;          /* first episodes: uniform random actions, no policy update */
    float lr_actor;      /* Adam rate of the actor (REINFORCE: of the policy) */
    float lr_critic;     /* ddpg: Adam rate of the critic */
    float sigma;         /* ddpg: exploration spread of the first episode after warm-up */
    float sigma_decay;   /* ddpg: its factor per episode */
    float tau;           /* ddpg: soft target update, target += tau (net - target) */
    float discount;      /* ddpg: gamma of the critic's target */
    int batch;           /* ddpg: minibatch */
    int replay;          /* ddpg: replay capacity in episodes (x max_steps transitions) */
    int updates;         /* ddpg: minibatch updates per stored transition */
    float baseline_momentum; /* m of b = m b + (1 - m) r: ddpg per minibatch of rewards
                                (their mean), reinforce per episode */
    int nbins;           /* reinforce: actions (k + 0.5) / nbins, k = 0..nbins-1 */
} agent_search_cfg;

/* HAQ's values: 300 units, lr 1e-4 / 1e-3, sigma 0.5 decaying 0.99, tau
 * 0.01, gamma 1, batch 64, 128 episodes of replay (HAQ: 128 transitions
 * per layer), 1 update per transition, warm-up 20, reward average 0.5
 * (REINFORCE: 0.9, lr 1e-3). dim, max_steps and nbins stay 0: the
 * caller's. */
void agent_search_defaults(agent_search_cfg *c, int kind);
int agent_search_cfg_check(const agent_search_cfg *c, qa_err *err);

/* What agent_search_state hands over. */
typedef enum { AGENT_VAL_F32, AGENT_VAL_F64, AGENT_VAL_I64 } agent_val_type;
typedef int (*agent_state_fn)(void *ctx, const char *name, agent_val_type type, void *v, size_t n,
                              qa_err *err);

typedef struct agent_search agent_search;

typedef struct {
    const char *name;
    int (*create)(agent_search **out, const agent_search_cfg *cfg, uint64_t seed, qa_err *err);
    /* the exploring action for state, r keyed for this step */
    float (*explore)(agent_search *s, const float *state, nn_rng *r);
    float (*greedy)(agent_search *s, const float *state);
    /* base->states / actions hold the episode's base->step steps */
    int (*learn)(agent_search *s, float reward, qa_err *err);
    int (*state)(agent_search *s, agent_state_fn fn, void *ctx, qa_err *err);
    void (*free)(agent_search *s);
} agent_search_ops;

/* Embedded first in every agent. */
struct agent_search {
    const agent_search_ops *ops;
    agent_search_cfg cfg;
    uint64_t seed;
    int64_t episode; /* finished episodes */
    int step;        /* steps of the current episode */
    float *states;   /* (max_steps, dim) of the current episode */
    float *actions;  /* (max_steps) */
};

int agent_search_create(agent_search **out, const agent_search_cfg *cfg, uint64_t seed,
                        qa_err *err);
void agent_search_free(agent_search *s);
float agent_search_act(agent_search *s, const float *state);
float agent_search_greedy(agent_search *s, const float *state);
/* Fails on a non-finite reward or if learning produced non-finite values. */
int agent_search_end(agent_search *s, float reward, qa_err *err);
int agent_search_state(agent_search *s, agent_state_fn fn, void *ctx, qa_err *err);
/* ddpg's exploration spread for the current episode (0 in warm-up and for
 * reinforce) */
float agent_search_sigma(const agent_search *s);

/* reinforce: the policy's distribution over the nbins actions for state */
void agent_search_reinforce_probs(agent_search *s, const float *state, float *p);

/* For the agents: the base's buffers (after calloc of the agent) and their
 * release; a parameter set with its optimizer through fn as
 * "<prefix>.w", "<prefix>.m", "<prefix>.v", "<prefix>.t"; the running
 * baseline b = m b + (1 - m) x (b = x the first time). */
int agent_search_base_init(agent_search *s, const agent_search_ops *ops,
                           const agent_search_cfg *cfg, uint64_t seed, qa_err *err);
void agent_search_base_free(agent_search *s);
int agent_search_params_state(nn_params *p, nn_optim *o, const char *prefix, agent_state_fn fn,
                              void *ctx, qa_err *err);
void agent_search_baseline(double *b, int64_t *have, float m, double x);
/* y = 1 / (1 + exp(-x)) */
float agent_sigmoid(float x);

#endif
