/* proxy/declog.c — the decision log: one JSON object per line.
 *
 * Each record is formatted into a bounded stack buffer and written with a
 * single write(2) on an O_APPEND descriptor, so lines from concurrent workers
 * never interleave. Every string is JSON-escaped (control bytes as \u00XX,
 * invalid UTF-8 as \ufffd) and capped; the path, the only field a client can
 * make arbitrarily long, comes last and takes what is left of the line budget,
 * cut with a visible marker. When the log is a pipe (stdout into a collector)
 * lines are capped at PIPE_BUF, the largest write a pipe keeps atomic.
 * Rotation (SIGHUP) opens the path again and dup3()s it over the same
 * descriptor number, so writers never see a closed or reused descriptor.
 *
 * A worker thread (px_declog_thread_begin) collects its lines during one pass
 * of its event loop and writes them with one write(2) at the end of that
 * pass, before the loop waits again: under load one write carries many
 * requests' lines instead of one each (a write per request was ~4 % of the
 * gateway's CPU). A line is never held past the pass that produced it, a
 * batch is whole lines, at most PX_DECLOG_BATCH bytes (PIPE_BUF for a pipe,
 * so it stays one atomic write), and the thread flushes what it holds when it
 * ends. Other threads write each line at once. */
#include "proxy/declog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/sgw.h"
#include "proxy/metrics.h"

#define TRUNC_MARK "...[truncated]"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* open/reopen/close */
static _Atomic int g_fd = -1;
static char *g_path;              /* owned; NULL for stdout */
static _Atomic uint64_t g_failed; /* records that could not be written */
/* Longest line we write: PX_DECLOG_MAX_LINE, or PIPE_BUF when the log is a
 * pipe or socket, where only writes up to PIPE_BUF are atomic. */
static _Atomic size_t g_max_line = PX_DECLOG_MAX_LINE;

struct jw {
    char *p;
    size_t len, cap; /* cap excludes the room kept for "\n" */
    int overflow;
};

static inline __attribute__((always_inline)) void put(struct jw *w, const char *s, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

/* A string literal, its length known at compile time. */
#define PUT_LIT(w, lit) put((w), (lit), sizeof(lit) - 1)

/* Decimal digits of v, without printf: the log is written once per request. */
static void put_u64(struct jw *w, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(w, tmp + i, sizeof tmp - i);
}

/* Zero-padded decimal of exactly `width` digits (v < 10^width). */
static void put_u_pad(struct jw *w, unsigned v, size_t width)
{
    char tmp[10];
    for (size_t i = width; i-- > 0;) {
        tmp[i] = (char)('0' + v % 10);
        v /= 10;
    }
    put(w, tmp, width);
}

/* Milliseconds with three decimals ("12.345"), as "%.3f" printed them. */
static void put_ms(struct jw *w, double v)
{
    if (v < 0) {
        put(w, "-", 1);
        v = -v;
    }
    uint64_t us = (uint64_t)(v * 1000.0 + 0.5);
    put_u64(w, us / 1000);
    put(w, ".", 1);
    put_u_pad(w, (unsigned)(us % 1000), 3);
}

/* RFC 3339 UTC time with milliseconds. The date part is cached per thread
 * for the current second: gmtime_r once a second, not once a record. */
static void put_time(struct jw *w)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[20]; /* "YYYY-MM-DDTHH:MM:SS" */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        struct jw d = {cached, 0, sizeof cached, 0};
        put_u_pad(&d, (unsigned)(tm.tm_year + 1900) % 10000u, 4);
        put(&d, "-", 1);
        put_u_pad(&d, (unsigned)tm.tm_mon + 1, 2);
        put(&d, "-", 1);
        put_u_pad(&d, (unsigned)tm.tm_mday, 2);
        put(&d, "T", 1);
        put_u_pad(&d, (unsigned)tm.tm_hour, 2);
        put(&d, ":", 1);
        put_u_pad(&d, (unsigned)tm.tm_min, 2);
        put(&d, ":", 1);
        put_u_pad(&d, (unsigned)tm.tm_sec, 2);
        cached_sec = ts.tv_sec;
    }
    put(w, cached, 19);
    put(w, ".", 1);
    put_u_pad(w, (unsigned)(ts.tv_nsec / 1000000), 3);
    put(w, "Z", 1);
}


