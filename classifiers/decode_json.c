/* classifiers/decode_json.c — a streaming JSON tokenizer (no DOM).
 *
 * Emits every string value as data (escapes resolved to UTF-8) followed by a
 * boundary, every number as data + boundary, and every object key as data +
 * boundary (a value can hide in a key) and then as context before its value. Strict RFC 8259 grammar: no comments, no trailing commas,
 * no NaN, no raw control characters in strings, no lone surrogates, strings
 * in valid UTF-8 (no overlong forms: a lenient peer could read them); nesting
 * bounded by limits.max_depth. Anything else reports
 * "malformed JSON at byte N" once and stops this decoder.
 *
 * Speed: unescaped string runs are found with SIMD (AVX2 when the CPU has it,
 * SSE2 otherwise) and pushed as one data call straight from the input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define JSON_X86 1
#else
#define JSON_X86 0
#endif

#include "classifiers/decode_internal.h"

/* ---- finding the next special byte in a string ---- */

static size_t find_special_scalar(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '"' || p[i] == '\\' || p[i] < 0x20 || p[i] >= 0x80)
            return i;
    return n;
}

#if JSON_X86
static size_t find_special_sse2(const uint8_t *p, size_t n)
{
    const __m128i q = _mm_set1_epi8('"');
    const __m128i bs = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1f);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(m, v)); /* v: bytes >= 0x80 */
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
    return i + find_special_scalar(p + i, n - i);
}

__attribute__((target("avx2"))) static size_t find_special_avx2(const uint8_t *p, size_t n)
{
    const __m256i q = _mm256_set1_epi8('"');
    const __m256i bs = _mm256_set1_epi8('\\');
    const __m256i c1f = _mm256_set1_epi8(0x1f);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __builtin_prefetch(p + i + 2048); /* the input is met here first */
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
        __m256i ma = _mm256_or_si256(_mm256_cmpeq_epi8(a, q), _mm256_cmpeq_epi8(a, bs));
        ma = _mm256_or_si256(ma, _mm256_cmpeq_epi8(_mm256_min_epu8(a, c1f), a));
        __m256i mb = _mm256_or_si256(_mm256_cmpeq_epi8(b, q), _mm256_cmpeq_epi8(b, bs));
        mb = _mm256_or_si256(mb, _mm256_cmpeq_epi8(_mm256_min_epu8(b, c1f), b));
        uint64_t mask = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(ma, a)) |
                        ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_or_si256(mb, b)) << 32);
        if (mask)
            return i + (size_t)__builtin_ctzll(mask);
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i ma = _mm256_or_si256(_mm256_cmpeq_epi8(a, q), _mm256_cmpeq_epi8(a, bs));
        ma = _mm256_or_si256(ma, _mm256_cmpeq_epi8(_mm256_min_epu8(a, c1f), a));
        unsigned mask = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(ma, a));
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
    if (i == n)
        return n;
    if (n >= 32) {
        /* the last partial block: one overlapping load, earlier bytes masked */
        size_t j = n - 32;
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + j));
        __m256i ma = _mm256_or_si256(_mm256_cmpeq_epi8(a, q), _mm256_cmpeq_epi8(a, bs));
        ma = _mm256_or_si256(ma, _mm256_cmpeq_epi8(_mm256_min_epu8(a, c1f), a));
        unsigned mask = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(ma, a)) >> (i - j);
        return mask ? i + (size_t)__builtin_ctz(mask) : n;
    }
    /* short input: 16-byte steps, VEX-encoded here (calling the legacy-SSE
       version with dirty upper halves would cost AVX-SSE transitions) */
    const __m128i q1 = _mm_set1_epi8('"'), bs1 = _mm_set1_epi8('\\'), c1 = _mm_set1_epi8(0x1f);
    if (n >= 16) {
        for (size_t j = 0;; j = n - 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
            __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, q1), _mm_cmpeq_epi8(v, bs1));
            m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v, c1), v));
            unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(m, v)) >> (i - j);
            if (mask)
                return i + (size_t)__builtin_ctz(mask);
            if (j == n - 16)
                return n;
            i = 16;
        }
    }
    for (; i < n; i++)
        if (p[i] == '"' || p[i] == '\\' || p[i] < 0x20 || p[i] >= 0x80)
            return i;
    return n;
}

/* AVX-512 (BW): 64 bytes per step into a mask register. One signed
   compare finds both the control bytes and those >= 0x80 (negative as
   int8). The last partial block is a masked load: nothing read past p + n,
   no separate short path. */
#define JSON_AVX512 "avx512f,avx512bw,avx512vl,avx2,bmi,bmi2"

/* The lanes of a (among those set in k) that end a plain run: '"', '\\',
   control bytes and bytes >= 0x80. */
__attribute__((target(JSON_AVX512))) static inline uint64_t special_mask512(__m512i a, __mmask64 k)
{
    return _mm512_mask_cmpeq_epi8_mask(k, a, _mm512_set1_epi8('"')) |
           _mm512_mask_cmpeq_epi8_mask(k, a, _mm512_set1_epi8('\\')) |
           _mm512_mask_cmplt_epi8_mask(k, a, _mm512_set1_epi8(0x20));
}

__attribute__((target(JSON_AVX512))) static size_t find_special_avx512(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __builtin_prefetch(p + i + 2048); /* the input is met here first */
        uint64_t m = special_mask512(_mm512_loadu_si512((const void *)(p + i)), ~0ull);
        if (m)
            return i + (size_t)__builtin_ctzll(m);
    }
    if (i == n)
        return n;
    __mmask64 k = _bzhi_u64(~0ull, (unsigned)(n - i));
    uint64_t m = special_mask512(_mm512_maskz_loadu_epi8(k, (const void *)(p + i)), k);
    return m ? i + (size_t)__builtin_ctzll(m) : n;
}

typedef size_t (*find_fn)(const uint8_t *, size_t);

static find_fn pick_find(void)
{
    /* the CPU's best, whatever the cap (resolved once per process) */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
        return find_special_avx512;
    if (__builtin_cpu_supports("avx2"))
        return find_special_avx2;
    return find_special_sse2;
}
#endif

size_t dec_json_find_special_impl(const uint8_t *p, size_t n, int level)
{
#if JSON_X86
    if (level >= DEC_SIMD_AVX512)
        return find_special_avx512(p, n);
    if (level >= DEC_SIMD_AVX2)
        return find_special_avx2(p, n);
    if (level >= DEC_SIMD_SSE2)
        return find_special_sse2(p, n);
#endif
    (void)level;
    return find_special_scalar(p, n);
}

size_t dec_json_find_special(const uint8_t *p, size_t n)
{
#if JSON_X86
    /* resolved once; a benign race (both threads store the same pointer) */
    static find_fn fn;
    find_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        f = pick_find();
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    return f(p, n);
#else
    return find_special_scalar(p, n);
#endif
}

/* ---- plain string bytes copied while they are looked for ---- */

typedef size_t (*copy_fn)(const uint8_t *, size_t, uint8_t *, size_t);

/* Copies the plain bytes at the start of p (up to the first '"', '\\',
 * control byte or byte >= 0x80; at most min(n, room)) to dst and returns
 * how many. The scalar version and the reference of the others. */
static size_t copy_plain_scalar(const uint8_t *p, size_t n, uint8_t *dst, size_t room)
{
    size_t lim = n < room ? n : room;
    size_t k = find_special_scalar(p, lim);
    memcpy(dst, p, k);
    return k;
}

#if JSON_X86
/* One pass: each 64-byte block is stored as it is tested (the bytes past
   the stop are written into dst's room, where they do no harm); the last
   partial block is a masked load and store, so nothing is read past p + n
   or written past dst + room. */
__attribute__((target(JSON_AVX512))) static size_t copy_plain_avx512(const uint8_t *p, size_t n,
                                                                   uint8_t *dst, size_t room)
{
    size_t lim = n < room ? n : room;
    size_t i = 0;
    for (; i + 64 <= lim; i += 64) {
        __builtin_prefetch(p + i + 2048);
        __m512i a = _mm512_loadu_si512((const void *)(p + i));
        _mm512_storeu_si512((void *)(dst + i), a);
        uint64_t m = special_mask512(a, ~0ull);
        if (m)
            return i + (size_t)__builtin_ctzll(m);
    }
    if (i == lim)
        return lim;
    __mmask64 k = _bzhi_u64(~0ull, (unsigned)(lim - i));
    __m512i a = _mm512_maskz_loadu_epi8(k, (const void *)(p + i));
    _mm512_mask_storeu_epi8((void *)(dst + i), k, a);
    uint64_t m = special_mask512(a, k);
    return m ? i + (size_t)__builtin_ctzll(m) : lim;
}

/* The other levels: the scan, then the copy. */
static size_t copy_plain_find(const uint8_t *p, size_t n, uint8_t *dst, size_t room)
{
    size_t lim = n < room ? n : room;
    size_t k = dec_json_find_special(p, lim);
    memcpy(dst, p, k);
    return k;
}

static copy_fn pick_copy(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
        return copy_plain_avx512;
    return copy_plain_find;
}
#endif

/* The one-pass copy of this CPU, or NULL where there is none (the scan
 * and the copy then stay apart, as js_plain_run and js_str_out do them). */
static copy_fn js_copy_plain_fn(void)
{
#if JSON_X86
    static copy_fn fn; /* resolved once; a benign race as for find */
    static int known;
    if (!__atomic_load_n(&known, __ATOMIC_ACQUIRE)) {
        copy_fn f = pick_copy();
        __atomic_store_n(&fn, f == copy_plain_avx512 ? f : NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&known, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&fn, __ATOMIC_RELAXED);
#else
    return NULL;
#endif
}

size_t dec_json_copy_plain_impl(const uint8_t *p, size_t n, uint8_t *dst, size_t room, int level)
{
#if JSON_X86
    if (level >= DEC_SIMD_AVX512)
        return copy_plain_avx512(p, n, dst, room);
    if (level >= DEC_SIMD_SSE2)
        return copy_plain_find(p, n, dst, room);
#endif
    (void)level;
    return copy_plain_scalar(p, n, dst, room);
}

/* ---- the tokenizer ---- */

enum js_state {
    JS_VALUE,     /* a value is expected */
    JS_ARR_FIRST, /* after '[': a value or ']' */
    JS_OBJ_FIRST, /* after '{': a key or '}' */
    JS_OBJ_KEY,   /* after ',' in an object: a key */
    JS_COLON,     /* after a key */
    JS_AFTER,     /* after a value: ',' or the closing bracket */
    JS_STR,       /* inside a string (key or value) */
    JS_ESC,       /* inside an escape sequence */
    JS_NUM,       /* inside a number */
    JS_LIT,       /* inside true/false/null */
    JS_DONE,      /* after the top-level value */
};

enum js_num {
    NUM_START, /* nothing consumed yet */
    NUM_MINUS, /* '-' seen */
    NUM_ZERO,  /* leading 0 */
    NUM_INT,
    NUM_DOT, /* '.' seen, digit required */
    NUM_FRAC,
    NUM_E,     /* 'e' seen */
    NUM_ESIGN, /* sign seen, digit required */
    NUM_EXP,
};

#define JS_STAGE 4096u
/* dec_json.tl: a value string's lines, for a table pasted in it */
#define TL_REC 1u   /* lb takes the line's first bytes (a tab after them begins a table,
                       the line may be a comma-separated header's) */
#define TL_FIRST 2u /* the next byte is a line's first (a '|' there begins a table) */
#define TL_TAB 4u   /* in a table: the string's bytes go through tab */
#define TL_CSV 8u   /* the line before is a header's (hb, delimiters hd): this
                       line's commas, or a delimiter row's dashes, are counted (hc) */
#define TL_HNEXT 16u /* at a '\n' escape: the line ending is a header's (made
                        TL_CSV as the next line begins) */
