/* im2col.c: lowering through zero-padded phase planes (see im2col.h). */
#include "nn/im2col.h"

#include <string.h>

typedef struct {
    int qh, qw;    /* plane size */
    int nph;       /* SH*SW planes per channel */
    size_t plane;  /* floats per plane */
} planes_shape;

static planes_shape shape_of(const nn_conv_geom *g)
{
    planes_shape s;
    s.qh = g->oh + (g->kh - 1) / g->sh;
    s.qw = g->ow + (g->kw - 1) / g->sw;
    s.nph = g->sh * g->sw;
    s.plane = (size_t)s.qh * (size_t)s.qw;
    return s;
}

/* a wide tap of the last plane reads up to QW floats past its end: slack */
size_t nn_im2col_planes_floats(const nn_conv_geom *g, int cn)
{
    planes_shape s = shape_of(g);
    return (size_t)cn * (size_t)s.nph * s.plane + (size_t)s.qw;
}

int nn_im2col_wide_width(const nn_conv_geom *g)
{
    return shape_of(g).qw;
}

/* Row helpers. Rows here are short (OW = 7..32), where a loop's vector
 * body hardly runs and GCC turns plain copies into memcpy calls; with
 * AVX-512 a row is one or two masked loads and stores. */
#if defined(__AVX512F__)
#include <immintrin.h>

static inline __mmask16 lanes(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

static void copy_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        _mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));
    }
}

static void add_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + i), _mm512_maskz_loadu_ps(m, s + i));
        _mm512_mask_storeu_ps(d + i, m, v);
    }
}

/* d[i] = s[2i]: the even lanes of two loads, each masked to the span
 * the row really has (2n - 1 floats) */
static void gather2_row(float *restrict d, const float *restrict s, int n)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (int i = 0; i < n; i += 16) {
        int k = n - i < 16 ? n - i : 16, span = 2 * k - 1;
        __m512 lo = _mm512_maskz_loadu_ps(lanes(span), s + 2 * i);
        __m512 hi = _mm512_maskz_loadu_ps(span > 16 ? lanes(span - 16) : 0, s + 2 * i + 16);
        _mm512_mask_storeu_ps(d + i, lanes(k), _mm512_permutex2var_ps(lo, even, hi));
    }
}

/* d[2i] += s[i]: s expanded into the even lanes of 16 d values */
static void scatter_add2_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i += 8) {
        int k = n - i < 8 ? n - i : 8;
        __mmask16 m = lanes(2 * k - 1);
        __m512 v = _mm512_maskz_expandloadu_ps((__mmask16)(m & 0x5555), s + i);
        _mm512_mask_storeu_ps(d + 2 * i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + 2 * i), v));
    }
}
#else
static void copy_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = s[i];
}

static void add_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i++)
        d[i] += s[i];
}

static void scatter_add2_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i++)
        d[2 * i] += s[i];
}

static void gather2_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = s[2 * i];
}
#endif

/* Plane rows are filled once per sample, layer and candidate width, and
 * were 12% of a relaxed DQMQ step (perf) as scalar strided loops. */
static void gather_row(float *restrict d, const float *restrict s, int n, int stride)
{
    if (stride == 1)
        copy_row(d, s, n);
    else if (stride == 2)
        gather2_row(d, s, n);
    else
        for (int i = 0; i < n; i++)
            d[i] = s[i * stride];
}

static void scatter_add_row(float *restrict d, const float *restrict s, int n, int stride)
{
    if (stride == 1)
        add_row(d, s, n);
    else if (stride == 2)
        scatter_add2_row(d, s, n);
    else
        for (int i = 0; i < n; i++)
            d[i * stride] += s[i];
}

/* Columns j of phase b that fall inside x: j0 <= j < j1, x column
 * j*SW + b - PW; the same for every row, so computed once per plane. */
static void phase_cols(const nn_conv_geom *g, const planes_shape *s, int b, int *j0, int *j1)
{
    int lo = g->pw - b <= 0 ? 0 : (g->pw - b + g->sw - 1) / g->sw;
    int hi = g->w + g->pw - b <= 0 ? 0 : (g->w + g->pw - b + g->sw - 1) / g->sw;
    *j0 = lo < s->qw ? lo : s->qw;
    *j1 = hi < s->qw ? hi : s->qw;
    if (*j1 < *j0)
        *j1 = *j0;
}

