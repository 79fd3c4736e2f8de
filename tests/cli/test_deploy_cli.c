/* test_deploy_cli.c: qadapt export, infer and eval --engine int through the
 * real binary on a one-epoch W8A8 smoke run (seconds), and the embedding
 * example: the run file is left untouched, infer classifies IDX and PNG
 * input, eval --engine int prints the integer engine beside fake
 * quantization on the same images, and bad input (an fp32 run, a damaged
 * model, a missing image, bad usage) is refused with a message and exit
 * code, never a crash. A DQMQ smoke run: the engine picks every image's
 * widths as the fake-quant evaluation does (the same plans, test set and a
 * grid cell), infer prints them, and an oracle policy is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "data/idx.h"
#include "data/png_io.h"
#include "env/quality.h"
#include "h5read.h"
#include "run_bin.h"

static char tmp[64], smoke[1024], run_h5[128], model[128];
static char out_text[1 << 20], err_text[1 << 16];

static int run(char *const args[])
{
    return run_bin(tmp, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

/* the W8A8 smoke run and its model, once per test */
static void setup(void)
{
    run_bin_setup("deploy", tmp, sizeof tmp, smoke, sizeof smoke);
    char *args[] = {"run", smoke, "--out", tmp, "--set", "experiment.method=fixed", "--set",
                    "data.normalize=none", "--set", "quant.w_bits=8", "--set", "quant.a_bits=8",
                    "--set", "train.epochs=1", "--set", "data.limit=2000", "--set",
                    "data.test_limit=300", NULL};
    int code = run(args);
    ck_assert_msg(code == 0, "run: exit %d: %s", code, err_text);
    snprintf(run_h5, sizeof run_h5, "%s/smoke/run.h5", tmp);
    snprintf(model, sizeof model, "%s/smoke.qam", tmp);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

static void file_bytes(const char *path, char **buf, long *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    *buf = malloc((size_t)*n);
    ck_assert(fread(*buf, 1, (size_t)*n, f) == (size_t)*n);
    fclose(f);
}

START_TEST(test_export_infer)
{
    char *before, *after;
    long nb, na;
    file_bytes(run_h5, &before, &nb);
    char *ex[] = {"export", run_h5, model, NULL};
    int code = run(ex);
    ck_assert_msg(code == 0, "export: exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "weights W8 (planned)"));
    file_bytes(run_h5, &after, &na);
    ck_assert_msg(na == nb && memcmp(before, after, (size_t)nb) == 0, "export changed the run file");
    free(before), free(after);
    char idx[1100];
    snprintf(idx, sizeof idx, "%s/t10k-images-idx3-ubyte.gz", DATA_IDX_DEFAULT_DIR);
    struct stat st;
    if (stat(idx, &st) != 0 && qa_test_skip_data("test_export_infer", "no Fashion-MNIST"))
        return;
    char *inf[] = {"infer", model, idx, NULL};
    code = run(inf);
    ck_assert_msg(code == 0, "infer: exit %d: %s", code, err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "#9999\t"));
    /* the run's test set is the first 300 images: the same accuracy there */
    int correct = 0;
    for (int i = 0; i < 300; i++) {
        char key[32];
        snprintf(key, sizeof key, "#%d\t", i);
        int cls = -1, label = -2;
        const char *line = strstr(out_text, key);
        ck_assert_msg(line && sscanf(line + strlen(key), "%d\tlabel %d", &cls, &label) == 2,
                      "no line for image %d", i);
        correct += cls == label;
    }
    hid_t h = H5Fopen(run_h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    double want = h5read_f64_attr(h, "/", "test_acc");
    H5Fclose(h);
    ck_assert_msg(abs(correct - (int)(300.0 * want + 0.5)) <= 1,
                  "infer: %d of the run's 300 test images right, the run says %.4f", correct,
                  want);
    ck_assert_ptr_nonnull(strstr(out_text, "accuracy: "));
}
END_TEST

/* a PNG through infer, a PGM through the example program */
START_TEST(test_png_and_example)
{
    char *ex[] = {"export", run_h5, model, NULL};
    ck_assert_int_eq(run(ex), 0);
    data_image im;
    qa_err err;
    ck_assert_int_eq(data_image_alloc(&im, 28, 28, 1, &err), QA_OK);
    for (int i = 0; i < 28 * 28; i++)
        im.px[i] = (uint8_t)(i % 28 > 8 && i % 28 < 20 ? 200 : 0);
    char png[128], pgm[128];
    snprintf(png, sizeof png, "%s/x.png", tmp);
    snprintf(pgm, sizeof pgm, "%s/x.pgm", tmp);
    ck_assert_int_eq(data_png_write(png, &im, &err), QA_OK);
    FILE *f = fopen(pgm, "wb");
    fprintf(f, "P5 28 28 255\n");
    fwrite(im.px, 1, 28 * 28, f);
    fclose(f);
    data_image_free(&im);
    char *inf[] = {"infer", model, png, NULL};
    ck_assert_int_eq(run(inf), 0);
    int cls = -1;
    char *tab = strchr(out_text, '\t');
    ck_assert_msg(tab && sscanf(tab, "\t%d", &cls) == 1 && cls >= 0 && cls < 10, "%s", out_text);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s %s %s > %s/cls.txt", getenv("QADAPT_CLASSIFY"), model, pgm, tmp);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/cls.txt", tmp);
    f = fopen(cmd, "r");
    int cls2 = -2;
    ck_assert(f && fscanf(f, "%*s %d", &cls2) == 1);
    fclose(f);
    ck_assert_int_eq(cls, cls2);
}
END_TEST

START_TEST(test_eval_int)
{
    char *ev[] = {"eval", run_h5, "--engine", "int", "--corruption", "gaussian_noise",
                  "--severity", "3", NULL};
    int code = run(ev);
    ck_assert_msg(code == 0, "eval: exit %d: %s", code, err_text);
    long n = 0, differ = -1;
    double fake = -1, eng = -2;
    const char *t = strstr(out_text, "\ntest ");
    ck_assert_msg(t && sscanf(t, "\ntest %*d %ld %lf %lf %ld", &n, &fake, &eng, &differ) == 4,
                  "%s", out_text);
    ck_assert_int_eq(n, 300);
    ck_assert_msg(differ <= 3 && (fake - eng) * (fake - eng) <= 1.0, "%s", out_text);
    ck_assert_ptr_nonnull(strstr(out_text, "gaussian_noise         3     300"));
}
END_TEST

START_TEST(test_refused)
{
    char *usage[] = {"export", run_h5, NULL};
    ck_assert_int_eq(run(usage), 2);
    char *ex[] = {"export", run_h5, model, NULL};
    ck_assert_int_eq(run(ex), 0);
    FILE *f = fopen(model, "r+b");
    ck_assert(f && ftruncate(fileno(f), 500) == 0);
    fclose(f);
    char *inf[] = {"infer", model, run_h5, NULL};
    ck_assert_int_eq(run(inf), 1);
    ck_assert_msg(strstr(err_text, "payload bytes") && strstr(err_text, model), "%s", err_text);
    ck_assert_int_eq(run(ex), 0);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/none.png", tmp);
    char *inf2[] = {"infer", model, missing, NULL};
    ck_assert_int_eq(run(inf2), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "no such file"));
    char *fp[] = {"run", smoke, "--out", tmp, "--set", "experiment.name=fp", "--set",
                  "train.epochs=1", "--set", "data.limit=300", "--set", "data.test_limit=100",
                  NULL};
    ck_assert_int_eq(run(fp), 0);
    char fprun[128];
    snprintf(fprun, sizeof fprun, "%s/fp/run.h5", tmp);
    char *exf[] = {"export", fprun, model, NULL};
    ck_assert_int_eq(run(exf), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "method fp32 has no integer model"));
}
END_TEST

