/* grid.c: the corruption grid: one env mix per cell (a single corruption at
 * a single severity, or clean), the method's eval step over the test set,
 * the /eval/grid table and the mCE summaries. */
#include "experiments/run/grid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/mix.h"
#include "experiments/io/h5util.h"
#include "experiments/io/runfile.h"
#include "experiments/run/run.h"
#include "quant/qcfg.h"

/* env_round_eval tag of the grid; run_env.c uses 0 (test) and 1 (validation) */
enum { GRID_ROUND = 2 };

typedef struct {
    int id, sev; /* corruption id (ENV_CLEAN for the clean cell), severity (0 clean) */
    long n, correct;
    double loss, bitops;
    double *w, *a; /* (L) sums over samples of the mean widths */
} grid_cell;

typedef struct {
    exp_run *r;
    grid_cell *cells;
    int ncells;
    int L; /* planned layers the method reports widths of (0: none) */
    int *idx;   /* (batch) dataset indices of a batch */
    float *mw, *ma; /* (Q_MAX_LAYERS) the method's widths of a batch */
    double *sums; /* (ncells * 2L) */
} grid;

static int make_cells(grid *g, qa_err *err)
{
    const exp_config *c = g->r->cfg;
    int ids[ENV_NCORRUPTION], nid = 0;
    if (c->eval.grid_corruptions.n > 0) {
        for (int i = 0; i < c->eval.grid_corruptions.n; i++)
            ids[nid++] = c->eval.grid_corruptions.v[i];
    } else { /* every available corruption that changes these images */
        for (int id = 0; id < ENV_NCORRUPTION; id++)
            if (env_corruption_get(id)->available &&
                !env_corruption_is_identity(id, g->r->train_set.c))
                ids[nid++] = id;
    }
    int nsev = c->eval.grid_severities.n;
    g->ncells = 1 + nid * nsev;
    g->cells = calloc((size_t)g->ncells, sizeof *g->cells);
    g->sums = calloc((size_t)g->ncells * 2 * Q_MAX_LAYERS, sizeof *g->sums);
    if (!g->cells || !g->sums)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for %d grid cells", g->ncells);
    g->cells[0].id = ENV_CLEAN;
    for (int i = 0; i < nid; i++)
        for (int s = 0; s < nsev; s++)
            g->cells[1 + i * nsev + s] = (grid_cell){.id = ids[i], .sev = c->eval.grid_severities.v[s]};
    for (int k = 0; k < g->ncells; k++) {
        g->cells[k].w = g->sums + (size_t)k * 2 * Q_MAX_LAYERS;
        g->cells[k].a = g->cells[k].w + Q_MAX_LAYERS;
    }
    return QA_OK;
}

/* The cell's mix: its corruption at its severity for every sample, or none. */
static int cell_mix(grid *g, const grid_cell *cell, env_mix **mix, qa_err *err)
{
    const exp_run *r = g->r;
    const exp_config *c = r->cfg;
    env_mix_cfg m;
    memset(&m, 0, sizeof m);
    m.ncorr = cell->id >= 0;
    m.corr[0] = cell->id;
    m.nsev = 1;
    m.sev[0] = cell->sev > 0 ? cell->sev : 1;
    m.clean_fraction = cell->id >= 0 ? 0 : 1;
    m.table = (env_table)c->env.table;
    m.schedule = ENV_SCHEDULE_FIXED;
    m.features = r->batch.nfeat > 0 ? (env_feat_mode)c->env.features : ENV_FEAT_NONE;
    return env_mix_create(mix, &m, (uint64_t)c->eval.grid_seed, r->test_set.h, r->test_set.w,
                          r->test_set.c, err);
}

/* Mean BitOps and widths of the batch just evaluated: the method's; for a
 * method that does not report them, a float model's MACs x 32 x 32 when it
 * does not wrap the network, else unknown (NaN). */
static void batch_cost(grid *g, grid_cell *cell, exp_batch *b)
{
    exp_run *r = g->r;
    double bitops = r->method->wrap ? NAN : (double)nn_net_macs(r->net) * 32.0 * 32.0;
    int L = 0;
    if (r->method->eval_cost)
        L = r->method->eval_cost(r, r->mstate, b, &bitops, g->mw, g->ma);
    L = L < Q_MAX_LAYERS ? L : Q_MAX_LAYERS;
    g->L = L > g->L ? L : g->L;
    cell->bitops += bitops * b->n;
    for (int l = 0; l < L; l++) {
        cell->w[l] += (double)g->mw[l] * b->n;
        cell->a[l] += (double)g->ma[l] * b->n;
    }
}

