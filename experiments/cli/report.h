/* report.h: what `qadapt report` prints, as plain text tables.
 *
 * A run file: where and how it ended, a config summary, one row per epoch
 * of /train/epochs (the common columns plus bitops when the method logs
 * it), the final metrics, and the /eval/grid accuracy table (corruption x
 * severity, with mCE) when present. A sweep folder: its index.csv as a
 * table (one row per point), then test accuracy over the first two axes
 * (mean over the other axes) when the sweep has two axes or more.
 *
 * Deliberately not here: figures (tools/plot.py), computing anything that
 * is not in the files. */
#ifndef EXP_REPORT_H
#define EXP_REPORT_H

#include <stdio.h>

#include "nn/status.h"

int exp_report_run(FILE *f, const char *path, qa_err *err);
int exp_report_sweep(FILE *f, const char *dir, qa_err *err);
/* Only the /eval/grid table of a run file (an error when it has none). */
int exp_report_grid(FILE *f, const char *path, qa_err *err);

/* One CSV record of line (RFC 4180 quoting, no line breaks inside fields)
 * into fields[0..max) of size len each; returns the field count. */
int exp_csv_split(const char *line, char (*fields)[256], int max);

#endif
