/* test_mix.c: env/mix: a sample's bytes, truth and features depend only on
 * (seed, key, round), not on the batch it is in, its position or the thread
 * count; different keys and rounds draw differently; frequencies follow the
 * weights, clean fraction and severity list (chi-square); fixed and epoch
 * schedules; oracle features; every configuration error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "env/mix.h"
#include "nn/par.h"

enum { H = 28, W = 28, NIMG = 48 };

/* image i of a small data set: a pattern with edges and mid-tones, distinct per i */
static void image(uint8_t *px, int i, int c)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int ch = 0; ch < c; ch++) {
                int v = 40 + (x * 7 + y * 3 + i * 11 + ch * 50) % 170;
                if ((x / 5 + y / 6 + i) % 3 == 0)
                    v = 255 - v;
                px[((size_t)y * W + x) * c + ch] = (uint8_t)v;
            }
}

static env_mix_cfg base_cfg(void)
{
    env_mix_cfg m = {0};
    const int ids[] = {ENV_GAUSSIAN_NOISE, ENV_GAUSSIAN_BLUR, ENV_JPEG_COMPRESSION, ENV_CONTRAST,
                       ENV_IMPULSE_NOISE, ENV_MOTION_BLUR};
    m.ncorr = 6;
    for (int i = 0; i < m.ncorr; i++)
        m.corr[i] = ids[i];
    m.nsev = 5;
    for (int s = 0; s < 5; s++)
        m.sev[s] = s + 1;
    m.clean_fraction = 0.2;
    m.table = ENV_TABLE_CIFAR;
    m.schedule = ENV_SCHEDULE_EPOCH;
    m.features = ENV_FEAT_QUALITY;
    return m;
}

static env_mix *make(const env_mix_cfg *m, int c)
{
    env_mix *mix = NULL;
    qa_err err = {0};
    int rc = env_mix_create(&mix, m, 1234, H, W, c, &err);
    ck_assert_msg(rc == QA_OK, "env_mix_create: %s", err.msg);
    return mix;
}

typedef struct {
    uint8_t *px;
    int *corr, *sev;
    float *feat;
} batch;

static batch batch_alloc(int n, int c, int nfeat)
{
    batch b = {malloc((size_t)n * H * W * c), malloc((size_t)n * sizeof(int)),
               malloc((size_t)n * sizeof(int)), malloc((size_t)n * (size_t)(nfeat ? nfeat : 1) * sizeof(float))};
    ck_assert(b.px && b.corr && b.sev && b.feat);
    return b;
}

static void batch_free(batch *b)
{
    free(b->px);
    free(b->corr);
    free(b->sev);
    free(b->feat);
}

/* Stages images keys[0..n) and applies the mix in round. */
static void apply(env_mix *mix, batch *b, const int *keys, int n, int c, uint32_t round)
{
    for (int i = 0; i < n; i++)
        image(b->px + (size_t)i * H * W * c, keys[i], c);
    qa_err err = {0};
    int rc = env_mix_apply(mix, b->px, n, keys, round, b->corr, b->sev, b->feat, &err);
    ck_assert_msg(rc == QA_OK, "env_mix_apply: %s", err.msg);
}

/* Sample i of a equals sample j of b: bytes, truth, features bit for bit. */
static int same_sample(const batch *a, int i, const batch *b, int j, int c, int nfeat)
{
    size_t sz = (size_t)H * W * c;
    return memcmp(a->px + i * sz, b->px + j * sz, sz) == 0 && a->corr[i] == b->corr[j] &&
           a->sev[i] == b->sev[j] &&
           memcmp(a->feat + (size_t)i * nfeat, b->feat + (size_t)j * nfeat,
                  (size_t)nfeat * sizeof(float)) == 0;
}

