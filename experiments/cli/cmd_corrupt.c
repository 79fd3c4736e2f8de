/* cmd_corrupt.c: `qadapt corrupt`: one corruption of one PNG/JPEG file, the
 * contact sheet of every corruption x severity on a few dataset images,
 * and the list of corruptions with their severity parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/jpeg_io.h"
#include "data/png_io.h"
#include "env/corrupt.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/schema.h"
#include "experiments/cli/sheet.h"
#include "experiments/run/datasets.h"

static const char usage_text[] =
    "usage: qadapt corrupt IN OUT --type NAME --severity S [--seed N] [--key K]\n"
    "                      [--table cifar|tiny|imagenet] [--quality Q]\n"
    "       qadapt corrupt --grid OUT.png --data CONFIG [--images N] [--seed N]\n"
    "                      [--table cifar|tiny|imagenet] [--set section.key=value ...]\n"
    "       qadapt corrupt --list [--table cifar|tiny|imagenet]\n"
    "\n"
    "Applies an ImageNet-C / CIFAR-10-C corruption (env/corrupt.h) to a PNG or\n"
    "JPEG file (8-bit grey or RGB, sides >= 8); OUT is written as PNG, or as\n"
    "JPEG at --quality (default 95) when its name ends in .jpg/.jpeg. Severity 0\n"
    "copies the image. The severity table defaults by image size: cifar up to\n"
    "32 px on the longer side, tiny up to 64, imagenet beyond. The noise is\n"
    "the evaluation stream of sample --key (default 0) under --seed (default\n"
    "0): the same arguments give the same bytes.\n"
    "\n"
    "--grid writes a contact sheet: one row per corruption, columns severity\n"
    "0 (clean) to 5, each cell the first --images (default 3) test images of\n"
    "the config's [data] dataset with distinct labels.\n"
    "--list prints the corruptions, their group and the table's parameters.\n";

typedef struct {
    const char *in, *out, *type, *grid, *data;
    int severity, severity_set, seed, key, images, quality, list, table_set;
    env_table table;
    char *sets[64];
    int nsets;
} corrupt_args;

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out, qa_err *err)
{
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi)
        return qa_fail(err, QA_ERR_ARG, "%s '%s': expected an integer in %d..%d", flag,
                       v ? v : "", lo, hi);
    *out = (int)x;
    return QA_OK;
}

static int parse_args(int argc, char **argv, corrupt_args *a, qa_err *err)
{
    memset(a, 0, sizeof *a);
    a->images = 3;
    a->quality = 95;
    int npos = 0, rc = QA_OK;
    for (int i = 1; i < argc && !rc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "--list")) {
            a->list = 1;
            continue;
        }
        if (strncmp(k, "--", 2) != 0) {
            if (npos == 2)
                return qa_fail(err, QA_ERR_ARG, "unexpected argument '%s' (qadapt corrupt --help)",
                               k);
            *(npos++ ? &a->out : &a->in) = k;
            continue;
        }
        static const char *const valued[] = {"--type", "--severity", "--seed", "--key",
                                             "--images", "--quality", "--table", "--grid",
                                             "--data", "--set"};
        int known = 0;
        for (size_t j = 0; j < sizeof valued / sizeof valued[0]; j++)
            known |= !strcmp(k, valued[j]);
        if (!known)
            return qa_fail(err, QA_ERR_ARG, "unknown option '%s' (qadapt corrupt --help)", k);
        if (!v)
            return qa_fail(err, QA_ERR_ARG, "%s needs a value (qadapt corrupt --help)", k);
        i++;
        if (!strcmp(k, "--type"))
            a->type = v;
        else if (!strcmp(k, "--severity")) {
            a->severity_set = 1;
            rc = parse_int(k, v, 0, ENV_MAX_SEVERITY, &a->severity, err);
        }
        else if (!strcmp(k, "--seed"))
            rc = parse_int(k, v, 0, 2147483647, &a->seed, err);
        else if (!strcmp(k, "--key"))
            rc = parse_int(k, v, 0, 2147483647, &a->key, err);
        else if (!strcmp(k, "--images"))
            rc = parse_int(k, v, 1, 10, &a->images, err);
        else if (!strcmp(k, "--quality"))
            rc = parse_int(k, v, 1, 100, &a->quality, err);
        else if (!strcmp(k, "--table")) {
            a->table_set = 1;
            rc = env_table_find(v, &a->table, err);
        } else if (!strcmp(k, "--grid"))
            a->grid = v;
        else if (!strcmp(k, "--data"))
            a->data = v;
        else if (a->nsets < 64)
            a->sets[a->nsets++] = argv[i];
        else
            return qa_fail(err, QA_ERR_ARG, "more than 64 --set options");
    }
    return rc;
}

static int has_ext(const char *path, const char *a, const char *b)
{
    const char *dot = strrchr(path, '.');
    return dot && (!strcasecmp(dot, a) || (b && !strcasecmp(dot, b)));
}

/* cifar up to 32 px on the longer side, tiny up to 64, imagenet beyond */
static env_table table_for(int h, int w)
{
    int side = h > w ? h : w;
    return side <= 32 ? ENV_TABLE_CIFAR : side <= 64 ? ENV_TABLE_TINY : ENV_TABLE_IMAGENET;
}

