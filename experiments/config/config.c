/* config.c: reading INI text into a schema-bound struct, overrides, moved keys.
 *
 * inih does the INI syntax; it reads through our line reader, which counts
 * lines (so every message has file:line), checks section headers as they
 * pass (an empty unknown section is still an error), rejects continuation
 * lines (values are one line each) and hands over lines longer than inih's
 * fixed 200-byte buffer as a placeholder the handler swaps back.
 * `include = path` lines before the first section read another file (path
 * relative to the including one) at that point; the including file's keys
 * then override it. The chain of open includes catches cycles. */
#include "experiments/config/config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CFG_MAX_FILE_BYTES = 1 << 20, CFG_MAX_INCLUDE_DEPTH = 8 };
#define LONG_VALUE "\x01"

typedef struct cfg_parser cfg_parser;

struct cfg_parser {
    const cfg_doc *d;
    const cfg_parser *parent; /* the file that included this one, NULL at the top */
    int depth;          /* of includes above this file */
    char real[PATH_MAX]; /* canonical path of the file, "" for text not from a file */
    const char *name;   /* the file, in messages */
    int file;           /* its index in the trace, -1 when not traced */
    const char *text;
    size_t pos;
    int line;           /* of the line the reader handed out last */
    char long_value[4096];  /* the value of a line too long for inih */
    int seen[CFG_MAX_KEYS]; /* line where this text set each key, 0 = not yet */
    int stored;         /* cfg_load_stored: moved keys go to their new section */
    qa_err *err;
    int rc;             /* first error, kept; inih goes on reading */
    int err_line;       /* its line */
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void parser_fail(cfg_parser *p, int line, const char *fmt, ...)
{
    if (p->rc)
        return;
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->rc = qa_fail(p->err, QA_ERR_CONFIG, "%s:%d: %s", p->name, line, msg);
    p->err_line = line;
}

static int schema_nkeys(const cfg_section *sec)
{
    int n = 0;
    while (sec->keys[n].key)
        n++;
    return n;
}

static const cfg_section *section_find(const cfg_schema *s, const char *name, int *first)
{
    int idx = 0;
    for (int i = 0; i < s->nsections; i++) {
        if (strcmp(s->sections[i].name, name) == 0) {
            if (first)
                *first = idx;
            return &s->sections[i];
        }
        idx += schema_nkeys(&s->sections[i]);
    }
    return NULL;
}

const cfg_key *cfg_lookup(const cfg_schema *s, const char *section, const char *key,
                          const cfg_section **sec, int *index)
{
    int first;
    const cfg_section *sc = section_find(s, section, &first);
    for (int i = 0; sc && sc->keys[i].key; i++) {
        if (strcmp(sc->keys[i].key, key) == 0) {
            if (sec)
                *sec = sc;
            if (index)
                *index = first + i;
            return &sc->keys[i];
        }
    }
    return NULL;
}

void *cfg_field(const cfg_section *sec, const cfg_key *k, const void *base)
{
    return (char *)base + sec->off + k->off;
}

static void section_list(const cfg_schema *s, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->nsections && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", s->sections[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
}

/* Edit distance of two short names, for "did you mean". */
static int edit_distance(const char *a, const char *b)
{
    int row[64], la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    for (int j = 0; j <= lb; j++)
        row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* " (did you mean ...?)": the same key in another section, or a close name. */
static void key_hint(const cfg_schema *s, const char *section, const char *key, char *buf,
                     size_t n)
{
    buf[0] = '\0';
    const cfg_section *own = section_find(s, section, NULL);
    for (int i = 0; i < s->nsections; i++)
        if (&s->sections[i] != own && cfg_lookup(s, s->sections[i].name, key, NULL, NULL)) {
            snprintf(buf, n, " (did you mean [%s] %s?)", s->sections[i].name, key);
            return;
        }
    for (int i = 0; own && own->keys[i].key; i++)
        if (edit_distance(own->keys[i].key, key) <= 2) {
            snprintf(buf, n, " (did you mean %s?)", own->keys[i].key);
            return;
        }
}

static void trace_set(const cfg_doc *d, int index, int file, int line)
{
    if (d->trace) {
        d->trace->at[index].file = file;
        d->trace->at[index].line = line;
    }
}

/* Registers a file (or --set argument) in the trace; -2 when it is full. */
static int trace_file(const cfg_doc *d, const char *name)
{
    cfg_trace *t = d->trace;
    if (!t)
        return -1;
    if (t->nfiles == CFG_MAX_FILES)
        return -2;
    snprintf(t->files[t->nfiles], sizeof t->files[0], "%s", name);
    return t->nfiles++;
}

static int parser_include(cfg_parser *p, const char *value);

/* The section key moved to from section (cfg_moved), NULL if it did not. */
static const char *moved_to(const cfg_schema *s, const char *section, const char *key)
{
    for (const cfg_moved *m = s->moved; m && m->from; m++)
        if (strcmp(m->from, section) == 0 && cfg_lookup(s, m->to, key, NULL, NULL) &&
            !cfg_lookup(s, m->from, key, NULL, NULL))
            return m->to;
    return NULL;
}

/* 1 when one of d's --set overrides names section.name */
static int overridden(const cfg_doc *d, const char *section, const char *name)
{
    size_t ns = strlen(section), nn = strlen(name);
    for (int i = 0; i < d->nsets; i++) {
        const char *s = d->sets[i];
        if (strncmp(s, section, ns) == 0 && s[ns] == '.' && strncmp(s + ns + 1, name, nn) == 0 &&
            s[ns + 1 + nn] == '=')
            return 1;
    }
    return 0;
}

static int parser_handle(void *user, const char *section, const char *name, const char *value)
{
    cfg_parser *p = user;
    const cfg_schema *s = p->d->schema;
    char why[768];
    if (strcmp(name, "include") == 0) {
        if (!*section)
            return parser_include(p, value);
        if (!cfg_lookup(s, section, name, NULL, NULL)) {
            parser_fail(p, p->line, "include must come before the first [section]");
            return 1;
        }
    }
    if (!*section) {
        parser_fail(p, p->line, "'%s' comes before any [section]", name);
        return 1;
    }
    if (!section_find(s, section, NULL))
        return 1; /* reported by the reader at the header */
    const cfg_section *sec;
    int idx;
    const char *to = moved_to(s, section, name);
    if (to && !p->stored) {
        parser_fail(p, p->line, "[%s] %s has moved to [%s] %s", section, name, to, name);
        return 1;
    }
    const cfg_key *k = cfg_lookup(s, to ? to : section, name, &sec, &idx);
    if (!k) {
        key_hint(s, section, name, why, sizeof why);
        parser_fail(p, p->line, "unknown key '%s' in [%s]%s", name, section, why);
        return 1;
    }
    if (p->seen[idx]) {
        parser_fail(p, p->line, "[%s] %s is set twice (first at line %d)", sec->name, name,
                    p->seen[idx]);
        return 1;
    }
    if (strcmp(value, LONG_VALUE) == 0)
        value = p->long_value;
    p->seen[idx] = p->line;
    if (overridden(p->d, sec->name, name))
        return 1;
    void *sbase = (char *)p->d->base + sec->off;
    if (cfg_parse_value(k, cfg_field(sec, k, p->d->base), sbase, value, why, sizeof why)) {
        parser_fail(p, p->line, "%s.%s: %s", sec->name, name, why);
        return 1;
    }
    trace_set(p->d, idx, p->file, p->line);
    return 1;
}

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

/* A section header must name a known section, even when no key follows. */
static void reader_check_header(cfg_parser *p, const char *line)
{
    const char *end = strchr(line, ']');
    if (!end)
        return; /* inih reports the syntax error */
    char name[128];
    size_t len = (size_t)(end - line - 1);
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), line + 1);
    int foreign = 0;
    for (int i = 0; p->d->schema->foreign && p->d->schema->foreign[i]; i++)
        foreign |= strcmp(p->d->schema->foreign[i], name) == 0;
    if (!foreign && !section_find(p->d->schema, name, NULL)) {
        char list[512];
        section_list(p->d->schema, list, sizeof list);
        parser_fail(p, p->line, "unknown section [%s] (sections: %s)", name, list);
    }
}

