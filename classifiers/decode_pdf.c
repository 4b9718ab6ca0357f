/* classifiers/decode_pdf.c — PDF documents (application/pdf, `.pdf`,
 * sniffed by `%PDF-`, and a PDF in a base64 run: Amazon Bedrock Converse's
 * `document` blocks, PDFs put to S3 for Textract or a knowledge base).
 *
 * Read as a stream, object after object, with no cross-reference table
 * (it is at the end): each object's dictionary is parsed; its text strings
 * (the document's Info, annotations, form field values, bookmarks, link
 * targets) are data under their key as context. Streams are decoded
 * (none or FlateDecode) by what their dictionary says they are:
 *  - page and form content: the strings of the text operators (Tj, TJ, ',
 *    ") are held with the font they were shown in, and decoded at the end
 *    of the document, when every font is known (writers such as cairo and
 *    LibreOffice put the fonts after the pages): through the font's
 *    ToUnicode map, else its simple encoding (WinAnsi);
 *  - ToUnicode maps (bfchar, bfrange): kept for that;
 *  - object streams (PDF 1.5): their objects read as above;
 *  - XMP metadata: XML; embedded files: their own type, or sniffed;
 *  - images (and inline images): uninspectable, once per document, the
 *    text read all the same;
 *  - font programs, cross-reference streams, colour profiles and other
 *    binary streams: printable runs of 8 bytes or more (a font streamed,
 *    not held: it may be megabytes).
 *
 * Uninspectable, the document: encryption (its strings and streams are
 * ciphertext). Uninspectable, the rest read: a stream filter other than
 * FlateDecode (unless the stream is skipped anyway), a compressed stream
 * that is malformed or cut, text in a two-byte font without a Unicode map,
 * past the holds below. Memory is bounded by them, not by the document.
 *
 * Why by hand: PDF libraries (poppler, qpdf, MuPDF) want the whole file
 * and its cross-reference table; a gateway sees the bytes once, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "classifiers/decode_internal.h"

#define PDF_OBJ_HOLD (1u << 20)     /* an object's dictionary (outside a stream) */
#define PDF_STREAM_HOLD (4u << 20)  /* a content stream, a map, an object stream, decoded */
#define PDF_TEXT_HOLD (2u << 20)    /* shown strings waiting for their fonts */
#define PDF_MAX_ENTRIES (1u << 18)  /* fonts, map entries, page links, code ranges each */
#define PDF_MAX_DEPTH 64u           /* arrays and dictionaries inside each other */
#define PDF_NAME_MAX 64u            /* a font's resource name */
#define PDF_RUN_MIN DEC_RUN_MIN     /* printable bytes of a binary stream passed on */
#define PDF_OUT 16384u

enum pdf_mode {
    PM_TOP,    /* between and inside objects */
    PM_EOL,    /* after `stream`: its line end */
    PM_EOL_CR, /* ... a CR of it seen */
    PM_STREAM, /* a stream's data */
};

enum pdf_kind {
    SK_SKIP,    /* an image (reported), or anything of an encrypted document */
    SK_RUNS,    /* a font program, xref stream, colour profile: printable runs, streamed */
    SK_HOLD,    /* content, ToUnicode map or binary: decided at its end */
    SK_OBJSTM,  /* an object stream */
    SK_NESTED,  /* an embedded file or XMP metadata: its own decoder */
};

/* ---- lexer ---- */

enum { PT_END, PT_NUM, PT_NAME, PT_STR, PT_HEX, PT_DOPEN, PT_DCLOSE, PT_AOPEN, PT_ACLOSE, PT_KW };

struct ptok {
    int t;
    size_t s, e; /* the token's bytes (a name without its '/', a string with its delimiters) */
};

static int pdf_space(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0;
}

static int pdf_delim(uint8_t c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' || c == '}' ||
           c == '/' || c == '%';
}

/* The next token of b[*pos..n). PT_END when there is none, or (final == 0)
 * when the token may go on past n: *pos then stays at its start. */
static int pdf_lex(const uint8_t *b, size_t n, size_t *pos, struct ptok *k, int final)
{
    size_t i = *pos;
    for (;;) {
        while (i < n && pdf_space(b[i]))
            i++;
        if (i < n && b[i] == '%') {
            size_t j = i;
            while (j < n && b[j] != '\n' && b[j] != '\r')
                j++;
            if (j == n && !final) {
                *pos = i;
                return PT_END;
            }
            i = j;
            continue;
        }
        break;
    }
    *pos = i;
    if (i >= n)
        return PT_END;
    k->s = i;
    uint8_t c = b[i];
    size_t j = i + 1;
    if (c == '(') {
        unsigned depth = 1;
        while (j < n && depth) {
            if (b[j] == '\\')
                j++;
            else if (b[j] == '(')
                depth++;
            else if (b[j] == ')')
                depth--;
            j++;
        }
        if (depth || j > n) {
            if (!final)
                return PT_END;
            j = n;
        }
        k->t = PT_STR;
    } else if (c == '<' && j < n && b[j] == '<') {
        j++;
        k->t = PT_DOPEN;
    } else if (c == '<') {
        while (j < n && b[j] != '>')
            j++;
        if (j >= n && !final)
            return PT_END;
        j = j < n ? j + 1 : n;
        k->t = PT_HEX;
    } else if (c == '>') {
        if (j >= n && !final)
            return PT_END;
        j += j < n && b[j] == '>';
        k->t = PT_DCLOSE;
    } else if (c == '[' || c == ']' || c == '{' || c == '}' || c == ')') {
        k->t = c == '[' ? PT_AOPEN : c == ']' ? PT_ACLOSE : PT_KW;
    } else {
        if (c == '/')
            k->s = j;
        while (j < n && !pdf_space(b[j]) && !pdf_delim(b[j]))
            j++;
        if (j >= n && !final)
            return PT_END;
        if (c == '/') {
            k->t = PT_NAME;
        } else {
            int num = 1;
            for (size_t x = i; x < j; x++)
                num &= (b[x] >= '0' && b[x] <= '9') || b[x] == '.' || b[x] == '-' || b[x] == '+';
            k->t = num ? PT_NUM : PT_KW;
        }
    }
    k->e = j;
    *pos = j;
    return k->t;
}

static int tok_is(const uint8_t *b, const struct ptok *k, const char *w)
{
    size_t l = strlen(w);
    return k->e - k->s == l && memcmp(b + k->s, w, l) == 0;
}

static long long tok_int(const uint8_t *b, const struct ptok *k)
{
    long long v = 0;
    int neg = 0;
    size_t i = k->s;
    if (i < k->e && (b[i] == '-' || b[i] == '+'))
        neg = b[i++] == '-';
    for (; i < k->e && b[i] >= '0' && b[i] <= '9'; i++)
        if (v < (1ll << 40))
            v = v * 10 + (b[i] - '0');
    return neg ? -v : v;
}

static double tok_num(const uint8_t *b, const struct ptok *k)
{
    char t[32];
    size_t l = k->e - k->s < sizeof(t) - 1 ? k->e - k->s : sizeof(t) - 1;
    memcpy(t, b + k->s, l);
    t[l] = 0;
    return strtod(t, NULL);
}

/* ---- values (an object's dictionary, parsed whole) ---- */

enum { PV_NULL, PV_NUM, PV_NAME, PV_STR, PV_HEX, PV_ARR, PV_DICT, PV_REF, PV_KW };

struct pval {
    uint8_t t;
    uint32_t s, e;   /* bytes, as the token's */
    uint32_t child;  /* arrays, dictionaries: first member (0: none; dicts: key, value, ...) */
    uint32_t next;   /* the next member (0: none) */
    uint32_t ref;    /* PV_REF: the object number */
};

struct pparse {
    const uint8_t *b;
    size_t n, pos;
    struct pval *v;
    size_t nv, cap;
    int bad;
};

static uint32_t pv_new(struct pparse *pp, uint8_t t, size_t s, size_t e)
{
    if (pp->nv == pp->cap) {
        size_t cap = pp->cap ? pp->cap * 2 : 256;
        struct pval *v = realloc(pp->v, cap * sizeof(*v));
        if (!v) {
            pp->bad = 1;
            return 0;
        }
        pp->v = v;
        pp->cap = cap;
    }
    pp->v[pp->nv] = (struct pval){.t = t, .s = (uint32_t)s, .e = (uint32_t)e};
    return (uint32_t)pp->nv++;
}

/* One value at pp->pos (index into pp->v, 0 when there is none: v[0] is a
 * placeholder). */
static uint32_t pv_parse(struct pparse *pp, unsigned depth)
{
    struct ptok k;
    size_t save = pp->pos;
    int t = pdf_lex(pp->b, pp->n, &pp->pos, &k, 1);
    if (t == PT_END || pp->bad)
        return 0;
    switch (t) {
    case PT_NUM: {
        /* N G R: a reference */
        size_t p2 = pp->pos;
        struct ptok k2, k3;
        if (pdf_lex(pp->b, pp->n, &p2, &k2, 1) == PT_NUM && pdf_lex(pp->b, pp->n, &p2, &k3, 1) == PT_KW &&
            tok_is(pp->b, &k3, "R")) {
            uint32_t r = pv_new(pp, PV_REF, k.s, k3.e);
            if (r)
                pp->v[r].ref = (uint32_t)tok_int(pp->b, &k);
            pp->pos = p2;
            return r;
        }
        return pv_new(pp, PV_NUM, k.s, k.e);
    }
    case PT_NAME:
        return pv_new(pp, PV_NAME, k.s, k.e);
    case PT_STR:
        return pv_new(pp, PV_STR, k.s, k.e);
    case PT_HEX:
        return pv_new(pp, PV_HEX, k.s, k.e);
    case PT_AOPEN:
    case PT_DOPEN: {
        if (depth >= PDF_MAX_DEPTH) {
            pp->bad = 1;
            return 0;
        }
        uint32_t me = pv_new(pp, t == PT_AOPEN ? PV_ARR : PV_DICT, k.s, k.e);
        if (!me)
            return 0;
        uint32_t last = 0;
        for (;;) {
            size_t p2 = pp->pos;
            struct ptok c;
            int ct = pdf_lex(pp->b, pp->n, &p2, &c, 1);
            if (ct == PT_END)
                break;
            if (ct == (t == PT_AOPEN ? PT_ACLOSE : PT_DCLOSE)) {
                pp->pos = p2;
                break;
            }
            if (ct == PT_ACLOSE || ct == PT_DCLOSE) { /* the wrong closer: stop here */
                pp->pos = p2;
                break;
            }
            uint32_t m = pv_parse(pp, depth + 1);
            if (!m)
                break;
            if (last)
                pp->v[last].next = m;
            else
                pp->v[me].child = m;
            last = m;
        }
        return me;
    }
    case PT_KW:
        if (tok_is(pp->b, &k, "null"))
            return pv_new(pp, PV_NULL, k.s, k.e);
        if (tok_is(pp->b, &k, "endobj") || tok_is(pp->b, &k, "stream") || tok_is(pp->b, &k, "obj")) {
            pp->pos = save;
            return 0;
        }
        return pv_new(pp, PV_KW, k.s, k.e);
    default:
        return pv_new(pp, PV_KW, k.s, k.e); /* (a stray closer) */
    }
}

