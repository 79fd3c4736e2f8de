/* simd.h: register-level helpers shared by nn's x86 kernels, for
 * translation units that compile them with GCC's target attribute (gemm.c)
 * or with -march=native (wino.c). Include only where
 * defined(__GNUC__) && defined(__x86_64__).
 * Not here: anything with a portable counterpart (the callers keep theirs). */
#ifndef NN_SIMD_H
#define NN_SIMD_H

#include <immintrin.h>

#define NN_SIMD_T512 __attribute__((target("avx512f")))

/* c[j] = column j of the 16 x 16 block whose rows are r[0..15] */
NN_SIMD_T512 static inline void nn_simd_transpose16(const __m512 r[16], __m512 c[16])
{
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d e = _mm512_castps_pd(t[4 * i + 2]), f = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, e));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, e));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, f));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, f));
    }
    /* u[4i + j]: rows 4i..4i+3 of columns j, j+4, j+8, j+12 (one per lane) */
    for (int j = 0; j < 4; j++) {
        __m512 a = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
        __m512 b = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);
        __m512 e = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        __m512 f = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
        c[j] = _mm512_shuffle_f32x4(a, e, 0x88);
        c[j + 8] = _mm512_shuffle_f32x4(a, e, 0xdd);
        c[j + 4] = _mm512_shuffle_f32x4(b, f, 0x88);
        c[j + 12] = _mm512_shuffle_f32x4(b, f, 0xdd);
    }
}

#endif
