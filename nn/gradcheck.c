/* gradcheck.c: central differences against analytic gradients. */
#include "nn/gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/rng.h"

typedef struct {
    float eps, rtol, atol;
    int max_elems, ndirs;
    uint64_t seed;
    int kinks;
    double l0; /* loss at the unperturbed point (kinks only) */
} gc_opts;

static gc_opts opts_of(const nn_gradcheck_cfg *c)
{
    gc_opts o = {c->eps > 0 ? c->eps : 1e-3f, c->rtol > 0 ? c->rtol : 1e-2f,
                 c->atol > 0 ? c->atol : 1e-3f, c->max_elems > 0 ? c->max_elems : 64,
                 c->ndirs > 0 ? c->ndirs : 4, c->seed, c->kinks, 0.0};
    return o;
}

static double rel_err(const gc_opts *o, double a, double num)
{
    return fabs(a - num) / (o->atol + o->rtol * fmax(fabs(a), fabs(num)));
}

/* Records one comparison of analytic a with the central difference
 * (lp - lm) / h, and with the one-sided ones when o->kinks; returns
 * QA_ERR_NUMERIC when out of tolerance. a is per unit step. */
static int compare(const gc_opts *o, double a, double lp, double lm, double h, const char *what,
                   nn_gradcheck_result *res, qa_err *err)
{
    double num = (lp - lm) / h, e = rel_err(o, a, num);
    if (o->kinks) {
        double el = rel_err(o, a, 2 * (o->l0 - lm) / h), er = rel_err(o, a, 2 * (lp - o->l0) / h);
        e = fmin(e, fmin(el, er));
    }
    res->nchecked++;
    if (!(e <= res->max_err)) {
        res->max_err = e;
        snprintf(res->worst, sizeof res->worst, "%s: analytic %.6g, numeric %.6g", what, a, num);
    }
    if (!(e <= 1.0))
        return qa_fail(err, QA_ERR_NUMERIC, "gradient check failed at %s: analytic %.6g, numeric %.6g",
                       what, a, num);
    return QA_OK;
}

static int check_element(nn_gradcheck_loss loss, void *ctx, float *x, const float *grad,
                         size_t i, const char *name, const gc_opts *o, nn_gradcheck_result *res,
                         qa_err *err)
{
    float x0 = x[i], xp = x0 + o->eps, xm = x0 - o->eps;
    x[i] = xp;
    double lp = loss(ctx);
    x[i] = xm;
    double lm = loss(ctx);
    x[i] = x0;
    double h = (double)xp - (double)xm;
    char what[96];
    snprintf(what, sizeof what, "%s[%zu]", name, i);
    return compare(o, grad[i], lp, lm, h, what, res, err);
}

/* along d = (+-1, ..., +-1) / sqrt(n), a step of norm eps whatever the size
 * of x (a larger one would cross more kinks): a = g . (x+ - x-),
 * num = L(x+) - L(x-), both over 2 eps */
static int check_direction(nn_gradcheck_loss loss, void *ctx, float *x, const float *grad,
                           size_t n, int dir, const char *name, const gc_opts *o, nn_rng *rng,
                           nn_gradcheck_result *res, qa_err *err)
{
    float *x0 = malloc(n * sizeof *x0), *d = malloc(n * sizeof *d);
    if (!x0 || !d) {
        free(x0);
        free(d);
        return qa_fail(err, QA_ERR_NOMEM, "gradient check: out of memory for %zu values", n);
    }
    memcpy(x0, x, n * sizeof *x0);
    float step = o->eps / (float)sqrt((double)n);
    for (size_t i = 0; i < n; i++)
        d[i] = (nn_rng_u32(rng) & 1) ? step : -step;
    double a = 0;
    for (size_t i = 0; i < n; i++) {
        float xp = x0[i] + d[i], xm = x0[i] - d[i];
        a += (double)grad[i] * ((double)xp - (double)xm);
        x[i] = xp;
    }
    double lp = loss(ctx);
    for (size_t i = 0; i < n; i++)
        x[i] = x0[i] - d[i];
    double lm = loss(ctx);
    memcpy(x, x0, n * sizeof *x0);
    free(x0);
    free(d);
    char what[96];
    snprintf(what, sizeof what, "%s along direction %d", name, dir);
    return compare(o, a / (2.0 * o->eps), lp, lm, 2.0 * o->eps, what, res, err);
}

