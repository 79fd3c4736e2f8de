/* test_fake_quant.c: the quantizers on hand-made tensors.
 * Known answers (codes and dequantised values) at 2, 3, 4, 8 bits for LSQ,
 * PACT, DoReFa (weights and activations), min-max and EMA; rounding half
 * away from zero; idempotence; code range; LSQ initialisation; the bits =
 * 32 bypass; weighted (soft-mode) backward; rows split over threads;
 * config parsing errors.
 * Finite differences are in test_quant_fd.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/par.h"
#include "qfixture.h"

#define WIDTHS QF_WIDTHS

static void expect_codes(const int32_t *got, const int *want, int n, const char *what, int bits)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "%s %d bits, element %d: code %d, expected %d", what,
                      bits, i, got[i], want[i]);
}

/* signed LSQ, s = 0.5: v = x/s = -2.6 -1.6 -0.5 -0.4 0 0.48 0.5 1.2 2 6
 * round half away: -3 -2 -1 0 0 0 1 1 2 6, then clip to [-2^(b-1), 2^(b-1)-1] */
START_TEST(test_lsq_signed_known)
{
    static const float x[10] = {-1.3f, -0.8f, -0.25f, -0.2f, 0.0f, 0.24f, 0.25f, 0.6f, 1.0f, 3.0f};
    static const int want[4][10] = {
        {-2, -2, -1, 0, 0, 0, 1, 1, 1, 1},
        {-3, -2, -1, 0, 0, 0, 1, 1, 2, 3},
        {-3, -2, -1, 0, 0, 0, 1, 1, 2, 6},
        {-3, -2, -1, 0, 0, 0, 1, 1, 2, 6},
    };
    for (int b = 0; b < 4; b++) {
        fixture f;
        fx_make(&f, Q_KIND_LSQ, Q_SIDE_W, Q_DOM_SIGNED, WIDTHS[b], 1, 10);
        fx_set(&f, 0.5f);
        float y[10];
        int32_t c[10];
        fx_run(&f, x, 10, y, c, 1);
        expect_codes(c, want[b], 10, "lsq signed", WIDTHS[b]);
        for (int i = 0; i < 10; i++)
            ck_assert_float_eq(y[i], 0.5f * (float)want[b][i]);
        fx_free(&f);
    }
}
END_TEST

/* unsigned LSQ, s = 0.5: v = 0 0.4 0.5 1.48 1.5 2.6 3.2 10 -2
 * round: 0 0 1 1 2 3 3 10 -2, clip to [0, 2^b - 1] */
START_TEST(test_lsq_unsigned_known)
{
    static const float x[9] = {0.0f, 0.2f, 0.25f, 0.74f, 0.75f, 1.3f, 1.6f, 5.0f, -1.0f};
    static const int want[4][9] = {
        {0, 0, 1, 1, 2, 3, 3, 3, 0},
        {0, 0, 1, 1, 2, 3, 3, 7, 0},
        {0, 0, 1, 1, 2, 3, 3, 10, 0},
        {0, 0, 1, 1, 2, 3, 3, 10, 0},
    };
    for (int b = 0; b < 4; b++) {
        fixture f;
        fx_make(&f, Q_KIND_LSQ, Q_SIDE_A, Q_DOM_UNSIGNED, WIDTHS[b], 1, 9);
        fx_set(&f, 0.5f);
        float y[9];
        int32_t c[9];
        fx_run(&f, x, 9, y, c, 1);
        expect_codes(c, want[b], 9, "lsq unsigned", WIDTHS[b]);
        fx_free(&f);
    }
}
END_TEST

/* PACT with alpha = 0.25 (2^b - 1), so s = 0.25 exactly:
 * v = 4x = -4 0.4 0.5 1.2 2.4 3.6 7.2 400 -> round -4 0 1 1 2 4 7 400 -> clip */
