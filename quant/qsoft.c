/* qsoft.c: soft (relaxed) mode of a planned q_layer: every candidate over
 * the whole batch, mixed per sample with the plan's probabilities, and the
 * gradient with respect to those probabilities (formulas in qlayer.h). */
#include <string.h>

#include "nn/vec.h"
#include "quant/qlayer.h"

/* sum_i a[i] b[i] in 16 float lanes (vectorised, fixed order), reduced in double */
static double dot(const float *a, const float *b, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += a[i + j] * b[i + j];
    double s = 0.0;
    for (; i < n; i++)
        s += (double)a[i] * b[i];
    for (int j = 0; j < 16; j++)
        s += acc[j];
    return s;
}

/* stacked channel of candidate j's output channel oc (groups kept intact) */
static size_t stacked(const q_layer *q, int j, int oc)
{
    return ((size_t)(oc / q->ocg) * (size_t)q->nslot + (size_t)j) * (size_t)q->ocg +
           (size_t)(oc % q->ocg);
}

/* offset in z (and dz) of candidate j's output channel oc of sample i */
static size_t z_off(const q_layer *q, int i, int j, int oc)
{
    size_t pos = (size_t)q->pos;
    if (q->plan->tied)
        return ((size_t)j * (size_t)q->plan->max_batch + (size_t)i) * q->out_n + (size_t)oc * pos;
    return (size_t)i * (size_t)q->nslot * q->out_n + stacked(q, j, oc) * pos;
}

static const float *z_at(const q_layer *q, int i, int j, int oc)
{
    return q->z + z_off(q, i, j, oc);
}

static int out_channels(const q_layer *q)
{
    return q->groups * q->ocg;
}

/* Quantizes all slots' weights; the untied path stacks them by group. */
static void quantize_weights(q_layer *q, const nn_ctx *c)
{
    const float *w = nn_params_value(c->p, q->w_view);
    for (int j = 0; j < q->nslot; j++) {
        q_rows wrows = q_layer_wrows(q, j);
        q_quant_resolve(&q->wq[j], c->p, w, &wrows, c->train);
        q_quant_forward(&q->wq[j], q->wqbuf + (size_t)j * q->w_n, w, &wrows);
    }
    if (q->wstack == q->wqbuf || q->plan->tied)
        return;
    int K = q->nslot;
    for (int j = 0; j < K; j++)
        for (int oc = 0; oc < out_channels(q); oc++) {
            size_t s = stacked(q, j, oc);
            memcpy(q->wstack + s * q->w_row, q->wqbuf + (size_t)j * q->w_n + (size_t)oc * q->w_row,
                   q->w_row * sizeof(float));
        }
}

/* the stacked weight gradient (interleaved by group) back to per-slot rows */
static void unstack_grad(const q_layer *q, const float *ds, float *dw)
{
    int K = q->nslot;
    for (int j = 0; j < K; j++)
        for (int oc = 0; oc < out_channels(q); oc++) {
            size_t s = stacked(q, j, oc);
            memcpy(dw + (size_t)j * q->w_n + (size_t)oc * q->w_row, ds + s * q->w_row,
                   q->w_row * sizeof(float));
        }
}

static int pruning(const q_layer *q)
{
    return q->plan->tied && (q->keep < q->nslot || q->min_p > 0.0f);
}

/* S_i: candidates by decreasing p (ties: the lower width first), at most
 * keep of them and none below min_p but the first */
static unsigned select_sample(const q_layer *q, const float *p, double *mass)
{
    int ord[Q_MAX_CAND], K = q->nslot;
    for (int k = 0; k < K; k++) {
        int r = k;
        for (; r > 0 && p[ord[r - 1]] < p[k]; r--)
            ord[r] = ord[r - 1];
        ord[r] = k;
    }
    unsigned m = 0;
    *mass = 0.0;
    for (int r = 0; r < K; r++) {
        if (r > 0 && (r >= q->keep || p[ord[r]] < q->min_p))
            break;
        m |= 1u << ord[r];
        *mass += p[ord[r]];
    }
    return m;
}

