/* test_idx.c: the IDX reader on fixtures written by the test itself (gzip
 * and plain; valid, truncated, garbled, wrong magic, mismatched counts,
 * labels out of range, trailing data) and on the installed Fashion-MNIST. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check_main.h"
#include "data/idx.h"

enum { N = 5, H = 3, W = 4 };

static char dir[64];
static char img_path[128], lab_path[128];

static void fixture_dir(void)
{
    qa_test_tmpdir(dir, sizeof dir, "idx");
    snprintf(img_path, sizeof img_path, "%s/img.gz", dir);
    snprintf(lab_path, sizeof lab_path, "%s/lab.gz", dir);
}

static void fixture_cleanup(void)
{
    unlink(img_path);
    unlink(lab_path);
    rmdir(dir);
}

static size_t put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

/* IDX bytes: magic, dims, then data. Returns the length. */
static size_t idx_bytes(uint8_t *buf, uint32_t magic, const uint32_t *dims, int nd,
                        const uint8_t *data, size_t n)
{
    size_t k = put_u32(buf, magic);
    for (int i = 0; i < nd; i++)
        k += put_u32(buf + k, dims[i]);
    if (n)
        memcpy(buf + k, data, n); /* data may be NULL for header-only files */
    return k + n;
}

static void write_file(const char *path, const uint8_t *b, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(gzwrite(f, b, (unsigned)n), (int)n);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(b, 1, n, f), n);
        fclose(f);
    }
}

static uint8_t pixel(int i) { return (uint8_t)(i * 37 + 11); }

/* Writes N images of HxW and N labels (label i = i % 10, or `bad` at index 2). */
static void write_pair(int gz, uint32_t img_magic, uint32_t nlabels, int bad_label, size_t extra)
{
    static uint8_t px[N * H * W + 16], buf[N * H * W + 64], lab[N + 4];
    for (int i = 0; i < N * H * W + 16; i++)
        px[i] = pixel(i);
    uint32_t d[3] = {N, H, W};
    write_file(img_path, buf, idx_bytes(buf, img_magic, d, 3, px, N * H * W + extra), gz);
    for (uint32_t i = 0; i < nlabels; i++)
        lab[i] = (uint8_t)(i % 10);
    if (bad_label >= 0)
        lab[2] = (uint8_t)bad_label;
    write_file(lab_path, buf, idx_bytes(buf, 0x801, &nlabels, 1, lab, nlabels), gz);
}

static void expect_error(int code, const char *path, const char *what)
{
    data_set ds;
    qa_err err = {0};
    int rc = data_idx_load_files(&ds, img_path, lab_path, &err);
    ck_assert_int_eq(rc, code);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name %s: %s", path, err.msg);
    ck_assert_msg(strstr(err.msg, what) != NULL, "message lacks '%s': %s", what, err.msg);
    ck_assert_ptr_null(ds.pixels);
    ck_assert_int_eq(ds.n, 0);
}

static void check_valid(int gz)
{
    fixture_dir();
    write_pair(gz, 0x803, N, -1, 0);
    data_set ds;
    qa_err err;
    ck_assert_int_eq(data_idx_load_files(&ds, img_path, lab_path, &err), QA_OK);
    ck_assert_int_eq(ds.n, N);
    ck_assert_int_eq(ds.h, H);
    ck_assert_int_eq(ds.w, W);
    ck_assert_int_eq(ds.c, 1);
    ck_assert_int_eq(ds.nclass, 10);
    for (int i = 0; i < N * H * W; i++)
        ck_assert_uint_eq(ds.pixels[i], pixel(i));
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(ds.labels[i], (unsigned)i % 10);
    ck_assert_str_eq(ds.source, img_path);
    data_set_free(&ds);
    fixture_cleanup();
}

START_TEST(test_valid_gzip) { check_valid(1); }
END_TEST

START_TEST(test_valid_plain) { check_valid(0); }
END_TEST

START_TEST(test_wrong_magic)
{
    fixture_dir();
    write_pair(1, 0x801, N, -1, 0);
    expect_error(QA_ERR_FORMAT, img_path, "magic number 0x00000801, expected 0x00000803");
    /* swapped files: labels where images belong */
    write_pair(1, 0x803, N, -1, 0);
    data_set ds;
    qa_err err;
    ck_assert_int_eq(data_idx_load_files(&ds, lab_path, img_path, &err), QA_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, lab_path));
    fixture_cleanup();
}
END_TEST

START_TEST(test_count_mismatch)
{
    fixture_dir();
    write_pair(1, 0x803, N - 1, -1, 0);
    expect_error(QA_ERR_FORMAT, lab_path, "4 labels, but");
    fixture_cleanup();
}
END_TEST

START_TEST(test_label_range)
{
    fixture_dir();
    write_pair(1, 0x803, N, 10, 0);
    expect_error(QA_ERR_FORMAT, lab_path, "label 10 of image 2 is out of range 0..9");
    fixture_cleanup();
}
END_TEST

START_TEST(test_trailing_data)
{
    fixture_dir();
    write_pair(1, 0x803, N, -1, 3);
    expect_error(QA_ERR_FORMAT, img_path, "trailing data");
    fixture_cleanup();
}
END_TEST

