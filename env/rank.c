/* rank.c: see rank.h. */
#include "env/rank.h"

#include <math.h>
#include <stdlib.h>

static int cmp_ranked(const void *a, const void *b)
{
    double x = ((const env_ranked *)a)->v, y = ((const env_ranked *)b)->v;
    return (x > y) - (x < y);
}

void env_ranks(const double *v, int n, env_ranked *tmp, double *rank)
{
    for (int i = 0; i < n; i++)
        tmp[i] = (env_ranked){v[i], i};
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_ranked);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && tmp[j + 1].v == tmp[i].v)
            j++;
        for (int k = i; k <= j; k++)
            rank[tmp[k].i] = 0.5 * (i + j) + 1;
        i = j + 1;
    }
}

double env_pearson(const double *a, const double *b, int n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= n;
    mb /= n;
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

double env_spearman(const double *a, const double *b, int n, env_ranked *tmp, double *ra,
                    double *rb)
{
    env_ranks(a, n, tmp, ra);
    env_ranks(b, n, tmp, rb);
    return env_pearson(ra, rb, n);
}
