/* ddq.c: the DDQ quantizer kind: registration, resolve (gates -> precision,
 * range -> steps, levels -> cell tables), forward, backward and codes.
 * The formulation and its gradient rules: ddq.h and docs/METHODS.md section 9.
 *
 * Cells. Every level of every precision is a fine code, and the threshold
 * between two neighbouring levels (their midpoint) a multiple of half a fine
 * step. So a = x / (s_B / 2) falls in a cell [i, i + 1) that no threshold
 * splits, and one table per precision maps the cell to its nearest level.
 * A negative integer a (a tie: x exactly on a threshold) belongs to the cell
 * below it, a positive one to its own, which rounds ties away from zero as
 * roundf does: the tables give the uniform quantizer's result to the bit.
 * The uniform forward still runs the vectorised uniform kernel; the tables
 * serve non-uniform levels and the gates' gradients, which need the output
 * at the neighbouring precisions. */
#include "quant/ddq.h"

#include <math.h>
#include <string.h>

#include "nn/par.h"

/* offsets into one thread's part (after the nch range sums) */
enum { P_DEL = 0, P_SQ = Q_DDQ_NPREC, P_CURV = 2 * Q_DDQ_NPREC, P_LEV = P_CURV + 2 };

static float rho(int bits, q_domain dom)
{
    return ldexpf(1.0f, dom == Q_DOM_SIGNED ? bits - 1 : bits);
}

static int adaptive_now(const q_ddq *d)
{
    return d->vlevel >= 0 && d->bits < d->max_bits;
}

/* the level ends at precision b, fine codes */
static void level_ends(const q_ddq *d, int b, int *lo, int *hi)
{
    q_range r = q_range_make(b, d->dom);
    int m = 1 << (d->max_bits - b);
    *lo = -(int)r.qn * m;
    *hi = (int)r.qp * m;
}

/* the cell of a, its range's ends clo..chi and first index off hoisted by
 * the caller (compares, not fminf/fmaxf, so loops vectorise; NaN -> clo) */
static inline int cell_index(float a, float clo, float chi, int off)
{
    a = a > clo ? a : clo;
    a = a < chi ? a : chi;
    float f = floorf(a);
    int i = (int)f - ((a < 0.0f) & (f == a)) - off;
    return i < 0 ? 0 : i;
}

static inline int cell_of(const q_ddq *d, float a)
{
    return cell_index(a, (float)d->alo, (float)(d->alo + d->ncell - 1), d->alo);
}

