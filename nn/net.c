/* net.c: building, finalizing and running a layer list. */
#include "nn/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nn_net_create(nn_net **out, int max_batch, int c, int h, int w, qa_err *err)
{
    *out = NULL;
    if (max_batch < 1 || c < 1 || h < 1 || w < 1)
        return qa_fail(err, QA_ERR_ARG, "network input must be positive, got batch %d shape %dx%dx%d",
                       max_batch, c, h, w);
    nn_net *net = calloc(1, sizeof *net);
    if (!net)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating a network");
    net->max_batch = max_batch;
    nn_arena_init(&net->arena);
    nn_params_init(&net->params);
    int rc = nn_net_add_tensor(net, c, h, w, err);
    if (rc < 0) {
        nn_net_free(net);
        return rc;
    }
    *out = net;
    return QA_OK;
}

void nn_net_free(nn_net *net)
{
    if (!net)
        return;
    nn_params_free(&net->params);
    nn_arena_free(&net->arena);
    free(net->t);
    free(net->dt);
    free(net->layers);
    free(net);
}

static int grow(void **arr, int *cap, int need, size_t elem, qa_err *err)
{
    if (need <= *cap)
        return QA_OK;
    int cap2 = *cap ? 2 * *cap : 16;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(*arr, (size_t)cap2 * elem);
    if (!p)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory growing a network");
    *arr = p;
    *cap = cap2;
    return QA_OK;
}

int nn_net_add_tensor(nn_net *net, int c, int h, int w, qa_err *err)
{
    QA_ASSERT(!net->finalized);
    if (c < 1 || h < 1 || w < 1)
        return qa_fail(err, QA_ERR_ARG, "tensor shape %dx%dx%d is empty", c, h, w);
    int cap = net->cap_tensors;
    int rc = grow((void **)&net->t, &cap, net->ntensors + 1, sizeof *net->t, err);
    if (rc == QA_OK)
        rc = grow((void **)&net->dt, &net->cap_tensors, net->ntensors + 1, sizeof *net->dt, err);
    if (rc < 0)
        return rc;
    nn_tensor s = {NULL, {net->max_batch, c, h, w}};
    net->t[net->ntensors] = s;
    net->dt[net->ntensors] = s;
    return net->ntensors++;
}

void *nn_net_new_layer(nn_net *net, size_t size, const nn_layer_ops *ops, const char *name,
                       qa_err *err)
{
    QA_ASSERT(size >= sizeof(nn_layer));
    nn_layer *l = nn_arena_alloc(&net->arena, size, err);
    if (!l)
        return NULL;
    l->ops = ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    return l;
}

int nn_net_add_layer(nn_net *net, nn_layer *l, qa_err *err)
{
    QA_ASSERT(!net->finalized);
    QA_ASSERT(l->nin >= 1 && l->nin <= 2 && l->out > 0 && l->out < net->ntensors);
    for (int i = 0; i < l->nin; i++)
        QA_ASSERT(l->in[i] >= 0 && l->in[i] < l->out);
    if (nn_net_find_layer(net, l->name) >= 0)
        return qa_fail(err, QA_ERR_ARG, "two layers are named '%s'", l->name);
    int rc = grow((void **)&net->layers, &net->cap_layers, net->nlayers + 1, sizeof *net->layers, err);
    if (rc < 0)
        return rc;
    net->layers[net->nlayers] = l;
    return net->nlayers++;
}

void nn_net_replace_layer(nn_net *net, int i, nn_layer *l)
{
    QA_ASSERT(i >= 0 && i < net->nlayers && !net->finalized);
    const nn_layer *old = net->layers[i];
    l->nin = old->nin;
    memcpy(l->in, old->in, sizeof l->in);
    l->out = old->out;
    net->layers[i] = l;
}

void nn_net_need_scratch(nn_net *net, size_t floats)
{
    if (floats > net->scratch_n)
        net->scratch_n = floats;
}

float *nn_net_batch_buffer(nn_net *net, size_t per_sample, qa_err *err)
{
    net->batch_floats += per_sample;
    return nn_arena_floats(&net->arena, (size_t)net->max_batch * per_sample, err);
}

/* In backward order the first consumer of a tensor overwrites its gradient
 * and later ones accumulate; the input's gradient is skipped unless asked. */
