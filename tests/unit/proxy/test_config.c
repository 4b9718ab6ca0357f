/* Unit tests for proxy/config.c: every flag in both spellings, config-file keys
 * and error positions, precedence (flags > file, lists replaced), pins and
 * their matching, numeric bounds at N-1/N/N+1, --policy/--store exclusion. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sgw.h"
#include "proxy/config.h"
#include "proxy/h1.h"

#include "../check.h"

static char errtext[4096];

/* Runs px_config_load on {"run", args...}; error output lands in errtext. */
static int load_v(struct px_config *cfg, int n, const char *const *args)
{
    char *argv[64];
    argv[0] = (char *)"run";
    for (int i = 0; i < n && i < 62; i++)
        argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&buf, &len);
    if (err == NULL)
        abort();
    int rc = px_config_load(n + 1, argv, cfg, err);
    fclose(err);
    snprintf(errtext, sizeof errtext, "%s", buf ? buf : "");
    free(buf);
    return rc;
}
#define LOAD(cfg, ...)                                                                             \
    load_v((cfg), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),             \
           (const char *[]){__VA_ARGS__})

static char tmpdir[] = "/tmp/sgw_test_config_XXXXXX";
static int nfiles;

/* Writes text to a fresh file in tmpdir; returns its path (static storage, 16 slots). */
static const char *write_cfg(const char *text)
{
    static char paths[16][128];
    char *p = paths[nfiles++ % 16];
    snprintf(p, 128, "%s/c%d.yaml", tmpdir, nfiles);
    FILE *f = fopen(p, "w");
    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
    return p;
}

static int has(const char *needle)
{
    return strstr(errtext, needle) != NULL;
}

static void test_defaults(void)
{
    struct px_config c;
    CHECK(load_v(&c, 0, NULL) == 0);
    CHECK(c.n_listen == 1 && strcmp(c.listen[0], "127.0.0.1:3128") == 0);
    CHECK(strcmp(c.admin, "127.0.0.1:9090") == 0);
    CHECK(c.workers >= 1);
    CHECK(c.policy_file == NULL && c.store_dir == NULL && c.config_file == NULL);
    CHECK(c.upstream_ca == NULL && c.log_file != NULL && strcmp(c.log_file, "-") == 0);
    CHECK(c.log_level == SGW_LOG_INFO);
    CHECK(c.max_request_line == 8192 && c.max_head == 65536 && c.max_headers == 100);
    CHECK(c.max_body == 64ULL * 1024 * 1024 && c.max_connections == 10000);
    CHECK(c.connect_timeout_ms == 10000 && c.header_timeout_ms == 30000);
    CHECK(c.idle_timeout_ms == 60000 && c.upstream_timeout_ms == 60000);
    CHECK(c.pool_idle_ms == 30000 && c.drain_timeout_ms == 15000);
    CHECK(c.n_pins == 0);
    px_config_cleanup(&c);
    px_config_cleanup(&c); /* idempotent */
}

