/* runfile.c: reading run files. Reads go through memory types built here
 * (double, variable-length UTF-8), so HDF5 converts whatever integer or
 * float type the file holds. */
#include "experiments/io/runfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/io/h5util.h"

int exp_rf_open(hid_t *f, const char *path, qa_err *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*f < 0)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open as an HDF5 run file", path);
    return QA_OK;
}

int exp_rf_open_run(hid_t *f, const char *path, qa_err *err)
{
    int rc = exp_rf_open(f, path, err);
    if (rc)
        return rc;
    char status[64], format[64];
    int has_status = exp_rf_str(*f, "/", "status", status, sizeof status) == 0;
    if (has_status && (exp_rf_exists(*f, "/train/epochs") || strcmp(status, "failed") == 0))
        return QA_OK;
    if (exp_rf_str(*f, "/", "format", format, sizeof format) == 0)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: a checkpoint (format %s), not a run file (the "
                     "run file is run.h5 next to it)", path, format);
    else
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: not a qadapt run file (no %s)", path,
                     has_status ? "/train/epochs" : "status attribute on /");
    exp_rf_close(*f);
    *f = -1;
    return rc;
}

void exp_rf_close(hid_t f)
{
    if (f >= 0)
        H5Fclose(f);
}

int exp_rf_exists(hid_t f, const char *path)
{
    /* H5Lexists needs every parent to exist: check them one by one */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (H5Lexists(f, buf, H5P_DEFAULT) <= 0)
            return 0;
        *p = '/';
    }
    return H5Lexists(f, buf, H5P_DEFAULT) > 0;
}

static hid_t attr_open(hid_t f, const char *obj, const char *name)
{
    if (strcmp(obj, "/") != 0 && !exp_rf_exists(f, obj))
        return -1;
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) <= 0)
        return -1;
    return H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
}

int exp_rf_str(hid_t f, const char *obj, const char *name, char *buf, size_t n)
{
    buf[0] = '\0';
    hid_t a = attr_open(f, obj, name);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a), t = exp_h5_str_type();
    char *v = NULL;
    int ok = H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0 &&
             H5Aread(a, t, &v) >= 0 && v;
    if (ok)
        snprintf(buf, n, "%s", v);
    if (v)
        H5free_memory(v);
    H5Tclose(t);
    H5Tclose(ft);
    H5Aclose(a);
    return ok ? 0 : -1;
}

double exp_rf_num(hid_t f, const char *obj, const char *name)
{
    hid_t a = attr_open(f, obj, name);
    if (a < 0)
        return NAN;
    double v = NAN;
    hid_t ft = H5Aget_type(a), space = H5Aget_space(a);
    H5T_class_t cls = H5Tget_class(ft);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n >= 1) {
        double *all = malloc((size_t)n * sizeof *all);
        if (all && H5Aread(a, H5T_NATIVE_DOUBLE, all) >= 0)
            v = all[0];
        free(all);
    }
    H5Sclose(space);
    H5Tclose(ft);
    H5Aclose(a);
    return v;
}

char *exp_rf_config(hid_t f)
{
    if (!exp_rf_exists(f, "/config"))
        return NULL;
    hid_t ds = H5Dopen2(f, "/config", H5P_DEFAULT);
    if (ds < 0)
        return NULL;
    hid_t t = exp_h5_str_type();
    char *v = NULL, *copy = NULL;
    if (H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0 && v)
        copy = strdup(v);
    if (v)
        H5free_memory(v);
    H5Tclose(t);
    H5Dclose(ds);
    return copy;
}

