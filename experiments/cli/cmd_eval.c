/* cmd_eval.c: `qadapt eval RUN.h5 [--corruption C] [--severity S] [--set
 * eval.key=value ...]`: the corruption grid (grid.h) of a finished run.
 *
 * The trained state comes from the run's checkpoint (ckpt.h5 next to the
 * run file, checkpoint.h): the run is resumed with the config stored in
 * the run file and [eval] grid = true, so no epoch is left to train and the
 * grid is evaluated and written as at the end of a run. The run file is
 * rewritten through its temporary file: the same epoch rows, the new
 * /eval/grid, and /config saying which grid was evaluated; it replaces the
 * run file only when the evaluation completed (exp_run_opts.eval_only), so a
 * failed or interrupted eval leaves the finished run as it was.
 * --engine int runs the integer engine beside the fake-quant network
 * instead (eval_int.h) and writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/cli/cmd_args.h"
#include "experiments/cli/cmd_stop.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/deploy_run.h"
#include "experiments/cli/eval_int.h"
#include "experiments/cli/report.h"
#include "experiments/cli/schema.h"
#include "experiments/methods/registry.h"
#include "experiments/run/run.h"

static void eval_usage(void)
{
    printf("usage: qadapt eval RUN.h5 [--corruption C[,C...]] [--severity S[,S...]]\n"
           "                          [--set eval.key=value ...] [--engine int [--kernel K]]\n\n"
           "Evaluates the trained model of a finished run on the clean test set and every\n"
           "(corruption, severity) cell, writing /eval/grid into RUN.h5 (accuracy, loss,\n"
           "mean BitOps and mean bits per planned layer per cell; mCE against\n"
           "[eval] reference). The parameters come from the run's checkpoint (ckpt.h5\n"
           "next to RUN.h5); the config is the one stored in RUN.h5.\n\n"
           "  --corruption C   only these corruptions (eval.grid_corruptions; default:\n"
           "                   the run's, or every available one)\n"
           "  --severity S     only these severities 1..5 (eval.grid_severities)\n"
           "  --set k=v        any [eval] key, e.g. --set eval.reference=runs/fp32/run.h5\n"
           "  --engine int     run the integer engine (qadapt export's model) beside the\n"
           "                   fake-quant evaluation on the test set and the grid, print\n"
           "                   both accuracies and the images whose predictions (and\n"
           "                   widths per planned layer) differ; the run file is left\n"
           "                   as it was (default: float, the grid)\n"
           "  --kernel K       with --engine int: avx512vnni, avx2 or c (default: best)\n"
           "  --help           this text\n");
}

typedef struct {
    const char *run;
    char **sets; /* "eval.grid=true", the options', the user's */
    int nsets;
    char corr[600], sev[600];
    int engine_int;
    const char *kernel;
} eval_args;

static int parse_args(int argc, char **argv, eval_args *a, qa_err *err)
{
    a->sets[a->nsets++] = "eval.grid=true";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int rc = QA_OK;
        if (exp_arg_is(argv[i], "--set")) {
            rc = exp_arg_value(argc, argv, &i, "--set", "eval", &v, err);
            if (!rc && strncmp(v, "eval.", 5) != 0) /* the run's training stays as it was */
                rc = qa_fail(err, QA_ERR_ARG, "--set %s: qadapt eval takes [eval] keys only "
                             "(eval.key=value)", v);
            if (!rc)
                a->sets[a->nsets++] = (char *)v;
        } else if (exp_arg_is(argv[i], "--corruption")) {
            rc = exp_arg_value(argc, argv, &i, "--corruption", "eval", &v, err);
            snprintf(a->corr, sizeof a->corr, "eval.grid_corruptions=%s", rc ? "" : v);
            if (!rc)
                a->sets[a->nsets++] = a->corr;
        } else if (exp_arg_is(argv[i], "--severity")) {
            rc = exp_arg_value(argc, argv, &i, "--severity", "eval", &v, err);
            snprintf(a->sev, sizeof a->sev, "eval.grid_severities=%s", rc ? "" : v);
            if (!rc)
                a->sets[a->nsets++] = a->sev;
        } else if (exp_arg_is(argv[i], "--engine")) {
            rc = exp_arg_value(argc, argv, &i, "--engine", "eval", &v, err);
            a->engine_int = !rc && strcmp(v, "int") == 0;
            if (!rc && !a->engine_int && strcmp(v, "float") != 0)
                rc = qa_fail(err, QA_ERR_ARG, "--engine %s: expected int or float", v);
        } else if (exp_arg_is(argv[i], "--kernel")) {
            rc = exp_arg_value(argc, argv, &i, "--kernel", "eval", &a->kernel, err);
            if (!rc)
                rc = exp_kernel_arg(a->kernel, err);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = qa_fail(err, QA_ERR_ARG, "unknown option '%s' (see qadapt eval --help)", argv[i]);
        } else if (a->run) {
            rc = qa_fail(err, QA_ERR_ARG, "one RUN.h5 expected, got '%s' and '%s'", a->run,
                         argv[i]);
        } else {
            a->run = argv[i];
        }
        if (rc)
            return rc;
    }
    if (!a->run)
        return qa_fail(err, QA_ERR_ARG, "missing RUN.h5 (see qadapt eval --help)");
    if (a->kernel && !a->engine_int)
        return qa_fail(err, QA_ERR_ARG, "--kernel %s: kernels are the integer engine's "
                       "(--engine int)", a->kernel);
    return QA_OK;
}

static int eval_run(const eval_args *a, const char *command, qa_err *err)
{
    exp_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the config");
    int rc = exp_config_load_run(cfg, a->run, a->sets, a->nsets, err);
    exp_run_result res = {0};
    exp_run_opts opts = {.run_path = a->run, .command = command, .stop = exp_stop_flag(),
                         .progress = stderr, .resume = 1, .eval_only = 1,
                         .temp_file = exp_stop_remove_on_exit};
    if (!rc) {
        exp_stop_on_signals();
        rc = exp_run_main(cfg, &opts, &res, err);
    }
    int epochs = cfg->train.epochs;
    free(cfg);
    if (!rc && res.epochs < epochs)
        rc = qa_fail(err, QA_ERR_INTERRUPTED, "interrupted");
    if (!rc)
        rc = exp_report_grid(stdout, res.path, err);
    return rc;
}

int exp_cmd_eval(int argc, char **argv, qa_err *err)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            eval_usage();
            return QA_OK;
        }
    eval_args a = {0};
    a.sets = calloc((size_t)argc + 1, sizeof *a.sets);
    if (!a.sets)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for arguments");
    int rc = parse_args(argc, argv, &a, err);
    if (!rc) {
        char command[4096];
        size_t used = (size_t)snprintf(command, sizeof command, "qadapt");
        for (int i = 0; i < argc && used < sizeof command; i++)
            used += (size_t)snprintf(command + used, sizeof command - used, " %s", argv[i]);
        rc = a.engine_int ? exp_eval_int(a.run, a.sets, a.nsets, a.kernel, err)
                          : eval_run(&a, command, err);
    }
    free(a.sets);
    return rc;
}
