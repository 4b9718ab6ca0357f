/* classifiers/decode_ole.c — OLE2 compound files (Microsoft's Compound
 * File Binary format): legacy Word (.doc) and Excel (.xls) documents, which
 * Amazon Bedrock's Converse takes as `document` blocks, and whatever else
 * is stored that way (PowerPoint 97, Outlook .msg, an Office file's
 * embedded objects).
 *
 * A compound file is a small file system (a FAT, a directory, a mini
 * stream) that can only be read with random access, so the file is held
 * whole (16 MiB at most) and read at its end:
 *  - Word 97-2003: the text of the document (body, footnotes, headers,
 *    comments, text boxes: every piece of the piece table), 8-bit pieces
 *    as Windows-1252, the others UTF-16;
 *  - Excel 97-2003 (BIFF8, and BIFF5's labels): each sheet's cells in
 *    order, a row a line and its cells apart by tabs (strings through the
 *    shared string table, numbers as decimals, formulas' cached results),
 *    the sheets' names, headers, footers and comments (TXO), and the
 *    shared strings no cell refers to;
 *  - a stream that begins as a known format (an embedded zip, PDF, OLE
 *    file, image, or an OLE package's file) goes through the sniffer, so
 *    an embedded workbook is read and an image is reported;
 *  - every other stream, and every Excel record not read above: its
 *    printable runs, 8-bit and UTF-16 (property sets, PowerPoint's text,
 *    a message's fields).
 *
 * Uninspectable: a file that is no compound file or whose tables do not
 * hold together, an encrypted document or workbook, a cut file, past the
 * hold, and (once) images stored in the document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/decode_internal.h"

#define OLE_HOLD (16u << 20)
#define OLE_RUN_MIN DEC_RUN_MIN /* printable characters of a run passed on */
#define OLE_DEPTH 16u     /* storages inside storages */
#define OLE_END 0xfffffffeu
#define OLE_FREE 0xffffffffu
#define OLE_NONE 0xffffffffu /* no directory entry */

struct dec_ole {
    struct dec base;
    uint8_t *buf;
    size_t len, cap;
    int over;
};

/* the parsed file (while it is read at the end) */
struct ole {
    struct dec_ole *d;
    struct dec_env *env;
    const uint8_t *b;
    size_t n;
    unsigned ssz;          /* sector size */
    uint32_t *fat;
    size_t nfat;
    uint32_t *mfat;        /* mini FAT */
    size_t nmfat;
    uint8_t *mini;         /* the mini stream */
    size_t nmini;
    uint8_t *dir;
    size_t ndir;           /* entries (128 bytes each) */
    uint8_t *seen;         /* entries visited */
    uint8_t *used;         /* sectors read (of nsec) */
    uint8_t *mused;        /* mini sectors read (of nmini / 64, rounded up) */
    size_t nsec;
    int v3;                /* major version 3: sizes are 32 bits */
    uint64_t out;          /* text bytes passed on (cells, pieces) */
    int bombed;            /* ... past the limit: reported */
    int reported_image;
};

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- text out: code points into UTF-8 units ---- */

struct ole;

struct tout {
    struct ole *f;
    size_t n;
    int rc;
    struct sst *into; /* set: the text goes into the shared string table */
    uint8_t *cap;     /* set: the first cap_max bytes out are kept there too */
    size_t cap_len, cap_max;
    uint8_t b[4096];
};

struct sst {
    uint8_t *txt;     /* the strings' UTF-8, one after another */
    size_t tlen, tcap;
    uint32_t *off;    /* string i is txt[off[i]..off[i + 1]) */
    uint8_t *used;
    size_t n;
};

/* Text out, within the chain's limit on decoded bytes: shared strings
 * shown by many cells and pieces of a document that overlap can make far
 * more text than the file holds (a bomb: reported, and reading stops). */
static void t_flush(struct tout *t)
{
    struct ole *f = t->f;
    if (t->rc == SGW_OK && t->n && t->into) {
        t->rc = dec_append(&t->into->txt, &t->into->tlen, &t->into->tcap, t->b, t->n);
    } else if (t->rc == SGW_OK && t->n) {
        f->out += t->n;
        if (f->out > f->env->lim.max_decoded) {
            int rc = f->bombed ? SGW_OK
                               : dec_env_fail(f->env, CLS_FF_BOMB, "OLE document's text over %llu bytes",
                                              (unsigned long long)f->env->lim.max_decoded);
            f->bombed = 1;
            t->rc = rc != SGW_OK ? rc : SGW_ELIMIT; /* (ole_read: SGW_OK again) */
        } else {
            if (t->cap && t->cap_len < t->cap_max) {
                size_t k = t->n < t->cap_max - t->cap_len ? t->n : t->cap_max - t->cap_len;
                memcpy(t->cap + t->cap_len, t->b, k);
                t->cap_len += k;
            }
            t->rc = dec_text_data(f->env, t->b, t->n);
        }
    }
    t->n = 0;
}

static void t_put(struct tout *t, uint32_t cp)
{
    if (t->n + 4 > sizeof(t->b))
        t_flush(t);
    t->n += dec_utf8_put(cp, t->b + t->n);
}

static void t_str(struct tout *t, const char *s)
{
    while (*s)
        t_put(t, (uint8_t)*s++);
}

/* ends the unit (when it has text) */
static void t_end(struct tout *t, int *open)
{
    t_flush(t);
    if (*open && t->rc == SGW_OK)
        t->rc = dec_text_boundary(t->f->env);
    *open = 0;
}

/* Windows-1252's 0x80-0x9f (0: not assigned) */
static const uint16_t cp1252_hi[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178};

static uint32_t cp1252(uint8_t c)
{
    return c >= 0x80 && c < 0xa0 ? (cp1252_hi[c - 0x80] ? cp1252_hi[c - 0x80] : ' ') : c;
}

/* ---- runs of printable text in binary data ---- */

/* (U+xx00 is as good as never text, and it is what an 8-bit byte next to
 * a NUL reads as: binary tables of numbers) */
static int u16_printable(uint32_t u)
{
    if (u >= 0x100 && (u & 0xff) == 0)
        return 0;
    return (u >= 0x20 && u < 0x7f) || u == '\t' || (u >= 0xa0 && u < 0x2000) || (u >= 0x3000 && u < 0xd800) ||
           (u >= 0xf900 && u < 0xfff0);
}

