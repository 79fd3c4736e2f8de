/* batchnorm.h: 2-D batch normalisation over (N, H, W) per channel, with
 * PyTorch's semantics (BatchNorm2d, affine, track_running_stats).
 *
 *   train: mu, var = batch mean and biased variance of channel c
 *          y = gamma * (x - mu) / sqrt(var + eps) + beta
 *          running_mean = (1 - m) running_mean + m mu
 *          running_var  = (1 - m) running_var  + m var * M / (M - 1), M = N*H*W
 *   eval:  the same y with running_mean and running_var
 *
 * Backward follows the mode of the last forward (batch statistics or the
 * fixed running ones). Every pass streams the tensor in memory order (a
 * channel-by-channel walk jumps between N separate H*W runs and pays
 * memory latency at each), with samples split into nn_par_shares()
 * shares; per-share channel sums are reduced in share order. Parameters
 * "<name>.gamma", "<name>.beta"; buffers "<name>.running_mean",
 * "<name>.running_var". */
#ifndef NN_BATCHNORM_H
#define NN_BATCHNORM_H

#include "nn/layer.h"
#include "nn/net.h"

typedef struct {
    const char *name;
    float eps;      /* 0: 1e-5 */
    float momentum; /* 0: 0.1 */
} nn_batchnorm2d_cfg;

typedef struct {
    nn_layer base;
    int c, hw;
    float eps, momentum;
    int gamma_view, beta_view;  /* (C) trainable */
    int mean_view, var_view;    /* (C) running statistics (NN_PARAM_BUFFER) */
    float *mean, *istd;         /* (C) statistics the last forward normalised with */
    float *scale, *shift;       /* (C) y = x scale + shift of the last forward */
    float *coef;                /* (3, C) dx = a dy + b (x - mean) + k, by backward */
    double *part;               /* (nshares, 2, C) per-share channel sums */
    int nshares;                /* shares part was sized for (nn_par_shares() at build) */
    int last_train;             /* mode of the last forward */
} nn_batchnorm2d;

extern const nn_layer_ops nn_batchnorm2d_ops;

int nn_batchnorm2d_new(nn_net *net, const nn_batchnorm2d_cfg *cfg, int input, qa_err *err);

#endif
