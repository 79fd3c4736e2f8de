/* ckpt_file.c: the checkpoint file: created as <path>.tmp and
 * committed by fsync + rename, read back with its format checked, the
 * methods' put/get under /method, typed datasets and attributes, and a pass
 * reading every dataset so damage is found before anything is restored. */
#include "experiments/io/ckpt.h"
#include "experiments/io/h5log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/io/h5util.h"

static const char *ckpt_file(const exp_ckpt *ck)
{
    return ck->writing ? ck->tmp : ck->path;
}

static hid_t native_of(exp_ckpt_type type)
{
    switch (type) {
    case EXP_CKPT_F32:
        return H5T_NATIVE_FLOAT;
    case EXP_CKPT_F64:
        return H5T_NATIVE_DOUBLE;
    case EXP_CKPT_I64:
        return H5T_NATIVE_INT64;
    default:
        return H5T_NATIVE_UINT8;
    }
}

static const char *type_name(exp_ckpt_type type)
{
    static const char *const names[] = {"f32", "f64", "i64", "u8"};
    return names[type];
}

void exp_ckpt_path(const char *run_path, char *buf, size_t n)
{
    const char *slash = strrchr(run_path, '/');
    if (slash)
        snprintf(buf, n, "%.*s/ckpt.h5", (int)(slash - run_path), run_path);
    else
        snprintf(buf, n, "ckpt.h5");
}

/* An n-D dataset of rank dims (at most 2) with a Fletcher-32 checksum; an
 * empty one is contiguous (chunks cannot be empty). */
int exp_ckpt_write_array(exp_ckpt *ck, hid_t loc, const char *name, hid_t type, const void *v,
                       int rank, const hsize_t *dims, qa_err *err)
{
    hsize_t total = 1;
    for (int i = 0; i < rank; i++)
        total *= dims[i];
    hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (total > 0) {
        H5Pset_chunk(dcpl, rank, dims);
        H5Pset_fletcher32(dcpl);
    }
    hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : total > 0 ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : 0;
    /* the close writes the chunk: on a full disk it is what fails (it
     * was unchecked, and a checkpoint with a hole in it was committed) */
    if (ds >= 0 && H5Dclose(ds) < 0)
        rc = -1;
    int out = QA_OK;
    if (rc < 0) { /* before any other call clears HDF5's error stack */
        char what[300];
        snprintf(what, sizeof what, "cannot write %s", name);
        out = exp_h5_fail(ckpt_file(ck), what, err);
    }
    H5Pclose(dcpl);
    H5Sclose(space);
    return out;
}

int exp_ckpt_write_vec(exp_ckpt *ck, hid_t loc, const char *name, hid_t type, const void *v,
                     size_t n, qa_err *err)
{
    hsize_t d = (hsize_t)n;
    return exp_ckpt_write_array(ck, loc, name, type, v, 1, &d, err);
}

/* Reads dataset name of loc into v, which holds exactly count values of
 * type; anything else (absent, other class or size, bad checksum) fails. */
int exp_ckpt_read_array(exp_ckpt *ck, hid_t loc, const char *where, const char *name, hid_t type,
                      void *v, hsize_t count, qa_err *err)
{
    char what[400];
    snprintf(what, sizeof what, "%s/%s", where, name);
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return qa_fail(err, QA_ERR_FORMAT, "%s: %s is missing", ck->path, what);
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t space = ds < 0 ? -1 : H5Dget_space(ds), ftype = ds < 0 ? -1 : H5Dget_type(ds);
    hssize_t have = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    int same_class = ftype >= 0 && H5Tget_class(ftype) == H5Tget_class(type) &&
                     H5Tget_size(ftype) == H5Tget_size(type);
    herr_t rc = -1;
    if (ds >= 0 && have == (hssize_t)count && same_class)
        rc = count > 0 ? H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : 0;
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    if (ds >= 0)
        H5Dclose(ds);
    if (ds >= 0 && (have != (hssize_t)count || !same_class))
        return qa_fail(err, QA_ERR_FORMAT, "%s: %s holds %lld values of another type or count "
                       "than the %llu the run expects", ck->path, what, (long long)have,
                       (unsigned long long)count);
    if (rc < 0) {
        char msg[500];
        snprintf(msg, sizeof msg, "cannot read %s (damaged checkpoint)", what);
        return exp_h5_fail(ck->path, msg, err);
    }
    return QA_OK;
}

