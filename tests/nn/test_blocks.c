/* test_blocks.c: a model's blocks (nn_model_blocks: names, layer ranges,
 * the tensors between them, refusals), running a net block by block
 * (forward and backward ranges give the whole net's bits) and a frozen
 * net's backward (the input gradient of an unfrozen one, bit for bit, and
 * no parameter gradient written). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/add.h"
#include "nn/conv2d.h"
#include "nn/models.h"
#include "nn/rng.h"

/* batchnorm's gamma, beta and running statistics away from 1 and 0, so
 * that a formula that forgets one of them shows */
static void spread_norms(nn_net *net)
{
    nn_rng r;
    nn_rng_init(&r, 9, NN_STREAM_TEST, 77, 0);
    for (int v = 0; v < net->params.nviews; v++) {
        const nn_param_view *pv = &net->params.views[v];
        if (pv->kind != NN_PARAM_NORM && pv->kind != NN_PARAM_BUFFER)
            continue;
        float *x = nn_params_value(&net->params, v);
        for (size_t i = 0; i < pv->n; i++)
            x[i] += 0.5f + 0.25f * nn_rng_uniform(&r);
    }
}

static nn_net *built(const char *arch, int batch, int side, int finalize)
{
    nn_net *net;
    qa_err err = {0};
    ck_assert_int_eq(nn_model_build(&net, arch, batch, 1, side, side, 5, &err), QA_OK);
    net->input_grad = 1;
    if (finalize) {
        ck_assert_int_eq(nn_net_finalize(net, 7, &err), QA_OK);
        spread_norms(net);
    }
    return net;
}

/* blocks tile the layers in order, each reading the previous one's output */
static void check_tiling(const nn_net *net, const nn_block *b, int nb)
{
    for (int i = 0; i < nb; i++) {
        ck_assert_int_eq(b[i].first, i ? b[i - 1].last + 1 : 0);
        ck_assert_int_le(b[i].first, b[i].last);
        ck_assert_int_eq(b[i].in, i ? b[i - 1].out : 0);
        ck_assert_int_eq(b[i].out, net->layers[b[i].last]->out);
    }
    ck_assert_int_eq(b[nb - 1].last, net->nlayers - 1);
}

START_TEST(test_blocks_of_models)
{
    static const struct {
        const char *arch;
        int n;
        const char *names; /* comma separated */
        const char *first; /* first layer of block 1 */
    } want[] = {
        {"small", 4, "stage1,stage2,stage3,head", "conv2"},
        {"resnet20", 11, "stem,layer1.0,layer1.1,layer1.2,layer2.0,layer2.1,layer2.2,layer3.0,"
                         "layer3.1,layer3.2,head", "layer1.0.conv1"},
        {"mobilenetv2_tiny", 10, "stem,block1,block2,block3,block4,block5,block6,block7,block8,"
                                 "head", "block1.dw"},
    };
    for (size_t m = 0; m < sizeof want / sizeof want[0]; m++) {
        nn_net *net = built(want[m].arch, 1, 28, 0);
        nn_block b[NN_MAX_BLOCKS];
        qa_err err = {0};
        int nb = nn_model_blocks(net, want[m].arch, b, NN_MAX_BLOCKS, &err);
        ck_assert_msg(nb == want[m].n, "%s: %d blocks (%s)", want[m].arch, nb, err.msg);
        char names[4096] = "";
        for (int i = 0; i < nb; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "",
                     b[i].name);
        ck_assert_str_eq(names, want[m].names);
        ck_assert_str_eq(net->layers[b[1].first]->name, want[m].first);
        ck_assert_str_eq(net->layers[b[nb - 1].last]->name, "fc");
        check_tiling(net, b, nb);
        nn_net_free(net);
    }
}
END_TEST

