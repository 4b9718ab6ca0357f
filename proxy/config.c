/* proxy/config.c — `sovgw run` flags and YAML config file.
 *
 * One option table drives the flag parser, the config-file loader and the help
 * text, so every flag has a config key and vice versa (except --config and
 * --help, which make no sense inside a file). The file is applied first, then
 * flags: a scalar flag overrides the file's value, a repeatable flag (listen,
 * resolve, connect-to) replaces the file's whole list. Everything is parsed
 * strictly: unknown keys, duplicate keys, wrong types and out-of-range values
 * are errors with a position, never ignored. */
#include "proxy/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "common/sgw.h"
#include "proxy/h1.h"

#define MAX_CONFIG_FILE (1024 * 1024) /* a config file is small; bound what we read */
#define MAX_PINS 4096
#define MAX_WORKERS 1024
#define MSG_LEN 512

enum opt_kind {
    K_CONFIG,
    K_HELP,
    K_PATH,       /* owned char * field, non-empty */
    K_LISTEN,     /* repeatable address */
    K_ADMIN,      /* address or off */
    K_DNS,        /* nameserver address */
    K_INT,        /* int field */
    K_SIZE,       /* size_t field */
    K_BYTES,      /* uint64_t field, KiB/MiB/GiB/TiB suffixes */
    K_LEVEL,      /* log level name */
    K_RESOLVE,    /* repeatable pin HOST:PORT:ADDR */
    K_CONNECT_TO, /* repeatable pin HOST:PORT:ADDR:PORT2 */
};

struct opt {
    const char *name;
    enum opt_kind kind;
    size_t off;
    uint64_t min, max;
    const char *arg;
    const char *def;
    const char *help;
};

#define OFF(f) offsetof(struct px_config, f)

