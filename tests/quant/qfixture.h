/* qfixture.h: one quantizer registered in a throw-away net whose
 * parameters are allocated, for the quantizer tests; DDQ's views. */
#ifndef QA_TEST_QFIXTURE_H
#define QA_TEST_QFIXTURE_H

#include <stdint.h>

#include "nn/net.h"
#include "quant/quantizer.h"

extern const int QF_WIDTHS[4]; /* 2, 3, 4, 8 */

typedef struct {
    nn_net *net;
    q_quant q;
} fixture;

void fx_make(fixture *f, int kind, int side, q_domain dom, int bits, int nch, size_t m);
/* the same for any spec and [quant] settings */
void fx_make_spec(fixture *f, const q_quant_spec *s, const q_cfg *cfg);
void fx_free(fixture *f);
float *fx_param(fixture *f);
float *fx_state(fixture *f);
/* sets a learned parameter and marks the quantizer initialised */
void fx_set(fixture *f, float v);
/* resolve + forward + codes on one row of n values; checks y = code * scale */
void fx_run(fixture *f, const float *x, int n, float *y, int32_t *codes, int train);

/* ---- DDQ (quant/ddq.h) ---- */
/* a DDQ quantizer, adaptive levels (8 knots) or not, no range floor */
void fx_make_ddq(fixture *f, int side, q_domain dom, int bits, int nch, size_t m, int adaptive);
const nn_params *fx_p(const fixture *f);
float *fx_gates(fixture *f);
float *fx_warp(fixture *f);
/* ranges R (nch) set directly, each its own reference; marks it initialised */
void fx_set_ranges(fixture *f, const float *R);
/* 2^(b-1) signed, 2^b unsigned: the range in steps at b bits */
float fx_rho(int bits, q_domain dom);
/* resolve (training) + forward of nrows rows */
void fx_forward(fixture *f, const float *x, float *y, int nrows);

#endif