static int pv_name_is(const struct pparse *pp, uint32_t i, const char *w)
{
    if (!i || pp->v[i].t != PV_NAME)
        return 0;
    size_t l = strlen(w);
    return pp->v[i].e - pp->v[i].s == l && memcmp(pp->b + pp->v[i].s, w, l) == 0;
}

/* The value of key `w` in dictionary d (0: none). */
static uint32_t pv_get(const struct pparse *pp, uint32_t d, const char *w)
{
    if (!d || pp->v[d].t != PV_DICT)
        return 0;
    for (uint32_t k = pp->v[d].child; k; k = pp->v[pp->v[k].next].next) {
        uint32_t val = pp->v[k].next;
        if (!val)
            break;
        if (pv_name_is(pp, k, w))
            return val;
    }
    return 0;
}

static long long pv_int(const struct pparse *pp, uint32_t i, long long dflt)
{
    if (!i || pp->v[i].t != PV_NUM)
        return dflt;
    struct ptok k = {.s = pp->v[i].s, .e = pp->v[i].e};
    return tok_int(pp->b, &k);
}

static uint32_t pv_ref(const struct pparse *pp, uint32_t i)
{
    return i && pp->v[i].t == PV_REF ? pp->v[i].ref : 0;
}

/* ---- the decoder ---- */

struct pdf_font {
    uint32_t num, tounicode, seq; /* seq: order of definition (the last wins) */
    uint8_t two;  /* Type0: two-byte codes unless its map says otherwise */
};

struct pdf_mapent { /* a font's resource name in a font map */
    uint32_t owner, font, seq;
    uint8_t len;
    char name[PDF_NAME_MAX];
};

struct pdf_node { /* what a page, a resources dictionary or a form says of its fonts */
    uint32_t num, parent, res, fontmap, seq;
};

struct pdf_link { /* a content stream of a page */
    uint32_t stream, page;
};

struct pdf_range { /* a ToUnicode map's code, or codes */
    uint32_t owner, lo, hi;
    uint8_t nbytes, ncp;
    uint32_t cp[4];
};

#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }

struct dec_pdf {
    struct dec base;
    enum pdf_mode mode;
    enum pdf_kind kind;
    int in_obj;           /* between `N G obj` and `endobj` */
    int obj_done;         /* the object's dictionary was read (at `stream`) */
    int encrypted;
    int reported_image, reported_font, reported_hold;
    int trailer;          /* a `trailer` keyword: its dictionary follows */
    uint64_t codes_mapped, codes_unmapped; /* shown codes of fonts with a map */
    size_t run_len;       /* SK_RUNS: bytes of the current printable run (PDF_RUN_MIN: passed on) */
    uint8_t run[PDF_RUN_MIN];
    int junk;             /* text between objects was passed on (a boundary due) */
    long long nums[2];    /* the last two numbers at the top level */
    int n_nums;
    uint32_t obj_num;     /* the current object */
    size_t obj_start;     /* where its value begins in obuf */
    size_t lpos;          /* how far obuf was lexed */
    uint8_t *obuf;
    size_t olen, ocap;
    /* the current stream */
    long long left;       /* its bytes still to come (-1: up to `endstream`) */
    unsigned match;       /* bytes of `endstream` matched (left < 0) */
    int flate, zinit, zend, zbad;
    int ascii;            /* 1 ASCII85, 2 ASCIIHex before Flate (or alone) */
    int a_end;            /* ... its end seen */
    unsigned a_cnt;       /* ... digits of the current group */
    uint32_t a_acc;
    z_stream zs;
    struct dec_bomb bomb;
    uint32_t s_num;       /* its object */
    long long s_first, s_n; /* an object stream's /First and /N */
    struct dec *nested;   /* owned: an embedded file's or metadata's decoder */
    uint8_t *hold;        /* a held stream's decoded bytes */
    size_t hlen, hcap;
    int hold_over;
    /* the document's facts */
    VEC(struct pdf_font) fonts;
    VEC(struct pdf_mapent) maps;
    VEC(struct pdf_node) nodes;
    VEC(struct pdf_link) links;
    VEC(struct pdf_range) ranges;
    VEC(uint8_t) text;    /* records of shown strings (see rec_*) */
    uint8_t out[PDF_OUT];
};

#define VEC_PUSH(d, vec, item, rcvar)                                                              \
    do {                                                                                           \
        if ((vec).n == (vec).cap) {                                                                \
            size_t cap_ = (vec).cap ? (vec).cap * 2 : 16;                                          \
            void *nv_ = cap_ <= PDF_MAX_ENTRIES ? realloc((vec).v, cap_ * sizeof(*(vec).v)) : NULL; \
            if (!nv_) {                                                                            \
                rcvar = cap_ <= PDF_MAX_ENTRIES ? SGW_ENOMEM : pdf_over(d, "PDF with too many fonts or maps"); \
                break;                                                                             \
            }                                                                                      \
            (vec).v = nv_;                                                                         \
            (vec).cap = cap_;                                                                      \
        }                                                                                          \
        (vec).v[(vec).n++] = (item);                                                               \
    } while (0)

static int pdf_over(struct dec_pdf *d, const char *why)
{
    if (d->reported_hold)
        return SGW_OK;
    d->reported_hold = 1;
    return dec_env_fail(d->base.env, 0, "%s", why);
}

/* ---- text out ---- */

static const uint16_t winansi_80[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178};

static uint32_t winansi(uint8_t c)
{
    if (c >= 0x80 && c < 0xa0)
        return winansi_80[c - 0x80] ? winansi_80[c - 0x80] : ' ';
    return c < 0x20 ? ' ' : c;
}

/* Buffered text output (flushed at every boundary). */
struct tout {
    struct dec_pdf *d;
    size_t n;
    int rc;
};

static void tout_flush(struct tout *o)
{
    if (o->n && o->rc == SGW_OK)
        o->rc = dec_text_data(o->d->base.env, o->d->out, o->n);
    o->n = 0;
}

static void tout_cp(struct tout *o, uint32_t cp)
{
    if (o->n + 4 > sizeof(o->d->out))
        tout_flush(o);
    if ((cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
        cp = 0xfffd; /* (a lone surrogate, past Unicode) */
    o->n += dec_utf8_put(cp, o->d->out + o->n);
}

static void tout_end(struct tout *o)
{
    tout_flush(o);
    if (o->rc == SGW_OK)
        o->rc = dec_text_boundary(o->d->base.env);
}

/* A literal string's bytes, escapes resolved, into dst (room >= its length). */
static size_t lit_unescape(const uint8_t *s, size_t n, uint8_t *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c != '\\') {
            if (c == '\r') { /* an end of line is a line feed */
                c = '\n';
                if (i + 1 < n && s[i + 1] == '\n')
                    i++;
            }
            dst[o++] = c;
            continue;
        }
        if (++i >= n)
            break;
        c = s[i];
        switch (c) {
        case 'n': dst[o++] = '\n'; break;
        case 'r': dst[o++] = '\r'; break;
        case 't': dst[o++] = '\t'; break;
        case 'b': dst[o++] = '\b'; break;
        case 'f': dst[o++] = '\f'; break;
        case '\r':
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
            break; /* a continued line */
        case '\n':
            break;
        default:
            if (c >= '0' && c <= '7') {
                unsigned v = 0, k = 0;
                while (k < 3 && i < n && s[i] >= '0' && s[i] <= '7') {
                    v = v * 8 + (unsigned)(s[i] - '0');
                    i++;
                    k++;
                }
                i--;
                dst[o++] = (uint8_t)v;
            } else {
                dst[o++] = c;
            }
        }
    }
    return o;
}

/* A hex string's bytes (blanks skipped, an odd last digit padded with 0). */
static size_t hex_unescape(const uint8_t *s, size_t n, uint8_t *dst)
{
    size_t o = 0;
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        int v = dec_hexval(s[i]);
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            dst[o++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0)
        dst[o++] = (uint8_t)(hi << 4);
    return o;
}

/* A string token's bytes (with its delimiters) decoded into a new buffer. */
static uint8_t *str_bytes(const uint8_t *b, size_t s, size_t e, int hex, size_t *len)
{
    size_t n = e - s;
    uint8_t *o = malloc(n ? n : 1);
    if (!o)
        return NULL;
    /* (the closer may be missing at the end of a held buffer) */
    size_t in_s = s + 1, in_e = e > s + 1 && b[e - 1] == (hex ? '>' : ')') ? e - 1 : e;
    *len = hex ? hex_unescape(b + in_s, in_e - in_s, o) : lit_unescape(b + in_s, in_e - in_s, o);
    return o;
}

/* A text string of a dictionary (UTF-16BE with its BOM, UTF-8 with its BOM,
 * else PDFDocEncoding, read as WinAnsi) as one text unit under `key`;
 * binary strings (ids, hashes) are no text. */