static const struct opt opts[] = {
    {"config", K_CONFIG, 0, 0, 0, "FILE", "none",
     "YAML config file (keys = these flag names); flags override it"},
    {"policy", K_PATH, OFF(policy_file), 0, 0, "FILE", "none",
     "policy source (YAML), compiled at start; excludes --store"},
    {"store", K_PATH, OFF(store_dir), 0, 0, "DIR", "none",
     "compiled policy store (LMDB directory); excludes --policy"},
    {"listen", K_LISTEN, 0, 0, 0, "ADDR:PORT", "127.0.0.1:3128",
     "proxy listener, IP literal ([::1]:3128 for IPv6); repeatable, up to 16"},
    {"admin", K_ADMIN, 0, 0, 0, "ADDR:PORT|off", "127.0.0.1:9090",
     "admin endpoint (/healthz /readyz /metrics); off disables"},
    {"workers", K_INT, OFF(workers), 1, MAX_WORKERS, "N", "online CPUs",
     "worker threads (one event loop each)"},
    {"resolve", K_RESOLVE, 0, 0, 0, "HOST:PORT:ADDR", "none",
     "pin HOST (or *.suffix) on PORT (* = any) to ADDR; repeatable"},
    {"connect-to", K_CONNECT_TO, 0, 0, 0, "HOST:PORT:ADDR:PORT2", "none",
     "connect to ADDR:PORT2 for HOST:PORT (* = any port); repeatable"},
    {"upstream-ca", K_PATH, OFF(upstream_ca), 0, 0, "FILE", "system store only",
     "extra CA bundle (PEM) trusted for upstream TLS"},
    {"dns-server", K_DNS, 0, 0, 0, "ADDR:PORT", "resolv.conf's nameservers",
     "ask this nameserver (IP:PORT, [IPv6]:PORT) instead of resolv.conf's"},
    {"dns-timeout-ms", K_INT, OFF(dns_timeout_ms), 100, 60000, "N", "5000",
     "one DNS query before it is retried; 2 attempts, then 502"},
    {"log-file", K_PATH, OFF(log_file), 0, 0, "PATH|-", "-",
     "decision log, one JSON line per decision; - = stdout, else appended"},
    {"log-level", K_LEVEL, OFF(log_level), 0, 0, "error|warn|info|debug", "info",
     "diagnostic log level (stderr)"},
    {"max-request-line", K_SIZE, OFF(max_request_line), 256, 1048576, "N", "8192",
     "longest request line in bytes (414 beyond)"},
    {"max-head", K_SIZE, OFF(max_head), 1024, 16777216, "N", "65536",
     "largest request head in bytes (431 beyond); >= max-request-line"},
    {"max-headers", K_SIZE, OFF(max_headers), 1, PX_H1_MAX_HEADERS, "N", "100",
     "most header fields in a request (431 beyond)"},
    {"max-body", K_BYTES, OFF(max_body), 0, 1099511627776ULL, "SIZE", "64MiB",
     "largest request body (413 beyond); bytes or KiB/MiB/GiB/TiB"},
    {"max-connections", K_INT, OFF(max_connections), 1, 1000000, "N", "10000",
     "concurrent client connections per process"},
    {"h2-max-streams", K_INT, OFF(h2_max_streams), 1, 1000, "N", "100",
     "concurrent streams per HTTP/2 client connection (SETTINGS_MAX_CONCURRENT_STREAMS)"},
    {"connect-timeout-ms", K_INT, OFF(connect_timeout_ms), 1, 86400000, "N", "10000",
     "upstream TCP+TLS connect deadline"},
    {"header-timeout-ms", K_INT, OFF(header_timeout_ms), 1, 86400000, "N", "30000",
     "the full request head must arrive within"},
    {"idle-timeout-ms", K_INT, OFF(idle_timeout_ms), 1, 86400000, "N", "60000",
     "idle keep-alive client connection or tunnel"},
    {"upstream-timeout-ms", K_INT, OFF(upstream_timeout_ms), 1, 86400000, "N", "60000",
     "the upstream response head must arrive within"},
    {"pool-idle-ms", K_INT, OFF(pool_idle_ms), 1, 86400000, "N", "30000",
     "lifetime of an idle pooled upstream connection"},
    {"drain-timeout-ms", K_INT, OFF(drain_timeout_ms), 0, 86400000, "N", "15000",
     "on SIGTERM, in-flight requests get this long to finish"},
    {"help", K_HELP, 0, 0, 0, NULL, NULL, "print this help"},
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Where each value came from, to let flags replace file values. */
enum src { SRC_NONE, SRC_FILE, SRC_FLAG };

struct load_state {
    enum src policy, store;
    enum src listen, resolve, connect_to;
};

static const struct opt *opt_find(const char *name, size_t len)
{
    for (size_t i = 0; i < SGW_ARRAY_LEN(opts); i++)
        if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

/* Copies at most 48 bytes of v into out for an error message, replacing
 * anything non-printable so a hostile value cannot forge log lines. */
static const char *shown(const char *v, size_t n, char out[64])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 48; i++) {
        unsigned char c = (unsigned char)v[i];
        out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > 48) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static void msgf(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msgf(char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, MSG_LEN, fmt, ap);
    va_end(ap);
}

static int parse_port(const char *p, size_t n, uint64_t min, uint16_t *out)
{
    uint64_t v;
    if (sgw_parse_u64(p, n, 65535, &v) != SGW_OK || v < min)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* IP literal (no brackets) of length n into a, returns AF_INET/AF_INET6 or -1. */
static int parse_ip(const char *p, size_t n, struct in6_addr *a6, struct in_addr *a4)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (memchr(p, ':', n) == NULL)
        return inet_pton(AF_INET, buf, a4) == 1 ? AF_INET : -1;
    return inet_pton(AF_INET6, buf, a6) == 1 ? AF_INET6 : -1;
}

int px_config_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    if (s == NULL || ss == NULL || len == NULL)
        return -1;
    size_t n = strlen(s);
    const char *host, *port;
    size_t hlen;
    if (n > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (rb == NULL || rb[1] != ':')
            return -1;
        host = s + 1;
        hlen = (size_t)(rb - host);
        port = rb + 2;
        if (memchr(host, ':', hlen) == NULL) /* brackets are for IPv6 only */
            return -1;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon == NULL || memchr(colon + 1, ':', strlen(colon + 1)) != NULL)
            return -1;
        host = s;
        hlen = (size_t)(colon - s);
        port = colon + 1;
    }
    uint16_t p;
    if (parse_port(port, strlen(port), 0, &p) != 0)
        return -1;
    struct in6_addr a6;
    struct in_addr a4;
    int af = parse_ip(host, hlen, &a6, &a4);
    memset(ss, 0, sizeof *ss);
    if (af == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(p);
        sin->sin_addr = a4;
        *len = sizeof *sin;
        return 0;
    }
    if (af == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(p);
        sin6->sin6_addr = a6;
        *len = sizeof *sin6;
        return 0;
    }
    return -1;
}

