/* test_report_md.c: `qadapt report --markdown` on a fabricated sweep folder
 * (run files written here with the h5log writer and HDF5, every number
 * chosen so that each cell of the report is known), and the significance
 * tests, ranks and Spearman's rho by known answers. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "experiments/cli/report.h"
#include "experiments/cli/signif.h"
#include "experiments/io/h5log.h"
#include "experiments/io/h5util.h"

static char tmp[64];

static void setup(void)
{
    qa_test_tmpdir(tmp, sizeof tmp, "report_md");
}

static void teardown(void)
{
    qa_test_rmtree(tmp);
}

/* What a fabricated run holds. */
typedef struct {
    const char *hash, *label, *group;
    int seed;
    double clean, mixed, grid, bytes, seconds;
    double acc[2], bitops[2]; /* the corrupted cells noise/1 and blur/2 */
    double w0[3];             /* planned layer 1's width: clean, noise/1, blur/2 (layer 2: 4) */
} fake_run;

static void put_string(hid_t f, const char *name, const char *text)
{
    hid_t t = exp_h5_str_type(), sp = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    ck_assert_int_ge(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text), 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
}

/* /eval/grid: the clean cell, then the two corrupted ones. */
typedef struct {
    const char *corruption;
    int64_t severity;
    double accuracy, bitops, w_bits[2];
} grid_row;

