/* cmd_sweep.c: `qadapt sweep CONFIG [--set k=v ...] [--jobs N] [--out DIR]`.
 * SIGINT/SIGTERM raise a counter the sweep forwards to its children; the
 * handler stays installed, so this process always writes the index. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/cli/cmd_args.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/sweep.h"
#include "experiments/dist/dist.h"

static volatile sig_atomic_t stop_count;

static void on_signal(int sig)
{
    (void)sig;
    if (stop_count < 100)
        stop_count++;
}

static void sweep_usage(void)
{
    printf("usage: qadapt sweep CONFIG [--set section.key=value ...] [--jobs N] [--out DIR]\n\n"
           "Runs every point of CONFIG's [sweep] section, each as `qadapt run CONFIG --set\n"
           "axis=value ...` in DIR/<hash>/ (hash: of the point's resolved config), and\n"
           "writes DIR/index.csv (hash, axis values, status, test_acc, test_loss, bitops,\n"
           "seconds, grid_acc, mce, rel_mce, run). Points whose run.h5 is complete are\n"
           "skipped, so a rerun continues a sweep (a point with a checkpoint continues\n"
           "from it, as qadapt run --resume); a failed point is retried once, afresh.\n"
           "One sweep per folder: a second one on it is refused.\n\n"
           "  [sweep]\n"
           "  train.lr = 0.1, 0.05                 an axis: one value per point\n"
           "  quant.layer_bits = 4,4,8 | 2,2,8     '|' separates values with commas\n"
           "  zip = quant.w_bits, quant.a_bits     these axes advance together\n"
           "                                       (several groups: separated by '|')\n\n"
           "  --set section.key=value  override a key of every point (repeatable)\n"
           "  --jobs N                 run N points at once (default 1; under mpirun: on\n"
           "                           each rank); each uses [experiment] threads threads\n"
           "  --out DIR                the sweep folder (default: [experiment] out_dir/name)\n"
           "  --help                   this text\n\n"
           "mpirun -n R qadapt sweep ... spreads the points over R ranks (MPI built in:\n"
           "qadapt info says): rank 0 hands them out as ranks become free, each point's\n"
           "run file is written by the rank that runs it, index.csv by rank 0; DIR must\n"
           "be on a file system every rank sees.\n\n"
           "Ctrl-C stops the running points cleanly (their run files say interrupted);\n"
           "exit code 0 when every point is complete, 1 when some failed, 130 when\n"
           "interrupted.\n");
}

static int parse_args(int argc, char **argv, exp_sweep_opts *o, char **sets, qa_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int rc = QA_OK;
        if (exp_arg_is(argv[i], "--set")) {
            rc = exp_arg_value(argc, argv, &i, "--set", "sweep", &v, err);
            if (!rc)
                sets[o->nsets++] = (char *)v;
        } else if (exp_arg_is(argv[i], "--out")) {
            rc = exp_arg_value(argc, argv, &i, "--out", "sweep", &o->out_dir, err);
        } else if (exp_arg_is(argv[i], "--jobs")) {
            char *end;
            rc = exp_arg_value(argc, argv, &i, "--jobs", "sweep", &v, err);
            long n = rc ? 0 : strtol(v, &end, 10);
            if (!rc && (*end || n < 1 || n > 256))
                rc = qa_fail(err, QA_ERR_ARG, "--jobs '%s': expected a number from 1 to 256", v);
            o->jobs = (int)n;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = qa_fail(err, QA_ERR_ARG, "unknown option '%s' (see qadapt sweep --help)", argv[i]);
        } else if (o->config) {
            rc = qa_fail(err, QA_ERR_ARG, "one CONFIG expected, got '%s' and '%s'", o->config,
                         argv[i]);
        } else {
            o->config = argv[i];
        }
        if (rc)
            return rc;
    }
    if (!o->config)
        return qa_fail(err, QA_ERR_ARG, "missing CONFIG (see qadapt sweep --help)");
    return QA_OK;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int exp_cmd_sweep(int argc, char **argv, qa_err *err)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sweep_usage();
            return QA_OK;
        }
    char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for arguments");
    exp_sweep_opts o = {.jobs = 1, .stop = &stop_count, .progress = stderr, .sets = sets};
    int rc = parse_args(argc, argv, &o, sets, err);
    exp_sweep_result res;
    if (!rc) {
        install_signals();
        rc = exp_sweep_run(&o, &res, err);
    }
    free(sets);
    if ((rc && rc != QA_ERR_INTERRUPTED) || exp_dist_rank() > 0) /* rank 0 reports */
        return rc;
    printf("sweep: %s\nindex: %s/index.csv\npoints: %ld, complete %ld (%ld were already), failed "
           "%ld, interrupted %ld, pending %ld; %.1f s\n",
           res.dir, res.dir, res.points, res.complete, res.skipped, res.failed, res.interrupted,
           res.pending, res.seconds);
    if (rc)
        return rc;
    if (res.failed)
        return qa_fail(err, QA_ERR_FORMAT, "%ld of %ld points failed twice (index.csv says which; "
                                           "each point's log.txt says why)",
                       res.failed, res.points);
    return QA_OK;
}
