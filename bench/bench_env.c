/* bench_env.c: corrupted images per second for every corruption, and the
 * PSNR of each corruption x severity against the clean images.
 *
 *   bench_env [--images N] [--reps R] [--table cifar|tiny|imagenet]
 *             [--psnr N]
 *
 * Two shapes: 28x28 grey (the first N Fashion-MNIST test images; a
 * synthetic pattern when the dataset is absent) and 32x32 RGB (a synthetic
 * colour pattern: no CIFAR set is installed here). One thread, one env_work,
 * severities 1..5 in turn, sample keys 0..N-1. The R repetitions are
 * interleaved (every corruption once per repetition) and the median rate
 * is printed with the min and max, from the thread's CPU time (the
 * machine is shared: wall time measures the neighbours). The "mix" row is the mean time over
 * gaussian_noise, gaussian_blur, jpeg_compression and contrast (the
 * training mix of the issue) as images per second. Then, with --psnr N
 * (default 1000, 0 = skip), the mean PSNR in dB of each corruption and
 * severity on the first N Fashion-MNIST test images (unchanged images
 * count as 100 dB). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "data/idx.h"
#include "env/corrupt.h"

typedef struct {
    int images, reps, psnr;
    env_table table;
} bench_args;

static int parse_args(int argc, char **argv, bench_args *a)
{
    const char *table = "cifar";
    *a = (bench_args){2000, 7, 1000, ENV_TABLE_CIFAR};
    const bench_opt opts[] = {
        {.name = "--images", .num = &a->images, .min = 1},
        {.name = "--reps", .num = &a->reps, .min = 1},
        {.name = "--psnr", .num = &a->psnr, .min = 0},
        {.name = "--table", .str = &table},
    };
    if (bench_parse_args(argc, argv, "bench_env", opts, (int)(sizeof opts / sizeof opts[0])) < 0)
        return -1;
    qa_err err;
    if (env_table_find(table, &a->table, &err) < 0) {
        fprintf(stderr, "bench_env: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void pattern(uint8_t *px, int h, int w, int c, int salt)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                int v = (x * 255 / (w - 1) + y * 97 / (h - 1) + ch * 60 + salt * 13) % 256;
                px[((size_t)y * w + x) * c + ch] = (uint8_t)((x / 4 + y / 4) % 3 ? v : 255 - v);
            }
}

typedef struct {
    int h, w, c, n;
    uint8_t *in, *out;
    const char *what;
} shape;

/* seconds to corrupt every image of s once, severities cycling 1..5 */
static double time_one(env_work *ws, int id, env_table t, const shape *s)
{
    size_t sz = (size_t)s->h * s->w * s->c;
    qa_err err;
    double t0 = bench_cpu_s();
    for (int i = 0; i < s->n; i++) {
        nn_rng r;
        env_corrupt_rng(&r, 1, id, (uint32_t)i, env_round_train(0));
        if (env_corrupt(ws, id, 1 + i % ENV_MAX_SEVERITY, t, s->in + i * sz, s->out, s->h, s->w,
                        s->c, &r, &err)) {
            fprintf(stderr, "bench_env: %s\n", err.msg);
            exit(1);
        }
    }
    return bench_cpu_s() - t0;
}

static const int mix[] = {ENV_GAUSSIAN_NOISE, ENV_GAUSSIAN_BLUR, ENV_JPEG_COMPRESSION,
                          ENV_CONTRAST};

