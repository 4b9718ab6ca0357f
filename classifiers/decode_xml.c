/* classifiers/decode_xml.c — XML bodies (application/xml, text/xml,
 * application/…+xml, and text that begins with "<?xml").
 *
 * A streaming lexer, not a validating parser: every byte of the document
 * is scanned, and the text is joined the way an XML consumer reads it
 * (catalogue 4.1 case 24):
 *  - character data, CDATA sections and character references between two
 *    tags are one text unit: "<k><![CDATA[AKIA]]><![CDATA[IOSF…]]></k>"
 *    and "AKIA&#73;OSF…" are seen whole. Comments and processing
 *    instructions inside it do not cut it ("AKIA<!-- -->IOSF…");
 *  - the five predefined entities and character references are resolved;
 *    other references pass as written (the text pipeline's escapes see
 *    them);
 *  - a start or end tag ends the text unit. Element and attribute names are
 *    data (a value can hide in a name), each its own unit; an attribute's
 *    value is a unit with its element's and its own name as context; an
 *    element's name is the context of the text inside it. A `key` or `name`
 *    attribute names what the element holds, as configuration files write
 *    it (.NET's <add key="ApiKey" value="…"/>, Spring's <property
 *    name="password" value="…"/>, Java's <entry key="db.password">…</entry>):
 *    its value takes the place of the attribute's name in the context of a
 *    `value` attribute after it and of the element's text;
 *  - comments, processing instructions and declarations are data, in a
 *    unit of their own after the text unit they sit in (held, at most
 *    XML_SIDE_HOLD bytes: a longer one ends the text unit and goes out
 *    at once);
 *  - refused (uninspectable): a DTD with an internal subset, where entities
 *    are declared whose values a reference joins into the text elsewhere,
 *    and an XML declaration naming an encoding that is not ASCII-based
 *    (UTF-7, EBCDIC: the consumer would read other characters than the
 *    scanner; catalogue 4.1 case 27).
 *
 * HTML (text/html, application/xhtml+xml, text that begins with
 * "<!doctype html" or "<html") goes through the same lexer, read as a
 * browser shows it: inline elements (span, b, a, …) and comments join the
 * text, other elements end it, the markup follows the unit as data.
 * Memory is fixed; any split of the input gives the same events. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/decode_internal.h"

#define XML_OUT 4096u       /* decoded bytes gathered before a data call */
#define XML_SIDE_HOLD 4096u /* comment and PI bytes held while a text unit is open */
#define XML_REF_MAX 12u     /* longest reference looked at: "&#x0010FFFF;" */
#define XML_DECL_MAX 256u   /* longest XML declaration checked */
#define XML_BANG 7u         /* "[CDATA[" and "DOCTYPE" */
#define XML_KEL 64u         /* bytes of a Key or Name element's text kept */

enum xml_state {
    XS_TEXT,    /* character data */
    XS_LT,      /* after '<' */
    XS_BANG,    /* after "<!": which declaration */
    XS_CDATA,   /* in a CDATA section */
    XS_COMMENT, /* in a comment */
    XS_PI,      /* in a processing instruction */
    XS_DECL,    /* in another declaration ("<!DOCTYPE x>", "<!X …>") */
    XS_TAG,     /* in a start or end tag, between or in names */
    XS_ATTR,    /* in a quoted attribute value */
};

struct dec_xml {
    struct dec base;
    enum xml_state st;
    uint8_t quote;   /* XS_ATTR: the value's quote */
    uint8_t in_unit; /* the text unit has data: it needs a boundary */
    uint8_t tok;     /* XS_TAG: in a name */
    uint8_t start;   /* XS_TAG: a start tag (its name becomes the context) */
    uint8_t ntok;    /* XS_TAG: names so far (the first is the element's) */
    uint8_t tail;    /* ']' (CDATA), '-' (comment) or '?' (PI) seen at the end, 0-2 */
    uint8_t side_on; /* a comment or PI is going out at once (did not fit) */
    uint8_t doctype; /* XS_DECL is a DOCTYPE */
    uint8_t in_ref;  /* a reference is being read (ref[0] == '&') */
    uint8_t decl;    /* XS_PI: the XML declaration ("<?xml …?>") */
    uint8_t root;    /* the first start tag's name was read */
    uint8_t join;    /* a document part (doc_root) or HTML: only block tags end the text */
    uint8_t html;    /* HTML: the inline elements (html_inline) join, any other ends */
    uint8_t kcap;    /* XS_ATTR: the value of a key or name attribute (kname) */
    uint8_t slash;   /* XS_TAG: '/' the last byte but white space (an empty element's tag) */
    uint8_t kel_cap; /* in a Key or Name element: its text kept in kel */
    uint8_t kel_ready; /* a Key or Name element just ended: kel names the next element */
    uint8_t kel_len;
    uint8_t blen;
    uint8_t rlen;
    uint8_t bang[XML_BANG];
    uint8_t ref[XML_REF_MAX];
    struct xml_tb *tb;     /* tables (documents and HTML), made at the first */
    uint8_t kel[XML_KEL];  /* a Key or Name element's text (its first bytes) */
    struct dec_book *book; /* an xlsx worksheet's (borrowed), or NULL */
    uint8_t *acap;         /* XS_ATTR: where a cell's attribute value is kept */
    size_t *acap_len;
    size_t acap_max;
    size_t name_len; /* the element's name (context), bounded */
    size_t attr_len; /* the last name in the tag (an attribute's, its value's context) */
    size_t kname_len; /* the tag's key or name attribute's value, bounded */
    size_t side_len;
    size_t decl_len;
    size_t olen;
    uint8_t name[DEC_CONTEXT_MAX];
    uint8_t attr[DEC_CONTEXT_MAX];
    uint8_t kname[DEC_CONTEXT_MAX];
    uint8_t decl_buf[XML_DECL_MAX];
    uint8_t out[XML_OUT];
    uint8_t side[XML_SIDE_HOLD];
};

