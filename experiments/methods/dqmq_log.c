/* dqmq_log.c: method dqmq's columns, per-sample tables and evaluation grid
 * (listed in dqmq.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/relax.h"
#include "experiments/methods/dqmq.h"

static int epoch_columns(exp_run *r, dqmq_state *st, qa_err *err)
{
    int rc = exp_qmethod_setup(&st->qm, r, err);
    if (!rc)
        rc = exp_run_add_f64(r, "train_bitops_vs_int8", 1, &st->c_tr_rel, err);
    if (!rc)
        rc = exp_run_add_f64(r, "train_w_bits", st->L, &st->c_tr_w, err);
    if (!rc)
        rc = exp_run_add_f64(r, "train_a_bits", st->L, &st->c_tr_a, err);
    if (!rc)
        rc = exp_run_add_f64(r, "cost_term", 1, &st->c_cost, err);
    if (!rc)
        rc = exp_run_add_f64(r, "critic_mse", 1, &st->c_mse, err);
    if (!rc)
        rc = exp_run_add_f64(r, "policy_macs", 1, &st->c_pmacs, err);
    if (!rc)
        rc = exp_run_add_f64(r, "policy_macs_vs_backbone", 1, &st->c_pfrac, err);
    if (!rc)
        rc = exp_run_add_f64(r, "sigma_max", 1, &st->c_sigma, err);
    if (!rc)
        rc = exp_run_add_f64(r, "tau", 1, &st->c_tau, err);
    if (!rc)
        rc = exp_run_add_f64(r, "phase", 1, &st->c_phase, err);
    return rc;
}

/* the per-sample columns; features only when the environment has some */
static int sample_cols(const exp_run *r, const dqmq_state *st, h5log_col *c)
{
    int n = 0, LK = st->L * st->K;
    static const char *const ints[] = {"epoch", "index", "corruption", "severity"};
    for (int j = 0; j < 4; j++)
        c[n++] = (h5log_col){.type = H5LOG_I64, .count = 1};
    for (int j = 0; j < 4; j++)
        snprintf(c[j].name, sizeof c[j].name, "%s", ints[j]);
    if (r->batch.nfeat > 0)
        c[n++] = (h5log_col){"features", H5LOG_F64, r->batch.nfeat};
    c[n++] = (h5log_col){"p_w", H5LOG_F64, LK};
    if (st->S == 2)
        c[n++] = (h5log_col){"p_a", H5LOG_F64, LK};
    c[n++] = (h5log_col){"w_bits", H5LOG_I64, st->L};
    c[n++] = (h5log_col){"a_bits", H5LOG_I64, st->L};
    c[n++] = (h5log_col){"loss", H5LOG_F64, 1};
    c[n++] = (h5log_col){"correct", H5LOG_I64, 1};
    c[n++] = (h5log_col){"bitops", H5LOG_F64, 1};
    return n;
}

static int grid_table(exp_run *r, dqmq_state *st, qa_err *err)
{
    h5log_col cols[] = {{"epoch", H5LOG_I64, 1},      {"corruption", H5LOG_I64, 1},
                        {"severity", H5LOG_I64, 1},   {"n", H5LOG_I64, 1},
                        {"accuracy", H5LOG_F64, 1},   {"bitops_vs_int8", H5LOG_F64, 1},
                        {"w_bits", H5LOG_F64, st->L}, {"a_bits", H5LOG_F64, st->L}};
    return h5log_table_create(&st->grid, r->log, "/eval/policy_grid", cols, 8, 64, 0, err);
}

int dqmq_log_setup(exp_run *r, dqmq_state *st, qa_err *err)
{
    int rc = epoch_columns(r, st, err);
    h5log_col cols[16];
    int nc = sample_cols(r, st, cols);
    if (!rc)
        rc = h5log_table_create(&st->tsamp, r->log, "/train/samples", cols, nc, 1024, 4, err);
    if (!rc)
        rc = h5log_table_create(&st->esamp, r->log, "/eval/samples", cols, nc, 1024, 4, err);
    if (!rc)
        rc = grid_table(r, st, err);
    if (rc)
        return rc;
    st->swidth = h5log_table_width(st->tsamp);
    st->srow = calloc((size_t)st->swidth, sizeof *st->srow);
    if (!st->srow)
        return qa_fail(err, QA_ERR_NOMEM, "method dqmq: out of memory for a sample row");
    return QA_OK;
}

int dqmq_log_keep(const exp_run *r, const dqmq_state *st, const exp_batch *b, int i)
{
    if (st->tcfg.sample_rate <= 0)
        return 0;
    nn_rng g;
    nn_rng_init(&g, r->seed, AGENT_STREAM_LOG, (uint32_t)b->index[i], (uint32_t)r->epoch);
    return nn_rng_uniform_d(&g) < st->tcfg.sample_rate;
}

