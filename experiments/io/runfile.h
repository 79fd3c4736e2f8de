/* runfile.h: reading run files back (h5log.h writes them) for the commands
 * that look at finished runs: sweep (status and headline metrics of a
 * point), report, eval; and a search's best plan (quant.plan). Absent objects read as absent (NaN, -1, NULL), not
 * as errors: a failed run may lack its tables, an old run lacks newer
 * columns.
 *
 * Deliberately not here: writing (h5log.h), what is printed (report.c). */
#ifndef EXP_RUNFILE_H
#define EXP_RUNFILE_H

#include <hdf5.h>
#include <stddef.h>

#include "nn/status.h"

/* Opens path read-only, HDF5's own error printing off. */
int exp_rf_open(hid_t *f, const char *path, qa_err *err);
/* exp_rf_open of a run file: refuses (naming path) a file without the
 * status attribute on / or without /train/epochs (which only a run that
 * failed before training may lack), e.g. a checkpoint. */
int exp_rf_open_run(hid_t *f, const char *path, qa_err *err);
void exp_rf_close(hid_t f);

/* 1 when the object (group, dataset) at path exists. */
int exp_rf_exists(hid_t f, const char *path);
/* A string attribute into buf; -1 (buf "") when absent or not a string. */
int exp_rf_str(hid_t f, const char *obj, const char *name, char *buf, size_t n);
/* A numeric attribute as double (the first element of an array); NaN when absent. */
double exp_rf_num(hid_t f, const char *obj, const char *name);
/* /config's INI text (malloc'd), NULL when absent. */
char *exp_rf_config(hid_t f);
/* "key = value" of section in INI text into buf; -1 when absent. */
int exp_rf_ini_value(const char *ini, const char *section, const char *key, char *buf, size_t n);

/* Column col of the table at path as doubles, row-major (rows x count, count
 * > 1 for array columns): malloc'd into *v. Returns 0, or -1 when the table
 * or column is absent (*v NULL, *rows and *count 0). */
int exp_rf_column(hid_t f, const char *table, const char *col, double **v, int *rows,
                  int *count);
/* String column col of the table at path: rows malloc'd strings in a
 * malloc'd array (free with exp_rf_free_strings); -1 when absent. */
int exp_rf_str_column(hid_t f, const char *table, const char *col, char ***v, int *rows);
void exp_rf_free_strings(char **v, int rows);

/* The plan a search found (qadapt search's /search/best_plan: one row of
 * weight and activation width per planned layer) into w and a (room for
 * max layers), *n its layers; errors name path and what is wrong. */
int exp_rf_best_plan(const char *path, int *w, int *a, int max, int *n, qa_err *err);

#endif
