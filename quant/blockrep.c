/* blockrep.c: the intermediate models of block replacement, their
 * objective and the student's gradient (blockrep.h). */
#include "quant/blockrep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"
#include "nn/rng.h"

/* The two nets are one architecture: layers, tensors, batch. */
static int same_layout(const nn_net *s, const nn_net *t, qa_err *err)
{
    if (!s->finalized || !t->finalized)
        return qa_fail(err, QA_ERR_ARG, "blockrep: student and teacher must be finalized");
    if (s->nlayers != t->nlayers || s->ntensors != t->ntensors || s->max_batch != t->max_batch)
        return qa_fail(err, QA_ERR_ARG, "blockrep: the student (%d layers, %d tensors, batch %d) "
                       "and the teacher (%d, %d, %d) are not one architecture", s->nlayers,
                       s->ntensors, s->max_batch, t->nlayers, t->ntensors, t->max_batch);
    for (int i = 0; i < s->ntensors; i++)
        if (memcmp(s->t[i].d + 1, t->t[i].d + 1, 3 * sizeof(int)) != 0)
            return qa_fail(err, QA_ERR_ARG, "blockrep: tensor %d is %dx%dx%d in the student, "
                           "%dx%dx%d in the teacher", i, s->t[i].d[1], s->t[i].d[2],
                           s->t[i].d[3], t->t[i].d[1], t->t[i].d[2], t->t[i].d[3]);
    for (int i = 0; i < s->nlayers; i++)
        if (strcmp(s->layers[i]->name, t->layers[i]->name) != 0 ||
            s->layers[i]->out != t->layers[i]->out)
            return qa_fail(err, QA_ERR_ARG, "blockrep: layer %d is %s in the student, %s in "
                           "the teacher", i, s->layers[i]->name, t->layers[i]->name);
    return QA_OK;
}

void q_br_free(q_br *br)
{
    if (!br)
        return;
    free(br->tz);
    free(br->buf);
    free(br);
}

static int same_shape(const nn_net *net, int a, int b)
{
    return memcmp(net->t[a].d + 1, net->t[b].d + 1, 3 * sizeof(int)) == 0;
}

/* cfg->stages: block i joins the one before it when neither is the first
 * or the last block and both end in one shape; returns the new count. */
static int merge_stages(const nn_net *net, nn_block *b, int nb)
{
    int m = 0;
    for (int i = 0; i < nb; i++) {
        nn_block *prev = m > 0 ? &b[m - 1] : NULL;
        if (m > 1 && i < nb - 1 && same_shape(net, prev->out, b[i].out)) {
            char first[32];
            snprintf(first, sizeof first, "%.*s", (int)strcspn(prev->name, "-"), prev->name);
            snprintf(prev->name, sizeof prev->name, "%.15s-%.15s", first, b[i].name);
            prev->last = b[i].last;
            prev->out = b[i].out;
        } else {
            b[m++] = b[i];
        }
    }
    return m;
}

int q_br_create(q_br **out, nn_net *student, nn_net *teacher, const char *arch,
                const q_br_cfg *cfg, qa_err *err)
{
    *out = NULL;
    if ((cfg->mode != Q_BR_PREFIX && cfg->mode != Q_BR_SINGLE) || !(cfg->temperature > 0) ||
        !(cfg->ce_weight >= 0) || !(cfg->kl_weight >= 0))
        return qa_fail(err, QA_ERR_ARG, "blockrep: mode %d, temperature %g (> 0) and weights "
                       "%g, %g (>= 0)", cfg->mode, cfg->temperature, cfg->ce_weight,
                       cfg->kl_weight);
    int rc = same_layout(student, teacher, err);
    q_br *br = rc ? NULL : calloc(1, sizeof *br);
    if (rc || !br)
        return rc ? rc : qa_fail(err, QA_ERR_NOMEM, "out of memory for blockrep");
    br->cfg = *cfg;
    br->student = student;
    br->teacher = teacher;
    int nb = nn_model_blocks(student, arch, br->blk, NN_MAX_BLOCKS, err);
    if (nb >= 0 && cfg->stages)
        nb = merge_stages(student, br->blk, nb);
    if (nb >= 0 && nb < 2)
        nb = qa_fail(err, QA_ERR_ARG, "blockrep: model '%s' has %d block, at least 2 are "
                     "needed", arch, nb);
    if (nb < 0) {
        q_br_free(br);
        return nb;
    }
    br->nblocks = nb;
    br->nmodels = cfg->mode == Q_BR_PREFIX ? nb - 1 : nb;
    br->classes = nn_net_output_size(student);
    size_t nz = (size_t)student->max_batch * (size_t)br->classes;
    br->tz = malloc(3 * nz * sizeof *br->tz);
    br->buf = malloc((student->params.nbuf ? student->params.nbuf : 1) * sizeof *br->buf);
    if (!br->tz || !br->buf) {
        q_br_free(br);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for blockrep");
    }
    br->dz = br->tz + nz;
    br->dk = br->dz + nz;
    teacher->frozen = 1;
    *out = br;
    return QA_OK;
}

