/* test_ddq.c: the DDQ quantizer's forward and its training at a fixed
 * precision (quant/ddq.h, docs/METHODS.md section 9); its gradients are in
 * test_ddq_grad.c, its penalty in test_ddq_penalty.c.
 * - with every gate open it is uniform quantization at the maximum width,
 *   bit for bit, adaptive levels or not; with phi = 0 its level tables give
 *   the uniform quantizer at every precision, ties (away from zero) included,
 *   and LSQ's straight-through mask, clip edges included;
 * - the open gates are the realised precision: 2^b distinct outputs over
 *   the range, and they are the levels q_ddq_levels reports;
 * - at a fixed precision it trains like LSQ at that width (same x_hat, input
 *   gradient and <dy, x_hat>, the same step trajectory under SGD with
 *   momentum);
 * - levels stay strictly monotone, at the range's ends and inside it, after
 *   random updates of every parameter and after SGD steps;
 * - activation rows split into nn's shares: dx, every gradient and the
 *   double-precision sums behind them are the same bytes at 1, 2 and 4
 *   threads (the float gradients alone would hide a split that followed
 *   the threads: sums in double round alike when cast). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/optim.h"
#include "nn/par.h"
#include "qfixture.h"
#include "quant/ddq.h"

#define MAXN 4096

/* x over 1.3 times the fine grid's span, some values exactly on the ties of
 * precision b (steps are powers of two in the tie rows: R = 1) */
