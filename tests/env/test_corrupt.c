/* test_corrupt.c: env/corrupt properties: severity 0 is the identity,
 * shapes and neighbouring bytes are untouched, in-place equals out-of-place,
 * contrast and brightness exact on constant images, kernels sum to 1, JPEG
 * byte-identical to a direct TurboJPEG round trip, determinism across work
 * buffers, orders and threads, and the error paths. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "check_main.h"
#include "env/corrupt_impl.h"

#define GUARD 16
#define CANARY 0xA5

/* 70x300: wider than the imagenet fog map (256), longer than every kernel */
static const int sizes[][3] = {{28, 28, 1}, {32, 32, 3}, {8, 8, 1}, {9, 13, 3}, {64, 40, 1},
                               {70, 300, 3}};
enum { NSIZES = (int)(sizeof sizes / sizeof sizes[0]) };

/* a smooth pattern with edges and both extremes, so every corruption acts */
static void pattern(uint8_t *px, int h, int w, int c, int salt)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                int v = (x * 255 / (w - 1) + y * 97 / (h - 1) + ch * 60 + salt) % 256;
                if ((x / 4 + y / 4) % 3 == 0)
                    v = 255 - v;
                px[((size_t)y * w + x) * c + ch] = (uint8_t)v;
            }
}

static env_work *work(int h, int w)
{
    env_work *ws = NULL;
    qa_err err;
    ck_assert_int_eq(env_work_create(&ws, h, w, &err), QA_OK);
    return ws;
}

static int run(env_work *ws, int id, int s, env_table t, const uint8_t *in, uint8_t *out, int h,
               int w, int c, uint32_t key)
{
    nn_rng r;
    env_corrupt_rng(&r, 42, id, key, env_round_train(3));
    qa_err err = {0};
    int rc = env_corrupt(ws, id, s, t, in, out, h, w, c, &r, &err);
    if (rc)
        ck_abort_msg("%s s%d %dx%dx%d: %s", env_corruption_get(id)->name, s, h, w, c, err.msg);
    return rc;
}

START_TEST(test_table)
{
    int n = 0;
    for (int id = 0; id < ENV_NCORRUPTION; id++) {
        const env_corruption_info *in = env_corruption_get(id);
        ck_assert_ptr_nonnull(in);
        ck_assert_int_eq(in->id, id);
        qa_err err;
        if (in->available) {
            ck_assert_int_eq(env_corruption_find(in->name, &err), id);
            n++;
        }
    }
    ck_assert_int_eq(n, 15);
    ck_assert_int_eq(env_corruption_count_available(), 15);
    ck_assert_ptr_null(env_corruption_get(-1));
    ck_assert_ptr_null(env_corruption_get(ENV_NCORRUPTION));
    ck_assert(env_corruption_is_identity(ENV_SATURATE, 1));
    ck_assert(!env_corruption_is_identity(ENV_SATURATE, 3));
    ck_assert(!env_corruption_is_identity(ENV_BRIGHTNESS, 1));
    char line[256];
    ck_assert_int_eq(env_table_describe(ENV_TABLE_CIFAR, ENV_MOTION_BLUR, line, sizeof line), 0);
    ck_assert_ptr_nonnull(strstr(line, "(9,2.5)"));
    ck_assert_int_eq(env_table_describe(ENV_TABLE_IMAGENET, ENV_JPEG_COMPRESSION, line, 256), 0);
    ck_assert_ptr_nonnull(strstr(line, " 25 18 15 10 7"));
}
END_TEST

/* severity 0 is an exact copy, in place too, for every corruption and table */
START_TEST(test_identity_severity0)
{
    env_work *ws = work(70, 300);
    for (int k = 0; k < NSIZES; k++) {
        int h = sizes[k][0], w = sizes[k][1], c = sizes[k][2];
        size_t n = (size_t)h * w * c;
        uint8_t *in = malloc(n), *out = malloc(n);
        pattern(in, h, w, c, k);
        for (int id = 0; id < ENV_NCORRUPTION; id++) {
            if (!env_corruption_get(id)->available)
                continue;
            for (int t = 0; t < ENV_NTABLE; t++) {
                memset(out, 0, n);
                run(ws, id, 0, (env_table)t, in, out, h, w, c, 7);
                ck_assert_mem_eq(in, out, n);
                memcpy(out, in, n);
                run(ws, id, 0, (env_table)t, out, out, h, w, c, 7);
                ck_assert_mem_eq(in, out, n);
            }
        }
        free(in);
        free(out);
    }
    env_work_free(ws);
}
END_TEST

/* every severity: nothing outside the image is written, the input is not
 * modified, in place == out of place, and the image changes (except
 * saturate on grey, the documented identity) */
