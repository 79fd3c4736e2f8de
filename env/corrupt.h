/* corrupt.h: the ImageNet-C / CIFAR-10-C corruptions at severities 0..5.
 *
 * Owns the corruption table (official ids of docs/CORRUPTIONS.md), the
 * three severity table sets and the per-image operations on a data_image
 * layout buffer: uint8, interleaved (h, w, c), c = 1 or 3, h, w >= 8.
 * Each operation follows the reference generators: values scaled to [0, 1],
 * clipped, times 255, converted to uint8 by truncation (pixelate and
 * jpeg_compression give what PIL gives: rounded BOX resampling, the codec's
 * output); severity 0 is an exact copy. tests/env/test_corrupt_ref.c holds
 * the deterministic ones to numpy/scipy/PIL outputs. Deliberately not here: choosing corruptions for samples
 * (mix.h), measuring quality (quality.h), file IO (data/).
 *
 * Randomness comes only from the nn_rng the caller passes, opened with
 * env_corrupt_rng: stream ENV_STREAM_CORRUPT + id, a = sample key, b = a
 * "round" word. Training rounds are epochs (top bit clear); evaluation
 * rounds carry ENV_ROUND_EVAL (top bit set) plus a tag, so a test image and
 * a training image with the same index never share noise, and evaluation
 * noise does not change from epoch to epoch.
 *
 * Grey images: saturate is the identity (env_corruption_is_identity says
 * so), brightness adds its constant to the intensity, and every other
 * corruption acts on the single channel as on each RGB channel. */
#ifndef ENV_CORRUPT_H
#define ENV_CORRUPT_H

#include <stdint.h>

#include "nn/rng.h"
#include "nn/status.h"

enum {
    ENV_GAUSSIAN_NOISE = 0,
    ENV_SHOT_NOISE = 1,
    ENV_IMPULSE_NOISE = 2,
    ENV_DEFOCUS_BLUR = 3,
    ENV_GLASS_BLUR = 4,
    ENV_MOTION_BLUR = 5,
    ENV_ZOOM_BLUR = 6,
    ENV_SNOW = 7,
    ENV_FROST = 8,
    ENV_FOG = 9,
    ENV_BRIGHTNESS = 10,
    ENV_CONTRAST = 11,
    ENV_ELASTIC_TRANSFORM = 12,
    ENV_PIXELATE = 13,
    ENV_JPEG_COMPRESSION = 14,
    ENV_SPECKLE_NOISE = 15,
    ENV_GAUSSIAN_BLUR = 16,
    ENV_SPATTER = 17,
    ENV_SATURATE = 18,
    ENV_NCORRUPTION = 19,
};
#define ENV_CLEAN (-1)        /* "no corruption" wherever a corruption id is logged */
#define ENV_MAX_SEVERITY 5
#define ENV_MIN_SIDE 8

typedef enum { ENV_TABLE_CIFAR = 0, ENV_TABLE_TINY = 1, ENV_TABLE_IMAGENET = 2, ENV_NTABLE } env_table;

/* RNG keys (nn/rng.h reserves 0x2000-0x2fff for env). */
#define ENV_STREAM_CORRUPT 0x2000u /* + corruption id */
#define ENV_STREAM_MIX 0x2100u     /* mix.c: which corruption and severity */
#define ENV_ROUND_EVAL 0x80000000u
static inline uint32_t env_round_train(uint32_t epoch) { return epoch & 0x7fffffffu; }
static inline uint32_t env_round_eval(uint32_t tag) { return ENV_ROUND_EVAL | (tag & 0x7fffffffu); }

typedef struct {
    const char *name;  /* as in docs/CORRUPTIONS.md and configs */
    int id;            /* official index */
    const char *group; /* noise, blur, weather, digital, held-out */
    int available;     /* implemented here (all "required" ones) */
    int colour_only;   /* identity on grey images */
    int random;        /* draws from the rng (else deterministic) */
} env_corruption_info;

/* NULL if id is outside 0..ENV_NCORRUPTION-1. */
const env_corruption_info *env_corruption_get(int id);
/* id >= 0 of an available corruption, or a negative status naming the
 * known names when name is unknown or not implemented. */
int env_corruption_find(const char *name, qa_err *err);
/* 1 when the corruption leaves every c-channel image unchanged (saturate on grey). */
int env_corruption_is_identity(int id, int c);
int env_corruption_count_available(void);

int env_table_find(const char *name, env_table *t, qa_err *err);
const char *env_table_name(env_table t);
/* One line "name s1 s2 ... s5" of the table's parameters, for --list. */
int env_table_describe(env_table t, int id, char *buf, int len);

/* Scratch for one thread: float planes, kernels, the JPEG codec, sized for
 * images up to max_h x max_w x 3; nothing is allocated by env_corrupt. */
typedef struct env_work env_work;
int env_work_create(env_work **ws, int max_h, int max_w, qa_err *err);
void env_work_free(env_work *ws);

void env_corrupt_rng(nn_rng *r, uint64_t seed, int id, uint32_t key, uint32_t round);

/* in (h, w, c) -> out (h, w, c); in == out is allowed. severity 0..5.
 * rng: opened by env_corrupt_rng for this id (unused by deterministic ones). */
int env_corrupt(env_work *ws, int id, int severity, env_table t, const uint8_t *in, uint8_t *out,
                int h, int w, int c, nn_rng *rng, qa_err *err);

#endif