static void test_every_flag(void)
{
    struct px_config c;
    int rc = LOAD(&c, "--policy", "p.yaml", "--listen=127.0.0.1:8080", "--listen", "[::1]:8081",
                  "--admin", "[::1]:9999", "--workers=3", "--resolve", "a.example:443:10.0.0.1",
                  "--connect-to=b.example:80:[2001:db8::1]:8080", "--upstream-ca", "ca.pem",
                  "--log-file=/tmp/x.log", "--log-level", "debug", "--max-request-line", "4096",
                  "--max-head=32768", "--max-headers", "50", "--max-body", "8MiB",
                  "--max-connections=77", "--connect-timeout-ms", "1001",
                  "--header-timeout-ms=1002", "--idle-timeout-ms", "1003", "--upstream-timeout-ms",
                  "1004", "--pool-idle-ms", "1005", "--drain-timeout-ms=0");
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "%s", errtext);
        return;
    }
    CHECK(strcmp(c.policy_file, "p.yaml") == 0 && c.store_dir == NULL);
    CHECK(c.n_listen == 2 && strcmp(c.listen[0], "127.0.0.1:8080") == 0 &&
          strcmp(c.listen[1], "[::1]:8081") == 0);
    CHECK(strcmp(c.admin, "[::1]:9999") == 0);
    CHECK(c.workers == 3);
    CHECK(c.n_pins == 2);
    CHECK(strcmp(c.pins[0].host, "a.example") == 0 && c.pins[0].port == 443 &&
          strcmp(c.pins[0].addr, "10.0.0.1") == 0 && c.pins[0].port2 == 0);
    CHECK(strcmp(c.pins[1].host, "b.example") == 0 && c.pins[1].port == 80 &&
          strcmp(c.pins[1].addr, "2001:db8::1") == 0 && c.pins[1].port2 == 8080);
    CHECK(strcmp(c.upstream_ca, "ca.pem") == 0);
    CHECK(strcmp(c.log_file, "/tmp/x.log") == 0);
    CHECK(c.log_level == SGW_LOG_DEBUG);
    CHECK(c.max_request_line == 4096 && c.max_head == 32768 && c.max_headers == 50);
    CHECK(c.max_body == 8ULL << 20 && c.max_connections == 77);
    CHECK(c.connect_timeout_ms == 1001 && c.header_timeout_ms == 1002);
    CHECK(c.idle_timeout_ms == 1003 && c.upstream_timeout_ms == 1004);
    CHECK(c.pool_idle_ms == 1005 && c.drain_timeout_ms == 0);
    px_config_cleanup(&c);

    CHECK(LOAD(&c, "--store", "/var/lib/sovgw") == 0 && strcmp(c.store_dir, "/var/lib/sovgw") == 0);
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--admin", "off") == 0 && c.admin[0] == '\0');
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--admin=") == 0 && c.admin[0] == '\0');
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--log-file", "-") == 0 && strcmp(c.log_file, "-") == 0);
    px_config_cleanup(&c);
    const char *levels[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        CHECK(LOAD(&c, "--log-level", levels[i]) == 0 && c.log_level == i);
        px_config_cleanup(&c);
    }
    CHECK(LOAD(&c, "--log-level", "ERROR") == 2 && has("--log-level"));
    CHECK(LOAD(&c, "--log-level", "trace") == 2);
}

static void test_usage_errors(void)
{
    struct px_config c;
    CHECK(LOAD(&c, "--bogus") == 2 && has("sovgw run: unknown option '--bogus'"));
    CHECK(LOAD(&c, "stray") == 2 && has("unexpected argument"));
    CHECK(LOAD(&c, "--workers") == 2 && has("--workers needs a value"));
    CHECK(LOAD(&c, "--policy", "a", "--store", "b") == 2 && has("mutually exclusive"));
    CHECK(LOAD(&c, "--store", "b", "--policy=a") == 2 && has("mutually exclusive"));
    CHECK(LOAD(&c, "--policy=") == 2 && has("--policy"));
    CHECK(LOAD(&c, "--upstream-ca=") == 2);
    CHECK(LOAD(&c, "--config", "a", "--config", "b") == 2 && has("--config given twice"));
    CHECK(LOAD(&c, "--config", "/nonexistent/sovgw.yaml") == 2 &&
          has("cannot open config file /nonexistent/sovgw.yaml"));
    CHECK(LOAD(&c, "--max-head", "4096", "--max-request-line", "8192") == 2 && has("max-head"));
    CHECK(LOAD(&c, "--max-head", "8192", "--max-request-line", "8192") == 0);
    px_config_cleanup(&c);
    /* On error nothing is left allocated and cleanup is still safe. */
    CHECK(LOAD(&c, "--policy", "x", "--workers", "0") == 2 && c.policy_file == NULL);
    px_config_cleanup(&c);
    /* --help wins and prints usage to stdout. */
    CHECK(LOAD(&c, "--workers", "bad", "--help") == 1);
    px_config_cleanup(&c);
}

