/* h5util.h: the HDF5 idioms every qadapt file shares, in one place: the
 * string type (variable-length UTF-8, what h5py reads as str), attribute
 * writing, and turning HDF5's error stack into a qa_err.
 *
 * Deliberately not here: what any file holds (h5log.h: run files,
 * ckpt.h: checkpoints, runfile.h: reading run files back). */
#ifndef EXP_H5UTIL_H
#define EXP_H5UTIL_H

#include <hdf5.h>

#include "nn/status.h"

/* A variable-length UTF-8 string type; the caller closes it (H5Tclose). */
hid_t exp_h5_str_type(void);

/* Writes attribute name of the object at obj (relative to loc; "." is loc
 * itself), replacing one that exists: n values of type, scalar when scalar
 * is set (then n is 1). Strings are passed as an array of char pointers.
 * Returns HDF5's status (negative on failure; exp_h5_fail says why). */
herr_t exp_h5_attr_write(hid_t loc, const char *obj, const char *name, hid_t type, int scalar,
                         hsize_t n, const void *buf);
/* A scalar string attribute (exp_h5_attr_write of exp_h5_str_type). */
herr_t exp_h5_attr_str(hid_t loc, const char *obj, const char *name, const char *value);

/* "<file>: <what>: <why>", why being the system's error where HDF5's
 * stack quotes one ("No space left on device"), else HDF5's innermost
 * message; clears HDF5's stack and returns QA_ERR_IO. */
int exp_h5_fail(const char *file, const char *what, qa_err *err);

#endif
