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

double q_ddq_net_penalty(const q_net *qn, const nn_params *p, const q_penalty *pen,
                         double *ratio)
{
    int wb[Q_MAX_LAYERS], ab[Q_MAX_LAYERS];
    double gw[Q_MAX_LAYERS], ga[Q_MAX_LAYERS];
    q_ddq_layer_stat st[NET_MAX];
    QA_ASSERT(qn->n <= NET_MAX); /* q_net_wrap plans at most Q_MAX_LAYERS */
    q_ddq_net_stats(qn, p, st);
    for (int l = 0; l < qn->n; l++) {
        int row = qn->cost.layers[l].plan_layer;
        if (row >= 0) {
            wb[row] = st[l].wbits;
            ab[row] = st[l].abits;
        }
    }
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
