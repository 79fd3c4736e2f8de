/* ddq_math.c: DDQ's gate rule and level warp on plain arrays (ddq.h,
 * docs/METHODS.md section 9). */
#include <math.h>

#include "quant/ddq.h"

int q_ddq_gate_bits(const float *theta, int ngate, int min_bits)
{
    int b = min_bits;
    for (int k = 0; k < ngate && theta[k] >= 0.0f; k++)
        b++;
    return b;
}

float q_ddq_gate_slope(float theta, float tau)
{
    if (tau == 0.0f)
        return 1.0f;
    float s = 1.0f / (1.0f + expf(-theta / tau));
    return 4.0f * s * (1.0f - s);
}

void q_ddq_gate_grad(const float *theta, int ngate, float tau, const double *delta, float *g)
{
    for (int k = 0; k < ngate; k++) /* the value of bit min_bits + k + 1 */
        g[k] += q_ddq_gate_slope(theta[k], tau) * (float)(delta[k + 1] - delta[k]);
}

/* pi = softmax(phi); cum[k] = pi_0 + ... + pi_{k-1} */
static void warp_weights(const float *phi, int knots, double *pi, double *cum)
{
    float mx = phi[0];
    for (int k = 1; k < knots; k++)
        mx = fmaxf(mx, phi[k]);
    double sum = 0.0;
    for (int k = 0; k < knots; k++)
        sum += pi[k] = exp((double)(phi[k] - mx));
    double c = 0.0;
    for (int k = 0; k < knots; k++) {
        pi[k] /= sum;
        cum[k] = c;
        c += pi[k];
    }
}

/* t in [0, 1] lies in piece *k at fraction *frac of it */
static void warp_piece(int c, int nlev, int knots, int *k, double *frac)
{
    double u = nlev > 1 ? (double)c * knots / (nlev - 1) : 0.0;
    int i = (int)u;
    *k = i < knots ? i : knots - 1;
    *frac = u - *k;
}

void q_ddq_warp_levels(const float *phi, int knots, int nlev, int lo, int hi, float *pos,
                       int32_t *lv)
{
    double pi[Q_DDQ_MAX_KNOTS], cum[Q_DDQ_MAX_KNOTS];
    warp_weights(phi, knots, pi, cum);
    double extra = (double)(hi - lo - (nlev - 1));
    for (int c = 0; c < nlev; c++) {
        int k;
        double frac;
        warp_piece(c, nlev, knots, &k, &frac);
        double p = lo + c + extra * (cum[k] + frac * pi[k]);
        /* gaps of at least one fine level survive rounding; the clamp only
         * absorbs the sums' last-bit error at the ends */
        double v = floor(p + 0.5), vlo = lo + c, vhi = hi - (nlev - 1 - c);
        if (pos)
            pos[c] = (float)p;
        lv[c] = (int32_t)(v < vlo ? vlo : (v > vhi ? vhi : v));
    }
}

void q_ddq_warp_vjp(const float *phi, int knots, int nlev, int lo, int hi, const float *dpos,
                    float *dphi)
{
    double pi[Q_DDQ_MAX_KNOTS], cum[Q_DDQ_MAX_KNOTS];
    double whole[Q_DDQ_MAX_KNOTS] = {0}, part[Q_DDQ_MAX_KNOTS] = {0};
    warp_weights(phi, knots, pi, cum);
    double extra = (double)(hi - lo - (nlev - 1));
    /* G(t) = cum[k] + frac pi[k]: dG/dpi_i = 1 for i < k, frac for i = k */
    for (int c = 0; c < nlev; c++) {
        int k;
        double frac, g = extra * dpos[c];
        warp_piece(c, nlev, knots, &k, &frac);
        whole[k] += g;
        part[k] += g * frac;
    }
    double gam[Q_DDQ_MAX_KNOTS], above = 0.0, mean = 0.0;
    for (int i = knots - 1; i >= 0; i--) {
        gam[i] = above + part[i];
        above += whole[i];
        mean += pi[i] * gam[i];
    }
    for (int i = 0; i < knots; i++) /* softmax: dpi_i/dphi_j = pi_i (delta_ij - pi_j) */
        dphi[i] += (float)(pi[i] * (gam[i] - mean));
}
