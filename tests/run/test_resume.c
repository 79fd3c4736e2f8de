/* test_resume.c: checkpoints and `qadapt run --resume` through the real
 * binary (QADAPT_BIN) on configs/smoke.ini. A run killed with SIGKILL in
 * epoch 2 and resumed (at another thread count) must end bit for bit like
 * an uninterrupted run with the same seed: every value of /train/epochs but
 * the timing columns, the final parameters, buffers and optimizer state (the
 * last checkpoint), for fp32, for method fixed (quantizer steps), for method
 * metamix killed in either phase (its architecture logits and /train/arch
 * too) and for method blockrep (its per-model table; a changed teacher
 * refused). Also: SIGTERM then resume, a resume refused for a changed key
 * (the run file left as it was), more epochs on resume,
 * corrupt/truncated/missing checkpoints, --help-config. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "h5read.h"
#include "run_bin.h"

static char tmp[64], smoke[1024];
static char out_text[1 << 17], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("resume", tmp, sizeof tmp, smoke, sizeof smoke);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

/* Runs qadapt to the end: its exit code, output in out_text/err_text. */
static int run(char *const args[])
{
    return run_bin(tmp, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

/* "run CONFIG --out DIR [extra...]" (+ "--resume" at 1 thread) into argv
 * (static storage). configs/smoke.ini runs at 2 threads: a resume at 1
 * must still end like the uninterrupted run (the sums' split is fixed by
 * [experiment] shares, not by the threads). */
static char **args_for(const char *dir, char *const extra[], int resume)
{
    static char *argv[40];
    int n = 0;
    argv[n++] = "run";
    argv[n++] = smoke;
    argv[n++] = "--out";
    argv[n++] = (char *)dir;
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    if (resume) {
        argv[n++] = "--set";
        argv[n++] = "experiment.threads=1";
        argv[n++] = "--resume";
    }
    argv[n] = NULL;
    return argv;
}

/* Starts the run, waits for the line ending `epoch` (the checkpoint of that
 * epoch is written before it: the progress line is the signal, not a
 * guess of how long an epoch takes), lets the next epoch run for delay_ms
 * (0: none) and sends sig. Returns the wait status; *seen_next says whether
 * the next epoch's line came before the signal. */
static int run_signalled(char **argv, int epoch, int sig, int delay_ms, int *seen_next)
{
    int err_fd;
    pid_t pid = run_bin_spawn(tmp, argv, &err_fd);
    FILE *e = fdopen(err_fd, "r");
    char line[512], want[32], next[32];
    snprintf(want, sizeof want, "epoch %d/", epoch);
    snprintf(next, sizeof next, "epoch %d/", epoch + 1);
    ck_assert_msg(run_bin_await_line(e, want, "train loss"), "no '%s' line before the end", want);
    struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
    if (delay_ms > 0)
        nanosleep(&ts, NULL);
    kill(pid, sig);
    *seen_next = run_bin_await_line(e, next, "train loss");
    while (fgets(line, sizeof line, e))
        ;
    fclose(e);
    return run_bin_reap(pid, tmp, out_text, sizeof out_text);
}

static int64_t i64_attr(const char *path, const char *obj, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot open %s", path);
    int64_t v = h5read_i64_attr(f, obj, name);
    H5Fclose(f);
    return v;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int table_rows(hid_t f, const char *path)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s missing", path);
    hid_t sp = H5Dget_space(d);
    int n = (int)H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    H5Dclose(d);
    return n;
}

/* Every row of table path in a and b equal bit for bit in every column but
 * the timing ones; returns the values compared. */
static long same_rows(hid_t a, hid_t b, const char *path, int nrows)
{
    static const char *const timing[] = {"img_per_s", "seconds", "elapsed"};
    static const char suffix[] = "_seconds"; /* methods' own timing columns */
    hid_t da = H5Dopen2(a, path, H5P_DEFAULT), db = H5Dopen2(b, path, H5P_DEFAULT);
    ck_assert_msg(da >= 0 && db >= 0, "%s missing", path);
    hid_t ta = H5Dget_type(da), tb = H5Dget_type(db);
    ck_assert_msg(H5Tequal(ta, tb) > 0, "%s: the column types differ", path);
    hid_t sa = H5Dget_space(da), sb = H5Dget_space(db);
    ck_assert_int_eq(H5Sget_simple_extent_npoints(sa), nrows);
    ck_assert_int_eq(H5Sget_simple_extent_npoints(sb), nrows);
    size_t size = H5Tget_size(ta);
    unsigned char *ra = malloc(size * (size_t)nrows), *rb = malloc(size * (size_t)nrows);
    ck_assert_int_ge(H5Dread(da, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, ra), 0);
    ck_assert_int_ge(H5Dread(db, tb, H5S_ALL, H5S_ALL, H5P_DEFAULT, rb), 0);
    long compared = 0;
    int nm = H5Tget_nmembers(ta);
    for (int m = 0; m < nm; m++) {
        char *name = H5Tget_member_name(ta, (unsigned)m);
        int skip = 0;
        for (size_t k = 0; k < sizeof timing / sizeof timing[0]; k++)
            skip |= strcmp(name, timing[k]) == 0;
        size_t len = strlen(name);
        skip |= len >= sizeof suffix - 1 && strcmp(name + len - (sizeof suffix - 1), suffix) == 0;
        hid_t mt = H5Tget_member_type(ta, (unsigned)m);
        size_t off = H5Tget_member_offset(ta, (unsigned)m), msize = H5Tget_size(mt);
        for (int r = 0; !skip && r < nrows; r++) {
            ck_assert_msg(memcmp(ra + (size_t)r * size + off, rb + (size_t)r * size + off, msize) == 0,
                          "%s row %d column %s differs", path, r + 1, name);
            compared += (long)(msize / 8);
        }
        H5Tclose(mt);
        H5free_memory(name);
    }
    free(ra);
    free(rb);
    H5Sclose(sa);
    H5Sclose(sb);
    H5Tclose(ta);
    H5Tclose(tb);
    H5Dclose(da);
    H5Dclose(db);
    return compared;
}

/* Dataset path of a and b: same size, same bytes; returns the element count. */
static long same_dataset(hid_t a, hid_t b, const char *path)
{
    hid_t da = H5Dopen2(a, path, H5P_DEFAULT), db = H5Dopen2(b, path, H5P_DEFAULT);
    ck_assert_msg(da >= 0 && db >= 0, "%s missing", path);
    hid_t sa = H5Dget_space(da), sb = H5Dget_space(db), t = H5Dget_type(da);
    hssize_t n = H5Sget_simple_extent_npoints(sa);
    ck_assert_int_eq(n, H5Sget_simple_extent_npoints(sb));
    size_t bytes = (size_t)n * H5Tget_size(t);
    unsigned char *va = malloc(bytes + 1), *vb = malloc(bytes + 1);
    if (n > 0) {
        ck_assert_int_ge(H5Dread(da, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, va), 0);
        ck_assert_int_ge(H5Dread(db, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb), 0);
        ck_assert_msg(memcmp(va, vb, bytes) == 0, "%s differs", path);
    }
    free(va);
    free(vb);
    H5Tclose(t);
    H5Sclose(sa);
    H5Sclose(sb);
    H5Dclose(da);
    H5Dclose(db);
    return (long)n;
}

/* The final checkpoints of two runs: every parameter set's values,
 * buffers, optimizer moments and step count identical. */
static long same_state(const char *pa, const char *pb)
{
    hid_t a = H5Fopen(pa, H5F_ACC_RDONLY, H5P_DEFAULT), b = H5Fopen(pb, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(a >= 0 && b >= 0, "cannot open %s or %s", pa, pb);
    ck_assert_int_eq(h5read_i64_attr(a, "/", "step"), h5read_i64_attr(b, "/", "step"));
    hid_t g = H5Gopen2(a, "/sets", H5P_DEFAULT);
    H5G_info_t info;
    ck_assert_int_ge(H5Gget_info(g, &info), 0);
    ck_assert_int_ge(info.nlinks, 1);
    long n = 0;
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[64], path[128];
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        snprintf(path, sizeof path, "/sets/%s", name);
        ck_assert_int_eq(h5read_i64_attr(a, path, "t"), h5read_i64_attr(b, path, "t"));
        static const char *const parts[] = {"w", "buf", "m", "v"};
        for (size_t k = 0; k < 4; k++) {
            char dpath[160];
            snprintf(dpath, sizeof dpath, "%s/%s", path, parts[k]);
            if (H5Lexists(a, dpath, H5P_DEFAULT) > 0 || k < 3)
                n += same_dataset(a, b, dpath);
        }
    }
    H5Gclose(g);
    H5Fclose(a);
    H5Fclose(b);
    return n;
}

/* The uninterrupted run of extra in tmp/a. */
static void reference_run(char *const extra[])
{
    char dir_a[128];
    snprintf(dir_a, sizeof dir_a, "%s/a", tmp);
    int code = run(args_for(dir_a, extra, 0));
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
}

/* After reference_run: a run in tmp/b<kill> killed with SIGKILL at the
 * start of epoch kill + 1 (as soon as epoch kill's line is out), resumed;
 * it must end identical to tmp/a (every table the run file has, the final
 * state). */
static void kill_resume_at(char *const extra[], int min_quant_views, int epochs, int kill)
{
    char dir_a[128], dir_b[128], path[256], part[300], ck[256], line[64];
    snprintf(dir_a, sizeof dir_a, "%s/a", tmp);
    snprintf(dir_b, sizeof dir_b, "%s/b%d", tmp, kill);
    int code;

    int seen_next = 0;
    int st = run_signalled(args_for(dir_b, extra, 0), kill, SIGKILL, 0, &seen_next);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "not killed: status %d", st);
    ck_assert_msg(!seen_next, "epoch %d ended before the kill: the test did not stop it mid-epoch",
                  kill + 1);
    snprintf(path, sizeof path, "%s/smoke/run.h5", dir_b);
    snprintf(part, sizeof part, "%s.part", path);
    snprintf(ck, sizeof ck, "%s/smoke/ckpt.h5", dir_b);
    ck_assert(!exists(path) && exists(part));
    ck_assert_int_eq(i64_attr(ck, "/", "epochs"), kill);

    code = run(args_for(dir_b, extra, 1));
    ck_assert_msg(code == 0, "resume: exit %d: %s", code, err_text);
    snprintf(line, sizeof line, "resuming after epoch %d of %d from ", kill, epochs);
    ck_assert_ptr_nonnull(strstr(err_text, line));
    snprintf(line, sizeof line, "epoch %d/%d  train loss", kill + 1, epochs);
    ck_assert_ptr_nonnull(strstr(err_text, line));
    snprintf(line, sizeof line, "epoch %d/%d  train loss", kill, epochs);
    ck_assert_ptr_null(strstr(err_text, line));
    ck_assert(exists(path) && !exists(part));

    char pa[256], ca[256];
    snprintf(pa, sizeof pa, "%s/smoke/run.h5", dir_a);
    snprintf(ca, sizeof ca, "%s/smoke/ckpt.h5", dir_a);
    hid_t fa = H5Fopen(pa, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(fa >= 0 && fb >= 0);
    long values = same_rows(fa, fb, "/train/epochs", epochs);
    ck_assert_int_ge(values, epochs * 7); /* epoch, step, train/test loss/acc, lr */
    if (H5Lexists(fa, "/train/arch", H5P_DEFAULT) > 0) /* method metamix's */
        same_rows(fa, fb, "/train/arch", table_rows(fa, "/train/arch"));
    char *status = h5read_str_attr(fb, "/", "status");
    ck_assert_str_eq(status, "complete");
    free(status);
    ck_assert_int_eq(h5read_i64_attr(fb, "/", "resumed_after_epoch"), kill);
    ck_assert_int_eq(h5read_i64_attr(fb, "/", "epochs_completed"), epochs);
    double acc_a = h5read_f64_attr(fa, "/", "test_acc"), acc_b = h5read_f64_attr(fb, "/", "test_acc");
    ck_assert_int_eq(memcmp(&acc_a, &acc_b, sizeof acc_a), 0);
    if (min_quant_views > 0) { /* the quantized method's tables came through too */
        int n;
        double *wb = h5read_column(fb, "/train/epochs", "bitops", &n);
        ck_assert_ptr_nonnull(wb);
        ck_assert_int_eq(n, epochs);
        free(wb);
        same_rows(fa, fb, "/quant/layers", table_rows(fa, "/quant/layers"));
    }
    if (H5Lexists(fa, "/train/blockrep", H5P_DEFAULT) > 0) /* method blockrep's models */
        ck_assert_int_ge(same_rows(fa, fb, "/train/blockrep", table_rows(fa, "/train/blockrep")),
                         2 * 5 * 6);
    H5Fclose(fa);
    H5Fclose(fb);
    ck_assert_int_gt(same_state(ca, ck), 10000);
    if (min_quant_views > 0) { /* quantizer steps are among the compared values */
        hid_t f = H5Fopen(ck, H5F_ACC_RDONLY, H5P_DEFAULT);
        char *views = h5read_str_attr(f, "/sets/net", "views");
        int steps = 0;
        for (const char *p = views; (p = strstr(p, "_step.b")) != NULL; p++)
            steps++;
        ck_assert_int_ge(steps, min_quant_views);
        free(views);
        H5Fclose(f);
    }
}

static void kill_resume_compare(char *const extra[], int min_quant_views)
{
    reference_run(extra);
    kill_resume_at(extra, min_quant_views, 2, 1);
}

/* 1000 images (16 steps of 64 an epoch) and 300 test images: the kill
 * comes at an epoch's first step whatever the machine's speed */
START_TEST(test_kill9_resume_fp32)
{
    char *extra[] = {"--set", "data.limit=1000", "--set", "data.test_limit=300", NULL};
    kill_resume_compare(extra, 0);
}
END_TEST

START_TEST(test_kill9_resume_fixed)
{
    char *extra[] = {"--set", "experiment.method=fixed", "--set", "quant.w_bits=4", "--set",
                     "quant.a_bits=4", "--set", "data.limit=1000", "--set", "data.test_limit=300",
                     NULL};
    kill_resume_compare(extra, 4);
}
END_TEST

/* method metamix (search 2 epochs, weight training 1): killed in the
 * search, and in weight training, both against one uninterrupted run */
START_TEST(test_kill9_resume_metamix)
{
    char *extra[] = {"--set", "experiment.method=metamix", "--set", "train.epochs=3", "--set",
                     "metamix.finetune=1", "--set", "metamix.target=0.3", "--set",
                     "metamix.probe=64", "--set", "data.limit=1000", "--set",
                     "data.test_limit=300", NULL};
    reference_run(extra);
    kill_resume_at(extra, 4, 3, 1);
    kill_resume_at(extra, 4, 3, 2);
}
END_TEST

/* Small and quick: the paths that do not compare whole runs. */
static char *quick[] = {"--set", "data.limit=640", "--set", "data.test_limit=200", "--set",
                        "train.epochs=1", NULL};

static char **quick_with(const char *extra1, const char *extra2)
{
    static char *argv[16];
    int n = 0;
    for (; quick[n]; n++)
        argv[n] = quick[n];
    if (strstr(extra1 ? extra1 : "", "epochs")) /* replaces train.epochs=1 */
        n -= 2;
    if (extra1) {
        argv[n++] = "--set";
        argv[n++] = (char *)extra1;
    }
    if (extra2) {
        argv[n++] = "--set";
        argv[n++] = (char *)extra2;
    }
    argv[n] = NULL;
    return argv;
}

static void write_all(const char *path, const char *buf, long n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
}

/* Resume with args; must fail with exit 1 and the fragments in stderr,
 * leaving the run file byte for byte as it was. */
static void expect_refused(char **argv, const char *run_path, const char *f1, const char *f2)
{
    long n0, n1;
    char *before = run_bin_read_file(run_path, &n0);
    int code = run(argv);
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_msg(strstr(err_text, f1) && (!f2 || strstr(err_text, f2)), "%s", err_text);
    char *after = run_bin_read_file(run_path, &n1);
    ck_assert_msg(n0 == n1 && memcmp(before, after, (size_t)n0) == 0, "%s was changed", run_path);
    free(before);
    free(after);
}

/* An fp32 teacher for method blockrep in tmp/teacher: its run file into t
 * and the --set arguments of a blockrep run against it into argv (from
 * its weights, one model a step drawn at random, a KL term, W2A2). */
static char **blockrep_args(int seed, char *t, size_t n)
{
    static char set_t[300], set_p[300], set_s[64];
    static char *argv[] = {"--set", "experiment.method=blockrep", "--set", set_t, "--set", set_p,
                           "--set", "blockrep.models=1", "--set", "blockrep.kl_weight=0.5",
                           "--set", "quant.w_bits=2", "--set", "quant.a_bits=2", "--set",
                           "data.limit=1000", "--set", "data.test_limit=300", "--set",
                           "data.normalize=none", NULL};
    char dir[128];
    snprintf(dir, sizeof dir, "%s/teacher", tmp);
    snprintf(set_s, sizeof set_s, "experiment.seed=%d", seed);
    char *targs[] = {"run", smoke, "--out", dir, "--set", "train.epochs=1", "--set",
                     "data.limit=1000", "--set", "data.normalize=none", "--set", set_s, NULL};
    int code = run(targs);
    ck_assert_msg(code == 0, "teacher: exit %d: %s", code, err_text);
    snprintf(t, n, "%s/smoke/run.h5", dir);
    snprintf(set_t, sizeof set_t, "blockrep.teacher=%s", t);
    snprintf(set_p, sizeof set_p, "model.pretrained=%s", t);
    return argv;
}

/* blockrep: kill -9 in epoch 2 and resume end as the uninterrupted run
 * (its /train/blockrep included); a teacher retrained meanwhile is refused. */
START_TEST(test_kill9_resume_blockrep)
{
    char t[256], path[256];
    char **extra = blockrep_args(1, t, sizeof t);
    kill_resume_compare(extra, 4);
    blockrep_args(2, t, sizeof t);
    snprintf(path, sizeof path, "%s/b1/smoke/run.h5", tmp);
    char b[128];
    snprintf(b, sizeof b, "%s/b1", tmp);
    char **argv = args_for(b, extra, 1);
    int n = 0;
    while (argv[n])
        n++;
    argv[n - 1] = "--set";
    argv[n] = "train.epochs=3";
    argv[n + 1] = "--resume";
    argv[n + 2] = NULL;
    expect_refused(argv, path, "resume refused: the teacher", "holds other weights");
}
END_TEST

START_TEST(test_resume_config_rules)
{
    char path[256], ck[256];
    snprintf(path, sizeof path, "%s/smoke/run.h5", tmp);
    snprintf(ck, sizeof ck, "%s/smoke/ckpt.h5", tmp);
    int code = run(args_for(tmp, quick_with(NULL, NULL), 0));
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_int_eq(i64_attr(ck, "/", "epochs"), 1);

    expect_refused(args_for(tmp, quick_with("train.lr=0.1", NULL), 1), path,
                   "resume refused: train.lr is '0.1' (--set train.lr=0.1) but the checkpoint",
                   "was written with '0.05'; only train.epochs, experiment.threads and the "
                   "out dir may change");
    expect_refused(args_for(tmp, quick_with("experiment.method=fixed", NULL), 1), path,
                   "resume refused: experiment.method is 'fixed'", NULL);
    expect_refused(args_for(tmp, quick_with("data.limit=700", NULL), 1), path,
                   "resume refused: data.limit is '700'", NULL);

    /* more epochs: only the new one is trained */
    code = run(args_for(tmp, quick_with("train.epochs=2", NULL), 1));
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(err_text, "resuming after epoch 1 of 2"));
    ck_assert_ptr_null(strstr(err_text, "epoch 1/2  train loss"));
    ck_assert_int_eq(i64_attr(path, "/", "epochs_completed"), 2);
    ck_assert_int_eq(i64_attr(ck, "/", "epochs"), 2);
    /* fewer epochs than the checkpoint has done */
    expect_refused(args_for(tmp, quick_with(NULL, NULL), 1), path,
                   "has 2 epochs done, more than train.epochs = 1", NULL);
    /* nothing left to do: the run file is rebuilt from the checkpoint, complete */
    code = run(args_for(tmp, quick_with("train.epochs=2", NULL), 1));
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int n;
    double *epoch = h5read_column(f, "/train/epochs", "epoch", &n);
    ck_assert_int_eq(n, 2);
    ck_assert_double_eq(epoch[1], 2);
    free(epoch);
    H5Fclose(f);

    /* another out dir: no checkpoint there */
    char other[128];
    snprintf(other, sizeof other, "%s/elsewhere", tmp);
    code = run(args_for(other, quick_with(NULL, NULL), 1));
    ck_assert_int_eq(code, 1);
    ck_assert_ptr_nonnull(strstr(err_text, "/elsewhere/smoke/ckpt.h5: no checkpoint to resume from"));
    ck_assert(!exists(other));
}
END_TEST

/* Byte offset of the first chunk of dataset dset in the file. */
static long data_offset(const char *file, const char *dset)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    ck_assert(f >= 0 && d >= 0);
    haddr_t addr = 0;
    hsize_t size = 0, first[1] = {0};
    ck_assert_int_ge(H5Dget_chunk_info_by_coord(d, first, NULL, &addr, &size), 0);
    H5Dclose(d);
    H5Fclose(f);
    return (long)(addr + size / 2);
}

