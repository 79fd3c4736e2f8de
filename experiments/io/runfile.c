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

/* One column of a table: the dataset, its file type, the column's member
 * type (-1 when the table has no such column) and the rows. */
typedef struct {
    hid_t ds, ft, mt;
    hsize_t rows;
} column;

static int column_open(hid_t f, const char *table, const char *col, column *c)
{
    c->rows = 0;
    c->ds = table_open(f, table, &c->ft, &c->rows);
    if (c->ds < 0)
        return -1;
    int m = H5Tget_member_index(c->ft, col);
    c->mt = m >= 0 ? H5Tget_member_type(c->ft, (unsigned)m) : -1;
    return 0;
}

static void column_close(column *c)
{
    if (c->mt >= 0)
        H5Tclose(c->mt);
    H5Tclose(c->ft);
    H5Dclose(c->ds);
}

/* Reads the column as mtype (a compound of the one member col) into buf. */
static int column_read(const column *c, const char *col, hid_t mtype, size_t size, void *buf)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, size);
    H5Tinsert(t, col, 0, mtype);
    herr_t rc = H5Dread(c->ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Tclose(t);
    return rc < 0 ? -1 : 0;
}

int exp_rf_column(hid_t f, const char *table, const char *col, double **v, int *rows,
                  int *count)
{
    *v = NULL;
    *rows = *count = 0;
    column c;
    if (column_open(f, table, col, &c))
        return -1;
    int rc = -1;
    hsize_t cnt = 1;
    H5T_class_t cls = c.mt >= 0 ? H5Tget_class(c.mt) : H5T_NO_CLASS;
    if (cls == H5T_ARRAY && H5Tget_array_ndims(c.mt) == 1) {
        H5Tget_array_dims2(c.mt, &cnt);
        hid_t super = H5Tget_super(c.mt);
        cls = H5Tget_class(super);
        H5Tclose(super);
    }
    if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        hid_t elem = cnt > 1 ? H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &cnt)
                             : H5Tcopy(H5T_NATIVE_DOUBLE);
        double *buf = malloc((size_t)(c.rows ? c.rows : 1) * (size_t)cnt * sizeof *buf);
        if (buf && column_read(&c, col, elem, (size_t)cnt * sizeof(double), buf) == 0) {
            *v = buf;
            *rows = (int)c.rows;
            *count = (int)cnt;
            rc = 0;
        } else {
            free(buf);
        }
        H5Tclose(elem);
    }
    column_close(&c);
    return rc;
}

/* out (rows) = malloc'd copies of raw, whose strings HDF5 allocated */
static int copy_strings(char **raw, char **out, hsize_t rows)
{
    int rc = 0;
    for (hsize_t i = 0; i < rows; i++) {
        out[i] = strdup(raw[i] ? raw[i] : "");
        if (!out[i])
            rc = -1;
        if (raw[i])
            H5free_memory(raw[i]);
    }
    return rc;
}

int exp_rf_str_column(hid_t f, const char *table, const char *col, char ***v, int *rows)
{
    *v = NULL;
    *rows = 0;
    column c;
    if (column_open(f, table, col, &c))
        return -1;
    int rc = -1;
    if (c.mt >= 0 && H5Tget_class(c.mt) == H5T_STRING && H5Tis_variable_str(c.mt) > 0) {
        hid_t s = exp_h5_str_type();
        char **raw = calloc(c.rows ? c.rows : 1, sizeof *raw);
        char **out = calloc(c.rows ? c.rows : 1, sizeof *out);
        if (raw && out && column_read(&c, col, s, sizeof(char *), raw) == 0)
            rc = copy_strings(raw, out, c.rows);
        free(raw);
        if (rc == 0) {
            *v = out;
            *rows = (int)c.rows;
        } else {
            exp_rf_free_strings(out, (int)c.rows);
        }
        H5Tclose(s);
    }
    column_close(&c);
    return rc;
}

void exp_rf_free_strings(char **v, int rows)
{
    for (int i = 0; v && i < rows; i++)
        free(v[i]);
    free(v);
}

/* rows of /search/best_plan, 0 when it is not an (n, 2) table of up to max */
static int plan_rows(hid_t ds, int max)
{
    hid_t space = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (rank == 2)
        H5Sget_simple_extent_dims(space, dims, NULL);
    if (space >= 0)
        H5Sclose(space);
    hid_t t = H5Dget_type(ds);
    int integer = t >= 0 && H5Tget_class(t) == H5T_INTEGER;
    if (t >= 0)
        H5Tclose(t);
    return integer && rank == 2 && dims[1] == 2 && dims[0] >= 1 && dims[0] <= (hsize_t)max
               ? (int)dims[0]
               : 0;
}

int exp_rf_best_plan(const char *path, int *w, int *a, int max, int *n, qa_err *err)
{
    static const char *const ds_path = "/search/best_plan";
    hid_t f;
    *n = 0;
    int rc = exp_rf_open(&f, path, err);
    if (rc)
        return rc;
    hid_t ds = exp_rf_exists(f, ds_path) ? H5Dopen2(f, ds_path, H5P_DEFAULT) : -1;
    int rows = ds < 0 ? 0 : plan_rows(ds, max);
    long long *v = rows ? malloc((size_t)rows * 2 * sizeof *v) : NULL;
    if (ds < 0)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: no %s (not a qadapt search, or one that finished "
                     "no episode)", path, ds_path);
    else if (!rows)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: %s is not a table of (weight, activation) widths "
                     "of 1 to %d layers", path, ds_path, max);
    else if (!v)
        rc = qa_fail(err, QA_ERR_NOMEM, "%s: out of memory", path);
    else if (H5Dread(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        rc = exp_h5_fail(path, "cannot read /search/best_plan", err);
    for (int l = 0; !rc && l < rows; l++) {
        w[l] = (int)v[2 * l];
        a[l] = (int)v[2 * l + 1];
    }
    *n = rc ? 0 : rows;
    free(v);
    if (ds >= 0)
        H5Dclose(ds);
    exp_rf_close(f);
    return rc;
}
