/* blockrep.h: full-precision-guided QAT by block replacement (BWRF, Yu et
 * al. 2024; docs/METHODS.md section 11). A quantized student and a frozen
 * full-precision teacher of one architecture share their blocks
 * (nn_model_blocks: B_1..B_n of the teacher, Q_1..Q_n of the student); the
 * intermediate models mix them:
 *   prefix  M_k = Q_1 .. Q_k B_k+1 .. B_n           k = 1 .. n-1
 *   single  M_k = B_1 .. B_k-1 Q_k B_k+1 .. B_n     k = 1 .. n
 * One step's objective, over the models S trained this step,
 *   L = CE(student) + s sum_{k in S} [ a CE(M_k) + b t^2 KL(softmax(z_T / t) || softmax(z_k / t)) ]
 * with s = (number of models) / |S|, so that a random subset estimates the
 * sum over all of them without bias; its gradient reaches the student's
 * parameters only. Every quantized block thus gets, besides the straight-
 * through chain of the student, a gradient that crosses full-precision
 * blocks downstream, and an output pushed to act like the teacher's.
 *
 * Computation is shared where it is exact. Prefix: the student's own
 * forward holds every Q_1..Q_k activation; model k runs only the teacher
 * from block k+1 on a copy of it, and its gradient there is added to the
 * student's as the student's single backward passes that block boundary.
 * Single: the teacher's own forward holds every B_1..B_k-1 activation;
 * model k runs the student's block k on it (forward and backward, the
 * student's buffers restored afterwards: its batchnorm running statistics
 * follow the fully quantized forward alone) and the teacher after it.
 * The teacher evaluates (running statistics) and is frozen (nn_net.frozen):
 * its parameters and buffers never change. Its own output is computed when
 * a KL term or single mode needs it, and in every forward-only pass.
 *
 * With cfg->stages the blocks between the first and the last that share
 * an output shape are one (resnet20: stem, layer1.0-layer1.2, ...,
 * layer3.0-layer3.2, head): fewer, coarser models, and since model k runs
 * the teacher from block k+1 on, a cost that grows with the square of the
 * number of blocks falls with them.
 *
 * Statistics arrays hold nmodels + 2 entries: 0 the teacher, 1..nmodels
 * the intermediate models, nmodels + 1 the student.
 * Deliberately not here: which quantizers the student uses (qnet.h), the
 * teacher's weights (the caller loads them), the optimizer step. */
#ifndef Q_BLOCKREP_H
#define Q_BLOCKREP_H

#include <stdint.h>

#include "nn/models.h"
#include "nn/net.h"

enum { Q_STREAM_BLOCKREP = 0x3017 }; /* a, b = the step's low and high 32 bits */

typedef enum { Q_BR_PREFIX, Q_BR_SINGLE } q_br_mode;

typedef struct {
    int mode;          /* q_br_mode */
    int stages;        /* 1: consecutive blocks of one output shape, but the first
                          and the last block, are replaced together (a stage) */
    float ce_weight;   /* a: each model's cross-entropy */
    float kl_weight;   /* b: each model's KL to the teacher's softened outputs */
    float temperature; /* t > 0 */
} q_br_cfg;

/* [blockrep] as method blockrep reads it (experiments/methods/
 * schema_blockrep.c): the maths' settings and the method's own. */
typedef struct {
    q_br_cfg br;
    char teacher[512]; /* a finished fp32 run of model.arch: its run file or ckpt.h5 */
    int models;        /* models trained per step, 0 = every one */
    int eval_models;   /* each test evaluation also runs the teacher and every model */
} q_br_method_cfg;

typedef struct {
    double loss;  /* sum over samples of the model's cross-entropy */
    long correct; /* samples whose argmax is the label */
    long n;       /* samples */
} q_br_stat;

typedef struct {
    q_br_cfg cfg;
    nn_net *student, *teacher; /* not owned */
    nn_block blk[NN_MAX_BLOCKS];
    int nblocks, nmodels, classes;
    float *tz;     /* (max_batch, classes) the teacher's own logits */
    float *dz, *dk; /* (max_batch, classes) a model's CE and KL gradients */
    float *buf;    /* (the student's nbuf) single mode: buffers kept over block passes */
} q_br;

/* student (possibly wrapped by quant/) and teacher, both built by
 * nn_model_build(arch) with the same input, classes and max batch, and
 * finalized; the teacher is made frozen. An error names what differs. */
int q_br_create(q_br **out, nn_net *student, nn_net *teacher, const char *arch,
                const q_br_cfg *cfg, qa_err *err);
void q_br_free(q_br *br);

/* The models one step trains, use[1..nmodels]: all when m <= 0 or m >=
 * nmodels, else m of them drawn without replacement from (seed,
 * Q_STREAM_BLOCKREP, step). Returns the scale s. */
float q_br_select(const q_br *br, int m, uint64_t seed, long step, unsigned char *use);

/* One training step's gradient on the student's input (tensor 0 filled)
 * and labels (n): the student's parameter gradients are zeroed and set to
 * dL/dtheta. Returns L. st (nullable, nmodels + 2) gets the models run;
 * student_loss (nullable, n) the student's per-sample cross-entropy. */
double q_br_train(q_br *br, const int *labels, int n, const unsigned char *use, float scale,
                  q_br_stat *st, float *student_loss);

/* The same objective without gradients, the student in training (batch
 * statistics) or evaluation mode, the teacher always evaluating; use NULL
 * runs the student alone. For evaluation and checks. */
double q_br_forward(q_br *br, const int *labels, int n, const unsigned char *use, float scale,
                    int train, q_br_stat *st, float *student_loss);

#endif