START_TEST(test_pact_known)
{
    static const float x[8] = {-1.0f, 0.1f, 0.125f, 0.3f, 0.6f, 0.9f, 1.8f, 100.0f};
    static const int want[4][8] = {
        {0, 0, 1, 1, 2, 3, 3, 3},
        {0, 0, 1, 1, 2, 4, 7, 7},
        {0, 0, 1, 1, 2, 4, 7, 15},
        {0, 0, 1, 1, 2, 4, 7, 255},
    };
    for (int b = 0; b < 4; b++) {
        fixture f;
        fx_make(&f, Q_KIND_PACT, Q_SIDE_A, Q_DOM_UNSIGNED, WIDTHS[b], 1, 8);
        fx_set(&f, 0.25f * (float)((1 << WIDTHS[b]) - 1));
        float y[8];
        int32_t c[8];
        fx_run(&f, x, 8, y, c, 1);
        expect_codes(c, want[b], 8, "pact", WIDTHS[b]);
        ck_assert_float_eq(y[7], fx_param(&f)[0]); /* clipped at alpha */
        fx_free(&f);
    }
}
END_TEST

/* DoReFa activations: s = 1/(2^b - 1), clip [0, 1]. v = (2^b - 1) x:
 *  b=2: -1.5 .21 .63 1.35 2.64 4.5    -> 0 0 1 1 3 3
 *  b=3: -3.5 .49 1.47 3.15 6.16 10.5  -> 0 0 1 3 6 7
 *  b=4: -7.5 1.05 3.15 6.75 13.2 22.5 -> 0 1 3 7 13 15
 *  b=8: -127.5 17.85 53.55 114.75 224.4 382.5 -> 0 18 54 115 224 255 */
START_TEST(test_dorefa_act_known)
{
    static const float x[6] = {-0.5f, 0.07f, 0.21f, 0.45f, 0.88f, 1.5f};
    static const int want[4][6] = {
        {0, 0, 1, 1, 3, 3}, {0, 0, 1, 3, 6, 7}, {0, 1, 3, 7, 13, 15}, {0, 18, 54, 115, 224, 255}};
    for (int b = 0; b < 4; b++) {
        fixture f;
        fx_make(&f, Q_KIND_DOREFA, Q_SIDE_A, Q_DOM_UNSIGNED, WIDTHS[b], 1, 6);
        float y[6];
        int32_t c[6];
        fx_run(&f, x, 6, y, c, 1);
        expect_codes(c, want[b], 6, "dorefa act", WIDTHS[b]);
        ck_assert_float_eq(y[5], 1.0f);
        fx_free(&f);
    }
}
END_TEST

/* DoReFa weights with tanh(w) = -0.8 -0.3 0 0.1 0.45 0.8, M = 0.8:
 * u = t/1.6 + 0.5 = 0 .3125 .5 .5625 .78125 1; k = round(u n), n = 2^b - 1;
 * code = 2k - n. u n = 0.5 n is a tie, broken away from zero (up).
 *  b=2 (n=3):   0 .9375 1.5 1.6875 2.34375 3        -> k 0 1 2 2 2 3
 *  b=3 (n=7):   0 2.1875 3.5 3.9375 5.46875 7       -> k 0 2 4 4 5 7
 *  b=4 (n=15):  0 4.6875 7.5 8.4375 11.71875 15     -> k 0 5 8 8 12 15
 *  b=8 (n=255): 0 79.6875 127.5 143.4375 199.21875 255 -> k 0 80 128 143 199 255 */
START_TEST(test_dorefa_weight_known)
{
    static const double t[6] = {-0.8, -0.3, 0.0, 0.1, 0.45, 0.8};
    static const int want[4][6] = {{-3, -1, 1, 1, 1, 3},
                                   {-7, -3, 1, 1, 3, 7},
                                   {-15, -5, 1, 1, 9, 15},
                                   {-255, -95, 1, 31, 143, 255}};
    float w[6];
    for (int i = 0; i < 6; i++)
        w[i] = (float)atanh(t[i]);
    for (int b = 0; b < 4; b++) {
        fixture f;
        fx_make(&f, Q_KIND_DOREFA, Q_SIDE_W, Q_DOM_SIGNED, WIDTHS[b], 1, 6);
        float y[6];
        int32_t c[6];
        fx_run(&f, w, 6, y, c, 1);
        expect_codes(c, want[b], 6, "dorefa weight", WIDTHS[b]);
        float n = (float)((1 << WIDTHS[b]) - 1);
        for (int i = 0; i < 6; i++)
            ck_assert_float_eq_tol(y[i], (float)want[b][i] / n, 1e-7f);
        fx_free(&f);
    }
}
END_TEST

