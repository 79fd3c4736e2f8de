/* quality_jpeg.c: the JPEG quality feature of quality.h: which libjpeg
 * quality's quantisation grid the image's DCT coefficients sit on.
 *
 * In phases: the textured 8x8 blocks' DCTs (textured_blocks); per
 * frequency, the magnitudes that can count, sorted (coefficient_groups);
 * per block of qualities, the frequencies that can count for one of them
 * (relevant_frequencies); each quality's fit r(Q) = sqrt(12 sum d^2 /
 * sum s^2) of the coefficients on its grid (fit_block: d a coefficient's
 * distance to the nearest multiple of the step s); the best-fitting
 * well-supported quality (best_quality).
 *
 * fit_block tries JPEG_LANES qualities at once, one per lane of GCC
 * vectors (mapped onto the target's registers, or split where they are
 * narrower). Each lane does its quality's operations in the order a quality
 * alone would, so the fits do not depend on the lane count: the lanes only
 * run the dependent chains of additions side by side. Compilers without
 * the vector extensions, and builds with -DQA_PORTABLE, take the scalar
 * path, the same operations one quality at a time (tests/env runs both on
 * the same images and compares them bit for bit). */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "env/quality.h"
#include "env/quality_impl.h"

/* jpeg: at most this many non-flat blocks are examined (raster order), and
 * a quality needs this many on-grid coefficients to count */
#define JPEG_MAX_BLOCKS 64
#define JPEG_MIN_COEFS 24
/* the r(Q) a quality must beat; coefficients examined at most (frequency by
 * frequency, lowest first, up to this many); a quality is dropped once the
 * frequencies gone through (highest first: low ones suffer most from
 * clipping at black and white) gave it JPEG_EARLY or more coefficients with
 * r > JPEG_EARLY_R (off the grid r is about 1, on it about 0.4) */
#define JPEG_FIT 0.7
#define JPEG_MAX_COEFS 192
#define JPEG_EARLY 12
#define JPEG_EARLY_R 0.9
#define JPEG_QMIN 5
#define JPEG_QMAX 99

/* The IJG / JPEG Annex K luminance table, row = vertical frequency. */
static const int jpeg_luma[64] = {
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
};

#if defined(__GNUC__) && !defined(QA_PORTABLE)
#define JPEG_VECTORS 1
#endif

#if defined(__AVX2__)
#define JPEG_LANES 8
#else
#define JPEG_LANES 4 /* 128-bit registers: wider lanes only split, and split slower */
#endif
#define JPEG_NQ (JPEG_QMAX - JPEG_QMIN + 1)
#define JPEG_NQ_PAD ((JPEG_NQ + JPEG_LANES - 1) / JPEG_LANES * JPEG_LANES)

/* Orthonormal 8-point DCT-II basis dct8[u][x] = a(u) cos((2x + 1) u pi / 16)
 * and the quantisation steps of every quality (libjpeg's scaling, baseline
 * clamp to 1..255) with their reciprocals, made once. Steps are stored by
 * frequency, then quality - JPEG_QMIN, so a lane vector loads in one go;
 * the padding qualities get step 0, which never counts (steps < 4 do not). */
static float dct8[8][8];
static float qstep[64][JPEG_NQ_PAD], qrecip[64][JPEG_NQ_PAD];
static int last_step4[64]; /* per frequency, the last quality index with step >= 4, or -1 */
/* per frequency and step s, the first quality index with a step <= s (JPEG_NQ: none) */
static uint8_t first_step_le[64][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            dct8[u][x] = (float)((u ? 0.5 : sqrt(0.125)) * cos((2 * x + 1) * u * M_PI / 16.0));
    for (int q = JPEG_QMIN; q <= JPEG_QMAX; q++) {
        long scale = q < 50 ? 5000 / q : 200 - 2 * q;
        for (int k = 0; k < 64; k++) {
            long s = (jpeg_luma[k] * scale + 50) / 100;
            s = s < 1 ? 1 : s > 255 ? 255 : s;
            qstep[k][q - JPEG_QMIN] = (float)s;
            qrecip[k][q - JPEG_QMIN] = 1.0f / (float)s;
        }
    }
    for (int k = 0; k < 64; k++) {
        last_step4[k] = -1;
        for (int i = 0; i < JPEG_NQ; i++)
            last_step4[k] = qstep[k][i] >= 4.0f ? i : last_step4[k];
        for (int st = 255, i = 0; st >= 0; st--) { /* steps fall as the index rises */
            while (i < JPEG_NQ && qstep[k][i] > (float)st)
                i++;
            first_step_le[k][st] = (uint8_t)i;
        }
    }
}

