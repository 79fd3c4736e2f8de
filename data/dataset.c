/* dataset.c: allocation of a data_set. */
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

int data_set_alloc(data_set *ds, int n, int h, int w, int c, int nclass, qa_err *err)
{
    memset(ds, 0, sizeof *ds);
    if (n < 1 || h < 1 || w < 1 || (c != 1 && c != 3) || nclass < 1 || nclass > 256)
        return qa_fail(err, QA_ERR_ARG, "dataset shape %d x %dx%dx%d with %d classes is not supported",
                       n, h, w, c, nclass);
    size_t img = (size_t)h * (size_t)w * (size_t)c;
    if (img > ((size_t)1 << 40) / (size_t)n)
        return qa_fail(err, QA_ERR_ARG, "dataset of %d images of %zu bytes is too large", n, img);
    ds->pixels = malloc(img * (size_t)n);
    ds->labels = malloc((size_t)n);
    if (!ds->pixels || !ds->labels) {
        data_set_free(ds);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for %d images of %zu bytes", n, img);
    }
    ds->n = n;
    ds->h = h;
    ds->w = w;
    ds->c = c;
    ds->nclass = nclass;
    return QA_OK;
}

void data_set_free(data_set *ds)
{
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}
