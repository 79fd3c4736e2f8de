/* bench_conv.c: where resnet20's convolution time goes, shape by shape.
 *
 *   bench_conv [--batch B] [--reps R] [--iters N] [--algo auto|im2col|winograd]
 *              [--shares S] [--gemm auto|avx512|avx2|portable|openblas]
 *
 * For each distinct convolution of resnet20 on 28x28 grey inputs (the stem,
 * the 3x3 convolutions of the three stages, the strided ones and the 1x1
 * shortcuts), one thread, batch B: the CPU time of a forward and of a
 * backward (dx and dw; no dx for the stem, like in training), the median
 * over R repetitions of N iterations each, and the same convolution's
 * GEMMs alone (nn_sgemm on the shapes the kernels issue: per sample for
 * im2col, 16 per chunk of samples for Winograd, on buffers already
 * lowered or transformed). The kernel is the one nn/conv2d picks for the
 * shape (algo=), or the one --algo forces where it applies; GFLOP/s counts
 * the direct convolution's multiply-adds whatever the kernel (Winograd's
 * are effective rates). The last column, GEMM share, is the fraction
 * of the convolution's time that the GEMM itself (--gemm: qadapt's kernel,
 * nn/gemm.h, or OpenBLAS's) takes: what no change around the GEMMs
 * (lowering, layout, threading) can win back.
 * CPU time of the thread, not wall time: the machine is shared.
 * bench/conv_vs_torch.sh puts PyTorch's time for the same
 * shapes (torch_conv.py) next to these rows. Rows:
 *   ROW name=.. algo=.. fwd_ms=.. bwd_ms=.. total_ms=.. gflops=.. gemm_ms=.. gemm_share=.. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "nn/blas.h"
#include "nn/conv2d.h"
#include "nn/par.h"
#include "nn/wino.h"

typedef struct {
    const char *name;
    int c, oc, h, k, stride, need_dx, count; /* count: how many resnet20 has */
} conv_shape;

static const conv_shape SHAPES[] = {
    {"stem 1->16 3x3 @28", 1, 16, 28, 3, 1, 0, 1},
    {"s1 16->16 3x3 @28", 16, 16, 28, 3, 1, 1, 6},
    {"s2 16->32 3x3/2 @28", 16, 32, 28, 3, 2, 1, 1},
    {"s2 short 16->32 1x1/2", 16, 32, 28, 1, 2, 1, 1},
    {"s2 32->32 3x3 @14", 32, 32, 14, 3, 1, 1, 5},
    {"s3 32->64 3x3/2 @14", 32, 64, 14, 3, 2, 1, 1},
    {"s3 short 32->64 1x1/2", 32, 64, 14, 1, 2, 1, 1},
    {"s3 64->64 3x3 @7", 64, 64, 7, 3, 1, 1, 5},
};

typedef struct {
    int batch, reps, iters;
    nn_conv_algo algo;
    int shares;
} bench_args;

static float *filled(size_t n, unsigned salt)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = (float)((i * 2654435761u + salt) % 1000) / 1000.0f - 0.5f;
    return v;
}

/* the GEMMs nn/conv2d_kern.c issues for one sample, batch times, on
 * lowered buffers: forward (OC,K)(K,P), dw (OC,P)(K,P)^T, dx (OC,K)^T(OC,P) */
static void gemms_im2col(const nn_conv_geom *g, int batch, int need_dx, const float *w,
                       const float *col, float *y, float *dw, float *dcol)
{
    int K = g->c * g->kh * g->kw, P = g->oh * g->ow;
    for (int i = 0; i < batch; i++)
        nn_sgemm(0, 0, g->oc, P, K, 1.0f, w, K, col, P, 0.0f, y, P);
    for (int i = 0; i < batch; i++) {
        nn_sgemm(0, 1, g->oc, K, P, 1.0f, y, P, col, P, 1.0f, dw, K);
        if (need_dx)
            nn_sgemm(1, 0, K, P, g->oc, 1.0f, w, K, y, P, 0.0f, dcol, P);
    }
}