/* Per batch: which samples run each candidate (sel, nsel), with which
 * weight (mixw). Without pruning: all of them, weighted by p. */
static void select_candidates(q_layer *q, int n)
{
    int K = q->nslot, prune = pruning(q);
    size_t mb = (size_t)q->plan->max_batch;
    memset(q->nsel, 0, sizeof q->nsel);
    for (int i = 0; i < n; i++) {
        const float *p = q_plan_pw(q->plan, i, q->row);
        double mass = 1.0;
        unsigned m = prune ? select_sample(q, p, &mass) : (1u << K) - 1u;
        q->kmask[i] = (unsigned char)m;
        q->mass[i] = (float)mass;
        for (int k = 0; k < K; k++) {
            float w = !prune ? p[k] : mass > 0.0 ? (float)(p[k] / mass) : 0.0f;
            q->mixw[(size_t)i * (size_t)K + (size_t)k] = w;
            if (m >> k & 1u)
                q->sel[(size_t)k * mb + (size_t)q->nsel[k]++] = i;
        }
    }
}

/* the samples of candidate k as rows of m floats (idx NULL: all n in order) */
static q_rows cand_rows(const q_layer *q, int k, size_t m, int n)
{
    q_rows r = {m, q->sel + (size_t)k * (size_t)q->plan->max_batch, q->nsel[k]};
    if (r.n == n)
        r.idx = NULL;
    return r;
}

/* y_i = sum_{j in S_i} w_ij z_ij (+ b), w = mixw */
static void mix(const q_layer *q, const nn_ctx *c, float *y)
{
    for (int i = 0; i < c->n; i++) {
        const float *p = q->mixw + (size_t)i * (size_t)q->nslot;
        for (int oc = 0; oc < out_channels(q); oc++) {
            float *yr = y + (size_t)i * q->out_n + (size_t)oc * (size_t)q->pos;
            memset(yr, 0, (size_t)q->pos * sizeof *yr);
            for (int j = 0; j < q->nslot; j++) {
                if (!(q->kmask[i] >> j & 1u))
                    continue;
                const float *zr = z_at(q, i, j, oc);
                float pj = p[j];
                for (int t = 0; t < q->pos; t++)
                    yr[t] += pj * zr[t];
            }
        }
    }
    q_layer_add_bias(q, c, y);
}

/* slot k takes part in this batch: always in soft mode; in soft_a mode
 * when some sample gives it a non-zero probability */
static int slot_active(const q_layer *q, int k, int n, int skip_zero)
{
    for (int i = 0; skip_zero && i < n; i++)
        if (q_plan_pa(q->plan, i, q->row)[k] != 0.0f)
            return 1;
    return !skip_zero;
}

void q_layer_mix_inputs(q_layer *q, const nn_ctx *c, int skip_zero)
{
    const float *x = c->t[q->base.in[0]].data;
    float *xt = c->scratch + q->sc_xt;
    q_rows all = {q->in_n, NULL, c->n};
    int first = 1;
    for (int k = 0; k < q->nslot; k++) {
        if (!slot_active(q, k, c->n, skip_zero))
            continue;
        q_quant_resolve(&q->aq[k], c->p, x, &all, c->train);
        q_quant_forward(&q->aq[k], xt, x, &all);
        for (int i = 0; i < c->n; i++) {
            float r = q_plan_pa(q->plan, i, q->row)[k];
            float *xb = q->xq + (size_t)i * q->in_n;
            const float *xk = xt + (size_t)i * q->in_n;
            for (size_t e = 0; e < q->in_n; e++)
                xb[e] = first ? r * xk[e] : xb[e] + r * xk[e];
        }
        first = 0;
    }
    QA_ASSERT(!first); /* a distribution with no mass would leave xq undefined */
}

/* tied: each slot's input and weights through the kernel into z, over the
 * samples that selected it */
