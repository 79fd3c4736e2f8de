/* folder.c: class-per-sub-folder PNG/JPEG sets, and the resize they need. */
#include "data/folder.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/jpeg_io.h"
#include "data/png_io.h"

size_t data_image_resize_scratch(int ih, int iw, int oh, int ow, int c)
{
    (void)oh;
    (void)iw;
    return (size_t)ih * (size_t)ow * (size_t)c;
}

/* One output position of PIL's precompute_coeffs (bilinear: support 1). */
static void taps(int in, int out, int xx, int *xmin, int *xmax, double *center, double *fscale)
{
    double scale = (double)in / out;
    *fscale = scale < 1.0 ? 1.0 : scale;
    *center = (xx + 0.5) * scale;
    int a = (int)(*center - *fscale + 0.5), b = (int)(*center + *fscale + 0.5);
    *xmin = a < 0 ? 0 : a;
    *xmax = b > in ? in : b;
}

static double tri(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* A window of a resize: rows [y0, y0 + h) and columns [x0, x0 + w) of the
 * (oh, ow) image, each value computed exactly as in the whole image, from
 * the input rows [r0, r1) the window's vertical taps reach. */
typedef struct {
    int ih, iw, c, oh, ow;
    int y0, x0, h, w;
    int r0, r1;
} resize_win;

static resize_win window_of(int ih, int iw, int c, int oh, int ow, int y0, int x0, int h, int w)
{
    resize_win r = {ih, iw, c, oh, ow, y0, x0, h, w, 0, 0};
    int a, b;
    double ctr, fs;
    taps(ih, oh, y0, &r.r0, &b, &ctr, &fs);
    taps(ih, oh, y0 + h - 1, &a, &r.r1, &ctr, &fs);
    return r;
}

/* horizontal: input rows [r0, r1) -> tmp (r1 - r0, w, c) */
static void resize_rows(const resize_win *r, const uint8_t *in, double *tmp)
{
    int c = r->c;
    for (int x = 0; x < r->w; x++) {
        int a, b;
        double ctr, fs, ww = 0;
        taps(r->iw, r->ow, r->x0 + x, &a, &b, &ctr, &fs);
        for (int i = a; i < b; i++)
            ww += tri((i - ctr + 0.5) / fs);
        for (int y = r->r0; y < r->r1; y++)
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int i = a; i < b; i++)
                    s += tri((i - ctr + 0.5) / fs) * in[((size_t)y * r->iw + i) * c + ch];
                tmp[((size_t)(y - r->r0) * r->w + x) * c + ch] = ww > 0 ? s / ww : 0;
            }
    }
}

/* vertical: tmp -> out (h, w, c), rounded */
static void resize_cols(const resize_win *r, const double *tmp, uint8_t *out)
{
    size_t row = (size_t)r->w * r->c;
    for (int y = 0; y < r->h; y++) {
        int a, b;
        double ctr, fs, ww = 0;
        taps(r->ih, r->oh, r->y0 + y, &a, &b, &ctr, &fs);
        for (int i = a; i < b; i++)
            ww += tri((i - ctr + 0.5) / fs);
        for (size_t k = 0; k < row; k++) {
            double s = 0;
            for (int i = a; i < b; i++)
                s += tri((i - ctr + 0.5) / fs) * tmp[(size_t)(i - r->r0) * row + k];
            s = ww > 0 ? s / ww : 0;
            out[(size_t)y * row + k] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : floor(s + 0.5));
        }
    }
}

void data_image_resize(const uint8_t *in, int ih, int iw, int c, uint8_t *out, int oh, int ow,
                       double *tmp)
{
    resize_win r = window_of(ih, iw, c, oh, ow, 0, 0, oh, ow);
    resize_rows(&r, in, tmp);
    resize_cols(&r, tmp, out);
}

typedef struct {
    char **v;
    int n, cap;
} names;

