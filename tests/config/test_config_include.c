/* test_config_include.c: `include = path` (relative paths, overrides, the
 * trace, missing files, cycles, misplaced includes, errors inside included
 * files) and the completeness of the real schema: every key of every
 * section has help, a default that parses and lies within its range, and
 * appears in --help-config's text. The schema tests iterate exp_schema
 * itself, so keys added later are covered without editing this file. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_main.h"
#include "experiments/cli/schema.h"
#include "experiments/config/config.h"

static char tmp[64];
static exp_config *cfg;

static void setup(void)
{
    qa_test_tmpdir(tmp, sizeof tmp, "include");
    cfg = malloc(sizeof *cfg);
    ck_assert_ptr_nonnull(cfg);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
    free(cfg);
}

/* Writes text to tmp/name (creating tmp/sub when name is under it). */
static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/sub", tmp);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Loads tmp/name; returns the status, message in err. */
static int load(const char *name, qa_err *err)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    memset(err, 0, sizeof *err);
    return exp_config_load(cfg, path, NULL, 0, err);
}

static void where(const char *section, const char *key, char *buf, size_t n)
{
    int idx = -1;
    ck_assert_ptr_nonnull(cfg_lookup(&exp_schema, section, key, NULL, &idx));
    cfg_doc d = exp_config_doc(cfg);
    cfg_where(&d, idx, buf, n);
}

