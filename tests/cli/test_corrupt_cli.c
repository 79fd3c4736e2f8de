/* test_corrupt_cli.c: `qadapt corrupt` through exp_cmd_corrupt: a file
 * corrupted equals env_corrupt on the same key, severity 0 copies, JPEG in
 * and out, the contact sheet of a folder dataset written from a config, and
 * the usage and file errors. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "data/folder.h"
#include "data/jpeg_io.h"
#include "data/png_io.h"
#include "env/corrupt.h"
#include "experiments/cli/commands.h"

static char dir[64];

static const char *path_of(const char *name)
{
    static char p[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void setup(void)
{
    qa_test_tmpdir(dir, sizeof dir, "corrupt_cli");
}

static void teardown(void)
{
    qa_test_rmtree(dir);
}

/* runs `corrupt ARGS...` (NULL-terminated) with stdout silenced */
static int cli(qa_err *err, ...)
{
    char *argv[32] = {"corrupt"};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    memset(err, 0, sizeof *err);
    int rc = exp_cmd_corrupt(argc, argv, err);
    fflush(stdout);
    dup2(saved, 1);
    close(null);
    close(saved);
    return rc;
}

static void write_image(const char *path, int h, int w, int c, int salt)
{
    data_image im;
    qa_err err;
    ck_assert_int_eq(data_image_alloc(&im, h, w, c, &err), QA_OK);
    for (int i = 0; i < h * w * c; i++)
        im.px[i] = (uint8_t)((i * 13 + salt * 71 + (i / (w * c)) * 29) % 256);
    ck_assert_int_eq(data_png_write(path, &im, &err), QA_OK);
    data_image_free(&im);
}

static data_image read_png(const char *path)
{
    data_image im;
    qa_err err;
    if (data_png_read(path, &im, &err))
        ck_abort_msg("%s", err.msg);
    return im;
}

START_TEST(test_file_matches_env)
{
    qa_err err;
    write_image(path_of("in.png"), 20, 24, 3, 0);
    const char *ids[] = {"gaussian_noise", "jpeg_compression", "fog", "saturate", NULL};
    for (int k = 0; ids[k]; k++) {
        ck_assert_int_eq(cli(&err, path_of("in.png"), path_of("out.png"), "--type", ids[k],
                             "--severity", "4", "--seed", "9", "--key", "17", NULL),
                         QA_OK);
        data_image in = read_png(path_of("in.png")), out = read_png(path_of("out.png"));
        env_work *ws;
        ck_assert_int_eq(env_work_create(&ws, 20, 24, &err), QA_OK);
        int id = env_corruption_find(ids[k], &err);
        nn_rng r;
        env_corrupt_rng(&r, 9, id, 17, env_round_eval(0));
        ck_assert_int_eq(env_corrupt(ws, id, 4, ENV_TABLE_CIFAR, in.px, in.px, 20, 24, 3, &r, &err),
                         QA_OK);
        ck_assert_mem_eq(in.px, out.px, (size_t)20 * 24 * 3);
        env_work_free(ws);
        data_image_free(&in);
        data_image_free(&out);
    }
    /* severity 0 copies; a JPEG in, a JPEG out */
    ck_assert_int_eq(cli(&err, path_of("in.png"), path_of("same.png"), "--type", "fog",
                         "--severity", "0", NULL), QA_OK);
    data_image a = read_png(path_of("in.png")), b = read_png(path_of("same.png"));
    ck_assert_mem_eq(a.px, b.px, (size_t)20 * 24 * 3);
    ck_assert_int_eq(data_jpeg_write(path_of("in.jpg"), &a, 90, &err), QA_OK);
    ck_assert_int_eq(cli(&err, path_of("in.jpg"), path_of("out.jpeg"), "--type", "contrast",
                         "--severity", "2", "--table", "imagenet", NULL), QA_OK);
    data_image_free(&b);
    ck_assert_int_eq(data_jpeg_read(path_of("out.jpeg"), &b, &err), QA_OK);
    ck_assert_int_eq(b.h, 20);
    ck_assert_int_eq(b.c, 3);
    data_image_free(&a);
    data_image_free(&b);
}
END_TEST

