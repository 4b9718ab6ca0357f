/* classifiers/engine.c — compiling the immutable engine (PCRE2 JIT
 * patterns, the Hyperscan streaming literal/prefilter database, custom
 * dictionaries, regexes and fingerprints) and the per-thread worker. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/engine.h"
#include "common/sgw.h"

const char *cls_category_str(enum cls_category c)
{
    switch (c) {
    case CLS_CAT_PII:
        return "PII";
    case CLS_CAT_FINANCIAL:
        return "FINANCIAL";
    case CLS_CAT_HEALTH:
        return "HEALTH";
    case CLS_CAT_SECRET:
        return "SECRET";
    case CLS_CAT_CUSTOM:
        return "CUSTOM";
    case CLS_CAT_UNINSPECTABLE:
        return "UNINSPECTABLE";
    case CLS_CAT__COUNT:
        break;
    }
    return "?";
}

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

/* Compiles one PCRE2 pattern with JIT; NULL and a message on failure. */
static pcre2_code *compile_re(const char *re, const char *name, char *err, size_t errlen)
{
    int ec = 0;
    PCRE2_SIZE eo = 0;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
    if (!c) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        errf(err, errlen, "regex '%s': %s at offset %zu", name, (const char *)msg, (size_t)eo);
        return NULL;
    }
    int jrc = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    if (jrc != 0) {
        errf(err, errlen, "regex '%s': JIT compilation failed (%d)", name, jrc);
        pcre2_code_free(c);
        return NULL;
    }
    return c;
}

/* "\xHH" escaping of a literal for Hyperscan */
static char *hs_escape(const char *lit, size_t n)
{
    char *o = malloc(n * 4 + 1);
    if (!o)
        return NULL;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)lit[i];
        o[i * 4] = '\\';
        o[i * 4 + 1] = 'x';
        o[i * 4 + 2] = hex[c >> 4];
        o[i * 4 + 3] = hex[c & 15];
    }
    o[n * 4] = '\0';
    return o;
}

/* the context word behind a CLS_HIT_CTX id (its first type's list holds it) */
static const char *ctx_word_of(const struct cls_engine *e, size_t id)
{
    return e->ctx_words[id];
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void engine_destroy(struct cls_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_pats; i++)
        pcre2_code_free((pcre2_code *)e->pats[i].code);
    free(e->pats);
    for (size_t i = 0; i < e->n_customs; i++) {
        free(e->customs[i].name);
        pcre2_code_free((pcre2_code *)e->customs[i].code);
    }
    free(e->customs);
    for (size_t i = 0; i < e->n_dicts; i++)
        free(e->dicts[i].name);
    free(e->dicts);
    for (size_t i = 0; i < e->n_fps; i++) {
        free(e->fps[i].name);
        free(e->fps[i].hashes);
    }
    free(e->fps);
    hs_free_database((hs_database_t *)e->hsdb);
    free(e->ids);
    free(e->ctx_words);
    free(e);
}

static int cmp_cpattern(const void *a, const void *b)
{
    const struct cls_cpattern *x = a, *y = b;
    int ax = x->anchors != 0, ay = y->anchors != 0;
    if (ax != ay)
        return ay - ax;
    if (x->min_digits != y->min_digits)
        return x->min_digits < y->min_digits ? -1 : 1;
    return x->def < y->def ? -1 : (x->def > y->def);
}

