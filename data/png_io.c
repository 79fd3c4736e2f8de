/* png_io.c: PNG reading and writing through libpng's simplified API. */
#include "data/png_io.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

/* Pixel limit: 2^28 px, as data_image_alloc; refuses absurd headers before
 * allocating for them. */
#define PNG_IO_MAX_SIDE 65536u

static int png_finish(png_image *pi, const char *what, data_image *im, qa_err *err)
{
    if (pi->format & PNG_FORMAT_FLAG_LINEAR) {
        png_image_free(pi);
        return qa_fail(err, QA_ERR_UNSUPPORTED,
                       "%s: 16-bit PNG is not supported (expected 8 bits per channel)", what);
    }
    if (pi->width > PNG_IO_MAX_SIDE || pi->height > PNG_IO_MAX_SIDE) {
        png_image_free(pi);
        return qa_fail(err, QA_ERR_UNSUPPORTED, "%s: PNG of %ux%u pixels is too large", what,
                       pi->width, pi->height);
    }
    int c = (pi->format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    pi->format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int rc = data_image_alloc(im, (int)pi->height, (int)pi->width, c, err);
    if (rc) {
        png_image_free(pi);
        return qa_err_prefix(err, "%s: ", what);
    }
    /* Composite any alpha over black (see png_io.h). */
    png_color black = {0, 0, 0};
    if (!png_image_finish_read(pi, &black, im->px, 0, NULL)) {
        data_image_free(im);
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: bad PNG data (truncated or damaged): %s", what,
                     pi->message);
        png_image_free(pi);
        return rc;
    }
    return QA_OK;
}

int data_png_read(const char *path, data_image *im, qa_err *err)
{
    im->px = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    int rc;
    if (!png_image_begin_read_from_stdio(&pi, f)) {
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: not a readable PNG file: %s", path, pi.message);
        png_image_free(&pi);
    } else {
        rc = png_finish(&pi, path, im, err);
    }
    fclose(f);
    return rc;
}

int data_png_read_memory(const void *buf, size_t size, data_image *im, qa_err *err)
{
    im->px = NULL;
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, buf, size)) {
        int rc = qa_fail(err, QA_ERR_FORMAT, "PNG buffer of %zu bytes: not a readable PNG: %s",
                         size, pi.message);
        png_image_free(&pi);
        return rc;
    }
    return png_finish(&pi, "PNG buffer", im, err);
}

int data_png_write(const char *path, const data_image *im, qa_err *err)
{
    if (!im->px || im->h < 1 || im->w < 1 || (im->c != 1 && im->c != 3))
        return qa_fail(err, QA_ERR_ARG, "%s: cannot write an image of shape %dx%dx%d as PNG",
                       path, im->h, im->w, im->c);
    FILE *f = fopen(path, "wb");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)im->w;
    pi.height = (png_uint_32)im->h;
    pi.format = im->c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int ok = png_image_write_to_stdio(&pi, f, 0, im->px, 0, NULL);
    const char *why = ok ? NULL : pi.message;
    int closed = fclose(f);
    if (!ok) {
        int rc = qa_fail(err, QA_ERR_IO, "%s: PNG write failed: %s", path, why);
        png_image_free(&pi);
        remove(path);
        return rc;
    }
    if (closed != 0) {
        remove(path);
        return qa_fail(err, QA_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return QA_OK;
}
