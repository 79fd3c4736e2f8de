/* checkpoint.c: the run's state into a checkpoint after every epoch, and
 * back for --resume: the config check, parameter sets with their
 * optimizers, the run file's rows, the method's hooks; beside them the
 * description a pretrained start reads (/net, each set's layout:
 * pretrained.h). The file itself: io/ckpt_file.c. */
#include "experiments/run/checkpoint.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/io/ckpt.h"
#include "experiments/io/h5util.h"
#include "experiments/run/datasets.h"
#include "nn/models.h"

/* "a,b,c": the names of p's views, to tell two models apart. */
static char *view_names(const nn_params *p)
{
    size_t n = 1;
    for (int v = 0; v < p->nviews; v++)
        n += strlen(p->views[v].name) + 1;
    char *s = calloc(n, 1);
    for (int v = 0; s && v < p->nviews; v++) {
        if (v)
            strcat(s, ",");
        strcat(s, p->views[v].name);
    }
    return s;
}

/* (nviews, 3): per view 1 for a buffer (else trainable), its offset into
 * buf or w, its size; what reading a set by view name needs. */
static int save_layout(exp_ckpt *ck, hid_t g, const nn_params *p, qa_err *err)
{
    int64_t *l = malloc((size_t)(p->nviews ? p->nviews : 1) * 3 * sizeof *l);
    if (!l)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory saving a parameter layout");
    for (int v = 0; v < p->nviews; v++) {
        l[3 * v] = p->views[v].kind == NN_PARAM_BUFFER;
        l[3 * v + 1] = (int64_t)p->views[v].off;
        l[3 * v + 2] = (int64_t)p->views[v].n;
    }
    hsize_t dims[2] = {(hsize_t)p->nviews, 3};
    int rc = exp_ckpt_write_array(ck, g, "layout", H5T_NATIVE_INT64, l, 2, dims, err);
    free(l);
    return rc;
}

static int save_set(exp_ckpt *ck, hid_t sets, const exp_param_set *s, qa_err *err)
{
    const nn_params *p = s->p;
    hid_t g = H5Gcreate2(sets, s->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return exp_h5_fail(ck->tmp, "cannot create a parameter set's group", err);
    char *views = view_names(p);
    int rc = views ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "out of memory saving %s", s->name);
    if (!rc)
        rc = exp_ckpt_attr_put_str(ck, g, "views", views, err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, g, "t", s->opt->t, err);
    if (!rc)
        rc = exp_ckpt_write_vec(ck, g, "w", H5T_NATIVE_FLOAT, p->w, p->n, err);
    if (!rc)
        rc = exp_ckpt_write_vec(ck, g, "buf", H5T_NATIVE_FLOAT, p->buf, p->nbuf, err);
    if (!rc)
        rc = exp_ckpt_write_vec(ck, g, "m", H5T_NATIVE_FLOAT, s->opt->m, p->n, err);
    if (!rc && s->opt->v)
        rc = exp_ckpt_write_vec(ck, g, "v", H5T_NATIVE_FLOAT, s->opt->v, p->n, err);
    if (!rc)
        rc = save_layout(ck, g, p, err);
    free(views);
    H5Gclose(g);
    return rc;
}

/* "name:type:count,..." of a table's columns, to tell two layouts apart. */
static void columns_text(const h5log_table *t, char *buf, size_t n)
{
    int ncols;
    const h5log_col *c = h5log_table_cols(t, &ncols);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < ncols && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s:%d:%d", i ? "," : "", c[i].name, c[i].type,
                         c[i].count);
        used += w > 0 ? (size_t)w : 0;
    }
}

