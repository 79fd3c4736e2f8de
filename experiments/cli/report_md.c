/* report_md.c: `qadapt report --markdown`: a study's sweep folders as the
 * Markdown of docs/RESULTS.md (report.h). Every number comes from a
 * complete point's run file, and the report names those files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/cli/report.h"
#include "experiments/cli/signif.h"
#include "experiments/io/runfile.h"

enum { MD_MAX_CELLS = 128, MD_MAX_ARMS = 64, MD_NCOL = 6, MD_MAX_LAYERS = 32 };

/* One cell of a run's /eval/grid. */
typedef struct {
    char name[40]; /* the corruption, "clean" */
    int sev;       /* 0: clean */
    double acc;
    double w[MD_MAX_LAYERS]; /* mean weight width of each planned layer */
} md_cell;

/* One complete run: what its table row and tests need. */
typedef struct {
    char path[1400], label[64], group[64], arch[64];
    int seed, arm;
    double col[MD_NCOL]; /* clean, mixed, grid (fractions), bitops (/ 8 x 8), bytes, seconds */
    int ncells, nlayers; /* grid cells, planned layers with widths in the grid */
    md_cell cell[MD_MAX_CELLS];
} md_run;

/* An arm: one label of one group of one model, and its runs. */
typedef struct {
    char label[64], group[64], arch[64];
    int runs[64], n;
    double mean[MD_NCOL], sd[MD_NCOL];
} md_arm;

typedef struct {
    md_run *run;
    int nrun, caprun;
    md_arm arm[MD_MAX_ARMS];
    int narm;
} md_study;

static const char *const col_head[MD_NCOL] = {"clean %", "mixed %", "grid mean %",
                                              "BitOps / 8-bit", "weights (KB)", "time (s)"};
static const int col_higher[MD_NCOL] = {1, 1, 1, 0, 0, 0}; /* higher is better */

static void ini_str(const char *ini, const char *sec, const char *key, char *buf, size_t n,
                    const char *def)
{
    if (!ini || exp_rf_ini_value(ini, sec, key, buf, n) != 0 || !buf[0])
        snprintf(buf, n, "%s", def);
}

/* The mean of a column's last row, NaN when absent. */
static double last_value(hid_t h, const char *col)
{
    double *v = NULL, x = NAN;
    int rows, count;
    if (exp_rf_column(h, "/train/epochs", col, &v, &rows, &count) == 0 && rows > 0)
        x = v[(rows - 1) * count];
    free(v);
    return x;
}

/* The cells of /eval/grid, and the corrupted ones' mean BitOps over 8 x 8 bits. */
static void read_cells(hid_t h, md_run *r)
{
    char **names = NULL;
    double *sev = NULL, *acc = NULL, *bops = NULL, *w = NULL;
    int n = 0, m, cnt, L = 0;
    exp_rf_str_column(h, "/eval/grid", "corruption", &names, &n);
    exp_rf_column(h, "/eval/grid", "severity", &sev, &m, &cnt);
    exp_rf_column(h, "/eval/grid", "accuracy", &acc, &m, &cnt);
    exp_rf_column(h, "/eval/grid", "bitops", &bops, &m, &cnt);
    exp_rf_column(h, "/eval/grid", "w_bits", &w, &m, &L);
    r->nlayers = w && L <= MD_MAX_LAYERS ? L : 0;
    double sum = 0, ref = 64 * exp_rf_num(h, "/", "macs_per_sample");
    int k = 0;
    for (int i = 0; names && sev && acc && i < n && r->ncells < MD_MAX_CELLS; i++) {
        md_cell *c = &r->cell[r->ncells++];
        snprintf(c->name, sizeof c->name, "%s", names[i]);
        c->sev = (int)sev[i];
        c->acc = acc[i];
        for (int l = 0; l < r->nlayers; l++)
            c->w[l] = w[(size_t)i * L + l];
        if (bops && sev[i] > 0) {
            sum += bops[i];
            k++;
        }
    }
    r->col[3] = k ? sum / k / ref : NAN;
    exp_rf_free_strings(names, n);
    free(sev);
    free(acc);
    free(bops);
    free(w);
}

