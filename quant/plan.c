/* plan.c: allocation and the few whole-plan operations every method needs. */
#include "quant/plan.h"

#include <stdlib.h>
#include <string.h>

#include "quant/fake_quant.h"

int q_plan_create(q_plan **out, int max_batch, int nlayers, const int *cand, int ncand, int tied,
                  qa_err *err)
{
    *out = NULL;
    if (max_batch < 1 || nlayers < 0 || ncand < 1 || ncand > Q_MAX_CAND)
        return qa_fail(err, QA_ERR_ARG, "plan: batch %d, %d layers, %d candidates out of range",
                       max_batch, nlayers, ncand);
    for (int k = 0; k < ncand; k++)
        if (!q_bits_valid(cand[k]) || (k > 0 && cand[k] <= cand[k - 1]))
            return qa_fail(err, QA_ERR_ARG,
                           "plan: candidate widths must be ascending in 2..8 or 32, got %d",
                           cand[k]);
    q_plan *p = calloc(1, sizeof *p);
    if (!p)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating a plan");
    p->max_batch = max_batch;
    p->nlayers = nlayers;
    p->ncand = ncand;
    p->tied = tied;
    memcpy(p->cand, cand, (size_t)ncand * sizeof *cand);
    size_t nb = (size_t)max_batch * (size_t)(nlayers ? nlayers : 1);
    size_t np = nb * (size_t)ncand;
    int sep = !tied;
    p->wbits = calloc(nb * (size_t)(1 + sep), 1);
    p->pw = calloc(np * (size_t)(2 + 2 * sep), sizeof *p->pw);
    if (!p->wbits || !p->pw) {
        q_plan_free(p);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating a plan for %d samples", max_batch);
    }
    p->abits = p->wbits + nb * (size_t)sep;
    p->gpw = p->pw + np;
    p->pa = p->gpw + np * (size_t)sep;
    p->gpa = p->pa + np;
    if (tied) {
        p->pa = p->pw;
        p->gpa = p->gpw;
    }
    *out = p;
    return QA_OK;
}

void q_plan_free(q_plan *p)
{
    if (!p)
        return;
    free(p->wbits);
    free(p->pw);
    free(p);
}

int q_plan_cand_index(const q_plan *p, int bits)
{
    for (int k = 0; k < p->ncand; k++)
        if (p->cand[k] == bits)
            return k;
    return -1;
}

static int check_width(const q_plan *p, int l, int wb, int ab, qa_err *err)
{
    if (q_plan_cand_index(p, wb) < 0 || q_plan_cand_index(p, ab) < 0)
        return qa_fail(err, QA_ERR_CONFIG,
                       "planned layer %d: widths %d/%d are not among the plan's candidates", l + 1,
                       wb, ab);
    if (p->tied && wb != ab)
        return qa_fail(err, QA_ERR_CONFIG,
                       "planned layer %d: weight width %d != activation width %d in a tied plan",
                       l + 1, wb, ab);
    return QA_OK;
}

int q_plan_set_hard(q_plan *p, int n, int wb, int ab, const int *layer_w, const int *layer_a,
                    qa_err *err)
{
    QA_ASSERT(n >= 0 && n <= p->max_batch);
    for (int l = 0; l < p->nlayers; l++) {
        int w = layer_w ? layer_w[l] : wb, a = layer_a ? layer_a[l] : ab;
        int rc = check_width(p, l, w, a, err);
        if (rc < 0)
            return rc;
        for (int i = 0; i < n; i++) {
            q_plan_wbits(p, i)[l] = (uint8_t)w;
            q_plan_abits(p, i)[l] = (uint8_t)a;
        }
    }
    p->mode = Q_PLAN_HARD;
    return QA_OK;
}

int q_plan_argmax(const float *prob, int ncand)
{
    int best = 0;
    for (int k = 1; k < ncand; k++)
        if (prob[k] > prob[best])
            best = k;
    return best;
}

void q_plan_harden(q_plan *p, int n)
{
    for (int i = 0; i < n; i++)
        for (int l = 0; l < p->nlayers; l++) {
            q_plan_wbits(p, i)[l] = (uint8_t)p->cand[q_plan_argmax(q_plan_pw(p, i, l), p->ncand)];
            q_plan_abits(p, i)[l] = (uint8_t)p->cand[q_plan_argmax(q_plan_pa(p, i, l), p->ncand)];
        }
    p->mode = Q_PLAN_HARD;
}

static void onehot(float *v, int ncand, int k)
{
    for (int j = 0; j < ncand; j++)
        v[j] = j == k ? 1.0f : 0.0f;
}

void q_plan_onehot(q_plan *p, int n)
{
    for (int i = 0; i < n; i++)
        for (int l = 0; l < p->nlayers; l++) {
            onehot(q_plan_pw(p, i, l), p->ncand, q_plan_cand_index(p, q_plan_wbits(p, i)[l]));
            onehot(q_plan_pa(p, i, l), p->ncand, q_plan_cand_index(p, q_plan_abits(p, i)[l]));
        }
    p->mode = Q_PLAN_SOFT;
}

static float expected_bits(const q_plan *p, const float *prob)
{
    float e = 0.0f;
    for (int k = 0; k < p->ncand; k++)
        e += prob[k] * (float)p->cand[k];
    return e;
}

void q_plan_mean_bits(const q_plan *p, int n, float *mw, float *ma)
{
    for (int l = 0; l < p->nlayers; l++) {
        double sw = 0.0, sa = 0.0;
        for (int i = 0; i < n; i++) {
            int hard_w = p->mode != Q_PLAN_SOFT, hard_a = p->mode == Q_PLAN_HARD;
            sw += hard_w ? q_plan_wbits(p, i)[l] : expected_bits(p, q_plan_pw(p, i, l));
            sa += hard_a ? q_plan_abits(p, i)[l] : expected_bits(p, q_plan_pa(p, i, l));
        }
        mw[l] = n > 0 ? (float)(sw / n) : 0.0f;
        ma[l] = n > 0 ? (float)(sa / n) : 0.0f;
    }
}
