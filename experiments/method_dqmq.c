/* method_dqmq.c: DQMQ (METHODS.md section 2): a policy maps each input's
 * quality observation to per-layer bit-width distributions, trained jointly
 * with the quantized backbone.
 *
 * Step by phase (agent.* keys in schema_agent.c):
 *   warm-up  every sample gets random hard widths in every planned layer
 *            (a weight-sharing supernet: all widths train, or with
 *            agent.warmup_sigma mostly those near the policy's initial
 *            location, the budget's width); backbone only (the critic
 *            already fits these tuples).
 *   analytic the policy fills a soft plan; the backbone runs relaxed; one
 *            backward gives the backbone its QAT gradient and the plan dL/dp,
 *            to which the cost term's gradient is added; both go back through
 *            the distribution into the policy (model-based gradient).
 *   critic   widths are drawn from the policy's distributions and the
 *            backbone runs them hard; a critic fitted to (observation,
 *            sampled plan, per-sample loss) supplies dloss/dp at the policy's
 *            soft p, the cost gradient is analytic.
 *   reinforce the same sampled hard pass; score-function gradient of the
 *            reward -(loss + cost) against a moving-average baseline.
 *   finetune the last agent.finetune epochs: the policy is frozen and the
 *            backbone trains hard on its argmax plans, the plans it is
 *            evaluated with (the relaxed phase trained it on mixtures).
 * Joint schedules update backbone and policy every step; alternate ones on
 * even (backbone) and odd (policy) steps. sigma_max / tau are annealed
 * geometrically from the end of warm-up to the last step.
 * Evaluation: each test input's argmax plan, run hard (grouped per width).
 * Run-file output: dqmq.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/relax.h"
#include "env/corrupt.h"
#include "env/quality.h"
#include "experiments/checkpoint.h"
#include "experiments/deploy_run.h"
#include "experiments/dqmq.h"
#include "nn/loss.h"

/* agent/ does not see env/: its oracle width is checked here */
_Static_assert(AGENT_ORACLE_NCORR == ENV_NCORRUPTION, "oracle one-hot != env's corruption ids");

static void resolve_quant(q_cfg *c, const exp_config *cfg)
{
    *c = cfg->quant;
    if (c->input_domain == Q_INPUT_AUTO)
        c->input_domain = cfg->data.normalize == EXP_NORM_NONE ? Q_INPUT_UNSIGNED : Q_INPUT_SIGNED;
    c->soft = cfg->agent.optimizer == AGENT_OPT_ANALYTIC;
}

static int dqmq_create(exp_run *r, void **state, qa_err *err)
{
    const exp_config *cfg = r->cfg;
    if (cfg->agent.warmup + cfg->agent.finetune >= cfg->train.epochs)
        return qa_fail(err, QA_ERR_CONFIG,
                       "agent.warmup = %d and agent.finetune = %d leave no epoch for the policy "
                       "(train.epochs = %d)",
                       cfg->agent.warmup, cfg->agent.finetune, cfg->train.epochs);
    dqmq_state *st = calloc(1, sizeof *st);
    if (!st)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating method dqmq");
    resolve_quant(&st->qcfg, cfg);
    st->acfg = cfg->agent;
    st->obj = (agent_objective){st->acfg.cost, st->acfg.lambda, st->acfg.target,
                                st->acfg.cost_argmax};
    *state = st;
    return QA_OK;
}

static int dqmq_wrap(exp_run *r, void *state, qa_err *err)
{
    dqmq_state *st = state;
    int rc = q_net_wrap(&st->qn, r->net, &st->qcfg, err);
    if (rc)
        return rc;
    if (st->qn->plan->nlayers == 0)
        return qa_fail(err, QA_ERR_CONFIG,
                       "method dqmq: the model has no planned layer (quant.first_bits/last_bits "
                       "pin all of them)");
    return QA_OK;
}

static int observation_size(const exp_run *r, const agent_cfg *a)
{
    if (a->observation == AGENT_OBS_ORACLE)
        return AGENT_ORACLE_NCORR + 2;
    if (a->observation == AGENT_OBS_FEATURES && r->batch.nfeat > 0)
        return r->batch.nfeat;
    return 1;
}