/* A table in a document or a page (a worksheet's sheetData, OpenDocument's
 * table:table, Word's and PowerPoint's tbl, HTML's table): the first row
 * names the columns, and each later cell's text units go out under a
 * context of the row's cell before it and its column's name, as for CSV
 * (decode_csv.c). Read as a stream of text, only the words within 64
 * bytes before a value were its context, and between a header and the
 * second row lies the markup of a row (OpenDocument's is ~600 bytes), so
 * a bare 9-digit number or a date under "ssn" or "date of birth" was no
 * finding. Only the outermost table is followed (a table in a cell is
 * text of the cell). */
#define TB_COLS 256u
#define TB_V 40u /* an xlsx value held to be shown through the book */
struct xml_tb {
    unsigned depth;   /* tables open */
    uint8_t sml;      /* the table is a worksheet's sheetData */
    uint8_t in_cell;
    uint8_t in_v;     /* in a worksheet cell's <v>: 1 held, 2 passed on (too long) */
    uint64_t row;     /* rows of the table so far (1: the header) */
    size_t col;       /* the next cell's column */
    size_t cell_col;  /* the cell's */
    size_t span;      /* columns the cell covers */
    size_t cur_len, prev_len, vl;
    size_t rl, sl, tl, spl; /* the cell's attributes so far */
    uint8_t r[16], s[12], t[12], sp[8];
    uint8_t v[TB_V];
    uint8_t cur[DEC_CELL_NAME];
    uint8_t prev[DEC_CELL_PREV];
    struct dec_title title; /* a first row that is a title's */
    uint8_t name_len[TB_COLS];
    uint8_t names[TB_COLS][DEC_CELL_NAME];
};

static int xml_flush(struct dec_xml *x)
{
    size_t n = x->olen;
    x->olen = 0;
    return dec_text_data(x->base.env, x->out, n);
}

static int xml_put(struct dec_xml *x, const uint8_t *p, size_t n)
{
    int rc = SGW_OK;
    while (n && rc == SGW_OK) {
        size_t k = XML_OUT - x->olen < n ? XML_OUT - x->olen : n;
        memcpy(x->out + x->olen, p, k);
        x->olen += k;
        p += k;
        n -= k;
        if (x->olen == XML_OUT)
            rc = xml_flush(x);
    }
    return rc;
}

static int tb_text(struct dec_xml *x, const uint8_t *p, size_t n);

/* Text of the current text unit. */
static int xml_text(struct dec_xml *x, const uint8_t *p, size_t n)
{
    if (n == 0)
        return SGW_OK;
    if (x->tb && x->tb->in_cell)
        return tb_text(x, p, n);
    if (x->kel_cap && x->kel_len < XML_KEL) {
        size_t k = n < XML_KEL - x->kel_len ? n : XML_KEL - x->kel_len;
        memcpy(x->kel + x->kel_len, p, k);
        x->kel_len = (uint8_t)(x->kel_len + k);
    }
    x->in_unit = 1;
    return xml_put(x, p, n);
}

/* Ends the unit being written (a name, a value, a comment going out). */
static int xml_unit_end(struct dec_xml *x)
{
    int rc = xml_flush(x);
    return rc == SGW_OK ? dec_text_boundary(x->base.env) : rc;
}

/* Ends the text unit, then sends the comments and PIs held while it was
 * open, as a unit of their own. */
static int xml_text_end(struct dec_xml *x)
{
    int rc = SGW_OK;
    if (x->in_unit)
        rc = xml_unit_end(x);
    x->in_unit = 0;
    if (rc == SGW_OK && x->side_len) {
        rc = dec_text_data(x->base.env, x->side, x->side_len);
        if (rc == SGW_OK)
            rc = dec_text_boundary(x->base.env);
    }
    x->side_len = 0;
    return rc;
}

/* Bytes of a comment, PI or declaration: held while they fit (one line
 * apart from the one before); past XML_SIDE_HOLD bytes the text unit ends,
 * the held bytes go out as a unit, and the rest of this one as another. */
static int xml_side(struct dec_xml *x, const uint8_t *p, size_t n)
{
    if (n == 0)
        return SGW_OK;
    if (x->side_on)
        return xml_put(x, p, n);
    /* the hold fills up to the byte (where it overflows does not depend
       on how the input was cut) */
    size_t k = XML_SIDE_HOLD - x->side_len < n ? XML_SIDE_HOLD - x->side_len : n;
    memcpy(x->side + x->side_len, p, k);
    x->side_len += k;
    if (k == n)
        return SGW_OK;
    int rc = xml_text_end(x);
    x->side_on = 1;
    return rc == SGW_OK ? xml_put(x, p + k, n - k) : rc;
}

/* A comment, PI or declaration starts (held ones are kept apart by a
 * line end). */
static int xml_side_begin(struct dec_xml *x)
{
    static const uint8_t nl = '\n';
    return x->side_len ? xml_side(x, &nl, 1) : SGW_OK;
}

/* ... and ends. */
static int xml_side_end(struct dec_xml *x)
{
    if (!x->side_on)
        return SGW_OK;
    x->side_on = 0;
    return xml_unit_end(x);
}

static int name_char(uint8_t c)
{
    return !(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/' || c == '=' ||
             c == '"' || c == '\'' || c == '<');
}

static int name_start(uint8_t c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? 1 : c == '_' || c == ':' || c >= 0x80;
}

