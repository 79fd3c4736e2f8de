/* kern_vnni.c: AVX-512 VNNI variant. Weights packed (OC/16 blocks, T, Cp/4,
 * 16 oc, 4 c): one 64-byte load feeds vpdpbusd for 16 output channels x 4
 * input channels, against one pixel's 4 input bytes broadcast. A tile is
 * MR pixels x NB blocks of 16 channels, all accumulators in registers
 * (MR x NB + NB + 1 <= 32 zmm). The (sample, pixel) pairs of the call
 * are tiled as one flat range, so a tile spans samples; pairs past the end
 * repeat the last one and are not stored. One block of 16 input and at
 * most 16 output channels, over several taps (resnet20's first stage,
 * about half its time), has a tile of its own (quad_tile). Depthwise: 16
 * channels a zmm, bytes widened to int32 and multiplied (vpmulld), masked
 * at the tail. */
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

/* quad_tile's layers: at one tap, its transpose-add costs more than the
 * broadcasts it saves */
static int quad_fits(int oc, int t, int cp)
{
    return oc <= 16 && cp == 16 && t > 1;
}

/* (T, 4 g, 4 k, 4 j, 4 c): lane 4k + j of vector g holds output channel
 * 4k + g's weights on input channels 4j .. 4j + 3 */
static void quad_pack(const int8_t *w, int oc, int t, int cp, int8_t *o)
{
    for (int k = 0; k < oc; k++)
        for (int ti = 0; ti < t; ti++)
            for (int c = 0; c < cp; c++) {
                size_t at = ((((size_t)ti * 4 + (size_t)(k % 4)) * 4 + (size_t)(k / 4)) * 4 +
                             (size_t)(c / 4)) * 4 + (size_t)(c % 4);
                o[at] = w[((size_t)k * (size_t)t + (size_t)ti) * (size_t)cp + (size_t)c];
            }
}

static void vnni_pack(const int8_t *w, int oc, int t, int cp, void *out)
{
    int8_t *o = out;
    memset(o, 0, vnni_wbytes(oc, t, cp));
    if (quad_fits(oc, t, cp)) {
        quad_pack(w, oc, t, cp, o);
        return;
    }
    int cq = cp / 4;
    for (int k = 0; k < oc; k++)
        for (int ti = 0; ti < t; ti++)
            for (int c = 0; c < cp; c++) {
                size_t at = ((((size_t)(k / 16) * (size_t)t + (size_t)ti) * (size_t)cq +
                              (size_t)(c / 4)) * 16 + (size_t)(k % 16)) * 4 + (size_t)(c % 4);
                o[at] = w[((size_t)k * (size_t)t + (size_t)ti) * (size_t)cp + (size_t)c];
            }
}

/* the epilogue's per-call constants, loaded once into a local copy (stores
 * through the uint8_t output may alias anything the arguments point at, so
 * fields read from *a would be reloaded after every store) */
typedef struct {
    __m512 lo, hi, half, u, signbit;
    __m512i zout;
    uint8_t *out8;
    int32_t *out32;
    float *outf;
    const int32_t *skip;
    size_t out_stride, skip_stride, OC, out_cp;
    int kind;
} epi_consts;

FORCE epi_consts epi_make(const dep_conv_args *a)
{
    epi_consts c = {_mm512_set1_ps(a->lo), _mm512_set1_ps(a->hi), _mm512_set1_ps(DEP_HALF_DOWN),
                    _mm512_set1_ps(a->u), _mm512_castsi512_ps(_mm512_set1_epi32((int)0x80000000u)),
                    _mm512_set1_epi32(a->z_out), a->out, a->out, a->out, a->skip,
                    a->out_stride, a->skip_stride, (size_t)a->OC, (size_t)a->out_cp,
                    a->out_kind};
    return c;
}

/* 16 values of pixel p of sample s through the epilogue into the output;
 * zc, m, b: the block's 16 channels */
FORCE void epi16(const epi_consts *c, int s, int p, int oc, __mmask16 k, __m512i acc, __m512i zc,
                 __m512 m, __m512 b)
{
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc, zc)), m);
    v = _mm512_add_ps(v, b);
    size_t px = (size_t)p * c->OC + (size_t)oc;
    if (c->skip) {
        const int32_t *sk = c->skip + (size_t)s * c->skip_stride + px;
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k, sk)), c->u));
    }
    v = _mm512_min_ps(_mm512_max_ps(v, c->lo), c->hi);
    if (c->kind == DEP_OUT_FLOAT) {
        _mm512_mask_storeu_ps(c->outf + (size_t)s * c->out_stride + px, k, v);
        return;
    }
    __m512 half = _mm512_or_ps(_mm512_and_ps(v, c->signbit), c->half);
    __m512i q = _mm512_cvttps_epi32(_mm512_add_ps(v, half));
    if (c->kind == DEP_OUT_FIX) {
        _mm512_mask_storeu_epi32(c->out32 + (size_t)s * c->out_stride + px, k, q);
        return;
    }
    uint8_t *o = c->out8 + (size_t)s * c->out_stride + (size_t)p * c->out_cp + (size_t)oc;
    _mm_mask_storeu_epi8(o, k, _mm512_cvtusepi32_epi8(_mm512_add_epi32(q, c->zout)));
}

