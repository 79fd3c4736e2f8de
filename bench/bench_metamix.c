/* bench_metamix.c: the cost of MetaMix's steps against a fixed-precision
 * QAT step, and of batching its candidate passes.
 *
 *   bench_metamix [--model mobilenetv2_tiny|resnet20|small] [--steps N]
 *                 [--reps R] [--batch B] [--threads T] [--cand LIST]
 *
 * Trainers of the same architecture on Fashion-MNIST (pixels / 255, the
 * peer's SGD; first/last layers at 8 bits), each timed on B images a step:
 *   fixed    method fixed's step at W4A4 (LSQ): the reference
 *   mean     MetaMix's weight step (quant/qmeta.h, the code the method
 *            runs): K passes, every planned layer's activations at one
 *            candidate each, weights at full precision, then the update
 *   batched  the same K x B forward/backward as ONE pass over the batch
 *            repeated K times, each copy at its candidate (a net built for
 *            K x B): what batching the candidates would cost. Not exact:
 *            batch norm pools the K copies' statistics, so the method does
 *            not use it; timed to show what it would save
 *   mixture  the ablation's weight step: the softmax mixture (soft_a plan)
 *            forward/backward, then the update
 *   arch     the architecture step (agent/metamix.h): the mixture's
 *            forward/backward, the logits' gradient with the penalty, the
 *            logits' Adam step, the backbone's buffers put back
 * After 3 warm-up steps each, the R repetitions are interleaved (fixed,
 * mean, batched, ...) so that load from other processes hits all alike;
 * medians of wall img/s and of process CPU ms per step, and the ratios to
 * fixed, then one line per mode:
 *   RESULT mode=.. model=.. img_per_s=.. cpu_ms_per_step=.. ratio_fixed=.. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metamix.h"
#include "bench_fmnist.h"
#include "bench_util.h"
#include "nn/loss.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "nn/par.h"
#include "quant/qmeta.h"
#include "quant/qnet.h"

enum { M_FIXED, M_MEAN, M_BATCHED, M_MIXTURE, M_ARCH, NMODES };
static const char *const MODE_NAMES[NMODES] = {"fixed", "mean", "batched", "mixture", "arch"};

typedef struct {
    const char *model, *cand;
    int steps, reps, batch, threads;
} bench_args;

typedef struct {
    int mode, K;
    nn_net *net;
    q_net *qn;
    nn_optim *opt, *aopt;
    agent_metamix *ag;
    nn_sched_cfg sched;
    int *labels;
    float *loss, *work, *bufsave;
    long step, total;
    float last;
    double *rate, *cpu; /* (reps) images/s, CPU ms per step */
} trainer;

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){"mobilenetv2_tiny", "3,4,8", 5, 5, 128, 1};
    const bench_opt opts[] = {
        {.name = "--model", .str = &a->model},
        {.name = "--cand", .str = &a->cand},
        {.name = "--steps", .num = &a->steps, .min = 1},
        {.name = "--reps", .num = &a->reps, .min = 1},
        {.name = "--batch", .num = &a->batch, .min = 1},
        {.name = "--threads", .num = &a->threads, .min = 1},
    };
    return bench_parse_args(argc, argv, "bench_metamix", opts, (int)(sizeof opts / sizeof opts[0]));
}

/* [metamix]'s defaults with candidates LIST */
static int mm_cfg(agent_mm_cfg *c, const char *list, qa_err *err)
{
    q_cfg qc;
    q_cfg_defaults(&qc);
    int rc = q_cfg_parse_cand(&qc, list, err);
    *c = (agent_mm_cfg){.ncand = qc.ncand, .search_w_bits = 32, .w_bits = 4,
                        .arch_lr = 0.01f, .cost = AGENT_COST_TARGET, .lambda = 4,
                        .target = 0.2564f, .cost_argmax = 1, .hold = 1, .finetune = 1};
    memcpy(c->cand, qc.cand, sizeof c->cand);
    return rc ? rc : agent_mm_cfg_check(c, err);
}

static int build_agent(trainer *t, const agent_mm_cfg *mc, qa_err *err)
{
    int rc = agent_metamix_create(&t->ag, mc, t->qn->plan, &t->qn->cost, err);
    nn_optim_cfg oc = {.type = NN_OPT_ADAMW, .lr = mc->arch_lr};
    if (!rc)
        rc = nn_optim_create(&t->aopt, &oc, &t->ag->params, err);
    return rc;
}

