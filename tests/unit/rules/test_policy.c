/* Unit tests for rules/policy.c and rules/compile.c: every error has its exact
 * file:line:column, good policies pass, the store gets a monotonic version
 * and the sha256 of the source, the embedded default policy is the file. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/internal.h"
#include "store/store.h"

#include "../check.h"

/* Parses src as "p.yaml"; returns the rc, the error text in *msgs (owned). */
static int parse(const char *src, char **msgs, size_t *nerr, struct rl_policy **out)
{
    size_t ml = 0;
    *msgs = NULL;
    FILE *f = open_memstream(msgs, &ml);
    struct rl_policy *p = NULL;
    int rc = rl_policy_parse("p.yaml", src, strlen(src), &p, f, nerr);
    fclose(f);
    if (out)
        *out = p;
    else
        rl_policy_free(p);
    return rc;
}

struct bad {
    const char *src;
    const char *want; /* exact first error line (without newline) */
};

#define HDR "version: 1\nrules:\n"

static const struct bad k_bad[] = {
    /* 1 */ {"version: 1\nfoo: 2\n",
             "p.yaml:2:1: unknown key 'foo' in the policy (expected one of: version, defaults, "
             "classifiers, rules)"},
    /* 2 */ {"version: 2\n", "p.yaml:1:10: unsupported policy version '2' (this sovgw reads "
                             "version 1)"},
    /* 3 */ {"rules:\n  - id: a\n    action: deny\n", "p.yaml:1:1: missing 'version: 1'"},
    /* 4 */ {HDR "  - id: a\n    action: maybe\n",
             "p.yaml:4:13: unknown action 'maybe' (expected allow or deny)"},
    /* 5 */ {HDR "  - action: deny\n", "p.yaml:3:5: rule has no id (every rule needs a unique id)"},
    /* 6 */ {HDR "  - id: a\n    action: deny\n  - id: a\n    action: allow\n",
             "p.yaml:5:5: duplicate rule id 'a' (first defined at line 3)"},
    /* 7 */ {HDR "  - id: a\n    match: { cidr: [10.0.0.0/33] }\n    action: deny\n",
             "p.yaml:4:21: cidr '10.0.0.0/33': IPv4 prefix length must be 0-32"},
    /* 8 */ {HDR "  - id: a\n    match: { cidr: [10.0.0.1/8] }\n    action: deny\n",
             "p.yaml:4:21: cidr '10.0.0.1/8': address has bits set beyond the prefix length "
             "(did you mean the network address?)"},
    /* 9 */ {HDR "  - id: a\n    match: { port: [0] }\n    action: deny\n",
             "p.yaml:4:21: port '0': expected a port 1-65535 or a range like 8000-8100"},
    /* 10 */ {HDR "  - id: a\n    match: { port: [65536] }\n    action: deny\n",
              "p.yaml:4:21: port '65536': expected a port 1-65535 or a range like 8000-8100"},
    /* 11 */ {HDR "  - id: a\n    match: { port: [\"9000-8000\"] }\n    action: deny\n",
              "p.yaml:4:21: port range '9000-8000' is reversed (low-high)"},
    /* 12 */ {HDR "  - id: a\n    match: { host: [] }\n    action: deny\n",
              "p.yaml:4:14: host is an empty list (remove the key instead: an empty list matches "
              "nothing)"},
    /* 13 */ {HDR "  - id: a\n    match: { host: [exa$mple.com] }\n    action: deny\n",
              "p.yaml:4:21: host 'exa$mple.com': invalid character in host name (allowed: letters, "
              "digits, '-', '_', '.'; write internationalised names in their xn-- form)"},
    /* 14 */ {HDR "  - id: a\n    match: { host: [\"api.*.example.com\"] }\n    action: deny\n",
              "p.yaml:4:21: host 'api.*.example.com': wildcards are only allowed as a leading '*.' "
              "(e.g. *.example.com)"},
    /* 15 */ {HDR "  - id: a\n    match: { aws: { service: s3 } }\n    action: allow\n",
              "p.yaml:4:14: 'aws' is not supported yet in this version (policy format 1)"},
    /* 16 */ {"version: 1\nresidency: { countries: [DE] }\n",
              "p.yaml:2:1: 'residency' is not supported yet in this version (policy format 1)"},
    /* 17 */ {HDR "  - id: a\n    inspect: { deny_on: [PII] }\n    action: allow\n",
              "p.yaml:4:5: 'inspect' is not supported yet in this version (policy format 1)"},
    /* 18 */ {HDR "  - id: a\n    match: { method: [FETCH] }\n    action: deny\n",
              "p.yaml:4:23: unknown method 'FETCH' (expected GET, HEAD, POST, PUT, DELETE, "
              "CONNECT, OPTIONS, TRACE or PATCH)"},
    /* 19 */ {HDR "  - id: a\n    match: { path: [v1/] }\n    action: deny\n",
              "p.yaml:4:21: path 'v1/': a path prefix must start with '/'"},
    /* 20 */ {HDR "  - id: a\n    match: { path: [/a/../b] }\n    action: deny\n",
              "p.yaml:4:21: path '/a/../b': path prefix contains a '.' or '..' segment"},
    /* 21 */ {HDR "  - id: a\n    match: { host: example.com, hots: [x] }\n    action: deny\n",
              "p.yaml:4:33: unknown key 'hots' in match (expected one of: host, port, method, "
              "path, cidr)"},
    /* 22 */ {HDR "  - id: a\n    match: [host]\n    action: deny\n",
              "p.yaml:4:12: match must be a mapping, got a list"},
    /* 23 */ {"version: 1\nrules: {a: 1}\n", "p.yaml:2:8: rules must be a list, got a mapping"},
    /* 24 */ {HDR "  - id: a\n    action: deny\n    action: allow\n",
              "p.yaml:5:5: duplicate key 'action' in a rule"},
    /* 25 */ {"version: 1\nrules: [\n", "p.yaml:3:1: YAML syntax error: did not find expected node "
                                        "content while parsing a flow node (line 3)"},
    /* 26 */ {"version: 1\ndefaults: { action: allow, inspect_limit: 8 MiB }\n",
              "p.yaml:2:43: inspect_limit '8 MiB': expected a size like 8MiB, 512KiB or 1048576 "
              "(1 byte to 4GiB)"},
    /* 27 */ {"version: 1\nclassifiers: { packs: [pii-mars] }\n",
              "p.yaml:2:24: unknown classifier pack 'pii-mars' (expected pii-core, pii-eu, "
              "pii-world or secrets)"},
    /* 28 */ {"version: 1\nx: &a [1]\ny: *a\n",
              "p.yaml:2:1: unknown key 'x' in the policy (expected one of: version, defaults, "
              "classifiers, rules)"},
    /* 29 */ {HDR "  - id: a\n    match: { cidr: [\"fd00::1/8\"] }\n    action: deny\n",
              "p.yaml:4:21: cidr 'fd00::1/8': address has bits set beyond the prefix length "
              "(did you mean the network address?)"},
    /* 30 */ {HDR "  - id: \"bad id\"\n    action: deny\n",
              "p.yaml:3:9: rule id 'bad id' has an invalid character (allowed: letters, digits, "
              "'-', '_', '.')"},
    /* 31 */ {"", "p.yaml:1:1: empty policy (expected a mapping starting with 'version: 1')"},
    /* 32 */ {"version: 1\n---\nversion: 1\n",
              "p.yaml:3:1: a policy is one YAML document; found a second one"},
    /* 33 */ {HDR "  - id: a\n    match: { host: [\"2001:db8::1\"] }\n    action: deny\n",
              "p.yaml:4:21: host '2001:db8::1': an IPv6 address is not a host name (use cidr: for "
              "addresses)"},
    /* 34 */ {HDR "  - id: a\n    match: { cidr: [10.0.0.0/8] }\n",
              "p.yaml:3:5: rule a has no action (allow or deny)"},
    /* 35 */ {HDR "  - id: a\n    match: { host: [\"*\"] }\n    action: deny\n",
              "p.yaml:4:21: host '*': '*' alone is not a host pattern (leave host: out to match "
              "any host)"},
    /* 36 */ {"version: 1\nrules:\n  - &r {id: a, action: deny}\n  - *r\n",
              "p.yaml:3:3: YAML aliases (*name) are not supported in a policy; write the value "
              "out"},
    /* 37 */ {HDR "  - id: a\n    match: { port: [\"08\"] }\n    action: deny\n",
              "p.yaml:4:21: port '08': expected a port 1-65535 or a range like 8000-8100"},
    /* 38 */ {HDR "  - id: a\n    match: {}\n    action: deny\n",
              "p.yaml:4:12: match is empty (remove it to match every request)"},
    /* 39 */ {"version: 1\nclassifiers: { fingerprints: [] }\n",
              "p.yaml:2:16: fingerprints is an empty list (remove the key instead: an empty list matches nothing)"},
    /* 40 */ {"version: 1\nclassifiers: { regexes: [ { name: emp, pattern: 'x' } ] }\n",
              "p.yaml:2:35: finding type name 'emp' must be UPPER_SNAKE_CASE (1-63 characters)"},
    /* 41 */ {"version: 1\nclassifiers: { dictionaries: [ { name: M, terms: [\" \\t \"] } ] }\n",
              "p.yaml:2:51: a dictionary term must not be only whitespace"},
    /* 42 */ {"version: 1\nclassifiers: { dictionaries: [ { name: M, terms: "
              "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa] } ] }\n",
              "p.yaml:2:51: dictionary terms must be 1-64 bytes"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < SGW_ARRAY_LEN(k_bad); i++) {
        char *msgs = NULL;
        size_t nerr = 0;
        int rc = parse(k_bad[i].src, &msgs, &nerr, NULL);
        size_t wl = strlen(k_bad[i].want);
        int ok = rc == SGW_EPROTO && nerr >= 1 && msgs && strncmp(msgs, k_bad[i].want, wl) == 0 &&
                 msgs[wl] == '\n';
        if (!ok) {
            fprintf(stderr, "bad policy #%zu: rc=%d nerr=%zu\n  want: %s\n  got:  %s", i + 1, rc,
                    nerr, k_bad[i].want, msgs ? msgs : "(null)\n");
            failures++;
        }
        free(msgs);
    }
}

