/* test_image_io.c: PNG and JPEG files through data/png_io and data/jpeg_io:
 * grey and RGB round trips, palette/alpha/low-bit-depth PNGs built byte by
 * byte here (zlib for IDAT and CRCs, so the test needs no codec header),
 * and the error paths (missing, empty, truncated, garbage, 16-bit, bad CRC,
 * a PNG read as JPEG), each message naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check_main.h"
#include "data/jpeg_io.h"
#include "data/png_io.h"

static char dir[64];

static void mkdir_tmp(void)
{
    qa_test_tmpdir(dir, sizeof dir, "imgio");
}

static void rm_tmp(void)
{
    qa_test_rmtree(dir);
}

static const char *tmp_path(const char *name)
{
    static char p[4][160];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static uint8_t *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void make_image(data_image *im, int h, int w, int c)
{
    qa_err err;
    ck_assert_int_eq(data_image_alloc(im, h, w, c, &err), QA_OK);
    for (int i = 0; i < h * w * c; i++)
        im->px[i] = (uint8_t)((i * 7 + i / (w * c) * 13) % 256);
}

/* --- hand-made PNGs --- */

static size_t put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
    return 4;
}

static size_t chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t n)
{
    size_t k = put32(out, n);
    memcpy(out + k, type, 4);
    if (n)
        memcpy(out + k + 4, data, n);
    uint32_t crc = (uint32_t)crc32(0, out + k, n + 4);
    return k + 4 + n + put32(out + k + 4 + n, crc);
}

/* A PNG of h x w with the given bit depth and colour type; raw holds the
 * filtered scanlines (filter byte 0 each). plte/trns optional. Returns size. */
static size_t png_bytes(uint8_t *out, int h, int w, int depth, int ctype, const uint8_t *raw,
                        size_t rawn, const uint8_t *plte, uint32_t npl, const uint8_t *trns,
                        uint32_t ntr)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    memcpy(out, sig, 8);
    uint8_t ihdr[13];
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = (uint8_t)depth, ihdr[9] = (uint8_t)ctype, ihdr[10] = ihdr[11] = ihdr[12] = 0;
    size_t k = 8 + chunk(out + 8, "IHDR", ihdr, 13);
    if (plte)
        k += chunk(out + k, "PLTE", plte, npl);
    if (trns)
        k += chunk(out + k, "tRNS", trns, ntr);
    uLongf zn = compressBound(rawn);
    uint8_t *z = malloc(zn);
    ck_assert_int_eq(compress(z, &zn, raw, rawn), Z_OK);
    k += chunk(out + k, "IDAT", z, (uint32_t)zn);
    free(z);
    return k + chunk(out + k, "IEND", NULL, 0);
}

START_TEST(test_png_roundtrip)
{
    mkdir_tmp();
    for (int c = 1; c <= 3; c += 2) {
        data_image a, b;
        qa_err err;
        make_image(&a, 11, 17, c);
        const char *p = tmp_path(c == 1 ? "g.png" : "rgb.png");
        ck_assert_int_eq(data_png_write(p, &a, &err), QA_OK);
        ck_assert_int_eq(data_png_read(p, &b, &err), QA_OK);
        ck_assert_int_eq(b.h, 11);
        ck_assert_int_eq(b.w, 17);
        ck_assert_int_eq(b.c, c);
        ck_assert_mem_eq(a.px, b.px, (size_t)11 * 17 * c);
        data_image_free(&b);
        size_t n;
        uint8_t *bytes = read_bytes(p, &n);
        ck_assert_int_eq(data_png_read_memory(bytes, n, &b, &err), QA_OK);
        ck_assert_mem_eq(a.px, b.px, (size_t)11 * 17 * c);
        data_image_free(&b);
        free(bytes);
        data_image_free(&a);
    }
    rm_tmp();
}
END_TEST

