/* h5log.c: the run file. HDF5's own error printing is switched off; the
 * innermost message of its error stack goes into our qa_err instead. */
#include "experiments/io/h5log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "experiments/io/h5util.h"
#include "version.h"

enum { H5LOG_MAX_TABLES = 64 };

struct h5log_table {
    h5log *log;
    hid_t dset, mtype;
    h5log_col *cols;
    int *first; /* (ncols) index of each column's first value in a row */
    int ncols, width;
    int64_t rows;
    char path[256];
};

struct h5log {
    hid_t file;
    int mem; /* held in memory only (h5log_create_mem) */
    char path[1024], part[1040];
    h5log_table *tables[H5LOG_MAX_TABLES];
    int ntables;
    qa_err close_err; /* why a table's close failed */
};

void h5log_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* mkdir -p of the directory part of path */
static int make_parent_dirs(const char *path, qa_err *err)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return qa_fail(err, QA_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
        *p = '/';
    }
    return QA_OK;
}

/* h5py's representation of numpy bool */
static hid_t bool_type(void)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t no = 0, yes = 1;
    H5Tenum_insert(t, "FALSE", &no);
    H5Tenum_insert(t, "TRUE", &yes);
    return t;
}

/* exp_h5_attr_write on the run file, failures named after the .part file. */
static int attr_write(h5log *log, const char *obj, const char *name, hid_t type, int scalar,
                      hsize_t n, const void *buf, qa_err *err)
{
    if (exp_h5_attr_write(log->file, obj, name, type, scalar, n, buf) >= 0)
        return QA_OK;
    char what[200];
    snprintf(what, sizeof what, "cannot write attribute %s of %s", name, obj);
    return exp_h5_fail(log->part, what, err);
}

int h5log_attr_str(h5log *log, const char *obj, const char *name, const char *value, qa_err *err)
{
    hid_t t = exp_h5_str_type();
    int rc = attr_write(log, obj, name, t, 1, 1, &value, err);
    H5Tclose(t);
    return rc;
}

int h5log_attr_f64(h5log *log, const char *obj, const char *name, double value, qa_err *err)
{
    return attr_write(log, obj, name, H5T_NATIVE_DOUBLE, 1, 1, &value, err);
}

int h5log_attr_i64(h5log *log, const char *obj, const char *name, int64_t value, qa_err *err)
{
    return attr_write(log, obj, name, H5T_NATIVE_INT64, 1, 1, &value, err);
}

int h5log_attr_f64v(h5log *log, const char *obj, const char *name, const double *v, int n,
                    qa_err *err)
{
    return attr_write(log, obj, name, H5T_NATIVE_DOUBLE, 0, (hsize_t)n, v, err);
}

/* <path>.part on disk, or a file of that name in memory only (HDF5's core
 * driver without a backing store: nothing is read or written) */