static int build_net(trainer *t, const bench_args *a, const agent_mm_cfg *mc, int nb, qa_err *err)
{
    int rc = nn_model_build(&t->net, a->model, nb, 1, 28, 28, 10, err);
    q_cfg qc;
    q_cfg_defaults(&qc);
    qc.input_domain = Q_INPUT_UNSIGNED;
    qc.tied = t->mode == M_FIXED;
    qc.per_channel = 1;
    qc.cand[0] = 4;
    qc.ncand = t->mode == M_FIXED ? 1 : agent_mm_plan_widths(mc, qc.cand);
    if (rc == QA_OK)
        rc = q_net_wrap(&t->qn, t->net, &qc, err);
    if (rc == QA_OK)
        rc = nn_net_finalize(t->net, 1, err);
    if (rc == QA_OK && t->mode == M_FIXED)
        rc = q_plan_set_hard(t->qn->plan, nb, 4, 4, NULL, NULL, err);
    return rc;
}

static int build(trainer *t, int mode, const bench_args *a, const agent_mm_cfg *mc, qa_err *err)
{
    t->mode = mode;
    t->K = mc->ncand;
    int nb = mode == M_BATCHED ? t->K * a->batch : a->batch;
    int rc = build_net(t, a, mc, nb, err);
    if (rc == QA_OK && mode != M_FIXED)
        rc = build_agent(t, mc, err);
    if (rc == QA_OK)
        rc = bench_peer_sgd(&t->opt, &t->sched, &t->net->params, err);
    t->total = 3 + (long)a->steps * a->reps;
    t->labels = malloc((size_t)nb * sizeof(int));
    t->loss = malloc(2 * (size_t)nb * sizeof(float));
    t->bufsave = malloc((t->net ? t->net->params.nbuf : 0) * sizeof(float) + 1);
    t->rate = malloc(2 * (size_t)a->reps * sizeof(double));
    if (rc == QA_OK && (!t->labels || !t->loss || !t->bufsave || !t->rate))
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory");
    if (rc == QA_OK) {
        t->work = t->loss + nb;
        t->cpu = t->rate + a->reps;
    }
    return rc;
}

static void trainer_free(trainer *t)
{
    free(t->labels);
    free(t->loss);
    free(t->bufsave);
    free(t->rate);
    nn_optim_free(t->opt);
    nn_optim_free(t->aopt);
    agent_free(t->ag ? &t->ag->base : NULL);
    q_net_free(t->qn);
    nn_net_free(t->net);
}

static void fill_candidate(void *arg, int k, int n, q_plan *plan)
{
    agent_metamix_candidate(arg, k, n, plan);
}

/* forward, cross-entropy, backward of n samples (gradients zeroed first) */
static float pass(trainer *t, int n)
{
    nn_net_forward(t->net, n, 1);
    float l = nn_softmax_ce(nn_net_output(t->net)->data, t->labels, n, 10,
                            nn_net_output_grad(t->net), t->loss, NULL);
    nn_net_zero_grad(t->net);
    nn_net_backward(t->net, n);
    return l;
}

/* the batch repeated K times, copy k at candidate k (images and labels) */
static void batched_pass(trainer *t, int n)
{
    float *x = nn_net_input(t->net);
    size_t px = 28 * 28;
    q_plan *p = t->qn->plan;
    agent_metamix_candidate(t->ag, 0, t->K * n, p); /* every copy at c_0 ... */
    for (int k = 1; k < t->K; k++) {
        memcpy(x + (size_t)k * n * px, x, (size_t)n * px * sizeof *x);
        memcpy(t->labels + (size_t)k * n, t->labels, (size_t)n * sizeof(int));
        for (int i = k * n; i < (k + 1) * n; i++) /* ... but copy k at c_k */
            for (int l = 0; l < p->nlayers; l++)
                q_plan_abits(p, i)[l] = (uint8_t)t->ag->cfg.cand[k];
    }
    t->last = pass(t, t->K * n);
}

/* the architecture step as method metamix takes it */
static void arch_step(trainer *t, int n)
{
    nn_params *bp = &t->net->params;
    memcpy(t->bufsave, bp->buf, bp->nbuf * sizeof *bp->buf);
    agent_obs o = {n, 0, NULL, NULL, 1, (uint32_t)t->step};
    agent_act(&t->ag->base, &o, AGENT_ACT_TRAIN, t->qn->plan);
    t->last = pass(t, n);
    memcpy(bp->buf, t->bufsave, bp->nbuf * sizeof *bp->buf);
    agent_feedback f = {n, t->loss, NULL, t->qn->plan->gpa};
    agent_learn(&t->ag->base, &o, t->qn->plan, &f, NULL);
    nn_optim_step(t->aopt, t->ag->base.sets[0].lr);
}