static int corrupt_file(const corrupt_args *a, qa_err *err)
{
    if (!a->in || !a->out || !a->type || !a->severity_set)
        return qa_fail(err, QA_ERR_ARG, "corrupt needs IN OUT --type NAME --severity S "
                                        "(qadapt corrupt --help)");
    int id = env_corruption_find(a->type, err);
    if (id < 0)
        return id;
    /* PNG files start with \x89PNG, JPEG ones with FF D8 FF; a missing
     * file is left to the JPEG reader's message */
    FILE *f = fopen(a->in, "rb");
    unsigned char magic[4] = {0};
    size_t got = 0;
    if (f) {
        got = fread(magic, 1, 4, f);
        fclose(f);
    }
    int png = got == 4 && memcmp(magic, "\x89PNG", 4) == 0;
    if (f && !png && (got < 3 || memcmp(magic, "\xff\xd8\xff", 3) != 0))
        return qa_fail(err, QA_ERR_FORMAT, "%s: neither PNG nor JPEG (starts with %02x %02x %02x "
                       "%02x, %zu bytes read)", a->in, magic[0], magic[1], magic[2], magic[3], got);
    data_image im = {0};
    int rc = png ? data_png_read(a->in, &im, err) : data_jpeg_read(a->in, &im, err);
    if (rc)
        return rc;
    env_table t = a->table_set ? a->table : table_for(im.h, im.w);
    env_work *ws = NULL;
    rc = env_work_create(&ws, im.h, im.w, err);
    if (!rc) {
        nn_rng r;
        env_corrupt_rng(&r, (uint64_t)a->seed, id, (uint32_t)a->key, env_round_eval(0));
        rc = env_corrupt(ws, id, a->severity, t, im.px, im.px, im.h, im.w, im.c, &r, err);
        if (rc)
            qa_err_prefix(err, "%s: ", a->in);
    }
    if (!rc)
        rc = has_ext(a->out, ".jpg", ".jpeg") ? data_jpeg_write(a->out, &im, a->quality, err)
                                              : data_png_write(a->out, &im, err);
    if (!rc)
        printf("%s: %s severity %d (table %s)%s -> %s\n", a->in, a->type, a->severity,
               env_table_name(t), env_corruption_is_identity(id, im.c) ? ", identity on grey" : "",
               a->out);
    env_work_free(ws);
    data_image_free(&im);
    return rc;
}

static int list_corruptions(const corrupt_args *a)
{
    env_table t = a->table_set ? a->table : ENV_TABLE_CIFAR;
    printf("corruptions and their parameters for severities 1..5 (table %s):\n", env_table_name(t));
    printf("  (noise: sigma, shot c or amount; defocus: radius, alias sigma; glass: sigma,\n"
           "   delta, iterations; motion: radius, sigma; zoom: step, number of factors from 1;\n"
           "   fog and saturate: c0, c1; jpeg: quality; pixelate: factor)\n");
    for (int id = 0; id < ENV_NCORRUPTION; id++) {
        const env_corruption_info *in = env_corruption_get(id);
        char line[256];
        env_table_describe(t, id, line, sizeof line);
        if (!in->available)
            printf("  %2d %-8s %-18s (optional in the reference, not implemented)\n", id,
                   in->group, in->name);
        else
            printf("  %2d %-8s %s%s\n", id, in->group, line, in->colour_only ? "  (identity on grey)" : "");
    }
    return QA_OK;
}

/* --- the contact sheet --- */

enum { GAP = 4, CELL_GAP = 16, MARGIN = 12, TEXT = 2 };

/* the first n test images with distinct labels (or the first n) */
static int pick_images(const data_set *ds, int n, int *idx)
{
    int k = 0;
    for (int i = 0; i < ds->n && k < n; i++) {
        int dup = 0;
        for (int j = 0; j < k; j++)
            dup |= ds->labels[idx[j]] == ds->labels[i];
        if (!dup)
            idx[k++] = i;
    }
    for (int i = 0; k < n && i < ds->n; i++)
        idx[k++] = i;
    return k;
}