#define TL_HOLD 32u /* js_tl_leave: the line's first bytes do not tell yet whether it
                       begins HTML: they stay in the stage (from ls), taken by the
                       flush or js_str_out that called it */
#define TL_START (TL_REC | TL_FIRST) /* a line begins (a value string, a '\n' escape) */
#define JS_LINE_KEEP (DEC_TAB_HEADER + 1) /* a line's first bytes kept (lb): a header's line is shorter */
#define JS_HTML_LEAD 32u /* white space before an HTML tag that begins a line (js_tl_lead) */
#define JS_KEY_KEEP 64u /* bytes of a key, or of a name, kept as a later value's context */

struct dec_json {
    struct dec base;
    struct dec_text_out out; /* the text pipeline (its head borrowed from the chain) */
    int multi; /* NDJSON: several top-level values */
    enum js_state st;
    int in_key;
    enum js_num num;
    const char *lit; /* literal being matched */
    uint8_t lit_pos;
    uint8_t esc[12]; /* partial escape, "\\uXXXX" */
    uint8_t esc_len;
    uint32_t hi_surrogate; /* pending high surrogate, 0 when none */
    uint8_t u8_need;       /* UTF-8 continuation bytes still expected */
    uint8_t u8_lo, u8_hi;  /* allowed range of the next one */
    uint8_t text_avx2;     /* js_text_stop_avx2 may be used (the chain's SIMD level) */
    uint32_t depth;
    uint32_t max_depth;
    int seen;     /* something other than whitespace was seen */
    int lenient;  /* on an error, fall back to raw text */
    int fallback; /* lenient: an error was seen at fallback_at */
    int raw;      /* lenient: now passing raw text */
    uint64_t fallback_at;
    size_t key_len;
    size_t stage_len;
    /* byte lists: an array of numbers from -128 to 255 (Node's
       Buffer.toJSON(), a Java byte[] serialised) */
    uint32_t nvals;      /* values completed (js_value_done) */
    uint8_t num_el;      /* the number being read is an array's element */
    uint8_t num_len;     /* ... its characters so far (saturates) */
    uint8_t numb[5];     /* ... the first of them */
    uint64_t num_src;    /* ... the stream offset it starts at */
    struct js_blist *bl; /* owned, made on the first number in an array */
    /* seams between content blocks (js_seam_*) */
    uint8_t seam_want;      /* the value being read is a "text" key's: its
                               bytes are kept as they go out */
    struct js_seam *sm;     /* owned, made at the first "text" key */
    /* keys that do not name their value (js_key_context) */
    uint8_t kfirst;       /* the key being read is its object's first */
    uint8_t kwant;        /* the value after a "Name"/"Key" key: kept in kname */
    uint8_t pkey_len;     /* the context of the last key before the newest open object */
    uint8_t kpn;
    const uint8_t *kp;    /* the last key's context, where it is (input, key[],
                             kname[]) until copied to pkey at a push and at the
                             end of the call (most keys' values are no object) */
    uint8_t kname_len;
    uint32_t kname_depth; /* the object kname belongs to (its depth) */
    uint8_t pkey[JS_KEY_KEEP];
    uint8_t kname[JS_KEY_KEEP];
    /* a table in a value string (js_tl_*): markdown's rows after a '\n'
       escape, or tab-separated lines */
    uint8_t tl;                 /* TL_*, with ls and lb: of the string that
                                   tl_val is (no TL_TAB past the string) */
    uint32_t tl_val;            /* nvals when the string began that tl is of
                                   (another: tl is TL_START, ls 0) */
    uint8_t lb_len;
    uint16_t ls;                /* where the line begins in the stage (its bytes
                                   before went out: they are in lb) */
    uint8_t lb[JS_LINE_KEEP];   /* the line's first bytes (TL_REC) */
    uint8_t hb_len, hk, hd;     /* TL_CSV: the header line, its commas (or
                                   cells: hd '|'), the delimiter */
    uint8_t hc, hq;             /* ... this line's commas so far, inside quotes
                                   (or groups of dashes, in one) */
    uint8_t hb[DEC_TAB_HEADER];
    struct dec_tab *tab;        /* owned, made for the first table */
    struct dec *htm;            /* owned: HTML from a line of the value string
                                   on (dec_html_line); with it, TL_TAB's bytes go
                                   to it instead of tab */
    uint8_t tl_whole;           /* the string ends: the stage (and the piece
                                   with it) holds all of its last line */
    /* from here on, buffers written before they are read (not zeroed) */
    uint8_t key[DEC_CONTEXT_MAX];
    /* string bytes around escapes, gathered so that a string with escapes
       goes on in one data call instead of one per piece */
    uint8_t stage[JS_STAGE];
    uint8_t stack[]; /* '{' or '[' per level, max_depth entries */
};

/* Is k[0..kn) a typed value's tag: DynamoDB's attribute values
 * ({"ssn": {"S": "536221847"}}, S N B SS NS BS M L NULL BOOL), Firestore's
 * and Google's typed values ({"stringValue": …}, "mapValue", "fields",
 * "arrayValue", "values"), SQS's message attributes ({"ssn":
 * {"StringValue": …, "DataType": "String"}}, and "stringValue" in Lambda's
 * SQS events)? */
static int js_is_tag(const uint8_t *k, size_t kn)
{
    /* (by length and last byte first: most keys are no tag, and this runs
       for every first key of an object) */
#define JS_IS(w) (memcmp(k, w, sizeof(w) - 1) == 0)
    switch (kn) {
    case 1:
        return k[0] == 'S' || k[0] == 'N' || k[0] == 'B' || k[0] == 'M' || k[0] == 'L';
    case 2:
        return k[1] == 'S' && (k[0] == 'S' || k[0] == 'N' || k[0] == 'B');
    case 4:
        return k[3] == 'L' && (JS_IS("NULL") || JS_IS("BOOL"));
    case 6:
        return k[5] == 's' && (JS_IS("fields") || JS_IS("values"));
    case 8:
        return k[7] == 'e' && JS_IS("mapValue");
    case 10:
        return k[9] == 'e' && (JS_IS("bytesValue") || JS_IS("arrayValue"));
    case 11:
        return k[10] == 'e' && (JS_IS("stringValue") || JS_IS("doubleValue") || JS_IS("StringValue") ||
                                JS_IS("BinaryValue") || JS_IS("binaryValue"));
    case 12:
        return k[11] == 'e' && (JS_IS("integerValue") || JS_IS("booleanValue"));
    case 14:
        return k[13] == 'e' && JS_IS("timestampValue");
    default:
        return 0;
    }
#undef JS_IS
}

/* Is k[0..kn) w (kn bytes), in the first letter's case or the other's? */
static inline int js_key_is(const uint8_t *k, size_t kn, const char *w)
{
    return (k[0] | 0x20) == w[0] && memcmp(k + 1, w + 1, kn - 1) == 0;
}

/* The context a key k[0..kn) gives its value. A key names its value, but
 * for two shapes the name is elsewhere:
 *  - a typed value's tag, its object's first key, does not name it: the
 *    key of the object does (DynamoDB's items, keys and expression values,
 *    {"ssn": {"S": "536221847"}}; a map's members, {"M": {"dob": {"S": …}}},
 *    and a list's elements too);
 *  - a "Value" after a "Name" or "Key" in the same object is named by that
 *    name (AWS's tags, [{"Key": "ssn", "Value": …}]; SSM's PutParameter,
 *    {"Name": "/prod/db/password", "Value": …}; SQS's and CloudWatch's name
 *    and value pairs).
 * Read as the key alone, "S" and "Value" were the only context: a bare
 * SSN, a birth date or a password there was no finding. */
static inline void js_key_context(struct dec_json *j, const uint8_t **k, size_t *kn)
{
    int want = 0;
    if (*kn <= 14) {
        if (j->kfirst && js_is_tag(*k, *kn)) {
            const uint8_t *e = j->kp ? j->kp : j->pkey;
            size_t en = j->kp ? j->kpn : j->pkey_len;
            if (en) {
                *k = e;
                *kn = en;
                j->kwant = 0;
                return; /* (the object's key stays the context of what is inside) */
            }
        }
        if (*kn == 5 && j->kname_len && j->kname_depth == j->depth && js_key_is(*k, *kn, "value")) {
            *k = j->kname;
            *kn = j->kname_len;
        } else if ((*kn == 4 && js_key_is(*k, *kn, "name")) || (*kn == 3 && js_key_is(*k, *kn, "key"))) {
            want = 1;
        }
    }
    j->kwant = (uint8_t)want;
    j->kp = *k;
    j->kpn = (uint8_t)(*kn < JS_KEY_KEEP ? *kn : JS_KEY_KEEP);
}

/* An object or array opens (or the call ends): the last key's context is
 * copied to pkey, where the first key of the object finds it. */
static inline void js_kp_keep(struct dec_json *j)
{
    if (j->kp) {
        memmove(j->pkey, j->kp, j->kpn);
        j->pkey_len = j->kpn;
        j->kp = NULL;
    }
}

/* Bytes of a string going out: when it is the value after a "Name" or
 * "Key" key, its first bytes are kept as the context of a "Value" in the
 * same object. */
static inline void js_kname_put(struct dec_json *j, const uint8_t *p, size_t n)
{
    if (!j->kwant || j->in_key)
        return;
    if (j->kwant == 1) {
        j->kname_len = 0;
        j->kname_depth = j->depth;
        j->kwant = 2;
    }
    size_t k = n < JS_KEY_KEEP - j->kname_len ? n : JS_KEY_KEEP - j->kname_len;
    memcpy(j->kname + j->kname_len, p, k);
    j->kname_len = (uint8_t)(j->kname_len + k);
}

/* ---- seams between content blocks ----
 * A prompt in two adjacent text blocks ({"content": [{"text": "card 4111
 * 11"}, {"text": "11 1111 1111"}]}, Converse; Anthropic's Messages with
 * "type": "text" in each block) is read by the model joined, but here each
 * string is a unit and no match spans two. So the ends of a "text" key's
 * string value and of the next one's that meet go on joined, as a copy of
 * their own (dec_text_seam: each part mapped one for one to its source,
 * CLS_ORIG_SEAM). Each part is the word that touches the seam and whole
 * words of SEAM_CTX bytes beyond it (a value in spaced groups, the context
 * words before it), out of the SEAM_KEEP bytes kept of each end (a key of
 * 88 characters, a JWT): not the whole of each block, which would scan
 * short blocks three times over. Only when the two are at the same
 * depth, at most SEAM_GAP values completed between them (Anthropic's
 * "type" and a "cache_control" object fit), the array between them not
 * closed, and neither is a table or a page (js_tl_begin). The scanner
 * drops a finding of the copy that overlaps one of the same type found in
 * a block alone (an address that ends a block, glued to the next one's
 * first word). Only "text" values pay: their first and last bytes are kept
 * as they go out (js_seam_bytes). */