static int read_run(md_run *r, const char *path, qa_err *err)
{
    hid_t h;
    memset(r, 0, sizeof *r);
    int rc = exp_rf_open_run(&h, path, err);
    if (rc)
        return rc;
    snprintf(r->path, sizeof r->path, "%s", path);
    char *ini = exp_rf_config(h), method[64], seed[32];
    ini_str(ini, "experiment", "method", method, sizeof method, "?");
    ini_str(ini, "experiment", "label", r->label, sizeof r->label, method);
    ini_str(ini, "experiment", "group", r->group, sizeof r->group, "-");
    ini_str(ini, "model", "arch", r->arch, sizeof r->arch, "?");
    ini_str(ini, "experiment", "seed", seed, sizeof seed, "0");
    free(ini);
    r->seed = atoi(seed);
    r->col[0] = exp_rf_num(h, "/eval/grid", "clean_acc");
    r->col[1] = exp_rf_num(h, "/", "test_acc");
    r->col[2] = exp_rf_num(h, "/eval/grid", "mean_corrupted_acc");
    double bytes = last_value(h, "weight_bytes");
    r->col[4] = (isnan(bytes) ? 4 * exp_rf_num(h, "/", "params") : bytes) / 1024;
    r->col[5] = exp_rf_num(h, "/", "seconds");
    read_cells(h, r);
    exp_rf_close(h);
    return QA_OK;
}

/* The arm of r (made when new), or -1 when the table is full. */
static int arm_of(md_study *s, const md_run *r)
{
    for (int a = 0; a < s->narm; a++) {
        md_arm *m = &s->arm[a];
        if (!strcmp(m->label, r->label) && !strcmp(m->group, r->group) &&
            !strcmp(m->arch, r->arch))
            return a;
    }
    if (s->narm == MD_MAX_ARMS)
        return -1;
    md_arm *m = &s->arm[s->narm];
    memset(m, 0, sizeof *m);
    snprintf(m->label, sizeof m->label, "%s", r->label);
    snprintf(m->group, sizeof m->group, "%s", r->group);
    snprintf(m->arch, sizeof m->arch, "%s", r->arch);
    return s->narm++;
}

static int add_run(md_study *s, const char *path, qa_err *err)
{
    if (s->nrun == s->caprun) {
        int cap = s->caprun ? 2 * s->caprun : 32;
        md_run *v = realloc(s->run, (size_t)cap * sizeof *v);
        if (!v)
            return qa_fail(err, QA_ERR_NOMEM, "out of memory for %d runs", cap);
        s->run = v;
        s->caprun = cap;
    }
    md_run *r = &s->run[s->nrun];
    int rc = read_run(r, path, err);
    if (rc)
        return rc;
    int a = arm_of(s, r);
    if (a < 0 || s->arm[a].n == 64)
        return qa_fail(err, QA_ERR_FORMAT, "%s: more than %d arms or 64 seeds an arm", path,
                       MD_MAX_ARMS);
    r->arm = a;
    s->arm[a].runs[s->arm[a].n++] = s->nrun++;
    return QA_OK;
}

/* Every complete point of dir's index.csv. */
static int read_sweep(md_study *s, const char *dir, qa_err *err)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/index.csv", dir);
    exp_csv *t = malloc(sizeof *t);
    if (!t)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory");
    int rc = exp_csv_read(path, t, err);
    int status = exp_csv_col(t, "status"), run = exp_csv_col(t, "run");
    if (!rc && (status < 0 || run < 0))
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: not a sweep index (no status/run columns)", path);
    for (int i = 0; !rc && i < t->rows; i++) {
        if (strcmp(t->cell[i][status], "complete") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, t->cell[i][run]);
        rc = add_run(s, path, err);
    }
    free(t->cell);
    free(t);
    return rc;
}

static void arm_stats(md_study *s, md_arm *m)
{
    for (int c = 0; c < MD_NCOL; c++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < m->n; i++)
            sum += s->run[m->runs[i]].col[c];
        m->mean[c] = sum / m->n;
        for (int i = 0; i < m->n; i++) {
            double d = s->run[m->runs[i]].col[c] - m->mean[c];
            sq += d * d;
        }
        m->sd[c] = m->n > 1 ? sqrt(sq / (m->n - 1)) : NAN;
    }
}

/* The arms of the table that arm a opens (same model and group), into in. */
static int table_arms(const md_study *s, int a, int *in)
{
    int n = 0;
    for (int b = 0; b < s->narm; b++)
        if (!strcmp(s->arm[b].arch, s->arm[a].arch) && !strcmp(s->arm[b].group, s->arm[a].group))
            in[n++] = b;
    return n;
}

static int best_of(const md_study *s, const int *in, int n, int c, int skip)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        double v = s->arm[in[i]].mean[c];
        if (in[i] == skip || isnan(v))
            continue;
        double b = best < 0 ? NAN : s->arm[best].mean[c];
        if (best < 0 || (col_higher[c] ? v > b : v < b))
            best = in[i];
    }
    return best;
}

