/* batchnorm.c: BatchNorm2d forward/backward in streaming passes.
 * Legend: N samples, C channels, HW = H*W, M = N*HW values per channel. */
#include "nn/batchnorm.h"

#include <math.h>
#include <string.h>

#include "nn/build.h"
#include "nn/par.h"
#include "nn/vec.h"

typedef struct {
    nn_batchnorm2d *bn;
    const nn_ctx *c;
} bn_job;

static size_t chunk_off(const nn_batchnorm2d *bn, long i, int ch)
{
    return ((size_t)i * (size_t)bn->c + (size_t)ch) * (size_t)bn->hw;
}

/* part[s] = per-channel sums over share s's samples of (x - k) and
 * (x - k)^2, k = coef[c] = x[0, c, 0] (a shift near the mean: no
 * cancellation; sample 0's, sent to every rank) */
static void stats_job(void *arg, int s, int ns)
{
    const bn_job *j = arg;
    const nn_batchnorm2d *bn = j->bn;
    const float *x = j->c->t[bn->base.in[0]].data;
    double *s1 = bn->part + (size_t)s * 2 * (size_t)bn->c, *s2 = s1 + bn->c;
    memset(s1, 0, 2 * (size_t)bn->c * sizeof *s1);
    long lo, hi;
    nn_par_range(j->c->n, s, ns, &lo, &hi);
    for (long i = lo; i < hi; i++)
        for (int ch = 0; ch < bn->c; ch++)
            nn_vec_moments(x + chunk_off(bn, i, ch), (size_t)bn->hw, bn->coef[ch], &s1[ch],
                           &s2[ch]);
}

/* the shift k of every channel (stats_job), from the rank holding sample 0 */
static void stats_shift(nn_batchnorm2d *bn, const nn_ctx *c)
{
    const float *x = c->t[bn->base.in[0]].data;
    for (int ch = 0; ch < bn->c; ch++)
        bn->coef[ch] = x[chunk_off(bn, 0, ch)];
    nn_par_gather(bn->coef, (size_t)bn->c * sizeof *bn->coef, c->n, 0, 1);
}

/* batch statistics from the partial sums (share order), running update */
static void batch_stats(nn_batchnorm2d *bn, const nn_ctx *c, int ns)
{
    float *rmean = nn_params_value(c->p, bn->mean_view), *rvar = nn_params_value(c->p, bn->var_view);
    double m = (double)c->n * bn->hw, mom = bn->momentum;
    nn_par_gather(bn->part, 2 * (size_t)bn->c * sizeof *bn->part, c->n, 0, ns);
    for (int ch = 0; ch < bn->c; ch++) {
        double s1 = 0, s2 = 0;
        for (int t = 0; t < ns; t++) {
            s1 += bn->part[(size_t)t * 2 * (size_t)bn->c + (size_t)ch];
            s2 += bn->part[(size_t)t * 2 * (size_t)bn->c + (size_t)bn->c + (size_t)ch];
        }
        double d = s1 / m, mean = bn->coef[ch] + d;
        double var = s2 / m - d * d > 0 ? s2 / m - d * d : 0.0;
        rmean[ch] = (float)((1 - mom) * rmean[ch] + mom * mean);
        rvar[ch] = (float)((1 - mom) * rvar[ch] + mom * var * (m > 1 ? m / (m - 1) : 1.0));
        bn->mean[ch] = (float)mean;
        bn->istd[ch] = (float)(1.0 / sqrt(var + bn->eps));
    }
}

/* y = gamma (x - mean) istd + beta = x scale + shift */
static void normalize_job(void *arg, int s, int ns)
{
    const bn_job *j = arg;
    const nn_batchnorm2d *bn = j->bn;
    const float *x = j->c->t[bn->base.in[0]].data;
    float *y = j->c->t[bn->base.out].data;
    long lo, hi;
    nn_par_range(j->c->n, s, ns, &lo, &hi);
    for (long i = lo; i < hi; i++)
        for (int ch = 0; ch < bn->c; ch++) {
            const float *xs = x + chunk_off(bn, i, ch);
            float *ys = y + chunk_off(bn, i, ch), a = bn->scale[ch], b = bn->shift[ch];
            for (int q = 0; q < bn->hw; q++)
                ys[q] = xs[q] * a + b;
        }
}

static int bn_shares(const nn_batchnorm2d *bn, int n)
{
    QA_ASSERT(nn_par_shares() == bn->nshares);
    return bn->nshares < n ? bn->nshares : n;
}

