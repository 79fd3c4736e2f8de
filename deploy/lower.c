/* lower.c: the walk over the net's layers that builds the model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/lower.h"
#include "nn/act.h"
#include "nn/batchnorm.h"
#include "nn/dense.h"
#include "quant/intkern.h"

typedef struct {
    const dep_lower_src *s;
    dep_model *m;
    int *fix;      /* (ntensors of the net) FIX tensor made for it, or -1 */
    int *codes;    /* (ntensors of the net) CODES made for its only reader, or -1 */
    /* the op being built: a CONV whose epilogue is still growing */
    int open, op, layer, cur;
} lowering;

static int layer_index(const q_net *qn, const nn_layer *l)
{
    for (int k = 0; k < qn->n; k++)
        if (&qn->layers[k]->base == l)
            return k;
    return -1;
}

static int readers(const nn_net *net, int t, int *only)
{
    int n = 0;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i]->nin; j++)
            if (net->layers[i]->in[j] == t) {
                n++;
                *only = i;
            }
    return n;
}

static int new_tensor(lowering *w, int kind, int c, int h, int wd, int layer)
{
    dep_tensor *t = &w->m->tensors[w->m->ntensors];
    t->kind = kind;
    t->c = c;
    t->h = h;
    t->w = wd;
    t->layer = layer;
    return w->m->ntensors++;
}

static dep_op *new_op(lowering *w, int kind, int in, int out)
{
    dep_op *o = &w->m->ops[w->m->nops++];
    o->kind = kind;
    o->in = in;
    o->out = out;
    o->layer = -1;
    o->skip = -1;
    return o;
}

/* the smallest step of the quantized layers reading t (directly or
 * through a pool), 2^-16 of it: the FIX scale of t */
static float fix_scale(const lowering *w, int t)
{
    const nn_net *net = w->s->net;
    float s = INFINITY;
    for (int i = 0; i < net->nlayers; i++) {
        const nn_layer *l = net->layers[i];
        int k = layer_index(w->s->qn, l);
        if (l->in[0] != t)
            continue;
        if (k < 0 && strcmp(l->ops->type, "global_avgpool") == 0) {
            float p = fix_scale(w, l->out) * (float)(1 << DEP_FIX_SHIFT);
            s = p < s ? p : s;
        }
        for (int j = 0; k >= 0 && j < w->m->layers[k].na; j++)
            s = w->m->layers[k].as[j].step < s ? w->m->layers[k].as[j].step : s;
    }
    return (isfinite(s) ? s : 1.0f) / (float)(1 << DEP_FIX_SHIFT);
}

static int geometry(const q_layer *q, dep_layer *d, qa_err *err)
{
    if (q->kern == &q_kern_conv2d) {
        const nn_conv_geom *g = &q->g[0];
        int v[] = {g->c, g->h, g->w, g->oc, g->oh, g->ow, g->kh, g->kw, g->sh, g->sw, g->ph,
                   g->pw, g->groups};
        int *f[] = {&d->c, &d->h, &d->w, &d->oc, &d->oh, &d->ow, &d->kh, &d->kw, &d->sh, &d->sw,
                    &d->ph, &d->pw, &d->groups};
        for (size_t i = 0; i < sizeof v / sizeof *v; i++)
            *f[i] = v[i];
    } else {
        d->c = (int)q->in_n;
        d->oc = (int)q->out_n;
        d->h = d->w = d->oh = d->ow = d->kh = d->kw = d->sh = d->sw = d->groups = 1;
    }
    if (d->groups != 1 && (d->groups != d->c || d->oc != d->c))
        return qa_fail(err, QA_ERR_UNSUPPORTED, "layer %s: grouped convolutions other than "
                       "depthwise (groups = channels in = out) are not supported by the "
                       "integer engine", d->name);
    int products = d->c / d->groups * d->kh * d->kw;
    if (!q_int_fits(products, 128, 255))
        return qa_fail(err, QA_ERR_UNSUPPORTED, "layer %s: %d products per output could "
                       "overflow int32", d->name, products);
    return QA_OK;
}

