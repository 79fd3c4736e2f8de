/* replay.c: see replay.h. */
#include "agent/replay.h"

#include <stdlib.h>
#include <string.h>

int agent_replay_init(agent_replay *rb, int dim, int capacity, qa_err *err)
{
    memset(rb, 0, sizeof *rb);
    if (dim < 1 || capacity < 1)
        return qa_fail(err, QA_ERR_ARG, "replay buffer: dim %d and capacity %d must be >= 1", dim,
                       capacity);
    rb->dim = dim;
    rb->capacity = capacity;
    rb->width = 2 * dim + 3;
    rb->rows = calloc((size_t)capacity * (size_t)rb->width, sizeof *rb->rows);
    if (!rb->rows)
        return qa_fail(err, QA_ERR_NOMEM, "replay buffer: out of memory for %d transitions",
                       capacity);
    return QA_OK;
}

void agent_replay_free(agent_replay *rb)
{
    free(rb->rows);
    rb->rows = NULL;
}

void agent_replay_push(agent_replay *rb, const float *s, float a, float r, const float *s2,
                       int done)
{
    size_t d = (size_t)rb->dim;
    float *row = rb->rows + (size_t)(rb->count % rb->capacity) * (size_t)rb->width;
    memcpy(row, s, d * sizeof *s);
    row[d] = a;
    row[d + 1] = r;
    memcpy(row + d + 2, s2, d * sizeof *s2);
    row[2 * d + 2] = done ? 1.0f : 0.0f;
    rb->count++;
}

int agent_replay_size(const agent_replay *rb)
{
    return rb->count < rb->capacity ? (int)rb->count : rb->capacity;
}

const float *agent_replay_row(const agent_replay *rb, int i)
{
    QA_ASSERT(i >= 0 && i < agent_replay_size(rb));
    int64_t first = rb->count < rb->capacity ? 0 : rb->count % rb->capacity;
    return rb->rows + (size_t)((first + i) % rb->capacity) * (size_t)rb->width;
}

void agent_replay_sample(const agent_replay *rb, nn_rng *r, const float **rows, int n)
{
    int size = agent_replay_size(rb);
    QA_ASSERT(size >= 1);
    for (int i = 0; i < n; i++)
        rows[i] = agent_replay_row(rb, (int)nn_rng_below(r, (uint32_t)size));
}
