/* corrupt_noise.c: gaussian, shot, impulse and speckle noise, one draw
 * stream per image, elements in (h, w, c) order. */
#include <math.h>
#include <stdlib.h>

#include "env/corrupt_impl.h"

void env_rng_fill(nn_rng *r, uint32_t *out, size_t n)
{
    size_t k = 0;
    while (k < n && r->used < 4)
        out[k++] = r->out[r->used++];
    for (; k + 4 <= n; k += 4) {
        nn_philox4x32(r->ctr, r->key, out + k);
        r->ctr[0]++;
    }
    while (k < n)
        out[k++] = nn_rng_u32(r);
}

/* Gaussian noise on uint8 is out = trunc(clip(v/255 + sigma z) * 255)
 * = clamp(v + D, 0, 255) with D = floor(255 sigma z), an integer variable
 * independent of v: P(D = d) = Phi((d + 1) / s) - Phi(d / s), s = 255 sigma.
 * Sampling D from an alias table costs one random word and no
 * transcendental per element, and is the reference's distribution exactly
 * (to 2^-32), where Box-Muller in float would only approximate it.
 * Support: |d| <= 8.5 s, outside which the mass is below 1e-16. */
static int alias_span(double s, int *lo)
{
    int a = (int)floor(-8.5 * s), b = (int)ceil(8.5 * s);
    *lo = a;
    return b - a + 1;
}

static double phi(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

/* Vose's construction; p (n) sums to 1, work (n) ints */
static void alias_build(env_alias *a, double *p, int *work)
{
    int n = a->n, ns = 0, nl = n;
    for (int k = 0; k < n; k++) {
        p[k] *= n;
        if (p[k] < 1.0)
            work[ns++] = k; /* small from the front */
        else
            work[--nl] = k; /* large from the back */
    }
    int is = 0, il = nl;
    while (is < ns && il < n) {
        int sm = work[is++], lg = work[il];
        a->thresh[sm] = (uint32_t)(p[sm] * 4294967296.0);
        a->alias[sm] = (uint16_t)lg;
        p[lg] -= 1.0 - p[sm];
        if (p[lg] < 1.0) {
            il++;
            work[ns++] = lg; /* becomes small: appended after the remaining smalls */
        }
    }
    /* leftovers are 1 up to rounding: always keep */
    for (; is < ns; is++)
        a->thresh[work[is]] = 0xffffffffu, a->alias[work[is]] = (uint16_t)work[is];
    for (; il < n; il++)
        a->thresh[work[il]] = 0xffffffffu, a->alias[work[il]] = (uint16_t)work[il];
}

int env_noise_tables(env_work *ws, qa_err *err)
{
    size_t total = 0;
    int maxn = 0, lo;
    for (int t = 0; t < ENV_NTABLE; t++)
        for (int s = 1; s <= ENV_MAX_SEVERITY; s++) {
            int n = alias_span(255.0 * env_corrupt_params((env_table)t, ENV_GAUSSIAN_NOISE, s)->a, &lo);
            QA_ASSERT(n <= 65536);
            total += (size_t)n;
            maxn = n > maxn ? n : maxn;
        }
    ws->alias_mem = malloc(total * (sizeof(uint32_t) + sizeof(uint16_t)));
    double *p = malloc((size_t)maxn * sizeof(double));
    int *work = malloc((size_t)maxn * sizeof(int));
    if (!ws->alias_mem || !p || !work) {
        free(p);
        free(work);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the gaussian noise tables");
    }
    uint32_t *th = ws->alias_mem;
    uint16_t *al = (uint16_t *)(th + total);
    for (int t = 0; t < ENV_NTABLE; t++)
        for (int s = 1; s <= ENV_MAX_SEVERITY; s++) {
            double sd = 255.0 * env_corrupt_params((env_table)t, ENV_GAUSSIAN_NOISE, s)->a, sum = 0;
            env_alias *a = &ws->noise[t][s - 1];
            a->n = alias_span(sd, &a->lo);
            a->thresh = th;
            a->alias = al;
            th += a->n;
            al += a->n;
            for (int k = 0; k < a->n; k++) {
                double d = a->lo + k;
                /* upper tail by the complement, so small masses keep their digits */
                p[k] = d >= 0 ? phi(-d / sd) - phi(-(d + 1) / sd) : phi((d + 1) / sd) - phi(d / sd);
                sum += p[k];
            }
            for (int k = 0; k < a->n; k++)
                p[k] /= sum;
            alias_build(a, p, work);
        }
    free(p);
    free(work);
    return QA_OK;
}

int env_gaussian_noise(const env_job *j, qa_err *err)
{
    (void)err;
    const env_alias *a = &j->ws->noise[j->table][j->severity - 1];
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    uint32_t *u = j->ws->rand;
    env_rng_fill(j->rng, u, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t m = (uint64_t)u[i] * (uint32_t)a->n;
        uint32_t k = (uint32_t)(m >> 32);
        int d = (uint32_t)m < a->thresh[k] ? (int)k : a->alias[k];
        int v = j->in[i] + a->lo + d;
        j->out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    return QA_OK;
}

/* Two standard normals from two 32-bit words (Box-Muller, both outputs):
 * float precision is plenty for a 0.06..0.6 sigma on an 8-bit image. */
static void normal_pair(const uint32_t *u, float *z0, float *z1)
{
    float u1 = (float)((u[0] >> 8) + 1) * (1.0f / 16777216.0f); /* (0, 1] */
    float u2 = (float)(u[1] >> 8) * (1.0f / 16777216.0f);
    float rad = sqrtf(-2.0f * logf(u1)), th = 6.2831853071795865f * u2;
    *z0 = rad * cosf(th);
    *z1 = rad * sinf(th);
}

/* x + x * sigma * z: the spread depends on x, so no shared table */
int env_speckle_noise(const env_job *j, qa_err *err)
{
    (void)err;
    size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
    float sigma = (float)j->p.a;
    uint32_t *u = j->ws->rand;
    env_rng_fill(j->rng, u, (n + 1) & ~(size_t)1);
    for (size_t i = 0; i < n; i += 2) {
        float z[2];
        normal_pair(u + i, &z[0], &z[1]);
        for (size_t k = 0; k < 2 && i + k < n; k++) {
            float x = (float)j->in[i + k] / 255.0f;
            j->out[i + k] = env_unit_to_u8(x + sigma * x * z[k]);
        }
    }
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
        /* in double: k / c * 255 is often an exact integer that float
         * rounding would leave just below, and truncation would lower */
        double y = k / c;
        j->out[i] = (uint8_t)((y > 1.0 ? 1.0 : y) * 255.0);
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
