/* test_method_dqmq.c: method dqmq end to end on configs/smoke.ini cut to a
 * few seconds: through the qadapt binary (QADAPT_BIN), the run file holds
 * /train/samples (subsampled), /eval/samples (every test image), the
 * policy grid and the bit columns, and the per-epoch means agree with the
 * per-sample rows; the critic (with alternating updates), reinforce,
 * Gumbel/untied and constant-observation variants run through the run
 * loop, a resumed run ends as an uninterrupted one; bad [agent] values are
 * errors naming the key. */
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

static char dir[64];

static void make_dir(void)
{
    qa_test_tmpdir(dir, sizeof dir, "dqmq");
}

static void remove_tree(void)
{
    qa_test_rmtree(dir);
}

/* column `col` (count values per row) of a table as doubles, malloc'd */
static double *read_col(hid_t f, const char *table, const char *col, int count, int *nrows)
{
    hid_t ds = H5Dopen2(f, table, H5P_DEFAULT);
    ck_assert_msg(ds >= 0, "%s missing", table);
    hid_t space = H5Dget_space(ds);
    hsize_t n = 0, dim = (hsize_t)count;
    H5Sget_simple_extent_dims(space, &n, NULL);
    hid_t mt = count > 1 ? H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &dim) : H5T_NATIVE_DOUBLE;
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)count * sizeof(double));
    H5Tinsert(t, col, 0, mt);
    double *v = calloc((size_t)(n ? n : 1) * (size_t)count, sizeof *v);
    herr_t rc = H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Tclose(t);
    if (count > 1)
        H5Tclose(mt);
    H5Sclose(space);
    H5Dclose(ds);
    ck_assert_msg(rc >= 0, "%s.%s unreadable", table, col);
    *nrows = (int)n;
    return v;
}

static const char *const BASE[] = {"experiment.method=dqmq", "data.limit=640",
                                   "data.test_limit=300", "train.epochs=2", "dqmq.warmup=1"};
enum { NBASE = 5 };

static int run_dqmq_opts(char **extra, int nextra, int resume, exp_run_result *res, qa_err *err)
{
    exp_config *c = malloc(sizeof *c);
    int rc = smoke_config_load(c, BASE, NBASE, extra, nextra, err);
    if (rc == QA_OK) {
        exp_run_opts o = {.out_dir = dir, .command = "test_method_dqmq", .resume = resume};
        rc = exp_run_main(c, &o, res, err);
    }
    free(c);
    return rc;
}

static int run_dqmq(char **extra, int nextra, exp_run_result *res, qa_err *err)
{
    return run_dqmq_opts(extra, nextra, 0, res, err);
}

