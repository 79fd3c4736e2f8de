/* loader.h: which images go into which batch, and how pixels become floats.
 *
 * Owns the seeded train/validation split, per-epoch shuffling into batches
 * of dataset indices, per-channel normalisation statistics and the
 * gather/convert helpers. A batch is a list of stable dataset indices: the
 * environment keys its per-sample randomness on them, so a degraded sample
 * is the same whatever the batch order. Does not read files (idx, cifar,
 * folder do) and does not degrade images (env/ does). */
#ifndef DATA_LOADER_H
#define DATA_LOADER_H

#include <stdint.h>

#include "data/dataset.h"
#include "nn/status.h"

/* The first n images split into training and validation sets, both in
 * ascending index order. val_fraction 0 keeps all n for training. */
typedef struct {
    int *train, *val; /* (ntrain), (nval) dataset indices */
    int ntrain, nval;
} data_split;

/* Validation images are drawn by a permutation from (seed, NN_STREAM_SPLIT). */
int data_split_make(data_split *s, int n, double val_fraction, uint64_t seed, qa_err *err);
void data_split_free(data_split *s);

typedef struct {
    int batch;     /* samples per batch, >= 1 */
    int drop_last; /* 1: skip the final short batch */
    int shuffle;   /* 1: a new order each epoch; 0: the pool's order */
    uint64_t seed; /* run seed */
} data_loader_cfg;

typedef struct {
    int *pool;  /* (n) dataset indices this loader draws from */
    int *order; /* (n) this epoch's order */
    int n, pos, epoch;
    data_loader_cfg cfg;
} data_loader;

/* indices NULL means 0..n-1; the loader keeps its own copy. */
int data_loader_init(data_loader *dl, const int *indices, int n, const data_loader_cfg *cfg,
                     qa_err *err);
void data_loader_free(data_loader *dl);
/* Rewinds; when shuffling, the order is a permutation from
 * (seed, NN_STREAM_SHUFFLE, a = epoch), so epoch e is reproducible alone. */
void data_loader_start_epoch(data_loader *dl, int epoch);
/* Batches per epoch under drop_last. */
int data_loader_batches(const data_loader *dl);
/* Samples per epoch under drop_last. */
int data_loader_samples(const data_loader *dl);
/* Next batch of the epoch: returns its size (0 when the epoch is over) and
 * points *idx at its dataset indices (valid until the next start_epoch). */
int data_loader_next(data_loader *dl, const int **idx);

/* Per-channel mean and standard deviation of v / 255 over the images idx
 * (NULL: 0..n-1), exact (from per-channel histograms). */
void data_channel_stats(const data_set *ds, const int *idx, int n, double *mean, double *std);

/* Copies images idx[0..n) into px (n, h, w, c) and their labels into labels (n). */
void data_gather(const data_set *ds, const int *idx, int n, uint8_t *px, int *labels);

/* n images (n, h, w, c) uint8 -> (n, c, h, w) float, (v / 255 - mean[ch]) / std[ch]. */
void data_images_to_float(const uint8_t *px, int n, int h, int w, int c, const float *mean,
                          const float *std, float *out);

#endif
