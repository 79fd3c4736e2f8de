/* test_quant_fd.c: the quantizers' gradients against finite differences,
 * away from rounding ties: the LSQ step (weights and activations, every
 * width, at and away from its initial value), PACT's alpha and its decay,
 * the STE clip mask, and DoReFa's weight transform per tensor and per
 * channel. Where a quantizer's rule is
 * straight-through by definition (LSQ's -v, PACT's interior), the known
 * closed-form difference is removed before comparing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/gradcheck.h"
#include "qfixture.h"

#define WIDTHS QF_WIDTHS

typedef struct {
    fixture *f;
    const float *x, *R;
    int n;
    float *param; /* the perturbed learned parameter */
    int interior; /* PACT: include the (STE-ignored) interior elements */
} lsq_ctx;

static double quant_loss(void *arg)
{
    lsq_ctx *c = arg;
    float y[64];
    q_rows r = {(size_t)c->n, NULL, 1};
    q_quant_resolve(&c->f->q, &c->f->net->params, c->x, &r, 0);
    q_quant_forward(&c->f->q, y, c->x, &r);
    double l = 0.0;
    for (int i = 0; i < c->n; i++)
        l += (double)c->R[i] * y[i];
    return l;
}

/* rows of 16 weights each, one per output channel */
static q_rows chan_rows(int n)
{
    q_rows r = {16, NULL, n};
    return r;
}

/* x with every x/s at least 0.15 away from a rounding tie */
static void away_from_ties(float *x, int n, float s, float spread, nn_rng *rng)
{
    for (int i = 0; i < n; i++) {
        float v;
        do {
            v = spread * (2.0f * nn_rng_uniform(rng) - 1.0f);
        } while (fabsf(fabsf(v - truncf(v)) - 0.5f) < 0.15f);
        x[i] = v * s;
    }
}

/* LSQ: dx_hat/ds = round(v) - v inside, -Qn below, Qp above, times the
 * gradient scale. Away from ties the true derivative inside is round(v);
 * the -v is the straight-through term (round taken as identity), known in
 * closed form, so the check removes it and compares the rest with finite
 * differences. */
START_TEST(test_lsq_step_fd)
{
    nn_rng rng;
    nn_rng_init(&rng, 5, NN_STREAM_TEST, 2, 0);
    for (int b = 0; b < 4; b++)
        for (int side = 0; side < 2; side++) {
            int bits = WIDTHS[b];
            q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
            fixture f;
            fx_make(&f, Q_KIND_LSQ, side, dom, bits, 1, 48);
            float s = 0.1f, x[48], R[48];
            fx_set(&f, s);
            /* spread past the range on both sides so clipped elements count too */
            float spread = 1.5f * (float)(1 << bits);
            away_from_ties(x, 48, s, spread, &rng);
            for (int i = 0; i < 48; i++)
                R[i] = nn_rng_normal(&rng);
            double ste = 0.0; /* LSQ's straight-through term -v inside the range */
            q_range qr = f.q.r;
            for (int i = 0; i < 48; i++) {
                float v = x[i] / s;
                if (v >= -qr.qn && v <= qr.qp)
                    ste -= (double)R[i] * v;
            }
            q_rows r = {48, NULL, 1};
            q_quant_resolve(&f.q, &f.net->params, x, &r, 1);
            q_quant_backward(&f.q, &f.net->params, NULL, R, x, &r, NULL, 0, NULL);
            float g = nn_params_grad(&f.net->params, f.q.vparam)[0] / f.q.gscale - (float)ste;
            lsq_ctx c = {&f, x, R, 48, fx_param(&f), 1};
            nn_gradcheck_cfg cfg = {.eps = 1e-5f, .rtol = 1e-3f, .atol = 1e-4f};
            nn_gradcheck_result res = {0};
            qa_err err;
            ck_assert_msg(nn_gradcheck_vec(quant_loss, &c, c.param, &g, 1, "lsq step", &cfg, &res,
                                           &err) == QA_OK,
                          "%d bits side %d: %s", bits, side, err.msg);
            fx_free(&f);
        }
}
END_TEST

/* The same away from the initial step s0: below s0 the parameter p is the
 * step's log coordinate (s = s0 exp((p - s0) / s0), lsq.c), so there
 * dL/dp = (s / s0) dL/ds and the straight-through term scales by s / s0 too;
 * above s0, p is the step. Steps below and above s0 at every width, weights
 * and activations. */
