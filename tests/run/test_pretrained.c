/* test_pretrained.c: a finished run's parameters into a network
 * (run/pretrained.h). Short smoke runs (fp32 and fixed W4A4, one epoch on
 * 600 images, made once for the suite) are loaded into fresh networks:
 * every view equals the checkpoint's values read here with the plain HDF5
 * API (by the saved layout), from the run file's path and the checkpoint's;
 * an fp32 run goes into a quantized net (its quantizer views missing) and a
 * quantized run into an fp32 net (views unused) only when allowed; other
 * architectures, class counts, input shapes, datasets, normalisations and
 * view sizes, unfinished runs, missing and foreign files and checkpoints
 * from before /net are refused with messages naming what differs, the
 * network left as it was. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "experiments/cli/schema.h"
#include "experiments/methods/registry.h"
#include "experiments/run/pretrained.h"
#include "experiments/run/run.h"
#include "h5read.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/models.h"
#include "nn/par.h"
#include "nn/pool.h"
#include "quant/qnet.h"

static char dir[64], fp32_run[1024], fixed_run[1024], short_run[1024];
static int have_data;

/* A smoke run (small, 600 images) of method with more --set arguments
 * (extra: NULL-terminated, may be NULL), trained for `train` of its epochs;
 * its run file's path into path. Returns its status, the message in err. */
static int smoke_run(const char *name, const char *method, const char *epochs, int train,
                     char *const *extra, char *path, size_t n, qa_err *err)
{
    char cfgpath[1024], nm[64], me[64], ep[64];
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/smoke.ini", getenv("QADAPT_SOURCE_ROOT"));
    snprintf(nm, sizeof nm, "experiment.name=%s", name);
    snprintf(me, sizeof me, "experiment.method=%s", method);
    snprintf(ep, sizeof ep, "train.epochs=%s", epochs);
    char *sets[12] = {nm, me, ep, "data.limit=600", "data.test_limit=100", "quant.w_bits=4",
                      "quant.a_bits=4"};
    int nsets = 7;
    for (int i = 0; extra && extra[i] && nsets < 12; i++)
        sets[nsets++] = extra[i];
    exp_config *c = malloc(sizeof *c);
    int rc = exp_config_load(c, cfgpath, sets, nsets, err);
    exp_run_opts o = {.out_dir = dir, .command = "test_pretrained"};
    exp_run_result res;
    exp_run *r = NULL;
    if (!rc)
        rc = exp_run_open(&r, c, exp_method_get(c->experiment.method), &o, &res, err);
    if (!rc)
        rc = exp_run_train(r, train, &res, err);
    rc = exp_run_close(r, &res, rc, err);
    snprintf(path, n, "%s", res.path);
    free(c);
    return rc;
}

static void make_runs(void)
{
    have_data = access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0;
    if (!have_data)
        return;
    qa_test_tmpdir(dir, sizeof dir, "pretrained");
    qa_err err = {0};
    int rc = smoke_run("fp32", "fp32", "1", 1, NULL, fp32_run, sizeof fp32_run, &err);
    if (!rc)
        rc = smoke_run("fixed", "fixed", "1", 1, NULL, fixed_run, sizeof fixed_run, &err);
    if (!rc)
        rc = smoke_run("short", "fp32", "2", 1, NULL, short_run, sizeof short_run, &err);
    ck_assert_msg(rc == QA_OK, "%s", err.msg);
    /* no pool threads across the fork into each test: a child training
     * with the parent's thread count would wait on workers it lacks */
    ck_assert_int_eq(nn_par_set_threads(1, &err), QA_OK);
}

static void remove_runs(void)
{
    if (have_data)
        qa_test_rmtree(dir);
}

static int skip(const char *test)
{
    return !have_data && qa_test_skip_data(test, "Fashion-MNIST is not installed");
}

