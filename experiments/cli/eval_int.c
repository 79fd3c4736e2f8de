/* eval_int.c: the integer engine beside the fake-quant evaluation. */
#include "experiments/cli/eval_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/engine.h"
#include "env/corrupt.h"
#include "experiments/cli/deploy_run.h"
#include "experiments/run/grid.h"

#define NCELL ((ENV_NCORRUPTION + 1) * 6) /* (clean + corruptions) x severities 0..5 */

typedef struct {
    long n, fake, eng, differ, plans; /* plans: images whose widths differ */
} cell_count;

typedef struct {
    dep_engine *e;
    const q_plan *plan;      /* the quantized net's: the widths the method ran */
    float *logits;           /* (batch, nclass) */
    uint8_t *wb, *ab;        /* (batch, planned layers) the engine's widths */
    const exp_method *method; /* the run's, which the evaluation wraps */
    void *mstate;
    cell_count test, cells[NCELL];
} eval_ctx;

static int argmax(const float *v, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        k = v[i] > v[k] ? i : k;
    return k;
}

static cell_count *count_of(eval_ctx *x, const exp_eval *ev)
{
    int cell = (ev->corruption + 1) * 6 + ev->severity;
    return ev->kind == EXP_EVAL_GRID && cell >= 0 && cell < NCELL ? &x->cells[cell] : &x->test;
}

/* the method's own step (fake quantization), then the engine on the same pixels */
static int both_step(exp_run *r, void *state, const exp_eval *ev, exp_batch *b, exp_stats *s,
                     qa_err *err)
{
    eval_ctx *x = state;
    int rc = x->method->eval_step ? x->method->eval_step(r, x->mstate, ev, b, s, err)
                                  : exp_step_eval(r, b, s, err);
    if (!rc)
        rc = dep_engine_predict(x->e, b->px, b->n, x->logits, x->wb, x->ab, err);
    if (rc)
        return rc;
    const nn_tensor *out = nn_net_output(r->net);
    int K = out->d[1];
    size_t L = (size_t)x->plan->nlayers;
    cell_count *c = count_of(x, ev);
    for (int i = 0; i < b->n; i++) {
        int f = argmax(out->data + (size_t)i * K, K), g = argmax(x->logits + (size_t)i * K, K);
        c->n++;
        c->fake += f == b->label[i];
        c->eng += g == b->label[i];
        c->differ += f != g;
        c->plans += memcmp(q_plan_wbits(x->plan, i), x->wb + i * L, L) != 0 ||
                    memcmp(q_plan_abits(x->plan, i), x->ab + i * L, L) != 0;
    }
    return QA_OK;
}

static int both_cost(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                     float *a)
{
    eval_ctx *x = state;
    return x->method->eval_cost ? x->method->eval_cost(r, x->mstate, b, bitops, w, a) : 0;
}

static void print_row(const char *name, int sev, const cell_count *c)
{
    printf("%-20s %3d %7ld %9.2f %9.2f %7ld %7ld\n", name, sev, c->n, 100.0 * c->fake / c->n,
           100.0 * c->eng / c->n, c->differ, c->plans);
}

static void print_table(const eval_ctx *x)
{
    printf("integer engine (%s) vs fake quantization, accuracy %%\n", dep_engine_kernel(x->e));
    printf("%-20s %3s %7s %9s %9s %7s %7s\n", "set", "sev", "images", "fake", "int", "differ",
           "plans");
    print_row("test", -1, &x->test);
    cell_count all = {0};
    for (int k = 0; k < NCELL; k++) {
        const cell_count *c = &x->cells[k];
        if (c->n == 0)
            continue;
        const env_corruption_info *ci = env_corruption_get(k / 6 - 1);
        print_row(ci ? ci->name : "clean", k % 6, c);
        all.n += c->n, all.fake += c->fake, all.eng += c->eng, all.differ += c->differ;
        all.plans += c->plans;
    }
    if (all.n)
        print_row("grid (all cells)", -1, &all);
}

static int make_engine(exp_run *r, eval_ctx *x, const char *kernel, qa_err *err)
{
    dep_model m;
    exp_deploy d;
    dep_engine_opts o = {kernel};
    int rc = exp_trained_lower(r, &d, &m, err);
    if (!rc)
        rc = dep_engine_create(&x->e, &m, &o, err);
    if (rc)
        return rc;
    x->plan = d.qn->plan;
    size_t B = (size_t)r->batch.cap, K = (size_t)dep_engine_model(x->e)->nclass;
    size_t L = (size_t)x->plan->nlayers;
    x->logits = malloc(B * K * sizeof *x->logits);
    x->wb = malloc(B * (L ? L : 1));
    x->ab = malloc(B * (L ? L : 1));
    return x->logits && x->wb && x->ab ? QA_OK
                                       : qa_fail(err, QA_ERR_NOMEM, "out of memory for logits");
}

/* The test set, then the grid, evaluated by the run with its method
 * wrapped so that every batch also runs the engine. */
static int eval_both(exp_run *r, eval_ctx *x, qa_err *err)
{
    const exp_method both = {.name = r->method->name, .eval_step = both_step,
                             .eval_cost = both_cost};
    x->method = r->method;
    x->mstate = r->mstate;
    r->method = &both;
    r->mstate = x;
    exp_stats s;
    fprintf(stderr, "test set: %d images, fake quantization and the integer engine\n",
            r->test_loader.n);
    int rc = exp_run_evaluate(r, EXP_EVAL_TEST, &s, err);
    if (!rc && r->cfg->eval.grid)
        rc = exp_grid_run(r, err);
    if (!rc && *r->opts->stop)
        rc = qa_fail(err, QA_ERR_INTERRUPTED, "interrupted");
    r->method = x->method;
    r->mstate = x->mstate;
    return rc;
}

int exp_eval_int(const char *run, char *const *sets, int nsets, const char *kernel, qa_err *err)
{
    eval_ctx x;
    memset(&x, 0, sizeof x);
    exp_trained_run t;
    int rc = exp_trained_open(&t, run, sets, nsets, stderr, err);
    if (!rc)
        rc = make_engine(t.r, &x, kernel, err);
    if (!rc)
        rc = eval_both(t.r, &x, err);
    exp_trained_close(&t);
    if (!rc)
        print_table(&x);
    dep_engine_free(x.e);
    free(x.logits);
    free(x.wb);
    free(x.ab);
    return rc;
}
