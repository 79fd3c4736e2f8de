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

typedef struct {
    double v;
    int i;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    double x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
    return (x > y) - (x < y);
}

/* average ranks of v[0..n) into rank */
static void ranks(const double *v, int n, ranked *tmp, double *rank)
{
    for (int i = 0; i < n; i++)
        tmp[i] = (ranked){v[i], i};
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_ranked);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && tmp[j + 1].v == tmp[i].v)
            j++;
        for (int k = i; k <= j; k++)
            rank[tmp[k].i] = 0.5 * (i + j) + 1;
        i = j + 1;
    }
}

static double pearson(const double *a, const double *b, int n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= n;
    mb /= n;
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

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
    env_table t;
    env_work *ws = NULL;
    int rc = env_table_find(table, &t, &err);
    if (!rc)
        rc = data_idx_load(&ds, dir, "t10k", &err);
    if (!rc && rgb) {
        data_set grey = ds;
        rc = tint(&grey, &ds, &err);
        data_set_free(&grey);
    }
    if (!rc)
        rc = env_work_create(&ws, ds.h, ds.w, &err);
    if (rc) {
        fprintf(stderr, "env_quality_table: %s\n", err.msg);
        data_set_free(&ds);
        return 1;
    }
    if (nimg > ds.n)
        nimg = ds.n;
    int n = nimg * ENV_MAX_SEVERITY, nf = ENV_Q_NFEAT;
    size_t sz = data_set_image_size(&ds);
    uint8_t *img = malloc(sz);
    float *scratch = malloc(env_quality_scratch(ds.h, ds.w) * sizeof(float));
    double *feat = malloc((size_t)n * nf * sizeof(double)), *sev = malloc((size_t)n * sizeof(double));
    double *col = malloc((size_t)n * sizeof(double)), *rf = malloc((size_t)n * sizeof(double));
    double *rs = malloc((size_t)n * sizeof(double));
    ranked *tmp = malloc((size_t)n * sizeof(ranked));
    printf("Spearman rho(feature, severity), %d Fashion-MNIST test images x severities 1..5, "
           "table %s%s\n%-18s", nimg, table, rgb ? ", tinted RGB" : "", "corruption");
    for (int f = 0; f < nf; f++)
        printf(" %10s", env_feat_name(ENV_FEAT_QUALITY, f));
    printf("  best\n");
    for (int id = 0; id < ENV_NCORRUPTION && !rc; id++) {
        const env_corruption_info *in = env_corruption_get(id);
        if (!in->available || env_corruption_is_identity(id, ds.c))
            continue;
        for (int i = 0; i < nimg && !rc; i++)
            for (int s = 1; s <= ENV_MAX_SEVERITY && !rc; s++) {
                nn_rng r;
                env_corrupt_rng(&r, 0, id, (uint32_t)i, env_round_eval(0));
                rc = env_corrupt(ws, id, s, t, data_set_image(&ds, i), img, ds.h, ds.w, ds.c, &r,
                                 &err);
                float f[ENV_Q_NFEAT];
                env_quality(img, ds.h, ds.w, ds.c, scratch, f);
                int k = i * ENV_MAX_SEVERITY + s - 1;
                sev[k] = s;
                for (int q = 0; q < nf; q++)
                    feat[(size_t)k * nf + q] = f[q];
            }
        if (rc)
            break;
        ranks(sev, n, tmp, rs);
        printf("%-18s", in->name);
        int best = 0;
        double bestv = 0;
        for (int q = 0; q < nf; q++) {
            for (int k = 0; k < n; k++)
                col[k] = feat[(size_t)k * nf + q];
            ranks(col, n, tmp, rf);
            double rho = pearson(rf, rs, n);
            printf(" %+10.3f", rho);
            if (fabs(rho) > bestv) {
                bestv = fabs(rho);
                best = q;
            }
        }
        printf("  %s\n", env_feat_name(ENV_FEAT_QUALITY, best));
    }
    if (rc)
        fprintf(stderr, "env_quality_table: %s\n", err.msg);
    free(img);
    free(scratch);
    free(feat);
    free(sev);
    free(col);
    free(rf);
    free(rs);
    free(tmp);
    env_work_free(ws);
    data_set_free(&ds);
    return rc ? 1 : 0;
}
