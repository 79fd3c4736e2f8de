/* pretrained.c: a finished run's backbone parameters into a network by view
 * name (pretrained.h): the file found and checked, the set read whole,
 * every view matched and checked, then copied. */
#include "experiments/run/pretrained.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/io/ckpt.h"
#include "experiments/io/runfile.h"

/* The backbone's set as the checkpoint holds it. */
typedef struct {
    char *names;     /* the views attribute, split in place at the commas */
    char **name;     /* (nviews) */
    int64_t *layout; /* (nviews, 3): 1 for a buffer, offset, size */
    int nviews;
    float *w, *buf;  /* (nw), (nbuf) */
    hsize_t nw, nbuf;
} file_set;

/* The checkpoint path names: itself, or the one next to a run file. */
static int find_ckpt(const char *path, char *ckpt, size_t n, qa_err *err)
{
    if (access(path, R_OK) != 0)
        return qa_fail(err, QA_ERR_IO, "%s: cannot read the pretrained run: %s", path,
                       strerror(errno));
    hid_t f;
    int rc = exp_rf_open(&f, path, err);
    if (rc)
        return rc;
    char v[64];
    int is_ckpt = exp_rf_str(f, "/", "format", v, sizeof v) == 0;
    int is_run = !is_ckpt && exp_rf_str(f, "/", "status", v, sizeof v) == 0;
    exp_rf_close(f);
    if (is_ckpt) {
        snprintf(ckpt, n, "%s", path);
        return QA_OK;
    }
    if (!is_run)
        return qa_fail(err, QA_ERR_FORMAT, "%s is neither a qadapt run file nor a checkpoint",
                       path);
    exp_ckpt_path(path, ckpt, n);
    if (access(ckpt, R_OK) != 0)
        return qa_fail(err, QA_ERR_IO, "%s: the run's checkpoint %s cannot be read: %s", path,
                       ckpt, strerror(errno));
    return QA_OK;
}

/* The run trained every epoch its config planned. */
static int check_finished(exp_ckpt *ck, exp_pretrained_info *in, qa_err *err)
{
    int64_t epochs = 0;
    int rc = exp_ckpt_attr_get_i64(ck, ck->file, "/", "epochs", &epochs, err);
    if (!rc)
        rc = exp_ckpt_attr_get_str(ck, ck->file, "/", "method", in->method, sizeof in->method,
                                   err);
    if (rc)
        return rc;
    char *ini = exp_rf_config(ck->file), planned[32];
    int ok = ini && exp_rf_ini_value(ini, "train", "epochs", planned, sizeof planned) == 0;
    free(ini);
    if (!ok)
        return qa_fail(err, QA_ERR_FORMAT, "%s: /config has no train.epochs (damaged checkpoint)",
                       ck->path);
    in->epochs = (int)epochs;
    if (epochs < atoll(planned))
        return qa_fail(err, QA_ERR_ARG, "%s: the run is not finished: %lld of its %s epochs "
                       "trained (qadapt run --resume finishes it)", ck->path, (long long)epochs,
                       planned);
    return QA_OK;
}

static int old_format(const exp_ckpt *ck, const char *what, qa_err *err)
{
    return qa_fail(err, QA_ERR_FORMAT, "%s: the checkpoint does not describe its network (%s "
                   "is missing: written before qadapt could load a run as a pretrained start); "
                   "train the run again to use it", ck->path, what);
}

static int check_norm(exp_ckpt *ck, hid_t g, int c, const exp_pretrained_want *want,
                      qa_err *err)
{
    float mean[3], std[3];
    int rc = exp_ckpt_read_array(ck, g, "/net", "input_mean", H5T_NATIVE_FLOAT, mean,
                                 (hsize_t)c, err);
    if (!rc)
        rc = exp_ckpt_read_array(ck, g, "/net", "input_std", H5T_NATIVE_FLOAT, std, (hsize_t)c,
                                 err);
    for (int ch = 0; !rc && ch < c; ch++)
        if (fabsf(mean[ch] - want->mean[ch]) > 1e-6f * fmaxf(1.0f, fabsf(mean[ch])) ||
            fabsf(std[ch] - want->std[ch]) > 1e-6f * fmaxf(1.0f, fabsf(std[ch])))
            rc = qa_fail(err, QA_ERR_ARG, "%s: the run normalised channel %d of its input "
                         "with mean %g std %g, this one with mean %g std %g (data.normalize, "
                         "data.mean, data.std)", ck->path, ch, mean[ch], std[ch],
                         want->mean[ch], want->std[ch]);
    return rc;
}

