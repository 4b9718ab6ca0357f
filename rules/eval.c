/* rules/eval.c — the evaluator: one decision against one consistent snapshot
 * of the compiled store, first match wins, default from the policy, then the
 * private-range guard. Any error is a deny with rule_id "error". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"
#include "store/store.h"

struct rl_engine {
    struct sto_env *env; /* owned */
};

/* The decision cache. A decision is a pure function of the request and of
 * the store snapshot, and LMDB names every snapshot by its transaction id: a
 * result computed on snapshot T stays the answer for the same request as long
 * as T is still the newest committed transaction, which sto_env_last_txnid()
 * tells without taking a reader slot. A compile into the store commits a new
 * transaction and so retires every cached result at once. Requests repeat a
 * lot on an egress gateway (the same SDK calling the same endpoint), and a hit
 * replaces five B-tree lookups and the reason's formatting (~1.5 µs) by a
 * hash and a memcmp. Two-way set-associative (a miss replaces the way used
 * less recently), per reader (so per worker thread, no lock, ~70 KB); keys
 * are the request's raw fields, so a hit means the very same request; store
 * errors are never cached. */
#define DC_SETS 64
#define DC_SLOTS (2 * DC_SETS)
#define DC_KEY_MAX 256

struct dc_entry {
    uint64_t txnid; /* 0: empty */
    uint64_t hash;
    uint16_t klen;
    uint8_t key[DC_KEY_MAX];
    struct rl_decision dec;
};

struct rl_reader {
    struct rl_engine *eng; /* borrowed; must outlive the reader */
    struct sto_txn *txn;   /* owned; reset between decisions */
    int cache_off;
    uint64_t snap; /* snapshot id of the last decide(), 0 when none */
    uint64_t max_ver; /* the newest policy version a decision has used */
    uint64_t hits, misses;
    uint8_t dc_old[DC_SETS]; /* per set: the way to replace next */
    struct dc_entry dc[DC_SLOTS];
};

const char *rl_verdict_str(enum rl_verdict v)
{
    switch (v) {
    case RL_DENY: return "deny";
    case RL_ALLOW: return "allow";
    case RL_NEED_ADDR: return "need-addr";
    default: return "unknown";
    }
}

static int check_header(struct sto_txn *t, uint64_t *version, uint8_t *dflt, const char **why,
                        const uint8_t **hdr)
{
    struct sgw_slice v;
    int rc = sto_get(t, RL_DB_META, RL_META_HEADER, strlen(RL_META_HEADER), &v);
    if (rc != SGW_OK) {
        *why = "not a sovgw policy store (no header)";
        return rc == SGW_ENOTFOUND ? SGW_EPROTO : rc;
    }
    const uint8_t *h = (const uint8_t *)v.ptr;
    if (v.len != RL_HEADER_LEN || rl_rd32(h) != RL_FORMAT_VERSION) {
        *why = "unknown store format version (recompile the policy with this sovgw)";
        return SGW_EPROTO;
    }
    *version = rl_rd64(h + 4);
    *dflt = h[12];
    if (hdr)
        *hdr = h;
    if (*dflt > RL_ACT_ALLOW) {
        *why = "corrupt header";
        return SGW_EPROTO;
    }
    return SGW_OK;
}

int rl_engine_open(const char *store_dir, struct rl_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    struct rl_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "store %s: out of memory", store_dir);
        return SGW_ERR;
    }
    struct sto_env_opts o = {.flags = STO_ENV_RDONLY, .db_names = rl_db_names,
                             .n_dbs = RL_DB__COUNT};
    int rc = sto_env_open(store_dir, &o, &e->env, err, errlen);
    if (rc != SGW_OK) {
        if (rc == SGW_ENOTFOUND && strstr(err, "database"))
            snprintf(err, errlen, "store %s: not a sovgw policy store (compile a policy into it "
                                  "with 'sovgw policy compile')",
                     store_dir);
        free(e);
        return SGW_ERR;
    }
    struct sto_txn *t = NULL;
    rc = sto_txn_begin_read(e->env, &t);
    uint64_t ver = 0;
    uint8_t d = 0;
    const char *why = "cannot start a read transaction";
    if (rc == SGW_OK)
        rc = check_header(t, &ver, &d, &why, NULL);
    sto_txn_abort(t);
    if (rc != SGW_OK) {
        snprintf(err, errlen, "store %s: %s", store_dir, why);
        sto_env_free(e->env);
        free(e);
        return SGW_ERR;
    }
    *out = e;
    return SGW_OK;
}