float q_br_select(const q_br *br, int m, uint64_t seed, long step, unsigned char *use)
{
    int nm = br->nmodels, idx[NN_MAX_BLOCKS];
    use[0] = 0;
    if (m <= 0 || m >= nm) {
        memset(use + 1, 1, (size_t)nm);
        return 1.0f;
    }
    memset(use + 1, 0, (size_t)nm);
    for (int k = 0; k < nm; k++)
        idx[k] = k + 1;
    nn_rng r;
    nn_rng_init(&r, seed, Q_STREAM_BLOCKREP, (uint32_t)step, (uint32_t)((uint64_t)step >> 32));
    for (int i = 0; i < m; i++) { /* the first m of a Fisher-Yates shuffle */
        int j = i + (int)nn_rng_below(&r, (uint32_t)(nm - i)), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        use[idx[i]] = 1;
    }
    return (float)nm / (float)m;
}

static void stat_add(q_br_stat *st, double ce, int correct, int n)
{
    if (!st)
        return;
    st->loss += ce * n;
    st->correct += correct;
    st->n += n;
}

/* A model's logits z: its cross-entropy into st; returns w (a CE + b KL)
 * and, with dz_out, writes that term's gradient there. */
static double model_loss(q_br *br, const float *z, const int *labels, int n, float w,
                         float *dz_out, q_br_stat *st)
{
    const q_br_cfg *c = &br->cfg;
    int k = br->classes, correct = 0, kl_on = c->kl_weight > 0;
    double ce = nn_softmax_ce(z, labels, n, k, dz_out ? br->dz : NULL, NULL, &correct);
    double kl = kl_on ? nn_softmax_kl(z, br->tz, n, k, c->temperature, dz_out ? br->dk : NULL,
                                      NULL) : 0.0;
    stat_add(st, ce, correct, n);
    for (size_t i = 0; dz_out && i < (size_t)n * (size_t)k; i++)
        dz_out[i] = w * (c->ce_weight * br->dz[i] + (kl_on ? c->kl_weight * br->dk[i] : 0.0f));
    return (double)w * (c->ce_weight * ce + c->kl_weight * kl);
}

static double student_ce(q_br *br, const int *labels, int n, int grad, q_br_stat *st,
                         float *per)
{
    nn_net *s = br->student;
    int correct = 0;
    double ce = nn_softmax_ce(nn_net_output(s)->data, labels, n, br->classes,
                              grad ? nn_net_output_grad(s) : NULL, per, &correct);
    stat_add(st ? &st[br->nmodels + 1] : NULL, ce, correct, n);
    return ce;
}

/* The teacher on the student's input; its logits into tz, since its output
 * buffer is reused by every model. */
static void teacher_own(q_br *br, const int *labels, int n, q_br_stat *st)
{
    nn_net *s = br->student, *t = br->teacher;
    memcpy(nn_net_input(t), nn_net_input(s),
           (size_t)n * nn_tensor_sample_size(&s->t[0]) * sizeof(float));
    nn_net_forward(t, n, 0);
    memcpy(br->tz, nn_net_output(t)->data, (size_t)n * (size_t)br->classes * sizeof(float));
    if (st) {
        int correct = 0;
        double ce = nn_softmax_ce(br->tz, labels, n, br->classes, NULL, NULL, &correct);
        stat_add(st, ce, correct, n);
    }
}

/* The model whose teacher part starts at block b, fed the student's
 * tensor at the block's input. With grad, its gradient at that tensor is
 * added to the student's (add) or replaces it. */
