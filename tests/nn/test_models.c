/* test_models.c: the named architectures: output shapes, parameter counts
 * equal to PyTorch's for the peer's models, layer names, MACs, a layer
 * wrapped before finalize (as quant/ does), and the error paths.
 * PyTorch's counts come from Debian's python3-torch:
 *   import torch_train as T   # shared/peer/torch_train.py
 *   sum(p.numel() for p in T.small(0, cin).parameters())
 * small: 24058 (cin 1), 24346 (cin 3); resnet20: 272186, 272474; running
 * statistics (named_buffers containing "running"): 224 and 1568. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/models.h"
#include "nn/rng.h"

static size_t buffer_count(const nn_net *net)
{
    size_t n = 0;
    for (int i = 0; i < net->params.nviews; i++)
        if (net->params.views[i].kind == NN_PARAM_BUFFER)
            n += net->params.views[i].n;
    return n;
}

START_TEST(test_param_counts_match_torch)
{
    static const struct {
        const char *arch;
        int c;
        size_t params, buffers;
    } cases[] = {{"small", 1, 24058, 224}, {"small", 3, 24346, 224},
                 {"resnet20", 1, 272186, 1568}, {"resnet20", 3, 272474, 1568}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_net *net;
        qa_err err;
        ck_assert_int_eq(nn_model_build(&net, cases[i].arch, 8, cases[i].c, 28, 28, 10, &err), QA_OK);
        ck_assert_int_eq(net->finalized, 0);
        ck_assert_int_eq(nn_net_finalize(net, 1, &err), QA_OK);
        ck_assert_uint_eq(nn_params_trainable(&net->params), cases[i].params);
        ck_assert_uint_eq(buffer_count(net), cases[i].buffers);
        ck_assert_int_eq(nn_net_output_size(net), 10);
        nn_net_free(net);
    }
}
END_TEST

START_TEST(test_small_layout)
{
    static const char *names[] = {"conv1", "bn1", "relu1", "conv2", "bn2", "relu2",
                                  "conv3", "bn3", "relu3", "pool", "fc"};
    static const int64_t macs[] = {16 * 28 * 28 * 9, 0, 0, 32 * 14 * 14 * 144, 0, 0,
                                   64 * 7 * 7 * 288, 0, 0, 0, 640};
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_model_build(&net, "small", 4, 1, 28, 28, 10, &err), QA_OK);
    ck_assert_int_eq(net->nlayers, 11);
    for (int i = 0; i < 11; i++) {
        ck_assert_str_eq(net->layers[i]->name, names[i]);
        ck_assert_int_eq(net->layers[i]->macs, macs[i]);
    }
    ck_assert_int_eq(nn_net_macs(net), 1919872);
    const nn_conv2d *c2 = (const nn_conv2d *)net->layers[3];
    ck_assert_ptr_eq(c2->base.ops, &nn_conv2d_ops);
    ck_assert(c2->g.oh == 14 && c2->g.sh == 2 && c2->g.ph == 1 && c2->b_view < 0);
    ck_assert_int_ge(nn_params_find(&net->params, "fc.b"), 0);
    ck_assert_int_eq(nn_params_find(&net->params, "conv1.b"), -1); /* BN follows: no bias */
    nn_net_free(net);
}
END_TEST

START_TEST(test_resnet20_layout)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_model_build(&net, "resnet20", 2, 3, 32, 32, 10, &err), QA_OK);
    int convs = 0;
    for (int i = 0; i < net->nlayers; i++)
        convs += net->layers[i]->ops == &nn_conv2d_ops;
    ck_assert_int_eq(convs, 19 + 2); /* 19 3x3 convs, 2 projection shortcuts */
    ck_assert_int_ge(nn_net_find_layer(net, "layer2.0.short.conv"), 0);
    ck_assert_int_ge(nn_net_find_layer(net, "layer3.0.short.bn"), 0);
    ck_assert_int_lt(nn_net_find_layer(net, "layer1.0.short.conv"), 0);
    ck_assert_int_ge(nn_net_find_layer(net, "layer3.2.relu"), 0);
    ck_assert_int_eq(net->t[net->layers[nn_net_find_layer(net, "layer3.2.relu")]->out].d[2], 8);
    nn_net_free(net);
}
END_TEST

