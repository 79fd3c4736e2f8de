/* fuzz_idx.c: an IDX images file and labels file through
 * data_idx_load_files. Input: a flags byte (bit 0: gzip the images file,
 * bit 1: the labels file; the rest is written as given, so gzip bytes in
 * the input exercise zlib's own stream checks), a big-endian 16-bit length
 * of the images file, its bytes, then the labels file. A loaded set must
 * match its files: shape, counts and labels in range; a refusal must say
 * why. */
#include "data/idx.h"
#include "fuzz_util.h"

static void check_set(const data_set *ds)
{
    FUZZ_ASSERT(ds->n >= 1 && ds->h >= 1 && ds->w >= 1 && ds->c == 1);
    FUZZ_ASSERT(ds->nclass == DATA_IDX_NCLASS && ds->pixels && ds->labels);
    for (int i = 0; i < ds->n; i++)
        FUZZ_ASSERT(ds->labels[i] < ds->nclass);
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)ds->n * data_set_image_size(ds); i++)
        sum += ds->pixels[i];
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes b = {data, size};
    unsigned flags = fuzz_u8(&b);
    size_t nimg, nlab;
    const uint8_t *img = fuzz_take(&b, fuzz_u16(&b), &nimg);
    const uint8_t *lab = fuzz_take(&b, b.n, &nlab);
    char ipath[512], lpath[512];
    fuzz_path(ipath, sizeof ipath, fuzz_dir(), "images");
    fuzz_path(lpath, sizeof lpath, fuzz_dir(), "labels");
    FUZZ_ASSERT(fuzz_write(ipath, img, nimg, flags & 1) == 0);
    FUZZ_ASSERT(fuzz_write(lpath, lab, nlab, flags & 2) == 0);
    data_set ds;
    qa_err err = {0};
    int rc = data_idx_load_files(&ds, ipath, lpath, &err);
    fuzz_check_status(rc, &err, "data_idx_load_files");
    if (rc)
        FUZZ_ASSERT(ds.pixels == NULL && ds.labels == NULL && ds.n == 0);
    else
        check_set(&ds);
    data_set_free(&ds);
    return 0;
}