void rl_engine_free(struct rl_engine *eng)
{
    if (!eng)
        return;
    sto_env_free(eng->env);
    free(eng);
}

uint64_t rl_engine_policy_version(struct rl_engine *eng)
{
    struct sto_txn *t = NULL;
    uint64_t ver = 0;
    uint8_t d;
    const char *why;
    if (!eng || sto_txn_begin_read(eng->env, &t) != SGW_OK)
        return 0;
    if (check_header(t, &ver, &d, &why, NULL) != SGW_OK)
        ver = 0;
    sto_txn_abort(t);
    return ver;
}

int rl_reader_new(struct rl_engine *eng, struct rl_reader **out)
{
    *out = NULL;
    if (!eng)
        return SGW_EINVAL;
    struct rl_reader *rd = calloc(1, sizeof *rd);
    if (!rd)
        return SGW_ENOMEM;
    int rc = sto_txn_begin_read(eng->env, &rd->txn);
    if (rc != SGW_OK) {
        free(rd);
        return rc;
    }
    sto_txn_reset(rd->txn); /* an idle reader pins no snapshot */
    rd->eng = eng;
    *out = rd;
    return SGW_OK;
}

void rl_reader_set_cache(struct rl_reader *rd, int on)
{
    if (!rd)
        return;
    rd->cache_off = !on;
    for (size_t i = 0; i < DC_SLOTS; i++)
        rd->dc[i].txnid = 0;
}

void rl_reader_cache_stats(const struct rl_reader *rd, uint64_t *hits, uint64_t *misses)
{
    *hits = rd ? rd->hits : 0;
    *misses = rd ? rd->misses : 0;
}

void rl_reader_free(struct rl_reader *rd)
{
    if (!rd)
        return;
    sto_txn_abort(rd->txn);
    free(rd);
}

/* ---- private ranges ---- */

struct prange {
    uint8_t net[16];
    uint8_t plen;
    const char *name;
};

static const struct prange k_priv4[] = {
    {{0, 0, 0, 0}, 8, "this-network 0.0.0.0/8"},
    {{10, 0, 0, 0}, 8, "RFC 1918 10.0.0.0/8"},
    {{100, 64, 0, 0}, 10, "CGNAT 100.64.0.0/10"},
    {{127, 0, 0, 0}, 8, "loopback 127.0.0.0/8"},
    {{169, 254, 0, 0}, 16, "link-local 169.254.0.0/16, incl. cloud metadata"},
    {{172, 16, 0, 0}, 12, "RFC 1918 172.16.0.0/12"},
    {{192, 0, 0, 0}, 24, "IETF protocol assignments 192.0.0.0/24"},
    {{192, 168, 0, 0}, 16, "RFC 1918 192.168.0.0/16"},
    {{198, 18, 0, 0}, 15, "benchmarking 198.18.0.0/15"},
    {{224, 0, 0, 0}, 4, "multicast 224.0.0.0/4"},
    {{240, 0, 0, 0}, 4, "reserved 240.0.0.0/4, incl. broadcast"},
};

static const struct prange k_priv6[] = {
    {{0}, 128, "unspecified ::"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback ::1"},
    {{0}, 96, "IPv4-compatible ::/96"},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, "local-use NAT64 64:ff9b:1::/48"},
    {{0x01, 0x00}, 64, "discard-only 100::/64"},
    {{0xfc}, 7, "unique local fc00::/7"},
    {{0xfe, 0x80}, 10, "link-local fe80::/10"},
    {{0xfe, 0xc0}, 10, "site-local fec0::/10"},
    {{0xff}, 8, "multicast ff00::/8"},
};

static int in_range(const struct prange *r, uint8_t fam, const uint8_t *a)
{
    struct rl_cidr c = {.family = fam, .plen = r->plen};
    memcpy(c.addr, r->net, 16);
    return rl_cidr_contains(&c, fam, a);
}

