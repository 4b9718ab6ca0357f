/* classifiers/decode_xlsx.c — what an xlsx workbook's cells need from its
 * other parts: the shared strings (xl/sharedStrings.xml) and which cell
 * formats show a date (xl/styles.xml).
 *
 * A worksheet's cells hold numbers: an index into the shared strings for
 * text (`<c t="s"><v>2</v></c>`), a serial day count for a date
 * (`<c s="1"><v>31118</v></c>` with cell format 1 a date). Read alone, the
 * header row is "0 1 2" and a birth date is 31118, so no column name gives
 * context and no date is seen. The zip decoder holds the worksheets until
 * these two parts are read (they come after the worksheets in the files
 * Excel and LibreOffice write), and the XML decoder shows each cell as the
 * application does (dec_book_cell).
 *
 * The shared strings part is read here instead of by the XML decoder, so
 * a string is scanned where a cell shows it; the strings no cell refers to
 * and the part's attribute values go out at the end (dec_book_rest).
 * A part that is not what these readers know (text outside strings, a
 * DOCTYPE, a malformed tag) is refused by them and read by the XML decoder
 * as before: nothing is lost either way. The styles part is read by the
 * XML decoder too; here only its number formats are looked at.
 *
 * Bounded: the parts are held whole by the zip decoder (its hold); the
 * strings put into cells count against the chain's max_decoded (a sheet of
 * a million cells that show one long string is a bomb). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/decode_internal.h"

#define BOOK_FMTS 1024u /* custom number formats looked at */

struct dec_book {
    uint8_t *text; /* the strings, one after another */
    size_t text_len;
    uint32_t *off; /* string i: text[off[i] .. off[i + 1]) */
    size_t n_str, off_cap;
    uint8_t *used; /* a cell showed string i */
    uint8_t *side; /* the strings part's attribute values and comments */
    size_t side_len;
    uint8_t *xf_date; /* cell format i shows a date */
    size_t n_xf;
    uint64_t shown, limit; /* bytes of strings shown in cells, and the most */
};

/* ---- a tokenizer for a part held whole ---- */

enum { XT_END, XT_START, XT_CLOSE, XT_EMPTY, XT_TEXT, XT_CDATA, XT_COMMENT, XT_PI, XT_BAD };

struct xt {
    const uint8_t *b;
    size_t n, i;
};

struct xtok {
    const uint8_t *name, *a, *t; /* name, attributes, text */
    size_t nlen, alen, tlen;
};

static int xt_name_char(uint8_t c)
{
    return !(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/' || c == '=' ||
             c == '"' || c == '\'' || c == '<');
}

static int xt_next(struct xt *x, struct xtok *t)
{
    const uint8_t *b = x->b, *e;
    size_t i = x->i, n = x->n;
    if (i >= n)
        return XT_END;
    if (b[i] != '<') {
        e = memchr(b + i, '<', n - i);
        t->t = b + i;
        t->tlen = (e ? (size_t)(e - b) : n) - i;
        x->i = i + t->tlen;
        return XT_TEXT;
    }
    static const struct {
        const char *open, *close;
        int kind;
    } marks[] = {{"<![CDATA[", "]]>", XT_CDATA}, {"<!--", "-->", XT_COMMENT}, {"<?", "?>", XT_PI}};
    for (size_t k = 0; k < SGW_ARRAY_LEN(marks); k++) {
        size_t ol = strlen(marks[k].open);
        if (n - i >= ol && memcmp(b + i, marks[k].open, ol) == 0) {
            e = memmem(b + i + ol, n - i - ol, marks[k].close, strlen(marks[k].close));
            if (!e)
                return XT_BAD;
            t->t = b + i + ol;
            t->tlen = (size_t)(e - t->t);
            x->i = (size_t)(e - b) + strlen(marks[k].close);
            return marks[k].kind;
        }
    }
    size_t j = i + 1;
    int close = j < n && b[j] == '/';
    j += (size_t)close;
    size_t ns = j;
    while (j < n && xt_name_char(b[j]))
        j++;
    if (j == ns || b[ns] == '!')
        return XT_BAD; /* (a DOCTYPE, or no name) */
    t->name = b + ns;
    t->nlen = j - ns;
    size_t as = j;
    uint8_t q = 0;
    for (; j < n && (q || b[j] != '>'); j++) {
        if (q)
            q = b[j] == q ? 0 : q;
        else if (b[j] == '"' || b[j] == '\'')
            q = b[j];
        else if (b[j] == '<')
            return XT_BAD;
    }
    if (j >= n)
        return XT_BAD;
    int empty = j > as && b[j - 1] == '/';
    t->a = b + as;
    t->alen = j - as - (size_t)empty;
    x->i = j + 1;
    return close ? XT_CLOSE : empty ? XT_EMPTY : XT_START;
}

