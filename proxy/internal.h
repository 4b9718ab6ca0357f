/* proxy/internal.h — private structures of the proxy core (never leaves proxy/).
 *
 * Threading: one px_worker per thread, each with its own event_base, listeners,
 * rl_reader, evdns_base and upstream pool (shared-nothing). Everything hanging
 * off a worker (connections, requests, upstream connections, tunnels) is only
 * touched by that worker's thread. The px_runtime is shared and read-only after
 * start, except for the atomics.
 *
 * Lifetimes: a px_conn, px_upconn or px_pipe is never freed inside its own
 * callback chain. Closing marks it dead and activates its "kick" event; the
 * kick callback (run from the loop, outside any other callback) frees it. Every
 * callback checks the dead flag first. */
#ifndef SGW_PROXY_INTERNAL_H
#define SGW_PROXY_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h> /* struct event inside px_req (no allocation per stream) */
#include <event2/listener.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "common/sgw.h"
#include "proxy/config.h"
#include "proxy/h1.h"
#include "proxy/deadline.h"
#include "proxy/rx.h"
#include "proxy/tx.h"
#include "rules/rules.h"

#define PX_MOD "proxy"
#define PX_MAX_ADDRS 8
#define PX_HIGH_WM (512u * 1024u)   /* client output above this: stop reading upstream */
#define PX_LOW_WM (128u * 1024u)    /* ... and resume below this */
#define PX_TUNNEL_WM (256u * 1024u) /* tunnel: peer output above this stops the other side */
#define PX_POOL_MAX_IDLE 1024       /* idle upstream connections kept per worker */
#define PX_HOLD_MAX (1024u * 1024u) /* request body held before connecting upstream */
#define PX_HOLD_GLOBAL (256u * 1024u * 1024u) /* all held bodies of the process */
#define PX_LINGER_MS 1000           /* lingering close: wait this long for the client's EOF */
#define PX_LINGER_MAX (256u * 1024u) /* ... and discard at most this much input */
#define PX_REFUSE_MAX 256           /* 503-refused connections lingering per worker */
#define PX_H2_MAX_WAITERS 64        /* requests waiting on one connecting TLS upstream */

struct px_worker;
struct px_conn;
struct px_upconn;
struct px_pipe;
struct px_dns_req;
struct px_h2d;

/* Process-wide state, built by px_cli_run before the workers start. */
struct px_runtime {
    struct px_config *cfg;        /* borrowed from px_cli_run, read-only */
    struct rl_engine *eng;        /* owned by px_cli_run */
    SSL_CTX *up_ssl;              /* upstream TLS client context (thread-safe use) */
    struct px_h1_limits lim;
    const char *store_dir;        /* borrowed */
    atomic_int n_conns;           /* open downstream connections, all workers */
    atomic_int stopping;          /* SIGTERM/SIGINT seen */
    atomic_int ready;             /* workers running, policy loaded */
    _Atomic uint64_t policy_version; /* highest store version a decision has seen */
    _Atomic uint64_t held_bytes;  /* request body bytes in hold buffers, all workers */
    struct px_worker *workers;    /* owned array */
    int n_workers;
};

/* Empty evbuffers a worker keeps for HTTP/2 streams (two per stream). */
#define PX_EVB_CACHE 256

struct px_worker {
    struct px_runtime *rt;        /* borrowed */
    int id;
    pthread_t thread;
    int started;
    struct event_base *base;      /* owned */
    struct px_txq txq;            /* px_tx writes queued in this loop pass */
    struct evdns_base *dns;       /* owned, may be NULL (no resolver available) */
    struct rl_reader *rd;         /* owned */
    struct evconnlistener *ls[PX_MAX_LISTEN];  /* owned */
    size_t n_ls;
    struct event *relisten_ev;    /* re-enables listeners after EMFILE */
    int notify_fd[2];             /* main -> worker: 'D' drain */
    struct event *notify_ev;
    struct event *drain_ev;       /* drain deadline */
    int draining;
    struct px_conn *conns;        /* list of live downstream connections */
    int n_conns;
    struct px_upconn *ups;        /* live upstream connections that may take a request */
    struct px_upconn *ups_busy;   /* live HTTP/1.1 and tunnel ones serving one (upstream.c) */
    int n_refusing;               /* 503-refused connections still lingering */
    int n_idle;
    struct px_req *req_cache;     /* finished request structs kept for reuse (h2_next list) */
    int n_req_cache;
    struct evbuffer *evb_cache[PX_EVB_CACHE]; /* empty buffers for HTTP/2 streams */
    int n_evb_cache;
    int n_reqs;                   /* request structs held by connections */
    int req_peak;                 /* highest n_reqs since the last heap trim */
    double last_trim_ms;
    struct event *trim_ev;        /* deferred heap trim after a burst (owned, lazily made) */
};

