/* bench_quant.c: cost of quantization-aware training steps against fp32.
 *
 *   bench_quant [--model small|resnet20|mobilenetv2_tiny] [--steps N]
 *               [--reps R] [--batch B] [--threads T] [--shares S] [--bits W] [--cand LIST]
 *               [--modes LIST] [--input none|unsigned]
 *               [--gemm auto|avx512|avx2|portable|openblas]
 *
 * Four networks of the same architecture train side by side on
 * Fashion-MNIST (pixels / 255 like the PyTorch peer; SGD momentum 0.9,
 * weight decay 5e-4, lr 0.05 cosine):
 *   fp32        the plain nn network
 *   hard        method fixed's plan: every sample at W<bits>A<bits> in the
 *               planned layers, first/last layers pinned at 8 bits (one
 *               width per layer, LSQ)
 *   soft-tied   a soft plan over the candidate widths (default 2,3,4,8),
 *               uniform probabilities, one distribution per layer
 *   soft-untied the same with separate weight and activation distributions
 *   ddq         method ddq's step: DDQ quantizers (quant/ddq.h) on weights
 *               and inputs at maximum width 8, gates opened to <bits> (so the
 *               layers run what `hard` runs, and the gates, range and bit
 *               values are learned), and between backward and update the
 *               penalty on BitOps toward W<bits>A<bits>'s (absolute form,
 *               lambda 1: q_ddq_net_penalty, as method ddq calls it)
 *   ddq-adaptive the same with learned non-uniform levels (the level tables
 *               in forward and backward)
 * The network input is left as it comes (quant.input = none; --input
 * unsigned quantizes it at 8 bits with its own LSQ step), like the peer,
 * whose QAT quantizes conv weights and ReLU outputs only.
 * A step is: gather the batch, forward, cross-entropy, backward, update.
 * After 5 warm-up steps each, the R repetitions are interleaved (fp32,
 * hard, soft-tied, soft-untied, fp32, ...) so that load from other
 * processes hits all of them alike; medians are reported with the ratios
 * to fp32 and a final line per mode. --modes (default all four) runs only
 * the listed ones, e.g. hard alone under a profiler; fp32 always runs, as
 * the reference of the ratios:
 *   RESULT mode=.. model=.. img_per_s=<median> ms_per_step=.. ratio_fp32=..
 *          cpu_ms_per_img=<median, the process's CPU time over all threads>
 *          gemm=.. openblas_core=.. peak_rss_mb=.. (of the process, all modes)
 * bench/bench_quant.sh adds the PyTorch peer (--qat) in the
 * same invocation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_fmnist.h"
#include "bench_util.h"
#include "nn/blas.h"
#include "nn/models.h"
#include "nn/par.h"
#include "quant/ddq.h"
#include "quant/qnet.h"

enum { M_FP32, M_HARD, M_TIED, M_UNTIED, M_DDQ, M_DDQ_ADAPTIVE, NMODES };
static const char *const MODE_NAMES[NMODES + 1] = {
    "fp32", "hard", "soft-tied", "soft-untied", "ddq", "ddq-adaptive", NULL};
/* --input, in the order of INPUT_DOMAINS */
static const char *const INPUT_NAMES[] = {"none", "unsigned", NULL};
static const q_input INPUT_DOMAINS[] = {Q_INPUT_NONE, Q_INPUT_UNSIGNED};

typedef struct {
    const char *model, *cand, *modes, *gemm;
    int input; /* index into INPUT_NAMES */
    int steps, reps, batch, threads, shares, bits;
    int on[NMODES]; /* the modes that run, from modes */
} bench_args;

typedef struct {
    nn_net *net;
    q_net *qn;
    nn_optim *opt;
    nn_sched_cfg sched;
    q_penalty pen; /* ddq modes */
    int *labels;
    long step, total;
    float loss;
    double *rate, *cpu; /* (reps) images/s, CPU ms per image */
} trainer;

