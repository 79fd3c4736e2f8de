/* test_grid.c: mCE against hand-worked values; then the real qadapt binary
 * (QADAPT_BIN) on configs/smoke.ini with [eval] grid on: every configured
 * corruption x severity cell present, the clean cell equal to the run's own
 * test accuracy, BitOps and widths per cell, mCE against a reference run,
 * `qadapt eval` from the checkpoint reproducing the in-run cells bit for
 * bit, and its errors. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "experiments/run/grid.h"
#include "h5read.h"
#include "run_bin.h"

static char tmp[64], smoke[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("grid", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

START_TEST(test_mce_known)
{
    /* run: clean error .1; c0: .2, .4 at s1, s2; c1: .3 at s1 */
    int id[] = {-1, 0, 0, 1}, sev[] = {0, 1, 2, 1};
    double acc[] = {0.9, 0.8, 0.6, 0.7};
    /* reference: clean .05; c0: .5, .5; c1 absent */
    int rid[] = {-1, 0, 0}, rsev[] = {0, 1, 2};
    double racc[] = {0.95, 0.5, 0.5};
    int skip[4];
    exp_grid_cells run = {id, sev, acc, 4}, ref = {rid, rsev, racc, 3};
    exp_mce m = exp_grid_mce(&run, &ref, skip);
    ck_assert_double_eq_tol(m.mce, 0.6 / 1.0, 1e-12);
    ck_assert_double_eq_tol(m.rel, 0.4 / 0.9, 1e-12);
    /* with c1 in the reference (error .6): CE .5, relative .2 / .55 */
    int rid2[] = {-1, 0, 0, 1}, rsev2[] = {0, 1, 2, 1};
    double racc2[] = {0.95, 0.5, 0.5, 0.4};
    ref = (exp_grid_cells){rid2, rsev2, racc2, 4};
    m = exp_grid_mce(&run, &ref, skip);
    ck_assert_double_eq_tol(m.mce, (0.6 + 0.5) / 2, 1e-12);
    ck_assert_double_eq_tol(m.rel, (0.4 / 0.9 + 0.2 / 0.55) / 2, 1e-12);
    ck_assert_int_eq(m.nskipped, 0);
    /* c1's reference error equals its clean error (.05): no relative
     * denominator, so c1 is left out of the relative mCE (not NaN) and named */
    double racc4[] = {0.95, 0.5, 0.5, 0.95};
    ref = (exp_grid_cells){rid2, rsev2, racc4, 4};
    m = exp_grid_mce(&run, &ref, skip);
    ck_assert_double_eq_tol(m.mce, (0.6 + 0.3 / 0.05) / 2, 1e-12);
    ck_assert_double_eq_tol(m.rel, 0.4 / 0.9, 1e-12);
    ck_assert_int_eq(m.nskipped, 1);
    ck_assert_int_eq(skip[0], 1);
    /* the run against itself: 1 and 1 */
    m = exp_grid_mce(&run, &run, skip);
    ck_assert_double_eq_tol(m.mce, 1, 1e-12);
    ck_assert_double_eq_tol(m.rel, 1, 1e-12);
    /* a severity the reference lacks: no corruption counts */
    int rsev3[] = {0, 1, 3};
    exp_grid_cells run3 = {id, sev, acc, 3}, ref3 = {rid, rsev3, racc, 3};
    m = exp_grid_mce(&run3, &ref3, skip);
    ck_assert(isnan(m.mce) && isnan(m.rel));
}
END_TEST

