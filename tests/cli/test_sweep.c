/* test_sweep.c: [sweep] parsing, points, hashes and the index in process;
 * then the real qadapt binary (QADAPT_BIN) sweeping configs/smoke.ini
 * (one epoch on 1000 images per point): four points, a rerun that runs
 * none, a deleted run file rerun alone, a failing point retried once,
 * Ctrl-C stopping the children cleanly, and qadapt report on both. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "experiments/cli/report.h"
#include "experiments/cli/sweep.h"
#include "h5read.h"
#include "run_bin.h"

static char tmp[64], smoke[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("sweep", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* tmp/name: the smoke config included, then text. */
static void write_config(char *path, size_t n, const char *name, const char *text)
{
    char body[4096];
    snprintf(path, n, "%s/%s", tmp, name);
    snprintf(body, sizeof body, "include = %s\n\n%s", smoke, text);
    write_text(path, body);
}

static exp_sweep_spec *parse_ok(const char *text)
{
    char path[256];
    write_config(path, sizeof path, "s.ini", text);
    exp_sweep_spec *s = malloc(sizeof *s);
    qa_err err = {0};
    int rc = exp_sweep_parse(s, path, &err);
    ck_assert_msg(rc == QA_OK, "%s", err.msg);
    return s;
}

static void parse_fails(const char *text, const char *want)
{
    char path[256], full[512];
    write_config(path, sizeof path, "bad.ini", text);
    exp_sweep_spec *s = malloc(sizeof *s);
    qa_err err = {0};
    ck_assert_int_eq(exp_sweep_parse(s, path, &err), QA_ERR_CONFIG);
    snprintf(full, sizeof full, "%s%s", path, want);
    ck_assert_msg(strstr(err.msg, full), "'%s' not in: %s", full, err.msg);
    free(s);
}

START_TEST(test_parse_product)
{
    exp_sweep_spec *s = parse_ok("[train]\nepochs = 1\n\n[sweep]\n; a comment\n"
                                 "train.lr = 0.1, 0.05 ; inline\n"
                                 "quant.layer_bits = 4,4 | 2:4,8\n"
                                 "model.arch = small,resnet20, mobilenetv2_tiny\n");
    ck_assert_int_eq(s->line, 6);
    ck_assert_int_eq(s->naxes, 3);
    ck_assert_int_eq(s->npoints, 12);
    ck_assert_str_eq(s->axes[0].values[1], "0.05");
    ck_assert_str_eq(s->axes[1].values[0], "4,4");
    ck_assert_str_eq(s->axes[1].values[1], "2:4,8");
    ck_assert_int_eq(s->axes[2].line, 10);
    /* the first axis varies slowest */
    char sets[EXP_SWEEP_MAX_AXES][EXP_SWEEP_VALUE_LEN + 128];
    int v[EXP_SWEEP_MAX_AXES];
    exp_sweep_point_sets(s, 0, sets, v);
    ck_assert_str_eq(sets[0], "train.lr=0.1");
    ck_assert_str_eq(sets[2], "model.arch=small");
    exp_sweep_point_sets(s, 1, sets, v);
    ck_assert_str_eq(sets[2], "model.arch=resnet20");
    exp_sweep_point_sets(s, 11, sets, v);
    ck_assert_str_eq(sets[0], "train.lr=0.05");
    ck_assert_str_eq(sets[1], "quant.layer_bits=2:4,8");
    ck_assert_str_eq(sets[2], "model.arch=mobilenetv2_tiny");
    ck_assert(v[0] == 1 && v[1] == 1 && v[2] == 2);
    free(s);
}
END_TEST

START_TEST(test_parse_zip)
{
    exp_sweep_spec *s = parse_ok("[sweep]\nquant.w_bits = 2, 4, 8\ntrain.lr = 0.1, 0.2\n"
                                 "quant.a_bits = 3, 5, 8\nzip = quant.w_bits, quant.a_bits\n");
    ck_assert_int_eq(s->ndims, 2);
    ck_assert_int_eq(s->npoints, 6);
    char sets[EXP_SWEEP_MAX_AXES][EXP_SWEEP_VALUE_LEN + 128];
    for (long p = 0; p < 6; p++) {
        exp_sweep_point_sets(s, p, sets, NULL);
        int w = atoi(strchr(sets[0], '=') + 1), a = atoi(strchr(sets[2], '=') + 1);
        ck_assert_msg((w == 2 && a == 3) || (w == 4 && a == 5) || (w == 8 && a == 8),
                      "point %ld: %s %s", p, sets[0], sets[2]);
    }
    exp_sweep_point_sets(s, 1, sets, NULL);
    ck_assert_str_eq(sets[1], "train.lr=0.2");
    ck_assert_str_eq(sets[0], "quant.w_bits=2");
    free(s);
    /* two groups */
    s = parse_ok("[sweep]\nquant.w_bits = 2, 4\nquant.a_bits = 2, 4\ntrain.lr = 1, 2, 3\n"
                 "train.epochs = 1, 2, 3\nzip = quant.w_bits, quant.a_bits | train.lr, "
                 "train.epochs\n");
    ck_assert_int_eq(s->npoints, 6);
    free(s);
    /* a config without [sweep] */
    s = parse_ok("[train]\nepochs = 1\n");
    ck_assert_int_eq(s->line, 0);
    ck_assert_int_eq(s->naxes, 0);
    free(s);
}
END_TEST