/* the GEMMs nn/wino.c issues, 16 per chunk of S samples (N = S T tiles):
 * forward M (N,OC) = V (N,C) U^T, dU (OC,C) += dM^T V, dV (N,C) = dM U.
 * v, m: 16 N C and 16 N OC floats, u: 16 OC C */
static void gemms_wino(const nn_conv_geom *g, int batch, int need_dx, const float *u, float *v,
                       float *m, float *du)
{
    int S, T, C = g->c, OC = g->oc;
    nn_wino_chunking(g, &S, &T);
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < batch; i += S) {
            int N = (batch - i < S ? batch - i : S) * T;
            for (int xi = 0; xi < 16; xi++) {
                float *V = v + (size_t)xi * (size_t)N * (size_t)C, *M = m + (size_t)xi * (size_t)N * (size_t)OC;
                const float *U = u + (size_t)xi * (size_t)OC * (size_t)C;
                if (pass == 0)
                    nn_sgemm(0, 1, N, OC, C, 1.0f, V, C, U, C, 0.0f, M, OC);
                else if (pass == 1)
                    nn_sgemm(1, 0, OC, C, N, 1.0f, M, OC, V, C, 1.0f, du + (size_t)xi * (size_t)OC * (size_t)C, C);
                else if (need_dx)
                    nn_sgemm(0, 0, N, C, OC, 1.0f, M, OC, U, C, 0.0f, V, C);
            }
        }
}

static const char *const ALGO_NAMES[] = {"auto", "im2col", "winograd", NULL};

static int bench_shape(const conv_shape *s, const bench_args *a, double *out_total)
{
    qa_err err = {0};
    nn_conv2d_cfg cfg = nn_conv2d_cfg_make(s->name, s->oc, s->k, s->stride, s->k / 2);
    nn_conv_geom g;
    if (nn_conv_geom_init(&g, s->c, s->h, s->h, &cfg, &err) < 0) {
        fprintf(stderr, "bench_conv: %s\n", err.msg);
        return -1;
    }
    if (a->algo == NN_CONV_IM2COL || (a->algo == NN_CONV_WINOGRAD && nn_wino_applies(&g)))
        g.algo = a->algo;
    int wino = nn_conv2d_algo(&g) == NN_CONV_WINOGRAD;
    size_t nx = (size_t)a->batch * (size_t)(s->c * s->h * s->h);
    size_t ny = (size_t)a->batch * (size_t)(g.oc * g.oh * g.ow);
    size_t nw = (size_t)(g.oc * g.c * g.kh * g.kw), K = (size_t)(g.c * g.kh * g.kw);
    size_t P = (size_t)(g.oh * g.ow), scratch_n = nn_conv2d_scratch_floats(&g, 1, nn_par_shares());
    float *x = filled(nx, 1), *dx = filled(nx, 2), *y = filled(ny, 3), *dy = filled(ny, 4);
    float *w = filled(nw, 5), *dw = filled(nw, 6), *sc = filled(scratch_n, 7);
    /* operands of the GEMMs-alone timing: lowered columns, (C,P) result and
     * dcol for im2col; V (16,N,C), M (16,N,OC), U and dU (16,OC,C) each in
     * dcol for Winograd, N the tiles of a chunk */
    int S = 1, T = 1;
    if (wino)
        nn_wino_chunking(&g, &S, &T);
    size_t N = (size_t)S * (size_t)T;
    size_t ncol = wino ? 16 * N * (size_t)g.c : K * P, nyg = wino ? 16 * N * (size_t)g.oc : (size_t)g.oc * P;
    float *col = filled(ncol, 8), *dcol = filled(wino ? 32 * nw / 9 : K * P, 9), *yg = filled(nyg, 10);
    double *fwd = malloc(sizeof(double) * (size_t)a->reps), *bwd = malloc(sizeof(double) * (size_t)a->reps);
    double *gem = malloc(sizeof(double) * (size_t)a->reps);
    int rc = -1;
    if (x && dx && y && dy && w && dw && sc && col && dcol && yg && fwd && bwd && gem) {
        for (int r = -1; r < a->reps; r++) { /* r = -1 warms up */
            double tf = 0, tb = 0, t0, tg0 = 0;
            for (int it = 0; it < a->iters; it++) {
                t0 = bench_cpu_s();
                nn_conv2d_forward_raw(&g, x, w, NULL, y, NULL, a->batch, sc, scratch_n);
                tf += bench_cpu_s() - t0;
                t0 = bench_cpu_s();
                nn_conv2d_backward_raw(&g, x, w, dy, s->need_dx ? dx : NULL, 0, dw, NULL, NULL,
                                       a->batch, sc, scratch_n);
                tb += bench_cpu_s() - t0;
                t0 = bench_cpu_s();
                if (wino)
                    gemms_wino(&g, a->batch, s->need_dx, dcol, col, yg, dcol + 16 * nw / 9);
                else
                    gemms_im2col(&g, a->batch, s->need_dx, w, col, yg, dw, dcol);
                tg0 += bench_cpu_s() - t0;
            }
            if (r >= 0) {
                fwd[r] = 1e3 * tf / a->iters;
                bwd[r] = 1e3 * tb / a->iters;
                gem[r] = 1e3 * tg0 / a->iters;
            }
        }
        double mf = bench_median(fwd, a->reps), mb = bench_median(bwd, a->reps);
        double mg = bench_median(gem, a->reps);
        double flop = 2.0 * (double)a->batch * (double)(nw * P) * (s->need_dx ? 3.0 : 2.0);
        printf("ROW name=\"%s\" algo=%s count=%d fwd_ms=%.2f bwd_ms=%.2f total_ms=%.2f gflops=%.1f "
               "gemm_ms=%.2f gemm_share=%.2f\n",
               s->name, ALGO_NAMES[nn_conv2d_algo(&g)], s->count, mf, mb, mf + mb,
               flop / ((mf + mb) * 1e6), mg, mg / (mf + mb));
        *out_total += s->count * (mf + mb);
        rc = 0;
    }
    free(x), free(dx), free(y), free(dy), free(w), free(dw), free(sc);
    free(col), free(dcol), free(yg), free(fwd), free(bwd), free(gem);
    return rc;
}

