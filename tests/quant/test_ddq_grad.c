/* test_ddq_grad.c: the DDQ quantizer's gradients (quant/ddq.h,
 * docs/METHODS.md section 9).
 * - the range gradient against finite differences (the straight-through
 *   term removed, as for LSQ), uniform and adaptive, at and off the
 *   reference, per tensor and per channel; the level warp's gradient against
 *   finite differences of the positions, and through the quantizer as the
 *   straight-through rule on the snap to fine codes;
 * - the gate gradient is exactly the slope times the value of the gate's
 *   bit, L(min + k + 1) - L(min + k) (the change of flipping the top open or
 *   first closed gate), for a linear loss and for the quadratic
 *   reconstruction loss, so its sign opens a gate exactly when that lowers
 *   the loss; on toy problems gradient steps on the gates move the precision
 *   up (reconstruction), keep it (reconstruction at 8 bits) or take it down
 *   (a 2-bit target). */
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "nn/gradcheck.h"
#include "qfixture.h"
#include "quant/ddq.h"

#define MAXN 4096

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
    q_quant_resolve(&c->f->q, fx_p(c->f), c->x, &r, 0);
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
    fx_make_ddq(&f, side, dom, 8, nch, m, adaptive);
    float R0[3] = {0.7f, 1.3f, 0.9f}, x[180] = {0}, Rp[180];
    fx_set_ranges(&f, R0);
    q_ddq_set_bits(&f.q, fx_p(&f), b);
    for (int g = 0; adaptive && g < 8; g++)
        fx_warp(&f)[g] = nn_rng_normal(rng);
    for (int c = 0; c < nch; c++) /* below the reference: log coordinates */
        fx_param(&f)[c] = shift < 0.0f ? R0[c] * (1.0f + shift) : R0[c] * expf(shift);
    q_rows r = {m, NULL, nrows};
    q_quant_resolve(&f.q, fx_p(&f), x, &r, 1);
    for (int j = 0; j < nrows; j++)
        away_from_cells(x + j * m, m, f.q.ddq->sfine[nch == 1 ? 0 : j], dom, rng);
    for (size_t i = 0; i < m * nrows; i++)
        Rp[i] = nn_rng_normal(rng);
    q_quant_resolve(&f.q, fx_p(&f), x, &r, 1);
    q_quant_backward(&f.q, fx_p(&f), NULL, Rp, x, &r, NULL, 0, NULL);
    float g[3];
    float rb = fx_rho(b, dom);
    for (int c = 0; c < nch; c++) {
        float range = q_ddq_range(&f.q, fx_p(&f), c), sb = f.q.s[c];
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
        float sum = nn_params_grad(fx_p(&f), f.q.vparam)[c] / (f.q.gscale * rb * slope) - (float)ste;
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
        fx_make_ddq(&f, side, dom, 8, nch, m, 1);
        float R0[3] = {1.0f, 0.7f, 1.6f}, x[600], Rp[600], sc[3], dpos[256] = {0}, want[8] = {0};
        int32_t ix[600];
        fx_set_ranges(&f, R0);
        q_ddq_set_bits(&f.q, fx_p(&f), b);
        for (int g = 0; g < 8; g++)
            fx_warp(&f)[g] = nn_rng_normal(&rng);
        for (size_t i = 0; i < 3 * m; i++) {
            x[i] = (side ? 1.2f : 2.4f) * nn_rng_uniform(&rng) - (side ? 0.0f : 1.2f);
            Rp[i] = nn_rng_normal(&rng);
        }
        q_rows r = {m, NULL, 3};
        q_quant_resolve(&f.q, fx_p(&f), x, &r, 1);
        q_quant_backward(&f.q, fx_p(&f), NULL, Rp, x, &r, NULL, 0, NULL);
        q_ddq_index_codes(&f.q, ix, sc, x, &r);
        for (size_t i = 0; i < 3 * m; i++)
            dpos[ix[i]] += Rp[i] * sc[i / m];
        int lo, hi;
        q_range qr = q_range_make(b, dom);
        lo = -((int)qr.qn << (8 - b));
        hi = (int)qr.qp << (8 - b);
        q_ddq_warp_vjp(fx_warp(&f), 8, 1 << b, lo, hi, dpos, want);
        const float *g = nn_params_grad(fx_p(&f), f.q.ddq->vlevel);
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
    memcpy(keep, fx_gates(f), sizeof keep);
    q_ddq_set_bits(&f->q, fx_p(f), b);
    q_rows r = {m, NULL, 3};
    q_quant_resolve(&f->q, fx_p(f), x, &r, 0);
    q_quant_forward(&f->q, y, x, &r);
    memcpy(fx_gates(f), keep, sizeof keep);
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
    fx_make_ddq(&f, side, dom, 8, 1, m, adaptive);
    f.q.ddq->tau = 0.7f;
    f.q.ddq->curvature = quadratic;
    float R0 = 1.0f, x[1200], Rp[1200], dy[1200], wt[3] = {1.0f, 0.5f, 2.0f};
    fx_set_ranges(&f, &R0);
    for (int g = 0; adaptive && g < 8; g++)
        fx_warp(&f)[g] = nn_rng_normal(rng);
    for (size_t i = 0; i < 3 * m; i++) {
        x[i] = (side ? 1.2f : 2.4f) * nn_rng_uniform(rng) - (side ? 0.0f : 1.2f);
        Rp[i] = nn_rng_normal(rng);
    }
    q_ddq_set_bits(&f.q, fx_p(&f), b);
    for (int g = 0; g < 6; g++) /* logits of several sizes, signs kept */
        fx_gates(&f)[g] *= 0.2f + 3.0f * nn_rng_uniform(rng);
    double L[9];
    for (int j = 2; j <= 8; j++)
        L[j] = loss_at(&f, x, Rp, wt, m, quadratic, j, j == b ? dy : NULL);
    q_rows r = {m, NULL, 3};
    q_quant_resolve(&f.q, fx_p(&f), x, &r, 1);
    q_quant_backward(&f.q, fx_p(&f), NULL, dy, x, &r, wt, 0, NULL);
    const float *g = nn_params_grad(fx_p(&f), f.q.ddq->vgate), *th = fx_gates(&f);
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
    fx_make_ddq(&f, Q_SIDE_W, Q_DOM_SIGNED, 8, 1, n, 0);
    nn_rng rng;
    nn_rng_init(&rng, 38, NN_STREAM_TEST, 1, 0);
    float R = 1.0f, x[MAXN], tg[MAXN], y[MAXN], dy[MAXN];
    fx_set_ranges(&f, &R);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * nn_rng_normal(&rng);
    q_ddq_set_bits(&f.q, fx_p(&f), 2);
    fx_forward(&f, x, tg, 1);
    if (!two_bit_target)
        memcpy(tg, x, n * sizeof *x);
    q_ddq_set_bits(&f.q, fx_p(&f), start);
    q_rows r = {n, NULL, 1};
    for (int it = 0; it < 60; it++) {
        nn_params_zero_grad(&f.net->params);
        fx_forward(&f, x, y, 1);
        double l = 0.0;
        for (size_t i = 0; i < n; i++) {
            dy[i] = y[i] - tg[i];
            l += 0.5 * dy[i] * dy[i];
        }
        *(it == 0 ? l0 : l1) = l;
        q_quant_backward(&f.q, fx_p(&f), NULL, dy, x, &r, NULL, 0, NULL);
        for (int k = 0; k < 6; k++)
            fx_gates(&f)[k] -= 50.0f * nn_params_grad(fx_p(&f), f.q.ddq->vgate)[k];
    }
    int b = q_ddq_bits(&f.q, fx_p(&f));
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
     * would close the top gates, docs/METHODS.md section 9) */
    b = gate_descent(8, 0, &l0, &l1);
    ck_assert_msg(b == 8 && l1 == l0, "reconstruction: 8 -> %d bits, loss %g -> %g", b, l0, l1);
    b = gate_descent(8, 1, &l0, &l1);
    ck_assert_msg(b == 2 && l1 == 0.0, "2-bit target: 8 -> %d bits, loss %g -> %g", b, l0, l1);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_ddq_grad");
    TCase *tc = tcase_create("ddq_grad");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_range_fd);
    tcase_add_test(tc, test_warp_fd);
    tcase_add_test(tc, test_level_grad);
    tcase_add_test(tc, test_gate_grad_is_flip);
    tcase_add_test(tc, test_gate_toys);
    suite_add_tcase(s, tc);
    return s;
}