static int ddq_init(q_quant *q, nn_net *net, const char *layer, const q_quant_spec *spec,
                    const q_cfg *cfg, qa_err *err)
{
    if (spec->bits == Q_BITS_OFF)
        return QA_OK;
    const q_ddq_cfg *c = &cfg->ddq;
    q_ddq *d = nn_arena_alloc(&net->arena, sizeof *d, err);
    if (!d)
        return err ? err->code : QA_ERR_NOMEM;
    int B = spec->bits;
    d->max_bits = B;
    d->min_bits = spec->pinned || c->min_bits > B ? B : c->min_bits;
    d->ngate = B - d->min_bits;
    d->init_bits = c->init_bits < d->min_bits ? d->min_bits : (c->init_bits > B ? B : c->init_bits);
    d->range_bits = c->range_bits > B ? B : c->range_bits;
    d->gate_init = c->gate_init;
    d->tau = c->tau;
    d->curvature = c->curvature;
    d->knots = c->knots;
    d->floor = spec->side == Q_SIDE_W ? c->range_floor : 0.0f;
    d->dom = spec->dom;
    d->alo = -2 * (int)q->r.qn - 1;
    d->ncell = 2 * (int)(q->r.qn + q->r.qp) + 2;
    d->vgate = d->vlevel = -1;
    if (d->ngate > 0)
        d->vgate = q_quant_add_view(net, layer, spec->side, "gate", B, (size_t)d->ngate,
                                    NN_PARAM_QUANT, err);
    if (d->vgate >= 0 && c->adaptive)
        d->vlevel = q_quant_add_view(net, layer, spec->side, "level", B, (size_t)c->knots,
                                     NN_PARAM_QUANT, err);
    if ((d->ngate > 0 && d->vgate < 0) || (c->adaptive && d->ngate > 0 && d->vlevel < 0))
        return err ? err->code : QA_ERR_NOMEM;
    d->nshares = spec->nch == 1 ? nn_par_shares() : 1;
    d->stride = (size_t)spec->nch + P_LEV + ((size_t)1 << B);
    d->val = nn_arena_floats(&net->arena, (size_t)(d->ngate + 1) * (size_t)d->ncell, err);
    d->dval = nn_arena_floats(&net->arena, (size_t)(d->ngate + 1) * (size_t)d->ncell, err);
    d->idx = nn_arena_alloc(&net->arena, (size_t)d->ncell, err);
    d->lv = nn_arena_alloc(&net->arena, ((size_t)1 << B) * sizeof *d->lv, err);
    d->sfine = nn_arena_floats(&net->arena, (size_t)spec->nch, err);
    d->amean = nn_arena_floats(&net->arena, (size_t)spec->nch, err);
    d->clamped = nn_arena_alloc(&net->arena, (size_t)spec->nch, err);
    d->part = nn_arena_alloc(&net->arena, (size_t)d->nshares * d->stride * sizeof *d->part, err);
    if (!d->val || !d->dval || !d->idx || !d->lv || !d->sfine || !d->amean || !d->clamped ||
        !d->part)
        return err ? err->code : QA_ERR_NOMEM;
    q->ddq = d;
    return QA_OK;
}

/* ---- resolve ---- */

static void first_batch(q_quant *q, const nn_params *p, const float *x, const q_rows *rows)
{
    q_ddq *d = q->ddq;
    float *st = nn_params_value(p, q->vstate), *ref = st + Q_ST_REF;
    float *u = nn_params_value(p, q->vparam);
    q_range r = q_range_make(d->range_bits, d->dom);
    q_rows_absmean(q, x, rows, ref);
    for (int c = 0; c < q->nch; c++) /* rho_r times LSQ's initial step at range_bits */
        u[c] = ref[c] = fmaxf(2.0f * ref[c] / sqrtf(r.qp), Q_STEP_MIN) * rho(d->range_bits, d->dom);
    if (d->vgate >= 0)
        q_ddq_set_bits(q, p, d->init_bits);
    if (d->vlevel >= 0)
        memset(nn_params_value(p, d->vlevel), 0, (size_t)d->knots * sizeof(float));
    st[Q_ST_INIT] = 1.0f;
}

/* val for every precision, idx and lv for the current one */
static void build_tables(q_ddq *d, const float *phi)
{
    int32_t lv[1 << Q_BITS_MAX];
    for (int b = d->min_bits; b <= d->max_bits; b++) {
        int lo, hi, nlev = 1 << b, m = 1 << (d->max_bits - b);
        level_ends(d, b, &lo, &hi);
        if (phi && b < d->max_bits)
            q_ddq_warp_levels(phi, d->knots, nlev, lo, hi, NULL, lv);
        else
            for (int c = 0; c < nlev; c++)
                lv[c] = lo + c * m;
        float *val = d->val + (size_t)(b - d->min_bits) * (size_t)d->ncell;
        int c = 0, cur = b == d->bits;
        for (int i = 0; i < d->ncell; i++) {
            float mid2 = (float)(d->alo + i) + 0.5f; /* twice the cell's middle, fine units */
            while (c + 1 < nlev && mid2 > (float)(lv[c] + lv[c + 1]))
                c++;
            val[i] = (float)lv[c];
            if (cur)
                d->idx[i] = (uint8_t)c;
        }
        if (cur)
            memcpy(d->lv, lv, (size_t)nlev * sizeof *lv);
    }
    size_t n = (size_t)(d->ngate + 1) * (size_t)d->ncell, nc = (size_t)d->ncell;
    const float *vb = d->val + (size_t)(d->bits - d->min_bits) * nc;
    for (size_t i = 0; i < n; i++)
        d->dval[i] = d->val[i] - vb[i % nc];
}

