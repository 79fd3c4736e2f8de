/* fuzz_ckpt.c: a checkpoint built from the input (fuzz_h5.h) through the
 * readers behind qadapt run --resume: exp_ckpt_open against the default
 * config (format, version, the stored config compared key by key, every
 * dataset read with its checksum, the epochs), then, as a restore and a
 * method's load hook read them, exp_ckpt_read_array and exp_ckpt_get with
 * a type and count the input chooses. Input: the root's attributes (the
 * right value, absent, or a chosen type), /config (absent, the defaults'
 * text, it with one byte changed, or the input's text), datasets
 * /sets/net/{w,m} and /method/{a,b} (a chosen type, rank 0..2, shape,
 * chunked with a Fletcher-32 checksum or not), then perhaps a cut. The
 * full restore into a run is not reached here: it needs a run set up on a
 * dataset (tests/run/test_resume.c covers its refusals). */
#include <stdlib.h>
#include <string.h>

#include "experiments/cli/schema.h"
#include "experiments/io/ckpt.h"
#include "experiments/run/checkpoint.h"
#include "fuzz_h5.h"

static exp_config *defaults(void)
{
    static exp_config *c;
    if (!c) {
        qa_err err = {0};
        c = malloc(sizeof *c);
        FUZZ_ASSERT(c && exp_config_defaults(c, &err) == 0);
    }
    return c;
}

static void root_attrs(fuzz_bytes *b, hid_t f)
{
    unsigned how = fuzz_u8(b);
    if (how % 4 == 0)
        fuzz_h5_attr_text(f, "format", EXP_CKPT_FORMAT);
    else if (how % 4 == 1)
        fuzz_h5_attr(b, f, "format");
    const char *ints[] = {"version", "epochs"};
    for (int i = 0; i < 2; i++) {
        how = fuzz_u8(b) % 4;
        hid_t space = H5Screate(H5S_SCALAR);
        int64_t v = i == 0 ? EXP_CKPT_VERSION : (int64_t)(fuzz_u8(b) % 4);
        hid_t a = how < 2 ? H5Acreate2(f, ints[i], H5T_NATIVE_INT64, space, H5P_DEFAULT,
                                       H5P_DEFAULT)
                          : -1;
        if (a >= 0) {
            H5Awrite(a, H5T_NATIVE_INT64, &v);
            H5Aclose(a);
        } else if (how == 2) {
            fuzz_h5_attr(b, f, ints[i]);
        }
        H5Sclose(space);
    }
}

static void config(fuzz_bytes *b, hid_t f)
{
    static char *text;
    if (!text) {
        qa_err err = {0};
        cfg_doc d = exp_config_doc(defaults());
        FUZZ_ASSERT(cfg_render(&d, &text, &err) == 0);
    }
    unsigned how = fuzz_u8(b) % 4;
    if (how == 1 || how == 2) {
        char *t = strdup(text);
        size_t n = strlen(t);
        if (how == 2) /* one byte of the stored config changed */
            t[fuzz_u16(b) % n] = (char)fuzz_u8(b);
        fuzz_h5_text(f, "config", t);
        free(t);
    } else if (how == 3) {
        char own[256];
        fuzz_h5_take_text(b, own, sizeof own);
        fuzz_h5_text(f, "config", own);
    }
}

/* A dataset at path of a chosen type and shape, values from the input. */
static void dataset(fuzz_bytes *b, hid_t f, const char *path)
{
    if (fuzz_u8(b) % 5 == 0)
        return;
    hid_t t = fuzz_h5_type(b);
    int rank = fuzz_u8(b) % 3;
    hsize_t dims[2] = {fuzz_u8(b) % 9, fuzz_u8(b) % 5};
    hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    size_t n = (size_t)H5Sget_simple_extent_npoints(space);
    if (rank && n && fuzz_u8(b) % 2) {
        H5Pset_chunk(dcpl, rank, dims);
        H5Pset_fletcher32(dcpl);
    }
    hid_t d = H5Dcreate2(f, path, t, space, lcpl, dcpl, H5P_DEFAULT);
    size_t size = H5Tis_variable_str(t) > 0 ? sizeof(char *) : H5Tget_size(t);
    uint8_t *buf = calloc(n ? n : 1, size), *p = buf;
    for (size_t i = 0; i < n * size; i++)
        p[i] = fuzz_u8(b);
    if (H5Tis_variable_str(t) > 0)
        for (size_t i = 0; i < n; i++) /* no pointers from the input */
            memcpy(buf + i * size, &(const char *){"x"}, size);
    if (d >= 0 && n)
        H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (d >= 0)
        H5Dclose(d);
    free(buf);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    H5Tclose(t);
}

static void build(fuzz_bytes *b, const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    FUZZ_ASSERT(f >= 0);
    root_attrs(b, f);
    config(b, f);
    const char *paths[] = {"/sets/net/w", "/sets/net/m", "/method/a", "/method/b"};
    for (int i = 0; i < 4; i++)
        dataset(b, f, paths[i]);
    H5Fclose(f);
    fuzz_h5_maybe_cut(b, path);
}

static hid_t read_type(fuzz_bytes *b)
{
    switch (fuzz_u8(b) % 4) {
    case 0: return H5T_NATIVE_FLOAT;
    case 1: return H5T_NATIVE_DOUBLE;
    case 2: return H5T_NATIVE_INT64;
    default: return H5T_NATIVE_UINT8;
    }
}

/* Reads as a restore and a load hook would: a chosen type and count. */
static void read_back(fuzz_bytes *b, exp_ckpt *ck)
{
    double buf[64];
    qa_err err = {0};
    hsize_t count = fuzz_u8(b) % 41;
    hid_t g = H5Gopen2(ck->file, "/sets/net", H5P_DEFAULT);
    int rc = g < 0 ? QA_ERR_FORMAT
                   : exp_ckpt_read_array(ck, g, "/sets/net", fuzz_u8(b) % 2 ? "w" : "m",
                                         read_type(b), buf, count, &err);
    if (g >= 0) {
        fuzz_check_status(rc, &err, "exp_ckpt_read_array");
        H5Gclose(g);
    }
    qa_err err2 = {0};
    rc = exp_ckpt_get(ck, fuzz_u8(b) % 2 ? "a" : "b", (exp_ckpt_type)(fuzz_u8(b) % 4), buf,
                      fuzz_u8(b) % 41, &err2);
    fuzz_check_status(rc, &err2, "exp_ckpt_get");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes b = {data, size};
    char path[512];
    fuzz_path(path, sizeof path, fuzz_dir(), "ckpt.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    build(&b, path);
    exp_ckpt *ck = NULL;
    qa_err err = {0};
    int rc = exp_ckpt_open(&ck, path, defaults(), &err);
    fuzz_check_status(rc, &err, "exp_ckpt_open");
    if (rc) { /* what a method's load hook reads needs only the format */
        qa_err err2 = {0};
        rc = exp_ckpt_read(&ck, path, &err2);
        fuzz_check_status(rc, &err2, "exp_ckpt_read");
    }
    if (!rc) {
        read_back(&b, ck);
        exp_ckpt_close(ck);
    }
    return 0;
}