START_TEST(test_mobilenet_layout)
{
    static const int sizes[2] = {28, 32};
    for (int s = 0; s < 2; s++) {
        nn_net *net;
        qa_err err;
        ck_assert_int_eq(nn_model_build(&net, "mobilenetv2_tiny", 2, 1 + 2 * s, sizes[s], sizes[s], 10, &err), QA_OK);
        ck_assert_int_ge(nn_net_find_layer(net, "block8.project"), 0);
        ck_assert_int_lt(nn_net_find_layer(net, "block9.dw"), 0);
        ck_assert_int_lt(nn_net_find_layer(net, "block1.expand"), 0); /* expansion 1 */
        int adds = 0;
        for (int i = 0; i < net->nlayers; i++) {
            adds += strstr(net->layers[i]->name, ".add") != NULL;
            if (strstr(net->layers[i]->name, ".dw") && net->layers[i]->ops == &nn_conv2d_ops) {
                const nn_conv2d *c = (const nn_conv2d *)net->layers[i];
                ck_assert_int_eq(c->g.groups, c->g.c); /* depthwise */
            }
        }
        ck_assert_int_eq(adds, 4); /* blocks 1, 3, 5, 7: stride 1 and same width */
        const nn_tensor *last = &net->t[net->layers[nn_net_find_layer(net, "head.relu")]->out];
        ck_assert_int_eq(last->d[2], sizes[s] / 4);
        ck_assert_int_eq(nn_net_finalize(net, 1, &err), QA_OK);
        nn_net_free(net);
    }
}
END_TEST

/* every model trains a step: finite outputs and gradients on 2 samples */
START_TEST(test_models_run)
{
    const char *const *names = nn_model_names();
    int n = 0;
    for (; names[n]; n++) {
        nn_net *net;
        qa_err err;
        ck_assert_int_eq(nn_model_build(&net, names[n], 2, 3, 32, 32, 7, &err), QA_OK);
        ck_assert_int_eq(nn_net_finalize(net, 3, &err), QA_OK);
        nn_rng r;
        nn_rng_init(&r, 1, NN_STREAM_TEST, 30, 0);
        for (int i = 0; i < 2 * 3 * 32 * 32; i++)
            nn_net_input(net)[i] = nn_rng_normal(&r);
        nn_net_forward(net, 2, 1);
        for (int i = 0; i < 14; i++) {
            ck_assert(isfinite(nn_net_output(net)->data[i]));
            nn_net_output_grad(net)[i] = 0.1f;
        }
        nn_net_zero_grad(net);
        nn_net_backward(net, 2);
        double gs = 0;
        for (size_t i = 0; i < net->params.n; i++)
            gs += fabs(net->params.g[i]);
        ck_assert(isfinite(gs) && gs > 0);
        nn_net_free(net);
    }
    ck_assert_int_eq(n, 3);
}
END_TEST

/* a wrapper put in place of conv2 before finalize runs instead of it */
typedef struct {
    nn_conv2d conv; /* the wrapped layer's struct, copied */
    int calls;
} counting_conv;

static void counting_forward(nn_layer *l, const nn_ctx *c)
{
    ((counting_conv *)l)->calls++;
    nn_conv2d_ops.forward(l, c);
}

static const nn_layer_ops counting_ops = {"counting_conv", counting_forward, NULL, NULL};

START_TEST(test_replace_layer_before_finalize)
{
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_model_build(&net, "small", 2, 1, 28, 28, 10, &err), QA_OK);
    int i = nn_net_find_layer(net, "conv2");
    counting_conv *w = nn_net_new_layer(net, sizeof *w, &counting_ops, "conv2", &err);
    w->conv = *(const nn_conv2d *)net->layers[i];
    w->conv.base.ops = &counting_ops;
    nn_net_replace_layer(net, i, &w->conv.base);
    ck_assert_int_eq(nn_net_finalize(net, 1, &err), QA_OK);
    nn_net_forward(net, 2, 0);
    nn_net_forward(net, 2, 0);
    ck_assert_int_eq(w->calls, 2);
    nn_net_free(net);
}
END_TEST

