/* qfixture.c: see qfixture.h. */
#include "qfixture.h"

#include <math.h>

#include "check_main.h"
#include "quant/ddq.h"

const int QF_WIDTHS[4] = {2, 3, 4, 8};

void fx_make_spec(fixture *f, const q_quant_spec *s, const q_cfg *cfg)
{
    qa_err err;
    ck_assert_int_eq(nn_net_create(&f->net, 4, 1, 1, 1, &err), QA_OK);
    ck_assert_msg(q_quant_init(&f->q, f->net, "l", s, cfg, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_params_alloc(&f->net->params, &err), QA_OK);
}

void fx_make(fixture *f, int kind, int side, q_domain dom, int bits, int nch, size_t m)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    q_quant_spec s = {kind, side, dom, bits, nch, m, 0};
    fx_make_spec(f, &s, &cfg);
}

void fx_free(fixture *f)
{
    nn_net_free(f->net);
}

float *fx_param(fixture *f)
{
    return nn_params_value(&f->net->params, f->q.vparam);
}

float *fx_state(fixture *f)
{
    return nn_params_value(&f->net->params, f->q.vstate);
}

/* sets a learned parameter and marks the quantizer initialised (on a fresh
 * fixture an LSQ step set this way is its own reference: lsq.c) */
void fx_set(fixture *f, float v)
{
    fx_param(f)[0] = v;
    fx_state(f)[Q_ST_INIT] = 1.0f;
}

/* runs resolve + forward + codes on one row of n values */
void fx_run(fixture *f, const float *x, int n, float *y, int32_t *codes, int train)
{
    q_rows r = {(size_t)n, NULL, 1};
    float scale;
    q_quant_resolve(&f->q, &f->net->params, x, &r, train);
    q_quant_forward(&f->q, y, x, &r);
    q_quant_codes(&f->q, codes, &scale, x, &r);
    for (int i = 0; i < n; i++)
        ck_assert_msg(y[i] == (float)codes[i] * scale || f->q.ops == &q_dorefa_ops,
                      "value %d: %g != %d * %g", i, y[i], codes[i], scale);
}

void fx_make_ddq(fixture *f, int side, q_domain dom, int bits, int nch, size_t m, int adaptive)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.ddq.adaptive = adaptive;
    cfg.ddq.knots = 8;
    cfg.ddq.range_floor = 0.0f; /* ranges set by the tests are the forward's */
    q_quant_spec s = {Q_KIND_DDQ, side, dom, bits, nch, m, 0};
    fx_make_spec(f, &s, &cfg);
}

const nn_params *fx_p(const fixture *f)
{
    return &f->net->params;
}

float *fx_gates(fixture *f)
{
    return nn_params_value(fx_p(f), f->q.ddq->vgate);
}

float *fx_warp(fixture *f)
{
    return nn_params_value(fx_p(f), f->q.ddq->vlevel);
}

void fx_set_ranges(fixture *f, const float *R)
{
    float *u = fx_param(f), *st = fx_state(f);
    for (int c = 0; c < f->q.nch; c++)
        u[c] = st[Q_ST_REF + c] = R[c];
    st[Q_ST_INIT] = 1.0f;
}

float fx_rho(int bits, q_domain dom)
{
    return ldexpf(1.0f, dom == Q_DOM_SIGNED ? bits - 1 : bits);
}

void fx_forward(fixture *f, const float *x, float *y, int nrows)
{
    q_rows r = {f->q.m, NULL, nrows};
    q_quant_resolve(&f->q, fx_p(f), x, &r, 1);
    q_quant_forward(&f->q, y, x, &r);
}