static const char *private4(const uint8_t *a)
{
    for (size_t i = 0; i < SGW_ARRAY_LEN(k_priv4); i++)
        if (in_range(&k_priv4[i], 4, a))
            return k_priv4[i].name;
    return NULL;
}

/* Names the private / non-global range holding addr, or NULL when public.
 * IPv6 forms that embed IPv4 (NAT64, 6to4, Teredo) are judged by the
 * embedded address. */
static const char *private_range(uint8_t fam, const uint8_t *a)
{
    if (fam == 4)
        return private4(a);
    for (size_t i = 0; i < SGW_ARRAY_LEN(k_priv6); i++)
        if (in_range(&k_priv6[i], 6, a))
            return k_priv6[i].name;
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    if (!memcmp(a, nat64, 12) && private4(a + 12))
        return "NAT64 64:ff9b::/96 embedding a private IPv4 address";
    if (a[0] == 0x20 && a[1] == 0x02 && private4(a + 2))
        return "6to4 2002::/16 embedding a private IPv4 address";
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
        uint8_t client[4];
        for (int i = 0; i < 4; i++)
            client[i] = (uint8_t)~a[12 + i];
        if (private4(a + 4) || private4(client))
            return "Teredo 2001::/32 embedding a private IPv4 address";
    }
    return NULL;
}

/* ---- one decision ---- */

enum mstate {
    M_NO = 0,
    M_YES,
    M_MAYBE, /* everything matches but a cidr condition, and no address yet */
};

struct dctx {
    struct sto_txn *t;
    const struct rl_request *req;
    uint32_t mbit;
    const char *path;  /* never NULL */
    size_t path_len;
    int path_ok;       /* request path is canonical */
    int have_addr;
    uint8_t fam;
    uint8_t addr[16];
    /* best so far */
    uint32_t best;
    enum mstate state;
    uint8_t action;
    int cidr_contains; /* the best rule names a cidr containing addr */
    char id[64];
    /* what matched, formatted only once at the end: kind + text */
    const char *why_kind;
    char why_text[64];
    size_t why_len;
    int err;
};

static int path_canonical(const char *p, size_t n)
{
    size_t end = 0;
    while (end < n && p[end] != '?')
        end++;
    for (size_t i = 0; i < end; i++) {
        char ch = p[i];
        if (ch == '\\' || ch == 0)
            return 0;
        if (ch == '%' && i + 2 < end) {
            char a = p[i + 1], b = (char)(p[i + 2] | 0x20);
            if ((a == '2' && (b == 'e' || b == 'f')) || (a == '5' && b == 'c'))
                return 0;
        }
        if (ch == '/' && i + 1 < end && p[i + 1] == '.') {
            size_t j = i + 1;
            while (j < end && p[j] == '.')
                j++;
            if (j - i - 1 <= 2 && (j == end || p[j] == '/'))
                return 0;
        }
    }
    return 1;
}