START_TEST(test_errors)
{
    qa_err err;
    write_image(path_of("in.png"), 16, 16, 1, 0);
    const char *in = path_of("in.png"), *out = path_of("o.png");
    ck_assert_int_eq(cli(&err, in, out, "--type", "gaussian", "--severity", "1", NULL),
                     QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown corruption 'gaussian'"));
    /* every bad severity names the range the severities have, not the
     * parser's (it said -1000..1000 for "3x") */
    static const char *const bad_sev[] = {"6", "x", "3x", "-1", ""};
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(cli(&err, in, out, "--type", "fog", "--severity", bad_sev[k], NULL),
                         QA_ERR_ARG);
        char want[64];
        snprintf(want, sizeof want, "--severity '%s': expected an integer in 0..5", bad_sev[k]);
        ck_assert_msg(strstr(err.msg, want), "%s", err.msg);
    }
    ck_assert_int_eq(cli(&err, in, out, "--type", "fog", NULL), QA_ERR_ARG);
    ck_assert_int_eq(cli(&err, in, out, "--type", "fog", "--severity", NULL), QA_ERR_ARG);
    ck_assert_int_eq(cli(&err, in, out, "--typo", "fog", NULL), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "--typo"));
    ck_assert_int_eq(cli(&err, in, out, "--type", "fog", "--severity", "1", "--table", "big",
                         NULL), QA_ERR_ARG);
    ck_assert_int_eq(cli(&err, in, out, "extra", NULL), QA_ERR_ARG);
    const char *missing = path_of("missing.png");
    ck_assert_int_eq(cli(&err, missing, out, "--type", "fog", "--severity", "1", NULL), QA_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, missing));
    FILE *f = fopen(path_of("bad.jpg"), "wb");
    fputs("\xff\xd8\xff\xe0 not really", f);
    fclose(f);
    ck_assert_int_eq(cli(&err, path_of("bad.jpg"), out, "--type", "fog", "--severity", "1", NULL),
                     QA_ERR_FORMAT);
    f = fopen(path_of("text.png"), "wb");
    fputs("hello", f);
    fclose(f);
    ck_assert_int_eq(cli(&err, path_of("text.png"), out, "--type", "fog", "--severity", "1",
                         NULL), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "text.png: neither PNG nor JPEG (starts with 68 65 6c 6c"),
                  "%s", err.msg);
    ck_assert_int_eq(cli(&err, in, path_of("no/dir/o.png"), "--type", "fog", "--severity", "1",
                         NULL), QA_ERR_IO);
    ck_assert_int_eq(cli(&err, "--grid", out, NULL), QA_ERR_ARG);
    ck_assert_int_eq(cli(&err, "--grid", out, "--data", path_of("none.ini"), NULL), QA_ERR_IO);
    ck_assert_int_eq(cli(&err, "--list", NULL), QA_OK);
    ck_assert_int_eq(cli(&err, "--help", NULL), QA_OK);
}
END_TEST

/* a folder dataset (2 classes) named by a config: the sheet's size follows
 * the layout, the clean column holds the images magnified 3x, at the
 * default 32 px and at data.folder_side = 16 */
START_TEST(test_grid_folder)
{
    qa_err err;
    const char *sub[] = {"train", "test", "train/a", "train/b", "test/a", "test/b"};
    for (int k = 0; k < 6; k++)
        ck_assert_int_eq(mkdir(path_of(sub[k]), 0755), 0);
    write_image(path_of("train/a/1.png"), 32, 32, 3, 1);
    write_image(path_of("train/b/1.png"), 32, 32, 3, 2);
    write_image(path_of("test/a/1.png"), 32, 32, 3, 3);
    write_image(path_of("test/b/1.png"), 32, 32, 3, 4);
    FILE *f = fopen(path_of("c.ini"), "w");
    fprintf(f, "[data]\ndataset = folder\ndir = %s\n", dir);
    fclose(f);
    ck_assert_int_eq(cli(&err, "--grid", path_of("sheet.png"), "--data", path_of("c.ini"),
                         "--images", "2", NULL), QA_OK);
    data_image s = read_png(path_of("sheet.png")), t = read_png(path_of("test/b/1.png"));
    /* margins 12, labels 18 chars x 12 px, 6 cells of 2 x 96 px + 4, gaps 16 */
    ck_assert_int_eq(s.w, 24 + 216 + 6 * 196 + 5 * 16);
    ck_assert_int_eq(s.h, 56 + 15 * 100 + 12);
    ck_assert_int_eq(s.c, 3);
    /* first row, clean column, second image, pixel (5, 7) scaled by 3 */
    int x0 = 12 + 216 + 96 + 4, y0 = 56;
    for (int ch = 0; ch < 3; ch++)
        ck_assert_int_eq(s.px[((size_t)(y0 + 15) * s.w + x0 + 21) * 3 + ch],
                         t.px[((size_t)5 * 32 + 7) * 3 + ch]);
    data_image_free(&s);
    /* data.folder_side: the same files resized to 16x16, cells of 2 x 48 px */
    ck_assert_int_eq(cli(&err, "--grid", path_of("sheet16.png"), "--data", path_of("c.ini"),
                         "--images", "2", "--set", "data.folder_side=16", NULL), QA_OK);
    s = read_png(path_of("sheet16.png"));
    ck_assert_int_eq(s.w, 24 + 216 + 6 * 100 + 5 * 16);
    ck_assert_int_eq(s.h, 56 + 15 * 52 + 12);
    /* write_image's pixels are not uniform, so compare with the library's resize */
    uint8_t small[16 * 16 * 3];
    double *tmp = malloc(data_image_resize_scratch(32, 32, 16, 16, 3) * sizeof *tmp);
    data_image_resize(t.px, 32, 32, 3, small, 16, 16, tmp);
    free(tmp);
    x0 = 12 + 216 + 48 + 4;
    for (int ch = 0; ch < 3; ch++)
        ck_assert_int_eq(s.px[((size_t)(y0 + 15) * s.w + x0 + 21) * 3 + ch],
                         small[((size_t)5 * 16 + 7) * 3 + ch]);
    data_image_free(&s);
    data_image_free(&t);
    ck_assert_int_eq(cli(&err, "--grid", path_of("sheet4.png"), "--data", path_of("c.ini"),
                         "--set", "data.folder_side=4", NULL), QA_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, "data.folder_side=4"), "%s", err.msg);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("corrupt_cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_file_matches_env);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_grid_folder);
    suite_add_tcase(s, tc);
    return s;
}
