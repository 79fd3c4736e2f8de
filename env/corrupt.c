/* corrupt.c: the corruption table, the severity tables, scratch and dispatch. */
#include "env/corrupt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/corrupt_impl.h"

typedef struct {
    env_corruption_info info;
    env_corrupt_fn fn; /* NULL: optional in the reference, not implemented */
} corruption_entry;

/* The reference's order (docs/CORRUPTIONS.md); the index is the id. */
static const corruption_entry corruptions[ENV_NCORRUPTION] = {
    {{"gaussian_noise", ENV_GAUSSIAN_NOISE, "noise", 1, 0, 1}, env_gaussian_noise},
    {{"shot_noise", ENV_SHOT_NOISE, "noise", 1, 0, 1}, env_shot_noise},
    {{"impulse_noise", ENV_IMPULSE_NOISE, "noise", 1, 0, 1}, env_impulse_noise},
    {{"defocus_blur", ENV_DEFOCUS_BLUR, "blur", 1, 0, 0}, env_defocus_blur},
    {{"glass_blur", ENV_GLASS_BLUR, "blur", 1, 0, 1}, env_glass_blur},
    {{"motion_blur", ENV_MOTION_BLUR, "blur", 1, 0, 1}, env_motion_blur},
    {{"zoom_blur", ENV_ZOOM_BLUR, "blur", 1, 0, 0}, env_zoom_blur},
    {{"snow", ENV_SNOW, "weather", 0, 0, 1}, NULL},
    {{"frost", ENV_FROST, "weather", 0, 0, 1}, NULL},
    {{"fog", ENV_FOG, "weather", 1, 0, 1}, env_fog},
    {{"brightness", ENV_BRIGHTNESS, "weather", 1, 0, 0}, env_brightness},
    {{"contrast", ENV_CONTRAST, "digital", 1, 0, 0}, env_contrast},
    {{"elastic_transform", ENV_ELASTIC_TRANSFORM, "digital", 0, 0, 1}, NULL},
    {{"pixelate", ENV_PIXELATE, "digital", 1, 0, 0}, env_pixelate},
    {{"jpeg_compression", ENV_JPEG_COMPRESSION, "digital", 1, 0, 0}, env_jpeg_compression},
    {{"speckle_noise", ENV_SPECKLE_NOISE, "held-out", 1, 0, 1}, env_speckle_noise},
    {{"gaussian_blur", ENV_GAUSSIAN_BLUR, "held-out", 1, 0, 0}, env_gaussian_blur},
    {{"spatter", ENV_SPATTER, "held-out", 0, 0, 1}, NULL},
    {{"saturate", ENV_SATURATE, "held-out", 1, 1, 0}, env_saturate},
};

static const char *const table_names[ENV_NTABLE] = {"cifar", "tiny", "imagenet"};

/* Parameters (a, b, c) per severity 1..5, the reference's tables:
 * noise sigma / shot c / impulse amount in a; defocus (radius, alias);
 * glass (sigma, delta, iterations); motion (radius, sigma); zoom (step,
 * number of factors 1, 1 + step, ...: the reference's np.arange lengths);
 * fog (c0, c1); brightness, contrast c; pixelate factor; jpeg quality;
 * saturate (c0, c1). Optional corruptions keep zeros. */
