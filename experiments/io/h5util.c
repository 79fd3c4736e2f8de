/* h5util.c: see h5util.h. */
#include "experiments/io/h5util.h"

#include <stdio.h>

hid_t exp_h5_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

herr_t exp_h5_attr_write(hid_t loc, const char *obj, const char *name, hid_t type, int scalar,
                         hsize_t n, const void *buf)
{
    if (H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) > 0)
        H5Adelete_by_name(loc, obj, name, H5P_DEFAULT);
    hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate_by_name(loc, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, type, buf);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return rc;
}

herr_t exp_h5_attr_str(hid_t loc, const char *obj, const char *name, const char *value)
{
    hid_t t = exp_h5_str_type();
    herr_t rc = exp_h5_attr_write(loc, obj, name, t, 1, 1, &value);
    H5Tclose(t);
    return rc;
}

static herr_t error_walk(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0)
        snprintf(data, 256, "%s", e->desc ? e->desc : "unknown HDF5 error");
    return 0;
}

int exp_h5_fail(const char *file, const char *what, qa_err *err)
{
    char detail[256] = "unknown HDF5 error";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, error_walk, detail);
    H5Eclear2(H5E_DEFAULT);
    return qa_fail(err, QA_ERR_IO, "%s: %s: %s", file, what, detail);
}
