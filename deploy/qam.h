/* qam.h: a deployable integer model, in memory and in its file (.qam).
 *
 * A model is a list of integer ops over tensors, lowered from a trained
 * fake-quant network (lower.h) and run by the engine (engine.h). Tensors
 * are of three kinds:
 *   CODES  the integer codes one quantized layer reads (its input
 *          quantizer's codes), uint8 NHWC with a zero point: unsigned
 *          codes are stored as is, signed ones + 128
 *   FIX    int32 fixed point v / t of a value fake quantization keeps in
 *          float (a residual stream, a pool's input), t = 2^-16 times the
 *          smallest step of the quantizers that read it (saturating at
 *          +-2^31: 32768 steps of that quantizer)
 *   FLOAT  the logits
 * Ops (DEP_OP_*):
 *   INPUT  pixels (C, H, W) uint8 -> CODES of the first layer:
 *          code = clip(round((p / 255 - mean) / std / s)) as the loader and
 *          quantizer compute it in float (a 256-entry table per channel)
 *   CONV   a quantized conv2d or dense (dense: 1x1 on a 1x1 image):
 *          acc = sum codes_w * (codes_a - z) in int32, then the epilogue
 *            v = acc * m[oc] + b[oc] (+ skip * u),  m = sa sw[oc] mul[oc] / so,
 *            b = add[oc] / so, clamped to [lo, hi] (ReLU: lo = 0, ReLU6:
 *            hi = 6 / so) and rounded half away from zero (CODES, FIX)
 *          where mul, add fold the following batchnorm (and the bias), so is
 *          the output scale (the consumer's step, t, or 1 for FLOAT) and
 *          skip a FIX tensor added before the activation (residual add)
 *   QUANT  FIX -> CODES: code = clip(round(X * (t / s)))
 *   GAP    FIX (C, H, W) -> CODES (C): code = clip(round(sum X * (t / (H W s))))
 * Every rounding is round half away from zero on the float value, which is
 * what the fake-quant quantizer does on its own float; the two differ only
 * where float rounding of the two computations puts a value on different
 * sides of a rounding boundary (engine.h: "equality").
 *
 * Widths: a quantized layer has weight slots (width, codes, per-channel
 * scales) and activation slots (width, domain, step): one each when its
 * width is pinned, one per candidate when the plan picks it (row >= 0).
 * A per-input plan (fixed widths, or a DQMQ policy evaluated on the
 * image's quality features) gives each planned layer a weight and an
 * activation width.
 *
 * File (all integers little-endian, floats IEEE binary32 little-endian):
 *   "QADAPTQM"  8 bytes of magic
 *   u32 version (1)   u32 reserved (0)   u64 payload bytes   u32 CRC-32 of
 *   the payload (zlib's)   payload
 * The payload is a sequence of fields (qam_io.c writes and reads them in
 * one order, each read bounds-checked): strings are u32 length + bytes;
 * arrays u32 count + elements. Weight codes are packed at their width,
 * two's complement, low bits first (8 bits: one byte per code). A foreign
 * file, another version, a wrong length or CRC, or any field out of range
 * is refused naming the file and the field.
 *
 * Deliberately not here: running the model (engine.h), building it from a
 * network (lower.h), the policy's maths (agent/policy.h). */
#ifndef DEP_QAM_H
#define DEP_QAM_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"
#include "quant/qcfg.h"

#define DEP_QAM_VERSION 1
#define DEP_MAX_SLOTS Q_MAX_CAND
#define DEP_FIX_SHIFT 16 /* t = 2^-16 x the smallest consumer step */
#define DEP_GAP_MAX_C 4096 /* channels a global pool may average */

typedef enum { DEP_T_CODES, DEP_T_FIX, DEP_T_FLOAT, DEP_T_NKIND } dep_tkind;
typedef enum { DEP_OP_INPUT, DEP_OP_CONV, DEP_OP_QUANT, DEP_OP_GAP, DEP_OP_NKIND } dep_opkind;
typedef enum { DEP_ACT_NONE, DEP_ACT_RELU, DEP_ACT_RELU6, DEP_ACT_NKIND } dep_act;

typedef struct {
    int kind;     /* dep_tkind */
    int c, h, w;
    int layer;    /* CODES: the quantized layer reading them */
    float t;      /* FIX: the fixed-point scale */
} dep_tensor;

typedef struct {
    int bits;
    int pack;       /* bits each code is stored in: bits (DoReFa's odd codes: bits + 1) */
    int8_t *codes;  /* (OC, C/G, KH, KW) */
    float *scale;   /* (OC) per output channel (a per-tensor step repeated) */
} dep_wslot;

typedef struct {
    int bits;       /* 2..8, or 32: not quantized (raw pixels, scale 1/255) */
    int is_signed;  /* codes in [-2^(b-1), 2^(b-1)-1] (or +-qp), else [0, 2^b-1] */
    int lo, hi;     /* code range */
    float step;
} dep_aslot;

/* a quantized conv2d / dense with its folded epilogue */
typedef struct {
    char name[32];
    int c, h, w, oc, oh, ow, kh, kw, sh, sw, ph, pw, groups;
    int row;                    /* plan row, -1 when pinned */
    int nw, na;                 /* weight / activation slots */
    dep_wslot ws[DEP_MAX_SLOTS];
    dep_aslot as[DEP_MAX_SLOTS];
    float *mul, *add;           /* (OC) y = conv * mul + add before the activation */
    int act;                    /* dep_act */
} dep_layer;

typedef struct {
    int kind;    /* dep_opkind */
    int in, out; /* tensors */
    int layer;   /* CONV: its layer */
    int skip;    /* CONV: FIX tensor added before the activation, or -1 */
} dep_op;

/* the per-input policy of a DQMQ model (agent/policy.h) */
typedef struct {
    int present;
    int nin, hidden, head, tied;
    float sigma_min, sigma_max, mu_init, tau;
    int feat_mode;      /* env_feat_mode of the features it reads */
    size_t nparams;
    float *params;      /* the policy's flat parameter values, buffers included */
} dep_policy;

typedef struct {
    char arch[32];
    int c, h, w, nclass;
    float mean[3], std[3];      /* the loader's normalisation */
    /* plan */
    int nplan, ncand, tied;
    int cand[Q_MAX_CAND];
    int fixed_w[Q_MAX_LAYERS], fixed_a[Q_MAX_LAYERS]; /* widths without a policy */
    dep_policy pol;
    /* graph */
    int nlayers, ntensors, nops;
    dep_layer *layers;
    dep_tensor *tensors;
    dep_op *ops;
} dep_model;

int dep_model_alloc(dep_model *m, int nlayers, int ntensors, int nops, qa_err *err);
void dep_model_free(dep_model *m);
/* buffers of layer l for its geometry and slot counts (nw, na set) */
int dep_layer_alloc(dep_layer *l, qa_err *err);
/* weights per slot of layer l */
static inline size_t dep_layer_wn(const dep_layer *l)
{
    return (size_t)l->oc * (size_t)(l->c / l->groups) * (size_t)l->kh * (size_t)l->kw;
}
/* consistency of every index, shape and range (after building or reading) */
int dep_model_check(const dep_model *m, const char *where, qa_err *err);

int dep_model_write(const dep_model *m, const char *path, qa_err *err);
int dep_model_read(dep_model *m, const char *path, qa_err *err);
/* the same on memory (tests, and the file functions' core) */
int dep_model_encode(const dep_model *m, uint8_t **buf, size_t *n, qa_err *err);
int dep_model_decode(dep_model *m, const uint8_t *buf, size_t n, const char *where, qa_err *err);

#endif