/* a->modes: a comma-separated list of MODE_NAMES into a->on */
static int parse_modes(bench_args *a)
{
    a->on[M_FP32] = 1;
    const char *s = a->modes;
    while (*s) {
        size_t len = strcspn(s, ",");
        int m = bench_name_index(MODE_NAMES, s, len);
        if (m < 0) {
            fprintf(stderr,
                    "bench_quant: --modes: unknown mode '%.*s' (modes: fp32, hard, "
                    "soft-tied, soft-untied, ddq, ddq-adaptive)\n",
                    (int)len, s);
            return -1;
        }
        a->on[m] = 1;
        s += len + (s[len] == ',');
    }
    return 0;
}

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){.model = "small",
                      .cand = "2,3,4,8",
                      .modes = "fp32,hard,soft-tied,soft-untied",
                      .input = 0,
                      .steps = 30,
                      .reps = 7,
                      .batch = 128,
                      .threads = 2,
                      .shares = NN_PAR_DEFAULT_SHARES,
                      .bits = 4,
                      .gemm = "auto"};
    const bench_opt opts[] = {
        {.name = "--model", .str = &a->model},
        {.name = "--cand", .str = &a->cand},
        {.name = "--steps", .num = &a->steps, .min = 1},
        {.name = "--reps", .num = &a->reps, .min = 1},
        {.name = "--batch", .num = &a->batch, .min = 1},
        {.name = "--threads", .num = &a->threads, .min = 1},
        {.name = "--shares", .num = &a->shares, .min = 1},
        {.name = "--bits", .num = &a->bits, .min = 1},
        {.name = "--modes", .str = &a->modes},
        {.name = "--input", .choice = &a->input, .names = INPUT_NAMES},
        {.name = "--gemm", .str = &a->gemm},
    };
    int rc = bench_parse_args(argc, argv, "bench_quant", opts, (int)(sizeof opts / sizeof opts[0]));
    return rc < 0 ? rc : parse_modes(a);
}

static int make_plan(trainer *t, int mode, const bench_args *a, qa_err *err)
{
    q_plan *p = t->qn->plan;
    if (mode == M_HARD || mode == M_DDQ || mode == M_DDQ_ADAPTIVE)
        return q_plan_set_hard(p, a->batch, p->cand[0], p->cand[0], NULL, NULL, err);
    for (int i = 0; i < a->batch; i++)
        for (int l = 0; l < p->nlayers; l++)
            for (int k = 0; k < p->ncand; k++)
                q_plan_pw(p, i, l)[k] = q_plan_pa(p, i, l)[k] = 1.0f / (float)p->ncand;
    p->mode = Q_PLAN_SOFT;
    return QA_OK;
}

static int build(trainer *t, int mode, const bench_args *a, qa_err *err)
{
    int rc = nn_model_build(&t->net, a->model, a->batch, 1, 28, 28, 10, err);
    q_cfg qc;
    q_cfg_defaults(&qc);
    qc.input_domain = INPUT_DOMAINS[a->input];
    qc.tied = mode != M_UNTIED;
    qc.soft = mode == M_TIED || mode == M_UNTIED;
    int ddq = mode == M_DDQ || mode == M_DDQ_ADAPTIVE;
    if (ddq) {
        qc.w_kind = qc.a_kind = Q_KIND_DDQ;
        qc.ddq.init_bits = qc.ddq.range_bits = a->bits;
        qc.ddq.adaptive = mode == M_DDQ_ADAPTIVE;
    }
    if (mode == M_HARD || ddq) {
        qc.cand[0] = ddq ? 8 : a->bits;
        qc.ncand = 1;
    } else if (rc == QA_OK) {
        rc = q_cfg_parse_cand(&qc, a->cand, err);
    }
    if (rc == QA_OK && mode != M_FP32)
        rc = q_net_wrap(&t->qn, t->net, &qc, err);
    if (rc == QA_OK)
        rc = nn_net_finalize(t->net, 1, err);
    if (rc == QA_OK && mode != M_FP32)
        rc = make_plan(t, mode, a, err);
    if (rc == QA_OK && ddq)
        t->pen = (q_penalty){Q_COST_BITOPS, Q_PENALTY_ABS, 1.0f,
                             (float)q_cost_fixed_ratio(&t->qn->cost, Q_COST_BITOPS, a->bits)};
    if (rc == QA_OK)
        rc = bench_peer_sgd(&t->opt, &t->sched, &t->net->params, err);
    t->total = 5 + (long)a->steps * a->reps;
    t->labels = malloc((size_t)a->batch * sizeof(int));
    t->rate = malloc((size_t)a->reps * sizeof(double));
    t->cpu = malloc((size_t)a->reps * sizeof(double));
    if (rc == QA_OK && (!t->labels || !t->rate || !t->cpu))
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory");
    return rc;
}

