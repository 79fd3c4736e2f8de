/* test_ddq.c: the DDQ quantizer (quant/ddq.h, docs/methods-ddq.md).
 * - with every gate open it is uniform quantization at the maximum width,
 *   bit for bit, adaptive levels or not; with phi = 0 its level tables give
 *   the uniform quantizer at every precision, ties (away from zero) included,
 *   and LSQ's straight-through mask, clip edges included;
 * - the open gates are the realised precision: 2^b distinct outputs over
 *   the range, and they are the levels q_ddq_levels reports;
 * - at a fixed precision it trains like LSQ at that width (same x_hat, input
 *   gradient and <dy, x_hat>, the same step trajectory under SGD with
 *   momentum);
 * - the range gradient against finite differences (the straight-through
 *   term removed, as for LSQ), uniform and adaptive, at and off the
 *   reference, per tensor and per channel; the level warp's gradient against
 *   finite differences of the positions, and through the quantizer as the
 *   straight-through rule on the snap to fine codes;
 * - the gate gradient of a linear loss is exactly the slope times the loss
 *   difference of flipping the gate, so its sign opens a gate exactly when
 *   that lowers the loss; on toy problems gradient steps on the gates move
 *   the precision up (reconstruction) or down (a 2-bit target);
 * - levels stay strictly monotone, at the range's ends and inside it, after
 *   random updates of every parameter and after SGD steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/gradcheck.h"
#include "nn/optim.h"
#include "qfixture.h"
#include "quant/ddq.h"

#define MAXN 4096

static void ddq_make(fixture *f, int side, q_domain dom, int bits, int nch, size_t m, int adaptive)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.ddq.adaptive = adaptive;
    cfg.ddq.knots = 8;
    q_quant_spec s = {Q_KIND_DDQ, side, dom, bits, nch, m, 0};
    fx_make_spec(f, &s, &cfg);
}

static const nn_params *P(const fixture *f)
{
    return &f->net->params;
}

static float *gates(fixture *f)
{
    return nn_params_value(P(f), f->q.ddq->vgate);
}

static float *warp(fixture *f)
{
    return nn_params_value(P(f), f->q.ddq->vlevel);
}

/* ranges set directly (each its own reference), marked initialised */
static void set_range(fixture *f, const float *R)
{
    float *u = fx_param(f), *st = fx_state(f);
    for (int c = 0; c < f->q.nch; c++)
        u[c] = st[Q_ST_REF + c] = R[c];
    st[Q_ST_INIT] = 1.0f;
}

static float rho(int bits, q_domain dom)
{
    return ldexpf(1.0f, dom == Q_DOM_SIGNED ? bits - 1 : bits);
}

static void forward(fixture *f, const float *x, float *y, int nrows)
{
    q_rows r = {f->q.m, NULL, nrows};
    q_quant_resolve(&f->q, P(f), x, &r, 1);
    q_quant_forward(&f->q, y, x, &r);
}

/* x over 1.3 times the fine grid's span, some values exactly on the ties of
 * precision b (steps are powers of two in the tie rows: R = 1) */
static void fill_x(float *x, size_t n, float R, int bits, int b, q_domain dom, nn_rng *rng)
{
    float sb = R / rho(bits, dom) * ldexpf(1.0f, bits - b), span = 1.3f * R;
    float lo = dom == Q_DOM_SIGNED ? -span : -0.1f * R;
    for (size_t i = 0; i < n; i++) {
        x[i] = lo + (span - lo) * nn_rng_uniform(rng);
        if (i % 5 == 0) /* a tie: (k + 1/2) s_b */
            x[i] = (floorf(x[i] / sb) + 0.5f) * sb;
        if (i % 37 == 0) /* a clip edge of precision b */
            x[i] = (i % 2 ? q_range_make(b, dom).qp : -q_range_make(b, dom).qn) * sb;
    }
}

/* y against q_fq_forward at precision b and step R / rho_b, bit for bit */
static void expect_uniform(const float *x, const float *y, size_t m, int nrows, const float *R,
                           int nch, int bits, int b, q_domain dom, const char *what)
{
    float ref[MAXN];
    for (int j = 0; j < nrows; j++) {
        float s = R[nch == 1 ? 0 : j] / rho(bits, dom) * ldexpf(1.0f, bits - b);
        q_fq_forward(ref + j * m, x + j * m, m, s, q_range_make(b, dom));
    }
    for (size_t i = 0; i < m * (size_t)nrows; i++)
        ck_assert_msg(y[i] == ref[i], "%s B %d b %d: x %.9g -> %.9g, uniform %.9g", what, bits, b,
                      x[i], y[i], ref[i]);
}