static void bn_forward(nn_layer *l, const nn_ctx *c)
{
    nn_batchnorm2d *bn = (nn_batchnorm2d *)l;
    bn_job j = {bn, c};
    int ns = bn_shares(bn, c->n);
    const float *gamma = nn_params_value(c->p, bn->gamma_view);
    const float *beta = nn_params_value(c->p, bn->beta_view);
    bn->last_train = c->train;
    if (c->train) {
        stats_shift(bn, c);
        nn_par_run_owned(stats_job, &j, ns, NN_PAR_MAX_THREADS, c->n);
        batch_stats(bn, c, ns);
    } else {
        const float *rmean = nn_params_value(c->p, bn->mean_view);
        const float *rvar = nn_params_value(c->p, bn->var_view);
        for (int ch = 0; ch < bn->c; ch++) {
            bn->mean[ch] = rmean[ch];
            bn->istd[ch] = (float)(1.0 / sqrt((double)rvar[ch] + bn->eps));
        }
    }
    for (int ch = 0; ch < bn->c; ch++) {
        bn->scale[ch] = gamma[ch] * bn->istd[ch];
        bn->shift[ch] = beta[ch] - bn->mean[ch] * bn->scale[ch];
    }
    nn_par_run_owned(normalize_job, &j, ns, NN_PAR_MAX_THREADS, c->n);
}

/* part[s] = per-channel sums of dy and dy (x - mean) over share s's samples */
static void grad_sums_job(void *arg, int s, int ns)
{
    const bn_job *j = arg;
    const nn_batchnorm2d *bn = j->bn;
    const float *x = j->c->t[bn->base.in[0]].data, *dy = j->c->dt[bn->base.out].data;
    double *sdy = bn->part + (size_t)s * 2 * (size_t)bn->c, *sdyx = sdy + bn->c;
    memset(sdy, 0, 2 * (size_t)bn->c * sizeof *sdy);
    long lo, hi;
    nn_par_range(j->c->n, s, ns, &lo, &hi);
    for (long i = lo; i < hi; i++)
        for (int ch = 0; ch < bn->c; ch++) {
            size_t off = chunk_off(bn, i, ch);
            nn_vec_sum_dot(dy + off, x + off, (size_t)bn->hw, bn->mean[ch], &sdy[ch], &sdyx[ch]);
        }
}

/* dx = a dy + b (x - mean) + k per channel: coef[0..C) = a, [C..2C) = b,
 * [2C..3C) = k. scale_only (a frozen net's evaluating layer, b = k = 0):
 * dx = a dy + 0, without reading x; the + 0.0f makes a zero +0 as the
 * full expression does, so the two agree bit for bit (x finite). */
typedef struct {
    bn_job j;
    const float *coef;
    int scale_only;
} dx_job;

static void dx_channel(const dx_job *d, size_t off, int ch, const float *x, const float *dy,
                       float *dx)
{
    const nn_batchnorm2d *bn = d->j.bn;
    float a = d->coef[ch];
    if (d->scale_only) {
        if (bn->base.acc[0])
            for (int q = 0; q < bn->hw; q++)
                dx[off + q] += a * dy[off + q] + 0.0f;
        else
            for (int q = 0; q < bn->hw; q++)
                dx[off + q] = a * dy[off + q] + 0.0f;
        return;
    }
    float b = d->coef[bn->c + ch], k = d->coef[2 * bn->c + ch], xm = bn->mean[ch];
    if (bn->base.acc[0])
        for (int q = 0; q < bn->hw; q++)
            dx[off + q] += a * dy[off + q] + b * (x[off + q] - xm) + k;
    else
        for (int q = 0; q < bn->hw; q++)
            dx[off + q] = a * dy[off + q] + b * (x[off + q] - xm) + k;
}

static void dx_job_run(void *arg, int s, int ns)
{
    const dx_job *d = arg;
    const nn_batchnorm2d *bn = d->j.bn;
    const float *x = d->j.c->t[bn->base.in[0]].data, *dy = d->j.c->dt[bn->base.out].data;
    float *dx = d->j.c->dt[bn->base.in[0]].data;
    long lo, hi;
    nn_par_range(d->j.c->n, s, ns, &lo, &hi);
    for (long i = lo; i < hi; i++)
        for (int ch = 0; ch < bn->c; ch++)
            dx_channel(d, chunk_off(bn, i, ch), ch, x, dy, dx);
}

/* With xhat = (x - mean) istd, sdy = sum dy, sdx = sum dy xhat:
 *   dgamma += sdx, dbeta += sdy (not when frozen)
 *   train: dx = gamma istd (dy - sdy/M - xhat sdx/M)   (mean and var depend on x)
 *   eval:  dx = gamma istd dy */
