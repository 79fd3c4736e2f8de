/* build.c: shared constructor steps. */
#include "nn/build.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void *nn_build_layer(nn_net *net, size_t size, const nn_layer_ops *ops, const char *name,
                     int in0, int in1, qa_err *err)
{
    QA_ASSERT(!net->finalized);
    size_t max = sizeof(((nn_layer *)0)->name);
    if (!name || !*name || strlen(name) >= max) {
        qa_fail(err, QA_ERR_ARG, "%s layer name '%s' must have 1 to %zu characters", ops->type,
                name ? name : "(null)", max - 1);
        return NULL;
    }
    if (nn_net_find_layer(net, name) >= 0) {
        qa_fail(err, QA_ERR_ARG, "two layers are named '%s'", name);
        return NULL;
    }
    if (in0 < 0 || in0 >= net->ntensors || in1 < -1 || in1 >= net->ntensors) {
        qa_fail(err, QA_ERR_ARG, "layer '%s': input tensor ids %d, %d do not exist (%d tensors)",
                name, in0, in1, net->ntensors);
        return NULL;
    }
    nn_layer *l = nn_net_new_layer(net, size, ops, name, err);
    if (!l)
        return NULL;
    l->nin = in1 < 0 ? 1 : 2;
    l->in[0] = in0;
    l->in[1] = in1 < 0 ? 0 : in1;
    return l;
}

int nn_build_param(nn_net *net, const nn_layer *l, const char *suffix, size_t n,
                   nn_param_kind kind, qa_err *err)
{
    char pname[96];
    snprintf(pname, sizeof pname, "%s.%s", l->name, suffix);
    return nn_params_add(&net->params, pname, n, kind, err);
}

int nn_build_finish(nn_net *net, nn_layer *l, int c, int h, int w, qa_err *err)
{
    int out = nn_net_add_tensor(net, c, h, w, err);
    if (out < 0)
        return out;
    l->out = out;
    int rc = nn_net_add_layer(net, l, err);
    return rc < 0 ? rc : out;
}

void nn_init_fill(float *w, size_t n, double fan_in, nn_init_scheme s, nn_rng *rng)
{
    if (s == NN_INIT_HE_NORMAL) {
        float std = (float)sqrt(2.0 / fan_in);
        for (size_t i = 0; i < n; i++)
            w[i] = std * nn_rng_normal(rng);
        return;
    }
    float bound = (float)(1.0 / sqrt(fan_in));
    for (size_t i = 0; i < n; i++)
        w[i] = bound * (2.0f * nn_rng_uniform(rng) - 1.0f);
}

void nn_init_bias(float *b, size_t n, double fan_in, nn_init_scheme s, nn_rng *rng)
{
    if (s == NN_INIT_HE_NORMAL) {
        for (size_t i = 0; i < n; i++)
            b[i] = 0.0f;
        return;
    }
    nn_init_fill(b, n, fan_in, s, rng);
}
