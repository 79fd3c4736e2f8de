/* dataset.h: a labelled image set held in memory; every reader (idx, cifar,
 * folder) fills this one struct, so the loader and the environment never
 * know where images came from. Images are stored back to back in the
 * data_image layout (h, w, c). */
#ifndef DATA_DATASET_H
#define DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

typedef struct {
    int n;            /* images */
    int h, w, c;      /* shape of every image; c = 1 or 3 */
    int nclass;
    uint8_t *pixels;  /* (n, h, w, c) */
    uint8_t *labels;  /* (n), each < nclass */
    char source[512]; /* file or folder it was read from */
} data_set;

int data_set_alloc(data_set *ds, int n, int h, int w, int c, int nclass, qa_err *err);
void data_set_free(data_set *ds);

static inline size_t data_set_image_size(const data_set *ds)
{
    return (size_t)ds->h * (size_t)ds->w * (size_t)ds->c;
}

static inline uint8_t *data_set_image(const data_set *ds, int i)
{
    return ds->pixels + (size_t)i * data_set_image_size(ds);
}

#endif
