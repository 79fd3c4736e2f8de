/* qlayer.c: building the wrapper, and hard (grouped per-sample) mode. */
#include "quant/qlayer.h"

#include <string.h>

#include "nn/par.h"

int q_layer_supported(const nn_layer *l)
{
    return strcmp(l->ops->type, q_kern_conv2d.type) == 0 ||
           strcmp(l->ops->type, q_kern_dense.type) == 0;
}

int q_layer_slot(const q_layer *q, int bits, int w)
{
    const int *b = w ? q->wbits : q->abits;
    for (int k = 0; k < q->nslot; k++)
        if (b[k] == bits)
            return k;
    return -1;
}

/* ---- hard mode (and soft_a: hard weights, mixed input) ---- */

/* the layer runs soft_a: planned, and the plan's mode */
static int mixed_input(const q_layer *q)
{
    return q->row >= 0 && q->plan->mode == Q_PLAN_SOFT_A;
}

/* Counting sort of the batch by (w slot, a slot) into idx and by a slot into
 * idx_a; cnt/cnt_a become group start offsets. Stable, so one group holding
 * the whole batch is 0..n-1 in order. A mixed input has no a slot: groups
 * are by w slot alone. */
static void group_samples(q_layer *q, int n)
{
    int mixed = mixed_input(q);
    int K = q->nslot, fill[Q_MAX_CAND * Q_MAX_CAND] = {0}, fill_a[Q_MAX_CAND] = {0};
    memset(q->cnt, 0, sizeof q->cnt);
    memset(q->cnt_a, 0, sizeof q->cnt_a);
    for (int i = 0; i < n; i++) {
        int ws = 0, as = 0;
        if (q->row >= 0) {
            ws = q_layer_slot(q, q_plan_wbits(q->plan, i)[q->row], 1);
            as = mixed ? 0 : q_layer_slot(q, q_plan_abits(q->plan, i)[q->row], 0);
            QA_ASSERT(ws >= 0 && as >= 0); /* q_plan_set_hard checks widths */
        }
        q->key[i] = ws * K + as;
        q->cnt[q->key[i] + 1]++;
        q->cnt_a[as + 1]++;
    }
    for (int g = 0; g < K * K; g++)
        q->cnt[g + 1] += q->cnt[g];
    for (int k = 0; k < K; k++)
        q->cnt_a[k + 1] += q->cnt_a[k];
    for (int i = 0; i < n; i++) {
        int g = q->key[i], a = g % K;
        q->idx[q->cnt[g] + fill[g]++] = i;
        q->idx_a[q->cnt_a[a] + fill_a[a]++] = i;
    }
}

static int w_used(const q_layer *q, int j)
{
    return q->cnt[(j + 1) * q->nslot] > q->cnt[j * q->nslot];
}

static const int *group_idx(const q_layer *q, int g, int n)
{
    return q->cnt[g + 1] - q->cnt[g] == n ? NULL : q->idx + q->cnt[g];
}

/* Each sample's input at its a slot's width. Across ranks (nn/par.h) a
 * rank holds only its samples' inputs: every row goes to every rank first,
 * so that the quantizers' sums over rows (LSQ's initial step, the step-size
 * gradients) run whole on each, in the one-process order. */
static void quantize_inputs(q_layer *q, const nn_ctx *c)
{
    const float *x = c->t[q->base.in[0]].data;
    nn_par_gather(c->t[q->base.in[0]].data, q->in_n * sizeof *x, c->n, 0, c->n);
    for (int k = 0; k < q->nslot; k++) {
        q_rows rows = {q->in_n, q->idx_a + q->cnt_a[k], q->cnt_a[k + 1] - q->cnt_a[k]};
        if (rows.n == 0)
            continue;
        if (rows.n == c->n)
            rows.idx = NULL;
        q_quant_resolve(&q->aq[k], c->p, x, &rows, c->train);
        q_quant_forward(&q->aq[k], q->xq, x, &rows);
    }
}

static void hard_quantize(q_layer *q, const nn_ctx *c)
{
    if (mixed_input(q))
        q_layer_mix_inputs(q, c, 1);
    else
        quantize_inputs(q, c);
    const float *w = nn_params_value(c->p, q->w_view);
    for (int j = 0; j < q->nslot; j++) {
        if (!w_used(q, j))
            continue;
        q_rows wrows = q_layer_wrows(q, j);
        q_quant_resolve(&q->wq[j], c->p, w, &wrows, c->train);
        q_quant_forward(&q->wq[j], q->wqbuf + (size_t)j * q->w_n, w, &wrows);
    }
}

void q_layer_add_bias(const q_layer *q, const nn_ctx *c, float *y)
{
    if (q->b_view < 0)
        return;
    const float *b = nn_params_value(c->p, q->b_view);
    for (int i = 0; i < c->n; i++)
        for (int oc = 0; oc < q->groups * q->ocg; oc++) {
            float *r = y + (size_t)i * q->out_n + (size_t)oc * (size_t)q->pos;
            for (int p = 0; p < q->pos; p++)
                r[p] += b[oc];
        }
}