int exp_rf_ini_value(const char *ini, const char *section, const char *key, char *buf, size_t n)
{
    buf[0] = '\0';
    size_t slen = strlen(section), klen = strlen(key);
    int in = 0;
    for (const char *line = ini; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (line[0] == '[')
            in = len >= slen + 2 && strncmp(line + 1, section, slen) == 0 && line[slen + 1] == ']';
        else if (in && len > klen && strncmp(line, key, klen) == 0 &&
                 (line[klen] == ' ' || line[klen] == '=')) {
            const char *v = memchr(line, '=', len);
            if (v) {
                v++;
                while (*v == ' ')
                    v++;
                snprintf(buf, n, "%.*s", (int)(len - (size_t)(v - line)), v);
                return 0;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

/* The dataset at path if it is a 1-D compound table, with its file type. */
static hid_t table_open(hid_t f, const char *path, hid_t *ftype, hsize_t *rows)
{
    if (!exp_rf_exists(f, path))
        return -1;
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t space = H5Dget_space(ds);
    int ok = H5Sget_simple_extent_ndims(space) == 1;
    if (ok)
        H5Sget_simple_extent_dims(space, rows, NULL);
    H5Sclose(space);
    *ftype = H5Dget_type(ds);
    if (!ok || H5Tget_class(*ftype) != H5T_COMPOUND) {
        H5Tclose(*ftype);
        H5Dclose(ds);
        return -1;
    }
    return ds;
}

int exp_rf_column(hid_t f, const char *table, const char *col, double **v, int *rows,
                  int *count)
{
    *v = NULL;
    *rows = *count = 0;
    hid_t ft;
    hsize_t nrows = 0;
    hid_t ds = table_open(f, table, &ft, &nrows);
    if (ds < 0)
        return -1;
    int m = H5Tget_member_index(ft, col), rc = -1;
    hid_t mt = m >= 0 ? H5Tget_member_type(ft, (unsigned)m) : -1;
    hsize_t cnt = 1;
    H5T_class_t cls = mt >= 0 ? H5Tget_class(mt) : H5T_NO_CLASS;
    if (cls == H5T_ARRAY && H5Tget_array_ndims(mt) == 1) {
        H5Tget_array_dims2(mt, &cnt);
        hid_t super = H5Tget_super(mt);
        cls = H5Tget_class(super);
        H5Tclose(super);
    }
    if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        hid_t elem = cnt > 1 ? H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &cnt)
                             : H5Tcopy(H5T_NATIVE_DOUBLE);
        hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)cnt * sizeof(double));
        H5Tinsert(t, col, 0, elem);
        double *buf = malloc((size_t)(nrows ? nrows : 1) * (size_t)cnt * sizeof *buf);
        if (buf && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) {
            *v = buf;
            *rows = (int)nrows;
            *count = (int)cnt;
            rc = 0;
        } else {
            free(buf);
        }
        H5Tclose(t);
        H5Tclose(elem);
    }
    if (mt >= 0)
        H5Tclose(mt);
    H5Tclose(ft);
    H5Dclose(ds);
    return rc;
}

int exp_rf_str_column(hid_t f, const char *table, const char *col, char ***v, int *rows)
{
    *v = NULL;
    *rows = 0;
    hid_t ft;
    hsize_t nrows = 0;
    hid_t ds = table_open(f, table, &ft, &nrows);
    if (ds < 0)
        return -1;
    int m = H5Tget_member_index(ft, col), rc = -1;
    hid_t mt = m >= 0 ? H5Tget_member_type(ft, (unsigned)m) : -1;
    if (mt >= 0 && H5Tget_class(mt) == H5T_STRING && H5Tis_variable_str(mt) > 0) {
        hid_t s = exp_h5_str_type(), t = H5Tcreate(H5T_COMPOUND, sizeof(char *));
        H5Tinsert(t, col, 0, s);
        char **raw = calloc(nrows ? nrows : 1, sizeof *raw);
        char **out = calloc(nrows ? nrows : 1, sizeof *out);
        if (raw && out && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0) {
            rc = 0;
            for (hsize_t i = 0; i < nrows; i++) {
                out[i] = strdup(raw[i] ? raw[i] : "");
                if (!out[i])
                    rc = -1;
                if (raw[i])
                    H5free_memory(raw[i]);
            }
        }
        free(raw);
        if (rc == 0) {
            *v = out;
            *rows = (int)nrows;
        } else {
            exp_rf_free_strings(out, (int)nrows);
        }
        H5Tclose(t);
        H5Tclose(s);
    }
    if (mt >= 0)
        H5Tclose(mt);
    H5Tclose(ft);
    H5Dclose(ds);
    return rc;
}

void exp_rf_free_strings(char **v, int rows)
{
    for (int i = 0; v && i < rows; i++)
        free(v[i]);
    free(v);
}