START_TEST(test_model_errors)
{
    nn_net *net = (nn_net *)1;
    qa_err err;
    ck_assert_int_eq(nn_model_build(&net, "resnet56", 2, 1, 28, 28, 10, &err), QA_ERR_ARG);
    ck_assert_ptr_null(net);
    ck_assert_ptr_nonnull(strstr(err.msg, "resnet56"));
    ck_assert_ptr_nonnull(strstr(err.msg, "small, resnet20, mobilenetv2_tiny"));
    ck_assert_int_eq(nn_model_build(&net, NULL, 2, 1, 28, 28, 10, &err), QA_ERR_ARG);
    ck_assert_int_eq(nn_model_build(&net, "small", 2, 1, 28, 28, 0, &err), QA_ERR_ARG);
    ck_assert_int_eq(nn_model_build(&net, "small", 0, 1, 28, 28, 10, &err), QA_ERR_ARG);
    ck_assert_int_eq(nn_model_build(&net, "small", 2, 1, 0, 28, 10, &err), QA_ERR_ARG);
    ck_assert_ptr_null(net);
}
END_TEST

/* Both init schemes on a grouped conv (fan_in = C/G * KH * KW = 4 * 9 = 36)
 * and a dense layer (fan_in 2304): bounds, moments and biases as documented
 * in layer.h. The uniform's std is bound / sqrt(3). */
static void check_init(const nn_net *net, const char *name, double fan_in, nn_init_scheme s,
                       int has_bias)
{
    char wn[48], bn[48];
    snprintf(wn, sizeof wn, "%s.w", name);
    snprintf(bn, sizeof bn, "%s.b", name);
    const nn_param_view *w = NULL, *b = NULL;
    for (int i = 0; i < net->params.nviews; i++) {
        if (!strcmp(net->params.views[i].name, wn))
            w = &net->params.views[i];
        if (!strcmp(net->params.views[i].name, bn))
            b = &net->params.views[i];
    }
    ck_assert_ptr_nonnull(w);
    const float *v = net->params.w + w->off;
    double bound = 1.0 / sqrt(fan_in), sum = 0, sq = 0, amax = 0;
    for (size_t i = 0; i < w->n; i++) {
        sum += v[i];
        sq += (double)v[i] * v[i];
        amax = fmax(amax, fabs(v[i]));
    }
    double mean = sum / (double)w->n, std = sqrt(sq / (double)w->n - mean * mean);
    double want = s == NN_INIT_HE_NORMAL ? sqrt(2.0 / fan_in) : bound / sqrt(3.0);
    ck_assert_double_le(fabs(std / want - 1), 0.05);
    ck_assert_double_le(fabs(mean), 0.1 * want);
    if (s == NN_INIT_KAIMING_UNIFORM)
        ck_assert_double_le(amax, bound);
    else
        ck_assert_double_gt(amax, 2.5 * want); /* a normal's tail, not a uniform */
    if (has_bias) {
        ck_assert_ptr_nonnull(b);
        const float *bv = net->params.w + b->off;
        double bmax = 0;
        for (size_t i = 0; i < b->n; i++)
            bmax = fmax(bmax, fabs(bv[i]));
        if (s == NN_INIT_HE_NORMAL)
            ck_assert_double_eq(bmax, 0.0);
        else
            ck_assert(bmax > 0.2 * bound && bmax <= bound);
    }
}

START_TEST(test_init_schemes)
{
    for (int s = NN_INIT_KAIMING_UNIFORM; s <= NN_INIT_HE_NORMAL; s++) {
        nn_net *net;
        qa_err err;
        ck_assert_int_eq(nn_net_create(&net, 2, 8, 12, 12, &err), QA_OK);
        nn_conv2d_cfg cc = nn_conv2d_cfg_make("conv", 256, 3, 1, 1);
        cc.groups = 2;
        cc.bias = 1;
        int t = nn_conv2d_new(net, &cc, 0, &err);
        ck_assert_int_ge(t, 0);
        nn_dense_cfg dc = {"fc", 64, 1};
        ck_assert_int_ge(nn_dense_new(net, &dc, t, &err), 0);
        net->init = (nn_init_scheme)s;
        ck_assert_int_eq(nn_net_finalize(net, 3, &err), QA_OK);
        check_init(net, "conv", 36, (nn_init_scheme)s, 1);
        check_init(net, "fc", 256.0 * 144, (nn_init_scheme)s, 1);
        nn_net_free(net);
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_models");
    TCase *tc = tcase_create("models");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_param_counts_match_torch);
    tcase_add_test(tc, test_small_layout);
    tcase_add_test(tc, test_resnet20_layout);
    tcase_add_test(tc, test_mobilenet_layout);
    tcase_add_test(tc, test_models_run);
    tcase_add_test(tc, test_replace_layer_before_finalize);
    tcase_add_test(tc, test_model_errors);
    tcase_add_test(tc, test_init_schemes);
    suite_add_tcase(s, tc);
    return s;
}
