/* finetune.h: the runs a search drives through the run engine (run.h),
 * internal to the search: one reference evaluation and one short
 * fine-tune per episode, each a run of the search's own config with a few
 * keys changed, in the search's folder under the name "finetune" (the
 * last one's run file stays there, a scratch file):
 *   reference  method fp32, the pretrained parameters, no training: the
 *              validation accuracy acc_ref; and the cost model of the
 *              planned layers as [quant] wraps the model;
 *   plan       method fixed at the plan's widths (quant.layer_bits), the
 *              pretrained parameters (quantizer steps start afresh on the
 *              first batch), [train]'s epochs of train.epoch_steps steps
 *              on the training split, then the validation split.
 * Neither touches the test set (exp_run_opts.no_test). Every run starts
 * from the same pretrained values and the same seed, so an episode's
 * accuracy is a function of its plan.
 * Deliberately not here: the agent, the search's file. */
#ifndef EXP_FINETUNE_H
#define EXP_FINETUNE_H

#include <signal.h>

#include "agent/haq.h"
#include "experiments/run/run.h"

typedef struct exp_finetune exp_finetune;

/* Runs of cfg (which must outlive f) in dir; stop is the search's flag. */
int exp_finetune_create(exp_finetune **out, const exp_config *cfg, const char *dir,
                        volatile sig_atomic_t *stop, qa_err *err);
void exp_finetune_free(exp_finetune *f);
/* acc_ref (a fraction) and the cost model (q_cost_model_free). */
int exp_finetune_reference(exp_finetune *f, double *acc, q_cost_model *cm, qa_err *err);
/* The plan's fine-tune: res->val_acc, val_loss, status (interrupted when
 * the stop flag was raised: the accuracy is then NaN). */
int exp_finetune_plan(exp_finetune *f, const agent_haq_plan *p, exp_run_result *res,
                      qa_err *err);

#endif
