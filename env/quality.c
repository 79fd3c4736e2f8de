/* quality.c: the no-reference quality features and the oracle vector.
 * Definitions and normalisations are documented in quality.h; sums are
 * in double so a feature does not depend on the image size's rounding. */
#include "env/quality.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "env/corrupt.h"
#include "env/quality_impl.h"

/* Fewer mid-tone (pinned) pixels than this: the mean noise estimator over
 * every interior pixel (noise_clip 0). */
#define MIN_NOISE_PIXELS 16
/* noise_gain looks at pixels whose 3x3 mean luma is above this: signal-
 * dependent noise vanishes on black, so dark pixels only dilute it */
#define GAIN_MIN_MEAN 16.0f

static const char *const mode_names[ENV_NFEAT_MODE] = {"none", "quality", "oracle"};

static const char *const quality_names[ENV_Q_NFEAT] = {
    "noise", "noise_clip", "sharpness", "blockiness", "jpeg", "contrast",
    "mean", "saturated", "impulse", "hf_ratio", "pixelation", "noise_gain",
};

const char *env_feat_mode_name(env_feat_mode m)
{
    return (int)m >= 0 && m < ENV_NFEAT_MODE ? mode_names[m] : "?";
}

int env_feat_mode_find(const char *name, env_feat_mode *m, qa_err *err)
{
    for (int i = 0; i < ENV_NFEAT_MODE; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *m = (env_feat_mode)i;
            return QA_OK;
        }
    return qa_fail(err, QA_ERR_ARG, "unknown feature mode '%s' (expected none, quality or oracle)",
                   name);
}

int env_feat_count(env_feat_mode m)
{
    return m == ENV_FEAT_QUALITY ? ENV_Q_NFEAT : m == ENV_FEAT_ORACLE ? ENV_NCORRUPTION + 1 : 0;
}

const char *env_feat_name(env_feat_mode m, int i)
{
    if (i < 0 || i >= env_feat_count(m))
        return NULL;
    if (m == ENV_FEAT_QUALITY)
        return quality_names[i];
    return i < ENV_NCORRUPTION ? env_corruption_get(i)->name : "severity";
}

size_t env_quality_scratch(int h, int w)
{
    /* luma, responses, 2x2 means, a channel (or the transposed luma); the
     * last h w floats hold the row sums of interior_measures, later bytes:
     * bound flags and column counts, or impulse flags and a channel */
    return 5 * (size_t)h * (size_t)w;
}