/* Element 3 of the float dataset dset of file becomes NaN, written through
 * HDF5 so that its checksum is right. */
static void set_nan(const char *file, const char *dset)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    ck_assert(f >= 0 && d >= 0);
    hid_t sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    ck_assert_int_gt(n, 3);
    float *v = malloc((size_t)n * sizeof *v);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    v[3] = NAN;
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    free(v);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

START_TEST(test_corrupt_checkpoint)
{
    char path[256], ck[256];
    snprintf(path, sizeof path, "%s/smoke/run.h5", tmp);
    snprintf(ck, sizeof ck, "%s/smoke/ckpt.h5", tmp);
    int code = run(args_for(tmp, quick_with(NULL, NULL), 0));
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    long n;
    char *good = run_bin_read_file(ck, &n);
    char **resume = args_for(tmp, quick_with("train.epochs=2", NULL), 1);

    write_all(ck, good, n / 2); /* truncated */
    expect_refused(resume, path, "ckpt.h5: not a readable checkpoint (truncated or damaged)", NULL);

    char *bad = malloc((size_t)n); /* parameter values damaged */
    memcpy(bad, good, (size_t)n);
    write_all(ck, good, n);
    long at = data_offset(ck, "/sets/net/w");
    for (long i = 0; i < 16; i++)
        bad[at + i] ^= 0x5a;
    write_all(ck, bad, n);
    expect_refused(resume, path, "cannot read /sets/net/w (damaged checkpoint)", NULL);
    free(bad);

    write_all(ck, "[train]\nepochs = 2\n", 19); /* not HDF5 at all */
    expect_refused(resume, path, "not a readable checkpoint", NULL);

    write_all(ck, good, n); /* a NaN in the batch-norm statistics, checksums right */
    set_nan(ck, "/sets/net/buf");
    expect_refused(resume, path, "/sets/net/buf holds nan at index 3 (damaged or edited", NULL);

    write_all(ck, good, n); /* intact again: the same resume goes through */
    code = run(resume);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_int_eq(i64_attr(path, "/", "epochs_completed"), 2);
    free(good);
}
END_TEST

