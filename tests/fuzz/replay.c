/* replay.c: a fuzz target's committed inputs as a Check suite of the
 * normal test build: every file of tests/fuzz/corpus/<target>/ (the seeds)
 * and tests/fuzz/regress/<target>/ (inputs that once crashed, hung or
 * leaked, named after what they found) goes through the target's
 * LLVMFuzzerTestOneInput, one test case per file, so a failure names it.
 * QA_FUZZ_DIR and QA_FUZZ_TARGET are set by tests/fuzz/meson.build. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fuzz_util.h"

#define MAX_FILES 1024

static char *files[MAX_FILES];
static int nfiles, nseeds;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the visible files of dir, sorted, appended to files */
static void scan(const char *kind)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s/%s", QA_FUZZ_DIR, kind, QA_FUZZ_TARGET);
    DIR *d = opendir(dir);
    struct dirent *e;
    int first = nfiles;
    while (d && (e = readdir(d)) && nfiles < MAX_FILES) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        files[nfiles] = malloc(n);
        snprintf(files[nfiles++], n, "%s/%s", dir, e->d_name);
    }
    if (d)
        closedir(d);
    qsort(files + first, (size_t)(nfiles - first), sizeof *files, cmp_str);
}

START_TEST(test_has_seeds)
{
    ck_assert_msg(nseeds >= 3, "%s/corpus/%s holds %d seeds", QA_FUZZ_DIR, QA_FUZZ_TARGET, nseeds);
}
END_TEST

START_TEST(test_replay)
{
    FILE *f = fopen(files[_i], "rb");
    ck_assert_msg(f != NULL, "cannot open %s", files[_i]);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    ck_assert_int_eq(LLVMFuzzerTestOneInput(buf, (size_t)n), 0);
    free(buf);
}
END_TEST

Suite *qa_test_suite(void)
{
    scan("corpus");
    nseeds = nfiles;
    scan("regress");
    Suite *s = suite_create("fuzz_replay_" QA_FUZZ_TARGET);
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_has_seeds);
    tcase_add_loop_test(tc, test_replay, 0, nfiles);
    suite_add_tcase(s, tc);
    return s;
}
