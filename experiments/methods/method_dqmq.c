/* method_dqmq.c: DQMQ (docs/METHODS.md, section 5): an agent maps each input's
 * quality observation to per-layer bit-width distributions, trained jointly
 * with the quantized backbone. This file only sequences; the agent and its
 * estimators (analytic, critic, reinforce) are agent/dqmq.h.
 *
 * Step by phase (phase.h; dqmq.warmup and dqmq.finetune epochs):
 *   warm-up  the agent explores: random hard widths per sample and layer
 *            (a weight-sharing supernet: all widths train, or with
 *            dqmq.warmup_sigma mostly those near the policy's initial
 *            location); the backbone trains, the agent learns only what
 *            it can off its policy (the critic's fit).
 *   main     sigma_max / tau annealed geometrically over the phase; the
 *            agent acts (soft, or drawn hard widths), the backbone runs
 *            the action, the agent learns from its per-sample losses (and
 *            dL/dp after a soft action). Joint schedules update backbone
 *            and policy every step; alternate ones on even (backbone) and
 *            odd (policy) steps.
 *   finetune the policy frozen, the backbone trains hard on its argmax
 *            plans, the plans it is evaluated with.
 * Evaluation: each input's argmax plan, run hard (grouped per width).
 * Run-file output: dqmq.h. */
#include <stdlib.h>
#include <string.h>

#include "env/corrupt.h"
#include "env/quality.h"
#include "experiments/methods/dqmq.h"
#include "experiments/run/checkpoint.h"
#include "nn/loss.h"

/* agent/ does not see env/: its oracle width is checked here */
_Static_assert(AGENT_ORACLE_NCORR == ENV_NCORRUPTION, "oracle one-hot != env's corruption ids");

static int dqmq_create(exp_run *r, void **state, qa_err *err)
{
    const exp_config *cfg = r->cfg;
    exp_phases ph = {cfg->dqmq.warmup, cfg->dqmq.finetune};
    int rc = exp_phases_check(&ph, cfg->train.epochs, "dqmq", err);
    if (rc)
        return rc;
    dqmq_state *st = calloc(1, sizeof *st);
    if (!st)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating method dqmq");
    exp_qmethod_init(&st->qm, cfg);
    st->qm.cfg.soft = cfg->dqmq.optimizer == AGENT_OPT_ANALYTIC;
    st->phases = ph;
    st->acfg = cfg->agent;
    st->tcfg = cfg->dqmq;
    *state = st;
    return QA_OK;
}

static int dqmq_wrap(exp_run *r, void *state, qa_err *err)
{
    dqmq_state *st = state;
    int rc = exp_qmethod_wrap(&st->qm, r, err);
    return rc ? rc : exp_qmethod_need_planned(&st->qm, "dqmq", err);
}

static int make_agent(exp_run *r, dqmq_state *st, qa_err *err)
{
    int nobs = agent_obs_size(st->acfg.observation, r->batch.nfeat);
    int rc = agent_dqmq_create(&st->ag, &st->acfg, &st->tcfg, st->qm.qn->plan, &st->qm.qn->cost,
                               nobs, r->net->max_batch, r->seed, err);
    for (int i = 0; !rc && i < st->ag->base.nsets; i++) {
        const agent_set *s = &st->ag->base.sets[i];
        nn_optim_cfg oc = {.type = NN_OPT_ADAMW, .lr = s->lr, .weight_decay = s->weight_decay};
        rc = exp_run_add_params(r, s->name, s->params, &oc, &st->opt[i], err);
    }
    return rc;
}

static int alloc_buffers(exp_run *r, dqmq_state *st, qa_err *err)
{
    size_t B = (size_t)r->net->max_batch;
    st->obs = malloc(B * (size_t)st->ag->pol->cfg.nin * sizeof *st->obs);
    st->correct = malloc(B * sizeof *st->correct);
    st->bitops = malloc(B * sizeof *st->bitops);
    st->tr.w = calloc(4 * (size_t)st->L, sizeof(double));
    st->cell_mem = calloc(2 * DQMQ_NCELL * (size_t)st->L, sizeof(double));
    if (!st->obs || !st->correct || !st->bitops || !st->tr.w || !st->cell_mem)
        return qa_fail(err, QA_ERR_NOMEM, "method dqmq: out of memory for a batch of %zu", B);
    st->tr.a = st->tr.w + st->L;
    st->ev.w = st->tr.a + st->L;
    st->ev.a = st->ev.w + st->L;
    for (int c = 0; c < DQMQ_NCELL; c++) {
        st->cells[c].w = st->cell_mem + (size_t)(2 * c) * (size_t)st->L;
        st->cells[c].a = st->cells[c].w + st->L;
    }
    return QA_OK;
}