/* Runs qadapt to the end: its exit code, output in out_text/err_text. */
static int run(char *const args[])
{
    return run_bin(tmp, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

#define SMALL                                                                                       \
    "--set", "train.epochs=1", "--set", "data.limit=1000", "--set", "data.test_limit=200", "--set", \
        "eval.grid=true", "--set", "eval.grid_corruptions=gaussian_noise, contrast", "--set",       \
        "eval.grid_severities=1, 3"

typedef struct {
    int n;
    char *name[16];
    double *id, *sev, *cnt, *acc, *bitops, *wbits;
    int wcount;
} grid_rows;

/* /eval/grid of tmp/<name>/run.h5, read with the plain HDF5 API. */
static void read_grid(const char *name, grid_rows *g, double *test_acc, hid_t *file)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s/run.h5", tmp, name);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot open %s", path);
    int n;
    g->id = h5read_column(f, "/eval/grid", "corruption_id", &g->n);
    ck_assert_ptr_nonnull(g->id);
    g->sev = h5read_column(f, "/eval/grid", "severity", &n);
    g->cnt = h5read_column(f, "/eval/grid", "n", &n);
    g->acc = h5read_column(f, "/eval/grid", "accuracy", &n);
    g->bitops = h5read_column(f, "/eval/grid", "bitops", &n);
    /* names: a compound of just the string member */
    hid_t ds = H5Dopen2(f, "/eval/grid", H5P_DEFAULT), s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, H5T_VARIABLE);
    H5Tset_cset(s, H5T_CSET_UTF8);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(char *));
    H5Tinsert(t, "corruption", 0, s);
    ck_assert_int_le(g->n, 16);
    ck_assert_int_ge(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, g->name), 0);
    /* w_bits: present for planned layers only */
    hid_t ft = H5Dget_type(ds);
    int m = H5Tget_member_index(ft, "w_bits");
    g->wcount = 0;
    g->wbits = NULL;
    if (m >= 0) {
        hid_t mt = H5Tget_member_type(ft, (unsigned)m);
        hsize_t dim;
        H5Tget_array_dims2(mt, &dim);
        g->wcount = (int)dim;
        hid_t arr = H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &dim);
        hid_t wt = H5Tcreate(H5T_COMPOUND, dim * sizeof(double));
        H5Tinsert(wt, "w_bits", 0, arr);
        g->wbits = calloc((size_t)g->n * dim, sizeof(double));
        ck_assert_int_ge(H5Dread(ds, wt, H5S_ALL, H5S_ALL, H5P_DEFAULT, g->wbits), 0);
        H5Tclose(wt);
        H5Tclose(arr);
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Tclose(t);
    H5Tclose(s);
    H5Dclose(ds);
    *test_acc = h5read_f64_attr(f, "/", "test_acc");
    *file = f;
}

static void free_grid(grid_rows *g)
{
    for (int i = 0; i < g->n; i++)
        H5free_memory(g->name[i]);
    free(g->id);
    free(g->sev);
    free(g->cnt);
    free(g->acc);
    free(g->bitops);
    free(g->wbits);
}