static void trainer_free(trainer *t)
{
    free(t->labels);
    free(t->rate);
    free(t->cpu);
    nn_optim_free(t->opt);
    q_net_free(t->qn);
    nn_net_free(t->net);
}

static void train_step(trainer *t, const bench_data *d, int batch)
{
    bench_gather(d, t->step, batch, nn_net_input(t->net), t->labels, NULL);
    t->loss = bench_peer_grad(t->net, t->labels, batch);
    if (t->pen.lambda > 0.0f)
        q_ddq_net_penalty(t->qn, &t->net->params, &t->pen, NULL);
    nn_optim_step(t->opt, nn_sched_lr(&t->sched, t->step, t->total));
    t->step++;
}

static void timed(trainer *t, int m, int rep, const bench_args *a, const bench_data *d)
{
    double t0 = bench_now_s(), c0 = bench_process_cpu_s();
    for (int i = 0; i < a->steps; i++)
        train_step(t, d, a->batch);
    t->rate[rep] = (double)a->steps * a->batch / (bench_now_s() - t0);
    t->cpu[rep] = 1e3 * (bench_process_cpu_s() - c0) / ((double)a->steps * a->batch);
    printf("rep %d %-11s %8.1f img/s  %.3f CPU ms/img  loss %.4f\n", rep + 1, MODE_NAMES[m],
           t->rate[rep], t->cpu[rep], t->loss);
    fflush(stdout);
}

static int run(const bench_args *a, const bench_data *d, qa_err *err)
{
    trainer t[NMODES] = {0};
    int rc = QA_OK;
    for (int m = 0; rc == QA_OK && m < NMODES; m++)
        if (a->on[m])
            rc = build(&t[m], m, a, err);
    if (rc == QA_OK) {
        for (int m = 0; m < NMODES; m++)
            for (int i = 0; a->on[m] && i < 5; i++)
                train_step(&t[m], d, a->batch);
        for (int rep = 0; rep < a->reps; rep++)
            for (int m = 0; m < NMODES; m++)
                if (a->on[m])
                    timed(&t[m], m, rep, a, d);
        double med[NMODES];
        for (int m = 0; m < NMODES; m++)
            med[m] = a->on[m] ? bench_median(t[m].rate, a->reps) : 0.0;
        for (int m = 0; m < NMODES; m++)
            if (a->on[m])
                printf("RESULT mode=%s model=%s batch=%d threads=%d img_per_s=%.1f "
                       "ms_per_step=%.2f ratio_fp32=%.3f cpu_ms_per_img=%.3f gemm=%s "
                       "openblas_core=%s peak_rss_mb=%.0f final_loss=%.4f\n",
                       MODE_NAMES[m], a->model, a->batch, a->threads, med[m],
                       1e3 * a->batch / med[m], med[M_FP32] / med[m],
                       bench_median(t[m].cpu, a->reps), nn_blas_gemm(), nn_blas_core(),
                       bench_peak_rss_mb(), t[m].loss);
        for (int m = 0; rc == QA_OK && m < NMODES; m++)
            if (a->on[m] && !isfinite(t[m].loss))
                rc = qa_fail(err, QA_ERR_NUMERIC, "%s: loss is %g", MODE_NAMES[m], t[m].loss);
    }
    for (int m = 0; m < NMODES; m++)
        trainer_free(&t[m]);
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
        rc = bench_data_load(&d, 0, &err);
    if (rc == QA_OK) {
        printf("bench_quant: model %s, batch %d, %d threads, %d shares, W%dA%d hard, soft over "
               "%s, input %s, %d x %d steps per mode\n",
               a.model, a.batch, a.threads, a.shares, a.bits, a.bits, a.cand,
               INPUT_NAMES[a.input], a.reps, a.steps);
        rc = run(&a, &d, &err);
    }
    bench_data_free(&d);
    if (rc < 0) {
        fprintf(stderr, "bench_quant: %s\n", err.msg);
        return 1;
    }
    return 0;
}
