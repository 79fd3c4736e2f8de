/* corrupt_blur.c: gaussian, defocus, motion, glass and zoom blur, and their
 * kernels. Each follows the reference's arithmetic, not only its formula:
 * truncation to uint8 turns a last-bit difference at an exact integer
 * (which filters of rational weights hit often) into a whole level, so the
 * filters run in double on x / 255 in the order scipy.ndimage and the
 * imagecorruptions loops use, and zoom in float32 as the reference does.
 * (Bit-exactness is still out of reach in general: numpy's SIMD exp and
 * libm's differ in the last bit for some kernel weights; against numpy,
 * scipy and PIL the outputs differ by at most one level on a few pixels,
 * tests/env/test_corrupt_ref.c.)
 * Borders: gaussian (skimage/scipy) replicates the edge ('nearest'),
 * defocus (cv2.filter2D) reflects without repeating it (reflect-101),
 * motion (imagecorruptions' shift) replicates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "env/corrupt_impl.h"

static int clampi(int i, int n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* reflect-101: ... 2 1 | 0 1 2 ... n-1 | n-2 ...; n >= 2 */
static int reflect101(int i, int n)
{
    while (i < 0 || i >= n)
        i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
}

/* np.sum's order for n <= 128 doubles (numpy's pairwise summation) */
static double np_sum(const double *a, int n)
{
    if (n < 8) {
        double r = 0.0;
        for (int i = 0; i < n; i++)
            r += a[i];
        return r;
    }
    double r[8];
    for (int j = 0; j < 8; j++)
        r[j] = a[j];
    int i = 8;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++)
        res += a[i];
    return res;
}

void env_kernel_gauss(env_kernel1d *k, double sigma)
{
    /* scipy's _gaussian_kernel1d: radius int(4 sigma + 0.5),
     * exp(-0.5 / sigma^2 * x^2) / sum */
    int r = (int)(4.0 * sigma + 0.5);
    QA_ASSERT(r <= ENV_GAUSS_MAX_TAPS / 2);
    double w[ENV_GAUSS_MAX_TAPS], f = -0.5 / (sigma * sigma);
    for (int i = -r; i <= r; i++)
        w[i + r] = exp(f * (double)(i * i));
    double sum = np_sum(w, 2 * r + 1);
    k->radius = r;
    for (int i = 0; i <= 2 * r; i++)
        k->k[i] = w[i] / sum;
}

/* cv2.getGaussianKernel(n, sigma) for sigma > 0, as float32 */
static void gauss_small(float *g, int n, double sigma)
{
    double sum = 0, t[5];
    for (int i = 0; i < n; i++) {
        double x = i - (n - 1) * 0.5;
        t[i] = exp(-x * x / (2 * sigma * sigma));
        sum += t[i];
    }
    for (int i = 0; i < n; i++)
        g[i] = (float)(t[i] / sum);
}

void env_kernel_disk(env_kernel2d *k, double radius, double alias)
{
    /* The reference's disk(): an aliased disk on -8..8 (or -r..r beyond 8),
     * normalised, then cv2.GaussianBlur 3x3 (5x5 beyond 8), reflect-101. */
    int half = radius <= 8 ? 8 : (int)radius, n = 2 * half + 1, ks = radius <= 8 ? 3 : 5;
    QA_ASSERT(half <= ENV_DISK_MAX_SIDE / 2);
    float d[ENV_DISK_MAX_SIDE * ENV_DISK_MAX_SIDE], t[ENV_DISK_MAX_SIDE * ENV_DISK_MAX_SIDE];
    float g[5], sum = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            double X = x - half, Y = y - half;
            d[y * n + x] = X * X + Y * Y <= radius * radius ? 1.0f : 0.0f;
            sum += d[y * n + x];
        }
    for (int i = 0; i < n * n; i++)
        d[i] /= sum;
    gauss_small(g, ks, alias);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float s = 0;
            for (int i = 0; i < ks; i++)
                s += g[i] * d[y * n + reflect101(x + i - ks / 2, n)];
            t[y * n + x] = s;
        }
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float s = 0;
            for (int i = 0; i < ks; i++)
                s += g[i] * t[reflect101(y + i - ks / 2, n) * n + x];
            d[y * n + x] = s;
        }
    /* Crop to the non-zero support (symmetric): a 0.3 px disk is 3x3, not 17x17. */
    int r = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            if (d[y * n + x] != 0.0f) {
                int dy = abs(y - half), dx = abs(x - half);
                r = dy > r ? dy : r;
                r = dx > r ? dx : r;
            }
    k->radius = r;
    int m = 2 * r + 1;
    for (int y = 0; y < m; y++)
        for (int x = 0; x < m; x++)
            k->k[y * m + x] = (double)d[(y + half - r) * n + (x + half - r)];
}