enum px_req_state {
    PX_RS_HEAD,        /* waiting for / parsing the request head */
    PX_RS_DECIDE,      /* head parsed, policy phase 1 */
    PX_RS_RESOLVE,     /* asynchronous DNS in progress */
    PX_RS_BODY,        /* allowed; request body held (bounded) before any upstream byte */
    PX_RS_CONNECT_UP,  /* upstream connection being set up */
    PX_RS_FORWARD,     /* request head sent, body streaming upstream */
    PX_RS_RESPONSE,    /* request fully sent, response streaming back */
    PX_RS_TUNNEL,      /* CONNECT established, bytes spliced */
    PX_RS_DONE,        /* response complete (or error sent) */
    PX_RS__COUNT
};

const char *px_req_state_str(enum px_req_state s);

/* The parsed request head kept for the life of a request: the fields of
 * struct px_h1_message, but the header table points into the request's own
 * allocation (sized to the fields actually present) instead of a fixed
 * PX_H1_MAX_HEADERS array. Slices borrow from px_req.head. */
struct px_req_msg {
    struct sgw_slice method, target, scheme, host, path, reason;
    enum px_h1_target_form form;
    uint16_t port;
    int status;
    int version_minor;
    const struct px_h1_header *headers;
    size_t n_headers;
    enum px_h1_body body;
    uint64_t content_length;
    int keep_alive;
    int expect_continue;
    int upgrade;
};

/* One request on a downstream connection (one at a time: pipelined requests
 * wait in the input buffer until the previous response is complete). */
