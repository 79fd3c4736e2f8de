/* intkern.c: direct integer convolution and dense products. */
#include "quant/intkern.h"

#include <stddef.h>

int q_int_fits(long k, long qw_max, long qa_max)
{
    return (double)k * (double)qw_max * (double)qa_max < 2147483648.0;
}

/* int32 sum over one group's window for output (oc, oy, ox) */
static int32_t conv_acc(const nn_conv_geom *g, const int32_t *qa, const int32_t *w, int c0, int oy,
                        int ox)
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
                acc += w[(c * g->kh + ki) * g->kw + kj] *
                       qa[((size_t)(c0 + c) * g->h + (size_t)iy) * g->w + (size_t)ix];
            }
        }
    return acc;
}

void q_int_conv2d(const nn_conv_geom *g, const int32_t *qa, float sa, const int32_t *qw,
                  const float *sw, const float *bias, float *y)
{
    int cg = g->c / g->groups, ocg = g->oc / g->groups;
    size_t wsize = (size_t)cg * (size_t)g->kh * (size_t)g->kw;
    for (int oc = 0; oc < g->oc; oc++) {
        const int32_t *w = qw + (size_t)oc * wsize;
        float scale = sa * sw[oc], b = bias ? bias[oc] : 0.0f;
        int c0 = oc / ocg * cg;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                y[((size_t)oc * g->oh + (size_t)oy) * g->ow + (size_t)ox] =
                    (float)conv_acc(g, qa, w, c0, oy, ox) * scale + b;
    }
}

void q_int_dense(int in, int out, const int32_t *qa, float sa, const int32_t *qw, const float *sw,
                 const float *bias, float *y)
{
    for (int o = 0; o < out; o++) {
        int32_t acc = 0;
        for (int i = 0; i < in; i++)
            acc += qw[(size_t)o * in + i] * qa[i];
        y[o] = (float)acc * (sa * sw[o]) + (bias ? bias[o] : 0.0f);
    }
}