#define SEAM_KEEP 256u
#define SEAM_GAP 6u
#define SEAM_CTX 64u
struct js_seam {
    uint64_t v_src;          /* where the value's text begins (after its key) */
    uint32_t v_depth, v_nvals; /* the key's depth and nvals */
    size_t hn, tn;           /* the value's first and last bytes so far (tail only once
                                it is longer than head: until then head is both) */
    uint64_t vlen;           /* ... and all of its bytes */
    uint8_t *head, *tail;
    uint64_t a_src;          /* the previous value's tail: where it begins */
    uint32_t a_depth, a_nvals, an; /* ... its depth, nvals at its end, length (0: none) */
    uint8_t a_cut;                 /* ... a part of the value (its start cut) */
    uint8_t *a;
    uint8_t buf[3][SEAM_KEEP]; /* head, tail and a, which trade places (js_seam_end) */
};

/* A "text" key, or any key once one was seen: "text" keeps its value's
 * bytes (js_seam_key); another key in a block after the last "text" value
 * is another kind of block between (an image, a tool's use), unless it is
 * the block's "type" or its "cache_control". */
static int js_seam_key(struct dec_json *j);

static __attribute__((noinline)) int js_seam_key_seen(struct dec_json *j, const uint8_t *k, size_t kn)
{
    j->seam_want = 0;
    if (kn == 4 && memcmp(k, "text", 4) == 0)
        return js_seam_key(j);
    if (j->sm && j->depth == j->sm->a_depth && !(kn == 4 && memcmp(k, "type", 4) == 0) &&
        !(kn == 13 && memcmp(k, "cache_control", 13) == 0))
        j->sm->an = 0;
    return SGW_OK;
}

/* After a key k[0..kn) went out (its data, boundary and context). */
static inline int js_seam_after_key(struct dec_json *j, int rc, const uint8_t *k, size_t kn)
{
    if (__builtin_expect((kn == 4 && memcmp(k, "text", 4) == 0) || j->sm != NULL, 0) && rc == SGW_OK)
        return js_seam_key_seen(j, k, kn);
    return rc;
}

/* A "text" key has gone out: its value's bytes are kept from here on. */
static int js_seam_key(struct dec_json *j)
{
    if (!j->sm) {
        j->sm = malloc(sizeof(*j->sm));
        if (!j->sm)
            return SGW_ENOMEM;
        j->sm->an = 0;
        j->sm->head = j->sm->buf[0];
        j->sm->tail = j->sm->buf[1];
        j->sm->a = j->sm->buf[2];
    }
    struct js_seam *m = j->sm;
    m->v_src = dec_text_where(j->base.env->text);
    m->v_depth = j->depth;
    m->v_nvals = j->nvals;
    m->hn = m->tn = 0;
    m->vlen = 0;
    j->seam_want = 1;
    return SGW_OK;
}

static inline int js_seam_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Where the previous value's part of a seam begins in a[0..an) (its kept
 * tail; cut: the value began before it): the word that touches the seam
 * and the words of SEAM_CTX bytes before it, whole, so that no cut word or
 * number is read (a card's last digits, the middle of a URL without its
 * "postgres://user:"). A tail with no blank goes whole. */
static size_t js_seam_from(const uint8_t *a, size_t an, int cut)
{
    size_t i = an;
    while (i > 0 && !js_seam_ws(a[i - 1]))
        i--;
    if (i == 0)
        return 0;
    size_t s = i > SEAM_CTX ? i - SEAM_CTX : 0;
    while (s > 0 && !js_seam_ws(a[s - 1]))
        s--;
    if (s > 0 || !cut)
        return s;
    while (!js_seam_ws(a[s])) /* a cut word at the start (a[i - 1] is a blank) */
        s++;
    return s + 1;
}

/* Where the next value's part ends in h[0..hn) (its kept head; cut: the
 * value goes on after it): the word that touches the seam and the words of
 * SEAM_CTX bytes after it, whole. A head with no blank goes whole. */
static size_t js_seam_to(const uint8_t *h, size_t hn, int cut)
{
    size_t i = 0;
    while (i < hn && !js_seam_ws(h[i]))
        i++;
    if (i == hn)
        return hn;
    size_t e = hn - i > SEAM_CTX ? i + SEAM_CTX : hn;
    while (e < hn && !js_seam_ws(h[e]))
        e++;
    if (e < hn || !cut)
        return e;
    while (!js_seam_ws(h[e - 1])) /* a cut word at the end (h[i] is a blank) */
        e--;
    return e;
}

/* Bytes of the value going out, in order. */
static __attribute__((noinline)) void js_seam_bytes(struct dec_json *j, const uint8_t *p, size_t n)
{
    struct js_seam *m = j->sm;
    if (j->in_key)
        return;
    uint64_t was = m->vlen; /* (while it is at most SEAM_KEEP, all of it is in head) */
    m->vlen += n;
    if (was < SEAM_KEEP) {
        size_t k = n < SEAM_KEEP - m->hn ? n : SEAM_KEEP - m->hn;
        memcpy(m->head + m->hn, p, k);
        m->hn += k;
        p += k;
        n -= k;
    }
    if (n == 0)
        return;
    if (was <= SEAM_KEEP) { /* the first bytes past head: the tail begins as head */
        memcpy(m->tail, m->head, m->hn);
        m->tn = m->hn;
    }
    cls_keep_tail(m->tail, &m->tn, SEAM_KEEP, p, n);
}

/* A string value has ended (its boundary gone out). When it is the "text"
 * key's, the seam with the previous one goes on, and it becomes the
 * previous one. */
static __attribute__((noinline)) int js_seam_end(struct dec_json *j)
{
    struct js_seam *m = j->sm;
    j->seam_want = 0;
    if (j->depth != m->v_depth || j->nvals != m->v_nvals + 1)
        return SGW_OK; /* (a string inside the value, or no string value) */
    const struct cls_sink *text = j->base.env->text;
    uint64_t end = dec_text_where(text);
    int rc = SGW_OK;
    if (m->an && m->a_depth == j->depth && j->nvals - m->a_nvals <= SEAM_GAP && m->hn) {
        size_t s0 = js_seam_from(m->a, m->an, m->a_cut);
        size_t hn = js_seam_to(m->head, m->hn, m->vlen > m->hn);
        rc = dec_text_seam(text, m->a + s0, m->an - s0, m->a_src + s0, m->head, hn, m->v_src, end);
    }
    /* the value's tail becomes the previous one's: buffers trade places */
    uint8_t *was = m->a;
    size_t tn = m->vlen > m->hn ? m->tn : m->hn;
    if (m->vlen > m->hn) {
        m->a = m->tail;
        m->tail = was;
    } else {
        m->a = m->head;
        m->head = was;
    }
    m->an = (uint32_t)tn;
    m->a_cut = m->vlen > tn;
    m->a_src = end >= tn ? end - tn : 0;
    m->a_depth = j->depth;
    m->a_nvals = j->nvals;
    return rc;
}

static int js_tl_leave(struct dec_json *j, const uint8_t *p, size_t n);

static int js_tl_table(struct dec_json *j);
static int js_tl_esc(struct dec_json *j, uint8_t c, size_t at);
static int js_tl_nl(struct dec_json *j, size_t at);
static inline void js_tl_line(struct dec_json *j, size_t at);

static int js_stage_flush(struct dec_json *j)
{
    if (__builtin_expect(j->tl & TL_TAB, 0) ||
        (!j->in_key && __builtin_expect(j->tl_val != j->nvals || (j->tl & (TL_START | TL_CSV)), 0))) {
        int rc = js_tl_table(j); /* (what is left in the stage is no table's) */
        if (rc != SGW_OK)
            return rc;
    }
    size_t n = j->stage_len, keep = 0;
    if (__builtin_expect(j->tl & TL_HOLD, 0)) { /* (the line from ls waits) */
        j->tl &= (uint8_t)~TL_HOLD;
        keep = n - j->ls;
        n = j->ls;
    }
    j->stage_len = 0;
    js_kname_put(j, j->stage, n);
    if (__builtin_expect(j->seam_want, 0))
        js_seam_bytes(j, j->stage, n);
    int rc = dec_text_data(j->base.env, j->stage, n);
    if (keep) {
        memmove(j->stage, j->stage + n, keep);
        j->stage_len = keep;
        j->ls = 0;
    }
    return rc;
}

/* ---- a table pasted in a value string ----
 * A prompt that holds a markdown table or tab-separated lines (copied from
 * a spreadsheet) had, as plain text, only the 64 bytes before a value as
 * its context: the header's "SSN" reached the first row or two. Here a
 * table begins at a '|' that is a line's first byte (after a '\n' escape,
 * or the string's first), or at a tab escape after a line's first bytes
 * (not one that indents: the line's first byte), or at the '\n' escape
 * that ends a comma-separated table's first row (a line of a header's
 * shape, dec_tab_header, and a line after it with as many commas) or a
 * markdown table's delimiter row when the table has no outer pipes
 * ("Name | SSN", then "--- | ---", then "Al | 536221847") or is indented
 * (a list item's "  | Name | SSN |"). From
 * there the string's bytes go through the stage into a struct dec_tab,
 * which makes each cell a unit under its column's name.
 *
 * A line that begins an HTML document or table ("<!DOCTYPE html>",
 * "<table>": a page an agent fetched, in a tool's result; a table copied
 * as HTML) makes the rest of the string HTML: its bytes go through an HTML
 * decoder (dec_new_xml), whose table cells are units under their column's
 * name (decode_xml.c). Until its first bytes tell (dec_html_line), the line
 * stays in the stage (TL_HOLD).
 *
 * Lazily, for the speed of strings with no table: a line's bytes are
 * looked at only where they leave the stage (a flush, a piece passed on
 * straight, the string's end) and at its next '\n' or tab escape. A line
 * begins at stage[ls]; what of it left the stage before is in lb (its
 * first 63 bytes). Every decision is on the decoded bytes and the
 * escapes, so any split of the input gives the same events. */

/* tl, ls of this string: a string whose tl was not set yet begins its
 * first line (no store per string on the usual path). */
static inline void js_tl_fresh(struct dec_json *j)
{
    if (j->tl_val != j->nvals) {
        j->tl_val = j->nvals;
        j->tl = TL_START;
        j->ls = 0; /* (the stage is empty when a value string begins) */
    }
}

/* The table begins: the stage's first keep bytes (the text before it) go
 * out, then a boundary; the rest of the stage and of the string go through
 * the table (delim '<': the HTML decoder). */
static __attribute__((noinline, cold)) int js_tl_begin(struct dec_json *j, uint8_t delim, size_t keep)
{
    if (delim == '<') {
        int rc = dec_new_xml(j->base.env, j->base.nest + 1, 1, &j->htm);
        if (rc != SGW_OK)
            return rc;
    } else if (!j->tab && !(j->tab = malloc(sizeof(*j->tab)))) {
        return SGW_ENOMEM;
    }
    if (j->seam_want) { /* (a table or a page is no block of prose: no seam) */
        j->seam_want = 0;
        j->sm->an = 0;
    }
    js_kname_put(j, j->stage, keep);
    int rc = dec_text_data(j->base.env, j->stage, keep);
    if (rc == SGW_OK && delim != '\t') /* (tabs: the header line is one unit, dec_tab) */
        rc = dec_text_boundary(j->base.env);
    j->stage_len -= keep;
    memmove(j->stage, j->stage + keep, j->stage_len);
    if (!delim) /* (rows under the header line hb) */
        dec_tab_begin_rows(j->tab, j->hd, j->hb, j->hb_len);
    else if (delim != '<')
        dec_tab_begin(j->tab, delim, j->lb, j->lb_len);
    j->tl = TL_TAB;
    return rc;
}

