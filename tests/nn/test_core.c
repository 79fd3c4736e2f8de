/* test_core.c: the nn core contracts: Philox known answers and distribution
 * moments, arena alignment, parameter views, and the net's gradient routing
 * (overwrite for the first consumer, accumulate for the rest). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/arena.h"
#include "nn/dense.h"
#include "nn/net.h"
#include "nn/param.h"
#include "nn/rng.h"

/* Known-answer vectors of Random123's kat_vectors for philox4x32-10. */
START_TEST(test_philox_kat)
{
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        nn_philox4x32(kat[i].ctr, kat[i].key, out);
        for (int j = 0; j < 4; j++)
            ck_assert_msg(out[j] == kat[i].out[j], "vector %zu word %d: %08x != %08x", i, j,
                          out[j], kat[i].out[j]);
    }
}
END_TEST

START_TEST(test_rng_keys)
{
    nn_rng a, b, c;
    nn_rng_init(&a, 42, NN_STREAM_TEST, 7, 3);
    nn_rng_init(&b, 42, NN_STREAM_TEST, 7, 3);
    nn_rng_init(&c, 42, NN_STREAM_TEST, 8, 3);
    int same_c = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t x = nn_rng_u32(&a);
        ck_assert_uint_eq(x, nn_rng_u32(&b));
        same_c += x == nn_rng_u32(&c);
    }
    ck_assert_int_lt(same_c, 2);
}
END_TEST

START_TEST(test_rng_moments)
{
    nn_rng r;
    nn_rng_init(&r, 1, NN_STREAM_TEST, 0, 0);
    const int n = 200000;
    double s = 0, s2 = 0, u = 0, umin = 1, umax = 0;
    for (int i = 0; i < n; i++) {
        double z = nn_rng_normal_d(&r);
        s += z;
        s2 += z * z;
        float f = nn_rng_uniform(&r);
        ck_assert(f >= 0.0f && f < 1.0f);
        u += f;
        umin = fmin(umin, f);
        umax = fmax(umax, f);
    }
    ck_assert_double_lt(fabs(s / n), 0.01);
    ck_assert_double_lt(fabs(s2 / n - 1.0), 0.02);
    ck_assert_double_lt(fabs(u / n - 0.5), 0.005);
    ck_assert_double_lt(umin, 1e-3);
    ck_assert_double_gt(umax, 1 - 1e-3);
}
END_TEST

START_TEST(test_rng_below_and_permutation)
{
    nn_rng r;
    nn_rng_init(&r, 5, NN_STREAM_TEST, 0, 0);
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t k = nn_rng_below(&r, 7);
        ck_assert_uint_lt(k, 7);
        hist[k]++;
    }
    for (int k = 0; k < 7; k++)
        ck_assert_int_lt(abs(hist[k] - 10000), 500);
    int idx[1000], seen[1000] = {0};
    nn_rng_permutation(&r, idx, 1000);
    int moved = 0;
    for (int i = 0; i < 1000; i++) {
        ck_assert(idx[i] >= 0 && idx[i] < 1000);
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_gt(moved, 900);
}
END_TEST

START_TEST(test_rng_poisson)
{
    static const double lambdas[] = {0.5, 4.0, 29.0, 31.0, 250.0, 5000.0};
    for (size_t li = 0; li < sizeof lambdas / sizeof lambdas[0]; li++) {
        nn_rng r;
        nn_rng_init(&r, 9, NN_STREAM_TEST, (uint32_t)li, 0);
        double lam = lambdas[li], s = 0, s2 = 0;
        const int n = 40000;
        for (int i = 0; i < n; i++) {
            double k = nn_rng_poisson(&r, lam);
            s += k;
            s2 += k * k;
        }
        double mean = s / n, var = s2 / n - mean * mean;
        /* mean within 5 standard errors, variance within 5% */
        ck_assert_msg(fabs(mean - lam) < 5 * sqrt(lam / n), "lambda %g: mean %g", lam, mean);
        ck_assert_msg(fabs(var / lam - 1) < 0.05, "lambda %g: var %g", lam, var);
    }
    nn_rng r;
    nn_rng_init(&r, 9, NN_STREAM_TEST, 99, 0);
    ck_assert_uint_eq(nn_rng_poisson(&r, 0.0), 0);
}
END_TEST

