/* bench_dqmq.c: cost of a DQMQ training step against a fixed-precision
 * QAT step.
 *
 *   bench_dqmq [--model small|resnet20|mobilenetv2_tiny] [--steps N]
 *              [--reps R] [--batch B] [--threads T] [--shares S] [--cand LIST]
 *              [--nfeat F] [--soft-keep M] [--soft-min-p P]
 *              [--gemm auto|avx512|avx2|portable|openblas]
 *
 * Three trainers of the same architecture on Fashion-MNIST (pixels / 255,
 * SGD momentum 0.9, lr 0.05 cosine; first/last layers at 8 bits):
 *   fixed   method fixed's step: every sample at W4A4 (one width, LSQ)
 *   critic  method dqmq, dqmq.optimizer = critic: its agent (agent/dqmq.h,
 *           the code the method runs) acts: the policy (64-64 MLP on F
 *           features) emits the distributions, one width per sample and
 *           layer is drawn; the backbone runs hard (grouped per width);
 *           the agent learns: the critic's plan gradient and the analytic
 *           cost gradient update the policy, the critic is fitted (Adam
 *           each)
 *   soft    method dqmq, dqmq.optimizer = analytic: the backbone runs the
 *           agent's soft plan over all candidates (default 2,3,4,6,8,
 *           tied), one backward gives QAT gradients and dL/dp, the agent
 *           adds the cost term's gradient and updates the policy; with
 *           --soft-keep / --soft-min-p (quant.soft_keep, soft_min_p) each
 *           sample runs only its most probable candidates (an
 *           approximation, qlayer.h)
 * Features are F (default: the quality features' count, ENV_Q_NFEAT) fixed
 * random numbers per training image (the step's cost does not depend on
 * their values). A step is: gather, (policy,) forward, cross-entropy,
 * backward, updates. After 5 warm-up steps each, the R
 * repetitions are interleaved (fixed, critic, soft, fixed, ...) so that
 * load from other processes hits all alike; medians and the ratios to
 * fixed are printed, then one line per mode:
 *   RESULT mode=.. model=.. img_per_s=<median> ms_per_step=.. ratio_fixed=..
 *          cpu_ms_per_img=<median> cpu_ratio_fixed=..
 * (cpu_ms_per_img: the process's CPU time over all threads per image, which
 * moves far less than img/s on a loaded machine.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/dqmq.h"
#include "bench_fmnist.h"
#include "bench_util.h"
#include "env/quality.h"
#include "nn/blas.h"
#include "nn/loss.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "nn/par.h"
#include "quant/qnet.h"

enum { M_FIXED, M_CRITIC, M_SOFT, NMODES };
static const char *const MODE_NAMES[NMODES] = {"fixed", "critic", "soft"};

typedef struct {
    const char *model, *cand, *gemm;
    int steps, reps, batch, threads, shares, nfeat, keep;
    double min_p;
} bench_args;

/* Fashion-MNIST with random stand-ins for the quality features: their
 * values do not change a step's cost, only their number does. */
typedef struct {
    bench_data img;
    float *feat; /* (n, nfeat) */
} dqmq_data;

typedef struct {
    int mode;
    nn_net *net;
    q_net *qn;
    nn_optim *opt, *aopt[AGENT_MAX_SETS];
    agent_dqmq *ag; /* method dqmq's agent (agent/dqmq.h) */
    nn_sched_cfg sched;
    int *labels, *key;
    float *feat, *loss;
    long step, total;
    float last;
    double *rate, *cpu; /* (reps) images/s, CPU ms per image */
} trainer;

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){"small", "2,3,4,6,8", "auto", 20, 7, 128, 2, NN_PAR_DEFAULT_SHARES,
                      ENV_Q_NFEAT, 0, 0.0};
    const bench_opt opts[] = {
        {.name = "--model", .str = &a->model},
        {.name = "--cand", .str = &a->cand},
        {.name = "--steps", .num = &a->steps, .min = 1},
        {.name = "--reps", .num = &a->reps, .min = 1},
        {.name = "--batch", .num = &a->batch, .min = 1},
        {.name = "--threads", .num = &a->threads, .min = 1},
        {.name = "--shares", .num = &a->shares, .min = 1},
        {.name = "--nfeat", .num = &a->nfeat, .min = 1},
        {.name = "--soft-keep", .num = &a->keep, .min = 0},
        {.name = "--soft-min-p", .real = &a->min_p, .min = 0, .max = 1},
        {.name = "--gemm", .str = &a->gemm},
    };
    return bench_parse_args(argc, argv, "bench_dqmq", opts, (int)(sizeof opts / sizeof opts[0]));
}

