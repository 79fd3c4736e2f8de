/* h5log.h: the HDF5 run file.
 *
 * One file per run, written under a temporary name (<path>.part) and renamed
 * to <path> when the run ends, however it ends (or, for qadapt eval's
 * failures, discarded): root attributes (qadapt
 * version, git revision, start/end time, status, error), /config (the
 * resolved INI text plus one typed attribute per key) and extendible
 * chunked compound tables (/train/epochs, and whatever methods add), flushed
 * on demand so a crash leaves a readable file. h5py, pandas and h5dump read
 * it: strings are variable-length UTF-8, booleans h5py's enum.
 *
 * Deliberately not here: what the columns mean (run.c, the methods), and
 * checkpoints (a separate file). */
#ifndef EXP_H5LOG_H
#define EXP_H5LOG_H

#include <hdf5.h>
#include <stdint.h>

#include "experiments/config/config.h"
#include "nn/status.h"

typedef enum { H5LOG_I64, H5LOG_F64 } h5log_type;

typedef struct {
    char name[64];
    int type;  /* h5log_type */
    int count; /* elements per row: 1 = scalar column, > 1 = fixed-size array */
} h5log_col;

/* One cell: a row is an array with one h5log_value per column element. */
typedef union {
    int64_t i;
    double f;
} h5log_value;

typedef struct h5log h5log;
typedef struct h5log_table h5log_table;

/* Creates the directories of path and <path>.part (truncating it), and
 * writes qadapt_version, git_revision, start_time and status = "running". */
int h5log_create(h5log **out, const char *path, qa_err *err);
/* The same held in memory only: nothing is created, written or removed on
 * disk (a finished run restored to be read: run.h read_only); finish
 * refuses it, discard frees it. */
int h5log_create_mem(h5log **out, const char *path, qa_err *err);
/* Writes end_time, status and error ("" when none), closes and renames the
 * file to its final name (h5log_commit_file); when that fails (a full
 * disk), removes the .part file instead. Frees log in every case. */
int h5log_finish(h5log *log, const char *status, const char *error, qa_err *err);
/* Closes and deletes the .part file (a file in memory: closes it), leaving a
 * file already at the final name as it was (qadapt eval of a finished run
 * that failed). Frees log. */
void h5log_discard(h5log *log);
/* Durably replaces path by the closed file tmp: fsync of tmp, rename, fsync
 * of path's directory, so a crash leaves the old file or the new one. */
int h5log_commit_file(const char *tmp, const char *path, qa_err *err);
/* Makes everything written so far durable in the .part file. */
int h5log_flush(h5log *log, qa_err *err);
/* The open file, for modules that write their own datasets. */
hid_t h5log_file(const h5log *log);
const char *h5log_path(const h5log *log);

/* A string / number attribute on the object at obj ("/" for the root). */
int h5log_attr_str(h5log *log, const char *obj, const char *name, const char *value,
                   qa_err *err);
int h5log_attr_f64(h5log *log, const char *obj, const char *name, double value, qa_err *err);
int h5log_attr_i64(h5log *log, const char *obj, const char *name, int64_t value, qa_err *err);
/* A 1-D array of n doubles. */
int h5log_attr_f64v(h5log *log, const char *obj, const char *name, const double *v, int n,
                    qa_err *err);

/* /config: the INI text as a scalar string dataset and one attribute per
 * key ("section.key"), typed: int64, double, bool, string or 1-D arrays. */
int h5log_write_config(h5log *log, const cfg_doc *d, const char *text, qa_err *err);

/* An extendible table of rows at path (groups created as needed), chunked
 * by chunk rows, deflate-compressed when compress > 0 (level 1..9). */
int h5log_table_create(h5log_table **out, h5log *log, const char *path, const h5log_col *cols,
                       int ncols, int chunk, int compress, qa_err *err);
/* Index of the first value of column `name` in a row, -1 if absent. */
int h5log_table_col(const h5log_table *t, const char *name);
/* Values per row (the sum of the columns' counts). */
int h5log_table_width(const h5log_table *t);
/* Appends n rows of h5log_table_width values each. */
int h5log_table_append(h5log_table *t, const h5log_value *rows, int n, qa_err *err);
int64_t h5log_table_rows(const h5log_table *t);
/* Tables are closed by h5log_finish too; closing one earlier is allowed. */
/* 0, or -1 when the rows still cached could not be written. */
int h5log_table_close(h5log_table *t);

/* For checkpoints (checkpoint.h): the tables open in the file (the order
 * changes when one is closed), a table's path and columns, rows read back. */
int h5log_ntables(const h5log *log);
h5log_table *h5log_table_at(const h5log *log, int i);
const char *h5log_table_path(const h5log_table *t);
const h5log_col *h5log_table_cols(const h5log_table *t, int *ncols);
/* Rows [start, start + n) into rows (n * width values). */
int h5log_table_read(const h5log_table *t, int64_t start, int64_t n, h5log_value *rows,
                     qa_err *err);

/* Current UTC time as ISO 8601 ("2026-01-31T12:00:00Z"). */
void h5log_now(char *buf, size_t n);

#endif
