/* signif.h: the paired significance tests of `qadapt report --markdown`:
 * the exact two-sided sign test and the Wilcoxon signed-rank test (exact
 * without ties for small samples, else the normal approximation with the
 * tie and continuity corrections), over paired differences such as one
 * method's accuracy minus another's on the same seed and grid cell.
 *
 * Deliberately not here: what is paired with what (report_md.c). */
#ifndef EXP_SIGNIF_H
#define EXP_SIGNIF_H

/* Two-sided p of `wins` positive and `losses` negative signs under
 * P(+) = 1/2 (ties dropped before): min(1, 2 P(X <= min(wins, losses)))
 * with X ~ Binomial(wins + losses, 1/2); 1 when both are 0. */
double exp_sign_test(int wins, int losses);

typedef struct {
    int n;        /* non-zero differences (zeros dropped, Wilcoxon's rule) */
    double w_pos; /* sum of the ranks of |d| over the positive d (average ranks on ties) */
    double z;     /* the normal approximation's statistic (NaN when exact) */
    double p;     /* two-sided p; 1 when n = 0 */
    int exact;    /* 1: p from the exact null distribution (no ties, n <= 30) */
} exp_wilcoxon;

/* The test of d[0..n): returns 0, or -1 when out of memory. */
int exp_wilcoxon_test(const double *d, int n, exp_wilcoxon *out);

#endif
