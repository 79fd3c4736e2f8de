/* method_fixed.c: fixed-precision QAT and static per-layer mixed precision.
 * Both are a constant hard plan: every sample uses quant.w_bits/a_bits in
 * every planned layer, or the widths of quant.layer_bits layer by layer
 * (first/last layers pinned by quant.first_bits/last_bits as for every
 * method). The plan's candidates are exactly the widths used, so the layers
 * register one quantizer (LSQ step, PACT alpha, ...) per width they run.
 * Training and evaluation are the default steps: the quantized layers read
 * the plan themselves. Logged: the quant_log.h columns and layer table. */
#include <stdlib.h>
#include <string.h>

#include "experiments/deploy_run.h"
#include "experiments/methods.h"
#include "experiments/quant_log.h"
#include "experiments/run.h"
#include "quant/qnet.h"

typedef struct {
    q_cfg cfg;       /* [quant] resolved for this method */
    q_net *qn;
    exp_qlog_cols cols;
} fixed_state;

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
static void resolve(q_cfg *c, const exp_config *cfg)
{
    *c = cfg->quant;
    if (c->input_domain == Q_INPUT_AUTO)
        c->input_domain = cfg->data.normalize == EXP_NORM_NONE ? Q_INPUT_UNSIGNED : Q_INPUT_SIGNED;
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
    (void)err;
    fixed_state *st = calloc(1, sizeof *st);
    if (!st)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating method fixed");
    resolve(&st->cfg, r->cfg);
    *state = st;
    return QA_OK;
}

static int count_error(const fixed_state *st, qa_err *err)
{
    char names[512] = "";
    for (int k = 0; k < st->qn->n; k++) {
        const q_cost_layer *L = &st->qn->cost.layers[k];
        if (L->plan_layer < 0 || strlen(names) + strlen(L->name) + 3 >= sizeof names)
            continue;
        strcat(names, names[0] ? ", " : "");
        strcat(names, L->name);
    }
    return qa_fail(err, QA_ERR_CONFIG,
                   "quant.layer_bits has %d entries but the model has %d planned layers (%s; "
                   "first/last pinned by quant.first_bits/last_bits)",
                   st->cfg.nlayer_bits, st->qn->plan->nlayers, names);
}

static int fixed_wrap(exp_run *r, void *state, qa_err *err)
{
    fixed_state *st = state;
    int rc = q_net_wrap(&st->qn, r->net, &st->cfg, err);
    if (rc < 0)
        return rc;
    const q_cfg *c = &st->cfg;
    if (c->nlayer_bits && c->nlayer_bits != st->qn->plan->nlayers)
        return count_error(st, err);
    return q_plan_set_hard(st->qn->plan, r->net->max_batch, c->w_bits, c->a_bits,
                           c->nlayer_bits ? c->layer_wbits : NULL,
                           c->nlayer_bits ? c->layer_abits : NULL, err);
}

static int fixed_setup(exp_run *r, void *state, qa_err *err)
{
    fixed_state *st = state;
    return exp_qlog_setup(r, st->qn, &st->cols, err);
}

static int fixed_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err)
{
    (void)r;
    (void)err;
    fixed_state *st = state;
    float mw[Q_MAX_LAYERS], ma[Q_MAX_LAYERS];
    q_plan_mean_bits(st->qn->plan, 1, mw, ma);
    q_cost c = q_cost_sample(&st->qn->cost, st->qn->plan, 0, NULL, NULL);
    exp_qlog_row(row, &st->cols, st->qn, &c, mw, ma);
    return QA_OK;
}

/* The plan is constant: every sample costs what sample 0 does. */
static int fixed_eval_cost(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                           float *a)
{
    (void)r;
    (void)b;
    fixed_state *st = state;
    q_plan_mean_bits(st->qn->plan, 1, w, a);
    *bitops = q_cost_sample(&st->qn->cost, st->qn->plan, 0, NULL, NULL).bitops;
    return st->qn->plan->nlayers;
}

/* the constant plan's widths (sample 0's row) */
static int fixed_deploy(exp_run *r, void *state, exp_deploy *out, qa_err *err)
{
    (void)r;
    (void)err;
    fixed_state *st = state;
    const q_plan *p = st->qn->plan;
    out->qn = st->qn;
    for (int l = 0; l < p->nlayers; l++) {
        out->fixed_w[l] = q_plan_wbits(p, 0)[l];
        out->fixed_a[l] = q_plan_abits(p, 0)[l];
    }
    return QA_OK;
}

static void fixed_destroy(void *state)
{
    fixed_state *st = state;
    q_net_free(st->qn);
    free(st);
}

const exp_method exp_method_fixed = {
    .name = "fixed",
    .help = "QAT at constant widths: quant.w_bits/a_bits, or quant.layer_bits per layer",
    .create = fixed_create,
    .wrap = fixed_wrap,
    .setup = fixed_setup,
    .epoch_end = fixed_epoch_end,
    .destroy = fixed_destroy,
    .eval_cost = fixed_eval_cost,
    .deploy = fixed_deploy,
};
