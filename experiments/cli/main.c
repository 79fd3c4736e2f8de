/* main.c: the qadapt executable: dispatches to a command, and is the only
 * place that prints errors and chooses exit codes. Under an MPI launcher
 * (experiments/dist/dist.h) it joins the job first; a command that is not
 * built to share its work over ranks refuses a job of more than one. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "experiments/cli/commands.h"
#include "experiments/dist/dist.h"
#include "version.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv, qa_err *err);
    const char *summary;
    int ranks; /* 0: one process only; 1: any rank of a job of several (sweep: rank 0 ends
                  the others); 2: every rank runs the whole command in step (data-parallel
                  run): a rank that fails ends the job, the others would wait for it */
} command;

/* Add a command: implement exp_cmd_<name> in experiments/cmd_<name>.c,
 * declare it in experiments/commands.h, add one line here. */
static const command commands[] = {
    {"run", exp_cmd_run, "train a model from a config file, logging to an HDF5 run file", 2},
    {"sweep", exp_cmd_sweep, "run every point of a config's [sweep] grid, skipping finished ones", 1},
    {"search", exp_cmd_search, "search a static per-layer plan under a budget (HAQ-style RL)", 0},
    {"eval", exp_cmd_eval, "evaluate a finished run on the corruption grid (from its checkpoint)", 0},
    {"export", exp_cmd_export, "write a finished quantized run's integer model (.qam)", 0},
    {"infer", exp_cmd_infer, "classify images with an integer model (.qam)", 0},
    {"report", exp_cmd_report, "print a run file's or a sweep folder's tables", 0},
    {"corrupt", exp_cmd_corrupt, "corrupt an image file, or draw every corruption x severity", 0},
    {"info", exp_cmd_info, "version, build, BLAS, MPI and library versions", 1},
};

enum { NCOMMANDS = (int)(sizeof commands / sizeof commands[0]) };

static void usage(FILE *f)
{
    fprintf(f, "usage: qadapt COMMAND [ARGS]   (qadapt COMMAND --help for its options)\n\n"
               "qadapt %s: data-quality-adaptive mixed-precision quantization\n\ncommands:\n",
            QADAPT_VERSION);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

static int exit_code(int status)
{
    if (status == QA_OK)
        return 0;
    return status == QA_ERR_ARG ? 2 : status == QA_ERR_INTERRUPTED ? 130 : 1;
}

#define RANK_GRACE_S 10

static int lockstep_failed(const command *c, int rc)
{
    return rc != QA_OK && rc != QA_ERR_INTERRUPTED && c->ranks == 2 &&
           (exp_dist_agreed() || exp_dist_exchange_totals().calls > 0);
}

/* A command in a job of one process, or of several when it can share its
 * work. A rank that fails alone would leave the others waiting for it: it
 * ends the job (rank 0 of a sweep tells the others it is done before it
 * returns, so its errors end the job cleanly). */
static int run_command(const command *c, int argc, char **argv)
{
    qa_err err = {0};
    int rc = exp_dist_init(&argc, &argv, &err);
    if (!rc && exp_dist_size() > 1 && !c->ranks)
        rc = qa_fail(&err, QA_ERR_UNSUPPORTED,
                     "started as %d MPI processes, but %s runs as one process; under mpirun, "
                     "qadapt run trains data-parallel and qadapt sweep spreads a sweep's points "
                     "over the ranks", exp_dist_size(), c->name);
    if (!rc)
        rc = c->fn(argc, argv, &err);
    char where[32] = "";
    if (exp_dist_rank() > 0)
        snprintf(where, sizeof where, " (rank %d)", exp_dist_rank());
    if (rc != QA_OK && (exp_dist_rank() == 0 || c->ranks == 1 || lockstep_failed(c, rc) ||
                          exp_dist_failed_alone()))
        fprintf(stderr, "qadapt %s: %s%s\n", c->name, err.msg[0] ? err.msg : qa_status_name(rc),
                where);
    if (rc != QA_OK && exp_dist_rank() > 0 && c->ranks == 1)
        exp_dist_abort(exit_code(rc));
    /* A data-parallel rank that failed once the ranks exchange may leave
     * others inside an exchange. Rank 0 ends the job once its run file is
     * written. Another rank gives rank 0 (which fails alike when the cause
     * is the data: NaN in the loss) time to write it and end the job, then
     * leaves without MPI_Finalize, which would wait for the others (mpirun
     * then ends the job). Before the ranks agree that all are set up
     * (exp_dist_agree) all finish cleanly. Two aborts at once crash mpirun. */
    if (lockstep_failed(c, rc)) {
        if (exp_dist_rank() == 0)
            exp_dist_abort(exit_code(rc));
        sleep(RANK_GRACE_S);
        return exit_code(rc);
    }
    exp_dist_finish();
    return exit_code(rc);
}

static const command *find_command(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    fprintf(stderr, "qadapt: unknown command '%s' (qadapt --help lists them)\n", name);
    return NULL;
}

/* `qadapt help [COMMAND]`: the list, or COMMAND --help */
static int help(int argc, char **argv)
{
    if (argc == 2) {
        usage(stdout);
        return 0;
    }
    const command *c = argc == 3 ? find_command(argv[2]) : NULL;
    if (argc > 3)
        fprintf(stderr, "qadapt: help takes at most one COMMAND (got '%s' too)\n", argv[3]);
    char *sub[] = {argv[2], "--help", NULL};
    return c ? run_command(c, 2, sub) : 2;
}

int main(int argc, char **argv)
{
    /* Every file qadapt opens it closes itself. HDF5's exit handler would
     * close again a file whose close failed (a full disk): it crashed there
     * (signal 11 in H5F__close_cb) after the error had been reported. */
    H5dont_atexit();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return help(argc, argv);
    if (strcmp(argv[1], "--version") == 0 && argc > 2) {
        fprintf(stderr, "qadapt: --version takes no arguments (got '%s')\n", argv[2]);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("qadapt %s (git %s)\n", QADAPT_VERSION, QA_GIT_REVISION);
        return 0;
    }
    const command *c = find_command(argv[1]);
    return c ? run_command(c, argc - 1, argv + 1) : 2;
}
