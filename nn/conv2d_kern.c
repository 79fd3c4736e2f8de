/* conv2d_kern.c: the convolution kernels on explicit pointers.
 *
 * The selected samples are split into nn_par_shares() contiguous shares
 * (fewer when there are fewer samples), each handled one sample at a time
 * in the scratch block of the thread running it: im2col of the sample
 * (Kg, N) -> one GEMM per group
 * (OCg, Kg) @ (Kg, N). One sample's columns stay in L2, and OpenBLAS keeps
 * 90-105 GFLOP/s per core on these shapes down to N = 49 (measured for
 * small's conv1-conv3), so batching samples into wider GEMMs would only add
 * copies in and out of NCHW.
 * Narrow lowering (N = P = OH*OW): the GEMM writes the sample's NCHW output
 * and reads dy in place. Wide lowering (N = OH*QW, see im2col.h): a tap is
 * one copy instead of OH, paid for by QW/OW more GEMM columns and one
 * compaction of y (expansion of dy, with zero junk) per sample; it is used
 * when it saves row copies (many input channels per output channel, e.g.
 * 3x3 convolutions after the first layer). A 1x1 stride-1 unpadded
 * convolution reads x and writes dx directly. 3x3 stride-1 pad-1
 * convolutions with enough channels go to Winograd F(2x2, 3x3) (wino.h)
 * instead; use_wino says when. With qadapt's GEMM kernels (nn_blas_rows)
 * the wide lowering is not copied at all: the GEMMs read its rows where
 * they lie in the phase planes (nn_im2col_rows), the same values in the
 * same order, so the results are those of the copy; only dx's columns are
 * still materialised (col2im adds them back in a fixed order). */
#include <string.h>

#include "nn/blas.h"
#include "nn/conv2d.h"
#include "nn/par.h"
#include "nn/vec.h"
#include "nn/wino.h"

/* Scratch: the partial weight and bias gradients of shares 1.. (share 0
 * sums into the caller's), then one block of lowering buffers per thread. */
typedef struct {
    int P, Kg, OCg, Cg;          /* positions, GEMM depth, channels per group */
    int ld, N;                   /* lowering row length (OW or QW), GEMM columns OH*ld */
    size_t dw, db, part;         /* per-share block: offsets, size (floats) */
    size_t planes, col, ybuf, rows, work; /* per-thread block: offsets, size (floats) */
} conv_plan;

static size_t pad16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* Row copies per sample, forward and backward: narrow 3 Kg OH (im2col
 * twice, col2im), wide 3 Kg (whole taps) + 2 OCg OH (compact y, expand dy). */
static int use_wide(const nn_conv_geom *g, int Kg, int OCg)
{
    return nn_im2col_wide_width(g) > g->ow && 3L * Kg * g->oh > 3L * Kg + 2L * OCg * g->oh;
}

static conv_plan plan_of(const nn_conv_geom *g)
{
    conv_plan p;
    p.P = g->oh * g->ow;
    p.Cg = g->c / g->groups;
    p.OCg = g->oc / g->groups;
    p.Kg = p.Cg * g->kh * g->kw;
    p.ld = use_wide(g, p.Kg, p.OCg) ? nn_im2col_wide_width(g) : g->ow;
    p.N = g->oh * p.ld;
    p.dw = 0;
    p.db = pad16((size_t)g->oc * (size_t)p.Kg);
    p.part = p.db + pad16((size_t)g->oc);
    p.planes = 0;
    p.col = pad16(nn_im2col_planes_floats(g, p.Cg));
    p.ybuf = p.col + pad16((size_t)p.Kg * (size_t)p.N);
    p.rows = p.ybuf + (p.ld == g->ow ? 0 : pad16((size_t)p.OCg * (size_t)p.N));
    p.work = p.rows + pad16(2 * (size_t)p.Kg); /* Kg row pointers */
    return p;
}

