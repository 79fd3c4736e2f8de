/* test_quality_paths.c: the JPEG quality search's two paths agree bit for
 * bit. env/quality_jpeg.c is compiled twice more for this test: as the
 * library is (GCC vectors, JPEG_LANES qualities at once; jpeg_vector.c) and
 * with QA_PORTABLE (its scalar path, one quality at a time;
 * jpeg_scalar.c); every quality's sums and the feature are compared on
 * textured and noisy images JPEG-compressed at every quality. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "data/jpeg_io.h"
#include "env/quality.h"
#include "jpeg_fits.h"
#include "nn/rng.h"

enum { S = 48 };

/* textured (kind 0: gradients and an edge pattern) or noisy (kind 1) grey */
static void image(uint8_t *px, int kind, int seed)
{
    nn_rng r;
    nn_rng_init(&r, (uint64_t)seed, NN_STREAM_TEST, 0, 0);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double v = kind ? 128 + 50 * nn_rng_normal(&r)
                            : 128 + 60 * sin(0.37 * x + seed) * cos(0.23 * y) +
                                  ((x / 5 + y / 7) % 2 ? 30 : -30);
            px[y * S + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

START_TEST(test_paths_agree)
{
    data_jpeg_codec *jc;
    qa_err err;
    ck_assert_int_eq(data_jpeg_codec_create(&jc, &err), QA_OK);
    uint8_t px[S * S], out[S * S];
    float y[S * S];
    int compared = 0, fitted = 0;
    for (int kind = 0; kind < 2; kind++)
        for (int seed = 0; seed < 4; seed++) {
            image(px, kind, seed);
            for (int q = 5; q <= 100; q += 1) {
                const uint8_t *img = px;
                if (q < 100) { /* 100: the image itself, no grid */
                    ck_assert_int_eq(data_jpeg_roundtrip(jc, px, S, S, 1, q, out, &err), QA_OK);
                    img = out;
                }
                for (int i = 0; i < S * S; i++)
                    y[i] = (float)img[i];
                float fv[ENV_Q_NFEAT] = {0}, fs[ENV_Q_NFEAT] = {0};
                int nv[JPEG_FITS_MAX], ns[JPEG_FITS_MAX];
                double dv[JPEG_FITS_MAX], ds[JPEG_FITS_MAX], qv[JPEG_FITS_MAX], qs[JPEG_FITS_MAX];
                int nq = jpeg_fits_vector(y, S, S, nv, dv, qv, fv);
                ck_assert_int_eq(jpeg_fits_scalar(y, S, S, ns, ds, qs, fs), nq);
                for (int k = 0; k < nq; k++)
                    ck_assert_msg(nv[k] == ns[k] && memcmp(&dv[k], &ds[k], sizeof *dv) == 0 &&
                                      memcmp(&qv[k], &qs[k], sizeof *qv) == 0,
                                  "kind %d seed %d image quality %d, fit of quality %d: vector "
                                  "(%d, %.17g, %.17g), scalar (%d, %.17g, %.17g)",
                                  kind, seed, q, k + 5, nv[k], dv[k], qv[k], ns[k], ds[k], qs[k]);
                ck_assert_msg(memcmp(&fv[ENV_Q_JPEG], &fs[ENV_Q_JPEG], sizeof(float)) == 0,
                              "kind %d seed %d quality %d: vector %.9g, scalar %.9g", kind, seed,
                              q, (double)fv[ENV_Q_JPEG], (double)fs[ENV_Q_JPEG]);
                compared++;
                fitted += fv[ENV_Q_JPEG] > 0.0f;
            }
        }
    /* the comparison covers qualities that were found, not only misses */
    ck_assert_int_gt(fitted, compared / 4);
    data_jpeg_codec_free(jc);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("env_quality_paths");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_paths_agree);
    suite_add_tcase(s, tc);
    return s;
}
