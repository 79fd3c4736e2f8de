/* gemm.c: register-tiled GEMM kernels (gemm.h says what every one computes).
 *
 * C is cut into tiles of MR rows x NR columns; a tile's accumulators stay
 * in registers for the whole of K. Columns are the outer loop, so a sliver
 * of op(B) (K x NR) is read from cache by every row tile; op(A) is read
 * in place (a row tile broadcasts one value of each of its MR rows per k,
 * from A's rows or, transposed, from one contiguous run), op(B) in place
 * when its rows are contiguous, else packed. Edges are masked, and rows
 * past M repeat row 0 (computed, never stored), so no read leaves the
 * matrices. The x86 kernels are compiled for their instruction sets with
 * GCC's target attribute and chosen at run time; QA_PORTABLE or another
 * compiler leaves the portable one. */
#include "nn/gemm.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

/* one tile: op(A)[r,k] = a[r*ai + k*ak]; op(B)[k,j] = b[k*bk + j], or
 * brow[k][bj0 + j] with row pointers, or (portable kernel only, when no
 * packing buffer could be had) bcol[j][k]; C[r,j] at c[r*ldc + j] */
typedef struct {
    const float *a, *b;
    const float *const *brow, *const *bcol;
    float *c;
    long ai, ak, bk, bj0, ldc;
    int k;
    float alpha, beta;
} gemm_tile;

typedef void (*gemm_tile_fn)(const gemm_tile *t, int m, int n);
/* dst (K, nr) = the n columns of op(B) whose K values are col[j][0..K) */
typedef void (*gemm_pack_fn)(const float *const *col, int n, int K, int nr, float *dst);

static inline float finish(float acc, const float *c, float alpha, float beta)
{
    float r = alpha == 1.0f ? acc : alpha * acc;
    return beta == 0.0f ? r : beta == 1.0f ? *c + r : beta * *c + r;
}

/* rows in order, the NR accumulators of a row as one loop over j that GCC
 * vectorises (fmaf is exact, so it may) */
#define PORT_NR 32
static void tile_portable(const gemm_tile *t, int m, int n)
{
    for (int r = 0; r < m; r++) {
        float acc[PORT_NR] = {0};
        const float *a = t->a + r * t->ai;
        for (int k = 0; k < t->k; k++) {
            float x = a[k * t->ak];
            if (t->bcol) {
                for (int j = 0; j < n; j++)
                    acc[j] = fmaf(x, t->bcol[j][k], acc[j]);
                continue;
            }
            const float *b = t->brow ? t->brow[k] + t->bj0 : t->b + k * t->bk;
            for (int j = 0; j < n; j++)
                acc[j] = fmaf(x, b[j], acc[j]);
        }
        float *c = t->c + r * t->ldc;
        for (int j = 0; j < n; j++)
            c[j] = finish(acc[j], c + j, t->alpha, t->beta);
    }
}

/* k outer: the n source rows are read in step (n lines stay in L1, each
 * used for 16 k) and dst is written in order; j outer wrote a new line
 * at every k and took a third of a strided convolution's time. */
