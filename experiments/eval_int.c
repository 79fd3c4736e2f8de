/* eval_int.c: the integer engine beside the fake-quant evaluation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/engine.h"
#include "env/corrupt.h"
#include "experiments/deploy_run.h"
#include "experiments/eval_int.h"
#include "experiments/grid.h"

#define NCELL ((ENV_NCORRUPTION + 1) * 6) /* (clean + corruptions) x severities 0..5 */

typedef struct {
    long n, fake, eng, differ;
} cell_count;

typedef struct {
    const char *kernel;
    dep_engine *e;
    float *logits;           /* (batch, nclass) */
    const exp_method *method;
    void *mstate;
    cell_count test, cells[NCELL];
    int in_grid;
} eval_ctx;

static int argmax(const float *v, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        k = v[i] > v[k] ? i : k;
    return k;
}

/* the method's own step (fake quantization), then the engine on the same pixels */
static int both_step(exp_run *r, void *state, exp_batch *b, exp_stats *s, qa_err *err)
{
    eval_ctx *x = state;
    int rc = x->method->eval_step ? x->method->eval_step(r, x->mstate, b, s, err)
                                  : exp_step_eval(r, b, s, err);
    if (!rc)
        rc = dep_engine_predict(x->e, b->px, b->n, x->logits, NULL, NULL, err);
    if (rc)
        return rc;
    const nn_tensor *out = nn_net_output(r->net);
    int K = out->d[1];
    for (int i = 0; i < b->n; i++) {
        int f = argmax(out->data + (size_t)i * K, K), g = argmax(x->logits + (size_t)i * K, K);
        int cell = (b->corruption[i] + 1) * 6 + b->severity[i];
        cell_count *c = x->in_grid && cell >= 0 && cell < NCELL ? &x->cells[cell] : &x->test;
        c->n++;
        c->fake += f == b->label[i];
        c->eng += g == b->label[i];
        c->differ += f != g;
    }
    return QA_OK;
}

static int both_cost(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                     float *a)
{
    eval_ctx *x = state;
    return x->method->eval_cost ? x->method->eval_cost(r, x->mstate, b, bitops, w, a) : 0;
}

static int eval_test(exp_run *r, eval_ctx *x, qa_err *err)
{
    int ntest = r->test_loader.n, bs = r->batch.cap, rc = QA_OK;
    int *idx = malloc((size_t)bs * sizeof *idx);
    if (!idx)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the test batches");
    for (int start = 0; !rc && start < ntest; start += bs) {
        int n = ntest - start < bs ? ntest - start : bs;
        for (int j = 0; j < n; j++)
            idx[j] = start + j;
        exp_stats s = {0};
        rc = exp_batch_prepare(r, &r->batch, &r->test_set, idx, n, 0, err);
        if (!rc)
            rc = both_step(r, x, &r->batch, &s, err);
    }
    free(idx);
    return rc;
}

static void print_row(const char *name, int sev, const cell_count *c)
{
    printf("%-20s %3d %7ld %9.2f %9.2f %7ld\n", name, sev, c->n, 100.0 * c->fake / c->n,
           100.0 * c->eng / c->n, c->differ);
}

static void print_table(const eval_ctx *x)
{
    printf("integer engine (%s) vs fake quantization, accuracy %%\n", dep_engine_kernel(x->e));
    printf("%-20s %3s %7s %9s %9s %7s\n", "set", "sev", "images", "fake", "int", "differ");
    print_row("test", -1, &x->test);
    cell_count all = {0};
    for (int k = 0; k < NCELL; k++) {
        const cell_count *c = &x->cells[k];
        if (c->n == 0)
            continue;
        const env_corruption_info *ci = env_corruption_get(k / 6 - 1);
        print_row(ci ? ci->name : "clean", k % 6, c);
        all.n += c->n, all.fake += c->fake, all.eng += c->eng, all.differ += c->differ;
    }
    if (all.n)
        print_row("grid (all cells)", -1, &all);
}

static int eval_run(exp_run *r, void *arg, qa_err *err)
{
    eval_ctx *x = arg;
    dep_model m;
    dep_engine_opts o = {x->kernel};
    int rc = exp_deploy_lower(r, &m, err);
    if (!rc)
        rc = dep_engine_create(&x->e, &m, &o, err);
    if (!rc) {
        size_t K = (size_t)dep_engine_model(x->e)->nclass;
        x->logits = malloc((size_t)r->batch.cap * K * sizeof *x->logits);
        if (!x->logits)
            rc = qa_fail(err, QA_ERR_NOMEM, "out of memory for logits");
    }
    x->method = r->method;
    x->mstate = r->mstate;
    if (!rc)
        rc = eval_test(r, x, err);
    exp_method both = {.name = x->method->name, .eval_step = both_step, .eval_cost = both_cost};
    r->method = &both;
    r->mstate = x;
    x->in_grid = 1;
    if (!rc && r->cfg->eval.grid)
        rc = exp_grid_run(r, err);
    r->method = x->method;
    r->mstate = x->mstate;
    return rc;
}

int exp_eval_int(const char *run, char *const *sets, int nsets, const char *kernel, qa_err *err)
{
    eval_ctx x;
    memset(&x, 0, sizeof x);
    x.kernel = kernel;
    int rc = exp_deploy_inspect(run, sets, nsets, eval_run, &x, err);
    if (!rc)
        print_table(&x);
    dep_engine_free(x.e);
    free(x.logits);
    return rc;
}