static int lc(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Validates a hostname (optionally "*.suffix") and writes it lowercased without
 * a trailing dot to out[256]. Labels: 1..63 of [a-z0-9_-], no '-' at either end. */
static int pin_host(const char *p, size_t n, char out[256])
{
    size_t start = 0;
    if (n > 0 && p[n - 1] == '.')
        n--;
    if (n >= 2 && p[0] == '*' && p[1] == '.')
        start = 2;
    if (n == start || n > 253)
        return -1;
    size_t label = 0;
    for (size_t i = start; i <= n; i++) {
        int c = i < n ? lc((unsigned char)p[i]) : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || p[i - 1] == '-')
                return -1;
            label = 0;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || (label == 0 && c == '-'))
            return -1;
        label++;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (char)lc((unsigned char)p[i]);
    out[n] = '\0';
    return 0;
}

/* Pin port: 1..65535 or "*" for any port (stored as 0). */
static int pin_port(const char *p, size_t n, uint16_t *out)
{
    if (n == 1 && p[0] == '*') {
        *out = 0;
        return 0;
    }
    return parse_port(p, n, 1, out);
}

/* Parses "HOST:PORT:ADDR" (resolve) or "HOST:PORT:ADDR:PORT2" (connect_to);
 * ADDR is an IP literal, IPv6 optionally in brackets. */
static int parse_pin(const char *v, size_t n, int connect_to, struct px_pin *pin, char *msg)
{
    const char *form = connect_to ? "HOST:PORT:ADDR:PORT2" : "HOST:PORT:ADDR";
    memset(pin, 0, sizeof *pin);
    const char *c1 = memchr(v, ':', n);
    const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - v)) : NULL;
    if (c2 == NULL) {
        msgf(msg, "expected %s", form);
        return -1;
    }
    if (pin_host(v, (size_t)(c1 - v), pin->host) != 0) {
        msgf(msg, "invalid host: a hostname or *.suffix is required");
        return -1;
    }
    if (pin_port(c1 + 1, (size_t)(c2 - c1 - 1), &pin->port) != 0) {
        msgf(msg, "invalid port: 1..65535 or * is required");
        return -1;
    }
    const char *a = c2 + 1;
    size_t alen = n - (size_t)(a - v);
    if (connect_to) {
        const char *last = NULL;
        for (size_t i = alen; i > 0; i--)
            if (a[i - 1] == ':') {
                last = a + i - 1;
                break;
            }
        if (last == NULL) {
            msgf(msg, "expected %s", form);
            return -1;
        }
        if (parse_port(last + 1, alen - (size_t)(last + 1 - a), 1, &pin->port2) != 0) {
            msgf(msg, "invalid PORT2: 1..65535 is required");
            return -1;
        }
        alen = (size_t)(last - a);
    }
    if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
        a++;
        alen -= 2;
        if (memchr(a, ':', alen) == NULL) {
            msgf(msg, "invalid address: brackets are for IPv6 only");
            return -1;
        }
    }
    struct in6_addr a6;
    struct in_addr a4;
    if (parse_ip(a, alen, &a6, &a4) < 0) {
        msgf(msg, "invalid address: an IPv4 or IPv6 literal is required");
        return -1;
    }
    memcpy(pin->addr, a, alen);
    pin->addr[alen] = '\0';
    return 0;
}

static int parse_bytes(const char *v, size_t n, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"TiB", 1ULL << 40},
                 {"GiB", 1ULL << 30},
                 {"MiB", 1ULL << 20},
                 {"KiB", 1ULL << 10},
                 {"B", 1}};
    uint64_t mult = 1;
    for (size_t i = 0; i < SGW_ARRAY_LEN(units); i++) {
        size_t sl = strlen(units[i].suffix);
        if (n > sl && memcmp(v + n - sl, units[i].suffix, sl) == 0) {
            mult = units[i].mult;
            n -= sl;
            break;
        }
    }
    uint64_t num;
    int rc = sgw_parse_u64(v, n, UINT64_MAX, &num);
    if (rc != SGW_OK)
        return rc;
    if (num > UINT64_MAX / mult)
        return SGW_ELIMIT;
    *out = num * mult;
    return SGW_OK;
}

