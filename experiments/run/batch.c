/* batch.c: staging, (degradation,) conversion. */
#include "experiments/run/batch.h"

#include <stdlib.h>
#include <string.h>

#include "data/loader.h"
#include "experiments/run/run.h"
#include "experiments/run/run_env.h"

int exp_batch_alloc(exp_batch *b, int cap, int h, int w, int c, int nfeat, qa_err *err)
{
    memset(b, 0, sizeof *b);
    size_t ncap = (size_t)cap;
    b->index = malloc(ncap * sizeof *b->index);
    b->label = malloc(ncap * sizeof *b->label);
    b->px = malloc(ncap * (size_t)h * (size_t)w * (size_t)c);
    b->corruption = malloc(ncap * sizeof *b->corruption);
    b->severity = malloc(ncap * sizeof *b->severity);
    b->loss = calloc(ncap, sizeof *b->loss);
    b->features = nfeat > 0 ? calloc(ncap * (size_t)nfeat, sizeof *b->features) : NULL;
    if (!b->index || !b->label || !b->px || !b->corruption || !b->severity || !b->loss ||
        (nfeat > 0 && !b->features)) {
        exp_batch_free(b);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for a batch of %d images", cap);
    }
    b->cap = cap;
    b->h = h;
    b->w = w;
    b->c = c;
    b->nfeat = nfeat;
    return QA_OK;
}

void exp_batch_free(exp_batch *b)
{
    free(b->index);
    free(b->label);
    free(b->px);
    free(b->corruption);
    free(b->severity);
    free(b->features);
    free(b->loss);
    memset(b, 0, sizeof *b);
}

void exp_batch_stage(exp_batch *b, const data_set *ds, const int *idx, int n, int train,
                     int epoch)
{
    QA_ASSERT(n >= 0 && n <= b->cap && ds->h == b->h && ds->w == b->w && ds->c == b->c);
    b->n = n;
    b->train = train;
    b->epoch = epoch;
    memcpy(b->index, idx, (size_t)n * sizeof *idx);
    data_gather(ds, idx, n, b->px, b->label);
    for (int i = 0; i < n; i++) {
        b->corruption[i] = -1;
        b->severity[i] = 0;
    }
    if (b->features)
        memset(b->features, 0, (size_t)n * (size_t)b->nfeat * sizeof *b->features);
}

void exp_batch_to_input(const exp_batch *b, const float *mean, const float *std, float *out)
{
    data_images_to_float(b->px, b->n, b->h, b->w, b->c, mean, std, out);
}

int exp_batch_prepare(exp_run *r, exp_batch *b, const data_set *ds, const int *idx, int n,
                      int train, qa_err *err)
{
    exp_batch_stage(b, ds, idx, n, train, r->epoch);
    int rc = exp_env_degrade(r, b, ds == &r->test_set, err);
    if (rc)
        return rc;
    exp_batch_to_input(b, r->mean, r->std, nn_net_input(r->net));
    return QA_OK;
}
