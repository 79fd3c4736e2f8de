/* fuzz_cifar.c: the input as a CIFAR binary batch file, read as CIFAR-10
 * and as CIFAR-100 (record sizes 3073 and 3074 bytes: at most one of the
 * two fits a given size). A loaded set must hold one image per record with
 * its label in range; a refusal must say why. */
#include "data/cifar.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_path(path, sizeof path, fuzz_dir(), "batch.bin");
    FUZZ_ASSERT(fuzz_write(path, data, size, 0) == 0);
    const char *paths[1] = {path};
    for (int kind = DATA_CIFAR10; kind <= DATA_CIFAR100; kind++) {
        data_set ds;
        qa_err err = {0};
        int rc = data_cifar_load_files(&ds, (data_cifar_kind)kind, paths, 1, &err);
        fuzz_check_status(rc, &err, "data_cifar_load_files");
        size_t rec = (size_t)(kind == DATA_CIFAR100 ? 2 : 1) + DATA_CIFAR_PIXELS;
        if (rc) {
            FUZZ_ASSERT(ds.pixels == NULL && ds.n == 0);
            continue;
        }
        FUZZ_ASSERT(size % rec == 0 && ds.n == (int)(size / rec));
        FUZZ_ASSERT(ds.h == 32 && ds.w == 32 && ds.c == 3 && ds.nclass == (kind ? 100 : 10));
        for (int i = 0; i < ds.n; i++) {
            const uint8_t *r = data + (size_t)i * rec + rec - DATA_CIFAR_PIXELS;
            FUZZ_ASSERT(ds.labels[i] < ds.nclass && ds.labels[i] == r[-1]);
            FUZZ_ASSERT(data_set_image(&ds, i)[0] == r[0] && data_set_image(&ds, i)[2] == r[2048]);
        }
        data_set_free(&ds);
    }
    return 0;
}
