/* vec.h: element-wise reductions shared by the kernels.
 *
 * Sums run in float over 16 independent lanes and are flushed into a double
 * every NN_VEC_BLOCK elements, so a sum over a whole batch (10^5 terms and
 * more) keeps float precision. With AVX-512 the lanes are one register
 * (GCC's own vectorisation of the lane arrays spills them to the stack);
 * otherwise they are a 16-float array, which GCC vectorises without
 * -ffast-math. The order of additions depends only on n. */
#ifndef NN_VEC_H
#define NN_VEC_H

#include <stddef.h>

#define NN_VEC_LANES 16
#define NN_VEC_BLOCK 4096 /* a multiple of NN_VEC_LANES */

#if defined(__AVX512F__)
#include <immintrin.h>

static inline __mmask16 nn_vec_tail(size_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* s1 += sum_i (v[i] - k), s2 += sum_i (v[i] - k)^2: shifted moments, so a
 * variance from them does not cancel when |mean| >> std (k near the mean) */
static inline void nn_vec_moments(const float *v, size_t n, float k, double *s1, double *s2)
{
    __m512 kk = _mm512_set1_ps(k);
    for (size_t b = 0; b < n; b += NN_VEC_BLOCK) {
        size_t end = n - b > NN_VEC_BLOCK ? b + NN_VEC_BLOCK : n;
        __m512 a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps();
        for (size_t i = b; i < end; i += 16) {
            __mmask16 m = nn_vec_tail(end - i);
            __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, v + i), kk);
            a1 = _mm512_add_ps(a1, d);
            a2 = _mm512_fmadd_ps(d, d, a2);
        }
        *s1 += _mm512_reduce_add_ps(a1);
        *s2 += _mm512_reduce_add_ps(a2);
    }
}

/* sa += sum_i a[i], sab += sum_i a[i] * (b[i] - k) */
static inline void nn_vec_sum_dot(const float *a, const float *b, size_t n, float k, double *sa,
                                  double *sab)
{
    __m512 kk = _mm512_set1_ps(k);
    for (size_t blk = 0; blk < n; blk += NN_VEC_BLOCK) {
        size_t end = n - blk > NN_VEC_BLOCK ? blk + NN_VEC_BLOCK : n;
        __m512 a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps();
        for (size_t i = blk; i < end; i += 16) {
            __mmask16 m = nn_vec_tail(end - i);
            __m512 va = _mm512_maskz_loadu_ps(m, a + i);
            __m512 vb = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, b + i), kk);
            a1 = _mm512_add_ps(a1, va);
            a2 = _mm512_fmadd_ps(va, vb, a2);
        }
        *sa += _mm512_reduce_add_ps(a1);
        *sab += _mm512_reduce_add_ps(a2);
    }
}
#else
static inline void nn_vec_moments(const float *v, size_t n, float k, double *s1, double *s2)
{
    for (size_t b = 0; b < n; b += NN_VEC_BLOCK) {
        size_t end = n - b > NN_VEC_BLOCK ? b + NN_VEC_BLOCK : n;
        float a1[NN_VEC_LANES] = {0}, a2[NN_VEC_LANES] = {0};
        for (size_t i = b; i < end; i++) {
            float d = v[i] - k;
            a1[(i - b) % NN_VEC_LANES] += d;
            a2[(i - b) % NN_VEC_LANES] += d * d;
        }
        double t1 = 0, t2 = 0;
        for (int j = 0; j < NN_VEC_LANES; j++) {
            t1 += a1[j];
            t2 += a2[j];
        }
        *s1 += t1;
        *s2 += t2;
    }
}

static inline void nn_vec_sum_dot(const float *a, const float *b, size_t n, float k, double *sa,
                                  double *sab)
{
    for (size_t blk = 0; blk < n; blk += NN_VEC_BLOCK) {
        size_t end = n - blk > NN_VEC_BLOCK ? blk + NN_VEC_BLOCK : n;
        float a1[NN_VEC_LANES] = {0}, a2[NN_VEC_LANES] = {0};
        for (size_t i = blk; i < end; i++) {
            a1[(i - blk) % NN_VEC_LANES] += a[i];
            a2[(i - blk) % NN_VEC_LANES] += a[i] * (b[i] - k);
        }
        double t1 = 0, t2 = 0;
        for (int j = 0; j < NN_VEC_LANES; j++) {
            t1 += a1[j];
            t2 += a2[j];
        }
        *sa += t1;
        *sab += t2;
    }
}
#endif

/* sum_i v[i] */
static inline double nn_vec_sum(const float *v, size_t n)
{
    double s = 0, unused = 0;
    nn_vec_moments(v, n, 0.0f, &s, &unused);
    return s;
}

#endif
