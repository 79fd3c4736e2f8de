/* bench_fmnist.c: the peer's training loop, shared by the training benchmarks. */
#include "bench_fmnist.h"

#include <stdlib.h>
#include <string.h>

#include "data/idx.h"
#include "nn/loss.h"
#include "nn/rng.h"

int bench_data_load(bench_data *d, int synthetic, qa_err *err)
{
    data_set ds = {0};
    if (!synthetic) {
        int rc = data_idx_load(&ds, NULL, "train", err);
        if (rc < 0)
            return rc;
    }
    d->n = synthetic ? 60000 : ds.n;
    d->x = malloc((size_t)d->n * 784 * sizeof(float));
    d->y = malloc((size_t)d->n * sizeof(int));
    d->perm = malloc((size_t)d->n * sizeof(int));
    if (!d->x || !d->y || !d->perm) {
        data_set_free(&ds);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the data");
    }
    nn_rng r;
    nn_rng_init(&r, 1, NN_STREAM_TEST, 0xbe, 0);
    for (size_t i = 0; i < (size_t)d->n * 784; i++)
        d->x[i] = synthetic ? (float)nn_rng_below(&r, 256) / 255.0f : ds.pixels[i] / 255.0f;
    for (int i = 0; i < d->n; i++)
        d->y[i] = synthetic ? (int)nn_rng_below(&r, 10) : ds.labels[i];
    data_set_free(&ds);
    nn_rng_init(&r, 1, NN_STREAM_SHUFFLE, 0, 0);
    nn_rng_permutation(&r, d->perm, d->n);
    return QA_OK;
}

void bench_data_free(bench_data *d)
{
    free(d->x);
    free(d->y);
    free(d->perm);
}

void bench_gather(const bench_data *d, long step, int batch, float *x, int *labels, int *idx)
{
    long k = step % (d->n / batch);
    for (int i = 0; i < batch; i++) {
        int s = d->perm[(k * batch + i) % d->n];
        memcpy(x + (size_t)i * 784, d->x + (size_t)s * 784, 784 * sizeof(float));
        labels[i] = d->y[s];
        if (idx)
            idx[i] = s;
    }
}

int bench_peer_sgd(nn_optim **opt, nn_sched_cfg *sched, nn_params *p, qa_err *err)
{
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f};
    *sched = (nn_sched_cfg){.type = NN_SCHED_COSINE, .base_lr = 0.05f};
    return nn_optim_create(opt, &oc, p, err);
}

float bench_peer_grad(nn_net *net, const int *labels, int batch)
{
    nn_net_forward(net, batch, 1);
    float loss = nn_softmax_ce(nn_net_output(net)->data, labels, batch, 10,
                               nn_net_output_grad(net), NULL, NULL);
    nn_net_zero_grad(net);
    nn_net_backward(net, batch);
    return loss;
}

float bench_peer_step(nn_net *net, nn_optim *opt, const nn_sched_cfg *sched, const int *labels,
                      int batch, long step, long total)
{
    float loss = bench_peer_grad(net, labels, batch);
    nn_optim_step(opt, nn_sched_lr(sched, step, total));
    return loss;
}