/* A line's first bytes a[0..an) then b[0..bn) begin with white space
 * (spaces, tabs): '<' when, after at most JS_HTML_LEAD of it, a tag begins
 * HTML there (dec_html_line: an indented <table> of a pretty-printed page
 * or fragment), 1 when the bytes do not tell yet, else 0. */
static __attribute__((noinline)) int js_tl_lead(const struct dec_json *j, const uint8_t *a, size_t an,
                                                const uint8_t *b, size_t bn, int whole)
{
    size_t k = 0;
    for (;;) {
        uint8_t c = k < an ? a[k] : k - an < bn ? b[k - an] : 0;
        if (k == an + bn)
            return !whole && k <= JS_HTML_LEAD ? 1 : 0;
        if (c != ' ' && c != '\t')
            break;
        if (++k > JS_HTML_LEAD)
            return 0;
    }
    if ((k < an ? a[k] : b[k - an]) != '<' || j->base.nest + 1 > DEC_MAX_NEST)
        return 0;
    int h = k < an ? dec_html_line(a + k, an - k, b, bn, whole) : dec_html_line(b + (k - an), bn - (k - an), NULL, 0, whole);
    return h > 0 ? '<' : h < 0;
}

/* The line's first byte is known (tl has TL_FIRST), a[0..an) then
 * b[0..bn) its first bytes, whole when they are all of it: '|' or '<'
 * when a markdown table or HTML begins there, 1 when its first bytes do
 * not tell yet, else 0 (TL_FIRST cleared). */
static inline __attribute__((always_inline)) int js_tl_first(struct dec_json *j, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
                       int whole)
{
    uint8_t c = an ? a[0] : b[0];
    if (c == '|')
        return '|';
    if (__builtin_expect(c == ' ' || c == '\t', 0)) { /* (an indented tag: pretty-printed HTML) */
        /* (the usual indented line, " Then…", is told by its second byte) */
        int c2 = an > 1 ? a[1] : an == 1 ? (bn ? b[0] : -1) : bn > 1 ? b[1] : -1;
        int h = c2 < 0 || c2 == '<' || c2 == ' ' || c2 == '\t' ? js_tl_lead(j, a, an, b, bn, whole) : 0;
        if (h)
            return h;
    } else if (c == '<' && j->base.nest + 1 <= DEC_MAX_NEST) {
        int h = dec_html_line(a, an, b, bn, whole);
        if (h)
            return h > 0 ? '<' : 1;
    }
    j->tl &= (uint8_t)~TL_FIRST;
    j->lb_len = 0;
    return 0;
}

/* c, first on a line, may begin a table: '|' or '<' (one test), or white
 * space before a '<' */
static inline int js_tl_mark(uint8_t c)
{
    return (c | 0x40) == '|' || c == ' ' || c == '\t';
}

/* The end of a table or of HTML in a value string. */
static int js_tl_end(struct dec_json *j)
{
    return j->htm ? dec_close(&j->htm) : dec_tab_end(j->base.env, j->tab);
}

/* Does the line s[0..n) (its first bytes, all in the stage) begin as a
 * markdown row or HTML may: '|' or '<' first, or after white space (the
 * '\n' escape's test: an indented line is otherwise the usual one) */
static __attribute__((noinline)) int js_tl_may_lead(const uint8_t *s, size_t n)
{
    size_t k = 0;
    while (k < n && k <= JS_HTML_LEAD && (s[k] == ' ' || s[k] == '\t'))
        k++;
    return k < n && s[k] == '<';
}

static inline __attribute__((always_inline)) int js_tl_may(const uint8_t *s, size_t n)
{
    /* 1: '|', '<'; 2: white space (one load for the usual first byte) */
    static const uint8_t first[256] = {['|'] = 1, ['<'] = 1, [' '] = 2, ['\t'] = 2};
    uint8_t f = first[s[0]];
    return __builtin_expect(f, 0) &&
           (f == 1 || (n > 1 && (s[1] == '<' || s[1] == ' ' || s[1] == '\t') && js_tl_may_lead(s, n)));
}

/* A line after a header's (TL_CSV), p[0..n) of it: its commas outside
 * double quotes are counted; after a '|' header, its groups of dashes
 * between pipes (a delimiter row, "--- | :---:"), and any byte but those
 * makes it none (hc 255). */
static void js_tl_count(struct dec_json *j, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && j->hd == ','; i++) {
        j->hq ^= p[i] == '"';
        j->hc += p[i] == ',' && !j->hq && j->hc < 255;
    }
    for (size_t i = 0; i < n && j->hd == '|' && j->hc != 255; i++) {
        uint8_t c = p[i];
        if (c == '-') {
            j->hc += !j->hq;
            j->hq = 1;
        } else if (c == '|') {
            j->hq = 0;
        } else if (c != ' ' && c != ':' && c != '\t' && c != '\r') {
            j->hc = 255;
        }
    }
}

/* The line's bytes in the stage from ls on, and then p[0..n), are about to
 * leave it (tl has TL_START or TL_CSV bits): its first bytes, when they
 * are among them, tell whether the line is a markdown row or begins HTML
 * (the table begins there), or not yet (TL_HOLD: they stay); else its
 * first bytes are kept in lb, and its commas counted. */
static __attribute__((noinline)) int js_tl_leave(struct dec_json *j, const uint8_t *p, size_t n)
{
    js_tl_fresh(j);
    if (!(j->tl & (TL_START | TL_CSV)))
        return SGW_OK;
    const uint8_t *s = j->stage + j->ls;
    size_t sn = j->stage_len - j->ls;
    if ((j->tl & TL_FIRST) && sn + n) {
        int f = js_tl_first(j, s, sn, p, n, j->tl_whole);
        if (f == 1) {
            j->tl |= TL_HOLD;
            return SGW_OK;
        }
        if (f)
            return js_tl_begin(j, (uint8_t)f, j->ls);
    }
    if (j->tl & TL_CSV) {
        js_tl_count(j, s, sn);
        js_tl_count(j, p, n);
    }
    for (int k = 0; k < 2 && (j->tl & TL_REC) && !(j->tl & TL_FIRST); k++, s = p, sn = n) {
        size_t c = sn < JS_LINE_KEEP - j->lb_len ? sn : JS_LINE_KEEP - j->lb_len;
        if (c == 0)
            continue;
        memcpy(j->lb + j->lb_len, s, c);
        j->lb_len = (uint8_t)(j->lb_len + c);
        if (j->lb_len == JS_LINE_KEEP)
            j->tl &= (uint8_t)~TL_REC; /* (a long line: no header's) */
    }
    j->ls = 0; /* (the stage is emptied next: the line goes on at its start) */
    return SGW_OK;
}

/* The stage is about to go out (a flush) and tl has TL_TAB or TL_START
 * bits: through the table while there is one, and a table that ends in it
 * leaves the rest, whose lines are looked at again (a markdown row after
 * a tab-separated table begins another). What is left in the stage is no
 * table's. */
static int js_tl_table(struct dec_json *j)
{
    for (;;) {
        if (j->tl & TL_TAB) {
            int rc;
            size_t n = j->stage_len, k = n;
            if (j->htm)
                rc = dec_feed(j->htm, j->stage, n);
            else
                k = dec_tab_feed(j->base.env, j->tab, j->stage, n, &rc);
            js_kname_put(j, j->stage, k);
            j->stage_len -= k;
            memmove(j->stage, j->stage + k, j->stage_len);
            if (rc != SGW_OK || j->htm || !j->tab->ended)
                return rc;
            j->tl = TL_START; /* (a line begins at the stage's start) */
            j->tl_val = j->nvals;
            j->ls = 0;
            /* the escapes after the table's end went by while it was on:
               their hooks now, in order (the stage's '\n' and tab bytes
               are escapes': a JSON string holds no raw ones) */
            for (size_t i = 0; i < j->stage_len && !(j->tl & TL_TAB); i++) {
                uint8_t c = j->stage[i];
                if (c == '\t' || c == '\n') {
                    rc = c == '\t' ? js_tl_esc(j, c, i) : js_tl_nl(j, i);
                    if (rc != SGW_OK)
                        return rc;
                }
                if (c == '\n' && !(j->tl & TL_TAB))
                    js_tl_line(j, i + 1);
            }
            if (j->tl & TL_TAB)
                continue;
        }
        if (j->in_key)
            return SGW_OK;
        int rc = js_tl_leave(j, NULL, 0);
        if (rc != SGW_OK || !(j->tl & TL_TAB))
            return rc;
    }
}

/* A '\n' or tab escape in a value string (tl has TL_START bits), before its
 * byte goes out: the line so far is looked at (a markdown row begins the
 * table); a tab after the line's first bytes begins a table of tabs, and
 * one first on a line (indentation) makes the line no table's. */
static __attribute__((noinline)) int js_tl_esc(struct dec_json *j, uint8_t c, size_t at)
{
    js_tl_fresh(j);
    size_t sn = at - j->ls; /* (the escape's byte goes to stage[at]) */
    if ((j->tl & TL_FIRST) && sn) {
        /* (the escape tells, but for a tab after white space: indentation
           that a tag may still follow) */
        int f = js_tl_first(j, j->stage + j->ls, sn, &c, 1, c != '\t');
        if (f > 1)
            return js_tl_begin(j, (uint8_t)f, j->ls);
    }
    if (c != '\t' || !(j->tl & TL_REC))
        return SGW_OK;
    if (j->tl & TL_FIRST) { /* (nothing before it on the line) */
        j->tl &= (uint8_t)~TL_REC;
        return SGW_OK;
    }
    if (j->lb_len + sn >= DEC_CELL_NAME) { /* (a first cell of 63 bytes or more: no header's) */
        j->tl &= (uint8_t)~TL_REC;
        return SGW_OK;
    }
    memcpy(j->lb + j->lb_len, j->stage + j->ls, sn);
    j->lb_len = (uint8_t)(j->lb_len + sn);
    return js_tl_begin(j, '\t', at);
}

/* A '\n' escape at stage[at] (its byte goes there) ends a line of a value
 * string: a markdown row begins the table; else a line with as many
 * commas as the header's line before it (TL_CSV) begins a comma-separated
 * table, whose first row it was, and a delimiter row with as many cells
 * as a '|' header's a markdown table without outer pipes; a line of a
 * header's shape (its bytes all in lb and the stage) is kept in hb for
 * the next (TL_HNEXT). */
static __attribute__((noinline)) int js_tl_nl(struct dec_json *j, size_t at)
{
    int rc = js_tl_esc(j, '\n', at); /* (js_tl_fresh) */
    if (rc != SGW_OK || (j->tl & TL_TAB))
        return rc;
    const uint8_t *s = j->stage + j->ls;
    size_t sn = at - j->ls;
    if (j->tl & TL_CSV) {
        js_tl_count(j, s, sn);
        if (j->hc == j->hk) /* (as many commas, or cells) */
            return js_tl_begin(j, 0, at);
    }
    size_t pre = j->tl & TL_FIRST ? 0 : j->lb_len;
    if (!(j->tl & TL_REC) || pre + sn >= JS_LINE_KEEP)
        return SGW_OK; /* (a line that fills lb is long, wherever it is) */
    uint8_t h[JS_LINE_KEEP];
    memcpy(h, j->lb, pre);
    memcpy(h + pre, s, sn);
    size_t hl = pre + sn;
    hl -= hl && h[hl - 1] == '\r'; /* (CRLF; the '\r' may have left before) */
    uint8_t d = ',';
    unsigned k = dec_tab_header(h, hl, d);
    if (!k && memchr(h, '|', hl)) /* (markdown without outer pipes, or indented) */
        k = dec_tab_header(h, hl, d = '|');
    if (k) {
        memcpy(j->hb, h, hl);
        j->hb_len = (uint8_t)hl;
        j->hk = (uint8_t)k;
        j->hd = d;
        j->tl |= TL_HNEXT;
    }
    return SGW_OK;
}