static int make_policy(exp_run *r, dqmq_state *st, qa_err *err)
{
    const agent_cfg *a = &st->acfg;
    const q_plan *plan = st->qn->plan;
    agent_policy_cfg pc = {.nin = st->nobs, .hidden = a->hidden, .nlayers = plan->nlayers,
                           .ncand = plan->ncand, .tied = plan->tied, .head = a->head,
                           .hard = a->hard, .sigma_min = a->sigma_min,
                           .sigma_max = a->sigma_max, .mu_init = a->mu_init, .tau = a->tau,
                           .max_batch = r->net->max_batch};
    memcpy(pc.cand, plan->cand, sizeof pc.cand);
    int rc = agent_policy_create(&st->pol, &pc, r->seed, err);
    nn_optim_cfg oc = {.type = NN_OPT_ADAMW, .lr = a->lr, .weight_decay = a->weight_decay};
    if (!rc)
        rc = exp_run_add_params(r, "policy", &st->pol->params, &oc, &st->popt, err);
    if (rc || a->optimizer != AGENT_OPT_CRITIC)
        return rc;
    rc = agent_critic_create(&st->cr, st->nobs, st->S * st->L * st->K, a->critic_hidden,
                             r->net->max_batch, r->seed, err);
    nn_optim_cfg cc = {.type = NN_OPT_ADAMW, .lr = a->critic_lr};
    return rc ? rc : exp_run_add_params(r, "critic", &st->cr->params, &cc, &st->copt, err);
}

static int alloc_buffers(exp_run *r, dqmq_state *st, qa_err *err)
{
    size_t B = (size_t)r->net->max_batch, slk = (size_t)(st->S * st->L * st->K);
    size_t lk = (size_t)(st->L * st->K);
    st->obs = malloc(B * ((size_t)st->nobs + 2 * lk + 2 * slk) * sizeof *st->obs);
    st->correct = malloc(B * sizeof *st->correct);
    st->bitops = malloc(B * sizeof *st->bitops);
    st->tr.w = calloc(4 * (size_t)st->L, sizeof(double));
    st->cell_mem = calloc(2 * DQMQ_NCELL * (size_t)st->L, sizeof(double));
    if (!st->obs || !st->correct || !st->bitops || !st->tr.w || !st->cell_mem)
        return qa_fail(err, QA_ERR_NOMEM, "method dqmq: out of memory for a batch of %zu", B);
    st->gw = st->obs + B * (size_t)st->nobs;
    st->ga = st->gw + B * lk;
    st->gp = st->ga + B * lk;
    st->onehot = st->gp + B * slk;
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
    const q_plan *plan = st->qn->plan;
    st->L = plan->nlayers;
    st->K = plan->ncand;
    st->S = plan->tied ? 1 : 2;
    st->nobs = observation_size(r, &st->acfg);
    int rc = alloc_buffers(r, st, err);
    if (!rc)
        rc = make_policy(r, st, err);
    return rc ? rc : dqmq_log_setup(r, st, err);
}

/* ---- observation and plans ---- */

static void observe(const dqmq_state *st, const exp_batch *b)
{
    int F = st->nobs;
    for (int i = 0; i < b->n; i++) {
        float *o = st->obs + (size_t)i * F;
        if (st->acfg.observation == AGENT_OBS_ORACLE) {
            memset(o, 0, (size_t)F * sizeof *o);
            int c = b->corruption[i] + 1;
            o[c >= 0 && c <= AGENT_ORACLE_NCORR ? c : 0] = 1.0f;
            o[F - 1] = (float)b->severity[i] / 5.0f;
        } else if (st->acfg.observation == AGENT_OBS_FEATURES && b->nfeat == F) {
            memcpy(o, b->features + (size_t)i * F, (size_t)F * sizeof *o);
        } else {
            o[0] = 1.0f;
        }
    }
}

static int in_warmup(const exp_run *r, const dqmq_state *st)
{
    return r->epoch < st->acfg.warmup;
}

static int in_finetune(const exp_run *r, const dqmq_state *st)
{
    return r->epoch >= r->cfg->train.epochs - st->acfg.finetune;
}