/* Winograd F(2x2, 3x3) does 16/36 of im2col's multiply-adds (16 per 2x2
 * tile and channel pair instead of 4 x 9) plus transforms of 16 values per
 * tile and channel, so it pays once C and OC are large enough for the
 * GEMMs to dominate. Measured (1 thread, batch 128, forward + backward,
 * C = OC): at 8 channels the two paths are level at 28x28 (7.4 ms each)
 * and Winograd ahead at 14x14 and 7x7 (2.0 vs 2.1, 0.6 vs 0.8 ms); at 16
 * it is 2x faster; at 4 im2col is 2.3x faster (2.9 vs 6.7 ms @28). */
#define WINO_MIN_CH 8

static int use_wino(const nn_conv_geom *g)
{
    if (g->algo == NN_CONV_WINOGRAD) {
        QA_ASSERT(nn_wino_applies(g));
        return 1;
    }
    return g->algo == NN_CONV_AUTO && nn_wino_applies(g) && g->c >= WINO_MIN_CH &&
           g->oc >= WINO_MIN_CH;
}

nn_conv_algo nn_conv2d_algo(const nn_conv_geom *g)
{
    return use_wino(g) ? NN_CONV_WINOGRAD : NN_CONV_IM2COL;
}

size_t nn_conv2d_scratch_floats(const nn_conv_geom *g, int nthreads, int nshares)
{
    if (use_wino(g))
        return nn_wino_scratch_floats(g, nthreads, nshares);
    conv_plan p = plan_of(g);
    return p.part * (size_t)(nshares > 1 ? nshares - 1 : 0) +
           p.work * (size_t)(nthreads < 1 ? 1 : nthreads);
}