START_TEST(test_shape_and_inplace)
{
    env_work *ws = work(70, 300);
    for (int k = 0; k < NSIZES; k++) {
        int h = sizes[k][0], w = sizes[k][1], c = sizes[k][2];
        size_t n = (size_t)h * w * c;
        uint8_t *in = malloc(n), *keep = malloc(n), *out = malloc(n + 2 * GUARD), *inpl = malloc(n);
        pattern(in, h, w, c, 3 * k);
        memcpy(keep, in, n);
        for (int id = 0; id < ENV_NCORRUPTION; id++) {
            if (!env_corruption_get(id)->available)
                continue;
            for (int t = 0; t < ENV_NTABLE; t++)
                for (int s = 1; s <= ENV_MAX_SEVERITY; s++) {
                    memset(out, CANARY, n + 2 * GUARD);
                    run(ws, id, s, (env_table)t, in, out + GUARD, h, w, c, 11);
                    for (int g = 0; g < GUARD; g++) {
                        ck_assert_int_eq(out[g], CANARY);
                        ck_assert_int_eq(out[GUARD + n + g], CANARY);
                    }
                    ck_assert_mem_eq(in, keep, n);
                    memcpy(inpl, in, n);
                    run(ws, id, s, (env_table)t, inpl, inpl, h, w, c, 11);
                    if (memcmp(inpl, out + GUARD, n) != 0)
                        ck_abort_msg("%s s%d %s %dx%dx%d: in place differs",
                                     env_corruption_get(id)->name, s, env_table_name(t), h, w, c);
                    int same = memcmp(in, out + GUARD, n) == 0;
                    if (env_corruption_is_identity(id, c))
                        ck_assert(same);
                    else if (same && s >= 3)
                        ck_abort_msg("%s s%d %s %dx%dx%d: image unchanged",
                                     env_corruption_get(id)->name, s, env_table_name(t), h, w, c);
                }
        }
        free(in);
        free(keep);
        free(out);
        free(inpl);
    }
    env_work_free(ws);
}
END_TEST

/* contrast keeps constant images; brightness adds floor(255 c) exactly */
START_TEST(test_contrast_brightness_constant)
{
    env_work *ws = work(16, 16);
    uint8_t in[16 * 16 * 3], out[16 * 16 * 3];
    const int vals[] = {0, 1, 37, 100, 128, 200, 254, 255};
    for (int t = 0; t < ENV_NTABLE; t++)
        for (int s = 1; s <= ENV_MAX_SEVERITY; s++)
            for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
                for (int c = 1; c <= 3; c += 2) {
                    int v = vals[k];
                    memset(in, v, sizeof in);
                    run(ws, ENV_CONTRAST, s, (env_table)t, in, out, 16, 16, c, 0);
                    ck_assert_mem_eq(in, out, (size_t)256 * c);
                    double bc = env_corrupt_params((env_table)t, ENV_BRIGHTNESS, s)->a;
                    int want = (int)floor(v + 255.0 * bc + 1e-9);
                    want = want > 255 ? 255 : want;
                    run(ws, ENV_BRIGHTNESS, s, (env_table)t, in, out, 16, 16, c, 0);
                    for (int i = 0; i < 256 * c; i++)
                        if (out[i] != want)
                            ck_abort_msg("brightness %s s%d c%d on %d: %d, expected %d",
                                         env_table_name(t), s, c, v, out[i], want);
                }
    /* contrast of a two-level image: (x - m) c + m, m the exact mean */
    for (int i = 0; i < 256; i++)
        in[i] = i < 128 ? 50 : 150;
    run(ws, ENV_CONTRAST, 2, ENV_TABLE_CIFAR, in, out, 16, 16, 1, 0);
    ck_assert_int_eq(out[0], 75);  /* 100 - 50 * 0.5 */
    ck_assert_int_eq(out[255], 125);
    env_work_free(ws);
}
END_TEST

static double ksum(const double *k, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        ck_assert(k[i] >= 0.0);
        s += k[i];
    }
    return s;
}

