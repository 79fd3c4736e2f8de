/* method_metamix.c: MetaMix (docs/METHODS.md, "MetaMix"): a bit-selection
 * phase searching per-layer activation widths, then weight training at the
 * chosen widths. This file only sequences; the architecture, its gradient,
 * penalty and held widths are agent/metamix.h, the candidate-mean loss
 * quant/qmeta.h, the instability measure quant/instab.h.
 *
 * Step by phase (phase.h; metamix.warmup and metamix.finetune epochs):
 *   warm-up   (a) only: the weight step, the architecture uniform.
 *   search    every step (a) then (b) on the same batch:
 *             (a) weight step: weight_step = mean, the mean loss over the
 *                 candidate plans (every planned layer at each candidate in
 *                 turn: K passes, quant/qmeta.h); weight_step = mixture (the
 *                 ablation), the loss of the softmax mixture. Then the
 *                 backbone's optimizer step.
 *             (b) architecture step: the mixture's loss plus the penalty,
 *                 the backbone frozen: its gradients are not applied and its
 *                 buffers (batch-norm running statistics, quantizer state)
 *                 are put back after the pass. Then the logits' step.
 *   weight training  the held widths, weights at metamix.w_bits; weights,
 *             steps and optimizer state continue from the search.
 * Evaluation: the held widths, hard. Run-file output: metamix.h. */
#include <stdlib.h>
#include <string.h>

#include "experiments/methods/metamix.h"
#include "nn/loss.h"
#include "quant/qmeta.h"

static int mm_create(exp_run *r, void **state, qa_err *err)
{
    const exp_config *cfg = r->cfg;
    exp_phases ph = {cfg->metamix.warmup, cfg->metamix.finetune};
    int rc = exp_phases_check(&ph, cfg->train.epochs, "metamix", err);
    if (rc)
        return rc;
    mm_state *st = calloc(1, sizeof *st);
    if (!st)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating method metamix");
    exp_qmethod_init(&st->qm, cfg);
    st->cfg = cfg->metamix;
    st->qm.cfg.ncand = agent_mm_plan_widths(&st->cfg, st->qm.cfg.cand);
    st->qm.cfg.tied = 0;
    st->qm.cfg.soft = st->cfg.search_weights; /* activations alone mix without its buffers */
    st->qm.constant = 1;
    st->phases = ph;
    *state = st;
    return QA_OK;
}

static int mm_wrap(exp_run *r, void *state, qa_err *err)
{
    mm_state *st = state;
    int rc = exp_qmethod_wrap(&st->qm, r, err);
    return rc ? rc : exp_qmethod_need_planned(&st->qm, "metamix", err);
}

static int make_arch(exp_run *r, mm_state *st, qa_err *err)
{
    int rc = agent_metamix_create(&st->ag, &st->cfg, st->qm.qn->plan, &st->qm.qn->cost, err);
    if (rc)
        return rc;
    const agent_set *s = &st->ag->base.sets[0];
    nn_optim_cfg oc = {.type = st->cfg.arch_optimizer == AGENT_MM_OPT_SGD ? NN_OPT_SGD
                                                                          : NN_OPT_ADAMW,
                       .lr = s->lr, .momentum = st->cfg.arch_momentum,
                       .weight_decay = s->weight_decay};
    return exp_run_add_params(r, s->name, s->params, &oc, &st->arch_opt, err);
}

static int mm_setup(exp_run *r, void *state, qa_err *err)
{
    mm_state *st = state;
    st->L = st->qm.qn->plan->nlayers;
    st->K = st->cfg.ncand;
    st->S = st->cfg.search_weights ? 2 : 1;
    int rc = make_arch(r, st, err);
    if (!rc)
        rc = q_instab_create(&st->inst, st->qm.qn, r->net, st->K, err);
    size_t L = (size_t)st->L, LK = L * (size_t)st->K;
    st->work = malloc((size_t)r->net->max_batch * sizeof *st->work);
    st->bufsave = malloc((r->net->params.nbuf + 1) * sizeof *st->bufsave);
    st->inst_l = calloc(L + 2 * LK, sizeof *st->inst_l);
    if (!rc && (!st->work || !st->bufsave || !st->inst_l))
        rc = qa_fail(err, QA_ERR_NOMEM, "method metamix: out of memory for its buffers");
    if (rc)
        return rc;
    st->mean = st->inst_l + L;
    st->sd = st->mean + LK;
    return mm_log_setup(r, st, err);
}

/* ---- the steps ---- */

static exp_phase phase_now(const exp_run *r, const mm_state *st)
{
    return exp_phase_of(&st->phases, r->epoch, r->cfg->train.epochs);
}

/* the run's observation of a batch: metamix's plans do not depend on it */
static agent_obs observe(const exp_run *r, const exp_batch *b)
{
    return (agent_obs){b->n, 0, NULL, b->index, r->seed, (uint32_t)r->epoch};
}

/* forward and mean cross-entropy; with train also its backward */
static float pass(exp_run *r, exp_batch *b, int train, int *correct)
{
    nn_net *net = r->net;
    nn_net_forward(net, b->n, train);
    const nn_tensor *out = nn_net_output(net);
    float loss = nn_softmax_ce(out->data, b->label, b->n, out->d[1],
                               train ? nn_net_output_grad(net) : NULL, b->loss, correct);
    if (train) {
        nn_net_zero_grad(net);
        nn_net_backward(net, b->n);
    }
    return loss;
}

