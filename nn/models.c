/* models.c: small, resnet20 and mobilenetv2_tiny from the layer constructors. */
#include "nn/models.h"

#include <stdio.h>
#include <string.h>

#include "nn/act.h"
#include "nn/add.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/pool.h"

/* conv (no bias) -> BN -> activation (act < 0: none), named
 * <prefix><conv>, <prefix><bn>, <prefix><act>; returns the last tensor */
typedef struct {
    const char *conv, *bn, *act;
} cba_names;

static int conv_bn_act(nn_net *net, const char *prefix, cba_names nm, int in, int oc, int k,
                       int stride, int groups, int act, qa_err *err)
{
    char n1[32], n2[32], n3[32];
    snprintf(n1, sizeof n1, "%s%s", prefix, nm.conv);
    snprintf(n2, sizeof n2, "%s%s", prefix, nm.bn);
    snprintf(n3, sizeof n3, "%s%s", prefix, nm.act ? nm.act : "");
    nn_conv2d_cfg cc = nn_conv2d_cfg_make(n1, oc, k, stride, k / 2);
    cc.groups = groups;
    int t = nn_conv2d_new(net, &cc, in, err);
    if (t < 0)
        return t;
    nn_batchnorm2d_cfg bc = {n2, 0, 0};
    t = nn_batchnorm2d_new(net, &bc, t, err);
    if (t < 0 || act < 0)
        return t;
    nn_act_cfg ac = {n3, act};
    return nn_act_new(net, &ac, t, err);
}

static int pool_fc(nn_net *net, int in, int nclass, qa_err *err)
{
    nn_pool_cfg pc = {"pool", NN_POOL_GLOBAL_AVG, 0, 0, 0};
    int t = nn_pool_new(net, &pc, in, err);
    if (t < 0)
        return t;
    nn_dense_cfg dc = {"fc", nclass, 1};
    return nn_dense_new(net, &dc, t, err);
}

static const cba_names PLAIN1 = {"conv1", "bn1", "relu1"};

static int build_small(nn_net *net, int nclass, qa_err *err)
{
    static const cba_names nm[3] = {{"conv1", "bn1", "relu1"}, {"conv2", "bn2", "relu2"},
                                    {"conv3", "bn3", "relu3"}};
    static const int width[3] = {16, 32, 64}, stride[3] = {1, 2, 2};
    int t = 0;
    for (int i = 0; i < 3 && t >= 0; i++)
        t = conv_bn_act(net, "", nm[i], t, width[i], 3, stride[i], 1, NN_ACT_RELU, err);
    return t < 0 ? t : pool_fc(net, t, nclass, err);
}

/* relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)) */
int nn_model_basic_block(nn_net *net, const char *prefix, int in, int oc, int stride,
                         qa_err *err)
{
    static const cba_names second = {"conv2", "bn2", NULL}, shortcut = {"short.conv", "short.bn", NULL};
    int cin = net->t[in].d[1];
    int t = conv_bn_act(net, prefix, PLAIN1, in, oc, 3, stride, 1, NN_ACT_RELU, err);
    if (t >= 0)
        t = conv_bn_act(net, prefix, second, t, oc, 3, 1, 1, -1, err);
    int s = in;
    if (t >= 0 && (stride != 1 || cin != oc))
        s = conv_bn_act(net, prefix, shortcut, in, oc, 1, stride, 1, -1, err);
    if (t < 0 || s < 0)
        return t < 0 ? t : s;
    char n1[32], n2[32];
    snprintf(n1, sizeof n1, "%sadd", prefix);
    snprintf(n2, sizeof n2, "%srelu", prefix);
    nn_add_cfg adc = {n1};
    t = nn_add_new(net, &adc, t, s, err);
    nn_act_cfg ac = {n2, NN_ACT_RELU};
    return t < 0 ? t : nn_act_new(net, &ac, t, err);
}

