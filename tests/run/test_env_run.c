/* test_env_run.c: [env] inside a run. The schema binds and checks the
 * section; exp_batch_prepare degrades and featurises training batches with
 * the epoch as round and test batches with the test mix (or only
 * featurises them when test = clean), and the network input is the
 * degraded image; a whole run on configs/smoke.ini with the environment
 * completes and repeats bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "experiments/cli/schema.h"
#include "experiments/methods/registry.h"
#include "experiments/run/run.h"
#include "experiments/run/run_env.h"
#include "nn/models.h"

enum { N = 40, S = 28 };

static exp_config *load(char **sets, int nsets, int want)
{
    exp_config *c = malloc(sizeof *c);
    ck_assert_ptr_nonnull(c);
    qa_err err = {0};
    int rc = exp_config_load(c, NULL, sets, nsets, &err);
    ck_assert_msg(rc == want, "config: %d (%s), expected %d", rc, err.msg, want);
    return c;
}

START_TEST(test_schema)
{
    char *def[] = {"env.enabled=true"};
    exp_config *c = load(def, 1, QA_OK);
    env_mix_cfg m;
    exp_env_mix_cfg(&c->env, 0, &m);
    ck_assert_int_eq(m.ncorr, 4);
    ck_assert_int_eq(m.corr[2], ENV_JPEG_COMPRESSION);
    ck_assert_int_eq(m.nsev, 5);
    ck_assert_int_eq(m.features, ENV_FEAT_QUALITY);
    ck_assert_int_eq(m.schedule, ENV_SCHEDULE_EPOCH);
    free(c);
    char *test_own[] = {"env.corruptions=gaussian_noise,contrast", "env.weights=3,1",
                        "env.test_corruptions=pixelate,motion_blur,fog", "env.table=tiny"};
    c = load(test_own, 4, QA_OK);
    exp_env_mix_cfg(&c->env, 0, &m);
    ck_assert_int_eq(m.nweight, 2);
    ck_assert_double_eq(m.weight[0], 3);
    ck_assert_int_eq(m.table, ENV_TABLE_TINY);
    exp_env_mix_cfg(&c->env, 1, &m);
    ck_assert_int_eq(m.ncorr, 3);
    ck_assert_int_eq(m.corr[0], ENV_PIXELATE);
    ck_assert_int_eq(m.nweight, 0); /* the test mix weighs its corruptions equally */
    free(c);
    char *bad[][1] = {{"env.weights=1,2"},          {"env.corruptions=snow"},
                      {"env.corruptions=blur"},     {"env.severities=0,1"},
                      {"env.severities=2,2"},       {"env.clean_fraction=1.5"},
                      {"env.features=psnr"},        {"env.schedule=daily"},
                      {"env.test_corruptions=frost"}};
    for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++)
        free(load(bad[i], 1, QA_ERR_CONFIG));
}
END_TEST

/* The [env] rules name the offending keys with file:line, --set or the
 * default, like every other config error. */
static void expect_env_error(const char *path, char **sets, int nsets, const char *frag1,
                             const char *frag2)
{
    exp_config *c = malloc(sizeof *c);
    ck_assert_ptr_nonnull(c);
    qa_err err = {0};
    ck_assert_int_eq(exp_config_load(c, path, sets, nsets, &err), QA_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, frag1) && strstr(err.msg, frag2), "%s", err.msg);
    free(c);
}

