/* proxy/h1.c — strict, sans-I/O HTTP/1.1 head parser and chunked decoder
 * (RFC 9112). Bytes in, a parsed head or a precise reason out; nothing is
 * allocated and nothing is repaired: an ambiguous message is an error, because
 * a proxy that "fixes" framing differently from its upstream is a request
 * smuggling vector.
 *
 * Policy choices that are stricter than the RFC (reliability-catalogue §2.6):
 *  - Content-Length: exactly one field holding 1*DIGIT without leading zeros
 *    (except "0"), at most 2^62. Repeats and lists ("5, 5") are rejected even
 *    when identical (catalogue item 3: "policy: strict").
 *  - Transfer-Encoding: exactly one field whose value is "chunked" (any case,
 *    OWS trimmed). Other codings are refused ("unsupported transfer coding",
 *    the proxy may answer 501); TE in an HTTP/1.0 message is refused.
 *  - Field names are tchar without '_' (Envoy's REJECT_REQUEST), so
 *    "Transfer_Encoding" cannot be mapped onto "Transfer-Encoding" upstream.
 *  - No empty line is tolerated before the request line; no whitespace is
 *    tolerated anywhere in a chunk size line.
 *  - Request targets must use RFC 3986 characters only, with valid %HH escapes
 *    (passed through, never decoded); fragments are refused.
 *  - Expect: only "100-continue" is accepted; Host must agree with an
 *    absolute-form or authority-form target (host and port).
 *
 * The parser is restartable rather than resumable: callers pass the whole
 * buffered head each time. SGW_AGAIN is only returned while the bytes seen are
 * within the limits, so a caller never buffers more than max_head bytes. */
#include "proxy/h1.h"

#include <arpa/inet.h>
#include <string.h>

/* Byte classes (generated table, see the bit meanings). */
enum {
    C_TCHAR = 0x01,  /* RFC 9110 tchar */
    C_FVAL = 0x02,   /* field-value byte: HTAB, SP, VCHAR, obs-text */
    C_TARGET = 0x04, /* RFC 3986 pchar / query byte incl. '/', '?', '%' */
    C_HEX = 0x08,    /* HEXDIG */
    C_HOST = 0x10,   /* reg-name / IPv4 host byte we accept: ALPHA DIGIT - . _ */
    C_QDTEXT = 0x20, /* quoted-string qdtext */
    C_NAME = 0x40,   /* field-name byte: tchar except '_' */
};

static const uint8_t cls[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10 */
    0x22, 0x67, 0x02, 0x63, 0x67, 0x67, 0x67, 0x67, 0x26, 0x26, 0x67, 0x67, 0x26, 0x77, 0x77, 0x26, /* 0x20 */
    0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x26, 0x26, 0x22, 0x26, 0x22, 0x26, /* 0x30 */
    0x26, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, /* 0x40 */
    0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x22, 0x02, 0x22, 0x63, 0x37, /* 0x50 */
    0x63, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, /* 0x60 */
    0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x22, 0x63, 0x22, 0x67, 0x00, /* 0x70 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* 0x80 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* 0x90 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* 0xa0 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* 0xb0 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* 0xc0 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* 0xd0 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* 0xe0 */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* 0xf0 */
};

#define IS(c, k) ((cls[(unsigned char)(c)] & (k)) != 0)

#define CHUNK_LINE_MAX 4096
#define CHUNK_SIZE_MAX ((uint64_t)1 << 62)
#define CL_MAX ((uint64_t)1 << 62)