static const int WIDTHS[4] = {2, 3, 4, 8};

START_TEST(test_all_open_is_uniform)
{
    nn_rng rng;
    nn_rng_init(&rng, 31, NN_STREAM_TEST, 1, 0);
    for (int w = 0; w < 4; w++)
        for (int k = 0; k < 8; k++) {
            int bits = WIDTHS[w], side = k & 1, nch = k & 2 ? 3 : 1, adaptive = (k >> 2) & 1;
            q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
            size_t m = 200;
            fixture f;
            ddq_make(&f, side, dom, bits, nch, m, adaptive);
            float R[3] = {1.0f, 0.37f + nn_rng_uniform(&rng), 2.5f}, x[600], y[600], sc[3];
            int32_t code[600];
            set_range(&f, R);
            for (int g = 0; g < f.q.ddq->ngate; g++) /* open, at any positive logit */
                gates(&f)[g] = 0.01f + 3.0f * nn_rng_uniform(&rng);
            for (int g = 0; adaptive && bits > 2 && g < 8; g++)
                warp(&f)[g] = 3.0f * nn_rng_normal(&rng);
            for (int j = 0; j < 3; j++)
                fill_x(x + j * m, m, R[nch == 1 ? 0 : j], bits, bits, dom, &rng);
            forward(&f, x, y, 3);
            ck_assert_int_eq(q_ddq_bits(&f.q, P(&f)), bits);
            expect_uniform(x, y, m, 3, R, nch, bits, bits, dom, "all open");
            q_rows r = {m, NULL, 3};
            q_quant_codes(&f.q, code, sc, x, &r);
            for (size_t i = 0; i < 3 * m; i++)
                ck_assert_float_eq(y[i], (float)code[i] * sc[i / m]);
            fx_free(&f);
        }
}
END_TEST

/* adaptive levels at phi = 0 run the cell tables (b < B), which must give
 * the uniform quantizer at every precision, ties included */
START_TEST(test_tables_are_uniform)
{
    nn_rng rng;
    nn_rng_init(&rng, 32, NN_STREAM_TEST, 1, 0);
    for (int k = 0; k < 4; k++) {
        int bits = 8, side = k & 1, nch = k & 2 ? 3 : 1;
        q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
        size_t m = 300;
        fixture f;
        ddq_make(&f, side, dom, bits, nch, m, 1);
        float R[3] = {1.0f, 0.61f, 0.5f}, x[900], y[900];
        set_range(&f, R);
        for (int b = 2; b <= bits; b++) {
            q_ddq_set_bits(&f.q, P(&f), b);
            for (int j = 0; j < 3; j++)
                fill_x(x + j * m, m, R[nch == 1 ? 0 : j], bits, b, dom, &rng);
            forward(&f, x, y, 3);
            ck_assert_int_eq(f.q.ddq->bits, b);
            expect_uniform(x, y, m, 3, R, nch, bits, b, dom, "tables");
            float dy[900], dx[900], dref[900];
            for (size_t i = 0; i < 3 * m; i++)
                dy[i] = nn_rng_normal(&rng);
            q_rows r = {m, NULL, 3};
            q_quant_backward(&f.q, P(&f), dx, dy, x, &r, NULL, 0, NULL);
            for (int j = 0; j < 3; j++) { /* the straight-through mask, edges included */
                q_fq_sums o;
                q_fq_backward(dref + j * m, dy + j * m, x + j * m, m, f.q.s[nch == 1 ? 0 : j],
                              q_range_make(b, dom), 1.0f, 0, &o);
            }
            for (size_t i = 0; i < 3 * m; i++)
                ck_assert_msg(dx[i] == dref[i], "b %d: dx at x %g: %g, uniform %g", b, x[i], dx[i],
                              dref[i]);
        }
        fx_free(&f);
    }
}
END_TEST

static int cmp_float(const void *a, const void *b)
{
    float u = *(const float *)a, v = *(const float *)b;
    return (u > v) - (u < v);
}

/* distinct values of sorted y (n) into y; returns their number */
static int distinct(float *y, int n)
{
    qsort(y, (size_t)n, sizeof *y, cmp_float);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || y[i] != y[k - 1])
            y[k++] = y[i];
    return k;
}

