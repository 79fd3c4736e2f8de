/* test_engine.c: the integer engine against the fake-quant evaluation of
 * the same trained-looking net (random weights, batchnorm statistics and
 * learned steps), small, resnet20 (residual adds, FIX tensors, QUANT and
 * GAP ops) and mobilenetv2_tiny (depthwise convolutions, ReLU6), at W8A8,
 * W4A4, W2A2 and with a different plan per image
 * (grouping), for every kernel variant: predictions equal, logits equal up
 * to the float rounding of the fake-quant GEMMs (and the rare code that
 * float rounding moves across a half-integer, counted and bounded); also
 * other quantizers (DoReFa/PACT, min-max per channel) and colour input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "data/loader.h"
#include "deploy/engine.h"
#include "deploy/lower.h"
#include "env/quality.h"
#include "nn/batchnorm.h"
#include "nn/models.h"

#define NB 24
#define SIDE 28

typedef struct {
    nn_net *net;
    q_net *qn;
    int c;                            /* image channels */
    uint8_t px[NB * SIDE * SIDE * 3];
} fixture;

/* quantizer kinds and granularity of a fixture (LSQ per tensor by default) */
typedef struct {
    int w_kind, a_kind, per_channel, channels;
    int input; /* q_input, 0: unsigned */
} fx_kind;

static const fx_kind LSQ = {Q_KIND_LSQ, Q_KIND_LSQ, 0, 1, 0};

static const float ZERO[3] = {0, 0, 0}, ONE[3] = {1, 1, 1};

/* batchnorm statistics and affine parameters away from the identity */
static void randomize_bn(nn_net *net, nn_rng *r)
{
    for (int i = 0; i < net->nlayers; i++) {
        if (strcmp(net->layers[i]->ops->type, "batchnorm2d") != 0)
            continue;
        const nn_batchnorm2d *bn = (const nn_batchnorm2d *)net->layers[i];
        float *g = nn_params_value(&net->params, bn->gamma_view);
        float *b = nn_params_value(&net->params, bn->beta_view);
        float *m = nn_params_value(&net->params, bn->mean_view);
        float *v = nn_params_value(&net->params, bn->var_view);
        for (int c = 0; c < bn->c; c++) {
            g[c] = 0.5f + nn_rng_uniform(r);
            b[c] = 0.2f * nn_rng_normal(r);
            m[c] = 0.1f * nn_rng_normal(r);
            v[c] = 0.05f + 0.2f * nn_rng_uniform(r);
        }
    }
}

/* smooth random images: blobs on a background, every byte value reached */
static void make_images(uint8_t *px, int nimg, nn_rng *r)
{
    for (int i = 0; i < nimg; i++) {
        float cx = 6 + 16 * nn_rng_uniform(r), cy = 6 + 16 * nn_rng_uniform(r);
        float rad = 3 + 8 * nn_rng_uniform(r), amp = 255 * nn_rng_uniform(r);
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                float d = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (rad * rad);
                float v = amp * expf(-d) + 20.0f * nn_rng_normal(r);
                px[(i * SIDE + y) * SIDE + x] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
            }
    }
}

