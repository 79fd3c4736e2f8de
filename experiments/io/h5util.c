/* h5util.c: see h5util.h. */
#include "experiments/io/h5util.h"

#include <stdio.h>
#include <string.h>

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

/* The innermost message of HDF5's stack, and the system's own when an
 * entry quotes one ("..., errno = 28, error message = 'No space left on
 * device', ..."): that one says what happened, HDF5's ("disable slist on
 * flush dest failure failed") only where. */
typedef struct {
    char top[256], sys[128];
} h5_why;

static herr_t error_walk(unsigned n, const H5E_error2_t *e, void *data)
{
    h5_why *w = data;
    const char *d = e->desc ? e->desc : "", *m = strstr(d, "error message = '");
    if (n == 0)
        snprintf(w->top, sizeof w->top, "%s", d[0] ? d : "unknown HDF5 error");
    if (m && !w->sys[0]) {
        m += strlen("error message = '");
        const char *end = strchr(m, '\'');
        snprintf(w->sys, sizeof w->sys, "%.*s", end ? (int)(end - m) : (int)strlen(m), m);
    }
    return 0;
}

int exp_h5_fail(const char *file, const char *what, qa_err *err)
{
    h5_why w = {"unknown HDF5 error", ""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, error_walk, &w);
    H5Eclear2(H5E_DEFAULT);
    return qa_fail(err, QA_ERR_IO, "%s: %s: %s", file, what, w.sys[0] ? w.sys : w.top);
}