static int dqmq_setup(exp_run *r, void *state, qa_err *err)
{
    dqmq_state *st = state;
    const q_plan *plan = st->qm.qn->plan;
    st->L = plan->nlayers;
    st->K = plan->ncand;
    st->S = plan->tied ? 1 : 2;
    int rc = make_agent(r, st, err);
    if (!rc)
        rc = alloc_buffers(r, st, err);
    return rc ? rc : dqmq_log_setup(r, st, err);
}

/* ---- the backbone ---- */

static void count_correct(dqmq_state *st, const nn_tensor *out, const int *label, int n)
{
    int k = out->d[1];
    for (int i = 0; i < n; i++) {
        const float *z = out->data + (size_t)i * (size_t)k;
        int best = 0;
        for (int j = 1; j < k; j++)
            best = z[j] > z[best] ? j : best;
        st->correct[i] = best == label[i];
    }
}

/* forward, per-sample CE (and correctness), and with train the backward */
static void backbone_pass(exp_run *r, dqmq_state *st, exp_batch *b, exp_stats *s, int train)
{
    nn_net *net = r->net;
    nn_net_forward(net, b->n, train);
    const nn_tensor *out = nn_net_output(net);
    float loss = nn_softmax_ce(out->data, b->label, b->n, out->d[1],
                               train ? nn_net_output_grad(net) : NULL, b->loss, NULL);
    count_correct(st, out, b->label, b->n);
    for (int i = 0; i < b->n; i++)
        s->correct += st->correct[i];
    if (train) {
        nn_net_zero_grad(net);
        nn_net_backward(net, b->n);
    }
    s->loss_sum += (double)loss * b->n;
    s->n += b->n;
}

static void sample_costs(dqmq_state *st, int n)
{
    for (int i = 0; i < n; i++)
        st->bitops[i] = q_cost_sample(&st->qm.qn->cost, st->qm.qn->plan, i, NULL, NULL).bitops;
}

/* epoch sums of the widths and costs the batch trained with */
static void add_train_sums(dqmq_state *st, int n)
{
    float mw[Q_MAX_LAYERS], ma[Q_MAX_LAYERS];
    q_plan_mean_bits(st->qm.qn->plan, n, mw, ma);
    for (int l = 0; l < st->L; l++) {
        st->tr.w[l] += (double)mw[l] * n;
        st->tr.a[l] += (double)ma[l] * n;
    }
    for (int i = 0; i < n; i++)
        st->tr.rel += st->bitops[i] / st->qm.qn->cost.ref_int8;
    st->tr.n += n;
    st->tr.steps++;
}

static int log_batch(exp_run *r, dqmq_state *st, const exp_batch *b, int warm, qa_err *err)
{
    int rc = QA_OK;
    for (int i = 0; !rc && i < b->n; i++)
        if (dqmq_log_keep(r, st, b, i))
            rc = dqmq_log_sample(r, st, b, i, 0, warm ? NULL : st->ag->pol->prob, err);
    return rc;
}

/* ---- the steps ---- */

/* geometric over the main phase: sigma_max -> sigma_end, tau -> tau_end */
static void anneal(const exp_run *r, dqmq_state *st)
{
    const agent_cfg *a = &st->acfg;
    double t = exp_phase_progress(&st->phases, r->step, r->steps_per_epoch, r->total_steps);
    float s = (float)exp_anneal_geometric(a->sigma_max, st->tcfg.sigma_end, t);
    st->ag->pol->sigma_max = s > a->sigma_min ? s : a->sigma_min;
    st->ag->pol->tau = (float)exp_anneal_geometric(a->tau, st->tcfg.tau_end, t);
}

/* the agent's observation of batch b, and its action in the plan */
static agent_obs act(const exp_run *r, dqmq_state *st, const exp_batch *b, agent_act_mode mode)
{
    int nobs = st->ag->pol->cfg.nin;
    agent_observe(st->acfg.observation, b->corruption, b->severity, b->features, b->nfeat, b->n,
                  st->obs, nobs);
    agent_obs o = {b->n, nobs, st->obs, b->index, r->seed, (uint32_t)r->epoch};
    agent_act(&st->ag->base, &o, mode, st->qm.qn->plan);
    return o;
}

/* the agent's parameter sets that learned: the policy's (set 0) on the
 * schedule's policy steps, the others (the critic) always */