/* The next attribute of t from *pos: 1 (name, value), 0 none left, -1
 * malformed. */
static int xt_attr(const struct xtok *t, size_t *pos, const uint8_t **an, size_t *anl, const uint8_t **v,
                   size_t *vl)
{
    const uint8_t *a = t->a;
    size_t i = *pos, n = t->alen;
    while (i < n && (a[i] == ' ' || a[i] == '\t' || a[i] == '\r' || a[i] == '\n'))
        i++;
    if (i == n) {
        *pos = i;
        return 0;
    }
    size_t s = i;
    while (i < n && xt_name_char(a[i]))
        i++;
    if (i == s)
        return -1;
    *an = a + s;
    *anl = i - s;
    while (i < n && (a[i] == ' ' || a[i] == '\t' || a[i] == '\r' || a[i] == '\n'))
        i++;
    if (i == n || a[i] != '=')
        return -1;
    i++;
    while (i < n && (a[i] == ' ' || a[i] == '\t' || a[i] == '\r' || a[i] == '\n'))
        i++;
    if (i == n || (a[i] != '"' && a[i] != '\''))
        return -1;
    const uint8_t *e = memchr(a + i + 1, a[i], n - i - 1);
    if (!e)
        return -1;
    *v = a + i + 1;
    *vl = (size_t)(e - *v);
    *pos = (size_t)(e - a) + 1;
    return 1;
}

/* Is n[0..len)'s local name (after its prefix) w? */
static int lname_is(const uint8_t *n, size_t len, const char *w)
{
    size_t i = len;
    while (i > 0 && n[i - 1] != ':')
        i--;
    return strlen(w) == len - i && memcmp(w, n + i, len - i) == 0;
}

static int is_space(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    return 1;
}

/* p[0..n) with its references resolved into out (n bytes are enough: a
 * reference is never shorter than its character). Returns the length. */
static size_t unref(const uint8_t *p, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const uint8_t *semi = p[i] == '&' ? memchr(p + i, ';', n - i < 12 ? n - i : 12) : NULL;
        size_t k = semi ? dec_xml_ref(p + i + 1, (size_t)(semi - p) - i - 1, out + o) : 0;
        if (k) {
            o += k;
            i = (size_t)(semi - p) + 1;
        } else {
            out[o++] = p[i++];
        }
    }
    return o;
}

/* ---- the book ---- */

int dec_book_new(struct dec_env *env, struct dec_book **out)
{
    struct dec_book *bk = calloc(1, sizeof(*bk));
    if (!bk)
        return SGW_ENOMEM;
    bk->limit = env->lim.max_decoded;
    *out = bk;
    return SGW_OK;
}

static void book_drop_strings(struct dec_book *bk)
{
    free(bk->text);
    free(bk->off);
    free(bk->used);
    free(bk->side);
    bk->text = bk->side = bk->used = NULL;
    bk->off = NULL;
    bk->n_str = bk->off_cap = bk->text_len = bk->side_len = 0;
}

void dec_book_free(struct dec_book *bk)
{
    if (!bk)
        return;
    book_drop_strings(bk);
    free(bk->xf_date);
    free(bk);
}

