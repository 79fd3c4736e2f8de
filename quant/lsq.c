/* lsq.c: Learned Step Size Quantization (Esser et al., ICLR 2020).
 * x_hat = clip(round(x/s), -Qn, Qp) s with s learned; ds gets the LSQ
 * derivative (round(v) - v inside, -Qn below, Qp above) scaled by
 * g = 1/sqrt(N Qp). N is the number of values sharing the step: the layer's
 * weights (per tensor), one output channel's weights (per channel), or one
 * sample's activations. Init on the first batch: s = 2 mean|x| / sqrt(Qp). */
#include <math.h>

#include "quant/quantizer.h"

static void lsq_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows,
                        int train)
{
    (void)train; /* an uninitialised width must get a step even in evaluation */
    float *st = nn_params_value(p, q->vstate), *s = nn_params_value(p, q->vparam);
    if (st[Q_ST_INIT] == 0.0f && rows->n > 0) {
        q_rows_absmean(q, x, rows, s);
        for (int c = 0; c < q->nch; c++)
            s[c] = 2.0f * s[c] / sqrtf(q->r.qp);
        st[Q_ST_INIT] = 1.0f;
    }
    for (int c = 0; c < q->nch; c++)
        q->s[c] = fmaxf(s[c], Q_STEP_MIN);
}

static void lsq_backward(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                         const float *x, const q_rows *rows, const float *wt, int acc, float *dot)
{
    q_uniform_backward(q, dx, dy, x, rows, wt, acc, dot);
    float *g = nn_params_grad(p, q->vparam);
    for (int c = 0; c < q->nch; c++)
        g[c] += q->gscale * q->sums[c].lsq;
}

const q_quant_ops q_lsq_ops = {
    .name = "lsq",
    .pname = "step",
    .sides = 1 << Q_SIDE_W | 1 << Q_SIDE_A,
    .clip_symmetric = 0,
    .resolve = lsq_resolve,
    .forward = q_uniform_forward,
    .backward = lsq_backward,
    .codes = q_uniform_codes,
};
