/* qcfg.h: the [quant] configuration as quant/ sees it, independent of how it
 * was read. experiments/ binds the INI keys to these fields through its
 * schema; quant/ only fills defaults, parses its own list syntaxes and
 * checks consistency (q_cfg_check), so the rules live next to the code that
 * relies on them.
 *
 * Deliberately not here: INI parsing, key names' help text (the schema). */
#ifndef Q_QCFG_H
#define Q_QCFG_H

#include <stddef.h>

#include "nn/status.h"

#define Q_MAX_CAND 8    /* candidate widths per layer */
#define Q_MAX_LAYERS 128 /* entries of a static per-layer list */
#define Q_DDQ_MAX_KNOTS 256 /* pieces of a DDQ level warp */

typedef enum {
    Q_KIND_LSQ,    /* learned step (Esser et al. 2020) */
    Q_KIND_PACT,   /* learned clip alpha (activations only) */
    Q_KIND_DOREFA, /* tanh-normalised weights / [0,1]-clipped activations */
    Q_KIND_MINMAX, /* step from the max |x| (activations: running max at eval) */
    Q_KIND_EMA,    /* step from an EMA of the batch max |x| (activations only) */
    Q_KIND_DDQ,    /* learned range, precision (gates) and levels (ddq.h) */
    Q_NKINDS
} q_kind;

/* The network input (first layer's activation quantizer): standardised
 * images are signed, pixels / 255 are not. AUTO is resolved by the caller
 * from the data normalisation; left unresolved it means signed. NONE leaves
 * the input as it comes (an 8-bit image already is 8-bit data, and the
 * PyTorch peer's QAT quantizes only what follows): the first layer's input
 * quantizer is off (width 32, so its MACs count 32-bit activations in the
 * cost model), which needs a pinned first layer (first_bits > 0). */
typedef enum { Q_INPUT_AUTO, Q_INPUT_SIGNED, Q_INPUT_UNSIGNED, Q_INPUT_NONE } q_input;

/* DDQ's quantizers (ddq.h, docs/METHODS.md section 9). The slot's width (the
 * plan's candidate, or a pinned layer's width) is the maximum width B. */
typedef struct {
    int min_bits;     /* lowest precision the gates can reach (capped at B) */
    int init_bits;    /* precision the gates open at the first batch (capped at B) */
    int range_bits;   /* the width whose LSQ initialisation sets the initial range */
    float gate_init;  /* logit step of the nested gates at the first batch (ddq.h) */
    float tau;        /* temperature of the gates' sigmoid relaxation; 0: plain STE */
    int curvature;    /* a gate's flip estimate adds the loss's curvature along the
                         quantization error (ddq.h); 0: first order only */
    int adaptive;     /* learn non-uniform levels (adaptive resolution) */
    int knots;        /* pieces of the piecewise-linear level warp */
    float range_floor; /* weights: the forward range is at least this times the
                          channel's mean |w| (ddq.h); 0: no floor */
} q_ddq_cfg;

/* Method ddq's training (its [ddq] section; the quantizers' own settings
 * are q_ddq_cfg): the planned layers' one width, the cost penalty toward a
 * target (cost.h's q_penalty), the learning rates of the gates and levels,
 * the phases and the log. */
typedef struct {
    int max_bits;          /* B: the one candidate width of every planned layer */
    int cost;              /* q_cost_kind: BitOps or weight bytes */
    int form;              /* q_penalty_form: hinge or absolute */
    float lambda;          /* weight of the penalty */
    float target;          /* r*: cost over the cost with every layer at 8 bits */
    int target_bits;       /* > 0: r* = every planned layer at this width, pinned at theirs */
    float gate_lr_mult;    /* the gates' learning rate over the backbone's */
    float level_lr_mult;   /* the level warps' (adaptive resolution) */
    int warmup;            /* first epochs: gates frozen at q_ddq_cfg.init_bits, no penalty */
    int finetune;          /* last epochs: gates frozen where they are, no penalty */
    int fit;               /* when the gates stop learning, close gates until the cost
                              meets the target (q_ddq_net_fit) */
    int log_every;         /* steps between rows of /train/ddq, 0: one per epoch */
} q_ddq_train_cfg;

typedef struct {
    int cand[Q_MAX_CAND]; /* candidate widths a plan may choose, ascending */
    int ncand;
    int tied;             /* 1: one width (or distribution) per layer for w and a */
    int w_kind, a_kind;   /* q_kind of weights and activations */
    int per_channel;      /* weight steps per output channel (else per tensor) */
    int first_bits;       /* width of the first conv/dense, 0 = chosen by the plan */
    int last_bits;        /* width of the last conv/dense, 0 = chosen by the plan */
    int input_domain;     /* q_input: how the network input is quantized */
    int soft;             /* build the buffers of soft (relaxed) mode */
    int soft_keep;        /* soft, tied: run the m most probable candidates per sample
                             and layer (0 = all: the exact relaxation) */
    float soft_min_p;     /* soft, tied: skip candidates below this probability (the
                             most probable always runs; 0 = none) */
    float pact_init;      /* PACT alpha at the first batch */
    float pact_decay;     /* L2 decay on alpha, added to its gradient */
    float ema_momentum;   /* weight of the old value in the EMA calibration */
    q_ddq_cfg ddq;        /* kind ddq's settings */
    /* method = fixed: a uniform width, or a per-layer list for the plan's layers */
    int w_bits, a_bits;
    int nlayer_bits;      /* 0: uniform w_bits/a_bits */
    int layer_wbits[Q_MAX_LAYERS], layer_abits[Q_MAX_LAYERS];
} q_cfg;

void q_cfg_defaults(q_cfg *c);
/* "lsq" -> Q_KIND_LSQ; -1 if unknown */
int q_kind_from_name(const char *name);
const char *q_kind_name(int kind);
/* "2,3,4,8" -> cand/ncand (ascending, distinct, each 2..8 or 32) */
int q_cfg_parse_cand(q_cfg *c, const char *text, qa_err *err);
/* "8,4,4:2,8" -> per-layer widths; "w:a" gives them separately */
int q_cfg_parse_layer_bits(q_cfg *c, const char *text, qa_err *err);
/* per-layer widths from elsewhere (a search's plan file, named source in
 * messages): each 2..8 or 32, at most Q_MAX_LAYERS */
int q_cfg_set_layer_bits(q_cfg *c, const int *w, const int *a, int n, const char *source,
                         qa_err *err);
/* the inverse of the two parsers, for rendering a resolved config */
void q_cfg_format_cand(const q_cfg *c, char *buf, size_t n);
void q_cfg_format_layer_bits(const q_cfg *c, char *buf, size_t n);
/* consistency across keys (kinds valid for their side, widths in range) */
int q_cfg_check(const q_cfg *c, qa_err *err);
/* method ddq's rules across its keys */
int q_ddq_train_check(const q_ddq_train_cfg *c, qa_err *err);

#endif
