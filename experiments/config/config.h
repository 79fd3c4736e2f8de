/* config.h: INI text bound to C structs through a schema table.
 *
 * A schema is a list of sections; a section is a table of keys, each with a
 * type, the offset of its field in the section's struct, a default (as INI
 * text), a range and a help line. The engine reads files with inih (line
 * numbers come from our own line reader), applies `section.key=value`
 * overrides, records where every key was last set, and renders the resolved
 * values back to INI text that reads back to the same values bit for bit.
 * Every error names file:line (or the --set argument) and the key.
 *
 * Deliberately not here: which sections and keys exist (experiments/cli/schema.h
 * and the modules' own structs), and consistency rules across keys. */
#ifndef EXP_CONFIG_H
#define EXP_CONFIG_H

#include <stddef.h>

#include "nn/status.h"

#define CFG_LIST_MAX 32  /* elements of a list value */
#define CFG_MAX_KEYS 512 /* keys over all sections */
#define CFG_MAX_FILES 16 /* config files plus --set arguments one trace records */

typedef enum {
    CFG_INT,       /* int */
    CFG_FLOAT,     /* float */
    CFG_DOUBLE,    /* double */
    CFG_BOOL,      /* int 0/1; true/false, yes/no, on/off, 1/0 */
    CFG_STRING,    /* char[size] */
    CFG_ENUM,      /* int: index of the chosen name */
    CFG_INT_LIST,  /* cfg_int_list, comma separated */
    CFG_NUM_LIST,  /* cfg_num_list, comma separated */
    CFG_NAME_LIST, /* cfg_name_list: indices of names, comma separated */
    CFG_CUSTOM,    /* parsed and formatted by the key's cfg_custom on the section struct */
} cfg_type;

typedef struct {
    int n;
    int v[CFG_LIST_MAX];
} cfg_int_list;

typedef struct {
    int n;
    double v[CFG_LIST_MAX];
} cfg_num_list;

typedef struct {
    int n;
    int v[CFG_LIST_MAX];
} cfg_name_list;

/* For values with their own syntax (e.g. quant's per-layer widths): parse
 * sets the section struct's fields from text, format writes them back. */
typedef struct {
    int (*parse)(void *section, const char *text, qa_err *err);
    void (*format)(const void *section, char *buf, size_t n);
} cfg_custom;

typedef struct {
    const char *key;
    cfg_type type;
    size_t off;                      /* of the field in the section struct */
    size_t size;                     /* CFG_STRING: capacity including the NUL */
    const char *def;                 /* default value as INI text */
    double min, max;                 /* numbers and list elements */
    const char *const *names;        /* CFG_ENUM/CFG_NAME_LIST: NULL-terminated choices */
    const char *(*choice)(int i);    /* ... or the i-th choice, NULL past the end */
    const cfg_custom *custom;        /* CFG_CUSTOM */
    const char *help;
} cfg_key;

typedef struct {
    const char *name;
    const cfg_key *keys; /* terminated by an entry with key == NULL */
    size_t off;          /* of the section struct in the whole config */
    const char *help;
    /* consistency inside the section once every key is read; NULL: none */
    int (*check)(const void *section, qa_err *err);
} cfg_section;

/* Keys that moved between sections, names unchanged: every key of section
 * `to` that section `from` does not have lived in `from` once. In a config
 * file or --set such a key is an error naming its new place; in a stored
 * config (cfg_load_stored: a run file's or checkpoint's /config written
 * before the move) it is read into its new place. */
typedef struct {
    const char *from, *to;
} cfg_moved;

typedef struct {
    const cfg_section *sections;
    int nsections;
    /* sections another reader owns (experiments/sweep.h: [sweep]), NULL-
     * terminated or NULL: the engine passes over their lines */
    const char *const *foreign;
    const cfg_moved *moved; /* terminated by {NULL, NULL}; NULL: none */
} cfg_schema;

/* Where each key (by flat index over the schema) was last set: file index
 * and line; file -1 means the default. --set arguments are recorded as
 * "files" with line 0. */
typedef struct {
    char files[CFG_MAX_FILES][256];
    int nfiles;
    struct {
        int file, line;
    } at[CFG_MAX_KEYS];
} cfg_trace;

typedef struct {
    const cfg_schema *schema;
    void *base;       /* the config struct the sections' offsets point into */
    cfg_trace *trace; /* NULL: not kept */
    /* "section.key=value" overrides cfg_set will apply after the files:
     * a file's value of a key they set is not parsed (it would be replaced;
     * it may not load yet, e.g. quant.plan naming a search still to run).
     * NULL: every value is parsed. */
    char *const *sets;
    int nsets;
} cfg_doc;

/* Every key to its default; the trace forgets all files. */
int cfg_defaults(const cfg_doc *d, qa_err *err);
/* Keys of an INI file override the current values. Lines `include = path`
 * before the first section read path (relative to the including file)
 * first, so the file's own keys override it; a missing file or a cycle is
 * an error naming file:line. */
int cfg_load_file(const cfg_doc *d, const char *path, qa_err *err);
/* The same for text held in memory; name stands for the file in messages
 * (and its directory for relative includes). */
int cfg_load_text(const cfg_doc *d, const char *text, const char *name, qa_err *err);
/* cfg_load_text of a config a program stored (a run file's resolved
 * config): keys that moved since (cfg_moved) are read into their new
 * section instead of refused. */
int cfg_load_stored(const cfg_doc *d, const char *text, const char *name, qa_err *err);
/* One "section.key=value" override. An argument not of that form is bad
 * usage (QA_ERR_ARG); a key or value that is wrong is QA_ERR_CONFIG, as it
 * would be in a file. */
int cfg_set(const cfg_doc *d, const char *assignment, qa_err *err);
/* The resolved config as INI text, every key of every section (malloc'd). */
int cfg_render(const cfg_doc *d, char **text, qa_err *err);

/* Every section and key with its default, syntax, range and help, as text
 * grouped by section (malloc'd), for --help-config; foreign sections are
 * named with the command that reads them. */
int cfg_describe(const cfg_schema *s, char **text, qa_err *err);

/* Key by section and name; *index gets its flat index. NULL if unknown. */
const cfg_key *cfg_lookup(const cfg_schema *s, const char *section, const char *key,
                          const cfg_section **sec, int *index);
/* The key's field inside the config struct base. */
void *cfg_field(const cfg_section *sec, const cfg_key *k, const void *base);
/* i-th choice of an enum or name-list key, NULL past the end. */
const char *cfg_choice(const cfg_key *k, int i);
/* Parses one value into field (section: the struct holding it, for
 * CFG_CUSTOM); on failure returns -1 with the reason in why. */
int cfg_parse_value(const cfg_key *k, void *field, void *section, const char *text, char *why,
                    size_t n);
/* One value as INI text (lists comma separated, floats round-tripping). */
void cfg_format(const cfg_key *k, const void *field, const void *section, char *buf, size_t n);
/* "file:line", "--set arg" or "default" for the key with flat index i. */
void cfg_where(const cfg_doc *d, int index, char *buf, size_t n);
/* The schema itself: every key has help, a unique name and a default that
 * parses and lies within its range; section names are unique. */
int cfg_schema_check(const cfg_schema *s, qa_err *err);

#endif
