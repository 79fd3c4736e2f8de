/* dist_none.c: dist.h without MPI built in: every process is a job of one. */
#include "experiments/dist/dist.h"

int exp_dist_init(int *argc, char ***argv, qa_err *err)
{
    (void)argc;
    (void)argv;
    (void)err;
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
