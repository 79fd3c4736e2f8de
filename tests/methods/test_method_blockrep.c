/* test_method_blockrep.c: method = blockrep through the run engine on
 * configs/smoke.ini (`small`, 1000 images, a few seconds a run), against an
 * fp32 teacher trained once for the suite:
 *   - the run completes; /train/blockrep holds one row per model and epoch
 *     with the models' quantized blocks, every model trained on every
 *     sample (models = 0) and tested; the student's row is /train/epochs'
 *     own; the objective exceeds the student's loss;
 *   - evaluating every model changes nothing the training does: with
 *     eval_models off /train/epochs is the same bit for bit, the models'
 *     test columns NaN;
 *   - a subset of one model a step: the models' train_n add up to the
 *     student's;
 *   - single mode: a model per block, each quantizing one;
 *   - refusals naming the key: no teacher, a missing one (saying how to
 *     make it), another architecture, a teacher that is not fp32, one whose
 *     input was normalised otherwise.
 * Resume after kill -9 is in tests/run/test_resume.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "experiments/cli/schema.h"
#include "experiments/methods/registry.h"
#include "experiments/run/run.h"
#include "h5read.h"
#include "smoke_config.h"
#include "nn/par.h"

static char dir[64], teacher[1024], fixed_run[1024];
static int have_data;

/* A smoke run (1000 images, pixels / 255, one thread) with more --set
 * arguments (NULL-terminated); its run file into path (may be NULL). */
static int smoke_run(const char *name, char *const *extra, char *path, qa_err *err)
{
    char nm[64];
    snprintf(nm, sizeof nm, "experiment.name=%s", name);
    const char *const base[] = {nm, "data.limit=1000", "data.test_limit=300", "data.normalize=none",
                                "experiment.threads=1", "quant.w_bits=2", "quant.a_bits=2"};
    int nextra = 0;
    while (extra && extra[nextra])
        nextra++;
    exp_config *c = malloc(sizeof *c);
    int rc = smoke_config_load(c, base, 7, extra, nextra, err);
    exp_run_opts o = {.out_dir = dir, .command = "test_method_blockrep"};
    exp_run_result res;
    if (!rc)
        rc = exp_run_main(c, &o, &res, err);
    if (path)
        snprintf(path, 1024, "%s", res.path);
    free(c);
    return rc;
}

static void make_teacher(void)
{
    have_data = access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0;
    if (!have_data)
        return;
    qa_test_tmpdir(dir, sizeof dir, "blockrep");
    qa_err err = {0};
    char *fp32[] = {"train.epochs=2", NULL}, *fixed[] = {"train.epochs=1",
                                                         "experiment.method=fixed", NULL};
    int rc = smoke_run("teacher", fp32, teacher, &err);
    if (!rc)
        rc = smoke_run("fixed", fixed, fixed_run, &err);
    ck_assert_msg(rc == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK); /* no pool across the fork */
}

static void remove_teacher(void)
{
    if (have_data)
        qa_test_rmtree(dir);
}

static int skip(const char *test)
{
    return !have_data && qa_test_skip_data(test, "Fashion-MNIST is not installed");
}

/* a blockrep run with the teacher (and its weights as the start) plus extra */
static int blockrep_run(const char *name, const char *extra1, const char *extra2, char *path,
                        qa_err *err)
{
    char t[1100], p[1100];
    snprintf(t, sizeof t, "blockrep.teacher=%s", teacher);
    snprintf(p, sizeof p, "model.pretrained=%s", teacher);
    char *sets[] = {"experiment.method=blockrep", t, p, (char *)extra1, (char *)extra2, NULL};
    if (!extra1)
        sets[3] = NULL;
    return smoke_run(name, sets, path, err);
}

static double *column(const char *path, const char *table, const char *col, int *n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    double *v = h5read_column(f, table, col, n);
    H5Fclose(f);
    ck_assert_msg(v != NULL, "%s %s missing", table, col);
    return v;
}

START_TEST(test_blockrep_run)
{
    if (skip("test_blockrep_run"))
        return;
    char path[1024];
    qa_err err = {0};
    ck_assert_msg(blockrep_run("prefix", NULL, NULL, path, &err) == QA_OK, "%s", err.msg);
    int n, ne;
    double *model = column(path, "/train/blockrep", "model", &n);
    double *qf = column(path, "/train/blockrep", "q_first", &n);
    double *ql = column(path, "/train/blockrep", "q_last", &n);
    double *trn = column(path, "/train/blockrep", "train_n", &n);
    double *tacc = column(path, "/train/blockrep", "test_acc", &n);
    double *eacc = column(path, "/train/epochs", "test_acc", &ne);
    double *obj = column(path, "/train/epochs", "objective", &ne);
    double *loss = column(path, "/train/epochs", "train_loss", &ne);
    ck_assert_int_eq(ne, 2);
    ck_assert_int_eq(n, 2 * 5); /* teacher, M1..M3 (small's 4 blocks), student */
    for (int i = 0; i < n; i++) {
        int k = i % 5;
        ck_assert_int_eq((int)model[i], k);
        ck_assert_int_eq((int)qf[i], k ? 1 : 0);
        ck_assert_int_eq((int)ql[i], k == 4 ? 4 : k);
        ck_assert_int_eq((int)trn[i], k ? 960 : 0); /* 15 batches of 64; the teacher unneeded */
        ck_assert(tacc[i] >= 0 && tacc[i] <= 1);
    }
    for (int e = 0; e < 2; e++) {
        ck_assert_double_eq(tacc[5 * e + 4], eacc[e]);
        ck_assert_double_gt(obj[e], 2 * loss[e]);
    }
    ck_assert_double_lt(loss[1], loss[0]); /* the student learns */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *blocks = h5read_str_attr(f, "/train/blockrep", "blocks");
    ck_assert_str_eq(blocks, "stage1,stage2,stage3,head");
    free(blocks);
    H5Fclose(f);
    free(model), free(qf), free(ql), free(trn), free(tacc), free(eacc), free(obj), free(loss);
}
END_TEST

