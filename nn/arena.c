/* arena.c: a list of large blocks, handed out front to back. */
#include "nn/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64
#define ARENA_BLOCK (4u << 20)

struct nn_arena_block {
    nn_arena_block *next;
    size_t size, off;
    unsigned char *mem; /* ARENA_ALIGN-aligned, inside raw */
    void *raw;
};

void nn_arena_init(nn_arena *a)
{
    memset(a, 0, sizeof *a);
}

static nn_arena_block *block_new(size_t size)
{
    nn_arena_block *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    /* calloc, not aligned_alloc and memset: a large block comes zeroed from
     * the system and stays out of the resident set until it is used, so a
     * network too large for the machine can be built and measured
     * (nn_net_bytes) before its activations take any memory. */
    b->raw = size <= SIZE_MAX - ARENA_ALIGN ? calloc(1, size + ARENA_ALIGN) : NULL;
    if (!b->raw) {
        free(b);
        return NULL;
    }
    b->mem = (unsigned char *)(((uintptr_t)b->raw + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
    b->size = size;
    b->off = 0;
    b->next = NULL;
    return b;
}

void *nn_arena_alloc(nn_arena *a, size_t bytes, qa_err *err)
{
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    if (need < bytes) {
        qa_fail(err, QA_ERR_NOMEM, "arena: request of %zu bytes overflows", bytes);
        return NULL;
    }
    nn_arena_block *b = a->head;
    if (!b || b->size - b->off < need) {
        size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        b = block_new(size);
        if (!b) {
            qa_fail(err, QA_ERR_NOMEM, "arena: cannot allocate %zu bytes (%zu already in use)",
                    size, a->reserved);
            return NULL;
        }
        b->next = a->head;
        a->head = b;
        a->reserved += size;
    }
    void *p = b->mem + b->off;
    b->off += need;
    a->used += need;
    return p;
}

float *nn_arena_floats(nn_arena *a, size_t n, qa_err *err)
{
    if (n > SIZE_MAX / sizeof(float)) {
        qa_fail(err, QA_ERR_NOMEM, "arena: %zu floats overflow size_t", n);
        return NULL;
    }
    return nn_arena_alloc(a, n * sizeof(float), err);
}

void nn_arena_free(nn_arena *a)
{
    nn_arena_block *b = a->head;
    while (b) {
        nn_arena_block *next = b->next;
        free(b->raw);
        free(b);
        b = next;
    }
    memset(a, 0, sizeof *a);
}
