/* datasets.c: the dataset table. */
#include "experiments/run/datasets.h"

#include <string.h>

#include "data/cifar.h"
#include "data/folder.h"
#include "data/idx.h"

static int load_fmnist(data_set *train, data_set *test, const char *dir, int side, qa_err *err)
{
    (void)side; /* 28x28 */
    int rc = data_idx_load(train, dir, "train", err);
    if (!rc)
        rc = data_idx_load(test, dir, "t10k", err);
    return rc;
}

static int load_cifar10(data_set *train, data_set *test, const char *dir, int side, qa_err *err)
{
    (void)side; /* 32x32 */
    return data_cifar10_load_splits(train, test, dir, err);
}

static int load_cifar100(data_set *train, data_set *test, const char *dir, int side, qa_err *err)
{
    (void)side; /* 32x32 */
    return data_cifar100_load_splits(train, test, dir, err);
}

static const exp_dataset datasets[] = {
    {"fmnist", "Fashion-MNIST (IDX files, Debian package dataset-fashion-mnist)",
     DATA_IDX_DEFAULT_DIR, load_fmnist},
    {"cifar10", "CIFAR-10 binary batches", "cifar-10-batches-bin", load_cifar10},
    {"cifar100", "CIFAR-100 binary, fine labels", "cifar-100-binary", load_cifar100},
    {"folder", "dir/train, dir/test: a PNG/JPEG sub-folder per class, folder_side px square RGB",
     "", data_folder_load_splits},
};

enum { NDATASETS = (int)(sizeof datasets / sizeof datasets[0]) };

const exp_dataset *exp_dataset_get(int i)
{
    return i >= 0 && i < NDATASETS ? &datasets[i] : NULL;
}

const char *exp_dataset_choice(int i)
{
    return i >= 0 && i < NDATASETS ? datasets[i].name : NULL;
}

int exp_dataset_load(int i, const char *dir, int side, data_set *train, data_set *test,
                     qa_err *err)
{
    const exp_dataset *d = exp_dataset_get(i);
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!d)
        return qa_fail(err, QA_ERR_ARG, "dataset %d is not in the dataset table", i);
    int rc = d->load(train, test, dir && *dir ? dir : d->default_dir, side, err);
    if (rc) {
        data_set_free(train);
        data_set_free(test);
        qa_err_prefix(err, "dataset %s: ", d->name);
    }
    return rc;
}
