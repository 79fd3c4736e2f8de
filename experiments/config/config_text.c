/* config_text.c: configs and schemas as text: the resolved config rendered
 * back to INI (every key, values that read back bit for bit), the help of
 * every key (--help-config), and the schema's own consistency check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/config/config.h"

/* Appends to a growing malloc'd buffer; returns -1 when memory runs out. */
static int text_append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t c = (*cap ? *cap * 2 : 4096) + n;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return 0;
}

int cfg_render(const cfg_doc *d, char **text, qa_err *err)
{
    const cfg_schema *s = d->schema;
    char *buf = NULL, line[4200], val[4096];
    size_t len = 0, cap = 0;
    int bad = 0;
    for (int i = 0; i < s->nsections && !bad; i++) {
        const cfg_section *sec = &s->sections[i];
        snprintf(line, sizeof line, "%s[%s]\n", i ? "\n" : "", sec->name);
        bad |= text_append(&buf, &len, &cap, line);
        for (const cfg_key *k = sec->keys; k->key && !bad; k++) {
            cfg_format(k, cfg_field(sec, k, d->base), (char *)d->base + sec->off, val, sizeof val);
            snprintf(line, sizeof line, "%s = %s\n", k->key, val);
            bad |= text_append(&buf, &len, &cap, line);
        }
    }
    if (bad || !buf) {
        free(buf);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory rendering the config");
    }
    *text = buf;
    return QA_OK;
}

/* The value syntax and range of k, for the help text. */
static void key_type_text(const cfg_key *k, char *buf, size_t n)
{
    static const char *const what[] = {
        [CFG_INT] = "integer in", [CFG_FLOAT] = "number in", [CFG_DOUBLE] = "number in",
        [CFG_INT_LIST] = "comma list of integers in", [CFG_NUM_LIST] = "comma list of numbers in",
        [CFG_ENUM] = "one of:", [CFG_NAME_LIST] = "comma list of:"};
    size_t used;
    switch (k->type) {
    case CFG_BOOL:
        snprintf(buf, n, "boolean (true/false, yes/no, on/off, 1/0)");
        return;
    case CFG_STRING:
        snprintf(buf, n, "text of up to %zu characters", k->size - 1);
        return;
    case CFG_CUSTOM:
        snprintf(buf, n, "text (syntax in the help)");
        return;
    case CFG_ENUM:
    case CFG_NAME_LIST:
        used = (size_t)snprintf(buf, n, "%s", what[k->type]);
        for (int i = 0; cfg_choice(k, i) && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s %s", i ? "," : "", cfg_choice(k, i));
        return;
    default:
        snprintf(buf, n, "%s [%.10g, %.10g]", what[k->type], k->min, k->max);
    }
}

int cfg_describe(const cfg_schema *s, char **text, qa_err *err)
{
    char *buf = NULL, line[2048], type[1024];
    size_t len = 0, cap = 0;
    int bad = 0;
    for (int i = 0; i < s->nsections && !bad; i++) {
        const cfg_section *sec = &s->sections[i];
        snprintf(line, sizeof line, "%s[%s]  %s\n", i ? "\n" : "", sec->name, sec->help);
        bad |= text_append(&buf, &len, &cap, line);
        for (const cfg_key *k = sec->keys; k->key && !bad; k++) {
            key_type_text(k, type, sizeof type);
            snprintf(line, sizeof line, "  %s = %s\n      %s\n      %s\n", k->key,
                     k->def && *k->def ? k->def : "(empty)", type, k->help ? k->help : "");
            bad |= text_append(&buf, &len, &cap, line);
        }
    }
    for (int i = 0; s->foreign && s->foreign[i] && !bad; i++) {
        snprintf(line, sizeof line, "\n[%s]  read by its own command (qadapt %s --help)\n",
                 s->foreign[i], s->foreign[i]);
        bad |= text_append(&buf, &len, &cap, line);
    }
    if (bad || !buf) {
        free(buf);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory describing the config keys");
    }
    *text = buf;
    return QA_OK;
}

static int key_check(const cfg_section *sec, const cfg_key *k, qa_err *err)
{
    const char *why = NULL;
    if (!k->help || !*k->help)
        why = "has no help text";
    else if (!k->def)
        why = "has no default";
    else if ((k->type == CFG_INT || k->type == CFG_FLOAT || k->type == CFG_DOUBLE ||
              k->type == CFG_INT_LIST || k->type == CFG_NUM_LIST) && !(k->min <= k->max))
        why = "has min > max";
    else if (k->type == CFG_STRING && k->size < 2)
        why = "has no room for a string";
    else if ((k->type == CFG_ENUM || k->type == CFG_NAME_LIST) && !cfg_choice(k, 0))
        why = "has no choices";
    else if (k->type == CFG_CUSTOM && (!k->custom || !k->custom->parse || !k->custom->format))
        why = "lacks its parse/format functions";
    for (const cfg_key *o = sec->keys; !why && o < k; o++)
        if (strcmp(o->key, k->key) == 0)
            why = "is defined twice";
    if (why)
        return qa_fail(err, QA_ERR_CONFIG, "schema: %s.%s %s", sec->name, k->key, why);
    return QA_OK;
}

int cfg_schema_check(const cfg_schema *s, qa_err *err)
{
    for (int i = 0; i < s->nsections; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(s->sections[i].name, s->sections[j].name) == 0)
                return qa_fail(err, QA_ERR_CONFIG, "schema: section [%s] is defined twice",
                               s->sections[i].name);
        if (!s->sections[i].help || !*s->sections[i].help)
            return qa_fail(err, QA_ERR_CONFIG, "schema: section [%s] has no help text",
                           s->sections[i].name);
        for (const cfg_key *k = s->sections[i].keys; k->key; k++) {
            int rc = key_check(&s->sections[i], k, err);
            if (rc)
                return rc;
        }
    }
    return QA_OK;
}