/* A line begins at stage[at] (after a '\n' escape). */
static inline void js_tl_line(struct dec_json *j, size_t at)
{
    j->tl = TL_START | (j->tl & TL_HNEXT ? TL_CSV : 0);
    j->hc = j->hq = 0;
    j->ls = (uint16_t)at;
}

/* c ends a sentence ('.', '!', '?', ':', ';'): the line is no header's
 * (dec_tab_header's rule too) */
static inline int js_sentence_end(uint8_t c)
{
    return (unsigned)(c - 32) < 32u && (0x8c004002u >> (c - 32) & 1u);
}

/* A '\n' escape's byte goes out after this (js_tl_pre): the usual one
 * needs no look. Only a markdown row, a line after a header's, or a short
 * line with a comma whose bytes are all in lb and the stage matter. */
static __attribute__((noinline)) int js_tl_pre_nl(struct dec_json *j)
{
    int cur = j->tl_val == j->nvals;
    size_t ls = cur ? j->ls : 0;
    if (((!cur || (j->tl & TL_FIRST)) && ls < j->stage_len && js_tl_may(j->stage + ls, j->stage_len - ls)) ||
        (cur && (j->tl & TL_CSV)))
        return js_tl_nl(j, j->stage_len); /* (a markdown row or HTML, a line after a header's) */
    size_t pre = cur && !(j->tl & TL_FIRST) ? j->lb_len : 0;
    size_t len = j->stage_len - ls + pre;
    if (len >= JS_LINE_KEEP || len < 3 || (cur && !(j->tl & TL_REC)))
        return SGW_OK;
    size_t sl = j->stage_len - ls;
    if (!memchr(j->stage + ls, ',', sl) && !memchr(j->stage + ls, '|', sl) &&
        !(pre && (memchr(j->lb, ',', pre) || memchr(j->lb, '|', pre))))
        return SGW_OK; /* (a header's line has a delimiter) */
    return js_tl_nl(j, j->stage_len);
}

/* The byte of a '\n' or tab escape c goes out around this (in_key: no). */
static inline __attribute__((always_inline)) int js_tl_pre(struct dec_json *j, uint8_t c)
{
    if (__builtin_expect(c != '\n' && c != '\t', 1) || j->in_key || (j->tl & TL_TAB))
        return SGW_OK;
    if (c == '\t')
        return js_tl_esc(j, c, j->stage_len);
    int cur = j->tl_val == j->nvals;
    size_t ls = cur ? j->ls : 0, sl = j->stage_len - ls; /* (ls past the stage: a long line) */
    if (!((!cur || (j->tl & TL_FIRST)) && ls < j->stage_len && js_tl_may(j->stage + ls, sl)) &&
        !(cur && (j->tl & TL_CSV)) && (sl >= JS_LINE_KEEP || (sl && js_sentence_end(j->stage[j->stage_len - 1]))))
        return SGW_OK; /* (the usual line: a long one, or a sentence, in no table) */
    return js_tl_pre_nl(j);
}

static inline void js_tl_post(struct dec_json *j, uint8_t c)
{
    if (c == '\n' && !(j->tl & TL_TAB) && !j->in_key) { /* a line begins */
        if (j->tl_val != j->nvals)
            j->tl = 0; /* (no TL_HNEXT of another string's) */
        j->tl_val = j->nvals;
        js_tl_line(j, j->stage_len);
    }
}

/* A string cut by an error or by the end of the input: what the stage
 * holds goes out (a line that waits for its first bytes too), and a table
 * or HTML in it ends. */
static int js_cut(struct dec_json *j)
{
    j->tl_whole = 1;
    int rc = js_stage_flush(j);
    j->tl_whole = 0;
    if (rc == SGW_OK && (j->tl & TL_TAB))
        rc = js_tl_end(j);
    j->tl = 0;
    return rc;
}

/* A syntax error at stream offset `at`. Strict: reported as uninspectable
 * ("<what> at byte N"). Lenient (JSON found in a body declared as text): the
 * rest of the body from the error on is passed on as raw text instead. */
