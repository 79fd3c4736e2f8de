/* search_log.c: see search_log.h. */
#include "experiments/search/search_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/io/h5util.h"
#include "experiments/run/checkpoint.h"

enum { F64_COLS = 9 };
static const char *const f64_cols[F64_COLS] = {"reward",  "val_acc",        "val_loss",
                                               "cost",    "bitops_vs_int8", "weight_bytes",
                                               "sigma",   "seconds",        "elapsed"};

static int make_table(exp_search_log *sl, qa_err *err)
{
    h5log_col cols[F64_COLS + 5];
    int n = 0;
    cols[n++] = (h5log_col){"episode", H5LOG_I64, 1};
    for (int k = 0; k < F64_COLS; k++)
        cols[n++] = (h5log_col){"", H5LOG_F64, 1};
    for (int k = 0; k < F64_COLS; k++)
        snprintf(cols[1 + k].name, sizeof cols[1 + k].name, "%s", f64_cols[k]);
    cols[n++] = (h5log_col){"w_bits", H5LOG_I64, sl->nplanned};
    cols[n++] = (h5log_col){"a_bits", H5LOG_I64, sl->nplanned};
    cols[n++] = (h5log_col){"lowered", H5LOG_I64, 1};
    cols[n++] = (h5log_col){"actions", H5LOG_F64, sl->nsteps};
    int rc = h5log_table_create(&sl->table, sl->log, "/search/episodes", cols, n, 64, 0, err);
    if (rc)
        return rc;
    sl->width = h5log_table_width(sl->table);
    sl->row = calloc((size_t)sl->width, sizeof *sl->row);
    return sl->row ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "out of memory for a row");
}

int exp_search_log_open(exp_search_log *sl, const char *path, const exp_config *cfg,
                        const char *command, const char *layers, int nplanned, int nsteps,
                        qa_err *err)
{
    memset(sl, 0, sizeof *sl);
    sl->nplanned = nplanned;
    sl->nsteps = nsteps;
    snprintf(sl->layers, sizeof sl->layers, "%s", layers);
    int rc = h5log_create(&sl->log, path, err);
    if (rc)
        return rc;
    char *text = NULL;
    cfg_doc d = exp_config_doc((exp_config *)cfg);
    rc = cfg_render(&d, &text, err);
    if (!rc)
        rc = h5log_write_config(sl->log, &d, text, err);
    free(text);
    if (!rc)
        rc = h5log_attr_str(sl->log, "/", "command", command ? command : "", err);
    if (!rc)
        rc = h5log_attr_str(sl->log, "/", "planned_layers", layers, err);
    return rc ? rc : make_table(sl, err);
}

int exp_search_log_append(exp_search_log *sl, const exp_episode *e, qa_err *err)
{
    const double f[F64_COLS] = {e->reward, e->val_acc, e->val_loss, e->cost, e->bitops,
                                e->bytes,  e->sigma,   e->seconds,  e->elapsed};
    h5log_value *v = sl->row;
    *v++ = (h5log_value){.i = e->episode};
    for (int k = 0; k < F64_COLS; k++)
        *v++ = (h5log_value){.f = f[k]};
    for (int l = 0; l < sl->nplanned; l++)
        *v++ = (h5log_value){.i = e->plan.w[l]};
    for (int l = 0; l < sl->nplanned; l++)
        *v++ = (h5log_value){.i = e->plan.a[l]};
    *v++ = (h5log_value){.i = e->lowered};
    for (int t = 0; t < sl->nsteps; t++)
        *v++ = (h5log_value){.f = e->actions[t]};
    int rc = h5log_table_append(sl->table, sl->row, 1, err);
    return rc ? rc : h5log_flush(sl->log, err);
}

