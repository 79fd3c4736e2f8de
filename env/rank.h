/* rank.h: Spearman's rank correlation, the measure the quality features
 * are judged by against severity (the quality tests, the feature table of
 * bench/env_quality_table): the Pearson correlation of average ranks.
 *
 * Deliberately not here: the features (quality.h); allocation (the caller
 * passes the scratch). */
#ifndef ENV_RANK_H
#define ENV_RANK_H

typedef struct {
    double v;
    int i;
} env_ranked;

/* Ranks of v (n) into rank, 1-based, ties given their average rank; tmp
 * (n) is scratch. */
void env_ranks(const double *v, int n, env_ranked *tmp, double *rank);
/* Pearson correlation of a and b (n); 0 when either is constant. */
double env_pearson(const double *a, const double *b, int n);
/* Spearman's rho of a and b (n): env_pearson of their ranks; tmp (n),
 * ra and rb (n each) are scratch. */
double env_spearman(const double *a, const double *b, int n, env_ranked *tmp, double *ra,
                    double *rb);

#endif