START_TEST(test_gate_slope)
{
    ck_assert_float_eq(q_ddq_gate_slope(0.0f, 0.5f), 1.0f);
    ck_assert_float_eq_tol(q_ddq_gate_slope(0.5f * logf(3.0f), 0.5f), 0.75f, 1e-6f);
    ck_assert_float_eq_tol(q_ddq_gate_slope(-0.5f * logf(3.0f), 0.5f), 0.75f, 1e-6f);
    ck_assert_float_eq(q_ddq_gate_slope(-7.0f, 0.0f), 1.0f); /* plain straight-through */
}
END_TEST

START_TEST(test_open_gates_are_precision)
{
    nn_rng rng;
    nn_rng_init(&rng, 33, NN_STREAM_TEST, 1, 0);
    for (int t = 0; t < 40; t++) {
        int side = t & 1, adaptive = (t >> 1) & 1;
        q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
        fixture f;
        ddq_make(&f, side, dom, 8, 1, MAXN, adaptive);
        float R = 0.8f, x[MAXN], y[MAXN], lv[256];
        set_range(&f, &R);
        int b = 2, nested = 1;
        for (int g = 0; g < 6; g++) { /* random patterns, nested or not */
            gates(&f)[g] = nn_rng_normal(&rng) + (t % 7 == 0 ? 2.0f : 0.0f);
            nested &= gates(&f)[g] >= 0.0f;
            b += nested;
        }
        for (int g = 0; adaptive && g < 8; g++)
            warp(&f)[g] = 2.0f * nn_rng_normal(&rng);
        float lo = dom == Q_DOM_SIGNED ? -1.2f * R : 0.0f;
        for (int i = 0; i < MAXN; i++) /* dense: at least 4 points per finest step */
            x[i] = lo + (1.2f * R - lo) * (float)i / (MAXN - 1);
        forward(&f, x, y, 1);
        ck_assert_int_eq(q_ddq_bits(&f.q, P(&f)), b);
        int n = distinct(y, MAXN), nlev = q_ddq_levels(&f.q, P(&f), lv);
        ck_assert_msg(n == 1 << b, "precision %d (adaptive %d): %d distinct outputs", b, adaptive,
                      n);
        ck_assert_int_eq(nlev, n);
        for (int c = 0; c < n; c++)
            ck_assert_float_eq_tol(y[c], lv[c] * R, 1e-6f);
        fx_free(&f);
    }
}
END_TEST

/* ---- DDQ at a fixed precision against LSQ at that width ---- */

typedef struct {
    fixture f;
    nn_optim *o;
} trained;

static void sgd(trained *t)
{
    qa_err err;
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.01f, .momentum = 0.9f};
    ck_assert_int_eq(nn_optim_create(&t->o, &oc, &t->f.net->params, &err), QA_OK);
}

/* one step of L = 1/2 |x_hat - target|^2; returns the step used, the input
 * gradient into dx and <dy, x_hat> into dot */
static float step(trained *t, const float *x, const float *target, size_t n, float *y, float *dx,
                  float *dot)
{
    q_rows r = {n, NULL, 1};
    float dy[MAXN];
    nn_params_zero_grad(&t->f.net->params);
    q_quant_resolve(&t->f.q, &t->f.net->params, x, &r, 1);
    float s = t->f.q.s[0];
    q_quant_forward(&t->f.q, y, x, &r);
    for (size_t i = 0; i < n; i++)
        dy[i] = y[i] - target[i];
    q_quant_backward(&t->f.q, &t->f.net->params, dx, dy, x, &r, NULL, 0, dot);
    if (t->f.q.ddq && t->f.q.ddq->vgate >= 0) /* the precision stays put */
        memset(nn_params_grad(&t->f.net->params, t->f.q.ddq->vgate), 0,
               (size_t)t->f.q.ddq->ngate * sizeof(float));
    nn_optim_step(t->o, 0.01f);
    return s;
}