START_TEST(test_env_errors_where)
{
    char dir[256], path[300];
    qa_test_tmpdir(dir, sizeof dir, "env_where");
    snprintf(path, sizeof path, "%s/e.ini", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("[env]\nenabled = true\ncorruptions = contrast, fog\nweights = 1, 2, 3\n"
          "severities = 2, 4, 2\ntest_corruptions = pixelate, pixelate\n", f);
    fclose(f);
    char where[400];
    snprintf(where, sizeof where, "env.weights (%s:4)", path);
    expect_env_error(path, NULL, 0, where, "3 weights for 2 corruptions");
    snprintf(where, sizeof where, "env.corruptions (%s:3)", path);
    expect_env_error(path, NULL, 0, where, "3 weights for 2 corruptions");
    char *w2[] = {"env.weights=1,2"};
    snprintf(where, sizeof where, "env.severities (%s:5)", path);
    expect_env_error(path, w2, 1, where, "severity 2 is listed twice");
    char *s3[] = {"env.weights=1,2", "env.severities=1,3"};
    snprintf(where, sizeof where, "env.test_corruptions (%s:6)", path);
    expect_env_error(path, s3, 2, where, "pixelate is listed twice");
    /* --set and the default: the weights of the default corruption list */
    char *w3[] = {"env.weights=1,2,3"};
    expect_env_error(NULL, w3, 1, "env.weights (--set env.weights=1,2,3)",
                     "env.corruptions (the default)");
    char *c0[] = {"env.corruptions=", "env.clean_fraction=0.5"};
    expect_env_error(NULL, c0, 2, "env.corruptions (--set env.corruptions=)",
                     "env.clean_fraction (--set env.clean_fraction=0.5)");
    qa_test_rmtree(dir);
}
END_TEST

/* A run with synthetic data, the small net and the environment opened, as
 * run.c sets it up, without a run file. */
typedef struct {
    exp_run r;
    exp_config *c;
} fake_run;

static void fake_open(fake_run *f, char **sets, int nsets)
{
    memset(f, 0, sizeof *f);
    f->c = load(sets, nsets, QA_OK);
    exp_run *r = &f->r;
    r->cfg = f->c;
    r->seed = 11;
    qa_err err = {0};
    ck_assert_int_eq(data_set_alloc(&r->train_set, N, S, S, 1, 10, &err), QA_OK);
    ck_assert_int_eq(data_set_alloc(&r->test_set, N, S, S, 1, 10, &err), QA_OK);
    for (int i = 0; i < N * S * S; i++) { /* a dark background with mid-tone shapes */
        int x = i % S, y = (i / S) % S;
        r->train_set.pixels[i] = (uint8_t)((x - 14) * (x - 14) + (y - 14) * (y - 14) < 80 ? 60 + (i * 7) % 150 : 0);
        r->test_set.pixels[i] = r->train_set.pixels[i] ^ 0x0f;
    }
    for (int i = 0; i < N; i++)
        r->train_set.labels[i] = r->test_set.labels[i] = (uint8_t)(i % 10);
    r->mean[0] = 0;
    r->std[0] = 1;
    ck_assert_msg(exp_env_open(r, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_model_build(&r->net, "small", N, 1, S, S, 10, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(r->net, 1, &err), QA_OK);
    ck_assert_int_eq(exp_batch_alloc(&r->batch, N, S, S, 1, exp_env_nfeat(r), &err), QA_OK);
}

static void fake_close(fake_run *f)
{
    exp_env_close(&f->r);
    exp_batch_free(&f->r.batch);
    nn_net_free(f->r.net);
    data_set_free(&f->r.train_set);
    data_set_free(&f->r.test_set);
    free(f->c);
}

/* What the mix makes of images idx of ds in round, straight from env/. */
static void expected(const fake_run *f, int test, const data_set *ds, const int *idx, uint32_t round,
                     uint8_t *px, int *corr, int *sev, float *feat)
{
    env_mix_cfg m;
    exp_env_mix_cfg(&f->c->env, test, &m);
    if (test && f->c->env.test == EXP_ENV_TEST_CLEAN) {
        m.ncorr = 0;
        m.clean_fraction = 1;
    }
    env_mix *mix;
    qa_err err;
    ck_assert_int_eq(env_mix_create(&mix, &m, f->r.seed, S, S, 1, &err), QA_OK);
    for (int i = 0; i < N; i++)
        memcpy(px + (size_t)i * S * S, data_set_image(ds, idx[i]), S * S);
    ck_assert_int_eq(env_mix_apply(mix, px, N, idx, round, corr, sev, feat, &err), QA_OK);
    env_mix_free(mix);
}

START_TEST(test_prepare)
{
    char *sets[] = {"env.enabled=true", "env.features=oracle", "env.clean_fraction=0.25"};
    fake_run f;
    fake_open(&f, sets, 3);
    exp_run *r = &f.r;
    ck_assert_int_eq(r->batch.nfeat, ENV_NCORRUPTION + 1);
    int idx[N];
    for (int i = 0; i < N; i++)
        idx[i] = (i * 13) % N;
    uint8_t px[N * S * S];
    int corr[N], sev[N];
    float feat[N * (ENV_NCORRUPTION + 1)];
    qa_err err;
    for (int test = 0; test < 2; test++) {
        r->epoch = 3;
        const data_set *ds = test ? &r->test_set : &r->train_set;
        ck_assert_int_eq(exp_batch_prepare(r, &r->batch, ds, idx, N, !test, &err), QA_OK);
        expected(&f, test, ds, idx, test ? env_round_eval(0) : env_round_train(3), px, corr, sev,
                 feat);
        ck_assert_int_eq(memcmp(px, r->batch.px, sizeof px), 0);
        ck_assert_int_eq(memcmp(corr, r->batch.corruption, sizeof corr), 0);
        ck_assert_int_eq(memcmp(sev, r->batch.severity, sizeof sev), 0);
        ck_assert_int_eq(memcmp(feat, r->batch.features, sizeof feat), 0);
        int corrupted = 0;
        for (int i = 0; i < N; i++)
            corrupted += corr[i] != ENV_CLEAN;
        ck_assert_int_gt(corrupted, N / 2);
        /* the network sees the degraded pixels */
        const float *in = nn_net_input(r->net);
        for (int i = 0; i < N * S * S; i++)
            ck_assert_float_eq_tol(in[i], px[i] / 255.0f, 1e-6f);
    }
    /* validation: a non-training batch of the training set, evaluation round 1 */
    ck_assert_int_eq(exp_batch_prepare(r, &r->batch, &r->train_set, idx, N, 0, &err), QA_OK);
    expected(&f, 0, &r->train_set, idx, env_round_eval(1), px, corr, sev, feat);
    ck_assert_int_eq(memcmp(px, r->batch.px, sizeof px), 0);
    fake_close(&f);
}
END_TEST

START_TEST(test_clean_test_set)
{
    char *sets[] = {"env.enabled=true", "env.test=clean"};
    fake_run f;
    fake_open(&f, sets, 2);
    exp_run *r = &f.r;
    int idx[N];
    for (int i = 0; i < N; i++)
        idx[i] = i;
    qa_err err;
    ck_assert_int_eq(exp_batch_prepare(r, &r->batch, &r->test_set, idx, N, 0, &err), QA_OK);
    ck_assert_int_eq(memcmp(r->batch.px, r->test_set.pixels, (size_t)N * S * S), 0);
    float *scratch = malloc(env_quality_scratch(S, S) * sizeof(float)), f0[ENV_Q_NFEAT];
    ck_assert_ptr_nonnull(scratch);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(r->batch.corruption[i], ENV_CLEAN);
        ck_assert_int_eq(r->batch.severity[i], 0);
        env_quality(data_set_image(&r->test_set, i), S, S, 1, scratch, f0);
        ck_assert_int_eq(memcmp(f0, r->batch.features + (size_t)i * ENV_Q_NFEAT, sizeof f0), 0);
    }
    free(scratch);
    fake_close(&f);
    /* disabled: clean, no features */
    char *off[] = {"env.enabled=false"};
    fake_open(&f, off, 1);
    ck_assert_int_eq(exp_env_nfeat(&f.r), 0);
    ck_assert_ptr_null(f.r.batch.features);
    ck_assert_int_eq(exp_batch_prepare(&f.r, &f.r.batch, &f.r.train_set, idx, N, 1, &err), QA_OK);
    ck_assert_int_eq(memcmp(f.r.batch.px, f.r.train_set.pixels, (size_t)N * S * S), 0);
    fake_close(&f);
}
END_TEST

static int run_smoke(const char *dir, char **extra, int nextra, exp_run_result *res, qa_err *err)
{
    char cfgpath[1024];
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/smoke.ini", QA_SOURCE_ROOT);
    char *sets[16] = {"env.enabled=true", "data.limit=1200", "data.test_limit=400",
                      "train.epochs=2", "experiment.threads=2"};
    int n = 5;
    for (int i = 0; i < nextra; i++)
        sets[n++] = extra[i];
    exp_config *c = malloc(sizeof *c);
    int rc = exp_config_load(c, cfgpath, sets, n, err);
    if (rc == QA_OK) {
        exp_run_opts o = {.out_dir = dir, .command = "test_env_run"};
        rc = exp_run_main(c, &o, res, err);
    }
    free(c);
    return rc;
}

START_TEST(test_run)
{
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0 &&
        qa_test_skip_data("test_run", "Fashion-MNIST is not installed"))
        return;
    char dir[64];
    qa_test_tmpdir(dir, sizeof dir, "env");
    exp_run_result a, b;
    qa_err err = {0};
    ck_assert_msg(run_smoke(dir, NULL, 0, &a, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(a.status, EXP_RUN_COMPLETE);
    ck_assert(isfinite(a.test_loss));
    ck_assert_msg(run_smoke(dir, NULL, 0, &b, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(a.test_loss == b.test_loss && a.test_acc == b.test_acc,
                  "two runs of one seed differ: %.9g vs %.9g", a.test_loss, b.test_loss);
    /* a fixed schedule is another data stream, so another result */
    char *fixed[] = {"env.schedule=fixed"};
    ck_assert_msg(run_smoke(dir, fixed, 1, &b, &err) == QA_OK, "%s", err.msg);
    ck_assert(a.test_loss != b.test_loss);
    /* saturate on grey images: the run fails naming it */
    char *sat[] = {"env.corruptions=saturate,contrast"};
    ck_assert_int_eq(run_smoke(dir, sat, 1, &b, &err), QA_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, "env.corruptions (--set env.corruptions=saturate,contrast): "
                                  "saturate is the identity on 1-channel images"),
                  "%s", err.msg);
    qa_test_rmtree(dir);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("env_run");
    TCase *tc = tcase_create("env_run");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_schema);
    tcase_add_test(tc, test_env_errors_where);
    tcase_add_test(tc, test_prepare);
    tcase_add_test(tc, test_clean_test_set);
    tcase_add_test(tc, test_run);
    suite_add_tcase(s, tc);
    return s;
}