#define S5(a1, a2, a3, a4, a5) {{a1, 0, 0}, {a2, 0, 0}, {a3, 0, 0}, {a4, 0, 0}, {a5, 0, 0}}
static const env_sev sev_tables[ENV_NTABLE][ENV_NCORRUPTION][ENV_MAX_SEVERITY] = {
    [ENV_TABLE_CIFAR] = {
        [ENV_GAUSSIAN_NOISE] = S5(0.04, 0.06, 0.08, 0.09, 0.10),
        [ENV_SHOT_NOISE] = S5(500, 250, 100, 75, 50),
        [ENV_IMPULSE_NOISE] = S5(0.01, 0.02, 0.03, 0.05, 0.07),
        [ENV_DEFOCUS_BLUR] = {{0.3, 0.4, 0}, {0.4, 0.5, 0}, {0.5, 0.6, 0}, {1, 0.2, 0}, {1.5, 0.1, 0}},
        [ENV_GLASS_BLUR] = {{0.05, 1, 1}, {0.25, 1, 1}, {0.4, 1, 1}, {0.25, 1, 2}, {0.4, 1, 2}},
        [ENV_MOTION_BLUR] = {{6, 1, 0}, {6, 1.5, 0}, {6, 2, 0}, {8, 2, 0}, {9, 2.5, 0}},
        [ENV_ZOOM_BLUR] = {{0.01, 7, 0}, {0.01, 12, 0}, {0.01, 16, 0}, {0.01, 21, 0}, {0.01, 26, 0}},
        [ENV_FOG] = {{0.2, 3, 0}, {0.5, 3, 0}, {0.75, 2.5, 0}, {1, 2, 0}, {1.5, 1.75, 0}},
        [ENV_BRIGHTNESS] = S5(0.05, 0.10, 0.15, 0.20, 0.30),
        [ENV_CONTRAST] = S5(0.75, 0.5, 0.4, 0.3, 0.15),
        [ENV_PIXELATE] = S5(0.95, 0.9, 0.85, 0.75, 0.65),
        [ENV_JPEG_COMPRESSION] = S5(80, 65, 58, 50, 40),
        [ENV_SPECKLE_NOISE] = S5(0.06, 0.10, 0.12, 0.16, 0.20),
        [ENV_GAUSSIAN_BLUR] = S5(0.4, 0.6, 0.7, 0.8, 1.0),
        [ENV_SATURATE] = {{0.3, 0, 0}, {0.1, 0, 0}, {1.5, 0, 0}, {2, 0.1, 0}, {2.5, 0.2, 0}},
    },
    [ENV_TABLE_TINY] = {
        [ENV_GAUSSIAN_NOISE] = S5(0.04, 0.08, 0.12, 0.15, 0.18),
        [ENV_SHOT_NOISE] = S5(250, 100, 50, 30, 15),
        [ENV_IMPULSE_NOISE] = S5(0.01, 0.02, 0.05, 0.08, 0.14),
        [ENV_DEFOCUS_BLUR] = {{0.5, 0.6, 0}, {1, 0.1, 0}, {1.5, 0.1, 0}, {2.5, 0.01, 0}, {3, 0.1, 0}},
        [ENV_GLASS_BLUR] = {{0.1, 1, 1}, {0.5, 1, 1}, {0.6, 1, 2}, {0.7, 2, 1}, {0.9, 2, 2}},
        [ENV_MOTION_BLUR] = {{10, 1, 0}, {10, 1.5, 0}, {10, 2, 0}, {10, 2.5, 0}, {12, 3, 0}},
        [ENV_ZOOM_BLUR] = {{0.01, 7, 0}, {0.01, 12, 0}, {0.01, 16, 0}, {0.01, 21, 0}, {0.01, 26, 0}},
        [ENV_FOG] = {{0.4, 3, 0}, {0.7, 3, 0}, {1, 2.5, 0}, {1.5, 2, 0}, {2, 1.75, 0}},
        [ENV_BRIGHTNESS] = S5(0.1, 0.2, 0.3, 0.4, 0.5),
        [ENV_CONTRAST] = S5(0.4, 0.3, 0.2, 0.1, 0.05),
        [ENV_PIXELATE] = S5(0.9, 0.8, 0.7, 0.6, 0.5),
        [ENV_JPEG_COMPRESSION] = S5(65, 58, 50, 40, 25),
        [ENV_SPECKLE_NOISE] = S5(0.15, 0.20, 0.25, 0.30, 0.35),
        [ENV_GAUSSIAN_BLUR] = S5(0.5, 0.75, 1.0, 1.25, 1.5),
        [ENV_SATURATE] = {{0.3, 0, 0}, {0.1, 0, 0}, {2, 0, 0}, {5, 0.1, 0}, {30, 0.2, 0}},
    },
    [ENV_TABLE_IMAGENET] = {
        [ENV_GAUSSIAN_NOISE] = S5(0.08, 0.12, 0.18, 0.26, 0.38),
        [ENV_SHOT_NOISE] = S5(60, 25, 12, 5, 3),
        [ENV_IMPULSE_NOISE] = S5(0.03, 0.06, 0.09, 0.17, 0.27),
        [ENV_DEFOCUS_BLUR] = {{3, 0.1, 0}, {4, 0.5, 0}, {6, 0.5, 0}, {8, 0.5, 0}, {10, 0.5, 0}},
        [ENV_GLASS_BLUR] = {{0.7, 1, 2}, {0.9, 2, 1}, {1, 2, 3}, {1.1, 3, 2}, {1.5, 4, 2}},
        [ENV_MOTION_BLUR] = {{10, 3, 0}, {15, 5, 0}, {15, 8, 0}, {15, 12, 0}, {20, 15, 0}},
        [ENV_ZOOM_BLUR] = {{0.01, 12, 0}, {0.01, 16, 0}, {0.02, 11, 0}, {0.02, 13, 0}, {0.03, 11, 0}},
        [ENV_FOG] = {{1.5, 2, 0}, {2, 2, 0}, {2.5, 1.7, 0}, {2.5, 1.5, 0}, {3, 1.4, 0}},
        [ENV_BRIGHTNESS] = S5(0.1, 0.2, 0.3, 0.4, 0.5),
        [ENV_CONTRAST] = S5(0.4, 0.3, 0.2, 0.1, 0.05),
        [ENV_PIXELATE] = S5(0.6, 0.5, 0.4, 0.3, 0.25),
        [ENV_JPEG_COMPRESSION] = S5(25, 18, 15, 10, 7),
        [ENV_SPECKLE_NOISE] = S5(0.15, 0.20, 0.35, 0.45, 0.60),
        [ENV_GAUSSIAN_BLUR] = S5(1, 2, 3, 4, 6),
        [ENV_SATURATE] = {{0.3, 0, 0}, {0.1, 0, 0}, {2, 0, 0}, {5, 0.1, 0}, {20, 0.2, 0}},
    },
};
#undef S5

