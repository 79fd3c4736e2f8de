/* checkpoint_file.h: the checkpoint file's HDF5 pieces shared by
 * checkpoint_file.c (the file itself: atomic writing, reading, the methods'
 * put/get, the integrity pass) and checkpoint.c (the run's state). Internal
 * to those two; everything else uses checkpoint.h. */
#ifndef EXP_CHECKPOINT_FILE_H
#define EXP_CHECKPOINT_FILE_H

#include <hdf5.h>
#include <stdint.h>

#include "experiments/checkpoint.h"

#define CKPT_FORMAT "qadapt checkpoint"
enum { CKPT_VERSION = 1 };

struct exp_ckpt {
    hid_t file;
    int writing;
    char path[1024], tmp[1040];
    hid_t method; /* /method group, opened on first use */
};

/* Datasets: n-D (rank <= 2) with a Fletcher-32 checksum when not empty; a
 * read fails unless the dataset holds exactly count values of type's class
 * and size (where: its group, for messages). */
int ckpt_write_array(exp_ckpt *ck, hid_t loc, const char *name, hid_t type, const void *v,
                     int rank, const hsize_t *dims, qa_err *err);
int ckpt_write_vec(exp_ckpt *ck, hid_t loc, const char *name, hid_t type, const void *v, size_t n,
                   qa_err *err);
int ckpt_read_array(exp_ckpt *ck, hid_t loc, const char *where, const char *name, hid_t type,
                    void *v, hsize_t count, qa_err *err);

/* Scalar attributes; a missing or mistyped one is a format error. */
hid_t ckpt_str_type(void);
int ckpt_put_str(exp_ckpt *ck, hid_t loc, const char *name, const char *v, qa_err *err);
int ckpt_put_i64(exp_ckpt *ck, hid_t loc, const char *name, int64_t v, qa_err *err);
int ckpt_put_f64(exp_ckpt *ck, hid_t loc, const char *name, double v, qa_err *err);
int ckpt_get_i64(exp_ckpt *ck, hid_t loc, const char *where, const char *name, int64_t *v,
                 qa_err *err);
int ckpt_get_f64(exp_ckpt *ck, hid_t loc, const char *where, const char *name, double *v,
                 qa_err *err);
int ckpt_get_str(exp_ckpt *ck, hid_t loc, const char *where, const char *name, char *buf,
                 size_t n, qa_err *err);

/* Reads every numeric dataset under g once (checksums verified). */
int ckpt_verify_group(exp_ckpt *ck, hid_t g, const char *where, qa_err *err);

#endif