START_TEST(test_parse_errors)
{
    parse_fails("[sweep]\ntrain.lrr = 1, 2\n", ":4: [sweep] train.lrr: no key 'lrr' in [train]");
    parse_fails("[sweep]\nbogus.lr = 1\n", ":4: [sweep] bogus.lr: no key 'lr' in [bogus]");
    parse_fails("[sweep]\nlr = 1\n", ":4: [sweep] 'lr': expected section.key");
    parse_fails("[sweep]\nexperiment.name = a, b\n", ":4: [sweep] experiment.name cannot be an axis");
    parse_fails("[sweep]\ntrain.lr = 1,, 2\n", ":4: [sweep] train.lr: an empty value");
    parse_fails("[sweep]\ntrain.lr = 1\ntrain.lr = 2\n",
                ":5: [sweep] train.lr is set twice (first at line 4)");
    parse_fails("[sweep]\ntrain.lr = 1, 2\ntrain.batch = 1, 2, 3\nzip = train.lr, train.batch\n",
                ":6: [sweep] zip: train.batch has 3 values but train.lr has 2");
    parse_fails("[sweep]\ntrain.lr = 1, 2\nzip = train.lr, train.epochs\n",
                ":5: [sweep] zip: train.epochs is not an axis");
    parse_fails("[sweep]\ntrain.lr = 1, 2\nzip = train.lr\n",
                ":5: [sweep] zip: a group needs two axes");
    parse_fails("[sweep]\ntrain.lr\n", ":4: [sweep]: expected section.key = v1");
    parse_fails("[sweep]\n[train]\nepochs = 1\n[sweep]\n", ":6: [sweep] appears twice");
}
END_TEST

START_TEST(test_hash)
{
    const char *a = "[experiment]\nname = x\nseed = 1\nout_dir = runs\n\n[train]\nlr = 0.1\n";
    /* nor do the report's label and group */
    const char *b = "[experiment]\nname = y\nseed = 1\nout_dir = elsewhere\nthreads = 3\n"
                    "label = dqmq-oracle\ngroup = b3\n\n[train]\nlr = 0.1\n";
    const char *c = "[experiment]\nname = x\nseed = 1\nout_dir = runs\n\n[train]\nlr = 0.2\n";
    const char *d = "[experiment]\nname = x\nseed = 2\nout_dir = runs\n\n[train]\nlr = 0.1\n";
    /* name = in another section is part of what is run */
    const char *e = "[experiment]\nname = x\nseed = 1\nout_dir = runs\n\n[train]\nname = 1\nlr = 0.1\n";
    /* nor are the grid keys evaluated after training */
    const char *g = "[experiment]\nname = x\nseed = 1\nout_dir = runs\n\n[train]\nlr = 0.1\n\n"
                    "[eval]\nbatch = 0\ngrid = true\ngrid_severities = 1\nreference = a.h5\n";
    const char *g2 = "[experiment]\nname = x\nseed = 1\nout_dir = runs\n\n[train]\nlr = 0.1\n\n"
                     "[eval]\nbatch = 0\ngrid = false\ngrid_severities = 2\nreference = \n";
    const char *g3 = "[experiment]\nname = x\nseed = 1\nout_dir = runs\n\n[train]\nlr = 0.1\n\n"
                     "[eval]\nbatch = 1\ngrid = false\ngrid_severities = 2\nreference = \n";
    char hg[16], hg2[16], hg3[16];
    exp_sweep_hash_text(g, hg);
    exp_sweep_hash_text(g2, hg2);
    exp_sweep_hash_text(g3, hg3);
    ck_assert_str_eq(hg, hg2);
    ck_assert_str_ne(hg, hg3);
    char ha[16], hb[16], hc[16], hd[16], he[16];
    exp_sweep_hash_text(a, ha);
    exp_sweep_hash_text(b, hb);
    exp_sweep_hash_text(c, hc);
    exp_sweep_hash_text(d, hd);
    exp_sweep_hash_text(e, he);
    ck_assert_int_eq(strlen(ha), EXP_SWEEP_HASH_LEN);
    ck_assert_str_eq(ha, hb);
    ck_assert_str_ne(ha, hc);
    ck_assert_str_ne(ha, hd);
    ck_assert_str_ne(ha, he);
}
END_TEST