/* Bytes of the text or of an attribute value. */
static int xml_chars(struct dec_xml *x, const uint8_t *p, size_t n)
{
    if (x->st != XS_ATTR)
        return xml_text(x, p, n);
    if (x->kcap) {
        size_t k = sizeof(x->kname) - x->kname_len < n ? sizeof(x->kname) - x->kname_len : n;
        memcpy(x->kname + x->kname_len, p, k);
        x->kname_len += k;
    }
    if (x->acap) {
        size_t k = x->acap_max - *x->acap_len < n ? x->acap_max - *x->acap_len : n;
        memcpy(x->acap + *x->acap_len, p, k);
        *x->acap_len += k;
    }
    return x->join ? xml_side(x, p, n) : xml_put(x, p, n);
}

/* The root elements of the parts of Office Open XML and OpenDocument
 * documents whose text the application shows joined across elements:
 * Word splits a paragraph into runs (<w:r><w:t>…</w:t></w:r>) wherever the
 * formatting, the spelling check or an edit changes, so a value typed in
 * one go can lie in two elements. */
static int doc_root(const uint8_t *n, size_t len)
{
    static const char *const roots[] = {"w:document",
                                        "w:hdr",
                                        "w:ftr",
                                        "w:footnotes",
                                        "w:endnotes",
                                        "w:comments",
                                        "w:glossaryDocument",
                                        "sst",
                                        "worksheet",
                                        "p:sld",
                                        "p:notes",
                                        "p:sldLayout",
                                        "p:sldMaster",
                                        "p:notesMaster",
                                        "c:chartSpace",
                                        "office:document-content",
                                        "office:document-styles",
                                        "office:document"};
    for (size_t k = 0; k < SGW_ARRAY_LEN(roots); k++)
        if (strlen(roots[k]) == len && memcmp(roots[k], n, len) == 0)
            return 1;
    /* SpreadsheetML with a prefix (the Open XML SDK's x:worksheet) */
    const uint8_t *colon = memchr(n, ':', len);
    size_t l = colon ? len - (size_t)(colon - n) - 1 : 0;
    return colon && ((l == 9 && memcmp(colon + 1, "worksheet", 9) == 0) || (l == 3 && memcmp(colon + 1, "sst", 3) == 0));
}

/* In a document part, the elements that end a text unit (by local name):
 * paragraphs and headings, table cells and rows, shared strings and
 * spreadsheet cells, breaks and tabs. Other tags (runs, formatting) are
 * not there for the text. */
static int doc_block(const uint8_t *n, size_t len)
{
    static const char *const blocks[] = {
        "p",         "h",          "si",        "c",    "tc",         "tr",   "tbl",
        "br",        "cr",         "tab",       "row",  "sheetData",  "body", "txbxContent",
        "list-item", "table-cell", "table-row", "note", "annotation", "sp",   "pt"};
    size_t i = len;
    while (i > 0 && n[i - 1] != ':')
        i--;
    for (size_t k = 0; k < SGW_ARRAY_LEN(blocks); k++)
        if (strlen(blocks[k]) == len - i && memcmp(blocks[k], n + i, len - i) == 0)
            return 1;
    return 0;
}

/* In HTML, the elements a browser shows inside a line of text (by name,
 * any case): `AKIA<span></span>IOSF…` is one word on the screen. Other
 * elements (paragraphs, cells, list items, breaks, images, unknown ones)
 * end the text unit. */
static int html_inline(const uint8_t *n, size_t len)
{
    static const char *const inl[] = {
        "a",     "abbr", "b",      "bdi",    "bdo", "big",   "cite", "code", "data", "del", "dfn",
        "em",    "font", "i",      "ins",    "kbd", "label", "mark", "nobr", "q",    "s",   "samp",
        "small", "span", "strike", "strong", "sub", "sup",   "time", "tt",   "u",    "var", "wbr"};
    char lc[8];
    if (len == 0 || len >= sizeof(lc))
        return 0;
    for (size_t i = 0; i < len; i++)
        lc[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] | 0x20 : n[i]);
    lc[len] = '\0';
    for (size_t k = 0; k < SGW_ARRAY_LEN(inl); k++)
        if (strcmp(inl[k], lc) == 0)
            return 1;
    return 0;
}

/* The character of a reference r[0..n) (what is between '&' and ';'): one
 * of the five predefined entities or a character reference, as UTF-8 into
 * u; returns its length, or 0 when it is none of them. */
size_t dec_xml_ref(const uint8_t *r, size_t n, uint8_t u[4])
{
    static const struct {
        const char *name;
        uint8_t c;
    } predef[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"apos", '\''}, {"quot", '"'}};
    if (n >= 2 && r[0] == '#') {
        int hex = (r[1] | 0x20) == 'x';
        uint32_t cp = 0;
        size_t i = hex ? 2 : 1, d0 = i;
        for (; i < n; i++) {
            int v = hex ? sgw_hex_val(r[i]) : (r[i] >= '0' && r[i] <= '9' ? r[i] - '0' : -1);
            if (v < 0 || cp > 0x10ffff)
                break;
            cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
        }
        if (i == n && i > d0 && cp != 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff))
            return sgw_utf8_encode(u, cp);
        return 0;
    }
    for (size_t k = 0; k < SGW_ARRAY_LEN(predef); k++)
        if (strlen(predef[k].name) == n && memcmp(predef[k].name, r, n) == 0) {
            u[0] = predef[k].c;
            return 1;
        }
    return 0;
}

/* A complete reference ref[0..rlen) ("&…;"): its character, or as written. */
static int xml_ref_done(struct dec_xml *x)
{
    uint8_t u[4];
    size_t k = dec_xml_ref(x->ref + 1, (size_t)x->rlen - 2, u);
    x->in_ref = 0;
    return k ? xml_chars(x, u, k) : xml_chars(x, x->ref, x->rlen);
}

/* The next byte of a reference. Returns 1 when c is not part of it (the
 * bytes so far went out as written; c is for the state's own rules). */
