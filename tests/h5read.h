/* h5read.h: reading run files back in tests with the plain HDF5 API. */
#ifndef QA_TEST_H5READ_H
#define QA_TEST_H5READ_H

#include <hdf5.h>
#include <stdint.h>

/* malloc'd copy of a string attribute or of a scalar string dataset */
char *h5read_str_attr(hid_t f, const char *obj, const char *name);
char *h5read_str_dataset(hid_t f, const char *path);
double h5read_f64_attr(hid_t f, const char *obj, const char *name);
int64_t h5read_i64_attr(hid_t f, const char *obj, const char *name);
/* Rows of a table and column `col` as doubles (malloc'd), or NULL. */
double *h5read_column(hid_t f, const char *table, const char *col, int *nrows);
/* The same for a column of any count of values per row: nrows * count
 * doubles, row by row, the count into *count. */
double *h5read_array_column(hid_t f, const char *table, const char *col, int *nrows,
                            int *count);

#endif
