/* test_cifar_folder.c: the CIFAR binary reader and the image-folder reader
 * on fixtures written here (planar -> interleaved pixels, labels, batch
 * order, CIFAR-100's fine label; class order, extensions, channels, resize
 * of the shorter side and centre crop), and their error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "data/cifar.h"
#include "data/folder.h"
#include "data/jpeg_io.h"
#include "data/png_io.h"

static char dir[64];

static void mkdir_tmp(void)
{
    qa_test_tmpdir(dir, sizeof dir, "cifar");
}

static void rm_tmp(void)
{
    qa_test_rmtree(dir);
}

static const char *path_of(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static uint8_t pix(int img, int ch, int p)
{
    return (uint8_t)(img * 31 + ch * 7 + p * 3);
}

/* n records with labels first + i (mod nclass, or bad at index 1) */
static void write_batch(const char *path, int n, int first, int lb, int bad)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n; i++) {
        uint8_t rec[2 + DATA_CIFAR_PIXELS];
        int label = (first + i) % (lb == 2 ? 100 : 10);
        if (bad >= 0 && i == 1)
            label = bad;
        rec[0] = (uint8_t)(lb == 2 ? label / 5 : label);
        rec[lb - 1] = (uint8_t)label;
        for (int ch = 0; ch < 3; ch++)
            for (int p = 0; p < 1024; p++)
                rec[lb + ch * 1024 + p] = pix(first + i, ch, p);
        ck_assert_uint_eq(fwrite(rec, 1, (size_t)(lb + DATA_CIFAR_PIXELS), f),
                          (size_t)(lb + DATA_CIFAR_PIXELS));
    }
    fclose(f);
}

START_TEST(test_cifar10)
{
    mkdir_tmp();
    char name[32];
    for (int b = 1; b <= 5; b++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", b);
        write_batch(path_of(name), b, 10 * b, 1, -1);
    }
    write_batch(path_of("test_batch.bin"), 4, 100, 1, -1);
    data_set ds;
    qa_err err;
    ck_assert_int_eq(data_cifar_load(&ds, DATA_CIFAR10, dir, "train", &err), QA_OK);
    ck_assert_int_eq(ds.n, 15);
    ck_assert_int_eq(ds.h, 32);
    ck_assert_int_eq(ds.c, 3);
    ck_assert_int_eq(ds.nclass, 10);
    /* batches hold 1, 2, 3, 4, 5 records: image 3 is the first of batch 3 (key 30) */
    ck_assert_int_eq(ds.labels[3], 0);
    const uint8_t *im = data_set_image(&ds, 3);
    for (int p = 0; p < 1024; p += 37)
        for (int ch = 0; ch < 3; ch++)
            ck_assert_int_eq(im[p * 3 + ch], pix(30, ch, p));
    data_set_free(&ds);
    ck_assert_int_eq(data_cifar_load(&ds, DATA_CIFAR10, dir, "test", &err), QA_OK);
    ck_assert_int_eq(ds.n, 4);
    ck_assert_int_eq(ds.labels[3], 3);
    data_set_free(&ds);
    ck_assert_int_eq(data_cifar_load(&ds, DATA_CIFAR10, dir, "val", &err), QA_ERR_ARG);
    /* CIFAR-100: two label bytes, the fine one is kept */
    write_batch(path_of("train.bin"), 3, 97, 2, -1);
    const char *p100 = path_of("train.bin");
    ck_assert_int_eq(data_cifar_load_files(&ds, DATA_CIFAR100, &p100, 1, &err), QA_OK);
    ck_assert_int_eq(ds.nclass, 100);
    ck_assert_int_eq(ds.labels[0], 97);
    ck_assert_int_eq(ds.labels[2], 99);
    ck_assert_int_eq(data_set_image(&ds, 2)[5 * 3 + 1], pix(99, 1, 5));
    data_set_free(&ds);
    rm_tmp();
}
END_TEST

static void expect_fail(int rc, const qa_err *err, int code, const char *path)
{
    ck_assert_int_eq(rc, code);
    if (!strstr(err->msg, path))
        ck_abort_msg("message does not name %s: %s", path, err->msg);
}

