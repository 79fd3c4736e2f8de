/* api.c: qadapt.h over the engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy/engine.h"
#include "deploy/qadapt.h"
#include "nn/par.h"

struct qa_model {
    dep_engine *e;
    float *logits;   /* (cap, classes) */
    int cap;
    qa_err err;
};

qa_model *qa_model_load_kernel(const char *path, const char *kernel, char *msg, size_t msglen)
{
    qa_err err = {0};
    dep_model dm;
    qa_model *m = calloc(1, sizeof *m);
    int rc = m ? dep_model_read(&dm, path ? path : "(null)", &err)
               : qa_fail(&err, QA_ERR_NOMEM, "out of memory");
    dep_engine_opts o = {kernel};
    if (!rc)
        rc = dep_engine_create(&m->e, &dm, &o, &err);
    if (rc) {
        if (msg && msglen)
            snprintf(msg, msglen, "%s", err.msg);
        free(m);
        return NULL;
    }
    return m;
}

qa_model *qa_model_load(const char *path, char *msg, size_t msglen)
{
    return qa_model_load_kernel(path, NULL, msg, msglen);
}

void qa_model_info(const qa_model *m, qa_model_info_t *info)
{
    const dep_model *d = dep_engine_model(m->e);
    info->channels = d->c;
    info->height = d->h;
    info->width = d->w;
    info->classes = d->nclass;
    info->planned = d->nplan;
    info->adaptive = d->pol.present;
    info->kernel = dep_engine_kernel(m->e);
}

static int argmax(const float *v, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[k])
            k = i;
    return k;
}

int qa_model_predict(qa_model *m, const unsigned char *pixels, int n, int *classes,
                     float *logits, unsigned char *widths)
{
    const dep_model *d = dep_engine_model(m->e);
    if (n < 0 || (n > 0 && (!pixels || !classes)))
        return qa_fail(&m->err, QA_ERR_ARG, "qa_model_predict: %d images, pixels or classes NULL", n);
    float *lg = logits;
    if (!lg && n > m->cap) {
        free(m->logits);
        m->logits = malloc((size_t)n * (size_t)d->nclass * sizeof *m->logits);
        m->cap = m->logits ? n : 0;
        if (!m->logits)
            return qa_fail(&m->err, QA_ERR_NOMEM, "out of memory for %d images' logits", n);
    }
    if (!lg)
        lg = m->logits;
    int rc = dep_engine_predict(m->e, pixels, n, lg, widths, NULL, &m->err);
    for (int i = 0; !rc && i < n; i++)
        classes[i] = argmax(lg + (size_t)i * (size_t)d->nclass, d->nclass);
    return rc;
}

const char *qa_model_error(const qa_model *m)
{
    return m->err.msg;
}

void qa_model_free(qa_model *m)
{
    if (!m)
        return;
    dep_engine_free(m->e);
    free(m->logits);
    free(m);
}

int qa_set_threads(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    return nn_par_set_threads(n, NULL);
}
