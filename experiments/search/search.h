/* search.h: `qadapt search CONFIG`, the HAQ-style search (Wang et al. 2019;
 * docs/METHODS.md section 6) of one static per-layer plan under a budget,
 * driving the run engine as a library: many short fine-tunes in one
 * process (finetune.h).
 *
 * An episode: the agent (agent/search.h, [search] agent) walks the planned
 * layers (agent/haq.h: one step per layer, two when [quant] tied is off),
 * each action a width among [quant] bits; the plan is lowered into
 * [search] budget; the pretrained run ([search] pretrained) is fine-tuned
 * at that plan (method fixed, the config's [train], typically a few
 * hundred steps through train.epoch_steps) and evaluated on the
 * validation split (data.val_fraction, carved from the training images;
 * the test set is never used); reward = reward_scale (acc - acc_ref) in
 * percent, acc_ref the pretrained run's validation accuracy in full
 * precision. The best plan is the episode with the highest reward (the
 * first of equals).
 *
 * Files in OUT_DIR/NAME/ (OUT_DIR: --out or [experiment] out_dir):
 *   search.h5        HDF5, written as search.h5.part and renamed when the
 *                    search ends, however it ends: root attributes as a run
 *                    file's (version, git revision, command, times, status,
 *                    error) and acc_ref, planned_layers, episodes_completed,
 *                    best_episode, best_reward, best_acc, best_cost,
 *                    seconds; /config; /search/episodes, one row per
 *                    finished episode (search_log.h); /search/best_plan.
 *   search_ckpt.h5   after every episode, atomically: /config, the rows so
 *                    far, the agent's whole state (networks, optimizer
 *                    moments, replay buffer, baselines, counters), the best
 *                    episode, acc_ref. --resume continues from it bit for
 *                    bit as if never stopped (only search.episodes and the
 *                    out dir may change).
 *   finetune/        the last fine-tune's run file (scratch).
 * The stop flag (Ctrl-C) ends the running fine-tune after its step; that
 * episode is dropped, every finished one is kept (status interrupted).
 * Deliberately not here: the agents and the search's rules (agent/), the
 * runs (run/), argument parsing (cli/cmd_search.c). */
#ifndef EXP_SEARCH_H
#define EXP_SEARCH_H

#include <signal.h>
#include <stdio.h>

#include "agent/haq.h"
#include "experiments/config/config.h"
#include "experiments/run/schema.h"

typedef struct {
    const char *out_dir;         /* overrides [experiment] out_dir, NULL: keep */
    const char *command;         /* stored in the search file */
    volatile sig_atomic_t *stop; /* raised by SIGINT/SIGTERM, NULL: none */
    FILE *progress;              /* one line per episode, NULL: quiet */
    int resume;                  /* continue from search_ckpt.h5 */
} exp_search_opts;

typedef struct {
    int status;              /* exp_run_status: complete, interrupted, failed */
    char path[1100];         /* the search file, "" when it could not be created */
    int episodes;            /* finished, in all */
    double acc_ref;          /* the pretrained run's validation accuracy (fraction) */
    int best_episode;        /* 1-based, 0 when none finished */
    double best_reward, best_acc, best_cost;
    agent_haq_plan best;     /* the best episode's plan */
    double seconds;          /* wall time of this process's search */
} exp_search_result;

/* The whole search of cfg. Returns 0 when it completed or was interrupted
 * (res->status), a negative status when it failed (the file then says
 * "failed" with the message when it could be created). */
int exp_search_main(const exp_config *cfg, const exp_search_opts *opts, exp_search_result *res,
                    qa_err *err);

/* [search]'s keys and rules (schema_search.c), for the config schema. */
extern const cfg_key exp_search_keys[];
int exp_search_check(const void *section, qa_err *err);

#endif