static void test_all_errors_reported(void)
{
    /* three independent problems: all three are printed, in source order */
    const char *src = HDR "  - id: a\n    match: { port: [0], host: [\"a..b\"] }\n    action: no\n";
    char *msgs = NULL;
    size_t nerr = 0;
    CHECK(parse(src, &msgs, &nerr, NULL) == SGW_EPROTO);
    CHECK(nerr == 3);
    CHECK(msgs && strstr(msgs, "p.yaml:4:21: port '0'") != NULL);
    CHECK(msgs && strstr(msgs, "p.yaml:4:32: host 'a..b': empty label") != NULL);
    CHECK(msgs && strstr(msgs, "p.yaml:5:13: unknown action 'no'") != NULL);
    free(msgs);
}

static void test_warnings(void)
{
    /* a rule after a catch-all is reported but the policy stays valid */
    const char *src = HDR "  - id: all\n    action: deny\n  - id: late\n"
                          "    match: { host: [a.com] }\n    action: allow\n";
    char *msgs = NULL;
    size_t nerr = 9;
    CHECK(parse(src, &msgs, &nerr, NULL) == SGW_OK);
    CHECK(nerr == 0);
    CHECK(msgs && !strcmp(msgs, "p.yaml:5:5: warning: rule late is never reached: rule all "
                                "(line 3) matches every request\n"));
    free(msgs);
}

