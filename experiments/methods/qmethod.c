/* qmethod.c: see qmethod.h. */
#include "experiments/methods/qmethod.h"

#include <stdlib.h>
#include <string.h>

/* "a,b,c" of the layers' names (which = 0) or types (1); malloc'd */
static char *joined(const q_net *qn, int which)
{
    size_t n = 1;
    for (int k = 0; k < qn->n; k++)
        n += sizeof qn->cost.layers[k].name + 1;
    char *s = calloc(n, 1);
    for (int k = 0; s && k < qn->n; k++) {
        if (k)
            strcat(s, ",");
        strcat(s, which ? qn->cost.layers[k].type : qn->cost.layers[k].name);
    }
    return s;
}

static int write_layers(exp_run *r, const q_net *qn, qa_err *err)
{
    static const h5log_col cols[] = {{"index", H5LOG_I64, 1},    {"macs", H5LOG_I64, 1},
                                     {"params", H5LOG_I64, 1},   {"plan_row", H5LOG_I64, 1},
                                     {"w_bits", H5LOG_I64, 1},   {"a_bits", H5LOG_I64, 1}};
    h5log_table *t;
    int rc = h5log_table_create(&t, r->log, "/quant/layers", cols, 6, 64, 0, err);
    for (int k = 0; !rc && k < qn->n; k++) {
        const q_cost_layer *L = &qn->cost.layers[k];
        int pinned = L->plan_layer < 0;
        h5log_value v[6] = {{.i = k}, {.i = L->macs}, {.i = L->params}, {.i = L->plan_layer},
                            {.i = pinned ? L->wbits : -1}, {.i = pinned ? L->abits : -1}};
        rc = h5log_table_append(t, v, 1, err);
    }
    if (rc)
        return rc;
    char *names = joined(qn, 0), *types = joined(qn, 1);
    if (!names || !types)
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory writing /quant/layers");
    if (!rc)
        rc = h5log_attr_str(r->log, "/quant/layers", "names", names, err);
    if (!rc)
        rc = h5log_attr_str(r->log, "/quant/layers", "types", types, err);
    free(names);
    free(types);
    return rc;
}

void exp_qmethod_init(exp_qmethod *qm, const exp_config *cfg)
{
    memset(qm, 0, sizeof *qm);
    qm->cfg = cfg->quant;
    if (qm->cfg.input_domain == Q_INPUT_AUTO)
        qm->cfg.input_domain = cfg->data.normalize == EXP_NORM_NONE ? Q_INPUT_UNSIGNED
                                                                    : Q_INPUT_SIGNED;
}

int exp_qmethod_wrap(exp_qmethod *qm, exp_run *r, qa_err *err)
{
    return q_net_wrap(&qm->qn, r->net, &qm->cfg, err);
}

int exp_qmethod_wrap_range(exp_qmethod *qm, exp_run *r, int first, int last, qa_err *err)
{
    return q_net_wrap_range(&qm->qn, r->net, &qm->cfg, first, last, err);
}

int exp_qmethod_need_planned(const exp_qmethod *qm, const char *method, qa_err *err)
{
    if (qm->qn->plan->nlayers > 0)
        return QA_OK;
    return qa_fail(err, QA_ERR_CONFIG,
                   "method %s: the model has no planned layer (quant.first_bits/last_bits "
                   "pin all of them)", method);
}

int exp_qmethod_check_layer_bits(const exp_qmethod *qm, qa_err *err)
{
    const q_cfg *c = &qm->cfg;
    if (!c->nlayer_bits || c->nlayer_bits == qm->qn->plan->nlayers)
        return QA_OK;
    char names[512] = "";
    for (int k = 0; k < qm->qn->n; k++) {
        const q_cost_layer *L = &qm->qn->cost.layers[k];
        if (L->plan_layer < 0 || strlen(names) + strlen(L->name) + 3 >= sizeof names)
            continue;
        strcat(names, names[0] ? ", " : "");
        strcat(names, L->name);
    }
    return qa_fail(err, QA_ERR_CONFIG,
                   "quant.layer_bits has %d entries but the model has %d planned layers (%s; "
                   "first/last pinned by quant.first_bits/last_bits)",
                   c->nlayer_bits, qm->qn->plan->nlayers, names);
}

