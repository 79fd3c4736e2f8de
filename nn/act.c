/* act.c: ReLU and ReLU6, one forward/backward pair per type. */
#include "nn/act.h"

#include <math.h>

#include "nn/build.h"
#include "nn/par.h"

typedef struct {
    const nn_layer *l;
    const nn_ctx *c;
} act_job;

/* this thread's elements of the batch, in whole 16-float blocks */
static void job_range(const act_job *j, int tid, int nt, size_t *lo, size_t *hi)
{
    size_t n = nn_tensor_count(&j->c->t[j->l->out]);
    long blo, bhi;
    nn_par_range((long)((n + 15) / 16), tid, nt, &blo, &bhi);
    *lo = (size_t)blo * 16;
    *hi = (size_t)bhi * 16 < n ? (size_t)bhi * 16 : n;
}

static void relu_fwd_job(void *arg, int tid, int nt)
{
    const act_job *j = arg;
    const float *x = j->c->t[j->l->in[0]].data;
    float *y = j->c->t[j->l->out].data;
    size_t lo, hi;
    job_range(j, tid, nt, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu6_fwd_job(void *arg, int tid, int nt)
{
    const act_job *j = arg;
    const float *x = j->c->t[j->l->in[0]].data;
    float *y = j->c->t[j->l->out].data;
    size_t lo, hi;
    job_range(j, tid, nt, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        float v = x[i] > 0.0f ? x[i] : 0.0f;
        y[i] = v < 6.0f ? v : 6.0f;
    }
}

/* dx = dy * [0 < y < top] (top = +inf for relu) */
static void act_bwd_range(const act_job *j, size_t lo, size_t hi, float top)
{
    const float *y = j->c->t[j->l->out].data, *dy = j->c->dt[j->l->out].data;
    float *dx = j->c->dt[j->l->in[0]].data;
    if (j->l->acc[0])
        for (size_t i = lo; i < hi; i++)
            dx[i] += y[i] > 0.0f && y[i] < top ? dy[i] : 0.0f;
    else
        for (size_t i = lo; i < hi; i++)
            dx[i] = y[i] > 0.0f && y[i] < top ? dy[i] : 0.0f;
}

static void relu_bwd_job(void *arg, int tid, int nt)
{
    size_t lo, hi;
    job_range(arg, tid, nt, &lo, &hi);
    act_bwd_range(arg, lo, hi, INFINITY);
}

static void relu6_bwd_job(void *arg, int tid, int nt)
{
    size_t lo, hi;
    job_range(arg, tid, nt, &lo, &hi);
    act_bwd_range(arg, lo, hi, 6.0f);
}

static void relu_forward(nn_layer *l, const nn_ctx *c)
{
    act_job j = {l, c};
    nn_par_run(relu_fwd_job, &j, nn_par_threads());
}

static void relu6_forward(nn_layer *l, const nn_ctx *c)
{
    act_job j = {l, c};
    nn_par_run(relu6_fwd_job, &j, nn_par_threads());
}

static void relu_backward(nn_layer *l, const nn_ctx *c)
{
    act_job j = {l, c};
    if (l->need_dx[0])
        nn_par_run(relu_bwd_job, &j, nn_par_threads());
}

static void relu6_backward(nn_layer *l, const nn_ctx *c)
{
    act_job j = {l, c};
    if (l->need_dx[0])
        nn_par_run(relu6_bwd_job, &j, nn_par_threads());
}

const nn_layer_ops nn_act_ops[NN_ACT_COUNT] = {
    [NN_ACT_RELU] = {"relu", relu_forward, relu_backward, NULL},
    [NN_ACT_RELU6] = {"relu6", relu6_forward, relu6_backward, NULL},
};

int nn_act_new(nn_net *net, const nn_act_cfg *cfg, int input, qa_err *err)
{
    if (cfg->type < 0 || cfg->type >= NN_ACT_COUNT)
        return qa_fail(err, QA_ERR_ARG, "layer '%s': unknown activation type %d",
                       cfg->name ? cfg->name : "(null)", cfg->type);
    nn_act *a = nn_build_layer(net, sizeof *a, &nn_act_ops[cfg->type], cfg->name, input, -1, err);
    if (!a)
        return err ? err->code : QA_ERR_ARG;
    a->type = cfg->type;
    const nn_tensor *x = &net->t[input];
    return nn_build_finish(net, &a->base, x->d[1], x->d[2], x->d[3], err);
}