static int set_string(char **field, const char *v, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        return -1;
    memcpy(s, v, n);
    s[n] = '\0';
    free(*field);
    *field = s;
    return 0;
}

/* Removes every pin of one kind (resolve: port2 == 0, connect-to: port2 != 0). */
static void pins_drop(struct px_config *cfg, int connect_to)
{
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_pins; i++)
        if ((cfg->pins[i].port2 != 0) != connect_to)
            cfg->pins[k++] = cfg->pins[i];
    cfg->n_pins = k;
}

/* Applies one value of option o. from_file says whether it comes from the
 * config file. On error writes a message (without position) to msg. */
static int apply(struct px_config *cfg, struct load_state *st, const struct opt *o, const char *v,
                 size_t n, enum src from, char *msg)
{
    char show[64];
    void *field = (char *)cfg + o->off;
    if (memchr(v, '\0', n) != NULL) {
        msgf(msg, "value contains a NUL byte");
        return -1;
    }
    switch (o->kind) {
    case K_CONFIG:
    case K_HELP:
        msgf(msg, "cannot be set here");
        return -1;
    case K_PATH: {
        if (n == 0) {
            msgf(msg, "needs a non-empty value");
            return -1;
        }
        if (o->off == OFF(policy_file) || o->off == OFF(store_dir)) {
            int is_policy = o->off == OFF(policy_file);
            enum src *mine = is_policy ? &st->policy : &st->store;
            enum src *other = is_policy ? &st->store : &st->policy;
            char **other_field = is_policy ? &cfg->store_dir : &cfg->policy_file;
            if (*other == from) {
                msgf(msg, "--policy and --store are mutually exclusive");
                return -1;
            }
            if (*other != SRC_NONE) { /* a flag overrides the file's choice */
                free(*other_field);
                *other_field = NULL;
                *other = SRC_NONE;
            }
            *mine = from;
        }
        if (set_string((char **)field, v, n) != 0) {
            msgf(msg, "out of memory");
            return -1;
        }
        return 0;
    }
    case K_LISTEN: {
        if (from == SRC_FLAG && st->listen != SRC_FLAG)
            cfg->n_listen = 0;
        st->listen = from;
        struct sockaddr_storage ss;
        socklen_t sl;
        if (n >= sizeof cfg->listen[0]) {
            msgf(msg, "address too long");
            return -1;
        }
        char buf[64];
        memcpy(buf, v, n);
        buf[n] = '\0';
        if (px_config_parse_addr(buf, &ss, &sl) != 0) {
            msgf(msg, "invalid address '%s': IP:PORT or [IPv6]:PORT is required",
                 shown(v, n, show));
            return -1;
        }
        if (cfg->n_listen >= PX_MAX_LISTEN) {
            msgf(msg, "too many listeners (at most %d)", PX_MAX_LISTEN);
            return -1;
        }
        memcpy(cfg->listen[cfg->n_listen++], buf, n + 1);
        return 0;
    }
    case K_ADMIN: {
        if (n == 0 || (n == 3 && memcmp(v, "off", 3) == 0)) {
            cfg->admin[0] = '\0';
            return 0;
        }
        struct sockaddr_storage ss;
        socklen_t sl;
        char buf[64];
        if (n >= sizeof buf) {
            msgf(msg, "address too long");
            return -1;
        }
        memcpy(buf, v, n);
        buf[n] = '\0';
        if (px_config_parse_addr(buf, &ss, &sl) != 0) {
            msgf(msg, "invalid address '%s': IP:PORT, [IPv6]:PORT or off is required",
                 shown(v, n, show));
            return -1;
        }
        memcpy(cfg->admin, buf, n + 1);
        return 0;
    }
    case K_DNS: {
        struct sockaddr_storage ss;
        socklen_t sl;
        char buf[64];
        if (n >= sizeof buf) {
            msgf(msg, "address too long");
            return -1;
        }
        memcpy(buf, v, n);
        buf[n] = '\0';
        int ok = px_config_parse_addr(buf, &ss, &sl) == 0;
        if (ok && ss.ss_family == AF_INET)
            ok = ((const struct sockaddr_in *)&ss)->sin_port != 0;
        else if (ok)
            ok = ((const struct sockaddr_in6 *)&ss)->sin6_port != 0;
        if (!ok) {
            msgf(msg, "invalid nameserver '%s': IP:PORT or [IPv6]:PORT is required", shown(v, n, show));
            return -1;
        }
        memcpy(cfg->dns_server, buf, n + 1);
        return 0;
    }
    case K_INT:
    case K_SIZE:
    case K_BYTES: {
        uint64_t x;
        int rc = o->kind == K_BYTES ? parse_bytes(v, n, &x) : sgw_parse_u64(v, n, UINT64_MAX, &x);
        if (rc == SGW_EPROTO) {
            msgf(msg, "'%s' is not a %s", shown(v, n, show),
                 o->kind == K_BYTES ? "size (bytes, or a number with KiB/MiB/GiB/TiB)"
                                    : "decimal number");
            return -1;
        }
        if (rc != SGW_OK || x < o->min || x > o->max) {
            msgf(msg, "'%s' is out of range %llu..%llu", shown(v, n, show),
                 (unsigned long long)o->min, (unsigned long long)o->max);
            return -1;
        }
        if (o->kind == K_INT)
            *(int *)field = (int)x;
        else if (o->kind == K_SIZE)
            *(size_t *)field = (size_t)x;
        else
            *(uint64_t *)field = x;
        return 0;
    }
    case K_LEVEL:
        for (size_t i = 0; i < SGW_ARRAY_LEN(level_names); i++)
            if (strlen(level_names[i]) == n && memcmp(level_names[i], v, n) == 0) {
                *(int *)field = (int)i;
                return 0;
            }
        msgf(msg, "'%s' is not one of error, warn, info, debug", shown(v, n, show));
        return -1;
    case K_RESOLVE:
    case K_CONNECT_TO: {
        int ct = o->kind == K_CONNECT_TO;
        enum src *s = ct ? &st->connect_to : &st->resolve;
        if (from == SRC_FLAG && *s != SRC_FLAG)
            pins_drop(cfg, ct);
        *s = from;
        struct px_pin pin;
        char pmsg[MSG_LEN];
        if (parse_pin(v, n, ct, &pin, pmsg) != 0) {
            msgf(msg, "'%s': %s", shown(v, n, show), pmsg);
            return -1;
        }
        if (cfg->n_pins >= MAX_PINS) {
            msgf(msg, "too many pins (at most %d)", MAX_PINS);
            return -1;
        }
        if (cfg->n_pins == 0 || (cfg->n_pins & (cfg->n_pins - 1)) == 0) {
            size_t cap = cfg->n_pins == 0 ? 4 : cfg->n_pins * 2;
            struct px_pin *np = realloc(cfg->pins, cap * sizeof *np);
            if (np == NULL) {
                msgf(msg, "out of memory");
                return -1;
            }
            cfg->pins = np;
        }
        cfg->pins[cfg->n_pins++] = pin;
        return 0;
    }
    }
    msgf(msg, "internal error");
    return -1;
}

