/* fuzz_png.c: PNG bytes through data_png_read_memory, the reader behind
 * folder datasets and `qadapt corrupt`. A decoded image must have a
 * supported shape and every pixel must be readable; a refusal must say
 * why. */
#include "data/png_io.h"
#include "fuzz_util.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    data_image im;
    qa_err err = {0};
    int rc = data_png_read_memory(data, size, &im, &err);
    fuzz_check_status(rc, &err, "data_png_read_memory");
    if (rc) {
        FUZZ_ASSERT(im.px == NULL);
        return 0;
    }
    FUZZ_ASSERT(im.px && im.h >= 1 && im.w >= 1 && (im.c == 1 || im.c == 3));
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)im.h * (size_t)im.w * (size_t)im.c; i++)
        sum += im.px[i];
    data_image_free(&im);
    sink = sum; /* every pixel read: MSan or a short buffer would show */
    return 0;
}