static int xml_ref_byte(struct dec_xml *x, uint8_t c, int *rc)
{
    int ok = c == '#' ? x->rlen == 1
                      : (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    if (c == ';' && x->rlen > 1 && x->rlen < XML_REF_MAX) {
        x->ref[x->rlen++] = c;
        *rc = xml_ref_done(x);
        return 0;
    }
    if (ok && x->rlen < XML_REF_MAX - 1) {
        x->ref[x->rlen++] = c;
        *rc = SGW_OK;
        return 0;
    }
    x->in_ref = 0;
    *rc = xml_chars(x, x->ref, x->rlen);
    return 1;
}

/* Refuses the rest of the document; what was decoded before goes on first
 * (however the input was cut). */
static int xml_fail(struct dec_xml *x, const char *reason)
{
    int rc = xml_flush(x);
    return rc == SGW_OK ? dec_fail(&x->base, 0, "%s", reason) : rc;
}

/* Is the XML declaration's encoding one whose bytes the scanner reads as
 * the consumer does? decl_buf holds what follows "<?" up to "?>". */
static int xml_decl_check(struct dec_xml *x)
{
    static const char *const ok_prefix[] = {"utf-8",       "utf8",      "us-ascii",
                                            "ascii",       "iso-8859-", "latin1",
                                            "windows-125", "utf-16",    "cp125"};
    const uint8_t *s = x->decl_buf;
    size_t n = x->decl_len;
    const uint8_t *e = NULL;
    for (size_t i = 0; i + 8 <= n; i++)
        if (memcmp(s + i, "encoding", 8) == 0) {
            e = s + i + 8;
            break;
        }
    if (!e)
        return SGW_OK; /* UTF-8 by default */
    const uint8_t *end = s + n;
    while (e < end && (*e == ' ' || *e == '\t' || *e == '\r' || *e == '\n' || *e == '='))
        e++;
    if (e == end || (*e != '"' && *e != '\''))
        return xml_fail(x, "malformed XML declaration");
    uint8_t q = *e++;
    const uint8_t *v = e;
    while (e < end && *e != q)
        e++;
    char enc[32];
    size_t vl = (size_t)(e - v);
    if (e == end || vl == 0 || vl >= sizeof(enc))
        return xml_fail(x, "malformed XML declaration");
    for (size_t i = 0; i < vl; i++)
        enc[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] | 0x20 : v[i]);
    enc[vl] = '\0';
    for (size_t k = 0; k < SGW_ARRAY_LEN(ok_prefix); k++)
        if (strncmp(enc, ok_prefix[k], strlen(ok_prefix[k])) == 0)
            return SGW_OK;
    for (size_t i = 0; i < vl; i++)
        if (!((enc[i] >= 'a' && enc[i] <= 'z') || (enc[i] >= '0' && enc[i] <= '9') ||
              enc[i] == '-' || enc[i] == '_' || enc[i] == '.'))
            enc[i] = '?';
    char why[DEC_REASON_LEN];
    snprintf(why, sizeof(why), "XML encoding %.24s not inspectable", enc);
    return xml_fail(x, why);
}

/* A name in a tag ends. */
static int xml_tok_end(struct dec_xml *x)
{
    if (!x->tok)
        return SGW_OK;
    x->tok = 0;
    if (x->ntok == 1 && x->start && !x->root) {
        x->root = 1;
        x->join = (uint8_t)doc_root(x->name, x->name_len);
        if (x->join)
            return xml_unit_end(x); /* (the root's name went out as a unit) */
    }
    if (!x->join)
        return xml_unit_end(x);
    /* a document: names were held (or went out at once, past the hold); a
       block element ends the text */
    int rc = xml_side_end(x);
    if (rc == SGW_OK && x->ntok == 1 &&
        (x->html ? !html_inline(x->name, x->name_len) : doc_block(x->name, x->name_len)))
        rc = xml_text_end(x);
    return rc;
}

/* Which declaration "<!" starts: bang[0..blen) so far, with c the next
 * byte. */
static int xml_bang(struct dec_xml *x, uint8_t c)
{
    static const char cdata[] = "[CDATA[", doctype[] = "DOCTYPE";
    x->bang[x->blen++] = c;
    size_t n = x->blen;
    int is_cdata = memcmp(x->bang, cdata, n) == 0;
    int is_doc = 1;
    for (size_t i = 0; i < n; i++)
        is_doc &= (x->bang[i] & 0xdf) == (uint8_t)doctype[i];
    int is_comment = x->bang[0] == '-' && (n == 1 || x->bang[1] == '-');
    if (is_comment && n == 2) {
        x->st = XS_COMMENT;
        x->tail = 0;
        return xml_side_begin(x);
    }
    if (is_cdata && n == 7) {
        x->st = XS_CDATA;
        x->tail = 0;
        return SGW_OK;
    }
    if (is_doc && n == 7) {
        x->st = XS_DECL;
        x->doctype = 1;
        int rc = xml_side_begin(x);
        return rc == SGW_OK ? xml_side(x, x->bang, n) : rc;
    }
    if (is_comment || is_cdata || is_doc)
        return SGW_OK;
    /* another declaration: its bytes are data up to '>' */
    x->st = XS_DECL;
    x->doctype = 0;
    int rc = xml_side_begin(x);
    if (c == '>') {
        x->st = XS_TEXT;
        rc = rc == SGW_OK ? xml_side(x, x->bang, n - 1) : rc;
        return rc == SGW_OK ? xml_side_end(x) : rc;
    }
    return rc == SGW_OK ? xml_side(x, x->bang, n) : rc;
}

