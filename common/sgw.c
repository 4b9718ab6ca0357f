/* common/sgw.c — return-code names, slice helpers, strict decimals, logging. */
#include "common/sgw.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char *sgw_rc_str(int rc)
{
    switch (rc) {
    case SGW_OK: return "ok";
    case SGW_AGAIN: return "again";
    case SGW_ERR: return "error";
    case SGW_ENOMEM: return "out of memory";
    case SGW_EPROTO: return "malformed input";
    case SGW_ELIMIT: return "limit exceeded";
    case SGW_EIO: return "I/O error";
    case SGW_ENOTFOUND: return "not found";
    case SGW_EINVAL: return "invalid argument";
    default: return "unknown";
    }
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

int sgw_slice_eq_nocase(struct sgw_slice s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.ptr[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

int sgw_parse_u64(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return SGW_EPROTO;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return SGW_EPROTO;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (max - d) / 10)
            return SGW_ELIMIT;
        v = v * 10 + d;
    }
    *out = v;
    return SGW_OK;
}

int sgw_hex_val(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sgw_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = sgw_hex_val((unsigned char)s[2 * i]);
        int lo = sgw_hex_val((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

size_t sgw_utf8_valid_len(const uint8_t *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

size_t sgw_utf8_encode(uint8_t o[4], uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static enum sgw_log_level g_level = SGW_LOG_INFO;
static const char *const level_names[SGW_LOG__COUNT] = {"error", "warn", "info", "debug"};

void sgw_log_set_level(enum sgw_log_level lvl)
{
    g_level = lvl;
}

enum sgw_log_level sgw_log_get_level(void)
{
    return g_level;
}

void sgw_log(enum sgw_log_level lvl, const char *mod, const char *fmt, ...)
{
    if (lvl > g_level)
        return;
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl], mod);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

void sgw_invariant_failed(const char *what, const char *file, int line)
{
    fprintf(stderr, "sovgw: invariant failed: %s (%s:%d)\n", what, file, line);
    abort();
}
