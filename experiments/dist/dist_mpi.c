/* dist_mpi.c: dist.h on MPI. A process joins the job only when a launcher
 * started it (its variables are set): MPI_Init in a process started by hand
 * would make a singleton job, which costs time and, as root, refuses to
 * start. Messages are three longs (tag as the MPI tag) sent with MPI_Bsend
 * from a buffer attached at init, so a send completes without its receiver
 * (a rank waiting on its children must not block rank 0). */
#include "experiments/dist/dist.h"

#include <limits.h>

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/par.h"

#define BSEND_BYTES (1 << 20) /* far more than the messages in flight */

static int joined;
static int rank, size = 1;
static void *bsend_buf;

static int launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int exp_dist_init(int *argc, char ***argv, qa_err *err)
{
    if (!launched())
        return QA_OK;
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
        return qa_fail(err, QA_ERR_IO, "MPI_Init failed");
    joined = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bsend_buf = malloc(BSEND_BYTES);
    if (!bsend_buf)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for MPI's send buffer");
    MPI_Buffer_attach(bsend_buf, BSEND_BYTES);
    return QA_OK;
}

void exp_dist_finish(void)
{
    if (!joined)
        return;
    if (bsend_buf) {
        void *b;
        int n;
        MPI_Buffer_detach(&b, &n); /* waits until every buffered send is delivered */
        free(bsend_buf);
        bsend_buf = NULL;
    }
    MPI_Finalize();
    joined = 0;
}

void exp_dist_abort(int code)
{
    if (joined)
        MPI_Abort(MPI_COMM_WORLD, code);
}

int exp_dist_rank(void)
{
    return rank;
}

int exp_dist_size(void)
{
    return size;
}

const char *exp_dist_library(void)
{
    static char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    if (!lib[0] && MPI_Get_library_version(lib, &n) == MPI_SUCCESS)
        lib[strcspn(lib, ",\n")] = '\0'; /* "Open MPI v4.1.4", without the build details */
    return lib;
}

int exp_dist_send(int to, const exp_dist_msg *m, qa_err *err)
{
    if (!joined || to < 0 || to >= size)
        return qa_fail(err, QA_ERR_ARG, "no rank %d in a job of %d", to, size);
    long v[2] = {m->a, m->b};
    if (MPI_Bsend(v, 2, MPI_LONG, to, m->tag, MPI_COMM_WORLD) != MPI_SUCCESS)
        return qa_fail(err, QA_ERR_IO, "rank %d: cannot send to rank %d", rank, to);
    return QA_OK;
}

int exp_dist_poll(exp_dist_msg *m)
{
    int flag = 0;
    MPI_Status st;
    if (!joined || MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS ||
        !flag)
        return 0;
    long v[2];
    if (MPI_Recv(v, 2, MPI_LONG, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
        MPI_SUCCESS)
        return 0;
    *m = (exp_dist_msg){.from = st.MPI_SOURCE, .tag = st.MPI_TAG, .a = v[0], .b = v[1]};
    return 1;
}

static exp_dist_exchanges totals;

static void allgather(void *ctx, void *buf, const long *counts, const long *displs)
{
    (void)ctx;
    int c[NN_PAR_MAX_SHARES], d[NN_PAR_MAX_SHARES];
    for (int r = 0; r < size; r++) {
        QA_ASSERT(counts[r] <= INT_MAX && displs[r] <= INT_MAX);
        c[r] = (int)counts[r];
        d[r] = (int)displs[r];
        totals.bytes += r == rank ? 0.0 : (double)counts[r];
    }
    double t0 = MPI_Wtime();
    int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, c, d, MPI_BYTE,
                            MPI_COMM_WORLD);
    totals.seconds += MPI_Wtime() - t0;
    totals.calls++;
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "qadapt: rank %d: the exchange of partial sums failed\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

void exp_dist_train_hook(void)
{
    if (!joined || size < 2)
        return;
    nn_par_ranks r = {.rank = rank, .nranks = size, .allgather = allgather};
    nn_par_set_ranks(&r);
}

exp_dist_exchanges exp_dist_exchange_totals(void)
{
    return totals;
}

int exp_dist_max(int v)
{
    int out = v;
    if (joined && size > 1 &&
        MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "qadapt: rank %d: the agreement over ranks failed\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return out;
}

static int failed_alone, agreed;

int exp_dist_agree(int rc, qa_err *err)
{
    if (!joined || size < 2)
        return rc;
    int mine = rc ? rank : size, failed = rc != QA_OK, first = size, sum = 0;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS ||
        MPI_Allreduce(&failed, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "qadapt: rank %d: the agreement over ranks failed\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    failed_alone = rc && rank > 0 && first > 0;
    agreed = first == size;
    if (rc || agreed)
        return rc;
    return qa_fail(err, QA_ERR_IO, "rank %d of %d%s could not set up the run (%s); "
                   "no rank trained", first, size, sum > 1 ? " and others" : "",
                   sum > 1 ? "their messages say why" : "its message says why");
}

int exp_dist_failed_alone(void)
{
    return failed_alone;
}

int exp_dist_agreed(void)
{
    return agreed;
}
