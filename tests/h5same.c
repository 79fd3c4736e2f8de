/* h5same.c: see h5same.h. Values are read in their native memory type and
 * compared element by element through the type tree (compound members,
 * arrays, strings), so a skipped column is skipped in every row. */
#include "h5same.h"

#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hid_t a, b;
    const char *const *skip;
    h5same_result *r;
    int failed;
} walk;

static int skipped(const walk *w, const char *name)
{
    for (const char *const *s = w->skip; s && *s; s++) {
        size_t n = strlen(*s);
        if (n > 0 && (*s)[n - 1] == '/' ? strncmp(*s, name, n) == 0 : strcmp(*s, name) == 0)
            return 1;
    }
    return 0;
}

/* Records the first difference; returns -1 for the caller to pass up. */
static int differ(walk *w, const char *fmt, ...)
{
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->r->why, sizeof w->r->why, fmt, ap);
        va_end(ap);
    }
    w->failed = 1;
    return -1;
}

static int same_element(walk *w, hid_t t, const unsigned char *a, const unsigned char *b,
                        const char *member);

static int same_compound(walk *w, hid_t t, const unsigned char *a, const unsigned char *b)
{
    int rc = 0, nm = H5Tget_nmembers(t);
    for (int m = 0; m < nm && !rc; m++) {
        char *name = H5Tget_member_name(t, (unsigned)m);
        if (!skipped(w, name)) {
            hid_t mt = H5Tget_member_type(t, (unsigned)m);
            size_t off = H5Tget_member_offset(t, (unsigned)m);
            rc = same_element(w, mt, a + off, b + off, name);
            H5Tclose(mt);
        }
        H5free_memory(name);
    }
    return rc;
}

static int same_array(walk *w, hid_t t, const unsigned char *a, const unsigned char *b,
                      const char *member)
{
    hsize_t dims[H5S_MAX_RANK];
    int nd = H5Tget_array_ndims(t), rc = 0;
    H5Tget_array_dims2(t, dims);
    size_t n = 1;
    for (int d = 0; d < nd; d++)
        n *= (size_t)dims[d];
    hid_t base = H5Tget_super(t);
    size_t bs = H5Tget_size(base);
    for (size_t i = 0; i < n && !rc; i++)
        rc = same_element(w, base, a + i * bs, b + i * bs, member);
    H5Tclose(base);
    return rc;
}

/* one element of memory type t; member names the column for messages */
static int same_element(walk *w, hid_t t, const unsigned char *a, const unsigned char *b,
                        const char *member)
{
    switch (H5Tget_class(t)) {
    case H5T_COMPOUND:
        return same_compound(w, t, a, b);
    case H5T_ARRAY:
        return same_array(w, t, a, b, member);
    case H5T_VLEN:
        return differ(w, "%s: variable-length sequences are not compared", member);
    default:
        break;
    }
    w->r->values++;
    if (H5Tis_variable_str(t) > 0) {
        const char *sa = *(char *const *)a, *sb = *(char *const *)b;
        sa = sa ? sa : "";
        sb = sb ? sb : "";
        return strcmp(sa, sb) ? differ(w, "%s: '%s' vs '%s'", member, sa, sb) : 0;
    }
    return memcmp(a, b, H5Tget_size(t)) ? differ(w, "%s differs", member) : 0;
}

/* n elements of type t at a and b; where names them for messages */
static int same_elements(walk *w, hid_t t, const unsigned char *a, const unsigned char *b,
                         size_t n, const char *where)
{
    size_t size = H5Tget_size(t);
    for (size_t i = 0; i < n; i++)
        if (same_element(w, t, a + i * size, b + i * size, "value")) {
            char inner[256];
            snprintf(inner, sizeof inner, "%.255s", w->r->why);
            snprintf(w->r->why, sizeof w->r->why, "%.200s, element %zu of %zu: %s", where, i, n,
                     inner);
            return -1;
        }
    return 0;
}

static int same_shape(hid_t sa, hid_t sb)
{
    hsize_t da[H5S_MAX_RANK], db[H5S_MAX_RANK];
    int na = H5Sget_simple_extent_dims(sa, da, NULL), nb = H5Sget_simple_extent_dims(sb, db, NULL);
    return na >= 0 && na == nb && !memcmp(da, db, (size_t)na * sizeof *da);
}

/* Reads the values of a and b (datasets, or attributes when attr) in their
 * native type and compares them. */
