/* rng.h: counter-based random numbers (Philox4x32-10, Salmon et al. SC'11).
 *
 * There is no global generator. A stream is opened from a key
 * (seed, stream, a, b): the 64-bit run seed is the Philox key and the
 * counter is (block, stream, a, b), so the numbers for, say, sample 1234 in
 * epoch 3 are a pure function of those four values, whatever the batch
 * order or thread count. Each module reserves its own stream ids below, so
 * two users of the same (a, b) never see the same numbers.
 * A stream yields 2^32 blocks of 4 words; nothing here needs more. */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stdint.h>

/* Stream ids. Ranges per module keep nn/ free of knowledge of the others:
 * 0x0000-0x0fff nn, 0x1000 data, 0x2000 env, 0x3000 quant, 0x4000 agent,
 * 0x5000 experiments. */
enum {
    NN_STREAM_INIT = 0x0001,    /* a = layer index, b = parameter view */
    NN_STREAM_SHUFFLE = 0x1001, /* a = epoch, b = 0 */
    NN_STREAM_SPLIT = 0x1002,   /* a = 0, b = 0: train/validation split */
    NN_STREAM_TEST = 0x0fff,    /* tests and benchmarks */
};

typedef struct {
    uint32_t key[2]; /* run seed */
    uint32_t ctr[4]; /* (block, stream, a, b) */
    uint32_t out[4]; /* current block of output */
    int used;        /* words of out already consumed (4 = empty) */
} nn_rng;

/* Philox4x32-10 of one counter block; exposed for known-answer tests. */
void nn_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

void nn_rng_init(nn_rng *r, uint64_t seed, uint32_t stream, uint32_t a, uint32_t b);
uint32_t nn_rng_u32(nn_rng *r);
uint64_t nn_rng_u64(nn_rng *r);
/* uniform in [0, 1): 24 random bits for float, 53 for double */
float nn_rng_uniform(nn_rng *r);
double nn_rng_uniform_d(nn_rng *r);
/* uniform integer in [0, n), n >= 1, without modulo bias */
uint32_t nn_rng_below(nn_rng *r, uint32_t n);
/* standard normal (Box-Muller in double) */
double nn_rng_normal_d(nn_rng *r);
float nn_rng_normal(nn_rng *r);
/* Poisson(lambda) for lambda >= 0: inversion below 30, PTRS (Hormann 1993) above */
uint32_t nn_rng_poisson(nn_rng *r, double lambda);
/* Fisher-Yates permutation of 0..n-1 into idx */
void nn_rng_permutation(nn_rng *r, int *idx, int n);

#endif
