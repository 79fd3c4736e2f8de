/* ddq_net.c: a quantized network's DDQ precisions and ranges as the cost
 * model and a method's log see them, and the cost penalty carried back to
 * the gates. */
#include "quant/ddq.h"

static float mean_range(const q_quant *q, const nn_params *p)
{
    if (!q->ddq)
        return 0.0f;
    double s = 0.0;
    for (int c = 0; c < q->nch; c++)
        s += q_ddq_range(q, p, c);
    return (float)(s / q->nch);
}

void q_ddq_net_stats(const q_net *qn, const nn_params *p, q_ddq_layer_stat *out)
{
    for (int l = 0; l < qn->n; l++) {
        const q_layer *L = qn->layers[l];
        QA_ASSERT(L->nslot == 1); /* DDQ learns the precision inside one slot */
        out[l].wbits = q_ddq_bits(&L->wq[0], p);
        out[l].abits = q_ddq_bits(&L->aq[0], p);
        out[l].wrange = mean_range(&L->wq[0], p);
        out[l].arange = mean_range(&L->aq[0], p);
    }
}

/* planned layers plus a pinned first and last */
#define NET_MAX (Q_MAX_LAYERS + 2)

q_cost q_ddq_net_cost(const q_net *qn, const nn_params *p, int *wbits, int *abits)
{
    q_ddq_layer_stat st[NET_MAX];
    QA_ASSERT(qn->n <= NET_MAX); /* q_net_wrap plans at most Q_MAX_LAYERS */
    q_ddq_net_stats(qn, p, st);
    for (int l = 0; l < qn->n; l++) {
        int row = qn->cost.layers[l].plan_layer;
        if (row >= 0) {
            wbits[row] = st[l].wbits;
            abits[row] = st[l].abits;
        }
    }
    return q_cost_layers(&qn->cost, wbits, abits);
}

double q_ddq_net_penalty(const q_net *qn, const nn_params *p, const q_penalty *pen,
                         double *ratio)
{
    int wb[Q_MAX_LAYERS], ab[Q_MAX_LAYERS];
    double gw[Q_MAX_LAYERS], ga[Q_MAX_LAYERS];
    q_ddq_net_cost(qn, p, wb, ab);
    double P = q_cost_penalty(&qn->cost, wb, ab, pen, ratio, gw, ga);
    for (int l = 0; l < qn->n; l++) { /* pinned layers have no gates */
        int row = qn->cost.layers[l].plan_layer;
        if (row >= 0) {
            q_ddq_bits_grad(&qn->layers[l]->wq[0], p, gw[row]);
            q_ddq_bits_grad(&qn->layers[l]->aq[0], p, ga[row]);
        }
    }
    return P;
}

/* the top open gate of q (its index) when it has one, else -1 */
static int top_gate(const q_quant *q, const nn_params *p)
{
    const q_ddq *d = q->ddq;
    if (!d || d->vgate < 0)
        return -1;
    return q_ddq_bits(q, p) - d->min_bits - 1;
}

int q_ddq_net_fit(const q_net *qn, const nn_params *p, const q_penalty *pen, double *ratio)
{
    int wb[Q_MAX_LAYERS], ab[Q_MAX_LAYERS], closed = 0;
    double gw[Q_MAX_LAYERS], ga[Q_MAX_LAYERS], r;
    q_penalty unit = {pen->kind, Q_PENALTY_HINGE, 1.0f, pen->target};
    for (;;) {
        q_ddq_net_cost(qn, p, wb, ab);
        q_cost_penalty(&qn->cost, wb, ab, &unit, &r, gw, ga);
        const q_quant *best = NULL;
        int bk = -1;
        for (int l = 0; r > pen->target && l < qn->n; l++) {
            int row = qn->cost.layers[l].plan_layer;
            const q_quant *side[2] = {&qn->layers[l]->wq[0], &qn->layers[l]->aq[0]};
            double saves[2] = {row >= 0 ? gw[row] : 0.0, row >= 0 ? ga[row] : 0.0};
            for (int s = 0; s < 2; s++) {
                int k = saves[s] > 0.0 ? top_gate(side[s], p) : -1;
                if (k >= 0 && (!best || nn_params_value(p, side[s]->ddq->vgate)[k] <
                                            nn_params_value(p, best->ddq->vgate)[bk])) {
                    best = side[s];
                    bk = k;
                }
            }
        }
        if (!best)
            break;
        nn_params_value(p, best->ddq->vgate)[bk] = -best->ddq->gate_init;
        closed++;
    }
    if (ratio)
        *ratio = r;
    return closed;
}
