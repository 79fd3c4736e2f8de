/* corrupt_digital.c: contrast, brightness, saturate, pixelate and JPEG.
 * Pointwise grey operations go through a 256-entry table built per image
 * (the reference's double arithmetic, evaluated once per grey level instead
 * of once per pixel); colour ones convert each pixel through skimage's HSV. */
#include <math.h>
#include <string.h>

#include "env/corrupt_impl.h"

/* reference: clip(y, 0, 1) * 255 then uint8 (truncation), in double */
static uint8_t unit_to_u8_d(double y)
{
    y = y < 0.0 ? 0.0 : y > 1.0 ? 1.0 : y;
    return (uint8_t)(y * 255.0);
}

static void apply_lut(const uint8_t *lut, const uint8_t *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = lut[in[i]];
}

/* (x - mean) * c + mean per channel; the mean is sum / (255 n) from the
 * exact integer sum, so a constant image maps to itself exactly. */
int env_contrast(const env_job *j, qa_err *err)
{
    (void)err;
    int c = j->c;
    size_t hw = (size_t)j->h * (size_t)j->w;
    uint64_t sum[3] = {0, 0, 0};
    for (size_t i = 0; i < hw; i++)
        for (int ch = 0; ch < c; ch++)
            sum[ch] += j->in[i * c + ch];
    uint8_t lut[3][256];
    for (int ch = 0; ch < c; ch++) {
        double m = (double)sum[ch] / (255.0 * (double)hw);
        for (int v = 0; v < 256; v++)
            lut[ch][v] = unit_to_u8_d((v / 255.0 - m) * j->p.a + m);
    }
    if (c == 1) {
        apply_lut(lut[0], j->in, j->out, hw);
        return QA_OK;
    }
    for (size_t i = 0; i < hw; i++)
        for (int ch = 0; ch < 3; ch++)
            j->out[i * 3 + ch] = lut[ch][j->in[i * 3 + ch]];
    return QA_OK;
}

/* skimage.color.rgb2hsv for one pixel in [0, 1] (on ties the later of red,
 * green, blue decides the hue, as its successive masked assignments do). */
static void rgb2hsv(const double *rgb, double *hsv)
{
    double r = rgb[0], g = rgb[1], b = rgb[2];
    double v = fmax(r, fmax(g, b)), mn = fmin(r, fmin(g, b)), d = v - mn, hh = 0;
    if (d != 0.0) {
        if (b == v)
            hh = 4.0 + (r - g) / d;
        else if (g == v)
            hh = 2.0 + (b - r) / d;
        else
            hh = (g - b) / d;
        hh = fmod(hh / 6.0, 1.0);
        if (hh < 0)
            hh += 1.0;
    }
    hsv[0] = hh;
    hsv[1] = d == 0.0 ? 0.0 : d / v;
    hsv[2] = v;
}

/* skimage.color.hsv2rgb for one pixel */
static void hsv2rgb(const double *hsv, double *rgb)
{
    double hi = floor(hsv[0] * 6.0), f = hsv[0] * 6.0 - hi, s = hsv[1], v = hsv[2];
    double p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
    switch ((int)hi % 6) {
    case 0: rgb[0] = v, rgb[1] = t, rgb[2] = p; break;
    case 1: rgb[0] = q, rgb[1] = v, rgb[2] = p; break;
    case 2: rgb[0] = p, rgb[1] = v, rgb[2] = t; break;
    case 3: rgb[0] = p, rgb[1] = q, rgb[2] = v; break;
    case 4: rgb[0] = t, rgb[1] = p, rgb[2] = v; break;
    default: rgb[0] = v, rgb[1] = p, rgb[2] = q; break;
    }
}

/* HSV channel k <- clip(HSV[k] * mul + add, 0, 1), every pixel */
static void hsv_affine(const env_job *j, int k, double mul, double add)
{
    size_t hw = (size_t)j->h * (size_t)j->w;
    for (size_t i = 0; i < hw; i++) {
        const uint8_t *p = j->in + i * 3;
        double rgb[3] = {p[0] / 255.0, p[1] / 255.0, p[2] / 255.0}, hsv[3];
        rgb2hsv(rgb, hsv);
        double y = hsv[k] * mul + add;
        hsv[k] = y < 0 ? 0 : y > 1 ? 1 : y;
        hsv2rgb(hsv, rgb);
        uint8_t *o = j->out + i * 3;
        for (int ch = 0; ch < 3; ch++)
            o[ch] = unit_to_u8_d(rgb[ch]);
    }
}

/* V += c in HSV (colour); x + c on grey, as the reference's 2-D branch */
int env_brightness(const env_job *j, qa_err *err)
{
    (void)err;
    if (j->c == 3) {
        hsv_affine(j, 2, 1.0, j->p.a);
        return QA_OK;
    }
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = unit_to_u8_d(v / 255.0 + j->p.a);
    apply_lut(lut, j->in, j->out, (size_t)j->h * (size_t)j->w);
    return QA_OK;
}

