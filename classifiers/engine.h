/* classifiers/engine.h — the compiled engine, the per-thread worker and the
 * streaming scanner (the final cls_sink of the decoder chain). Private to
 * classifiers/.
 *
 * Stages (see docs/classifiers.md):
 *   1. prefilter: SIMD byte-class scan (digits, '@') plus a Hyperscan literal
 *      database in streaming mode (secret anchors, keywords, dictionary terms,
 *      prefilter forms of custom regexes) find the few trigger positions;
 *   2. a trigger opens a bounded window (token-extended left and right);
 *      windows are built from absolute stream offsets only, so any split of
 *      the input gives the same windows;
 *   3. confirm: PCRE2 JIT runs only the patterns whose gates (anchor group,
 *      digit count, punctuation) the window passes;
 *   4. validate in C (validators.h), apply context words, emit findings. */
#ifndef SGW_CLASSIFIERS_ENGINE_H
#define SGW_CLASSIFIERS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "classifiers/classifiers.h"
#include "classifiers/validators.h"

/* ---- the type table (packs.c): one row per finding type ---- */

enum cls_pack {
    CLS_PACK_CORE = 1u << 0,
    CLS_PACK_EU = 1u << 1,
    CLS_PACK_WORLD = 1u << 2,
    CLS_PACK_SECRETS = 1u << 3,
};

struct cls_type_def {
    const char *name;                 /* Bedrock Guardrails style */
    enum cls_category category;
    uint32_t pack;                    /* enum cls_pack */
    const char *validates;            /* human text for docs/--list */
    const char *const *ctx_words;     /* lower-case, NULL-terminated, may be NULL */
};

/* Window features a pattern may require before its regex runs. */
enum cls_wflag {
    CLS_WF_AT = 1u << 0,
    CLS_WF_DOT = 1u << 1,
    CLS_WF_COLON = 1u << 2,
    CLS_WF_DASH = 1u << 3,
    CLS_WF_PLUS = 1u << 4,
    CLS_WF_SLASH = 1u << 5,
    CLS_WF_PAREN = 1u << 6,
    CLS_WF_SPACE = 1u << 7,
    CLS_WF_EQ = 1u << 8,
    CLS_WF_3DOTS = 1u << 9,  /* three or more dots */
    CLS_WF_RUN4 = 1u << 10,  /* a run of at least 4 digits */
    CLS_WF_RUN6 = 1u << 11,
    CLS_WF_RUN7 = 1u << 12,
    CLS_WF_RUN8 = 1u << 13,
    CLS_WF_SEP5 = 1u << 14,  /* five or more ':' / '-' */
    /* shapes of adjacent bytes (exact at any length: windows of more than
       64 bytes carry them across their 64-byte blocks) */
    CLS_WF_DU = 1u << 15,    /* a digit right before an upper-case letter */
    CLS_WF_UD = 1u << 16,    /* an upper-case letter right before a digit */
    CLS_WF_UU = 1u << 17,    /* two upper-case letters in a row */
    CLS_WF_DSD = 1u << 18,   /* digit, one of " .-", digit */
    CLS_WF_DDU = 1u << 19,   /* digit, '-', upper-case letter */
    CLS_WF_IP3 = 1u << 20,   /* three or more dots with a digit on each side */
    CLS_WF_UP6 = 1u << 21,   /* six upper-case letters in a row */
    CLS_WF_AU6 = 1u << 22,   /* six of [A-Z0-9] in a row */
    CLS_WF_DSD2 = 1u << 23,  /* two or more of digit, one of "./-", digit */
    CLS_WF_COLON2 = 1u << 24, /* two or more ':' (exact at any length) */
    CLS_WF_UUD = 1u << 25,   /* two upper-case letters, then a digit */
};