/* Appends a value to side[] (n + 1 bytes were set aside for each). */
static void side_put(struct dec_book *bk, const uint8_t *p, size_t n)
{
    if (bk->side_len)
        bk->side[bk->side_len++] = '\n';
    memcpy(bk->side + bk->side_len, p, n);
    bk->side_len += n;
}

/* Reads the shared strings part b[0..n). SGW_OK, SGW_ENOMEM, or SGW_ERR
 * when it is not what this reader knows (nothing kept: the caller passes
 * the part to the XML decoder). */
int dec_book_sst(struct dec_book *bk, const uint8_t *b, size_t n)
{
    book_drop_strings(bk);
    bk->text = malloc(n + 1);
    bk->side = malloc(n + 1);
    bk->off_cap = 64;
    bk->off = malloc(bk->off_cap * sizeof(*bk->off));
    if (!bk->text || !bk->side || !bk->off) {
        book_drop_strings(bk);
        return SGW_ENOMEM;
    }
    bk->off[0] = 0;
    struct xt x = {b, n, 0};
    struct xtok t;
    int k, in_si = 0, in_t = 0, rph = 0, root = 0, bad = 0, r = 0;
    while (!bad && (k = xt_next(&x, &t)) != XT_END) {
        switch (k) {
        case XT_TEXT:
        case XT_CDATA:
            if (in_t)
                bk->text_len += k == XT_TEXT ? unref(t.t, t.tlen, bk->text + bk->text_len)
                                             : (memcpy(bk->text + bk->text_len, t.t, t.tlen), t.tlen);
            else
                bad = !is_space(t.t, t.tlen) || k == XT_CDATA;
            break;
        case XT_COMMENT:
            side_put(bk, t.t, t.tlen);
            break;
        case XT_PI:
            bad = root; /* (the XML declaration only) */
            break;
        case XT_START:
        case XT_EMPTY:
        case XT_CLOSE: {
            int open = k == XT_START, close = k == XT_CLOSE;
            if (!root) {
                bad = !open || !lname_is(t.name, t.nlen, "sst");
                root = 1;
            } else if (lname_is(t.name, t.nlen, "si")) {
                bad = open ? in_si : close ? !in_si : in_si;
                in_si = open;
                if (!open) {
                    if (bk->n_str + 2 > bk->off_cap) {
                        uint32_t *o = realloc(bk->off, 2 * bk->off_cap * sizeof(*o));
                        if (!o) {
                            book_drop_strings(bk);
                            return SGW_ENOMEM;
                        }
                        bk->off = o;
                        bk->off_cap *= 2;
                    }
                    bk->off[++bk->n_str] = (uint32_t)bk->text_len;
                }
            } else if (lname_is(t.name, t.nlen, "t")) {
                bad = !in_si || (open && in_t) || (close && !in_t);
                if (open && rph && bk->text_len > bk->off[bk->n_str])
                    bk->text[bk->text_len++] = ' '; /* (a phonetic reading after its text) */
                in_t = open;
            } else if (lname_is(t.name, t.nlen, "rPh")) {
                rph = open;
            } else if (lname_is(t.name, t.nlen, "sst")) {
                bad = !close || in_si;
                root = 2;
            }
            size_t pos = 0, anl, vl;
            const uint8_t *an, *v;
            r = 0;
            while (!bad && (r = xt_attr(&t, &pos, &an, &anl, &v, &vl)) == 1) {
                static const char *const plain[] = {"count", "uniqueCount", "xml:space"};
                int skip = anl >= 5 && memcmp(an, "xmlns", 5) == 0;
                for (size_t q = 0; q < SGW_ARRAY_LEN(plain); q++)
                    skip |= strlen(plain[q]) == anl && memcmp(plain[q], an, anl) == 0;
                if (!skip)
                    side_put(bk, v, vl);
            }
            bad |= r < 0 || (close && t.alen && !is_space(t.a, t.alen));
            break;
        }
        default:
            bad = 1;
        }
        bad |= root == 2 && k != XT_CLOSE && k != XT_TEXT;
    }
    if (bad || in_si || root != 2 || bk->n_str > UINT32_MAX - 1) {
        book_drop_strings(bk);
        return SGW_ERR;
    }
    bk->used = calloc(bk->n_str ? bk->n_str : 1, 1);
    if (!bk->used) {
        book_drop_strings(bk);
        return SGW_ENOMEM;
    }
    return SGW_OK;
}

