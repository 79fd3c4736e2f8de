/* cost.c: BitOps and weight bytes of hard and soft plans, and the table. */
#include "quant/cost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

q_cost q_cost_uniform(const q_cost_model *cm, int wbits, int abits)
{
    q_cost c = {0.0, 0.0};
    for (int l = 0; l < cm->n; l++) {
        c.bitops += (double)cm->layers[l].macs * wbits * abits;
        c.bytes += (double)cm->layers[l].params * wbits / 8.0;
    }
    return c;
}

q_cost q_cost_fixed(const q_cost_model *cm, int wbits, int abits)
{
    QA_ASSERT(cm->nplanned <= Q_MAX_LAYERS);
    int wb[Q_MAX_LAYERS], ab[Q_MAX_LAYERS];
    for (int l = 0; l < cm->nplanned; l++) {
        wb[l] = wbits;
        ab[l] = abits;
    }
    return q_cost_layers(cm, wb, ab);
}

q_cost q_cost_layers(const q_cost_model *cm, const int *wbits, const int *abits)
{
    q_cost c = {0.0, 0.0};
    for (int l = 0; l < cm->n; l++) {
        const q_cost_layer *L = &cm->layers[l];
        int row = L->plan_layer;
        int wb = row >= 0 ? wbits[row] : L->wbits, ab = row >= 0 ? abits[row] : L->abits;
        c.bitops += (double)L->macs * wb * ab;
        c.bytes += (double)L->params * wb / 8.0;
    }
    return c;
}

/* the penalty's reference: every layer at 8 bits */
static double ref_8bit(const q_cost_model *cm, int bytes)
{
    return bytes ? cm->bytes_fp32 / 4.0 : cm->ref_int8;
}

double q_cost_fixed_ratio(const q_cost_model *cm, int kind, int bits)
{
    int bytes = kind == Q_COST_BYTES;
    q_cost c = q_cost_fixed(cm, bits, bits);
    double ref = ref_8bit(cm, bytes);
    return ref > 0.0 ? (bytes ? c.bytes : c.bitops) / ref : 0.0;
}

double q_cost_penalty(const q_cost_model *cm, const int *wbits, const int *abits,
                      const q_penalty *pen, double *ratio, double *gw, double *ga)
{
    int bytes = pen->kind == Q_COST_BYTES;
    q_cost c = q_cost_layers(cm, wbits, abits);
    double ref = ref_8bit(cm, bytes);
    double r = ref > 0.0 ? (bytes ? c.bytes : c.bitops) / ref : 0.0, d = r - pen->target;
    double sign = d > 0.0 ? 1.0 : (d < 0.0 && pen->form == Q_PENALTY_ABS ? -1.0 : 0.0);
    double k = ref > 0.0 ? sign * pen->lambda / ref : 0.0;
    for (int l = 0; l < cm->n; l++) {
        const q_cost_layer *L = &cm->layers[l];
        int row = L->plan_layer;
        if (row < 0)
            continue;
        if (gw)
            gw[row] = k * (bytes ? (double)L->params / 8.0 : (double)L->macs * abits[row]);
        if (ga)
            ga[row] = bytes ? 0.0 : k * (double)L->macs * wbits[row];
    }
    if (ratio)
        *ratio = r;
    return pen->lambda * (pen->form == Q_PENALTY_ABS ? fabs(d) : fmax(d, 0.0));
}

int q_cost_model_init(q_cost_model *cm, const q_cost_layer *layers, int n, qa_err *err)
{
    memset(cm, 0, sizeof *cm);
    for (int l = 0; l < n; l++) {
        int row = layers[l].plan_layer;
        if (row >= 0 && row != cm->nplanned)
            return qa_fail(err, QA_ERR_ARG, "cost model: layer %s has plan row %d, expected %d",
                           layers[l].name, row, cm->nplanned);
        cm->nplanned += row >= 0;
    }
    cm->layers = malloc((size_t)(n ? n : 1) * sizeof *cm->layers);
    if (!cm->layers)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory building the cost model");
    memcpy(cm->layers, layers, (size_t)n * sizeof *layers);
    cm->n = n;
    cm->ref_fp32 = q_cost_uniform(cm, 32, 32).bitops;
    cm->ref_int8 = q_cost_uniform(cm, 8, 8).bitops;
    cm->bytes_fp32 = q_cost_uniform(cm, 32, 32).bytes;
    return QA_OK;
}

void q_cost_model_free(q_cost_model *cm)
{
    free(cm->layers);
    memset(cm, 0, sizeof *cm);
}

static double mean_width(const float *prob, const q_plan *p)
{
    double e = 0.0;
    for (int k = 0; k < p->ncand; k++)
        e += (double)prob[k] * p->cand[k];
    return e;
}

