/* optim.c: SGD with momentum, AdamW, and learning-rate schedules, written
 * as PyTorch 1.13's single-tensor implementations so that a step here and
 * there differ only by float rounding. */
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>

static float *alloc_moment(size_t n)
{
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *m = aligned_alloc(64, bytes);
    for (size_t i = 0; m && i < bytes / sizeof(float); i++)
        m[i] = 0.0f;
    return m;
}

static int check_cfg(const nn_optim_cfg *c, qa_err *err)
{
    if (c->type < 0 || c->type >= NN_OPT_COUNT)
        return qa_fail(err, QA_ERR_ARG, "optimizer type %d is not sgd (0) or adamw (1)", c->type);
    if (!(c->lr >= 0) || !(c->weight_decay >= 0) || !(c->momentum >= 0 && c->momentum < 1))
        return qa_fail(err, QA_ERR_ARG,
                       "optimizer: lr %g and weight_decay %g must be >= 0, momentum %g in [0, 1)",
                       c->lr, c->weight_decay, c->momentum);
    if (c->nesterov && c->momentum == 0)
        return qa_fail(err, QA_ERR_ARG, "optimizer: nesterov needs momentum > 0");
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps >= 0))
        return qa_fail(err, QA_ERR_ARG, "optimizer: betas (%g, %g) must be in [0, 1), eps %g >= 0",
                       c->beta1, c->beta2, c->eps);
    return QA_OK;
}

int nn_optim_create(nn_optim **out, const nn_optim_cfg *cfg, nn_params *p, qa_err *err)
{
    *out = NULL;
    QA_ASSERT(p->allocated);
    int rc = check_cfg(cfg, err);
    if (rc < 0)
        return rc;
    nn_optim *o = calloc(1, sizeof *o);
    if (!o)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating an optimizer");
    o->cfg = *cfg;
    if (cfg->type == NN_OPT_ADAMW && cfg->beta1 == 0 && cfg->beta2 == 0) {
        o->cfg.beta1 = 0.9f;
        o->cfg.beta2 = 0.999f;
    }
    if (cfg->type == NN_OPT_ADAMW && cfg->eps == 0)
        o->cfg.eps = 1e-8f;
    o->p = p;
    o->m = alloc_moment(p->n);
    o->v = cfg->type == NN_OPT_ADAMW ? alloc_moment(p->n) : NULL;
    if (!o->m || (cfg->type == NN_OPT_ADAMW && !o->v)) {
        nn_optim_free(o);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the moments of %zu parameters", p->n);
    }
    *out = o;
    return QA_OK;
}

size_t nn_optim_bytes(const nn_optim *o)
{
    return o->p->n * sizeof(float) * (o->v ? 2u : 1u);
}

void nn_optim_free(nn_optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

/* d = g + wd w; buf = mu buf + d; w -= lr (nesterov ? d + mu buf : buf) */
static void sgd_view(const nn_optim *o, size_t off, size_t n, float lr, float wd)
{
    float *w = o->p->w + off, *g = o->p->g + off, *buf = o->m + off;
    float mu = o->cfg.momentum;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        buf[i] = mu * buf[i] + d;
        w[i] -= lr * (o->cfg.nesterov ? d + mu * buf[i] : buf[i]);
    }
}

static void adamw_view(const nn_optim *o, size_t off, size_t n, float lr, float wd)
{
    float *w = o->p->w + off, *g = o->p->g + off, *m = o->m + off, *v = o->v + off;
    float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = 1.0 - pow(b2, (double)o->t);
    float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2), decay = 1.0f - lr * wd;
    for (size_t i = 0; i < n; i++) {
        w[i] *= decay;
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= step * m[i] / (sqrtf(v[i]) / bc2s + eps);
    }
}

void nn_optim_step(nn_optim *o, float lr)
{
    o->t++;
    for (int i = 0; i < o->p->nviews; i++) {
        const nn_param_view *v = &o->p->views[i];
        if (v->kind == NN_PARAM_BUFFER)
            continue;
        float lr_v = lr * v->lr_mult, wd_v = o->cfg.weight_decay * v->decay_mult;
        if (o->cfg.type == NN_OPT_SGD)
            sgd_view(o, v->off, v->n, lr_v, wd_v);
        else
            adamw_view(o, v->off, v->n, lr_v, wd_v);
    }
}

int nn_sched_check(const nn_sched_cfg *s, qa_err *err)
{
    if (s->type < 0 || s->type >= NN_SCHED_COUNT)
        return qa_fail(err, QA_ERR_ARG, "schedule type %d is not const, cosine or step", s->type);
    if (!(s->base_lr >= 0) || s->warmup_steps < 0)
        return qa_fail(err, QA_ERR_ARG, "schedule: base_lr %g and warmup_steps %ld must be >= 0",
                       s->base_lr, s->warmup_steps);
    if (s->type == NN_SCHED_STEP && (s->step_size < 1 || !(s->gamma > 0)))
        return qa_fail(err, QA_ERR_ARG, "step schedule: step_size %ld must be >= 1, gamma %g > 0",
                       s->step_size, s->gamma);
    return QA_OK;
}

float nn_sched_lr(const nn_sched_cfg *s, long step, long total_steps)
{
    double base = s->base_lr;
    if (step < s->warmup_steps)
        return (float)(base * (double)(step + 1) / (double)s->warmup_steps);
    long k = step - s->warmup_steps, total = total_steps - s->warmup_steps;
    switch (s->type) {
    case NN_SCHED_COSINE:
        return total < 1 ? 0.0f : (float)(base * 0.5 * (1.0 + cos(M_PI * (double)k / (double)total)));
    case NN_SCHED_STEP:
        return (float)(base * pow(s->gamma, (double)(k / s->step_size)));
    default:
        return (float)base;
    }
}
