/* haq.c: see haq.h. */
#include "agent/haq.h"

#include <math.h>
#include <string.h>

/* features 0-7 of one planned layer, unnormalised */
static void raw_features(const q_cost_layer *L, int row, double *f)
{
    f[0] = row;
    f[1] = L->cin;
    f[2] = L->cout;
    f[3] = L->stride;
    f[4] = L->kernel;
    f[5] = (double)L->params;
    f[6] = L->in_hw;
    f[7] = L->groups > 1 && L->groups == L->cin;
}

static void normalise(agent_haq *h, double raw[][AGENT_HAQ_STATIC])
{
    for (int j = 0; j < AGENT_HAQ_STATIC; j++) {
        double lo = raw[0][j], hi = raw[0][j];
        for (int l = 1; l < h->nlayers; l++) {
            lo = raw[l][j] < lo ? raw[l][j] : lo;
            hi = raw[l][j] > hi ? raw[l][j] : hi;
        }
        for (int l = 0; l < h->nlayers; l++)
            h->feat[l][j] = hi > lo ? (float)((raw[l][j] - lo) / (hi - lo)) : 0.0f;
    }
}

int agent_haq_init(agent_haq *h, const q_cost_model *cm, const int *cand, int ncand, int tied,
                   qa_err *err)
{
    memset(h, 0, sizeof *h);
    if (cm->nplanned < 1 || cm->nplanned > Q_MAX_LAYERS || ncand < 1 || ncand > Q_MAX_CAND)
        return qa_fail(err, QA_ERR_ARG,
                       "search: %d planned layers (1 to %d) and %d widths (1 to %d)",
                       cm->nplanned, Q_MAX_LAYERS, ncand, Q_MAX_CAND);
    h->nlayers = cm->nplanned;
    h->tied = tied;
    h->nsteps = tied ? h->nlayers : 2 * h->nlayers;
    h->ncand = ncand;
    memcpy(h->cand, cand, (size_t)ncand * sizeof *cand);
    double raw[Q_MAX_LAYERS][AGENT_HAQ_STATIC];
    for (int l = 0; l < cm->n; l++)
        if (cm->layers[l].plan_layer >= 0)
            raw_features(&cm->layers[l], cm->layers[l].plan_layer, raw[cm->layers[l].plan_layer]);
    normalise(h, raw);
    return QA_OK;
}

void agent_haq_state(const agent_haq *h, int t, float prev, float *state)
{
    QA_ASSERT(t >= 0 && t < h->nsteps);
    memcpy(state, h->feat[agent_haq_layer(h, t)], AGENT_HAQ_STATIC * sizeof *state);
    state[AGENT_HAQ_STATIC] = agent_haq_side(h, t) ? 0.0f : 1.0f;
    state[AGENT_HAQ_STATIC + 1] = t ? prev : 1.0f;
}

int agent_haq_width(const int *cand, int ncand, float a)
{
    long k = lround((double)a * ncand - 0.5);
    return cand[k < 0 ? 0 : k >= ncand ? ncand - 1 : k];
}

void agent_haq_apply(const agent_haq *h, int t, float a, agent_haq_plan *p)
{
    int l = agent_haq_layer(h, t), b = agent_haq_width(h->cand, h->ncand, a);
    p->n = h->nlayers;
    p->tied = h->tied;
    if (h->tied || !agent_haq_side(h, t))
        p->w[l] = b;
    if (h->tied || agent_haq_side(h, t))
        p->a[l] = b;
}

double agent_haq_cost(const q_cost_model *cm, int kind, const agent_haq_plan *p)
{
    q_cost c = q_cost_layers(cm, p->w, p->a);
    return kind == AGENT_BUDGET_BYTES ? c.bytes / (cm->bytes_fp32 / 4.0) : c.bitops / cm->ref_int8;
}

/* *b one candidate down; 0 when it is already the narrowest */
static int lower(const agent_haq *h, int *b)
{
    int k = h->ncand - 1;
    while (k >= 0 && h->cand[k] >= *b)
        k--;
    if (k < 0)
        return 0;
    *b = h->cand[k];
    return 1;
}

/* one sweep from the last layer; 1 if it lowered anything */
static int sweep(const agent_haq *h, const q_cost_model *cm, int kind, double budget,
                 agent_haq_plan *p)
{
    int moved = 0;
    for (int l = h->nlayers - 1; l >= 0; l--)
        for (int side = h->tied ? 0 : 1; side >= 0; side--) {
            if (agent_haq_cost(cm, kind, p) <= budget)
                return moved;
            int *b = side ? &p->a[l] : &p->w[l];
            int m = lower(h, b);
            if (m && h->tied)
                p->a[l] = p->w[l];
            moved |= m;
        }
    return moved;
}

int agent_haq_fit(const agent_haq *h, const q_cost_model *cm, int kind, double budget,
                  agent_haq_plan *p, qa_err *err)
{
    agent_haq_plan low = *p;
    for (int l = 0; l < h->nlayers; l++)
        low.w[l] = low.a[l] = h->cand[0];
    double floor_cost = agent_haq_cost(cm, kind, &low);
    if (floor_cost > budget)
        return qa_fail(err, QA_ERR_ARG,
                       "search: budget %g is below the cost %g of every planned layer at %d bits",
                       budget, floor_cost, h->cand[0]);
    while (sweep(h, cm, kind, budget, p))
        ;
    return QA_OK;
}

int agent_haq_cfg_check(const agent_haq_cfg *c, qa_err *err)
{
    if (c->episodes < 1 || !(c->budget > 0) || !(c->reward_scale > 0))
        return qa_fail(err, QA_ERR_CONFIG,
                       "search: episodes %d must be >= 1, budget %g and reward_scale %g > 0",
                       c->episodes, c->budget, c->reward_scale);
    agent_search_cfg a = c->agent;
    a.dim = AGENT_HAQ_DIM;
    a.max_steps = 1;
    a.nbins = a.nbins ? a.nbins : 2;
    return agent_search_cfg_check(&a, err);
}

void agent_haq_agent_cfg(const agent_haq_cfg *c, const agent_haq *h, agent_search_cfg *out)
{
    *out = c->agent;
    out->dim = AGENT_HAQ_DIM;
    out->max_steps = h->nsteps;
    out->nbins = out->nbins ? out->nbins : h->ncand;
}