START_TEST(test_batch_and_threads)
{
    int c = _i ? 3 : 1;
    env_mix_cfg m = base_cfg();
    if (c == 3)
        m.corr[5] = ENV_SATURATE;
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
    env_mix *one = make(&m, c);
    ck_assert_int_eq(nn_par_set_threads(3, &err), QA_OK);
    env_mix *three = make(&m, c);
    int nf = env_mix_nfeat(one);
    ck_assert_int_eq(nf, ENV_Q_NFEAT);
    int keys[NIMG], rev[NIMG];
    for (int i = 0; i < NIMG; i++) {
        keys[i] = 1000 + i;
        rev[i] = 1000 + NIMG - 1 - i;
    }
    batch a = batch_alloc(NIMG, c, nf), b = batch_alloc(NIMG, c, nf), s = batch_alloc(1, c, nf);
    for (uint32_t round = 0; round < 2; round++) {
        apply(one, &a, keys, NIMG, c, env_round_train(round));
        apply(three, &b, rev, NIMG, c, env_round_train(round));
        int corrupted = 0;
        for (int i = 0; i < NIMG; i++) {
            ck_assert_msg(same_sample(&a, i, &b, NIMG - 1 - i, c, nf),
                          "key %d differs between 1 thread in order and 3 threads reversed", keys[i]);
            apply(three, &s, &keys[i], 1, c, env_round_train(round)); /* a batch of one */
            ck_assert_msg(same_sample(&a, i, &s, 0, c, nf), "key %d differs alone", keys[i]);
            corrupted += a.corr[i] != ENV_CLEAN;
        }
        ck_assert_int_gt(corrupted, NIMG / 2);
    }
    /* a batch of 7 from the middle, on the pool's threads: the same again */
    apply(three, &b, keys + 20, 7, c, env_round_train(1));
    for (int i = 0; i < 7; i++)
        ck_assert(same_sample(&a, 20 + i, &b, i, c, nf));
    batch_free(&a);
    batch_free(&b);
    batch_free(&s);
    env_mix_free(one);
    env_mix_free(three);
}
END_TEST

START_TEST(test_keys_and_rounds_differ)
{
    /* one corruption, one severity, never clean: only the noise can differ */
    env_mix_cfg m = base_cfg();
    m.ncorr = 1;
    m.corr[0] = ENV_GAUSSIAN_NOISE;
    m.nsev = 1;
    m.sev[0] = 3;
    m.clean_fraction = 0;
    env_mix *mix = make(&m, 1);
    batch a = batch_alloc(2, 1, ENV_Q_NFEAT), b = batch_alloc(2, 1, ENV_Q_NFEAT);
    /* the same picture under two keys */
    int keys[2] = {5, 6};
    image(a.px, 5, 1);
    image(a.px + H * W, 5, 1);
    qa_err err;
    ck_assert_int_eq(env_mix_apply(mix, a.px, 2, keys, env_round_train(0), a.corr, a.sev, a.feat,
                                   &err), QA_OK);
    ck_assert_int_ne(memcmp(a.px, a.px + H * W, H * W), 0);
    ck_assert_int_eq(a.corr[0], ENV_GAUSSIAN_NOISE);
    ck_assert_int_eq(a.sev[1], 3);
    /* same key, another epoch, an evaluation round: other noise */
    apply(mix, &b, keys, 1, 1, env_round_train(1));
    ck_assert_int_ne(memcmp(a.px, b.px, H * W), 0);
    apply(mix, &b, keys, 1, 1, env_round_eval(0));
    ck_assert_int_ne(memcmp(a.px, b.px, H * W), 0);
    batch_free(&a);
    batch_free(&b);
    env_mix_free(mix);
    /* the draws themselves differ across keys */
    m = base_cfg();
    mix = make(&m, 1);
    int distinct = 0, c0, s0, c1, s1;
    for (uint32_t k = 0; k < 100; k++) {
        env_mix_draw(mix, k, env_round_train(0), &c0, &s0);
        env_mix_draw(mix, k + 1, env_round_train(0), &c1, &s1);
        distinct += c0 != c1 || s0 != s1;
    }
    ck_assert_int_gt(distinct, 70);
    env_mix_free(mix);
}
END_TEST

