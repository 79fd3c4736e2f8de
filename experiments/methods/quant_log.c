/* quant_log.c: the quantized methods' columns and layer table. */
#include "experiments/methods/quant_log.h"

#include <stdlib.h>
#include <string.h>

static int add_col(exp_run *r, const char *name, int count, int *at, qa_err *err)
{
    int rc = exp_run_add_column(r, name, H5LOG_F64, count, err);
    *at = rc;
    return rc < 0 ? rc : QA_OK;
}

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

int exp_qlog_setup(exp_run *r, const q_net *qn, exp_qlog_cols *c, qa_err *err)
{
    int L = qn->plan->nlayers;
    c->wbits = c->abits = -1;
    int rc = add_col(r, "bitops", 1, &c->bitops, err);
    if (!rc)
        rc = add_col(r, "bitops_vs_fp32", 1, &c->vs_fp32, err);
    if (!rc)
        rc = add_col(r, "bitops_vs_int8", 1, &c->vs_int8, err);
    if (!rc)
        rc = add_col(r, "weight_bytes", 1, &c->bytes, err);
    if (!rc && L > 0)
        rc = add_col(r, "w_bits", L, &c->wbits, err);
    if (!rc && L > 0)
        rc = add_col(r, "a_bits", L, &c->abits, err);
    return rc ? rc : write_layers(r, qn, err);
}

void exp_qlog_row(h5log_value *row, const exp_qlog_cols *c, const q_net *qn, const q_cost *mean,
                  const float *mw, const float *ma)
{
    row[c->bitops].f = mean->bitops;
    row[c->vs_fp32].f = mean->bitops / qn->cost.ref_fp32;
    row[c->vs_int8].f = mean->bitops / qn->cost.ref_int8;
    row[c->bytes].f = mean->bytes;
    for (int l = 0; c->wbits >= 0 && l < qn->plan->nlayers; l++) {
        row[c->wbits + l].f = mw[l];
        row[c->abits + l].f = ma[l];
    }
}
