/* engine.c: loading a model into the engine: packed weights, indirection
 * tables, workspaces and the policy. */
#include <stdlib.h>
#include <string.h>

#include "deploy/engine_priv.h"
#include "env/quality.h"
#include "nn/par.h"

static int round4(int c)
{
    return (c + 3) / 4 * 4;
}

/* offsets of every output pixel's taps in the (H, W, cp) input; a tap in
 * the padding reads the zero point block after the pixels (H W cp) */
static void build_ind(const dep_layer *l, int cp, int T, int32_t *ind)
{
    for (int oy = 0; oy < l->oh; oy++)
        for (int ox = 0; ox < l->ow; ox++)
            for (int ky = 0; ky < l->kh; ky++)
                for (int kx = 0; kx < l->kw; kx++) {
                    int iy = oy * l->sh - l->ph + ky, ix = ox * l->sw - l->pw + kx;
                    int in = iy >= 0 && iy < l->h && ix >= 0 && ix < l->w;
                    size_t at = ((size_t)oy * (size_t)l->ow + (size_t)ox) * (size_t)T +
                                (size_t)ky * (size_t)l->kw + (size_t)kx;
                    ind[at] = (int32_t)((in ? (size_t)iy * (size_t)l->w + (size_t)ix
                                            : (size_t)l->h * (size_t)l->w) * (size_t)cp);
                }
}

/* depthwise (OC, 1, KH, KW) codes -> (T, Cp), the layout of every variant */
static void pack_dw(const dep_layer *l, eng_layer *el, int j)
{
    int8_t *w = el->wpack[j];
    const int8_t *src = l->ws[j].codes;
    for (int o = 0; o < l->oc; o++)
        for (int t = 0; t < el->T; t++) {
            int8_t v = src[(size_t)o * (size_t)el->T + (size_t)t];
            w[(size_t)t * (size_t)el->Cp + (size_t)o] = v;
            el->wsum[j][o] += v;
        }
}

/* (OC, C, KH, KW) codes -> (OC, T, Cp) with zero padding channels (ROWS:
 * (OC, KH, 4) with kx < KW; PATCH: (OC, 1, Kp) tap-major), packed */
static int pack_slot(const dep_engine *e, const dep_layer *l, eng_layer *el, int j, qa_err *err)
{
    int dw = el->lowering == EL_DW;
    size_t n = (size_t)(dw ? 1 : l->oc) * (size_t)el->T * (size_t)el->Cp;
    int taps = l->kh * l->kw;
    int8_t *w = dw ? NULL : calloc(n, 1);
    el->wpack[j] = dw ? calloc(n, 1) : malloc(e->kern->wbytes(l->oc, el->T, el->Cp));
    el->wsum[j] = calloc((size_t)l->oc, sizeof *el->wsum[j]);
    if ((!dw && !w) || !el->wpack[j] || !el->wsum[j]) {
        free(w);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory packing layer %s", l->name);
    }
    if (dw) {
        pack_dw(l, el, j);
        return QA_OK;
    }
    const int8_t *src = l->ws[j].codes;
    for (int o = 0; o < l->oc; o++)
        for (int c = 0; c < l->c; c++)
            for (int t = 0; t < taps; t++) {
                int8_t v = src[((size_t)o * (size_t)l->c + (size_t)c) * (size_t)taps + (size_t)t];
                size_t at = el->lowering == EL_PATCH  ? (size_t)t * (size_t)l->c + (size_t)c
                            : el->lowering == EL_ROWS ? (size_t)(t / l->kw * 4 + t % l->kw)
                                                      : (size_t)t * (size_t)el->Cp + (size_t)c;
                w[(size_t)o * (size_t)el->T * (size_t)el->Cp + at] = v;
                el->wsum[j][o] += v;
            }
    e->kern->pack(w, l->oc, el->T, el->Cp, el->wpack[j]);
    free(w);
    return QA_OK;
}