int exp_qmethod_setup(exp_qmethod *qm, exp_run *r, qa_err *err)
{
    int L = qm->qn->plan->nlayers;
    qm->c_wbits = qm->c_abits = -1;
    int rc = exp_run_add_f64(r, "bitops", 1, &qm->c_bitops, err);
    if (!rc)
        rc = exp_run_add_f64(r, "bitops_vs_fp32", 1, &qm->c_vs_fp32, err);
    if (!rc)
        rc = exp_run_add_f64(r, "bitops_vs_int8", 1, &qm->c_vs_int8, err);
    if (!rc)
        rc = exp_run_add_f64(r, "weight_bytes", 1, &qm->c_bytes, err);
    if (!rc && L > 0)
        rc = exp_run_add_f64(r, "w_bits", L, &qm->c_wbits, err);
    if (!rc && L > 0)
        rc = exp_run_add_f64(r, "a_bits", L, &qm->c_abits, err);
    return rc ? rc : write_layers(r, qm->qn, err);
}

void exp_qmethod_row(const exp_qmethod *qm, h5log_value *row, const q_cost *mean,
                     const float *mw, const float *ma)
{
    const q_net *qn = qm->qn;
    row[qm->c_bitops].f = mean->bitops;
    row[qm->c_vs_fp32].f = mean->bitops / qn->cost.ref_fp32;
    row[qm->c_vs_int8].f = mean->bitops / qn->cost.ref_int8;
    row[qm->c_bytes].f = mean->bytes;
    for (int l = 0; qm->c_wbits >= 0 && l < qn->plan->nlayers; l++) {
        row[qm->c_wbits + l].f = mw[l];
        row[qm->c_abits + l].f = ma[l];
    }
}

int exp_qmethod_cost(const exp_qmethod *qm, int n, double *bitops, float *w, float *a)
{
    const q_net *qn = qm->qn;
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += q_cost_sample(&qn->cost, qn->plan, i, NULL, NULL).bitops;
    *bitops = n > 0 ? s / n : 0.0;
    q_plan_mean_bits(qn->plan, n, w, a);
    return qn->plan->nlayers;
}

int exp_qmethod_eval_cost(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                          float *a)
{
    (void)r;
    const exp_qmethod *qm = state;
    return exp_qmethod_cost(qm, qm->constant ? 1 : b->n, bitops, w, a);
}

int exp_qmethod_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err)
{
    (void)r;
    (void)err;
    const exp_qmethod *qm = state;
    float mw[Q_MAX_LAYERS], ma[Q_MAX_LAYERS];
    q_plan_mean_bits(qm->qn->plan, 1, mw, ma);
    q_cost c = q_cost_sample(&qm->qn->cost, qm->qn->plan, 0, NULL, NULL);
    exp_qmethod_row(qm, row, &c, mw, ma);
    return QA_OK;
}

/* the constant plan's widths are those of its first sample */
int exp_qmethod_deploy(exp_run *r, void *state, exp_deploy *out, qa_err *err)
{
    (void)r;
    const exp_qmethod *qm = state;
    if (!qm->constant)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "the plan changes per input: the method's "
                       "deploy hook must give the policy that chooses it");
    const q_plan *p = qm->qn->plan;
    out->qn = qm->qn;
    for (int l = 0; l < p->nlayers; l++) {
        out->fixed_w[l] = q_plan_wbits(p, 0)[l];
        out->fixed_a[l] = q_plan_abits(p, 0)[l];
    }
    return QA_OK;
}

void exp_qmethod_free(exp_qmethod *qm)
{
    q_net_free(qm->qn);
    qm->qn = NULL;
}