static int load_data(dqmq_data *d, int nfeat, qa_err *err)
{
    int rc = bench_data_load(&d->img, 0, err);
    if (rc < 0)
        return rc;
    d->feat = malloc((size_t)d->img.n * (size_t)nfeat * sizeof(float));
    if (!d->feat)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the features");
    nn_rng r;
    nn_rng_init(&r, 1, NN_STREAM_TEST, 0, 0);
    for (size_t i = 0; i < (size_t)d->img.n * (size_t)nfeat; i++)
        d->feat[i] = nn_rng_normal(&r);
    return QA_OK;
}

/* method dqmq's agent as its defaults make it, at lr 3e-3 for the policy
 * and the critic, the cost term lambda * E[BitOps] / ref */
static int build_agent(trainer *t, const bench_args *a, qa_err *err)
{
    agent_cfg ac = {.observation = AGENT_OBS_FEATURES, .head = AGENT_HEAD_DQMQ, .hidden = 64,
                    .sigma_min = 0.3f, .sigma_max = 2.0f, .tau = 5.0f, .critic_hidden = 64};
    agent_train_cfg tc = {.optimizer = t->mode == M_CRITIC ? AGENT_OPT_CRITIC : AGENT_OPT_ANALYTIC,
                          .lr = 3e-3f, .cost = AGENT_COST_EXPECTED, .lambda = 1.0f,
                          .critic_lr = 3e-3f, .baseline_momentum = 0.9f};
    int rc = agent_dqmq_create(&t->ag, &ac, &tc, t->qn->plan, &t->qn->cost, a->nfeat, a->batch,
                               1, err);
    for (int i = 0; !rc && i < t->ag->base.nsets; i++) {
        nn_optim_cfg oc = {.type = NN_OPT_ADAMW, .lr = t->ag->base.sets[i].lr};
        rc = nn_optim_create(&t->aopt[i], &oc, t->ag->base.sets[i].params, err);
    }
    size_t B = (size_t)a->batch;
    t->feat = malloc(B * ((size_t)a->nfeat + 1) * sizeof *t->feat);
    t->key = malloc(B * sizeof *t->key);
    if (!rc && (!t->feat || !t->key))
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory");
    if (!rc)
        t->loss = t->feat + B * (size_t)a->nfeat;
    return rc;
}

static int build(trainer *t, int mode, const bench_args *a, qa_err *err)
{
    t->mode = mode;
    int rc = nn_model_build(&t->net, a->model, a->batch, 1, 28, 28, 10, err);
    q_cfg qc;
    q_cfg_defaults(&qc);
    qc.input_domain = Q_INPUT_UNSIGNED;
    qc.soft = mode == M_SOFT;
    qc.soft_keep = a->keep;
    qc.soft_min_p = (float)a->min_p;
    if (mode == M_FIXED) {
        qc.cand[0] = 4;
        qc.ncand = 1;
    } else if (rc == QA_OK) {
        rc = q_cfg_parse_cand(&qc, a->cand, err);
    }
    if (rc == QA_OK)
        rc = q_net_wrap(&t->qn, t->net, &qc, err);
    if (rc == QA_OK)
        rc = nn_net_finalize(t->net, 1, err);
    if (rc == QA_OK && mode == M_FIXED)
        rc = q_plan_set_hard(t->qn->plan, a->batch, 4, 4, NULL, NULL, err);
    if (rc == QA_OK && mode != M_FIXED)
        rc = build_agent(t, a, err);
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
    free(t->feat);
    free(t->key);
    nn_optim_free(t->opt);
    for (int i = 0; i < AGENT_MAX_SETS; i++)
        nn_optim_free(t->aopt[i]);
    agent_free(t->ag ? &t->ag->base : NULL);
    q_net_free(t->qn);
    nn_net_free(t->net);
}

/* method dqmq's main-phase step (joint schedule): the agent acts (soft, or
 * drawn hard widths for the critic), the backbone runs it, the agent learns
 * from the per-sample losses, every optimizer steps */
static void agent_step(trainer *t, int n, float lr)
{
    q_plan *p = t->qn->plan;
    agent_obs o = {n, t->ag->pol->cfg.nin, t->feat, t->key, 1, (uint32_t)t->step};
    agent_act(&t->ag->base, &o, AGENT_ACT_TRAIN, p);
    nn_net_forward(t->net, n, 1);
    t->last = nn_softmax_ce(nn_net_output(t->net)->data, t->labels, n, 10,
                            nn_net_output_grad(t->net), t->loss, NULL);
    nn_net_zero_grad(t->net);
    nn_net_backward(t->net, n);
    int soft = t->mode == M_SOFT;
    agent_feedback f = {n, t->loss, soft ? p->gpw : NULL, soft ? p->gpa : NULL};
    agent_stats st = {0};
    unsigned learned = agent_learn(&t->ag->base, &o, p, &f, &st);
    for (int i = 0; i < t->ag->base.nsets; i++)
        if (learned >> i & 1u)
            nn_optim_step(t->aopt[i], t->ag->base.sets[i].lr);
    nn_optim_step(t->opt, lr);
}

