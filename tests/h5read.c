/* h5read.c: test helpers reading attributes, strings and table columns. */
#include "h5read.h"

#include <stdlib.h>
#include <string.h>

#include "check_main.h"

static hid_t vlen_utf8(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

char *h5read_str_attr(hid_t f, const char *obj, const char *name)
{
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "attribute %s of %s missing", name, obj);
    hid_t t = vlen_utf8();
    char *v = NULL;
    ck_assert_int_ge(H5Aread(a, t, &v), 0);
    char *copy = strdup(v);
    H5free_memory(v);
    H5Tclose(t);
    H5Aclose(a);
    return copy;
}

char *h5read_str_dataset(hid_t f, const char *path)
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    ck_assert_msg(ds >= 0, "dataset %s missing", path);
    hid_t t = vlen_utf8();
    char *v = NULL;
    ck_assert_int_ge(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), 0);
    char *copy = strdup(v);
    H5free_memory(v);
    H5Tclose(t);
    H5Dclose(ds);
    return copy;
}

double h5read_f64_attr(hid_t f, const char *obj, const char *name)
{
    double v = 0;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "attribute %s of %s missing", name, obj);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_DOUBLE, &v), 0);
    H5Aclose(a);
    return v;
}

int64_t h5read_i64_attr(hid_t f, const char *obj, const char *name)
{
    int64_t v = 0;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "attribute %s of %s missing", name, obj);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_INT64, &v), 0);
    H5Aclose(a);
    return v;
}

double *h5read_column(hid_t f, const char *table, const char *col, int *nrows)
{
    int count;
    double *v = h5read_array_column(f, table, col, nrows, &count);
    if (v && count != 1) { /* an array column is not one */
        free(v);
        return NULL;
    }
    return v;
}

/* elements per row of member col of the table's compound type (1 for a
 * scalar member), 0 when absent */
static int member_count(hid_t ds, const char *col)
{
    hid_t t = H5Dget_type(ds);
    int m = H5Tget_member_index(t, col), count = 0;
    if (m >= 0) {
        hid_t mt = H5Tget_member_type(t, (unsigned)m);
        count = 1;
        if (H5Tget_class(mt) == H5T_ARRAY) {
            hsize_t dims[4];
            int rank = H5Tget_array_ndims(mt);
            H5Tget_array_dims2(mt, dims);
            for (int r = 0; r < rank; r++)
                count *= (int)dims[r];
        }
        H5Tclose(mt);
    }
    H5Tclose(t);
    return count;
}

double *h5read_array_column(hid_t f, const char *table, const char *col, int *nrows,
                            int *count)
{
    hid_t ds = H5Dopen2(f, table, H5P_DEFAULT);
    if (ds < 0)
        return NULL;
    int c = member_count(ds, col);
    hid_t space = H5Dget_space(ds);
    hsize_t n = 0, dim = (hsize_t)c;
    H5Sget_simple_extent_dims(space, &n, NULL);
    hid_t mt = c > 1 ? H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &dim) : H5T_NATIVE_DOUBLE;
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)(c ? c : 1) * sizeof(double));
    herr_t rc = c > 0 ? H5Tinsert(t, col, 0, mt) : -1;
    double *v = calloc((n ? n : 1) * (size_t)(c ? c : 1), sizeof *v);
    if (rc >= 0)
        rc = H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Tclose(t);
    if (c > 1)
        H5Tclose(mt);
    H5Sclose(space);
    H5Dclose(ds);
    if (rc < 0) {
        free(v);
        return NULL;
    }
    *nrows = (int)n;
    *count = c;
    return v;
}