int env_kernel_motion(double *k, int radius, double sigma)
{
    /* imagecorruptions: width 2r+1, one-sided gauss_function(i, 0, sigma), normalised */
    int n = 2 * radius + 1;
    QA_ASSERT(n <= ENV_MOTION_MAX_TAPS);
    double w[ENV_MOTION_MAX_TAPS] = {0};
    for (int i = 0; i < n; i++)
        w[i] = exp(-(double)(i * i) / (2 * (sigma * sigma))) / (sqrt(2 * M_PI) * sigma);
    double sum = np_sum(w, n);
    for (int i = 0; i < n; i++)
        k[i] = w[i] / sum;
    return n;
}

/* scipy's correlate1d for a symmetric kernel: o = k0 x + sum over j from
 * the outermost tap inwards of kj (x[-j] + x[+j]); gaussian_filter runs it
 * along rows (axis 0) first, then along columns. */
void env_blur_separable(env_work *ws, const env_kernel1d *k, const double *in, double *out, int h,
                        int w, int c)
{
    int r = k->radius, wc = w * c;
    const double *kc = k->k + r; /* centre */
    double *tmp = ws->pad, *line = ws->pad + (size_t)h * wc;
    for (int y = 0; y < h; y++) {
        double *t = tmp + (size_t)y * wc;
        const double *m = in + (size_t)y * wc;
        for (int i = 0; i < wc; i++)
            t[i] = m[i] * kc[0];
        for (int j = r; j >= 1; j--) {
            const double *a = in + (size_t)clampi(y - j, h) * wc;
            const double *b = in + (size_t)clampi(y + j, h) * wc;
            for (int i = 0; i < wc; i++)
                t[i] += (a[i] + b[i]) * kc[j];
        }
    }
    for (int y = 0; y < h; y++) {
        const double *row = tmp + (size_t)y * wc;
        for (int x = 0; x < r; x++)
            for (int ch = 0; ch < c; ch++) {
                line[x * c + ch] = row[ch];
                line[(r + w + x) * c + ch] = row[(w - 1) * c + ch];
            }
        memcpy(line + r * c, row, sizeof(double) * (size_t)wc);
        const double *mid = line + r * c;
        double *o = out + (size_t)y * wc;
        for (int i = 0; i < wc; i++)
            o[i] = mid[i] * kc[0];
        for (int j = r; j >= 1; j--) {
            const double *a = mid - j * c, *b = mid + j * c;
            for (int i = 0; i < wc; i++)
                o[i] += (a[i] + b[i]) * kc[j];
        }
    }
}

/* uint8 -> x / 255 */
static void to_unit(const uint8_t *in, double *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = in[i] / 255.0;
}

/* clip(x, 0, 1) * 255 -> uint8 (truncation) */
static void unit_to_u8(const double *d, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = d[i] < 0.0 ? 0.0 : d[i] > 1.0 ? 1.0 : d[i];
        out[i] = (uint8_t)(v * 255.0);
    }
}

int env_gaussian_blur(const env_job *j, qa_err *err)
{
    (void)err;
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    env_work *ws = j->ws;
    to_unit(j->in, ws->d0, n);
    env_blur_separable(ws, &ws->gauss[j->table][j->severity - 1], ws->d0, ws->d1, j->h, j->w, j->c);
    unit_to_u8(ws->d1, j->out, n);
    return QA_OK;
}

/* cv2.filter2D on x / 255 (double): per output, the kernel's non-zero
 * taps in row-major order, borders reflect-101 */
