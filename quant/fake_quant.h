/* fake_quant.h: uniform quantize-dequantize kernels and their straight-through
 * backward, shared by every quantizer (LSQ, PACT, DoReFa, calibration).
 *
 * Legend: x real value, s > 0 step, v = x / s, b bits, codes q in [-qn, qp].
 *   forward   q = clip(round(v), -qn, qp), x_hat = q * s
 *   backward  dx = dx_hat * [-qn <= v <= qp]                     (STE, clip mask)
 *             dx_hat/ds = round(v) - v inside, -qn below, qp above   (LSQ)
 * round() is round half away from zero (C's roundf; docs/METHODS.md): symmetric in
 * the sign of x, so a signed tensor and its negation quantize to negated
 * codes, and it is what the integer kernels reproduce exactly. v is x / s (a
 * true division, not x * (1/s)), so codes match docs/METHODS.md to the last bit.
 * bits == Q_BITS_OFF (32) means "not quantized": forward copies, backward
 * passes the gradient through unmasked.
 *
 * Deliberately not here: where steps come from (quantizer.h) and anything
 * that knows about layers or plans. */
#ifndef Q_FAKE_QUANT_H
#define Q_FAKE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#define Q_BITS_MIN 2
#define Q_BITS_MAX 8
#define Q_BITS_OFF 32

typedef enum {
    Q_DOM_SIGNED,   /* weights, residual sums, standardised images: [-2^(b-1), 2^(b-1)-1] */
    Q_DOM_UNSIGNED, /* after ReLU: [0, 2^b - 1] */
} q_domain;

typedef struct {
    int bits;    /* 2..8, or Q_BITS_OFF */
    float qn;    /* codes >= -qn */
    float qp;    /* codes <= qp */
} q_range;

/* 1 for 2..8 and Q_BITS_OFF */
int q_bits_valid(int bits);
q_range q_range_make(int bits, q_domain dom);
/* PACT/DoReFa signed variant: symmetric [-qp, qp] so the clip is [-alpha, alpha] */
q_range q_range_symmetric(int bits);

/* Sums gathered by one backward pass over a span, all of dy (unweighted). */
typedef struct {
    float lsq; /* sum dy * dx_hat/ds */
    float hi;  /* sum dy where v > qp (clipped high) */
    float lo;  /* sum dy where v < -qn (clipped low) */
    float dot; /* sum dy * x_hat */
} q_fq_sums;

/* y (n) = x_hat; y may alias x */
void q_fq_forward(float *y, const float *x, size_t n, float s, q_range r);
/* q (n) = integer codes of x */
void q_fq_codes(int32_t *q, const float *x, size_t n, float s, q_range r);
/* dx (n) (+)= wt * mask * dy (acc: add, else overwrite; dx NULL: skip);
 * returns the span's sums in *out. */
void q_fq_backward(float *dx, const float *dy, const float *x, size_t n, float s, q_range r,
                   float wt, int acc, q_fq_sums *out);

#endif