static int build_patterns(struct cls_engine *e, char *err, size_t errlen)
{
    e->pats = calloc(cls_n_patterns, sizeof(*e->pats));
    if (!e->pats)
        return SGW_ENOMEM;
    for (size_t i = 0; i < cls_n_patterns; i++) {
        const struct cls_pattern_def *d = &cls_patterns[i];
        if (!(cls_types[d->type].pack & e->packs))
            continue;
        pcre2_code *c = compile_re(d->regex, cls_types[d->type].name, err, errlen);
        if (!c)
            return SGW_EINVAL;
        struct cls_cpattern *cp = &e->pats[e->n_pats];
        cp->def = d;
        cp->code = c;
        cp->anchors = d->anchors;
        cp->need_flags = d->need_flags;
        cp->any_flags = d->any_flags;
        cp->min_digits = d->min_digits;
        cp->min_upper = d->min_upper;
        cp->needctx = (d->pflags & CLS_PF_NEEDCTX) != 0;
        cp->type = d->type;
        e->n_pats++;
    }
    /* anchored patterns first, then the rest by ascending digit need, so the
       per-window gate loop can stop at the first pattern needing more digits */
    qsort(e->pats, e->n_pats, sizeof(*e->pats), cmp_cpattern);
    e->n_anchored = 0;
    while (e->n_anchored < e->n_pats && e->pats[e->n_anchored].anchors)
        e->n_anchored++;
    /* the gate sets (see struct cls_gates) */
    struct cls_gates *g = &e->gates;
    if (e->n_pats > CLS_MAX_PATS) {
        errf(err, errlen, "pattern table: more than %d patterns", CLS_MAX_PATS);
        return SGW_EINVAL;
    }
    for (size_t i = 0; i < e->n_pats; i++) {
        const struct cls_cpattern *p = &e->pats[i];
        size_t wd = i / 64;
        uint64_t bit = 1ull << (i % 64);
        if (p->min_digits >= CLS_GATE_DIGITS || p->min_upper >= CLS_GATE_UPPER) {
            errf(err, errlen, "pattern table: %s gate out of range", cls_types[p->type].name);
            return SGW_EINVAL;
        }
        for (size_t k = p->min_digits; k < CLS_GATE_DIGITS; k++)
            g->digits[k].w[wd] |= bit;
        for (size_t k = p->min_upper; k < CLS_GATE_UPPER; k++)
            g->upper[k].w[wd] |= bit;
        if (!p->anchors)
            g->unanchored.w[wd] |= bit;
        for (size_t a = 0; a < CLS_A__COUNT; a++)
            if (p->anchors & (1ull << a))
                g->anchor[a].w[wd] |= bit;
        /* a pattern passes when every flag byte passes need, and any when
           some byte meets one of its any_flags (or it has none): the any
           sets of the bytes are OR-ed, so a byte with no any_flags bits of
           the pattern contributes only when the pattern has none at all */
        for (unsigned b = 0; b < 4; b++) {
            uint32_t nb = (p->need_flags >> (8 * b)) & 0xff, ab = (p->any_flags >> (8 * b)) & 0xff;
            for (uint32_t v = 0; v < 256; v++) {
                if ((v & nb) == nb)
                    g->need[b][v].w[wd] |= bit;
                if (p->any_flags ? (v & ab) != 0 : 1)
                    g->any[b][v].w[wd] |= bit;
            }
        }
    }
    return SGW_OK;
}

static int build_customs(struct cls_engine *e, const struct cls_config *cfg, char *err, size_t errlen)
{
    if (cfg->n_regexes == 0)
        return SGW_OK;
    e->customs = calloc(cfg->n_regexes, sizeof(*e->customs));
    if (!e->customs)
        return SGW_ENOMEM;
    for (size_t i = 0; i < cfg->n_regexes; i++) {
        const struct cls_custom_regex *r = &cfg->regexes[i];
        if (!r->name || !r->name[0] || !r->pattern) {
            errf(err, errlen, "custom regex #%zu: name and pattern are required", i + 1);
            return SGW_EINVAL;
        }
        struct cls_custom *c = &e->customs[e->n_customs];
        c->validate = NULL;
        if (r->validator && r->validator[0]) {
            c->validate = cls_validator_find(r->validator);
            if (!c->validate) {
                errf(err, errlen, "regex '%s': unknown validator '%s'", r->name, r->validator);
                return SGW_EINVAL;
            }
        }
        c->code = compile_re(r->pattern, r->name, err, errlen);
        if (!c->code)
            return SGW_EINVAL;
        c->name = dupstr(r->name);
        e->n_customs++;
        if (!c->name)
            return SGW_ENOMEM;
    }
    return SGW_OK;
}