/* p[0..n)'s runs of OLE_RUN_MIN printable characters or more: 8-bit
 * (ASCII) and UTF-16LE, each a unit. */
static int ole_runs(struct ole *f, const uint8_t *p, size_t n)
{
    int rc = dec_text_runs(f->env, p, n, OLE_RUN_MIN, 0);
    for (unsigned odd = 0; odd < 2 && rc == SGW_OK; odd++) {
        size_t i = odd;
        while (i + 1 < n && rc == SGW_OK) {
            size_t j = i;
            while (j + 1 < n && u16_printable(le16(p + j)))
                j += 2;
            if ((j - i) / 2 >= OLE_RUN_MIN) {
                struct tout t = {.f = f};
                size_t ascii = 0;
                for (size_t k = i; k < j; k += 2) {
                    uint32_t u = le16(p + k);
                    ascii += u < 0x80;
                    t_put(&t, u);
                }
                /* (a run of two-byte letters is as often binary: one that
                   is half ASCII or more is text) */
                if (ascii * 2 >= (j - i) / 2) {
                    int open = 1;
                    t_end(&t, &open);
                    rc = t.rc;
                }
            }
            i = j + 2;
        }
    }
    return rc;
}

/* ---- the compound file ---- */

/* The chain from `start` in fat[0..nfat) of sectors of `size` bytes taken
 * from base[0..blen) (sector s at (s + first) * size): `want` bytes (or,
 * when want is SIZE_MAX, the whole chain) into a new buffer, *got its
 * length, used[s] set for each sector read (when used, and only when the
 * whole chain was). NULL (*bad set) when the chain leaves the tables,
 * loops or ends early. */
static uint8_t *ole_chain(const uint32_t *fat, size_t nfat, const uint8_t *base, size_t blen, size_t size,
                          size_t first, uint32_t start, size_t want, size_t *got, int *bad, uint8_t *used)
{
    size_t cap = want == SIZE_MAX ? 0 : want, len = 0, steps = 0;
    uint32_t s = start;
    *got = 0;
    if (want != SIZE_MAX && want > blen) { /* (more than the sectors hold) */
        *bad = 1;
        return NULL;
    }
    uint8_t *out = malloc(cap ? cap : 1);
    if (!out || want == 0)
        return out;
    while (s != OLE_END && (want == SIZE_MAX || len < want)) {
        size_t off = ((size_t)s + first) * size;
        if (s >= nfat || ++steps > nfat || off >= blen) {
            free(out);
            *bad = 1;
            return NULL;
        }
        size_t take = size;
        if (off + take > blen)
            take = blen - off; /* (the last sector may end the file early) */
        if (want != SIZE_MAX && take > want - len)
            take = want - len;
        if (dec_append(&out, &len, &cap, base + off, take) != SGW_OK) {
            free(out);
            return NULL;
        }
        s = fat[s];
    }
    if (want != SIZE_MAX && len < want) {
        free(out);
        *bad = 1;
        return NULL;
    }
    /* its sectors are read (marked only now: those of a chain that broke
       are left to the unused sectors' runs) */
    for (size_t k = 0, t = start; used && k < steps; k++, t = fat[t])
        used[t] = 1;
    *got = len;
    return out;
}

/* The FAT: the sectors the header's DIFAT (and its chain of DIFAT
 * sectors) lists. 0 or the reason it is bad. */
static const char *ole_fat(struct ole *f)
{
    const uint8_t *h = f->b;
    size_t nsec = f->nsec, per = f->ssz / 4;
    uint32_t nfatsec = le32(h + 44), difat = le32(h + 68), ndifat = le32(h + 72);
    if (nfatsec == 0 || nfatsec > nsec)
        return "bad FAT size";
    f->nfat = (size_t)nfatsec * per;
    f->fat = malloc(f->nfat * sizeof(uint32_t));
    if (!f->fat)
        return "";
    size_t k = 0;
    const uint8_t *list = h + 76;
    size_t nlist = 109, steps = 0;
    while (k < nfatsec) {
        for (size_t i = 0; i < nlist && k < nfatsec; i++, k++) {
            uint32_t s = le32(list + 4 * i);
            size_t off = ((size_t)s + 1) * f->ssz;
            if (s >= nsec || off + f->ssz > f->n)
                return "FAT sector outside the file";
            f->used[s] = 1;
            for (size_t e = 0; e < per; e++)
                f->fat[k * per + e] = le32(f->b + off + 4 * e);
        }
        if (k < nfatsec) {
            size_t off = ((size_t)difat + 1) * f->ssz;
            if (difat >= nsec || off + f->ssz > f->n || ++steps > ndifat)
                return "bad DIFAT chain";
            f->used[difat] = 1;
            list = f->b + off;
            nlist = per - 1;
            difat = le32(list + 4 * nlist);
        }
    }
    return NULL;
}

/* An entry's name (UTF-16 in the entry) is `name` (ASCII, case ignored). */
static int ent_is(const uint8_t *e, const char *name)
{
    size_t nl = le16(e + 64), k = strlen(name);
    if (nl != 2 * (k + 1) || nl > 64)
        return 0;
    for (size_t i = 0; i < k; i++) {
        uint16_t c = le16(e + 2 * i);
        uint8_t a = (uint8_t)name[i];
        if (c >= 'A' && c <= 'Z')
            c |= 0x20;
        if (a >= 'A' && a <= 'Z')
            a |= 0x20;
        if (c != a)
            return 0;
    }
    return 1;
}

static const uint8_t *ent(struct ole *f, uint32_t id)
{
    return id < f->ndir ? f->dir + (size_t)id * 128 : NULL;
}

/* A stream's bytes (a new buffer), from the mini stream when it is small. */
static uint8_t *ole_stream(struct ole *f, const uint8_t *e, size_t *len, int *bad)
{
    uint64_t size = le32(e + 120) | (f->v3 ? 0 : (uint64_t)le32(e + 124) << 32);
    uint32_t start = le32(e + 116);
    if (size > f->n) {
        *bad = 1;
        return NULL;
    }
    if (size < le32(f->b + 56)) /* the mini stream's cutoff (4,096) */
        return ole_chain(f->mfat, f->nmfat, f->mini, f->nmini, 64, 0, start, (size_t)size, len, bad, f->mused);
    return ole_chain(f->fat, f->nfat, f->b, f->n, f->ssz, 1, start, (size_t)size, len, bad, f->used);
}

