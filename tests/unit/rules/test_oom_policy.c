/* tests/unit/rules/test_oom_policy.c — every allocation the rules and store
 * libraries make while a policy is parsed, compiled into LMDB, opened and
 * evaluated fails once (tests/unit/oom.h). Each failure must surface as an
 * error, or as a deny with rule "error" (fail closed), or leave the results
 * of the clean run unchanged: never an allow that the clean run would not
 * give, never a crash. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../oom.h"
#include "rules/rules.h"
#include "common/sgw.h"

static const char k_policy[] =
    "version: 1\n"
    "classifiers:\n"
    "  packs: [pii-core, secrets]\n"
    "  dictionaries:\n"
    "    - { name: CODENAME, terms: [falcon, blue bird] }\n"
    "rules:\n"
    "  - id: s3-eu\n"
    "    match: { host: [\"*.s3.eu-central-1.amazonaws.com\", s3.eu-central-1.amazonaws.com], port: [443] }\n"
    "    action: allow\n"
    "  - id: api-read\n"
    "    match: { host: [api.example.com], method: [GET, HEAD], path: [/v1/] }\n"
    "    action: allow\n"
    "  - id: block-us\n"
    "    match: { host: [\"*.us-east-1.amazonaws.com\"] }\n"
    "    action: deny\n"
    "  - id: lab\n"
    "    match: { cidr: [10.20.0.0/16, \"2001:db8::/32\"] }\n"
    "    action: allow\n";

struct q {
    const char *host, *method, *path, *addr;
    uint16_t port;
};
static const struct q k_q[] = {
    {"bucket.s3.eu-central-1.amazonaws.com", "PUT", "/k", "52.219.0.1", 443},
    {"api.example.com", "GET", "/v1/items", "93.184.216.34", 443},
    {"api.example.com", "POST", "/v1/items", "93.184.216.34", 443},
    {"sqs.us-east-1.amazonaws.com", "POST", "/", NULL, 443},
    {"lab.internal", "GET", "/", "10.20.3.4", 80},
    {"nowhere.example", "GET", "/", "93.184.216.35", 80},
};
#define NQ (sizeof(k_q) / sizeof(k_q[0]))

static char g_dir[64];
static struct rl_decision g_ref[NQ];
static int g_have_ref;
static FILE *g_null;

static void rm_store(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", g_dir);
    unlink(p);
    rmdir(g_dir);
}

static void decide(struct rl_reader *rd, const struct q *q, struct rl_decision *d)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct rl_request rq = {.host = q->host, .host_len = strlen(q->host), .port = q->port,
                            .method = q->method, .method_len = strlen(q->method), .path = q->path,
                            .path_len = strlen(q->path)};
    if (q->addr) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        inet_pton(AF_INET, q->addr, &s4->sin_addr);
        rq.addr = (const struct sockaddr *)&ss;
    }
    rl_decide(rd, &rq, d);
}

static int scenario(void)
{
    rm_store();
    if (rl_policy_compile_buffer("oom.yaml", k_policy, sizeof(k_policy) - 1, g_dir, g_null) != SGW_OK)
        return 1;
    struct rl_engine *eng = NULL;
    char err[256];
    if (rl_engine_open(g_dir, &eng, err, sizeof err) != SGW_OK)
        return 1;
    struct rl_reader *rd = NULL;
    if (rl_reader_new(eng, &rd) != SGW_OK) {
        rl_engine_free(eng);
        return 1;
    }
    int res = 0;
    for (size_t i = 0; i < NQ && res >= 0; i++) {
        struct rl_decision d;
        decide(rd, &k_q[i], &d);
        if (!g_have_ref) {
            g_ref[i] = d;
            continue;
        }
        if (d.verdict == g_ref[i].verdict && strcmp(d.rule_id, g_ref[i].rule_id) == 0)
            continue;
        if (d.verdict == RL_DENY && strcmp(d.rule_id, "error") == 0) {
            res = 1; /* failed closed */
            continue;
        }
        fprintf(stderr, "request %zu: %s/%s, clean run %s/%s\n", i, rl_verdict_str(d.verdict), d.rule_id,
                rl_verdict_str(g_ref[i].verdict), g_ref[i].rule_id);
        res = -1;
    }
    rl_reader_free(rd);
    rl_engine_free(eng);
    if (!g_have_ref) {
        g_have_ref = 1;
        /* the clean run must exercise allow, deny and the default */
        int allows = 0, denies = 0;
        for (size_t i = 0; i < NQ; i++) {
            allows += g_ref[i].verdict == RL_ALLOW;
            denies += g_ref[i].verdict == RL_DENY;
        }
        if (allows < 3 || denies < 2) {
            fprintf(stderr, "clean run: %d allows, %d denies\n", allows, denies);
            return -1;
        }
    }
    return res;
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/sgw-oom-%d", (int)getpid());
    g_null = fopen("/dev/null", "w");
    if (!g_null)
        return 2;
    int bad = oom_run("rules policy", scenario);
    rm_store();
    fclose(g_null);
    if (bad)
        fprintf(stderr, "test_oom_policy: %d allocation failure(s) mishandled\n", bad);
    return bad != 0;
}