/* A line too long for inih's buffer: "key = LONG_VALUE", the value kept aside
 * with inline comment and blanks stripped as inih would. */
static void reader_long_line(cfg_parser *p, const char *line, size_t len, char *str, int num)
{
    const char *eq = memchr(line, '=', len);
    size_t klen = eq ? (size_t)(eq - line) : 0;
    size_t vlen = eq ? len - klen - 1 : 0;
    if (!eq || klen + sizeof(LONG_VALUE) + 4 > (size_t)num || vlen >= sizeof p->long_value) {
        parser_fail(p, p->line, "line longer than %zu characters", sizeof p->long_value - 1);
        snprintf(str, (size_t)num, "\n");
        return;
    }
    memcpy(p->long_value, eq + 1, vlen);
    p->long_value[vlen] = '\0';
    for (char *c = p->long_value; *c; c++)
        if ((*c == ';') && c > p->long_value && (c[-1] == ' ' || c[-1] == '\t')) {
            *c = '\0';
            break;
        }
    char *v = p->long_value + (skip_blank(p->long_value) - p->long_value);
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        v[--vl] = '\0';
    memmove(p->long_value, v, vl + 1);
    snprintf(str, (size_t)num, "%.*s= %s\n", (int)klen, line, LONG_VALUE);
}

