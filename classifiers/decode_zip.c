/* classifiers/decode_zip.c — zip archives (application/zip, Office Open XML
 * documents: docx, xlsx, pptx; OpenDocument; sniffed "PK\3\4"), read as a
 * stream (catalogue 4.1 case 29: extract up to a depth and size limit).
 *
 * The entries are read from their local headers in order, as they come,
 * without the central directory (which is at the end): each entry's name
 * is data (then the context of its content), its extra field is data, and
 * its content (stored, or deflated: zlib) goes through the decoder of the
 * type its name says (.xml, .rels → XML; .txt, .csv → text; .json → JSON;
 * an image → uninspectable; a zip, docx… → this decoder again, up to
 * DEC_MAX_NEST; other names sniffed). What follows the last entry (the
 * central directory, the archive comment) is scanned as raw bytes.
 *
 * A stored entry whose size is only known after it (bit 3) ends at the
 * data descriptor that matches it (zip_stored_dd).
 *
 * Refused (uninspectable, the rest of the archive with it): encrypted
 * entries, methods other than stored and deflate, zip64 sizes without
 * their extra field, anything but a zip signature where a header belongs,
 * a truncated archive, and the bomb limits over all entries (dec_bomb_ok).
 *
 * Why by hand: libzip and minizip need the central directory (seekable
 * input) and libarchive pulls its input through a blocking callback; a
 * streaming reader of local headers is the part of zip this needs, and zlib
 * does the inflating. Memory is fixed (one z_stream); any split of the
 * input gives the same events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "classifiers/decode_internal.h"

#define ZIP_OUT 16384u
#define ZIP_NAME 255u    /* bytes of a name kept to choose its decoder */
#define ZIP_EXTRA 256u   /* bytes of an extra field looked through for zip64 sizes */
#define ZIP_LOCAL 30u    /* local file header */
#define ZIP_NEED_MAX 24u /* the longest data descriptor: signature, CRC, two 8-byte sizes */
#define ZIP_DD 4096u     /* a stored entry of unknown size is looked through this much at a time */
#define ZIP_BOOK_HOLD (16u << 20) /* an xlsx's worksheets, shared strings and styles held */

/* An xlsx part held until the workbook can show its cells (decode_xlsx.c) */
enum zip_part { ZK_NONE, ZK_SHEET, ZK_SST, ZK_STYLES };

struct zip_held {
    char *name;
    size_t name_len;
    uint8_t *b;
    size_t n;
};

enum zip_state {
    ZP_SIG,       /* the next record's signature */
    ZP_HEAD,      /* the rest of a local file header */
    ZP_NAME,      /* an entry's name */
    ZP_EXTRA,     /* its extra field */
    ZP_STORED,    /* stored content: `left` bytes */
    ZP_STORED_DD, /* stored content of unknown size: up to its data descriptor */
    ZP_DEFLATE,   /* deflated content, up to the end of its stream */
    ZP_DESC,      /* a data descriptor after the content */
    ZP_TAIL,      /* the central directory and what follows: raw */
};

struct dec_zip {
    struct dec base;
    enum zip_state st;
    int z_inited;
    int zip64; /* the entry's sizes are 8 bytes in its descriptor */
    uint16_t flags, method, nlen, xlen;
    uint64_t csize, usize;
    uint64_t left; /* bytes of the current field or content still to come */
    size_t hlen;   /* bytes in hdr[] */
    size_t need;   /* ZP_DESC: bytes of the descriptor */
    size_t name_len, extra_len;
    struct dec *entry; /* owned: the decoder of the current entry's content */
    uint64_t got;      /* ZP_STORED_DD: content bytes passed on */
    uint32_t crc;      /* ... and their CRC-32 */
    size_t dd_len;     /* ... bytes in dd[] not yet decided on */
    struct dec_bomb bomb;
    /* an xlsx: its book, and the worksheets held until the shared strings
       and the styles are read (over the hold, nothing more is held) */
    struct dec_book *book;
    struct zip_held *held;
    size_t n_held, held_cap;
    uint64_t held_bytes;
    int book_full, sst_done, styles_done, book_ended;
    z_stream zs;
    uint8_t hdr[ZIP_LOCAL];
    char name[ZIP_NAME + 1];
    uint8_t extra[ZIP_EXTRA];
    uint8_t out[ZIP_OUT];
    uint8_t dd[ZIP_DD + ZIP_NEED_MAX];
};

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- xlsx parts ---- */