/* /search/best_plan: (planned layers, 2) widths with the episode's figures */
static int write_best(exp_search_log *sl, const exp_episode *b, qa_err *err)
{
    int64_t v[2 * Q_MAX_LAYERS];
    for (int l = 0; l < sl->nplanned; l++) {
        v[2 * l] = b->plan.w[l];
        v[2 * l + 1] = b->plan.a[l];
    }
    hsize_t dims[2] = {(hsize_t)sl->nplanned, 2};
    hid_t f = h5log_file(sl->log), space = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(f, "/search/best_plan", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    herr_t w = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(space);
    if (w < 0)
        return exp_h5_fail(h5log_path(sl->log), "cannot write /search/best_plan", err);
    const char *obj = "/search/best_plan";
    int rc = h5log_attr_str(sl->log, obj, "layers", sl->layers, err);
    if (!rc)
        rc = h5log_attr_i64(sl->log, obj, "episode", b->episode, err);
    if (!rc)
        rc = h5log_attr_f64(sl->log, obj, "reward", b->reward, err);
    if (!rc)
        rc = h5log_attr_f64(sl->log, obj, "val_acc", b->val_acc, err);
    if (!rc)
        rc = h5log_attr_f64(sl->log, obj, "cost", b->cost, err);
    return rc;
}

static int write_outcome(exp_search_log *sl, const exp_episode *best, double acc_ref,
                         int64_t episodes, double seconds, qa_err *err)
{
    h5log *l = sl->log;
    int rc = h5log_attr_f64(l, "/", "acc_ref", acc_ref, err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "episodes_completed", episodes, err);
    if (!rc)
        rc = h5log_attr_f64(l, "/", "seconds", seconds, err);
    if (!rc)
        rc = h5log_attr_i64(l, "/", "best_episode", best->episode, err);
    if (!rc && best->episode > 0)
        rc = h5log_attr_f64(l, "/", "best_reward", best->reward, err);
    if (!rc && best->episode > 0)
        rc = h5log_attr_f64(l, "/", "best_acc", best->val_acc, err);
    if (!rc && best->episode > 0)
        rc = h5log_attr_f64(l, "/", "best_cost", best->cost, err);
    if (!rc && best->episode > 0)
        rc = write_best(sl, best, err);
    return rc;
}

int exp_search_log_close(exp_search_log *sl, const exp_episode *best, double acc_ref,
                         int64_t episodes, double seconds, const char *status, int rc,
                         qa_err *err)
{
    free(sl->row);
    sl->row = NULL;
    if (!sl->log)
        return rc;
    qa_err e2 = {0};
    int w = sl->table ? write_outcome(sl, best, acc_ref, episodes, seconds, &e2) : QA_OK;
    if (!rc && w) {
        rc = w;
        *err = e2;
    }
    int f = h5log_finish(sl->log, rc ? "failed" : status, rc ? err->msg : "", rc ? NULL : &e2);
    sl->log = NULL;
    if (!rc && f)
        *err = e2;
    return rc ? rc : f;
}

static const exp_ckpt_type ckpt_types[] = {[AGENT_VAL_F32] = EXP_CKPT_F32,
                                           [AGENT_VAL_F64] = EXP_CKPT_F64,
                                           [AGENT_VAL_I64] = EXP_CKPT_I64};

/* agent_search_state's function, writing (ctx: the checkpoint being made) */
static int put_state(void *ctx, const char *name, agent_val_type type, void *v, size_t n,
                     qa_err *err)
{
    char full[128];
    snprintf(full, sizeof full, "agent.%s", name);
    return exp_ckpt_put(ctx, full, ckpt_types[type], v, n, err);
}

/* ... and reading (ctx: the checkpoint read) */
static int get_state(void *ctx, const char *name, agent_val_type type, void *v, size_t n,
                     qa_err *err)
{
    char full[128];
    snprintf(full, sizeof full, "agent.%s", name);
    return exp_ckpt_get(ctx, full, ckpt_types[type], v, n, err);
}

static int put_best(exp_ckpt *ck, const exp_search_state *st, int nplanned, qa_err *err)
{
    const exp_episode *b = &st->best;
    int64_t w[Q_MAX_LAYERS], a[Q_MAX_LAYERS];
    for (int l = 0; l < nplanned; l++) {
        w[l] = b->plan.w[l];
        a[l] = b->plan.a[l];
    }
    double f[4] = {b->reward, b->val_acc, b->val_loss, b->cost};
    int rc = exp_ckpt_attr_put_i64(ck, ck->file, "best_episode", b->episode, err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, ck->file, "nplanned", nplanned, err);
    if (!rc)
        rc = exp_ckpt_put(ck, "best_figures", EXP_CKPT_F64, f, 4, err);
    if (!rc)
        rc = exp_ckpt_put(ck, "best_w", EXP_CKPT_I64, w, (size_t)nplanned, err);
    if (!rc)
        rc = exp_ckpt_put(ck, "best_a", EXP_CKPT_I64, a, (size_t)nplanned, err);
    return rc;
}

int exp_search_ckpt_save(const char *path, const exp_config *cfg, const exp_search_log *sl,
                         agent_search *agent, const exp_search_state *st, qa_err *err)
{
    exp_ckpt *ck;
    int rc = exp_ckpt_create(&ck, path, err);
    if (rc)
        return rc;
    rc = exp_ckpt_put_config(ck, cfg, err);
    if (!rc)
        rc = exp_ckpt_attr_put_i64(ck, ck->file, "episodes", st->episodes, err);
    if (!rc)
        rc = exp_ckpt_attr_put_f64(ck, ck->file, "acc_ref", st->acc_ref, err);
    if (!rc)
        rc = exp_ckpt_attr_put_f64(ck, ck->file, "elapsed", st->elapsed, err);
    if (!rc)
        rc = put_best(ck, st, sl->nplanned, err);
    if (!rc)
        rc = exp_ckpt_put_tables(ck, sl->log, err);
    if (!rc)
        rc = agent_search_state(agent, put_state, ck, err);
    if (rc) {
        exp_ckpt_close(ck);
        return rc;
    }
    return exp_ckpt_commit(ck, err);
}

static int get_best(exp_ckpt *ck, exp_search_state *st, qa_err *err)
{
    exp_episode *b = &st->best;
    int64_t n = 0, w[Q_MAX_LAYERS], a[Q_MAX_LAYERS];
    double f[4];
    int rc = exp_ckpt_attr_get_i64(ck, ck->file, "/", "best_episode", &b->episode, err);
    if (!rc)
        rc = exp_ckpt_attr_get_i64(ck, ck->file, "/", "nplanned", &n, err);
    if (!rc && (n < 1 || n > Q_MAX_LAYERS))
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: %lld planned layers", ck->path, (long long)n);
    if (!rc)
        rc = exp_ckpt_get(ck, "best_figures", EXP_CKPT_F64, f, 4, err);
    if (!rc)
        rc = exp_ckpt_get(ck, "best_w", EXP_CKPT_I64, w, (size_t)n, err);
    if (!rc)
        rc = exp_ckpt_get(ck, "best_a", EXP_CKPT_I64, a, (size_t)n, err);
    if (rc)
        return rc;
    b->reward = f[0];
    b->val_acc = f[1];
    b->val_loss = f[2];
    b->cost = f[3];
    b->plan.n = (int)n;
    for (int l = 0; l < n; l++) {
        b->plan.w[l] = (int)w[l];
        b->plan.a[l] = (int)a[l];
    }
    return QA_OK;
}

/* A resume may raise the episodes; the out dir is where the checkpoint is;
 * results do not depend on the thread count. */
static const char *const search_may_change[] = {"search.episodes", "experiment.out_dir",
                                                "experiment.threads", "experiment.memory_mb",
                                                NULL};

int exp_search_ckpt_open(exp_ckpt **out, const char *path, const exp_config *cfg,
                         exp_search_state *st, qa_err *err)
{
    exp_ckpt *ck;
    memset(st, 0, sizeof *st);
    int rc = exp_ckpt_read(&ck, path, err);
    if (rc)
        return rc;
    rc = exp_ckpt_check_config(ck, cfg, search_may_change,
                               "only search.episodes, experiment.threads and the out dir may "
                               "change",
                               err);
    if (!rc)
        rc = exp_ckpt_verify_group(ck, ck->file, "", err);
    if (!rc)
        rc = exp_ckpt_attr_get_i64(ck, ck->file, "/", "episodes", &st->episodes, err);
    if (!rc)
        rc = exp_ckpt_attr_get_f64(ck, ck->file, "/", "acc_ref", &st->acc_ref, err);
    if (!rc)
        rc = exp_ckpt_attr_get_f64(ck, ck->file, "/", "elapsed", &st->elapsed, err);
    if (!rc && (st->episodes < 1 || st->episodes > cfg->search.episodes))
        rc = qa_fail(err, QA_ERR_CONFIG, "resume refused: the checkpoint %s has %lld episodes "
                     "done, more than search.episodes = %d", path, (long long)st->episodes,
                     cfg->search.episodes);
    if (!rc)
        rc = get_best(ck, st, err);
    if (rc) {
        exp_ckpt_close(ck);
        return rc;
    }
    *out = ck;
    return QA_OK;
}

int exp_search_ckpt_restore(exp_ckpt *ck, exp_search_log *sl, agent_search *agent, qa_err *err)
{
    int rc = exp_ckpt_get_tables(ck, sl->log, err);
    if (!rc)
        rc = agent_search_state(agent, get_state, ck, err);
    if (!rc && h5log_table_rows(sl->table) != agent->episode)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: %lld rows for an agent after %lld episodes",
                     ck->path, (long long)h5log_table_rows(sl->table),
                     (long long)agent->episode);
    return rc;
}
