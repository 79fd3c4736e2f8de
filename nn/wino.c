/* wino.c: Winograd F(2x2, 3x3) kernels (see wino.h for the maths).
 *
 * Legend: C, OC channels; H = OH, W = OW; TH x TW = ceil(OH/2) x ceil(OW/2)
 * tiles per sample, T = TH*TW; S samples per chunk, N = S*T GEMM columns.
 * Transformed arrays are (16, channels, N): position xi = 4k + l of the 4x4
 * domain (k vertical, l horizontal), then channel, then tile (sample-major,
 * row-major tiles), so each xi is a row-major (channels, N) GEMM operand.
 * A patch is read from a zero-padded plane (2TH+2, 2TW+2) of one channel,
 * plane[r][c] = x[r-1][c-1], so tiles need no bounds tests; tile (ti, tj)
 * reads plane rows and columns 2ti.., 2tj.. (four of each). The transforms
 * run a whole tile row at a time: first across the four rows (vectors of
 * plane width), then along the row with stride-2 reads, which GCC
 * vectorises; their cost is O(16) adds per tile and channel against
 * O(16 C) multiply-adds per tile and output channel in the GEMMs. */
#include "nn/wino.h"

#include <string.h>

#include "nn/blas.h"
#include "nn/par.h"
#include "nn/vec.h"

/* GEMM columns per chunk. The 16 GEMMs of a chunk read (C + OC) * N floats
 * each; 512 columns keep one GEMM's operands within L2 (128 KiB at
 * C = OC = 32) while giving OpenBLAS wide enough panels; see the commit
 * message for the measurement. A sample is never split across chunks. */
#define CHUNK_TILES 512

typedef struct {
    int th, tw, T;     /* tiles per column, per row, per sample */
    int pr, pc;        /* padded plane rows, columns */
    int S;             /* samples per chunk */
    size_t N;          /* GEMM columns of a full chunk */
    size_t u;          /* shared: U (16, OC, C) */
    size_t v, m, plane, rows, du, db, per_thread; /* per-thread block offsets */
} wino_plan;

static size_t pad16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* Floats between the 16 transformed arrays of n floats each: an odd number
 * of cache lines, so that the 16 streams a transform reads or writes at once
 * fall in different L1 sets. At n a multiple of 1024 (C N = 64 x 512) they
 * would all alias to one set, and the transforms ran 3x slower. */
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
    p.th = (g->oh + 1) / 2;
    p.tw = (g->ow + 1) / 2;
    p.T = p.th * p.tw;
    p.pr = 2 * p.th + 2;
    p.pc = 2 * p.tw + 2;
    p.S = CHUNK_TILES / p.T > 1 ? CHUNK_TILES / p.T : 1;
    p.N = (size_t)p.S * (size_t)p.T;
    size_t oc = (size_t)g->oc, c = (size_t)g->c;
    p.u = pad16(16 * oc * c);
    p.v = 0;
    p.m = p.v + 16 * xi_stride(c * p.N);
    p.plane = p.m + 16 * xi_stride(oc * p.N);
    p.rows = p.plane + pad16((size_t)p.pr * (size_t)p.pc);
    p.du = p.rows + pad16(4 * (size_t)p.pc);
    p.db = p.du + pad16(16 * oc * c);
    p.per_thread = p.db + pad16(oc);
    return p;
}

size_t nn_wino_scratch_floats(const nn_conv_geom *g, int nthreads)
{
    wino_plan p = plan_of(g);
    return p.u + p.per_thread * (size_t)(nthreads < 1 ? 1 : nthreads);
}

/* ---- weight transforms ---- */

static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

