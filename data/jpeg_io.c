/* jpeg_io.c: JPEG encode/decode through TurboJPEG (libjpeg-turbo 2.x API). */
#include "data/jpeg_io.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* Files above this are refused before reading: no dataset image is 256 MiB. */
#define JPEG_IO_MAX_FILE (256L << 20)

struct data_jpeg_codec {
    tjhandle enc, dec;
    unsigned char *buf; /* encoder output, tjAlloc'ed */
    unsigned long cap;  /* bytes in buf */
};

int data_jpeg_codec_create(data_jpeg_codec **out, qa_err *err)
{
    data_jpeg_codec *jc = calloc(1, sizeof *jc);
    *out = NULL;
    if (!jc)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for a JPEG codec");
    jc->enc = tjInitCompress();
    jc->dec = tjInitDecompress();
    if (!jc->enc || !jc->dec) {
        data_jpeg_codec_free(jc);
        return qa_fail(err, QA_ERR_NOMEM, "TurboJPEG: cannot create codec handles: %s",
                       tjGetErrorStr2(NULL));
    }
    *out = jc;
    return QA_OK;
}

void data_jpeg_codec_free(data_jpeg_codec *jc)
{
    if (!jc)
        return;
    if (jc->enc)
        tjDestroy(jc->enc);
    if (jc->dec)
        tjDestroy(jc->dec);
    tjFree(jc->buf);
    free(jc);
}

static int shape_ok(int h, int w, int c)
{
    return h >= 1 && w >= 1 && h <= 65535 && w <= 65535 && (c == 1 || c == 3);
}

int data_jpeg_encode(data_jpeg_codec *jc, const uint8_t *px, int h, int w, int c, int quality,
                     const uint8_t **jpeg, size_t *size, qa_err *err)
{
    if (!px || !shape_ok(h, w, c) || quality < 1 || quality > 100)
        return qa_fail(err, QA_ERR_ARG,
                       "JPEG encode of a %dx%dx%d image at quality %d: expected c = 1 or 3, "
                       "sides 1..65535, quality 1..100", h, w, c, quality);
    int samp = c == 3 ? TJSAMP_420 : TJSAMP_GRAY;
    unsigned long need = tjBufSize(w, h, samp);
    if (need > jc->cap) {
        /* Grows once per new largest image; worst-case size means the
         * encoder itself never reallocates (TJFLAG_NOREALLOC). */
        unsigned char *nb = need <= (unsigned long)INT32_MAX ? tjAlloc((int)need) : NULL;
        if (!nb)
            return qa_fail(err, QA_ERR_NOMEM, "out of memory for a %lu-byte JPEG buffer", need);
        tjFree(jc->buf);
        jc->buf = nb;
        jc->cap = need;
    }
    unsigned long n = jc->cap;
    if (tjCompress2(jc->enc, px, w, 0, h, c == 3 ? TJPF_RGB : TJPF_GRAY, &jc->buf, &n, samp,
                    quality, TJFLAG_NOREALLOC | TJFLAG_ACCURATEDCT) != 0)
        return qa_fail(err, QA_ERR_FORMAT, "JPEG encode of a %dx%dx%d image failed: %s", h, w,
                       c, tjGetErrorStr2(jc->enc));
    *jpeg = jc->buf;
    *size = n;
    return QA_OK;
}

static int read_header(data_jpeg_codec *jc, const uint8_t *jpeg, size_t size, int *h, int *w,
                       int *samp, qa_err *err)
{
    int cs = -1;
    *w = *h = 0;
    *samp = -1;
    if (size < 4 || size > (size_t)ULONG_MAX ||
        tjDecompressHeader3(jc->dec, jpeg, (unsigned long)size, w, h, samp, &cs) != 0)
        return qa_fail(err, QA_ERR_FORMAT, "not a readable JPEG (%zu bytes): %s", size,
                       size < 4 ? "too short" : tjGetErrorStr2(jc->dec));
    /* A stream cut inside the header ends in libjpeg's fake EOI: "success"
     * with no frame header read, so nothing was set. */
    if (*w < 1 || *h < 1 || *samp < 0 || cs < 0)
        return qa_fail(err, QA_ERR_FORMAT,
                       "not a readable JPEG (%zu bytes): the header ends before the frame size",
                       size);
    if (cs == TJCS_CMYK || cs == TJCS_YCCK)
        return qa_fail(err, QA_ERR_UNSUPPORTED,
                       "CMYK/YCCK JPEG is not supported (expected grey or RGB/YCbCr)");
    return QA_OK;
}