static int emit_text_string(struct dec_pdf *d, const uint8_t *key, size_t kl, const uint8_t *s, size_t n)
{
    int u16 = n >= 2 && s[0] == 0xfe && s[1] == 0xff;
    size_t i0 = u16 ? 2 : n >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf ? 3 : 0;
    if (i0 >= n)
        return SGW_OK;
    if (!u16) {
        size_t printable = 0;
        for (size_t j = i0; j < n; j++)
            printable += (s[j] >= 0x20 && s[j] < 0x7f) || s[j] == '\n' || s[j] == '\t' || s[j] >= 0xa0;
        if (printable * 2 < n - i0) /* (binary: what can be read of it) */
            return dec_text_runs(d->base.env, s + i0, n - i0, PDF_RUN_MIN, 0);
    }
    struct tout o = {.d = d};
    if (kl)
        o.rc = dec_text_context(d->base.env, key, kl < DEC_CONTEXT_MAX ? kl : DEC_CONTEXT_MAX);
    for (size_t i = i0; i < n && o.rc == SGW_OK; i++) {
        uint32_t cp;
        if (u16) {
            if (i + 1 >= n)
                break;
            cp = (uint32_t)s[i] << 8 | s[i + 1];
            i++;
            if (cp >= 0xd800 && cp < 0xdc00 && i + 2 < n) {
                uint32_t l = (uint32_t)s[i + 1] << 8 | s[i + 2];
                if (l >= 0xdc00 && l < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (l - 0xdc00);
                    i += 2;
                }
            }
        } else if (i0 == 3) { /* UTF-8: its bytes as they are */
            if (o.n + 1 > sizeof(d->out))
                tout_flush(&o);
            d->out[o.n++] = s[i] < 0x20 && s[i] != '\n' && s[i] != '\t' ? ' ' : s[i];
            continue;
        } else {
            cp = s[i] == '\n' || s[i] == '\t' ? s[i] : winansi(s[i]);
        }
        tout_cp(&o, cp < 0x20 && cp != '\n' && cp != '\t' ? ' ' : cp);
    }
    tout_end(&o);
    return o.rc;
}

/* ---- an object's facts ---- */

/* Strings of the file's machinery, not its content: 1 for ids and
 * encryption values (their printable runs alone go on: they are binary),
 * 2 for dates (skipped when they are PDF dates, `D:` and digits: a date
 * key holding anything else is read). */
static int key_kind(const uint8_t *k, size_t kl)
{
    static const char *const bin[] = {"ID", "O", "U", "OE", "UE", "Perms"};
    static const char *const date[] = {"CreationDate", "ModDate", "M"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(bin); i++)
        if (strlen(bin[i]) == kl && memcmp(bin[i], k, kl) == 0)
            return 1;
    for (size_t i = 0; i < SGW_ARRAY_LEN(date); i++)
        if (strlen(date[i]) == kl && memcmp(date[i], k, kl) == 0)
            return 2;
    return 0;
}

static int pdf_date(const uint8_t *s, size_t n)
{
    if (n < 6 || n > 32 || s[0] != 'D' || s[1] != ':')
        return 0;
    for (size_t i = 2; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == 'Z' || s[i] == '+' || s[i] == '-' || s[i] == '\''))
            return 0;
    return 1;
}

/* Every string in value v (under the nearest key) as text. */
static int emit_strings(struct dec_pdf *d, const struct pparse *pp, uint32_t v, const uint8_t *key, size_t kl,
                        unsigned depth)
{
    const struct pval *x = &pp->v[v];
    if (x->t == PV_STR || x->t == PV_HEX) {
        int kind = key ? key_kind(key, kl) : 0;
        size_t n;
        uint8_t *s = str_bytes(pp->b, x->s, x->e, x->t == PV_HEX, &n);
        if (!s)
            return SGW_ENOMEM;
        int rc = kind == 1 ? dec_text_runs(d->base.env, s, n, PDF_RUN_MIN, 0)
                 : kind == 2 && pdf_date(s, n) ? SGW_OK
                                               : emit_text_string(d, key, key ? kl : 0, s, n);
        free(s);
        return rc;
    }
    if ((x->t != PV_ARR && x->t != PV_DICT) || depth > PDF_MAX_DEPTH)
        return SGW_OK;
    for (uint32_t m = x->child; m; m = pp->v[m].next) {
        if (x->t == PV_DICT) {
            uint32_t val = pp->v[m].next;
            if (!val)
                break;
            int rc = emit_strings(d, pp, val, pp->b + pp->v[m].s, pp->v[m].e - pp->v[m].s, depth + 1);
            if (rc != SGW_OK)
                return rc;
            m = val;
        } else {
            int rc = emit_strings(d, pp, m, key, kl, depth + 1);
            if (rc != SGW_OK)
                return rc;
        }
    }
    return SGW_OK;
}

/* The name -> object pairs of dictionary `map` as font map entries of `owner`. */
static int add_map(struct dec_pdf *d, const struct pparse *pp, uint32_t owner, uint32_t map)
{
    int rc = SGW_OK;
    if (!map || pp->v[map].t != PV_DICT)
        return rc;
    for (uint32_t k = pp->v[map].child; k && rc == SGW_OK; k = pp->v[pp->v[k].next].next) {
        uint32_t val = pp->v[k].next;
        if (!val)
            break;
        size_t l = pp->v[k].e - pp->v[k].s;
        if (pp->v[k].t != PV_NAME || pp->v[val].t != PV_REF || l > PDF_NAME_MAX)
            continue;
        struct pdf_mapent e = {.owner = owner, .font = pp->v[val].ref, .len = (uint8_t)l, .seq = (uint32_t)d->maps.n};
        memcpy(e.name, pp->b + pp->v[k].s, l);
        VEC_PUSH(d, d->maps, e, rc);
    }
    return rc;
}

/* What object `num` (value v) says of pages, resources, fonts. */
static int obj_facts(struct dec_pdf *d, const struct pparse *pp, uint32_t num, uint32_t v)
{
    int rc = SGW_OK;
    if (pp->v[v].t != PV_DICT)
        return rc;
    uint32_t type = pv_get(pp, v, "Type");
    if (pv_get(pp, v, "Encrypt") || (pv_name_is(pp, pv_get(pp, v, "Filter"), "Standard") && pv_get(pp, v, "O")))
        d->encrypted = 1;
    if (pv_name_is(pp, type, "Font")) {
        uint32_t enc = pv_get(pp, v, "Encoding");
        struct pdf_font f = {.num = num, .tounicode = pv_ref(pp, pv_get(pp, v, "ToUnicode")),
                             .two = (uint8_t)(pv_name_is(pp, pv_get(pp, v, "Subtype"), "Type0") ||
                                              pv_name_is(pp, enc, "Identity-H") || pv_name_is(pp, enc, "Identity-V"))};
        f.seq = (uint32_t)d->fonts.n;
        VEC_PUSH(d, d->fonts, f, rc);
        return rc;
    }
    /* a page, a page tree node, a form, a resources dictionary */
    struct pdf_node nd = {.num = num, .parent = pv_ref(pp, pv_get(pp, v, "Parent"))};
    uint32_t res = pv_get(pp, v, "Resources"), fontkey = pv_get(pp, v, "Font");
    int any = nd.parent != 0;
    if (res) {
        any = 1;
        nd.res = pv_ref(pp, res);
        uint32_t f = pv_get(pp, res, "Font");
        nd.fontmap = pv_ref(pp, f);
        rc = add_map(d, pp, num, f);
    }
    if (fontkey && rc == SGW_OK) {
        any = 1;
        nd.fontmap = pv_ref(pp, fontkey);
        rc = add_map(d, pp, num, fontkey);
    }
    uint32_t contents = pv_get(pp, v, "Contents");
    if (contents && !pv_name_is(pp, type, "Annot") && rc == SGW_OK) {
        if (pp->v[contents].t == PV_REF) {
            struct pdf_link l = {.stream = pp->v[contents].ref, .page = num};
            VEC_PUSH(d, d->links, l, rc);
        } else if (pp->v[contents].t == PV_ARR) {
            for (uint32_t m = pp->v[contents].child; m && rc == SGW_OK; m = pp->v[m].next)
                if (pp->v[m].t == PV_REF) {
                    struct pdf_link l = {.stream = pp->v[m].ref, .page = num};
                    VEC_PUSH(d, d->links, l, rc);
                }
        }
    }
    if (!type && !any && rc == SGW_OK) {
        /* a dictionary of references alone may be a font map (/Font 5 0 R) */
        int refs = 1, n = 0;
        for (uint32_t k = pp->v[v].child; k; k = pp->v[pp->v[k].next].next) {
            uint32_t val = pp->v[k].next;
            if (!val)
                break;
            refs &= pp->v[val].t == PV_REF;
            n++;
        }
        if (refs && n)
            rc = add_map(d, pp, num, v);
    }
    nd.seq = (uint32_t)d->nodes.n;
    if (any && rc == SGW_OK)
        VEC_PUSH(d, d->nodes, nd, rc);
    return rc;
}

/* An object's value b[s..e) (num: its number): strings and facts. */
static int pdf_object(struct dec_pdf *d, uint32_t num, const uint8_t *b, size_t s, size_t e, uint32_t *out_v,
                      struct pparse *keep)
{
    struct pparse pp = {.b = b, .n = e, .pos = s};
    pv_new(&pp, PV_NULL, 0, 0); /* (index 0: none) */
    uint32_t v = pv_parse(&pp, 0);
    int rc = pp.bad && !pp.v ? SGW_ENOMEM : SGW_OK;
    if (v && rc == SGW_OK)
        rc = obj_facts(d, &pp, num, v);
    if (v && rc == SGW_OK && !d->encrypted)
        rc = emit_strings(d, &pp, v, NULL, 0, 0);
    if (keep) {
        *keep = pp;
        *out_v = v;
    } else {
        free(pp.v);
    }
    return rc;
}

/* ---- ToUnicode maps ---- */

/* A hex token's value as a code (1 to 4 bytes). */
static uint32_t hex_code(const uint8_t *b, const struct ptok *k, uint8_t *nbytes)
{
    uint8_t tmp[8];
    size_t n = k->e - k->s > 2 && k->e - k->s <= 18 ? hex_unescape(b + k->s + 1, k->e - k->s - 2, tmp) : 0;
    uint32_t v = 0;
    for (size_t i = 0; i < n && i < 4; i++)
        v = v << 8 | tmp[i];
    *nbytes = (uint8_t)(n > 4 ? 4 : n);
    return v;
}

/* A destination (UTF-16BE hex) as code points. */
static uint8_t hex_cps(const uint8_t *b, const struct ptok *k, uint32_t cp[4])
{
    uint8_t tmp[32];
    size_t n = k->e - k->s >= 2 && k->e - k->s <= 66 ? hex_unescape(b + k->s + 1, k->e - k->s - 2, tmp) : 0;
    uint8_t m = 0;
    for (size_t i = 0; i + 1 < n && m < 4; i += 2) {
        uint32_t u = (uint32_t)tmp[i] << 8 | tmp[i + 1];
        if (u >= 0xd800 && u < 0xdc00 && i + 3 < n) {
            uint32_t l = (uint32_t)tmp[i + 2] << 8 | tmp[i + 3];
            u = 0x10000 + ((u - 0xd800) << 10) + (l & 0x3ff);
            i += 2;
        }
        cp[m++] = u;
    }
    return m;
}