static int draw_sheet(const corrupt_args *a, const data_set *ds, const char *dsname,
                      data_image *sheet, qa_err *err)
{
    int idx[10], n = pick_images(ds, a->images, idx), h = ds->h, w = ds->w, c = ds->c;
    int scale = h <= 40 ? 3 : h <= 80 ? 2 : 1, nrow = env_corruption_count_available();
    env_table t = a->table_set ? a->table : table_for(h, w);
    int label_w = exp_sheet_text_width("jpeg_compression  ", TEXT);
    int cell_w = n * w * scale + (n - 1) * GAP, row_h = h * scale + GAP;
    int head = MARGIN + 2 * (EXP_SHEET_GLYPH_H * TEXT + 8);
    int foot = c == 1 ? EXP_SHEET_GLYPH_H * TEXT + 8 : 0;
    int rc = data_image_alloc(sheet, head + nrow * row_h + foot + MARGIN,
                              2 * MARGIN + label_w + 6 * cell_w + 5 * CELL_GAP, c, err);
    env_work *ws = NULL;
    uint8_t *out = malloc(data_set_image_size(ds));
    if (!rc)
        rc = out ? env_work_create(&ws, h, w, err)
                 : qa_fail(err, QA_ERR_NOMEM, "out of memory for the contact sheet");
    if (rc) {
        free(out);
        data_image_free(sheet);
        return rc;
    }
    exp_sheet_fill(sheet, 255);
    char title[256];
    int used = snprintf(title, sizeof title, "%s test images", dsname);
    for (int k = 0; k < n; k++)
        used += snprintf(title + used, sizeof title - (size_t)used, "%s %d", k ? "," : "", idx[k]);
    snprintf(title + used, sizeof title - (size_t)used, " - table %s - seed %d",
             env_table_name(t), a->seed);
    exp_sheet_text(sheet, MARGIN, MARGIN, title, TEXT, 0);
    int x0 = MARGIN + label_w, yh = MARGIN + EXP_SHEET_GLYPH_H * TEXT + 8;
    for (int s = 0; s <= ENV_MAX_SEVERITY; s++) {
        char col[32];
        snprintf(col, sizeof col, s ? "severity %d" : "clean (0)", s);
        exp_sheet_text(sheet, yh, x0 + s * (cell_w + CELL_GAP), col, TEXT, 60);
    }
    int row = 0;
    for (int id = 0; id < ENV_NCORRUPTION && !rc; id++) {
        if (!env_corruption_get(id)->available)
            continue;
        int y = head + row++ * row_h;
        exp_sheet_text(sheet, y + (h * scale - EXP_SHEET_GLYPH_H * TEXT) / 2, MARGIN,
                       env_corruption_get(id)->name, TEXT, env_corruption_is_identity(id, c) ? 150 : 0);
        for (int s = 0; s <= ENV_MAX_SEVERITY && !rc; s++)
            for (int k = 0; k < n && !rc; k++) {
                nn_rng r;
                env_corrupt_rng(&r, (uint64_t)a->seed, id, (uint32_t)idx[k], env_round_eval(0));
                rc = env_corrupt(ws, id, s, t, data_set_image(ds, idx[k]), out, h, w, c, &r, err);
                exp_sheet_blit(sheet, y, x0 + s * (cell_w + CELL_GAP) + k * (w * scale + GAP), out,
                               h, w, c, scale);
            }
    }
    if (foot)
        exp_sheet_text(sheet, head + nrow * row_h + 8, MARGIN,
                       "grey label: the identity on grey images (saturate acts on colour only)",
                       TEXT, 150);
    env_work_free(ws);
    free(out);
    if (rc)
        data_image_free(sheet);
    return rc;
}

static int write_grid(const corrupt_args *a, qa_err *err)
{
    if (!a->data)
        return qa_fail(err, QA_ERR_ARG, "--grid needs --data CONFIG (the [data] section names "
                                        "the dataset)");
    exp_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for a config");
    data_set train = {0}, test = {0};
    data_image sheet = {0};
    int rc = exp_config_load(cfg, a->data, a->sets, a->nsets, err);
    if (!rc)
        rc = exp_dataset_load(cfg->data.dataset, cfg->data.dir, cfg->data.folder_side, &train,
                              &test, err);
    if (!rc && (test.h < ENV_MIN_SIDE || test.w < ENV_MIN_SIDE))
        rc = qa_fail(err, QA_ERR_UNSUPPORTED, "%s: images of %dx%d are below the corruptions' %d px",
                     test.source, test.h, test.w, ENV_MIN_SIDE);
    if (!rc)
        rc = draw_sheet(a, &test, exp_dataset_get(cfg->data.dataset)->name, &sheet, err);
    if (!rc)
        rc = data_png_write(a->grid, &sheet, err);
    if (!rc)
        printf("%s: %dx%d contact sheet of %d corruptions x severities 0..%d\n", a->grid, sheet.w,
               sheet.h, env_corruption_count_available(), ENV_MAX_SEVERITY);
    data_image_free(&sheet);
    data_set_free(&train);
    data_set_free(&test);
    free(cfg);
    return rc;
}

int exp_cmd_corrupt(int argc, char **argv, qa_err *err)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return QA_OK;
        }
    corrupt_args a;
    int rc = parse_args(argc, argv, &a, err);
    if (rc)
        return rc;
    if (a.list)
        return list_corruptions(&a);
    if (a.grid)
        return write_grid(&a, err);
    return corrupt_file(&a, err);
}
