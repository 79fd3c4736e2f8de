/* qmethod.h: what every quantized method repeats, in one place, so fixed
 * precision, static mixed precision and adaptive methods resolve, wrap,
 * check and log alike:
 *   - [quant] resolved for the method (quant.input = auto: unsigned input
 *     when data.normalize = none, signed otherwise);
 *   - the network wrapped with quantized layers: every conv/dense layer, or
 *     those of a range of the net's layers (a block of it);
 *   - the plan's checks (a planned layer exists; quant.layer_bits has one
 *     entry per planned layer);
 *   - what the run file gets:
 *       /train/epochs columns  bitops (mean per sample), bitops_vs_fp32,
 *                              bitops_vs_int8, weight_bytes, w_bits and
 *                              a_bits (mean width of each planned layer)
 *       /quant/layers          one row per quantized layer: index, macs,
 *                              params, plan_row (-1 pinned), w_bits, a_bits
 *                              (pinned widths, or -1 when planned);
 *                              attributes "names" and "types" (comma
 *                              separated, in order)
 *   - the evaluation cost the corruption grid asks for (method.h eval_cost);
 *   - for a plan that never changes, what its integer model is made of
 *     (method.h deploy): the quantized net and the plan's widths.
 * A method whose state struct begins with an exp_qmethod can name
 * exp_qmethod_eval_cost (and, for a plan that never changes,
 * exp_qmethod_epoch_end and exp_qmethod_deploy) as its hooks directly.
 * Deliberately not here: filling the plan (the methods), the layers and the
 * cost model (quant/). */
#ifndef EXP_QMETHOD_H
#define EXP_QMETHOD_H

#include "experiments/run/run.h"
#include "quant/qnet.h"

typedef struct {
    q_cfg cfg;   /* [quant] as this method uses it */
    q_net *qn;   /* after wrap */
    int constant; /* every sample of every batch runs the same plan (set by the method) */
    int c_bitops, c_vs_fp32, c_vs_int8, c_bytes; /* column indices in the row */
    int c_wbits, c_abits;                        /* -1 when no layer is planned */
} exp_qmethod;

/* [quant] of cfg into qm->cfg, quant.input = auto resolved. */
void exp_qmethod_init(exp_qmethod *qm, const exp_config *cfg);
/* In the wrap hook: every quantizable layer of r->net. */
int exp_qmethod_wrap(exp_qmethod *qm, exp_run *r, qa_err *err);
/* ... or those among r->net's layers [first, last] (indices into
 * net->layers); first/last pinning still counts the whole net's layers. */
int exp_qmethod_wrap_range(exp_qmethod *qm, exp_run *r, int first, int last, qa_err *err);
/* An error naming method when every layer is pinned (nothing to plan). */
int exp_qmethod_need_planned(const exp_qmethod *qm, const char *method, qa_err *err);
/* An error naming the planned layers when quant.layer_bits is set with
 * another count than the plan's layers. */
int exp_qmethod_check_layer_bits(const exp_qmethod *qm, qa_err *err);

/* In the setup hook: adds the columns and writes /quant/layers. */
int exp_qmethod_setup(exp_qmethod *qm, exp_run *r, qa_err *err);
/* Fills the columns: mean cost per sample and mean widths (nplanned each). */
void exp_qmethod_row(const exp_qmethod *qm, h5log_value *row, const q_cost *mean,
                     const float *mw, const float *ma);

/* Mean BitOps per sample and mean widths of the plan's samples [0, n). */
int exp_qmethod_cost(const exp_qmethod *qm, int n, double *bitops, float *w, float *a);
/* Hooks for a state that begins with an exp_qmethod: the grid's cost of
 * the batch just evaluated (one sample when qm->constant), and a constant
 * plan's row (its cost and widths, every epoch the same). */
int exp_qmethod_eval_cost(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                          float *a);
int exp_qmethod_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err);

/* The deploy hook of a constant plan (qm->constant): the quantized net and
 * the widths every input runs; an error for a plan that changes per input,
 * whose method says which policy chooses it. */
int exp_qmethod_deploy(exp_run *r, void *state, exp_deploy *out, qa_err *err);

void exp_qmethod_free(exp_qmethod *qm);

#endif