/* Does a number format's code show a date: a day or a year outside quoted
 * text, [..] (colours, locales, elapsed hours) and escaped characters? */
int dec_fmt_is_date(const uint8_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = c[i];
        if (ch == '"') {
            const uint8_t *e = memchr(c + i + 1, '"', n - i - 1);
            i = e ? (size_t)(e - c) : n;
        } else if (ch == '[') {
            const uint8_t *e = memchr(c + i + 1, ']', n - i - 1);
            i = e ? (size_t)(e - c) : n;
        } else if (ch == '\\' || ch == '_' || ch == '*') {
            i++;
        } else if ((ch | 0x20) == 'd' || (ch | 0x20) == 'y') {
            return 1;
        }
    }
    return 0;
}

/* The built-in formats that show a date (ECMA-376 18.8.30; 27-36 and
 * 50-58 are the East Asian dates). */
int dec_fmt_builtin_date(unsigned id)
{
    return (id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 36) || (id >= 50 && id <= 58);
}

static unsigned dec_uint(const uint8_t *p, size_t n, int *ok)
{
    unsigned v = 0;
    *ok = n > 0 && n <= 9;
    for (size_t i = 0; *ok && i < n; i++) {
        *ok = p[i] >= '0' && p[i] <= '9';
        v = v * 10u + (unsigned)(p[i] - '0');
    }
    return *ok ? v : 0;
}

/* Reads which cell formats of the styles part b[0..n) show dates. SGW_OK,
 * SGW_ENOMEM, or SGW_ERR (none are dates then). */
int dec_book_styles(struct dec_book *bk, const uint8_t *b, size_t n)
{
    struct {
        unsigned id;
        int date;
    } fmt[BOOK_FMTS];
    size_t nfmt = 0, cap = 0;
    unsigned *xf = NULL;
    size_t nxf = 0;
    int in_xfs = 0, k, bad = 0;
    struct xt x = {b, n, 0};
    struct xtok t;
    while (!bad && (k = xt_next(&x, &t)) != XT_END) {
        if (k == XT_BAD) {
            bad = 1;
            break;
        }
        if (k != XT_START && k != XT_EMPTY && k != XT_CLOSE)
            continue;
        if (lname_is(t.name, t.nlen, "cellXfs")) {
            in_xfs = k == XT_START;
            continue;
        }
        int is_fmt = lname_is(t.name, t.nlen, "numFmt"), is_xf = in_xfs && lname_is(t.name, t.nlen, "xf");
        if (k == XT_CLOSE || (!is_fmt && !is_xf))
            continue;
        unsigned id = 0;
        int date = 0, ok, r;
        size_t pos = 0, anl, vl;
        const uint8_t *an, *v;
        while ((r = xt_attr(&t, &pos, &an, &anl, &v, &vl)) == 1) {
            if (anl == 8 && memcmp(an, "numFmtId", 8) == 0)
                id = dec_uint(v, vl, &ok);
            else if (anl == 10 && memcmp(an, "formatCode", 10) == 0)
                date = dec_fmt_is_date(v, vl); /* (a reference in it is no d or y) */
        }
        bad = r < 0;
        if (is_fmt && nfmt < BOOK_FMTS) {
            fmt[nfmt].id = id;
            fmt[nfmt++].date = date;
        } else if (is_xf) {
            if (nxf == cap) {
                size_t c2 = cap ? 2 * cap : 64;
                unsigned *g = c2 < (SIZE_MAX / sizeof(*g)) ? realloc(xf, c2 * sizeof(*g)) : NULL;
                if (!g) {
                    free(xf);
                    return SGW_ENOMEM;
                }
                xf = g;
                cap = c2;
            }
            xf[nxf++] = id;
        }
    }
    free(bk->xf_date);
    bk->xf_date = NULL;
    bk->n_xf = 0;
    if (bad || nxf == 0) {
        free(xf);
        return bad ? SGW_ERR : SGW_OK;
    }
    bk->xf_date = malloc(nxf);
    if (!bk->xf_date) {
        free(xf);
        return SGW_ENOMEM;
    }
    for (size_t i = 0; i < nxf; i++) {
        int d = dec_fmt_builtin_date(xf[i]);
        for (size_t f = 0; f < nfmt; f++)
            if (fmt[f].id == xf[i])
                d = fmt[f].date;
        bk->xf_date[i] = (uint8_t)d;
    }
    bk->n_xf = nxf;
    free(xf);
    return SGW_OK;
}

