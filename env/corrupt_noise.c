/* corrupt_noise.c: gaussian, shot, impulse and speckle noise, one draw
 * stream per image, elements in (h, w, c) order. */
#include <math.h>

#include "env/corrupt_impl.h"

/* Two standard normals from two 32-bit words (Box-Muller, both outputs):
 * float precision is plenty for a 0.04..0.6 sigma on an 8-bit image and it
 * halves the Philox blocks of nn_rng_normal, which keeps noise cheap. */
static void normal_pair(nn_rng *r, float *z0, float *z1)
{
    float u1 = (float)((nn_rng_u32(r) >> 8) + 1) * (1.0f / 16777216.0f); /* (0, 1] */
    float u2 = (float)(nn_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
    float rad = sqrtf(-2.0f * logf(u1)), th = 6.2831853071795865f * u2;
    *z0 = rad * cosf(th);
    *z1 = rad * sinf(th);
}

/* x + sigma * x^k * z, k = 0 (gaussian) or 1 (speckle) */
static void additive(const env_job *j, float sigma, int speckle)
{
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    for (size_t i = 0; i < n; i += 2) {
        float z[2];
        normal_pair(j->rng, &z[0], &z[1]);
        for (size_t k = 0; k < 2 && i + k < n; k++) {
            float x = (float)j->in[i + k] / 255.0f;
            float s = speckle ? sigma * x : sigma;
            j->out[i + k] = env_unit_to_u8(x + s * z[k]);
        }
    }
}

int env_gaussian_noise(const env_job *j, qa_err *err)
{
    (void)err;
    additive(j, (float)j->p.a, 0);
    return QA_OK;
}

int env_speckle_noise(const env_job *j, qa_err *err)
{
    (void)err;
    additive(j, (float)j->p.a, 1);
    return QA_OK;
}

/* Poisson(lambda) for lambda < 30 by sequential search of the CDF with one
 * uniform (cheaper than nn_rng_poisson's product of uniforms); e = exp(-lambda). */
static uint32_t poisson_small(nn_rng *r, double lambda, double e)
{
    double u = nn_rng_uniform_d(r), p = e, f = e;
    uint32_t k = 0;
    while (u > f && k < 200) {
        k++;
        p *= lambda / k;
        f += p;
    }
    return k;
}

int env_shot_noise(const env_job *j, qa_err *err)
{
    (void)err;
    double c = j->p.a, e[256];
    for (int v = 0; v < 256; v++)
        e[v] = exp(-(v / 255.0) * c);
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    for (size_t i = 0; i < n; i++) {
        int v = j->in[i];
        double lambda = (v / 255.0) * c;
        uint32_t k = lambda < 30 ? poisson_small(j->rng, lambda, e[v])
                                 : nn_rng_poisson(j->rng, lambda);
        j->out[i] = env_unit_to_u8((float)(k / c));
    }
    return QA_OK;
}

/* skimage's s&p: each element is hit with probability amount; a hit is
 * salt (1) or pepper (0) with probability 1/2. */
int env_impulse_noise(const env_job *j, qa_err *err)
{
    (void)err;
    double t = j->p.a * 4294967296.0;
    uint32_t thresh = t >= 4294967295.0 ? 0xffffffffu : (uint32_t)t;
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = nn_rng_u32(j->rng);
        if (u < thresh)
            j->out[i] = (nn_rng_u32(j->rng) & 1u) ? 255 : 0;
        else
            j->out[i] = j->in[i];
    }
    return QA_OK;
}