static void step_agent(const exp_run *r, dqmq_state *st, unsigned learned)
{
    int policy_turn = st->tcfg.schedule == AGENT_SCHED_JOINT || r->step % 2 == 1;
    for (int i = 0; i < st->ag->base.nsets; i++)
        if ((learned >> i & 1u) && (i > 0 || policy_turn))
            nn_optim_step(st->opt[i], st->ag->base.sets[i].lr);
}

static void agent_step(exp_run *r, dqmq_state *st, exp_batch *b, exp_stats *s,
                       agent_act_mode mode)
{
    q_plan *p = st->qm.qn->plan;
    int soft = mode == AGENT_ACT_TRAIN && st->tcfg.optimizer == AGENT_OPT_ANALYTIC;
    agent_obs o = act(r, st, b, mode);
    backbone_pass(r, st, b, s, 1);
    int net_turn = mode != AGENT_ACT_TRAIN || st->tcfg.schedule == AGENT_SCHED_JOINT ||
                   r->step % 2 == 0;
    agent_feedback f = {b->n, b->loss, soft ? p->gpw : NULL, soft ? p->gpa : NULL};
    if (mode == AGENT_ACT_EXPLORE && net_turn)
        nn_optim_step(r->opt, r->lr);
    unsigned learned = agent_learn(&st->ag->base, &o, p, &f, &st->tr.ag);
    step_agent(r, st, learned);
    if (mode == AGENT_ACT_TRAIN && net_turn)
        nn_optim_step(r->opt, r->lr);
}

static int dqmq_train_step(exp_run *r, void *state, exp_batch *b, exp_stats *s, qa_err *err)
{
    dqmq_state *st = state;
    exp_phase ph = exp_phase_of(&st->phases, r->epoch, r->cfg->train.epochs);
    if (ph == EXP_PHASE_MAIN)
        anneal(r, st);
    if (ph == EXP_PHASE_FINETUNE) {
        act(r, st, b, AGENT_ACT_GREEDY);
        backbone_pass(r, st, b, s, 1);
        nn_optim_step(r->opt, r->lr);
    } else {
        agent_step(r, st, b, s, ph == EXP_PHASE_WARMUP ? AGENT_ACT_EXPLORE : AGENT_ACT_TRAIN);
    }
    sample_costs(st, b->n);
    add_train_sums(st, b->n);
    return log_batch(r, st, b, ph == EXP_PHASE_WARMUP, err);
}

/* ---- evaluation ---- */

static int is_final_eval(const exp_run *r)
{
    return r->epoch + 1 == r->cfg->train.epochs;
}

static void add_cell(dqmq_state *st, const exp_batch *b, int i)
{
    int c = b->corruption[i] + 1, sev = b->severity[i];
    c = c >= 0 && c <= AGENT_ORACLE_NCORR ? c : 0;
    sev = sev >= 0 && sev <= 5 ? sev : 0;
    dqmq_cell *cell = &st->cells[c * 6 + sev];
    const q_plan *p = st->qm.qn->plan;
    cell->n++;
    cell->correct += st->correct[i];
    cell->bitops += st->bitops[i];
    for (int l = 0; l < st->L; l++) {
        cell->w[l] += q_plan_wbits(p, i)[l];
        cell->a[l] += q_plan_abits(p, i)[l];
    }
}

/* the test pass's sums for the epoch's row */
static void add_eval_sums(dqmq_state *st, int n)
{
    const q_net *qn = st->qm.qn;
    float mw[Q_MAX_LAYERS], ma[Q_MAX_LAYERS];
    q_plan_mean_bits(qn->plan, n, mw, ma);
    for (int l = 0; l < st->L; l++) {
        st->ev.w[l] += (double)mw[l] * n;
        st->ev.a[l] += (double)ma[l] * n;
    }
    for (int i = 0; i < n; i++) {
        q_cost c = q_cost_sample(&qn->cost, qn->plan, i, NULL, NULL);
        st->ev.rel += c.bitops / qn->cost.ref_int8;
        st->ev.bytes += c.bytes;
    }
    st->ev.n += n;
}

/* Every evaluation runs the argmax plans; the test pass's are summed for
 * the epoch's row, and the last one's logged per sample and cell. */
static int dqmq_eval_step(exp_run *r, void *state, const exp_eval *ev, exp_batch *b, exp_stats *s,
                          qa_err *err)
{
    dqmq_state *st = state;
    act(r, st, b, AGENT_ACT_GREEDY);
    backbone_pass(r, st, b, s, 0);
    if (ev->kind != EXP_EVAL_TEST)
        return QA_OK;
    sample_costs(st, b->n);
    add_eval_sums(st, b->n);
    int rc = QA_OK;
    for (int i = 0; is_final_eval(r) && !rc && i < b->n; i++) {
        add_cell(st, b, i);
        rc = dqmq_log_sample(r, st, b, i, 1, st->ag->pol->prob, err);
    }
    return rc;
}

