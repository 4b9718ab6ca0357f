/* fuzz_rules_policy: arbitrary bytes as policy YAML through the checker;
 * every 32nd valid policy is also compiled into a private temp store and
 * decided against a few requests (compiler + evaluator on fuzzed rules). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[64];
static unsigned g_valid;

static void cleanup(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", g_dir);
    unlink(p);
    rmdir(g_dir);
}

static void decide_some(void)
{
    struct rl_engine *eng = NULL;
    struct rl_reader *rd = NULL;
    char err[256];
    if (rl_engine_open(g_dir, &eng, err, sizeof err) != SGW_OK)
        abort(); /* a store just written must open */
    if (rl_reader_new(eng, &rd) == SGW_OK) {
        static const char *const hosts[] = {"example.com", "a.b.example.org", "x.y", "10.0.0.1"};
        struct rl_decision d;
        for (size_t i = 0; i < SGW_ARRAY_LEN(hosts); i++) {
            struct rl_request rq = {.host = hosts[i], .host_len = strlen(hosts[i]), .port = 443,
                                    .method = "GET", .method_len = 3, .path = "/v1/x",
                                    .path_len = 5};
            rl_decide(rd, &rq, &d);
            if (d.verdict == RL_ALLOW) /* no address: an allow is never final */
                abort();
        }
        rl_reader_free(rd);
    }
    rl_engine_free(eng);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rl_policy *p = NULL;
    size_t nerr = 0;
    int rc = rl_policy_parse("fuzz.yaml", (const char *)data, size, &p, NULL, &nerr);
    if (rc == SGW_OK && nerr != 0)
        abort();
    if (rc != SGW_OK && nerr == 0)
        abort(); /* every failure is explained */
    if (rc == SGW_OK && (g_valid++ % 32) == 0) {
        if (!g_dir[0]) {
            snprintf(g_dir, sizeof g_dir, "/tmp/sgw-fuzz-policy-XXXXXX");
            if (!mkdtemp(g_dir))
                abort();
            atexit(cleanup);
        }
        uint64_t ver = 0;
        if (rl_store_write(p, (const char *)data, size, g_dir, &ver, NULL) == SGW_OK)
            decide_some();
    }
    rl_policy_free(p);
    return 0;
}