static hid_t create_file(const char *part, int mem)
{
    if (!mem)
        return H5Fcreate(part, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return fapl;
    hid_t f = H5Pset_fapl_core(fapl, 1 << 20, 0) < 0
                  ? -1
                  : H5Fcreate(part, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return f;
}

static int log_create(h5log **out, const char *path, int mem, qa_err *err)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (strlen(path) >= sizeof((h5log *)0)->path)
        return qa_fail(err, QA_ERR_ARG, "run file path is too long: %s", path);
    int rc = mem ? QA_OK : make_parent_dirs(path, err);
    if (rc)
        return rc;
    h5log *log = calloc(1, sizeof *log);
    if (!log)
        return qa_fail(err, QA_ERR_NOMEM, "%s: out of memory", path);
    log->mem = mem;
    snprintf(log->path, sizeof log->path, "%s", path);
    snprintf(log->part, sizeof log->part, "%s.part", path);
    log->file = create_file(log->part, mem);
    if (log->file < 0) {
        rc = exp_h5_fail(log->part, "cannot create the run file", err);
        free(log);
        return rc;
    }
    char now[32];
    h5log_now(now, sizeof now);
    rc = h5log_attr_str(log, "/", "qadapt_version", QADAPT_VERSION, err);
    if (!rc)
        rc = h5log_attr_str(log, "/", "git_revision", QA_GIT_REVISION, err);
    if (!rc)
        rc = h5log_attr_str(log, "/", "start_time", now, err);
    if (!rc)
        rc = h5log_attr_str(log, "/", "status", "running", err);
    if (rc) {
        H5Fclose(log->file);
        free(log);
        return rc;
    }
    *out = log;
    return QA_OK;
}

int h5log_create(h5log **out, const char *path, qa_err *err)
{
    return log_create(out, path, 0, err);
}

int h5log_create_mem(h5log **out, const char *path, qa_err *err)
{
    return log_create(out, path, 1, err);
}

hid_t h5log_file(const h5log *log)
{
    return log->file;
}

const char *h5log_path(const h5log *log)
{
    return log->path;
}

int h5log_flush(h5log *log, qa_err *err)
{
    if (H5Fflush(log->file, H5F_SCOPE_GLOBAL) < 0)
        return exp_h5_fail(log->part, "cannot flush", err);
    return QA_OK;
}

int h5log_finish(h5log *log, const char *status, const char *error, qa_err *err)
{
    if (log->mem) { /* the message first: discarding frees log and its path */
        int rc = qa_fail(err, QA_ERR_ARG, "%s: a run file held in memory is never written",
                         log->path);
        h5log_discard(log);
        return rc;
    }
    char now[32];
    h5log_now(now, sizeof now);
    int rc = h5log_attr_str(log, "/", "end_time", now, err);
    if (!rc)
        rc = h5log_attr_str(log, "/", "status", status, err);
    if (!rc)
        rc = h5log_attr_str(log, "/", "error", error ? error : "", err);
    int tables = 0;
    while (log->ntables > 0)
        tables |= h5log_table_close(log->tables[log->ntables - 1]);
    if (tables && !rc && err)
        *err = log->close_err;
    if (tables && !rc)
        rc = QA_ERR_IO;
    if (H5Fclose(log->file) < 0 && !rc)
        rc = exp_h5_fail(log->part, "cannot close", err);
    if (!rc)
        rc = h5log_commit_file(log->part, log->path, err);
    if (rc) /* half-written (disk full): never left to pass for a run file */
        remove(log->part);
    free(log);
    return rc;
}

void h5log_discard(h5log *log)
{
    while (log->ntables > 0)
        h5log_table_close(log->tables[log->ntables - 1]);
    H5Fclose(log->file);
    if (!log->mem)
        remove(log->part);
    free(log);
}

/* fsync of an open-able path (file or directory). */
static int sync_path(const char *path, int dir, qa_err *err)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return qa_fail(err, QA_ERR_IO, "%s: cannot sync to disk: %s", path, strerror(e));
    }
    close(fd);
    return QA_OK;
}

int h5log_commit_file(const char *tmp, const char *path, qa_err *err)
{
    int rc = sync_path(tmp, 0, err);
    if (!rc && rename(tmp, path) != 0)
        rc = qa_fail(err, QA_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc)
        return rc;
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return sync_path(dir, 1, err);
}

/* One typed attribute on /config for key k of section sec. */
static int config_attr(h5log *log, const cfg_doc *d, const cfg_section *sec, const cfg_key *k,
                       qa_err *err)
{
    char name[160], text[4096];
    snprintf(name, sizeof name, "%s.%s", sec->name, k->key);
    const void *field = cfg_field(sec, k, d->base);
    cfg_format(k, field, (const char *)d->base + sec->off, text, sizeof text);
    if (k->type == CFG_INT) {
        int64_t v = *(const int *)field;
        return attr_write(log, "/config", name, H5T_NATIVE_INT64, 1, 1, &v, err);
    }
    if (k->type == CFG_FLOAT || k->type == CFG_DOUBLE) /* the decimal the config shows */
        return h5log_attr_f64(log, "/config", name, strtod(text, NULL), err);
    if (k->type == CFG_BOOL) {
        int8_t v = (int8_t)(*(const int *)field != 0);
        hid_t t = bool_type();
        int rc = attr_write(log, "/config", name, t, 1, 1, &v, err);
        H5Tclose(t);
        return rc;
    }
    if (k->type == CFG_INT_LIST) {
        const cfg_int_list *l = field;
        int64_t v[CFG_LIST_MAX];
        for (int i = 0; i < l->n; i++)
            v[i] = l->v[i];
        return attr_write(log, "/config", name, H5T_NATIVE_INT64, 0, (hsize_t)l->n, v, err);
    }
    if (k->type == CFG_NUM_LIST) {
        const cfg_num_list *l = field;
        return attr_write(log, "/config", name, H5T_NATIVE_DOUBLE, 0, (hsize_t)l->n, l->v, err);
    }
    if (k->type == CFG_NAME_LIST) {
        const cfg_name_list *l = field;
        const char *v[CFG_LIST_MAX];
        for (int i = 0; i < l->n; i++)
            v[i] = cfg_choice(k, l->v[i]);
        hid_t t = exp_h5_str_type();
        int rc = attr_write(log, "/config", name, t, 0, (hsize_t)l->n, v, err);
        H5Tclose(t);
        return rc;
    }
    return h5log_attr_str(log, "/config", name, text, err);
}

