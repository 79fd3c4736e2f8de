/* sweep.c: the [sweep] section, its points, their hashes and the index.
 * Running the points is sweep_exec.c. */
#include "experiments/cli/sweep.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/io/h5log.h"
#include "experiments/io/runfile.h"

const char *exp_point_status_name(int status)
{
    static const char *const names[] = {"pending", "complete", "failed", "interrupted"};
    return status >= 0 && status <= EXP_POINT_INTERRUPTED ? names[status] : "unknown";
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Cuts an inline comment: ';' after a blank, as inih does. */
static void cut_comment(char *s)
{
    for (char *c = s + 1; *c; c++)
        if (*c == ';' && (c[-1] == ' ' || c[-1] == '\t')) {
            *c = '\0';
            return;
        }
}

/* Splits text at '|' when it holds one, else at ','; trimmed pieces. */
static int split_values(char *text, char (*out)[EXP_SWEEP_VALUE_LEN], int max, const char **why)
{
    char sep = strchr(text, '|') ? '|' : ',';
    int n = 0;
    for (char *p = text;;) {
        char *end = strchr(p, sep);
        if (end)
            *end = '\0';
        char *v = trim(p);
        if (!*v) {
            *why = "an empty value";
            return -1;
        }
        if (n == max) {
            *why = "too many values";
            return -1;
        }
        if (strlen(v) >= EXP_SWEEP_VALUE_LEN) {
            *why = "a value longer than 255 characters";
            return -1;
        }
        snprintf(out[n++], EXP_SWEEP_VALUE_LEN, "%s", v);
        if (!end)
            return n;
        p = end + 1;
    }
}

static int axis_find(const exp_sweep_spec *s, const char *key)
{
    for (int i = 0; i < s->naxes; i++)
        if (strcmp(s->axes[i].key, key) == 0)
            return i;
    return -1;
}

/* section.key must be a key of exp_schema that says what is run. */
static int check_key(const exp_sweep_spec *s, int line, const char *key, qa_err *err)
{
    char section[64], name[64];
    const char *dot = strchr(key, '.');
    if (!dot || dot == key || (size_t)(dot - key) >= sizeof section || strlen(dot + 1) >= sizeof name)
        return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] '%s': expected section.key = v1, v2, ...",
                       s->file, line, key);
    snprintf(section, sizeof section, "%.*s", (int)(dot - key), key);
    snprintf(name, sizeof name, "%s", dot + 1);
    if (!cfg_lookup(&exp_schema, section, name, NULL, NULL))
        return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] %s: no key '%s' in [%s]", s->file, line,
                       key, name, section);
    if (strcmp(key, "experiment.name") == 0 || strcmp(key, "experiment.out_dir") == 0)
        return qa_fail(err, QA_ERR_CONFIG,
                       "%s:%d: [sweep] %s cannot be an axis: points are named by the hash of "
                       "their config (use --out for the sweep folder)",
                       s->file, line, key);
    return QA_OK;
}

typedef struct {
    char text[4096];
    int line;
} zip_line;

static int parse_line(exp_sweep_spec *s, zip_line *zip, char *body, int line, qa_err *err)
{
    char *eq = strchr(body, '=');
    if (!eq)
        return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep]: expected section.key = v1, v2, ...",
                       s->file, line);
    *eq = '\0';
    char *key = trim(body), *value = eq + 1;
    cut_comment(value);
    value = trim(value);
    if (strcmp(key, "zip") == 0) {
        if (zip->line)
            return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] zip is set twice (first at line %d)",
                           s->file, line, zip->line);
        zip->line = line;
        snprintf(zip->text, sizeof zip->text, "%s", value);
        return QA_OK;
    }
    int rc = check_key(s, line, key, err);
    if (rc)
        return rc;
    int prev = axis_find(s, key);
    if (prev >= 0)
        return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] %s is set twice (first at line %d)",
                       s->file, line, key, s->axes[prev].line);
    if (s->naxes == EXP_SWEEP_MAX_AXES)
        return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep]: more than %d axes", s->file, line,
                       EXP_SWEEP_MAX_AXES);
    exp_sweep_axis *a = &s->axes[s->naxes];
    const char *why = NULL;
    int n = split_values(value, a->values, EXP_SWEEP_MAX_VALUES, &why);
    if (n < 0)
        return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] %s: %s (values are comma separated, "
                       "or '|' separated when a value holds commas; at most %d)",
                       s->file, line, key, why, EXP_SWEEP_MAX_VALUES);
    snprintf(a->key, sizeof a->key, "%s", key);
    a->line = line;
    a->nvalues = n;
    a->dim = -1;
    s->naxes++;
    return QA_OK;
}