struct bound {
    const char *flag;
    uint64_t min, max;
};

static void test_numeric_bounds(void)
{
    static const struct bound b[] = {
        {"workers", 1, 1024},
        {"max-request-line", 256, 1048576},
        {"max-head", 1024, 16777216},
        {"max-headers", 1, PX_H1_MAX_HEADERS}, /* the parser's table size: no silent clamp */
        {"max-connections", 1, 1000000},
        {"connect-timeout-ms", 1, 86400000},
        {"header-timeout-ms", 1, 86400000},
        {"idle-timeout-ms", 1, 86400000},
        {"upstream-timeout-ms", 1, 86400000},
        {"pool-idle-ms", 1, 86400000},
        {"drain-timeout-ms", 0, 86400000},
        {"max-body", 0, 1099511627776ULL},
    };
    struct px_config c;
    for (size_t i = 0; i < SGW_ARRAY_LEN(b); i++) {
        char flag[64], v[32];
        snprintf(flag, sizeof flag, "--%s", b[i].flag);
        /* max-head must stay >= max-request-line: lift max-head for that row. */
        const char *mh = strcmp(b[i].flag, "max-request-line") == 0 ? "16777216" : "65536";
        const char *rl = strcmp(b[i].flag, "max-head") == 0 ? "256" : "8192";
        uint64_t probes[4] = {b[i].min - 1, b[i].min, b[i].max, b[i].max + 1};
        int expect[4] = {2, 0, 0, 2};
        for (int k = 0; k < 4; k++) {
            if (k == 0 && b[i].min == 0)
                continue;
            snprintf(v, sizeof v, "%llu", (unsigned long long)probes[k]);
            int rc =
                strcmp(b[i].flag, "max-head") == 0 || strcmp(b[i].flag, "max-request-line") == 0
                    ? LOAD(&c, "--max-head", mh, "--max-request-line", rl, flag, v)
                    : LOAD(&c, flag, v);
            if (rc != expect[k])
                fprintf(stderr, "bound %s=%s: rc %d (%s)\n", b[i].flag, v, rc, errtext);
            CHECK(rc == expect[k]);
            if (rc == 2)
                CHECK(has("out of range"));
            px_config_cleanup(&c);
        }
        /* strict decimals: no sign, no spaces, no junk */
        const char *bad[] = {"", "-1", "+5", " 5", "5 ", "5x", "0x10", "1e3"};
        for (size_t k = 0; k < SGW_ARRAY_LEN(bad); k++) {
            CHECK(LOAD(&c, flag, bad[k]) == 2);
            CHECK(strncmp(errtext, "sovgw run: ", 11) == 0);
        }
    }
    CHECK(LOAD(&c, "--workers", "99999999999999999999999") == 2 && has("out of range"));
}

static void test_sizes(void)
{
    static const struct {
        const char *v;
        int rc;
        uint64_t want;
    } t[] = {
        {"8MiB", 0, 8ULL << 20},
        {"64KiB", 0, 64ULL << 10},
        {"1GiB", 0, 1ULL << 30},
        {"1TiB", 0, 1ULL << 40},
        {"123", 0, 123},
        {"123B", 0, 123},
        {"0", 0, 0},
        {"0MiB", 0, 0},
        {"1025GiB", 2, 0},
        {"8M", 2, 0},
        {"8 MiB", 2, 0},
        {"MiB", 2, 0},
        {"8mib", 2, 0},
        {"8KB", 2, 0},
        {"1.5MiB", 2, 0},
        {"17179869184TiB", 2, 0}, /* 2^34 TiB overflows 64 bits */
    };
    struct px_config c;
    for (size_t i = 0; i < SGW_ARRAY_LEN(t); i++) {
        int rc = LOAD(&c, "--max-body", t[i].v);
        CHECK(rc == t[i].rc);
        if (rc == 0)
            CHECK(c.max_body == t[i].want);
        px_config_cleanup(&c);
    }
}