/* a DQMQ smoke run on the quality-feature mix (seconds): its policy picks
 * each image's widths in the engine as in the fake-quant evaluation */
static void dqmq_run(const char *name, const char *observation)
{
    char cfg[1100], nm[64], obs[64];
    snprintf(cfg, sizeof cfg, "%s/configs/fmnist-dqmq.ini", getenv("QADAPT_SOURCE_ROOT"));
    snprintf(nm, sizeof nm, "experiment.name=%s", name);
    snprintf(obs, sizeof obs, "agent.observation=%s", observation);
    char *args[] = {"run", cfg, "--out", tmp, "--set", nm, "--set", obs, "--set",
                    "data.limit=640", "--set", "data.test_limit=300", "--set",
                    "train.epochs=2", "--set", "dqmq.warmup=1", "--set", "dqmq.finetune=0",
                    "--set", "eval.grid=false", NULL};
    int code = run(args);
    ck_assert_msg(code == 0, "run %s: exit %d: %s", name, code, err_text);
}

static void dqmq_setup(void)
{
    run_bin_setup("deploy_dqmq", tmp, sizeof tmp, smoke, sizeof smoke);
    snprintf(model, sizeof model, "%s/dqmq.qam", tmp);
}

START_TEST(test_dqmq_widths)
{
    dqmq_run("dq", "features");
    snprintf(run_h5, sizeof run_h5, "%s/dq/run.h5", tmp);
    char *ev[] = {"eval", run_h5, "--engine", "int", "--corruption", "gaussian_noise",
                  "--severity", "4", NULL};
    int code = run(ev);
    ck_assert_msg(code == 0, "eval: exit %d: %s", code, err_text);
    long n = 0, differ = -1, plans = -1;
    const char *t = strstr(out_text, "\ntest ");
    ck_assert_msg(t && sscanf(t, "\ntest %*d %ld %*f %*f %ld %ld", &n, &differ, &plans) == 3,
                  "%s", out_text);
    ck_assert_int_eq(n, 300);
    ck_assert_msg(plans == 0 && differ <= 3, "%s", out_text); /* the same widths per image */
    t = strstr(out_text, "\ngaussian_noise ");
    ck_assert_msg(t && sscanf(t, "\ngaussian_noise %*d %ld %*f %*f %ld %ld", &n, &differ,
                              &plans) == 3, "%s", out_text);
    ck_assert_msg(n == 300 && plans == 0 && differ <= 3, "%s", out_text);
    char *ex[] = {"export", run_h5, model, NULL};
    ck_assert_msg(run(ex) == 0, "%s", err_text);
    char policy[64];
    snprintf(policy, sizeof policy, "policy: %d features", ENV_Q_NFEAT);
    ck_assert_msg(strstr(out_text, policy), "%s", out_text);
    data_image im;
    qa_err err;
    ck_assert_int_eq(data_image_alloc(&im, 28, 28, 1, &err), QA_OK);
    for (int i = 0; i < 28 * 28; i++)
        im.px[i] = (uint8_t)(i * 37 % 251);
    char png[128];
    snprintf(png, sizeof png, "%s/noise.png", tmp);
    ck_assert_int_eq(data_png_write(png, &im, &err), QA_OK);
    data_image_free(&im);
    char *inf[] = {"infer", model, png, NULL};
    ck_assert_msg(run(inf) == 0, "%s", err_text);
    int cls = -1, w0 = 0, w1 = 0;
    const char *tab = strchr(out_text, '\t');
    ck_assert_msg(tab && sscanf(tab, "\t%d\tW%d,%d", &cls, &w0, &w1) == 3, "%s", out_text);
    ck_assert_msg(w0 >= 2 && w0 <= 8 && w1 >= 2 && w1 <= 8, "%s", out_text);
}
END_TEST

/* a policy that reads the true corruption cannot be deployed */
START_TEST(test_dqmq_oracle_refused)
{
    dqmq_run("oracle", "oracle");
    snprintf(run_h5, sizeof run_h5, "%s/oracle/run.h5", tmp);
    char *ex[] = {"export", run_h5, model, NULL};
    ck_assert_int_eq(run(ex), 1);
    ck_assert_msg(strstr(err_text, "oracle") && strstr(err_text, "cannot see"), "%s", err_text);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("deploy_cli");
    TCase *tc = tcase_create("deploy_cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_export_infer);
    tcase_add_test(tc, test_png_and_example);
    tcase_add_test(tc, test_eval_int);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("deploy_dqmq");
    tcase_add_checked_fixture(tc, dqmq_setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_dqmq_widths);
    tcase_add_test(tc, test_dqmq_oracle_refused);
    suite_add_tcase(s, tc);
    return s;
}