START_TEST(test_arena)
{
    nn_arena a;
    nn_arena_init(&a);
    qa_err err;
    for (int i = 1; i < 50; i++) {
        unsigned char *p = nn_arena_alloc(&a, (size_t)i * 1000, &err);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 64, 0);
        int nonzero = 0; /* one assertion per block: Check's are slow under load */
        for (int j = 0; j < i * 1000; j++)
            nonzero |= p[j];
        ck_assert_int_eq(nonzero, 0);
        memset(p, 0xab, (size_t)i * 1000);
    }
    float *big = nn_arena_floats(&a, 3u << 20, &err); /* larger than one block */
    ck_assert_ptr_nonnull(big);
    ck_assert_uint_ge(a.reserved, a.used);
    nn_arena_free(&a);
    ck_assert_ptr_null(a.head);
}
END_TEST

START_TEST(test_params)
{
    nn_params p;
    nn_params_init(&p);
    qa_err err;
    int w = nn_params_add(&p, "conv1.w", 10, NN_PARAM_WEIGHT, &err);
    int rm = nn_params_add(&p, "bn1.running_mean", 3, NN_PARAM_BUFFER, &err);
    int b = nn_params_add(&p, "conv1.b", 17, NN_PARAM_BIAS, &err);
    ck_assert_int_ge(w, 0);
    ck_assert_int_ge(b, 0);
    ck_assert_int_eq(nn_params_add(&p, "conv1.w", 4, NN_PARAM_WEIGHT, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "conv1.w"));
    ck_assert_int_eq(nn_params_alloc(&p, &err), QA_OK);
    ck_assert_uint_eq(nn_params_trainable(&p), 27);
    float *wv = nn_params_value(&p, w), *bv = nn_params_value(&p, b);
    ck_assert_uint_eq((uintptr_t)wv % 64, 0);
    ck_assert_uint_eq((uintptr_t)bv % 64, 0);
    ck_assert(bv >= wv + 10);
    ck_assert_ptr_null(nn_params_grad(&p, rm));
    ck_assert_ptr_eq(nn_params_value(&p, rm), p.buf);
    ck_assert_int_eq(nn_params_find(&p, "conv1.b"), b);
    ck_assert_int_eq(nn_params_find(&p, "nope"), -1);
    nn_params_free(&p);
}
END_TEST

/* A layer y = k * x (or x0 + x1 for two inputs), enough to check routing. */
typedef struct {
    nn_layer base;
    float k;
} scale_layer;

static void scale_forward(nn_layer *l, const nn_ctx *c)
{
    scale_layer *s = (scale_layer *)l;
    size_t n = nn_tensor_count(&c->t[l->out]);
    for (size_t i = 0; i < n; i++)
        c->t[l->out].data[i] = l->nin == 2 ? c->t[l->in[0]].data[i] + c->t[l->in[1]].data[i]
                                           : s->k * c->t[l->in[0]].data[i];
}

static void scale_backward(nn_layer *l, const nn_ctx *c)
{
    scale_layer *s = (scale_layer *)l;
    size_t n = nn_tensor_count(&c->t[l->out]);
    for (int j = 0; j < l->nin; j++) {
        if (!l->need_dx[j])
            continue;
        for (size_t i = 0; i < n; i++)
            nn_grad_store(&c->dt[l->in[j]].data[i],
                          (l->nin == 2 ? 1.0f : s->k) * c->dt[l->out].data[i], l->acc[j]);
    }
}

static const nn_layer_ops scale_ops = {"scale", scale_forward, scale_backward, NULL};

static int add_scale(nn_net *net, const char *name, int in0, int in1, float k)
{
    qa_err err;
    scale_layer *s = nn_net_new_layer(net, sizeof *s, &scale_ops, name, &err);
    ck_assert_ptr_nonnull(s);
    s->k = k;
    s->base.nin = in1 < 0 ? 1 : 2;
    s->base.in[0] = in0;
    s->base.in[1] = in1;
    s->base.out = nn_net_add_tensor(net, 1, 2, 2, &err);
    ck_assert_int_ge(nn_net_add_layer(net, &s->base, &err), 0);
    return s->base.out;
}