/* Escapes the character at s[i] (n bytes total): sets *out and *olen to its JSON
 * form (esc is scratch space) and returns how many input bytes it covers. */
static size_t esc_unit(const char *s, size_t n, size_t i, char esc[8], const char **out,
                       size_t *olen)
{
    unsigned char c = (unsigned char)s[i];
    *out = esc;
    *olen = 2;
    if (c == '"' || c == '\\') {
        esc[0] = '\\';
        esc[1] = (char)c;
    } else if (c == '\n') {
        *out = "\\n";
    } else if (c == '\r') {
        *out = "\\r";
    } else if (c == '\t') {
        *out = "\\t";
    } else if (c < 0x20 || c == 0x7f) {
        static const char hex[] = "0123456789abcdef";
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        *olen = 6;
    } else {
        size_t adv = sgw_utf8_valid_len((const uint8_t *)s + i, n - i);
        if (adv == 0) {
            *out = "\\ufffd";
            *olen = 6;
            return 1;
        }
        *out = s + i;
        *olen = adv;
        return adv;
    }
    return 1;
}

/* 1 for the bytes a JSON string carries as they are: printable ASCII except
 * '"' and '\\'. NUL is 0, so the scan below also finds the end of the value. */
static const uint8_t json_plain[256] = {
    /* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x20 */ 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x40 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    /* 0x60 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};

/* s[0..n) escaped into at most budget bytes: a longer value is cut on a
 * character boundary and ends with TRUNC_MARK. The closing quote follows. */
static void put_escaped(struct jw *w, const char *s, size_t n, size_t budget)
{
    size_t total = 0, mark = sizeof TRUNC_MARK - 1;
    char esc[8];
    const char *out;
    size_t olen;
    for (size_t i = 0; i < n && total <= budget;) {
        i += esc_unit(s, n, i, esc, &out, &olen);
        total += olen;
    }
    /* Only when the whole value does not fit, keep room for the marker. */
    size_t limit = total <= budget ? budget : (budget > mark ? budget - mark : 0);
    size_t used = 0;
    for (size_t i = 0; i < n;) {
        size_t adv = esc_unit(s, n, i, esc, &out, &olen);
        if (used + olen > limit)
            break;
        put(w, out, olen);
        used += olen;
        i += adv;
    }
    if (total > budget)
        put(w, TRUNC_MARK, mark);
    put(w, "\"", 1);
}

/* Writes lead (e.g. ",\"host\":", lead_len bytes) then "escaped" (or null).
 * The escaped content takes at most budget bytes (see put_escaped). Inlined
 * at each field: the lead's copy then has a constant size. */
static inline __attribute__((always_inline)) void put_str(struct jw *w, const char *lead,
                                                         size_t lead_len, const char *s,
                                                         size_t budget)
{
    put(w, lead, lead_len);
    if (s == NULL) {
        put(w, "null", 4);
        return;
    }
    put(w, "\"", 1);
    /* Fast path, one pass: plain bytes up to the terminating NUL go in as is. */
    const uint8_t *u = (const uint8_t *)s;
    size_t plain = 0;
    while (json_plain[u[plain]])
        plain++;
    size_t n = u[plain] ? plain + strlen(s + plain) : plain;
    if (plain == n && n <= budget) {
        put(w, s, n);
        put(w, "\"", 1);
        return;
    }
    put_escaped(w, s, n, budget);
}

static double clamp_ms(double v)
{
    if (!(v == v) || isinf(v)) /* NaN/Inf are not JSON */
        return v > 0 ? 1e12 : 0;
    if (v > 1e12)
        return 1e12;
    if (v < -1e12)
        return -1e12;
    return v;
}

#define PUT_FIELD(w, lead, s, budget) put_str((w), (lead), sizeof(lead) - 1, (s), (budget))

size_t px_declog_format(const struct px_declog_rec *r, char *buf, size_t cap)
{
    if (cap < 2)
        return 0;
    struct jw w = {buf, 0, cap - 1 > PX_DECLOG_MAX_LINE - 1 ? PX_DECLOG_MAX_LINE - 1 : cap - 1, 0};
    PUT_LIT(&w, "{\"time\":\"");
    put_time(&w);
    PUT_FIELD(&w, "\",\"client\":", r->client, 128);
    PUT_FIELD(&w, ",\"method\":", r->method, 64);
    PUT_FIELD(&w, ",\"host\":", r->host, 1100);
    PUT_LIT(&w, ",\"port\":");
    put_u64(&w, r->port);
    PUT_FIELD(&w, ",\"proto\":", r->proto, 32);
    PUT_FIELD(&w, ",\"rule\":", r->rule_id, 512);
    PUT_FIELD(&w, ",\"verdict\":", r->verdict, 32);
    PUT_FIELD(&w, ",\"reason\":", r->reason, 1024);
    PUT_LIT(&w, ",\"status\":");
    if (r->status < 0) {
        put(&w, "-", 1);
        put_u64(&w, (uint64_t)(-(int64_t)r->status));
    } else {
        put_u64(&w, (uint64_t)r->status);
    }
    PUT_LIT(&w, ",\"bytes_in\":");
    put_u64(&w, r->bytes_in);
    PUT_LIT(&w, ",\"bytes_out\":");
    put_u64(&w, r->bytes_out);
    PUT_LIT(&w, ",\"decision_ms\":");
    put_ms(&w, clamp_ms(r->decision_ms));
    PUT_LIT(&w, ",\"upstream_ms\":");
    put_ms(&w, clamp_ms(r->upstream_ms));
    PUT_LIT(&w, ",\"total_ms\":");
    put_ms(&w, clamp_ms(r->total_ms));
    PUT_LIT(&w, ",\"policy_version\":");
    put_u64(&w, r->policy_version);
    /* The path takes what is left: ,"path":"…"} */
    size_t tail = sizeof ",\"path\":\"\"}" - 1;
    size_t budget = w.len + tail < w.cap ? w.cap - w.len - tail : 0;
    PUT_FIELD(&w, ",\"path\":", r->path, budget);
    put(&w, "}", 1);
    if (w.overflow)
        return 0;
    buf[w.len++] = '\n';
    return w.len;
}

static void lost(size_t lines, const char *why)
{
    for (size_t i = 0; i < lines; i++) {
        uint64_t k = atomic_fetch_add(&g_failed, 1);
        px_metrics_declog_lost();
        if ((k & (k + 1)) == 0) /* 1st, 2nd, 4th, 8th … failure: do not flood stderr */
            sgw_log(SGW_LOG_ERROR, "declog", "decision log write failed (%s); %llu lost so far",
                    why, (unsigned long long)k + 1);
    }
}

/* Writes whole lines [p, p+n) in one write(2); a short write (a full disk)
 * loses what it did not write, counted in lines. */
static void write_lines(const char *p, size_t n, size_t lines)
{
    int fd = atomic_load(&g_fd);
    if (fd < 0) {
        lost(lines, "log closed");
        return;
    }
    ssize_t wr;
    do
        wr = write(fd, p, n); /* one write per batch: never interleaved */
    while (wr < 0 && errno == EINTR);
    if (wr == (ssize_t)n)
        return;
    if (wr < 0) {
        lost(lines, strerror(errno));
        return;
    }
    size_t done = 0; /* lines the short write completed */
    for (size_t i = 0; i < (size_t)wr; i++)
        done += p[i] == '\n';
    lost(lines - done, "short write");
}

struct batch {
    struct event *ev; /* made active when the first line arrives: runs at the end of the pass */
    size_t len, lines;
    char buf[PX_DECLOG_BATCH];
};
static _Thread_local struct batch *tl_batch;

static void batch_flush(struct batch *b)
{
    if (b->len > 0)
        write_lines(b->buf, b->len, b->lines);
    b->len = b->lines = 0;
}

static void batch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    batch_flush(arg);
}

