/* fuzz_jpeg.c: JPEG bytes through data_jpeg_decode and, when that
 * succeeds, data_jpeg_decode_into at the decoded size as grey and as RGB
 * (the paths the jpeg_compression corruption and folder datasets take). A
 * decoded image must have a supported shape and readable pixels; a refusal
 * must say why. */
#include <stdlib.h>

#include "data/jpeg_io.h"
#include "fuzz_util.h"

static data_jpeg_codec *codec;

static void free_codec(void)
{
    data_jpeg_codec_free(codec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qa_err err = {0};
    if (!codec) {
        fuzz_check_status(data_jpeg_codec_create(&codec, &err), &err, "data_jpeg_codec_create");
        atexit(free_codec);
    }
    data_image im;
    int rc = data_jpeg_decode(codec, data, size, &im, &err);
    fuzz_check_status(rc, &err, "data_jpeg_decode");
    if (rc)
        return 0;
    FUZZ_ASSERT(im.px && im.h >= 1 && im.w >= 1 && (im.c == 1 || im.c == 3));
    size_t n = (size_t)im.h * (size_t)im.w;
    uint8_t *out = malloc(n * 3);
    FUZZ_ASSERT(out);
    for (int c = 1; c <= 3; c += 2) {
        rc = data_jpeg_decode_into(codec, data, size, im.h, im.w, c, out, &err);
        fuzz_check_status(rc, &err, "data_jpeg_decode_into");
        /* the same bytes decoded again at their own size */
        FUZZ_ASSERT(rc == 0);
    }
    FUZZ_ASSERT(data_jpeg_decode_into(codec, data, size, im.h + 1, im.w, 1, out, &err) < 0);
    free(out);
    data_image_free(&im);
    return 0;
}