static int save_table(exp_ckpt *ck, hid_t tables, int k, const h5log_table *t, qa_err *err)
{
    char name[32], cols[8192];
    snprintf(name, sizeof name, "t%d", k);
    int64_t rows = h5log_table_rows(t);
    int width = h5log_table_width(t);
    h5log_value *v = malloc((size_t)(rows > 0 ? rows : 1) * (size_t)width * sizeof *v);
    if (!v)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory saving %s", h5log_table_path(t));
    int rc = h5log_table_read(t, 0, rows, v, err);
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)width};
    /* the values' bits, whatever each column's type */
    if (!rc)
        rc = exp_ckpt_write_array(ck, tables, name, H5T_NATIVE_UINT64, v, 2, dims, err);
    free(v);
    hid_t ds = rc ? -1 : H5Dopen2(tables, name, H5P_DEFAULT);
    columns_text(t, cols, sizeof cols);
    if (!rc)
        rc = exp_ckpt_attr_put_str(ck, ds, "path", h5log_table_path(t), err);
    if (!rc)
        rc = exp_ckpt_attr_put_str(ck, ds, "columns", cols, err);
    if (ds >= 0)
        H5Dclose(ds);
    return rc;
}

/* /net: what the backbone was built for and fed, so that a pretrained
 * start can refuse another architecture, dataset, shape or normalisation. */
