/* pool.c: pooling forward/backward, one (sample, channel) plane at a time. */
#include "nn/pool.h"

#include <math.h>
#include <string.h>

#include "nn/build.h"
#include "nn/par.h"
#include "nn/vec.h"

typedef struct {
    const nn_pool *pl;
    const nn_ctx *c;
    void (*plane)(const nn_pool *pl, const nn_ctx *c, size_t plane);
} pool_job;

static void plane_job(void *arg, int tid, int nt)
{
    const pool_job *j = arg;
    long lo, hi;
    nn_par_range((long)j->c->n * j->pl->c, tid, nt, &lo, &hi);
    for (long q = lo; q < hi; q++)
        j->plane(j->pl, j->c, (size_t)q);
}

static void run_planes(const nn_pool *pl, const nn_ctx *c,
                       void (*plane)(const nn_pool *, const nn_ctx *, size_t))
{
    pool_job j = {pl, c, plane};
    nn_par_run(plane_job, &j, nn_par_threads());
}

/* the window of output (oh, ow) clipped to the input: [*h0, *h1) x [*w0, *w1) */
static void window(const nn_pool *pl, int oh, int ow, int *h0, int *h1, int *w0, int *w1)
{
    int hs = oh * pl->s - pl->p, ws = ow * pl->s - pl->p;
    *h0 = hs > 0 ? hs : 0;
    *w0 = ws > 0 ? ws : 0;
    *h1 = hs + pl->k < pl->h ? hs + pl->k : pl->h;
    *w1 = ws + pl->k < pl->w ? ws + pl->k : pl->w;
}

static void max_fwd_plane(const nn_pool *pl, const nn_ctx *c, size_t q)
{
    const float *x = c->t[pl->base.in[0]].data + q * (size_t)pl->h * (size_t)pl->w;
    size_t yo = q * (size_t)pl->oh * (size_t)pl->ow;
    float *y = c->t[pl->base.out].data + yo;
    int *am = pl->argmax + yo;
    for (int oh = 0; oh < pl->oh; oh++)
        for (int ow = 0; ow < pl->ow; ow++) {
            int h0, h1, w0, w1, best_i = -1;
            window(pl, oh, ow, &h0, &h1, &w0, &w1);
            float best = -INFINITY;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++) {
                    float v = x[ih * pl->w + iw];
                    if (v > best || isnan(v) || best_i < 0) {
                        best = v;
                        best_i = ih * pl->w + iw;
                    }
                }
            y[oh * pl->ow + ow] = best;
            am[oh * pl->ow + ow] = best_i;
        }
}

/* dx[argmax] += dy */
static void max_bwd_plane(const nn_pool *pl, const nn_ctx *c, size_t q)
{
    size_t hw = (size_t)pl->h * (size_t)pl->w, yo = q * (size_t)pl->oh * (size_t)pl->ow;
    float *dx = c->dt[pl->base.in[0]].data + q * hw;
    const float *dy = c->dt[pl->base.out].data + yo;
    const int *am = pl->argmax + yo;
    if (!pl->base.acc[0])
        memset(dx, 0, sizeof(float) * hw);
    for (int i = 0; i < pl->oh * pl->ow; i++)
        dx[am[i]] += dy[i];
}

/* y = sum of the window / K^2 */
static void avg_fwd_plane(const nn_pool *pl, const nn_ctx *c, size_t q)
{
    const float *x = c->t[pl->base.in[0]].data + q * (size_t)pl->h * (size_t)pl->w;
    float *y = c->t[pl->base.out].data + q * (size_t)pl->oh * (size_t)pl->ow;
    float inv = 1.0f / (float)(pl->k * pl->k);
    for (int oh = 0; oh < pl->oh; oh++)
        for (int ow = 0; ow < pl->ow; ow++) {
            int h0, h1, w0, w1;
            window(pl, oh, ow, &h0, &h1, &w0, &w1);
            float s = 0.0f;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    s += x[ih * pl->w + iw];
            y[oh * pl->ow + ow] = s * inv;
        }
}

/* dx[window] += dy / K^2 */
static void avg_bwd_plane(const nn_pool *pl, const nn_ctx *c, size_t q)
{
    size_t hw = (size_t)pl->h * (size_t)pl->w;
    float *dx = c->dt[pl->base.in[0]].data + q * hw;
    const float *dy = c->dt[pl->base.out].data + q * (size_t)pl->oh * (size_t)pl->ow;
    float inv = 1.0f / (float)(pl->k * pl->k);
    if (!pl->base.acc[0])
        memset(dx, 0, sizeof(float) * hw);
    for (int oh = 0; oh < pl->oh; oh++)
        for (int ow = 0; ow < pl->ow; ow++) {
            int h0, h1, w0, w1;
            window(pl, oh, ow, &h0, &h1, &w0, &w1);
            float g = dy[oh * pl->ow + ow] * inv;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    dx[ih * pl->w + iw] += g;
        }
}

