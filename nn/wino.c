/* wino.c: Winograd F(2x2, 3x3) kernels (see wino.h for the maths).
 *
 * Legend: C, OC channels; H = OH, W = OW; TH x TW = ceil(OH/2) x ceil(OW/2)
 * tiles per sample, T = TH*TW; S samples per chunk, N = S*T tiles.
 * Transformed arrays are (16, N, channels): position xi = 4k + l of the 4x4
 * domain (k vertical, l horizontal), then tile (sample-major, row-major
 * tiles), then channel, so each xi is a row-major (N, channels) GEMM
 * operand: M[xi] (N, OC) = V[xi] (N, C) @ U[xi]^T, U[xi] being (OC, C).
 * Channels last makes every transform a loop over channels with 16 loads
 * and 16 stores at fixed offsets, which GCC vectorises whole whatever the
 * image size (tiles along a row, the other candidate, are only 4-14 here).
 * For that a sample is moved once into a zero-padded pixel-major plane
 * (2TH+2, 2TW+2, C), plane[r][c] = x[r-1][c-1], so tiles need no bounds
 * tests (tile (ti, tj) reads plane rows and columns 2ti.., 2tj.., four of
 * each), and outputs come back through a (2TH, 2TW, OC) staging block. */
#include "nn/wino.h"

#include <string.h>

#include "nn/blas.h"
#include "nn/par.h"
#include "nn/vec.h"

/* Floats of transformed data (V and M) per chunk. The 16 GEMMs of a chunk
 * each read (C + OC) N floats, and all of V and M pass through the
 * transforms, so a chunk should stay near one core's L2 (1 MiB here):
 * 2^16..2^19 floats measured within noise of each other on resnet20's
 * shapes, 2^20 up to 10% slower (64 channels @7). A sample is never split. */
#define CHUNK_FLOATS (1 << 18)

typedef struct {
    int th, tw, T; /* tiles per column, per row, per sample */
    int pr, pc;    /* padded plane rows, columns */
    int S;         /* samples per chunk */
    size_t N;      /* tiles of a full chunk */
    size_t u;      /* shared: U (16, OC, C) */
    size_t du, db, part;         /* per-share block: offsets, size */
    size_t v, m, plane, work;    /* per-thread block: offsets, size */
} wino_plan;

static size_t pad16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* Floats between the 16 transformed arrays of n floats each: an odd number
 * of cache lines, so that the 16 streams a transform reads or writes at once
 * fall in different L1 sets. At n a multiple of 1024 (N C = 512 x 64) they
 * would all alias to one set: in the first, channels-first version of these
 * kernels, 64 channels @7 took 27.0 ms instead of 18.8 without the skew. */
static size_t xi_stride(size_t n)
{
    n = pad16(n);
    return (n / 16) % 2 ? n : n + 16;
}

int nn_wino_applies(const nn_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->ph == 1 && g->pw == 1 &&
           g->groups == 1;
}

static wino_plan plan_of(const nn_conv_geom *g)
{
    wino_plan p;
    size_t oc = (size_t)g->oc, c = (size_t)g->c, cmax = c > oc ? c : oc;
    p.th = (g->oh + 1) / 2;
    p.tw = (g->ow + 1) / 2;
    p.T = p.th * p.tw;
    p.pr = 2 * p.th + 2;
    p.pc = 2 * p.tw + 2;
    size_t per_sample = 16 * (size_t)p.T * (c + oc);
    p.S = CHUNK_FLOATS / per_sample > 1 ? (int)(CHUNK_FLOATS / per_sample) : 1;
    p.N = (size_t)p.S * (size_t)p.T;
    p.u = pad16(16 * oc * c);
    p.du = 0;
    p.db = pad16(16 * oc * c);
    p.part = p.db + pad16(oc);
    p.v = 0;
    p.m = p.v + 16 * xi_stride(p.N * c);
    p.plane = p.m + 16 * xi_stride(p.N * oc);
    p.work = p.plane + pad16((size_t)p.pr * (size_t)p.pc * cmax);
    return p;
}