/* Literal anchor groups (bits of a window's anchor mask). */
enum cls_anchor {
    CLS_A_AWS,
    CLS_A_AWSSEC,
    CLS_A_PEM,
    CLS_A_JWT,
    CLS_A_GH,
    CLS_A_GL,
    CLS_A_SLACK,
    CLS_A_STRIPE,
    CLS_A_GOOGLE,
    CLS_A_SKDASH,
    CLS_A_HF,
    CLS_A_NPM,
    CLS_A_SG,
    CLS_A_TWILIO,
    CLS_A_AZURE,
    CLS_A_KEYWORD,
    CLS_A_URL,
    CLS_A_SWIFT,
    CLS_A_OBF, /* [at], (dot): an address written to get past a filter */
    CLS_A_SHOPIFY,
    CLS_A_DATABRICKS,
    CLS_A_DIGITALOCEAN,
    CLS_A_DOPPLER,
    CLS_A_PYPI,
    CLS_A_RUBYGEMS,
    CLS_A_POSTMAN,
    CLS_A_PULUMI,
    CLS_A_NEWRELIC,
    CLS_A_GRAFANA,
    CLS_A_LINEAR,
    CLS_A_HASHICORP,
    CLS_A_ATLASSIAN,
    CLS_A_SQUARE,
    CLS_A_DYNATRACE,
    CLS_A_AGE,
    CLS_A_ONEPASSWORD,
    CLS_A_FLYIO,
    CLS_A_PLANETSCALE,
    CLS_A_ALIBABA,
    CLS_A_AZURE_AD,
    CLS_A_GCP_OAUTH,
    CLS_A_SENTRY,
    CLS_A_PREFECT,
    CLS_A_HEROKU,
    CLS_A_GROQ,
    CLS_A_REPLICATE,
    CLS_A_PERPLEXITY,
    CLS_A_XAI,
    CLS_A_BEDROCK,
    CLS_A_DISCORD,
    CLS_A_TEAMS,
    CLS_A_DOB, /* a birth date's words: the window reaches a date with its month's name */
    CLS_A_ENVKEY, /* "_KEY" of an environment variable's name (OPENAI_KEY=…) */
    CLS_A_CURL,   /* curl's credentials: "curl", "--user" (-u user:password) */
    CLS_A_CLIPW,  /* a password on a command line: "mysql" (-pPASSWORD), "sshpass" (-p PASSWORD) */
    CLS_A_NETRC,  /* a .netrc entry: " login " (machine HOST login USER password PASSWORD) */
    CLS_A_SAS,    /* a shared access signature's "?sig=" / "&sig=" */
    CLS_A_AWSSESS, /* an STS session token's first bytes (IQoJb3JpZ2luX2Vj…) */
    CLS_A__COUNT
};
_Static_assert(CLS_A__COUNT <= 64, "a window's anchors are a 64-bit mask");

#define CLS_PF_TRIM 1u    /* on validation failure retry shorter at separators */
#define CLS_PF_NEEDCTX 2u /* report only with a context word */
#define CLS_PF_VALUE 4u   /* capture group 1 is the value span */
#define CLS_PF_UNITEND 8u /* match must end where the text unit ended */
#define CLS_PF_TRUNK0 16u /* a match begins at a '0' no digit precedes and 1-9 follows, or at "(0": a
                             window without one runs no regex (national phone numbers) */
#define CLS_PF_CTXNEAR 32u /* the context word is the match's: no year (four digits) between them
                              ("born in 1985, joined on 12 March 2010": the second is no birth date) */

struct cls_pattern_def {
    uint16_t type;          /* index into cls_types */
    const char *regex;      /* PCRE2; group 1, when present, is the value span */
    cls_validator_fn validate;
    uint64_t anchors;       /* window needs one of these anchor bits (0 = none) */
    uint32_t need_flags;    /* enum cls_wflag, all required */
    uint8_t min_digits;     /* window digit count */
    uint8_t conf;           /* confidence without context */
    uint8_t conf_ctx;       /* with a context word */
    uint8_t prio;           /* overlap resolution: higher wins */
    uint32_t pflags;        /* CLS_PF_* */
    uint8_t min_upper;      /* window upper-case letter count */
    uint32_t any_flags;     /* window needs at least one of these (0 = none) */
};

struct cls_literal_def {
    const char *lit;
    uint8_t anchor;         /* enum cls_anchor */
    uint8_t caseless;
    uint8_t right;          /* bytes the window must reach past the literal */
    uint8_t left;           /* bytes before the literal's end it must hold (0: the literal's;
                               more when a match may begin before it past a space) */
};

extern const struct cls_type_def cls_types[];
extern const size_t cls_n_types;
extern const struct cls_pattern_def cls_patterns[];
extern const size_t cls_n_patterns;
extern const struct cls_literal_def cls_literals[];
extern const size_t cls_n_literals;