struct px_req {
    struct px_conn *conn;         /* borrowed back-pointer */
    enum px_req_state state;
    char *head;                   /* owned: the request head bytes, then msg's header table */
    size_t head_len;
    struct px_req_msg msg;        /* slices borrow from head */
    char host[256];               /* lowercased target host, NUL-terminated */
    uint16_t port;                /* target port from the request */
    int tls;                      /* upstream over TLS (https:// absolute-form) */
    int is_connect;
    char method[32];
    struct rl_decision dec;
    int decided;                  /* dec is filled */
    /* resolution */
    struct px_dns_req *dns;       /* owned while in flight */
    struct sockaddr_storage addrs[PX_MAX_ADDRS];  /* allowed candidate addresses */
    socklen_t addrlens[PX_MAX_ADDRS];
    size_t n_addrs, addr_idx;
    int pinned;
    /* upstream */
    struct px_upconn *up;         /* borrowed; the upstream serving this request */
    int32_t stream_id;            /* h2 stream, 0 when none */
    int up_reused;                /* upstream connection was reused from the pool */
    int retried;
    int last_timeout;             /* last connect failure was a timeout */
    /* request body toward the upstream */
    uint64_t body_left;           /* PX_H1_BODY_LENGTH: bytes still to read */
    struct px_h1_chunked chunk;   /* PX_H1_BODY_CHUNKED decoder */
    int body_done;                /* whole request body read from the client */
    uint64_t body_read;           /* decoded body bytes read from the client */
    uint64_t body_sent;           /* body bytes handed to the upstream */
    struct evbuffer *h2_body;     /* h2: decoded body waiting for the data provider */
    struct evbuffer *hold;        /* decoded body held before connecting (owned) */
    uint64_t held;                /* bytes of hold counted in rt->held_bytes */
    int send_cl;                  /* whole body held: send it with Content-Length */
    int sent_continue;            /* 100 Continue already written */
    int up_waiting;               /* queued on a connecting upstream (u->waiters) */
    /* response toward the client */
    int resp_started;             /* response head written to the client */
    int resp_any;                 /* any response byte received from upstream */
    int resp_status;
    int resp_chunked;             /* client framing: chunked */
    int resp_eof;                 /* client framing: close-delimited */
    int resp_close;               /* close the client connection after this response */
    int resp_nobody;
    uint64_t h2_unconsumed;       /* h2 DATA bytes not yet given back to flow control */
    struct px_req *h2_prev, *h2_next; /* streams of r->up (h2 only) */
    struct evbuffer *h2_hdrs;     /* h2: response fields being collected (owned) */
    int h2_status;
    size_t h2_nhdrs;
    int64_t h2_clen;
    /* downstream HTTP/2 stream (h2down.c); unused for HTTP/1.1 clients */
    int32_t d_sid;                /* client's stream id, 0 on HTTP/1.1 */
    struct px_req *d_prev, *d_next; /* streams of r->conn->h2d */
    struct evbuffer *d_in;        /* request DATA not yet taken by the body sink */
    struct evbuffer *d_out;       /* response body not yet framed into DATA */
    struct event d_timer;         /* the stream's own timer (mode d_tmode), once d_timer_on */
    int d_timer_on;               /* d_timer is assigned */
    struct px_deadline d_dl;      /* when d_timer means d_tmode (once d_timer_on) */
    int d_tmode;                  /* enum px_conn_timer */
    struct px_progress d_prog;    /* the client's progress since PX_TM_RESP was set (conn's tx) */
    uint64_t up_taken;            /* px_up_body_taken when PX_TM_BODY last found the upstream behind */
    int d_in_end;                 /* END_STREAM received: d_in holds the rest of the body */
    int d_out_eof;                /* response complete: EOF after d_out */
    int d_deferred;               /* data provider returned DEFERRED */
    int d_blocked;                /* told the upstream we are congested: resume it later */
    int d_submitted;              /* response HEADERS submitted */
    int d_ready;                  /* head complete: decided after this read batch */
    int d_body;                   /* d_in holds DATA only (the header records are gone) */
    struct bufferevent *d_tun;    /* CONNECT over HTTP/2: the upstream socket (owned) */
    int d_tun_shut;               /* client's END_STREAM passed on (upstream write side shut) */
    size_t d_hdr_bytes;           /* request header block size so far (name+value+32 each) */
    size_t d_nhdrs;               /* request header fields so far */
    const char *d_err;            /* request head refused (static text), answered at END_HEADERS */
    int d_err_status;
    /* accounting */
    uint64_t bytes_in, bytes_out;
    struct timespec t_start, t_up;
    double decision_ms, upstream_ms;
    int logged;
};

enum px_conn_timer {
    PX_TM_NONE,
    PX_TM_IDLE,       /* keep-alive: waiting for the first byte of a request */
    PX_TM_HEADER,     /* request head must complete */
    PX_TM_BODY,       /* client request body stalled */
    PX_TM_UPSTREAM,   /* waiting for the upstream (connect is timed by the upconn) / response head */
    PX_TM_RESP,       /* response body stalled */
    PX_TM_LINGER,     /* lingering close: discard input until EOF or this fires */
    PX_TM__COUNT
};

struct px_conn {
    struct px_worker *w;          /* borrowed */
    struct px_conn *prev, *next;  /* worker list */
    struct bufferevent *bev;      /* owned (NULL once handed to a tunnel pipe) */
    struct px_rx rx;              /* reads bev (detached before a tunnel takes it) */
    struct px_tx tx;              /* writes bev (detached likewise) */
    char client[64];              /* "ip:port" */
    int dead;                     /* freed at the next kick */
    int closing;                  /* close once the output is flushed */
    int read_eof;                 /* client half-closed */
    int lingering;                /* output done, write side shut, discarding input */
    size_t linger_bytes;          /* input discarded while lingering */
    int counted;                  /* counted in rt->n_conns / metrics */
    struct event *kick;           /* deferred work: free when dead, else process input */
    struct event *timer;          /* the one timer of the connection, see tmode */
    struct px_deadline tdl;       /* when it means tmode (set through px_conn_timer) */
    enum px_conn_timer tmode;
    struct px_progress prog;      /* the client's progress since the PX_TM_RESP deadline was set */
    int in_req;                   /* req is live */
    unsigned n_req;
    struct px_req *req;           /* owned; only while a request is active (see req_take) */
    struct px_pipe *pipe;         /* owned tunnel once CONNECT is established */
    struct px_h2d *h2d;           /* owned: HTTP/2 session once the client sent the preface */
};

