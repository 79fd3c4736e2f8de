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
 *                calibration state), m and v (optimizer moments), layout
 *                (per view: 1 for a buffer, offset, size), attributes t
 *                (optimizer steps) and views (the views' names)
 *   /net         what the backbone was built for (pretrained.h reads it):
 *                attributes arch, dataset, classes, input_c, input_h,
 *                input_w; datasets input_mean, input_std (per channel)
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
 * keep (their save/load hooks, method.h). */
#ifndef EXP_CHECKPOINT_H
#define EXP_CHECKPOINT_H

#include <stddef.h>

#include "experiments/io/ckpt.h"
#include "experiments/run/run.h"

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

/* The pieces, for other drivers' checkpoints (a search's): the resolved
 * config as /config; a check that ck's /config equals cfg in every key but
 * may_change ("section.key", or a prefix ending in '*'), the message
 * naming the first that differs and ending with why; every table of log
 * as /tables, and back: the saved rows log's tables do not have yet are
 * appended (a table log lacks is left to whoever creates it later). */
int exp_ckpt_put_config(exp_ckpt *ck, const exp_config *cfg, qa_err *err);
int exp_ckpt_check_config(exp_ckpt *ck, const exp_config *cfg, const char *const *may_change,
                          const char *why, qa_err *err);
int exp_ckpt_put_tables(exp_ckpt *ck, const h5log *log, qa_err *err);
int exp_ckpt_get_tables(exp_ckpt *ck, h5log *log, qa_err *err);

#endif
