/* corrupt_blur.c: gaussian, defocus, motion and glass blur, and their
 * kernels. Filters run on float planes in the 0..255 scale: the reference's
 * x/255 ... *255 is a linear rescaling, so only rounding differs.
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

void env_kernel_gauss(env_kernel1d *k, double sigma)
{
    /* scipy.ndimage.gaussian_filter: radius int(truncate * sigma + 0.5), truncate 4 */
    int r = (int)(4.0 * sigma + 0.5);
    QA_ASSERT(r <= ENV_GAUSS_MAX_TAPS / 2);
    double w[ENV_GAUSS_MAX_TAPS], sum = 0;
    for (int i = -r; i <= r; i++) {
        w[i + r] = exp(-0.5 * (double)i * i / (sigma * sigma));
        sum += w[i + r];
    }
    k->radius = r;
    for (int i = 0; i <= 2 * r; i++)
        k->k[i] = (float)(w[i] / sum);
}

/* cv2.getGaussianKernel(n, sigma) for sigma > 0 */
static void gauss_small(float *g, int n, double sigma)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double x = i - (n - 1) * 0.5;
        g[i] = (float)exp(-x * x / (2 * sigma * sigma));
        sum += g[i];
    }
    for (int i = 0; i < n; i++)
        g[i] = (float)(g[i] / sum);
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
            k->k[y * m + x] = d[(y + half - r) * n + (x + half - r)];
}

int env_kernel_motion(float *k, int radius, double sigma)
{
    /* imagecorruptions: width 2r+1, one-sided gauss_function(i, 0, sigma), normalised */
    int n = 2 * radius + 1;
    QA_ASSERT(n <= ENV_MOTION_MAX_TAPS);
    double w[ENV_MOTION_MAX_TAPS], sum = 0;
    for (int i = 0; i < n; i++) {
        w[i] = exp(-(double)i * i / (2 * sigma * sigma)) / (sqrt(2 * M_PI) * sigma);
        sum += w[i];
    }
    for (int i = 0; i < n; i++)
        k[i] = (float)(w[i] / sum);
    return n;
}

/* Symmetric taps: o = k0 x + sum_j kj (x[-j] + x[+j]), axpy over whole rows. */
void env_blur_separable(env_work *ws, const env_kernel1d *k, const float *in, float *out, int h,
                        int w, int c)
{
    int r = k->radius, wc = w * c;
    float *line = ws->pad, *tmp = ws->pad + (size_t)(w + 2 * ENV_GAUSS_MAX_TAPS) * 3;
    for (int y = 0; y < h; y++) {
        const float *row = in + (size_t)y * wc;
        for (int x = 0; x < r; x++)
            for (int ch = 0; ch < c; ch++) {
                line[x * c + ch] = row[ch];
                line[(r + w + x) * c + ch] = row[(w - 1) * c + ch];
            }
        memcpy(line + r * c, row, sizeof(float) * (size_t)wc);
        const float *mid = line + r * c;
        float *t = tmp + (size_t)y * wc;
        for (int i = 0; i < wc; i++)
            t[i] = k->k[r] * mid[i];
        for (int j = 1; j <= r; j++) {
            const float *a = mid - j * c, *b = mid + j * c;
            float kj = k->k[r + j];
            for (int i = 0; i < wc; i++)
                t[i] += kj * (a[i] + b[i]);
        }
    }
    for (int y = 0; y < h; y++) {
        float *o = out + (size_t)y * wc;
        const float *m = tmp + (size_t)y * wc;
        for (int i = 0; i < wc; i++)
            o[i] = k->k[r] * m[i];
        for (int j = 1; j <= r; j++) {
            const float *a = tmp + (size_t)clampi(y - j, h) * wc;
            const float *b = tmp + (size_t)clampi(y + j, h) * wc;
            float kj = k->k[r + j];
            for (int i = 0; i < wc; i++)
                o[i] += kj * (a[i] + b[i]);
        }
    }
}

static void to_float(const uint8_t *in, float *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f[i] = in[i];
}

static void to_u8(const float *f, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = env_filtered_to_u8(f[i]);
}

int env_gaussian_blur(const env_job *j, qa_err *err)
{
    (void)err;
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    env_work *ws = j->ws;
    to_float(j->in, ws->f0, n);
    env_blur_separable(ws, &ws->gauss[j->table][j->severity - 1], ws->f0, ws->f1, j->h, j->w, j->c);
    to_u8(ws->f1, j->out, n);
    return QA_OK;
}

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
                    j->in[((size_t)y * w + reflect101(x, w)) * c + ch];
    for (int y = 0; y < h; y++) {
        float *o = ws->f0 + y * wc;
        memset(o, 0, sizeof(float) * wc);
        for (int ky = 0; ky < m; ky++) {
            const float *src = ws->pad + reflect101(y + ky - r, h) * pw;
            for (int kx = 0; kx < m; kx++) {
                float kv = k->k[ky * m + kx];
                if (kv == 0.0f)
                    continue;
                const float *s = src + (size_t)kx * c;
                for (size_t i = 0; i < wc; i++)
                    o[i] += kv * s[i];
            }
        }
    }
    to_u8(ws->f0, j->out, (size_t)h * wc);
    return QA_OK;
}

void env_motion_blur_at(env_work *ws, const uint8_t *in, uint8_t *out, int h, int w, int c,
                        int radius, double sigma, double angle)
{
    float k[ENV_MOTION_MAX_TAPS];
    int n = env_kernel_motion(k, radius, sigma);
    double sa = sin(angle * M_PI / 180.0), ca = cos(angle * M_PI / 180.0);
    size_t wc = (size_t)w * c;
    float *acc = ws->f0;
    int *col = ws->idx;
    memset(acc, 0, sizeof(float) * (size_t)h * wc);
    for (int i = 0; i < n; i++) {
        /* out(y, x) = in(y + oy, x + ox), edges replicated */
        int oy = (int)ceil(i * sa - 0.5), ox = (int)ceil(i * ca - 0.5);
        if (abs(oy) >= h || abs(ox) >= w)
            break; /* the reference stops once the motion leaves the image */
        for (int x = 0; x < w; x++)
            col[x] = clampi(x + ox, w) * c;
        for (int y = 0; y < h; y++) {
            const uint8_t *src = in + (size_t)clampi(y + oy, h) * wc;
            float *a = acc + (size_t)y * wc;
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                    a[x * c + ch] += k[i] * src[col[x] + ch];
        }
    }
    to_u8(acc, out, (size_t)h * wc);
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

int env_glass_blur(const env_job *j, qa_err *err)
{
    (void)err;
    env_work *ws = j->ws;
    const env_kernel1d *k = &ws->glass[j->table][j->severity - 1];
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    to_float(j->in, ws->f0, n);
    env_blur_separable(ws, k, ws->f0, ws->f1, j->h, j->w, j->c);
    to_u8(ws->f1, ws->u8, n);
    for (int it = 0; it < (int)j->p.c; it++)
        glass_shuffle(ws->u8, j->h, j->w, j->c, (int)j->p.b, j->rng);
    to_float(ws->u8, ws->f0, n);
    env_blur_separable(ws, k, ws->f0, ws->f1, j->h, j->w, j->c);
    to_u8(ws->f1, j->out, n);
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
        x[i] = (float)j->in[i] / 255.0f;
        acc[i] = 0.0f;
    }
    for (int k = 0; k < nz; k++) {
        double z = 1.0 + k * j->p.a;
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
        j->out[i] = env_filtered_to_u8((x[i] + acc[i]) / div * 255.0f);
    return QA_OK;
}