static const char k_good[] =
    "version: 1\n"
    "defaults: { action: deny, inspect_limit: 8MiB }\n"
    "classifiers:\n"
    "  packs: [pii-core, pii-eu, secrets]\n"
    "  dictionaries: [ { name: PROJECT_CODENAME, terms: [Bluebird, \"Operation Nightjar\"] } ]\n"
    "  regexes: [ { name: EMPLOYEE_ID, pattern: 'EMP-[0-9]{6}', validator: luhn } ]\n"
    "rules:\n"
    "  - id: allow-example\n"
    "    description: example destinations\n"
    "    match:\n"
    "      host: [Example.COM., \"*.example.org\"]\n"
    "      port: [80, 443, \"8000-8100\"]\n"
    "      method: [GET, post]\n"
    "      path: [/v1/, /health]\n"
    "      cidr: [10.0.0.0/8, \"fd00::/8\", \"::ffff:192.168.0.0/112\"]\n"
    "    action: allow\n"
    "  - id: block-metadata\n"
    "    match: { cidr: [169.254.169.254/32] }\n"
    "    action: deny\n"
    "  - id: catch-all\n"
    "    action: deny\n";

static void test_good(void)
{
    char *msgs = NULL;
    size_t nerr = 9;
    struct rl_policy *p = NULL;
    CHECK(parse(k_good, &msgs, &nerr, &p) == SGW_OK);
    CHECK(nerr == 0);
    CHECK(msgs && msgs[0] == 0);
    free(msgs);
    if (!p)
        return;
    CHECK(p->n_rules == 3 && p->n_hosts == 2 && p->n_cidrs == 4);
    CHECK(p->inspect_limit == 8u << 20);
    CHECK(p->default_action == RL_ACT_DENY);
    const struct rl_rule *r = &p->rules[0];
    CHECK(!strcmp(r->id, "allow-example") && r->line == 8 && r->action == RL_ACT_ALLOW);
    CHECK(!strcmp(r->hosts[0], "example.com")); /* lowercased, trailing dot stripped */
    CHECK(!strcmp(r->hosts[1], "*.example.org"));
    CHECK(r->n_ports == 3 && r->ports[2].lo == 8000 && r->ports[2].hi == 8100);
    CHECK(r->methods == (RL_M_GET | RL_M_POST));
    CHECK(r->n_paths == 2 && !strcmp(r->paths[1], "/health"));
    CHECK(r->cidrs[1].family == 6 && r->cidrs[1].plen == 8 && r->cidrs[1].addr[0] == 0xfd);
    /* an IPv4-mapped range is an IPv4 range */
    CHECK(r->cidrs[2].family == 4 && r->cidrs[2].plen == 16 && r->cidrs[2].addr[0] == 192 &&
          r->cidrs[2].addr[1] == 168);
    CHECK(!p->rules[2].has_match);
    CHECK(p->n_packs == 3 && !strcmp(p->packs[2], "secrets"));
    CHECK(p->n_dicts == 1 && p->dicts[0].n_terms == 2 &&
          !strcmp(p->dicts[0].terms[1], "Operation Nightjar"));
    CHECK(p->n_regexes == 1 && !strcmp(p->regexes[0].validator, "luhn"));
    rl_policy_free(p);

    /* sizes */
    const char *sizes[][2] = {{"4096", "4096"},       {"512KiB", "524288"}, {"1GiB", "1073741824"},
                              {"10MB", "10000000"},   {"4GiB", "4294967296"}};
    for (size_t i = 0; i < SGW_ARRAY_LEN(sizes); i++) {
        char src[128];
        snprintf(src, sizeof src, "version: 1\ndefaults: { inspect_limit: %s }\n", sizes[i][0]);
        p = NULL;
        CHECK(parse(src, &msgs, &nerr, &p) == SGW_OK);
        free(msgs);
        uint64_t want = 0;
        sgw_parse_u64(sizes[i][1], strlen(sizes[i][1]), UINT64_MAX, &want);
        CHECK(p && p->inspect_limit == want);
        rl_policy_free(p);
    }
    CHECK(parse("version: 1\ndefaults: { inspect_limit: 5GiB }\n", &msgs, &nerr, NULL) ==
          SGW_EPROTO);
    free(msgs);
}

