/* qam.c: the model's memory and its consistency rules. */
#include <stdlib.h>
#include <string.h>

#include "deploy/qam.h"

int dep_model_alloc(dep_model *m, int nlayers, int ntensors, int nops, qa_err *err)
{
    m->layers = calloc((size_t)nlayers, sizeof *m->layers);
    m->tensors = calloc((size_t)ntensors, sizeof *m->tensors);
    m->ops = calloc((size_t)nops, sizeof *m->ops);
    m->nlayers = nlayers;
    m->ntensors = ntensors;
    m->nops = nops;
    if (!m->layers || !m->tensors || !m->ops)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for a model of %d layers", nlayers);
    return QA_OK;
}

int dep_layer_alloc(dep_layer *l, qa_err *err)
{
    size_t wn = dep_layer_wn(l), oc = (size_t)l->oc;
    l->mul = calloc(oc, sizeof *l->mul);
    l->add = calloc(oc, sizeof *l->add);
    int ok = l->mul && l->add;
    for (int j = 0; j < l->nw && ok; j++) {
        l->ws[j].codes = calloc(wn, 1);
        l->ws[j].scale = calloc(oc, sizeof *l->ws[j].scale);
        ok = l->ws[j].codes && l->ws[j].scale;
    }
    return ok ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "out of memory for layer %s", l->name);
}

void dep_model_free(dep_model *m)
{
    for (int i = 0; m->layers && i < m->nlayers; i++) {
        dep_layer *l = &m->layers[i];
        for (int j = 0; j < DEP_MAX_SLOTS; j++) {
            free(l->ws[j].codes);
            free(l->ws[j].scale);
        }
        free(l->mul);
        free(l->add);
    }
    free(m->layers);
    free(m->tensors);
    free(m->ops);
    free(m->pol.params);
    memset(m, 0, sizeof *m);
}

static int same_shape(const dep_tensor *t, int c, int h, int w)
{
    return t->c == c && t->h == h && t->w == w;
}

static int check_layer(const dep_model *m, const dep_layer *l, const char *where, qa_err *err)
{
    if (l->row >= m->nplan || (l->row < 0 && (l->nw != 1 || l->na != 1)))
        return qa_fail(err, QA_ERR_FORMAT, "%s: layer %s: plan row %d of %d with %d/%d slots",
                       where, l->name, l->row, m->nplan, l->nw, l->na);
    if (l->oh != (l->h + 2 * l->ph - l->kh) / l->sh + 1 || l->ow != (l->w + 2 * l->pw - l->kw) / l->sw + 1)
        return qa_fail(err, QA_ERR_FORMAT, "%s: layer %s: output %dx%d does not follow from its "
                       "geometry", where, l->name, l->oh, l->ow);
    for (int j = 0; j < l->nw; j++) {
        int lim = (1 << (l->ws[j].pack - 1));
        for (size_t i = 0; i < dep_layer_wn(l); i++)
            if (l->ws[j].codes[i] < -lim || l->ws[j].codes[i] >= lim)
                return qa_fail(err, QA_ERR_FORMAT, "%s: layer %s: weight code %d out of range",
                               where, l->name, l->ws[j].codes[i]);
    }
    for (int j = 0; j < l->na; j++) {
        const dep_aslot *a = &l->as[j];
        int lo = a->is_signed ? -128 : 0, hi = a->is_signed ? 127 : 255;
        if (a->lo < lo || a->hi > hi || a->lo > a->hi || !(a->step > 0.0f))
            return qa_fail(err, QA_ERR_FORMAT, "%s: layer %s: activation slot %d: codes %d..%d, "
                           "step %g", where, l->name, j, a->lo, a->hi, (double)a->step);
    }
    return QA_OK;
}

