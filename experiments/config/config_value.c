/* config_value.c: one value of each cfg_type from INI text and back.
 * Dispatch is by a table indexed by the type; floats are written with the
 * fewest digits that read back to the same bits. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "experiments/config/config.h"

typedef int (*value_parse_fn)(const cfg_key *k, void *field, const char *text, char *why,
                              size_t n);
typedef void (*value_format_fn)(const cfg_key *k, const void *field, char *buf, size_t n);

const char *cfg_choice(const cfg_key *k, int i)
{
    if (i < 0)
        return NULL;
    if (k->choice)
        return k->choice(i);
    for (int j = 0; k->names && k->names[j]; j++)
        if (j == i)
            return k->names[j];
    return NULL;
}

/* "a, b, c" for messages */
static void choices_text(const cfg_key *k, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; cfg_choice(k, i) && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", cfg_choice(k, i));
        used += w > 0 ? (size_t)w : 0;
    }
}

static int range_error(const cfg_key *k, const char *text, const char *kind, char *why, size_t n)
{
    snprintf(why, n, "'%s' is not %s in [%g, %g]", text, kind, k->min, k->max);
    return -1;
}

static int number_of(const cfg_key *k, const char *text, int integer, double *v, char *why,
                     size_t n)
{
    const char *kind = integer ? "an integer" : "a number";
    char *end;
    errno = 0;
    if (integer) {
        long x = strtol(text, &end, 10);
        *v = (double)x;
    } else {
        *v = strtod(text, &end);
    }
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(*v) || *v < k->min ||
        *v > k->max)
        return range_error(k, text, kind, why, n);
    return 0;
}

static int name_of(const cfg_key *k, const char *text, int *v, char *why, size_t n)
{
    for (int i = 0; cfg_choice(k, i); i++)
        if (strcmp(cfg_choice(k, i), text) == 0) {
            *v = i;
            return 0;
        }
    char list[512];
    choices_text(k, list, sizeof list);
    snprintf(why, n, "'%s' is not one of: %s", text, list);
    return -1;
}

static int parse_int(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    double v;
    if (number_of(k, text, 1, &v, why, n))
        return -1;
    *(int *)field = (int)v;
    return 0;
}

static int parse_float(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    double v;
    if (number_of(k, text, 0, &v, why, n))
        return -1;
    *(float *)field = (float)v;
    return 0;
}

static int parse_double(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    return number_of(k, text, 0, (double *)field, why, n);
}

static int parse_bool(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    (void)k;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *(int *)field = strcasecmp(text, yes[i]) == 0;
            return 0;
        }
    }
    snprintf(why, n, "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", text);
    return -1;
}

/* Text that would not read back the same from an INI line is refused: a
 * leading ';' too, which the rendered "key = ;..." turns into a comment. */
static int parse_string(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    size_t len = strlen(text);
    if (strpbrk(text, "\r\n") || strstr(text, " ;") || strstr(text, "\t;") || text[0] == ';' ||
        (len && (text[0] == ' ' || text[0] == '\t' || text[len - 1] == ' ' || text[len - 1] == '\t'))) {
        snprintf(why, n, "'%.40s' has a line break, an inline ' ;', a leading ';' or blanks at "
                 "its ends", text);
        return -1;
    }
    if (len >= k->size) {
        snprintf(why, n, "'%.40s...' is longer than %zu characters", text, k->size - 1);
        return -1;
    }
    memcpy(field, text, strlen(text) + 1);
    return 0;
}

static int parse_enum(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    return name_of(k, text, (int *)field, why, n);
}

/* Splits "a, b,c" into trimmed elements and parses each with the key's
 * element rule: 'i' integer, 'f' number, 'n' name. */
static int parse_list(const cfg_key *k, const char *text, int kind, int *count, int *iv,
                      double *dv, char *why, size_t n)
{
    *count = 0;
    if (*text == '\0')
        return 0;
    for (const char *p = text;; p++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char elem[256];
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || len >= sizeof elem || *count == CFG_LIST_MAX) {
            snprintf(why, n, "'%s': %s", text,
                     len == 0 ? "empty list element" : "list too long (at most 32 elements of 255 characters)");
            return -1;
        }
        memcpy(elem, p, len);
        elem[len] = '\0';
        double v = 0;
        int rc = kind == 'n' ? name_of(k, elem, &iv[*count], why, n)
                             : number_of(k, elem, kind == 'i', &v, why, n);
        if (rc)
            return -1;
        if (kind == 'i')
            iv[*count] = (int)v;
        else if (kind == 'f')
            dv[*count] = v;
        (*count)++;
        if (!comma)
            return 0;
        p = comma;
    }
}