/* ---- Word 97-2003 ---- */

/* one character of the document's text (Word's marks as text); *prev
 * the one before */
static void word_char(struct tout *t, uint32_t c, uint32_t *prev)
{
    uint32_t p = *prev;
    *prev = c;
    if (c == 0x07 && p == 0x07) {
        t_put(t, '\n'); /* a row's end follows its last cell's */
        *prev = 0;
        return;
    }
    switch (c) {
    case 0x0d: case 0x0b: case 0x0c: case 0x0e:
        t_put(t, '\n'); /* paragraph, line, page, column */
        break;
    case 0x07: case 0x09:
        t_put(t, '\t'); /* a table cell's end, a tab */
        break;
    case 0x1e:
        t_put(t, '-'); /* non-breaking hyphen */
        break;
    case 0x1f: case 0x01: case 0x02: case 0x05: case 0x08:
        break; /* optional hyphen, anchors of pictures, notes, comments, drawings */
    default:
        t_put(t, c < 0x20 ? ' ' : c); /* field marks (0x13-0x15) and the rest */
    }
}

/* The text of every piece of the piece table (the Clx in the table
 * stream): 0, or the reason the structure is not Word's. */
static const char *word_text(struct ole *f, const uint8_t *doc, size_t dn, const uint8_t *tbl, size_t tn, int *rc)
{
    if (dn < 160)
        return "short";
    size_t csw = le16(doc + 32), at = 34 + 2 * csw;
    if (at + 2 > dn)
        return "short";
    size_t cslw = le16(doc + at);
    at += 2 + 4 * cslw;
    if (at + 2 > dn)
        return "short";
    size_t cb = le16(doc + at), blob = at + 2;
    if (cb < 34 || blob + 8 * 34 > dn)
        return "no piece table";
    size_t fc = le32(doc + blob + 33 * 8), lcb = le32(doc + blob + 33 * 8 + 4);
    if (!tbl || fc > tn || lcb > tn - fc || lcb < 5)
        return "no piece table";
    const uint8_t *c = tbl + fc, *ce = c + lcb;
    while (c < ce && c[0] == 1) { /* Prc: property modifiers */
        if (ce - c < 3)
            return "bad piece table";
        size_t k = le16(c + 1);
        if (k > (size_t)(ce - c) - 3)
            return "bad piece table";
        c += 3 + k;
    }
    if (ce - c < 5 || c[0] != 2)
        return "bad piece table";
    size_t plen = le32(c + 1);
    c += 5;
    if (plen > (size_t)(ce - c) || plen < 4 || (plen - 4) % 12)
        return "bad piece table";
    size_t np = (plen - 4) / 12;
    const uint8_t *pcd = c + 4 * (np + 1);
    struct tout t = {.f = f};
    int open = 0;
    const char *why = NULL;
    uint32_t prev = 0;
    uint8_t *cov = calloc(dn / 8 + 1, 1); /* the bytes the pieces cover */
    if (!cov) {
        *rc = SGW_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < np && t.rc == SGW_OK; i++) {
        uint32_t cp0 = le32(c + 4 * i), cp1 = le32(c + 4 * i + 4), pfc = le32(pcd + 8 * i + 2);
        if (cp1 < cp0) {
            why = "bad piece table";
            break;
        }
        size_t cnt = cp1 - cp0;
        if (pfc & 0x40000000u) { /* 8-bit text at fc / 2 */
            size_t off = (pfc & ~0x40000000u) / 2;
            if (off > dn || cnt > dn - off) {
                why = "piece outside the document";
                break;
            }
            for (size_t k = 0; k < cnt; k++) {
                word_char(&t, cp1252(doc[off + k]), &prev);
                cov[(off + k) / 8] |= (uint8_t)(1u << ((off + k) % 8));
            }
        } else {
            size_t off = pfc;
            if (off > dn || cnt > (dn - off) / 2) {
                why = "piece outside the document";
                break;
            }
            for (size_t k = 0; k < cnt; k++) {
                uint32_t u = le16(doc + off + 2 * k);
                if (u >= 0xd800 && u < 0xdc00 && k + 1 < cnt) {
                    uint32_t l = le16(doc + off + 2 * k + 2);
                    if (l >= 0xdc00 && l < 0xe000) {
                        u = 0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00);
                        k++;
                    }
                }
                word_char(&t, u >= 0xd800 && u < 0xe000 ? 0xfffd : u, &prev);
            }
            for (size_t k = off; k < off + 2 * cnt; k++)
                cov[k / 8] |= (uint8_t)(1u << (k % 8));
        }
        open |= cnt > 0;
    }
    t_end(&t, &open); /* (what was read, as a unit of its own) */
    *rc = t.rc;
    /* the rest of the stream: text a fast save or an edit left outside
       the pieces (the header and formatting hold no runs) */
    for (size_t a = 0; !why && a < dn && *rc == SGW_OK;) {
        if (cov[a / 8] & (1u << (a % 8))) {
            a++;
            continue;
        }
        size_t b = a;
        while (b < dn && !(cov[b / 8] & (1u << (b % 8))))
            b++;
        *rc = ole_runs(f, doc + a, b - a);
        a = b;
    }
    free(cov);
    return why;
}

/* A storage's Word document: encrypted ones reported; one whose tables
 * do not read is read as runs (its text is in them). */
static int word_doc(struct ole *f, const uint8_t *doc, size_t dn, const uint8_t *t0, size_t n0, const uint8_t *t1,
                    size_t n1)
{
    if (dn < 12 || le16(doc) != 0xa5ec)
        return ole_runs(f, doc, dn);
    uint16_t flags = le16(doc + 10);
    if (flags & 0x0100)
        return dec_env_fail(f->env, 0, "encrypted Word document");
    int rc = SGW_OK;
    const char *why = word_text(f, doc, dn, flags & 0x0200 ? t1 : t0, flags & 0x0200 ? n1 : n0, &rc);
    if (why && rc == SGW_OK)
        rc = ole_runs(f, doc, dn);
    return rc;
}

/* ---- Excel 97-2003 (BIFF8; BIFF5's labels) ---- */

/* A record and the CONTINUE records after it, read as one: the bytes of
 * each are recs[i], and characters of a string that go on in the next
 * record start with a new flags byte there. */