START_TEST(test_frequencies)
{
    env_mix_cfg m = base_cfg();
    const int ids[4] = {ENV_GAUSSIAN_NOISE, ENV_GAUSSIAN_BLUR, ENV_JPEG_COMPRESSION, ENV_CONTRAST};
    m.ncorr = m.nweight = 4;
    for (int i = 0; i < 4; i++) {
        m.corr[i] = ids[i];
        m.weight[i] = i + 1; /* 1 : 2 : 3 : 4 */
    }
    m.nsev = 3;
    m.sev[0] = 1;
    m.sev[1] = 3;
    m.sev[2] = 5;
    m.clean_fraction = 0.25;
    env_mix *mix = make(&m, 1);
    enum { N = 40000 };
    long cat[5] = {0}, sev[6] = {0};
    for (uint32_t k = 0; k < N; k++) {
        int c, s;
        env_mix_draw(mix, k, env_round_train(k % 3), &c, &s);
        if (c == ENV_CLEAN) {
            ck_assert_int_eq(s, 0);
            cat[0]++;
            continue;
        }
        int j = 0;
        while (j < 4 && ids[j] != c)
            j++;
        ck_assert_int_lt(j, 4);
        ck_assert(s == 1 || s == 3 || s == 5);
        cat[j + 1]++;
        sev[s]++;
    }
    /* chi-square, 4 degrees of freedom: 18.47 is the 0.001 quantile */
    double expect[5] = {0.25 * N, 0.075 * N, 0.15 * N, 0.225 * N, 0.3 * N}, chi = 0;
    for (int i = 0; i < 5; i++)
        chi += (cat[i] - expect[i]) * (cat[i] - expect[i]) / expect[i];
    ck_assert_msg(chi < 18.47, "corruption/clean chi-square %g (counts %ld %ld %ld %ld %ld)", chi,
                  cat[0], cat[1], cat[2], cat[3], cat[4]);
    /* severities uniform over {1, 3, 5}: 2 dof, 13.82 */
    double ns = (double)(N - cat[0]) / 3.0;
    chi = 0;
    for (int s = 1; s <= 5; s += 2)
        chi += (sev[s] - ns) * (sev[s] - ns) / ns;
    ck_assert_msg(chi < 13.82, "severity chi-square %g", chi);
    ck_assert_int_eq(sev[2] + sev[4], 0);
    env_mix_free(mix);
    /* zero weight: never drawn; clean fraction 1: always clean */
    m.weight[1] = 0;
    mix = make(&m, 1);
    for (uint32_t k = 0; k < 2000; k++) {
        int c, s;
        env_mix_draw(mix, k, 0, &c, &s);
        ck_assert_int_ne(c, ENV_GAUSSIAN_BLUR);
    }
    env_mix_free(mix);
    m.clean_fraction = 1;
    mix = make(&m, 1);
    for (uint32_t k = 0; k < 2000; k++) {
        int c, s;
        env_mix_draw(mix, k, 0, &c, &s);
        ck_assert_int_eq(c, ENV_CLEAN);
    }
    env_mix_free(mix);
}
END_TEST