static int parse_int_list(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    cfg_int_list *l = field, tmp = {0};
    if (parse_list(k, text, 'i', &tmp.n, tmp.v, NULL, why, n))
        return -1;
    *l = tmp;
    return 0;
}

static int parse_num_list(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    cfg_num_list *l = field, tmp = {0};
    if (parse_list(k, text, 'f', &tmp.n, NULL, tmp.v, why, n))
        return -1;
    *l = tmp;
    return 0;
}

static int parse_name_list(const cfg_key *k, void *field, const char *text, char *why, size_t n)
{
    cfg_name_list *l = field, tmp = {0};
    if (parse_list(k, text, 'n', &tmp.n, tmp.v, NULL, why, n))
        return -1;
    *l = tmp;
    return 0;
}

/* The fewest significant digits that read back to v exactly. */
static void format_real(double v, int is_float, char *buf, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (is_float ? (float)back == (float)v : back == v)
            return;
    }
}

static void format_int(const cfg_key *k, const void *field, char *buf, size_t n)
{
    (void)k;
    snprintf(buf, n, "%d", *(const int *)field);
}

static void format_float(const cfg_key *k, const void *field, char *buf, size_t n)
{
    (void)k;
    format_real(*(const float *)field, 1, buf, n);
}

static void format_double(const cfg_key *k, const void *field, char *buf, size_t n)
{
    (void)k;
    format_real(*(const double *)field, 0, buf, n);
}

static void format_bool(const cfg_key *k, const void *field, char *buf, size_t n)
{
    (void)k;
    snprintf(buf, n, "%s", *(const int *)field ? "true" : "false");
}

static void format_string(const cfg_key *k, const void *field, char *buf, size_t n)
{
    (void)k;
    snprintf(buf, n, "%s", (const char *)field);
}

static void format_enum(const cfg_key *k, const void *field, char *buf, size_t n)
{
    const char *name = cfg_choice(k, *(const int *)field);
    snprintf(buf, n, "%s", name ? name : "?");
}

/* The count elements of a list field, comma separated. */
static void format_list(int count, const cfg_key *k, const void *field, int kind, char *buf,
                        size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && used + 1 < n; i++) {
        char tmp[64];
        if (kind == 'i')
            snprintf(tmp, sizeof tmp, "%d", ((const cfg_int_list *)field)->v[i]);
        else if (kind == 'f')
            format_real(((const cfg_num_list *)field)->v[i], 0, tmp, sizeof tmp);
        else
            snprintf(tmp, sizeof tmp, "%s", cfg_choice(k, ((const cfg_name_list *)field)->v[i]));
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", tmp);
        used += w > 0 ? (size_t)w : 0;
    }
}

static void format_int_list(const cfg_key *k, const void *field, char *buf, size_t n)
{
    format_list(((const cfg_int_list *)field)->n, k, field, 'i', buf, n);
}

static void format_num_list(const cfg_key *k, const void *field, char *buf, size_t n)
{
    format_list(((const cfg_num_list *)field)->n, k, field, 'f', buf, n);
}

static void format_name_list(const cfg_key *k, const void *field, char *buf, size_t n)
{
    format_list(((const cfg_name_list *)field)->n, k, field, 'n', buf, n);
}

static const struct {
    value_parse_fn parse;
    value_format_fn format;
} value_ops[] = {
    [CFG_INT] = {parse_int, format_int},
    [CFG_FLOAT] = {parse_float, format_float},
    [CFG_DOUBLE] = {parse_double, format_double},
    [CFG_BOOL] = {parse_bool, format_bool},
    [CFG_STRING] = {parse_string, format_string},
    [CFG_ENUM] = {parse_enum, format_enum},
    [CFG_INT_LIST] = {parse_int_list, format_int_list},
    [CFG_NUM_LIST] = {parse_num_list, format_num_list},
    [CFG_NAME_LIST] = {parse_name_list, format_name_list},
    [CFG_CUSTOM] = {NULL, NULL},
};

int cfg_parse_value(const cfg_key *k, void *field, void *section, const char *text, char *why,
                    size_t n)
{
    if (k->type == CFG_CUSTOM) {
        qa_err e = {0};
        if (k->custom->parse(section, text, &e) == QA_OK)
            return 0;
        snprintf(why, n, "%s", e.msg);
        return -1;
    }
    return value_ops[k->type].parse(k, field, text, why, n);
}

void cfg_format(const cfg_key *k, const void *field, const void *section, char *buf, size_t n)
{
    if (k->type == CFG_CUSTOM)
        k->custom->format(section, buf, n);
    else
        value_ops[k->type].format(k, field, buf, n);
}
