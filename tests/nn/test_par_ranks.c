/* test_par_ranks.c: which shares a rank of a data-parallel job computes
 * and what it exchanges (nn/par_ranks.c), with an in-process stand-in for
 * the hook that records each allgather's counts and displacements. */
#include <string.h>

#include "check_main.h"
#include "nn/par.h"

static long got_counts[4], got_displs[4];
static int calls;

static void fake_allgather(void *ctx, void *buf, const long *counts, const long *displs)
{
    (void)ctx;
    (void)buf;
    calls++;
    for (int r = 0; r < 3; r++) {
        got_counts[r] = counts[r];
        got_displs[r] = displs[r];
    }
}

/* rank `rank` of 3, S = 8: rank 0 owns shares 0-1, rank 1 2-4, rank 2 5-7 */
static void as_rank(int rank)
{
    nn_par_ranks r = {.rank = rank, .nranks = 3, .allgather = fake_allgather};
    nn_par_set_ranks(&r);
    calls = 0;
}

static void teardown(void)
{
    nn_par_set_ranks(NULL);
}

START_TEST(test_owned_shares)
{
    ck_assert_int_eq(nn_par_shares(), 8);
    as_rank(1);
    ck_assert(nn_par_ranked());
    for (int s = 0; s < 8; s++)
        ck_assert_int_eq(nn_par_owns(64, s, 8), s >= 2 && s <= 4);
    /* one sample a share (a dense layer's rows): samples 16..39 of 64 */
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(nn_par_owns(64, i, 64), i >= 16 && i < 40);
    /* fewer samples than shares (ns = n): 5 samples over the 8 shares'
     * ranges, rank 1's shares 2-4 hold samples 1 and 2 */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(nn_par_owns(5, i, 5), i == 1 || i == 2);
    nn_par_set_ranks(NULL);
    ck_assert(!nn_par_ranked());
    for (int s = 0; s < 8; s++)
        ck_assert(nn_par_owns(64, s, 8));
}
END_TEST

static void record(void *arg, int s, int ns)
{
    (void)ns;
    ((int *)arg)[s]++;
}

START_TEST(test_run_owned_and_whole)
{
    int ran[8] = {0};
    as_rank(2);
    nn_par_run_owned(record, ran, 8, NN_PAR_MAX_THREADS, 64);
    for (int s = 0; s < 8; s++)
        ck_assert_int_eq(ran[s], s >= 5);
    nn_par_whole(1);
    ck_assert(!nn_par_ranked());
    nn_par_run_owned(record, ran, 8, NN_PAR_MAX_THREADS, 64);
    float block[8];
    nn_par_gather(block, sizeof block[0], 64, 0, 8);
    nn_par_whole(0);
    for (int s = 0; s < 8; s++)
        ck_assert_int_eq(ran[s], 1 + (s >= 5));
    ck_assert_int_eq(calls, 0);
    ck_assert(nn_par_ranked());
}
END_TEST

START_TEST(test_gather_layout)
{
    float part[7];
    as_rank(0);
    /* shares 1..7 of 8 (a convolution's partials: share 0's are elsewhere) */
    nn_par_gather(part, sizeof part[0], 64, 1, 8);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(got_counts[0], 4);
    ck_assert_int_eq(got_displs[0], 0);
    ck_assert_int_eq(got_counts[1], 12);
    ck_assert_int_eq(got_displs[1], 4);
    ck_assert_int_eq(got_counts[2], 12);
    ck_assert_int_eq(got_displs[2], 16);
    /* share 0 of 1: rank 0's block only */
    nn_par_gather(part, sizeof part, 64, 0, 1);
    ck_assert_int_eq(got_counts[0], (long)sizeof part);
    ck_assert_int_eq(got_counts[1] + got_counts[2], 0);
    nn_par_set_ranks(NULL);
    nn_par_gather(part, sizeof part[0], 64, 1, 8);
    ck_assert_int_eq(calls, 2);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_par_ranks");
    TCase *tc = tcase_create("par_ranks");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_owned_shares);
    tcase_add_test(tc, test_run_owned_and_whole);
    tcase_add_test(tc, test_gather_layout);
    suite_add_tcase(s, tc);
    return s;
}