int px_declog_thread_begin(struct event_base *base)
{
    if (tl_batch != NULL || base == NULL)
        return -1;
    struct batch *b = malloc(sizeof *b);
    if (b == NULL)
        return -1;
    b->len = b->lines = 0;
    b->ev = event_new(base, -1, 0, batch_cb, b);
    if (b->ev == NULL) {
        free(b);
        return -1;
    }
    tl_batch = b;
    return 0;
}

void px_declog_thread_end(void)
{
    struct batch *b = tl_batch;
    if (b == NULL)
        return;
    tl_batch = NULL;
    batch_flush(b);
    event_free(b->ev);
    free(b);
}

void px_declog_write(const struct px_declog_rec *r)
{
    char line[PX_DECLOG_MAX_LINE];
    if (atomic_load(&g_fd) < 0 || r == NULL)
        return;
    size_t cap = atomic_load(&g_max_line);
    size_t n = px_declog_format(r, line, cap < sizeof line ? cap : sizeof line);
    if (n == 0) {
        lost(1, strerror(EOVERFLOW));
        return;
    }
    struct batch *b = tl_batch;
    if (b == NULL) {
        write_lines(line, n, 1);
        return;
    }
    /* a pipe keeps only writes up to PIPE_BUF whole */
    size_t bcap = cap < PX_DECLOG_MAX_LINE ? cap : sizeof b->buf;
    if (b->len + n > bcap)
        batch_flush(b);
    if (b->len == 0)
        event_active(b->ev, EV_TIMEOUT, 0);
    memcpy(b->buf + b->len, line, n);
    b->len += n;
    b->lines++;
}