START_TEST(test_fixed_precision_is_lsq)
{
    nn_rng rng;
    nn_rng_init(&rng, 34, NN_STREAM_TEST, 1, 0);
    for (int b = 2; b <= 8; b++)
        for (int side = 0; side < 2; side++) {
            q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
            size_t n = 500;
            trained l, d;
            fx_make(&l.f, Q_KIND_LSQ, side, dom, b, 1, n);
            q_cfg cfg;
            q_cfg_defaults(&cfg);
            cfg.ddq.range_bits = cfg.ddq.init_bits = b;
            q_quant_spec s = {Q_KIND_DDQ, side, dom, 8, 1, n, 0};
            fx_make_spec(&d.f, &s, &cfg);
            sgd(&l);
            sgd(&d);
            float x[MAXN], tg[MAXN], yl[MAXN], yd[MAXN], dxl[MAXN], dxd[MAXN], dotl, dotd;
            for (size_t i = 0; i < n; i++) {
                x[i] = side == Q_SIDE_W ? 0.3f * nn_rng_normal(&rng) : fabsf(nn_rng_normal(&rng));
                x[i] *= i % 50 == 0 ? 8.0f : 1.0f; /* some clipped at every width */
                tg[i] = 1.1f * x[i]; /* a target the step has to chase */
            }
            /* the sums differ in order (LSQ's float lanes, DDQ's doubles), and
             * near the clip edge momentum amplifies that last bit by up to
             * 1.25 a step: 15 steps keep it below 1e-5 */
            float s0 = 0.0f, sl = 0.0f;
            for (int it = 0; it < 15; it++) {
                float sd = step(&d, x, tg, n, yd, dxd, &dotd);
                sl = step(&l, x, tg, n, yl, dxl, &dotl);
                s0 = it == 0 ? sl : s0;
                ck_assert_int_eq(d.f.q.ddq->bits, b);
                ck_assert_msg(fabsf(sd - sl) <= 1e-5f * sl, "b %d side %d step %d: %.8g vs %.8g",
                              b, side, it, sd, sl);
                if (it == 0) { /* same step: the same quantizer, mask and dot */
                    for (size_t i = 0; i < n; i++) {
                        ck_assert_float_eq(yd[i], yl[i]);
                        ck_assert_float_eq(dxd[i], dxl[i]);
                    }
                    ck_assert_float_eq_tol(dotd, dotl, 1e-5f * (1.0f + fabsf(dotl)));
                }
            }
            ck_assert_msg(fabsf(sl - s0) > 0.01f * s0, "b %d side %d: the step stayed at %g", b,
                          side, s0);
            nn_optim_free(l.o);
            nn_optim_free(d.o);
            fx_free(&l.f);
            fx_free(&d.f);
        }
}
END_TEST

/* ---- finite differences ---- */

typedef struct {
    fixture *f;
    const float *x, *R;
    size_t m;
    int nrows;
    float *param;
} fd_ctx;

static double linear_loss(void *arg)
{
    fd_ctx *c = arg;
    float y[MAXN];
    q_rows r = {c->m, NULL, c->nrows};
    q_quant_resolve(&c->f->q, P(c->f), c->x, &r, 0);
    q_quant_forward(&c->f->q, y, c->x, &r);
    double l = 0.0;
    for (size_t i = 0; i < c->m * (size_t)c->nrows; i++)
        l += (double)c->R[i] * y[i];
    return l;
}

/* x whose a = 2 x / s_B is at least 0.2 from an integer (every threshold
 * and clip edge of every precision is one), spread past the range */
static void away_from_cells(float *x, size_t n, float sfine, q_domain dom, nn_rng *rng)
{
    float amax = 2.6f * (dom == Q_DOM_SIGNED ? 128.0f : 256.0f);
    for (size_t i = 0; i < n; i++) {
        float a;
        do
            a = amax * (dom == Q_DOM_SIGNED ? 2.0f * nn_rng_uniform(rng) - 1.0f
                                            : nn_rng_uniform(rng));
        while (fabsf(a - roundf(a)) < 0.2f);
        x[i] = 0.5f * a * sfine;
    }
}

/* The range's gradient minus its straight-through part against finite
 * differences: dL/du = dR/du sum_i R_i x_hat_i / R away from thresholds. */
