/* classifiers/decode_multipart.c — multipart/form-data (RFC 7578) and
 * multipart/mixed (RFC 2046), strict.
 *
 * Refused (uninspectable), following the ModSecurity strict-multipart flags:
 * data before the first boundary, anything but CRLF after a boundary
 * (transport padding, LF-only lines), folded or malformed part headers,
 * duplicate Content-* headers, a missing ';' between parameters, part headers
 * over MP_HDR_MAX, data after the closing boundary (a final CRLF is allowed),
 * a form-data part without a name, a truncated body.
 *
 * Each part: the name goes out as data and as context, a filename as data (names of
 * files carry personal data too), the body through a nested decoder chosen by
 * the part's Content-Type (and Content-Transfer-Encoding base64 /
 * quoted-printable), then a boundary. One part at a time: memory is bounded.
 *
 * Mail (message/rfc822: an .eml file, SES's raw e-mail in base64, a
 * forwarded message in a part) is read with the same parts, as mail writes
 * them (RFC 5322, 2045-2047): a message is a header block, then one body by
 * its Content-Type (text/plain when none) and Content-Transfer-Encoding, so
 * quoted-printable's soft line breaks no longer cut a value in two. Its
 * headers go out as data with their names as context (From, To, Subject:
 * their encoded words =?utf-8?B?…?= decoded and converted to UTF-8). Inside a message, multipart
 * bodies may have a preamble and an epilogue (scanned as text), LF-only
 * lines, folded headers and padding after a boundary; the rest is as
 * strict as above. A message found by sniffing whose header block turns
 * out to be none is read as text from its start. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classifiers/decode_internal.h"

#define MP_HDR_MAX 8192u
#define MSG_HDR_MAX 65536u /* a message's header block (Received, DKIM, ARC chains) */
#define MP_MAX_PARTS 1000u

enum mp_state {
    MP_PREAMBLE,  /* matching the first "--boundary" */
    MP_AFTER,     /* after a delimiter: "--" or CRLF */
    MP_AFTER_CR,  /* after delimiter + CR: LF */
    MP_CLOSE,     /* after delimiter + '-': '-' */
    MP_CLOSED,    /* after the closing delimiter: optional CRLF */
    MP_CLOSED_CR, /* closing delimiter + CR: LF */
    MP_DONE,      /* nothing more may come */
    MP_HEADERS,
    MP_BODY,
    MP_EPILOGUE, /* mime: after the closing delimiter, text */
    MP_MSGBODY,  /* msg: the one body, to the end */
};

struct dec_multipart {
    struct dec base;
    int form;
    int mime;    /* inside a message: mail's leniency (see above) */
    int msg;     /* a message: a header block, then one body */
    int sniffed; /* msg: guessed; a header block that is none is text */
    enum mp_state st;
    size_t match; /* delimiter bytes matched */
    size_t dlen;
    unsigned parts;
    struct dec *part; /* owned: the current part's decoder */
    size_t hlen, hcap;
    size_t lstart;     /* mime: where the header line being read began */
    uint8_t delim[80]; /* "\r\n--" boundary ("\n--" boundary in mime) */
    uint8_t hdr[];     /* hcap bytes */
};

static int is_sp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

struct mp_headers {
    const uint8_t *ct;
    size_t ctlen;
    int have_ct, have_cd, have_cte;
    int te; /* 0 identity, 1 base64, 2 quoted-printable */
    int disposition_form;
    uint8_t name[DEC_CONTEXT_MAX];
    size_t name_len;
    int have_name;
    uint8_t filename[DEC_CONTEXT_MAX];
    size_t filename_len;
    int have_filename;
};

/* Parses a parameter value (token or quoted-string) at s[*i]; stores up to
 * cap bytes in out. Returns 0 on a syntax error. */
static int mp_param_value(const uint8_t *s, size_t n, size_t *i, uint8_t *out, size_t cap,
                          size_t *olen)
{
    size_t k = *i, o = 0;
    if (k < n && s[k] == '"') {
        k++;
        for (;;) {
            if (k >= n)
                return 0;
            uint8_t c = s[k++];
            if (c == '"')
                break;
            if (c == '\\') {
                if (k >= n)
                    return 0;
                c = s[k++];
            }
            if (o < cap)
                out[o++] = c;
        }
    } else {
        while (k < n && s[k] != ';' && !is_sp(s[k])) {
            if (s[k] == '"' || s[k] == ',')
                return 0;
            if (o < cap)
                out[o++] = s[k];
            k++;
        }
        if (k == *i)
            return 0;
    }
    *i = k;
    *olen = o;
    return 1;
}

