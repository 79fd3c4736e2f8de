/* test_method_metamix.c: method metamix through the run engine on
 * configs/smoke.ini cut to seconds (the `small` net: conv2 and conv3
 * planned):
 * - a warm-up, a search and a weight-training epoch: the run file's
 *   columns by phase, /train/arch (probabilities, held widths,
 *   instability), the held widths at or under the target and evaluated;
 *   the ablation (weight_step = mixture) logs no candidate losses;
 * - weight training starts from the search's weights and steps: with its
 *   learning rate 0, every weight, step and batch-norm parameter leaves it
 *   as the search left them, the 4-bit weight steps start at LSQ's s0 of
 *   those weights and the optimizer's step count runs on;
 * - bad [metamix] values are errors naming the key.
 * Resume after kill -9 in either phase: tests/run/test_resume.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "experiments/cli/schema.h"
#include "experiments/methods/registry.h"
#include "experiments/run/run.h"
#include "h5read.h"
#include "smoke_config.h"
#include "nn/optim.h"
#include "quant/quantizer.h"

static char dir[64];

static const char *const BASE[] = {"experiment.method=metamix", "data.limit=640",
                                   "data.test_limit=300", "train.epochs=3", "metamix.warmup=1",
                                   "metamix.finetune=1", "metamix.probe=64",
                                   "quant.granularity=channel", "metamix.target=0.3",
                                   "experiment.threads=1"};
enum { NBASE = 10 };

static exp_config *config(char **extra, int nextra)
{
    exp_config *c = malloc(sizeof *c);
    qa_err err = {0};
    ck_assert_msg(smoke_config_load(c, BASE, NBASE, extra, nextra, &err) == QA_OK, "%s", err.msg);
    return c;
}

static int run_main(char **extra, int nextra, exp_run_result *res, qa_err *err)
{
    exp_config *c = config(extra, nextra);
    exp_run_opts o = {.out_dir = dir, .command = "test_method_metamix"};
    int rc = exp_run_main(c, &o, res, err);
    free(c);
    return rc;
}

/* a column's values, row by row; *n the values (rows x count) */
static double *col(hid_t f, const char *table, const char *name, int *n)
{
    int rows, count;
    double *v = h5read_array_column(f, table, name, &rows, &count);
    ck_assert_msg(v, "%s.%s unreadable", table, name);
    *n = rows * count;
    return v;
}

static void check_epochs(hid_t f, int mean)
{
    int n, m;
    double *phase = col(f, "/train/epochs", "phase", &n);
    double *cand = col(f, "/train/epochs", "cand_loss", &m);
    double *arch = col(f, "/train/epochs", "arch_loss", &n);
    double *held = col(f, "/train/epochs", "held_bitops_vs_int8", &n);
    double *evalb = col(f, "/train/epochs", "bitops_vs_int8", &n);
    double *inst = col(f, "/train/epochs", "instability_mean", &n);
    ck_assert_int_eq(n, 3);
    ck_assert(phase[0] == 0 && phase[1] == 1 && phase[2] == 2);
    ck_assert_int_eq(m, 3 * 3); /* K = 3 per row */
    for (int k = 0; k < 3; k++) {
        ck_assert_msg(mean ? isfinite(cand[k]) && isfinite(cand[3 + k]) : isnan(cand[k]),
                      "cand_loss %g", cand[k]);
        ck_assert(isnan(cand[6 + k]));
    }
    ck_assert(isnan(arch[0]) && isfinite(arch[1]) && isnan(arch[2]));
    for (int e = 0; e < 3; e++) {
        ck_assert_double_le(held[e], 0.3);
        ck_assert(isfinite(inst[e]) && inst[e] >= 0);
    }
    ck_assert_double_eq_tol(evalb[2], held[2], 1e-9); /* weight training runs the held widths */
    ck_assert_double_gt(evalb[1], held[1]);           /* the search's weights are float */
    free(phase), free(cand), free(arch), free(held), free(evalb), free(inst);
}

static void check_arch(hid_t f)
{
    int n, m;
    double *ep = col(f, "/train/arch", "epoch", &n);
    double *layer = col(f, "/train/arch", "layer", &n);
    double *p = col(f, "/train/arch", "p_a", &m);
    double *ab = col(f, "/train/arch", "a_bits", &n);
    double *wb = col(f, "/train/arch", "w_bits", &n);
    ck_assert_int_eq(n, 3 * 2);
    for (int r = 0; r < n; r++) {
        ck_assert(ep[r] == 1 + r / 2 && layer[r] == r % 2);
        ck_assert(ab[r] == 3 || ab[r] == 4 || ab[r] == 8);
        ck_assert_double_eq(wb[r], 4);
        ck_assert_double_eq_tol(p[3 * r] + p[3 * r + 1] + p[3 * r + 2], 1.0, 1e-6);
    }
    ck_assert_double_eq_tol(p[0], 1.0 / 3.0, 1e-6); /* warm-up: uniform */
    ck_assert_double_ne(p[6], p[7]);               /* the search moved them */
    ck_assert_double_eq(p[6], p[12]);              /* weight training does not */
    char *names = h5read_str_attr(f, "/train/arch", "names");
    ck_assert_str_eq(names, "conv2,conv3");
    free(names), free(ep), free(layer), free(p), free(ab), free(wb);
}