START_TEST(test_include_overrides)
{
    write_file("base.ini", "[train]\nlr = 0.1\nepochs = 3\n\n[model]\narch = resnet20\n");
    write_file("sub/run.ini", "; shared base first\ninclude = ../base.ini\n\n[train]\nepochs = 5\n");
    qa_err err;
    ck_assert_msg(load("sub/run.ini", &err) == QA_OK, "%s", err.msg);
    ck_assert_float_eq(cfg->train.lr, 0.1f);
    ck_assert_int_eq(cfg->train.epochs, 5);
    ck_assert_int_eq(cfg->model.arch, 1);
    char w[400], want[300];
    where("train", "lr", w, sizeof w);
    snprintf(want, sizeof want, "%s/sub/../base.ini:2", tmp);
    ck_assert_str_eq(w, want);
    where("train", "epochs", w, sizeof w);
    snprintf(want, sizeof want, "%s/sub/run.ini:5", tmp);
    ck_assert_str_eq(w, want);
    /* two includes in order: the later one overrides the earlier */
    write_file("sub/other.ini", "[train]\nlr = 0.2\n");
    write_file("sub/two.ini", "include = ../base.ini\ninclude = other.ini\n");
    ck_assert_msg(load("sub/two.ini", &err) == QA_OK, "%s", err.msg);
    ck_assert_float_eq(cfg->train.lr, 0.2f);
    ck_assert_int_eq(cfg->train.epochs, 3);
    /* an absolute path */
    char text[300];
    snprintf(text, sizeof text, "include = %s/base.ini\n", tmp);
    write_file("abs.ini", text);
    ck_assert_msg(load("abs.ini", &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(cfg->train.epochs, 3);
}
END_TEST

static void expect_error(const char *name, const char *frag1, const char *frag2)
{
    qa_err err;
    ck_assert_int_ne(load(name, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, frag1) && (!frag2 || strstr(err.msg, frag2)), "%s", err.msg);
}

START_TEST(test_include_errors)
{
    char f1[300], f2[300];
    write_file("missing.ini", "[experiment]\n\ninclude = nope.ini\n");
    snprintf(f1, sizeof f1, "%s/missing.ini:3: include must come before", tmp);
    expect_error("missing.ini", f1, NULL);
    write_file("missing2.ini", "; base\ninclude = nope.ini\n[train]\nepochs = 2\n");
    snprintf(f1, sizeof f1, "%s/missing2.ini:2: include nope.ini: cannot open %s/nope.ini", tmp,
             tmp);
    expect_error("missing2.ini", f1, "No such file");
    write_file("empty.ini", "include =\n");
    snprintf(f1, sizeof f1, "%s/empty.ini:1: include needs a file name", tmp);
    expect_error("empty.ini", f1, NULL);

    /* a -> b -> a, and a file including itself */
    write_file("a.ini", "include = sub/b.ini\n");
    write_file("sub/b.ini", "include = ../a.ini\n");
    snprintf(f1, sizeof f1, "%s/sub/b.ini:1: include cycle: %s/a.ini -> %s/sub/b.ini -> ", tmp,
             tmp, tmp);
    snprintf(f2, sizeof f2, "(included from %s/a.ini:1)", tmp);
    expect_error("a.ini", f1, f2);
    write_file("self.ini", "; me\ninclude = self.ini\n");
    snprintf(f1, sizeof f1, "%s/self.ini:2: include cycle", tmp);
    expect_error("self.ini", f1, NULL);

    /* the same base twice along different branches is not a cycle */
    write_file("base.ini", "[train]\nlr = 0.1\n");
    write_file("left.ini", "include = base.ini\n");
    write_file("diamond.ini", "include = base.ini\ninclude = left.ini\n");
    qa_err err;
    ck_assert_msg(load("diamond.ini", &err) == QA_OK, "%s", err.msg);

    /* errors inside an included file name that file's line and the include */
    write_file("bad_base.ini", "[train]\nlr = 0.1\nepochz = 3\n");
    write_file("uses_bad.ini", "include = bad_base.ini\n");
    snprintf(f1, sizeof f1, "%s/bad_base.ini:3: unknown key 'epochz' in [train]", tmp);
    snprintf(f2, sizeof f2, "(included from %s/uses_bad.ini:1)", tmp);
    expect_error("uses_bad.ini", f1, f2);
    write_file("range_base.ini", "[train]\nlr = -1\n");
    write_file("uses_range.ini", "include = range_base.ini\n");
    snprintf(f1, sizeof f1, "%s/range_base.ini:2: train.lr: '-1' is not a number in", tmp);
    expect_error("uses_range.ini", f1, "included from");
}
END_TEST

/* Chains of includes deeper than the limit stop with a message. */
START_TEST(test_include_depth)
{
    char name[32], text[64];
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "d%d.ini", i);
        snprintf(text, sizeof text, i < 11 ? "include = d%d.ini\n" : "[train]\nlr = 0.3\n", i + 1);
        write_file(name, text);
    }
    expect_error("d0.ini", "nested includes", NULL);
    qa_err err;
    ck_assert_msg(load("d4.ini", &err) == QA_OK, "%s", err.msg);
    ck_assert_float_eq(cfg->train.lr, 0.3f);
}
END_TEST

/* Every key of the real schema: help, a default that parses and lies in
 * its range (read back from the field, not trusted to the parser). */