static int eval_cell(grid *g, grid_cell *cell, qa_err *err)
{
    exp_run *r = g->r;
    exp_batch *b = &r->batch;
    int ntest = r->test_loader.n, bs = r->cfg->eval.batch ? r->cfg->eval.batch : r->cfg->train.batch;
    const exp_eval ev = {EXP_EVAL_GRID, cell->id, cell->sev};
    env_mix *mix;
    int rc = cell_mix(g, cell, &mix, err);
    for (int start = 0; !rc && start < ntest && !exp_run_stopping(r); start += bs) {
        int n = ntest - start < bs ? ntest - start : bs;
        for (int j = 0; j < n; j++)
            g->idx[j] = start + j;
        exp_batch_stage(b, &r->test_set, g->idx, n, 0, r->epoch);
        rc = env_mix_apply(mix, b->px, n, b->index, env_round_eval(GRID_ROUND), b->corruption,
                           b->severity, b->features, err);
        if (rc)
            break;
        exp_batch_to_input(b, r->mean, r->std, nn_net_input(r->net));
        exp_stats s = {0};
        rc = exp_run_eval_step(r, &ev, b, &s, err);
        if (rc)
            break;
        cell->n += s.n;
        cell->correct += s.correct;
        cell->loss += s.loss_sum;
        batch_cost(g, cell, b);
    }
    if (mix)
        env_mix_free(mix);
    return rc;
}

/* The table's row layout in memory: name pointer, then 8-byte values. */
typedef struct {
    size_t size, off_id, off_vals;
} row_layout;

static hid_t grid_type(int L, row_layout *lay)
{
    static const char *const ints[] = {"corruption_id", "severity", "n"};
    static const char *const dbls[] = {"accuracy", "loss", "bitops"};
    lay->off_id = sizeof(char *);
    lay->off_vals = lay->off_id + 3 * sizeof(int64_t);
    lay->size = lay->off_vals + (size_t)(3 + 2 * L) * sizeof(double);
    hid_t t = H5Tcreate(H5T_COMPOUND, lay->size), s = exp_h5_str_type();
    H5Tinsert(t, "corruption", 0, s);
    H5Tclose(s);
    for (int i = 0; i < 3; i++)
        H5Tinsert(t, ints[i], lay->off_id + (size_t)i * sizeof(int64_t), H5T_NATIVE_INT64);
    for (int i = 0; i < 3; i++)
        H5Tinsert(t, dbls[i], lay->off_vals + (size_t)i * sizeof(double), H5T_NATIVE_DOUBLE);
    if (L > 0) {
        hsize_t n = (hsize_t)L;
        hid_t arr = H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &n);
        H5Tinsert(t, "w_bits", lay->off_vals + 3 * sizeof(double), arr);
        H5Tinsert(t, "a_bits", lay->off_vals + (size_t)(3 + L) * sizeof(double), arr);
        H5Tclose(arr);
    }
    return t;
}

static double ratio(double a, long n)
{
    return n > 0 ? a / (double)n : NAN;
}

static void fill_row(const grid *g, const grid_cell *cell, const row_layout *lay, char *row)
{
    const char *name = cell->id >= 0 ? env_corruption_get(cell->id)->name : "clean";
    int64_t ints[3] = {cell->id, cell->sev, cell->n};
    double v[3] = {ratio((double)cell->correct, cell->n), ratio(cell->loss, cell->n),
                   ratio(cell->bitops, cell->n)};
    memcpy(row, &name, sizeof name);
    memcpy(row + lay->off_id, ints, sizeof ints);
    memcpy(row + lay->off_vals, v, sizeof v);
    double *w = (double *)(void *)(row + lay->off_vals + 3 * sizeof(double));
    for (int l = 0; l < g->L; l++) {
        w[l] = ratio(cell->w[l], cell->n);
        w[g->L + l] = ratio(cell->a[l], cell->n);
    }
}

