/* rules/compile.c — writes a validated policy into the LMDB store, replacing
 * the previous one in ONE write transaction (readers switch atomically), and
 * the rl_policy_compile_* entry points. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/internal.h"
#include "store/store.h"

const char *const rl_db_names[RL_DB__COUNT] = {"meta", "hosts", "cidrs", "rules"};

/* A growable byte buffer for one record. */
struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
};

static void wb_put(struct wbuf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n)
            nc *= 2;
        uint8_t *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void wb_u8(struct wbuf *b, uint8_t v)
{
    wb_put(b, &v, 1);
}

static void wb_u16(struct wbuf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    wb_put(b, x, 2);
}

static void wb_u32(struct wbuf *b, uint32_t v)
{
    uint8_t x[4];
    rl_be32(x, v);
    wb_put(b, x, 4);
}

static void encode_rule(const struct rl_rule *r, struct wbuf *b)
{
    uint8_t flags = 0;
    if (r->n_hosts)
        flags |= RL_RF_HOST;
    if (r->n_ports)
        flags |= RL_RF_PORT;
    if (r->methods)
        flags |= RL_RF_METHOD;
    if (r->n_paths)
        flags |= RL_RF_PATH;
    if (r->n_cidrs)
        flags |= RL_RF_CIDR;
    size_t idl = strlen(r->id);
    wb_u8(b, (uint8_t)r->action);
    wb_u8(b, flags);
    wb_u8(b, (uint8_t)idl);
    wb_put(b, r->id, idl);
    wb_u32(b, r->line);
    if (flags & RL_RF_METHOD)
        wb_u32(b, r->methods);
    if (flags & RL_RF_PORT) {
        wb_u16(b, (uint16_t)r->n_ports);
        for (size_t i = 0; i < r->n_ports; i++) {
            wb_u16(b, r->ports[i].lo);
            wb_u16(b, r->ports[i].hi);
        }
    }
    if (flags & RL_RF_PATH) {
        wb_u16(b, (uint16_t)r->n_paths);
        for (size_t i = 0; i < r->n_paths; i++) {
            size_t l = strlen(r->paths[i]);
            wb_u16(b, (uint16_t)l);
            wb_put(b, r->paths[i], l);
        }
    }
    if (flags & RL_RF_CIDR) {
        wb_u16(b, (uint16_t)r->n_cidrs);
        for (size_t i = 0; i < r->n_cidrs; i++) {
            const struct rl_cidr *c = &r->cidrs[i];
            wb_u8(b, c->family);
            wb_u8(b, c->plen);
            wb_put(b, c->addr, c->family == 4 ? 4u : 16u);
        }
    }
}

/* (key, rule) pairs for the hosts and cidrs databases, sorted before a bulk
 * append; keys live in one pool. */
struct kent {
    size_t off;
    uint32_t len;
    uint32_t rule;
};

struct klist {
    struct kent *e;
    size_t n, cap;
    struct wbuf pool;
};

static int kl_add(struct klist *l, const void *key, size_t klen, uint32_t rule)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 1024;
        struct kent *ne = realloc(l->e, nc * sizeof *ne);
        if (!ne)
            return SGW_ENOMEM;
        l->e = ne;
        l->cap = nc;
    }
    l->e[l->n].off = l->pool.len;
    l->e[l->n].len = (uint32_t)klen;
    l->e[l->n].rule = rule;
    wb_put(&l->pool, key, klen);
    if (l->pool.oom)
        return SGW_ENOMEM;
    l->n++;
    return SGW_OK;
}

