/* cost_info.c: the per-layer cost table of a named model, for
 * `qadapt info --model NAME`: the model is built, wrapped with the given
 * [quant] settings (first/last pinning decides the plan rows) and printed;
 * or its cost model kept (the HAQ search's layers and budget). */
#include "quant/cost.h"

#include "nn/models.h"
#include "quant/qnet.h"

/* model arch built for (c, h, w) inputs and wrapped with cfg */
static int wrapped(nn_net **net, q_net **qn, const char *arch, int c, int h, int w, int nclass,
                   const q_cfg *cfg, qa_err *err)
{
    *qn = NULL;
    int rc = nn_model_build(net, arch, 1, c, h, w, nclass, err);
    if (rc < 0)
        return rc;
    rc = q_net_wrap(qn, *net, cfg, err);
    if (rc < 0) {
        nn_net_free(*net);
        *net = NULL;
    }
    return rc;
}

int q_cost_model_build(q_cost_model *cm, const char *arch, int c, int h, int w, int nclass,
                       const q_cfg *cfg, qa_err *err)
{
    nn_net *net;
    q_net *qn;
    int rc = wrapped(&net, &qn, arch, c, h, w, nclass, cfg, err);
    if (rc < 0)
        return rc;
    rc = q_cost_model_init(cm, qn->cost.layers, qn->cost.n, err);
    q_net_free(qn);
    nn_net_free(net);
    return rc;
}

int q_cost_info(FILE *f, const char *arch, int c, int h, int w, int nclass, const q_cfg *cfg,
                qa_err *err)
{
    nn_net *net;
    q_net *qn;
    int rc = wrapped(&net, &qn, arch, c, h, w, nclass, cfg, err);
    if (rc < 0)
        return rc;
    fprintf(f, "model %s, input %dx%dx%d, %d classes: %d quantized layers, %d planned "
               "(first/last pinned at %d/%d bits, 0 = planned)\n\n",
            arch, c, h, w, nclass, qn->n, qn->plan->nlayers, cfg->first_bits, cfg->last_bits);
    q_cost_print(&qn->cost, f);
    q_net_free(qn);
    nn_net_free(net);
    return rc;
}
