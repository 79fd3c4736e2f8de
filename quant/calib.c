/* calib.c: quantizers whose step is calibrated, not learned.
 * minmax: s = max|x| / Qp. Weights use the current weights every step;
 *         activations use the batch in training and remember the largest
 *         batch max seen, which evaluation uses (min-max calibration).
 * ema:    activations only; s = EMA of the batch max / Qp in training and
 *         evaluation (the running-max scheme of the PyTorch peer).
 * Both are straight-through with the clip mask; the step gets no gradient. */
#include <math.h>

#include "quant/quantizer.h"

static void set_step(q_quant *q, float range)
{
    q->s[0] = fmaxf(range / q->r.qp, Q_STEP_MIN);
}

static void weight_absmax(q_quant *q, const float *x, const q_rows *rows)
{
    if (q->nch == 1) {
        set_step(q, q_rows_absmax(x, rows));
        return;
    }
    for (int j = 0; j < rows->n; j++) {
        q_rows one = {rows->m, NULL, 1};
        q->s[j] = fmaxf(q_rows_absmax(x + q_row(rows, j), &one) / q->r.qp, Q_STEP_MIN);
    }
}

static void minmax_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows,
                           int train)
{
    if (q->side == Q_SIDE_W) {
        weight_absmax(q, x, rows);
        return;
    }
    float *st = nn_params_value(p, q->vstate);
    if (train || st[Q_ST_INIT] == 0.0f) {
        float bm = q_rows_absmax(x, rows);
        st[Q_ST_MAX] = fmaxf(st[Q_ST_MAX], bm);
        st[Q_ST_INIT] = 1.0f;
        if (train) {
            set_step(q, bm);
            return;
        }
    }
    set_step(q, st[Q_ST_MAX]);
}

static void ema_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows,
                        int train)
{
    float *st = nn_params_value(p, q->vstate);
    if (train || st[Q_ST_INIT] == 0.0f) {
        float bm = q_rows_absmax(x, rows);
        st[Q_ST_EMA] = st[Q_ST_INIT] != 0.0f ? q->ema_m * st[Q_ST_EMA] + (1.0f - q->ema_m) * bm : bm;
        st[Q_ST_INIT] = 1.0f;
    }
    set_step(q, st[Q_ST_EMA]);
}

static void calib_backward(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                           const float *x, const q_rows *rows, const float *wt, int acc, float *dot)
{
    (void)p;
    q_uniform_backward(q, dx, dy, x, rows, wt, acc, dot);
}

const q_quant_ops q_minmax_ops = {
    .name = "minmax",
    .pname = NULL,
    .sides = 1 << Q_SIDE_W | 1 << Q_SIDE_A,
    .clip_symmetric = 0,
    .resolve = minmax_resolve,
    .forward = q_uniform_forward,
    .backward = calib_backward,
    .codes = q_uniform_codes,
};

const q_quant_ops q_ema_ops = {
    .name = "ema",
    .pname = NULL,
    .sides = 1 << Q_SIDE_A,
    .clip_symmetric = 0,
    .resolve = ema_resolve,
    .forward = q_uniform_forward,
    .backward = calib_backward,
    .codes = q_uniform_codes,
};