START_TEST(test_lsq_moved_step_fd)
{
    static const float shift[2] = {-1.2f, 0.6f}; /* ln(s / s0) */
    nn_rng rng;
    nn_rng_init(&rng, 5, NN_STREAM_TEST, 7, 0);
    for (int b = 0; b < 4; b++)
        for (int k = 0; k < 4; k++) {
            int bits = WIDTHS[b], side = k & 1;
            q_domain dom = side == Q_SIDE_W ? Q_DOM_SIGNED : Q_DOM_UNSIGNED;
            fixture f;
            fx_make(&f, Q_KIND_LSQ, side, dom, bits, 1, 48);
            float s0 = 0.1f, x[48] = {0}, R[48];
            q_rows r = {48, NULL, 1};
            fx_set(&f, s0);
            q_quant_resolve(&f.q, &f.net->params, x, &r, 1); /* s0 becomes the reference */
            int up = shift[k >> 1] > 0.0f;
            fx_param(&f)[0] = up ? s0 * expf(shift[k >> 1]) : s0 * (1.0f + shift[k >> 1]);
            q_quant_resolve(&f.q, &f.net->params, x, &r, 1);
            float s = f.q.s[0], dsdp = up ? 1.0f : s / s0;
            ck_assert_float_eq_tol(s, s0 * expf(shift[k >> 1]), 1e-6f);
            float spread = 1.5f * (float)(1 << bits);
            away_from_ties(x, 48, s, spread, &rng);
            for (int i = 0; i < 48; i++)
                R[i] = nn_rng_normal(&rng);
            double ste = 0.0;
            q_range qr = f.q.r;
            for (int i = 0; i < 48; i++) {
                float v = x[i] / s;
                if (v >= -qr.qn && v <= qr.qp)
                    ste -= (double)R[i] * v;
            }
            q_quant_backward(&f.q, &f.net->params, NULL, R, x, &r, NULL, 0, NULL);
            float g = nn_params_grad(&f.net->params, f.q.vparam)[0] / f.q.gscale -
                      dsdp * (float)ste;
            lsq_ctx c = {&f, x, R, 48, fx_param(&f), 1};
            /* p +- eps moves every v = x/s by at most spread * eps / s0: 0.1 */
            nn_gradcheck_cfg cfg = {.eps = 0.1f * s0 / spread, .rtol = 1e-3f, .atol = 1e-4f};
            nn_gradcheck_result res = {0};
            qa_err err;
            ck_assert_msg(nn_gradcheck_vec(quant_loss, &c, c.param, &g, 1, "lsq moved step", &cfg,
                                           &res, &err) == QA_OK,
                          "%d bits side %d ln(s/s0) %g: %s", bits, side, shift[k >> 1], err.msg);
            fx_free(&f);
        }
}
END_TEST

/* Per-channel weight steps (4-bit LSQ per output channel, the weights of
 * MetaMix's weight training): each channel's step gradient against finite
 * differences of that channel's parameter alone (the straight-through -v
 * removed as above), with g = 1 / sqrt(m Qp) for m weights per channel, and
 * the weights' own gradient dy inside the clip range, 0 outside. */
typedef struct {
    fixture *f;
    const float *w, *R;
} chan_ctx;

static double chan_loss(void *arg)
{
    chan_ctx *c = arg;
    float y[3 * 16];
    q_rows r = chan_rows(3);
    q_quant_resolve(&c->f->q, &c->f->net->params, c->w, &r, 0);
    q_quant_forward(&c->f->q, y, c->w, &r);
    double l = 0.0;
    for (int i = 0; i < 48; i++)
        l += (double)c->R[i] * y[i];
    return l;
}