static void test_listen(void)
{
    struct px_config c;
    const char *args[PX_MAX_LISTEN * 2 + 2];
    char addrs[PX_MAX_LISTEN + 1][32];
    for (int i = 0; i <= PX_MAX_LISTEN; i++) {
        snprintf(addrs[i], sizeof addrs[i], "127.0.0.1:%d", 4000 + i);
        args[2 * i] = "--listen";
        args[2 * i + 1] = addrs[i];
    }
    CHECK(load_v(&c, PX_MAX_LISTEN * 2, args) == 0 && c.n_listen == PX_MAX_LISTEN);
    CHECK(strcmp(c.listen[PX_MAX_LISTEN - 1], "127.0.0.1:4015") == 0);
    px_config_cleanup(&c);
    CHECK(load_v(&c, PX_MAX_LISTEN * 2 + 2, args) == 2 && has("too many listeners"));
    const char *bad[] = {"localhost:3128", "127.0.0.1",   "127.0.0.1:65536", "[127.0.0.1]:80",
                         "::1:3128",       "[::1]3128",   "[::1]:",          "1.2.3:80",
                         ":3128",          "127.0.0.1:-1"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(bad); i++) {
        CHECK(LOAD(&c, "--listen", bad[i]) == 2);
        CHECK(has("--listen: invalid address"));
    }
    CHECK(LOAD(&c, "--listen", "0.0.0.0:65535") == 0);
    px_config_cleanup(&c);
    /* The same endpoint twice, or admin on a proxy endpoint, is refused; port 0 is not a clash. */
    CHECK(LOAD(&c, "--listen", "127.0.0.1:80", "--listen", "127.0.0.1:80") == 2 &&
          has("listen address 127.0.0.1:80 is given twice"));
    CHECK(LOAD(&c, "--listen", "[::1]:80", "--listen", "[0:0::1]:80") == 2 && has("given twice"));
    CHECK(LOAD(&c, "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--admin",
               "127.0.0.1:0") == 0 &&
          c.n_listen == 2);
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--listen", "127.0.0.1:80", "--listen", "127.0.0.2:80", "--listen",
               "[::1]:80") == 0);
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--admin", "127.0.0.1:3128") == 2 &&
          has("admin address 127.0.0.1:3128 is also"));
    CHECK(LOAD(&c, "--admin", "off", "--listen", "127.0.0.1:9090") == 0);
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--admin", "example.com:80") == 2 && has("--admin: invalid address"));
}

