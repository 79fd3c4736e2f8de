/* conv2d_kern.c: the convolution kernels on explicit pointers.
 *
 * Each thread takes a contiguous share of the selected samples and walks it
 * in chunks of cs samples: im2col of the chunk (Kg, cs*P) -> one GEMM per
 * group (OCg, Kg) @ (Kg, cs*P) -> copy into NCHW. A chunk is sized to stay
 * in L2, which keeps the GEMM near its peak for these skinny shapes; a
 * one-sample chunk writes the GEMM output straight into y, and a 1x1
 * stride-1 convolution reads x straight from the input without lowering. */
#include <string.h>

#include "nn/blas.h"
#include "nn/conv2d.h"
#include "nn/par.h"
#include "nn/vec.h"

/* Floats of im2col per chunk: L2-sized (256 KiB). */
#define CHUNK_FLOATS (1 << 16)

typedef struct {
    int cs;                      /* samples per chunk */
    int P, Kg, OCg, Cg;          /* positions, GEMM depth, channels per group */
    size_t col, ybuf, dw, db, total; /* per-thread scratch layout (floats) */
} conv_plan;

static size_t pad16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

static conv_plan plan_of(const nn_conv_geom *g)
{
    conv_plan p;
    p.P = g->oh * g->ow;
    p.Cg = g->c / g->groups;
    p.OCg = g->oc / g->groups;
    p.Kg = p.Cg * g->kh * g->kw;
    size_t per = (size_t)p.Kg * (size_t)p.P;
    p.cs = per >= CHUNK_FLOATS ? 1 : (int)(CHUNK_FLOATS / per);
    size_t cols = (size_t)p.cs * (size_t)p.P;
    p.col = 0;
    p.ybuf = pad16((size_t)p.Kg * cols);
    p.dw = p.ybuf + pad16((size_t)p.OCg * cols);
    p.db = p.dw + pad16((size_t)g->oc * (size_t)p.Kg);
    p.total = p.db + pad16((size_t)g->oc);
    return p;
}

size_t nn_conv2d_scratch_floats(const nn_conv_geom *g, int nthreads)
{
    return plan_of(g).total * (size_t)(nthreads < 1 ? 1 : nthreads);
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
    int n;
    float *scratch;
} conv_job;

static int sample_of(const conv_job *j, long i)
{
    return j->idx ? j->idx[i] : (int)i;
}

static const float *x_at(const conv_job *j, long i)
{
    const nn_conv_geom *g = j->g;
    return j->x + (size_t)sample_of(j, i) * (size_t)g->c * (size_t)g->h * (size_t)g->w;
}

static size_t y_off(const conv_job *j, long i)
{
    return (size_t)sample_of(j, i) * (size_t)j->g->oc * (size_t)j->p.P;
}

/* The GEMM's right operand for group gi of samples [s0, s0+ns): the input
 * itself for a one-sample pointwise chunk, else its lowering into col. */
static const float *chunk_cols(const conv_job *j, long s0, int ns, int gi, float *col, int *ld)
{
    const conv_plan *p = &j->p;
    if (ns == 1 && is_pointwise(j->g)) {
        *ld = p->P;
        return x_at(j, s0) + (size_t)gi * (size_t)p->Cg * (size_t)p->P;
    }
    *ld = ns * p->P;
    for (int k = 0; k < ns; k++)
        nn_im2col(j->g, x_at(j, s0 + k), gi * p->Cg, p->Cg, col + (size_t)k * (size_t)p->P, *ld);
    return col;
}

/* ybuf (OCg, ns*P) + b -> y rows of group gi, sample by sample */
static void chunk_store(const conv_job *j, long s0, int ns, int gi, const float *ybuf)
{
    const conv_plan *p = &j->p;
    size_t ld = (size_t)ns * (size_t)p->P;
    for (int k = 0; k < ns; k++)
        for (int o = 0; o < p->OCg; o++) {
            int oc = gi * p->OCg + o;
            float *dst = j->y + y_off(j, s0 + k) + (size_t)oc * (size_t)p->P;
            const float *src = ybuf + (size_t)o * ld + (size_t)k * (size_t)p->P;
            float bias = j->b ? j->b[oc] : 0.0f;
            for (int i = 0; i < p->P; i++)
                dst[i] = src[i] + bias;
        }
}

