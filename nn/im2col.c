/* im2col.c: lowering by rows. For each kernel tap the valid output columns
 * form one interval [lo, hi) per output row, so borders are filled with
 * zeros and the interior is a copy (stride 1) or a strided gather. */
#include "nn/im2col.h"

#include <string.h>

/* output positions o in [0, n) whose input o*s - pad + k lies in [0, in) */
static void valid_range(int n, int in, int s, int pad, int k, int *lo, int *hi)
{
    int a = pad - k; /* o*s >= a */
    int l = a <= 0 ? 0 : (a + s - 1) / s;
    int b = in + pad - k; /* o*s < b */
    int h = b <= 0 ? 0 : (b + s - 1) / s;
    *lo = l < n ? l : n;
    *hi = h < n ? h : n;
    if (*hi < *lo)
        *hi = *lo;
}

static void row_gather(const nn_conv_geom *g, const float *xc, int ki, int kj, float *dst)
{
    int olo, ohi, wlo, whi;
    valid_range(g->oh, g->h, g->sh, g->ph, ki, &olo, &ohi);
    valid_range(g->ow, g->w, g->sw, g->pw, kj, &wlo, &whi);
    if (olo > 0)
        memset(dst, 0, sizeof(float) * (size_t)olo * (size_t)g->ow);
    for (int oh = olo; oh < ohi; oh++) {
        float *d = dst + (size_t)oh * (size_t)g->ow;
        const float *s = xc + (size_t)(oh * g->sh - g->ph + ki) * (size_t)g->w +
                         (wlo * g->sw - g->pw + kj);
        for (int ow = 0; ow < wlo; ow++)
            d[ow] = 0.0f;
        if (g->sw == 1)
            memcpy(d + wlo, s, sizeof(float) * (size_t)(whi - wlo));
        else
            for (int i = 0; i < whi - wlo; i++)
                d[wlo + i] = s[i * g->sw];
        for (int ow = whi; ow < g->ow; ow++)
            d[ow] = 0.0f;
    }
    if (ohi < g->oh)
        memset(dst + (size_t)ohi * (size_t)g->ow, 0,
               sizeof(float) * (size_t)(g->oh - ohi) * (size_t)g->ow);
}

void nn_im2col(const nn_conv_geom *g, const float *x, int c0, int cn, float *col, int ldc)
{
    size_t hw = (size_t)g->h * (size_t)g->w;
    for (int c = 0; c < cn; c++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                size_t r = ((size_t)c * (size_t)g->kh + (size_t)ki) * (size_t)g->kw + (size_t)kj;
                row_gather(g, x + (size_t)(c0 + c) * hw, ki, kj, col + r * (size_t)ldc);
            }
}

static void row_scatter(const nn_conv_geom *g, const float *src, int ki, int kj, float *dxc)
{
    int olo, ohi, wlo, whi;
    valid_range(g->oh, g->h, g->sh, g->ph, ki, &olo, &ohi);
    valid_range(g->ow, g->w, g->sw, g->pw, kj, &wlo, &whi);
    for (int oh = olo; oh < ohi; oh++) {
        const float *s = src + (size_t)oh * (size_t)g->ow + wlo;
        float *d = dxc + (size_t)(oh * g->sh - g->ph + ki) * (size_t)g->w +
                   (wlo * g->sw - g->pw + kj);
        if (g->sw == 1)
            for (int i = 0; i < whi - wlo; i++)
                d[i] += s[i];
        else
            for (int i = 0; i < whi - wlo; i++)
                d[i * g->sw] += s[i];
    }
}

void nn_col2im_add(const nn_conv_geom *g, const float *col, int ldc, int c0, int cn, float *dx)
{
    size_t hw = (size_t)g->h * (size_t)g->w;
    for (int c = 0; c < cn; c++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                size_t r = ((size_t)c * (size_t)g->kh + (size_t)ki) * (size_t)g->kw + (size_t)kj;
                row_scatter(g, col + r * (size_t)ldc, ki, kj, dx + (size_t)(c0 + c) * hw);
            }
}