static void test_parse_addr(void)
{
    struct sockaddr_storage ss;
    socklen_t len;
    CHECK(px_config_parse_addr("127.0.0.1:3128", &ss, &len) == 0);
    CHECK(ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in));
    CHECK(ntohs(((struct sockaddr_in *)&ss)->sin_port) == 3128);
    CHECK(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) == 0x7f000001);
    CHECK(px_config_parse_addr("[::1]:0", &ss, &len) == 0);
    CHECK(ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
    CHECK(((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr[15] == 1);
    CHECK(px_config_parse_addr("[::1]:65536", &ss, &len) == -1);
    CHECK(px_config_parse_addr("", &ss, &len) == -1);
    CHECK(px_config_parse_addr("[", &ss, &len) == -1);
    CHECK(px_config_parse_addr("[]:80", &ss, &len) == -1);
    CHECK(px_config_parse_addr("host:80", &ss, &len) == -1);
    CHECK(px_config_parse_addr(NULL, &ss, &len) == -1);
}

static void test_pins(void)
{
    struct px_config c;
    int rc = LOAD(&c, "--resolve", "API.Example.COM.:443:192.0.2.1", "--resolve",
                  "*.example.com:*:192.0.2.2", "--connect-to", "svc.internal:80:::1:8080",
                  "--resolve", "v6.example:443:[2001:db8::5]");
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "%s", errtext);
        return;
    }
    CHECK(c.n_pins == 4);
    CHECK(strcmp(c.pins[0].host, "api.example.com") == 0); /* lowercased, dot dropped */
    CHECK(strcmp(c.pins[1].host, "*.example.com") == 0 && c.pins[1].port == 0);
    CHECK(strcmp(c.pins[2].addr, "::1") == 0 && c.pins[2].port2 == 8080);
    CHECK(strcmp(c.pins[3].addr, "2001:db8::5") == 0);

    const struct px_pin *p;
    p = px_config_pin_find(&c, "api.example.com", 15, 443);
    CHECK(p == &c.pins[0]);
    p = px_config_pin_find(&c, "API.EXAMPLE.COM.", 16, 443); /* case, trailing dot */
    CHECK(p == &c.pins[0]);
    p = px_config_pin_find(&c, "api.example.com", 15, 8443); /* other port: wildcard pin */
    CHECK(p == &c.pins[1]);
    p = px_config_pin_find(&c, "a.b.example.com", 15, 1);
    CHECK(p == &c.pins[1]);
    CHECK(px_config_pin_find(&c, "example.com", 11, 443) == NULL);  /* not the apex */
    CHECK(px_config_pin_find(&c, "xexample.com", 12, 443) == NULL); /* label boundary */
    CHECK(px_config_pin_find(&c, ".example.com", 12, 443) == &c.pins[1] ||
          px_config_pin_find(&c, ".example.com", 12, 443) == NULL);
    CHECK(px_config_pin_find(&c, "svc.internal", 12, 80) == &c.pins[2]);
    CHECK(px_config_pin_find(&c, "svc.internal", 12, 81) == NULL);
    CHECK(px_config_pin_find(&c, "svc.internal.x", 12, 80) == &c.pins[2]); /* length honoured */
    CHECK(px_config_pin_find(&c, "svc.internal", 11, 80) == NULL);
    CHECK(px_config_pin_find(&c, "", 0, 80) == NULL);
    px_config_cleanup(&c);

    /* Pin validation: host, port and address at their bounds. */
    char l63[64], l64[65], longhost[300];
    memset(l63, 'a', 63);
    l63[63] = '\0';
    memset(l64, 'a', 64);
    l64[64] = '\0';
    char v[400];
    snprintf(v, sizeof v, "%s.com:443:10.0.0.1", l63);
    CHECK(LOAD(&c, "--resolve", v) == 0);
    px_config_cleanup(&c);
    snprintf(v, sizeof v, "%s.com:443:10.0.0.1", l64);
    CHECK(LOAD(&c, "--resolve", v) == 2 && has("invalid host"));
    /* 253 characters is the longest name; 254 is refused. */
    for (int len = 252; len <= 254; len++) {
        memset(longhost, 'a', (size_t)len);
        for (int k = 50; k < len; k += 50)
            longhost[k] = '.';
        longhost[len] = '\0';
        snprintf(v, sizeof v, "%s:1:10.0.0.1", longhost);
        CHECK(LOAD(&c, "--resolve", v) == (len <= 253 ? 0 : 2));
        px_config_cleanup(&c);
    }
    const char *bad_resolve[] = {
        "-a.com:443:10.0.0.1",  "a-.com:443:10.0.0.1",
        "a..com:443:10.0.0.1",  "*.:443:10.0.0.1",
        "a.*.com:443:10.0.0.1", "a.com:0:10.0.0.1",
        "a.com:65536:10.0.0.1", "a.com:443:example.com",
        "a.com:443:10.0.0.256", "a.com:443",
        "a.com:443:",           ":443:10.0.0.1",
        "a.com::10.0.0.1",      "a.com:443:[10.0.0.1]",
        "a b.com:443:10.0.0.1",
    };
    for (size_t i = 0; i < SGW_ARRAY_LEN(bad_resolve); i++) {
        int r = LOAD(&c, "--resolve", bad_resolve[i]);
        if (r != 2)
            fprintf(stderr, "accepted bad pin %s\n", bad_resolve[i]);
        CHECK(r == 2 && has("--resolve: "));
        px_config_cleanup(&c);
    }
    CHECK(LOAD(&c, "--resolve", "a.com:1:10.0.0.1", "--resolve", "a.com:65535:10.0.0.1") == 0);
    px_config_cleanup(&c);
    const char *bad_ct[] = {"a.com:443:10.0.0.1", "a.com:443:10.0.0.1:0",
                            "a.com:443:10.0.0.1:65536", "a.com:443:10.0.0.1:x"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(bad_ct); i++)
        CHECK(LOAD(&c, "--connect-to", bad_ct[i]) == 2 && has("--connect-to: "));
    CHECK(LOAD(&c, "--connect-to", "a.com:443:10.0.0.1:65535") == 0 && c.pins[0].port2 == 65535);
    px_config_cleanup(&c);
}

