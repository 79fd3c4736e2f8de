/* quantizer.h: one quantizer instance = one tensor side (weights or input
 * activations) of one layer at one bit-width, with its learned parameter and
 * calibration state registered in the network's flat parameters.
 *
 * A mixed-precision layer owns one q_quant per candidate width and side, so
 * a width's step never leaks into another's. The kinds (lsq.c, pact.c,
 * dorefa.c, calib.c, ddq.c) share this ops table and are looked up by q_kind.
 *
 * Data are "rows": weights are (nch rows = output channels, m) with a step
 * per row when per-channel; activations are samples of m elements chosen by
 * an index list (hard mode groups), all sharing one step. Parameters:
 *   "<layer>.<w|a>_<step|alpha|range>.b<bits>"  NN_PARAM_QUANT (nch), decay_mult 0
 *   "<layer>.<w|a>_state.b<bits>"         NN_PARAM_BUFFER, Q_STATE_N floats
 *                                         (+ nch for LSQ's and DDQ's references)
 * and a kind's own (its init hook: DDQ's gates and levels, ddq.h).
 * State: [Q_ST_INIT] 1 once initialised from a batch, [Q_ST_MAX] running max
 * |x| (minmax), [Q_ST_EMA] EMA of the batch max |x| (ema), [Q_ST_REF + c]
 * LSQ's initial step s0 of step c (lsq.c: the parameter p is the step when
 * p >= s0, its log coordinate s = s0 exp((p - s0) / s0) below; q->s holds
 * the steps themselves).
 * resolve() turns parameters/state into the steps of the current call and
 * performs first-batch initialisation (LSQ s = 2 mean|x| / sqrt(Qp), PACT
 * alpha = pact_init) and calibration updates (training only); it also runs
 * in evaluation when the width was never initialised, so a step is never 0.
 * Steps are floored at Q_STEP_MIN when read. bits = 32 bypasses every kind:
 * identity forward, unmasked backward.
 *
 * Deliberately not here: which width a sample uses (plan.h) and how the
 * quantized tensors meet the GEMMs (qlayer.h). */
#ifndef Q_QUANTIZER_H
#define Q_QUANTIZER_H

#include <stddef.h>
#include <stdint.h>

#include "nn/net.h"
#include "quant/fake_quant.h"
#include "quant/qcfg.h"

#define Q_STEP_MIN 1e-8f

enum { Q_ST_INIT, Q_ST_MAX, Q_ST_EMA, Q_STATE_N, Q_ST_REF = Q_STATE_N };

typedef enum { Q_SIDE_W, Q_SIDE_A } q_side;

typedef struct q_quant q_quant;
typedef struct q_quant_spec q_quant_spec;
typedef struct q_ddq q_ddq;

/* Rows of a tensor: row j starts at base + idx[j] * m (idx NULL: j). */
typedef struct {
    size_t m;
    const int *idx;
    int n;
} q_rows;

static inline size_t q_row(const q_rows *r, int j)
{
    return (size_t)(r->idx ? r->idx[j] : j) * r->m;
}

typedef struct {
    const char *name;
    const char *pname; /* learned parameter's name, NULL if none */
    int sides;         /* 1 << Q_SIDE_W | 1 << Q_SIDE_A that the kind supports */
    int clip_symmetric; /* signed data clip at [-alpha, alpha]: codes [-qp, qp] */
    int step_refs;      /* 1: state holds a reference step per step (Q_ST_REF) */
    /* fills q->s from parameters/state (and x when initialising/calibrating) */
    void (*resolve)(q_quant *q, const nn_params *p, const float *x, const q_rows *rows, int train);
    /* y rows = x_hat rows (y may alias x) */
    void (*forward)(const q_quant *q, float *y, const float *x, const q_rows *rows);
    /* dx rows (+)= wt[j] * dx_hat/dx * dy; parameter gradient += wt[j] * ...;
     * dot[j] = <dy_j, x_hat_j> if dot; wt NULL = all 1; dx NULL = skip */
    void (*backward)(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                     const float *x, const q_rows *rows, const float *wt, int acc, float *dot);
    /* integer codes and the scale of each row, so x_hat = code * scale[row] */
    void (*codes)(const q_quant *q, int32_t *c, float *scale, const float *x, const q_rows *rows);
    /* registers the kind's further views and state (NULL: none); build time */
    int (*init)(q_quant *q, nn_net *net, const char *layer, const q_quant_spec *spec,
                const q_cfg *cfg, qa_err *err);
} q_quant_ops;