static void fmt_cell(char *buf, size_t n, const md_arm *m, int c, int bold)
{
    double k = c < 3 ? 100 : 1, v = m->mean[c] * k, sd = m->sd[c] * k;
    const char *fmt = c == 3 ? "%.4f" : c == 5 ? "%.0f" : c == 4 ? "%.1f" : "%.2f";
    char a[32], b[40] = "", e[32];
    snprintf(a, sizeof a, fmt, v);
    snprintf(e, sizeof e, fmt, sd);
    if (c != 4 && !isnan(sd))
        snprintf(b, sizeof b, " ± %s", e);
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%s%s%s%s", bold ? "**" : "", a, bold ? "**" : "", b);
}

static void print_table(FILE *f, const md_study *s, const int *in, int n)
{
    fprintf(f, "| method | seeds |");
    for (int c = 0; c < MD_NCOL; c++)
        fprintf(f, " %s |", col_head[c]);
    fprintf(f, "\n|---|---|");
    for (int c = 0; c < MD_NCOL; c++)
        fprintf(f, "---|");
    fputc('\n', f);
    int best[MD_NCOL];
    for (int c = 0; c < MD_NCOL; c++)
        best[c] = best_of(s, in, n, c, -1);
    for (int i = 0; i < n; i++) {
        const md_arm *m = &s->arm[in[i]];
        fprintf(f, "| %s | %d |", m->label, m->n);
        for (int c = 0; c < MD_NCOL; c++) {
            char b[96];
            fmt_cell(b, sizeof b, m, c, n > 1 && best[c] == in[i]);
            fprintf(f, " %s |", b);
        }
        fputc('\n', f);
    }
}

/* Differences of grid-cell accuracy, arm a minus arm b, over the seeds
 * both ran and the cells both have, into d (room for max). */
static int pair_diffs(const md_study *s, int a, int b, double *d, int max)
{
    int n = 0;
    for (int i = 0; i < s->arm[a].n; i++) {
        const md_run *x = &s->run[s->arm[a].runs[i]];
        for (int j = 0; j < s->arm[b].n; j++) {
            const md_run *y = &s->run[s->arm[b].runs[j]];
            if (y->seed != x->seed)
                continue;
            for (int c = 0; c < x->ncells; c++)
                for (int e = 0; e < y->ncells && n < max; e++)
                    if (x->cell[c].sev > 0 && x->cell[c].sev == y->cell[e].sev &&
                        !strcmp(x->cell[c].name, y->cell[e].name))
                        d[n++] = x->cell[c].acc - y->cell[e].acc;
        }
    }
    return n;
}

/* Each arm against the best other arm by grid mean. */
static int print_tests(FILE *f, const md_study *s, const int *in, int n, qa_err *err)
{
    enum { MAXD = 64 * MD_MAX_CELLS };
    double *d = malloc(MAXD * sizeof *d);
    if (!d)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory");
    fprintf(f, "\nPaired over seeds and corrupted grid cells, each method against the best "
               "other by grid mean:\n\n| method | against | pairs | mean diff (points) | "
               "wins / losses | sign test p | Wilcoxon p |\n|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        int o = best_of(s, in, n, 2, in[i]);
        if (o < 0)
            continue;
        int k = pair_diffs(s, in[i], o, d, MAXD), w = 0, l = 0;
        double sum = 0;
        for (int j = 0; j < k; j++) {
            sum += d[j];
            w += d[j] > 0;
            l += d[j] < 0;
        }
        exp_wilcoxon wt;
        if (exp_wilcoxon_test(d, k, &wt)) {
            free(d);
            return qa_fail(err, QA_ERR_NOMEM, "out of memory");
        }
        fprintf(f, "| %s | %s | %d | %+.2f | %d / %d | %.3g | %.3g |\n", s->arm[in[i]].label,
                s->arm[o].label, k, k ? 100 * sum / k : NAN, w, l, exp_sign_test(w, l), wt.p);
    }
    free(d);
    return QA_OK;
}

/* Spearman's rho of severity (the clean cell 0) and planned layer l's mean
 * weight width over the cells of corruption name in run r. */
static double run_rho(const md_run *r, const char *name, int l)
{
    double x[MD_MAX_CELLS], y[MD_MAX_CELLS];
    int n = 0;
    for (int c = 0; c < r->ncells; c++)
        if (r->cell[c].sev == 0 || !strcmp(r->cell[c].name, name)) {
            x[n] = r->cell[c].sev;
            y[n++] = r->cell[c].w[l];
        }
    return exp_spearman(x, y, n);
}

/* The arm's mean over seeds of run_rho, NaN when no seed has one. */
static double arm_rho(const md_study *s, const md_arm *m, const char *name, int l)
{
    double sum = 0;
    int k = 0;
    for (int i = 0; i < m->n; i++) {
        const md_run *r = &s->run[m->runs[i]];
        double rho = l < r->nlayers ? run_rho(r, name, l) : NAN;
        if (!isnan(rho)) {
            sum += rho;
            k++;
        }
    }
    return k ? sum / k : NAN;
}