/* How many numbers of env_sev each corruption uses, for env_table_describe. */
static int param_count(int id)
{
    static const int n[ENV_NCORRUPTION] = {
        [ENV_DEFOCUS_BLUR] = 2, [ENV_GLASS_BLUR] = 3, [ENV_MOTION_BLUR] = 2,
        [ENV_ZOOM_BLUR] = 2, [ENV_FOG] = 2, [ENV_SATURATE] = 2,
    };
    return n[id] ? n[id] : 1;
}

const env_corruption_info *env_corruption_get(int id)
{
    return id >= 0 && id < ENV_NCORRUPTION ? &corruptions[id].info : NULL;
}

int env_corruption_count_available(void)
{
    int n = 0;
    for (int i = 0; i < ENV_NCORRUPTION; i++)
        n += corruptions[i].fn != NULL;
    return n;
}

int env_corruption_find(const char *name, qa_err *err)
{
    for (int i = 0; i < ENV_NCORRUPTION; i++) {
        if (strcmp(name, corruptions[i].info.name) != 0)
            continue;
        if (!corruptions[i].fn)
            return qa_fail(err, QA_ERR_UNSUPPORTED,
                           "corruption '%s' is optional in the reference (docs/CORRUPTIONS.md) "
                           "and not implemented (see `qadapt corrupt --list`)", name);
        return i;
    }
    char known[700] = "";
    size_t used = 0;
    for (int i = 0; i < ENV_NCORRUPTION && used + 1 < sizeof known; i++) {
        if (!corruptions[i].fn)
            continue;
        int k = snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "",
                         corruptions[i].info.name);
        used += k > 0 ? (size_t)k : 0;
    }
    return qa_fail(err, QA_ERR_ARG, "unknown corruption '%s' (expected one of: %s)", name, known);
}

