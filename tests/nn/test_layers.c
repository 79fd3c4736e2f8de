/* test_layers.c: finite-difference gradient checks of every layer on
 * random shapes (input and parameter gradients, through nn/gradcheck), the
 * losses, a residual block, and the constructors' error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/act.h"
#include "nn/add.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/gradcheck.h"
#include "nn/loss.h"
#include "nn/models.h"
#include "nn/par.h"
#include "nn/pool.h"
#include "nn/rng.h"

/* random integer in [lo, hi] */
static int rand_in(nn_rng *r, int lo, int hi)
{
    return lo + (int)nn_rng_below(r, (uint32_t)(hi - lo + 1));
}

static void fill_normal(float *x, size_t n, nn_rng *r, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * nn_rng_normal(r);
}

/* values at least `gap` apart (a shuffled ladder), so a finite-difference
 * step never reorders them: max pooling has no ties to cross */
static void fill_ladder(float *x, size_t n, nn_rng *r, float gap)
{
    int *perm = malloc(n * sizeof *perm);
    nn_rng_permutation(r, perm, (int)n);
    for (size_t i = 0; i < n; i++)
        x[i] = gap * ((float)perm[i] - (float)n / 2);
    free(perm);
}

static void check_net(nn_net *net, int n, int train, const nn_gradcheck_cfg *cfg, const char *what)
{
    qa_err err;
    nn_gradcheck_result res = {0};
    int rc = nn_gradcheck_net(net, n, train, cfg, &res, &err);
    ck_assert_msg(rc == QA_OK, "%s: %s", what, err.msg);
    ck_assert_int_gt(res.nchecked, 0);
}

static nn_net *new_net(int n, int c, int h, int w)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, n, c, h, w, &err), QA_OK);
    net->input_grad = 1;
    return net;
}

static void finalize(nn_net *net)
{
    qa_err err;
    ck_assert_msg(nn_net_finalize(net, 11, &err) == QA_OK, "%s", err.msg);
}

/* conv2d over random kernels, strides, paddings, groups, with and without
 * bias, on random shapes; i = 0 forces depthwise, i = 1 pointwise */
START_TEST(test_conv2d_grad)
{
    nn_rng r;
    nn_rng_init(&r, 100 + (uint64_t)_i, NN_STREAM_TEST, 1, 0);
    int groups = _i == 0 ? 4 : rand_in(&r, 1, 3);
    int c = groups * rand_in(&r, 1, 2), oc = groups * rand_in(&r, 1, 3);
    if (_i == 0)
        c = oc = groups;
    nn_conv2d_cfg cfg = {"conv", oc, rand_in(&r, 1, 3), rand_in(&r, 1, 3), rand_in(&r, 1, 2),
                         rand_in(&r, 1, 2), 0, 0, groups, (int)nn_rng_below(&r, 2)};
    if (_i == 1)
        cfg.kernel_h = cfg.kernel_w = cfg.stride_h = cfg.stride_w = 1;
    cfg.pad_h = rand_in(&r, 0, cfg.kernel_h / 2 + 1);
    cfg.pad_w = rand_in(&r, 0, cfg.kernel_w / 2);
    int n = rand_in(&r, 1, 3), h = rand_in(&r, cfg.kernel_h, 7), w = rand_in(&r, cfg.kernel_w, 7);
    nn_net *net = new_net(n, c, h, w);
    qa_err err;
    ck_assert_msg(nn_conv2d_new(net, &cfg, 0, &err) > 0, "%s", err.msg);
    finalize(net);
    fill_normal(nn_net_input(net), (size_t)n * c * h * w, &r, 1.0f);
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .seed = (uint64_t)_i};
    char what[160];
    snprintf(what, sizeof what, "conv %dx%dx%d n%d oc%d k%dx%d s%dx%d p%dx%d g%d bias%d", c, h, w, n,
             oc, cfg.kernel_h, cfg.kernel_w, cfg.stride_h, cfg.stride_w, cfg.pad_h, cfg.pad_w,
             groups, cfg.bias);
    check_net(net, n, 1, &gc, what);
    nn_net_free(net);
}
END_TEST