int nn_gradcheck_vec(nn_gradcheck_loss loss, void *ctx, float *x, const float *grad, size_t n,
                     const char *name, const nn_gradcheck_cfg *cfg, nn_gradcheck_result *res,
                     qa_err *err)
{
    gc_opts o = opts_of(cfg);
    if (o.kinks)
        o.l0 = loss(ctx);
    nn_rng rng;
    nn_rng_init(&rng, o.seed, NN_STREAM_TEST, 0x6763, (uint32_t)n);
    if (n <= (size_t)o.max_elems) {
        for (size_t i = 0; i < n; i++) {
            int rc = check_element(loss, ctx, x, grad, i, name, &o, res, err);
            if (rc < 0)
                return rc;
        }
        return QA_OK;
    }
    for (int k = 0; k < o.max_elems; k++) {
        size_t i = (size_t)(nn_rng_uniform_d(&rng) * (double)n);
        int rc = check_element(loss, ctx, x, grad, i < n ? i : n - 1, name, &o, res, err);
        if (rc < 0)
            return rc;
    }
    for (int k = 0; k < o.ndirs; k++) {
        int rc = check_direction(loss, ctx, x, grad, n, k, name, &o, &rng, res, err);
        if (rc < 0)
            return rc;
    }
    return QA_OK;
}

typedef struct {
    nn_net *net;
    int n, train;
    const float *r;   /* (n * out) projection */
    const float *buf; /* (nbuf) buffers at the start */
} net_loss_ctx;

/* L = sum(R * y) after restoring the buffers */
static double net_loss(void *p)
{
    net_loss_ctx *c = p;
    nn_params *pr = &c->net->params;
    memcpy(pr->buf, c->buf, pr->nbuf * sizeof(float));
    nn_net_forward(c->net, c->n, c->train);
    const float *y = nn_net_output(c->net)->data;
    size_t m = (size_t)c->n * (size_t)nn_net_output_size(c->net);
    double l = 0;
    for (size_t i = 0; i < m; i++)
        l += (double)c->r[i] * (double)y[i];
    return l;
}

/* analytic gradients of L into g (p->n) and dx (input), from one backward */
static void analytic(net_loss_ctx *c, float *g, float *dx)
{
    nn_net *net = c->net;
    net_loss(c);
    size_t m = (size_t)c->n * (size_t)nn_net_output_size(net);
    memcpy(nn_net_output_grad(net), c->r, m * sizeof(float));
    nn_net_zero_grad(net);
    nn_net_backward(net, c->n);
    memcpy(g, net->params.g, net->params.n * sizeof(float));
    if (net->input_grad)
        memcpy(dx, net->dt[0].data, (size_t)c->n * nn_tensor_sample_size(&net->t[0]) * sizeof(float));
}

static int check_all(net_loss_ctx *c, const float *g, const float *dx, const nn_gradcheck_cfg *cfg,
                     nn_gradcheck_result *res, qa_err *err)
{
    nn_params *p = &c->net->params;
    for (int i = 0; i < p->nviews; i++) {
        const nn_param_view *v = &p->views[i];
        if (v->kind == NN_PARAM_BUFFER)
            continue;
        int rc = nn_gradcheck_vec(net_loss, c, p->w + v->off, g + v->off, v->n, v->name, cfg, res, err);
        if (rc < 0)
            return rc;
    }
    if (!c->net->input_grad)
        return QA_OK;
    size_t nx = (size_t)c->n * nn_tensor_sample_size(&c->net->t[0]);
    return nn_gradcheck_vec(net_loss, c, nn_net_input(c->net), dx, nx, "input", cfg, res, err);
}

int nn_gradcheck_net(nn_net *net, int n, int train, const nn_gradcheck_cfg *cfg,
                     nn_gradcheck_result *res, qa_err *err)
{
    QA_ASSERT(net->finalized && n >= 1 && n <= net->max_batch);
    size_t m = (size_t)n * (size_t)nn_net_output_size(net);
    size_t nx = (size_t)n * nn_tensor_sample_size(&net->t[0]);
    float *r = malloc(m * sizeof *r), *buf = malloc((net->params.nbuf + 1) * sizeof *buf);
    float *g = malloc((net->params.n + 1) * sizeof *g), *dx = malloc(nx * sizeof *dx);
    int rc = QA_OK;
    if (!r || !buf || !g || !dx) {
        rc = qa_fail(err, QA_ERR_NOMEM, "gradient check: out of memory");
    } else {
        nn_rng rng;
        nn_rng_init(&rng, cfg->seed, NN_STREAM_TEST, 0x6764, 0);
        for (size_t i = 0; i < m; i++)
            r[i] = nn_rng_normal(&rng);
        memcpy(buf, net->params.buf, net->params.nbuf * sizeof *buf);
        net_loss_ctx c = {net, n, train, r, buf};
        analytic(&c, g, dx);
        rc = check_all(&c, g, dx, cfg, res, err);
        memcpy(net->params.buf, buf, net->params.nbuf * sizeof *buf);
    }
    free(r);
    free(buf);
    free(g);
    free(dx);
    return rc;
}
