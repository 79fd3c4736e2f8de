/* tensor.h: a contiguous NCHW float tensor; no strides, no views but batch
 * slices. Dense data is (N, C, 1, 1). d[0] is the number of samples the
 * current batch holds, which may be less than the buffer was built for. */
#ifndef NN_TENSOR_H
#define NN_TENSOR_H

#include <stddef.h>

typedef struct {
    float *data; /* (d[0], d[1], d[2], d[3]) */
    int d[4];    /* N, C, H, W */
} nn_tensor;

/* elements per sample: C*H*W */
static inline size_t nn_tensor_sample_size(const nn_tensor *t)
{
    return (size_t)t->d[1] * (size_t)t->d[2] * (size_t)t->d[3];
}

static inline size_t nn_tensor_count(const nn_tensor *t)
{
    return (size_t)t->d[0] * nn_tensor_sample_size(t);
}

#endif
