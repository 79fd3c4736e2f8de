/* vec.h: element-wise reductions shared by the kernels.
 *
 * Written with independent lanes so that GCC vectorises them without
 * -ffast-math (a plain `s += v[i]` loop is a serial dependency it must not
 * reorder); lanes are accumulated in double, which keeps sums over a whole
 * batch (10^5 terms) accurate to float precision and makes the result
 * independent of how the caller splits work across threads of a sample. */
#ifndef NN_VEC_H
#define NN_VEC_H

#include <stddef.h>

#define NN_VEC_LANES 8

/* sum_i v[i] */
static inline double nn_vec_sum(const float *v, size_t n)
{
    double acc[NN_VEC_LANES] = {0};
    size_t i = 0;
    for (; i + NN_VEC_LANES <= n; i += NN_VEC_LANES)
        for (int k = 0; k < NN_VEC_LANES; k++)
            acc[k] += (double)v[i + k];
    double s = 0;
    for (; i < n; i++)
        s += (double)v[i];
    for (int k = 0; k < NN_VEC_LANES; k++)
        s += acc[k];
    return s;
}

/* sum_i a[i] * b[i] */
static inline double nn_vec_dot(const float *a, const float *b, size_t n)
{
    double acc[NN_VEC_LANES] = {0};
    size_t i = 0;
    for (; i + NN_VEC_LANES <= n; i += NN_VEC_LANES)
        for (int k = 0; k < NN_VEC_LANES; k++)
            acc[k] += (double)a[i + k] * (double)b[i + k];
    double s = 0;
    for (; i < n; i++)
        s += (double)a[i] * (double)b[i];
    for (int k = 0; k < NN_VEC_LANES; k++)
        s += acc[k];
    return s;
}

/* s1 += sum_i (v[i] - k), s2 += sum_i (v[i] - k)^2: shifted moments, so a
 * variance from them does not cancel when |mean| >> std (k near the mean) */
static inline void nn_vec_moments(const float *v, size_t n, double k, double *s1, double *s2)
{
    double a1[NN_VEC_LANES] = {0}, a2[NN_VEC_LANES] = {0};
    size_t i = 0;
    for (; i + NN_VEC_LANES <= n; i += NN_VEC_LANES)
        for (int j = 0; j < NN_VEC_LANES; j++) {
            double d = (double)v[i + j] - k;
            a1[j] += d;
            a2[j] += d * d;
        }
    for (; i < n; i++) {
        double d = (double)v[i] - k;
        *s1 += d;
        *s2 += d * d;
    }
    for (int j = 0; j < NN_VEC_LANES; j++) {
        *s1 += a1[j];
        *s2 += a2[j];
    }
}

#endif
