/* classifiers/decode_parquet.c — Apache Parquet files (`.parquet`,
 * application/vnd.apache.parquet; sniffed by `PAR1`): the data lake
 * format Glue, Athena, EMR, Firehose and every dataframe library write to
 * S3.
 *
 * Read as a stream, page after page, without the footer (it is at the
 * end): each page header (Thrift compact protocol) is checked and its
 * statistics (a page's min and max values: data) are text; the page is
 * held whole (16 MiB at most) and decompressed by what its bytes say,
 * since the codec is named only in the footer: the same size as declared
 * → uncompressed; gzip's or zstd's magic; a varint equal to the declared
 * size → snappy; else brotli when it decodes to exactly the declared size;
 * else (LZ4, LZO) uninspectable. Its values: PLAIN byte arrays (a 4-byte
 * length, the bytes; after the levels of a data page) are one text unit
 * each, kept for their column's name (below; a mostly binary one: its
 * printable runs); other pages (dictionary indices, numbers, delta encodings) give
 * their printable runs of 6 bytes or more. What follows the last page
 * (page indexes, the footer: column names, key-value metadata, row group
 * statistics) is read as Thrift too, its strings as text (the Arrow schema,
 * a base64 flatbuffer, skipped), or as printable runs where it is not.
 *
 * Kept until the footer (16 MiB of pages in all): pages of PLAIN values
 * that are no byte arrays, whose INT32 and INT64 values of six digits or
 * more, and dates, are then text under the column's name; and pages of
 * byte arrays, whose strings then go out under their column's name (a
 * bare SSN under "ssn"; past the hold, or with no footer, without it).
 * Not read: other number encodings. Uninspectable: a page compressed with
 * a codec not told apart, a page over the hold, a cut file, a malformed
 * page. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#include "classifiers/decode_internal.h"

#define PQ_HOLD (16u << 20)   /* a page, compressed and decompressed; the tail */
#define PQ_HEAD_MAX 65536u   /* a page header (its statistics included) */
#define PQ_RUN_MIN DEC_RUN_MIN
#define PQ_DEPTH 32u

enum pq_state { PQ_MAGIC, PQ_HEAD, PQ_PAGE, PQ_TAIL };

struct pq_page { /* what a page header says */
    int32_t type, usize, csize;
    int32_t def_len, rep_len; /* v2: level bytes (never compressed) */
    int compressed;           /* v2: is_compressed */
    int32_t encoding;         /* a data page's values: 0 PLAIN, 2/8 dictionary indices… */
};

struct dec_parquet {
    struct dec base;
    enum pq_state st;
    struct pq_page pg;
    uint64_t produced;    /* decompressed bytes so far (bomb limits) */
    uint8_t *buf;         /* input held: buf[off..len) not read yet */
    size_t off, len, cap;
    size_t next_try;      /* PQ_HEAD: bytes held before a struct is tried again */
    int reported_codec;
    uint64_t dropped;     /* bytes of the file before buf[0] */
    uint64_t pg_at;       /* the file offset of the current page's header */
    /* pages whose values may be numbers (PLAIN, not byte arrays), kept
       until the footer says their columns' types: records of struct
       pq_held, each followed by its bytes (PQ_NUM_HOLD in all) */
    uint8_t *nums;
    size_t nlen, ncap;
};

#define PQ_NUM_HOLD (16u << 20)

struct pq_held {
    uint64_t at;   /* the page header's file offset */
    uint32_t len;  /* bytes after this record */
    uint32_t start; /* strs: where its byte arrays begin */
    uint8_t type;  /* page type: 0 data, 2 dictionary, 3 data v2 (levels taken off) */
    uint8_t strs;  /* its values are byte arrays: 1 not passed on yet, 2 passed on */
};

static int pq_hold(struct dec_parquet *q, const uint8_t *p, size_t n)
{
    return dec_append(&q->buf, &q->len, &q->cap, p, n);
}

/* ---- text out ---- */

static int pq_runs(struct dec_parquet *q, const uint8_t *b, size_t n);

/* b[0..n) as one unit when it is mostly printable text (a value, a name);
 * else its printable runs. */