static void bench_shape(env_work *ws, const bench_args *a, const shape *s)
{
    int reps = a->reps;
    double *sec = calloc((size_t)ENV_NCORRUPTION * reps, sizeof(double));
    double *mixs = calloc((size_t)reps, sizeof(double));
    for (int id = 0; id < ENV_NCORRUPTION; id++) /* warm-up: codec buffers, caches */
        if (env_corruption_get(id)->available)
            time_one(ws, id, a->table, s);
    for (int r = 0; r < reps; r++)
        for (int id = 0; id < ENV_NCORRUPTION; id++)
            if (env_corruption_get(id)->available)
                sec[id * reps + r] = time_one(ws, id, a->table, s);
    for (int r = 0; r < reps; r++) {
        for (size_t k = 0; k < sizeof mix / sizeof mix[0]; k++)
            mixs[r] += sec[mix[k] * reps + r];
        mixs[r] /= (double)(sizeof mix / sizeof mix[0]);
    }
    printf("\n%s, %d images per run, %d runs, table %s, 1 thread\n", s->what, s->n, reps,
           env_table_name(a->table));
    printf("%-18s %12s %12s %12s %10s\n", "corruption", "img/s median", "min", "max",
           "us/img");
    for (int id = 0; id <= ENV_NCORRUPTION; id++) {
        double *v = id < ENV_NCORRUPTION ? sec + id * reps : mixs;
        if (id < ENV_NCORRUPTION && !env_corruption_get(id)->available)
            continue;
        double med = bench_median(v, reps);
        printf("%-18s %12.0f %12.0f %12.0f %10.2f\n",
               id < ENV_NCORRUPTION ? env_corruption_get(id)->name : "mix(4)", s->n / med,
               s->n / v[reps - 1], s->n / v[0], 1e6 * med / s->n);
    }
    free(sec);
    free(mixs);
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++)
        se += (double)(a[i] - b[i]) * (a[i] - b[i]);
    return se == 0 ? 100.0 : 10.0 * log10(255.0 * 255.0 * (double)n / se);
}

static void psnr_table(env_work *ws, const data_set *ds, int n, env_table t)
{
    size_t sz = data_set_image_size(ds);
    uint8_t *out = malloc(sz);
    printf("\nmean PSNR (dB) against the clean image, %d Fashion-MNIST test images, table %s\n",
           n, env_table_name(t));
    printf("%-18s %7s %7s %7s %7s %7s\n", "corruption", "s1", "s2", "s3", "s4", "s5");
    for (int id = 0; id < ENV_NCORRUPTION; id++) {
        if (!env_corruption_get(id)->available)
            continue;
        printf("%-18s", env_corruption_get(id)->name);
        for (int s = 1; s <= ENV_MAX_SEVERITY; s++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                nn_rng r;
                qa_err err;
                env_corrupt_rng(&r, 0, id, (uint32_t)i, env_round_eval(0));
                env_corrupt(ws, id, s, t, data_set_image(ds, i), out, ds->h, ds->w, 1, &r, &err);
                sum += psnr(data_set_image(ds, i), out, sz);
            }
            printf(" %7.2f", sum / n);
        }
        printf("%s\n", env_corruption_is_identity(id, 1) ? "   (identity on grey)" : "");
    }
    free(out);
}

int main(int argc, char **argv)
{
    bench_args a;
    if (parse_args(argc, argv, &a))
        return 2;
    qa_err err;
    data_set ds = {0};
    int have = data_idx_load(&ds, NULL, "t10k", &err) == 0;
    if (!have)
        fprintf(stderr, "bench_env: %s; 28x28 grey uses a synthetic pattern\n", err.msg);
    env_work *ws;
    if (env_work_create(&ws, 32, 32, &err)) {
        fprintf(stderr, "bench_env: %s\n", err.msg);
        return 1;
    }
    shape g = {28, 28, 1, a.images, malloc((size_t)a.images * 784), malloc(784),
               have ? "28x28 grey (Fashion-MNIST test images)" : "28x28 grey (synthetic)"};
    shape c = {32, 32, 3, a.images, malloc((size_t)a.images * 3072), malloc(3072),
               "32x32 RGB (synthetic colour pattern)"};
    for (int i = 0; i < a.images; i++) {
        if (have)
            memcpy(g.in + (size_t)i * 784, data_set_image(&ds, i % ds.n), 784);
        else
            pattern(g.in + (size_t)i * 784, 28, 28, 1, i);
        pattern(c.in + (size_t)i * 3072, 32, 32, 3, i);
    }
    bench_shape(ws, &a, &g);
    bench_shape(ws, &a, &c);
    if (have && a.psnr > 0)
        psnr_table(ws, &ds, a.psnr < ds.n ? a.psnr : ds.n, a.table);
    env_work_free(ws);
    free(g.in);
    free(g.out);
    free(c.in);
    free(c.out);
    data_set_free(&ds);
    return 0;
}