static int save_net(exp_ckpt *ck, const exp_run *r, qa_err *err)
{
    hid_t g = H5Gcreate2(ck->file, "net", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return exp_h5_fail(ck->tmp, "cannot create /net", err);
    const nn_tensor *in = &r->net->t[0];
    int rc = exp_ckpt_attr_put_str(ck, g, "arch", nn_model_names()[r->cfg->model.arch], err);
    if (!rc)
        rc = exp_ckpt_attr_put_str(ck, g, "dataset", exp_dataset_choice(r->cfg->data.dataset), err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, g, "classes", nn_net_output_size(r->net), err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, g, "input_c", in->d[1], err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, g, "input_h", in->d[2], err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, g, "input_w", in->d[3], err);
    if (!rc)
        rc = exp_ckpt_write_vec(ck, g, "input_mean", H5T_NATIVE_FLOAT, r->mean, (size_t)in->d[1], err);
    if (!rc)
        rc = exp_ckpt_write_vec(ck, g, "input_std", H5T_NATIVE_FLOAT, r->std, (size_t)in->d[1], err);
    H5Gclose(g);
    return rc;
}

int exp_ckpt_put_config(exp_ckpt *ck, const exp_config *cfg, qa_err *err)
{
    cfg_doc d = exp_config_doc((exp_config *)cfg);
    char *text = NULL;
    int rc = cfg_render(&d, &text, err);
    if (!rc) {
        hid_t t = exp_h5_str_type(), space = H5Screate(H5S_SCALAR);
        hid_t ds = H5Dcreate2(ck->file, "config", t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0 || H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0)
            rc = exp_h5_fail(ck->tmp, "cannot write /config", err);
        if (ds >= 0)
            H5Dclose(ds);
        H5Sclose(space);
        H5Tclose(t);
    }
    free(text);
    return rc;
}

int exp_ckpt_put_tables(exp_ckpt *ck, const h5log *log, qa_err *err)
{
    hid_t tables = H5Gcreate2(ck->file, "tables", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (tables < 0)
        return exp_h5_fail(ck->tmp, "cannot create /tables", err);
    int ntables = h5log_ntables(log), rc = QA_OK;
    for (int k = 0; !rc && k < ntables; k++)
        rc = save_table(ck, tables, k, h5log_table_at(log, k), err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, tables, "count", ntables, err);
    H5Gclose(tables);
    return rc;
}

static int save_run_state(exp_ckpt *ck, exp_run *r, const exp_run_result *res, qa_err *err)
{
    int rc = exp_ckpt_put_config(ck, r->cfg, err);
    hid_t f = ck->file;
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, f, "epochs", r->epoch + 1, err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, f, "step", r->step, err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, f, "loader_epoch", r->train_loader.epoch, err);
    if (!rc)
        rc = exp_ckpt_attr_put_f64(ck, f, "lr", r->lr, err);
    if (!rc)
        rc = exp_ckpt_attr_put_f64(ck, f, "elapsed", exp_now() - r->t_start, err);
    if (!rc)
        rc = exp_ckpt_attr_put_f64(ck, f, "test_acc", res->test_acc, err);
    if (!rc)
        rc = exp_ckpt_attr_put_f64(ck, f, "test_loss", res->test_loss, err);
    if (!rc)
        rc = exp_ckpt_attr_put_str(ck, f, "method", r->method->name, err);
    if (!rc)
        rc = save_net(ck, r, err);
    hid_t sets = rc ? -1 : H5Gcreate2(f, "sets", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (int i = 0; !rc && i < r->nsets; i++)
        rc = save_set(ck, sets, &r->sets[i], err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, sets, "count", r->nsets, err);
    if (sets >= 0)
        H5Gclose(sets);
    return rc ? rc : exp_ckpt_put_tables(ck, r->log, err);
}

int exp_ckpt_save(exp_run *r, const exp_run_result *res, qa_err *err)
{
    char path[1100];
    exp_ckpt_path(h5log_path(r->log), path, sizeof path);
    exp_ckpt *ck;
    int rc = exp_ckpt_create(&ck, path, err);
    if (rc)
        return rc;
    rc = save_run_state(ck, r, res, err);
    if (!rc && r->method->save && (rc = r->method->save(r, r->mstate, ck, err)) != QA_OK)
        qa_err_prefix(err, "method %s saving its checkpoint state: ", r->method->name);
    if (rc) {
        exp_ckpt_close(ck);
        return rc;
    }
    return exp_ckpt_commit(ck, err);
}

/* 1 when "section.key" is one of may_change ("section.key", or a prefix
 * ending in '*'). */
static int may_differ(const char *section, const char *key, const char *const *may_change)
{
    char name[160];
    snprintf(name, sizeof name, "%s.%s", section, key);
    for (; *may_change; may_change++) {
        size_t n = strlen(*may_change);
        if (n && (*may_change)[n - 1] == '*' ? strncmp(name, *may_change, n - 1) == 0
                                              : strcmp(name, *may_change) == 0)
            return 1;
    }
    return 0;
}

/* The first key, in schema order, whose value differs between the config
 * a and the checkpoint's b, other than those a resume may change. */
static int config_differs(const exp_config *a, exp_config *b, const char *path,
                          const char *const *may_change, const char *why, qa_err *err)
{
    const cfg_schema *s = a->schema;
    cfg_doc da = exp_config_doc((exp_config *)a);
    int idx = 0;
    for (int i = 0; i < s->nsections; i++) {
        const cfg_section *sec = &s->sections[i];
        for (const cfg_key *k = sec->keys; k->key; k++, idx++) {
            if (may_differ(sec->name, k->key, may_change))
                continue;
            char va[4096], vb[4096], where[300];
            cfg_format(k, cfg_field(sec, k, a), (const char *)a + sec->off, va, sizeof va);
            cfg_format(k, cfg_field(sec, k, b), (const char *)b + sec->off, vb, sizeof vb);
            if (strcmp(va, vb) == 0)
                continue;
            cfg_where(&da, idx, where, sizeof where);
            return qa_fail(err, QA_ERR_CONFIG,
                           "resume refused: %s.%s is '%s' (%s) but the checkpoint %s was "
                           "written with '%s'; %s",
                           sec->name, k->key, va, where, path, vb, why);
        }
    }
    return QA_OK;
}

int exp_ckpt_check_config(exp_ckpt *ck, const exp_config *cfg, const char *const *may_change,
                          const char *why, qa_err *err)
{
    hid_t ds = H5Lexists(ck->file, "config", H5P_DEFAULT) > 0
                   ? H5Dopen2(ck->file, "config", H5P_DEFAULT)
                   : -1;
    hid_t t = exp_h5_str_type();
    char *text = NULL;
    herr_t r = ds < 0 ? -1 : H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text);
    if (ds >= 0)
        H5Dclose(ds);
    H5Tclose(t);
    if (r < 0 || !text)
        return exp_h5_fail(ck->path, "cannot read /config (damaged checkpoint)", err);
    exp_config *old = malloc(sizeof *old);
    int rc = old ? exp_config_reset(old, cfg->schema, err)
                 : qa_fail(err, QA_ERR_NOMEM, "out of memory for a config");
    if (!rc) {
        cfg_doc d = exp_config_doc(old);
        char name[1100];
        snprintf(name, sizeof name, "%s:/config", ck->path);
        rc = cfg_load_stored(&d, text, name, err);
        if (rc)
            qa_err_prefix(err, "the checkpoint's config no longer reads (schema changed?): ");
    }
    H5free_memory(text);
    if (!rc)
        rc = config_differs(cfg, old, ck->path, may_change, why, err);
    free(old);
    return rc;
}

/* Results do not depend on the thread count; the grid (grid.h) runs after
 * training: qadapt eval changes its keys. */
static const char *const run_may_change[] = {"train.epochs", "experiment.out_dir",
                                             "experiment.threads", "experiment.memory_mb",
                                             "eval.grid*", "eval.reference", NULL};

int exp_ckpt_open(exp_ckpt **out, const char *path, const exp_config *cfg, qa_err *err)
{
    exp_ckpt *ck;
    int rc = exp_ckpt_read(&ck, path, err);
    if (rc)
        return rc;
    int64_t epochs = 0;
    rc = exp_ckpt_check_config(ck, cfg, run_may_change,
                               "only train.epochs, experiment.threads and the out dir may "
                               "change",
                               err);
    if (!rc)
        rc = exp_ckpt_verify_group(ck, ck->file, "", err);
    if (!rc)
        rc = exp_ckpt_attr_get_i64(ck, ck->file, "/", "epochs", &epochs, err);
    if (!rc && (epochs < 1 || epochs > cfg->train.epochs))
        rc = qa_fail(err, QA_ERR_CONFIG, "resume refused: the checkpoint %s has %lld epochs "
                     "done, more than train.epochs = %d", path, (long long)epochs,
                     cfg->train.epochs);
    if (rc) {
        exp_ckpt_close(ck);
        return rc;
    }
    *out = ck;
    return QA_OK;
}

/* A value a run cannot have saved: its parameters, batch-norm statistics
 * and optimizer moments are finite when a checkpoint is written (a NaN in
 * training fails the run first), so a NaN or Inf was put there since; it
 * was restored silently and spread through the resumed run. */
static int check_finite(const exp_ckpt *ck, const char *where, const char *name,
                        const float *v, size_t n, qa_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return qa_fail(err, QA_ERR_FORMAT, "%s: %s/%s holds %g at index %zu (damaged "
                           "or edited checkpoint)", ck->path, where, name, v[i], i);
    return QA_OK;
}

static int restore_set(exp_ckpt *ck, hid_t sets, exp_param_set *s, qa_err *err)
{
    nn_params *p = s->p;
    char where[64], views[65536];
    snprintf(where, sizeof where, "/sets/%s", s->name);
    if (H5Lexists(sets, s->name, H5P_DEFAULT) <= 0)
        return qa_fail(err, QA_ERR_FORMAT, "%s: parameter set %s is missing", ck->path, s->name);
    hid_t g = H5Gopen2(sets, s->name, H5P_DEFAULT);
    if (g < 0)
        return exp_h5_fail(ck->path, "cannot open a parameter set (damaged checkpoint)", err);
    char *want = view_names(p);
    int64_t t = 0;
    int rc = want ? exp_ckpt_attr_get_str(ck, g, where, "views", views, sizeof views, err)
                  : qa_fail(err, QA_ERR_NOMEM, "out of memory restoring %s", s->name);
    if (!rc && strcmp(views, want) != 0)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: parameter set %s has other views than the "
                     "network built now (was the code changed?)", ck->path, s->name);
    if (!rc)
        rc = exp_ckpt_attr_get_i64(ck, g, where, "t", &t, err);
    if (!rc)
        rc = exp_ckpt_read_array(ck, g, where, "w", H5T_NATIVE_FLOAT, p->w, p->n, err);
    if (!rc)
        rc = exp_ckpt_read_array(ck, g, where, "buf", H5T_NATIVE_FLOAT, p->buf, p->nbuf, err);
    if (!rc)
        rc = exp_ckpt_read_array(ck, g, where, "m", H5T_NATIVE_FLOAT, s->opt->m, p->n, err);
    if (!rc && s->opt->v)
        rc = exp_ckpt_read_array(ck, g, where, "v", H5T_NATIVE_FLOAT, s->opt->v, p->n, err);
    if (!rc)
        rc = check_finite(ck, where, "w", p->w, p->n, err);
    if (!rc)
        rc = check_finite(ck, where, "buf", p->buf, p->nbuf, err);
    if (!rc)
        rc = check_finite(ck, where, "m", s->opt->m, p->n, err);
    if (!rc && s->opt->v)
        rc = check_finite(ck, where, "v", s->opt->v, p->n, err);
    if (!rc)
        s->opt->t = (long)t;
    free(want);
    H5Gclose(g);
    return rc;
}

