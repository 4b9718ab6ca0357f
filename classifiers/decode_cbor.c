/* classifiers/decode_cbor.c — a streaming CBOR (RFC 8949) decoder for
 * application/cbor and Smithy RPC v2 CBOR bodies.
 *
 * Text strings go out as data (then a boundary), text map keys as context,
 * integers as decimal data (a card number can be a number), byte strings as
 * data when their first bytes look like text, through the zip decoder when
 * they are a zip archive (a docx in a Smithy RPC v2 CBOR request) and the
 * KPL's when they are a KPL aggregated record (Kinesis from Java), else one
 * uninspectable report for that string (decoding goes on). Floats, simple values and tags carry
 * nothing to scan. Indefinite lengths are supported; nesting is bounded by
 * limits.max_depth; reserved encodings, a misplaced break, a bad chunk in an
 * indefinite string, data after the top-level item and truncation are
 * malformed. Memory: the container stack (max_depth entries) and a 64-byte
 * sniff window, whatever the body size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/decode_internal.h"

#define CB_SNIFF 64u

enum cb_frame_kind {
    CBF_ARRAY,
    CBF_MAP,
    CBF_ISTR, /* indefinite-length string: definite chunks until break */
};

struct cb_frame {
    uint8_t kind;
    uint8_t indef;
    uint8_t str_major; /* CBF_ISTR: 2 or 3 */
    uint64_t left;     /* definite: items still expected */
    uint64_t count;    /* items seen (map parity) */
};

enum cb_state {
    CB_HEAD,   /* expecting an initial byte */
    CB_ARG,    /* collecting argument bytes */
    CB_STRING, /* inside string bytes */
    CB_DONE,   /* top-level item complete */
};

enum cb_bs_mode {
    BS_SNIFF,
    BS_TEXT,
    BS_SKIP,
    BS_ZIP, /* a zip archive (an Office document) or a KPL aggregated record: through c->zip */
};

struct dec_cbor {
    struct dec base;
    enum cb_state st;
    uint8_t ib;          /* initial byte of the head being read */
    unsigned need, have; /* argument bytes */
    uint64_t arg;
    uint64_t str_left; /* bytes left in the current definite string (chunk) */
    int str_major;
    int str_is_key;
    int str_open; /* a (possibly indefinite) string is in progress */
    enum cb_bs_mode bs;
    struct dec *zip; /* owned: the zip decoder of the current byte string */
    size_t sniff_len;
    size_t key_len;
    uint32_t depth, max_depth;
    uint8_t sniff[CB_SNIFF];
    uint8_t key[DEC_CONTEXT_MAX];
    struct cb_frame stack[];
};

static int cb_bad(struct dec_cbor *c, uint64_t at)
{
    return dec_fail(&c->base, 0, "malformed CBOR at byte %llu", (unsigned long long)at);
}

static struct cb_frame *cb_top(struct dec_cbor *c)
{
    return c->depth ? &c->stack[c->depth - 1] : NULL;
}

/* An item finished: count it in its container, close finished containers. */
static void cb_item_done(struct dec_cbor *c)
{
    for (;;) {
        struct cb_frame *f = cb_top(c);
        if (!f) {
            c->st = CB_DONE;
            return;
        }
        c->st = CB_HEAD;
        f->count++;
        if (f->indef)
            return;
        if (--f->left > 0)
            return;
        c->depth--; /* definite container complete: it is an item itself */
    }
}

static int cb_key_position(struct dec_cbor *c)
{
    struct cb_frame *f = cb_top(c);
    return f && f->kind == CBF_MAP && f->count % 2 == 0;
}

/* Pushes byte-string bytes through the sniff window. */
static int cb_bytes(struct dec_cbor *c, const uint8_t *p, size_t n, int last)
{
    struct dec_env *env = c->base.env;
    int rc = SGW_OK;
    if (c->bs == BS_SKIP)
        return SGW_OK;
    if (c->bs == BS_TEXT)
        return dec_text_data(env, p, n);
    if (c->bs == BS_ZIP)
        return dec_feed(c->zip, p, n);
    size_t take = CB_SNIFF - c->sniff_len;
    if (take > n)
        take = n;
    if (take)
        memcpy(c->sniff + c->sniff_len, p, take);
    c->sniff_len += take;
    if (c->sniff_len < CB_SNIFF && !last)
        return SGW_OK;
    const char *magic = dec_binary_magic(c->sniff, c->sniff_len);
    if (c->sniff_len == 0) {
        c->bs = BS_TEXT;
        return SGW_OK;
    }
    int kpl = dec_looks_kpl(c->sniff, c->sniff_len);
    if (kpl || (c->sniff_len >= 4 && memcmp(c->sniff, "PK\x03\x04", 4) == 0)) {
        /* a zip, or a KPL aggregated record (the Java SDK's Kinesis CBOR) */
        rc = kpl ? dec_new_kpl(env, c->base.nest + 1, &c->zip) : dec_new_zip(env, c->base.nest + 1, &c->zip);
        if (rc != SGW_OK)
            return rc;
        c->bs = BS_ZIP;
        rc = dec_feed(c->zip, c->sniff, c->sniff_len);
        if (rc == SGW_OK && n > take)
            rc = dec_feed(c->zip, p + take, n - take);
        return rc;
    }
    if (magic || !dec_looks_text(c->sniff, c->sniff_len)) {
        c->bs = BS_SKIP;
        if (magic)
            return dec_env_fail(env, 0, "CBOR byte string holds a %s", magic);
        return dec_env_fail(env, 0, "binary CBOR byte string");
    }
    c->bs = BS_TEXT;
    rc = dec_text_data(env, c->sniff, c->sniff_len);
    if (rc == SGW_OK && n > take)
        rc = dec_text_data(env, p + take, n - take);
    return rc;
}