/* S = S * c0 + c1 in HSV; env_corrupt never calls it on grey images */
int env_saturate(const env_job *j, qa_err *err)
{
    (void)err;
    QA_ASSERT(j->c == 3);
    hsv_affine(j, 1, j->p.a, j->p.b);
    return QA_OK;
}

/* PIL's 8-bit resampling with the BOX filter along one axis (Resample.c:
 * precompute_coeffs + normalize_coeffs_8bpc): for each output position,
 * the first input index and the 22-bit fixed-point weights of ksize taps. */
#define PIL_PRECISION_BITS (32 - 8 - 2)
static int box_coeffs(int in, int out, int *first, int *count, int32_t *kk)
{
    double scale = (double)in / out, fscale = scale < 1.0 ? 1.0 : scale;
    double support = 0.5 * fscale;
    int ksize = (int)ceil(support) * 2 + 1;
    QA_ASSERT(ksize <= ENV_BOX_MAX_TAPS);
    for (int xx = 0; xx < out; xx++) {
        double center = (xx + 0.5) * scale, ww = 0, k[ENV_BOX_MAX_TAPS];
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        xmin = xmin < 0 ? 0 : xmin;
        xmax = (xmax > in ? in : xmax) - xmin;
        for (int x = 0; x < xmax; x++) {
            double t = (x + xmin - center + 0.5) / fscale;
            k[x] = t > -0.5 && t <= 0.5 ? 1.0 : 0.0;
            ww += k[x];
        }
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax && ww != 0.0 ? k[x] / ww : 0.0;
            kk[xx * ksize + x] = (int32_t)(0.5 + v * (1 << PIL_PRECISION_BITS));
        }
        first[xx] = xmin;
        count[xx] = xmax;
    }
    return ksize;
}

static uint8_t pil_clip8(int64_t ss)
{
    if (ss >= (int64_t)256 << PIL_PRECISION_BITS)
        return 255;
    return ss <= 0 ? 0 : (uint8_t)(ss >> PIL_PRECISION_BITS);
}

/* PIL Image.resize(BOX) of (ih, iw, c) to (oh, ow, c): horizontal pass to
 * uint8, then vertical, as ImagingResampleInner does. */
static void pil_box_resize(env_work *ws, const uint8_t *in, int ih, int iw, uint8_t *out, int oh,
                           int ow, int c)
{
    int *first = ws->idx, *count = ws->idx + ws->max_h + ws->max_w;
    int32_t *kk = ws->coef;
    uint8_t *tmp = ws->u8; /* (ih, ow, c) */
    int ks = box_coeffs(iw, ow, first, count, kk);
    for (int y = 0; y < ih; y++)
        for (int x = 0; x < ow; x++)
            for (int ch = 0; ch < c; ch++) {
                int64_t ss = 1 << (PIL_PRECISION_BITS - 1);
                const uint8_t *src = in + ((size_t)y * iw + first[x]) * c + ch;
                for (int t = 0; t < count[x]; t++)
                    ss += (int64_t)src[(size_t)t * c] * kk[x * ks + t];
                tmp[((size_t)y * ow + x) * c + ch] = pil_clip8(ss);
            }
    ks = box_coeffs(ih, oh, first, count, kk);
    size_t row = (size_t)ow * c;
    for (int y = 0; y < oh; y++)
        for (size_t i = 0; i < row; i++) {
            int64_t ss = 1 << (PIL_PRECISION_BITS - 1);
            const uint8_t *src = tmp + (size_t)first[y] * row + i;
            for (int t = 0; t < count[y]; t++)
                ss += (int64_t)src[(size_t)t * row] * kk[y * ks + t];
            out[(size_t)y * row + i] = pil_clip8(ss);
        }
}

/* BOX down to int(side * factor), BOX back up (PIL rounds, it does not truncate) */
int env_pixelate(const env_job *j, qa_err *err)
{
    (void)err;
    env_work *ws = j->ws;
    int sh = (int)(j->h * j->p.a), sw = (int)(j->w * j->p.a);
    sh = sh < 1 ? 1 : sh;
    sw = sw < 1 ? 1 : sw;
    uint8_t *small = ws->u8 + (size_t)ws->max_h * (size_t)ws->max_w * 3;
    pil_box_resize(ws, j->in, j->h, j->w, small, sh, sw, j->c);
    pil_box_resize(ws, small, sh, sw, j->out, j->h, j->w, j->c);
    return QA_OK;
}

/* encode at the table's quality, decode (data/jpeg_io.h: 4:2:0 for colour) */
int env_jpeg_compression(const env_job *j, qa_err *err)
{
    return data_jpeg_roundtrip(j->ws->jpeg, j->in, j->h, j->w, j->c, (int)j->p.a, j->out, err);
}
