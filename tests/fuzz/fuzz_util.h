/* fuzz_util.h: what the fuzz targets (tests/fuzz/fuzz_*.c) share: a reader
 * that takes the input apart, a private scratch directory for the readers
 * that open files, and the checks every target makes of a reader's answer.
 * A target is built two ways: with libFuzzer (meson -Dfuzz=true, clang),
 * and with replay.c into a Check suite that runs every committed input
 * (corpus and regressions) in the normal test build. Not here: the readers'
 * own invariants, which each target checks. */
#ifndef QA_FUZZ_UTIL_H
#define QA_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input, consumed from the front; reads past its end give zeros. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fuzz_bytes;

uint8_t fuzz_u8(fuzz_bytes *b);
unsigned fuzz_u16(fuzz_bytes *b); /* big-endian */
/* The next n bytes (fewer at the end: *got says how many). */
const uint8_t *fuzz_take(fuzz_bytes *b, size_t n, size_t *got);

/* A directory of this process's own (mkdtemp under $TMPDIR or /tmp), made
 * on first use and removed at exit. */
const char *fuzz_dir(void);
/* dir/name, aborting when it does not fit in n bytes. */
void fuzz_path(char *out, size_t n, const char *dir, const char *name);
/* Writes data to path, plain or gzip-compressed: 0, or -1 when it cannot
 * (fuzz_folder's trees can put a file where a folder is). */
int fuzz_write(const char *path, const void *data, size_t n, int gz);
/* Removes path and everything below it (symbolic links are not followed). */
void fuzz_rmtree(const char *path);

/* Aborts with a message: the finding a target reports. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FUZZ_ASSERT(c)                                                                            \
    do {                                                                                          \
        if (!(c))                                                                                 \
            fuzz_fail("%s:%d: %s", __FILE__, __LINE__, #c);                                       \
    } while (0)
/* A reader's status: 0, or a negative qa_status with a message. */
void fuzz_check_status(int rc, const qa_err *err, const char *reader);

#endif