START_TEST(test_truncated_plain)
{
    fixture_dir();
    write_pair(0, 0x803, N, -1, 0);
    ck_assert_int_eq(truncate(img_path, 16 + N * H * W - 7), 0);
    expect_error(QA_ERR_FORMAT, img_path, "truncated");
    ck_assert_int_eq(truncate(img_path, 10), 0); /* inside the dimensions */
    expect_error(QA_ERR_FORMAT, img_path, "truncated");
    fixture_cleanup();
}
END_TEST

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

START_TEST(test_truncated_gzip)
{
    fixture_dir();
    write_pair(1, 0x803, N, -1, 0);
    /* without its 8-byte trailer (CRC, size) the stream ends early */
    ck_assert_int_eq(truncate(img_path, file_size(img_path) - 8), 0);
    expect_error(QA_ERR_FORMAT, img_path, "truncated");
    write_pair(1, 0x803, N, -1, 0);
    ck_assert_int_eq(truncate(img_path, 20), 0);
    expect_error(QA_ERR_FORMAT, img_path, "truncated");
    fixture_cleanup();
}
END_TEST

/* Flips the byte at offset `at` (negative: from the end). */
static void flip_byte(const char *path, long at)
{
    long n = file_size(path);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, at < 0 ? n + at : at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at < 0 ? n + at : at, SEEK_SET);
    fputc(c ^ 0xff, f);
    fclose(f);
}

START_TEST(test_garbled_gzip)
{
    fixture_dir();
    write_pair(1, 0x803, N, -1, 0);
    flip_byte(img_path, -6); /* inside the CRC32 of the trailer */
    expect_error(QA_ERR_FORMAT, img_path, "corrupt gzip data");
    write_pair(1, 0x803, N, -1, 0);
    flip_byte(lab_path, 10); /* first byte of the deflate stream: its block header */
    expect_error(QA_ERR_FORMAT, lab_path, "corrupt gzip data");
    fixture_cleanup();
}
END_TEST

START_TEST(test_missing_and_bad_dims)
{
    fixture_dir();
    expect_error(QA_ERR_IO, img_path, "cannot open");
    uint8_t buf[64];
    uint32_t d[3] = {0, H, W};
    write_file(img_path, buf, idx_bytes(buf, 0x803, d, 3, NULL, 0), 1);
    expect_error(QA_ERR_FORMAT, img_path, "implausible dimensions 0 x 3 x 4");
    d[0] = 1;
    d[2] = 100000;
    write_file(img_path, buf, idx_bytes(buf, 0x803, d, 3, NULL, 0), 1);
    expect_error(QA_ERR_FORMAT, img_path, "implausible dimensions");
    fixture_cleanup();
}
END_TEST

/* A header announcing far more than its file holds (60000 images of
 * 4096x4096, about 1 TB, in a few bytes): refused as truncated before
 * anything is allocated for it, plain or gzip. Found by tests/fuzz's idx
 * target: an out-of-memory abort under AddressSanitizer, "out of memory"
 * without it. */
START_TEST(test_header_beyond_file)
{
    fixture_dir();
    write_pair(0, 0x803, N, -1, 0);
    uint8_t buf[64], px[3] = {1, 2, 3};
    uint32_t d[3] = {60000, 4096, 4096};
    for (int gz = 0; gz < 2; gz++) {
        write_file(img_path, buf, idx_bytes(buf, 0x803, d, 3, px, 3), gz);
        expect_error(QA_ERR_FORMAT, img_path, gz ? "more than a" : "truncated: expected");
    }
    fixture_cleanup();
}
END_TEST

START_TEST(test_load_dir)
{
    data_set ds;
    qa_err err;
    ck_assert_int_eq(data_idx_load(&ds, "/nonexistent", "train", &err), QA_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/train-images-idx3-ubyte.gz"));
    ck_assert_int_eq(data_idx_load(&ds, NULL, "test", &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "'test'"));
}
END_TEST

/* The Debian package's test split: 10000 images, 1000 of each class. */
START_TEST(test_fashion_mnist)
{
    data_set ds;
    qa_err err;
    int rc = data_idx_load(&ds, NULL, "t10k", &err);
    ck_assert_msg(rc == QA_OK, "%s (install dataset-fashion-mnist)", err.msg);
    ck_assert_int_eq(ds.n, 10000);
    ck_assert_int_eq(ds.h, 28);
    ck_assert_int_eq(ds.w, 28);
    int count[10] = {0};
    for (int i = 0; i < ds.n; i++)
        count[ds.labels[i]]++;
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(count[k], 1000);
    data_set_free(&ds);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("data_idx");
    TCase *tc = tcase_create("idx");
    tcase_add_test(tc, test_valid_gzip);
    tcase_add_test(tc, test_valid_plain);
    tcase_add_test(tc, test_wrong_magic);
    tcase_add_test(tc, test_count_mismatch);
    tcase_add_test(tc, test_label_range);
    tcase_add_test(tc, test_trailing_data);
    tcase_add_test(tc, test_truncated_plain);
    tcase_add_test(tc, test_truncated_gzip);
    tcase_add_test(tc, test_garbled_gzip);
    tcase_add_test(tc, test_missing_and_bad_dims);
    tcase_add_test(tc, test_header_beyond_file);
    tcase_add_test(tc, test_load_dir);
    tcase_add_test(tc, test_fashion_mnist);
    suite_add_tcase(s, tc);
    return s;
}
