/* report.c: run and sweep reports. Everything comes from the files through
 * runfile.h; a column or table a run lacks is left out, not an error. */
#include "experiments/cli/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/io/runfile.h"

enum { MAX_FIELDS = 64, MAX_SEV = 6 };

static void pct(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.2f", 100.0 * v);
}

/* "key=value" pairs of the config summary, skipped when absent. */
static void summary_line(FILE *f, const char *ini, const char *title, const char *const *keys)
{
    char val[512];
    int any = 0;
    for (int i = 0; keys[i]; i++) {
        const char *dot = strchr(keys[i], '.');
        char section[64];
        snprintf(section, sizeof section, "%.*s", (int)(dot - keys[i]), keys[i]);
        /* run files written before [dqmq] kept its keys in [agent] */
        int found = exp_rf_ini_value(ini, section, dot + 1, val, sizeof val) == 0 ||
                    (strcmp(section, "dqmq") == 0 &&
                     exp_rf_ini_value(ini, "agent", dot + 1, val, sizeof val) == 0);
        if (!found || !val[0])
            continue;
        fprintf(f, "%s%s=%s", any ? "  " : title, dot + 1, val);
        any = 1;
    }
    if (any)
        fputc('\n', f);
}

static void report_config(FILE *f, hid_t h)
{
    char *ini = exp_rf_config(h);
    if (!ini)
        return;
    static const char *const exp[] = {"experiment.name", "experiment.method", "experiment.seed",
                                      "model.arch", "data.dataset", "data.limit",
                                      "data.test_limit", NULL};
    static const char *const train[] = {"train.epochs", "train.batch", "train.optimizer",
                                        "train.lr", "train.schedule", NULL};
    /* the keys each method reads: a resolved config holds every key's
     * default, and dqmq's unused w_bits=8 would read as its precision */
    static const char *const quant_fixed[] = {"quant.w_quantizer", "quant.a_quantizer",
                                              "quant.w_bits", "quant.a_bits", "quant.layer_bits",
                                              "quant.first_bits", "quant.last_bits", NULL};
    static const char *const quant_dqmq[] = {"quant.w_quantizer", "quant.a_quantizer", "quant.bits",
                                             "quant.tied", "quant.first_bits", "quant.last_bits",
                                             NULL};
    static const char *const agent[] = {"agent.observation", "dqmq.optimizer", "agent.head",
                                        "dqmq.cost", "dqmq.lambda", "dqmq.target", NULL};
    static const char *const quant_ddq[] = {"quant.w_quantizer", "quant.a_quantizer",
                                            "quant.first_bits", "quant.last_bits",
                                            "quant.ddq_adaptive", NULL};
    static const char *const ddq[] = {"ddq.max_bits", "ddq.cost", "ddq.form", "ddq.lambda",
                                      "ddq.target", "ddq.target_bits", "ddq.gate_lr_mult", NULL};
    static const char *const quant_mm[] = {"quant.w_quantizer", "quant.a_quantizer",
                                           "quant.granularity", "quant.first_bits",
                                           "quant.last_bits", NULL};
    static const char *const metamix[] = {"metamix.candidates", "metamix.search_w_bits",
                                          "metamix.w_bits", "metamix.weight_step",
                                          "metamix.lambda", "metamix.target", NULL};
    static const char *const env[] = {"env.corruptions", "env.severities", "env.clean_fraction",
                                      "env.schedule", "env.test", NULL};
    char method[64] = "", enabled[16] = "";
    exp_rf_ini_value(ini, "experiment", "method", method, sizeof method);
    exp_rf_ini_value(ini, "env", "enabled", enabled, sizeof enabled);
    summary_line(f, ini, "config:  ", exp);
    summary_line(f, ini, "train:   ", train);
    if (strcmp(method, "fixed") == 0)
        summary_line(f, ini, "quant:   ", quant_fixed);
    if (strcmp(method, "dqmq") == 0) {
        summary_line(f, ini, "quant:   ", quant_dqmq);
        summary_line(f, ini, "agent:   ", agent);
    }
    if (strcmp(method, "ddq") == 0) {
        summary_line(f, ini, "quant:   ", quant_ddq);
        summary_line(f, ini, "ddq:     ", ddq);
    }
    if (strcmp(method, "metamix") == 0) {
        summary_line(f, ini, "quant:   ", quant_mm);
        summary_line(f, ini, "metamix: ", metamix);
    }
    if (strcmp(enabled, "true") == 0)
        summary_line(f, ini, "env:     ", env);
    free(ini);
}