START_TEST(test_grid_run)
{
    char *fp32[] = {"run", smoke, "--out", tmp, "--set", "experiment.name=fp", SMALL, NULL};
    int code = run(fp32);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(err_text, "grid 5/5: contrast"));
    grid_rows g;
    double test_acc;
    hid_t f;
    read_grid("fp", &g, &test_acc, &f);
    static const char *const names[] = {"clean", "gaussian_noise", "gaussian_noise", "contrast",
                                        "contrast"};
    static const int ids[] = {-1, 0, 0, 11, 11}, sevs[] = {0, 1, 3, 1, 3};
    ck_assert_int_eq(g.n, 5);
    double macs = (double)h5read_i64_attr(f, "/", "macs_per_sample");
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(g.name[i], names[i]);
        ck_assert_double_eq(g.id[i], ids[i]);
        ck_assert_double_eq(g.sev[i], sevs[i]);
        ck_assert_double_eq(g.cnt[i], 200);
        ck_assert(g.acc[i] >= 0 && g.acc[i] <= 1);
        ck_assert_double_eq(g.bitops[i], macs * 32 * 32);
    }
    ck_assert_int_eq(g.wcount, 0);
    /* the clean cell is the run's own test evaluation */
    ck_assert_double_eq(g.acc[0], test_acc);
    ck_assert_double_eq(h5read_f64_attr(f, "/eval/grid", "clean_acc"), test_acc);
    ck_assert(isnan(h5read_f64_attr(f, "/eval/grid", "mce")));
    ck_assert_double_eq_tol(h5read_f64_attr(f, "/eval/grid", "mean_corrupted_acc"),
                            (g.acc[1] + g.acc[2] + g.acc[3] + g.acc[4]) / 4, 1e-12);
    free_grid(&g);
    H5Fclose(f);

    /* W4A4 against the fp32 run: widths per cell, fewer BitOps, an mCE */
    char ref[300];
    snprintf(ref, sizeof ref, "eval.reference=%s/fp/run.h5", tmp);
    char *fixed[] = {"run", smoke, "--out", tmp, "--set", "experiment.name=w4", "--set",
                     "experiment.method=fixed", "--set", "quant.w_bits=4", "--set", "quant.a_bits=4",
                     "--set", ref, SMALL, NULL};
    code = run(fixed);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    grid_rows q;
    read_grid("w4", &q, &test_acc, &f);
    ck_assert_int_eq(q.n, 5);
    ck_assert_double_eq(q.acc[0], test_acc);
    ck_assert_int_ge(q.wcount, 1);
    for (int i = 0; i < q.n * q.wcount; i++)
        ck_assert_double_eq(q.wbits[i], 4);
    ck_assert(q.bitops[0] < macs * 32 * 32 / 10);
    double mce = h5read_f64_attr(f, "/eval/grid", "mce");
    ck_assert_msg(isfinite(mce) && mce > 0.2 && mce < 5, "mCE %g", mce);
    char *why = h5read_str_attr(f, "/eval/grid", "reference_error");
    ck_assert_str_eq(why, "");
    free(why);
    why = h5read_str_attr(f, "/eval/grid", "rel_mce_skipped");
    ck_assert_ptr_nonnull(why);
    free(why);
    H5Fclose(f);

    /* qadapt eval from the checkpoint: the same cells, bit for bit */
    char run_file[300];
    snprintf(run_file, sizeof run_file, "%s/w4/run.h5", tmp);
    char *ev[] = {"eval", run_file, "--corruption", "contrast", "--severity", "3", NULL};
    code = run(ev);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "eval grid: accuracy % (2 cells)"));
    grid_rows e;
    double test_acc2;
    read_grid("w4", &e, &test_acc2, &f);
    ck_assert_int_eq(e.n, 2);
    ck_assert_str_eq(e.name[1], "contrast");
    ck_assert_double_eq(e.acc[0], q.acc[0]);
    ck_assert_double_eq(e.acc[1], q.acc[4]);
    ck_assert_double_eq(e.bitops[1], q.bitops[4]);
    ck_assert_double_eq(test_acc2, test_acc);
    char *status = h5read_str_attr(f, "/", "status");
    ck_assert_str_eq(status, "complete");
    free(status);
    H5Fclose(f);
    free_grid(&e);
    free_grid(&q);
}
END_TEST

/* A reference run file from elsewhere whose /eval/grid cells are not
 * integers (NaN, 1e300: an (int) of them was undefined behaviour). */
static void write_foreign_reference(const char *path)
{
    typedef struct {
        double id, sev, acc;
    } row;
    row rows[2] = {{NAN, 1, 0.5}, {1e300, 2, 0.5}};
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(row));
    H5Tinsert(t, "corruption_id", HOFFSET(row, id), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "severity", HOFFSET(row, sev), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "accuracy", HOFFSET(row, acc), H5T_NATIVE_DOUBLE);
    hsize_t n = 2;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(1, &n, NULL), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(f, "/eval/grid", t, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), 0);
    H5Dclose(d);
    H5Pclose(lcpl);
    H5Sclose(space);
    H5Fclose(f);
    H5Tclose(t);
}