__attribute__((format(printf, 3, 4))) static int js_error(struct dec_json *j, uint64_t at,
                                                          const char *fmt, ...)
{
    /* the string bytes before the error go first, as they would unstaged */
    int rc = js_cut(j);
    if (rc != SGW_OK)
        return rc;
    if (j->lenient) {
        if (!j->fallback) {
            j->fallback = 1;
            j->fallback_at = at;
        }
        return SGW_OK;
    }
    char msg[DEC_REASON_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return dec_fail(&j->base, 0, "%s at byte %llu", msg, (unsigned long long)at);
}

static int js_malformed(struct dec_json *j, uint64_t at)
{
    return js_error(j, at, "malformed JSON");
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* String bytes go out as data. A key's bytes are data too (a value can hide
 * in a key: {"4111111111111111": 1}) and are also kept, bounded, as the
 * context of the value that follows. With `stage` (the piece is next to an
 * escape) or while the stage holds bytes, they are gathered in the stage;
 * else passed on straight from the input. */
static inline __attribute__((always_inline)) int js_str_out(struct dec_json *j, const uint8_t *p,
                                                             size_t n, int stage)
{
    if (j->in_key) {
        size_t room = sizeof(j->key) - j->key_len;
        size_t k = n > room ? room : n;
        memcpy(j->key + j->key_len, p, k);
        j->key_len += k;
    }
    if (!stage && j->stage_len == 0 && !(j->tl & TL_TAB)) {
        if (!j->in_key) {
            int rc = js_tl_leave(j, p, n); /* (passed on straight) */
            if (rc != SGW_OK)
                return rc;
        }
        if (!(j->tl & (TL_TAB | TL_HOLD))) {
            js_kname_put(j, p, n);
            if (__builtin_expect(j->seam_want, 0))
                js_seam_bytes(j, p, n);
            return dec_text_data(j->base.env, p, n);
        }
        j->tl &= (uint8_t)~TL_HOLD; /* (staged: the line's first bytes wait there) */
    }
    while (n > 0) {
        size_t room = JS_STAGE - j->stage_len;
        size_t k = n > room ? room : n;
        memcpy(j->stage + j->stage_len, p, k);
        j->stage_len += k;
        p += k;
        n -= k;
        if (j->stage_len == JS_STAGE) {
            int rc = js_stage_flush(j);
            if (rc != SGW_OK)
                return rc;
        }
    }
    return SGW_OK;
}

static int js_value_done(struct dec_json *j)
{
    j->st = j->depth == 0 ? (j->multi ? JS_VALUE : JS_DONE) : JS_AFTER;
    j->nvals++;
    return SGW_OK;
}

/* The end of a value string in a table, or of one whose last piece
 * p[0..n) begins one ('|' first on a line): through the table. */
static __attribute__((noinline)) int js_str_close_tl(struct dec_json *j, const uint8_t *p, size_t n)
{
    int rc = js_str_out(j, p, n, 1);
    if (rc == SGW_OK && j->stage_len) {
        j->tl_whole = 1; /* (a line after the table's end waits for nothing) */
        rc = js_stage_flush(j); /* (the table may end in it) */
        j->tl_whole = 0;
    }
    if (rc == SGW_OK)
        rc = j->tl & TL_TAB ? js_tl_end(j) : dec_text_boundary(j->base.env);
    j->tl = 0;
    j->kwant = 0;
    js_value_done(j);
    if (__builtin_expect(j->seam_want, 0) && rc == SGW_OK)
        rc = js_seam_end(j);
    return rc;
}

/* The end of a value string that has bytes in the stage, is in a table, or
 * whose last piece p[0..n) begins with '|' or '<' (p[n] is its closing
 * quote): a line of its own at the string's end may begin a table or
 * HTML, and a table takes the rest (*done set); else js_str_close's usual
 * end follows. */
static __attribute__((noinline)) int js_str_close_table(struct dec_json *j, const uint8_t *p, size_t n, int *done)
{
    *done = 0;
    if (!(j->tl & TL_TAB)) {
        js_tl_fresh(j);
        size_t sn = j->ls < j->stage_len ? j->stage_len - j->ls : 0;
        uint8_t c = sn ? j->stage[j->ls] : n ? p[0] : 0;
        int f = (j->tl & TL_FIRST) && js_tl_mark(c) ? js_tl_first(j, j->stage + j->ls, sn, p, n, 1) : 0;
        if (f > 1) {
            int rc = js_tl_begin(j, (uint8_t)f, j->ls);
            if (rc != SGW_OK) {
                *done = 1;
                return rc;
            }
        }
        if (!(j->tl & TL_TAB))
            return SGW_OK;
    }
    *done = 1;
    return js_str_close_tl(j, p, n);
}

/* The usual end of a string: its last piece p[0..n) (from the input; n may
 * be 0), what the stage holds before it, the boundary and, for a key, its
 * context go out in one step through the text pipeline. */
static inline __attribute__((always_inline)) int js_str_close(struct dec_json *j, const uint8_t *p,
                                                               size_t n)
{
    if (j->in_key && j->key_len == 0 && j->stage_len == 0) {
        /* a whole key in the input (the usual one): its context is read
           from there, not copied first */
        j->in_key = 0;
        j->st = JS_COLON;
        const uint8_t *k = p;
        size_t kn = n < DEC_CONTEXT_MAX ? n : DEC_CONTEXT_MAX;
        js_key_context(j, &k, &kn);
        return js_seam_after_key(j, j->out.key_end(&j->out, p, n, k, kn), p, n);
    }
    if (!j->in_key && __builtin_expect(j->stage_len || js_tl_may(p, n) || (j->tl & TL_TAB), 0)) {
        int done, rc = js_str_close_table(j, p, n, &done);
        if (done)
            return rc;
    }
    if (j->stage_len && n > JS_STAGE - j->stage_len) {
        /* the stage fills up on the way (flushed; the key keeps its part) */
        int rc = js_str_out(j, p, n, 1);
        if (rc != SGW_OK)
            return rc;
        n = 0;
    } else if (j->in_key) {
        size_t room = sizeof(j->key) - j->key_len;
        size_t k = n > room ? room : n;
        memcpy(j->key + j->key_len, p, k);
        j->key_len += k;
    }
    if (j->stage_len) {
        memcpy(j->stage + j->stage_len, p, n);
        p = j->stage;
        n += j->stage_len;
        j->stage_len = 0;
    }
    if (j->in_key) {
        j->in_key = 0;
        j->st = JS_COLON;
        const uint8_t *k = j->key;
        size_t kn = j->key_len;
        js_key_context(j, &k, &kn);
        return js_seam_after_key(j, j->out.key_end(&j->out, p, n, k, kn), j->key, j->key_len);
    }
    if (j->kwant) {
        js_kname_put(j, p, n);
        j->kwant = 0;
    }
    js_value_done(j);
    if (__builtin_expect(j->seam_want, 0)) {
        js_seam_bytes(j, p, n);
        int rc = j->out.data_end(&j->out, p, n);
        return rc == SGW_OK ? js_seam_end(j) : rc;
    }
    return j->out.data_end(&j->out, p, n);
}

static int js_str_end(struct dec_json *j)
{
    if (j->stage_len) {
        j->tl_whole = 1;
        int rc = js_stage_flush(j);
        j->tl_whole = 0;
        if (rc != SGW_OK)
            return rc;
    }
    if (j->in_key) {
        j->in_key = 0;
        j->st = JS_COLON;
        int rc = dec_text_boundary(j->base.env);
        if (rc != SGW_OK)
            return rc;
        const uint8_t *k = j->key;
        size_t kn = j->key_len;
        js_key_context(j, &k, &kn);
        return js_seam_after_key(j, dec_text_context(j->base.env, k, kn), j->key, j->key_len);
    }
    if (j->kwant == 1) { /* (an empty name: no piece came) */
        j->kname_len = 0;
        j->kname_depth = j->depth;
    }
    j->kwant = 0;
    int rc = j->tl & TL_TAB ? js_tl_end(j) : dec_text_boundary(j->base.env);
    j->tl &= (uint8_t)~TL_TAB;
    js_value_done(j);
    if (__builtin_expect(j->seam_want, 0) && rc == SGW_OK)
        rc = js_seam_end(j);
    return rc;
}



/* Consumes one byte of an escape; at = offset of that byte. Returns SGW_OK
 * (maybe having failed the decoder) or a negative rc. */
static int js_esc_byte(struct dec_json *j, uint8_t c, uint64_t at)
{
    j->esc[j->esc_len++] = c;
    if (j->esc_len == 2) {
        uint8_t out;
        switch (c) {
        case '"':
            out = '"';
            break;
        case '\\':
            out = '\\';
            break;
        case '/':
            out = '/';
            break;
        case 'b':
            out = '\b';
            break;
        case 'f':
            out = '\f';
            break;
        case 'n':
            out = '\n';
            break;
        case 'r':
            out = '\r';
            break;
        case 't':
            out = '\t';
            break;
        case 'u':
            return SGW_OK;
        default:
            return js_error(j, at, "invalid JSON escape");
        }
        if (j->hi_surrogate)
            return js_error(j, at, "unpaired surrogate in JSON");
        j->esc_len = 0;
        j->st = JS_STR;
        int rc = js_tl_pre(j, out);
        if (rc == SGW_OK)
            rc = js_str_out(j, &out, 1, 1);
        js_tl_post(j, out);
        return rc;
    }
    if (sgw_hex_val(c) < 0)
        return js_error(j, at, "invalid JSON escape");
    if (j->esc_len < 6)
        return SGW_OK;
    uint32_t cp = (uint32_t)((sgw_hex_val(j->esc[2]) << 12) | (sgw_hex_val(j->esc[3]) << 8) |
                             (sgw_hex_val(j->esc[4]) << 4) | sgw_hex_val(j->esc[5]));
    j->esc_len = 0;
    if (j->hi_surrogate) {
        if (cp < 0xdc00 || cp > 0xdfff)
            return js_error(j, at, "unpaired surrogate in JSON");
        cp = 0x10000 + ((j->hi_surrogate - 0xd800) << 10) + (cp - 0xdc00);
        j->hi_surrogate = 0;
    } else if (cp >= 0xd800 && cp <= 0xdbff) {
        j->hi_surrogate = cp;
        j->st = JS_STR;
        return SGW_OK;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return js_error(j, at, "unpaired surrogate in JSON");
    }
    uint8_t o[4];
    size_t len = sgw_utf8_encode(o, cp);
    j->st = JS_STR;
    int rc = len == 1 ? js_tl_pre(j, o[0]) : SGW_OK; /* ("\u000a" is a line's end too) */
    if (rc == SGW_OK)
        rc = js_str_out(j, o, len, 1);
    if (len == 1)
        js_tl_post(j, o[0]);
    return rc;
}

/* The byte a two-character escape stands for, -1 when it is not one. */
static int js_simple_escape(uint8_t c)
{
    switch (c) {
    case '"':
    case '\\':
    case '/':
        return c;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return -1;
    }
}

/* The common escape, whole in this call and valid at p[i] (a string whose
 * plain run p[s..i) precedes it): the run and what the escape stands for go
 * to the stage, and the escape's length is returned (*rc set). Returns 0,
 * touching nothing, for anything else (no escape, one cut by the end of the
 * call, an invalid one, a surrogate out of place): the byte-wise path then
 * handles it, errors included, as before. */
static size_t js_fast_escape(struct dec_json *j, const uint8_t *p, size_t n, size_t s, size_t i,
                             int *rc)
{
    if (i + 1 >= n || p[i] != '\\' || j->u8_need || (j->hi_surrogate && i > s))
        return 0;
    uint8_t o[4];
    size_t olen, elen;
    uint32_t hi = 0;
    if (p[i + 1] == 'u') {
        if (i + 6 > n)
            return 0;
        int h0 = sgw_hex_val(p[i + 2]), h1 = sgw_hex_val(p[i + 3]), h2 = sgw_hex_val(p[i + 4]),
            h3 = sgw_hex_val(p[i + 5]);
        if ((h0 | h1 | h2 | h3) < 0)
            return 0;
        uint32_t cp = (uint32_t)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
        elen = 6;
        if (j->hi_surrogate) {
            if (cp < 0xdc00 || cp > 0xdfff)
                return 0;
            cp = 0x10000 + ((j->hi_surrogate - 0xd800) << 10) + (cp - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return 0;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            hi = cp; /* waits for its low half */
            olen = 0;
        } else {
            olen = sgw_utf8_encode(o, cp);
        }
    } else {
        int m = js_simple_escape(p[i + 1]);
        if (m < 0 || j->hi_surrogate)
            return 0;
        o[0] = (uint8_t)m;
        olen = 1;
        elen = 2;
    }
    *rc = SGW_OK;
    if (i > s)
        *rc = js_str_out(j, p + s, i - s, 1);
    if (*rc == SGW_OK && olen == 1)
        *rc = js_tl_pre(j, o[0]);
    if (*rc == SGW_OK && olen) {
        if (!j->in_key && j->stage_len + olen <= JS_STAGE) {
            for (size_t k = 0; k < olen; k++) /* 1..4 bytes: no memcpy call */
                j->stage[j->stage_len + k] = o[k];
            j->stage_len += olen;
            if (j->stage_len == JS_STAGE)
                *rc = js_stage_flush(j);
        } else {
            *rc = js_str_out(j, o, olen, 1);
        }
    }
    j->hi_surrogate = hi;
    if (olen == 1)
        js_tl_post(j, o[0]);
    return elen;
}

static int js_push(struct dec_json *j, uint8_t open, uint64_t at)
{
    if (j->depth >= j->max_depth)
        return js_error(j, at, "JSON nesting deeper than %u", (unsigned)j->max_depth);
    j->stack[j->depth++] = open;
    j->st = open == '{' ? JS_OBJ_FIRST : JS_ARR_FIRST;
    j->kname_len = j->depth == j->kname_depth ? 0 : j->kname_len; /* (a sibling object: not its name) */
    js_kp_keep(j);
    return SGW_OK;
}

/* ---- byte lists: arrays of numbers ---- */

struct js_blist {
    uint32_t depth; /* the array's (its elements' depth) */
    uint32_t nvals; /* j->nvals after its last number: no other value since */
    size_t n;
    uint64_t src;   /* stream offset of its first number */
    uint64_t end;   /* ... after its last */
    uint8_t b[LIST_HOLD];
};

/* A number starts; an array's element when the array is the top. */
static inline void js_num_begin(struct dec_json *j)
{
    j->num_len = 0;
    j->num_el = j->depth && j->stack[j->depth - 1] == '[';
    if (j->num_el)
        j->num_src = dec_text_where(j->base.env->text);
}

/* The list of numbers ends: to the base64 stage when it is long enough.
 * A list of single digits is a number written one digit per value
 * ({"digits": [4, 1, 1, 1, ...]}, which a model reads joined): it goes on
 * as the digits' text, not as bytes 0 to 9, which are no text. */
static int js_bl_flush(struct dec_json *j)
{
    struct js_blist *bl = j->bl;
    size_t n = bl->n;
    bl->n = 0;
    if (n < LIST_MIN_TOK)
        return SGW_OK;
    size_t k = 0;
    while (k < n && bl->b[k] <= 9)
        k++;
    if (k == n)
        for (k = 0; k < n; k++)
            bl->b[k] = (uint8_t)('0' + bl->b[k]);
    return dec_text_byte_list(j->base.env->text, bl->b, n, bl->src, bl->end);
}

/* An array's element that is a number ends (its text has gone out): a
 * byte goes on the array's list, or the list ends (before it, when it is
 * no byte or another value came between). */
static int js_num_elem(struct dec_json *j)
{
    if (!j->bl) {
        j->bl = malloc(sizeof(*j->bl));
        if (!j->bl)
            return SGW_ENOMEM;
        j->bl->n = 0;
    }
    struct js_blist *bl = j->bl;
    int rc = SGW_OK;
    unsigned len = j->num_len, neg = len && j->numb[0] == '-', v = 0, k;
    for (k = neg; k < len && k < sizeof(j->numb) && j->numb[k] >= '0' && j->numb[k] <= '9'; k++)
        v = v * 10 + (unsigned)(j->numb[k] - '0');
    int ok = k == len && len > neg && len - neg <= 3 && (neg ? v >= 1 && v <= 128 : v <= 255);
    if (bl->n && (!ok || bl->n == LIST_HOLD || bl->depth != j->depth || bl->nvals != j->nvals))
        rc = js_bl_flush(j);
    if (!ok || rc != SGW_OK)
        return rc;
    if (bl->n == 0) {
        bl->depth = j->depth;
        bl->src = j->num_src;
    }
    bl->b[bl->n++] = (uint8_t)(neg ? 256 - v : v);
    bl->nvals = j->nvals + 1; /* (js_value_done follows) */
    bl->end = dec_text_where(j->base.env->text);
    return rc;
}

/* An array closes: the list of its numbers ends. */
static inline int js_arr_close(struct dec_json *j)
{
    struct js_blist *bl = j->bl;
    return bl && bl->n && bl->depth == j->depth ? js_bl_flush(j) : SGW_OK;
}

static int js_pop(struct dec_json *j, uint8_t close, uint64_t at)
{
    uint8_t want = close == '}' ? '{' : '[';
    if (j->depth == 0 || j->stack[j->depth - 1] != want)
        return js_malformed(j, at);
    int rc = close == ']' ? js_arr_close(j) : SGW_OK;
    j->depth--;
    js_value_done(j);
    if (j->sm && j->depth + 2 <= j->sm->a_depth)
        j->sm->an = 0; /* (the array of the blocks closed) */
    return rc;
}

/* A UTF-8 lead byte: sets how many continuation bytes follow and the range
 * of the first one (RFC 3629 §4: no overlong forms, no surrogates, nothing
 * above U+10FFFF). Returns 0 for a byte that cannot lead. */
static int js_u8_lead(struct dec_json *j, uint8_t c)
{
    j->u8_lo = 0x80;
    j->u8_hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        j->u8_need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        j->u8_need = 2;
        if (c == 0xe0)
            j->u8_lo = 0xa0;
        else if (c == 0xed)
            j->u8_hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        j->u8_need = 3;
        if (c == 0xf0)
            j->u8_lo = 0x90;
        else if (c == 0xf4)
            j->u8_hi = 0x8f;
    } else {
        return 0;
    }
    return 1;
}

/* Number grammar; returns 1 when c continues the number, 0 when it ends it,
 * -1 on a grammar error. */
static int js_num_step(struct dec_json *j, uint8_t c)
{
    int digit = c >= '0' && c <= '9';
    switch (j->num) {
    case NUM_START:
        if (c == '-') {
            j->num = NUM_MINUS;
            return 1;
        }
        if (!digit)
            return -1;
        j->num = c == '0' ? NUM_ZERO : NUM_INT;
        return 1;
    case NUM_MINUS:
        if (!digit)
            return -1;
        j->num = c == '0' ? NUM_ZERO : NUM_INT;
        return 1;
    case NUM_ZERO:
    case NUM_INT:
        if (digit) {
            if (j->num == NUM_ZERO)
                return -1;
            return 1;
        }
        if (c == '.') {
            j->num = NUM_DOT;
            return 1;
        }
        if (c == 'e' || c == 'E') {
            j->num = NUM_E;
            return 1;
        }
        return 0;
    case NUM_DOT:
        if (!digit)
            return -1;
        j->num = NUM_FRAC;
        return 1;
    case NUM_FRAC:
        if (digit)
            return 1;
        if (c == 'e' || c == 'E') {
            j->num = NUM_E;
            return 1;
        }
        return 0;
    case NUM_E:
        if (c == '+' || c == '-') {
            j->num = NUM_ESIGN;
            return 1;
        }
        if (!digit)
            return -1;
        j->num = NUM_EXP;
        return 1;
    case NUM_ESIGN:
        if (!digit)
            return -1;
        j->num = NUM_EXP;
        return 1;
    case NUM_EXP:
        return digit ? 1 : 0;
    }
    return -1;
}

static int js_num_complete(const struct dec_json *j)
{
    return j->num == NUM_ZERO || j->num == NUM_INT || j->num == NUM_FRAC || j->num == NUM_EXP;
}

/* Begins a value at byte c (offset at); sets the state. */
static int js_value_start(struct dec_json *j, uint8_t c, uint64_t at)
{
    j->seen = 1;
    switch (c) {
    case '"':
        j->in_key = 0;
        j->st = JS_STR;
        return SGW_OK;
    case '{':
    case '[':
        return js_push(j, c, at);
    case 't':
        j->lit = "true";
        break;
    case 'f':
        j->lit = "false";
        break;
    case 'n':
        j->lit = "null";
        break;
    case '-':
        j->num = NUM_START; /* the number state consumes this byte */
        j->st = JS_NUM;
        js_num_begin(j);
        return SGW_OK;
    default:
        if (c >= '0' && c <= '9') {
            j->num = NUM_START;
            j->st = JS_NUM;
            js_num_begin(j);
            return SGW_OK;
        }
        return js_malformed(j, at);
    }
    j->lit_pos = 1;
    j->st = JS_LIT;
    return SGW_OK;
}

/* After a string: the structure up to the next string (": \"" after a key,
 * ", \"" between members and elements, brackets opening and closing) is
 * taken here with direct branches instead of the state dispatch, making
 * the same transitions as json_feed's structure loop; anything else
 * (numbers, literals, errors, nesting at the limit) stops it, at the byte
 * it did not take. Returns the index of that byte (after the '"' that
 * starts a string). */
static inline __attribute__((always_inline)) size_t js_fast_struct_body(struct dec_json *j,
                                                                        const uint8_t *p,
                                                                        size_t n, size_t i)
{
    for (;;) {
        while (i < n && is_ws(p[i]))
            i++;
        if (i == n)
            return i;
        uint8_t c = p[i];
        switch (j->st) {
        case JS_COLON:
            if (c != ':')
                return i;
            j->st = JS_VALUE;
            break;
        case JS_AFTER:
            if (c == ',') {
                j->st = j->stack[j->depth - 1] == '{' ? JS_OBJ_KEY : JS_VALUE;
            } else if (c == ']' && j->bl && j->bl->n) {
                return i; /* (js_pop ends the list of numbers) */
            } else if ((c == '}' || c == ']') && j->stack[j->depth - 1] == (c == '}' ? '{' : '[')) {
                j->depth--; /* js_pop, the brackets matching */
                js_value_done(j);
                if (__builtin_expect(j->sm != NULL, 0) && j->depth + 2 <= j->sm->a_depth)
                    j->sm->an = 0;
            } else {
                return i;
            }
            break;
        case JS_ARR_FIRST:
            if (c == ']') {
                j->depth--; /* the top is the '[' just opened */
                js_value_done(j);
                break;
            }
            __attribute__((fallthrough)); /* a value */
        case JS_VALUE:
            if (c == '"') {
                j->seen = 1;
                j->in_key = 0;
                j->st = JS_STR;
                return i + 1;
            }
            if ((c != '{' && c != '[') || j->depth >= j->max_depth)
                return i;
            j->seen = 1; /* js_value_start, then js_push */
            j->stack[j->depth++] = c;
            j->st = c == '{' ? JS_OBJ_FIRST : JS_ARR_FIRST;
            j->kname_len = j->depth == j->kname_depth ? 0 : j->kname_len;
            js_kp_keep(j);
            break;
        case JS_OBJ_FIRST:
        case JS_OBJ_KEY:
            if (c == '"') {
                j->in_key = 1;
                j->kfirst = j->st == JS_OBJ_FIRST;
                j->key_len = 0;
                j->st = JS_STR;
                return i + 1;
            }
            if (c != '}' || j->st != JS_OBJ_FIRST)
                return i;
            j->depth--; /* the top is the '{' just opened */
            js_value_done(j);
            break;
        default:
            return i;
        }
        i++;
    }
}

static size_t js_fast_struct(struct dec_json *j, const uint8_t *p, size_t n, size_t i)
{
    return js_fast_struct_body(j, p, n, i);
}

/* After a string: the two usual ways to the next one, `": "` after a key
 * and `", "` between members or elements (either space may be missing),
 * tested at once; anything else goes to js_fast_struct. The same
 * transitions as js_fast_struct's. */
static inline __attribute__((always_inline)) size_t js_next_string(struct dec_json *j,
                                                                   const uint8_t *p, size_t n,
                                                                   size_t i)
{
    if (n - i >= 3) {
        size_t k = i + 1 + (p[i + 1] == ' ');
        if (p[k] == '"') {
            if (p[i] == ':' && j->st == JS_COLON) {
                j->seen = 1;
                j->in_key = 0;
                j->st = JS_STR;
                return k + 1;
            }
            if (p[i] == ',' && j->st == JS_AFTER) {
                if (j->stack[j->depth - 1] == '{') {
                    j->in_key = 1;
                    j->kfirst = 0;
                    j->key_len = 0;
                } else {
                    j->seen = 1;
                    j->in_key = 0;
                }
                j->st = JS_STR;
                return k + 1;
            }
        }
    }
    return js_fast_struct_body(j, p, n, i);
}

/* Inside a string whose bytes are being staged (after an escape), the
 * plain ASCII bytes from p[i] go to the stage as they are found, in one
 * pass (no scan and then copy), flushing the stage when it fills. Returns
 * where it stopped: the end, or a byte that is not plain ASCII (then
 * looked at by the usual path). */
static size_t js_stage_plain(struct dec_json *j, const uint8_t *p, size_t n, size_t i, int *rc)
{
    copy_fn copy = js_copy_plain_fn();
    if (!copy)
        return i;
    for (;;) {
        size_t room = JS_STAGE - j->stage_len;
        size_t k = copy(p + i, n - i, j->stage + j->stage_len, room);
        j->stage_len += k;
        i += k;
        if (k < room || i == n)
            return i;
        *rc = js_stage_flush(j); /* full, and the run may go on */
        if (*rc != SGW_OK)
            return i;
    }
}

/* dec_json_find_special, with its first 16 bytes looked at here (SSE2,
 * inline): keys and short values end there, without the call. */
static inline size_t js_find_special_first(const uint8_t *p, size_t n)
{
#if JSON_X86
    if (n >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed: control bytes and bytes >= 0x80 are both below 0x20 */
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
        m = _mm_or_si128(m, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return (size_t)__builtin_ctz(mask);
        return 16 + dec_json_find_special(p + 16, n - 16);
    }
#endif
    return dec_json_find_special(p, n);
}

#if JSON_X86
/* From p[i] (n - i >= 64): where a plain string run must stop: '"', '\\', a
 * control byte, or a byte >= 0x80 that is not part of a whole two-byte
 * sequence (lead C2-DF) or three-byte one (lead E1-EC, EE-EF: the leads
 * whose second byte takes any continuation) lying before n. Such
 * sequences are valid UTF-8 whatever they hold, so the run goes on over
 * them in 64-byte blocks instead of stopping at each (a letter of
 * German, Russian, Chinese text), and the per-byte state it leaves is
 * none. What remains after the last whole block is left to the caller. */
__attribute__((target("avx2"))) static size_t js_text_stop_avx2(const uint8_t *p, size_t i, size_t n)
{
    const __m256i q = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\'), c1f = _mm256_set1_epi8(0x1f),
                  c0 = _mm256_set1_epi8((char)0xc0), c80 = _mm256_set1_epi8((char)0x80),
                  l2lo = _mm256_set1_epi8((char)0xc1), l2hi = _mm256_set1_epi8((char)0xe0),
                  l3lo = _mm256_set1_epi8((char)0xe0), l3hi = _mm256_set1_epi8((char)0xf0),
                  ed = _mm256_set1_epi8((char)0xed);
    uint64_t carry = 0; /* bits 0-1: continuations of a sequence begun in the block before */
    for (; i + 64 <= n; i += 64) {
        __m256i v[2] = {_mm256_loadu_si256((const __m256i *)(const void *)(p + i)),
                        _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32))};
        uint64_t sp = 0, high = 0, cont = 0, l2 = 0, l3 = 0;
        for (int h = 0; h < 2; h++) {
            __m256i a = v[h];
            __m256i m = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(a, q), _mm256_cmpeq_epi8(a, bs)),
                                        _mm256_cmpeq_epi8(_mm256_min_epu8(a, c1f), a));
            sp |= (uint64_t)(uint32_t)_mm256_movemask_epi8(m) << (32 * h);
            high |= (uint64_t)(uint32_t)_mm256_movemask_epi8(a) << (32 * h);
        }
        uint64_t stop = sp | (high & ~carry);
        uint64_t in = carry;
        carry = 0;
        if (!(high & ~in))
            goto done;
        for (int h = 0; h < 2; h++) {
            __m256i a = v[h];
            /* signed bytes: C2..DF lie between C1 and E0, E1..EF between E0 and F0 */
            cont |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(a, c0), c80)) << (32 * h);
            l2 |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
                      _mm256_and_si256(_mm256_cmpgt_epi8(a, l2lo), _mm256_cmpgt_epi8(l2hi, a)))
                  << (32 * h);
            l3 |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_andnot_si256(
                      _mm256_cmpeq_epi8(a, ed), _mm256_and_si256(_mm256_cmpgt_epi8(a, l3lo), _mm256_cmpgt_epi8(l3hi, a))))
                  << (32 * h);
        }
        {
            uint64_t n1 = cont >> 1, n2 = cont >> 2;
            if (i + 64 < n && (p[i + 64] & 0xc0) == 0x80) {
                n1 |= 1ull << 63;
                n2 |= 1ull << 62;
            }
            if (i + 65 < n && (p[i + 65] & 0xc0) == 0x80)
                n2 |= 1ull << 63;
            uint64_t s2 = l2 & n1, s3 = l3 & n1 & n2;
            uint64_t ok = in | s2 | s2 << 1 | s3 | s3 << 1 | s3 << 2;
            stop = sp | (high & ~ok);
            carry = (s2 >> 63) | ((s3 >> 62) & 1) | (s3 >> 63) | (s3 >> 63) << 1;
        }
    done:
        if (stop)
            return i + (size_t)__builtin_ctzll(stop);
    }
    /* (a sequence begun in the last block ends in the bytes after it) */
    return i + (size_t)(carry & 2 ? 2 : carry & 1);
}
#endif

