/* ckpt.h: the checkpoint file (ckpt.h5 next to a run file): created as
 * <path>.tmp and committed atomically (fsync, rename, fsync of the
 * directory), read back with its format checked, typed datasets with
 * Fletcher-32 checksums and attributes, the methods' own state under
 * /method (exp_ckpt_put/get), and a pass reading every dataset so that a
 * damaged file is an error before anything is restored. The datasets a run
 * keeps there are run/checkpoint.h's business.
 *
 * Deliberately not here: what a run saves and restores (run/checkpoint.h),
 * when checkpoints are taken (run.c). */
#ifndef EXP_CKPT_H
#define EXP_CKPT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

typedef struct exp_ckpt exp_ckpt;

typedef enum { EXP_CKPT_F32, EXP_CKPT_F64, EXP_CKPT_I64, EXP_CKPT_U8 } exp_ckpt_type;

/* ckpt.h5 in the directory of the run file run_path. */
void exp_ckpt_path(const char *run_path, char *buf, size_t n);

/* A new checkpoint written to <path>.tmp; exp_ckpt_commit makes it path. */
int exp_ckpt_create(exp_ckpt **out, const char *path, qa_err *err);
/* Closes, fsyncs and renames the file over path (and fsyncs the directory);
 * frees ck in every case. */
int exp_ckpt_commit(exp_ckpt *ck, qa_err *err);
/* Opens a checkpoint for reading and checks its format. */
int exp_ckpt_read(exp_ckpt **out, const char *path, qa_err *err);
/* Frees a checkpoint being read, or abandons (deletes) one being written. */
void exp_ckpt_close(exp_ckpt *ck);

/* For methods' save/load hooks: n values of type as /method/<name>. get
 * fails (naming the checkpoint and name) when name is absent or holds
 * another type or count. */
int exp_ckpt_put(exp_ckpt *ck, const char *name, exp_ckpt_type type, const void *v, size_t n,
                 qa_err *err);
int exp_ckpt_get(exp_ckpt *ck, const char *name, exp_ckpt_type type, void *v, size_t n,
                 qa_err *err);

#define EXP_CKPT_FORMAT "qadapt checkpoint"
enum { EXP_CKPT_VERSION = 1 };

struct exp_ckpt {
    hid_t file;
    int writing;
    char path[1024], tmp[1040];
    hid_t method; /* /method group, opened on first use */
};

/* For run/checkpoint.c. Datasets: n-D (rank <= 2) with a Fletcher-32
 * checksum when not empty; a read fails unless the dataset holds exactly
 * count values of type's class and size (where: its group, for messages). */
int exp_ckpt_write_array(exp_ckpt *ck, hid_t loc, const char *name, hid_t type, const void *v,
                     int rank, const hsize_t *dims, qa_err *err);
int exp_ckpt_write_vec(exp_ckpt *ck, hid_t loc, const char *name, hid_t type, const void *v, size_t n,
                   qa_err *err);
int exp_ckpt_read_array(exp_ckpt *ck, hid_t loc, const char *where, const char *name, hid_t type,
                    void *v, hsize_t count, qa_err *err);

/* Scalar attributes; a missing or mistyped one is a format error. */
int exp_ckpt_attr_put_str(exp_ckpt *ck, hid_t loc, const char *name, const char *v, qa_err *err);
int exp_ckpt_attr_put_i64(exp_ckpt *ck, hid_t loc, const char *name, int64_t v, qa_err *err);
int exp_ckpt_attr_put_f64(exp_ckpt *ck, hid_t loc, const char *name, double v, qa_err *err);
int exp_ckpt_attr_get_i64(exp_ckpt *ck, hid_t loc, const char *where, const char *name, int64_t *v,
                 qa_err *err);
int exp_ckpt_attr_get_f64(exp_ckpt *ck, hid_t loc, const char *where, const char *name, double *v,
                 qa_err *err);
int exp_ckpt_attr_get_str(exp_ckpt *ck, hid_t loc, const char *where, const char *name, char *buf,
                 size_t n, qa_err *err);

/* Reads every numeric dataset under g once (checksums verified). */
int exp_ckpt_verify_group(exp_ckpt *ck, hid_t g, const char *where, qa_err *err);

#endif