void nn_wino_chunking(const nn_conv_geom *g, int *samples, int *tiles)
{
    wino_plan p = plan_of(g);
    *samples = p.S;
    *tiles = p.T;
}

size_t nn_wino_scratch_floats(const nn_conv_geom *g, int nthreads, int nshares)
{
    wino_plan p = plan_of(g);
    return p.u + p.part * (size_t)(nshares < 1 ? 1 : nshares) +
           p.work * (size_t)(nthreads < 1 ? 1 : nthreads);
}

/* ---- weight transforms ---- */

static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

/* U[xi] (OC, C) = G g G^T for output channels [o0, o1); in double, rounded once */
static void weights_fwd(const nn_conv_geom *g, const float *w, float *U, size_t o0, size_t o1)
{
    size_t oc = (size_t)g->oc, c = (size_t)g->c;
    for (size_t o = o0; o < o1; o++)
        for (size_t ci = 0; ci < c; ci++) {
            const float *k = w + (o * c + ci) * 9;
            double t[4][3];
            for (int a = 0; a < 4; a++)
                for (int j = 0; j < 3; j++)
                    t[a][j] = G[a][0] * k[j] + G[a][1] * k[3 + j] + G[a][2] * k[6 + j];
            for (int a = 0; a < 4; a++)
                for (int l = 0; l < 4; l++)
                    U[((size_t)(4 * a + l) * oc + o) * c + ci] =
                        (float)(t[a][0] * G[l][0] + t[a][1] * G[l][1] + t[a][2] * G[l][2]);
        }
}

/* dw (OC, C, 3, 3) += G^T dU G for output channels [o0, o1): the adjoint of weights_fwd */
static void weights_adj(const nn_conv_geom *g, const float *dU, float *dw, size_t o0, size_t o1)
{
    size_t oc = (size_t)g->oc, c = (size_t)g->c, oc_c = oc * c;
    for (size_t o = o0; o < o1; o++)
        for (size_t ci = 0; ci < c; ci++) {
            double t[3][4] = {{0}};
            for (int a = 0; a < 4; a++)
                for (int l = 0; l < 4; l++) {
                    double d = dU[(size_t)(4 * a + l) * oc_c + o * c + ci];
                    for (int i = 0; i < 3; i++)
                        t[i][l] += G[a][i] * d;
                }
            float *k = dw + (o * c + ci) * 9;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    k[3 * i + j] += (float)(t[i][0] * G[0][j] + t[i][1] * G[1][j] +
                                            t[i][2] * G[2][j] + t[i][3] * G[3][j]);
        }
}

/* ---- data transforms, one tile for all channels ----
 * Tile data is pixel-major: pixel (i, j) of a block at d + i rs + j nc;
 * transformed values at v + xi xs + c. The 16 arrays never overlap within
 * one channel loop (xs >= N * channels), which GCC cannot see: without
 * ivdep it wants 120 run-time overlap checks, more than it will emit, and
 * leaves the loops scalar (3x slower on 64 channels). */
#if defined(__GNUC__) && !defined(__clang__)
#define WINO_IVDEP _Pragma("GCC ivdep")
#else
#define WINO_IVDEP
#endif

/* v = B^T d B for the 4x4 patch at d */
static void tile_in(const float *restrict d, size_t rs, int nc, float *restrict v, size_t xs)
{
    WINO_IVDEP
    for (int c = 0; c < nc; c++) {
        float t[4][4];
        for (int j = 0; j < 4; j++) {
            const float *dj = d + (size_t)j * (size_t)nc + c;
            float d0 = dj[0], d1 = dj[rs], d2 = dj[2 * rs], d3 = dj[3 * rs];
            t[0][j] = d0 - d2;
            t[1][j] = d1 + d2;
            t[2][j] = d2 - d1;
            t[3][j] = d1 - d3;
        }
        for (int k = 0; k < 4; k++) {
            float *vk = v + (size_t)(4 * k) * xs + c;
            vk[0] = t[k][0] - t[k][2];
            vk[xs] = t[k][1] + t[k][2];
            vk[2 * xs] = t[k][2] - t[k][1];
            vk[3 * xs] = t[k][1] - t[k][3];
        }
    }
}