static void put_grid(hid_t f, const fake_run *r)
{
    grid_row rows[3] = {{"clean", 0, r->clean, 1e9, {r->w0[0], 4}},
                        {"gaussian_noise", 1, r->acc[0], r->bitops[0], {r->w0[1], 4}},
                        {"gaussian_blur", 2, r->acc[1], r->bitops[1], {r->w0[2], 4}}};
    hid_t s = exp_h5_str_type(), t = H5Tcreate(H5T_COMPOUND, sizeof(grid_row));
    H5Tinsert(t, "corruption", HOFFSET(grid_row, corruption), s);
    H5Tinsert(t, "severity", HOFFSET(grid_row, severity), H5T_NATIVE_INT64);
    H5Tinsert(t, "accuracy", HOFFSET(grid_row, accuracy), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "bitops", HOFFSET(grid_row, bitops), H5T_NATIVE_DOUBLE);
    hsize_t n = 2;
    hid_t arr = H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &n);
    H5Tinsert(t, "w_bits", HOFFSET(grid_row, w_bits), arr);
    H5Tclose(arr);
    n = 3;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    H5Gclose(H5Gcreate2(f, "/eval", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    hid_t ds = H5Dcreate2(f, "/eval/grid", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    ck_assert_int_ge(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
    H5Tclose(s);
}

static void fake(const fake_run *r)
{
    char path[256], ini[512];
    qa_err err = {0};
    snprintf(path, sizeof path, "%s/%s/run.h5", tmp, r->hash);
    h5log *log;
    ck_assert_msg(h5log_create(&log, path, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(h5log_attr_f64(log, "/", "test_acc", r->mixed, &err), QA_OK);
    ck_assert_int_eq(h5log_attr_f64(log, "/", "seconds", r->seconds, &err), QA_OK);
    ck_assert_int_eq(h5log_attr_f64(log, "/", "params", 100, &err), QA_OK);
    ck_assert_int_eq(h5log_attr_f64(log, "/", "macs_per_sample", 1e5, &err), QA_OK);
    /* fp32 logs no weight_bytes (bytes 0 here): the report counts 4 a parameter */
    h5log_col cols[2] = {{"epoch", H5LOG_I64, 1}, {"weight_bytes", H5LOG_F64, 1}};
    h5log_table *t;
    ck_assert_int_eq(h5log_table_create(&t, log, "/train/epochs", cols, r->bytes > 0 ? 2 : 1, 8,
                                        0, &err),
                     QA_OK);
    h5log_value row[2] = {{.i = 1}, {.f = r->bytes}};
    ck_assert_int_eq(h5log_table_append(t, row, 1, &err), QA_OK);
    snprintf(ini, sizeof ini, "[experiment]\nmethod = %s\nseed = %d\nlabel = %s\ngroup = %s\n\n"
             "[model]\narch = small\n", strcmp(r->label, "fp32") ? "fixed" : "fp32", r->seed,
             r->label, r->group);
    hid_t f = h5log_file(log);
    put_string(f, "/config", ini);
    put_grid(f, r);
    ck_assert_int_eq(h5log_attr_f64(log, "/eval/grid", "clean_acc", r->clean, &err), QA_OK);
    ck_assert_int_eq(h5log_attr_f64(log, "/eval/grid", "mean_corrupted_acc", r->grid, &err),
                     QA_OK);
    ck_assert_msg(h5log_finish(log, "complete", "", &err) == QA_OK, "%s", err.msg);
}

/* Two arms of two seeds in group b3 (dqmq's first planned layer wider on
 * noise than clean in both seeds, narrower on blur in seed 0 and level in
 * seed 1, its second layer constant), fp32 alone in its group, a failed
 * point that must not count. Bytes 2048 and 1024 are 2.0 and 1.0 KB; the
 * cells' BitOps over 64 x 1e5 are 0.3125 (fixed) and 0.234375 (dqmq);
 * dqmq leads fixed by 0.125 on both cells of seed 0 and 0.25 on seed 1. */
static void fake_sweep(void)
{
    static const fake_run runs[] = {
        {"h0", "fixed", "b3", 0, 0.9, 0.85, 0.6, 2048, 10, {0.75, 0.5}, {2e6, 2e6}, {3, 3, 3}},
        {"h1", "fixed", "b3", 1, 0.8, 0.75, 0.5, 2048, 20, {0.625, 0.5}, {2e6, 2e6}, {3, 3, 3}},
        {"h2", "dqmq", "b3", 0, 0.95, 0.9, 0.8, 1024, 30, {0.875, 0.625}, {1e6, 2e6},
         {3, 3.5, 2.5}},
        {"h3", "dqmq", "b3", 1, 0.85, 0.8, 0.7, 1024, 40, {0.875, 0.75}, {1e6, 2e6},
         {3, 3.25, 3}},
        {"h4", "fp32", "fp32", 0, 0.99, 0.98, 0.97, 0, 5, {0.5, 0.5}, {1e9, 1e9}, {3, 3, 3}},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        fake(&runs[i]);
    char path[128];
    snprintf(path, sizeof path, "%s/index.csv", tmp);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("hash,experiment.label,status,test_acc,run\n", f);
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        fprintf(f, "%s,%s,complete,%g,%s/run.h5\n", runs[i].hash, runs[i].label, runs[i].mixed,
                runs[i].hash);
    fputs("h5,dqmq,failed,,h5/run.h5\n", f);
    fclose(f);
}

static void has(const char *out, const char *want)
{
    ck_assert_msg(strstr(out, want), "missing\n%s\nin\n%s", want, out);
}

START_TEST(test_markdown_known)
{
    fake_sweep();
    char *out = NULL, *dirs[1] = {tmp}, want[512];
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    qa_err err = {0};
    int rc = exp_report_markdown(f, dirs, 1, &err);
    fclose(f);
    ck_assert_msg(rc == QA_OK, "%s", err.msg);
    has(out, "from 5 complete runs");
    has(out, "\n## small, b3\n");
    has(out, "\n## small, fp32\n");
    has(out, "| fixed | 2 | 85.00 ± 7.07 | 80.00 ± 7.07 | 55.00 ± 7.07 | 0.3125 ± 0.0000 | "
             "2.0 | **15** ± 7 |");
    has(out, "| dqmq | 2 | **90.00** ± 7.07 | **85.00** ± 7.07 | **75.00** ± 7.07 | "
             "**0.2344** ± 0.0000 | **1.0** | 35 ± 7 |");
    /* one seed: no spread; alone in its table: nothing in bold, no tests */
    has(out, "| fp32 | 1 | 99.00 | 98.00 | 97.00 | 156.2500 | 0.4 | 5 |");
    /* |d| 0.125, 0.125, 0.25, 0.25: W+ = 10 of mean 5, variance 7.5 - 12 / 48 */
    snprintf(want, sizeof want, "| dqmq | fixed | 4 | +18.75 | 4 / 0 | 0.125 | %.3g |",
             erfc(4.5 / sqrt(7.25) / sqrt(2.0)));
    has(out, want);
    has(out, "| fixed | dqmq | 4 | -18.75 | 0 / 4 | 0.125 |");
    /* noise: rho +1 in both seeds; blur: -1 and constant (left out) */
    has(out, "| method | planned layer | gaussian_noise | gaussian_blur |");
    has(out, "| dqmq | 1 | +1.00 | -1.00 |");
    ck_assert_ptr_null(strstr(out, "| dqmq | 2 | - | - |"));
    ck_assert_ptr_null(strstr(out, "| fixed | 1 | - | - |"));
    snprintf(want, sizeof want, "seed 1 `%s/h3/run.h5`", tmp);
    has(out, want);
    ck_assert_ptr_null(strstr(out, "h5/run.h5`"));
    ck_assert(strstr(out, "## small, b3") < strstr(out, "## small, fp32")); /* index order */
    free(out);
}
END_TEST

START_TEST(test_markdown_errors)
{
    char *dirs[1] = {tmp};
    qa_err err = {0};
    FILE *f = fopen("/dev/null", "w");
    ck_assert_int_eq(exp_report_markdown(f, dirs, 1, &err), QA_ERR_IO);
    ck_assert_msg(strstr(err.msg, "index.csv"), "%s", err.msg);
    char path[128];
    snprintf(path, sizeof path, "%s/index.csv", tmp);
    FILE *idx = fopen(path, "w");
    fputs("hash,status,run\nh0,failed,h0/run.h5\n", idx);
    fclose(idx);
    ck_assert_int_eq(exp_report_markdown(f, dirs, 1, &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "no complete run"), "%s", err.msg);
    fclose(f);
}
END_TEST

START_TEST(test_sign_test)
{
    ck_assert_double_eq_tol(exp_sign_test(9, 1), 22.0 / 1024, 1e-15); /* 2 (1 + 10) / 2^10 */
    ck_assert_double_eq_tol(exp_sign_test(1, 9), 22.0 / 1024, 1e-15);
    ck_assert_double_eq_tol(exp_sign_test(0, 6), 2.0 / 64, 1e-15);
    ck_assert_double_eq(exp_sign_test(3, 3), 1);
    ck_assert_double_eq(exp_sign_test(0, 0), 1);
    /* 20 of 25: 2 sum_{k<=5} C(25, k) / 2^25 = 2 * 68406 / 33554432 */
    ck_assert_double_eq_tol(exp_sign_test(20, 5), 2 * 68406.0 / 33554432, 1e-13);
}
END_TEST

START_TEST(test_ranks_spearman)
{
    double x[] = {10, 20, 10, 30}, r[4], ties;
    ck_assert_int_eq(exp_ranks(x, 4, r, &ties), 0);
    ck_assert(r[0] == 1.5 && r[1] == 3 && r[2] == 1.5 && r[3] == 4 && ties == 6);
    /* ranks 1..5 and 1 2 3.5 5 3.5: sxy 8, sxx 10, syy 9.5 */
    double a[] = {1, 2, 3, 4, 5}, b[] = {5, 6, 7, 8, 7}, e[5], c[5] = {2, 2, 2, 2, 2};
    ck_assert_double_eq_tol(exp_spearman(a, b, 5), 8 / sqrt(95), 1e-12);
    for (int i = 0; i < 5; i++)
        e[i] = -exp(a[i]); /* monotone decreasing: -1 */
    ck_assert_double_eq_tol(exp_spearman(a, e, 5), -1, 1e-12);
    ck_assert(isnan(exp_spearman(a, c, 5)));
    double c6[6] = {3.1, 3.1, 3.1, 3.1, 3.1, 3.1}, a6[6] = {0, 1, 2, 3, 4, 5};
    ck_assert(isnan(exp_spearman(a6, c6, 6))); /* rank 3.5 each: no rounding left over */
    ck_assert(isnan(exp_spearman(a, b, 1)));
}
END_TEST

START_TEST(test_wilcoxon)
{
    exp_wilcoxon w;
    /* exact, no ties: all five positive, W+ = 15, P = 2 / 2^5 */
    double a[] = {1, 2, 3, 4, 5};
    ck_assert_int_eq(exp_wilcoxon_test(a, 5, &w), 0);
    ck_assert(w.exact && w.n == 5 && w.w_pos == 15);
    ck_assert_double_eq_tol(w.p, 0.0625, 1e-15);
    /* one negative of rank 1: W+ = 14, P(W+ <= 1) = 2 / 32, two-sided 0.125 */
    double b[] = {-1, 2, 3, 4, 5, 0};
    ck_assert_int_eq(exp_wilcoxon_test(b, 6, &w), 0);
    ck_assert(w.exact && w.n == 5 && w.w_pos == 14);
    ck_assert_double_eq_tol(w.p, 0.125, 1e-15);
    /* ties: |d| ranks 1.5 1.5 3.5 3.5 5 (the zero dropped), W+ = 13.5,
     * mean 7.5, variance 5 6 11 / 24 - (6 + 6) / 48 = 13.5, z = 5.5 / sqrt(13.5) */
    double c[] = {1, -1, 2, 2, 3, 0};
    ck_assert_int_eq(exp_wilcoxon_test(c, 6, &w), 0);
    ck_assert(!w.exact && w.n == 5 && w.w_pos == 13.5);
    ck_assert_double_eq_tol(w.z, 5.5 / sqrt(13.5), 1e-12);
    ck_assert_double_eq_tol(w.p, 0.134417, 1e-6);
    /* the sign flipped: the same p, z negative */
    double d[] = {-1, 1, -2, -2, -3, 0};
    ck_assert_int_eq(exp_wilcoxon_test(d, 6, &w), 0);
    ck_assert_double_eq_tol(w.z, -5.5 / sqrt(13.5), 1e-12);
    ck_assert_double_eq_tol(w.p, 0.134417, 1e-6);
    ck_assert_int_eq(exp_wilcoxon_test(d, 0, &w), 0);
    ck_assert(w.n == 0 && w.p == 1);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("report_md");
    TCase *tc = tcase_create("report_md");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_markdown_known);
    tcase_add_test(tc, test_markdown_errors);
    tcase_add_test(tc, test_sign_test);
    tcase_add_test(tc, test_ranks_spearman);
    tcase_add_test(tc, test_wilcoxon);
    suite_add_tcase(s, tc);
    return s;
}
