/* signif.c: the sign test and Wilcoxon's signed-rank test (signif.h). */
#include "experiments/cli/signif.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { EXACT_MAX = 30 };

double exp_sign_test(int wins, int losses)
{
    int n = wins + losses, k = wins < losses ? wins : losses;
    if (n == 0)
        return 1;
    /* sum_{i <= k} C(n, i) / 2^n, each term from the last in logs */
    double tail = 0;
    for (int i = 0; i <= k; i++)
        tail += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) - n * log(2.0));
    return fmin(1, 2 * tail);
}

typedef struct {
    double v;
    int i;
} ranked;

static int ranked_cmp(const void *x, const void *y)
{
    double a = ((const ranked *)x)->v, b = ((const ranked *)y)->v;
    return (a > b) - (a < b);
}

int exp_ranks(const double *x, int n, double *rank, double *ties)
{
    ranked *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (int i = 0; i < n; i++)
        v[i] = (ranked){x[i], i};
    qsort(v, (size_t)n, sizeof *v, ranked_cmp);
    double t3 = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && v[j].v == v[i].v)
            j++;
        double t = j - i;
        for (int k = i; k < j; k++)
            rank[v[k].i] = (i + 1 + j) / 2.0;
        t3 += t * t * t - t;
        i = j;
    }
    free(v);
    if (ties)
        *ties = t3;
    return 0;
}

double exp_spearman(const double *x, const double *y, int n)
{
    double *r = malloc((size_t)(n > 0 ? 2 * n : 1) * sizeof *r), rho = NAN;
    if (!r || n < 2 || exp_ranks(x, n, r, NULL) || exp_ranks(y, n, r + n, NULL)) {
        free(r);
        return NAN;
    }
    /* average ranks sum to n (n + 1) / 2 whatever the ties: the mean is
     * exact, so a constant side's deviations are exactly 0 */
    double mean = (n + 1) / 2.0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxy += (r[i] - mean) * (r[n + i] - mean);
        sxx += (r[i] - mean) * (r[i] - mean);
        syy += (r[n + i] - mean) * (r[n + i] - mean);
    }
    if (sxx > 0 && syy > 0)
        rho = sxy / sqrt(sxx * syy);
    free(r);
    return rho;
}

/* P(W+ <= w) for n untied ranks 1..n: the count of subsets of {1..n} with
 * sum <= w over 2^n, by the subset-sum recurrence. */
static double exact_cdf(int n, double w)
{
    int max = n * (n + 1) / 2;
    double count[EXACT_MAX * (EXACT_MAX + 1) / 2 + 1] = {1};
    for (int r = 1; r <= n; r++)
        for (int s = max; s >= r; s--)
            count[s] += count[s - r];
    double below = 0;
    for (int s = 0; s <= max && s <= w; s++)
        below += count[s];
    return below / ldexp(1, n);
}

int exp_wilcoxon_test(const double *d, int n, exp_wilcoxon *out)
{
    memset(out, 0, sizeof *out);
    out->p = 1;
    out->z = NAN;
    double *a = malloc((size_t)(n > 0 ? 2 * n : 1) * sizeof *a), ties = 0;
    if (!a)
        return -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (d[i] != 0)
            a[m++] = fabs(d[i]);
    if (m == 0) {
        free(a);
        return 0;
    }
    if (exp_ranks(a, m, a + n, &ties)) {
        free(a);
        return -1;
    }
    for (int i = 0, k = 0; i < n; i++) {
        if (d[i] == 0)
            continue;
        if (d[i] > 0)
            out->w_pos += a[n + k]; /* the rank of |d[i]|, k-th non-zero */
        k++;
    }
    free(a);
    out->n = m;
    double mean = m * (m + 1) / 4.0;
    if (ties == 0 && m <= EXACT_MAX) {
        /* the null distribution is symmetric about mean */
        double w = out->w_pos < mean ? out->w_pos : 2 * mean - out->w_pos;
        out->exact = 1;
        out->p = fmin(1, 2 * exact_cdf(m, w));
        return 0;
    }
    double var = m * (m + 1) * (2 * m + 1) / 24.0 - ties / 48;
    double dev = fabs(out->w_pos - mean) - 0.5; /* continuity */
    out->z = (out->w_pos > mean ? 1 : -1) * fmax(dev, 0) / sqrt(var);
    out->p = fmin(1, erfc(fabs(out->z) / sqrt(2.0)));
    return 0;
}
