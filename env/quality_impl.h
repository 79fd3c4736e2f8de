/* quality_impl.h: internals of the quality features shared by quality.c
 * and quality_jpeg.c (and the env tests). Not part of the env API: callers
 * use quality.h. */
#ifndef ENV_QUALITY_IMPL_H
#define ENV_QUALITY_IMPL_H

/* The fitted JPEG quality of luma y (h, w, values 0..255) into
 * f[ENV_Q_JPEG] (quality.h). */
void env_quality_jpeg(const float *y, int h, int w, float *f);

#endif