/* One planned layer in soft mode; gradients into the sample's row. */
static void soft_layer(const q_cost_layer *L, const q_plan *p, int i, float *gw, float *ga,
                       q_cost *c)
{
    int row = L->plan_layer;
    const float *pw = q_plan_pw(p, i, row), *pa = q_plan_pa(p, i, row);
    int hard_w = p->mode == Q_PLAN_SOFT_A;
    double ew = hard_w ? q_plan_wbits(p, i)[row] : mean_width(pw, p), macs = (double)L->macs;
    float *gwr = gw ? gw + (size_t)row * p->ncand : NULL;
    float *gar = ga ? ga + (size_t)row * p->ncand : NULL;
    c->bytes += (double)L->params * ew / 8.0;
    if (p->tied) {
        for (int k = 0; k < p->ncand; k++) {
            double ck = p->cand[k];
            c->bitops += macs * pw[k] * ck * ck;
            if (gwr)
                gwr[k] = (float)(macs * ck * ck);
        }
        return;
    }
    double ea = mean_width(pa, p);
    c->bitops += macs * ew * ea;
    for (int k = 0; k < p->ncand; k++) {
        if (gwr)
            gwr[k] = hard_w ? 0.0f : (float)(macs * p->cand[k] * ea);
        if (gar)
            gar[k] = (float)(macs * p->cand[k] * ew);
    }
}

/* One layer at the widths sample i runs (pinned, the plan's hard row, or
 * with argmax the most probable of its soft row). */
static void hard_layer(const q_cost_layer *L, const q_plan *p, int i, int argmax, q_cost *c)
{
    int wb = L->wbits, ab = L->abits, row = L->plan_layer;
    if (row >= 0 && argmax) {
        wb = p->cand[q_plan_argmax(q_plan_pw(p, i, row), p->ncand)];
        ab = p->cand[q_plan_argmax(q_plan_pa(p, i, row), p->ncand)];
    } else if (row >= 0) {
        wb = q_plan_wbits(p, i)[row];
        ab = q_plan_abits(p, i)[row];
    }
    c->bitops += (double)L->macs * wb * ab;
    c->bytes += (double)L->params * wb / 8.0;
}

q_cost q_cost_sample(const q_cost_model *cm, const q_plan *p, int i, float *gw, float *ga)
{
    q_cost c = {0.0, 0.0};
    for (int l = 0; l < cm->n; l++) {
        const q_cost_layer *L = &cm->layers[l];
        if (L->plan_layer >= 0 && p->mode != Q_PLAN_HARD)
            soft_layer(L, p, i, gw, ga, &c);
        else
            hard_layer(L, p, i, 0, &c);
    }
    return c;
}

q_cost q_cost_argmax(const q_cost_model *cm, const q_plan *p, int i)
{
    q_cost c = {0.0, 0.0};
    for (int l = 0; l < cm->n; l++)
        hard_layer(&cm->layers[l], p, i, 1, &c);
    return c;
}

void q_cost_print(const q_cost_model *cm, FILE *f)
{
    fprintf(f, "%-20s %-10s %5s %12s %10s %16s %14s %10s\n", "layer", "type", "plan", "MACs",
            "weights", "BitOps@32x32", "BitOps@8x8", "bytes@8");
    int64_t macs = 0, params = 0;
    for (int l = 0; l < cm->n; l++) {
        const q_cost_layer *L = &cm->layers[l];
        char plan[24];
        if (L->plan_layer >= 0)
            snprintf(plan, sizeof plan, "%d", L->plan_layer);
        else
            snprintf(plan, sizeof plan, "%d/%d", L->wbits, L->abits);
        fprintf(f, "%-20s %-10s %5s %12lld %10lld %16.4g %14.4g %10lld\n", L->name, L->type, plan,
                (long long)L->macs, (long long)L->params, (double)L->macs * 1024.0,
                (double)L->macs * 64.0, (long long)L->params);
        macs += L->macs;
        params += L->params;
    }
    fprintf(f, "%-20s %-10s %5s %12lld %10lld %16.4g %14.4g %10lld\n", "total", "", "",
            (long long)macs, (long long)params, cm->ref_fp32, cm->ref_int8, (long long)params);
    static const int widths[] = {2, 3, 4, 6, 8, 32};
    fprintf(f, "\nplanned layers at  BitOps/sample  vs fp32   vs 8-bit  weight bytes\n");
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        q_cost c = q_cost_fixed(cm, widths[k], widths[k]);
        fprintf(f, "W%-2dA%-2d             %13.4g  %7.4f  %8.4f  %12.0f\n", widths[k], widths[k],
                c.bitops, c.bitops / cm->ref_fp32, c.bitops / cm->ref_int8, c.bytes);
    }
    fprintf(f, "(plan: the layer's row in the per-sample plan, or its pinned widths W/A;\n"
               " pinned layers keep their widths in the summary)\n");
}
