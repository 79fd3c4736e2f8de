/* gradcheck.h: finite-difference checks of hand-written gradients, for the
 * tests of every layer here and of quant/ and agent/ layers built on nn.
 *
 * The numeric derivative is the central difference
 *   (L(x + h) - L(x - h)) / |x+ - x-|,  with x+- = fl(x +- eps),
 * taken with the steps actually representable in float, and compared with
 * the analytic one as |a - n| <= atol + rtol * max(|a|, |n|). A tensor of at
 * most max_elems values is checked element by element; a larger one at
 * max_elems random elements and along ndirs random directions
 * d = (+-1, ..., +-1) / sqrt(size), a step of norm eps
 * (a = g . (x+ - x-), n = L(x+) - L(x-), both over 2 eps).
 * Across a kink (ReLU at 0, a tie in max pooling) the central difference
 * averages the two sides while the analytic gradient is one of them; with
 * `kinks` set, a value also passes when it matches either one-sided
 * difference (L(x+) - L(x)) or (L(x) - L(x-)), which keeps tests of ReLU
 * networks meaningful without hand-picking inputs away from every kink.
 * Not here: second derivatives, complex step. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "nn/net.h"
#include "nn/status.h"

typedef struct {
    float eps;     /* 0: 1e-3 */
    float rtol;    /* 0: 1e-2 */
    float atol;    /* 0: 1e-3 */
    int max_elems; /* 0: 64 */
    int ndirs;     /* 0: 4 */
    uint64_t seed; /* picks elements, directions and the projection R */
    int kinks;     /* 1: also accept a one-sided difference (see above) */
} nn_gradcheck_cfg;

typedef struct {
    long nchecked;  /* comparisons made */
    double max_err; /* max of |a - n| / (atol + rtol max(|a|, |n|)); <= 1 passes */
    char worst[160]; /* where max_err was found, with both values */
} nn_gradcheck_result;

/* The loss as a function of whatever the caller perturbs, in double. */
typedef double (*nn_gradcheck_loss)(void *ctx);

/* Checks grad (n) = dL/dx for x (n), which is perturbed in place and
 * restored. `name` labels messages. Updates res (accumulating over calls;
 * zero it first). Returns QA_ERR_NUMERIC with the first failure in err. */
int nn_gradcheck_vec(nn_gradcheck_loss loss, void *ctx, float *x, const float *grad, size_t n,
                     const char *name, const nn_gradcheck_cfg *cfg, nn_gradcheck_result *res,
                     qa_err *err);

/* Checks a finalized net on its current input (n samples) with the loss
 * L = sum(R * y), R a fixed random projection of the output: every
 * trainable parameter view, and the input when net->input_grad was set
 * before finalize. train selects the forward mode. Non-trainable buffers
 * (running statistics) are restored before every evaluation, so the loss is
 * a pure function of the values checked. */
int nn_gradcheck_net(nn_net *net, int n, int train, const nn_gradcheck_cfg *cfg,
                     nn_gradcheck_result *res, qa_err *err);

#endif