enum px_up_state {
    PX_UP_CONNECTING,
    PX_UP_BUSY,
    PX_UP_IDLE,
    PX_UP_DEAD,
    PX_UP__COUNT
};

struct px_upconn {
    struct px_worker *w;          /* borrowed */
    struct px_upconn *prev, *next;
    struct bufferevent *bev;      /* owned */
    struct px_rx rx;              /* reads bev once a plain h1 connection is up */
    struct px_tx tx;              /* writes it, likewise */
    enum px_up_state state;
    char host[256];
    uint16_t port;
    int tls;
    int tunnel;                   /* raw connection for CONNECT, never pooled */
    int parked;                   /* on w->ups_busy instead of w->ups */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct px_req *req;           /* h1/tunnel: the request it serves (borrowed) */
    int served;                   /* requests served (reuse detection) */
    int h2;                       /* ALPN selected h2 */
    nghttp2_session *h2s;         /* owned */
    int h2_streams;               /* open streams */
    int h2_goaway;
    struct px_req *h2_reqs;       /* requests with an open stream (borrowed) */
    struct px_req *waiters;       /* requests waiting for this TLS connection (ALPN) */
    int n_waiters;
    int dead;
    struct event *kick;
    struct event *timer;          /* connect timeout / pool idle lifetime */
    struct px_deadline tdl;       /* when (the timer is set through it only) */
    /* h1 response parsing */
    int head_done;
    enum px_h1_body body;
    uint64_t body_left;
    struct px_h1_chunked chunk;
    int clean;                    /* may go back to the pool after the response */
    int eof;                      /* upstream closed; buffered input still to deliver */
};

/* Bidirectional splice of two bufferevents (CONNECT tunnel). A later TLS
 * interception filter slots in by replacing either end with a filter bev. */
struct px_pipe {
    struct bufferevent *a, *b;    /* owned: a = client side, b = upstream side */
    struct px_rx ra, rb;          /* read a and b when they are plain sockets */
    int a_eof, b_eof;
    int a_shut, b_shut;
    uint64_t a_to_b, b_to_a;      /* bytes moved */
    int idle_ms;
    struct event *timer;
    void (*done_cb)(struct px_pipe *, void *, const char *why);
    void *done_arg;
    int finished;
};

/* ---- time ---- */
/* The connection's one timer now means mode, firing ms from now (mode
 * PX_TM_NONE or ms <= 0: nothing). Lazy: see deadline.h. */
void px_conn_timer(struct px_conn *c, enum px_conn_timer mode, int ms);
double px_now_ms(void);
double px_elapsed_ms(const struct timespec *since);

/* Publishes a store version seen by a decision or a reload (monotonic). */
void px_policy_version_seen(struct px_runtime *rt, uint64_t v);

/* ---- run.c ---- */
void px_worker_conn_closed(struct px_worker *w);

/* ---- conn.c: downstream session ---- */
void px_conn_accept(struct px_worker *w, evutil_socket_t fd, const struct sockaddr *sa, int salen);
void px_conn_free(struct px_conn *c);
void px_conn_close(struct px_conn *c);           /* mark dead; freed from the loop */
void px_worker_drain_conns(struct px_worker *w);  /* close idle keep-alive connections */
void px_conn_flush(struct px_conn *c);            /* write queued client output now */
void px_worker_req_cache_free(struct px_worker *w);
/* An empty evbuffer from the worker's cache or a new one (NULL: out of
 * memory), and back (any content is dropped; NULL is ignored). */
struct evbuffer *px_worker_evbuf(struct px_worker *w);
void px_worker_evbuf_put(struct px_worker *w, struct evbuffer *b);
/* Callbacks from upstream.c / h2up.c into the request. */
void px_req_up_connected(struct px_req *r);      /* head sent; start pumping the body */
void px_req_up_failed(struct px_req *r, int status, const char *reason, int timeout);
void px_req_resp_head(struct px_req *r, int status, struct sgw_slice reason,
                      const struct px_h1_header *h, size_t n, int has_body, int64_t clen);