/* min-max weights, max|w| = 1, s = 1/Qp: v = Qp w
 *  b=2 (Qp=1):   -1 -.45 .1 .3 .7          -> -1 0 0 0 1
 *  b=3 (Qp=3):   -3 -1.35 .3 .9 2.1        -> -3 -1 0 1 2
 *  b=4 (Qp=7):   -7 -3.15 .7 2.1 4.9       -> -7 -3 1 2 5
 *  b=8 (Qp=127): -127 -57.15 12.7 38.1 88.9 -> -127 -57 13 38 89 */
START_TEST(test_minmax_weight_known)
{
    static const float w[5] = {-1.0f, -0.45f, 0.1f, 0.3f, 0.7f};
    static const int want[4][5] = {
        {-1, 0, 0, 0, 1}, {-3, -1, 0, 1, 2}, {-7, -3, 1, 2, 5}, {-127, -57, 13, 38, 89}};
    for (int b = 0; b < 4; b++) {
        fixture f;
        fx_make(&f, Q_KIND_MINMAX, Q_SIDE_W, Q_DOM_SIGNED, WIDTHS[b], 1, 5);
        float y[5];
        int32_t c[5];
        fx_run(&f, w, 5, y, c, 1);
        expect_codes(c, want[b], 5, "minmax weight", WIDTHS[b]);
        fx_free(&f);
    }
}
END_TEST

/* Per-channel min-max: each row gets its own step. */
START_TEST(test_minmax_per_channel)
{
    static const float w[6] = {-2.0f, 1.0f, 0.5f, 0.1f, -0.05f, 0.02f};
    fixture f;
    fx_make(&f, Q_KIND_MINMAX, Q_SIDE_W, Q_DOM_SIGNED, 4, 2, 3);
    q_rows r = {3, NULL, 2};
    q_quant_resolve(&f.q, &f.net->params, w, &r, 1);
    ck_assert_float_eq(f.q.s[0], 2.0f / 7.0f);
    ck_assert_float_eq(f.q.s[1], 0.1f / 7.0f);
    float y[6];
    q_quant_forward(&f.q, y, w, &r);
    ck_assert_float_eq(y[0], -7.0f * f.q.s[0]);
    ck_assert_float_eq(y[3], 7.0f * f.q.s[1]);
    fx_free(&f);
}
END_TEST

/* Activation calibration: min-max keeps the largest batch max for
 * evaluation; EMA (m = 0.9) of batch maxima 2 and 4 is 2.2. */
START_TEST(test_calibration_state)
{
    float b1[3] = {0.5f, -2.0f, 1.0f}, b2[3] = {4.0f, 0.0f, 1.0f}, y[3];
    int32_t c[3];
    fixture f;
    fx_make(&f, Q_KIND_MINMAX, Q_SIDE_A, Q_DOM_SIGNED, 8, 1, 3);
    fx_run(&f, b1, 3, y, c, 1);
    ck_assert_float_eq(f.q.s[0], 2.0f / 127.0f);
    fx_run(&f, b2, 3, y, c, 1);
    fx_run(&f, b1, 3, y, c, 0);
    ck_assert_float_eq(f.q.s[0], 4.0f / 127.0f);
    fx_free(&f);
    fx_make(&f, Q_KIND_EMA, Q_SIDE_A, Q_DOM_UNSIGNED, 4, 1, 3);
    fx_run(&f, b1, 3, y, c, 1);
    ck_assert_float_eq(f.q.s[0], 2.0f / 15.0f);
    fx_run(&f, b2, 3, y, c, 1);
    ck_assert_float_eq_tol(fx_state(&f)[Q_ST_EMA], 2.2f, 1e-6f);
    fx_run(&f, b2, 3, y, c, 0); /* evaluation leaves the EMA alone */
    ck_assert_float_eq_tol(fx_state(&f)[Q_ST_EMA], 2.2f, 1e-6f);
    fx_free(&f);
}
END_TEST

