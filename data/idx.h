/* idx.h: Fashion-MNIST / MNIST in IDX format (LeCun's ubyte files), gzip or plain.
 *
 * Owns reading and validating one images file plus one labels file into a
 * data_set: magic (0x803 images, 0x801 labels), dimensions, counts, label
 * range, truncation and trailing data, each error naming the file. zlib reads
 * both .gz and uncompressed files. Does not shuffle, normalise or split
 * (data/loader.h does), and knows nothing of other formats. */
#ifndef DATA_IDX_H
#define DATA_IDX_H

#include "data/dataset.h"
#include "nn/status.h"

/* Where Debian's dataset-fashion-mnist package puts its files. */
#define DATA_IDX_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
/* MNIST and Fashion-MNIST have ten classes; a larger label is corruption. */
#define DATA_IDX_NCLASS 10

/* Reads images (N, H, W) and labels (N) into ds (allocated here; free with
 * data_set_free). On failure ds is left empty. */
int data_idx_load_files(data_set *ds, const char *images_gz, const char *labels_gz, qa_err *err);

/* <dir>/<split>-images-idx3-ubyte.gz and <dir>/<split>-labels-idx1-ubyte.gz;
 * split is "train" or "t10k"; dir NULL or "" means DATA_IDX_DEFAULT_DIR. */
int data_idx_load(data_set *ds, const char *dir, const char *split, qa_err *err);

#endif