static void ddq_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows,
                        int train)
{
    (void)train; /* an uninitialised quantizer must get its range even in evaluation */
    q_ddq *d = q->ddq;
    float *st = nn_params_value(p, q->vstate), *ref = st + Q_ST_REF;
    const float *u = nn_params_value(p, q->vparam);
    if (st[Q_ST_INIT] == 0.0f && rows->n > 0)
        first_batch(q, p, x, rows);
    d->bits = q_ddq_bits(q, p);
    q->r = q_range_make(d->bits, d->dom);
    q->gscale = 1.0f / sqrtf((float)q->m * q->r.qp);
    float up = ldexpf(1.0f, d->max_bits - d->bits), rb = rho(d->max_bits, d->dom);
    if (d->floor > 0.0f && rows->n > 0)
        q_rows_absmean(q, x, rows, d->amean);
    for (int c = 0; c < q->nch; c++) {
        if (ref[c] == 0.0f) /* a range set directly is its own reference */
            ref[c] = fmaxf(u[c], Q_STEP_MIN);
        float range = q_logscale(u[c], ref[c]), lo = d->floor * d->amean[c];
        d->clamped[c] = range < lo;
        d->sfine[c] = fmaxf(fmaxf(range, lo) / rb, Q_STEP_MIN);
        q->s[c] = d->sfine[c] * up;
    }
    build_tables(d, d->vlevel >= 0 ? nn_params_value(p, d->vlevel) : NULL);
}

/* ---- forward and codes ---- */

static void forward_rows(void *arg, int share, int nshares)
{
    const q_rows_call *j = arg;
    const q_ddq *d = j->q->ddq;
    const float *val = d->val + (size_t)(d->bits - d->min_bits) * (size_t)d->ncell;
    long lo, hi;
    nn_par_range(j->rows->n, share, nshares, &lo, &hi);
    for (long r = lo; r < hi; r++) {
        size_t at = q_row(j->rows, (int)r);
        float sb = d->sfine[q_row_step(j->q, j->rows, (int)r)], h = 0.5f * sb;
        float clo = (float)d->alo, chi = (float)(d->alo + d->ncell - 1);
        const float *x = j->x + at;
        float *y = j->out + at; /* may be x */
        for (size_t i = 0; i < j->rows->m; i++)
            y[i] = val[cell_index(x[i] / h, clo, chi, d->alo)] * sb;
    }
}

static void ddq_forward(const q_quant *q, float *y, const float *x, const q_rows *rows)
{
    if (!adaptive_now(q->ddq)) {
        q_uniform_forward(q, y, x, rows);
        return;
    }
    q_rows_call j = {.q = q, .out = y, .x = x, .rows = rows};
    nn_par_run(forward_rows, &j, q_rows_shares(q, rows));
}

void q_ddq_index_codes(const q_quant *q, int32_t *ix, float *scale, const float *x,
                       const q_rows *rows)
{
    const q_ddq *d = q->ddq;
    for (int j = 0; j < rows->n; j++) {
        size_t at = q_row(rows, j);
        float sb = d->sfine[q_row_step(q, rows, j)], h = 0.5f * sb;
        for (size_t i = 0; i < rows->m; i++)
            ix[at + i] = d->idx[cell_of(d, x[at + i] / h)];
        scale[j] = sb;
    }
}

int q_ddq_lut(const q_quant *q, int32_t *lut)
{
    int n = 1 << q->ddq->bits;
    memcpy(lut, q->ddq->lv, (size_t)n * sizeof *lut);
    return n;
}

/* uniform: codes at the realised precision with step s_b; non-uniform: fine
 * codes of the levels with step s_B */
