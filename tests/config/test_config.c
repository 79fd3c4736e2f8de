/* test_config.c: the INI binding engine on a schema of every value type:
 * parsing, defaults, overrides, errors naming file:line and the key,
 * rendering and the text round trip, and the schema self-check. */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "experiments/cli/schema.h"
#include "experiments/config/config.h"
#include <dirent.h>

typedef struct {
    int n;
    float f;
    double d;
    int b;
    char s[16];
    int e;
    cfg_int_list il;
    cfg_num_list nl;
    cfg_name_list names;
    int w, a; /* custom "w:a" */
} sec_a;

typedef struct {
    int k;
} sec_b;

typedef struct {
    sec_a a;
    sec_b b;
    cfg_trace trace;
} tconf;

static const char *const colours[] = {"red", "green", "blue", NULL};

static int wa_parse(void *section, const char *text, qa_err *err)
{
    sec_a *s = section;
    char tail;
    if (sscanf(text, "%d:%d%c", &s->w, &s->a, &tail) != 2)
        return qa_fail(err, QA_ERR_CONFIG, "'%s' is not W:A", text);
    return QA_OK;
}

static void wa_format(const void *section, char *buf, size_t n)
{
    const sec_a *s = section;
    snprintf(buf, n, "%d:%d", s->w, s->a);
}

static const cfg_custom wa = {wa_parse, wa_format};

#define FIELD(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)
static const cfg_key a_keys[] = {
    {.key = "n", .type = CFG_INT, FIELD(sec_a, n), .def = "3", .min = 1, .max = 10, .help = "an int"},
    {.key = "f", .type = CFG_FLOAT, FIELD(sec_a, f), .def = "0.05", .min = 0, .max = 1, .help = "a float"},
    {.key = "d", .type = CFG_DOUBLE, FIELD(sec_a, d), .def = "1e-7", .min = -1, .max = 1, .help = "a double"},
    {.key = "b", .type = CFG_BOOL, FIELD(sec_a, b), .def = "yes", .help = "a bool"},
    {.key = "s", .type = CFG_STRING, FIELD(sec_a, s), .def = "hello", .help = "a string"},
    {.key = "e", .type = CFG_ENUM, FIELD(sec_a, e), .def = "green", .names = colours, .help = "an enum"},
    {.key = "il", .type = CFG_INT_LIST, FIELD(sec_a, il), .def = "0, 1, 2", .min = 0, .max = 5, .help = "ints"},
    {.key = "nl", .type = CFG_NUM_LIST, FIELD(sec_a, nl), .def = "", .min = -10, .max = 10, .help = "numbers"},
    {.key = "names", .type = CFG_NAME_LIST, FIELD(sec_a, names), .def = "blue,red", .names = colours, .help = "names"},
    {.key = "wa", .type = CFG_CUSTOM, .def = "8:8", .custom = &wa, .help = "a custom pair"},
    {0},
};
static const cfg_key b_keys[] = {
    {.key = "k", .type = CFG_INT, FIELD(sec_b, k), .def = "0", .min = -5, .max = 5, .help = "an int"},
    {0},
};
static const cfg_section sections[] = {
    {"alpha", a_keys, offsetof(tconf, a), "first", NULL},
    {"beta", b_keys, offsetof(tconf, b), "second", NULL},
};
static const cfg_schema schema = {sections, 2, NULL, NULL};

static tconf conf;
static cfg_doc doc;

static void setup(void)
{
    memset(&conf, 0, sizeof conf);
    doc = (cfg_doc){.schema = &schema, .base = &conf, .trace = &conf.trace};
    qa_err err;
    ck_assert_int_eq(cfg_defaults(&doc, &err), QA_OK);
}

/* Loads text as "t.ini"; expects failure with a message holding each of
 * the NULL-terminated fragments. */
static void expect_text_error(const char *text, ...)
{
    setup();
    qa_err err = {0};
    ck_assert_int_eq(cfg_load_text(&doc, text, "t.ini", &err), QA_ERR_CONFIG);
    va_list ap;
    va_start(ap, text);
    for (const char *frag; (frag = va_arg(ap, const char *)) != NULL;)
        ck_assert_msg(strstr(err.msg, frag) != NULL, "'%s' not in: %s", frag, err.msg);
    va_end(ap);
}

