/* param.c: registration and allocation of the flat parameter arrays. */
#include "nn/param.h"

#include <stdlib.h>
#include <string.h>

void nn_params_init(nn_params *p)
{
    memset(p, 0, sizeof *p);
}

int nn_params_add(nn_params *p, const char *name, size_t n, nn_param_kind kind, qa_err *err)
{
    QA_ASSERT(!p->allocated);
    if (strlen(name) >= sizeof p->views[0].name)
        return qa_fail(err, QA_ERR_ARG, "parameter name '%s' is too long", name);
    if (nn_params_find(p, name) >= 0)
        return qa_fail(err, QA_ERR_ARG, "parameter '%s' is registered twice", name);
    if (p->nviews == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        nn_param_view *v = realloc(p->views, (size_t)cap * sizeof *v);
        if (!v)
            return qa_fail(err, QA_ERR_NOMEM, "out of memory registering parameter '%s'", name);
        p->views = v;
        p->cap = cap;
    }
    nn_param_view *v = &p->views[p->nviews];
    memset(v, 0, sizeof *v);
    strcpy(v->name, name);
    v->n = n;
    v->kind = kind;
    v->decay_mult = 1.0f;
    v->lr_mult = 1.0f;
    /* 16-float alignment keeps every view on its own cache line for SIMD. */
    size_t padded = (n + 15) & ~(size_t)15;
    if (kind == NN_PARAM_BUFFER) {
        v->off = p->nbuf;
        p->nbuf += padded;
    } else {
        v->off = p->n;
        p->n += padded;
    }
    return p->nviews++;
}

static float *alloc_floats(size_t n)
{
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *f = aligned_alloc(64, bytes);
    if (f)
        memset(f, 0, bytes);
    return f;
}

int nn_params_alloc(nn_params *p, qa_err *err)
{
    QA_ASSERT(!p->allocated);
    p->w = alloc_floats(p->n);
    p->g = alloc_floats(p->n);
    p->buf = alloc_floats(p->nbuf);
    if (!p->w || !p->g || !p->buf)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory allocating %zu parameters", p->n);
    p->allocated = 1;
    return QA_OK;
}

void nn_params_free(nn_params *p)
{
    free(p->w);
    free(p->g);
    free(p->buf);
    free(p->views);
    memset(p, 0, sizeof *p);
}

float *nn_params_value(const nn_params *p, int view)
{
    QA_ASSERT(p->allocated && view >= 0 && view < p->nviews);
    const nn_param_view *v = &p->views[view];
    return (v->kind == NN_PARAM_BUFFER ? p->buf : p->w) + v->off;
}

float *nn_params_grad(const nn_params *p, int view)
{
    QA_ASSERT(p->allocated && view >= 0 && view < p->nviews);
    const nn_param_view *v = &p->views[view];
    return v->kind == NN_PARAM_BUFFER ? NULL : p->g + v->off;
}

void nn_params_zero_grad(nn_params *p)
{
    memset(p->g, 0, p->n * sizeof(float));
}

int nn_params_find(const nn_params *p, const char *name)
{
    for (int i = 0; i < p->nviews; i++)
        if (strcmp(p->views[i].name, name) == 0)
            return i;
    return -1;
}

size_t nn_params_trainable(const nn_params *p)
{
    size_t n = 0;
    for (int i = 0; i < p->nviews; i++)
        if (p->views[i].kind != NN_PARAM_BUFFER)
            n += p->views[i].n;
    return n;
}