/* 2-D orthonormal DCT of the 8x8 block at (by, bx) of y - 128 into c. */
static void dct_block(const float *y, int w, int by, int bx, float *c)
{
    float t[8][8];
    for (int r = 0; r < 8; r++)
        for (int u = 0; u < 8; u++) {
            float s = 0;
            for (int x = 0; x < 8; x++)
                s += dct8[u][x] * (y[(size_t)(by + r) * w + bx + x] - 128.0f);
            t[r][u] = s;
        }
    for (int v = 0; v < 8; v++)
        for (int u = 0; u < 8; u++) {
            float s = 0;
            for (int r = 0; r < 8; r++)
                s += dct8[v][r] * t[r][u];
            c[v * 8 + u] = s;
        }
}


/* The textured blocks' DCTs in raster order, at most JPEG_MAX_BLOCKS (a
 * flat block, AC energy <= 64, shows no grid); returns their count. */
static int textured_blocks(const float *y, int h, int w, float cb[JPEG_MAX_BLOCKS][64])
{
    int nb = 0;
    for (int by = 0; by + 8 <= h && nb < JPEG_MAX_BLOCKS; by += 8)
        for (int bx = 0; bx + 8 <= w && nb < JPEG_MAX_BLOCKS; bx += 8) {
            dct_block(y, w, by, bx, cb[nb]);
            double ac = 0;
            for (int k = 1; k < 64; k++)
                ac += (double)cb[nb][k] * cb[nb][k];
            nb += ac > 64.0;
        }
    return nb;
}

/* The magnitudes that can count for some quality (> 2), grouped by
 * frequency k at av[start[k] .. start[k + 1]), each group sorted by
 * decreasing value: a quality skips a frequency whose step is < 4 at once
 * and stops in a group at the first value <= step / 2. */
typedef struct {
    float av[JPEG_MAX_COEFS];
    int start[65];
} jpeg_groups;

static void coefficient_groups(float cb[JPEG_MAX_BLOCKS][64], int nb, jpeg_groups *gr)
{
    float g[JPEG_MAX_BLOCKS], *av = gr->av;
    int na = 0;
    for (int k = 0; k < 64; k++) {
        gr->start[k] = na;
        int m = 0;
        for (int b = 0; b < nb; b++) { /* no branch: a kept value advances m */
            g[m] = fabsf(cb[b][k]);
            m += g[m] > 2.0f;
        }
        m = m < JPEG_MAX_COEFS - na ? m : JPEG_MAX_COEFS - na; /* the first in block order */
        for (int i = 0; i < m; i++) { /* insertion, ties in block order: groups are short */
            int at = na + i;
            for (; at > na && av[at - 1] < g[i]; at--)
                av[at] = av[at - 1];
            av[at] = g[i];
        }
        na += m;
    }
    gr->start[64] = na;
}

enum { NBLK = JPEG_NQ_PAD / JPEG_LANES };

/* Steps fall as the quality rises, so a frequency counts for the qualities
 * from the first whose half step is below its largest value to the last
 * whose step is still >= 4: an interval of quality indices (q -
 * JPEG_QMIN). rel[blk] (nrel[blk]) lists the frequencies whose interval
 * meets lane block blk, highest frequency first. */