START_TEST(test_blocks_refused)
{
    nn_net *net = built("resnet20", 1, 8, 0);
    nn_block b[NN_MAX_BLOCKS];
    qa_err err = {0};
    ck_assert_int_eq(nn_model_blocks(net, "resnet21", b, NN_MAX_BLOCKS, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown model 'resnet21'"));
    ck_assert_int_eq(nn_model_blocks(net, "resnet20", b, 5, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "more than 5 blocks"));
    nn_net_free(net);
    /* a residual that skips a block boundary: stem conv1, then a block whose
     * add reads the network input */
    ck_assert_int_eq(nn_net_create(&net, 1, 1, 8, 8, &err), QA_OK);
    nn_conv2d_cfg c1 = nn_conv2d_cfg_make("conv1", 1, 3, 1, 1);
    nn_conv2d_cfg c2 = nn_conv2d_cfg_make("layer1.0.conv1", 1, 3, 1, 1);
    int t1 = nn_conv2d_new(net, &c1, 0, &err), t2 = nn_conv2d_new(net, &c2, t1, &err);
    nn_add_cfg ac = {"layer1.0.add"};
    ck_assert_int_ge(nn_add_new(net, &ac, t2, 0, &err), 0);
    ck_assert_int_eq(nn_model_blocks(net, "resnet20", b, NN_MAX_BLOCKS, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "layer layer1.0.add of block layer1.0 reads a tensor "
                                          "from before the block's input"));
    nn_net_free(net);
}
END_TEST

static void fill_input(nn_net *net, int n, uint32_t salt)
{
    nn_rng r;
    nn_rng_init(&r, 5, NN_STREAM_TEST, salt, 0);
    size_t m = (size_t)n * nn_tensor_sample_size(&net->t[0]);
    for (size_t i = 0; i < m; i++)
        nn_net_input(net)[i] = nn_rng_normal(&r);
}

static void fill_output_grad(nn_net *net, int n)
{
    int k = nn_net_output_size(net);
    for (int i = 0; i < n * k; i++)
        nn_net_output_grad(net)[i] = 0.1f * (float)((i % 7) - 3);
}

/* Forward and backward block by block equal the whole net's, bit for bit:
 * output, input gradient, parameter gradients, running statistics. */
START_TEST(test_ranges_equal_whole)
{
    const char *arch = _i ? "mobilenetv2_tiny" : "resnet20";
    nn_net *a = built(arch, 3, 12, 1), *b = built(arch, 3, 12, 1);
    nn_block blk[NN_MAX_BLOCKS];
    qa_err err = {0};
    int nb = nn_model_blocks(b, arch, blk, NN_MAX_BLOCKS, &err);
    ck_assert_int_gt(nb, 3);
    fill_input(a, 3, 1);
    fill_input(b, 3, 1);
    nn_net_forward(a, 3, 1);
    for (int i = 0; i < nb; i++)
        nn_net_forward_range(b, blk[i].first, blk[i].last, 3, 1);
    size_t out = 3 * (size_t)nn_net_output_size(a);
    ck_assert_mem_eq(nn_net_output(a)->data, nn_net_output(b)->data, out * sizeof(float));
    fill_output_grad(a, 3);
    fill_output_grad(b, 3);
    nn_net_zero_grad(a);
    nn_net_zero_grad(b);
    nn_net_backward(a, 3);
    for (int i = nb - 1; i >= 0; i--)
        nn_net_backward_range(b, blk[i].first, blk[i].last, 3);
    ck_assert_mem_eq(a->params.g, b->params.g, a->params.n * sizeof(float));
    ck_assert_mem_eq(a->params.buf, b->params.buf, a->params.nbuf * sizeof(float));
    ck_assert_mem_eq(a->dt[0].data, b->dt[0].data,
                     3 * nn_tensor_sample_size(&a->t[0]) * sizeof(float));
    nn_net_free(a);
    nn_net_free(b);
}
END_TEST

/* A frozen net's input gradient is the unfrozen one's, bit for bit, in
 * either forward mode, and its parameter gradients are never written. */
START_TEST(test_frozen_backward)
{
    int train = _i;
    nn_net *a = built("resnet20", 2, 10, 1), *f = built("resnet20", 2, 10, 1);
    f->frozen = 1;
    fill_input(a, 2, 2);
    fill_input(f, 2, 2);
    nn_net_forward(a, 2, train);
    nn_net_forward(f, 2, train);
    fill_output_grad(a, 2);
    fill_output_grad(f, 2);
    nn_net_zero_grad(a);
    for (size_t i = 0; i < f->params.n; i++)
        f->params.g[i] = 12345.0f;
    nn_net_backward(a, 2);
    nn_net_backward(f, 2);
    ck_assert_mem_eq(a->dt[0].data, f->dt[0].data,
                     2 * nn_tensor_sample_size(&a->t[0]) * sizeof(float));
    double gs = 0;
    for (size_t i = 0; i < a->params.n; i++)
        gs += fabs(a->params.g[i]);
    ck_assert_double_gt(gs, 0);
    for (size_t i = 0; i < f->params.n; i++)
        ck_assert_float_eq(f->params.g[i], 12345.0f);
    nn_net_free(a);
    nn_net_free(f);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_blocks");
    TCase *tc = tcase_create("blocks");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_blocks_of_models);
    tcase_add_test(tc, test_blocks_refused);
    tcase_add_loop_test(tc, test_ranges_equal_whole, 0, 2);
    tcase_add_loop_test(tc, test_frozen_backward, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