static void make_fixture(fixture *f, const char *arch, int seed, fx_kind kind)
{
    qa_err err;
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.ncand = 3;
    cfg.cand[0] = 2, cfg.cand[1] = 4, cfg.cand[2] = kind.w_kind == Q_KIND_DOREFA ? 6 : 8;
    cfg.input_domain = kind.input ? kind.input : Q_INPUT_UNSIGNED;
    cfg.w_kind = kind.w_kind;
    cfg.a_kind = kind.a_kind;
    cfg.per_channel = kind.per_channel;
    cfg.pact_init = 3.0f;
    cfg.first_bits = cfg.last_bits = cfg.cand[2];
    f->c = kind.channels;
    ck_assert_int_eq(nn_model_build(&f->net, arch, NB, f->c, SIDE, SIDE, 10, &err), QA_OK);
    ck_assert_msg(q_net_wrap(&f->qn, f->net, &cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_net_finalize(f->net, (uint64_t)seed, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, (uint64_t)seed, NN_STREAM_TEST, 1, 0);
    make_images(f->px, NB * f->c, &r); /* a colour image: three grey ones interleaved */
    data_images_to_float(f->px, NB, SIDE, SIDE, f->c, ZERO, ONE, nn_net_input(f->net));
    for (int k = 0; k < 3; k++) { /* LSQ steps from a first batch at every width */
        ck_assert_int_eq(q_plan_set_hard(f->qn->plan, NB, cfg.cand[k], cfg.cand[k], NULL, NULL,
                                         &err), QA_OK);
        nn_net_forward(f->net, NB, 1);
    }
    randomize_bn(f->net, &r);
}

static void free_fixture(fixture *f)
{
    q_net_free(f->qn);
    nn_net_free(f->net);
}

static void lower(const fixture *f, const char *arch, dep_model *m)
{
    int fw[Q_MAX_LAYERS], fa[Q_MAX_LAYERS];
    for (int l = 0; l < f->qn->plan->nlayers; l++) /* the widest candidate */
        fw[l] = fa[l] = f->qn->plan->cand[f->qn->plan->ncand - 1];
    dep_lower_src s = {.net = f->net, .qn = f->qn, .arch = arch, .nclass = 10, .mean = ZERO,
                       .std = ONE, .fixed_w = fw, .fixed_a = fa};
    qa_err err;
    ck_assert_msg(dep_lower(m, &s, &err) == QA_OK, "%s", err.msg);
}

static int argmax(const float *v, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        k = v[i] > v[k] ? i : k;
    return k;
}

/* top-1 minus top-2 logit */
static float margin(const float *v, int n)
{
    int k = argmax(v, n);
    float second = -INFINITY;
    for (int i = 0; i < n; i++)
        second = i != k && v[i] > second ? v[i] : second;
    return v[k] - second;
}

/* fake-quant logits of the fixture's images under plan wb (NB, L) */
static void fake_logits(fixture *f, const uint8_t *wb, float *out)
{
    q_plan *p = f->qn->plan;
    memcpy(p->wbits, wb, (size_t)NB * (size_t)p->nlayers);
    p->mode = Q_PLAN_HARD;
    data_images_to_float(f->px, NB, SIDE, SIDE, f->c, ZERO, ONE, nn_net_input(f->net));
    nn_net_forward(f->net, NB, 0);
    memcpy(out, nn_net_output(f->net)->data, (size_t)NB * 10 * sizeof *out);
}

/* engine vs fake quantization on plan wb, every kernel variant: logits
 * within 5% (a few codes moved by a rounding tie), the class the same
 * unless the top two logits are closer than that error; returns the
 * images whose logits differ beyond float rounding (some code moved) */
static int compare(fixture *f, const char *arch, const uint8_t *wb)
{
    float ref[NB * 10], got[NB * 10];
    fake_logits(f, wb, ref);
    dep_model m;
    lower(f, arch, &m);
    uint8_t *buf;
    size_t n;
    qa_err err;
    ck_assert_int_eq(dep_model_encode(&m, &buf, &n, &err), QA_OK);
    dep_model_free(&m);
    int off = 0;
    for (int v = 0; dep_kern_table[v]; v++) {
        if (!dep_kern_table[v]->supported())
            continue;
        dep_engine *e;
        dep_engine_opts o = {dep_kern_table[v]->name};
        ck_assert_int_eq(dep_model_decode(&m, buf, n, "bytes", &err), QA_OK);
        ck_assert_msg(dep_engine_create(&e, &m, &o, &err) == QA_OK, "%s", err.msg);
        ck_assert_msg(dep_engine_predict_plan(e, f->px, NB, wb, wb, got, &err) == QA_OK, "%s",
                      err.msg);
        for (int i = 0; i < NB; i++) {
            float scale = 0.0f, d = 0.0f;
            for (int k = 0; k < 10; k++) {
                scale = fmaxf(scale, fabsf(ref[i * 10 + k]));
                d = fmaxf(d, fabsf(ref[i * 10 + k] - got[i * 10 + k]));
            }
            off += v == 0 && d > 1e-4f * (1.0f + scale);
            ck_assert_msg(d <= 5e-2f * (1.0f + scale), "%s %s image %d: logits off by %g "
                          "(scale %g)", arch, dep_kern_table[v]->name, i, (double)d,
                          (double)scale);
            int cls = argmax(ref + i * 10, 10);
            ck_assert_msg(cls == argmax(got + i * 10, 10) || margin(ref + i * 10, 10) <= 2 * d,
                          "%s %s image %d: class %d, fake quantization %d (margin %g, logit "
                          "error %g)", arch, dep_kern_table[v]->name, i, argmax(got + i * 10, 10),
                          cls, (double)margin(ref + i * 10, 10), (double)d);
        }
        dep_engine_free(e);
    }
    free(buf);
    return off;
}

/* at most max_off images with a moved code */
static void check_uniform(const char *arch, int bits, int max_off, fx_kind kind)
{
    fixture f;
    make_fixture(&f, arch, 3 + bits, kind);
    uint8_t wb[NB * Q_MAX_LAYERS];
    memset(wb, bits, sizeof wb);
    int off = compare(&f, arch, wb);
    ck_assert_msg(off <= max_off, "%s W%dA%d: %d of %d images off by more than rounding", arch,
                  bits, bits, off, NB);
    free_fixture(&f);
}

START_TEST(test_small_uniform)
{
    check_uniform("small", 8, NB / 8, LSQ);
    check_uniform("small", 4, NB / 8, LSQ);
    check_uniform("small", 2, NB / 8, LSQ);
}
END_TEST

START_TEST(test_resnet20_uniform)
{
    /* 150k 8-bit codes an image: a few land within float rounding of a tie */
    check_uniform("resnet20", 8, NB, LSQ);
    check_uniform("resnet20", 4, NB / 4, LSQ);
    check_uniform("resnet20", 2, NB / 8, LSQ);
}
END_TEST

/* depthwise convolutions (mobilenetv2_tiny: ReLU6, 1x1 expand and project,
 * residual adds between blocks) */
START_TEST(test_mobilenet_depthwise)
{
    check_uniform("mobilenetv2_tiny", 8, NB / 2, LSQ);
    check_uniform("mobilenetv2_tiny", 4, NB / 4, LSQ);
    check_uniform("mobilenetv2_tiny", 2, NB / 8, LSQ);
}
END_TEST

/* a different width per image and layer: the engine groups them */
START_TEST(test_mixed_plans)
{
    const char *arch[2] = {"small", "resnet20"};
    for (int a = 0; a < 2; a++) {
        fixture f;
        make_fixture(&f, arch[a], 11 + a, LSQ);
        nn_rng r;
        nn_rng_init(&r, 5, NN_STREAM_TEST, 2, 0);
        uint8_t wb[NB * Q_MAX_LAYERS];
        static const uint8_t c[3] = {2, 4, 8};
        for (int i = 0; i < NB * f.qn->plan->nlayers; i++)
            wb[i] = c[nn_rng_u32(&r) % 3];
        int off = compare(&f, arch[a], wb);
        ck_assert_msg(off <= NB / 4, "%s mixed: %d images off", arch[a], off);
        free_fixture(&f);
    }
}
END_TEST

/* DoReFa weights (odd codes, packed one bit wider) with PACT activations,
 * min-max per-channel weights and activations, and colour input (the
 * first layer's taps gathered into patches) */
START_TEST(test_other_quantizers)
{
    const fx_kind dorefa = {Q_KIND_DOREFA, Q_KIND_PACT, 1, 1, 0};
    const fx_kind minmax = {Q_KIND_MINMAX, Q_KIND_MINMAX, 1, 1, 0};
    const fx_kind rgb = {Q_KIND_LSQ, Q_KIND_LSQ, 0, 3, 0};
    const fx_kind raw = {Q_KIND_LSQ, Q_KIND_LSQ, 0, 1, Q_INPUT_NONE};
    check_uniform("small", 6, NB / 8, dorefa);
    check_uniform("small", 2, NB / 8, dorefa);
    check_uniform("small", 8, NB / 8, minmax);
    check_uniform("small", 4, NB / 8, rgb);
    check_uniform("small", 4, NB / 8, raw); /* quant.input = none: the pixels are the codes */
}
END_TEST

/* DoReFa's 8-bit weight codes are odd integers up to 255: refused */
START_TEST(test_dorefa8_refused)
{
    fixture f;
    const fx_kind dorefa = {Q_KIND_DOREFA, Q_KIND_PACT, 1, 1, 0};
    make_fixture(&f, "small", 5, dorefa);
    f.qn->layers[0]->wbits[0] = 8; /* as if pinned at 8 bits */
    f.qn->layers[0]->wq[0].r = q_range_symmetric(8);
    dep_model m;
    int fw[Q_MAX_LAYERS] = {6, 6}, fa[Q_MAX_LAYERS] = {6, 6};
    dep_lower_src s = {.net = f.net, .qn = f.qn, .arch = "small", .nclass = 10, .mean = ZERO,
                       .std = ONE, .fixed_w = fw, .fixed_a = fa};
    qa_err err;
    ck_assert_int_eq(dep_lower(&m, &s, &err), QA_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.msg, "conv1") && strstr(err.msg, "beyond int8"), "%s", err.msg);
    free_fixture(&f);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("deploy_engine");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_small_uniform);
    tcase_add_test(tc, test_resnet20_uniform);
    tcase_add_test(tc, test_mobilenet_depthwise);
    tcase_add_test(tc, test_mixed_plans);
    tcase_add_test(tc, test_other_quantizers);
    tcase_add_test(tc, test_dorefa8_refused);
    suite_add_tcase(s, tc);
    return s;
}