static void fill_candidate(void *arg, int k, int n, q_plan *plan)
{
    agent_metamix_candidate(arg, k, n, plan);
}

/* (a): the weight step's loss and gradient, then the backbone's step */
static void weight_step(exp_run *r, mm_state *st, exp_batch *b, exp_stats *s)
{
    double t0 = exp_now();
    float loss;
    int correct;
    if (st->cfg.weight_step == AGENT_MM_STEP_MEAN) {
        q_meta_result m;
        q_meta_mean_step(r->net, st->qm.qn->plan, st->K, fill_candidate, st->ag, b->label, b->n,
                         b->loss, st->work, &m);
        loss = (float)m.loss;
        correct = 0;
        for (int k = 0; k < st->K; k++) {
            st->sums.cand_loss[k] += m.loss_k[k];
            correct += m.correct_k[k];
        }
        correct = (correct + st->K / 2) / st->K; /* the passes' mean, rounded */
        st->sums.mean_steps++;
    } else {
        agent_obs o = observe(r, b);
        agent_act(&st->ag->base, &o, AGENT_ACT_TRAIN, st->qm.qn->plan);
        loss = pass(r, b, 1, &correct);
    }
    nn_optim_step(r->opt, r->lr);
    s->loss_sum += (double)loss * b->n;
    s->correct += correct;
    s->n += b->n;
    st->sums.weight_s += exp_now() - t0;
}

/* (b): the mixture's loss and the penalty into the logits, the backbone
 * left as it was */
static void arch_step(exp_run *r, mm_state *st, exp_batch *b)
{
    double t0 = exp_now();
    nn_params *p = &r->net->params;
    memcpy(st->bufsave, p->buf, p->nbuf * sizeof *p->buf);
    q_plan *plan = st->qm.qn->plan;
    agent_obs o = observe(r, b);
    agent_act(&st->ag->base, &o, AGENT_ACT_TRAIN, plan);
    st->sums.arch_loss += pass(r, b, 1, NULL);
    memcpy(p->buf, st->bufsave, p->nbuf * sizeof *p->buf);
    agent_feedback f = {b->n, b->loss, st->S == 2 ? plan->gpw : NULL, plan->gpa};
    agent_stats as = {0};
    agent_learn(&st->ag->base, &o, plan, &f, &as);
    nn_optim_step(st->arch_opt, st->ag->base.sets[0].lr);
    st->sums.cost += as.cost;
    st->sums.arch_steps++;
    st->sums.arch_s += exp_now() - t0;
}

static void greedy(exp_run *r, mm_state *st, const exp_batch *b, exp_phase ph)
{
    st->ag->final = ph == EXP_PHASE_FINETUNE;
    agent_obs o = observe(r, b);
    agent_act(&st->ag->base, &o, AGENT_ACT_GREEDY, st->qm.qn->plan);
}

static int mm_train_step(exp_run *r, void *state, exp_batch *b, exp_stats *s, qa_err *err)
{
    mm_state *st = state;
    exp_phase ph = phase_now(r, st);
    if (ph == EXP_PHASE_FINETUNE) {
        double t0 = exp_now();
        greedy(r, st, b, ph);
        int rc = exp_step_train(r, b, s, err);
        st->sums.weight_s += exp_now() - t0;
        return rc;
    }
    st->ag->final = 0;
    weight_step(r, st, b, s);
    if (ph == EXP_PHASE_MAIN)
        arch_step(r, st, b);
    return QA_OK;
}

/* evaluation: the held widths, weights as the epoch just trained ran them */
static int mm_eval_step(exp_run *r, void *state, const exp_eval *ev, exp_batch *b, exp_stats *s,
                        qa_err *err)
{
    (void)ev;
    mm_state *st = state;
    greedy(r, st, b, phase_now(r, st));
    return exp_step_eval(r, b, s, err);
}

static int mm_epoch_end(exp_run *r, void *state, h5log_value *row, qa_err *err)
{
    mm_state *st = state;
    int rc = mm_probe(r, st, err);
    if (!rc)
        rc = mm_log_epoch(r, st, row, err);
    memset(&st->sums, 0, sizeof st->sums);
    return rc;
}

static void mm_destroy(void *state)
{
    mm_state *st = state;
    exp_qmethod_free(&st->qm);
    agent_free(st->ag ? &st->ag->base : NULL);
    q_instab_free(st->inst);
    free(st->work);
    free(st->bufsave);
    free(st->inst_l);
    free(st->arow);
    free(st);
}

const exp_method exp_method_metamix = {
    .name = "metamix",
    .help = "MetaMix: per-layer activation widths searched with meta-state weight steps, then "
            "weight training at the chosen widths ([metamix])",
    .create = mm_create,
    .wrap = mm_wrap,
    .setup = mm_setup,
    .train_step = mm_train_step,
    .eval_step = mm_eval_step,
    .epoch_end = mm_epoch_end,
    .destroy = mm_destroy,
    .eval_cost = exp_qmethod_eval_cost,
};
