/* quantizer.c: registration, the bits = 32 bypass, and the pieces the
 * uniform kinds (LSQ, PACT, min-max, EMA, DoReFa activations) share. */
#include "quant/quantizer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/par.h"

static const q_quant_ops *const kind_table[Q_NKINDS] = {
    [Q_KIND_LSQ] = &q_lsq_ops,
    [Q_KIND_PACT] = &q_pact_ops,
    [Q_KIND_DOREFA] = &q_dorefa_ops,
    [Q_KIND_MINMAX] = &q_minmax_ops,
    [Q_KIND_EMA] = &q_ema_ops,
    [Q_KIND_DDQ] = &q_ddq_ops,
};

const q_quant_ops *q_kind_ops(int kind)
{
    return kind >= 0 && kind < Q_NKINDS ? kind_table[kind] : NULL;
}

int q_quant_add_view(nn_net *net, const char *layer, int side, const char *what, int bits,
                     size_t n, nn_param_kind kind, qa_err *err)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s_%s.b%d", layer, side == Q_SIDE_W ? "w" : "a", what, bits);
    int v = nn_params_add(&net->params, name, n, kind, err);
    if (v >= 0 && kind == NN_PARAM_QUANT)
        net->params.views[v].decay_mult = 0.0f; /* PACT adds its own decay; LSQ steps have none */
    return v;
}

int q_quant_init(q_quant *q, nn_net *net, const char *layer, const q_quant_spec *spec,
                 const q_cfg *cfg, qa_err *err)
{
    memset(q, 0, sizeof *q);
    q->ops = q_kind_ops(spec->kind);
    if (!q->ops || !(q->ops->sides & (1 << spec->side)))
        return qa_fail(err, QA_ERR_CONFIG, "layer %s: quantizer '%s' cannot quantize %s",
                       layer, q_kind_name(spec->kind),
                       spec->side == Q_SIDE_W ? "weights" : "activations");
    if (!q_bits_valid(spec->bits))
        return qa_fail(err, QA_ERR_CONFIG, "layer %s: width %d, expected 2..8 or 32", layer,
                       spec->bits);
    q->side = spec->side;
    q->r = q->ops->clip_symmetric && spec->dom == Q_DOM_SIGNED ? q_range_symmetric(spec->bits)
                                                                 : q_range_make(spec->bits, spec->dom);
    q->nch = spec->nch;
    q->m = spec->m;
    q->vparam = -1;
    q->pact_init = cfg->pact_init;
    q->pact_decay = cfg->pact_decay;
    q->ema_m = cfg->ema_momentum;
    /* LSQ's N: elements sharing one step (a channel, the tensor, one sample) */
    q->gscale = q->r.qp > 0 ? 1.0f / sqrtf((float)spec->m * q->r.qp) : 1.0f;
    q->s = nn_arena_floats(&net->arena, (size_t)spec->nch, err);
    q->sums = nn_arena_alloc(&net->arena, (size_t)spec->nch * sizeof *q->sums, err);
    if (!q->s || !q->sums)
        return err ? err->code : QA_ERR_NOMEM;
    if (q->ops->pname && spec->bits != Q_BITS_OFF) {
        q->vparam = q_quant_add_view(net, layer, spec->side, q->ops->pname, spec->bits,
                                     (size_t)spec->nch, NN_PARAM_QUANT, err);
        if (q->vparam < 0)
            return q->vparam;
    }
    size_t nstate = Q_STATE_N + (q->ops->step_refs ? (size_t)spec->nch : 0);
    q->vstate = q_quant_add_view(net, layer, spec->side, "state", spec->bits, nstate,
                                 NN_PARAM_BUFFER, err);
    if (q->vstate < 0)
        return q->vstate;
    return q->ops->init ? q->ops->init(q, net, layer, spec, cfg, err) : QA_OK;
}

float q_logscale(float u, float r)
{
    return u >= r ? u : fmaxf(r * expf((u - r) / r), Q_STEP_MIN);
}

float q_logscale_slope(float scale, float r)
{
    return fminf(scale / r, 1.0f);
}

void q_quant_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows, int train)
{
    if (q->r.bits != Q_BITS_OFF)
        q->ops->resolve(q, p, x, rows, train);
}

void q_quant_forward(const q_quant *q, float *y, const float *x, const q_rows *rows)
{
    if (q->r.bits != Q_BITS_OFF) {
        q->ops->forward(q, y, x, rows);
        return;
    }
    for (int j = 0; j < rows->n; j++)
        if (y != x)
            memcpy(y + q_row(rows, j), x + q_row(rows, j), rows->m * sizeof *y);
}

void q_quant_backward(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                      const float *x, const q_rows *rows, const float *wt, int acc, float *dot)
{
    if (q->r.bits != Q_BITS_OFF) {
        q->ops->backward(q, p, dx, dy, x, rows, wt, acc, dot);
        return;
    }
    q_fq_sums o;
    for (int j = 0; j < rows->n; j++) {
        size_t at = q_row(rows, j);
        q_fq_backward(dx ? dx + at : NULL, dy + at, x + at, rows->m, 1.0f, q->r,
                      wt ? wt[j] : 1.0f, acc, &o);
        if (dot)
            dot[j] = o.dot;
    }
}