static int build_resnet20(nn_net *net, int nclass, qa_err *err)
{
    int t = conv_bn_act(net, "", PLAIN1, 0, 16, 3, 1, 1, NN_ACT_RELU, err);
    static const int width[3] = {16, 32, 64}, stride[3] = {1, 2, 2};
    for (int s = 0; s < 3; s++)
        for (int b = 0; b < 3 && t >= 0; b++) {
            char prefix[24];
            snprintf(prefix, sizeof prefix, "layer%d.%d.", s + 1, b);
            t = nn_model_basic_block(net, prefix, t, width[s], b == 0 ? stride[s] : 1, err);
        }
    return t < 0 ? t : pool_fc(net, t, nclass, err);
}

/* [1x1 expand -> BN -> ReLU6] -> 3x3 depthwise -> BN -> ReLU6 -> 1x1 project
 * -> BN (+ x when stride 1 and same width) */
static int inverted_residual(nn_net *net, int index, int in, int expand, int oc, int stride,
                             qa_err *err)
{
    static const cba_names ex = {"expand", "expand_bn", "expand_relu"},
                           dw = {"dw", "dw_bn", "dw_relu"}, pj = {"project", "project_bn", NULL};
    char prefix[24];
    snprintf(prefix, sizeof prefix, "block%d.", index);
    int cin = net->t[in].d[1], hidden = cin * expand, t = in;
    if (expand != 1)
        t = conv_bn_act(net, prefix, ex, t, hidden, 1, 1, 1, NN_ACT_RELU6, err);
    if (t >= 0)
        t = conv_bn_act(net, prefix, dw, t, hidden, 3, stride, hidden, NN_ACT_RELU6, err);
    if (t >= 0)
        t = conv_bn_act(net, prefix, pj, t, oc, 1, 1, 1, -1, err);
    if (t < 0 || stride != 1 || cin != oc)
        return t;
    char name[32];
    snprintf(name, sizeof name, "%sadd", prefix);
    nn_add_cfg adc = {name};
    return nn_add_new(net, &adc, t, in, err);
}

static int build_mobilenetv2_tiny(nn_net *net, int nclass, qa_err *err)
{
    static const cba_names stem = {"conv", "bn", "relu"};
    /* expansion, width, repeats, first stride (MobileNetV2's table, cut to 8 blocks) */
    static const int stages[5][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 2, 2}, {6, 64, 2, 1},
                                     {6, 96, 1, 1}};
    int t = conv_bn_act(net, "stem.", stem, 0, 16, 3, 1, 1, NN_ACT_RELU6, err);
    int index = 1;
    for (int s = 0; s < 5; s++)
        for (int r = 0; r < stages[s][2] && t >= 0; r++)
            t = inverted_residual(net, index++, t, stages[s][0], stages[s][1],
                                  r == 0 ? stages[s][3] : 1, err);
    if (t >= 0)
        t = conv_bn_act(net, "head.", stem, t, 256, 1, 1, 1, NN_ACT_RELU6, err);
    return t < 0 ? t : pool_fc(net, t, nclass, err);
}

/* Block of a layer by its name (models.h): small's stage digit, the prefix
 * before the first (mobilenet) or second (resnet20 "layer") dot, else stem
 * or head by what the name says. */
static void key_small(const char *name, char *key, size_t n)
{
    const char *d = strpbrk(name, "123456789");
    if (d && strncmp(name, "pool", 4) != 0 && strcmp(name, "fc") != 0)
        snprintf(key, n, "stage%c", *d);
    else
        snprintf(key, n, "head");
}

static void key_resnet20(const char *name, char *key, size_t n)
{
    const char *dot = strncmp(name, "layer", 5) == 0 ? strchr(name, '.') : NULL;
    const char *dot2 = dot ? strchr(dot + 1, '.') : NULL;
    if (dot2)
        snprintf(key, n, "%.*s", (int)(dot2 - name), name);
    else
        snprintf(key, n, "%s", strcmp(name, "pool") == 0 || strcmp(name, "fc") == 0 ? "head" : "stem");
}

static void key_mobilenet(const char *name, char *key, size_t n)
{
    const char *dot = strchr(name, '.');
    if (dot)
        snprintf(key, n, "%.*s", (int)(dot - name), name);
    else
        snprintf(key, n, "head"); /* pool, fc */
}