START_TEST(test_defaults)
{
    setup();
    ck_assert_int_eq(conf.a.n, 3);
    ck_assert_float_eq(conf.a.f, 0.05f);
    ck_assert_double_eq(conf.a.d, 1e-7);
    ck_assert_int_eq(conf.a.b, 1);
    ck_assert_str_eq(conf.a.s, "hello");
    ck_assert_int_eq(conf.a.e, 1);
    ck_assert_int_eq(conf.a.il.n, 3);
    ck_assert_int_eq(conf.a.il.v[2], 2);
    ck_assert_int_eq(conf.a.nl.n, 0);
    ck_assert_int_eq(conf.a.names.n, 2);
    ck_assert_int_eq(conf.a.names.v[0], 2);
    ck_assert_int_eq(conf.a.w, 8);
    char where[300];
    cfg_where(&doc, 0, where, sizeof where);
    ck_assert_str_eq(where, "the default");
    qa_err err;
    ck_assert_int_eq(cfg_schema_check(&schema, &err), QA_OK);
}
END_TEST

START_TEST(test_parse_values)
{
    setup();
    const char *text = "; comment\n# another\n\n[alpha]\nn = 10\nf=0.25 ; inline comment\n"
                       "d = -0.5\nb = OFF\ns = a b/c.txt\ne = blue\nil = 5,4 , 3\n"
                       "nl = -1.5, 2e-3, 10\nnames = green\nwa = 4:2\n[beta]\nk = -5\n";
    qa_err err = {0};
    ck_assert_msg(cfg_load_text(&doc, text, "t.ini", &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(conf.a.n, 10);
    ck_assert_float_eq(conf.a.f, 0.25f);
    ck_assert_double_eq(conf.a.d, -0.5);
    ck_assert_int_eq(conf.a.b, 0);
    ck_assert_str_eq(conf.a.s, "a b/c.txt");
    ck_assert_int_eq(conf.a.e, 2);
    ck_assert_int_eq(conf.a.il.n, 3);
    ck_assert_int_eq(conf.a.il.v[1], 4);
    ck_assert_int_eq(conf.a.nl.n, 3);
    ck_assert_double_eq(conf.a.nl.v[1], 2e-3);
    ck_assert_int_eq(conf.a.names.n, 1);
    ck_assert_int_eq(conf.a.w, 4);
    ck_assert_int_eq(conf.a.a, 2);
    ck_assert_int_eq(conf.b.k, -5);
    int idx;
    ck_assert_ptr_nonnull(cfg_lookup(&schema, "alpha", "f", NULL, &idx));
    char where[300];
    cfg_where(&doc, idx, where, sizeof where);
    ck_assert_str_eq(where, "t.ini:6");
}
END_TEST

START_TEST(test_unknown_key)
{
    expect_text_error("[alpha]\nn = 2\nnn = 3\n", "t.ini:3:", "unknown key 'nn' in [alpha]",
                      "did you mean n?", NULL);
    expect_text_error("[beta]\n\nf = 0.1\n", "t.ini:3:", "unknown key 'f' in [beta]",
                      "did you mean [alpha] f?", NULL);
}
END_TEST

START_TEST(test_unknown_section)
{
    expect_text_error("[alpha]\nn = 2\n[gamma]\n", "t.ini:3:", "unknown section [gamma]",
                      "alpha, beta", NULL);
    expect_text_error("n = 2\n", "t.ini:1:", "'n' comes before any [section]", NULL);
}
END_TEST

START_TEST(test_bad_type)
{
    expect_text_error("[alpha]\nn = 2.5\n", "t.ini:2:", "alpha.n", "'2.5' is not an integer", NULL);
    expect_text_error("[alpha]\n\nf = fast\n", "t.ini:3:", "alpha.f", "'fast' is not a number", NULL);
    expect_text_error("[alpha]\nb = maybe\n", "t.ini:2:", "alpha.b", "not a boolean", NULL);
    expect_text_error("[alpha]\ne = purple\n", "t.ini:2:", "alpha.e", "red, green, blue", NULL);
    expect_text_error("[alpha]\nil = 1,,2\n", "t.ini:2:", "alpha.il", "empty list element", NULL);
    expect_text_error("[alpha]\nnames = red, pink\n", "t.ini:2:", "'pink' is not one of", NULL);
    expect_text_error("[alpha]\nwa = 4\n", "t.ini:2:", "alpha.wa", "'4' is not W:A", NULL);
    expect_text_error("[alpha]\ns = much too long a string\n", "t.ini:2:", "longer than 15", NULL);
    expect_text_error("[alpha]\nn = 99999999999999999999\n", "t.ini:2:", "not an integer", NULL);
}
END_TEST

START_TEST(test_out_of_range)
{
    expect_text_error("[alpha]\nn = 11\n", "t.ini:2:", "alpha.n", "'11' is not an integer in [1, 10]", NULL);
    expect_text_error("[alpha]\nf = -0.1\n", "t.ini:2:", "alpha.f", "in [0, 1]", NULL);
    expect_text_error("[alpha]\nd = nan\n", "t.ini:2:", "alpha.d", "'nan' is not a number", NULL);
    expect_text_error("[alpha]\nd = inf\n", "t.ini:2:", "alpha.d", NULL);
    expect_text_error("[alpha]\nil = 1, 6\n", "t.ini:2:", "alpha.il", "'6'", NULL);
}
END_TEST

START_TEST(test_syntax_errors)
{
    expect_text_error("[alpha]\nn = 2\nn = 3\n", "t.ini:3:", "[alpha] n is set twice (first at line 2)", NULL);
    expect_text_error("[alpha]\nn 2\n", "t.ini:2:", "syntax error", NULL);
    expect_text_error("[alpha\nn = 2\n", "t.ini:1:", "syntax error", NULL);
    expect_text_error("[alpha]\nn = 2\n  4\n", "t.ini:3:", "indented line", NULL);
}
END_TEST

START_TEST(test_missing_file)
{
    setup();
    qa_err err;
    ck_assert_int_eq(cfg_load_file(&doc, "/nonexistent/x.ini", &err), QA_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.ini: cannot open config"));
    char path[] = "/tmp/qa_test_cfg_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "[beta]\nk = 9\n", 13), 13);
    close(fd);
    ck_assert_int_eq(cfg_load_file(&doc, path, &err), QA_ERR_CONFIG);
    char want[64];
    snprintf(want, sizeof want, "%s:2: beta.k", path);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, "[beta]\nk = 4\0\n", 14), 14);
    close(fd);
    ck_assert_int_eq(cfg_load_file(&doc, path, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "NUL byte"));
    unlink(path);
}
END_TEST

START_TEST(test_set)
{
    setup();
    qa_err err = {0};
    ck_assert_int_eq(cfg_set(&doc, "alpha.n=7", &err), QA_OK);
    ck_assert_int_eq(cfg_set(&doc, "alpha.s= spaced out", &err), QA_OK);
    ck_assert_int_eq(conf.a.n, 7);
    ck_assert_str_eq(conf.a.s, "spaced out");
    int idx;
    cfg_lookup(&schema, "alpha", "n", NULL, &idx);
    char where[300];
    cfg_where(&doc, idx, where, sizeof where);
    ck_assert_str_eq(where, "--set alpha.n=7");
    static const struct {
        const char *arg, *frag;
    } bad[] = {
        {"alpha.n", "--set alpha.n: expected section.key=value"},
        {"n=3", "--set n=3: expected section.key=value"},
        {".n=3", "expected section.key=value"},
        {"alpha.=3", "expected section.key=value"},
        {"gamma.n=3", "--set gamma.n=3: unknown section [gamma]"},
        {"alpha.m=3", "--set alpha.m=3: unknown key 'm' in [alpha] (did you mean n?)"},
        {"alpha.n=0", "--set alpha.n=0: alpha.n: '0' is not an integer in [1, 10]"},
        {"beta.k=x", "--set beta.k=x: beta.k: 'x' is not an integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(cfg_set(&doc, bad[i].arg, &err), i < 4 ? QA_ERR_ARG : QA_ERR_CONFIG);
        ck_assert_msg(strstr(err.msg, bad[i].frag) != NULL, "'%s' not in: %s", bad[i].frag, err.msg);
    }
    ck_assert_int_eq(conf.a.n, 7); /* failed overrides leave values alone */
}
END_TEST

/* render -> load -> render: the same bytes and the same struct, for values
 * that do not print exactly and a line longer than inih's buffer. */
START_TEST(test_round_trip)
{
    setup();
    conf.a.f = 0.1f;
    conf.a.d = 1.0 / 3.0;
    conf.a.nl.n = CFG_LIST_MAX;
    for (int i = 0; i < CFG_LIST_MAX; i++)
        conf.a.nl.v[i] = -9.5 + 19.0 * i / 31.0 + 1e-13;
    conf.a.w = 3;
    conf.a.a = 5;
    snprintf(conf.a.s, sizeof conf.a.s, "x;y#z");
    char *t1, *t2;
    qa_err err = {0};
    ck_assert_int_eq(cfg_render(&doc, &t1, &err), QA_OK);
    ck_assert_ptr_nonnull(strstr(t1, "[alpha]\nn = 3\nf = 0.1\n"));
    ck_assert_ptr_nonnull(strstr(t1, "\n\n[beta]\nk = 0\n"));
    ck_assert_ptr_nonnull(strstr(t1, "names = blue, red\n"));
    tconf saved = conf;
    cfg_trace tr;
    doc.trace = &tr;
    memset(&tr, 0, sizeof tr);
    ck_assert_int_eq(cfg_defaults(&doc, &err), QA_OK);
    ck_assert_msg(cfg_load_text(&doc, t1, "rendered", &err) == QA_OK, "%s\n%s", err.msg, t1);
    ck_assert_int_eq(cfg_render(&doc, &t2, &err), QA_OK);
    ck_assert_str_eq(t1, t2);
    ck_assert_mem_eq(&conf.a, &saved.a, sizeof conf.a);
    ck_assert_mem_eq(&conf.b, &saved.b, sizeof conf.b);
    free(t1);
    free(t2);
}
END_TEST

START_TEST(test_bad_strings)
{
    setup();
    qa_err err;
    ck_assert_int_eq(cfg_set(&doc, "alpha.s=a ;b", &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "inline ' ;'"));
    ck_assert_int_eq(cfg_set(&doc, "alpha.s=ab ", &err), QA_ERR_CONFIG);
    /* rendered as "s = ;b" it would read back as a comment, an empty s */
    ck_assert_int_eq(cfg_set(&doc, "alpha.s=;b", &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "leading ';'"));
    ck_assert_int_eq(cfg_load_text(&doc, "[alpha]\ns =;b\n", "t.ini", &err), QA_ERR_CONFIG);
}
END_TEST

START_TEST(test_schema_check)
{
    static const cfg_key nohelp[] = {
        {.key = "x", .type = CFG_INT, .def = "0", .min = 0, .max = 1, .help = ""}, {0}};
    static const cfg_key dup[] = {
        {.key = "x", .type = CFG_INT, .def = "0", .min = 0, .max = 1, .help = "h"},
        {.key = "x", .type = CFG_INT, .def = "0", .min = 0, .max = 1, .help = "h"}, {0}};
    static const cfg_key noname[] = {
        {.key = "x", .type = CFG_ENUM, .def = "a", .help = "h"}, {0}};
    static const struct {
        cfg_section sec;
        const char *frag;
    } bad[] = {
        {{"s", nohelp, 0, "h", NULL}, "s.x has no help text"},
        {{"s", dup, 0, "h", NULL}, "s.x is defined twice"},
        {{"s", noname, 0, "h", NULL}, "s.x has no choices"},
    };
    qa_err err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg_schema s = {&bad[i].sec, 1, NULL, NULL};
        ck_assert_int_eq(cfg_schema_check(&s, &err), QA_ERR_CONFIG);
        ck_assert_msg(strstr(err.msg, bad[i].frag) != NULL, "%s", err.msg);
    }
    /* a default outside its range is caught when defaults are applied */
    static const cfg_key far[] = {
        {.key = "x", .type = CFG_INT, .off = 0, .def = "7", .min = 0, .max = 1, .help = "h"}, {0}};
    cfg_section sec = {"s", far, 0, "h", NULL};
    cfg_schema s = {&sec, 1, NULL, NULL};
    int target;
    cfg_doc d = {.schema = &s, .base = &target};
    ck_assert_int_eq(cfg_defaults(&d, &err), QA_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "schema: default of s.x"));
    cfg_section twice[2] = {{"s", b_keys, 0, "h", NULL}, {"s", b_keys, 0, "h", NULL}};
    cfg_schema s2 = {twice, 2, NULL, NULL};
    ck_assert_int_eq(cfg_schema_check(&s2, &err), QA_ERR_CONFIG);
}
END_TEST