START_TEST(test_lsq_per_channel_fd)
{
    static const float steps[3] = {0.05f, 0.12f, 0.3f};
    nn_rng rng;
    nn_rng_init(&rng, 5, NN_STREAM_TEST, 9, 0);
    fixture f;
    fx_make(&f, Q_KIND_LSQ, Q_SIDE_W, Q_DOM_SIGNED, 4, 3, 16);
    float w[48], R[48], dw[48];
    for (int c = 0; c < 3; c++) {
        fx_param(&f)[c] = steps[c];
        away_from_ties(w + 16 * c, 16, steps[c], 12.0f, &rng); /* codes -8..7: some clip */
    }
    fx_state(&f)[Q_ST_INIT] = 1.0f;
    for (int i = 0; i < 48; i++)
        R[i] = nn_rng_normal(&rng);
    q_rows r = chan_rows(3);
    q_quant_resolve(&f.q, &f.net->params, w, &r, 1);
    q_quant_backward(&f.q, &f.net->params, dw, R, w, &r, NULL, 0, NULL);
    ck_assert_float_eq_tol(f.q.gscale, 1.0f / sqrtf(16.0f * 7.0f), 1e-7f);
    for (int c = 0; c < 3; c++) {
        double ste = 0.0;
        for (int i = 16 * c; i < 16 * c + 16; i++) {
            float v = w[i] / steps[c];
            int inside = v >= -8.0f && v <= 7.0f;
            ste -= inside ? (double)R[i] * v : 0.0;
            ck_assert_float_eq(dw[i], inside ? R[i] : 0.0f);
        }
        float g = nn_params_grad(&f.net->params, f.q.vparam)[c] / f.q.gscale - (float)ste;
        chan_ctx cc = {&f, w, R};
        nn_gradcheck_cfg cfg = {.eps = 1e-5f, .rtol = 1e-3f, .atol = 1e-4f};
        nn_gradcheck_result res = {0};
        qa_err err;
        ck_assert_msg(nn_gradcheck_vec(chan_loss, &cc, fx_param(&f) + c, &g, 1, "channel step",
                                       &cfg, &res, &err) == QA_OK,
                      "channel %d: %s", c, err.msg);
    }
    fx_free(&f);
}
END_TEST

/* PACT: dalpha = sum over clipped elements (x >= alpha) of dy; interior
 * elements move with alpha through s = alpha/Qp (d = q/Qp), which PACT's
 * straight-through rule ignores, so the check subtracts that known term. */
START_TEST(test_pact_alpha_fd)
{
    nn_rng rng;
    nn_rng_init(&rng, 6, NN_STREAM_TEST, 3, 0);
    for (int b = 0; b < 4; b++) {
        int bits = WIDTHS[b];
        fixture f;
        fx_make(&f, Q_KIND_PACT, Q_SIDE_A, Q_DOM_UNSIGNED, bits, 1, 40);
        f.q.pact_decay = 0.0f;
        float alpha = 2.0f, qp = (float)((1 << bits) - 1), x[40], R[40];
        fx_set(&f, alpha);
        away_from_ties(x, 40, alpha / qp, 1.6f * qp, &rng);
        double interior = 0.0;
        for (int i = 0; i < 40; i++) {
            R[i] = nn_rng_normal(&rng);
            float v = x[i] * qp / alpha;
            if (v > 0 && v < qp)
                interior += (double)R[i] * roundf(v) / qp;
        }
        q_rows r = {40, NULL, 1};
        q_quant_resolve(&f.q, &f.net->params, x, &r, 1);
        q_quant_backward(&f.q, &f.net->params, NULL, R, x, &r, NULL, 0, NULL);
        float g = nn_params_grad(&f.net->params, f.q.vparam)[0] + (float)interior;
        lsq_ctx c = {&f, x, R, 40, fx_param(&f), 1};
        nn_gradcheck_cfg cfg = {.eps = 1e-4f, .rtol = 1e-3f, .atol = 1e-4f};
        nn_gradcheck_result res = {0};
        qa_err err;
        ck_assert_msg(nn_gradcheck_vec(quant_loss, &c, c.param, &g, 1, "pact alpha", &cfg, &res,
                                       &err) == QA_OK,
                      "%d bits: %s", bits, err.msg);
        fx_free(&f);
    }
}
END_TEST

START_TEST(test_pact_decay)
{
    fixture f;
    fx_make(&f, Q_KIND_PACT, Q_SIDE_A, Q_DOM_UNSIGNED, 4, 1, 2);
    fx_set(&f, 3.0f);
    float x[2] = {0.1f, 0.2f}, dy[2] = {1.0f, 1.0f};
    q_rows r = {2, NULL, 1};
    q_quant_resolve(&f.q, &f.net->params, x, &r, 1);
    q_quant_backward(&f.q, &f.net->params, NULL, dy, x, &r, NULL, 0, NULL);
    ck_assert_float_eq_tol(nn_params_grad(&f.net->params, f.q.vparam)[0], 3e-4f, 1e-9f);
    fx_free(&f);
}
END_TEST

/* The STE differentiates clip(x, -Qn s, Qp s): checked against finite
 * differences of that surrogate, elements kept away from the clip edges. */
typedef struct {
    const float *R;
    float lo, hi;
    int n;
    float *x;
} clip_ctx;

static double clip_loss(void *arg)
{
    clip_ctx *c = arg;
    double l = 0.0;
    for (int i = 0; i < c->n; i++)
        l += (double)c->R[i] * fminf(fmaxf(c->x[i], c->lo), c->hi);
    return l;
}

