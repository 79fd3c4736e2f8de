/* qam_io.c: the .qam file: a growing byte buffer written field by field,
 * and a bounds-checked cursor reading it back in the same order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "deploy/qam.h"

static const char MAGIC[8] = {'Q', 'A', 'D', 'A', 'P', 'T', 'Q', 'M'};
#define HEADER_BYTES 28

/* ---- writing ---- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *b, const void *v, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void put_u32(wbuf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static void put_i32(wbuf *b, int v)
{
    put_u32(b, (uint32_t)v);
}

static void put_f32(wbuf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_u32(b, u);
}

static void put_str(wbuf *b, const char *s)
{
    put_u32(b, (uint32_t)strlen(s));
    put(b, s, strlen(s));
}

static void put_f32s(wbuf *b, const float *v, size_t n)
{
    put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        put_f32(b, v[i]);
}

/* codes of `bits` bits, two's complement, low bits first */
static void put_codes(wbuf *b, const int8_t *c, size_t n, int bits)
{
    put_u32(b, (uint32_t)n);
    uint32_t acc = 0, mask = (1u << bits) - 1;
    int have = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= ((uint32_t)(uint8_t)c[i] & mask) << have;
        have += bits;
        while (have >= 8) {
            uint8_t x = (uint8_t)acc;
            put(b, &x, 1);
            acc >>= 8;
            have -= 8;
        }
    }
    if (have > 0) {
        uint8_t x = (uint8_t)acc;
        put(b, &x, 1);
    }
}

static void put_layer(wbuf *b, const dep_layer *l)
{
    put_str(b, l->name);
    const int geo[] = {l->c, l->h, l->w, l->oc, l->oh, l->ow, l->kh, l->kw, l->sh, l->sw,
                       l->ph, l->pw, l->groups, l->row, l->nw, l->na, l->act};
    for (size_t i = 0; i < sizeof geo / sizeof *geo; i++)
        put_i32(b, geo[i]);
    for (int j = 0; j < l->nw; j++) {
        put_i32(b, l->ws[j].bits);
        put_i32(b, l->ws[j].pack);
        put_f32s(b, l->ws[j].scale, (size_t)l->oc);
        put_codes(b, l->ws[j].codes, dep_layer_wn(l), l->ws[j].pack);
    }
    for (int j = 0; j < l->na; j++) {
        const dep_aslot *a = &l->as[j];
        put_i32(b, a->bits);
        put_i32(b, a->is_signed);
        put_i32(b, a->lo);
        put_i32(b, a->hi);
        put_f32(b, a->step);
    }
    put_f32s(b, l->mul, (size_t)l->oc);
    put_f32s(b, l->add, (size_t)l->oc);
}

static void put_policy(wbuf *b, const dep_policy *p)
{
    put_i32(b, p->present);
    if (!p->present)
        return;
    const int iv[] = {p->nin, p->hidden, p->head, p->tied, p->feat_mode};
    for (size_t i = 0; i < sizeof iv / sizeof *iv; i++)
        put_i32(b, iv[i]);
    put_f32(b, p->sigma_min);
    put_f32(b, p->sigma_max);
    put_f32(b, p->mu_init);
    put_f32(b, p->tau);
    put_f32s(b, p->params, p->nparams);
}

static void put_model(wbuf *b, const dep_model *m)
{
    put_str(b, m->arch);
    const int iv[] = {m->c, m->h, m->w, m->nclass, m->nplan, m->ncand, m->tied};
    for (size_t i = 0; i < sizeof iv / sizeof *iv; i++)
        put_i32(b, iv[i]);
    for (int i = 0; i < 3; i++) {
        put_f32(b, m->mean[i]);
        put_f32(b, m->std[i]);
    }
    for (int k = 0; k < m->ncand; k++)
        put_i32(b, m->cand[k]);
    for (int l = 0; l < m->nplan; l++) {
        put_i32(b, m->fixed_w[l]);
        put_i32(b, m->fixed_a[l]);
    }
    put_policy(b, &m->pol);
    put_i32(b, m->nlayers);
    put_i32(b, m->ntensors);
    put_i32(b, m->nops);
    for (int i = 0; i < m->nlayers; i++)
        put_layer(b, &m->layers[i]);
    for (int i = 0; i < m->ntensors; i++) {
        const dep_tensor *t = &m->tensors[i];
        put_i32(b, t->kind);
        put_i32(b, t->c);
        put_i32(b, t->h);
        put_i32(b, t->w);
        put_i32(b, t->layer);
        put_f32(b, t->t);
    }
    for (int i = 0; i < m->nops; i++) {
        const dep_op *o = &m->ops[i];
        put_i32(b, o->kind);
        put_i32(b, o->in);
        put_i32(b, o->out);
        put_i32(b, o->layer);
        put_i32(b, o->skip);
    }
}