int env_defocus_blur(const env_job *j, qa_err *err)
{
    (void)err;
    env_work *ws = j->ws;
    const env_kernel2d *k = &ws->disk[j->table][j->severity - 1];
    int r = k->radius, m = 2 * r + 1, h = j->h, w = j->w, c = j->c;
    size_t pw = (size_t)(w + 2 * r) * c, wc = (size_t)w * c;
    for (int y = 0; y < h; y++)
        for (int x = -r; x < w + r; x++)
            for (int ch = 0; ch < c; ch++)
                ws->pad[y * pw + (size_t)(x + r) * c + ch] =
                    j->in[((size_t)y * w + reflect101(x, w)) * c + ch] / 255.0;
    for (int y = 0; y < h; y++) {
        double *o = ws->d0 + y * wc;
        memset(o, 0, sizeof(double) * wc);
        for (int ky = 0; ky < m; ky++) {
            const double *src = ws->pad + reflect101(y + ky - r, h) * pw;
            for (int kx = 0; kx < m; kx++) {
                double kv = k->k[ky * m + kx];
                if (kv == 0.0)
                    continue;
                const double *s = src + (size_t)kx * c;
                for (size_t i = 0; i < wc; i++)
                    o[i] += kv * s[i];
            }
        }
    }
    unit_to_u8(ws->d0, j->out, (size_t)h * wc);
    return QA_OK;
}

void env_motion_blur_at(env_work *ws, const uint8_t *in, uint8_t *out, int h, int w, int c,
                        int radius, double sigma, double angle)
{
    double k[ENV_MOTION_MAX_TAPS];
    int n = env_kernel_motion(k, radius, sigma);
    /* the reference's point = width (sin, cos) and its hypot, not (sin, cos) */
    double rad = angle * (M_PI / 180.0);
    double py = n * sin(rad), px = n * cos(rad), hyp = hypot(py, px);
    size_t wc = (size_t)w * c;
    double *acc = ws->d0;
    int *col = ws->idx;
    memset(acc, 0, sizeof(double) * (size_t)h * wc);
    for (int i = 0; i < n; i++) {
        /* out(y, x) = in(y + oy, x + ox), edges replicated */
        int oy = (int)ceil(i * py / hyp - 0.5), ox = (int)ceil(i * px / hyp - 0.5);
        if (abs(oy) >= h || abs(ox) >= w)
            break; /* the reference stops once the motion leaves the image */
        for (int x = 0; x < w; x++)
            col[x] = clampi(x + ox, w) * c;
        for (int y = 0; y < h; y++) {
            const uint8_t *src = in + (size_t)clampi(y + oy, h) * wc;
            double *a = acc + (size_t)y * wc;
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                    a[x * c + ch] += k[i] * src[col[x] + ch];
        }
    }
    for (size_t i = 0; i < (size_t)h * wc; i++) /* clip(x, 0, 255) then uint8 */
        out[i] = (uint8_t)(acc[i] < 0.0 ? 0.0 : acc[i] > 255.0 ? 255.0 : acc[i]);
}

int env_motion_blur(const env_job *j, qa_err *err)
{
    (void)err;
    double angle = nn_rng_uniform_d(j->rng) * 90.0 - 45.0;
    env_motion_blur_at(j->ws, j->in, j->out, j->h, j->w, j->c, (int)j->p.a, j->p.b, angle);
    return QA_OK;
}

/* The generators' pixel "swap": for h from H - delta down to delta + 1 and
 * w likewise, (dx, dy) uniform in [-delta, delta - 1]. They write it
 * `x[h, w], x[h', w'] = x[h', w'], x[h, w]` on an (H, W, 3) array, where
 * both sides are numpy views: x[h, w] receives x[h', w'] and x[h', w'] is
 * then assigned its own value, so every published ImageNet-C / CIFAR-10-C
 * image (and imagecorruptions, which stacks grey to RGB) was made with a
 * copy, not a swap. We do the same; a true swap would drag values along the
 * scan direction, several pixels up-left, and is a different corruption. */
static void glass_shuffle(uint8_t *px, int h, int w, int c, int delta, nn_rng *rng)
{
    for (int y = h - delta; y > delta; y--)
        for (int x = w - delta; x > delta; x--) {
            int dx = (int)nn_rng_below(rng, 2u * (uint32_t)delta) - delta;
            int dy = (int)nn_rng_below(rng, 2u * (uint32_t)delta) - delta;
            uint8_t *a = px + ((size_t)y * w + x) * c;
            const uint8_t *b = px + ((size_t)(y + dy) * w + (x + dx)) * c;
            for (int ch = 0; ch < c; ch++)
                a[ch] = b[ch];
        }
}