/* zip groups: "a.b, c.d | e.f, g.h"; each group's axes share a dimension. */
static int parse_zip(exp_sweep_spec *s, zip_line *z, int *group, qa_err *err)
{
    for (int i = 0; i < s->naxes; i++)
        group[i] = -1;
    if (!z->line)
        return QA_OK;
    int g = 0;
    for (char *grp = z->text; grp; g++) {
        char *bar = strchr(grp, '|');
        if (bar)
            *bar = '\0';
        int first = -1, members = 0;
        for (char *tok = strtok(grp, ","); tok; tok = strtok(NULL, ",")) {
            char *k = trim(tok);
            int i = axis_find(s, k);
            if (i < 0)
                return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] zip: %s is not an axis of [sweep]",
                               s->file, z->line, k);
            if (group[i] >= 0)
                return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] zip: %s is zipped twice",
                               s->file, z->line, k);
            if (first >= 0 && s->axes[i].nvalues != s->axes[first].nvalues)
                return qa_fail(err, QA_ERR_CONFIG,
                               "%s:%d: [sweep] zip: %s has %d values but %s has %d (zipped axes "
                               "advance together)",
                               s->file, z->line, s->axes[i].key, s->axes[i].nvalues,
                               s->axes[first].key, s->axes[first].nvalues);
            if (first < 0)
                first = i;
            group[i] = g;
            members++;
        }
        if (members < 2)
            return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] zip: a group needs two axes or more",
                           s->file, z->line);
        grp = bar ? bar + 1 : NULL;
    }
    return QA_OK;
}

static int make_dims(exp_sweep_spec *s, const int *group, qa_err *err)
{
    int dim_of_group[EXP_SWEEP_MAX_AXES];
    for (int g = 0; g < EXP_SWEEP_MAX_AXES; g++)
        dim_of_group[g] = -1;
    s->ndims = 0;
    s->npoints = 1;
    for (int i = 0; i < s->naxes; i++) {
        exp_sweep_axis *a = &s->axes[i];
        int g = group[i];
        if (g >= 0 && dim_of_group[g] >= 0) {
            a->dim = dim_of_group[g];
            continue;
        }
        a->dim = s->ndims++;
        if (g >= 0)
            dim_of_group[g] = a->dim;
        s->dim_len[a->dim] = a->nvalues;
        s->npoints *= a->nvalues;
        if (s->npoints > EXP_SWEEP_MAX_POINTS)
            return qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep]: more than %d points", s->file,
                           a->line, EXP_SWEEP_MAX_POINTS);
    }
    return QA_OK;
}

static int read_text(const char *path, char **text, qa_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open config: %s", path, strerror(errno));
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    fclose(f);
    if (!buf || n > cap) {
        free(buf);
        return qa_fail(err, buf ? QA_ERR_CONFIG : QA_ERR_NOMEM, "%s: cannot read config%s", path,
                       buf ? ": larger than 1 MiB" : "");
    }
    buf[n] = '\0';
    *text = buf;
    return QA_OK;
}