static void tied_forward(q_layer *q, const nn_ctx *c)
{
    const float *x = c->t[q->base.in[0]].data;
    float *xt = c->scratch + q->sc_xt;
    for (int k = 0; k < q->nslot; k++) {
        q_rows rows = cand_rows(q, k, q->in_n, c->n);
        if (rows.n == 0)
            continue;
        q_quant_resolve(&q->aq[k], c->p, x, &rows, c->train);
        q_quant_forward(&q->aq[k], xt, x, &rows);
        q->kern->forward(q, xt, q->wqbuf + (size_t)k * q->w_n,
                         q->z + (size_t)k * (size_t)q->plan->max_batch * q->out_n, rows.idx,
                         rows.n, 1, c->scratch);
    }
}

void q_layer_soft_forward(q_layer *q, const nn_ctx *c)
{
    QA_ASSERT(q->z); /* soft plans need quant.soft = true at build */
    select_candidates(q, c->n);
    quantize_weights(q, c);
    if (q->plan->tied) {
        tied_forward(q, c);
    } else {
        q_layer_mix_inputs(q, c, 0);
        q->kern->forward(q, q->xq, q->wstack, q->z, NULL, c->n, q->nslot, c->scratch);
    }
    mix(q, c, c->t[q->base.out].data);
}

/* pruned: g_ik = <dy_i, z_ik> becomes the surrogate's gradient (qlayer.h) */
static void renormalise_grads(const q_layer *q, int i, float *gp)
{
    const float *w = q->mixw + (size_t)i * (size_t)q->nslot;
    double mean = 0.0;
    for (int j = 0; j < q->nslot; j++)
        if (q->kmask[i] >> j & 1u)
            mean += (double)w[j] * gp[j];
    for (int j = 0; j < q->nslot; j++)
        gp[j] = q->kmask[i] >> j & 1u && q->mass[i] > 0.0f
                    ? (float)((gp[j] - mean) / q->mass[i])
                    : 0.0f;
}

/* db += sum dy; gpw_ij = <dy_i, z_ij> */
static void bias_and_prob_grads(const q_layer *q, const nn_ctx *c, const float *dy)
{
    float *db = q->b_view >= 0 ? nn_params_grad(c->p, q->b_view) : NULL;
    for (int i = 0; i < c->n; i++) {
        float *gp = q_plan_gpw(q->plan, i, q->row);
        for (int j = 0; j < q->nslot; j++) {
            double s = 0.0;
            for (int oc = 0; oc < out_channels(q) && q->kmask[i] >> j & 1u; oc++)
                s += dot(dy + (size_t)i * q->out_n + (size_t)oc * (size_t)q->pos,
                                z_at(q, i, j, oc), (size_t)q->pos);
            gp[j] = (float)s;
        }
        if (pruning(q))
            renormalise_grads(q, i, gp);
        for (int oc = 0; db && oc < out_channels(q); oc++)
            db[oc] += (float)nn_vec_sum(dy + (size_t)i * q->out_n + (size_t)oc * (size_t)q->pos,
                                        (size_t)q->pos);
    }
}

static void weight_backward(const q_layer *q, const nn_ctx *c, int j, const float *dwq)
{
    q_rows wrows = q_layer_wrows(q, j);
    q_quant_backward(&q->wq[j], c->p, nn_params_grad(c->p, q->w_view), dwq,
                     nn_params_value(c->p, q->w_view), &wrows, NULL, 1, NULL);
}

/* tied: candidate k alone over its samples, with dy scaled by w_ik. When
 * pruned, a sample's first candidate need not be candidate 0, so dx is
 * zeroed first and every candidate adds. */