size_t dec_serial_date(double d, char buf[32])
{
    if (!(d >= 1.0 && d < 2958466.0))
        return 0;
    /* days from 1900-01-00, with Lotus's 1900-02-29 (day 60) */
    int64_t serial = (int64_t)floor(d);
    return dec_int_text(serial - (serial >= 61 ? 25569 : 25568), 1, buf);
}

/* What a cell shows for its value v[0..vn) (references resolved), type
 * t[0..tl) and format s[0..sl) (attribute values as written): a shared
 * string (t="s") or a date (a number in a date format) into out and on (buf
 * holds a date), and 1; 0 when the value shows as written; -1 past the
 * limit of strings shown. */
int dec_book_cell(struct dec_book *bk, const uint8_t *t, size_t tl, const uint8_t *s, size_t sl,
                  const uint8_t *v, size_t vn, const uint8_t **out, size_t *on, char buf[32])
{
    int ok;
    while (vn && (v[0] == ' ' || v[0] == '\n' || v[0] == '\r' || v[0] == '\t'))
        v++, vn--;
    while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\n' || v[vn - 1] == '\r' || v[vn - 1] == '\t'))
        vn--;
    if (tl == 1 && t[0] == 's') {
        unsigned i = dec_uint(v, vn, &ok);
        if (!ok || !bk->off || i >= bk->n_str)
            return 0;
        *out = bk->text + bk->off[i];
        *on = bk->off[i + 1] - bk->off[i];
        bk->used[i] = 1;
        bk->shown += *on;
        return bk->shown > bk->limit ? -1 : 1;
    }
    if (!(tl == 0 || (tl == 1 && t[0] == 'n')) || vn == 0 || vn >= 32)
        return 0;
    unsigned xf = dec_uint(s, sl, &ok);
    if (!ok || xf >= bk->n_xf || !bk->xf_date[xf])
        return 0;
    char num[32], *end;
    memcpy(num, v, vn);
    num[vn] = '\0';
    double d = strtod(num, &end);
    size_t k = *end ? 0 : dec_serial_date(d, buf);
    if (!k)
        return 0;
    *out = (const uint8_t *)buf;
    *on = k;
    return 1;
}

/* At the workbook's end: the shared strings no cell showed, then the
 * strings part's attribute values and comments, each a unit. */
int dec_book_rest(struct dec_book *bk, struct dec_env *env)
{
    int rc = SGW_OK;
    if (!bk->off)
        return rc;
    static const char ctx[] = "xl/sharedStrings.xml";
    rc = dec_text_context(env, (const uint8_t *)ctx, sizeof(ctx) - 1);
    for (size_t i = 0; i < bk->n_str && rc == SGW_OK; i++) {
        if (bk->used[i] || bk->off[i + 1] == bk->off[i])
            continue;
        rc = dec_text_data(env, bk->text + bk->off[i], bk->off[i + 1] - bk->off[i]);
        if (rc == SGW_OK)
            rc = dec_text_boundary(env);
        bk->used[i] = 1;
    }
    if (rc == SGW_OK && bk->side_len) {
        rc = dec_text_data(env, bk->side, bk->side_len);
        if (rc == SGW_OK)
            rc = dec_text_boundary(env);
        bk->side_len = 0;
    }
    return rc;
}