static char *parser_read(char *str, int num, void *stream)
{
    cfg_parser *p = stream;
    const char *s = p->text + p->pos;
    if (*s == '\0')
        return NULL;
    const char *nl = strchr(s, '\n');
    size_t len = nl ? (size_t)(nl - s) + 1 : strlen(s);
    p->pos += len;
    p->line++;
    const char *body = skip_blank(s);
    int blank = *body == '\n' || *body == '\0' || *body == ';' || *body == '#';
    if (body != s && !blank) {
        parser_fail(p, p->line, "indented line: a value must fit on one line and keys start "
                                "in the first column");
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    if (*body == '[')
        reader_check_header(p, body);
    if (len + 2 > (size_t)num) {
        if (blank)
            snprintf(str, (size_t)num, "#\n");
        else
            reader_long_line(p, s, len, str, num);
        return str;
    }
    memcpy(str, s, len);
    str[len] = '\0';
    return str;
}

/* Parses text as the file name (real: its canonical path or ""), included
 * by parent (NULL at the top); stored: a config a program wrote. */
static int parse_text(const cfg_doc *d, const char *text, const char *name, const char *real,
                      const cfg_parser *parent, int stored, qa_err *err)
{
    cfg_parser *p = calloc(1, sizeof *p);
    if (!p)
        return qa_fail(err, QA_ERR_NOMEM, "%s: out of memory parsing the config", name);
    p->d = d;
    p->parent = parent;
    p->depth = parent ? parent->depth + 1 : 0;
    snprintf(p->real, sizeof p->real, "%s", real);
    p->name = name;
    p->text = text;
    p->stored = stored;
    p->err = err;
    p->file = trace_file(d, name);
    int rc = ini_parse_stream(parser_read, p, parser_handle, p);
    if (rc > 0 && (p->rc == QA_OK || rc < p->err_line)) { /* inih's own error came first */
        p->rc = QA_OK;
        parser_fail(p, rc, "syntax error: expected [section], key = value or a ; comment");
    }
    rc = p->rc;
    free(p);
    return rc;
}

int cfg_load_text(const cfg_doc *d, const char *text, const char *name, qa_err *err)
{
    return parse_text(d, text, name, "", NULL, 0, err);
}

int cfg_load_stored(const cfg_doc *d, const char *text, const char *name, qa_err *err)
{
    return parse_text(d, text, name, "", NULL, 1, err);
}

/* The whole file at path as a NUL-terminated malloc'd string. */
static int read_text(const char *path, char **out, qa_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open config: %s", path, strerror(errno));
    char *text = malloc(CFG_MAX_FILE_BYTES + 1);
    size_t n = text ? fread(text, 1, CFG_MAX_FILE_BYTES + 1, f) : 0;
    int bad = !text ? QA_ERR_NOMEM : ferror(f) ? QA_ERR_IO : n > CFG_MAX_FILE_BYTES ? QA_ERR_CONFIG : 0;
    fclose(f);
    if (bad) {
        free(text);
        return qa_fail(err, bad, "%s: cannot read config: %s", path,
                       bad == QA_ERR_CONFIG ? "larger than 1 MiB" : strerror(errno));
    }
    text[n] = '\0';
    if (memchr(text, '\0', n)) {
        free(text);
        return qa_fail(err, QA_ERR_CONFIG, "%s: contains a NUL byte: not an INI text file", path);
    }
    *out = text;
    return QA_OK;
}

static int load_file(const cfg_doc *d, const char *path, const cfg_parser *parent, qa_err *err)
{
    char real[PATH_MAX] = "", *text = NULL;
    if (!realpath(path, real))
        real[0] = '\0'; /* read_text reports why */
    int rc = read_text(path, &text, err);
    if (rc)
        return rc;
    rc = parse_text(d, text, path, real, parent, 0, err);
    free(text);
    return rc;
}

int cfg_load_file(const cfg_doc *d, const char *path, qa_err *err)
{
    return load_file(d, path, NULL, err);
}

/* "a.ini -> b.ini -> a.ini": the chain of includes ending in path. */
static void include_chain(const cfg_parser *p, const char *path, char *buf, size_t n)
{
    const cfg_parser *chain[CFG_MAX_INCLUDE_DEPTH + 2];
    int k = 0;
    for (const cfg_parser *q = p; q && k < CFG_MAX_INCLUDE_DEPTH + 1; q = q->parent)
        chain[k++] = q;
    size_t used = 0;
    buf[0] = '\0';
    while (k-- > 0 && used < n) {
        int w = snprintf(buf + used, n - used, "%s -> ", chain[k]->name);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < n)
        snprintf(buf + used, n - used, "%s", path);
}

/* `include = value` before the first section: value relative to this file. */
static int parser_include(cfg_parser *p, const char *value)
{
    char path[PATH_MAX + 256], real[PATH_MAX], chain[4096 + PATH_MAX];
    const char *slash = strrchr(p->name, '/');
    if (!*value) {
        parser_fail(p, p->line, "include needs a file name");
        return 1;
    }
    if (value[0] == '/' || !slash)
        snprintf(path, sizeof path, "%s", value);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - p->name), p->name, value);
    if (!realpath(path, real)) {
        parser_fail(p, p->line, "include %s: cannot open %s: %s", value, path, strerror(errno));
        return 1;
    }
    for (const cfg_parser *q = p; q; q = q->parent)
        if (strcmp(q->real, real) == 0) {
            include_chain(p, path, chain, sizeof chain);
            parser_fail(p, p->line, "include cycle: %s", chain);
            return 1;
        }
    if (p->depth >= CFG_MAX_INCLUDE_DEPTH) {
        parser_fail(p, p->line, "include %s: more than %d nested includes", value,
                    CFG_MAX_INCLUDE_DEPTH);
        return 1;
    }
    if (p->rc)
        return 1; /* an earlier error stands; do not read further files */
    int rc = load_file(p->d, path, p, p->err);
    if (rc) { /* the included file's own message, then where it was included */
        char msg[sizeof p->err->msg];
        snprintf(msg, sizeof msg, "%s", p->err->msg);
        p->rc = qa_fail(p->err, rc, "%s (included from %s:%d)", msg, p->name, p->line);
        p->err_line = p->line;
    }
    return 1;
}