/* The real schema: sane, defaults render and read back, rules across keys. */
START_TEST(test_exp_schema)
{
    qa_err err = {0};
    ck_assert_int_eq(cfg_schema_check(&exp_schema, &err), QA_OK);
    exp_config *c = malloc(sizeof *c), *d = malloc(sizeof *d);
    ck_assert_int_eq(exp_config_defaults(c, &err), QA_OK);
    ck_assert_int_eq(exp_config_check(c, &err), QA_OK);
    cfg_doc dc = exp_config_doc(c); /* the binding exp_config_defaults made */
    char *t1, *t2;
    ck_assert_int_eq(cfg_render(&dc, &t1, &err), QA_OK);
    ck_assert_ptr_nonnull(strstr(t1, "[experiment]\nname = run\nseed = 0\n"));
    ck_assert_ptr_nonnull(strstr(t1, "method = fp32\n"));
    ck_assert_ptr_nonnull(strstr(t1, "[model]\narch = small\n"));
    ck_assert_int_eq(exp_config_defaults(d, &err), QA_OK);
    cfg_doc dd = exp_config_doc(d);
    ck_assert_int_eq(cfg_load_text(&dd, t1, "rendered", &err), QA_OK);
    ck_assert_int_eq(cfg_render(&dd, &t2, &err), QA_OK);
    ck_assert_str_eq(t1, t2);
    free(t1);
    free(t2);
    const cfg_key *k = cfg_lookup(&exp_schema, "model", "arch", NULL, NULL);
    ck_assert_str_eq(cfg_choice(k, 1), "resnet20");
    free(c);
    free(d);
}
END_TEST