static int parse_cmap(struct dec_pdf *d, uint32_t owner, const uint8_t *b, size_t n)
{
    size_t pos = 0;
    struct ptok k;
    int mode = 0; /* 1 bfchar, 2 bfrange */
    int rc = SGW_OK;
    while (rc == SGW_OK && pdf_lex(b, n, &pos, &k, 1) != PT_END) {
        if (k.t == PT_KW) {
            mode = tok_is(b, &k, "beginbfchar") ? 1 : tok_is(b, &k, "beginbfrange") ? 2 : tok_is(b, &k, "endbfchar") || tok_is(b, &k, "endbfrange") ? 0 : mode;
            continue;
        }
        if (!mode || k.t != PT_HEX)
            continue;
        struct pdf_range r = {.owner = owner};
        r.lo = r.hi = hex_code(b, &k, &r.nbytes);
        struct ptok k2, k3;
        if (pdf_lex(b, n, &pos, &k2, 1) == PT_END)
            break;
        if (mode == 2) {
            uint8_t nb2;
            if (k2.t != PT_HEX)
                continue;
            r.hi = hex_code(b, &k2, &nb2);
            if (pdf_lex(b, n, &pos, &k3, 1) == PT_END)
                break;
            if (r.hi < r.lo || r.hi - r.lo > 0xffff)
                continue;
            if (k3.t == PT_AOPEN) { /* one destination per code */
                uint32_t code = r.lo;
                while (rc == SGW_OK && pdf_lex(b, n, &pos, &k3, 1) == PT_HEX) {
                    struct pdf_range one = {.owner = owner, .lo = code, .hi = code, .nbytes = r.nbytes};
                    one.ncp = hex_cps(b, &k3, one.cp);
                    if (code <= r.hi && one.ncp && one.nbytes)
                        VEC_PUSH(d, d->ranges, one, rc);
                    code++;
                }
                continue;
            }
            if (k3.t != PT_HEX)
                continue;
            r.ncp = hex_cps(b, &k3, r.cp);
        } else {
            if (k2.t != PT_HEX)
                continue;
            r.ncp = hex_cps(b, &k2, r.cp);
        }
        if (r.nbytes && r.ncp)
            VEC_PUSH(d, d->ranges, r, rc);
    }
    return rc;
}

/* ---- content streams: shown strings as records ----
 * R_STREAM u32 (a stream begins), R_FONT len name, R_TEXT u32 len bytes
 * (shown, decoded through the font), R_SEP char, R_RAW bytes (no text
 * operator's: passed as they are). */
enum { R_STREAM = 1, R_FONT, R_TEXT, R_SEP, R_RAW };

static int rec_put(struct dec_pdf *d, uint8_t kind, const void *p, size_t n)
{
    if (d->text.n + 5 + n > PDF_TEXT_HOLD)
        return pdf_over(d, "PDF text over the 2 MiB held for its fonts");
    uint8_t head[5] = {kind};
    uint32_t l = (uint32_t)n;
    memcpy(head + 1, &l, 4);
    int rc = dec_append(&d->text.v, &d->text.n, &d->text.cap, head, 5);
    return rc == SGW_OK ? dec_append(&d->text.v, &d->text.n, &d->text.cap, p, n) : rc;
}

static int rec_str(struct dec_pdf *d, const uint8_t *b, const struct ptok *k)
{
    size_t n;
    uint8_t *s = str_bytes(b, k->s, k->e, k->t == PT_HEX, &n);
    if (!s)
        return SGW_ENOMEM;
    int rc = n ? rec_put(d, R_TEXT, s, n) : SGW_OK;
    free(s);
    return rc;
}

static int rec_sep(struct dec_pdf *d, char c)
{
    return rec_put(d, R_SEP, &c, 1);
}

/* The operators of content streams (PDF 32000 annex A) and the keywords
 * that may stand among them. */
static int content_op(const uint8_t *w, size_t l)
{
    static const char ops[] = " b B b* B* BDC BI BMC BT BX c cm CS cs d d0 d1 Do DP EI EMC ET EX f F f* G g gs h"
                              " i ID j J K k l m M MP n q Q re RG rg ri s S SC sc SCN scn sh T* Tc Td TD Tf Tj TJ"
                              " TL Tm Tr Ts Tw Tz v w W W* y ' \" true false null ";
    if (l == 0 || l > 3)
        return 0;
    char key[6] = {' '};
    memcpy(key + 1, w, l);
    key[l + 1] = ' ';
    return memmem(ops, sizeof(ops) - 1, key, l + 2) != NULL;
}

/* A number token that is no PDF number (`536-22-1847`), or one of 9
 * digits or more (no coordinate has that many): text, not an operand. */
static int odd_number(const uint8_t *b, const struct ptok *k)
{
    size_t digits = 0, signs = 0, dots = 0;
    for (size_t i = k->s; i < k->e; i++) {
        digits += b[i] >= '0' && b[i] <= '9';
        signs += (b[i] == '-' || b[i] == '+') && i > k->s;
        dots += b[i] == '.';
    }
    return signs || dots > 1 || digits >= 9;
}

/* A string or odd token of a content stream that no text operator shows:
 * passed on as it is (a reader does not draw it, but it leaves all the
 * same: marked content's /ActualText, a string left on the stack, words). */
static int rec_raw(struct dec_pdf *d, const uint8_t *b, const struct ptok *k)
{
    if (k->t == PT_STR || k->t == PT_HEX) {
        size_t n;
        uint8_t *s = str_bytes(b, k->s, k->e, k->t == PT_HEX, &n);
        if (!s)
            return SGW_ENOMEM;
        int rc = n ? rec_put(d, R_RAW, s, n) : SGW_OK;
        free(s);
        return rc;
    }
    return rec_put(d, R_RAW, b + k->s, k->e - k->s);
}

/* The operators of a content stream b[0..n). */
static int parse_content(struct dec_pdf *d, uint32_t num, const uint8_t *b, size_t n)
{
    int rc = rec_put(d, R_STREAM, &num, sizeof(num));
    size_t pos = 0;
    struct ptok k, ops[6]; /* the last operands */
    int nops = 0, in_arr = 0;
    double last_y = 0;
    while (rc == SGW_OK && !d->reported_hold && pdf_lex(b, n, &pos, &k, 1) != PT_END) {
        if (k.t == PT_AOPEN && nops && nops < 6) { /* (strings before an array) */
            for (int i = 0; i < nops && rc == SGW_OK; i++)
                if (ops[i].t == PT_STR || ops[i].t == PT_HEX)
                    rc = rec_raw(d, b, &ops[i]);
        }
        if (k.t == PT_AOPEN) {
            in_arr = 1;
            nops = 0;
            continue;
        }
        if (in_arr) { /* TJ's array: strings, and a space for a wide gap */
            if (k.t == PT_STR || k.t == PT_HEX)
                rc = rec_str(d, b, &k);
            else if (k.t == PT_NUM && tok_num(b, &k) < -200)
                rc = rec_sep(d, ' ');
            else if (k.t == PT_ACLOSE)
                in_arr = 0;
            continue;
        }
        if (k.t == PT_NUM && odd_number(b, &k)) {
            rc = rec_raw(d, b, &k);
            continue;
        }
        if (k.t != PT_KW) {
            if (nops == 6) { /* (a string dropped from the operands is text) */
                if (ops[0].t == PT_STR || ops[0].t == PT_HEX)
                    rc = rec_raw(d, b, &ops[0]);
                memmove(ops, ops + 1, 5 * sizeof(*ops));
                nops--;
            }
            ops[nops++] = k;
            continue;
        }
        const uint8_t *w = b + k.s;
        size_t wl = k.e - k.s;
        int shows = (wl == 2 && w[0] == 'T' && w[1] == 'j') || (wl == 1 && (w[0] == '\'' || w[0] == '"'));
        for (int i = 0; i < nops && rc == SGW_OK; i++) /* strings no text operator shows */
            if ((ops[i].t == PT_STR || ops[i].t == PT_HEX) && !(shows && i == nops - 1))
                rc = rec_raw(d, b, &ops[i]);
        if (rc == SGW_OK && !content_op(w, wl))
            rc = rec_raw(d, b, &k);
        if (rc != SGW_OK)
            break;
        if (wl == 2 && w[0] == 'T' && w[1] == 'f') {
            if (nops >= 2 && ops[nops - 2].t == PT_NAME && ops[nops - 2].e - ops[nops - 2].s <= PDF_NAME_MAX)
                rc = rec_put(d, R_FONT, b + ops[nops - 2].s, ops[nops - 2].e - ops[nops - 2].s);
        } else if (shows) {
            if (wl == 1)
                rc = rec_sep(d, '\n');
            if (rc == SGW_OK && nops && (ops[nops - 1].t == PT_STR || ops[nops - 1].t == PT_HEX))
                rc = rec_str(d, b, &ops[nops - 1]);
        } else if (wl == 2 && w[0] == 'T' && w[1] == '*') {
            rc = rec_sep(d, '\n');
        } else if (wl == 2 && w[0] == 'T' && (w[1] == 'd' || w[1] == 'D')) {
            double ty = nops >= 1 && ops[nops - 1].t == PT_NUM ? tok_num(b, &ops[nops - 1]) : 0;
            rc = rec_sep(d, ty != 0 ? '\n' : ' ');
        } else if (wl == 2 && w[0] == 'T' && w[1] == 'm') {
            double y = nops >= 1 && ops[nops - 1].t == PT_NUM ? tok_num(b, &ops[nops - 1]) : 0;
            rc = rec_sep(d, y != last_y ? '\n' : ' ');
            last_y = y;
        } else if (wl == 2 && ((w[0] == 'B' && w[1] == 'T') || (w[0] == 'E' && w[1] == 'T'))) {
            rc = rec_sep(d, '\n');
        } else if (wl == 2 && w[0] == 'B' && w[1] == 'I') {
            /* an inline image: its data after ID up to EI */
            size_t at = pos;
            const uint8_t *id = NULL;
            for (size_t i = at; i + 2 < n; i++)
                if (b[i] == 'I' && b[i + 1] == 'D' && pdf_space(b[i - 1]) && pdf_space(b[i + 2])) {
                    id = b + i + 3;
                    break;
                }
            size_t end = n;
            if (id)
                for (size_t i = (size_t)(id - b); i + 2 <= n; i++)
                    if (b[i] == 'E' && b[i + 1] == 'I' && pdf_space(b[i - 1]) && (i + 2 == n || pdf_space(b[i + 2]))) {
                        end = i + 2;
                        break;
                    }
            pos = end;
            if (!d->reported_image) {
                d->reported_image = 1;
                rc = dec_env_fail(d->base.env, 0, "image in a PDF");
            }
        }
        nops = 0;
    }
    for (int i = 0; i < nops && rc == SGW_OK; i++) /* (operands with no operator after them) */
        if (ops[i].t == PT_STR || ops[i].t == PT_HEX)
            rc = rec_raw(d, b, &ops[i]);
    return rc;
}

