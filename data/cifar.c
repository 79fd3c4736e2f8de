/* cifar.c: CIFAR binary batches -> data_set. */
#include "data/cifar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int label_bytes(data_cifar_kind kind)
{
    return kind == DATA_CIFAR100 ? 2 : 1;
}

/* Number of records in path, from its size. */
static int count_records(const char *path, data_cifar_kind kind, long *records, qa_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    fclose(f);
    long rec = label_bytes(kind) + DATA_CIFAR_PIXELS;
    if (size < 0)
        return qa_fail(err, QA_ERR_IO, "%s: cannot determine the file size", path);
    if (size == 0 || size % rec != 0)
        return qa_fail(err, QA_ERR_FORMAT,
                       "%s: %ld bytes is not a whole number of %ld-byte CIFAR-%s records "
                       "(truncated, or not a CIFAR binary batch)",
                       path, size, rec, kind == DATA_CIFAR100 ? "100" : "10");
    *records = size / rec;
    return QA_OK;
}

/* Reads n records of path into ds from image index first. */
static int read_records(data_set *ds, data_cifar_kind kind, const char *path, int first, int n,
                        qa_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int lb = label_bytes(kind), nclass = kind == DATA_CIFAR100 ? 100 : 10, rc = QA_OK;
    uint8_t rec[2 + DATA_CIFAR_PIXELS];
    const int plane = DATA_CIFAR_SIDE * DATA_CIFAR_SIDE;
    for (int i = 0; i < n && !rc; i++) {
        if (fread(rec, 1, (size_t)(lb + DATA_CIFAR_PIXELS), f) != (size_t)(lb + DATA_CIFAR_PIXELS)) {
            rc = qa_fail(err, QA_ERR_IO, "%s: read failed at record %d", path, i);
            break;
        }
        int label = rec[lb - 1];
        if (label >= nclass) {
            rc = qa_fail(err, QA_ERR_FORMAT, "%s: record %d has label %d, expected 0..%d", path,
                         i, label, nclass - 1);
            break;
        }
        ds->labels[first + i] = (uint8_t)label;
        uint8_t *px = data_set_image(ds, first + i);
        for (int p = 0; p < plane; p++)
            for (int ch = 0; ch < 3; ch++)
                px[p * 3 + ch] = rec[lb + ch * plane + p];
    }
    fclose(f);
    return rc;
}

int data_cifar_load_files(data_set *ds, data_cifar_kind kind, const char *const *paths, int npaths,
                          qa_err *err)
{
    memset(ds, 0, sizeof *ds);
    if (npaths < 1)
        return qa_fail(err, QA_ERR_ARG, "CIFAR: no batch files given");
    long total = 0;
    for (int k = 0; k < npaths; k++) {
        long n = 0;
        int rc = count_records(paths[k], kind, &n, err);
        if (rc)
            return rc;
        total += n;
    }
    if (total > 1 << 24)
        return qa_fail(err, QA_ERR_FORMAT, "%s: %ld CIFAR records is implausibly many", paths[0],
                       total);
    int rc = data_set_alloc(ds, (int)total, DATA_CIFAR_SIDE, DATA_CIFAR_SIDE, 3,
                            kind == DATA_CIFAR100 ? 100 : 10, err);
    int first = 0;
    for (int k = 0; k < npaths && !rc; k++) {
        long n = 0;
        rc = count_records(paths[k], kind, &n, err);
        if (!rc)
            rc = read_records(ds, kind, paths[k], first, (int)n, err);
        first += (int)n;
    }
    if (rc) {
        data_set_free(ds);
        return rc;
    }
    snprintf(ds->source, sizeof ds->source, "%s", paths[0]);
    return QA_OK;
}

int data_cifar_load(data_set *ds, data_cifar_kind kind, const char *dir, const char *split,
                    qa_err *err)
{
    memset(ds, 0, sizeof *ds);
    int train = split && strcmp(split, "train") == 0;
    if (!split || (!train && strcmp(split, "test") != 0))
        return qa_fail(err, QA_ERR_ARG, "CIFAR split '%s' is unknown (expected train or test)",
                       split ? split : "(null)");
    static const char *const c10_train[] = {"data_batch_1.bin", "data_batch_2.bin",
                                            "data_batch_3.bin", "data_batch_4.bin",
                                            "data_batch_5.bin"};
    static const char *const c10_test[] = {"test_batch.bin"};
    static const char *const c100_train[] = {"train.bin"};
    static const char *const c100_test[] = {"test.bin"};
    const char *const *names = kind == DATA_CIFAR100 ? (train ? c100_train : c100_test)
                                                     : (train ? c10_train : c10_test);
    int n = kind == DATA_CIFAR10 && train ? 5 : 1;
    char paths[5][1024];
    const char *p[5];
    for (int k = 0; k < n; k++) {
        int len = snprintf(paths[k], sizeof paths[k], "%s/%s", dir, names[k]);
        if (len < 0 || (size_t)len >= sizeof paths[k])
            return qa_fail(err, QA_ERR_ARG, "CIFAR directory name is too long: %s", dir);
        p[k] = paths[k];
    }
    return data_cifar_load_files(ds, kind, p, n, err);
}

int data_cifar10_load_splits(data_set *train, data_set *test, const char *dir, qa_err *err)
{
    int rc = data_cifar_load(train, DATA_CIFAR10, dir, "train", err);
    return rc ? rc : data_cifar_load(test, DATA_CIFAR10, dir, "test", err);
}

int data_cifar100_load_splits(data_set *train, data_set *test, const char *dir, qa_err *err)
{
    int rc = data_cifar_load(train, DATA_CIFAR100, dir, "train", err);
    return rc ? rc : data_cifar_load(test, DATA_CIFAR100, dir, "test", err);
}
