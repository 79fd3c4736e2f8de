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
    double a; /* |d| */
    int pos;  /* d > 0 */
} absd;

static int absd_cmp(const void *x, const void *y)
{
    double a = ((const absd *)x)->a, b = ((const absd *)y)->a;
    return (a > b) - (a < b);
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
    absd *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (d[i] != 0)
            v[m++] = (absd){fabs(d[i]), d[i] > 0};
    qsort(v, (size_t)m, sizeof *v, absd_cmp);
    double ties = 0; /* sum over tie groups of t^3 - t */
    for (int i = 0; i < m;) {
        int j = i;
        while (j < m && v[j].a == v[i].a)
            j++;
        double rank = (i + 1 + j) / 2.0, t = j - i;
        for (int k = i; k < j; k++)
            out->w_pos += v[k].pos ? rank : 0;
        ties += t * t * t - t;
        i = j;
    }
    free(v);
    out->n = m;
    if (m == 0)
        return 0;
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