static void train_step(trainer *t, const dqmq_data *d, const bench_args *a)
{
    int batch = a->batch, F = a->nfeat;
    bench_gather(&d->img, t->step, batch, nn_net_input(t->net), t->labels, t->key);
    if (t->feat)
        for (int i = 0; i < batch; i++)
            memcpy(t->feat + (size_t)i * F, d->feat + (size_t)t->key[i] * F,
                   (size_t)F * sizeof(float));
    if (t->mode == M_FIXED)
        t->last = bench_peer_step(t->net, t->opt, &t->sched, t->labels, batch, t->step, t->total);
    else
        agent_step(t, batch, nn_sched_lr(&t->sched, t->step, t->total));
    t->step++;
}

static void timed(trainer *t, int rep, const bench_args *a, const dqmq_data *d)
{
    double t0 = bench_now_s(), c0 = bench_process_cpu_s();
    for (int i = 0; i < a->steps; i++)
        train_step(t, d, a);
    t->rate[rep] = (double)a->steps * a->batch / (bench_now_s() - t0);
    t->cpu[rep] = 1e3 * (bench_process_cpu_s() - c0) / ((double)a->steps * a->batch);
    printf("rep %d %-7s %8.1f img/s %7.3f CPU ms/img  loss %.4f\n", rep + 1,
           MODE_NAMES[t->mode], t->rate[rep], t->cpu[rep], t->last);
    fflush(stdout);
}

static int report(trainer *t, const bench_args *a, qa_err *err)
{
    double med[NMODES], cpu[NMODES];
    for (int m = 0; m < NMODES; m++) {
        med[m] = bench_median(t[m].rate, a->reps);
        cpu[m] = bench_median(t[m].cpu, a->reps);
    }
    int64_t bb = nn_net_macs(t[M_SOFT].net), pm = agent_policy_macs(t[M_SOFT].ag->pol);
    printf("policy: %lld MACs per sample = %.3f%% of the backbone's %lld\n", (long long)pm,
           100.0 * (double)pm / (double)bb, (long long)bb);
    for (int m = 0; m < NMODES; m++)
        printf("RESULT mode=%s model=%s batch=%d threads=%d cand=%s img_per_s=%.1f "
               "ms_per_step=%.2f ratio_fixed=%.3f cpu_ms_per_img=%.3f cpu_ratio_fixed=%.3f "
               "soft_keep=%d soft_min_p=%g final_loss=%.4f\n",
               MODE_NAMES[m], a->model, a->batch, a->threads, m == M_FIXED ? "4" : a->cand, med[m],
               1e3 * a->batch / med[m], med[M_FIXED] / med[m], cpu[m], cpu[m] / cpu[M_FIXED],
               a->keep, a->min_p, t[m].last);
    for (int m = 0; m < NMODES; m++)
        if (!isfinite(t[m].last))
            return qa_fail(err, QA_ERR_NUMERIC, "%s: loss is %g", MODE_NAMES[m], t[m].last);
    return QA_OK;
}

static int run(const bench_args *a, const dqmq_data *d, qa_err *err)
{
    trainer t[NMODES] = {0};
    int rc = QA_OK;
    for (int m = 0; rc == QA_OK && m < NMODES; m++)
        rc = build(&t[m], m, a, err);
    if (rc == QA_OK) {
        for (int m = 0; m < NMODES; m++)
            for (int i = 0; i < 5; i++)
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
    dqmq_data d = {0};
    qa_err err = {0};
    if (parse_args(argc, argv, &a) < 0)
        return 2;
    int rc = nn_par_set_threads(a.threads, &err);
    if (rc == QA_OK)
        rc = nn_par_set_shares(a.shares, &err);
    if (rc == QA_OK)
        rc = nn_blas_select(a.gemm, &err);
    if (rc == QA_OK)
        rc = load_data(&d, a.nfeat, &err);
    if (rc == QA_OK) {
        printf("bench_dqmq: model %s, batch %d, %d threads, %d shares, fixed W4A4 vs dqmq over "
               "%s (critic: hard sampled; soft: relaxed), %d features, %d x %d steps per mode, "
               "GEMM %s; %s\n",
               a.model, a.batch, a.threads, a.shares, a.cand, a.nfeat, a.reps, a.steps,
               nn_blas_gemm(), nn_blas_info());
        rc = run(&a, &d, &err);
    }
    bench_data_free(&d.img);
    free(d.feat);
    if (rc < 0) {
        fprintf(stderr, "bench_dqmq: %s\n", err.msg);
        return 1;
    }
    return 0;
}