/* geometric from the end of warm-up (t = 0) to the last step (t = 1) */
static void anneal(const exp_run *r, dqmq_state *st)
{
    const agent_cfg *a = &st->acfg;
    long w = (long)a->warmup * r->steps_per_epoch;
    long T = r->total_steps - w - (long)a->finetune * r->steps_per_epoch;
    double t = T > 0 ? (double)(r->step - w) / (double)T : 1.0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    float s = (float)(a->sigma_max * pow((double)a->sigma_end / a->sigma_max, t));
    st->pol->sigma_max = s > a->sigma_min ? s : a->sigma_min;
    st->pol->tau = (float)(a->tau * pow((double)a->tau_end / a->tau, t));
}

/* one warm-up width: uniform over the candidates, or drawn from pw (the
 * dqmq distribution at the policy's initial location, agent.warmup_sigma) */
static int warmup_width(nn_rng *g, const q_plan *p, const float *pw)
{
    return p->cand[pw ? agent_sample(g, pw, p->ncand) : (int)nn_rng_below(g, (uint32_t)p->ncand)];
}

/* random hard widths per sample and layer, keyed on (sample, epoch) */
static void random_plan(const exp_run *r, dqmq_state *st, const exp_batch *b)
{
    q_plan *p = st->qn->plan;
    float pw[Q_MAX_CAND], *near = NULL;
    if (st->acfg.warmup_sigma > 0) {
        float c[Q_MAX_CAND];
        for (int k = 0; k < st->K; k++)
            c[k] = (float)p->cand[k];
        agent_dqmq_forward(c, st->K, agent_policy_mu0(&st->pol->cfg), st->acfg.warmup_sigma, pw);
        near = pw;
    }
    for (int i = 0; i < b->n; i++) {
        nn_rng g;
        nn_rng_init(&g, r->seed, AGENT_STREAM_WARMUP, (uint32_t)b->index[i], (uint32_t)r->epoch);
        for (int l = 0; l < st->L; l++) {
            q_plan_wbits(p, i)[l] = (uint8_t)warmup_width(&g, p, near);
            if (!p->tied)
                q_plan_abits(p, i)[l] = (uint8_t)warmup_width(&g, p, near);
        }
    }
    p->mode = Q_PLAN_HARD;
}

/* hard widths drawn from the policy's distributions; one-hot rows kept */
static void sample_plan(const exp_run *r, dqmq_state *st, const exp_batch *b)
{
    q_plan *p = st->qn->plan;
    size_t slk = (size_t)(st->S * st->L * st->K);
    memset(st->onehot, 0, (size_t)b->n * slk * sizeof *st->onehot);
    for (int i = 0; i < b->n; i++) {
        nn_rng g;
        nn_rng_init(&g, r->seed, AGENT_STREAM_SAMPLE, (uint32_t)b->index[i], (uint32_t)r->epoch);
        for (int s = 0; s < st->S; s++)
            for (int l = 0; l < st->L; l++) {
                int k = agent_sample(&g, agent_policy_prob(st->pol, i, s, l), st->K);
                st->onehot[(size_t)i * slk + (size_t)((s * st->L + l) * st->K + k)] = 1.0f;
                (s ? q_plan_abits(p, i) : q_plan_wbits(p, i))[l] = (uint8_t)p->cand[k];
            }
    }
    p->mode = Q_PLAN_HARD;
}

/* one-hot rows of the plan's current hard widths (warm-up tuples) */
static void plan_onehot(dqmq_state *st, int n)
{
    q_plan *p = st->qn->plan;
    size_t slk = (size_t)(st->S * st->L * st->K);
    memset(st->onehot, 0, (size_t)n * slk * sizeof *st->onehot);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < st->S; s++)
            for (int l = 0; l < st->L; l++) {
                int bits = (s ? q_plan_abits(p, i) : q_plan_wbits(p, i))[l];
                int k = q_plan_cand_index(p, bits);
                st->onehot[(size_t)i * slk + (size_t)((s * st->L + l) * st->K + k)] = 1.0f;
            }
}

/* ---- the backbone ---- */

