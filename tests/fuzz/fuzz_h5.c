/* fuzz_h5.c: see fuzz_h5.h. */
#include "fuzz_h5.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_VALUES = 64, MAX_TEXT = 24 };

/* Texts that variable-length string values point at, per build. */
static char texts[MAX_VALUES][MAX_TEXT];
static int ntexts;

hid_t fuzz_h5_type(fuzz_bytes *b)
{
    switch (fuzz_u8(b) % 7) {
    case 0: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case 1: return H5Tcopy(H5T_NATIVE_FLOAT);
    case 2: return H5Tcopy(H5T_NATIVE_INT64);
    case 3: return H5Tcopy(H5T_NATIVE_INT32);
    case 4: return H5Tcopy(H5T_NATIVE_UINT8);
    case 5: {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 8);
        return t;
    }
    default: {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        return t;
    }
    }
}

void fuzz_h5_take_text(fuzz_bytes *b, char *buf, size_t n)
{
    size_t len = fuzz_u8(b) % n, got;
    const uint8_t *p = fuzz_take(b, len, &got);
    memcpy(buf, p, got);
    buf[got] = '\0';
}

/* n values of type t from the input into buf (variable-length strings:
 * pointers to texts taken from the input) */
static void fill(fuzz_bytes *b, hid_t t, void *buf, size_t n)
{
    if (H5Tis_variable_str(t) > 0) {
        for (size_t i = 0; i < n; i++) { /* compound members may be unaligned */
            char *s = texts[ntexts++ % MAX_VALUES];
            fuzz_h5_take_text(b, s, MAX_TEXT);
            memcpy((char *)buf + i * sizeof s, &s, sizeof s);
        }
        return;
    }
    size_t bytes = n * H5Tget_size(t), got;
    const uint8_t *p = fuzz_take(b, bytes, &got);
    memset(buf, 0, bytes);
    memcpy(buf, p, got);
}

void fuzz_h5_attr(fuzz_bytes *b, hid_t obj, const char *name)
{
    hid_t t = fuzz_h5_type(b);
    hsize_t n = fuzz_u8(b) % 5;
    hid_t space = n == 4 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    uint8_t buf[8 * 4];
    fill(b, t, buf, n == 4 ? 1 : (size_t)n);
    hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, t, buf);
        H5Aclose(a);
    }
    H5Sclose(space);
    H5Tclose(t);
}

void fuzz_h5_attr_text(hid_t obj, const char *name, const char *text)
{
    hid_t t = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(t, H5T_VARIABLE);
    hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, t, &text);
        H5Aclose(a);
    }
    H5Sclose(space);
    H5Tclose(t);
}

void fuzz_h5_text(hid_t loc, const char *path, const char *text)
{
    hid_t t = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Tset_size(t, H5T_VARIABLE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(loc, path, t, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (d >= 0) {
        H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text);
        H5Dclose(d);
    }
    H5Pclose(lcpl);
    H5Sclose(space);
    H5Tclose(t);
}

/* The compound type of a table: the members of cols the input keeps. */
static hid_t table_type(fuzz_bytes *b, const char *const *cols)
{
    hid_t m[16];
    const char *names[16];
    size_t size = 0;
    int n = 0;
    for (int i = 0; cols[i] && n < 16; i++) {
        if (fuzz_u8(b) % 4 == 0)
            continue;
        hid_t t = fuzz_h5_type(b);
        hsize_t k = 1 + fuzz_u8(b) % 4;
        if (k > 1 && H5Tis_variable_str(t) <= 0) {
            hid_t a = H5Tarray_create2(t, 1, &k);
            H5Tclose(t);
            t = a;
        }
        names[n] = cols[i];
        m[n++] = t;
        size += H5Tget_size(t);
    }
    hid_t c = H5Tcreate(H5T_COMPOUND, size ? size : 1);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        H5Tinsert(c, names[i], off, m[i]);
        off += H5Tget_size(m[i]);
        H5Tclose(m[i]);
    }
    return c;
}

/* rows of the compound c from the input (member by member, row by row) */
static void fill_rows(fuzz_bytes *b, hid_t c, uint8_t *buf, size_t rows)
{
    size_t size = H5Tget_size(c);
    for (size_t r = 0; r < rows; r++)
        for (int i = 0; i < H5Tget_nmembers(c); i++) {
            hid_t t = H5Tget_member_type(c, (unsigned)i);
            fill(b, t, buf + r * size + H5Tget_member_offset(c, (unsigned)i), 1);
            H5Tclose(t);
        }
}

void fuzz_h5_table(fuzz_bytes *b, hid_t loc, const char *path, const char *const *cols)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    unsigned kind = fuzz_u8(b) % 8;
    if (kind == 0) {
        hid_t g = H5Gcreate2(loc, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (g >= 0)
            H5Gclose(g);
        H5Pclose(lcpl);
        return;
    }
    hid_t t = kind == 1 ? H5Tcopy(H5T_NATIVE_DOUBLE) : table_type(b, cols);
    hsize_t rows = fuzz_u8(b) % 7;
    hid_t space = kind == 2 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &rows, NULL);
    size_t n = kind == 2 ? 1 : (size_t)rows;
    uint8_t *buf = calloc(n ? n : 1, H5Tget_size(t));
    if (kind == 1)
        fill(b, t, buf, n);
    else
        fill_rows(b, t, buf, n);
    hid_t d = H5Dcreate2(loc, path, t, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (d >= 0) {
        if (n)
            H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        H5Dclose(d);
    }
    free(buf);
    H5Sclose(space);
    H5Tclose(t);
    H5Pclose(lcpl);
}

void fuzz_h5_maybe_cut(fuzz_bytes *b, const char *path)
{
    unsigned ask = fuzz_u8(b), frac = fuzz_u8(b);
    struct stat st;
    if (ask >= 32 || stat(path, &st) != 0)
        return;
    FUZZ_ASSERT(truncate(path, st.st_size * (off_t)frac / 256) == 0);
}
