/* deploy_run.h: a finished run opened to be read, and its trained model
 * lowered to an integer model (deploy/), for `qadapt export` and `qadapt
 * eval --engine int`.
 *
 * The run is opened through the run engine as a library (run/run.h): its
 * stored config, resumed from its checkpoint with nothing left to train,
 * its run file's content rebuilt in memory only (read_only), then ended
 * with exp_run_discard, so the network, quantizers and policy are exactly
 * those the run evaluated and nothing on disk changes (a run in a
 * read-only folder exports; a qadapt eval of the same run may be running).
 * The method's deploy hook (run/method.h) says what the integer model is
 * made of; deploy/lower.h builds it.
 *
 * Deliberately not here: the model file and the engine (deploy/), argument
 * parsing (the commands). */
#ifndef EXP_DEPLOY_RUN_H
#define EXP_DEPLOY_RUN_H

#include <stdio.h>

#include "deploy/qam.h"
#include "experiments/run/run.h"

typedef struct {
    exp_config *cfg;   /* the stored config with the overrides (owned) */
    exp_run_opts opts;
    exp_run *r;        /* the restored run */
} exp_trained_run;

/* Opens the finished run file `run` with the overrides sets[0..n) (eval.*
 * keys) for reading; progress lines (the grid's) go to progress, NULL:
 * quiet. SIGINT/SIGTERM raise the run's stop flag. */
int exp_trained_open(exp_trained_run *t, const char *run, char *const *sets, int nsets,
                     FILE *progress, qa_err *err);
/* Ends it with nothing recorded; t may be one whose open failed. */
void exp_trained_close(exp_trained_run *t);
/* --kernel K of `qadapt infer` and `qadapt eval --engine int`: a usage
 * error (QA_ERR_ARG) naming the variants this build has unless K is one;
 * whether this CPU runs it is the engine's to say. */
int exp_kernel_arg(const char *kernel, qa_err *err);
/* The integer model of the restored run: the method's deploy hook (what it
 * said into *d), then dep_lower. */
int exp_trained_lower(exp_run *r, exp_deploy *d, dep_model *m, qa_err *err);

#endif
