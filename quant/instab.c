/* instab.c: see instab.h. */
#include "quant/instab.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void q_instab_free(q_instab *s)
{
    if (!s)
        return;
    free(s->tensor);
    free(s->nch);
    free(s->off);
    free(s->sum);
    free(s);
}

/* the tensor each planned layer reads, its channels and their offsets */
static void find_inputs(q_instab *s, const q_net *qn, const nn_net *net)
{
    for (int j = 0; j < qn->n; j++) {
        const q_layer *q = qn->layers[j];
        if (q->row < 0)
            continue;
        s->tensor[q->row] = q->base.in[0];
        s->nch[q->row] = net->t[q->base.in[0]].d[1];
    }
    for (int l = 0; l < s->L; l++) {
        s->off[l] = s->nsum;
        s->nsum += (size_t)s->nch[l];
    }
}

int q_instab_create(q_instab **out, const q_net *qn, const nn_net *net, int K, qa_err *err)
{
    QA_ASSERT(K >= 1);
    int L = qn->plan->nlayers;
    q_instab *s = *out = calloc(1, sizeof *s);
    if (s) {
        s->L = L;
        s->K = K;
        s->tensor = calloc((size_t)L + 1, sizeof *s->tensor);
        s->nch = calloc((size_t)L + 1, sizeof *s->nch);
        s->off = calloc((size_t)L + 1, sizeof *s->off);
    }
    if (s && s->tensor && s->nch && s->off) {
        find_inputs(s, qn, net);
        s->sum = calloc((size_t)K * (2 * s->nsum + (size_t)L), sizeof(double));
    }
    if (!s || !s->sum) {
        q_instab_free(s);
        *out = NULL;
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the instability sums");
    }
    s->sq = s->sum + (size_t)K * s->nsum;
    s->cnt = s->sq + (size_t)K * s->nsum;
    return QA_OK;
}

void q_instab_reset(q_instab *s)
{
    memset(s->sum, 0, (size_t)s->K * (2 * s->nsum + (size_t)s->L) * sizeof(double));
}

void q_instab_add(q_instab *s, const nn_net *net, int k, int n)
{
    QA_ASSERT(k >= 0 && k < s->K);
    for (int l = 0; l < s->L; l++) {
        const nn_tensor *t = &net->t[s->tensor[l]];
        size_t pos = (size_t)t->d[2] * (size_t)t->d[3];
        double *sum = s->sum + (size_t)k * s->nsum + s->off[l];
        double *sq = s->sq + (size_t)k * s->nsum + s->off[l];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < s->nch[l]; c++) {
                const float *x = t->data + ((size_t)i * (size_t)s->nch[l] + (size_t)c) * pos;
                double a = 0.0, b = 0.0;
                for (size_t p = 0; p < pos; p++) {
                    a += x[p];
                    b += (double)x[p] * x[p];
                }
                sum[c] += a;
                sq[c] += b;
            }
        s->cnt[(size_t)k * (size_t)s->L + (size_t)l] += (double)n * (double)pos;
    }
}

/* mean and standard deviation of channel c of layer l under configuration k */
static void channel_stats(const q_instab *s, int l, int k, int c, double *mu, double *sd)
{
    size_t at = (size_t)k * s->nsum + s->off[l] + (size_t)c;
    double m = s->cnt[(size_t)k * (size_t)s->L + (size_t)l];
    *mu = m > 0 ? s->sum[at] / m : 0.0;
    double var = m > 0 ? s->sq[at] / m - *mu * *mu : 0.0;
    *sd = var > 0 ? sqrt(var) : 0.0;
}

static double layer_instability(const q_instab *s, int l, double *mean, double *sd)
{
    double moved = 0.0, scale = 0.0;
    for (int c = 0; c < s->nch[l]; c++) {
        double mu[Q_MAX_CAND], sg[Q_MAX_CAND], mbar = 0.0, sbar = 0.0;
        for (int k = 0; k < s->K; k++) {
            channel_stats(s, l, k, c, &mu[k], &sg[k]);
            mbar += mu[k] / s->K;
            sbar += sg[k] / s->K;
            if (mean)
                mean[(size_t)l * s->K + k] += mu[k] / s->nch[l];
            if (sd)
                sd[(size_t)l * s->K + k] += sg[k] / s->nch[l];
        }
        for (int k = 0; k < s->K; k++)
            moved += fabs(mu[k] - mbar) + fabs(sg[k] - sbar);
        scale += sbar;
    }
    return scale > 0 ? moved / (s->K * scale) : 0.0;
}

void q_instab_measure(const q_instab *s, double *inst, double *mean, double *sd)
{
    QA_ASSERT(s->K <= Q_MAX_CAND);
    size_t LK = (size_t)s->L * (size_t)s->K;
    if (mean)
        memset(mean, 0, LK * sizeof *mean);
    if (sd)
        memset(sd, 0, LK * sizeof *sd);
    for (int l = 0; l < s->L; l++)
        inst[l] = layer_instability(s, l, mean, sd);
}
