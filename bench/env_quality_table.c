/* env_quality_table.c: how well each quality feature tracks each
 * corruption's severity (the table of the issue 3 closing note).
 *
 *   env_quality_table [--images N] [--table cifar|tiny|imagenet] [--dir DIR] [--rgb]
 *
 * Takes the first N (default 1000) Fashion-MNIST test images, applies every
 * available corruption at severities 1..5 to each (keys = image index,
 * evaluation round 0), computes the quality features of each degraded
 * image and prints, per corruption, Spearman's rank correlation (average
 * ranks for ties) between every feature and the severity over the N x 5
 * images. A last column names the feature with the largest |rho|.
 * Grey images: saturate is the identity and is skipped. --rgb: the images
 * tinted to colour first, (R, G, B) = trunc(Y x (1, 0.85, 0.6)) (a sepia
 * tone with black kept black), so every corruption runs in its colour form
 * (per-channel noise, chroma-subsampled JPEG, saturate) and the features
 * read the luma of a colour image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "data/idx.h"
#include "env/corrupt.h"
#include "env/quality.h"
#include "env/rank.h"

/* grey (n, h, w, 1) -> the sepia RGB of the header, in a new set */
static int tint(const data_set *g, data_set *rgb, qa_err *err)
{
    static const float k[3] = {1.0f, 0.85f, 0.6f};
    int rc = data_set_alloc(rgb, g->n, g->h, g->w, 3, g->nclass, err);
    size_t n = (size_t)g->n * (size_t)g->h * (size_t)g->w;
    for (size_t i = 0; !rc && i < n; i++)
        for (int ch = 0; ch < 3; ch++)
            rgb->pixels[3 * i + ch] = (uint8_t)(g->pixels[i] * k[ch]);
    return rc;
}

/* The N x 5 degraded images of one corruption and their features. */
typedef struct {
    const data_set *ds;
    env_table t;
    env_work *ws;
    int nimg, n;
    uint8_t *img;
    float *scratch;
    double *feat; /* (n, ENV_Q_NFEAT), then the (n) arrays below in one block */
    double *sev;  /* (n) */
    double *col, *rf, *rs; /* (n) a feature's column, its ranks, the severities' */
    env_ranked *tmp;       /* (n) */
} table_work;

static int work_alloc(table_work *w, const data_set *ds, int nimg, qa_err *err)
{
    w->ds = ds;
    w->nimg = nimg < ds->n ? nimg : ds->n;
    w->n = w->nimg * ENV_MAX_SEVERITY;
    size_t n = (size_t)w->n;
    w->img = malloc(data_set_image_size(ds));
    w->scratch = malloc(env_quality_scratch(ds->h, ds->w) * sizeof(float));
    w->feat = malloc(n * (ENV_Q_NFEAT + 4) * sizeof(double));
    w->tmp = malloc(n * sizeof(env_ranked));
    if (!w->img || !w->scratch || !w->feat || !w->tmp)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for %d images", w->n);
    w->sev = w->feat + n * ENV_Q_NFEAT;
    w->col = w->sev + n;
    w->rf = w->col + n;
    w->rs = w->rf + n;
    return env_work_create(&w->ws, ds->h, ds->w, err);
}

static void work_free(table_work *w)
{
    free(w->img);
    free(w->scratch);
    free(w->feat); /* and sev, col, rf, rs */
    free(w->tmp);
    env_work_free(w->ws);
}

/* corruption id at every severity on every image, its features in feat */
static int degrade_all(table_work *w, int id, qa_err *err)
{
    const data_set *ds = w->ds;
    for (int i = 0; i < w->nimg; i++)
        for (int s = 1; s <= ENV_MAX_SEVERITY; s++) {
            nn_rng r;
            env_corrupt_rng(&r, 0, id, (uint32_t)i, env_round_eval(0));
            int rc = env_corrupt(w->ws, id, s, w->t, data_set_image(ds, i), w->img, ds->h, ds->w,
                                 ds->c, &r, err);
            if (rc)
                return rc;
            float f[ENV_Q_NFEAT];
            env_quality(w->img, ds->h, ds->w, ds->c, w->scratch, f);
            int k = i * ENV_MAX_SEVERITY + s - 1;
            w->sev[k] = s;
            for (int q = 0; q < ENV_Q_NFEAT; q++)
                w->feat[(size_t)k * ENV_Q_NFEAT + q] = f[q];
        }
    return QA_OK;
}

/* one row: rho of every feature with the severity, then the best one */
static void print_row(table_work *w, const char *name)
{
    env_ranks(w->sev, w->n, w->tmp, w->rs);
    printf("%-18s", name);
    int best = 0;
    double bestv = 0;
    for (int q = 0; q < ENV_Q_NFEAT; q++) {
        for (int k = 0; k < w->n; k++)
            w->col[k] = w->feat[(size_t)k * ENV_Q_NFEAT + q];
        env_ranks(w->col, w->n, w->tmp, w->rf);
        double rho = env_pearson(w->rf, w->rs, w->n);
        printf(" %+10.3f", rho);
        if (fabs(rho) > bestv) {
            bestv = fabs(rho);
            best = q;
        }
    }
    printf("  %s\n", env_feat_name(ENV_FEAT_QUALITY, best));
}

static int print_table(table_work *w, const char *table, int rgb, qa_err *err)
{
    printf("Spearman rho(feature, severity), %d Fashion-MNIST test images x severities 1..5, "
           "table %s%s\n%-18s", w->nimg, table, rgb ? ", tinted RGB" : "", "corruption");
    for (int f = 0; f < ENV_Q_NFEAT; f++)
        printf(" %10s", env_feat_name(ENV_FEAT_QUALITY, f));
    printf("  best\n");
    for (int id = 0; id < ENV_NCORRUPTION; id++) {
        const env_corruption_info *in = env_corruption_get(id);
        if (!in->available || env_corruption_is_identity(id, w->ds->c))
            continue;
        int rc = degrade_all(w, id, err);
        if (rc)
            return rc;
        print_row(w, in->name);
    }
    return QA_OK;
}

static int load(data_set *ds, const char *dir, int rgb, qa_err *err)
{
    int rc = data_idx_load(ds, dir, "t10k", err);
    if (!rc && rgb) {
        data_set grey = *ds;
        rc = tint(&grey, ds, err);
        data_set_free(&grey);
    }
    return rc;
}

int main(int argc, char **argv)
{
    int nimg = 1000, rgb = 0;
    const char *dir = NULL, *table = "cifar";
    const bench_opt opts[] = {
        {.name = "--images", .num = &nimg, .min = 2},
        {.name = "--dir", .str = &dir},
        {.name = "--table", .str = &table},
        {.name = "--rgb", .flag = &rgb},
    };
    if (bench_parse_args(argc, argv, "env_quality_table", opts, (int)(sizeof opts / sizeof opts[0])))
        return 2;
    qa_err err = {0};
    data_set ds = {0};
    table_work w = {0};
    int rc = env_table_find(table, &w.t, &err);
    if (!rc)
        rc = load(&ds, dir, rgb, &err);
    if (!rc)
        rc = work_alloc(&w, &ds, nimg, &err);
    if (!rc)
        rc = print_table(&w, table, rgb, &err);
    if (rc)
        fprintf(stderr, "env_quality_table: %s\n", err.msg);
    work_free(&w);
    data_set_free(&ds);
    return rc ? 1 : 0;
}
