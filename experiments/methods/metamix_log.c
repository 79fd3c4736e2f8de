/* metamix_log.c: method metamix's columns, its /train/arch table and the
 * instability probe (listed in metamix.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/methods/metamix.h"

static int epoch_columns(exp_run *r, mm_state *st, qa_err *err)
{
    struct {
        const char *name;
        int count, *at;
    } cols[] = {{"phase", 1, &st->c_phase},
                {"cand_loss", st->K, &st->c_cand},
                {"arch_loss", 1, &st->c_arch},
                {"cost_term", 1, &st->c_cost},
                {"soft_bitops_vs_int8", 1, &st->c_soft},
                {"argmax_bitops_vs_int8", 1, &st->c_argmax},
                {"held_bitops_vs_int8", 1, &st->c_held},
                {"hold_moves", 1, &st->c_moves},
                {"instability", st->L, &st->c_inst},
                {"instability_mean", 1, &st->c_imean},
                {"weight_seconds", 1, &st->c_wsec},
                {"arch_seconds", 1, &st->c_asec}};
    int rc = exp_qmethod_setup(&st->qm, r, err);
    for (size_t j = 0; !rc && j < sizeof cols / sizeof cols[0]; j++)
        rc = exp_run_add_f64(r, cols[j].name, cols[j].count, cols[j].at, err);
    return rc;
}

/* "a,b,c" of the planned layers' names (malloc'd) */
static char *planned_names(const q_net *qn)
{
    char *s = calloc((size_t)qn->n, sizeof qn->cost.layers[0].name + 1);
    for (int j = 0; s && j < qn->n; j++)
        if (qn->cost.layers[j].plan_layer >= 0) {
            if (*s)
                strcat(s, ",");
            strcat(s, qn->cost.layers[j].name);
        }
    return s;
}

static int arch_table(exp_run *r, mm_state *st, qa_err *err)
{
    h5log_col c[12];
    int n = 0;
    c[n++] = (h5log_col){"epoch", H5LOG_I64, 1};
    c[n++] = (h5log_col){"phase", H5LOG_I64, 1};
    c[n++] = (h5log_col){"layer", H5LOG_I64, 1};
    c[n++] = (h5log_col){"p_a", H5LOG_F64, st->K};
    if (st->S == 2)
        c[n++] = (h5log_col){"p_w", H5LOG_F64, st->K};
    c[n++] = (h5log_col){"w_bits", H5LOG_I64, 1};
    c[n++] = (h5log_col){"a_bits", H5LOG_I64, 1};
    c[n++] = (h5log_col){"instability", H5LOG_F64, 1};
    c[n++] = (h5log_col){"act_mean", H5LOG_F64, st->K};
    c[n++] = (h5log_col){"act_sd", H5LOG_F64, st->K};
    int rc = h5log_table_create(&st->arch, r->log, "/train/arch", c, n, 64, 0, err);
    double cand[Q_MAX_CAND];
    for (int k = 0; k < st->K; k++)
        cand[k] = st->cfg.cand[k];
    if (!rc)
        rc = h5log_attr_f64v(r->log, "/train/arch", "candidates", cand, st->K, err);
    char *names = planned_names(st->qm.qn);
    if (!rc && !names)
        rc = qa_fail(err, QA_ERR_NOMEM, "out of memory writing /train/arch");
    if (!rc)
        rc = h5log_attr_str(r->log, "/train/arch", "names", names, err);
    free(names);
    return rc;
}

int mm_log_setup(exp_run *r, mm_state *st, qa_err *err)
{
    int rc = epoch_columns(r, st, err);
    if (!rc)
        rc = arch_table(r, st, err);
    if (rc)
        return rc;
    st->arow = calloc((size_t)h5log_table_width(st->arch), sizeof *st->arow);
    return st->arow ? QA_OK : qa_fail(err, QA_ERR_NOMEM, "method metamix: out of memory");
}

/* configuration k of the probe: every planned layer's activations at c_k,
 * the weights as the epoch just trained ran them */
static int probe_chunk(exp_run *r, mm_state *st, const int *idx, int n, qa_err *err)
{
    int rc = exp_batch_prepare(r, &r->batch, &r->train_set, idx, n, 0, err);
    for (int k = 0; !rc && k < st->K; k++) {
        agent_metamix_candidate(st->ag, k, n, st->qm.qn->plan);
        nn_net_forward(r->net, n, 0);
        q_instab_add(st->inst, r->net, k, n);
    }
    return rc;
}