struct biff_rd {
    const uint8_t *wb;
    size_t wn;
    size_t rec;  /* offset of the current record's header */
    size_t pos;  /* read position in its body */
    size_t len;  /* its body's length */
    int bad;
};

static int rd_next_rec(struct biff_rd *r)
{
    size_t nx = r->rec + 4 + r->len;
    if (nx + 4 > r->wn || le16(r->wb + nx) != 0x003c || nx + 4 + le16(r->wb + nx + 2) > r->wn)
        return 0;
    r->rec = nx;
    r->len = le16(r->wb + nx + 2);
    r->pos = 0;
    return 1;
}

static const uint8_t *rd_body(struct biff_rd *r)
{
    return r->wb + r->rec + 4;
}

/* k bytes (crossing into CONTINUE records), or NULL (r->bad) */
static int rd_bytes(struct biff_rd *r, uint8_t *o, size_t k)
{
    while (k) {
        if (r->pos == r->len && !rd_next_rec(r)) {
            r->bad = 1;
            return 0;
        }
        size_t take = r->len - r->pos < k ? r->len - r->pos : k;
        if (o) {
            memcpy(o, rd_body(r) + r->pos, take);
            o += take;
        }
        r->pos += take;
        k -= take;
    }
    return 1;
}

/* a little-endian number of k bytes (k <= 4) */
static uint32_t rd_u(struct biff_rd *r, size_t k)
{
    uint8_t b[4] = {0};
    if (k > 4)
        k = 4;
    rd_bytes(r, b, k);
    return le32(b);
}

/* An XLUnicodeString's characters after its count: flags, runs' and
 * extension's counts, cch characters (a new flags byte where they go on in
 * a CONTINUE record), then the runs and the extension skipped. biff5: no
 * flags, 8-bit characters. */
static void rd_chars(struct biff_rd *r, size_t cch, int biff5, struct tout *t)
{
    unsigned fl = biff5 ? 0 : rd_u(r, 1);
    size_t runs = 0, ext = 0;
    if (fl & 0x08)
        runs = rd_u(r, 2);
    if (fl & 0x04)
        ext = rd_u(r, 4);
    for (size_t i = 0; i < cch && !r->bad; i++) {
        if (r->pos == r->len) {
            if (!rd_next_rec(r)) {
                r->bad = 1;
                break;
            }
            fl = (fl & ~1u) | rd_u(r, 1);
        }
        uint32_t c = fl & 1 ? rd_u(r, 2) : rd_u(r, 1);
        if (biff5)
            c = cp1252((uint8_t)c);
        t_put(t, c < 0x20 && c != '\t' && c != '\n' ? ' ' : c >= 0xd800 && c < 0xe000 ? 0xfffd : c);
    }
    rd_bytes(r, NULL, 4 * runs);
    rd_bytes(r, NULL, ext);
}

/* a cell's number as a decimal ("4111111111111111", "12.5") */
static void t_num(struct tout *t, double v)
{
    char s[40];
    if (v == v && v > -1e17 && v < 1e17 && v == (double)(long long)v)
        snprintf(s, sizeof(s), "%lld", (long long)v);
    else
        snprintf(s, sizeof(s), "%.15g", v);
    t_str(t, s);
}

static double rk_num(uint32_t rk)
{
    double v;
    if (rk & 2) {
        v = (double)((int32_t)rk >> 2);
    } else {
        uint64_t bits = (uint64_t)(rk & 0xfffffffcu) << 32;
        memcpy(&v, &bits, sizeof(v));
    }
    return rk & 1 ? v / 100 : v;
}

#define OLE_COLS 256u

/* A sheet's cells, each a unit: the sheet's first row names the columns,
 * and a later cell's context is the row's cell before it and its column's
 * name, as for CSV (decode_csv.c); numbers in a date format are shown as
 * dates. */
struct sheet {
    struct tout t;
    int open;       /* a unit has text */
    int cell;       /* the unit is a cell */
    uint32_t row, col;   /* the cell's */
    uint32_t frow, fcol; /* the formula's whose string comes next */
    uint32_t head;       /* the sheet's first row; UINT32_MAX: none yet */
    uint32_t prev_row;
    size_t prev_len;
    const uint8_t *xf_date; /* cell format i shows a date */
    size_t n_xf;
    uint8_t prev[DEC_CELL_PREV];
    uint8_t cur[DEC_CELL_NAME];
    uint8_t name_len[OLE_COLS];
    uint8_t names[OLE_COLS][DEC_CELL_NAME];
};

/* The unit ends; a cell's first bytes are kept (the column's name in the
 * first row, the cell before for the next). */
static int cell_close(struct sheet *sh)
{
    t_end(&sh->t, &sh->open);
    if (!sh->cell)
        return 0;
    sh->cell = 0;
    size_t n = sh->t.cap_len;
    sh->t.cap = NULL;
    if (sh->row == sh->head && sh->col < OLE_COLS) {
        memcpy(sh->names[sh->col], sh->cur, n);
        sh->name_len[sh->col] = (uint8_t)n;
    }
    sh->prev_len = n < DEC_CELL_PREV ? n : DEC_CELL_PREV;
    memcpy(sh->prev, sh->cur, sh->prev_len);
    sh->prev_row = sh->row;
    return 1;
}

/* The cells end (a unit of another kind comes): so does their context. */
static void cells_end(struct sheet *sh)
{
    if (cell_close(sh) && sh->t.rc == SGW_OK)
        sh->t.rc = dec_text_context(sh->t.f->env, sh->cur, 0);
}

/* A substream (the globals, a sheet) begins or ends. */
static void sheet_reset(struct sheet *sh)
{
    cells_end(sh);
    sh->head = UINT32_MAX;
    sh->prev_len = 0;
    memset(sh->name_len, 0, sizeof(sh->name_len));
}

/* A cell at (row, col) begins: its unit, under its context. */
static void cell_begin(struct sheet *sh, uint32_t row, uint32_t col)
{
    cell_close(sh);
    if (sh->t.rc != SGW_OK)
        return;
    if (sh->head == UINT32_MAX)
        sh->head = row;
    sh->cell = sh->open = 1;
    sh->row = row;
    sh->col = col;
    sh->t.cap = sh->cur;
    sh->t.cap_len = 0;
    sh->t.cap_max = sizeof(sh->cur);
    struct dec_env *env = sh->t.f->env;
    size_t pl = row == sh->prev_row && col > 0 ? sh->prev_len : 0;
    size_t nl = row != sh->head && col < OLE_COLS ? sh->name_len[col] : 0;
    int rc = pl + nl ? dec_cell_context(env, sh->prev, pl, sh->names[col < OLE_COLS ? col : 0], nl)
                     : dec_text_context(env, sh->cur, 0);
    if (sh->t.rc == SGW_OK)
        sh->t.rc = rc;
}

