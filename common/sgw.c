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