/* Content-Disposition: form-data; name="a"; filename="b" */
static int mp_disposition(struct mp_headers *h, const uint8_t *v, size_t n)
{
    size_t i = 0;
    size_t ts = i;
    while (i < n && v[i] != ';' && !is_sp(v[i]))
        i++;
    struct sgw_slice type = sgw_slice_make((const char *)v + ts, i - ts);
    h->disposition_form = sgw_slice_eq_nocase(type, "form-data");
    while (i < n) {
        while (i < n && is_sp(v[i]))
            i++;
        if (i >= n)
            break;
        if (v[i] != ';')
            return 0; /* missing semicolon */
        i++;
        while (i < n && is_sp(v[i]))
            i++;
        size_t ns = i;
        while (i < n && v[i] != '=' && v[i] != ';' && !is_sp(v[i]))
            i++;
        struct sgw_slice pn = sgw_slice_make((const char *)v + ns, i - ns);
        if (i >= n || v[i] != '=' || pn.len == 0)
            return 0;
        i++;
        uint8_t tmp[DEC_CONTEXT_MAX];
        size_t tl = 0;
        if (!mp_param_value(v, n, &i, tmp, sizeof(tmp), &tl))
            return 0;
        if (sgw_slice_eq_nocase(pn, "name")) {
            if (h->have_name)
                return 0;
            h->have_name = 1;
            memcpy(h->name, tmp, tl);
            h->name_len = tl;
        } else if (sgw_slice_eq_nocase(pn, "filename") || sgw_slice_eq_nocase(pn, "filename*")) {
            /* both may be present; the data of either is scanned */
            size_t room = sizeof(h->filename) - h->filename_len;
            size_t take = tl < room ? tl : room;
            if (h->filename_len && take) {
                h->filename[h->filename_len++] = ' ';
                take = take > 0 ? take - 1 : 0;
            }
            memcpy(h->filename + h->filename_len, tmp, take);
            h->filename_len += take;
            h->have_filename = 1;
        }
    }
    return 1;
}

/* Parses the header block hdr[0..n) (CRLF-terminated lines, final empty line
 * excluded). Returns NULL or a static reason. */
static const char *mp_parse_headers(struct mp_headers *h, const uint8_t *s, size_t n)
{
    size_t i = 0;
    for (size_t k = 0; k + 2 < n; k++)
        if (s[k] == '\r' && s[k + 1] == '\n' && is_sp(s[k + 2]))
            return "folded multipart part header";
    while (i < n) {
        size_t ls = i;
        while (i + 1 < n && !(s[i] == '\r' && s[i + 1] == '\n'))
            i++;
        if (i + 1 >= n)
            return "malformed multipart part header";
        size_t le = i;
        i += 2;
        if (is_sp(s[ls]))
            return "folded multipart part header";
        size_t c = ls;
        while (c < le && s[c] != ':')
            c++;
        if (c == le || c == ls)
            return "malformed multipart part header";
        for (size_t k = ls; k < c; k++)
            if (s[k] <= 0x20 || s[k] >= 0x7f)
                return "malformed multipart part header";
        struct sgw_slice name = sgw_slice_make((const char *)s + ls, c - ls);
        size_t vs = c + 1, ve = le;
        while (vs < ve && is_sp(s[vs]))
            vs++;
        while (ve > vs && is_sp(s[ve - 1]))
            ve--;
        for (size_t k = vs; k < ve; k++)
            if (s[k] == '\r' || s[k] == '\n' || s[k] == 0)
                return "malformed multipart part header";
        if (sgw_slice_eq_nocase(name, "content-disposition")) {
            if (h->have_cd)
                return "duplicate multipart part header";
            h->have_cd = 1;
            if (!mp_disposition(h, s + vs, ve - vs))
                return "malformed multipart Content-Disposition";
        } else if (sgw_slice_eq_nocase(name, "content-type")) {
            if (h->have_ct)
                return "duplicate multipart part header";
            h->have_ct = 1;
            h->ct = s + vs;
            h->ctlen = ve - vs;
        } else if (sgw_slice_eq_nocase(name, "content-encoding")) {
            struct sgw_slice v = sgw_slice_make((const char *)s + vs, ve - vs);
            if (!sgw_slice_eq_nocase(v, "identity"))
                return "multipart part with a content-encoding";
        } else if (sgw_slice_eq_nocase(name, "content-transfer-encoding")) {
            if (h->have_cte)
                return "duplicate multipart part header";
            h->have_cte = 1;
            struct sgw_slice v = sgw_slice_make((const char *)s + vs, ve - vs);
            if (sgw_slice_eq_nocase(v, "base64"))
                h->te = 1;
            else if (sgw_slice_eq_nocase(v, "quoted-printable"))
                h->te = 2;
            else if (sgw_slice_eq_nocase(v, "7bit") || sgw_slice_eq_nocase(v, "8bit") ||
                     sgw_slice_eq_nocase(v, "binary"))
                h->te = 0;
            else
                return "unsupported multipart transfer encoding";
        }
    }
    return NULL;
}

static int b64_digit(uint8_t c)
{
    return c >= 'A' && c <= 'Z'   ? c - 'A'
           : c >= 'a' && c <= 'z' ? c - 'a' + 26
           : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+'             ? 62
           : c == '/'             ? 63
                                  : -1;
}

/* One encoded word's text t[0..n) (B: base64, Q: quoted-printable with '_'
 * for a space) into out; returns its length, or -1 when it is malformed. */
