/* Unit tests for rules/eval.c: host matching (exact, wildcard, case, trailing
 * dot), ports, methods, paths, CIDRs (v4, v6, mapped), first match wins,
 * NEED_ADDR, the private-range guard, store errors, hot recompile. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rules/internal.h"
#include "store/store.h"

#include "../check.h"

static char g_base[] = "/tmp/sgw-test-eval-XXXXXX";
static char g_dir[600];

static void rm_store(const char *dir)
{
    char p[700];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int compile(const char *yaml)
{
    return rl_policy_compile_buffer("t.yaml", yaml, strlen(yaml), g_dir, stderr);
}

struct ctx {
    struct rl_engine *eng;
    struct rl_reader *rd;
};

static int open_ctx(struct ctx *c)
{
    char err[256];
    c->eng = NULL;
    c->rd = NULL;
    if (rl_engine_open(g_dir, &c->eng, err, sizeof err) != SGW_OK) {
        fprintf(stderr, "engine open: %s\n", err);
        return 0;
    }
    return rl_reader_new(c->eng, &c->rd) == SGW_OK;
}

static void close_ctx(struct ctx *c)
{
    rl_reader_free(c->rd);
    rl_engine_free(c->eng);
}

/* Decides; addr NULL or an IPv4/IPv6 literal. */
static struct rl_decision dec(struct ctx *c, const char *host, uint16_t port, const char *method,
                              const char *path, const char *addr, int pinned)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct rl_request rq = {.host = host, .host_len = strlen(host), .port = port,
                            .method = method, .method_len = strlen(method), .path = path,
                            .path_len = strlen(path), .addr_pinned = pinned};
    if (addr) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
        } else {
            fprintf(stderr, "bad test address %s\n", addr);
            failures++;
        }
        rq.addr = (const struct sockaddr *)&ss;
    }
    struct rl_decision d;
    rl_decide(c->rd, &rq, &d);
    return d;
}

#define PUB4 "93.184.216.34"
#define PUB6 "2606:2800:220:1:248:1893:25c8:1946"

static int is(struct rl_decision d, enum rl_verdict v, const char *rule)
{
    if (d.verdict == v && !strcmp(d.rule_id, rule))
        return 1;
    fprintf(stderr, "  got %s/%s (%s), want %s/%s\n", rl_verdict_str(d.verdict), d.rule_id,
            d.reason, rl_verdict_str(v), rule);
    return 0;
}