static void count_correct(dqmq_state *st, const nn_tensor *out, int n)
{
    int k = out->d[1];
    for (int i = 0; i < n; i++) {
        const float *z = out->data + (size_t)i * (size_t)k;
        int best = 0;
        for (int j = 1; j < k; j++)
            best = z[j] > z[best] ? j : best;
        st->correct[i] = best;
    }
}

/* forward, per-sample CE (and correctness), backward; returns the mean */
static float backbone_pass(exp_run *r, dqmq_state *st, exp_batch *b, exp_stats *s)
{
    nn_net *net = r->net;
    nn_net_forward(net, b->n, 1);
    const nn_tensor *out = nn_net_output(net);
    float loss = nn_softmax_ce(out->data, b->label, b->n, out->d[1], nn_net_output_grad(net),
                               b->loss, NULL);
    count_correct(st, out, b->n);
    long correct = 0;
    for (int i = 0; i < b->n; i++)
        correct += st->correct[i] = st->correct[i] == b->label[i];
    nn_net_zero_grad(net);
    nn_net_backward(net, b->n);
    s->loss_sum += (double)loss * b->n;
    s->correct += correct;
    s->n += b->n;
    return loss;
}

static void sample_costs(dqmq_state *st, int n)
{
    for (int i = 0; i < n; i++)
        st->bitops[i] = q_cost_sample(&st->qn->cost, st->qn->plan, i, NULL, NULL).bitops;
}

/* epoch sums of the widths and costs the batch trained with */
static void add_train_sums(dqmq_state *st, int n)
{
    float mw[Q_MAX_LAYERS], ma[Q_MAX_LAYERS];
    q_plan_mean_bits(st->qn->plan, n, mw, ma);
    for (int l = 0; l < st->L; l++) {
        st->tr.w[l] += (double)mw[l] * n;
        st->tr.a[l] += (double)ma[l] * n;
    }
    for (int i = 0; i < n; i++)
        st->tr.rel += st->bitops[i] / st->qn->cost.ref_int8;
    st->tr.n += n;
    st->tr.steps++;
}

static int log_batch(exp_run *r, dqmq_state *st, const exp_batch *b, int warm, qa_err *err)
{
    int rc = QA_OK;
    for (int i = 0; !rc && i < b->n; i++)
        if (dqmq_log_keep(r, st, b, i))
            rc = dqmq_log_sample(r, st, b, i, 0, warm ? NULL : st->pol->prob, err);
    return rc;
}

/* ---- the policy updates ---- */

static int update_net(const exp_run *r, const dqmq_state *st)
{
    return st->acfg.schedule == AGENT_SCHED_JOINT || r->step % 2 == 0;
}

static int update_policy(const exp_run *r, const dqmq_state *st)
{
    return st->acfg.schedule == AGENT_SCHED_JOINT || r->step % 2 == 1;
}

static void policy_step(exp_run *r, dqmq_state *st, const float *gw, const float *ga, int n)
{
    nn_params_zero_grad(&st->pol->params);
    agent_policy_backward(st->pol, gw, ga, n);
    if (update_policy(r, st))
        nn_optim_step(st->popt, st->acfg.lr);
}

static void analytic_step(exp_run *r, dqmq_state *st, exp_batch *b, exp_stats *s)
{
    q_plan *p = st->qn->plan;
    backbone_pass(r, st, b, s);
    st->tr.cost += agent_cost_term(&st->obj, &st->qn->cost, p, b->n, p->gpw, p->gpa, NULL);
    policy_step(r, st, p->gpw, p->gpa, b->n);
}

/* the critic's dloss/dp (layout (B, S, L, K)) added to gw/ga ((B, L, K) each) */
static void add_plan_grad(dqmq_state *st, const float *gp, int n)
{
    int L = st->L, K = st->K;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < st->S; s++)
            for (int j = 0; j < L * K; j++)
                (s ? st->ga : st->gw)[(size_t)i * L * K + j] +=
                    gp[((size_t)i * st->S + s) * L * K + j];
}