static int plan_gradients(nn_net *net, qa_err *err)
{
    char *seen = calloc((size_t)net->ntensors, 1);
    if (!seen)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory finalizing a network");
    for (int li = net->nlayers - 1; li >= 0; li--) {
        nn_layer *l = net->layers[li];
        for (int i = 0; i < l->nin; i++) {
            l->need_dx[i] = l->in[i] != 0 || net->input_grad;
            l->acc[i] = seen[l->in[i]];
            seen[l->in[i]] = 1;
        }
    }
    free(seen);
    return QA_OK;
}

int nn_net_finalize(nn_net *net, uint64_t seed, qa_err *err)
{
    QA_ASSERT(!net->finalized);
    if (net->nlayers == 0)
        return qa_fail(err, QA_ERR_ARG, "network has no layers");
    int rc = nn_params_alloc(&net->params, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < net->ntensors; i++) {
        size_t n = (size_t)net->max_batch * nn_tensor_sample_size(&net->t[i]);
        net->t[i].data = nn_arena_floats(&net->arena, n, err);
        net->dt[i].data = nn_arena_floats(&net->arena, n, err);
        if (!net->t[i].data || !net->dt[i].data)
            return err ? err->code : QA_ERR_NOMEM;
    }
    if (net->scratch_n) {
        net->scratch = nn_arena_floats(&net->arena, net->scratch_n, err);
        if (!net->scratch)
            return err ? err->code : QA_ERR_NOMEM;
    }
    rc = plan_gradients(net, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = net->layers[i];
        if (l->ops->init) {
            nn_rng rng;
            nn_rng_init(&rng, seed, NN_STREAM_INIT, (uint32_t)i, 0);
            l->ops->init(l, &net->params, &rng, net->init);
        }
    }
    net->finalized = 1;
    return QA_OK;
}

float *nn_net_input(nn_net *net)
{
    return net->t[0].data;
}

const nn_tensor *nn_net_output(const nn_net *net)
{
    return &net->t[net->layers[net->nlayers - 1]->out];
}

float *nn_net_output_grad(nn_net *net)
{
    return net->dt[net->layers[net->nlayers - 1]->out].data;
}

int nn_net_output_size(const nn_net *net)
{
    return (int)nn_tensor_sample_size(nn_net_output(net));
}

static nn_ctx make_ctx(nn_net *net, int n, int train)
{
    QA_ASSERT(net->finalized && n >= 1 && n <= net->max_batch);
    for (int i = 0; i < net->ntensors; i++) {
        net->t[i].d[0] = n;
        net->dt[i].d[0] = n;
    }
    nn_ctx c = {n, train, net->t, net->dt, &net->params, net->scratch, net->frozen};
    return c;
}

void nn_net_forward_range(nn_net *net, int first, int last, int n, int train)
{
    QA_ASSERT(first >= 0 && last < net->nlayers && first <= last);
    nn_ctx c = make_ctx(net, n, train);
    for (int i = first; i <= last; i++)
        net->layers[i]->ops->forward(net->layers[i], &c);
}

void nn_net_backward_range(nn_net *net, int first, int last, int n)
{
    QA_ASSERT(first >= 0 && last < net->nlayers && first <= last);
    nn_ctx c = make_ctx(net, n, 1);
    for (int i = last; i >= first; i--)
        net->layers[i]->ops->backward(net->layers[i], &c);
}

void nn_net_forward(nn_net *net, int n, int train)
{
    nn_net_forward_range(net, 0, net->nlayers - 1, n, train);
}

void nn_net_backward(nn_net *net, int n)
{
    nn_net_backward_range(net, 0, net->nlayers - 1, n);
}

void nn_net_zero_grad(nn_net *net)
{
    nn_params_zero_grad(&net->params);
}

size_t nn_net_bytes(const nn_net *net)
{
    const nn_params *p = &net->params;
    return net->arena.used + (2 * p->n + p->nbuf) * sizeof(float);
}

size_t nn_net_sample_bytes(const nn_net *net)
{
    size_t floats = net->batch_floats;
    for (int i = 0; i < net->ntensors; i++)
        floats += 2 * nn_tensor_sample_size(&net->t[i]); /* t and dt */
    return floats * sizeof(float);
}

int64_t nn_net_macs(const nn_net *net)
{
    int64_t m = 0;
    for (int i = 0; i < net->nlayers; i++)
        m += net->layers[i]->macs;
    return m;
}

int nn_net_find_layer(const nn_net *net, const char *name)
{
    for (int i = 0; i < net->nlayers; i++)
        if (strcmp(net->layers[i]->name, name) == 0)
            return i;
    return -1;
}
