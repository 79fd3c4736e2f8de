/* bench_fmnist.h: the training loop the training benchmarks time, as the
 * PyTorch peer (shared/peer/torch_train.py) runs it: the Fashion-MNIST
 * training set in memory as pixels / 255, batches taken in the order of one
 * fixed permutation, SGD momentum 0.9 and weight decay 5e-4 at lr 0.05 on a
 * cosine schedule, and a step that is forward, cross-entropy, zero_grad,
 * backward, update. Loading is not timed; the step is. */
#ifndef QA_BENCH_FMNIST_H
#define QA_BENCH_FMNIST_H

#include "nn/net.h"
#include "nn/optim.h"

typedef struct {
    float *x;  /* (n, 1, 28, 28) in [0, 1] */
    int *y;    /* (n) */
    int *perm; /* (n) the order batches are taken in */
    int n;
} bench_data;

/* Fashion-MNIST's training set (data/idx.h's default location), or with
 * synthetic = 1 random pixels and labels of the same shape. */
int bench_data_load(bench_data *d, int synthetic, qa_err *err);
void bench_data_free(bench_data *d);

/* Batch number `step` (wrapping at the end of an epoch): its images into x
 * (batch, 784), labels into labels, dataset indices into idx (may be NULL). */
void bench_gather(const bench_data *d, long step, int batch, float *x, int *labels, int *idx);

/* The peer's optimizer over p and its schedule. */
int bench_peer_sgd(nn_optim **opt, nn_sched_cfg *sched, nn_params *p, qa_err *err);

/* The gradients of the batch already in nn_net_input(net): forward, CE,
 * zero_grad, backward. Returns the batch's mean loss. */
float bench_peer_grad(nn_net *net, const int *labels, int batch);
/* One step on it: bench_peer_grad, then the update at the schedule's lr
 * for step of total. Returns the batch's mean loss. */
float bench_peer_step(nn_net *net, nn_optim *opt, const nn_sched_cfg *sched, const int *labels,
                      int batch, long step, long total);

#endif