static int names_add(names *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static void names_free(names *l)
{
    data_folder_free_names(l->v, l->n);
    memset(l, 0, sizeof *l);
}

void data_folder_free_names(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* a/b or a/b/c into path; -1 when it does not fit */
static int join(char *path, size_t size, const char *a, const char *b, const char *c)
{
    int n = c ? snprintf(path, size, "%s/%s/%s", a, b, c) : snprintf(path, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image_name(const char *s)
{
    const char *dot = strrchr(s, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
                   !strcasecmp(dot, ".jpeg"));
}

/* Sorted entries of dir: sub-folders (want_dirs) or image files. */
static int list_dir(const char *dir, int want_dirs, names *out, qa_err *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = QA_OK;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat st;
        if (join(path, sizeof path, dir, e->d_name, NULL) || stat(path, &st) != 0)
            continue;
        int keep = want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && is_image_name(e->d_name);
        if (keep && names_add(out, e->d_name))
            rc = qa_fail(err, QA_ERR_NOMEM, "%s: out of memory listing the directory", dir);
    }
    closedir(d);
    if (rc)
        names_free(out);
    else if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return rc;
}

/* grey <-> RGB as PIL's convert("L") / convert("RGB") */
static void to_channels(const data_image *im, int c, uint8_t *out)
{
    size_t n = (size_t)im->h * (size_t)im->w;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = im->px + i * (size_t)im->c;
        if (c == im->c)
            memcpy(out + i * (size_t)c, p, (size_t)c);
        else if (c == 3)
            out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = p[0];
        else
            out[i] = (uint8_t)((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
    }
}

/* One file into ds image i: read, channels, resize shorter side, centre
 * crop. Only the crop is computed: resizing the whole image first took
 * minutes and 1 GB for a 1x65535 PNG of 141 bytes (found by a seed of
 * tests/fuzz's folder target). */
static int load_one(data_set *ds, int i, const char *path, const data_folder_cfg *cfg,
                    qa_err *err)
{
    data_image im = {0};
    const char *dot = strrchr(path, '.');
    int rc = !strcasecmp(dot, ".png") ? data_png_read(path, &im, err)
                                      : data_jpeg_read(path, &im, err);
    if (rc)
        return rc;
    int c = cfg->channels, s = cfg->side;
    int nh = im.h <= im.w ? s : (int)floor((double)im.h * s / im.w + 0.5);
    int nw = im.h <= im.w ? (int)floor((double)im.w * s / im.h + 0.5) : s;
    nh = nh < s ? s : nh;
    nw = nw < s ? s : nw;
    resize_win r = window_of(im.h, im.w, c, nh, nw, (nh - s) / 2, (nw - s) / 2, s, s);
    uint8_t *conv = malloc((size_t)im.h * im.w * c);
    double *tmp = malloc((size_t)(r.r1 - r.r0) * (size_t)s * (size_t)c * sizeof(double));
    if (!conv || !tmp) {
        rc = qa_fail(err, QA_ERR_NOMEM, "%s: out of memory for a %dx%d image", path, im.h, im.w);
    } else {
        to_channels(&im, c, conv);
        resize_rows(&r, conv, tmp);
        resize_cols(&r, tmp, data_set_image(ds, i));
    }
    free(conv);
    free(tmp);
    data_image_free(&im);
    return rc;
}

static int load_classes(data_set *ds, const char *dir, const names *cls, const data_folder_cfg *cfg,
                        qa_err *err)
{
    names *files = calloc((size_t)cls->n, sizeof *files);
    if (!files)
        return qa_fail(err, QA_ERR_NOMEM, "%s: out of memory", dir);
    int rc = QA_OK, total = 0;
    char path[4096];
    for (int k = 0; k < cls->n && !rc; k++) {
        rc = join(path, sizeof path, dir, cls->v[k], NULL)
                 ? qa_fail(err, QA_ERR_ARG, "%s/%s: path too long", dir, cls->v[k])
                 : list_dir(path, 0, &files[k], err);
        total += files[k].n;
    }
    if (!rc && total == 0)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: no .png/.jpg/.jpeg files in its class folders", dir);
    if (!rc)
        rc = data_set_alloc(ds, total, cfg->side, cfg->side, cfg->channels, cls->n, err);
    for (int k = 0, i = 0; k < cls->n && !rc; k++)
        for (int f = 0; f < files[k].n && !rc; f++, i++) {
            ds->labels[i] = (uint8_t)k;
            rc = join(path, sizeof path, dir, cls->v[k], files[k].v[f])
                     ? qa_fail(err, QA_ERR_ARG, "%s/%s: path too long", dir, cls->v[k])
                     : load_one(ds, i, path, cfg, err);
        }
    for (int k = 0; k < cls->n; k++)
        names_free(&files[k]);
    free(files);
    return rc;
}

int data_folder_load(data_set *ds, const char *dir, const data_folder_cfg *cfg,
                     char ***class_names, qa_err *err)
{
    memset(ds, 0, sizeof *ds);
    if (class_names)
        *class_names = NULL;
    if (cfg->side < 8 || cfg->side > 4096 || (cfg->channels != 1 && cfg->channels != 3))
        return qa_fail(err, QA_ERR_ARG,
                       "image folder %s: side %d and channels %d (expected 8..4096 and 1 or 3)",
                       dir, cfg->side, cfg->channels);
    names cls;
    int rc = list_dir(dir, 1, &cls, err);
    if (rc)
        return rc;
    if (cls.n == 0 || cls.n > DATA_FOLDER_MAX_CLASSES)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: %d class sub-folders (expected 1..%d)", dir, cls.n,
                     DATA_FOLDER_MAX_CLASSES);
    if (!rc)
        rc = load_classes(ds, dir, &cls, cfg, err);
    if (rc) {
        data_set_free(ds);
        names_free(&cls);
        return rc;
    }
    snprintf(ds->source, sizeof ds->source, "%s", dir);
    if (class_names)
        *class_names = cls.v;
    else
        data_folder_free_names(cls.v, cls.n);
    return QA_OK;
}

int data_folder_load_splits(data_set *train, data_set *test, const char *dir, int side,
                            qa_err *err)
{
    const data_folder_cfg cfg = {side, 3};
    char path[4096], **a = NULL, **b = NULL;
    if (!dir || !*dir)
        return qa_fail(err, QA_ERR_CONFIG, "the folder dataset needs a directory ([data] dir)");
    if (join(path, sizeof path, dir, "train", NULL))
        return qa_fail(err, QA_ERR_ARG, "%s: path too long", dir);
    int rc = data_folder_load(train, path, &cfg, &a, err);
    join(path, sizeof path, dir, "test", NULL);
    if (!rc)
        rc = data_folder_load(test, path, &cfg, &b, err);
    for (int k = 0; !rc && k < train->nclass; k++)
        if (test->nclass != train->nclass || strcmp(a[k], b[k]) != 0)
            rc = qa_fail(err, QA_ERR_FORMAT, "%s: the class folders of train/ and test/ differ",
                         dir);
    data_folder_free_names(a, a ? train->nclass : 0);
    data_folder_free_names(b, b ? test->nclass : 0);
    return rc;
}
