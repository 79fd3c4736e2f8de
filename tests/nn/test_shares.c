/* test_shares.c: results are a function of the share count, never of the
 * thread count. The pool runs every share once on at most the slots a job
 * allows, never two at once on one slot; the raw convolution (im2col and
 * Winograd) and dense kernels and whole networks (conv, batchnorm, ReLU,
 * ReLU6, add, pooling, dense) give the same bytes at 1, 2 and 3 threads,
 * and different bytes at another share count (so the comparison can see a
 * split that moves with the threads). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "nn/blas.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/models.h"
#include "nn/par.h"
#include "nn/rng.h"

static const int THREADS[] = {1, 2, 3};
#define NTHREADS 3

static float *randn(size_t n, nn_rng *r)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = nn_rng_normal(r);
    return x;
}

static void set_par(int threads, int shares)
{
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(threads, &err), QA_OK);
    ck_assert_int_eq(nn_par_set_shares(shares, &err), QA_OK);
}

static void reset_par(void)
{
    set_par(1, NN_PAR_DEFAULT_SHARES);
}

START_TEST(test_shares_setting)
{
    qa_err err;
    ck_assert_int_eq(nn_par_shares(), NN_PAR_DEFAULT_SHARES);
    ck_assert_int_eq(nn_par_set_shares(0, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "share count 0"));
    ck_assert_int_eq(nn_par_set_shares(NN_PAR_MAX_SHARES + 1, &err), QA_ERR_ARG);
    ck_assert_int_eq(nn_par_set_shares(NN_PAR_MAX_SHARES, &err), QA_OK);
    ck_assert_int_eq(nn_par_shares(), NN_PAR_MAX_SHARES);
    reset_par();
}
END_TEST

/* 12 shares, some of them slow, on a 3-thread pool limited to `slots`:
 * each share runs once, on a slot below the limit, and no slot runs two
 * shares at once */
typedef struct {
    atomic_int runs[12];
    atomic_int busy[NN_PAR_MAX_THREADS];
    atomic_int bad;
    int slots;
} slot_job;

static void slot_fn(void *arg, int s, int ns)
{
    slot_job *j = arg;
    int slot = nn_par_slot();
    if (ns != 12 || slot < 0 || slot >= j->slots || atomic_exchange(&j->busy[slot], 1)) {
        atomic_fetch_add(&j->bad, 1);
        return;
    }
    if (s % 5 == 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&j->runs[s], 1);
    atomic_store(&j->busy[slot], 0);
}

START_TEST(test_par_slots)
{
    set_par(3, NN_PAR_DEFAULT_SHARES);
    for (int rep = 0; rep < 600; rep++) {
        slot_job j = {.slots = 1 + rep % 3};
        if (j.slots == 3)
            nn_par_run(slot_fn, &j, 12);
        else
            nn_par_run_on(slot_fn, &j, 12, j.slots);
        ck_assert_int_eq(atomic_load(&j.bad), 0);
        for (int s = 0; s < 12; s++)
            ck_assert_msg(atomic_load(&j.runs[s]) == 1, "rep %d: share %d ran %d times", rep, s,
                          atomic_load(&j.runs[s]));
    }
    ck_assert_int_eq(nn_par_slot(), 0);
    reset_par();
}
END_TEST

typedef struct {
    float *y, *dx, *dw, *db;
} conv_out;

static void conv_out_free(conv_out *o)
{
    free(o->y), free(o->dx), free(o->dw), free(o->db);
}

static int conv_out_same(const conv_out *a, const conv_out *b, size_t ny, size_t nx, size_t nw,
                         size_t nb)
{
    return !memcmp(a->y, b->y, ny * sizeof(float)) && !memcmp(a->dx, b->dx, nx * sizeof(float)) &&
           !memcmp(a->dw, b->dw, nw * sizeof(float)) && !memcmp(a->db, b->db, nb * sizeof(float));
}

/* 3x3 on 12x12: Winograd at 8 -> 16 channels, im2col at 3 -> 5; 2x2
 * stride 2; depthwise */
static const struct {
    int c, oc, k, stride, pad, groups;
    nn_conv_algo algo;
} CONVS[] = {
    {8, 16, 3, 1, 1, 1, NN_CONV_WINOGRAD},
    {3, 5, 3, 1, 1, 1, NN_CONV_IM2COL},
    {6, 4, 2, 2, 0, 1, NN_CONV_IM2COL},
    {6, 6, 3, 1, 1, 6, NN_CONV_IM2COL},
};

