/* intkern.c: direct integer convolution and dense products. */
#include "quant/intkern.h"

#include <stddef.h>

int q_int_fits(long k, long qw_max, long qa_max)
{
    return (double)k * (double)qw_max * (double)qa_max < 2147483648.0;
}

static const q_int_lut NO_LUT = {NULL, NULL};

static inline int32_t code(const int32_t *lut, int32_t c)
{
    return lut ? lut[c] : c;
}

/* int32 sum over one group's window for output (oc, oy, ox) */
static int32_t conv_acc(const nn_conv_geom *g, const int32_t *qa, const int32_t *w,
                        const q_int_lut *lut, int c0, int oy, int ox)
{
    int cg = g->c / g->groups;
    int32_t acc = 0;
    for (int c = 0; c < cg; c++)
        for (int ki = 0; ki < g->kh; ki++) {
            int iy = oy * g->sh - g->ph + ki;
            if (iy < 0 || iy >= g->h)
                continue;
            for (int kj = 0; kj < g->kw; kj++) {
                int ix = ox * g->sw - g->pw + kj;
                if (ix < 0 || ix >= g->w)
                    continue;
                acc += code(lut->lw, w[(c * g->kh + ki) * g->kw + kj]) *
                       code(lut->la, qa[((size_t)(c0 + c) * g->h + (size_t)iy) * g->w + (size_t)ix]);
            }
        }
    return acc;
}

void q_int_conv2d_lut(const nn_conv_geom *g, const int32_t *ia, float sa, const int32_t *iw,
                      const float *sw, const float *bias, const q_int_lut *lut, float *y)
{
    int cg = g->c / g->groups, ocg = g->oc / g->groups;
    size_t wsize = (size_t)cg * (size_t)g->kh * (size_t)g->kw;
    for (int oc = 0; oc < g->oc; oc++) {
        const int32_t *w = iw + (size_t)oc * wsize;
        float scale = sa * sw[oc], b = bias ? bias[oc] : 0.0f;
        int c0 = oc / ocg * cg;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                y[((size_t)oc * g->oh + (size_t)oy) * g->ow + (size_t)ox] =
                    (float)conv_acc(g, ia, w, lut, c0, oy, ox) * scale + b;
    }
}

void q_int_conv2d(const nn_conv_geom *g, const int32_t *qa, float sa, const int32_t *qw,
                  const float *sw, const float *bias, float *y)
{
    q_int_conv2d_lut(g, qa, sa, qw, sw, bias, &NO_LUT, y);
}

void q_int_dense_lut(int in, int out, const int32_t *ia, float sa, const int32_t *iw,
                     const float *sw, const float *bias, const q_int_lut *lut, float *y)
{
    for (int o = 0; o < out; o++) {
        int32_t acc = 0;
        for (int i = 0; i < in; i++)
            acc += code(lut->lw, iw[(size_t)o * in + i]) * code(lut->la, ia[i]);
        y[o] = (float)acc * (sa * sw[o]) + (bias ? bias[o] : 0.0f);
    }
}

void q_int_dense(int in, int out, const int32_t *qa, float sa, const int32_t *qw, const float *sw,
                 const float *bias, float *y)
{
    q_int_dense_lut(in, out, qa, sa, qw, sw, bias, &NO_LUT, y);
}