static void to_luma(const uint8_t *px, int h, int w, int c, float *y)
{
    size_t n = (size_t)h * (size_t)w;
    if (c == 1) {
        for (size_t i = 0; i < n; i++)
            y[i] = px[i];
        return;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = 0.299f * px[3 * i] + 0.587f * px[3 * i + 1] + 0.114f * px[3 * i + 2];
}

/* k-th smallest of a[0..n), tmp: n floats of room (both overwritten: the
 * values end up split between them, so a is not a permutation of itself).
 * Quickselect whose splits copy between a and tmp without a branch per
 * element (on noise-like data a branch mispredicts half the time, which
 * cost more than the comparisons): each element is written to both ends of
 * the gap and the end it belongs to advances. A second split of the upper
 * part separates the values equal to the pivot, so runs of equal values
 * (zero responses of flat regions) end it at once. */
static float select_kth(float *a, float *tmp, long n, long k)
{
    float *src = a, *dst = tmp;
    long lo = 0, hi = n;
    while (hi - lo > 1) {
        float x = src[lo], y = src[lo + (hi - lo) / 2], z = src[hi - 1];
        float p = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
        long l = lo, g = hi - 1;
        for (long i = lo; i < hi; i++) { /* < p to the front, >= p to the back */
            float v = src[i];
            long lt = v < p;
            dst[l] = v;
            dst[g] = v;
            l += lt;
            g -= 1 - lt;
        }
        float *t = src;
        src = dst;
        dst = t;
        if (k < l) {
            hi = l;
            continue;
        }
        long e = l;
        g = hi - 1;
        for (long i = l; i < hi; i++) { /* == p to the front, > p to the back */
            float v = src[i];
            long le = !(p < v);
            dst[e] = v;
            dst[g] = v;
            e += le;
            g -= 1 - le;
        }
        t = src;
        src = dst;
        dst = t;
        if (k < e)
            return p;
        lo = e;
    }
    return src[k];
}

/* 1: at black, 16: at white (the bounds noise gets clipped at); a sum of 9
 * flags counts both, black in the low nibble, white in the high one */
static void bound_flags(const float *y, size_t n, uint8_t *flag)
{
    for (size_t i = 0; i < n; i++)
        flag[i] = (uint8_t)((y[i] < 0.5f) | (y[i] > 254.5f) << 4);
}

/* interior_measures' work on column mc (lc, rc its neighbours, h rows):
 * adds each interior row's terms to its accumulators, writes the responses
 * to out[0..h-3]. Restrict-qualified so the row loop vectorises. */
static void interior_column(const float *restrict lc, const float *restrict mc,
                            const float *restrict rc, int h, float fm, float *restrict ra,
                            float *restrict rl, float *restrict rl2, float *restrict rh,
                            float *restrict rt, float *restrict out)
{
    for (int r = 1; r < h - 1; r++) {
        float corners = lc[r - 1] + rc[r - 1] + lc[r + 1] + rc[r + 1];
        float cross = mc[r - 1] + mc[r + 1] + lc[r] + rc[r];
        float ctr = mc[r];
        float imm = fabsf(corners - 2.0f * cross + 4.0f * ctr);
        float lap = cross - 4.0f * ctr;
        float box = (corners + cross + ctr) * (1.0f / 9.0f);
        ra[r] += imm;
        rl[r] += lap;
        rl2[r] += lap * lap;
        rh[r] += (ctr - box) * (ctr - box);
        rt[r] += (ctr - fm) * (ctr - fm);
        out[r - 1] = box > 32.0f && box < 223.0f ? imm : -1.0f; /* -1: not mid-tone */
    }
}

/* One pass over the interior 3x3 neighbourhoods of the luma: Immerkaer's
 * noise estimate, Laplacian variance and the high-frequency ratio. Per-
 * pixel arithmetic in float (exact for sums of a few 8-bit values), sums
 * per row in float, left to right, then over rows in double. The pass goes
 * column by column over the transposed luma with one accumulator per row,
 * so the rows' sums run side by side in vector lanes and each still adds
 * its pixels left to right. resp: (h - 2)(w - 2) floats for the |responses|
 * of mid-tone neighbourhoods (their order does not matter: only their
 * median is used), tmp as many for that median; yt: h w floats; acc: 5 h
 * floats (within h w: sides are >= ENV_MIN_SIDE = 8). */
static void interior_measures(const float *y, int h, int w, double mean, float *resp, float *tmp,
                              float *yt, float *acc, float *f)
{
    for (int r = 0; r < h; r++)
        for (int x = 0; x < w; x++)
            yt[(size_t)x * h + r] = y[(size_t)r * w + x];
    float *ra = acc, *rl = acc + h, *rl2 = acc + 2 * h, *rh = acc + 3 * h, *rt = acc + 4 * h;
    memset(acc, 0, 5 * (size_t)h * sizeof *acc);
    for (int x = 1; x < w - 1; x++)
        interior_column(yt + (size_t)(x - 1) * h, yt + (size_t)x * h, yt + (size_t)(x + 1) * h, h,
                        (float)mean, ra, rl, rl2, rh, rt, resp + (size_t)(x - 1) * (h - 2));
    double abs_sum = 0, lap_sum = 0, lap_sq = 0, hf = 0, tot = 0;
    for (int r = 1; r < h - 1; r++) {
        abs_sum += ra[r];
        lap_sum += rl[r];
        lap_sq += rl2[r];
        hf += rh[r];
        tot += rt[r];
    }
    long nr = 0, nall = (long)(h - 2) * (w - 2);
    for (long i = 0; i < nall; i++) { /* keep the mid-tone responses */
        resp[nr] = resp[i];
        nr += resp[i] >= 0.0f;
    }
    double n = (double)(h - 2) * (double)(w - 2);
    /* N(0, s^2) noise gives responses N(0, 36 s^2): median |r| = 0.6745 * 6 s */
    double sigma = nr >= MIN_NOISE_PIXELS ? select_kth(resp, tmp, nr, nr / 2) / (0.6745 * 6.0)
                                          : sqrt(M_PI / 2.0) * abs_sum / (6.0 * n);
    double lm = lap_sum / n, lvar = lap_sq / n - lm * lm;
    f[ENV_Q_NOISE] = (float)(log1p(sigma) / 4.0);
    f[ENV_Q_SHARPNESS] = (float)(log1p(lvar > 0 ? lvar : 0) / 12.0);
    f[ENV_Q_HF_RATIO] = tot > 1e-9 * n ? (float)(hf / tot) : 0.0f;
}

/* noise_clip's sums over one channel plane v (flag: its bound_flags):
 * distance from the bound of the interior pixels whose 8 neighbours are
 * mostly at it. The neighbour counts are 3x3 sums of the flags (column
 * sums, then three of them) less the centre: the 8 neighbours only, as a
 * selection that includes the centre would prefer centres at the bound
 * and bias sigma low. col: w bytes. */
static void pinned(const float *v, const uint8_t *flag, int h, int w, uint8_t *col, double *sum,
                   long *npin)
{
    for (int r = 1; r < h - 1; r++) {
        const float *m = v + (size_t)r * w;
        const uint8_t *fu = flag + (size_t)(r - 1) * w, *fc = flag + (size_t)r * w,
                      *fd = flag + (size_t)(r + 1) * w;
        for (int x = 0; x < w; x++)
            col[x] = (uint8_t)(fu[x] + fc[x] + fd[x]);
        float rp = 0;
        for (int x = 1; x < w - 1; x++) {
            int s = col[x - 1] + col[x] + col[x + 1] - fc[x];
            int lo = s & 15, hi = s >> 4;
            if (lo >= 5 || hi >= 5) {
                rp += lo >= 5 ? m[x] : 255.0f - m[x];
                (*npin)++;
            }
        }
        *sum += rp;
    }
}

/* noise_gain's row m (image rows w floats wide; b: the 2x2 means at the
 * row, rows bw wide): the gains of pixels 2 .. w - 4 to out[0 ..], NaN
 * where the 3x3 mean is dark. Restrict-qualified and branch-free so it
 * vectorises. */
static void gain_row(const float *restrict m, int w, const float *restrict b, int bw,
                     float *restrict out)
{
    const float *u = m - w, *dn = m + w;
    const float *bu = b - 2 * (ptrdiff_t)bw, *bd = b + 2 * (ptrdiff_t)bw;
    for (int x = 2; x + 3 < w; x++) {
        float corners = u[x - 1] + u[x + 1] + dn[x - 1] + dn[x + 1];
        float cross = u[x] + dn[x] + m[x - 1] + m[x + 1];
        float mean = (corners + cross + m[x]) * (1.0f / 9.0f);
        float fine = (corners - 2.0f * cross + 4.0f * m[x]) * (1.0f / 6.0f);
        float coarse = (bu[x - 2] + bu[x + 2] + bd[x - 2] + bd[x + 2] -
                        2.0f * (bu[x] + bd[x] + b[x - 2] + b[x + 2]) + 4.0f * b[x]) *
                       (1.0f / 6.0f);
        int keep = mean > GAIN_MIN_MEAN;
        float g = (fine * fine - 0.5f * coarse * coarse) / (keep ? mean : 1.0f);
        out[x - 2] = keep ? g : NAN;
    }
}

/* noise_gain (quality.h): fine-scale response energy less half the
 * coarse-scale one, over the local mean, median over the non-dark pixels.
 * box: (h - 1)(w - 1) 2x2 block means, row stride w - 1; d: room for
 * (h - 5)(w - 5) values. */
static float noise_gain(const float *y, int h, int w, float *box, float *d)
{
    int bw = w - 1;
    for (int r = 0; r + 1 < h; r++) {
        const float *a = y + (size_t)r * w, *b = a + w;
        for (int x = 0; x + 1 < w; x++)
            box[(size_t)r * bw + x] = 0.25f * (a[x] + a[x + 1] + b[x] + b[x + 1]);
    }
    long nd = 0;
    for (int r = 2; r + 3 < h; r++) {
        float *out = d + nd;
        gain_row(y + (size_t)r * w, w, box + (size_t)r * bw, bw, out);
        for (int x = 0; x < w - 5; x++) { /* keep the non-dark pixels' gains */
            d[nd] = out[x];
            nd += out[x] == out[x]; /* not NaN (never built with -ffast-math) */
        }
    }
    return nd >= MIN_NOISE_PIXELS ? select_kth(d, box, nd, nd / 2) : 0.0f; /* box: done with */
}

/* The channel-wise noise features: noise_clip pooled over the channels,
 * noise_gain their mean. Per channel because colour noise is drawn per
 * channel: the luma of a colour image averages it down (by 0.67 for i.i.d.
 * channels) and is rarely pinned at 0 or 255 where each channel is. */
static void channel_noise(const uint8_t *px, const float *y, int h, int w, int c, float *plane,
                          float *box, float *d, uint8_t *flag, float *f)
{
    size_t n = (size_t)h * (size_t)w;
    double pin_sum = 0, gain = 0;
    long npin = 0;
    for (int ch = 0; ch < c; ch++) {
        const float *v = y;
        if (c > 1) {
            for (size_t i = 0; i < n; i++)
                plane[i] = px[i * (size_t)c + (size_t)ch];
            v = plane;
        }
        bound_flags(v, n, flag);
        pinned(v, flag, h, w, flag + n, &pin_sum, &npin);
        gain += noise_gain(v, h, w, box, d);
    }
    /* E|half-normal| = s sqrt(2 / pi), and half the pinned pixels stay at the bound */
    double clip = npin >= MIN_NOISE_PIXELS ? sqrt(2.0 * M_PI) * pin_sum / (double)npin : 0.0;
    double g = gain / c;
    f[ENV_Q_NOISE_CLIP] = (float)(log1p(clip) / 4.0);
    f[ENV_Q_NOISE_GAIN] = (float)(log1p(g > 0 ? g : 0) / 4.0);
}

/* Steps in float per row (exact: differences of 8-bit luma sums), rows
 * added in double. */
static void blockiness(const float *y, int h, int w, float *f)
{
    double bsum = 0, isum = 0;
    for (int r = 0; r < h; r++) {
        const float *a = y + (size_t)r * w;
        float bs = 0, is = 0;
        for (int x = 0; x + 1 < w; x++) {
            float s = fabsf(a[x + 1] - a[x]);
            if ((x & 7) == 7)
                bs += s;
            else
                is += s;
        }
        bsum += bs;
        isum += is;
    }
    for (int r = 0; r + 1 < h; r++) {
        const float *a = y + (size_t)r * w, *b = a + w;
        float s = 0;
        for (int x = 0; x < w; x++)
            s += fabsf(b[x] - a[x]);
        if ((r & 7) == 7)
            bsum += s;
        else
            isum += s;
    }
    long bn = (long)h * ((w - 1) / 8) + (long)w * ((h - 1) / 8);
    long in = (long)h * (w - 1) + (long)w * (h - 1) - bn;
    double bm = bn ? bsum / (double)bn : 0, im = in ? isum / (double)in : 0;
    f[ENV_Q_BLOCKINESS] = bn && in ? (float)log((1.0 + bm) / (1.0 + im)) : 0.0f;
}

/* Pixels with a channel at 0 or 255. Called with c a constant (1 or 3),
 * so each channel count gets its own loop, which vectorises. */
static inline long saturated_run(const uint8_t *px, size_t n, int c)
{
    long sat = 0;
    for (size_t i = 0; i < n; i++) {
        int s = 0;
        for (int ch = 0; ch < c; ch++)
            s |= (uint8_t)(px[i * c + ch] + 1) <= 1; /* 0 or 255 */
        sat += s;
    }
    return sat;
}

/* imp[i] |= whether pixel i of the plane p (rows w pixels) is an extreme
 * (0 or 255) that differs by more than 64 from at least 6 of its 8
 * neighbours, for i from w + 1 to n - w - 2: the whole image as one run of
 * pixels, long enough to vectorise (rows are short). Pixels on the left
 * and right borders get flags from wrapped neighbours; the caller leaves
 * them out. */
static void impulse_run(const uint8_t *p, size_t n, int w, uint8_t *imp)
{
    for (size_t i = (size_t)w + 1; i + (size_t)w + 1 < n; i++) {
        const uint8_t *q = p + i;
        int v = q[0];
        int far = (abs(q[-w - 1] - v) > 64) + (abs(q[-w] - v) > 64) + (abs(q[-w + 1] - v) > 64) +
                  (abs(q[-1] - v) > 64) + (abs(q[1] - v) > 64) + (abs(q[w - 1] - v) > 64) +
                  (abs(q[w] - v) > 64) + (abs(q[w + 1] - v) > 64);
        imp[i] |= (uint8_t)(((v == 0) | (v == 255)) & (far >= 6));
    }
}

/* c: 1 or 3 (env_quality's contract). imp: 2 h w bytes of room (flags,
 * then a colour channel's plane) */
static void extremes(const uint8_t *px, int h, int w, int c, uint8_t *imp, float *f)
{
    size_t n = (size_t)h * (size_t)w;
    long sat = c == 1 ? saturated_run(px, n, 1) : saturated_run(px, n, 3), nimp = 0;
    memset(imp, 0, n);
    for (int ch = 0; ch < c; ch++) {
        const uint8_t *v = px;
        if (c > 1) { /* one plane: the kernel's loads then stay contiguous */
            uint8_t *plane = imp + n;
            for (size_t i = 0; i < n; i++)
                plane[i] = px[i * (size_t)c + (size_t)ch];
            v = plane;
        }
        impulse_run(v, n, w, imp);
    }
    for (int r = 1; r < h - 1; r++)
        for (int x = 1; x < w - 1; x++)
            nimp += imp[(size_t)r * w + x];
    double ni = (double)(h - 2) * (double)(w - 2);
    f[ENV_Q_SATURATED] = (float)(sat / (double)n);
    f[ENV_Q_IMPULSE] = (float)(10.0 * nimp / ni);
}

/* Repeated lines: line a equals the next line exactly and a is not constant. */
static void pixelation(const float *y, int h, int w, float *f)
{
    long pairs = 0, dups = 0;
    for (int r = 0; r + 1 < h; r++) {
        const float *a = y + (size_t)r * w, *b = a + w;
        int varies = 0, same = 1; /* stop once the pair is known to count, not repeat */
        for (int x = 0; x < w && (!varies || same); x++) {
            varies |= a[x] != a[0];
            same &= a[x] == b[x];
        }
        pairs += varies;
        dups += varies && same;
    }
    for (int x = 0; x + 1 < w; x++) {
        int varies = 0, same = 1;
        for (int r = 0; r < h && (!varies || same); r++) {
            float a = y[(size_t)r * w + x];
            varies |= a != y[x];
            same &= a == y[(size_t)r * w + x + 1];
        }
        pairs += varies;
        dups += varies && same;
    }
    f[ENV_Q_PIXELATION] = pairs ? (float)((double)dups / (double)pairs) : 0.0f;
}

void env_quality(const uint8_t *px, int h, int w, int c, float *scratch, float *f)
{
    size_t n = (size_t)h * (size_t)w;
    float *y = scratch, *resp = scratch + n, *box = scratch + 2 * n, *plane = scratch + 3 * n;
    float *tail = scratch + 4 * n;
    uint8_t *flag = (uint8_t *)tail;
    to_luma(px, h, w, c, y);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += y[i];
        sq += (double)y[i] * y[i];
    }
    double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    f[ENV_Q_MEAN] = (float)(mean / 255.0);
    f[ENV_Q_CONTRAST] = (float)(2.0 * sqrt(var > 0 ? var : 0) / 255.0);
    interior_measures(y, h, w, mean, resp, box, plane, tail, f);
    channel_noise(px, y, h, w, c, plane, box, resp, flag, f);
    blockiness(y, h, w, f);
    extremes(px, h, w, c, flag, f);
    pixelation(y, h, w, f);
    env_quality_jpeg(y, h, w, f);
}

void env_oracle(int corruption, int severity, float *f)
{
    memset(f, 0, (size_t)(ENV_NCORRUPTION + 1) * sizeof *f);
    if (corruption >= 0 && corruption < ENV_NCORRUPTION)
        f[corruption] = 1.0f;
    f[ENV_NCORRUPTION] = (float)severity / (float)ENV_MAX_SEVERITY;
}