static int open_path(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0 && err != NULL)
        snprintf(err, errlen, "cannot open decision log %s: %s", path, strerror(errno));
    return fd;
}

int px_declog_open(const char *path, char *err, size_t errlen)
{
    if (path == NULL || path[0] == '\0') {
        if (err)
            snprintf(err, errlen, "decision log path is empty");
        return -1;
    }
    int rc = -1;
    pthread_mutex_lock(&g_lock);
    int fd = STDOUT_FILENO;
    char *copy = NULL;
    if (strcmp(path, "-") != 0) {
        copy = strdup(path);
        if (copy == NULL) {
            if (err)
                snprintf(err, errlen, "out of memory");
            goto out;
        }
        fd = open_path(path, err, errlen);
        if (fd < 0) {
            free(copy);
            goto out;
        }
    }
    int old = atomic_exchange(&g_fd, fd);
    if (old >= 0 && old != STDOUT_FILENO)
        close(old);
    free(g_path);
    g_path = copy;
    atomic_store(&g_failed, 0);
    struct stat st;
    int stream = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    atomic_store(&g_max_line, stream && PIPE_BUF < PX_DECLOG_MAX_LINE ? (size_t)PIPE_BUF
                                                                      : (size_t)PX_DECLOG_MAX_LINE);
    rc = 0;
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int px_declog_reopen(void)
{
    int rc = 0;
    pthread_mutex_lock(&g_lock);
    int fd = atomic_load(&g_fd);
    if (fd >= 0 && g_path != NULL) {
        char err[256];
        int nfd = open_path(g_path, err, sizeof err);
        if (nfd < 0) {
            sgw_log(SGW_LOG_ERROR, "declog", "%s; still writing to the old file", err);
            rc = -1;
        } else {
            /* dup3 swaps the file under the same descriptor number atomically. */
            if (dup3(nfd, fd, O_CLOEXEC) < 0) {
                sgw_log(SGW_LOG_ERROR, "declog", "reopen failed: %s", strerror(errno));
                rc = -1;
            }
            close(nfd);
        }
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void px_declog_close(void)
{
    pthread_mutex_lock(&g_lock);
    int fd = atomic_exchange(&g_fd, -1);
    if (fd >= 0 && fd != STDOUT_FILENO)
        close(fd);
    free(g_path);
    g_path = NULL;
    pthread_mutex_unlock(&g_lock);
}
