/* test_run.c: pieces of a run in process: batch staging and conversion, the
 * NaN/Inf check over registered parameter sets, the resolved config
 * through the run file and back (config -> HDF5 -> config), and the run
 * engine as a library (open, train in pieces, evaluate, close; several
 * runs with plans of the caller's in one process; a finished run opened to
 * be read and discarded), and short epochs (train.epoch_steps). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "experiments/cli/schema.h"
#include "experiments/io/h5log.h"
#include "experiments/methods/registry.h"
#include "experiments/run/batch.h"
#include "experiments/run/run.h"
#include "h5read.h"
#include "nn/models.h"

START_TEST(test_batch_stage_convert)
{
    data_set ds;
    qa_err err;
    ck_assert_int_eq(data_set_alloc(&ds, 4, 2, 2, 1, 10, &err), QA_OK);
    for (int i = 0; i < 16; i++)
        ds.pixels[i] = (uint8_t)(i * 17);
    for (int i = 0; i < 4; i++)
        ds.labels[i] = (uint8_t)(9 - i);
    exp_batch b;
    ck_assert_int_eq(exp_batch_alloc(&b, 3, 2, 2, 1, 2, &err), QA_OK);
    b.corruption[0] = 5; /* stale values from an earlier batch */
    b.features[1] = 3.0f;
    const int idx[2] = {3, 1};
    exp_batch_stage(&b, &ds, idx, 2, 1, 7);
    ck_assert_int_eq(b.n, 2);
    ck_assert_int_eq(b.epoch, 7);
    ck_assert_int_eq(b.index[0], 3);
    ck_assert_int_eq(b.label[0], 6);
    ck_assert_int_eq(b.label[1], 8);
    ck_assert_int_eq(b.corruption[0], -1);
    ck_assert_int_eq(b.severity[1], 0);
    ck_assert_float_eq(b.features[1], 0.0f);
    ck_assert_mem_eq(b.px, ds.pixels + 12, 4);
    ck_assert_mem_eq(b.px + 4, ds.pixels + 4, 4);
    float mean = 0.5f, std = 0.25f, out[8];
    exp_batch_to_input(&b, &mean, &std, out);
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq_tol(out[i], ((float)b.px[i] / 255.0f - 0.5f) / 0.25f, 1e-5f);
    exp_batch_free(&b);
    data_set_free(&ds);
}
END_TEST

START_TEST(test_check_finite)
{
    nn_net *net;
    qa_err err = {0};
    ck_assert_int_eq(nn_model_build(&net, "small", 2, 1, 8, 8, 3, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(net, 1, &err), QA_OK);
    exp_run *r = calloc(1, sizeof *r);
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.1f, .momentum = 0.9f};
    nn_optim *opt = NULL;
    ck_assert_int_eq(exp_run_add_params(r, "net", &net->params, &oc, &opt, &err), QA_OK);
    ck_assert_ptr_nonnull(opt);
    nn_net_zero_grad(net);
    ck_assert_int_eq(exp_run_check_finite(r, 1.5, &err), QA_OK);
    ck_assert_int_eq(exp_run_check_finite(r, NAN, &err), QA_ERR_NUMERIC);
    ck_assert_ptr_nonnull(strstr(err.msg, "the training loss is NaN"));
    ck_assert_int_eq(exp_run_check_finite(r, -INFINITY, &err), QA_ERR_NUMERIC);
    ck_assert_ptr_nonnull(strstr(err.msg, "-Inf"));
    int v = nn_params_find(&net->params, "conv2.w");
    ck_assert_int_ge(v, 0);
    nn_params_grad(&net->params, v)[5] = INFINITY;
    ck_assert_int_eq(exp_run_check_finite(r, 1.0, &err), QA_ERR_NUMERIC);
    ck_assert_ptr_nonnull(strstr(err.msg, "gradient of net conv2.w"));
    nn_params_grad(&net->params, v)[5] = 1e30f; /* large but finite is fine */
    ck_assert_int_eq(exp_run_check_finite(r, 1.0, &err), QA_OK);
    nn_optim_free(opt);
    free(r);
    nn_net_free(net);
}
END_TEST

