/* engine_priv.h: the engine's state, shared by engine.c (load, buffers)
 * and engine_run.c (plans, groups, ops). Internal to deploy/. */
#ifndef DEP_ENGINE_PRIV_H
#define DEP_ENGINE_PRIV_H

#include "agent/policy.h"
#include "deploy/engine.h"

#define DEP_CHUNK_BYTES (1 << 20) /* activation bytes a share works in at once */
#define DEP_POLICY_BATCH 256       /* images the policy evaluates per call */

/* How a layer's input meets the kernel. DIRECT: taps of the (H, W, Cp)
 * input. A layer with few input channels (the network's first) would pad
 * every tap's channels to 4, so instead: ROWS (grey, KW <= 4): each
 * image is copied into a plane padded with the zero point, and kernel row
 * ky reads the 4 bytes at the window's row ky (the KW taps and a neighbour
 * whose weight is 0): KH taps of 4 channels. PATCH (other few-channel
 * layers): each pixel's taps are gathered into Kp = round4(T C) bytes and
 * the kernel runs a 1x1 convolution over them. DW: a depthwise layer,
 * taps of the input as DIRECT, its own kernel (kern.h dw). */
typedef enum { EL_DIRECT, EL_ROWS, EL_PATCH, EL_DW } eng_lowering;

typedef struct {
    int T, Cp, P;                    /* the kernel's taps and channels (DW: the weight
                                        row, DEP_DW_CP), output pixels */
    int32_t *ind;                    /* (P, T) input offsets, -1 = padding */
    int lowering;                    /* eng_lowering */
    int32_t *gather;                 /* PATCH: (P, taps) offsets into the input */
    size_t scratch;                  /* ROWS / PATCH: bytes per image (a plane, patches) */
    void *wpack[DEP_MAX_SLOTS];      /* the kernel's layout */
    int32_t *wsum[DEP_MAX_SLOTS];    /* (OC) sum of each channel's weight codes */
} eng_layer;

/* an op's parameters for the current group */
typedef struct {
    float *m, *b;        /* (OCpad) CONV */
    int32_t *zc;         /* (OCpad) CONV */
    float u, lo, hi, k;  /* k: QUANT/GAP multiplier */
    int z_in, z_out, wslot, lo_i, hi_i;
    uint8_t lut[3][256]; /* INPUT */
} eng_opp;

struct dep_engine {
    dep_model m;
    const dep_kern *kern;
    eng_layer *layers;
    size_t *tbytes, *toff;   /* (ntensors) bytes per image, offset in a workspace */
    int *tcp;                /* (ntensors) CODES: padded channels */
    eng_opp *opp;            /* (nops) */
    void *oppmem;
    int chunk;               /* images per workspace */
    size_t patch_off;        /* ROWS / PATCH layers' scratch, after the tensors */
    uint8_t **ws;            /* (nws) workspaces */
    int nws;
    size_t ws_bytes;
    /* plans */
    agent_policy *pol;
    q_plan *plan;
    float *obs, *qscratch;
    int cap;                 /* images the plan buffers hold */
    uint8_t *wb, *ab;        /* (cap, nplan) */
    int *order;              /* (cap) images grouped by plan */
    int *gstart, *gfirst, *gkey; /* (cap + 1) group starts, (cap) scratch */
};

/* engine_run.c */
int dep_engine_slot(const dep_layer *l, int bits, int w);
void dep_engine_prepare(dep_engine *e, const uint8_t *wb, const uint8_t *ab);
void dep_engine_run_images(dep_engine *e, uint8_t *ws, const uint8_t *px, const int *idx, int n,
                           float *logits);

#endif