/* Printable runs of a binary stream as text. */
static int emit_runs(struct dec_pdf *d, const uint8_t *b, size_t n)
{
    return dec_text_runs(d->base.env, b, n, PDF_RUN_MIN, 0);
}

static int looks_binary(const uint8_t *b, size_t n)
{
    size_t m = n < 1024 ? n : 1024, bad = 0;
    for (size_t i = 0; i < m; i++)
        bad += (b[i] < 0x20 && !pdf_space(b[i])) || b[i] >= 0x80;
    return bad * 10 > m; /* (content streams are ASCII outside their strings) */
}

/* 1 when b[0..n) begins as XML does (an XFA form's data, XMP without its
 * /Type): `<?xml`, or a tag whose name is no hex string's digits. */
static int looks_xml(const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n && pdf_space(b[i]))
        i++;
    if (n - i >= 5 && memcmp(b + i, "<?xml", 5) == 0)
        return 1;
    if (i + 1 >= n || b[i] != '<' || !((b[i + 1] | 0x20) >= 'a' && (b[i + 1] | 0x20) <= 'z'))
        return 0;
    for (size_t j = i + 1; j < n && j < i + 64 && b[j] != '>' && !pdf_space(b[j]); j++)
        if (dec_hexval(b[j]) < 0)
            return 1;
    return 0;
}

/* 1 when the first 4 KiB of b[0..n) are mostly operators of a content
 * stream among their words; else it is some other text (JavaScript, a
 * note, CSV in a stream of no type): read as text whole. */
static int looks_content(const uint8_t *b, size_t n)
{
    size_t pos = 0, known = 0, unknown = 0, m = n < 4096 ? n : 4096;
    struct ptok k;
    while (pdf_lex(b, m, &pos, &k, 1) != PT_END)
        if (k.t == PT_KW)
            content_op(b + k.s, k.e - k.s) ? known++ : unknown++;
    return unknown * 4 <= known + 4;
}

/* Text whole, one unit. */
static int emit_plain(struct dec_pdf *d, const uint8_t *b, size_t n)
{
    int rc = dec_text_data(d->base.env, b, n);
    return rc == SGW_OK ? dec_text_boundary(d->base.env) : rc;
}

/* A stream of XML through the XML decoder. */
static int emit_xml(struct dec_pdf *d, const uint8_t *b, size_t n)
{
    struct dec *x = NULL;
    int rc = dec_build_nested(d->base.env, "application/xml", 15, d->base.nest + 1, "XML stream in a PDF", &x);
    return dec_once(x, rc, b, n);
}

/* An object stream: N pairs (number, offset), objects from /First. */
static int parse_objstm(struct dec_pdf *d, const uint8_t *b, size_t n)
{
    if (d->s_first < 0 || (size_t)d->s_first > n || d->s_n <= 0 || d->s_n > 100000)
        return SGW_OK;
    size_t pos = 0, first = (size_t)d->s_first;
    struct ptok k;
    int rc = SGW_OK;
    uint32_t prev_num = 0;
    size_t prev_off = 0;
    int have = 0;
    for (long long i = 0; i < d->s_n && rc == SGW_OK; i++) {
        if (pdf_lex(b, first, &pos, &k, 1) != PT_NUM)
            break;
        uint32_t num = (uint32_t)tok_int(b, &k);
        if (pdf_lex(b, first, &pos, &k, 1) != PT_NUM)
            break;
        long long off = tok_int(b, &k);
        if (off < 0 || first + (size_t)off > n)
            break;
        if (have && (size_t)off >= prev_off)
            rc = pdf_object(d, prev_num, b, first + prev_off, first + (size_t)off, NULL, NULL);
        prev_num = num;
        prev_off = (size_t)off;
        have = 1;
    }
    if (have && rc == SGW_OK)
        rc = pdf_object(d, prev_num, b, first + prev_off, n, NULL, NULL);
    return rc;
}

/* ---- streams ---- */

static int hold_add(void *arg, const uint8_t *p, size_t n)
{
    struct dec_pdf *d = arg;
    if (d->hold_over)
        return SGW_OK;
    if (d->hlen + n > PDF_STREAM_HOLD) {
        d->hold_over = 1;
        return pdf_over(d, "PDF stream over the 4 MiB held");
    }
    return dec_append(&d->hold, &d->hlen, &d->hcap, p, n);
}

/* Printable runs of a stream not held (SK_RUNS), across calls: a run's
 * first PDF_RUN_MIN - 1 bytes wait in d->run until it is long enough. */
static int runs_feed(struct dec_pdf *d, const uint8_t *p, size_t n)
{
    int rc = SGW_OK;
    size_t i = 0;
    while (i < n && rc == SGW_OK) {
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x7f)
            j++;
        size_t k = j - i; /* printable bytes from i */
        if (d->run_len + k < PDF_RUN_MIN) {
            memcpy(d->run + d->run_len, p + i, k);
            d->run_len += k;
        } else {
            if (d->run_len < PDF_RUN_MIN) /* (the run is long enough now: its start first) */
                rc = dec_text_data(d->base.env, d->run, d->run_len);
            if (rc == SGW_OK)
                rc = dec_text_data(d->base.env, p + i, k);
            d->run_len = PDF_RUN_MIN; /* (emitted: more of it goes straight on) */
        }
        if (j < n) { /* a byte that ends the run */
            if (d->run_len >= PDF_RUN_MIN && rc == SGW_OK)
                rc = dec_text_boundary(d->base.env);
            d->run_len = 0;
            j++;
        }
        i = j;
    }
    return rc;
}

static int stream_out(void *arg, const uint8_t *p, size_t n)
{
    struct dec_pdf *d = arg;
    if (d->kind == SK_RUNS)
        return runs_feed(d, p, n);
    if (d->kind == SK_NESTED)
        return d->nested ? dec_feed(d->nested, p, n) : SGW_OK;
    return hold_add(d, p, n);
}

/* Decoded bytes (after an ASCII filter) into the Flate stage, or out. */
static int flate_data(struct dec_pdf *d, const uint8_t *p, size_t n)
{
    if (!d->flate)
        return n ? stream_out(d, p, n) : SGW_OK;
    if (d->zend || d->zbad || n == 0)
        return SGW_OK;
    int rc = SGW_OK;
    d->zs.next_in = (Bytef *)(uintptr_t)p;
    d->zs.avail_in = (uInt)n;
    for (;;) {
        uInt before = d->zs.avail_in;
        size_t k;
        int r = dec_inflate_step(&d->base, &d->zs, &d->bomb, d->out, sizeof(d->out), stream_out, d, &rc, &k);
        if (rc != SGW_OK || d->base.dead)
            return rc;
        if (r == Z_STREAM_END) {
            d->zend = 1;
            break;
        }
        if (r == Z_NEED_DICT || r == Z_DATA_ERROR || r == Z_STREAM_ERROR) {
            d->zbad = 1;
            return d->encrypted ? SGW_OK : dec_env_fail(d->base.env, 0, "malformed compressed stream in a PDF");
        }
        if (d->zs.avail_in == 0 && d->zs.avail_out != 0)
            break;
        if (r == Z_BUF_ERROR && k == 0 && before == d->zs.avail_in)
            break;
    }
    return rc;
}

/* The rest of an ASCII85 group (the end of its data): n - 1 bytes of n digits. */
static int a85_flush(struct dec_pdf *d, uint8_t *o, size_t *k)
{
    if (d->a_cnt == 1)
        return -1; /* (one digit is no byte) */
    if (d->a_cnt) {
        uint64_t acc = d->a_acc;
        for (unsigned j = d->a_cnt; j < 5; j++)
            acc = acc * 85 + 84;
        for (unsigned j = 0; j + 1 < d->a_cnt; j++)
            o[(*k)++] = (uint8_t)(acc >> (24 - 8 * j));
    }
    d->a_cnt = 0;
    d->a_acc = 0;
    return 0;
}

/* A stream's raw data bytes: ASCIIHex or ASCII85 first when it says so.
 * What was decoded before a bad byte goes on before the report (the
 * output must not depend on the split). */
static int stream_data(struct dec_pdf *d, const uint8_t *p, size_t n)
{
    if (d->kind == SK_SKIP || n == 0)
        return SGW_OK;
    if (!d->ascii)
        return flate_data(d, p, n);
    int rc = SGW_OK, bad = 0;
    uint8_t buf[4096 + 8];
    size_t k = 0;
    for (size_t i = 0; i < n && rc == SGW_OK && !d->a_end; i++) {
        uint8_t c = p[i];
        if (pdf_space(c))
            continue;
        if (d->ascii == 2) { /* ASCIIHexDecode */
            int v = dec_hexval(c);
            if (c == '>') {
                if (d->a_cnt)
                    buf[k++] = (uint8_t)(d->a_acc << 4);
                d->a_end = 1;
            } else if (v < 0) {
                d->a_end = bad = 1;
            } else if (d->a_cnt) {
                buf[k++] = (uint8_t)(d->a_acc << 4 | (unsigned)v);
                d->a_cnt = 0;
            } else {
                d->a_acc = (uint32_t)v;
                d->a_cnt = 1;
            }
        } else if (c == '~') {
            d->a_end = 1;
            bad = a85_flush(d, buf, &k) < 0;
        } else if (c == 'z' && d->a_cnt == 0) {
            memset(buf + k, 0, 4);
            k += 4;
        } else if (c >= '!' && c <= 'u') {
            d->a_acc = d->a_acc * 85 + (uint32_t)(c - '!');
            if (++d->a_cnt == 5) {
                for (unsigned j = 0; j < 4; j++)
                    buf[k++] = (uint8_t)(d->a_acc >> (24 - 8 * j));
                d->a_cnt = 0;
                d->a_acc = 0;
            }
        } else {
            d->a_end = bad = 1;
        }
        if (k >= 4096) {
            rc = flate_data(d, buf, k);
            k = 0;
        }
    }
    if (k && rc == SGW_OK)
        rc = flate_data(d, buf, k);
    if (bad && rc == SGW_OK)
        rc = dec_env_fail(d->base.env, 0, "malformed %s stream in a PDF", d->ascii == 2 ? "ASCIIHex" : "ASCII85");
    return rc;
}