static void expect_load_error(char **sets, int n, const char *frag1, const char *frag2)
{
    exp_config *c = malloc(sizeof *c);
    qa_err err = {0};
    ck_assert_int_eq(exp_config_load(c, NULL, sets, n, &err), QA_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, frag1) && strstr(err.msg, frag2), "%s", err.msg);
    free(c);
}

START_TEST(test_exp_checks)
{
    char *s1[] = {"train.warmup=10"};
    expect_load_error(s1, 1, "train.warmup (--set train.warmup=10) = 10",
                      "train.epochs (the default) = 10");
    char *s2[] = {"data.normalize=fixed", "data.mean=0.5"};
    expect_load_error(s2, 2, "data.normalize = fixed", "got 1 and 0");
    char *s3[] = {"experiment.method=magic"};
    expect_load_error(s3, 1, "--set experiment.method=magic", "not one of: fp32");
    /* a corruption the grid cannot run: refused when bound, not after training */
    char *s4[] = {"eval.grid_corruptions=contrast, snow"};
    expect_load_error(s4, 1, "eval.grid_corruptions (--set eval.grid_corruptions=contrast, snow)",
                      "snow is not implemented");
    char *s5[] = {"eval.grid_corruptions=spatter"};
    expect_load_error(s5, 1, "--set eval.grid_corruptions=spatter",
                      "spatter is not implemented");
    /* a run name that would put the run file outside out_dir */
    char *s6[] = {"experiment.name=../escaped"};
    expect_load_error(s6, 1, "experiment.name (--set experiment.name=../escaped)",
                      "one folder name");
    char *s10[] = {"data.folder_side=4"};
    expect_load_error(s10, 1, "--set data.folder_side=4", "8");
    char *s7[] = {"experiment.name=a/b"}, *s8[] = {"experiment.name=.."},
         *s9[] = {"experiment.name=/abs"};
    expect_load_error(s7, 1, "'a/b'", "no '/'");
    expect_load_error(s8, 1, "'..'", "not '.' or '..'");
    expect_load_error(s9, 1, "'/abs'", "no '/'");
}
END_TEST

