/* cmd_report.c: `qadapt report RUN.h5|SWEEP_DIR` (tables) or `qadapt report
 * --markdown SWEEP_DIR...` (a study's results): on stdout. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "experiments/cli/commands.h"
#include "experiments/cli/report.h"

static void report_usage(void)
{
    printf("usage: qadapt report RUN.h5|SWEEP_DIR\n"
           "       qadapt report --markdown SWEEP_DIR [SWEEP_DIR ...]\n\n"
           "A run file: status, config summary, one row per epoch, final metrics and the\n"
           "corruption grid (/eval/grid) when the run has one. A sweep folder (what\n"
           "qadapt sweep wrote): one row per point from its index.csv, then, with two or\n"
           "more axes, test accuracy with the first axis down and the combinations of the\n"
           "other axes' values across (the mean where several points share a cell).\n\n"
           "--markdown: a study's results as Markdown (docs/RESULTS.md): per model and\n"
           "[experiment] group (a budget) a table of every arm ([experiment] label, else\n"
           "the method): clean, mixed and grid-mean accuracy (mean +- sd over seeds),\n"
           "realised BitOps, weight bytes and seconds, the best per column in bold; each\n"
           "arm against the best other, paired over seeds and corrupted grid cells (sign\n"
           "test and Wilcoxon signed-rank p); the run file of every number. Complete\n"
           "points only.\n");
}

int exp_cmd_report(int argc, char **argv, qa_err *err)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        report_usage();
        return QA_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "--markdown") == 0) {
        if (argc < 3)
            return qa_fail(err, QA_ERR_ARG, "--markdown: expected one or more SWEEP_DIR");
        return exp_report_markdown(stdout, argv + 2, argc - 2, err);
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return qa_fail(err, QA_ERR_ARG, "unknown option '%s' (see qadapt report --help)",
                           argv[i]);
    if (argc != 2)
        return qa_fail(err, QA_ERR_ARG, "expected one RUN.h5 or SWEEP_DIR (see qadapt report "
                                        "--help)");
    struct stat st;
    if (stat(argv[1], &st) != 0)
        return qa_fail(err, QA_ERR_IO, "%s: no such file or folder", argv[1]);
    if (S_ISDIR(st.st_mode))
        return exp_report_sweep(stdout, argv[1], err);
    return exp_report_run(stdout, argv[1], err);
}
