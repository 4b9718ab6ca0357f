/* proxy/declog.h — decision log: one JSON line per decision, thread-safe
 * (one write(2) per line on an O_APPEND descriptor, lines <= PX_DECLOG_MAX_LINE). */
#ifndef PX_DECLOG_H
#define PX_DECLOG_H

#include <stddef.h>
#include <stdint.h>

#define PX_DECLOG_MAX_LINE 8192
/* Most bytes of lines a worker thread holds before writing them (see
 * px_declog_thread_begin). */
#define PX_DECLOG_BATCH (64 * 1024)

struct event_base;

struct px_declog_rec {
    const char *client; /* "127.0.0.1:54321" */
    const char *method, *host;
    uint16_t port;
    const char *path;  /* path may be NULL */
    const char *proto; /* "http/1.1", "connect", "h2" */
    const char *rule_id, *verdict, *reason;
    int status; /* HTTP status sent to the client (0 for tunnels) */
    uint64_t bytes_in, bytes_out;
    double decision_ms, upstream_ms, total_ms;
    uint64_t policy_version;
};

/* Opens the log (path "-" = stdout); 0 ok, -1 with a message in err. */
int px_declog_open(const char *path /* "-" = stdout */, char *err, size_t errlen);
void px_declog_write(
    const struct px_declog_rec *r); /* adds "time" (RFC 3339 UTC, ms); JSON-escapes all strings */
/* From now on, lines this thread writes are held until the end of the
 * current pass of base's event loop (the thread's own loop) and written
 * together, at most PX_DECLOG_BATCH bytes at a time. 0 ok, -1 (out of memory,
 * or already on): lines are then written one by one. */
int px_declog_thread_begin(struct event_base *base);
/* Writes what this thread holds and stops batching; call before base is freed. */
void px_declog_thread_end(void);
int px_declog_reopen(void);         /* SIGHUP: reopen the file (log rotation); 0 ok, -1 error */
void px_declog_close(void);

/* Formats one record (with trailing '\n') into buf; returns the length (< cap) or 0 if cap is too
 * small (cap >= PX_DECLOG_MAX_LINE always suffices). Used by px_declog_write; exposed for tests. */
size_t px_declog_format(const struct px_declog_rec *r, char *buf, size_t cap);

#endif