/* Decodes rule idx and matches it. Sets d->err on a missing/corrupt record. */
static enum mstate match_rule(struct dctx *d, uint32_t idx, uint8_t *action, char *id,
                              int *contains)
{
    uint8_t k[4];
    rl_be32(k, idx);
    struct sgw_slice v;
    if (sto_get(d->t, RL_DB_RULES, k, 4, &v) != SGW_OK) {
        d->err = 1;
        return M_NO;
    }
    struct sgw_cursor c;
    sgw_cursor_init(&c, v.ptr, v.len);
    uint8_t act = sgw_cursor_u8(&c);
    uint8_t flags = sgw_cursor_u8(&c);
    uint8_t idl = sgw_cursor_u8(&c);
    const uint8_t *idp = sgw_cursor_take(&c, idl);
    (void)sgw_cursor_be32(&c); /* source line */
    if (c.err || act > RL_ACT_ALLOW || idl == 0 || idl > RL_MAX_ID) {
        d->err = 1;
        return M_NO;
    }
    const struct rl_request *rq = d->req;
    if (flags & RL_RF_METHOD) {
        uint32_t m = sgw_cursor_be32(&c);
        if (!(m & d->mbit))
            return M_NO;
    }
    if (flags & RL_RF_PORT) {
        uint16_t n = sgw_cursor_be16(&c);
        int hit = 0;
        for (uint16_t i = 0; i < n && !c.err; i++) {
            uint16_t lo = sgw_cursor_be16(&c), hi = sgw_cursor_be16(&c);
            if (rq->port >= lo && rq->port <= hi) {
                hit = 1;
                break;
            }
        }
        if (c.err) {
            d->err = 1;
            return M_NO;
        }
        if (!hit)
            return M_NO;
    }
    /* the port scan may stop mid-list: continue from a cursor positioned
       past the method and port sections */
    struct sgw_cursor c2;
    sgw_cursor_init(&c2, v.ptr, v.len);
    sgw_cursor_take(&c2, 3u + idl + 4u);
    if (flags & RL_RF_METHOD)
        sgw_cursor_be32(&c2);
    if (flags & RL_RF_PORT) {
        uint16_t n = sgw_cursor_be16(&c2);
        sgw_cursor_take(&c2, (size_t)n * 4u);
    }
    if (flags & RL_RF_PATH) {
        uint16_t n = sgw_cursor_be16(&c2);
        int hit = 0;
        for (uint16_t i = 0; i < n && !c2.err; i++) {
            uint16_t l = sgw_cursor_be16(&c2);
            const uint8_t *pp = sgw_cursor_take(&c2, l);
            if (pp && !hit && d->path_ok && l <= d->path_len && !memcmp(pp, d->path, l))
                hit = 1;
        }
        if (c2.err) {
            d->err = 1;
            return M_NO;
        }
        /* a non-canonical path cannot be compared safely: deny rules match
           it, allow rules do not (fail closed) */
        if (!d->path_ok && d->path_len > 0)
            hit = act == RL_ACT_DENY;
        if (!hit)
            return M_NO;
    }
    int cont = 0;
    enum mstate st = M_YES;
    if (flags & RL_RF_CIDR) {
        uint16_t n = sgw_cursor_be16(&c2);
        for (uint16_t i = 0; i < n && !c2.err; i++) {
            struct rl_cidr ci = {0};
            ci.family = sgw_cursor_u8(&c2);
            ci.plen = sgw_cursor_u8(&c2);
            size_t an = ci.family == 4 ? 4u : 16u;
            const uint8_t *ap = sgw_cursor_take(&c2, an);
            if (!ap || (ci.family != 4 && ci.family != 6) || ci.plen > an * 8) {
                d->err = 1;
                return M_NO;
            }
            memcpy(ci.addr, ap, an);
            if (d->have_addr && !cont && rl_cidr_contains(&ci, d->fam, d->addr))
                cont = 1;
        }
        if (c2.err) {
            d->err = 1;
            return M_NO;
        }
        if (!d->have_addr)
            st = M_MAYBE;
        else if (!cont)
            return M_NO;
    }
    if (c2.err) {
        d->err = 1;
        return M_NO;
    }
    *action = act;
    memcpy(id, idp, idl);
    id[idl] = 0;
    *contains = cont;
    return st;
}

/* Walks one ascending list of rule indices up to the current best; the first
 * match in it (if lower than the best) becomes the best. src_kind is static;
 * src is copied when it wins, so callers may reuse their buffer. */
static void eval_list(struct dctx *d, struct sgw_slice list, const char *src_kind,
                      const char *src, size_t src_len)
{
    if (list.len % 4) {
        d->err = 1;
        return;
    }
    const uint8_t *p = (const uint8_t *)list.ptr;
    for (size_t i = 0; i < list.len / 4 && !d->err; i++) {
        uint32_t idx = rl_rd32(p + 4 * i);
        if (idx >= d->best)
            return;
        uint8_t act;
        char id[RL_MAX_ID + 1];
        int cont;
        enum mstate st = match_rule(d, idx, &act, id, &cont);
        if (st == M_NO)
            continue;
        d->best = idx;
        d->state = st;
        d->action = act;
        d->cidr_contains = cont;
        memcpy(d->id, id, sizeof id);
        d->why_kind = src_kind;
        d->why_len = src_len < sizeof d->why_text ? src_len : sizeof d->why_text - 1;
        memcpy(d->why_text, src, d->why_len);
        return;
    }
}