static ptrdiff_t mime_word(int b, const uint8_t *t, size_t n, uint8_t *out)
{
    size_t o = 0;
    if (b) {
        uint32_t acc = 0;
        unsigned bits = 0;
        for (size_t i = 0; i < n; i++) {
            if (t[i] == '=')
                break;
            int v = b64_digit(t[i]);
            if (v < 0)
                return -1;
            acc = acc << 6 | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out[o++] = (uint8_t)(acc >> bits);
            }
        }
        return (ptrdiff_t)o;
    }
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (t[i] == '_') {
            out[o++] = ' ';
        } else if (t[i] == '=' && i + 2 < n && (hi = dec_hexval(t[i + 1])) >= 0 && (lo = dec_hexval(t[i + 2])) >= 0) {
            out[o++] = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = t[i];
        }
    }
    return (ptrdiff_t)o;
}

/* A header value's encoded words (RFC 2047: =?charset?B?…?=, =?charset?Q?…?=)
 * decoded and converted from their charset to UTF-8 (a Latin-1 subject's
 * "F=DCR" is "FÜR"), white space between two of them dropped, the rest as
 * written: s[0..n) into out (3 * n bytes), tmp (n bytes) a scratch.
 * Returns the length. */
static size_t mime_words(const uint8_t *s, size_t n, uint8_t *out, uint8_t *tmp)
{
    size_t i = 0, o = 0, after_word = 0;
    int word_before = 0;
    while (i < n) {
        if (s[i] == '=' && i + 1 < n && s[i + 1] == '?') {
            size_t q1 = i + 2;
            while (q1 < n && s[q1] != '?' && s[q1] > ' ')
                q1++;
            if (q1 + 2 < n && s[q1] == '?' && q1 > i + 2 && s[q1 + 2] == '?' &&
                ((s[q1 + 1] | 0x20) == 'b' || (s[q1 + 1] | 0x20) == 'q')) {
                size_t ts = q1 + 3, te = ts;
                while (te + 1 < n && !(s[te] == '?' && s[te + 1] == '=') && s[te] > ' ')
                    te++;
                if (te + 1 < n && s[te] == '?' && s[te + 1] == '=') {
                    size_t at = word_before ? after_word : o; /* (the space between words goes) */
                    ptrdiff_t k = mime_word((s[q1 + 1] | 0x20) == 'b', s + ts, te - ts, tmp);
                    if (k >= 0) {
                        /* (3 bytes a byte at most: out never passes 3 * the bytes read) */
                        o = at + dec_charset_once((const char *)s + i + 2, q1 - i - 2, tmp, (size_t)k, out + at,
                                                  3 * (size_t)k);
                        after_word = o;
                        word_before = 1;
                        i = te + 2;
                        continue;
                    }
                }
            }
        }
        if (s[i] != ' ' && s[i] != '\t')
            word_before = 0;
        out[o++] = s[i++];
    }
    return o;
}

int dec_mime_header_line(const uint8_t *l, size_t n, int first)
{
    if (is_sp(l[0]))
        return !first;
    size_t c = 0;
    while (c < n && l[c] != ':' && l[c] > 0x20 && l[c] < 0x7f)
        c++;
    return c > 0 && c < n && l[c] == ':';
}

/* A mail header block hdr[0..n) (LF or CRLF lines, folded, the final empty
 * line excluded) rewritten into out as the strict parser reads it: one
 * CRLF-terminated line per header, its folds unfolded. Returns the length
 * (at most n + lines). */
static size_t mime_unfold(const uint8_t *s, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t ls = i;
        while (i < n && s[i] != '\n')
            i++;
        size_t le = i;
        if (le > ls && s[le - 1] == '\r')
            le--;
        i += i < n;
        if (le == ls)
            continue;
        if (is_sp(s[ls]) && o >= 2)
            o -= 2; /* a fold: the line goes on the one before */
        memcpy(out + o, s + ls, le - ls);
        o += le - ls;
        out[o++] = '\r';
        out[o++] = '\n';
    }
    return o;
}

/* A message's or a mail part's headers out as data, each under its name as
 * context (From, To, Subject carry names and addresses; Content-Type's
 * name= an attachment's), then the context cleared. s[0..n): unfolded
 * lines. */
static int mime_emit_headers(struct dec *d, const uint8_t *s, size_t n)
{
    uint8_t *val = malloc(4 * n + 1); /* (3 * n for the value, n for a word) */
    if (!val)
        return SGW_ENOMEM;
    size_t i = 0;
    int rc = SGW_OK, any = 0;
    while (i < n && rc == SGW_OK) {
        size_t ls = i;
        while (i + 1 < n && !(s[i] == '\r' && s[i + 1] == '\n'))
            i++;
        size_t le = i, c = ls;
        i += 2;
        while (c < le && s[c] != ':')
            c++;
        size_t vs = c + 1;
        while (vs < le && is_sp(s[vs]))
            vs++;
        if (vs >= le)
            continue; /* (an empty value; every line has its ':') */
        size_t vn = mime_words(s + vs, le - vs, val, val + 3 * (le - vs));
        rc = dec_text_context(d->env, s + ls, c - ls < DEC_CONTEXT_MAX ? c - ls : DEC_CONTEXT_MAX);
        if (rc == SGW_OK)
            rc = dec_text_data(d->env, val, vn);
        if (rc == SGW_OK)
            rc = dec_text_boundary(d->env);
        any = 1;
    }
    free(val);
    if (rc == SGW_OK && any)
        rc = dec_text_context(d->env, s, 0);
    return rc;
}