START_TEST(test_grid_errors)
{
    /* a reference that cannot be read (a mistyped path) is refused before
     * training: it exited 0 with a note at the end */
    char *bad_ref[] = {"run", smoke, "--out", tmp, "--set", "experiment.name=r", "--set",
                       "eval.reference=/nonexistent.h5", SMALL, NULL};
    int code = run(bad_ref);
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, "eval.reference (--set eval.reference=/nonexistent.h5): "
                                   "/nonexistent.h5: cannot open"), "%s", err_text);
    ck_assert_ptr_null(strstr(err_text, "epoch 1/"));
    char *good[] = {"run", smoke, "--out", tmp, "--set", "experiment.name=r", SMALL, NULL};
    code = run(good);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    char path[300];
    snprintf(path, sizeof path, "%s/r/run.h5", tmp);
    /* a foreign reference with cells that are not integers: said, not
     * undefined, and the finished run is left as it was */
    char foreign[300], set_ref[400];
    snprintf(foreign, sizeof foreign, "%s/foreign.h5", tmp);
    write_foreign_reference(foreign);
    snprintf(set_ref, sizeof set_ref, "eval.reference=%s", foreign);
    long n_before, n_after;
    char *before = run_bin_read_file(path, &n_before);
    char *ev_ref[] = {"eval", path, "--set", set_ref, NULL};
    code = run(ev_ref);
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, "/eval/grid row 0: corruption id nan, severity 1 are not a "
                                   "grid cell's"), "%s", err_text);
    char *after = run_bin_read_file(path, &n_after);
    ck_assert(n_before == n_after && memcmp(before, after, (size_t)n_before) == 0);
    free(before);
    free(after);
    /* an HDF5 file without a grid (the run's checkpoint) is no reference either */
    snprintf(set_ref, sizeof set_ref, "eval.reference=%s/r/ckpt.h5", tmp);
    char *no_grid[] = {"eval", path, "--set", set_ref, NULL};
    ck_assert_int_eq(run(no_grid), 1);
    ck_assert_msg(strstr(err_text, "no /eval/grid table"), "%s", err_text);
    /* eval needs the checkpoint */
    char ckpt[300];
    snprintf(ckpt, sizeof ckpt, "%s/r/ckpt.h5", tmp);
    ck_assert_int_eq(unlink(ckpt), 0);
    char *ev[] = {"eval", path, NULL};
    ck_assert_int_eq(run(ev), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "ckpt.h5"));
    char *bad_corr[] = {"eval", path, "--corruption", "rain", NULL};
    ck_assert_int_eq(run(bad_corr), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "--set eval.grid_corruptions=rain"));
    char *none[] = {"eval", NULL};
    ck_assert_int_eq(run(none), 2);
    char *missing[] = {"eval", "/nonexistent.h5", NULL};
    ck_assert_int_eq(run(missing), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "/nonexistent.h5: cannot open"));
    char *help[] = {"eval", "--help", NULL};
    ck_assert_int_eq(run(help), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "usage: qadapt eval RUN.h5"));
    /* report's help says what the sweep table pivots: the first axis against
     * the combinations of the others */
    char *rep_help[] = {"report", "--help", NULL};
    ck_assert_int_eq(run(rep_help), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "first axis down and the combinations"));
    ck_assert_ptr_null(strstr(out_text, "first two axes"));
}
END_TEST

/* The whole file, to tell whether a command left it as it was. */
static char *slurp_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    ck_assert_int_gt(len, 0);
    rewind(f);
    char *buf = malloc((size_t)len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)len, f), len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void assert_unchanged(const char *path, const char *before, size_t n)
{
    size_t m;
    char *now = slurp_file(path, &m);
    ck_assert_msg(m == n && memcmp(now, before, n) == 0, "%s was rewritten", path);
    free(now);
    char part[320];
    snprintf(part, sizeof part, "%s.part", path);
    ck_assert_msg(access(part, F_OK) != 0, "%s left behind", part);
}

/* A failed, refused or interrupted qadapt eval leaves the finished run's
 * file byte for byte as it was (no status "failed", same grid and times). */
