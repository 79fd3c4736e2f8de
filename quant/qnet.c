/* qnet.c: choosing, pinning and wrapping the quantizable layers. */
#include "quant/qnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* layers whose output is non-negative when their input is */
static const char *const sign_keeping[] = {"maxpool", "avgpool", "global_avgpool"};
/* layers whose output is never negative */
static const char *const non_negative[] = {"relu", "relu6"};

static int in_list(const char *type, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(type, list[i]) == 0)
            return 1;
    return 0;
}

static const nn_layer *producer(const nn_net *net, int tensor)
{
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i]->out == tensor)
            return net->layers[i];
    return NULL;
}

q_domain q_net_input_domain(const nn_net *net, const nn_layer *l, int input_signed)
{
    int t = l->in[0];
    for (;;) {
        if (t == 0)
            return input_signed ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
        const nn_layer *p = producer(net, t);
        QA_ASSERT(p);
        if (in_list(p->ops->type, non_negative, sizeof non_negative / sizeof *non_negative))
            return Q_DOM_UNSIGNED;
        if (!in_list(p->ops->type, sign_keeping, sizeof sign_keeping / sizeof *sign_keeping))
            return Q_DOM_SIGNED;
        t = p->in[0];
    }
}

void q_net_free(q_net *qn)
{
    if (!qn)
        return;
    q_plan_free(qn->plan);
    q_cost_model_free(&qn->cost);
    free(qn->layers);
    free(qn);
}

/* pinned width of the k-th of n quantizable layers, 0 when planned */
static int pinned_bits(const q_cfg *cfg, int k, int n)
{
    if (k == 0 && cfg->first_bits)
        return cfg->first_bits;
    if (k == n - 1 && cfg->last_bits)
        return cfg->last_bits;
    return 0;
}

/* the layer's shape in the cost table (conv from its geometry; dense as
 * a 1x1 convolution of one position with stride 0, the convention of the
 * HAQ search's layer state) */
static void describe(const q_layer *q, q_cost_layer *c)
{
    c->macs = q->base.macs;
    c->params = (int64_t)q->w_n;
    if (q->kern == &q_kern_conv2d) {
        const nn_conv_geom *g = &q->g[0];
        c->cin = g->c;
        c->cout = g->oc;
        c->kernel = g->kh;
        c->stride = g->sh;
        c->groups = g->groups;
        c->in_hw = g->h * g->w;
        return;
    }
    c->cin = (int)q->in_n;
    c->cout = (int)q->out_n;
    c->kernel = 1;
    c->stride = 0;
    c->groups = 1;
    c->in_hw = 1;
}

/* at (nall): the net's quantizable layers; those at wrap[k] are wrapped */
static int wrap_all(q_net *qn, nn_net *net, const int *at, int nall, const int *wrap,
                    q_cost_layer *cl, qa_err *err)
{
    int row = 0;
    for (int k = 0; k < qn->n; k++) {
        int j = wrap[k];
        nn_layer *inner = net->layers[at[j]];
        int pin = pinned_bits(&qn->cfg, j, nall);
        int pin_a = j == 0 && qn->cfg.input_domain == Q_INPUT_NONE ? Q_BITS_OFF : pin;
        q_layer_spec spec = {qn->plan, pin ? -1 : row, pin, pin_a,
                             q_net_input_domain(net, inner, qn->cfg.input_domain != Q_INPUT_UNSIGNED), &qn->cfg};
        q_cost_layer *c = &cl[k];
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", inner->name);
        snprintf(c->type, sizeof c->type, "%s", inner->ops->type);
        int rc = q_layer_wrap(net, at[j], &spec, &qn->layers[k], err);
        if (rc < 0)
            return rc;
        describe(qn->layers[k], c);
        c->plan_layer = spec.row;
        c->wbits = pin;
        c->abits = pin_a;
        row += !pin;
    }
    return q_cost_model_init(&qn->cost, cl, qn->n, err);
}

/* at (n): the net's quantizable layers; wrap (*nwrap): their positions in
 * at whose layer index lies in [first, last] */
static int find_layers(const nn_net *net, int first, int last, int *at, int *wrap, int *nwrap)
{
    int n = 0;
    *nwrap = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (q_layer_supported(net->layers[i])) {
            if (i >= first && i <= last)
                wrap[(*nwrap)++] = n;
            at[n++] = i;
        }
    return n;
}

int q_net_wrap(q_net **out, nn_net *net, const q_cfg *cfg, qa_err *err)
{
    return q_net_wrap_range(out, net, cfg, 0, net->nlayers - 1, err);
}

int q_net_wrap_range(q_net **out, nn_net *net, const q_cfg *cfg, int first, int last,
                     qa_err *err)
{
    *out = NULL;
    int rc = q_cfg_check(cfg, err);
    if (rc < 0)
        return rc;
    if (first < 0 || last >= net->nlayers || first > last)
        return qa_fail(err, QA_ERR_ARG, "layer range [%d, %d] is not within the net's %d layers",
                       first, last, net->nlayers);
    q_net *qn = calloc(1, sizeof *qn);
    int *at = malloc(2 * (size_t)net->nlayers * sizeof *at);
    q_cost_layer *cl = malloc((size_t)net->nlayers * sizeof *cl);
    if (!qn || !at || !cl) {
        free(qn), free(at), free(cl);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory quantizing a network");
    }
    qn->cfg = *cfg;
    int *wrap = at + net->nlayers;
    int nall = find_layers(net, first, last, at, wrap, &qn->n);
    int planned = 0;
    for (int k = 0; k < qn->n; k++)
        planned += pinned_bits(cfg, wrap[k], nall) == 0;
    qn->layers = calloc((size_t)(qn->n ? qn->n : 1), sizeof *qn->layers);
    rc = qn->layers ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "out of memory quantizing a network");
    if (rc == QA_OK && planned > Q_MAX_LAYERS)
        rc = qa_fail(err, QA_ERR_UNSUPPORTED, "%d quantized layers to plan, at most %d", planned,
                     Q_MAX_LAYERS);
    if (rc == QA_OK)
        rc = q_plan_create(&qn->plan, net->max_batch, planned, cfg->cand, cfg->ncand, cfg->tied,
                           err);
    if (rc == QA_OK)
        rc = wrap_all(qn, net, at, nall, wrap, cl, err);
    free(at);
    free(cl);
    if (rc < 0) {
        q_net_free(qn);
        return rc;
    }
    *out = qn;
    return QA_OK;
}