/* From p[i]: a run of plain string characters and valid UTF-8 sequences
 * (a sequence cut by the end of the data is checked on with the next call).
 * Returns where it stopped: the end, a '"', '\\' or control byte, or an
 * invalid UTF-8 byte (*bad set). */
static inline __attribute__((always_inline)) size_t js_plain_run(struct dec_json *j, const uint8_t *p,
                                                                  size_t n, size_t i, int *bad)
{
    for (;;) {
        while (i < n && j->u8_need) {
            if (p[i] < j->u8_lo || p[i] > j->u8_hi) {
                *bad = 1;
                return i;
            }
            j->u8_lo = 0x80;
            j->u8_hi = 0xbf;
            j->u8_need--;
            i++;
        }
        if (i == n)
            return i;
        i += js_find_special_first(p + i, n - i);
        if (i == n || p[i] < 0x80)
            return i;
#if JSON_X86
        if (j->text_avx2 && n - i >= 64) {
            /* a long string with letters other than ASCII: on from the
               block finder's stop (none at p[i] itself: the byte-wise
               path below decides it) */
            size_t r = js_text_stop_avx2(p, i, n);
            if (r != i) {
                i = r;
                continue;
            }
        }
#endif
        /* a whole two- or three-byte sequence (Latin, Greek, Cyrillic;
           CJK, typographic quotes) checked here, without the state a
           sequence cut by the end of the call needs */
        size_t k = i;
        while (k + 3 <= n) { /* (a run of them: CJK text is nothing else) */
            uint8_t a = p[k], b = p[k + 1], c = p[k + 2];
            if ((uint8_t)(a - 0xe1) <= 0xef - 0xe1 && a != 0xed && (b & 0xc0) == 0x80 &&
                (c & 0xc0) == 0x80)
                k += 3;
            else if ((uint8_t)(a - 0xc2) <= 0xdf - 0xc2 && (b & 0xc0) == 0x80)
                k += 2;
            else
                break;
        }
        if (k > i) {
            i = k;
            continue;
        }
        if (!js_u8_lead(j, p[i])) {
            *bad = 1;
            return i;
        }
        i++;
    }
}