/* the epoch's sums back to zero, widths included (w and a: L each) */
static void sums_reset(dqmq_sums *m, int L)
{
    double *w = m->w, *a = m->a;
    *m = (dqmq_sums){.w = w, .a = a};
    memset(w, 0, (size_t)L * sizeof *w);
    memset(a, 0, (size_t)L * sizeof *a);
}

static int dqmq_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err)
{
    dqmq_state *st = state;
    dqmq_log_row(r, st, row);
    int rc = is_final_eval(r) ? dqmq_log_grid(r, st, err) : QA_OK;
    sums_reset(&st->tr, st->L);
    sums_reset(&st->ev, st->L);
    return rc;
}

/* Beyond the parameter sets the run saves: the reward baseline (the
 * annealed sigma/tau follow from the step, the epoch sums restart). */
static int dqmq_save(exp_run *r, void *state, exp_ckpt *ck, qa_err *err)
{
    (void)r;
    const agent_reinforce *rf = &((dqmq_state *)state)->ag->rf;
    double v[2] = {rf->baseline, rf->have_baseline};
    return exp_ckpt_put(ck, "baseline", EXP_CKPT_F64, v, 2, err);
}

static int dqmq_load(exp_run *r, void *state, exp_ckpt *ck, qa_err *err)
{
    (void)r;
    agent_reinforce *rf = &((dqmq_state *)state)->ag->rf;
    double v[2];
    int rc = exp_ckpt_get(ck, "baseline", EXP_CKPT_F64, v, 2, err);
    rf->baseline = v[0];
    rf->have_baseline = v[1] != 0;
    return rc;
}

/* the agent's policy and what it reads: the oracle's truth is not in an image */
static int dqmq_deploy(exp_run *r, void *state, exp_deploy *out, qa_err *err)
{
    dqmq_state *st = state;
    if (st->acfg.observation == AGENT_OBS_ORACLE)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "agent.observation = oracle reads the true "
                       "corruption, which a deployed model cannot see");
    int reads = st->acfg.observation == AGENT_OBS_FEATURES && r->batch.nfeat > 0;
    if (reads && r->cfg->env.features != ENV_FEAT_QUALITY)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "the policy reads env.features = %s; a "
                       "deployed model computes quality features only",
                       env_feat_mode_name((env_feat_mode)r->cfg->env.features));
    out->qn = st->qm.qn;
    out->pol = st->ag->pol;
    out->feat_mode = reads ? ENV_FEAT_QUALITY : ENV_FEAT_NONE;
    return QA_OK;
}

static void dqmq_destroy(void *state)
{
    dqmq_state *st = state;
    exp_qmethod_free(&st->qm);
    agent_free(st->ag ? &st->ag->base : NULL);
    free(st->obs);
    free(st->correct);
    free(st->bitops);
    free(st->tr.w);
    free(st->cell_mem);
    free(st->srow);
    free(st);
}

/* the keys of qadapt report's config summary (quant.w_bits is not DQMQ's:
 * its default 8 would read as the precision) */
static const char *const dqmq_quant_keys[] = {"quant.w_quantizer", "quant.a_quantizer",
                                              "quant.bits", "quant.tied", "quant.first_bits",
                                              "quant.last_bits", NULL};
static const char *const dqmq_agent_keys[] = {"agent.observation", "dqmq.optimizer",
                                              "agent.head", "dqmq.cost", "dqmq.lambda",
                                              "dqmq.target", NULL};
static const exp_summary dqmq_summary[] = {
    {"quant:   ", dqmq_quant_keys}, {"agent:   ", dqmq_agent_keys}, {NULL, NULL}};

const exp_method exp_method_dqmq = {
    .name = "dqmq",
    .help = "quality-conditioned per-input bit widths: a policy ([agent]) trained jointly with "
            "QAT ([dqmq])",
    .summary = dqmq_summary,
    .create = dqmq_create,
    .wrap = dqmq_wrap,
    .setup = dqmq_setup,
    .train_step = dqmq_train_step,
    .eval_step = dqmq_eval_step,
    .epoch_end = dqmq_epoch_end,
    .destroy = dqmq_destroy,
    .eval_cost = exp_qmethod_eval_cost,
    .save = dqmq_save,
    .load = dqmq_load,
    .deploy = dqmq_deploy,
};