/* ROWS: tap row ky of pixel (oy, ox) in the image's padded plane */
static void rows_ind(const dep_layer *l, int32_t *ind)
{
    int wp = l->w + 2 * l->pw;
    for (int oy = 0; oy < l->oh; oy++)
        for (int ox = 0; ox < l->ow; ox++)
            for (int ky = 0; ky < l->kh; ky++)
                ind[(oy * l->ow + ox) * l->kh + ky] = (oy * l->sh + ky) * wp + ox * l->sw;
}

/* the layer's lowering, taps, channels and offset tables */
static int plan_input(const dep_layer *l, eng_layer *el, qa_err *err)
{
    int taps = l->kh * l->kw;
    el->P = l->oh * l->ow;
    el->lowering = l->groups > 1                                         ? EL_DW
                   : taps == 1 || round4(l->c * taps) >= round4(l->c) * taps ? EL_DIRECT
                   : l->c == 1 && l->kw <= 4                              ? EL_ROWS
                                                                          : EL_PATCH;
    el->T = el->lowering == EL_ROWS ? l->kh : (el->lowering == EL_PATCH ? 1 : taps);
    el->Cp = el->lowering == EL_PATCH ? round4(l->c * taps)
             : el->lowering == EL_DW  ? DEP_DW_CP(l->c)
                                      : round4(l->c);
    el->ind = malloc((size_t)el->P * (size_t)el->T * sizeof *el->ind);
    el->gather = el->lowering == EL_PATCH ? malloc((size_t)el->P * (size_t)taps * 4) : NULL;
    if (!el->ind || (el->lowering == EL_PATCH && !el->gather))
        return qa_fail(err, QA_ERR_NOMEM, "out of memory loading layer %s", l->name);
    size_t plane = (size_t)(l->h + 2 * l->ph) * (size_t)(l->w + 2 * l->pw) + 4; /* + the last row's neighbour */
    el->scratch = el->lowering == EL_ROWS    ? (plane + 63) / 64 * 64
                  : el->lowering == EL_PATCH ? ((size_t)el->P * (size_t)el->Cp + 63) / 64 * 64
                                             : 0;
    if (el->lowering == EL_ROWS) {
        rows_ind(l, el->ind);
    } else if (el->lowering == EL_PATCH) {
        build_ind(l, round4(l->c), taps, el->gather);
        for (int p = 0; p < el->P; p++)
            el->ind[p] = p * el->Cp;
    } else { /* DIRECT, DW: taps of the (H, W, round4(C)) input */
        build_ind(l, round4(l->c), taps, el->ind);
    }
    return QA_OK;
}

static int build_layers(dep_engine *e, qa_err *err)
{
    e->layers = calloc((size_t)e->m.nlayers, sizeof *e->layers);
    if (!e->layers)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory loading the model");
    for (int i = 0; i < e->m.nlayers; i++) {
        const dep_layer *l = &e->m.layers[i];
        eng_layer *el = &e->layers[i];
        if (l->groups != 1 && (l->groups != l->c || l->oc != l->c))
            return qa_fail(err, QA_ERR_UNSUPPORTED, "layer %s: grouped convolutions other "
                           "than depthwise are not supported by the integer engine", l->name);
        int rc = plan_input(l, el, err);
        if (rc)
            return rc;
        for (int j = 0; j < l->nw; j++) {
            int rc = pack_slot(e, l, el, j, err);
            if (rc)
                return rc;
        }
    }
    return QA_OK;
}

static size_t tensor_bytes(const dep_tensor *t, int *cp)
{
    size_t hw = (size_t)t->h * (size_t)t->w;
    *cp = round4(t->c);
    if (t->kind == DEP_T_CODES) /* + one pixel of zero points, what padding taps read */
        return ((hw + 1) * (size_t)*cp + 63) / 64 * 64;
    return (hw * (size_t)t->c * 4 + 63) / 64 * 64;
}