/* String bytes (a piece of the current chunk). */
static int cb_str_bytes(struct dec_cbor *c, const uint8_t *p, size_t n)
{
    if (n == 0)
        return SGW_OK;
    if (c->str_is_key) {
        /* a key is data too (a value can hide in a key), and its first
           bytes are kept as the context of the value that follows */
        size_t room = sizeof(c->key) - c->key_len;
        size_t take = n < room ? n : room;
        memcpy(c->key + c->key_len, p, take);
        c->key_len += take;
        return dec_text_data(c->base.env, p, n);
    }
    if (c->str_major == 3)
        return dec_text_data(c->base.env, p, n);
    return cb_bytes(c, p, n, 0);
}

/* The whole string (all chunks) ended. */
static int cb_str_end(struct dec_cbor *c)
{
    int rc = SGW_OK;
    c->str_open = 0;
    if (c->str_is_key) {
        rc = dec_text_boundary(c->base.env);
        if (rc == SGW_OK)
            rc = dec_text_context(c->base.env, c->key, c->key_len);
    } else if (c->str_major == 3)
        rc = dec_text_boundary(c->base.env);
    else {
        if (c->bs == BS_SNIFF)
            rc = cb_bytes(c, NULL, 0, 1);
        if (rc == SGW_OK && c->bs == BS_TEXT && !c->base.dead)
            rc = dec_text_boundary(c->base.env);
        if (c->bs == BS_ZIP) {
            if (rc == SGW_OK)
                rc = dec_finish(c->zip);
            dec_free(c->zip);
            c->zip = NULL;
        }
    }
    return rc;
}

static void cb_str_begin(struct dec_cbor *c, int major)
{
    c->str_open = 1;
    c->str_major = major;
    /* byte strings as keys are scanned like values */
    c->str_is_key = major == 3 && cb_key_position(c);
    c->key_len = 0;
    c->bs = BS_SNIFF;
    c->sniff_len = 0;
}

static int cb_push(struct dec_cbor *c, uint8_t kind, int indef, uint64_t left, uint64_t at)
{
    if (c->depth >= c->max_depth)
        return dec_fail(&c->base, 0, "CBOR nesting deeper than %u", (unsigned)c->max_depth);
    struct cb_frame *f = &c->stack[c->depth++];
    f->kind = kind;
    f->indef = (uint8_t)indef;
    f->left = left;
    f->count = 0;
    f->str_major = 0;
    (void)at;
    c->st = CB_HEAD;
    return SGW_OK;
}

static int cb_int(struct dec_cbor *c, int negative, uint64_t v)
{
    char buf[24];
    int len;
    if (!negative)
        len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    else if (v == UINT64_MAX)
        len = snprintf(buf, sizeof(buf), "-18446744073709551616");
    else
        len = snprintf(buf, sizeof(buf), "-%llu", (unsigned long long)(v + 1));
    int rc = dec_text_data(c->base.env, (const uint8_t *)buf, (size_t)len);
    if (rc == SGW_OK)
        rc = dec_text_boundary(c->base.env);
    if (rc == SGW_OK && cb_key_position(c)) /* an integer key: data and context */
        rc = dec_text_context(c->base.env, (const uint8_t *)buf, (size_t)len);
    return rc;
}