static void hard_forward(q_layer *q, const nn_ctx *c)
{
    group_samples(q, c->n);
    hard_quantize(q, c);
    float *y = c->t[q->base.out].data;
    int K = q->nslot;
    for (int g = 0; g < K * K; g++) {
        int ng = q->cnt[g + 1] - q->cnt[g];
        if (ng > 0)
            q->kern->forward(q, q->xq, q->wqbuf + (size_t)(g / K) * q->w_n, y,
                             group_idx(q, g, c->n), ng, 1, c->scratch);
    }
    q_layer_add_bias(q, c, y);
}

static void hard_backward(q_layer *q, const nn_ctx *c)
{
    int K = q->nslot, need_dx = q->base.need_dx[0], mixed = mixed_input(q);
    float *dxq = (need_dx || q->a_learned || mixed) ? c->scratch + q->sc_dxq : NULL;
    float *dwq = c->scratch + q->sc_dw;
    float *db = q->b_view >= 0 ? nn_params_grad(c->p, q->b_view) : NULL;
    const float *dy = c->dt[q->base.out].data;
    memset(dwq, 0, (size_t)K * q->w_n * sizeof *dwq);
    for (int g = 0; g < K * K; g++) {
        int ng = q->cnt[g + 1] - q->cnt[g];
        if (ng > 0)
            q->kern->backward(q, q->xq, q->wqbuf + (size_t)(g / K) * q->w_n, dy, dxq,
                              dwq + (size_t)(g / K) * q->w_n, db, group_idx(q, g, c->n), ng, 1,
                              c->scratch);
    }
    const float *w = nn_params_value(c->p, q->w_view);
    float *gw = nn_params_grad(c->p, q->w_view);
    for (int j = 0; j < K; j++) {
        if (!w_used(q, j))
            continue;
        q_rows wrows = q_layer_wrows(q, j);
        q_quant_backward(&q->wq[j], c->p, gw, dwq + (size_t)j * q->w_n, w, &wrows, NULL, 1, NULL);
    }
    if (!dxq)
        return;
    float *dx = need_dx ? c->dt[q->base.in[0]].data : NULL;
    const float *x = c->t[q->base.in[0]].data;
    if (mixed) {
        q_layer_mix_inputs_backward(q, c, dxq, dx, 1);
        return;
    }
    nn_par_gather(dxq, q->in_n * sizeof *dxq, c->n, 0, c->n); /* as quantize_inputs */
    for (int k = 0; k < K; k++) {
        q_rows rows = {q->in_n, q->idx_a + q->cnt_a[k], q->cnt_a[k + 1] - q->cnt_a[k]};
        if (rows.n > 0)
            q_quant_backward(&q->aq[k], c->p, dx, dxq, x, &rows, NULL, q->base.acc[0], NULL);
    }
}

static int soft_now(const q_layer *q)
{
    QA_ASSERT(!mixed_input(q) || !q->plan->tied); /* soft_a needs an untied plan */
    return q->row >= 0 && q->plan->mode == Q_PLAN_SOFT;
}

/* Across ranks (nn/par.h) a rank holds only its samples' rows. A layer
 * whose samples are grouped by width or mixed over candidates cannot split
 * them by the batch's shares: it runs whole on every rank, on gathered
 * input rows forward and output-gradient rows backward. */
static int runs_whole(const q_layer *q)
{
    return nn_par_ranked() && (soft_now(q) || mixed_input(q) || q->nslot > 1);
}

static void qlayer_forward(nn_layer *l, const nn_ctx *c)
{
    q_layer *q = (q_layer *)l;
    int whole = runs_whole(q);
    if (whole) {
        nn_par_gather(c->t[l->in[0]].data, q->in_n * sizeof(float), c->n, 0, c->n);
        nn_par_whole(1);
    }
    if (soft_now(q))
        q_layer_soft_forward(q, c);
    else
        hard_forward(q, c);
    if (whole)
        nn_par_whole(0);
}

static void qlayer_backward(nn_layer *l, const nn_ctx *c)
{
    q_layer *q = (q_layer *)l;
    int whole = runs_whole(q);
    if (whole) {
        nn_par_gather(c->dt[l->out].data, q->out_n * sizeof(float), c->n, 0, c->n);
        nn_par_whole(1);
    }
    if (soft_now(q))
        q_layer_soft_backward(q, c);
    else
        hard_backward(q, c);
    if (whole)
        nn_par_whole(0);
}

static void qlayer_init(nn_layer *l, nn_params *p, nn_rng *rng, nn_init_scheme s)
{
    q_layer *q = (q_layer *)l;
    if (q->inner->ops->init)
        q->inner->ops->init(q->inner, p, rng, s);
}

const nn_layer_ops q_layer_ops = {"qlayer", qlayer_forward, qlayer_backward, qlayer_init};