/* a run that must complete; its run file, open read-only */
static hid_t run_dqmq_file(char **extra, int nextra, exp_run_result *res)
{
    qa_err err = {0};
    ck_assert_msg(run_dqmq(extra, nextra, res, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(res->status, EXP_RUN_COMPLETE);
    hid_t f = H5Fopen(res->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "%s unreadable", res->path);
    return f;
}

/* the last epoch's realised means equal those of the /eval/samples rows */
static void check_eval_consistency(hid_t f, int L)
{
    int n, ne;
    double *bitops = read_col(f, "/eval/samples", "bitops", 1, &n);
    double *wb = read_col(f, "/eval/samples", "w_bits", L, &n);
    double *correct = read_col(f, "/eval/samples", "correct", 1, &n);
    double *col = read_col(f, "/train/epochs", "bitops", 1, &ne);
    double *cw = read_col(f, "/train/epochs", "w_bits", L, &ne);
    double *acc = read_col(f, "/train/epochs", "test_acc", 1, &ne);
    ck_assert_int_eq(n, 300);
    double sb = 0, sc = 0, sw[8] = {0};
    for (int i = 0; i < n; i++) {
        sb += bitops[i];
        sc += correct[i];
        for (int l = 0; l < L; l++) {
            double b = wb[i * L + l];
            ck_assert(b == 2 || b == 3 || b == 4 || b == 6 || b == 8);
            sw[l] += b;
        }
    }
    ck_assert_double_eq_tol(col[ne - 1], sb / n, 1e-6 * col[ne - 1]);
    ck_assert_double_eq_tol(acc[ne - 1], sc / n, 1e-9);
    for (int l = 0; l < L; l++)
        ck_assert_double_eq_tol(cw[(ne - 1) * L + l], sw[l] / n, 1e-5);
    free(bitops), free(wb), free(correct), free(col), free(cw), free(acc);
}

START_TEST(test_dqmq_binary)
{
    const char *bin = getenv("QADAPT_BIN"), *root = getenv("QADAPT_SOURCE_ROOT");
    ck_assert_msg(bin && root, "run through meson test (QADAPT_BIN unset)");
    make_dir();
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s run %s/configs/smoke.ini --out %s --set experiment.method=dqmq "
             "--set data.limit=640 --set data.test_limit=300 --set train.epochs=2 "
             "--set dqmq.warmup=1 --set dqmq.sample_rate=0.1 --set experiment.name=bin "
             ">/dev/null 2>&1",
             bin, root, dir);
    ck_assert_int_eq(system(cmd), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/bin/run.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    char *status = h5read_str_attr(f, "/", "status");
    ck_assert_str_eq(status, "complete");
    int n;
    double *ep = read_col(f, "/train/samples", "epoch", 1, &n);
    /* 640 samples per epoch at rate 0.1, two epochs */
    ck_assert_int_gt(n, 60);
    ck_assert_int_lt(n, 220);
    ck_assert_double_eq(ep[0], 1.0);
    ck_assert_double_eq(ep[n - 1], 2.0);
    double *pw = read_col(f, "/train/samples", "p_w", 10, &n);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < 5; k++)
            s += pw[i * 10 + k];
        ck_assert_double_eq_tol(s, 1.0, 1e-5);
    }
    check_eval_consistency(f, 2);
    double *frac = read_col(f, "/train/epochs", "policy_macs_vs_backbone", 1, &n);
    ck_assert_double_lt(frac[0], 0.01);
    ck_assert_double_gt(frac[0], 0.0);
    double *phase = read_col(f, "/train/epochs", "phase", 1, &n);
    ck_assert_double_eq(phase[0], 0.0);
    ck_assert_double_eq(phase[1], 1.0);
    double *gn = read_col(f, "/eval/policy_grid", "n", 1, &n);
    double total = 0;
    for (int i = 0; i < n; i++)
        total += gn[i];
    ck_assert_double_eq(total, 300.0);
    free(status), free(ep), free(pw), free(frac), free(phase), free(gn);
    H5Fclose(f);
    /* the report names what dqmq reads (candidate widths, the agent), not
     * the fixed method's w_bits the resolved config also holds */
    snprintf(cmd, sizeof cmd, "%s report %s 2>&1", bin, path);
    FILE *rp = popen(cmd, "r");
    ck_assert_ptr_nonnull(rp);
    char text[8192];
    size_t got = fread(text, 1, sizeof text - 1, rp);
    text[got] = '\0';
    ck_assert_int_eq(pclose(rp), 0);
    ck_assert_msg(strstr(text, "bits=2,3,4,6,8") && strstr(text, "agent:   observation="),
                  "report of a dqmq run:\n%s", text);
    ck_assert_msg(!strstr(text, "w_bits="), "report of a dqmq run shows w_bits:\n%s", text);
    remove_tree();
}
END_TEST

START_TEST(test_dqmq_critic)
{
    make_dir();
    char *sets[] = {"dqmq.optimizer=critic", "experiment.name=critic", "dqmq.schedule=alternate"};
    exp_run_result res;
    hid_t f = run_dqmq_file(sets, 3, &res);
    int n;
    double *mse = read_col(f, "/train/epochs", "critic_mse", 1, &n);
    ck_assert(isfinite(mse[0]) && isfinite(mse[1]));
    check_eval_consistency(f, 2);
    free(mse);
    H5Fclose(f);
    remove_tree();
}
END_TEST

START_TEST(test_dqmq_reinforce_gumbel_untied)
{
    make_dir();
    char *sets[] = {"dqmq.optimizer=reinforce", "experiment.name=rf", "agent.head=gumbel",
                    "quant.tied=false"};
    exp_run_result res;
    hid_t f = run_dqmq_file(sets, 4, &res);
    int n;
    double *pa = read_col(f, "/eval/samples", "p_a", 10, &n);
    ck_assert_int_eq(n, 300);
    free(pa);
    H5Fclose(f);
    char *st[] = {"experiment.name=st", "agent.head=gumbel", "dqmq.hard=true",
                  "quant.tied=false"};
    H5Fclose(run_dqmq_file(st, 4, &res));
    remove_tree();
}
END_TEST