void px_h1_limits_default(struct px_h1_limits *l)
{
    l->max_request_line = 8192;
    l->max_head = 65536;
    l->max_headers = 100;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* s equals the lowercase literal lit (length n), ASCII case-insensitively. */
static int eq_lower(const char *s, size_t slen, const char *lit, size_t n)
{
    if (slen != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != lit[i])
            return 0;
    return 1;
}

#define EQ_LIT(sl, lit) eq_lower((sl).ptr, (sl).len, lit, sizeof(lit) - 1)

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static struct sgw_slice trim_ows(const char *p, size_t n)
{
    while (n > 0 && is_ows(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_ows(p[n - 1]))
        n--;
    return sgw_slice_make(p, n);
}

static int fail(const char **reason, int rc, const char *why)
{
    if (reason)
        *reason = why;
    return rc;
}

/* Reason for a byte that broke a line's grammar; names the smuggling classics. */
static const char *bad_byte(char c, const char *otherwise)
{
    if (c == '\r')
        return "bare CR";
    if (c == '\0')
        return "NUL byte";
    if ((unsigned char)c < 0x20 || c == 0x7f)
        return "control character";
    return otherwise;
}

/* ---- first lines ------------------------------------------------------- */

/* Index of the first byte in p[i..n) outside VCHAR (0x21..0x7e). */
static size_t skip_vchar(const char *p, size_t i, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (n - i >= 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t low = (x - 0x21 * ones) & ~x & highs; /* a byte < 0x21 */
        uint64_t y = x ^ (0x7f * ones);
        uint64_t del = (y - ones) & ~y & highs; /* a 0x7f byte */
        if (low | del | (x & highs))
            break;
        i += 8;
    }
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
        i++;
    return i;
}

/* "HTTP/1.0" / "HTTP/1.1" in p[0..n). complete: n must be exactly 8; otherwise
 * a valid prefix yields SGW_AGAIN. */
static int scan_version(const char *p, size_t n, int complete, int *minor, const char **reason)
{
    static const char v[] = "HTTP/1.";
    size_t k = n < 7 ? n : 7;
    if (memcmp(p, v, k) != 0)
        return fail(reason, SGW_EPROTO, "unsupported HTTP version");
    if (n < 8)
        return complete ? fail(reason, SGW_EPROTO, "unsupported HTTP version") : SGW_AGAIN;
    if (p[7] != '0' && p[7] != '1')
        return fail(reason, SGW_EPROTO, "unsupported HTTP version");
    if (n > 8)
        return fail(reason, SGW_EPROTO, bad_byte(p[8], "unsupported HTTP version"));
    *minor = p[7] - '0';
    return SGW_OK;
}

/* method SP request-target SP HTTP-version, p[0..n) without the CRLF.
 * complete == 0: p is a prefix of an unfinished line (a trailing CR removed);
 * returns SGW_AGAIN when that prefix can still become valid. */
static int scan_request_line(const char *p, size_t n, int complete, struct px_h1_message *m,
                             const char **reason)
{
    size_t i = 0;
    while (i < n && IS(p[i], C_TCHAR))
        i++;
    if (i == n) {
        if (!complete)
            return SGW_AGAIN;
        return fail(reason, SGW_EPROTO, n == 0 ? "empty request line" : "malformed request line");
    }
    if (i == 0 || p[i] != ' ')
        return fail(reason, SGW_EPROTO, bad_byte(p[i], "invalid method"));
    m->method = sgw_slice_make(p, i);
    size_t t = ++i;
    /* Only VCHAR here (eight at a time when possible); the fine-grained
     * target syntax is checked once the form is known. */
    i = skip_vchar(p, i, n);
    if (i == n) {
        if (!complete)
            return SGW_AGAIN;
        return fail(reason, SGW_EPROTO, "malformed request line");
    }
    if (i == t || p[i] != ' ')
        return fail(reason, SGW_EPROTO, bad_byte(p[i], "invalid request-target"));
    m->target = sgw_slice_make(p + t, i - t);
    i++;
    return scan_version(p + i, n - i, complete, &m->version_minor, reason);
}

/* HTTP-version SP 3DIGIT SP [reason], p[0..n) without the CRLF. The SP after
 * the code may be absent when the reason is empty (unambiguous). */
static int scan_status_line(const char *p, size_t n, int complete, struct px_h1_message *m,
                            const char **reason)
{
    int rc = scan_version(p, n < 8 ? n : 8, complete || n >= 8, &m->version_minor, reason);
    if (rc != SGW_OK)
        return rc;
    if (n == 8)
        return complete ? fail(reason, SGW_EPROTO, "malformed status line") : SGW_AGAIN;
    if (p[8] != ' ')
        return fail(reason, SGW_EPROTO, "unsupported HTTP version");
    int status = 0;
    for (size_t i = 9; i < 12; i++) {
        if (i >= n)
            return complete ? fail(reason, SGW_EPROTO, "invalid status code") : SGW_AGAIN;
        if (p[i] < '0' || p[i] > '9')
            return fail(reason, SGW_EPROTO, "invalid status code");
        status = status * 10 + (p[i] - '0');
    }
    if (status < 100)
        return fail(reason, SGW_EPROTO, "invalid status code");
    m->status = status;
    m->reason = sgw_slice_make(p + 12, 0);
    if (n == 12)
        return complete ? SGW_OK : SGW_AGAIN;
    if (p[12] != ' ')
        return fail(reason, SGW_EPROTO, "invalid status code");
    for (size_t i = 13; i < n; i++)
        if (!IS(p[i], C_FVAL))
            return fail(reason, SGW_EPROTO, bad_byte(p[i], "invalid reason phrase"));
    m->reason = sgw_slice_make(p + 13, n - 13);
    return complete ? SGW_OK : SGW_AGAIN;
}

/* ---- field lines ------------------------------------------------------- */

/* Index of the first byte in p[i..n) that is not a field-value byte. Eight
 * bytes at a time while they are all VCHAR / SP / obs-text (the common case):
 * a word holding a byte < 0x20 (HTAB included) or 0x7f goes byte by byte. */
static size_t skip_field_value(const char *p, size_t i, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    for (;;) {
        while (n - i >= 8) {
            uint64_t x;
            memcpy(&x, p + i, 8);
            uint64_t ctl = (x - 0x20 * ones) & ~x & highs;
            uint64_t y = x ^ (0x7f * ones);
            uint64_t del = (y - ones) & ~y & highs;
            if (ctl | del)
                break;
            i += 8;
        }
        size_t stop = n - i >= 8 ? i + 8 : n;
        while (i < stop && IS(p[i], C_FVAL))
            i++;
        if (i < stop || i == n)
            return i;
    }
}

/* One field line: field-name ":" OWS field-value OWS CRLF, read from
 * p[0..avail) where p[0] is not CR, LF or whitespace (the caller handles the
 * end of the head and obs-fold). Returns SGW_OK with *line_len (CRLF included)
 * and *h filled, SGW_AGAIN when p[0..avail) is a valid unfinished line, or
 * SGW_EPROTO. Single pass: no separate search for the LF. */
static int scan_field_line(const char *p, size_t avail, struct px_h1_header *h,
                           size_t *line_len, const char **reason)
{
    size_t i = 0;
    while (i < avail && IS(p[i], C_NAME))
        i++;
    if (i == avail)
        return SGW_AGAIN;
    if (p[i] != ':') {
        if (is_ows(p[i]))
            return fail(reason, SGW_EPROTO, "whitespace between header name and colon");
        if (p[i] == '_')
            return fail(reason, SGW_EPROTO, "underscore in header name");
        if (p[i] == '\r' && i + 1 < avail && p[i + 1] != '\n')
            return fail(reason, SGW_EPROTO, "bare CR");
        if (p[i] == '\r' || p[i] == '\n')
            return fail(reason, SGW_EPROTO, "header line without a colon");
        return fail(reason, SGW_EPROTO, bad_byte(p[i], "invalid character in header name"));
    }
    if (i == 0)
        return fail(reason, SGW_EPROTO, "empty header name");
    size_t v = i + 1;
    i = skip_field_value(p, v, avail);
    if (i == avail)
        return SGW_AGAIN;
    if (p[i] == '\n')
        return fail(reason, SGW_EPROTO, "bare LF line ending");
    if (p[i] != '\r')
        return fail(reason, SGW_EPROTO, bad_byte(p[i], "invalid character in header value"));
    if (i + 1 == avail)
        return SGW_AGAIN;
    if (p[i + 1] != '\n')
        return fail(reason, SGW_EPROTO, "bare CR");
    h->name = sgw_slice_make(p, v - 1);
    h->value = trim_ows(p + v, i - v);
    *line_len = i + 2;
    return SGW_OK;
}

/* What the framing-relevant fields said, gathered while scanning. */
struct fields {
    int cl_seen;
    uint64_t cl;
    int te_seen;
    int host_seen;
    struct sgw_slice host;
    int expect_seen;
    int conn_close;
    int conn_keep_alive;
};

static int parse_content_length(struct sgw_slice v, uint64_t *out, const char **reason)
{
    if (v.len == 0)
        return fail(reason, SGW_EPROTO, "empty Content-Length");
    for (size_t i = 0; i < v.len; i++)
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return fail(reason, SGW_EPROTO, "invalid Content-Length");
    if (v.len > 1 && v.ptr[0] == '0')
        return fail(reason, SGW_EPROTO, "Content-Length with leading zero");
    if (sgw_parse_u64(v.ptr, v.len, CL_MAX, out) != SGW_OK)
        return fail(reason, SGW_EPROTO, "Content-Length too large");
    return SGW_OK;
}

/* Only a single "chunked" is accepted; the reasons distinguish the cases a
 * proxy may want to map differently (501 for an unknown coding). */
static int parse_transfer_encoding(struct sgw_slice v, const char **reason)
{
    size_t n_chunked = 0, n_other = 0, i = 0;
    int last_chunked = 0;
    for (;;) {
        size_t s = i;
        while (i < v.len && v.ptr[i] != ',')
            i++;
        struct sgw_slice e = trim_ows(v.ptr + s, i - s);
        if (e.len == 0)
            return fail(reason, SGW_EPROTO, "empty transfer coding");
        last_chunked = EQ_LIT(e, "chunked");
        if (last_chunked)
            n_chunked++;
        else
            n_other++;
        if (i == v.len)
            break;
        i++; /* the comma */
    }
    if (n_chunked > 1)
        return fail(reason, SGW_EPROTO, "chunked applied more than once");
    if (n_chunked == 1 && !last_chunked)
        return fail(reason, SGW_EPROTO, "chunked is not the final transfer coding");
    if (n_other > 0)
        return fail(reason, SGW_EPROTO, "unsupported transfer coding");
    return SGW_OK;
}

/* Connection: comma-separated tokens; empty list elements are allowed. */
static int parse_connection(struct sgw_slice v, struct fields *f, const char **reason)
{
    size_t i = 0;
    for (;;) {
        size_t s = i;
        while (i < v.len && v.ptr[i] != ',')
            i++;
        struct sgw_slice e = trim_ows(v.ptr + s, i - s);
        for (size_t k = 0; k < e.len; k++)
            if (!IS(e.ptr[k], C_TCHAR))
                return fail(reason, SGW_EPROTO, "invalid Connection header");
        if (EQ_LIT(e, "close"))
            f->conn_close = 1;
        else if (EQ_LIT(e, "keep-alive"))
            f->conn_keep_alive = 1;
        if (i == v.len)
            return SGW_OK;
        i++;
    }
}

static int note_field(int is_request, const struct px_h1_header *h, struct fields *f,
                      struct px_h1_message *m, const char **reason)
{
    switch (h->name.len) {
    case 4:
        if (is_request && EQ_LIT(h->name, "host")) {
            if (f->host_seen)
                return fail(reason, SGW_EPROTO, "multiple Host headers");
            f->host_seen = 1;
            f->host = h->value;
        }
        break;
    case 6:
        if (is_request && EQ_LIT(h->name, "expect")) {
            if (f->expect_seen)
                return fail(reason, SGW_EPROTO, "multiple Expect headers");
            f->expect_seen = 1;
            if (!EQ_LIT(h->value, "100-continue"))
                return fail(reason, SGW_EPROTO, "unsupported Expect value");
            m->expect_continue = 1;
        }
        break;
    case 7:
        if (EQ_LIT(h->name, "upgrade"))
            m->upgrade = 1;
        break;
    case 10:
        if (EQ_LIT(h->name, "connection"))
            return parse_connection(h->value, f, reason);
        break;
    case 14:
        if (EQ_LIT(h->name, "content-length")) {
            if (f->cl_seen)
                return fail(reason, SGW_EPROTO, "multiple Content-Length headers");
            f->cl_seen = 1;
            return parse_content_length(h->value, &f->cl, reason);
        }
        break;
    case 17:
        if (EQ_LIT(h->name, "transfer-encoding")) {
            if (f->te_seen)
                return fail(reason, SGW_EPROTO, "multiple Transfer-Encoding headers");
            f->te_seen = 1;
            return parse_transfer_encoding(h->value, reason);
        }
        break;
    default:
        break;
    }
    return SGW_OK;
}

/* ---- the head driver --------------------------------------------------- */

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

static void message_reset(struct px_h1_message *m)
{
    struct sgw_slice empty = {NULL, 0};
    m->method = empty;
    m->target = empty;
    m->form = PX_H1_TARGET_ORIGIN;
    m->scheme = empty;
    m->host = empty;
    m->port = 0;
    m->path = empty;
    m->status = 0;
    m->reason = empty;
    m->version_minor = 0;
    m->n_headers = 0;
    m->body = PX_H1_BODY_NONE;
    m->content_length = 0;
    m->keep_alive = 0;
    m->expect_continue = 0;
    m->upgrade = 0;
}

/* Scans the start line and the field lines of a head, enforcing the limits
 * and the line grammar; framing fields are collected in *f. */
static int scan_head(const char *buf, size_t len, const struct px_h1_limits *lim_in,
                     int is_request, struct px_h1_message *m, struct fields *f, size_t *head_len,
                     const char **reason)
{
    struct px_h1_limits lim;
    if (lim_in)
        lim = *lim_in;
    else
        px_h1_limits_default(&lim);
    if (lim.max_headers > PX_H1_MAX_HEADERS)
        lim.max_headers = PX_H1_MAX_HEADERS;
    const char *too_long = is_request ? "request line too long" : "status line too long";
    const char *too_big = is_request ? "request head too large" : "response head too large";
    int rc;

    /* Start line: the LF must appear within both limits. */
    size_t win = min_sz(len, min_sz(lim.max_request_line, lim.max_head));
    const char *lf = memchr(buf, '\n', win);
    if (!lf) {
        size_t n = win;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
        rc = is_request ? scan_request_line(buf, n, 0, m, reason)
                        : scan_status_line(buf, n, 0, m, reason);
        if (rc < 0)
            return rc;
        if (len >= lim.max_request_line)
            return fail(reason, SGW_ELIMIT, too_long);
        if (len >= lim.max_head)
            return fail(reason, SGW_ELIMIT, too_big);
        return SGW_AGAIN;
    }
    size_t eol = (size_t)(lf - buf);
    if (eol == 0 || buf[eol - 1] != '\r')
        return fail(reason, SGW_EPROTO, "bare LF line ending");
    rc = is_request ? scan_request_line(buf, eol - 1, 1, m, reason)
                    : scan_status_line(buf, eol - 1, 1, m, reason);
    if (rc != SGW_OK)
        return rc;
    size_t pos = eol + 1;

    for (;;) {
        if (pos >= lim.max_head)
            return fail(reason, SGW_ELIMIT, too_big);
        if (pos >= len)
            return SGW_AGAIN;
        char c = buf[pos];
        if (c == '\r') {
            if (pos + 1 >= len)
                return pos + 1 >= lim.max_head ? fail(reason, SGW_ELIMIT, too_big) : SGW_AGAIN;
            if (buf[pos + 1] != '\n')
                return fail(reason, SGW_EPROTO, "bare CR");
            if (pos + 2 > lim.max_head)
                return fail(reason, SGW_ELIMIT, too_big);
            *head_len = pos + 2;
            return SGW_OK;
        }
        if (c == '\n')
            return fail(reason, SGW_EPROTO, "bare LF line ending");
        if (is_ows(c))
            return fail(reason, SGW_EPROTO,
                        m->n_headers == 0 ? "whitespace before the first header"
                                          : "obs-fold line folding");
        if (m->n_headers >= lim.max_headers)
            return fail(reason, SGW_ELIMIT, "too many header fields");
        /* A line may not reach past max_head: scan no further than that. */
        size_t wend = min_sz(len, lim.max_head);
        struct px_h1_header *h = &m->headers[m->n_headers];
        size_t line_len = 0;
        rc = scan_field_line(buf + pos, wend - pos, h, &line_len, reason);
        if (rc < 0)
            return rc;
        if (rc == SGW_AGAIN)
            return len >= lim.max_head ? fail(reason, SGW_ELIMIT, too_big) : SGW_AGAIN;
        m->n_headers++;
        rc = note_field(is_request, h, f, m, reason);
        if (rc != SGW_OK)
            return rc;
        pos += line_len;
    }
}

/* ---- targets and hosts ------------------------------------------------- */

struct authority {
    struct sgw_slice raw;  /* the whole authority text */
    struct sgw_slice host; /* IPv6 without brackets */
    uint16_t port;
    int has_port;
};

/* A leading dot or "..": an empty DNS label (a trailing dot is the root). */
static int has_empty_label(const char *p, size_t n)
{
    if (p[0] == '.')
        return 1;
    const char *d = memchr(p, '.', n);
    while (d) {
        size_t k = (size_t)(d - p) + 1;
        if (k < n && p[k] == '.')
            return 1;
        d = k < n ? memchr(p + k, '.', n - k) : NULL;
    }
    return 0;
}

/* uri-host [ ":" port ] with no userinfo; hosts are reg-names of
 * ALPHA DIGIT - . _ (no empty labels), IPv4 text, or a bracketed IPv6 literal
 * validated by inet_pton (no zone). Ports are 1..65535. */
static int parse_authority(const char *p, size_t n, struct authority *a, const char **reason)
{
    a->raw = sgw_slice_make(p, n);
    if (n == 0)
        return fail(reason, SGW_EPROTO, "empty host");
    if (memchr(p, '@', n))
        return fail(reason, SGW_EPROTO, "userinfo in authority");
    size_t i;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (!close)
            return fail(reason, SGW_EPROTO, "invalid IPv6 literal");
        size_t hl = (size_t)(close - p) - 1;
        char tmp[INET6_ADDRSTRLEN];
        unsigned char bin[16];
        if (hl < 2 || hl >= sizeof tmp)
            return fail(reason, SGW_EPROTO, "invalid IPv6 literal");
        for (size_t k = 0; k < hl; k++)
            if (!IS(p[1 + k], C_HEX) && p[1 + k] != ':' && p[1 + k] != '.')
                return fail(reason, SGW_EPROTO, "invalid IPv6 literal");
        memcpy(tmp, p + 1, hl);
        tmp[hl] = '\0';
        if (inet_pton(AF_INET6, tmp, bin) != 1)
            return fail(reason, SGW_EPROTO, "invalid IPv6 literal");
        a->host = sgw_slice_make(p + 1, hl);
        i = hl + 2;
    } else {
        i = 0;
        while (i < n && IS(p[i], C_HOST))
            i++;
        if (i == 0)
            return fail(reason, SGW_EPROTO, "empty host");
        if (i > 254 || has_empty_label(p, i))
            return fail(reason, SGW_EPROTO, "invalid host");
        a->host = sgw_slice_make(p, i);
    }
    a->has_port = 0;
    a->port = 0;
    if (i == n)
        return SGW_OK;
    if (p[i] != ':')
        return fail(reason, SGW_EPROTO, "invalid character in host");
    i++;
    uint64_t port = 0;
    if (n - i == 0 || n - i > 5 || sgw_parse_u64(p + i, n - i, 65535, &port) != SGW_OK ||
        port == 0)
        return fail(reason, SGW_EPROTO, "invalid port");
    a->port = (uint16_t)port;
    a->has_port = 1;
    return SGW_OK;
}

/* path-abempty [ "?" query ] of RFC 3986 characters; %HH kept as is. */
static int check_path(const char *p, size_t n, const char **reason)
{
    for (size_t i = 0; i < n; i++) {
        if (!IS(p[i], C_TARGET)) {
            if (p[i] == '#')
                return fail(reason, SGW_EPROTO, "fragment in request-target");
            return fail(reason, SGW_EPROTO, "invalid character in request-target");
        }
        if (p[i] == '%') {
            if (n - i < 3 || !IS(p[i + 1], C_HEX) || !IS(p[i + 2], C_HEX))
                return fail(reason, SGW_EPROTO, "invalid percent-encoding in request-target");
            i += 2;
        }
    }
    return SGW_OK;
}

int px_h1_parse_authority(const char *p, size_t n, struct sgw_slice *host, uint16_t *port,
                          const char **reason)
{
    struct authority a;
    int rc = parse_authority(p, n, &a, reason);
    if (rc != SGW_OK)
        return rc;
    *host = a.host;
    *port = a.has_port ? a.port : 0;
    return SGW_OK;
}

int px_h1_check_path(const char *p, size_t n, const char **reason)
{
    if (n == 0 || p[0] != '/')
        return fail(reason, SGW_EPROTO, "path must start with /");
    return check_path(p, n, reason);
}

/* http://authority[/path][?query] — fills scheme, host, port, path. */
static int parse_absolute(struct px_h1_message *m, struct authority *a, const char **reason)
{
    const char *t = m->target.ptr;
    size_t n = m->target.len;
    size_t i = 0;
    while (i < n && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')))
        i++;
    if (i == 0 || n - i < 3 || memcmp(t + i, "://", 3) != 0)
        return fail(reason, SGW_EPROTO, "invalid request-target");
    m->scheme = sgw_slice_make(t, i);
    uint16_t dflt;
    if (EQ_LIT(m->scheme, "http"))
        dflt = 80;
    else if (EQ_LIT(m->scheme, "https"))
        dflt = 443;
    else
        return fail(reason, SGW_EPROTO, "unsupported scheme in request-target");
    size_t as = i + 3, ae = as;
    while (ae < n && t[ae] != '/' && t[ae] != '?')
        ae++;
    int rc = parse_authority(t + as, ae - as, a, reason);
    if (rc != SGW_OK)
        return rc;
    if (ae == n) {
        /* An empty path means "/", or "*" for OPTIONS (RFC 9112 §3.2.1, §3.2.4).
         * The only slice that is not borrowed from the input: a literal. */
        if (sgw_slice_eq_lit(m->method, "OPTIONS"))
            m->path = sgw_slice_make("*", 1);
        else
            m->path = sgw_slice_make("/", 1);
    } else {
        if (t[ae] == '?')
            return fail(reason, SGW_EPROTO, "absolute-form target with a query but no path");
        rc = check_path(t + ae, n - ae, reason);
        if (rc != SGW_OK)
            return rc;
        m->path = sgw_slice_make(t + ae, n - ae);
    }
    if (!a->has_port)
        a->port = dflt;
    m->host = a->host;
    m->port = a->port;
    return SGW_OK;
}

static int same_host(struct sgw_slice a, struct sgw_slice b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (lower((unsigned char)a.ptr[i]) != lower((unsigned char)b.ptr[i]))
            return 0;
    return 1;
}

static int finish_framing(struct px_h1_message *m, const struct fields *f, const char **reason)
{
    if (f->te_seen && f->cl_seen)
        return fail(reason, SGW_EPROTO, "both Content-Length and Transfer-Encoding");
    if (f->te_seen && m->version_minor == 0)
        return fail(reason, SGW_EPROTO, "Transfer-Encoding in an HTTP/1.0 message");
    if (m->version_minor == 1) {
        m->keep_alive = !f->conn_close;
    } else {
        m->keep_alive = f->conn_keep_alive && !f->conn_close;
        m->expect_continue = 0; /* RFC 9110 §10.1.1: ignored in HTTP/1.0 */
    }
    return SGW_OK;
}

int px_h1_parse_request(const char *buf, size_t len, const struct px_h1_limits *lim,
                        struct px_h1_message *out, size_t *head_len, const char **reason)
{
    struct fields f;
    memset(&f, 0, sizeof f);
    message_reset(out);
    int rc = scan_head(buf, len, lim, 1, out, &f, head_len, reason);
    if (rc != SGW_OK)
        return rc;

    struct authority ta = {{NULL, 0}, {NULL, 0}, 0, 0};
    int is_connect = sgw_slice_eq_lit(out->method, "CONNECT");
    const char *t = out->target.ptr;
    if (is_connect) {
        out->form = PX_H1_TARGET_AUTHORITY;
        rc = parse_authority(t, out->target.len, &ta, reason);
        if (rc != SGW_OK)
            return rc;
        if (!ta.has_port)
            return fail(reason, SGW_EPROTO, "CONNECT target without a port");
        out->host = ta.host;
        out->port = ta.port;
    } else if (t[0] == '/') {
        out->form = PX_H1_TARGET_ORIGIN;
        rc = check_path(t, out->target.len, reason);
        if (rc != SGW_OK)
            return rc;
        out->path = out->target;
    } else if (out->target.len == 1 && t[0] == '*') {
        if (!sgw_slice_eq_lit(out->method, "OPTIONS"))
            return fail(reason, SGW_EPROTO, "asterisk-form target is only valid for OPTIONS");
        out->form = PX_H1_TARGET_ASTERISK;
    } else {
        out->form = PX_H1_TARGET_ABSOLUTE;
        rc = parse_absolute(out, &ta, reason);
        if (rc != SGW_OK)
            return rc;
    }

    if (!f.host_seen) {
        if (out->version_minor == 1)
            return fail(reason, SGW_EPROTO, "missing Host header");
    } else {
        struct authority ha = {{NULL, 0}, {NULL, 0}, 0, 0};
        const char *why = NULL;
        int with_authority =
            out->form == PX_H1_TARGET_ABSOLUTE || out->form == PX_H1_TARGET_AUTHORITY;
        if (with_authority && f.host.len == ta.raw.len &&
            memcmp(f.host.ptr, ta.raw.ptr, f.host.len) == 0) {
            /* byte-identical to the validated target authority: agrees */
        } else if (parse_authority(f.host.ptr, f.host.len, &ha, &why) != SGW_OK) {
            return fail(reason, SGW_EPROTO, "invalid Host header");
        } else if (with_authority) {
            /* A Host without a port means the scheme's default for absolute
             * form; for CONNECT the target's port is the only one there is. */
            uint16_t hp = ha.has_port ? ha.port : ta.port;
            if (!ha.has_port && out->form == PX_H1_TARGET_ABSOLUTE)
                hp = EQ_LIT(out->scheme, "https") ? 443 : 80;
            if (!same_host(ha.host, ta.host) || hp != ta.port)
                return fail(reason, SGW_EPROTO, "Host header does not match the request-target");
        } else {
            out->host = ha.host;
            out->port = ha.has_port ? ha.port : 0;
        }
    }

    rc = finish_framing(out, &f, reason);
    if (rc != SGW_OK)
        return rc;
    if (f.te_seen) {
        out->body = PX_H1_BODY_CHUNKED;
    } else if (f.cl_seen) {
        out->body = PX_H1_BODY_LENGTH;
        out->content_length = f.cl;
    }
    return SGW_OK;
}

int px_h1_parse_response(const char *buf, size_t len, const struct px_h1_limits *lim,
                         struct sgw_slice req_method, struct px_h1_message *out,
                         size_t *head_len, const char **reason)
{
    struct fields f;
    memset(&f, 0, sizeof f);
    message_reset(out);
    int rc = scan_head(buf, len, lim, 0, out, &f, head_len, reason);
    if (rc != SGW_OK)
        return rc;
    rc = finish_framing(out, &f, reason);
    if (rc != SGW_OK)
        return rc;
    int st = out->status;
    if (st < 200 || st == 204) {
        /* RFC 9110 §8.6 / RFC 9112 §6.1: MUST NOT be sent; a body would desync. */
        if (f.te_seen)
            return fail(reason, SGW_EPROTO, "Transfer-Encoding in a 1xx or 204 response");
        if (f.cl_seen && f.cl != 0)
            return fail(reason, SGW_EPROTO, "Content-Length in a 1xx or 204 response");
        return SGW_OK;
    }
    if (sgw_slice_eq_lit(req_method, "HEAD") || st == 304)
        return SGW_OK;
    if (sgw_slice_eq_lit(req_method, "CONNECT") && st < 300)
        return SGW_OK;
    if (f.te_seen) {
        out->body = PX_H1_BODY_CHUNKED;
    } else if (f.cl_seen) {
        out->body = PX_H1_BODY_LENGTH;
        out->content_length = f.cl;
    } else {
        out->body = PX_H1_BODY_EOF;
        out->keep_alive = 0;
    }
    return SGW_OK;
}

const struct px_h1_header *px_h1_header_find(const struct px_h1_message *m, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < m->n_headers; i++) {
        const struct px_h1_header *h = &m->headers[i];
        if (h->name.len != n)
            continue;
        size_t k = 0;
        while (k < n && lower((unsigned char)h->name.ptr[k]) == lower((unsigned char)name[k]))
            k++;
        if (k == n)
            return h;
    }
    return NULL;
}

/* ---- chunked transfer coding ------------------------------------------- */

enum chunk_state {
    CK_SIZE_FIRST = 0, /* zero-initialised start: first hex digit of a size */
    CK_SIZE,           /* more hex digits, ';' or CR */
    CK_EXT_NAME_FIRST, /* after ';' */
    CK_EXT_NAME,
    CK_EXT_VAL_FIRST, /* after '=' */
    CK_EXT_VAL_TOKEN,
    CK_EXT_VAL_QUOTED,
    CK_EXT_VAL_QPAIR, /* after a backslash inside quotes */
    CK_EXT_VAL_END,   /* after the closing quote */
    CK_SIZE_LF,       /* CR seen at the end of a size line */
    CK_DATA,
    CK_DATA_CR,
    CK_DATA_LF,
    CK_TRAILER_START, /* start of a trailer line or of the final CRLF */
    CK_TRAILER_NAME,
    CK_TRAILER_VALUE,
    CK_TRAILER_LF,
    CK_FINAL_LF,
    CK_DONE,
    CK_ERROR,
    CK__COUNT
};

/* Trailer fields that would change framing, routing, authentication or the
 * interpretation of the content if an upstream merged them (RFC 9110 §6.5.1).
 * Matched incrementally while a trailer name is read: the candidate bitmask
 * and the name position ride in st->state above the state number (bits 8..23
 * and 24..28), so st->remaining stays 0 in the trailer section. */
static const char *const forbidden_trailers[16] = {
    "content-length", "transfer-encoding", "host",    "authorization",
    "proxy-authorization", "connection",   "keep-alive", "upgrade",
    "te",             "trailer",           "expect",  "content-encoding",
    "content-type",   "content-range",     "set-cookie", "cookie",
};

#define CK_STATE(s) ((s) & 0xff)
#define CK_MASK(s) (((unsigned)(s) >> 8) & 0xffffu)
#define CK_POS(s) (((unsigned)(s) >> 24) & 0x1fu)
#define CK_POS_MAX 31u /* longer than every forbidden name */

/* Advances the forbidden-name match by one name byte. */
static void trailer_match(struct px_h1_chunked *st, char c)
{
    unsigned mask = CK_MASK(st->state), pos = CK_POS(st->state);
    int lc = lower((unsigned char)c);
    for (unsigned k = 0; k < 16; k++) {
        if (!(mask & (1u << k)))
            continue;
        const char *nm = forbidden_trailers[k];
        if (strlen(nm) <= pos || nm[pos] != lc)
            mask &= ~(1u << k);
    }
    if (pos < CK_POS_MAX)
        pos++;
    st->state = (int)(CK_TRAILER_NAME | (mask << 8) | (pos << 24));
}

static int trailer_forbidden(const struct px_h1_chunked *st)
{
    unsigned mask = CK_MASK(st->state), pos = CK_POS(st->state);
    for (unsigned k = 0; k < 16; k++)
        if ((mask & (1u << k)) && strlen(forbidden_trailers[k]) == pos)
            return 1;
    return 0;
}

static int ck_fail(struct px_h1_chunked *st, size_t *consumed, size_t i, const char **reason,
                   int rc, const char *why)
{
    st->state = CK_ERROR;
    *consumed = i;
    return fail(reason, rc, why);
}

int px_h1_chunked_feed(struct px_h1_chunked *st, const char *in, size_t len, size_t *consumed,
                       const char **data, size_t *data_len, const char **reason)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
    if (st->state == CK_ERROR)
        return ck_fail(st, consumed, 0, reason, SGW_EPROTO, "chunked decoder already failed");
    if (st->state < 0 || CK_STATE(st->state) >= CK__COUNT ||
        (st->state != CK_STATE(st->state) && CK_STATE(st->state) != CK_TRAILER_NAME))
        return ck_fail(st, consumed, 0, reason, SGW_EPROTO, "invalid chunked decoder state");
    if (st->state == CK_DONE) {
        *consumed = 0;
        return SGW_OK;
    }
    while (i < len) {
        if (st->state == CK_DATA) {
            size_t n = len - i;
            if ((uint64_t)n > st->remaining)
                n = (size_t)st->remaining;
            *data = in + i;
            *data_len = n;
            st->remaining -= n;
            i += n;
            if (st->remaining == 0)
                st->state = CK_DATA_CR;
            *consumed = i;
            return SGW_OK;
        }
        char c = in[i++];
        int cur = CK_STATE(st->state);
        if (cur <= CK_SIZE_LF) {
            if (++st->line_len > CHUNK_LINE_MAX)
                return ck_fail(st, consumed, i, reason, SGW_ELIMIT, "chunk size line too long");
        } else if (cur >= CK_TRAILER_START) {
            if (++st->line_len > CHUNK_LINE_MAX)
                return ck_fail(st, consumed, i, reason, SGW_ELIMIT, "chunk trailers too large");
        }
        switch ((enum chunk_state)cur) {
        case CK_SIZE_FIRST:
        case CK_SIZE: {
            if (IS(c, C_HEX)) {
                if (st->line_len > 16)
                    return ck_fail(st, consumed, i, reason, SGW_EPROTO,
                                   "chunk size has too many digits");
                uint64_t d = (uint64_t)(c <= '9' ? c - '0' : lower((unsigned char)c) - 'a' + 10);
                if (st->remaining > (CHUNK_SIZE_MAX - d) / 16)
                    return ck_fail(st, consumed, i, reason, SGW_ELIMIT, "chunk size too large");
                st->remaining = st->remaining * 16 + d;
                st->state = CK_SIZE;
            } else if (st->state == CK_SIZE_FIRST) {
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunk size");
            } else if (c == ';') {
                st->state = CK_EXT_NAME_FIRST;
            } else if (c == '\r') {
                st->state = CK_SIZE_LF;
            } else {
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunk size");
            }
            break;
        }
        case CK_EXT_NAME_FIRST:
            if (!IS(c, C_TCHAR))
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunk extension");
            st->state = CK_EXT_NAME;
            break;
        case CK_EXT_NAME:
        case CK_EXT_VAL_TOKEN:
            if (IS(c, C_TCHAR))
                break;
            if (c == '=' && st->state == CK_EXT_NAME)
                st->state = CK_EXT_VAL_FIRST;
            else if (c == ';')
                st->state = CK_EXT_NAME_FIRST;
            else if (c == '\r')
                st->state = CK_SIZE_LF;
            else
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunk extension");
            break;
        case CK_EXT_VAL_FIRST:
            if (c == '"')
                st->state = CK_EXT_VAL_QUOTED;
            else if (IS(c, C_TCHAR))
                st->state = CK_EXT_VAL_TOKEN;
            else
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunk extension");
            break;
        case CK_EXT_VAL_QUOTED:
            if (c == '"')
                st->state = CK_EXT_VAL_END;
            else if (c == '\\')
                st->state = CK_EXT_VAL_QPAIR;
            else if (!IS(c, C_QDTEXT))
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunk extension");
            break;
        case CK_EXT_VAL_QPAIR:
            if (!IS(c, C_FVAL))
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunk extension");
            st->state = CK_EXT_VAL_QUOTED;
            break;
        case CK_EXT_VAL_END:
            if (c == ';')
                st->state = CK_EXT_NAME_FIRST;
            else if (c == '\r')
                st->state = CK_SIZE_LF;
            else
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunk extension");
            break;
        case CK_SIZE_LF:
            if (c != '\n')
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "bare CR in chunk size line");
            st->line_len = 0;
            if (st->remaining == 0) {
                st->state = CK_TRAILER_START;
            } else {
                st->state = CK_DATA;
            }
            break;
        case CK_DATA:
            break; /* handled above the switch */
        case CK_DATA_CR:
            if (c != '\r')
                return ck_fail(st, consumed, i, reason, SGW_EPROTO,
                               "chunk data not followed by CRLF");
            st->state = CK_DATA_LF;
            break;
        case CK_DATA_LF:
            if (c != '\n')
                return ck_fail(st, consumed, i, reason, SGW_EPROTO,
                               "chunk data not followed by CRLF");
            st->state = CK_SIZE_FIRST;
            st->line_len = 0;
            st->remaining = 0;
            break;
        case CK_TRAILER_START:
            if (c == '\r') {
                st->state = CK_FINAL_LF;
                break;
            }
            if (is_ows(c))
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "obs-fold in trailer");
            if (!IS(c, C_TCHAR) || c == '_')
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid trailer field");
            st->state = (int)(CK_TRAILER_NAME | (0xffffu << 8)); /* all candidates, pos 0 */
            trailer_match(st, c);
            break;
        case CK_TRAILER_NAME:
            if (c == ':') {
                if (trailer_forbidden(st))
                    return ck_fail(st, consumed, i, reason, SGW_EPROTO,
                                   "forbidden field in trailer");
                st->state = CK_TRAILER_VALUE;
            } else if (IS(c, C_TCHAR) && c != '_') {
                trailer_match(st, c);
            } else {
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid trailer field");
            }
            break;
        case CK_TRAILER_VALUE:
            if (c == '\r')
                st->state = CK_TRAILER_LF;
            else if (!IS(c, C_FVAL))
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid trailer value");
            break;
        case CK_TRAILER_LF:
            if (c != '\n')
                return ck_fail(st, consumed, i, reason, SGW_EPROTO, "bare CR in trailer");
            st->state = CK_TRAILER_START;
            break;
        case CK_FINAL_LF:
            if (c != '\n')
                return ck_fail(st, consumed, i, reason, SGW_EPROTO,
                               "bare CR after last chunk");
            st->state = CK_DONE;
            st->done = 1;
            *consumed = i;
            return SGW_OK;
        case CK_DONE:
        case CK_ERROR:
        case CK__COUNT:
            return ck_fail(st, consumed, i, reason, SGW_EPROTO, "invalid chunked decoder state");
        }
    }
    *consumed = i;
    return SGW_AGAIN;
}