/* more: one further key (NULL: none) */
static void run_and_check(char *name, char *step, char *more, int mean)
{
    qa_test_tmpdir(dir, sizeof dir, "metamix");
    exp_run_result res;
    qa_err err = {0};
    char *extra[] = {name, step, more};
    ck_assert_msg(run_main(extra, more ? 3 : 2, &res, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(res.status, EXP_RUN_COMPLETE);
    hid_t f = H5Fopen(res.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    check_epochs(f, mean);
    check_arch(f);
    H5Fclose(f);
    qa_test_rmtree(dir);
}

START_TEST(test_metamix_run)
{
    run_and_check("experiment.name=mean", "metamix.weight_step=mean", NULL, 1);
}
END_TEST

START_TEST(test_metamix_ablation_run)
{
    run_and_check("experiment.name=mixture", "metamix.weight_step=mixture", NULL, 0);
}
END_TEST

/* the mixed-quality data (DQMQ's environment) by --set alone */
START_TEST(test_metamix_mixed_quality)
{
    run_and_check("experiment.name=env", "metamix.weight_step=mean", "env.enabled=true", 1);
}
END_TEST

/* ---- weight training starts where the search ended ---- */

static int is_w4_step(const nn_param_view *v)
{
    return strstr(v->name, ".w_step.b4") != NULL;
}

/* weights of the wrapped layer of step view v (same name up to ".w_step") */
static const float *weights_of(const nn_params *p, const float *w, const nn_param_view *v,
                               size_t *n)
{
    char name[64];
    snprintf(name, sizeof name, "%.*s.w", (int)(strstr(v->name, ".w_step") - v->name), v->name);
    int id = nn_params_find(p, name);
    ck_assert_int_ge(id, 0);
    *n = p->views[id].n;
    return w + p->views[id].off;
}

/* LSQ's s0 per channel of the search's weights: 2 mean|w| / sqrt(7) */
static void check_w4_init(const nn_params *p, const float *w1)
{
    int seen = 0;
    for (int v = 0; v < p->nviews; v++) {
        if (!is_w4_step(&p->views[v]))
            continue;
        size_t n, nch = p->views[v].n;
        const float *w = weights_of(p, w1, &p->views[v], &n);
        for (size_t c = 0; c < nch; c++) {
            double a = 0.0;
            size_t m = n / nch;
            for (size_t j = 0; j < m; j++)
                a += fabs(w[c * m + j]);
            float s0 = (float)(2.0 * a / (double)m / sqrt(7.0));
            ck_assert_msg(fabsf(p->w[p->views[v].off + c] - s0) <= 1e-5f * s0, "%s[%zu]: %g vs %g",
                          p->views[v].name, c, p->w[p->views[v].off + c], s0);
        }
        seen++;
    }
    ck_assert_int_eq(seen, 2); /* conv2 and conv3 */
}

START_TEST(test_metamix_phase2_continues)
{
    qa_test_tmpdir(dir, sizeof dir, "metamix");
    char *extra[] = {"experiment.name=cont", "train.epochs=2", "metamix.warmup=0",
                     "train.schedule=const"};
    exp_config *c = config(extra, 4);
    exp_run_opts o = {.out_dir = dir, .command = "test_method_metamix"};
    exp_run_result res;
    qa_err err = {0};
    exp_run *r;
    int rc = exp_run_open(&r, c, exp_method_get(c->experiment.method), &o, &res, &err);
    ck_assert_msg(rc == QA_OK, "%s", err.msg);
    ck_assert_int_eq(exp_run_train(r, 1, &res, &err), QA_OK); /* the search */
    nn_params *p = &r->net->params;
    float *w1 = malloc(p->n * sizeof *w1);
    memcpy(w1, p->w, p->n * sizeof *w1);
    long t1 = r->opt->t;
    ck_assert_int_eq(t1, r->steps_per_epoch);
    r->sched.base_lr = 0.0f; /* weight training moves nothing but what it must initialise */
    ck_assert_int_eq(exp_run_train(r, 1, &res, &err), QA_OK);
    long same = 0;
    for (int v = 0; v < p->nviews; v++) {
        if (is_w4_step(&p->views[v]))
            continue;
        for (size_t j = 0; j < p->views[v].n; j++)
            ck_assert_msg(p->w[p->views[v].off + j] == w1[p->views[v].off + j], "%s[%zu] moved",
                          p->views[v].name, j);
        same += (long)p->views[v].n;
    }
    ck_assert_int_gt(same, 20000);
    check_w4_init(p, w1);
    ck_assert_int_eq(r->opt->t, 2 * t1);
    ck_assert_int_eq(exp_run_close(r, &res, QA_OK, &err), QA_OK);
    free(w1);
    free(c);
    qa_test_rmtree(dir);
}
END_TEST

/* The architecture step leaves the backbone as it was: MetaMix's weight
 * steps run the candidate plans, which the logits do not change, so an
 * epoch of search (weight and architecture steps) and an epoch of warm-up
 * (weight steps alone) end with the same weights, steps, buffers (batch-norm
 * running statistics) and optimizer state, bit for bit. */
/* values, buffers and optimizer moments of the backbone after one epoch */
typedef struct {
    float *v;
    size_t n;
} snapshot;

static snapshot one_epoch(char *warmup)
{
    char *extra[] = {"experiment.name=frozen", "train.epochs=3", warmup, "train.schedule=const"};
    exp_config *c = config(extra, 4);
    exp_run_opts o = {.out_dir = dir, .command = "test_method_metamix"};
    exp_run_result res;
    qa_err err = {0};
    exp_run *r;
    ck_assert_msg(exp_run_open(&r, c, exp_method_get(c->experiment.method), &o, &res, &err) ==
                      QA_OK,
                  "%s", err.msg);
    ck_assert_int_eq(exp_run_train(r, 1, &res, &err), QA_OK);
    const nn_params *p = &r->net->params;
    snapshot s = {malloc((2 * p->n + p->nbuf) * sizeof(float)), 2 * p->n + p->nbuf};
    memcpy(s.v, p->w, p->n * sizeof(float));
    memcpy(s.v + p->n, p->buf, p->nbuf * sizeof(float));
    memcpy(s.v + p->n + p->nbuf, r->opt->m, p->n * sizeof(float));
    ck_assert_int_eq(exp_run_close(r, &res, QA_OK, &err), QA_OK);
    free(c);
    return s;
}

START_TEST(test_metamix_arch_step_frozen)
{
    qa_test_tmpdir(dir, sizeof dir, "metamix");
    snapshot search = one_epoch("metamix.warmup=0"), warm = one_epoch("metamix.warmup=1");
    ck_assert_uint_eq(search.n, warm.n);
    for (size_t j = 0; j < search.n; j++)
        ck_assert_msg(search.v[j] == warm.v[j], "value %zu of %zu differs", j, search.n);
    free(search.v);
    free(warm.v);
    qa_test_rmtree(dir);
}
END_TEST

START_TEST(test_metamix_config_errors)
{
    qa_test_tmpdir(dir, sizeof dir, "metamix");
    exp_run_result res;
    qa_err err = {0};
    char *low[] = {"metamix.target=0.1"};
    ck_assert_int_eq(run_main(low, 1, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "metamix.target"));
    char *phases[] = {"metamix.warmup=2"};
    ck_assert_int_eq(run_main(phases, 1, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "metamix.warmup"));
    static const char *const bad[][2] = {{"metamix.candidates=4,3", "ascending"},
                                         {"metamix.candidates=3,x", "metamix.candidates"},
                                         {"metamix.finetune=0", "finetune"},
                                         {"metamix.cost=expected", "metamix.cost"},
                                         {"metamix.weight_step=both", "weight_step"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        exp_config *c = malloc(sizeof *c);
        char *set[] = {(char *)bad[i][0]};
        ck_assert_int_ne(smoke_config_load(c, NULL, 0, set, 1, &err), QA_OK);
        ck_assert_msg(strstr(err.msg, bad[i][1]), "%s: %s", bad[i][0], err.msg);
        free(c);
    }
    qa_test_rmtree(dir);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("method_metamix");
    TCase *tc = tcase_create("metamix");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_metamix_run);
    tcase_add_test(tc, test_metamix_ablation_run);
    tcase_add_test(tc, test_metamix_mixed_quality);
    tcase_add_test(tc, test_metamix_phase2_continues);
    tcase_add_test(tc, test_metamix_arch_step_frozen);
    tcase_add_test(tc, test_metamix_config_errors);
    suite_add_tcase(s, tc);
    return s;
}
