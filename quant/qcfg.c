/* qcfg.c: defaults, list parsing and cross-key checks of the [quant] section. */
#include "quant/qcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/fake_quant.h"

static const char *const kind_names[Q_NKINDS] = {"lsq", "pact", "dorefa", "minmax", "ema",
                                                   "ddq"};

void q_cfg_defaults(q_cfg *c)
{
    memset(c, 0, sizeof *c);
    static const int cand[] = {2, 3, 4, 6, 8};
    c->ncand = (int)(sizeof cand / sizeof cand[0]);
    memcpy(c->cand, cand, sizeof cand);
    c->tied = 1;
    c->w_kind = Q_KIND_LSQ;
    c->a_kind = Q_KIND_LSQ;
    c->first_bits = 8;
    c->last_bits = 8;
    c->pact_init = 8.0f;
    c->pact_decay = 1e-4f;
    c->ema_momentum = 0.9f;
    c->ddq = (q_ddq_cfg){.min_bits = 2, .init_bits = 8, .range_bits = 4, .gate_init = 0.5f,
                         .tau = 1.0f, .curvature = 1, .adaptive = 0, .knots = 16,
                         .range_floor = 2.0f};
    c->w_bits = 8;
    c->a_bits = 8;
}

int q_kind_from_name(const char *name)
{
    for (int k = 0; k < Q_NKINDS; k++)
        if (strcmp(kind_names[k], name) == 0)
            return k;
    return -1;
}

const char *q_kind_name(int kind)
{
    return kind >= 0 && kind < Q_NKINDS ? kind_names[kind] : "?";
}

/* Reads one width at *p, advancing past it. */
static int parse_width(const char **p, int *bits, const char *what, const char *text, qa_err *err)
{
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (end == *p || errno || !q_bits_valid((int)v))
        return qa_fail(err, QA_ERR_CONFIG,
                       "%s '%s': expected widths in 2..8 or 32 separated by commas, at '%s'", what,
                       text, *p);
    *bits = (int)v;
    *p = end;
    while (**p == ' ')
        (*p)++;
    return QA_OK;
}

int q_cfg_parse_cand(q_cfg *c, const char *text, qa_err *err)
{
    const char *p = text;
    int n = 0;
    while (*p == ' ')
        p++;
    while (*p) {
        if (n == Q_MAX_CAND)
            return qa_fail(err, QA_ERR_CONFIG, "quant.bits '%s': at most %d candidate widths", text,
                           Q_MAX_CAND);
        int rc = parse_width(&p, &c->cand[n], "quant.bits", text, err);
        if (rc < 0)
            return rc;
        if (n > 0 && c->cand[n] <= c->cand[n - 1])
            return qa_fail(err, QA_ERR_CONFIG,
                           "quant.bits '%s': widths must be distinct and ascending", text);
        n++;
        if (*p == ',')
            p++;
        else if (*p)
            return qa_fail(err, QA_ERR_CONFIG, "quant.bits '%s': unexpected '%c'", text, *p);
    }
    if (n == 0)
        return qa_fail(err, QA_ERR_CONFIG, "quant.bits is empty: expected e.g. 2,4,8");
    c->ncand = n;
    return QA_OK;
}

int q_cfg_parse_layer_bits(q_cfg *c, const char *text, qa_err *err)
{
    const char *p = text;
    int n = 0;
    while (*p == ' ')
        p++;
    while (*p) {
        if (n == Q_MAX_LAYERS)
            return qa_fail(err, QA_ERR_CONFIG, "quant.layer_bits: more than %d layers", Q_MAX_LAYERS);
        int rc = parse_width(&p, &c->layer_wbits[n], "quant.layer_bits", text, err);
        if (rc < 0)
            return rc;
        c->layer_abits[n] = c->layer_wbits[n];
        if (*p == ':') {
            p++;
            rc = parse_width(&p, &c->layer_abits[n], "quant.layer_bits", text, err);
            if (rc < 0)
                return rc;
        }
        n++;
        if (*p == ',')
            p++;
        else if (*p)
            return qa_fail(err, QA_ERR_CONFIG,
                           "quant.layer_bits '%s': unexpected '%c' (expected W or W:A per layer)", text,
                           *p);
    }
    c->nlayer_bits = n;
    return QA_OK;
}

int q_cfg_set_layer_bits(q_cfg *c, const int *w, const int *a, int n, const char *source,
                         qa_err *err)
{
    if (n < 1 || n > Q_MAX_LAYERS)
        return qa_fail(err, QA_ERR_CONFIG, "%s: %d layers, expected 1 to %d", source, n,
                       Q_MAX_LAYERS);
    for (int l = 0; l < n; l++)
        if (!q_bits_valid(w[l]) || !q_bits_valid(a[l]))
            return qa_fail(err, QA_ERR_CONFIG, "%s: layer %d has widths %d:%d, expected "
                           "2..8 or 32", source, l, w[l], a[l]);
    memcpy(c->layer_wbits, w, (size_t)n * sizeof *w);
    memcpy(c->layer_abits, a, (size_t)n * sizeof *a);
    c->nlayer_bits = n;
    return QA_OK;
}

void q_cfg_format_cand(const q_cfg *c, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < c->ncand && at < n; k++)
        at += (size_t)snprintf(buf + at, n - at, "%s%d", k ? "," : "", c->cand[k]);
}

