/* bench_train.c: training throughput of nn/ on the peer's recipe.
 *
 *   bench_train [--model small|resnet20|mobilenetv2_tiny] [--steps N]
 *               [--reps R] [--batch B] [--threads T] [--shares S] [--synthetic]
 *               [--gemm auto|avx512|avx2|portable|openblas]
 *
 * Trains on Fashion-MNIST (pixels / 255, like the PyTorch peer; --synthetic
 * uses random images of the same shape) with SGD momentum 0.9, weight
 * decay 5e-4, lr 0.05 on a cosine schedule. After a warm-up of 5 steps
 * it times R repetitions of N steps each; a step is what the peer's loop
 * times: gather the batch, forward, cross-entropy, backward, update.
 * Loading and normalising the data set is not timed (the peer keeps it in
 * memory too). --gemm picks the matrix products (nn/blas.h; default auto:
 * qadapt's fastest kernel). Prints the GEMM in use and OpenBLAS's core
 * (what OPENBLAS_CORETYPE or its CPU guess chose), every repetition and a
 * final line
 *   RESULT model=.. threads=.. shares=.. batch=.. gemm=.. openblas_core=..
 *          img_per_s=<median> min=.. max=.. ms_per_step=.. cpu_ms_per_img=<median>
 *          peak_rss_mb=.. final_loss=..
 * (cpu_ms_per_img: the process's CPU time over all threads per image.)
 * bench/train_vs_torch.sh runs it against the peer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_fmnist.h"
#include "bench_util.h"
#include "nn/blas.h"
#include "nn/models.h"
#include "nn/par.h"

typedef struct {
    const char *model, *gemm;
    int steps, reps, batch, threads, shares, synthetic;
} bench_args;

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){"small", "auto", 50, 5, 128, 2, NN_PAR_DEFAULT_SHARES, 0};
    const bench_opt opts[] = {
        {.name = "--model", .str = &a->model},
        {.name = "--gemm", .str = &a->gemm},
        {.name = "--synthetic", .flag = &a->synthetic},
        {.name = "--steps", .num = &a->steps, .min = 1},
        {.name = "--reps", .num = &a->reps, .min = 1},
        {.name = "--batch", .num = &a->batch, .min = 1},
        {.name = "--threads", .num = &a->threads, .min = 1},
        {.name = "--shares", .num = &a->shares, .min = 1},
    };
    return bench_parse_args(argc, argv, "bench_train", opts, (int)(sizeof opts / sizeof opts[0]));
}

typedef struct {
    nn_net *net;
    nn_optim *opt;
    nn_sched_cfg sched;
    const bench_data *d;
    int *labels, batch;
    long step, total;
    float loss;
} trainer;

/* the peer's loop body: gather, then bench_peer_step */
static void train_step(trainer *t)
{
    bench_gather(t->d, t->step, t->batch, nn_net_input(t->net), t->labels, NULL);
    t->loss = bench_peer_step(t->net, t->opt, &t->sched, t->labels, t->batch, t->step, t->total);
    t->step++;
}

static int run(const bench_args *a, const bench_data *d, qa_err *err)
{
    trainer t = {.d = d, .batch = a->batch, .total = 5 + (long)a->steps * a->reps};
    int rc = nn_model_build(&t.net, a->model, a->batch, 1, 28, 28, 10, err);
    if (rc == QA_OK)
        rc = nn_net_finalize(t.net, 1, err);
    if (rc == QA_OK)
        rc = bench_peer_sgd(&t.opt, &t.sched, &t.net->params, err);
    t.labels = malloc((size_t)a->batch * sizeof(int));
    double *rate = malloc((size_t)a->reps * sizeof(double));
    double *cpu = malloc((size_t)a->reps * sizeof(double));
    if (rc == QA_OK && (!t.labels || !rate || !cpu))
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory");
    if (rc == QA_OK) {
        for (int i = 0; i < 5; i++)
            train_step(&t);
        for (int rep = 0; rep < a->reps; rep++) {
            double t0 = bench_now_s(), c0 = bench_process_cpu_s();
            for (int i = 0; i < a->steps; i++)
                train_step(&t);
            rate[rep] = (double)a->steps * a->batch / (bench_now_s() - t0);
            cpu[rep] = 1e3 * (bench_process_cpu_s() - c0) / ((double)a->steps * a->batch);
            printf("rep %d: %.1f img/s, %.3f CPU ms/img, loss %.4f\n", rep + 1, rate[rep], cpu[rep],
                   t.loss);
            fflush(stdout);
        }
        double med = bench_median(rate, a->reps);
        printf("RESULT model=%s threads=%d shares=%d batch=%d gemm=%s openblas_core=%s "
               "img_per_s=%.1f min=%.1f max=%.1f ms_per_step=%.2f cpu_ms_per_img=%.3f "
               "peak_rss_mb=%.0f final_loss=%.4f\n",
               a->model, a->threads, a->shares, a->batch, nn_blas_gemm(), nn_blas_core(), med,
               rate[0], rate[a->reps - 1],
               1e3 * a->batch / med, bench_median(cpu, a->reps), bench_peak_rss_mb(), t.loss);
        rc = isfinite(t.loss) ? QA_OK : qa_fail(err, QA_ERR_NUMERIC, "loss is %g", t.loss);
    }
    free(cpu);
    free(rate);
    free(t.labels);
    nn_optim_free(t.opt);
    nn_net_free(t.net);
    return rc;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_data d = {0};
    qa_err err = {0};
    if (parse_args(argc, argv, &a) < 0)
        return 2;
    int rc = nn_par_set_threads(a.threads, &err);
    if (rc == QA_OK)
        rc = nn_par_set_shares(a.shares, &err);
    if (rc == QA_OK)
        rc = nn_blas_select(a.gemm, &err);
    if (rc == QA_OK)
        rc = bench_data_load(&d, a.synthetic, &err);
    if (rc == QA_OK) {
        printf("bench_train: model %s, batch %d, %d threads, %d shares, %s data, %d x %d steps, "
               "GEMM %s; %s\n",
               a.model, a.batch, a.threads, a.shares, a.synthetic ? "synthetic" : "Fashion-MNIST",
               a.reps, a.steps, nn_blas_gemm(), nn_blas_info());
        rc = run(&a, &d, &err);
    }
    bench_data_free(&d);
    if (rc < 0) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    return 0;
}