static void critic_step(exp_run *r, dqmq_state *st, exp_batch *b)
{
    int n = b->n;
    agent_critic_grad(st->cr, st->pol->xn, st->pol->prob, n, 1.0f, st->gp);
    add_plan_grad(st, st->gp, n);
    policy_step(r, st, st->gw, st->ga, n);
    st->tr.mse += agent_critic_fit(st->cr, st->pol->xn, st->onehot, b->loss, n);
    st->tr.mse_n++;
    nn_optim_step(st->copt, st->acfg.critic_lr);
}

/* reward R_i = -(loss_i + cost_i), cost_i = lambda * BitOps_i / ref or, with
 * a budget, lambda * max(0, BitOps_i / ref - target) per sample; with a
 * target, lambda * s (BitOps_i / ref - target), s the sign of the batch
 * mean's deviation (per sample |.| would pull every input to the target);
 * dL/dp_k = -(R_i - baseline) / (n p_k) at the drawn k (the score function) */
static void reinforce_step(exp_run *r, dqmq_state *st, exp_batch *b)
{
    int n = b->n, L = st->L, K = st->K;
    double sum = 0.0, ref = st->qn->cost.ref_int8, mean = 0.0;
    float *R = st->gp; /* n rewards; gp is unused in this mode */
    for (int i = 0; i < n; i++)
        mean += st->bitops[i] / ref / n;
    double side = mean > st->obj.target ? 1.0 : mean < st->obj.target ? -1.0 : 0.0;
    for (int i = 0; i < n; i++) {
        double c = st->bitops[i] / ref;
        double over = c > st->obj.target ? c - st->obj.target : 0.0;
        double pen = st->obj.kind == AGENT_COST_EXPECTED ? c
                     : st->obj.kind == AGENT_COST_BUDGET ? over
                                                         : side * (c - st->obj.target);
        R[i] = -(float)(b->loss[i] + st->obj.lambda * pen);
        sum += R[i];
        st->tr.cost += st->obj.lambda * pen / n;
    }
    if (!st->have_baseline)
        st->baseline = sum / n;
    st->have_baseline = 1;
    memset(st->gw, 0, (size_t)n * L * K * sizeof *st->gw);
    memset(st->ga, 0, (size_t)n * L * K * sizeof *st->ga);
    size_t slk = (size_t)(st->S * L * K);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < st->S; s++)
            for (int l = 0; l < L; l++) {
                const float *oh = st->onehot + (size_t)i * slk + (size_t)(s * L + l) * K;
                const float *pr = agent_policy_prob(st->pol, i, s, l);
                int k = q_plan_argmax(oh, K);
                float pk = pr[k] > 1e-6f ? pr[k] : 1e-6f;
                (s ? st->ga : st->gw)[((size_t)i * L + l) * K + k] =
                    -(float)(R[i] - st->baseline) / ((float)n * pk);
            }
    float m = st->acfg.baseline_momentum;
    st->baseline = m * st->baseline + (1.0f - m) * sum / n;
    policy_step(r, st, st->gw, st->ga, n);
}

static void policy_forward(exp_run *r, dqmq_state *st, exp_batch *b, int train)
{
    /* Gumbel-softmax's noise, or the straight-through draw of a hard dqmq */
    int noise = train && (st->acfg.head == AGENT_HEAD_GUMBEL || st->acfg.hard) &&
                st->acfg.optimizer == AGENT_OPT_ANALYTIC;
    observe(st, b);
    if (train)
        agent_policy_observe(st->pol, st->obs, b->n);
    if (noise)
        agent_policy_draw_noise(st->pol, r->seed, b->index, b->n, (uint32_t)r->epoch);
    agent_policy_forward(st->pol, st->obs, b->n, noise, st->qn->plan);
}

static void warmup_step(exp_run *r, dqmq_state *st, exp_batch *b, exp_stats *s)
{
    policy_forward(r, st, b, 1); /* feature statistics, and the critic's inputs */
    random_plan(r, st, b);
    backbone_pass(r, st, b, s);
    nn_optim_step(r->opt, r->lr);
    if (st->cr) {
        plan_onehot(st, b->n);
        st->tr.mse += agent_critic_fit(st->cr, st->pol->xn, st->onehot, b->loss, b->n);
        st->tr.mse_n++;
        nn_optim_step(st->copt, st->acfg.critic_lr);
    }
}