/* The filters of a stream: none, FlateDecode, ASCIIHexDecode or
 * ASCII85Decode, or one of those two then FlateDecode (d->ascii,
 * d->flate). Returns -1 for others (the reason in why). */
static int stream_filter(struct dec_pdf *d, const struct pparse *pp, uint32_t dict, char *why, size_t wl)
{
    uint32_t f = pv_get(pp, dict, "Filter"), second = 0;
    d->ascii = 0;
    d->flate = 0;
    if (f && pp->v[f].t == PV_ARR) {
        uint32_t m = pp->v[f].child;
        second = m ? pp->v[m].next : 0;
        if (second && pp->v[second].next) {
            snprintf(why, wl, "PDF stream with 3 filters or more");
            return -1;
        }
        f = m;
    }
    if (!f)
        return 0;
    if (pv_name_is(pp, f, "ASCII85Decode") || pv_name_is(pp, f, "A85"))
        d->ascii = 1;
    else if (pv_name_is(pp, f, "ASCIIHexDecode") || pv_name_is(pp, f, "AHx"))
        d->ascii = 2;
    uint32_t fl = d->ascii ? second : f;
    if (d->ascii && !second)
        return 0;
    if (fl && (pv_name_is(pp, fl, "FlateDecode") || pv_name_is(pp, fl, "Fl")) && (!second || d->ascii)) {
        long long pred = pv_int(pp, pv_get(pp, pv_get(pp, dict, "DecodeParms"), "Predictor"), 1);
        if (pred > 1) {
            snprintf(why, wl, "PDF stream with predictor %lld", pred);
            return -1;
        }
        d->flate = 1;
        return 0;
    }
    uint32_t bad = fl && (pv_name_is(pp, fl, "FlateDecode") || pv_name_is(pp, fl, "Fl")) ? f : fl ? fl : f;
    if (pp->v[bad].t == PV_NAME)
        snprintf(why, wl, "PDF stream filter %.*s", (int)(pp->v[bad].e - pp->v[bad].s < 24 ? pp->v[bad].e - pp->v[bad].s : 24),
                 (const char *)pp->b + pp->v[bad].s);
    else
        snprintf(why, wl, "PDF stream filter");
    return -1;
}

/* `stream`: the object's dictionary obuf[s..e) decides what its data is. */
static int stream_begin(struct dec_pdf *d, size_t s, size_t e)
{
    struct pparse pp;
    uint32_t v = 0;
    int rc = pdf_object(d, d->obj_num, d->obuf, s, e, &v, &pp);
    if (rc != SGW_OK) {
        free(pp.v);
        return rc;
    }
    d->kind = SK_HOLD;
    d->flate = 0;
    d->ascii = 0;
    d->zend = d->zbad = 0;
    d->hlen = 0;
    d->hold_over = 0;
    d->s_num = d->obj_num;
    d->match = 0;
    uint32_t len = pv_get(&pp, v, "Length");
    d->left = len && pp.v[len].t == PV_NUM ? pv_int(&pp, len, -1) : -1;
    uint32_t type = pv_get(&pp, v, "Type"), sub = pv_get(&pp, v, "Subtype");
    int image = pv_name_is(&pp, sub, "Image") || (pv_get(&pp, v, "BitsPerComponent") && pv_get(&pp, v, "Width"));
    if (pv_name_is(&pp, type, "XRef") || pv_get(&pp, v, "Length1") || pv_get(&pp, v, "Length2") ||
        pv_name_is(&pp, sub, "Type1C") || pv_name_is(&pp, sub, "CIDFontType0C") || pv_name_is(&pp, sub, "OpenType") ||
        pv_get(&pp, v, "Alternate"))
        d->kind = SK_RUNS; /* (binary by their kind, and big: read as a stream of runs) */
    if (d->encrypted || image)
        d->kind = SK_SKIP;
    if (image && !d->reported_image && !d->encrypted) {
        d->reported_image = 1;
        rc = dec_env_fail(d->base.env, 0, "image in a PDF");
    }
    if (d->kind == SK_HOLD && pv_name_is(&pp, type, "ObjStm")) {
        d->kind = SK_OBJSTM;
        d->s_first = pv_int(&pp, pv_get(&pp, v, "First"), -1);
        d->s_n = pv_int(&pp, pv_get(&pp, v, "N"), -1);
    }
    if (d->kind == SK_HOLD && (pv_name_is(&pp, type, "EmbeddedFile") || pv_name_is(&pp, type, "Metadata") ||
                               pv_name_is(&pp, sub, "XML"))) {
        d->kind = SK_NESTED;
        char ct[DEC_CONTEXT_MAX] = "";
        if (pv_name_is(&pp, type, "EmbeddedFile")) {
            if (sub && pp.v[sub].t == PV_NAME) { /* (#2F for its '/') */
                size_t o = 0;
                for (uint32_t i = pp.v[sub].s; i < pp.v[sub].e && o + 1 < sizeof(ct); i++) {
                    int h1, h2;
                    if (pp.b[i] == '#' && i + 2 < pp.v[sub].e && (h1 = dec_hexval(pp.b[i + 1])) >= 0 &&
                        (h2 = dec_hexval(pp.b[i + 2])) >= 0) {
                        ct[o++] = (char)(h1 << 4 | h2);
                        i += 2;
                    } else {
                        ct[o++] = (char)pp.b[i];
                    }
                }
                ct[o] = 0;
            }
        } else {
            memcpy(ct, "application/xml", sizeof("application/xml"));
        }
        if (rc == SGW_OK)
            rc = dec_build_nested(d->base.env, ct, strlen(ct), d->base.nest + 1, "file embedded in a PDF", &d->nested);
    }
    if (d->kind != SK_SKIP && rc == SGW_OK) {
        char why[DEC_REASON_LEN];
        d->a_cnt = 0;
        d->a_acc = 0;
        d->a_end = 0;
        if (stream_filter(d, &pp, v, why, sizeof(why)) < 0) {
            rc = dec_env_fail(d->base.env, 0, "%s", why);
            d->kind = SK_SKIP;
        } else if (d->flate) {
            int zr = d->zinit ? inflateReset(&d->zs) : inflateInit(&d->zs);
            if (zr != Z_OK) {
                rc = SGW_ENOMEM;
            } else {
                d->zinit = 1;
                d->bomb = (struct dec_bomb){0};
            }
        }
    }
    free(pp.v);
    return rc;
}

static int stream_end(struct dec_pdf *d)
{
    int rc = SGW_OK;
    if (d->kind != SK_SKIP && d->ascii && !d->a_end) { /* (no end marker: the group so far) */
        uint8_t last[8];
        size_t k = 0;
        if (d->ascii == 2 && d->a_cnt)
            last[k++] = (uint8_t)(d->a_acc << 4);
        else if (d->ascii == 1)
            (void)a85_flush(d, last, &k);
        d->a_end = 1;
        if (k)
            rc = flate_data(d, last, k);
    }
    if (d->kind != SK_SKIP && d->flate && !d->zend && !d->zbad && !d->encrypted)
        rc = dec_env_fail(d->base.env, 0, "truncated compressed stream in a PDF");
    if (rc == SGW_OK && d->kind == SK_RUNS && d->run_len >= PDF_RUN_MIN)
        rc = dec_text_boundary(d->base.env);
    d->run_len = 0;
    if (rc == SGW_OK && d->kind == SK_NESTED && d->nested)
        rc = dec_finish(d->nested);
    dec_free(d->nested);
    d->nested = NULL;
    if (rc == SGW_OK && !d->hold_over && !d->encrypted) {
        if (d->kind == SK_OBJSTM) {
            rc = parse_objstm(d, d->hold, d->hlen);
        } else if (d->kind == SK_HOLD && d->hlen) {
            if (memmem(d->hold, d->hlen < 4096 ? d->hlen : 4096, "begincmap", 9))
                rc = parse_cmap(d, d->s_num, d->hold, d->hlen);
            else if (looks_binary(d->hold, d->hlen))
                rc = emit_runs(d, d->hold, d->hlen);
            else if (looks_xml(d->hold, d->hlen))
                rc = emit_xml(d, d->hold, d->hlen);
            else if (!looks_content(d->hold, d->hlen))
                rc = emit_plain(d, d->hold, d->hlen);
            else
                rc = parse_content(d, d->s_num, d->hold, d->hlen);
        }
    }
    d->hlen = 0;
    d->hold_over = 0;
    d->kind = SK_SKIP;
    if (d->hcap > 65536) { /* (a big one is not kept for the next) */
        free(d->hold);
        d->hold = NULL;
        d->hcap = 0;
    }
    return rc;
}

/* ---- top level ---- */

static const char endstream[] = "endstream";

/* Stream data p[0..n): returns the bytes used (at the stream's end, the
 * rest is the top level's). */
static size_t stream_feed(struct dec_pdf *d, const uint8_t *p, size_t n, int *rc)
{
    *rc = SGW_OK;
    if (d->left >= 0) {
        size_t k = (unsigned long long)d->left < n ? (size_t)d->left : n;
        *rc = stream_data(d, p, k);
        d->left -= (long long)k;
        if (*rc == SGW_OK && d->left == 0) {
            *rc = stream_end(d);
            d->mode = PM_TOP;
        }
        return k;
    }
    /* up to `endstream`. The bytes of a partial match are held back; they
       are the pattern's own first bytes, so they are not stored: when the
       match fails they are passed on from the pattern. The partial match's
       bytes are always the last ones read, so those in p are the last
       min(match, i) before i. */
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (d->match == 0) {
            const uint8_t *e = memchr(p + i, 'e', n - i);
            if (!e)
                break;
            i = (size_t)(e - p);
            c = 'e';
        }
        if (c == (uint8_t)endstream[d->match]) {
            if (++d->match < 9)
                continue;
            size_t inp = i + 1 < 9 ? i + 1 : 9;
            if (i + 1 - inp > from)
                *rc = stream_data(d, p + from, i + 1 - inp - from);
            d->match = 0;
            if (*rc == SGW_OK)
                *rc = stream_end(d);
            d->mode = PM_TOP;
            return i + 1;
        }
        /* a mismatch: the held bytes were data */
        size_t inp = d->match < i ? d->match : i;
        if (i - inp > from)
            *rc = stream_data(d, p + from, i - inp - from);
        if (*rc == SGW_OK)
            *rc = stream_data(d, (const uint8_t *)endstream, d->match);
        if (*rc != SGW_OK)
            return i;
        from = i;
        d->match = c == 'e'; /* ("endstream" has no other border) */
    }
    size_t inp = d->match < n ? d->match : n;
    if (n - inp > from)
        *rc = stream_data(d, p + from, n - inp - from);
    return n;
}

