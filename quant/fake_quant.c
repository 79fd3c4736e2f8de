/* fake_quant.c: the element-wise kernels. The loops are written so that gcc
 * vectorises them (quant/meson.build adds -fno-trapping-math, which lets it
 * vectorise roundf and the division; IEEE results are unchanged). Sums use
 * Q_LANES fixed partial accumulators reduced in lane order: vectorisable
 * without reassociation flags and identical on every run. */
#include "quant/fake_quant.h"

#include <math.h>
#include <string.h>

#define Q_LANES 16

int q_bits_valid(int bits)
{
    return (bits >= Q_BITS_MIN && bits <= Q_BITS_MAX) || bits == Q_BITS_OFF;
}

q_range q_range_make(int bits, q_domain dom)
{
    q_range r = {bits, 0.0f, 0.0f};
    if (bits == Q_BITS_OFF)
        return r;
    if (dom == Q_DOM_UNSIGNED) {
        r.qp = (float)((1 << bits) - 1);
    } else {
        r.qn = (float)(1 << (bits - 1));
        r.qp = (float)((1 << (bits - 1)) - 1);
    }
    return r;
}

q_range q_range_symmetric(int bits)
{
    q_range r = q_range_make(bits, Q_DOM_SIGNED);
    r.qn = r.qp;
    return r;
}

static inline float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

void q_fq_forward(float *y, const float *x, size_t n, float s, q_range r)
{
    if (r.bits == Q_BITS_OFF) {
        if (y != x)
            memmove(y, x, n * sizeof *y);
        return;
    }
    const float lo = -r.qn, hi = r.qp;
    for (size_t i = 0; i < n; i++)
        y[i] = clampf(roundf(x[i] / s), lo, hi) * s;
}

void q_fq_codes(int32_t *q, const float *x, size_t n, float s, q_range r)
{
    const float lo = -r.qn, hi = r.qp;
    for (size_t i = 0; i < n; i++)
        q[i] = (int32_t)clampf(roundf(x[i] / s), lo, hi);
}

/* One element: returns the STE mask and adds to the lane sums. */
static inline float fq_back1(float x, float g, float s, float lo, float hi, float *lsq, float *clip_hi,
                             float *clip_lo, float *dot)
{
    float v = x / s;
    float q = roundf(v);
    float in = (v >= lo && v <= hi) ? 1.0f : 0.0f;
    float above = v > hi ? 1.0f : 0.0f;
    float below = v < lo ? 1.0f : 0.0f;
    *lsq += g * (in * (q - v) + above * hi + below * lo);
    *clip_hi += g * above;
    *clip_lo += g * below;
    *dot += g * clampf(q, lo, hi) * s;
    return in;
}

static void fq_back_off(float *dx, const float *dy, const float *x, size_t n, float wt, int acc,
                        q_fq_sums *out)
{
    float dot = 0.0f;
    for (size_t i = 0; i < n; i++) {
        dot += dy[i] * x[i];
        if (dx)
            dx[i] = acc ? dx[i] + wt * dy[i] : wt * dy[i];
    }
    memset(out, 0, sizeof *out);
    out->dot = dot;
}

void q_fq_backward(float *dx, const float *dy, const float *x, size_t n, float s, q_range r,
                   float wt, int acc, q_fq_sums *out)
{
    if (r.bits == Q_BITS_OFF) {
        fq_back_off(dx, dy, x, n, wt, acc, out);
        return;
    }
    const float lo = -r.qn, hi = r.qp;
    float lsq[Q_LANES] = {0}, ch[Q_LANES] = {0}, cl[Q_LANES] = {0}, dot[Q_LANES] = {0};
    size_t nb = n / Q_LANES * Q_LANES;
    for (size_t b = 0; b < nb; b += Q_LANES) {
        for (int j = 0; j < Q_LANES; j++) {
            size_t i = b + (size_t)j;
            float m = fq_back1(x[i], dy[i], s, lo, hi, &lsq[j], &ch[j], &cl[j], &dot[j]);
            if (dx)
                dx[i] = acc ? dx[i] + wt * m * dy[i] : wt * m * dy[i];
        }
    }
    for (size_t i = nb; i < n; i++) {
        int j = (int)(i - nb);
        float m = fq_back1(x[i], dy[i], s, lo, hi, &lsq[j], &ch[j], &cl[j], &dot[j]);
        if (dx)
            dx[i] = acc ? dx[i] + wt * m * dy[i] : wt * m * dy[i];
    }
    q_fq_sums o = {0, 0, 0, 0};
    for (int j = 0; j < Q_LANES; j++) {
        o.lsq += lsq[j];
        o.hi += ch[j];
        o.lo += cl[j];
        o.dot += dot[j];
    }
    *out = o;
}