void q_cfg_format_layer_bits(const q_cfg *c, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int l = 0; l < c->nlayer_bits && at < n; l++) {
        if (c->layer_wbits[l] == c->layer_abits[l])
            at += (size_t)snprintf(buf + at, n - at, "%s%d", l ? "," : "", c->layer_wbits[l]);
        else
            at += (size_t)snprintf(buf + at, n - at, "%s%d:%d", l ? "," : "", c->layer_wbits[l],
                                   c->layer_abits[l]);
    }
}

static int check_pinned(int bits, const char *key, qa_err *err)
{
    if (bits != 0 && !q_bits_valid(bits))
        return qa_fail(err, QA_ERR_CONFIG, "%s = %d: expected 0 (chosen by the plan), 2..8 or 32",
                       key, bits);
    return QA_OK;
}

static int check_ddq(const q_ddq_cfg *d, qa_err *err)
{
    if (d->min_bits < Q_BITS_MIN || d->min_bits > Q_BITS_MAX || d->init_bits < d->min_bits ||
        d->init_bits > Q_BITS_MAX || d->range_bits < Q_BITS_MIN || d->range_bits > Q_BITS_MAX)
        return qa_fail(err, QA_ERR_CONFIG,
                       "ddq min/init/range bits = %d/%d/%d: expected 2 <= min <= init <= 8 and "
                       "range in 2..8",
                       d->min_bits, d->init_bits, d->range_bits);
    if (!(d->gate_init > 0.0f) || !(d->tau >= 0.0f) || d->knots < 1 || d->knots > Q_DDQ_MAX_KNOTS)
        return qa_fail(err, QA_ERR_CONFIG,
                       "ddq gate_init = %g, tau = %g, knots = %d: expected > 0, >= 0, 1..%d",
                       (double)d->gate_init, (double)d->tau, d->knots, Q_DDQ_MAX_KNOTS);
    return QA_OK;
}

int q_cfg_check(const q_cfg *c, qa_err *err)
{
    if (c->w_kind < 0 || c->w_kind >= Q_NKINDS || c->a_kind < 0 || c->a_kind >= Q_NKINDS)
        return qa_fail(err, QA_ERR_CONFIG, "quant: unknown quantizer kind");
    if (c->w_kind == Q_KIND_PACT || c->w_kind == Q_KIND_EMA)
        return qa_fail(err, QA_ERR_CONFIG,
                       "quant.w_quantizer = %s: weights take lsq, dorefa, minmax or ddq",
                       q_kind_name(c->w_kind));
    if (c->ncand < 1)
        return qa_fail(err, QA_ERR_CONFIG, "quant.bits: no candidate widths");
    int rc = check_pinned(c->first_bits, "quant.first_bits", err);
    if (rc == QA_OK)
        rc = check_pinned(c->last_bits, "quant.last_bits", err);
    if (rc < 0)
        return rc;
    if (c->input_domain == Q_INPUT_NONE && c->first_bits == 0)
        return qa_fail(err, QA_ERR_CONFIG,
                       "quant.input = none needs a pinned first layer (quant.first_bits > 0): "
                       "a planned one takes its input width from the plan");
    if (!q_bits_valid(c->w_bits) || !q_bits_valid(c->a_bits))
        return qa_fail(err, QA_ERR_CONFIG, "quant.w_bits/a_bits = %d/%d: expected 2..8 or 32",
                       c->w_bits, c->a_bits);
    if (!(c->ema_momentum >= 0.0f && c->ema_momentum < 1.0f))
        return qa_fail(err, QA_ERR_CONFIG, "quant.ema_momentum = %g: expected [0, 1)",
                       (double)c->ema_momentum);
    if (!(c->pact_init > 0.0f) || !(c->pact_decay >= 0.0f))
        return qa_fail(err, QA_ERR_CONFIG,
                       "quant.pact_alpha = %g, quant.pact_decay = %g: expected > 0 and >= 0",
                       (double)c->pact_init, (double)c->pact_decay);
    if ((c->soft_keep > 0 || c->soft_min_p > 0.0f) && !c->tied)
        return qa_fail(err, QA_ERR_CONFIG,
                       "quant.soft_keep = %d, quant.soft_min_p = %g: candidate pruning needs "
                       "quant.tied = true",
                       c->soft_keep, (double)c->soft_min_p);
    return c->w_kind == Q_KIND_DDQ || c->a_kind == Q_KIND_DDQ ? check_ddq(&c->ddq, err) : QA_OK;
}

int q_ddq_train_check(const q_ddq_train_cfg *c, qa_err *err)
{
    if (c->max_bits < Q_BITS_MIN || c->max_bits > Q_BITS_MAX)
        return qa_fail(err, QA_ERR_CONFIG, "ddq.max_bits = %d: expected %d..%d", c->max_bits,
                       Q_BITS_MIN, Q_BITS_MAX);
    if (c->target_bits != 0 && (c->target_bits < Q_BITS_MIN || c->target_bits > c->max_bits))
        return qa_fail(err, QA_ERR_CONFIG,
                       "ddq.target_bits = %d: expected 0 (use ddq.target) or %d..ddq.max_bits (%d)",
                       c->target_bits, Q_BITS_MIN, c->max_bits);
    return QA_OK;
}
