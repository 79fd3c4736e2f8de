/* cmd_run.c: `qadapt run CONFIG [--set section.key=value ...] [--out DIR]
 * [--resume]` and `qadapt run --help-config`.
 * SIGINT/SIGTERM stop the run after its current step, a second one at
 * once (cmd_stop.h). Under mpirun the ranks train one model data-parallel
 * (nn/par.h): each computes its block of the batch's shares, rank 0 alone
 * writes the run file and checkpoints, and the result is the one-process
 * run's bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/cli/cmd_args.h"
#include "experiments/cli/cmd_stop.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/schema.h"
#include "experiments/cli/sweep.h"
#include "experiments/dist/dist.h"
#include "experiments/methods/registry.h"
#include "experiments/run/checkpoint.h"
#include "experiments/run/run.h"

static void run_usage(void)
{
    printf("usage: qadapt run CONFIG [--set section.key=value ...] [--out DIR] [--resume]\n"
           "       qadapt run --help-config\n\n"
           "Trains the model CONFIG describes and writes OUT_DIR/NAME/run.h5 (HDF5: the\n"
           "resolved config, one row per epoch in /train/epochs, status). Progress goes to\n"
           "stderr. Ctrl-C stops after the current step and leaves a complete file with\n"
           "status 'interrupted' (exit code 130). Under mpirun -n R (MPI built in) the R\n"
           "ranks train data-parallel, bit for bit as one process (R <= experiment.shares;\n"
           "docs/DATA-PARALLEL.md).\n\n"
           "  --set section.key=value  override one config key (repeatable), e.g.\n"
           "                           --set train.epochs=2 --set data.limit=1000\n"
           "  --out DIR                write the run folder under DIR instead of\n"
           "                           [experiment] out_dir\n"
           "  --resume                 continue from the checkpoint (ckpt.h5, written\n"
           "                           after every epoch next to run.h5) exactly as if\n"
           "                           never stopped; the config must be the same but\n"
           "                           for train.epochs and the out dir\n"
           "  --help-config            every config key by section: default, type,\n"
           "                           range and help\n"
           "  --help                   this text\n\n"
           "A config file may start with `include = base.ini` lines (relative to the\n"
           "file): the base is read first and the file's own keys override it.\n");
}

/* A failed run's message, then what is at its run file's path. */
static int file_note(const exp_run_result *res, int rc, qa_err *err)
{
    char msg[sizeof err->msg], ck[1100];
    snprintf(msg, sizeof msg, "%s", err->msg);
    exp_ckpt_path(res->path, ck, sizeof ck);
    if (res->file == EXP_FILE_WRITTEN)
        return qa_fail(err, rc, "%s (run file %s, status failed)", msg, res->path);
    if (res->file == EXP_FILE_KEPT)
        return qa_fail(err, rc, "%s (%s is left as it was)", msg, res->path);
    if (access(ck, F_OK) == 0)
        return qa_fail(err, rc, "%s (no run file written; the last checkpoint %s is intact: "
                       "qadapt run --resume continues from it)", msg, ck);
    return qa_fail(err, rc, "%s (no run file written)", msg);
}

/* The methods checked to train over ranks bit for bit (test_train_mpi):
 * their sums over a batch go through nn's share exchange, or run whole on
 * every rank on gathered rows (nn/par.h). blockrep (a teacher network,
 * sampled blocks) is not checked yet. */
static const char *const ranked_methods[] = {"fp32", "fixed", "dqmq", "ddq", "metamix", NULL};

static int ranked(const char *method, char *list, size_t n)
{
    int ok = 0;
    size_t used = 0;
    for (int i = 0; ranked_methods[i]; i++) {
        ok |= strcmp(method, ranked_methods[i]) == 0;
        int w = snprintf(list + used, n - used, "%s%s", i ? ", " : "", ranked_methods[i]);
        used += w > 0 && (size_t)w < n - used ? (size_t)w : 0;
    }
    return ok;
}

/* A job of several ranks: one data-parallel run, refused for what cannot
 * be exact; *opts gets this rank's part. */
