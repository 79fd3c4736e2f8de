/* engine_run.c: plans, grouping, and the ops of one group of images. */
#include <stdlib.h>
#include <string.h>

#include "deploy/engine_priv.h"
#include "env/quality.h"
#include "nn/par.h"


int dep_engine_slot(const dep_layer *l, int bits, int w)
{
    if (l->row < 0)
        return 0;
    int n = w ? l->nw : l->na;
    for (int k = 0; k < n; k++)
        if ((w ? l->ws[k].bits : l->as[k].bits) == bits)
            return k;
    return -1;
}

static float aslot_scale(const dep_aslot *a)
{
    return a->bits == 32 ? 1.0f / 255.0f : a->step;
}

static const dep_aslot *consumer_slot(const dep_engine *e, int tensor, const uint8_t *ab)
{
    const dep_layer *c = &e->m.layers[e->m.tensors[tensor].layer];
    return &c->as[c->row < 0 ? 0 : dep_engine_slot(c, ab[c->row], 0)];
}

/* the table pixel -> code, the loader's float then the quantizer's rounding */
static void prepare_input(const dep_engine *e, eng_opp *p, const dep_aslot *a)
{
    for (int c = 0; c < e->m.c; c++) {
        float scale = 1.0f / (255.0f * e->m.std[c]), shift = e->m.mean[c] / e->m.std[c];
        for (int v = 0; v < 256; v++) {
            float x = (float)v * scale - shift, q = (float)v;
            if (a->bits != 32) {
                q = roundf(x / a->step);
                q = q < (float)a->lo ? (float)a->lo : (q > (float)a->hi ? (float)a->hi : q);
            }
            p->lut[c][v] = (uint8_t)((int)q + (a->is_signed ? 128 : 0));
        }
    }
}

/* the epilogue of a CONV op writing tensor `out` */
static void prepare_conv(const dep_engine *e, const dep_op *o, eng_opp *p, const uint8_t *wb,
                         const uint8_t *ab)
{
    const dep_layer *l = &e->m.layers[o->layer];
    int j = l->row < 0 ? 0 : dep_engine_slot(l, wb[l->row], 1);
    const dep_aslot *a = &l->as[l->row < 0 ? 0 : dep_engine_slot(l, ab[l->row], 0)];
    const dep_tensor *t = &e->m.tensors[o->out];
    float sa = aslot_scale(a), so = 1.0f;
    int z = a->is_signed ? 128 : 0;
    p->wslot = j;
    p->z_in = z;
    p->z_out = 0;
    p->lo = -INFINITY;
    p->hi = INFINITY;
    if (t->kind == DEP_T_CODES) {
        const dep_aslot *c = consumer_slot(e, o->out, ab);
        so = c->step;
        p->z_out = c->is_signed ? 128 : 0;
        p->lo = (float)c->lo;
        p->hi = (float)c->hi;
    } else if (t->kind == DEP_T_FIX) {
        so = t->t;
        p->lo = -DEP_FIX_MAX;
        p->hi = DEP_FIX_MAX;
    }
    if (l->act != DEP_ACT_NONE && p->lo < 0.0f)
        p->lo = 0.0f;
    if (l->act == DEP_ACT_RELU6 && 6.0f / so < p->hi)
        p->hi = 6.0f / so;
    for (int oc = 0; oc < l->oc; oc++) {
        p->m[oc] = sa * l->ws[j].scale[oc] * l->mul[oc] / so;
        p->b[oc] = l->add[oc] / so;
        p->zc[oc] = z * e->layers[o->layer].wsum[j][oc];
    }
    p->u = o->skip >= 0 ? e->m.tensors[o->skip].t / so : 0.0f;
}

