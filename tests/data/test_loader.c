/* test_loader.c: split, per-epoch shuffling, batching, normalisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "data/loader.h"

/* Runs one epoch; counts how often each dataset index appears. */
static int run_epoch(data_loader *dl, int epoch, int *seen, int nseen, int *first_order)
{
    memset(seen, 0, (size_t)nseen * sizeof *seen);
    data_loader_start_epoch(dl, epoch);
    const int *idx;
    int n, total = 0, k = 0;
    while ((n = data_loader_next(dl, &idx)) > 0) {
        ck_assert_int_le(n, dl->cfg.batch);
        for (int i = 0; i < n; i++) {
            ck_assert(idx[i] >= 0 && idx[i] < nseen);
            seen[idx[i]]++;
            if (first_order)
                first_order[k++] = idx[i];
        }
        total += n;
    }
    return total;
}

START_TEST(test_every_index_once)
{
    data_loader dl;
    qa_err err;
    data_loader_cfg cfg = {.batch = 32, .drop_last = 0, .shuffle = 1, .seed = 7};
    ck_assert_int_eq(data_loader_init(&dl, NULL, 1000, &cfg, &err), QA_OK);
    ck_assert_int_eq(data_loader_batches(&dl), 32);
    int seen[1000];
    for (int e = 0; e < 3; e++) {
        ck_assert_int_eq(run_epoch(&dl, e, seen, 1000, NULL), 1000);
        for (int i = 0; i < 1000; i++)
            ck_assert_int_eq(seen[i], 1);
    }
    data_loader_free(&dl);

    cfg.drop_last = 1; /* 1000 = 31 * 32 + 8: the last 8 of each epoch's order are skipped */
    ck_assert_int_eq(data_loader_init(&dl, NULL, 1000, &cfg, &err), QA_OK);
    ck_assert_int_eq(data_loader_batches(&dl), 31);
    ck_assert_int_eq(run_epoch(&dl, 0, seen, 1000, NULL), 992);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_le(seen[i], 1);
    data_loader_free(&dl);
}
END_TEST

START_TEST(test_order_reproducible)
{
    data_loader a, b, c;
    qa_err err;
    data_loader_cfg cfg = {.batch = 10, .drop_last = 0, .shuffle = 1, .seed = 3};
    ck_assert_int_eq(data_loader_init(&a, NULL, 500, &cfg, &err), QA_OK);
    ck_assert_int_eq(data_loader_init(&b, NULL, 500, &cfg, &err), QA_OK);
    cfg.seed = 4;
    ck_assert_int_eq(data_loader_init(&c, NULL, 500, &cfg, &err), QA_OK);
    int seen[500], oa[500], ob[500], oa1[500], oc[500];
    run_epoch(&a, 1, seen, 500, oa1);
    run_epoch(&a, 0, seen, 500, oa);
    run_epoch(&b, 0, seen, 500, ob); /* epoch 0 alone equals epoch 0 after epoch 1 */
    run_epoch(&c, 0, seen, 500, oc);
    ck_assert_mem_eq(oa, ob, sizeof oa);
    int same_epoch = 0, same_seed = 0, moved = 0;
    for (int i = 0; i < 500; i++) {
        same_epoch += oa[i] == oa1[i];
        same_seed += oa[i] == oc[i];
        moved += oa[i] != i;
    }
    ck_assert_int_lt(same_epoch, 10);
    ck_assert_int_lt(same_seed, 10);
    ck_assert_int_gt(moved, 450);
    data_loader_free(&a);
    data_loader_free(&b);
    data_loader_free(&c);
}
END_TEST

