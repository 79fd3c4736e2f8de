/* test_h5log.c: the run file read back with the HDF5 API: root attributes,
 * /config text and typed attributes, extendible tables (scalar and array
 * columns), the atomic rename, a file left by a process that died after a
 * flush, and errors. */
#include <hdf5.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "experiments/io/h5log.h"

static char dir[64], path[128], part[140];

static void tmp_paths(void)
{
    qa_test_tmpdir(dir, sizeof dir, "h5");
    snprintf(path, sizeof path, "%s/sub/run/run.h5", dir);
    snprintf(part, sizeof part, "%s.part", path);
}

static void cleanup(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *read_str_attr(hid_t f, const char *obj, const char *name)
{
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "attribute %s missing", name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *v = NULL;
    ck_assert_int_ge(H5Aread(a, t, &v), 0);
    char *copy = strdup(v);
    H5free_memory(v);
    H5Tclose(t);
    H5Aclose(a);
    return copy;
}

static void expect_str_attr(hid_t f, const char *obj, const char *name, const char *want)
{
    char *v = read_str_attr(f, obj, name);
    ck_assert_str_eq(v, want);
    free(v);
}

static const h5log_col cols[] = {
    {"epoch", H5LOG_I64, 1}, {"loss", H5LOG_F64, 1}, {"bits", H5LOG_F64, 3}};

/* Row r: epoch r, loss 1/(r+1), bits (r, 2r, 3r). */
static void make_rows(h5log_value *rows, int first, int n)
{
    for (int r = 0; r < n; r++) {
        int e = first + r;
        rows[r * 5].i = e;
        rows[r * 5 + 1].f = 1.0 / (e + 1);
        for (int j = 0; j < 3; j++)
            rows[r * 5 + 2 + j].f = (double)e * (j + 1);
    }
}

static void check_rows(hid_t f, int n)
{
    hid_t ds = H5Dopen2(f, "/train/epochs", H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    hid_t space = H5Dget_space(ds);
    hsize_t dims;
    H5Sget_simple_extent_dims(space, &dims, NULL);
    ck_assert_int_eq((int)dims, n);
    struct row {
        int64_t epoch;
        double loss, bits[3];
    } *rows = calloc((size_t)n, sizeof *rows);
    hsize_t three = 3;
    hid_t arr = H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &three);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct row));
    H5Tinsert(t, "epoch", offsetof(struct row, epoch), H5T_NATIVE_INT64);
    H5Tinsert(t, "loss", offsetof(struct row, loss), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "bits", offsetof(struct row, bits), arr);
    ck_assert_int_ge(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), 0);
    for (int r = 0; r < n; r++) {
        ck_assert_int_eq(rows[r].epoch, r);
        ck_assert_double_eq(rows[r].loss, 1.0 / (r + 1));
        ck_assert_double_eq(rows[r].bits[2], 3.0 * r);
    }
    free(rows);
    H5Tclose(t);
    H5Tclose(arr);
    H5Sclose(space);
    H5Dclose(ds);
}

typedef struct {
    int n;
    float lr;
    int flag;
    char name[16];
    int e;
    cfg_num_list l;
} mini;

static const char *const modes[] = {"fast", "slow", NULL};
#define FIELD(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)
static const cfg_key mini_keys[] = {
    {.key = "n", .type = CFG_INT, FIELD(mini, n), .def = "12", .min = 0, .max = 99, .help = "h"},
    {.key = "lr", .type = CFG_FLOAT, FIELD(mini, lr), .def = "0.05", .min = 0, .max = 1, .help = "h"},
    {.key = "flag", .type = CFG_BOOL, FIELD(mini, flag), .def = "true", .help = "h"},
    {.key = "name", .type = CFG_STRING, FIELD(mini, name), .def = "abc", .help = "h"},
    {.key = "mode", .type = CFG_ENUM, FIELD(mini, e), .def = "slow", .names = modes, .help = "h"},
    {.key = "l", .type = CFG_NUM_LIST, FIELD(mini, l), .def = "0.5, 0.25", .min = 0, .max = 1, .help = "h"},
    {0},
};
static const cfg_section mini_sec = {"m", mini_keys, 0, "h", NULL};
static const cfg_schema mini_schema = {&mini_sec, 1, NULL, NULL};