START_TEST(test_resolve)
{
    char path[256];
    write_config(path, sizeof path, "r.ini",
                 "[sweep]\ntrain.lr = 0.1, 0.100, 0.2\ntrain.batch = 32, 64\n");
    exp_sweep_spec *s = malloc(sizeof *s);
    qa_err err = {0};
    ck_assert_int_eq(exp_sweep_parse(s, path, &err), QA_OK);
    exp_sweep_point *pts = calloc((size_t)s->npoints, sizeof *pts);
    long n = 0;
    char *sets[] = {"train.epochs=1"};
    ck_assert_int_eq(exp_sweep_resolve(s, sets, 1, pts, &n, &err), QA_OK);
    ck_assert_int_eq(n, 4); /* 0.1 and 0.100 are one config */
    for (long i = 0; i < n; i++)
        for (long j = 0; j < i; j++)
            ck_assert_str_ne(pts[i].hash, pts[j].hash);
    ck_assert_int_eq(pts[2].value[0], 2);
    ck_assert_int_eq(pts[3].value[1], 1);
    /* the same point resolved again hashes the same */
    long n2 = 0;
    exp_sweep_point *again = calloc((size_t)s->npoints, sizeof *again);
    ck_assert_int_eq(exp_sweep_resolve(s, sets, 1, again, &n2, &err), QA_OK);
    ck_assert_str_eq(again[3].hash, pts[3].hash);
    /* an axis in --set */
    char *clash[] = {"train.lr=1"};
    ck_assert_int_eq(exp_sweep_resolve(s, clash, 1, pts, &n, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "--set train.lr=1: train.lr is an axis of the sweep"));
    free(s);
    free(pts);
    free(again);
    /* a bad value names the [sweep] line; a rule across keys names the point */
    s = malloc(sizeof *s);
    write_config(path, sizeof path, "r2.ini", "[sweep]\ntrain.epochs = 2, 1\ntrain.lr = x, 1\n");
    ck_assert_int_eq(exp_sweep_parse(s, path, &err), QA_OK);
    pts = calloc((size_t)s->npoints, sizeof *pts);
    ck_assert_int_eq(exp_sweep_resolve(s, NULL, 0, pts, &n, &err), QA_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, "r2.ini:5: [sweep] --set train.lr=x"), "%s", err.msg);
    write_config(path, sizeof path, "r3.ini", "[train]\nwarmup = 1\n[sweep]\ntrain.epochs = 2, 1\n");
    ck_assert_int_eq(exp_sweep_parse(s, path, &err), QA_OK);
    ck_assert_int_eq(exp_sweep_resolve(s, NULL, 0, pts, &n, &err), QA_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, "r3.ini:5: [sweep] point 2 (train.epochs=1)"), "%s", err.msg);
    free(s);
    free(pts);
}
END_TEST

START_TEST(test_csv)
{
    char f[8][256];
    ck_assert_int_eq(exp_csv_split("a,\"b,c\",,\"d \"\"q\"\"\",e\n", f, 8), 5);
    ck_assert_str_eq(f[0], "a");
    ck_assert_str_eq(f[1], "b,c");
    ck_assert_str_eq(f[2], "");
    ck_assert_str_eq(f[3], "d \"q\"");
    ck_assert_str_eq(f[4], "e");
    ck_assert_int_eq(exp_csv_split("x", f, 8), 1);
}
END_TEST

/* Runs qadapt to the end: its exit code, output in out_text/err_text. */
static int run(char *const args[])
{
    return run_bin(tmp, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int count_str(const char *text, const char *s)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, s)) != NULL; p += strlen(s))
        n++;
    return n;
}

/* hash and status of each row of dir/index.csv */
static void index_hashes(const char *dir, char hashes[][16], char status[][32], int *n)
{
    char path[300], line[4096], f[16][256];
    snprintf(path, sizeof path, "%s/index.csv", dir);
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_ptr_nonnull(strstr(line, ",status,test_acc,test_loss,bitops,seconds,grid_acc,mce,"
                                       "rel_mce,run"));
    int nf = exp_csv_split(line, f, 16), st = 0;
    while (st < nf && strcmp(f[st], "status") != 0)
        st++;
    *n = 0;
    while (fgets(line, sizeof line, fp)) {
        ck_assert_int_eq(exp_csv_split(line, f, 16), nf);
        snprintf(hashes[*n], 16, "%.15s", f[0]);
        snprintf(status[*n], 32, "%.31s", f[st]);
        (*n)++;
    }
    fclose(fp);
}