static void fill_x(float *x, size_t n, float R, int bits, int b, q_domain dom, nn_rng *rng)
{
    float sb = R / fx_rho(bits, dom) * ldexpf(1.0f, bits - b), span = 1.3f * R;
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
        float s = R[nch == 1 ? 0 : j] / fx_rho(bits, dom) * ldexpf(1.0f, bits - b);
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
            fx_make_ddq(&f, side, dom, bits, nch, m, adaptive);
            float R[3] = {1.0f, 0.37f + nn_rng_uniform(&rng), 2.5f}, x[600], y[600], sc[3];
            int32_t code[600];
            fx_set_ranges(&f, R);
            for (int g = 0; g < f.q.ddq->ngate; g++) /* open, at any positive logit */
                fx_gates(&f)[g] = 0.01f + 3.0f * nn_rng_uniform(&rng);
            for (int g = 0; adaptive && bits > 2 && g < 8; g++)
                fx_warp(&f)[g] = 3.0f * nn_rng_normal(&rng);
            for (int j = 0; j < 3; j++)
                fill_x(x + j * m, m, R[nch == 1 ? 0 : j], bits, bits, dom, &rng);
            fx_forward(&f, x, y, 3);
            ck_assert_int_eq(q_ddq_bits(&f.q, fx_p(&f)), bits);
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
        fx_make_ddq(&f, side, dom, bits, nch, m, 1);
        float R[3] = {1.0f, 0.61f, 0.5f}, x[900], y[900];
        fx_set_ranges(&f, R);
        for (int b = 2; b <= bits; b++) {
            q_ddq_set_bits(&f.q, fx_p(&f), b);
            for (int j = 0; j < 3; j++)
                fill_x(x + j * m, m, R[nch == 1 ? 0 : j], bits, b, dom, &rng);
            fx_forward(&f, x, y, 3);
            ck_assert_int_eq(f.q.ddq->bits, b);
            expect_uniform(x, y, m, 3, R, nch, bits, b, dom, "tables");
            float dy[900], dx[900], dref[900];
            for (size_t i = 0; i < 3 * m; i++)
                dy[i] = nn_rng_normal(&rng);
            q_rows r = {m, NULL, 3};
            q_quant_backward(&f.q, fx_p(&f), dx, dy, x, &r, NULL, 0, NULL);
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
        fx_make_ddq(&f, side, dom, 8, 1, MAXN, adaptive);
        float R = 0.8f, x[MAXN], y[MAXN], lv[256];
        fx_set_ranges(&f, &R);
        int b = 2, nested = 1;
        for (int g = 0; g < 6; g++) { /* random patterns, nested or not */
            fx_gates(&f)[g] = nn_rng_normal(&rng) + (t % 7 == 0 ? 2.0f : 0.0f);
            nested &= fx_gates(&f)[g] >= 0.0f;
            b += nested;
        }
        for (int g = 0; adaptive && g < 8; g++)
            fx_warp(&f)[g] = 2.0f * nn_rng_normal(&rng);
        float lo = dom == Q_DOM_SIGNED ? -1.2f * R : 0.0f;
        for (int i = 0; i < MAXN; i++) /* dense: at least 4 points per finest step */
            x[i] = lo + (1.2f * R - lo) * (float)i / (MAXN - 1);
        fx_forward(&f, x, y, 1);
        ck_assert_int_eq(q_ddq_bits(&f.q, fx_p(&f)), b);
        int n = distinct(y, MAXN), nlev = q_ddq_levels(&f.q, fx_p(&f), lv);
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
            cfg.ddq.range_floor = 0.0f; /* LSQ has none */
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

/* ---- the weights' range floor ---- */

/* 80 SGD steps of L = 1/2 |x_hat|^2 (a push on R toward 0) on a weight
 * quantizer at 4 of 8 bits with floor c; every step's forward range is
 * checked against max(R, c mean|x|), its R gradient against 0 while the
 * floor holds; returns the last forward range over c mean|x|, and in g1
 * R's gradient at step 1 (R at its start, three floors up) */
static float floor_run(float c, const float *x, size_t n, float *g1)
{
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    cfg.ddq.range_floor = c;
    cfg.ddq.init_bits = 4;
    q_quant_spec s = {Q_KIND_DDQ, Q_SIDE_W, Q_DOM_SIGNED, 8, 1, n, 0};
    trained t;
    fx_make_spec(&t.f, &s, &cfg);
    sgd(&t);
    float zero[MAXN] = {0}, y[MAXN], dx[MAXN], dot, fwd = 0.0f;
    double am = 0.0;
    for (size_t i = 0; i < n; i++)
        am += fabsf(x[i]);
    float lo = 2.0f * (float)(am / (double)n); /* the floor at c = 2, for both runs */
    for (int it = 0; it < 80; it++) {
        float R = q_ddq_range(&t.f.q, fx_p(&t.f), 0);
        fwd = step(&t, x, zero, n, y, dx, &dot) * fx_rho(4, Q_DOM_SIGNED);
        float g = nn_params_grad(fx_p(&t.f), t.f.q.vparam)[0];
        ck_assert_int_eq(t.f.q.ddq->bits, 4);
        if (R == 0.0f) /* the first batch sets it */
            continue;
        if (c > 0.0f && R < 0.999f * lo) {
            ck_assert_msg(g == 0.0f, "step %d: R %g under the floor %g, dL/dR %g", it, R, lo, g);
            ck_assert_float_eq_tol(fwd, lo, 1e-5f * lo);
        } else if (R > 1.001f * lo) {
            ck_assert_float_eq_tol(fwd, R, 1e-5f * R);
        }
        if (it == 1) {
            ck_assert_msg(R > 1.001f * lo, "R %g starts under the floor %g", R, lo);
            *g1 = g;
        }
    }
    nn_optim_free(t.o);
    fx_free(&t.f);
    return fwd / lo;
}

/* without the floor the push takes R below 2 mean|w|; with c = 2 the
 * forward range stops there and R's gradient is 0 below it, while above
 * it R's gradient is the floorless one to the bit (that one is
 * finite-difference checked in test_ddq_grad.c) */
START_TEST(test_range_floor)
{
    nn_rng rng;
    nn_rng_init(&rng, 35, NN_STREAM_TEST, 1, 0);
    size_t n = 400;
    float x[MAXN], goff, gon;
    for (size_t i = 0; i < n; i++)
        x[i] = 0.05f * nn_rng_normal(&rng);
    float off = floor_run(0.0f, x, n, &goff);
    ck_assert_msg(off < 0.9f, "the push left R at %g floors: the test proves nothing", off);
    ck_assert_msg(goff > 0.0f, "the push does not push R down: dL/dR %g", goff);
    float on = floor_run(2.0f, x, n, &gon);
    ck_assert_msg(on >= 1.0f - 1e-5f, "forward range %g floors, under the floor", on);
    ck_assert_msg(gon == goff, "above the floor dL/dR %.9g, without it %.9g", gon, goff);
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
    ck_assert_int_eq(q_ddq_levels(&f->q, fx_p(f), lv), n);
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
        fx_make_ddq(&f, side, dom, 8, 1, n, 1);
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
                    fx_warp(&f)[k] += scale * nn_rng_normal(&rng);
                for (int k = 0; k < 6; k++)
                    fx_gates(&f)[k] = nn_rng_normal(&rng) + 0.5f;
                fx_param(&f)[0] *= expf(0.5f * nn_rng_normal(&rng));
            }
            nn_params_zero_grad(&f.net->params);
            q_quant_resolve(&f.q, fx_p(&f), x, &r, 1);
            q_quant_forward(&f.q, y, x, &r);
            expect_levels_valid(&f, it % 2 ? "after SGD" : "after a random update");
            expect_outputs_on_levels(&f, x, y, n);
            for (size_t i = 0; i < n; i++)
                dy[i] = nn_rng_normal(&rng);
            q_quant_backward(&f.q, fx_p(&f), NULL, dy, x, &r, NULL, 0, NULL);
            nn_optim_step(o, oc.lr);
        }
        nn_optim_free(o);
        fx_free(&f);
    }
}
END_TEST