/* /net against the net and what the caller wants. */
static int check_net(exp_ckpt *ck, const nn_net *net, const exp_pretrained_want *want,
                     qa_err *err)
{
    if (H5Lexists(ck->file, "net", H5P_DEFAULT) <= 0)
        return old_format(ck, "/net", err);
    hid_t g = H5Gopen2(ck->file, "net", H5P_DEFAULT);
    char arch[64], dataset[64];
    int64_t d[4] = {0, 0, 0, 0}; /* C, H, W, classes */
    static const char *const dn[4] = {"input_c", "input_h", "input_w", "classes"};
    int rc = exp_ckpt_attr_get_str(ck, g, "/net", "arch", arch, sizeof arch, err);
    if (!rc)
        rc = exp_ckpt_attr_get_str(ck, g, "/net", "dataset", dataset, sizeof dataset, err);
    for (int i = 0; !rc && i < 4; i++)
        rc = exp_ckpt_attr_get_i64(ck, g, "/net", dn[i], &d[i], err);
    const int *in = net->t[0].d;
    if (!rc && (d[0] != in[1] || d[1] != in[2] || d[2] != in[3]))
        rc = qa_fail(err, QA_ERR_ARG, "%s: the run's input is %lldx%lldx%lld, the network's "
                     "%dx%dx%d", ck->path, (long long)d[0], (long long)d[1], (long long)d[2],
                     in[1], in[2], in[3]);
    if (!rc && d[3] != nn_net_output_size(net))
        rc = qa_fail(err, QA_ERR_ARG, "%s: the run has %lld classes, the network %d", ck->path,
                     (long long)d[3], nn_net_output_size(net));
    if (!rc && want->arch && strcmp(arch, want->arch) != 0)
        rc = qa_fail(err, QA_ERR_ARG, "%s: the run trained model.arch = %s, not %s", ck->path,
                     arch, want->arch);
    if (!rc && want->dataset && strcmp(dataset, want->dataset) != 0)
        rc = qa_fail(err, QA_ERR_ARG, "%s: the run trained on data.dataset = %s, not %s",
                     ck->path, dataset, want->dataset);
    if (!rc && want->mean && want->std)
        rc = check_norm(ck, g, in[1], want, err);
    H5Gclose(g);
    return rc;
}

static hsize_t ds_count(hid_t g, const char *name)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
        return 0;
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT), sp = ds < 0 ? -1 : H5Dget_space(ds);
    hssize_t n = sp < 0 ? 0 : H5Sget_simple_extent_npoints(sp);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    return n > 0 ? (hsize_t)n : 0;
}

/* views attribute -> names split in place */
static int split_names(file_set *fs, qa_err *err)
{
    fs->nviews = fs->names[0] ? 1 : 0;
    for (const char *c = fs->names; *c; c++)
        fs->nviews += *c == ',';
    fs->name = malloc((size_t)(fs->nviews ? fs->nviews : 1) * sizeof *fs->name);
    fs->layout = malloc((size_t)(fs->nviews ? fs->nviews : 1) * 3 * sizeof *fs->layout);
    if (!fs->name || !fs->layout)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory reading a pretrained run");
    char *s = fs->names;
    for (int i = 0; i < fs->nviews; i++) {
        fs->name[i] = s;
        s = strchr(s, ',');
        if (s)
            *s++ = '\0';
    }
    return QA_OK;
}

/* Every view's offset and size inside the arrays read. */
static int check_layout(const exp_ckpt *ck, const file_set *fs, qa_err *err)
{
    for (int i = 0; i < fs->nviews; i++) {
        const int64_t *l = fs->layout + 3 * i;
        hsize_t have = l[0] ? fs->nbuf : fs->nw;
        if (l[1] < 0 || l[2] < 0 || (hsize_t)(l[1] + l[2]) > have)
            return qa_fail(err, QA_ERR_FORMAT, "%s: view %s lies outside the saved values "
                           "(damaged checkpoint)", ck->path, fs->name[i]);
    }
    return QA_OK;
}

static int read_set(exp_ckpt *ck, file_set *fs, qa_err *err)
{
    const char *where = "/sets/net";
    if (H5Lexists(ck->file, "sets", H5P_DEFAULT) <= 0 ||
        H5Lexists(ck->file, where, H5P_DEFAULT) <= 0)
        return qa_fail(err, QA_ERR_FORMAT, "%s: %s is missing (damaged checkpoint)", ck->path,
                       where);
    hid_t g = H5Gopen2(ck->file, where, H5P_DEFAULT);
    size_t cap = 1 << 17;
    fs->names = malloc(cap);
    int rc = fs->names ? exp_ckpt_attr_get_str(ck, g, where, "views", fs->names, cap, err)
                       : qa_fail(err, QA_ERR_NOMEM, "out of memory reading %s", ck->path);
    if (!rc)
        rc = H5Lexists(g, "layout", H5P_DEFAULT) > 0 ? split_names(fs, err)
                                                      : old_format(ck, "/sets/net/layout", err);
    if (!rc)
        rc = exp_ckpt_read_array(ck, g, where, "layout", H5T_NATIVE_INT64, fs->layout,
                                 (hsize_t)fs->nviews * 3, err);
    fs->nw = ds_count(g, "w");
    fs->nbuf = ds_count(g, "buf");
    fs->w = malloc((size_t)(fs->nw ? fs->nw : 1) * sizeof *fs->w);
    fs->buf = malloc((size_t)(fs->nbuf ? fs->nbuf : 1) * sizeof *fs->buf);
    if (!rc && (!fs->w || !fs->buf))
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory reading %s", ck->path);
    if (!rc)
        rc = exp_ckpt_read_array(ck, g, where, "w", H5T_NATIVE_FLOAT, fs->w, fs->nw, err);
    if (!rc)
        rc = exp_ckpt_read_array(ck, g, where, "buf", H5T_NATIVE_FLOAT, fs->buf, fs->nbuf, err);
    H5Gclose(g);
    return rc ? rc : check_layout(ck, fs, err);
}

