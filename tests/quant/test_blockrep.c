/* test_blockrep.c: block replacement's models, objective and gradient
 * (quant/blockrep.h) on small nets with 8x8 inputs.
 *   - Every quantizer at 32 bits (identity) and the teacher's weights in
 *     the student: every intermediate model's loss and accuracy are the
 *     teacher's, and the objective is (1 + models) times the teacher's CE
 *     (a KL term adds nothing), in both modes.
 *   - Gradients of the objective through the mixed models against finite
 *     differences, the student at 32 bits with weights of its own (no
 *     rounding), both modes, CE and KL terms, a subset of the models and a
 *     scale; the training step's objective is the forward's.
 *   - The shared computation: one student forward per step whatever the
 *     models; in prefix mode the teacher's block j runs once per model
 *     that uses it (j of them), never the blocks before.
 *   - The teacher's parameters and buffers are bit-identical after
 *     training steps of a W2A2 LSQ student (which moves).
 *   - The subset draw, and refused pairs (other architecture or classes,
 *     bad weights). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/gradcheck.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "nn/rng.h"
#include "quant/blockrep.h"
#include "quant/qnet.h"

enum { N = 4, SIDE = 8, CLASSES = 3 };

typedef struct {
    nn_net *s, *t;
    q_net *qn;
    q_br *br;
    int labels[N];
} pair;

/* student: arch wrapped at `bits` everywhere (LSQ); teacher: plain arch */
static void pair_make(pair *p, const char *arch, int bits, const q_br_cfg *cfg, int copy)
{
    qa_err err = {0};
    q_cfg qc;
    q_cfg_defaults(&qc);
    qc.cand[0] = bits;
    qc.ncand = 1;
    qc.first_bits = qc.last_bits = bits;
    qc.input_domain = Q_INPUT_SIGNED;
    ck_assert_int_eq(nn_model_build(&p->s, arch, N, 1, SIDE, SIDE, CLASSES, &err), QA_OK);
    ck_assert_int_eq(nn_model_build(&p->t, arch, N, 1, SIDE, SIDE, CLASSES, &err), QA_OK);
    ck_assert_msg(q_net_wrap(&p->qn, p->s, &qc, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(nn_net_finalize(p->s, 11, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(p->t, 12, &err), QA_OK);
    ck_assert_int_eq(q_plan_set_hard(p->qn->plan, N, bits, bits, NULL, NULL, &err), QA_OK);
    nn_rng r;
    nn_rng_init(&r, 3, NN_STREAM_TEST, 40, 0);
    for (int v = 0; v < p->t->params.nviews; v++) { /* statistics away from 0 and 1 */
        const nn_param_view *pv = &p->t->params.views[v];
        float *x = nn_params_value(&p->t->params, v);
        for (size_t i = 0; pv->kind >= NN_PARAM_NORM && i < pv->n; i++)
            x[i] += 0.3f + 0.4f * nn_rng_uniform(&r);
        int sv = copy ? nn_params_find(&p->s->params, pv->name) : -1;
        if (sv >= 0)
            memcpy(nn_params_value(&p->s->params, sv), x, pv->n * sizeof *x);
    }
    for (int i = 0; i < N * SIDE * SIDE; i++)
        nn_net_input(p->s)[i] = nn_rng_normal(&r);
    for (int i = 0; i < N; i++)
        p->labels[i] = (int)nn_rng_below(&r, CLASSES);
    ck_assert_msg(q_br_create(&p->br, p->s, p->t, arch, cfg, &err) == QA_OK, "%s", err.msg);
}

static void pair_free(pair *p)
{
    q_br_free(p->br);
    q_net_free(p->qn);
    nn_net_free(p->s);
    nn_net_free(p->t);
}

static void use_all(const q_br *br, unsigned char *use)
{
    memset(use, 1, (size_t)br->nmodels + 1);
}

START_TEST(test_identity_at_32_bits)
{
    static const char *const archs[2] = {"small", "resnet20"};
    q_br_cfg cfg = {.mode = _i % 2, .ce_weight = 1.0f, .kl_weight = 0.5f, .temperature = 2.0f};
    pair p;
    pair_make(&p, archs[_i / 2], 32, &cfg, 1);
    int nm = p.br->nmodels;
    ck_assert_int_eq(nm, (_i / 2 ? 11 : 4) - (cfg.mode == Q_BR_PREFIX));
    unsigned char use[NN_MAX_BLOCKS + 1];
    use_all(p.br, use);
    q_br_stat st[NN_MAX_BLOCKS + 2];
    memset(st, 0, sizeof st);
    double l = q_br_forward(p.br, p.labels, N, use, 1.0f, 0, st, NULL);
    double ce = st[0].loss / N;
    ck_assert_double_gt(ce, 0.1);
    for (int k = 1; k <= nm + 1; k++) {
        ck_assert_int_eq(st[k].n, N);
        ck_assert_double_eq_tol(st[k].loss / N, ce, 1e-6 * ce);
        ck_assert_int_eq(st[k].correct, st[0].correct);
    }
    ck_assert_double_eq_tol(l, (1 + nm) * ce, 1e-5 * ce);
    pair_free(&p);
}
END_TEST

typedef struct {
    pair *p;
    const unsigned char *use;
    float scale;
} fd_ctx;

static double objective(void *arg)
{
    fd_ctx *c = arg;
    return q_br_forward(c->p->br, c->p->labels, N, c->use, c->scale, 1, NULL, NULL);
}

/* Mode by _i % 2, the KL term on when _i >= 2; a subset of the models,
 * scaled; every view of the student checked. */
START_TEST(test_gradients_fd)
{
    q_br_cfg cfg = {.mode = _i % 2, .ce_weight = 0.7f, .kl_weight = _i >= 2 ? 0.4f : 0.0f,
                    .temperature = 3.0f};
    pair p;
    pair_make(&p, "small", 32, &cfg, 0);
    unsigned char use[NN_MAX_BLOCKS + 1];
    float scale = q_br_select(p.br, 2, 5, 17 + _i, use);
    ck_assert_double_eq_tol(scale, p.br->nmodels / 2.0, 1e-6);
    double lt = q_br_train(p.br, p.labels, N, use, scale, NULL, NULL);
    double lf = q_br_forward(p.br, p.labels, N, use, scale, 1, NULL, NULL);
    ck_assert_double_eq_tol(lt, lf, 1e-6 * fabs(lf));
    size_t n = p.s->params.n;
    float *g = malloc(n * sizeof *g);
    memcpy(g, p.s->params.g, n * sizeof *g);
    fd_ctx c = {&p, use, scale};
    nn_gradcheck_cfg gc = {.eps = 1e-3f, .rtol = 2e-2f, .atol = 2e-3f, .max_elems = 24,
                           .ndirs = 2, .seed = 9, .kinks = 1};
    nn_gradcheck_result res = {0};
    qa_err err = {0};
    for (int v = 0; v < p.s->params.nviews; v++) {
        const nn_param_view *pv = &p.s->params.views[v];
        if (pv->kind == NN_PARAM_BUFFER)
            continue;
        int rc = nn_gradcheck_vec(objective, &c, nn_params_value(&p.s->params, v), g + pv->off,
                                  pv->n, pv->name, &gc, &res, &err);
        ck_assert_msg(rc == QA_OK, "mode %d kl %d: %s", cfg.mode, _i >= 2, err.msg);
    }
    ck_assert_int_gt(res.nchecked, 100);
    free(g);
    pair_free(&p);
}
END_TEST

/* Single mode: the student's buffers (running statistics) after a step
 * are those of its own forward alone; its block passes leave none. */
START_TEST(test_single_buffers)
{
    q_br_cfg cfg = {.mode = Q_BR_SINGLE, .ce_weight = 1.0f, .temperature = 1.0f};
    pair p;
    pair_make(&p, "small", 4, &cfg, 0);
    size_t nb = p.s->params.nbuf * sizeof(float);
    float *before = malloc(nb), *own = malloc(nb);
    memcpy(before, p.s->params.buf, nb);
    nn_net_forward(p.s, N, 1);
    memcpy(own, p.s->params.buf, nb);
    memcpy(p.s->params.buf, before, nb);
    unsigned char use[NN_MAX_BLOCKS + 1];
    use_all(p.br, use);
    q_br_train(p.br, p.labels, N, use, 1.0f, NULL, NULL);
    ck_assert_int_ne(memcmp(own, before, nb), 0);
    ck_assert_mem_eq(p.s->params.buf, own, nb);
    free(before);
    free(own);
    pair_free(&p);
}
END_TEST

/* per-layer forward counts through a wrapper ops table */
static const nn_net *counted[2];
static const nn_layer_ops *orig_ops[2][128];
static int calls[2][128];
static nn_layer_ops counting_ops[2][128];

static void counting_forward(nn_layer *l, const nn_ctx *c)
{
    for (int w = 0; w < 2; w++)
        for (int i = 0; counted[w] && i < counted[w]->nlayers; i++)
            if (counted[w]->layers[i] == l) {
                calls[w][i]++;
                orig_ops[w][i]->forward(l, c);
                return;
            }
    ck_abort_msg("uncounted layer %s", l->name);
}

static void count_layers(int w, nn_net *net)
{
    counted[w] = net;
    for (int i = 0; i < net->nlayers; i++) {
        orig_ops[w][i] = net->layers[i]->ops;
        counting_ops[w][i] = *orig_ops[w][i];
        counting_ops[w][i].forward = counting_forward;
        net->layers[i]->ops = &counting_ops[w][i];
    }
}

START_TEST(test_shared_computation)
{
    q_br_cfg cfg = {.mode = Q_BR_PREFIX, .ce_weight = 1.0f, .temperature = 1.0f};
    pair p;
    pair_make(&p, "resnet20", 4, &cfg, 1);
    memset(calls, 0, sizeof calls);
    count_layers(0, p.s);
    count_layers(1, p.t);
    unsigned char use[NN_MAX_BLOCKS + 1];
    use_all(p.br, use);
    q_br_train(p.br, p.labels, N, use, 1.0f, NULL, NULL);
    for (int b = 0; b < p.br->nblocks; b++)
        for (int i = p.br->blk[b].first; i <= p.br->blk[b].last; i++) {
            ck_assert_msg(calls[0][i] == 1, "student %s ran %d times", p.s->layers[i]->name,
                          calls[0][i]);
            ck_assert_msg(calls[1][i] == b, "teacher %s ran %d times, not %d",
                          p.t->layers[i]->name, calls[1][i], b);
        }
    counted[0] = counted[1] = NULL;
    pair_free(&p);
}
END_TEST

START_TEST(test_teacher_frozen)
{
    q_br_cfg cfg = {.mode = _i, .ce_weight = 1.0f, .kl_weight = 1.0f, .temperature = 4.0f};
    pair p;
    pair_make(&p, "small", 2, &cfg, 1);
    size_t nw = p.t->params.n * sizeof(float), nb = p.t->params.nbuf * sizeof(float);
    float *w = malloc(nw), *b = malloc(nb), *s0 = malloc(p.s->params.n * sizeof(float));
    memcpy(w, p.t->params.w, nw);
    memcpy(b, p.t->params.buf, nb);
    memcpy(s0, p.s->params.w, p.s->params.n * sizeof(float));
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f};
    nn_optim *opt;
    qa_err err = {0};
    ck_assert_int_eq(nn_optim_create(&opt, &oc, &p.s->params, &err), QA_OK);
    unsigned char use[NN_MAX_BLOCKS + 1];
    for (int step = 0; step < 4; step++) {
        float scale = q_br_select(p.br, 2, 1, step, use);
        q_br_train(p.br, p.labels, N, use, scale, NULL, NULL);
        nn_optim_step(opt, 0.1f);
    }
    ck_assert_mem_eq(p.t->params.w, w, nw);
    ck_assert_mem_eq(p.t->params.buf, b, nb);
    ck_assert_int_ne(memcmp(p.s->params.w, s0, p.s->params.n * sizeof(float)), 0);
    nn_optim_free(opt);
    free(w), free(b), free(s0);
    pair_free(&p);
}
END_TEST

START_TEST(test_select)
{
    q_br_cfg cfg = {.mode = Q_BR_PREFIX, .ce_weight = 1.0f, .temperature = 1.0f};
    pair p;
    pair_make(&p, "resnet20", 32, &cfg, 0);
    int nm = p.br->nmodels, seen[NN_MAX_BLOCKS + 1] = {0};
    unsigned char use[NN_MAX_BLOCKS + 1], again[NN_MAX_BLOCKS + 1];
    ck_assert_double_eq(q_br_select(p.br, 0, 1, 0, use), 1.0);
    for (int k = 1; k <= nm; k++)
        ck_assert_int_eq(use[k], 1);
    ck_assert_double_eq(q_br_select(p.br, nm + 3, 1, 0, use), 1.0);
    int differ = 0;
    for (long step = 0; step < 2000; step++) {
        ck_assert_double_eq_tol(q_br_select(p.br, 3, 7, step, use), nm / 3.0, 1e-6);
        q_br_select(p.br, 3, 7, step, again);
        ck_assert_mem_eq(use, again, (size_t)nm + 1);
        q_br_select(p.br, 3, 7, step + 1, again);
        differ += memcmp(use, again, (size_t)nm + 1) != 0;
        int count = 0;
        for (int k = 1; k <= nm; k++) {
            count += use[k];
            seen[k] += use[k];
        }
        ck_assert_int_eq(count, 3);
        ck_assert_int_eq(use[0], 0);
    }
    ck_assert_int_gt(differ, 1900);
    for (int k = 1; k <= nm; k++) /* 600 expected each, sd ~ 23 */
        ck_assert_msg(abs(seen[k] - 600) < 120, "model %d drawn %d times", k, seen[k]);
    pair_free(&p);
}
END_TEST

/* stages: resnet20's basic blocks by stage, mobilenet's inverted
 * residuals by output shape, the stem and head apart; the models still
 * tile the net and the identity at 32 bits holds */
START_TEST(test_stages)
{
    static const struct {
        const char *arch, *names;
    } want[2] = {
        {"resnet20", "stem,layer1.0-layer1.2,layer2.0-layer2.2,layer3.0-layer3.2,head"},
        {"mobilenetv2_tiny", "stem,block1,block2-block3,block4-block5,block6-block7,block8,head"},
    };
    q_br_cfg cfg = {.mode = Q_BR_PREFIX, .stages = 1, .ce_weight = 1.0f, .temperature = 1.0f};
    pair p;
    pair_make(&p, want[_i].arch, 32, &cfg, 1);
    char names[512] = "";
    for (int b = 0; b < p.br->nblocks; b++) {
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", b ? "," : "",
                 p.br->blk[b].name);
        ck_assert_int_eq(p.br->blk[b].first, b ? p.br->blk[b - 1].last + 1 : 0);
        ck_assert_int_eq(p.br->blk[b].in, b ? p.br->blk[b - 1].out : 0);
    }
    ck_assert_str_eq(names, want[_i].names);
    ck_assert_int_eq(p.br->blk[p.br->nblocks - 1].last, p.s->nlayers - 1);
    unsigned char use[NN_MAX_BLOCKS + 1];
    use_all(p.br, use);
    q_br_stat st[NN_MAX_BLOCKS + 2];
    memset(st, 0, sizeof st);
    double l = q_br_forward(p.br, p.labels, N, use, 1.0f, 0, st, NULL);
    ck_assert_double_eq_tol(l, p.br->nblocks * st[0].loss / N, 1e-5 * l);
    pair_free(&p);
}
END_TEST

START_TEST(test_refused)
{
    qa_err err = {0};
    nn_net *s, *t, *five;
    ck_assert_int_eq(nn_model_build(&s, "small", 2, 1, 8, 8, 3, &err), QA_OK);
    ck_assert_int_eq(nn_model_build(&t, "resnet20", 2, 1, 8, 8, 3, &err), QA_OK);
    ck_assert_int_eq(nn_model_build(&five, "small", 2, 1, 8, 8, 5, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(s, 1, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(t, 1, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(five, 1, &err), QA_OK);
    q_br *br;
    q_br_cfg cfg = {.mode = Q_BR_PREFIX, .ce_weight = 1.0f, .temperature = 1.0f};
    ck_assert_int_eq(q_br_create(&br, s, t, "small", &cfg, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "are not one architecture"));
    ck_assert_int_eq(q_br_create(&br, s, five, "small", &cfg, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "is 3x1x1 in the student, 5x1x1 in the teacher"));
    cfg.temperature = 0;
    ck_assert_int_eq(q_br_create(&br, s, s, "small", &cfg, &err), QA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "temperature 0 (> 0)"));
    nn_net_free(s);
    nn_net_free(t);
    nn_net_free(five);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("quant_blockrep");
    TCase *tc = tcase_create("blockrep");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_identity_at_32_bits, 0, 4);
    tcase_add_loop_test(tc, test_gradients_fd, 0, 4);
    tcase_add_test(tc, test_single_buffers);
    tcase_add_test(tc, test_shared_computation);
    tcase_add_loop_test(tc, test_teacher_frozen, 0, 2);
    tcase_add_test(tc, test_select);
    tcase_add_loop_test(tc, test_stages, 0, 2);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}
