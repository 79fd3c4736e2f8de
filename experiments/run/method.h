/* method.h: the seam between the run engine and the training methods (fp32,
 * fixed-precision QAT, DQMQ, ...): a table of hooks the method-agnostic run
 * loop (run.h) calls.
 *
 * A method is one file, experiments/methods/method_<name>.c, defining a
 * const exp_method, and one line in the table in
 * experiments/methods/registry.c; [experiment] method names it (docs/
 * DESIGN.md section 4 works an example). Every hook may be NULL, which
 * means the default behaviour: a method with only a name trains the
 * backbone in fp32 with the default step.
 * The run calls, in order:
 *
 *   create     after the data is loaded, before the network exists: parse
 *              the method's config sections into *state (r->cfg).
 *   wrap       r->net was built by nn_model_build and is NOT finalized:
 *              replace layers (nn_net_replace_layer), add tensors, layers
 *              or buffers. Parameters do not exist yet.
 *   setup      r->net is finalized and r->opt (the backbone's optimizer) is
 *              made: register extra parameter sets with their own optimizer
 *              (exp_run_add_params: a policy network), add columns to the
 *              per-epoch table (exp_run_add_column) and create datasets of
 *              the run file (h5log_file(r->log)).
 *   train_step one optimisation step on a prepared batch (b->n samples,
 *              network input filled, labels in b->label, per-sample
 *              corruption/severity/features in b); adds the batch's loss
 *              and correct count to *s. Default: exp_step_train (forward,
 *              softmax CE, backward, r->opt step at r->lr). The run checks
 *              the loss and every registered gradient for NaN/Inf after it.
 *   eval_step  inference on a prepared batch (e.g. with per-sample bit
 *              plans); adds to *s. ev says which evaluation the batch
 *              belongs to: the test set after an epoch, the validation
 *              split, or a cell of the corruption grid (its corruption and
 *              severity). Default: exp_step_eval.
 *   epoch_end  after each epoch's evaluation: fill the method's columns of
 *              the row (indices from exp_run_add_column), write datasets.
 *   destroy    release *state (the run frees what it was given to own).
 *
 * Checkpoints (checkpoint.h). After every epoch the run saves its own state:
 * every parameter set registered with exp_run_add_params (values, buffers
 * such as quantizer steps and calibration state, the optimizer's moments and
 * step count), epoch, step and the rows of every run-file table. A method
 * whose *state holds more that later steps depend on (an nn_rng, a running
 * reward baseline, a temperature it anneals, a replay buffer) adds:
 *   save       after each epoch's checkpoint of the run's state: write that
 *              state with exp_ckpt_put under names of its choosing.
 *   load       on `qadapt run --resume`, after setup and after the run's
 *              own state (parameters, optimizers) is restored, before the
 *              first resumed epoch: read it back with exp_ckpt_get.
 * NULL = nothing beyond the run's state. A resumed run must continue bit for
 * bit as if never stopped. Tables a method appends to while training must
 * be created in setup: the resume restores the rows of those; a table made
 * later (a final summary) is not restored but made again by its maker.
 *
 * The corruption grid (grid.h) evaluates with eval_step cell by cell
 * (ev->kind = EXP_EVAL_GRID) and asks after each batch:
 *   eval_cost  the batch just evaluated: mean BitOps per sample into
 *              *bitops, mean weight / activation width of each planned
 *              layer into w and a (Q_MAX_LAYERS room); returns the number
 *              of planned layers. NULL: MACs x 32 x 32 BitOps for a method
 *              without wrap (it runs the float backbone), NaN otherwise.
 *
 * Integer deployment (`qadapt export`, `qadapt eval --engine int`: cli/
 * lowers a restored run to deploy/'s model; the method does not know how):
 *   deploy     fill *out (zeroed) with what the integer model is made of:
 *              the quantized net (layers, quantizers, plan) and how an
 *              input's widths are chosen, a constant plan's widths or the
 *              policy and the features it reads. NULL: the method has no
 *              integer model (fp32). A quantized method with a constant
 *              plan names exp_qmethod_deploy (qmethod.h).
 *
 * Reports (`qadapt report`) summarise a run's config by the keys its method
 * names in summary: lines of a title and "section.key" names (the keys the
 * method reads; a resolved config holds every key's default, and a key the
 * method ignores would read as a setting of it).
 *
 * Helpers for the methods' hooks: experiments/methods/qmethod.h (what
 * every quantized method repeats), phase.h (warm-up / main / fine-tune).
 *
 * Deliberately not here: the loop, logging of the common columns, data,
 * signals (run.c); the layers and quantizers methods use (nn/, quant/). */
