/* rules/internal.h — interfaces between the parts of rules/ (parser, compiler,
 * evaluator, CLI). Never included outside rules/ (tests excepted). */
#ifndef SGW_RULES_INTERNAL_H
#define SGW_RULES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "classifiers/classifiers.h"
#include "common/sgw.h"
#include "rules/rules.h"

#define RL_FORMAT_VERSION 1u
#define RL_MAX_POLICY_BYTES (256u << 20) /* source size bound */
#define RL_MAX_RULES 1000000u
#define RL_MAX_ITEMS 65535u              /* ports, paths, cidrs, methods per rule */
#define RL_MAX_ID 63u
#define RL_MAX_PATH 1024u
#define RL_MAX_HOST 253u

enum rl_action {
    RL_ACT_DENY = 0,
    RL_ACT_ALLOW = 1,
};

enum rl_method_bit {
    RL_M_GET = 1u << 0,
    RL_M_HEAD = 1u << 1,
    RL_M_POST = 1u << 2,
    RL_M_PUT = 1u << 3,
    RL_M_DELETE = 1u << 4,
    RL_M_CONNECT = 1u << 5,
    RL_M_OPTIONS = 1u << 6,
    RL_M_TRACE = 1u << 7,
    RL_M_PATCH = 1u << 8,
};

/* Method token (case-sensitive, as HTTP says) to its bit; 0 when unknown. */
uint32_t rl_method_bit(const char *m, size_t n);

struct rl_port_range {
    uint16_t lo, hi;
};

/* An address range; IPv4 is family 4 with 4 bytes used. IPv4-mapped IPv6
 * ranges (::ffff:a.b.c.d/96+n) are stored as IPv4. addr is masked. */
struct rl_cidr {
    uint8_t family; /* 4 or 6 */
    uint8_t plen;
    uint8_t addr[16];
};

/* Parses "a.b.c.d/n" or "v6/n" (a bare address means /32 or /128). Strict:
 * inet_pton forms only, host bits must be zero. SGW_OK or SGW_EPROTO with a
 * static reason in *why. */
int rl_cidr_parse(const char *s, size_t n, struct rl_cidr *out, const char **why);
/* 1 when addr (family 4: 4 bytes, 6: 16 bytes) lies in c. */
int rl_cidr_contains(const struct rl_cidr *c, uint8_t family, const uint8_t *addr);
void rl_cidr_format(const struct rl_cidr *c, char *buf, size_t n);

/* One rule as written, validated and normalised. Strings are owned. */
struct rl_rule {
    char *id;
    uint32_t line; /* 1-based line of the rule in the source */
    enum rl_action action;
    unsigned has_match; /* 0: the rule matches every request */
    char **hosts;       /* lowercase, no trailing dot; "*.suffix" for wildcards */
    size_t n_hosts;
    struct rl_port_range *ports;
    size_t n_ports;
    uint32_t methods; /* enum rl_method_bit mask; 0 = any */
    char **paths;     /* prefixes, each starting with '/' */
    size_t n_paths;
    struct rl_cidr *cidrs;
    size_t n_cidrs;
};

struct rl_policy {
    enum rl_action default_action;
    uint64_t inspect_limit; /* bytes; 0 = not set */
    struct rl_rule *rules;
    size_t n_rules;
    size_t n_hosts, n_cidrs; /* totals over all rules */
    /* classifiers section (owned) */
    char **packs;
    size_t n_packs;
    unsigned has_packs;
    struct cls_dictionary *dicts; /* name and terms owned */
    size_t n_dicts;
    struct cls_custom_regex *regexes; /* strings owned */
    size_t n_regexes;
    struct cls_fingerprints *fps; /* name and hashes owned */
    size_t n_fps;
};

/* `sovgw policy fingerprint …` (rules/fingerprint_cli.c); argv[0] is "fingerprint". */
int rl_cli_fingerprint(int argc, char **argv);

/* Parses and validates a policy. Every problem is written to errs (may be
 * NULL) as "name:line:column: message\n"; *n_errors gets their count.
 * Returns SGW_OK with *out owned by the caller, SGW_EPROTO when the policy
 * has errors, SGW_ENOMEM. */
int rl_policy_parse(const char *name, const char *yaml, size_t len, struct rl_policy **out,
                    FILE *errs, size_t *n_errors);
void rl_policy_free(struct rl_policy *p);

/* Reads a whole policy file (bounded by RL_MAX_POLICY_BYTES). */
int rl_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

/* Writes p into the store at dir in one write transaction, with sha256 of
 * the source. *version gets the new policy version. Errors as one line on
 * errs. SGW_OK, SGW_EIO, SGW_ELIMIT, SGW_EPROTO (existing store of an unknown
 * format). */
int rl_store_write(const struct rl_policy *p, const char *src, size_t srclen, const char *dir,
                   uint64_t *version, FILE *errs);

/* Store layout (see docs/policy.md). */
enum rl_db {
    RL_DB_META,
    RL_DB_HOSTS,
    RL_DB_CIDRS,
    RL_DB_RULES,
    RL_DB__COUNT
};
extern const char *const rl_db_names[RL_DB__COUNT];

/* meta keys */
/* header: everything a decision needs besides the lists, in one read:
   format u32 | version u64 | default action u8 | n_rules u32 |
   cidr prefix lengths used by cidr-only rules: 5 bytes v4 bitmap (0..32) +
   17 bytes v6 bitmap (0..128) | wildcard suffix depths (label counts 0..127)
   as a 16-byte bitmap */
#define RL_META_HEADER "header"
#define RL_META_SHA256 "sha256"       /* 32 bytes */
#define RL_META_COMPILED "compiled_at" /* u64 unix seconds */
#define RL_META_COUNTS "counts"       /* n_rules u64, n_hosts u64, n_cidrs u64 */
#define RL_META_NOHOST "nohost"       /* u32 BE rule indices: no host and no cidr condition */
#define RL_META_CIDRONLY "cidr_only"  /* u32 BE rule indices: cidr but no host condition */
#define RL_META_INSPECT "inspect_limit" /* u64 */
#define RL_HDR_PLENS 17
#define RL_HDR_WILD 39
#define RL_HEADER_LEN (RL_HDR_WILD + 16)

/* Rule record flags. */
enum rl_rec_flag {
    RL_RF_HOST = 1u << 0,
    RL_RF_PORT = 1u << 1,
    RL_RF_METHOD = 1u << 2,
    RL_RF_PATH = 1u << 3,
    RL_RF_CIDR = 1u << 4,
};

static inline void rl_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t rl_rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void rl_be64(uint8_t *p, uint64_t v)
{
    rl_be32(p, (uint32_t)(v >> 32));
    rl_be32(p + 4, (uint32_t)v);
}

static inline uint64_t rl_rd64(const uint8_t *p)
{
    return ((uint64_t)rl_rd32(p) << 32) | rl_rd32(p + 4);
}

/* Host key: reversed labels, each followed by '.', e.g. "com.example." for
 * example.com; a wildcard "*.example.org" is "org.example.*". Returns the key
 * length or 0 when it does not fit. */
size_t rl_host_key(const char *host, size_t n, int wildcard, char *key, size_t cap);

#endif