/* U[xi] (OC, C) = G g G^T for every (o, c); in double, rounded once */
static void weights_fwd(const nn_conv_geom *g, const float *w, float *U)
{
    size_t oc = (size_t)g->oc, c = (size_t)g->c;
    for (size_t o = 0; o < oc; o++)
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

/* dw (OC, C, 3, 3) += G^T dU G: the adjoint of weights_fwd */
static void weights_adj(const nn_conv_geom *g, const float *dU, float *dw)
{
    size_t oc = (size_t)g->oc, c = (size_t)g->c, oc_c = oc * c;
    for (size_t o = 0; o < oc; o++)
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

/* ---- data transforms (one channel of one sample) ----
 * out/in: the first of 16 (channels, N) arrays at this channel and the
 * sample's first tile; xs: floats between consecutive xi arrays. */

/* V = B^T d B for every tile; plane is scratch of the padded plane */
static void input_fwd(const wino_plan *p, int h, int w, const float *x, float *plane,
                      float *rows, float *V, size_t xs)
{
    memset(plane, 0, sizeof(float) * (size_t)p->pr * (size_t)p->pc);
    for (int r = 0; r < h; r++)
        memcpy(plane + (size_t)(r + 1) * (size_t)p->pc + 1, x + (size_t)r * (size_t)w,
               sizeof(float) * (size_t)w);
    int pc = p->pc, tw = p->tw;
    float *t0 = rows, *t1 = rows + pc, *t2 = rows + 2 * pc, *t3 = rows + 3 * pc;
    for (int ti = 0; ti < p->th; ti++) {
        const float *d0 = plane + (size_t)(2 * ti) * (size_t)pc, *d1 = d0 + pc, *d2 = d1 + pc,
                    *d3 = d2 + pc;
        for (int j = 0; j < pc; j++) {
            t0[j] = d0[j] - d2[j];
            t1[j] = d1[j] + d2[j];
            t2[j] = d2[j] - d1[j];
            t3[j] = d1[j] - d3[j];
        }
        size_t o = (size_t)ti * (size_t)tw;
        for (int k = 0; k < 4; k++) {
            const float *t = rows + k * pc;
            float *v0 = V + (size_t)(4 * k) * xs + o, *v1 = v0 + xs, *v2 = v1 + xs, *v3 = v2 + xs;
            for (int tj = 0; tj < tw; tj++) {
                const float *s = t + 2 * tj;
                v0[tj] = s[0] - s[2];
                v1[tj] = s[1] + s[2];
                v2[tj] = s[2] - s[1];
                v3[tj] = s[1] - s[3];
            }
        }
    }
}

/* dx (H, W) = (acc ? dx : 0) + the patches B dV B^T added at their places */
static void input_adj(const wino_plan *p, int h, int w, const float *dV, size_t xs, float *plane,
                      float *rows, float *dx, int acc)
{
    int pc = p->pc, tw = p->tw;
    memset(plane, 0, sizeof(float) * (size_t)p->pr * (size_t)pc);
    for (int ti = 0; ti < p->th; ti++) {
        size_t o = (size_t)ti * (size_t)tw;
        /* u_k[2m], u_k[2m+1] gather tile m (columns 0, 1) and tile m-1
         * (columns 2, 3), so the row is written once, without overlap */
        for (int k = 0; k < 4; k++) {
            const float *v0 = dV + (size_t)(4 * k) * xs + o, *v1 = v0 + xs, *v2 = v1 + xs,
                        *v3 = v2 + xs;
            float *u = rows + k * pc;
            u[0] = v0[0];
            u[1] = v1[0] - v2[0] + v3[0];
            for (int m = 1; m < tw; m++) {
                u[2 * m] = v0[m] - v0[m - 1] + v1[m - 1] + v2[m - 1];
                u[2 * m + 1] = v1[m] - v2[m] + v3[m] - v3[m - 1];
            }
            u[2 * tw] = -v0[tw - 1] + v1[tw - 1] + v2[tw - 1];
            u[2 * tw + 1] = -v3[tw - 1];
        }
        const float *u0 = rows, *u1 = rows + pc, *u2 = rows + 2 * pc, *u3 = rows + 3 * pc;
        float *d0 = plane + (size_t)(2 * ti) * (size_t)pc, *d1 = d0 + pc, *d2 = d1 + pc, *d3 = d2 + pc;
        for (int j = 0; j < pc; j++) {
            d0[j] += u0[j];
            d1[j] += u1[j] - u2[j] + u3[j];
            d2[j] += -u0[j] + u1[j] + u2[j];
            d3[j] -= u3[j];
        }
    }
    for (int r = 0; r < h; r++) {
        const float *s = plane + (size_t)(r + 1) * (size_t)pc + 1;
        float *d = dx + (size_t)r * (size_t)w;
        if (acc)
            for (int j = 0; j < w; j++)
                d[j] += s[j];
        else
            memcpy(d, s, sizeof(float) * (size_t)w);
    }
}

/* y (OH, OW) = A^T M A (+ bias) per tile, the rows/columns past OH/OW dropped */
static void output_fwd(const wino_plan *p, int oh, int ow, const float *M, size_t xs, float bias,
                       float *rows, float *y)
{
    int tw = p->tw;
    float *r0 = rows, *r1 = rows + p->pc;
    for (int ti = 0; ti < p->th; ti++) {
        const float *m[16];
        for (int xi = 0; xi < 16; xi++)
            m[xi] = M + (size_t)xi * xs + (size_t)ti * (size_t)tw;
        for (int tj = 0; tj < tw; tj++) {
            float s0[4], s1[4];
            for (int l = 0; l < 4; l++) {
                s0[l] = m[l][tj] + m[4 + l][tj] + m[8 + l][tj];
                s1[l] = m[4 + l][tj] - m[8 + l][tj] - m[12 + l][tj];
            }
            r0[2 * tj] = s0[0] + s0[1] + s0[2] + bias;
            r0[2 * tj + 1] = s0[1] - s0[2] - s0[3] + bias;
            r1[2 * tj] = s1[0] + s1[1] + s1[2] + bias;
            r1[2 * tj + 1] = s1[1] - s1[2] - s1[3] + bias;
        }
        memcpy(y + (size_t)(2 * ti) * (size_t)ow, r0, sizeof(float) * (size_t)ow);
        if (2 * ti + 1 < oh)
            memcpy(y + (size_t)(2 * ti + 1) * (size_t)ow, r1, sizeof(float) * (size_t)ow);
    }
}

/* dM = A dY A^T per tile, dY read as zero past OH/OW: the adjoint of output_fwd */
static void output_adj(const wino_plan *p, int oh, int ow, const float *dy, float *rows,
                       float *dM, size_t xs)
{
    int tw = p->tw;
    float *e0 = rows, *e1 = rows + p->pc;
    for (int ti = 0; ti < p->th; ti++) {
        memcpy(e0, dy + (size_t)(2 * ti) * (size_t)ow, sizeof(float) * (size_t)ow);
        if (2 * ti + 1 < oh)
            memcpy(e1, dy + (size_t)(2 * ti + 1) * (size_t)ow, sizeof(float) * (size_t)ow);
        else
            memset(e1, 0, sizeof(float) * (size_t)ow);
        e0[ow] = e1[ow] = 0.0f; /* the dropped column of an odd OW */
        float *m[16];
        for (int xi = 0; xi < 16; xi++)
            m[xi] = dM + (size_t)xi * xs + (size_t)ti * (size_t)tw;
        for (int tj = 0; tj < tw; tj++) {
            float a0 = e0[2 * tj], a1 = e0[2 * tj + 1], b0 = e1[2 * tj], b1 = e1[2 * tj + 1];
            float r[4][2] = {{a0, a1}, {a0 + b0, a1 + b1}, {a0 - b0, a1 - b1}, {-b0, -b1}};
            for (int k = 0; k < 4; k++) {
                m[4 * k][tj] = r[k][0];
                m[4 * k + 1][tj] = r[k][0] + r[k][1];
                m[4 * k + 2][tj] = r[k][0] - r[k][1];
                m[4 * k + 3][tj] = -r[k][1];
            }
        }
    }
}

/* ---- jobs ---- */

typedef struct {
    const nn_conv_geom *g;
    wino_plan p;
    const float *x, *b, *dy, *U;
    float *y, *dx, *dw, *db;
    int dx_acc;
    const int *idx;
    int n;
    float *scratch;
} wino_job;

static size_t sample_of(const wino_job *j, long i)
{
    return (size_t)(j->idx ? j->idx[i] : (int)i);
}

static float *thread_block(const wino_job *j, int tid)
{
    return j->scratch + j->p.u + (size_t)tid * j->p.per_thread;
}

/* V (16, C, N) for samples [i0, i1) of the job */
static void chunk_input(const wino_job *j, long i0, long i1, float *sc, size_t N)
{
    const nn_conv_geom *g = j->g;
    size_t hw = (size_t)g->h * (size_t)g->w, xs = xi_stride((size_t)g->c * N);
    for (long i = i0; i < i1; i++) {
        const float *x = j->x + sample_of(j, i) * (size_t)g->c * hw;
        size_t col = (size_t)(i - i0) * (size_t)j->p.T;
        for (int c = 0; c < g->c; c++)
            input_fwd(&j->p, g->h, g->w, x + (size_t)c * hw, sc + j->p.plane, sc + j->p.rows,
                      sc + j->p.v + (size_t)c * N + col, xs);
    }
}

static void forward_chunk(const wino_job *j, long i0, long i1, float *sc)
{
    const nn_conv_geom *g = j->g;
    size_t N = (size_t)(i1 - i0) * (size_t)j->p.T, P = (size_t)g->oh * (size_t)g->ow;
    size_t oc = (size_t)g->oc, c = (size_t)g->c, vs = xi_stride(c * N), ms = xi_stride(oc * N);
    chunk_input(j, i0, i1, sc, N);
    for (int xi = 0; xi < 16; xi++)
        nn_sgemm(0, 0, g->oc, (int)N, g->c, 1.0f, j->U + (size_t)xi * oc * c, g->c,
                 sc + j->p.v + (size_t)xi * vs, (int)N, 0.0f, sc + j->p.m + (size_t)xi * ms, (int)N);
    for (long i = i0; i < i1; i++) {
        float *y = j->y + sample_of(j, i) * oc * P;
        size_t col = (size_t)(i - i0) * (size_t)j->p.T;
        for (size_t o = 0; o < oc; o++)
            output_fwd(&j->p, g->oh, g->ow, sc + j->p.m + o * N + col, ms,
                       j->b ? j->b[o] : 0.0f, sc + j->p.rows, y + o * P);
    }
}

static void forward_job(void *arg, int tid, int nt)
{
    const wino_job *j = arg;
    long lo, hi;
    nn_par_range(j->n, tid, nt, &lo, &hi);
    float *sc = thread_block(j, tid);
    for (long i = lo; i < hi; i += j->p.S)
        forward_chunk(j, i, i + j->p.S < hi ? i + j->p.S : hi, sc);
}

static int usable_threads(const wino_plan *p, size_t scratch_n, int n)
{
    QA_ASSERT(scratch_n >= p->u + p->per_thread);
    size_t fit = (scratch_n - p->u) / p->per_thread;
    int nt = nn_par_threads();
    if ((size_t)nt > fit)
        nt = (int)fit;
    return nt > n ? n : nt;
}

void nn_wino_forward(const nn_conv_geom *g, const float *x, const float *w, const float *b,
                     float *y, const int *idx, int n, float *scratch, size_t scratch_n)
{
    QA_ASSERT(nn_wino_applies(g));
    wino_job j = {.g = g, .p = plan_of(g), .x = x, .b = b, .y = y, .idx = idx, .n = n,
                  .scratch = scratch, .U = scratch};
    if (n < 1)
        return;
    weights_fwd(g, w, scratch);
    nn_par_run(forward_job, &j, usable_threads(&j.p, scratch_n, n));
}

/* db += the sums of dy over samples [i0, i1), and their dM (16, OC, N) when
 * a weight or input gradient needs it */
static void chunk_dy(const wino_job *j, long i0, long i1, float *sc, size_t N, float *db,
                     int need_dm)
{
    const nn_conv_geom *g = j->g;
    size_t oc = (size_t)g->oc, P = (size_t)g->oh * (size_t)g->ow;
    for (long i = i0; i < i1; i++) {
        const float *dy = j->dy + sample_of(j, i) * oc * P;
        size_t col = (size_t)(i - i0) * (size_t)j->p.T;
        for (size_t o = 0; o < oc; o++) {
            if (db)
                db[o] += (float)nn_vec_sum(dy + o * P, P);
            if (need_dm)
                output_adj(&j->p, g->oh, g->ow, dy + o * P, sc + j->p.rows,
                           sc + j->p.m + o * N + col, xi_stride(oc * N));
        }
    }
}

/* dU += dM V^T, then V is overwritten by dV = U^T dM (16, C, N), xi by xi */
static void backward_chunk(const wino_job *j, long i0, long i1, float *sc, float *dU, float *db)
{
    const nn_conv_geom *g = j->g;
    size_t N = (size_t)(i1 - i0) * (size_t)j->p.T, oc = (size_t)g->oc, c = (size_t)g->c;
    size_t hw = (size_t)g->h * (size_t)g->w;
    if (dU)
        chunk_input(j, i0, i1, sc, N);
    chunk_dy(j, i0, i1, sc, N, db, dU || j->dx);
    for (int xi = 0; xi < 16; xi++) {
        const float *dM = sc + j->p.m + (size_t)xi * xi_stride(oc * N);
        float *V = sc + j->p.v + (size_t)xi * xi_stride(c * N);
        if (dU)
            nn_sgemm(0, 1, g->oc, g->c, (int)N, 1.0f, dM, (int)N, V, (int)N, 1.0f,
                     dU + (size_t)xi * oc * c, g->c);
        if (j->dx)
            nn_sgemm(1, 0, g->c, (int)N, g->oc, 1.0f, j->U + (size_t)xi * oc * c, g->c, dM, (int)N,
                     0.0f, V, (int)N);
    }
    if (!j->dx)
        return;
    for (long i = i0; i < i1; i++) {
        float *dx = j->dx + sample_of(j, i) * c * hw;
        size_t col = (size_t)(i - i0) * (size_t)j->p.T;
        for (size_t ci = 0; ci < c; ci++)
            input_adj(&j->p, g->h, g->w, sc + j->p.v + ci * N + col, xi_stride(c * N), sc + j->p.plane,
                      sc + j->p.rows, dx + ci * hw, j->dx_acc);
    }
}

/* Every thread sums its dU (and, but for thread 0 which adds into the
 * caller's db, its db) in its own block; the caller reduces in thread order. */
static void backward_job(void *arg, int tid, int nt)
{
    const wino_job *j = arg;
    long lo, hi;
    nn_par_range(j->n, tid, nt, &lo, &hi);
    float *sc = thread_block(j, tid);
    float *dU = j->dw ? sc + j->p.du : NULL;
    float *db = j->db && tid > 0 ? sc + j->p.db : j->db;
    if (dU)
        memset(dU, 0, sizeof(float) * 16 * (size_t)j->g->oc * (size_t)j->g->c);
    if (db && tid > 0)
        memset(db, 0, sizeof(float) * (size_t)j->g->oc);
    for (long i = lo; i < hi; i += j->p.S)
        backward_chunk(j, i, i + j->p.S < hi ? i + j->p.S : hi, sc, dU, db);
}

static void reduce_partials(const wino_job *j, int nt)
{
    size_t nu = 16 * (size_t)j->g->oc * (size_t)j->g->c;
    float *dU0 = thread_block(j, 0) + j->p.du;
    for (int t = 1; t < nt; t++) {
        const float *sc = thread_block(j, t);
        if (j->dw)
            for (size_t i = 0; i < nu; i++)
                dU0[i] += sc[j->p.du + i];
        if (j->db)
            for (int i = 0; i < j->g->oc; i++)
                j->db[i] += sc[j->p.db + (size_t)i];
    }
    if (j->dw)
        weights_adj(j->g, dU0, j->dw);
}

void nn_wino_backward(const nn_conv_geom *g, const float *x, const float *w, const float *dy,
                      float *dx, int dx_acc, float *dw, float *db, const int *idx, int n,
                      float *scratch, size_t scratch_n)
{
    QA_ASSERT(nn_wino_applies(g));
    wino_job j = {.g = g, .p = plan_of(g), .x = x, .dy = dy, .dx = dx, .dx_acc = dx_acc,
                  .dw = dw, .db = db, .idx = idx, .n = n, .scratch = scratch, .U = scratch};
    if (n < 1)
        return;
    if (dx)
        weights_fwd(g, w, scratch);
    int nt = usable_threads(&j.p, scratch_n, n);
    nn_par_run(backward_job, &j, nt);
    reduce_partials(&j, nt);
}
