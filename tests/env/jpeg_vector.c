/* jpeg_vector.c: env/quality_jpeg.c as the library compiles it (GCC
 * vectors), its sums exposed for test_quality_paths (jpeg_fits.h). */
#define env_quality_jpeg jpeg_vector_quality
#include "env/quality_jpeg.c"
#include "jpeg_fits.h"
#define JPEG_FITS_NAME jpeg_fits_vector
#include "jpeg_fits.inc"