int exp_sweep_parse(exp_sweep_spec *s, const char *path, qa_err *err)
{
    memset(s, 0, sizeof *s);
    snprintf(s->file, sizeof s->file, "%s", path);
    s->npoints = 1;
    char *text = NULL;
    int rc = read_text(path, &text, err);
    if (rc)
        return rc;
    zip_line *zip = calloc(1, sizeof *zip);
    if (!zip) {
        free(text);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory reading [sweep]");
    }
    int in = 0, line = 0;
    for (char *p = text; p && *p && !rc;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        char *body = trim(p);
        if (body[0] == '[') {
            char *end = strchr(body, ']');
            in = end && end - body == 6 && strncmp(body, "[sweep", 6) == 0;
            if (in && s->line)
                rc = qa_fail(err, QA_ERR_CONFIG, "%s:%d: [sweep] appears twice (first at line %d)",
                             path, line, s->line);
            if (in)
                s->line = line;
        } else if (in && body[0] && body[0] != ';' && body[0] != '#') {
            rc = parse_line(s, zip, body, line, err);
        }
        p = nl ? nl + 1 : NULL;
    }
    int group[EXP_SWEEP_MAX_AXES];
    if (!rc)
        rc = parse_zip(s, zip, group, err);
    if (!rc)
        rc = make_dims(s, group, err);
    free(zip);
    free(text);
    return rc;
}

void exp_sweep_point_sets(const exp_sweep_spec *s, long p,
                          char (*sets)[EXP_SWEEP_VALUE_LEN + 128], int *value)
{
    long idx[EXP_SWEEP_MAX_AXES];
    for (int d = s->ndims - 1; d >= 0; d--) {
        idx[d] = p % s->dim_len[d];
        p /= s->dim_len[d];
    }
    for (int i = 0; i < s->naxes; i++) {
        const exp_sweep_axis *a = &s->axes[i];
        int v = (int)idx[a->dim];
        snprintf(sets[i], EXP_SWEEP_VALUE_LEN + 128, "%s=%s", a->key, a->values[v]);
        if (value)
            value[i] = v;
    }
}

void exp_sweep_hash_text(const char *ini, char out[EXP_SWEEP_HASH_LEN + 1])
{
    uint64_t h = 14695981039346656037ull;
    int in_experiment = 0, in_eval = 0;
    for (const char *line = ini; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (line[0] == '[') {
            in_experiment = strncmp(line, "[experiment]", 12) == 0;
            in_eval = strncmp(line, "[eval]", 6) == 0;
        }
        int skip = (in_experiment && (strncmp(line, "name =", 6) == 0 ||
                                      strncmp(line, "out_dir =", 9) == 0 ||
                                      strncmp(line, "threads =", 9) == 0 ||
                                      strncmp(line, "label =", 7) == 0 ||
                                      strncmp(line, "group =", 7) == 0 ||
                                      strncmp(line, "memory_mb =", 11) == 0)) ||
                   (in_eval && (strncmp(line, "grid", 4) == 0 ||
                                strncmp(line, "reference =", 11) == 0));
        for (size_t i = 0; !skip && i < len; i++) {
            h ^= (unsigned char)line[i];
            h *= 1099511628211ull;
        }
        line = nl ? nl + 1 : NULL;
    }
    snprintf(out, EXP_SWEEP_HASH_LEN + 1, "%010llx",
             (unsigned long long)(h >> (64 - 4 * EXP_SWEEP_HASH_LEN)));
}

int exp_sweep_hash_config(exp_config *c, char out[EXP_SWEEP_HASH_LEN + 1], qa_err *err)
{
    cfg_doc d = exp_config_doc(c);
    char *text = NULL;
    int rc = cfg_render(&d, &text, err);
    if (rc)
        return rc;
    exp_sweep_hash_text(text, out);
    free(text);
    return QA_OK;
}

/* Each value of each axis parses for its key on its own: errors name the
 * [sweep] line rather than a point. */
