/* test_corrupt_ref.c: env/corrupt against the reference generators'
 * arithmetic (numpy, scipy, PIL; tests/fixtures/make_corrupt_ref.py wrote
 * tests/fixtures/corrupt_ref.txt) on 12x12 grey and RGB patterns at the
 * cifar and imagenet tables' severities. Contrast, brightness, saturate, pixelate and
 * JPEG must match byte for byte; the filters may differ by one level on a
 * few pixels, where numpy's SIMD exp and libm's disagree in a kernel
 * weight's last bit and truncation turns that into a level. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "env/corrupt_impl.h"

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

static int exact_kind(const char *name)
{
    static const char *const exact[] = {"contrast", "brightness", "saturate", "pixelate",
                                        "jpeg_compression"};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (!strcmp(name, exact[i]))
            return 1;
    return 0;
}

START_TEST(test_against_reference)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/corrupt_ref.txt", QA_SOURCE_ROOT);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: cannot open", path);
    env_work *ws;
    qa_err err;
    ck_assert_int_eq(env_work_create(&ws, 16, 16, &err), QA_OK);
    static char line[4096], hex[2048];
    int cases = 0, exact = 0, names = 0;
    uint32_t seen = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char tname[16], name[64];
        int s, h, w, c;
        ck_assert_int_eq(sscanf(line, "%15s %63s %d %d %d %d %2047s", tname, name, &s, &h, &w, &c,
                                hex), 7);
        env_table t;
        ck_assert_int_eq(env_table_find(tname, &t, &err), QA_OK);
        int n = h * w * c;
        ck_assert_int_le(n, 432);
        ck_assert_int_eq((int)strlen(hex), 2 * n);
        uint8_t in[432], out[432], ref[432];
        for (int i = 0; i < n; i++) {
            unsigned v;
            ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
            ref[i] = (uint8_t)v;
        }
        pattern(in, h, w, c, 5);
        int id;
        if (!strcmp(name, "motion_blur")) {
            id = ENV_MOTION_BLUR;
            const env_sev *p = env_corrupt_params(t, id, s);
            env_motion_blur_at(ws, in, out, h, w, c, (int)p->a, p->b, 30.0);
        } else {
            id = env_corruption_find(name, &err);
            ck_assert_int_ge(id, 0);
            nn_rng r;
            env_corrupt_rng(&r, 0, id, 0, 0);
            ck_assert_int_eq(env_corrupt(ws, id, s, t, in, out, h, w, c, &r, &err), QA_OK);
        }
        if (!(seen & (1u << (id % 32))))
            names++;
        seen |= 1u << (id % 32);
        int diff = 0, maxd = 0;
        for (int i = 0; i < n; i++) {
            int d = abs(out[i] - ref[i]);
            diff += d != 0;
            maxd = d > maxd ? d : maxd;
        }
        cases++;
        exact += diff == 0;
        if (exact_kind(name) ? diff != 0 : maxd > 1 || diff * 50 > n)
            ck_abort_msg("%s %s s%d %dx%dx%d: %d of %d values differ from the reference, by "
                         "up to %d", tname, name, s, h, w, c, diff, n, maxd);
    }
    fclose(f);
    env_work_free(ws);
    fprintf(stderr, "# %d reference cases of %d corruptions, %d byte-identical\n", cases, names,
            exact);
    ck_assert_int_eq(cases, 180);
    ck_assert_int_eq(names, 9);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("corrupt_ref");
    TCase *tc = tcase_create("reference");
    tcase_add_test(tc, test_against_reference);
    suite_add_tcase(s, tc);
    return s;
}
