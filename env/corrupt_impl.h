/* corrupt_impl.h: internals shared by the corrupt_*.c files and the env
 * tests (kernels, the work struct, one function per corruption). Not part
 * of the env API: callers use corrupt.h.
 *
 * Legend: H, W, C image sides and channels; every operation reads j->in and
 * writes j->out, both (H, W, C) uint8, possibly the same buffer, so an
 * operation either works pixel by pixel or finishes reading before writing. */
#ifndef ENV_CORRUPT_IMPL_H
#define ENV_CORRUPT_IMPL_H

#include "data/jpeg_io.h"
#include "env/corrupt.h"

/* One severity's parameters; meaning per corruption in corrupt.c's tables. */
typedef struct {
    double a, b, c;
} env_sev;

/* Largest kernels of the tables: gaussian sigma 6 -> radius 24; defocus
 * radius 10 -> 21x21; motion radius 20 -> 41 taps. */
#define ENV_GAUSS_MAX_TAPS 49
#define ENV_DISK_MAX_SIDE 21
#define ENV_MOTION_MAX_TAPS 41
/* PIL BOX taps: 2 ceil(side / int(side * 0.25) / 2) + 1 <= 7 for sides >= 8 */
#define ENV_BOX_MAX_TAPS 9

typedef struct {
    int radius;
    double k[ENV_GAUSS_MAX_TAPS]; /* (2 radius + 1), sums to 1 */
} env_kernel1d;

typedef struct {
    int radius;
    double k[ENV_DISK_MAX_SIDE * ENV_DISK_MAX_SIDE]; /* (2 radius + 1)^2, float32 values */
} env_kernel2d;

/* Walker/Vose alias table of an integer distribution on lo .. lo + n - 1:
 * one 32-bit word u picks bucket k = (u n) >> 32 and keeps it when the
 * low word of u n is below thresh[k], else takes alias[k]. */
typedef struct {
    int lo, n;
    uint32_t *thresh; /* (n) */
    uint16_t *alias;  /* (n) */
} env_alias;

struct env_work {
    int max_h, max_w;
    float *f0, *f1; /* (H, W, 3) planes */
    double *d0, *d1; /* (H, W, 3) planes */
    double *pad;    /* (H + 2 ENV_GAUSS_MAX_TAPS) x (W + 2 ENV_GAUSS_MAX_TAPS) x 3 */
    uint8_t *u8;    /* 2 x (H, W, 3) */
    int *idx;       /* resampling indices, 4 (H + W) */
    double *wt;     /* resampling weights, 4 (H + W) */
    int32_t *coef;  /* PIL fixed-point weights, ENV_BOX_MAX_TAPS x max(H, W) */
    double *plasma; /* (M, M), M = plasma_side */
    int plasma_side;
    uint32_t *rand; /* random words, (H, W, 3) + 4 */
    data_jpeg_codec *jpeg;
    /* floor(255 sigma z) of gaussian_noise per table and severity */
    env_alias noise[ENV_NTABLE][ENV_MAX_SEVERITY];
    void *alias_mem; /* backs every env_alias */
    /* kernels of every table and severity, built once */
    env_kernel1d gauss[ENV_NTABLE][ENV_MAX_SEVERITY];
    env_kernel1d glass[ENV_NTABLE][ENV_MAX_SEVERITY];
    env_kernel2d disk[ENV_NTABLE][ENV_MAX_SEVERITY];
};

typedef struct {
    const uint8_t *in;
    uint8_t *out;
    int h, w, c;
    int severity; /* 1..5 */
    env_table table;
    env_sev p;
    nn_rng *rng;
    env_work *ws;
} env_job;

typedef int (*env_corrupt_fn)(const env_job *j, qa_err *err);

const env_sev *env_corrupt_params(env_table t, int id, int severity);

/* the reference conversion: clip then truncate */
static inline uint8_t env_unit_to_u8(float x)
{
    x = x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
    return (uint8_t)(x * 255.0f);
}

/* n words of r's stream into out, the same words n nn_rng_u32 calls return,
 * a Philox block at a time (corrupt_noise.c) */
void env_rng_fill(nn_rng *r, uint32_t *out, size_t n);
/* builds ws->noise (from env_work_create) */
int env_noise_tables(env_work *ws, qa_err *err);

/* kernels (corrupt_blur.c); the tests check they sum to 1 */
void env_kernel_gauss(env_kernel1d *k, double sigma);
void env_kernel_disk(env_kernel2d *k, double radius, double alias);
int env_kernel_motion(double *k, int radius, double sigma); /* returns taps */
/* scipy.ndimage.gaussian_filter on (H, W, C) doubles (x / 255), replicated
 * borders, in scipy's order of operations */
void env_blur_separable(env_work *ws, const env_kernel1d *k, const double *in, double *out, int h,
                        int w, int c);
/* motion blur at a given angle in degrees: the deterministic core */
void env_motion_blur_at(env_work *ws, const uint8_t *in, uint8_t *out, int h, int w, int c,
                        int radius, double sigma, double angle);
/* diamond-square plasma of side m (power of two) into ws->plasma, in [0, 1] */
void env_plasma(env_work *ws, int m, double decay, nn_rng *rng);

int env_gaussian_noise(const env_job *j, qa_err *err);
int env_shot_noise(const env_job *j, qa_err *err);
int env_impulse_noise(const env_job *j, qa_err *err);
int env_speckle_noise(const env_job *j, qa_err *err);
int env_gaussian_blur(const env_job *j, qa_err *err);
int env_defocus_blur(const env_job *j, qa_err *err);
int env_motion_blur(const env_job *j, qa_err *err);
int env_glass_blur(const env_job *j, qa_err *err);
int env_zoom_blur(const env_job *j, qa_err *err);
int env_pixelate(const env_job *j, qa_err *err);
int env_fog(const env_job *j, qa_err *err);
int env_brightness(const env_job *j, qa_err *err);
int env_contrast(const env_job *j, qa_err *err);
int env_saturate(const env_job *j, qa_err *err);
int env_jpeg_compression(const env_job *j, qa_err *err);

#endif
