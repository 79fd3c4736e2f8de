/* kern_avx2.c: AVX2 variant. Operands are widened to int16 and multiplied
 * by vpmaddwd (pairs of int16 products summed into int32, exact). Weights
 * packed (OC/8 blocks, T, Cp/2, 8 oc, 2 c) as int16; a pixel's two input
 * bytes are broadcast as one int32 holding two int16. Tiles of MR pixels x
 * NB blocks of 8 channels; pixels past the end repeat the last one.
 * Depthwise: 8 channels a ymm, bytes widened to int32 and multiplied. */
#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC target("avx2,fma")
#include <immintrin.h>
#include <string.h>

#include "deploy/kern.h"

#define FORCE static inline __attribute__((always_inline))

static int avx2_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static size_t avx2_wbytes(int oc, int t, int cp)
{
    return (size_t)((oc + 7) / 8) * 8 * (size_t)t * (size_t)cp * sizeof(int16_t);
}

static void avx2_pack(const int8_t *w, int oc, int t, int cp, void *out)
{
    int16_t *o = out;
    memset(o, 0, avx2_wbytes(oc, t, cp));
    int cq = cp / 2;
    for (int k = 0; k < oc; k++)
        for (int ti = 0; ti < t; ti++)
            for (int c = 0; c < cp; c++) {
                size_t at = ((((size_t)(k / 8) * (size_t)t + (size_t)ti) * (size_t)cq +
                              (size_t)(c / 2)) * 8 + (size_t)(k % 8)) * 2 + (size_t)(c % 2);
                o[at] = w[((size_t)k * (size_t)t + (size_t)ti) * (size_t)cp + (size_t)c];
            }
}

/* 8 values through the epilogue (vector), stored lane by lane */
FORCE void epi8(const dep_conv_args *a, int s, int p, int oc, __m256i acc)
{
    int32_t iv[8];
    float fv[8];
    int rem = a->OC - oc < 8 ? a->OC - oc : 8;
    float m[8] = {0}, b[8] = {0};
    int32_t zc[8] = {0}, skv[8] = {0};
    memcpy(m, a->m + oc, (size_t)rem * sizeof *m);
    memcpy(b, a->b + oc, (size_t)rem * sizeof *b);
    memcpy(zc, a->zc + oc, (size_t)rem * sizeof *zc);
    acc = _mm256_sub_epi32(acc, _mm256_loadu_si256((const __m256i *)zc));
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(m));
    v = _mm256_add_ps(v, _mm256_loadu_ps(b));
    if (a->skip) {
        memcpy(skv, a->skip + (size_t)s * a->skip_stride + (size_t)p * (size_t)a->OC + (size_t)oc,
               (size_t)rem * sizeof *skv);
        __m256 sv = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)skv)),
                                  _mm256_set1_ps(a->u));
        v = _mm256_add_ps(v, sv);
    }
    v = _mm256_max_ps(v, _mm256_set1_ps(a->lo));
    v = _mm256_min_ps(v, _mm256_set1_ps(a->hi));
    if (a->out_kind == DEP_OUT_FLOAT) {
        _mm256_storeu_ps(fv, v);
        memcpy((float *)a->out + (size_t)s * a->out_stride + (size_t)p * (size_t)a->OC + (size_t)oc, fv,
               (size_t)rem * sizeof *fv);
        return;
    }
    __m256 half = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(DEP_HALF_DOWN));
    _mm256_storeu_si256((__m256i *)iv, _mm256_cvttps_epi32(_mm256_add_ps(v, half)));
    if (a->out_kind == DEP_OUT_FIX) {
        memcpy((int32_t *)a->out + (size_t)s * a->out_stride + (size_t)p * (size_t)a->OC + (size_t)oc, iv,
               (size_t)rem * sizeof *iv);
        return;
    }
    uint8_t *o = (uint8_t *)a->out + (size_t)s * a->out_stride + (size_t)p * (size_t)a->out_cp + (size_t)oc;
    for (int i = 0; i < rem; i++)
        o[i] = (uint8_t)(iv[i] + a->z_out);
}