#define SMALL "--set", "train.epochs=1", "--set", "data.limit=1000", "--set", "data.test_limit=500"

START_TEST(test_sweep_e2e)
{
    char cfg[256], out[256], path[512];
    write_config(cfg, sizeof cfg, "sweep.ini", "[sweep]\ntrain.lr = 0.05, 0.1\ntrain.batch = 64, 128\n");
    snprintf(out, sizeof out, "%s/sw", tmp);
    char *args[] = {"sweep", cfg, "--out", out, "--jobs", "2", SMALL, NULL};
    int code = run(args);
    ck_assert_msg(code == 0, "exit %d: %s", code, err_text);
    ck_assert_int_eq(count_str(err_text, " complete in "), 4);
    ck_assert_ptr_nonnull(strstr(out_text, "points: 4, complete 4 (0 were already)"));
    char hashes[8][16], status[8][32];
    int n;
    index_hashes(out, hashes, status, &n);
    ck_assert_int_eq(n, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(status[i], "complete");
        snprintf(path, sizeof path, "%s/%s/run.h5", out, hashes[i]);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        ck_assert_msg(f >= 0, "%s", path);
        char *cfg_text = h5read_str_dataset(f, "/config");
        char h[16];
        exp_sweep_hash_text(cfg_text, h);
        ck_assert_str_eq(h, hashes[i]); /* the folder is the hash of the stored config */
        ck_assert_ptr_nonnull(strstr(cfg_text, i < 2 ? "lr = 0.05\n" : "lr = 0.1\n"));
        ck_assert_ptr_nonnull(strstr(cfg_text, i % 2 ? "batch = 128\n" : "batch = 64\n"));
        free(cfg_text);
        H5Fclose(f);
    }
    /* a rerun runs nothing */
    code = run(args);
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(count_str(err_text, " complete in "), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "complete 4 (4 were already)"));
    /* a deleted run file: exactly that point again */
    snprintf(path, sizeof path, "%s/%s/run.h5", out, hashes[2]);
    ck_assert_int_eq(unlink(path), 0);
    code = run(args);
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(count_str(err_text, " complete in "), 1);
    ck_assert_ptr_nonnull(strstr(err_text, hashes[2]));
    ck_assert_ptr_nonnull(strstr(out_text, "complete 4 (3 were already)"));
    snprintf(path, sizeof path, "%s/index.csv", out);
    ck_assert_int_eq(count_lines(path), 5);
    FILE *idx = fopen(path, "r");
    char head[512];
    ck_assert_ptr_nonnull(fgets(head, sizeof head, idx));
    fclose(idx);
    ck_assert_str_eq(head, "hash,train.lr,train.batch,status,test_acc,test_loss,bitops,seconds,"
                           "grid_acc,mce,rel_mce,run\n");

    /* reports */
    char *rep[] = {"report", out, NULL};
    ck_assert_int_eq(run(rep), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "points:  4, 4 complete, 2 axes"));
    ck_assert_ptr_nonnull(strstr(out_text, "test acc % by train.lr (rows) x train.batch (columns)"));
    ck_assert_ptr_nonnull(strstr(out_text, hashes[3]));
    snprintf(path, sizeof path, "%s/%s/run.h5", out, hashes[0]);
    char *rep2[] = {"report", path, NULL};
    ck_assert_int_eq(run(rep2), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "status:  complete, 1 epochs"));
    ck_assert_ptr_nonnull(strstr(out_text, "lr=0.05"));
    ck_assert_ptr_nonnull(strstr(out_text, "epoch  train_loss"));
    ck_assert_ptr_nonnull(strstr(out_text, "final:   test acc "));
    char *rep3[] = {"report", "/nonexistent.h5", NULL};
    ck_assert_int_eq(run(rep3), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "/nonexistent.h5: no such file"));

    /* qadapt run on a sweep config trains the base config and says so */
    char *r[] = {"run", cfg, "--out", out, SMALL, NULL};
    ck_assert_int_eq(run(r), 0);
    ck_assert_ptr_nonnull(strstr(err_text, "sweep.ini:3: [sweep] (2 axes, 4 points) is ignored"));
}
END_TEST