static void ddq_codes(const q_quant *q, int32_t *c, float *scale, const float *x,
                      const q_rows *rows)
{
    if (!adaptive_now(q->ddq)) {
        q_uniform_codes(q, c, scale, x, rows);
        return;
    }
    q_ddq_index_codes(q, c, scale, x, rows);
    for (int j = 0; j < rows->n; j++) {
        size_t at = q_row(rows, j);
        for (size_t i = 0; i < rows->m; i++)
            c[at + i] = q->ddq->lv[c[at + i]];
    }
}

/* ---- backward ---- */

/* Backward runs in blocks of LANES elements with per-lane float sums,
 * reduced in lane order per row (into doubles across rows): the loops
 * vectorise (the tables as gathers) and the sums do not depend on timing. */
#define LANES 16

typedef struct {
    float rs[LANES], dot[LANES], ge[LANES], ee[LANES];
    float del[Q_DDQ_NPREC][LANES], sq[Q_DDQ_NPREC][LANES];
} lane_sums;

typedef struct {
    const q_ddq *d;
    float h, sb, alo, ahi; /* s_B / 2, s_B, the clip edges in units of a */
    const float *vb;       /* the current precision's table */
    int np;                /* precisions the gates need */
} row_ctx;

/* nb <= LANES elements: dx (+)= w * mask * dy, the lane sums, and the cells
 * into ci (for the level gradient) */
static void backward_block(const row_ctx *c, const float *restrict x, const float *restrict dy,
                           float *dx, int nb, float w, int acc, lane_sums *restrict s,
                           int *restrict ci)
{
    const q_ddq *d = c->d;
    const float *restrict vb = c->vb;
    float in[LANES], h = c->h, sb = c->sb, alo = c->alo, ahi = c->ahi;
    float clo = (float)d->alo, chi = (float)(d->alo + d->ncell - 1);
    int off = d->alo;
    for (int l = 0; l < nb; l++) {
        float a = x[l] / h, g = dy[l];
        ci[l] = cell_index(a, clo, chi, off);
        float xh = vb[ci[l]] * sb, e = xh - x[l];
        in[l] = (float)((a >= alo) & (a <= ahi));
        s->rs[l] += g * (xh - in[l] * x[l]);
        s->dot[l] += g * xh;
        s->ge[l] += g * e;
        s->ee[l] += e * e;
    }
    for (int k = 0; k < c->np; k++) { /* fine units: s_B times at the row's end */
        const float *restrict dk = d->dval + (size_t)k * (size_t)d->ncell;
        for (int l = 0; l < nb; l++) {
            float dq = dk[ci[l]];
            s->del[k][l] += dy[l] * dq;
            s->sq[k][l] += dq * dq;
        }
    }
    if (dx && acc)
        for (int l = 0; l < nb; l++)
            dx[l] += w * in[l] * dy[l];
    else if (dx)
        for (int l = 0; l < nb; l++)
            dx[l] = w * in[l] * dy[l];
}

static double lane_total(const float *v)
{
    double t = 0.0;
    for (int l = 0; l < LANES; l++)
        t += v[l];
    return t;
}

/* One row: dx, and into acc (one share's sums, after the nch range sums
 * of LSQ's form in steps s_b): for each precision j the gates need,
 * <dy, Q_j - Q_b> and |Q_j - Q_b|^2 (every precision when there are
 * gates); <dy, e> and |e|^2; dL/dP per level. */
