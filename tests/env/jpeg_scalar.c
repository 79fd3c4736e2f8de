/* jpeg_scalar.c: env/quality_jpeg.c's portable scalar path (QA_PORTABLE),
 * its sums exposed for test_quality_paths (jpeg_fits.h). */
#define QA_PORTABLE 1
#define env_quality_jpeg jpeg_scalar_quality
#include "env/quality_jpeg.c"
#include "jpeg_fits.h"
#define JPEG_FITS_NAME jpeg_fits_scalar
#include "jpeg_fits.inc"