static void check_range_fd(int side, int nch, int adaptive, int b, float shift, nn_rng *rng)
{
    q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
    size_t m = 60;
    int nrows = 3;
    fixture f;
    ddq_make(&f, side, dom, 8, nch, m, adaptive);
    float R0[3] = {0.7f, 1.3f, 0.9f}, x[180] = {0}, Rp[180];
    set_range(&f, R0);
    q_ddq_set_bits(&f.q, P(&f), b);
    for (int g = 0; adaptive && g < 8; g++)
        warp(&f)[g] = nn_rng_normal(rng);
    for (int c = 0; c < nch; c++) /* below the reference: log coordinates */
        fx_param(&f)[c] = shift < 0.0f ? R0[c] * (1.0f + shift) : R0[c] * expf(shift);
    q_rows r = {m, NULL, nrows};
    q_quant_resolve(&f.q, P(&f), x, &r, 1);
    for (int j = 0; j < nrows; j++)
        away_from_cells(x + j * m, m, f.q.ddq->sfine[nch == 1 ? 0 : j], dom, rng);
    for (size_t i = 0; i < m * nrows; i++)
        Rp[i] = nn_rng_normal(rng);
    q_quant_resolve(&f.q, P(&f), x, &r, 1);
    q_quant_backward(&f.q, P(&f), NULL, Rp, x, &r, NULL, 0, NULL);
    float g[3];
    float rb = rho(b, dom);
    for (int c = 0; c < nch; c++) {
        float range = q_ddq_range(&f.q, P(&f), c), sb = f.q.s[c];
        float slope = fminf(range / R0[c], 1.0f);
        double ste = 0.0; /* the straight-through -x inside the range, in steps */
        for (int j = 0; j < nrows; j++) {
            if (nch > 1 && j != c)
                continue;
            for (size_t i = 0; i < m; i++) {
                float v = x[j * m + i] / sb;
                if (v >= -f.q.r.qn && v <= f.q.r.qp)
                    ste -= (double)Rp[j * m + i] * v;
            }
        }
        float sum = nn_params_grad(P(&f), f.q.vparam)[c] / (f.q.gscale * rb * slope) - (float)ste;
        g[c] = sum / rb * slope; /* dL/dR = sum / rho_b, times dR/du */
    }
    fd_ctx ctx = {&f, x, Rp, m, nrows, fx_param(&f)};
    /* u +- eps moves every a by at most 0.05 */
    nn_gradcheck_cfg cfg = {.eps = 0.05f * 0.7f / 700.0f, .rtol = 1e-2f, .atol = 2e-2f};
    nn_gradcheck_result res = {0};
    qa_err err;
    ck_assert_msg(nn_gradcheck_vec(linear_loss, &ctx, ctx.param, g, (size_t)nch, "ddq range",
                                   &cfg, &res, &err) == QA_OK,
                  "side %d nch %d adaptive %d b %d shift %g: %s", side, nch, adaptive, b,
                  (double)shift, err.msg);
    fx_free(&f);
}

START_TEST(test_range_fd)
{
    nn_rng rng;
    nn_rng_init(&rng, 35, NN_STREAM_TEST, 1, 0);
    static const float shift[3] = {0.0f, -0.4f, 0.3f};
    for (int b = 2; b <= 8; b++)
        for (int k = 0; k < 8; k++)
            check_range_fd(k & 1, k & 2 ? 3 : 1, (k >> 2) & 1, b, shift[(b + k) % 3], &rng);
}
END_TEST

typedef struct {
    float *phi;
    const float *R;
    int knots, nlev, lo, hi;
} warp_ctx;

static double warp_loss(void *arg)
{
    warp_ctx *c = arg;
    float pos[256];
    int32_t lv[256];
    q_ddq_warp_levels(c->phi, c->knots, c->nlev, c->lo, c->hi, pos, lv);
    double l = 0.0;
    for (int k = 0; k < c->nlev; k++)
        l += (double)c->R[k] * pos[k];
    return l;
}

START_TEST(test_warp_fd)
{
    nn_rng rng;
    nn_rng_init(&rng, 36, NN_STREAM_TEST, 1, 0);
    static const int knots[3] = {1, 5, 16};
    for (int t = 0; t < 3; t++)
        for (int b = 2; b <= 7; b++) {
            float phi[16], R[256], g[16] = {0};
            int nlev = 1 << b, m = 1 << (8 - b);
            for (int k = 0; k < knots[t]; k++)
                phi[k] = nn_rng_normal(&rng);
            for (int k = 0; k < nlev; k++)
                R[k] = nn_rng_normal(&rng);
            warp_ctx c = {phi, R, knots[t], nlev, -(nlev / 2) * m, (nlev / 2 - 1) * m};
            q_ddq_warp_vjp(phi, knots[t], nlev, c.lo, c.hi, R, g);
            nn_gradcheck_cfg cfg = {.eps = 1e-2f, .rtol = 1e-2f, .atol = 5e-2f};
            nn_gradcheck_result res = {0};
            qa_err err;
            ck_assert_msg(nn_gradcheck_vec(warp_loss, &c, phi, g, (size_t)knots[t], "warp", &cfg,
                                           &res, &err) == QA_OK,
                          "knots %d b %d: %s", knots[t], b, err.msg);
        }
}
END_TEST

