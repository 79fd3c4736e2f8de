/* test_search.c: `qadapt search` in process (experiments/search/search.h) on
 * tiny searches: the smoke net on 1000 images (200 of them the validation
 * split), fine-tunes of 3 steps, a DDPG agent of 16 units warming up for 2
 * episodes, widths 2..8 on conv1-3, weights and activations apart, budget
 * 0.25 of 8-bit BitOps; the pretrained run (fp32, one epoch) is made once
 * for the suite.
 *   - the file: one row per episode, every plan of candidates and within
 *     the budget, the cost that of the plan (the fine-tune's own run file
 *     agrees), the reward 0.1 x 100 (val_acc - acc_ref), the best plan the
 *     row with the highest reward; the fine-tune never evaluated the test
 *     set;
 *   - resume: 3 episodes, then --resume to 6, equals 6 uninterrupted bit
 *     for bit (every column but the timing ones, the best plan, the agent's
 *     whole state in the checkpoint), for DDPG and for REINFORCE;
 *   - a resume with another key, without a checkpoint, or after the
 *     pretrained run changed is refused; a pretrained run with another
 *     validation split is noted;
 *   - the binary: Ctrl-C after episode 2, then --resume, ends like a search
 *     never stopped; --help, usage errors;
 *   - quant.plan: a search file's best plan and an inline list become
 *     layer_bits; a missing file, a file without a plan and bad widths are
 *     errors naming them;
 *   - errors: no pretrained run, no validation split, a budget below the
 *     narrowest plan. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/haq.h"
#include "check_main.h"
#include "experiments/cli/schema.h"
#include "experiments/io/dirlock.h"
#include "experiments/io/runfile.h"
#include "experiments/methods/registry.h"
#include "experiments/run/run.h"
#include "experiments/search/search.h"
#include "h5read.h"
#include "run_bin.h"

static char dir[64], pre[1024];
static int have_data;
static FILE *progress; /* where the searches' lines go, NULL: nowhere */

/* smoke.ini with sets (NULL-terminated) after the suite's own */
static exp_config *config(const char *const *sets, qa_err *err)
{
    static const char *const base[] = {"data.limit=1000", "data.val_fraction=0.2",
                                       "data.test_limit=100", "experiment.threads=1"};
    char cfgpath[1024];
    char *all[64];
    int n = 0;
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/smoke.ini", getenv("QADAPT_SOURCE_ROOT"));
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        all[n++] = (char *)base[i];
    for (int i = 0; sets && sets[i]; i++)
        all[n++] = (char *)sets[i];
    exp_config *c = malloc(sizeof *c);
    if (exp_config_load(c, cfgpath, all, n, err) != QA_OK) {
        free(c);
        return NULL;
    }
    return c;
}

static void make_pretrained(void)
{
    have_data = access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0;
    if (!have_data)
        return;
    qa_test_tmpdir(dir, sizeof dir, "search");
    static const char *const sets[] = {"experiment.name=pre", "train.epochs=1", NULL};
    qa_err err = {0};
    exp_config *c = config(sets, &err);
    ck_assert_msg(c, "%s", err.msg);
    exp_run_opts o = {.out_dir = dir, .command = "test_search"};
    exp_run_result res;
    ck_assert_msg(exp_run_main(c, &o, &res, &err) == QA_OK, "%s", err.msg);
    snprintf(pre, sizeof pre, "%s", res.path);
    free(c);
}

static void remove_all(void)
{
    if (have_data)
        qa_test_rmtree(dir);
}

static int skip(const char *test)
{
    return !have_data && qa_test_skip_data(test, "Fashion-MNIST is not installed");
}