static int build_dicts_fps(struct cls_engine *e, const struct cls_config *cfg, char *err, size_t errlen)
{
    if (cfg->n_dicts) {
        e->dicts = calloc(cfg->n_dicts, sizeof(*e->dicts));
        if (!e->dicts)
            return SGW_ENOMEM;
        for (size_t i = 0; i < cfg->n_dicts; i++) {
            if (!cfg->dicts[i].name || !cfg->dicts[i].name[0]) {
                errf(err, errlen, "dictionary #%zu: name is required", i + 1);
                return SGW_EINVAL;
            }
            e->dicts[i].name = dupstr(cfg->dicts[i].name);
            e->n_dicts++;
            if (!e->dicts[i].name)
                return SGW_ENOMEM;
        }
    }
    if (cfg->n_fingerprints) {
        e->fps = calloc(cfg->n_fingerprints, sizeof(*e->fps));
        if (!e->fps)
            return SGW_ENOMEM;
        for (size_t i = 0; i < cfg->n_fingerprints; i++) {
            const struct cls_fingerprints *f = &cfg->fingerprints[i];
            if (!f->name || !f->name[0] || (f->n_hashes && !f->hashes)) {
                errf(err, errlen, "fingerprint set #%zu: name and hashes are required", i + 1);
                return SGW_EINVAL;
            }
            struct cls_fpset *s = &e->fps[i];
            e->n_fps++;
            s->name = dupstr(f->name);
            if (!s->name)
                return SGW_ENOMEM;
            memcpy(s->key, f->key, 32);
            if (f->n_hashes) {
                s->hashes = malloc(f->n_hashes * 32);
                if (!s->hashes)
                    return SGW_ENOMEM;
                memcpy(s->hashes, f->hashes, f->n_hashes * 32);
                qsort(s->hashes, f->n_hashes, 32, cmp_hash);
            }
            s->n = f->n_hashes;
        }
    }
    return SGW_OK;
}

/* One Hyperscan streaming database: literal anchors of the selected packs,
 * every dictionary term (caseless) and the prefilter form of each custom
 * regex. Ids index e->ids. */
