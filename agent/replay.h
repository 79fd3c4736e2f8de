/* replay.h: DDPG's replay buffer, a ring holding the last `capacity`
 * transitions (s, a, r, s', done) with a scalar action.
 *
 * Row layout (W = 2 dim + 3 floats): s (dim), a, r, s' (dim), done (0 or 1).
 * `count` transitions were ever pushed; the ring holds the last
 * min(count, capacity), the oldest at count % capacity once full. Rows are
 * drawn uniformly with replacement (HAQ's keras-rl memory draws without
 * replacement when it can; with a few hundred rows and minibatches of 64
 * the difference is a handful of duplicates).
 * Deliberately not here: what a transition's reward is (search_ddpg.c). */
#ifndef AGENT_REPLAY_H
#define AGENT_REPLAY_H

#include <stdint.h>

#include "nn/rng.h"
#include "nn/status.h"

typedef struct {
    int dim, capacity, width;
    int64_t count; /* transitions ever pushed */
    float *rows;   /* (capacity, width) */
} agent_replay;

int agent_replay_init(agent_replay *rb, int dim, int capacity, qa_err *err);
void agent_replay_free(agent_replay *rb);
void agent_replay_push(agent_replay *rb, const float *s, float a, float r, const float *s2,
                       int done);
/* transitions held: min(count, capacity) */
int agent_replay_size(const agent_replay *rb);
/* the i-th oldest held transition, 0 <= i < size */
const float *agent_replay_row(const agent_replay *rb, int i);
/* n row pointers drawn uniformly with replacement (size >= 1) */
void agent_replay_sample(const agent_replay *rb, nn_rng *r, const float **rows, int n);

static inline float agent_replay_a(const agent_replay *rb, const float *row)
{
    return row[rb->dim];
}
static inline float agent_replay_r(const agent_replay *rb, const float *row)
{
    return row[rb->dim + 1];
}
static inline const float *agent_replay_s2(const agent_replay *rb, const float *row)
{
    return row + rb->dim + 2;
}
static inline float agent_replay_done(const agent_replay *rb, const float *row)
{
    return row[2 * rb->dim + 2];
}

#endif