static void write_run(h5log **log, h5log_table **tab)
{
    qa_err err = {0};
    ck_assert_msg(h5log_create(log, path, &err) == QA_OK, "%s", err.msg);
    mini m;
    cfg_doc d = {.schema = &mini_schema, .base = &m};
    ck_assert_int_eq(cfg_defaults(&d, &err), QA_OK);
    char *text;
    ck_assert_int_eq(cfg_render(&d, &text, &err), QA_OK);
    ck_assert_int_eq(h5log_write_config(*log, &d, text, &err), QA_OK);
    free(text);
    ck_assert_int_eq(h5log_table_create(tab, *log, "/train/epochs", cols, 3, 4, 0, &err), QA_OK);
    ck_assert_int_eq(h5log_table_width(*tab), 5);
    ck_assert_int_eq(h5log_table_col(*tab, "bits"), 2);
    ck_assert_int_eq(h5log_table_col(*tab, "nope"), -1);
    h5log_value rows[5 * 7];
    make_rows(rows, 0, 2);
    ck_assert_int_eq(h5log_table_append(*tab, rows, 2, &err), QA_OK);
    make_rows(rows, 2, 7);
    ck_assert_int_eq(h5log_table_append(*tab, rows, 7, &err), QA_OK);
    ck_assert_int_eq(h5log_table_rows(*tab), 9);
    ck_assert_int_eq(h5log_flush(*log, &err), QA_OK);
}