static void test_file(void)
{
    struct px_config c;
    const char *f = write_cfg("# sovgw\n"
                              "listen: [127.0.0.1:4128, '[::1]:4129']\n"
                              "admin: off\n"
                              "workers: 2\n"
                              "store: /var/lib/sovgw\n"
                              "resolve:\n"
                              "  - a.example:443:10.1.1.1\n"
                              "connect-to: b.example:443:10.2.2.2:8443\n"
                              "upstream-ca: /etc/ca.pem\n"
                              "log-file: /var/log/sovgw.jsonl\n"
                              "log-level: warn\n"
                              "max-request-line: 1024\n"
                              "max-head: 2048\n"
                              "max-headers: 10\n"
                              "max-body: \"1MiB\"\n"
                              "max-connections: 5\n"
                              "connect-timeout-ms: 11\n"
                              "header-timeout-ms: 12\n"
                              "idle-timeout-ms: 13\n"
                              "upstream-timeout-ms: 14\n"
                              "pool-idle-ms: 15\n"
                              "drain-timeout-ms: 16\n");
    int rc = LOAD(&c, "--config", f);
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "%s", errtext);
        return;
    }
    CHECK(strcmp(c.config_file, f) == 0);
    CHECK(c.n_listen == 2 && strcmp(c.listen[1], "[::1]:4129") == 0);
    CHECK(c.admin[0] == '\0' && c.workers == 2 && strcmp(c.store_dir, "/var/lib/sovgw") == 0);
    CHECK(c.n_pins == 2 && c.pins[0].port2 == 0 && c.pins[1].port2 == 8443);
    CHECK(strcmp(c.upstream_ca, "/etc/ca.pem") == 0);
    CHECK(strcmp(c.log_file, "/var/log/sovgw.jsonl") == 0 && c.log_level == SGW_LOG_WARN);
    CHECK(c.max_request_line == 1024 && c.max_head == 2048 && c.max_headers == 10);
    CHECK(c.max_body == 1ULL << 20 && c.max_connections == 5);
    CHECK(c.connect_timeout_ms == 11 && c.header_timeout_ms == 12 && c.idle_timeout_ms == 13);
    CHECK(c.upstream_timeout_ms == 14 && c.pool_idle_ms == 15 && c.drain_timeout_ms == 16);
    px_config_cleanup(&c);

    /* Precedence: flags override; a repeated flag replaces the file's list of that key only. */
    rc = LOAD(&c, "--workers", "7", "--listen", "127.0.0.1:5000", "--resolve",
              "z.example:1:10.9.9.9", "--config", f, "--policy", "flag.yaml", "--max-head", "4096",
              "--admin=127.0.0.1:0");
    CHECK(rc == 0);
    CHECK(c.workers == 7 && c.n_listen == 1 && strcmp(c.listen[0], "127.0.0.1:5000") == 0);
    CHECK(strcmp(c.admin, "127.0.0.1:0") == 0);
    CHECK(c.max_head == 4096 && c.max_request_line == 1024);
    CHECK(c.policy_file && strcmp(c.policy_file, "flag.yaml") == 0 && c.store_dir == NULL);
    CHECK(c.n_pins == 2);
    const struct px_pin *z = px_config_pin_find(&c, "z.example", 9, 1);
    CHECK(z != NULL && strcmp(z->addr, "10.9.9.9") == 0);
    CHECK(px_config_pin_find(&c, "a.example", 9, 443) == NULL); /* file resolve replaced */
    CHECK(px_config_pin_find(&c, "b.example", 9, 443) != NULL); /* file connect-to kept */
    px_config_cleanup(&c);

    /* Scalar for a list key, empty file, comments only. */
    CHECK(LOAD(&c, "--config", write_cfg("listen: 127.0.0.1:1\n")) == 0 && c.n_listen == 1);
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--config", write_cfg("")) == 0 && c.n_listen == 1);
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--config", write_cfg("# nothing\n")) == 0);
    px_config_cleanup(&c);
    CHECK(LOAD(&c, "--config", write_cfg("---\nworkers: 1\n...\n")) == 0 && c.workers == 1);
    px_config_cleanup(&c);
}

