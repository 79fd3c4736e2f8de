/* png_io.h: PNG files and buffers <-> data_image (8-bit grey or RGB).
 *
 * The only door to libpng (with jpeg_io.c the only files including codec
 * headers). Reading goes through libpng's simplified API, which converts
 * what it can and reports the rest:
 *   - 8-bit grey -> c = 1; 8-bit RGB -> c = 3; grey of 1, 2 or 4 bits is
 *     expanded to 8 bits; palette images become RGB (or grey if the palette
 *     is grey);
 *   - an alpha channel (grey+alpha, RGBA, palette with tRNS) is composited
 *     over black and dropped: datasets are opaque, a transparent pixel is
 *     black;
 *   - 16-bit files are refused (QA_ERR_UNSUPPORTED): silently dropping the
 *     low byte would hide a data problem;
 *   - values follow libpng's sRGB handling (a gAMA chunk far from sRGB is
 *     converted to sRGB).
 * Writing produces 8-bit grey or RGB, no alpha. Not here: resizing, colour
 * conversions (data/image.h). */
#ifndef DATA_PNG_IO_H
#define DATA_PNG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "data/image.h"

/* im is allocated here (data_image_free it); on failure im->px is NULL. */
int data_png_read(const char *path, data_image *im, qa_err *err);
int data_png_read_memory(const void *buf, size_t size, data_image *im, qa_err *err);
int data_png_write(const char *path, const data_image *im, qa_err *err);

#endif