/* Secrets as structured data writes them: a value whose key names a secret
 * ({"password": "…"}, {"client_secret": "…"}, {"Authorization": "Bearer
 * …"}), where the text holds no "password=" for the patterns to read.
 * cls_kv_secret_key: does key k[0, n) name one (packs.c has the names)?
 * CLS_KV_ANY, or CLS_KV_USERPASS for a key whose secret has a shape of its
 * own (Docker's "auth": user:password in base64), or 0.
 * cls_kv_secret_value: is v[0, n), a whole text unit or the first
 * CLS_KV_MAX bytes of a longer one (one token to its end: the scanner
 * checks the rest), one for a key of that kind? *from gets where the
 * secret begins (after an authorization scheme). */
#define CLS_KV_MAX 256
enum { CLS_KV_ANY = 1, CLS_KV_USERPASS = 2 };
int cls_kv_secret_key(const char *k, size_t n);
int cls_kv_secret_value(const uint8_t *v, size_t n, int kind, size_t *from);
extern const size_t cls_kv_type;   /* the finding's type (GENERIC_SECRET) */
extern const uint16_t cls_kv_prio; /* and its rank among overlapping findings */

/* Could a name ending in a, b (ASCII, case folded) end with one of the
 * words (password, passwd, pwd, passphrase, secret, secretvalue, ...key,
 * secretbinary, ...token, authorization, secretstring)? */
static inline int cls_kv_last2(unsigned a, unsigned b)
{
    switch (b) {
    case 'd': return a == 'r' || a == 'w';
    case 'e': return a == 's' || a == 'u';
    case 't': return a == 'e';
    case 'y': return a == 'e' || a == 'r';
    case 'n': return a == 'e' || a == 'o';
    case 'g': return a == 'n';
    case 's': return a == 's';
    case 'h': return a == 't';
    default: return 0;
    }
}

/* The test of every key, before cls_kv_secret_key: 0 for most names
 * (content, role, model, messages, max_tokens), from their last two
 * letters (a plural 's' and trailing '_', '-', '.', ' ' skipped). */
static inline int cls_kv_maybe_key(const char *k, size_t n)
{
    while (n && (k[n - 1] == '_' || k[n - 1] == '-' || k[n - 1] == '.' || k[n - 1] == ' '))
        n--;
    if (n < 3)
        return 0;
    unsigned a = (unsigned char)(k[n - 2] | 0x20), b = (unsigned char)(k[n - 1] | 0x20);
    /* (plurals: passwords, secrets, api_keys; not tokens, which AI APIs
       count in every body: max_tokens, input_tokens, total_tokens) */
    unsigned c = n >= 4 ? (unsigned char)(k[n - 3] | 0x20) : 0;
    return cls_kv_last2(a, b) || (b == 's' && c && !(c == 'e' && a == 'n') && cls_kv_last2(c, a));
}

/* Custom regexes: a match is at most CLS_CUSTOM_SPAN bytes long. The
 * longest literal every match must contain (relit.c), CLS_RELIT_MIN to
 * CLS_RELIT_MAX bytes, is their trigger when there is one: copied into out
 * (cap bytes), *caseless set for a leading "(?i)"; 0 when none is proven
 * (the regex's Hyperscan prefilter form is the trigger then). */
#define CLS_CUSTOM_SPAN 256
#define CLS_RELIT_MIN 3
#define CLS_RELIT_MAX 64
size_t cls_regex_literal(const char *re, uint8_t *out, size_t cap, int *caseless);

/* pack name -> enum cls_pack bit; 0 when unknown */
uint32_t cls_pack_bit(const char *name);
/* 1 when [s, s+n) is a documented example value (AWS docs, test cards) */
int cls_is_example(const char *s, size_t n);

/* ---- compiled engine (engine.c) ---- */

enum cls_hit_kind {
    CLS_HIT_ANCHOR,
    CLS_HIT_DICT,
    CLS_HIT_CUSTOM,
    CLS_HIT_CTX,            /* a context word: never a trigger, only a gate */
};

struct cls_hs_id {          /* what a Hyperscan id means */
    uint8_t kind;           /* enum cls_hit_kind */
    uint8_t anchor;         /* CLS_HIT_ANCHOR */
    uint16_t right;         /* bytes a window needs after the hit (a dictionary term: its words after the literal one) */
    uint32_t len;           /* literal length (0 for custom regexes) */
    uint32_t index;         /* dictionary or custom regex index */
    uint32_t maxlen;        /* CLS_HIT_DICT: bytes of the longest match up to the literal's end;
                               CLS_HIT_ANCHOR: the literal's `left` (0: its length) */
    uint16_t woff;          /* CLS_HIT_DICT: offset of the literal word in the canonical term */
    uint64_t types;         /* CLS_HIT_CTX: bit per type index it is a context word of */
};