static void test_hosts(void)
{
    CHECK(compile("version: 1\nrules:\n"
                  "  - id: exact\n    match: { host: [api.example.com] }\n    action: allow\n"
                  "  - id: wild\n    match: { host: [\"*.a.com\"] }\n    action: allow\n"
                  "  - id: both\n    match: { host: [b.com, \"*.b.com\"] }\n    action: allow\n") ==
          SGW_OK);
    struct ctx c;
    if (!open_ctx(&c))
        return;
    CHECK(is(dec(&c, "api.example.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "exact"));
    CHECK(is(dec(&c, "API.Example.COM.", 443, "GET", "/", PUB4, 0), RL_ALLOW, "exact"));
    CHECK(is(dec(&c, "x.api.example.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "example.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "pi.example.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    /* wildcard: deeper names, never the apex */
    CHECK(is(dec(&c, "x.a.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "wild"));
    CHECK(is(dec(&c, "x.y.a.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "wild"));
    CHECK(is(dec(&c, "a.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "xa.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "X.A.COM.", 443, "GET", "/", PUB4, 0), RL_ALLOW, "wild"));
    struct rl_decision d = dec(&c, "x.y.a.com", 443, "GET", "/", PUB4, 0);
    CHECK(!strcmp(d.reason, "rule wild matched host *.a.com"));
    CHECK(d.policy_version == 1);
    CHECK(is(dec(&c, "b.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "both"));
    CHECK(is(dec(&c, "z.b.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "both"));
    /* only one trailing dot is stripped; empty labels and junk are denied */
    CHECK(is(dec(&c, "api.example.com..", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, ".x.a.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "x..a.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
    struct rl_request rq = {.host = "x.a.com\0.evil.com", .host_len = 17, .port = 443,
                            .method = "GET", .method_len = 3, .path = "/", .path_len = 1};
    rl_decide(c.rd, &rq, &d);
    CHECK(d.verdict == RL_DENY && strstr(d.reason, "invalid characters"));
    close_ctx(&c);
}

static void test_conditions(void)
{
    CHECK(compile("version: 1\nrules:\n"
                  "  - id: ports\n    match: { host: [p.com], port: [443, \"8000-8100\"] }\n"
                  "    action: allow\n"
                  "  - id: methods\n    match: { host: [m.com], method: [GET, head] }\n"
                  "    action: allow\n"
                  "  - id: paths\n    match: { host: [q.com], path: [/v1/, /health] }\n"
                  "    action: allow\n"
                  "  - id: deny-admin\n    match: { host: [r.com], path: [/admin] }\n"
                  "    action: deny\n"
                  "  - id: r-all\n    match: { host: [r.com] }\n    action: allow\n") == SGW_OK);
    struct ctx c;
    if (!open_ctx(&c))
        return;
    CHECK(is(dec(&c, "p.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "ports"));
    CHECK(is(dec(&c, "p.com", 80, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "p.com", 7999, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "p.com", 8000, "GET", "/", PUB4, 0), RL_ALLOW, "ports"));
    CHECK(is(dec(&c, "p.com", 8100, "GET", "/", PUB4, 0), RL_ALLOW, "ports"));
    CHECK(is(dec(&c, "p.com", 8101, "GET", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "m.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "methods"));
    CHECK(is(dec(&c, "m.com", 443, "HEAD", "/", PUB4, 0), RL_ALLOW, "methods"));
    CHECK(is(dec(&c, "m.com", 443, "POST", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "m.com", 443, "get", "/", PUB4, 0), RL_DENY, "default")); /* case-sensitive */
    CHECK(is(dec(&c, "m.com", 443, "GETX", "/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "q.com", 443, "GET", "/v1/models?x=1", PUB4, 0), RL_ALLOW, "paths"));
    CHECK(is(dec(&c, "q.com", 443, "GET", "/health", PUB4, 0), RL_ALLOW, "paths"));
    CHECK(is(dec(&c, "q.com", 443, "GET", "/v1", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "q.com", 443, "GET", "/v2/", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "q.com", 443, "CONNECT", "", PUB4, 0), RL_DENY, "default"));
    /* non-canonical paths: allow prefixes never match them, deny prefixes do */
    CHECK(is(dec(&c, "q.com", 443, "GET", "/v1/../admin", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "q.com", 443, "GET", "/v1/%2e%2e/admin", PUB4, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "r.com", 443, "GET", "/admin/x", PUB4, 0), RL_DENY, "deny-admin"));
    CHECK(is(dec(&c, "r.com", 443, "GET", "/x/../admin", PUB4, 0), RL_DENY, "deny-admin"));
    CHECK(is(dec(&c, "r.com", 443, "GET", "/x/%2E./admin", PUB4, 0), RL_DENY, "deny-admin"));
    CHECK(is(dec(&c, "r.com", 443, "GET", "/x\\admin", PUB4, 0), RL_DENY, "deny-admin"));
    CHECK(is(dec(&c, "r.com", 443, "GET", "/public?a=/../", PUB4, 0), RL_ALLOW, "r-all"));
    CHECK(is(dec(&c, "r.com", 443, "GET", "/public/..data", PUB4, 0), RL_ALLOW, "r-all"));
    /* NULL path / method are "none", whatever the lengths say */
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, PUB4, &sin.sin_addr);
    struct rl_request rq = {.host = "q.com", .host_len = 5, .port = 443, .method = NULL,
                            .method_len = 3, .path = NULL, .path_len = 9,
                            .addr = (const struct sockaddr *)&sin};
    struct rl_decision d;
    rl_decide(c.rd, &rq, &d);
    CHECK(is(d, RL_DENY, "default"));
    rq.host = "r.com";
    rl_decide(c.rd, &rq, &d);
    CHECK(is(d, RL_ALLOW, "r-all"));
    close_ctx(&c);
}

static void test_cidrs_and_order(void)
{
    CHECK(compile("version: 1\nrules:\n"
                  "  - id: first\n    match: { host: [o.com], port: [443] }\n    action: deny\n"
                  "  - id: second\n    match: { host: [o.com, \"*.o.com\"] }\n    action: allow\n"
                  "  - id: v4-32\n    match: { cidr: [203.0.113.7/32] }\n    action: allow\n"
                  "  - id: v4-24\n    match: { cidr: [203.0.113.0/24] }\n    action: deny\n"
                  "  - id: v6-128\n    match: { cidr: [\"2001:db8::1\"] }\n    action: allow\n"
                  "  - id: v6-32\n    match: { cidr: [\"2001:db8::/32\"] }\n    action: deny\n"
                  "  - id: mapped\n    match: { cidr: [\"::ffff:198.51.100.0/120\"] }\n"
                  "    action: allow\n"
                  "  - id: hostcidr\n    match: { host: [hc.com], cidr: [192.0.2.0/24] }\n"
                  "    action: allow\n"
                  "  - id: v4-all\n    match: { cidr: [0.0.0.0/0], port: [8443] }\n"
                  "    action: allow\n"
                  "  - id: v6-all\n    match: { cidr: [\"::/0\"], port: [8443] }\n"
                  "    action: deny\n") == SGW_OK);
    struct ctx c;
    if (!open_ctx(&c))
        return;
    /* first match wins, in source order, across host and wildcard lists */
    CHECK(is(dec(&c, "o.com", 443, "GET", "/", PUB4, 0), RL_DENY, "first"));
    CHECK(is(dec(&c, "o.com", 80, "GET", "/", PUB4, 0), RL_ALLOW, "second"));
    CHECK(is(dec(&c, "x.o.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "second"));
    /* cidr-only rules, any host name */
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", "203.0.113.7", 0), RL_ALLOW, "v4-32"));
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", "203.0.113.8", 0), RL_DENY, "v4-24"));
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", "203.0.114.7", 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", "2001:db8::1", 0), RL_ALLOW, "v6-128"));
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", "2001:db8::2", 0), RL_DENY, "v6-32"));
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", "2001:db9::1", 0), RL_DENY, "default"));
    /* IPv4-mapped addresses are IPv4: they match IPv4 ranges, not ::/0 */
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", "::ffff:203.0.113.7", 0), RL_ALLOW, "v4-32"));
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", "198.51.100.9", 0), RL_ALLOW, "mapped"));
    CHECK(is(dec(&c, "n.com", 8443, "GET", "/", "::ffff:1.2.3.4", 0), RL_ALLOW, "v4-all"));
    CHECK(is(dec(&c, "n.com", 8443, "GET", "/", "1.2.3.4", 0), RL_ALLOW, "v4-all"));
    CHECK(is(dec(&c, "n.com", 8443, "GET", "/", PUB6, 0), RL_DENY, "v6-all"));
    /* a rule with host and cidr needs both */
    CHECK(is(dec(&c, "hc.com", 80, "GET", "/", "192.0.2.5", 0), RL_ALLOW, "hostcidr"));
    CHECK(is(dec(&c, "hc.com", 80, "GET", "/", "192.0.3.5", 0), RL_DENY, "default"));
    /* NEED_ADDR: an earlier cidr rule could match, or an allow needs the guard */
    CHECK(is(dec(&c, "hc.com", 80, "GET", "/", NULL, 0), RL_NEED_ADDR, "v4-32")); /* index 2 < 7 */
    CHECK(is(dec(&c, "n.com", 80, "GET", "/", NULL, 0), RL_NEED_ADDR, "v4-32"));
    CHECK(is(dec(&c, "o.com", 443, "GET", "/", NULL, 0), RL_DENY, "first")); /* final */
    CHECK(is(dec(&c, "o.com", 80, "GET", "/", NULL, 0), RL_NEED_ADDR, "second"));
    close_ctx(&c);

    /* with no cidr rule at all, a miss is final without the address */
    CHECK(compile("version: 1\nrules:\n  - id: a\n    match: { host: [a.com] }\n"
                  "    action: allow\n  - id: d\n    match: { host: [d.com] }\n"
                  "    action: deny\n") == SGW_OK);
    if (!open_ctx(&c))
        return;
    CHECK(is(dec(&c, "b.com", 443, "GET", "/", NULL, 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "d.com", 443, "GET", "/", NULL, 0), RL_DENY, "d"));
    CHECK(is(dec(&c, "a.com", 443, "GET", "/", NULL, 0), RL_NEED_ADDR, "a"));
    CHECK(is(dec(&c, "a.com", 443, "GET", "/", PUB6, 0), RL_ALLOW, "a"));
    /* an IPv6 literal host never matches host rules */
    CHECK(is(dec(&c, "2001:db8::1", 443, "GET", "/", "2001:db8::1", 0), RL_DENY, "default"));
    close_ctx(&c);
}

static void test_private_guard(void)
{
    CHECK(compile("version: 1\nrules:\n"
                  "  - id: any\n    match: { host: [pub.com] }\n    action: allow\n"
                  "  - id: internal\n    match: { host: [int.com], cidr: [10.1.0.0/16, "
                  "\"fd00::/8\"] }\n    action: allow\n"
                  "  - id: int-other\n    match: { host: [int.com] }\n    action: allow\n") ==
          SGW_OK);
    struct ctx c;
    if (!open_ctx(&c))
        return;
    static const char *const priv[] = {
        "0.0.0.0",        "0.1.2.3",         "10.0.0.1",        "10.255.255.255",
        "100.64.0.1",     "100.127.255.255", "127.0.0.1",       "127.1.2.3",
        "169.254.169.254", "169.254.0.1",    "172.16.0.1",      "172.31.255.255",
        "192.0.0.8",      "192.168.1.1",     "198.18.0.1",      "198.19.255.255",
        "224.0.0.1",      "239.255.255.250", "240.0.0.1",       "255.255.255.255",
        "::",             "::1",             "::127.0.0.1",     "::ffff:10.0.0.1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",
        "64:ff9b:1::1",   "100::1",          "2002:a9fe:a9fe::1", "2002:0a00:0001::1",
        "2001:0:a9fe:a9fe::1", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "fc00::1",
        "fd12:3456::1",   "fe80::1",         "febf::1",         "fec0::1",
        "ff02::1",        "ff05::1:3",
    };
    for (size_t i = 0; i < SGW_ARRAY_LEN(priv); i++) {
        struct rl_decision d = dec(&c, "pub.com", 443, "GET", "/", priv[i], 0);
        if (d.verdict != RL_DENY || !strstr(d.reason, "private range")) {
            fprintf(stderr, "private %s: %s (%s)\n", priv[i], rl_verdict_str(d.verdict), d.reason);
            failures++;
        }
        /* the operator's pin bypasses the guard */
        d = dec(&c, "pub.com", 443, "GET", "/", priv[i], 1);
        if (d.verdict != RL_ALLOW) {
            fprintf(stderr, "pinned %s: %s (%s)\n", priv[i], rl_verdict_str(d.verdict), d.reason);
            failures++;
        }
    }
    static const char *const pub[] = {
        PUB4, "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
        "192.169.0.1", "169.253.255.255", "198.20.0.1", "223.255.255.255", "11.0.0.1",
        PUB6, "2a00:1450:4001::1", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8",
        "fbff::1", "fe00::1",
    };
    for (size_t i = 0; i < SGW_ARRAY_LEN(pub); i++) {
        struct rl_decision d = dec(&c, "pub.com", 443, "GET", "/", pub[i], 0);
        if (d.verdict != RL_ALLOW) {
            fprintf(stderr, "public %s: %s (%s)\n", pub[i], rl_verdict_str(d.verdict), d.reason);
            failures++;
        }
    }
    struct rl_decision d = dec(&c, "pub.com", 443, "GET", "/", "169.254.169.254", 0);
    CHECK(!strcmp(d.reason, "destination address is in a private range (link-local "
                            "169.254.0.0/16, incl. cloud metadata)"));
    /* an allow rule naming a cidr that contains the address lifts the guard */
    CHECK(is(dec(&c, "int.com", 443, "GET", "/", "10.1.2.3", 0), RL_ALLOW, "internal"));
    CHECK(is(dec(&c, "int.com", 443, "GET", "/", "fd00::5", 0), RL_ALLOW, "internal"));
    CHECK(is(dec(&c, "int.com", 443, "GET", "/", "::ffff:10.1.2.3", 0), RL_ALLOW, "internal"));
    d = dec(&c, "int.com", 443, "GET", "/", "10.2.0.1", 0); /* other rule, no cidr */
    CHECK(d.verdict == RL_DENY && strstr(d.reason, "private range (RFC 1918 10.0.0.0/8)"));
    close_ctx(&c);

    /* default allow is guarded too */
    CHECK(compile("version: 1\ndefaults: { action: allow }\n") == SGW_OK);
    if (!open_ctx(&c))
        return;
    CHECK(is(dec(&c, "x.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "default"));
    CHECK(is(dec(&c, "x.com", 443, "GET", "/", "127.0.0.1", 0), RL_DENY, "default"));
    CHECK(is(dec(&c, "x.com", 443, "GET", "/", NULL, 0), RL_NEED_ADDR, "default"));
    close_ctx(&c);
}

static void test_errors(void)
{
    char err[256] = "";
    struct rl_engine *eng = NULL;
    char missing[700];
    snprintf(missing, sizeof missing, "%s/nope", g_base);
    CHECK(rl_engine_open(missing, &eng, err, sizeof err) == SGW_ERR && eng == NULL);
    CHECK(strstr(err, "nope") != NULL);
    /* an LMDB env that is not a policy store */
    static const char *const other[] = {"x"};
    struct sto_env_opts o = {.flags = STO_ENV_CREATE, .db_names = other, .n_dbs = 1};
    struct sto_env *env = NULL;
    CHECK(sto_env_open(missing, &o, &env, err, sizeof err) == SGW_OK);
    sto_env_free(env);
    CHECK(rl_engine_open(missing, &eng, err, sizeof err) == SGW_ERR);
    CHECK(strstr(err, "not a sovgw policy store") != NULL);
    rm_store(missing);

    /* decisions without a reader deny */
    struct rl_decision d;
    struct rl_request rq = {.host = "a.com", .host_len = 5, .method = "GET", .method_len = 3};
    rl_decide(NULL, &rq, &d);
    CHECK(d.verdict == RL_DENY && !strcmp(d.rule_id, "error"));

    /* unknown format version: the engine refuses to open */
    CHECK(compile("version: 1\nrules:\n  - id: a\n    match: { host: [a.com] }\n"
                  "    action: allow\n") == SGW_OK);
    static const char *const names[] = {"meta", "hosts", "cidrs", "rules"};
    struct sto_env_opts ow = {.flags = 0, .db_names = names, .n_dbs = 4};
    struct sto_txn *t = NULL;
    CHECK(sto_env_open(g_dir, &ow, &env, err, sizeof err) == SGW_OK);
    struct sgw_slice v;
    uint8_t hdr[RL_HEADER_LEN];
    CHECK(sto_txn_begin_write(env, &t) == SGW_OK);
    CHECK(sto_get(t, 0, "header", 6, &v) == SGW_OK && v.len == sizeof hdr);
    memcpy(hdr, v.ptr, sizeof hdr);
    hdr[3] = 99;
    CHECK(sto_put(t, 0, "header", 6, hdr, sizeof hdr, 0) == SGW_OK);
    CHECK(sto_txn_commit(t) == SGW_OK);
    sto_env_free(env);
    CHECK(rl_engine_open(g_dir, &eng, err, sizeof err) == SGW_ERR);
    CHECK(strstr(err, "unknown store format") != NULL);
    /* ... and the compiler refuses to overwrite it (a store problem: EIO) */
    CHECK(compile("version: 1\n") == SGW_EIO);

    /* a corrupt rule record found at decision time: deny with rule_id error */
    rm_store(g_dir);
    CHECK(compile("version: 1\nrules:\n  - id: a\n    match: { host: [a.com] }\n"
                  "    action: allow\n") == SGW_OK);
    CHECK(sto_env_open(g_dir, &ow, &env, err, sizeof err) == SGW_OK);
    CHECK(sto_txn_begin_write(env, &t) == SGW_OK);
    CHECK(sto_put(t, 3, "\0\0\0\0", 4, "\x01\x00\x05" "ab", 5, 0) == SGW_OK); /* truncated id */
    CHECK(sto_txn_commit(t) == SGW_OK);
    sto_env_free(env);
    struct ctx c;
    if (open_ctx(&c)) {
        CHECK(is(dec(&c, "a.com", 443, "GET", "/", PUB4, 0), RL_DENY, "error"));
        CHECK(is(dec(&c, "b.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
        /* a store error is not remembered: the second try reads again */
        CHECK(is(dec(&c, "a.com", 443, "GET", "/", PUB4, 0), RL_DENY, "error"));
        uint64_t hits = 0, misses = 0;
        rl_reader_cache_stats(c.rd, &hits, &misses);
        CHECK(hits == 0 && misses == 3);
        CHECK(is(dec(&c, "b.com", 443, "GET", "/", PUB4, 0), RL_DENY, "default"));
        rl_reader_cache_stats(c.rd, &hits, &misses);
        CHECK(hits == 1 && misses == 3);
        close_ctx(&c);
    }
    rm_store(g_dir);
}

/* The reader's decision cache: a cached reader and one with the cache off
 * give the same decision for every request, round after round; repeats hit;
 * requests that differ in one field only (port, method, path, address,
 * pinning, host case) each get their own answer; errors are not cached;
 * keys too long for the cache are still decided. */
static void test_cache(void)
{
    CHECK(compile("version: 1\nrules:\n"
                  "  - id: ports\n    match: { host: [p.com], port: [443] }\n    action: allow\n"
                  "  - id: methods\n    match: { host: [m.com], method: [GET] }\n    action: allow\n"
                  "  - id: paths\n    match: { host: [q.com], path: [/v1/] }\n    action: allow\n"
                  "  - id: wild\n    match: { host: [\"*.w.com\"] }\n    action: allow\n"
                  "  - id: net\n    match: { cidr: [10.1.0.0/16] }\n    action: allow\n") ==
          SGW_OK);
    struct ctx c, u;
    if (!open_ctx(&c))
        return;
    if (!open_ctx(&u)) {
        close_ctx(&c);
        return;
    }
    rl_reader_set_cache(u.rd, 0);
    static char longpath[400];
    memset(longpath, 'a', sizeof longpath - 1);
    memcpy(longpath, "/v1/", 4);
    struct {
        const char *host, *method, *path, *addr;
        uint16_t port;
        int pinned;
        enum rl_verdict v;
        const char *rule;
    } rq[] = {
        {"p.com", "GET", "/", PUB4, 443, 0, RL_ALLOW, "ports"},
        {"p.com", "GET", "/", PUB4, 80, 0, RL_DENY, "default"},
        {"m.com", "GET", "/", PUB4, 443, 0, RL_ALLOW, "methods"},
        {"m.com", "POST", "/", PUB4, 443, 0, RL_DENY, "default"},
        {"q.com", "GET", "/v1/x", PUB4, 443, 0, RL_ALLOW, "paths"},
        {"q.com", "GET", "/v2/x", PUB4, 443, 0, RL_DENY, "default"},
        {"q.com", "GET", longpath, PUB4, 443, 0, RL_ALLOW, "paths"},
        {"a.w.com", "GET", "/", PUB4, 443, 0, RL_ALLOW, "wild"},
        {"A.W.COM", "GET", "/", PUB4, 443, 0, RL_ALLOW, "wild"},
        {"a.w.com", "GET", "/", "10.0.0.1", 443, 0, RL_DENY, "wild"},
        {"a.w.com", "GET", "/", "10.0.0.1", 443, 1, RL_ALLOW, "wild"},
        {"a.w.com", "GET", "/", NULL, 443, 0, RL_NEED_ADDR, "wild"},
        {"x.com", "GET", "/", "10.1.2.3", 443, 0, RL_ALLOW, "net"},
        {"x.com", "GET", "/", "10.2.2.3", 443, 0, RL_DENY, "default"},
        {"x.com", "GET", "/", "::ffff:10.1.2.3", 443, 0, RL_ALLOW, "net"},
        {"bad host", "GET", "/", PUB4, 443, 0, RL_DENY, "default"},
    };
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < SGW_ARRAY_LEN(rq); i++) {
            struct rl_decision a = dec(&c, rq[i].host, rq[i].port, rq[i].method, rq[i].path,
                                       rq[i].addr, rq[i].pinned);
            struct rl_decision b = dec(&u, rq[i].host, rq[i].port, rq[i].method, rq[i].path,
                                       rq[i].addr, rq[i].pinned);
            if (!is(a, rq[i].v, rq[i].rule) || a.verdict != b.verdict ||
                strcmp(a.rule_id, b.rule_id) || strcmp(a.reason, b.reason) ||
                a.policy_version != b.policy_version) {
                fprintf(stderr, "  request %zu, round %d: cached %s (%s), uncached %s (%s)\n", i,
                        round, a.rule_id, a.reason, b.rule_id, b.reason);
                failures++;
            }
        }
    }
    uint64_t hits = 0, misses = 0;
    rl_reader_cache_stats(c.rd, &hits, &misses);
    /* 15 cacheable requests (the long path bypasses) with 14 keys (an
       IPv4-mapped address is its IPv4 address): 14 misses in round 0, then
       hits unless three keys share a set */
    if (!(misses >= 14 && hits + misses == 45 && hits >= 24))
        fprintf(stderr, "  cache: %llu hits, %llu misses\n", (unsigned long long)hits,
                (unsigned long long)misses);
    CHECK(misses >= 14 && hits + misses == 45 && hits >= 24);
    rl_reader_cache_stats(u.rd, &hits, &misses);
    CHECK(hits == 0 && misses == 0);
    close_ctx(&u);
    close_ctx(&c);
    rm_store(g_dir);
}

static void test_hot_recompile(void)
{
    CHECK(compile("version: 1\nrules:\n  - id: v1\n    match: { host: [h.com] }\n"
                  "    action: allow\n") == SGW_OK);
    struct ctx c;
    if (!open_ctx(&c))
        return;
    CHECK(is(dec(&c, "h.com", 443, "GET", "/", PUB4, 0), RL_ALLOW, "v1"));
    CHECK(rl_engine_policy_version(c.eng) == 1);
    /* the compiler runs in another process, as `sovgw policy compile` does
       (LMDB forbids a second writable open of the same env in this process) */
    pid_t pid = fork();
    if (pid == 0) {
        int rc = compile("version: 1\nrules:\n  - id: v2\n    match: { host: [h.com] }\n"
                         "    action: deny\n");
        _exit(rc == SGW_OK ? 0 : 1);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct rl_decision d = dec(&c, "h.com", 443, "GET", "/", PUB4, 0);
    CHECK(is(d, RL_DENY, "v2"));
    CHECK(d.policy_version == 2);
    CHECK(rl_engine_policy_version(c.eng) == 2);
    /* a compile in this process while the engine is open is refused cleanly */
    CHECK(compile("version: 1\n") == SGW_EIO);
    CHECK(is(dec(&c, "h.com", 443, "GET", "/", PUB4, 0), RL_DENY, "v2"));
    close_ctx(&c);
    rm_store(g_dir);
}

/* Readers on 3 threads decide continuously while another process recompiles
 * 20 times: no decision errors, versions never go back, and every decision
 * is consistent with its version (odd versions allow, even ones deny), so a
 * snapshot never mixes two compiles. */
static atomic_int g_stop;

struct worker {
    struct rl_engine *eng;
    unsigned decisions, errors, inconsistent, backwards;
    uint64_t last;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct rl_reader *rd = NULL;
    if (rl_reader_new(w->eng, &rd) != SGW_OK) {
        w->errors++;
        return NULL;
    }
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, PUB4, &sin.sin_addr);
    struct rl_request rq = {.host = "h.com", .host_len = 5, .port = 443, .method = "GET",
                            .method_len = 3, .path = "/", .path_len = 1,
                            .addr = (const struct sockaddr *)&sin};
    for (;;) {
        /* a decision begun after stop was seen follows the last commit */
        int stop = atomic_load(&g_stop);
        struct rl_decision d;
        rl_decide(rd, &rq, &d);
        w->decisions++;
        if (!strcmp(d.rule_id, "error"))
            w->errors++;
        int odd = (d.policy_version & 1) != 0;
        if ((odd && (d.verdict != RL_ALLOW || strcmp(d.rule_id, "odd"))) ||
            (!odd && (d.verdict != RL_DENY || strcmp(d.rule_id, "even"))))
            w->inconsistent++;
        if (d.policy_version < w->last)
            w->backwards++;
        w->last = d.policy_version;
        if (stop && w->decisions >= 100)
            break;
    }
    rl_reader_free(rd);
    return NULL;
}

static const char k_odd[] = "version: 1\nrules:\n  - id: odd\n    match: { host: [h.com] }\n"
                            "    action: allow\n";
static const char k_even[] = "version: 1\nrules:\n  - id: even\n    match: { host: [h.com] }\n"
                             "    action: deny\n";

static void test_concurrent_reload(void)
{
    CHECK(compile(k_odd) == SGW_OK);
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t pid = fork(); /* before any thread exists */
    if (pid == 0) {
        char b;
        close(go[1]);
        if (read(go[0], &b, 1) != 1)
            _exit(3);
        for (int i = 0; i < 20; i++)
            if (compile(i % 2 == 0 ? k_even : k_odd) != SGW_OK)
                _exit(1);
        _exit(0);
    }
    close(go[0]);
    struct ctx c;
    if (pid < 0 || !open_ctx(&c)) {
        failures++;
        return;
    }
    struct worker w[3];
    pthread_t th[3];
    atomic_store(&g_stop, 0);
    for (int i = 0; i < 3; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].eng = c.eng;
        CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    CHECK(write(go[1], "g", 1) == 1);
    close(go[1]);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK(w[i].decisions >= 100);
        CHECK(w[i].errors == 0);
        CHECK(w[i].inconsistent == 0);
        CHECK(w[i].backwards == 0);
        CHECK(w[i].last == 21);
    }
    CHECK(rl_engine_policy_version(c.eng) == 21);
    close_ctx(&c);
    rm_store(g_dir);
}

int main(void)
{
    if (!mkdtemp(g_base)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(g_dir, sizeof g_dir, "%s/store", g_base);
    test_hosts();
    test_conditions();
    test_cidrs_and_order();
    test_private_guard();
    test_errors();
    test_cache();
    test_hot_recompile();
    test_concurrent_reload();
    rm_store(g_dir);
    rmdir(g_base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("test_eval: ok");
    return 0;
}
