/* kern_vnni.c: AVX-512 VNNI variant. Weights packed (OC/16 blocks, T, Cp/4,
 * 16 oc, 4 c): one 64-byte load feeds vpdpbusd for 16 output channels x 4
 * input channels, against one pixel's 4 input bytes broadcast. A tile is
 * MR pixels x NB blocks of 16 channels, all accumulators in registers
 * (MR x NB + NB + 1 <= 32 zmm). Pixels past the end of the range repeat
 * the last one and are not stored. */
#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
#include <immintrin.h>
#include <string.h>

#include "deploy/kern.h"

#define FORCE static inline __attribute__((always_inline))

static int vnni_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
}

static size_t vnni_wbytes(int oc, int t, int cp)
{
    return (size_t)((oc + 15) / 16) * 16 * (size_t)t * (size_t)cp;
}

static void vnni_pack(const int8_t *w, int oc, int t, int cp, void *out)
{
    int8_t *o = out;
    memset(o, 0, vnni_wbytes(oc, t, cp));
    int cq = cp / 4;
    for (int k = 0; k < oc; k++)
        for (int ti = 0; ti < t; ti++)
            for (int c = 0; c < cp; c++) {
                size_t at = ((((size_t)(k / 16) * (size_t)t + (size_t)ti) * (size_t)cq +
                              (size_t)(c / 4)) * 16 + (size_t)(k % 16)) * 4 + (size_t)(c % 4);
                o[at] = w[((size_t)k * (size_t)t + (size_t)ti) * (size_t)cp + (size_t)c];
            }
}

/* 16 values through the epilogue and into the output */
FORCE void epi16(const dep_conv_args *a, int s, int p, int oc, __m512i acc)
{
    int rem = a->OC - oc;
    __mmask16 k = rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);
    acc = _mm512_sub_epi32(acc, _mm512_maskz_loadu_epi32(k, a->zc + oc));
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_maskz_loadu_ps(k, a->m + oc));
    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, a->b + oc));
    if (a->skip) {
        const int32_t *sk = a->skip + (size_t)s * a->skip_stride + (size_t)p * (size_t)a->OC + (size_t)oc;
        __m512 sv = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k, sk)),
                                  _mm512_set1_ps(a->u));
        v = _mm512_add_ps(v, sv);
    }
    v = _mm512_max_ps(v, _mm512_set1_ps(a->lo));
    v = _mm512_min_ps(v, _mm512_set1_ps(a->hi));
    if (a->out_kind == DEP_OUT_FLOAT) {
        _mm512_mask_storeu_ps((float *)a->out + (size_t)s * a->out_stride + (size_t)p * (size_t)a->OC + (size_t)oc, k, v);
        return;
    }
    __m512 half = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u)),
        _mm512_castps_si512(_mm512_set1_ps(DEP_HALF_DOWN))));
    __m512i q = _mm512_cvttps_epi32(_mm512_add_ps(v, half));
    if (a->out_kind == DEP_OUT_FIX) {
        _mm512_mask_storeu_epi32((int32_t *)a->out + (size_t)s * a->out_stride + (size_t)p * (size_t)a->OC + (size_t)oc, k, q);
        return;
    }
    q = _mm512_add_epi32(q, _mm512_set1_epi32(a->z_out));
    uint8_t *o = (uint8_t *)a->out + (size_t)s * a->out_stride + (size_t)p * (size_t)a->out_cp + (size_t)oc;
    _mm_mask_storeu_epi8(o, k, _mm512_cvtusepi32_epi8(q));
}

FORCE void tile(const dep_conv_args *a, int s, int p0, int ob, const int MR, const int NB)
{
    const uint8_t *base = a->in + (size_t)s * a->in_stride;
    const int T = a->T, cq = a->Cp / 4;
    const size_t bstride = (size_t)T * (size_t)cq * 64;
    const int8_t *wb = (const int8_t *)a->w + (size_t)ob * bstride;
    __m512i acc[MR][NB];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NB; j++)
            acc[i][j] = _mm512_setzero_si512();
    int last = a->p_hi - 1;
    for (int t = 0; t < T; t++) {
        const uint8_t *src[MR];
        for (int i = 0; i < MR; i++) {
            int p = p0 + i <= last ? p0 + i : last;
            int32_t off = a->ind[(size_t)p * (size_t)T + (size_t)t];
            src[i] = off >= 0 ? base + off : a->pad;
        }
        const int8_t *wt = wb + (size_t)t * (size_t)cq * 64;
        for (int q = 0; q < cq; q++) {
            __m512i wv[NB];
            for (int j = 0; j < NB; j++)
                wv[j] = _mm512_loadu_si512(wt + (size_t)j * bstride + (size_t)q * 64);
            for (int i = 0; i < MR; i++) {
                int32_t x4;
                memcpy(&x4, src[i] + 4 * q, 4);
                __m512i bc = _mm512_set1_epi32(x4);
                for (int j = 0; j < NB; j++)
                    acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], bc, wv[j]);
            }
        }
    }
    for (int i = 0; i < MR && p0 + i <= last; i++)
        for (int j = 0; j < NB; j++)
            epi16(a, s, p0 + i, (ob + j) * 16, acc[i][j]);
}

/* all pixels of sample s for NB blocks starting at ob */
FORCE void pixels(const dep_conv_args *a, int s, int ob, const int MR, const int NB)
{
    for (int p0 = a->p_lo; p0 < a->p_hi; p0 += MR)
        tile(a, s, p0, ob, MR, NB);
}

static void vnni_conv(const dep_conv_args *a)
{
    int nblk = (a->OC + 15) / 16;
    for (int s = 0; s < a->n; s++) {
        int ob = 0;
        for (; ob + 4 <= nblk; ob += 4)
            pixels(a, s, ob, 6, 4);
        switch (nblk - ob) {
        case 3: pixels(a, s, ob, 8, 3); break;
        case 2: pixels(a, s, ob, 12, 2); break;
        case 1: pixels(a, s, ob, 14, 1); break;
        default: break;
        }
    }
}

const dep_kern dep_kern_vnni = {"avx512vnni", vnni_supported, vnni_wbytes, vnni_pack, vnni_conv};
#endif