void dep_engine_prepare(dep_engine *e, const uint8_t *wb, const uint8_t *ab)
{
    for (int i = 0; i < e->m.nops; i++) {
        const dep_op *o = &e->m.ops[i];
        eng_opp *p = &e->opp[i];
        if (o->kind == DEP_OP_CONV) {
            prepare_conv(e, o, p, wb, ab);
            continue;
        }
        const dep_aslot *c = consumer_slot(e, o->out, ab);
        if (o->kind == DEP_OP_INPUT) {
            prepare_input(e, p, c);
            continue;
        }
        const dep_tensor *in = &e->m.tensors[o->in];
        float hw = o->kind == DEP_OP_GAP ? (float)(in->h * in->w) : 1.0f;
        p->k = in->t / (hw * c->step);
        p->z_out = c->is_signed ? 128 : 0;
        p->lo_i = c->lo;
        p->hi_i = c->hi;
    }
}

static void run_input(const dep_engine *e, const eng_opp *p, uint8_t *out, size_t stride,
                      const uint8_t *px, const int *idx, int n)
{
    int C = e->m.c, cp = (C + 3) / 4 * 4;
    size_t hw = (size_t)e->m.h * (size_t)e->m.w;
    for (int i = 0; i < n; i++) {
        const uint8_t *src = px + (size_t)idx[i] * hw * (size_t)C;
        uint8_t *dst = out + (size_t)i * stride;
        for (size_t q = 0; q < hw; q++)
            for (int c = 0; c < C; c++)
                dst[q * (size_t)cp + (size_t)c] = p->lut[c][src[q * (size_t)C + (size_t)c]];
    }
}

static uint8_t code_of(float v, const eng_opp *p)
{
    int32_t q = dep_round(v);
    q = q < p->lo_i ? p->lo_i : (q > p->hi_i ? p->hi_i : q);
    return (uint8_t)(q + p->z_out);
}

/* y[i] = codes of x[i] * k: clamped first (the bounds are integers, so
 * clamp and rounding commute), written so that gcc vectorises it */
static void quant_run(const int32_t *restrict x, uint8_t *restrict y, size_t n, float k,
                      float lo, float hi, int32_t z)
{
    for (size_t i = 0; i < n; i++) {
        float v = (float)x[i] * k;
        v = v > lo ? v : lo;
        v = v < hi ? v : hi;
        y[i] = (uint8_t)((int32_t)(v + copysignf(DEP_HALF_DOWN, v)) + z);
    }
}

/* FIX (H, W, C) -> CODES (H, W, Cp), or its global average -> CODES (C) */
static void run_fix(const dep_engine *e, const dep_op *o, const eng_opp *p, uint8_t *ws, int n)
{
    const dep_tensor *t = &e->m.tensors[o->in];
    size_t hw = (size_t)t->h * (size_t)t->w, C = (size_t)t->c, cp = (size_t)e->tcp[o->out];
    for (int i = 0; i < n; i++) {
        const int32_t *x = (const int32_t *)(ws + e->toff[o->in] + (size_t)i * e->tbytes[o->in]);
        uint8_t *y = ws + e->toff[o->out] + (size_t)i * e->tbytes[o->out];
        if (o->kind == DEP_OP_QUANT) {
            float lo = (float)p->lo_i, hi = (float)p->hi_i;
            if (cp == C)
                quant_run(x, y, hw * C, p->k, lo, hi, p->z_out);
            for (size_t q = 0; cp != C && q < hw; q++)
                quant_run(x + q * C, y + q * cp, C, p->k, lo, hi, p->z_out);
            continue;
        }
        int64_t sum[DEP_GAP_MAX_C] = {0}; /* pixel-major: the reads stay contiguous */
        for (size_t q = 0; q < hw; q++)
            for (size_t c = 0; c < C; c++)
                sum[c] += x[q * C + c];
        for (size_t c = 0; c < C; c++)
            y[c] = code_of((float)sum[c] * p->k, p);
    }
}