int dep_model_encode(const dep_model *m, uint8_t **buf, size_t *n, qa_err *err)
{
    *buf = NULL;
    *n = 0;
    int rc = dep_model_check(m, "model to write", err);
    if (rc)
        return rc;
    wbuf b = {0};
    put(&b, MAGIC, sizeof MAGIC);
    put_u32(&b, DEP_QAM_VERSION);
    put_u32(&b, 0);
    uint8_t hole[12] = {0}; /* payload size and CRC, filled below */
    put(&b, hole, sizeof hole);
    put_model(&b, m);
    if (b.oom) {
        free(b.p);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory encoding the model");
    }
    uint64_t size = b.n - HEADER_BYTES;
    uint32_t crc = (uint32_t)crc32(0L, b.p + HEADER_BYTES, (uInt)size);
    for (int i = 0; i < 8; i++)
        b.p[16 + i] = (uint8_t)(size >> (8 * i));
    for (int i = 0; i < 4; i++)
        b.p[24 + i] = (uint8_t)(crc >> (8 * i));
    *buf = b.p;
    *n = b.n;
    return QA_OK;
}

/* temp file, fsync, rename: a reader never sees half a model */
int dep_model_write(const dep_model *m, const char *path, qa_err *err)
{
    uint8_t *buf;
    size_t n;
    int rc = dep_model_encode(m, &buf, &n, err);
    if (rc)
        return rc;
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(buf);
        return qa_fail(err, QA_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    int ok = fwrite(buf, 1, n, f) == n && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        rc = qa_fail(err, QA_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
        return rc;
    }
    return QA_OK;
}

/* ---- reading ---- */

typedef struct {
    const uint8_t *p;
    size_t n, at;
    const char *where;
    qa_err *err;
    int rc;
} rbuf;

static int get(rbuf *r, void *v, size_t n, const char *what)
{
    if (r->rc)
        return r->rc;
    if (n > r->n - r->at) {
        r->rc = qa_fail(r->err, QA_ERR_FORMAT, "%s: truncated at byte %zu reading %s", r->where,
                        r->at + HEADER_BYTES, what);
        return r->rc;
    }
    memcpy(v, r->p + r->at, n);
    r->at += n;
    return QA_OK;
}

static uint32_t get_u32(rbuf *r, const char *what)
{
    uint8_t x[4] = {0};
    get(r, x, 4, what);
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

/* an int in [lo, hi], else a format error naming the field */
static int get_int(rbuf *r, const char *what, int lo, int hi)
{
    int v = (int)get_u32(r, what);
    if (!r->rc && (v < lo || v > hi))
        r->rc = qa_fail(r->err, QA_ERR_FORMAT, "%s: %s = %d, expected %d..%d", r->where, what, v,
                        lo, hi);
    return r->rc ? lo : v;
}

static float get_f32(rbuf *r, const char *what)
{
    uint32_t u = get_u32(r, what);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

static void get_str(rbuf *r, char *s, size_t cap, const char *what)
{
    uint32_t n = (uint32_t)get_int(r, what, 0, (int)cap - 1);
    s[0] = '\0';
    if (!r->rc && !get(r, s, n, what))
        s[n] = '\0';
}

static void get_f32s(rbuf *r, float *v, size_t n, const char *what)
{
    if ((size_t)get_int(r, what, 0, 1 << 30) != n && !r->rc)
        r->rc = qa_fail(r->err, QA_ERR_FORMAT, "%s: %s: wrong length", r->where, what);
    for (size_t i = 0; i < n && !r->rc; i++)
        v[i] = get_f32(r, what);
}

static void get_codes(rbuf *r, int8_t *c, size_t n, int bits, const char *what)
{
    if ((size_t)get_int(r, what, 0, 1 << 30) != n && !r->rc)
        r->rc = qa_fail(r->err, QA_ERR_FORMAT, "%s: %s: wrong length", r->where, what);
    uint32_t acc = 0, mask = (1u << bits) - 1;
    int have = 0;
    for (size_t i = 0; i < n && !r->rc; i++) {
        while (have < bits) {
            uint8_t x = 0;
            get(r, &x, 1, what);
            acc |= (uint32_t)x << have;
            have += 8;
        }
        uint32_t v = acc & mask;
        acc >>= bits;
        have -= bits;
        c[i] = (int8_t)(v >= (1u << (bits - 1)) ? (int)v - (1 << bits) : (int)v); /* sign */
    }
}

static void get_layer(rbuf *r, dep_layer *l)
{
    get_str(r, l->name, sizeof l->name, "layer name");
    int *geo[] = {&l->c, &l->h, &l->w, &l->oc, &l->oh, &l->ow, &l->kh, &l->kw, &l->sh, &l->sw,
                  &l->ph, &l->pw, &l->groups};
    for (size_t i = 0; i < sizeof geo / sizeof *geo; i++)
        *geo[i] = get_int(r, "layer geometry", 0, 1 << 16);
    l->row = get_int(r, "layer plan row", -1, Q_MAX_LAYERS - 1);
    l->nw = get_int(r, "weight slots", 1, DEP_MAX_SLOTS);
    l->na = get_int(r, "activation slots", 1, DEP_MAX_SLOTS);
    l->act = get_int(r, "activation", 0, DEP_ACT_NKIND - 1);
    if (r->rc)
        return;
    if (l->groups < 1 || l->c % l->groups || l->oc % l->groups || l->oc < 1 || l->kh < 1 ||
        l->kw < 1 || (double)dep_layer_wn(l) > 1e9) {
        r->rc = qa_fail(r->err, QA_ERR_FORMAT, "%s: layer %s: impossible geometry", r->where,
                        l->name);
        return;
    }
    r->rc = dep_layer_alloc(l, r->err);
    for (int j = 0; j < l->nw && !r->rc; j++) {
        l->ws[j].bits = get_int(r, "weight width", 2, 8);
        l->ws[j].pack = get_int(r, "weight code bits", 2, 8);
        get_f32s(r, l->ws[j].scale, (size_t)l->oc, "weight scales");
        get_codes(r, l->ws[j].codes, dep_layer_wn(l), l->ws[j].pack, "weight codes");
    }
    for (int j = 0; j < l->na && !r->rc; j++) {
        dep_aslot *a = &l->as[j];
        a->bits = get_int(r, "activation width", 2, 32);
        a->is_signed = get_int(r, "activation signedness", 0, 1);
        a->lo = get_int(r, "activation code min", -128, 255);
        a->hi = get_int(r, "activation code max", -128, 255);
        a->step = get_f32(r, "activation step");
    }
    get_f32s(r, l->mul, (size_t)l->oc, "epilogue scales");
    get_f32s(r, l->add, (size_t)l->oc, "epilogue shifts");
}

static void get_policy(rbuf *r, dep_policy *p)
{
    p->present = get_int(r, "policy flag", 0, 1);
    if (!p->present)
        return;
    p->nin = get_int(r, "policy inputs", 1, 4096);
    p->hidden = get_int(r, "policy hidden units", 1, 4096);
    p->head = get_int(r, "policy head", 0, 1);
    p->tied = get_int(r, "policy tied", 0, 1);
    p->feat_mode = get_int(r, "policy feature mode", 0, 2);
    p->sigma_min = get_f32(r, "policy sigma_min");
    p->sigma_max = get_f32(r, "policy sigma_max");
    p->mu_init = get_f32(r, "policy mu_init");
    p->tau = get_f32(r, "policy tau");
    p->nparams = (size_t)get_int(r, "policy parameters", 0, 1 << 26);
    if (r->rc)
        return;
    p->params = malloc((p->nparams ? p->nparams : 1) * sizeof *p->params);
    if (!p->params) {
        r->rc = qa_fail(r->err, QA_ERR_NOMEM, "out of memory reading %s", r->where);
        return;
    }
    for (size_t i = 0; i < p->nparams && !r->rc; i++)
        p->params[i] = get_f32(r, "policy parameters");
}

static void get_graph(rbuf *r, dep_model *m)
{
    int nl = get_int(r, "layer count", 1, 4096), nt = get_int(r, "tensor count", 2, 8192);
    int no = get_int(r, "op count", 1, 8192);
    if (r->rc || (r->rc = dep_model_alloc(m, nl, nt, no, r->err)))
        return;
    for (int i = 0; i < nl && !r->rc; i++)
        get_layer(r, &m->layers[i]);
    for (int i = 0; i < nt && !r->rc; i++) {
        dep_tensor *t = &m->tensors[i];
        t->kind = get_int(r, "tensor kind", 0, DEP_T_NKIND - 1);
        t->c = get_int(r, "tensor channels", 1, 1 << 16);
        t->h = get_int(r, "tensor height", 1, 1 << 16);
        t->w = get_int(r, "tensor width", 1, 1 << 16);
        t->layer = get_int(r, "tensor layer", -1, nl - 1);
        t->t = get_f32(r, "tensor scale");
    }
    for (int i = 0; i < no && !r->rc; i++) {
        dep_op *o = &m->ops[i];
        o->kind = get_int(r, "op kind", 0, DEP_OP_NKIND - 1);
        o->in = get_int(r, "op input", -1, nt - 1);
        o->out = get_int(r, "op output", 0, nt - 1);
        o->layer = get_int(r, "op layer", -1, nl - 1);
        o->skip = get_int(r, "op skip", -1, nt - 1);
    }
}

static void get_model(rbuf *r, dep_model *m)
{
    get_str(r, m->arch, sizeof m->arch, "architecture");
    m->c = get_int(r, "input channels", 1, 3);
    m->h = get_int(r, "input height", 1, 1 << 14);
    m->w = get_int(r, "input width", 1, 1 << 14);
    m->nclass = get_int(r, "classes", 1, 1 << 20);
    m->nplan = get_int(r, "planned layers", 0, Q_MAX_LAYERS);
    m->ncand = get_int(r, "candidate widths", 0, Q_MAX_CAND);
    m->tied = get_int(r, "tied", 0, 1);
    for (int i = 0; i < 3; i++) {
        m->mean[i] = get_f32(r, "input mean");
        m->std[i] = get_f32(r, "input std");
    }
    for (int k = 0; k < m->ncand; k++)
        m->cand[k] = get_int(r, "candidate width", 2, 32);
    for (int l = 0; l < m->nplan; l++) {
        m->fixed_w[l] = get_int(r, "fixed weight width", 0, 32);
        m->fixed_a[l] = get_int(r, "fixed activation width", 0, 32);
    }
    get_policy(r, &m->pol);
    get_graph(r, m);
}

static int check_header(const uint8_t *buf, size_t n, const char *where, size_t *size, qa_err *err)
{
    if (n < HEADER_BYTES || memcmp(buf, MAGIC, sizeof MAGIC) != 0)
        return qa_fail(err, QA_ERR_FORMAT, "%s: not a qadapt model file (no QADAPTQM header)",
                       where);
    uint32_t version = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 |
                       (uint32_t)buf[11] << 24;
    if (version != DEP_QAM_VERSION)
        return qa_fail(err, QA_ERR_FORMAT, "%s: model file version %u, this qadapt reads %d",
                       where, version, DEP_QAM_VERSION);
    uint64_t sz = 0;
    uint32_t crc = 0;
    for (int i = 0; i < 8; i++)
        sz |= (uint64_t)buf[16 + i] << (8 * i);
    for (int i = 0; i < 4; i++)
        crc |= (uint32_t)buf[24 + i] << (8 * i);
    if (sz != n - HEADER_BYTES)
        return qa_fail(err, QA_ERR_FORMAT, "%s: %zu payload bytes, the header says %llu "
                       "(truncated or extended file)", where, n - HEADER_BYTES,
                       (unsigned long long)sz);
    if ((uint32_t)crc32(0L, buf + HEADER_BYTES, (uInt)sz) != crc)
        return qa_fail(err, QA_ERR_FORMAT, "%s: CRC-32 mismatch (damaged file)", where);
    *size = (size_t)sz;
    return QA_OK;
}

int dep_model_decode(dep_model *m, const uint8_t *buf, size_t n, const char *where, qa_err *err)
{
    memset(m, 0, sizeof *m);
    size_t size = 0;
    int rc = check_header(buf, n, where, &size, err);
    if (rc)
        return rc;
    rbuf r = {buf + HEADER_BYTES, size, 0, where, err, QA_OK};
    get_model(&r, m);
    if (!r.rc && r.at != r.n)
        r.rc = qa_fail(err, QA_ERR_FORMAT, "%s: %zu bytes after the last field", where, r.n - r.at);
    if (!r.rc)
        r.rc = dep_model_check(m, where, err);
    if (r.rc)
        dep_model_free(m);
    return r.rc;
}

int dep_model_read(dep_model *m, const char *path, qa_err *err)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "rb");
    if (!f)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *q = realloc(buf, cap);
            if (!q) {
                free(buf);
                fclose(f);
                return qa_fail(err, QA_ERR_NOMEM, "%s: out of memory reading", path);
            }
            buf = q;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? qa_fail(err, QA_ERR_IO, "%s: read error", path)
                 : dep_model_decode(m, buf, n, path, err);
    free(buf);
    return rc;
}
