/* cmd_search.c: `qadapt search CONFIG [--set section.key=value ...] [--out
 * DIR] [--resume]`, the HAQ-style search (experiments/search/search.h).
 * SIGINT/SIGTERM end the running fine-tune after its step and keep every
 * finished episode; a second one ends the process at once (cmd_stop.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/cli/cmd_args.h"
#include "experiments/cli/cmd_stop.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/schema.h"
#include "experiments/run/run.h"
#include "experiments/search/search.h"

static void search_usage(void)
{
    printf("usage: qadapt search CONFIG [--set section.key=value ...] [--out DIR] [--resume]\n\n"
           "Searches one static per-layer plan under a budget with a reinforcement-learning\n"
           "agent, HAQ-style (docs/METHODS.md section 6). Each episode the agent picks a\n"
           "width per planned layer ([quant] bits; weights and activations apart unless\n"
           "[quant] tied), the plan is lowered into [search] budget, the pretrained run\n"
           "([search] pretrained) is fine-tuned at that plan as [train] says (e.g.\n"
           "train.epoch_steps = 200) and scored on the validation split\n"
           "(data.val_fraction; never the test set): reward = reward_scale (acc - acc_ref).\n"
           "Writes OUT_DIR/NAME/search.h5: /search/episodes (every episode's plan, reward,\n"
           "accuracy, cost) and /search/best_plan, which `quant.plan = PATH` trains with\n"
           "method fixed. One progress line per episode goes to stderr. Ctrl-C keeps every\n"
           "finished episode (status 'interrupted', exit code 130).\n\n"
           "  --set section.key=value  override one config key (repeatable)\n"
           "  --out DIR                the search folder under DIR instead of\n"
           "                           [experiment] out_dir\n"
           "  --resume                 continue from search_ckpt.h5 (written after every\n"
           "                           episode) exactly as if never stopped; the config\n"
           "                           must be the same but for search.episodes and the\n"
           "                           out dir\n"
           "  --help                   this text (qadapt run --help-config lists [search])\n");
}

static int search_config(const exp_config_args *a, const char *command, qa_err *err)
{
    exp_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the config");
    int rc = exp_config_load(cfg, a->config, a->sets, a->nsets, err);
    exp_search_result res = {0};
    exp_search_opts opts = {.out_dir = a->out, .command = command, .stop = exp_stop_flag(),
                            .progress = stderr, .resume = a->resume};
    if (!rc) {
        exp_stop_on_signals();
        rc = exp_search_main(cfg, &opts, &res, err);
    }
    free(cfg);
    if (rc && res.path[0]) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return qa_fail(err, rc, "%s (search file %s, status failed)", msg, res.path);
    }
    if (rc)
        return rc;
    printf("search file: %s\nstatus: %s after %d episodes, %.1f s\n", res.path,
           res.status == EXP_RUN_COMPLETE ? "complete" : "interrupted", res.episodes,
           res.seconds);
    if (res.best_episode > 0) {
        printf("best: episode %d, reward %+.4f, validation accuracy %.2f%% (pretrained %.2f%%), "
               "cost %.4f\nplan (W:A per planned layer):",
               res.best_episode, res.best_reward, 100.0 * res.best_acc, 100.0 * res.acc_ref,
               res.best_cost);
        for (int l = 0; l < res.best.n; l++)
            printf("%s%d:%d", l ? "," : " ", res.best.w[l], res.best.a[l]);
        printf("\n");
    }
    if (res.status == EXP_RUN_INTERRUPTED)
        return qa_fail(err, QA_ERR_INTERRUPTED, "interrupted; %s holds the finished episodes "
                       "(--resume continues)", res.path);
    return QA_OK;
}

int exp_cmd_search(int argc, char **argv, qa_err *err)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            search_usage();
            return QA_OK;
        }
    exp_config_args a = {0};
    a.sets = calloc((size_t)argc, sizeof *a.sets);
    if (!a.sets)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for arguments");
    int rc = exp_config_args_parse(argc, argv, "search", &a, err);
    if (!rc) {
        char command[4096];
        exp_args_join(argc, argv, command, sizeof command);
        rc = search_config(&a, command, err);
    }
    free(a.sets);
    return rc;
}