static int write_table(grid *g, qa_err *err)
{
    row_layout lay;
    hid_t t = grid_type(g->L, &lay);
    char *rows = calloc((size_t)g->ncells, lay.size);
    int rc = QA_OK;
    if (!rows)
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory for /eval/grid");
    for (int k = 0; !rc && k < g->ncells; k++)
        fill_row(g, &g->cells[k], &lay, rows + (size_t)k * lay.size);
    if (!rc) {
        hsize_t n = (hsize_t)g->ncells;
        hid_t space = H5Screate_simple(1, &n, NULL), lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        hid_t ds = H5Dcreate2(h5log_file(g->r->log), "/eval/grid", t, space, lcpl, H5P_DEFAULT,
                              H5P_DEFAULT);
        herr_t w = ds < 0 ? -1 : H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
        if (ds >= 0 && H5Dclose(ds) < 0) /* what a full disk fails at */
            w = -1;
        if (w < 0) /* before any other call clears HDF5's error stack */
            rc = exp_h5_fail(h5log_path(g->r->log), "cannot write /eval/grid", err);
        H5Pclose(lcpl);
        H5Sclose(space);
    }
    free(rows);
    H5Tclose(t);
    return rc;
}

exp_mce exp_grid_mce(const exp_grid_cells *run, const exp_grid_cells *ref, int *skipped)
{
    const int *id = run->id, *sev = run->sev, *rid = ref->id, *rsev = ref->sev;
    const double *acc = run->acc, *racc = ref->acc;
    int n = run->n, nref = ref->n, nce = 0, nrce = 0;
    double clean = NAN, rclean = NAN, ce = 0, rce = 0;
    exp_mce out = {NAN, NAN, 0};
    for (int i = 0; i < n; i++)
        if (id[i] < 0)
            clean = 1 - acc[i];
    for (int j = 0; j < nref; j++)
        if (rid[j] < 0)
            rclean = 1 - racc[j];
    for (int i = 0; i < n; i++) {
        int first = id[i] >= 0;
        for (int k = 0; k < i && first; k++)
            first = id[k] != id[i];
        if (!first)
            continue;
        double e = 0, er = 0, d = 0, dr = 0;
        int all = 1;
        for (int k = i; k < n && all; k++) {
            if (id[k] != id[i])
                continue;
            int j = 0;
            while (j < nref && !(rid[j] == id[k] && rsev[j] == sev[k]))
                j++;
            all = j < nref;
            if (all) {
                e += 1 - acc[k];
                er += 1 - racc[j];
                d += (1 - acc[k]) - clean;
                dr += (1 - racc[j]) - rclean;
            }
        }
        if (!all || er <= 0)
            continue;
        ce += e / er;
        nce++;
        if (dr != 0) {
            rce += d / dr;
            nrce++;
        } else { /* one such corruption would make the whole mean NaN */
            if (skipped)
                skipped[out.nskipped] = id[i];
            out.nskipped++;
        }
    }
    out.mce = nce ? ce / nce : NAN;
    out.rel = nrce ? rce / nrce : NAN;
    return out;
}

/* The cells of the reference run file's grid: *ids gets n corruption ids
 * then n severities, *acc n accuracies (both malloc'd). A file that
 * cannot be used leaves them NULL and says why; only a failed allocation
 * is an error. */
static int read_reference(const char *ref, int **ids, double **acc, int *n, char *why,
                          size_t nwhy, qa_err *err)
{
    hid_t f;
    qa_err e = {0};
    double *rid = NULL, *rsev = NULL;
    int cnt, rc = QA_OK;
    *ids = NULL;
    if (exp_rf_open(&f, ref, &e)) {
        snprintf(why, nwhy, "%s", e.msg);
        return QA_OK;
    }
    if (exp_rf_column(f, "/eval/grid", "corruption_id", &rid, n, &cnt) ||
        exp_rf_column(f, "/eval/grid", "severity", &rsev, n, &cnt) ||
        exp_rf_column(f, "/eval/grid", "accuracy", acc, n, &cnt))
        snprintf(why, nwhy, "%s: no /eval/grid table", ref);
    exp_rf_close(f);
    int *ri = why[0] ? NULL : malloc((size_t)(*n ? *n : 1) * 2 * sizeof *ri);
    if (!why[0] && !ri)
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory for the mCE against %s", ref);
    for (int j = 0; ri && j < *n; j++) {
        /* a foreign or damaged file's values: (int) of NaN or 1e300 is undefined */
        if (!(fabs(rid[j]) < 1e6 && fabs(rsev[j]) < 1e6)) {
            snprintf(why, nwhy, "%s: /eval/grid row %d: corruption id %g, severity %g are not "
                     "a grid cell's", ref, j, rid[j], rsev[j]);
            free(ri);
            ri = NULL;
            break;
        }
        ri[j] = (int)rid[j];
        ri[*n + j] = (int)rsev[j];
    }
    free(rid);
    free(rsev);
    if (!ri) {
        free(*acc);
        *acc = NULL;
    }
    *ids = ri;
    return rc;
}

