/* dense.c: fully connected layer and its raw kernels. */
#include "nn/dense.h"

#include <math.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/build.h"
#include "nn/par.h"

/* Below this many multiply-adds a product is one share: waking the pool
 * would cost more than it saves. Above, it is nn_par_shares() shares,
 * however many threads run them: OpenBLAS rounds a row of a product
 * differently in products of different heights. */
#define PAR_MIN_MACS (1L << 18)

typedef struct {
    int in, out, n, dx_acc;
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *db;
} dense_job;

static int job_shares(const dense_job *j)
{
    return (long)j->n * j->in * j->out >= PAR_MIN_MACS ? nn_par_shares() : 1;
}

/* rows [lo, hi) of y = x @ w^T + b */
static void forward_job(void *arg, int s, int ns)
{
    const dense_job *j = arg;
    long lo, hi;
    nn_par_range(j->n, s, ns, &lo, &hi);
    if (hi == lo)
        return;
    float *y = j->y + lo * j->out;
    nn_sgemm(0, 1, (int)(hi - lo), j->out, j->in, 1.0f, j->x + lo * j->in, j->in, j->w, j->in,
             0.0f, y, j->out);
    if (j->b)
        for (long s = 0; s < hi - lo; s++)
            for (int o = 0; o < j->out; o++)
                y[s * j->out + o] += j->b[o];
}

/* dw rows [lo, hi) += dy[:, lo:hi]^T @ x and db[lo:hi] += column sums of dy;
 * then dx rows [lo, hi) (over samples) = dy @ w. Both splits are over
 * independent outputs, so every element has a single writer. */
static void backward_job(void *arg, int s, int ns)
{
    const dense_job *j = arg;
    long lo, hi;
    nn_par_range(j->out, s, ns, &lo, &hi);
    if (j->dw && hi > lo)
        nn_sgemm(1, 0, (int)(hi - lo), j->in, j->n, 1.0f, j->dy + lo, j->out, j->x, j->in, 1.0f,
                 j->dw + lo * j->in, j->in);
    if (j->db)
        for (long o = lo; o < hi; o++) {
            double s = 0;
            for (int i = 0; i < j->n; i++)
                s += j->dy[(size_t)i * (size_t)j->out + (size_t)o];
            j->db[o] += (float)s;
        }
    nn_par_range(j->n, s, ns, &lo, &hi);
    if (j->dx && hi > lo)
        nn_sgemm(0, 0, (int)(hi - lo), j->in, j->out, 1.0f, j->dy + lo * j->out, j->out, j->w,
                 j->in, j->dx_acc ? 1.0f : 0.0f, j->dx + lo * j->in, j->in);
}

size_t nn_dense_scratch_floats(int in, int out, int n)
{
    return (size_t)n * (2 * (size_t)in + (size_t)out);
}

static void gather_rows(float *dst, const float *src, int width, const int *idx, int n)
{
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * (size_t)width, src + (size_t)idx[i] * (size_t)width,
               sizeof(float) * (size_t)width);
}

void nn_dense_forward_raw(int in, int out, const float *x, const float *w, const float *b,
                          float *y, const int *idx, int n, float *scratch)
{
    dense_job j = {.in = in, .out = out, .n = n, .x = x, .w = w, .b = b, .y = y};
    if (n < 1)
        return;
    if (idx) {
        gather_rows(scratch, x, in, idx, n);
        j.x = scratch;
        j.y = scratch + (size_t)n * (size_t)in;
    }
    nn_par_run(forward_job, &j, job_shares(&j));
    if (idx)
        for (int i = 0; i < n; i++)
            memcpy(y + (size_t)idx[i] * (size_t)out, j.y + (size_t)i * (size_t)out,
                   sizeof(float) * (size_t)out);
}

