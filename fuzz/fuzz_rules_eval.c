/* fuzz_rules_eval: arbitrary requests (host, method, path, port, address)
 * against a fixed compiled policy that uses every condition kind. Checks the
 * evaluator's invariants: no allow without an address, no allow of a private
 * address unless pinned or explicitly allowed by cidr, bounded strings; and
 * the reader's decision cache: the same request decided twice by a reader
 * that remembers (across all inputs of the run) and once by a reader with the
 * cache off gives one and the same decision.
 * Input: flags u8 | port be16 | 16 address bytes | host \n method \n path. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char k_policy[] =
    "version: 1\n"
    "rules:\n"
    "  - id: meta\n    match: { cidr: [169.254.169.254/32] }\n    action: deny\n"
    "  - id: admin\n    match: { host: [\"*.example.com\"], path: [/admin] }\n    action: deny\n"
    "  - id: ex\n    match: { host: [example.com, \"*.example.com\"], port: [80, 443] }\n"
    "    action: allow\n"
    "  - id: api\n    match: { host: [\"*.api.test\"], method: [GET, POST], path: [/v1/] }\n"
    "    action: allow\n"
    "  - id: internal\n    match: { host: [db.corp], cidr: [10.0.0.0/8, \"fd00::/8\"] }\n"
    "    action: allow\n"
    "  - id: net\n    match: { cidr: [0.0.0.0/1, \"2000::/3\"], port: [8443] }\n"
    "    action: allow\n"
    "  - id: smtp\n    match: { port: [25, \"465-587\"] }\n    action: deny\n";

static char g_dir[64];
static struct rl_engine *g_eng;
static struct rl_reader *g_rd, *g_rd_nc;

static void cleanup(void)
{
    rl_reader_free(g_rd);
    rl_reader_free(g_rd_nc);
    rl_engine_free(g_eng);
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", g_dir);
    unlink(p);
    rmdir(g_dir);
}

static void setup(void)
{
    char err[256];
    snprintf(g_dir, sizeof g_dir, "/tmp/sgw-fuzz-eval-XXXXXX");
    if (!mkdtemp(g_dir))
        abort();
    if (rl_policy_compile_buffer("fuzz", k_policy, strlen(k_policy), g_dir, stderr) != SGW_OK)
        abort();
    if (rl_engine_open(g_dir, &g_eng, err, sizeof err) != SGW_OK ||
        rl_reader_new(g_eng, &g_rd) != SGW_OK || rl_reader_new(g_eng, &g_rd_nc) != SGW_OK)
        abort();
    rl_reader_set_cache(g_rd_nc, 0);
    atexit(cleanup);
}

static const char *field(const char **p, const char *end, size_t *n)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *n = (size_t)(e - s);
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_rd)
        setup();
    if (size < 19)
        return 0;
    uint8_t flags = data[0];
    uint16_t port = (uint16_t)((data[1] << 8) | data[2]);
    const uint8_t *ab = data + 3;
    const char *p = (const char *)data + 19, *end = (const char *)data + size;
    struct rl_request rq = {.port = port, .addr_pinned = (flags & 4) != 0};
    rq.host = field(&p, end, &rq.host_len);
    rq.method = field(&p, end, &rq.method_len);
    rq.path = field(&p, end, &rq.path_len);
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;
    memset(&s4, 0, sizeof s4);
    memset(&s6, 0, sizeof s6);
    if ((flags & 3) == 1) {
        s4.sin_family = AF_INET;
        memcpy(&s4.sin_addr, ab, 4);
        rq.addr = (const struct sockaddr *)&s4;
    } else if ((flags & 3) == 2) {
        s6.sin6_family = AF_INET6;
        memcpy(&s6.sin6_addr, ab, 16);
        rq.addr = (const struct sockaddr *)&s6;
    }
    struct rl_decision d, again, nc;
    rl_decide(g_rd, &rq, &d);
    rl_decide(g_rd, &rq, &again);
    rl_decide(g_rd_nc, &rq, &nc);
    if (d.verdict != again.verdict || strcmp(d.rule_id, again.rule_id) != 0 ||
        strcmp(d.reason, again.reason) != 0 || d.policy_version != again.policy_version ||
        d.verdict != nc.verdict || strcmp(d.rule_id, nc.rule_id) != 0 ||
        strcmp(d.reason, nc.reason) != 0 || d.policy_version != nc.policy_version)
        abort(); /* the cache changed a decision */
    if (d.verdict >= RL__VERDICT_COUNT)
        abort();
    if (!memchr(d.rule_id, 0, sizeof d.rule_id) || !memchr(d.reason, 0, sizeof d.reason) ||
        !d.rule_id[0])
        abort();
    if (!strcmp(d.rule_id, "error"))
        abort(); /* the store is fine: no input may produce a read error */
    if (!rq.addr && d.verdict == RL_ALLOW)
        abort();
    if (rq.addr && d.verdict == RL_NEED_ADDR)
        abort();
    /* 169.254.169.254 is never allowed unless pinned */
    static const uint8_t imds[4] = {169, 254, 169, 254};
    if ((flags & 3) == 1 && !memcmp(ab, imds, 4) && d.verdict == RL_ALLOW && !rq.addr_pinned)
        abort();
    if (d.verdict == RL_ALLOW && strcmp(d.rule_id, "ex") && strcmp(d.rule_id, "api") &&
        strcmp(d.rule_id, "internal") && strcmp(d.rule_id, "net"))
        abort();
    return 0;
}