typedef struct {
    const char *name;
    int (*build)(nn_net *net, int nclass, qa_err *err);
    void (*block_key)(const char *layer, char *key, size_t n);
} model_entry;

static const model_entry MODELS[] = {
    {"small", build_small, key_small},
    {"resnet20", build_resnet20, key_resnet20},
    {"mobilenetv2_tiny", build_mobilenetv2_tiny, key_mobilenet},
};
#define NMODELS ((int)(sizeof MODELS / sizeof MODELS[0]))

const char *const *nn_model_names(void)
{
    static const char *names[NMODELS + 1];
    for (int i = 0; i < NMODELS; i++)
        names[i] = MODELS[i].name;
    names[NMODELS] = NULL;
    return names;
}

static int unknown_model(const char *arch, qa_err *err)
{
    char list[256] = "";
    for (int i = 0; i < NMODELS; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, MODELS[i].name, sizeof list - strlen(list) - 1);
    }
    return qa_fail(err, QA_ERR_ARG, "unknown model '%s' (known: %s)", arch ? arch : "(null)", list);
}

static const model_entry *find_model(const char *arch)
{
    for (int i = 0; i < NMODELS && arch; i++)
        if (strcmp(arch, MODELS[i].name) == 0)
            return &MODELS[i];
    return NULL;
}

int nn_model_build(nn_net **out, const char *arch, int max_batch, int c, int h, int w,
                   int nclass, qa_err *err)
{
    *out = NULL;
    const model_entry *m = find_model(arch);
    if (!m)
        return unknown_model(arch, err);
    if (nclass < 1)
        return qa_fail(err, QA_ERR_ARG, "model '%s': nclass %d must be >= 1", arch, nclass);
    nn_net *net;
    int rc = nn_net_create(&net, max_batch, c, h, w, err);
    if (rc < 0)
        return rc;
    rc = m->build(net, nclass, err);
    if (rc < 0) {
        qa_err_prefix(err, "model '%s' for %dx%dx%d input: ", arch, c, h, w);
        nn_net_free(net);
        return rc;
    }
    *out = net;
    return QA_OK;
}

/* index of the layer writing tensor t, -1 for the input */
static int producer(const nn_net *net, int t)
{
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i]->out == t)
            return i;
    return -1;
}

/* Every input of b's layers comes from b itself or is b->in. */
static int check_block(const nn_net *net, const nn_block *b, const char *arch, qa_err *err)
{
    for (int i = b->first; i <= b->last; i++) {
        const nn_layer *l = net->layers[i];
        for (int k = 0; k < l->nin; k++) {
            int p = producer(net, l->in[k]);
            if (l->in[k] != b->in && (p < b->first || p > b->last))
                return qa_fail(err, QA_ERR_ARG, "model '%s': layer %s of block %s reads a "
                               "tensor from before the block's input", arch, l->name, b->name);
        }
    }
    return QA_OK;
}

int nn_model_blocks(const nn_net *net, const char *arch, nn_block *out, int max, qa_err *err)
{
    const model_entry *m = find_model(arch);
    if (!m)
        return unknown_model(arch, err);
    int nb = 0;
    char key[32];
    for (int i = 0; i < net->nlayers; i++) {
        m->block_key(net->layers[i]->name, key, sizeof key);
        if (nb > 0 && strcmp(out[nb - 1].name, key) == 0) {
            out[nb - 1].last = i;
            out[nb - 1].out = net->layers[i]->out;
            continue;
        }
        if (nb == max)
            return qa_fail(err, QA_ERR_ARG, "model '%s': more than %d blocks", arch, max);
        nn_block *b = &out[nb++];
        snprintf(b->name, sizeof b->name, "%s", key);
        b->first = b->last = i;
        b->in = nb > 1 ? out[nb - 2].out : 0;
        b->out = net->layers[i]->out;
    }
    for (int i = 0; i < nb; i++) {
        int rc = check_block(net, &out[i], arch, err);
        if (rc)
            return rc;
    }
    return nb;
}
