/* main.c: the qadapt executable: dispatches to a command, and is the only
 * place that prints errors and chooses exit codes. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "experiments/cli/commands.h"
#include "version.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv, qa_err *err);
    const char *summary;
} command;

/* Add a command: implement exp_cmd_<name> in experiments/cmd_<name>.c,
 * declare it in experiments/commands.h, add one line here. */
static const command commands[] = {
    {"run", exp_cmd_run, "train a model from a config file, logging to an HDF5 run file"},
    {"sweep", exp_cmd_sweep, "run every point of a config's [sweep] grid, skipping finished ones"},
    {"search", exp_cmd_search, "search a static per-layer plan under a budget (HAQ-style RL)"},
    {"eval", exp_cmd_eval, "evaluate a finished run on the corruption grid (from its checkpoint)"},
    {"export", exp_cmd_export, "write a finished quantized run's integer model (.qam)"},
    {"infer", exp_cmd_infer, "classify images with an integer model (.qam)"},
    {"report", exp_cmd_report, "print a run file's or a sweep folder's tables"},
    {"corrupt", exp_cmd_corrupt, "corrupt an image file, or draw every corruption x severity"},
    {"info", exp_cmd_info, "version, build, BLAS and library versions"},
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

static int run_command(const command *c, int argc, char **argv)
{
    qa_err err = {0};
    int rc = c->fn(argc, argv, &err);
    if (rc != QA_OK)
        fprintf(stderr, "qadapt %s: %s\n", c->name, err.msg[0] ? err.msg : qa_status_name(rc));
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