struct dec_hold {
    struct dec base;
    struct dec_zip *z;
    enum zip_part kind;
    char *name;
    size_t name_len;
    uint8_t *b;
    size_t n, cap;
    struct dec *pass; /* over the hold: the part's decoder, fed at once */
};

static enum zip_part zip_part_kind(const char *n, size_t len)
{
    static const char ws[] = "xl/worksheets/";
    if (len == 20 && memcmp(n, "xl/sharedStrings.xml", 20) == 0)
        return ZK_SST;
    if (len == 13 && memcmp(n, "xl/styles.xml", 13) == 0)
        return ZK_STYLES;
    if (len > sizeof(ws) + 3 && memcmp(n, ws, sizeof(ws) - 1) == 0 && memcmp(n + len - 4, ".xml", 4) == 0 &&
        !memchr(n + sizeof(ws) - 1, '/', len - (sizeof(ws) - 1)))
        return ZK_SHEET;
    return ZK_NONE;
}

/* A part's decoder: a worksheet's shows its cells through the book. */
static int zip_part_dec(struct dec_zip *z, enum zip_part kind, struct dec **out)
{
    if (kind == ZK_SHEET)
        return dec_new_xml_sheet(z->base.env, z->base.nest + 1, z->book, out);
    return dec_new_xml(z->base.env, z->base.nest + 1, 0, out);
}

/* A part read whole b[0..n) through its decoder, under its name. */
static int zip_part_read(struct dec_zip *z, enum zip_part kind, const char *name, size_t nlen,
                         const uint8_t *b, size_t n)
{
    struct dec_env *env = z->base.env;
    int rc = dec_text_boundary(env);
    if (rc == SGW_OK)
        rc = dec_text_context(env, (const uint8_t *)name, nlen);
    if (rc != SGW_OK)
        return rc;
    struct dec *w = NULL;
    rc = zip_part_dec(z, kind, &w);
    return dec_once(w, rc, b, n);
}

/* The held worksheets are read now, with what the book has. */
static int zip_release(struct dec_zip *z)
{
    int rc = SGW_OK;
    for (size_t i = 0; i < z->n_held; i++) {
        struct zip_held *h = &z->held[i];
        if (rc == SGW_OK)
            rc = zip_part_read(z, ZK_SHEET, h->name, h->name_len, h->b, h->n);
        z->held_bytes -= h->n;
        free(h->b);
        free(h->name);
    }
    z->n_held = 0;
    return rc;
}

/* The end of the workbook (the archive's, or where it broke): the held
 * worksheets, then the strings no cell showed. */
static int zip_book_end(struct dec_zip *z)
{
    if (!z->book || z->book_ended)
        return SGW_OK;
    z->book_ended = 1;
    int rc = zip_release(z);
    return rc == SGW_OK ? dec_book_rest(z->book, z->base.env) : rc;
}

/* A part is whole: the shared strings and styles are read into the book
 * (and the styles, or shared strings the book cannot read, as XML); a
 * worksheet is read, or held while the book is not complete. Takes b. */
static int zip_part_end(struct dec_zip *z, struct dec_hold *h)
{
    int rc = SGW_OK;
    uint8_t *b = h->b;
    h->b = NULL;
    if (h->kind == ZK_SHEET && !(z->sst_done && z->styles_done) && !z->book_full) {
        if (z->n_held == z->held_cap) {
            size_t c2 = z->held_cap ? 2 * z->held_cap : 8;
            struct zip_held *g = realloc(z->held, c2 * sizeof(*g));
            if (!g) {
                free(b);
                return SGW_ENOMEM;
            }
            z->held = g;
            z->held_cap = c2;
        }
        struct zip_held *e = &z->held[z->n_held++];
        e->b = b;
        e->n = h->n;
        e->name = h->name;
        e->name_len = h->name_len;
        h->name = NULL;
        return SGW_OK; /* (held_bytes counted it already) */
    }
    z->held_bytes -= h->n;
    if (h->kind == ZK_SST) {
        rc = dec_book_sst(z->book, b, h->n);
        z->sst_done = 1;
        if (rc == SGW_ERR) /* (not what the reader knows: as XML) */
            rc = zip_part_read(z, ZK_SST, h->name, h->name_len, b, h->n);
    } else if (h->kind == ZK_STYLES) {
        rc = dec_book_styles(z->book, b, h->n);
        z->styles_done = 1;
        rc = rc == SGW_ERR ? SGW_OK : rc;
        if (rc == SGW_OK)
            rc = zip_part_read(z, ZK_STYLES, h->name, h->name_len, b, h->n);
    } else {
        rc = zip_part_read(z, ZK_SHEET, h->name, h->name_len, b, h->n);
    }
    free(b);
    if (rc == SGW_OK && z->sst_done && z->styles_done)
        rc = zip_release(z);
    return rc;
}

