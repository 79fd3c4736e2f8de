/* metamix.c: see metamix.h. */
#include "agent/metamix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/relax.h"
#include "quant/fake_quant.h"

int agent_mm_cfg_check(const agent_mm_cfg *c, qa_err *err)
{
    if (c->ncand < 2 || c->ncand > Q_MAX_CAND)
        return qa_fail(err, QA_ERR_CONFIG, "metamix.candidates: %d widths, need 2 to %d",
                       c->ncand, Q_MAX_CAND);
    for (int k = 0; k < c->ncand; k++)
        if (c->cand[k] < 2 || c->cand[k] > 8 || (k > 0 && c->cand[k] <= c->cand[k - 1]))
            return qa_fail(err, QA_ERR_CONFIG,
                           "metamix.candidates: widths must be ascending in 2..8, got %d",
                           c->cand[k]);
    if (!q_bits_valid(c->search_w_bits) || !q_bits_valid(c->w_bits))
        return qa_fail(err, QA_ERR_CONFIG,
                       "metamix.search_w_bits = %d, metamix.w_bits = %d: each 2..8 or 32",
                       c->search_w_bits, c->w_bits);
    if (c->cost == AGENT_COST_EXPECTED)
        return qa_fail(err, QA_ERR_CONFIG,
                       "metamix.cost = expected has no target to hold: target or budget");
    if (c->finetune < 1)
        return qa_fail(err, QA_ERR_CONFIG,
                       "metamix.finetune = %d: weight training needs at least one epoch",
                       c->finetune);
    return QA_OK;
}

static void insert_width(int *out, int *n, int b)
{
    int j = 0;
    while (j < *n && out[j] < b)
        j++;
    if (j < *n && out[j] == b)
        return;
    memmove(out + j + 1, out + j, (size_t)(*n - j) * sizeof *out);
    out[j] = b;
    (*n)++;
}

int agent_mm_plan_widths(const agent_mm_cfg *c, int *out)
{
    int n = 0;
    for (int k = 0; k < c->ncand; k++)
        insert_width(out, &n, c->cand[k]);
    insert_width(out, &n, c->search_w_bits);
    insert_width(out, &n, c->w_bits);
    return n;
}

void agent_metamix_probs(agent_metamix *ag)
{
    const float *alpha = ag->params.w;
    for (int j = 0; j < ag->S * ag->L; j++)
        agent_gumbel_forward(alpha + (size_t)j * ag->K, NULL, ag->K, 1.0f,
                             ag->prob + (size_t)j * ag->K);
}

/* the side-s probabilities of layer l */
static const float *prob_of(const agent_metamix *ag, int s, int l)
{
    return ag->prob + ((size_t)s * (size_t)ag->L + (size_t)l) * (size_t)ag->K;
}

/* a row of the plan's Kp candidates: r on the searched slots, 0 elsewhere */
static void scatter(const agent_metamix *ag, const float *r, float *row)
{
    memset(row, 0, (size_t)ag->Kp * sizeof *row);
    for (int k = 0; k < ag->K; k++)
        row[ag->slot[k]] = r[k];
}

static int weight_width(const agent_metamix *ag)
{
    return ag->final ? ag->cfg.w_bits : ag->cfg.search_w_bits;
}

/* the mixture plan for samples [0, n) */
static void act_mixture(agent_metamix *ag, int n, q_plan *plan)
{
    agent_metamix_probs(ag);
    for (int i = 0; i < n; i++)
        for (int l = 0; l < ag->L; l++) {
            scatter(ag, prob_of(ag, 0, l), q_plan_pa(plan, i, l));
            if (ag->S == 2)
                scatter(ag, prob_of(ag, 1, l), q_plan_pw(plan, i, l));
            q_plan_wbits(plan, i)[l] = (uint8_t)weight_width(ag);
        }
    plan->mode = ag->S == 2 ? Q_PLAN_SOFT : Q_PLAN_SOFT_A;
}