static void report_epochs(FILE *f, hid_t h)
{
    static const char *const cols[] = {"epoch", "train_loss", "train_acc", "test_loss", "test_acc",
                                       "val_acc", "lr", "bitops", "img_per_s", "seconds"};
    enum { N = sizeof cols / sizeof cols[0] };
    double *v[N] = {0};
    int rows = -1, count;
    fprintf(f, "\n");
    for (int c = 0; c < N; c++) {
        int r;
        if (exp_rf_column(h, "/train/epochs", cols[c], &v[c], &r, &count) == 0)
            rows = r;
    }
    if (rows < 0) {
        fprintf(f, "no /train/epochs table\n");
        return;
    }
    for (int c = 0; c < N; c++)
        if (v[c])
            fprintf(f, c ? "  %10s" : "%5s", cols[c]);
    fputc('\n', f);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < N; c++) {
            if (!v[c])
                continue;
            double x = v[c][r];
            if (c == 0)
                fprintf(f, "%5.0f", x);
            else if (isnan(x))
                fprintf(f, "  %10s", "-");
            else if (strstr(cols[c], "acc"))
                fprintf(f, "  %9.2f%%", 100 * x);
            else if (strcmp(cols[c], "bitops") == 0 || strcmp(cols[c], "img_per_s") == 0)
                fprintf(f, "  %10.4g", x);
            else
                fprintf(f, "  %10.4f", x);
        }
        fputc('\n', f);
    }
    for (int c = 0; c < N; c++)
        free(v[c]);
}

/* Accuracy (%) per corruption (rows) and severity (columns), clean first. */
static void report_grid(FILE *f, hid_t h)
{
    char **names = NULL;
    double *sev = NULL, *acc = NULL;
    int n = 0, m, cnt;
    if (exp_rf_str_column(h, "/eval/grid", "corruption", &names, &n) ||
        exp_rf_column(h, "/eval/grid", "severity", &sev, &m, &cnt) ||
        exp_rf_column(h, "/eval/grid", "accuracy", &acc, &m, &cnt)) {
        exp_rf_free_strings(names, n);
        free(sev);
        free(acc);
        return;
    }
    fprintf(f, "\neval grid: accuracy %% (%d cells)\n%-20s", n, "corruption");
    for (int s = 0; s < MAX_SEV; s++)
        fprintf(f, "  %6d", s);
    fprintf(f, "  %6s\n", "mean");
    for (int i = 0; i < n; i++) {
        int first = 1;
        for (int j = 0; j < i && first; j++)
            first = strcmp(names[j], names[i]) != 0;
        if (!first)
            continue;
        double row[MAX_SEV], sum = 0;
        int k = 0;
        for (int s = 0; s < MAX_SEV; s++)
            row[s] = NAN;
        for (int j = i; j < n; j++)
            if (strcmp(names[j], names[i]) == 0 && sev[j] >= 0 && sev[j] < MAX_SEV) {
                row[(int)sev[j]] = acc[j];
                if (sev[j] > 0) {
                    sum += acc[j];
                    k++;
                }
            }
        fprintf(f, "%-20s", names[i]);
        for (int s = 0; s < MAX_SEV; s++) {
            char b[16];
            pct(b, sizeof b, row[s]);
            fprintf(f, "  %6s", b);
        }
        char b[16];
        pct(b, sizeof b, k ? sum / k : NAN);
        fprintf(f, "  %6s\n", b);
    }
    double mce = exp_rf_num(h, "/eval/grid", "mce"), rel = exp_rf_num(h, "/eval/grid", "rel_mce");
    char ref[1024];
    exp_rf_str(h, "/eval/grid", "reference", ref, sizeof ref);
    fprintf(f, "mean corrupted accuracy %.2f%%", 100 * exp_rf_num(h, "/eval/grid",
                                                                  "mean_corrupted_acc"));
    if (!isnan(mce))
        fprintf(f, "  mCE %.2f%%  relative mCE %.2f%%  (reference %s)", 100 * mce, 100 * rel, ref);
    fputc('\n', f);
    exp_rf_free_strings(names, n);
    free(sev);
    free(acc);
}