/* LSQ's first-batch init: s = 2 mean|x| / sqrt(Qp); later batches keep it. */
START_TEST(test_lsq_init)
{
    float x[4] = {1.0f, -3.0f, 0.5f, -1.5f}, y[4]; /* mean |x| = 1.5 */
    int32_t c[4];
    fixture f;
    fx_make(&f, Q_KIND_LSQ, Q_SIDE_A, Q_DOM_SIGNED, 4, 1, 4);
    fx_run(&f, x, 4, y, c, 1);
    ck_assert_float_eq_tol(fx_param(&f)[0], 3.0f / sqrtf(7.0f), 1e-6f);
    ck_assert_float_eq(fx_state(&f)[Q_ST_INIT], 1.0f);
    float x2[4] = {10, 10, 10, 10};
    fx_run(&f, x2, 4, y, c, 1);
    ck_assert_float_eq_tol(fx_param(&f)[0], 3.0f / sqrtf(7.0f), 1e-6f);
    fx_free(&f);
    fx_make(&f, Q_KIND_PACT, Q_SIDE_A, Q_DOM_UNSIGNED, 4, 1, 4);
    fx_run(&f, x, 4, y, c, 0);
    ck_assert_float_eq(fx_param(&f)[0], 8.0f); /* default quant.pact_alpha */
    fx_free(&f);
}
END_TEST

/* round half away from zero, symmetric in sign, and the integer-valued path */
START_TEST(test_round_half_away)
{
    static const float v[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, -0.49999997f};
    static const int want[8] = {1, 2, 3, -1, -2, -3, 0, 0};
    int32_t c[8];
    q_fq_codes(c, v, 8, 1.0f, q_range_make(8, Q_DOM_SIGNED));
    expect_codes(c, want, 8, "round", 8);
    float big[40], y[40]; /* long enough for the vectorised loop body */
    for (int i = 0; i < 40; i++)
        big[i] = (float)(i - 20) + 0.5f;
    q_fq_forward(y, big, 40, 1.0f, q_range_make(8, Q_DOM_SIGNED));
    for (int i = 0; i < 40; i++)
        ck_assert_float_eq(y[i], big[i] > 0 ? big[i] + 0.5f : big[i] - 0.5f);
}
END_TEST

/* Q(Q(x)) = Q(x) and codes in range, every width and domain, random data */
START_TEST(test_idempotent_and_range)
{
    nn_rng rng;
    nn_rng_init(&rng, 3, NN_STREAM_TEST, 1, 0);
    float x[257], y[257], z[257];
    int32_t c[257];
    for (int bits = 2; bits <= 8; bits++)
        for (int dom = 0; dom < 2; dom++) {
            q_range r = q_range_make(bits, (q_domain)dom);
            float s = 0.01f + nn_rng_uniform(&rng);
            for (int i = 0; i < 257; i++)
                x[i] = 3.0f * (float)bits * s * nn_rng_normal(&rng);
            q_fq_forward(y, x, 257, s, r);
            q_fq_forward(z, y, 257, s, r);
            q_fq_codes(c, x, 257, s, r);
            for (int i = 0; i < 257; i++) {
                ck_assert_msg(z[i] == y[i], "%d bits: Q(Q(x)) %g != Q(x) %g", bits, z[i], y[i]);
                ck_assert(c[i] >= -(int)r.qn && c[i] <= (int)r.qp);
                ck_assert(y[i] >= -r.qn * s && y[i] <= r.qp * s);
            }
        }
}
END_TEST

/* bits = 32 is the identity forward and an unmasked backward. */
START_TEST(test_bits_off)
{
    fixture f;
    fx_make(&f, Q_KIND_LSQ, Q_SIDE_A, Q_DOM_UNSIGNED, Q_BITS_OFF, 1, 3);
    ck_assert_int_eq(f.q.vparam, -1);
    float x[3] = {-1.25f, 0.3f, 1e6f}, y[3], dx[3], dy[3] = {1, 2, 3}, wt = 0.5f, dot;
    q_rows r = {3, NULL, 1};
    q_quant_resolve(&f.q, &f.net->params, x, &r, 1);
    q_quant_forward(&f.q, y, x, &r);
    q_quant_backward(&f.q, &f.net->params, dx, dy, x, &r, &wt, 0, &dot);
    for (int i = 0; i < 3; i++) {
        ck_assert_float_eq(y[i], x[i]);
        ck_assert_float_eq(dx[i], 0.5f * dy[i]);
    }
    ck_assert_float_eq_tol(dot, -1.25f + 0.6f + 3e6f, 1.0f);
    fx_free(&f);
}
END_TEST