static nn_net *small_net(int c, int h, int w, int classes)
{
    nn_net *net;
    qa_err err = {0};
    ck_assert_int_eq(nn_model_build(&net, "small", 4, c, h, w, classes, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(net, 99, &err), QA_OK);
    return net;
}

static void ckpt_of(const char *run, char *buf, size_t n)
{
    snprintf(buf, n, "%.*s/ckpt.h5", (int)(strrchr(run, '/') - run), run);
}

static void *read_ds(hid_t g, const char *name, hid_t type, size_t elem, hsize_t *count)
{
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT), sp = H5Dget_space(ds);
    *count = (hsize_t)H5Sget_simple_extent_npoints(sp);
    void *v = malloc((size_t)*count * elem + 1);
    ck_assert_int_ge(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(sp);
    H5Dclose(ds);
    return v;
}

/* Every view of net equals /sets/net of the run's checkpoint at its saved
 * offset (views in file order); returns the views compared. */
static int same_as_ckpt(const nn_net *net, const char *run)
{
    char ck[300];
    ckpt_of(run, ck, sizeof ck);
    hid_t f = H5Fopen(ck, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "/sets/net", H5P_DEFAULT);
    hsize_t nw, nb, nl;
    float *w = read_ds(g, "w", H5T_NATIVE_FLOAT, sizeof(float), &nw);
    float *b = read_ds(g, "buf", H5T_NATIVE_FLOAT, sizeof(float), &nb);
    int64_t *l = read_ds(g, "layout", H5T_NATIVE_INT64, sizeof(int64_t), &nl);
    char *views = h5read_str_attr(f, "/sets/net", "views");
    int compared = 0;
    char *save, *name = strtok_r(views, ",", &save);
    for (int i = 0; name; i++, name = strtok_r(NULL, ",", &save)) {
        int v = nn_params_find(&net->params, name);
        ck_assert_msg(v >= 0, "%s missing from the net", name);
        const float *want = (l[3 * i] ? b : w) + l[3 * i + 1];
        ck_assert_int_eq((int64_t)net->params.views[v].n, l[3 * i + 2]);
        ck_assert_msg(memcmp(nn_params_value(&net->params, v), want,
                             (size_t)l[3 * i + 2] * sizeof(float)) == 0, "%s differs", name);
        compared++;
    }
    ck_assert_int_eq(3 * (hsize_t)compared, nl);
    free(views), free(w), free(b), free(l);
    H5Gclose(g);
    H5Fclose(f);
    return compared;
}

START_TEST(test_load_run_and_ckpt)
{
    if (skip("test_load_run_and_ckpt"))
        return;
    nn_net *net = small_net(1, 28, 28, 10);
    exp_pretrained_want want = {.arch = "small", .dataset = "fmnist"};
    exp_pretrained_info info;
    qa_err err = {0};
    ck_assert_msg(exp_pretrained_load(net, fp32_run, &want, &info, &err) == QA_OK, "%s",
                  err.msg);
    int n = same_as_ckpt(net, fp32_run);
    ck_assert_int_eq(n, net->params.nviews);
    ck_assert_int_eq(info.loaded, n);
    ck_assert_int_eq(info.missing + info.unused, 0);
    ck_assert_int_eq(info.epochs, 1);
    ck_assert_str_eq(info.method, "fp32");
    ck_assert_ptr_nonnull(strstr(info.ckpt, "/ckpt.h5"));
    /* the running statistics came too: not the 0 / 1 a new net starts with */
    int mv = nn_params_find(&net->params, "bn1.running_mean");
    ck_assert_float_ne(nn_params_value(&net->params, mv)[0], 0.0f);
    nn_net *again = small_net(1, 28, 28, 10);
    ck_assert_int_eq(exp_pretrained_load(again, info.ckpt, NULL, NULL, &err), QA_OK);
    ck_assert_int_eq(same_as_ckpt(again, fp32_run), n);
    nn_net_free(again);
    nn_net_free(net);
}
END_TEST

/* net's values before and after a refused load are the same bits */
static void refused(nn_net *net, const char *path, const exp_pretrained_want *want,
                    const char *msg)
{
    size_t bytes = net->params.n * sizeof(float), bbytes = net->params.nbuf * sizeof(float);
    float *w = malloc(bytes + 1), *b = malloc(bbytes + 1);
    memcpy(w, net->params.w, bytes);
    memcpy(b, net->params.buf, bbytes);
    qa_err err = {0};
    ck_assert_int_ne(exp_pretrained_load(net, path, want, NULL, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, msg) != NULL, "'%s' lacks '%s'", err.msg, msg);
    ck_assert_mem_eq(net->params.w, w, bytes);
    ck_assert_mem_eq(net->params.buf, b, bbytes);
    free(w);
    free(b);
}

START_TEST(test_load_mismatch)
{
    if (skip("test_load_mismatch"))
        return;
    nn_net *net = small_net(1, 28, 28, 10);
    exp_pretrained_want arch = {.arch = "resnet20"}, ds = {.dataset = "cifar10"};
    refused(net, fp32_run, &arch, "model.arch = small, not resnet20");
    refused(net, fp32_run, &ds, "data.dataset = fmnist, not cifar10");
    float mean = 0.0f, std = 1.0f; /* smoke.ini normalises with the data's statistics */
    exp_pretrained_want norm = {.mean = &mean, .std = &std};
    refused(net, fp32_run, &norm, "normalised channel 0 of its input with mean 0.2");
    nn_net *five = small_net(1, 28, 28, 5), *wide = small_net(1, 32, 32, 10);
    refused(five, fp32_run, NULL, "the run has 10 classes, the network 5");
    refused(wide, fp32_run, NULL, "the run's input is 1x28x28, the network's 1x32x32");
    nn_net_free(five);
    nn_net_free(wide);
    nn_net_free(net);
}
END_TEST

/* conv1 (8 channels, small has 16) -> pool -> fc: small's names, other sizes */
START_TEST(test_load_view_size)
{
    if (skip("test_load_view_size"))
        return;
    nn_net *net;
    qa_err err = {0};
    ck_assert_int_eq(nn_net_create(&net, 2, 1, 28, 28, &err), QA_OK);
    nn_conv2d_cfg cc = nn_conv2d_cfg_make("conv1", 8, 3, 1, 1);
    int t = nn_conv2d_new(net, &cc, 0, &err);
    nn_pool_cfg pc = {"pool", NN_POOL_GLOBAL_AVG, 0, 0, 0};
    t = nn_pool_new(net, &pc, t, &err);
    nn_dense_cfg dc = {"fc", 10, 1};
    ck_assert_int_ge(nn_dense_new(net, &dc, t, &err), 0);
    ck_assert_int_eq(nn_net_finalize(net, 1, &err), QA_OK);
    exp_pretrained_want lax = {.missing_ok = 1, .unused_ok = 1};
    refused(net, fp32_run, &lax, "view conv1.w holds 144 trainable values, the network's 72 "
                                 "trainable");
    nn_net_free(net);
}
END_TEST

START_TEST(test_load_other_wrapping)
{
    if (skip("test_load_other_wrapping"))
        return;
    nn_net *net;
    q_net *qn;
    qa_err err = {0};
    q_cfg qc;
    q_cfg_defaults(&qc);
    ck_assert_int_eq(q_cfg_parse_cand(&qc, "4", &err), QA_OK);
    ck_assert_int_eq(nn_model_build(&net, "small", 4, 1, 28, 28, 10, &err), QA_OK);
    ck_assert_int_eq(q_net_wrap(&qn, net, &qc, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(net, 3, &err), QA_OK);
    refused(net, fp32_run, NULL, "the network has");
    exp_pretrained_want lax = {.missing_ok = 1};
    exp_pretrained_info info;
    ck_assert_msg(exp_pretrained_load(net, fp32_run, &lax, &info, &err) == QA_OK, "%s", err.msg);
    nn_net *plain = small_net(1, 28, 28, 10);
    ck_assert_int_eq(info.loaded, plain->params.nviews);
    ck_assert_int_eq(info.missing, net->params.nviews - plain->params.nviews);
    ck_assert_ptr_nonnull(strstr(info.first_missing, ".b"));
    /* a quantized run into an fp32 net: its quantizers' views are not used */
    refused(plain, fixed_run, NULL, "parameter views the network lacks");
    exp_pretrained_want skip_q = {.unused_ok = 1};
    ck_assert_msg(exp_pretrained_load(plain, fixed_run, &skip_q, &info, &err) == QA_OK, "%s",
                  err.msg);
    ck_assert_str_eq(info.method, "fixed");
    ck_assert_int_gt(info.unused, 0);
    ck_assert_int_eq(info.loaded, plain->params.nviews);
    q_net_free(qn);
    nn_net_free(plain);
    nn_net_free(net);
}
END_TEST

/* a copy of the fp32 run's checkpoint without the object at `drop` */
static void old_ckpt(const char *drop, char *path, size_t n)
{
    char src[300], cmd[700];
    ckpt_of(fp32_run, src, sizeof src);
    snprintf(path, n, "%s/old.h5", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, path);
    ck_assert_int_eq(system(cmd), 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(f, drop, H5P_DEFAULT), 0);
    H5Fclose(f);
}

START_TEST(test_load_bad_files)
{
    if (skip("test_load_bad_files"))
        return;
    nn_net *net = small_net(1, 28, 28, 10);
    char path[300], cmd[1500];
    refused(net, "/nonexistent/run.h5", NULL, "/nonexistent/run.h5: cannot read the pretrained");
    refused(net, short_run, NULL, "the run is not finished: 1 of its 2 epochs");
    snprintf(path, sizeof path, "%s/text.h5", dir);
    FILE *t = fopen(path, "w");
    fputs("not hdf5\n", t);
    fclose(t);
    refused(net, path, NULL, "cannot open as an HDF5 run file");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    refused(net, path, NULL, "is neither a qadapt run file nor a checkpoint");
    old_ckpt("/net", path, sizeof path);
    refused(net, path, NULL, "/net is missing: written before qadapt could load a run");
    old_ckpt("/sets/net/layout", path, sizeof path);
    refused(net, path, NULL, "/sets/net/layout is missing");
    snprintf(path, sizeof path, "%s/lone/run.h5", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/lone' && cp '%s' '%s'", dir, fp32_run, path);
    ck_assert_int_eq(system(cmd), 0);
    refused(net, path, NULL, "the run's checkpoint");
    nn_net *raw;
    qa_err err = {0};
    ck_assert_int_eq(nn_model_build(&raw, "small", 2, 1, 28, 28, 10, &err), QA_OK);
    ck_assert_int_eq(exp_pretrained_load(raw, fp32_run, NULL, NULL, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "must be finalized"));
    nn_net_free(raw);
    nn_net_free(net);
}
END_TEST

static float *ckpt_view(const char *run, const char *view, size_t *n)
{
    nn_net *net = small_net(1, 28, 28, 10);
    exp_pretrained_want lax = {.unused_ok = 1, .missing_ok = 1};
    qa_err err = {0};
    ck_assert_msg(exp_pretrained_load(net, run, &lax, NULL, &err) == QA_OK, "%s", err.msg);
    int v = nn_params_find(&net->params, view);
    *n = net->params.views[v].n;
    float *copy = malloc(*n * sizeof *copy);
    memcpy(copy, nn_params_value(&net->params, v), *n * sizeof *copy);
    nn_net_free(net);
    return copy;
}

/* [model] pretrained: a W4A4 run at lr 1e-8 keeps the fp32 run's weights (its
 * quantizer steps start from them); without the key it keeps its own; a run
 * of another arch is refused naming the key. */
START_TEST(test_model_pretrained)
{
    if (skip("test_model_pretrained"))
        return;
    char set[1200], from[1024], own[1024], bad[1024];
    qa_err err = {0};
    snprintf(set, sizeof set, "model.pretrained=%s", fp32_run);
    char *pre[] = {set, "train.lr=1e-8", NULL}, *none[] = {"train.lr=1e-8", NULL},
         *other[] = {set, "model.arch=resnet20", NULL};
    ck_assert_msg(smoke_run("from", "fixed", "1", 1, pre, from, sizeof from, &err) == QA_OK,
                  "%s", err.msg);
    ck_assert_int_eq(smoke_run("own", "fixed", "1", 1, none, own, sizeof own, &err), QA_OK);
    size_t n, m, k;
    float *a = ckpt_view(fp32_run, "conv2.w", &n), *b = ckpt_view(from, "conv2.w", &m);
    float *c = ckpt_view(own, "conv2.w", &k);
    ck_assert_int_eq(n, m);
    double moved = 0, other_init = 0;
    for (size_t i = 0; i < n; i++) {
        moved = fmax(moved, fabs(a[i] - b[i]));
        other_init = fmax(other_init, fabs(a[i] - c[i]));
    }
    ck_assert_double_lt(moved, 1e-5);
    ck_assert_double_gt(other_init, 1e-2);
    free(a), free(b), free(c);
    ck_assert_int_ne(smoke_run("bad", "fp32", "1", 1, other, bad, sizeof bad, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, "model.pretrained (--set ") &&
                  strstr(err.msg, "model.arch = small, not resnet20"), "%s", err.msg);
    ck_assert_ptr_null(strstr(err.msg, "train that run first"));
    char *missing[] = {"model.pretrained=/nonexistent/run.h5", NULL};
    ck_assert_int_ne(smoke_run("bad", "fp32", "1", 1, missing, bad, sizeof bad, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, "model.pretrained (--set ") &&
                  strstr(err.msg, "No such file") &&
                  strstr(err.msg, "train that run first: `qadapt run` of a config with "
                                  "model.arch = small"), "%s", err.msg);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("pretrained");
    TCase *tc = tcase_create("pretrained");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, make_runs, remove_runs);
    tcase_add_test(tc, test_load_run_and_ckpt);
    tcase_add_test(tc, test_load_mismatch);
    tcase_add_test(tc, test_load_view_size);
    tcase_add_test(tc, test_load_other_wrapping);
    tcase_add_test(tc, test_load_bad_files);
    tcase_add_test(tc, test_model_pretrained);
    suite_add_tcase(s, tc);
    return s;
}