/* exp_config -> run file /config -> exp_config: every value identical. */
START_TEST(test_config_through_h5)
{
    exp_config *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    qa_err err = {0};
    char *sets[] = {"train.lr=0.1", "train.epochs=3", "data.normalize=fixed", "data.mean=0.3",
                    "data.std=0.35", "experiment.name=x y", "train.drop_last=no"};
    ck_assert_msg(exp_config_load(a, NULL, sets, 7, &err) == QA_OK, "%s", err.msg);
    char dir[] = "/tmp/qa_test_run_XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/run.h5", dir);
    h5log *log;
    ck_assert_int_eq(h5log_create(&log, path, &err), QA_OK);
    cfg_doc d = exp_config_doc(a);
    char *text;
    ck_assert_int_eq(cfg_render(&d, &text, &err), QA_OK);
    ck_assert_int_eq(h5log_write_config(log, &d, text, &err), QA_OK);
    free(text);
    ck_assert_int_eq(h5log_finish(log, "complete", NULL, &err), QA_OK);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *back = h5read_str_dataset(f, "/config");
    ck_assert_double_eq(h5read_f64_attr(f, "/config", "train.lr"), 0.1);
    ck_assert_int_eq(h5read_i64_attr(f, "/config", "train.epochs"), 3);
    char *norm = h5read_str_attr(f, "/config", "data.normalize");
    ck_assert_str_eq(norm, "fixed");
    free(norm);
    H5Fclose(f);
    ck_assert_int_eq(exp_config_defaults(b, &err), QA_OK);
    cfg_doc db = exp_config_doc(b);
    ck_assert_msg(cfg_load_text(&db, back, "run.h5:/config", &err) == QA_OK, "%s", err.msg);
    free(back);
    ck_assert_mem_eq(b, a, offsetof(exp_config, trace));
    unlink(path);
    rmdir(dir);
    free(a);
    free(b);
}
END_TEST

/* A fixed-precision smoke run with the caller's plan (quant.layer_bits),
 * opened and trained in pieces with an evaluation between them when
 * `pieces`, else in one exp_run_main. */
static int library_run(const char *dir, const char *name, const char *plan, int pieces,
                       exp_stats *mid, exp_run_result *res, qa_err *err)
{
    char cfgpath[1024], nm[64], lb[64];
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/smoke.ini", getenv("QADAPT_SOURCE_ROOT"));
    snprintf(nm, sizeof nm, "experiment.name=%s", name);
    snprintf(lb, sizeof lb, "quant.layer_bits=%s", plan);
    char *sets[] = {nm, lb, "experiment.method=fixed", "data.limit=1000", "data.test_limit=300"};
    exp_config *c = malloc(sizeof *c);
    int rc = exp_config_load(c, cfgpath, sets, 5, err);
    exp_run_opts o = {.out_dir = dir, .command = "test_run"};
    if (!rc && !pieces)
        rc = exp_run_main(c, &o, res, err);
    if (!rc && pieces) {
        exp_run *r;
        rc = exp_run_open(&r, c, exp_method_get(c->experiment.method), &o, res, err);
        if (!rc)
            rc = exp_run_train(r, 1, res, err);
        if (!rc)
            rc = exp_run_evaluate(r, EXP_EVAL_TEST, mid, err);
        if (!rc)
            rc = exp_run_train(r, 5, res, err); /* only 1 epoch is left */
        rc = exp_run_close(r, res, rc, err);
    }
    free(c);
    return rc;
}

static double *epochs_column(const char *path, const char *col)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int n;
    double *v = h5read_column(f, "/train/epochs", col, &n);
    H5Fclose(f);
    ck_assert_int_eq(n, 2);
    return v;
}

START_TEST(test_run_library)
{
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0 &&
        qa_test_skip_data("test_run_library", "Fashion-MNIST is not installed"))
        return;
    char dir[64];
    qa_test_tmpdir(dir, sizeof dir, "runlib");
    exp_run_result whole, parts, other;
    exp_stats mid = {0}, mid2 = {0};
    qa_err err = {0};
    ck_assert_msg(library_run(dir, "whole", "4,3", 0, NULL, &whole, &err) == QA_OK, "%s", err.msg);
    ck_assert_msg(library_run(dir, "parts", "4,3", 1, &mid, &parts, &err) == QA_OK, "%s",
                  err.msg);
    ck_assert_msg(library_run(dir, "other", "2,2", 1, &mid2, &other, &err) == QA_OK, "%s",
                  err.msg);
    ck_assert_int_eq(parts.status, EXP_RUN_COMPLETE);
    ck_assert_int_eq(parts.epochs, 2);
    static const char *const same[] = {"train_loss", "train_acc", "test_loss", "test_acc",
                                       "bitops", "lr"};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
        double *a = epochs_column(whole.path, same[k]), *b = epochs_column(parts.path, same[k]);
        ck_assert_mem_eq(a, b, 2 * sizeof *a);
        free(a);
        free(b);
    }
    /* the evaluation between the pieces saw what epoch 1's row logged */
    double *acc = epochs_column(parts.path, "test_acc"), *o = epochs_column(other.path, "bitops");
    double *w = epochs_column(whole.path, "bitops");
    ck_assert_int_eq(mid.n, 300);
    ck_assert_double_eq((double)mid.correct / (double)mid.n, acc[0]);
    ck_assert_double_lt(o[0], w[0]); /* conv2, conv3 at 2 bits cost less than at 4 and 3 */
    free(acc);
    free(o);
    free(w);
    qa_test_rmtree(dir);
}
END_TEST