/* Weighted backward (soft mode): dx and the step gradient scale with wt,
 * the returned dot product <dy, x_hat> does not. */
START_TEST(test_weighted_backward)
{
    fixture f;
    fx_make(&f, Q_KIND_LSQ, Q_SIDE_A, Q_DOM_UNSIGNED, 4, 1, 3);
    fx_set(&f, 0.5f);
    float x[6] = {0.3f, 1.2f, 9.0f, 0.3f, 1.2f, 9.0f}, dy[6] = {1, 1, 1, 1, 1, 1}, dx[6];
    float wt[2] = {0.25f, 0.75f}, dot[2];
    q_rows r = {3, NULL, 2};
    q_quant_resolve(&f.q, &f.net->params, x, &r, 1);
    q_quant_backward(&f.q, &f.net->params, dx, dy, x, &r, wt, 0, dot);
    /* x_hat = 0.5, 1.0, 7.5 */
    ck_assert_float_eq(dot[0], 9.0f);
    ck_assert_float_eq(dot[1], 9.0f);
    ck_assert_float_eq(dx[0], 0.25f);
    ck_assert_float_eq(dx[3], 0.75f);
    ck_assert_float_eq(dx[2], 0.0f); /* clipped */
    /* LSQ: (round(.6)-.6) + (round(2.4)-2.4) + Qp = 0.4 - 0.4 + 15 per row */
    float g = nn_params_grad(&f.net->params, f.q.vparam)[0] / f.q.gscale;
    ck_assert_float_eq_tol(g, 15.0f, 1e-4f);
    fx_free(&f);
}
END_TEST

/* Activation rows split into nn's shares: values, dx and the step gradient
 * identical at 1, 2 and 4 threads; the step gradient moves with the share
 * count (so the comparison sees a split that follows the threads). */
static void run_rows(int threads, int shares, const float *x, const float *dy, float *y,
                     float *dx, float *g)
{
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(threads, &err), QA_OK);
    ck_assert_int_eq(nn_par_set_shares(shares, &err), QA_OK);
    fixture f;
    fx_make(&f, Q_KIND_LSQ, Q_SIDE_A, Q_DOM_UNSIGNED, 3, 1, 1024);
    fx_set(&f, 0.3f);
    q_rows r = {1024, NULL, 64};
    float wt[64];
    for (int i = 0; i < 64; i++)
        wt[i] = 0.5f + (float)i / 64.0f;
    q_quant_resolve(&f.q, &f.net->params, x, &r, 1);
    q_quant_forward(&f.q, y, x, &r);
    q_quant_backward(&f.q, &f.net->params, dx, dy, x, &r, wt, 0, NULL);
    *g = nn_params_grad(&f.net->params, f.q.vparam)[0];
    fx_free(&f);
}

START_TEST(test_threads)
{
    size_t n = 64 * 1024;
    float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy);
    float *y[4], *dx[4], g[4];
    nn_rng r;
    nn_rng_init(&r, 9, NN_STREAM_TEST, 6, 0);
    for (size_t i = 0; i < n; i++) {
        x[i] = 2.0f * nn_rng_uniform(&r);
        dy[i] = nn_rng_normal(&r);
    }
    static const int threads[4] = {1, 2, 4, 2}, shares[4] = {8, 8, 8, 1};
    for (int k = 0; k < 4; k++) {
        y[k] = malloc(n * sizeof *y[k]);
        dx[k] = malloc(n * sizeof *dx[k]);
        run_rows(threads[k], shares[k], x, dy, y[k], dx[k], &g[k]);
    }
    for (int k = 1; k < 4; k++) {
        ck_assert_mem_eq(y[0], y[k], n * sizeof *y[0]);
        ck_assert_mem_eq(dx[0], dx[k], n * sizeof *dx[0]);
    }
    ck_assert_mem_eq(&g[0], &g[1], sizeof g[0]);
    ck_assert_mem_eq(&g[0], &g[2], sizeof g[0]);
    ck_assert_mem_ne(&g[0], &g[3], sizeof g[0]);
    ck_assert_float_eq_tol(g[0], g[3], 1e-5f * fabsf(g[0]));
    qa_err err;
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
    ck_assert_int_eq(nn_par_set_shares(NN_PAR_DEFAULT_SHARES, &err), QA_OK);
    for (int k = 0; k < 4; k++)
        free(y[k]), free(dx[k]);
    free(x);
    free(dy);
}
END_TEST