static int is_list(const struct opt *o)
{
    return o->kind == K_LISTEN || o->kind == K_RESOLVE || o->kind == K_CONNECT_TO;
}

/* ---- config file ---- */

static void ferr(FILE *err, const char *file, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ferr(FILE *err, const char *file, yaml_mark_t m, const char *fmt, ...)
{
    if (err == NULL)
        return;
    fprintf(err, "%s:%zu:%zu: ", file, m.line + 1, m.column + 1);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fputc('\n', err);
}

static int read_file(const char *path, unsigned char **out, size_t *len, FILE *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (err)
            fprintf(err, "sovgw run: cannot open config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    unsigned char *buf = malloc(MAX_CONFIG_FILE + 1);
    size_t n = buf ? fread(buf, 1, MAX_CONFIG_FILE + 1, f) : 0;
    int bad = buf == NULL || ferror(f);
    fclose(f);
    if (bad) {
        if (err)
            fprintf(err, "sovgw run: cannot read config file %s\n", path);
        free(buf);
        return -1;
    }
    if (n > MAX_CONFIG_FILE) {
        if (err)
            fprintf(err, "sovgw run: config file %s is larger than %d bytes\n", path,
                    MAX_CONFIG_FILE);
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int apply_scalar_node(struct px_config *cfg, struct load_state *st, const struct opt *o,
                             yaml_node_t *v, const char *file, FILE *err)
{
    char msg[MSG_LEN];
    if (apply(cfg, st, o, (const char *)v->data.scalar.value, v->data.scalar.length, SRC_FILE,
              msg) != 0) {
        ferr(err, file, v->start_mark, "%s: %s", o->name, msg);
        return -1;
    }
    return 0;
}

static int load_document(struct px_config *cfg, struct load_state *st, yaml_document_t *doc,
                         const char *file, FILE *err)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (root == NULL || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0 &&
                         root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE))
        return 0; /* empty file: nothing set */
    if (root->type != YAML_MAPPING_NODE) {
        ferr(err, file, root->start_mark, "the config file must be a mapping of option: value");
        return -1;
    }
    unsigned char seen[SGW_ARRAY_LEN(opts)] = {0};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE) {
            ferr(err, file, k ? k->start_mark : root->start_mark, "keys must be plain names");
            return -1;
        }
        const char *kname = (const char *)k->data.scalar.value;
        size_t klen = k->data.scalar.length;
        const struct opt *o = opt_find(kname, klen);
        char show[64];
        if (o == NULL || o->kind == K_CONFIG || o->kind == K_HELP) {
            ferr(err, file, k->start_mark, "unknown key '%s'%s", shown(kname, klen, show),
                 o ? " (only valid on the command line)" : "");
            return -1;
        }
        size_t idx = (size_t)(o - opts);
        if (seen[idx]) {
            ferr(err, file, k->start_mark, "duplicate key '%s'", o->name);
            return -1;
        }
        seen[idx] = 1;
        if (v->type == YAML_SCALAR_NODE) {
            if (apply_scalar_node(cfg, st, o, v, file, err) != 0)
                return -1;
            continue;
        }
        if (v->type != YAML_SEQUENCE_NODE || !is_list(o)) {
            ferr(err, file, v->start_mark, "%s: expected %s", o->name,
                 is_list(o) ? "a value or a list of values" : "a single value");
            return -1;
        }
        if (v->data.sequence.items.start == v->data.sequence.items.top) {
            ferr(err, file, v->start_mark, "%s: empty list", o->name);
            return -1;
        }
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *e = yaml_document_get_node(doc, *it);
            if (e == NULL || e->type != YAML_SCALAR_NODE) {
                ferr(err, file, e ? e->start_mark : v->start_mark,
                     "%s: list items must be single values", o->name);
                return -1;
            }
            if (apply_scalar_node(cfg, st, o, e, file, err) != 0)
                return -1;
        }
    }
    return 0;
}