/* Every shipped config loads and passes the checks. */
/* DQMQ's training keys moved from [agent] to [dqmq]: in a config file or a
 * --set they are an error naming the new place; a stored config written
 * before the move (a run file's, a checkpoint's) reads them there. */
START_TEST(test_moved_keys)
{
    char *set[] = {"agent.lambda=2"};
    expect_load_error(set, 1, "--set agent.lambda=2",
                      "agent.lambda has moved to dqmq.lambda");
    char path[] = "/tmp/qa_test_moved_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *ini = "[experiment]\nmethod = dqmq\n\n[agent]\nhidden = 32\nwarmup = 2\n";
    ck_assert_int_eq(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
    close(fd);
    exp_config *c = malloc(sizeof *c);
    qa_err err = {0};
    ck_assert_int_eq(exp_config_load(c, path, NULL, 0, &err), QA_ERR_CONFIG);
    char want[128];
    snprintf(want, sizeof want, "%s:6: [agent] warmup has moved to [dqmq] warmup", path);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
    unlink(path);
    const char *old = "[agent]\nobservation = oracle\noptimizer = critic\nlambda = 0.7\n"
                      "warmup = 2\nsigma_end = 0.25\nsample_rate = 0.5\ncritic_hidden = 16\n";
    ck_assert_int_eq(exp_config_defaults(c, &err), QA_OK);
    cfg_doc d = exp_config_doc(c);
    ck_assert_int_eq(cfg_load_text(&d, old, "old", &err), QA_ERR_CONFIG);
    ck_assert_int_eq(exp_config_defaults(c, &err), QA_OK);
    ck_assert_msg(cfg_load_stored(&d, old, "old", &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(c->agent.observation, AGENT_OBS_ORACLE);
    ck_assert_int_eq(c->agent.critic_hidden, 16);
    ck_assert_int_eq(c->dqmq.optimizer, AGENT_OPT_CRITIC);
    ck_assert_float_eq(c->dqmq.lambda, 0.7f);
    ck_assert_int_eq(c->dqmq.warmup, 2);
    ck_assert_float_eq(c->dqmq.sigma_end, 0.25f);
    ck_assert_double_eq(c->dqmq.sample_rate, 0.5);
    ck_assert_int_eq(exp_config_check(c, &err), QA_OK);
    /* rendered, they sit in [dqmq] */
    char *text;
    ck_assert_int_eq(cfg_render(&d, &text, &err), QA_OK);
    ck_assert_ptr_nonnull(strstr(text, "[dqmq]\noptimizer = critic\n"));
    char *agent = strstr(text, "[agent]"), *next = strstr(agent, "\n\n[");
    *next = '\0';
    ck_assert_ptr_null(strstr(agent, "lambda"));
    free(text);
    free(c);
}
END_TEST

/* A --set replaces a file's value before it is read: quant.plan naming a
 * search that has not run yet could not be overridden; the file's other
 * keys still load, a bad --set value still fails, the trace names --set. */
START_TEST(test_set_before_file_value)
{
    char path[] = "/tmp/qa_test_setfirst_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *ini = "[experiment]\nmethod = fixed\n\n[quant]\nplan = /nonexistent/search.h5\n"
                      "\n[train]\nepochs = 3\n";
    ck_assert_int_eq(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
    close(fd);
    exp_config *c = malloc(sizeof *c);
    qa_err err = {0};
    ck_assert_int_ne(exp_config_load(c, path, NULL, 0, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, "/nonexistent/search.h5"), "%s", err.msg);
    char *sets[] = {"quant.plan=8:8,4:2,4:4"};
    ck_assert_msg(exp_config_load(c, path, sets, 1, &err) == QA_OK, "%s", err.msg);
    ck_assert_int_eq(c->quant.nlayer_bits, 3);
    ck_assert_int_eq(c->quant.layer_abits[1], 2);
    ck_assert_int_eq(c->train.epochs, 3);
    char where[400];
    exp_config_key_where(c, "quant", "plan", where, sizeof where);
    ck_assert_msg(strstr(where, "--set quant.plan=8:8,4:2,4:4"), "%s", where);
    char *bad[] = {"quant.plan=/nonexistent/other.h5"};
    ck_assert_int_ne(exp_config_load(c, path, bad, 1, &err), QA_OK);
    ck_assert_msg(strstr(err.msg, "--set quant.plan=/nonexistent/other.h5"), "%s", err.msg);
    unlink(path);
    free(c);
}
END_TEST

START_TEST(test_shipped_configs)
{
    const char *root = getenv("QADAPT_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "run through meson test (QADAPT_SOURCE_ROOT unset)");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/configs", root);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    exp_config *c = malloc(sizeof *c);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        qa_err err = {0};
        ck_assert_msg(exp_config_load(c, path, NULL, 0, &err) == QA_OK, "%s", err.msg);
        n++;
    }
    closedir(d);
    free(c);
    ck_assert_int_ge(n, 3);
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_parse_values);
    tcase_add_test(tc, test_unknown_key);
    tcase_add_test(tc, test_unknown_section);
    tcase_add_test(tc, test_bad_type);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_set);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_bad_strings);
    tcase_add_test(tc, test_schema_check);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("schema");
    tcase_add_test(ts, test_exp_schema);
    tcase_add_test(ts, test_exp_checks);
    tcase_add_test(ts, test_shipped_configs);
    tcase_add_test(ts, test_moved_keys);
    tcase_add_test(ts, test_set_before_file_value);
    suite_add_tcase(s, ts);
    return s;
}