START_TEST(test_cfg_parse)
{
    q_cfg c;
    qa_err err;
    q_cfg_defaults(&c);
    ck_assert_int_eq(q_cfg_check(&c, &err), QA_OK);
    ck_assert_int_eq(q_cfg_parse_cand(&c, "2, 4,8", &err), QA_OK);
    ck_assert_int_eq(c.ncand, 3);
    ck_assert_int_eq(c.cand[2], 8);
    ck_assert_int_eq(q_cfg_parse_cand(&c, "4,2", &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "ascending"));
    ck_assert_int_eq(q_cfg_parse_cand(&c, "2,9", &err), QA_ERR_CONFIG);
    ck_assert_int_eq(q_cfg_parse_cand(&c, "2,x", &err), QA_ERR_CONFIG);
    ck_assert_int_eq(q_cfg_parse_cand(&c, "", &err), QA_ERR_CONFIG);
    ck_assert_int_eq(q_cfg_parse_layer_bits(&c, "8, 4:2,32", &err), QA_OK);
    ck_assert_int_eq(c.nlayer_bits, 3);
    ck_assert_int_eq(c.layer_wbits[1], 4);
    ck_assert_int_eq(c.layer_abits[1], 2);
    ck_assert_int_eq(c.layer_abits[2], 32);
    ck_assert_int_eq(q_cfg_parse_layer_bits(&c, "8;4", &err), QA_ERR_CONFIG);
    ck_assert_int_eq(q_cfg_parse_layer_bits(&c, "1", &err), QA_ERR_CONFIG);
    c.w_kind = Q_KIND_PACT;
    ck_assert_int_eq(q_cfg_check(&c, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "w_quantizer"));
    q_cfg_defaults(&c);
    c.first_bits = 9;
    ck_assert_int_eq(q_cfg_check(&c, &err), QA_ERR_CONFIG);
    q_cfg_defaults(&c);
    c.soft_keep = 2; /* candidate pruning: tied plans only */
    c.tied = 0;
    ck_assert_int_eq(q_cfg_check(&c, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "tied"));
    c.tied = 1;
    ck_assert_int_eq(q_cfg_check(&c, &err), QA_OK);
    ck_assert_int_eq(q_kind_from_name("dorefa"), Q_KIND_DOREFA);
    ck_assert_int_eq(q_kind_from_name("nope"), -1);
}
END_TEST

START_TEST(test_bad_spec)
{
    nn_net *net;
    qa_err err;
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    ck_assert_int_eq(nn_net_create(&net, 1, 1, 1, 1, &err), QA_OK);
    q_quant q;
    q_quant_spec s = {Q_KIND_PACT, Q_SIDE_W, Q_DOM_SIGNED, 4, 1, 4, 0};
    ck_assert_int_eq(q_quant_init(&q, net, "conv9", &s, &cfg, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "conv9"));
    s.kind = Q_KIND_LSQ;
    s.bits = 1;
    ck_assert_int_eq(q_quant_init(&q, net, "conv9", &s, &cfg, &err), QA_ERR_CONFIG);
    nn_net_free(net);
}
END_TEST
Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_fake_quant");
    TCase *tc = tcase_create("quantizers");
    tcase_add_test(tc, test_lsq_signed_known);
    tcase_add_test(tc, test_lsq_unsigned_known);
    tcase_add_test(tc, test_pact_known);
    tcase_add_test(tc, test_dorefa_act_known);
    tcase_add_test(tc, test_dorefa_weight_known);
    tcase_add_test(tc, test_minmax_weight_known);
    tcase_add_test(tc, test_minmax_per_channel);
    tcase_add_test(tc, test_calibration_state);
    tcase_add_test(tc, test_lsq_init);
    tcase_add_test(tc, test_round_half_away);
    tcase_add_test(tc, test_idempotent_and_range);
    tcase_add_test(tc, test_bits_off);
    tcase_add_test(tc, test_weighted_backward);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_cfg_parse);
    tcase_add_test(tc, test_bad_spec);
    suite_add_tcase(s, tc);
    return s;
}
