/* dorefa.c: DoReFa-Net quantizers (Zhou et al., 2016).
 * quantize_b(r) = round((2^b - 1) r) / (2^b - 1) for r in [0, 1].
 * Weights: t = tanh(w), M = max|t| (per tensor or per output channel),
 *   w_hat = 2 quantize_b(t / (2M) + 1/2) - 1, codes 2k - (2^b - 1) (odd
 *   integers) with scale 1 / (2^b - 1). The backward is straight-through on
 *   quantize_b and exact elsewhere, including M's dependence on its argmax
 *   (first index on ties), so it is finite-difference checkable:
 *     dL/dw_i = (1 - t_i^2) (g_i / M + [i = argmax] sign(t_i) dL/dM),
 *     dL/dM = -sum_i g_i t_i / M^2.
 *   Here q->s holds M of each group, not a step.
 * Activations: quantize_b(clip(x, 0, 1)) (signed inputs: [-1, 1] with
 *   2^(b-1) - 1 levels a side), i.e. the uniform quantizer with s = 1/Qp. */
#include <math.h>

#include "quant/quantizer.h"

static inline float levels(const q_quant *q)
{
    return (float)((1 << q->r.bits) - 1);
}

static inline int group_of(const q_quant *q, int j)
{
    return q->nch == 1 ? 0 : j;
}

static void dorefa_resolve(q_quant *q, const nn_params *p, const float *x, const q_rows *rows,
                           int train)
{
    (void)p;
    (void)train;
    if (q->side == Q_SIDE_A) {
        q->s[0] = 1.0f / q->r.qp;
        return;
    }
    for (int c = 0; c < q->nch; c++)
        q->s[c] = 0.0f;
    for (int j = 0; j < rows->n; j++) {
        const float *w = x + q_row(rows, j);
        float *mx = &q->s[group_of(q, j)];
        for (size_t i = 0; i < rows->m; i++)
            *mx = fmaxf(*mx, fabsf(tanhf(w[i])));
    }
    for (int c = 0; c < q->nch; c++)
        q->s[c] = fmaxf(q->s[c], Q_STEP_MIN);
}

static inline float weight_level(float w, float mx, float n)
{
    return roundf((tanhf(w) / (2.0f * mx) + 0.5f) * n);
}

static void dorefa_forward(const q_quant *q, float *y, const float *x, const q_rows *rows)
{
    if (q->side == Q_SIDE_A) {
        q_uniform_forward(q, y, x, rows);
        return;
    }
    float n = levels(q);
    for (int j = 0; j < rows->n; j++) {
        size_t at = q_row(rows, j);
        float mx = q->s[group_of(q, j)];
        for (size_t i = 0; i < rows->m; i++)
            y[at + i] = (2.0f * weight_level(x[at + i], mx, n) - n) / n;
    }
}

/* Rows [j0, j1) forming group c: dL/dM and its argmax, then dx. */
static void weight_backward_group(const q_quant *q, int c, float *dx, const float *dy,
                                  const float *x, const q_rows *rows, int j0, int j1, int acc)
{
    float mx = q->s[c], dmax = 0.0f;
    size_t arg = (size_t)-1;
    for (int j = j0; j < j1; j++) {
        size_t at = q_row(rows, j);
        for (size_t i = 0; i < rows->m; i++) {
            float t = tanhf(x[at + i]);
            dmax -= dy[at + i] * t / (mx * mx);
            if (arg == (size_t)-1 && fabsf(t) == mx)
                arg = at + i;
        }
    }
    for (int j = j0; j < j1; j++) {
        size_t at = q_row(rows, j);
        for (size_t i = 0; i < rows->m; i++) {
            float t = tanhf(x[at + i]);
            float g = dy[at + i] / mx;
            if (at + i == arg)
                g += (t > 0.0f ? 1.0f : -1.0f) * dmax;
            g *= 1.0f - t * t;
            dx[at + i] = acc ? dx[at + i] + g : g;
        }
    }
}

static void dorefa_backward(const q_quant *q, const nn_params *p, float *dx, const float *dy,
                            const float *x, const q_rows *rows, const float *wt, int acc,
                            float *dot)
{
    (void)p;
    if (q->side == Q_SIDE_A) {
        q_uniform_backward(q, dx, dy, x, rows, wt, acc, dot);
        return;
    }
    QA_ASSERT(!wt && !dot && dx);
    if (q->nch == 1) {
        weight_backward_group(q, 0, dx, dy, x, rows, 0, rows->n, acc);
        return;
    }
    for (int j = 0; j < rows->n; j++)
        weight_backward_group(q, j, dx, dy, x, rows, j, j + 1, acc);
}

static void dorefa_codes(const q_quant *q, int32_t *c, float *scale, const float *x,
                         const q_rows *rows)
{
    if (q->side == Q_SIDE_A) {
        q_uniform_codes(q, c, scale, x, rows);
        return;
    }
    float n = levels(q);
    for (int j = 0; j < rows->n; j++) {
        size_t at = q_row(rows, j);
        float mx = q->s[group_of(q, j)];
        for (size_t i = 0; i < rows->m; i++)
            c[at + i] = 2 * (int32_t)weight_level(x[at + i], mx, n) - (int32_t)n;
        scale[j] = 1.0f / n;
    }
}

const q_quant_ops q_dorefa_ops = {
    .name = "dorefa",
    .pname = NULL,
    .sides = 1 << Q_SIDE_W | 1 << Q_SIDE_A,
    .clip_symmetric = 1,
    .resolve = dorefa_resolve,
    .forward = dorefa_forward,
    .backward = dorefa_backward,
    .codes = dorefa_codes,
};