static void finetune_step(exp_run *r, dqmq_state *st, exp_batch *b, exp_stats *s)
{
    policy_forward(r, st, b, 0);
    q_plan_harden(st->qn->plan, b->n);
    backbone_pass(r, st, b, s);
    nn_optim_step(r->opt, r->lr);
}

static int dqmq_train_step(exp_run *r, void *state, exp_batch *b, exp_stats *s, qa_err *err)
{
    dqmq_state *st = state;
    q_plan *p = st->qn->plan;
    int warm = in_warmup(r, st);
    if (warm) {
        warmup_step(r, st, b, s);
    } else if (in_finetune(r, st)) {
        finetune_step(r, st, b, s);
    } else {
        anneal(r, st);
        policy_forward(r, st, b, 1);
        if (st->acfg.optimizer == AGENT_OPT_ANALYTIC) {
            analytic_step(r, st, b, s);
        } else {
            memset(st->gw, 0, (size_t)b->n * st->L * st->K * sizeof *st->gw);
            memset(st->ga, 0, (size_t)b->n * st->L * st->K * sizeof *st->ga);
            double c = agent_cost_term(&st->obj, &st->qn->cost, p, b->n, st->gw, st->ga, NULL);
            sample_plan(r, st, b);
            backbone_pass(r, st, b, s);
            if (st->acfg.optimizer == AGENT_OPT_CRITIC) {
                st->tr.cost += c;
                critic_step(r, st, b);
            } else {
                sample_costs(st, b->n);
                reinforce_step(r, st, b);
            }
        }
        if (update_net(r, st))
            nn_optim_step(r->opt, r->lr);
    }
    sample_costs(st, b->n);
    add_train_sums(st, b->n);
    return log_batch(r, st, b, warm, err);
}

/* ---- evaluation ---- */

/* b is the test loader's last batch of an epoch's evaluation: validation
 * batches (training images, after the test pass) and the corruption grid's
 * (after the last epoch, grid.h) go through the same hook but are neither
 * summed nor logged. */
static int is_test_batch(const exp_run *r, const dqmq_state *st, const exp_batch *b)
{
    const data_loader *t = &r->test_loader;
    return !st->finished && t->order && t->pos >= b->n &&
           memcmp(t->order + t->pos - b->n, b->index, (size_t)b->n * sizeof *b->index) == 0;
}

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
    const q_plan *p = st->qn->plan;
    cell->n++;
    cell->correct += st->correct[i];
    cell->bitops += st->bitops[i];
    for (int l = 0; l < st->L; l++) {
        cell->w[l] += q_plan_wbits(p, i)[l];
        cell->a[l] += q_plan_abits(p, i)[l];
    }
}

static int dqmq_eval_step(exp_run *r, void *state, exp_batch *b, exp_stats *s, qa_err *err)
{
    dqmq_state *st = state;
    q_plan *p = st->qn->plan;
    policy_forward(r, st, b, 0);
    q_plan_harden(p, b->n);
    nn_net_forward(r->net, b->n, 0);
    const nn_tensor *out = nn_net_output(r->net);
    float loss = nn_softmax_ce(out->data, b->label, b->n, out->d[1], NULL, b->loss, NULL);
    count_correct(st, out, b->n);
    for (int i = 0; i < b->n; i++)
        s->correct += st->correct[i] = st->correct[i] == b->label[i];
    s->loss_sum += (double)loss * b->n;
    s->n += b->n;
    if (!is_test_batch(r, st, b))
        return QA_OK;
    sample_costs(st, b->n);
    float mw[Q_MAX_LAYERS], ma[Q_MAX_LAYERS];
    q_plan_mean_bits(p, b->n, mw, ma);
    for (int l = 0; l < st->L; l++) {
        st->ev.w[l] += (double)mw[l] * b->n;
        st->ev.a[l] += (double)ma[l] * b->n;
    }
    for (int i = 0; i < b->n; i++) {
        q_cost c = q_cost_sample(&st->qn->cost, p, i, NULL, NULL);
        st->ev.rel += c.bitops / st->qn->cost.ref_int8;
        st->ev_bytes += c.bytes;
    }
    st->ev.n += b->n;
    int rc = QA_OK;
    for (int i = 0; is_final_eval(r) && !rc && i < b->n; i++) {
        add_cell(st, b, i);
        rc = dqmq_log_sample(r, st, b, i, 1, st->pol->prob, err);
    }
    return rc;
}

