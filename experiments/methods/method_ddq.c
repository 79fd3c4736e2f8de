/* method_ddq.c: DDQ, differentiable dynamic quantization (docs/METHODS.md
 * section 9): every planned layer runs one width, ddq.max_bits, through
 * DDQ quantizers (quant/ddq.h) whose gates set the precision each side
 * really uses, learned by gradient descent with the weights, ranges and
 * (quant.ddq_adaptive) levels; a penalty on the realised BitOps or weight
 * bytes toward a target (quant/cost.h) pulls the precisions down. Static:
 * per layer, not per input. This file only sequences.
 *
 * Step by phase (phase.h; ddq.warmup and ddq.finetune epochs):
 *   warm-up  the gates frozen where the first batch opened them
 *            (quant.ddq_init_bits); weights and ranges train, no penalty.
 *   main     the task loss's gradient, plus the penalty's on the gates
 *            (q_ddq_net_penalty, after the backward and before the
 *            optimizer step); gates learn at ddq.gate_lr_mult x the
 *            backbone's learning rate.
 *   finetune the gates frozen where they are (learning rate 0, so no
 *            momentum moves them), no penalty; the rest trains.
 * With ddq.fit, when the gates stop learning (the first fine-tune step, or
 * after the last step without a fine-tune phase) q_ddq_net_fit closes the
 * least open gates until the realised cost meets the target, so the
 * network evaluated never costs more than asked.
 * Evaluation: the default step; the quantizers run their realised
 * precisions. Run-file output: ddq_log.h. */
#include <stdlib.h>

#include "experiments/methods/ddq_log.h"
#include "experiments/run/method.h"

static int need_ddq(const q_cfg *c, qa_err *err)
{
    if (c->w_kind == Q_KIND_DDQ || c->a_kind == Q_KIND_DDQ)
        return QA_OK;
    return qa_fail(err, QA_ERR_CONFIG,
                   "method ddq: quant.w_quantizer = %s and quant.a_quantizer = %s; set one or "
                   "both to ddq (the side whose precision is learned)",
                   q_kind_name(c->w_kind), q_kind_name(c->a_kind));
}

static int ddq_create(exp_run *r, void **state, qa_err *err)
{
    const exp_config *cfg = r->cfg;
    exp_phases ph = {cfg->ddq.warmup, cfg->ddq.finetune};
    int rc = exp_phases_check(&ph, cfg->train.epochs, "ddq", err);
    if (!rc)
        rc = need_ddq(&cfg->quant, err);
    if (rc)
        return rc;
    ddq_state *st = calloc(1, sizeof *st);
    if (!st)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating method ddq");
    exp_qmethod_init(&st->qm, cfg);
    q_cfg *qc = &st->qm.cfg; /* one slot per layer: B, the gates choose below it */
    qc->cand[0] = cfg->ddq.max_bits;
    qc->ncand = 1;
    qc->tied = 1;
    qc->soft = 0;
    st->qm.constant = 1;
    st->cfg = cfg->ddq;
    st->phases = ph;
    st->pen = (q_penalty){cfg->ddq.cost, cfg->ddq.form, cfg->ddq.lambda, cfg->ddq.target};
    *state = st;
    return QA_OK;
}

static int ddq_wrap(exp_run *r, void *state, qa_err *err)
{
    ddq_state *st = state;
    int B = st->cfg.max_bits;
    int rc = exp_qmethod_wrap(&st->qm, r, err);
    if (!rc)
        rc = exp_qmethod_need_planned(&st->qm, "ddq", err);
    return rc ? rc : q_plan_set_hard(st->qm.qn->plan, r->net->max_batch, B, B, NULL, NULL, err);
}

/* the learning rate multipliers of every gate view (mult) and level view */
static void set_lr_mults(const ddq_state *st, nn_params *p, float gate, float level)
{
    for (int l = 0; l < st->n; l++) {
        const q_layer *L = st->qm.qn->layers[l];
        const q_ddq *d[2] = {L->wq[0].ddq, L->aq[0].ddq};
        for (int k = 0; k < 2; k++) {
            if (d[k] && d[k]->vgate >= 0)
                p->views[d[k]->vgate].lr_mult = gate;
            if (d[k] && d[k]->vlevel >= 0)
                p->views[d[k]->vlevel].lr_mult = level;
        }
    }
}