static void bn_backward(nn_layer *l, const nn_ctx *c)
{
    nn_batchnorm2d *bn = (nn_batchnorm2d *)l;
    int ns = bn_shares(bn, c->n);
    dx_job d = {{bn, c}, bn->coef, c->frozen && !bn->last_train};
    const float *gamma = nn_params_value(c->p, bn->gamma_view);
    if (d.scale_only) { /* dx = gamma istd dy needs no sums */
        for (int ch = 0; ch < bn->c; ch++)
            bn->coef[ch] = (float)((double)gamma[ch] * (double)bn->istd[ch]);
        if (l->need_dx[0])
            nn_par_run_owned(dx_job_run, &d, ns, NN_PAR_MAX_THREADS, c->n);
        return;
    }
    nn_par_run_owned(grad_sums_job, &d.j, ns, NN_PAR_MAX_THREADS, c->n);
    nn_par_gather(bn->part, 2 * (size_t)bn->c * sizeof *bn->part, c->n, 0, ns);
    float *dgamma = nn_params_grad(c->p, bn->gamma_view), *dbeta = nn_params_grad(c->p, bn->beta_view);
    float *coef = bn->coef;
    double m = (double)c->n * bn->hw;
    for (int ch = 0; ch < bn->c; ch++) {
        double sdy = 0, sdyx = 0, istd = bn->istd[ch];
        for (int t = 0; t < ns; t++) {
            sdy += bn->part[(size_t)t * 2 * (size_t)bn->c + (size_t)ch];
            sdyx += bn->part[(size_t)t * 2 * (size_t)bn->c + (size_t)bn->c + (size_t)ch];
        }
        double sdx = sdyx * istd, k = (double)gamma[ch] * istd;
        if (!c->frozen) {
            dgamma[ch] += (float)sdx;
            dbeta[ch] += (float)sdy;
        }
        coef[ch] = (float)k;
        coef[bn->c + ch] = bn->last_train ? (float)(-k * istd * sdx / m) : 0.0f;
        coef[2 * bn->c + ch] = bn->last_train ? (float)(-k * sdy / m) : 0.0f;
    }
    if (l->need_dx[0])
        nn_par_run_owned(dx_job_run, &d, ns, NN_PAR_MAX_THREADS, c->n);
}

static void bn_init(nn_layer *l, nn_params *p, nn_rng *rng, nn_init_scheme s)
{
    (void)rng;
    (void)s;
    nn_batchnorm2d *bn = (nn_batchnorm2d *)l;
    float *gamma = nn_params_value(p, bn->gamma_view), *rvar = nn_params_value(p, bn->var_view);
    for (int i = 0; i < bn->c; i++) {
        gamma[i] = 1.0f;
        rvar[i] = 1.0f;
    }
}

const nn_layer_ops nn_batchnorm2d_ops = {"batchnorm2d", bn_forward, bn_backward, bn_init};

static int add_params(nn_net *net, nn_batchnorm2d *bn, qa_err *err)
{
    size_t c = (size_t)bn->c;
    if ((bn->gamma_view = nn_build_param(net, &bn->base, "gamma", c, NN_PARAM_NORM, err)) < 0 ||
        (bn->beta_view = nn_build_param(net, &bn->base, "beta", c, NN_PARAM_NORM, err)) < 0 ||
        (bn->mean_view = nn_build_param(net, &bn->base, "running_mean", c, NN_PARAM_BUFFER, err)) < 0 ||
        (bn->var_view = nn_build_param(net, &bn->base, "running_var", c, NN_PARAM_BUFFER, err)) < 0)
        return err ? err->code : QA_ERR_ARG;
    bn->nshares = nn_par_shares();
    float *f = nn_arena_floats(&net->arena, 7 * c, err);
    bn->part = nn_arena_alloc(&net->arena, (size_t)bn->nshares * 2 * c * sizeof(double), err);
    if (!f || !bn->part)
        return err ? err->code : QA_ERR_NOMEM;
    bn->mean = f;
    bn->istd = f + c;
    bn->scale = f + 2 * c;
    bn->shift = f + 3 * c;
    bn->coef = f + 4 * c;
    return QA_OK;
}

int nn_batchnorm2d_new(nn_net *net, const nn_batchnorm2d_cfg *cfg, int input, qa_err *err)
{
    nn_batchnorm2d *bn =
        nn_build_layer(net, sizeof *bn, &nn_batchnorm2d_ops, cfg->name, input, -1, err);
    if (!bn)
        return err ? err->code : QA_ERR_ARG;
    if (!(cfg->eps >= 0) || !(cfg->momentum >= 0 && cfg->momentum <= 1))
        return qa_fail(err, QA_ERR_ARG, "layer '%s': eps %g must be >= 0 and momentum %g in [0, 1]",
                       cfg->name, cfg->eps, cfg->momentum);
    const nn_tensor *x = &net->t[input];
    bn->c = x->d[1];
    bn->hw = x->d[2] * x->d[3];
    bn->eps = cfg->eps > 0 ? cfg->eps : 1e-5f;
    bn->momentum = cfg->momentum > 0 ? cfg->momentum : 0.1f;
    int rc = add_params(net, bn, err);
    if (rc < 0)
        return rc;
    return nn_build_finish(net, &bn->base, x->d[1], x->d[2], x->d[3], err);
}
