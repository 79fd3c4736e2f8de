/* bench_blockrep.c: a block-replacement training step (quant/blockrep.h,
 * method blockrep) against a plain LSQ step, in one invocation.
 *
 *   bench_blockrep [--model resnet20|small|mobilenetv2_tiny] [--bits W]
 *                  [--subset M] [--steps N] [--reps R] [--batch B]
 *                  [--threads T] [--modes LIST]
 *
 * Every mode trains the same architecture at W<bits>A<bits> LSQ (first and
 * last layers at 8 bits, the input quantized unsigned at 8 bits, as the
 * resnet20 LSQ configs run with data.normalize = none) on Fashion-MNIST
 * with the peer's SGD (bench_fmnist.h):
 *   lsq          the plain QAT step (forward, CE, backward, update): the
 *                reference of the ratios
 *   prefix       blockrep's step with every prefix model M_1..M_n-1 (CE
 *                terms), then the update
 *   prefix-sub   the same with a random subset of --subset models a step
 *   prefix-stage every prefix model with the blocks merged by stage
 *                (blockrep.stages: resnet20's 11 blocks become 5)
 *   prefix-kl    every prefix model with CE and KL terms (the teacher's own
 *                forward added)
 *   single       every single-block model M_1..M_n
 * The teacher is an fp32 net of the architecture with its initial weights
 * (a step's cost does not depend on them). After 3 warm-up steps each,
 * the R repetitions of N steps are interleaved across the modes so that
 * load from other processes hits all alike; medians are reported:
 *   RESULT mode=.. model=.. bits=.. img_per_s=<median> ms_per_step=..
 *          ratio_lsq=<median step time / lsq's> cpu_ms_per_img=<median>
 * The ratio is of the medians' wall times; cpu_ms_per_img (all threads)
 * moves less under load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_fmnist.h"
#include "bench_util.h"
#include "nn/models.h"
#include "nn/par.h"
#include "quant/blockrep.h"
#include "quant/qnet.h"

enum { M_LSQ, M_PREFIX, M_SUB, M_STAGE, M_KL, M_SINGLE, NMODES };
static const char *const MODE_NAMES[NMODES + 1] = {"lsq", "prefix", "prefix-sub", "prefix-stage",
                                                   "prefix-kl", "single", NULL};

typedef struct {
    const char *model, *modes;
    int bits, subset, steps, reps, batch, threads;
    int on[NMODES];
} bench_args;

typedef struct {
    nn_net *net, *teacher;
    q_net *qn;
    q_br *br;
    nn_optim *opt;
    nn_sched_cfg sched;
    int *labels;
    long step, total;
    double loss;
    double *rate, *cpu; /* (reps) */
} trainer;

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){.model = "resnet20",
                      .modes = "lsq,prefix,prefix-sub,prefix-stage,prefix-kl,single",
                      .bits = 2, .subset = 3, .steps = 4, .reps = 5, .batch = 128, .threads = 1};
    const bench_opt opts[] = {
        {.name = "--model", .str = &a->model},
        {.name = "--modes", .str = &a->modes},
        {.name = "--bits", .num = &a->bits, .min = 2},
        {.name = "--subset", .num = &a->subset, .min = 1},
        {.name = "--steps", .num = &a->steps, .min = 1},
        {.name = "--reps", .num = &a->reps, .min = 1},
        {.name = "--batch", .num = &a->batch, .min = 1},
        {.name = "--threads", .num = &a->threads, .min = 1},
    };
    if (bench_parse_args(argc, argv, "bench_blockrep", opts, (int)(sizeof opts / sizeof *opts)) < 0)
        return -1;
    a->on[M_LSQ] = 1; /* the reference always runs */
    for (const char *s = a->modes; *s;) {
        size_t len = strcspn(s, ",");
        int m = bench_name_index(MODE_NAMES, s, len);
        if (m < 0) {
            fprintf(stderr, "bench_blockrep: --modes: unknown mode '%.*s' (modes: lsq, prefix, "
                    "prefix-sub, prefix-stage, prefix-kl, single)\n", (int)len, s);
            return -1;
        }
        a->on[m] = 1;
        s += len + (s[len] == ',');
    }
    return 0;
}

static int build_blockrep(trainer *t, int mode, const bench_args *a, qa_err *err)
{
    q_br_cfg bc = {.mode = mode == M_SINGLE ? Q_BR_SINGLE : Q_BR_PREFIX,
                   .stages = mode == M_STAGE, .ce_weight = 1.0f,
                   .kl_weight = mode == M_KL ? 1.0f : 0.0f, .temperature = 4.0f};
    int rc = nn_model_build(&t->teacher, a->model, a->batch, 1, 28, 28, 10, err);
    if (!rc)
        rc = nn_net_finalize(t->teacher, 2, err);
    return rc ? rc : q_br_create(&t->br, t->net, t->teacher, a->model, &bc, err);
}