static int hold_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_hold *h = (struct dec_hold *)d;
    struct dec_zip *z = h->z;
    if (h->pass)
        return dec_feed(h->pass, p, n);
    if (z->held_bytes + n > ZIP_BOOK_HOLD || z->book_full) {
        /* over the hold: what is held is read now, and this part as it comes */
        z->book_full = 1;
        int rc = zip_release(z);
        if (rc == SGW_OK)
            rc = zip_part_dec(z, h->kind, &h->pass);
        if (rc == SGW_OK)
            rc = dec_feed(h->pass, h->b, h->n);
        z->held_bytes -= h->n;
        free(h->b);
        h->b = NULL;
        h->n = 0;
        return rc == SGW_OK ? dec_feed(h->pass, p, n) : rc;
    }
    if (h->n + n > h->cap) {
        size_t c2 = h->cap ? h->cap : 16384;
        while (c2 < h->n + n)
            c2 *= 2;
        uint8_t *g = realloc(h->b, c2);
        if (!g)
            return SGW_ENOMEM;
        h->b = g;
        h->cap = c2;
    }
    memcpy(h->b + h->n, p, n);
    h->n += n;
    z->held_bytes += n;
    return SGW_OK;
}

static int hold_finish(struct dec *d)
{
    struct dec_hold *h = (struct dec_hold *)d;
    if (h->pass)
        return dec_finish(h->pass);
    return zip_part_end(h->z, h);
}

static void hold_destroy(struct dec *d)
{
    struct dec_hold *h = (struct dec_hold *)d;
    if (h->b)
        h->z->held_bytes -= h->n;
    free(h->b);
    free(h->name);
    dec_free(h->pass);
}

static const struct dec_ops hold_ops = {"xlsx", hold_feed, hold_finish, hold_destroy};

/* The decoder of an xlsx part's content: held. */
static int zip_hold_new(struct dec_zip *z, enum zip_part kind, struct dec **out)
{
    int rc = z->book ? SGW_OK : dec_book_new(z->base.env, &z->book);
    if (rc != SGW_OK)
        return rc;
    struct dec_hold *h = dec_alloc(sizeof(*h), &hold_ops, z->base.env, z->base.nest + 1);
    if (!h)
        return SGW_ENOMEM;
    h->z = z;
    h->kind = kind;
    h->name = malloc(z->name_len + 1);
    if (!h->name) {
        dec_free(&h->base);
        return SGW_ENOMEM;
    }
    memcpy(h->name, z->name, z->name_len);
    h->name_len = z->name_len;
    *out = &h->base;
    return SGW_OK;
}

static int zip_fail(struct dec_zip *z, const char *reason)
{
    /* what an xlsx part held so far is read first: nothing is dropped */
    int rc = SGW_OK;
    if (z->entry && z->entry->ops == &hold_ops)
        rc = dec_close(&z->entry);
    if (rc == SGW_OK)
        rc = zip_book_end(z);
    return rc == SGW_OK ? dec_fail(&z->base, 0, "%s", reason) : rc;
}

/* The local header is complete: check it, then the name comes. */
static int zip_head(struct dec_zip *z)
{
    const uint8_t *h = z->hdr;
    z->flags = le16(h + 6);
    z->method = le16(h + 8);
    z->csize = le32(h + 18);
    z->usize = le32(h + 22);
    z->nlen = le16(h + 26);
    z->xlen = le16(h + 28);
    if (z->flags & 1)
        return zip_fail(z, "encrypted zip entry");
    if (z->method != 0 && z->method != 8) {
        char why[DEC_REASON_LEN];
        snprintf(why, sizeof(why), "zip entry compressed with method %u", (unsigned)z->method);
        return zip_fail(z, why);
    }
    z->name_len = 0;
    z->extra_len = 0;
    z->zip64 = 0;
    z->st = ZP_NAME;
    z->left = z->nlen;
    return SGW_OK;
}

/* Name and extra field are read: the entry's decoder is made and its
 * content comes. */