/* Dictionary terms: words are separated by runs of 1..CLS_DICT_GAP
 * whitespace bytes (a marking wrapped onto two lines, two spaces), and
 * letters match in either case, ASCII and the simple case pairs of the
 * Latin, Greek and Cyrillic letters of the EU's languages (Ü/ü, Ł/ł, Σ/σ,
 * Д/д), each pair the same length in UTF-8. */
#define CLS_DICT_GAP 6 /* 64 bytes with 32 gaps then reach 224 bytes: within CLS_CUSTOM_SPAN */
/* The other case of cp when it has one of that kind, else 0. */
uint32_t cls_case_pair(uint32_t cp);
/* cp in lower case (of those pairs), else cp. */
uint32_t cls_case_lower(uint32_t cp);
/* p[0..n) in lower case into dst (which may be p): ASCII and the two-byte
 * letters of those pairs (the length does not change). */
void cls_fold_lower(uint8_t *dst, const uint8_t *p, size_t n);
/* Length of the character at t[i] (t n bytes): a valid UTF-8 sequence's,
 * else 1. */
size_t cls_utf8_char(const uint8_t *t, size_t i, size_t n);
/* Where term[0..tl) (a canonical term or part of one: words joined by one
 * space) ending at text[end] begins, matched backwards; SIZE_MAX when it
 * does not end there. */
size_t cls_dict_start(const char *term, size_t tl, const uint8_t *text, size_t end);
/* Where term[0..tl) starting at text[from] (text n bytes) ends, matched
 * forwards; SIZE_MAX when it does not start there. */
size_t cls_dict_end(const char *term, size_t tl, const uint8_t *text, size_t from, size_t n);

/* The left edges that built-in patterns begin with (packs.c's LBA and LBN):
 * no match starts right after a byte of these classes, so a window's part
 * with no other byte before a position holds no match of them (scan.c). */
enum { CLS_LB_NONE, CLS_LB_ALNUM, CLS_LB_NUMTOK };
#define CLS_LBA "(?<![A-Za-z0-9_])"
#define CLS_LBN "(?<![A-Za-z0-9_.+/-])"
/* CLS_LB_* of a regex that begins with one of them and has no '|' outside
 * its groups (so that every match begins there), else CLS_LB_NONE */
uint8_t cls_left_bound(const char *re);

struct cls_cpattern {       /* a compiled built-in pattern, gates copied in */
    uint64_t anchors;
    uint32_t need_flags, any_flags;
    uint8_t min_digits, min_upper, needctx;
    uint8_t lb; /* a match starts only after a byte that is no CLS_LB_* class's (0: any) */
    uint16_t type;
    const struct cls_pattern_def *def;
    void *code;             /* pcre2_code_8 * */
    void *code_at; /* lb patterns: the same, matching only at the start offset (PCRE2_ANCHORED) */
};

struct cls_custom {
    char *name;             /* owned */
    void *code;             /* pcre2_code_8 * */
    cls_validator_fn validate;
};

struct cls_dict {
    char *name;             /* owned */
};

struct cls_fpset {
    char *name;             /* owned */
    uint8_t key[32];
    uint8_t (*hashes)[32];  /* owned, sorted */
    size_t n;
};

/* A set of compiled patterns: bit i = pats[i]. The gates of all patterns
 * are evaluated at once per window by intersecting precomputed sets. */
#define CLS_MAX_PATS 128
#define CLS_GATE_DIGITS 64 /* min_digits must stay below this */
#define CLS_GATE_UPPER 32  /* min_upper must stay below this */
struct cls_pset {
    uint64_t w[CLS_MAX_PATS / 64];
};

struct cls_gates {
    struct cls_pset digits[CLS_GATE_DIGITS]; /* [k]: min_digits <= k */
    struct cls_pset upper[CLS_GATE_UPPER];   /* [k]: min_upper <= k */
    struct cls_pset unanchored;
    struct cls_pset anchor[CLS_A__COUNT];    /* [a]: anchors hold a */
    /* by flag byte: [b][v] for the flags v << 8b of a window */
    struct cls_pset need[4][256];            /* need_flags within those bits met */
    struct cls_pset any[4][256];             /* any_flags == 0 or meet one of them */
};