static int mp_part_build(struct dec_multipart *m, const uint8_t *hb, size_t hn);

/* Headers complete: build the part's decoder and announce it. */
static int mp_part_begin(struct dec_multipart *m)
{
    struct dec *d = &m->base;
    if (++m->parts > MP_MAX_PARTS)
        return dec_fail(d, 0, "more than %u multipart parts", MP_MAX_PARTS);
    const uint8_t *hb = m->hdr;
    size_t hn = m->hlen >= 2 ? m->hlen - 2 : 0;
    uint8_t *unfolded = NULL;
    if (m->mime) {
        unfolded = malloc(2 * m->hlen + 2);
        if (!unfolded)
            return SGW_ENOMEM;
        hn = mime_unfold(m->hdr, m->hlen, unfolded);
        hb = unfolded;
    }
    int rc = mp_part_build(m, hb, hn);
    free(unfolded);
    return rc;
}

/* The part's headers hb[0..hn) (CRLF lines): parsed, announced, and the
 * part's decoder built. */
static int mp_part_build(struct dec_multipart *m, const uint8_t *hb, size_t hn)
{
    struct dec *d = &m->base;
    struct mp_headers h;
    memset(&h, 0, sizeof(h));
    const char *bad = mp_parse_headers(&h, hb, hn);
    if (bad)
        return dec_fail(d, 0, "%s", bad);
    if (m->form && (!h.have_cd || !h.disposition_form || !h.have_name))
        return dec_fail(d, 0, "multipart form-data part without a name");
    int rc = m->mime ? mime_emit_headers(d, hb, hn) : SGW_OK;
    /* the name is data too (a value can hide in it: name="4111111111111111"),
       then the context of the part's content */
    if (h.have_name && h.name_len) {
        rc = dec_text_data(d->env, h.name, h.name_len);
        if (rc == SGW_OK)
            rc = dec_text_boundary(d->env);
    }
    if (rc == SGW_OK && h.have_name)
        rc = dec_text_context(d->env, h.name, h.name_len);
    if (rc == SGW_OK && h.have_filename && h.filename_len) {
        rc = dec_text_data(d->env, h.filename, h.filename_len);
        if (rc == SGW_OK)
            rc = dec_text_boundary(d->env);
    }
    if (rc != SGW_OK)
        return rc;
    unsigned nest = d->nest + 1 + (h.te ? 1u : 0u);
    struct dec *inner = NULL;
    if (h.have_ct && m->mime)
        rc = dec_build_mime(d->env, (const char *)h.ct, h.ctlen, nest, &inner);
    else if (h.have_ct)
        rc = dec_build_nested(d->env, (const char *)h.ct, h.ctlen, nest, "multipart part", &inner);
    else if (h.have_filename)
        rc = dec_build_nested(d->env, NULL, 0, nest, "multipart file", &inner);
    else
        rc = dec_new_text(d->env, nest, 0, &inner);
    if (rc != SGW_OK)
        return rc;
    if (h.te == 1)
        rc = dec_new_b64te(d->env, d->nest + 1, inner, &m->part);
    else if (h.te == 2)
        rc = dec_new_qp(d->env, d->nest + 1, inner, &m->part);
    else
        m->part = inner;
    return rc;
}

static int mp_part_end(struct dec_multipart *m)
{
    int rc = dec_close(&m->part);
    if (rc != SGW_OK)
        return rc;
    return dec_text_boundary(m->base.env);
}

/* Body bytes: scan for the delimiter, stream the rest into the part. A
 * tentative delimiter match is held back; when it began in an earlier call
 * its bytes are the delimiter's own prefix, so nothing needs copying. The
 * delimiter has one CR only (boundary characters exclude it): after a
 * mismatch the only possible new start is the current byte. Returns the
 * bytes consumed (up to the end of a delimiter). */