static void file_set_free(file_set *fs)
{
    free(fs->names);
    free(fs->name);
    free(fs->layout);
    free(fs->w);
    free(fs->buf);
}

static int file_has(const file_set *fs, const char *name)
{
    for (int i = 0; i < fs->nviews; i++)
        if (strcmp(fs->name[i], name) == 0)
            return 1;
    return 0;
}

static void note(int *count, char *first, size_t n, const char *name)
{
    if ((*count)++ == 0)
        snprintf(first, n, "%s", name);
}

/* Counts shared, missing and unused views; a shared one of another kind or
 * size, or an absence the caller does not allow, is an error. */
static int match_views(const exp_ckpt *ck, const file_set *fs, const nn_params *p,
                       const exp_pretrained_want *want, exp_pretrained_info *in, qa_err *err)
{
    static const char *const kinds[2] = {"trainable", "buffer"};
    for (int i = 0; i < fs->nviews; i++) {
        const int64_t *l = fs->layout + 3 * i;
        int j = nn_params_find(p, fs->name[i]);
        if (j < 0) {
            note(&in->unused, in->first_unused, sizeof in->first_unused, fs->name[i]);
            continue;
        }
        const nn_param_view *v = &p->views[j];
        int buffer = v->kind == NN_PARAM_BUFFER;
        if (buffer != (l[0] != 0) || (int64_t)v->n != l[2])
            return qa_fail(err, QA_ERR_ARG, "%s: view %s holds %lld %s values, the network's "
                           "%zu %s", ck->path, fs->name[i], (long long)l[2], kinds[l[0] != 0],
                           v->n, kinds[buffer]);
        in->loaded++;
    }
    for (int j = 0; j < p->nviews; j++)
        if (!file_has(fs, p->views[j].name))
            note(&in->missing, in->first_missing, sizeof in->first_missing, p->views[j].name);
    if (in->unused && !want->unused_ok)
        return qa_fail(err, QA_ERR_ARG, "%s: the run has %d parameter views the network lacks "
                       "(the first: %s)", ck->path, in->unused, in->first_unused);
    if (in->missing && !want->missing_ok)
        return qa_fail(err, QA_ERR_ARG, "%s: the network has %d parameter views the run lacks "
                       "(the first: %s)", ck->path, in->missing, in->first_missing);
    if (!in->loaded)
        return qa_fail(err, QA_ERR_ARG, "%s: no parameter view in common with the network",
                       ck->path);
    return QA_OK;
}

static void copy_views(const file_set *fs, nn_params *p)
{
    for (int i = 0; i < fs->nviews; i++) {
        int j = nn_params_find(p, fs->name[i]);
        const int64_t *l = fs->layout + 3 * i;
        if (j >= 0)
            memcpy(nn_params_value(p, j), (l[0] ? fs->buf : fs->w) + l[1],
                   (size_t)l[2] * sizeof(float));
    }
}

int exp_pretrained_load(nn_net *net, const char *path, const exp_pretrained_want *want,
                        exp_pretrained_info *info, qa_err *err)
{
    static const exp_pretrained_want strict = {0};
    exp_pretrained_info local;
    exp_pretrained_info *in = info ? info : &local;
    memset(in, 0, sizeof *in);
    if (!want)
        want = &strict;
    if (!net->finalized)
        return qa_fail(err, QA_ERR_ARG, "%s: the network must be finalized before loading", path);
    int rc = find_ckpt(path, in->ckpt, sizeof in->ckpt, err);
    exp_ckpt *ck = NULL;
    if (!rc)
        rc = exp_ckpt_read(&ck, in->ckpt, err);
    if (!rc)
        rc = check_finished(ck, in, err);
    if (!rc)
        rc = check_net(ck, net, want, err);
    file_set fs;
    memset(&fs, 0, sizeof fs);
    if (!rc)
        rc = read_set(ck, &fs, err);
    if (!rc)
        rc = match_views(ck, &fs, &net->params, want, in, err);
    if (!rc)
        copy_views(&fs, &net->params);
    file_set_free(&fs);
    exp_ckpt_close(ck);
    return rc;
}
