/* ddq.h: DDQ, differentiable dynamic quantization (Zhang et al., ICML 2021),
 * as kind Q_KIND_DDQ of the quantizer table (quantizer.h). The formulation
 * is qadapt's own; docs/METHODS.md section 9 gives its equations and
 * gradient rules. In brief:
 *
 * The slot's width B (the layer's only plan candidate, or its pinned width)
 * is the maximum width; its grid of 2^B levels is the "fine" grid. Each
 * quantizer learns (NN_PARAM_QUANT views, no weight decay):
 *   "<layer>.<w|a>_range.b<B>" (nch)  the range R of each step. At precision
 *       b the step is s_b = R / rho_b, rho_b = 2^(b-1) for signed data and
 *       2^b after ReLU, and the codes are LSQ's [-qn_b, qp_b]: the levels of
 *       every precision are a subset of the fine levels (s_b = 2^(B-b) s_B).
 *       R is learned as LSQ's step (q_logscale), its gradient scaled so that
 *       at a fixed precision R moves exactly as LSQ's step at that width.
 *   "<layer>.<w|a>_gate.b<B>" (B - min_bits)  gate logits theta: gate k
 *       (0-based) is open when theta_k >= 0 and refines precision
 *       min_bits + k to min_bits + k + 1; the precision b is min_bits plus
 *       the number of leading open gates (a gate counts only while every
 *       gate below it is open), i.e. the number of open gates when the
 *       min_bits always-open ones are counted. Binary forward; backward the
 *       sigmoid straight-through slope 4 sig(theta/tau)(1 - sig(theta/tau))
 *       (1 when tau = 0) times the value of the gate's bit, L_{min+k+1} -
 *       L_{min+k}, the loss at each precision j estimated around the current
 *       output Q_b (dy = dL/dx_hat, e = x_hat - x):
 *         L_j - L_b ~ <dy, Q_j - Q_b> + kappa/2 |Q_j - Q_b|^2,
 *         kappa = max(0, <dy, e> / |e|^2),
 *       kappa the curvature along the quantization error, measured by the
 *       same backward (a negative estimate is noise at high precision and
 *       would shut the lowest gate at once). Exact for a loss quadratic in
 *       x_hat with its minimum at x, where the first-order term alone has
 *       the wrong sign for closing a gate (docs/METHODS.md section 9). Every gate learns, also above
 *       a closed one, so no logit goes stale; for the top open gate and the
 *       first closed one the value is the change of flipping them. Pinned
 *       quantizers have no gates.
 *   "<layer>.<w|a>_level.b<B>" (knots)  adaptive resolution only: logits of
 *       a monotone piecewise-linear warp G: [0,1] -> [0,1] (G' = softmax).
 *       The K = 2^b levels sit at the fine codes nearest to
 *       P_c = lo_b + c + (hi_b - lo_b - K + 1) G(c / (K - 1)), c = 0..K-1,
 *       lo_b = -qn_b 2^(B-b), hi_b = qp_b 2^(B-b): strictly increasing,
 *       ends fixed at the uniform grid's ends (so the range stays R's), and
 *       uniform when G(t) = t (phi = 0) or b = B. Each fine level belongs to
 *       the nearest used level: the monotone assignment of fine levels to
 *       coarse ones.
 * x_hat is the level nearest to x (ties away from zero, as roundf), so the
 * uniform case is LSQ's quantizer at b bits with step s_b, exactly.
 *
 * Range floor (weights only, range_floor = c > 0): the forward pass uses
 * max(R, c mean|w|), mean|w| over the step's latent weights at this batch.
 * R alone can run away toward 0 at a fixed precision (the batch-norm
 * running statistics then lag the shrinking weights, docs/METHODS.md
 * section 9); the floor bounds that. While the floor holds, dL/dR = 0 (R
 * does not reach the output) and the weights' gradient takes the floor as
 * a constant (no path through mean|w|), as LSQ's initial step is.
 *
 * State (NN_PARAM_BUFFER "<layer>.<w|a>_state.b<B>"): Q_ST_INIT and the
 * reference (initial) range of each step. At the first batch: R = rho_r
 * LSQ's step at r = range_bits (so at precision r it starts as LSQ does),
 * the gates open up to init_bits, nested (q_ddq_set_bits), phi = 0.
 *
 * Deliberately not here: choosing targets and schedules, logging (the
 * method), and the cost model itself (cost.h). */
#ifndef Q_DDQ_H
#define Q_DDQ_H

#include <stdint.h>

#include "quant/qnet.h"
#include "quant/quantizer.h"

#define Q_DDQ_NPREC (Q_BITS_MAX - Q_BITS_MIN + 1) /* precisions a gate set spans at most */

struct q_ddq {
    int max_bits, min_bits; /* B and the lowest precision */
    int ngate;              /* learned gates, B - min_bits (0 when pinned) */
    int init_bits, range_bits;
    float gate_init, tau;
    int curvature;          /* second-order flip estimate (above) */
    int knots;
    float floor;            /* range floor in mean |w| (weights only; 0: none) */
    q_domain dom;
    int vgate, vlevel;      /* views of theta (ngate) and phi (knots), -1 if none */
    int bits;               /* precision of the current call (set by resolve) */
    int ncell, alo;         /* cells [alo + i, alo + i + 1) of a = 2 x / s_B */
    float *val;             /* (B - min_bits + 1, ncell) nearest level of each cell per
                               precision, in fine codes */
    float *dval;            /* the same minus the current precision's: Q_j - Q_b */
    uint8_t *idx;           /* (ncell) index of that level at the current precision */
    int32_t *lv;            /* (2^B) the current levels, fine codes, ascending */
    float *sfine;           /* (nch) s_B of each step, from the forward range */
    uint8_t *clamped;       /* (nch) the forward range is the floor, not R */
    float *amean;           /* (nch) mean |w| of each step's rows (the floor's scale) */
    int nshares;            /* nn_par shares part is sized for */
    size_t stride;          /* doubles per share in part: nch + 2 Q_DDQ_NPREC + 2 + 2^B */
    double *part;           /* (nshares, stride) backward's per-share sums: the range
                               sum of each step, the flip sums of each precision (P_DEL, P_SQ),
                               the curvature's (P_CURV), dL/dP of each level (P_LEV) */
};