static void backward_row(const q_rows_call *j, int r, double *acc)
{
    const q_quant *q = j->q;
    const q_ddq *d = q->ddq;
    size_t at = q_row(j->rows, r), m = j->rows->m;
    int c = q_row_step(q, j->rows, r), lo, hi, ci[LANES];
    float w = j->wt ? j->wt[r] : 1.0f;
    double *s = acc + q->nch, *lg = adaptive_now(d) ? s + P_LEV : NULL;
    level_ends(d, d->bits, &lo, &hi);
    row_ctx rc = {d, 0.5f * d->sfine[c], d->sfine[c], 2.0f * (float)lo, 2.0f * (float)hi,
                  d->val + (size_t)(d->bits - d->min_bits) * (size_t)d->ncell,
                  d->vgate >= 0 ? d->ngate + 1 : 0};
    lane_sums ls;
    memset(&ls, 0, sizeof ls);
    for (size_t b = 0; b < m; b += LANES) {
        int nb = m - b < LANES ? (int)(m - b) : LANES;
        backward_block(&rc, j->x + at + b, j->dy + at + b, j->out ? j->out + at + b : NULL, nb,
                       w, j->acc, &ls, ci);
        for (int l = 0; lg && l < nb; l++) /* a level is a fine code: one unit is s_B */
            lg[d->idx[ci[l]]] += (double)w * j->dy[at + b + (size_t)l] * rc.sb;
    }
    acc[c] += w * lane_total(ls.rs) / q->s[c];
    for (int k = 0; k < rc.np; k++) {
        s[P_DEL + k] += (double)w * rc.sb * lane_total(ls.del[k]);
        s[P_SQ + k] += (double)w * rc.sb * rc.sb * lane_total(ls.sq[k]);
    }
    s[P_CURV] += w * lane_total(ls.ge);
    s[P_CURV + 1] += w * lane_total(ls.ee);
    if (j->dot)
        j->dot[r] = (float)lane_total(ls.dot);
}

static void backward_rows(void *arg, int share, int nshares)
{
    const q_rows_call *j = arg;
    double *acc = j->q->ddq->part + (size_t)share * j->q->ddq->stride;
    long lo, hi;
    nn_par_range(j->rows->n, share, nshares, &lo, &hi);
    for (long r = lo; r < hi; r++)
        backward_row(j, (int)r, acc);
}

/* the summed parts into the range, gate and level gradients */
static void backward_grads(const q_quant *q, const nn_params *p, const double *sum)
{
    const q_ddq *d = q->ddq;
    float *g = nn_params_grad(p, q->vparam);
    const float *ref = nn_params_value(p, q->vstate) + Q_ST_REF;
    float rb = rho(d->bits, d->dom);
    for (int c = 0; c < q->nch; c++) { /* rho_b^2 dL/dR: LSQ's step update at b, in R */
        if (d->clamped[c]) /* the floor, not R, sets the output */
            continue;
        float range = d->sfine[c] * rho(d->max_bits, d->dom);
        g[c] += q->gscale * rb * q_logscale_slope(range, ref[c]) * (float)sum[c];
    }
    const double *s = sum + q->nch;
    if (d->vgate >= 0) { /* L_j - L_b ~ <dy, Q_j - Q_b> + kappa/2 |Q_j - Q_b|^2 */
        double flip[Q_DDQ_NPREC], den = s[P_CURV + 1];
        /* kappa >= 0: at high precision e is small and the ratio's noise
         * (~ |dy| / |e|) swamps it; a negative one would push the lowest
         * gate shut by kappa/2 |Q_min - Q_b|^2 and drop the precision to
         * min_bits in one step (docs/METHODS.md section 9, "Why kappa >= 0") */
        double kappa = d->curvature && den > 0.0 ? fmax(s[P_CURV] / den, 0.0) : 0.0;
        for (int k = 0; k < Q_DDQ_NPREC; k++)
            flip[k] = s[P_DEL + k] + 0.5 * kappa * s[P_SQ + k];
        q_ddq_gate_grad(nn_params_value(p, d->vgate), d->ngate, d->tau, flip,
                        nn_params_grad(p, d->vgate));
    }
    if (!adaptive_now(d))
        return;
    int lo, hi, nlev = 1 << d->bits;
    float dpos[1 << Q_BITS_MAX];
    for (int k = 0; k < nlev; k++)
        dpos[k] = (float)s[P_LEV + k];
    level_ends(d, d->bits, &lo, &hi);
    q_ddq_warp_vjp(nn_params_value(p, d->vlevel), d->knots, nlev, lo, hi, dpos,
                   nn_params_grad(p, d->vlevel));
}