#if defined(__AVX512F__)
/* fill_plane for plane rows of at most 16 and input rows of at most 32:
 * each plane row is one permute of the input row's two registers, its
 * index and zero mask computed once per plane. The scalar rows (short:
 * 7-15 values) were 17% of a strided 3x3 convolution's time (perf). */
static int fill_plane16(const nn_conv_geom *g, const planes_shape *s, const float *xc, int a,
                        int b, float *pl)
{
    if (s->qw > 16 || g->w > 32)
        return 0;
    int j0, j1, idx[16] = {0};
    phase_cols(g, s, b, &j0, &j1);
    for (int j = j0; j < j1; j++)
        idx[j] = j * g->sw + b - g->pw;
    __m512i perm = _mm512_loadu_si512(idx);
    __mmask16 keep = (__mmask16)(lanes(j1) & ~lanes(j0)), row = lanes(s->qw);
    __mmask16 m0 = lanes(g->w), m1 = g->w > 16 ? lanes(g->w - 16) : 0;
    for (int i = 0; i < s->qh; i++) {
        float *dst = pl + (size_t)i * (size_t)s->qw;
        int r = i * g->sh + a - g->ph;
        __m512 v = _mm512_setzero_ps();
        if (r >= 0 && r < g->h) {
            const float *src = xc + (size_t)r * (size_t)g->w;
            __m512 lo = _mm512_maskz_loadu_ps(m0, src), hi = _mm512_maskz_loadu_ps(m1, src + 16);
            v = _mm512_maskz_permutex2var_ps(keep, lo, perm, hi);
        }
        _mm512_mask_storeu_ps(dst, row, v);
    }
    return 1;
}
#else
static int fill_plane16(const nn_conv_geom *g, const planes_shape *s, const float *xc, int a,
                        int b, float *pl)
{
    (void)g, (void)s, (void)xc, (void)a, (void)b, (void)pl;
    return 0;
}
#endif

/* plane (a, b)[i][j] = xpad[i*SH + a][j*SW + b] */
static void fill_plane(const nn_conv_geom *g, const planes_shape *s, const float *xc, int a, int b,
                       float *pl)
{
    if (fill_plane16(g, s, xc, a, b, pl))
        return;
    int j0, j1;
    phase_cols(g, s, b, &j0, &j1);
    for (int i = 0; i < s->qh; i++) {
        float *dst = pl + (size_t)i * (size_t)s->qw;
        int r = i * g->sh + a - g->ph;
        if (r < 0 || r >= g->h || j1 == j0) {
            memset(dst, 0, sizeof(float) * (size_t)s->qw);
            continue;
        }
        for (int j = 0; j < j0; j++)
            dst[j] = 0.0f;
        gather_row(dst + j0, xc + (size_t)r * (size_t)g->w + (j0 * g->sw + b - g->pw), j1 - j0, g->sw);
        for (int j = j1; j < s->qw; j++)
            dst[j] = 0.0f;
    }
}

static void fill_planes(const nn_conv_geom *g, const planes_shape *s, const float *xc, float *pl)
{
    for (int a = 0; a < g->sh; a++)
        for (int b = 0; b < g->sw; b++, pl += s->plane)
            fill_plane(g, s, xc, a, b, pl);
}

/* the adjoint of fill_plane: x rows += plane (a, b); pixels no plane
 * holds (beyond the last window) get nothing */
static void unfill_plane(const nn_conv_geom *g, const planes_shape *s, const float *pl, int a,
                         int b, float *dxc)
{
    int j0, j1;
    phase_cols(g, s, b, &j0, &j1);
    for (int i = 0; i < s->qh && j1 > j0; i++) {
        int r = i * g->sh + a - g->ph;
        if (r >= 0 && r < g->h)
            scatter_add_row(dxc + (size_t)r * (size_t)g->w + (j0 * g->sw + b - g->pw),
                            pl + (size_t)i * (size_t)s->qw + j0, j1 - j0, g->sw);
    }
}