static size_t mp_body(struct dec_multipart *m, const uint8_t *p, size_t n, int *rc)
{
    size_t i = 0, start = 0;
    ptrdiff_t mstart = m->match ? -1 : 0; /* where the tentative match began */
    *rc = SGW_OK;
    while (i < n) {
        if (m->match == 0) {
            const uint8_t *cr = memchr(p + i, m->delim[0], n - i); /* (CR, or LF in mime) */
            if (!cr) {
                i = n;
                break;
            }
            i = (size_t)(cr - p);
            mstart = (ptrdiff_t)i;
            m->match = 1;
            i++;
            continue;
        }
        if (p[i] == m->delim[m->match]) {
            i++;
            if (++m->match < m->dlen)
                continue;
            m->match = 0;
            if (mstart > (ptrdiff_t)start)
                *rc = dec_feed(m->part, p + start, (size_t)mstart - start);
            if (*rc != SGW_OK)
                return i;
            m->st = MP_AFTER;
            *rc = mp_part_end(m);
            return i;
        }
        /* mismatch: what was matched is data */
        if (mstart < 0) {
            size_t carried = m->match - i; /* bytes matched in earlier calls */
            *rc = dec_feed(m->part, m->delim, carried);
            if (*rc != SGW_OK)
                return i;
        }
        m->match = 0;
    }
    if (m->match == 0) {
        if (n > start)
            *rc = dec_feed(m->part, p + start, n - start);
    } else if (mstart > (ptrdiff_t)start) {
        *rc = dec_feed(m->part, p + start, (size_t)mstart - start);
    }
    return n;
}

/* A guessed message whose header block is none: all of it is text, from
 * its first byte (the held block first). */
static int msg_as_text(struct dec_multipart *m)
{
    struct dec *d = &m->base;
    int rc = dec_new_text(d->env, d->nest + 1, 0, &m->part);
    if (rc == SGW_OK)
        rc = dec_feed(m->part, m->hdr, m->hlen);
    m->st = MP_MSGBODY;
    return rc;
}

/* A mail header line has ended (hdr[lstart..hlen) with its LF): the block
 * ends at an empty line; a line that is no header is an error (a guessed
 * message: text). */
static int mime_line_end(struct dec_multipart *m)
{
    struct dec *d = &m->base;
    size_t ls = m->lstart, le = m->hlen - 1;
    if (le > ls && m->hdr[le - 1] == '\r')
        le--;
    m->lstart = m->hlen;
    if (le == ls) {
        int rc = mp_part_begin(m);
        if (rc == SGW_OK && !d->dead) {
            m->st = m->msg ? MP_MSGBODY : MP_BODY;
            m->match = 0;
        }
        return rc;
    }
    if (dec_mime_header_line(m->hdr + ls, le - ls, ls == 0))
        return SGW_OK;
    if (m->msg && m->sniffed)
        return msg_as_text(m);
    return dec_fail(d, 0, "malformed %s header", m->msg ? "message" : "MIME part");
}

static int mime_header_byte(struct dec_multipart *m, uint8_t c)
{
    if (m->hlen == m->hcap - 1) { /* (a byte kept for mp_finish's LF) */
        if (m->msg && m->sniffed) {
            int rc = msg_as_text(m);
            return rc == SGW_OK ? dec_feed(m->part, &c, 1) : rc;
        }
        return dec_fail(&m->base, 0, "%s headers over %zu bytes", m->msg ? "message" : "MIME part", m->hcap - 1);
    }
    m->hdr[m->hlen++] = c;
    return c == '\n' ? mime_line_end(m) : SGW_OK;
}

static int mp_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_multipart *m = (struct dec_multipart *)d;
    size_t i = 0;
    int rc = SGW_OK;
    while (i < n && rc == SGW_OK && !d->dead) {
        uint8_t c = p[i];
        switch (m->st) {
        case MP_PREAMBLE:
            if (c != m->delim[m->match]) {
                if (!m->mime)
                    return dec_fail(d, 0, "data before the first multipart boundary");
                /* mail's preamble ("This is a multi-part message in MIME
                   format."): text, up to the first delimiter */
                rc = dec_new_text(d->env, d->nest + 1, 0, &m->part);
                if (rc == SGW_OK)
                    rc = dec_feed(m->part, m->delim + 1, m->match - 1);
                m->st = MP_BODY;
                m->match = 0;
                break;
            }
            i++;
            if (++m->match == m->dlen) {
                m->match = 0;
                m->st = MP_AFTER;
            }
            break;
        case MP_AFTER:
            i++;
            if (c == '-') {
                m->st = MP_CLOSE;
            } else if (c == '\r') {
                m->st = MP_AFTER_CR;
            } else if (m->mime && c == '\n') {
                m->st = MP_HEADERS;
                m->hlen = m->lstart = 0;
            } else if (!(m->mime && is_sp(c))) { /* (mail's transport padding) */
                return dec_fail(d, 0, "invalid multipart boundary line");
            }
            break;
        case MP_AFTER_CR:
            i++;
            if (c != '\n')
                return dec_fail(d, 0, "invalid multipart boundary line");
            m->st = MP_HEADERS;
            m->hlen = m->lstart = 0;
            break;
        case MP_CLOSE:
            i++;
            if (c != '-')
                return dec_fail(d, 0, "invalid multipart boundary line");
            m->st = MP_CLOSED;
            break;
        case MP_CLOSED:
            if (m->mime) { /* mail's epilogue: text */
                rc = dec_new_text(d->env, d->nest + 1, 0, &m->part);
                m->st = MP_EPILOGUE;
                break;
            }
            i++;
            if (c != '\r')
                return dec_fail(d, 0, "data after the closing multipart boundary");
            m->st = MP_CLOSED_CR;
            break;
        case MP_EPILOGUE:
        case MP_MSGBODY:
            rc = dec_feed(m->part, p + i, n - i);
            i = n;
            break;
        case MP_CLOSED_CR:
            i++;
            if (c != '\n')
                return dec_fail(d, 0, "data after the closing multipart boundary");
            m->st = MP_DONE;
            break;
        case MP_DONE:
            return dec_fail(d, 0, "data after the closing multipart boundary");
        case MP_HEADERS:
            if (m->mime) {
                rc = mime_header_byte(m, c);
                i++;
                break;
            }
            i++;
            if (c == '\n' && (m->hlen == 0 || m->hdr[m->hlen - 1] != '\r'))
                return dec_fail(d, 0, "LF-only line in multipart part headers");
            if (m->hlen == m->hcap)
                return dec_fail(d, 0, "multipart part headers over %u bytes", MP_HDR_MAX);
            m->hdr[m->hlen++] = c;
            if (c == '\n' && (m->hlen == 2 || (m->hlen >= 4 && m->hdr[m->hlen - 3] == '\n'))) {
                rc = mp_part_begin(m);
                if (rc == SGW_OK && !d->dead) {
                    m->st = MP_BODY;
                    m->match = 0;
                }
            }
            break;
        case MP_BODY:
            i += mp_body(m, p + i, n - i, &rc);
            break;
        }
    }
    return rc;
}

