/* arena.h: bump allocation of everything a network needs, done at build time.
 *
 * Layers, activations, caches and scratch are carved from an arena while a
 * network is built; nothing is allocated in the training loop and nothing is
 * freed individually. Memory comes back zeroed and 64-byte aligned (whole
 * cache lines, AVX-512 loads). The high-water mark is kept for reports.
 * Large blocks stay out of the resident set until first written, so the
 * bytes a network will take are known (used) before it takes them. */
#ifndef NN_ARENA_H
#define NN_ARENA_H

#include <stddef.h>

#include "nn/status.h"

typedef struct nn_arena_block nn_arena_block;

typedef struct {
    nn_arena_block *head; /* newest block first */
    size_t used;          /* bytes handed out, including alignment padding */
    size_t reserved;      /* bytes obtained from the system */
} nn_arena;

void nn_arena_init(nn_arena *a);
/* Zeroed, 64-byte aligned; NULL and err filled when memory runs out. */
void *nn_arena_alloc(nn_arena *a, size_t bytes, qa_err *err);
/* n floats, zeroed */
float *nn_arena_floats(nn_arena *a, size_t n, qa_err *err);
void nn_arena_free(nn_arena *a);

#endif