START_TEST(test_every_key_help_and_default)
{
    qa_err err = {0};
    ck_assert_msg(cfg_schema_check(&exp_schema, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(exp_config_defaults(cfg, &err), QA_OK);
    int nkeys = 0;
    for (int i = 0; i < exp_schema.nsections; i++) {
        const cfg_section *sec = &exp_schema.sections[i];
        ck_assert_msg(sec->help && *sec->help, "[%s] has no help", sec->name);
        for (const cfg_key *k = sec->keys; k->key; k++, nkeys++) {
            ck_assert_msg(k->help && strlen(k->help) >= 8, "%s.%s: no help", sec->name, k->key);
            ck_assert_msg(k->def != NULL, "%s.%s: no default", sec->name, k->key);
            const void *f = cfg_field(sec, k, cfg);
            double lo = k->min, hi = k->max;
            switch (k->type) {
            case CFG_INT:
                ck_assert_msg(*(const int *)f >= lo && *(const int *)f <= hi,
                              "%s.%s: default %d outside [%g, %g]", sec->name, k->key,
                              *(const int *)f, lo, hi);
                break;
            case CFG_FLOAT:
                ck_assert_msg(*(const float *)f >= lo && *(const float *)f <= hi,
                              "%s.%s: default outside its range", sec->name, k->key);
                break;
            case CFG_DOUBLE:
                ck_assert_msg(*(const double *)f >= lo && *(const double *)f <= hi,
                              "%s.%s: default outside its range", sec->name, k->key);
                break;
            case CFG_INT_LIST:
                for (int j = 0; j < ((const cfg_int_list *)f)->n; j++)
                    ck_assert_msg(((const cfg_int_list *)f)->v[j] >= lo &&
                                      ((const cfg_int_list *)f)->v[j] <= hi,
                                  "%s.%s: default element outside its range", sec->name, k->key);
                break;
            case CFG_NUM_LIST:
                for (int j = 0; j < ((const cfg_num_list *)f)->n; j++)
                    ck_assert_msg(((const cfg_num_list *)f)->v[j] >= lo &&
                                      ((const cfg_num_list *)f)->v[j] <= hi,
                                  "%s.%s: default element outside its range", sec->name, k->key);
                break;
            case CFG_ENUM:
                ck_assert_msg(cfg_choice(k, *(const int *)f) != NULL, "%s.%s: bad default",
                              sec->name, k->key);
                break;
            case CFG_BOOL:
                ck_assert(*(const int *)f == 0 || *(const int *)f == 1);
                break;
            default:
                break;
            }
            /* the rendered default reads back to itself */
            char a[4096], b[4096], why[768];
            cfg_format(k, f, (const char *)cfg + sec->off, a, sizeof a);
            ck_assert_msg(cfg_parse_value(k, cfg_field(sec, k, cfg), (char *)cfg + sec->off, a, why,
                                          sizeof why) == 0,
                          "%s.%s: '%s': %s", sec->name, k->key, a, why);
            cfg_format(k, f, (const char *)cfg + sec->off, b, sizeof b);
            ck_assert_str_eq(a, b);
        }
    }
    ck_assert_int_ge(nkeys, 30);
}
END_TEST

/* --help-config's text lists every section and every key with its help. */
START_TEST(test_help_config_text)
{
    char *text = NULL;
    qa_err err = {0};
    ck_assert_int_eq(cfg_describe(&exp_schema, &text, &err), QA_OK);
    for (int i = 0; i < exp_schema.nsections; i++) {
        const cfg_section *sec = &exp_schema.sections[i];
        char head[128];
        snprintf(head, sizeof head, "[%s]  %s\n", sec->name, sec->help);
        const char *at = strstr(text, head);
        ck_assert_msg(at != NULL, "no header %s", head);
        for (const cfg_key *k = sec->keys; k->key; k++) {
            char line[600];
            snprintf(line, sizeof line, "  %s = %s\n", k->key, *k->def ? k->def : "(empty)");
            const char *kl = strstr(at, line);
            ck_assert_msg(kl != NULL, "%s.%s missing: %s", sec->name, k->key, line);
            ck_assert_msg(strstr(kl, k->help) != NULL, "%s.%s: help missing", sec->name, k->key);
        }
    }
    ck_assert_ptr_nonnull(strstr(text, "  lr = 0.05\n      number in [1e-08, 100]\n"));
    ck_assert_ptr_nonnull(strstr(text, "  drop_last = true\n      boolean"));
    ck_assert_ptr_nonnull(strstr(text, "  method = fp32\n      one of: fp32, fixed"));
    free(text);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("config_include");
    TCase *tc = tcase_create("include");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_include_overrides);
    tcase_add_test(tc, test_include_errors);
    tcase_add_test(tc, test_include_depth);
    tcase_add_test(tc, test_every_key_help_and_default);
    tcase_add_test(tc, test_help_config_text);
    suite_add_tcase(s, tc);
    return s;
}
