/* search.c: the HAQ-style search's loop (search.h): the reference, then
 * episode after episode of act, fit, fine-tune, reward, learn, log and
 * checkpoint. The runs are finetune.c's, the files search_log.c's. */
#include "experiments/search/search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/io/dirlock.h"
#include "experiments/io/runfile.h"
#include "experiments/run/progress.h"
#include "experiments/run/run.h"
#include "experiments/search/finetune.h"
#include "experiments/search/search_log.h"

typedef struct {
    const exp_config *cfg;
    const exp_search_opts *opts;
    char dir[1024], ckpt[1100], path[1100];
    exp_finetune *ft;
    q_cost_model cm;
    agent_haq haq;
    agent_search *agent;
    exp_search_log log;
    exp_search_state st;  /* episodes, acc_ref, elapsed (before this process), best */
    double t0;            /* this process's start of searching */
    int64_t first;        /* episodes done when this process started */
    int lock_fd;          /* the search folder's lock (io/dirlock.h), -1: none */
} exp_search;

static int stop_requested(const exp_search *s)
{
    return s->opts->stop && *s->opts->stop;
}

/* The agent's plan for one episode, its actions into e. */
static void act(exp_search *s, exp_episode *e)
{
    const agent_haq *h = &s->haq;
    float state[AGENT_HAQ_DIM], prev = 1.0f;
    memset(&e->plan, 0, sizeof e->plan);
    e->sigma = agent_search_sigma(s->agent);
    for (int t = 0; t < h->nsteps; t++) {
        agent_haq_state(h, t, prev, state);
        prev = e->actions[t] = agent_search_act(s->agent, state);
        agent_haq_apply(h, t, prev, &e->plan);
    }
}

/* one-candidate steps between the widths before and after the budget */
static int steps_lowered(const agent_haq *h, const agent_haq_plan *a, const agent_haq_plan *b)
{
    int n = 0;
    for (int l = 0; l < h->nlayers; l++)
        for (int k = 0; k < h->ncand; k++) {
            n += b->w[l] <= h->cand[k] && h->cand[k] < a->w[l];
            n += !h->tied && b->a[l] <= h->cand[k] && h->cand[k] < a->a[l];
        }
    return n;
}

/* One episode into e; *done = 0 when the stop flag cut its fine-tune. */
static int episode(exp_search *s, exp_episode *e, int *done, qa_err *err)
{
    const agent_haq_cfg *c = &s->cfg->search;
    double t = exp_now();
    memset(e, 0, sizeof *e);
    e->episode = s->agent->episode + 1;
    act(s, e);
    agent_haq_plan chosen = e->plan;
    int rc = agent_haq_fit(&s->haq, &s->cm, c->cost, c->budget, &e->plan, err);
    if (rc)
        return rc;
    e->lowered = steps_lowered(&s->haq, &chosen, &e->plan);
    e->cost = agent_haq_cost(&s->cm, c->cost, &e->plan);
    e->bitops = agent_haq_cost(&s->cm, AGENT_BUDGET_BITOPS, &e->plan);
    e->bytes = q_cost_layers(&s->cm, e->plan.w, e->plan.a).bytes;
    exp_run_result res;
    rc = exp_finetune_plan(s->ft, &e->plan, &res, err);
    *done = !rc && res.status == EXP_RUN_COMPLETE;
    if (rc || !*done)
        return rc ? qa_err_prefix(err, "episode %lld: ", (long long)e->episode) : QA_OK;
    e->val_acc = res.val_acc;
    e->val_loss = res.val_loss;
    e->reward = c->reward_scale * 100.0 * (e->val_acc - s->st.acc_ref);
    rc = agent_search_end(s->agent, (float)e->reward, err);
    e->seconds = exp_now() - t;
    e->elapsed = s->st.elapsed + (exp_now() - s->t0);
    return rc;
}

static void widths_text(const int *b, int n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int l = 0; l < n && used < size; l++)
        used += (size_t)snprintf(buf + used, size - used, "%s%d", l ? "," : "", b[l]);
}

static void progress(const exp_search *s, const exp_episode *e)
{
    FILE *f = s->opts->progress;
    if (!f)
        return;
    const exp_episode *b = &s->st.best;
    int total = s->cfg->search.episodes;
    double per = (exp_now() - s->t0) / (double)(e->episode - s->first);
    char w[400], a[400], eta[32];
    widths_text(e->plan.w, e->plan.n, w, sizeof w);
    widths_text(e->plan.a, e->plan.n, a, sizeof a);
    exp_fmt_duration(per * (double)(total - e->episode), eta, sizeof eta);
    fprintf(f, "episode %lld/%d  W %s A %s  cost %.4f  val %.2f%%  reward %+.4f  best %+.4f "
               "(episode %lld, %.2f%%)  sigma %.3f  %.1fs  ETA %s\n",
            (long long)e->episode, total, w, a, e->cost, 100.0 * e->val_acc, e->reward,
            b->reward, (long long)b->episode, 100.0 * b->val_acc, e->sigma, e->seconds, eta);
    fflush(f);
}