START_TEST(test_schedules)
{
    env_mix_cfg m = base_cfg();
    m.clean_fraction = 0;
    m.schedule = ENV_SCHEDULE_FIXED;
    env_mix *fixed = make(&m, 1);
    m.schedule = ENV_SCHEDULE_EPOCH;
    env_mix *epoch = make(&m, 1);
    int keys[NIMG];
    for (int i = 0; i < NIMG; i++)
        keys[i] = i;
    batch f0 = batch_alloc(NIMG, 1, ENV_Q_NFEAT), f = batch_alloc(NIMG, 1, ENV_Q_NFEAT);
    batch e0 = batch_alloc(NIMG, 1, ENV_Q_NFEAT), e = batch_alloc(NIMG, 1, ENV_Q_NFEAT);
    apply(fixed, &f0, keys, NIMG, 1, env_round_train(0));
    apply(epoch, &e0, keys, NIMG, 1, env_round_train(0));
    for (int i = 0; i < NIMG; i++) /* round 0 is the same under both */
        ck_assert(same_sample(&f0, i, &e0, i, 1, ENV_Q_NFEAT));
    for (uint32_t ep = 1; ep < 4; ep++) {
        apply(fixed, &f, keys, NIMG, 1, env_round_train(ep));
        apply(epoch, &e, keys, NIMG, 1, env_round_train(ep));
        int redrawn = 0;
        for (int i = 0; i < NIMG; i++) {
            ck_assert_msg(same_sample(&f0, i, &f, i, 1, ENV_Q_NFEAT),
                          "fixed schedule: key %d changed in epoch %u", i, ep);
            redrawn += e.corr[i] != e0.corr[i] || e.sev[i] != e0.sev[i];
        }
        ck_assert_int_gt(redrawn, NIMG / 2);
    }
    ck_assert_uint_eq(env_mix_round(fixed, env_round_train(7)), env_round_train(0));
    ck_assert_uint_eq(env_mix_round(epoch, env_round_train(7)), env_round_train(7));
    /* evaluation rounds are used as given by both, and differ from training */
    ck_assert_uint_eq(env_mix_round(fixed, env_round_eval(1)), env_round_eval(1));
    apply(fixed, &f, keys, NIMG, 1, env_round_eval(0));
    apply(epoch, &e, keys, NIMG, 1, env_round_eval(0));
    int differ = 0;
    for (int i = 0; i < NIMG; i++) {
        ck_assert(same_sample(&f, i, &e, i, 1, ENV_Q_NFEAT));
        differ += !same_sample(&f, i, &f0, i, 1, ENV_Q_NFEAT);
    }
    ck_assert_int_gt(differ, NIMG / 2);
    batch_free(&f0);
    batch_free(&f);
    batch_free(&e0);
    batch_free(&e);
    env_mix_free(fixed);
    env_mix_free(epoch);
}
END_TEST

START_TEST(test_features_modes)
{
    env_mix_cfg m = base_cfg();
    m.features = ENV_FEAT_ORACLE;
    env_mix *mix = make(&m, 1);
    int nf = env_mix_nfeat(mix);
    ck_assert_int_eq(nf, ENV_NCORRUPTION + 1);
    int keys[NIMG];
    for (int i = 0; i < NIMG; i++)
        keys[i] = 7 * i;
    batch b = batch_alloc(NIMG, 1, nf);
    apply(mix, &b, keys, NIMG, 1, env_round_train(2));
    int clean = 0;
    for (int i = 0; i < NIMG; i++) {
        float want[ENV_NCORRUPTION + 1];
        env_oracle(b.corr[i], b.sev[i], want);
        ck_assert_int_eq(memcmp(want, b.feat + (size_t)i * nf, sizeof want), 0);
        clean += b.corr[i] == ENV_CLEAN;
    }
    ck_assert_int_gt(clean, 0);
    env_mix_free(mix);
    /* quality features are those of the degraded image */
    m.features = ENV_FEAT_QUALITY;
    mix = make(&m, 1);
    apply(mix, &b, keys, NIMG, 1, env_round_train(2));
    float *scratch = malloc(env_quality_scratch(H, W) * sizeof(float)), f[ENV_Q_NFEAT];
    for (int i = 0; i < NIMG; i++) {
        env_quality(b.px + (size_t)i * H * W, H, W, 1, scratch, f);
        ck_assert_int_eq(memcmp(f, b.feat + (size_t)i * ENV_Q_NFEAT, sizeof f), 0);
    }
    free(scratch);
    env_mix_free(mix);
    /* none: no features, features may be NULL */
    m.features = ENV_FEAT_NONE;
    mix = make(&m, 1);
    ck_assert_int_eq(env_mix_nfeat(mix), 0);
    qa_err err;
    ck_assert_int_eq(env_mix_apply(mix, b.px, NIMG, keys, 0, b.corr, b.sev, NULL, &err), QA_OK);
    ck_assert_int_eq(env_mix_apply(mix, b.px, 0, keys, 0, b.corr, b.sev, NULL, &err), QA_OK);
    env_mix_free(mix);
    batch_free(&b);
}
END_TEST