/* A mistyped or unusable [eval] reference was noticed only after the grid,
 * with a note and exit 0; it is refused before anything is trained. */
static int check_reference(const exp_run *r, qa_err *err)
{
    const char *ref = r->cfg->eval.reference;
    int *ids = NULL, n = 0;
    double *acc = NULL;
    char why[1200] = "", where[400];
    int rc = ref[0] ? read_reference(ref, &ids, &acc, &n, why, sizeof why, err) : QA_OK;
    free(ids);
    free(acc);
    if (rc || !why[0])
        return rc;
    exp_config_key_where(r->cfg, "eval", "reference", where, sizeof where);
    return qa_fail(err, QA_ERR_CONFIG, "%s: %s (a finished run file with an /eval/grid, e.g. "
                   "one `qadapt eval` wrote)", where, why);
}

int exp_grid_check(const exp_run *r, qa_err *err)
{
    const cfg_name_list *l = &r->cfg->eval.grid_corruptions;
    int c = r->train_set.c;
    for (int i = 0; i < l->n; i++) {
        if (!env_corruption_is_identity(l->v[i], c))
            continue;
        char where[400];
        exp_config_key_where(r->cfg, "eval", "grid_corruptions", where, sizeof where);
        return qa_fail(err, QA_ERR_CONFIG, "%s: %s is the identity on %d-channel images: leave "
                       "it out (its cells would be clean images)", where,
                       env_corruption_get(l->v[i])->name, c);
    }
    return check_reference(r, err);
}

/* mCE against [eval] reference; a reference that cannot be used leaves
 * NaN and says why in reference_error (the trained run stays complete). */
static int write_mce(grid *g, const double *acc, qa_err *err)
{
    const char *ref = g->r->cfg->eval.reference;
    h5log *log = g->r->log;
    double mce = NAN, rel = NAN;
    char why[1200] = "", skipped[1024] = "";
    int *id = malloc((size_t)g->ncells * 3 * sizeof *id), nskip = 0;
    if (!id)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the mCE of %d cells", g->ncells);
    for (int k = 0; k < g->ncells; k++) {
        id[k] = g->cells[k].id;
        id[g->ncells + k] = g->cells[k].sev;
    }
    int *ri = NULL, n = 0, rc = QA_OK;
    double *racc = NULL;
    if (ref[0])
        rc = read_reference(ref, &ri, &racc, &n, why, sizeof why, err);
    if (ri) {
        int *skip = id + 2 * g->ncells;
        exp_grid_cells mine = {id, id + g->ncells, acc, g->ncells}, theirs = {ri, ri + n, racc, n};
        exp_mce m = exp_grid_mce(&mine, &theirs, skip);
        mce = m.mce;
        rel = m.rel;
        nskip = m.nskipped;
        if (isnan(mce))
            snprintf(why, sizeof why, "%s: no corruption with all its cells in both grids", ref);
        for (int i = 0, used = 0; i < nskip && used < (int)sizeof skipped; i++)
            used += snprintf(skipped + used, sizeof skipped - (size_t)used, "%s%s", i ? "," : "",
                             env_corruption_get(skip[i])->name);
    }
    free(ri);
    free(racc);
    free(id);
    if (!rc)
        rc = h5log_attr_f64(log, "/eval/grid", "mce", mce, err);
    if (!rc)
        rc = h5log_attr_f64(log, "/eval/grid", "rel_mce", rel, err);
    if (!rc) /* left out of rel_mce: the reference's error does not rise on them */
        rc = h5log_attr_str(log, "/eval/grid", "rel_mce_skipped", skipped, err);
    if (!rc)
        rc = h5log_attr_str(log, "/eval/grid", "reference", ref, err);
    if (!rc)
        rc = h5log_attr_str(log, "/eval/grid", "reference_error", why, err);
    if (why[0] && g->r->opts->progress)
        fprintf(g->r->opts->progress, "grid: no mCE: %s\n", why);
    if (skipped[0] && g->r->opts->progress)
        fprintf(g->r->opts->progress, "grid: relative mCE without %s (no rise of the "
                "reference's error on them)\n", skipped);
    return rc;
}