static void bias_add(const conv_job *j, long s, int gi)
{
    const conv_plan *p = &j->p;
    for (int o = 0; o < p->OCg; o++) {
        int oc = gi * p->OCg + o;
        float *dst = j->y + y_off(j, s) + (size_t)oc * (size_t)p->P;
        for (int i = 0; i < p->P; i++)
            dst[i] += j->b[oc];
    }
}

static void forward_chunk(const conv_job *j, long s0, int ns, float *sc)
{
    const conv_plan *p = &j->p;
    for (int gi = 0; gi < j->g->groups; gi++) {
        int ldb;
        const float *B = chunk_cols(j, s0, ns, gi, sc + p->col, &ldb);
        const float *W = j->w + (size_t)gi * (size_t)p->OCg * (size_t)p->Kg;
        if (ns == 1) {
            float *Y = j->y + y_off(j, s0) + (size_t)gi * (size_t)p->OCg * (size_t)p->P;
            nn_sgemm(0, 0, p->OCg, p->P, p->Kg, 1.0f, W, p->Kg, B, ldb, 0.0f, Y, p->P);
            if (j->b)
                bias_add(j, s0, gi);
        } else {
            float *ybuf = sc + p->ybuf;
            nn_sgemm(0, 0, p->OCg, ns * p->P, p->Kg, 1.0f, W, p->Kg, B, ldb, 0.0f, ybuf,
                     ns * p->P);
            chunk_store(j, s0, ns, gi, ybuf);
        }
    }
}

static void forward_job(void *arg, int tid, int nt)
{
    const conv_job *j = arg;
    long lo, hi;
    nn_par_range(j->n, tid, nt, &lo, &hi);
    float *sc = j->scratch + (size_t)tid * j->p.total;
    for (long s0 = lo; s0 < hi; s0 += j->p.cs) {
        int ns = hi - s0 < j->p.cs ? (int)(hi - s0) : j->p.cs;
        forward_chunk(j, s0, ns, sc);
    }
}

static int usable_threads(const conv_plan *p, size_t scratch_n, int n)
{
    int nt = nn_par_threads();
    size_t fit = scratch_n / p->total;
    if ((size_t)nt > fit)
        nt = (int)fit;
    if (nt > n)
        nt = n;
    QA_ASSERT(fit >= 1);
    return nt < 1 ? 1 : nt;
}

void nn_conv2d_forward_raw(const nn_conv_geom *g, const float *x, const float *w,
                           const float *b, float *y, const int *idx, int n, float *scratch,
                           size_t scratch_n)
{
    conv_job j = {.g = g, .p = plan_of(g), .x = x, .w = w, .b = b, .y = y, .idx = idx, .n = n,
                  .scratch = scratch};
    if (n < 1)
        return;
    nn_par_run(forward_job, &j, usable_threads(&j.p, scratch_n, n));
}

/* dy rows of group gi for samples [s0, s0+ns) as one (OCg, ns*P) operand */
static const float *chunk_dy(const conv_job *j, long s0, int ns, int gi, float *ybuf, int *ld)
{
    const conv_plan *p = &j->p;
    size_t goff = (size_t)gi * (size_t)p->OCg * (size_t)p->P;
    *ld = ns * p->P;
    if (ns == 1) {
        *ld = p->P;
        return j->dy + y_off(j, s0) + goff;
    }
    for (int k = 0; k < ns; k++)
        for (int o = 0; o < p->OCg; o++)
            memcpy(ybuf + (size_t)o * (size_t)*ld + (size_t)k * (size_t)p->P,
                   j->dy + y_off(j, s0 + k) + goff + (size_t)o * (size_t)p->P,
                   sizeof(float) * (size_t)p->P);
    return ybuf;
}