static void act(agent *a, const agent_obs *o, agent_act_mode mode, q_plan *plan)
{
    agent_metamix *ag = (agent_metamix *)a;
    if (mode != AGENT_ACT_GREEDY) {
        act_mixture(ag, o->n, plan);
        return;
    }
    int w[Q_MAX_LAYERS], ab[Q_MAX_LAYERS];
    agent_metamix_widths(ag, w, ab, NULL);
    int rc = q_plan_set_hard(plan, o->n, 0, 0, w, ab, NULL);
    QA_ASSERT(rc == QA_OK); /* every width is one of the plan's candidates */
}

void agent_metamix_candidate(agent_metamix *ag, int k, int n, q_plan *plan)
{
    QA_ASSERT(k >= 0 && k < ag->K);
    int wb = ag->S == 2 ? ag->cfg.cand[k] : weight_width(ag);
    int rc = q_plan_set_hard(plan, n, wb, ag->cfg.cand[k], NULL, NULL, NULL);
    QA_ASSERT(rc == QA_OK);
}

double agent_metamix_penalty(agent_metamix *ag, float *grad, double *soft_rel,
                             double *argmax_rel)
{
    agent_metamix_probs(ag);
    q_plan *cp = ag->cplan;
    int ws = q_plan_cand_index(cp, ag->cfg.w_bits);
    for (int l = 0; l < ag->L; l++) {
        scatter(ag, prob_of(ag, 0, l), q_plan_pa(cp, 0, l));
        if (ag->S == 2)
            scatter(ag, prob_of(ag, 1, l), q_plan_pw(cp, 0, l));
        else
            for (int k = 0; k < ag->Kp; k++)
                q_plan_pw(cp, 0, l)[k] = k == ws ? 1.0f : 0.0f;
    }
    cp->mode = Q_PLAN_SOFT;
    size_t LK = (size_t)ag->L * (size_t)ag->Kp;
    memset(cp->gpw, 0, LK * sizeof *cp->gpw);
    memset(cp->gpa, 0, LK * sizeof *cp->gpa);
    double rel;
    double c = agent_cost_term(&ag->obj, ag->cm, cp, 1, cp->gpw, cp->gpa, &rel);
    if (argmax_rel)
        *argmax_rel = rel;
    if (soft_rel)
        *soft_rel = q_cost_sample(ag->cm, cp, 0, NULL, NULL).bitops / ag->cm->ref_int8;
    for (int s = 0; grad && s < ag->S; s++)
        for (int l = 0; l < ag->L; l++)
            for (int k = 0; k < ag->K; k++) {
                const float *g = s == 0 ? q_plan_gpa(cp, 0, l) : q_plan_gpw(cp, 0, l);
                grad[((size_t)s * ag->L + (size_t)l) * ag->K + k] += g[ag->slot[k]];
            }
    return c;
}

/* ---- the widths of a greedy act ---- */

typedef struct {
    int idx[2][Q_MAX_LAYERS]; /* candidate index per side and layer */
    int w[Q_MAX_LAYERS], a[Q_MAX_LAYERS];
} mm_widths;

static void widths_of(const agent_metamix *ag, mm_widths *m)
{
    for (int l = 0; l < ag->L; l++) {
        m->a[l] = ag->cfg.cand[m->idx[0][l]];
        m->w[l] = ag->S == 2 ? ag->cfg.cand[m->idx[1][l]] : weight_width(ag);
    }
}

static double rel_of(const agent_metamix *ag, const mm_widths *m)
{
    return q_cost_layers(ag->cm, m->w, m->a).bitops / ag->cm->ref_int8;
}

/* MACs of planned layer l */
static double layer_macs(const agent_metamix *ag, int l)
{
    for (int j = 0; j < ag->cm->n; j++)
        if (ag->cm->layers[j].plan_layer == l)
            return (double)ag->cm->layers[j].macs;
    return 0.0;
}

/* log-probability lost per BitOps saved by moving side s of layer l one
 * candidate down; HUGE_VAL when it is at the narrowest */