START_TEST(test_pool_no_shuffle)
{
    int pool[] = {9, 4, 7, 2, 5};
    data_loader dl;
    qa_err err;
    data_loader_cfg cfg = {.batch = 2, .drop_last = 0, .shuffle = 0, .seed = 1};
    ck_assert_int_eq(data_loader_init(&dl, pool, 5, &cfg, &err), QA_OK);
    const int *idx;
    ck_assert_int_eq(data_loader_next(&dl, &idx), 2);
    ck_assert_int_eq(idx[0], 9);
    ck_assert_int_eq(idx[1], 4);
    ck_assert_int_eq(data_loader_next(&dl, &idx), 2);
    ck_assert_int_eq(data_loader_next(&dl, &idx), 1);
    ck_assert_int_eq(idx[0], 5);
    ck_assert_int_eq(data_loader_next(&dl, &idx), 0);
    data_loader_free(&dl);
    cfg.shuffle = 1;
    ck_assert_int_eq(data_loader_init(&dl, pool, 5, &cfg, &err), QA_OK);
    int seen[10];
    ck_assert_int_eq(run_epoch(&dl, 4, seen, 10, NULL), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(seen[pool[i]], 1);
    data_loader_free(&dl);
}
END_TEST

START_TEST(test_loader_errors)
{
    data_loader dl;
    qa_err err;
    data_loader_cfg cfg = {.batch = 64, .drop_last = 1, .shuffle = 1, .seed = 1};
    ck_assert_int_eq(data_loader_init(&dl, NULL, 50, &cfg, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "no full batch of 64"));
    cfg.batch = 0;
    ck_assert_int_eq(data_loader_init(&dl, NULL, 50, &cfg, &err), QA_ERR_ARG);
    data_split s;
    ck_assert_int_eq(data_split_make(&s, 100, 1.0, 1, &err), QA_ERR_ARG);
    ck_assert_int_eq(data_split_make(&s, 100, -0.1, 1, &err), QA_ERR_ARG);
    ck_assert_int_eq(data_split_make(&s, 0, 0.1, 1, &err), QA_ERR_ARG);
}
END_TEST

START_TEST(test_split)
{
    data_split a, b, c;
    qa_err err;
    ck_assert_int_eq(data_split_make(&a, 1000, 0.1, 5, &err), QA_OK);
    ck_assert_int_eq(data_split_make(&b, 1000, 0.1, 5, &err), QA_OK);
    ck_assert_int_eq(data_split_make(&c, 1000, 0.1, 6, &err), QA_OK);
    ck_assert_int_eq(a.nval, 100);
    ck_assert_int_eq(a.ntrain, 900);
    int where[1000] = {0};
    for (int i = 0; i < a.ntrain; i++)
        where[a.train[i]] |= 1;
    for (int i = 0; i < a.nval; i++)
        where[a.val[i]] |= 2;
    for (int i = 0; i < 1000; i++)
        ck_assert_msg(where[i] == 1 || where[i] == 2, "index %d in %d sets", i, where[i]);
    ck_assert_mem_eq(a.val, b.val, 100 * sizeof *a.val);
    int same = 0, spread = 0;
    for (int i = 0; i < 100; i++) {
        same += a.val[i] == c.val[i];
        spread += a.val[i] >= 500;
        if (i)
            ck_assert_int_gt(a.val[i], a.val[i - 1]);
    }
    ck_assert_int_lt(same, 50);
    ck_assert(spread > 25 && spread < 75); /* not just the first or last images */
    data_split_free(&a);
    data_split_free(&b);
    data_split_free(&c);
    ck_assert_int_eq(data_split_make(&a, 10, 0.0, 5, &err), QA_OK);
    ck_assert_int_eq(a.ntrain, 10);
    ck_assert_int_eq(a.nval, 0);
    ck_assert_int_eq(a.train[9], 9);
    data_split_free(&a);
}
END_TEST

/* Two 1x2 RGB images; channel 0 holds 0 and 255 -> mean 0.5, std 0.5. */
START_TEST(test_stats_and_float)
{
    data_set ds;
    qa_err err;
    ck_assert_int_eq(data_set_alloc(&ds, 2, 1, 2, 3, 10, &err), QA_OK);
    const uint8_t px[12] = {0, 51, 102, 255, 51, 102, 0, 51, 204, 255, 51, 204};
    memcpy(ds.pixels, px, sizeof px);
    ds.labels[0] = 3;
    ds.labels[1] = 8;
    double mean[3], std[3];
    data_channel_stats(&ds, NULL, 2, mean, std);
    ck_assert_double_eq_tol(mean[0], 0.5, 1e-12);
    ck_assert_double_eq_tol(std[0], 0.5, 1e-12);
    ck_assert_double_eq_tol(mean[1], 0.2, 1e-12);
    ck_assert_double_eq_tol(std[1], 0.0, 1e-7);
    ck_assert_double_eq_tol(mean[2], 0.6, 1e-12);
    ck_assert_double_eq_tol(std[2], 0.2, 1e-12);
    int idx1[1] = {1};
    data_channel_stats(&ds, idx1, 1, mean, std);
    ck_assert_double_eq_tol(mean[2], 0.8, 1e-12);

    int order[2] = {1, 0}, labels[2];
    uint8_t staged[12];
    data_gather(&ds, order, 2, staged, labels);
    ck_assert_mem_eq(staged, px + 6, 6);
    ck_assert_int_eq(labels[0], 8);
    ck_assert_int_eq(labels[1], 3);
    float m[3] = {0.5f, 0.2f, 0.6f}, s[3] = {0.5f, 1.0f, 0.2f}, out[12];
    data_images_to_float(staged, 2, 1, 2, 3, m, s, out);
    /* sample 0 is image 1: planes c0 = (0, 255), c1 = (51, 51), c2 = (204, 204);
     * sample 1 is image 0: c2 = (102, 102) */
    const float want[12] = {-1, 1, 0, 0, 1, 1, -1, 1, 0, 0, -1, -1};
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(out[i], want[i], 1e-5f);
    data_set_free(&ds);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("data_loader");
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, test_every_index_once);
    tcase_add_test(tc, test_order_reproducible);
    tcase_add_test(tc, test_pool_no_shuffle);
    tcase_add_test(tc, test_loader_errors);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_stats_and_float);
    suite_add_tcase(s, tc);
    return s;
}