static int build(trainer *t, int mode, const bench_args *a, qa_err *err)
{
    q_cfg qc;
    q_cfg_defaults(&qc);
    qc.input_domain = Q_INPUT_UNSIGNED;
    qc.cand[0] = a->bits;
    qc.ncand = 1;
    int rc = nn_model_build(&t->net, a->model, a->batch, 1, 28, 28, 10, err);
    if (!rc)
        rc = q_net_wrap(&t->qn, t->net, &qc, err);
    if (!rc)
        rc = nn_net_finalize(t->net, 1, err);
    if (!rc)
        rc = q_plan_set_hard(t->qn->plan, a->batch, a->bits, a->bits, NULL, NULL, err);
    if (!rc)
        rc = bench_peer_sgd(&t->opt, &t->sched, &t->net->params, err);
    if (!rc && mode != M_LSQ)
        rc = build_blockrep(t, mode, a, err);
    t->total = 3 + (long)a->steps * a->reps;
    t->labels = malloc((size_t)a->batch * sizeof(int));
    t->rate = malloc((size_t)a->reps * sizeof(double));
    t->cpu = malloc((size_t)a->reps * sizeof(double));
    if (!rc && (!t->labels || !t->rate || !t->cpu))
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory");
    return rc;
}

static void trainer_free(trainer *t)
{
    free(t->labels);
    free(t->rate);
    free(t->cpu);
    q_br_free(t->br);
    nn_optim_free(t->opt);
    q_net_free(t->qn);
    nn_net_free(t->net);
    nn_net_free(t->teacher);
}

static void train_step(trainer *t, int mode, const bench_args *a, const bench_data *d)
{
    bench_gather(d, t->step, a->batch, nn_net_input(t->net), t->labels, NULL);
    if (mode == M_LSQ) {
        t->loss = bench_peer_step(t->net, t->opt, &t->sched, t->labels, a->batch, t->step,
                                  t->total);
    } else {
        unsigned char use[NN_MAX_BLOCKS + 1];
        float s = q_br_select(t->br, mode == M_SUB ? a->subset : 0, 1, t->step, use);
        t->loss = q_br_train(t->br, t->labels, a->batch, use, s, NULL, NULL);
        nn_optim_step(t->opt, nn_sched_lr(&t->sched, t->step, t->total));
    }
    t->step++;
}

static void timed(trainer *t, int m, int rep, const bench_args *a, const bench_data *d)
{
    double t0 = bench_now_s(), c0 = bench_process_cpu_s();
    for (int i = 0; i < a->steps; i++)
        train_step(t, m, a, d);
    t->rate[rep] = (double)a->steps * a->batch / (bench_now_s() - t0);
    t->cpu[rep] = 1e3 * (bench_process_cpu_s() - c0) / ((double)a->steps * a->batch);
    printf("rep %d %-10s %8.1f img/s  %.3f CPU ms/img  loss %.4f\n", rep + 1, MODE_NAMES[m],
           t->rate[rep], t->cpu[rep], t->loss);
    fflush(stdout);
}

static void report(trainer *t, const bench_args *a)
{
    double med[NMODES];
    for (int m = 0; m < NMODES; m++)
        med[m] = a->on[m] ? bench_median(t[m].rate, a->reps) : 0.0;
    for (int m = 0; m < NMODES; m++)
        if (a->on[m])
            printf("RESULT mode=%s model=%s bits=%d batch=%d threads=%d img_per_s=%.1f "
                   "ms_per_step=%.2f ratio_lsq=%.3f cpu_ms_per_img=%.3f\n", MODE_NAMES[m],
                   a->model, a->bits, a->batch, a->threads, med[m], 1e3 * a->batch / med[m],
                   med[M_LSQ] / med[m], bench_median(t[m].cpu, a->reps));
}

static int run(const bench_args *a, const bench_data *d, qa_err *err)
{
    trainer t[NMODES] = {0};
    int rc = QA_OK;
    for (int m = 0; rc == QA_OK && m < NMODES; m++)
        if (a->on[m])
            rc = build(&t[m], m, a, err);
    for (int m = 0; rc == QA_OK && m < NMODES; m++)
        for (int i = 0; a->on[m] && i < 3; i++)
            train_step(&t[m], m, a, d);
    for (int rep = 0; rc == QA_OK && rep < a->reps; rep++)
        for (int m = 0; m < NMODES; m++)
            if (a->on[m])
                timed(&t[m], m, rep, a, d);
    if (rc == QA_OK)
        report(t, a);
    for (int m = 0; rc == QA_OK && m < NMODES; m++)
        if (a->on[m] && !isfinite(t[m].loss))
            rc = qa_fail(err, QA_ERR_NUMERIC, "%s: loss is %g", MODE_NAMES[m], t[m].loss);
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
        rc = bench_data_load(&d, 0, &err);
    if (rc == QA_OK) {
        printf("bench_blockrep: model %s W%dA%d LSQ, batch %d, %d threads, subset %d, %d x %d "
               "steps per mode\n", a.model, a.bits, a.bits, a.batch, a.threads, a.subset,
               a.reps, a.steps);
        rc = run(&a, &d, &err);
    }
    bench_data_free(&d);
    if (rc < 0) {
        fprintf(stderr, "bench_blockrep: %s\n", err.msg);
        return 1;
    }
    return 0;
}
