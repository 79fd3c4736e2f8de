/* cmd_export.c: `qadapt export RUN.h5 MODEL.qam`: a finished quantized
 * run's integer model (deploy/qam.h), from its checkpoint. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "experiments/cli/commands.h"
#include "experiments/cli/deploy_run.h"

static void export_usage(void)
{
    printf("usage: qadapt export RUN.h5 MODEL.qam\n\n"
           "Writes the integer model of a finished quantized run (method fixed or dqmq): the\n"
           "network with every layer's weight codes packed at their width, per-channel\n"
           "scales, activation steps and the folded batchnorm, and for dqmq the policy and\n"
           "the quality features it reads. The parameters come from the run's checkpoint\n"
           "(ckpt.h5 next to RUN.h5). `qadapt infer MODEL.qam IMAGES...` runs it.\n\n"
           "  --help   this text\n");
}

typedef struct {
    const char *out;
    long bytes;
    dep_model m;
} export_ctx;

static int export_run(const char *run, export_ctx *x, qa_err *err)
{
    exp_trained_run t;
    exp_deploy d;
    int rc = exp_trained_open(&t, run, NULL, 0, NULL, err);
    if (!rc)
        rc = exp_trained_lower(t.r, &d, &x->m, err);
    exp_trained_close(&t);
    if (!rc)
        rc = dep_model_write(&x->m, x->out, err);
    struct stat st;
    x->bytes = !rc && stat(x->out, &st) == 0 ? (long)st.st_size : -1;
    return rc;
}

static void print_model(const export_ctx *x)
{
    const dep_model *m = &x->m;
    printf("model: %s (%s, %dx%dx%d -> %d classes), %ld bytes\n", x->out, m->arch, m->c, m->h,
           m->w, m->nclass, x->bytes);
    for (int i = 0; i < m->nlayers; i++) {
        const dep_layer *l = &m->layers[i];
        printf("  %-20s %3dx%dx%d -> %3d  weights W", l->name, l->c, l->kh, l->kw, l->oc);
        for (int j = 0; j < l->nw; j++)
            printf("%s%d", j ? "/" : "", l->ws[j].bits);
        printf("%s%s\n", l->row >= 0 ? " (planned)" : "", l->groups > 1 ? ", depthwise" : "");
    }
    if (m->pol.present)
        printf("policy: %d features -> %d -> %d, %zu parameters\n", m->pol.nin, m->pol.hidden,
               m->pol.hidden, m->pol.nparams);
    else if (m->nplan > 0) {
        printf("plan: W");
        for (int l = 0; l < m->nplan; l++)
            printf("%s%d", l ? "," : "", m->fixed_w[l]);
        printf(" A");
        for (int l = 0; l < m->nplan; l++)
            printf("%s%d", l ? "," : "", m->fixed_a[l]);
        printf(" (planned layers)\n");
    }
}

int exp_cmd_export(int argc, char **argv, qa_err *err)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            export_usage();
            return QA_OK;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return qa_fail(err, QA_ERR_ARG, "unknown option '%s' (see qadapt export --help)",
                           argv[i]);
        if (npos == 2)
            return qa_fail(err, QA_ERR_ARG, "export takes RUN.h5 and MODEL.qam, got a third "
                           "argument '%s'", argv[i]);
        pos[npos++] = argv[i];
    }
    if (npos < 2)
        return qa_fail(err, QA_ERR_ARG, "usage: qadapt export RUN.h5 MODEL.qam (see --help)");
    export_ctx x;
    memset(&x, 0, sizeof x);
    x.out = pos[1];
    int rc = export_run(pos[0], &x, err);
    if (!rc)
        print_model(&x);
    dep_model_free(&x.m);
    return rc;
}
