/* proxy/config.h — sovgw run configuration: command line flags and the YAML
 * config file (keys = long flag names without "--"). Flags override the file.
 * See docs/configuration.md. */
#ifndef PX_CONFIG_H
#define PX_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define PX_MAX_LISTEN 16
/* Where the embedded default policy is compiled when neither --policy nor --store is given
 * (px_config_load leaves store_dir NULL then; the caller applies this default). */
#define PX_DEFAULT_STORE_DIR "./var/store"

struct px_pin {     /* --resolve HOST:PORT:ADDR or --connect-to HOST:PORT:ADDR:PORT2 */
    char host[256]; /* lowercase; may start with "*." (suffix match, not the apex) */
    uint16_t port;  /* 0 = any port */
    char addr[64];  /* IPv4 or IPv6 literal (no brackets) */
    uint16_t port2; /* --connect-to target port; 0 for --resolve (keep original port) */
};

struct px_config {
    /* Owned (strdup); NULL when unset. Neither policy nor store given: the embedded default
     * policy is compiled into PX_DEFAULT_STORE_DIR. */
    char *config_file, *policy_file, *store_dir;
    char listen[PX_MAX_LISTEN][64]; /* "127.0.0.1:3128" default; "[::1]:3128" allowed */
    size_t n_listen;
    char admin[64];      /* default "127.0.0.1:9090"; "" or "off" disables (stored as "") */
    int workers;         /* default: number of online CPUs */
    struct px_pin *pins; /* owned array of n_pins, in the order given (first match wins) */
    size_t n_pins;
    char *upstream_ca; /* extra CA bundle for upstream TLS, NULL = system store only */
    char dns_server[64]; /* "IP:PORT" nameserver instead of resolv.conf's; "" = resolv.conf */
    char *log_file;    /* decision log: "-" = stdout (default), else a path (append) */
    int log_level;     /* enum sgw_log_level, default INFO; --log-level error|warn|info|debug */
    /* limits */
    size_t max_request_line; /* 8192 */
    size_t max_head;         /* 65536 */
    size_t max_headers;      /* 100 */
    uint64_t max_body;       /* 64 MiB request body limit (413 beyond) */
    int max_connections;     /* 10000 per process */
    int h2_max_streams;      /* 100: concurrent streams per HTTP/2 client connection */
    /* timeouts in milliseconds */
    int connect_timeout_ms;  /* 10000 */
    int header_timeout_ms;   /* 30000: full request head must arrive within */
    int idle_timeout_ms;     /* 60000: idle keep-alive client / tunnel */
    int upstream_timeout_ms; /* 60000: upstream response head must arrive within */
    int pool_idle_ms;        /* 30000: idle pooled upstream connection lifetime */
    int drain_timeout_ms;    /* 15000: SIGTERM deadline for in-flight requests */
    int dns_timeout_ms;      /* 5000: one DNS query before it is retried (2 attempts) */
};

/* Parses argv (argv[0] == "run"); a --config FILE is read first (YAML mapping, keys = long flag
 * names without "--", e.g. `listen: [127.0.0.1:3128]`, `resolve: [...]`, `connect-timeout-ms:
 * 5000`), then flags override. Errors go to err as "sovgw run: …" or "FILE:LINE:COL: …"; returns 0
 * ok, 2 usage/config error, 1 when --help was printed. Every flag has a config key and vice versa.
 * cfg needs no initialisation; on error it is left empty (cleanup is then a no-op). --help is
 * printed to stdout. */
int px_config_load(int argc, char **argv, struct px_config *cfg, FILE *err);
void px_config_cleanup(struct px_config *cfg);

/* First pin matching host (case-insensitive, trailing dot ignored, "*.suffix" wildcard) and port;
 * NULL if none. A pin with port 0 matches any port. */
const struct px_pin *px_config_pin_find(const struct px_config *cfg, const char *host,
                                        size_t host_len, uint16_t port);

/* Splits "HOST:PORT" / "[V6]:PORT" into a sockaddr_storage; 0 ok, -1 invalid.
 * HOST must be an IP literal (no name resolution); port 0..65535 (0 = ephemeral). */
int px_config_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Prints the "sovgw run" usage: every flag, its config key and default. */
void px_config_help(FILE *f);

#endif