void q_quant_codes(const q_quant *q, int32_t *c, float *scale, const float *x, const q_rows *rows)
{
    QA_ASSERT(q->r.bits != Q_BITS_OFF);
    q->ops->codes(q, c, scale, x, rows);
}

/* Rows of one shared step (activations) are split into nn_par_shares()
 * shares when there is enough work to pay for waking the pool; sums are
 * kept per share and added in share order, so results depend on the share
 * count, never on the thread count. */
#define PAR_MIN_ELEMS (1L << 15)

typedef struct {
    q_rows_call c;
    q_fq_sums part[NN_PAR_MAX_SHARES];
} rows_job;

int q_rows_shares(const q_quant *q, const q_rows *rows)
{
    int par = q->nch == 1 && rows->n > 1 && (long)rows->n * (long)rows->m >= PAR_MIN_ELEMS;
    return par ? nn_par_shares() : 1;
}

static void forward_rows(void *arg, int share, int nshares)
{
    const q_rows_call *j = arg;
    long lo, hi;
    nn_par_range(j->rows->n, share, nshares, &lo, &hi);
    for (long r = lo; r < hi; r++) {
        size_t at = q_row(j->rows, (int)r);
        float s = j->q->s[q_row_step(j->q, j->rows, (int)r)];
        q_fq_forward(j->out + at, j->x + at, j->rows->m, s, j->q->r);
    }
}

void q_uniform_forward(const q_quant *q, float *y, const float *x, const q_rows *rows)
{
    q_rows_call j = {.q = q, .out = y, .x = x, .rows = rows};
    nn_par_run(forward_rows, &j, q_rows_shares(q, rows));
}

void q_uniform_codes(const q_quant *q, int32_t *c, float *scale, const float *x, const q_rows *rows)
{
    for (int j = 0; j < rows->n; j++) {
        size_t at = q_row(rows, j);
        float s = q->s[q_row_step(q, rows, j)];
        q_fq_codes(c + at, x + at, rows->m, s, q->r);
        scale[j] = s;
    }
}

static void add_sums(q_fq_sums *to, const q_fq_sums *o, float w)
{
    to->lsq += w * o->lsq;
    to->hi += w * o->hi;
    to->lo += w * o->lo;
    to->dot += w * o->dot;
}

/* one share's rows; per-step sums into part (several shares) or q->sums */
static void backward_rows(void *arg, int share, int nshares)
{
    rows_job *job = arg;
    const q_rows_call *j = &job->c;
    const q_quant *q = j->q;
    long lo, hi;
    nn_par_range(j->rows->n, share, nshares, &lo, &hi);
    for (long r = lo; r < hi; r++) {
        size_t at = q_row(j->rows, (int)r);
        int c = q_row_step(q, j->rows, (int)r);
        float w = j->wt ? j->wt[r] : 1.0f;
        q_fq_sums o;
        q_fq_backward(j->out ? j->out + at : NULL, j->dy + at, j->x + at, j->rows->m, q->s[c], q->r,
                      w, j->acc, &o);
        add_sums(nshares > 1 ? &job->part[share] : &q->sums[c], &o, w);
        if (j->dot)
            j->dot[r] = o.dot;
    }
}

void q_uniform_backward(const q_quant *q, float *dx, const float *dy, const float *x,
                        const q_rows *rows, const float *wt, int acc, float *dot)
{
    rows_job j = {.c = {.q = q, .out = dx, .dy = dy, .x = x, .rows = rows, .wt = wt, .acc = acc,
                        .dot = dot}};
    int ns = q_rows_shares(q, rows);
    memset(q->sums, 0, (size_t)q->nch * sizeof *q->sums);
    memset(j.part, 0, (size_t)ns * sizeof *j.part);
    nn_par_run(backward_rows, &j, ns);
    for (int t = 0; ns > 1 && t < ns; t++)
        add_sums(&q->sums[0], &j.part[t], 1.0f);
}

float q_rows_absmax(const float *x, const q_rows *rows)
{
    float mx = 0.0f;
    for (int j = 0; j < rows->n; j++) {
        const float *r = x + q_row(rows, j);
        for (size_t i = 0; i < rows->m; i++)
            mx = fmaxf(mx, fabsf(r[i]));
    }
    return mx;
}

/* Double sums: a tensor's |x| total is formed once per initialisation, so
 * accuracy is worth more than speed here. */
void q_rows_absmean(const q_quant *q, const float *x, const q_rows *rows, float *out)
{
    double all = 0.0;
    for (int j = 0; j < rows->n; j++) {
        const float *r = x + q_row(rows, j);
        double a = 0.0;
        for (size_t i = 0; i < rows->m; i++)
            a += fabsf(r[i]);
        all += a;
        if (q->nch > 1)
            out[q_row_step(q, rows, j)] = (float)(a / (double)rows->m);
    }
    if (q->nch == 1)
        out[0] = (float)(all / ((double)rows->m * (rows->n > 0 ? rows->n : 1)));
}
