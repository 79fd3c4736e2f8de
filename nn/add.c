/* add.c: residual addition. */
#include "nn/add.h"

#include "nn/build.h"
#include "nn/par.h"

typedef struct {
    const nn_layer *l;
    const nn_ctx *c;
} add_job;

static void job_range(const add_job *j, int tid, int nt, size_t *lo, size_t *hi)
{
    size_t n = nn_tensor_count(&j->c->t[j->l->out]);
    long blo, bhi;
    nn_par_range((long)((n + 15) / 16), tid, nt, &blo, &bhi);
    *lo = (size_t)blo * 16;
    *hi = (size_t)bhi * 16 < n ? (size_t)bhi * 16 : n;
}

static void fwd_job(void *arg, int tid, int nt)
{
    const add_job *j = arg;
    const float *a = j->c->t[j->l->in[0]].data, *b = j->c->t[j->l->in[1]].data;
    float *y = j->c->t[j->l->out].data;
    size_t lo, hi;
    job_range(j, tid, nt, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        y[i] = a[i] + b[i];
}

static void bwd_job(void *arg, int tid, int nt)
{
    const add_job *j = arg;
    const float *dy = j->c->dt[j->l->out].data;
    size_t lo, hi;
    job_range(j, tid, nt, &lo, &hi);
    for (int k = 0; k < 2; k++) {
        if (!j->l->need_dx[k])
            continue;
        float *dx = j->c->dt[j->l->in[k]].data;
        if (j->l->acc[k])
            for (size_t i = lo; i < hi; i++)
                dx[i] += dy[i];
        else
            for (size_t i = lo; i < hi; i++)
                dx[i] = dy[i];
    }
}

static void add_forward(nn_layer *l, const nn_ctx *c)
{
    add_job j = {l, c};
    nn_par_run(fwd_job, &j, nn_par_threads());
}

static void add_backward(nn_layer *l, const nn_ctx *c)
{
    add_job j = {l, c};
    nn_par_run(bwd_job, &j, nn_par_threads());
}

const nn_layer_ops nn_add_ops = {"add", add_forward, add_backward, NULL};

int nn_add_new(nn_net *net, const nn_add_cfg *cfg, int a, int b, qa_err *err)
{
    nn_layer *l = nn_build_layer(net, sizeof *l, &nn_add_ops, cfg->name, a, b, err);
    if (!l)
        return err ? err->code : QA_ERR_ARG;
    if (b < 0)
        return qa_fail(err, QA_ERR_ARG, "layer '%s': needs two inputs", cfg->name);
    const nn_tensor *ta = &net->t[a], *tb = &net->t[b];
    if (ta->d[1] != tb->d[1] || ta->d[2] != tb->d[2] || ta->d[3] != tb->d[3])
        return qa_fail(err, QA_ERR_ARG, "layer '%s': cannot add shapes %dx%dx%d and %dx%dx%d",
                       cfg->name, ta->d[1], ta->d[2], ta->d[3], tb->d[1], tb->d[2], tb->d[3]);
    return nn_build_finish(net, l, ta->d[1], ta->d[2], ta->d[3], err);
}