START_TEST(test_dense_grad)
{
    nn_rng r;
    nn_rng_init(&r, 200 + (uint64_t)_i, NN_STREAM_TEST, 2, 0);
    int n = rand_in(&r, 1, 4), c = rand_in(&r, 1, 3), h = rand_in(&r, 1, 3), w = rand_in(&r, 1, 3);
    nn_net *net = new_net(n, c, h, w);
    nn_dense_cfg cfg = {"fc", rand_in(&r, 1, 6), _i % 2};
    qa_err err;
    ck_assert_int_gt(nn_dense_new(net, &cfg, 0, &err), 0);
    finalize(net);
    fill_normal(nn_net_input(net), (size_t)n * c * h * w, &r, 1.0f);
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .seed = 3};
    check_net(net, n, 1, &gc, "dense");
    nn_net_free(net);
}
END_TEST

/* batch statistics (train, _i even) and running statistics (eval, _i odd) */
START_TEST(test_batchnorm_grad)
{
    nn_rng r;
    nn_rng_init(&r, 300 + (uint64_t)_i, NN_STREAM_TEST, 3, 0);
    int n = rand_in(&r, 2, 4), c = rand_in(&r, 1, 4), h = rand_in(&r, 1, 4), w = rand_in(&r, 2, 4);
    nn_net *net = new_net(n, c, h, w);
    nn_batchnorm2d_cfg cfg = {"bn", 0, 0};
    qa_err err;
    ck_assert_int_gt(nn_batchnorm2d_new(net, &cfg, 0, &err), 0);
    finalize(net);
    /* gamma, beta and running statistics away from their trivial values */
    for (int v = 0; v < net->params.nviews; v++) {
        float *p = nn_params_value(&net->params, v);
        for (int i = 0; i < c; i++)
            p[i] = strstr(net->params.views[v].name, "var") || strstr(net->params.views[v].name, "gamma")
                       ? 0.5f + nn_rng_uniform(&r)
                       : nn_rng_normal(&r);
    }
    fill_normal(nn_net_input(net), (size_t)n * c * h * w, &r, 2.0f);
    for (size_t i = 0; i < (size_t)n * c * h * w; i++)
        nn_net_input(net)[i] += 3.0f; /* a mean far from 0 */
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .seed = 4};
    check_net(net, n, _i % 2 == 0, &gc, _i % 2 == 0 ? "batchnorm train" : "batchnorm eval");
    nn_net_free(net);
}
END_TEST

/* ReLU (_i = 0) and ReLU6 (_i = 1) with inputs at least 0.1 from the kinks */
START_TEST(test_act_grad)
{
    nn_rng r;
    nn_rng_init(&r, 400 + (uint64_t)_i, NN_STREAM_TEST, 4, 0);
    int n = 3, c = 2, h = 3, w = 4;
    nn_net *net = new_net(n, c, h, w);
    nn_act_cfg cfg = {"act", _i == 0 ? NN_ACT_RELU : NN_ACT_RELU6};
    qa_err err;
    ck_assert_int_gt(nn_act_new(net, &cfg, 0, &err), 0);
    finalize(net);
    float *x = nn_net_input(net);
    int npos = 0, nneg = 0, ntop = 0;
    for (int i = 0; i < n * c * h * w; i++) {
        float v;
        do
            v = 10.0f * nn_rng_uniform(&r) - 2.0f;
        while (fabsf(v) < 0.1f || fabsf(v - 6.0f) < 0.1f);
        x[i] = v;
        npos += v > 0 && v < 6;
        nneg += v < 0;
        ntop += v > 6;
    }
    ck_assert(npos > 0 && nneg > 0 && ntop > 0); /* every branch is exercised */
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .seed = 5};
    check_net(net, n, 1, &gc, cfg.type == NN_ACT_RELU ? "relu" : "relu6");
    nn_net_free(net);
}
END_TEST