int mm_probe(exp_run *r, mm_state *st, qa_err *err)
{
    size_t LK = (size_t)st->L * (size_t)st->K;
    int nprobe = st->cfg.probe < r->split.ntrain ? st->cfg.probe : r->split.ntrain;
    if (nprobe <= 0) {
        for (size_t j = 0; j < (size_t)st->L + 2 * LK; j++)
            st->inst_l[j] = NAN;
        return QA_OK;
    }
    st->ag->final = exp_phase_of(&st->phases, r->epoch, r->cfg->train.epochs) ==
                    EXP_PHASE_FINETUNE;
    q_instab_reset(st->inst);
    int rc = QA_OK, B = r->net->max_batch;
    for (int at = 0; !rc && at < nprobe; at += B)
        rc = probe_chunk(r, st, r->split.train + at, nprobe - at < B ? nprobe - at : B, err);
    if (!rc)
        q_instab_measure(st->inst, st->inst_l, st->mean, st->sd);
    return rc;
}

static double per_step(double sum, long n)
{
    return n > 0 ? sum / (double)n : NAN;
}

/* the /train/epochs columns of metamix (the qmethod ones come with the plan) */
static void epoch_row(mm_state *st, const agent_mm_hold *h, exp_phase ph, h5log_value *row)
{
    const mm_sums *m = &st->sums;
    double soft, imean = 0.0;
    agent_metamix_penalty(st->ag, NULL, &soft, NULL);
    row[st->c_phase].f = ph;
    for (int k = 0; k < st->K; k++)
        row[st->c_cand + k].f = per_step(m->cand_loss[k], m->mean_steps);
    row[st->c_arch].f = per_step(m->arch_loss, m->arch_steps);
    row[st->c_cost].f = per_step(m->cost, m->arch_steps);
    row[st->c_soft].f = soft;
    row[st->c_argmax].f = h->argmax_rel;
    row[st->c_held].f = h->held_rel;
    row[st->c_moves].f = h->moves;
    for (int l = 0; l < st->L; l++) {
        row[st->c_inst + l].f = st->inst_l[l];
        imean += st->inst_l[l] / st->L;
    }
    row[st->c_imean].f = imean;
    row[st->c_wsec].f = m->weight_s;
    row[st->c_asec].f = m->arch_s;
}

static int arch_rows(exp_run *r, mm_state *st, exp_phase ph, const int *w, const int *a,
                     qa_err *err)
{
    int rc = QA_OK, K = st->K;
    for (int l = 0; !rc && l < st->L; l++) {
        h5log_value *v = st->arow;
        int n = 0;
        v[n++].i = r->epoch + 1;
        v[n++].i = ph;
        v[n++].i = l;
        for (int s = 0; s < st->S; s++)
            for (int k = 0; k < K; k++)
                v[n++].f = st->ag->prob[((size_t)s * st->L + (size_t)l) * K + k];
        v[n++].i = w[l];
        v[n++].i = a[l];
        v[n++].f = st->inst_l[l];
        for (int k = 0; k < K; k++)
            v[n++].f = st->mean[(size_t)l * K + k];
        for (int k = 0; k < K; k++)
            v[n++].f = st->sd[(size_t)l * K + k];
        rc = h5log_table_append(st->arch, v, 1, err);
    }
    return rc;
}

int mm_log_epoch(exp_run *r, mm_state *st, h5log_value *row, qa_err *err)
{
    exp_phase ph = exp_phase_of(&st->phases, r->epoch, r->cfg->train.epochs);
    int w[Q_MAX_LAYERS], a[Q_MAX_LAYERS];
    st->ag->final = 1;
    agent_mm_hold h;
    agent_metamix_widths(st->ag, w, a, &h); /* the widths weight training runs */
    epoch_row(st, &h, ph, row);
    int rc = arch_rows(r, st, ph, w, a, err);
    /* the qmethod columns: the plan the epoch's evaluation ran */
    st->ag->final = ph == EXP_PHASE_FINETUNE;
    agent_obs o = {1, 0, NULL, NULL, r->seed, (uint32_t)r->epoch};
    agent_act(&st->ag->base, &o, AGENT_ACT_GREEDY, st->qm.qn->plan);
    return rc ? rc : exp_qmethod_epoch_end(r, st, row, err);
}