/* weight slot j: codes, per-channel scales, the bits they pack into */
static int weight_slot(const q_layer *q, const nn_params *p, dep_layer *d, int j, qa_err *err)
{
    q_quant wq = q->wq[j]; /* resolving writes the step cache only */
    q_rows rows = q_layer_wrows(q, j);
    const float *w = nn_params_value(p, q->w_view);
    size_t n = dep_layer_wn(d);
    int32_t *c = malloc(n * sizeof *c);
    float *rs = malloc((size_t)d->oc * sizeof *rs);
    if (!c || !rs) {
        free(c), free(rs);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory lowering %s", d->name);
    }
    q_quant_resolve(&wq, p, w, &rows, 0);
    q_quant_codes(&wq, c, rs, w, &rows);
    int mx = 0;
    for (size_t i = 0; i < n; i++) {
        int a = c[i] < 0 ? -c[i] - 1 : c[i];
        mx = a > mx ? a : mx;
        d->ws[j].codes[i] = (int8_t)c[i];
    }
    for (int o = 0; o < d->oc; o++)
        d->ws[j].scale[o] = rs[rows.n == 1 ? 0 : o];
    free(c), free(rs);
    d->ws[j].bits = q->wbits[j];
    for (d->ws[j].pack = 2; (1 << (d->ws[j].pack - 1)) <= mx; d->ws[j].pack++)
        ;
    if (d->ws[j].pack > 8)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "layer %s: %d-bit weight codes reach %d, beyond "
                       "int8 (DoReFa at 8 bits)", d->name, q->wbits[j], mx + 1);
    return QA_OK;
}

static void act_slot(const q_layer *q, const nn_params *p, dep_aslot *a, int j)
{
    q_quant aq = q->aq[j];
    q_rows none = {q->in_n, NULL, 0};
    a->bits = aq.r.bits;
    a->is_signed = aq.r.qn > 0.0f;
    a->lo = (int)-aq.r.qn;
    a->hi = (int)aq.r.qp;
    a->step = 1.0f;
    if (a->bits == Q_BITS_OFF) { /* the raw pixels: codes 0..255 */
        a->lo = 0;
        a->hi = 255;
        return;
    }
    q_quant_resolve(&aq, p, NULL, &none, 0);
    a->step = aq.s[0];
}

static int fill_layer(lowering *w, int k, qa_err *err)
{
    const q_layer *q = w->s->qn->layers[k];
    const nn_params *p = &w->s->net->params;
    dep_layer *d = &w->m->layers[k];
    snprintf(d->name, sizeof d->name, "%s", q->base.name);
    d->row = q->row;
    d->nw = d->na = q->nslot;
    int rc = geometry(q, d, err);
    if (!rc)
        rc = dep_layer_alloc(d, err);
    for (int j = 0; !rc && j < q->nslot; j++) {
        rc = weight_slot(q, p, d, j, err);
        act_slot(q, p, &d->as[j], j);
    }
    if (rc)
        return rc;
    const float *b = q->b_view >= 0 ? nn_params_value(p, q->b_view) : NULL;
    for (int o = 0; o < d->oc; o++) {
        d->mul[o] = 1.0f;
        d->add[o] = b ? b[o] : 0.0f;
    }
    return QA_OK;
}

/* codes of net tensor t for quantized layer k */
static int codes_for(lowering *w, int t, int k, qa_err *err)
{
    const dep_layer *d = &w->m->layers[k];
    if (w->codes[t] >= 0 && w->m->tensors[w->codes[t]].layer == k)
        return w->codes[t];
    int out = new_tensor(w, DEP_T_CODES, d->c, d->h, d->w, k);
    if (t == 0) {
        new_op(w, DEP_OP_INPUT, -1, out);
        return out;
    }
    if (w->fix[t] < 0 || d->h * d->w * d->c != w->m->tensors[w->fix[t]].c *
                                                    w->m->tensors[w->fix[t]].h * w->m->tensors[w->fix[t]].w)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "layer %s: its input is not a tensor the "
                       "integer engine can make (a flattened feature map?)", d->name);
    new_op(w, DEP_OP_QUANT, w->fix[t], out);
    return out;
}