/* ROWS: each grey image (H, W, cp) into a plane padded with the zero point */
static const uint8_t *planes(const dep_engine *e, const dep_op *o, const eng_opp *op, uint8_t *ws,
                             int n)
{
    const dep_layer *l = &e->m.layers[o->layer];
    size_t stride = e->layers[o->layer].scratch, cp = (size_t)e->tcp[o->in];
    int wp = l->w + 2 * l->pw;
    for (int i = 0; i < n; i++) {
        const uint8_t *in = ws + e->toff[o->in] + (size_t)i * e->tbytes[o->in];
        uint8_t *plane = ws + e->patch_off + (size_t)i * stride;
        memset(plane, op->z_in, stride);
        for (int y = 0; y < l->h; y++) {
            uint8_t *row = plane + (size_t)(y + l->ph) * (size_t)wp + (size_t)l->pw;
            for (int x = 0; x < l->w; x++)
                row[x] = in[((size_t)y * (size_t)l->w + (size_t)x) * cp];
        }
    }
    return ws + e->patch_off;
}

/* PATCH: each pixel's taps, C bytes each, side by side (padding taps
 * read the input's zero-point block) */
static const uint8_t *patches(const dep_engine *e, const dep_op *o, uint8_t *ws, int n)
{
    const dep_layer *l = &e->m.layers[o->layer];
    const eng_layer *el = &e->layers[o->layer];
    const int taps = l->kh * l->kw, C = l->c;
    for (int i = 0; i < n; i++) {
        const uint8_t *in = ws + e->toff[o->in] + (size_t)i * e->tbytes[o->in];
        uint8_t *d = ws + e->patch_off + (size_t)i * el->scratch;
        for (int p = 0; p < el->P; p++, d += el->Cp) {
            const int32_t *g = el->gather + (size_t)p * (size_t)taps;
            for (int t = 0; t < taps; t++)
                for (int c = 0; c < C; c++)
                    d[t * C + c] = in[g[t] + c];
        }
    }
    return ws + e->patch_off;
}

static void run_conv(const dep_engine *e, const dep_op *o, const eng_opp *p, uint8_t *ws, int n)
{
    const dep_layer *l = &e->m.layers[o->layer];
    const eng_layer *el = &e->layers[o->layer];
    size_t hwc = (size_t)l->h * (size_t)l->w * (size_t)e->tcp[o->in];
    for (int i = 0; i < n; i++) /* the block padding taps read: this group's zero point */
        memset(ws + e->toff[o->in] + (size_t)i * e->tbytes[o->in] + hwc, p->z_in,
               (size_t)e->tcp[o->in]);
    const dep_tensor *t = &e->m.tensors[o->out];
    int kind = t->kind == DEP_T_CODES ? DEP_OUT_CODES
                                      : (t->kind == DEP_T_FIX ? DEP_OUT_FIX : DEP_OUT_FLOAT);
    dep_conv_args a = {
        .n = n, .p_lo = 0, .p_hi = el->P, .T = el->T, .Cp = el->Cp, .OC = l->oc,
        .in = el->lowering == EL_ROWS    ? planes(e, o, p, ws, n)
              : el->lowering == EL_PATCH ? patches(e, o, ws, n)
                                         : ws + e->toff[o->in],
        .in_stride = el->lowering == EL_ROWS || el->lowering == EL_PATCH ? el->scratch
                                                                         : e->tbytes[o->in],
        .ind = el->ind,
        .w = el->wpack[p->wslot], .zc = p->zc, .m = p->m, .b = p->b,
        .skip = o->skip >= 0 ? (const int32_t *)(ws + e->toff[o->skip]) : NULL,
        .skip_stride = o->skip >= 0 ? e->tbytes[o->skip] / 4 : 0, .u = p->u, .lo = p->lo,
        .hi = p->hi, .out_kind = kind, .z_out = p->z_out, .out = ws + e->toff[o->out],
        .out_stride = kind == DEP_OUT_CODES ? e->tbytes[o->out] : e->tbytes[o->out] / 4,
        .out_cp = e->tcp[o->out]};
    if (el->lowering == EL_DW)
        e->kern->dw(&a);
    else
        e->kern->conv(&a);
}