/* forward and backward (with bias, accumulating into dx, dw, db) of 37
 * samples at the given threads and shares */
static conv_out conv_run(const nn_conv_geom *g, int threads, int shares, uint64_t seed)
{
    set_par(threads, shares);
    const int n = 37;
    nn_rng r;
    nn_rng_init(&r, seed, NN_STREAM_TEST, 30, 0);
    size_t nx = (size_t)n * g->c * g->h * g->w, ny = (size_t)n * g->oc * g->oh * g->ow;
    size_t nw = (size_t)g->oc * (g->c / g->groups) * g->kh * g->kw;
    float *x = randn(nx, &r), *w = randn(nw, &r), *b = randn((size_t)g->oc, &r), *dy = randn(ny, &r);
    conv_out o = {randn(ny, &r), randn(nx, &r), randn(nw, &r), randn((size_t)g->oc, &r)};
    size_t sn = nn_conv2d_scratch_floats(g, threads, shares);
    float *scratch = malloc(sn * sizeof *scratch);
    nn_conv2d_forward_raw(g, x, w, b, o.y, NULL, n, scratch, sn);
    nn_conv2d_backward_raw(g, x, w, dy, o.dx, 1, o.dw, o.db, NULL, n, scratch, sn);
    free(x), free(w), free(b), free(dy), free(scratch);
    return o;
}

START_TEST(test_conv_shares)
{
    nn_conv_geom g;
    qa_err err;
    nn_conv2d_cfg cfg = nn_conv2d_cfg_make("c", CONVS[_i].oc, CONVS[_i].k, CONVS[_i].stride,
                                           CONVS[_i].pad);
    cfg.groups = CONVS[_i].groups;
    ck_assert_int_eq(nn_conv_geom_init(&g, CONVS[_i].c, 12, 12, &cfg, &err), QA_OK);
    ck_assert_int_eq(nn_conv2d_algo(&g), CONVS[_i].algo);
    size_t nx = 37 * (size_t)g.c * 144, ny = 37 * (size_t)g.oc * g.oh * g.ow;
    size_t nw = (size_t)g.oc * (g.c / g.groups) * g.kh * g.kw;
    conv_out ref = conv_run(&g, 1, NN_PAR_DEFAULT_SHARES, 40 + (uint64_t)_i);
    for (int t = 1; t < NTHREADS; t++) {
        conv_out o = conv_run(&g, THREADS[t], NN_PAR_DEFAULT_SHARES, 40 + (uint64_t)_i);
        ck_assert_msg(conv_out_same(&o, &ref, ny, nx, nw, (size_t)g.oc),
                      "conv case %d: %d threads differ from 1", _i, THREADS[t]);
        conv_out_free(&o);
    }
    conv_out one = conv_run(&g, 2, 1, 40 + (uint64_t)_i);
    ck_assert_msg(memcmp(one.dw, ref.dw, nw * sizeof(float)) != 0,
                  "conv case %d: dw does not depend on the share count", _i);
    conv_out_free(&one);
    conv_out_free(&ref);
    reset_par();
}
END_TEST

/* 128 x 96 -> 40: over the pool's threshold, so split into shares (at 48
 * outputs, 6 per share, OpenBLAS happens to round alike at 1 and 8 shares) */
enum { DN = 128, DIN = 96, DOUT = 40 };

static conv_out dense_run(int threads, int shares)
{
    set_par(threads, shares);
    nn_rng r;
    nn_rng_init(&r, 7, NN_STREAM_TEST, 31, 0);
    float *x = randn(DN * DIN, &r), *w = randn(DOUT * DIN, &r), *b = randn(DOUT, &r);
    float *dy = randn(DN * DOUT, &r);
    conv_out o = {randn(DN * DOUT, &r), randn(DN * DIN, &r), randn(DOUT * DIN, &r), randn(DOUT, &r)};
    nn_dense_forward_raw(DIN, DOUT, x, w, b, o.y, NULL, DN, NULL);
    nn_dense_backward_raw(DIN, DOUT, x, w, dy, o.dx, 1, o.dw, o.db, NULL, DN, NULL);
    free(x), free(w), free(b), free(dy);
    return o;
}