static void finish(struct rl_decision *out, enum rl_verdict v, const char *id, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
static void finish(struct rl_decision *out, enum rl_verdict v, const char *id, const char *fmt,
                   ...)
{
    out->verdict = v;
    snprintf(out->rule_id, sizeof out->rule_id, "%s", id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

static int addr_of(const struct sockaddr *sa, uint8_t *fam, uint8_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in s4;
        memcpy(&s4, sa, sizeof s4);
        memcpy(a, &s4.sin_addr, 4);
        *fam = 4;
        return 1;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 s6;
        memcpy(&s6, sa, sizeof s6);
        memcpy(a, &s6.sin6_addr, 16);
        *fam = 6;
        if (!memcmp(a, mapped, 12)) {
            memmove(a, a + 12, 4);
            *fam = 4;
        }
        return 1;
    }
    return 0;
}

static void dc_put(uint8_t *k, size_t *o, const void *p, size_t n)
{
    memcpy(k + *o, p, n);
    *o += n;
}

/* The cache key: every field rl_decide reads, raw. 0 when the request does
 * not fit (it is then decided without the cache). */
static size_t dc_key(const struct rl_request *req, uint8_t k[DC_KEY_MAX])
{
    size_t hl = req->host ? req->host_len : 0, ml = req->method ? req->method_len : 0;
    size_t pl = req->path ? req->path_len : 0;
    if (ml > 32 || hl > DC_KEY_MAX || pl > DC_KEY_MAX ||
        2 + 1 + ml + 2 + 16 + 2 + hl + pl > DC_KEY_MAX)
        return 0;
    size_t o = 0;
    uint8_t b[4] = {(uint8_t)(req->port >> 8), (uint8_t)req->port, (uint8_t)ml, 0};
    dc_put(k, &o, b, 3);
    if (ml)
        dc_put(k, &o, req->method, ml);
    uint8_t fam = 0, a[16] = {0};
    if (req->addr && !addr_of(req->addr, &fam, a))
        return 0;
    b[0] = (uint8_t)((req->addr ? 1 : 0) | (req->addr_pinned ? 2 : 0));
    b[1] = fam;
    dc_put(k, &o, b, 2);
    if (req->addr)
        dc_put(k, &o, a, fam == 4 ? 4u : 16u);
    b[0] = (uint8_t)(hl >> 8);
    b[1] = (uint8_t)hl;
    dc_put(k, &o, b, 2);
    if (hl)
        dc_put(k, &o, req->host, hl);
    if (pl)
        dc_put(k, &o, req->path, pl);
    return o;
}

static uint64_t dc_hash(const uint8_t *k, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, k + i, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t t = 0;
    memcpy(&t, k + i, n - i);
    h = (h ^ t) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static void decide(struct rl_reader *rd, const struct rl_request *req, struct rl_decision *out);

void rl_decide(struct rl_reader *rd, const struct rl_request *req, struct rl_decision *out)
{
    uint8_t key[DC_KEY_MAX];
    size_t kl = rd && req && !rd->cache_off ? dc_key(req, key) : 0;
    if (kl == 0) {
        decide(rd, req, out);
        return;
    }
    uint64_t h = dc_hash(key, kl);
    size_t set = (size_t)(h % DC_SETS);
    struct dc_entry *way = &rd->dc[2 * set];
    uint64_t last = sto_env_last_txnid(rd->eng->env);
    for (unsigned i = 0; i < 2; i++) {
        struct dc_entry *x = &way[i];
        if (x->txnid != 0 && x->txnid == last && x->hash == h && x->klen == kl &&
            !memcmp(x->key, key, kl)) {
            *out = x->dec;
            out->from_cache = 1;
            rd->dc_old[set] = (uint8_t)!i;
            rd->hits++;
            return;
        }
    }
    rd->misses++;
    unsigned victim = rd->dc_old[set];
    struct dc_entry *e = &way[victim];
    decide(rd, req, out);
    /* the snapshot decide() read, recorded before its reset */
    uint64_t seen = rd->snap;
    if (seen != 0 && strcmp(out->rule_id, "error") != 0) {
        e->txnid = seen;
        e->hash = h;
        e->klen = (uint16_t)kl;
        memcpy(e->key, key, kl);
        e->dec = *out;
        rd->dc_old[set] = (uint8_t)!victim;
    }
}

static void decide(struct rl_reader *rd, const struct rl_request *req, struct rl_decision *out)
{
    static const char k_err_reason[] = "policy store could not be read";
    memset(out, 0, sizeof *out);
    out->verdict = RL_DENY;
    memcpy(out->rule_id, "error", 6);
    memcpy(out->reason, k_err_reason, sizeof k_err_reason);
    if (!rd || !req)
        return;
    rd->snap = 0;
    uint64_t ver = 0;
    uint8_t dflt = 0;
    const char *why = NULL;
    const uint8_t *hdr = NULL;
    /* A read transaction may begin on an older snapshot than the one
       before it: LMDB takes the last committed txnid, then that txn's
       meta page, and a reader descheduled between the two can have read
       the next commit's meta page already, which the writer writes before
       it publishes the txnid (seen under load: version 3, then 2). A
       reader's decisions do not go back: it renews until the snapshot
       has caught up (a bounded number of times: a store that really went
       back is then what it is). */
    int hrc = SGW_OK;
    for (int tries = 0; tries < 1000; tries++) {
        if (tries)
            sched_yield();
        if (sto_txn_renew(rd->txn) != SGW_OK)
            return;
        hrc = check_header(rd->txn, &ver, &dflt, &why, &hdr);
        if (hrc != SGW_OK || ver >= rd->max_ver)
            break;
    }
    rd->snap = sto_txn_id(rd->txn);
    struct dctx d = {.t = rd->txn, .req = req, .best = UINT32_MAX};
    if (hrc != SGW_OK) {
        finish(out, RL_DENY, "error", "policy store: %s", why);
        goto out;
    }
    rd->max_ver = ver;
    out->policy_version = ver;

    /* normalise the host: lowercase, one trailing dot stripped */
    char host[RL_MAX_HOST + 2];
    size_t hn = req->host_len;
    if (hn > 0 && req->host && req->host[hn - 1] == '.')
        hn--;
    if (!req->host || hn == 0 || hn > RL_MAX_HOST) {
        finish(out, RL_DENY, "default", "host name is missing or too long");
        goto out;
    }
    int has_colon = 0;
    for (size_t i = 0; i < hn; i++) {
        unsigned char ch = (unsigned char)req->host[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch + 32);
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
              ch == '.' || ch == ':')) {
            finish(out, RL_DENY, "default", "host name has invalid characters");
            goto out;
        }
        has_colon |= ch == ':';
        host[i] = (char)ch;
    }
    host[hn] = 0;
    d.mbit = req->method ? rl_method_bit(req->method, req->method_len) : 0;
    d.path = req->path ? req->path : "";
    d.path_len = req->path ? req->path_len : 0;
    d.path_ok = path_canonical(d.path, d.path_len);
    if (req->addr) {
        if (!addr_of(req->addr, &d.fam, d.addr)) {
            finish(out, RL_DENY, "default", "destination address family is not IPv4 or IPv6");
            goto out;
        }
        d.have_addr = 1;
    }

    /* candidates: exact host, every wildcard suffix, rules without host */
    struct sgw_slice list;
    char key[RL_MAX_HOST + 4];
    if (!has_colon) {
        size_t kl = rl_host_key(host, hn, 0, key, sizeof key);
        if (kl == 0 || host[0] == '.' || host[hn - 1] == '.' || strstr(host, "..")) {
            finish(out, RL_DENY, "default", "host name has an empty label");
            goto out;
        }
        int rc = sto_get(d.t, RL_DB_HOSTS, key, kl, &list);
        if (rc == SGW_OK)
            eval_list(&d, list, "host ", host, hn);
        else if (rc != SGW_ENOTFOUND)
            d.err = 1;
        /* wildcard keys are the reversed key cut after each label, plus '*';
           only depths (label counts) that some wildcard has are looked up */
        const uint8_t *wild = hdr + RL_HDR_WILD;
        unsigned depth = 0;
        for (size_t i = 0; i + 1 < kl && !d.err; i++) {
            if (key[i] != '.')
                continue;
            depth++;
            if (depth >= 128 || !(wild[depth / 8] & (1u << (depth % 8))))
                continue;
            char save = key[i + 1];
            key[i + 1] = '*';
            rc = sto_get(d.t, RL_DB_HOSTS, key, i + 2, &list);
            key[i + 1] = save;
            if (rc == SGW_OK) {
                /* the suffix is the last (i+1) bytes of host, minus its dot */
                size_t sl = i;
                eval_list(&d, list, "host *.", host + hn - sl, sl);
            } else if (rc != SGW_ENOTFOUND) {
                d.err = 1;
            }
        }
    }
    if (!d.err) {
        int rc = sto_get(d.t, RL_DB_META, RL_META_NOHOST, strlen(RL_META_NOHOST), &list);
        if (rc == SGW_OK)
            eval_list(&d, list, "any host", "", 0);
        else
            d.err = 1;
    }
    if (!d.err && d.have_addr) {
        /* cidr-only rules: one lookup per prefix length in use */
        unsigned maxp = d.fam == 4 ? 32u : 128u, base = d.fam == 4 ? 0u : 40u;
        const uint8_t *bits = hdr + RL_HDR_PLENS;
        for (unsigned p = 0; p <= maxp && !d.err; p++) {
            unsigned bit = base + p;
            if (!(bits[bit / 8] & (1u << (bit % 8))))
                continue;
            struct rl_cidr ci = {.family = d.fam, .plen = (uint8_t)p};
            size_t an = d.fam == 4 ? 4u : 16u;
            memcpy(ci.addr, d.addr, an);
            for (unsigned b = 0; b < an; b++) {
                unsigned bb = b * 8;
                if (bb >= p)
                    ci.addr[b] = 0;
                else if (p - bb < 8)
                    ci.addr[b] &= (uint8_t)(0xffu << (8 - (p - bb)));
            }
            uint8_t ck[18] = {d.fam, (uint8_t)p};
            memcpy(ck + 2, ci.addr, an);
            int rc = sto_get(d.t, RL_DB_CIDRS, ck, 2 + an, &list);
            if (rc == SGW_OK) {
                char cs[64];
                rl_cidr_format(&ci, cs, sizeof cs);
                eval_list(&d, list, "cidr ", cs, strlen(cs));
            } else if (rc != SGW_ENOTFOUND) {
                d.err = 1;
            }
        }
    } else if (!d.err) {
        int rc = sto_get(d.t, RL_DB_META, RL_META_CIDRONLY, strlen(RL_META_CIDRONLY), &list);
        if (rc == SGW_OK)
            eval_list(&d, list, "cidr (address needed)", "", 0);
        else
            d.err = 1;
    }
    if (d.err) {
        finish(out, RL_DENY, "error", "policy store could not be read (corrupt or missing record)");
        goto out;
    }

    /* verdict */
    int allow;
    const char *id;
    if (d.best == UINT32_MAX) {
        allow = dflt == RL_ACT_ALLOW;
        id = "default";
        if (!allow) {
            finish(out, RL_DENY, id, "no rule matched; default deny");
            goto out;
        }
    } else {
        if (d.state == M_MAYBE) {
            finish(out, RL_NEED_ADDR, d.id, "rule %s has a cidr condition: address needed", d.id);
            goto out;
        }
        allow = d.action == RL_ACT_ALLOW;
        id = d.id;
        if (!allow) {
            finish(out, RL_DENY, id, "rule %s matched %s%.*s", d.id, d.why_kind, (int)d.why_len,
                   d.why_text);
            goto out;
        }
    }
    if (!d.have_addr) {
        finish(out, RL_NEED_ADDR, id, "allowed by %s pending the private-range check: address "
                                     "needed",
               id);
        goto out;
    }
    const char *priv = private_range(d.fam, d.addr);
    if (priv && !req->addr_pinned && !(d.best != UINT32_MAX && d.cidr_contains)) {
        finish(out, RL_DENY, id, "destination address is in a private range (%s)", priv);
        goto out;
    }
    if (d.best == UINT32_MAX)
        finish(out, RL_ALLOW, id, "no rule matched; default allow");
    else
        finish(out, RL_ALLOW, id, "rule %s matched %s%.*s", d.id, d.why_kind, (int)d.why_len,
               d.why_text);
out:
    sto_txn_reset(rd->txn);
}
