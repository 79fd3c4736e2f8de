/* test_search.c: the HAQ search's agents (agent/search.h, replay.h):
 *   - the replay buffer before and after it wraps: which transitions it
 *     holds, in which order, with every field, and draws only those;
 *   - DDPG on a one-step problem, reward -(a - 0.8)^2: the actor's action
 *     moves from about 0.5 to the optimum; the exploration spread decays
 *     0.99 per episode from the end of warm-up; the target networks start
 *     as copies and follow by tau per update;
 *   - REINFORCE: after an episode with reward above the baseline the
 *     probability of the action taken rises, below it falls (a sign error
 *     fails both); on a four-armed bandit the greedy action becomes the
 *     best arm;
 *   - save/load: an agent stopped after 12 episodes and restored into a new
 *     one continues with the same actions and ends with the same state, bit
 *     for bit, as the one never stopped (both agents); a corrupt counter is
 *     refused;
 *   - bad configurations and a NaN reward are errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/replay.h"
#include "agent/search.h"
#include "check_main.h"

START_TEST(test_replay_wrap)
{
    qa_err err;
    agent_replay rb;
    ck_assert_int_eq(agent_replay_init(&rb, 2, 3, &err), QA_OK);
    for (int i = 0; i < 5; i++) {
        float s[2] = {(float)i, -(float)i}, s2[2] = {(float)i + 1, -(float)i - 1};
        agent_replay_push(&rb, s, 0.1f * (float)i, 10.0f * (float)i, s2, i == 4);
        ck_assert_int_eq(agent_replay_size(&rb), i < 3 ? i + 1 : 3);
        if (i == 1)
            ck_assert_float_eq(agent_replay_row(&rb, 0)[0], 0.0f);
    }
    ck_assert_int_eq(rb.count, 5);
    for (int j = 0; j < 3; j++) { /* transitions 2, 3, 4, oldest first */
        const float *row = agent_replay_row(&rb, j);
        float i = (float)(j + 2);
        ck_assert_float_eq(row[0], i);
        ck_assert_float_eq(row[1], -i);
        ck_assert_float_eq(agent_replay_a(&rb, row), 0.1f * i);
        ck_assert_float_eq(agent_replay_r(&rb, row), 10.0f * i);
        ck_assert_float_eq(agent_replay_s2(&rb, row)[0], i + 1);
        ck_assert_float_eq(agent_replay_s2(&rb, row)[1], -i - 1);
        ck_assert_float_eq(agent_replay_done(&rb, row), j == 2 ? 1.0f : 0.0f);
    }
    nn_rng r;
    nn_rng_init(&r, 1, NN_STREAM_TEST, 0, 0);
    const float *rows[300];
    agent_replay_sample(&rb, &r, rows, 300);
    int seen[5] = {0};
    for (int i = 0; i < 300; i++)
        seen[(int)rows[i][0]]++;
    ck_assert_int_eq(seen[0] + seen[1], 0);
    for (int i = 2; i < 5; i++)
        ck_assert_int_gt(seen[i], 60);
    agent_replay_free(&rb);
}
END_TEST

static agent_search *make(int kind, int dim, int steps, int nbins, int warmup, float lr)
{
    agent_search_cfg c;
    agent_search_defaults(&c, kind);
    c.dim = dim;
    c.max_steps = steps;
    c.nbins = nbins;
    c.hidden = 32;
    c.warmup = warmup;
    c.lr_actor = lr;
    c.batch = 16;
    c.replay = 64;
    qa_err err;
    agent_search *s;
    ck_assert_msg(agent_search_create(&s, &c, 11, &err) == QA_OK, "%s", err.msg);
    return s;
}

static const float STATE[3] = {0.2f, -0.4f, 1.0f};

/* HAQ's settings but for the smaller nets: 20 random episodes, then the
 * spread 0.5 decaying 0.99 per episode (0.014 at the end), actor lr 1e-4,
 * one update per episode. The actor starts near 0.5 and comes within 0.07
 * of either optimum (0.04 at most over nine seeds tried; a wrong sign of
 * the actor's gradient ends at the far end). */
START_TEST(test_ddpg_toy)
{
    static const float opt[2] = {0.8f, 0.2f};
    qa_err err;
    for (int o = 0; o < 2; o++) {
        agent_search *s = make(AGENT_SEARCH_DDPG, 3, 1, 0, 20, 1e-4f);
        float a0 = agent_search_greedy(s, STATE);
        ck_assert(a0 > 0.4f && a0 < 0.6f);
        for (int e = 0; e < 360; e++) {
            double sigma = e < 20 ? 0.0 : 0.5 * pow(0.99, e - 20.0);
            ck_assert_double_eq_tol(agent_search_sigma(s), sigma, 1e-6);
            float a = agent_search_act(s, STATE);
            ck_assert(a >= 0.0f && a <= 1.0f);
            ck_assert_int_eq(agent_search_end(s, -(a - opt[o]) * (a - opt[o]), &err), QA_OK);
        }
        float a1 = agent_search_greedy(s, STATE);
        ck_assert_msg(fabsf(a1 - opt[o]) < 0.07f, "actor at %g, started at %g, optimum %g", a1,
                      a0, opt[o]);
        agent_search_free(s);
    }
}
END_TEST

