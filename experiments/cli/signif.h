/* signif.h: the statistics of `qadapt report --markdown`: the paired
 * significance tests, the exact two-sided sign test and the Wilcoxon
 * signed-rank test (exact without ties for small samples, else the normal
 * approximation with the tie and continuity corrections), over paired
 * differences such as one method's accuracy minus another's on the same
 * seed and grid cell; ranks and Spearman's rank correlation.
 *
 * Deliberately not here: what is paired with what (report_md.c). */
#ifndef EXP_SIGNIF_H
#define EXP_SIGNIF_H

/* Average ranks of x[0..n) (1-based; tied values share the mean of their
 * ranks) into rank; *ties (may be NULL) gets sum over tie groups of t^3 - t.
 * Returns 0, or -1 when out of memory. */
int exp_ranks(const double *x, int n, double *rank, double *ties);

/* Spearman's rho: Pearson's correlation of the average ranks of x and y;
 * NaN when n < 2 or either is constant. */
double exp_spearman(const double *x, const double *y, int n);

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