static int pq_text(struct dec_parquet *q, const uint8_t *b, size_t n)
{
    size_t good = 0;
    for (size_t i = 0; i < n; i++)
        good += (b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' || b[i] >= 0x80;
    if (good * 10 < n * 9)
        return pq_runs(q, b, n);
    if (n == 0)
        return SGW_OK;
    int rc = dec_text_data(q->base.env, b, n);
    return rc == SGW_OK ? dec_text_boundary(q->base.env) : rc;
}

static int pq_runs(struct dec_parquet *q, const uint8_t *b, size_t n)
{
    return dec_text_runs(q->base.env, b, n, PQ_RUN_MIN, 1);
}

/* ---- Thrift compact protocol ---- */

struct tc {
    const uint8_t *b;
    size_t n, pos;
    int bad;   /* malformed, or more bytes needed (more: pos hit n) */
    int more;
    /* strings: passed to pq_text unless skipped */
    struct dec_parquet *q;
    int emit;
    int skip_next;  /* the value after the key "ARROW:schema" */
    int rc;
};

static uint64_t tc_varint(struct tc *t)
{
    uint64_t v = 0;
    for (unsigned s = 0; s < 64; s += 7) {
        if (t->pos >= t->n) {
            t->bad = t->more = 1;
            return 0;
        }
        uint8_t c = t->b[t->pos++];
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return v;
    }
    t->bad = 1;
    return 0;
}

static int64_t tc_zigzag(struct tc *t)
{
    uint64_t v = tc_varint(t);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void tc_value(struct tc *t, unsigned type, unsigned depth, int64_t *ival);

static void tc_binary(struct tc *t)
{
    uint64_t l = tc_varint(t);
    if (t->bad)
        return;
    if (l > t->n - t->pos) {
        t->bad = t->more = 1;
        return;
    }
    const uint8_t *s = t->b + t->pos;
    t->pos += (size_t)l;
    if (!t->emit || t->rc != SGW_OK)
        return;
    if (t->skip_next) { /* (its flatbuffer decoded: the names in it are runs) */
        t->skip_next = 0;
        uint8_t *fb = l ? malloc((size_t)l / 4 * 3 + 3) : NULL;
        int fl = fb ? EVP_DecodeBlock(fb, s, (int)(l - l % 4)) : -1;
        t->rc = fl < 0 ? (fb ? pq_runs(t->q, s, (size_t)l) : (l ? SGW_ENOMEM : SGW_OK))
                       : pq_runs(t->q, fb, (size_t)fl);
        free(fb);
        return;
    }
    if (l == 12 && memcmp(s, "ARROW:schema", 12) == 0)
        t->skip_next = 1; /* (a base64 flatbuffer: as base64 text it would be "no text") */
    t->rc = pq_text(t->q, s, (size_t)l);
}

/* A struct's fields up to STOP; fields 1..8 are reported through f[]
 * (their values, or 1 for a struct; f[id + 8]: present), and the fields
 * of its struct fields 5..8 through sub[id - 5] likewise. */
static void tc_struct(struct tc *t, unsigned depth, int64_t *f, int64_t (*sub)[17])
{
    if (depth > PQ_DEPTH) {
        t->bad = 1;
        return;
    }
    int id = 0;
    while (!t->bad) {
        if (t->pos >= t->n) {
            t->bad = t->more = 1;
            return;
        }
        uint8_t h = t->b[t->pos++];
        if (h == 0)
            return;
        unsigned type = h & 15, delta = h >> 4;
        id = delta ? id + (int)delta : (int)tc_zigzag(t);
        int64_t v = 0;
        if (type == 12 && sub && id >= 5 && id <= 8) {
            tc_struct(t, depth + 1, sub[id - 5], NULL);
            v = 1;
        } else {
            tc_value(t, type, depth, &v);
        }
        if (f && id >= 1 && id <= 8)
            f[id] = type == 12 ? 1 : v;
        if (f && id >= 1 && id <= 8 && (type == 5 || type == 12 || type == 1 || type == 2))
            f[id + 8] = 1; /* (present) */
    }
}

static void tc_value(struct tc *t, unsigned type, unsigned depth, int64_t *ival)
{
    switch (type) {
    case 1: /* true (in a field) */
        *ival = 1;
        break;
    case 2:
        *ival = 0;
        break;
    case 3: /* byte */
        if (t->pos >= t->n)
            t->bad = t->more = 1;
        else
            *ival = (int8_t)t->b[t->pos++];
        break;
    case 4:
    case 5:
    case 6:
        *ival = tc_zigzag(t);
        break;
    case 7:
        if (t->n - t->pos < 8)
            t->bad = t->more = 1;
        else
            t->pos += 8;
        break;
    case 8:
        tc_binary(t);
        break;
    case 9:
    case 10: {
        if (t->pos >= t->n) {
            t->bad = t->more = 1;
            break;
        }
        uint8_t h = t->b[t->pos++];
        uint64_t size = h >> 4;
        unsigned et = h & 15;
        if (size == 15)
            size = tc_varint(t);
        if (t->bad || depth > PQ_DEPTH) {
            t->bad = 1;
            break;
        }
        if (size > t->n - t->pos) { /* (each element takes a byte at least) */
            t->bad = t->more = 1;
            break;
        }
        for (uint64_t i = 0; i < size && !t->bad; i++) {
            int64_t v;
            if (et == 1 || et == 2) { /* a list's booleans: a byte each */
                if (t->pos >= t->n)
                    t->bad = t->more = 1;
                else
                    t->pos++;
            } else if (et == 12) {
                tc_struct(t, depth + 1, NULL, NULL);
            } else {
                tc_value(t, et, depth + 1, &v);
            }
        }
        break;
    }
    case 11: {
        uint64_t size = tc_varint(t);
        if (t->bad || size == 0)
            break;
        if (t->pos >= t->n || size > t->n - t->pos) {
            t->bad = t->more = 1;
            break;
        }
        uint8_t kv = t->b[t->pos++];
        for (uint64_t i = 0; i < size && !t->bad; i++) {
            int64_t v;
            if ((kv >> 4) == 12)
                tc_struct(t, depth + 1, NULL, NULL);
            else
                tc_value(t, kv >> 4, depth + 1, &v);
            if ((kv & 15) == 12)
                tc_struct(t, depth + 1, NULL, NULL);
            else
                tc_value(t, kv & 15, depth + 1, &v);
        }
        break;
    }
    case 12:
        tc_struct(t, depth + 1, NULL, NULL);
        break;
    default:
        t->bad = 1;
    }
}

/* A Thrift struct at b[0..n): 1 a page header (q->pg filled), 2 another
 * struct (a column chunk's metadata after its pages, a page index, the
 * footer), 0 more bytes needed, -1 none (the tail). *used gets its size;
 * its strings go out (once whole) when emit. */
static int pq_struct(struct dec_parquet *q, const uint8_t *b, size_t n, size_t *used, int emit)
{
    int64_t f[17] = {0}, sub[4][17] = {{0}};
    struct tc t = {.b = b, .n = n, .q = q, .emit = emit, .rc = SGW_OK};
    tc_struct(&t, 0, f, sub);
    const int64_t *dp = sub[0], *v2 = sub[3]; /* DataPageHeader, DataPageHeaderV2 */
    if (t.bad)
        return t.more ? 0 : -1;
    *used = t.pos;
    if (emit && t.rc != SGW_OK)
        return t.rc;
    /* a page header: its type (field 1, 0..3), sizes (2, 3: i32) and the
       header of its kind (5 data, 6 index, 7 dictionary, 8 v2) */
    static const int own[4] = {5, 6, 7, 8};
    if (!f[9] || !f[10] || !f[11] || f[1] < 0 || f[1] > 3 || f[2] < 0 || f[3] < 0 || f[2] > INT32_MAX ||
        f[3] > INT32_MAX || !f[own[f[1]]])
        return 2;
    q->pg = (struct pq_page){.type = (int32_t)f[1], .usize = (int32_t)f[2], .csize = (int32_t)f[3], .compressed = 1,
                             .encoding = (int32_t)(f[1] == 0 ? dp[2] : f[1] == 3 ? v2[4] : 0)};
    if (f[1] == 3) {
        q->pg.def_len = (int32_t)v2[5];
        q->pg.rep_len = (int32_t)v2[6];
        if (v2[15]) /* is_compressed given */
            q->pg.compressed = v2[7] != 0;
        if (v2[5] < 0 || v2[6] < 0 || v2[5] + v2[6] > f[3] || v2[5] + v2[6] > f[2])
            return 2;
    }
    return 1;
}

/* ---- pages ---- */

/* snappy's block format, whole: returns the bytes made, or (size_t)-1. */
static size_t snappy_whole(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    uint64_t want = 0;
    for (unsigned s = 0; i < n && s < 35; s += 7) {
        want |= (uint64_t)(in[i] & 0x7f) << s;
        if (!(in[i++] & 0x80))
            break;
    }
    if (want > cap)
        return (size_t)-1;
    while (i < n) {
        uint8_t tag = in[i++];
        size_t len, off = 0;
        if ((tag & 3) == 0) { /* literal */
            len = (size_t)(tag >> 2) + 1;
            if (len > 60) {
                unsigned k = (unsigned)len - 60;
                if (n - i < k)
                    return (size_t)-1;
                len = 0;
                for (unsigned j = 0; j < k; j++)
                    len |= (size_t)in[i + j] << (8 * j);
                len += 1;
                i += k;
            }
            if (n - i < len || cap - o < len)
                return (size_t)-1;
            memcpy(out + o, in + i, len);
            i += len;
            o += len;
            continue;
        }
        if ((tag & 3) == 1) {
            if (i >= n)
                return (size_t)-1;
            len = 4 + ((tag >> 2) & 7);
            off = (size_t)(tag >> 5) << 8 | in[i++];
        } else {
            unsigned k = (tag & 3) == 2 ? 2 : 4;
            if (n - i < k)
                return (size_t)-1;
            len = (size_t)(tag >> 2) + 1;
            for (unsigned j = 0; j < k; j++)
                off |= (size_t)in[i + j] << (8 * j);
            i += k;
        }
        if (off == 0 || off > o || cap - o < len)
            return (size_t)-1;
        for (size_t j = 0; j < len; j++, o++)
            out[o] = out[o - off];
    }
    return o == want ? o : (size_t)-1;
}

/* Keeps a page's values v[0..n) for the footer, which says their type and
 * column, within PQ_NUM_HOLD (strs: byte arrays from start). 1 kept, 0 no
 * room (past it, numbers go unread and strings out
 * at once, as before the footer was read), or an error. */
static int pq_keep(struct dec_parquet *q, const uint8_t *v, size_t n, int strs, size_t start)
{
    struct pq_held h = {.at = q->pg_at, .len = (uint32_t)n, .start = (uint32_t)start, .type = (uint8_t)q->pg.type,
                        .strs = (uint8_t)strs};
    if (n < 4 || q->nlen + sizeof(h) + n > PQ_NUM_HOLD)
        return 0;
    int rc = dec_append(&q->nums, &q->nlen, &q->ncap, (const uint8_t *)&h, sizeof(h));
    rc = rc == SGW_OK ? dec_append(&q->nums, &q->nlen, &q->ncap, v, n) : rc;
    return rc == SGW_OK ? 1 : rc;
}

/* A page's byte arrays v[start..n), one unit each, under the column's
 * name (none: NULL). */
static int pq_strings(struct dec_parquet *q, const uint8_t *v, size_t n, size_t start, const char *name)
{
    int rc = SGW_OK;
    for (size_t at = start; at + 4 <= n && rc == SGW_OK;) {
        uint32_t l = (uint32_t)v[at] | (uint32_t)v[at + 1] << 8 | (uint32_t)v[at + 2] << 16 | (uint32_t)v[at + 3] << 24;
        if (l > n - at - 4)
            break;
        if (name && name[0])
            rc = dec_text_context(q->base.env, (const uint8_t *)name, strlen(name));
        if (rc == SGW_OK)
            rc = pq_text(q, v + at + 4, l);
        at += 4 + l;
    }
    return rc;
}

/* The kept pages of strings no column chunk claimed (no footer, a cut
 * file, a footer that does not say): out without a column's name. */
static int pq_strings_left(struct dec_parquet *q)
{
    int rc = SGW_OK;
    for (size_t at = 0; at + sizeof(struct pq_held) <= q->nlen && rc == SGW_OK;) {
        struct pq_held h;
        memcpy(&h, q->nums + at, sizeof(h));
        if (h.strs == 1) {
            rc = pq_strings(q, q->nums + at + sizeof(h), h.len, h.start, NULL);
            q->nums[at + offsetof(struct pq_held, strs)] = 2;
        }
        at += sizeof(h) + h.len;
    }
    return rc;
}

/* Refuses the rest of the file; the strings kept go out first. */
__attribute__((format(printf, 3, 4))) static int pq_fail(struct dec_parquet *q, uint32_t flags, const char *fmt, ...)
{
    int rc = pq_strings_left(q);
    if (rc != SGW_OK)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    rc = dec_vfail(&q->base, flags, fmt, ap);
    va_end(ap);
    return rc;
}

/* The values of a decompressed page v[0..n): PLAIN byte arrays from one
 * of the places they may begin (0, or after one or two length-prefixed
 * level blocks) to the page's end exactly, one unit each; else printable
 * runs, and the page kept for the footer (numbers). */
static int pq_values(struct dec_parquet *q, const uint8_t *v, size_t n)
{
    size_t starts[3] = {0, 0, 0}, ns = 1;
    for (size_t k = 0, at = 0; k < 2 && at + 4 <= n; k++) {
        uint32_t l = (uint32_t)v[at] | (uint32_t)v[at + 1] << 8 | (uint32_t)v[at + 2] << 16 | (uint32_t)v[at + 3] << 24;
        if (l > n - at - 4)
            break;
        at += 4 + l;
        starts[ns++] = at;
    }
    for (size_t s = 0; s < ns; s++) {
        size_t at = starts[s], count = 0;
        while (at + 4 <= n) {
            uint32_t l = (uint32_t)v[at] | (uint32_t)v[at + 1] << 8 | (uint32_t)v[at + 2] << 16 | (uint32_t)v[at + 3] << 24;
            if (l > n - at - 4)
                break;
            at += 4 + l;
            count++;
        }
        if (at != n || count == 0)
            continue;
        /* kept for the footer (their column's name), or out at once */
        int rc = pq_keep(q, v, n, 1, starts[s]);
        return rc == 0 ? pq_strings(q, v, n, starts[s], NULL) : rc < 0 ? rc : SGW_OK;
    }
    int rc = pq_runs(q, v, n);
    rc = rc == SGW_OK ? pq_keep(q, v, n, 0, 0) : rc;
    return rc < 0 ? rc : SGW_OK;
}

static int pq_codec_fail(struct dec_parquet *q, const char *why)
{
    if (q->reported_codec)
        return SGW_OK;
    q->reported_codec = 1;
    return dec_env_fail(q->base.env, 0, "%s", why);
}

/* A whole page page[0..csize): decompressed, its values out. */
static int pq_page(struct dec_parquet *q, const uint8_t *page)
{
    const struct pq_page *pg = &q->pg;
    size_t lv = (size_t)pg->def_len + (size_t)pg->rep_len; /* (v2 only) */
    const uint8_t *c = page + lv;
    size_t cn = (size_t)pg->csize - lv, un = (size_t)pg->usize - lv;
    const struct cls_decode_limits *lim = &q->base.env->lim;
    int rc = SGW_OK;
    if (lv)
        rc = pq_runs(q, page, lv);
    if (rc != SGW_OK)
        return rc;
    if (pg->type == 1) /* an index page: no values */
        return pq_runs(q, c, cn);
    /* dictionary indices (2, 8), levels (3, 4), numbers (5: delta, 9:
       byte stream split) are no text: their printable runs alone (a page
       that only says it is indices is read all the same) */
    int32_t e = pg->type == 2 ? 0 : pg->encoding;
    int no_text = e == 2 || e == 3 || e == 4 || e == 5 || e == 8 || e == 9;
    if (!pg->compressed || cn == un)
        return no_text ? dec_text_runs(q->base.env, c, cn, PQ_RUN_MIN, 0) : pq_values(q, c, cn);
    if (un > PQ_HOLD)
        return pq_codec_fail(q, "Parquet page over 16 MiB");
    q->produced += un;
    if (q->produced > lim->max_decoded || (q->produced > DEC_RATIO_FLOOR && un / (cn ? cn : 1) > lim->max_ratio))
        return pq_fail(q, CLS_FF_BOMB, "decoded size over %llu bytes (parquet)",
                       (unsigned long long)lim->max_decoded);
    uint8_t *u = malloc(un ? un : 1);
    if (!u)
        return SGW_ENOMEM;
    size_t got = (size_t)-1;
    if (cn >= 3 && c[0] == 0x1f && c[1] == 0x8b) {
        z_stream zs = {0};
        if (inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK) {
            zs.next_in = (Bytef *)(uintptr_t)c;
            zs.avail_in = (uInt)cn;
            zs.next_out = u;
            zs.avail_out = (uInt)un;
            if (inflate(&zs, Z_FINISH) == Z_STREAM_END)
                got = un - zs.avail_out;
            inflateEnd(&zs);
        }
    } else if (cn >= 4 && memcmp(c, "\x28\xb5\x2f\xfd", 4) == 0) {
        size_t r = ZSTD_decompress(u, un, c, cn);
        got = ZSTD_isError(r) ? (size_t)-1 : r;
    } else {
        got = snappy_whole(c, cn, u, un);
        if (got != un) {
            size_t bl = un;
            got = BrotliDecoderDecompress(cn, c, &bl, u) == BROTLI_DECODER_RESULT_SUCCESS ? bl : (size_t)-1;
        }
    }
    if (got != un)
        rc = pq_codec_fail(q, "Parquet page compressed with a codec not read");
    else
        rc = no_text ? dec_text_runs(q->base.env, u, un, PQ_RUN_MIN, 0) : pq_values(q, u, un);
    free(u);
    return rc;
}

/* ---- the stream ---- */

static uint64_t pq_le(const uint8_t *p, size_t w);
static int pq_footer_numbers(struct dec_parquet *q, const uint8_t *b, size_t n);

/* Reads buf[off..len) as far as it goes. */
static int pq_run(struct dec_parquet *q, int final)
{
    struct dec *d = &q->base;
    int rc = SGW_OK;
    while (rc == SGW_OK && !d->dead) {
        const uint8_t *b = q->buf + q->off;
        size_t n = q->len - q->off;
        if (q->st == PQ_MAGIC) {
            if (n < 4)
                break;
            if (memcmp(b, "PAR1", 4) != 0)
                return dec_fail(d, 0, "malformed Parquet file");
            q->off += 4;
            q->st = PQ_HEAD;
        } else if (q->st == PQ_HEAD) {
            /* (a struct is tried again once twice as many bytes are in; the
               last 8 bytes, the footer's length and `PAR1`, could read as
               a struct: 8 bytes or fewer wait for more or the end) */
            if (n == 0 || (!final && (n <= 8 || n < q->next_try)))
                break;
            if (final && n == 8 && memcmp(b + 4, "PAR1", 4) == 0) {
                q->st = PQ_TAIL;
                continue;
            }
            size_t used = 0;
            int r = pq_struct(q, b, n, &used, 0);
            if (r == 0) {
                if (final || n > PQ_HOLD) {
                    q->st = PQ_TAIL;
                    continue;
                }
                q->next_try = 2 * n;
                break;
            }
            q->next_try = 0;
            if (r < 0) {
                q->st = PQ_TAIL;
                continue;
            }
            /* the footer, when pages were kept: its length and `PAR1`
               after it say so (waited for, whatever the split) */
            int footer = 0;
            if (r == 2 && q->nlen) {
                if (n < used + 8 && !final) {
                    q->next_try = used + 8;
                    break;
                }
                footer = n >= used + 8 && pq_le(b + used, 4) == used && memcmp(b + used + 4, "PAR1", 4) == 0;
            }
            q->pg_at = q->dropped + q->off;
            rc = pq_struct(q, b, used, &used, 1); /* (its strings) */
            if (rc < 0)
                return rc;
            rc = footer ? pq_footer_numbers(q, b, used) : SGW_OK;
            if (rc != SGW_OK)
                return rc;
            q->off += used;
            if (r == 1) {
                if ((size_t)q->pg.csize > PQ_HOLD)
                    return pq_fail(q, 0, "Parquet page over 16 MiB");
                q->st = PQ_PAGE;
            }
        } else if (q->st == PQ_PAGE) {
            if (n < (size_t)q->pg.csize)
                break;
            rc = pq_page(q, b);
            q->off += (size_t)q->pg.csize;
            q->st = PQ_HEAD;
        } else {
            break; /* PQ_TAIL: held to the end */
        }
    }
    return rc;
}

static int pq_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_parquet *q = (struct dec_parquet *)d;
    if (q->off) { /* (once per call: what was read goes) */
        memmove(q->buf, q->buf + q->off, q->len - q->off);
        q->len -= q->off;
        q->dropped += q->off;
        q->off = 0;
    }
    if (q->len + n > PQ_HOLD + (1u << 20) && q->st != PQ_PAGE)
        return pq_fail(q, 0, "Parquet %s over 16 MiB", q->st == PQ_TAIL ? "footer" : "metadata");
    int rc = pq_hold(q, p, n);
    return rc == SGW_OK ? pq_run(q, 0) : rc;
}

/* ---- the footer: the numbers of the kept pages, by their columns ---- */

#define PQ_LEAVES 4096u /* columns read for numbers */
#define PQ_NAME 64u

struct pq_leaf {
    char name[PQ_NAME]; /* the column's own name: the context of its values */
    uint8_t max_def, max_rep, date;
};

/* A struct's next field: 0 at its STOP (or bad), else 1 with *id, *type. */
static int tc_field(struct tc *t, int *id, unsigned *type)
{
    if (t->pos >= t->n) {
        t->bad = 1;
        return 0;
    }
    uint8_t h = t->b[t->pos++];
    if (h == 0)
        return 0;
    *type = h & 15;
    *id = (h >> 4) ? *id + (h >> 4) : (int)tc_zigzag(t);
    return !t->bad;
}

/* A list's header: its length (0 when bad), *et its elements' type. */
static uint64_t tc_list(struct tc *t, unsigned *et)
{
    if (t->pos >= t->n) {
        t->bad = 1;
        return 0;
    }
    uint8_t h = t->b[t->pos++];
    uint64_t size = h >> 4;
    *et = h & 15;
    if (size == 15)
        size = tc_varint(t);
    return t->bad || size > t->n - t->pos ? (t->bad = 1, 0) : size;
}

static void tc_skip(struct tc *t, unsigned type)
{
    int64_t v;
    tc_value(t, type, 1, &v);
}

/* A SchemaElement: its repetition, name, children, whether it is a date. */
static void pq_element(struct tc *t, int *rep, char *name, int64_t *kids, int *date)
{
    int id = 0;
    unsigned ty;
    *rep = 0, *kids = 0, *date = 0, name[0] = '\0';
    while (tc_field(t, &id, &ty)) {
        if (id == 3 && ty == 5) {
            *rep = (int)tc_zigzag(t);
        } else if (id == 4 && ty == 8) {
            uint64_t l = tc_varint(t);
            if (t->bad || l > t->n - t->pos) {
                t->bad = 1;
                return;
            }
            snprintf(name, PQ_NAME, "%.*s", (int)(l < PQ_NAME ? l : PQ_NAME - 1), (const char *)t->b + t->pos);
            t->pos += (size_t)l;
        } else if (id == 5 && ty == 5) {
            *kids = tc_zigzag(t);
        } else if (id == 6 && ty == 5) {
            *date |= tc_zigzag(t) == 6; /* ConvertedType DATE */
        } else if (id == 10 && ty == 12) { /* LogicalType: a union, DATE is field 6 */
            int lid = 0;
            unsigned lty;
            while (tc_field(t, &lid, &lty)) {
                *date |= lid == 6;
                tc_skip(t, lty);
            }
        } else {
            tc_skip(t, ty);
        }
    }
}

struct pq_level { /* a group of the schema: children left, its levels */
    int64_t left;
    uint8_t def, rep;
};

/* The schema (a tree written depth first) into its leaves, in column
 * order: names, levels, dates. Returns the number of leaves. */
static size_t pq_schema(struct tc *t, struct pq_leaf *lv)
{
    unsigned et;
    uint64_t n = tc_list(t, &et);
    if (et != 12)
        return t->bad = 1, 0;
    struct pq_level st[PQ_DEPTH];
    size_t sp = 0, nl = 0;
    for (uint64_t i = 0; i < n && !t->bad; i++) {
        int rep, date;
        int64_t kids;
        char name[PQ_NAME];
        pq_element(t, &rep, name, &kids, &date);
        if (i == 0) { /* the root */
            st[sp++] = (struct pq_level){kids, 0, 0};
            continue;
        }
        if (sp == 0)
            return t->bad = 1, 0;
        uint8_t def = (uint8_t)(st[sp - 1].def + (rep != 0)), rr = (uint8_t)(st[sp - 1].rep + (rep == 2));
        st[sp - 1].left--;
        if (kids > 0) {
            if (sp == PQ_DEPTH)
                return t->bad = 1, 0;
            st[sp++] = (struct pq_level){kids, def, rr};
        } else if (nl < PQ_LEAVES) {
            memcpy(lv[nl].name, name, PQ_NAME);
            lv[nl].max_def = def, lv[nl].max_rep = rr, lv[nl].date = (uint8_t)date;
            nl++;
        }
        while (sp > 0 && st[sp - 1].left <= 0)
            sp--;
    }
    return nl;
}

static uint64_t pq_le(const uint8_t *p, size_t w)
{
    uint64_t v = 0;
    for (size_t i = 0; i < w; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A kept page's numbers (INT32: w 4, INT64: w 8) under its column's name. */
static int pq_numbers(struct dec_parquet *q, const struct pq_held *h, const uint8_t *v, const struct pq_leaf *lf,
                      size_t w)
{
    size_t at = 0, n = h->len;
    if (h->type == 0) /* (v1: the repetition and definition levels first, each with its length) */
        for (int k = (lf->max_rep > 0) + (lf->max_def > 0); k > 0; k--) {
            if (at + 4 > n || pq_le(v + at, 4) > n - at - 4)
                return SGW_OK;
            at += 4 + (size_t)pq_le(v + at, 4);
        }
    int rc = SGW_OK;
    for (; at + w <= n && rc == SGW_OK; at += w) {
        uint64_t u = pq_le(v + at, w);
        int64_t x = w == 4 ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
        char d[24];
        size_t k = dec_int_text(x, lf->date, d);
        if (!k)
            continue;
        rc = lf->name[0] ? dec_text_context(q->base.env, (const uint8_t *)lf->name, strlen(lf->name)) : SGW_OK;
        if (rc == SGW_OK)
            rc = dec_text_data(q->base.env, (const uint8_t *)d, k);
        if (rc == SGW_OK)
            rc = dec_text_boundary(q->base.env);
    }
    return rc;
}

/* A ColumnChunk (the k-th of its row group): the kept pages in its byte
 * range read as its type's numbers. */
static int pq_chunk(struct dec_parquet *q, struct tc *t, const struct pq_leaf *lv, size_t nl, size_t k)
{
    int id = 0, rc = SGW_OK;
    unsigned ty;
    int64_t type = -1, total = 0, data = 0, dict = 0;
    while (tc_field(t, &id, &ty)) {
        if (id != 3 || ty != 12) {
            tc_skip(t, ty);
            continue;
        }
        int mid = 0;
        unsigned mty;
        while (tc_field(t, &mid, &mty)) {
            if ((mid == 1 || mid == 7 || mid == 9 || mid == 11) && (mty == 5 || mty == 6)) {
                int64_t v = tc_zigzag(t);
                *(mid == 1 ? &type : mid == 7 ? &total : mid == 9 ? &data : &dict) = v;
            } else {
                tc_skip(t, mty);
            }
        }
    }
    /* INT32, INT64: numbers; BYTE_ARRAY: strings under the column's name */
    if (t->bad || k >= nl || (type != 1 && type != 2 && type != 6) || total <= 0 || data < 0)
        return SGW_OK;
    uint64_t start = (uint64_t)(dict > 0 && dict < data ? dict : data), end = start + (uint64_t)total;
    for (size_t at = 0; at + sizeof(struct pq_held) <= q->nlen && rc == SGW_OK;) {
        struct pq_held h;
        memcpy(&h, q->nums + at, sizeof(h));
        if (h.at >= start && h.at < end && type == 6 && h.strs == 1) {
            rc = pq_strings(q, q->nums + at + sizeof(h), h.len, h.start, lv[k].name);
            q->nums[at + offsetof(struct pq_held, strs)] = 2;
        } else if (h.at >= start && h.at < end && type != 6 && h.strs == 0) {
            rc = pq_numbers(q, &h, q->nums + at + sizeof(h), &lv[k], type == 1 ? 4 : 8);
        }
        at += sizeof(h) + h.len;
    }
    return rc;
}

/* The footer b[0..n) (FileMetaData): the schema's leaves, then each row
 * group's column chunks, their kept pages read as numbers. */
static int pq_footer_numbers(struct dec_parquet *q, const uint8_t *b, size_t n)
{
    struct tc t = {.b = b, .n = n, .q = q, .emit = 0, .rc = SGW_OK};
    struct pq_leaf *lv = malloc(PQ_LEAVES * sizeof(*lv));
    if (!lv)
        return SGW_ENOMEM;
    size_t nl = 0;
    int id = 0, rc = SGW_OK;
    unsigned ty;
    while (rc == SGW_OK && tc_field(&t, &id, &ty)) {
        if (id == 2 && ty == 9) {
            nl = pq_schema(&t, lv);
        } else if (id == 4 && ty == 9) {
            unsigned et;
            uint64_t groups = tc_list(&t, &et);
            for (uint64_t g = 0; g < groups && et == 12 && !t.bad && rc == SGW_OK; g++) {
                int gid = 0;
                unsigned gty;
                while (rc == SGW_OK && tc_field(&t, &gid, &gty)) {
                    if (gid != 1 || gty != 9) {
                        tc_skip(&t, gty);
                        continue;
                    }
                    unsigned cet;
                    uint64_t cols = tc_list(&t, &cet);
                    for (uint64_t c = 0; c < cols && cet == 12 && !t.bad && rc == SGW_OK; c++)
                        rc = pq_chunk(q, &t, lv, nl, (size_t)c);
                }
            }
        } else {
            tc_skip(&t, ty);
        }
    }
    free(lv);
    return rc;
}

/* The tail: Thrift structs one after another (page indexes, the footer)
 * up to the footer's length and `PAR1`; where that fails, printable runs. */
static int pq_tail(struct dec_parquet *q)
{
    const uint8_t *b = q->buf + q->off;
    size_t n = q->len - q->off;
    if (n < 8 || memcmp(b + n - 4, "PAR1", 4) != 0)
        return pq_fail(q, 0, "truncated Parquet file");
    size_t end = n - 8, pos = 0;
    while (pos < end) {
        struct tc t = {.b = b, .n = end, .pos = pos, .q = q, .emit = 0, .rc = SGW_OK};
        tc_struct(&t, 0, NULL, NULL);
        if (t.bad || t.pos == pos) {
            int rc = pq_runs(q, b + pos, n - pos);
            return rc == SGW_OK ? pq_strings_left(q) : rc;
        }
        struct tc e = {.b = b, .n = end, .pos = pos, .q = q, .emit = 1, .rc = SGW_OK};
        tc_struct(&e, 0, NULL, NULL);
        if (e.rc != SGW_OK)
            return e.rc;
        pos = t.pos;
    }
    /* the footer (its length before `PAR1`): the kept pages' values */
    size_t flen = (size_t)pq_le(b + n - 8, 4);
    int rc = q->nlen == 0 || flen > end ? SGW_OK : pq_footer_numbers(q, b + end - flen, flen);
    return rc == SGW_OK ? pq_strings_left(q) : rc;
}

static int pq_finish(struct dec *d)
{
    struct dec_parquet *q = (struct dec_parquet *)d;
    if (q->st == PQ_MAGIC && q->len == 0)
        return SGW_OK;
    int rc = pq_run(q, 1);
    if (rc != SGW_OK || d->dead)
        return rc;
    if (q->st == PQ_TAIL || (q->st == PQ_HEAD && q->len > q->off))
        return pq_tail(q);
    /* (no footer at all, or a cut page or magic) */
    return pq_fail(q, 0, "truncated Parquet file");
}

static void pq_destroy(struct dec *d)
{
    struct dec_parquet *q = (struct dec_parquet *)d;
    free(q->buf);
    free(q->nums);
}

static const struct dec_ops parquet_ops = {"parquet", pq_feed, pq_finish, pq_destroy};

int dec_new_parquet(struct dec_env *env, unsigned nest, struct dec **out)
{
    struct dec_parquet *q = dec_alloc(sizeof(*q), &parquet_ops, env, nest);
    if (!q)
        return SGW_ENOMEM;
    *out = &q->base;
    return SGW_OK;
}

int dec_looks_parquet(const uint8_t *b, size_t n)
{
    return n >= 5 && memcmp(b, "PAR1", 4) == 0 && b[4] == 0x15;
}