int h5log_write_config(h5log *log, const cfg_doc *d, const char *text, qa_err *err)
{
    hid_t t = exp_h5_str_type(), space = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(log->file, "/config", t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = ds < 0 ? -1 : H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text);
    if (ds >= 0 && H5Dclose(ds) < 0)
        w = -1;
    int rc = w < 0 ? exp_h5_fail(log->part, "cannot write /config", err) : QA_OK;
    H5Sclose(space);
    H5Tclose(t);
    if (rc)
        return rc;
    for (int i = 0; i < d->schema->nsections; i++) {
        const cfg_section *sec = &d->schema->sections[i];
        for (const cfg_key *k = sec->keys; k->key; k++) {
            int rc = config_attr(log, d, sec, k, err);
            if (rc)
                return rc;
        }
    }
    return QA_OK;
}

/* Compound type with one 8-byte member (or array of them) per column, packed
 * in column order: the memory layout of a row of h5log_values. */
static hid_t row_type(const h5log_col *cols, int ncols, int width, int native)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)width * sizeof(h5log_value));
    size_t off = 0;
    for (int i = 0; i < ncols; i++) {
        hid_t base = cols[i].type == H5LOG_I64 ? (native ? H5T_NATIVE_INT64 : H5T_STD_I64LE)
                                                : (native ? H5T_NATIVE_DOUBLE : H5T_IEEE_F64LE);
        hsize_t cnt = (hsize_t)cols[i].count;
        hid_t m = cols[i].count > 1 ? H5Tarray_create2(base, 1, &cnt) : H5Tcopy(base);
        H5Tinsert(t, cols[i].name, off, m);
        H5Tclose(m);
        off += (size_t)cols[i].count * sizeof(h5log_value);
    }
    return t;
}

static int table_init(h5log_table *t, const h5log_col *cols, int ncols, qa_err *err)
{
    t->cols = malloc((size_t)ncols * sizeof *t->cols);
    t->first = malloc((size_t)ncols * sizeof *t->first);
    if (!t->cols || !t->first)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for table %s", t->path);
    for (int i = 0; i < ncols; i++) {
        if (cols[i].count < 1 || (cols[i].type != H5LOG_I64 && cols[i].type != H5LOG_F64))
            return qa_fail(err, QA_ERR_ARG, "table %s: column %s has count %d or type %d", t->path,
                           cols[i].name, cols[i].count, cols[i].type);
        for (int j = 0; j < i; j++)
            if (strcmp(cols[i].name, cols[j].name) == 0)
                return qa_fail(err, QA_ERR_ARG, "table %s: column %s is defined twice", t->path,
                               cols[i].name);
        t->cols[i] = cols[i];
        t->first[i] = t->width;
        t->width += cols[i].count;
    }
    t->ncols = ncols;
    return QA_OK;
}

static void table_free(h5log_table *t)
{
    free(t->cols);
    free(t->first);
    free(t);
}