START_TEST(test_round_trip)
{
    tmp_paths();
    h5log *log;
    h5log_table *tab;
    write_run(&log, &tab);
    struct stat st;
    ck_assert_int_eq(stat(part, &st), 0);
    ck_assert_int_ne(stat(path, &st), 0);
    qa_err err;
    ck_assert_int_eq(h5log_attr_f64(log, "/", "final_test_acc", 0.875, &err), QA_OK);
    ck_assert_int_eq(h5log_finish(log, "complete", NULL, &err), QA_OK);
    ck_assert_int_ne(stat(part, &st), 0);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    expect_str_attr(f, "/", "status", "complete");
    expect_str_attr(f, "/", "error", "");
    char *v = read_str_attr(f, "/", "qadapt_version");
    ck_assert_int_gt(strlen(v), 0);
    free(v);
    v = read_str_attr(f, "/", "start_time");
    ck_assert_int_eq(strlen(v), 20);
    ck_assert_int_eq(v[10], 'T');
    free(v);
    free(read_str_attr(f, "/", "end_time"));
    free(read_str_attr(f, "/", "git_revision"));
    double acc;
    hid_t a = H5Aopen_by_name(f, "/", "final_test_acc", H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &acc);
    H5Aclose(a);
    ck_assert_double_eq(acc, 0.875);

    hid_t ds = H5Dopen2(f, "/config", H5P_DEFAULT);
    hid_t st_t = H5Tcopy(H5T_C_S1);
    H5Tset_size(st_t, H5T_VARIABLE);
    H5Tset_cset(st_t, H5T_CSET_UTF8);
    char *text = NULL;
    ck_assert_int_ge(H5Dread(ds, st_t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text), 0);
    ck_assert_str_eq(text, "[m]\nn = 12\nlr = 0.05\nflag = true\nname = abc\nmode = slow\n"
                           "l = 0.5, 0.25\n");
    H5free_memory(text);
    H5Tclose(st_t);
    H5Dclose(ds);
    int64_t n;
    a = H5Aopen_by_name(f, "/config", "m.n", H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_eq(H5Tget_class(H5Aget_type(a)), H5T_INTEGER);
    H5Aread(a, H5T_NATIVE_INT64, &n);
    H5Aclose(a);
    ck_assert_int_eq(n, 12);
    double lr, l[2];
    a = H5Aopen_by_name(f, "/config", "m.lr", H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &lr);
    H5Aclose(a);
    ck_assert_double_eq(lr, 0.05); /* the decimal shown, not the float's binary value */
    a = H5Aopen_by_name(f, "/config", "m.l", H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, l);
    H5Aclose(a);
    ck_assert_double_eq(l[1], 0.25);
    a = H5Aopen_by_name(f, "/config", "m.flag", H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_eq(H5Tget_class(H5Aget_type(a)), H5T_ENUM);
    H5Aclose(a);
    expect_str_attr(f, "/config", "m.mode", "slow");
    check_rows(f, 9);
    H5Fclose(f);
    cleanup();
}
END_TEST

/* A process that dies after a flush leaves a readable .part with status running. */
START_TEST(test_crash_after_flush)
{
    tmp_paths();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        h5log *log;
        h5log_table *tab;
        write_run(&log, &tab);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    hid_t f = H5Fopen(part, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    expect_str_attr(f, "/", "status", "running");
    check_rows(f, 9);
    H5Fclose(f);
    cleanup();
}
END_TEST

START_TEST(test_errors)
{
    h5log *log;
    qa_err err;
    ck_assert_int_eq(h5log_create(&log, "/proc/qadapt/run.h5", &err), QA_ERR_IO);
    ck_assert_ptr_null(log);
    ck_assert_ptr_nonnull(strstr(err.msg, "/proc/qadapt"));
    tmp_paths();
    ck_assert_int_eq(h5log_create(&log, path, &err), QA_OK);
    h5log_col twice[2] = {{"a", H5LOG_I64, 1}, {"a", H5LOG_F64, 1}};
    h5log_table *t;
    ck_assert_int_eq(h5log_table_create(&t, log, "/t", twice, 2, 8, 1, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "column a is defined twice"));
    ck_assert_int_eq(h5log_table_create(&t, log, "/t", twice, 1, 8, 1, &err), QA_OK);
    ck_assert_int_eq(h5log_table_create(&t, log, "/t", twice, 1, 8, 1, &err), QA_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot create table /t"));
    ck_assert_int_eq(h5log_finish(log, "failed", "boom", &err), QA_OK);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    expect_str_attr(f, "/", "status", "failed");
    expect_str_attr(f, "/", "error", "boom");
    H5Fclose(f);
    cleanup();
}
END_TEST

/* a log held in memory: tables and attributes work, nothing reaches the
 * disk (not even its folders), finish is refused, discard removes nothing */
START_TEST(test_memory_only)
{
    tmp_paths();
    h5log *log;
    qa_err err;
    ck_assert_msg(h5log_create_mem(&log, path, &err) == QA_OK, "%s", err.msg);
    h5log_col cols[1] = {{"a", H5LOG_I64, 1}};
    h5log_table *t;
    h5log_value v[3] = {{.i = 1}, {.i = 2}, {.i = 3}};
    ck_assert_int_eq(h5log_table_create(&t, log, "/t", cols, 1, 8, 1, &err), QA_OK);
    ck_assert_int_eq(h5log_table_append(t, v, 3, &err), QA_OK);
    ck_assert_int_eq(h5log_attr_str(log, "/", "note", "x", &err), QA_OK);
    ck_assert_int_eq(h5log_flush(log, &err), QA_OK);
    char sub[160];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_msg(access(sub, F_OK) != 0 && access(part, F_OK) != 0, "the log reached the disk");
    ck_assert_int_eq(h5log_finish(log, "complete", "", &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "in memory"));
    ck_assert_msg(access(path, F_OK) != 0, "finish wrote %s", path);
    /* a discarded memory log leaves a file of the same name alone */
    ck_assert_int_eq(h5log_create(&log, path, &err), QA_OK);
    h5log *mem;
    ck_assert_int_eq(h5log_create_mem(&mem, path, &err), QA_OK);
    h5log_discard(mem);
    ck_assert_msg(access(part, F_OK) == 0, "discarding the memory log removed %s", part);
    h5log_discard(log);
    cleanup();
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("h5log");
    TCase *tc = tcase_create("h5log");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_crash_after_flush);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_memory_only);
    suite_add_tcase(s, tc);
    return s;
}