static h5log_table *table_by_path(const h5log *log, const char *path)
{
    for (int i = 0; i < h5log_ntables(log); i++)
        if (strcmp(h5log_table_path(h5log_table_at(log, i)), path) == 0)
            return h5log_table_at(log, i);
    return NULL;
}

/* Appends the saved rows the run file does not have yet (setup wrote the
 * others again). Tables the resumed run has not created by now are left to
 * whoever creates them later. */
static int restore_table(exp_ckpt *ck, hid_t tables, int k, h5log *log, qa_err *err)
{
    char name[32], where[64], path[256], cols[8192], want[8192];
    snprintf(name, sizeof name, "t%d", k);
    snprintf(where, sizeof where, "/tables/%s", name);
    hid_t ds = H5Lexists(tables, name, H5P_DEFAULT) > 0 ? H5Dopen2(tables, name, H5P_DEFAULT) : -1;
    if (ds < 0)
        return qa_fail(err, QA_ERR_FORMAT, "%s: %s is missing", ck->path, where);
    hsize_t dims[2] = {0, 0};
    hid_t space = H5Dget_space(ds);
    int rank = space < 0 ? -1 : H5Sget_simple_extent_dims(space, dims, NULL);
    if (space >= 0)
        H5Sclose(space);
    int rc = exp_ckpt_attr_get_str(ck, ds, where, "path", path, sizeof path, err);
    if (!rc)
        rc = exp_ckpt_attr_get_str(ck, ds, where, "columns", cols, sizeof cols, err);
    H5Dclose(ds);
    if (rc)
        return rc;
    h5log_table *t = table_by_path(log, path);
    if (!t) /* made after setup (a final summary): its maker writes it again */
        return QA_OK;
    columns_text(t, want, sizeof want);
    if (rank != 2 || strcmp(cols, want) != 0 || dims[1] != (hsize_t)h5log_table_width(t))
        return qa_fail(err, QA_ERR_FORMAT, "%s: table %s has other columns than the run's "
                       "now (was the code changed?)", ck->path, path);
    int64_t have = h5log_table_rows(t), saved = (int64_t)dims[0];
    if (have > saved)
        return qa_fail(err, QA_ERR_FORMAT, "%s: table %s has %lld rows, the resumed run "
                       "wrote %lld before its first epoch", ck->path, path, (long long)saved,
                       (long long)have);
    h5log_value *v = malloc((size_t)(saved > 0 ? saved : 1) * (size_t)dims[1] * sizeof *v);
    if (!v)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory restoring %s", path);
    rc = exp_ckpt_read_array(ck, tables, "/tables", name, H5T_NATIVE_UINT64, v, dims[0] * dims[1], err);
    if (!rc)
        rc = h5log_table_append(t, v + (size_t)have * dims[1], (int)(saved - have), err);
    free(v);
    return rc;
}