/* env_mix_check on m fails with rc, blaming exactly the fields given */
static void expect_check(const env_mix_cfg *m, int c, int rc, int fields)
{
    qa_err err;
    int f = -1;
    ck_assert_int_eq(env_mix_check(m, c, &f, &err), rc);
    ck_assert_int_eq(f, fields);
}

START_TEST(test_errors)
{
    env_mix *mix = (env_mix *)&mix;
    qa_err err;
    env_mix_cfg m = base_cfg();
    m.corr[2] = ENV_SATURATE; /* identity on grey */
    ck_assert_int_eq(env_mix_create(&mix, &m, 0, H, W, 1, &err), QA_ERR_ARG);
    ck_assert_ptr_null(mix);
    ck_assert_ptr_nonnull(strstr(err.msg, "saturate"));
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_CORRUPTIONS);
    expect_check(&m, 0, QA_OK, 0); /* channels unknown: allowed */
    ck_assert_int_eq(env_mix_check(&m, 0, NULL, &err), QA_OK);
    m = base_cfg();
    m.corr[1] = ENV_SNOW;
    ck_assert_int_eq(env_mix_check(&m, 1, NULL, &err), QA_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "snow"));
    expect_check(&m, 1, QA_ERR_UNSUPPORTED, ENV_MIX_CORRUPTIONS);
    m = base_cfg();
    m.corr[1] = ENV_NCORRUPTION;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_CORRUPTIONS);
    m = base_cfg();
    m.corr[3] = m.corr[0];
    ck_assert_int_eq(env_mix_check(&m, 1, NULL, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "twice"));
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_CORRUPTIONS);
    m = base_cfg();
    m.nweight = 2;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_WEIGHTS | ENV_MIX_CORRUPTIONS);
    m = base_cfg();
    m.nweight = m.ncorr;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_WEIGHTS); /* all weights 0 */
    m.weight[0] = -1;
    m.weight[1] = 2;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_WEIGHTS);
    m = base_cfg();
    m.sev[0] = 0;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_SEVERITIES);
    m.sev[0] = 6;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_SEVERITIES);
    m.sev[0] = 2;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_SEVERITIES); /* 2 twice */
    m = base_cfg();
    m.nsev = 0;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_SEVERITIES);
    m = base_cfg();
    m.clean_fraction = 1.5;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_CLEAN);
    m.clean_fraction = NAN;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_CLEAN);
    m = base_cfg();
    m.table = ENV_NTABLE;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_MODES);
    m = base_cfg();
    m.ncorr = 0;
    expect_check(&m, 1, QA_ERR_ARG, ENV_MIX_CORRUPTIONS | ENV_MIX_CLEAN);
    m.clean_fraction = 1; /* nothing to draw, all clean: allowed */
    expect_check(&m, 1, QA_OK, 0);
    m = base_cfg();
    ck_assert_int_eq(env_mix_create(&mix, &m, 0, 4, W, 1, &err), QA_ERR_ARG);
    ck_assert_int_eq(env_mix_create(&mix, &m, 0, H, W, 2, &err), QA_ERR_ARG);
    env_mix_free(NULL);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("env_mix");
    TCase *tc = tcase_create("mix");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_batch_and_threads, 0, 2);
    tcase_add_test(tc, test_keys_and_rounds_differ);
    tcase_add_test(tc, test_frequencies);
    tcase_add_test(tc, test_schedules);
    tcase_add_test(tc, test_features_modes);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}