void px_req_resp_body(struct px_req *r, const char *data, size_t len);
void px_req_resp_body_buf(struct px_req *r, struct evbuffer *src, size_t len);
void px_req_resp_end(struct px_req *r);
void px_req_resp_abort(struct px_req *r, const char *reason); /* after head: cut the client */
int px_req_client_congested(const struct px_req *r);
void px_req_body_resume(struct px_req *r);       /* upstream drained: read more body */
/* Hop-by-hop field (fixed list, or named by a Connection field of h[0..n)). */
int px_hdr_is_hop(const struct px_h1_header *h, size_t n, struct sgw_slice name);
int px_slice_eq_slice_nocase(struct sgw_slice a, struct sgw_slice b);

/* Downstream HTTP/2 (h2down.c) calls into the request state machine. */
#define PX_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define PX_H2_PREFACE_LEN 24
struct px_req *px_req_stream_new(struct px_conn *c); /* zeroed request for a new stream */
void px_req_stream_free(struct px_req *r);       /* after px_req_stream_gone or DONE */
void px_req_stream_begin(struct px_req *r);      /* head filled in: decide */
void px_req_stream_fail(struct px_req *r, int status, const char *error, const char *reason);
void px_req_stream_gone(struct px_req *r, const char *why); /* client reset / conn closed */
void px_req_stream_body(struct px_req *r);       /* DATA or END_STREAM arrived */
void px_req_timeout(struct px_req *r, int mode); /* a stream timer fired */
void px_req_stream_tunnel_done(struct px_req *r, const char *why); /* CONNECT stream over */
void px_conn_close_after_flush(struct px_conn *c);

/* ---- head building: one reserved evbuffer region instead of many adds ----
 * The caller reserves an upper bound it computed from the same pieces; every
 * put is still bounds-checked, and an overflow marks the writer bad (nothing
 * is committed then). */
