/* test_torch.c: qadapt against PyTorch on the same weights and inputs.
 * The fixtures come from tests/fixtures/make_nn_torch.py (Debian's
 * python3-torch): the peer's `small` (logits, CE loss, every gradient, the
 * updated running statistics, one SGD step, eval logits) and two of the
 * peer's residual blocks (output, input and parameter gradients). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nn/loss.h"
#include "nn/models.h"
#include "nn/optim.h"

typedef struct {
    char name[64];
    size_t n, off;
} fx_entry;

typedef struct {
    fx_entry e[128];
    int n;
    float *data;
} fixture;

static void fixture_load(fixture *f, const char *stem)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.txt", QA_FIXTURE_DIR, stem);
    FILE *idx = fopen(path, "r");
    ck_assert_msg(idx != NULL, "cannot open %s", path);
    size_t total = 0;
    f->n = 0;
    while (f->n < 128 && fscanf(idx, "%63s %zu %zu", f->e[f->n].name, &f->e[f->n].n, &f->e[f->n].off) == 3) {
        total = f->e[f->n].off + f->e[f->n].n;
        f->n++;
    }
    fclose(idx);
    snprintf(path, sizeof path, "%s/%s.f32", QA_FIXTURE_DIR, stem);
    FILE *blob = fopen(path, "rb");
    ck_assert_msg(blob != NULL, "cannot open %s", path);
    f->data = malloc(total * sizeof(float));
    ck_assert_uint_eq(fread(f->data, sizeof(float), total, blob), total);
    fclose(blob);
}

static const float *fixture_get(const fixture *f, const char *name, size_t n)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->e[i].name, name) == 0) {
            ck_assert_msg(f->e[i].n == n, "%s: fixture has %zu values, expected %zu", name, f->e[i].n, n);
            return f->data + f->e[i].off;
        }
    ck_abort_msg("fixture has no array '%s'", name);
    return NULL;
}

/* |a - b| <= atol + rtol |b| element-wise, reporting the first mismatch */
static void assert_close(const char *what, const float *a, const float *b, size_t n, float rtol,
                         float atol)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= atol + rtol * fabsf(b[i]),
                      "%s[%zu]: qadapt %.7g, torch %.7g", what, i, a[i], b[i]);
}

/* every parameter and buffer of the net from the fixture, by name */
static void load_params(nn_net *net, const fixture *f)
{
    for (int i = 0; i < net->params.nviews; i++) {
        const nn_param_view *v = &net->params.views[i];
        memcpy(nn_params_value(&net->params, i), fixture_get(f, v->name, v->n), v->n * sizeof(float));
    }
}

static void assert_grads(const nn_net *net, const fixture *f, float rtol, float atol)
{
    for (int i = 0; i < net->params.nviews; i++) {
        const nn_param_view *v = &net->params.views[i];
        if (v->kind == NN_PARAM_BUFFER)
            continue;
        char key[80];
        snprintf(key, sizeof key, "grad:%s", v->name);
        assert_close(key, nn_params_grad(&net->params, i), fixture_get(f, key, v->n), v->n, rtol, atol);
    }
}

static void check_running_and_step(nn_net *net, const fixture *f)
{
    char key[80];
    for (int i = 0; i < net->params.nviews; i++) {
        const nn_param_view *v = &net->params.views[i];
        if (v->kind != NN_PARAM_BUFFER)
            continue;
        snprintf(key, sizeof key, "after:%s", v->name);
        assert_close(key, nn_params_value(&net->params, i), fixture_get(f, key, v->n), v->n, 1e-5f, 1e-6f);
    }
    nn_optim *opt;
    nn_optim_cfg oc = {.type = NN_OPT_SGD, .lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f};
    ck_assert_int_eq(nn_optim_create(&opt, &oc, &net->params, NULL), QA_OK);
    nn_optim_step(opt, 0.05f);
    nn_optim_free(opt);
    for (int i = 0; i < net->params.nviews; i++) {
        const nn_param_view *v = &net->params.views[i];
        if (v->kind == NN_PARAM_BUFFER)
            continue;
        snprintf(key, sizeof key, "step:%s", v->name);
        assert_close(key, nn_params_value(&net->params, i), fixture_get(f, key, v->n), v->n, 1e-5f, 1e-6f);
    }
}

START_TEST(test_small_matches_torch)
{
    fixture f;
    fixture_load(&f, "nn_small");
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_model_build(&net, "small", 4, 1, 16, 16, 10, &err), QA_OK);
    ck_assert_int_eq(nn_net_finalize(net, 7, &err), QA_OK);
    ck_assert_uint_eq(nn_params_trainable(&net->params), 24058);
    load_params(net, &f);
    memcpy(nn_net_input(net), fixture_get(&f, "input", 1024), 1024 * sizeof(float));
    const float *yl = fixture_get(&f, "labels", 4);
    int labels[4];
    for (int i = 0; i < 4; i++)
        labels[i] = (int)yl[i];
    nn_net_forward(net, 4, 1);
    const float *logits = nn_net_output(net)->data;
    assert_close("logits", logits, fixture_get(&f, "logits", 40), 40, 1e-4f, 1e-5f);
    float loss = nn_softmax_ce(logits, labels, 4, 10, nn_net_output_grad(net), NULL, NULL);
    assert_close("loss", &loss, fixture_get(&f, "loss", 1), 1, 1e-5f, 0);
    nn_net_zero_grad(net);
    nn_net_backward(net, 4);
    assert_grads(net, &f, 1e-3f, 1e-5f);
    check_running_and_step(net, &f);
    nn_net_forward(net, 4, 0);
    assert_close("eval_logits", nn_net_output(net)->data, fixture_get(&f, "eval_logits", 40), 40,
                 1e-4f, 1e-5f);
    nn_net_free(net);
    free(f.data);
}
END_TEST

START_TEST(test_resblock_matches_torch)
{
    fixture f;
    fixture_load(&f, "nn_resblock");
    nn_net *net;
    qa_err err;
    ck_assert_int_eq(nn_net_create(&net, 3, 8, 9, 9, &err), QA_OK);
    net->input_grad = 1;
    int t = nn_model_basic_block(net, "b1.", 0, 16, 2, &err);
    ck_assert_int_gt(t, 0);
    t = nn_model_basic_block(net, "b2.", t, 16, 1, &err);
    ck_assert_int_gt(t, 0);
    ck_assert_int_eq(nn_net_finalize(net, 7, &err), QA_OK);
    ck_assert_int_lt(nn_net_find_layer(net, "b2.short.conv"), 0); /* identity shortcut */
    load_params(net, &f);
    size_t nx = 3 * 8 * 9 * 9, ny = 3 * 16 * 5 * 5;
    memcpy(nn_net_input(net), fixture_get(&f, "input", nx), nx * sizeof(float));
    nn_net_forward(net, 3, 1);
    assert_close("output", nn_net_output(net)->data, fixture_get(&f, "output", ny), ny, 1e-4f, 1e-5f);
    memcpy(nn_net_output_grad(net), fixture_get(&f, "proj", ny), ny * sizeof(float));
    nn_net_zero_grad(net);
    nn_net_backward(net, 3);
    assert_close("grad:input", net->dt[0].data, fixture_get(&f, "grad:input", nx), nx, 1e-3f, 1e-5f);
    assert_grads(net, &f, 1e-3f, 1e-4f);
    nn_net_free(net);
    free(f.data);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("nn_torch");
    TCase *tc = tcase_create("torch");
    tcase_add_test(tc, test_small_matches_torch);
    tcase_add_test(tc, test_resblock_matches_torch);
    suite_add_tcase(s, tc);
    return s;
}