static int load_file(struct px_config *cfg, struct load_state *st, const char *file, FILE *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    if (read_file(file, &buf, &len, err) != 0)
        return -1;
    int rc = -1;
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int have_doc = 0;
    if (!yaml_parser_initialize(&parser)) {
        if (err)
            fprintf(err, "sovgw run: out of memory\n");
        free(buf);
        return -1;
    }
    yaml_parser_set_input_string(&parser, buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        ferr(err, file, parser.problem_mark, "invalid YAML: %s",
             parser.problem ? parser.problem : "syntax error");
        goto out;
    }
    have_doc = 1;
    /* A second document would be silently ignored; refuse it. */
    if (!yaml_parser_load(&parser, &extra)) {
        ferr(err, file, parser.problem_mark, "invalid YAML: %s",
             parser.problem ? parser.problem : "syntax error");
        goto out;
    }
    if (yaml_document_get_root_node(&extra) != NULL) {
        yaml_mark_t m = yaml_document_get_root_node(&extra)->start_mark;
        yaml_document_delete(&extra);
        ferr(err, file, m, "only one YAML document is allowed");
        goto out;
    }
    yaml_document_delete(&extra);
    rc = load_document(cfg, st, &doc, file, err);
out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(buf);
    return rc;
}

/* Same address and non-zero port (port 0 binds a fresh ephemeral port each time). */
static int same_endpoint(const char *a, const char *b)
{
    struct sockaddr_storage x, y;
    socklen_t xl, yl;
    if (px_config_parse_addr(a, &x, &xl) != 0 || px_config_parse_addr(b, &y, &yl) != 0 ||
        x.ss_family != y.ss_family)
        return 0;
    if (x.ss_family == AF_INET) {
        const struct sockaddr_in *p = (const struct sockaddr_in *)&x;
        const struct sockaddr_in *q = (const struct sockaddr_in *)&y;
        return p->sin_port != 0 && p->sin_port == q->sin_port &&
               p->sin_addr.s_addr == q->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)&x;
    const struct sockaddr_in6 *q = (const struct sockaddr_in6 *)&y;
    return p->sin6_port != 0 && p->sin6_port == q->sin6_port &&
           memcmp(&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0;
}

/* Listeners bind with SO_REUSEPORT, so a repeated address would silently bind
 * twice; the admin port on a proxy address would fail later with a vaguer error. */
static int check_endpoints(const struct px_config *cfg, FILE *err)
{
    for (size_t i = 0; i < cfg->n_listen; i++) {
        for (size_t j = i + 1; j < cfg->n_listen; j++)
            if (same_endpoint(cfg->listen[i], cfg->listen[j])) {
                if (err)
                    fprintf(err, "sovgw run: listen address %s is given twice\n", cfg->listen[j]);
                return -1;
            }
        if (cfg->admin[0] && same_endpoint(cfg->listen[i], cfg->admin)) {
            if (err)
                fprintf(err, "sovgw run: admin address %s is also a proxy listener\n", cfg->admin);
            return -1;
        }
    }
    return 0;
}

/* ---- command line ---- */

static void defaults(struct px_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->admin, "127.0.0.1:9090", sizeof "127.0.0.1:9090");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
    cfg->log_level = SGW_LOG_INFO;
    cfg->max_request_line = 8192;
    cfg->max_head = 65536;
    cfg->max_headers = 100;
    cfg->max_body = 64ULL << 20;
    cfg->max_connections = 10000;
    cfg->h2_max_streams = 100;
    cfg->connect_timeout_ms = 10000;
    cfg->header_timeout_ms = 30000;
    cfg->idle_timeout_ms = 60000;
    cfg->upstream_timeout_ms = 60000;
    cfg->pool_idle_ms = 30000;
    cfg->drain_timeout_ms = 15000;
    cfg->dns_timeout_ms = 5000;
}