/* Per layer and corruption, how the widths of the arms whose widths vary
 * over the grid follow severity. */
static void print_spearman(FILE *f, const md_study *s, const int *in, int n)
{
    const md_run *first = NULL;
    for (int i = 0; i < n && !first; i++)
        for (int j = 0; j < s->arm[in[i]].n && !first; j++)
            if (s->run[s->arm[in[i]].runs[j]].nlayers)
                first = &s->run[s->arm[in[i]].runs[j]];
    if (!first)
        return;
    const char *names[MD_MAX_CELLS];
    int nn = 0, header = 0;
    for (int c = 0; c < first->ncells; c++) {
        int seen = first->cell[c].sev == 0;
        for (int k = 0; k < nn && !seen; k++)
            seen = !strcmp(names[k], first->cell[c].name);
        if (!seen)
            names[nn++] = first->cell[c].name;
    }
    for (int i = 0; i < n; i++) {
        const md_arm *m = &s->arm[in[i]];
        for (int l = 0; l < first->nlayers; l++) {
            double rho[MD_MAX_CELLS];
            int any = 0;
            for (int k = 0; k < nn; k++)
                any |= !isnan(rho[k] = arm_rho(s, m, names[k], l));
            if (!any)
                continue;
            if (!header++) {
                fprintf(f, "\nWidths against severity (methods whose widths vary over the grid): "
                           "Spearman's rho of each planned layer's mean weight width and the "
                           "severity (the clean cell 0), per corruption, mean over seeds:\n\n"
                           "| method | planned layer |");
                for (int k = 0; k < nn; k++)
                    fprintf(f, " %s |", names[k]);
                fprintf(f, "\n|---|---|");
                for (int k = 0; k < nn; k++)
                    fprintf(f, "---|");
                fputc('\n', f);
            }
            fprintf(f, "| %s | %d |", m->label, l + 1);
            for (int k = 0; k < nn; k++)
                fprintf(f, isnan(rho[k]) ? " - |" : " %+.2f |", rho[k]);
            fputc('\n', f);
        }
    }
}

static void print_files(FILE *f, const md_study *s, const int *in, int n)
{
    fprintf(f, "\n<details><summary>run files</summary>\n\n");
    for (int i = 0; i < n; i++) {
        const md_arm *m = &s->arm[in[i]];
        fprintf(f, "- %s:", m->label);
        for (int j = 0; j < m->n; j++)
            fprintf(f, " seed %d `%s`%s", s->run[m->runs[j]].seed, s->run[m->runs[j]].path,
                    j + 1 < m->n ? "," : "\n");
    }
    fprintf(f, "\n</details>\n");
}

static void print_head(FILE *f, const md_study *s, char *const *dirs, int ndirs)
{
    fprintf(f, "# Results\n\nGenerated by `qadapt report --markdown");
    for (int i = 0; i < ndirs; i++)
        fprintf(f, " %s", dirs[i]);
    fprintf(f, "` from %d complete runs. Per model and group (a BitOps budget), each method's "
               "mean ± sd over seeds: clean test accuracy (the grid's clean cell), mixed (the "
               "mixed-quality test set), grid mean (every corrupted cell of the grid); BitOps "
               "per sample over those of every layer at 8 x 8 bits, the mean over the grid's "
               "corrupted cells (fp32 counts 32 x 32: 16); weight bytes of the deployed model "
               "(fp32: 4 a parameter); the run's wall seconds (a shared machine: indicative). "
               "Bold: the best of the column in its table.\n",
            s->nrun);
}

int exp_report_markdown(FILE *f, char *const *dirs, int ndirs, qa_err *err)
{
    md_study *s = calloc(1, sizeof *s);
    if (!s)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory");
    int rc = QA_OK;
    for (int i = 0; !rc && i < ndirs; i++)
        rc = read_sweep(s, dirs[i], err);
    if (!rc && s->nrun == 0)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: no complete run", ndirs ? dirs[0] : "(no folder)");
    if (!rc)
        print_head(f, s, dirs, ndirs);
    int done[MD_MAX_ARMS] = {0}, in[MD_MAX_ARMS];
    for (int a = 0; !rc && a < s->narm; a++)
        arm_stats(s, &s->arm[a]);
    for (int a = 0; !rc && a < s->narm; a++) {
        if (done[a])
            continue;
        int n = table_arms(s, a, in);
        for (int i = 0; i < n; i++)
            done[in[i]] = 1;
        fprintf(f, "\n## %s, %s\n\n", s->arm[a].arch, s->arm[a].group);
        print_table(f, s, in, n);
        if (n > 1)
            rc = print_tests(f, s, in, n, err);
        print_spearman(f, s, in, n);
        print_files(f, s, in, n);
    }
    free(s->run);
    free(s);
    return rc;
}