static double teacher_from(q_br *br, int b, const int *labels, int n, float w, int grad, int add,
                           q_br_stat *st)
{
    nn_net *s = br->student, *t = br->teacher;
    int in = br->blk[b].in, first = br->blk[b].first, last = t->nlayers - 1;
    size_t m = (size_t)n * nn_tensor_sample_size(&s->t[in]);
    memcpy(t->t[in].data, s->t[in].data, m * sizeof(float));
    nn_net_forward_range(t, first, last, n, 0);
    double l = model_loss(br, nn_net_output(t)->data, labels, n, w,
                          grad ? nn_net_output_grad(t) : NULL, st);
    if (!grad)
        return l;
    nn_net_backward_range(t, first, last, n);
    float *d = s->dt[in].data;
    const float *g = t->dt[in].data;
    if (add)
        for (size_t i = 0; i < m; i++)
            d[i] += g[i];
    else
        memcpy(d, g, m * sizeof(float));
    return l;
}

/* Prefix training: the student's backward block by block from the last;
 * when it has passed block b, model b's gradient joins at b's input. */
static double prefix_backward(q_br *br, const int *labels, int n, const unsigned char *use,
                              float scale, q_br_stat *st)
{
    double l = 0;
    for (int b = br->nblocks - 1; b >= 0; b--) {
        nn_net_backward_range(br->student, br->blk[b].first, br->blk[b].last, n);
        if (b >= 1 && use[b])
            l += teacher_from(br, b, labels, n, scale, 1, 1, st ? &st[b] : NULL);
    }
    return l;
}

/* Single mode after the teacher's own forward: model b+1 runs the
 * student's block b on the teacher's activation, last block first so that
 * the teacher's earlier activations are still there. */
static double single_models(q_br *br, const int *labels, int n, const unsigned char *use,
                            float scale, int train, int grad, q_br_stat *st)
{
    nn_net *s = br->student, *t = br->teacher;
    double l = 0;
    memcpy(br->buf, s->params.buf, s->params.nbuf * sizeof(float));
    for (int b = br->nblocks - 1; b >= 0; b--) {
        if (!use[b + 1])
            continue;
        const nn_block *k = &br->blk[b];
        if (b > 0)
            memcpy(s->t[k->in].data, t->t[k->in].data,
                   (size_t)n * nn_tensor_sample_size(&s->t[k->in]) * sizeof(float));
        nn_net_forward_range(s, k->first, k->last, n, train);
        q_br_stat *sb = st ? &st[b + 1] : NULL;
        if (b == br->nblocks - 1)
            l += model_loss(br, nn_net_output(s)->data, labels, n, scale,
                            grad ? nn_net_output_grad(s) : NULL, sb);
        else
            l += teacher_from(br, b + 1, labels, n, scale, grad, 0, sb);
        if (grad)
            nn_net_backward_range(s, k->first, k->last, n);
    }
    memcpy(s->params.buf, br->buf, s->params.nbuf * sizeof(float));
    return l;
}

double q_br_train(q_br *br, const int *labels, int n, const unsigned char *use, float scale,
                  q_br_stat *st, float *student_loss)
{
    nn_net *s = br->student;
    int single = br->cfg.mode == Q_BR_SINGLE;
    nn_net_forward(s, n, 1);
    double l = student_ce(br, labels, n, 1, st, student_loss);
    if (single || br->cfg.kl_weight > 0)
        teacher_own(br, labels, n, st);
    nn_net_zero_grad(s);
    if (!single)
        return l + prefix_backward(br, labels, n, use, scale, st);
    nn_net_backward(s, n);
    return l + single_models(br, labels, n, use, scale, 1, 1, st);
}

double q_br_forward(q_br *br, const int *labels, int n, const unsigned char *use, float scale,
                    int train, q_br_stat *st, float *student_loss)
{
    nn_net_forward(br->student, n, train);
    double l = student_ce(br, labels, n, 0, st, student_loss);
    if (!use)
        return l;
    teacher_own(br, labels, n, st);
    if (br->cfg.mode == Q_BR_SINGLE)
        return l + single_models(br, labels, n, use, scale, train, 0, st);
    for (int b = 1; b < br->nblocks; b++)
        if (use[b])
            l += teacher_from(br, b, labels, n, scale, 0, 0, st ? &st[b] : NULL);
    return l;
}
