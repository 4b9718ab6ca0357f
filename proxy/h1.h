/* proxy/h1.h — strict, sans-I/O HTTP/1.1 message parsing (RFC 9112).
 * Bytes in, a parsed head or a precise reason out; no allocation, no I/O.
 * Reject, don't repair: anything ambiguous is an error. */
#ifndef SGW_PROXY_H1_H
#define SGW_PROXY_H1_H

#include <stddef.h>
#include <stdint.h>

#include "common/sgw.h"

#define PX_H1_MAX_HEADERS 128

struct px_h1_limits {
    size_t max_request_line;  /* bytes of the request/status line incl. CRLF (default 8192) */
    size_t max_head;          /* bytes of the whole head incl. final CRLF (default 65536) */
    size_t max_headers;       /* header field count, <= PX_H1_MAX_HEADERS (default 100) */
};

void px_h1_limits_default(struct px_h1_limits *l);

struct px_h1_header {
    struct sgw_slice name;   /* as received (case preserved), borrowed from the input */
    struct sgw_slice value;  /* leading/trailing OWS stripped */
};

enum px_h1_body {
    PX_H1_BODY_NONE,      /* no body (no CL/TE, or a response that cannot have one) */
    PX_H1_BODY_LENGTH,    /* Content-Length bytes follow */
    PX_H1_BODY_CHUNKED,   /* Transfer-Encoding: chunked (the final coding) */
    PX_H1_BODY_EOF,       /* responses only: body runs until the connection closes */
    PX_H1_BODY__COUNT
};

enum px_h1_target_form {
    PX_H1_TARGET_ORIGIN,    /* /path?q */
    PX_H1_TARGET_ABSOLUTE,  /* http://host:port/path?q */
    PX_H1_TARGET_AUTHORITY, /* host:port (CONNECT only) */
    PX_H1_TARGET_ASTERISK,  /* * (OPTIONS only) */
    PX_H1_TARGET__COUNT
};

/* One parsed head. Every slice borrows from the buffer given to the parser and
 * is valid as long as that buffer is. */
struct px_h1_message {
    /* request line (requests) */
    struct sgw_slice method;
    struct sgw_slice target;         /* raw request-target */
    enum px_h1_target_form form;
    struct sgw_slice scheme;         /* "http"/"https" for absolute-form, else empty */
    struct sgw_slice host;           /* from the target (absolute/authority form) or the
                                        Host header; IPv6 literal without brackets */
    uint16_t port;                   /* explicit port, or 80/443 from the scheme, 0 unknown */
    struct sgw_slice path;           /* origin-form path+query ("/" when absent) */
    /* status line (responses) */
    int status;
    struct sgw_slice reason;
    /* both */
    int version_minor;               /* HTTP/1.x */
    struct px_h1_header headers[PX_H1_MAX_HEADERS];
    size_t n_headers;
    enum px_h1_body body;
    uint64_t content_length;         /* when body == PX_H1_BODY_LENGTH */
    int keep_alive;                  /* connection persists after this message */
    int expect_continue;             /* Expect: 100-continue */
    int upgrade;                     /* Upgrade header present (we do not support it) */
};

/* uri-host [ ":" port ] as in an absolute-form target (no userinfo; reg-name,
 * IPv4 or bracketed IPv6, returned without brackets); *port is 0 when absent.
 * SGW_OK or SGW_EPROTO with *reason. Used for HTTP/2 :authority. */
int px_h1_parse_authority(const char *p, size_t n, struct sgw_slice *host, uint16_t *port,
                          const char **reason);
/* An origin-form path ("/" path-abempty [ "?" query ], no fragment, valid
 * percent-encoding). SGW_OK or SGW_EPROTO with *reason. Used for :path. */
int px_h1_check_path(const char *p, size_t n, const char **reason);

/* Parses a request head from buf[0..len). Returns:
 *  SGW_OK     head complete; *head_len = bytes consumed by the head.
 *  SGW_AGAIN  need more bytes (and the bytes so far are within the limits).
 *  SGW_EPROTO malformed or ambiguous; *reason = static text for a 400 body.
 *  SGW_ELIMIT a limit was exceeded; *reason says which (431 / 414).
 * Rejects: CL together with TE, differing duplicate CL, TE other than a final
 * "chunked", obs-fold, bare CR or LF, NUL/controls in fields, invalid tokens,
 * whitespace before the colon, missing/duplicate Host on HTTP/1.1, Host that
 * disagrees with an absolute-form target, HTTP versions other than 1.0/1.1. */
int px_h1_parse_request(const char *buf, size_t len, const struct px_h1_limits *lim,
                        struct px_h1_message *out, size_t *head_len, const char **reason);

/* Parses a response head. req_method is the request's method (HEAD and a 2xx
 * to CONNECT have no body); 1xx, 204 and 304 have no body either. Same return
 * contract as px_h1_parse_request. */
int px_h1_parse_response(const char *buf, size_t len, const struct px_h1_limits *lim,
                         struct sgw_slice req_method, struct px_h1_message *out,
                         size_t *head_len, const char **reason);

/* Finds a header by name (case-insensitive); NULL when absent. */
const struct px_h1_header *px_h1_header_find(const struct px_h1_message *m, const char *name);

/* Incremental chunked transfer-coding decoder. Zero-initialise to start. */
struct px_h1_chunked {
    int state;          /* private */
    uint64_t remaining; /* bytes left in the current chunk */
    size_t line_len;    /* private: bytes of the current size/trailer line */
    int done;           /* 1 once the last chunk and trailers were consumed */
};

/* Decodes from in[0..len). On SGW_OK sets *consumed (input bytes used) and, when
 * data is available, *data and *data_len to a run of body bytes borrowed from in
 * (call again with the rest). Returns SGW_AGAIN when all input is used without
 * producing data, SGW_EPROTO with *reason on an invalid chunk size, extension,
 * line ending or trailer, SGW_ELIMIT when a size line or trailers exceed 4096
 * bytes or a chunk size exceeds 2^62. */
int px_h1_chunked_feed(struct px_h1_chunked *st, const char *in, size_t len, size_t *consumed,
                       const char **data, size_t *data_len, const char **reason);

#endif