/* 64 rows of 1024 activations (enough to be split into shares), adaptive
 * levels and gates: dx, the whole gradient array into g (ng floats) and
 * the reduced sums into sum (stride doubles); returns ng */
static size_t ddq_rows(int threads, const float *x, const float *dy, float *dx, float **g,
                       double **sum, size_t *stride)
{
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(threads, &err), QA_OK);
    fixture f;
    fx_make_ddq(&f, Q_SIDE_A, Q_DOM_UNSIGNED, 8, 1, 1024, 1);
    float R = 3.0f, *y = malloc(64 * 1024 * sizeof *y);
    fx_set_ranges(&f, &R);
    fx_forward(&f, x, y, 64);
    q_rows r = {1024, NULL, 64};
    q_quant_backward(&f.q, fx_p(&f), dx, dy, x, &r, NULL, 0, NULL);
    size_t n = fx_p(&f)->n;
    *g = malloc(n * sizeof **g);
    memcpy(*g, fx_p(&f)->g, n * sizeof **g);
    *stride = f.q.ddq->stride;
    *sum = malloc(*stride * sizeof **sum);
    memcpy(*sum, f.q.ddq->part, *stride * sizeof **sum);
    free(y);
    fx_free(&f);
    return n;
}

START_TEST(test_threads)
{
    size_t n = 64 * 1024;
    float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy), *dx[3], *g[3];
    double *sum[3];
    nn_rng rng;
    nn_rng_init(&rng, 12, NN_STREAM_TEST, 7, 0);
    for (size_t i = 0; i < n; i++) {
        x[i] = 3.5f * nn_rng_uniform(&rng);
        dy[i] = nn_rng_normal(&rng);
    }
    static const int threads[3] = {1, 2, 4};
    size_t ng = 0, stride = 0;
    for (int k = 0; k < 3; k++) {
        dx[k] = malloc(n * sizeof *dx[k]);
        ng = ddq_rows(threads[k], x, dy, dx[k], &g[k], &sum[k], &stride);
    }
    for (int k = 1; k < 3; k++) {
        ck_assert_mem_eq(dx[0], dx[k], n * sizeof *dx[0]);
        ck_assert_mem_eq(g[0], g[k], ng * sizeof *g[0]);
        ck_assert_mem_eq(sum[0], sum[k], stride * sizeof *sum[0]);
    }
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
    for (int k = 0; k < 3; k++)
        free(dx[k]), free(g[k]), free(sum[k]);
    free(x), free(dy);
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
    tcase_add_test(tc, test_levels_property);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_range_floor);
    suite_add_tcase(s, tc);
    return s;
}