/* The warp's gradient through the quantizer: straight-through on the
 * snap to fine codes, so for a linear loss it is the warp's vjp of
 * dL/dP_c = s_B (sum of R over the elements at level c), the elements'
 * levels read from the lookup-table view. */
START_TEST(test_level_grad)
{
    nn_rng rng;
    nn_rng_init(&rng, 40, NN_STREAM_TEST, 1, 0);
    for (int t = 0; t < 6; t++) {
        int side = t & 1, nch = t & 2 ? 3 : 1, b = 3 + t % 4;
        q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
        size_t m = 200;
        fixture f;
        ddq_make(&f, side, dom, 8, nch, m, 1);
        float R0[3] = {1.0f, 0.7f, 1.6f}, x[600], Rp[600], sc[3], dpos[256] = {0}, want[8] = {0};
        int32_t ix[600];
        set_range(&f, R0);
        q_ddq_set_bits(&f.q, P(&f), b);
        for (int g = 0; g < 8; g++)
            warp(&f)[g] = nn_rng_normal(&rng);
        for (size_t i = 0; i < 3 * m; i++) {
            x[i] = (side ? 1.2f : 2.4f) * nn_rng_uniform(&rng) - (side ? 0.0f : 1.2f);
            Rp[i] = nn_rng_normal(&rng);
        }
        q_rows r = {m, NULL, 3};
        q_quant_resolve(&f.q, P(&f), x, &r, 1);
        q_quant_backward(&f.q, P(&f), NULL, Rp, x, &r, NULL, 0, NULL);
        q_ddq_index_codes(&f.q, ix, sc, x, &r);
        for (size_t i = 0; i < 3 * m; i++)
            dpos[ix[i]] += Rp[i] * sc[i / m];
        int lo, hi;
        q_range qr = q_range_make(b, dom);
        lo = -((int)qr.qn << (8 - b));
        hi = (int)qr.qp << (8 - b);
        q_ddq_warp_vjp(warp(&f), 8, 1 << b, lo, hi, dpos, want);
        const float *g = nn_params_grad(P(&f), f.q.ddq->vlevel);
        for (int k = 0; k < 8; k++)
            ck_assert_msg(fabsf(g[k] - want[k]) <= 1e-4f * (1.0f + fabsf(want[k])),
                          "b %d side %d nch %d knot %d: %g, want %g", b, side, nch, k, g[k],
                          want[k]);
        fx_free(&f);
    }
}
END_TEST

/* ---- gates ---- */

/* With the gates at precision b: the linear loss sum wt_row R x_hat
 * (quadratic = 0), or sum wt_row |x_hat - x|^2 / 2, and dL/dx_hat into dy */
static double loss_at(fixture *f, const float *x, const float *R, const float *wt, size_t m,
                      int quadratic, int b, float *dy)
{
    float keep[6], y[1200];
    memcpy(keep, gates(f), sizeof keep);
    q_ddq_set_bits(&f->q, P(f), b);
    q_rows r = {m, NULL, 3};
    q_quant_resolve(&f->q, P(f), x, &r, 0);
    q_quant_forward(&f->q, y, x, &r);
    memcpy(gates(f), keep, sizeof keep);
    double l = 0.0;
    for (size_t i = 0; i < 3 * m; i++) {
        double e = (double)y[i] - x[i];
        l += wt[i / m] * (quadratic ? 0.5 * e * e : (double)R[i] * y[i]);
        if (dy)
            dy[i] = quadratic ? y[i] - x[i] : R[i];
    }
    return l;
}

/* The gate gradient equals slope times the exact value of the gate's bit,
 * L(min + k + 1) - L(min + k) (for the top open and first closed gates the
 * change of flipping them): for a linear loss with the first-order rule,
 * for the quadratic loss |x_hat - x|^2 / 2 with the curvature term (kappa =
 * 1 there), at every precision, open, closed and blocked gates alike. */