/* After a finished episode: its row, the best, the checkpoint, a line. */
static int record(exp_search *s, const exp_episode *e, qa_err *err)
{
    int rc = exp_search_log_append(&s->log, e, err);
    if (rc)
        return rc;
    if (s->st.best.episode == 0 || e->reward > s->st.best.reward)
        s->st.best = *e;
    s->st.episodes = e->episode;
    exp_search_state now = s->st;
    now.elapsed = e->elapsed;
    rc = exp_search_ckpt_save(s->ckpt, s->cfg, &s->log, s->agent, &now, err);
    progress(s, e);
    return rc;
}

static int loop(exp_search *s, qa_err *err)
{
    int rc = QA_OK, done = 1;
    s->t0 = exp_now();
    s->first = s->agent->episode;
    while (!rc && done && !stop_requested(s) && s->agent->episode < s->cfg->search.episodes) {
        exp_episode e;
        rc = episode(s, &e, &done, err);
        if (!rc && done)
            rc = record(s, &e, err);
    }
    return rc;
}

/* The planned layers' names, comma separated. */
static void planned_names(const q_cost_model *cm, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < cm->n && used < n; k++)
        if (cm->layers[k].plan_layer >= 0)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? "," : "",
                                     cm->layers[k].name);
}

/* The pretrained run's accuracy, the cost model, the steps and the agent. */
static int prepare(exp_search *s, qa_err *err)
{
    const exp_config *c = s->cfg;
    double acc;
    int rc = exp_finetune_create(&s->ft, c, s->dir, s->opts->stop, err);
    if (!rc)
        rc = exp_finetune_reference(s->ft, &acc, &s->cm, err);
    if (rc)
        return rc;
    if (s->opts->resume && acc != s->st.acc_ref)
        return qa_fail(err, QA_ERR_CONFIG, "resume refused: the pretrained run %s has a "
                       "validation accuracy of %.4f%% now, %.4f%% when the search began",
                       c->search.pretrained, 100.0 * acc, 100.0 * s->st.acc_ref);
    s->st.acc_ref = acc;
    rc = agent_haq_init(&s->haq, &s->cm, c->quant.cand, c->quant.ncand, c->quant.tied, err);
    agent_haq_plan low = {.n = s->haq.nlayers}; /* fits at all: agent_haq_fit checks that */
    for (int l = 0; !rc && l < s->haq.nlayers; l++)
        low.w[l] = low.a[l] = c->quant.cand[0];
    if (!rc)
        rc = agent_haq_fit(&s->haq, &s->cm, c->search.cost, c->search.budget, &low, err);
    agent_search_cfg ac;
    agent_haq_agent_cfg(&c->search, &s->haq, &ac);
    if (!rc)
        rc = agent_search_create(&s->agent, &ac, (uint64_t)c->experiment.seed, err);
    return rc ? qa_err_prefix(err, "search: ") : QA_OK;
}

/* 1 when the pretrained run's training split is not the search's (another
 * seed, data.limit or data.val_fraction): it may have trained on the
 * images the search validates on. Unknown (no config) counts as the same. */
static int other_split(const exp_config *c)
{
    hid_t f;
    qa_err err;
    if (exp_rf_open(&f, c->search.pretrained, &err))
        return 0;
    char *ini = exp_rf_config(f), seed[64], limit[64], frac[64];
    exp_rf_close(f);
    int have = ini && !exp_rf_ini_value(ini, "experiment", "seed", seed, sizeof seed) &&
               !exp_rf_ini_value(ini, "data", "limit", limit, sizeof limit) &&
               !exp_rf_ini_value(ini, "data", "val_fraction", frac, sizeof frac);
    free(ini);
    return have && (atoi(seed) != c->experiment.seed || atoi(limit) != c->data.limit ||
                    strtod(frac, NULL) != c->data.val_fraction);
}

static void say_start(const exp_search *s, const char *layers)
{
    FILE *f = s->opts->progress;
    if (!f)
        return;
    if (other_split(s->cfg))
        fprintf(f, "note: the pretrained run %s split its training images otherwise (seed, "
                   "data.limit or data.val_fraction): it may have trained on the validation "
                   "images that score the plans\n",
                s->cfg->search.pretrained);
    const agent_haq_cfg *c = &s->cfg->search;
    fprintf(f, "search: %s over %s (%d steps an episode), %s <= %g of 8-bit; pretrained %s: "
               "validation accuracy %.2f%%\n",
            c->agent.kind == AGENT_SEARCH_DDPG ? "ddpg" : "reinforce", layers, s->haq.nsteps,
            c->cost == AGENT_BUDGET_BITOPS ? "BitOps" : "weight bytes", c->budget,
            c->pretrained, 100.0 * s->st.acc_ref);
    if (s->opts->resume)
        fprintf(f, "resuming after episode %lld of %d from %s\n", (long long)s->st.episodes,
                c->episodes, s->ckpt);
    fflush(f);
}

