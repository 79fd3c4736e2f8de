/* loader.c: split, shuffle, batch, normalise. */
#include "data/loader.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "nn/rng.h"

int data_split_make(data_split *s, int n, double val_fraction, uint64_t seed, qa_err *err)
{
    memset(s, 0, sizeof *s);
    if (n < 1 || !(val_fraction >= 0.0 && val_fraction < 1.0))
        return qa_fail(err, QA_ERR_ARG,
                       "cannot split %d images with validation fraction %g (expected 0 <= f < 1)",
                       n, val_fraction);
    int nval = (int)floor(val_fraction * n + 0.5);
    if (nval >= n)
        nval = n - 1;
    int *perm = malloc((size_t)n * sizeof *perm);
    char *is_val = calloc((size_t)n, 1);
    s->train = malloc((size_t)(n - nval) * sizeof *s->train);
    s->val = malloc((size_t)(nval > 0 ? nval : 1) * sizeof *s->val);
    if (!perm || !is_val || !s->train || !s->val) {
        free(perm);
        free(is_val);
        data_split_free(s);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory splitting %d images", n);
    }
    nn_rng r;
    nn_rng_init(&r, seed, NN_STREAM_SPLIT, 0, 0);
    nn_rng_permutation(&r, perm, n);
    for (int i = 0; i < nval; i++)
        is_val[perm[i]] = 1;
    for (int i = 0; i < n; i++) {
        if (is_val[i])
            s->val[s->nval++] = i;
        else
            s->train[s->ntrain++] = i;
    }
    free(perm);
    free(is_val);
    return QA_OK;
}

void data_split_free(data_split *s)
{
    free(s->train);
    free(s->val);
    memset(s, 0, sizeof *s);
}

int data_loader_init(data_loader *dl, const int *indices, int n, const data_loader_cfg *cfg,
                     qa_err *err)
{
    memset(dl, 0, sizeof *dl);
    if (n < 1 || cfg->batch < 1)
        return qa_fail(err, QA_ERR_ARG, "loader needs at least one image and batch >= 1 (got %d, %d)",
                       n, cfg->batch);
    if (cfg->drop_last && n < cfg->batch)
        return qa_fail(err, QA_ERR_ARG,
                       "%d images make no full batch of %d; lower the batch size or keep the last "
                       "batch (drop_last = false)",
                       n, cfg->batch);
    dl->pool = malloc((size_t)n * sizeof *dl->pool);
    dl->order = malloc((size_t)n * sizeof *dl->order);
    if (!dl->pool || !dl->order) {
        data_loader_free(dl);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for a loader of %d images", n);
    }
    for (int i = 0; i < n; i++)
        dl->pool[i] = indices ? indices[i] : i;
    dl->n = n;
    dl->cfg = *cfg;
    data_loader_start_epoch(dl, 0);
    return QA_OK;
}

void data_loader_free(data_loader *dl)
{
    free(dl->pool);
    free(dl->order);
    memset(dl, 0, sizeof *dl);
}

void data_loader_start_epoch(data_loader *dl, int epoch)
{
    dl->epoch = epoch;
    dl->pos = 0;
    if (!dl->cfg.shuffle) {
        memcpy(dl->order, dl->pool, (size_t)dl->n * sizeof *dl->order);
        return;
    }
    /* order[i] = pool[perm[i]]: the permutation is built in order, then mapped in place */
    nn_rng r;
    nn_rng_init(&r, dl->cfg.seed, NN_STREAM_SHUFFLE, (uint32_t)epoch, 0);
    nn_rng_permutation(&r, dl->order, dl->n);
    for (int i = 0; i < dl->n; i++)
        dl->order[i] = dl->pool[dl->order[i]];
}

int data_loader_batches(const data_loader *dl)
{
    int b = dl->cfg.batch;
    return dl->cfg.drop_last ? dl->n / b : (dl->n + b - 1) / b;
}

int data_loader_samples(const data_loader *dl)
{
    return dl->cfg.drop_last ? dl->n / dl->cfg.batch * dl->cfg.batch : dl->n;
}

int data_loader_next(data_loader *dl, const int **idx)
{
    int left = data_loader_samples(dl) - dl->pos;
    int n = left < dl->cfg.batch ? left : dl->cfg.batch;
    if (n <= 0)
        return 0;
    *idx = dl->order + dl->pos;
    dl->pos += n;
    return n;
}

void data_channel_stats(const data_set *ds, const int *idx, int n, double *mean, double *std)
{
    size_t hw = (size_t)ds->h * (size_t)ds->w;
    for (int ch = 0; ch < ds->c; ch++) {
        uint64_t hist[256] = {0};
        for (int i = 0; i < n; i++) {
            const uint8_t *px = data_set_image(ds, idx ? idx[i] : i) + ch;
            for (size_t p = 0; p < hw; p++)
                hist[px[p * (size_t)ds->c]]++;
        }
        double cnt = (double)n * (double)hw, s = 0, s2 = 0;
        for (int v = 0; v < 256; v++) {
            double x = v / 255.0;
            s += (double)hist[v] * x;
            s2 += (double)hist[v] * x * x;
        }
        mean[ch] = s / cnt;
        double var = s2 / cnt - mean[ch] * mean[ch];
        std[ch] = sqrt(var > 0 ? var : 0);
    }
}

void data_gather(const data_set *ds, const int *idx, int n, uint8_t *px, int *labels)
{
    size_t sz = data_set_image_size(ds);
    for (int i = 0; i < n; i++) {
        memcpy(px + (size_t)i * sz, data_set_image(ds, idx[i]), sz);
        labels[i] = ds->labels[idx[i]];
    }
}

void data_images_to_float(const uint8_t *px, int n, int h, int w, int c, const float *mean,
                          const float *std, float *out)
{
    size_t sz = (size_t)h * (size_t)w * (size_t)c;
    for (int i = 0; i < n; i++)
        data_image_to_float(px + (size_t)i * sz, h, w, c, mean, std, out + (size_t)i * sz);
}
