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

/* One block of Q_LANES elements: lane sums, and the STE mask in m. Written
 * branch-free (& not &&) so that gcc turns the lane loop into vector code. */
static inline void fq_back_block(const float *restrict x, const float *restrict dy, float s,
                                 float lo, float hi, float *restrict lsq, float *restrict ch,
                                 float *restrict cl, float *restrict dot, float *restrict m)
{
    for (int j = 0; j < Q_LANES; j++) {
        float v = x[j] / s, g = dy[j];
        float q = roundf(v);
        float in = (float)((v >= lo) & (v <= hi));
        float above = (float)(v > hi), below = (float)(v < lo);
        lsq[j] += g * (in * (q - v) + above * hi + below * lo);
        ch[j] += g * above;
        cl[j] += g * below;
        dot[j] += g * clampf(q, lo, hi) * s;
        m[j] = in;
    }
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
    float m[Q_LANES], xb[Q_LANES], gb[Q_LANES];
    for (size_t b = 0; b < n; b += Q_LANES) {
        size_t nb = n - b < Q_LANES ? n - b : Q_LANES;
        const float *xp = x + b, *gp = dy + b;
        if (nb < Q_LANES) { /* the tail, padded with zeros that add nothing */
            memset(xb, 0, sizeof xb);
            memset(gb, 0, sizeof gb);
            memcpy(xb, xp, nb * sizeof *xb);
            memcpy(gb, gp, nb * sizeof *gb);
            xp = xb;
            gp = gb;
        }
        fq_back_block(xp, gp, s, lo, hi, lsq, ch, cl, dot, m);
        if (!dx)
            continue;
        float *d = dx + b;
        if (acc)
            for (size_t j = 0; j < nb; j++)
                d[j] += wt * m[j] * gp[j];
        else
            for (size_t j = 0; j < nb; j++)
                d[j] = wt * m[j] * gp[j];
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