/* dx of group gi += W_g^T @ dY, through col2im unless the layout matches */
static void chunk_dx(const conv_job *j, long s0, int ns, int gi, const float *dY, int ld,
                     float *col)
{
    const conv_plan *p = &j->p;
    const float *W = j->w + (size_t)gi * (size_t)p->OCg * (size_t)p->Kg;
    size_t chw = (size_t)j->g->c * (size_t)j->g->h * (size_t)j->g->w;
    if (ns == 1 && is_pointwise(j->g)) {
        float *dx = j->dx + (size_t)sample_of(j, s0) * chw + (size_t)gi * (size_t)p->Cg * (size_t)p->P;
        nn_sgemm(1, 0, p->Kg, p->P, p->OCg, 1.0f, W, p->Kg, dY, ld, 1.0f, dx, p->P);
        return;
    }
    nn_sgemm(1, 0, p->Kg, ns * p->P, p->OCg, 1.0f, W, p->Kg, dY, ld, 0.0f, col, ns * p->P);
    for (int k = 0; k < ns; k++)
        nn_col2im_add(j->g, col + (size_t)k * (size_t)p->P, ns * p->P, gi * p->Cg, p->Cg,
                      j->dx + (size_t)sample_of(j, s0 + k) * chw);
}

static void backward_chunk(const conv_job *j, long s0, int ns, float *sc, float *dw, float *db)
{
    const conv_plan *p = &j->p;
    for (int gi = 0; gi < j->g->groups; gi++) {
        int ld, ldb;
        const float *dY = chunk_dy(j, s0, ns, gi, sc + p->ybuf, &ld);
        if (db)
            for (int o = 0; o < p->OCg; o++)
                db[gi * p->OCg + o] += (float)nn_vec_sum(dY + (size_t)o * (size_t)ld,
                                                         (size_t)ns * (size_t)p->P);
        if (dw) {
            const float *B = chunk_cols(j, s0, ns, gi, sc + p->col, &ldb);
            nn_sgemm(0, 1, p->OCg, p->Kg, ns * p->P, 1.0f, dY, ld, B, ldb, 1.0f,
                     dw + (size_t)gi * (size_t)p->OCg * (size_t)p->Kg, p->Kg);
        }
        if (j->dx)
            chunk_dx(j, s0, ns, gi, dY, ld, sc + p->col);
    }
}

/* Thread 0 accumulates into the caller's dw/db, the others into their
 * scratch; the caller adds those in thread order after the join. */
static void backward_job(void *arg, int tid, int nt)
{
    const conv_job *j = arg;
    const conv_plan *p = &j->p;
    long lo, hi;
    nn_par_range(j->n, tid, nt, &lo, &hi);
    float *sc = j->scratch + (size_t)tid * p->total;
    float *dw = j->dw, *db = j->db;
    if (tid > 0) {
        dw = dw ? sc + p->dw : NULL;
        db = db ? sc + p->db : NULL;
        if (dw)
            memset(dw, 0, sizeof(float) * (size_t)j->g->oc * (size_t)p->Kg);
        if (db)
            memset(db, 0, sizeof(float) * (size_t)j->g->oc);
    }
    if (j->dx && !j->dx_acc) {
        size_t chw = (size_t)j->g->c * (size_t)j->g->h * (size_t)j->g->w;
        for (long s = lo; s < hi; s++)
            memset(j->dx + (size_t)sample_of(j, s) * chw, 0, sizeof(float) * chw);
    }
    for (long s0 = lo; s0 < hi; s0 += p->cs) {
        int ns = hi - s0 < p->cs ? (int)(hi - s0) : p->cs;
        backward_chunk(j, s0, ns, sc, dw, db);
    }
}

static void reduce_partials(const conv_job *j, int nt)
{
    size_t nw = (size_t)j->g->oc * (size_t)j->p.Kg;
    for (int t = 1; t < nt; t++) {
        const float *sc = j->scratch + (size_t)t * j->p.total;
        if (j->dw)
            for (size_t i = 0; i < nw; i++)
                j->dw[i] += sc[j->p.dw + i];
        if (j->db)
            for (int i = 0; i < j->g->oc; i++)
                j->db[i] += sc[j->p.db + (size_t)i];
    }
}

void nn_conv2d_backward_raw(const nn_conv_geom *g, const float *x, const float *w,
                            const float *dy, float *dx, int dx_acc, float *dw, float *db,
                            const int *idx, int n, float *scratch, size_t scratch_n)
{
    conv_job j = {.g = g, .p = plan_of(g), .x = x, .w = w, .dy = dy, .dx = dx, .dx_acc = dx_acc,
                  .dw = dw, .db = db, .idx = idx, .n = n, .scratch = scratch};
    if (n < 1)
        return;
    int nt = usable_threads(&j.p, scratch_n, n);
    nn_par_run(backward_job, &j, nt);
    reduce_partials(&j, nt);
}