static void check_flip(int side, int adaptive, int quadratic, int b, nn_rng *rng)
{
    q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
    size_t m = 400;
    fixture f;
    ddq_make(&f, side, dom, 8, 1, m, adaptive);
    f.q.ddq->tau = 0.7f;
    f.q.ddq->curvature = quadratic;
    float R0 = 1.0f, x[1200], Rp[1200], dy[1200], wt[3] = {1.0f, 0.5f, 2.0f};
    set_range(&f, &R0);
    for (int g = 0; adaptive && g < 8; g++)
        warp(&f)[g] = nn_rng_normal(rng);
    for (size_t i = 0; i < 3 * m; i++) {
        x[i] = (side ? 1.2f : 2.4f) * nn_rng_uniform(rng) - (side ? 0.0f : 1.2f);
        Rp[i] = nn_rng_normal(rng);
    }
    q_ddq_set_bits(&f.q, P(&f), b);
    for (int g = 0; g < 6; g++) /* logits of several sizes, signs kept */
        gates(&f)[g] *= 0.2f + 3.0f * nn_rng_uniform(rng);
    double L[9];
    for (int j = 2; j <= 8; j++)
        L[j] = loss_at(&f, x, Rp, wt, m, quadratic, j, j == b ? dy : NULL);
    q_rows r = {m, NULL, 3};
    q_quant_resolve(&f.q, P(&f), x, &r, 1);
    q_quant_backward(&f.q, P(&f), NULL, dy, x, &r, wt, 0, NULL);
    const float *g = nn_params_grad(P(&f), f.q.ddq->vgate), *th = gates(&f);
    for (int k = 0; k < 6; k++) { /* the value of the gate's bit */
        double want = (L[3 + k] - L[2 + k]) * q_ddq_gate_slope(th[k], 0.7f);
        ck_assert_msg(fabs(g[k] - want) <= 2e-4 * (1.0 + fabs(want)),
                      "side %d adaptive %d quadratic %d b %d gate %d: %.8g, flip %.8g", side,
                      adaptive, quadratic, b, k, g[k], want);
    }
    fx_free(&f);
}

START_TEST(test_gate_grad_is_flip)
{
    nn_rng rng;
    nn_rng_init(&rng, 37, NN_STREAM_TEST, 1, 0);
    for (int t = 0; t < 8; t++)
        for (int b = 2; b <= 8; b++)
            check_flip(t & 1, (t >> 1) & 1, t >> 2, b, &rng);
}
END_TEST

/* SGD on the gates alone of 1/2 |x_hat - target|^2 */
static int gate_descent(int start, int two_bit_target, double *l0, double *l1)
{
    fixture f;
    size_t n = 2000;
    ddq_make(&f, Q_SIDE_W, Q_DOM_SIGNED, 8, 1, n, 0);
    nn_rng rng;
    nn_rng_init(&rng, 38, NN_STREAM_TEST, 1, 0);
    float R = 1.0f, x[MAXN], tg[MAXN], y[MAXN], dy[MAXN];
    set_range(&f, &R);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * nn_rng_normal(&rng);
    q_ddq_set_bits(&f.q, P(&f), 2);
    forward(&f, x, tg, 1);
    if (!two_bit_target)
        memcpy(tg, x, n * sizeof *x);
    q_ddq_set_bits(&f.q, P(&f), start);
    q_rows r = {n, NULL, 1};
    for (int it = 0; it < 60; it++) {
        nn_params_zero_grad(&f.net->params);
        forward(&f, x, y, 1);
        double l = 0.0;
        for (size_t i = 0; i < n; i++) {
            dy[i] = y[i] - tg[i];
            l += 0.5 * dy[i] * dy[i];
        }
        *(it == 0 ? l0 : l1) = l;
        q_quant_backward(&f.q, P(&f), NULL, dy, x, &r, NULL, 0, NULL);
        for (int k = 0; k < 6; k++)
            gates(&f)[k] -= 50.0f * nn_params_grad(P(&f), f.q.ddq->vgate)[k];
    }
    int b = q_ddq_bits(&f.q, P(&f));
    fx_free(&f);
    return b;
}

START_TEST(test_gate_toys)
{
    double l0, l1;
    int b = gate_descent(2, 0, &l0, &l1);
    ck_assert_msg(b >= 6 && l1 < 0.1 * l0, "reconstruction: 2 -> %d bits, loss %g -> %g", b, l0,
                  l1);
    /* every closing raises the loss: 8 bits stay (the first-order rule alone
     * would close the top gates, docs/methods-ddq.md) */
    b = gate_descent(8, 0, &l0, &l1);
    ck_assert_msg(b == 8 && l1 == l0, "reconstruction: 8 -> %d bits, loss %g -> %g", b, l0, l1);
    b = gate_descent(8, 1, &l0, &l1);
    ck_assert_msg(b == 2 && l1 == 0.0, "2-bit target: 8 -> %d bits, loss %g -> %g", b, l0, l1);
}
END_TEST

