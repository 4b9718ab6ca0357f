/* common/sgw.h — the few things every sovgw module shares: return codes,
 * byte slices, a bounds-checked read cursor and leveled logging.
 * Depends on nothing but libc; stays small. */
#ifndef SGW_COMMON_H
#define SGW_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One return-code enum for the whole project: 0 success, SGW_AGAIN "need more
 * input or space", negative values are errors. Third-party codes are converted
 * at the wrapper and never leak further. */
enum sgw_rc {
    SGW_OK = 0,
    SGW_AGAIN = 1,
    SGW_ERR = -1,      /* generic failure, reason given elsewhere */
    SGW_ENOMEM = -2,   /* allocation failed */
    SGW_EPROTO = -3,   /* malformed input (protocol / syntax) */
    SGW_ELIMIT = -4,   /* a configured bound was exceeded */
    SGW_EIO = -5,      /* I/O or OS error, errno-derived */
    SGW_ENOTFOUND = -6,/* lookup found nothing */
    SGW_EINVAL = -7,   /* invalid argument or configuration */
};

const char *sgw_rc_str(int rc);

/* A borrowed run of bytes; never NUL-terminated by contract. */
struct sgw_slice {
    const char *ptr;
    size_t len;
};

static inline struct sgw_slice sgw_slice_make(const char *p, size_t n)
{
    struct sgw_slice s = {p, n};
    return s;
}

static inline int sgw_slice_eq_lit(struct sgw_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* Case-insensitive ASCII comparison of a slice with a literal. */
int sgw_slice_eq_nocase(struct sgw_slice s, const char *lit);

/* Strict unsigned decimal parse: digits only, no sign, no spaces, overflow
 * checked against max. Returns SGW_OK or SGW_EPROTO / SGW_ELIMIT. */
int sgw_parse_u64(const char *p, size_t n, uint64_t max, uint64_t *out);

/* Value of one hex digit (either case), -1 when c is none. */
int sgw_hex_val(int c);
/* Decodes exactly 2*n hex digits from s into out[n]; 0 ok, -1 when s is not
 * 2*n hex digits (slen must equal 2*n). */
int sgw_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n);

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0
 * when it is invalid: overlong forms, surrogates and values above U+10FFFF
 * are invalid (a lenient peer could read them differently). */
size_t sgw_utf8_valid_len(const uint8_t *s, size_t n);
/* Encodes code point cp (<= U+10FFFF) as UTF-8 into o; returns 1..4. */
size_t sgw_utf8_encode(uint8_t o[4], uint32_t cp);

/* Bounds-checked cursor for binary formats. A read past the end sets err and
 * returns zeros; callers check err once at the end of a record. */
struct sgw_cursor {
    const uint8_t *p;
    size_t len;
    size_t off;
    int err;
};

static inline void sgw_cursor_init(struct sgw_cursor *c, const void *p, size_t len)
{
    c->p = (const uint8_t *)p;
    c->len = len;
    c->off = 0;
    c->err = 0;
}

static inline size_t sgw_cursor_left(const struct sgw_cursor *c)
{
    return c->len - c->off;
}

static inline uint8_t sgw_cursor_u8(struct sgw_cursor *c)
{
    if (c->err || c->off + 1 > c->len) {
        c->err = 1;
        return 0;
    }
    return c->p[c->off++];
}

static inline uint16_t sgw_cursor_be16(struct sgw_cursor *c)
{
    uint16_t hi = sgw_cursor_u8(c);
    return (uint16_t)((hi << 8) | sgw_cursor_u8(c));
}

static inline uint32_t sgw_cursor_be32(struct sgw_cursor *c)
{
    uint32_t hi = sgw_cursor_be16(c);
    return (hi << 16) | sgw_cursor_be16(c);
}

/* Borrow n bytes; NULL (and err set) when fewer remain. */
static inline const uint8_t *sgw_cursor_take(struct sgw_cursor *c, size_t n)
{
    if (c->err || n > c->len - c->off) {
        c->err = 1;
        return NULL;
    }
    const uint8_t *r = c->p + c->off;
    c->off += n;
    return r;
}

/* Logging to stderr, one line per call, with level and module tag. Never pass
 * a sensitive value (body bytes, matched text): type, offset, length only. */
enum sgw_log_level {
    SGW_LOG_ERROR,
    SGW_LOG_WARN,
    SGW_LOG_INFO,
    SGW_LOG_DEBUG,
    SGW_LOG__COUNT
};

void sgw_log_set_level(enum sgw_log_level lvl);
enum sgw_log_level sgw_log_get_level(void);
void sgw_log(enum sgw_log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SGW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Checked even in release builds: a breach would leak data, so abort. */
#define SGW_INVARIANT(cond)                                                       \
    do {                                                                          \
        if (!(cond))                                                              \
            sgw_invariant_failed(#cond, __FILE__, __LINE__);                      \
    } while (0)
_Noreturn void sgw_invariant_failed(const char *what, const char *file, int line);

#endif