static int is_pointwise(const nn_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

typedef struct {
    const nn_conv_geom *g;
    conv_plan p;
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *db;
    int dx_acc;
    const int *idx;
    int n, ns;      /* samples, shares */
    float *scratch; /* the per-share blocks, then the per-thread ones at work */
    float *work;
} conv_job;

static size_t x_off(const conv_job *j, long i)
{
    size_t s = (size_t)(j->idx ? j->idx[i] : (int)i);
    return s * (size_t)j->g->c * (size_t)j->g->h * (size_t)j->g->w;
}

static size_t y_off(const conv_job *j, long i)
{
    size_t s = (size_t)(j->idx ? j->idx[i] : (int)i);
    return s * (size_t)j->g->oc * (size_t)j->p.P;
}

/* The GEMM's right operand (Kg, N) for group gi of sample i: the input
 * itself for a pointwise convolution, else its lowering, into sc's columns
 * or, *rows set, as row pointers into sc's planes. */
static const float *sample_cols(const conv_job *j, long i, int gi, float *sc, const float ***rows)
{
    const conv_plan *p = &j->p;
    *rows = NULL;
    if (is_pointwise(j->g))
        return j->x + x_off(j, i) + (size_t)gi * (size_t)p->Cg * (size_t)p->P;
    if (p->ld != j->g->ow && nn_blas_rows()) {
        *rows = (const float **)(void *)(sc + p->rows);
        nn_im2col_rows(j->g, j->x + x_off(j, i), gi * p->Cg, p->Cg, sc + p->planes, *rows);
        return NULL;
    }
    nn_im2col(j->g, j->x + x_off(j, i), gi * p->Cg, p->Cg, sc + p->col, p->ld, sc + p->planes);
    return sc + p->col;
}

/* y rows (OCg, OH, OW) = the wide result (OCg, OH, QW) without its junk */
static void compact(const conv_plan *p, int oh, int ow, const float *ybuf, float *y)
{
    for (int r = 0; r < p->OCg * oh; r++)
        memcpy(y + (size_t)r * (size_t)ow, ybuf + (size_t)r * (size_t)p->ld, sizeof(float) * (size_t)ow);
}

/* ybuf (OCg, OH, QW) = dy rows (OCg, OH, OW) and zeros in the junk columns */
static void expand(const conv_plan *p, int oh, int ow, const float *dy, float *ybuf)
{
    for (int r = 0; r < p->OCg * oh; r++) {
        float *d = ybuf + (size_t)r * (size_t)p->ld;
        memcpy(d, dy + (size_t)r * (size_t)ow, sizeof(float) * (size_t)ow);
        for (int q = ow; q < p->ld; q++)
            d[q] = 0.0f;
    }
}

/* y[i] = W (*) x[i] + b, group by group */
static void forward_sample(const conv_job *j, long i, float *sc)
{
    const conv_plan *p = &j->p;
    int wide = p->ld != j->g->ow;
    float *y = j->y + y_off(j, i);
    for (int gi = 0; gi < j->g->groups; gi++) {
        const float **R;
        const float *B = sample_cols(j, i, gi, sc, &R);
        const float *W = j->w + (size_t)gi * (size_t)p->OCg * (size_t)p->Kg;
        float *Y = y + (size_t)gi * (size_t)p->OCg * (size_t)p->P, *out = wide ? sc + p->ybuf : Y;
        if (R)
            nn_sgemm_rows(0, 0, p->OCg, p->N, p->Kg, 1.0f, W, p->Kg, R, 0.0f, out, p->N);
        else
            nn_sgemm(0, 0, p->OCg, p->N, p->Kg, 1.0f, W, p->Kg, B, p->N, 0.0f, out, p->N);
        if (wide)
            compact(p, j->g->oh, j->g->ow, sc + p->ybuf, Y);
    }
    if (j->b)
        for (int o = 0; o < j->g->oc; o++)
            for (int q = 0; q < p->P; q++)
                y[(size_t)o * (size_t)p->P + (size_t)q] += j->b[o];
}

static float *slot_block(const conv_job *j)
{
    return j->work + (size_t)nn_par_slot() * j->p.work;
}

static void forward_job(void *arg, int s, int ns)
{
    const conv_job *j = arg;
    long lo, hi;
    nn_par_range(j->n, s, ns, &lo, &hi);
    float *sc = slot_block(j);
    for (long i = lo; i < hi; i++)
        forward_sample(j, i, sc);
}

/* Shares, the per-thread blocks after them, and how many threads those
 * blocks let take part. */
static int job_setup(conv_job *j, size_t scratch_n)
{
    int ns = nn_par_shares();
    j->ns = ns < j->n ? ns : j->n;
    size_t parts = j->p.part * (size_t)(ns - 1);
    QA_ASSERT(scratch_n >= parts + j->p.work);
    j->work = j->scratch + parts;
    size_t fit = (scratch_n - parts) / j->p.work;
    return fit < (size_t)NN_PAR_MAX_THREADS ? (int)fit : NN_PAR_MAX_THREADS;
}

void nn_conv2d_forward_raw(const nn_conv_geom *g, const float *x, const float *w,
                           const float *b, float *y, const int *idx, int n, float *scratch,
                           size_t scratch_n)
{
    conv_job j = {.g = g, .p = plan_of(g), .x = x, .w = w, .b = b, .y = y, .idx = idx, .n = n,
                  .scratch = scratch};
    if (use_wino(g)) {
        nn_wino_forward(g, x, w, b, y, idx, n, scratch, scratch_n);
        return;
    }
    if (n < 1)
        return;
    int slots = job_setup(&j, scratch_n);
    nn_par_run_owned(forward_job, &j, j.ns, slots, n);
}

/* dx[i] group gi = (acc ? dx : 0) + W_g^T @ dy, through col2im unless pointwise */
static void sample_dx(const conv_job *j, long i, int gi, const float *dY, float *sc)
{
    const conv_plan *p = &j->p;
    const float *W = j->w + (size_t)gi * (size_t)p->OCg * (size_t)p->Kg;
    float *dx = j->dx + x_off(j, i);
    if (is_pointwise(j->g)) {
        nn_sgemm(1, 0, p->Kg, p->P, p->OCg, 1.0f, W, p->Kg, dY, p->P, j->dx_acc ? 1.0f : 0.0f,
                 dx + (size_t)gi * (size_t)p->Cg * (size_t)p->P, p->P);
        return;
    }
    nn_sgemm(1, 0, p->Kg, p->N, p->OCg, 1.0f, W, p->Kg, dY, p->N, 0.0f, sc + p->col, p->N);
    nn_col2im(j->g, sc + p->col, p->ld, gi * p->Cg, p->Cg, dx, j->dx_acc, sc + p->planes);
}

static void backward_sample(const conv_job *j, long i, float *sc, float *dw, float *db)
{
    const conv_plan *p = &j->p;
    const float *dy = j->dy + y_off(j, i);
    for (int gi = 0; gi < j->g->groups; gi++) {
        const float *dY = dy + (size_t)gi * (size_t)p->OCg * (size_t)p->P;
        if (db)
            for (int o = 0; o < p->OCg; o++)
                db[gi * p->OCg + o] += (float)nn_vec_sum(dY + (size_t)o * (size_t)p->P, (size_t)p->P);
        if (p->ld != j->g->ow) {
            expand(p, j->g->oh, j->g->ow, dY, sc + p->ybuf);
            dY = sc + p->ybuf;
        }
        if (dw) {
            const float **R;
            const float *B = sample_cols(j, i, gi, sc, &R);
            float *dW = dw + (size_t)gi * (size_t)p->OCg * (size_t)p->Kg;
            if (R)
                nn_sgemm_rows(0, 1, p->OCg, p->Kg, p->N, 1.0f, dY, p->N, R, 1.0f, dW, p->Kg);
            else
                nn_sgemm(0, 1, p->OCg, p->Kg, p->N, 1.0f, dY, p->N, B, p->N, 1.0f, dW, p->Kg);
        }
        if (j->dx)
            sample_dx(j, i, gi, dY, sc);
    }
}

/* Share 0 accumulates into the caller's dw/db, the others into their
 * blocks; the caller adds those in share order after the join. */
static void backward_job(void *arg, int s, int ns)
{
    const conv_job *j = arg;
    const conv_plan *p = &j->p;
    long lo, hi;
    nn_par_range(j->n, s, ns, &lo, &hi);
    float *sc = slot_block(j);
    float *dw = j->dw, *db = j->db;
    if (s > 0) {
        float *part = j->scratch + (size_t)(s - 1) * p->part;
        dw = dw ? part + p->dw : NULL;
        db = db ? part + p->db : NULL;
        if (dw)
            memset(dw, 0, sizeof(float) * (size_t)j->g->oc * (size_t)p->Kg);
        if (db)
            memset(db, 0, sizeof(float) * (size_t)j->g->oc);
    }
    for (long i = lo; i < hi; i++)
        backward_sample(j, i, sc, dw, db);
}

/* Other ranks' shares first (share 0's sums are in dw/db themselves). */
static void reduce_partials(const conv_job *j)
{
    size_t nw = (size_t)j->g->oc * (size_t)j->p.Kg;
    if (j->dw)
        nn_par_gather(j->dw, nw * sizeof *j->dw, j->n, 0, 1);
    if (j->db)
        nn_par_gather(j->db, (size_t)j->g->oc * sizeof *j->db, j->n, 0, 1);
    nn_par_gather(j->scratch, j->p.part * sizeof *j->scratch, j->n, 1, j->ns);
    for (int s = 1; s < j->ns; s++) {
        const float *part = j->scratch + (size_t)(s - 1) * j->p.part;
        if (j->dw)
            for (size_t i = 0; i < nw; i++)
                j->dw[i] += part[j->p.dw + i];
        if (j->db)
            for (int i = 0; i < j->g->oc; i++)
                j->db[i] += part[j->p.db + (size_t)i];
    }
}

void nn_conv2d_backward_raw(const nn_conv_geom *g, const float *x, const float *w,
                            const float *dy, float *dx, int dx_acc, float *dw, float *db,
                            const int *idx, int n, float *scratch, size_t scratch_n)
{
    conv_job j = {.g = g, .p = plan_of(g), .x = x, .w = w, .dy = dy, .dx = dx, .dx_acc = dx_acc,
                  .dw = dw, .db = db, .idx = idx, .n = n, .scratch = scratch};
    if (use_wino(g)) {
        nn_wino_backward(g, x, w, dy, dx, dx_acc, dw, db, idx, n, scratch, scratch_n);
        return;
    }
    if (n < 1)
        return;
    int slots = job_setup(&j, scratch_n);
    nn_par_run_owned(backward_job, &j, j.ns, slots, n);
    reduce_partials(&j);
}
