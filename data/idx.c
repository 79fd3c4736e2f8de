/* idx.c: IDX reader. The header is big-endian: a 4-byte magic (0, 0, type
 * 0x08 = ubyte, number of dimensions) then one uint32 per dimension, then
 * the data. zlib's gzread passes uncompressed files through unchanged. */
#include "data/idx.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* The most bytes deflate can expand one byte of its stream into (zlib's
 * documented worst case is 1032:1). */
enum { IDX_MAGIC_IMAGES = 0x803, IDX_MAGIC_LABELS = 0x801, IDX_MAX_SIDE = 4096,
       IDX_DEFLATE_MAX_RATIO = 1032 };

typedef struct {
    gzFile f;
    const char *path;
    long long size; /* bytes of the file as stored */
} idx_file;

static int idx_open(idx_file *x, const char *path, qa_err *err)
{
    struct stat st;
    x->path = path;
    x->size = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    errno = 0;
    x->f = gzopen(path, "rb");
    if (!x->f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(x->f, 1 << 17);
    return QA_OK;
}

static void idx_close(idx_file *x)
{
    if (x->f)
        gzclose(x->f);
    x->f = NULL;
}

/* zlib's messages start with the file name, which ours already give. */
static const char *idx_zmsg(const idx_file *x, int *zerr)
{
    const char *msg = gzerror(x->f, zerr);
    size_t n = strlen(x->path);
    if (*zerr == Z_ERRNO)
        return strerror(errno);
    return strncmp(msg, x->path, n) == 0 && strncmp(msg + n, ": ", 2) == 0 ? msg + n + 2 : msg;
}

/* Exactly n bytes, or an error saying whether the file ended early or the
 * compressed stream is damaged (zlib reads ahead, so damage anywhere in a
 * small file shows on the first read). */
static int idx_read(idx_file *x, void *buf, size_t n, const char *what, qa_err *err)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < (1u << 30) ? n - got : (1u << 30);
        int r = gzread(x->f, (char *)buf + got, (unsigned)want);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == n)
        return QA_OK;
    int zerr = Z_OK;
    const char *msg = idx_zmsg(x, &zerr);
    if (zerr != Z_OK && zerr != Z_BUF_ERROR)
        return qa_fail(err, QA_ERR_FORMAT, "%s: corrupt gzip data: %s", x->path, msg);
    return qa_fail(err, QA_ERR_FORMAT, "%s: truncated: expected %zu bytes of %s, found %zu",
                   x->path, n, what, got);
}

