/* test_method_example.c: docs/DESIGN.md's "how to add a method", worked:
 * a method defined in this file alone, added by one registration line, run
 * by name from a config like the built-in ones.
 *
 * Method "evalcount" trains like fp32 (the default steps) and logs, per
 * epoch, how many batches each kind of evaluation gave its eval step
 * (columns test_batches, val_batches), so the test also checks
 * that eval hooks are told which evaluation they serve, and which grid
 * cell. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "env/corrupt.h"
#include "experiments/cli/schema.h"
#include "experiments/methods/registry.h"
#include "h5read.h"

/* ---- the method: everything it needs is in this block ---- */

typedef struct {
    long batches[3]; /* per exp_eval_kind, this epoch */
    int col[2];      /* test_batches, val_batches in the row */
} evalcount;

/* what the test observes of the grid, which runs after the last row */
static long grid_batches;
static int grid_cells; /* changes of (corruption, severity) from batch to batch */
static exp_eval grid_last = {EXP_EVAL_GRID, -2, -2};

static int ec_create(exp_run *r, void **state, qa_err *err)
{
    (void)r;
    *state = calloc(1, sizeof(evalcount));
    return *state ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "out of memory");
}

static int ec_setup(exp_run *r, void *state, qa_err *err)
{
    evalcount *ec = state;
    int rc = exp_run_add_f64(r, "test_batches", 1, &ec->col[0], err);
    return rc ? rc : exp_run_add_f64(r, "val_batches", 1, &ec->col[1], err);
}

static int ec_eval_step(exp_run *r, void *state, const exp_eval *ev, exp_batch *b, exp_stats *s,
                        qa_err *err)
{
    evalcount *ec = state;
    ec->batches[ev->kind]++;
    if (ev->kind == EXP_EVAL_GRID) {
        grid_batches++;
        grid_cells += ev->corruption != grid_last.corruption || ev->severity != grid_last.severity;
        grid_last = *ev;
    }
    return exp_step_eval(r, b, s, err);
}

static int ec_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err)
{
    (void)r;
    (void)err;
    evalcount *ec = state;
    row[ec->col[0]].f = (double)ec->batches[EXP_EVAL_TEST];
    row[ec->col[1]].f = (double)ec->batches[EXP_EVAL_VAL];
    memset(ec->batches, 0, sizeof ec->batches);
    return QA_OK;
}

static const exp_method exp_method_evalcount = {
    .name = "evalcount",
    .help = "fp32 training that counts the batches of each evaluation (a test method)",
    .create = ec_create,
    .setup = ec_setup,
    .eval_step = ec_eval_step,
    .epoch_end = ec_epoch_end,
    .destroy = free,
};

/* ---- the test ---- */

static char dir[512];

START_TEST(test_example_method)
{
    qa_err err = {0};
    ck_assert_int_eq(exp_method_register(&exp_method_evalcount, &err), QA_OK);
    ck_assert_int_eq(exp_method_register(&exp_method_evalcount, &err), QA_ERR_ARG);
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0 &&
        qa_test_skip_data("test_example_method", "Fashion-MNIST is not installed"))
        return;
    qa_test_tmpdir(dir, sizeof dir, "example");
    char cfgpath[1024];
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/smoke.ini", getenv("QADAPT_SOURCE_ROOT"));
    /* 1000 training images, 100 held out; 300 test images in batches of 64:
     * 5 test batches, 2 validation batches per epoch; a grid of 2 x 2 cells
     * and the clean one, 5 batches each */
    char *sets[] = {"experiment.method=evalcount", "data.limit=1000", "data.val_fraction=0.1",
                    "data.test_limit=300", "eval.grid=true",
                    "eval.grid_corruptions=gaussian_noise, contrast", "eval.grid_severities=1, 5",
                    "experiment.name=example"};
    exp_config *c = malloc(sizeof *c);
    ck_assert_msg(exp_config_load(c, cfgpath, sets, 8, &err) == QA_OK, "%s", err.msg);
    exp_run_opts o = {.out_dir = dir, .command = "test_method_example"};
    exp_run_result res;
    ck_assert_msg(exp_run_main(c, &o, &res, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(res.status, EXP_RUN_COMPLETE);
    hid_t f = H5Fopen(res.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *method = h5read_str_attr(f, "/config", "experiment.method");
    ck_assert_str_eq(method, "evalcount");
    free(method);
    int n;
    double *t = h5read_column(f, "/train/epochs", "test_batches", &n);
    double *v = h5read_column(f, "/train/epochs", "val_batches", &n);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(n, 2);
    for (int e = 0; e < 2; e++) {
        ck_assert_double_eq(t[e], 5.0);
        ck_assert_double_eq(v[e], 2.0);
    }
    free(t);
    free(v);
    double *acc = h5read_column(f, "/eval/grid", "accuracy", &n);
    ck_assert_int_eq(n, 5);
    free(acc);
    ck_assert_int_eq(grid_batches, 5 * 5);
    ck_assert_int_eq(grid_cells, 5);
    ck_assert_int_eq(grid_last.corruption, env_corruption_find("contrast", &err));
    ck_assert_int_eq(grid_last.severity, 5);
    H5Fclose(f);
    free(c);
    qa_test_rmtree(dir);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("methods");
    TCase *tc = tcase_create("example");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_example_method);
    suite_add_tcase(s, tc);
    return s;
}