static int zip_entry_begin(struct dec_zip *z)
{
    struct dec *d = &z->base;
    int rc = SGW_OK;
    if (z->extra_len)
        rc = dec_text_boundary(d->env); /* (the extra field's bytes were a unit) */
    /* zip64: the real sizes in extra field 0x0001 */
    for (size_t i = 0; rc == SGW_OK && i + 4 <= z->extra_len;) {
        uint16_t id = le16(z->extra + i), len = le16(z->extra + i + 2);
        if (id == 1) {
            z->zip64 = 1;
            const uint8_t *f = z->extra + i + 4;
            size_t fl = len <= z->extra_len - i - 4 ? len : z->extra_len - i - 4, at = 0;
            if (z->usize == 0xffffffffu && at + 8 <= fl) {
                z->usize = le64(f + at);
                at += 8;
            }
            if (z->csize == 0xffffffffu && at + 8 <= fl)
                z->csize = le64(f + at);
            break;
        }
        i += 4u + len;
    }
    if (rc != SGW_OK)
        return rc;
    if (z->method == 0 && z->csize == 0xffffffffu && !z->zip64)
        return zip_fail(z, "zip64 entry without its sizes");
    const char *type = cls_type_by_name(z->name, z->name_len);
    int dir = z->name_len && z->name[z->name_len - 1] == '/';
    enum zip_part part = dir ? ZK_NONE : zip_part_kind(z->name, z->name_len);
    if (part == ZK_SHEET && z->book && ((z->sst_done && z->styles_done) || z->book_full)) {
        rc = zip_part_dec(z, part, &z->entry); /* (the book is complete: as it comes) */
        if (rc != SGW_OK)
            return rc;
    } else if (part != ZK_NONE) {
        rc = zip_hold_new(z, part, &z->entry);
        if (rc != SGW_OK)
            return rc;
    } else if (!dir) {
        rc = dec_build_nested(d->env, type, type ? strlen(type) : 0, d->nest + 1, "zip entry",
                              &z->entry);
        if (rc != SGW_OK)
            return rc;
    }
    if (z->method == 0 && (z->flags & 8)) {
        z->st = ZP_STORED_DD;
        z->got = 0;
        z->crc = (uint32_t)crc32(0L, Z_NULL, 0);
        z->dd_len = 0;
        return SGW_OK;
    }
    if (z->method == 0) {
        z->st = ZP_STORED;
        z->left = z->csize;
        return SGW_OK;
    }
    if (!z->z_inited) {
        if (inflateInit2(&z->zs, -MAX_WBITS) != Z_OK)
            return SGW_ENOMEM;
        z->z_inited = 1;
    } else if (inflateReset(&z->zs) != Z_OK) {
        return zip_fail(z, "malformed zip archive");
    }
    z->st = ZP_DEFLATE;
    return SGW_OK;
}

/* The current entry's content is complete. */
static int zip_entry_end(struct dec_zip *z)
{
    int rc = dec_close(&z->entry);
    if (z->flags & 8) {
        z->st = ZP_DESC;
        z->hlen = 0;
        z->need = 4; /* decided once the first four bytes are in */
    } else {
        z->st = ZP_SIG;
        z->hlen = 0;
    }
    return rc;
}

static int zip_content(struct dec_zip *z, const uint8_t *p, size_t n)
{
    return z->entry && n ? dec_feed(z->entry, p, n) : SGW_OK;
}

static int zip_emit(void *arg, const uint8_t *p, size_t n)
{
    return zip_content(arg, p, n);
}

/* Content bytes of a stored entry of unknown size, decided on: passed on
 * and counted into its CRC. */
static int zip_dd_commit(struct dec_zip *z, const uint8_t *p, size_t n)
{
    z->crc = (uint32_t)crc32(z->crc, p, (uInt)n);
    z->got += n;
    return zip_content(z, p, n);
}

/* A stored entry of unknown size (bit 3: streaming writers such as Go's
 * archive/zip and Python's zipfile on a pipe write them) ends at the data
 * descriptor whose signature, CRC-32 and sizes match the bytes before it.
 * Takes bytes of p into dd[] (ZIP_DD at most a call), passes on what cannot
 * begin such a descriptor, keeps the rest. Returns the bytes of p taken:
 * when the descriptor was found, those up to its end (the entry ended). The
 * CRC of the bytes before each candidate is carried from the one before, so
 * data full of signatures costs no more than other data. */
