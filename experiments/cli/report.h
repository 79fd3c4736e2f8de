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

/* A sweep's index.csv, read whole. */
#define EXP_CSV_MAX_FIELDS 64
typedef struct {
    char (*cell)[EXP_CSV_MAX_FIELDS][256]; /* rows x fields, malloc'd: free(cell) */
    int rows, nfields;
    char head[EXP_CSV_MAX_FIELDS][256];
} exp_csv;

/* Reads path into *t (emptied first, whatever happens; the caller frees
 * t->cell); errors name path. */
int exp_csv_read(const char *path, exp_csv *t, qa_err *err);
/* The index of the header field name, -1 when absent. */
int exp_csv_col(const exp_csv *t, const char *name);

/* The sweep folders' runs as Markdown (RESULTS.md): per model and group
 * ([experiment] group, e.g. a BitOps budget) one table of every arm
 * ([experiment] label, else the method) with clean, mixed and grid-mean
 * accuracy (mean +- sd over seeds), realised BitOps (the grid's mean over
 * every layer at 8 x 8 bits), weight bytes and seconds, the best of each
 * column in bold; paired tests of each arm against the best other one
 * (seed x corrupted grid cell: sign test, Wilcoxon); for arms whose widths
 * vary over the grid, each planned layer's Spearman rho of width and
 * severity per corruption; the run files of every number. Only complete
 * points are read. */
int exp_report_markdown(FILE *f, char *const *dirs, int ndirs, qa_err *err);

/* One CSV record of line (RFC 4180 quoting, no line breaks inside fields)
 * into fields[0..max) of size len each; returns the field count. */
int exp_csv_split(const char *line, char (*fields)[256], int max);

#endif