/* x -> a = 2x -> b = 3a -> y = a + b: dy/dx = 2 + 6 = 8, dy/da = 4 */
START_TEST(test_net_residual_routing)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, 3, 1, 2, 2, &err), QA_OK);
    net->input_grad = 1;
    int a = add_scale(net, "a", 0, -1, 2.0f);
    int b = add_scale(net, "b", a, -1, 3.0f);
    add_scale(net, "y", a, b, 0.0f);
    ck_assert_int_eq(nn_net_add_layer(net, net->layers[0], &err), QA_ERR_ARG); /* name clash */
    ck_assert_int_eq(nn_net_finalize(net, 1, &err), QA_OK);
    for (int i = 0; i < 12; i++)
        nn_net_input(net)[i] = (float)i;
    for (int step = 0; step < 2; step++) { /* a second pass must not accumulate stale values */
        nn_net_forward(net, 2, 1);
        const nn_tensor *y = nn_net_output(net);
        ck_assert_int_eq(y->d[0], 2);
        for (int i = 0; i < 8; i++) {
            ck_assert_float_eq(y->data[i], 8.0f * (float)i);
            nn_net_output_grad(net)[i] = 1.0f;
        }
        nn_net_backward(net, 2);
        for (int i = 0; i < 8; i++) {
            ck_assert_float_eq(net->dt[0].data[i], 8.0f);
            ck_assert_float_eq(net->dt[a].data[i], 4.0f);
        }
    }
    ck_assert_int_eq(nn_net_find_layer(net, "b"), 1);
    nn_net_free(net);
}
END_TEST

/* The bytes a net will take (what run/memory.c refuses a run on), counted by
 * hand for a dense 4 -> 5 with bias at batch 3 and a 7-float batch cache. */
START_TEST(test_net_bytes_known)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, 3, 1, 2, 2, &err), QA_OK);
    nn_dense_cfg dc = {.name = "fc", .out = 5, .bias = 1};
    ck_assert_int_ge(nn_dense_new(net, &dc, 0, &err), 0);
    ck_assert_ptr_nonnull(nn_net_batch_buffer(net, 7, &err));
    ck_assert_int_eq(nn_net_finalize(net, 1, &err), QA_OK);
    size_t layer = (sizeof(nn_dense) + 63) / 64 * 64;
    /* arena: the layer; the cache 3 x 7 floats = 84 -> 128 bytes; input
     * and its gradient 3 x 4 floats = 48 -> 64 each; output and gradient 3 x 5
     * = 60 -> 64 each (every piece 64-byte aligned); no scratch */
    size_t arena = layer + 128 + 4 * 64;
    ck_assert_uint_eq(net->arena.used, arena);
    /* parameters: w 20 and b 5 floats, each view padded to a multiple of
     * 16: 32 + 16 floats, and as many gradients; no buffers */
    ck_assert_uint_eq(nn_net_bytes(net), arena + 2 * (32 + 16) * sizeof(float));
    /* per sample: 7 cached, 4 + 5 activations and as many gradients */
    ck_assert_uint_eq(nn_net_sample_bytes(net), (7 + 2 * (4 + 5)) * sizeof(float));
    nn_net_free(net);
}
END_TEST

START_TEST(test_net_bad_shape)
{
    nn_net *net = NULL;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, 0, 1, 28, 28, &err), QA_ERR_ARG);
    ck_assert_ptr_null(net);
    ck_assert_int_eq(nn_net_create(&net, 4, 1, 28, 28, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(net, 1, &err), QA_ERR_ARG); /* no layers */
    nn_net_free(net);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_philox_kat);
    tcase_add_test(tc, test_rng_keys);
    tcase_add_test(tc, test_rng_moments);
    tcase_add_test(tc, test_rng_below_and_permutation);
    tcase_add_test(tc, test_rng_poisson);
    tcase_add_test(tc, test_arena);
    tcase_add_test(tc, test_params);
    tcase_add_test(tc, test_net_residual_routing);
    tcase_add_test(tc, test_net_bad_shape);
    tcase_add_test(tc, test_net_bytes_known);
    suite_add_tcase(s, tc);
    return s;
}
