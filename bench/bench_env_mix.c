/* bench_env_mix.c: the mixed-quality sampler + quality features against
 * training throughput of a network, in one invocation.
 *
 *   bench_env_mix [--model small] [--batch B] [--threads T] [--reps R]
 *                 [--env-batches N] [--train-steps M] [--clean F]
 *
 * Data: Fashion-MNIST training images. The environment is the mix
 * {gaussian_noise, gaussian_blur, jpeg_compression, contrast} at severities
 * 1..5 (cifar tables, clean fraction F, default 0), epoch schedule, quality
 * features; a timed environment batch stages B images (random indices) and
 * runs env_mix_apply on T threads. The reference is training of --model on
 * the same images (pixels / 255, SGD momentum 0.9, lr 0.05, weight decay
 * 5e-4): a step converts the batch to float, forward, cross-entropy,
 * backward, update (as bench_train). Also timed: the mix without features
 * and the features alone (clean fraction 1). Each repetition times all
 * four back to back (interleaved, so drifting machine load hits them
 * alike); the figures are medians over R repetitions. Prints
 *   RESULT env_img_per_s=.. train_img_per_s=.. ratio=.. (target >= 10)
 * and per-corruption costs of a single thread, for where the time goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "data/idx.h"
#include "data/loader.h"
#include "env/mix.h"
#include "nn/loss.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "nn/par.h"
#include "nn/rng.h"

typedef struct {
    const char *model;
    int batch, threads, reps, env_batches, train_steps;
    double clean;
} bench_args;

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){"small", 128, 2, 7, 40, 20, 0.0};
    const bench_opt opts[] = {
        {.name = "--model", .str = &a->model},
        {.name = "--clean", .real = &a->clean, .min = 0, .max = 1},
        {.name = "--batch", .num = &a->batch, .min = 1},
        {.name = "--threads", .num = &a->threads, .min = 1},
        {.name = "--reps", .num = &a->reps, .min = 1},
        {.name = "--env-batches", .num = &a->env_batches, .min = 1},
        {.name = "--train-steps", .num = &a->train_steps, .min = 1},
    };
    return bench_parse_args(argc, argv, "bench_env_mix", opts, (int)(sizeof opts / sizeof opts[0]));
}

typedef struct {
    const data_set *ds;
    int batch;
    int *idx, *label, *corr, *sev;
    uint8_t *px;
    float *feat;
    nn_rng pick; /* which images a batch stages */
} stager;

static void stage(stager *s)
{
    for (int i = 0; i < s->batch; i++)
        s->idx[i] = (int)nn_rng_below(&s->pick, (uint32_t)s->ds->n);
    data_gather(s->ds, s->idx, s->batch, s->px, s->label);
}

/* images/s of nb batches through mix (staging included) */
static int time_env(env_mix *mix, stager *s, int nb, uint32_t round, double *rate, qa_err *err)
{
    double t0 = bench_now_s();
    for (int b = 0; b < nb; b++) {
        stage(s);
        int rc = env_mix_apply(mix, s->px, s->batch, s->idx, env_round_train(round), s->corr,
                               s->sev, s->feat, err);
        if (rc)
            return rc;
    }
    *rate = (double)nb * s->batch / (bench_now_s() - t0);
    return QA_OK;
}

typedef struct {
    nn_net *net;
    nn_optim *opt;
    long step;
    float loss;
} trainer;

static double time_train(trainer *t, stager *s, int steps)
{
    const float mean[1] = {0}, std[1] = {1};
    double t0 = bench_now_s();
    for (int i = 0; i < steps; i++) {
        stage(s);
        data_images_to_float(s->px, s->batch, s->ds->h, s->ds->w, s->ds->c, mean, std,
                             nn_net_input(t->net));
        nn_net_forward(t->net, s->batch, 1);
        t->loss = nn_softmax_ce(nn_net_output(t->net)->data, s->label, s->batch, 10,
                                nn_net_output_grad(t->net), NULL, NULL);
        nn_net_zero_grad(t->net);
        nn_net_backward(t->net, s->batch);
        nn_optim_step(t->opt, 0.05f);
        t->step++;
    }
    return (double)steps * s->batch / (bench_now_s() - t0);
}

static env_mix_cfg bench_cfg(double clean, env_feat_mode feat)
{
    static const int ids[] = {ENV_GAUSSIAN_NOISE, ENV_GAUSSIAN_BLUR, ENV_JPEG_COMPRESSION,
                              ENV_CONTRAST};
    env_mix_cfg m = {.ncorr = 4, .nsev = 5, .clean_fraction = clean, .table = ENV_TABLE_CIFAR,
                     .schedule = ENV_SCHEDULE_EPOCH, .features = feat};
    for (int i = 0; i < 4; i++)
        m.corr[i] = ids[i];
    for (int i = 0; i < 5; i++)
        m.sev[i] = i + 1;
    return m;
}

/* One thread, 2000 images per corruption at severity 3, then the features:
 * microseconds per image, for the closing note. */