static int decode_pixels(data_jpeg_codec *jc, const uint8_t *jpeg, size_t size, int h, int w,
                         int c, uint8_t *out, qa_err *err)
{
    if (tjDecompress2(jc->dec, jpeg, (unsigned long)size, out, w, 0, h,
                      c == 3 ? TJPF_RGB : TJPF_GRAY, TJFLAG_STOPONWARNING) != 0)
        return qa_fail(err, QA_ERR_FORMAT, "bad JPEG data (%zu bytes): %s", size,
                       tjGetErrorStr2(jc->dec));
    return QA_OK;
}

int data_jpeg_decode(data_jpeg_codec *jc, const uint8_t *jpeg, size_t size, data_image *im,
                     qa_err *err)
{
    int h, w, samp;
    im->px = NULL;
    int rc = read_header(jc, jpeg, size, &h, &w, &samp, err);
    if (!rc)
        rc = data_image_alloc(im, h, w, samp == TJSAMP_GRAY ? 1 : 3, err);
    if (!rc)
        rc = decode_pixels(jc, jpeg, size, h, w, im->c, im->px, err);
    if (rc)
        data_image_free(im);
    return rc;
}

int data_jpeg_decode_into(data_jpeg_codec *jc, const uint8_t *jpeg, size_t size, int h, int w,
                          int c, uint8_t *out, qa_err *err)
{
    int fh, fw, samp;
    int rc = read_header(jc, jpeg, size, &fh, &fw, &samp, err);
    if (rc)
        return rc;
    if (fh != h || fw != w || !shape_ok(h, w, c))
        return qa_fail(err, QA_ERR_FORMAT, "JPEG is %dx%d, expected %dx%d (c = %d)", fh, fw, h,
                       w, c);
    return decode_pixels(jc, jpeg, size, h, w, c, out, err);
}

int data_jpeg_roundtrip(data_jpeg_codec *jc, const uint8_t *px, int h, int w, int c, int quality,
                        uint8_t *out, qa_err *err)
{
    const uint8_t *jpeg;
    size_t size;
    int rc = data_jpeg_encode(jc, px, h, w, c, quality, &jpeg, &size, err);
    return rc ? rc : decode_pixels(jc, jpeg, size, h, w, c, out, err);
}

/* Whole file into a malloc'ed buffer. */
static int slurp(const char *path, uint8_t **buf, size_t *size, qa_err *err)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    int rc = QA_OK;
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        rc = qa_fail(err, QA_ERR_IO, "%s: cannot determine the file size", path);
    else if (n > JPEG_IO_MAX_FILE)
        rc = qa_fail(err, QA_ERR_UNSUPPORTED, "%s: %ld bytes is too large for an image", path, n);
    else if (!(*buf = malloc(n > 0 ? (size_t)n : 1)))
        rc = qa_fail(err, QA_ERR_NOMEM, "%s: out of memory for %ld bytes", path, n);
    else if (fread(*buf, 1, (size_t)n, f) != (size_t)n)
        rc = qa_fail(err, QA_ERR_IO, "%s: read failed", path);
    fclose(f);
    if (rc) {
        free(*buf);
        *buf = NULL;
    }
    *size = n > 0 ? (size_t)n : 0;
    return rc;
}

int data_jpeg_read(const char *path, data_image *im, qa_err *err)
{
    uint8_t *buf;
    size_t size = 0;
    im->px = NULL;
    int rc = slurp(path, &buf, &size, err);
    if (rc)
        return rc;
    data_jpeg_codec *jc;
    rc = data_jpeg_codec_create(&jc, err);
    if (!rc) {
        rc = data_jpeg_decode(jc, buf, size, im, err);
        data_jpeg_codec_free(jc);
    }
    free(buf);
    return rc ? qa_err_prefix(err, "%s: ", path) : QA_OK;
}

int data_jpeg_write(const char *path, const data_image *im, int quality, qa_err *err)
{
    data_jpeg_codec *jc;
    int rc = data_jpeg_codec_create(&jc, err);
    if (rc)
        return rc;
    const uint8_t *jpeg;
    size_t size;
    rc = data_jpeg_encode(jc, im->px, im->h, im->w, im->c, quality, &jpeg, &size, err);
    if (!rc) {
        FILE *f = fopen(path, "wb");
        if (!f) {
            rc = qa_fail(err, QA_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        } else {
            size_t wrote = fwrite(jpeg, 1, size, f);
            if ((fclose(f) != 0) | (wrote != size)) {
                rc = qa_fail(err, QA_ERR_IO, "%s: write failed: %s", path, strerror(errno));
                remove(path);
            }
        }
    }
    data_jpeg_codec_free(jc);
    return rc;
}