/* y = mean of the plane */
static void gap_fwd_plane(const nn_pool *pl, const nn_ctx *c, size_t q)
{
    size_t hw = (size_t)pl->h * (size_t)pl->w;
    c->t[pl->base.out].data[q] = (float)(nn_vec_sum(c->t[pl->base.in[0]].data + q * hw, hw) / (double)hw);
}

/* dx = dy / (H*W) */
static void gap_bwd_plane(const nn_pool *pl, const nn_ctx *c, size_t q)
{
    size_t hw = (size_t)pl->h * (size_t)pl->w;
    float *dx = c->dt[pl->base.in[0]].data + q * hw;
    float g = c->dt[pl->base.out].data[q] / (float)hw;
    for (size_t i = 0; i < hw; i++)
        nn_grad_store(&dx[i], g, pl->base.acc[0]);
}

static void max_forward(nn_layer *l, const nn_ctx *c) { run_planes((nn_pool *)l, c, max_fwd_plane); }
static void avg_forward(nn_layer *l, const nn_ctx *c) { run_planes((nn_pool *)l, c, avg_fwd_plane); }
static void gap_forward(nn_layer *l, const nn_ctx *c) { run_planes((nn_pool *)l, c, gap_fwd_plane); }

static void max_backward(nn_layer *l, const nn_ctx *c)
{
    if (l->need_dx[0])
        run_planes((nn_pool *)l, c, max_bwd_plane);
}

static void avg_backward(nn_layer *l, const nn_ctx *c)
{
    if (l->need_dx[0])
        run_planes((nn_pool *)l, c, avg_bwd_plane);
}

static void gap_backward(nn_layer *l, const nn_ctx *c)
{
    if (l->need_dx[0])
        run_planes((nn_pool *)l, c, gap_bwd_plane);
}

const nn_layer_ops nn_pool_ops[NN_POOL_COUNT] = {
    [NN_POOL_MAX] = {"maxpool", max_forward, max_backward, NULL},
    [NN_POOL_AVG] = {"avgpool", avg_forward, avg_backward, NULL},
    [NN_POOL_GLOBAL_AVG] = {"global_avgpool", gap_forward, gap_backward, NULL},
};

static int window_geometry(nn_pool *pl, const nn_pool_cfg *cfg, qa_err *err)
{
    if (cfg->type == NN_POOL_GLOBAL_AVG) {
        pl->k = pl->h > pl->w ? pl->h : pl->w;
        pl->s = 1;
        pl->oh = pl->ow = 1;
        return QA_OK;
    }
    pl->k = cfg->kernel;
    pl->s = cfg->stride;
    pl->p = cfg->pad;
    if (pl->k < 1 || pl->s < 1 || pl->p < 0 || 2 * pl->p > pl->k)
        return qa_fail(err, QA_ERR_ARG,
                       "layer '%s': kernel %d and stride %d must be >= 1, padding %d in [0, "
                       "kernel/2]", cfg->name, pl->k, pl->s, pl->p);
    pl->oh = pl->h + 2 * pl->p < pl->k ? 0 : (pl->h + 2 * pl->p - pl->k) / pl->s + 1;
    pl->ow = pl->w + 2 * pl->p < pl->k ? 0 : (pl->w + 2 * pl->p - pl->k) / pl->s + 1;
    if (pl->oh < 1 || pl->ow < 1)
        return qa_fail(err, QA_ERR_ARG, "layer '%s': kernel %d does not fit the input %dx%d",
                       cfg->name, pl->k, pl->h, pl->w);
    return QA_OK;
}

int nn_pool_new(nn_net *net, const nn_pool_cfg *cfg, int input, qa_err *err)
{
    if (cfg->type < 0 || cfg->type >= NN_POOL_COUNT)
        return qa_fail(err, QA_ERR_ARG, "layer '%s': unknown pooling type %d",
                       cfg->name ? cfg->name : "(null)", cfg->type);
    nn_pool *pl = nn_build_layer(net, sizeof *pl, &nn_pool_ops[cfg->type], cfg->name, input, -1, err);
    if (!pl)
        return err ? err->code : QA_ERR_ARG;
    const nn_tensor *x = &net->t[input];
    pl->type = cfg->type;
    pl->c = x->d[1];
    pl->h = x->d[2];
    pl->w = x->d[3];
    int rc = window_geometry(pl, cfg, err);
    if (rc < 0)
        return rc;
    if (cfg->type == NN_POOL_MAX) {
        size_t n = (size_t)net->max_batch * (size_t)pl->c * (size_t)pl->oh * (size_t)pl->ow;
        pl->argmax = nn_arena_alloc(&net->arena, n * sizeof(int), err);
        if (!pl->argmax)
            return err ? err->code : QA_ERR_NOMEM;
    }
    return nn_build_finish(net, &pl->base, pl->c, pl->oh, pl->ow, err);
}
