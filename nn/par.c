/* par.c: a generation-counted fork-join pool. Workers spin briefly on the
 * generation (jobs in a training step follow each other within
 * microseconds) and then sleep on a condition variable, so an idle pool
 * costs no CPU on a shared machine.
 * The nt shares of a job are claimed, not assigned: every thread, the caller
 * included, takes the next unclaimed share until none is left. On a shared
 * machine a worker is often descheduled for a few milliseconds; with fixed
 * assignment the whole step waited for it at every job (2-thread steps of
 * `small` ran 2x slower beside one busy process, where PyTorch's barely
 * moved); now the threads that run take its share. Which thread runs a share never changes its
 * result: fn sees only the share index (and the slot, for scratch). */
#include "nn/par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SPIN_ITERS 20000

typedef struct {
    pthread_t th[NN_PAR_MAX_THREADS];
    int nthreads; /* including the caller */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_mutex_t busy; /* one application thread uses the pool at a time */
    atomic_uint gen;      /* bumped once per job */
    /* (generation << 32) | (shares << 16) | next unclaimed share of the
     * current job: a claim names its job, so a worker that wakes late
     * cannot take a share of a later job for an earlier one */
    atomic_ullong claim;
    atomic_int finished; /* shares of the current job that have run */
    atomic_int sleeping; /* 1 while the caller waits on `done` */
    atomic_int nslots;   /* threads with a smaller slot take part in the current job */
    nn_par_fn fn;
    void *arg;
    int nt;
    int quit;
    unsigned start_gen; /* gen when the workers were created: jobs after it are new */
} par_pool;

static par_pool pool = {
    .nthreads = 1,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .busy = PTHREAD_MUTEX_INITIALIZER,
};
static _Thread_local int in_job;
static _Thread_local int thread_slot; /* t for worker t, 0 for any other thread */
static _Thread_local int serial;      /* > 0 while a job runs serially on this thread */
static int atexit_done;
static int nshares = NN_PAR_DEFAULT_SHARES;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static unsigned wait_job(unsigned seen)
{
    for (int i = 0; i < SPIN_ITERS; i++) {
        unsigned g = atomic_load_explicit(&pool.gen, memory_order_acquire);
        if (g != seen)
            return g;
        cpu_relax();
    }
    pthread_mutex_lock(&pool.mu);
    unsigned g;
    while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen && !pool.quit)
        pthread_cond_wait(&pool.wake, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    return g;
}

/* Runs shares of job `gen` until none is left unclaimed. pool.fn, arg and
 * nt are read only after a claim succeeded: they stay put until the job's
 * last share has run. nslots may already be a later job's, but only once
 * every share of `gen` has been claimed: then no claim can succeed. */