void dep_engine_run_images(dep_engine *e, uint8_t *ws, const uint8_t *px, const int *idx, int n,
                           float *logits)
{
    for (int i = 0; i < e->m.nops; i++) {
        const dep_op *o = &e->m.ops[i];
        if (o->kind == DEP_OP_INPUT)
            run_input(e, &e->opp[i], ws + e->toff[o->out], e->tbytes[o->out], px, idx, n);
        else if (o->kind == DEP_OP_CONV)
            run_conv(e, o, &e->opp[i], ws, n);
        else
            run_fix(e, o, &e->opp[i], ws, n);
    }
    int last = e->m.ops[e->m.nops - 1].out, K = e->m.nclass;
    for (int i = 0; i < n; i++)
        memcpy(logits + (size_t)idx[i] * (size_t)K,
               ws + e->toff[last] + (size_t)i * e->tbytes[last], (size_t)K * sizeof *logits);
}

/* ---- groups ---- */

typedef struct {
    dep_engine *e;
    const uint8_t *px;
    const int *idx;
    int n;
    float *logits;
} group_job;

static void group_share(void *arg, int tid, int nt)
{
    group_job *j = arg;
    long lo, hi;
    nn_par_range(j->n, tid, nt, &lo, &hi);
    for (long s = lo; s < hi; s += j->e->chunk) {
        int m = (int)(hi - s < j->e->chunk ? hi - s : j->e->chunk);
        dep_engine_run_images(j->e, j->e->ws[tid], j->px, j->idx + s, m, j->logits);
    }
}

static int same_plan(const uint8_t *wb, const uint8_t *ab, size_t L, int a, int b)
{
    return !memcmp(wb + (size_t)a * L, wb + (size_t)b * L, L) &&
           !memcmp(ab + (size_t)a * L, ab + (size_t)b * L, L);
}

/* e->order = images grouped by plan, groups in order of first appearance,
 * images in order within a group (a counting sort); group g is
 * order[start[g] .. start[g + 1]). Returns the number of groups. */
static int group_images(dep_engine *e, int n, const uint8_t *wb, const uint8_t *ab)
{
    size_t L = (size_t)e->m.nplan;
    int ng = 0, *start = e->gstart, *first = e->gfirst, *key = e->gkey;
    for (int i = 0; i < n; i++) {
        int g = 0;
        while (g < ng && !same_plan(wb, ab, L, first[g], i))
            g++;
        if (g == ng)
            first[ng++] = i;
        key[i] = g;
    }
    memset(start, 0, (size_t)(ng + 1) * sizeof *start);
    for (int i = 0; i < n; i++)
        start[key[i] + 1]++;
    for (int g = 0; g < ng; g++)
        first[g] = start[g + 1] += start[g];
    for (int i = n - 1; i >= 0; i--)
        e->order[--first[key[i]]] = i;
    return ng;
}

/* images [0, n) (n <= cap) with plans wb/ab, a group at a time */
static void run_groups(dep_engine *e, const uint8_t *px, int n, const uint8_t *wb,
                       const uint8_t *ab, float *logits)
{
    size_t L = (size_t)e->m.nplan;
    int ng = group_images(e, n, wb, ab);
    for (int g = 0; g < ng; g++) {
        int g0 = e->gstart[g], g1 = e->gstart[g + 1];
        dep_engine_prepare(e, wb + (size_t)e->order[g0] * L, ab + (size_t)e->order[g0] * L);
        int nt = nn_par_threads() < e->nws ? nn_par_threads() : e->nws;
        nt = (g1 - g0) / 2 < nt ? (g1 - g0) / 2 : nt;
        group_job j = {e, px, e->order + g0, g1 - g0, logits};
        nn_par_run(group_share, &j, nt < 1 ? 1 : nt);
    }
}