/* 2-bit grey expands to 8 bits; palette -> RGB; RGBA composited over black */
START_TEST(test_png_conversions)
{
    mkdir_tmp();
    static uint8_t buf[4096];
    qa_err err;
    data_image im;
    /* 2x4 grey, 2 bits: levels 0..3 -> 0, 85, 170, 255 */
    uint8_t raw2[] = {0, 0x1B, 0, 0xE4}; /* 00 01 10 11 / 11 10 01 00 */
    size_t n = png_bytes(buf, 2, 4, 2, 0, raw2, sizeof raw2, NULL, 0, NULL, 0);
    write_bytes(tmp_path("g2.png"), buf, n);
    ck_assert_int_eq(data_png_read(tmp_path("g2.png"), &im, &err), QA_OK);
    ck_assert_int_eq(im.c, 1);
    const uint8_t want2[] = {0, 85, 170, 255, 255, 170, 85, 0};
    ck_assert_mem_eq(im.px, want2, 8);
    data_image_free(&im);
    /* 1x2 palette, colours red and blue */
    uint8_t plte[] = {255, 0, 0, 0, 0, 255}, rawp[] = {0, 0, 1};
    n = png_bytes(buf, 1, 2, 8, 3, rawp, 3, plte, 6, NULL, 0);
    write_bytes(tmp_path("p.png"), buf, n);
    ck_assert_int_eq(data_png_read(tmp_path("p.png"), &im, &err), QA_OK);
    ck_assert_int_eq(im.c, 3);
    const uint8_t wantp[] = {255, 0, 0, 0, 0, 255};
    ck_assert_mem_eq(im.px, wantp, 6);
    data_image_free(&im);
    /* 1x2 RGBA: opaque white, transparent white -> black */
    uint8_t rawa[] = {0, 255, 255, 255, 255, 255, 255, 255, 0};
    n = png_bytes(buf, 1, 2, 8, 6, rawa, 9, NULL, 0, NULL, 0);
    write_bytes(tmp_path("a.png"), buf, n);
    ck_assert_int_eq(data_png_read(tmp_path("a.png"), &im, &err), QA_OK);
    ck_assert_int_eq(im.c, 3);
    const uint8_t wanta[] = {255, 255, 255, 0, 0, 0};
    ck_assert_mem_eq(im.px, wanta, 6);
    data_image_free(&im);
    rm_tmp();
}
END_TEST

static void expect_fail(int rc, const qa_err *err, int code, const char *path, const char *word)
{
    ck_assert_int_eq(rc, code);
    if (!strstr(err->msg, path))
        ck_abort_msg("message does not name %s: %s", path, err->msg);
    if (word && !strstr(err->msg, word))
        ck_abort_msg("message lacks '%s': %s", word, err->msg);
}