struct file_err {
    const char *text;
    const char *pos;  /* expected ":LINE:COL: " */
    const char *what; /* expected message part */
};

static void test_file_errors(void)
{
    static const struct file_err t[] = {
        {"workers: 2\nbogus: 1\n", ":2:1: ", "unknown key 'bogus'"},
        {"workers: 2\n  \nmax-body: 2KB\n", ":3:11: ", "max-body: '2KB' is not a size"},
        {"listen:\n  - 127.0.0.1:1\n  - nohost:2\n", ":3:5: ", "listen: invalid address"},
        {"workers: 0\n", ":1:10: ", "workers: '0' is out of range 1..1024"},
        {"workers: 1025\n", ":1:10: ", "out of range"},
        {"workers: [1]\n", ":1:10: ", "workers: expected a single value"},
        {"listen: {a: b}\n", ":1:9: ", "listen: expected a value or a list"},
        {"listen: [[a]]\n", ":1:10: ", "list items must be single values"},
        {"listen: []\n", ":1:9: ", "empty list"},
        {"workers: 1\nworkers: 2\n", ":2:1: ", "duplicate key 'workers'"},
        {"config: other.yaml\n", ":1:1: ", "only valid on the command line"},
        {"help: true\n", ":1:1: ", "only valid on the command line"},
        {"- listen\n", ":1:1: ", "must be a mapping"},
        {"just text\n", ":1:1: ", "must be a mapping"},
        {"workers: 1\n---\nworkers: 2\n", ":3:1: ", "only one YAML document"},
        {"workers: [1\n", ":2:1: ", "invalid YAML: "},
        {"policy: a\nstore: b\n", ":2:8: ", "mutually exclusive"},
        {"resolve: [\"a.com:443:nope\"]\n",
         ":1:11: ", "resolve: 'a.com:443:nope': invalid address"},
        {"log-level: loud\n", ":1:12: ", "not one of error"},
        {"admin: \"1.2.3.4\"\n", ":1:8: ", "admin: invalid address"},
        {"? [a]\n: 1\n", ":1:3: ", "keys must be plain names"},
        {"workers: \"\\0\"\n", ":1:10: ", "NUL byte"},
        {"upstream-ca: ''\n", ":1:14: ", "non-empty"},
    };
    struct px_config c;
    for (size_t i = 0; i < SGW_ARRAY_LEN(t); i++) {
        const char *f = write_cfg(t[i].text);
        int rc = LOAD(&c, "--config", f);
        char want[256];
        snprintf(want, sizeof want, "%s%s", f, t[i].pos);
        int ok = rc == 2 && strncmp(errtext, want, strlen(want)) == 0 &&
                 strstr(errtext + strlen(want), t[i].what) != NULL;
        if (!ok)
            fprintf(stderr, "case %zu: rc %d, want '%s', got '%s'\n", i, rc, want, errtext);
        CHECK(ok);
        px_config_cleanup(&c);
    }
    /* Flag --store overrides the file's policy (flags beat the file). */
    const char *f = write_cfg("policy: file.yaml\n");
    CHECK(LOAD(&c, "--config", f, "--store", "d") == 0 && c.policy_file == NULL &&
          strcmp(c.store_dir, "d") == 0);
    px_config_cleanup(&c);
    /* Oversized file (> 1 MiB) refused. */
    char *big = malloc(1024 * 1024 + 64);
    if (big) {
        memset(big, '#', 1024 * 1024 + 10);
        big[1024 * 1024 + 10] = '\0';
        CHECK(LOAD(&c, "--config", write_cfg(big)) == 2 && has("larger than"));
        big[1024 * 1024 - 1] = '\0'; /* exactly 1 MiB - 1 of comment: accepted */
        CHECK(LOAD(&c, "--config", write_cfg(big)) == 0);
        px_config_cleanup(&c);
        free(big);
    }
}

