/* lsq.c: Learned Step Size Quantization (Esser et al., ICLR 2020).
 * x_hat = clip(round(x/s), -Qn, Qp) s with s learned; ds gets the LSQ
 * derivative (round(v) - v inside, -Qn below, Qp above) scaled by
 * g = 1/sqrt(N Qp). N is the number of values sharing the step: the layer's
 * weights (per tensor), one output channel's weights (per channel), or one
 * sample's activations. Init on the first batch: s0 = 2 mean|x| / sqrt(Qp).
 *
 * Below s0 the step is learned in log coordinates: the parameter p gives
 * s = p for p >= s0 (LSQ as specified) and s = s0 exp((p - s0) / s0) below,
 * p = s0 at init; ds/dp = min(1, s / s0) is continuous. Why: with s updated
 * additively, an 8-bit weight step drifts down to the clipping edge
 * s ~ max|w| / Qp (3-5 times below s0), where one clipped weight adds
 * Qp |dL/dw_hat| g to the step's gradient: relative to s that is Qp^1.5
 * times larger than at the same edge at low widths (x77 from 4 to 8 bits).
 * In `small` (SGD 0.05, momentum 0.9) one such update took conv1's 8-bit
 * step from 0.0081 to below zero; floored, every weight clipped, the
 * gradient exploded and the step came back at 57 (all codes 0: the layer
 * lost for the rest of the run). Below s0 an update now moves log s by its
 * size in units of s0, damped by (s / s0)^2 against LSQ's relative move, and
 * s > 0 is structural (log-domain steps as in TQT, Jain et al. 2020). */
#include <math.h>

#include "quant/quantizer.h"

static void lsq_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows,
                        int train)
{
    (void)train; /* an uninitialised width must get a step even in evaluation */
    float *st = nn_params_value(p, q->vstate), *ref = st + Q_ST_REF;
    float *u = nn_params_value(p, q->vparam);
    if (st[Q_ST_INIT] == 0.0f && rows->n > 0) {
        q_rows_absmean(q, x, rows, ref);
        for (int c = 0; c < q->nch; c++)
            u[c] = ref[c] = fmaxf(2.0f * ref[c] / sqrtf(q->r.qp), Q_STEP_MIN);
        st[Q_ST_INIT] = 1.0f;
    }
    for (int c = 0; c < q->nch; c++) {
        if (ref[c] == 0.0f) /* a step set directly is its own reference */
            ref[c] = fmaxf(u[c], Q_STEP_MIN);
        q->s[c] = q_logscale(u[c], ref[c]);
    }
}

static void lsq_backward(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                         const float *x, const q_rows *rows, const float *wt, int acc, float *dot)
{
    q_uniform_backward(q, dx, dy, x, rows, wt, acc, dot);
    float *g = nn_params_grad(p, q->vparam);
    const float *ref = nn_params_value(p, q->vstate) + Q_ST_REF;
    for (int c = 0; c < q->nch; c++)
        g[c] += q->gscale * q_logscale_slope(q->s[c], ref[c]) * q->sums[c].lsq;
}

const q_quant_ops q_lsq_ops = {
    .name = "lsq",
    .pname = "step",
    .sides = 1 << Q_SIDE_W | 1 << Q_SIDE_A,
    .clip_symmetric = 0,
    .step_refs = 1,
    .resolve = lsq_resolve,
    .forward = q_uniform_forward,
    .backward = lsq_backward,
    .codes = q_uniform_codes,
};