static void test_default_policy_file(void)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    CHECK(rl_read_file("rules/default-policy.yaml", &buf, &len, err, sizeof err) == SGW_OK);
    const char *emb = rl_default_policy();
    CHECK(buf && strlen(emb) == len && memcmp(buf, emb, len) == 0);
    free(buf);
    char *msgs = NULL;
    size_t nerr = 0;
    CHECK(parse(emb, &msgs, &nerr, NULL) == SGW_OK);
    free(msgs);
}

/* Bounds at N-1, N, N+1: rule id 63, label 63, host 253, path 1024, port 65535. */
struct tmpl {
    const char *pre, *post;
};

static int ok_with(struct tmpl t, const char *a)
{
    char src[4096];
    snprintf(src, sizeof src, "%s%s%s", t.pre, a, t.post);
    char *msgs = NULL;
    size_t nerr = 0;
    int rc = parse(src, &msgs, &nerr, NULL);
    free(msgs);
    return rc == SGW_OK;
}

static void test_bounds(void)
{
    char s[1100];
    const struct tmpl rule_id = {"version: 1\nrules:\n  - id: ", "\n    action: deny\n"};
    const struct tmpl rule_host = {"version: 1\nrules:\n  - id: a\n    match: { host: [",
                                   "] }\n    action: deny\n"};
    const struct tmpl rule_path = {"version: 1\nrules:\n  - id: a\n    match: { path: [",
                                   "] }\n    action: deny\n"};
    const struct tmpl rule_port = {"version: 1\nrules:\n  - id: a\n    match: { port: [",
                                   "] }\n    action: deny\n"};
    for (size_t n = 62; n <= 64; n++) {
        memset(s, 'i', n);
        s[n] = 0;
        CHECK(ok_with(rule_id, s) == (n <= 63));
        memcpy(s + n, ".com", 5); /* one label of n characters */
        CHECK(ok_with(rule_host, s) == (n <= 63));
    }
    /* host names of 252, 253, 254 characters: labels of 50 separated by dots */
    for (size_t n = 252; n <= 254; n++) {
        for (size_t i = 0; i < n; i++)
            s[i] = (i % 51 == 50) ? '.' : 'h';
        s[n] = 0;
        if (s[n - 1] == '.')
            s[n - 1] = 'x';
        CHECK(ok_with(rule_host, s) == (n <= 253));
    }
    for (size_t n = 1023; n <= 1025; n++) {
        s[0] = '/';
        memset(s + 1, 'p', n - 1);
        s[n] = 0;
        CHECK(ok_with(rule_path, s) == (n <= 1024));
    }
    CHECK(ok_with(rule_port, "1"));
    CHECK(ok_with(rule_port, "65534"));
    CHECK(ok_with(rule_port, "65535"));
    CHECK(!ok_with(rule_port, "65536"));
    CHECK(ok_with(rule_port, "\"1-65535\""));
    CHECK(!ok_with(rule_port, "\"1-65536\""));
    CHECK(!ok_with(rule_port, "-1"));
    CHECK(!ok_with(rule_port, "\"80-\""));
    CHECK(!ok_with(rule_port, "443.0"));
}