/* Reads the magic and the dimensions; ndims is fixed by the magic. */
static int idx_header(idx_file *x, uint32_t magic, uint32_t *dims, int ndims, qa_err *err)
{
    uint8_t h[4 + 4 * 3];
    int rc = idx_read(x, h, 4, "the IDX magic number", err);
    if (rc)
        return rc;
    uint32_t m = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    if (m != magic)
        return qa_fail(err, QA_ERR_FORMAT,
                       "%s: not an IDX %s file: magic number 0x%08x, expected 0x%08x", x->path,
                       magic == IDX_MAGIC_IMAGES ? "images" : "labels", m, magic);
    rc = idx_read(x, h + 4, 4 * (size_t)ndims, "the IDX dimensions", err);
    if (rc)
        return rc;
    for (int i = 0; i < ndims; i++) {
        const uint8_t *p = h + 4 + 4 * i;
        dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    return QA_OK;
}

/* The data must end exactly where the header says. */
static int idx_expect_end(idx_file *x, const char *what, qa_err *err)
{
    char extra;
    int r = gzread(x->f, &extra, 1);
    if (r > 0)
        return qa_fail(err, QA_ERR_FORMAT, "%s: trailing data after the %s the header announces",
                       x->path, what);
    int zerr = Z_OK;
    const char *msg = idx_zmsg(x, &zerr);
    if (r < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
        return qa_fail(err, QA_ERR_FORMAT, "%s: corrupt gzip data after the %s: %s", x->path, what,
                       msg);
    if (zerr == Z_BUF_ERROR)
        return qa_fail(err, QA_ERR_FORMAT, "%s: truncated gzip stream after the %s: %s", x->path,
                       what, msg);
    return QA_OK;
}

/* Refuses a header announcing more data than the file can hold, before
 * anything is allocated for it: a plain file must hold it after the
 * header's hdr bytes, a gzip file at most IDX_DEFLATE_MAX_RATIO times its
 * own size. (A 30-byte file announcing 40 GB of images was an out-of-memory
 * abort under AddressSanitizer, and a misleading "out of memory" error
 * without it.) */
static int idx_check_room(const idx_file *x, unsigned long long want, unsigned long long hdr,
                          const char *what, qa_err *err)
{
    unsigned long long size = x->size > 0 ? (unsigned long long)x->size : 0;
    if (gzdirect(x->f)) {
        unsigned long long have = size > hdr ? size - hdr : 0;
        if (want > have)
            return qa_fail(err, QA_ERR_FORMAT,
                           "%s: truncated: expected %llu bytes of %s, found %llu", x->path, want,
                           what, have);
    } else if (want + hdr > size * IDX_DEFLATE_MAX_RATIO) {
        return qa_fail(err, QA_ERR_FORMAT,
                       "%s: truncated: the header announces %llu bytes of %s, more than a "
                       "%llu-byte gzip file can hold",
                       x->path, want, what, size);
    }
    return QA_OK;
}

static int idx_read_images(data_set *ds, const char *path, qa_err *err)
{
    idx_file x;
    int rc = idx_open(&x, path, err);
    if (rc)
        return rc;
    uint32_t d[3] = {0};
    rc = idx_header(&x, IDX_MAGIC_IMAGES, d, 3, err);
    if (!rc && (d[0] < 1 || d[0] > INT_MAX || d[1] < 1 || d[1] > IDX_MAX_SIDE || d[2] < 1 ||
                d[2] > IDX_MAX_SIDE))
        rc = qa_fail(err, QA_ERR_FORMAT,
                     "%s: implausible dimensions %u x %u x %u (expected images >= 1, sides 1..%d)",
                     path, d[0], d[1], d[2], IDX_MAX_SIDE);
    char what[64];
    snprintf(what, sizeof what, "%u images of %ux%u", d[0], d[1], d[2]);
    if (!rc)
        rc = idx_check_room(&x, (unsigned long long)d[0] * d[1] * d[2], 16, what, err);
    if (!rc)
        rc = data_set_alloc(ds, (int)d[0], (int)d[1], (int)d[2], 1, DATA_IDX_NCLASS, err);
    if (!rc) {
        rc = idx_read(&x, ds->pixels, (size_t)ds->n * data_set_image_size(ds), what, err);
        if (!rc)
            rc = idx_expect_end(&x, what, err);
    }
    idx_close(&x);
    return rc;
}

static int idx_read_labels(data_set *ds, const char *path, const char *images, qa_err *err)
{
    idx_file x;
    int rc = idx_open(&x, path, err);
    if (rc)
        return rc;
    uint32_t n = 0;
    rc = idx_header(&x, IDX_MAGIC_LABELS, &n, 1, err);
    if (!rc && n != (uint32_t)ds->n)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: %u labels, but %s holds %d images", path, n, images,
                     ds->n);
    if (!rc)
        rc = idx_read(&x, ds->labels, (size_t)ds->n, "the labels", err);
    if (!rc)
        rc = idx_expect_end(&x, "labels", err);
    for (int i = 0; !rc && i < ds->n; i++)
        if (ds->labels[i] >= DATA_IDX_NCLASS)
            rc = qa_fail(err, QA_ERR_FORMAT, "%s: label %d of image %d is out of range 0..%d",
                         path, ds->labels[i], i, DATA_IDX_NCLASS - 1);
    idx_close(&x);
    return rc;
}

int data_idx_load_files(data_set *ds, const char *images_gz, const char *labels_gz, qa_err *err)
{
    memset(ds, 0, sizeof *ds);
    int rc = idx_read_images(ds, images_gz, err);
    if (!rc)
        rc = idx_read_labels(ds, labels_gz, images_gz, err);
    if (rc) {
        data_set_free(ds);
        return rc;
    }
    snprintf(ds->source, sizeof ds->source, "%s", images_gz);
    return QA_OK;
}

int data_idx_load(data_set *ds, const char *dir, const char *split, qa_err *err)
{
    memset(ds, 0, sizeof *ds);
    if (!split || (strcmp(split, "train") != 0 && strcmp(split, "t10k") != 0))
        return qa_fail(err, QA_ERR_ARG, "IDX split '%s' is unknown (expected train or t10k)",
                       split ? split : "(null)");
    if (!dir || !*dir)
        dir = DATA_IDX_DEFAULT_DIR;
    char images[1024], labels[1024];
    int a = snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, split);
    int b = snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    if (a < 0 || b < 0 || (size_t)a >= sizeof images || (size_t)b >= sizeof labels)
        return qa_fail(err, QA_ERR_ARG, "IDX directory name is too long: %s", dir);
    return data_idx_load_files(ds, images, labels, err);
}
