/* classifiers/classifiers.h — streaming detectors for personal data and
 * secrets. Knows nothing about HTTP or policy: bytes (with a content type and
 * encoding) in, findings out.
 *
 * Lifetimes: an engine is compiled once and shared read-only by every thread
 * (refcounted); a worker holds one thread's scratch (Hyperscan scratch, PCRE2
 * match data); a stream is one body, fed in chunks of any size, closed once. */
#ifndef SGW_CLASSIFIERS_H
#define SGW_CLASSIFIERS_H

#include <stddef.h>
#include <stdint.h>

enum cls_category {
    CLS_CAT_PII,
    CLS_CAT_FINANCIAL,
    CLS_CAT_HEALTH,
    CLS_CAT_SECRET,
    CLS_CAT_CUSTOM,
    CLS_CAT_UNINSPECTABLE, /* content the engine could not see into */
    CLS_CAT__COUNT
};

const char *cls_category_str(enum cls_category c);

enum cls_finding_flag {
    CLS_FF_EXAMPLE = 1u << 0,  /* a documented example value (e.g. AWS's AKIAIOSFODNN7EXAMPLE) */
    CLS_FF_BOMB = 1u << 1,     /* decompression ratio/size limit hit */
    CLS_FF_COPY = 1u << 2,     /* found in a decoded copy (a base64 or hex run, text with
                                  escapes or lookalike letters): the span is the encoded
                                  text's */
    CLS_FF_TWICE = 1u << 3,    /* part of it was percent-encoded twice (%2541KIA…): a
                                  sign of evasion (catalogue 4.1 case 19) */
    CLS_FF_JOINED = 1u << 4,   /* found across two adjacent text blocks of a JSON
                                  request (Converse, Anthropic's Messages), which a
                                  model reads joined: the span runs from one block
                                  into the next */
};

struct cls_finding {
    const char *type;          /* static name, Bedrock Guardrails style: "EMAIL",
                                  "CREDIT_DEBIT_CARD_NUMBER", "UNINSPECTABLE", ... */
    enum cls_category category;
    uint64_t start, end;       /* byte span [start, end) in the decoded text (what the
                                  structure decoder produced: for plain text the body's
                                  own bytes after any Content-Encoding) */
    char decoders[48];         /* decoder path, e.g. "gzip>json" ("" for raw bytes) */
    uint8_t confidence;        /* 0..100 */
    uint32_t flags;            /* enum cls_finding_flag */
    char reason[64];           /* for UNINSPECTABLE: why; else empty */
    char excerpt[48];          /* masked excerpt ("4111********1111"), only when the
                                  stream was opened with excerpts = 1 (offline tools) */
};

/* Custom definitions, usually taken from the policy's classifiers section.
 * All pointers are borrowed for the duration of cls_engine_new only. */
struct cls_dictionary {
    const char *name;            /* finding type, e.g. "PROJECT_CODENAME" */
    const char *const *terms;    /* case-insensitive whole-word terms */
    size_t n_terms;
};

struct cls_custom_regex {
    const char *name;            /* finding type */
    const char *pattern;         /* PCRE2 syntax */
    const char *validator;       /* optional: "luhn", "mod97", "verhoeff", ... or NULL */
};

struct cls_fingerprints {
    const char *name;            /* finding type, e.g. "CUSTOMER_ID" */
    uint8_t key[32];             /* HMAC-SHA256 key the hashes were made with */
    const uint8_t (*hashes)[32]; /* HMAC-SHA256(key, normalised token) */
    size_t n_hashes;
};

struct cls_config {
    const char *const *packs;    /* "pii-core", "pii-eu", "pii-world", "secrets";
                                    NULL = all default packs */
    size_t n_packs;
    const struct cls_dictionary *dicts;
    size_t n_dicts;
    const struct cls_custom_regex *regexes;
    size_t n_regexes;
    const struct cls_fingerprints *fingerprints;
    size_t n_fingerprints;
};

struct cls_engine;
struct cls_worker;
struct cls_stream;