static size_t zip_stored_dd(struct dec_zip *z, const uint8_t *p, size_t n, int *rc)
{
    const size_t need = z->zip64 ? 24 : 16, held = z->dd_len;
    size_t take = ZIP_DD - held < n ? ZIP_DD - held : n;
    memcpy(z->dd + held, p, take);
    size_t m = held + take, keep = m > 3 ? m - 3 : 0; /* (a signature may begin in the last 3) */
    uint32_t crc = z->crc;
    size_t crc_at = 0;
    *rc = SGW_OK;
    for (size_t s = 0; s + 4 <= m; s++) {
        const uint8_t *c = memmem(z->dd + s, m - s, "PK\x07\x08", 4);
        if (!c)
            break;
        s = (size_t)(c - z->dd);
        if (s + need > m) {
            keep = s; /* not all of it yet */
            break;
        }
        crc = (uint32_t)crc32(crc, z->dd + crc_at, (uInt)(s - crc_at));
        crc_at = s;
        uint64_t size = z->got + s;
        uint64_t cs = z->zip64 ? le64(c + 8) : le32(c + 8),
                 us = z->zip64 ? le64(c + 16) : le32(c + 12);
        if (le32(c + 4) == crc && cs == size && us == size) {
            *rc = zip_dd_commit(z, z->dd, s);
            z->dd_len = 0;
            z->flags &= (uint16_t)~8u; /* (the descriptor is read) */
            if (*rc == SGW_OK)
                *rc = zip_entry_end(z);
            return s + need - held; /* (the descriptor ends in p: held bytes were undecided) */
        }
    }
    *rc = zip_dd_commit(z, z->dd, keep);
    memmove(z->dd, z->dd + keep, m - keep);
    z->dd_len = m - keep;
    return take;
}

/* Inflates from p[0..n); returns the bytes used (the stream may end
 * before them). */
static size_t zip_inflate(struct dec_zip *z, const uint8_t *p, size_t n, int *rc)
{
    struct dec *d = &z->base;
    z->zs.next_in = (Bytef *)(uintptr_t)p;
    z->zs.avail_in = (uInt)n;
    *rc = SGW_OK;
    for (;;) {
        uInt before = z->zs.avail_in;
        size_t k;
        int r = dec_inflate_step(d, &z->zs, &z->bomb, z->out, sizeof(z->out), zip_emit, z, rc, &k);
        if (*rc != SGW_OK || d->dead)
            break;
        if (r == Z_NEED_DICT || r == Z_DATA_ERROR || r == Z_STREAM_ERROR) {
            *rc = zip_fail(z, "malformed deflate data in zip entry");
            break;
        }
        if (r == Z_STREAM_END) {
            *rc = zip_entry_end(z);
            break;
        }
        if (z->zs.avail_in == 0 && z->zs.avail_out != 0)
            break;
        if (r == Z_BUF_ERROR && k == 0 && before == z->zs.avail_in)
            break;
    }
    return n - z->zs.avail_in;
}