/* the open op's output becomes CODES, FIX or FLOAT by who reads it */
static void close_op(lowering *w)
{
    if (!w->open)
        return;
    const nn_net *net = w->s->net;
    dep_op *o = &w->m->ops[w->op];
    const dep_layer *d = &w->m->layers[w->layer];
    int only = -1, n = readers(net, w->cur, &only);
    int k = n == 1 ? layer_index(w->s->qn, net->layers[only]) : -1;
    if (n == 0) {
        o->out = new_tensor(w, DEP_T_FLOAT, d->oc, d->oh, d->ow, -1);
    } else if (k >= 0) {
        o->out = w->codes[w->cur] = new_tensor(w, DEP_T_CODES, d->oc, d->oh, d->ow, k);
    } else {
        o->out = w->fix[w->cur] = new_tensor(w, DEP_T_FIX, d->oc, d->oh, d->ow, -1);
        w->m->tensors[o->out].t = fix_scale(w, w->cur);
    }
    w->open = 0;
}

static void fold_bn(lowering *w, const nn_layer *l)
{
    const nn_batchnorm2d *bn = (const nn_batchnorm2d *)l;
    const nn_params *p = &w->s->net->params;
    const float *gamma = nn_params_value(p, bn->gamma_view), *beta = nn_params_value(p, bn->beta_view);
    const float *mean = nn_params_value(p, bn->mean_view), *var = nn_params_value(p, bn->var_view);
    dep_layer *d = &w->m->layers[w->layer];
    for (int c = 0; c < d->oc; c++) { /* batchnorm.c's evaluation: x scale + shift */
        float istd = (float)(1.0 / sqrt((double)var[c] + bn->eps));
        float scale = gamma[c] * istd, shift = beta[c] - mean[c] * scale;
        d->mul[c] = d->mul[c] * scale;
        d->add[c] = d->add[c] * scale + shift;
    }
}

/* 1 when layer l folds into the open op */
static int fold(lowering *w, const nn_layer *l)
{
    if (!w->open || (l->in[0] != w->cur && (l->nin < 2 || l->in[1] != w->cur)))
        return 0;
    dep_layer *d = &w->m->layers[w->layer];
    dep_op *o = &w->m->ops[w->op];
    const char *type = l->ops->type;
    int fresh = d->act == DEP_ACT_NONE && o->skip < 0, only;
    if (readers(w->s->net, w->cur, &only) != 1)
        return 0;
    if (strcmp(type, "batchnorm2d") == 0 && fresh)
        fold_bn(w, l);
    else if ((strcmp(type, "relu") == 0 || strcmp(type, "relu6") == 0) && d->act == DEP_ACT_NONE)
        d->act = strcmp(type, "relu") == 0 ? DEP_ACT_RELU : DEP_ACT_RELU6;
    else if (strcmp(type, "add") == 0 && fresh && w->fix[l->in[l->in[0] == w->cur]] >= 0)
        o->skip = w->fix[l->in[l->in[0] == w->cur]];
    else
        return 0;
    w->cur = l->out;
    return 1;
}

static int pool_op(lowering *w, const nn_layer *l, qa_err *err)
{
    int only = -1, k = -1;
    if (readers(w->s->net, l->out, &only) == 1)
        k = layer_index(w->s->qn, w->s->net->layers[only]);
    if (strcmp(l->ops->type, "global_avgpool") != 0 || k < 0 || w->fix[l->in[0]] < 0)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "layer %s (%s): the integer engine runs a "
                       "global average pool read by one quantized layer only", l->name,
                       l->ops->type);
    const dep_tensor *in = &w->m->tensors[w->fix[l->in[0]]];
    int out = new_tensor(w, DEP_T_CODES, in->c, 1, 1, k);
    new_op(w, DEP_OP_GAP, w->fix[l->in[0]], out);
    w->codes[l->out] = out;
    return QA_OK;
}

static int walk(lowering *w, qa_err *err)
{
    const nn_net *net = w->s->net;
    for (int i = 0; i < net->nlayers; i++) {
        const nn_layer *l = net->layers[i];
        if (fold(w, l))
            continue;
        close_op(w);
        int k = layer_index(w->s->qn, l);
        if (k < 0) {
            int rc = pool_op(w, l, err);
            if (rc)
                return rc;
            continue;
        }
        int in = codes_for(w, l->in[0], k, err);
        if (in < 0)
            return in;
        w->op = w->m->nops;
        new_op(w, DEP_OP_CONV, in, -1)->layer = k;
        w->open = 1;
        w->layer = k;
        w->cur = l->out;
    }
    close_op(w);
    return QA_OK;
}

