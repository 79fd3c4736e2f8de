/* ddq_log.c: method ddq's columns and tables (listed in ddq_log.h). */
#include "experiments/methods/ddq_log.h"

#include <math.h>
#include <stdlib.h>

double ddq_cost_ratio(const ddq_state *st, const nn_params *p, q_cost *cost, int *wbits,
                      int *abits)
{
    int wb[Q_MAX_LAYERS], ab[Q_MAX_LAYERS];
    const q_cost_model *cm = &st->qm.qn->cost;
    *cost = q_ddq_net_cost(st->qm.qn, p, wbits ? wbits : wb, abits ? abits : ab);
    if (st->pen.kind == Q_COST_BYTES)
        return cm->bytes_fp32 > 0.0 ? cost->bytes / (cm->bytes_fp32 / 4.0) : 0.0;
    return cm->ref_int8 > 0.0 ? cost->bitops / cm->ref_int8 : 0.0;
}

static int epoch_columns(exp_run *r, ddq_state *st, qa_err *err)
{
    int rc = exp_qmethod_setup(&st->qm, r, err);
    if (!rc)
        rc = exp_run_add_f64(r, "penalty", 1, &st->c_pen, err);
    if (!rc)
        rc = exp_run_add_f64(r, "cost_ratio", 1, &st->c_ratio, err);
    if (!rc)
        rc = exp_run_add_f64(r, "target", 1, &st->c_target, err);
    return rc ? rc : exp_run_add_f64(r, "phase", 1, &st->c_phase, err);
}

int ddq_log_setup(exp_run *r, ddq_state *st, qa_err *err)
{
    int n = st->n, nlev = 1 << Q_BITS_MAX;
    const h5log_col trace[] = {{"epoch", H5LOG_I64, 1},   {"step", H5LOG_I64, 1},
                               {"cost_ratio", H5LOG_F64, 1}, {"w_bits", H5LOG_I64, n},
                               {"a_bits", H5LOG_I64, n},  {"w_range", H5LOG_F64, n},
                               {"a_range", H5LOG_F64, n}};
    const h5log_col levels[] = {{"layer", H5LOG_I64, 1},     {"w_bits", H5LOG_I64, 1},
                                {"a_bits", H5LOG_I64, 1},    {"w_levels", H5LOG_F64, nlev},
                                {"a_levels", H5LOG_F64, nlev}};
    int rc = epoch_columns(r, st, err);
    if (!rc)
        rc = h5log_table_create(&st->trace, r->log, "/train/ddq", trace, 7, 64, 0, err);
    if (!rc)
        rc = h5log_table_create(&st->levels, r->log, "/quant/ddq_levels", levels, 5, 64, 1, err);
    size_t width = (size_t)(3 + 4 * n > 3 + 2 * nlev ? 3 + 4 * n : 3 + 2 * nlev);
    st->row = rc ? NULL : calloc(width, sizeof *st->row);
    if (!rc && !st->row)
        rc = qa_fail(err, QA_ERR_NOMEM, "method ddq: out of memory for a row of %zu", width);
    return rc;
}

int ddq_log_trace(exp_run *r, ddq_state *st, long step, qa_err *err)
{
    const nn_params *p = &r->net->params;
    q_ddq_layer_stat ls[Q_MAX_LAYERS + 2];
    q_cost c;
    int n = st->n;
    h5log_value *v = st->row;
    q_ddq_net_stats(st->qm.qn, p, ls);
    v[0].i = r->epoch + 1;
    v[1].i = step;
    v[2].f = ddq_cost_ratio(st, p, &c, NULL, NULL);
    for (int l = 0; l < n; l++) {
        v[3 + l].i = ls[l].wbits;
        v[3 + n + l].i = ls[l].abits;
        v[3 + 2 * n + l].f = ls[l].wrange;
        v[3 + 3 * n + l].f = ls[l].arange;
    }
    return h5log_table_append(st->trace, v, 1, err);
}

void ddq_log_row(exp_run *r, ddq_state *st, exp_phase ph, h5log_value *row)
{
    int wb[Q_MAX_LAYERS], ab[Q_MAX_LAYERS];
    float mw[Q_MAX_LAYERS], ma[Q_MAX_LAYERS];
    q_cost c;
    double ratio = ddq_cost_ratio(st, &r->net->params, &c, wb, ab);
    for (int l = 0; l < st->qm.qn->plan->nlayers; l++) {
        mw[l] = (float)wb[l];
        ma[l] = (float)ab[l];
    }
    exp_qmethod_row(&st->qm, row, &c, mw, ma);
    row[st->c_pen].f = st->pen_steps > 0 ? st->pen_sum / (double)st->pen_steps : 0.0;
    row[st->c_ratio].f = ratio;
    row[st->c_target].f = st->pen.target;
    row[st->c_phase].f = (double)ph;
    st->pen_sum = 0.0;
    st->pen_steps = 0;
}

/* the quantizer's levels into v (nlev slots, NaN past those used) */
static int levels_of(const q_quant *q, const nn_params *p, h5log_value *v, int nlev)
{
    float lv[1 << Q_BITS_MAX];
    int k = q_ddq_levels(q, p, lv);
    for (int c = 0; c < nlev; c++)
        v[c].f = c < k ? (double)lv[c] : NAN;
    return q_ddq_bits(q, p);
}

int ddq_log_levels(exp_run *r, ddq_state *st, qa_err *err)
{
    const nn_params *p = &r->net->params;
    int nlev = 1 << Q_BITS_MAX, rc = QA_OK;
    h5log_value *v = st->row;
    for (int l = 0; !rc && l < st->n; l++) {
        const q_layer *L = st->qm.qn->layers[l];
        v[0].i = l;
        v[1].i = levels_of(&L->wq[0], p, v + 3, nlev);
        v[2].i = levels_of(&L->aq[0], p, v + 3 + nlev, nlev);
        rc = h5log_table_append(st->levels, v, 1, err);
    }
    return rc;
}