START_TEST(test_eval_models_change_nothing)
{
    if (skip("test_eval_models_change_nothing"))
        return;
    char on[1024], off[1024];
    qa_err err = {0};
    ck_assert_msg(blockrep_run("on", "blockrep.kl_weight=0.5", NULL, on, &err) == QA_OK, "%s",
                  err.msg);
    ck_assert_msg(blockrep_run("off", "blockrep.kl_weight=0.5", "blockrep.eval_models=false",
                               off, &err) == QA_OK, "%s", err.msg);
    static const char *const cols[] = {"train_loss", "train_acc", "test_loss", "test_acc",
                                       "objective"};
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
        int n, m;
        double *a = column(on, "/train/epochs", cols[c], &n), *b = column(off, "/train/epochs",
                                                                          cols[c], &m);
        ck_assert_int_eq(n, m);
        ck_assert_msg(memcmp(a, b, (size_t)n * sizeof *a) == 0, "%s differs", cols[c]);
        free(a), free(b);
    }
    int n;
    double *t = column(off, "/train/blockrep", "test_acc", &n);
    double *trn = column(off, "/train/blockrep", "train_n", &n);
    for (int i = 0; i < n; i++) {
        ck_assert(i % 5 == 4 ? !isnan(t[i]) : isnan(t[i]));
        ck_assert_int_eq((int)trn[i], 960); /* the KL term runs the teacher too */
    }
    free(t), free(trn);
}
END_TEST

START_TEST(test_subset_and_single)
{
    if (skip("test_subset_and_single"))
        return;
    char sub[1024], single[1024];
    qa_err err = {0};
    ck_assert_msg(blockrep_run("sub", "blockrep.models=1", NULL, sub, &err) == QA_OK, "%s",
                  err.msg);
    int n;
    double *trn = column(sub, "/train/blockrep", "train_n", &n);
    for (int e = 0; e < 2; e++) {
        double models = trn[5 * e + 1] + trn[5 * e + 2] + trn[5 * e + 3];
        ck_assert_double_eq(models, trn[5 * e + 4]);
        ck_assert_double_gt(trn[5 * e + 1] * trn[5 * e + 2] * trn[5 * e + 3], 0);
    }
    free(trn);
    ck_assert_msg(blockrep_run("single", "blockrep.mode=single", NULL, single, &err) == QA_OK,
                  "%s", err.msg);
    double *qf = column(single, "/train/blockrep", "q_first", &n);
    double *ql = column(single, "/train/blockrep", "q_last", &n);
    ck_assert_int_eq(n, 2 * 6); /* teacher, M1..M4, student */
    for (int k = 1; k <= 4; k++)
        ck_assert(qf[k] == k && ql[k] == k);
    ck_assert(qf[5] == 1 && ql[5] == 4);
    free(qf), free(ql);
}
END_TEST

static void refused(const char *extra1, const char *extra2, int with_teacher, const char *msg)
{
    qa_err err = {0};
    char *sets[] = {"experiment.method=blockrep", (char *)extra1, (char *)extra2, NULL};
    int rc = with_teacher ? blockrep_run("bad", extra1, extra2, NULL, &err)
                          : smoke_run("bad", sets, NULL, &err);
    ck_assert_int_ne(rc, QA_OK);
    ck_assert_msg(strstr(err.msg, msg) != NULL, "'%s' lacks '%s'", err.msg, msg);
}

START_TEST(test_refused_teachers)
{
    if (skip("test_refused_teachers"))
        return;
    char fixed[1100];
    snprintf(fixed, sizeof fixed, "blockrep.teacher=%s", fixed_run);
    refused(NULL, NULL, 0, "blockrep.teacher is empty: name a finished fp32 run of model.arch = "
                           "small");
    refused("blockrep.teacher=/nonexistent/run.h5", NULL, 0, "train the teacher first");
    refused("blockrep.teacher=/nonexistent/run.h5", NULL, 0, "blockrep.teacher (--set ");
    refused("model.arch=resnet20", "model.pretrained=", 1, "model.arch = small, not resnet20");
    refused(fixed, NULL, 0, "is a run of method fixed; the teacher must be full precision");
    /* the same images standardised: the teacher would see other inputs */
    refused("data.normalize=dataset", "model.pretrained=", 1,
            "blockrep.teacher (--set blockrep.teacher=");
    refused("data.normalize=dataset", "model.pretrained=", 1,
            "normalised channel 0 of its input with mean 0");
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("method_blockrep");
    TCase *tc = tcase_create("blockrep");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, make_teacher, remove_teacher);
    tcase_add_test(tc, test_blockrep_run);
    tcase_add_test(tc, test_eval_models_change_nothing);
    tcase_add_test(tc, test_subset_and_single);
    tcase_add_test(tc, test_refused_teachers);
    suite_add_tcase(s, tc);
    return s;
}
