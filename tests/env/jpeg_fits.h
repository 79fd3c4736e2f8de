/* jpeg_fits.h: env/quality_jpeg.c's per-quality sums, from the two
 * compilations of it test_quality_paths compares: jpeg_vector.c (as the
 * library builds it) and jpeg_scalar.c (QA_PORTABLE). */
#ifndef QA_TEST_JPEG_FITS_H
#define QA_TEST_JPEG_FITS_H

enum { JPEG_FITS_MAX = 128 }; /* >= the padded number of qualities */

/* For luma y (h, w): per quality index (q - 5) the on-grid count, sum of
 * squared distances and sum of squared steps fit_block gives; returns the
 * number of quality indices filled. f[ENV_Q_JPEG] gets the feature. */
int jpeg_fits_vector(const float *y, int h, int w, int *n, double *d2, double *q2, float *f);
int jpeg_fits_scalar(const float *y, int h, int w, int *n, double *d2, double *q2, float *f);

#endif
