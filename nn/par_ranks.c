/* par_ranks.c: the shares of a batch over the ranks of a data-parallel job
 * (par.h): which rank computes which share, and the exchange of per-share
 * blocks through the hook. Deliberately not here: how bytes cross ranks
 * (the hook's owner, experiments/dist/), and the thread pool (par.c). */
#include <stdlib.h>

#include "nn/par.h"

static nn_par_ranks ranks = {0, 1, NULL, NULL};
static int whole; /* nn_par_whole depth */

void nn_par_set_ranks(const nn_par_ranks *r)
{
    nn_par_ranks one = {0, 1, NULL, NULL};
    ranks = r ? *r : one;
}

int nn_par_ranked(void)
{
    return ranks.nranks > 1 && ranks.allgather && whole == 0;
}

void nn_par_whole(int on)
{
    whole += on ? 1 : -1;
    QA_ASSERT(whole >= 0);
}

/* The rank whose shares hold sample i of n: rank r owns the samples of
 * the fixed shares [S r / R, S (r+1) / R). */
static int owner_of(long n, long i)
{
    int S = nn_par_shares(), R = ranks.nranks, owner = 0;
    for (int r = 1; r < R; r++) {
        long lo, hi;
        nn_par_range(n, (int)((long)S * r / R), S, &lo, &hi);
        if (i >= lo)
            owner = r;
    }
    return owner;
}

static int share_owner(long n, int s, int ns)
{
    long lo, hi;
    nn_par_range(n, s, ns, &lo, &hi);
    return owner_of(n, lo);
}

int nn_par_owns(long n, int s, int ns)
{
    return !nn_par_ranked() || share_owner(n, s, ns) == ranks.rank;
}

typedef struct {
    nn_par_fn fn;
    void *arg;
    long n;
} owned_job;

static void owned_run(void *arg, int s, int ns)
{
    const owned_job *j = arg;
    if (nn_par_owns(j->n, s, ns))
        j->fn(j->arg, s, ns);
}

void nn_par_run_owned(nn_par_fn fn, void *arg, int ns, int nslots, long n)
{
    if (!nn_par_ranked()) {
        nn_par_run_on(fn, arg, ns, nslots);
        return;
    }
    owned_job j = {fn, arg, n};
    nn_par_run_on(owned_run, &j, ns, nslots);
}

void nn_par_gather(void *base, size_t block, long n, int first, int ns)
{
    if (!nn_par_ranked() || first >= ns)
        return;
    long counts[NN_PAR_MAX_SHARES], displs[NN_PAR_MAX_SHARES];
    QA_ASSERT(ranks.nranks <= NN_PAR_MAX_SHARES);
    for (int r = 0; r < ranks.nranks; r++)
        counts[r] = displs[r] = 0;
    /* owners rise with s, so each rank's blocks are one run */
    for (int s = ns - 1; s >= first; s--) {
        int r = share_owner(n, s, ns);
        counts[r] += (long)block;
        displs[r] = (long)((size_t)(s - first) * block);
    }
    ranks.allgather(ranks.ctx, base, counts, displs);
}