START_TEST(test_png_errors)
{
    mkdir_tmp();
    static uint8_t buf[4096];
    qa_err err;
    data_image im = {0};
    const char *p = tmp_path("missing.png");
    expect_fail(data_png_read(p, &im, &err), &err, QA_ERR_IO, p, "cannot open");
    ck_assert_ptr_null(im.px);
    p = tmp_path("empty.png");
    write_bytes(p, "", 0);
    expect_fail(data_png_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    p = tmp_path("garbage.png");
    write_bytes(p, "this is not a PNG file at all, just text", 40);
    expect_fail(data_png_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    ck_assert_ptr_null(im.px);
    /* a valid file cut in the middle of IDAT */
    data_image a;
    make_image(&a, 32, 32, 3);
    p = tmp_path("full.png");
    ck_assert_int_eq(data_png_write(p, &a, &err), QA_OK);
    size_t n;
    uint8_t *bytes = read_bytes(p, &n);
    p = tmp_path("trunc.png");
    write_bytes(p, bytes, n / 2);
    expect_fail(data_png_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    ck_assert_ptr_null(im.px);
    p = tmp_path("header_only.png");
    write_bytes(p, bytes, 20);
    expect_fail(data_png_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    free(bytes);
    data_image_free(&a);
    /* 16-bit grey: refused, not truncated to 8 bits */
    uint8_t raw16[] = {0, 0x12, 0x34, 0xff, 0xff};
    n = png_bytes(buf, 1, 2, 16, 0, raw16, sizeof raw16, NULL, 0, NULL, 0);
    p = tmp_path("g16.png");
    write_bytes(p, buf, n);
    expect_fail(data_png_read(p, &im, &err), &err, QA_ERR_UNSUPPORTED, p, "16-bit");
    ck_assert_ptr_null(im.px);
    expect_fail(data_png_read_memory(buf, n, &im, &err), &err, QA_ERR_UNSUPPORTED, "PNG buffer",
                "16-bit");
    /* 16-bit RGB too */
    uint8_t raw48[13] = {0};
    n = png_bytes(buf, 1, 2, 16, 2, raw48, sizeof raw48, NULL, 0, NULL, 0);
    p = tmp_path("rgb16.png");
    write_bytes(p, buf, n);
    expect_fail(data_png_read(p, &im, &err), &err, QA_ERR_UNSUPPORTED, p, "16-bit");
    /* a damaged IHDR CRC */
    uint8_t raw8[] = {0, 1, 2};
    n = png_bytes(buf, 1, 2, 8, 0, raw8, 3, NULL, 0, NULL, 0);
    buf[8 + 8 + 13] ^= 0xff;
    p = tmp_path("crc.png");
    write_bytes(p, buf, n);
    expect_fail(data_png_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    /* writing: bad shape, unwritable path */
    data_image bad = {2, 2, 2, (uint8_t *)"abcdefgh"};
    expect_fail(data_png_write(tmp_path("x.png"), &bad, &err), &err, QA_ERR_ARG, "x.png", NULL);
    make_image(&a, 4, 4, 1);
    p = tmp_path("no/such/dir.png");
    expect_fail(data_png_write(p, &a, &err), &err, QA_ERR_IO, p, NULL);
    data_image_free(&a);
    rm_tmp();
}
END_TEST

START_TEST(test_jpeg_roundtrip)
{
    mkdir_tmp();
    data_jpeg_codec *jc;
    qa_err err;
    ck_assert_int_eq(data_jpeg_codec_create(&jc, &err), QA_OK);
    for (int c = 1; c <= 3; c += 2) {
        data_image a, b;
        make_image(&a, 24, 40, c);
        /* flatten the pattern so quality 100 is nearly lossless */
        for (int i = 0; i < 24 * 40 * c; i++)
            a.px[i] = (uint8_t)(64 + (i / c % 40) * 2);
        const char *p = tmp_path(c == 1 ? "g.jpg" : "rgb.jpg");
        ck_assert_int_eq(data_jpeg_write(p, &a, 100, &err), QA_OK);
        ck_assert_int_eq(data_jpeg_read(p, &b, &err), QA_OK);
        ck_assert_int_eq(b.h, 24);
        ck_assert_int_eq(b.w, 40);
        ck_assert_int_eq(b.c, c);
        for (int i = 0; i < 24 * 40 * c; i++)
            ck_assert_int_le(abs(a.px[i] - b.px[i]), 3);
        /* the file's bytes decode to the same pixels as the read */
        size_t n;
        uint8_t *bytes = read_bytes(p, &n), *px = malloc((size_t)24 * 40 * c);
        ck_assert_int_eq(data_jpeg_decode_into(jc, bytes, n, 24, 40, c, px, &err), QA_OK);
        ck_assert_mem_eq(px, b.px, (size_t)24 * 40 * c);
        expect_fail(data_jpeg_decode_into(jc, bytes, n, 24, 41, c, px, &err), &err,
                    QA_ERR_FORMAT, "24x40", NULL);
        /* encode + decode == roundtrip */
        const uint8_t *enc;
        size_t encn;
        ck_assert_int_eq(data_jpeg_encode(jc, a.px, 24, 40, c, 50, &enc, &encn, &err), QA_OK);
        uint8_t *copy = malloc(encn);
        memcpy(copy, enc, encn);
        ck_assert_int_eq(data_jpeg_decode_into(jc, copy, encn, 24, 40, c, px, &err), QA_OK);
        ck_assert_int_eq(data_jpeg_roundtrip(jc, a.px, 24, 40, c, 50, b.px, &err), QA_OK);
        ck_assert_mem_eq(px, b.px, (size_t)24 * 40 * c);
        free(copy);
        free(bytes);
        free(px);
        data_image_free(&a);
        data_image_free(&b);
    }
    data_jpeg_codec_free(jc);
    rm_tmp();
}
END_TEST

START_TEST(test_jpeg_errors)
{
    mkdir_tmp();
    qa_err err;
    data_image im = {0}, a;
    const char *p = tmp_path("missing.jpg");
    expect_fail(data_jpeg_read(p, &im, &err), &err, QA_ERR_IO, p, "cannot open");
    p = tmp_path("empty.jpg");
    write_bytes(p, "", 0);
    expect_fail(data_jpeg_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    ck_assert_ptr_null(im.px);
    p = tmp_path("garbage.jpg");
    write_bytes(p, "\xff\xd8\xff garbage that is not a JPEG stream....", 40);
    expect_fail(data_jpeg_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    ck_assert_ptr_null(im.px);
    make_image(&a, 32, 32, 3);
    p = tmp_path("full.jpg");
    ck_assert_int_eq(data_jpeg_write(p, &a, 90, &err), QA_OK);
    size_t n;
    uint8_t *bytes = read_bytes(p, &n);
    p = tmp_path("trunc.jpg");
    write_bytes(p, bytes, n * 2 / 3);
    expect_fail(data_jpeg_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    ck_assert_ptr_null(im.px);
    p = tmp_path("header.jpg");
    write_bytes(p, bytes, 100);
    expect_fail(data_jpeg_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    free(bytes);
    expect_fail(data_jpeg_write(tmp_path("q.jpg"), &a, 101, &err), &err, QA_ERR_ARG, "quality",
                NULL);
    p = tmp_path("no/dir/x.jpg");
    expect_fail(data_jpeg_write(p, &a, 90, &err), &err, QA_ERR_IO, p, NULL);
    /* a PNG is not a JPEG */
    p = tmp_path("a.png");
    ck_assert_int_eq(data_png_write(p, &a, &err), QA_OK);
    expect_fail(data_jpeg_read(p, &im, &err), &err, QA_ERR_FORMAT, p, NULL);
    data_image_free(&a);
    rm_tmp();
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("image_io");
    TCase *tc = tcase_create("io");
    tcase_add_test(tc, test_png_roundtrip);
    tcase_add_test(tc, test_png_conversions);
    tcase_add_test(tc, test_png_errors);
    tcase_add_test(tc, test_jpeg_roundtrip);
    tcase_add_test(tc, test_jpeg_errors);
    suite_add_tcase(s, tc);
    return s;
}