/* Compiles an engine. On failure returns a negative sgw_rc and writes a
 * message (e.g. which custom regex failed to compile and where) to err. */
int cls_engine_new(const struct cls_config *cfg, struct cls_engine **out, char *err, size_t errlen);
struct cls_engine *cls_engine_ref(struct cls_engine *e);
void cls_engine_unref(struct cls_engine *e);

/* One per thread. Keeps a reference to the engine. */
int cls_worker_new(struct cls_engine *e, struct cls_worker **out);
void cls_worker_free(struct cls_worker *w);

struct cls_stream_opts {
    const char *content_type;     /* media type as sent, may be NULL (sniffed) */
    const char *content_encoding; /* e.g. "gzip", "gzip, br"; NULL = identity */
    uint64_t max_decoded;         /* decoded-bytes limit (0 = 64 MiB); beyond it an
                                     UNINSPECTABLE finding with CLS_FF_BOMB */
    uint32_t max_ratio;           /* decompression ratio limit (0 = 100) */
    int excerpts;                 /* 1 = fill cls_finding.excerpt (offline tools only) */
    uint32_t max_time_ms;         /* time limit for this body's inspection (0 = none):
                                     the time spent inside cls_stream_feed and
                                     cls_stream_close (wall clock while they run).
                                     Past it: an UNINSPECTABLE finding ("inspection
                                     time limit exceeded"), and the rest of the body
                                     is not inspected. Looked at once per call and
                                     every 16 KiB of text inside one */
};

/* Opens a stream on a worker; memory per stream is bounded whatever the body
 * size. The worker must outlive the stream; one stream per worker at a time. */
int cls_stream_new(struct cls_worker *w, const struct cls_stream_opts *opts, struct cls_stream **out);
/* Feeds the next chunk. Returns SGW_OK, or a negative sgw_rc on an internal
 * error (the caller treats that as a deny). Malformed content is not an error:
 * it becomes an UNINSPECTABLE finding. */
int cls_stream_feed(struct cls_stream *s, const void *buf, size_t len);
/* Ends the input; after this the findings are final. */
int cls_stream_close(struct cls_stream *s);
/* Findings so far, in order of start offset (borrowed, valid until free).
 * Before close, the last few KiB of decoded text may still wait in the
 * scanner's batch: only the findings after cls_stream_close are final. */
const struct cls_finding *cls_stream_findings(const struct cls_stream *s, size_t *n);
void cls_stream_free(struct cls_stream *s);

/* Exact-data fingerprints. A token is a run of [A-Za-z0-9_@.+-]; its
 * normal form drops leading/trailing . _ + -, lower-cases ASCII, and must be
 * CLS_FP_MIN_TOKEN..CLS_FP_MAX_TOKEN bytes holding a digit or '@' (customer
 * ids, account numbers, e-mail addresses). Returns the normal form's length in
 * out, or 0 when tok is not such a token; *core_off (may be NULL) gets the
 * offset in tok where the normal form starts (after dropped punctuation). */
#define CLS_FP_MIN_TOKEN 4
#define CLS_FP_MAX_TOKEN 64
int cls_fingerprint_char(uint8_t c);
size_t cls_fingerprint_normalise(const uint8_t *tok, size_t n, uint8_t out[CLS_FP_MAX_TOKEN],
                                 size_t *core_off);
/* HMAC-SHA256(key, norm): what struct cls_fingerprints.hashes hold. */
int cls_fingerprint_hash(const uint8_t key[32], const uint8_t *norm, size_t n, uint8_t mac[32]);

/* Loader for `sovgw scan --policy FILE`: fills cfg from a policy's
 * classifiers section (owned by the caller's loader until the process ends).
 * Provided by rules/ and passed in by main, so classifiers never parse policy. */
typedef int (*cls_policy_loader_fn)(const char *policy_path, struct cls_config *cfg,
                                    char *err, size_t errlen);

/* `sovgw scan …`; argv[0] is "scan". Returns the exit code: 0 clean,
 * 1 something found, 2 error. */
int cls_cli_scan(int argc, char **argv, cls_policy_loader_fn loader);

#endif