static void rm_store(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static void test_compile_meta(const char *base)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/store", base);
    char *msgs = NULL;
    size_t ml = 0;
    FILE *f = open_memstream(&msgs, &ml);
    /* errors leave no store behind */
    CHECK(rl_policy_compile_buffer("bad.yaml", "version: 3\n", 11, dir, f) == SGW_EPROTO);
    fflush(f);
    CHECK(strstr(msgs, "bad.yaml:1:10: unsupported policy version") != NULL);
    CHECK(access(dir, F_OK) != 0);
    CHECK(rl_policy_compile_buffer("good.yaml", k_good, strlen(k_good), dir, f) == SGW_OK);
    CHECK(rl_policy_compile_buffer("good.yaml", k_good, strlen(k_good), dir, f) == SGW_OK);
    const char *other = rl_default_policy();
    CHECK(rl_policy_compile_buffer("default", other, strlen(other), dir, f) == SGW_OK);
    /* a bad policy later does not touch the store or the version */
    CHECK(rl_policy_compile_buffer("bad.yaml", "version: 1\nx: 1\n", 16, dir, f) == SGW_EPROTO);
    fclose(f);
    free(msgs);

    struct rl_engine *eng = NULL;
    char err[256];
    CHECK(rl_engine_open(dir, &eng, err, sizeof err) == SGW_OK);
    CHECK(rl_engine_policy_version(eng) == 3);
    rl_engine_free(eng);

    static const char *const names[] = {"meta", "hosts", "cidrs", "rules"};
    struct sto_env_opts o = {.flags = STO_ENV_RDONLY, .db_names = names, .n_dbs = 4};
    struct sto_env *env = NULL;
    CHECK(sto_env_open(dir, &o, &env, err, sizeof err) == SGW_OK);
    if (env) {
        struct sto_txn *t = NULL;
        struct sgw_slice v;
        CHECK(sto_txn_begin_read(env, &t) == SGW_OK);
        uint8_t want[32];
        unsigned wl = 0;
        EVP_Digest(other, strlen(other), want, &wl, EVP_sha256(), NULL);
        CHECK(sto_get(t, 0, "sha256", 6, &v) == SGW_OK && v.len == 32 &&
              memcmp(v.ptr, want, 32) == 0);
        CHECK(sto_get(t, 0, "header", 6, &v) == SGW_OK && v.len == RL_HEADER_LEN &&
              rl_rd32((const uint8_t *)v.ptr) == RL_FORMAT_VERSION &&
              rl_rd64((const uint8_t *)v.ptr + 4) == 3);
        CHECK(sto_get(t, 0, "counts", 6, &v) == SGW_OK && v.len == 24 &&
              rl_rd64((const uint8_t *)v.ptr) == 1 && rl_rd64((const uint8_t *)v.ptr + 8) == 2);
        /* the old policy's hosts are gone: one write transaction replaced all */
        CHECK(sto_get(t, 1, "org.example.*", 13, &v) == SGW_ENOTFOUND);
        CHECK(sto_get(t, 1, "com.example.*", 13, &v) == SGW_OK && v.len == 4);
        CHECK(sto_get(t, 1, "com.example.", 12, &v) == SGW_OK && v.len == 4);
        CHECK(sto_get(t, 2, "\x04\x20\xa9\xfe\xa9\xfe", 6, &v) == SGW_ENOTFOUND);
        sto_txn_abort(t);
        sto_env_free(env);
    }
    rm_store(dir);

    /* compile the sample, then look at the index layout */
    CHECK(rl_policy_compile_buffer("good.yaml", k_good, strlen(k_good), dir, NULL) == SGW_OK);
    CHECK(sto_env_open(dir, &o, &env, err, sizeof err) == SGW_OK);
    if (env) {
        struct sto_txn *t = NULL;
        struct sgw_slice v;
        CHECK(sto_txn_begin_read(env, &t) == SGW_OK);
        CHECK(sto_get(t, 0, "header", 6, &v) == SGW_OK &&
              rl_rd64((const uint8_t *)v.ptr + 4) == 1); /* a fresh store starts at 1 */
        CHECK(sto_get(t, 1, "org.example.*", 13, &v) == SGW_OK && v.len == 4 &&
              rl_rd32((const uint8_t *)v.ptr) == 0);
        CHECK(sto_get(t, 2, "\x04\x20\xa9\xfe\xa9\xfe", 6, &v) == SGW_OK && v.len == 4 &&
              rl_rd32((const uint8_t *)v.ptr) == 1);
        CHECK(sto_get(t, 0, "nohost", 6, &v) == SGW_OK && v.len == 4 &&
              rl_rd32((const uint8_t *)v.ptr) == 2);
        CHECK(sto_get(t, 0, "cidr_only", 9, &v) == SGW_OK && v.len == 4 &&
              rl_rd32((const uint8_t *)v.ptr) == 1);
        sto_txn_abort(t);
        sto_env_free(env);
    }
    rm_store(dir);
}

static void test_classifiers_load(const char *base)
{
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/p.yaml", base);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(k_good, f);
    fclose(f);
    struct cls_config cfg;
    CHECK(rl_policy_classifiers_load(path, &cfg, err, sizeof err) == SGW_OK);
    CHECK(cfg.n_packs == 3 && cfg.n_dicts == 1 && cfg.n_regexes == 1);
    CHECK(cfg.dicts && !strcmp(cfg.dicts[0].name, "PROJECT_CODENAME"));
    f = fopen(path, "w");
    fputs("version: 1\nclassifiers: { packs: [nope] }\n", f);
    fclose(f);
    CHECK(rl_policy_classifiers_load(path, &cfg, err, sizeof err) == SGW_EPROTO);
    CHECK(strstr(err, ":2:24: unknown classifier pack 'nope'") != NULL);
    unlink(path);
}

int main(void)
{
    char base[] = "/tmp/sgw-test-policy-XXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 2;
    }
    test_bad();
    test_all_errors_reported();
    test_warnings();
    test_good();
    test_default_policy_file();
    test_bounds();
    test_compile_meta(base);
    test_classifiers_load(base);
    rmdir(base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("test_policy: ok");
    return 0;
}