/* A cell's number in cell format xf: a date when the format shows one. */
static void cell_num(struct sheet *sh, unsigned xf, double v)
{
    char d[32];
    size_t k = xf < sh->n_xf && sh->xf_date[xf] ? dec_serial_date(v, d) : 0;
    if (k)
        t_str(&sh->t, d);
    else
        t_num(&sh->t, v);
}

/* The shared string table into s (the record at wb[rec]); a table that
 * ends before the strings it declares is also read as runs (what it holds
 * is passed on, even twice). */
static int sst_read(struct ole *f, const uint8_t *wb, size_t wn, size_t rec, struct sst *s)
{
    struct biff_rd r = {wb, wn, rec, 0, le16(wb + rec + 2), 0};
    rd_u(&r, 4);
    size_t want = rd_u(&r, 4);
    if (want > wn) /* (each string takes 3 bytes at least) */
        want = wn;
    s->off = malloc((want + 1) * sizeof(uint32_t));
    s->used = calloc(want + 1, 1);
    if (!s->off || !s->used)
        return SGW_ENOMEM;
    s->off[0] = 0;
    struct tout t = {.f = f, .into = s};
    while (s->n < want && !r.bad && t.rc == SGW_OK) {
        size_t cch = rd_u(&r, 2);
        if (r.bad)
            break;
        rd_chars(&r, cch, 0, &t);
        t_flush(&t);
        if (s->tlen > UINT32_MAX)
            break;
        s->off[++s->n] = (uint32_t)s->tlen;
    }
    if (t.rc != SGW_OK)
        return t.rc;
    if (s->n == want && !r.bad)
        return SGW_OK;
    int rc = SGW_OK;
    struct biff_rd q = {wb, wn, rec, 0, le16(wb + rec + 2), 0};
    do
        rc = ole_runs(f, rd_body(&q), q.len);
    while (rc == SGW_OK && rd_next_rec(&q));
    return rc;
}

static void sst_put(struct sst *s, size_t i, struct tout *t)
{
    if (i >= s->n)
        return;
    s->used[i] = 1;
    for (size_t k = s->off[i]; k < s->off[i + 1]; k++) {
        if (t->n + 1 > sizeof(t->b))
            t_flush(t);
        t->b[t->n++] = s->txt[k];
    }
}

