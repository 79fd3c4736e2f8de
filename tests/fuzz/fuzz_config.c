/* fuzz_config.c: an INI config and --set strings through the whole schema,
 * as qadapt run and qadapt sweep read them. Input: a byte whose low two
 * bits give the number of --set strings, those strings each ended by a
 * newline, then the INI text (written to a file: includes are relative to
 * it). exp_config_load must accept or refuse with a message; an accepted
 * config rendered as a run file stores it must read back (cfg_load_stored,
 * what eval and --resume do) to the same text. Then the [sweep] section:
 * exp_sweep_parse, and for a parsed sweep of a few points
 * exp_sweep_resolve with the same --set strings. */
#include <stdlib.h>
#include <string.h>

#include "experiments/cli/schema.h"
#include "experiments/cli/sweep.h"
#include "fuzz_util.h"

enum { MAX_SETS = 3, MAX_POINTS = 16 };

/* The --set strings of the input (at most MAX_SETS, malloc'd). */
static int take_sets(fuzz_bytes *b, char **sets)
{
    int n = fuzz_u8(b) % (MAX_SETS + 1);
    for (int i = 0; i < n; i++) {
        const uint8_t *end = b->n ? memchr(b->p, '\n', b->n) : NULL;
        size_t len = end ? (size_t)(end - b->p) : b->n;
        sets[i] = malloc(len + 1);
        memcpy(sets[i], b->p, len);
        sets[i][len] = '\0';
        b->p += len + (end != NULL);
        b->n -= len + (end != NULL);
    }
    return n;
}

/* The stored (rendered) config loads back as qadapt eval loads a run
 * file's, passes the checks again and renders to the same text. */
static void check_round_trip(exp_config *c)
{
    cfg_doc d = exp_config_doc(c);
    char *text = NULL, *again = NULL;
    qa_err err = {0};
    FUZZ_ASSERT(cfg_render(&d, &text, &err) == 0);
    exp_config *back = malloc(sizeof *back);
    FUZZ_ASSERT(back && exp_config_defaults(back, &err) == 0);
    cfg_doc db = exp_config_doc(back);
    int rc = cfg_load_stored(&db, text, "stored", &err);
    if (!rc)
        rc = exp_config_check(back, &err);
    if (rc)
        fuzz_fail("the rendered config does not load back: %s\n%s", err.msg, text);
    FUZZ_ASSERT(cfg_render(&db, &again, &err) == 0);
    if (strcmp(text, again) != 0)
        fuzz_fail("the rendered config reads back otherwise:\n%s\n---\n%s", text, again);
    free(text);
    free(again);
    free(back);
}

static void check_sweep(const char *path, char **sets, int nsets)
{
    exp_sweep_spec *s = malloc(sizeof *s);
    qa_err err = {0};
    FUZZ_ASSERT(s != NULL);
    int rc = exp_sweep_parse(s, path, &err);
    fuzz_check_status(rc, &err, "exp_sweep_parse");
    if (!rc && s->line > 0 && s->npoints >= 1 && s->npoints <= MAX_POINTS) {
        exp_sweep_point *pts = calloc((size_t)s->npoints, sizeof *pts);
        long n = 0;
        FUZZ_ASSERT(pts != NULL);
        rc = exp_sweep_resolve(s, sets, nsets, pts, &n, &err);
        fuzz_check_status(rc, &err, "exp_sweep_resolve");
        FUZZ_ASSERT(rc || (n >= 1 && n <= s->npoints));
        free(pts);
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes b = {data, size};
    char *sets[MAX_SETS];
    int nsets = take_sets(&b, sets);
    char path[512];
    fuzz_path(path, sizeof path, fuzz_dir(), "c.ini");
    FUZZ_ASSERT(fuzz_write(path, b.p, b.n, 0) == 0);
    exp_config *c = malloc(sizeof *c);
    qa_err err = {0};
    FUZZ_ASSERT(c != NULL);
    int rc = exp_config_load(c, path, sets, nsets, &err);
    fuzz_check_status(rc, &err, "exp_config_load");
    if (!rc)
        check_round_trip(c);
    free(c);
    check_sweep(path, sets, nsets);
    for (int i = 0; i < nsets; i++)
        free(sets[i]);
    return 0;
}