static void tied_backward(q_layer *q, const nn_ctx *c, const float *dy, float *dx)
{
    const float *x = c->t[q->base.in[0]].data;
    float *xt = c->scratch + q->sc_xt, *dz = c->scratch + q->sc_dz, *dwq = c->scratch + q->sc_dw;
    float *dxq = (dx || q->a_learned) ? c->scratch + q->sc_dxq : NULL;
    int prune = pruning(q), acc = q->base.acc[0];
    if (dx && prune && !acc)
        memset(dx, 0, (size_t)c->n * q->in_n * sizeof *dx);
    for (int k = 0; k < q->nslot; k++) {
        q_rows rows = cand_rows(q, k, q->in_n, c->n);
        if (rows.n == 0)
            continue;
        q_quant_forward(&q->aq[k], xt, x, &rows);
        for (int r = 0; r < rows.n; r++) {
            size_t i = q_row(&rows, r) / q->in_n;
            float p = q->mixw[i * (size_t)q->nslot + (size_t)k];
            for (size_t e = 0; e < q->out_n; e++)
                dz[i * q->out_n + e] = p * dy[i * q->out_n + e];
        }
        memset(dwq, 0, q->w_n * sizeof *dwq);
        q->kern->backward(q, xt, q->wqbuf + (size_t)k * q->w_n, dz, dxq, dwq, NULL, rows.idx,
                          rows.n, 1, c->scratch);
        weight_backward(q, c, k, dwq);
        if (dxq)
            q_quant_backward(&q->aq[k], c->p, dx, dxq, x, &rows, NULL, k > 0 || acc || prune,
                             NULL);
    }
}

/* untied: one stacked backward, then each activation slot weighted by r_ik */
static void untied_backward(q_layer *q, const nn_ctx *c, const float *dy, float *dx)
{
    float *dz = c->scratch + q->sc_dz, *dwq = c->scratch + q->sc_dw;
    float *dxb = c->scratch + q->sc_dxq;
    float *ds = q->groups > 1 ? c->scratch + q->sc_ds : dwq;
    int K = q->nslot;
    for (int i = 0; i < c->n; i++) {
        const float *p = q_plan_pw(q->plan, i, q->row);
        for (int j = 0; j < K; j++)
            for (int oc = 0; oc < out_channels(q); oc++) {
                float *zr = dz + z_off(q, i, j, oc);
                const float *dr = dy + (size_t)i * q->out_n + (size_t)oc * (size_t)q->pos;
                for (int t = 0; t < q->pos; t++)
                    zr[t] = p[j] * dr[t];
            }
    }
    memset(ds, 0, (size_t)K * q->w_n * sizeof *ds);
    q->kern->backward(q, q->xq, q->wstack, dz, dxb, ds, NULL, NULL, c->n, K, c->scratch);
    if (ds != dwq)
        unstack_grad(q, ds, dwq);
    for (int j = 0; j < K; j++)
        weight_backward(q, c, j, dwq + (size_t)j * q->w_n);
    q_layer_mix_inputs_backward(q, c, dxb, dx, 0);
}

void q_layer_mix_inputs_backward(q_layer *q, const nn_ctx *c, const float *dxb, float *dx,
                                 int skip_zero)
{
    const float *x = c->t[q->base.in[0]].data;
    q_rows all = {q->in_n, NULL, c->n};
    int first = 1;
    for (int k = 0; k < q->nslot; k++) {
        int active = slot_active(q, k, c->n, skip_zero);
        for (int i = 0; active && i < c->n; i++)
            q->wt[i] = q_plan_pa(q->plan, i, q->row)[k];
        if (active)
            q_quant_backward(&q->aq[k], c->p, dx, dxb, x, &all, q->wt, !first || q->base.acc[0],
                             q->dot);
        for (int i = 0; i < c->n; i++)
            q_plan_gpa(q->plan, i, q->row)[k] = active ? q->dot[i] : 0.0f;
        first &= !active;
    }
}

void q_layer_soft_backward(q_layer *q, const nn_ctx *c)
{
    const float *dy = c->dt[q->base.out].data;
    float *dx = q->base.need_dx[0] ? c->dt[q->base.in[0]].data : NULL;
    bias_and_prob_grads(q, c, dy);
    if (q->plan->tied)
        tied_backward(q, c, dy, dx);
    else
        untied_backward(q, c, dy, dx);
}
