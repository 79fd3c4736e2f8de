/* relax.c: see relax.h. Softmaxes subtract the maximum: with a small sigma
 * the logits of far candidates are hugely negative and only underflow. */
#include "agent/relax.h"

#include <math.h>

static void softmax(float *z, int K)
{
    float mx = z[0];
    for (int k = 1; k < K; k++)
        mx = z[k] > mx ? z[k] : mx;
    double s = 0.0;
    for (int k = 0; k < K; k++) {
        z[k] = expf(z[k] - mx);
        s += z[k];
    }
    for (int k = 0; k < K; k++)
        z[k] = (float)(z[k] / s);
}

/* dL/dz_k = p_k (g_k - <p, g>) into dz */
static void softmax_back(const float *p, const float *g, int K, float *dz)
{
    double dot = 0.0;
    for (int k = 0; k < K; k++)
        dot += (double)p[k] * g[k];
    for (int k = 0; k < K; k++)
        dz[k] = p[k] * (float)(g[k] - dot);
}

void agent_dqmq_forward(const float *c, int K, float mu, float sigma, float *p)
{
    float inv = 1.0f / (2.0f * sigma * sigma);
    for (int k = 0; k < K; k++)
        p[k] = -(c[k] - mu) * (c[k] - mu) * inv;
    softmax(p, K);
}

void agent_dqmq_backward(const float *c, int K, float mu, float sigma, const float *p,
                         const float *gp, float *gmu, float *gsigma)
{
    float dz[16];
    softmax_back(p, gp, K, dz);
    double s2 = (double)sigma * sigma, gm = 0.0, gs = 0.0;
    for (int k = 0; k < K; k++) {
        double d = (double)c[k] - mu;
        gm += dz[k] * d / s2;
        gs += dz[k] * d * d / (s2 * sigma);
    }
    *gmu = (float)gm;
    *gsigma = (float)gs;
}

float agent_mu_head(float a, float lo, float hi, float *d)
{
    float t = tanhf(a);
    *d = 0.5f * (hi - lo) * (1.0f - t * t);
    return lo + 0.5f * (hi - lo) * (t + 1.0f);
}

float agent_sigma_head(float b, float smin, float smax, float *d)
{
    float s = 1.0f / (1.0f + expf(-b));
    *d = (smax - smin) * s * (1.0f - s);
    return smin + (smax - smin) * s;
}

void agent_gumbel_noise(nn_rng *r, float *g, int K)
{
    for (int k = 0; k < K; k++) {
        double u = nn_rng_uniform_d(r);
        u = u < 1e-12 ? 1e-12 : u; /* uniform_d is in [0, 1): keep log finite */
        g[k] = (float)-log(-log(u));
    }
}

void agent_gumbel_forward(const float *l, const float *g, int K, float tau, float *y)
{
    for (int k = 0; k < K; k++)
        y[k] = (l[k] + (g ? g[k] : 0.0f)) / tau;
    softmax(y, K);
}

void agent_gumbel_backward(const float *y, const float *gy, int K, float tau, float *gl)
{
    softmax_back(y, gy, K, gl);
    for (int k = 0; k < K; k++)
        gl[k] /= tau;
}

int agent_sample(nn_rng *r, const float *p, int K)
{
    float u = nn_rng_uniform(r), acc = 0.0f;
    for (int k = 0; k < K - 1; k++) {
        acc += p[k];
        if (u < acc)
            return k;
    }
    return K - 1;
}