/* A search called name of `episodes` episodes with extra sets. */
static int search(const char *name, int episodes, int resume, const char *const *extra,
                  exp_search_result *res, qa_err *err)
{
    char nm[80], ep[80], pr[1100];
    snprintf(nm, sizeof nm, "experiment.name=%s", name);
    snprintf(ep, sizeof ep, "search.episodes=%d", episodes);
    snprintf(pr, sizeof pr, "search.pretrained=%s", pre);
    const char *sets[40] = {nm,
                            ep,
                            pr,
                            "train.epochs=1",
                            "train.epoch_steps=3",
                            "search.warmup=2",
                            "search.hidden=16",
                            "search.batch=8",
                            "search.budget=0.25",
                            "quant.bits=2,3,4,5,6,7,8",
                            "quant.first_bits=0",
                            "quant.tied=false"};
    int n = 12;
    for (int i = 0; extra && extra[i]; i++)
        sets[n++] = extra[i];
    sets[n] = NULL;
    exp_config *c = config(sets, err);
    if (!c)
        return QA_ERR_CONFIG;
    exp_search_opts o = {.out_dir = dir, .command = "test_search", .resume = resume,
                         .progress = progress};
    int rc = exp_search_main(c, &o, res, err);
    free(c);
    return rc;
}

static void search_ok(const char *name, int episodes, int resume, const char *const *extra,
                      exp_search_result *res)
{
    qa_err err = {0};
    ck_assert_msg(search(name, episodes, resume, extra, res, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(res->status, EXP_RUN_COMPLETE);
    ck_assert_int_eq(res->episodes, episodes);
}

/* column col of /search/episodes (rows x count doubles) */
static double *column(const char *path, const char *col, int *rows, int *count)
{
    hid_t f;
    qa_err err;
    ck_assert_int_eq(exp_rf_open(&f, path, &err), QA_OK);
    double *v;
    ck_assert_msg(exp_rf_column(f, "/search/episodes", col, &v, rows, count) == 0, "%s", col);
    exp_rf_close(f);
    return v;
}

START_TEST(test_search_file)
{
    if (skip("test_search_file"))
        return;
    exp_search_result res;
    char *lines = NULL;
    size_t nlines = 0;
    progress = open_memstream(&lines, &nlines);
    search_ok("file", 5, 0, NULL, &res);
    fclose(progress);
    progress = NULL;
    ck_assert_msg(strstr(lines, "episode 5/5  W ") && !strstr(lines, "note:"), "%s", lines);
    free(lines);
    int n, k, cw, ca;
    double *ep = column(res.path, "episode", &n, &k), *cost = column(res.path, "cost", &n, &k);
    double *bitops = column(res.path, "bitops_vs_int8", &n, &k);
    double *reward = column(res.path, "reward", &n, &k), *acc = column(res.path, "val_acc", &n, &k);
    double *w = column(res.path, "w_bits", &n, &cw), *a = column(res.path, "a_bits", &n, &ca);
    double *act = column(res.path, "actions", &n, &k), *low = column(res.path, "lowered", &n, &k);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(cw, 3);
    ck_assert_int_eq(ca, 3);
    free(column(res.path, "actions", &n, &k));
    ck_assert_int_eq(k, 6); /* untied: two steps per layer, weights first */
    static const int widths[7] = {2, 3, 4, 5, 6, 7, 8};
    int best = 0, lowered = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_double_eq(ep[i], i + 1);
        ck_assert_double_le(cost[i], 0.25);
        ck_assert_double_eq(cost[i], bitops[i]);
        ck_assert_double_eq(reward[i], 0.1 * 100.0 * (acc[i] - res.acc_ref));
        int steps = 0; /* the action's widths less the plan's (contiguous widths) */
        for (int l = 0; l < 3; l++) {
            int aw = agent_haq_width(widths, 7, (float)act[6 * i + 2 * l]);
            int aa = agent_haq_width(widths, 7, (float)act[6 * i + 2 * l + 1]);
            ck_assert(w[3 * i + l] >= 2 && w[3 * i + l] <= aw);
            ck_assert(a[3 * i + l] >= 2 && a[3 * i + l] <= aa);
            steps += aw - (int)w[3 * i + l] + aa - (int)a[3 * i + l];
        }
        ck_assert_double_eq(low[i], steps);
        lowered += steps > 0;
        best = reward[i] > reward[best] ? i : best;
    }
    ck_assert_msg(lowered, "no plan of 5 was lowered into the budget: the test shows nothing");
    ck_assert_int_eq(res.best_episode, best + 1);
    hid_t f = H5Fopen(res.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    long long plan[3][2];
    hid_t ds = H5Dopen2(f, "/search/best_plan", H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, plan), 0);
    H5Dclose(ds);
    for (int l = 0; l < 3; l++) {
        ck_assert_int_eq(plan[l][0], (long long)w[3 * best + l]);
        ck_assert_int_eq(plan[l][1], (long long)a[3 * best + l]);
    }
    char *status = h5read_str_attr(f, "/", "status"), *layers = h5read_str_attr(f, "/", "planned_layers");
    ck_assert_str_eq(status, "complete");
    ck_assert_str_eq(layers, "conv1,conv2,conv3");
    ck_assert_double_eq(h5read_f64_attr(f, "/", "acc_ref"), res.acc_ref);
    H5Fclose(f);
    /* the last fine-tune's run file: the last plan's cost, no test evaluation */
    char ft[1200];
    snprintf(ft, sizeof ft, "%s/file/finetune/run.h5", dir);
    f = H5Fopen(ft, H5F_ACC_RDONLY, H5P_DEFAULT);
    int rows;
    double *rb = h5read_column(f, "/train/epochs", "bitops_vs_int8", &rows);
    double *ta = h5read_column(f, "/train/epochs", "test_acc", &rows);
    double *va = h5read_column(f, "/train/epochs", "val_acc", &rows);
    ck_assert_int_eq(rows, 1);
    ck_assert_double_eq(rb[0], bitops[n - 1]);
    ck_assert(isnan(ta[0]));
    ck_assert_double_eq(va[0], acc[n - 1]);
    ck_assert(isnan(h5read_f64_attr(f, "/", "test_acc")));
    H5Fclose(f);
    free(status);
    free(layers);
    free(rb);
    free(ta);
    free(va);
    free(ep);
    free(cost);
    free(bitops);
    free(reward);
    free(acc);
    free(w);
    free(a);
    free(act);
    free(low);
}
END_TEST

/* every value of dataset name in both files, bit for bit */
static void same_dataset(hid_t fa, hid_t fb, const char *name)
{
    hid_t da = H5Dopen2(fa, name, H5P_DEFAULT), db = H5Dopen2(fb, name, H5P_DEFAULT);
    ck_assert_msg(da >= 0 && db >= 0, "%s missing", name);
    hsize_t na = H5Dget_storage_size(da), nb = H5Dget_storage_size(db);
    hid_t ta = H5Dget_type(da), sp = H5Dget_space(da);
    size_t bytes = H5Tget_size(ta) * (size_t)H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    char *va = calloc(bytes + 1, 1), *vb = calloc(bytes + 1, 1);
    ck_assert_int_ge(H5Dread(da, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, va), 0);
    ck_assert_int_ge(H5Dread(db, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb), 0);
    ck_assert_msg(na == nb && memcmp(va, vb, bytes) == 0, "%s differs", name);
    free(va);
    free(vb);
    H5Tclose(ta);
    H5Dclose(da);
    H5Dclose(db);
}

static herr_t note_name(hid_t g, const char *name, const H5L_info_t *info, void *names)
{
    (void)g;
    (void)info;
    strcat(names, name);
    strcat(names, "\n");
    return 0;
}

/* two searches' files alike but for their timing: every episode column,
 * the best plan, and every dataset of the checkpoints' /method (the agent) */
static void same_search(const char *a, const char *b)
{
    static const char *const cols[] = {"episode", "reward", "val_acc", "val_loss", "cost",
                                       "bitops_vs_int8", "weight_bytes", "sigma", "w_bits",
                                       "a_bits", "lowered", "actions"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        int na, nb, ka, kb;
        double *va = column(a, cols[i], &na, &ka), *vb = column(b, cols[i], &nb, &kb);
        ck_assert_int_eq(na, nb);
        ck_assert_int_eq(ka, kb);
        ck_assert_msg(memcmp(va, vb, (size_t)(na * ka) * sizeof *va) == 0, "%s differs", cols[i]);
        free(va);
        free(vb);
    }
    hid_t fa = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
    same_dataset(fa, fb, "/search/best_plan");
    H5Fclose(fa);
    H5Fclose(fb);
    char ca[1200], cb[1200], names[8192] = "";
    snprintf(ca, sizeof ca, "%.*s/search_ckpt.h5", (int)(strrchr(a, '/') - a), a);
    snprintf(cb, sizeof cb, "%.*s/search_ckpt.h5", (int)(strrchr(b, '/') - b), b);
    fa = H5Fopen(ca, H5F_ACC_RDONLY, H5P_DEFAULT);
    fb = H5Fopen(cb, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(fa, "/method", H5P_DEFAULT);
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, note_name, names);
    H5Gclose(g);
    ck_assert_ptr_nonnull(strstr(names, "agent.")); /* the agent's state is there to compare */
    hid_t ga = H5Gopen2(fa, "/method", H5P_DEFAULT), gb = H5Gopen2(fb, "/method", H5P_DEFAULT);
    for (char *name = strtok(names, "\n"); name; name = strtok(NULL, "\n"))
        same_dataset(ga, gb, name);
    H5Gclose(ga);
    H5Gclose(gb);
    H5Fclose(fa);
    H5Fclose(fb);
}

static void resume_equals(const char *agent)
{
    char kind[64], whole[32], parts[32];
    snprintf(kind, sizeof kind, "search.agent=%s", agent);
    snprintf(whole, sizeof whole, "whole_%s", agent);
    snprintf(parts, sizeof parts, "parts_%s", agent);
    const char *const extra[] = {kind, NULL};
    exp_search_result a, b;
    search_ok(whole, 6, 0, extra, &a);
    search_ok(parts, 3, 0, extra, &b);
    search_ok(parts, 6, 1, extra, &b);
    same_search(a.path, b.path);
    ck_assert_int_eq(b.best_episode, a.best_episode);
}

START_TEST(test_resume_ddpg)
{
    if (!skip("test_resume_ddpg"))
        resume_equals("ddpg");
}
END_TEST

START_TEST(test_resume_reinforce)
{
    if (!skip("test_resume_reinforce"))
        resume_equals("reinforce");
}
END_TEST

static void refused(const char *name, int episodes, int resume, const char *const *extra,
                    const char *why)
{
    exp_search_result res;
    qa_err err = {0};
    ck_assert_int_ne(search(name, episodes, resume, extra, &res, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, why), "'%s' does not say '%s'", err.msg, why);
}

START_TEST(test_resume_refused)
{
    if (skip("test_resume_refused"))
        return;
    exp_search_result res;
    search_ok("refuse", 2, 0, NULL, &res);
    const char *const budget[] = {"search.budget=0.3", NULL};
    refused("refuse", 4, 1, budget, "search.budget is '0.3'");
    refused("nockpt", 4, 1, NULL, "search_ckpt.h5");
    refused("refuse", 1, 1, NULL, "more than search.episodes = 1");
    /* the pretrained run replaced by another (the seed changes its weights) */
    char other[1200];
    snprintf(other, sizeof other, "search.pretrained=%s/other/run.h5", dir);
    static const char *const sets[] = {"experiment.name=other", "train.epochs=1",
                                       "experiment.seed=7", "data.normalize=none", NULL};
    qa_err err = {0};
    exp_config *c = config(sets, &err);
    exp_run_opts o = {.out_dir = dir, .command = "test_search"};
    exp_run_result rr;
    ck_assert_msg(exp_run_main(c, &o, &rr, &err) == QA_OK, "%s", err.msg);
    free(c);
    const char *const moved[] = {other, NULL};
    refused("refuse", 4, 1, moved, "search.pretrained is");
    /* a pretrained run of another split is noted (seed 7: other validation
     * images; unnormalised input, else its normalisation differs too) */
    char *lines = NULL;
    size_t nlines = 0;
    progress = open_memstream(&lines, &nlines);
    exp_search_result noted;
    const char *const noted_sets[] = {other, "data.normalize=none", NULL};
    search_ok("noted", 1, 0, noted_sets, &noted);
    fclose(progress);
    progress = NULL;
    ck_assert_msg(strstr(lines, "note: the pretrained run"), "%s", lines);
    free(lines);
    /* the search file of the refused resumes is the finished one */
    hid_t f = H5Fopen(res.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_eq(h5read_i64_attr(f, "/", "episodes_completed"), 2);
    H5Fclose(f);
}
END_TEST

START_TEST(test_search_errors)
{
    if (skip("test_search_errors"))
        return;
    const char *const nopre[] = {"search.pretrained=", NULL};
    refused("e1", 2, 0, nopre, "search.pretrained is empty");
    const char *const missing[] = {"search.pretrained=/nonexistent/run.h5", NULL};
    refused("e2", 2, 0, missing, "/nonexistent/run.h5");
    const char *const noval[] = {"data.val_fraction=0", NULL};
    refused("e3", 2, 0, noval, "data.val_fraction = 0 leaves no validation images");
    const char *const tight[] = {"search.budget=0.05", NULL};
    refused("e4", 2, 0, tight, "budget 0.05 is below the cost");
}
END_TEST

/* quant.plan through a config: the layer_bits it leaves */
static int plan_widths(const char *plan, int *n, int *w, int *a, qa_err *err)
{
    char set[1200];
    snprintf(set, sizeof set, "quant.plan=%s", plan);
    const char *const sets[] = {set, NULL};
    exp_config *c = config(sets, err);
    if (!c)
        return QA_ERR_CONFIG;
    *n = c->quant.nlayer_bits;
    memcpy(w, c->quant.layer_wbits, sizeof(int) * (size_t)*n);
    memcpy(a, c->quant.layer_abits, sizeof(int) * (size_t)*n);
    free(c);
    return QA_OK;
}

/* a file with /search/best_plan holding v (rows x 2) */
static void plan_file(const char *path, const long long *v, int rows)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "search", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {(hsize_t)rows, 2};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(g, "best_plan", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Gclose(g);
    H5Fclose(f);
}

START_TEST(test_plan_key)
{
    int n, w[8], a[8];
    qa_err err = {0};
    ck_assert_int_eq(plan_widths("4,3:2, 8", &n, w, a, &err), QA_OK);
    ck_assert_int_eq(n, 3);
    ck_assert(w[0] == 4 && a[0] == 4 && w[1] == 3 && a[1] == 2 && w[2] == 8 && a[2] == 8);
    char path[256];
    qa_test_tmpdir(path, sizeof path, "plankey");
    strcat(path, "/plan.h5");
    static const long long good[] = {6, 5, 3, 2}, bad[] = {6, 5, 9, 2};
    plan_file(path, good, 2);
    ck_assert_msg(plan_widths(path, &n, w, a, &err) == QA_OK, "%s", err.msg);
    ck_assert(n == 2 && w[0] == 6 && a[0] == 5 && w[1] == 3 && a[1] == 2);
    plan_file(path, bad, 2);
    ck_assert_int_ne(plan_widths(path, &n, w, a, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, "layer 1 has widths 9:2"), "%s", err.msg);
    ck_assert_int_ne(plan_widths("/nonexistent.h5", &n, w, a, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, "quant.plan") && strstr(err.msg, "/nonexistent.h5"), "%s",
                  err.msg);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    ck_assert_int_ne(plan_widths(path, &n, w, a, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, "no /search/best_plan"), "%s", err.msg);
    *strrchr(path, '/') = '\0';
    qa_test_rmtree(path);
}
END_TEST

/* A searched plan trained by method fixed: its run's widths are the plan's. */
START_TEST(test_plan_trains)
{
    if (skip("test_plan_trains"))
        return;
    exp_search_result res;
    search_ok("totrain", 2, 0, NULL, &res);
    char plan[1200];
    snprintf(plan, sizeof plan, "quant.plan=%s", res.path);
    const char *const sets[] = {plan, "experiment.method=fixed", "quant.first_bits=0",
                                "train.epochs=1", "experiment.name=trained", NULL};
    qa_err err = {0};
    exp_config *c = config(sets, &err);
    ck_assert_msg(c, "%s", err.msg);
    exp_run_opts o = {.out_dir = dir, .command = "test_search"};
    exp_run_result rr;
    ck_assert_msg(exp_run_main(c, &o, &rr, &err) == QA_OK, "%s", err.msg);
    free(c);
    hid_t f = H5Fopen(rr.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    double *b;
    int rows, count;
    ck_assert_int_eq(exp_rf_column(f, "/train/epochs", "bitops_vs_int8", &b, &rows, &count), 0);
    ck_assert_double_eq(b[0], res.best_cost);
    free(b);
    ck_assert_int_eq(exp_rf_column(f, "/train/epochs", "w_bits", &b, &rows, &count), 0);
    for (int l = 0; l < count; l++)
        ck_assert_double_eq(b[l], res.best.w[l]);
    free(b);
    H5Fclose(f);
}
END_TEST

/* The binary: qadapt search ARGS... in dir, the suite's small search. */
static char **search_args(const char *name, const char *episodes, int resume)
{
    static char nm[80], ep[80], pr[1100], smoke[1024];
    static char *argv[60];
    snprintf(smoke, sizeof smoke, "%s/configs/smoke.ini", getenv("QADAPT_SOURCE_ROOT"));
    snprintf(nm, sizeof nm, "experiment.name=%s", name);
    snprintf(ep, sizeof ep, "search.episodes=%s", episodes);
    snprintf(pr, sizeof pr, "search.pretrained=%s", pre);
    static const char *const fixed[] = {
        "data.limit=1000",       "data.val_fraction=0.2",    "data.test_limit=100",
        "experiment.threads=1",  "train.epochs=1",           "train.epoch_steps=3",
        "search.warmup=2",       "search.hidden=16",         "search.batch=8",
        "search.budget=0.25",    "quant.bits=2,3,4,5,6,7,8", "quant.first_bits=0",
        "quant.tied=false"};
    int n = 0;
    argv[n++] = "search";
    argv[n++] = smoke;
    argv[n++] = "--out";
    argv[n++] = dir;
    const char *sets[16] = {nm, ep, pr};
    memcpy(sets + 3, fixed, sizeof fixed);
    for (size_t i = 0; i < 3 + sizeof fixed / sizeof fixed[0]; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)sets[i];
    }
    if (resume)
        argv[n++] = "--resume";
    argv[n] = NULL;
    return argv;
}

/* A search folder another process holds (a second `qadapt search` into
 * it) is refused before anything is read or written there. */
START_TEST(test_search_locked)
{
    char folder[128], out[4096], errs[4096];
    snprintf(folder, sizeof folder, "%s/locked", dir);
    int fd;
    qa_err err = {0};
    ck_assert_int_eq(exp_dir_claim(folder, "the test", &fd, &err), QA_OK);
    int code = run_bin(dir, search_args("locked", "2", 0), out, sizeof out, errs, sizeof errs);
    exp_dir_release(fd);
    ck_assert_msg(code == 1, "exit %d: %s", code, errs);
    ck_assert_msg(strstr(errs, "locked is in use by another qadapt process"), "%s", errs);
    char path[200];
    snprintf(path, sizeof path, "%s/search.h5", folder);
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/* Ctrl-C after the second episode's line, then --resume: the same file as
 * a search never stopped (the interrupted file keeps its finished
 * episodes); exit codes 130 and 0. */
START_TEST(test_sigint_resume)
{
    if (skip("test_sigint_resume"))
        return;
    static char out[1 << 16], errs[1 << 16];
    ck_assert_int_eq(run_bin(dir, search_args("cli_whole", "6", 0), out, sizeof out, errs,
                             sizeof errs), 0);
    int efd;
    pid_t pid = run_bin_spawn(dir, search_args("cli_parts", "6", 0), &efd);
    FILE *e = fdopen(efd, "r");
    ck_assert_msg(run_bin_await_line(e, "episode 2/6", NULL), "no line for episode 2");
    kill(pid, SIGINT);
    char line[512];
    while (fgets(line, sizeof line, e))
        ;
    fclose(e);
    ck_assert_int_eq(run_bin_wait_exit(pid, dir, out, sizeof out), 130);
    ck_assert_msg(strstr(out, "status: interrupted"), "%s", out);
    char path[1200], whole[1200];
    snprintf(path, sizeof path, "%s/cli_parts/search.h5", dir);
    snprintf(whole, sizeof whole, "%s/cli_whole/search.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *status = h5read_str_attr(f, "/", "status");
    int64_t done = h5read_i64_attr(f, "/", "episodes_completed");
    H5Fclose(f);
    ck_assert_str_eq(status, "interrupted");
    ck_assert(done >= 2 && done < 6);
    free(status);
    ck_assert_int_eq(run_bin(dir, search_args("cli_parts", "6", 1), out, sizeof out, errs,
                             sizeof errs), 0);
    ck_assert_msg(strstr(errs, "resuming after episode"), "%s", errs);
    same_search(whole, path);
}
END_TEST

START_TEST(test_cli_usage)
{
    static char out[1 << 14], errs[1 << 14];
    char *help[] = {"search", "--help", NULL}, *none[] = {"search", NULL};
    char *bad[] = {"search", "x.ini", "--frobnicate", NULL};
    char tmp[64];
    qa_test_tmpdir(tmp, sizeof tmp, "searchcli");
    ck_assert_int_eq(run_bin(tmp, help, out, sizeof out, errs, sizeof errs), 0);
    ck_assert_msg(strstr(out, "usage: qadapt search CONFIG") && strstr(out, "--resume"), "%s",
                  out);
    ck_assert_int_eq(run_bin(tmp, none, out, sizeof out, errs, sizeof errs), 2);
    ck_assert_msg(strstr(errs, "missing CONFIG"), "%s", errs);
    ck_assert_int_eq(run_bin(tmp, bad, out, sizeof out, errs, sizeof errs), 2);
    ck_assert_msg(strstr(errs, "unknown option '--frobnicate'"), "%s", errs);
    qa_test_rmtree(tmp);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("search");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, make_pretrained, remove_all);
    tcase_add_test(tc, test_search_file);
    tcase_add_test(tc, test_resume_ddpg);
    tcase_add_test(tc, test_resume_reinforce);
    tcase_add_test(tc, test_resume_refused);
    tcase_add_test(tc, test_search_errors);
    tcase_add_test(tc, test_plan_key);
    tcase_add_test(tc, test_plan_trains);
    tcase_add_test(tc, test_sigint_resume);
    tcase_add_test(tc, test_cli_usage);
    tcase_add_test(tc, test_search_locked);
    suite_add_tcase(s, tc);
    return s;
}