int env_corruption_is_identity(int id, int c)
{
    const env_corruption_info *in = env_corruption_get(id);
    return in && in->colour_only && c == 1;
}

int env_table_find(const char *name, env_table *t, qa_err *err)
{
    for (int i = 0; i < ENV_NTABLE; i++)
        if (strcmp(name, table_names[i]) == 0) {
            *t = (env_table)i;
            return QA_OK;
        }
    return qa_fail(err, QA_ERR_ARG,
                   "unknown severity table '%s' (expected cifar, tiny or imagenet)", name);
}

const char *env_table_name(env_table t)
{
    return (int)t >= 0 && t < ENV_NTABLE ? table_names[t] : "?";
}

const env_sev *env_corrupt_params(env_table t, int id, int severity)
{
    return &sev_tables[t][id][severity - 1];
}

int env_table_describe(env_table t, int id, char *buf, int len)
{
    if (!env_corruption_get(id) || (int)t < 0 || t >= ENV_NTABLE || len < 1)
        return QA_ERR_ARG;
    int used = snprintf(buf, (size_t)len, "%-18s", corruptions[id].info.name);
    for (int s = 1; s <= ENV_MAX_SEVERITY && used < len; s++) {
        const env_sev *p = env_corrupt_params(t, id, s);
        const double v[3] = {p->a, p->b, p->c};
        int np = param_count(id);
        used += snprintf(buf + used, (size_t)(len - used), " %s", np > 1 ? "(" : "");
        for (int k = 0; k < np && used < len; k++)
            used += snprintf(buf + used, (size_t)(len - used), "%s%g", k ? "," : "", v[k]);
        if (np > 1 && used < len)
            used += snprintf(buf + used, (size_t)(len - used), ")");
    }
    return QA_OK;
}

void env_corrupt_rng(nn_rng *r, uint64_t seed, int id, uint32_t key, uint32_t round)
{
    nn_rng_init(r, seed, ENV_STREAM_CORRUPT + (uint32_t)id, key, round);
}

static int next_pow2(int v)
{
    int m = 1;
    while (m < v)
        m *= 2;
    return m;
}

static void work_kernels(env_work *ws)
{
    for (int t = 0; t < ENV_NTABLE; t++)
        for (int s = 1; s <= ENV_MAX_SEVERITY; s++) {
            const env_sev *g = env_corrupt_params((env_table)t, ENV_GAUSSIAN_BLUR, s);
            const env_sev *gl = env_corrupt_params((env_table)t, ENV_GLASS_BLUR, s);
            const env_sev *d = env_corrupt_params((env_table)t, ENV_DEFOCUS_BLUR, s);
            env_kernel_gauss(&ws->gauss[t][s - 1], g->a);
            env_kernel_gauss(&ws->glass[t][s - 1], gl->a);
            env_kernel_disk(&ws->disk[t][s - 1], d->a, d->b);
        }
}