static int check_values(const exp_sweep_spec *s, exp_config *c, qa_err *err)
{
    for (int i = 0; i < s->naxes; i++) {
        const exp_sweep_axis *a = &s->axes[i];
        for (int v = 0; v < a->nvalues; v++) {
            char set[EXP_SWEEP_VALUE_LEN + 128];
            snprintf(set, sizeof set, "%s=%s", a->key, a->values[v]);
            int rc = exp_config_defaults(c, err);
            cfg_doc d = exp_config_doc(c);
            if (!rc)
                rc = cfg_set(&d, set, err);
            if (rc)
                return qa_err_prefix(err, "%s:%d: [sweep] ", s->file, a->line);
        }
    }
    return QA_OK;
}

static void point_name(const exp_sweep_spec *s, const int *value, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->naxes && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s=%s", i ? ", " : "", s->axes[i].key,
                         s->axes[i].values[value[i]]);
        used += w > 0 ? (size_t)w : 0;
    }
}

int exp_sweep_resolve(const exp_sweep_spec *s, char *const *sets, int nsets, exp_sweep_point *pts,
                      long *npoints, qa_err *err)
{
    for (int j = 0; j < nsets; j++)
        for (int i = 0; i < s->naxes; i++) {
            size_t k = strlen(s->axes[i].key);
            if (strncmp(sets[j], s->axes[i].key, k) == 0 && sets[j][k] == '=')
                return qa_fail(err, QA_ERR_ARG, "--set %s: %s is an axis of the sweep (%s:%d)",
                               sets[j], s->axes[i].key, s->file, s->axes[i].line);
        }
    exp_config *c = malloc(sizeof *c);
    char (*own)[EXP_SWEEP_VALUE_LEN + 128] = malloc(EXP_SWEEP_MAX_AXES * sizeof *own);
    char **all = malloc((size_t)(nsets + EXP_SWEEP_MAX_AXES) * sizeof *all);
    if (!c || !own || !all) {
        free(c);
        free(own);
        free(all);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory resolving the sweep");
    }
    int rc = check_values(s, c, err);
    long kept = 0;
    for (long p = 0; !rc && p < s->npoints; p++) {
        exp_sweep_point *pt = &pts[kept];
        memset(pt, 0, sizeof *pt);
        exp_sweep_point_sets(s, p, own, pt->value);
        for (int j = 0; j < nsets; j++)
            all[j] = sets[j];
        for (int i = 0; i < s->naxes; i++)
            all[nsets + i] = own[i];
        rc = exp_config_load(c, s->file, all, nsets + s->naxes, err);
        if (!rc)
            rc = exp_sweep_hash_config(c, pt->hash, err);
        if (rc) {
            char name[1024];
            point_name(s, pt->value, name, sizeof name);
            qa_err_prefix(err, "%s:%d: [sweep] point %ld (%s): ", s->file, s->line, p + 1, name);
            break;
        }
        int dup = 0;
        for (long q = 0; q < kept && !dup; q++)
            dup = strcmp(pts[q].hash, pt->hash) == 0;
        if (!dup)
            kept++;
    }
    *npoints = kept;
    free(c);
    free(own);
    free(all);
    return rc;
}

static void metrics_nan(exp_point_metrics *m)
{
    m->test_acc = m->test_loss = m->bitops = m->seconds = NAN;
    m->grid_acc = m->mce = m->rel_mce = NAN;
}

/* Last value of a column of /train/epochs, NaN when absent. */
static double last_value(hid_t f, const char *col)
{
    double *v;
    int rows, count;
    if (exp_rf_column(f, "/train/epochs", col, &v, &rows, &count) || rows == 0) {
        free(v);
        return NAN;
    }
    double x = v[(size_t)(rows - 1) * (size_t)count];
    free(v);
    return x;
}

