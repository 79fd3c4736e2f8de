/* image.h: an 8-bit image and the conversions to network input.
 *
 * Pixels are interleaved (h, w, c), c = 1 (grey) or 3 (RGB), the layout of
 * PNG/JPEG codecs and of the corruption reference; networks read planar
 * float NCHW, produced by data_image_to_float. */
#ifndef DATA_IMAGE_H
#define DATA_IMAGE_H

#include <stdint.h>

#include "nn/status.h"

typedef struct {
    int h, w, c;
    uint8_t *px; /* (h, w, c) */
} data_image;

int data_image_alloc(data_image *im, int h, int w, int c, qa_err *err);
void data_image_free(data_image *im);

/* (h, w, c) uint8 -> (c, h, w) float, (v / 255 - mean[ch]) / std[ch] */
void data_image_to_float(const uint8_t *px, int h, int w, int c, const float *mean,
                         const float *std, float *out);

#endif