struct q_quant {
    const q_quant_ops *ops;
    int side;          /* q_side */
    q_range r;         /* the width's codes; ddq: the realised precision's (resolve) */
    int nch;           /* steps: 1, or the weight rows (per channel) */
    size_t m;          /* elements per row (per channel or per sample) */
    int vparam;        /* NN_PARAM_QUANT view (nch floats) or -1 */
    int vstate;        /* NN_PARAM_BUFFER view (Q_STATE_N floats) */
    float gscale;      /* LSQ gradient scale 1 / sqrt(N * Qp) */
    float pact_init, pact_decay, ema_m;
    float *s;          /* (nch) steps of the current call (DoReFa weights: max |tanh w|) */
    q_fq_sums *sums;   /* (nch) backward's per-step sums */
    q_ddq *ddq;        /* kind ddq's gates, levels and tables (ddq.h), else NULL */
};

struct q_quant_spec {
    int kind;      /* q_kind */
    int side;      /* q_side */
    q_domain dom;  /* activations: signed or after ReLU; weights: signed */
    int bits;
    int nch;       /* weight rows with their own step (1 = per tensor) */
    size_t m;      /* elements per row */
    int pinned;    /* the width is pinned (first/last layer): a kind that learns
                      its precision (ddq) keeps this one */
};

extern const q_quant_ops q_lsq_ops, q_pact_ops, q_dorefa_ops, q_minmax_ops, q_ema_ops, q_ddq_ops;

const q_quant_ops *q_kind_ops(int kind);
/* Registers the views "<layer>.<side>_..." in net's params; build time only. */
int q_quant_init(q_quant *q, nn_net *net, const char *layer, const q_quant_spec *spec,
                 const q_cfg *cfg, qa_err *err);
/* One view "<layer>.<w|a>_<what>.b<bits>" of n values; NN_PARAM_QUANT views
 * get no weight decay. Returns the view id or a negative status. */
int q_quant_add_view(nn_net *net, const char *layer, int side, const char *what, int bits,
                     size_t n, nn_param_kind kind, qa_err *err);

/* A positive scale learned as LSQ's step (lsq.c): the parameter u is the
 * scale at and above its reference r (the initial value), its log
 * coordinate r exp((u - r) / r) below. q_logscale_slope is d scale / du. */
float q_logscale(float u, float r);
float q_logscale_slope(float scale, float r);

/* Dispatchers: bypass for bits = 32, else the kind's ops. */
void q_quant_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows, int train);
void q_quant_forward(const q_quant *q, float *y, const float *x, const q_rows *rows);
void q_quant_backward(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                      const float *x, const q_rows *rows, const float *wt, int acc, float *dot);
void q_quant_codes(const q_quant *q, int32_t *c, float *scale, const float *x, const q_rows *rows);

/* step of row j: 0 per tensor, else the row's own (weights per channel) */
static inline int q_row_step(const q_quant *q, const q_rows *rows, int j)
{
    return q->nch == 1 ? 0 : (rows->idx ? rows->idx[j] : j);
}
/* shares the rows of one call are split into: nn_par_shares(), or 1 when
 * the call is too small to wake the pool (a kind's threaded loop keeps its
 * partial sums per share and adds them in share order) */
int q_rows_shares(const q_quant *q, const q_rows *rows);

/* One forward or backward call over rows, as the kinds' threaded loops
 * (nn_par_run) receive it. */
typedef struct {
    const q_quant *q;
    float *out;        /* y (forward) or dx (backward; NULL: skip) */
    const float *dy, *x;
    const q_rows *rows;
    const float *wt;   /* per-row weights, NULL = 1 */
    int acc;           /* add into dx */
    float *dot;        /* per-row <dy, x_hat>, NULL = skip */
} q_rows_call;

/* Shared pieces of the uniform kinds (x_hat = clip(round(x/s)) * s). */
void q_uniform_forward(const q_quant *q, float *y, const float *x, const q_rows *rows);
void q_uniform_codes(const q_quant *q, int32_t *c, float *scale, const float *x,
                     const q_rows *rows);
/* STE backward over rows; leaves the wt-weighted sums of each step in q->sums */
void q_uniform_backward(const q_quant *q, float *dx, const float *dy, const float *x,
                        const q_rows *rows, const float *wt, int acc, float *dot);
/* max |x| over rows; mean |x| of each step's rows into out (q->nch) */
float q_rows_absmax(const float *x, const q_rows *rows);
void q_rows_absmean(const q_quant *q, const float *x, const q_rows *rows, float *out);

#endif