static void pack_cols(const float *const *col, int n, int K, int nr, float *dst)
{
    for (int k = 0; k < K; k++, dst += nr)
        for (int j = 0; j < n; j++)
            dst[j] = col[j][k];
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(QA_PORTABLE)
#define GEMM_X86 1
#include "nn/simd.h"

#define T512 __attribute__((target("avx512f")))
#define T256 __attribute__((target("avx2,fma")))
#define INLINE inline __attribute__((always_inline))

static inline __mmask16 mask16(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* C row r of a tile: (16 nv) columns from its accumulators */
T512 static INLINE void store512(const gemm_tile *t, int r, __m512 a0, __m512 a1, const __mmask16 *mk,
                                 const int nv)
{
    __m512 acc[2] = {a0, a1};
    for (int v = 0; v < nv; v++) {
        float *c = t->c + r * t->ldc + 16 * v;
        __m512 y = t->alpha == 1.0f ? acc[v] : _mm512_mul_ps(_mm512_set1_ps(t->alpha), acc[v]);
        if (t->beta != 0.0f) {
            __m512 old = _mm512_maskz_loadu_ps(mk[v], c);
            y = _mm512_add_ps(t->beta == 1.0f ? old : _mm512_mul_ps(_mm512_set1_ps(t->beta), old),
                              y);
        }
        _mm512_mask_storeu_ps(c, mk[v], y);
    }
}

/* 8 rows x (16 nv) columns, op(B)'s rows by pointer when rows; every loop
 * over the rows is unrolled, so the accumulators live in registers (an
 * indexed store loop would send them through the stack at every k) */
T512 static INLINE void tile512(const gemm_tile *t, int m, int n, const int nv, const int rows)
{
    const float *ar[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++)
        ar[r] = t->a + (r < m ? r : 0) * t->ai;
    __mmask16 mk[2] = {mask16(n), mask16(n - 16)};
    __m512 acc[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const float *b = t->b;
    const long ak = t->ak, bk = t->bk;
    const int K = t->k;
    long off = 0;
    for (int k = 0; k < K; k++, off += ak, b += bk) {
        const float *bp = rows ? t->brow[k] + t->bj0 : b;
        __m512 b0 = _mm512_maskz_loadu_ps(mk[0], bp);
        __m512 b1 = nv > 1 ? _mm512_maskz_loadu_ps(mk[1], bp + 16) : b0;
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            __m512 x = _mm512_set1_ps(ar[r][off]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            if (nv > 1)
                acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++)
        if (r < m)
            store512(t, r, acc[r][0], acc[r][1], mk, nv);
}

/* pack_cols by 16 x 16 blocks transposed in registers */
T512 static void pack512(const float *const *col, int n, int K, int nr, float *dst)
{
    for (int k0 = 0; k0 < K; k0 += 16) {
        int kn = K - k0 < 16 ? K - k0 : 16;
        __mmask16 mk = mask16(kn);
        for (int jb = 0; jb < n; jb += 16) {
            int jn = n - jb < 16 ? n - jb : 16;
            __m512 r[16], c[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < jn ? _mm512_maskz_loadu_ps(mk, col[jb + i] + k0) : _mm512_setzero_ps();
            nn_simd_transpose16(r, c);
            for (int kk = 0; kk < kn; kk++)
                _mm512_mask_storeu_ps(dst + (size_t)(k0 + kk) * (size_t)nr + (size_t)jb,
                                      mask16(jn), c[kk]);
        }
    }
}

T512 static void tile512_32(const gemm_tile *t, int m, int n)
{
    if (t->brow)
        n > 16 ? tile512(t, m, n, 2, 1) : tile512(t, m, n, 1, 1);
    else
        n > 16 ? tile512(t, m, n, 2, 0) : tile512(t, m, n, 1, 0);
}

/* lane masks of the first n (0..8) lanes of a ymm */
static const int lanes8[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

T256 static INLINE __m256i mask8(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(lanes8 + 8 - n));
}

T256 static INLINE void store256(const gemm_tile *t, int r, __m256 a0, __m256 a1, const __m256i *mk,
                                 const int nv)
{
    __m256 acc[2] = {a0, a1};
    for (int v = 0; v < nv; v++) {
        float *c = t->c + r * t->ldc + 8 * v;
        __m256 y = t->alpha == 1.0f ? acc[v] : _mm256_mul_ps(_mm256_set1_ps(t->alpha), acc[v]);
        if (t->beta != 0.0f) {
            __m256 old = _mm256_maskload_ps(c, mk[v]);
            y = _mm256_add_ps(t->beta == 1.0f ? old : _mm256_mul_ps(_mm256_set1_ps(t->beta), old),
                              y);
        }
        _mm256_maskstore_ps(c, mk[v], y);
    }
}

/* 6 rows x (8 nv) columns, as tile512 */
T256 static INLINE void tile256(const gemm_tile *t, int m, int n, const int nv, const int rows)
{
    const float *ar[6];
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++)
        ar[r] = t->a + (r < m ? r : 0) * t->ai;
    __m256i mk[2] = {mask8(n), mask8(n - 8)};
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const float *b = t->b;
    const long ak = t->ak, bk = t->bk;
    const int K = t->k;
    long off = 0;
    for (int k = 0; k < K; k++, off += ak, b += bk) {
        const float *bp = rows ? t->brow[k] + t->bj0 : b;
        __m256 b0 = _mm256_maskload_ps(bp, mk[0]);
        __m256 b1 = nv > 1 ? _mm256_maskload_ps(bp + 8, mk[1]) : b0;
#pragma GCC unroll 6
        for (int r = 0; r < 6; r++) {
            __m256 x = _mm256_broadcast_ss(ar[r] + off);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            if (nv > 1)
                acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++)
        if (r < m)
            store256(t, r, acc[r][0], acc[r][1], mk, nv);
}

T256 static void tile256_16(const gemm_tile *t, int m, int n)
{
    if (t->brow)
        n > 8 ? tile256(t, m, n, 2, 1) : tile256(t, m, n, 1, 1);
    else
        n > 8 ? tile256(t, m, n, 2, 0) : tile256(t, m, n, 1, 0);
}
#endif

typedef struct {
    const char *name;
    int mr, nr;
    gemm_tile_fn tile; /* NULL: not in this build */
    gemm_pack_fn pack;
} gemm_impl;

/* by nn_gemm_kernel; AUTO tries the others in order (nn_gemm_available
 * asks the CPU: __builtin_cpu_supports takes only literal names) */
static const gemm_impl IMPLS[] = {
    {"auto", 0, 0, NULL, NULL},
#if GEMM_X86
    {"avx512", 8, 32, tile512_32, pack512},
    {"avx2", 6, 16, tile256_16, pack_cols},
#else
    {"avx512", 8, 32, NULL, NULL},
    {"avx2", 6, 16, NULL, NULL},
#endif
    {"portable", 8, PORT_NR, tile_portable, pack_cols},
};

int nn_gemm_available(nn_gemm_kernel k)
{
    if (k == NN_GEMM_AUTO)
        return 1;
    if (k < 0 || k > NN_GEMM_PORTABLE || !IMPLS[k].tile)
        return 0;
#if GEMM_X86
    if (k == NN_GEMM_AVX512)
        return __builtin_cpu_supports("avx512f");
    if (k == NN_GEMM_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return 1;
}

nn_gemm_kernel nn_gemm_resolve(nn_gemm_kernel k)
{
    if (k != NN_GEMM_AUTO)
        return k;
    for (int i = NN_GEMM_AVX512; i <= NN_GEMM_PORTABLE; i++)
        if (nn_gemm_available((nn_gemm_kernel)i))
            return (nn_gemm_kernel)i;
    return NN_GEMM_PORTABLE;
}

const char *nn_gemm_name(nn_gemm_kernel k)
{
    return k >= NN_GEMM_AUTO && k <= NN_GEMM_PORTABLE ? IMPLS[k].name : "?";
}

/* ---- the packing buffer of op(B) slivers, one per thread ---- */

typedef struct {
    float *p;
    size_t n;
} pack_buf;

static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;
static int pack_ok;

static void pack_free(void *v)
{
    pack_buf *b = v;
    free(b->p);
    free(b);
}

static void pack_init(void)
{
    pack_ok = pthread_key_create(&pack_key, pack_free) == 0;
}

/* n floats of this thread's buffer, or NULL when memory runs out (the
 * caller then reads op(B) in place with the portable kernel: same bits) */
static float *pack_get(size_t n)
{
    pthread_once(&pack_once, pack_init);
    if (!pack_ok)
        return NULL;
    pack_buf *b = pthread_getspecific(pack_key);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || pthread_setspecific(pack_key, b) != 0) {
            free(b);
            return NULL;
        }
    }
    if (b->n < n) {
        float *p = malloc(n * sizeof *p);
        if (!p)
            return NULL;
        free(b->p);
        b->p = p;
        b->n = n;
    }
    return b->p;
}

/* op(B)'s sliver [j0, j0 + n) for a tile: in place, or packed into pack
 * (col: room for n <= NR column pointers, which the portable kernel reads
 * in place when there is no pack) */
static void sliver(const gemm_impl *im, const nn_gemm_b *B, int j0, int n, int K, float *pack,
                   const float **col, gemm_tile *t)
{
    t->b = NULL;
    t->brow = t->bcol = NULL;
    if (!B->t && !B->rows) {
        t->b = B->m + j0;
        t->bk = B->ld;
        return;
    }
    if (!B->t) {
        t->brow = B->rows;
        t->bj0 = j0;
        return;
    }
    for (int j = 0; j < n; j++)
        col[j] = B->rows ? B->rows[j0 + j] : B->m + (size_t)(j0 + j) * (size_t)B->ld;
    if (!pack) {
        t->bcol = col;
        return;
    }
    im->pack(col, n, K, im->nr, pack);
    t->b = pack;
    t->bk = im->nr;
}

void nn_gemm(nn_gemm_kernel k, int ta, int M, int N, int K, float alpha, const float *A, int lda,
             const nn_gemm_b *B, float beta, float *C, int ldc)
{
    const gemm_impl *im = &IMPLS[nn_gemm_resolve(k)];
    if (M <= 0 || N <= 0)
        return;
    float *pack = B->t ? pack_get((size_t)K * (size_t)im->nr) : NULL;
    gemm_tile_fn tile = B->t && !pack ? tile_portable : im->tile;
    gemm_tile t = {.ai = ta ? 1 : lda, .ak = ta ? lda : 1, .ldc = ldc, .k = K, .alpha = alpha,
                   .beta = beta};
    const float *col[PORT_NR]; /* every kernel's NR is at most PORT_NR */
    for (int j0 = 0; j0 < N; j0 += im->nr) {
        int n = N - j0 < im->nr ? N - j0 : im->nr;
        sliver(im, B, j0, n, K, pack, col, &t);
        for (int i0 = 0; i0 < M; i0 += im->mr) {
            t.a = A + (size_t)i0 * (size_t)t.ai;
            t.c = C + (size_t)i0 * (size_t)ldc + (size_t)j0;
            tile(&t, M - i0 < im->mr ? M - i0 : im->mr, n);
        }
    }
}