/* gaussian to uint8 (np.uint8 of values in 0..255: truncation, no clip
 * needed), the shuffle, gaussian again with the usual clip */
int env_glass_blur(const env_job *j, qa_err *err)
{
    (void)err;
    env_work *ws = j->ws;
    const env_kernel1d *k = &ws->glass[j->table][j->severity - 1];
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    to_unit(j->in, ws->d0, n);
    env_blur_separable(ws, k, ws->d0, ws->d1, j->h, j->w, j->c);
    unit_to_u8(ws->d1, ws->u8, n);
    for (int it = 0; it < (int)j->p.c; it++)
        glass_shuffle(ws->u8, j->h, j->w, j->c, (int)j->p.b, j->rng);
    to_unit(ws->u8, ws->d0, n);
    env_blur_separable(ws, k, ws->d0, ws->d1, j->h, j->w, j->c);
    unit_to_u8(ws->d1, j->out, n);
    return QA_OK;
}

/* scipy.ndimage.zoom (order 1, grid_mode False) of the centred crop of
 * side ceil(n / z) back to round(n' z), trimmed to n: for each output
 * index, the two source indices and the weight of the second. */
static void zoom_axis(int n, double z, int *i0, int *i1, double *t)
{
    int cn = (int)ceil(n / z), top = (n - cn) / 2;
    int zn = (int)nearbyint(cn * z), trim = (zn - n) / 2; /* Python round: half to even */
    double step = zn > 1 ? (double)(cn - 1) / (zn - 1) : 0.0;
    for (int k = 0; k < n; k++) {
        double s = (k + trim) * step;
        int a = (int)floor(s);
        a = a > cn - 1 ? cn - 1 : a;
        i0[k] = top + a;
        i1[k] = top + (a + 1 < cn ? a + 1 : cn - 1);
        t[k] = s - a;
    }
}

/* mean of the image and its zooms by 1, 1 + step, ..., in float32 in the
 * reference's order of operations (x / 255 as float32, sum, divide). */
int env_zoom_blur(const env_job *j, qa_err *err)
{
    (void)err;
    env_work *ws = j->ws;
    int h = j->h, w = j->w, c = j->c, nz = (int)j->p.b;
    size_t n = (size_t)h * w * c;
    float *x = ws->f0, *acc = ws->f1;
    int *ry0 = ws->idx, *ry1 = ry0 + h, *cx0 = ry1 + h, *cx1 = cx0 + w;
    double *ty = ws->wt, *tx = ws->wt + h;
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(j->in[i] / 255.0); /* (x / 255.).astype(float32) */
        acc[i] = 0.0f;
    }
    /* numpy's arange(1, end, step) fills start + k * delta with delta =
     * (start + step) - start, not step: 1 + 25 * 0.01 is 1.25 but the
     * reference's 26th factor is 1.2500000000000002, whose zoomed crop is
     * round(12.500000000000002) = 13 px where 1.25 would give 12. */
    double delta = (1.0 + j->p.a) - 1.0;
    for (int k = 0; k < nz; k++) {
        double z = 1.0 + k * delta;
        zoom_axis(h, z, ry0, ry1, ty);
        zoom_axis(w, z, cx0, cx1, tx);
        for (int y = 0; y < h; y++) {
            const float *r0 = x + (size_t)ry0[y] * w * c, *r1 = x + (size_t)ry1[y] * w * c;
            float *o = acc + (size_t)y * w * c;
            for (int xx = 0; xx < w; xx++)
                for (int ch = 0; ch < c; ch++) {
                    size_t a = (size_t)cx0[xx] * c + ch, b = (size_t)cx1[xx] * c + ch;
                    double top = r0[a] + tx[xx] * (r0[b] - r0[a]);
                    double bot = r1[a] + tx[xx] * (r1[b] - r1[a]);
                    o[xx * c + ch] += (float)(top + ty[y] * (bot - top));
                }
        }
    }
    float div = (float)(nz + 1);
    for (size_t i = 0; i < n; i++)
        j->out[i] = env_unit_to_u8((x[i] + acc[i]) / div);
    return QA_OK;
}