static int kent_cmp(const void *a, const void *b, void *arg)
{
    const struct kent *x = a, *y = b;
    const uint8_t *pool = arg;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(pool + x->off, pool + y->off, m);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Sorts and writes: one key per distinct key, value = ascending unique rule
 * indices (u32 BE). */
static int kl_write(struct klist *l, struct sto_txn *t, unsigned db)
{
    if (l->n == 0)
        return SGW_OK;
    qsort_r(l->e, l->n, sizeof *l->e, kent_cmp, l->pool.p);
    struct wbuf v = {0};
    int rc = SGW_OK;
    size_t i = 0;
    while (i < l->n && rc == SGW_OK) {
        size_t j = i;
        v.len = 0;
        uint32_t last = 0;
        while (j < l->n && l->e[j].len == l->e[i].len &&
               !memcmp(l->pool.p + l->e[j].off, l->pool.p + l->e[i].off, l->e[i].len)) {
            if (j == i || l->e[j].rule != last)
                wb_u32(&v, l->e[j].rule);
            last = l->e[j].rule;
            j++;
        }
        if (v.oom)
            rc = SGW_ENOMEM;
        else
            rc = sto_put(t, db, l->pool.p + l->e[i].off, l->e[i].len, v.p, v.len, STO_PUT_APPEND);
        i = j;
    }
    free(v.p);
    return rc;
}

static void kl_free(struct klist *l)
{
    free(l->e);
    free(l->pool.p);
}

static int put_meta(struct sto_txn *t, const char *k, const void *v, size_t n)
{
    /* an empty list is stored as a zero-length value: sto_put allows it */
    return sto_put(t, RL_DB_META, k, strlen(k), v, n, 0);
}

int rl_store_write(const struct rl_policy *p, const char *src, size_t srclen, const char *dir,
                   uint64_t *version, FILE *errs)
{
    int rc = SGW_EIO;
    char err[512] = "";
    struct sto_env *env = NULL;
    struct sto_txn *t = NULL;
    struct klist hosts = {0}, cidrs = {0};
    struct wbuf rec = {0}, nohost = {0}, cidronly = {0};
    uint8_t plens[5 + 17] = {0}, wild[16] = {0};
    const char *what = "cannot write the store";

    struct sto_env_opts o = {.flags = STO_ENV_CREATE, .db_names = rl_db_names,
                             .n_dbs = RL_DB__COUNT};
    rc = sto_env_open(dir, &o, &env, err, sizeof err);
    if (rc != SGW_OK) {
        if (errs)
            fprintf(errs, "%s\n", err);
        return rc == SGW_EINVAL ? SGW_EIO : (rc == SGW_ENOMEM ? rc : SGW_EIO);
    }
    /* reader slots left by crashed gateways pin old pages and make the file
       grow: clear them before writing (harmless when there are none) */
    int dead = 0;
    if (sto_env_reader_check(env, &dead) == SGW_OK && dead > 0)
        sgw_log(SGW_LOG_INFO, "rules", "cleared %d stale reader slot(s) in %s", dead, dir);
    rc = sto_txn_begin_write(env, &t);
    if (rc != SGW_OK)
        goto fail;

    /* version: previous + 1; never overwrite a store of another format */
    uint64_t prev = 0;
    struct sgw_slice hv;
    rc = sto_get(t, RL_DB_META, RL_META_HEADER, strlen(RL_META_HEADER), &hv);
    if (rc == SGW_OK) {
        if (hv.len != RL_HEADER_LEN || rl_rd32((const uint8_t *)hv.ptr) != RL_FORMAT_VERSION) {
            what = "the store holds a policy of an unknown format; refusing to overwrite it";
            rc = SGW_EPROTO;
            goto fail;
        }
        prev = rl_rd64((const uint8_t *)hv.ptr + 4);
    } else if (rc != SGW_ENOTFOUND) {
        goto fail;
    }
    for (unsigned db = 0; db < RL_DB__COUNT; db++) {
        rc = sto_drop(t, db);
        if (rc != SGW_OK)
            goto fail;
    }

    /* rules, and the index entries pointing at them */
    char key[RL_MAX_HOST + 8];
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct rl_rule *r = &p->rules[i];
        uint32_t idx = (uint32_t)i;
        uint8_t ik[4];
        rl_be32(ik, idx);
        rec.len = 0;
        encode_rule(r, &rec);
        if (rec.oom) {
            rc = SGW_ENOMEM;
            goto fail;
        }
        rc = sto_put(t, RL_DB_RULES, ik, 4, rec.p, rec.len, STO_PUT_APPEND);
        if (rc != SGW_OK)
            goto fail;
        for (size_t h = 0; h < r->n_hosts; h++) {
            const char *hs = r->hosts[h];
            int wc = hs[0] == '*';
            size_t kl = rl_host_key(wc ? hs + 2 : hs, strlen(hs) - (wc ? 2u : 0u), wc, key,
                                    sizeof key);
            if (wc) {
                unsigned labels = 1;
                for (const char *q = hs + 2; *q; q++)
                    labels += *q == '.';
                if (labels < 128)
                    wild[labels / 8] |= (uint8_t)(1u << (labels % 8));
            }
            if (kl == 0 || kl_add(&hosts, key, kl, idx) != SGW_OK) {
                rc = SGW_ENOMEM;
                goto fail;
            }
        }
        if (r->n_hosts == 0 && r->n_cidrs == 0) {
            wb_u32(&nohost, idx);
        } else if (r->n_hosts == 0) {
            wb_u32(&cidronly, idx);
            for (size_t k = 0; k < r->n_cidrs; k++) {
                const struct rl_cidr *c = &r->cidrs[k];
                uint8_t ck[18] = {c->family, c->plen};
                size_t an = c->family == 4 ? 4u : 16u;
                memcpy(ck + 2, c->addr, an);
                if (kl_add(&cidrs, ck, 2 + an, idx) != SGW_OK) {
                    rc = SGW_ENOMEM;
                    goto fail;
                }
                size_t bit = c->family == 4 ? c->plen : 40u + c->plen;
                plens[bit / 8] |= (uint8_t)(1u << (bit % 8));
            }
        }
    }
    if (nohost.oom || cidronly.oom) {
        rc = SGW_ENOMEM;
        goto fail;
    }
    rc = kl_write(&hosts, t, RL_DB_HOSTS);
    if (rc == SGW_OK)
        rc = kl_write(&cidrs, t, RL_DB_CIDRS);
    if (rc != SGW_OK)
        goto fail;

    /* meta */
    uint8_t hdr[RL_HEADER_LEN];
    rl_be32(hdr, RL_FORMAT_VERSION);
    rl_be64(hdr + 4, prev + 1);
    hdr[12] = (uint8_t)p->default_action;
    rl_be32(hdr + 13, (uint32_t)p->n_rules);
    memcpy(hdr + RL_HDR_PLENS, plens, sizeof plens);
    memcpy(hdr + RL_HDR_WILD, wild, sizeof wild);
    uint8_t sha[32];
    unsigned shalen = 0;
    if (!EVP_Digest(src, srclen, sha, &shalen, EVP_sha256(), NULL) || shalen != 32) {
        what = "sha256 of the policy source failed";
        rc = SGW_ERR;
        goto fail;
    }
    uint8_t now[8], counts[24], lim[8];
    rl_be64(now, (uint64_t)time(NULL));
    rl_be64(counts, p->n_rules);
    rl_be64(counts + 8, p->n_hosts);
    rl_be64(counts + 16, p->n_cidrs);
    rl_be64(lim, p->inspect_limit);
    rc = put_meta(t, RL_META_HEADER, hdr, sizeof hdr);
    if (rc == SGW_OK)
        rc = put_meta(t, RL_META_SHA256, sha, sizeof sha);
    if (rc == SGW_OK)
        rc = put_meta(t, RL_META_COMPILED, now, sizeof now);
    if (rc == SGW_OK)
        rc = put_meta(t, RL_META_COUNTS, counts, sizeof counts);
    if (rc == SGW_OK)
        rc = put_meta(t, RL_META_NOHOST, nohost.p ? nohost.p : (const uint8_t *)"", nohost.len);
    if (rc == SGW_OK)
        rc = put_meta(t, RL_META_CIDRONLY, cidronly.p ? cidronly.p : (const uint8_t *)"",
                      cidronly.len);
    if (rc == SGW_OK)
        rc = put_meta(t, RL_META_INSPECT, lim, sizeof lim);
    if (rc != SGW_OK)
        goto fail;
    rc = sto_txn_commit(t);
    t = NULL;
    if (rc != SGW_OK)
        goto fail;
    *version = prev + 1;
    rc = SGW_OK;
    goto out;

fail:
    if (errs) {
        if (rc == SGW_ELIMIT)
            fprintf(errs, "%s: store is full (map size %llu bytes); policy not written\n", dir,
                    (unsigned long long)STO_DEFAULT_MAP_SIZE);
        else
            fprintf(errs, "%s: %s (%s); the previous policy stays in effect\n", dir, what,
                    sgw_rc_str(rc));
    }
    if (rc != SGW_EPROTO && rc != SGW_ENOMEM && rc != SGW_ELIMIT)
        rc = SGW_EIO;
out:
    sto_txn_abort(t);
    sto_env_free(env);
    kl_free(&hosts);
    kl_free(&cidrs);
    free(rec.p);
    free(nohost.p);
    free(cidronly.p);
    return rc;
}

int rl_policy_compile_buffer(const char *name, const char *yaml, size_t len,
                             const char *store_dir, FILE *errs)
{
    struct rl_policy *p = NULL;
    size_t nerr = 0;
    int rc = rl_policy_parse(name, yaml, len, &p, errs, &nerr);
    if (rc != SGW_OK)
        return rc == SGW_ENOMEM ? SGW_EIO : SGW_EPROTO;
    uint64_t version = 0;
    rc = rl_store_write(p, yaml, len, store_dir, &version, errs);
    rl_policy_free(p);
    return rc == SGW_OK ? SGW_OK : SGW_EIO;
}

int rl_policy_compile_file(const char *path, const char *store_dir, FILE *errs)
{
    char *buf = NULL;
    size_t len = 0;
    char err[512];
    int rc = rl_read_file(path, &buf, &len, err, sizeof err);
    if (rc != SGW_OK) {
        if (errs)
            fprintf(errs, "%s\n", err);
        return SGW_EIO;
    }
    rc = rl_policy_compile_buffer(path, buf, len, store_dir, errs);
    free(buf);
    return rc;
}
