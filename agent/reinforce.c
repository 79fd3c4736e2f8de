/* reinforce.c: see reinforce.h. */
#include "agent/reinforce.h"

#include <string.h>

double agent_reinforce_reward(const agent_objective *o, const double *bitops, double ref,
                              const float *loss, int n, float *R, double *cost)
{
    double mean = 0.0, sum = 0.0;
    for (int i = 0; i < n; i++)
        mean += bitops[i] / ref / n;
    for (int i = 0; i < n; i++) {
        double pen = agent_cost_sample(o, bitops[i] / ref, mean);
        R[i] = -(float)(loss[i] + o->lambda * pen);
        sum += R[i];
        *cost += o->lambda * pen / n;
    }
    return sum;
}

void agent_reinforce_grad(double b, const float *prob, const float *onehot, const float *R, int n,
                          int S, int L, int K, float *gw, float *ga)
{
    size_t lk = (size_t)L * (size_t)K, slk = (size_t)S * lk;
    memset(gw, 0, (size_t)n * lk * sizeof *gw);
    if (S > 1)
        memset(ga, 0, (size_t)n * lk * sizeof *ga);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < S; s++)
            for (int l = 0; l < L; l++) {
                size_t row = (size_t)i * slk + (size_t)s * lk + (size_t)l * (size_t)K;
                int k = q_plan_argmax(onehot + row, K);
                float pk = prob[row + (size_t)k] > 1e-6f ? prob[row + (size_t)k] : 1e-6f;
                (s ? ga : gw)[((size_t)i * L + (size_t)l) * K + (size_t)k] =
                    -(float)(R[i] - b) / ((float)n * pk);
            }
}

void agent_reinforce_step(agent_reinforce *rf, const agent_objective *o, const double *bitops,
                          double ref, const float *loss, const float *prob, const float *onehot,
                          int n, int S, int L, int K, float *R, float *gw, float *ga,
                          double *cost)
{
    double sum = agent_reinforce_reward(o, bitops, ref, loss, n, R, cost);
    if (!rf->have_baseline)
        rf->baseline = sum / n;
    rf->have_baseline = 1;
    agent_reinforce_grad(rf->baseline, prob, onehot, R, n, S, L, K, gw, ga);
    float m = rf->momentum;
    rf->baseline = m * rf->baseline + (1.0f - m) * sum / n;
}
