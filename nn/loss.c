/* loss.c: softmax cross-entropy and mean squared error, in double inside a
 * sample so that the log-sum-exp is exact to float precision. */
#include "nn/loss.h"

#include <math.h>
#include <stddef.h>

#include "nn/status.h"

/* l = logsumexp(z) - z[y]; dz = (softmax(z) - onehot(y)) * scale; returns l */
static double ce_sample(const float *z, int y, int k, float *dz, float scale)
{
    float zmax = z[0];
    for (int j = 1; j < k; j++)
        zmax = z[j] > zmax ? z[j] : zmax;
    double se = 0;
    for (int j = 0; j < k; j++)
        se += exp((double)z[j] - zmax);
    double lse = zmax + log(se);
    if (dz)
        for (int j = 0; j < k; j++)
            dz[j] = (float)((exp((double)z[j] - lse) - (j == y)) * scale);
    return lse - z[y];
}

static int argmax(const float *z, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

float nn_softmax_ce(const float *logits, const int *labels, int n, int k, float *dlogits,
                    float *loss_per_sample, int *ncorrect)
{
    QA_ASSERT(n >= 1 && k >= 1);
    double total = 0;
    int correct = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * (size_t)k;
        QA_ASSERT(labels[i] >= 0 && labels[i] < k);
        double l = ce_sample(z, labels[i], k, dlogits ? dlogits + (size_t)i * (size_t)k : NULL,
                             1.0f / (float)n);
        total += l;
        if (loss_per_sample)
            loss_per_sample[i] = (float)l;
        correct += argmax(z, k) == labels[i];
    }
    if (ncorrect)
        *ncorrect = correct;
    return (float)(total / n);
}

/* log softmax(z / t) into lp (k doubles) */
static void log_softmax_t(const float *z, int k, double t, double *lp)
{
    double zmax = z[0] / t, se = 0;
    for (int j = 1; j < k; j++)
        zmax = z[j] / t > zmax ? z[j] / t : zmax;
    for (int j = 0; j < k; j++)
        se += exp(z[j] / t - zmax);
    double lse = zmax + log(se);
    for (int j = 0; j < k; j++)
        lp[j] = z[j] / t - lse;
}

float nn_softmax_kl(const float *logits, const float *teacher, int n, int k, float t,
                    float *dlogits, float *loss_per_sample)
{
    QA_ASSERT(n >= 1 && k >= 1 && k <= 4096 && t > 0);
    double total = 0, lp[4096], lq[4096];
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * (size_t)k, *zt = teacher + (size_t)i * (size_t)k;
        log_softmax_t(zt, k, t, lp);
        log_softmax_t(z, k, t, lq);
        double l = 0;
        for (int j = 0; j < k; j++) {
            double p = exp(lp[j]);
            l += p * (lp[j] - lq[j]);
            if (dlogits)
                dlogits[(size_t)i * (size_t)k + (size_t)j] =
                    (float)((double)t * (exp(lq[j]) - p) / n);
        }
        l *= (double)t * t;
        total += l;
        if (loss_per_sample)
            loss_per_sample[i] = (float)l;
    }
    return (float)(total / n);
}

float nn_mse(const float *pred, const float *target, int n, int k, float *dpred)
{
    QA_ASSERT(n >= 1 && k >= 1);
    size_t m = (size_t)n * (size_t)k;
    double total = 0;
    for (size_t i = 0; i < m; i++) {
        double d = (double)pred[i] - target[i];
        total += d * d;
        if (dpred)
            dpred[i] = (float)(2.0 * d / (double)m);
    }
    return (float)(total / (double)m);
}