/* train.epoch_steps = 3: each epoch takes 3 steps, the schedule spans 6
 * (cosine at its end: lr of the last step far below the base), and the
 * run's loss differs from a full pass's. */
START_TEST(test_epoch_steps)
{
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0 &&
        qa_test_skip_data("test_epoch_steps", "Fashion-MNIST is not installed"))
        return;
    char dir[64], cfgpath[1024];
    qa_test_tmpdir(dir, sizeof dir, "epochsteps");
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/smoke.ini", getenv("QADAPT_SOURCE_ROOT"));
    double steps[2][2], loss[2];
    for (int k = 0; k < 2; k++) {
        char *sets[] = {k ? "train.epoch_steps=3" : "train.epoch_steps=0", "data.limit=1000",
                        "data.test_limit=100", "experiment.threads=1"};
        exp_config *c = malloc(sizeof *c);
        qa_err err = {0};
        exp_run_result res;
        exp_run_opts o = {.out_dir = dir, .command = "test_run"};
        ck_assert_int_eq(exp_config_load(c, cfgpath, sets, 4, &err), QA_OK);
        ck_assert_msg(exp_run_main(c, &o, &res, &err) == QA_OK, "%s", err.msg);
        double *st = epochs_column(res.path, "step"), *lr = epochs_column(res.path, "lr");
        double *tl = epochs_column(res.path, "train_loss");
        memcpy(steps[k], st, sizeof steps[k]);
        loss[k] = tl[1];
        if (k)
            ck_assert_double_lt(lr[1], 0.05 * 0.1);
        free(st);
        free(lr);
        free(tl);
        free(c);
    }
    ck_assert_double_eq(steps[0][0], 15); /* 1000 / 64, the short batch dropped */
    ck_assert_double_eq(steps[0][1], 30);
    ck_assert_double_eq(steps[1][0], 3);
    ck_assert_double_eq(steps[1][1], 6);
    ck_assert_double_ne(loss[0], loss[1]);
    qa_test_rmtree(dir);
}
END_TEST

static char *file_bytes(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)*n);
    ck_assert(fread(buf, 1, (size_t)*n, f) == (size_t)*n);
    fclose(f);
    return buf;
}

/* A finished run opened to be read (resume, eval_only, read_only) evaluates
 * as the run did, writes no temporary file while open, and exp_run_discard
 * leaves its file as it was. */
START_TEST(test_run_discard)
{
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0 &&
        qa_test_skip_data("test_run_discard", "Fashion-MNIST is not installed"))
        return;
    char dir[64], part[1100];
    qa_test_tmpdir(dir, sizeof dir, "rundiscard");
    exp_run_result done, res;
    qa_err err = {0};
    ck_assert_msg(library_run(dir, "done", "4,3", 0, NULL, &done, &err) == QA_OK, "%s", err.msg);
    long n0, n1;
    char *before = file_bytes(done.path, &n0);
    exp_config *c = malloc(sizeof *c);
    ck_assert_msg(exp_config_load_run(c, done.path, NULL, 0, &err) == QA_OK, "%s", err.msg);
    exp_run_opts o = {.run_path = done.path, .command = "test_run", .resume = 1,
                      .eval_only = 1, .read_only = 1};
    exp_run *r;
    exp_stats s = {0};
    snprintf(part, sizeof part, "%s.part", done.path);
    int rc = exp_run_open(&r, c, exp_method_get(c->experiment.method), &o, &res, &err);
    if (!rc)
        rc = exp_run_evaluate(r, EXP_EVAL_TEST, &s, &err);
    int part_while_open = access(part, F_OK) == 0;
    exp_run_discard(r);
    ck_assert_msg(rc == QA_OK, "%s", err.msg);
    ck_assert_msg(!part_while_open, "%s was written while the run was open to be read", part);
    ck_assert_int_eq(s.n, 300);
    ck_assert_double_eq((double)s.correct / (double)s.n, done.test_acc);
    char *after = file_bytes(done.path, &n1);
    ck_assert_msg(n0 == n1 && memcmp(before, after, (size_t)n0) == 0, "the run file changed");
    ck_assert_msg(access(part, F_OK) != 0, "%s was left behind", part);
    free(before);
    free(after);
    free(c);
    qa_test_rmtree(dir);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_batch_stage_convert);
    tcase_add_test(tc, test_check_finite);
    tcase_add_test(tc, test_config_through_h5);
    tcase_add_test(tc, test_run_library);
    tcase_add_test(tc, test_epoch_steps);
    tcase_add_test(tc, test_run_discard);
    suite_add_tcase(s, tc);
    return s;
}