int exp_report_run(FILE *f, const char *path, qa_err *err)
{
    hid_t h;
    int rc = exp_rf_open_run(&h, path, err);
    if (rc)
        return rc;
    char status[64], error[1024], version[64], rev[64], start[64], end[64];
    exp_rf_str(h, "/", "status", status, sizeof status);
    exp_rf_str(h, "/", "error", error, sizeof error);
    exp_rf_str(h, "/", "qadapt_version", version, sizeof version);
    exp_rf_str(h, "/", "git_revision", rev, sizeof rev);
    exp_rf_str(h, "/", "start_time", start, sizeof start);
    exp_rf_str(h, "/", "end_time", end, sizeof end);
    fprintf(f, "run:     %s\nstatus:  %s%s%s, %.0f epochs, %.1f s (%s .. %s), qadapt %s git %s\n",
            path, status[0] ? status : "?", error[0] ? ": " : "", error,
            exp_rf_num(h, "/", "epochs_completed"), exp_rf_num(h, "/", "seconds"), start, end,
            version, rev);
    report_config(f, h);
    report_epochs(f, h);
    char acc[16];
    pct(acc, sizeof acc, exp_rf_num(h, "/", "test_acc"));
    fprintf(f, "\nfinal:   test acc %s%%  test loss %.4f", acc, exp_rf_num(h, "/", "test_loss"));
    double *b;
    int rows, count;
    if (exp_rf_column(h, "/train/epochs", "bitops", &b, &rows, &count) == 0 && rows > 0) {
        double *vs;
        fprintf(f, "  mean BitOps %.4g", b[rows - 1]);
        if (exp_rf_column(h, "/train/epochs", "bitops_vs_fp32", &vs, &rows, &count) == 0 &&
            rows > 0)
            fprintf(f, " (%.2f%% of fp32)", 100 * vs[rows - 1]);
        free(vs);
    }
    free(b);
    fputc('\n', f);
    report_grid(f, h);
    exp_rf_close(h);
    return QA_OK;
}

int exp_report_grid(FILE *f, const char *path, qa_err *err)
{
    hid_t h;
    int rc = exp_rf_open(&h, path, err);
    if (rc)
        return rc;
    if (exp_rf_exists(h, "/eval/grid")) {
        fprintf(f, "run:     %s", path);
        report_grid(f, h);
    } else {
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: no /eval/grid table", path);
    }
    exp_rf_close(h);
    return rc;
}

int exp_csv_split(const char *line, char (*fields)[256], int max)
{
    int n = 0;
    const char *p = line;
    while (n < max) {
        size_t k = 0;
        char *out = fields[n];
        if (*p == '"') {
            for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
                if (*p == '"')
                    p++;
                if (k + 1 < 256)
                    out[k++] = *p;
            }
            if (*p == '"')
                p++;
        }
        for (; *p && *p != ',' && *p != '\n' && *p != '\r'; p++)
            if (k + 1 < 256)
                out[k++] = *p;
        out[k] = '\0';
        n++;
        if (*p != ',')
            break;
        p++;
    }
    return n;
}

typedef struct {
    char (*cell)[MAX_FIELDS][256]; /* rows x fields */
    int rows, nfields;
    char head[MAX_FIELDS][256];
} csv_table;

/* t is emptied first, whatever happens (its cells are freed by the caller).
 * Lines are read whole however long (a fixed buffer split a 50 KB line into
 * junk rows); each field keeps its first 255 bytes. */