int env_work_create(env_work **out, int max_h, int max_w, qa_err *err)
{
    *out = NULL;
    if (max_h < ENV_MIN_SIDE || max_w < ENV_MIN_SIDE || max_h > 8192 || max_w > 8192)
        return qa_fail(err, QA_ERR_ARG, "corruption scratch for %dx%d images: sides must be %d..8192",
                       max_h, max_w, ENV_MIN_SIDE);
    env_work *ws = calloc(1, sizeof *ws);
    if (!ws)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for corruption scratch");
    size_t px = (size_t)max_h * (size_t)max_w * 3;
    size_t pad = (size_t)(max_h + 2 * ENV_GAUSS_MAX_TAPS) * (size_t)(max_w + 2 * ENV_GAUSS_MAX_TAPS) * 3;
    int m = next_pow2(max_h > max_w ? max_h : max_w);
    ws->plasma_side = m > 256 ? m : 256;
    ws->max_h = max_h;
    ws->max_w = max_w;
    ws->f0 = malloc(px * sizeof(float));
    ws->f1 = malloc(px * sizeof(float));
    ws->pad = malloc(pad * sizeof(double));
    ws->d0 = malloc(px * sizeof(double));
    ws->d1 = malloc(px * sizeof(double));
    ws->u8 = malloc(2 * px);
    ws->coef = malloc((size_t)ENV_BOX_MAX_TAPS * (size_t)(max_h > max_w ? max_h : max_w) *
                      sizeof(int32_t));
    ws->idx = malloc(4 * (size_t)(max_h + max_w) * sizeof(int));
    ws->wt = malloc(4 * (size_t)(max_h + max_w) * sizeof(double));
    ws->plasma = malloc((size_t)ws->plasma_side * (size_t)ws->plasma_side * sizeof(double));
    ws->rand = malloc((px + 4) * sizeof(uint32_t));
    if (!ws->f0 || !ws->f1 || !ws->d0 || !ws->d1 || !ws->pad || !ws->u8 || !ws->idx || !ws->wt || !ws->coef ||
        !ws->plasma || !ws->rand) {
        env_work_free(ws);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for corruption scratch of %dx%d images",
                       max_h, max_w);
    }
    int rc = env_noise_tables(ws, err);
    if (!rc)
        rc = data_jpeg_codec_create(&ws->jpeg, err);
    if (rc) {
        env_work_free(ws);
        return rc;
    }
    work_kernels(ws);
    *out = ws;
    return QA_OK;
}

void env_work_free(env_work *ws)
{
    if (!ws)
        return;
    free(ws->f0);
    free(ws->f1);
    free(ws->pad);
    free(ws->d0);
    free(ws->d1);
    free(ws->u8);
    free(ws->idx);
    free(ws->wt);
    free(ws->coef);
    free(ws->plasma);
    free(ws->rand);
    free(ws->alias_mem);
    data_jpeg_codec_free(ws->jpeg);
    free(ws);
}

int env_corrupt(env_work *ws, int id, int severity, env_table t, const uint8_t *in, uint8_t *out,
                int h, int w, int c, nn_rng *rng, qa_err *err)
{
    if (id < 0 || id >= ENV_NCORRUPTION || !corruptions[id].fn)
        return qa_fail(err, QA_ERR_ARG, "corruption id %d is not an available corruption", id);
    if (severity < 0 || severity > ENV_MAX_SEVERITY)
        return qa_fail(err, QA_ERR_ARG, "severity %d of %s is out of range (expected 0..%d)",
                       severity, corruptions[id].info.name, ENV_MAX_SEVERITY);
    if ((int)t < 0 || t >= ENV_NTABLE)
        return qa_fail(err, QA_ERR_ARG, "severity table %d is unknown", (int)t);
    if (h < ENV_MIN_SIDE || w < ENV_MIN_SIDE || (c != 1 && c != 3) || h > ws->max_h ||
        w > ws->max_w)
        return qa_fail(err, QA_ERR_ARG,
                       "%s of a %dx%dx%d image: expected c = 1 or 3 and sides %d..%dx%d",
                       corruptions[id].info.name, h, w, c, ENV_MIN_SIDE, ws->max_h, ws->max_w);
    if (severity == 0 || env_corruption_is_identity(id, c)) {
        if (out != in)
            memcpy(out, in, (size_t)h * (size_t)w * (size_t)c);
        return QA_OK;
    }
    env_job j = {in, out, h, w, c, severity, t, *env_corrupt_params(t, id, severity), rng, ws};
    return corruptions[id].fn(&j, err);
}
