/* bench/policy_bench.c — cost of one rl_decide with a large compiled policy.
 * Generates a policy with N host entries (default 1,000,000: 90% exact names,
 * 10% "*.suffix" wildcards, 100 hosts per rule), compiles it into a temp
 * store, then measures ns per decision for exact hits, wildcard hits and
 * misses (with a resolved public address, so the full path runs: host
 * lookups, rule decode, cidr index, private-range guard). Prints numbers
 * only; no asserts. Build and run: see bench/README-policy.md. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rules/rules.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t g_rng = 88172645463325252ull;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)g_rng;
}

static char *gen_policy(unsigned n_hosts, size_t *len)
{
    size_t cap = (size_t)n_hosts * 40 + 4096, o = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    o += (size_t)snprintf(b + o, cap - o,
                          "version: 1\ndefaults: { action: deny }\nrules:\n"
                          "  - id: block-metadata\n    match: { cidr: [169.254.169.254/32] }\n"
                          "    action: deny\n");
    unsigned per_rule = 100, n_rules = (n_hosts + per_rule - 1) / per_rule;
    for (unsigned r = 0; r < n_rules; r++) {
        o += (size_t)snprintf(b + o, cap - o, "  - id: r%u\n    match:\n      port: [443]\n"
                                              "      host:\n", r);
        for (unsigned k = 0; k < per_rule; k++) {
            unsigned h = r * per_rule + k;
            if (h >= n_hosts)
                break;
            if (k % 10 == 9)
                o += (size_t)snprintf(b + o, cap - o, "        - \"*.w%u.bench.test\"\n", h / 10);
            else
                o += (size_t)snprintf(b + o, cap - o, "        - h%u.bench.test\n", h);
        }
        o += (size_t)snprintf(b + o, cap - o, "    action: allow\n");
    }
    o += (size_t)snprintf(b + o, cap - o,
                          "  - id: no-smtp\n    match: { port: [25] }\n    action: deny\n");
    *len = o;
    return b;
}

static double run(struct rl_reader *rd, const char *kind, unsigned n_hosts, unsigned iters,
                  const struct sockaddr *sa, enum rl_verdict want)
{
    char (*names)[64] = malloc((size_t)iters * 64);
    if (!names)
        return 0;
    for (unsigned i = 0; i < iters; i++) {
        unsigned h = rnd() % n_hosts;
        if (!strcmp(kind, "exact") || !strcmp(kind, "repeat-32")) {
            if (h % 100 % 10 == 9)
                h--;
            snprintf(names[i], 64, "h%u.bench.test", h);
        } else if (!strcmp(kind, "wildcard")) {
            unsigned w = h / 10;
            snprintf(names[i], 64, "api.x%u.w%u.bench.test", i % 7, w);
        } else {
            snprintf(names[i], 64, "m%u.nothere.bench.test", h);
        }
    }
    struct rl_decision d;
    unsigned bad = 0;
    double t0 = now_s(), c0 = cpu_s();
    for (unsigned i = 0; i < iters; i++) {
        struct rl_request rq = {.host = names[i], .host_len = strlen(names[i]), .port = 443,
                                .method = "GET", .method_len = 3, .path = "/", .path_len = 1,
                                .addr = sa};
        rl_decide(rd, &rq, &d);
        bad += d.verdict != want;
    }
    double ns = (now_s() - t0) * 1e9 / iters, cns = (cpu_s() - c0) * 1e9 / iters;
    printf("%-9s %8u decisions %6.0f ns/decision wall, %6.0f ns CPU (%u unexpected verdicts)\n",
           kind, iters, ns, cns, bad);
    free(names);
    return cns;
}

int main(int argc, char **argv)
{
    unsigned n_hosts = 1000000, iters = 1000000;
    if (argc > 1)
        n_hosts = (unsigned)strtoul(argv[1], NULL, 10);
    if (argc > 2)
        iters = (unsigned)strtoul(argv[2], NULL, 10);
    if (n_hosts < 100 || iters == 0) {
        fprintf(stderr, "usage: policy_bench [N_HOSTS>=100] [ITERATIONS]\n");
        return 2;
    }
    char dir[] = "/tmp/sgw-policy-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    size_t len = 0;
    double t0 = now_s();
    char *yaml = gen_policy(n_hosts, &len);
    if (!yaml)
        return 2;
    double t1 = now_s();
    int rc = rl_policy_compile_buffer("bench.yaml", yaml, len, dir, stderr);
    double t2 = now_s();
    free(yaml);
    printf("policy: %u host entries, %.1f MB YAML, generated in %.2f s, compiled in %.2f s\n",
           n_hosts, (double)len / 1e6, t1 - t0, t2 - t1);
    if (rc != 0)
        return 2;
    struct rl_engine *eng = NULL;
    struct rl_reader *rd = NULL;
    char err[256];
    if (rl_engine_open(dir, &eng, err, sizeof err) != 0 || rl_reader_new(eng, &rd) != 0) {
        fprintf(stderr, "open: %s\n", err);
        return 2;
    }
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, "93.184.216.34", &sin.sin_addr);
    const struct sockaddr *sa = (const struct sockaddr *)&sin;
    /* the lookups themselves: the reader's decision cache off */
    rl_reader_set_cache(rd, 0);
    run(rd, "exact", n_hosts, iters / 10, sa, RL_ALLOW); /* warm-up */
    double e = run(rd, "exact", n_hosts, iters, sa, RL_ALLOW);
    double w = run(rd, "wildcard", n_hosts, iters, sa, RL_ALLOW);
    double m = run(rd, "miss", n_hosts, iters, sa, RL_DENY);
    printf("ratios (CPU): wildcard/exact %.2f, miss/exact %.2f; budget 3000 ns/decision\n",
           w / e, m / e);
    /* what a gateway sees most: the same few endpoints again and again
       (here 32 hosts), with the cache on */
    rl_reader_set_cache(rd, 1);
    double r = run(rd, "repeat-32", 32, iters, sa, RL_ALLOW);
    uint64_t hits = 0, misses = 0;
    rl_reader_cache_stats(rd, &hits, &misses);
    printf("decision cache: %llu hits, %llu misses; repeat-32/exact (CPU) %.2f\n",
           (unsigned long long)hits, (unsigned long long)misses, r / e);
    rl_reader_free(rd);
    rl_engine_free(eng);
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}