static int build_hs(struct cls_engine *e, const struct cls_config *cfg, char *err, size_t errlen)
{
    size_t cap = cls_n_literals + cfg->n_regexes;
    for (size_t i = 0; i < cfg->n_dicts; i++)
        cap += cfg->dicts[i].n_terms;
    for (size_t t = 0; t < cls_n_types; t++)
        for (const char *const *w = cls_types[t].ctx_words; w && *w; w++)
            cap++;
    int rc = SGW_ENOMEM;
    char **expr = calloc(cap ? cap : 1, sizeof(*expr));
    unsigned *flags = calloc(cap ? cap : 1, sizeof(*flags));
    unsigned *ids = calloc(cap ? cap : 1, sizeof(*ids));
    e->ids = calloc(cap ? cap : 1, sizeof(*e->ids));
    e->ctx_words = calloc(cap ? cap : 1, sizeof(*e->ctx_words));
    size_t n = 0;
    if (!expr || !flags || !ids || !e->ids || !e->ctx_words)
        goto out;
    /* anchors used by at least one selected pattern */
    uint64_t used = 0;
    for (size_t i = 0; i < e->n_pats; i++)
        used |= e->pats[i].def->anchors;
    for (size_t i = 0; i < cls_n_literals; i++) {
        const struct cls_literal_def *l = &cls_literals[i];
        if (!(used & (1ull << l->anchor)))
            continue;
        expr[n] = hs_escape(l->lit, strlen(l->lit));
        if (!expr[n])
            goto out;
        flags[n] = l->caseless ? HS_FLAG_CASELESS : 0;
        ids[n] = (unsigned)n;
        e->ids[n] = (struct cls_hs_id){CLS_HIT_ANCHOR, l->anchor, l->right, (uint32_t)strlen(l->lit), 0, 0};
        n++;
    }
    for (size_t d = 0; d < cfg->n_dicts; d++) {
        for (size_t t = 0; t < cfg->dicts[d].n_terms; t++) {
            const char *term = cfg->dicts[d].terms[t];
            size_t tl = term ? strlen(term) : 0;
            if (tl == 0 || tl > 64) {
                errf(err, errlen, "dictionary '%s': term #%zu must be 1..64 bytes", cfg->dicts[d].name,
                     t + 1);
                rc = SGW_EINVAL;
                goto out;
            }
            expr[n] = hs_escape(term, tl);
            if (!expr[n])
                goto out;
            flags[n] = HS_FLAG_CASELESS;
            ids[n] = (unsigned)n;
            e->ids[n] = (struct cls_hs_id){CLS_HIT_DICT, 0, 1, (uint32_t)tl, (uint32_t)d, 0};
            n++;
        }
    }
    /* context words of types that need one: gates for their patterns */
    for (size_t t = 0; t < cls_n_types; t++) {
        int need = 0;
        for (size_t i = 0; i < e->n_pats; i++)
            need |= e->pats[i].def->type == t && (e->pats[i].def->pflags & CLS_PF_NEEDCTX);
        if (!need || !cls_types[t].ctx_words)
            continue;
        for (const char *const *w = cls_types[t].ctx_words; *w; w++) {
            size_t k = 0;
            for (; k < n; k++) /* a word shared by several types: one id */
                if (e->ids[k].kind == CLS_HIT_CTX && e->ids[k].len == strlen(*w) &&
                    strcmp(ctx_word_of(e, k), *w) == 0)
                    break;
            if (k < n) {
                e->ids[k].types |= 1ull << t;
                continue;
            }
            expr[n] = hs_escape(*w, strlen(*w));
            if (!expr[n])
                goto out;
            flags[n] = HS_FLAG_CASELESS;
            ids[n] = (unsigned)n;
            e->ids[n] = (struct cls_hs_id){CLS_HIT_CTX, 0, 0, (uint32_t)strlen(*w), (uint32_t)t, 1ull << t};
            e->ctx_words[n] = *w;
            n++;
        }
    }
    /* custom regexes: their required literal when there is one (the window
       then reaches CLS_CUSTOM_SPAN bytes both ways of it), else the
       prefilter form, which reports at the match's end */
    for (size_t r = 0; r < cfg->n_regexes; r++) {
        uint8_t lit[CLS_RELIT_MAX];
        int caseless = 0;
        size_t ll = cls_regex_literal(cfg->regexes[r].pattern, lit, sizeof(lit), &caseless);
        if (ll) {
            expr[n] = hs_escape((const char *)lit, ll);
            flags[n] = caseless ? HS_FLAG_CASELESS : 0;
            e->ids[n] = (struct cls_hs_id){CLS_HIT_CUSTOM, 0, CLS_CUSTOM_SPAN, (uint32_t)ll, (uint32_t)r, 0};
        } else {
            expr[n] = dupstr(cfg->regexes[r].pattern);
            flags[n] = HS_FLAG_PREFILTER;
            e->ids[n] = (struct cls_hs_id){CLS_HIT_CUSTOM, 0, 1, 0, (uint32_t)r, 0};
        }
        if (!expr[n])
            goto out;
        ids[n] = (unsigned)n;
        n++;
    }
    e->n_ids = n;
    if (n == 0) {
        rc = SGW_OK;
        goto out;
    }
    hs_compile_error_t *ce = NULL;
    hs_database_t *db = NULL;
    if (hs_compile_multi((const char *const *)expr, flags, ids, (unsigned)n, HS_MODE_STREAM, NULL, &db,
                         &ce) != HS_SUCCESS) {
        int at = ce ? ce->expression : -1;
        const char *what = "literal set";
        if (at >= 0 && (size_t)at < n && e->ids[at].kind == CLS_HIT_CUSTOM)
            what = cfg->regexes[e->ids[at].index].name;
        errf(err, errlen, "prefilter for %s: %s", what, ce ? ce->message : "compile failed");
        hs_free_compile_error(ce);
        rc = SGW_EINVAL;
        goto out;
    }
    e->hsdb = db;
    rc = SGW_OK;
out:
    if (expr)
        for (size_t i = 0; i < n; i++)
            free(expr[i]);
    free(expr);
    free(flags);
    free(ids);
    return rc;
}