struct cls_engine {
    int refs;               /* atomic */
    uint32_t packs;
    struct cls_cpattern *pats; /* anchored first, then by ascending min_digits */
    size_t n_pats, n_anchored;
    struct cls_gates gates;
    struct cls_custom *customs;
    size_t n_customs;
    struct cls_dict *dicts;
    size_t n_dicts;
    struct cls_fpset *fps;
    size_t n_fps;
    void *hsdb;             /* hs_database_t *, stream mode */
    struct cls_hs_id *ids;  /* indexed by Hyperscan id */
    const char **ctx_words; /* indexed by Hyperscan id: the word of a CLS_HIT_CTX (static) */
    char **terms;           /* indexed by Hyperscan id: a CLS_HIT_DICT's canonical term (owned) */
    size_t n_ids;
    void (*trigger_bits)(const uint8_t *p, size_t n, uint64_t *out); /* prefilter.c */
    const char *simd;       /* "avx2", "sse2", "scalar" */
};

struct cls_key_cache {       /* JSON key -> types it is a context word of */
    uint8_t len;            /* 0 = empty slot */
    char key[31];
    uint64_t types;
};

/* The short path's gate verdicts (scan.c), by the window's counts,
 * punctuation and digit runs: they depend on the engine's gates only. */
struct cls_gate_memo {
    uint32_t key;           /* 0 = empty slot (a key always counts a digit) */
    uint32_t verdict;       /* 1 no gate passes, 2 only gates needing a context word of types, 3 others */
    uint64_t types;
};

/* A short text unit that scanned clean, and would have with any context
 * around it (scan.c): the same bytes scan clean again wherever they come,
 * so their windows need not be looked at (JSON keys and values such as
 * "max_tokens", "4096" or a model name repeat across bodies). Units that
 * depend on their context are remembered too (neg), so that the check is
 * not repeated. The bytes are kept whole: a hash alone could be forged. */
#define CLS_UNIT_MEMO_MAX 46
#define CLS_UNIT_MEMO_SLOTS 512
struct cls_unit_memo {
    uint8_t len; /* 0 = empty slot */
    uint8_t neg; /* these bytes are not clean whatever the context: scan them */
    uint8_t b[CLS_UNIT_MEMO_MAX];
};

struct cls_worker {
    struct cls_engine *e;   /* owned reference */
    void *scratch;          /* hs_scratch_t * */
    void *md;               /* pcre2_match_data_8 * */
    struct cls_key_cache kc[64]; /* keys repeat across bodies ("content", "text") */
    struct cls_scanner *spare;   /* owned: the last freed scanner, reused by the next one */
    struct cls_stream *spare_stream; /* owned: the same for streams (stream.c) */
    struct cls_gate_memo gm[256];
    struct cls_unit_memo um[CLS_UNIT_MEMO_SLOTS];
};

/* The trigger map (prefilter.c): bit i of out[i / 64] is set when p[i] is
 * an ASCII digit or '@'; out has (n + 63) / 64 words, its bits past n are
 * 0. cls_simd_select picks the variant the CPU has and names it. */
void cls_trigger_bits_scalar(const uint8_t *p, size_t n, uint64_t *out);
void cls_trigger_bits_sse2(const uint8_t *p, size_t n, uint64_t *out);
void cls_trigger_bits_avx2(const uint8_t *p, size_t n, uint64_t *out);
void cls_trigger_bits_avx512(const uint8_t *p, size_t n, uint64_t *out);
const char *cls_simd_select(void (**fn)(const uint8_t *, size_t, uint64_t *));

/* ---- the scanner (scan.c) ---- */

/* Unit tests: a window's features (digit count, upper-case count, enum
 * cls_wflag bits) of buf[0, n), n <= 2048, buf readable up to n rounded up
 * to 64; simd = 1 takes the SIMD variant when the CPU has it, 0 the
 * scalar one (they must agree). */
void cls_scan_window_features(const uint8_t *buf, size_t n, int simd, uint32_t out[3]);

#define CLS_MAX_FINDINGS 1000

struct cls_scan_stats {
    uint64_t bytes, windows, window_bytes, regex_runs, candidates, validated, gated;
    uint64_t skipped;       /* windows decided without opening them (no gate passes) */
    uint64_t short_decided; /* of those, decided by the short path (one block, bounded features) */
    uint64_t short_bad;     /* cls_scanner_set_short(sc, 2): short path skips skip_window did not make */
    uint64_t unit_ends;     /* units ended by one call into the batch (cls_scanner_data_end, key_end) */
    uint64_t memo_units;    /* whole units passed over: they scanned clean before (cls_unit_memo) */
    uint64_t anchor_cap;    /* the most origin anchors held at once (room made for) */
    /* only with cls_scanner_set_timing: */
    uint64_t confirm_ns, validate_ns, context_ns, context_scans;
};