static void ddq_backward(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                         const float *x, const q_rows *rows, const float *wt, int acc, float *dot)
{
    const q_ddq *d = q->ddq;
    q_rows_call j = {.q = q, .out = dx, .dy = dy, .x = x, .rows = rows, .wt = wt, .acc = acc,
                 .dot = dot};
    int ns = q_rows_shares(q, rows);
    QA_ASSERT(ns <= d->nshares);
    memset(d->part, 0, (size_t)ns * d->stride * sizeof *d->part);
    nn_par_run(backward_rows, &j, ns);
    for (int t = 1; t < ns; t++) /* in share order: the sums depend on ns only */
        for (size_t i = 0; i < d->stride; i++)
            d->part[i] += d->part[(size_t)t * d->stride + i];
    backward_grads(q, p, d->part);
}

/* ---- the learned precision, range and levels ---- */

int q_ddq_bits(const q_quant *q, const nn_params *p)
{
    const q_ddq *d = q->ddq;
    if (!d)
        return q->r.bits;
    if (d->vgate < 0)
        return d->max_bits;
    return q_ddq_gate_bits(nn_params_value(p, d->vgate), d->ngate, d->min_bits);
}

float q_ddq_range(const q_quant *q, const nn_params *p, int c)
{
    if (!q->ddq)
        return 0.0f;
    float u = nn_params_value(p, q->vparam)[c];
    float ref = nn_params_value(p, q->vstate)[Q_ST_REF + c];
    return ref > 0.0f ? q_logscale(u, ref) : u;
}

int q_ddq_levels(const q_quant *q, const nn_params *p, float *out)
{
    const q_ddq *d = q->ddq;
    if (!d)
        return 0;
    int b = q_ddq_bits(q, p), lo, hi, nlev = 1 << b, m = 1 << (d->max_bits - b);
    int32_t lv[1 << Q_BITS_MAX];
    level_ends(d, b, &lo, &hi);
    if (d->vlevel >= 0 && b < d->max_bits)
        q_ddq_warp_levels(nn_params_value(p, d->vlevel), d->knots, nlev, lo, hi, NULL, lv);
    else
        for (int c = 0; c < nlev; c++)
            lv[c] = lo + c * m;
    float rb = rho(d->max_bits, d->dom);
    for (int c = 0; c < nlev; c++)
        out[c] = (float)lv[c] / rb;
    return nlev;
}

void q_ddq_set_bits(const q_quant *q, const nn_params *p, int bits)
{
    const q_ddq *d = q->ddq;
    if (!d || d->vgate < 0)
        return;
    float *theta = nn_params_value(p, d->vgate);
    int open = bits - d->min_bits; /* gates 0 .. open - 1 */
    open = open < 0 ? 0 : (open > d->ngate ? d->ngate : open);
    for (int k = 0; k < d->ngate; k++) /* nested: the farther from the boundary, the surer */
        theta[k] = d->gate_init * (float)(k < open ? open - k : open - k - 1);
}

void q_ddq_bits_grad(const q_quant *q, const nn_params *p, double df_db)
{
    const q_ddq *d = q->ddq;
    if (!d || d->vgate < 0)
        return;
    double delta[Q_DDQ_NPREC];
    int b = q_ddq_bits(q, p);
    for (int j = d->min_bits; j <= d->max_bits; j++)
        delta[j - d->min_bits] = (j - b) * df_db;
    q_ddq_gate_grad(nn_params_value(p, d->vgate), d->ngate, d->tau, delta,
                    nn_params_grad(p, d->vgate));
}

const q_quant_ops q_ddq_ops = {
    .name = "ddq",
    .pname = "range",
    .sides = 1 << Q_SIDE_W | 1 << Q_SIDE_A,
    .clip_symmetric = 0,
    .step_refs = 1,
    .resolve = ddq_resolve,
    .forward = ddq_forward,
    .backward = ddq_backward,
    .codes = ddq_codes,
    .init = ddq_init,
};
