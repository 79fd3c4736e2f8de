/* test_method_fixed.c: method = fixed end to end through the run loop on
 * configs/smoke.ini (a few seconds): the run completes and learns, the run
 * file holds /quant/layers and the per-epoch BitOps and widths (checked
 * against hand-computed totals), a static per-layer list is honoured, a
 * list of the wrong length is an error naming the layers, two runs with
 * one seed are identical bit for bit, and [quant] survives the run file's
 * /config round trip. */
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

static char dir[64];

/* rows of an array column (count values per row), row-major, malloc'd */
static double *read_array_column(hid_t f, const char *table, const char *col, int count,
                                 int *nrows)
{
    hid_t ds = H5Dopen2(f, table, H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    hid_t space = H5Dget_space(ds);
    hsize_t n = 0, dim = (hsize_t)count;
    H5Sget_simple_extent_dims(space, &n, NULL);
    hid_t arr = H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &dim);
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)count * sizeof(double));
    H5Tinsert(t, col, 0, arr);
    double *v = calloc((size_t)(n ? n : 1) * (size_t)count, sizeof *v);
    herr_t rc = H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Tclose(t);
    H5Tclose(arr);
    H5Sclose(space);
    H5Dclose(ds);
    ck_assert_int_ge(rc, 0);
    *nrows = (int)n;
    return v;
}

static int run_fixed(char **sets, int nsets, exp_run_result *res, qa_err *err)
{
    char cfgpath[1024];
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/smoke.ini", QA_SOURCE_ROOT);
    exp_config *c = malloc(sizeof *c);
    int rc = exp_config_load(c, cfgpath, sets, nsets, err);
    if (rc == QA_OK) {
        exp_run_opts o = {.out_dir = dir, .command = "test_method_fixed"};
        rc = exp_run_main(c, &o, res, err);
    }
    free(c);
    return rc;
}

static void make_dir(void)
{
    qa_test_tmpdir(dir, sizeof dir, "fixed");
}


/* small, conv1/fc pinned at 8 bits:
 *   W4A4: (112896 + 640) * 64 + (903168 + 903168) * 16 = 36167680
 *   list "4,2": 7266304 + 903168 * 16 + 903168 * 4     = 25329664 */