/* tensor sizes, the images a workspace holds, one workspace per thread */
static int build_buffers(dep_engine *e, qa_err *err)
{
    int nt = e->m.ntensors;
    e->tbytes = calloc((size_t)nt, sizeof *e->tbytes);
    e->toff = calloc((size_t)nt, sizeof *e->toff);
    e->tcp = calloc((size_t)nt, sizeof *e->tcp);
    if (!e->tbytes || !e->toff || !e->tcp)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory loading the model");
    size_t per = 0;
    for (int i = 0; i < nt; i++) {
        e->tbytes[i] = tensor_bytes(&e->m.tensors[i], &e->tcp[i]);
        per += e->tbytes[i];
    }
    size_t patch = 0; /* the largest ROWS / PATCH scratch of an image */
    for (int i = 0; i < e->m.nlayers; i++)
        patch = e->layers[i].scratch > patch ? e->layers[i].scratch : patch;
    per += patch;
    e->chunk = (int)(DEP_CHUNK_BYTES / per);
    e->chunk = e->chunk < 1 ? 1 : (e->chunk > 32 ? 32 : e->chunk);
    for (int i = 0; i < nt; i++)
        e->toff[i] = (i ? e->toff[i - 1] + e->tbytes[i - 1] * (size_t)e->chunk : 0);
    e->patch_off = (per - patch) * (size_t)e->chunk;
    e->ws_bytes = per * (size_t)e->chunk;
    e->nws = nn_par_threads();
    e->ws = calloc((size_t)e->nws, sizeof *e->ws);
    if (!e->ws)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory loading the model");
    for (int i = 0; i < e->nws; i++)
        if (!(e->ws[i] = aligned_alloc(64, e->ws_bytes)))
            return qa_fail(err, QA_ERR_NOMEM, "out of memory for activations");
    for (int i = 0; i < e->nws; i++)
        memset(e->ws[i], 0, e->ws_bytes);
    return QA_OK;
}

/* per-op epilogue arrays, sized for 16-channel blocks */
static int build_opp(dep_engine *e, qa_err *err)
{
    e->opp = calloc((size_t)e->m.nops, sizeof *e->opp);
    size_t total = 0;
    for (int i = 0; i < e->m.nops; i++)
        if (e->m.ops[i].kind == DEP_OP_CONV)
            total += (size_t)(e->m.layers[e->m.ops[i].layer].oc + 15) / 16 * 16 * 3;
    e->oppmem = calloc(total ? total : 1, 4);
    if (!e->opp || !e->oppmem)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory loading the model");
    float *f = e->oppmem;
    for (int i = 0; i < e->m.nops; i++) {
        if (e->m.ops[i].kind != DEP_OP_CONV)
            continue;
        size_t n = (size_t)(e->m.layers[e->m.ops[i].layer].oc + 15) / 16 * 16;
        e->opp[i].m = f;
        e->opp[i].b = f + n;
        e->opp[i].zc = (int32_t *)(f + 2 * n);
        f += 3 * n;
    }
    return QA_OK;
}