/* the 4x4 patch at d += B v B^T: the adjoint of tile_in */
static void tile_in_adj(const float *restrict v, size_t xs, int nc, float *restrict d, size_t rs)
{
    WINO_IVDEP
    for (int c = 0; c < nc; c++) {
        float u[4][4];
        for (int k = 0; k < 4; k++) {
            const float *vk = v + (size_t)(4 * k) * xs + c;
            float v0 = vk[0], v1 = vk[xs], v2 = vk[2 * xs], v3 = vk[3 * xs];
            u[k][0] = v0;
            u[k][1] = v1 - v2 + v3;
            u[k][2] = v1 + v2 - v0;
            u[k][3] = -v3;
        }
        for (int j = 0; j < 4; j++) {
            float *dj = d + (size_t)j * (size_t)nc + c;
            dj[0] += u[0][j];
            dj[rs] += u[1][j] - u[2][j] + u[3][j];
            dj[2 * rs] += u[1][j] + u[2][j] - u[0][j];
            dj[3 * rs] -= u[3][j];
        }
    }
}

/* the 2x2 block at y = A^T m A */
static void tile_out(const float *restrict m, size_t xs, int nc, float *restrict y, size_t rs)
{
    WINO_IVDEP
    for (int o = 0; o < nc; o++) {
        float s0[4], s1[4];
        for (int l = 0; l < 4; l++) {
            const float *ml = m + (size_t)l * xs + o;
            float m0 = ml[0], m1 = ml[4 * xs], m2 = ml[8 * xs], m3 = ml[12 * xs];
            s0[l] = m0 + m1 + m2;
            s1[l] = m1 - m2 - m3;
        }
        y[o] = s0[0] + s0[1] + s0[2];
        y[nc + o] = s0[1] - s0[2] - s0[3];
        y[rs + o] = s1[0] + s1[1] + s1[2];
        y[rs + (size_t)nc + o] = s1[1] - s1[2] - s1[3];
    }
}

/* m = A e A^T for the 2x2 block at e: the adjoint of tile_out */
static void tile_out_adj(const float *restrict e, size_t rs, int nc, float *restrict m, size_t xs)
{
    WINO_IVDEP
    for (int o = 0; o < nc; o++) {
        float a0 = e[o], a1 = e[nc + o], b0 = e[rs + o], b1 = e[rs + (size_t)nc + o];
        float r[4][2] = {{a0, a1}, {a0 + b0, a1 + b1}, {a0 - b0, a1 - b1}, {-b0, -b1}};
        for (int k = 0; k < 4; k++) {
            float *mk = m + (size_t)(4 * k) * xs + o;
            mk[0] = r[k][0];
            mk[xs] = r[k][0] + r[k][1];
            mk[2 * xs] = r[k][0] - r[k][1];
            mk[3 * xs] = -r[k][1];
        }
    }
}

/* ---- layout moves of one sample ---- */

/* A sample's row r moves between channel-major (channel c at s + c hw)
 * and pixel-major (pixel q at d + q nc) as one transposition of (nc, w).
 * Moving them element by element took half of the forward time at 16
 * channels @28 (a strided access per element, 5 moves of every sample per
 * step); with AVX-512 they go as 16 x 16 blocks transposed in registers. */
#if defined(__AVX512F__)
#include "nn/simd.h"