/* The taken action's probability after one update with reward R, the
 * baseline set to 0 by a first episode. */
static void reinforce_after(float R, float *before, float *after, int *bin)
{
    agent_search *s = make(AGENT_SEARCH_REINFORCE, 3, 1, 4, 0, 1e-2f);
    qa_err err;
    agent_search_act(s, STATE);
    ck_assert_int_eq(agent_search_end(s, 0.0f, &err), QA_OK);
    float p[4];
    agent_search_reinforce_probs(s, STATE, p);
    *bin = (int)(agent_search_act(s, STATE) * 4.0f);
    *before = p[*bin];
    ck_assert_int_eq(agent_search_end(s, R, &err), QA_OK);
    agent_search_reinforce_probs(s, STATE, p);
    *after = p[*bin];
    agent_search_free(s);
}

START_TEST(test_reinforce_sign)
{
    float before, after;
    int bin;
    reinforce_after(1.0f, &before, &after, &bin);
    ck_assert_msg(after > before + 0.01f, "reward above the baseline: p(%d) %g -> %g", bin,
                  before, after);
    reinforce_after(-1.0f, &before, &after, &bin);
    ck_assert_msg(after < before - 0.01f, "reward below the baseline: p(%d) %g -> %g", bin,
                  before, after);
}
END_TEST

START_TEST(test_reinforce_bandit)
{
    static const float reward[4] = {0.1f, 0.5f, 1.0f, 0.3f};
    agent_search *s = make(AGENT_SEARCH_REINFORCE, 3, 1, 4, 5, 1e-2f);
    qa_err err;
    for (int e = 0; e < 300; e++) {
        int k = (int)(agent_search_act(s, STATE) * 4.0f);
        ck_assert_int_eq(agent_search_end(s, reward[k], &err), QA_OK);
    }
    ck_assert_float_eq(agent_search_greedy(s, STATE), 2.5f / 4.0f);
    float p[4];
    agent_search_reinforce_probs(s, STATE, p);
    ck_assert_float_gt(p[2], 0.8f);
    agent_search_free(s);
}
END_TEST

/* ---- save/load through an in-memory store ---- */

typedef struct {
    char name[64];
    int type;
    size_t n;
    void *v;
} item;

typedef struct {
    item it[32];
    int n, next, loading;
} store;

static size_t val_size(int type)
{
    return type == AGENT_VAL_F32 ? 4 : 8;
}

static int store_fn(void *ctx, const char *name, agent_val_type type, void *v, size_t n,
                    qa_err *err)
{
    store *st = ctx;
    if (!st->loading) {
        ck_assert_int_lt(st->n, 32);
        item *it = &st->it[st->n++];
        snprintf(it->name, sizeof it->name, "%s", name);
        it->type = (int)type;
        it->n = n;
        it->v = malloc(n * val_size(type) + 1);
        memcpy(it->v, v, n * val_size(type));
        return QA_OK;
    }
    item *it = &st->it[st->next++];
    if (strcmp(it->name, name) || it->type != (int)type || it->n != n)
        return qa_fail(err, QA_ERR_FORMAT, "store: %s does not match %s", name, it->name);
    memcpy(v, it->v, n * val_size(type));
    return QA_OK;
}

static void store_free(store *st)
{
    for (int i = 0; i < st->n; i++)
        free(st->it[i].v);
}

static void save(agent_search *s, store *st)
{
    qa_err err;
    memset(st, 0, sizeof *st);
    ck_assert_msg(agent_search_state(s, store_fn, st, &err) == QA_OK, "%s", err.msg);
}

/* episodes [from, to) of 3 steps, reward a function of the actions; the
 * actions into acts */
static void run(agent_search *s, int from, int to, float *acts)
{
    qa_err err;
    for (int e = from; e < to; e++) {
        float st[3] = {0.0f, 1.0f, 0.5f}, sum = 0.0f;
        for (int t = 0; t < 3; t++) {
            st[0] = (float)t / 2.0f;
            float a = acts[e * 3 + t] = agent_search_act(s, st);
            st[2] = a;
            sum += (a - 0.3f * (float)t) * (a - 0.3f * (float)t);
        }
        ck_assert_int_eq(agent_search_end(s, -sum, &err), QA_OK);
    }
}

static const item *find(const store *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->it[i].name, name) == 0)
            return &st->it[i];
    ck_abort_msg("%s not in the state", name);
    return NULL;
}

/* The targets start as copies of their nets and then follow them by
 * tau = 0.01 per update: t1 = t0 + tau (w1 - t0) after one update. */
