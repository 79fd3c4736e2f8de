/* pact.c: PACT (Choi et al., 2018), activations only. y = clip(x, 0, alpha)
 * (signed inputs: clip(x, -alpha, alpha)) quantized with s = alpha / Qp.
 * dy_hat/dalpha = 1 where x >= alpha (-1 where x <= -alpha), 0 inside: the
 * rounding inside the range is straight-through, as in the paper. The L2
 * decay on alpha (pact_decay) is added here, once per backward call, and the
 * optimizer's weight decay is off for the view (decay_mult 0). */
#include <math.h>

#include "quant/quantizer.h"

static void pact_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows,
                         int train)
{
    (void)x;
    (void)rows;
    (void)train;
    float *st = nn_params_value(p, q->vstate), *alpha = nn_params_value(p, q->vparam);
    if (st[Q_ST_INIT] == 0.0f) {
        alpha[0] = q->pact_init;
        st[Q_ST_INIT] = 1.0f;
    }
    q->s[0] = fmaxf(alpha[0], Q_STEP_MIN) / q->r.qp;
}

static void pact_backward(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                          const float *x, const q_rows *rows, const float *wt, int acc, float *dot)
{
    q_uniform_backward(q, dx, dy, x, rows, wt, acc, dot);
    float *g = nn_params_grad(p, q->vparam), *alpha = nn_params_value(p, q->vparam);
    float below = q->r.qn > 0.0f ? q->sums[0].lo : 0.0f;
    g[0] += q->sums[0].hi - below + q->pact_decay * alpha[0];
}

const q_quant_ops q_pact_ops = {
    .name = "pact",
    .pname = "alpha",
    .sides = 1 << Q_SIDE_A,
    .clip_symmetric = 1,
    .resolve = pact_resolve,
    .forward = q_uniform_forward,
    .backward = pact_backward,
    .codes = q_uniform_codes,
};