START_TEST(test_cifar_errors)
{
    mkdir_tmp();
    data_set ds;
    qa_err err;
    const char *p = path_of("missing.bin");
    expect_fail(data_cifar_load_files(&ds, DATA_CIFAR10, &p, 1, &err), &err, QA_ERR_IO, p);
    p = path_of("empty.bin");
    fclose(fopen(p, "wb"));
    expect_fail(data_cifar_load_files(&ds, DATA_CIFAR10, &p, 1, &err), &err, QA_ERR_FORMAT, p);
    /* truncated: two records less 100 bytes */
    p = path_of("trunc.bin");
    write_batch(p, 2, 0, 1, -1);
    ck_assert_int_eq(truncate(p, 2 * 3073 - 100), 0);
    expect_fail(data_cifar_load_files(&ds, DATA_CIFAR10, &p, 1, &err), &err, QA_ERR_FORMAT, p);
    ck_assert_ptr_nonnull(strstr(err.msg, "3073"));
    /* a CIFAR-10 file read as CIFAR-100 does not divide into 3074-byte records */
    p = path_of("c10.bin");
    write_batch(p, 3, 0, 1, -1);
    expect_fail(data_cifar_load_files(&ds, DATA_CIFAR100, &p, 1, &err), &err, QA_ERR_FORMAT, p);
    /* labels out of range */
    p = path_of("label.bin");
    write_batch(p, 3, 0, 1, 10);
    expect_fail(data_cifar_load_files(&ds, DATA_CIFAR10, &p, 1, &err), &err, QA_ERR_FORMAT, p);
    ck_assert_ptr_nonnull(strstr(err.msg, "label 10"));
    p = path_of("label100.bin");
    write_batch(p, 3, 0, 2, 100);
    expect_fail(data_cifar_load_files(&ds, DATA_CIFAR100, &p, 1, &err), &err, QA_ERR_FORMAT, p);
    ck_assert_ptr_null(ds.pixels);
    /* a missing batch of a split */
    expect_fail(data_cifar_load(&ds, DATA_CIFAR10, dir, "train", &err), &err, QA_ERR_IO,
                "data_batch_1.bin");
    rm_tmp();
}
END_TEST

/* --- folder --- */

static void write_png(const char *path, int h, int w, int c, int v)
{
    data_image im;
    qa_err err;
    ck_assert_int_eq(data_image_alloc(&im, h, w, c, &err), QA_OK);
    memset(im.px, v, (size_t)h * w * c);
    ck_assert_int_eq(data_png_write(path, &im, &err), QA_OK);
    data_image_free(&im);
}

START_TEST(test_folder)
{
    mkdir_tmp();
    mkdir(path_of("dog"), 0755);
    mkdir(path_of("cat"), 0755);
    mkdir(path_of(".cache"), 0755);
    write_png(path_of("cat/b.png"), 40, 20, 3, 200);
    write_png(path_of("cat/a.PNG"), 16, 16, 1, 50);
    write_png(path_of(".cache/x.png"), 16, 16, 1, 50);
    FILE *f = fopen(path_of("cat/notes.txt"), "w");
    fputs("not an image", f);
    fclose(f);
    /* dog: 16x32, left half 0, right half 255: the centre crop keeps 8 + 8 */
    data_image im;
    qa_err err;
    ck_assert_int_eq(data_image_alloc(&im, 16, 32, 3, &err), QA_OK);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 32; x++)
            memset(im.px + ((size_t)y * 32 + x) * 3, x < 16 ? 0 : 255, 3);
    ck_assert_int_eq(data_png_write(path_of("dog/c.png"), &im, &err), QA_OK);
    ck_assert_int_eq(data_jpeg_write(path_of("dog/d.jpeg"), &im, 95, &err), QA_OK);
    data_image_free(&im);

    data_set ds;
    char **names;
    data_folder_cfg cfg = {16, 3};
    ck_assert_int_eq(data_folder_load(&ds, dir, &cfg, &names, &err), QA_OK);
    ck_assert_int_eq(ds.n, 4);
    ck_assert_int_eq(ds.nclass, 2);
    ck_assert_str_eq(names[0], "cat");
    ck_assert_str_eq(names[1], "dog");
    const uint8_t want_lab[] = {0, 0, 1, 1};
    ck_assert_mem_eq(ds.labels, want_lab, 4);
    /* cat/a.PNG (grey 50, replicated), cat/b.png (40x20 -> 32x16 -> crop) */
    for (int i = 0; i < 16 * 16 * 3; i++) {
        ck_assert_int_eq(data_set_image(&ds, 0)[i], 50);
        ck_assert_int_eq(data_set_image(&ds, 1)[i], 200);
    }
    const uint8_t *c = data_set_image(&ds, 2);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            ck_assert_int_eq(c[((size_t)y * 16 + x) * 3], x < 8 ? 0 : 255);
    data_folder_free_names(names, ds.nclass);
    data_set_free(&ds);
    /* grey output, smaller side: RGB -> luma, 16x32 -> 8x16 -> crop 8x8 */
    data_folder_cfg grey = {8, 1};
    ck_assert_int_eq(data_folder_load(&ds, dir, &grey, NULL, &err), QA_OK);
    ck_assert_int_eq(ds.c, 1);
    ck_assert_int_eq(data_set_image(&ds, 1)[0], 200);
    c = data_set_image(&ds, 2);
    ck_assert_int_eq(c[0], 0);
    ck_assert_int_eq(c[7], 255);
    data_set_free(&ds);
    rm_tmp();
}
END_TEST