static int put_attr(exp_ckpt *ck, hid_t loc, const char *name, hid_t type, const void *v,
                    qa_err *err)
{
    if (exp_h5_attr_write(loc, ".", name, type, 1, 1, v) >= 0)
        return QA_OK;
    char what[200];
    snprintf(what, sizeof what, "cannot write attribute %s", name);
    return exp_h5_fail(ckpt_file(ck), what, err);
}

int exp_ckpt_attr_put_str(exp_ckpt *ck, hid_t loc, const char *name, const char *v, qa_err *err)
{
    hid_t t = exp_h5_str_type();
    int rc = put_attr(ck, loc, name, t, &v, err);
    H5Tclose(t);
    return rc;
}

int exp_ckpt_attr_put_i64(exp_ckpt *ck, hid_t loc, const char *name, int64_t v, qa_err *err)
{
    return put_attr(ck, loc, name, H5T_NATIVE_INT64, &v, err);
}

int exp_ckpt_attr_put_f64(exp_ckpt *ck, hid_t loc, const char *name, double v, qa_err *err)
{
    return put_attr(ck, loc, name, H5T_NATIVE_DOUBLE, &v, err);
}

static int get_attr(exp_ckpt *ck, hid_t loc, const char *where, const char *name, hid_t type,
                    void *v, qa_err *err)
{
    hid_t a = H5Aexists(loc, name) > 0 ? H5Aopen(loc, name, H5P_DEFAULT) : -1;
    hid_t ft = a < 0 ? -1 : H5Aget_type(a);
    int ok = ft >= 0 && H5Tget_class(ft) == H5Tget_class(type) &&
             (H5Tget_class(type) == H5T_STRING || H5Tget_size(ft) == H5Tget_size(type));
    herr_t rc = ok ? H5Aread(a, type, v) : -1;
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    if (rc < 0) {
        H5Eclear2(H5E_DEFAULT);
        return qa_fail(err, QA_ERR_FORMAT, "%s: attribute %s of %s is missing or unreadable "
                       "(not a qadapt checkpoint, or a damaged one)", ck->path, name, where);
    }
    return QA_OK;
}

int exp_ckpt_attr_get_i64(exp_ckpt *ck, hid_t loc, const char *where, const char *name, int64_t *v,
                   qa_err *err)
{
    return get_attr(ck, loc, where, name, H5T_NATIVE_INT64, v, err);
}

int exp_ckpt_attr_get_f64(exp_ckpt *ck, hid_t loc, const char *where, const char *name, double *v,
                   qa_err *err)
{
    return get_attr(ck, loc, where, name, H5T_NATIVE_DOUBLE, v, err);
}

/* A string attribute into buf. */
int exp_ckpt_attr_get_str(exp_ckpt *ck, hid_t loc, const char *where, const char *name, char *buf,
                   size_t n, qa_err *err)
{
    hid_t t = exp_h5_str_type();
    char *v = NULL;
    int rc = get_attr(ck, loc, where, name, t, &v, err);
    H5Tclose(t);
    if (rc)
        return rc;
    snprintf(buf, n, "%s", v ? v : "");
    H5free_memory(v);
    return QA_OK;
}

static void ckpt_free(exp_ckpt *ck)
{
    if (ck->method >= 0)
        H5Gclose(ck->method);
    if (ck->file >= 0)
        H5Fclose(ck->file);
    free(ck);
}