#ifndef EXP_METHOD_H
#define EXP_METHOD_H

#include "agent/policy.h"
#include "experiments/io/h5log.h"
#include "nn/status.h"
#include "quant/qnet.h"

typedef struct exp_run exp_run;
typedef struct exp_batch exp_batch;
typedef struct exp_ckpt exp_ckpt;

/* Which evaluation an eval step serves. */
typedef enum {
    EXP_EVAL_TEST, /* the test set, after an epoch (eval.every) and the last one */
    EXP_EVAL_VAL,  /* the validation split of the training images (data.val_fraction) */
    EXP_EVAL_GRID, /* a cell of the corruption grid, after the last epoch (grid.h) */
} exp_eval_kind;

typedef struct {
    exp_eval_kind kind;
    int corruption, severity; /* EXP_EVAL_GRID: the cell's (ENV_CLEAN = -1 and 0: clean) */
} exp_eval;

/* What a method's integer model is made of (the deploy hook). */
typedef struct {
    const q_net *qn;
    const agent_policy *pol; /* per-input widths from this policy; NULL: the fixed ones */
    int feat_mode;           /* env_feat_mode the policy reads (ENV_FEAT_NONE: a constant) */
    int fixed_w[Q_MAX_LAYERS], fixed_a[Q_MAX_LAYERS]; /* per planned layer, without a policy */
} exp_deploy;

/* Running sums over the batches of an epoch or an evaluation. */
typedef struct {
    double loss_sum; /* sum over samples of the per-sample loss */
    long correct;    /* samples whose argmax is the label */
    long n;          /* samples */
} exp_stats;

/* One line of a run's config summary: title, then NULL-terminated keys. */
typedef struct {
    const char *title;
    const char *const *keys;
} exp_summary;

typedef struct {
    const char *name;
    const char *help;
    const exp_summary *summary; /* ends with a NULL title; NULL: nothing to summarise */
    int (*create)(exp_run *r, void **state, qa_err *err);
    int (*wrap)(exp_run *r, void *state, qa_err *err);
    int (*setup)(exp_run *r, void *state, qa_err *err);
    int (*train_step)(exp_run *r, void *state, exp_batch *b, exp_stats *s, qa_err *err);
    int (*eval_step)(exp_run *r, void *state, const exp_eval *ev, exp_batch *b, exp_stats *s,
                     qa_err *err);
    int (*epoch_end)(exp_run *r, void *state, h5log_value *row, qa_err *err);
    void (*destroy)(void *state);
    int (*save)(exp_run *r, void *state, exp_ckpt *ck, qa_err *err);
    int (*load)(exp_run *r, void *state, exp_ckpt *ck, qa_err *err);
    int (*eval_cost)(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                     float *a);
    int (*deploy)(exp_run *r, void *state, exp_deploy *out, qa_err *err);
    /* the bytes of the method's own networks beside r->net (nn_net_bytes)
     * added to *bytes, their per-sample part to *sample (run/memory.h) */
    void (*memory)(const exp_run *r, const void *state, size_t *bytes, size_t *sample);
} exp_method;

/* The default steps, for methods that add to them rather than replace them. */
int exp_step_train(exp_run *r, exp_batch *b, exp_stats *s, qa_err *err);
/* exp_step_train without its optimizer step: forward, softmax CE, zeroed
 * gradients, backward (the batch's loss and correct count into *s), for a
 * method that adds a term to the gradients before it steps r->opt. */
int exp_step_grad(exp_run *r, exp_batch *b, exp_stats *s, qa_err *err);
int exp_step_eval(exp_run *r, exp_batch *b, exp_stats *s, qa_err *err);

#endif