/* SIGTERM stops cleanly (exit 130, status interrupted, the epochs done);
 * --resume then completes the run. */
START_TEST(test_sigterm_then_resume)
{
    char path[256];
    snprintf(path, sizeof path, "%s/smoke/run.h5", tmp);
    char **argv = args_for(tmp, quick_with("train.epochs=3", NULL), 0);
    int seen_next = 0;
    int st = run_signalled(argv, 1, SIGTERM, 50, &seen_next);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d", st);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "no complete run file after SIGTERM");
    char *status = h5read_str_attr(f, "/", "status");
    ck_assert_str_eq(status, "interrupted");
    free(status);
    int done = (int)h5read_i64_attr(f, "/", "epochs_completed");
    H5Fclose(f);
    ck_assert(done >= 1 && done < 3);

    int code = run(args_for(tmp, quick_with("train.epochs=3", NULL), 1));
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int n;
    double *epoch = h5read_column(f, "/train/epochs", "epoch", &n);
    ck_assert_int_eq(n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq(epoch[i], i + 1);
    free(epoch);
    ck_assert_int_eq(h5read_i64_attr(f, "/", "resumed_after_epoch"), done);
    H5Fclose(f);
}
END_TEST

START_TEST(test_help)
{
    char *a1[] = {"run", "--help-config", NULL};
    ck_assert_int_eq(run(a1), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "[train]  optimizer and schedule\n  epochs = 10\n"));
    ck_assert_ptr_nonnull(strstr(out_text, "[experiment]"));
    ck_assert_ptr_nonnull(strstr(out_text, "[quant]"));
    char *a2[] = {"run", "--help", NULL};
    ck_assert_int_eq(run(a2), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "--resume"));
    ck_assert_ptr_nonnull(strstr(out_text, "--help-config"));
    ck_assert_ptr_nonnull(strstr(out_text, "include = base.ini"));
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("resume");
    TCase *tc = tcase_create("qadapt");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* metamix's case is five 3-epoch runs: over 300 s under ASan at load 12 */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_kill9_resume_fp32);
    tcase_add_test(tc, test_kill9_resume_fixed);
    tcase_add_test(tc, test_kill9_resume_metamix);
    tcase_add_test(tc, test_kill9_resume_blockrep);
    tcase_add_test(tc, test_resume_config_rules);
    tcase_add_test(tc, test_corrupt_checkpoint);
    tcase_add_test(tc, test_sigterm_then_resume);
    tcase_add_test(tc, test_help);
    suite_add_tcase(s, tc);
    return s;
}