static void run_shares(unsigned gen)
{
    if (thread_slot >= atomic_load_explicit(&pool.nslots, memory_order_relaxed))
        return;
    unsigned long long c = atomic_load_explicit(&pool.claim, memory_order_acquire);
    for (;;) {
        int next = (int)(c & 0xffff), nt = (int)((c >> 16) & 0xffff);
        if ((unsigned)(c >> 32) != gen || next >= nt)
            return;
        if (!atomic_compare_exchange_weak_explicit(&pool.claim, &c, c + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        pool.fn(pool.arg, next, nt);
        /* seq_cst with wait_done's store of sleeping: either it sees the
         * count or this sees it sleeping */
        if (atomic_fetch_add(&pool.finished, 1) + 1 == nt && atomic_load(&pool.sleeping)) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
        c = atomic_load_explicit(&pool.claim, memory_order_acquire);
    }
}

static void *worker(void *p)
{
    unsigned seen = pool.start_gen;
    thread_slot = (int)(long)p;
    in_job = 1;
    for (;;) {
        seen = wait_job(seen);
        if (pool.quit)
            return NULL;
        run_shares(seen);
    }
}

void nn_par_shutdown(void)
{
    if (pool.nthreads <= 1)
        return;
    pthread_mutex_lock(&pool.mu);
    pool.quit = 1;
    atomic_fetch_add(&pool.gen, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int t = 1; t < pool.nthreads; t++)
        pthread_join(pool.th[t], NULL);
    pool.quit = 0;
    pool.nthreads = 1;
}

int nn_par_set_threads(int n, qa_err *err)
{
    QA_ASSERT(!in_job);
    if (n < 1 || n > NN_PAR_MAX_THREADS)
        return qa_fail(err, QA_ERR_ARG, "thread count %d is out of range [1, %d]", n,
                       NN_PAR_MAX_THREADS);
    if (n == pool.nthreads)
        return QA_OK;
    nn_par_shutdown();
    if (!atexit_done) {
        atexit(nn_par_shutdown);
        atexit_done = 1;
    }
    pool.start_gen = atomic_load(&pool.gen);
    for (int t = 1; t < n; t++) {
        if (pthread_create(&pool.th[t], NULL, worker, (void *)(long)t) != 0) {
            pool.nthreads = t;
            nn_par_shutdown();
            return qa_fail(err, QA_ERR_NOMEM, "cannot start worker thread %d of %d", t, n);
        }
        pool.nthreads = t + 1;
    }
    return QA_OK;
}

int nn_par_threads(void)
{
    return pool.nthreads;
}

int nn_par_set_shares(int n, qa_err *err)
{
    QA_ASSERT(!in_job);
    if (n < 1 || n > NN_PAR_MAX_SHARES)
        return qa_fail(err, QA_ERR_ARG, "share count %d is out of range [1, %d]", n,
                       NN_PAR_MAX_SHARES);
    nshares = n;
    return QA_OK;
}

int nn_par_shares(void)
{
    return nshares;
}

int nn_par_slot(void)
{
    return serial ? 0 : thread_slot;
}

static int job_done(void)
{
    return atomic_load_explicit(&pool.finished, memory_order_acquire) == pool.nt;
}

/* Every share has been claimed; waits until the last one has run. */
static void wait_done(void)
{
    for (int i = 0; i < SPIN_ITERS; i++) {
        if (job_done())
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&pool.mu);
    atomic_store(&pool.sleeping, 1);
    while (atomic_load(&pool.finished) != pool.nt)
        pthread_cond_wait(&pool.done, &pool.mu);
    atomic_store_explicit(&pool.sleeping, 0, memory_order_relaxed);
    pthread_mutex_unlock(&pool.mu);
}

static void run_serial(nn_par_fn fn, void *arg, int nt)
{
    serial++;
    for (int t = 0; t < nt; t++)
        fn(arg, t, nt);
    serial--;
}

void nn_par_run_on(nn_par_fn fn, void *arg, int nt, int nslots)
{
    if (nt < 1)
        nt = 1;
    QA_ASSERT(nt <= 0xffff);
    /* The serial fallback runs the same shares in order: same results. */
    if (nt == 1 || nslots < 2 || pool.nthreads == 1 || in_job ||
        pthread_mutex_trylock(&pool.busy) != 0) {
        run_serial(fn, arg, nt);
        return;
    }
    pool.fn = fn;
    pool.arg = arg;
    pool.nt = nt;
    atomic_store_explicit(&pool.nslots, nslots, memory_order_relaxed);
    atomic_store_explicit(&pool.finished, 0, memory_order_relaxed);
    unsigned gen = atomic_load_explicit(&pool.gen, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool.claim, (unsigned long long)gen << 32 | (unsigned long long)nt << 16,
                          memory_order_release);
    pthread_mutex_lock(&pool.mu);
    atomic_store_explicit(&pool.gen, gen, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    in_job = 1;
    run_shares(gen);
    in_job = 0;
    wait_done();
    pthread_mutex_unlock(&pool.busy);
}

void nn_par_run(nn_par_fn fn, void *arg, int nt)
{
    nn_par_run_on(fn, arg, nt, NN_PAR_MAX_THREADS);
}
