/* cifar.h: CIFAR-10 and CIFAR-100 in their binary version (the
 * cifar-10-batches-bin / cifar-100-binary archives of the authors' site).
 *
 * A record is the label byte(s) then 3072 pixel bytes, planar: 1024 red,
 * 1024 green, 1024 blue, each 32x32 row-major. CIFAR-10 records have one
 * label (0..9); CIFAR-100 records have the coarse (0..19) then the fine
 * (0..99) label, and the fine one is kept. Files are read whole and
 * checked: a size that is not a whole number of records, an empty file or
 * a label out of range is an error naming the file. Pixels are converted
 * to the interleaved data_image layout (h, w, c). Does not shuffle, split
 * or normalise (data/loader.h). */
#ifndef DATA_CIFAR_H
#define DATA_CIFAR_H

#include "data/dataset.h"
#include "nn/status.h"

typedef enum { DATA_CIFAR10 = 0, DATA_CIFAR100 = 1 } data_cifar_kind;

#define DATA_CIFAR_SIDE 32
#define DATA_CIFAR_PIXELS (3 * DATA_CIFAR_SIDE * DATA_CIFAR_SIDE)

/* Records of every file in order into ds (allocated here; data_set_free). */
int data_cifar_load_files(data_set *ds, data_cifar_kind kind, const char *const *paths, int npaths,
                          qa_err *err);

/* split "train" or "test" of dir: CIFAR-10 data_batch_1..5.bin /
 * test_batch.bin, CIFAR-100 train.bin / test.bin. */
int data_cifar_load(data_set *ds, data_cifar_kind kind, const char *dir, const char *split,
                    qa_err *err);

/* Both splits of dir, for the experiments' dataset table (datasets.h's
 * load signature); on failure both sets are left empty by the caller. */
int data_cifar10_load_splits(data_set *train, data_set *test, const char *dir, qa_err *err);
int data_cifar100_load_splits(data_set *train, data_set *test, const char *dir, qa_err *err);

#endif