/* A complete head (initial byte + argument); at = offset of the initial byte. */
static int cb_head(struct dec_cbor *c, uint64_t at)
{
    int major = c->ib >> 5, ai = c->ib & 31;
    uint64_t v = c->arg;
    int indef = ai == 31;
    struct cb_frame *top = cb_top(c);
    int rc;
    if (top && top->kind == CBF_ISTR) {
        /* inside an indefinite string: only definite chunks of its type or break */
        if (c->ib == 0xff) {
            c->depth--;
            rc = cb_str_end(c);
            if (rc == SGW_OK && !c->base.dead)
                cb_item_done(c);
            return rc;
        }
        if (major != top->str_major || indef)
            return cb_bad(c, at);
        c->str_left = v;
        c->st = v ? CB_STRING : CB_HEAD;
        return SGW_OK;
    }
    switch (major) {
    case 0:
    case 1:
        if (indef)
            return cb_bad(c, at);
        rc = cb_int(c, major == 1, v);
        cb_item_done(c);
        return rc;
    case 2:
    case 3:
        cb_str_begin(c, major);
        if (indef) {
            rc = cb_push(c, CBF_ISTR, 1, 0, at);
            if (rc == SGW_OK && !c->base.dead)
                c->stack[c->depth - 1].str_major = (uint8_t)major;
            return rc;
        }
        c->str_left = v;
        if (v == 0) {
            rc = cb_str_end(c);
            cb_item_done(c);
            return rc;
        }
        c->st = CB_STRING;
        return SGW_OK;
    case 4:
    case 5:
        if (!indef && major == 5 && v > UINT64_MAX / 2)
            return cb_bad(c, at);
        if (!indef && v == 0) {
            cb_item_done(c);
            return SGW_OK;
        }
        rc = cb_push(c, major == 4 ? CBF_ARRAY : CBF_MAP, indef, major == 5 ? v * 2 : v, at);
        return rc;
    case 6:
        if (indef)
            return cb_bad(c, at);
        c->st = CB_HEAD; /* the tagged item follows */
        return SGW_OK;
    default: /* 7 */
        if (c->ib == 0xff) {
            if (!top || !top->indef || (top->kind == CBF_MAP && top->count % 2 != 0))
                return cb_bad(c, at);
            c->depth--;
            cb_item_done(c);
            return SGW_OK;
        }
        if (ai == 24 && v < 32)
            return cb_bad(c, at);
        cb_item_done(c);
        return SGW_OK;
    }
}

static int cbor_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_cbor *c = (struct dec_cbor *)d;
    size_t i = 0;
    int rc = SGW_OK;
    while (i < n && rc == SGW_OK && !d->dead) {
        switch (c->st) {
        case CB_DONE:
            return dec_fail(d, 0, "data after the CBOR item at byte %llu",
                            (unsigned long long)(d->fed + i));
        case CB_HEAD: {
            uint8_t ib = p[i];
            int ai = ib & 31;
            c->ib = ib;
            c->arg = 0;
            c->have = 0;
            if (ai >= 28 && ai <= 30)
                return cb_bad(c, d->fed + i);
            i++;
            if (ai < 24 || ai == 31) {
                c->arg = ai == 31 ? 0 : (uint64_t)ai;
                rc = cb_head(c, d->fed + i - 1);
            } else {
                c->need = 1u << (ai - 24);
                c->st = CB_ARG;
            }
            break;
        }
        case CB_ARG:
            c->arg = (c->arg << 8) | p[i++];
            if (++c->have == c->need) {
                c->st = CB_HEAD;
                rc = cb_head(c, d->fed + i);
            }
            break;
        case CB_STRING: {
            size_t take = n - i;
            if (take > c->str_left)
                take = (size_t)c->str_left;
            rc = cb_str_bytes(c, p + i, take);
            i += take;
            c->str_left -= take;
            if (rc != SGW_OK || c->str_left > 0)
                break;
            struct cb_frame *top = cb_top(c);
            if (top && top->kind == CBF_ISTR) {
                c->st = CB_HEAD; /* next chunk or break */
            } else {
                rc = cb_str_end(c);
                if (rc == SGW_OK && !d->dead)
                    cb_item_done(c);
            }
            break;
        }
        }
    }
    return rc;
}

static int cbor_finish(struct dec *d)
{
    struct dec_cbor *c = (struct dec_cbor *)d;
    if (c->st == CB_DONE || (d->fed == 0))
        return SGW_OK;
    return dec_fail(d, 0, "truncated CBOR at byte %llu", (unsigned long long)d->fed);
}

static void cbor_destroy(struct dec *d)
{
    dec_free(((struct dec_cbor *)d)->zip);
}

static const struct dec_ops cbor_ops = {"cbor", cbor_feed, cbor_finish, cbor_destroy};

int dec_new_cbor(struct dec_env *env, unsigned nest, struct dec **out)
{
    uint32_t maxd = env->lim.max_depth;
    struct dec_cbor *c =
        dec_alloc(sizeof(*c) + (size_t)maxd * sizeof(struct cb_frame), &cbor_ops, env, nest);
    if (!c)
        return SGW_ENOMEM;
    c->max_depth = maxd;
    c->st = CB_HEAD;
    *out = &c->base;
    return SGW_OK;
}