static int write_summary(grid *g, qa_err *err)
{
    h5log *log = g->r->log;
    const exp_config *c = g->r->cfg;
    double *acc = malloc((size_t)g->ncells * sizeof *acc), sum = 0;
    if (!acc)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the grid summary");
    for (int k = 0; k < g->ncells; k++) {
        acc[k] = ratio((double)g->cells[k].correct, g->cells[k].n);
        sum += k ? acc[k] : 0;
    }
    const grid_cell *clean = &g->cells[0];
    int rc = h5log_attr_f64(log, "/eval/grid", "clean_acc", acc[0], err);
    if (!rc)
        rc = h5log_attr_f64(log, "/eval/grid", "clean_loss", ratio(clean->loss, clean->n), err);
    if (!rc)
        rc = h5log_attr_f64(log, "/eval/grid", "clean_bitops", ratio(clean->bitops, clean->n), err);
    if (!rc)
        rc = h5log_attr_f64(log, "/eval/grid", "mean_corrupted_acc",
                            g->ncells > 1 ? sum / (g->ncells - 1) : NAN, err);
    if (!rc)
        rc = h5log_attr_i64(log, "/eval/grid", "grid_seed", c->eval.grid_seed, err);
    if (!rc)
        rc = h5log_attr_str(log, "/eval/grid", "table", env_table_name((env_table)c->env.table),
                            err);
    if (!rc)
        rc = h5log_attr_str(log, "/eval/grid", "features",
                            g->r->batch.nfeat > 0 ? env_feat_mode_name((env_feat_mode)c->env.features)
                                                  : "none", err);
    if (!rc)
        rc = write_mce(g, acc, err);
    free(acc);
    return rc;
}

static void progress(const grid *g, int k, double t0)
{
    FILE *f = g->r->opts->progress;
    const grid_cell *c = &g->cells[k];
    if (!f)
        return;
    fprintf(f, "grid %d/%d: %-18s severity %d  acc %.2f%%  loss %.4f  %.1fs\n", k + 1, g->ncells,
            c->id >= 0 ? env_corruption_get(c->id)->name : "clean", c->sev,
            100 * ratio((double)c->correct, c->n), ratio(c->loss, c->n), exp_now() - t0);
    fflush(f);
}

int exp_grid_run(exp_run *r, qa_err *err)
{
    grid g = {.r = r};
    int bs = r->cfg->eval.batch ? r->cfg->eval.batch : r->cfg->train.batch;
    g.idx = malloc((size_t)bs * sizeof *g.idx);
    g.mw = calloc(Q_MAX_LAYERS, sizeof *g.mw);
    g.ma = calloc(Q_MAX_LAYERS, sizeof *g.ma);
    int rc = g.idx && g.mw && g.ma ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "out of memory for the grid");
    if (!rc)
        rc = make_cells(&g, err);
    double t0 = exp_now();
    for (int k = 0; !rc && k < g.ncells; k++) {
        rc = eval_cell(&g, &g.cells[k], err);
        if (!rc && exp_run_stopping(r))
            rc = qa_fail(err, QA_ERR_INTERRUPTED, "the grid evaluation was interrupted");
        if (!rc)
            progress(&g, k, t0);
    }
    if (!rc)
        rc = write_table(&g, err);
    if (!rc)
        rc = write_summary(&g, err);
    if (rc && rc != QA_ERR_INTERRUPTED)
        qa_err_prefix(err, "grid evaluation: ");
    free(g.idx);
    free(g.mw);
    free(g.ma);
    free(g.cells);
    free(g.sums);
    return rc;
}