/* max (_i 0, 1), average (_i 2, 3) and global average (_i 4) pooling */
START_TEST(test_pool_grad)
{
    nn_rng r;
    nn_rng_init(&r, 500 + (uint64_t)_i, NN_STREAM_TEST, 5, 0);
    static const int types[5] = {NN_POOL_MAX, NN_POOL_MAX, NN_POOL_AVG, NN_POOL_AVG, NN_POOL_GLOBAL_AVG};
    int k = rand_in(&r, 2, 3);
    nn_pool_cfg cfg = {"pool", types[_i], k, rand_in(&r, 1, 2), rand_in(&r, 0, k / 2)};
    int n = rand_in(&r, 1, 3), c = rand_in(&r, 1, 3), h = rand_in(&r, k, 7), w = rand_in(&r, k, 7);
    nn_net *net = new_net(n, c, h, w);
    qa_err err;
    ck_assert_int_gt(nn_pool_new(net, &cfg, 0, &err), 0);
    finalize(net);
    fill_ladder(nn_net_input(net), (size_t)n * c * h * w, &r, 0.05f);
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .seed = 6};
    check_net(net, n, 1, &gc, nn_pool_ops[types[_i]].type);
    nn_net_free(net);
}
END_TEST

/* y = a + b where b = conv(a): dx gathers both paths; and y = x + x */
START_TEST(test_add_grad)
{
    nn_net *net = new_net(2, 3, 4, 4);
    qa_err err;
    nn_conv2d_cfg cc = nn_conv2d_cfg_make("conv", 3, 3, 1, 1);
    int a = nn_conv2d_new(net, &cc, 0, &err);
    nn_add_cfg ac = {"add"}, ac2 = {"twice"};
    int y = nn_add_new(net, &ac, 0, a, &err);
    ck_assert_int_gt(y, 0);
    ck_assert_int_gt(nn_add_new(net, &ac2, y, y, &err), 0);
    finalize(net);
    nn_rng r;
    nn_rng_init(&r, 600, NN_STREAM_TEST, 6, 0);
    fill_normal(nn_net_input(net), 2 * 3 * 16, &r, 1.0f);
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .seed = 7};
    check_net(net, 2, 1, &gc, "add");
    nn_net_free(net);
}
END_TEST

/* resnet20's basic blocks, a projection shortcut then an identity one, BN
 * in training (_i even) and eval mode. ReLUs make the loss piecewise
 * smooth with kinks closer together than float differences can resolve,
 * so steps are small, one-sided differences are accepted at kinks and the
 * tolerance is 5%; tests/nn/test_torch.c checks the same blocks against
 * PyTorch to 1e-3. */
