/* search_log.h: the search's files (search.h), internal to search.c:
 *
 * search.h5 (an h5log file), /search/episodes, one row per finished
 * episode:
 *   episode         1-based
 *   reward          reward_scale (val_acc - acc_ref) x 100
 *   val_acc, val_loss   of the fine-tuned plan on the validation split
 *   cost            the plan's cost in the budget's terms ([search] cost)
 *   bitops_vs_int8, weight_bytes   the plan's BitOps per sample over every
 *                   layer's at 8 x 8 bits, and its weight bytes
 *   w_bits, a_bits  the plan (per planned layer, after the budget)
 *   lowered         one-candidate steps the budget took off the widths the
 *                   actions chose
 *   actions         the agent's actions, one per step (in [0, 1])
 *   sigma           ddpg's exploration spread (0 in warm-up, reinforce)
 *   seconds         the episode's wall time; elapsed: the search's so far
 * /search/best_plan: int64 (planned layers, 2), columns weight and
 * activation width; attributes layers (the planned layers' names), episode,
 * reward, val_acc, cost.
 *
 * search_ckpt.h5 (io/ckpt.h): /config, /tables (the rows), attributes
 * episodes, acc_ref, elapsed, best_episode; /method/agent.<name> the
 * agent's state (agent_search_state), /method/best_w and best_a.
 * Deliberately not here: what an episode does (search.c). */
#ifndef EXP_SEARCH_LOG_H
#define EXP_SEARCH_LOG_H

#include <stdint.h>

#include "agent/haq.h"
#include "agent/search.h"
#include "experiments/io/ckpt.h"
#include "experiments/io/h5log.h"
#include "experiments/run/schema.h"

/* One finished episode. */
typedef struct {
    int64_t episode; /* 1-based */
    double reward, val_acc, val_loss, cost, bitops, bytes;
    agent_haq_plan plan;
    int lowered;
    float actions[2 * Q_MAX_LAYERS];
    float sigma;
    double seconds, elapsed;
} exp_episode;

typedef struct {
    h5log *log;
    h5log_table *table;
    char layers[2048]; /* the planned layers' names, comma separated */
    int nplanned, nsteps, width;
    h5log_value *row; /* (width) */
} exp_search_log;

/* search.h5.part at path with the config, the command and the planned
 * layers' names (comma separated); the episodes table. */
int exp_search_log_open(exp_search_log *sl, const char *path, const exp_config *cfg,
                        const char *command, const char *layers, int nplanned, int nsteps,
                        qa_err *err);
int exp_search_log_append(exp_search_log *sl, const exp_episode *e, qa_err *err);
/* The outcome: the best plan and the root attributes, then h5log_finish
 * with status (failed: with err's message). Returns rc unless closing
 * fails on a good search. */
int exp_search_log_close(exp_search_log *sl, const exp_episode *best, double acc_ref,
                         int64_t episodes, double seconds, const char *status, int rc,
                         qa_err *err);

/* What a search's checkpoint holds besides the rows. */
typedef struct {
    int64_t episodes;  /* finished */
    double acc_ref;    /* fraction */
    double elapsed;    /* seconds of searching so far */
    exp_episode best;  /* best.episode 0: none yet */
} exp_search_state;

int exp_search_ckpt_save(const char *path, const exp_config *cfg, const exp_search_log *sl,
                         agent_search *agent, const exp_search_state *st, qa_err *err);
/* Reads path and refuses it unless it was written with cfg (every key but
 * search.episodes and the out dir) and holds at most search.episodes
 * episodes; *st from it. */
int exp_search_ckpt_open(exp_ckpt **out, const char *path, const exp_config *cfg,
                         exp_search_state *st, qa_err *err);
/* The rows into sl's table and the agent's state into agent. */
int exp_search_ckpt_restore(exp_ckpt *ck, exp_search_log *sl, agent_search *agent,
                            qa_err *err);

#endif