/* declares and fills base, ind, si, pi for the MR (sample, pixel) pairs
 * from flat index f0 (f = s P + p; past the end: the last one again, not
 * stored): their inputs, tap offsets, samples and pixels. A macro: as a
 * function taking the arrays, even inlined, it made the tiles 30% slower. */
#define TILE_PAIRS(MR)                                                                         \
    const uint8_t *base[MR];                                                                   \
    const int32_t *ind[MR];                                                                    \
    int si[MR], pi[MR];                                                                        \
    {                                                                                          \
        int P_ = a->p_hi - a->p_lo, s0 = (int)(f0 / P_), p0 = (int)(f0 % P_); /* once a tile */ \
        for (int i = 0; i < MR; i++) {                                                         \
            si[i] = s0;                                                                        \
            pi[i] = a->p_lo + p0;                                                              \
            base[i] = a->in + (size_t)s0 * a->in_stride;                                       \
            ind[i] = a->ind + (size_t)pi[i] * (size_t)a->T;                                    \
            if (f0 + i + 1 < fend && ++p0 == P_) {                                             \
                p0 = 0;                                                                        \
                s0++;                                                                          \
            }                                                                                  \
        }                                                                                      \
    }

/* MR (sample, pixel) pairs from flat index f0 (TILE_PAIRS) x NB blocks
 * of 16 channels from ob. A macro, so that MR and NB are literals: the
 * accumulator array is then a fixed-size local that gcc keeps in registers
 * (a parameter bound would make it a variable-length array, which lives in
 * memory). */
#define DEP_TILE(MR, NB)                                                                        \
    static void tile_##MR##_##NB(const dep_conv_args *a, const epi_consts *ec, long f0,        \
                                 long fend, int ob)                                            \
    {                                                                                          \
        const int T = a->T, cq = a->Cp / 4;                                                    \
        const size_t bstride = (size_t)T * (size_t)cq * 64;                                    \
        const int8_t *wb = (const int8_t *)a->w + (size_t)ob * bstride;                        \
        TILE_PAIRS(MR)                                                                         \
        __m512i acc[MR][NB];                                                                   \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                  \
        _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++)                                   \
            acc[i][j] = _mm512_setzero_si512();                                                \
        for (int t = 0; t < T; t++) {                                                          \
            const uint8_t *src[MR];                                                            \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                              \
                src[i] = base[i] + ind[i][t];                                                  \
            const int8_t *wt = wb + (size_t)t * (size_t)cq * 64;                               \
            for (int q = 0; q < cq; q++) {                                                     \
                __m512i wv[NB];                                                                \
                _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++)                           \
                    wv[j] = _mm512_loadu_si512(wt + (size_t)j * bstride + (size_t)q * 64);     \
                _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                        \
                    int32_t x4;                                                                \
                    memcpy(&x4, src[i] + 4 * q, 4);                                            \
                    __m512i bc = _mm512_set1_epi32(x4);                                        \
                    _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++)                       \
                        acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], bc, wv[j]);                 \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        const epi_consts E = *ec;                                                              \
        _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) {                                 \
            int oc = (ob + j) * 16, rem = a->OC - oc;                                          \
            __mmask16 k = rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);         \
            __m512i zc = _mm512_maskz_loadu_epi32(k, a->zc + oc);                              \
            __m512 m = _mm512_maskz_loadu_ps(k, a->m + oc);                                    \
            __m512 b = _mm512_maskz_loadu_ps(k, a->b + oc);                                    \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                              \
                if (f0 + i < fend)                                                             \
                    epi16(&E, si[i], pi[i], oc, k, acc[i][j], zc, m, b);                       \
        }                                                                                      \
    }                                                                                          \
    static void blocks_##MR##_##NB(const dep_conv_args *a, const epi_consts *ec, int ob)       \
    {                                                                                          \
        long fend = (long)a->n * (a->p_hi - a->p_lo);                                          \
        for (long f0 = 0; f0 < fend; f0 += MR)                                                 \
            tile_##MR##_##NB(a, ec, f0, fend, ob);                                             \
    }

DEP_TILE(6, 4)
DEP_TILE(8, 3)
DEP_TILE(12, 2)
DEP_TILE(14, 1)

/* quad_tile: QMR pairs (TILE_PAIRS). A pixel's 16 input bytes of a tap
 * are loaded once into the four 128-bit lanes; accumulator g of a pixel
 * sums, in lane 4k + j, output channel 4k + g over input quad j. Each load
 * thus feeds 4 vpdpbusd (the DEP_TILE(14, 1) tile broadcasts 4 bytes per
 * vpdpbusd), and a transpose-add of the 4 accumulators leaves channel o in
 * lane o. Integer sums: the order does not change them. Named variables,
 * 4 pixels: gcc 12 keeps more accumulators, or an array of them, in
 * memory. */