FORCE void tile(const dep_conv_args *a, int s, int p0, int ob, const int MR, const int NB)
{
    const uint8_t *base = a->in + (size_t)s * a->in_stride;
    const int T = a->T, cq = a->Cp / 2;
    const size_t bstride = (size_t)T * (size_t)cq * 16;
    const int16_t *wb = (const int16_t *)a->w + (size_t)ob * bstride;
    __m256i acc[MR][NB];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NB; j++)
            acc[i][j] = _mm256_setzero_si256();
    int last = a->p_hi - 1;
    for (int t = 0; t < T; t++) {
        const uint8_t *src[MR];
        for (int i = 0; i < MR; i++) {
            int p = p0 + i <= last ? p0 + i : last;
            src[i] = base + a->ind[(size_t)p * (size_t)T + (size_t)t];
        }
        const int16_t *wt = wb + (size_t)t * (size_t)cq * 16;
        for (int q = 0; q < cq; q++) {
            __m256i wv[NB];
            for (int j = 0; j < NB; j++)
                wv[j] = _mm256_loadu_si256((const __m256i *)(wt + (size_t)j * bstride + (size_t)q * 16));
            for (int i = 0; i < MR; i++) {
                int32_t pair = (int32_t)src[i][2 * q] | (int32_t)src[i][2 * q + 1] << 16;
                __m256i bc = _mm256_set1_epi32(pair);
                for (int j = 0; j < NB; j++)
                    acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(bc, wv[j]));
            }
        }
    }
    for (int i = 0; i < MR && p0 + i <= last; i++)
        for (int j = 0; j < NB; j++)
            epi8(a, s, p0 + i, (ob + j) * 8, acc[i][j]);
}

FORCE void pixels(const dep_conv_args *a, int s, int ob, const int MR, const int NB)
{
    for (int p0 = a->p_lo; p0 < a->p_hi; p0 += MR)
        tile(a, s, p0, ob, MR, NB);
}

static void avx2_conv(const dep_conv_args *a)
{
    int nblk = (a->OC + 7) / 8;
    for (int s = 0; s < a->n; s++) {
        int ob = 0;
        for (; ob + 2 <= nblk; ob += 2)
            pixels(a, s, ob, 6, 2);
        if (ob < nblk)
            pixels(a, s, ob, 12, 1);
    }
}

/* rem <= 8 input bytes widened to int32 lanes (the rest 0: no read past a pixel) */
FORCE __m256i load_u8x8(const uint8_t *x, int rem)
{
    int64_t v = 0;
    memcpy(&v, x, (size_t)rem);
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v));
}

/* depthwise: 8 channels a vector, int32 products (exact) */
static void avx2_dw(const dep_conv_args *a)
{
    const int8_t *w = a->w;
    for (int s = 0; s < a->n; s++) {
        const uint8_t *base = a->in + (size_t)s * a->in_stride;
        for (int p = a->p_lo; p < a->p_hi; p++) {
            const int32_t *ind = a->ind + (size_t)p * (size_t)a->T;
            for (int c = 0; c < a->OC; c += 8) {
                int rem = a->OC - c < 8 ? a->OC - c : 8;
                __m256i acc = _mm256_setzero_si256();
                for (int t = 0; t < a->T; t++) {
                    __m256i x = load_u8x8(base + ind[t] + c, rem);
                    __m256i wv = _mm256_cvtepi8_epi32(
                        _mm_loadl_epi64((const __m128i *)(w + (size_t)t * (size_t)a->Cp + (size_t)c)));
                    acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(x, wv));
                }
                epi8(a, s, p, c, acc);
            }
        }
    }
}

const dep_kern dep_kern_avx2 = {"avx2", avx2_supported, avx2_wbytes, avx2_pack, avx2_conv,
                                avx2_dw};
#endif
