/* optim.h: optimizers over a network's flat parameters, and LR schedules.
 *
 * PyTorch semantics, per trainable view v (lr_v = lr * v.lr_mult,
 * wd_v = weight_decay * v.decay_mult):
 *   SGD:   g += wd_v w;  buf = mu buf + g (buf = g on the first step);
 *          w -= lr_v (nesterov ? g + mu buf : buf)
 *   AdamW: w *= 1 - lr_v wd_v;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *          w -= lr_v / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Moments live in flat arrays with the parameters' offsets (m is SGD's
 * momentum buffer), public so that checkpoints save and restore them with
 * `t`. Buffers (NN_PARAM_BUFFER) are never touched. No gradient clipping
 * or other optimizers here. */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include "nn/param.h"
#include "nn/status.h"

typedef enum {
    NN_OPT_SGD,
    NN_OPT_ADAMW,
    NN_OPT_COUNT,
} nn_opt_type;

typedef struct {
    int type;           /* nn_opt_type */
    float lr;           /* base learning rate (schedules scale it) */
    float momentum;     /* SGD */
    int nesterov;       /* SGD */
    float weight_decay; /* coupled (SGD) or decoupled (AdamW) */
    float beta1, beta2; /* AdamW; 0 and 0: 0.9 and 0.999 */
    float eps;          /* AdamW; 0: 1e-8 */
} nn_optim_cfg;

typedef struct {
    nn_optim_cfg cfg;
    nn_params *p;
    float *m; /* (p->n) momentum buffer (SGD) or first moment (AdamW) */
    float *v; /* (p->n) second moment (AdamW), NULL for SGD */
    long t;   /* steps taken */
} nn_optim;

/* p must be allocated (nn_net_finalize done). Checks the configuration. */
int nn_optim_create(nn_optim **out, const nn_optim_cfg *cfg, nn_params *p, qa_err *err);
/* One update of every trainable view from p->g, with learning rate lr
 * (usually nn_sched_lr(...) * 1; cfg.lr is only the schedule's base). */
void nn_optim_step(nn_optim *o, float lr);
void nn_optim_free(nn_optim *o);
/* Bytes of its moments (one per parameter for SGD, two for AdamW). */
size_t nn_optim_bytes(const nn_optim *o);

typedef enum {
    NN_SCHED_CONST,
    NN_SCHED_COSINE, /* 0.5 (1 + cos(pi k / K)), K = total steps after warm-up */
    NN_SCHED_STEP,   /* gamma ^ floor(k / step_size) */
    NN_SCHED_COUNT,
} nn_sched_type;

typedef struct {
    int type;          /* nn_sched_type */
    float base_lr;
    long warmup_steps; /* linear warm-up: base_lr (k+1) / warmup for k < warmup, then
                          the schedule runs on k - warmup over total - warmup steps */
    long step_size;    /* NN_SCHED_STEP, in steps (>= 1) */
    float gamma;       /* NN_SCHED_STEP factor */
} nn_sched_cfg;

/* Learning rate for 0-based step `step` of `total_steps`. Cosine without
 * warm-up is exactly the peer's LambdaLR: base * 0.5 (1 + cos(pi step / total)). */
float nn_sched_lr(const nn_sched_cfg *s, long step, long total_steps);
/* QA_ERR_ARG naming the bad field */
int nn_sched_check(const nn_sched_cfg *s, qa_err *err);

#endif