/* dst (OH, ld) = the block of rows of QW starting at src; with ld == QW
 * the rows are contiguous in src too: one copy */
static void block_copy(const float *src, int qw, int oh, int ld, float *dst)
{
    if (ld == qw) {
        copy_row(dst, src, oh * ld);
        return;
    }
    for (int i = 0; i < oh; i++)
        copy_row(dst + (size_t)i * (size_t)ld, src + (size_t)i * (size_t)qw, ld);
}

/* where tap (ki, kj) starts in one channel's planes pl */
static const float *tap_start(const nn_conv_geom *g, const planes_shape *s, const float *pl, int ki,
                              int kj)
{
    return pl + (size_t)((ki % g->sh) * g->sw + kj % g->sw) * s->plane +
           (size_t)(ki / g->sh) * (size_t)s->qw + (size_t)(kj / g->sw);
}

/* all planes and the slack: wide taps read a little past their own plane,
 * and those junk columns must be finite (they meet zeros later) */
static void fill_all(const nn_conv_geom *g, const planes_shape *s, const float *x, int c0, int cn,
                     float *planes)
{
    size_t hw = (size_t)g->h * (size_t)g->w, per_c = (size_t)s->nph * s->plane;
    for (int c = 0; c < cn; c++)
        fill_planes(g, s, x + (size_t)(c0 + c) * hw, planes + (size_t)c * per_c);
    memset(planes + (size_t)cn * per_c, 0, sizeof(float) * (size_t)s->qw);
}

void nn_im2col(const nn_conv_geom *g, const float *x, int c0, int cn, float *col, int ld,
               float *planes)
{
    planes_shape s = shape_of(g);
    size_t P = (size_t)g->oh * (size_t)ld, per_c = (size_t)s.nph * s.plane, r = 0;
    fill_all(g, &s, x, c0, cn, planes);
    for (int c = 0; c < cn; c++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++, r++)
                block_copy(tap_start(g, &s, planes + (size_t)c * per_c, ki, kj), s.qw, g->oh, ld,
                           col + r * P);
}

void nn_im2col_rows(const nn_conv_geom *g, const float *x, int c0, int cn, float *planes,
                    const float **rows)
{
    planes_shape s = shape_of(g);
    size_t per_c = (size_t)s.nph * s.plane;
    fill_all(g, &s, x, c0, cn, planes);
    for (int c = 0; c < cn; c++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++)
                *rows++ = tap_start(g, &s, planes + (size_t)c * per_c, ki, kj);
}

/* dst block at (r0, c0) of rows QW += src (OH, ld) */
static void block_add(const float *src, int qw, int r0, int c0, int oh, int ld, float *dst)
{
    dst += (size_t)r0 * (size_t)qw + (size_t)c0;
    if (ld == qw) {
        add_row(dst, src, oh * ld);
        return;
    }
    for (int i = 0; i < oh; i++)
        add_row(dst + (size_t)i * (size_t)qw, src + (size_t)i * (size_t)ld, ld);
}

void nn_col2im(const nn_conv_geom *g, const float *col, int ld, int c0, int cn, float *dx,
               int acc, float *planes)
{
    planes_shape s = shape_of(g);
    size_t hw = (size_t)g->h * (size_t)g->w, P = (size_t)g->oh * (size_t)ld;
    for (int c = 0; c < cn; c++) {
        float *pl = planes + (size_t)c * (size_t)s.nph * s.plane;
        memset(pl, 0, sizeof(float) * (size_t)s.nph * s.plane);
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                float *dst = pl + (size_t)((ki % g->sh) * g->sw + kj % g->sw) * s.plane;
                size_t r = ((size_t)c * (size_t)g->kh + (size_t)ki) * (size_t)g->kw + (size_t)kj;
                block_add(col + r * P, s.qw, ki / g->sh, kj / g->sw, g->oh, ld, dst);
            }
        float *dxc = dx + (size_t)(c0 + c) * hw;
        if (!acc)
            memset(dxc, 0, sizeof(float) * hw);
        for (int a = 0; a < g->sh; a++)
            for (int b = 0; b < g->sw; b++)
                unfill_plane(g, &s, pl + (size_t)(a * g->sw + b) * s.plane, a, b, dxc);
    }
}