/* Is the tag's last name w (lower case), in any case? */
static int attr_is(const struct dec_xml *x, const char *w)
{
    size_t n = strlen(w);
    if (x->ntok < 2 || x->attr_len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((x->attr[i] | 0x20) != w[i])
            return 0;
    return 1;
}

/* An element's or a value's context: the element's name, then (sep) a
 * space and what (the attribute's name, or what the key attribute named). */
static int xml_context(struct dec_xml *x, const uint8_t *what, size_t wn, int sep)
{
    uint8_t ctx[DEC_CONTEXT_MAX];
    size_t cn = sep && x->name_len == sizeof(ctx) ? sizeof(ctx) - 1 : x->name_len;
    memcpy(ctx, x->name, cn);
    if (sep) {
        ctx[cn++] = ' ';
        if (wn > sizeof(ctx) - cn)
            wn = sizeof(ctx) - cn;
        memcpy(ctx + cn, what, wn);
        cn += wn;
    }
    return dec_text_context(x->base.env, ctx, cn);
}

/* A tag of plain XML ends ('>'): Key and Name elements. AWS's XML and
 * property lists give a name and its value as two elements,
 * <Tag><Key>owner-ssn</Key><Value>536221847</Value></Tag> (S3's tagging,
 * Route 53's, CloudFront's), <key>Password</key><string>…</string> (a
 * plist): the text of a Key or Name element (key, name) is added to the
 * context of the element right after it ("Value owner-ssn"). */
static void xml_key_element(struct dec_xml *x)
{
    x->kel_ready = 0;
    if (!x->start) {
        x->kel_ready = x->kel_cap; /* (the Key element ended) */
        x->kel_cap = 0;
        return;
    }
    size_t i = x->name_len;
    while (i > 0 && x->name[i - 1] != ':')
        i--;
    const uint8_t *l = x->name + i;
    size_t n = x->name_len - i;
    x->kel_cap = !x->slash && ((n == 3 && (l[0] | 0x20) == 'k' && memcmp(l + 1, "ey", 2) == 0) ||
                               (n == 4 && (l[0] | 0x20) == 'n' && memcmp(l + 1, "ame", 3) == 0));
    if (x->kel_cap)
        x->kel_len = 0;
}

/* ---- tables ---- */

/* Is the element's local name one of set[0..n) (any case in HTML)? */
static int tb_name(const struct dec_xml *x, const char *const *set, size_t n)
{
    size_t i = x->name_len;
    while (i > 0 && x->name[i - 1] != ':')
        i--;
    size_t len = x->name_len - i;
    for (size_t k = 0; k < n; k++) {
        if (strlen(set[k]) != len)
            continue;
        size_t j = 0;
        while (j < len && (x->html ? (x->name[i + j] | 0x20) == set[k][j] : x->name[i + j] == (uint8_t)set[k][j]))
            j++;
        if (j == len)
            return 1;
    }
    return 0;
}

static const char *const tb_tables[] = {"sheetData", "table", "tbl"};
static const char *const tb_rows[] = {"row", "table-row", "tr"};
static const char *const tb_cells[] = {"c", "table-cell", "covered-table-cell", "td", "th", "tc"};

static size_t tb_uint(const uint8_t *p, size_t n, size_t max)
{
    size_t v = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10 + (p[i] - '0') > max ? max : v * 10 + (p[i] - '0');
    return v;
}

/* An attribute value of a cell's start tag begins: kept when the cell
 * needs it (its reference, format and type in a worksheet; the columns it
 * covers). */
static void tb_attr_begin(struct dec_xml *x)
{
    struct xml_tb *tb = x->tb;
    x->acap = NULL;
    if (tb->depth != 1 || !x->start || !tb_name(x, tb_cells, SGW_ARRAY_LEN(tb_cells)))
        return;
    size_t i = x->attr_len;
    while (i > 0 && x->attr[i - 1] != ':')
        i--;
    const uint8_t *a = x->attr + i;
    size_t n = x->attr_len - i;
#define TB_CAP(field, len)                                                                         \
    do {                                                                                           \
        x->acap = tb->field;                                                                       \
        x->acap_len = &tb->len;                                                                    \
        x->acap_max = sizeof(tb->field);                                                           \
        tb->len = 0;                                                                               \
    } while (0)
    if (tb->sml && n == 1 && a[0] == 'r')
        TB_CAP(r, rl);
    else if (tb->sml && n == 1 && a[0] == 's')
        TB_CAP(s, sl);
    else if (tb->sml && n == 1 && a[0] == 't')
        TB_CAP(t, tl);
    else if ((n == 23 && memcmp(a, "number-columns-repeated", 23) == 0) ||
             (n == 7 && (memcmp(a, "colspan", 7) == 0 || memcmp(a, "COLSPAN", 7) == 0)))
        TB_CAP(sp, spl);
#undef TB_CAP
}

/* The context of the text after it: none, or (a cell) the row's cell
 * before and the column's name. */
static int tb_context(struct dec_xml *x, const uint8_t *prev, size_t pl, const uint8_t *name, size_t nl)
{
    /* (text gathered in out[] goes first: the events' order must not
       depend on where the input was cut) */
    int rc = xml_flush(x);
    if (rc != SGW_OK)
        return rc;
    if (pl + nl == 0)
        return dec_text_context(x->base.env, x->name, 0);
    return dec_cell_context(x->base.env, prev, pl, name, nl);
}

static int tb_cell_begin(struct dec_xml *x)
{
    struct xml_tb *tb = x->tb;
    if (tb->rl) { /* a worksheet cell's reference: its column's letters */
        size_t c = 0, i = 0;
        while (i < tb->rl && tb->r[i] >= 'A' && tb->r[i] <= 'Z' && c < (1u << 20))
            c = c * 26 + (size_t)(tb->r[i++] - 'A' + 1);
        if (i > 0)
            tb->col = c - 1;
    }
    tb->cell_col = tb->col;
    tb->span = tb->spl ? tb_uint(tb->sp, tb->spl, 1u << 14) : 1;
    tb->span += tb->span == 0;
    tb->rl = tb->spl = 0;
    /* the text before ends, and the markup held with it: the cell's own
       attributes too, before its context (OpenDocument repeats a cell's
       value there, office:value="536221847": under the column's name it
       would be a second finding of the same value) */
    int rc = xml_text_end(x);
    tb->in_cell = 1;
    tb->cur_len = 0;
    tb->in_v = 0;
    /* (the header's cells: the cell before, a key/value table's first pair) */
    size_t c = tb->cell_col;
    const uint8_t *name = tb->names[c < TB_COLS ? c : 0];
    size_t nl = tb->title.tent ? dec_title_name(&tb->title, c, &name) : tb->row > 1 && c < TB_COLS ? tb->name_len[c] : 0;
    return rc == SGW_OK ? tb_context(x, tb->prev, c > 0 ? tb->prev_len : 0, name, nl) : rc;
}

static int tb_v_end(struct dec_xml *x);

static int tb_cell_end(struct dec_xml *x)
{
    struct xml_tb *tb = x->tb;
    int rc = tb->in_v == 1 ? tb_v_end(x) : SGW_OK;
    size_t c = tb->cell_col;
    if (tb->row == 1 && c < TB_COLS) {
        memcpy(tb->names[c], tb->cur, tb->cur_len);
        tb->name_len[c] = (uint8_t)tb->cur_len;
    }
    tb->prev_len = tb->cur_len < DEC_CELL_PREV ? tb->cur_len : DEC_CELL_PREV;
    memcpy(tb->prev, tb->cur, tb->prev_len);
    tb->col = c + tb->span;
    tb->in_cell = 0;
    tb->in_v = 0;
    tb->sl = tb->tl = 0;
    if (rc == SGW_OK)
        rc = xml_text_end(x);
    return rc == SGW_OK ? tb_context(x, NULL, 0, NULL, 0) : rc;
}

/* Text in a cell: its first bytes kept (the column's name in the header
 * row, the cell before for the next); in a worksheet's <v>, held to be
 * shown through the book. */
static int tb_text(struct dec_xml *x, const uint8_t *p, size_t n)
{
    struct xml_tb *tb = x->tb;
    if (tb->in_v == 1) {
        if (tb->vl + n <= TB_V) {
            memcpy(tb->v + tb->vl, p, n);
            tb->vl += n;
            return SGW_OK;
        }
        tb->in_v = 2; /* no number or index: as written */
        int rc = tb_text(x, tb->v, tb->vl);
        if (rc != SGW_OK)
            return rc;
    }
    if (tb->cur_len < DEC_CELL_NAME) {
        size_t k = n < DEC_CELL_NAME - tb->cur_len ? n : DEC_CELL_NAME - tb->cur_len;
        memcpy(tb->cur + tb->cur_len, p, k);
        tb->cur_len += k;
    }
    x->in_unit = 1;
    return xml_put(x, p, n);
}

/* A worksheet cell's </v>: the value as the application shows it. */
static int tb_v_end(struct dec_xml *x)
{
    struct xml_tb *tb = x->tb;
    const uint8_t *o = tb->v;
    size_t on = tb->vl;
    char buf[32];
    tb->in_v = 0;
    int k = x->book ? dec_book_cell(x->book, tb->t, tb->tl, tb->s, tb->sl, tb->v, tb->vl, &o, &on, buf) : 0;
    if (k < 0)
        return xml_fail(x, "xlsx cells' text over the decoded limit");
    return on ? tb_text(x, o, on) : SGW_OK;
}

/* A tag of a document or a page ends ('>'): tables, rows, cells. */
static int tb_tag(struct dec_xml *x)
{
    int start = x->start, empty = x->slash;
    struct xml_tb *tb = x->tb;
    if (tb_name(x, tb_tables, SGW_ARRAY_LEN(tb_tables))) {
        if (start && !empty) {
            if (!tb && !(tb = x->tb = calloc(1, sizeof(*tb))))
                return SGW_ENOMEM;
            if (tb->depth++ == 0) {
                memset(tb, 0, offsetof(struct xml_tb, names));
                tb->depth = 1;
                tb->sml = (uint8_t)tb_name(x, tb_tables, 1);
            }
        } else if (!start && tb && tb->depth && --tb->depth == 0) {
            int rc = tb->in_cell ? tb_cell_end(x) : SGW_OK;
            rc = rc == SGW_OK ? xml_text_end(x) : rc; /* (the table's last text) */
            return rc == SGW_OK ? tb_context(x, NULL, 0, NULL, 0) : rc;
        }
        return SGW_OK;
    }
    if (!tb || tb->depth != 1)
        return SGW_OK;
    if (tb_name(x, tb_rows, SGW_ARRAY_LEN(tb_rows))) {
        int rc = tb->in_cell ? tb_cell_end(x) : SGW_OK;
        if (start) {
            /* (the header's row again after a title's) */
            if (tb->row != 1 || !dec_title_row(&tb->title, tb->names, tb->name_len, TB_COLS))
                tb->row++;
            tb->col = 0;
            tb->prev_len = 0;
        }
        return rc;
    }
    if (tb_name(x, tb_cells, SGW_ARRAY_LEN(tb_cells))) {
        if (!start)
            return tb->in_cell ? tb_cell_end(x) : SGW_OK;
        if (tb->row == 0) { /* (a cell outside any row) */
            tb->rl = tb->spl = tb->sl = tb->tl = 0;
            return SGW_OK;
        }
        int rc = tb->in_cell ? tb_cell_end(x) : SGW_OK;
        if (rc == SGW_OK)
            rc = tb_cell_begin(x);
        return rc == SGW_OK && empty ? tb_cell_end(x) : rc;
    }
    static const char *const v[] = {"v"};
    if (tb->sml && tb->in_cell && tb_name(x, v, 1)) {
        if (start && !empty) { /* (a formula's text before it is a unit of its own) */
            int rc = xml_text_end(x);
            tb->in_v = 1;
            tb->vl = 0;
            return rc;
        }
        if (!start && tb->in_v == 1)
            return tb_v_end(x);
        if (!start)
            tb->in_v = 0;
    }
    return SGW_OK;
}

/* One byte in a tag. */
static int xml_tag_byte(struct dec_xml *x, uint8_t c)
{
    int rc;
    if (name_char(c)) {
        int first = !x->tok;
        x->slash = 0;
        if (first) {
            x->tok = 1;
            x->ntok++;
            x->attr_len = 0;
        }
        if (x->ntok == 1 && x->name_len < sizeof(x->name))
            x->name[x->name_len++] = c;
        else if (x->ntok > 1 && x->attr_len < sizeof(x->attr))
            x->attr[x->attr_len++] = c;
        if (x->join) {
            /* held, a name apart from the held bytes before it */
            rc = first ? xml_side_begin(x) : SGW_OK;
            return rc == SGW_OK ? xml_side(x, &c, 1) : rc;
        }
        return xml_put(x, &c, 1);
    }
    rc = xml_tok_end(x);
    if (rc != SGW_OK)
        return rc;
    if (c == '"' || c == '\'') {
        x->st = XS_ATTR;
        x->quote = c;
        x->kcap = 0;
        x->slash = 0;
        if (x->join) {
            if (x->tb)
                tb_attr_begin(x);
            return xml_side_begin(x); /* held, apart from the name before */
        }
        /* the value's context: its element's and its attribute's names, or
           what a key attribute before it named */
        if (attr_is(x, "value") && x->kname_len)
            return xml_context(x, x->kname, x->kname_len, 1);
        if (attr_is(x, "key") || attr_is(x, "name")) {
            x->kcap = 1;
            x->kname_len = 0;
        }
        return xml_context(x, x->attr, x->ntok > 1 ? x->attr_len : 0, 1);
    }
    if (c == '>') {
        x->st = XS_TEXT;
        if (x->join && x->name_len && (rc = tb_tag(x)) != SGW_OK)
            return rc;
        /* the text inside an element: its name as context (and what its
           key attribute named, or the Key or Name element before it);
           after an empty element its name alone */
        if (x->name_len && !x->join) {
            int ready = x->kel_ready;
            xml_key_element(x);
            if (!x->start)
                return SGW_OK;
            if (!x->kname_len && ready && x->kel_len && !x->slash)
                return xml_context(x, x->kel, x->kel_len, 1);
            return xml_context(x, x->kname, x->slash ? 0 : x->kname_len, !x->slash && x->kname_len != 0);
        }
    }
    if (c == '/')
        x->slash = 1;
    else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
        x->slash = 0;
    return SGW_OK; /* white space, '/', '=', '<' */
}

/* A tag starts (c: its first byte after '<'): the text unit ends. */
static int xml_tag_begin(struct dec_xml *x, int start)
{
    int rc = x->join ? SGW_OK : xml_text_end(x);
    x->st = XS_TAG;
    x->tok = 0;
    x->ntok = 0;
    x->start = (uint8_t)start;
    x->name_len = 0;
    x->kname_len = 0;
    x->slash = 0;
    /* the text after an end tag is not the element's: its context ends
       (nor is the end tag's name a value of the element's key) */
    if (!start && !x->join && rc == SGW_OK)
        rc = dec_text_context(x->base.env, x->name, 0);
    return rc;
}

static int xml_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_xml *x = (struct dec_xml *)d;
    int rc = SGW_OK;
    size_t i = 0;
    while (i < n && rc == SGW_OK && !d->dead) {
        uint8_t c = p[i];
        if (x->in_ref) {
            if (!xml_ref_byte(x, c, &rc))
                i++;
            continue; /* (c, not part of it, goes by the state's rules) */
        }
        switch (x->st) {
        case XS_TEXT: {
            size_t e = i;
            while (e < n && p[e] != '<' && p[e] != '&')
                e++;
            rc = xml_text(x, p + i, e - i);
            i = e;
            if (i < n) {
                if (p[i] == '&') {
                    x->in_ref = 1;
                    x->rlen = 1;
                    x->ref[0] = '&';
                } else {
                    x->st = XS_LT;
                }
                i++;
            }
            continue;
        }
        case XS_ATTR:
            if (c == x->quote) {
                x->st = XS_TAG;
                x->acap = NULL;
                rc = x->join ? xml_side_end(x) : xml_unit_end(x);
            } else if (c == '&') {
                x->in_ref = 1;
                x->rlen = 1;
                x->ref[0] = '&';
            } else {
                rc = xml_chars(x, &c, 1);
            }
            break;
        case XS_LT:
            if (c == '!') {
                x->st = XS_BANG;
                x->blen = 0;
            } else if (c == '?') {
                x->st = XS_PI;
                x->tail = 0;
                x->decl_len = 0;
                x->decl = 1; /* until the target is not "xml" */
                rc = xml_side_begin(x);
            } else if (c == '/' || name_start(c)) {
                rc = xml_tag_begin(x, c != '/');
                if (c == '/')
                    break;
                continue; /* the name's first byte */
            } else {
                /* a '<' that starts no markup is text ("a < b") */
                static const uint8_t lt = '<';
                x->st = XS_TEXT;
                rc = xml_text(x, &lt, 1);
                continue;
            }
            break;
        case XS_BANG:
            rc = xml_bang(x, c);
            break;
        case XS_CDATA: {
            /* up to "]]>"; the ']'s before the end are held */
            static const uint8_t rb[2] = {']', ']'};
            if (c == ']') {
                if (x->tail == 2)
                    rc = xml_text(x, rb, 1);
                else
                    x->tail++;
            } else if (c == '>' && x->tail == 2) {
                x->st = XS_TEXT;
            } else {
                size_t e = i + 1;
                while (e < n && p[e] != ']')
                    e++;
                rc = xml_text(x, rb, x->tail);
                x->tail = 0;
                if (rc == SGW_OK)
                    rc = xml_text(x, p + i, e - i);
                i = e;
                continue;
            }
            break;
        }
        case XS_COMMENT:
        case XS_PI: {
            /* up to "-->" or "?>" */
            uint8_t mark = x->st == XS_COMMENT ? '-' : '?';
            unsigned need = x->st == XS_COMMENT ? 2 : 1;
            static const uint8_t dashes[2] = {'-', '-'};
            if (c == mark) {
                if (x->tail == need)
                    rc = xml_side(x, &mark, 1);
                else
                    x->tail++;
                if (x->decl && x->decl_len < XML_DECL_MAX)
                    x->decl_buf[x->decl_len++] = c;
                break;
            }
            if (c == '>' && x->tail == need) {
                int was_decl = x->st == XS_PI && x->decl;
                x->st = XS_TEXT;
                rc = xml_side_end(x);
                if (rc == SGW_OK && was_decl) {
                    if (x->decl_len >= XML_DECL_MAX)
                        rc = xml_fail(x, "XML declaration too long");
                    else
                        rc = xml_decl_check(x);
                }
                break;
            }
            size_t e = i + 1;
            while (e < n && p[e] != mark)
                e++;
            rc = xml_side(x, x->st == XS_COMMENT ? dashes : &mark, x->tail);
            x->tail = 0;
            if (rc == SGW_OK)
                rc = xml_side(x, p + i, e - i);
            if (x->decl) {
                for (size_t k = i; k < e && x->decl_len < XML_DECL_MAX; k++)
                    x->decl_buf[x->decl_len++] = p[k];
                /* the target "xml" and then white space */
                if (x->decl_len >= 4) {
                    const uint8_t *t = x->decl_buf;
                    x->decl = memcmp(t, "xml", 3) == 0 &&
                              (t[3] == ' ' || t[3] == '\t' || t[3] == '\r' || t[3] == '\n');
                } else if (memcmp(x->decl_buf, "xml", x->decl_len) != 0) {
                    x->decl = 0;
                }
            }
            i = e;
            continue;
        }
        case XS_DECL:
            if (c == '[' && x->doctype) {
                rc = xml_fail(x, "XML DTD with an internal subset not inspectable");
            } else if (c == '>') {
                x->st = XS_TEXT;
                rc = xml_side_end(x);
            } else {
                rc = xml_side(x, &c, 1);
            }
            break;
        case XS_TAG:
            if (c == '<') {
                /* "<a <b>": the tag was never closed; a new one starts */
                rc = xml_tok_end(x);
                x->st = XS_LT;
                break;
            }
            rc = xml_tag_byte(x, c);
            break;
        }
        i++;
    }
    if (rc == SGW_OK && !d->dead && x->olen)
        rc = xml_flush(x);
    return rc;
}

