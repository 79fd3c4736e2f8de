/* qlayer_build.c: wrapping an nn conv2d/dense: geometry, one quantizer per
 * width slot and side, and every buffer sized for max_batch. */
#include <string.h>

#include "quant/qlayer.h"

static void shape_conv(q_layer *q)
{
    const nn_conv2d *cv = (const nn_conv2d *)q->inner;
    const nn_conv_geom *g = &cv->g;
    q->g[0] = *g;
    q->g[1] = *g;
    q->g[1].oc = g->oc * q->nslot;
    q->w_view = cv->w_view;
    q->b_view = cv->b_view;
    q->groups = g->groups;
    q->ocg = g->oc / g->groups;
    q->pos = g->oh * g->ow;
    q->in_n = (size_t)g->c * (size_t)g->h * (size_t)g->w;
    q->out_n = (size_t)g->oc * (size_t)q->pos;
    q->w_row = (size_t)(g->c / g->groups) * (size_t)g->kh * (size_t)g->kw;
    q->w_n = (size_t)g->oc * q->w_row;
}

static void shape_dense(q_layer *q)
{
    const nn_dense *d = (const nn_dense *)q->inner;
    q->w_view = d->w_view;
    q->b_view = d->b_view;
    q->groups = 1;
    q->ocg = d->out;
    q->pos = 1;
    q->in_n = (size_t)d->in;
    q->out_n = (size_t)d->out;
    q->w_row = (size_t)d->in;
    q->w_n = (size_t)d->out * (size_t)d->in;
}

static int make_quantizers(q_layer *q, nn_net *net, const q_layer_spec *spec, qa_err *err)
{
    const q_cfg *cfg = spec->cfg;
    int oc = q->groups * q->ocg;
    for (int k = 0; k < q->nslot; k++) {
        int pinned = spec->row < 0;
        q_quant_spec w = {cfg->w_kind, Q_SIDE_W, Q_DOM_SIGNED, q->wbits[k],
                          cfg->per_channel ? oc : 1, cfg->per_channel ? q->w_row : q->w_n, pinned};
        q_quant_spec a = {cfg->a_kind, Q_SIDE_A, spec->in_dom, q->abits[k], 1, q->in_n, pinned};
        int rc = q_quant_init(&q->wq[k], net, q->base.name, &w, cfg, err);
        if (rc == QA_OK)
            rc = q_quant_init(&q->aq[k], net, q->base.name, &a, cfg, err);
        if (rc < 0)
            return rc;
        q->a_learned |= q->aq[k].vparam >= 0;
    }
    return QA_OK;
}

/* Scratch after the nn kernel's share: dxq | xt | dz | dw | ds (floats). */
static void plan_scratch(q_layer *q, nn_net *net, int soft)
{
    size_t mb = (size_t)net->max_batch, K = (size_t)q->nslot;
    q->kscratch = q->kern->scratch(q, 1);
    if (soft) {
        size_t s = q->kern->scratch(q, q->nslot);
        q->kscratch = s > q->kscratch ? s : q->kscratch;
    }
    q->sc_dxq = q->kscratch;
    q->sc_xt = q->sc_dxq + mb * q->in_n;
    q->sc_dz = q->sc_xt + (q->row >= 0 ? mb * q->in_n : 0); /* soft and soft_a */
    q->sc_dw = q->sc_dz + (soft ? mb * K * q->out_n : 0);
    q->sc_ds = q->sc_dw + K * q->w_n;
    size_t end = q->sc_ds + (soft && q->groups > 1 ? K * q->w_n : 0);
    nn_net_need_scratch(net, end);
}

static int make_buffers(q_layer *q, nn_net *net, int soft, qa_err *err)
{
    size_t mb = (size_t)net->max_batch;
    q->xq = nn_net_batch_buffer(net, q->in_n, err);
    q->wqbuf = nn_arena_floats(&net->arena, (size_t)q->nslot * q->w_n, err);
    q->idx = nn_arena_alloc(&net->arena, 3 * mb * sizeof(int), err);
    q->wt = nn_arena_floats(&net->arena, 2 * mb, err);
    if (!q->xq || !q->wqbuf || !q->idx || !q->wt)
        return err ? err->code : QA_ERR_NOMEM;
    q->idx_a = q->idx + mb;
    q->key = q->idx_a + mb;
    q->dot = q->wt + mb;
    q->wstack = q->wqbuf;
    if (!soft)
        return QA_OK;
    q->z = nn_net_batch_buffer(net, (size_t)q->nslot * q->out_n, err);
    if (q->groups > 1)
        q->wstack = nn_arena_floats(&net->arena, (size_t)q->nslot * q->w_n, err);
    q->sel = nn_arena_alloc(&net->arena, (size_t)q->nslot * mb * sizeof(int), err);
    q->mixw = nn_arena_floats(&net->arena, ((size_t)q->nslot + 1) * mb, err);
    q->kmask = nn_arena_alloc(&net->arena, mb, err);
    if (!q->z || !q->wstack || !q->sel || !q->mixw || !q->kmask)
        return err ? err->code : QA_ERR_NOMEM;
    q->mass = q->mixw + (size_t)q->nslot * mb;
    return QA_OK;
}

static void set_slots(q_layer *q, const q_layer_spec *spec)
{
    if (spec->row >= 0) {
        q->nslot = spec->plan->ncand;
        memcpy(q->wbits, spec->plan->cand, (size_t)q->nslot * sizeof(int));
        memcpy(q->abits, spec->plan->cand, (size_t)q->nslot * sizeof(int));
        return;
    }
    q->nslot = 1;
    q->wbits[0] = spec->pin_w;
    q->abits[0] = spec->pin_a;
}

int q_layer_wrap(nn_net *net, int i, const q_layer_spec *spec, q_layer **out, qa_err *err)
{
    QA_ASSERT(i >= 0 && i < net->nlayers && !net->finalized);
    nn_layer *inner = net->layers[i];
    if (!q_layer_supported(inner))
        return qa_fail(err, QA_ERR_ARG, "layer %s: type %s cannot be quantized (conv2d, dense)",
                       inner->name, inner->ops->type);
    QA_ASSERT(spec->row < 0 || spec->row < spec->plan->nlayers);
    q_layer *q = nn_net_new_layer(net, sizeof *q, &q_layer_ops, inner->name, err);
    if (!q)
        return err ? err->code : QA_ERR_NOMEM;
    q->inner = inner;
    q->plan = spec->plan;
    q->row = spec->row;
    q->base.macs = inner->macs;
    set_slots(q, spec);
    int conv = strcmp(inner->ops->type, "conv2d") == 0;
    q->kern = conv ? &q_kern_conv2d : &q_kern_dense;
    if (conv)
        shape_conv(q);
    else
        shape_dense(q);
    int soft = spec->cfg->soft && q->row >= 0;
    q->keep = spec->cfg->soft_keep > 0 && spec->cfg->soft_keep < q->nslot ? spec->cfg->soft_keep
                                                                          : q->nslot;
    q->min_p = spec->cfg->soft_min_p;
    int rc = make_quantizers(q, net, spec, err);
    if (rc == QA_OK)
        rc = make_buffers(q, net, soft, err);
    if (rc < 0)
        return rc;
    plan_scratch(q, net, soft);
    nn_net_replace_layer(net, i, &q->base);
    if (out)
        *out = q;
    return QA_OK;
}