START_TEST(test_folder_errors)
{
    mkdir_tmp();
    data_set ds;
    qa_err err;
    data_folder_cfg cfg = {16, 3};
    const char *p = path_of("nope");
    expect_fail(data_folder_load(&ds, p, &cfg, NULL, &err), &err, QA_ERR_IO, p);
    expect_fail(data_folder_load(&ds, dir, &cfg, NULL, &err), &err, QA_ERR_FORMAT, dir);
    mkdir(path_of("a"), 0755);
    expect_fail(data_folder_load(&ds, dir, &cfg, NULL, &err), &err, QA_ERR_FORMAT, dir);
    write_png(path_of("a/ok.png"), 16, 16, 3, 1);
    FILE *f = fopen(path_of("a/z.jpg"), "wb");
    fputs("garbage, not a jpeg", f);
    fclose(f);
    p = path_of("a/z.jpg");
    expect_fail(data_folder_load(&ds, dir, &cfg, NULL, &err), &err, QA_ERR_FORMAT, p);
    ck_assert_ptr_null(ds.pixels);
    data_folder_cfg bad = {4, 3};
    expect_fail(data_folder_load(&ds, dir, &bad, NULL, &err), &err, QA_ERR_ARG, dir);
    rm_tmp();
}
END_TEST

/* The loader computes only the centre crop of the resized image: it must be
 * the same bytes as the whole resize (data_image_resize) cropped, for
 * images wider and taller than square, grey and RGB, up- and downscaled. */
START_TEST(test_folder_crop_of_resize)
{
    static const int shape[][3] = {{13, 29, 3}, {40, 9, 1}, {5, 6, 3}};
    static const int side[] = {8, 11, 16};
    for (int k = 0; k < 3; k++) {
        mkdir_tmp();
        mkdir(path_of("a"), 0755);
        int h = shape[k][0], w = shape[k][1], c = shape[k][2], s = side[k];
        data_image im;
        qa_err err;
        ck_assert_int_eq(data_image_alloc(&im, h, w, c, &err), QA_OK);
        for (int i = 0; i < h * w * c; i++)
            im.px[i] = (uint8_t)(i * 89 + (i * i) % 13);
        ck_assert_int_eq(data_png_write(path_of("a/x.png"), &im, &err), QA_OK);
        int nh = h <= w ? s : (int)floor((double)h * s / w + 0.5);
        int nw = h <= w ? (int)floor((double)w * s / h + 0.5) : s;
        uint8_t *big = malloc((size_t)nh * nw * c);
        double *tmp = malloc(data_image_resize_scratch(h, w, nh, nw, c) * sizeof *tmp);
        data_image_resize(im.px, h, w, c, big, nh, nw, tmp);
        data_set ds;
        data_folder_cfg cfg = {s, c};
        ck_assert_int_eq(data_folder_load(&ds, dir, &cfg, NULL, &err), QA_OK);
        for (int y = 0; y < s; y++)
            ck_assert_mem_eq(data_set_image(&ds, 0) + (size_t)y * s * c,
                             big + ((size_t)(y + (nh - s) / 2) * nw + (nw - s) / 2) * c,
                             (size_t)s * c);
        data_set_free(&ds);
        free(big), free(tmp);
        data_image_free(&im);
        rm_tmp();
    }
}
END_TEST

