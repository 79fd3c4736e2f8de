/* fuzz_util.c: see fuzz_util.h. */
#include "fuzz_util.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

uint8_t fuzz_u8(fuzz_bytes *b)
{
    if (b->n == 0)
        return 0;
    b->n--;
    return *b->p++;
}

unsigned fuzz_u16(fuzz_bytes *b)
{
    unsigned hi = fuzz_u8(b);
    return hi << 8 | fuzz_u8(b);
}

const uint8_t *fuzz_take(fuzz_bytes *b, size_t n, size_t *got)
{
    const uint8_t *p = b->p;
    *got = n < b->n ? n : b->n;
    b->p += *got;
    b->n -= *got;
    return p;
}

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz target finding: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void fuzz_check_status(int rc, const qa_err *err, const char *reader)
{
    if (rc > 0 || rc < QA_ERR_UNSUPPORTED)
        fuzz_fail("%s returned %d, not a qa_status", reader, rc);
    if (rc < 0 && (err->code != rc || err->msg[0] == '\0'))
        fuzz_fail("%s failed (%d) without its message (err->code %d, '%s')", reader, rc,
                  err->code, err->msg);
}

static char scratch[256];

static void remove_scratch(void)
{
    if (scratch[0])
        fuzz_rmtree(scratch);
}

const char *fuzz_dir(void)
{
    if (scratch[0])
        return scratch;
    const char *t = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/qa_fuzz_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(scratch))
        fuzz_fail("cannot make a scratch directory %s", scratch);
    atexit(remove_scratch);
    return scratch;
}

void fuzz_path(char *out, size_t n, const char *dir, const char *name)
{
    int k = snprintf(out, n, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= n)
        fuzz_fail("path %s/%s is too long", dir, name);
}

int fuzz_write(const char *path, const void *data, size_t n, int gz)
{
    int ok;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ok = f && (n == 0 || gzwrite(f, data, (unsigned)n) == (int)n);
        ok = f && gzclose(f) == Z_OK && ok;
    } else {
        FILE *f = fopen(path, "wb");
        ok = f && fwrite(data, 1, n, f) == n;
        ok = f && fclose(f) == 0 && ok;
    }
    return ok ? 0 : -1;
}

void fuzz_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char sub[4096];
                fuzz_path(sub, sizeof sub, path, e->d_name);
                fuzz_rmtree(sub);
            }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}