START_TEST(test_eval_keeps_run)
{
    char out_a[128], run_file[300];
    snprintf(out_a, sizeof out_a, "%s/a", tmp);
    char *fp32[] = {"run", smoke, "--out", out_a, "--set", "experiment.name=k", SMALL, NULL};
    int code = run(fp32);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    snprintf(run_file, sizeof run_file, "%s/k/run.h5", out_a);
    size_t n;
    char *before = slurp_file(run_file, &n);

    /* training keys are not eval's */
    char *train[] = {"eval", run_file, "--set", "train.epochs=2", NULL};
    ck_assert_int_eq(run(train), 2);
    ck_assert_ptr_nonnull(strstr(err_text, "--set train.epochs=2: qadapt eval takes [eval] keys"));
    assert_unchanged(run_file, before, n);

    /* a corruption that is not implemented: refused before anything runs */
    char *snow[] = {"eval", run_file, "--corruption", "snow", NULL};
    ck_assert_int_eq(run(snow), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "snow is not implemented"));
    assert_unchanged(run_file, before, n);

    /* a checkpoint or another HDF5 file is not a run file: eval and report say so */
    char ckpt[300], empty[300];
    snprintf(ckpt, sizeof ckpt, "%s/k/ckpt.h5", out_a);
    char *ev_ck[] = {"eval", ckpt, NULL}, *rep_ck[] = {"report", ckpt, NULL};
    ck_assert_int_eq(run(ev_ck), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "ckpt.h5: a checkpoint (format "));
    ck_assert_int_eq(run(rep_ck), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "ckpt.h5: a checkpoint (format "));
    ck_assert_ptr_null(strstr(out_text, "status"));
    assert_unchanged(run_file, before, n);
    snprintf(empty, sizeof empty, "%s/empty.h5", tmp);
    hid_t e = H5Fcreate(empty, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(e, 0);
    H5Fclose(e);
    char *rep_empty[] = {"report", empty, NULL};
    ck_assert_int_eq(run(rep_empty), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "empty.h5: not a qadapt run file (no status"));

    /* interrupted while the grid runs: after its first cell */
    char *grid_all[] = {"eval", run_file, "--corruption",
                        "gaussian_noise, shot_noise, impulse_noise, defocus_blur, glass_blur, "
                        "motion_blur, zoom_blur, fog, brightness, contrast, pixelate, "
                        "jpeg_compression",
                        "--severity", "1, 2, 3, 4, 5", NULL};
    int err_fd;
    pid_t pid = run_bin_spawn(tmp, grid_all, &err_fd);
    FILE *ef = fdopen(err_fd, "r");
    ck_assert_msg(run_bin_await_line(ef, "grid 1/", NULL), "eval ended before its first grid cell");
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    err_text[fread(err_text, 1, sizeof err_text - 1, ef)] = '\0';
    fclose(ef);
    int waited = run_bin_wait_exit(pid, tmp, out_text, sizeof out_text);
    ck_assert_msg(waited == 130, "eval interrupted: exit %d: %s", waited, err_text);
    assert_unchanged(run_file, before, n);

    /* a checkpoint short of train.epochs: refused, nothing trained */
    char out_b[128], run_b[300], ckpt_a[300], ckpt_b[300], cmd[800];
    snprintf(out_b, sizeof out_b, "%s/b", tmp);
    char *two[] = {"run", smoke, "--out", out_b, "--set", "experiment.name=k", SMALL,
                   "--set", "train.epochs=2", NULL};
    code = run(two);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    snprintf(run_b, sizeof run_b, "%s/k/run.h5", out_b);
    snprintf(ckpt_a, sizeof ckpt_a, "%s/k/ckpt.h5", out_a);
    snprintf(ckpt_b, sizeof ckpt_b, "%s/k/ckpt.h5", out_b);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", ckpt_a, ckpt_b);
    ck_assert_int_eq(system(cmd), 0);
    size_t nb;
    char *before_b = slurp_file(run_b, &nb);
    char *short_ck[] = {"eval", run_b, NULL};
    ck_assert_int_eq(run(short_ck), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "the run is not finished"));
    assert_unchanged(run_b, before_b, nb);
    free(before_b);

    /* a run folder not named after experiment.name: evaluated where it is */
    snprintf(cmd, sizeof cmd, "cp -r '%s/k' '%s/moved'", out_a, tmp);
    ck_assert_int_eq(system(cmd), 0);
    char *moved[] = {"eval", NULL, "--corruption", "contrast", "--severity", "1", NULL};
    char moved_file[300];
    snprintf(moved_file, sizeof moved_file, "%s/moved/run.h5", tmp);
    moved[1] = moved_file;
    code = run(moved);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    grid_rows g;
    double test_acc;
    hid_t f;
    read_grid("moved", &g, &test_acc, &f);
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(g.name[1], "contrast");
    free_grid(&g);
    H5Fclose(f);
    assert_unchanged(run_file, before, n);
    free(before);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("grid");
    TCase *tc = tcase_create("mce");
    tcase_add_test(tc, test_mce_known);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("qadapt");
    tcase_add_checked_fixture(te, setup, teardown);
    tcase_set_timeout(te, 300);
    tcase_add_test(te, test_grid_run);
    tcase_add_test(te, test_grid_errors);
    tcase_add_test(te, test_eval_keeps_run);
    suite_add_tcase(s, te);
    return s;
}