/* 1 when ole_runs would pass something on from p[0..n) */
static int has_runs(const uint8_t *p, size_t n)
{
    size_t a = 0, u[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        a = (p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\t' ? a + 1 : 0;
        if (a >= OLE_RUN_MIN)
            return 1;
        if (i + 1 < n) {
            size_t *k = &u[i & 1];
            *k = u16_printable(le16(p + i)) ? *k + 1 : 0;
            if (*k >= OLE_RUN_MIN)
                return 1;
        }
    }
    return 0;
}

/* A unit of its own in a sheet (a comment, a header, a record's runs):
 * the cell's unit ends first, so units never interleave. */
static void sheet_break(struct sheet *sh)
{
    cells_end(sh);
}

static int sheet_runs(struct ole *f, struct sheet *sh, const uint8_t *p, size_t n)
{
    if (!has_runs(p, n))
        return SGW_OK;
    sheet_break(sh);
    return sh->t.rc == SGW_OK ? ole_runs(f, p, n) : sh->t.rc;
}

/* The workbook stream: its records in order. */
static int xls_book(struct ole *f, const uint8_t *wb, size_t wn)
{
    struct sst sst = {0};
    struct sheet sh = {.t = {.f = f}, .head = UINT32_MAX, .prev_row = UINT32_MAX};
    struct {
        unsigned id;
        int date;
    } fmt[64];
    size_t nfmt = 0, xf_cap = 0;
    uint8_t *xf_date = NULL;
    int rc = SGW_OK, biff5 = 0;
    size_t pos = 0;
    while (pos + 4 <= wn && rc == SGW_OK && sh.t.rc == SGW_OK) {
        uint16_t id = le16(wb + pos), len = le16(wb + pos + 2);
        const uint8_t *p = wb + pos + 4;
        if (pos + 4 + len > wn) {
            rc = dec_env_fail(f->env, 0, "truncated Excel workbook");
            break;
        }
        struct biff_rd r = {wb, wn, pos, 0, len, 0};
        switch (id) {
        case 0x0809: /* BOF: a substream (the globals, a sheet) starts */
            sheet_reset(&sh);
            biff5 = len >= 2 && le16(p) == 0x0500;
            break;
        case 0x000a: /* EOF */
            sheet_reset(&sh);
            break;
        case 0x041e: /* FORMAT: a number format's code (does it show a date?) */
            if (len >= 5 && nfmt < SGW_ARRAY_LEN(fmt)) {
                uint8_t code[256];
                size_t cch = biff5 ? p[2] : le16(p + 2), at = biff5 ? 3 : 5, w = !biff5 && (p[4] & 1);
                size_t k = 0;
                for (; k < cch && k < sizeof(code) && at + (k + 1) * (w + 1) <= len; k++)
                    code[k] = p[at + k * (w + 1)];
                fmt[nfmt].id = le16(p);
                fmt[nfmt++].date = dec_fmt_is_date(code, k);
            }
            break;
        case 0x00e0: /* XF: a cell format, numbered in order */
            if (len >= 4) {
                unsigned ifmt = le16(p + 2);
                int d = dec_fmt_builtin_date(ifmt);
                for (size_t k = 0; k < nfmt; k++)
                    d = fmt[k].id == ifmt ? fmt[k].date : d;
                if (sh.n_xf == xf_cap) {
                    size_t c2 = xf_cap ? 2 * xf_cap : 64;
                    uint8_t *g = realloc(xf_date, c2);
                    if (!g) {
                        rc = SGW_ENOMEM;
                        break;
                    }
                    xf_date = g;
                    xf_cap = c2;
                    sh.xf_date = g;
                }
                xf_date[sh.n_xf++] = (uint8_t)d;
            }
            break;
        case 0x002f: /* FILEPASS */
            rc = dec_env_fail(f->env, 0, "encrypted Excel workbook");
            pos = wn;
            continue;
        case 0x00fc: /* SST (its CONTINUE records with it) */
            if (!sst.off) {
                rc = sst_read(f, wb, wn, pos, &sst);
                while (rd_next_rec(&r))
                    ;
            } else {
                rc = sheet_runs(f, &sh, p, len); /* (a second table) */
            }
            break;
        case 0x00fd: /* LABELSST */
            if (len >= 10) {
                cell_begin(&sh, le16(p), le16(p + 2));
                sst_put(&sst, le32(p + 6), &sh.t);
            }
            break;
        case 0x0204: case 0x00d6: /* LABEL, RSTRING */
            if (len >= 8) {
                cell_begin(&sh, le16(p), le16(p + 2));
                rd_bytes(&r, NULL, 6);
                rd_chars(&r, rd_u(&r, 2), biff5, &sh.t);
            }
            break;
        case 0x0203: /* NUMBER */
            if (len >= 14) {
                double v;
                memcpy(&v, p + 6, 8);
                cell_begin(&sh, le16(p), le16(p + 2));
                cell_num(&sh, le16(p + 4), v);
            }
            break;
        case 0x027e: /* RK */
            if (len >= 10) {
                cell_begin(&sh, le16(p), le16(p + 2));
                cell_num(&sh, le16(p + 4), rk_num(le32(p + 6)));
            }
            break;
        case 0x00bd: /* MULRK: row, first column, (format, RK) per cell */
            for (size_t k = 4; k + 6 + 2 <= len; k += 6) {
                cell_begin(&sh, le16(p), (uint32_t)(le16(p + 2) + (k - 4) / 6));
                cell_num(&sh, le16(p + k), rk_num(le32(p + k + 2)));
            }
            break;
        case 0x0006: /* FORMULA: the cached number; a string comes in STRING */
            if (len >= 20) {
                sh.frow = le16(p);
                sh.fcol = le16(p + 2);
                if (le16(p + 12) != 0xffff) {
                    double v;
                    memcpy(&v, p + 6, 8);
                    cell_begin(&sh, le16(p), le16(p + 2));
                    cell_num(&sh, le16(p + 4), v);
                }
                rc = sheet_runs(f, &sh, p + 20, len - 20); /* (string constants) */
            }
            break;
        case 0x0207: /* STRING: a formula's string result */
            if (len >= 3) {
                cell_begin(&sh, sh.frow, sh.fcol);
                rd_chars(&r, rd_u(&r, 2), biff5, &sh.t);
            }
            break;
        case 0x0085: /* BOUNDSHEET: a sheet's name */
            if (len >= 8) {
                sheet_break(&sh);
                struct tout t = {.f = f};
                int open = 1;
                rd_bytes(&r, NULL, 6);
                size_t cch = rd_u(&r, 1);
                rd_chars(&r, cch, biff5, &t);
                t_end(&t, &open);
                rc = t.rc;
            }
            break;
        case 0x0014: case 0x0015: /* HEADER, FOOTER */
            if (len >= 3) {
                sheet_break(&sh);
                struct tout t = {.f = f};
                int open = 1;
                rd_chars(&r, rd_u(&r, 2), biff5, &t);
                t_end(&t, &open);
                rc = t.rc;
            }
            break;
        case 0x01b6: /* TXO: a comment's or text box's text in the CONTINUE after it */
            if (len >= 12 && rd_next_rec(&r)) {
                sheet_break(&sh);
                struct tout t = {.f = f};
                int open = 1;
                size_t cch = le16(p + 10);
                unsigned fl = rd_u(&r, 1);
                for (size_t i = 0; i < cch && !r.bad; i++) {
                    if (r.pos == r.len) {
                        if (!rd_next_rec(&r))
                            break;
                        fl = rd_u(&r, 1);
                    }
                    uint32_t c = fl & 1 ? rd_u(&r, 2) : rd_u(&r, 1);
                    t_put(&t, c < 0x20 && c != '\n' ? ' ' : c >= 0xd800 && c < 0xe000 ? 0xfffd : c);
                }
                t_end(&t, &open);
                rc = t.rc; /* (its formatting runs: the next CONTINUE, read as runs) */
            }
            break;
        case 0x003c: /* CONTINUE of a record not read above */
        default:
            rc = sheet_runs(f, &sh, p, len);
            break;
        }
        /* past the record and the CONTINUE records a reader took */
        if (r.rec > pos) {
            pos = r.rec;
            len = (uint16_t)r.len;
        }
        pos += 4 + (size_t)len;
    }
    cells_end(&sh);
    free(xf_date);
    if (rc == SGW_OK)
        rc = sh.t.rc;
    /* the shared strings no cell showed */
    for (size_t i = 0; i < sst.n && rc == SGW_OK; i++)
        if (!sst.used[i] && sst.off[i + 1] > sst.off[i]) {
            rc = dec_text_data(f->env, sst.txt + sst.off[i], sst.off[i + 1] - sst.off[i]);
            if (rc == SGW_OK)
                rc = dec_text_boundary(f->env);
        }
    free(sst.txt);
    free(sst.off);
    free(sst.used);
    return rc;
}

/* ---- streams and storages ---- */

/* An image anywhere in p[0..n): PNG, JPEG, GIF, TIFF, a placeable WMF,
 * or an EMF (its header record, type 1, with " EMF" 40 bytes in): the
 * pictures of a document and the previews of its embedded objects, as a
 * docx's media entries are. */
static int has_image(const uint8_t *p, size_t n)
{
    static const struct {
        const char *m;
        size_t len;
    } img[] = {{"\x89PNG\r\n\x1a\n", 8},         {"\xff\xd8\xff\xe0", 4},         {"\xff\xd8\xff\xe1", 4},
               {"\xff\xd8\xff\xdb", 4},            {"GIF89a", 6},                    {"GIF87a", 6},
               {"II*\x00\x08\x00\x00\x00", 8},       {"MM\x00*\x00\x00\x00\x08", 8},     {"\xd7\xcd\xc6\x9a\x00\x00", 6}};
    for (size_t i = 0; i < SGW_ARRAY_LEN(img); i++)
        if (memmem(p, n, img[i].m, img[i].len))
            return 1;
    for (const uint8_t *e = n > 44 ? memmem(p + 40, n - 40, " EMF", 4) : NULL; e;
         e = memmem(e + 1, (size_t)(p + n - e - 1), " EMF", 4))
        if (memcmp(e - 40, "\x01\x00\x00\x00", 4) == 0)
            return 1;
    return 0;
}

/* p[0..n) through the sniffer, as a file of its own */
static int ole_nested(struct ole *f, const uint8_t *p, size_t n)
{
    struct dec *w = NULL;
    int rc = dec_new_sniff(f->env, f->d->base.nest + 1, 0, "binary object in an OLE document not inspectable", &w);
    return dec_once(w, rc, p, n);
}

/* An OLE package (\1Ole10Native): its label and names as text, its file
 * through the sniffer. */
static int ole_package(struct ole *f, const uint8_t *p, size_t n)
{
    size_t i = 6, k;
    for (int s = 0; s < 2; s++) { /* label, file name */
        for (k = i; k < n && p[k]; k++)
            ;
        if (k >= n)
            return ole_runs(f, p, n);
        i = k + 1;
    }
    if (i + 8 > n)
        return ole_runs(f, p, n);
    size_t tl = le32(p + i + 4);
    if (tl > n - i - 8)
        return ole_runs(f, p, n);
    size_t at = i + 8 + tl;
    if (at + 4 > n || le32(p + at) > n - at - 4)
        return ole_runs(f, p, n);
    int rc = ole_runs(f, p, at);
    return rc == SGW_OK ? ole_nested(f, p + at + 4, le32(p + at)) : rc;
}

/* A stream no reader above takes. */
static int ole_other(struct ole *f, const uint8_t *e, const uint8_t *p, size_t n)
{
    if (ent_is(e, "\001Ole10Native"))
        return ole_package(f, p, n);
    if (has_image(p, n < 16 ? n : 16))
        return ole_runs(f, p, n); /* (reported as an image; a PNG's text chunks read) */
    if (dec_binary_magic(p, n) || dec_looks_pdf(p, n))
        return ole_nested(f, p, n);
    return ole_runs(f, p, n);
}

static int ole_storage(struct ole *f, uint32_t id, unsigned depth);

/* the entries under a storage (its children's red-black tree, in order)
 * into ids[0..*k) (a new array); an entry met twice is not read again */
static int ole_children(struct ole *f, uint32_t child, uint32_t **ids, size_t *k)
{
    uint32_t *stack = malloc(f->ndir * sizeof(uint32_t));
    *ids = malloc(f->ndir * sizeof(uint32_t));
    *k = 0;
    if (!stack || !*ids) {
        free(stack);
        return SGW_ENOMEM;
    }
    size_t sp = 0;
    uint32_t cur = child;
    while (cur != OLE_NONE || sp) {
        if (cur != OLE_NONE && cur < f->ndir && !f->seen[cur]) {
            f->seen[cur] = 1;
            stack[sp++] = cur;
            cur = le32(ent(f, cur) + 68); /* left */
        } else if (sp) {
            uint32_t top = stack[--sp];
            (*ids)[(*k)++] = top;
            cur = le32(ent(f, top) + 72); /* right */
        } else {
            cur = OLE_NONE;
        }
    }
    free(stack);
    return SGW_OK;
}

static int ole_storage(struct ole *f, uint32_t id, unsigned depth)
{
    const uint8_t *se = ent(f, id);
    uint32_t *ids = NULL;
    size_t k = 0;
    if (depth > OLE_DEPTH)
        return dec_env_fail(f->env, 0, "OLE storages nested too deep");
    int rc = ole_children(f, le32(se + 76), &ids, &k);
    /* the streams read together: Word's document and its table streams,
       Excel's workbook */
    uint32_t word = OLE_NONE, t0 = OLE_NONE, t1 = OLE_NONE, book = OLE_NONE;
    for (size_t i = 0; i < k; i++) {
        const uint8_t *e = ent(f, ids[i]);
        if (e[66] != 2)
            continue;
        if (ent_is(e, "WordDocument"))
            word = ids[i];
        else if (ent_is(e, "0Table"))
            t0 = ids[i];
        else if (ent_is(e, "1Table"))
            t1 = ids[i];
        else if (ent_is(e, "Workbook") || (book == OLE_NONE && ent_is(e, "Book")))
            book = ids[i];
    }
    if (word == OLE_NONE)
        t0 = t1 = OLE_NONE; /* (table streams without a document: read as others) */
    uint8_t *bw = NULL, *b0 = NULL, *b1 = NULL;
    size_t nw = 0, n0 = 0, n1 = 0;
    int bad = 0;
    if (rc == SGW_OK && word != OLE_NONE) {
        bw = ole_stream(f, ent(f, word), &nw, &bad);
        if (t0 != OLE_NONE)
            b0 = ole_stream(f, ent(f, t0), &n0, &bad);
        if (t1 != OLE_NONE)
            b1 = ole_stream(f, ent(f, t1), &n1, &bad);
        if (bw)
            rc = word_doc(f, bw, nw, b0, n0, b1, n1);
    }
    for (size_t i = 0; i < k && rc == SGW_OK; i++) {
        const uint8_t *e = ent(f, ids[i]);
        if (e[66] == 1) {
            rc = ole_storage(f, ids[i], depth + 1);
            continue;
        }
        if (e[66] != 2)
            continue;
        size_t n = 0;
        uint8_t *p = ids[i] == word ? bw : ids[i] == t0 ? b0 : ids[i] == t1 ? b1 : ole_stream(f, e, &n, &bad);
        if (ids[i] == word)
            n = nw;
        else if (ids[i] == t0)
            n = n0;
        else if (ids[i] == t1)
            n = n1;
        if (!p) {
            if (!bad)
                rc = SGW_ENOMEM;
            continue;
        }
        if (!f->reported_image && has_image(p, n)) {
            f->reported_image = 1;
            rc = dec_env_fail(f->env, 0, "image in an Office document");
        }
        if (rc != SGW_OK) {
        } else if (ids[i] == book) {
            rc = xls_book(f, p, n);
        } else if (ids[i] == t0 || ids[i] == t1) {
            rc = ole_runs(f, p, n); /* (names of authors, fonts, styles) */
        } else if (ids[i] != word) {
            rc = ole_other(f, e, p, n);
        }
        if (p != bw && p != b0 && p != b1)
            free(p);
    }
    free(bw);
    free(b0);
    free(b1);
    free(ids);
    if (rc == SGW_OK && bad)
        rc = dec_env_fail(f->env, 0, "OLE document cut or malformed (a stream outside the file)");
    return rc;
}

/* The runs of the sectors of base[0..blen) (sector s at (s + first) *
 * size) that used[0..nsec) does not mark, a run of them at a time. */
static int ole_unmarked(struct ole *f, const uint8_t *used, size_t nsec, const uint8_t *base, size_t blen,
                        size_t size, size_t first)
{
    int rc = SGW_OK;
    size_t s = 0;
    while (s < nsec && rc == SGW_OK) {
        if (used[s]) {
            s++;
            continue;
        }
        size_t e = s;
        while (e < nsec && !used[e])
            e++;
        size_t a = (s + first) * size, b = (e + first) * size;
        if (a < blen)
            rc = ole_runs(f, base + a, (b < blen ? b : blen) - a);
        s = e;
    }
    return rc;
}

/* The sectors and mini sectors no table and no stream reached (free ones:
 * what a save left behind, deleted text among it; orphaned streams):
 * their runs. */
static int ole_unused(struct ole *f)
{
    int rc = ole_unmarked(f, f->used, f->nsec, f->b, f->n, f->ssz, 1);
    return rc == SGW_OK ? ole_unmarked(f, f->mused, (f->nmini + 63) / 64, f->mini, f->nmini, 64, 0) : rc;
}

static void ole_free(struct ole *f)
{
    free(f->fat);
    free(f->mfat);
    free(f->mini);
    free(f->dir);
    free(f->seen);
    free(f->used);
    free(f->mused);
}

static int ole_read(struct dec_ole *d)
{
    struct ole f = {.d = d, .env = d->base.env, .b = d->buf, .n = d->len};
    const uint8_t *h = d->buf;
    const char *why = NULL;
    int rc = SGW_OK, bad = 0;
    if (!dec_looks_ole(h, d->len))
        return dec_fail(&d->base, 0, "malformed OLE document (no signature)");
    if (d->len < 512)
        return dec_fail(&d->base, 0, "truncated OLE document");
    unsigned major = le16(h + 26), shift = le16(h + 30);
    if (!((major == 3 && shift == 9) || (major == 4 && shift == 12)) || le16(h + 32) != 6)
        return dec_fail(&d->base, 0, "malformed OLE document (version)");
    f.v3 = major == 3;
    f.ssz = 1u << shift;
    if (d->len < f.ssz + f.ssz) /* the header's sector, then one at least */
        return dec_fail(&d->base, 0, "truncated OLE document");
    f.nsec = (f.n - 1) / f.ssz; /* (the header takes the first sector's room) */
    f.used = calloc(f.nsec, 1);
    why = f.used ? ole_fat(&f) : "";
    if (!why) {
        f.dir = ole_chain(f.fat, f.nfat, f.b, f.n, f.ssz, 1, le32(h + 48), SIZE_MAX, &f.ndir, &bad, f.used);
        f.ndir /= 128;
        if (!f.dir || f.ndir == 0 || f.dir[66] != 5)
            why = "bad directory";
    }
    if (!why) {
        size_t nm = 0;
        uint8_t *m = le32(h + 64) ? ole_chain(f.fat, f.nfat, f.b, f.n, f.ssz, 1, le32(h + 60),
                                              (size_t)le32(h + 64) * f.ssz, &nm, &bad, f.used)
                                  : calloc(1, 1);
        f.mfat = malloc(nm / 4 * sizeof(uint32_t) + 4);
        if (m && f.mfat) {
            f.nmfat = nm / 4;
            for (size_t i = 0; i < f.nmfat; i++)
                f.mfat[i] = le32(m + 4 * i);
        } else {
            why = "bad mini FAT";
        }
        free(m);
    }
    if (!why) {
        size_t msize = le32(f.dir + 120);
        f.mini = msize ? ole_chain(f.fat, f.nfat, f.b, f.n, f.ssz, 1, le32(f.dir + 116), msize, &f.nmini, &bad,
                                     f.used)
                       : calloc(1, 1);
        f.seen = calloc(f.ndir, 1);
        f.mused = calloc(f.nmini / 64 + 1, 1);
        if (!f.mini)
            why = "bad mini stream";
        else if (!f.seen || !f.mused)
            rc = SGW_ENOMEM;
    }
    if (!why && rc == SGW_OK) {
        f.seen[0] = 1;
        rc = ole_storage(&f, 0, 0);
        if (f.bombed && rc == SGW_ELIMIT) {
            ole_free(&f);
            return SGW_OK; /* (reported) */
        }
    }
    if (why && why[0] == '\0') {
        rc = SGW_ENOMEM;
    } else if (why && rc == SGW_OK) {
        rc = dec_fail(&d->base, 0, "OLE document cut or malformed (%s)", why);
        if (rc == SGW_OK)
            rc = ole_runs(&f, f.b + 512, f.n - 512); /* (what it holds as text) */
    } else if (rc == SGW_OK) {
        rc = ole_unused(&f);
    }
    ole_free(&f);
    return rc;
}

static int ole_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_ole *o = (struct dec_ole *)d;
    if (o->over)
        return SGW_OK;
    if (o->len + n > OLE_HOLD) {
        o->over = 1;
        return dec_fail(d, 0, "OLE document over %u MiB", OLE_HOLD >> 20);
    }
    return dec_append(&o->buf, &o->len, &o->cap, p, n);
}

static int ole_finish(struct dec *d)
{
    struct dec_ole *o = (struct dec_ole *)d;
    if (o->over || o->len == 0)
        return SGW_OK;
    return ole_read(o);
}

static void ole_destroy(struct dec *d)
{
    free(((struct dec_ole *)d)->buf);
}

static const struct dec_ops ole_ops = {"ole", ole_feed, ole_finish, ole_destroy};

int dec_new_ole(struct dec_env *env, unsigned nest, struct dec **out)
{
    struct dec_ole *o = dec_alloc(sizeof(*o), &ole_ops, env, nest);
    if (!o)
        return SGW_ENOMEM;
    *out = &o->base;
    return SGW_OK;
}

int dec_looks_ole(const uint8_t *b, size_t n)
{
    return n >= 8 && memcmp(b, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) == 0;
}
