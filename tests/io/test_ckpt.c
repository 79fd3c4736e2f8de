/* test_ckpt.c: the checkpoint file in process: the methods' put/get round
 * trip for every type (bit for bit, empty arrays), get errors (absent
 * name, other type, other count, bad names, nothing saved), the atomic
 * commit (the old file stays whole until the rename, no temporary left),
 * an abandoned checkpoint leaving nothing, and files that are not
 * checkpoints. Whole runs and --resume: test_resume.c. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_main.h"
#include "experiments/run/checkpoint.h"

static char tmp[64], path[128], tmp_path[160];

static void setup(void)
{
    qa_test_tmpdir(tmp, sizeof tmp, "ckpt");
    snprintf(path, sizeof path, "%s/ckpt.h5", tmp);
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", path);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* A checkpoint holding f32 "steps" (3), f64 "baseline" (1, NaN payload
 * included), i64 "counter" and u8 "bytes" (empty when nbytes = 0). */
static void write_ckpt(float first, size_t nbytes)
{
    exp_ckpt *ck;
    qa_err err = {0};
    ck_assert_msg(exp_ckpt_create(&ck, path, &err) == QA_OK, "%s", err.msg);
    ck_assert(exists(tmp_path));
    float steps[3] = {first, -0.0f, 1e-30f};
    double base[2] = {0.1, NAN};
    int64_t counter = INT64_MIN + 7;
    uint8_t bytes[4] = {0, 255, 7, 128};
    ck_assert_int_eq(exp_ckpt_put(ck, "steps", EXP_CKPT_F32, steps, 3, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_put(ck, "baseline", EXP_CKPT_F64, base, 2, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_put(ck, "counter", EXP_CKPT_I64, &counter, 1, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_put(ck, "bytes", EXP_CKPT_U8, bytes, nbytes, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_put(ck, "a/b", EXP_CKPT_U8, bytes, 1, &err), QA_ERR_ARG);
    ck_assert_int_eq(exp_ckpt_put(ck, "", EXP_CKPT_U8, bytes, 1, &err), QA_ERR_ARG);
    ck_assert_msg(exp_ckpt_commit(ck, &err) == QA_OK, "%s", err.msg);
    ck_assert(exists(path) && !exists(tmp_path));
}

START_TEST(test_put_get_round_trip)
{
    write_ckpt(1.5f, 4);
    exp_ckpt *ck;
    qa_err err = {0};
    ck_assert_msg(exp_ckpt_read(&ck, path, &err) == QA_OK, "%s", err.msg);
    float steps[3];
    double base[2];
    int64_t counter;
    uint8_t bytes[4];
    ck_assert_int_eq(exp_ckpt_get(ck, "steps", EXP_CKPT_F32, steps, 3, &err), QA_OK);
    float want[3] = {1.5f, -0.0f, 1e-30f};
    ck_assert_int_eq(memcmp(steps, want, sizeof want), 0);
    ck_assert_int_eq(exp_ckpt_get(ck, "baseline", EXP_CKPT_F64, base, 2, &err), QA_OK);
    ck_assert(base[0] == 0.1 && isnan(base[1]));
    ck_assert_int_eq(exp_ckpt_get(ck, "counter", EXP_CKPT_I64, &counter, 1, &err), QA_OK);
    ck_assert(counter == INT64_MIN + 7);
    ck_assert_int_eq(exp_ckpt_get(ck, "bytes", EXP_CKPT_U8, bytes, 4, &err), QA_OK);
    ck_assert(bytes[1] == 255 && bytes[3] == 128);

    ck_assert_int_eq(exp_ckpt_get(ck, "nope", EXP_CKPT_F32, steps, 3, &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "/method/nope is missing"), "%s", err.msg);
    ck_assert_int_eq(exp_ckpt_get(ck, "steps", EXP_CKPT_F64, base, 2, &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "/method/steps holds f32 values, f64 expected"), "%s", err.msg);
    ck_assert_int_eq(exp_ckpt_get(ck, "steps", EXP_CKPT_F32, steps, 2, &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "holds 3 values") && strstr(err.msg, "the 2 the run expects"),
                  "%s", err.msg);
    ck_assert_int_eq(exp_ckpt_get(ck, "../steps", EXP_CKPT_F32, steps, 3, &err), QA_ERR_ARG);
    ck_assert_int_eq(exp_ckpt_put(ck, "x", EXP_CKPT_F32, steps, 1, &err), QA_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "opened for reading"), "%s", err.msg);
    exp_ckpt_close(ck);
    ck_assert(exists(path)); /* closing a read checkpoint keeps it */
}
END_TEST

START_TEST(test_empty_and_no_method_state)
{
    write_ckpt(2.0f, 0);
    exp_ckpt *ck;
    qa_err err = {0};
    ck_assert_int_eq(exp_ckpt_read(&ck, path, &err), QA_OK);
    uint8_t b;
    ck_assert_int_eq(exp_ckpt_get(ck, "bytes", EXP_CKPT_U8, &b, 0, &err), QA_OK);
    exp_ckpt_close(ck);
    /* a checkpoint with no method state at all */
    ck_assert_int_eq(exp_ckpt_create(&ck, path, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_commit(ck, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_read(&ck, path, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_get(ck, "steps", EXP_CKPT_F32, &b, 1, &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "the method saved no state"), "%s", err.msg);
    exp_ckpt_close(ck);
}
END_TEST

/* Until the commit, the previous checkpoint is the one on disk; an
 * abandoned one leaves no temporary file. */
START_TEST(test_atomic_replace)
{
    write_ckpt(1.0f, 4);
    exp_ckpt *w, *r;
    qa_err err = {0};
    float v = 0;
    ck_assert_int_eq(exp_ckpt_create(&w, path, &err), QA_OK);
    float two = 2.0f;
    ck_assert_int_eq(exp_ckpt_put(w, "steps", EXP_CKPT_F32, &two, 1, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_read(&r, path, &err), QA_OK); /* mid-write: still the old one */
    float old[3];
    ck_assert_int_eq(exp_ckpt_get(r, "steps", EXP_CKPT_F32, old, 3, &err), QA_OK);
    ck_assert(old[0] == 1.0f);
    exp_ckpt_close(r);
    exp_ckpt_close(w); /* abandoned */
    ck_assert(!exists(tmp_path) && exists(path));
    ck_assert_int_eq(exp_ckpt_read(&r, path, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_get(r, "steps", EXP_CKPT_F32, old, 3, &err), QA_OK);
    exp_ckpt_close(r);

    ck_assert_int_eq(exp_ckpt_create(&w, path, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_put(w, "steps", EXP_CKPT_F32, &two, 1, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_commit(w, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_read(&r, path, &err), QA_OK);
    ck_assert_int_eq(exp_ckpt_get(r, "steps", EXP_CKPT_F32, &v, 1, &err), QA_OK);
    ck_assert(v == 2.0f);
    exp_ckpt_close(r);
}
END_TEST

START_TEST(test_not_a_checkpoint)
{
    exp_ckpt *ck;
    qa_err err = {0};
    ck_assert_int_eq(exp_ckpt_read(&ck, path, &err), QA_ERR_IO);
    ck_assert_msg(strstr(err.msg, "no checkpoint to resume from"), "%s", err.msg);
    FILE *f = fopen(path, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    ck_assert_int_eq(exp_ckpt_read(&ck, path, &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "not a readable checkpoint"), "%s", err.msg);
    /* an HDF5 file without the checkpoint's attributes */
    hid_t h = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(h);
    ck_assert_int_eq(exp_ckpt_read(&ck, path, &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "attribute format of / is missing"), "%s", err.msg);
    char other[160];
    snprintf(other, sizeof other, "%s/run", tmp);
    exp_ckpt_path("runs/x/run.h5", other, sizeof other);
    ck_assert_str_eq(other, "runs/x/ckpt.h5");
    exp_ckpt_path("run.h5", other, sizeof other);
    ck_assert_str_eq(other, "ckpt.h5");
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("ckpt");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_put_get_round_trip);
    tcase_add_test(tc, test_empty_and_no_method_state);
    tcase_add_test(tc, test_atomic_replace);
    tcase_add_test(tc, test_not_a_checkpoint);
    suite_add_tcase(s, tc);
    return s;
}