/* the op's tensors exist, are made before they are read, and fit its layer */
static int check_op(const dep_model *m, int i, const int *made, const char *where, qa_err *err)
{
    const dep_op *o = &m->ops[i];
    const dep_tensor *out = &m->tensors[o->out], *in = o->in >= 0 ? &m->tensors[o->in] : NULL;
    int ok = !made[o->out] && (o->kind == DEP_OP_INPUT) == (in == NULL) && (!in || made[o->in]);
    if (ok && o->kind == DEP_OP_CONV) {
        const dep_layer *l = o->layer >= 0 ? &m->layers[o->layer] : NULL;
        ok = l && in->kind == DEP_T_CODES && in->layer == o->layer &&
             same_shape(in, l->c, l->h, l->w) && same_shape(out, l->oc, l->oh, l->ow) &&
             (o->skip < 0 || (made[o->skip] && m->tensors[o->skip].kind == DEP_T_FIX &&
                              same_shape(&m->tensors[o->skip], l->oc, l->oh, l->ow)));
    } else if (ok && o->kind == DEP_OP_INPUT) {
        ok = out->kind == DEP_T_CODES && same_shape(out, m->c, m->h, m->w);
    } else if (ok) {
        ok = in->kind == DEP_T_FIX && out->kind == DEP_T_CODES &&
             (o->kind == DEP_OP_QUANT ? same_shape(out, in->c, in->h, in->w)
                                      : same_shape(out, in->c, 1, 1) && in->c <= DEP_GAP_MAX_C);
    }
    if (ok && out->kind == DEP_T_CODES) {
        const dep_layer *c = out->layer >= 0 ? &m->layers[out->layer] : NULL;
        ok = c && same_shape(out, c->c, c->h, c->w);
    }
    if (ok && out->kind == DEP_T_FIX)
        ok = out->t > 0.0f;
    return ok ? QA_OK : qa_fail(err, QA_ERR_FORMAT, "%s: op %d (kind %d) does not fit its "
                                "tensors", where, i, o->kind);
}

static int has_width(const dep_layer *l, int bits, int w)
{
    for (int k = 0; k < (w ? l->nw : l->na); k++)
        if ((w ? l->ws[k].bits : l->as[k].bits) == bits)
            return 1;
    return 0;
}

/* every width a plan can give a planned layer is one of its slots */
static int check_plan(const dep_model *m, const char *where, qa_err *err)
{
    for (int i = 0; i < m->nlayers; i++) {
        const dep_layer *l = &m->layers[i];
        int ok = 1;
        for (int k = 0; l->row >= 0 && m->pol.present && k < m->ncand; k++)
            ok &= has_width(l, m->cand[k], 1) && has_width(l, m->cand[k], 0);
        if (l->row >= 0 && !m->pol.present)
            ok = has_width(l, m->fixed_w[l->row], 1) && has_width(l, m->fixed_a[l->row], 0);
        if (!ok)
            return qa_fail(err, QA_ERR_FORMAT, "%s: layer %s has no weights or steps for a "
                           "width its plan gives", where, l->name);
    }
    return QA_OK;
}

int dep_model_check(const dep_model *m, const char *where, qa_err *err)
{
    if (m->nops < 1 || m->ncand > Q_MAX_CAND || m->nplan > Q_MAX_LAYERS)
        return qa_fail(err, QA_ERR_FORMAT, "%s: empty or oversized model", where);
    for (int i = 0; i < m->nlayers; i++) {
        int rc = check_layer(m, &m->layers[i], where, err);
        if (rc)
            return rc;
    }
    int *made = calloc((size_t)m->ntensors, sizeof *made);
    if (!made)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory checking %s", where);
    int rc = QA_OK;
    for (int i = 0; i < m->nops && !rc; i++) {
        rc = check_op(m, i, made, where, err);
        made[m->ops[i].out] = 1;
    }
    free(made);
    if (rc)
        return rc;
    const dep_tensor *last = &m->tensors[m->ops[m->nops - 1].out];
    if (last->kind != DEP_T_FLOAT || last->c != m->nclass || last->h != 1 || last->w != 1)
        return qa_fail(err, QA_ERR_FORMAT, "%s: the last op does not give %d logits", where,
                       m->nclass);
    if (m->pol.present && (m->pol.nin < 1 || m->nplan < 1))
        return qa_fail(err, QA_ERR_FORMAT, "%s: a policy without planned layers", where);
    return check_plan(m, where, err);
}