static double move_price(const agent_metamix *ag, const mm_widths *m, int s, int l)
{
    int k = m->idx[s][l];
    if (k == 0)
        return HUGE_VAL;
    const float *r = prob_of(ag, s, l);
    double other = s == 0 ? m->w[l] : m->a[l];
    double saved = layer_macs(ag, l) * other * (ag->cfg.cand[k] - ag->cfg.cand[k - 1]);
    double lost = log(fmax(r[k], 1e-30)) - log(fmax(r[k - 1], 1e-30));
    return saved > 0 ? lost / saved : HUGE_VAL;
}

/* one step of the hold: the cheapest move; 0 when none is left */
static int hold_step(const agent_metamix *ag, mm_widths *m)
{
    double best = HUGE_VAL;
    int bs = -1, bl = -1;
    for (int l = 0; l < ag->L; l++)
        for (int s = 0; s < ag->S; s++) {
            double p = move_price(ag, m, s, l);
            if (p < best) {
                best = p;
                bs = s;
                bl = l;
            }
        }
    if (bs < 0)
        return 0;
    m->idx[bs][bl]--;
    widths_of(ag, m);
    return 1;
}

void agent_metamix_widths(agent_metamix *ag, int *w, int *a, agent_mm_hold *h)
{
    agent_metamix_probs(ag);
    int final = ag->final;
    ag->final = 1; /* the hold prices BitOps at the deployed weight width */
    mm_widths m;
    for (int s = 0; s < ag->S; s++)
        for (int l = 0; l < ag->L; l++)
            m.idx[s][l] = q_plan_argmax(prob_of(ag, s, l), ag->K);
    widths_of(ag, &m);
    agent_mm_hold hh = {rel_of(ag, &m), 0.0, 0};
    while (ag->cfg.hold && rel_of(ag, &m) > ag->cfg.target && hold_step(ag, &m))
        hh.moves++;
    hh.held_rel = rel_of(ag, &m);
    ag->final = final;
    widths_of(ag, &m);
    memcpy(w, m.w, (size_t)ag->L * sizeof *w);
    memcpy(a, m.a, (size_t)ag->L * sizeof *a);
    if (h)
        *h = hh;
}

/* ---- learning ---- */

/* g (S, L, K) = the batch's dL/dr from the feedback, summed over samples */
static void gather_feedback(agent_metamix *ag, const agent_feedback *f)
{
    memset(ag->grad, 0, (size_t)(ag->S * ag->L * ag->K) * sizeof *ag->grad);
    for (int s = 0; s < ag->S; s++) {
        const float *src = s == 0 ? f->ga : f->gw;
        QA_ASSERT(src); /* learn follows a mixture act */
        for (int i = 0; i < f->n; i++)
            for (int l = 0; l < ag->L; l++) {
                const float *g = src + ((size_t)i * ag->L + (size_t)l) * (size_t)ag->Kp;
                float *d = ag->grad + ((size_t)s * ag->L + (size_t)l) * ag->K;
                for (int k = 0; k < ag->K; k++)
                    d[k] += g[ag->slot[k]];
            }
    }
}

static unsigned learn(agent *a, const agent_obs *o, q_plan *plan, const agent_feedback *f,
                      agent_stats *st)
{
    (void)o;
    (void)plan;
    agent_metamix *ag = (agent_metamix *)a;
    gather_feedback(ag, f);
    double c = agent_metamix_penalty(ag, ag->grad, NULL, NULL);
    if (st)
        st->cost += c;
    for (int j = 0; j < ag->S * ag->L; j++)
        agent_gumbel_backward(ag->prob + (size_t)j * ag->K, ag->grad + (size_t)j * ag->K, ag->K,
                              1.0f, ag->params.g + (size_t)j * ag->K);
    return 1u;
}

static void mm_free(agent *a)
{
    agent_metamix *ag = (agent_metamix *)a;
    nn_params_free(&ag->params);
    q_plan_free(ag->cplan);
    free(ag->prob);
    free(ag);
}