/* ---- levels stay monotone and in range ---- */

static void expect_levels_valid(fixture *f, const char *when)
{
    const q_ddq *d = f->q.ddq;
    int b = d->bits, n = 1 << b, m = 1 << (8 - b);
    q_range r = q_range_make(b, d->dom);
    ck_assert_msg(d->lv[0] == -(int)r.qn * m && d->lv[n - 1] == (int)r.qp * m,
                  "%s: ends %d %d at %d bits", when, d->lv[0], d->lv[n - 1], b);
    for (int c = 1; c < n; c++)
        ck_assert_msg(d->lv[c] > d->lv[c - 1], "%s: levels %d, %d at %d bits", when,
                      d->lv[c - 1], d->lv[c], b);
    float lv[256];
    ck_assert_int_eq(q_ddq_levels(&f->q, P(f), lv), n);
    for (int c = 0; c < n; c++)
        ck_assert(lv[c] >= (d->dom == Q_DOM_SIGNED ? -1.0f : 0.0f) && lv[c] < 1.0f);
}

static void expect_outputs_on_levels(fixture *f, const float *x, const float *y, size_t n)
{
    const q_ddq *d = f->q.ddq;
    for (size_t i = 0; i < n; i++) {
        float v = y[i] / d->sfine[0];
        int hit = 0;
        for (int c = 0; c < 1 << d->bits && !hit; c++)
            hit = fabsf(v - (float)d->lv[c]) < 1e-3f;
        ck_assert_msg(hit, "x %g -> %g is no level", x[i], y[i]);
    }
}

START_TEST(test_levels_property)
{
    nn_rng rng;
    nn_rng_init(&rng, 39, NN_STREAM_TEST, 1, 0);
    for (int side = 0; side < 2; side++) {
        q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
        size_t n = 512;
        fixture f;
        ddq_make(&f, side, dom, 8, 1, n, 1);
        nn_optim *o;
        qa_err err;
        nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.5f, .momentum = 0.9f};
        ck_assert_int_eq(nn_optim_create(&o, &oc, &f.net->params, &err), QA_OK);
        float x[512], y[512], dy[512];
        for (size_t i = 0; i < n; i++)
            x[i] = side ? fabsf(nn_rng_normal(&rng)) : nn_rng_normal(&rng);
        q_rows r = {n, NULL, 1};
        for (int it = 0; it < 300; it++) {
            if (it % 2 == 0) { /* an arbitrary update of every parameter */
                float scale = it % 6 == 0 ? 100.0f : 2.0f;
                for (int k = 0; k < 8; k++)
                    warp(&f)[k] += scale * nn_rng_normal(&rng);
                for (int k = 0; k < 6; k++)
                    gates(&f)[k] = nn_rng_normal(&rng) + 0.5f;
                fx_param(&f)[0] *= expf(0.5f * nn_rng_normal(&rng));
            }
            nn_params_zero_grad(&f.net->params);
            q_quant_resolve(&f.q, P(&f), x, &r, 1);
            q_quant_forward(&f.q, y, x, &r);
            expect_levels_valid(&f, it % 2 ? "after SGD" : "after a random update");
            expect_outputs_on_levels(&f, x, y, n);
            for (size_t i = 0; i < n; i++)
                dy[i] = nn_rng_normal(&rng);
            q_quant_backward(&f.q, P(&f), NULL, dy, x, &r, NULL, 0, NULL);
            nn_optim_step(o, oc.lr);
        }
        nn_optim_free(o);
        fx_free(&f);
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_ddq");
    TCase *tc = tcase_create("ddq");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_all_open_is_uniform);
    tcase_add_test(tc, test_tables_are_uniform);
    tcase_add_test(tc, test_gate_slope);
    tcase_add_test(tc, test_open_gates_are_precision);
    tcase_add_test(tc, test_fixed_precision_is_lsq);
    tcase_add_test(tc, test_range_fd);
    tcase_add_test(tc, test_warp_fd);
    tcase_add_test(tc, test_level_grad);
    tcase_add_test(tc, test_gate_grad_is_flip);
    tcase_add_test(tc, test_gate_toys);
    tcase_add_test(tc, test_levels_property);
    suite_add_tcase(s, tc);
    return s;
}