START_TEST(test_fixed_run)
{
    make_dir();
    char *sets[] = {"experiment.method=fixed", "quant.w_bits=4", "quant.a_bits=4",
                    "experiment.name=w4"};
    exp_run_result res;
    qa_err err = {0};
    ck_assert_msg(run_fixed(sets, 4, &res, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(res.status, EXP_RUN_COMPLETE);
    ck_assert_double_gt(res.test_acc, 0.3);
    hid_t f = H5Fopen(res.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    int n;
    double *bitops = h5read_column(f, "/train/epochs", "bitops", &n);
    ck_assert_int_eq(n, 2);
    ck_assert_double_eq(bitops[1], 36167680.0);
    double *rel = h5read_column(f, "/train/epochs", "bitops_vs_fp32", &n);
    ck_assert_double_eq_tol(rel[0], 36167680.0 / 1965948928.0, 1e-12);
    double *wb = read_array_column(f, "/train/epochs", "w_bits", 2, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_double_eq(wb[0], 4.0);
    ck_assert_double_eq(wb[3], 4.0);
    double *macs = h5read_column(f, "/quant/layers", "macs", &n);
    ck_assert_int_eq(n, 4);
    ck_assert_double_eq(macs[1], 903168.0);
    double *pin = h5read_column(f, "/quant/layers", "w_bits", &n);
    ck_assert_double_eq(pin[0], 8.0);
    ck_assert_double_eq(pin[1], -1.0);
    char *names = h5read_str_attr(f, "/quant/layers", "names");
    ck_assert_str_eq(names, "conv1,conv2,conv3,fc");
    free(names), free(bitops), free(rel), free(wb), free(macs), free(pin);
    H5Fclose(f);
    qa_test_rmtree(dir);
}
END_TEST

START_TEST(test_fixed_layer_list)
{
    make_dir();
    char *sets[] = {"experiment.method=fixed", "quant.layer_bits=4,2", "experiment.name=mix",
                    "train.epochs=1"};
    exp_run_result res;
    qa_err err = {0};
    ck_assert_msg(run_fixed(sets, 4, &res, &err) == QA_OK, "%s", err.msg);
    hid_t f = H5Fopen(res.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int n;
    double *bitops = h5read_column(f, "/train/epochs", "bitops", &n);
    ck_assert_double_eq(bitops[0], 25329664.0);
    double *ab = read_array_column(f, "/train/epochs", "a_bits", 2, &n);
    ck_assert_double_eq(ab[0], 4.0); /* conv2 */
    ck_assert_double_eq(ab[1], 2.0); /* conv3 */
    free(bitops);
    free(ab);
    H5Fclose(f);
    char *bad[] = {"experiment.method=fixed", "quant.layer_bits=4,2,2", "experiment.name=bad"};
    ck_assert_int_eq(run_fixed(bad, 3, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "3 entries"));
    ck_assert_ptr_nonnull(strstr(err.msg, "conv2, conv3"));
    qa_test_rmtree(dir);
}
END_TEST

/* same seed, same everything: identical per-epoch rows */
START_TEST(test_fixed_reproducible)
{
    make_dir();
    static const char *const cols[] = {"train_loss", "test_loss", "test_acc"};
    double *v[2][3];
    for (int k = 0; k < 2; k++) {
        char *sets[] = {"experiment.method=fixed", "quant.w_bits=3", "quant.a_bits=2",
                        "quant.a_quantizer=pact", "data.limit=1000", k ? "experiment.name=b"
                                                                      : "experiment.name=a"};
        exp_run_result res;
        qa_err err = {0};
        ck_assert_msg(run_fixed(sets, 6, &res, &err) == QA_OK, "%s", err.msg);
        hid_t f = H5Fopen(res.path, H5F_ACC_RDONLY, H5P_DEFAULT);
        int n;
        for (int c = 0; c < 3; c++) {
            v[k][c] = h5read_column(f, "/train/epochs", cols[c], &n);
            ck_assert_int_eq(n, 2);
        }
        H5Fclose(f);
        }
    for (int c = 0; c < 3; c++) {
        for (int e = 0; e < 2; e++)
            ck_assert_msg(v[0][c][e] == v[1][c][e], "%s epoch %d: %.17g vs %.17g", cols[c], e,
                          v[0][c][e], v[1][c][e]);
        free(v[0][c]);
        free(v[1][c]);
    }
    qa_test_rmtree(dir);
}
END_TEST

START_TEST(test_quant_config_round_trip)
{
    exp_config *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    qa_err err = {0};
    char *sets[] = {"quant.bits=2,4,32", "quant.layer_bits=8,4:2,3", "quant.w_quantizer=dorefa",
                    "quant.a_quantizer=ema", "quant.granularity=channel", "quant.tied=false"};
    ck_assert_msg(exp_config_load(a, NULL, sets, 6, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(a->quant.ncand, 3);
    ck_assert_int_eq(a->quant.layer_abits[1], 2);
    ck_assert_int_eq(a->quant.per_channel, 1);
    cfg_doc d = exp_config_doc(a);
    char *text;
    ck_assert_int_eq(cfg_render(&d, &text, &err), QA_OK);
    ck_assert_ptr_nonnull(strstr(text, "layer_bits = 8,4:2,3"));
    ck_assert_int_eq(exp_config_defaults(b, &err), QA_OK);
    cfg_doc db = exp_config_doc(b);
    ck_assert_msg(cfg_load_text(&db, text, "rendered", &err) == QA_OK, "%s", err.msg);
    ck_assert_mem_eq(&b->quant, &a->quant, sizeof a->quant);
    free(text);
    char *bad[] = {"quant.w_quantizer=pact"};
    ck_assert_int_eq(exp_config_load(b, NULL, bad, 1, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "w_quantizer"));
    char *bad2[] = {"quant.bits=8,4"};
    ck_assert_int_eq(exp_config_load(b, NULL, bad2, 1, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "quant.bits"));
    free(a);
    free(b);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_method_fixed");
    TCase *tc = tcase_create("fixed");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fixed_run);
    tcase_add_test(tc, test_fixed_layer_list);
    tcase_add_test(tc, test_fixed_reproducible);
    tcase_add_test(tc, test_quant_config_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