static void relevant_frequencies(const jpeg_groups *gr, int rel[NBLK][64], int nrel[NBLK])
{
    for (int blk = 0; blk < NBLK; blk++)
        nrel[blk] = 0;
    for (int k = 63; k >= 0; k--) {
        int hi = last_step4[k];
        if (gr->start[k + 1] == gr->start[k] || hi < 0)
            continue;
        /* half step < v for the integer steps s < 2 v, i.e. s <= ceil(2 v) - 1 */
        float top = ceilf(2.0f * gr->av[gr->start[k]]) - 1.0f;
        int lo = first_step_le[k][top < 255.0f ? (int)top : 255];
        for (int blk = lo / JPEG_LANES; blk <= hi / JPEG_LANES && lo <= hi; blk++)
            rel[blk][nrel[blk]++] = k;
    }
}

/* Per quality of a lane block: on-grid coefficients n, sum d^2, sum s^2. */
typedef struct {
    int n[JPEG_LANES];
    double d2[JPEG_LANES], q2[JPEG_LANES];
} jpeg_sums;

/* the lowest half step >= 2 of frequency k among the block's qualities
 * from b: the group's values above it can count for one of them */
static float block_low(int k, int b)
{
    int hi = last_step4[k], last = hi < b + JPEG_LANES - 1 ? hi : b + JPEG_LANES - 1;
    return 0.5f * qstep[k][last];
}

#if defined(JPEG_VECTORS)
typedef float lane_f __attribute__((vector_size(JPEG_LANES * sizeof(float))));
typedef int lane_i __attribute__((vector_size(JPEG_LANES * sizeof(int))));
typedef double lane_d __attribute__((vector_size(JPEG_LANES * sizeof(double))));
typedef long long lane_l __attribute__((vector_size(JPEG_LANES * sizeof(long long))));

static int lanes_any(lane_i m)
{
    int a = 0;
    for (int l = 0; l < JPEG_LANES; l++)
        a |= m[l];
    return a;
}

/* The block's qualities at once, one per lane; a lane leaves when its
 * quality is off the grid already (the early stop) */
static void fit_block(const jpeg_groups *gr, int blk, const int *rel, int nrel, jpeg_sums *out)
{
    int b = blk * JPEG_LANES;
    lane_d d2 = {0}, q2 = {0};
    lane_i n = {0}, live;
    for (int l = 0; l < JPEG_LANES; l++)
        live[l] = b + l < JPEG_NQ ? -1 : 0;
    for (int j = 0; j < nrel && lanes_any(live); j++) {
        int k = rel[j];
        lane_f s, rs;
        memcpy(&s, &qstep[k][b], sizeof s);
        memcpy(&rs, &qrecip[k][b], sizeof rs);
        lane_f half = 0.5f * s;
        lane_i on = live & (s >= 4.0f), cnt = {0};
        float low = block_low(k, b);
        for (int i = gr->start[k]; i < gr->start[k + 1] && gr->av[i] > low; i++) {
            on &= gr->av[i] > half;
            lane_f t = gr->av[i] * rs;
            lane_f r = __builtin_convertvector(__builtin_convertvector(t + 0.5f, lane_i), lane_f);
            lane_d d = __builtin_convertvector((t - r) * s, lane_d); /* t >= 0: no floorf */
            /* masked to +0 before the square, so d2 += d * d keeps the
             * scalar form (also where a compiler fuses it into an FMA) */
            d = (lane_d)((lane_l)d & __builtin_convertvector(on, lane_l));
            d2 += d * d;
            cnt -= on;
        }
        lane_d sd = __builtin_convertvector(s, lane_d);
        n += cnt;
        q2 += __builtin_convertvector(cnt, lane_d) * sd * sd;
        lane_l off = (__builtin_convertvector(n, lane_l) >= JPEG_EARLY) &
                     (12.0 * d2 > JPEG_EARLY_R * JPEG_EARLY_R * q2);
        live &= ~__builtin_convertvector(off, lane_i);
    }
    for (int l = 0; l < JPEG_LANES; l++) {
        out->n[l] = n[l];
        out->d2[l] = d2[l];
        out->q2[l] = q2[l];
    }
}
#else
/* One quality (index qi of the block from b): the operations of one lane
 * of the vector path, in its order; once its on-grid run or the early stop
 * ends, that lane only adds zeros. */