/* Splits argv[*i] into option and value ("--x=v" or "--x v"); advances *i past
 * a separate value. Returns the option or NULL with an error printed. */
static const struct opt *next_flag(int argc, char **argv, int *i, const char **val, size_t *vlen,
                                   FILE *err)
{
    const char *a = argv[*i];
    char show[64];
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
        if (err)
            fprintf(err, "sovgw run: unexpected argument '%s' (see sovgw help run)\n",
                    shown(a, strlen(a), show));
        return NULL;
    }
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const struct opt *o = opt_find(name, nlen);
    if (o == NULL) {
        if (err)
            fprintf(err, "sovgw run: unknown option '--%s' (see sovgw help run)\n",
                    shown(name, nlen, show));
        return NULL;
    }
    if (o->kind == K_HELP) {
        *val = NULL;
        *vlen = 0;
        return o;
    }
    if (eq) {
        *val = eq + 1;
    } else {
        if (*i + 1 >= argc) {
            if (err)
                fprintf(err, "sovgw run: --%s needs a value (%s)\n", o->name, o->arg);
            return NULL;
        }
        *val = argv[++*i];
    }
    *vlen = strlen(*val);
    return o;
}

void px_config_cleanup(struct px_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->config_file);
    free(cfg->policy_file);
    free(cfg->store_dir);
    free(cfg->pins);
    free(cfg->upstream_ca);
    free(cfg->log_file);
    memset(cfg, 0, sizeof *cfg);
}