/* With OpenBLAS a row's rounding depends on the height of the call it is
 * in, so the split into shares shows (and this test can fail); qadapt's
 * kernels sum every element in one chain, so with them it does not. */
START_TEST(test_dense_shares)
{
    static const char *const gemms[] = {"openblas", "auto"};
    qa_err err;
    for (int gi = 0; gi < 2; gi++) {
        ck_assert_int_eq(nn_blas_select(gemms[gi], &err), QA_OK);
        conv_out ref = dense_run(1, NN_PAR_DEFAULT_SHARES);
        for (int t = 1; t < NTHREADS; t++) {
            conv_out o = dense_run(THREADS[t], NN_PAR_DEFAULT_SHARES);
            ck_assert_msg(conv_out_same(&o, &ref, DN * DOUT, DN * DIN, DOUT * DIN, DOUT),
                          "dense, %s: %d threads differ from 1", gemms[gi], THREADS[t]);
            conv_out_free(&o);
        }
        conv_out one = dense_run(2, 1);
        int same = conv_out_same(&one, &ref, DN * DOUT, DN * DIN, DOUT * DIN, DOUT);
        ck_assert_msg(gi == 0 ? !same : same, "dense, %s: results %s on the share count",
                      gemms[gi], gi == 0 ? "do not depend" : "depend");
        conv_out_free(&one);
        conv_out_free(&ref);
    }
}
END_TEST

/* A training forward and backward of a model on 20 random 16x16 images:
 * the output, every gradient and the running statistics (malloc'd copy). */
static float *model_run(const char *arch, int threads, int shares, size_t *n)
{
    qa_err err;
    set_par(threads, shares);
    nn_net *net;
    ck_assert_msg(nn_model_build(&net, arch, 20, 1, 16, 16, 10, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_net_finalize(net, 3, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 8, NN_STREAM_TEST, 32, 0);
    float *in = nn_net_input(net), *dout = nn_net_output_grad(net);
    for (int i = 0; i < 20 * 256; i++)
        in[i] = nn_rng_normal(&r);
    nn_net_zero_grad(net);
    nn_net_forward(net, 20, 1);
    for (int i = 0; i < 20 * 10; i++)
        dout[i] = nn_rng_normal(&r);
    nn_net_backward(net, 20);
    const nn_params *p = &net->params;
    *n = 200 + p->n + p->nbuf;
    float *v = malloc(*n * sizeof *v);
    memcpy(v, nn_net_output(net)->data, 200 * sizeof *v);
    memcpy(v + 200, p->g, p->n * sizeof *v);
    memcpy(v + 200 + p->n, p->buf, p->nbuf * sizeof *v);
    nn_net_free(net);
    return v;
}

static const char *const ARCHS[] = {"small", "resnet20", "mobilenetv2_tiny"};

START_TEST(test_model_shares)
{
    size_t n, m;
    float *ref = model_run(ARCHS[_i], 1, NN_PAR_DEFAULT_SHARES, &n);
    for (int t = 1; t < NTHREADS; t++) {
        float *v = model_run(ARCHS[_i], THREADS[t], NN_PAR_DEFAULT_SHARES, &m);
        ck_assert_int_eq(m, n);
        size_t i = 0;
        while (i < n && !memcmp(&v[i], &ref[i], sizeof *v))
            i++;
        ck_assert_msg(i == n, "%s: value %zu of %zu differs at %d threads: %.9g vs %.9g",
                      ARCHS[_i], i, n, THREADS[t], v[i < n ? i : 0], ref[i < n ? i : 0]);
        free(v);
    }
    float *one = model_run(ARCHS[_i], 2, 1, &m);
    ck_assert_msg(memcmp(one, ref, n * sizeof *one) != 0,
                  "%s: nothing depends on the share count", ARCHS[_i]);
    free(one);
    free(ref);
    reset_par();
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_shares");
    TCase *tc = tcase_create("shares");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_shares_setting);
    tcase_add_test(tc, test_par_slots);
    tcase_add_loop_test(tc, test_conv_shares, 0, (int)(sizeof CONVS / sizeof CONVS[0]));
    tcase_add_test(tc, test_dense_shares);
    tcase_add_loop_test(tc, test_model_shares, 0, (int)(sizeof ARCHS / sizeof ARCHS[0]));
    suite_add_tcase(s, tc);
    return s;
}