static exp_ckpt *ckpt_alloc(const char *path, qa_err *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    exp_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck) {
        qa_fail(err, QA_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    ck->file = ck->method = -1;
    snprintf(ck->path, sizeof ck->path, "%s", path);
    snprintf(ck->tmp, sizeof ck->tmp, "%s.tmp", path);
    return ck;
}

int exp_ckpt_create(exp_ckpt **out, const char *path, qa_err *err)
{
    *out = NULL;
    exp_ckpt *ck = ckpt_alloc(path, err);
    if (!ck)
        return QA_ERR_NOMEM;
    ck->writing = 1;
    /* the 1.8 format: object headers and the superblock carry checksums */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    ck->file = H5Fcreate(ck->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (ck->file < 0) {
        int rc = exp_h5_fail(ck->tmp, "cannot create the checkpoint", err);
        ckpt_free(ck);
        return rc;
    }
    int rc = exp_ckpt_attr_put_str(ck, ck->file, "format", EXP_CKPT_FORMAT, err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, ck->file, "version", EXP_CKPT_VERSION, err);
    if (rc) {
        exp_ckpt_close(ck);
        return rc;
    }
    *out = ck;
    return QA_OK;
}

int exp_ckpt_commit(exp_ckpt *ck, qa_err *err)
{
    if (ck->method >= 0)
        H5Gclose(ck->method);
    ck->method = -1;
    int rc = H5Fclose(ck->file) < 0 ? exp_h5_fail(ck->tmp, "cannot close the checkpoint", err)
                                     : QA_OK;
    ck->file = -1;
    if (!rc)
        rc = h5log_commit_file(ck->tmp, ck->path, err);
    if (rc)
        unlink(ck->tmp);
    ckpt_free(ck);
    return rc;
}

int exp_ckpt_read(exp_ckpt **out, const char *path, qa_err *err)
{
    *out = NULL;
    if (access(path, F_OK) != 0)
        return qa_fail(err, QA_ERR_IO, "%s: no checkpoint to resume from: %s", path,
                       strerror(errno));
    exp_ckpt *ck = ckpt_alloc(path, err);
    if (!ck)
        return QA_ERR_NOMEM;
    ck->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (ck->file < 0) {
        exp_h5_fail(path, "not a readable checkpoint (truncated or damaged)", err);
        ckpt_free(ck);
        if (err) /* the code said IO while the call returned FORMAT */
            err->code = QA_ERR_FORMAT;
        return QA_ERR_FORMAT;
    }
    char format[64];
    int64_t version = 0;
    int rc = exp_ckpt_attr_get_str(ck, ck->file, "/", "format", format, sizeof format, err);
    if (!rc && strcmp(format, EXP_CKPT_FORMAT) != 0)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: not a qadapt checkpoint (format '%s')", path,
                     format);
    if (!rc)
        rc = exp_ckpt_attr_get_i64(ck, ck->file, "/", "version", &version, err);
    if (!rc && version != EXP_CKPT_VERSION)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: checkpoint format version %lld, this qadapt reads "
                     "version %d", path, (long long)version, EXP_CKPT_VERSION);
    if (rc) {
        ckpt_free(ck);
        return rc;
    }
    *out = ck;
    return QA_OK;
}

void exp_ckpt_close(exp_ckpt *ck)
{
    if (!ck)
        return;
    int writing = ck->writing;
    char tmp[sizeof ck->tmp];
    snprintf(tmp, sizeof tmp, "%s", ck->tmp);
    ckpt_free(ck);
    if (writing)
        unlink(tmp);
}

static int valid_name(const exp_ckpt *ck, const char *name, qa_err *err)
{
    if (!*name || strchr(name, '/') || strlen(name) > 200)
        return qa_fail(err, QA_ERR_ARG, "%s: method state name '%s' is empty, too long or has "
                       "a '/'", ck->path, name);
    return QA_OK;
}