int cls_engine_new(const struct cls_config *cfg, struct cls_engine **out, char *err, size_t errlen)
{
    static const struct cls_config empty = {0};
    if (!out)
        return SGW_EINVAL;
    *out = NULL;
    if (!cfg)
        cfg = &empty;
    if (err && errlen)
        err[0] = '\0';
    struct cls_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return SGW_ENOMEM;
    e->refs = 1;
    int rc = SGW_EINVAL;
    if (!cfg->packs) {
        e->packs = CLS_PACK_CORE | CLS_PACK_EU | CLS_PACK_WORLD | CLS_PACK_SECRETS;
    } else {
        for (size_t i = 0; i < cfg->n_packs; i++) {
            uint32_t b = cls_pack_bit(cfg->packs[i]);
            if (!b) {
                errf(err, errlen, "unknown classifier pack '%s' (known: pii-core, pii-eu, pii-world, secrets)",
                     cfg->packs[i] ? cfg->packs[i] : "(null)");
                goto fail;
            }
            e->packs |= b;
        }
    }
    if ((cfg->n_dicts && !cfg->dicts) || (cfg->n_regexes && !cfg->regexes) ||
        (cfg->n_fingerprints && !cfg->fingerprints)) {
        errf(err, errlen, "classifier config: counts without arrays");
        goto fail;
    }
    rc = build_patterns(e, err, errlen);
    if (rc != SGW_OK)
        goto fail;
    rc = build_customs(e, cfg, err, errlen);
    if (rc != SGW_OK)
        goto fail;
    rc = build_dicts_fps(e, cfg, err, errlen);
    if (rc != SGW_OK)
        goto fail;
    rc = build_hs(e, cfg, err, errlen);
    if (rc != SGW_OK)
        goto fail;
    e->simd = cls_simd_select(&e->trigger_bits);
    *out = e;
    return SGW_OK;
fail:
    if (rc == SGW_ENOMEM && err && errlen && !err[0])
        errf(err, errlen, "out of memory compiling the classifier engine");
    engine_destroy(e);
    return rc;
}

struct cls_engine *cls_engine_ref(struct cls_engine *e)
{
    if (e)
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    return e;
}

void cls_engine_unref(struct cls_engine *e)
{
    if (e && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
        engine_destroy(e);
}

int cls_worker_new(struct cls_engine *e, struct cls_worker **out)
{
    if (!e || !out)
        return SGW_EINVAL;
    *out = NULL;
    struct cls_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return SGW_ENOMEM;
    if (e->hsdb) {
        hs_scratch_t *s = NULL;
        if (hs_alloc_scratch((const hs_database_t *)e->hsdb, &s) != HS_SUCCESS) {
            free(w);
            return SGW_ENOMEM;
        }
        w->scratch = s;
    }
    w->md = pcre2_match_data_create(16, NULL);
    if (!w->md) {
        hs_free_scratch((hs_scratch_t *)w->scratch);
        free(w);
        return SGW_ENOMEM;
    }
    w->e = cls_engine_ref(e);
    *out = w;
    return SGW_OK;
}

void cls_worker_free(struct cls_worker *w)
{
    if (!w)
        return;
    cls_stream_drop_spare(w);
    cls_scanner_drop_spare(w);
    hs_free_scratch((hs_scratch_t *)w->scratch);
    pcre2_match_data_free((pcre2_match_data *)w->md);
    cls_engine_unref(w->e);
    free(w);
}