int dqmq_log_sample(exp_run *r, dqmq_state *st, const exp_batch *b, int i, int eval,
                    const float *probs, qa_err *err)
{
    const q_plan *p = st->qm.qn->plan;
    h5log_value *v = st->srow;
    int n = 0, L = st->L, K = st->K;
    v[n++].i = r->epoch + 1;
    v[n++].i = b->index[i];
    v[n++].i = b->corruption[i];
    v[n++].i = b->severity[i];
    for (int f = 0; f < b->nfeat; f++)
        v[n++].f = b->features[(size_t)i * b->nfeat + f];
    for (int s = 0; s < st->S; s++)
        for (int j = 0; j < L * K; j++)
            v[n++].f = probs ? probs[((size_t)i * st->S + s) * L * K + j] : 1.0 / K;
    /* the width the sample ran; soft: its row's argmax (the distribution's,
     * or the drawn width of a straight-through one-hot row) */
    int hard = p->mode == Q_PLAN_HARD;
    for (int s = 0; s < 2; s++)
        for (int l = 0; l < L; l++) {
            const float *row = s ? q_plan_pa(p, i, l) : q_plan_pw(p, i, l);
            int bits = (s ? q_plan_abits(p, i) : q_plan_wbits(p, i))[l];
            v[n++].i = hard ? bits : p->cand[q_plan_argmax(row, K)];
        }
    v[n++].f = b->loss[i];
    v[n++].i = st->correct[i];
    v[n++].f = st->bitops[i];
    QA_ASSERT(n == st->swidth);
    return h5log_table_append(eval ? st->esamp : st->tsamp, v, 1, err);
}

void dqmq_log_row(exp_run *r, dqmq_state *st, h5log_value *row)
{
    const q_cost_model *cm = &st->qm.qn->cost;
    float mw[Q_MAX_LAYERS], ma[Q_MAX_LAYERS];
    double en = (double)st->ev.n, tn = st->tr.n > 0 ? (double)st->tr.n : 1.0;
    q_cost mean = {NAN, NAN};
    if (st->ev.n > 0)
        mean = (q_cost){st->ev.rel / en * cm->ref_int8, st->ev.bytes / en};
    for (int l = 0; l < st->L; l++) {
        mw[l] = st->ev.n > 0 ? (float)(st->ev.w[l] / en) : NAN;
        ma[l] = st->ev.n > 0 ? (float)(st->ev.a[l] / en) : NAN;
        row[st->c_tr_w + l].f = st->tr.w[l] / tn;
        row[st->c_tr_a + l].f = st->tr.a[l] / tn;
    }
    exp_qmethod_row(&st->qm, row, &mean, mw, ma);
    row[st->c_tr_rel].f = st->tr.rel / tn;
    row[st->c_cost].f = st->tr.steps > 0 ? st->tr.ag.cost / (double)st->tr.steps : 0.0;
    row[st->c_mse].f = st->tr.ag.mse_n > 0 ? st->tr.ag.mse / (double)st->tr.ag.mse_n : NAN;
    int64_t pm = agent_policy_macs(st->ag->pol);
    row[st->c_pmacs].f = (double)pm;
    row[st->c_pfrac].f = (double)pm / (double)nn_net_macs(r->net);
    row[st->c_sigma].f = st->ag->pol->sigma_max;
    row[st->c_tau].f = st->ag->pol->tau;
    row[st->c_phase].f = exp_phase_of(&st->phases, r->epoch, r->cfg->train.epochs);
}

int dqmq_log_grid(exp_run *r, dqmq_state *st, qa_err *err)
{
    int rc = QA_OK;
    h5log_value *v = calloc(6 + 2 * (size_t)st->L, sizeof *v);
    if (!rc && !v)
        rc = qa_fail(err, QA_ERR_NOMEM, "method dqmq: out of memory for the grid");
    for (int c = 0; !rc && c < DQMQ_NCELL; c++) {
        const dqmq_cell *cell = &st->cells[c];
        if (cell->n == 0)
            continue;
        double n = (double)cell->n;
        v[0].i = r->epoch + 1;
        v[1].i = c / 6 - 1;
        v[2].i = c % 6;
        v[3].i = cell->n;
        v[4].f = (double)cell->correct / n;
        v[5].f = cell->bitops / n / st->qm.qn->cost.ref_int8;
        for (int l = 0; l < st->L; l++) {
            v[6 + l].f = cell->w[l] / n;
            v[6 + st->L + l].f = cell->a[l] / n;
        }
        rc = h5log_table_append(st->grid, v, 1, err);
    }
    free(v);
    return rc;
}
