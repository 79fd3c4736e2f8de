/* kern.h: the integer convolution kernels and their run-time dispatch.
 *
 * One call computes a quantized convolution (dense = 1x1 on a 1x1 image)
 * over n samples and output pixels [p_lo, p_hi), NHWC throughout:
 *   acc[p, oc] = sum_{t, c} w[oc, t, c] * x[ind[p, t] + c] - zc[oc]
 * in int32, x the uint8 input (codes + zero point z, Cp channels padded to
 * a multiple of 4 whose weights are 0), ind >= 0 the offset of tap t of
 * pixel p in a sample's input (a tap in the padding points at Cp bytes of
 * z that every sample's input holds after its pixels: no test per tap),
 * zc = z * sum_{t,c} w[oc, t, c]. Then the epilogue (dep_epilogue below, the
 * same float operations in every variant):
 *   v = (float)acc * m[oc] + b[oc]; v = v + (float)skip[p, oc] * u;
 *   v = min(max(v, lo), hi); rounded half away from zero:
 *   CODES: (uint8) (round(v) + z_out), FIX: (int32) round(v), FLOAT: v.
 * Integer sums are exact in every variant and the float steps are the same
 * IEEE operations in the same order (no FMA contraction: meson builds
 * deploy/ with -ffp-contract=off), so all variants agree bit for bit.
 *
 * Variants (dep_kern_table, best first): "avx512vnni" (vpdpbusd: u8 x s8
 * quads into int32, no intermediate saturation), "avx2" (operands widened
 * to int16, vpmaddwd pairs into int32: exact, unlike vpmaddubsw, whose
 * int16 pair sums saturate at 255 * 127 * 2), "c" (portable loops). Each
 * packs the weights in its own layout once, at load.
 *
 * A depthwise convolution (groups = input = output channels, OC of them)
 * has one call of its own, dw:
 *   acc[p, c] = sum_t w[t, c] * x[ind[p, t] + c] - zc[c]
 * w (T, Cp) int8 in the same layout for every variant (Cp = DEP_DW_CP(OC):
 * zero channels up to a multiple of 16, so that a vector of weights never
 * reads past them); ind as above, reading channels [0, OC) of a pixel only.
 * The products are widened to int32 (exact), lanes are channels; the same
 * epilogue follows.
 *
 * Deliberately not here: which tensors and scales a layer uses (engine.c),
 * grouped convolutions other than depthwise. */
#ifndef DEP_KERN_H
#define DEP_KERN_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { DEP_OUT_CODES, DEP_OUT_FIX, DEP_OUT_FLOAT } dep_out_kind;

#define DEP_DW_CP(c) (((c) + 15) / 16 * 16) /* a depthwise layer's weight row */

#define DEP_FIX_MAX 2147483520.0f /* the largest float below 2^31 */
#define DEP_HALF_DOWN 0.49999997f /* nextafterf(0.5f, 0): x + copysign(it, x) truncates to round(x) */

typedef struct {
    int n;                   /* samples */
    int p_lo, p_hi;          /* output pixels of each sample */
    int T, Cp, OC;           /* taps, padded input channels, output channels */
    const uint8_t *in;       /* sample 0's input */
    size_t in_stride;        /* bytes per sample */
    const int32_t *ind;      /* (P, T), all >= 0 */
    const void *w;           /* packed by the variant's pack(); dw: (T, Cp) */
    const int32_t *zc;       /* (OC) */
    const float *m, *b;      /* (OC) */
    const int32_t *skip;     /* (P, OC) per sample, or NULL */
    size_t skip_stride;      /* int32 per sample */
    float u, lo, hi;
    int out_kind;            /* dep_out_kind */
    int z_out;
    void *out;               /* CODES uint8 (P, out_cp); FIX int32 / FLOAT (P, OC) */
    size_t out_stride;       /* elements per sample */
    int out_cp;              /* CODES: channels stride */
} dep_conv_args;

typedef struct {
    const char *name;
    int (*supported)(void);
    /* bytes of packed weights for (OC, T, Cp) */
    size_t (*wbytes)(int oc, int t, int cp);
    /* w (OC, T, Cp) int8 -> the variant's layout */
    void (*pack)(const int8_t *w, int oc, int t, int cp, void *out);
    void (*conv)(const dep_conv_args *a);
    void (*dw)(const dep_conv_args *a); /* depthwise, OC channels in and out */
} dep_kern;

/* the variants this build has, best first, NULL-terminated */
extern const dep_kern *const dep_kern_table[];
/* the best variant the CPU supports; name: that one (NULL when unknown or
 * not supported here) */
const dep_kern *dep_kern_best(void);
const dep_kern *dep_kern_find(const char *name);

/* the epilogue of one value, the reference every variant equals */
static inline float dep_epi_value(int32_t acc, float m, float b, const int32_t *skip, float u,
                                  float lo, float hi)
{
    float v = (float)acc * m;
    v = v + b;
    if (skip) {
        float s = (float)*skip * u;
        v = v + s;
    }
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

static inline int32_t dep_round(float v)
{
    return (int32_t)(v + copysignf(DEP_HALF_DOWN, v));
}

void dep_epi_store(const dep_conv_args *a, int s, int p, int oc, int32_t acc);

#endif