static int ddq_setup(exp_run *r, void *state, qa_err *err)
{
    ddq_state *st = state;
    st->n = st->qm.qn->n;
    if (st->cfg.target_bits > 0)
        st->pen.target = (float)q_cost_fixed_ratio(&st->qm.qn->cost, st->pen.kind,
                                                   st->cfg.target_bits);
    set_lr_mults(st, &r->net->params, 0.0f, st->cfg.level_lr_mult);
    return ddq_log_setup(r, st, err);
}

static exp_phase phase_now(const exp_run *r, const ddq_state *st)
{
    return exp_phase_of(&st->phases, r->epoch, r->cfg->train.epochs);
}

static int ddq_train_step(exp_run *r, void *state, exp_batch *b, exp_stats *s, qa_err *err)
{
    ddq_state *st = state;
    nn_params *p = &r->net->params;
    exp_phase ph = phase_now(r, st);
    set_lr_mults(st, p, ph == EXP_PHASE_MAIN ? st->cfg.gate_lr_mult : 0.0f,
                 st->cfg.level_lr_mult);
    if (ph == EXP_PHASE_FINETUNE && st->cfg.fit) /* a no-op once fitted: the gates are frozen */
        q_ddq_net_fit(st->qm.qn, p, &st->pen, NULL);
    int rc = exp_step_grad(r, b, s, err);
    if (rc)
        return rc;
    if (ph == EXP_PHASE_MAIN) {
        st->pen_sum += q_ddq_net_penalty(st->qm.qn, p, &st->pen, NULL);
        st->pen_steps++;
    }
    nn_optim_step(r->opt, r->lr);
    long done = r->step + 1;
    if (ph == EXP_PHASE_MAIN && st->cfg.fit && done == r->total_steps)
        q_ddq_net_fit(st->qm.qn, p, &st->pen, NULL);
    if (st->cfg.log_every > 0 && done % st->cfg.log_every == 0)
        rc = ddq_log_trace(r, st, done, err);
    return rc;
}

static int ddq_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err)
{
    ddq_state *st = state;
    ddq_log_row(r, st, phase_now(r, st), row);
    int rc = QA_OK;
    if (st->cfg.log_every == 0 || r->step % st->cfg.log_every != 0)
        rc = ddq_log_trace(r, st, r->step, err);
    if (!rc && r->epoch + 1 == r->cfg->train.epochs)
        rc = ddq_log_levels(r, st, err);
    return rc;
}

/* the grid's cost: the realised widths, the same for every sample */
static int ddq_eval_cost(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                         float *a)
{
    (void)b;
    const ddq_state *st = state;
    int wb[Q_MAX_LAYERS], ab[Q_MAX_LAYERS];
    q_cost c;
    ddq_cost_ratio(st, &r->net->params, &c, wb, ab);
    *bitops = c.bitops;
    int L = st->qm.qn->plan->nlayers;
    for (int l = 0; l < L; l++) {
        w[l] = (float)wb[l];
        a[l] = (float)ab[l];
    }
    return L;
}

static void ddq_destroy(void *state)
{
    ddq_state *st = state;
    exp_qmethod_free(&st->qm);
    free(st->row);
    free(st);
}

const exp_method exp_method_ddq = {
    .name = "ddq",
    .help = "DDQ: per-layer precision, range and levels learned by gradient, a penalty on "
            "BitOps or bytes toward a target ([ddq]; quantizers [quant] ddq_*)",
    .create = ddq_create,
    .wrap = ddq_wrap,
    .setup = ddq_setup,
    .train_step = ddq_train_step,
    .epoch_end = ddq_epoch_end,
    .destroy = ddq_destroy,
    .eval_cost = ddq_eval_cost,
};