START_TEST(test_kernels_sum_to_one)
{
    for (int t = 0; t < ENV_NTABLE; t++)
        for (int s = 1; s <= ENV_MAX_SEVERITY; s++) {
            env_kernel1d g;
            env_kernel2d d;
            double m[ENV_MOTION_MAX_TAPS];
            const env_sev *pg = env_corrupt_params((env_table)t, ENV_GAUSSIAN_BLUR, s);
            const env_sev *pl = env_corrupt_params((env_table)t, ENV_GLASS_BLUR, s);
            const env_sev *pd = env_corrupt_params((env_table)t, ENV_DEFOCUS_BLUR, s);
            const env_sev *pm = env_corrupt_params((env_table)t, ENV_MOTION_BLUR, s);
            env_kernel_gauss(&g, pg->a);
            ck_assert_int_eq(g.radius, (int)(4 * pg->a + 0.5));
            ck_assert_double_eq_tol(ksum(g.k, 2 * g.radius + 1), 1.0, 1e-6);
            env_kernel_gauss(&g, pl->a);
            ck_assert_double_eq_tol(ksum(g.k, 2 * g.radius + 1), 1.0, 1e-6);
            env_kernel_disk(&d, pd->a, pd->b);
            int side = 2 * d.radius + 1;
            /* the reference blurs the disk with reflect-101 borders: a disk
             * of radius >= 8 touches the grid's edge and gains ~1% mass */
            ck_assert_double_eq_tol(ksum(d.k, side * side), 1.0, (pd->a >= 8 ? 2e-2 : 1e-6));
            int n = env_kernel_motion(m, (int)pm->a, pm->b);
            ck_assert_int_eq(n, 2 * (int)pm->a + 1);
            ck_assert_double_eq_tol(ksum(m, n), 1.0, 1e-6);
            for (int i = 1; i < n; i++)
                ck_assert(m[i] <= m[i - 1]);
        }
    /* a sub-pixel disk is one pixel before the alias blur */
    env_kernel2d d;
    env_kernel_disk(&d, 0.3, 0.01);
    ck_assert_double_eq_tol(d.k[d.radius * (2 * d.radius + 1) + d.radius], 1.0, 1e-6);
}
END_TEST

/* jpeg_compression == tjCompress2 (accurate DCT, as PIL) + tjDecompress2 at the
 * table's quality */
START_TEST(test_jpeg_matches_turbojpeg)
{
    env_work *ws = work(70, 300);
    tjhandle enc = tjInitCompress(), dec = tjInitDecompress();
    for (int k = 0; k < NSIZES; k++) {
        int h = sizes[k][0], w = sizes[k][1], c = sizes[k][2];
        size_t n = (size_t)h * w * c;
        uint8_t *in = malloc(n), *out = malloc(n), *ref = malloc(n);
        pattern(in, h, w, c, k);
        for (int t = 0; t < ENV_NTABLE; t++)
            for (int s = 1; s <= ENV_MAX_SEVERITY; s++) {
                int q = (int)env_corrupt_params((env_table)t, ENV_JPEG_COMPRESSION, s)->a;
                unsigned char *jpg = NULL;
                unsigned long size = 0;
                int pf = c == 3 ? TJPF_RGB : TJPF_GRAY, samp = c == 3 ? TJSAMP_420 : TJSAMP_GRAY;
                ck_assert_int_eq(tjCompress2(enc, in, w, 0, h, pf, &jpg, &size, samp, q,
                                             TJFLAG_ACCURATEDCT), 0);
                ck_assert_int_eq(tjDecompress2(dec, jpg, size, ref, w, 0, h, pf, 0), 0);
                tjFree(jpg);
                run(ws, ENV_JPEG_COMPRESSION, s, (env_table)t, in, out, h, w, c, 0);
                ck_assert_mem_eq(out, ref, n);
            }
        free(in);
        free(out);
        free(ref);
    }
    tjDestroy(enc);
    tjDestroy(dec);
    env_work_free(ws);
}
END_TEST

/* --- determinism --- */

enum { DN = 24, DH = 28, DW = 28 };

typedef struct {
    const uint8_t *in;
    uint8_t *out;
    int id, c, reverse;
} det_job;

static void corrupt_batch(env_work *ws, const det_job *jb)
{
    size_t n = (size_t)DH * DW * jb->c;
    for (int k = 0; k < DN; k++) {
        int i = jb->reverse ? DN - 1 - k : k;
        run(ws, jb->id, 1 + i % ENV_MAX_SEVERITY, ENV_TABLE_CIFAR, jb->in + i * n, jb->out + i * n,
            DH, DW, jb->c, (uint32_t)(1000 + i));
    }
}

static void *det_thread(void *arg)
{
    env_work *ws = work(DH, DW);
    corrupt_batch(ws, arg);
    env_work_free(ws);
    return NULL;
}