static void train_step(trainer *t, const bench_data *d, const bench_args *a)
{
    int n = a->batch;
    bench_gather(d, t->step, n, nn_net_input(t->net), t->labels, NULL);
    float lr = nn_sched_lr(&t->sched, t->step, t->total);
    if (t->mode == M_FIXED) {
        t->last = bench_peer_step(t->net, t->opt, &t->sched, t->labels, n, t->step, t->total);
    } else if (t->mode == M_MEAN) {
        q_meta_result m;
        q_meta_mean_step(t->net, t->qn->plan, t->K, fill_candidate, t->ag, t->labels, n, t->loss,
                         t->work, &m);
        t->last = (float)m.loss;
    } else if (t->mode == M_BATCHED) {
        batched_pass(t, n);
    } else if (t->mode == M_MIXTURE) {
        agent_obs o = {n, 0, NULL, NULL, 1, (uint32_t)t->step};
        agent_act(&t->ag->base, &o, AGENT_ACT_TRAIN, t->qn->plan);
        t->last = pass(t, n);
    } else {
        arch_step(t, n);
    }
    if (t->mode != M_FIXED && t->mode != M_ARCH)
        nn_optim_step(t->opt, lr);
    t->step++;
}

static void timed(trainer *t, int rep, const bench_args *a, const bench_data *d)
{
    double t0 = bench_now_s(), c0 = bench_process_cpu_s();
    for (int i = 0; i < a->steps; i++)
        train_step(t, d, a);
    t->rate[rep] = (double)a->steps * a->batch / (bench_now_s() - t0);
    t->cpu[rep] = 1e3 * (bench_process_cpu_s() - c0) / a->steps;
    printf("rep %d %-8s %8.1f img/s %9.1f CPU ms/step  loss %.4f\n", rep + 1, MODE_NAMES[t->mode],
           t->rate[rep], t->cpu[rep], t->last);
    fflush(stdout);
}

static int report(trainer *t, const bench_args *a, qa_err *err)
{
    double med[NMODES], cpu[NMODES];
    for (int m = 0; m < NMODES; m++) {
        med[m] = bench_median(t[m].rate, a->reps);
        cpu[m] = bench_median(t[m].cpu, a->reps);
    }
    for (int m = 0; m < NMODES; m++)
        printf("RESULT mode=%s model=%s batch=%d threads=%d cand=%s img_per_s=%.1f "
               "cpu_ms_per_step=%.1f ratio_fixed=%.3f cpu_ratio_fixed=%.3f final_loss=%.4f\n",
               MODE_NAMES[m], a->model, a->batch, a->threads, a->cand, med[m], cpu[m],
               med[M_FIXED] / med[m], cpu[m] / cpu[M_FIXED], t[m].last);
    for (int m = 0; m < NMODES; m++)
        if (!isfinite(t[m].last))
            return qa_fail(err, QA_ERR_NUMERIC, "%s: loss is %g", MODE_NAMES[m], t[m].last);
    return QA_OK;
}

static int run(const bench_args *a, const bench_data *d, qa_err *err)
{
    agent_mm_cfg mc;
    int rc = mm_cfg(&mc, a->cand, err);
    trainer t[NMODES] = {0};
    for (int m = 0; rc == QA_OK && m < NMODES; m++)
        rc = build(&t[m], m, a, &mc, err);
    if (rc == QA_OK) {
        for (int m = 0; m < NMODES; m++)
            for (int i = 0; i < 3; i++)
                train_step(&t[m], d, a);
        for (int rep = 0; rep < a->reps; rep++)
            for (int m = 0; m < NMODES; m++)
                timed(&t[m], rep, a, d);
        rc = report(t, a, err);
    }
    for (int m = 0; m < NMODES; m++)
        trainer_free(&t[m]);
    return rc;
}

int main(int argc, char **argv)
{
    bench_args a;
    if (parse_args(argc, argv, &a) < 0)
        return 2;
    qa_err err = {0};
    bench_data d = {0};
    int rc = nn_par_set_threads(a.threads, &err);
    if (!rc)
        rc = bench_data_load(&d, 0, &err);
    if (!rc) {
        printf("bench_metamix: %s, batch %d, candidates %s, %d threads, %d steps x %d reps\n",
               a.model, a.batch, a.cand, a.threads, a.steps, a.reps);
        rc = run(&a, &d, &err);
    }
    bench_data_free(&d);
    if (rc) {
        fprintf(stderr, "bench_metamix: %s\n", err.msg);
        return 1;
    }
    return 0;
}