static int obuf_add(struct dec_pdf *d, const uint8_t *p, size_t n)
{
    return dec_append(&d->obuf, &d->olen, &d->ocap, p, n);
}

/* Drops what obuf no longer needs: all before lpos, or before the current
 * object's start while its value is being read. Once per input chunk (a
 * drop per object or token would move the rest of a big chunk each time). */
static void obuf_compact(struct dec_pdf *d)
{
    size_t k = d->mode == PM_TOP && d->in_obj && !d->obj_done && d->obj_start < d->lpos ? d->obj_start : d->lpos;
    if (k == 0)
        return;
    memmove(d->obuf, d->obuf + k, d->olen - k);
    d->olen -= k;
    d->lpos -= k;
    d->obj_start = d->obj_start >= k ? d->obj_start - k : 0;
}

/* Lexes obuf at the top level; returns SGW_OK, with mode PM_EOL when a
 * stream's data begins at d->lpos. */
/* Bytes between objects that are none of the file's structure (a
 * comment, a stray word or string) are text: a reader skips them, but
 * they leave all the same. */
static int junk_text(struct dec_pdf *d, const uint8_t *p, size_t n)
{
    d->junk = 1;
    int rc = dec_text_data(d->base.env, p, n);
    return rc == SGW_OK ? dec_text_data(d->base.env, (const uint8_t *)" ", 1) : rc;
}

static int junk_end(struct dec_pdf *d)
{
    if (!d->junk)
        return SGW_OK;
    d->junk = 0;
    return dec_text_boundary(d->base.env);
}

static int structure_word(const uint8_t *b, const struct ptok *k)
{
    static const char *const w[] = {"obj", "endobj", "stream", "endstream", "xref", "trailer", "startxref",
                                    "n", "f", "R"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(w); i++)
        if (tok_is(b, k, w[i]))
            return 1;
    return 0;
}

/* A comment at the top level, obuf[lpos] == '%': 0 when its line end is
 * not there yet. */
static int top_comment(struct dec_pdf *d, int final, int *rc)
{
    size_t i = d->lpos, e = i;
    while (e < d->olen && d->obuf[e] != '\n' && d->obuf[e] != '\r')
        e++;
    if (e == d->olen && !final)
        return 0;
    const uint8_t *c = d->obuf + i + 1;
    size_t n = e - i - 1, high = 0;
    for (size_t j = 0; j < n; j++)
        high += c[j] >= 0x80;
    /* (the header, its binary marker and %%EOF are the file's own) */
    if (n && !(n >= 4 && memcmp(c, "PDF-", 4) == 0) && !(n >= 4 && memcmp(c, "%EOF", 4) == 0) && high * 2 < n)
        *rc = junk_text(d, c, n);
    d->lpos = e;
    return 1;
}

static int top_lex(struct dec_pdf *d, int final)
{
    struct ptok k;
    int rc = SGW_OK;
    while (rc == SGW_OK && d->mode == PM_TOP) {
        if (!d->in_obj) {
            while (d->lpos < d->olen && pdf_space(d->obuf[d->lpos]))
                d->lpos++;
            if (d->lpos < d->olen && d->obuf[d->lpos] == '%') {
                if (!top_comment(d, final, &rc))
                    break;
                continue;
            }
        }
        size_t at = d->lpos;
        int t = pdf_lex(d->obuf, d->olen, &d->lpos, &k, final);
        if (t == PT_END) {
            if (final && d->in_obj && !d->obj_done) /* a cut object: what it has */
                rc = pdf_object(d, d->obj_num, d->obuf, d->obj_start, d->olen, NULL, NULL);
            else if (!d->in_obj && d->olen - d->lpos > 65536)
                d->lpos = d->olen; /* (no token is that long: junk) */
            else if (d->in_obj && !d->obj_done && d->olen - d->obj_start > PDF_OBJ_HOLD) {
                rc = pdf_over(d, "PDF object over 1 MiB");
                d->in_obj = 0;
                d->lpos = d->olen;
            }
            break;
        }
        if (!d->in_obj) {
            if (t == PT_NUM) {
                d->nums[0] = d->nums[1];
                d->nums[1] = tok_int(d->obuf, &k);
                d->n_nums++;
            } else if (t == PT_KW && tok_is(d->obuf, &k, "obj") && d->n_nums >= 2) {
                rc = junk_end(d);
                d->in_obj = 1;
                d->obj_done = 0;
                d->obj_num = (uint32_t)d->nums[0];
                d->obj_start = d->lpos;
                d->n_nums = 0;
                continue;
            } else {
                d->n_nums = 0;
                if (t == PT_KW && tok_is(d->obuf, &k, "trailer")) {
                    /* its dictionary: read as an object without a number */
                    d->in_obj = 1;
                    d->obj_done = 0;
                    d->obj_num = 0;
                    d->obj_start = d->lpos;
                    d->trailer = 1;
                    continue;
                }
                if ((t == PT_KW && !structure_word(d->obuf, &k)) || t == PT_NAME) {
                    rc = junk_text(d, d->obuf + k.s, k.e - k.s);
                } else if (t == PT_STR || t == PT_HEX) {
                    size_t sl;
                    uint8_t *sb = str_bytes(d->obuf, k.s, k.e, t == PT_HEX, &sl);
                    rc = !sb ? SGW_ENOMEM : sl ? junk_text(d, sb, sl) : SGW_OK;
                    free(sb);
                }
            }
            continue; /* (nothing outside an object is kept: see obuf_compact) */
        }
        /* inside an object: `endobj`, `stream`, or more of its value */
        if (t == PT_KW && (tok_is(d->obuf, &k, "endobj") || (d->trailer && tok_is(d->obuf, &k, "startxref")))) {
            if (!d->obj_done)
                rc = pdf_object(d, d->obj_num, d->obuf, d->obj_start, at, NULL, NULL);
            d->in_obj = 0;
            d->trailer = 0;
            d->n_nums = 0;
            continue;
        }
        if (t == PT_KW && tok_is(d->obuf, &k, "stream") && !d->obj_done) {
            rc = stream_begin(d, d->obj_start, at);
            d->obj_done = 1;
            d->mode = PM_EOL; /* (its data from obuf[lpos] on) */
            break;
        }
        if (!d->obj_done && d->lpos - d->obj_start > PDF_OBJ_HOLD) {
            rc = pdf_over(d, "PDF object over 1 MiB");
            d->in_obj = 0;
        }
    }
    return rc;
}

/* Bytes of a stream (its line end first): returns the bytes used, up to
 * the end of the stream (the mode is then PM_TOP again). */
static size_t data_feed(struct dec_pdf *d, const uint8_t *p, size_t n, int *rc)
{
    size_t i = 0;
    *rc = SGW_OK;
    if (d->mode == PM_EOL && i < n) { /* CRLF or LF (a lone CR tolerated) */
        if (p[i] == '\r') {
            i++;
            d->mode = PM_EOL_CR;
        } else {
            i += p[i] == '\n';
            d->mode = PM_STREAM;
        }
    }
    if (d->mode == PM_EOL_CR && i < n) {
        i += p[i] == '\n';
        d->mode = PM_STREAM;
    }
    if (d->mode == PM_STREAM && i < n)
        i += stream_feed(d, p + i, n - i, rc);
    return i;
}

static int pdf_feed(struct dec *base, const uint8_t *p, size_t n)
{
    struct dec_pdf *d = (struct dec_pdf *)base;
    int rc = SGW_OK;
    while (rc == SGW_OK && !base->dead) {
        if (d->mode != PM_TOP) {
            if (d->lpos < d->olen) { /* a stream began inside obuf: its bytes first */
                d->lpos += data_feed(d, d->obuf + d->lpos, d->olen - d->lpos, &rc);
            } else if (n) {
                d->olen = d->lpos = d->obj_start = 0; /* (all of obuf was used) */
                size_t k = data_feed(d, p, n, &rc);
                p += k;
                n -= k;
            } else {
                break;
            }
            continue;
        }
        if (n) {
            obuf_compact(d);
            rc = obuf_add(d, p, n);
            p += n;
            n = 0;
            if (rc != SGW_OK)
                break;
        }
        rc = top_lex(d, 0);
        if (d->mode == PM_TOP)
            break; /* (more input needed) */
    }
    return rc;
}

/* ---- the end: shown strings decoded ---- */

/* ---- lookups, on the tables sorted once at the end ---- */

static int font_cmp(const void *a, const void *b)
{
    const struct pdf_font *x = a, *y = b;
    return x->num != y->num ? (x->num < y->num ? -1 : 1) : (x->seq > y->seq) - (x->seq < y->seq);
}

static int node_cmp(const void *a, const void *b)
{
    const struct pdf_node *x = a, *y = b;
    return x->num != y->num ? (x->num < y->num ? -1 : 1) : (x->seq > y->seq) - (x->seq < y->seq);
}

static int link_cmp(const void *a, const void *b)
{
    const struct pdf_link *x = a, *y = b;
    return (x->stream > y->stream) - (x->stream < y->stream);
}

static int name_cmp(const struct pdf_mapent *x, const uint8_t *name, size_t nl)
{
    if (x->len != nl)
        return x->len < nl ? -1 : 1;
    return memcmp(x->name, name, nl);
}

