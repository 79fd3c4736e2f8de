/* mlp.c: see mlp.h. */
#include "agent/mlp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/relax.h"
#include "nn/dense.h"
#include "nn/rng.h"

static int add_view(nn_params *p, const char *prefix, const char *name, size_t n, int kind,
                    int *view, qa_err *err)
{
    char full[64];
    snprintf(full, sizeof full, "%s.%s", prefix, name);
    *view = nn_params_add(p, full, n, kind, err);
    return *view < 0 ? *view : QA_OK;
}

int agent_mlp_init(agent_mlp *m, nn_params *p, const char *prefix, int in, int hidden, int out,
                   int max_batch, qa_err *err)
{
    memset(m, 0, sizeof *m);
    if (in < 1 || hidden < 1 || out < 1 || max_batch < 1)
        return qa_fail(err, QA_ERR_ARG, "%s: MLP %d -> %d -> %d for batch %d out of range",
                       prefix, in, hidden, out, max_batch);
    m->in = in;
    m->hidden = hidden;
    m->out = out;
    m->max_batch = max_batch;
    size_t I = (size_t)in, H = (size_t)hidden, O = (size_t)out;
    int rc = add_view(p, prefix, "w1", H * I, NN_PARAM_WEIGHT, &m->v_w1, err);
    if (!rc)
        rc = add_view(p, prefix, "b1", H, NN_PARAM_BIAS, &m->v_b1, err);
    if (!rc)
        rc = add_view(p, prefix, "w2", H * H, NN_PARAM_WEIGHT, &m->v_w2, err);
    if (!rc)
        rc = add_view(p, prefix, "b2", H, NN_PARAM_BIAS, &m->v_b2, err);
    if (!rc)
        rc = add_view(p, prefix, "w3", O * H, NN_PARAM_WEIGHT, &m->v_w3, err);
    if (!rc)
        rc = add_view(p, prefix, "b3", O, NN_PARAM_BIAS, &m->v_b3, err);
    if (rc)
        return rc;
    size_t B = (size_t)max_batch;
    m->x = malloc(B * I * sizeof *m->x);
    m->h1 = malloc(4 * B * H * sizeof *m->h1);
    if (!m->x || !m->h1) {
        agent_mlp_free(m);
        return qa_fail(err, QA_ERR_NOMEM, "%s: out of memory for a batch of %d", prefix,
                       max_batch);
    }
    m->h2 = m->h1 + B * H;
    m->dh1 = m->h2 + B * H;
    m->dh2 = m->dh1 + B * H;
    return QA_OK;
}

void agent_mlp_free(agent_mlp *m)
{
    free(m->x);
    free(m->h1);
    m->x = m->h1 = m->h2 = m->dh1 = m->dh2 = NULL;
}

static void init_uniform(nn_params *p, int view, float bound, uint64_t seed, uint32_t salt)
{
    nn_rng r;
    nn_rng_init(&r, seed, AGENT_STREAM_INIT, salt, (uint32_t)view);
    float *w = nn_params_value(p, view);
    for (size_t i = 0; i < p->views[view].n; i++)
        w[i] = bound * (2.0f * nn_rng_uniform(&r) - 1.0f);
}

void agent_mlp_init_weights(const agent_mlp *m, nn_params *p, uint64_t seed, uint32_t salt,
                            float out_scale)
{
    float b_in = 1.0f / sqrtf((float)m->in), b_h = 1.0f / sqrtf((float)m->hidden);
    init_uniform(p, m->v_w1, b_in, seed, salt);
    init_uniform(p, m->v_b1, b_in, seed, salt);
    init_uniform(p, m->v_w2, b_h, seed, salt);
    init_uniform(p, m->v_b2, b_h, seed, salt);
    init_uniform(p, m->v_w3, b_h * out_scale, seed, salt);
    init_uniform(p, m->v_b3, b_h * out_scale, seed, salt);
}

static void tanh_rows(float *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h[i] = tanhf(h[i]);
}

void agent_mlp_forward(agent_mlp *m, const nn_params *p, const float *x, float *y, int n)
{
    QA_ASSERT(n >= 0 && n <= m->max_batch);
    size_t nh = (size_t)n * (size_t)m->hidden;
    memcpy(m->x, x, (size_t)n * (size_t)m->in * sizeof *x);
    nn_dense_forward_raw(m->in, m->hidden, m->x, nn_params_value(p, m->v_w1),
                         nn_params_value(p, m->v_b1), m->h1, NULL, n, NULL);
    tanh_rows(m->h1, nh);
    nn_dense_forward_raw(m->hidden, m->hidden, m->h1, nn_params_value(p, m->v_w2),
                         nn_params_value(p, m->v_b2), m->h2, NULL, n, NULL);
    tanh_rows(m->h2, nh);
    nn_dense_forward_raw(m->hidden, m->out, m->h2, nn_params_value(p, m->v_w3),
                         nn_params_value(p, m->v_b3), y, NULL, n, NULL);
}

/* dh *= 1 - h^2: through tanh, read from its output */
static void tanh_back(float *dh, const float *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dh[i] *= 1.0f - h[i] * h[i];
}

void agent_mlp_backward(agent_mlp *m, nn_params *p, const float *dy, float *dx, int n)
{
    size_t nh = (size_t)n * (size_t)m->hidden;
    nn_dense_backward_raw(m->hidden, m->out, m->h2, nn_params_value(p, m->v_w3), dy, m->dh2, 0,
                          nn_params_grad(p, m->v_w3), nn_params_grad(p, m->v_b3), NULL, n, NULL);
    tanh_back(m->dh2, m->h2, nh);
    nn_dense_backward_raw(m->hidden, m->hidden, m->h1, nn_params_value(p, m->v_w2), m->dh2,
                          m->dh1, 0, nn_params_grad(p, m->v_w2), nn_params_grad(p, m->v_b2),
                          NULL, n, NULL);
    tanh_back(m->dh1, m->h1, nh);
    nn_dense_backward_raw(m->in, m->hidden, m->x, nn_params_value(p, m->v_w1), m->dh1, dx, 0,
                          nn_params_grad(p, m->v_w1), nn_params_grad(p, m->v_b1), NULL, n, NULL);
}

int64_t agent_mlp_macs(const agent_mlp *m)
{
    return (int64_t)m->hidden * (m->in + m->hidden + m->out);
}