static int lower_policy(dep_model *m, const dep_lower_src *s, qa_err *err)
{
    const agent_policy *p = s->pol;
    dep_policy *d = &m->pol;
    d->present = 1;
    d->nin = p->cfg.nin;
    d->hidden = p->cfg.hidden;
    d->head = p->cfg.head;
    d->tied = p->cfg.tied;
    d->sigma_min = p->cfg.sigma_min;
    d->sigma_max = p->sigma_max;
    d->mu_init = p->cfg.mu_init;
    d->tau = p->tau;
    d->feat_mode = s->feat_mode;
    d->nparams = p->params.n + p->params.nbuf;
    d->params = malloc((d->nparams ? d->nparams : 1) * sizeof *d->params);
    if (!d->params)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory lowering the policy");
    memcpy(d->params, p->params.w, p->params.n * sizeof *d->params);
    memcpy(d->params + p->params.n, p->params.buf, p->params.nbuf * sizeof *d->params);
    return QA_OK;
}

static int lower_header(dep_model *m, const dep_lower_src *s, qa_err *err)
{
    const nn_net *net = s->net;
    const q_plan *plan = s->qn->plan;
    snprintf(m->arch, sizeof m->arch, "%s", s->arch ? s->arch : "");
    m->c = net->t[0].d[1];
    m->h = net->t[0].d[2];
    m->w = net->t[0].d[3];
    m->nclass = s->nclass;
    for (int c = 0; c < 3; c++) {
        m->mean[c] = c < m->c ? s->mean[c] : 0.0f;
        m->std[c] = c < m->c ? s->std[c] : 1.0f;
    }
    m->nplan = plan->nlayers;
    m->ncand = plan->ncand;
    m->tied = plan->tied;
    memcpy(m->cand, plan->cand, sizeof m->cand);
    for (int l = 0; !s->pol && l < m->nplan; l++) {
        m->fixed_w[l] = s->fixed_w[l];
        m->fixed_a[l] = s->fixed_a[l];
    }
    return s->pol ? lower_policy(m, s, err) : QA_OK;
}

/* an unquantized input must be pixels / 255 for its codes to be the pixels */
static int check_input(const dep_model *m, qa_err *err)
{
    const dep_layer *first = &m->layers[m->tensors[m->ops[0].out].layer];
    for (int c = 0; first->as[0].bits == Q_BITS_OFF && c < m->c; c++)
        if (m->mean[c] != 0.0f || m->std[c] != 1.0f)
            return qa_fail(err, QA_ERR_UNSUPPORTED, "layer %s reads the unquantized input "
                           "(quant.input = none) normalised with mean %g std %g: the integer "
                           "engine needs data.normalize = none there", first->name,
                           (double)m->mean[c], (double)m->std[c]);
    return QA_OK;
}

int dep_lower(dep_model *m, const dep_lower_src *s, qa_err *err)
{
    memset(m, 0, sizeof *m);
    int cap = 4 * s->net->nlayers + 4;
    lowering w = {.s = s, .m = m};
    int rc = dep_model_alloc(m, s->qn->n, cap, cap, err);
    w.fix = malloc((size_t)s->net->ntensors * sizeof *w.fix);
    w.codes = malloc((size_t)s->net->ntensors * sizeof *w.codes);
    if (!rc && (!w.fix || !w.codes))
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory lowering the network");
    for (int t = 0; !rc && t < s->net->ntensors; t++)
        w.fix[t] = w.codes[t] = -1;
    m->ntensors = m->nops = 0;
    for (int k = 0; !rc && k < s->qn->n; k++)
        rc = fill_layer(&w, k, err);
    if (!rc)
        rc = lower_header(m, s, err);
    if (!rc)
        rc = walk(&w, err);
    if (!rc)
        rc = check_input(m, err);
    if (!rc)
        rc = dep_model_check(m, "lowered model", err);
    free(w.fix);
    free(w.codes);
    if (rc)
        dep_model_free(m);
    return rc;
}