/* The end of the document: what a construct cut by it holds goes out as
 * data (nothing is dropped). */
static int xml_finish(struct dec *d)
{
    struct dec_xml *x = (struct dec_xml *)d;
    if (d->dead)
        return SGW_OK;
    int rc = SGW_OK;
    if (x->in_ref) {
        x->in_ref = 0;
        rc = xml_chars(x, x->ref, x->rlen);
    }
    static const uint8_t lt[2] = {'<', '!'};
    switch (x->st) {
    case XS_LT:
        rc = rc == SGW_OK ? xml_text(x, lt, 1) : rc;
        break;
    case XS_BANG:
        rc = rc == SGW_OK ? xml_text(x, lt, 2) : rc;
        rc = rc == SGW_OK ? xml_text(x, x->bang, x->blen) : rc;
        break;
    case XS_CDATA: {
        static const uint8_t rb[2] = {']', ']'};
        rc = rc == SGW_OK ? xml_text(x, rb, x->tail) : rc;
        break;
    }
    case XS_COMMENT:
    case XS_PI: {
        static const uint8_t dashes[2] = {'-', '-'}, q = '?';
        rc = rc == SGW_OK ? xml_side(x, x->st == XS_COMMENT ? dashes : &q, x->tail) : rc;
        break;
    }
    case XS_TAG:
    case XS_ATTR:
        /* a name or a value cut by the end (in a document, held) */
        if (rc == SGW_OK && !x->join && (x->st == XS_ATTR || x->tok))
            rc = xml_unit_end(x);
        break;
    default:
        break;
    }
    if (rc == SGW_OK)
        rc = xml_side_end(x);
    if (rc == SGW_OK)
        rc = xml_text_end(x);
    return rc;
}

static void xml_destroy(struct dec *d)
{
    free(((struct dec_xml *)d)->tb);
}

static const struct dec_ops xml_ops = {"xml", xml_feed, xml_finish, xml_destroy};

int dec_xml_open(const struct dec *d)
{
    const struct dec_xml *x = (const struct dec_xml *)d;
    return x->st != XS_TEXT || (x->tb && x->tb->depth > 0);
}

int dec_new_xml(struct dec_env *env, unsigned nest, int html, struct dec **out)
{
    /* the buffers are written before they are read */
    struct dec_xml *x =
        dec_alloc_head(sizeof(*x), offsetof(struct dec_xml, name), &xml_ops, env, nest);
    if (!x)
        return SGW_ENOMEM;
    x->html = x->join = x->root = (uint8_t)(html != 0);
    *out = &x->base;
    return SGW_OK;
}

int dec_new_xml_sheet(struct dec_env *env, unsigned nest, struct dec_book *book, struct dec **out)
{
    int rc = dec_new_xml(env, nest, 0, out);
    if (rc == SGW_OK)
        ((struct dec_xml *)*out)->book = book;
    return rc;
}