static const agent_ops mm_ops = {"metamix", act, learn, mm_free};

static int make_params(agent_metamix *ag, qa_err *err)
{
    nn_params_init(&ag->params);
    size_t LK = (size_t)ag->L * (size_t)ag->K;
    int rc = nn_params_add(&ag->params, "alpha_a", LK, NN_PARAM_WEIGHT, err);
    if (rc >= 0 && ag->S == 2)
        rc = nn_params_add(&ag->params, "alpha_w", LK, NN_PARAM_WEIGHT, err);
    if (rc >= 0)
        rc = nn_params_alloc(&ag->params, err); /* alpha = 0: every width equally likely */
    if (rc < 0)
        return rc;
    ag->prob = calloc(2 * (size_t)ag->S * LK, sizeof *ag->prob);
    if (!ag->prob)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for the architecture parameters");
    ag->grad = ag->prob + (size_t)ag->S * LK;
    return QA_OK;
}

static int map_slots(agent_metamix *ag, const q_plan *plan, qa_err *err)
{
    for (int k = 0; k < ag->K; k++) {
        ag->slot[k] = q_plan_cand_index(plan, ag->cfg.cand[k]);
        if (ag->slot[k] < 0)
            return qa_fail(err, QA_ERR_ARG, "metamix: width %d is not among the plan's",
                           ag->cfg.cand[k]);
    }
    if (q_plan_cand_index(plan, ag->cfg.w_bits) < 0 ||
        q_plan_cand_index(plan, ag->cfg.search_w_bits) < 0 || plan->tied)
        return qa_fail(err, QA_ERR_ARG, "metamix: the plan must be untied and hold the weight "
                       "widths %d and %d", ag->cfg.search_w_bits, ag->cfg.w_bits);
    return QA_OK;
}

/* the target must be reachable: every planned width at its narrowest */
static int check_floor(agent_metamix *ag, qa_err *err)
{
    int w[Q_MAX_LAYERS], a[Q_MAX_LAYERS];
    for (int l = 0; l < ag->L; l++) {
        a[l] = ag->cfg.cand[0];
        w[l] = ag->S == 2 ? ag->cfg.cand[0] : ag->cfg.w_bits;
    }
    double floor = q_cost_layers(ag->cm, w, a).bitops / ag->cm->ref_int8;
    if (!ag->cfg.hold || floor <= ag->cfg.target)
        return QA_OK;
    return qa_fail(err, QA_ERR_CONFIG,
                   "metamix.target = %g is below %g, the BitOps (over 8-bit) of every planned "
                   "layer at its narrowest widths", ag->cfg.target, floor);
}

int agent_metamix_create(agent_metamix **out, const agent_mm_cfg *cfg, const q_plan *plan,
                         const q_cost_model *cm, qa_err *err)
{
    agent_metamix *ag = *out = calloc(1, sizeof *ag);
    if (!ag)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory creating the metamix agent");
    ag->base.ops = &mm_ops;
    ag->cfg = *cfg;
    ag->cm = cm;
    ag->L = plan->nlayers;
    ag->K = cfg->ncand;
    ag->S = cfg->search_weights ? 2 : 1;
    ag->Kp = plan->ncand;
    ag->obj = (agent_objective){cfg->cost, cfg->lambda, cfg->target, cfg->cost_argmax};
    QA_ASSERT(ag->L >= 1 && ag->L <= Q_MAX_LAYERS);
    int rc = map_slots(ag, plan, err);
    if (!rc)
        rc = check_floor(ag, err);
    if (!rc)
        rc = make_params(ag, err);
    if (!rc)
        rc = q_plan_create(&ag->cplan, 1, ag->L, plan->cand, plan->ncand, 0, err);
    if (rc) {
        mm_free(&ag->base);
        *out = NULL;
        return rc;
    }
    ag->base.sets[0] = (agent_set){"arch", &ag->params, cfg->arch_lr, cfg->arch_weight_decay};
    ag->base.nsets = 1;
    return QA_OK;
}
