/* fuzz_h5.h: HDF5 files built from fuzz input, for the targets of the
 * readers of run files and checkpoints (fuzz_runfile.c, fuzz_ckpt.c).
 * The input chooses which objects exist, their types, shapes and values,
 * so the fuzzer explores what our readers make of files HDF5 itself
 * accepts (a reader's assumptions about types and shapes), not HDF5's own
 * parser of damaged files (HDF5's fuzzing covers that); a file can also be
 * cut short, as a full disk or a copy that stopped leaves it.
 *
 * Not here: what the targets check of the readers' answers. */
#ifndef QA_FUZZ_H5_H
#define QA_FUZZ_H5_H

#include <hdf5.h>

#include "fuzz_util.h"

/* A value type chosen by a byte: f64, f32, i64, i32, u8, a fixed-length
 * string of 8 bytes (not always terminated) or a variable-length string. */
hid_t fuzz_h5_type(fuzz_bytes *b);
/* A scalar or 1-D (0..3 values) attribute name on obj of a chosen type,
 * its values from the input. */
void fuzz_h5_attr(fuzz_bytes *b, hid_t obj, const char *name);
/* A string attribute (variable length) holding text. */
void fuzz_h5_attr_text(hid_t obj, const char *name, const char *text);
/* A scalar variable-length string dataset at path holding text. */
void fuzz_h5_text(hid_t loc, const char *path, const char *text);
/* A NUL-terminated string of up to n - 1 input bytes into buf. */
void fuzz_h5_take_text(fuzz_bytes *b, char *buf, size_t n);
/* A table at path: a 1-D dataset (0..6 rows; sometimes a scalar) of a
 * compound type whose members are chosen among cols (each present or
 * not, of a chosen type, sometimes an array of 1..4), values from the
 * input; or, by a byte's choice, a group or a plain f64 dataset. */
void fuzz_h5_table(fuzz_bytes *b, hid_t loc, const char *path, const char *const *cols);
/* Cuts path to a length the input chooses (a byte: 0..255/256 of its
 * size) when the input asks for it (the byte's value < 32). */
void fuzz_h5_maybe_cut(fuzz_bytes *b, const char *path);

#endif