static int map_cmp(const void *a, const void *b)
{
    const struct pdf_mapent *x = a, *y = b;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    int c = name_cmp(x, (const uint8_t *)y->name, y->len);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void pdf_sort(struct dec_pdf *d)
{
    if (d->fonts.n)
        qsort(d->fonts.v, d->fonts.n, sizeof(*d->fonts.v), font_cmp);
    if (d->nodes.n)
        qsort(d->nodes.v, d->nodes.n, sizeof(*d->nodes.v), node_cmp);
    if (d->links.n)
        qsort(d->links.v, d->links.n, sizeof(*d->links.v), link_cmp);
    if (d->maps.n)
        qsort(d->maps.v, d->maps.n, sizeof(*d->maps.v), map_cmp);
}

/* The last entry whose key is num, in a table sorted by (num, seq). */
#define LAST_BY_NUM(vec, key)                                                                      \
    do {                                                                                           \
        size_t lo_ = 0, hi_ = (vec).n;                                                             \
        while (lo_ < hi_) {                                                                        \
            size_t mid_ = lo_ + (hi_ - lo_) / 2;                                                   \
            if ((vec).v[mid_].num <= (key))                                                        \
                lo_ = mid_ + 1;                                                                    \
            else                                                                                   \
                hi_ = mid_;                                                                        \
        }                                                                                          \
        return lo_ && (vec).v[lo_ - 1].num == (key) ? &(vec).v[lo_ - 1] : NULL;                   \
    } while (0)

static const struct pdf_font *font_by_num(const struct dec_pdf *d, uint32_t num)
{
    LAST_BY_NUM(d->fonts, num);
}

static const struct pdf_node *node_by_num(const struct dec_pdf *d, uint32_t num)
{
    LAST_BY_NUM(d->nodes, num);
}

static uint32_t map_lookup(const struct dec_pdf *d, uint32_t owner, const uint8_t *name, size_t nl)
{
    if (!owner)
        return 0;
    size_t lo = 0, hi = d->maps.n; /* past the last entry <= (owner, name) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct pdf_mapent *m = &d->maps.v[mid];
        if (m->owner < owner || (m->owner == owner && name_cmp(m, name, nl) <= 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && d->maps.v[lo - 1].owner == owner && name_cmp(&d->maps.v[lo - 1], name, nl) == 0)
        return d->maps.v[lo - 1].font;
    return 0;
}

/* The font object named `name` where stream `s` shows it (0: not found). */
static uint32_t resolve_font(const struct dec_pdf *d, uint32_t s, const uint8_t *name, size_t nl)
{
    const struct pdf_node *nd = node_by_num(d, s);
    if (!nd) { /* the page whose content it is */
        size_t lo = 0, hi = d->links.n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (d->links.v[mid].stream < s)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < d->links.n && d->links.v[lo].stream == s)
            nd = node_by_num(d, d->links.v[lo].page);
    }
    for (unsigned hops = 0; nd && hops < 64; hops++) {
        uint32_t f = map_lookup(d, nd->num, name, nl);
        if (!f)
            f = map_lookup(d, nd->fontmap, name, nl);
        if (!f && nd->res) {
            f = map_lookup(d, nd->res, name, nl);
            const struct pdf_node *r = node_by_num(d, nd->res);
            if (!f && r)
                f = map_lookup(d, r->fontmap, name, nl);
        }
        if (f)
            return f;
        nd = nd->parent ? node_by_num(d, nd->parent) : NULL;
    }
    /* anywhere in the document, when the name means one font only (at
       most 4096 entries looked at: a name that many maps share is no one
       font's) */
    uint32_t only = 0;
    size_t seen = 0;
    for (size_t i = 0; i < d->maps.n && seen < 4096; i++)
        if (name_cmp(&d->maps.v[i], name, nl) == 0 && ++seen && font_by_num(d, d->maps.v[i].font)) {
            if (only && only != d->maps.v[i].font)
                return 0;
            only = d->maps.v[i].font;
        }
    return only;
}

/* The range of map ranges[first..end) (sorted by lo) holding code. */
static const struct pdf_range *range_of(const struct dec_pdf *d, size_t first, size_t end, uint32_t code,
                                        uint8_t nb)
{
    size_t lo = first, hi = end;
    while (lo < hi) { /* the first range with lo > code */
        size_t mid = lo + (hi - lo) / 2;
        if (d->ranges.v[mid].lo <= code)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i-- > first;) {
        const struct pdf_range *r = &d->ranges.v[i];
        if (code <= r->hi && r->nbytes == nb)
            return r;
        if (lo - i > 8) /* (overlapping ranges: a few back at most) */
            break;
    }
    return NULL;
}

static int range_cmp(const void *a, const void *b)
{
    const struct pdf_range *x = a, *y = b;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Decodes the held records into text, one unit per content stream. */
static int pdf_text(struct dec_pdf *d)
{
    pdf_sort(d);
    if (d->ranges.n)
        qsort(d->ranges.v, d->ranges.n, sizeof(*d->ranges.v), range_cmp);
    struct tout o = {.d = d};
    uint32_t stream = 0, memo_stream = 0, memo_font = 0, memo_len = 0;
    int open = 0, memo_ok = 0;
    uint8_t memo_name[PDF_NAME_MAX];
    size_t r_first = 0, r_end = 0; /* the current font's ranges */
    int two = 0, mapped = 0;
    uint8_t nb_map = 1;
    for (size_t at = 0; at + 5 <= d->text.n && o.rc == SGW_OK;) {
        uint8_t kind = d->text.v[at];
        uint32_t len;
        memcpy(&len, d->text.v + at + 1, 4);
        const uint8_t *p = d->text.v + at + 5;
        at += 5 + len;
        if (kind == R_STREAM) {
            if (open)
                tout_end(&o);
            memcpy(&stream, p, 4);
            open = 1;
            two = mapped = 0;
            continue;
        }
        if (kind == R_SEP) {
            tout_cp(&o, p[0]);
            continue;
        }
        if (kind == R_RAW) { /* (its bytes, then a space) */
            for (uint32_t i = 0; i < len; i++) {
                if (o.n + 1 > sizeof(d->out))
                    tout_flush(&o);
                d->out[o.n++] = p[i] < 0x20 && p[i] != '\n' && p[i] != '\t' ? ' ' : p[i];
            }
            tout_cp(&o, ' ');
            continue;
        }
        if (kind == R_FONT) {
            /* (a font chosen again in the same stream: the same answer) */
            uint32_t fnum;
            if (memo_ok && memo_stream == stream && memo_len == len && memcmp(memo_name, p, len) == 0) {
                fnum = memo_font;
            } else {
                fnum = resolve_font(d, stream, p, len);
                memo_ok = len <= PDF_NAME_MAX;
                memo_stream = stream;
                memo_len = len;
                memo_font = fnum;
                if (memo_ok)
                    memcpy(memo_name, p, len);
            }
            const struct pdf_font *f = fnum ? font_by_num(d, fnum) : NULL;
            two = f ? f->two : 0;
            mapped = 0;
            r_first = r_end = 0;
            if (f && f->tounicode) {
                /* its map's ranges: contiguous after the sort */
                size_t lo = 0, hi = d->ranges.n;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (d->ranges.v[mid].owner < f->tounicode)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                r_first = lo;
                while (lo < d->ranges.n && d->ranges.v[lo].owner == f->tounicode)
                    lo++;
                r_end = lo;
                mapped = r_end > r_first;
                nb_map = mapped ? d->ranges.v[r_first].nbytes : 1;
                for (size_t i = r_first; i < r_end; i++)
                    if (d->ranges.v[i].nbytes == 2)
                        nb_map = 2;
            }
            continue; /* (a font not found: its bytes read as WinAnsi) */
        }
        /* R_TEXT */
        size_t cw = mapped ? nb_map : two ? 2 : 1;
        if (two && !mapped) {
            if (!d->reported_font) {
                d->reported_font = 1;
                tout_flush(&o);
                if (o.rc == SGW_OK)
                    o.rc = dec_env_fail(d->base.env, 0, "PDF text in a font without a Unicode map");
            }
            continue;
        }
        for (size_t i = 0; i + cw <= len; i += cw) {
            uint32_t code = cw == 2 ? (uint32_t)p[i] << 8 | p[i + 1] : p[i];
            const struct pdf_range *r = mapped ? range_of(d, r_first, r_end, code, (uint8_t)cw) : NULL;
            if (mapped)
                r ? d->codes_mapped++ : d->codes_unmapped++;
            if (r && r->ncp) { /* (ranges are stored with one code point or more) */
                if (r->ncp == 1 || r->lo == r->hi) {
                    uint32_t cp = r->cp[r->ncp - 1] + (code - r->lo);
                    for (uint8_t j = 0; j + 1 < r->ncp; j++)
                        tout_cp(&o, r->cp[j]);
                    tout_cp(&o, cp < 0x20 ? ' ' : cp);
                } else {
                    tout_cp(&o, r->cp[0] + (code - r->lo));
                }
            } else if (cw == 1) {
                tout_cp(&o, winansi(p[i]));
            }
        }
    }
    if (open)
        tout_end(&o);
    /* codes a map does not have are glyphs no one can read here: a few
       (a ligature, a symbol) happen; more than one in ten is a text hidden */
    if (o.rc == SGW_OK && d->codes_unmapped * 10 > d->codes_mapped + d->codes_unmapped)
        o.rc = dec_env_fail(d->base.env, 0, "PDF text with codes its font does not map");
    return o.rc;
}

static int pdf_finish(struct dec *base)
{
    struct dec_pdf *d = (struct dec_pdf *)base;
    int rc = SGW_OK;
    if (d->mode != PM_TOP) {
        rc = dec_env_fail(base->env, 0, "truncated PDF (in a stream)");
    } else {
        int cut = d->in_obj && !d->obj_done && !d->trailer;
        rc = top_lex(d, 1);
        if (rc == SGW_OK && cut) /* (what the object has was read) */
            rc = dec_env_fail(base->env, 0, "truncated PDF (in an object)");
    }
    if (rc == SGW_OK)
        rc = junk_end(d);
    if (rc == SGW_OK && d->encrypted)
        return dec_fail(base, 0, "encrypted PDF");
    if (rc == SGW_OK && !base->dead)
        rc = pdf_text(d);
    return rc;
}

static void pdf_destroy(struct dec *base)
{
    struct dec_pdf *d = (struct dec_pdf *)base;
    if (d->zinit)
        inflateEnd(&d->zs);
    dec_free(d->nested);
    free(d->obuf);
    free(d->hold);
    free(d->fonts.v);
    free(d->maps.v);
    free(d->nodes.v);
    free(d->links.v);
    free(d->ranges.v);
    free(d->text.v);
}

static const struct dec_ops pdf_ops = {"pdf", pdf_feed, pdf_finish, pdf_destroy};

int dec_new_pdf(struct dec_env *env, unsigned nest, struct dec **out)
{
    struct dec_pdf *d = dec_alloc(sizeof(*d), &pdf_ops, env, nest);
    if (!d)
        return SGW_ENOMEM;
    d->mode = PM_TOP;
    d->kind = SK_SKIP;
    *out = &d->base;
    return SGW_OK;
}

int dec_looks_pdf(const uint8_t *b, size_t n)
{
    return n >= 5 && memcmp(b, "%PDF-", 5) == 0;
}
