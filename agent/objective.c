/* objective.c: see objective.h. */
#include "agent/objective.h"

#include <string.h>

/* dC/dm / lambda of the cost form at mean m; at the target itself (a kink)
 * the target form takes 0 */
static double cost_slope(int kind, double m, double target)
{
    if (kind == AGENT_COST_BUDGET)
        return m > target ? 1.0 : 0.0;
    if (kind == AGENT_COST_TARGET)
        return m > target ? 1.0 : m < target ? -1.0 : 0.0;
    return 1.0;
}

double agent_cost_sample(const agent_objective *o, double rel, double mean_rel)
{
    if (o->kind == AGENT_COST_EXPECTED)
        return rel;
    double m = o->kind == AGENT_COST_BUDGET ? rel : mean_rel;
    return cost_slope(o->kind, m, o->target) * (rel - o->target);
}

double agent_cost_term(const agent_objective *o, const q_cost_model *cm, const q_plan *plan,
                       int n, float *gw, float *ga, double *mean_rel)
{
    QA_ASSERT(plan->mode == Q_PLAN_SOFT && plan->nlayers <= Q_MAX_LAYERS);
    size_t row = (size_t)plan->nlayers * (size_t)plan->ncand;
    float rw[Q_MAX_LAYERS * Q_MAX_CAND], ra[Q_MAX_LAYERS * Q_MAX_CAND];
    double sum = 0.0, sum_arg = 0.0;
    for (int i = 0; i < n; i++) {
        sum += q_cost_sample(cm, plan, i, NULL, NULL).bitops;
        sum_arg += o->argmax ? q_cost_argmax(cm, plan, i).bitops : 0.0;
    }
    double mean = n > 0 ? sum / cm->ref_int8 / n : 0.0;
    double arg = n > 0 ? sum_arg / cm->ref_int8 / n : 0.0;
    /* the mean whose side of the target decides: with argmax, the argmax
     * plans' while above it (a ceiling on what evaluation spends), else the
     * soft plan's (budget: nothing to do) */
    double m = mean;
    int under = 0;
    if (o->argmax && arg > o->target)
        m = arg;
    else if (o->argmax)
        under = o->kind == AGENT_COST_BUDGET;
    double sign = under ? 0.0 : cost_slope(o->kind, m, o->target);
    if (mean_rel)
        *mean_rel = o->argmax ? arg : mean;
    if (sign == 0.0 || n == 0)
        return 0.0;
    float scale = (float)(sign * o->lambda / (cm->ref_int8 * n));
    for (int i = 0; i < n; i++) {
        memset(rw, 0, row * sizeof *rw);
        memset(ra, 0, row * sizeof *ra);
        q_cost_sample(cm, plan, i, rw, ra);
        float *w = gw + (size_t)i * row, *a = plan->tied ? NULL : ga + (size_t)i * row;
        for (size_t j = 0; j < row; j++) {
            w[j] += scale * rw[j];
            if (a)
                a[j] += scale * ra[j];
        }
    }
    return o->lambda * (o->kind == AGENT_COST_EXPECTED ? mean : sign * (m - o->target));
}
