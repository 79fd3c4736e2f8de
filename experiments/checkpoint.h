/* checkpoint.h: a run's checkpoint, ckpt.h5 next to its run file, and
 * `qadapt run --resume`.
 *
 * Written after every epoch, atomically (ckpt.h5.tmp, fsync, rename, fsync
 * of the directory): a run killed at any moment leaves the previous epoch's
 * checkpoint whole. It holds everything the next epoch depends on:
 *   /            attributes format, version, epochs (completed), step, lr,
 *                elapsed, test_acc, test_loss, method, loader_epoch
 *   /config      the resolved INI text the run was started with
 *   /sets/<name> every parameter set the run trains (exp_run_add_params):
 *                w (values), buf (batchnorm statistics, quantizer steps'
 *                calibration state), m and v (optimizer moments), attributes
 *                t (optimizer steps) and views (the views' names)
 *   /tables/<k>  every table of the run file: attributes path and columns,
 *                dataset rows (the h5log_values so far, bit for bit)
 *   /method/     what the method's save hook wrote (exp_ckpt_put)
 * Random streams need nothing more: they are keyed by (seed, stream, epoch,
 * sample) and the loader reshuffles each epoch from its key, so the epoch
 * number is their whole state; a method with its own nn_rng saves it.
 * Datasets carry Fletcher-32 checksums and the metadata HDF5's own (1.8
 * format), so a damaged file is an error when read, never silently used.
 *
 * Resume: exp_ckpt_open reads and checks the file and the config before the
 * run file is touched (a refused resume leaves everything as it was);
 * exp_ckpt_restore puts the state into the run once it is set up.
 * Deliberately not here: when checkpoints are taken (run.c), what methods
 * keep (their save/load hooks, methods.h). */
#ifndef EXP_CHECKPOINT_H
#define EXP_CHECKPOINT_H

#include <stddef.h>

#include "experiments/run.h"

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

/* The run's state after its epoch r->epoch (0-based) ended, and the
 * method's save hook, into ckpt.h5 next to the run file. */
int exp_ckpt_save(exp_run *r, const exp_run_result *res, qa_err *err);

/* For --resume: reads path and refuses it unless it was written with cfg
 * (every key equal but train.epochs, experiment.threads and out_dir; the message
 * names the first that differs) and has at most train.epochs epochs. */
int exp_ckpt_open(exp_ckpt **out, const char *path, const exp_config *cfg, qa_err *err);
/* Into the run r, set up (setup hook done, tables created): parameter
 * sets, optimizers, step, elapsed time, the run file's rows, the method's
 * load hook; res gets the epochs done (the run continues with the next)
 * and the last test metrics. */
int exp_ckpt_restore(exp_ckpt *ck, exp_run *r, exp_run_result *res, qa_err *err);

#endif
