/* test_lsq_step.c: the LSQ step under the optimizer, at 8 bits.
 * The case W8A8 LSQ on `small` failed on (Fashion-MNIST, seed 0): conv1's
 * weight step (N = 144 weights, Qp = 127) had drifted from its initial
 * 0.0284 down to the clipping edge max|w| / Qp; at 0.0081 one clipped weight
 * with dL/dw_hat = +0.18 gave the step a gradient of Qp * 0.18 * g = 0.17,
 * and SGD (lr 0.045, momentum 0.9) took it below zero within two updates.
 * Floored at Q_STEP_MIN, every weight clipped and the layer was lost for
 * the rest of the run. Here the same kick on the same geometry: the step
 * must stay positive and within a factor 4 of where it was. */
#include <math.h>

#include "check_main.h"
#include "nn/optim.h"
#include "qfixture.h"

#define N 144

/* the parameter value whose step is s (the map is increasing; bisection
 * keeps the test independent of how the step is parametrised) */
static void set_step(fixture *f, const float *w, float s)
{
    q_rows r = {N, NULL, 1};
    float lo = -1.0f, hi = 1.0f;
    for (int i = 0; i < 60; i++) {
        fx_param(f)[0] = 0.5f * (lo + hi);
        q_quant_resolve(&f->q, &f->net->params, w, &r, 1);
        if (f->q.s[0] < s)
            lo = fx_param(f)[0];
        else
            hi = fx_param(f)[0];
    }
    fx_param(f)[0] = hi;
    q_quant_resolve(&f->q, &f->net->params, w, &r, 1);
    ck_assert_float_eq_tol(f->q.s[0], s, 1e-6f * s);
}

START_TEST(test_lsq_8bit_edge_kick)
{
    fixture f;
    fx_make(&f, Q_KIND_LSQ, Q_SIDE_W, Q_DOM_SIGNED, 8, 1, N);
    float w[N], dy[N] = {0};
    nn_rng rng;
    nn_rng_init(&rng, 8, NN_STREAM_TEST, 1, 0);
    for (int i = 0; i < N; i++) /* |w| <= 1 but one weight at 1.1 */
        w[i] = fmaxf(-1.0f, fminf(1.0f, 0.2f * nn_rng_normal(&rng)));
    w[0] = 1.1f;
    q_rows r = {N, NULL, 1};
    q_quant_resolve(&f.q, &f.net->params, w, &r, 1); /* LSQ init: 2 mean|w| / sqrt(127) */
    float s0 = f.q.s[0], edge = 1.1f / 127.0f, s = 0.0081f;
    ck_assert_msg(s0 > 3.0f * edge && s0 < 6.0f * edge, "s0 %g, edge %g", s0, edge);
    set_step(&f, w, s); /* w[0] alone clipped */

    nn_optim *o;
    qa_err err;
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.045f, .momentum = 0.9f};
    ck_assert_int_eq(nn_optim_create(&o, &oc, &f.net->params, &err), QA_OK);
    float lo = s;
    for (int t = 0; t < 60; t++) {
        nn_params_zero_grad(&f.net->params);
        q_quant_resolve(&f.q, &f.net->params, w, &r, 1);
        lo = fminf(lo, f.q.s[0]);
        dy[0] = t == 0 ? 0.18f : 0.0f; /* the kick, then momentum alone */
        q_quant_backward(&f.q, &f.net->params, NULL, dy, w, &r, NULL, 0, NULL);
        nn_optim_step(o, oc.lr);
    }
    q_quant_resolve(&f.q, &f.net->params, w, &r, 1);
    lo = fminf(lo, f.q.s[0]);
    ck_assert_msg(lo > 0.25f * s, "step fell from %g to %g (initial %g)", s, lo, s0);
    nn_optim_free(o);
    fx_free(&f);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("lsq_step");
    TCase *tc = tcase_create("lsq_step");
    tcase_add_test(tc, test_lsq_8bit_edge_kick);
    suite_add_tcase(s, tc);
    return s;
}