static int run_ranks(const exp_config *cfg, exp_run_opts *opts, qa_err *err)
{
    int n = exp_dist_size();
    if (n == 1)
        return QA_OK;
    const exp_method *m = exp_method_get(cfg->experiment.method);
    char list[128];
    if (!m || !ranked(m->name, list, sizeof list))
        return qa_fail(err, QA_ERR_UNSUPPORTED, "method %s cannot train over %d MPI ranks yet "
                       "(data-parallel training is built for %s); run it as one process, or "
                       "spread a sweep's points over ranks with qadapt sweep",
                       m ? m->name : "?", n, list);
    if (cfg->experiment.shares < n)
        return qa_fail(err, QA_ERR_CONFIG, "experiment.shares = %d is fewer than the %d MPI ranks: "
                       "each rank computes whole shares of a batch (set experiment.shares >= %d; "
                       "the results then differ in the last bits from shares = %d)",
                       cfg->experiment.shares, n, n, cfg->experiment.shares);
    exp_dist_train_hook();
    opts->agree_stop = exp_dist_max; /* Ctrl-C reaches the ranks at different steps */
    opts->agree_open = exp_dist_agree; /* a node's own dataset or folder may be missing */
    if (exp_dist_rank() > 0) {
        opts->mirror = 1;
        opts->progress = NULL;
        opts->temp_file = NULL;
    }
    return QA_OK;
}

static int run_config(const exp_config_args *a, const char *command, qa_err *err)
{
    exp_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the config");
    int rc = exp_config_load(cfg, a->config, a->sets, a->nsets, err);
    exp_run_result res = {0};
    exp_run_opts opts = {.out_dir = a->out, .command = command, .stop = exp_stop_flag(),
                         .progress = stderr, .resume = a->resume,
                         .temp_file = exp_stop_remove_on_exit};
    if (!rc)
        rc = run_ranks(cfg, &opts, err);
    rc = exp_dist_agree(rc, err); /* a config unreadable on one node: all stop here */
    if (!rc) {
        if (exp_dist_rank() == 0)
            exp_sweep_note(a->config, stderr);
        exp_stop_on_signals();
        rc = exp_run_main(cfg, &opts, &res, err);
    }
    free(cfg);
    if (rc && res.path[0])
        return file_note(&res, rc, err);
    if (rc || exp_dist_rank() > 0)
        return rc;
    if (exp_dist_size() > 1) {
        exp_dist_exchanges x = exp_dist_exchange_totals();
        fprintf(stderr, "data-parallel over %d ranks: %ld exchanges, %.1f MB received, %.2f s in "
                "them (%.1f%% of the run's %.1f s)\n", exp_dist_size(), x.calls, x.bytes / 1e6,
                x.seconds, 100.0 * x.seconds / (res.seconds > 0 ? res.seconds : 1.0), res.seconds);
    }
    printf("run file: %s\nstatus: %s after %d epochs, %.1f s\n", res.path,
           res.status == EXP_RUN_COMPLETE ? "complete" : "interrupted", res.epochs, res.seconds);
    if (!isnan(res.test_acc))
        printf("test accuracy: %.2f%%  test loss: %.4f\n", 100.0 * res.test_acc, res.test_loss);
    if (res.status == EXP_RUN_INTERRUPTED)
        return qa_fail(err, QA_ERR_INTERRUPTED, "interrupted; %s is complete with status "
                                                "'interrupted'", res.path);
    return QA_OK;
}

static int help_config(qa_err *err)
{
    char *text;
    int rc = cfg_describe(&exp_schema, &text, err);
    if (rc)
        return rc;
    printf("Config keys by [section]: key = default, then its type and range, then what it\n"
           "does. Any key can also be set with --set section.key=value.\n\n%s", text);
    free(text);
    return QA_OK;
}

int exp_cmd_run(int argc, char **argv, qa_err *err)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            run_usage();
            return QA_OK;
        }
        if (strcmp(argv[i], "--help-config") == 0)
            return help_config(err);
    }
    exp_config_args a = {0};
    a.sets = calloc((size_t)argc, sizeof *a.sets);
    if (!a.sets)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for arguments");
    int rc = exp_config_args_parse(argc, argv, "run", &a, err);
    if (rc) /* the others (given other arguments) agree in run_config */
        rc = exp_dist_agree(rc, err);
    else {
        char command[4096];
        exp_args_join(argc, argv, command, sizeof command);
        rc = run_config(&a, command, err);
    }
    free(a.sets);
    return rc;
}
