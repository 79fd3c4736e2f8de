/* batchnorm.c: BatchNorm2d forward/backward, channels split over threads.
 * Legend: N samples, C channels, HW = H*W, M = N*HW values per channel. */
#include "nn/batchnorm.h"

#include <math.h>

#include "nn/build.h"
#include "nn/par.h"
#include "nn/vec.h"

typedef struct {
    nn_batchnorm2d *bn;
    const nn_ctx *c;
} bn_job;

/* batch mean and biased variance of channel ch */
static void channel_stats(const nn_batchnorm2d *bn, const float *x, int n, int ch, double *mean,
                          double *var)
{
    double k = x[(size_t)ch * (size_t)bn->hw], s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++)
        nn_vec_moments(x + ((size_t)i * (size_t)bn->c + (size_t)ch) * (size_t)bn->hw,
                       (size_t)bn->hw, k, &s1, &s2);
    double m = (double)n * bn->hw, d = s1 / m;
    *mean = k + d;
    *var = s2 / m - d * d > 0 ? s2 / m - d * d : 0.0;
}

static void forward_job(void *arg, int tid, int nt)
{
    const bn_job *j = arg;
    nn_batchnorm2d *bn = j->bn;
    const nn_ctx *c = j->c;
    const float *x = c->t[bn->base.in[0]].data;
    float *y = c->t[bn->base.out].data;
    const float *gamma = nn_params_value(c->p, bn->gamma_view);
    const float *beta = nn_params_value(c->p, bn->beta_view);
    float *rmean = nn_params_value(c->p, bn->mean_view), *rvar = nn_params_value(c->p, bn->var_view);
    long lo, hi;
    nn_par_range(bn->c, tid, nt, &lo, &hi);
    for (long ch = lo; ch < hi; ch++) {
        double mean = rmean[ch], var = rvar[ch];
        if (c->train) {
            channel_stats(bn, x, c->n, (int)ch, &mean, &var);
            double m = (double)c->n * bn->hw, mom = bn->momentum;
            rmean[ch] = (float)((1 - mom) * rmean[ch] + mom * mean);
            rvar[ch] = (float)((1 - mom) * rvar[ch] + mom * var * (m > 1 ? m / (m - 1) : 1.0));
        }
        float istd = (float)(1.0 / sqrt(var + bn->eps));
        bn->mean[ch] = (float)mean;
        bn->istd[ch] = istd;
        /* y = gamma * (x - mean) * istd + beta = x * scale + shift */
        float scale = gamma[ch] * istd, shift = beta[ch] - (float)mean * scale;
        for (int i = 0; i < c->n; i++) {
            size_t off = ((size_t)i * (size_t)bn->c + (size_t)ch) * (size_t)bn->hw;
            for (int k = 0; k < bn->hw; k++)
                y[off + k] = x[off + k] * scale + shift;
        }
    }
}

static void bn_forward(nn_layer *l, const nn_ctx *c)
{
    bn_job j = {(nn_batchnorm2d *)l, c};
    j.bn->last_train = c->train;
    nn_par_run(forward_job, &j, nn_par_threads());
}

/* dx = a * dy + b * (x - xm) + k over channel ch (overwrite or accumulate) */
static void channel_dx(const nn_batchnorm2d *bn, const nn_ctx *c, int ch, float a, float b,
                       float xm, float k)
{
    const float *x = c->t[bn->base.in[0]].data, *dy = c->dt[bn->base.out].data;
    float *dx = c->dt[bn->base.in[0]].data;
    for (int i = 0; i < c->n; i++) {
        size_t off = ((size_t)i * (size_t)bn->c + (size_t)ch) * (size_t)bn->hw;
        if (bn->base.acc[0])
            for (int q = 0; q < bn->hw; q++)
                dx[off + q] += a * dy[off + q] + b * (x[off + q] - xm) + k;
        else
            for (int q = 0; q < bn->hw; q++)
                dx[off + q] = a * dy[off + q] + b * (x[off + q] - xm) + k;
    }
}

/* With xhat = (x - mean) istd, sdy = sum dy, sdx = sum dy xhat:
 *   dgamma += sdx, dbeta += sdy
 *   train: dx = gamma istd (dy - sdy/M - xhat sdx/M)   (mean and var depend on x)
 *   eval:  dx = gamma istd dy */