/* constant observation: one plan for every test input (static MPQ); a
 * fine-tuning epoch at the end */
START_TEST(test_dqmq_constant)
{
    make_dir();
    char *sets[] = {"agent.observation=constant", "experiment.name=const", "dqmq.lambda=0.3",
                    "train.epochs=3", "dqmq.finetune=1"};
    exp_run_result res;
    hid_t f = run_dqmq_file(sets, 5, &res);
    int n;
    double *phase = read_col(f, "/train/epochs", "phase", 1, &n);
    ck_assert_int_eq(n, 3);
    for (int e = 0; e < 3; e++)
        ck_assert_double_eq(phase[e], (double)e);
    free(phase);
    check_eval_consistency(f, 2);
    double *pw = read_col(f, "/eval/samples", "p_w", 10, &n);
    for (int i = 1; i < n; i++)
        for (int j = 0; j < 10; j++)
            ck_assert_double_eq(pw[i * 10 + j], pw[j]);
    free(pw);
    H5Fclose(f);
    remove_tree();
}
END_TEST

/* reinforce (a reward baseline beyond the parameter sets): 2 epochs, then
 * --resume to 3, equals 3 epochs straight, bit for bit (constant learning
 * rate and spread: schedules depend on the total number of steps) */
START_TEST(test_dqmq_resume)
{
    static const char *const cols[] = {"train_loss", "test_loss", "bitops", "cost_term"};
    make_dir();
    exp_run_result res;
    qa_err err = {0};
    char *full[] = {"dqmq.optimizer=reinforce", "experiment.name=full", "train.epochs=3",
                    "train.schedule=const", "dqmq.sigma_end=2"};
    hid_t f = run_dqmq_file(full, 5, &res);
    char *cut[] = {"dqmq.optimizer=reinforce", "experiment.name=cut", "train.epochs=2",
                   "train.schedule=const", "dqmq.sigma_end=2"};
    ck_assert_msg(run_dqmq(cut, 5, &res, &err) == QA_OK, "%s", err.msg);
    cut[2] = "train.epochs=3";
    ck_assert_msg(run_dqmq_opts(cut, 5, 1, &res, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(res.status, EXP_RUN_COMPLETE);
    hid_t g = H5Fopen(res.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    for (int c = 0; c < 4; c++) {
        int n, m;
        double *a = read_col(f, "/train/epochs", cols[c], 1, &n);
        double *b = read_col(g, "/train/epochs", cols[c], 1, &m);
        ck_assert_int_eq(n, 3);
        ck_assert_int_eq(m, 3);
        for (int e = 0; e < 3; e++)
            ck_assert_msg(a[e] == b[e], "%s epoch %d: %.17g vs %.17g", cols[c], e + 1, a[e],
                          b[e]);
        free(a), free(b);
    }
    H5Fclose(f);
    H5Fclose(g);
    remove_tree();
}
END_TEST

/* the warm-up epoch's widths (every training sample logged): drawn near
 * mu_init with dqmq.warmup_sigma (3.5 +- 0.3: 3 or 4 bits, 2 and 6 have
 * p < 1e-5), over all candidates without */
static void warmup_widths(const char *name, const char *sigma, double count[9])
{
    char nm[64];
    snprintf(nm, sizeof nm, "experiment.name=%s", name);
    char *sets[] = {nm, (char *)sigma, "agent.mu_init=3.5", "dqmq.sample_rate=1"};
    exp_run_result res;
    hid_t f = run_dqmq_file(sets, 4, &res);
    int n;
    double *ep = read_col(f, "/train/samples", "epoch", 1, &n);
    double *wb = read_col(f, "/train/samples", "w_bits", 2, &n);
    ck_assert_int_eq(n, 2 * 640);
    memset(count, 0, 9 * sizeof *count);
    for (int i = 0; i < n; i++)
        for (int l = 0; ep[i] == 1.0 && l < 2; l++)
            count[(int)wb[2 * i + l]] += 1;
    free(ep), free(wb);
    H5Fclose(f);
}

START_TEST(test_dqmq_warmup_sigma)
{
    make_dir();
    double near[9], all[9];
    warmup_widths("near", "dqmq.warmup_sigma=0.3", near);
    warmup_widths("all", "dqmq.warmup_sigma=0", all);
    ck_assert_double_eq(near[3] + near[4], 2 * 640);
    ck_assert_double_gt(near[3], 500);
    ck_assert_double_gt(near[4], 500);
    for (int b = 2; b <= 8; b++) /* uniform: 256 expected per width */
        ck_assert_double_gt(all[b], b == 5 || b == 7 ? -1 : 180);
    ck_assert_double_eq(all[5] + all[7], 0);
    remove_tree();
}
END_TEST

/* the policy epoch's logged rows whose width is not their p_w's argmax */
static int off_argmax(const char *name, const char *hard)
{
    char nm[64];
    snprintf(nm, sizeof nm, "experiment.name=%s", name);
    char *sets[] = {nm, (char *)hard, "dqmq.sample_rate=1"};
    exp_run_result res;
    hid_t f = run_dqmq_file(sets, 3, &res);
    check_eval_consistency(f, 2);
    int n, off = 0;
    double *ep = read_col(f, "/train/samples", "epoch", 1, &n);
    double *wb = read_col(f, "/train/samples", "w_bits", 2, &n);
    double *pw = read_col(f, "/train/samples", "p_w", 10, &n);
    static const int cand[5] = {2, 3, 4, 6, 8};
    for (int i = 0; i < n; i++)
        for (int l = 0; ep[i] == 2.0 && l < 2; l++) {
            int best = 0;
            for (int k = 1; k < 5; k++)
                best = pw[i * 10 + l * 5 + k] > pw[i * 10 + l * 5 + best] ? k : best;
            off += wb[i * 2 + l] != cand[best];
        }
    free(ep), free(wb), free(pw);
    H5Fclose(f);
    return off;
}

/* straight-through dqmq (analytic, hard): the backbone runs one width per
 * sample and layer drawn from p (spread 2 -> 0.5 bits: often not p's
 * argmax); relaxed, the logged width is always the argmax */
START_TEST(test_dqmq_hard)
{
    make_dir();
    ck_assert_int_gt(off_argmax("hard", "dqmq.hard=true"), 200);
    ck_assert_int_eq(off_argmax("soft", "dqmq.hard=false"), 0);
    remove_tree();
}
END_TEST

START_TEST(test_dqmq_config_errors)
{
    make_dir();
    exp_run_result res;
    qa_err err = {0};
    char *warm[] = {"dqmq.warmup=2"};
    ck_assert_int_eq(run_dqmq(warm, 1, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "dqmq.warmup"));
    char *ft[] = {"dqmq.finetune=1"};
    ck_assert_int_eq(run_dqmq(ft, 1, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "dqmq.finetune = 1"));
    char *hard[] = {"agent.head=gumbel", "dqmq.hard=true", "dqmq.optimizer=critic"};
    ck_assert_int_eq(run_dqmq(hard, 3, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "[dqmq]"));
    char *dhard[] = {"dqmq.hard=true", "dqmq.optimizer=reinforce"};
    ck_assert_int_eq(run_dqmq(dhard, 2, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "hard = true"));
    char *wsig[] = {"dqmq.warmup_sigma=-1"};
    ck_assert_int_eq(run_dqmq(wsig, 1, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "warmup_sigma"));
    char *pinned[] = {"quant.first_bits=0", "model.arch=small", "agent.sigma_max=0.1"};
    ck_assert_int_eq(run_dqmq(pinned, 3, &res, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "sigma_max"));
    remove_tree();
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("agent_method_dqmq");
    TCase *tc = tcase_create("dqmq");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_dqmq_binary);
    tcase_add_test(tc, test_dqmq_critic);
    tcase_add_test(tc, test_dqmq_reinforce_gumbel_untied);
    tcase_add_test(tc, test_dqmq_constant);
    tcase_add_test(tc, test_dqmq_resume);
    tcase_add_test(tc, test_dqmq_config_errors);
    tcase_add_test(tc, test_dqmq_warmup_sigma);
    tcase_add_test(tc, test_dqmq_hard);
    suite_add_tcase(s, tc);
    return s;
}