static int csv_read(const char *path, csv_table *t, qa_err *err)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT)
        return qa_fail(err, QA_ERR_IO, "%s: no such file: not a sweep folder (qadapt sweep "
                       "writes its index.csv)", path);
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t size = 0;
    int cap = 0, rc = QA_OK;
    if (getline(&line, &size, f) < 0 ||
        (t->nfields = exp_csv_split(line, t->head, MAX_FIELDS)) < 2)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: no header line", path);
    while (!rc && getline(&line, &size, f) >= 0) {
        if (t->rows == cap) {
            cap = cap ? 2 * cap : 64;
            void *c = realloc(t->cell, (size_t)cap * sizeof *t->cell);
            if (!c) {
                rc = qa_fail(err, QA_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            t->cell = c;
        }
        memset(t->cell[t->rows], 0, sizeof t->cell[0]);
        exp_csv_split(line, t->cell[t->rows], MAX_FIELDS);
        t->rows++;
    }
    free(line);
    fclose(f);
    return rc;
}

static int col_index(const csv_table *t, const char *name)
{
    for (int i = 0; i < t->nfields; i++)
        if (strcmp(t->head[i], name) == 0)
            return i;
    return -1;
}

/* Test accuracy with the first axis down and the other axes' value
 * combinations across ("a/b" for two more axes), the mean where several
 * points share a cell (duplicates dropped by the sweep cannot occur, so
 * only a reader's edited index has them). */
static void sweep_pivot(FILE *f, const csv_table *t, int acc, int naxes)
{
    enum { MAXV = 64 };
    static char rv[MAXV][256], cv[MAXV][256], key[256], head[256];
    static double sum[MAXV][MAXV];
    static int cnt[MAXV][MAXV];
    int nr = 0, nc = 0, width = 8;
    memset(cnt, 0, sizeof cnt);
    memset(sum, 0, sizeof sum);
    for (int r = 0; r < t->rows; r++) {
        size_t used = 0;
        key[0] = '\0';
        for (int a = 2; a <= naxes && used < sizeof key; a++)
            used += (size_t)snprintf(key + used, sizeof key - used, "%s%s", a > 2 ? "/" : "",
                                     t->cell[r][a]);
        int i = 0, j = 0;
        while (i < nr && strcmp(rv[i], t->cell[r][1]) != 0)
            i++;
        while (j < nc && strcmp(cv[j], key) != 0)
            j++;
        if (i == MAXV || j == MAXV)
            continue;
        if (i == nr)
            snprintf(rv[nr++], 256, "%s", t->cell[r][1]);
        if (j == nc) {
            snprintf(cv[nc++], 256, "%s", key);
            width = (int)strlen(key) > width ? (int)strlen(key) : width;
        }
        if (t->cell[r][acc][0]) {
            sum[i][j] += strtod(t->cell[r][acc], NULL);
            cnt[i][j]++;
        }
    }
    size_t used = 0;
    head[0] = '\0';
    for (int a = 2; a <= naxes && used < sizeof head; a++)
        used += (size_t)snprintf(head + used, sizeof head - used, "%s%s", a > 2 ? "/" : "",
                                 t->head[a]);
    fprintf(f, "\ntest acc %% by %s (rows) x %s (columns)\n%-16s", t->head[1], head, "");
    for (int j = 0; j < nc; j++)
        fprintf(f, "  %*s", width, cv[j]);
    fputc('\n', f);
    for (int i = 0; i < nr; i++) {
        fprintf(f, "%-16.16s", rv[i]);
        for (int j = 0; j < nc; j++) {
            char b[16];
            pct(b, sizeof b, cnt[i][j] ? sum[i][j] / cnt[i][j] : NAN);
            fprintf(f, "  %*s", width, b);
        }
        fputc('\n', f);
    }
}

/* A cell of the sweep table as shown: accuracies in %, numbers short. */
static void sweep_cell(const csv_table *t, int r, int c, int status, char *buf, size_t n)
{
    const char *v = t->cell[r][c], *h = t->head[c];
    if (c > status && v[0] && (strstr(h, "acc") || strstr(h, "mce")))
        pct(buf, n, strtod(v, NULL));
    else if (c > status && v[0])
        snprintf(buf, n, "%.4g", strtod(v, NULL));
    else
        snprintf(buf, n, "%s", v[0] ? v : "-");
}

int exp_report_sweep(FILE *f, const char *dir, qa_err *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/index.csv", dir);
    csv_table *t = malloc(sizeof *t);
    if (!t)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory");
    int rc = csv_read(path, t, err);
    int status = col_index(t, "status"), acc = col_index(t, "test_acc");
    if (!rc && (status < 1 || acc < 0))
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: not a sweep index (no status/test_acc columns)", path);
    if (rc) {
        free(t->cell);
        free(t);
        return rc;
    }
    int naxes = status - 1, done = 0;
    for (int r = 0; r < t->rows; r++)
        done += strcmp(t->cell[r][status], "complete") == 0;
    fprintf(f, "sweep:   %s\npoints:  %d, %d complete, %d axes\n\n", dir, t->rows, done, naxes);
    /* hash, axes, status, then the metrics that any point has; columns as
     * wide as their widest cell */
    int show[MAX_FIELDS], width[MAX_FIELDS], ns = 0;
    char b[256];
    for (int c = 0; c < t->nfields; c++) {
        int any = c <= status;
        for (int r = 0; r < t->rows && !any; r++)
            any = t->cell[r][c][0] != '\0';
        if (!any || strcmp(t->head[c], "run") == 0)
            continue;
        width[ns] = (int)strlen(t->head[c]);
        for (int r = 0; r < t->rows; r++) {
            sweep_cell(t, r, c, status, b, sizeof b);
            width[ns] = (int)strlen(b) > width[ns] ? (int)strlen(b) : width[ns];
        }
        show[ns++] = c;
    }
    for (int k = 0; k < ns; k++)
        fprintf(f, k ? "  %*s" : "%-*s", width[k], t->head[show[k]]);
    fputc('\n', f);
    for (int r = 0; r < t->rows; r++) {
        for (int k = 0; k < ns; k++) {
            sweep_cell(t, r, show[k], status, b, sizeof b);
            fprintf(f, k ? "  %*s" : "%-*s", width[k], b);
        }
        fputc('\n', f);
    }
    if (naxes >= 2)
        sweep_pivot(f, t, acc, naxes);
    free(t->cell);
    free(t);
    return QA_OK;
}
