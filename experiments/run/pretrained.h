/* pretrained.h: a finished run's trained parameters into a network, for a
 * pretrained start (a frozen teacher, the first weights of a fine-tune).
 * Not a resume: only the values and buffers (batchnorm running statistics,
 * quantizer state) of the run's backbone ("net" parameter set) are taken,
 * no optimizer state, epoch or table.
 *
 * path names the run file (its checkpoint, ckpt.h5 next to it, is read) or
 * the checkpoint itself. The run must be finished (the checkpoint's epochs
 * equal its config's train.epochs) and its checkpoint must describe the
 * network (/net and the set's layout, checkpoint.h; older checkpoints are
 * refused with that reason). Everything is checked before a value is
 * copied, each mismatch an error naming the file and what differs: the
 * input shape and class count (always, against net), the architecture,
 * dataset and input normalisation (when want names them), and for each
 * view both have (matched by name) its kind (trainable or buffer) and size.
 * Matching by name lets the net be wrapped otherwise than the run's was:
 * an fp32 run into a quantized net leaves the quantizers' views, which the
 * file lacks, as they are (want->missing_ok).
 *
 * Deliberately not here: when a run loads one (its callers), resuming a
 * run (checkpoint.h). */
#ifndef EXP_PRETRAINED_H
#define EXP_PRETRAINED_H

#include "nn/net.h"
#include "nn/status.h"

typedef struct {
    const char *arch;        /* model.arch the net was built as; NULL: not checked */
    const char *dataset;     /* data.dataset's name; NULL: not checked */
    const float *mean, *std; /* input normalisation, one per input channel; NULL: not checked */
    int missing_ok;          /* net views absent from the file keep their values; 0: error */
    int unused_ok;           /* file views absent from the net are skipped; 0: error */
} exp_pretrained_want;

typedef struct {
    char ckpt[1100];       /* the checkpoint read */
    char method[64];       /* the method of its run */
    int epochs;            /* epochs it was trained */
    int loaded;            /* views copied */
    int missing, unused;   /* net views not in the file; file views not in the net */
    char first_missing[64], first_unused[64]; /* the first of each, "" when none */
} exp_pretrained_info;

/* Copies the run's parameters at path into net (finalized), view by view.
 * want NULL checks only the shape and classes and wants every view in both;
 * info may be NULL. On failure net is unchanged. */
int exp_pretrained_load(nn_net *net, const char *path, const exp_pretrained_want *want,
                        exp_pretrained_info *info, qa_err *err);

#endif
