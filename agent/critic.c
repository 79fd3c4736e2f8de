/* critic.c: see critic.h. */
#include "agent/critic.h"

#include <stdlib.h>
#include <string.h>

int agent_critic_create(agent_critic **out, int nin, int nplan, int hidden, int max_batch,
                        uint64_t seed, qa_err *err)
{
    *out = NULL;
    agent_critic *cr = calloc(1, sizeof *cr);
    if (!cr)
        return qa_fail(err, QA_ERR_NOMEM, "critic: out of memory");
    cr->nin = nin;
    cr->nplan = nplan;
    nn_params_init(&cr->params);
    int rc = agent_mlp_init(&cr->mlp, &cr->params, "critic", nin + nplan, hidden, 1, max_batch,
                            err);
    if (!rc)
        rc = nn_params_alloc(&cr->params, err);
    size_t B = (size_t)max_batch, w = (size_t)(nin + nplan);
    if (!rc) {
        cr->in = malloc(B * (2 * w + 2) * sizeof *cr->in);
        if (!cr->in)
            rc = qa_fail(err, QA_ERR_NOMEM, "critic: out of memory for a batch of %d", max_batch);
    }
    if (rc) {
        agent_critic_free(cr);
        return rc;
    }
    cr->din = cr->in + B * w;
    cr->pred = cr->din + B * w;
    cr->dy = cr->pred + B;
    agent_mlp_init_weights(&cr->mlp, &cr->params, seed, 1, 1.0f);
    *out = cr;
    return QA_OK;
}

void agent_critic_free(agent_critic *cr)
{
    if (!cr)
        return;
    agent_mlp_free(&cr->mlp);
    nn_params_free(&cr->params);
    free(cr->in);
    free(cr);
}

void agent_critic_predict(agent_critic *cr, const float *o, const float *p, int n)
{
    size_t F = (size_t)cr->nin, P = (size_t)cr->nplan, w = F + P;
    for (int i = 0; i < n; i++) {
        memcpy(cr->in + (size_t)i * w, o + (size_t)i * F, F * sizeof *o);
        memcpy(cr->in + (size_t)i * w + F, p + (size_t)i * P, P * sizeof *p);
    }
    agent_mlp_forward(&cr->mlp, &cr->params, cr->in, cr->pred, n);
}

float agent_critic_fit(agent_critic *cr, const float *o, const float *p, const float *target,
                       int n)
{
    agent_critic_predict(cr, o, p, n);
    double mse = 0.0;
    for (int i = 0; i < n; i++) {
        float d = cr->pred[i] - target[i];
        mse += (double)d * d;
        cr->dy[i] = 2.0f * d / (float)n;
    }
    nn_params_zero_grad(&cr->params);
    agent_mlp_backward(&cr->mlp, &cr->params, cr->dy, NULL, n);
    return n > 0 ? (float)(mse / n) : 0.0f;
}

void agent_critic_grad(agent_critic *cr, const float *o, const float *p, int n, float scale,
                       float *gp)
{
    size_t F = (size_t)cr->nin, P = (size_t)cr->nplan, w = F + P;
    agent_critic_predict(cr, o, p, n);
    for (int i = 0; i < n; i++)
        cr->dy[i] = scale / (float)n;
    agent_mlp_backward(&cr->mlp, &cr->params, cr->dy, cr->din, n);
    for (int i = 0; i < n; i++)
        memcpy(gp + (size_t)i * P, cr->din + (size_t)i * w + F, P * sizeof *gp);
    nn_params_zero_grad(&cr->params);
}

void agent_critic_merge(const float *gp, int n, int S, int L, int K, float *gw, float *ga)
{
    size_t lk = (size_t)L * (size_t)K;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < S; s++)
            for (size_t j = 0; j < lk; j++)
                (s ? ga : gw)[(size_t)i * lk + j] += gp[((size_t)i * S + (size_t)s) * lk + j];
}