START_TEST(test_ddpg_targets)
{
    static const char *const nets[2][2] = {{"actor.w", "actor_target.w"},
                                           {"critic.w", "critic_target.w"}};
    agent_search *s = make(AGENT_SEARCH_DDPG, 3, 1, 0, 1, 1e-3f);
    store st0, st1;
    qa_err err;
    agent_search_act(s, STATE);
    ck_assert_int_eq(agent_search_end(s, 0.5f, &err), QA_OK); /* warm-up: no update */
    save(s, &st0);
    agent_search_act(s, STATE);
    ck_assert_int_eq(agent_search_end(s, 0.2f, &err), QA_OK); /* one update */
    save(s, &st1);
    for (int k = 0; k < 2; k++) {
        const float *w0 = find(&st0, nets[k][0])->v, *t0 = find(&st0, nets[k][1])->v;
        const float *w1 = find(&st1, nets[k][0])->v, *t1 = find(&st1, nets[k][1])->v;
        size_t n = find(&st0, nets[k][0])->n, moved = 0;
        ck_assert_mem_eq(w0, t0, n * sizeof *w0);
        for (size_t j = 0; j < n; j++) {
            ck_assert_float_eq_tol(t1[j], t0[j] + 0.01f * (w1[j] - t0[j]), 1e-7f);
            moved += w1[j] != w0[j];
        }
        ck_assert_uint_gt(moved, n / 2);
    }
    store_free(&st0);
    store_free(&st1);
    agent_search_free(s);
}
END_TEST

static void check_resume(int kind)
{
    float acts[2][30 * 3];
    agent_search *a = make(kind, 3, 3, 5, 4, 1e-3f), *b = make(kind, 3, 3, 5, 4, 1e-3f);
    store mid, end_a, end_b;
    run(a, 0, 12, acts[0]);
    save(a, &mid);
    run(a, 12, 30, acts[0]);
    save(a, &end_a);
    mid.loading = 1;
    qa_err err;
    ck_assert_msg(agent_search_state(b, store_fn, &mid, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(b->episode, 12);
    run(b, 12, 30, acts[1]);
    save(b, &end_b);
    ck_assert_mem_eq(acts[0] + 36, acts[1] + 36, 18 * 3 * sizeof(float));
    ck_assert_int_eq(end_a.n, end_b.n);
    for (int i = 0; i < end_a.n; i++)
        ck_assert_msg(memcmp(end_a.it[i].v, end_b.it[i].v,
                             end_a.it[i].n * val_size(end_a.it[i].type)) == 0,
                      "%s differs after the resume", end_a.it[i].name);
    /* a negative counter is refused */
    int64_t bad = -3;
    end_a.loading = 1;
    ck_assert_str_eq(end_a.it[0].name, "episode");
    memcpy(end_a.it[0].v, &bad, sizeof bad);
    ck_assert_int_eq(agent_search_state(b, store_fn, &end_a, &err), QA_ERR_FORMAT);
    store_free(&mid);
    store_free(&end_a);
    store_free(&end_b);
    agent_search_free(a);
    agent_search_free(b);
}

START_TEST(test_ddpg_resume)
{
    check_resume(AGENT_SEARCH_DDPG);
}
END_TEST

START_TEST(test_reinforce_resume)
{
    check_resume(AGENT_SEARCH_REINFORCE);
}
END_TEST

START_TEST(test_errors)
{
    agent_search_cfg c;
    agent_search *s;
    qa_err err;
    agent_search_defaults(&c, AGENT_SEARCH_REINFORCE);
    c.dim = 3;
    c.max_steps = 2;
    c.nbins = 1;
    ck_assert_int_eq(agent_search_create(&s, &c, 1, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "widths"));
    agent_search_defaults(&c, AGENT_SEARCH_DDPG);
    c.dim = 0;
    ck_assert_int_eq(agent_search_create(&s, &c, 1, &err), QA_ERR_ARG);
    c.dim = 3;
    c.max_steps = 2;
    c.tau = 0.0f;
    ck_assert_int_eq(agent_search_create(&s, &c, 1, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "tau"));
    s = make(AGENT_SEARCH_DDPG, 3, 2, 0, 0, 1e-3f);
    ck_assert_int_eq(agent_search_end(s, 0.0f, &err), QA_ERR_ARG);
    agent_search_act(s, STATE);
    ck_assert_int_eq(agent_search_end(s, NAN, &err), QA_ERR_NUMERIC);
    agent_search_free(s);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("agent_search");
    TCase *tc = tcase_create("search");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_replay_wrap);
    tcase_add_test(tc, test_ddpg_toy);
    tcase_add_test(tc, test_reinforce_sign);
    tcase_add_test(tc, test_reinforce_bandit);
    tcase_add_test(tc, test_ddpg_targets);
    tcase_add_test(tc, test_ddpg_resume);
    tcase_add_test(tc, test_reinforce_resume);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}