START_TEST(test_ste_mask_fd)
{
    nn_rng rng;
    nn_rng_init(&rng, 7, NN_STREAM_TEST, 4, 0);
    for (int b = 0; b < 4; b++)
        for (int dom = 0; dom < 2; dom++) {
            q_range r = q_range_make(WIDTHS[b], (q_domain)dom);
            float s = 0.05f, x[64], R[64], dx[64];
            for (int i = 0; i < 64; i++) {
                do
                    x[i] = 1.5f * r.qp * s * (2.0f * nn_rng_uniform(&rng) - 1.0f);
                while (fabsf(x[i] - r.qp * s) < 1e-3f || fabsf(x[i] + r.qn * s) < 1e-3f);
                R[i] = nn_rng_normal(&rng);
            }
            q_fq_sums sums;
            q_fq_backward(dx, R, x, 64, s, r, 1.0f, 0, &sums);
            clip_ctx c = {R, -r.qn * s, r.qp * s, 64, x};
            nn_gradcheck_cfg cfg = {.eps = 1e-4f, .max_elems = 64};
            nn_gradcheck_result res = {0};
            qa_err err;
            ck_assert_msg(nn_gradcheck_vec(clip_loss, &c, x, dx, 64, "ste", &cfg, &res, &err) ==
                              QA_OK,
                          "%s", err.msg);
            int clipped = 0;
            for (int i = 0; i < 64; i++)
                clipped += dx[i] == 0.0f;
            ck_assert_int_gt(clipped, 0); /* both masks occur */
        }
}
END_TEST

/* DoReFa weights: straight-through on the rounding, exact on tanh/(2 max):
 * checked against finite differences of 2u - 1 = tanh(w) / max|tanh(w)|. */
typedef struct {
    const float *R;
    float *w;
    int rows, m, per_channel;
} dorefa_ctx;

static double abs_tanh_max(const float *w, int lo, int hi)
{
    double mx = 0.0;
    for (int i = lo; i < hi; i++)
        mx = fmax(mx, fabs(tanh((double)w[i])));
    return mx;
}

static double dorefa_surrogate(void *arg)
{
    dorefa_ctx *c = arg;
    double l = 0.0;
    for (int j = 0; j < c->rows; j++) {
        double mx = c->per_channel ? abs_tanh_max(c->w, j * c->m, (j + 1) * c->m)
                                   : abs_tanh_max(c->w, 0, c->rows * c->m);
        for (int i = j * c->m; i < (j + 1) * c->m; i++)
            l += (double)c->R[i] * tanh((double)c->w[i]) / mx;
    }
    return l;
}

START_TEST(test_dorefa_weight_fd)
{
    nn_rng rng;
    nn_rng_init(&rng, 8, NN_STREAM_TEST, 5, 0);
    for (int pc = 0; pc < 2; pc++) {
        fixture f;
        fx_make(&f, Q_KIND_DOREFA, Q_SIDE_W, Q_DOM_SIGNED, 3, pc ? 3 : 1, pc ? 8 : 24);
        float w[24], R[24], dw[24];
        for (int i = 0; i < 24; i++) {
            w[i] = 0.7f * nn_rng_normal(&rng);
            R[i] = nn_rng_normal(&rng);
        }
        q_rows r = {pc ? 8 : 24, NULL, pc ? 3 : 1};
        q_quant_resolve(&f.q, &f.net->params, w, &r, 1);
        q_quant_backward(&f.q, &f.net->params, dw, R, w, &r, NULL, 0, NULL);
        dorefa_ctx c = {R, w, 3, 8, pc};
        nn_gradcheck_cfg cfg = {.eps = 1e-3f, .max_elems = 24};
        nn_gradcheck_result res = {0};
        qa_err err;
        ck_assert_msg(nn_gradcheck_vec(dorefa_surrogate, &c, w, dw, 24, "dorefa w", &cfg, &res,
                                       &err) == QA_OK,
                      "%s", err.msg);
        fx_free(&f);
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_fd");
    TCase *tc = tcase_create("finite_differences");
    tcase_add_test(tc, test_lsq_step_fd);
    tcase_add_test(tc, test_lsq_moved_step_fd);
    tcase_add_test(tc, test_lsq_per_channel_fd);
    tcase_add_test(tc, test_pact_alpha_fd);
    tcase_add_test(tc, test_pact_decay);
    tcase_add_test(tc, test_ste_mask_fd);
    tcase_add_test(tc, test_dorefa_weight_fd);
    suite_add_tcase(s, tc);
    return s;
}