/* Everything before the first episode; *ck the checkpoint of a resume. */
static int setup(exp_search *s, exp_search_result *res, exp_ckpt **ck, qa_err *err)
{
    const exp_config *c = s->cfg;
    if (!c->search.pretrained[0])
        return qa_fail(err, QA_ERR_CONFIG, "search.pretrained is empty: name the finished run "
                       "(its run.h5) every fine-tune starts from");
    int rc = s->opts->resume ? exp_search_ckpt_open(ck, s->ckpt, c, &s->st, err) : QA_OK;
    if (!rc)
        rc = prepare(s, err);
    if (!rc && s->opts->resume && s->st.best.plan.n != s->haq.nlayers)
        rc = qa_fail(err, QA_ERR_FORMAT, "%s: a plan of %d layers, the model has %d planned",
                     s->ckpt, s->st.best.plan.n, s->haq.nlayers);
    char layers[2048];
    planned_names(&s->cm, layers, sizeof layers);
    if (!rc) {
        rc = exp_search_log_open(&s->log, s->path, c, s->opts->command, layers,
                                 s->haq.nlayers, s->haq.nsteps, err);
        if (!rc)
            snprintf(res->path, sizeof res->path, "%s", s->path);
    }
    if (!rc && *ck)
        rc = exp_search_ckpt_restore(*ck, &s->log, s->agent, err);
    if (!rc && !*ck)
        remove(s->ckpt); /* a later --resume must not take a previous search's */
    if (!rc)
        say_start(s, layers);
    return rc;
}

static int paths(exp_search *s, qa_err *err)
{
    const exp_experiment_cfg *e = &s->cfg->experiment;
    const char *out = s->opts->out_dir ? s->opts->out_dir : e->out_dir;
    int w = snprintf(s->dir, sizeof s->dir, "%s/%s", out, e->name);
    if (w < 0 || (size_t)w >= sizeof s->dir)
        return qa_fail(err, QA_ERR_ARG, "search folder %s/%s: path too long", out, e->name);
    snprintf(s->ckpt, sizeof s->ckpt, "%s/search_ckpt.h5", s->dir);
    snprintf(s->path, sizeof s->path, "%s/search.h5", s->dir);
    return QA_OK;
}

static void result(const exp_search *s, exp_search_result *res, int rc)
{
    int total = s->cfg->search.episodes;
    res->episodes = (int)s->st.episodes;
    res->status = rc                    ? EXP_RUN_FAILED
                  : s->st.episodes < total ? EXP_RUN_INTERRUPTED
                                           : EXP_RUN_COMPLETE;
    res->acc_ref = s->st.acc_ref;
    res->best_episode = (int)s->st.best.episode;
    res->best_reward = s->st.best.reward;
    res->best_acc = s->st.best.val_acc;
    res->best_cost = s->st.best.cost;
    res->best = s->st.best.plan;
    res->seconds = s->t0 > 0 ? exp_now() - s->t0 : 0.0;
}

int exp_search_main(const exp_config *cfg, const exp_search_opts *opts, exp_search_result *res,
                    qa_err *err)
{
    static const char *const status[] = {"complete", "interrupted", "failed"};
    exp_search *s = calloc(1, sizeof *s);
    memset(res, 0, sizeof *res);
    if (!s)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for a search");
    s->cfg = cfg;
    s->opts = opts;
    s->lock_fd = -1;
    exp_ckpt *ck = NULL;
    int rc = paths(s, err);
    if (!rc) /* a second search in the folder would write the same files */
        rc = exp_dir_claim(s->dir, "a search", &s->lock_fd, err);
    if (!rc)
        rc = setup(s, res, &ck, err);
    exp_ckpt_close(ck);
    if (!rc)
        rc = loop(s, err);
    result(s, res, rc);
    rc = exp_search_log_close(&s->log, &s->st.best, s->st.acc_ref, s->st.episodes,
                              res->seconds, status[res->status], rc, err);
    if (rc)
        res->status = EXP_RUN_FAILED;
    agent_search_free(s->agent);
    q_cost_model_free(&s->cm);
    exp_finetune_free(s->ft);
    exp_dir_release(s->lock_fd);
    free(s);
    return rc;
}