struct cls_scanner;

/* Opens a scanner on a worker. path_fn (may be NULL) gives the current
 * decoder path for findings. */
int cls_scanner_new(struct cls_worker *w, int excerpts, const char *(*path_fn)(void *),
                    void *path_arg, struct cls_scanner **out);
void cls_scanner_free(struct cls_scanner *sc);
/* frees the worker's spare scanner (cls_worker_free) */
void cls_scanner_drop_spare(struct cls_worker *w);
/* frees the worker's spare stream (cls_worker_free) */
void cls_stream_drop_spare(struct cls_worker *w);
/* cls_sink callbacks; ctx is the scanner */
int cls_scanner_data(void *ctx, const uint8_t *p, size_t n);
int cls_scanner_boundary(void *ctx);
int cls_scanner_context(void *ctx, const uint8_t *p, size_t n);
int cls_scanner_uninspectable(void *ctx, const char *reason, uint32_t flags);
/* A text unit's end in one call (the decoders' normalisation stage calls
 * these when its final sink is the scanner): data_end is cls_scanner_data
 * (none when n == 0) then cls_scanner_boundary; key_end the same, then
 * cls_scanner_context(k, kn). */
int cls_scanner_data_end(void *ctx, const uint8_t *p, size_t n);
int cls_scanner_key_end(void *ctx, const uint8_t *p, size_t n, const uint8_t *k, size_t kn);
/* cls_sink.origin and .where: findings report source offsets (see enum
 * cls_origin); final after cls_scanner_finish, which also orders them by
 * those offsets. */
int cls_scanner_origin(void *ctx, int kind, uint64_t src, uint64_t w);
uint64_t cls_scanner_where(void *ctx);
/* ends the input: closes the open window */
int cls_scanner_finish(struct cls_scanner *sc);
/* Monotonic nanoseconds (the time limit, the benchmarks' stage timing). */
uint64_t cls_clock_ns(void);
/* The time limit (cls_stream_opts.max_time_ms): from here on the scanner
 * looks at the clock every 16 KiB of text it scans and stops at deadline
 * (monotonic ns; 0: no limit), as cls_scanner_stop does. */
void cls_scanner_set_deadline(struct cls_scanner *sc, uint64_t deadline);
/* The time limit ran out: one UNINSPECTABLE finding ("inspection time limit
 * exceeded", once however often called), and no window and no literal
 * stream from here on; cls_scanner_stopped says whether it has. */
void cls_scanner_stop(struct cls_scanner *sc);
int cls_scanner_stopped(const struct cls_scanner *sc);
/* Fuzzing: the stream's time limit runs out now (cls_scanner_stop). */
void cls_stream_stop(struct cls_stream *s);
const struct cls_finding *cls_scanner_findings(const struct cls_scanner *sc, size_t *n);
const struct cls_scan_stats *cls_scanner_stats(const struct cls_scanner *sc);
/* Benchmarks: time the confirm (PCRE2), validate and context-word calls
 * into the stats (two clock reads per call; off by default). */
void cls_scanner_set_timing(struct cls_scanner *sc, int on);
/* Tests: on = 0 opens and confirms every window, as before windows that no
 * gate can pass were decided unopened, and runs each regex from the
 * window's start, not from the first byte where a pattern with a left edge
 * could begin (lb_from): the findings must be the same. */
void cls_scanner_set_skip(struct cls_scanner *sc, int on);
/* Tests: mode 1 (the default) decides windows by the short path where it
 * can, 0 by skip_window alone, 2 runs both, lets skip_window decide and
 * counts in short_bad every window the short path would skip that
 * skip_window does not skip at the same end and length. */
void cls_scanner_set_short(struct cls_scanner *sc, int mode);
/* Unit tests: the short path's masks of the 64 bytes at q (token bytes,
 * digits, '@', capitals, spaces, the punctuation "(+-./:=", two-byte
 * letters' leads C3-D3, continuation bytes): AVX2 when simd = 1, AVX-512BW
 * when simd = 2 (each when the CPU has it, else the one below it), scalar
 * when 0 (they must agree). */
void cls_scan_short_masks(const uint8_t *q, int simd, uint64_t out[8]);

#endif