/* /<group>, checked, and its count attribute */
static int open_group(exp_ckpt *ck, const char *group, hid_t *g, int64_t *count, qa_err *err)
{
    *g = H5Lexists(ck->file, group, H5P_DEFAULT) > 0 ? H5Gopen2(ck->file, group, H5P_DEFAULT)
                                                      : -1;
    if (*g < 0)
        return qa_fail(err, QA_ERR_FORMAT, "%s: /%s is missing (damaged checkpoint)", ck->path,
                       group);
    int rc = exp_ckpt_attr_get_i64(ck, *g, group, "count", count, err);
    if (rc)
        H5Gclose(*g);
    return rc;
}

static int restore_sets(exp_ckpt *ck, exp_run *r, qa_err *err)
{
    hid_t g;
    int64_t count = 0;
    int rc = open_group(ck, "sets", &g, &count, err);
    if (rc)
        return rc;
    if (count != r->nsets)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: %lld parameter sets saved, the run has %d",
                     ck->path, (long long)count, r->nsets);
    for (int i = 0; !rc && i < r->nsets; i++)
        rc = restore_set(ck, g, &r->sets[i], err);
    H5Gclose(g);
    return rc;
}

int exp_ckpt_get_tables(exp_ckpt *ck, h5log *log, qa_err *err)
{
    hid_t g;
    int64_t count = 0;
    int rc = open_group(ck, "tables", &g, &count, err);
    if (rc)
        return rc;
    for (int i = 0; !rc && i < (int)count; i++)
        rc = restore_table(ck, g, i, log, err);
    H5Gclose(g);
    return rc;
}