int exp_ckpt_put(exp_ckpt *ck, const char *name, exp_ckpt_type type, const void *v, size_t n,
                 qa_err *err)
{
    int rc = valid_name(ck, name, err);
    if (rc)
        return rc;
    if (!ck->writing)
        return qa_fail(err, QA_ERR_ARG, "%s: opened for reading, cannot put %s", ck->path, name);
    if (ck->method < 0)
        ck->method = H5Gcreate2(ck->file, "method", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ck->method < 0)
        return exp_h5_fail(ck->tmp, "cannot create /method", err);
    rc = exp_ckpt_write_vec(ck, ck->method, name, native_of(type), v, n, err);
    if (!rc) {
        hid_t ds = H5Dopen2(ck->method, name, H5P_DEFAULT);
        rc = exp_ckpt_attr_put_str(ck, ds, "type", type_name(type), err);
        H5Dclose(ds);
    }
    return rc;
}

int exp_ckpt_get(exp_ckpt *ck, const char *name, exp_ckpt_type type, void *v, size_t n,
                 qa_err *err)
{
    int rc = valid_name(ck, name, err);
    if (rc)
        return rc;
    if (ck->method < 0 && H5Lexists(ck->file, "method", H5P_DEFAULT) > 0)
        ck->method = H5Gopen2(ck->file, "method", H5P_DEFAULT);
    if (ck->method < 0)
        return qa_fail(err, QA_ERR_FORMAT, "%s: the method saved no state (/method/%s is "
                       "missing)", ck->path, name);
    if (H5Lexists(ck->method, name, H5P_DEFAULT) > 0) {
        char t[16];
        hid_t ds = H5Dopen2(ck->method, name, H5P_DEFAULT);
        rc = exp_ckpt_attr_get_str(ck, ds, name, "type", t, sizeof t, err);
        H5Dclose(ds);
        if (!rc && strcmp(t, type_name(type)) != 0)
            return qa_fail(err, QA_ERR_FORMAT, "%s: /method/%s holds %s values, %s expected",
                           ck->path, name, t, type_name(type));
        if (rc)
            return rc;
    }
    return exp_ckpt_read_array(ck, ck->method, "/method", name, native_of(type), v, (hsize_t)n, err);
}

/* Reads every numeric dataset under g once, so a bad checksum anywhere
 * stops a resume before the run file is touched. */
int exp_ckpt_verify_group(exp_ckpt *ck, hid_t g, const char *where, qa_err *err)
{
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0)
        return exp_h5_fail(ck->path, "cannot list a group (damaged checkpoint)", err);
    int rc = QA_OK;
    for (hsize_t i = 0; !rc && i < info.nlinks; i++) {
        char name[256], path[600];
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                               H5P_DEFAULT) < 0)
            return exp_h5_fail(ck->path, "cannot list a group (damaged checkpoint)", err);
        snprintf(path, sizeof path, "%s/%s", where, name);
        hid_t sub = H5Gopen2(g, name, H5P_DEFAULT);
        if (sub >= 0) {
            rc = exp_ckpt_verify_group(ck, sub, path, err);
            H5Gclose(sub);
            continue;
        }
        H5Eclear2(H5E_DEFAULT);
        hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
        hid_t t = ds < 0 ? -1 : H5Dget_type(ds), space = ds < 0 ? -1 : H5Dget_space(ds);
        hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
        int skip = t >= 0 && H5Tget_class(t) == H5T_STRING; /* /config: read when checked */
        void *buf = n > 0 && !skip ? malloc((size_t)n * H5Tget_size(t)) : NULL;
        herr_t r = ds < 0 || n < 0 ? -1 : skip || n == 0 ? 0
                 : buf ? H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : -1;
        free(buf);
        if (space >= 0)
            H5Sclose(space);
        if (t >= 0)
            H5Tclose(t);
        if (ds >= 0)
            H5Dclose(ds);
        if (r < 0) {
            char what[700];
            snprintf(what, sizeof what, "cannot read %s (damaged checkpoint)", path);
            rc = exp_h5_fail(ck->path, what, err);
        }
    }
    return rc;
}
