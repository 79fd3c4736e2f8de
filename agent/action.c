/* action.c: see action.h. */
#include "agent/action.h"

#include <string.h>

#include "agent/relax.h"

static uint8_t *side_bits(q_plan *p, int s, int i)
{
    return s ? q_plan_abits(p, i) : q_plan_wbits(p, i);
}

void agent_plan_sample(const float *prob, int S, const int *key, int n, uint64_t seed,
                       uint32_t round, q_plan *plan, float *onehot)
{
    int L = plan->nlayers, K = plan->ncand;
    size_t slk = (size_t)(S * L * K);
    memset(onehot, 0, (size_t)n * slk * sizeof *onehot);
    for (int i = 0; i < n; i++) {
        nn_rng g;
        nn_rng_init(&g, seed, AGENT_STREAM_SAMPLE, (uint32_t)key[i], round);
        for (int s = 0; s < S; s++)
            for (int l = 0; l < L; l++) {
                size_t row = (size_t)i * slk + (size_t)((s * L + l) * K);
                int k = agent_sample(&g, prob + row, K);
                onehot[row + (size_t)k] = 1.0f;
                side_bits(plan, s, i)[l] = (uint8_t)plan->cand[k];
            }
    }
    plan->mode = Q_PLAN_HARD;
}

/* one random width: uniform over the candidates, or drawn from p */
static int random_width(nn_rng *g, const q_plan *plan, const float *p)
{
    int K = plan->ncand;
    return plan->cand[p ? agent_sample(g, p, K) : (int)nn_rng_below(g, (uint32_t)K)];
}

void agent_plan_random(const float *p, const int *key, int n, uint64_t seed, uint32_t round,
                       q_plan *plan)
{
    for (int i = 0; i < n; i++) {
        nn_rng g;
        nn_rng_init(&g, seed, AGENT_STREAM_WARMUP, (uint32_t)key[i], round);
        for (int l = 0; l < plan->nlayers; l++) {
            q_plan_wbits(plan, i)[l] = (uint8_t)random_width(&g, plan, p);
            if (!plan->tied)
                q_plan_abits(plan, i)[l] = (uint8_t)random_width(&g, plan, p);
        }
    }
    plan->mode = Q_PLAN_HARD;
}

void agent_plan_onehot(const q_plan *plan, int S, int n, float *onehot)
{
    int L = plan->nlayers, K = plan->ncand;
    size_t slk = (size_t)(S * L * K);
    memset(onehot, 0, (size_t)n * slk * sizeof *onehot);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < S; s++)
            for (int l = 0; l < L; l++) {
                int bits = (s ? q_plan_abits(plan, i) : q_plan_wbits(plan, i))[l];
                int k = q_plan_cand_index(plan, bits);
                onehot[(size_t)i * slk + (size_t)((s * L + l) * K + k)] = 1.0f;
            }
}
