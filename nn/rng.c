/* rng.c: Philox4x32-10 and the distributions qadapt draws from it. */
#include "nn/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void nn_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0;
        c1 = (uint32_t)p1;
        c2 = n2;
        c3 = (uint32_t)p0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void nn_rng_init(nn_rng *r, uint64_t seed, uint32_t stream, uint32_t a, uint32_t b)
{
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->ctr[0] = 0;
    r->ctr[1] = stream;
    r->ctr[2] = a;
    r->ctr[3] = b;
    r->used = 4;
}

uint32_t nn_rng_u32(nn_rng *r)
{
    if (r->used == 4) {
        nn_philox4x32(r->ctr, r->key, r->out);
        r->ctr[0]++;
        r->used = 0;
    }
    return r->out[r->used++];
}

uint64_t nn_rng_u64(nn_rng *r)
{
    uint64_t hi = nn_rng_u32(r);
    return (hi << 32) | nn_rng_u32(r);
}

float nn_rng_uniform(nn_rng *r)
{
    return (float)(nn_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

double nn_rng_uniform_d(nn_rng *r)
{
    return (double)(nn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint32_t nn_rng_below(nn_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection of the biased low range. */
    uint64_t m = (uint64_t)nn_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)nn_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double nn_rng_normal_d(nn_rng *r)
{
    /* One pair per call keeps the state a pure counter (no cached spare). */
    double u1 = 1.0 - nn_rng_uniform_d(r); /* (0, 1]: log is finite */
    double u2 = nn_rng_uniform_d(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

float nn_rng_normal(nn_rng *r)
{
    return (float)nn_rng_normal_d(r);
}

static uint32_t poisson_inversion(nn_rng *r, double lambda)
{
    double limit = exp(-lambda), prod = nn_rng_uniform_d(r);
    uint32_t k = 0;
    while (prod > limit) {
        prod *= nn_rng_uniform_d(r);
        k++;
    }
    return k;
}

/* Transformed rejection with squeeze (Hormann, "The transformed rejection
 * method for generating Poisson random variables", 1993), as numpy uses. */
static uint32_t poisson_ptrs(nn_rng *r, double lambda)
{
    double slam = sqrt(lambda), loglam = log(lambda);
    double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        double u = nn_rng_uniform_d(r) - 0.5, v = nn_rng_uniform_d(r);
        double us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + lambda + 0.43);
        if (us >= 0.07 && v <= vr)
            return (uint32_t)k;
        if (k < 0 || (us < 0.013 && v > us))
            continue;
        if (log(v) + log(invalpha) - log(a / (us * us) + b) <=
            -lambda + k * loglam - lgamma(k + 1))
            return (uint32_t)k;
    }
}

uint32_t nn_rng_poisson(nn_rng *r, double lambda)
{
    if (!(lambda > 0))
        return 0;
    return lambda < 30 ? poisson_inversion(r, lambda) : poisson_ptrs(r, lambda);
}

void nn_rng_permutation(nn_rng *r, int *idx, int n)
{
    for (int i = 0; i < n; i++)
        idx[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)nn_rng_below(r, (uint32_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
