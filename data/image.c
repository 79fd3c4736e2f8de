/* image.c: allocation and the uint8 -> float conversion. */
#include "data/image.h"

#include <stdlib.h>

int data_image_alloc(data_image *im, int h, int w, int c, qa_err *err)
{
    im->px = NULL;
    if (h < 1 || w < 1 || (c != 1 && c != 3) || (size_t)h * (size_t)w > (1u << 28))
        return qa_fail(err, QA_ERR_ARG, "image shape %dx%dx%d is not supported", h, w, c);
    im->px = calloc((size_t)h * (size_t)w * (size_t)c, 1);
    if (!im->px)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for a %dx%dx%d image", h, w, c);
    im->h = h;
    im->w = w;
    im->c = c;
    return QA_OK;
}

void data_image_free(data_image *im)
{
    free(im->px);
    im->px = NULL;
}

void data_image_to_float(const uint8_t *px, int h, int w, int c, const float *mean,
                         const float *std, float *out)
{
    size_t hw = (size_t)h * (size_t)w;
    for (int ch = 0; ch < c; ch++) {
        float scale = 1.0f / (255.0f * std[ch]), shift = mean[ch] / std[ch];
        float *o = out + (size_t)ch * hw;
        for (size_t i = 0; i < hw; i++)
            o[i] = (float)px[i * (size_t)c + (size_t)ch] * scale - shift;
    }
}
