/* bench_ckpt.c: what a checkpoint costs per epoch.
 *
 *   bench_ckpt [--reps R] [--rows N] [--dir DIR]
 *
 * For each model (small, resnet20) on Fashion-MNIST's shape, batch 128,
 * SGD momentum: R interleaved repetitions of (a) exp_ckpt_save of a run
 * holding that network, its optimizer and a /train/epochs table of N rows
 * (the file written, fsynced and renamed into DIR as a real run does) and
 * (b) one training step (random input: forward, cross-entropy, backward,
 * update). Prints the medians and the checkpoint as a share of a full
 * Fashion-MNIST epoch (468 steps of 128):
 *   RESULT model=.. params=.. ckpt_ms=<median> ckpt_bytes=.. step_ms=<median>
 *          epoch_overhead_pct=..
 * The machine is shared: read the figures as indications. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_util.h"
#include "experiments/cli/schema.h"
#include "experiments/methods/registry.h"
#include "experiments/run/checkpoint.h"
#include "experiments/run/run_log.h"
#include "nn/loss.h"
#include "nn/models.h"
#include "nn/par.h"
#include "nn/rng.h"

enum { BATCH = 128, STEPS_PER_EPOCH = 60000 / BATCH, MAX_REPS = 64 };

static int die(const qa_err *err)
{
    fprintf(stderr, "bench_ckpt: %s\n", err->msg);
    return 1;
}

/* One training step of r's network on the random input already in place. */
static void train_step(exp_run *r, const int *labels, float *loss_buf)
{
    nn_net_forward(r->net, BATCH, 1);
    const nn_tensor *out = nn_net_output(r->net);
    int correct;
    nn_softmax_ce(out->data, labels, BATCH, out->d[1], nn_net_output_grad(r->net), loss_buf,
                  &correct);
    nn_net_zero_grad(r->net);
    nn_net_backward(r->net, BATCH);
    nn_optim_step(r->opt, 0.01f);
}

static int bench_model(const char *arch, int reps, int rows, const char *dir, qa_err *err)
{
    exp_config *cfg = calloc(1, sizeof *cfg);
    exp_run *r = calloc(1, sizeof *r);
    exp_run_opts opts = {.out_dir = dir, .command = "bench_ckpt"};
    exp_run_result res = {0};
    int *labels = calloc(BATCH, sizeof *labels);
    float *loss_buf = calloc(BATCH, sizeof *loss_buf);
    if (!cfg || !r || !labels || !loss_buf)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory");
    int rc = exp_config_defaults(cfg, err);
    snprintf(cfg->experiment.name, sizeof cfg->experiment.name, "bench_ckpt_%s", arch);
    r->cfg = cfg;
    r->opts = &opts;
    r->method = exp_method_get(0);
    r->t_start = exp_now();
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f};
    if (!rc)
        rc = nn_model_build(&r->net, arch, BATCH, 1, 28, 28, 10, err);
    if (!rc)
        rc = nn_net_finalize(r->net, 1, err);
    if (!rc)
        rc = exp_run_add_params(r, "net", &r->net->params, &oc, &r->opt, err);
    if (!rc)
        rc = exp_run_log_open(r, &res, err);
    if (!rc)
        rc = exp_run_log_columns(r, err);
    if (!rc)
        rc = exp_run_log_describe(r, err);
    for (int i = 0; !rc && i < rows; i++) { /* rows of earlier epochs */
        r->row[0].i = i + 1;
        rc = exp_run_log_append(r, err);
    }
    nn_rng g;
    nn_rng_init(&g, 1, NN_STREAM_TEST, 0, 0);
    float *x = rc ? NULL : nn_net_input(r->net);
    for (int i = 0; x && i < BATCH * 28 * 28; i++)
        x[i] = nn_rng_uniform(&g);
    for (int i = 0; i < BATCH; i++)
        labels[i] = i % 10;
    double ckpt_ms[MAX_REPS], step_ms[MAX_REPS];
    for (int k = 0; !rc && k < reps; k++) {
        double t0 = exp_now();
        rc = exp_ckpt_save(r, &res, err);
        double t1 = exp_now();
        train_step(r, labels, loss_buf);
        double t2 = exp_now();
        ckpt_ms[k] = 1e3 * (t1 - t0);
        step_ms[k] = 1e3 * (t2 - t1);
    }
    if (!rc) {
        char path[1100];
        struct stat st;
        exp_ckpt_path(res.path, path, sizeof path);
        long bytes = stat(path, &st) == 0 ? (long)st.st_size : -1;
        double c = bench_median(ckpt_ms, reps), s = bench_median(step_ms, reps);
        printf("RESULT model=%s params=%zu ckpt_ms=%.2f ckpt_bytes=%ld step_ms=%.2f "
               "epoch_overhead_pct=%.3f\n",
               arch, r->net->params.n, c, bytes, s, 100.0 * c / (s * STEPS_PER_EPOCH));
    }
    res.status = EXP_RUN_COMPLETE;
    exp_run_log_close(r, &res, rc, err);
    for (int i = 0; i < r->nsets; i++)
        nn_optim_free(r->sets[i].opt);
    nn_net_free(r->net);
    free(r->row);
    free(r);
    free(cfg);
    free(labels);
    free(loss_buf);
    return rc;
}

int main(int argc, char **argv)
{
    int reps = 9, rows = 100;
    const char *dir = "/tmp/qadapt_bench_ckpt";
    const bench_opt opts[] = {
        {.name = "--reps", .num = &reps, .min = 1},
        {.name = "--rows", .num = &rows, .min = 0},
        {.name = "--dir", .str = &dir},
    };
    if (bench_parse_args(argc, argv, "bench_ckpt", opts, (int)(sizeof opts / sizeof opts[0])) < 0)
        return 2;
    if (reps > MAX_REPS) {
        fprintf(stderr, "bench_ckpt: --reps %d is above %d\n", reps, MAX_REPS);
        return 2;
    }
    qa_err err = {0};
    if (nn_par_set_threads(2, &err))
        return die(&err);
    static const char *const models[] = {"small", "resnet20"};
    for (int m = 0; m < 2; m++)
        if (bench_model(models[m], reps, rows, dir, &err))
            return die(&err);
    return 0;
}