/* 1x65535 and 65535x1 images (141-byte PNGs): resizing the whole image
 * before cropping took minutes and 1 GB; the crop alone takes milliseconds
 * (Check's 4 s timeout fails the old way). */
START_TEST(test_folder_extreme_aspect)
{
    mkdir_tmp();
    mkdir(path_of("a"), 0755);
    write_png(path_of("a/wide.png"), 1, 65535, 1, 90);
    write_png(path_of("a/tall.png"), 65535, 1, 3, 30);
    data_set ds;
    qa_err err;
    data_folder_cfg cfg = {64, 3};
    ck_assert_int_eq(data_folder_load(&ds, dir, &cfg, NULL, &err), QA_OK);
    ck_assert_int_eq(ds.n, 2);
    for (int i = 0; i < 64 * 64 * 3; i++) {
        ck_assert_int_eq(data_set_image(&ds, 0)[i], 30); /* tall.png sorts first */
        ck_assert_int_eq(data_set_image(&ds, 1)[i], 90);
    }
    data_set_free(&ds);
    rm_tmp();
}
END_TEST

/* the experiments' entry: dir/train and dir/test with the same classes */
START_TEST(test_folder_splits)
{
    mkdir_tmp();
    data_set tr, te;
    qa_err err;
    mkdir(path_of("train"), 0755);
    mkdir(path_of("test"), 0755);
    mkdir(path_of("train/a"), 0755);
    mkdir(path_of("test/a"), 0755);
    write_png(path_of("train/a/1.png"), 40, 40, 1, 9);
    write_png(path_of("test/a/1.png"), 20, 30, 3, 7);
    /* the side asked for, RGB, for both splits whatever the files' sizes */
    const int sides[] = {32, 8, 48};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(data_folder_load_splits(&tr, &te, dir, sides[k], &err), QA_OK);
        ck_assert_int_eq(tr.h, sides[k]);
        ck_assert_int_eq(tr.w, sides[k]);
        ck_assert_int_eq(te.h, sides[k]);
        ck_assert_int_eq(te.w, sides[k]);
        ck_assert_int_eq(tr.c, 3);
        ck_assert_int_eq(te.c, 3);
        ck_assert_int_eq(data_set_image(&te, 0)[(size_t)sides[k] * sides[k] * 3 - 1], 7);
        data_set_free(&tr);
        data_set_free(&te);
    }
    expect_fail(data_folder_load_splits(&tr, &te, dir, 4, &err), &err, QA_ERR_ARG, "side 4");
    mkdir(path_of("test/b"), 0755);
    write_png(path_of("test/b/1.png"), 20, 30, 3, 7);
    expect_fail(data_folder_load_splits(&tr, &te, dir, 32, &err), &err, QA_ERR_FORMAT, dir);
    data_set_free(&tr);
    data_set_free(&te);
    expect_fail(data_folder_load_splits(&tr, &te, "", 32, &err), &err, QA_ERR_CONFIG, "[data] dir");
    rm_tmp();
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("cifar_folder");
    TCase *tc = tcase_create("readers");
    tcase_add_test(tc, test_cifar10);
    tcase_add_test(tc, test_cifar_errors);
    tcase_add_test(tc, test_folder);
    tcase_add_test(tc, test_folder_errors);
    tcase_add_test(tc, test_folder_crop_of_resize);
    tcase_add_test(tc, test_folder_extreme_aspect);
    tcase_add_test(tc, test_folder_splits);
    suite_add_tcase(s, tc);
    return s;
}
