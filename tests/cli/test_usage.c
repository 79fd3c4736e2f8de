/* test_usage.c: bad command lines of every command exit 2 with a message
 * naming the command (README: "Bad command-line usage ... exits with code
 * 2"). The commands are those `qadapt --help` lists, so a new command is
 * walked too: an unknown option, --help, `qadapt help COMMAND`; then each
 * command's own bad values, missing and extra arguments. Nothing here
 * trains: every case stops at its arguments. */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "run_bin.h"

static char tmp[64], smoke[1024];
static char out_text[1 << 16], err_text[1 << 16];

static void setup(void)
{
    run_bin_setup("usage", tmp, sizeof tmp, smoke, sizeof smoke);
}

static void teardown(void)
{
    run_bin_teardown(tmp);
}

static int run(char *const args[])
{
    return run_bin(tmp, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

/* The names under "commands:" in `qadapt --help`, into names (n each). */
static int list_commands(char names[][16], int max)
{
    char *help[] = {"--help", NULL};
    ck_assert_int_eq(run(help), 0);
    const char *at = strstr(out_text, "commands:\n");
    ck_assert_ptr_nonnull(at);
    int n = 0;
    for (at = strchr(at, '\n'); at && n < max; at = strchr(at + 1, '\n'))
        if (sscanf(at + 1, "  %15s", names[n]) == 1)
            n++;
    return n;
}

START_TEST(test_every_command)
{
    char names[32][16];
    int n = list_commands(names, 32);
    ck_assert_int_ge(n, 9);
    for (int i = 0; i < n; i++) {
        char prefix[600];
        snprintf(prefix, sizeof prefix, "qadapt %s: ", names[i]);
        char *bogus[] = {names[i], "--bogus-option", NULL};
        int code = run(bogus);
        ck_assert_msg(code == 2, "%s --bogus-option: exit %d: %s", names[i], code, err_text);
        ck_assert_msg(strncmp(err_text, prefix, strlen(prefix)) == 0 &&
                          strstr(err_text, "'--bogus-option'"),
                      "%s --bogus-option: %s", names[i], err_text);
        char usage[600];
        snprintf(usage, sizeof usage, "usage: qadapt %s", names[i]);
        char *help[] = {names[i], "--help", NULL};
        ck_assert_msg(run(help) == 0 && strstr(out_text, usage), "%s --help: %s", names[i],
                      out_text);
        char *help_cmd[] = {"help", names[i], NULL};
        ck_assert_msg(run(help_cmd) == 0 && strstr(out_text, usage), "help %s: %s", names[i],
                      out_text);
    }
}
END_TEST

START_TEST(test_bad_arguments)
{
    /* "@" stands for configs/smoke.ini: a config that exists */
    static const struct {
        const char *args[8];
        const char *frag;
    } cases[] = {
        {{NULL}, "usage: qadapt COMMAND"},
        {{"bogus"}, "unknown command 'bogus'"},
        {{"help", "bogus"}, "unknown command 'bogus'"},
        {{"help", "run", "x"}, "help takes at most one COMMAND"},
        {{"--version", "x"}, "--version takes no arguments"},
        {{"run"}, "missing CONFIG"},
        {{"run", "@", "b.ini"}, "one CONFIG expected"},
        {{"run", "@", "--out"}, "--out needs a value"},
        {{"run", "@", "--out", ""}, "not an empty string"},
        {{"run", "@", "--set", "train"}, "--set train: expected section.key=value"},
        {{"run", "@", "--resume=1"}, "unknown option '--resume=1'"},
        {{"search"}, "missing CONFIG"},
        {{"search", "@", "--set"}, "--set needs a value"},
        {{"sweep"}, "missing CONFIG"},
        {{"sweep", "@", "--jobs", "x"}, "--jobs 'x': expected a number from 1 to 256"},
        {{"sweep", "@", "--jobs", "0"}, "--jobs '0'"},
        {{"eval"}, "missing RUN.h5"},
        {{"eval", "a.h5", "b.h5"}, "one RUN.h5 expected"},
        {{"eval", "a.h5", "--severity"}, "--severity needs a value"},
        {{"eval", "a.h5", "--set", "train.lr=1"}, "[eval] keys only"},
        {{"eval", "a.h5", "--engine", "fast"}, "--engine fast: expected int or float"},
        {{"eval", "a.h5", "--kernel", "c"}, "(--engine int)"},
        {{"eval", "a.h5", "--engine", "int", "--kernel", "avx9"}, "--kernel avx9: expected one of"},
        {{"export"}, "usage: qadapt export RUN.h5 MODEL.qam"},
        {{"export", "a.h5", "b.qam", "c"}, "got a third argument 'c'"},
        {{"infer"}, "usage: qadapt infer MODEL.qam IMAGE..."},
        {{"infer", "m.qam"}, "usage: qadapt infer MODEL.qam IMAGE..."},
        {{"infer", "m.qam", "x.png", "--threads", "0"}, "--threads 0: expected 1..64"},
        {{"infer", "m.qam", "x.png", "--kernel", "avx9"}, "--kernel avx9: expected one of"},
        {{"report"}, "expected one RUN.h5 or SWEEP_DIR"},
        {{"report", "a.h5", "b.h5"}, "expected one RUN.h5 or SWEEP_DIR"},
        {{"info", "extra"}, "info takes no arguments"},
        {{"info", "--model"}, "usage: qadapt info --model NAME"},
        {{"info", "--model", "nope"}, "unknown model 'nope'"},
        {{"info", "--model", "small", "--input", "3x"}, "--input '3x': expected CxHxW"},
        {{"corrupt"}, "corrupt needs IN OUT --type NAME --severity S"},
        {{"corrupt", "a.png", "b.png", "c.png"}, "unexpected argument 'c.png'"},
        {{"corrupt", "a.png", "b.png", "--type"}, "--type needs a value"},
        {{"corrupt", "a.png", "b.png", "--type", "nope", "--severity", "1"},
         "unknown corruption 'nope'"},
        {{"corrupt", "a.png", "b.png", "--type", "contrast", "--severity", "3x"},
         "--severity '3x': expected an integer in 0..5"},
        {{"corrupt", "a.png", "b.png", "--table", "huge"}, "unknown severity table 'huge'"},
        {{"corrupt", "--grid", "g.png"}, "--grid needs --data CONFIG"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *args[9] = {0};
        for (int j = 0; j < 8 && cases[i].args[j]; j++)
            args[j] = strcmp(cases[i].args[j], "@") ? (char *)cases[i].args[j] : smoke;
        int code = run(args);
        ck_assert_msg(code == 2, "case %zu (%s %s): exit %d: %s", i, args[0] ? args[0] : "",
                      args[1] ? args[1] : "", code, err_text);
        ck_assert_msg(strstr(err_text, cases[i].frag), "case %zu: '%s' not in: %s", i,
                      cases[i].frag, err_text);
    }
}
END_TEST

Suite *qa_test_suite(void)
{
    Suite *s = suite_create("usage");
    TCase *tc = tcase_create("qadapt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_command);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