static void fit_quality(const jpeg_groups *gr, int b, int qi, const int *rel, int nrel,
                        int *n_out, double *d2_out, double *q2_out)
{
    double d2 = 0, q2 = 0;
    int n = 0, live = 1;
    for (int j = 0; j < nrel && live; j++) {
        int k = rel[j];
        float s = qstep[k][qi], rs = qrecip[k][qi], half = 0.5f * s, low = block_low(k, b);
        int cnt = 0;
        for (int i = gr->start[k]; s >= 4.0f && i < gr->start[k + 1] && gr->av[i] > low &&
                                   gr->av[i] > half;
             i++) {
            float t = gr->av[i] * rs;
            float r = (float)(int)(t + 0.5f);
            double d = (double)((t - r) * s);
            d2 += d * d;
            cnt++;
        }
        double sd = (double)s;
        n += cnt;
        q2 += (double)cnt * sd * sd;
        live = !(n >= JPEG_EARLY && 12.0 * d2 > JPEG_EARLY_R * JPEG_EARLY_R * q2);
    }
    *n_out = n;
    *d2_out = d2;
    *q2_out = q2;
}

static void fit_block(const jpeg_groups *gr, int blk, const int *rel, int nrel, jpeg_sums *out)
{
    int b = blk * JPEG_LANES;
    for (int l = 0; l < JPEG_LANES; l++) {
        out->n[l] = 0;
        out->d2[l] = out->q2[l] = 0.0;
        if (b + l < JPEG_NQ)
            fit_quality(gr, b, b + l, rel, nrel, &out->n[l], &out->d2[l], &out->q2[l]);
    }
}
#endif

/* A finer quality also fits where only its coarse-grid high frequencies
 * have steps >= 4 (Q 90 on a Q 80 image): only fits resting on at least a
 * quarter of the best-supported fit's coefficients compete. 0: none fits. */
static int best_quality(const float *fit, const int *count)
{
    int most = 0, best_q = 0;
    for (int q = JPEG_QMIN; q <= JPEG_QMAX; q++)
        most = count[q] > most ? count[q] : most;
    float best = JPEG_FIT;
    for (int q = JPEG_QMIN; q <= JPEG_QMAX; q++)
        if (count[q] >= JPEG_MIN_COEFS && 4 * count[q] >= most && fit[q] < best) {
            best = fit[q];
            best_q = q;
        }
    return best_q;
}

void env_quality_jpeg(const float *y, int h, int w, float *f)
{
    pthread_once(&tables_once, tables_init);
    float cb[JPEG_MAX_BLOCKS][64];
    jpeg_groups gr;
    coefficient_groups(cb, textured_blocks(y, h, w, cb), &gr);
    int rel[NBLK][64], nrel[NBLK];
    relevant_frequencies(&gr, rel, nrel);
    float fit[JPEG_QMAX + 1];
    int count[JPEG_QMAX + 1] = {0};
    for (int blk = 0; blk < NBLK; blk++) {
        jpeg_sums sums;
        fit_block(&gr, blk, rel[blk], nrel[blk], &sums);
        for (int l = 0; l < JPEG_LANES && blk * JPEG_LANES + l < JPEG_NQ; l++) {
            int q = JPEG_QMIN + blk * JPEG_LANES + l;
            if (sums.n[l] < JPEG_MIN_COEFS)
                continue;
            fit[q] = (float)sqrt(12.0 * sums.d2[l] / sums.q2[l]);
            count[q] = fit[q] < JPEG_FIT ? sums.n[l] : 0;
        }
    }
    int q = best_quality(fit, count);
    f[ENV_Q_JPEG] = q ? 1.0f - (float)q / 100.0f : 0.0f;
}