int cfg_set(const cfg_doc *d, const char *arg, qa_err *err)
{
    const char *eq = strchr(arg, '='), *dot = strchr(arg, '.');
    char section[64], key[64], why[768];
    if (!eq || !dot || dot > eq || dot == arg || eq == dot + 1 ||
        (size_t)(dot - arg) >= sizeof section || (size_t)(eq - dot - 1) >= sizeof key)
        return qa_fail(err, QA_ERR_ARG, "--set %s: expected section.key=value", arg);
    snprintf(section, sizeof section, "%.*s", (int)(dot - arg), arg);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    const cfg_section *sec;
    int idx;
    const cfg_key *k = cfg_lookup(d->schema, section, key, &sec, &idx);
    const char *to = moved_to(d->schema, section, key);
    if (to)
        return qa_fail(err, QA_ERR_CONFIG, "--set %s: %s.%s has moved to %s.%s", arg, section,
                       key, to, key);
    if (!section_find(d->schema, section, NULL)) {
        section_list(d->schema, why, sizeof why);
        return qa_fail(err, QA_ERR_CONFIG, "--set %s: unknown section [%s] (sections: %s)", arg,
                       section, why);
    }
    if (!k) {
        key_hint(d->schema, section, key, why, sizeof why);
        return qa_fail(err, QA_ERR_CONFIG, "--set %s: unknown key '%s' in [%s]%s", arg, key,
                       section, why);
    }
    void *sbase = (char *)d->base + sec->off;
    if (cfg_parse_value(k, cfg_field(sec, k, d->base), sbase, skip_blank(eq + 1), why, sizeof why))
        return qa_fail(err, QA_ERR_CONFIG, "--set %s: %s.%s: %s", arg, section, key, why);
    char name[256];
    snprintf(name, sizeof name, "--set %s", arg);
    trace_set(d, idx, trace_file(d, name), 0);
    return QA_OK;
}

int cfg_defaults(const cfg_doc *d, qa_err *err)
{
    const cfg_schema *s = d->schema;
    if (d->trace)
        d->trace->nfiles = 0;
    int idx = 0;
    for (int i = 0; i < s->nsections; i++) {
        const cfg_section *sec = &s->sections[i];
        for (const cfg_key *k = sec->keys; k->key; k++, idx++) {
            char why[768];
            void *sbase = (char *)d->base + sec->off;
            if (idx >= CFG_MAX_KEYS ||
                cfg_parse_value(k, cfg_field(sec, k, d->base), sbase, k->def, why, sizeof why))
                return qa_fail(err, QA_ERR_CONFIG, "schema: default of %s.%s: %s", sec->name,
                               k->key, idx >= CFG_MAX_KEYS ? "more keys than CFG_MAX_KEYS" : why);
            trace_set(d, idx, -1, 0);
        }
    }
    return QA_OK;
}

void cfg_where(const cfg_doc *d, int index, char *buf, size_t n)
{
    const cfg_trace *t = d->trace;
    int file = t && index >= 0 && index < CFG_MAX_KEYS ? t->at[index].file : -1;
    if (file == -2)
        snprintf(buf, n, "a --set argument");
    else if (file < 0)
        snprintf(buf, n, "the default");
    else if (t->at[index].line > 0)
        snprintf(buf, n, "%s:%d", t->files[file], t->at[index].line);
    else
        snprintf(buf, n, "%s", t->files[file]);
}