static void backward_job(void *arg, int tid, int nt)
{
    const bn_job *j = arg;
    const nn_batchnorm2d *bn = j->bn;
    const nn_ctx *c = j->c;
    const float *x = c->t[bn->base.in[0]].data, *dy = c->dt[bn->base.out].data;
    const float *gamma = nn_params_value(c->p, bn->gamma_view);
    float *dgamma = nn_params_grad(c->p, bn->gamma_view);
    float *dbeta = nn_params_grad(c->p, bn->beta_view);
    long lo, hi;
    nn_par_range(bn->c, tid, nt, &lo, &hi);
    for (long ch = lo; ch < hi; ch++) {
        double sdy = 0, sdyx = 0;
        for (int i = 0; i < c->n; i++) {
            size_t off = ((size_t)i * (size_t)bn->c + (size_t)ch) * (size_t)bn->hw;
            sdy += nn_vec_sum(dy + off, (size_t)bn->hw);
            sdyx += nn_vec_dot(dy + off, x + off, (size_t)bn->hw);
        }
        double mean = bn->mean[ch], istd = bn->istd[ch];
        double sdx = (sdyx - mean * sdy) * istd;
        dgamma[ch] += (float)sdx;
        dbeta[ch] += (float)sdy;
        if (!bn->base.need_dx[0])
            continue;
        double k = (double)gamma[ch] * istd;
        if (!bn->last_train) {
            channel_dx(bn, c, (int)ch, (float)k, 0.0f, 0.0f, 0.0f);
            continue;
        }
        double m = (double)c->n * bn->hw;
        channel_dx(bn, c, (int)ch, (float)k, (float)(-k * istd * sdx / m), (float)mean,
                   (float)(-k * sdy / m));
    }
}

static void bn_backward(nn_layer *l, const nn_ctx *c)
{
    bn_job j = {(nn_batchnorm2d *)l, c};
    nn_par_run(backward_job, &j, nn_par_threads());
}

static void bn_init(nn_layer *l, nn_params *p, nn_rng *rng)
{
    (void)rng;
    nn_batchnorm2d *bn = (nn_batchnorm2d *)l;
    float *gamma = nn_params_value(p, bn->gamma_view), *rvar = nn_params_value(p, bn->var_view);
    for (int i = 0; i < bn->c; i++) {
        gamma[i] = 1.0f;
        rvar[i] = 1.0f;
    }
}

const nn_layer_ops nn_batchnorm2d_ops = {"batchnorm2d", bn_forward, bn_backward, bn_init};

int nn_batchnorm2d_new(nn_net *net, const nn_batchnorm2d_cfg *cfg, int input, qa_err *err)
{
    nn_batchnorm2d *bn =
        nn_build_layer(net, sizeof *bn, &nn_batchnorm2d_ops, cfg->name, input, -1, err);
    if (!bn)
        return err ? err->code : QA_ERR_ARG;
    if (cfg->eps < 0 || cfg->momentum < 0 || cfg->momentum > 1)
        return qa_fail(err, QA_ERR_ARG, "layer '%s': eps %g must be >= 0 and momentum %g in [0, 1]",
                       cfg->name, cfg->eps, cfg->momentum);
    const nn_tensor *x = &net->t[input];
    bn->c = x->d[1];
    bn->hw = x->d[2] * x->d[3];
    bn->eps = cfg->eps > 0 ? cfg->eps : 1e-5f;
    bn->momentum = cfg->momentum > 0 ? cfg->momentum : 0.1f;
    size_t c = (size_t)bn->c;
    if ((bn->gamma_view = nn_build_param(net, &bn->base, "gamma", c, NN_PARAM_NORM, err)) < 0 ||
        (bn->beta_view = nn_build_param(net, &bn->base, "beta", c, NN_PARAM_NORM, err)) < 0 ||
        (bn->mean_view = nn_build_param(net, &bn->base, "running_mean", c, NN_PARAM_BUFFER, err)) < 0 ||
        (bn->var_view = nn_build_param(net, &bn->base, "running_var", c, NN_PARAM_BUFFER, err)) < 0)
        return err ? err->code : QA_ERR_ARG;
    bn->mean = nn_arena_floats(&net->arena, c, err);
    bn->istd = nn_arena_floats(&net->arena, c, err);
    if (!bn->mean || !bn->istd)
        return err ? err->code : QA_ERR_NOMEM;
    bn->base.macs = 0;
    return nn_build_finish(net, &bn->base, x->d[1], x->d[2], x->d[3], err);
}
