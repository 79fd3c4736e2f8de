/* intkern.h: integer reference inference for quantized conv/dense, the
 * check that fake quantization describes what integer hardware computes.
 *
 * Inputs are the integer codes a quantizer produces (q_quant_codes):
 * activations qa with one scale sa, weights qw with one scale per output
 * channel sw[oc]. Products are accumulated in int32, then rescaled once:
 *   y[oc, p] = (float)acc[oc, p] * (sa * sw[oc]) + bias[oc]
 * Zero padding is code 0, exact because every quantizer here is symmetric
 * or starts at 0 (no zero points). acc cannot overflow while
 * K * max|qw| * max|qa| < 2^31 (K = C/G * KH * KW; codes up to 255 allow K <= 33025);
 * q_int_fits() checks it. One sample at a time, plain loops: a reference,
 * not a fast path.
 *
 * Deliberately not here: producing codes (quantizer.h), float GEMMs. */
#ifndef Q_INTKERN_H
#define Q_INTKERN_H

#include <stdint.h>

#include "nn/im2col.h"

/* 1 if K products of codes bounded by qw_max, qa_max fit an int32 sum */
int q_int_fits(long k, long qw_max, long qa_max);

/* y (OC, OH, OW) from qa (C, H, W) and qw (OC, C/G, KH, KW); bias may be NULL */
void q_int_conv2d(const nn_conv_geom *g, const int32_t *qa, float sa, const int32_t *qw,
                  const float *sw, const float *bias, float *y);
/* y (out) from qa (in) and qw (out, in); bias may be NULL */
void q_int_dense(int in, int out, const int32_t *qa, float sa, const int32_t *qw, const float *sw,
                 const float *bias, float *y);

/* Non-uniform levels (DDQ's adaptive resolution): ia and iw are level
 * indices, la and lw the integer level of each index (a lookup table per
 * side, NULL = the index is the code); every product looks its two codes
 * up, so y is what a table-decoding integer kernel computes. */
typedef struct {
    const int32_t *la, *lw;
} q_int_lut;

void q_int_conv2d_lut(const nn_conv_geom *g, const int32_t *ia, float sa, const int32_t *iw,
                      const float *sw, const float *bias, const q_int_lut *lut, float *y);
void q_int_dense_lut(int in, int out, const int32_t *ia, float sa, const int32_t *iw,
                     const float *sw, const float *bias, const q_int_lut *lut, float *y);

#endif