int main(int argc, char **argv)
{
    bench_args a = {128, 5, 4, NN_CONV_AUTO, NN_PAR_DEFAULT_SHARES};
    int algo = NN_CONV_AUTO;
    const char *gemm = "auto";
    const bench_opt opts[] = {
        {.name = "--batch", .num = &a.batch, .min = 1},
        {.name = "--reps", .num = &a.reps, .min = 1},
        {.name = "--iters", .num = &a.iters, .min = 1},
        {.name = "--algo", .choice = &algo, .names = ALGO_NAMES},
        {.name = "--shares", .num = &a.shares, .min = 1},
        {.name = "--gemm", .str = &gemm},
    };
    if (bench_parse_args(argc, argv, "bench_conv", opts, (int)(sizeof opts / sizeof opts[0])) < 0)
        return 2;
    a.algo = (nn_conv_algo)algo;
    qa_err err = {0};
    if (nn_par_set_threads(1, &err) < 0 || nn_par_set_shares(a.shares, &err) < 0 ||
        nn_blas_select(gemm, &err) < 0) {
        fprintf(stderr, "bench_conv: %s\n", err.msg);
        return 1;
    }
    printf("bench_conv: resnet20's convolutions on 28x28 grey, batch %d, 1 thread, %d shares, "
           "CPU time, median of %d x %d, --algo %s, GEMM %s; %s\n", a.batch, a.shares, a.reps,
           a.iters, ALGO_NAMES[algo], nn_blas_gemm(), nn_blas_info());
    double total = 0;
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        if (bench_shape(&SHAPES[i], &a, &total) < 0)
            return 1;
    printf("RESULT conv_ms_per_step=%.1f (every convolution of resnet20, forward + backward)\n",
           total);
    nn_par_shutdown();
    return 0;
}
