/* dist_none.c: dist.h without MPI built in: every process is a job of one.
 * Started by a launcher as one of several processes, it refuses: each would
 * believe it was alone and do the whole work, racing the others on the same
 * files. */
#include "experiments/dist/dist.h"

#include <stdlib.h>

int exp_dist_init(int *argc, char ***argv, qa_err *err)
{
    (void)argc;
    (void)argv;
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *v = getenv(sizes[i]);
        if (v && atoi(v) > 1)
            return qa_fail(err, QA_ERR_UNSUPPORTED,
                           "started as one of %s MPI processes (%s), but this qadapt has no MPI "
                           "built in: install libopenmpi-dev and rebuild (meson setup -Dmpi=enabled)",
                           v, sizes[i]);
    }
    return QA_OK;
}

void exp_dist_finish(void)
{
}

void exp_dist_abort(int code)
{
    (void)code;
}

int exp_dist_rank(void)
{
    return 0;
}

int exp_dist_size(void)
{
    return 1;
}

const char *exp_dist_library(void)
{
    return NULL;
}

int exp_dist_send(int to, const exp_dist_msg *m, qa_err *err)
{
    (void)m;
    return qa_fail(err, QA_ERR_ARG, "no rank %d: MPI is not built in (meson -Dmpi=enabled)", to);
}

int exp_dist_poll(exp_dist_msg *m)
{
    (void)m;
    return 0;
}

void exp_dist_train_hook(void)
{
}

exp_dist_exchanges exp_dist_exchange_totals(void)
{
    exp_dist_exchanges none = {0, 0.0, 0.0};
    return none;
}

int exp_dist_max(int v)
{
    return v;
}

int exp_dist_agree(int rc, qa_err *err)
{
    (void)err;
    return rc;
}

int exp_dist_failed_alone(void)
{
    return 0;
}

int exp_dist_agreed(void)
{
    return 0;
}