START_TEST(test_residual_block_grad)
{
    nn_net *net = new_net(2, 2, 5, 5);
    qa_err err;
    int t = nn_model_basic_block(net, "b1.", 0, 3, 2, &err);
    ck_assert_int_gt(t, 0);
    ck_assert_int_gt(nn_model_basic_block(net, "b2.", t, 3, 1, &err), 0);
    ck_assert_int_eq(nn_net_finalize(net, 20 + (uint64_t)_i, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 700 + (uint64_t)_i, NN_STREAM_TEST, 7, 0);
    fill_normal(nn_net_input(net), 2 * 2 * 25, &r, 1.0f);
    nn_gradcheck_cfg gc = {.eps = 1e-3f, .rtol = 5e-2f, .kinks = 1, .seed = (uint64_t)_i, .max_elems = 32};
    check_net(net, 2, _i % 2 == 0, &gc, "residual block");
    nn_net_free(net);
}
END_TEST

typedef struct {
    const float *z;
    const int *y;
    int n, k;
} ce_ctx;

static double ce_loss(void *p)
{
    const ce_ctx *c = p;
    return nn_softmax_ce(c->z, c->y, c->n, c->k, NULL, NULL, NULL);
}

static double mse_loss(void *p)
{
    const ce_ctx *c = p;
    return nn_mse(c->z, c->z + c->n * c->k, c->n, c->k, NULL);
}

START_TEST(test_loss_grad)
{
    nn_rng r;
    nn_rng_init(&r, 800, NN_STREAM_TEST, 8, 0);
    enum { N = 5, K = 7 };
    float z[2 * N * K], dz[N * K];
    int y[N];
    fill_normal(z, 2 * N * K, &r, 3.0f);
    for (int i = 0; i < N; i++)
        y[i] = (int)nn_rng_below(&r, K);
    ce_ctx c = {z, y, N, K};
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .max_elems = N * K, .atol = 1e-4f};
    nn_gradcheck_result res = {0};
    qa_err err;
    nn_softmax_ce(z, y, N, K, dz, NULL, NULL);
    ck_assert_msg(nn_gradcheck_vec(ce_loss, &c, z, dz, N * K, "ce", &gc, &res, &err) == QA_OK, "%s", err.msg);
    nn_mse(z, z + N * K, N, K, dz);
    ck_assert_msg(nn_gradcheck_vec(mse_loss, &c, z, dz, N * K, "mse", &gc, &res, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(res.nchecked, 2 * N * K);
    /* the checker itself fails on a wrong gradient */
    dz[3] += 0.05f;
    ck_assert_int_eq(nn_gradcheck_vec(mse_loss, &c, z, dz, N * K, "mse", &gc, &res, &err), QA_ERR_NUMERIC);
    ck_assert_ptr_nonnull(strstr(err.msg, "mse[3]"));
}
END_TEST

/* known values: uniform logits give log k; per-sample losses and argmax */
START_TEST(test_loss_values)
{
    float z[3 * 4] = {0, 0, 0, 0, 1, 2, 3, 4, 10, -10, 0, 0}, per[3], dz[12];
    int y[3] = {2, 3, 1}, correct = -1;
    float l = nn_softmax_ce(z, y, 3, 4, dz, per, &correct);
    double l1 = log(exp(1) + exp(2) + exp(3) + exp(4)) - 4, l2 = log(exp(10) + exp(-10) + 2) + 10;
    ck_assert_double_eq_tol(per[0], log(4.0), 1e-6);
    ck_assert_double_eq_tol(per[1], l1, 1e-6);
    ck_assert_double_eq_tol(per[2], l2, 1e-5);
    ck_assert_double_eq_tol(l, (log(4.0) + l1 + l2) / 3, 1e-5);
    ck_assert_int_eq(correct, 1);
    ck_assert_double_eq_tol(dz[2], (0.25 - 1) / 3, 1e-7);
    float p[4] = {1, 2, 3, 4}, t[4] = {1, 0, 3, 2}, dp[4];
    ck_assert_double_eq_tol(nn_mse(p, t, 2, 2, dp), (0 + 4 + 0 + 4) / 4.0, 1e-7);
    ck_assert_double_eq_tol(dp[1], 2 * 2 / 4.0, 1e-7);
}
END_TEST

typedef struct {
    const float *z, *zt;
    int n, k;
    float t;
} kl_ctx;

static double kl_loss(void *p)
{
    const kl_ctx *c = p;
    return nn_softmax_kl(c->z, c->zt, c->n, c->k, c->t, NULL, NULL);
}

/* PyTorch: F.kl_div(F.log_softmax(z / 2, 1), F.softmax(zt / 2, 1),
 * reduction='batchmean') * 2 * 2 = 1.0369081497192383 and z.grad row 0
 * (-0.44221, 0.075972, 0.36624); identical rows give 0 and a zero
 * gradient. Finite differences at several temperatures. */
START_TEST(test_kl_loss)
{
    float z[6] = {1, 2, 3, 0.5f, -1, 2}, zt[6] = {3, 1, 0, 0.5f, -1, 2}, dz[6], per[2];
    ck_assert_double_eq_tol(nn_softmax_kl(z, zt, 2, 3, 2.0f, dz, per), 1.0369081497192383, 1e-6);
    ck_assert_double_eq_tol(dz[0], -0.44221, 1e-5);
    ck_assert_double_eq_tol(dz[1], 0.075972, 1e-5);
    ck_assert_double_eq_tol(dz[2], 0.36624, 1e-5);
    ck_assert_double_eq_tol(per[1], 0.0, 1e-7);
    ck_assert_double_eq_tol(dz[4], 0.0, 1e-7);
    ck_assert_double_eq_tol(per[0], 2 * 1.0369081497192383, 1e-5);
    nn_rng r;
    nn_rng_init(&r, 801, NN_STREAM_TEST, 9, 0);
    enum { N = 4, K = 6 };
    float a[N * K], b[N * K], da[N * K];
    fill_normal(a, N * K, &r, 3.0f);
    fill_normal(b, N * K, &r, 3.0f);
    static const float temps[3] = {0.5f, 1.0f, 4.0f};
    for (int i = 0; i < 3; i++) {
        kl_ctx c = {a, b, N, K, temps[i]};
        nn_gradcheck_cfg gc = {.eps = 1e-2f, .max_elems = N * K, .atol = 1e-4f};
        nn_gradcheck_result res = {0};
        qa_err err;
        nn_softmax_kl(a, b, N, K, temps[i], da, NULL);
        ck_assert_msg(nn_gradcheck_vec(kl_loss, &c, a, da, N * K, "kl", &gc, &res, &err) == QA_OK,
                      "t %g: %s", temps[i], err.msg);
    }
}
END_TEST

START_TEST(test_conv2d_errors)
{
    nn_net *net = new_net(2, 4, 5, 5);
    qa_err err;
    nn_conv2d_cfg c = nn_conv2d_cfg_make("conv", 6, 3, 1, 1);
    c.groups = 3; /* divides 6 but not 4 */
    ck_assert_int_eq(nn_conv2d_new(net, &c, 0, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "groups 3"));
    ck_assert_ptr_nonnull(strstr(err.msg, "'conv'"));
    c = nn_conv2d_cfg_make("conv", 6, 7, 1, 0); /* window larger than the input */
    ck_assert_int_eq(nn_conv2d_new(net, &c, 0, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not fit"));
    c = nn_conv2d_cfg_make("conv", 6, 3, 0, 1);
    ck_assert_int_eq(nn_conv2d_new(net, &c, 0, &err), QA_ERR_ARG);
    c = nn_conv2d_cfg_make("conv", 6, 3, 1, -1);
    ck_assert_int_eq(nn_conv2d_new(net, &c, 0, &err), QA_ERR_ARG);
    c = nn_conv2d_cfg_make("conv", 0, 3, 1, 1);
    ck_assert_int_eq(nn_conv2d_new(net, &c, 0, &err), QA_ERR_ARG);
    c = nn_conv2d_cfg_make("conv", 6, 3, 1, 1);
    ck_assert_int_eq(nn_conv2d_new(net, &c, 5, &err), QA_ERR_ARG); /* no such tensor */
    c.name = "a_name_much_longer_than_thirty_one_chars";
    ck_assert_int_eq(nn_conv2d_new(net, &c, 0, &err), QA_ERR_ARG);
    c.name = "conv";
    ck_assert_int_gt(nn_conv2d_new(net, &c, 0, &err), 0);
    ck_assert_int_eq(nn_conv2d_new(net, &c, 0, &err), QA_ERR_ARG); /* name taken */
    ck_assert_ptr_nonnull(strstr(err.msg, "two layers"));
    nn_net_free(net);
}
END_TEST

START_TEST(test_other_errors)
{
    nn_net *net = new_net(2, 4, 5, 5);
    qa_err err;
    nn_pool_cfg p = {"pool", NN_POOL_MAX, 2, 1, 2}; /* padding above kernel/2 */
    ck_assert_int_eq(nn_pool_new(net, &p, 0, &err), QA_ERR_ARG);
    p.type = 17;
    ck_assert_int_eq(nn_pool_new(net, &p, 0, &err), QA_ERR_ARG);
    nn_pool_cfg big = {"pool", NN_POOL_AVG, 7, 1, 0};
    ck_assert_int_eq(nn_pool_new(net, &big, 0, &err), QA_ERR_ARG);
    nn_act_cfg a = {"act", NN_ACT_COUNT};
    ck_assert_int_eq(nn_act_new(net, &a, 0, &err), QA_ERR_ARG);
    nn_dense_cfg d = {"fc", 0, 1};
    ck_assert_int_eq(nn_dense_new(net, &d, 0, &err), QA_ERR_ARG);
    nn_batchnorm2d_cfg b = {"bn", 1e-5f, 1.5f};
    ck_assert_int_eq(nn_batchnorm2d_new(net, &b, 0, &err), QA_ERR_ARG);
    nn_conv2d_cfg c = nn_conv2d_cfg_make("conv", 6, 3, 2, 1);
    int t = nn_conv2d_new(net, &c, 0, &err);
    nn_add_cfg ad = {"add"};
    ck_assert_int_eq(nn_add_new(net, &ad, 0, t, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot add"));
    ck_assert_int_eq(nn_add_new(net, &ad, 0, -1, &err), QA_ERR_ARG);
    nn_net_free(net);
}
END_TEST

/* conv and BN split over two threads give the same gradients */
START_TEST(test_grad_two_threads)
{
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(2, &err), QA_OK);
    nn_net *net = new_net(5, 3, 6, 6);
    nn_conv2d_cfg cc = nn_conv2d_cfg_make("conv", 4, 3, 1, 1);
    cc.bias = 1;
    int t = nn_conv2d_new(net, &cc, 0, &err);
    nn_batchnorm2d_cfg bc = {"bn", 0, 0};
    t = nn_batchnorm2d_new(net, &bc, t, &err);
    nn_pool_cfg pc = {"pool", NN_POOL_AVG, 2, 2, 0};
    ck_assert_int_gt(nn_pool_new(net, &pc, t, &err), 0);
    finalize(net);
    nn_rng r;
    nn_rng_init(&r, 900, NN_STREAM_TEST, 9, 0);
    fill_normal(nn_net_input(net), 5 * 3 * 36, &r, 1.0f);
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .seed = 9};
    check_net(net, 5, 1, &gc, "conv+bn+pool on 2 threads");
    nn_net_free(net);
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
}
END_TEST

/* a conv that takes the Winograd path (asserted, so that a change of the
 * geometry rule cannot silently leave it untested): odd 5x7 input, channel
 * counts multiples of nothing, bias; 1 thread (_i = 0) and 2 (_i = 1) */
START_TEST(test_conv2d_wino_grad)
{
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(1 + _i, &err), QA_OK);
    nn_net *net = new_net(3, 9, 5, 7);
    nn_conv2d_cfg cc = nn_conv2d_cfg_make("conv", 11, 3, 1, 1);
    cc.bias = 1;
    ck_assert_int_gt(nn_conv2d_new(net, &cc, 0, &err), 0);
    finalize(net);
    ck_assert_int_eq(nn_conv2d_algo(&((const nn_conv2d *)net->layers[0])->g), NN_CONV_WINOGRAD);
    nn_rng r;
    nn_rng_init(&r, 950 + (uint64_t)_i, NN_STREAM_TEST, 10, 0);
    fill_normal(nn_net_input(net), 3 * 9 * 35, &r, 1.0f);
    nn_gradcheck_cfg gc = {.eps = 1e-2f, .seed = 10 + (uint64_t)_i};
    check_net(net, 3, 1, &gc, "winograd conv");
    nn_net_free(net);
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_layers");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_conv2d_grad, 0, 12);
    tcase_add_loop_test(tc, test_dense_grad, 0, 4);
    tcase_add_loop_test(tc, test_batchnorm_grad, 0, 6);
    tcase_add_loop_test(tc, test_act_grad, 0, 2);
    tcase_add_loop_test(tc, test_pool_grad, 0, 5);
    tcase_add_test(tc, test_add_grad);
    tcase_add_loop_test(tc, test_residual_block_grad, 0, 4);
    tcase_add_test(tc, test_loss_grad);
    tcase_add_test(tc, test_loss_values);
    tcase_add_test(tc, test_kl_loss);
    tcase_add_test(tc, test_conv2d_errors);
    tcase_add_test(tc, test_other_errors);
    tcase_add_test(tc, test_grad_two_threads);
    tcase_add_loop_test(tc, test_conv2d_wino_grad, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