int px_config_load(int argc, char **argv, struct px_config *cfg, FILE *err)
{
    struct load_state st = {0};
    const char *val;
    size_t vlen;
    defaults(cfg);

    /* Pass 1: --help wins over everything; find --config. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            px_config_help(stdout);
            return 1;
        }
    for (int i = 1; i < argc; i++) {
        const struct opt *o = next_flag(argc, argv, &i, &val, &vlen, err);
        if (o == NULL)
            goto fail;
        if (o->kind != K_CONFIG)
            continue;
        if (cfg->config_file != NULL) {
            if (err)
                fprintf(err, "sovgw run: --config given twice\n");
            goto fail;
        }
        if (vlen == 0 || memchr(val, '\0', vlen) != NULL) {
            if (err)
                fprintf(err, "sovgw run: --config needs a file name\n");
            goto fail;
        }
        if (set_string(&cfg->config_file, val, vlen) != 0)
            goto oom;
    }
    if (cfg->config_file != NULL && load_file(cfg, &st, cfg->config_file, err) != 0)
        goto fail;

    /* Pass 2: flags override the file. */
    for (int i = 1; i < argc; i++) {
        const struct opt *o = next_flag(argc, argv, &i, &val, &vlen, err);
        if (o == NULL)
            goto fail;
        if (o->kind == K_CONFIG)
            continue;
        char msg[MSG_LEN];
        if (apply(cfg, &st, o, val, vlen, SRC_FLAG, msg) != 0) {
            if (err)
                fprintf(err, "sovgw run: --%s: %s\n", o->name, msg);
            goto fail;
        }
    }

    if (cfg->max_head < cfg->max_request_line) {
        if (err)
            fprintf(err, "sovgw run: max-head (%zu) must be at least max-request-line (%zu)\n",
                    cfg->max_head, cfg->max_request_line);
        goto fail;
    }
    if (cfg->n_listen == 0) {
        memcpy(cfg->listen[0], "127.0.0.1:3128", sizeof "127.0.0.1:3128");
        cfg->n_listen = 1;
    }
    if (check_endpoints(cfg, err) != 0)
        goto fail;
    if (cfg->log_file == NULL && set_string(&cfg->log_file, "-", 1) != 0)
        goto oom;
    return 0;
oom:
    if (err)
        fprintf(err, "sovgw run: out of memory\n");
fail:
    px_config_cleanup(cfg);
    return 2;
}

const struct px_pin *px_config_pin_find(const struct px_config *cfg, const char *host,
                                        size_t host_len, uint16_t port)
{
    if (cfg == NULL || host == NULL)
        return NULL;
    if (host_len > 0 && host[host_len - 1] == '.')
        host_len--;
    if (host_len == 0)
        return NULL;
    for (size_t i = 0; i < cfg->n_pins; i++) {
        const struct px_pin *p = &cfg->pins[i];
        if (p->port != 0 && p->port != port)
            continue;
        const char *pat = p->host;
        size_t plen = strlen(pat);
        const char *cmp = host;
        if (plen >= 2 && pat[0] == '*' && pat[1] == '.') {
            /* "*.example.com" matches "a.example.com", never "example.com". */
            pat += 1;
            plen -= 1;
            if (host_len <= plen)
                continue;
            cmp = host + host_len - plen;
        } else if (host_len != plen) {
            continue;
        }
        size_t j = 0;
        while (j < plen && lc((unsigned char)cmp[j]) == (unsigned char)pat[j])
            j++;
        if (j == plen)
            return p;
    }
    return NULL;
}

void px_config_help(FILE *f)
{
    fputs("usage: sovgw run [options]\n"
          "\n"
          "Runs the gateway: an explicit HTTP forward proxy that enforces the data-sovereignty\n"
          "policy. Every option can also be set in the --config file under the same name without\n"
          "the leading dashes (e.g. `listen: [127.0.0.1:3128]`, `connect-timeout-ms: 5000`);\n"
          "flags override the file, and a repeated flag replaces the file's whole list.\n"
          "Both --flag VALUE and --flag=VALUE are accepted. With neither --policy nor --store,\n"
          "the embedded default policy is compiled into " PX_DEFAULT_STORE_DIR ".\n"
          "\n"
          "options:\n",
          f);
    for (size_t i = 0; i < SGW_ARRAY_LEN(opts); i++) {
        const struct opt *o = &opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-36s %s\n", left, o->help);
        if (o->kind == K_CONFIG || o->kind == K_HELP) {
            fprintf(f, "  %-36s (command line only)\n", "");
            continue;
        }
        if (o->kind == K_BYTES)
            fprintf(f, "  %-36s key: %s, default %s, range 0..1TiB\n", "", o->name, o->def);
        else if (o->kind == K_INT || o->kind == K_SIZE)
            fprintf(f, "  %-36s key: %s, default %s, range %llu..%llu\n", "", o->name, o->def,
                    (unsigned long long)o->min, (unsigned long long)o->max);
        else
            fprintf(f, "  %-36s key: %s, default %s\n", "", o->name, o->def);
    }
    fputs("\nexit codes: 0 clean shutdown, 2 usage, configuration or start error\n", f);
}
