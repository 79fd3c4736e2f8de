/* method_fixed.c: fixed-precision QAT and static per-layer mixed precision.
 * Both are a constant hard plan: every sample uses quant.w_bits/a_bits in
 * every planned layer, or the widths of quant.layer_bits layer by layer
 * (first/last layers pinned by quant.first_bits/last_bits as for every
 * method). The plan's candidates are exactly the widths used, so the layers
 * register one quantizer (LSQ step, PACT alpha, ...) per width they run.
 * Training and evaluation are the default steps: the quantized layers read
 * the plan themselves. Logged: qmethod.h's columns and layer table. */
#include <stdlib.h>
#include <string.h>

#include "experiments/methods/qmethod.h"
#include "experiments/run/method.h"

static void add_width(q_cfg *c, int bits)
{
    int k = 0;
    while (k < c->ncand && c->cand[k] < bits)
        k++;
    if (k < c->ncand && c->cand[k] == bits)
        return;
    memmove(c->cand + k + 1, c->cand + k, (size_t)(c->ncand - k) * sizeof *c->cand);
    c->cand[k] = bits;
    c->ncand++;
}

/* candidates = the widths the config uses; tied when w == a everywhere */
static void resolve(q_cfg *c)
{
    c->ncand = 0;
    c->tied = 1;
    c->soft = 0;
    int n = c->nlayer_bits ? c->nlayer_bits : 1;
    for (int l = 0; l < n; l++) {
        int w = c->nlayer_bits ? c->layer_wbits[l] : c->w_bits;
        int a = c->nlayer_bits ? c->layer_abits[l] : c->a_bits;
        add_width(c, w);
        add_width(c, a);
        c->tied &= w == a;
    }
}

static int fixed_create(exp_run *r, void **state, qa_err *err)
{
    exp_qmethod *qm = calloc(1, sizeof *qm);
    if (!qm)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating method fixed");
    exp_qmethod_init(qm, r->cfg);
    resolve(&qm->cfg);
    qm->constant = 1;
    *state = qm;
    return QA_OK;
}

static int fixed_wrap(exp_run *r, void *state, qa_err *err)
{
    exp_qmethod *qm = state;
    int rc = exp_qmethod_wrap(qm, r, err);
    if (!rc)
        rc = exp_qmethod_check_layer_bits(qm, err);
    const q_cfg *c = &qm->cfg;
    return rc ? rc : q_plan_set_hard(qm->qn->plan, r->net->max_batch, c->w_bits, c->a_bits,
                                     c->nlayer_bits ? c->layer_wbits : NULL,
                                     c->nlayer_bits ? c->layer_abits : NULL, err);
}

static int fixed_setup(exp_run *r, void *state, qa_err *err)
{
    return exp_qmethod_setup(state, r, err);
}

static void fixed_destroy(void *state)
{
    exp_qmethod_free(state);
    free(state);
}

/* the keys of qadapt report's config summary */
static const char *const fixed_keys[] = {"quant.w_quantizer", "quant.a_quantizer", "quant.w_bits",
                                         "quant.a_bits", "quant.layer_bits", "quant.first_bits",
                                         "quant.last_bits", NULL};
static const exp_summary fixed_summary[] = {{"quant:   ", fixed_keys}, {NULL, NULL}};

const exp_method exp_method_fixed = {
    .name = "fixed",
    .help = "QAT at constant widths: quant.w_bits/a_bits, or quant.layer_bits per layer",
    .summary = fixed_summary,
    .create = fixed_create,
    .wrap = fixed_wrap,
    .setup = fixed_setup,
    .epoch_end = exp_qmethod_epoch_end,
    .destroy = fixed_destroy,
    .eval_cost = exp_qmethod_eval_cost,
    .deploy = exp_qmethod_deploy,
};
