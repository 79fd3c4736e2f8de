/* engine.h: running a dep_model (qam.h) on images with the integer
 * kernels (kern.h).
 *
 * Load: each layer's weight slots are reordered to (OC, taps, Cp) and
 * packed for the chosen kernel variant; the indirection table of every
 * convolution (the input offset of each output pixel's taps) is built once.
 * Predict: images (n, H, W, C) uint8 ->
 *   1. plans: each image's width per planned layer, from the policy
 *      (features of the image -> MLP -> argmax of each layer's
 *      distribution, as the fake-quant evaluation does) or the model's
 *      fixed widths;
 *   2. groups: images are grouped (stably) by their whole plan; each
 *      group runs every op with its slots: one kernel call per layer per
 *      group, per thread share and chunk of up to 32 images (the chunk
 *      keeps a share's activations within about 1 MiB);
 *   3. a group's images are split over the nn_par threads (at least 2
 *      images a share); each share runs all ops on chunks of its images
 *      with its own activation buffers, so threads meet once per group.
 * Equality with fake quantization: integer sums are exact; a code can
 * differ from the fake-quant one only where the float values of the two
 * computations fall on different sides of a rounding boundary (a half
 * integer): the fake-quant GEMM sums float products in another order, and
 * FIX tensors hold values to 2^-17 of the smallest consumer step.
 *
 * Deliberately not here: reading files (qam.h), the command line. */
#ifndef DEP_ENGINE_H
#define DEP_ENGINE_H

#include <stdint.h>

#include "deploy/kern.h"
#include "deploy/qam.h"

typedef struct dep_engine dep_engine;

typedef struct {
    const char *kernel; /* kern.h variant name, NULL: the best supported */
} dep_engine_opts;

/* Takes the model over (freed with the engine, also on failure). */
int dep_engine_create(dep_engine **out, dep_model *m, const dep_engine_opts *o, qa_err *err);
void dep_engine_free(dep_engine *e);
const dep_model *dep_engine_model(const dep_engine *e);
const char *dep_engine_kernel(const dep_engine *e);

/* logits (n, nclass); wbits/abits (n, nplan) the widths each image ran
 * with (either may be NULL). */
int dep_engine_predict(dep_engine *e, const uint8_t *px, int n, float *logits, uint8_t *wbits,
                       uint8_t *abits, qa_err *err);

/* The same with the plans given (n, nplan) instead of computed: the
 * equality tests run the fake-quant net and the engine on one plan. */
int dep_engine_predict_plan(dep_engine *e, const uint8_t *px, int n, const uint8_t *wbits,
                            const uint8_t *abits, float *logits, qa_err *err);

#endif