static inline __mmask16 lanes(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

static void row_to_pixels(const float *s, size_t hw, int nc, int w, float *d)
{
    for (int q0 = 0; q0 < w; q0 += 16)
        for (int c0 = 0; c0 < nc; c0 += 16) {
            int qn = w - q0 < 16 ? w - q0 : 16, cn = nc - c0 < 16 ? nc - c0 : 16;
            __mmask16 mq = lanes(qn), mc = lanes(cn);
            __m512 r[16], c[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < cn ? _mm512_maskz_loadu_ps(mq, s + (size_t)(c0 + i) * hw + q0)
                              : _mm512_setzero_ps();
            nn_simd_transpose16(r, c);
            for (int q = 0; q < qn; q++)
                _mm512_mask_storeu_ps(d + (size_t)(q0 + q) * (size_t)nc + c0, mc, c[q]);
        }
}

static void row_from_pixels(const float *s, int nc, int w, const float *bias, int acc, float *d,
                            size_t hw)
{
    for (int q0 = 0; q0 < w; q0 += 16)
        for (int c0 = 0; c0 < nc; c0 += 16) {
            int qn = w - q0 < 16 ? w - q0 : 16, cn = nc - c0 < 16 ? nc - c0 : 16;
            __mmask16 mq = lanes(qn), mc = lanes(cn);
            __m512 r[16], c[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < qn ? _mm512_maskz_loadu_ps(mc, s + (size_t)(q0 + i) * (size_t)nc + c0)
                              : _mm512_setzero_ps();
            nn_simd_transpose16(r, c);
            for (int i = 0; i < cn; i++) {
                float *o = d + (size_t)(c0 + i) * hw + q0;
                __m512 v = c[i];
                if (bias)
                    v = _mm512_add_ps(v, _mm512_set1_ps(bias[c0 + i]));
                if (acc)
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mq, o));
                _mm512_mask_storeu_ps(o, mq, v);
            }
        }
}
#else
static void row_to_pixels(const float *s, size_t hw, int nc, int w, float *d)
{
    for (int c = 0; c < nc; c++)
        for (int q = 0; q < w; q++)
            d[(size_t)q * (size_t)nc + (size_t)c] = s[(size_t)c * hw + (size_t)q];
}

static void row_from_pixels(const float *s, int nc, int w, const float *bias, int acc, float *d,
                            size_t hw)
{
    for (int c = 0; c < nc; c++) {
        float b = bias ? bias[c] : 0.0f, *o = d + (size_t)c * hw;
        for (int q = 0; q < w; q++)
            o[q] = (acc ? o[q] : 0.0f) + s[(size_t)q * (size_t)nc + (size_t)c] + b;
    }
}
#endif

/* dst (rows, cols, nc) at (r0, c0) = src (nc, h, w); the rest of dst zero */
static void to_pixels(int nc, int h, int w, const float *src, int rows, int cols, int r0, int c0,
                      float *dst)
{
    size_t hw = (size_t)h * (size_t)w, n = (size_t)nc;
    memset(dst, 0, sizeof(float) * (size_t)rows * (size_t)cols * n);
    for (int r = 0; r < h; r++)
        row_to_pixels(src + (size_t)r * (size_t)w, hw, nc, w,
                      dst + ((size_t)(r + r0) * (size_t)cols + (size_t)c0) * n);
}

/* dst (nc, h, w) = (acc ? dst : 0) + src (rows, cols, nc) at (r0, c0) (+ bias) */
static void from_pixels(int nc, int h, int w, const float *src, int cols, int r0, int c0,
                        const float *bias, int acc, float *dst)
{
    size_t hw = (size_t)h * (size_t)w;
    for (int r = 0; r < h; r++)
        row_from_pixels(src + ((size_t)(r + r0) * (size_t)cols + (size_t)c0) * (size_t)nc, nc, w,
                        bias, acc, dst + (size_t)r * (size_t)w, hw);
}

/* ---- jobs ---- */

typedef struct {
    const nn_conv_geom *g;
    wino_plan p;
    const float *x, *w, *b, *dy, *U;
    float *y, *dx, *dw, *db;
    int dx_acc;
    const int *idx;
    int n, ns, slots; /* samples, shares, threads that may take part */
    float *scratch;   /* U, the per-share blocks, then the per-thread ones at work */
    float *work;
} wino_job;

static size_t sample_of(const wino_job *j, long i)
{
    return (size_t)(j->idx ? j->idx[i] : (int)i);
}

static float *share_block(const wino_job *j, int s)
{
    return j->scratch + j->p.u + (size_t)s * j->p.part;
}

static float *slot_block(const wino_job *j)
{
    return j->work + (size_t)nn_par_slot() * j->p.work;
}

/* The weight transforms are split over output channels: they are ~1% of
 * a one-thread resnet20 step's CPU time (perf), so run serially they would
 * idle the other thread for ~2% of a two-thread step. */
static void weights_fwd_job(void *arg, int s, int ns)
{
    const wino_job *j = arg;
    long lo, hi;
    nn_par_range(j->g->oc, s, ns, &lo, &hi);
    weights_fwd(j->g, j->w, j->scratch, (size_t)lo, (size_t)hi);
}

/* share 0's dU += the other shares' in share order, then dw += G^T dU G,
 * for a range of the output channels (each element is summed in the same
 * order whichever range it falls in) */
static void weights_adj_job(void *arg, int s, int ns)
{
    const wino_job *j = arg;
    long lo, hi;
    nn_par_range(j->g->oc, s, ns, &lo, &hi);
    size_t c = (size_t)j->g->c, oc_c = (size_t)j->g->oc * c;
    float *dU0 = share_block(j, 0) + j->p.du;
    for (int t = 1; t < j->ns; t++) {
        const float *dU = share_block(j, t) + j->p.du;
        for (size_t xi = 0; xi < 16; xi++)
            for (size_t i = xi * oc_c + (size_t)lo * c; i < xi * oc_c + (size_t)hi * c; i++)
                dU0[i] += dU[i];
    }
    weights_adj(j->g, dU0, j->dw, (size_t)lo, (size_t)hi);
}

/* V (16, N, C) for samples [i0, i1) of the job */
static void chunk_input(const wino_job *j, long i0, long i1, float *sc, size_t N)
{
    const nn_conv_geom *g = j->g;
    const wino_plan *p = &j->p;
    size_t c = (size_t)g->c, xs = xi_stride(N * c), rs = (size_t)p->pc * c;
    float *plane = sc + p->plane;
    for (long i = i0; i < i1; i++) {
        to_pixels(g->c, g->h, g->w, j->x + sample_of(j, i) * c * (size_t)(g->h * g->w), p->pr,
                  p->pc, 1, 1, plane);
        float *v = sc + p->v + (size_t)(i - i0) * (size_t)p->T * c;
        for (int ti = 0; ti < p->th; ti++)
            for (int tj = 0; tj < p->tw; tj++, v += c)
                tile_in(plane + (size_t)(2 * ti) * rs + (size_t)(2 * tj) * c, rs, g->c, v, xs);
    }
}

static void forward_chunk(const wino_job *j, long i0, long i1, float *sc)
{
    const nn_conv_geom *g = j->g;
    const wino_plan *p = &j->p;
    size_t N = (size_t)(i1 - i0) * (size_t)p->T, oc = (size_t)g->oc, c = (size_t)g->c;
    size_t vs = xi_stride(N * c), ms = xi_stride(N * oc), rs = 2 * (size_t)p->tw * oc;
    chunk_input(j, i0, i1, sc, N);
    for (int xi = 0; xi < 16; xi++)
        nn_sgemm(0, 1, (int)N, g->oc, g->c, 1.0f, sc + p->v + (size_t)xi * vs, g->c,
                 j->U + (size_t)xi * oc * c, g->c, 0.0f, sc + p->m + (size_t)xi * ms, g->oc);
    float *stage = sc + p->plane;
    for (long i = i0; i < i1; i++) {
        const float *m = sc + p->m + (size_t)(i - i0) * (size_t)p->T * oc;
        for (int ti = 0; ti < p->th; ti++)
            for (int tj = 0; tj < p->tw; tj++, m += oc)
                tile_out(m, ms, g->oc, stage + (size_t)(2 * ti) * rs + (size_t)(2 * tj) * oc, rs);
        from_pixels(g->oc, g->oh, g->ow, stage, 2 * p->tw, 0, 0, j->b, 0,
                    j->y + sample_of(j, i) * oc * (size_t)(g->oh * g->ow));
    }
}

static void forward_job(void *arg, int s, int ns)
{
    const wino_job *j = arg;
    long lo, hi;
    nn_par_range(j->n, s, ns, &lo, &hi);
    float *sc = slot_block(j);
    for (long i = lo; i < hi; i += j->p.S)
        forward_chunk(j, i, i + j->p.S < hi ? i + j->p.S : hi, sc);
}

/* Shares (chunk boundaries, hence GEMM shapes, follow them), the
 * per-thread blocks, and how many threads those let take part. */
static void job_setup(wino_job *j, size_t scratch_n)
{
    int ns = nn_par_shares();
    j->ns = ns < j->n ? ns : j->n;
    size_t head = j->p.u + j->p.part * (size_t)ns;
    QA_ASSERT(scratch_n >= head + j->p.work);
    j->work = j->scratch + head;
    size_t fit = (scratch_n - head) / j->p.work;
    j->slots = fit < (size_t)NN_PAR_MAX_THREADS ? (int)fit : NN_PAR_MAX_THREADS;
}

void nn_wino_forward(const nn_conv_geom *g, const float *x, const float *w, const float *b,
                     float *y, const int *idx, int n, float *scratch, size_t scratch_n)
{
    QA_ASSERT(nn_wino_applies(g));
    wino_job j = {.g = g, .p = plan_of(g), .x = x, .w = w, .b = b, .y = y, .idx = idx, .n = n,
                  .scratch = scratch, .U = scratch};
    if (n < 1)
        return;
    job_setup(&j, scratch_n);
    nn_par_run(weights_fwd_job, &j, j.ns);
    nn_par_run_owned(forward_job, &j, j.ns, j.slots, n);
}

/* db += the sums of dy over samples [i0, i1), and their dM (16, N, OC) when
 * a weight or input gradient needs it */
static void chunk_dy(const wino_job *j, long i0, long i1, float *sc, size_t N, float *db,
                     int need_dm)
{
    const nn_conv_geom *g = j->g;
    const wino_plan *p = &j->p;
    size_t oc = (size_t)g->oc, P = (size_t)g->oh * (size_t)g->ow, ms = xi_stride(N * oc);
    size_t rs = 2 * (size_t)p->tw * oc;
    float *stage = sc + p->plane;
    for (long i = i0; i < i1; i++) {
        const float *dy = j->dy + sample_of(j, i) * oc * P;
        if (db)
            for (size_t o = 0; o < oc; o++)
                db[o] += (float)nn_vec_sum(dy + o * P, P);
        if (!need_dm)
            continue;
        to_pixels(g->oc, g->oh, g->ow, dy, 2 * p->th, 2 * p->tw, 0, 0, stage);
        float *m = sc + p->m + (size_t)(i - i0) * (size_t)p->T * oc;
        for (int ti = 0; ti < p->th; ti++)
            for (int tj = 0; tj < p->tw; tj++, m += oc)
                tile_out_adj(stage + (size_t)(2 * ti) * rs + (size_t)(2 * tj) * oc, rs, g->oc, m, ms);
    }
}

/* dx of samples [i0, i1) from dV (16, N, C) */
static void chunk_dx(const wino_job *j, long i0, long i1, float *sc, size_t N)
{
    const nn_conv_geom *g = j->g;
    const wino_plan *p = &j->p;
    size_t c = (size_t)g->c, xs = xi_stride(N * c), rs = (size_t)p->pc * c;
    float *plane = sc + p->plane;
    for (long i = i0; i < i1; i++) {
        memset(plane, 0, sizeof(float) * (size_t)p->pr * rs);
        const float *v = sc + p->v + (size_t)(i - i0) * (size_t)p->T * c;
        for (int ti = 0; ti < p->th; ti++)
            for (int tj = 0; tj < p->tw; tj++, v += c)
                tile_in_adj(v, xs, g->c, plane + (size_t)(2 * ti) * rs + (size_t)(2 * tj) * c, rs);
        from_pixels(g->c, g->h, g->w, plane, p->pc, 1, 1, NULL, j->dx_acc,
                    j->dx + sample_of(j, i) * c * (size_t)(g->h * g->w));
    }
}

/* dU += dM^T V, then V is overwritten by dV = dM U (16, N, C), xi by xi */
static void backward_chunk(const wino_job *j, long i0, long i1, float *sc, float *dU, float *db)
{
    const nn_conv_geom *g = j->g;
    const wino_plan *p = &j->p;
    size_t N = (size_t)(i1 - i0) * (size_t)p->T, oc = (size_t)g->oc, c = (size_t)g->c;
    size_t vs = xi_stride(N * c), ms = xi_stride(N * oc);
    if (dU)
        chunk_input(j, i0, i1, sc, N);
    chunk_dy(j, i0, i1, sc, N, db, dU || j->dx);
    for (int xi = 0; xi < 16; xi++) {
        const float *dM = sc + p->m + (size_t)xi * ms;
        float *V = sc + p->v + (size_t)xi * vs;
        if (dU)
            nn_sgemm(1, 0, g->oc, g->c, (int)N, 1.0f, dM, g->oc, V, g->c, 1.0f,
                     dU + (size_t)xi * oc * c, g->c);
        if (j->dx)
            nn_sgemm(0, 0, (int)N, g->c, g->oc, 1.0f, dM, g->oc, j->U + (size_t)xi * oc * c, g->c,
                     0.0f, V, g->c);
    }
    if (j->dx)
        chunk_dx(j, i0, i1, sc, N);
}
/* Every share sums its dU (and, but for share 0 which adds into the
 * caller's db, its db) in its own block; the caller reduces in share order. */
static void backward_job(void *arg, int s, int ns)
{
    const wino_job *j = arg;
    long lo, hi;
    nn_par_range(j->n, s, ns, &lo, &hi);
    float *sc = slot_block(j), *part = share_block(j, s);
    float *dU = j->dw ? part + j->p.du : NULL;
    float *db = j->db && s > 0 ? part + j->p.db : j->db;
    if (dU)
        memset(dU, 0, sizeof(float) * 16 * (size_t)j->g->oc * (size_t)j->g->c);
    if (db && s > 0)
        memset(db, 0, sizeof(float) * (size_t)j->g->oc);
    for (long i = lo; i < hi; i += j->p.S)
        backward_chunk(j, i, i + j->p.S < hi ? i + j->p.S : hi, sc, dU, db);
}

static void reduce_db(const wino_job *j)
{
    for (int t = 1; t < j->ns; t++)
        for (int i = 0; i < j->g->oc; i++)
            j->db[i] += share_block(j, t)[j->p.db + (size_t)i];
}

void nn_wino_backward(const nn_conv_geom *g, const float *x, const float *w, const float *dy,
                      float *dx, int dx_acc, float *dw, float *db, const int *idx, int n,
                      float *scratch, size_t scratch_n)
{
    QA_ASSERT(nn_wino_applies(g));
    wino_job j = {.g = g, .p = plan_of(g), .x = x, .w = w, .dy = dy, .dx = dx, .dx_acc = dx_acc,
                  .dw = dw, .db = db, .idx = idx, .n = n, .scratch = scratch, .U = scratch};
    if (n < 1)
        return;
    job_setup(&j, scratch_n);
    if (dx)
        nn_par_run(weights_fwd_job, &j, j.ns);
    nn_par_run_owned(backward_job, &j, j.ns, j.slots, n);
    /* other ranks' share blocks; share 0's db is the caller's */
    nn_par_gather(share_block(&j, 0), j.p.part * sizeof(float), n, 0, j.ns);
    if (db) {
        nn_par_gather(db, (size_t)g->oc * sizeof *db, n, 0, 1);
        reduce_db(&j);
    }
    if (dw)
        nn_par_run(weights_adj_job, &j, j.ns);
}