static int dqmq_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err)
{
    dqmq_state *st = state;
    dqmq_log_row(r, st, row);
    int rc = is_final_eval(r) ? dqmq_log_grid(r, st, err) : QA_OK;
    st->finished = is_final_eval(r);
    memset(&st->tr, 0, offsetof(dqmq_sums, w));
    memset(&st->ev, 0, offsetof(dqmq_sums, w));
    st->ev_bytes = 0;
    memset(st->tr.w, 0, 4 * (size_t)st->L * sizeof(double));
    return rc;
}

/* The corruption grid's question after each batch: eval_step left the
 * batch's per-sample hard plan in place. */
static int dqmq_eval_cost(exp_run *r, void *state, const exp_batch *b, double *bitops, float *w,
                          float *a)
{
    (void)r;
    dqmq_state *st = state;
    double s = 0.0;
    for (int i = 0; i < b->n; i++)
        s += q_cost_sample(&st->qn->cost, st->qn->plan, i, NULL, NULL).bitops;
    *bitops = b->n > 0 ? s / b->n : 0.0;
    q_plan_mean_bits(st->qn->plan, b->n, w, a);
    return st->L;
}

/* Beyond the parameter sets the run saves: the reward baseline (the
 * annealed sigma/tau follow from the step, the epoch sums restart). */
static int dqmq_save(exp_run *r, void *state, exp_ckpt *ck, qa_err *err)
{
    (void)r;
    const dqmq_state *st = state;
    double v[2] = {st->baseline, st->have_baseline};
    return exp_ckpt_put(ck, "baseline", EXP_CKPT_F64, v, 2, err);
}

static int dqmq_load(exp_run *r, void *state, exp_ckpt *ck, qa_err *err)
{
    (void)r;
    dqmq_state *st = state;
    double v[2];
    int rc = exp_ckpt_get(ck, "baseline", EXP_CKPT_F64, v, 2, err);
    st->baseline = v[0];
    st->have_baseline = v[1] != 0;
    return rc;
}

/* the policy and what it reads: the oracle's truth is not in an image */
static int dqmq_deploy(exp_run *r, void *state, exp_deploy *out, qa_err *err)
{
    dqmq_state *st = state;
    if (st->acfg.observation == AGENT_OBS_ORACLE)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "agent.observation = oracle reads the true "
                       "corruption, which a deployed model cannot see");
    int reads = st->acfg.observation == AGENT_OBS_FEATURES && r->batch.nfeat == st->nobs;
    if (reads && r->cfg->env.features != ENV_FEAT_QUALITY)
        return qa_fail(err, QA_ERR_UNSUPPORTED, "the policy reads env.features = %s; a "
                       "deployed model computes quality features only",
                       env_feat_mode_name((env_feat_mode)r->cfg->env.features));
    out->qn = st->qn;
    out->pol = st->pol;
    out->feat_mode = reads ? ENV_FEAT_QUALITY : ENV_FEAT_NONE;
    return QA_OK;
}

static void dqmq_destroy(void *state)
{
    dqmq_state *st = state;
    q_net_free(st->qn);
    agent_policy_free(st->pol);
    agent_critic_free(st->cr);
    free(st->obs);
    free(st->correct);
    free(st->bitops);
    free(st->tr.w);
    free(st->cell_mem);
    free(st->srow);
    free(st);
}

const exp_method exp_method_dqmq = {
    .name = "dqmq",
    .help = "quality-conditioned per-input bit widths: a policy trained jointly with QAT "
            "([agent])",
    .create = dqmq_create,
    .wrap = dqmq_wrap,
    .setup = dqmq_setup,
    .train_step = dqmq_train_step,
    .eval_step = dqmq_eval_step,
    .epoch_end = dqmq_epoch_end,
    .destroy = dqmq_destroy,
    .eval_cost = dqmq_eval_cost,
    .save = dqmq_save,
    .load = dqmq_load,
    .deploy = dqmq_deploy,
};