/* ---- the quantizer's learned precision, range and levels ---- */

/* Realised precision: a DDQ quantizer's open gates (from its parameters, so
 * valid before any forward), any other kind's width (32 = not quantized). */
int q_ddq_bits(const q_quant *q, const nn_params *p);
/* Range R of step c (0 before the first batch; 0 for other kinds). */
float q_ddq_range(const q_quant *q, const nn_params *p, int c);
/* The 2^b levels at the realised precision as fractions of R (signed data in
 * [-1, 1), after ReLU in [0, 1)), ascending; returns their number (0 for
 * other kinds). out holds 2^B floats. */
int q_ddq_levels(const q_quant *q, const nn_params *p, float *out);
/* Sets the gate logits so that the precision is bits (clamped to the gates'
 * span), nested like the gates: the j-th open gate below the boundary at
 * +j gate_init, the j-th closed one above it at -j gate_init. So a push
 * every gate shares (a cost's) flips them one at a time, the nearest to
 * the boundary first, rather than all at once. */
void q_ddq_set_bits(const q_quant *q, const nn_params *p, int bits);
/* Adds d/dtheta of a function f of the precision to the gate gradients,
 * given df/db (f linear in b, as a cost is for one side): the gate rule
 * with L_j - L_b = (j - b) df/db, i.e. slope df/db on every gate. */
void q_ddq_bits_grad(const q_quant *q, const nn_params *p, double df_db);

/* ---- the lookup-table view of the levels (non-uniform reference) ---- */

/* Level index (0..2^b - 1) of every element and the fine step s_B of each
 * row: x_hat = lut[index] * scale[row]. Uniform or not. */
void q_ddq_index_codes(const q_quant *q, int32_t *ix, float *scale, const float *x,
                       const q_rows *rows);
/* The current levels as fine codes into lut (2^B entries); returns 2^b. */
int q_ddq_lut(const q_quant *q, int32_t *lut);

/* ---- the maths, on plain arrays (tested on their own) ---- */

/* min_bits + the number of leading theta >= 0 */
int q_ddq_gate_bits(const float *theta, int ngate, int min_bits);
/* d gate / d theta of the relaxation: 4 sig(theta/tau)(1 - sig(theta/tau)), 1 if tau = 0 */
float q_ddq_gate_slope(float theta, float tau);
/* g (ngate) += dL/dtheta from delta[j - min_bits] = L_j - L_b, the loss at
 * precision j (as estimated) minus its value at the current b, for every j
 * in min_bits..B: gate k gets slope (L_{min+k+1} - L_{min+k}), the value of
 * its own bit, open, closed or above a closed gate alike. */
void q_ddq_gate_grad(const float *theta, int ngate, float tau, const double *delta, float *g);
/* The nlev levels between fine codes lo and hi under warp phi (knots):
 * pos (nlev, nullable) the positions P_c, lv (nlev) the fine codes used. */
void q_ddq_warp_levels(const float *phi, int knots, int nlev, int lo, int hi, float *pos,
                       int32_t *lv);
/* dphi (knots) += d/dphi of sum_c dpos[c] P_c */
void q_ddq_warp_vjp(const float *phi, int knots, int nlev, int lo, int hi, const float *dpos,
                    float *dphi);

/* ---- a network's view (q_net): the cost model's widths and the penalty ---- */

typedef struct {
    int wbits, abits;    /* realised precision of the weights and the layer's input */
    float wrange, arange; /* R (weights per channel: the mean), 0 for other kinds */
} q_ddq_layer_stat;

/* Every wrapped layer (cost-model order), each running one slot (the only
 * candidate or its pinned width). */
void q_ddq_net_stats(const q_net *qn, const nn_params *p, q_ddq_layer_stat *out);
/* The realised widths of the planned layers, by plan row, into wbits and
 * abits (nplanned each), and the cost per sample they make (pinned layers
 * at theirs). */
q_cost q_ddq_net_cost(const q_net *qn, const nn_params *p, int *wbits, int *abits);
/* The penalty of cost.h at the planned layers' realised widths (pinned ones
 * at theirs); its derivative reaches the gates of every planned DDQ
 * quantizer (added to their gradients). *ratio (nullable) gets the cost
 * ratio. */
double q_ddq_net_penalty(const q_net *qn, const nn_params *p, const q_penalty *pen,
                         double *ratio);
/* Fits the realised widths into the budget (a rounding of the relaxed
 * gates): while the cost ratio exceeds pen->target, closes the top open
 * gate with the smallest logit among the planned DDQ quantizers whose
 * one-bit drop lowers the cost (its logit set to -gate_init: that side
 * loses one bit, the logits below keep what they learned). Returns the gates closed; *ratio (nullable) the final
 * ratio, above the target only when no gate is left to close. */
int q_ddq_net_fit(const q_net *qn, const nn_params *p, const q_penalty *pen, double *ratio);

#endif