static int build_policy(dep_engine *e, qa_err *err)
{
    const dep_model *m = &e->m;
    e->cap = DEP_POLICY_BATCH;
    e->wb = malloc((size_t)e->cap * (size_t)(m->nplan ? m->nplan : 1));
    e->ab = malloc((size_t)e->cap * (size_t)(m->nplan ? m->nplan : 1));
    e->order = malloc((size_t)e->cap * sizeof *e->order);
    e->gstart = malloc(((size_t)e->cap + 1) * sizeof *e->gstart);
    e->gfirst = malloc(((size_t)e->cap + 1) * sizeof *e->gfirst);
    e->gkey = malloc((size_t)e->cap * sizeof *e->gkey);
    if (!e->wb || !e->ab || !e->order || !e->gstart || !e->gfirst || !e->gkey)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for plans");
    const dep_policy *p = &m->pol;
    if (!p->present)
        return QA_OK;
    agent_policy_cfg c = {.nin = p->nin, .hidden = p->hidden, .nlayers = m->nplan,
                          .ncand = m->ncand, .tied = p->tied, .head = p->head,
                          .sigma_min = p->sigma_min, .sigma_max = p->sigma_max,
                          .mu_init = p->mu_init, .tau = p->tau, .max_batch = e->cap};
    memcpy(c.cand, m->cand, sizeof c.cand);
    int rc = agent_policy_create(&e->pol, &c, 0, err);
    if (!rc)
        rc = q_plan_create(&e->plan, e->cap, m->nplan, m->cand, m->ncand, p->tied, err);
    if (rc)
        return qa_err_prefix(err, "the model's policy: ");
    nn_params *pp = &e->pol->params;
    if (pp->n + pp->nbuf != p->nparams)
        return qa_fail(err, QA_ERR_FORMAT, "the model's policy has %zu parameters, its "
                       "configuration %zu", p->nparams, pp->n + pp->nbuf);
    memcpy(pp->w, p->params, pp->n * sizeof *pp->w);
    memcpy(pp->buf, p->params + pp->n, pp->nbuf * sizeof *pp->buf);
    int nf = p->feat_mode == ENV_FEAT_QUALITY ? ENV_Q_NFEAT : 0;
    if (p->feat_mode == ENV_FEAT_ORACLE || (nf ? nf : 1) != p->nin)
        return qa_fail(err, QA_ERR_FORMAT, "the model's policy reads %d inputs, feature mode "
                       "%d gives %d", p->nin, p->feat_mode, nf ? nf : 1);
    e->obs = malloc((size_t)e->cap * (size_t)p->nin * sizeof *e->obs);
    e->qscratch = malloc(env_quality_scratch(m->h, m->w) * sizeof *e->qscratch);
    return e->obs && e->qscratch ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "out of memory for plans");
}

int dep_engine_create(dep_engine **out, dep_model *m, const dep_engine_opts *o, qa_err *err)
{
    *out = NULL;
    dep_engine *e = calloc(1, sizeof *e);
    if (!e) {
        dep_model_free(m);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory loading the model");
    }
    e->m = *m;
    memset(m, 0, sizeof *m);
    const char *kname = o && o->kernel ? o->kernel : NULL;
    e->kern = kname ? dep_kern_find(kname) : dep_kern_best();
    int rc = e->kern ? QA_OK : qa_fail(err, QA_ERR_ARG, "kernel '%s' is unknown or not "
                                       "supported by this CPU (avx512vnni, avx2, c)", kname);
    if (!rc)
        rc = build_layers(e, err);
    if (!rc)
        rc = build_buffers(e, err);
    if (!rc)
        rc = build_opp(e, err);
    if (!rc)
        rc = build_policy(e, err);
    if (rc) {
        dep_engine_free(e);
        return rc;
    }
    *out = e;
    return QA_OK;
}

void dep_engine_free(dep_engine *e)
{
    if (!e)
        return;
    for (int i = 0; e->layers && i < e->m.nlayers; i++) {
        free(e->layers[i].ind);
        free(e->layers[i].gather);
        for (int j = 0; j < DEP_MAX_SLOTS; j++) {
            free(e->layers[i].wpack[j]);
            free(e->layers[i].wsum[j]);
        }
    }
    for (int i = 0; e->ws && i < e->nws; i++)
        free(e->ws[i]);
    free(e->ws);
    free(e->layers);
    free(e->tbytes);
    free(e->toff);
    free(e->tcp);
    free(e->opp);
    free(e->oppmem);
    agent_policy_free(e->pol);
    q_plan_free(e->plan);
    free(e->obs);
    free(e->qscratch);
    free(e->wb);
    free(e->ab);
    free(e->order);
    free(e->gstart);
    free(e->gfirst);
    free(e->gkey);
    dep_model_free(&e->m);
    free(e);
}

const dep_model *dep_engine_model(const dep_engine *e)
{
    return &e->m;
}

const char *dep_engine_kernel(const dep_engine *e)
{
    return e->kern->name;
}
