/* conv2d.c: the convolution layer around the raw kernels: geometry checks,
 * parameters, He initialisation, and the ops table. */
#include "nn/conv2d.h"

#include <math.h>

#include "nn/build.h"
#include "nn/par.h"

nn_conv2d_cfg nn_conv2d_cfg_make(const char *name, int out_channels, int kernel, int stride,
                                 int pad)
{
    nn_conv2d_cfg c = {name, out_channels, kernel, kernel, stride, stride, pad, pad, 1, 0};
    return c;
}

int nn_conv_geom_init(nn_conv_geom *g, int c, int h, int w, const nn_conv2d_cfg *cfg,
                      qa_err *err)
{
    const char *nm = cfg->name ? cfg->name : "conv2d";
    if (cfg->out_channels < 1 || cfg->kernel_h < 1 || cfg->kernel_w < 1 || cfg->stride_h < 1 ||
        cfg->stride_w < 1 || cfg->pad_h < 0 || cfg->pad_w < 0)
        return qa_fail(err, QA_ERR_ARG,
                       "layer '%s': out_channels %d, kernel %dx%d, stride %dx%d must be >= 1 "
                       "and padding %dx%d >= 0",
                       nm, cfg->out_channels, cfg->kernel_h, cfg->kernel_w, cfg->stride_h,
                       cfg->stride_w, cfg->pad_h, cfg->pad_w);
    if (cfg->groups < 1 || c % cfg->groups != 0 || cfg->out_channels % cfg->groups != 0)
        return qa_fail(err, QA_ERR_ARG,
                       "layer '%s': groups %d must be >= 1 and divide both the input channels "
                       "(%d) and the output channels (%d)",
                       nm, cfg->groups, c, cfg->out_channels);
    int oh = nn_conv_out_size(h, cfg->kernel_h, cfg->stride_h, cfg->pad_h);
    int ow = nn_conv_out_size(w, cfg->kernel_w, cfg->stride_w, cfg->pad_w);
    if (oh < 1 || ow < 1)
        return qa_fail(err, QA_ERR_ARG,
                       "layer '%s': kernel %dx%d does not fit the input %dx%d padded by %dx%d",
                       nm, cfg->kernel_h, cfg->kernel_w, h, w, cfg->pad_h, cfg->pad_w);
    nn_conv_geom gg = {c, h, w, cfg->out_channels, oh, ow, cfg->kernel_h, cfg->kernel_w,
                       cfg->stride_h, cfg->stride_w, cfg->pad_h, cfg->pad_w, cfg->groups,
                       NN_CONV_AUTO};
    *g = gg;
    return QA_OK;
}

static void conv2d_forward(nn_layer *l, const nn_ctx *c)
{
    nn_conv2d *cv = (nn_conv2d *)l;
    const float *b = cv->b_view >= 0 ? nn_params_value(c->p, cv->b_view) : NULL;
    nn_conv2d_forward_raw(&cv->g, c->t[l->in[0]].data, nn_params_value(c->p, cv->w_view), b,
                          c->t[l->out].data, NULL, c->n, c->scratch, cv->scratch_n);
}

static void conv2d_backward(nn_layer *l, const nn_ctx *c)
{
    nn_conv2d *cv = (nn_conv2d *)l;
    float *db = cv->b_view >= 0 && !c->frozen ? nn_params_grad(c->p, cv->b_view) : NULL;
    float *dw = c->frozen ? NULL : nn_params_grad(c->p, cv->w_view);
    float *dx = l->need_dx[0] ? c->dt[l->in[0]].data : NULL;
    nn_conv2d_backward_raw(&cv->g, c->t[l->in[0]].data, nn_params_value(c->p, cv->w_view),
                           c->dt[l->out].data, dx, l->acc[0], dw, db, NULL, c->n, c->scratch,
                           cv->scratch_n);
}

/* fan_in = C/G * KH * KW (nn_layer.h's schemes) */
static void conv2d_init(nn_layer *l, nn_params *p, nn_rng *rng, nn_init_scheme s)
{
    nn_conv2d *cv = (nn_conv2d *)l;
    const nn_param_view *v = &p->views[cv->w_view];
    double fan_in = (double)(cv->g.c / cv->g.groups) * cv->g.kh * cv->g.kw;
    nn_init_fill(nn_params_value(p, cv->w_view), v->n, fan_in, s, rng);
    if (cv->b_view >= 0)
        nn_init_bias(nn_params_value(p, cv->b_view), (size_t)cv->g.oc, fan_in, s, rng);
}

const nn_layer_ops nn_conv2d_ops = {"conv2d", conv2d_forward, conv2d_backward, conv2d_init};

static int add_params(nn_net *net, nn_conv2d *cv, int bias, qa_err *err)
{
    const nn_conv_geom *g = &cv->g;
    size_t nw = (size_t)g->oc * (size_t)(g->c / g->groups) * (size_t)g->kh * (size_t)g->kw;
    cv->w_view = nn_build_param(net, &cv->base, "w", nw, NN_PARAM_WEIGHT, err);
    if (cv->w_view < 0)
        return cv->w_view;
    cv->b_view = -1;
    if (bias) {
        cv->b_view = nn_build_param(net, &cv->base, "b", (size_t)g->oc, NN_PARAM_BIAS, err);
        if (cv->b_view < 0)
            return cv->b_view;
    }
    return QA_OK;
}

int nn_conv2d_new(nn_net *net, const nn_conv2d_cfg *cfg, int input, qa_err *err)
{
    nn_conv2d *cv = nn_build_layer(net, sizeof *cv, &nn_conv2d_ops, cfg->name, input, -1, err);
    if (!cv)
        return err ? err->code : QA_ERR_ARG;
    const nn_tensor *x = &net->t[input];
    int rc = nn_conv_geom_init(&cv->g, x->d[1], x->d[2], x->d[3], cfg, err);
    if (rc == QA_OK)
        rc = add_params(net, cv, cfg->bias, err);
    if (rc < 0)
        return rc;
    const nn_conv_geom *g = &cv->g;
    cv->scratch_n = nn_conv2d_scratch_floats(g, nn_par_threads(), nn_par_shares());
    nn_net_need_scratch(net, cv->scratch_n);
    cv->base.macs = (int64_t)g->oc * g->oh * g->ow * (g->c / g->groups) * g->kh * g->kw;
    return nn_build_finish(net, &cv->base, g->oc, g->oh, g->ow, err);
}