static int mp_finish(struct dec *d)
{
    struct dec_multipart *m = (struct dec_multipart *)d;
    if (m->st == MP_DONE || m->st == MP_CLOSED)
        return SGW_OK;
    if (m->st == MP_EPILOGUE || m->st == MP_MSGBODY)
        return mp_part_end(m);
    if (m->msg && m->st == MP_HEADERS) {
        /* a message of headers alone (no empty line, no body), or one
           that was only guessed */
        int rc = SGW_OK;
        if (m->hlen == 0)
            return SGW_OK;
        if (m->hdr[m->hlen - 1] != '\n') {
            m->hdr[m->hlen++] = '\n'; /* (hcap keeps a byte for it) */
            rc = mime_line_end(m);
        }
        if (rc == SGW_OK && !d->dead && m->st == MP_HEADERS) {
            rc = mp_part_begin(m);
            m->st = MP_MSGBODY;
        }
        return rc == SGW_OK && !d->dead && m->part ? mp_part_end(m) : rc;
    }
    if (m->st == MP_PREAMBLE && d->fed == 0)
        return SGW_OK; /* empty body */
    return dec_fail(d, 0, "truncated multipart body");
}

static void mp_destroy(struct dec *d)
{
    struct dec_multipart *m = (struct dec_multipart *)d;
    dec_free(m->part);
}

static const struct dec_ops mp_ops = {"multipart", mp_feed, mp_finish, mp_destroy};

/* ---- line ends taken out: format=flowed (RFC 3676), folded lines ----
 *
 * Mail clients that send text/plain with format=flowed (Thunderbird, Apple
 * Mail) break long lines at a space and end the line with that space: an
 * IBAN or a phone number written in groups goes over two lines. Such a
 * soft break is taken out (the space stays, or goes with delsp=yes); the
 * signature separator "-- " keeps its line end.
 *
 * vCard (RFC 6350) and iCalendar (RFC 5545) fold a content line longer
 * than 75 octets anywhere, even inside a value: "EMAIL;TYPE=work:jane.doe"
 * CRLF " @corp.example". A line end followed by one space or tab is taken
 * out with that space (LF alone too, as files on disk have it). */

enum { JOIN_UNFOLD, JOIN_FLOWED, JOIN_FLOWED_DELSP };

struct dec_join {
    struct dec base;
    int kind;   /* JOIN_* */
    int st;     /* bytes held (join_held): 0 none */
    size_t col; /* flowed: bytes of the physical line so far */
    int dashes; /* flowed: the line began "--" */
    size_t olen;
    uint8_t out[4096 + 4];
};

/* What state st holds: flowed 1 " ", 2 " \r"; unfold 1 "\r", 2 "\r\n", 3 "\n". */
static const char *join_held(const struct dec_join *j)
{
    static const char *const flowed[] = {"", " ", " \r"}, *const unfold[] = {"", "\r", "\r\n", "\n"};
    return j->kind == JOIN_UNFOLD ? unfold[j->st] : flowed[j->st];
}

static int join_put(struct dec_join *j, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        j->out[j->olen++] = p[i];
        if (p[i] == '\n') {
            j->col = 0;
            j->dashes = 0;
        } else {
            if (j->col < 2)
                j->dashes = (j->col == 0 || j->dashes) && p[i] == '-';
            j->col++;
        }
        if (j->olen >= 4096) {
            int rc = dec_feed(j->base.next, j->out, j->olen);
            j->olen = 0;
            if (rc != SGW_OK)
                return rc;
        }
    }
    return SGW_OK;
}