int exp_ckpt_restore(exp_ckpt *ck, exp_run *r, exp_run_result *res, qa_err *err)
{
    int64_t epochs = 0, step = 0;
    double lr = 0, elapsed = 0, acc = 0, loss = 0;
    char method[64];
    hid_t f = ck->file;
    int rc = exp_ckpt_attr_get_i64(ck, f, "/", "epochs", &epochs, err);
    if (!rc)
        rc = exp_ckpt_attr_get_i64(ck, f, "/", "step", &step, err);
    if (!rc)
        rc = exp_ckpt_attr_get_f64(ck, f, "/", "lr", &lr, err);
    if (!rc)
        rc = exp_ckpt_attr_get_f64(ck, f, "/", "elapsed", &elapsed, err);
    if (!rc)
        rc = exp_ckpt_attr_get_f64(ck, f, "/", "test_acc", &acc, err);
    if (!rc)
        rc = exp_ckpt_attr_get_f64(ck, f, "/", "test_loss", &loss, err);
    if (!rc)
        rc = exp_ckpt_attr_get_str(ck, f, "/", "method", method, sizeof method, err);
    if (!rc && strcmp(method, r->method->name) != 0)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: written by method %s, the run uses %s", ck->path,
                     method, r->method->name);
    if (!rc && step != epochs * r->steps_per_epoch)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: %lld steps after %lld epochs of %ld steps",
                     ck->path, (long long)step, (long long)epochs, r->steps_per_epoch);
    if (!rc)
        rc = restore_sets(ck, r, err);
    if (!rc)
        rc = exp_ckpt_get_tables(ck, r->log, err);
    if (!rc && r->method->load && (rc = r->method->load(r, r->mstate, ck, err)) != QA_OK)
        qa_err_prefix(err, "method %s restoring its checkpoint state: ", r->method->name);
    if (rc)
        return rc;
    r->step = (long)step;
    r->lr = (float)lr;
    r->t_start = exp_now() - elapsed;
    res->epochs = (int)epochs;
    res->test_acc = acc;
    res->test_loss = loss;
    return h5log_attr_i64(r->log, "/", "resumed_after_epoch", epochs, err);
}