void exp_sweep_read_point(const char *dir, exp_sweep_point *pt)
{
    char path[1200], status[64], hash[EXP_SWEEP_HASH_LEN + 1];
    metrics_nan(&pt->m);
    pt->status = EXP_POINT_PENDING;
    snprintf(path, sizeof path, "%s/%s/run.h5", dir, pt->hash);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return;
    fclose(probe);
    hid_t f;
    qa_err e = {0};
    if (exp_rf_open(&f, path, &e))
        return;
    char *cfg = exp_rf_config(f);
    if (cfg)
        exp_sweep_hash_text(cfg, hash);
    free(cfg);
    exp_rf_str(f, "/", "status", status, sizeof status);
    if (!cfg || strcmp(hash, pt->hash) != 0) {
        exp_rf_close(f); /* another config's file (or none): not this point */
        return;
    }
    pt->status = strcmp(status, "complete") == 0      ? EXP_POINT_COMPLETE
                 : strcmp(status, "interrupted") == 0 ? EXP_POINT_INTERRUPTED
                 : strcmp(status, "failed") == 0      ? EXP_POINT_FAILED
                                                      : EXP_POINT_PENDING;
    exp_point_metrics *m = &pt->m;
    m->test_acc = exp_rf_num(f, "/", "test_acc");
    m->test_loss = exp_rf_num(f, "/", "test_loss");
    m->seconds = exp_rf_num(f, "/", "seconds");
    m->bitops = exp_rf_num(f, "/eval/grid", "clean_bitops");
    if (isnan(m->bitops))
        m->bitops = last_value(f, "bitops");
    m->grid_acc = exp_rf_num(f, "/eval/grid", "mean_corrupted_acc");
    m->mce = exp_rf_num(f, "/eval/grid", "mce");
    m->rel_mce = exp_rf_num(f, "/eval/grid", "rel_mce");
    exp_rf_close(f);
}

/* RFC 4180: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void csv_num(FILE *f, double v, int last)
{
    char buf[32] = "";
    if (!isnan(v))
        snprintf(buf, sizeof buf, "%.10g", v);
    csv_field(f, buf, last);
}

int exp_sweep_write_index(const char *dir, const exp_sweep_spec *s, const exp_sweep_point *pts,
                          long npoints, qa_err *err)
{
    char path[1100], tmp[1120];
    snprintf(path, sizeof path, "%s/index.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.part", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    static const char *const tail[] = {"status",   "test_acc", "test_loss", "bitops",
                                       "seconds",  "grid_acc", "mce",       "rel_mce"};
    csv_field(f, "hash", 0);
    for (int i = 0; i < s->naxes; i++)
        csv_field(f, s->axes[i].key, 0);
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        csv_field(f, tail[i], 0);
    csv_field(f, "run", 1);
    for (long p = 0; p < npoints; p++) {
        const exp_sweep_point *pt = &pts[p];
        const exp_point_metrics *m = &pt->m;
        char run[64];
        csv_field(f, pt->hash, 0);
        for (int i = 0; i < s->naxes; i++)
            csv_field(f, s->axes[i].values[pt->value[i]], 0);
        csv_field(f, exp_point_status_name(pt->status), 0);
        csv_num(f, m->test_acc, 0);
        csv_num(f, m->test_loss, 0);
        csv_num(f, m->bitops, 0);
        csv_num(f, m->seconds, 0);
        csv_num(f, m->grid_acc, 0);
        csv_num(f, m->mce, 0);
        csv_num(f, m->rel_mce, 0);
        snprintf(run, sizeof run, "%s/run.h5", pt->hash);
        csv_field(f, run, 1);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return qa_fail(err, QA_ERR_IO, "%s: write failed", tmp);
    }
    int rc = h5log_commit_file(tmp, path, err); /* a crash leaves one index or the other */
    if (rc)
        remove(tmp);
    return rc;
}

void exp_sweep_note(const char *path, FILE *f)
{
    exp_sweep_spec *s = malloc(sizeof *s);
    qa_err e = {0};
    if (s && exp_sweep_parse(s, path, &e) == QA_OK && s->line && f)
        fprintf(f, "note: %s:%d: [sweep] (%d axes, %ld points) is ignored by qadapt run, which "
                   "trains the base config; qadapt sweep runs the points\n",
                path, s->line, s->naxes, s->npoints);
    free(s);
}