int h5log_table_create(h5log_table **out, h5log *log, const char *path, const h5log_col *cols,
                       int ncols, int chunk, int compress, qa_err *err)
{
    *out = NULL;
    if (log->ntables == H5LOG_MAX_TABLES || ncols < 1 || chunk < 1)
        return qa_fail(err, QA_ERR_ARG, "table %s: %d columns, chunk %d, %d tables open", path,
                       ncols, chunk, log->ntables);
    h5log_table *t = calloc(1, sizeof *t);
    if (!t)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for table %s", path);
    t->log = log;
    snprintf(t->path, sizeof t->path, "%s", path);
    int rc = table_init(t, cols, ncols, err);
    if (rc) {
        table_free(t);
        return rc;
    }
    hsize_t zero = 0, unlimited = H5S_UNLIMITED, ch = (hsize_t)chunk;
    hid_t space = H5Screate_simple(1, &zero, &unlimited);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_chunk(dcpl, 1, &ch);
    if (compress > 0)
        H5Pset_deflate(dcpl, (unsigned)compress);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ftype = row_type(cols, ncols, t->width, 0);
    t->mtype = row_type(cols, ncols, t->width, 1);
    t->dset = H5Dcreate2(log->file, path, ftype, space, lcpl, dcpl, H5P_DEFAULT);
    H5Tclose(ftype);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    if (t->dset < 0) {
        char what[300];
        snprintf(what, sizeof what, "cannot create table %s", path);
        H5Tclose(t->mtype);
        table_free(t);
        return exp_h5_fail(log->part, what, err);
    }
    log->tables[log->ntables++] = t;
    *out = t;
    return QA_OK;
}

int h5log_table_col(const h5log_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return t->first[i];
    return -1;
}

int h5log_table_width(const h5log_table *t)
{
    return t->width;
}

int64_t h5log_table_rows(const h5log_table *t)
{
    return t->rows;
}

int h5log_table_append(h5log_table *t, const h5log_value *rows, int n, qa_err *err)
{
    if (n <= 0)
        return QA_OK;
    hsize_t total = (hsize_t)t->rows + (hsize_t)n, start = (hsize_t)t->rows, count = (hsize_t)n;
    herr_t rc = H5Dset_extent(t->dset, &total);
    hid_t fspace = rc < 0 ? -1 : H5Dget_space(t->dset);
    hid_t mspace = H5Screate_simple(1, &count, NULL);
    if (fspace >= 0)
        rc = H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL);
    if (fspace >= 0 && rc >= 0)
        rc = H5Dwrite(t->dset, t->mtype, mspace, fspace, H5P_DEFAULT, rows);
    if (fspace >= 0)
        H5Sclose(fspace);
    H5Sclose(mspace);
    if (fspace < 0 || rc < 0) {
        char what[300];
        snprintf(what, sizeof what, "cannot append to %s", t->path);
        return exp_h5_fail(t->log->part, what, err);
    }
    t->rows += n;
    return QA_OK;
}

int h5log_table_close(h5log_table *t)
{
    h5log *log = t->log;
    for (int i = 0; i < log->ntables; i++)
        if (log->tables[i] == t) {
            log->tables[i] = log->tables[--log->ntables];
            break;
        }
    herr_t rc = H5Dclose(t->dset); /* writes the chunks still cached */
    if (rc < 0) /* the message, before H5Tclose clears HDF5's error stack */
        exp_h5_fail(log->part, "cannot write the tables", &log->close_err);
    H5Tclose(t->mtype);
    table_free(t);
    return rc < 0 ? -1 : 0;
}

int h5log_ntables(const h5log *log)
{
    return log->ntables;
}

h5log_table *h5log_table_at(const h5log *log, int i)
{
    return i >= 0 && i < log->ntables ? log->tables[i] : NULL;
}

const char *h5log_table_path(const h5log_table *t)
{
    return t->path;
}

const h5log_col *h5log_table_cols(const h5log_table *t, int *ncols)
{
    *ncols = t->ncols;
    return t->cols;
}

int h5log_table_read(const h5log_table *t, int64_t start, int64_t n, h5log_value *rows,
                     qa_err *err)
{
    if (start < 0 || n < 0 || start + n > t->rows)
        return qa_fail(err, QA_ERR_ARG, "%s: rows %lld..%lld of %lld", t->path, (long long)start,
                       (long long)(start + n), (long long)t->rows);
    if (n == 0)
        return QA_OK;
    hsize_t first = (hsize_t)start, count = (hsize_t)n;
    hid_t fspace = H5Dget_space(t->dset), mspace = H5Screate_simple(1, &count, NULL);
    herr_t rc = fspace < 0 ? -1
                           : H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &first, NULL, &count, NULL);
    if (rc >= 0)
        rc = H5Dread(t->dset, t->mtype, mspace, fspace, H5P_DEFAULT, rows);
    if (fspace >= 0)
        H5Sclose(fspace);
    H5Sclose(mspace);
    if (rc < 0) {
        char what[300];
        snprintf(what, sizeof what, "cannot read back %s", t->path);
        return exp_h5_fail(t->log->part, what, err);
    }
    return QA_OK;
}
