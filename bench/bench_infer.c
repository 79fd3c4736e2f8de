/* bench_infer.c: inference speed of a finished run, integer engine against
 * qadapt's own float (fake-quant) evaluation, in one process.
 *
 *   bench_infer --run RUN.h5 [--reps R] [--batch B] [--kernel K] [--threads N]
 *
 * The run is restored from its checkpoint and lowered to the integer model
 * `qadapt export` writes (its encoded size is printed). On the first B
 * test images (prepared as the run evaluates them), each of R rounds times,
 * interleaved: the engine on the batch (plans included: a DQMQ model
 * computes features and runs its policy), the method's evaluation step on
 * the batch (the float network; softmax loss included), then each again on
 * the first image alone (one image a call: latency). Prints medians over
 * the rounds as RESULT lines (also the CPU time per image at batch B, all
 * threads: what a loaded machine disturbs least), and the ratio int /
 * float. Threads: the run's [experiment] threads, or fewer (--threads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "deploy/engine.h"
#include "experiments/cli/deploy_run.h"
#include "nn/par.h"

#define MAX_REPS 64

typedef struct {
    int reps, batch, threads;
    const char *kernel;
    size_t bytes;
    double t_int[MAX_REPS], t_float[MAX_REPS], l_int[MAX_REPS], l_float[MAX_REPS];
    double c_int[MAX_REPS], c_float[MAX_REPS]; /* CPU seconds per image */
} bench;

/* seconds per call over the first n images, repeated to >= 50 ms; the
 * process's CPU seconds per call into *cpu */
static double time_int(dep_engine *e, const exp_batch *b, int n, float *logits, double *cpu)
{
    qa_err err;
    int calls = 0;
    double t0 = bench_now_s(), c0 = bench_process_cpu_s(), t;
    do {
        dep_engine_predict(e, b->px, n, logits, NULL, NULL, &err);
        calls++;
    } while ((t = bench_now_s() - t0) < 0.05);
    *cpu = (bench_process_cpu_s() - c0) / calls;
    return t / calls;
}

static double time_float(exp_run *r, exp_batch *b, int n, double *cpu)
{
    const exp_eval ev = {.kind = EXP_EVAL_TEST};
    qa_err err;
    int calls = 0, full = b->n;
    b->n = n;
    double t0 = bench_now_s(), c0 = bench_process_cpu_s(), t;
    do {
        exp_stats s = {0};
        exp_run_eval_step(r, &ev, b, &s, &err);
        calls++;
    } while ((t = bench_now_s() - t0) < 0.05);
    *cpu = (bench_process_cpu_s() - c0) / calls;
    b->n = full;
    return t / calls;
}

static void measure(exp_run *r, dep_engine *e, bench *x, int n, float *logits)
{
    double cpu;
    for (int k = 0; k < x->reps; k++) {
        x->t_int[k] = time_int(e, &r->batch, n, logits, &x->c_int[k]) / n;
        x->c_int[k] /= n;
        x->t_float[k] = time_float(r, &r->batch, n, &x->c_float[k]) / n;
        x->c_float[k] /= n;
        x->l_int[k] = time_int(e, &r->batch, 1, logits, &cpu);
        x->l_float[k] = time_float(r, &r->batch, 1, &cpu);
    }
}

/* the run's integer model (its encoded size into x->bytes), the first n
 * test images staged in r->batch, then the rounds */
static int bench_run(exp_run *r, bench *x, qa_err *err)
{
    dep_model m;
    exp_deploy d;
    dep_engine *e = NULL;
    uint8_t *buf;
    dep_engine_opts o = {x->kernel};
    if (x->threads > 0 && x->threads < nn_par_threads()) /* fewer than the net was built for */
        nn_par_set_threads(x->threads, NULL);
    int n = x->batch < r->batch.cap ? x->batch : r->batch.cap, rc = exp_trained_lower(r, &d, &m, err);
    if (!rc && !(rc = dep_model_encode(&m, &buf, &x->bytes, err)))
        free(buf);
    if (!rc)
        rc = dep_engine_create(&e, &m, &o, err);
    int *idx = malloc((size_t)n * sizeof *idx);
    float *logits = rc ? NULL : malloc((size_t)n * dep_engine_model(e)->nclass * sizeof *logits);
    if (!rc && (!idx || !logits))
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory for %d images", n);
    for (int i = 0; !rc && i < n; i++)
        idx[i] = i;
    if (!rc)
        rc = exp_batch_prepare(r, &r->batch, &r->test_set, idx, n, 0, err);
    if (!rc) {
        measure(r, e, x, n, logits);
        printf("kernel %s, %d threads\n", dep_engine_kernel(e), nn_par_threads());
    }
    dep_engine_free(e);
    free(idx);
    free(logits);
    return rc;
}

int main(int argc, char **argv)
{
    static bench x = {.reps = 5, .batch = 128};
    const char *run = NULL;
    const bench_opt opts[] = {
        {.name = "--run", .str = &run},
        {.name = "--reps", .num = &x.reps, .min = 1},
        {.name = "--batch", .num = &x.batch, .min = 1},
        {.name = "--kernel", .str = &x.kernel},
        {.name = "--threads", .num = &x.threads, .min = 0},
    };
    if (bench_parse_args(argc, argv, "bench_infer", opts, (int)(sizeof opts / sizeof opts[0])) < 0)
        return 2;
    if (!run || x.reps > MAX_REPS) {
        fprintf(stderr, "bench_infer: --run RUN.h5 is required, --reps at most %d\n", MAX_REPS);
        return 2;
    }
    qa_err err;
    exp_trained_run t;
    int rc = exp_trained_open(&t, run, NULL, 0, NULL, &err);
    if (!rc)
        rc = bench_run(t.r, &x, &err);
    exp_trained_close(&t);
    if (rc) {
        fprintf(stderr, "bench_infer: %s\n", err.msg);
        return 1;
    }
    double ti = bench_median(x.t_int, x.reps), tf = bench_median(x.t_float, x.reps);
    double li = bench_median(x.l_int, x.reps), lf = bench_median(x.l_float, x.reps);
    double ci = bench_median(x.c_int, x.reps), cf = bench_median(x.c_float, x.reps);
    printf("RESULT engine=int batch=%d img_per_s=%.1f latency_ms=%.4f cpu_ms_per_img=%.5f "
           "model_bytes=%zu\n", x.batch, 1.0 / ti, 1e3 * li, 1e3 * ci, x.bytes);
    printf("RESULT engine=float batch=%d img_per_s=%.1f latency_ms=%.4f cpu_ms_per_img=%.5f\n",
           x.batch, 1.0 / tf, 1e3 * lf, 1e3 * cf);
    printf("int / float: %.2fx images/s at batch %d, %.2fx lower latency at batch 1\n", tf / ti,
           x.batch, lf / li);
    return 0;
}
