/* rules/rules.h — the policy: YAML source, compiler into the LMDB store,
 * evaluation, the embedded default policy and the offline `sovgw policy` tools.
 * Knows nothing about sockets or event loops. The proxy talks to rules only
 * through this header. */
#ifndef SGW_RULES_H
#define SGW_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "classifiers/classifiers.h"

/* What the proxy knows about one request when it asks for a decision.
 * Every pointer is borrowed from the caller for the duration of the call. */
struct rl_request {
    const char *host;      /* destination host as the client named it; any case,
                              a trailing dot allowed; IPv6 literal without [] */
    size_t host_len;
    uint16_t port;         /* destination port */
    const char *method;    /* "GET", "CONNECT", ... */
    size_t method_len;
    const char *path;      /* origin-form path incl. query, "" for CONNECT */
    size_t path_len;
    const struct sockaddr *addr; /* resolved destination address, or NULL when
                                    the gateway has not resolved it yet */
    int addr_pinned;       /* 1 when addr came from --resolve/--connect-to (the
                              operator's explicit choice: not refused as private) */
};

enum rl_verdict {
    RL_DENY = 0,     /* zero-initialised decision = deny */
    RL_ALLOW,
    RL_NEED_ADDR,    /* only when addr == NULL: the outcome depends on the
                        resolved address; resolve and ask again */
    RL__VERDICT_COUNT
};

const char *rl_verdict_str(enum rl_verdict v);

struct rl_decision {
    enum rl_verdict verdict;
    char rule_id[64];        /* id of the matching rule, "default" when none,
                                "error" when the store could not be read */
    char reason[160];        /* short human reason, never a sensitive value */
    uint64_t policy_version; /* version of the store snapshot that decided */
    int from_cache;          /* 1 when the reader's decision cache answered */
};

/* A compiled store opened for evaluation; shared by all worker threads. */
struct rl_engine;
/* A per-thread reader (holds the thread's reusable LMDB read transaction). */
struct rl_reader;

/* Opens a compiled store read-only. Fails (SGW_ERR, message in err) when the
 * store is missing, unreadable, or of an unknown format version. */
int rl_engine_open(const char *store_dir, struct rl_engine **out, char *err, size_t errlen);
void rl_engine_free(struct rl_engine *eng);

int rl_reader_new(struct rl_engine *eng, struct rl_reader **out);
void rl_reader_free(struct rl_reader *rd);
/* The reader remembers its last decisions for as long as the store has not
 * changed (on by default; off empties it). Results are the same either way;
 * benchmarks turn it off to time the lookups. */
void rl_reader_set_cache(struct rl_reader *rd, int on);
void rl_reader_cache_stats(const struct rl_reader *rd, uint64_t *hits, uint64_t *misses);

/* Decides one request against one consistent version of the store (a new
 * compile into the same store is seen by the next call, atomically). Never
 * fails open: any read or decode error yields RL_DENY with rule_id "error".
 * Private, loopback, link-local, CGNAT and multicast destinations are denied
 * unless addr_pinned or the matching allow rule names a CIDR containing addr. */
void rl_decide(struct rl_reader *rd, const struct rl_request *req, struct rl_decision *out);

/* Policy version currently visible in the store (0 when unreadable). */
uint64_t rl_engine_policy_version(struct rl_engine *eng);

/* Compiles a YAML policy into the store at store_dir (created when missing),
 * replacing the previous policy in one write transaction. Errors are written
 * to errs as "name:line:column: message" lines. Returns SGW_OK, SGW_EPROTO
 * (policy has errors) or SGW_EIO (store could not be written). */
int rl_policy_compile_file(const char *path, const char *store_dir, FILE *errs);
int rl_policy_compile_buffer(const char *name, const char *yaml, size_t len,
                             const char *store_dir, FILE *errs);

/* The embedded default policy (YAML text, NUL-terminated, static). */
const char *rl_default_policy(void);

/* Loads only the classifiers section of a policy (packs, dictionaries, custom
 * regexes, fingerprints) for `sovgw scan --policy`. Matches
 * cls_policy_loader_fn; what it fills stays allocated until exit. */
int rl_policy_classifiers_load(const char *path, struct cls_config *cfg, char *err, size_t errlen);

/* `sovgw policy …` (check, compile, …). argv[0] is "policy". Returns the
 * process exit code: 0 ok, 1 policy has errors / a test failed, 2 usage. */
int rl_cli_policy(int argc, char **argv);

#endif
