/* test_qam.c: the model file. Lowering then writing then reading gives
 * back every field (a re-encoding is byte-identical and the fields are
 * compared one by one), weights packed at 2..8 bits unpack to the same
 * codes, and damaged files are refused with a message naming the problem:
 * foreign, other version, truncated anywhere, a flipped byte, a field out
 * of range. And a DQMQ model: its policy, run by the engine on each
 * image's quality features, picks the widths the policy itself picks. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "check_main.h"
#include "deploy/engine.h"
#include "deploy/lower.h"
#include "env/quality.h"
#include "nn/models.h"

#define NB 16
#define SIDE 28

static const float ZERO[3] = {0, 0, 0}, ONE[3] = {1, 1, 1};

typedef struct {
    nn_net *net;
    q_net *qn;
    agent_policy *pol;
    uint8_t px[NB * SIDE * SIDE];
} fixture;

static void make(fixture *f, int with_policy)
{
    qa_err err;
    q_cfg cfg;
    q_cfg_defaults(&cfg); /* candidates 2, 3, 4, 6, 8 */
    cfg.input_domain = Q_INPUT_UNSIGNED;
    ck_assert_int_eq(nn_model_build(&f->net, "small", NB, 1, SIDE, SIDE, 10, &err), QA_OK);
    ck_assert_int_eq(q_net_wrap(&f->qn, f->net, &cfg, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(f->net, 4, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 4, NN_STREAM_TEST, 3, 0);
    for (int i = 0; i < NB * SIDE * SIDE; i++)
        f->px[i] = (uint8_t)(i % 97 < 40 ? 0 : nn_rng_u32(&r) % 256);
    for (int k = 0; k < cfg.ncand; k++) {
        q_plan_set_hard(f->qn->plan, NB, cfg.cand[k], cfg.cand[k], NULL, NULL, &err);
        nn_net_forward(f->net, NB, 1);
    }
    f->pol = NULL;
    if (!with_policy)
        return;
    agent_policy_cfg pc = {.nin = ENV_Q_NFEAT, .hidden = 8, .nlayers = f->qn->plan->nlayers,
                           .ncand = cfg.ncand, .tied = 1, .head = AGENT_HEAD_DQMQ,
                           .sigma_min = 0.3f, .sigma_max = 1.0f, .max_batch = NB};
    memcpy(pc.cand, cfg.cand, sizeof pc.cand);
    ck_assert_int_eq(agent_policy_create(&f->pol, &pc, 9, &err), QA_OK);
    for (size_t i = 0; i < f->pol->params.n; i++) /* a policy that reacts to its input */
        f->pol->params.w[i] = 2.0f * nn_rng_normal(&r);
}

static void unmake(fixture *f)
{
    agent_policy_free(f->pol);
    q_net_free(f->qn);
    nn_net_free(f->net);
}

static void lower(const fixture *f, dep_model *m)
{
    int fw[Q_MAX_LAYERS] = {4, 2}, fa[Q_MAX_LAYERS] = {4, 2};
    dep_lower_src s = {.net = f->net, .qn = f->qn, .pol = f->pol, .feat_mode = ENV_FEAT_QUALITY,
                       .arch = "small", .nclass = 10, .mean = ZERO, .std = ONE, .fixed_w = fw,
                       .fixed_a = fa};
    qa_err err;
    ck_assert_msg(dep_lower(m, &s, &err) == QA_OK, "%s", err.msg);
}

static void same_layer(const dep_layer *a, const dep_layer *b)
{
    ck_assert_str_eq(a->name, b->name);
    ck_assert(a->c == b->c && a->oc == b->oc && a->kh == b->kh && a->sh == b->sh &&
              a->row == b->row && a->nw == b->nw && a->na == b->na && a->act == b->act);
    for (int j = 0; j < a->nw; j++) {
        ck_assert_int_eq(a->ws[j].bits, b->ws[j].bits);
        ck_assert(memcmp(a->ws[j].codes, b->ws[j].codes, dep_layer_wn(a)) == 0);
        ck_assert(memcmp(a->ws[j].scale, b->ws[j].scale, (size_t)a->oc * 4) == 0);
    }
    for (int j = 0; j < a->na; j++)
        ck_assert(memcmp(&a->as[j], &b->as[j], sizeof a->as[j]) == 0);
    ck_assert(memcmp(a->mul, b->mul, (size_t)a->oc * 4) == 0);
    ck_assert(memcmp(a->add, b->add, (size_t)a->oc * 4) == 0);
}

START_TEST(test_round_trip)
{
    fixture f;
    make(&f, 1);
    dep_model a, b;
    lower(&f, &a);
    uint8_t *buf, *buf2;
    size_t n, n2;
    qa_err err;
    ck_assert_int_eq(dep_model_encode(&a, &buf, &n, &err), QA_OK);
    ck_assert_msg(dep_model_decode(&b, buf, n, "bytes", &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(dep_model_encode(&b, &buf2, &n2, &err), QA_OK);
    ck_assert(n == n2 && memcmp(buf, buf2, n) == 0);
    ck_assert_str_eq(a.arch, b.arch);
    ck_assert(a.nplan == b.nplan && a.ncand == b.ncand && a.nops == b.nops &&
              a.ntensors == b.ntensors && a.pol.nparams == b.pol.nparams);
    ck_assert(memcmp(a.pol.params, b.pol.params, a.pol.nparams * 4) == 0);
    ck_assert(memcmp(a.ops, b.ops, (size_t)a.nops * sizeof *a.ops) == 0);
    ck_assert(memcmp(a.tensors, b.tensors, (size_t)a.ntensors * sizeof *a.tensors) == 0);
    for (int i = 0; i < a.nlayers; i++)
        same_layer(&a.layers[i], &b.layers[i]);
    int widths[9] = {0};
    for (int i = 0; i < a.nlayers; i++)
        for (int j = 0; j < a.layers[i].nw; j++)
            widths[a.layers[i].ws[j].bits] = 1;
    ck_assert(widths[2] && widths[3] && widths[4] && widths[6] && widths[8]);
    free(buf), free(buf2);
    dep_model_free(&a), dep_model_free(&b);
    unmake(&f);
}
END_TEST

static void refused(const uint8_t *buf, size_t n, const char *want)
{
    dep_model m;
    qa_err err = {0};
    ck_assert_int_eq(dep_model_decode(&m, buf, n, "bad.qam", &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, want) && strstr(err.msg, "bad.qam"), "message '%s' lacks '%s'",
                  err.msg, want);
}

START_TEST(test_bad_files)
{
    fixture f;
    make(&f, 0);
    dep_model a;
    lower(&f, &a);
    uint8_t *buf;
    size_t n;
    qa_err err;
    ck_assert_int_eq(dep_model_encode(&a, &buf, &n, &err), QA_OK);
    uint8_t *c = malloc(n);
    memcpy(c, buf, n);
    c[0] = 'X';
    refused(c, n, "not a qadapt model");
    memcpy(c, buf, n);
    c[8] = 2;
    refused(c, n, "version 2");
    for (size_t cut = 0; cut < n; cut += 1 + cut / 3)
        refused(buf, cut, cut < 28 ? "not a qadapt model" : "truncated");
    memcpy(c, buf, n);
    c[n / 2] ^= 0x10;
    refused(c, n, "CRC-32");
    memcpy(c, buf, n);
    c[28 + 4 + 5] = 9; /* after "small": input channels 9, CRC made right: the field check speaks */
    uLong crc = crc32(0L, c + 28, (uInt)(n - 28));
    for (int i = 0; i < 4; i++)
        c[24 + i] = (uint8_t)(crc >> (8 * i));
    refused(c, n, "input channels = 9");
    dep_model bad;
    ck_assert_int_eq(dep_model_decode(&bad, buf, n, "bytes", &err), QA_OK);
    bad.fixed_w[0] = 5; /* no conv2 weights at 5 bits */
    uint8_t *buf5;
    size_t n5;
    ck_assert_int_eq(dep_model_encode(&bad, &buf5, &n5, &err), QA_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "conv2"), "%s", err.msg);
    dep_model_free(&bad);
    free(c), free(buf);
    dep_model_free(&a);
    unmake(&f);
}
END_TEST

/* the engine's widths are the policy's argmax on the image's features */
START_TEST(test_policy_widths)
{
    fixture f;
    make(&f, 1);
    dep_model m;
    lower(&f, &m);
    int L = f.qn->plan->nlayers;
    float feat[NB * ENV_Q_NFEAT], *scratch = malloc(env_quality_scratch(SIDE, SIDE) * 4);
    for (int i = 0; i < NB; i++)
        env_quality(f.px + i * SIDE * SIDE, SIDE, SIDE, 1, scratch, feat + i * ENV_Q_NFEAT);
    agent_policy_forward(f.pol, feat, NB, 0, f.qn->plan);
    q_plan_harden(f.qn->plan, NB);
    dep_engine *e;
    qa_err err;
    ck_assert_msg(dep_engine_create(&e, &m, NULL, &err) == QA_OK, "%s", err.msg);
    float logits[NB * 10], ref[NB * 10];
    uint8_t wb[NB * 8], ab[NB * 8];
    ck_assert_int_eq(dep_engine_predict(e, f.px, NB, logits, wb, ab, &err), QA_OK);
    ck_assert(memcmp(wb, f.qn->plan->wbits, (size_t)(NB * L)) == 0);
    ck_assert(memcmp(ab, f.qn->plan->abits, (size_t)(NB * L)) == 0);
    int distinct = 0;
    for (int i = 1; i < NB; i++)
        distinct += memcmp(wb, wb + i * L, (size_t)L) != 0;
    ck_assert_msg(distinct > 0, "every image got the same plan: nothing was grouped");
    ck_assert_int_eq(dep_engine_predict_plan(e, f.px, NB, wb, ab, ref, &err), QA_OK);
    ck_assert(memcmp(logits, ref, sizeof ref) == 0);
    dep_engine_free(e);
    free(scratch);
    unmake(&f);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("deploy_qam");
    TCase *tc = tcase_create("qam");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_policy_widths);
    suite_add_tcase(s, tc);
    return s;
}
