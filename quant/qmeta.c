/* qmeta.c: see qmeta.h. */
#include "quant/qmeta.h"

#include <string.h>

#include "nn/loss.h"

/* the output gradient of one pass times 1/K */
static void scale_output_grad(nn_net *net, int n, float s)
{
    float *g = nn_net_output_grad(net);
    size_t m = (size_t)n * (size_t)nn_net_output_size(net);
    for (size_t j = 0; j < m; j++)
        g[j] *= s;
}

void q_meta_mean_step(nn_net *net, q_plan *plan, int K, q_meta_fill fill, void *arg,
                      const int *label, int n, float *loss_i, float *work, q_meta_result *res)
{
    QA_ASSERT(K >= 1 && K <= Q_MAX_CAND && (!loss_i || work));
    memset(res, 0, sizeof *res);
    nn_net_zero_grad(net);
    for (int k = 0; k < K; k++) {
        fill(arg, k, n, plan);
        nn_net_forward(net, n, 1);
        const nn_tensor *out = nn_net_output(net);
        float *lk = !loss_i ? NULL : k == 0 ? loss_i : work;
        res->loss_k[k] = nn_softmax_ce(out->data, label, n, out->d[1], nn_net_output_grad(net), lk,
                                       &res->correct_k[k]);
        res->loss += res->loss_k[k];
        for (int i = 0; k > 0 && loss_i && i < n; i++)
            loss_i[i] += work[i];
        scale_output_grad(net, n, 1.0f / (float)K);
        nn_net_backward(net, n);
    }
    res->loss /= K;
    for (int i = 0; loss_i && i < n; i++)
        loss_i[i] /= (float)K;
}
