/* fuzz_folder.c: an image-folder dataset generated from the input, through
 * data_folder_load. The first byte picks the output side (8..71) and
 * channels (bit 7: grey); then records until the input ends, each a kind
 * byte (mod 5) and its fields:
 *   0 class folder      name           (later files go into it)
 *   1 file in the class name, extension byte, u16 length, contents
 *   2 folder in the class (skipped by the reader)
 *   3 file at the top level (not a class: skipped)
 *   4 symbolic link in the class: name, extension byte, target byte
 *     (an earlier class, the tree's root, or a missing path)
 * Names are up to 15 characters of [a-z0-9._-], so hidden entries, names
 * that differ only in case of the extension and files without one occur;
 * at most 8 classes and 24 entries. A loaded set must have one image per
 * image file with labels by sorted class; a refusal must say why. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/folder.h"
#include "fuzz_util.h"

static const char *const EXT[] = {".png", ".jpg", ".jpeg", ".PNG", ".JpG", ".txt", "", ".png.x"};

typedef struct {
    fuzz_bytes in;
    char root[512], cls[8][32], cur[1024];
    int ncls, nentries;
} tree;

static void take_name(tree *t, char *out, size_t n)
{
    static const char ALPHA[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
    size_t len = 1 + fuzz_u8(&t->in) % 15;
    if (len >= n)
        len = n - 1;
    for (size_t i = 0; i < len; i++)
        out[i] = ALPHA[fuzz_u8(&t->in) % (sizeof ALPHA - 1)];
    out[len] = '\0';
    if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        out[0] = 'd';
}

/* name + extension under the current class (or the root before any) */
static void entry_path(tree *t, char *path, size_t n, int top, int with_ext)
{
    char name[40];
    take_name(t, name, 16);
    if (with_ext)
        strcat(name, EXT[fuzz_u8(&t->in) % 8]);
    fuzz_path(path, n, top || t->ncls == 0 ? t->root : t->cur, name);
}

static void add_record(tree *t)
{
    char path[2048];
    size_t got;
    int kind = fuzz_u8(&t->in) % 5;
    if (kind == 0 && t->ncls < 8) {
        take_name(t, t->cls[t->ncls], sizeof t->cls[0]);
        fuzz_path(t->cur, sizeof t->cur, t->root, t->cls[t->ncls++]);
        mkdir(t->cur, 0755);
    } else if (kind == 1 || kind == 3) {
        entry_path(t, path, sizeof path, kind == 3, 1);
        const uint8_t *data = fuzz_take(&t->in, fuzz_u16(&t->in), &got);
        if (fuzz_write(path, data, got, 0) != 0)
            return; /* a folder of that name exists: the record is dropped */
    } else if (kind == 2) {
        entry_path(t, path, sizeof path, 0, 0);
        mkdir(path, 0755);
    } else if (kind == 4) {
        entry_path(t, path, sizeof path, 0, 1);
        unsigned k = fuzz_u8(&t->in);
        char target[64];
        snprintf(target, sizeof target, "%s", k % 3 == 1 ? ".." : "missing");
        if (t->ncls && k % 3 == 0)
            snprintf(target, sizeof target, "../%s", t->cls[k / 3 % (unsigned)t->ncls]);
        if (symlink(target, path) != 0)
            return; /* the name exists already: the record is dropped */
    }
}

static void check_set(const data_set *ds, const data_folder_cfg *cfg)
{
    FUZZ_ASSERT(ds->n >= 1 && ds->h == cfg->side && ds->w == cfg->side && ds->c == cfg->channels);
    FUZZ_ASSERT(ds->nclass >= 1 && ds->nclass <= DATA_FOLDER_MAX_CLASSES);
    for (int i = 0; i < ds->n; i++)
        FUZZ_ASSERT(ds->labels[i] < ds->nclass && (i == 0 || ds->labels[i] >= ds->labels[i - 1]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tree t = {.in = {data, size}};
    unsigned first = fuzz_u8(&t.in);
    data_folder_cfg cfg = {8 + (int)(first & 63), first & 128 ? 1 : 3};
    fuzz_path(t.root, sizeof t.root, fuzz_dir(), "tree");
    fuzz_rmtree(t.root);
    FUZZ_ASSERT(mkdir(t.root, 0755) == 0);
    while (t.in.n > 0 && t.nentries++ < 24)
        add_record(&t);
    data_set ds;
    char **names = NULL;
    qa_err err = {0};
    int rc = data_folder_load(&ds, t.root, &cfg, &names, &err);
    fuzz_check_status(rc, &err, "data_folder_load");
    if (rc) {
        FUZZ_ASSERT(ds.pixels == NULL && names == NULL);
    } else {
        check_set(&ds, &cfg);
        for (int k = 1; k < ds.nclass; k++)
            FUZZ_ASSERT(strcmp(names[k - 1], names[k]) < 0);
        data_folder_free_names(names, ds.nclass);
    }
    data_set_free(&ds);
    fuzz_rmtree(t.root);
    return 0;
}
