/* par.c: a generation-counted fork-join pool. Workers spin briefly on the
 * generation (jobs in a training step follow each other within
 * microseconds) and then sleep on a condition variable, so an idle pool
 * costs no CPU on a shared machine. */
#include "nn/par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "nn/blas.h"

#define SPIN_ITERS 20000

typedef struct {
    pthread_t th[NN_PAR_MAX_THREADS];
    int nthreads; /* including the caller */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_mutex_t busy; /* one application thread uses the pool at a time */
    atomic_uint gen;      /* bumped once per job */
    atomic_int pending;   /* workers that have not finished the job */
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
static int atexit_done;

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

static void *worker(void *p)
{
    int tid = (int)(long)p;
    unsigned seen = pool.start_gen;
    in_job = 1;
    for (;;) {
        seen = wait_job(seen);
        if (pool.quit)
            return NULL;
        if (tid < pool.nt)
            pool.fn(pool.arg, tid, pool.nt);
        if (atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
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
    nn_blas_set_threads(1);
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

static void wait_done(void)
{
    for (int i = 0; i < SPIN_ITERS; i++) {
        if (atomic_load_explicit(&pool.pending, memory_order_acquire) == 0)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&pool.mu);
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) != 0)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
}

void nn_par_run(nn_par_fn fn, void *arg, int nt)
{
    if (nt > pool.nthreads)
        nt = pool.nthreads;
    if (nt < 1)
        nt = 1;
    /* The serial fallback runs the same shares in order: same results. */
    if (nt == 1 || in_job || pthread_mutex_trylock(&pool.busy) != 0) {
        for (int t = 0; t < nt; t++)
            fn(arg, t, nt);
        return;
    }
    pool.fn = fn;
    pool.arg = arg;
    pool.nt = nt;
    atomic_store_explicit(&pool.pending, pool.nthreads - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool.mu);
    atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    in_job = 1;
    fn(arg, 0, nt);
    in_job = 0;
    wait_done();
    pthread_mutex_unlock(&pool.busy);
}