/* widths of images [0, n) (n <= cap): the policy's argmax, or fixed */
static void make_plans(dep_engine *e, const uint8_t *px, int n)
{
    const dep_model *m = &e->m;
    size_t L = (size_t)m->nplan, sz = (size_t)m->h * (size_t)m->w * (size_t)m->c;
    if (!m->pol.present) {
        for (int i = 0; i < n; i++)
            for (size_t l = 0; l < L; l++) {
                e->wb[(size_t)i * L + l] = (uint8_t)m->fixed_w[l];
                e->ab[(size_t)i * L + l] = (uint8_t)m->fixed_a[l];
            }
        return;
    }
    for (int i = 0; i < n; i++) {
        float *o = e->obs + (size_t)i * (size_t)m->pol.nin;
        if (m->pol.feat_mode == ENV_FEAT_QUALITY)
            env_quality(px + (size_t)i * sz, m->h, m->w, m->c, e->qscratch, o);
        else
            o[0] = 1.0f;
    }
    agent_policy_forward(e->pol, e->obs, n, 0, e->plan);
    q_plan_harden(e->plan, n);
    memcpy(e->wb, e->plan->wbits, (size_t)n * L);
    memcpy(e->ab, e->plan->abits, (size_t)n * L);
}

int dep_engine_predict(dep_engine *e, const uint8_t *px, int n, float *logits, uint8_t *wbits,
                       uint8_t *abits, qa_err *err)
{
    if (n < 0 || (n > 0 && (!px || !logits)))
        return qa_fail(err, QA_ERR_ARG, "predict: %d images, pixels %p, logits %p", n,
                       (const void *)px, (void *)logits);
    size_t L = (size_t)e->m.nplan, sz = (size_t)e->m.h * (size_t)e->m.w * (size_t)e->m.c;
    for (int i0 = 0; i0 < n; i0 += e->cap) {
        int k = n - i0 < e->cap ? n - i0 : e->cap;
        make_plans(e, px + (size_t)i0 * sz, k);
        run_groups(e, px + (size_t)i0 * sz, k, e->wb, e->ab,
                   logits + (size_t)i0 * (size_t)e->m.nclass);
        if (wbits)
            memcpy(wbits + (size_t)i0 * L, e->wb, (size_t)k * L);
        if (abits)
            memcpy(abits + (size_t)i0 * L, e->ab, (size_t)k * L);
    }
    return QA_OK;
}

/* every width of a plan must be one of the layer's slots */
static int check_plans(const dep_engine *e, const uint8_t *wb, const uint8_t *ab, int n,
                       qa_err *err)
{
    for (int i = 0; i < e->m.nlayers; i++) {
        const dep_layer *l = &e->m.layers[i];
        for (int s = 0; l->row >= 0 && s < n; s++) {
            size_t at = (size_t)s * (size_t)e->m.nplan + (size_t)l->row;
            if (dep_engine_slot(l, wb[at], 1) < 0 || dep_engine_slot(l, ab[at], 0) < 0)
                return qa_fail(err, QA_ERR_ARG, "image %d: layer %s has no W%dA%d", s, l->name,
                               wb[at], ab[at]);
        }
    }
    return QA_OK;
}

int dep_engine_predict_plan(dep_engine *e, const uint8_t *px, int n, const uint8_t *wbits,
                            const uint8_t *abits, float *logits, qa_err *err)
{
    int rc = check_plans(e, wbits, abits, n, err);
    size_t L = (size_t)e->m.nplan, sz = (size_t)e->m.h * (size_t)e->m.w * (size_t)e->m.c;
    for (int i0 = 0; !rc && i0 < n; i0 += e->cap) {
        int k = n - i0 < e->cap ? n - i0 : e->cap;
        run_groups(e, px + (size_t)i0 * sz, k, wbits + (size_t)i0 * L, abits + (size_t)i0 * L,
                   logits + (size_t)i0 * (size_t)e->m.nclass);
    }
    return rc;
}