void nn_dense_backward_raw(int in, int out, const float *x, const float *w, const float *dy,
                           float *dx, int dx_acc, float *dw, float *db, const int *idx, int n,
                           float *scratch)
{
    dense_job j = {.in = in, .out = out, .n = n, .dx_acc = dx_acc, .x = x, .w = w, .dy = dy,
                   .dx = dx, .dw = dw, .db = db};
    if (n < 1)
        return;
    if (idx) {
        float *xs = scratch, *dys = xs + (size_t)n * (size_t)in;
        gather_rows(xs, x, in, idx, n);
        gather_rows(dys, dy, out, idx, n);
        j.x = xs;
        j.dy = dys;
        j.dx = dx ? dys + (size_t)n * (size_t)out : NULL;
        j.dx_acc = 0;
    }
    nn_par_run(backward_job, &j, job_shares(&j));
    if (idx && dx)
        for (int i = 0; i < n; i++) {
            float *d = dx + (size_t)idx[i] * (size_t)in;
            const float *s = j.dx + (size_t)i * (size_t)in;
            for (int k = 0; k < in; k++)
                d[k] = dx_acc ? d[k] + s[k] : s[k];
        }
}

/* Across ranks (par.h) each holds only its samples' input rows: every row
 * to every rank first, then the layer runs whole on each, so the loss and
 * everything after see the whole batch. */
static void dense_forward(nn_layer *l, const nn_ctx *c)
{
    nn_dense *d = (nn_dense *)l;
    nn_par_gather(c->t[l->in[0]].data, (size_t)d->in * sizeof(float), c->n, 0, c->n);
    const float *b = d->b_view >= 0 ? nn_params_value(c->p, d->b_view) : NULL;
    nn_dense_forward_raw(d->in, d->out, c->t[l->in[0]].data, nn_params_value(c->p, d->w_view), b,
                         c->t[l->out].data, NULL, c->n, NULL);
}

static void dense_backward(nn_layer *l, const nn_ctx *c)
{
    nn_dense *d = (nn_dense *)l;
    float *db = d->b_view >= 0 && !c->frozen ? nn_params_grad(c->p, d->b_view) : NULL;
    float *dw = c->frozen ? NULL : nn_params_grad(c->p, d->w_view);
    float *dx = l->need_dx[0] ? c->dt[l->in[0]].data : NULL;
    nn_dense_backward_raw(d->in, d->out, c->t[l->in[0]].data, nn_params_value(c->p, d->w_view),
                          c->dt[l->out].data, dx, l->acc[0], dw, db, NULL, c->n, NULL);
}

/* fan_in = I (nn_layer.h's schemes) */
static void dense_init(nn_layer *l, nn_params *p, nn_rng *rng, nn_init_scheme s)
{
    nn_dense *d = (nn_dense *)l;
    nn_init_fill(nn_params_value(p, d->w_view), (size_t)d->in * (size_t)d->out, d->in, s, rng);
    if (d->b_view >= 0)
        nn_init_bias(nn_params_value(p, d->b_view), (size_t)d->out, d->in, s, rng);
}

const nn_layer_ops nn_dense_ops = {"dense", dense_forward, dense_backward, dense_init};

int nn_dense_new(nn_net *net, const nn_dense_cfg *cfg, int input, qa_err *err)
{
    nn_dense *d = nn_build_layer(net, sizeof *d, &nn_dense_ops, cfg->name, input, -1, err);
    if (!d)
        return err ? err->code : QA_ERR_ARG;
    if (cfg->out < 1)
        return qa_fail(err, QA_ERR_ARG, "layer '%s': out %d must be >= 1", cfg->name, cfg->out);
    d->in = (int)nn_tensor_sample_size(&net->t[input]);
    d->out = cfg->out;
    d->w_view = nn_build_param(net, &d->base, "w", (size_t)d->in * (size_t)d->out,
                               NN_PARAM_WEIGHT, err);
    if (d->w_view < 0)
        return d->w_view;
    d->b_view = -1;
    if (cfg->bias) {
        d->b_view = nn_build_param(net, &d->base, "b", (size_t)d->out, NN_PARAM_BIAS, err);
        if (d->b_view < 0)
            return d->b_view;
    }
    d->base.macs = (int64_t)d->in * d->out;
    return nn_build_finish(net, &d->base, d->out, 1, 1, err);
}