START_TEST(test_determinism)
{
    for (int c = 1; c <= 3; c += 2) {
        size_t n = (size_t)DH * DW * c;
        uint8_t *in = malloc(n * DN), *a = malloc(n * DN), *b = malloc(n * DN), *d = malloc(n * DN);
        for (int i = 0; i < DN; i++)
            pattern(in + i * n, DH, DW, c, i % 3);
        env_work *ws = work(64, 64);
        for (int id = 0; id < ENV_NCORRUPTION; id++) {
            if (!env_corruption_get(id)->available)
                continue;
            det_job ja = {in, a, id, c, 0}, jb = {in, b, id, c, 1};
            corrupt_batch(ws, &ja);
            /* a second pass with other corruptions in between, reversed order */
            run(ws, ENV_FOG, 5, ENV_TABLE_IMAGENET, in, d, DH, DW, c, 5);
            corrupt_batch(ws, &jb);
            ck_assert_mem_eq(a, b, n * DN);
            /* two threads, each with its own work, one per half-order */
            memset(b, 0, n * DN);
            memset(d, 0, n * DN);
            pthread_t th[2];
            det_job j1 = {in, b, id, c, 1}, j2 = {in, d, id, c, 0};
            ck_assert_int_eq(pthread_create(&th[0], NULL, det_thread, &j1), 0);
            ck_assert_int_eq(pthread_create(&th[1], NULL, det_thread, &j2), 0);
            pthread_join(th[0], NULL);
            pthread_join(th[1], NULL);
            ck_assert_mem_eq(a, b, n * DN);
            ck_assert_mem_eq(a, d, n * DN);
            if (!env_corruption_get(id)->random)
                continue;
            /* same image, same severity, another sample key: other noise */
            uint8_t *x = malloc(n), *y = malloc(n);
            run(ws, id, 3, ENV_TABLE_CIFAR, in, x, DH, DW, c, 1);
            run(ws, id, 3, ENV_TABLE_CIFAR, in, y, DH, DW, c, 2);
            if (memcmp(x, y, n) == 0)
                ck_abort_msg("%s: sample keys 1 and 2 gave the same image",
                             env_corruption_get(id)->name);
            /* and another round (epoch) too */
            nn_rng r;
            qa_err err;
            env_corrupt_rng(&r, 42, id, 1, env_round_eval(0));
            ck_assert_int_eq(env_corrupt(ws, id, 3, ENV_TABLE_CIFAR, in, y, DH, DW, c, &r, &err), 0);
            ck_assert(memcmp(x, y, n) != 0);
            free(x);
            free(y);
        }
        env_work_free(ws);
        free(in);
        free(a);
        free(b);
        free(d);
    }
}
END_TEST

/* --- errors --- */

START_TEST(test_errors)
{
    qa_err err = {0};
    ck_assert_int_eq(env_corruption_find("gaussian_nois", &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "'gaussian_nois'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "jpeg_compression"));
    ck_assert_ptr_null(strstr(err.msg, "snow"));
    ck_assert_int_eq(env_corruption_find("snow", &err), QA_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "snow"));
    env_table t;
    ck_assert_int_eq(env_table_find("cifar10", &t, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "cifar10"));
    ck_assert_int_eq(env_table_find("tiny", &t, &err), QA_OK);
    ck_assert_int_eq(t, ENV_TABLE_TINY);

    env_work *ws = work(32, 32);
    uint8_t in[32 * 32 * 3] = {0}, out[32 * 32 * 3];
    nn_rng r;
    env_corrupt_rng(&r, 1, ENV_GAUSSIAN_NOISE, 0, 0);
    ck_assert_int_eq(env_corrupt(ws, ENV_GAUSSIAN_NOISE, 6, 0, in, out, 32, 32, 1, &r, &err),
                     QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "severity 6"));
    ck_assert_int_eq(env_corrupt(ws, ENV_GAUSSIAN_NOISE, -1, 0, in, out, 32, 32, 1, &r, &err),
                     QA_ERR_ARG);
    ck_assert_int_eq(env_corrupt(ws, ENV_SNOW, 1, 0, in, out, 32, 32, 1, &r, &err), QA_ERR_ARG);
    ck_assert_int_eq(env_corrupt(ws, 99, 1, 0, in, out, 32, 32, 1, &r, &err), QA_ERR_ARG);
    ck_assert_int_eq(env_corrupt(ws, 0, 1, (env_table)3, in, out, 32, 32, 1, &r, &err),
                     QA_ERR_ARG);
    ck_assert_int_eq(env_corrupt(ws, 0, 1, 0, in, out, 7, 32, 1, &r, &err), QA_ERR_ARG);
    ck_assert_int_eq(env_corrupt(ws, 0, 1, 0, in, out, 32, 33, 1, &r, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "32x33x1"));
    ck_assert_int_eq(env_corrupt(ws, 0, 1, 0, in, out, 32, 32, 2, &r, &err), QA_ERR_ARG);
    env_work_free(ws);
    ck_assert_int_eq(env_work_create(&ws, 7, 32, &err), QA_ERR_ARG);
    ck_assert_ptr_null(ws);
    env_work_free(NULL);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("corrupt");
    TCase *tc = tcase_create("corrupt");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_identity_severity0);
    tcase_add_test(tc, test_shape_and_inplace);
    tcase_add_test(tc, test_contrast_brightness_constant);
    tcase_add_test(tc, test_kernels_sum_to_one);
    tcase_add_test(tc, test_jpeg_matches_turbojpeg);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}