/* the held bytes, when they were no soft break or fold */
static int join_release(struct dec_join *j)
{
    const char *h = join_held(j);
    j->st = 0;
    return join_put(j, (const uint8_t *)h, strlen(h));
}

/* One byte of format=flowed text. */
static int flowed_byte(struct dec_join *j, uint8_t c)
{
    if ((j->st == 1 && c == '\n') || (j->st == 2 && c == '\n')) {
        int cr = j->st == 2;
        j->st = 0;
        if (j->col == 2 && j->dashes) /* "-- " */
            return join_put(j, (const uint8_t *)(cr ? " \r\n" : " \n"), 2u + (unsigned)cr);
        return j->kind == JOIN_FLOWED_DELSP ? SGW_OK : join_put(j, (const uint8_t *)" ", 1); /* (the line goes on) */
    }
    if (j->st == 1 && c == '\r') {
        j->st = 2;
        return SGW_OK;
    }
    int rc = j->st ? join_release(j) : SGW_OK;
    if (rc != SGW_OK)
        return rc;
    if (c == ' ') {
        j->st = 1;
        return SGW_OK;
    }
    return join_put(j, &c, 1);
}

/* One byte of folded content lines. */
static int unfold_byte(struct dec_join *j, uint8_t c)
{
    if (j->st == 1 && c == '\n') {
        j->st = 2;
        return SGW_OK;
    }
    if ((j->st == 2 || j->st == 3) && is_sp(c)) {
        j->st = 0; /* a fold: line end and space go */
        return SGW_OK;
    }
    int rc = j->st ? join_release(j) : SGW_OK;
    if (rc != SGW_OK)
        return rc;
    if (c == '\r' || c == '\n') {
        j->st = c == '\r' ? 1 : 3;
        return SGW_OK;
    }
    return join_put(j, &c, 1);
}

static int join_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_join *j = (struct dec_join *)d;
    int rc = SGW_OK;
    for (size_t i = 0; i < n && rc == SGW_OK; i++)
        rc = j->kind == JOIN_UNFOLD ? unfold_byte(j, p[i]) : flowed_byte(j, p[i]);
    if (rc == SGW_OK && j->olen) {
        rc = dec_feed(d->next, j->out, j->olen);
        j->olen = 0;
    }
    return rc;
}

static int join_finish(struct dec *d)
{
    struct dec_join *j = (struct dec_join *)d;
    int rc = join_release(j);
    if (rc == SGW_OK && j->olen)
        rc = dec_feed(d->next, j->out, j->olen);
    j->olen = 0;
    return rc != SGW_OK ? rc : dec_finish(d->next);
}

static const struct dec_ops join_ops = {"join lines", join_feed, join_finish, NULL};

static int join_new(struct dec_env *env, unsigned nest, int kind, struct dec *inner, struct dec **out)
{
    struct dec_join *j = dec_alloc_head(sizeof(*j), offsetof(struct dec_join, out), &join_ops, env, nest);
    if (!j) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    j->kind = kind;
    j->base.next = inner;
    *out = &j->base;
    return SGW_OK;
}

int dec_new_unflow(struct dec_env *env, unsigned nest, int delsp, struct dec *inner, struct dec **out)
{
    return join_new(env, nest, delsp ? JOIN_FLOWED_DELSP : JOIN_FLOWED, inner, out);
}

int dec_new_unfold(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    return join_new(env, nest, JOIN_UNFOLD, inner, out);
}

/* ---- mbox: messages one after another, each after a "From " line ----
 *
 * (application/mbox, a .mbox file, Thunderbird's and Google Takeout's
 * exports.) A line that begins with "From " starts the next message; the
 * line itself (the sender's address and a date) is data. Each message is
 * read as a guessed one: a header block that is none is text. A body line
 * written "From " where the writer did not escape it (mboxo) cuts its
 * message there; all of it is still scanned. */

struct dec_mbox {
    struct dec base;
    struct dec *msg; /* owned: the message being read */
    int from_line;   /* in a "From " line */
    int started;     /* a byte has come */
    size_t match;    /* bytes of "\nFrom " matched */
};

static const uint8_t mbox_delim[] = "\nFrom ";
#define MBOX_DLEN 6u

static int mbox_end_msg(struct dec_mbox *b)
{
    if (!b->msg)
        return SGW_OK;
    int rc = dec_close(&b->msg);
    return rc == SGW_OK ? dec_text_boundary(b->base.env) : rc;
}

static int mbox_to_msg(struct dec_mbox *b, const uint8_t *p, size_t n)
{
    if (n == 0)
        return SGW_OK;
    if (!b->msg) {
        int rc = dec_new_message(b->base.env, b->base.nest + 1, 1, &b->msg);
        if (rc != SGW_OK)
            return rc;
    }
    return dec_feed(b->msg, p, n);
}