/* The shipped example must stay loadable (ctest runs in the source tree). */
static void test_example(void)
{
    struct px_config c;
    if (access("examples/sovgw.yaml", R_OK) != 0) {
        fprintf(stderr, "examples/sovgw.yaml not found (run from the source tree)\n");
        failures++;
        return;
    }
    int rc = LOAD(&c, "--config", "examples/sovgw.yaml");
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "%s", errtext);
        return;
    }
    CHECK(c.n_listen == 2 && c.workers == 4 && c.n_pins == 3 && c.store_dir != NULL);
    CHECK(px_config_pin_find(&c, "bucket.s3.eu-central-1.amazonaws.com", 36, 443) != NULL);
    px_config_cleanup(&c);
}

static void test_help(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        abort();
    px_config_help(f);
    fclose(f);
    const char *keys[] = {"config",
                          "policy",
                          "store",
                          "listen",
                          "admin",
                          "workers",
                          "resolve",
                          "connect-to",
                          "upstream-ca",
                          "dns-server",
                          "dns-timeout-ms",
                          "log-file",
                          "log-level",
                          "max-request-line",
                          "max-head",
                          "max-headers",
                          "max-body",
                          "max-connections",
                          "h2-max-streams",
                          "connect-timeout-ms",
                          "header-timeout-ms",
                          "idle-timeout-ms",
                          "upstream-timeout-ms",
                          "pool-idle-ms",
                          "drain-timeout-ms",
                          "help"};
    /* Every flag listed in the help is also a config key: a file setting it to
     * an invalid value fails on the value, never as an unknown key. */
    int listed = 0;
    for (const char *p = buf; (p = strstr(p, "\n  --")) != NULL; p += 5) {
        char name[64];
        size_t n = strcspn(p + 5, " \n");
        if (n == 0 || n >= sizeof name)
            continue;
        memcpy(name, p + 5, n);
        name[n] = '\0';
        listed++;
        if (strcmp(name, "config") == 0 || strcmp(name, "help") == 0)
            continue;
        char text[128];
        snprintf(text, sizeof text, "%s: [[x]]\n", name);
        struct px_config c;
        CHECK(LOAD(&c, "--config", write_cfg(text)) == 2);
        CHECK(!has("unknown key"));
    }
    CHECK(listed == (int)SGW_ARRAY_LEN(keys));
    for (size_t i = 0; i < SGW_ARRAY_LEN(keys); i++) {
        char flag[64], key[64];
        snprintf(flag, sizeof flag, "--%s", keys[i]);
        snprintf(key, sizeof key, "key: %s,", keys[i]);
        CHECK(strstr(buf, flag) != NULL);
        if (strcmp(keys[i], "config") != 0 && strcmp(keys[i], "help") != 0)
            CHECK(strstr(buf, key) != NULL);
    }
    free(buf);
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_every_flag();
    test_usage_errors();
    test_numeric_bounds();
    test_sizes();
    test_listen();
    test_parse_addr();
    test_pins();
    test_file();
    test_file_errors();
    test_example();
    test_help();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    puts("test_config: ok");
    return 0;
}