static int json_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_json *j = (struct dec_json *)d;
    const uint64_t base = d->fed;
    size_t i = 0;
    int rc = SGW_OK;
    if (j->raw)
        return dec_text_data(d->env, p, n);
    while (i < n && rc == SGW_OK && !d->dead && !j->fallback) {
        uint8_t c;
        switch (j->st) {
        case JS_STR: {
        str_again:;
            /* a run of plain characters and valid UTF-8 sequences, passed on
               in one call; a sequence cut by the end of the call is checked
               on with the next one */
            size_t s = i;
            int bad = 0;
            i = js_plain_run(j, p, n, i, &bad);
            while (!bad && i + 1 < n && p[i] == '\\') {
                size_t e = js_fast_escape(j, p, n, s, i, &rc);
                if (e == 0)
                    break;
                i += e;
                s = i;
                if (rc != SGW_OK)
                    break;
                /* the string goes on after the escape: its plain bytes go
                   to the stage as they are found (not in a key, which also
                   keeps them; not after a high surrogate, whose error must
                   come before them) */
                if (!j->in_key && !j->hi_surrogate && j->stage_len) {
                    i = js_stage_plain(j, p, n, i, &rc);
                    s = i;
                    if (rc != SGW_OK)
                        break;
                }
                i = js_plain_run(j, p, n, i, &bad);
                if (bad)
                    break;
            }
            if (rc != SGW_OK)
                break;
            if (!bad && i < n && p[i] == '"' && !j->hi_surrogate) {
                /* the usual end (what the code below does, in one step) */
                rc = js_str_close(j, p + s, i - s);
                i++;
                if (rc == SGW_OK) {
                    i = js_next_string(j, p, n, i);
                    if (j->st == JS_STR && i < n)
                        goto str_again;
                }
                break;
            }
            if (i > s) {
                if (j->hi_surrogate) {
                    rc = js_error(j, (base + s), "unpaired surrogate in JSON");
                    break;
                }
                rc = js_str_out(j, p + s, i - s, i < n && p[i] == '\\');
                if (rc != SGW_OK)
                    break;
            }
            if (bad) {
                rc = js_error(j, (base + i), "invalid UTF-8 in JSON");
                break;
            }
            if (i == n)
                break;
            c = p[i];
            if (c == '"') {
                if (j->hi_surrogate) {
                    rc = js_error(j, (base + i), "unpaired surrogate in JSON");
                    break;
                }
                i++;
                rc = js_str_end(j);
                if (rc == SGW_OK) {
                    /* the usual way to the next string, with direct branches */
                    i = js_fast_struct(j, p, n, i);
                    if (j->st == JS_STR && i < n)
                        goto str_again;
                }
            } else if (c == '\\') {
                i++;
                j->esc[0] = '\\';
                j->esc_len = 1;
                j->st = JS_ESC;
            } else {
                rc = js_malformed(j, base + i); /* raw control character */
            }
            break;
        }
        case JS_ESC:
            c = p[i];
            rc = js_esc_byte(j, c, base + i);
            i++;
            break;
        case JS_NUM: {
            size_t s = i;
            int r = 1;
            while (i < n && (r = js_num_step(j, p[i])) == 1)
                i++;
            if (j->num_el) {
                for (size_t k = s; k < i && j->num_len < sizeof(j->numb); k++)
                    j->numb[j->num_len++] = p[k];
                if (i - s > sizeof(j->numb))
                    j->num_len = sizeof(j->numb) + 1; /* (too long for a byte) */
            }
            if (i < n && r == 0 && js_num_complete(j)) {
                /* the number ends here: its digits and the boundary in one step */
                rc = j->out.data_end(&j->out, p + s, i - s);
                if (rc == SGW_OK && j->num_el)
                    rc = js_num_elem(j);
                js_value_done(j);
                break; /* the terminator is handled by the next state */
            }
            if (i > s)
                rc = dec_text_data(d->env, p + s, i - s);
            if (rc != SGW_OK || i == n)
                break;
            rc = js_malformed(j, base + i);
            break;
        }
        case JS_LIT:
            c = p[i];
            if (c != (uint8_t)j->lit[j->lit_pos]) {
                rc = js_malformed(j, base + i);
                break;
            }
            i++;
            if (j->lit[++j->lit_pos] == '\0')
                js_value_done(j);
            break;
        default:
            /* the structure between values, byte after byte in this loop until
               a string, number or literal starts, an error, or the end */
            for (;;) {
                c = p[i];
                if (is_ws(c)) {
                    if (++i == n)
                        break;
                    continue;
                }
                switch (j->st) {
                case JS_VALUE:
                    rc = js_value_start(j, c, base + i);
                    break;
                case JS_ARR_FIRST:
                    if (c == ']')
                        rc = js_pop(j, c, base + i);
                    else
                        rc = js_value_start(j, c, base + i);
                    break;
                case JS_OBJ_FIRST:
                case JS_OBJ_KEY:
                    if (c == '"') {
                        j->in_key = 1;
                        j->kfirst = j->st == JS_OBJ_FIRST;
                        j->key_len = 0;
                        j->st = JS_STR;
                    } else if (c == '}' && j->st == JS_OBJ_FIRST) {
                        rc = js_pop(j, c, base + i);
                    } else {
                        rc = js_malformed(j, base + i);
                    }
                    break;
                case JS_COLON:
                    if (c == ':')
                        j->st = JS_VALUE;
                    else
                        rc = js_malformed(j, base + i);
                    break;
                case JS_AFTER:
                    if (c == ',')
                        j->st = j->stack[j->depth - 1] == '{' ? JS_OBJ_KEY : JS_VALUE;
                    else if (c == '}' || c == ']')
                        rc = js_pop(j, c, base + i);
                    else
                        rc = js_malformed(j, base + i);
                    break;
                default: /* JS_DONE */
                    rc = js_malformed(j, base + i);
                    break;
                }
                if (j->st == JS_NUM)
                    break; /* the number state consumes this byte */
                i++;
                if (i == n || rc != SGW_OK || d->dead || j->fallback || j->st == JS_STR ||
                    j->st == JS_LIT)
                    break;
            }
            break;
        }
    }
    if (rc == SGW_OK && j->stage_len)
        rc = js_stage_flush(j); /* nothing staged is kept past the call but a
                                   line's first bytes that wait (TL_HOLD) */
    js_kp_keep(j); /* (nor a pointer into the input) */
    if (rc == SGW_OK && j->fallback && !j->raw) {
        /* lenient: the text from the error on goes out as it is */
        j->raw = 1;
        size_t at = j->fallback_at > base ? (size_t)(j->fallback_at - base) : 0;
        rc = dec_text_boundary(d->env);
        if (rc == SGW_OK && at < n)
            rc = dec_text_data(d->env, p + at, n - at);
    }
    return rc;
}

static int json_finish(struct dec *d)
{
    struct dec_json *j = (struct dec_json *)d;
    if (j->raw)
        return dec_text_boundary(d->env);
    if (j->st == JS_NUM && js_num_complete(j) && j->depth == 0) {
        int rc = dec_text_boundary(d->env);
        if (rc != SGW_OK)
            return rc;
        js_value_done(j);
    }
    if (j->st == JS_DONE || (j->st == JS_VALUE && j->depth == 0 && (j->multi || !j->seen)))
        return SGW_OK;
    if (j->lenient) {
        int rc = js_cut(j);
        return rc == SGW_OK ? dec_text_boundary(d->env) : rc;
    }
    return js_error(j, d->fed, "truncated JSON");
}

static void json_destroy(struct dec *d)
{
    struct dec_json *j = (struct dec_json *)d;
    free(j->bl);
    j->bl = NULL;
    if (j->sm) {
        free(j->sm);
        j->sm = NULL;
    }
    free(j->tab);
    j->tab = NULL;
    dec_free(j->htm);
    j->htm = NULL;
}

static const struct dec_ops json_ops = {"json", json_feed, json_finish, json_destroy};

int dec_new_json_lenient(struct dec_env *env, unsigned nest, struct dec **out)
{
    int rc = dec_new_json(env, nest, 1, out);
    if (rc == SGW_OK)
        ((struct dec_json *)*out)->lenient = 1;
    return rc;
}

_Static_assert(sizeof(struct dec_json) + DEC_DEFAULT_MAX_DEPTH <= DEC_CHAIN_SPARE,
               "a JSON decoder fits in a chain's spare room");

int dec_new_json(struct dec_env *env, unsigned nest, int multi, struct dec **out)
{
    uint32_t maxd = env->lim.max_depth;
    struct dec_json *j =
        dec_alloc_head(sizeof(*j) + maxd, offsetof(struct dec_json, key), &json_ops, env, nest);
    if (!j)
        return SGW_ENOMEM;
    dec_text_out_init(&j->out, env->text);
    j->multi = multi;
    j->max_depth = maxd;
    j->text_avx2 = JSON_X86 && dec_simd_level() >= DEC_SIMD_AVX2;
    j->st = JS_VALUE;
    j->tl_val = UINT32_MAX; /* (the first string's tl is fresh) */
    *out = &j->base;
    return SGW_OK;
}