#define QMR 4
#define Q_ROWS(X) X(0) X(1) X(2) X(3)
#define Q_DECL(i) __m512i a##i##0 = zero, a##i##1 = zero, a##i##2 = zero, a##i##3 = zero;
#define Q_STEP(i)                                                                              \
    {                                                                                          \
        const __m128i *src = (const __m128i *)(base[i] + ind[i][t]);                           \
        __m512i x = _mm512_broadcast_i32x4(_mm_loadu_si128(src));                              \
        a##i##0 = _mm512_dpbusd_epi32(a##i##0, x, w0);                                         \
        a##i##1 = _mm512_dpbusd_epi32(a##i##1, x, w1);                                         \
        a##i##2 = _mm512_dpbusd_epi32(a##i##2, x, w2);                                         \
        a##i##3 = _mm512_dpbusd_epi32(a##i##3, x, w3);                                         \
    }
#define Q_SUM(i)                                                                               \
    {                                                                                          \
        __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a##i##0, a##i##1),                \
                                       _mm512_unpackhi_epi32(a##i##0, a##i##1));               \
        __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a##i##2, a##i##3),                \
                                       _mm512_unpackhi_epi32(a##i##2, a##i##3));               \
        r[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23),                               \
                                _mm512_unpackhi_epi64(s01, s23));                              \
    }

static __attribute__((noinline)) void quad_tile(const dep_conv_args *a, const epi_consts *ec,
                                                long f0, long fend)
{
    TILE_PAIRS(QMR)
    const __m512i zero = _mm512_setzero_si512();
    Q_ROWS(Q_DECL)
    const int8_t *wt = a->w;
    for (int t = 0; t < a->T; t++, wt += 256) {
        __m512i w0 = _mm512_loadu_si512(wt), w1 = _mm512_loadu_si512(wt + 64);
        __m512i w2 = _mm512_loadu_si512(wt + 128), w3 = _mm512_loadu_si512(wt + 192);
        Q_ROWS(Q_STEP)
    }
    __m512i r[QMR];
    Q_ROWS(Q_SUM)
    const epi_consts E = *ec;
    __mmask16 k = a->OC == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << a->OC) - 1);
    __m512i zc = _mm512_maskz_loadu_epi32(k, a->zc);
    __m512 m = _mm512_maskz_loadu_ps(k, a->m), b = _mm512_maskz_loadu_ps(k, a->b);
    for (int i = 0; i < QMR && f0 + i < fend; i++)
        epi16(&E, si[i], pi[i], 0, k, r[i], zc, m, b);
}

static void vnni_conv(const dep_conv_args *a)
{
    int nblk = (a->OC + 15) / 16, ob = 0;
    epi_consts ec = epi_make(a);
    if (quad_fits(a->OC, a->T, a->Cp)) {
        long fend = (long)a->n * (a->p_hi - a->p_lo);
        for (long f0 = 0; f0 < fend; f0 += QMR)
            quad_tile(a, &ec, f0, fend);
        return;
    }
    for (; ob + 4 <= nblk; ob += 4)
        blocks_6_4(a, &ec, ob);
    switch (nblk - ob) {
    case 3: blocks_8_3(a, &ec, ob); break;
    case 2: blocks_12_2(a, &ec, ob); break;
    case 1: blocks_14_1(a, &ec, ob); break;
    default: break;
    }
}

/* depthwise: 16 channels a vector, int32 products (exact); masked loads
 * read no byte past a pixel's channels */
static void vnni_dw(const dep_conv_args *a)
{
    const int8_t *w = a->w;
    epi_consts ec = epi_make(a);
    for (int s = 0; s < a->n; s++) {
        const uint8_t *base = a->in + (size_t)s * a->in_stride;
        for (int p = a->p_lo; p < a->p_hi; p++) {
            const int32_t *ind = a->ind + (size_t)p * (size_t)a->T;
            for (int c = 0; c < a->OC; c += 16) {
                int rem = a->OC - c;
                __mmask16 k = rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);
                __m512i acc = _mm512_setzero_si512();
                for (int t = 0; t < a->T; t++) {
                    __m512i x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, base + ind[t] + c));
                    __m512i wv = _mm512_cvtepi8_epi32(
                        _mm_loadu_si128((const __m128i *)(w + (size_t)t * (size_t)a->Cp + (size_t)c)));
                    acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, wv));
                }
                epi16(&ec, s, p, c, k, acc, _mm512_maskz_loadu_epi32(k, a->zc + c),
                      _mm512_maskz_loadu_ps(k, a->m + c), _mm512_maskz_loadu_ps(k, a->b + c));
            }
        }
    }
}

const dep_kern dep_kern_vnni = {"avx512vnni", vnni_supported, vnni_wbytes, vnni_pack, vnni_conv,
                                vnni_dw};
#endif