static int zip_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_zip *z = (struct dec_zip *)d;
    int rc = SGW_OK;
    size_t i = 0;
    while (i < n && rc == SGW_OK && !d->dead) {
        switch (z->st) {
        case ZP_SIG:
        case ZP_HEAD: {
            size_t want = z->st == ZP_SIG ? 4 : ZIP_LOCAL;
            size_t k = want - z->hlen < n - i ? want - z->hlen : n - i;
            memcpy(z->hdr + z->hlen, p + i, k);
            z->hlen += k;
            i += k;
            if (z->hlen < want)
                break;
            if (z->st == ZP_HEAD) {
                rc = zip_head(z);
                break;
            }
            uint32_t sig = le32(z->hdr);
            if (sig == 0x04034b50u) {
                z->st = ZP_HEAD;
            } else if (sig == 0x02014b50u || sig == 0x06054b50u || sig == 0x06064b50u ||
                       sig == 0x07064b50u) {
                /* the central directory and the end records: raw bytes
                   (after what a workbook held) */
                z->st = ZP_TAIL;
                rc = zip_book_end(z);
                if (rc == SGW_OK)
                    rc = dec_text_data(d->env, z->hdr, 4);
            } else {
                char why[DEC_REASON_LEN];
                snprintf(why, sizeof(why), "malformed zip archive at byte %llu",
                         (unsigned long long)(d->fed + i - 4));
                rc = zip_fail(z, why);
            }
            break;
        }
        case ZP_NAME:
        case ZP_EXTRA: {
            size_t k = z->left < n - i ? (size_t)z->left : n - i;
            if (z->st == ZP_NAME) {
                size_t keep = ZIP_NAME - z->name_len < k ? ZIP_NAME - z->name_len : k;
                memcpy(z->name + z->name_len, p + i, keep);
                z->name_len += keep;
            } else {
                size_t keep = ZIP_EXTRA - z->extra_len < k ? ZIP_EXTRA - z->extra_len : k;
                memcpy(z->extra + z->extra_len, p + i, keep);
                z->extra_len += keep;
            }
            rc = dec_text_data(d->env, p + i, k); /* names and extra fields are data */
            i += k;
            z->left -= k;
            if (rc != SGW_OK || z->left)
                break;
            if (z->st == ZP_NAME) {
                rc = dec_text_boundary(d->env);
                if (rc == SGW_OK)
                    rc = dec_text_context(d->env, (const uint8_t *)z->name, z->name_len);
                z->st = ZP_EXTRA;
                z->left = z->xlen;
                if (z->left)
                    break;
            }
            rc = zip_entry_begin(z);
            break;
        }
        case ZP_STORED: {
            size_t k = z->left < n - i ? (size_t)z->left : n - i;
            rc = zip_content(z, p + i, k);
            i += k;
            z->left -= k;
            if (rc == SGW_OK && z->left == 0)
                rc = zip_entry_end(z);
            break;
        }
        case ZP_STORED_DD:
            i += zip_stored_dd(z, p + i, n - i, &rc);
            break;
        case ZP_DEFLATE: {
            size_t used = zip_inflate(z, p + i, n - i, &rc);
            if (used == 0 && rc == SGW_OK && !d->dead && z->st == ZP_DEFLATE)
                rc = zip_fail(z, "malformed deflate data in zip entry"); /* (no progress) */
            i += used;
            break;
        }
        case ZP_DESC: {
            size_t k = z->need - z->hlen < n - i ? z->need - z->hlen : n - i;
            memcpy(z->hdr + z->hlen, p + i, k);
            z->hlen += k;
            i += k;
            if (z->hlen < z->need)
                break;
            if (z->need == 4) {
                /* an optional signature, the CRC, two sizes of 4 or 8 bytes */
                size_t sizes = z->zip64 ? 16 : 8;
                z->need = (le32(z->hdr) == 0x08074b50u ? 8 : 4) + sizes;
                break;
            }
            z->st = ZP_SIG;
            z->hlen = 0;
            break;
        }
        case ZP_TAIL:
            rc = dec_text_data(d->env, p + i, n - i);
            i = n;
            break;
        }
    }
    return rc;
}

static int zip_finish(struct dec *d)
{
    struct dec_zip *z = (struct dec_zip *)d;
    if (d->dead)
        return SGW_OK;
    if (z->st == ZP_TAIL)
        return dec_text_boundary(d->env);
    if (z->st == ZP_SIG && z->hlen == 0)
        return zip_book_end(z);
    /* cut inside a record: what came of it goes on; the rest is missing */
    if (z->st == ZP_STORED_DD && z->dd_len) {
        int rc = zip_content(z, z->dd, z->dd_len);
        if (rc != SGW_OK)
            return rc;
    }
    int rc = dec_close(&z->entry);
    if (rc == SGW_OK && (z->st == ZP_NAME || z->st == ZP_EXTRA))
        rc = dec_text_boundary(d->env);
    return rc != SGW_OK ? rc : zip_fail(z, "truncated zip archive");
}

static void zip_destroy(struct dec *d)
{
    struct dec_zip *z = (struct dec_zip *)d;
    dec_free(z->entry);
    z->entry = NULL;
    for (size_t i = 0; i < z->n_held; i++) {
        free(z->held[i].b);
        free(z->held[i].name);
    }
    free(z->held);
    dec_book_free(z->book);
    if (z->z_inited)
        inflateEnd(&z->zs);
}

static const struct dec_ops zip_ops = {"zip", zip_feed, zip_finish, zip_destroy};

int dec_new_zip(struct dec_env *env, unsigned nest, struct dec **out)
{
    if (nest + 1 > DEC_MAX_NEST)
        return dec_new_reject(env, nest, "decoder nesting too deep", out);
    struct dec_zip *z =
        dec_alloc_head(sizeof(*z), offsetof(struct dec_zip, name), &zip_ops, env, nest);
    if (!z)
        return SGW_ENOMEM;
    *out = &z->base;
    return SGW_OK;
}
