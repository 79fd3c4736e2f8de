/* qa_enospc.c: a disk that fills up, for tests, as an LD_PRELOAD library:
 * writes to files below $QA_ENOSPC_DIR fail with ENOSPC once the process
 * has written $QA_ENOSPC_BYTES bytes there (all such files together),
 * through write, pwrite and pwrite64 (HDF5's sec2 driver uses pwrite).
 * Unlike a full tmpfs, deleting a file gives no room back: once a write has
 * failed, every later one fails too, the harder case (the run file cannot
 * be finished either). Without the two
 * variables it changes nothing. Used by tests/run/test_faults.c. */
#define _GNU_SOURCE
/* pwrite and pwrite64 are both interposed: neither may be renamed into
 * the other by the large-file headers */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long long spent;
static int is_full; /* once a write has failed, so does every later one: a full disk */

/* 1 when the write of n bytes to fd must fail */
static int full(int fd, size_t n)
{
    const char *dir = getenv("QA_ENOSPC_DIR"), *budget = getenv("QA_ENOSPC_BYTES");
    if (!dir || !budget)
        return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(link, path, sizeof path - 1);
    if (k <= 0)
        return 0;
    path[k] = '\0';
    if (strncmp(path, dir, strlen(dir)) != 0)
        return 0;
    if (is_full || spent + (long long)n > atoll(budget)) {
        is_full = 1;
        errno = ENOSPC;
        return 1;
    }
    spent += (long long)n;
    return 0;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "write");
    return full(fd, n) ? -1 : real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pwrite");
    return full(fd, n) ? -1 : real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off64_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pwrite64");
    return full(fd, n) ? -1 : real(fd, buf, n, off);
}