/* A point that cannot run is retried once, reported and does not stop the others. */
START_TEST(test_sweep_failure)
{
    char cfg[256], out[256], log[512], hashes[8][16], status[8][32];
    write_config(cfg, sizeof cfg, "fail.ini",
                 "[sweep]\ntrain.lr = 0.05\ndata.dir = /nonexistent, \n");
    snprintf(out, sizeof out, "%s/fail", tmp);
    char *bad[] = {"sweep", cfg, NULL};
    ck_assert_int_eq(run(bad), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "data.dir: an empty value"));
    write_config(cfg, sizeof cfg, "fail.ini",
                 "[sweep]\ntrain.batch = 64, 128\ndata.dir = /nonexistent, /nonexistent/\n"
                 "zip = train.batch, data.dir\n");
    char *args[] = {"sweep", cfg, "--out", out, SMALL, NULL};
    int code = run(args);
    ck_assert_msg(code == 1, "exit %d: %s", code, err_text);
    ck_assert_int_eq(count_str(err_text, "retrying once"), 2);
    ck_assert_ptr_nonnull(strstr(err_text, "2 of 2 points failed twice"));
    int n;
    index_hashes(out, hashes, status, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(status[0], "failed");
    snprintf(log, sizeof log, "%s/%s/log.txt", out, hashes[0]);
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    run_bin_slurp(fileno(f), out_text, sizeof out_text);
    fclose(f);
    ck_assert_int_eq(count_str(out_text, " attempt "), 2);
    ck_assert_ptr_nonnull(strstr(out_text, "/nonexistent/train-images-idx3-ubyte.gz"));
    char *usage[] = {"sweep", cfg, "--jobs", "0", NULL};
    ck_assert_int_eq(run(usage), 2);
    char *noaxes[] = {"sweep", smoke, NULL};
    ck_assert_int_eq(run(noaxes), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "has no [sweep] section"));
}
END_TEST

static int file_has(const char *path, const char *s)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char buf[1 << 16];
    run_bin_slurp(fileno(f), buf, sizeof buf);
    fclose(f);
    return strstr(buf, s) != NULL;
}

/* Ctrl-C on the sweep: both running points stop cleanly (interrupted run
 * files), the index says so, exit 130; a rerun starts them again. */
START_TEST(test_sweep_interrupt)
{
    char cfg[256], out[256], log[2][512], hashes[8][16], status[8][32];
    write_config(cfg, sizeof cfg, "long.ini", "[sweep]\ntrain.lr = 0.05, 0.1\n");
    snprintf(out, sizeof out, "%s/int", tmp);
    char *args[] = {"sweep", cfg, "--out", out, "--jobs", "2", "--set", "train.epochs=50",
                    "--set", "data.limit=1000", "--set", "data.test_limit=200", NULL};
    int err_fd;
    pid_t pid = run_bin_spawn(tmp, args, &err_fd);
    int n = 0;
    for (int tries = 0; tries < 600 && n < 2; tries++) {
        usleep(100000);
        char path[300];
        snprintf(path, sizeof path, "%s/index.csv", out);
        if (access(path, R_OK) != 0)
            continue;
        index_hashes(out, hashes, status, &n);
        for (int i = 0; i < n; i++)
            snprintf(log[i], sizeof log[i], "%s/%s/log.txt", out, hashes[i]);
        if (n == 2 && !(file_has(log[0], "epoch 1/50  train") && file_has(log[1], "epoch 1/50  train")))
            n = 0;
    }
    ck_assert_msg(n == 2, "the points did not start training");
    kill(pid, SIGINT);
    run_bin_slurp(err_fd, err_text, sizeof err_text);
    close(err_fd);
    ck_assert_int_eq(run_bin_wait_exit(pid, tmp, out_text, sizeof out_text), 130);
    ck_assert_ptr_nonnull(strstr(err_text, "stopping 2 running point(s)"));
    index_hashes(out, hashes, status, &n);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(status[i], "interrupted");
        char path[400];
        snprintf(path, sizeof path, "%s/%s/run.h5", out, hashes[i]);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        ck_assert_msg(f >= 0, "%s", path);
        char *st = h5read_str_attr(f, "/", "status");
        ck_assert_str_eq(st, "interrupted");
        free(st);
        H5Fclose(f);
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("sweep");
    TCase *tc = tcase_create("spec");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_parse_product);
    tcase_add_test(tc, test_parse_zip);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_resolve);
    tcase_add_test(tc, test_csv);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("qadapt");
    tcase_add_checked_fixture(te, setup, teardown);
    tcase_set_timeout(te, 300);
    tcase_add_test(te, test_sweep_e2e);
    tcase_add_test(te, test_sweep_failure);
    tcase_add_test(te, test_sweep_interrupt);
    suite_add_tcase(s, te);
    return s;
}