struct px_wbuf {
    char *p;
    size_t n, cap;
    int bad;
};
static inline void px_wb_put(struct px_wbuf *b, const void *s, size_t n)
{
    if (b->bad || n > b->cap - b->n) {
        b->bad = 1;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
#define PX_WB_LIT(b, lit) px_wb_put((b), (lit), sizeof(lit) - 1)
static inline void px_wb_dec(struct px_wbuf *b, uint64_t v) /* at most 20 bytes */
{
    char t[20];
    size_t i = sizeof(t);
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    px_wb_put(b, t + i, sizeof(t) - i);
}
static inline void px_wb_hex(struct px_wbuf *b, uint64_t v) /* at most 16 bytes */
{
    char t[16];
    size_t i = sizeof(t);
    do {
        t[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && i > 0);
    px_wb_put(b, t + i, sizeof(t) - i);
}

/* ---- respond.c ---- */
const char *px_reason_phrase(int status);
void px_json_escape(struct evbuffer *out, const char *s, size_t n);
/* Writes a complete JSON error response; close says whether "connection: close". */
void px_respond_error(struct bufferevent *bev, int status, const char *error, const char *verdict,
                      const char *rule, const char *reason, int close);

/* The JSON error body {"error","rule","reason"}; and a header-safe copy of a
 * rule id (visible ASCII without ';' ','; "-" when empty). */
void px_error_body(struct evbuffer *body, const char *error, const char *rule, const char *reason);
void px_header_safe(char *dst, size_t cap, const char *src);

/* ---- h2down.c: downstream HTTP/2 (cleartext, prior knowledge) ---- */
int px_h2d_start(struct px_conn *c);             /* preface seen (still in the input) */
void px_h2d_free(struct px_conn *c);             /* session and every stream's request */
void px_h2d_on_read(struct px_conn *c);
void px_h2d_on_write(struct px_conn *c);
void px_h2d_on_kick(struct px_conn *c);
void px_h2d_on_eof(struct px_conn *c);
void px_h2d_on_timer(struct px_conn *c, int mode);
void px_h2d_drain(struct px_conn *c);            /* SIGTERM: GOAWAY, finish open streams */
void px_h2d_timer_set(struct px_req *r, int mode, int ms);
void px_h2d_error(struct px_req *r, int status, const char *error, const char *verdict,
                  const char *rule, const char *reason);
int px_h2d_resp_head(struct px_req *r, int status, const struct px_h1_header *h, size_t n,
                     int has_body, int64_t clen);
void px_h2d_resp_data(struct px_req *r, const char *data, struct evbuffer *src, size_t len);
void px_h2d_resp_end(struct px_req *r);
void px_h2d_reset(struct px_req *r);             /* RST_STREAM(INTERNAL_ERROR) after a cut */
int px_h2d_congested(const struct px_req *r);
/* CONNECT over HTTP/2 allowed and connected: 200 on the stream, then DATA
 * both ways to and from ub (taken over, freed with the stream). */
int px_h2d_tunnel_start(struct px_req *r, struct bufferevent *ub);
void px_h2d_consumed(struct px_req *r, size_t n); /* request DATA taken: reopen the window */
/* Turns the request header records collected in r->d_in (<u32 name len><u32
 * value len><name><value>, names lowercase as nghttp2 delivers them) into the
 * request: r->head, r->msg, method, host, port, tls, is_connect. NULL, or the
 * reason for a 400 (r->head may be allocated either way). Exposed for the fuzzer. */
const char *px_h2d_build_request(struct px_req *r, int end_stream);

/* ---- dns.c ---- */
typedef void (*px_dns_cb)(void *arg, int err, const struct evutil_addrinfo *ai);
int px_dns_resolve(struct px_worker *w, const char *host, uint16_t port, px_dns_cb cb, void *arg,
                   struct px_dns_req **out);
void px_dns_cancel(struct px_dns_req *d);

/* ---- upstream.c ---- */
int px_up_ssl_ctx_new(const char *extra_ca, SSL_CTX **out, char *err, size_t errlen);
/* Starts (or reuses) an upstream for r at r->addrs[r->addr_idx]. Result comes
 * back through px_req_up_connected / px_req_up_failed. */
void px_up_attach(struct px_req *r, int fresh);
void px_up_detach(struct px_req *r);             /* request gone: release its upstream */
/* Queues request body bytes for the upstream. SGW_ENOMEM: the body could
 * not go on intact (the caller fails the request; never forward a gap). */
int px_up_body(struct px_req *r, const char *data, size_t len);
/* The same for the first len bytes of src, moved (src loses them). */
int px_up_body_buf(struct px_req *r, struct evbuffer *src, size_t len);
void px_up_body_end(struct px_req *r);
int px_up_body_congested(const struct px_req *r);
uint64_t px_up_body_taken(const struct px_req *r);
void px_up_resume(struct px_req *r);             /* client drained: read response again */
void px_up_flush(struct px_req *r);              /* write queued h1 request bytes now */
void px_up_close(struct px_upconn *u);
void px_up_free(struct px_upconn *u);
void px_worker_pool_drain(struct px_worker *w);  /* close idle pooled connections */
/* For CONNECT: takes the raw bufferevent of a connected tunnel upstream. */
struct bufferevent *px_up_take_bev(struct px_upconn *u);

/* ---- h2up.c ---- */
int px_h2_session_start(struct px_upconn *u);
int px_h2_submit(struct px_upconn *u, struct px_req *r);
void px_h2_read(struct px_upconn *u);
void px_h2_fail_all(struct px_upconn *u, const char *reason);
void px_h2_detach(struct px_upconn *u, struct px_req *r);
void px_h2_body_more(struct px_upconn *u, struct px_req *r);
void px_h2_consume(struct px_upconn *u, struct px_req *r);
int px_h2_can_take(const struct px_upconn *u);
void px_h2_flush_kick(struct px_upconn *u);

/* ---- tunnel.c ---- */
struct px_pipe *px_pipe_new(struct event_base *base, struct bufferevent *a, struct bufferevent *b,
                            int idle_ms, void (*done_cb)(struct px_pipe *, void *, const char *),
                            void *arg);
void px_pipe_free(struct px_pipe *p);

#endif