static int same_values(walk *w, hid_t a, hid_t b, int attr, const char *where)
{
    hid_t fa = attr ? H5Aget_type(a) : H5Dget_type(a), fb = attr ? H5Aget_type(b) : H5Dget_type(b);
    hid_t sa = attr ? H5Aget_space(a) : H5Dget_space(a), sb = attr ? H5Aget_space(b) : H5Dget_space(b);
    int rc = 0;
    if (H5Tequal(fa, fb) <= 0)
        rc = differ(w, "%s: the types differ", where);
    else if (!same_shape(sa, sb))
        rc = differ(w, "%s: the shapes differ", where);
    hid_t mt = H5Tget_native_type(fa, H5T_DIR_ASCEND);
    size_t n = rc ? 0 : (size_t)H5Sget_select_npoints(sa), size = H5Tget_size(mt);
    unsigned char *va = calloc(n ? n : 1, size), *vb = calloc(n ? n : 1, size);
    if (n > 0) {
        herr_t ea = attr ? H5Aread(a, mt, va) : H5Dread(a, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, va);
        herr_t eb = attr ? H5Aread(b, mt, vb) : H5Dread(b, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb);
        rc = ea < 0 || eb < 0 ? differ(w, "%s: cannot read", where)
                              : same_elements(w, mt, va, vb, n, where);
        H5Dvlen_reclaim(mt, sa, H5P_DEFAULT, va);
        H5Dvlen_reclaim(mt, sb, H5P_DEFAULT, vb);
    }
    free(va), free(vb);
    H5Tclose(mt), H5Tclose(fa), H5Tclose(fb), H5Sclose(sa), H5Sclose(sb);
    return rc;
}

typedef struct {
    walk *w;
    hid_t other;      /* the same object in the other file */
    const char *path; /* for messages */
    int compare;      /* 1: compare values, 0: only check the name exists in other */
} attr_ctx;

static herr_t attr_cb(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    attr_ctx *c = data;
    if (skipped(c->w, name))
        return 0;
    char where[600];
    snprintf(where, sizeof where, "%s attribute %s", c->path, name);
    if (H5Aexists(c->other, name) <= 0)
        return differ(c->w, "%s is in one file only", where) ? 1 : 0;
    if (!c->compare)
        return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), b = H5Aopen(c->other, name, H5P_DEFAULT);
    int rc = same_values(c->w, a, b, 1, where);
    H5Aclose(a), H5Aclose(b);
    return rc ? 1 : 0; /* > 0 stops the iteration without an HDF5 error */
}

static int same_attrs(walk *w, hid_t oa, hid_t ob, const char *path)
{
    attr_ctx ca = {w, ob, path, 1}, cb = {w, oa, path, 0};
    hsize_t ia = 0, ib = 0;
    if (H5Aiterate2(oa, H5_INDEX_NAME, H5_ITER_INC, &ia, attr_cb, &ca) < 0 ||
        (!w->failed && H5Aiterate2(ob, H5_INDEX_NAME, H5_ITER_INC, &ib, attr_cb, &cb) < 0))
        return differ(w, "%s: cannot read the attributes", path);
    return w->failed ? -1 : 0;
}

/* one object of a (name relative to the root) against b's */
static herr_t object_cb(hid_t root, const char *name, const H5L_info_t *info, void *data)
{
    (void)root;
    (void)info;
    walk *w = data;
    char path[512];
    snprintf(path, sizeof path, "/%s", name);
    if (H5Lexists(w->b, path, H5P_DEFAULT) <= 0)
        return differ(w, "%s is in one file only", path) ? 1 : 0;
    hid_t oa = H5Oopen(w->a, path, H5P_DEFAULT), ob = H5Oopen(w->b, path, H5P_DEFAULT);
    int rc = oa < 0 || ob < 0 ? differ(w, "%s: cannot open", path) : 0;
    if (!rc && H5Iget_type(oa) != H5Iget_type(ob))
        rc = differ(w, "%s: a group in one file, a dataset in the other", path);
    if (!rc)
        rc = same_attrs(w, oa, ob, path);
    if (!rc && H5Iget_type(oa) == H5I_DATASET && !skipped(w, path))
        rc = same_values(w, oa, ob, 0, path);
    if (oa >= 0)
        H5Oclose(oa);
    if (ob >= 0)
        H5Oclose(ob);
    return rc ? 1 : 0;
}

/* every object of b exists in a */
static herr_t exists_cb(hid_t root, const char *name, const H5L_info_t *info, void *data)
{
    (void)root;
    (void)info;
    walk *w = data;
    if (H5Lexists(w->a, name, H5P_DEFAULT) > 0)
        return 0;
    differ(w, "/%s is in one file only", name);
    return 1;
}

int h5same_files(const char *a, const char *b, const char *const *skip, h5same_result *r)
{
    walk w = {-1, -1, skip, r, 0};
    r->values = 0;
    r->why[0] = '\0';
    w.a = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT);
    w.b = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (w.a < 0 || w.b < 0)
        differ(&w, "cannot open %s", w.a < 0 ? a : b);
    if (!w.failed)
        same_attrs(&w, w.a, w.b, "/");
    if (!w.failed)
        H5Lvisit(w.a, H5_INDEX_NAME, H5_ITER_INC, object_cb, &w);
    if (!w.failed)
        H5Lvisit(w.b, H5_INDEX_NAME, H5_ITER_INC, exists_cb, &w);
    if (w.a >= 0)
        H5Fclose(w.a);
    if (w.b >= 0)
        H5Fclose(w.b);
    return w.failed ? -1 : 0;
}