static int mbox_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_mbox *b = (struct dec_mbox *)d;
    size_t i = 0;
    int rc = SGW_OK;
    if (!b->started && n) {
        b->started = 1;
        b->match = 1; /* (the first line is a line's start) */
    }
    while (i < n && rc == SGW_OK && !d->dead) {
        if (b->from_line) {
            const uint8_t *nl = memchr(p + i, '\n', n - i);
            size_t e = nl ? (size_t)(nl - p) : n;
            rc = dec_text_data(d->env, p + i, e - i);
            i = e;
            if (nl && rc == SGW_OK) {
                i++;
                b->from_line = 0;
                rc = dec_text_boundary(d->env);
            }
            continue;
        }
        if (b->match == 0) {
            const uint8_t *nl = memchr(p + i, '\n', n - i);
            size_t e = nl ? (size_t)(nl - p) + 1 : n;
            rc = mbox_to_msg(b, p + i, e - i); /* (the line end is the message's) */
            i = e;
            b->match = nl != NULL;
            continue;
        }
        if (p[i] == mbox_delim[b->match]) {
            i++;
            if (++b->match < MBOX_DLEN)
                continue;
            b->match = 0;
            rc = mbox_end_msg(b);
            if (rc == SGW_OK)
                rc = dec_text_data(d->env, mbox_delim + 1, MBOX_DLEN - 1);
            b->from_line = 1;
            continue;
        }
        /* no "From ": the bytes matched after the line end are the message's */
        rc = mbox_to_msg(b, mbox_delim + 1, b->match - 1);
        b->match = 0;
    }
    return rc;
}

static int mbox_finish(struct dec *d)
{
    struct dec_mbox *b = (struct dec_mbox *)d;
    int rc = SGW_OK;
    if (b->from_line)
        rc = dec_text_boundary(d->env);
    else if (b->match > 1)
        rc = mbox_to_msg(b, mbox_delim + 1, b->match - 1);
    return rc == SGW_OK && !d->dead ? mbox_end_msg(b) : rc;
}

static void mbox_destroy(struct dec *d)
{
    dec_free(((struct dec_mbox *)d)->msg);
}

static const struct dec_ops mbox_ops = {"mbox", mbox_feed, mbox_finish, mbox_destroy};

int dec_new_mbox(struct dec_env *env, unsigned nest, struct dec **out)
{
    struct dec_mbox *b = dec_alloc(sizeof(*b), &mbox_ops, env, nest);
    if (!b)
        return SGW_ENOMEM;
    *out = &b->base;
    return SGW_OK;
}

int dec_looks_mbox(const uint8_t *b, size_t n)
{
    if (n < 8 || memcmp(b, "From ", 5) != 0)
        return 0;
    const uint8_t *nl = memchr(b, '\n', n);
    if (!nl || nl + 1 >= b + n)
        return 0;
    size_t k = (size_t)(b + n - (nl + 1)), e = 0;
    while (e < k && nl[1 + e] != '\n')
        e++;
    if (e && nl[e] == '\r')
        e--;
    return e > 0 && dec_mime_header_line(nl + 1, e, 1); /* the next line a header */
}

static struct dec_multipart *mp_alloc(struct dec_env *env, unsigned nest, size_t hcap)
{
    /* (the header buffer is written before it is read) */
    struct dec_multipart *m =
        dec_alloc_head(sizeof(*m) + hcap, sizeof(*m), &mp_ops, env, nest);
    if (m)
        m->hcap = hcap;
    return m;
}

/* A multipart decoder: strict, or as mail writes it (mime: delimiters
 * after LF, the CR before it the part's) */
static int mp_new(struct dec_env *env, unsigned nest, const char *boundary, size_t blen, int form, int mime,
                  struct dec **out)
{
    if (blen == 0 || blen > 70)
        return dec_new_reject(env, nest, "multipart without a valid boundary", out);
    struct dec_multipart *m = mp_alloc(env, nest, MP_HDR_MAX + (mime ? 1u : 0u));
    if (!m)
        return SGW_ENOMEM;
    m->form = form;
    m->mime = mime;
    const char *lead = mime ? "\n--" : "\r\n--";
    size_t ll = strlen(lead);
    memcpy(m->delim, lead, ll);
    memcpy(m->delim + ll, boundary, blen);
    m->dlen = ll + blen;
    m->match = ll - 2; /* the body starts with "--boundary", without the line end */
    m->st = MP_PREAMBLE;
    *out = &m->base;
    return SGW_OK;
}

int dec_new_multipart(struct dec_env *env, unsigned nest, const char *boundary, size_t blen,
                      int form, struct dec **out)
{
    return mp_new(env, nest, boundary, blen, form, 0, out);
}

int dec_new_multipart_mime(struct dec_env *env, unsigned nest, const char *boundary, size_t blen,
                           struct dec **out)
{
    return mp_new(env, nest, boundary, blen, 0, 1, out);
}

int dec_new_message(struct dec_env *env, unsigned nest, int sniffed, struct dec **out)
{
    struct dec_multipart *m = mp_alloc(env, nest, MSG_HDR_MAX + 1);
    if (!m)
        return SGW_ENOMEM;
    m->mime = m->msg = 1;
    m->sniffed = sniffed;
    m->st = MP_HEADERS;
    *out = &m->base;
    return SGW_OK;
}