static int per_corruption(const data_set *ds, qa_err *err)
{
    env_work *ws;
    int rc = env_work_create(&ws, ds->h, ds->w, err);
    if (rc)
        return rc;
    size_t sz = data_set_image_size(ds);
    uint8_t *img = malloc(sz);
    float *scratch = malloc(env_quality_scratch(ds->h, ds->w) * sizeof(float));
    if (!img || !scratch)
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory");
    static const int ids[] = {ENV_GAUSSIAN_NOISE, ENV_GAUSSIAN_BLUR, ENV_JPEG_COMPRESSION,
                              ENV_CONTRAST};
    enum { N = 2000 };
    printf("one thread, severity 3, us per image:");
    for (int k = 0; k < 4 && !rc; k++) {
        double t0 = bench_now_s();
        for (int i = 0; i < N && !rc; i++) {
            nn_rng r;
            env_corrupt_rng(&r, 1, ids[k], (uint32_t)i, 0);
            rc = env_corrupt(ws, ids[k], 3, ENV_TABLE_CIFAR, data_set_image(ds, i), img, ds->h,
                             ds->w, ds->c, &r, err);
        }
        printf(" %s %.1f", env_corruption_get(ids[k])->name, 1e6 * (bench_now_s() - t0) / N);
    }
    if (!rc) {
        float f[ENV_Q_NFEAT];
        double t0 = bench_now_s();
        for (int i = 0; i < N; i++)
            env_quality(data_set_image(ds, i), ds->h, ds->w, ds->c, scratch, f);
        printf(" quality_features %.1f\n", 1e6 * (bench_now_s() - t0) / N);
    }
    free(img);
    free(scratch);
    env_work_free(ws);
    return rc;
}

static int run(const bench_args *a, const data_set *ds, qa_err *err)
{
    int nb = a->batch;
    stager s = {.ds = ds, .batch = nb};
    s.idx = malloc((size_t)nb * sizeof(int));
    s.label = malloc((size_t)nb * sizeof(int));
    s.corr = malloc((size_t)nb * sizeof(int));
    s.sev = malloc((size_t)nb * sizeof(int));
    s.px = malloc((size_t)nb * data_set_image_size(ds));
    s.feat = malloc((size_t)nb * ENV_Q_NFEAT * sizeof(float));
    nn_rng_init(&s.pick, 1, NN_STREAM_TEST, 0xe1, 0);
    double *env = malloc((size_t)a->reps * 4 * sizeof(double));
    double *mixonly = env + a->reps, *featonly = env + 2 * a->reps, *train = env + 3 * a->reps;
    env_mix *full = NULL, *nofeat = NULL, *featmix = NULL;
    trainer t = {0};
    int rc = !s.idx || !s.label || !s.corr || !s.sev || !s.px || !s.feat || !env
                 ? qa_fail(err, QA_ERR_NOMEM, "out of memory")
                 : QA_OK;
    env_mix_cfg m = bench_cfg(a->clean, ENV_FEAT_QUALITY);
    if (!rc)
        rc = env_mix_create(&full, &m, 1, ds->h, ds->w, ds->c, err);
    m = bench_cfg(a->clean, ENV_FEAT_NONE);
    if (!rc)
        rc = env_mix_create(&nofeat, &m, 1, ds->h, ds->w, ds->c, err);
    m = bench_cfg(1.0, ENV_FEAT_QUALITY);
    if (!rc)
        rc = env_mix_create(&featmix, &m, 1, ds->h, ds->w, ds->c, err);
    if (!rc)
        rc = nn_model_build(&t.net, a->model, nb, ds->c, ds->h, ds->w, 10, err);
    if (!rc)
        rc = nn_net_finalize(t.net, 1, err);
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f};
    if (!rc)
        rc = nn_optim_create(&t.opt, &oc, &t.net->params, err);
    if (!rc) { /* warm-up: page in, JPEG handles, BLAS buffers */
        double dummy;
        rc = time_env(full, &s, 2, 0, &dummy, err);
        time_train(&t, &s, 3);
    }
    for (int rep = 0; rep < a->reps && !rc; rep++) {
        rc = time_env(full, &s, a->env_batches, (uint32_t)rep, &env[rep], err);
        if (!rc)
            rc = time_env(nofeat, &s, a->env_batches, (uint32_t)rep, &mixonly[rep], err);
        if (!rc)
            rc = time_env(featmix, &s, a->env_batches, (uint32_t)rep, &featonly[rep], err);
        train[rep] = time_train(&t, &s, a->train_steps);
        if (!rc)
            printf("rep %d: mix+features %.0f img/s, mix %.0f, features %.0f, train %s %.0f img/s "
                   "(loss %.3f)\n", rep + 1, env[rep], mixonly[rep], featonly[rep], a->model,
                   train[rep], t.loss);
        fflush(stdout);
    }
    if (!rc) {
        double e = bench_median(env, a->reps), mo = bench_median(mixonly, a->reps);
        double fo = bench_median(featonly, a->reps), tr = bench_median(train, a->reps);
        printf("RESULT threads=%d batch=%d clean=%.2f env_img_per_s=%.0f mix_only=%.0f "
               "features_only=%.0f train_model=%s train_img_per_s=%.0f ratio=%.1f (target >= 10)\n",
               a->threads, nb, a->clean, e, mo, fo, a->model, tr, e / tr);
        rc = per_corruption(ds, err);
    }
    env_mix_free(full);
    env_mix_free(nofeat);
    env_mix_free(featmix);
    nn_optim_free(t.opt);
    nn_net_free(t.net);
    free(env);
    free(s.idx);
    free(s.label);
    free(s.corr);
    free(s.sev);
    free(s.px);
    free(s.feat);
    return rc;
}

int main(int argc, char **argv)
{
    bench_args a;
    if (parse_args(argc, argv, &a) < 0)
        return 2;
    qa_err err = {0};
    data_set ds = {0};
    int rc = nn_par_set_threads(a.threads, &err);
    if (!rc)
        rc = data_idx_load(&ds, NULL, "train", &err);
    if (!rc) {
        printf("bench_env_mix: Fashion-MNIST %d images, batch %d, %d threads, %d reps of %d env "
               "batches and %d training steps\n", ds.n, a.batch, a.threads, a.reps,
               a.env_batches, a.train_steps);
        rc = run(&a, &ds, &err);
    }
    data_set_free(&ds);
    if (rc) {
        fprintf(stderr, "bench_env_mix: %s\n", err.msg);
        return 1;
    }
    return 0;
}
