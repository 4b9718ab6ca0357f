/* Unit tests for classifiers/decode*.c: the decoder chain, one decoder at a
 * time, through a recording sink whose transcript is an exact string:
 * data bytes as is, "|" for a boundary, "{k}" for context, "!reason!" for
 * uninspectable ("!B:reason!" with CLS_FF_BOMB). Every case is also fed at
 * every split point and one byte at a time: the transcript must not change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <zlib.h>
#include <zstd.h>
#include <bzlib.h>
#include <lzma.h>

#include "classifiers/decode_internal.h"

#include "../check.h"

/* ---- recording sink ---- */

struct rec {
    char *buf;
    size_t len, cap;
    size_t n_unins;
    uint32_t flags;
};

static void rec_put(struct rec *r, const void *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n + 1)
            cap *= 2;
        r->buf = realloc(r->buf, cap);
        if (!r->buf)
            abort();
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = '\0';
}

static int rec_data(void *ctx, const uint8_t *p, size_t n)
{
    if (n == 0)
        abort(); /* empty data calls are a defect */
    rec_put(ctx, p, n);
    return SGW_OK;
}

static int rec_boundary(void *ctx)
{
    rec_put(ctx, "|", 1);
    return SGW_OK;
}

static int rec_context(void *ctx, const uint8_t *p, size_t n)
{
    rec_put(ctx, "{", 1);
    rec_put(ctx, p, n);
    rec_put(ctx, "}", 1);
    return SGW_OK;
}

static int rec_unins(void *ctx, const char *reason, uint32_t flags)
{
    struct rec *r = ctx;
    r->n_unins++;
    r->flags |= flags;
    const char *mark = (flags & CLS_FF_BOMB) ? "!B:" : (flags & CLS_REPORT_KEY) ? "!K:" : "!";
    rec_put(r, mark, strlen(mark));
    rec_put(r, reason, strlen(reason));
    rec_put(r, "!", 1);
    return SGW_OK;
}

static struct cls_decode_limits g_lim = {0, 0, 0};
static char g_path[64];
static size_t g_run_len; /* bytes in the last transcript (it may hold NULs) */

/* Runs the chain over in, fed in pieces of at most `piece` bytes (0 = one
 * call), with an extra cut at `cut` (0 = none). Returns the transcript. */
static char *run_split(const char *ct, const char *ce, const void *in, size_t n, size_t piece,
                       size_t cut)
{
    struct rec r = {0};
    struct cls_sink s = {.ctx = &r,
                         .data = rec_data,
                         .boundary = rec_boundary,
                         .context = rec_context,
                         .uninspectable = rec_unins};
    struct cls_decode_chain *c = NULL;
    rec_put(&r, "", 0);
    if (cls_decode_chain_new(ct, ce, &g_lim, &s, &c) != SGW_OK) {
        rec_put(&r, "#new-failed", 11);
        return r.buf;
    }
    const uint8_t *p = in;
    size_t off = 0;
    int rc = SGW_OK;
    while (off < n && rc == SGW_OK) {
        size_t take = n - off;
        if (piece && take > piece)
            take = piece;
        if (cut > off && cut < off + take)
            take = cut - off;
        rc = cls_decode_chain_feed(c, p + off, take);
        off += take;
    }
    if (rc == SGW_OK)
        rc = cls_decode_chain_finish(c);
    if (rc != SGW_OK)
        rec_put(&r, "#rc", 3);
    snprintf(g_path, sizeof(g_path), "%s", cls_decode_chain_path(c));
    g_run_len = r.len;
    cls_decode_chain_free(c);
    return r.buf;
}

static char *run(const char *ct, const char *ce, const void *in, size_t n)
{
    return run_split(ct, ce, in, n, 0, 0);
}

/* Expects `want` for in, at every split. Large inputs: random splits. */
static void expect_bin(const char *ct, const char *ce, const void *in, size_t n, const char *want,
                       const char *want_path, int line)
{
    char *got = run(ct, ce, in, n);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "line %d: ct=%s ce=%s\n  want [%s]\n  got  [%s]\n", line,
                ct ? ct : "(null)", ce ? ce : "(null)", want, got);
        failures++;
        free(got);
        return;
    }
    free(got);
    if (want_path && strcmp(g_path, want_path) != 0) {
        fprintf(stderr, "line %d: path want [%s] got [%s]\n", line, want_path, g_path);
        failures++;
    }
    size_t step = n <= 400 ? 1 : n / 97 + 1;
    for (size_t cut = 1; cut < n; cut += step) {
        got = run_split(ct, ce, in, n, 0, cut);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "line %d: split at %zu differs:\n  want [%s]\n  got  [%s]\n", line, cut,
                    want, got);
            failures++;
            free(got);
            return;
        }
        free(got);
    }
    static const size_t pieces[] = {1, 2, 3, 7, 64, 1000};
    for (size_t k = 0; k < SGW_ARRAY_LEN(pieces); k++) {
        if (n > 200000 && pieces[k] < 64)
            continue;
        got = run_split(ct, ce, in, n, pieces[k], 0);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "line %d: pieces of %zu differ:\n  want [%s]\n  got  [%s]\n", line,
                    pieces[k], want, got);
            failures++;
            free(got);
            return;
        }
        free(got);
    }
}

#define EXPECT(ct, ce, in, want) expect_bin(ct, ce, in, strlen(in), want, NULL, __LINE__)
#define EXPECT_PATH(ct, ce, in, want, path) expect_bin(ct, ce, in, strlen(in), want, path, __LINE__)
#define EXPECT_BIN(ct, ce, in, n, want) expect_bin(ct, ce, in, n, want, NULL, __LINE__)

/* ---- JSON ---- */

static void test_json(void)
{
    const char *J = "application/json";
    EXPECT_PATH(J, NULL, "{\"a\":\"x\",\"b\":[1,-2.5e3,true,null,\"y\"]}", "a|{a}x|b|{b}1|-2.5e3|y|",
                "json");
    EXPECT(J, NULL, "\"a\\u0040b.com\"", "a@b.com|");
    EXPECT(J, NULL, "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80|");
    EXPECT(J, NULL, "\"\\n\\t\\\"\\\\\\/\\b\\f\\r\"", "\n\t\"\\/\b\f\r|");
    EXPECT(J, NULL, "{\"k\\u0065y\":\"v\"}", "key|{key}v|");
    EXPECT(J, NULL, "  [ ]  ", "");
    EXPECT(J, NULL, "", "");
    EXPECT(J, NULL, "0", "0|");
    EXPECT(J, NULL, "{\"card\":4111111111111111}", "card|{card}4111111111111111|");
    /* keys that do not name their value: a typed value's tag (DynamoDB,
       Firestore) gives the object's key; a "Value" after a "Name" or
       "Key" in the same object gives that name (escapes resolved) */
    EXPECT(J, NULL, "{\"ssn\":{\"S\":\"536221847\"},\"m\":{\"M\":{\"dob\":{\"S\":\"x\"}}},\"l\":{\"L\":[{\"N\":\"1\"}]}}",
           "ssn|{ssn}S|{ssn}536221847|m|{m}M|{m}dob|{dob}S|{dob}x|l|{l}L|{l}N|{l}1|");
    EXPECT(J, NULL, "{\"a\":\"x\",\"S\":\"y\"}", "a|{a}x|S|{S}y|"); /* (not the first key: its own) */
    EXPECT(J, NULL, "{\"fields\":{\"ssn\":{\"stringValue\":\"1\"}}}", "fields|{fields}ssn|{ssn}stringValue|{ssn}1|");
    EXPECT(J, NULL, "[{\"Key\":\"ssn\",\"Value\":\"1\"},{\"Value\":\"2\"},{\"name\":\"pa\\u0073s\",\"o\":{\"Name\":\"z\"},\"value\":\"3\"}]",
           "Key|{Key}ssn|Value|{ssn}1|Value|{Value}2|name|{name}pass|o|{o}Name|{Name}z|value|{value}3|");
    /* (a name in an object inside takes the place of the outer one, and is
       not the outer object's: the outer value keeps its own key) */
    EXPECT(J, NULL, "{\"name\":\"pa\\u0073s\",\"value\":\"3\"}", "name|{name}pass|value|{pass}3|");
    EXPECT(J, NULL, "{\"Name\":\"\",\"Value\":\"v\",\"Key\":5,\"Value\":\"w\"}", "Name|{Name}|Value|{Value}v|Key|{Key}5|Value|{Value}w|");
    /* a value hidden in a key is data too, not only context */
    EXPECT(J, NULL, "{\"4111111111111111\":1}", "4111111111111111|{4111111111111111}1|");
    EXPECT(J, NULL, "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "a|{a}b|{b}c|{c}deep|");
    EXPECT("application/x-amz-json-1.1", NULL, "{\"a\":\"b\"}", "a|{a}b|");
    EXPECT("application/vnd.api+json; charset=utf-8", NULL, "{\"a\":\"b\"}", "a|{a}b|");
    EXPECT("text/json", NULL, "[\"x\"]", "x|");
    EXPECT("application/x-ndjson", NULL, "{\"a\":1}\n{\"a\":2}\n", "a|{a}1|a|{a}2|");
    /* malformed: everything before the error was already pushed */
    EXPECT(J, NULL, "{\"a\":\"x\",}", "a|{a}x|!malformed JSON at byte 9!");
    EXPECT(J, NULL, "[1,2", "1|2!truncated JSON at byte 4!");
    EXPECT(J, NULL, "\"abc", "abc!truncated JSON at byte 4!");
    EXPECT(J, NULL, "[01]", "0!malformed JSON at byte 2!");
    EXPECT(J, NULL, "[NaN]", "!malformed JSON at byte 1!");
    EXPECT(J, NULL, "[1]x", "1|!malformed JSON at byte 3!");
    EXPECT(J, NULL, "{\"a\" 1}", "a|{a}!malformed JSON at byte 5!");
    EXPECT(J, NULL, "[tru]", "!malformed JSON at byte 4!");
    EXPECT(J, NULL, "[\"a\\x\"]", "a!invalid JSON escape at byte 4!");
    EXPECT(J, NULL, "[\"a\\u12G4\"]", "a!invalid JSON escape at byte 7!");
    EXPECT(J, NULL, "[\"\\ud83dx\"]", "!unpaired surrogate in JSON at byte 8!");
    EXPECT(J, NULL, "[\"\\ude00\"]", "!unpaired surrogate in JSON at byte 7!");
    EXPECT(J, NULL, "[\"a\nb\"]", "a!malformed JSON at byte 3!");
    EXPECT(J, NULL, "\xef\xbb\xbf{}", "!malformed JSON at byte 0!");
    EXPECT(J, NULL, "[1.]", "1.!malformed JSON at byte 3!");
    EXPECT(J, NULL, "[-]", "-!malformed JSON at byte 2!");
    EXPECT(J, NULL, "{\"a\":1}{}", "a|{a}1|!malformed JSON at byte 7!");
    EXPECT(J, NULL, "[1 2]", "1|!malformed JSON at byte 3!");
    EXPECT(J, NULL, "[1}", "1|!malformed JSON at byte 2!");
    /* UTF-8 in strings: valid passes (at every split), invalid is refused */
    EXPECT(J, NULL, "{\"k\xc3\xa9\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80!\"}",
           "k\xc3\xa9|{k\xc3\xa9}caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80!|");
    EXPECT(J, NULL, "[\"a\xc0\xae\"]", "a!invalid UTF-8 in JSON at byte 3!");
    EXPECT(J, NULL, "[\"a\xe0\x80\xaf\"]", "a\xe0!invalid UTF-8 in JSON at byte 4!");
    EXPECT(J, NULL, "[\"\xed\xa0\x80\"]", "\xed!invalid UTF-8 in JSON at byte 3!");
    EXPECT(J, NULL, "[\"\xf4\x90\x80\x80\"]", "\xf4!invalid UTF-8 in JSON at byte 3!");
    EXPECT(J, NULL, "[\"ab\x80\"]", "ab!invalid UTF-8 in JSON at byte 4!");
    EXPECT(J, NULL, "[\"ab\xc3\"]", "ab\xc3!invalid UTF-8 in JSON at byte 5!");
    EXPECT(J, NULL, "[\"\xff\"]", "!invalid UTF-8 in JSON at byte 2!");
    /* whole two- and three-byte sequences take a path of their own (the
       splits take the other): the same events either way */
    EXPECT(J, NULL, "[\"Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xe4\xb8\xad \xee\x80\x80 \xef\xbf\xbd\"]",
           "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xe4\xb8\xad \xee\x80\x80 \xef\xbf\xbd|");
    EXPECT(J, NULL, "[\"a\xc3\x28\"]", "a\xc3!invalid UTF-8 in JSON at byte 4!");
    EXPECT(J, NULL, "[\"a\xe2\x82\x28\"]", "a\xe2\x82!invalid UTF-8 in JSON at byte 5!");
    EXPECT(J, NULL, "[\"a\xe2\x28\xa1\"]", "a\xe2!invalid UTF-8 in JSON at byte 4!");
    EXPECT(J, NULL, "[\"a\xed\x9f\xbf\xed\xbf\xbf\"]", "a\xed\x9f\xbf\xed!invalid UTF-8 in JSON at byte 7!");
    /* the usual ways from one string to the next (": ", ", ", either space
       missing) and the others (newlines, tabs, brackets) give the same */
    EXPECT(J, NULL, "{\"a\": \"x\", \"b\":\"y\",\"c\" :\"z\",  \"d\":  [\"p\", \"q\",\"r\" , \"s\"]}",
           "a|{a}x|b|{b}y|c|{c}z|d|{d}p|q|r|s|");
    EXPECT(J, NULL, "{\"a\":\n\"x\",\t\"b\":\r\"y\"}", "a|{a}x|b|{b}y|");
    EXPECT(J, NULL, "[\"a\", \"b\", {\"c\": \"d\"}, [\"e\"], \"f\"]", "a|b|c|{c}d|e|f|");
    EXPECT(J, NULL, "{\"a\": \"x\", }", "a|{a}x|!malformed JSON at byte 11!");
    EXPECT(J, NULL, "[\"a\": \"x\"]", "a|!malformed JSON at byte 4!");
    EXPECT(J, NULL, "{\"a\", \"x\"}", "a|{a}!malformed JSON at byte 4!");
    EXPECT(J, NULL, "\"a\", \"b\"", "a|!malformed JSON at byte 3!");
    EXPECT("application/x-ndjson", NULL, "\"a\"\n\"b\": \"c\"", "a|b|!malformed JSON at byte 7!");
    /* keys: the context is the key's first 256 bytes, escaped or not */
    {
        char in[700], want[1400];
        char k300[301];
        memset(k300, 'k', 300);
        k300[300] = '\0';
        snprintf(in, sizeof(in), "{\"%s\": \"v\", \"\\u0041%s\": 1}", k300, k300);
        snprintf(want, sizeof(want), "%s|{%.256s}v|A%s|{A%.255s}1|", k300, k300, k300, k300);
        EXPECT(J, NULL, in, want);
    }
    EXPECT(J, NULL, "{\"\": \"\", \"\": 0}", "|{}||{}0|");
    /* duplicate keys: both values are scanned */
    EXPECT(J, NULL, "{\"p\":\"benign\",\"p\":\"SECRET\"}", "p|{p}benign|p|{p}SECRET|");
}

/* the SIMD search against the obvious loop, for every length and position
   around the 16/32/64-byte steps */
static void test_find_special(void)
{
    uint8_t buf[200];
    const uint8_t specials[] = {'"', '\\', 0x00, 0x1f, 0x80, 0xff};
    for (size_t len = 0; len <= 160; len++) {
        memset(buf, 'a', sizeof(buf));
        buf[len] = '"'; /* beyond the end: must not be seen */
        CHECK(dec_json_find_special(buf, len) == len);
        for (int level = DEC_SIMD_SCALAR; level <= dec_simd_level(); level++)
            CHECK(dec_json_find_special_impl(buf, len, level) == len);
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t k = 0; k < sizeof(specials); k++) {
                memset(buf, 0x7f, sizeof(buf));
                buf[pos] = specials[k];
                if (pos + 3 < len)
                    buf[pos + 3] = '"';
                size_t got = dec_json_find_special(buf, len);
                for (int level = DEC_SIMD_SCALAR; level <= dec_simd_level() && got == pos; level++)
                    got = dec_json_find_special_impl(buf, len, level);
                if (got != pos) {
                    fprintf(stderr, "find_special len %zu pos %zu byte %02x: %zu\n", len, pos,
                            specials[k], got);
                    failures++;
                }
            }
        }
    }
}

/* Reference for the base64-run finder: the first 24 base64 characters in a
   row, else the run of them that ends p, else n. */
static int ref_b64_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '-' || c == '_';
}

static size_t ref_b64_find_run(const uint8_t *p, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        run = ref_b64_char(p[i]) ? run + 1 : 0;
        if (run == 24)
            return i + 1 - 24;
    }
    return n - run;
}

static uint32_t simd_rnd_state = 777;
static uint32_t simd_rnd(void)
{
    simd_rnd_state ^= simd_rnd_state << 13;
    simd_rnd_state ^= simd_rnd_state >> 17;
    simd_rnd_state ^= simd_rnd_state << 5;
    return simd_rnd_state;
}

/* A byte the normalisation stage must see (UTF-8, an escape's start): the
   base64 stage's finders flag it. */
static int norm_byte(uint8_t c)
{
    return c >= 0x80 || c == '%' || c == '&' || c == '\\' || c == '=';
}

/* Every SIMD level this CPU runs against the scalar level and the reference:
   every byte value once, then random inputs where runs of all lengths start
   and end around the 16/32/64-byte steps. */
/* The byte lists' finder at every level against a byte loop: where the
   first run of LIST_MIN_RUN bytes of the alphabet starts (with a run
   carried in), and the run carried out when there is none. */
static void test_simd_list_find(void)
{
    static const char alpha[] = "0123456789abcdefABCDEFxX ,:;-\t\n\r";
    static const uint8_t other[] = {'g', 'z', '.', '/', '"', 0, 0x80, 0xc3, '[', '_'};
    uint8_t buf[300];
    int top = dec_simd_level();
    for (int c = 0; c < 256; c++)
        CHECK(dec_list_alpha((uint8_t)c) == (c && strchr(alpha, c) != NULL));
    for (int iter = 0; iter < 100000; iter++) {
        size_t n = simd_rnd() % (iter % 10 == 0 ? sizeof(buf) : 100);
        unsigned density = 1 + simd_rnd() % 40;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = simd_rnd();
            buf[i] = r % density == 0 ? other[(r >> 8) % sizeof(other)]
                                      : (uint8_t)alpha[(r >> 8) % (sizeof(alpha) - 1)];
        }
        uint32_t cin = simd_rnd() % 3 ? 0 : simd_rnd() % LIST_MIN_RUN;
        /* the reference */
        size_t want = n;
        uint32_t want_carry = 0, run = cin;
        for (size_t i = 0; i < n; i++) {
            run = dec_list_alpha(buf[i]) ? run + 1 : 0;
            if (run >= LIST_MIN_RUN) {
                size_t back = run - 1;
                want = back > i ? 0 : i - back;
                want_carry = back > i ? (uint32_t)(back - i) : 0;
                break;
            }
        }
        if (want == n)
            want_carry = run;
        for (int level = DEC_SIMD_SCALAR; level <= top; level++) {
            for (int notail = 0; notail < 2; notail++) {
                uint32_t carry = cin | (notail ? LIST_NO_TAIL : 0);
                size_t got = dec_list_find_impl(buf, n, &carry, level);
                if (got != want || ((!notail || got < n) && carry != want_carry)) {
                    fprintf(stderr, "list find level %d n %zu carry %u: want %zu/%u got %zu/%u\n", level, n, cin,
                            want, want_carry, got, carry);
                    failures++;
                    return;
                }
            }
        }
    }
}

static void test_simd_b64_find(void)
{
    uint8_t buf[400];
    int top = dec_simd_level();
    for (int c = 0; c < 256; c++) {
        memset(buf, 'A', 30);
        buf[10] = (uint8_t)c;
        size_t want = ref_b64_char((uint8_t)c) ? 0 : 11;
        for (int level = DEC_SIMD_SCALAR; level <= top; level++) {
            int flags = 0;
            if (dec_b64_find_run_impl(buf, 30, level, &flags) != want ||
                (level > DEC_SIMD_SCALAR && (flags & B64F_PLAIN) != !norm_byte((uint8_t)c))) {
                fprintf(stderr, "b64 find level %d byte %02x\n", level, c);
                failures++;
            }
        }
    }
    static const uint8_t other[] = {' ', '.', '=', '\n', '\r', 0, 0x80, 0xc3, 0xff, '@', ':', '~', '%', '&'};
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = simd_rnd() % (iter % 10 == 0 ? sizeof(buf) : 140);
        unsigned density = 1 + simd_rnd() % 40; /* one separator per `density` bytes */
        for (size_t i = 0; i < n; i++) {
            uint32_t r = simd_rnd();
            if (r % density == 0)
                buf[i] = other[(r >> 8) % sizeof(other)];
            else
                buf[i] = (uint8_t)("ABZaz09+/-_Qq"[(r >> 8) % 13]);
        }
        size_t want = ref_b64_find_run(buf, n);
        int want_flags = 0, tail = 1;
        for (size_t i = want; i < n; i++)
            tail &= ref_b64_char(buf[i]);
        if (want < n && tail && n - want < 24)
            want_flags |= B64F_TAIL;
        want_flags |= B64F_PLAIN;
        for (size_t i = 0; i < want; i++)
            if (norm_byte(buf[i]))
                want_flags &= ~B64F_PLAIN;
        for (int level = DEC_SIMD_SCALAR; level <= top && n < 16; level++) {
            int high = -1, want_high = 0;
            for (size_t i = 0; i < n; i++)
                want_high |= norm_byte(buf[i]);
            size_t got = dec_b64_short_tail_impl(buf, n, level, &high);
            if (got != want || high != want_high) {
                fprintf(stderr, "b64 short tail level %d n %zu: want %zu/%d got %zu/%d\n", level,
                        n, want, want_high, got, high);
                failures++;
                return;
            }
        }
        for (int level = DEC_SIMD_SCALAR; level <= top; level++) {
            int flags = 0;
            size_t got = dec_b64_find_run_impl(buf, n, level, &flags);
            /* the scalar level never vouches; a SIMD level always knows */
            int flags_ok = level == DEC_SIMD_SCALAR ? flags == 0 : flags == want_flags;
            if (got != want || !flags_ok) {
                fprintf(stderr, "b64 find level %d n %zu: want %zu/%d got %zu/%d\n", level, n,
                        want, want_flags, got, flags);
                failures++;
                return;
            }
        }
    }
}

/* The text verdict as it was first written (one pass, no shortcuts): the
   reference for dec_looks_text and its incremental form. */
static size_t ref_utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (len == 0 || n < len)
        return 0;
    uint32_t cp = c & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int ref_looks_text(const uint8_t *p, size_t n)
{
    size_t bad = 0, i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            i++;
        } else if (c == 0) {
            return 0;
        } else if (c >= 0x80) {
            size_t l = ref_utf8_seq(p + i, n - i);
            if (l == 0 && n - i < 4 && c >= 0xc2 && c <= 0xf4)
                break;
            i += l ? l : 1;
            bad += l == 0;
        } else {
            bad++;
            i++;
        }
    }
    return bad * 20 <= n;
}

static void test_looks_text_step(void)
{
    static const uint8_t pool[] = {'a', ' ', '~', '\t', '\n', 0x7f, 0x01, 0x1f, 0xc3, 0xa9, 0xe2,
                                   0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xff, 0x00};
    uint8_t buf[300];
    for (int iter = 0; iter < 100000; iter++) {
        size_t n = simd_rnd() % sizeof(buf);
        unsigned odd = 1 + simd_rnd() % 30; /* one byte from the pool per `odd` */
        for (size_t i = 0; i < n; i++) {
            uint32_t r = simd_rnd();
            buf[i] = r % odd == 0 ? pool[(r >> 8) % (sizeof(pool) - (iter % 3 ? 1 : 0))]
                                  : (uint8_t)(0x20 + (r >> 8) % 95);
        }
        int want = ref_looks_text(buf, n);
        CHECK(dec_looks_text(buf, n) == want);
        size_t at = 0, bad = 0, avail = 0;
        int got = 1;
        while (got && avail < n) {
            avail += 1 + simd_rnd() % 40;
            if (avail > n)
                avail = n;
            got = dec_looks_text_step(buf, avail, n, &at, &bad);
        }
        if (n == 0)
            got = dec_looks_text_step(buf, 0, 0, &at, &bad);
        if (got != want) {
            fprintf(stderr, "looks_text_step n %zu: want %d got %d\n", n, want, got);
            failures++;
            return;
        }
    }
}

/* Strings with escapes go on staged (one data call per string): the
   transcript is the same as unstaged at every split, also when the staged
   bytes exceed the stage, and the bytes before an error come before it. */
static void test_json_stage(void)
{
    size_t n = 0;
    char *in = malloc(20000), *want = malloc(20000);
    size_t w = 0;
    n += (size_t)snprintf(in + n, 20000 - n, "{\"k\\u0041y\":\"");
    w += (size_t)snprintf(want + w, 20000 - w, "kAy|{kAy}");
    for (int i = 0; i < 1500; i++) {
        n += (size_t)snprintf(in + n, 20000 - n, "ab\\n\\u00e9");
        w += (size_t)snprintf(want + w, 20000 - w, "ab\n\xc3\xa9");
    }
    n += (size_t)snprintf(in + n, 20000 - n, "\"}");
    w += (size_t)snprintf(want + w, 20000 - w, "|");
    EXPECT_BIN("application/json", NULL, in, n, want);
    EXPECT("application/json", NULL, "[\"a\\fb\\q\"]", "a\fb!invalid JSON escape at byte 7!");
    EXPECT("application/json", NULL, "[\"a\\fb\x01\"]", "a\fb!malformed JSON at byte 6!");
    EXPECT("text/plain", NULL, "[\"a\\fb\\q and more\"]", "a\fb|q and more\"]|");
    /* escapes resolved in place when whole in one call, byte-wise when cut:
       surrogates, in and out of place, give the same at every split */
    EXPECT("application/json", NULL, "[\"\\ud83d\\ude00\"]", "\xf0\x9f\x98\x80|");
    EXPECT("application/json", NULL, "[\"a\\u00e9b\\u4e2d\\/\"]", "a\xc3\xa9" "b\xe4\xb8\xad" "/|");
    EXPECT("application/json", NULL, "[\"\\ud83dx\"]", "!unpaired surrogate in JSON at byte 8!");
    EXPECT("application/json", NULL, "[\"\\ud83d\\u0041\"]",
           "!unpaired surrogate in JSON at byte 13!");
    EXPECT("application/json", NULL, "[\"\\ude00\"]", "!unpaired surrogate in JSON at byte 7!");
    EXPECT("application/json", NULL, "[\"\\ud83d\\n\"]", "!unpaired surrogate in JSON at byte 9!");
    EXPECT("application/json", NULL, "[\"\\ud83d\"]", "!unpaired surrogate in JSON at byte 8!");
    EXPECT("application/json", NULL, "[\"ab\\u12G4\"]", "ab!invalid JSON escape at byte 8!");
    /* the structure between strings (taken on a fast path after a string):
       nesting, empty containers, whitespace, and errors right after one */
    EXPECT("application/json", NULL, "{\"a\": [\"x\", {\"b\":\"y\"}, [], [[\"z\"]]], \"c\": {}}",
           "a|{a}x|b|{b}y|z|c|{c}");
    EXPECT("application/json", NULL, "[\n\t\"a\" ,\r\n \"b\"\n]", "a|b|");
    EXPECT("application/json", NULL, "[\"a\"}", "a|!malformed JSON at byte 4!");
    EXPECT("application/json", NULL, "{\"a\":\"x\"]", "a|{a}x|!malformed JSON at byte 8!");
    EXPECT("application/json", NULL, "{\"a\" \"x\"}", "a|{a}!malformed JSON at byte 5!");
    EXPECT("application/json", NULL, "[\"a\",]", "a|!malformed JSON at byte 5!");
    EXPECT("application/json", NULL, "[\"a\"] [", "a|!malformed JSON at byte 6!");
    EXPECT("application/x-ndjson", NULL, "{\"a\":\"x\"}\n[\"y\",{}]\n", "a|{a}x|y|");
    free(in);
    free(want);
}

/* [[[…1…]]] nested depth deep into o (2 * depth + 2 bytes); its length */
static size_t nested(char *o, int depth)
{
    size_t n = 0;
    for (int i = 0; i < depth; i++)
        o[n++] = '[';
    o[n++] = '1';
    for (int i = 0; i < depth; i++)
        o[n++] = ']';
    o[n] = '\0';
    return n;
}

/* A table pasted in a prompt: markdown rows after a '\n' escape (or at the
 * string's start), tab-separated lines; each cell is a unit under its
 * column's name (and the cell before), at every split. */
static void test_json_tables(void)
{
    const char *J = "application/json";
    /* markdown after prose: the prose is a unit; the separator row is a row */
    EXPECT(J, NULL, "{\"t\":\"See:\\n| Name | SSN |\\n|---|---|\\n| Al | 536221847 |\\nThanks 1\"}",
           "t|{t}See:\n|||{} Name |||{ Name } SSN |||\n|||{ Name }---|||{---  SSN }---|||\n|||{ Name } Al |||{ Al   SSN } 536221847 |||\n|{}Thanks 1|");
    /* at the string's start, and a second table with a header of its own
       after prose (the table ends where a line that is no row begins) */
    EXPECT(J, NULL, "[\"| a | ssn |\\n| x | 1 |\\nprose\\n| b | dob |\\n| y | 2 |\"]",
           "|||{} a |||{ a } ssn |||\n|||{ a } x |||{ x   ssn } 1 |||\n|{}prose\n|||{} b |||{ b } dob |||\n|||{ b } y |||{ y   dob } 2 |||");
    /* tabs: the first cell went out before the tab and names column 0;
       the header's line is one unit (its cells are names), the rows under
       it are cut into cells */
    EXPECT(J, NULL, "[\"Export:\\nName\\tSSN\\nAl\\t536221847\\r\\nBo\\t2\\n\"]",
           "Export:\nName\tSSN\n|{Name}Al|\t|{Al SSN}536221847|\r|\n|{Name}Bo|\t|{Bo SSN}2|\n|");
    EXPECT(J, NULL, "[\"Name\\tSSN\\nAl\\t536221847\"]",
           "Name\tSSN\n|{Name}Al|\t|{Al SSN}536221847|");
    /* a title row copied with the sheet's range: the row after it names
       the columns; a one-column markdown table reads as before */
    EXPECT(J, NULL, "[\"Staff 2026\\t\\t\\nName\\tSSN\\tDOB\\nAl\\t536221847\\t1985-03-12\"]",
           "Staff 2026\t\t\n|Name\tSSN\tDOB\n|{Name}Al|\t|{Al SSN}536221847|\t|{536221847 DOB}1985-03-12|");
    EXPECT(J, NULL, "[\"| SSN |\\n|---|\\n| 536221847 |\\n| 2 |\"]",
           "|||{} SSN |||\n|||{ SSN }---|||\n|||{ SSN } 536221847 |||\n|||{ SSN } 2 |||");
    /* a tab that indents is no table's; a long first cell neither */
    EXPECT(J, NULL, "[\"if x:\\n\\treturn 1\\n\\tpass\"]",
           "if x:\n\treturn 1\n\tpass|");
    /* a first cell of 63 bytes or more is no header's, however it came
       (fuzz_classifiers_json) */
    EXPECT(J, NULL, "[\"NamUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUe\\ttent\", \"x\"]",
           "NamUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUe\ttent|x|");
    /* escapes inside cells, a key with a tab, the value after */
    EXPECT(J, NULL, "{\"a\\tb\":\"S\\u0053N\\tx\\n1\\t\\u0032\",\"c\":\"d\"}",
           "a\tb|{a\tb}SSN\tx\n|{SSN}1|\t|{1 x}2|c|{c}d|");
    /* '|' not first on a line begins nothing; an escaped one is a '|' */
    EXPECT(J, NULL, "[\"a | b\\n c|d\\n\\u007c e |\"]",
           "a | b\n c|d\n|||{} e |||");
    /* cut: the table ends before the report */
    EXPECT(J, NULL, "[\"\\n| a | b |\\n| 1",
           "\n|||{} a |||{ a } b |||\n|||{ a } 1|!truncated JSON at byte 18!");
    /* tabs end at a blank line; a markdown table and tabs again after it;
       escaped line ends and tabs are line ends and tabs */
    EXPECT(J, NULL, "[\"x\\ty\\n1\\t2\\n\\n|p|q|\\n|3|4|\\nk\\u0009v\\u000a5\\t6\"]",
           "x\ty\n|{x}1|\t|{1 y}2|\n|\n|{}|||{}p|||{p}q|||\n|||{p}3|||{3 q}4|||\n|{}k\tv\n|{k}5|\t|{5 v}6|");
    /* comma-separated: a header's line and a row with as many commas; the
       table begins at the row's end (it went out as prose, after the
       header's words), ends after a line without a comma */
    EXPECT(J, NULL, "[\"Data:\\nName,SSN,Date of birth\\nAl,536221847,1985-03-12\\r\\nBo,\\\"Smith, B\\\",1985-03-13\\n\\nSSN 1\"]",
           "Data:\nName,SSN,Date of birth\nAl,536221847,1985-03-12\r|\n|{Name}Bo|,|{Bo SSN}\"Smith, B\"|,|{\"Smith, B\" Date of birth}1985-03-13|\n|\n|{}SSN 1|");
    /* a header's CRLF whose '\r' left the stage before its '\n' came
       (fuzz_classifiers_json) */
    EXPECT(J, NULL, "{\"t\": \"Data:\\nName,SSN,Da2\\r\\nBo,\\\"Smith, B\\\",1985\\n\"}", "t|{t}Data:\nName,SSN,Da2\r\nBo,\"Smith, B\",1985|\n|");
    /* a row with another count ends it after itself; prose, two-column
       headers (no space after the comma), a wide header (64 bytes) */
    EXPECT(J, NULL, "[\"a,b,c\\n1,2,3\\n4,5\\n6,7,8\\nThanks, Bob\\nx 1, 2\\nk,v\\n9,1\\n3,4\\n\\n"
                    "id,name,ssn,dob,street,city,zip,country,phone,mail,note,extrasxx\\n1,2,3,4,5,6,7,8,9,1,2,3\\n"
                    "1,2,3,4,5,6,7,8,9,1,2,3\"]",
           "a,b,c\n1,2,3|\n|{a}4|,|{4 b}5|\n|{}6,7,8\nThanks, Bob\nx 1, 2\nk,v\n9,1|\n|{k}3|,|{3 v}4|\n|\n|"
           "{}id,name,ssn,dob,street,city,zip,country,phone,mail,note,extrasxx\n1,2,3,4,5,6,7,8,9,1,2,3|\n|"
           "{id}1|,|{1 name}2|,|{2 ssn}3|,|{3 dob}4|,|{4 street}5|,|{5 city}6|,|{6 zip}7|,|{7 country}8|,|{8 phone}9|,"
           "|{9 mail}1|,|{1 note}2|,|{2 extrasxx}3|");
    /* markdown without outer pipes: a header's line, then a delimiter row
       with as many cells; the table begins at its end; a delimiter row
       with another count, or a list after a header's line, begins none */
    EXPECT(J, NULL, "[\"See:\\nName | SSN\\n:--- | ---:\\r\\nAl | 536221847\\nBo | 2\\n\\nok\"]",
           "See:\nName | SSN\n:--- | ---:\r|\n|{Name }Al |||{Al   SSN} 536221847|\n|{Name }Bo |||{Bo   SSN} 2|\n|\n|{}ok|");
    EXPECT(J, NULL, "[\"a | b\\n---\\n1 | 2\\nc | d\\n- x | y\\n3 | 4\"]", "a | b\n---\n1 | 2\nc | d\n- x | y\n3 | 4|");
    /* a first row longer than the stage: its commas counted as its bytes
       leave (the first ones go before its end comes), those inside quotes
       not (at every split) */
    for (int quoted = 0; quoted < 2; quoted++) {
        size_t cap = 20000, n = 0;
        char *in = malloc(cap);
        n += (size_t)snprintf(in + n, cap - n, "[\"a,b,ssn\\n%s", quoted ? "\\\"p,q," : "p,q,");
        for (int i = 0; i < 1500; i++)
            n += (size_t)snprintf(in + n, cap - n, "%s", quoted ? "x,y " : "xyz ");
        n += (size_t)snprintf(in + n, cap - n, "%s\\nk,l,536221847\"]", quoted ? "\\\",r,s" : "");
        char *got = run(J, NULL, in, n);
        CHECK(strstr(got, "|{l ssn}536221847|") != NULL);
        expect_bin(J, NULL, in, n, got, NULL, __LINE__);
        free(got);
        free(in);
    }
    /* an indented markdown table (a list item's): the same, its rows
       split as the header's line */
    EXPECT(J, NULL, "[\"1. x:\\n  | a | ssn |\\n  |---|---|\\n  | Al | 536221847 |\\n2. y\"]",
           "1. x:\n  | a | ssn |\n  |---|---||\n|{  }  |||{    a } Al |||{ Al   ssn } 536221847 |||\n|{  }2. y|");
    /* a header's line of 254 bytes is one, of 255 prose (at every split) */
    for (int extra = 0; extra < 2; extra++) {
        char in[1024], want_ctx[64];
        int n = snprintf(in, sizeof(in), "[\"x\\n");
        for (int c = 0; c < 16; c++)
            n += snprintf(in + n, sizeof(in) - (size_t)n, "column_name_%02d,", c);
        n += snprintf(in + n, sizeof(in) - (size_t)n, "%sssn\\n", extra ? "xxxxxxxxxxxx" : "xxxxxxxxxxx");
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 16; c++)
                n += snprintf(in + n, sizeof(in) - (size_t)n, "%d,", c);
            n += snprintf(in + n, sizeof(in) - (size_t)n, "53622184%d\\n", r);
        }
        n += snprintf(in + n, sizeof(in) - (size_t)n, "\"]");
        snprintf(want_ctx, sizeof(want_ctx), "|{15 %sssn}536221841|", extra ? "xxxxxxxxxxxx" : "xxxxxxxxxxx");
        char *got = run(J, NULL, in, (size_t)n);
        CHECK((strstr(got, want_ctx) != NULL) == !extra);
        expect_bin(J, NULL, in, (size_t)n, got, NULL, __LINE__);
        free(got);
    }
    /* a table longer than the stage (4 KiB), prose, another table: each
       row under its names, at every split (random cuts past 400 bytes) */
    {
        size_t cap = 40000, n = 0;
        char *in = malloc(cap);
        n += (size_t)snprintf(in + n, cap - n, "[\"Intro\\n| Row | SSN |\\n|---|---|\\n");
        for (int i = 0; i < 300; i++)
            n += (size_t)snprintf(in + n, cap - n, "| r%d | 5362218%02d |\\n", i, i % 100);
        n += (size_t)snprintf(in + n, cap - n, "Done.\\nName\\tDOB\\nAl\\t1985-03-12\\n\\nRow,SSN\\n");
        for (int i = 0; i < 300; i++) /* (and comma-separated) */
            n += (size_t)snprintf(in + n, cap - n, "r%d,\\\"5362218%02d\\\"\\n", i, i % 100);
        n += (size_t)snprintf(in + n, cap - n, "Done.\\nMy ssn: 536221847\", \"z\"]");
        char *want = run(J, NULL, in, n);
        CHECK(strstr(want, "{ r299   SSN } 536221899 ") != NULL);
        CHECK(strstr(want, "{}Done.\nName\tDOB\n|{Name}Al|\t|{Al DOB}1985-03-12|\n|\n|{}Row,SSN\n") != NULL);
        CHECK(strstr(want, "|{r299 SSN}\"536221899\"|\n|{Row}Done.|\n|{}My ssn: 536221847|z|") != NULL);
        expect_bin(J, NULL, in, n, want, NULL, __LINE__);
        free(want);
        free(in);
    }
}

/* HTML in a value string (a page an agent fetched, in a tool's result; a
 * table copied as HTML): from a line that begins an HTML document or table
 * on, the string goes through the HTML decoder, whose cells are units
 * under their column's name; the line's first bytes decide, at every
 * split. */
static void test_json_html(void)
{
    const char *J = "application/json";
    EXPECT(J, NULL, "{\"t\":\"<table><tr><th>Name</th><th>SSN</th></tr><tr><td>Al</td><td>536221847</td></tr></table>\"}",
           "t|{t}|table|tr|th|{}Name|th|{}th|{Name}SSN|th|{}tr|tr|td|{Name}Al|td|{}td|{Al SSN}536221847|td|{}tr|table|{}");
    /* after prose, on a line of its own; the next string as before */
    EXPECT(J, NULL, "[\"Page:\\n<!DOCTYPE html>\\n<html><body><table><tr><th>DOB</th></tr><tr><td>1985-03-12</td></tr></table><p>ok</p></body></html>\", \"z\"]",
           "Page:\n|\n|DOCTYPE html\nhtml|body|table|tr|th|{}DOB|th|{}tr|tr|td|{DOB}1985-03-12|td|{}tr|table|{}p|ok|p|body|html|z|");
    /* escaped as Go writes it */
    EXPECT(J, NULL, "[\"\\u003ctable>\\u003ctr>\\u003cth>SSN\\u003c/th>\\u003c/tr>\\u003ctr>\\u003ctd>536221847\\u003c/td>\\u003c/tr>\\u003c/table>\"]",
           "|table|tr|th|{}SSN|th|{}tr|tr|td|{SSN}536221847|td|{}tr|table|{}");
    /* no HTML: another element, a tag's prefix, a '<' in prose, a key */
    EXPECT(J, NULL, "[\"<header>SSN</header>\", \"<ta\", \"<tab\\n<td>1</td>\", \"a\\n< b\", \"<TABLE\"]", "<header>SSN</header>|<ta|<tab\n<td>1</td>|a\n< b||TABLE|");
    EXPECT(J, NULL, "{\"<table><td>x</td>\":\"<b>y</b>\"}", "<table><td>x</td>|{<table><td>x</td>}<b>y</b>|");
    /* an indented tag (a pretty-printed fragment: the table inside a div),
       after spaces and tab escapes, up to 32 bytes of them; not after 33;
       white space then a tab escape is indentation, no tab-separated row */
    EXPECT(J, NULL, "[\"<div class=\\\"w\\\">\\n  <table>\\n    <tr><th>SSN</th></tr>\\n    <tr><td>536221847</td></tr>\\n  </table>\\n</div>\"]",
           "<div class=\"w\">\n|  |table|\n    |tr|th|{}SSN|th|{}tr|\n    |tr|td|{SSN}536221847|td|{}tr|\n  |table|{}\n|div|");
    EXPECT(J, NULL, "[\"\\t\\t<TABLE><tr><td>k</td></tr><tr><td>v</td></tr>\", \"  x\\n \", \"a\\n   <tab\"]",
           "|\t\t|TABLE|tr|td|{}k|td|{}tr|tr|td|{k}v|td|{}tr|  x\n |a\n   <tab|");
    /* a string that ends on a line after its table's end: what the line
       waited for is its end (found by the fuzzer) */
    EXPECT(J, NULL, "[\"|\\n \", \"|\\n<ta\", 1]", "|||\n|{} ||||\n|{}<ta|1|");
    EXPECT(J, NULL, "[\"                                 <table><tr><td>k</td></tr></table>\", \"  \\t<table>\"]",
           "                                 <table><tr><td>k</td></tr></table>||  \t|table|");
    /* cut by the end while the line's first bytes wait: they go out
       (lenient, JSON in a text body), or with the report; HTML that the
       end cuts is finished */
    EXPECT("text/plain", NULL, "[\"<ta", "<ta|");
    EXPECT(J, NULL, "[\"<ta", "<ta!truncated JSON at byte 5!");
    EXPECT("text/plain", NULL, "[\"<table><tr><td>SSN</td></tr><tr><td>5362", "|table|tr|td|{}SSN|td|{}tr|tr|td|{SSN}5362||");
    /* a page longer than the stage, its table at the end, cut anywhere
       (random cuts past 400 bytes): the line waits for its first bytes
       across feed calls */
    {
        size_t cap = 20000, n = 0;
        char *in = malloc(cap);
        n += (size_t)snprintf(in + n, cap - n, "{\"content\": [{\"text\": \"Fetched:\\n<html><body>");
        for (int i = 0; i < 200; i++)
            n += (size_t)snprintf(in + n, cap - n, "<p>Line %d of the page.</p>\\n", i);
        n += (size_t)snprintf(in + n, cap - n, "<table><tr><th>Name</th><th>SSN</th></tr>"
                                               "<tr><td>Al</td><td>536221847</td></tr></table></body></html>\"}]}");
        char *want = run(J, NULL, in, n);
        CHECK(strstr(want, "{Al SSN}536221847|") != NULL);
        CHECK(strstr(want, "|p|Line 199 of the page.|p|") != NULL);
        expect_bin(J, NULL, in, n, want, NULL, __LINE__);
        free(want);
        free(in);
    }
}

/* Raw text: a markdown table (a '|' first on a line) names its cells;
 * a '|' elsewhere begins nothing; the table ends at a line that is no row;
 * every byte is passed on (the file's own offsets), at every split. */
static void test_text_tables(void)
{
    const char *T = "text/plain";
    EXPECT(T, NULL, "# Staff\n\n| Name | SSN |\n|---|---|\n| Al | 536221847 |\n\nSee a|b.\n",
           "# Staff\n\n|||{} Name |||{ Name } SSN |||\n|||{ Name }---|||{---  SSN }---|||\n|||{ Name } Al |||{ Al   SSN } 536221847 |||\n|{}\nSee a|b.\n|");
    EXPECT(T, NULL, "| a | dob |\r\n| x | 1 |",
           "|||{} a |||{ a } dob |||\r|\n|||{ a } x |||{ x   dob } 1 |||");
    EXPECT(T, NULL, "a | b\nc |",
           "a | b\nc ||");
    /* the SIMD search for "\n|" (32-byte blocks): tables at every offset
       of a block, pipes in the middle of lines passed over */
    for (int at = 0; at < 40; at++) {
        char in[512], want_ctx[64];
        int n = snprintf(in, sizeof(in), "%.*sa || b | c\n|k%d|\n|v|\nx|y\n", at, "0123456789012345678901234567890123456789", at);
        snprintf(want_ctx, sizeof(want_ctx), "|||{k%d}v|||", at);
        char *got = run(T, NULL, in, (size_t)n);
        CHECK(strstr(got, want_ctx) != NULL);
        expect_bin(T, NULL, in, (size_t)n, got, NULL, __LINE__);
        free(got);
    }
    EXPECT("text/markdown", NULL, "x\n|k|\n|v|\ny\n|k2|\n|v2|\n",
           "x\n|||{}k|||\n|||{k}v|||\n|{}y\n|||{}k2|||\n|||{k2}v2|||\n|");
    /* indented under a list item (one to three spaces; four are code):
       its rows are the lines with a '|', split as its header's line */
    EXPECT("text/markdown", NULL, "1. x\n   | k | ssn |\n   |---|---|\n   | a | 1 |\n2. y\n    | c | d |\n",
           "1. x\n   |||{} k |||{ k } ssn |||\n|{}   |||{     k }---|||{---  ssn }---|||\n|{}   |||{     k } a |||{ a   ssn } 1 |||\n"
           "|{}2. y|\n|{}    | c | d |\n|");
    for (int sp = 0; sp < 5; sp++) /* (every offset of a block, and the chunk's start) */
        for (int at = 0; at < 36; at++) {
            char in[512], want_ctx[64];
            int n = snprintf(in, sizeof(in), "%.*s\n%.*s|k%d|\n%.*s|v|\nx\n", at, "0123456789012345678901234567890123456789", sp,
                             "    ", at, sp, "    ");
            if (sp) /* (an indented row: its spaces are the cell before) */
                snprintf(want_ctx, sizeof(want_ctx), "|{%.*s k%d}v|", sp, "    ", at);
            else
                snprintf(want_ctx, sizeof(want_ctx), "|{k%d}v|", at);
            char *got = run(T, NULL, in, (size_t)n);
            CHECK((strstr(got, want_ctx) != NULL) == (sp < 4));
            expect_bin(T, NULL, in, (size_t)n, got, NULL, __LINE__);
            free(got);
        }
    /* an HTML block (a table a converter kept as HTML in markdown): from
       its line to a blank line through the HTML decoder, the text after it
       as before; a '<' that begins no block is text, a tag's prefix at the
       end too */
    EXPECT("text/markdown", NULL, "# Staff\n\n<table>\n<tr><th>Name</th><th>SSN</th></tr>\n<tr><td>Al</td><td>536221847</td></tr>\n</table>\n\n| k |\n| v |\n",
           "# Staff\n\n|table|\n|tr|th|{}Name|th|{}th|{Name}SSN|th|{}tr|\n|tr|td|{Name}Al|td|{}td|{Al SSN}536221847|td|{}tr|\n"
           "|table|{}\n\n|||||{} k |||\n|||{ k } v |||\n|");
    EXPECT(T, NULL, "a <table> b\n<header>x\n  <TABLE\n<td>1</td>\n \t\nok\n<ta",
           "a <table> b\n<header>x\n  |TABLE|td|1|td|\n \t\n||ok\n<ta|");
    /* blank lines inside a table (a template engine's page), a tag or a
       comment do not end the block: the rows after them are still under
       their column's name; the first blank line after the table does */
    EXPECT(T, NULL, "<table>\n<tr><th>Name</th><th>SSN</th></tr>\n\n  \n<tr><td>Al</td><td>536221847</td></tr>\n\n</table>\n\n| k |\n| v |\n",
           "|table|\n|tr|th|{}Name|th|{}th|{Name}SSN|th|{}tr|\n\n  \n|tr|td|{Name}Al|td|{}td|{Al SSN}536221847|td|{}tr|\n\n"
           "|table|{}\n\n|||||{} k |||\n|||{ k } v |||\n|");
    EXPECT(T, NULL, "<table><tr><td\n\nclass=a>k</td></tr><!--\n\n--><tr><td>v</td></tr></table>\nx\n\n| k |\n",
           "|table|tr|td|class\na|{}k|td|{}tr|\n\n\ntr|td|{k}v|td|{}tr|table|{}\nx\n\n|||||{} k |||\n|");
    { /* a table never closed: past 1 MiB of the block, a blank line ends it */
        size_t big = (1u << 20) + 64, n = 0;
        char *in = malloc(big + 64);
        n += (size_t)sprintf(in, "<table><tr><td>");
        while (n < big)
            n += (size_t)sprintf(in + n, "abcdefghi\n");
        n += (size_t)sprintf(in + n, "\n| k |\n| v |\n");
        char *got = run(T, NULL, in, n);
        CHECK(strstr(got, "|{ k } v |") != NULL);
        free(got);
        free(in);
    }
    /* at every offset of a 32-byte block, after 0 to 4 spaces (four are
       code) */
    for (int sp = 0; sp < 5; sp++)
        for (int at = 0; at < 36; at++) {
            char in[512], want_ctx[64];
            int n = snprintf(in, sizeof(in), "%.*s\n%.*s<table><tr><td>k%d</td></tr><tr><td>v</td></tr></table>\n\nx\n", at,
                             "0123456789012345678901234567890123456789", sp, "    ", at);
            snprintf(want_ctx, sizeof(want_ctx), "|{k%d}v|", at);
            char *got = run(T, NULL, in, (size_t)n);
            CHECK((strstr(got, want_ctx) != NULL) == (sp < 4));
            expect_bin(T, NULL, in, (size_t)n, got, NULL, __LINE__);
            free(got);
        }
}

static void test_json_depth(void)
{
    char in[300], want[400];
    g_lim.max_depth = 8;
    /* N-1, N: accepted; N+1: refused */
    for (int depth = 7; depth <= 9; depth++) {
        nested(in, depth);
        if (depth <= 8)
            snprintf(want, sizeof(want), "1|");
        else
            snprintf(want, sizeof(want), "!JSON nesting deeper than 8 at byte 8!");
        EXPECT("application/json", NULL, in, want);
    }
    g_lim.max_depth = 0;
    /* the default: 256, deeper than AWS's own endpoint rule sets (79) */
    char *deep = malloc(2 * 300 + 2);
    for (int depth = 256; depth <= 257; depth++) {
        size_t n = nested(deep, depth);
        char *got = run("application/json", NULL, deep, n);
        CHECK(strcmp(got, depth == 256 ? "1|" : "!JSON nesting deeper than 256 at byte 256!") == 0);
        free(got);
    }
    free(deep);
}

/* ---- charsets other than UTF-8 and UTF-16 ---- */

static void test_charsets(void)
{
    /* "Паспорт 4111 1111 1111 1111, почта иван@пример.рф" in windows-1251:
       converted, the letters are UTF-8 (context words in any script) */
    static const char cp1251[] = "\xcf\xe0\xf1\xef\xee\xf0\xf2 4111 1111 1111 1111, a@b.com";
    EXPECT_PATH("text/plain; charset=windows-1251", NULL, cp1251,
                "\xd0\x9f\xd0\xb0\xd1\x81\xd0\xbf\xd0\xbe\xd1\x80\xd1\x82 4111 1111 1111 1111, a@b.com|",
                "windows-1251");
    /* the same bytes in KOI8-R are other letters: the label decides */
    EXPECT("text/plain; charset=KOI8-R", NULL, "\xf0\xc1\xd3\xd0\xcf\xd2\xd4 1",
           "\xd0\x9f\xd0\xb0\xd1\x81\xd0\xbf\xd0\xbe\xd1\x80\xd1\x82 1|");
    /* Latin-1 JSON: the é of "né le" becomes UTF-8 (the JSON decoder wants it) */
    EXPECT_PATH("application/json; charset=iso-8859-1", NULL, "{\"t\":\"n\xe9 le 1/2/1980\"}",
                "t|{t}n\xc3\xa9 le 1/2/1980|", "iso-8859-1>json");
    /* multi-byte: Shift_JIS "個人番号" (a My Number context word), cut
       anywhere (expect_bin splits at every byte) */
    EXPECT("text/plain; charset=shift_jis", NULL, "\x8c\xc2\x90\x6c\x94\xd4\x8d\x86 1234",
           "\xe5\x80\x8b\xe4\xba\xba\xe7\x95\xaa\xe5\x8f\xb7 1234|");
    /* a byte the charset has no character for: U+FFFD, the rest read */
    EXPECT("text/plain; charset=shift_jis", NULL, "a\xa0" "b a@b.com", "a\xef\xbf\xbd" "b a@b.com|");
    /* a character cut by the body's end */
    EXPECT("text/plain; charset=shift_jis", NULL, "mail a@b.com \x8c",
           "mail a@b.com !truncated shift_jis text!");
    /* EBCDIC (IBM037): "CARD 4111" */
    EXPECT("text/plain; charset=ibm037", NULL, "\xc3\xc1\xd9\xc4\x40\xf4\xf1\xf1\xf1", "CARD 4111|");
    /* compressed or binary data declared as text in a charset is refused
       by its raw signature, as raw text's is (converted, the signature
       would be gone and the data pass as garbage) */
    EXPECT("text/plain; charset=koi8-r", NULL, "\x1f\x8b\x08\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d",
           "!text body holds gzip data!");
    EXPECT("text/plain; charset=windows-1251", NULL, "%PDF-1.7 \xcf\xe0", "!text body holds PDF document!");
    EXPECT("text/plain; charset=windows-1251", NULL, "%P", "%P|"); /* (held, then too short to be one) */
    /* multipart and binary types ignore the parameter, as before */
    EXPECT("application/cbor; charset=windows-1251", NULL, "", "");
    /* long input through the 4 KiB output buffer, any split */
    char *big = malloc(20001);
    for (size_t i = 0; i < 20000; i++)
        big[i] = i % 50 == 49 ? ' ' : (char)(0xc0 + i % 32);
    big[20000] = '\0';
    char *got = run("text/plain; charset=windows-1251", NULL, big, 20000);
    CHECK(strlen(got) == 20000 / 50 * (49 * 2 + 1) + 1);
    free(got);
    EXPECT(NULL, NULL, "", "");
    free(big);
    /* untyped text in an unknown 8-bit charset (no control byte, words) is
       read as 8-bit text, its ASCII scanned; random bytes are not text */
    static const char ru[] = "\xcf\xf0\xe8\xe2\xe5\xf2, \xec\xee\xff \xef\xee\xf7\xf2\xe0 a@b.com";
    EXPECT_PATH(NULL, NULL, ru, "\xcf\xf0\xe8\xe2\xe5\xf2, \xec\xee\xff \xef\xee\xf7\xf2\xe0 a@b.com|",
                "8bit");
    EXPECT("application/octet-stream", NULL, "\xcf\xf0\xe8\xe2\xe5\xf2\x01 \xec\xee\xff",
           "!content-type application/octet-stream not inspectable!");
    EXPECT(NULL, NULL, "\xcf\xf0\xe8\xe2\xe5\xf2\xec\xee\xff\xef\xee\xf7\xf2\xe0\xe0\xe0\xe0 ab",
           "!binary content without a content-type not inspectable!");
}

/* ---- raw text, media types, sniffing ---- */

static void test_types(void)
{
    EXPECT_PATH("text/plain", NULL, "hello world", "hello world|", "");
    EXPECT("image/png", NULL, "\x89PNG....", "!content-type image/png not inspectable!");
    EXPECT("application/pdf", NULL, "%PDF-1.4", ""); /* (PDFs: test_pdf) */
    EXPECT("image/png", NULL, "", "");
    EXPECT_PATH(NULL, NULL, "{\"a\":\"b\"}", "a|{a}b|", "json");
    EXPECT_PATH("application/octet-stream", NULL, "  [\"x\"]", "x|", "json");
    EXPECT(NULL, NULL, "just some text", "just some text|");
    /* untyped text that only begins like JSON is text from its first error
       on (an INI file, a log): scanned whole, not refused */
    EXPECT_PATH(NULL, NULL, "[externally-managed]\nError=mail a@b.com", "|externally-managed]\nError=mail a@b.com|",
                "json");
    EXPECT(NULL, NULL, "{\"a\":\"b\"} [x", "a|{a}b||x|");
    EXPECT_PATH("application/octet-stream", NULL, "%PDF-1.7\n(hidden)", "hidden |", "pdf");
    EXPECT("application/octet-stream", NULL, "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f",
           "!content-type application/octet-stream not inspectable!");
    EXPECT("application/x-unknown", NULL, "printable", "printable|");
    EXPECT("application/x-unknown", NULL, "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f",
           "!content-type application/x-unknown not inspectable!");
    /* stateful charsets stay refused: where a chunk ends would change how
       an invalid byte in them reads */
    EXPECT("text/plain; charset=utf-7", NULL, "+AEEASwBJ-", "!stateful charset utf-7 not inspectable!");
    /* ... but ISO-2022-JP, Japanese mail's charset, whose state is only
       what its escape sequences set: converted (an escape cut by a chunk's
       end waits for the rest; a bad byte reads the same wherever it falls,
       at every split below) */
    EXPECT("text/plain; charset=iso-2022-jp", NULL, "\x1b$B;3ED\x1b(B taro@example.co.jp",
           "\xe5\xb1\xb1\xe7\x94\xb0 taro@example.co.jp|");
    EXPECT("text/plain; charset=ISO-2022-JP", NULL, "\x1b$B;3\x01" "ED\x1b(Bx\x1b",
           "\xe5\xb1\xb1\x01\xe7\x94\xb0x!truncated iso-2022-jp text!");
    EXPECT("text/plain; charset=ISO-2022-JP", NULL, "\x1b$B;\x80" "3\x1b(Bx", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx|");
    /* labels mail writes that glibc's iconv does not know: Outlook's
       Korean, Hebrew's visual/logical -i */
    EXPECT("text/plain; charset=ks_c_5601-1987", NULL, "\xc8\xab\xb1\xe6\xb5\xbf a@b.kr",
           "\xed\x99\x8d\xea\xb8\xb8\xeb\x8f\x99 a@b.kr|");
    EXPECT("text/plain; charset=ISO-8859-8-I", NULL, "\xf9\xec\xe5\xed", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d|");
    /* unknown-8bit (mail gateways, RFC 1428): its ASCII read, each other
       byte a Latin-1 letter; it was refused */
    EXPECT("text/plain; charset=unknown-8bit", NULL, "caf\xe9 bob@corp-mail.de", "caf\xc3\xa9 bob@corp-mail.de|");
    EXPECT("text/plain; charset=X-UNKNOWN", NULL, "\x9a 4111", "\xc2\x9a 4111|");
    EXPECT("text/plain; charset=ibm930", NULL, "abc", "!stateful charset ibm930 not inspectable!");
    EXPECT("text/plain; charset=x-no-such-set", NULL, "abc", "!charset x-no-such-set not inspectable!");
    EXPECT("text/plain; charset=utf-8//ignore", NULL, "abc", "!charset not inspectable!");
    EXPECT("text/plain", "x-foo", "abc", "!unsupported content-encoding x-foo!");
    EXPECT("text/plain", "compress", "abc", "!unsupported content-encoding compress!");
    EXPECT("text/plain", "identity", "abc", "abc|");
    /* compressed or binary data labelled as text is refused */
    EXPECT("text/plain", NULL, "\x1f\x8b\x08\x01\x02\x03\x04\x05\x06\x03",
           "!text body holds gzip data!");
    EXPECT("text/plain", NULL, "\x1f", "\x1f|"); /* too short to be gzip */
    EXPECT("text/csv", NULL, "PK\x03\x04rest", "!text body holds zip archive!");
    EXPECT("text/plain", NULL, "short", "short|");
    /* JSON sent as text: escapes resolved; text that only looks like JSON
       passes raw from the first syntax error */
    EXPECT("text/plain", NULL, "{\"k\":\"\\u0041KIA\"}", "k|{k}AKIA|");
    EXPECT("text/plain", NULL, "[INFO] mail a@b.com", "|INFO] mail a@b.com|");
    EXPECT("text/plain", NULL, "[\"x\", 1] and 4111 1111", "x|1||and 4111 1111|");
    EXPECT("text/plain", NULL, "{\"a\":\"b", "a|{a}b|");
    EXPECT("multipart/form-data", NULL, "--x\r\n", "!multipart without a valid boundary!");
}

/* ---- XML ---- */

static void test_xml(void)
{
    const char *X = "application/xml";
    /* CDATA sections, character data and references between two tags are
       one text unit (catalogue 4.1 case 24); names are data, each a unit;
       an element's name is the context of its text */
    EXPECT_PATH(X, NULL, "<k><![CDATA[AKIA]]><![CDATA[IOSF]]></k>", "k|{k}AKIAIOSF|{}k|", "xml");
    EXPECT(X, NULL, "<a>&#65;&#x4B;&lt;&gt;&amp;&apos;&quot;I</a>", "a|{a}AK<>&'\"I|{}a|");
    /* other references pass as written (the text stages see them); a '<'
       that starts no markup is text */
    EXPECT(X, NULL, "<a>&foo; &bad<b>1 < 2 &#0; &#xD800; &#1114112;</b></a>",
           "a|{a}&foo; &bad|b|{b}1 < 2 &#0; &#xD800; &#1114112;|{}b|{}a|");
    /* comments and PIs do not cut the text: they follow it as a unit */
    EXPECT(X, NULL, "<a>AKIA<!-- c1 -->IOSF<?pi x?>ODNN<!---->7</a>",
           "a|{a}AKIAIOSFODNN7| c1 \npi x\n|{}a|");
    EXPECT(X, NULL, "<a>x<!-- a-b--c ---></a>", "a|{a}x| a-b--c -|{}a|");
    EXPECT(X, NULL, "<a><![CDATA[x]y]]z]]]></a>", "a|{a}x]y]]z]|{}a|");
    /* attributes: names, then the value with the element's and the
       attribute's names as context */
    EXPECT(X, NULL, "<e id=\"v&amp;w\" n='q\"'/>", "e|id|{e id}v&w|n|{e n}q\"|{e}");
    EXPECT(X, NULL, "<SSN v=\"1\">2</SSN>", "SSN|v|{SSN v}1|{SSN}2|{}SSN|");
    /* a key or name attribute names the element's value: its value is the
       context of a value attribute after it and of the element's text (not
       of the text after an empty element); an end tag ends the context */
    /* a Key or Name element names the element after it (S3's tagging, a
       plist); not the one after that, nor across an end tag */
    EXPECT(X, NULL, "<T><Key>ssn</Key><Value>5</Value><Other>6</Other></T><k:name>d</k:name></x><V>7</V>",
           "T|{T}Key|{Key}ssn|{}Key|Value|{Value ssn}5|{}Value|Other|{Other}6|{}Other|{}T|k:name|{k:name}d|{}k:name|{}x|V|{V}7|{}V|");
    EXPECT(X, NULL, "<dict><key>Password</key> <string>p</string><key/><string>q</string></dict>",
           "dict|{dict}key|{key}Password|{}key| |string|{string Password}p|{}string|key|{key}string|{string}q|{}string|{}dict|");
    EXPECT(X, NULL, "<add key=\"ApiKey\" value=\"s\"/>t<e name=\"pwd\">u</e>v",
           "add|key|{add key}ApiKey|value|{add ApiKey}s|{add}t|e|name|{e name}pwd|{e pwd}u|{}e|v|");
    EXPECT(X, NULL, "<a value=\"1\" Key='k&amp;' VALUE=\"2\" value=\"3\" / >4",
           "a|value|{a value}1|Key|{a Key}k&|VALUE|{a k&}2|value|{a k&}3|{a}4|");
    /* the XML declaration: an ASCII-based encoding passes, another is
       refused (catalogue 4.1 case 27) */
    EXPECT(X, NULL, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
           "xml version=\"1.0\" encoding=\"UTF-8\"|a|{a}");
    EXPECT(X, NULL, "<?xml version='1.0' encoding='ISO-8859-1'?><a>x</a>",
           "xml version='1.0' encoding='ISO-8859-1'|a|{a}x|{}a|");
    EXPECT(X, NULL, "<?xml version=\"1.0\" encoding=\"UTF-7\"?><a>+AEE-</a>",
           "!XML encoding utf-7 not inspectable!");
    EXPECT(X, NULL, "<?xml version=\"1.0\" encoding=\"ebcdic-cp-us\"?><a/>",
           "!XML encoding ebcdic-cp-us not inspectable!");
    EXPECT(X, NULL, "<?xml encoding=utf-8?><a/>", "!malformed XML declaration!");
    EXPECT(X, NULL, "<?xml-stylesheet href=\"s\"?><a/>", "xml-stylesheet href=\"s\"|a|{a}");
    /* a DTD: without an internal subset it is data; with one (entities
       declared, joined into the text by references) it is refused */
    EXPECT(X, NULL, "<!DOCTYPE note SYSTEM \"n.dtd\"><note>x</note>",
           "DOCTYPE note SYSTEM \"n.dtd\"|note|{note}x|{}note|");
    EXPECT(X, NULL, "<!DOCTYPE a [<!ENTITY k \"AKIAIOSF\">]><a>&k;ODNN7EXAMPLF</a>",
           "!XML DTD with an internal subset not inspectable!");
    EXPECT(X, NULL, "<!ELEMENT x><a/>", "ELEMENT x|a|{a}");
    /* a tag never closed, constructs cut by the end: nothing is dropped */
    EXPECT(X, NULL, "<a <b>x</b>", "a|b|{b}x|{}b|");
    EXPECT(X, NULL, "<a>x<![CDATA[y]", "a|{a}xy]|");
    EXPECT(X, NULL, "<a b=\"c", "a|b|{a b}c|");
    EXPECT(X, NULL, "<a>x<!-- y -", "a|{a}x| y -|");
    EXPECT(X, NULL, "x<", "x<|");
    EXPECT(X, NULL, "x<!DOC", "x<!DOC|");
    EXPECT(X, NULL, "x &#x4", "x &#x4|");
    EXPECT(X, NULL, "", "");
    /* a comment longer than the hold: the text unit ends where the hold
       is full, the held bytes and the rest follow as two units */
    {
        static char in[6000], want[12000];
        size_t k = 0;
        k += (size_t)sprintf(in + k, "<a>x<!--");
        memset(in + k, 'c', 5000);
        k += 5000;
        sprintf(in + k, "-->y</a>");
        k = (size_t)sprintf(want, "a|{a}x|");
        memset(want + k, 'c', 4096);
        k += 4096;
        want[k++] = '|';
        memset(want + k, 'c', 904);
        k += 904;
        sprintf(want + k, "|y|{}a|");
        EXPECT(X, NULL, in, want);
    }
    /* other XML types, and XML sent as text or without a type */
    EXPECT_PATH("text/xml", NULL, "<a>x</a>", "a|{a}x|{}a|", "xml");
    EXPECT_PATH("application/soap+xml; charset=utf-8", NULL, "<a>x</a>", "a|{a}x|{}a|", "xml");
    EXPECT_PATH("text/plain", NULL, "<?xml version=\"1.0\"?><a>x</a>",
                "xml version=\"1.0\"|a|{a}x|{}a|", "xml");
    EXPECT_PATH(NULL, NULL, "<?xml version=\"1.0\"?><a>x</a>", "xml version=\"1.0\"|a|{a}x|{}a|",
                "xml");
    EXPECT_PATH("text/plain", NULL, "<?xm", "<?xm|", "");
    /* an Office document part (its root says so): Word's runs are joined,
       paragraphs, cells and breaks end the text; the markup is held and
       follows the text unit it sat in */
    EXPECT(X, NULL,
           "<w:document xmlns:w=\"u\"><w:body><w:p w:rsidR=\"00A1\"><w:r><w:rPr><w:b/></w:rPr>"
           "<w:t>AKIA</w:t></w:r><w:r><w:t xml:space=\"preserve\">IOSF</w:t></w:r></w:p>"
           "<w:p><w:r><w:t>x</w:t><w:tab/><w:t>y</w:t></w:r></w:p></w:body></w:document>",
           "w:document|xmlns:w\nu\nw:body|w:p|AKIAIOSF|w:rsidR\n00A1\nw:r\nw:rPr\nw:b\nw:rPr\nw:t\nw:t"
           "\nw:r\nw:r\nw:t\nxml:space\npreserve\nw:t\nw:r\nw:p|w:p|x|w:r\nw:t\nw:t\nw:tab|y|w:t\nw:t"
           "\nw:r\nw:p|w:body|w:document|");
    /* spreadsheet shared strings and a slide */
    EXPECT(X, NULL, "<sst><si><t>4111 </t></si><si><r><t>1111 </t></r><r><t>1111</t></r></si></sst>",
           "sst|si|4111 |t\nt\nsi|si|1111 1111|r\nt\nt\nr\nr\nt\nt\nr\nsi|sst|");
    EXPECT(X, NULL, "<p:sld><p:sp><a:p><a:r><a:t>AK</a:t></a:r><a:r><a:t>IA</a:t></a:r></a:p></p:sp></p:sld>",
           "p:sld|p:sp|a:p|AKIA|a:r\na:t\na:t\na:r\na:r\na:t\na:t\na:r\na:p|p:sp|p:sld|");
    /* a chart's data points are apart (numbers in a row are not one) */
    EXPECT(X, NULL, "<c:chartSpace><c:pt><c:v>4111</c:v></c:pt><c:pt><c:v>1111</c:v></c:pt></c:chartSpace>",
           "c:chartSpace|c:pt|4111|c:v\nc:v\nc:pt|c:pt|1111|c:v\nc:v\nc:pt|c:chartSpace|");
    /* more markup in a paragraph than the hold takes: the text unit ends
       where it is full (the same at every split) */
    {
        static char in[40000];
        size_t k = (size_t)sprintf(in, "<w:document><w:p><w:r><w:t>AK</w:t></w:r>");
        for (int i = 0; i < 5000; i++)
            k += (size_t)sprintf(in + k, "<w:r/>");
        sprintf(in + k, "<w:r><w:t>IA</w:t></w:r></w:p></w:document>");
        char *got = run(X, NULL, in, strlen(in));
        CHECK(strstr(got, "|AK|") != NULL && strstr(got, "|IA|") != NULL && !strstr(got, "AKIA"));
        expect_bin(X, NULL, in, strlen(in), got, NULL, __LINE__);
        free(got);
    }
    /* HTML: inline elements and comments join the text as a browser shows
       it, other elements end it; markup follows as data */
    const char *H = "text/html";
    EXPECT_PATH(H, NULL, "<p>key AKIA<span class=x></span>IOSF<!-- c --><B>ODNN</B>7</p><p>next",
                "p|key AKIAIOSFODNN7|span\nclass\nx\nspan\n c \nB\nB\np|p|next|", "html");
    EXPECT(H, NULL, "<TD>4111</TD><td>1111<br>x &amp; &nbsp; &#64;</td>",
           "TD|4111|TD|td|1111|br|x & &nbsp; @|x &   @|td|"); /* (&nbsp; by the escapes stage) */
    /* a script's '<' starts a tag: its bytes are scanned as markup */
    EXPECT(H, NULL, "<script>if (a<b && c) {}</script>t", "script|if (a|b\n&&\nc)\n{}\nscript|t|");
    EXPECT_PATH("text/plain", NULL, "<!DOCTYPE html><html><body>x</body></html>",
                "DOCTYPE html\nhtml|body|x|body|html|", "html");
    EXPECT_PATH(NULL, NULL, "<HTML><i>a</i>b</HTML>", "HTML|ab|i\ni\nHTML|", "html");
    EXPECT_PATH("text/plain", NULL, "<htm", "<htm|", "");
    /* another root: every tag ends the text, as before */
    EXPECT(X, NULL, "<doc><r><t>AK</t></r><r><t>IA</t></r></doc>",
           "doc|{doc}r|{r}t|{t}AK|{}t|{}r|r|{r}t|{t}IA|{}t|{}r|{}doc|");
    /* binary data labelled XML is refused as text labelled so is */
    EXPECT("application/xml", NULL, "PK\x03\x04rest", "!text body holds zip archive!");
}

/* ---- zip ---- */

static size_t zlib_make(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int wbits);

/* Appends a local file header and its content to z (method 0: stored, 8:
 * deflated; `desc`: sizes in a data descriptor after the content, with its
 * signature when desc == 2). */
static size_t zip_add(uint8_t *z, size_t at, const char *name, const void *data, size_t n,
                      unsigned method, unsigned flags, int desc)
{
    static uint8_t packed[1 << 16];
    size_t cn = n;
    const uint8_t *c = data;
    if (method == 8) {
        cn = zlib_make(data, n, packed, sizeof(packed), -15);
        c = packed;
    }
    size_t nl = strlen(name);
    uint8_t *h = z + at;
    memset(h, 0, 30);
    memcpy(h, "PK\x03\x04", 4);
    h[4] = 20;
    flags |= desc ? 8u : 0u;
    h[6] = (uint8_t)flags;
    h[8] = (uint8_t)method;
    if (!desc)
        for (int k = 0; k < 4; k++) {
            h[18 + k] = (uint8_t)(cn >> (8 * k));
            h[22 + k] = (uint8_t)(n >> (8 * k));
        }
    h[26] = (uint8_t)nl;
    memcpy(h + 30, name, nl);
    at += 30 + nl;
    memcpy(z + at, c, cn);
    at += cn;
    if (desc) {
        if (desc == 2) {
            memcpy(z + at, "PK\x07\x08", 4);
            at += 4;
        }
        memset(z + at, 0x11, 4); /* (the CRC is not checked) */
        for (int k = 0; k < 4; k++) {
            z[at + 4 + k] = (uint8_t)(cn >> (8 * k));
            z[at + 8 + k] = (uint8_t)(n >> (8 * k));
        }
        at += 12;
    }
    return at;
}

/* Standard base64 of in[0..n) into out (no terminator); returns its length. */
static size_t b64_enc(const uint8_t *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[k++] = tbl[v >> 18];
        out[k++] = tbl[(v >> 12) & 63];
        out[k++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[k++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    return k;
}

/* The transcript of in[0..n) holds each of the strings in parts[]
 * (NULL-ended), in order, and is the same at every split. */
static void expect_parts(const char *ct, const void *in, size_t n, const char *const *parts, int line)
{
    char *got = run(ct, NULL, in, n);
    const char *at = got;
    for (size_t k = 0; parts[k]; k++) {
        const char *f = strstr(at, parts[k]);
        if (!f) {
            fprintf(stderr, "line %d: [%s] not in order in\n  [%s]\n", line, parts[k], got);
            failures++;
            break;
        }
        at = f + strlen(parts[k]);
    }
    expect_bin(ct, NULL, in, n, got, NULL, line);
    free(got);
}

/* Tables in documents and pages: the first row names the columns. */
static void test_doc_tables(void)
{
    static const char html[] = "<table><tr><th>Name</th><th>SSN</th></tr>"
                               "<tr><td>Bob</td><td colspan=\"2\">536221847</td><td>x</td></tr>"
                               "<tr><td><table><tr><td>in</td></tr></table></td><td>2</td></tr></table><p>after</p>";
    /* a cell that spans two columns; a table in a cell is the cell's text;
       after the table, no cell's context */
    static const char *const h[] = {"{}Name|", "{Name}SSN|", "{Name}Bob|", "colspan\n2|{Bob SSN}536221847|",
                                    "{536221847}x|", "{in SSN}2|", "{}p|after|", NULL};
    expect_parts("text/html", html, sizeof(html) - 1, h, __LINE__);
    /* a caption row (one cell): the row after it names the columns */
    static const char cap[] = "<table><tr><th colspan=\"2\">Staff</th></tr><tr><th>Name</th><th>SSN</th></tr>"
                              "<tr><td>Bob</td><td>536221847</td></tr></table>";
    static const char *const hc[] = {"{}Staff|", "{Staff}Name|", "{Name}SSN|", "{Name}Bob|", "{Bob SSN}536221847|", NULL};
    expect_parts("text/html", cap, sizeof(cap) - 1, hc, __LINE__);
    static const char ods[] =
        "<office:document-content><office:body><table:table><table:table-row>"
        "<table:table-cell><text:p>name</text:p></table:table-cell>"
        "<table:table-cell table:number-columns-repeated=\"2\"/>"
        "<table:table-cell><text:p>dob</text:p></table:table-cell></table:table-row>"
        "<table:table-row><table:table-cell><text:p>Eve</text:p></table:table-cell>"
        "<table:table-cell/><table:table-cell/>"
        "<table:table-cell office:value-type=\"date\" office:date-value=\"1985-03-12\"><text:p>03/12/85</text:p>"
        "</table:table-cell></table:table-row></table:table></office:body></office:document-content>";
    /* repeated columns; the cell's attributes (its value again) before
       its context: one finding a value */
    static const char *const o[] = {"{name}text:p|Eve|",
                                    "office:value-type\ndate\noffice:date-value\n1985-03-12|{dob}text:p|03/12/85|",
                                    "table:table|{}office:body|", NULL};
    expect_parts("application/xml", ods, sizeof(ods) - 1, o, __LINE__);
    static const char docx[] = "<w:document><w:body><w:tbl><w:tr><w:tc><w:p><w:r><w:t>passport</w:t></w:r></w:p></w:tc>"
                               "</w:tr><w:tr><w:tc><w:p><w:r><w:t>C01X00T47</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
                               "<w:p><w:r><w:t>after</w:t></w:r></w:p></w:body></w:document>";
    static const char *const w[] = {"{}w:p|passport|", "{passport}w:p|C01X00T47|", "{}w:p|after|", NULL};
    expect_parts("application/xml", docx, sizeof(docx) - 1, w, __LINE__);
    /* text in a table but in no cell, then the table's end: the text
       ends before the context does, at every split (fuzz_classifiers_xlsx) */
    static const char *const te[] = {"sheetData|tl|table|{}>b|", NULL};
    expect_parts("application/xml", "<worksheet><sheetData>tl</table>>b", 34, te, __LINE__);
    /* SpreadsheetML with a prefix (the Open XML SDK writes x:worksheet) */
    static const char xws[] = "<x:worksheet xmlns:x=\"m\"><x:sheetData><x:row><x:c><x:is><x:t>ssn</x:t></x:is></x:c>"
                              "</x:row><x:row><x:c><x:v>536221847</x:v></x:c></x:row></x:sheetData></x:worksheet>";
    static const char *const xw[] = {"{}ssn|", "{ssn}x:v|536221847|", NULL};
    expect_parts("application/xml", xws, sizeof(xws) - 1, xw, __LINE__);
}

/* ---- xlsx: cells shown through the shared strings and date formats ---- */

static const char xl_sheet[] =
    "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
    "<c r=\"C1\" t=\"s\"><v>2</v></c></row><row r=\"2\"><c r=\"A2\" t=\"s\"><v>3</v></c>"
    "<c r=\"B2\" s=\"1\"><v>31118</v></c><c r=\"C2\"><v>536221847</v></c></row>"
    "<row r=\"3\"><c r=\"C3\" s=\"2\" t=\"n\"><v>33179.5</v></c><c r=\"D3\" t=\"str\"><f>A1&amp;B1</f><v>x</v></c>"
    "</row></sheetData></worksheet>";
static const char xl_styles[] = "<styleSheet><numFmts><numFmt numFmtId=\"165\" formatCode=\"yyyy\\-mm\\-dd\"/>"
                                "</numFmts><cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"165\"/><xf numFmtId=\"14\"/>"
                                "</cellXfs></styleSheet>";
static const char xl_sst[] = "<sst count=\"5\"><si><t>name</t></si><si><t>date of birth</t></si>"
                             "<si><r><t>s</t></r><r><rPr><rFont val=\"Arial\"/></rPr><t>sn</t></r></si>"
                             "<si><t>Alice &amp; Bob</t></si><si><t>unused a@b.com</t></si></sst>";

static size_t xl_build(uint8_t *z, int sst_first, int bad_sst)
{
    static const char bad[] = "<sst><si>text outside a t</si></sst>";
    const char *sst = bad_sst ? bad : xl_sst;
    size_t n = 0;
    if (sst_first) {
        n = zip_add(z, n, "xl/sharedStrings.xml", sst, strlen(sst), 8, 0, 0);
        n = zip_add(z, n, "xl/styles.xml", xl_styles, sizeof(xl_styles) - 1, 0, 0, 0);
    }
    n = zip_add(z, n, "xl/worksheets/sheet1.xml", xl_sheet, sizeof(xl_sheet) - 1, 8, 0, 0);
    if (!sst_first) {
        n = zip_add(z, n, "xl/styles.xml", xl_styles, sizeof(xl_styles) - 1, 0, 0, 0);
        n = zip_add(z, n, "xl/sharedStrings.xml", sst, strlen(sst), 8, 0, 0);
    }
    return n;
}

/* A CSV table in a base64 run (a Bedrock Converse `csv` document): read as
 * CSV, each cell under its column's name; prose with commas is not. */
static void test_b64_csv(void)
{
    static const char table[] = "name,ssn\nAnn,536221847\nBo,536221848\nCy,1\n";
    static const char prose[] = "Hello, world. This is, as you see, prose.\nA line, here.\nThird line\nmore\n";
    char b64[512], json[700];
    size_t k = b64_enc((const uint8_t *)table, sizeof(table) - 1, b64);
    snprintf(json, sizeof(json), "{\"bytes\":\"%.*s\"}", (int)k, b64);
    static const char *const want[] = {"{name}Ann|", "{Ann ssn}536221847|", "{Bo ssn}536221848|", NULL};
    expect_parts("application/json", json, strlen(json), want, __LINE__);
    k = b64_enc((const uint8_t *)prose, sizeof(prose) - 1, b64);
    snprintf(json, sizeof(json), "{\"bytes\":\"%.*s\"}", (int)k, b64);
    char *got = run("application/json", NULL, json, strlen(json));
    CHECK(strstr(got, "Hello, world. This is, as you see, prose.\nA line, here.") != NULL); /* (one unit of text) */
    free(got);
    /* sniffed (no type): the same table, path csv; the prose as text */
    static const char *const sn[] = {"{name}Ann|", "{Ann ssn}536221847|", NULL};
    expect_parts(NULL, table, sizeof(table) - 1, sn, __LINE__);
    CHECK(strcmp(g_path, "csv") == 0);
    got = run(NULL, NULL, prose, sizeof(prose) - 1);
    CHECK(strstr(got, "Hello, world. This is, as you see, prose.") != NULL && strstr(got, "{") == NULL);
    free(got);
    CHECK(dec_looks_csv((const uint8_t *)table, sizeof(table) - 1));
    CHECK(!dec_looks_csv((const uint8_t *)prose, sizeof(prose) - 1));
    CHECK(!dec_looks_csv((const uint8_t *)"a,b\n1,2\n", 8)); /* (two lines: too few to tell) */
}

static void test_xlsx(void)
{
    const char *XL = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    static uint8_t z[1 << 16];
    /* the header's shared strings name the columns; a number in a date
       format (a custom one, built-in 14) is a date; a formula's text is a
       unit apart from its value; the strings no cell showed, and the
       strings part's attribute values, come last */
    static const char *const cells[] = {
        "r\nA1\nt\ns|{}v|name|",
        "r\nB1\nt\ns|{name}v|date of birth|",
        "r\nC1\nt\ns|{date of birth}v|ssn|",
        "r\nA2\nt\ns|{name}v|Alice & Bob|",
        "r\nB2\ns\n1|{Alice & Bob date of birth}v|1985-03-12|",
        "r\nC2|{1985-03-12 ssn}v|536221847|",
        "r\nC3\ns\n2\nt\nn|{ssn}v|1990-11-02|",
        "r\nD3\nt\nstr|{1990-11-02}A1&B1|",
        "v|x|",
        "{}worksheet|{xl/sharedStrings.xml}unused a@b.com|Arial|",
        NULL};
    /* as Excel and LibreOffice write it: the worksheet first (held), the
       styles, the shared strings */
    size_t n = xl_build(z, 0, 0);
    expect_parts(XL, z, n, cells, __LINE__);
    /* the shared strings and styles first: the worksheet is read as it
       comes, right after its name */
    n = xl_build(z, 1, 0);
    expect_parts(XL, z, n, cells, __LINE__);
    char *got = run(XL, NULL, z, n);
    CHECK(strncmp(got, "xl/sharedStrings.xml|{xl/sharedStrings.xml}xl/styles.xml|", 57) == 0);
    CHECK(strstr(got, "xl/worksheets/sheet1.xml|{xl/worksheets/sheet1.xml}worksheet|") != NULL);
    free(got);
    /* a shared strings part the reader does not know: read as XML; the
       cells show the indices, as before */
    static const char *const raw[] = {"{xl/sharedStrings.xml}sst|si|text outside a t|", "r\nA1\nt\ns|{}v|0|",
                                      "r\nB1\nt\ns|{0}v|1|", "r\nB2\ns\n1|{3 1}v|1985-03-12|", NULL};
    n = xl_build(z, 0, 1);
    expect_parts(XL, z, n, raw, __LINE__);
    /* cut in the shared strings: what came of them is read, and the held
       worksheet */
    static const char *const cut[] = {"{xl/sharedStrings.xml}sst|count", "r\nA1\nt\ns|{}v|0|", "!truncated zip archive!",
                                      NULL};
    n = xl_build(z, 0, 0);
    expect_parts(XL, z, n - 40, cut, __LINE__);
    /* a bomb: many cells that show one long string */
    static char sheet[65536], sst[4200];
    size_t sl = (size_t)snprintf(sheet, sizeof(sheet), "<worksheet><sheetData><row r=\"1\">");
    for (int k = 0; k < 8; k++)
        sl += (size_t)snprintf(sheet + sl, sizeof(sheet) - sl, "<c t=\"s\"><v>0</v></c>");
    sl += (size_t)snprintf(sheet + sl, sizeof(sheet) - sl, "</row></sheetData></worksheet>");
    memcpy(sst, "<sst><si><t>", 12);
    memset(sst + 12, 'a', 1000);
    memcpy(sst + 1012, "</t></si></sst>", 16);
    n = zip_add(z, 0, "xl/worksheets/sheet1.xml", sheet, sl, 8, 0, 0);
    n = zip_add(z, n, "xl/sharedStrings.xml", sst, strlen(sst), 8, 0, 0);
    g_lim.max_decoded = 4096;
    got = run(XL, NULL, z, n);
    g_lim.max_decoded = 0;
    CHECK(strstr(got, "!xlsx cells' text over the decoded limit!") != NULL);
    free(got);
}

static void test_zip(void)
{
    const char *Z = "application/zip";
    static uint8_t z[1 << 17], inner[4096];
    size_t n = 0;
    /* entries of every kind, then the end record (scanned raw) */
    n = zip_add(z, n, "a.txt", "hello a@b.com", 13, 0, 0, 0);
    n = zip_add(z, n, "word/document.xml", "<k>AKIA</k>", 11, 8, 0, 0);
    n = zip_add(z, n, "word/", "", 0, 0, 0, 0);
    n = zip_add(z, n, "x.json", "{\"k\":\"v\"}", 9, 8, 0, 2);
    n = zip_add(z, n, "media/i.png", "\x89PNG....", 8, 0, 0, 0);
    n = zip_add(z, n, "notes.md", "mail c@d.io", 11, 8, 0, 1);
    static const char tail[] = "PK\x05\x06 comment: e@f.io";
    memcpy(z + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    expect_bin(Z, NULL, z, n,
               "a.txt|{a.txt}hello a@b.com|word/document.xml|{word/document.xml}k|{k}AKIA|{}k|"
               "word/|{word/}x.json|{x.json}k|{k}v|media/i.png|{media/i.png}!zip entry of type image/png!"
               "notes.md|{notes.md}mail c@d.io|PK\x05\x06 comment: e@f.io|",
               "zip", __LINE__);
    /* Office types and sniffing ("PK\3\4") take the same way */
    expect_bin("application/vnd.openxmlformats-officedocument.wordprocessingml.document", NULL, z, 58,
               "a.txt|{a.txt}hello a@b.com|!truncated zip archive!", "zip", __LINE__);
    expect_bin(NULL, NULL, z, 48, "a.txt|{a.txt}hello a@b.com|", "zip", __LINE__);
    /* a zip in a zip */
    size_t in = zip_add(inner, 0, "x.txt", "hi", 2, 8, 0, 0);
    n = zip_add(z, 0, "in.docx", inner, in, 8, 0, 0);
    expect_bin(Z, NULL, z, n, "in.docx|{in.docx}x.txt|{x.txt}hi|", "zip", __LINE__);
    /* an extra field is data too (a value can hide there) */
    n = zip_add(z, 0, "e.txt", "x", 1, 0, 0, 0);
    memmove(z + 30 + 5 + 6, z + 30 + 5, 1);
    memcpy(z + 30 + 5, "\xfe\xca" "AKIA", 6);
    z[28] = 6;
    expect_bin(Z, NULL, z, n + 6, "e.txt|{e.txt}\xfe\xca" "AKIA|x|", "zip", __LINE__);
    /* refused: encryption, other methods, a stored entry of unknown size,
       no zip where a header belongs, a cut archive */
    n = zip_add(z, 0, "s.txt", "secret", 6, 0, 1, 0);
    expect_bin(Z, NULL, z, n, "!encrypted zip entry!", NULL, __LINE__);
    n = zip_add(z, 0, "s.txt", "secret", 6, 12, 0, 0);
    expect_bin(Z, NULL, z, n, "!zip entry compressed with method 12!", NULL, __LINE__);
    /* a stored entry of unknown size (streaming writers: Go, Python on a
       pipe) ends at the descriptor whose signature, CRC and sizes match;
       signatures in the data with other fields are data */
    {
        static const char data[] = "x PK\x07\x08" "abcdefghijkl PK\x07\x08" " mail c@d.io PK";
        size_t dl = sizeof(data) - 1;
        n = zip_add(z, 0, "s.txt", data, dl, 0, 0, 2);
        uLong crc = crc32(0L, (const Bytef *)data, (uInt)dl);
        for (int k = 0; k < 4; k++)
            z[30 + 5 + dl + 4 + k] = (uint8_t)(crc >> (8 * k)); /* (zip_add writes no CRC) */
        n = zip_add(z, n, "t.txt", "after", 5, 0, 0, 0);
        char want[256];
        snprintf(want, sizeof(want), "s.txt|{s.txt}%s|t.txt|{t.txt}after|", data);
        expect_bin(Z, NULL, z, n, want, NULL, __LINE__);
        /* a descriptor whose CRC does not match is content too */
        z[30 + 5 + dl + 4] ^= 1;
        char *got = run(Z, NULL, z, n);
        CHECK(strncmp(got, want, 13 + dl) == 0 && got[13 + dl] == 'P'); /* (no boundary: goes on) */
        free(got);
        /* cut before any descriptor: the bytes held for one go on too */
        snprintf(want, sizeof(want), "s.txt|{s.txt}%s|!truncated zip archive!", data);
        expect_bin(Z, NULL, z, 30 + 5 + dl, want, NULL, __LINE__);
    }
    n = zip_add(z, 0, "s.txt", "secret", 6, 0, 0, 0);
    memcpy(z + n, "junk", 4);
    expect_bin(Z, NULL, z, n + 4, "s.txt|{s.txt}secret|!malformed zip archive at byte 41!", NULL, __LINE__);
    n = zip_add(z, 0, "s.txt", "a long secret text", 18, 8, 0, 0);
    expect_bin(Z, NULL, z, n - 3, "s.txt|{s.txt}a long secret te|!truncated zip archive!", NULL, __LINE__);
    expect_bin(Z, NULL, z, 33, "s.t|!truncated zip archive!", NULL, __LINE__);
    expect_bin(Z, NULL, "", 0, "", NULL, __LINE__);
    /* a multipart part of an Office type, and one without a type named
       .docx (sniffed) */
    {
        static uint8_t mp[2048];
        size_t zn = zip_add(inner, 0, "x.txt", "hi", 2, 8, 0, 0);
        for (int typed = 0; typed < 2; typed++) {
            size_t k = (size_t)sprintf(
                (char *)mp, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"r.docx\"\r\n%s\r\n",
                typed ? "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n"
                      : "");
            memcpy(mp + k, inner, zn);
            k += zn;
            k += (size_t)sprintf((char *)mp + k, "\r\n--XyZ--\r\n");
            expect_bin("multipart/form-data; boundary=XyZ", NULL, mp, k, "f|{f}r.docx|x.txt|{x.txt}hi||",
                       "multipart>form", __LINE__);
        }
    }
    /* a zip in base64 inside JSON (a Bedrock Converse `document` block):
       read through the zip decoder (not reported "base64 zip archive"),
       short and long runs */
    {
        static char js[1 << 17], want[1 << 17];
        for (int big = 0; big < 2; big++) {
            static char text[12000];
            memset(text, 0, sizeof(text));
            if (big) /* ~11 KiB of base64: past the hold of 8 KiB */
                for (size_t i = 0; i < 8000; i++)
                    text[i] = (char)("abcdefghij klm"[(i * 7 + i / 13) % 14]);
            strcat(text, " mail bob@corp-mail.de");
            n = zip_add(z, 0, "a.txt", text, strlen(text), big ? 0 : 8, 0, 0);
            size_t k = (size_t)sprintf(js, "{\"b\":\"");
            size_t b64 = k;
            k += b64_enc(z, n, js + k);
            b64 = k - b64;
            sprintf(js + k, "\"}");
            char *got = run("application/json", NULL, js, strlen(js));
            snprintf(want, sizeof(want), "|a.txt|{a.txt}%s|", text);
            if (!strstr(got, want) || strstr(got, "base64 zip"))
                fprintf(stderr, "zip in base64 (%zu characters): got [%.300s]\n", b64, got);
            CHECK(strstr(got, want) != NULL && strstr(got, "base64 zip") == NULL);
            CHECK(big ? b64 > 8192 : b64 < 8192);
            expect_bin("application/json", NULL, js, strlen(js), got, NULL, __LINE__);
            free(got);
            /* the chain's limits hold for it (a 2,000-byte limit, 8 KB
               inflated), not the defaults */
            g_lim.max_decoded = 2000;
            n = zip_add(z, 0, "a.txt", text, strlen(text), 8, 0, 0);
            k = (size_t)sprintf(js, "{\"b\":\"");
            k += b64_enc(z, n, js + k);
            sprintf(js + k, "\"}");
            got = run("application/json", NULL, js, strlen(js));
            CHECK(big == (strstr(got, "!B:decoded size over 2000 bytes (zip)!") != NULL));
            free(got);
            g_lim.max_decoded = 0;
        }
    }
    /* a bomb: 2 MiB of zeros in a few KiB */
    {
        size_t big = 2u << 20;
        uint8_t *zeros = calloc(1, big);
        static uint8_t packed[1 << 16];
        size_t cn = zlib_make(zeros, big, packed, sizeof(packed), -15);
        memset(z, 0, 30);
        memcpy(z, "PK\x03\x04", 4);
        z[8] = 8;
        z[26] = 5;
        for (int k = 0; k < 4; k++)
            z[18 + k] = (uint8_t)(cn >> (8 * k));
        memcpy(z + 30, "b.bin", 5);
        memcpy(z + 35, packed, cn);
        char *got = run(Z, NULL, z, 35 + cn);
        if (!strstr(got, "!B:decompression ratio over 100 (zip)!"))
            fprintf(stderr, "bomb: got [%s]\n", got);
        CHECK(strstr(got, "!B:decompression ratio over 100 (zip)!") != NULL);
        free(got);
        free(zeros);
    }
}

/* ---- tar ---- */

/* Appends a ustar header (type `type`, `size` in its field unless size_field
 * is given) and n bytes of content padded to 512 to t. */
static size_t tar_link(uint8_t *t, size_t at, const char *name, char type, const void *data, size_t n,
                       const char *size_field, const char *link)
{
    uint8_t *h = t + at;
    memset(h, 0, 512);
    memcpy(h, name, strlen(name));
    if (link)
        memcpy(h + 157, link, strlen(link));
    memcpy(h + 100, "0000644", 7);
    memcpy(h + 108, "0000000", 7);
    memcpy(h + 116, "0000000", 7);
    if (size_field)
        memcpy(h + 124, size_field, 12);
    else
        snprintf((char *)h + 124, 12, "%011o", (unsigned)n);
    memcpy(h + 136, "00000000000", 11);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    unsigned sum = 0;
    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    at += 512;
    memcpy(t + at, data, n);
    memset(t + at + n, 0, (512 - n % 512) % 512);
    return at + n + (512 - n % 512) % 512;
}

static size_t tar_put(uint8_t *t, size_t at, const char *name, char type, const void *data, size_t n,
                      const char *size_field)
{
    return tar_link(t, at, name, type, data, n, size_field, NULL);
}

/* One pax record, "<len> key=value\n", into out; returns its length. */
static size_t pax_rec(char *out, const char *key, const char *val)
{
    size_t body = strlen(key) + strlen(val) + 3, len = body + 1;
    while ((size_t)snprintf(NULL, 0, "%zu", len) + body != len)
        len++;
    return (size_t)sprintf(out, "%zu %s=%s\n", len, key, val);
}

static void test_tar(void)
{
    const char *T = "application/x-tar";
    static uint8_t t[1 << 16], in[8192];
    static char pax[2048], want[4096];
    size_t n = 0;
    /* entries of every kind, the two zero blocks, then bytes after them */
    n = tar_put(t, n, "a.txt", '0', "hello a@b.com", 13, NULL);
    n = tar_put(t, n, "docs/", '5', "", 0, NULL);
    n = tar_put(t, n, "x.json", '0', "{\"k\":\"v\"}", 9, NULL);
    n = tar_link(t, n, "ln", '2', "", 0, NULL, "a.txt"); /* (a link name is data) */
    n = tar_put(t, n, "media/i.png", '0', "\x89PNG....", 8, NULL);
    memset(t + n, 0, 1024);
    n += 1024;
    memcpy(t + n, "tail c@d.io\0\0more", 17);
    n += 17;
    expect_bin(T, NULL, t, n,
               "a.txt|{a.txt}hello a@b.com|docs/|{docs/}x.json|{x.json}k|{k}v|ln|a.txt|{ln}"
               "media/i.png|{media/i.png}!tar entry of type image/png!tail c@d.io|more|",
               "tar", __LINE__);
    /* sniffed by its magic; gzip-compressed, declared or named .tgz */
    expect_bin(NULL, NULL, t, 1024, "a.txt|{a.txt}hello a@b.com|", "tar", __LINE__);
    {
        static uint8_t gz[1 << 16];
        size_t gn = zlib_make(t, 1024, gz, sizeof(gz), 31);
        expect_bin("application/gzip", NULL, gz, gn, "a.txt|{a.txt}hello a@b.com|", "gzip>tar", __LINE__);
        expect_bin(NULL, NULL, gz, gn, "a.txt|{a.txt}hello a@b.com|", "gzip>tar", __LINE__);
        /* a .tar.gz inside a zip, and a zip inside a tar */
        static uint8_t z[1 << 16];
        size_t zn = zip_add(z, 0, "src/sourcedir.tar.gz", gz, gn, 0, 0, 0);
        expect_bin("application/zip", NULL, z, zn,
                   "src/sourcedir.tar.gz|{src/sourcedir.tar.gz}a.txt|{a.txt}hello a@b.com|", "zip", __LINE__);
        zn = zip_add(z, 0, "i.txt", "in zip e@f.io", 13, 8, 0, 0);
        n = tar_put(t, 0, "w.docx", '0', z, zn, NULL);
        expect_bin(T, NULL, t, n, "w.docx|{w.docx}i.txt|{i.txt}in zip e@f.io|", "tar", __LINE__);
    }
    /* padding that is not zero is scanned (extractors skip it) */
    n = tar_put(t, 0, "a.txt", '0', "hi", 2, NULL);
    memcpy(t + 512 + 100, "pad g@h.io", 10);
    n = tar_put(t, n, "b.txt", '0', "yo", 2, NULL);
    expect_bin(T, NULL, t, n, "a.txt|{a.txt}hi|pad g@h.io|b.txt|{b.txt}yo|", "tar", __LINE__);
    /* GNU long names; pax: path and size for the next entry, every value data */
    {
        char longname[300];
        memset(longname, 'd', 250);
        strcpy(longname + 250, "/notes.txt");
        n = tar_put(t, 0, "././@LongLink", 'L', longname, strlen(longname) + 1, NULL);
        n = tar_put(t, n, "dddd", '0', "{\"x\":1}", 7, NULL); /* .txt by its long name: text */
        size_t pl = pax_rec(pax, "path", "deep/dir/records.json");
        pl += pax_rec(pax + pl, "comment", "owner jo@k.io");
        pl += pax_rec(pax + pl, "size", "9");
        n = tar_put(t, n, "PaxHeaders/records", 'x', pax, pl, NULL);
        n = tar_put(t, n, "records", '0', "{\"k\":\"v\"}", 9, "00000000777"); /* (the pax size wins) */
        n = tar_put(t, n, "z.txt", '0', "end", 3, NULL);
        snprintf(want, sizeof(want),
                 "././@LongLink|%s|dddd|{%.256s}x|{x}1|PaxHeaders/records|{path}deep/dir/records.json|"
                 "{comment}owner jo@k.io|{size}9|records|{deep/dir/records.json}k|{k}v|z.txt|{z.txt}end|",
                 longname, longname);
        expect_bin(T, NULL, t, n, want, "tar", __LINE__);
        /* a pax size is the next entry's, not a long name's between them */
        pl = pax_rec(pax, "size", "9");
        n = tar_put(t, 0, "PaxHeaders/q", 'x', pax, pl, NULL);
        n = tar_put(t, n, "././@LongLink", 'L', "q.json", 7, NULL);
        n = tar_put(t, n, "q", '0', "{\"k\":\"v\"}", 9, "00000000777");
        n = tar_put(t, n, "z.txt", '0', "end", 3, NULL);
        expect_bin(T, NULL, t, n,
                   "PaxHeaders/q|{size}9|././@LongLink|q.json|q|{q.json}k|{k}v|z.txt|{z.txt}end|", "tar",
                   __LINE__);
    }
    /* sizes in GNU's base-256; an archive without its zero blocks */
    {
        char sf[12] = {(char)0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
        n = tar_put(t, 0, "b.txt", '0', "bytes", 5, sf);
        expect_bin(T, NULL, t, n, "b.txt|{b.txt}bytes|", "tar", __LINE__);
    }
    /* refused: a bad checksum or size, sparse and multi-volume entries,
       malformed pax records, a cut archive */
    n = tar_put(t, 0, "a.txt", '0', "hi", 2, NULL);
    n = tar_put(t, n, "b.txt", '0', "yo", 2, NULL);
    t[1024 + 3] ^= 1;
    expect_bin(T, NULL, t, n, "a.txt|{a.txt}hi|!malformed tar archive at byte 1024!", NULL, __LINE__);
    n = tar_put(t, 0, "a.txt", '0', "hi", 2, "00000000x02");
    expect_bin(T, NULL, t, n, "!malformed tar archive at byte 0!", NULL, __LINE__);
    n = tar_put(t, 0, "s.bin", 'S', "hi", 2, NULL);
    expect_bin(T, NULL, t, n, "s.bin|!sparse tar entry!", NULL, __LINE__);
    n = tar_put(t, 0, "m.bin", 'M', "hi", 2, NULL);
    expect_bin(T, NULL, t, n, "m.bin|!multi-volume tar entry!", NULL, __LINE__);
    n = tar_put(t, 0, "p", 'x', "12 path=a.tx\n", 13, NULL);
    expect_bin(T, NULL, t, n, "p|{path}a.t!malformed pax record!", NULL, __LINE__);
    n = tar_put(t, 0, "p", 'x', "9 path=\n", 8, NULL); /* (one byte short) */
    expect_bin(T, NULL, t, n, "p|{path}\n!malformed pax record!", NULL, __LINE__);
    n = tar_put(t, 0, "p", 'x', "7 path=\n", 8, NULL); /* (no room for its line feed) */
    expect_bin(T, NULL, t, n, "p|!malformed pax record!", NULL, __LINE__);
    {
        size_t pl = pax_rec(pax, "GNU.sparse.major", "1");
        n = tar_put(t, 0, "p", 'x', pax, pl, NULL);
        expect_bin(T, NULL, t, n, "p|!sparse tar entry!", NULL, __LINE__);
        pl = pax_rec(pax, "size", "1x");
        n = tar_put(t, 0, "p", 'x', pax, pl, NULL);
        expect_bin(T, NULL, t, n, "p|{size}1x|!malformed pax size!", NULL, __LINE__);
    }
    n = tar_put(t, 0, "a.txt", '0', "a long secret text", 18, NULL);
    expect_bin(T, NULL, t, 512 + 10, "a.txt|{a.txt}a long sec|!truncated tar archive!", NULL, __LINE__);
    expect_bin(T, NULL, t, 300, "!truncated tar archive!", NULL, __LINE__);
    expect_bin(T, NULL, "", 0, "", NULL, __LINE__);
    /* a declared tar that is not one (and a sniffed one: no magic, no tar) */
    memset(in, 'q', 600);
    expect_bin(T, NULL, in, 600, "!malformed tar archive at byte 0!", NULL, __LINE__);
}

/* ---- protobuf ---- */

static size_t pb_put_varint(uint8_t *o, uint64_t v)
{
    size_t k = 0;
    do {
        o[k] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            o[k] |= 0x80;
        k++;
    } while (v);
    return k;
}

/* Appends field `f` with wire type 2 and content p[0..n) at o; returns the length. */
static size_t pb_len_field(uint8_t *o, unsigned f, const void *p, size_t n)
{
    size_t k = pb_put_varint(o, (uint64_t)f << 3 | 2);
    k += pb_put_varint(o + k, n);
    memmove(o + k, p, n);
    return k + n;
}

static size_t pb_str(uint8_t *o, unsigned f, const char *s)
{
    return pb_len_field(o, f, s, strlen(s));
}

/* ---- CSV ---- */

static void test_csv(void)
{
    const char *C = "text/csv";
    /* cells under their column; quotes, doubled quotes, a delimiter and a
       line end in a quoted cell; CRLF; an empty cell; a row longer than
       the header (the cell before as context); empty lines. A cell's
       context is the row's previous cell (its first 24 bytes: a
       key/value table), then its column's name. The structure (enclosing
       quotes, delimiters, line ends) comes between the cells as units of
       its own: every byte is fed on (a plain file's offsets) */
    const char *a = "name,ssn,\"dob\"\r\n"
                    "\"Roe, Jane\",536221847,1985-03-12\r\n"
                    "\r\n"
                    "\"say \"\"hi\"\"\",,\"a\nb\",extra\n"
                    "last,1";
    expect_bin(C, NULL, a, strlen(a),
               "name|,|{name}ssn|,|\"|{ssn}dob|\"\r|\n|\"|{name}Roe, Jane|\",|{Roe, Jane ssn}536221847|,|{536221847 dob}1985-03-12|\r|\n|\r|\n|"
               "\"|{name}say \"\"hi\"\"|\",|,|\"|{dob}a\nb|\",|{a\nb}extra|\n|{name}last|,|{last ssn}1|",
               "csv", __LINE__);
    /* a title row (one cell named, or none): the header is the row after
       it, the title the context of that row's cell under it; a row of
       values after a title is no header (the title names its column) */
    const char *ti = "Staff 2026,,\nname,ssn\nAl,1\n";
    expect_bin(C, NULL, ti, strlen(ti),
               "Staff 2026|,|,|\n|{Staff 2026}name|,|{name}ssn|\n|{name}Al|,|{Al ssn}1|\n|", "csv", __LINE__);
    const char *tv = ",Staff,\nAl,536221847\nBo,2\n";
    expect_bin(C, NULL, tv, strlen(tv), ",|Staff|,|\n|Al|,|{Al Staff}536221847|\n|Bo|,|{Bo Staff}2|\n|", "csv", __LINE__);
    /* the delimiter the header has most of: ';' (a European export), tab
       (TSV), '|'; none: one column a line */
    const char *b = "Name;IBAN\nJane;DE89 3704 0044 0532 0130 00\n";
    expect_bin(C, NULL, b, strlen(b), "Name|;|{Name}IBAN|\n|{Name}Jane|;|{Jane IBAN}DE89 3704 0044 0532 0130 00|\n|", "csv", __LINE__);
    const char *t = "id\tphone\n1\t+49 30 1234567\n";
    expect_bin("text/tab-separated-values", NULL, t, strlen(t), "id|\t|{id}phone|\n|{id}1|\t|{1 phone}+49 30 1234567|\n|", "csv",
               __LINE__);
    const char *v = "a|b\n1|2\n";
    expect_bin(C, NULL, v, strlen(v), "a|||{a}b|\n|{a}1|||{1 b}2|\n|", "csv", __LINE__);
    const char *one = "notes\nplain words\n";
    expect_bin(C, NULL, one, strlen(one), "notes|\n|{notes}plain words|\n|", "csv", __LINE__);
    /* a header cell longer than a key: its first 63 bytes name the column */
    static char longh[512];
    memset(longh, 'h', 100);
    memcpy(longh + 100, ",x\n1,2\n", 7);
    static char want[512];
    snprintf(want, sizeof(want), "%.100s|,|{%.24s}x|\n|{%.63s}1|,|{1 x}2|\n|", longh, longh, longh);
    expect_bin(C, NULL, longh, strlen(longh), want, "csv", __LINE__);
    /* a first line of no line end past 64 KiB: decided there, the same
       for every split */
    static char big[70000];
    memset(big, 'w', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[100] = ',';
    char *got = run(C, NULL, big, strlen(big));
    CHECK(strlen(got) == strlen(big) + 3 + 26 && got[100] == '|' && got[101] == ',' && got[103] == '{' &&
          got[strlen(got) - 1] == '|'); /* (the second cell under the first's 24 bytes) */
    free(got);
    /* the text decoder's checks come first: a zip in a CSV is refused */
    expect_bin(C, NULL, "PK\x03\x04rest", 8, "!text body holds zip archive!", "", __LINE__);
}

/* ---- OLE2 compound files (Word and Excel 97-2003) ---- */

/* A directory entry of cfb_build: entries[0] is the root; child, left and
 * right are entry indices (-1: none). */
struct cfb_ent {
    const char *name;
    int type; /* 5 root, 1 storage, 2 stream */
    int child, left, right;
    const void *p;
    size_t n;
};

static void cfb_put16(uint8_t *o, unsigned v)
{
    o[0] = (uint8_t)v;
    o[1] = (uint8_t)(v >> 8);
}

static void cfb_put32(uint8_t *o, uint32_t v)
{
    cfb_put16(o, v & 0xffff);
    cfb_put16(o + 2, v >> 16);
}

/* A free mini sector's text that cfb_build puts after the mini streams
 * (NULL: none). */
static const char *cfb_stale_mini;

/* A version 3 compound file (512-byte sectors, one FAT sector: 64 KiB at
 * most) into o (zeroed, 70 KiB): streams under 4,096 bytes in the mini
 * stream when mini, else all in sectors of their own (cutoff 0). */
static size_t cfb_build(uint8_t *o, const struct cfb_ent *e, size_t ne, int mini)
{
    uint32_t fat[128];
    memset(fat, 0xff, sizeof(fat));
    size_t sec = 0;
#define CFB_SEC(k) (o + 512 * ((k) + 1))
    fat[sec++] = 0xfffffffdu; /* the FAT's own sector */
    size_t ndir = (ne + 3) / 4, dir0 = sec;
    for (size_t k = 0; k < ndir; k++, sec++)
        fat[sec] = k + 1 < ndir ? (uint32_t)sec + 1 : 0xfffffffeu;
    size_t mfat = sec++;
    fat[mfat] = 0xfffffffeu;
    uint8_t ms[8192];
    size_t msn = 0;
    uint32_t starts[16] = {0}, mfat_n = 0;
    for (size_t i = 1; i < ne; i++) {
        if (e[i].type != 2)
            continue;
        if (mini && e[i].n < 4096) {
            starts[i] = (uint32_t)(msn / 64);
            size_t k = (e[i].n + 63) / 64;
            for (size_t j = 0; j < k; j++)
                cfb_put32(CFB_SEC(mfat) + 4 * (msn / 64 + j), j + 1 < k ? (uint32_t)(msn / 64 + j + 1) : 0xfffffffeu);
            memcpy(ms + msn, e[i].p, e[i].n);
            msn += k * 64;
            mfat_n = (uint32_t)(msn / 64);
            continue;
        }
        starts[i] = (uint32_t)sec;
        size_t k = (e[i].n + 511) / 512;
        for (size_t j = 0; j < k; j++, sec++) {
            fat[sec] = j + 1 < k ? (uint32_t)sec + 1 : 0xfffffffeu;
            memcpy(CFB_SEC(sec), (const uint8_t *)e[i].p + 512 * j, e[i].n - 512 * j < 512 ? e[i].n - 512 * j : 512);
        }
    }
    if (mini && cfb_stale_mini) { /* (a free mini sector: no chain) */
        memset(ms + msn, 0, 64);
        memcpy(ms + msn, cfb_stale_mini, strlen(cfb_stale_mini));
        msn += 64;
    }
    for (size_t j = mfat_n; j < 128; j++)
        cfb_put32(CFB_SEC(mfat) + 4 * j, 0xffffffffu);
    uint32_t ms_start = 0xfffffffeu;
    if (msn) {
        ms_start = (uint32_t)sec;
        for (size_t j = 0; j < (msn + 511) / 512; j++, sec++) {
            fat[sec] = j + 1 < (msn + 511) / 512 ? (uint32_t)sec + 1 : 0xfffffffeu;
            memcpy(CFB_SEC(sec), ms + 512 * j, msn - 512 * j < 512 ? msn - 512 * j : 512);
        }
    }
    for (size_t j = 0; j < 128; j++)
        cfb_put32(CFB_SEC(0) + 4 * j, fat[j]);
    for (size_t i = 0; i < ne; i++) {
        uint8_t *d = CFB_SEC(dir0) + 128 * i;
        size_t k = strlen(e[i].name);
        for (size_t j = 0; j < k; j++)
            cfb_put16(d + 2 * j, (uint8_t)e[i].name[j]);
        cfb_put16(d + 64, (unsigned)(2 * (k + 1)));
        d[66] = (uint8_t)e[i].type;
        d[67] = 1;
        cfb_put32(d + 68, e[i].left < 0 ? 0xffffffffu : (uint32_t)e[i].left);
        cfb_put32(d + 72, e[i].right < 0 ? 0xffffffffu : (uint32_t)e[i].right);
        cfb_put32(d + 76, e[i].child < 0 ? 0xffffffffu : (uint32_t)e[i].child);
        cfb_put32(d + 116, i == 0 ? ms_start : e[i].type == 2 ? starts[i] : 0);
        cfb_put32(d + 120, i == 0 ? (uint32_t)msn : (uint32_t)e[i].n);
    }
    memcpy(o, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
    cfb_put16(o + 24, 0x3e);
    cfb_put16(o + 26, 3);
    cfb_put16(o + 28, 0xfffe);
    cfb_put16(o + 30, 9);
    cfb_put16(o + 32, 6);
    cfb_put32(o + 44, 1);
    cfb_put32(o + 48, (uint32_t)dir0);
    cfb_put32(o + 56, mini ? 4096 : 0);
    cfb_put32(o + 60, (uint32_t)mfat);
    cfb_put32(o + 64, 1);
    cfb_put32(o + 68, 0xfffffffeu);
    memset(o + 76, 0xff, 4 * 109);
    cfb_put32(o + 76, 0);
#undef CFB_SEC
    return 512 * (sec + 1);
}

/* A Word 97 document stream (its text at 1,024: an 8-bit piece, then a
 * UTF-16 one) and its table stream (the piece table). */
static void word_build(uint8_t *doc, size_t *dn, uint8_t *tbl, size_t *tn, unsigned flags)
{
    memset(doc, 0, 2048);
    cfb_put16(doc, 0xa5ec);
    cfb_put16(doc + 2, 0xc1);
    cfb_put16(doc + 10, flags);
    cfb_put16(doc + 32, 14);
    cfb_put16(doc + 62, 22);
    cfb_put16(doc + 152, 93);
    const char *a = "Name: Jane\x1fRoe, SSN\x13 536-22-1847\x15\r\x07"; /* (an optional hyphen, a field, a cell) */
    size_t an = strlen(a);
    memcpy(doc + 1024, a, an);
    const char *b = "mail a\x40z.de \xe6\x97\xa5\r"; /* (U+65E5 in UTF-16) */
    uint16_t u[] = {'m', 'a', 'i', 'l', ' ', 'a', '@', 'z', '.', 'd', 'e', ' ', 0x65e5, 0xd83d, 0xde00, '\r'};
    (void)b;
    for (size_t i = 0; i < SGW_ARRAY_LEN(u); i++)
        cfb_put16(doc + 1200 + 2 * i, u[i]);
    *dn = 2048;
    /* the Clx: a Prc, then the piece table of two pieces */
    size_t n = 0;
    tbl[n++] = 1;
    cfb_put16(tbl + n, 2);
    n += 4;
    tbl[n++] = 2;
    cfb_put32(tbl + n, 4 * 3 + 8 * 2);
    n += 4;
    cfb_put32(tbl + n, 0);
    cfb_put32(tbl + n + 4, (uint32_t)an);
    cfb_put32(tbl + n + 8, (uint32_t)(an + SGW_ARRAY_LEN(u)));
    n += 12;
    memset(tbl + n, 0, 16);
    cfb_put32(tbl + n + 2, (1024 * 2) | 0x40000000u);
    cfb_put32(tbl + n + 8 + 2, 1200);
    n += 16;
    cfb_put32(doc + 154 + 33 * 8, 0);
    cfb_put32(doc + 154 + 33 * 8 + 4, (uint32_t)n);
    *tn = n;
}

static size_t biff(uint8_t *o, unsigned id, const void *p, size_t n)
{
    cfb_put16(o, id);
    cfb_put16(o + 2, (unsigned)n);
    memcpy(o + 4, p, n);
    return 4 + n;
}

static void test_ole(void)
{
    static uint8_t f[70000], doc[2048], tbl[256], wb[2048];
    const char *W = "application/msword";
    size_t dn, tn, n;
    const char *summary = "\x05\x00\x00\x00" "Author Jane Roe\x00\x01\x02" "Title Q3 audit\x00";
    word_build(doc, &dn, tbl, &tn, 0x0200);
    /* root → WordDocument, 1Table, \5SummaryInformation (a right-leaning
       chain), ObjectPool → _1 → \1Ole10Native (a text file), Data (a PNG) */
    uint8_t pkg[128];
    size_t pn = 0;
    const char *note = "secret note 078-05-1120";
    memset(pkg, 0, sizeof(pkg));
    pn = 4;
    cfb_put16(pkg + pn, 2);
    pn += 2;
    memcpy(pkg + pn, "note.txt\0C:\\note.txt\0", 21);
    pn += 21;
    cfb_put32(pkg + pn, 0x00030000);
    cfb_put32(pkg + pn + 4, 4);
    memcpy(pkg + pn + 8, "t.x\0", 4);
    pn += 12;
    cfb_put32(pkg + pn, (uint32_t)strlen(note));
    memcpy(pkg + pn + 4, note, strlen(note));
    pn += 4 + strlen(note);
    cfb_put32(pkg, (uint32_t)(pn - 4));
    const uint8_t png[16] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    struct cfb_ent e[] = {
        {"Root Entry", 5, 1, -1, -1, NULL, 0},
        {"WordDocument", 2, -1, -1, 2, doc, dn},
        {"1Table", 2, -1, -1, 3, tbl, tn},
        {"\x05SummaryInformation", 2, -1, -1, 4, summary, 36},
        {"ObjectPool", 1, 5, -1, -1, NULL, 0},
        {"_1", 1, 6, -1, -1, NULL, 0},
        {"\x01Ole10Native", 2, -1, -1, -1, pkg, pn},
    };
    const char *want = "Name: JaneRoe, SSN  536-22-1847 \n\t|mail a@z.de \xe6\x97\xa5\xf0\x9f\x98\x80\n|"
                       "Author Jane Roe|Title Q3 audit|note.txt|C:\\note.txt|secret note 078-05-1120|";
    (void)want;
    char want2[512];
    /* (the two pieces are one unit: the text of the document) */
    const char *text = "Name: JaneRoe, SSN  536-22-1847 \n\tmail a@z.de \xe6\x97\xa5\xf0\x9f\x98\x80\n|";
    snprintf(want2, sizeof(want2), "%sAuthor Jane Roe|Title Q3 audit|note.txt|C:\\note.txt|secret note 078-05-1120|",
             text);
    for (int mini = 0; mini < 2; mini++) {
        memset(f, 0, sizeof(f));
        n = cfb_build(f, e, SGW_ARRAY_LEN(e), mini);
        expect_bin(W, NULL, f, n, want2, "ole", __LINE__);
        expect_bin(NULL, NULL, f, n, want2, "ole", __LINE__); /* sniffed */
    }
    /* the table stream named by the flags: 0Table */
    word_build(doc, &dn, tbl, &tn, 0);
    struct cfb_ent e0[] = {{"Root Entry", 5, 1, -1, -1, NULL, 0},
                           {"WordDocument", 2, -1, -1, 2, doc, dn},
                           {"0Table", 2, -1, -1, 3, tbl, tn},
                           {"Data", 2, -1, -1, -1, png, sizeof(png)}};
    memset(f, 0, sizeof(f));
    n = cfb_build(f, e0, SGW_ARRAY_LEN(e0), 1);
    snprintf(want2, sizeof(want2), "%s!image in an Office document!", text);
    expect_bin(W, NULL, f, n, want2, "ole", __LINE__);
    /* an EMF picture (an embedded object's preview) inside a stream */
    static uint8_t emf[200];
    memcpy(emf + 60, "\x01\x00\x00\x00", 4);
    memcpy(emf + 100, " EMF", 4);
    e0[3].p = emf;
    e0[3].n = sizeof(emf);
    memset(f, 0, sizeof(f));
    n = cfb_build(f, e0, SGW_ARRAY_LEN(e0), 1);
    expect_bin(W, NULL, f, n, want2, "ole", __LINE__);
    memcpy(emf + 60, "\x02", 1); /* (no header record: no picture) */
    memset(f, 0, sizeof(f));
    n = cfb_build(f, e0, SGW_ARRAY_LEN(e0), 1);
    expect_bin(W, NULL, f, n, text, "ole", __LINE__);
    /* a stream whose chain breaks after the sectors that hold the text:
       reported, and those sectors are read as unused ones (not lost with
       the stream) */
    word_build(doc, &dn, tbl, &tn, 0x0200);
    memset(f, 0, sizeof(f));
    n = cfb_build(f, e, SGW_ARRAY_LEN(e), 0);
    {
        uint32_t st, s1, s2;
        memcpy(&st, f + 1024 + 128 + 116, 4); /* (WordDocument: entry 1 of the first directory sector) */
        memcpy(&s1, f + 512 + 4 * st, 4);
        memcpy(&s2, f + 512 + 4 * s1, 4);
        cfb_put32(f + 512 + 4 * s2, 9999); /* (its third sector, the text's, goes nowhere) */
        char *got = run(W, NULL, f, n);
        CHECK(strstr(got, "!OLE document cut or malformed (a stream outside the file)!") != NULL);
        CHECK(strstr(got, " 536-22-1847") != NULL && strstr(got, "mail a@z.de") != NULL);
        free(got);
    }
    /* text outside the pieces (a fast save's, an edit's leftovers): its runs */
    word_build(doc, &dn, tbl, &tn, 0);
    memcpy(doc + 1700, "old text: 078-05-1120", 21);
    e0[3].p = summary;
    e0[3].n = 36;
    memset(f, 0, sizeof(f));
    n = cfb_build(f, e0, SGW_ARRAY_LEN(e0), 1);
    snprintf(want2, sizeof(want2), "%sold text: 078-05-1120|Author Jane Roe|Title Q3 audit|", text);
    expect_bin(W, NULL, f, n, want2, "ole", __LINE__);
    /* encrypted: reported; a piece outside the stream: read as runs */
    word_build(doc, &dn, tbl, &tn, 0x0300);
    e0[2].name = "1Table";
    memset(f, 0, sizeof(f));
    n = cfb_build(f, e0, SGW_ARRAY_LEN(e0), 1);
    expect_bin(W, NULL, f, n, "!encrypted Word document!Author Jane Roe|Title Q3 audit|", "ole", __LINE__);
    word_build(doc, &dn, tbl, &tn, 0x0200);
    cfb_put32(tbl + 5 + 5 + 12 + 8 + 2, 4000); /* the second piece's fc */
    memset(f, 0, sizeof(f));
    n = cfb_build(f, e0, SGW_ARRAY_LEN(e0), 1);
    /* (the pieces before it, then the document's 8-bit and UTF-16 runs) */
    expect_bin(W, NULL, f, n,
               "Name: JaneRoe, SSN  536-22-1847 \n\t|"
               "Name: Jane|Roe, SSN| 536-22-1847|mail a@z.de \xe6\x97\xa5|Author Jane Roe|Title Q3 audit|",
               "ole", __LINE__);

    /* Excel: the globals (a sheet's name, the shared strings with one
       going on in a CONTINUE record in 16-bit characters), a sheet */
    n = 0;
    uint8_t r[128];
    memset(r, 0, sizeof(r));
    cfb_put16(r, 0x0600);
    cfb_put16(r + 2, 5);
    n += biff(wb + n, 0x0809, r, 16);
    memset(r, 0, sizeof(r));
    r[6] = 5;
    memcpy(r + 8, "Staff", 5);
    n += biff(wb + n, 0x0085, r, 13);
    /* SST: "SSN", "e-mail", "x@corp.de" split after "x@c" into 16-bit, "stale" */
    uint8_t sst[64];
    size_t sn = 8;
    cfb_put32(sst, 4);
    cfb_put32(sst + 4, 4);
    sst[sn++] = 3, sst[sn++] = 0, sst[sn++] = 0, memcpy(sst + sn, "SSN", 3), sn += 3;
    sst[sn++] = 6, sst[sn++] = 0, sst[sn++] = 0, memcpy(sst + sn, "e-mail", 6), sn += 6;
    sst[sn++] = 9, sst[sn++] = 0, sst[sn++] = 0, memcpy(sst + sn, "x@c", 3), sn += 3;
    n += biff(wb + n, 0x00fc, sst, sn);
    uint8_t cont[64];
    size_t cn = 0;
    cont[cn++] = 1;
    for (const char *c = "orp.de"; *c; c++)
        cfb_put16(cont + cn, (uint8_t)*c), cn += 2;
    cont[cn++] = 5, cont[cn++] = 0, cont[cn++] = 0, memcpy(cont + cn, "stale", 5), cn += 5;
    n += biff(wb + n, 0x003c, cont, cn);
    n += biff(wb + n, 0x000a, "", 0);
    memset(r, 0, sizeof(r));
    cfb_put16(r, 0x0600);
    cfb_put16(r + 2, 0x10);
    n += biff(wb + n, 0x0809, r, 16);
    memset(r, 0, sizeof(r)); /* A1 "SSN", B1 536221847 */
    cfb_put32(r + 6, 0);
    n += biff(wb + n, 0x00fd, r, 10);
    double v = 536221847;
    memset(r, 0, sizeof(r));
    cfb_put16(r + 2, 1);
    memcpy(r + 6, &v, 8);
    n += biff(wb + n, 0x0203, r, 14);
    memset(r, 0, sizeof(r)); /* A2 "e-mail", B2 "x@corp.de" */
    cfb_put16(r, 1);
    cfb_put32(r + 6, 1);
    n += biff(wb + n, 0x00fd, r, 10);
    cfb_put16(r + 2, 1);
    cfb_put32(r + 6, 2);
    n += biff(wb + n, 0x00fd, r, 10);
    memset(r, 0, sizeof(r)); /* row 3: RK 42, MULRK 1.5 (150 / 100) and -7 */
    cfb_put16(r, 2);
    cfb_put32(r + 6, 42u << 2 | 2);
    n += biff(wb + n, 0x027e, r, 10);
    memset(r, 0, sizeof(r));
    cfb_put16(r, 2);
    cfb_put16(r + 2, 1);
    cfb_put32(r + 4 + 2, 150u << 2 | 3);
    cfb_put32(r + 10 + 2, (uint32_t)(-7 * 4) | 2);
    cfb_put16(r + 16, 2);
    n += biff(wb + n, 0x00bd, r, 18);
    memset(r, 0, sizeof(r)); /* row 4: a formula with a string result */
    cfb_put16(r, 3);
    cfb_put16(r + 12, 0xffff);
    n += biff(wb + n, 0x0006, r, 22);
    memset(r, 0, sizeof(r));
    r[0] = 11;
    memcpy(r + 3, "calc@corp.d", 11);
    n += biff(wb + n, 0x0207, r, 14);
    memset(r, 0, sizeof(r)); /* row 5: a LABEL */
    cfb_put16(r, 4);
    r[6] = 4;
    memcpy(r + 9, "note", 4);
    n += biff(wb + n, 0x0204, r, 13);
    memset(r, 0, sizeof(r)); /* a comment (TXO and its text) */
    cfb_put16(r + 10, 11);
    n += biff(wb + n, 0x01b6, r, 18);
    memset(r, 0, sizeof(r));
    memcpy(r + 1, "call 555-01", 11);
    n += biff(wb + n, 0x003c, r, 12);
    memset(r, 0, sizeof(r));
    r[0] = 13;
    memcpy(r + 3, "&CConfidential", 13);
    n += biff(wb + n, 0x0014, r, 16);
    n += biff(wb + n, 0x000a, "", 0);
    struct cfb_ent x[] = {{"Root Entry", 5, 1, -1, -1, NULL, 0}, {"Workbook", 2, -1, -1, -1, wb, n}};
    const char *X = "application/vnd.ms-excel";
    size_t fn;
    /* each cell a unit: the first row names the columns, a cell's context
       is the cell before it and its column's name */
    const char *xwant = "Staff|{}SSN|{SSN}536221847|{SSN}e-mail|{e-mail 536221847}x@corp.de|{SSN}42|{42 536221847}1.5|"
                        "{1.5}-7|{SSN}calc@corp.d|{SSN}note|{}call 555-01|&CConfidentia|stale|";
    for (int mini = 0; mini < 2; mini++) {
        memset(f, 0, sizeof(f));
        fn = cfb_build(f, x, SGW_ARRAY_LEN(x), mini);
        expect_bin(X, NULL, f, fn, xwant, "ole", __LINE__);
        expect_bin(NULL, NULL, f, fn, xwant, "ole", __LINE__);
        if (mini) {
            /* cut: what the tables reach is gone */
            /* (then the runs of what is left: the directory's names) */
            expect_bin(X, NULL, f, fn - 512, "!OLE document cut or malformed (bad mini stream)!Root Entry|Workbook|",
                       "ole", __LINE__);
            expect_bin(X, NULL, f, 300, "!truncated OLE document!", "ole", __LINE__);
        }
    }
    /* a free sector (what a save left behind): its text read too */
    memset(f, 0, sizeof(f));
    fn = cfb_build(f, x, SGW_ARRAY_LEN(x), 1);
    memcpy(f + fn, "\0\0deleted: 536-22-1847\0", 24);
    snprintf(want2, sizeof(want2), "%sdeleted: 536-22-1847|", xwant);
    expect_bin(X, NULL, f, fn + 512, want2, "ole", __LINE__);
    /* a free mini sector: its text read too */
    cfb_stale_mini = "mini: 536-22-1847";
    memset(f, 0, sizeof(f));
    fn = cfb_build(f, x, SGW_ARRAY_LEN(x), 1);
    cfb_stale_mini = NULL;
    snprintf(want2, sizeof(want2), "%smini: 536-22-1847|", xwant);
    expect_bin(X, NULL, f, fn, want2, "ole", __LINE__);
    /* a shared string table that ends before the strings it declares:
       also read as runs (of 8 bytes or more, DEC_RUN_MIN: not "e-mail\t"
       nor "orp.de" of "x@corp.de") */
    CHECK(wb[37] == 0xfc); /* (the SST record) */
    wb[45] = 5;
    memset(f, 0, sizeof(f));
    fn = cfb_build(f, x, SGW_ARRAY_LEN(x), 1);
    snprintf(want2, sizeof(want2), "Staff|%s", xwant + strlen("Staff|"));
    expect_bin(X, NULL, f, fn, want2, "ole", __LINE__);
    wb[45] = 4;
    /* encrypted workbook: FILEPASS after the first BOF */
    memmove(wb + 20 + 10, wb + 20, n);
    memcpy(wb + 20, "\x2f\x00\x06\x00\x00\x00\x00\x00\x00\x00", 10);
    x[1].n = n + 10;
    memset(f, 0, sizeof(f));
    fn = cfb_build(f, x, SGW_ARRAY_LEN(x), 1);
    expect_bin(X, NULL, f, fn, "!encrypted Excel workbook!", "ole", __LINE__);
    /* declared but no compound file: sniffed (an `.xls` that is a web
       export's HTML, a `.doc` or `.msg` that is text) */
    expect_bin(X, NULL, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe0 not one", 17, "!OLE document not inspectable!", "",
               __LINE__);
    expect_bin(W, NULL, "Notes for jane@corp.de\n", 23, "Notes for jane@corp.de\n|", "", __LINE__);
    const char *web = "<html><table><td>536-22-1847</td></table></html>";
    expect_bin(X, NULL, web, strlen(web), "html|table|td|536-22-1847|td|table|{}html|", "html", __LINE__);
    /* a bad FAT: a sector number past the end */
    memset(f, 0, sizeof(f));
    fn = cfb_build(f, x, SGW_ARRAY_LEN(x), 1);
    cfb_put32(f + 76, 900);
    expect_bin(X, NULL, f, fn,
               "!OLE document cut or malformed (FAT sector outside the file)!calc@corp.d|call 555-01|"
               "&CConfidentia|Root Entry|Workbook|",
               "ole", __LINE__);
    /* a bomb: ten cells showing one 1,000-character shared string, with
       4 KiB of decoded text allowed: what fits, then the report */
    n = 0;
    memset(r, 0, sizeof(r));
    cfb_put16(r, 0x0600);
    cfb_put16(r + 2, 5);
    n += biff(wb + n, 0x0809, r, 16);
    static uint8_t big[1100];
    cfb_put32(big, 1);
    cfb_put32(big + 4, 1);
    big[8] = 1000 & 0xff, big[9] = 1000 >> 8, big[10] = 0;
    memset(big + 11, 'a', 1000);
    n += biff(wb + n, 0x00fc, big, 1011);
    n += biff(wb + n, 0x000a, "", 0);
    cfb_put16(r + 2, 0x10);
    n += biff(wb + n, 0x0809, r, 16);
    for (unsigned i = 0; i < 10; i++) {
        memset(r, 0, 10);
        cfb_put16(r, i);
        n += biff(wb + n, 0x00fd, r, 10);
    }
    n += biff(wb + n, 0x000a, "", 0);
    x[1].n = n;
    memset(f, 0, sizeof(f));
    fn = cfb_build(f, x, SGW_ARRAY_LEN(x), 0);
    static char bomb[12000];
    size_t bl = 0;
    for (unsigned i = 0; i < 5; i++) { /* (a cell a unit: the fifth is over) */
        if (i) {
            bomb[bl++] = '{';
            memset(bomb + bl, 'a', 63); /* (the column's name) */
            bl += 63;
        } else {
            bomb[bl++] = '{';
        }
        bomb[bl++] = '}';
        if (i < 4) {
            memset(bomb + bl, 'a', 1000);
            bl += 1000;
            bomb[bl++] = '|';
        }
    }
    snprintf(bomb + bl, sizeof(bomb) - bl, "!B:OLE document's text over 4096 bytes!");
    g_lim.max_decoded = 4096;
    expect_bin(X, NULL, f, fn, bomb, "ole", __LINE__);
    g_lim.max_decoded = 0;
}

static void test_protobuf(void)
{
    const char *P = "application/x-protobuf";
    static uint8_t m[1 << 18], a[1 << 18], b[1 << 18];
    static char want[1 << 18];
    char *got0;
    size_t n, an, bn;
    /* an OTLP-like request: attributes, a record whose body is a string,
       numbers (a varint, a fixed64: not scanned), trace ids (bytes, raw),
       an empty string */
    an = pb_str(a, 1, "service.name");
    bn = pb_str(b, 1, "checkout");
    an += pb_len_field(a + an, 2, b, bn);
    n = pb_len_field(m, 1, a, an);
    n += pb_put_varint(m + n, 2 << 3);
    n += pb_put_varint(m + n, 4111111111111111ull);
    n += pb_put_varint(m + n, 3 << 3);
    n += pb_put_varint(m + n, 12345);
    m[n++] = 4 << 3 | 1;
    memcpy(m + n, "\x00\x00\x10\x63\x2d\x5e\xc6\x17", 8);
    n += 8;
    {
        uint8_t id[16];
        for (int i = 0; i < 16; i++)
            id[i] = (uint8_t)(0x80 + i);
        n += pb_len_field(m + n, 9, id, 16);
    }
    n += pb_str(m + n, 5, "");
    n += pb_str(m + n, 5, "mail jo@k.io");
    expect_bin(P, NULL, m, n, "service.name|checkout|mail jo@k.io|", "protobuf", __LINE__);
    expect_bin("application/protobuf", NULL, m, n, "service.name|checkout|mail jo@k.io|", "protobuf", __LINE__);
    /* gRPC: a plain frame, a gzip'd one, grpc-web's trailers */
    {
        static uint8_t g[1 << 12], z[1 << 12];
        size_t gn = 0, mn = pb_str(a, 1, "frame one a@b.io");
        g[gn++] = 0;
        g[gn++] = 0, g[gn++] = 0, g[gn++] = 0, g[gn++] = (uint8_t)mn;
        memcpy(g + gn, a, mn);
        gn += mn;
        mn = pb_str(a, 2, "frame two c@d.io");
        size_t zn = zlib_make(a, mn, z, sizeof(z), 16 + 15);
        g[gn++] = 1;
        g[gn++] = 0, g[gn++] = 0, g[gn++] = 0, g[gn++] = (uint8_t)zn;
        memcpy(g + gn, z, zn);
        gn += zn;
        expect_bin("application/grpc", NULL, g, gn, "frame one a@b.io|frame two c@d.io|", "grpc>protobuf",
                   __LINE__);
        /* compressed with zstd or deflate (grpc-encoding, which the body
           does not carry): told by their bytes */
        {
            static uint8_t g2[1 << 12];
            size_t g2n = 0, zs = ZSTD_compress(z, sizeof(z), a, mn, 3), df;
            g2[g2n++] = 1;
            g2[g2n++] = 0, g2[g2n++] = 0, g2[g2n++] = 0, g2[g2n++] = (uint8_t)zs;
            memcpy(g2 + g2n, z, zs);
            g2n += zs;
            df = zlib_make(a, mn, z, sizeof(z), 15);
            g2[g2n++] = 1;
            g2[g2n++] = 0, g2[g2n++] = 0, g2[g2n++] = 0, g2[g2n++] = (uint8_t)df;
            memcpy(g2 + g2n, z, df);
            g2n += df;
            expect_bin("application/grpc", NULL, g2, g2n, "frame two c@d.io|frame two c@d.io|", "grpc>protobuf",
                       __LINE__);
            /* a compressed frame of 3 bytes (shorter than zstd's magic) */
            g2[0] = 1, g2[4] = 3;
            memcpy(g2 + 5, "\x03\x00\x00", 3);
            expect_bin("application/grpc", NULL, g2, 8, "!trailing data after deflate stream!", NULL, __LINE__);
        }
        static const char tr[] = "grpc-status: 0\r\ngrpc-message: ok\r\n";
        g[gn++] = 0x80;
        g[gn++] = 0, g[gn++] = 0, g[gn++] = 0, g[gn++] = (uint8_t)(sizeof(tr) - 1);
        memcpy(g + gn, tr, sizeof(tr) - 1);
        gn += sizeof(tr) - 1;
        expect_bin("application/grpc-web+proto", NULL, g, gn,
                   "frame one a@b.io|frame two c@d.io|grpc-status: 0\r\ngrpc-message: ok\r\n|", "grpc>protobuf",
                   __LINE__);
        expect_bin("application/grpc", NULL, g, gn, "frame one a@b.io|frame two c@d.io|!gRPC frame flag 0x80!",
                   NULL, __LINE__);
        expect_bin("application/grpc", NULL, g, 7, "!truncated gRPC frame!", NULL, __LINE__);
        expect_bin("application/grpc", NULL, g, 3, "!truncated gRPC frame!", NULL, __LINE__);
        /* a frame whose message ends inside a field */
        g[4] = (uint8_t)(g[4] - 1);
        expect_bin("application/grpc", NULL, g, 5 + g[4], "!malformed protobuf at byte 1!", NULL, __LINE__);
    }
    /* fields over the hold (64 KiB), judged by their first 64 KiB: a
       string, a message read on as a stream (its fields cut by the hold's
       end), bytes, gzip in bytes */
    {
        static char text[70000];
        for (size_t i = 0; i < sizeof(text) - 1; i++)
            text[i] = "lorem ipsum dolor "[i % 18];
        memcpy(text + 69000, "x@y.io", 6);
        text[sizeof(text) - 1] = '\0';
        n = pb_str(m, 1, text);
        snprintf(want, sizeof(want), "%s|", text);
        expect_bin(P, NULL, m, n, want, "protobuf", __LINE__);
        /* a message of 3,000 records of ~30 bytes */
        an = 0;
        size_t wn = 0;
        for (int i = 0; i < 3000; i++) {
            char rec[64];
            snprintf(rec, sizeof(rec), "record %d by u%d@corp.example", i, i);
            bn = pb_str(b, 1, rec);
            an += pb_len_field(a + an, 2, b, bn);
            wn += (size_t)sprintf(want + wn, "%s|", rec);
        }
        CHECK(an > 65536 + 1000);
        n = pb_len_field(m, 1, a, an);
        n += pb_str(m + n, 3, "after all");
        strcat(want, "after all|");
        expect_bin(P, NULL, m, n, want, "protobuf", __LINE__);
        /* ... whose last field runs past its end: refused where it does */
        n = pb_len_field(m, 1, a, an);
        m[n - 36] = (uint8_t)(m[n - 36] + 1); /* (the last record: 0x12, 35, 0x0a, 33, text) */
        CHECK(m[n - 37] == 0x12 && m[n - 34] == 33);
        got0 = run(P, NULL, m, n);
        snprintf(want, sizeof(want), "record 2998 by u2998@corp.example|!malformed protobuf at byte %zu!", n - 36);
        CHECK(g_run_len > strlen(want) && strcmp(got0 + g_run_len - strlen(want), want) == 0);
        free(got0);
        /* bytes that are neither: their runs of 10 printable characters
           or more, in the hold and after it, and one across a chunk's end
           (random ids held runs of 6 to 9 that read as "P@x.vi" or
           "7::e4" once in 25 MB) */
        for (size_t i = 0; i < 70000; i++)
            a[i] = (uint8_t)(0x80 | (i % 64));
        memcpy(a + 100, "key AKIAIOSFODNN7EXAMPLE", 24);
        memcpy(a + 65533, "mail e@f.io", 11); /* (across the hold's end) */
        memcpy(a + 65000, "short", 5);   /* (under 10: not passed on) */
        memcpy(a + 66000, ";P@x.vi", 7);
        memcpy(a + 67000, "(7::e4:Z", 8);
        memcpy(a + 68000, "to Q@x.vi!", 10); /* (10: passed on) */
        memcpy(a + 69000, "ab", 2);
        n = pb_len_field(m, 7, a, 70000);
        expect_bin(P, NULL, m, n, "key AKIAIOSFODNN7EXAMPLE|mail e@f.io|to Q@x.vi!|", "protobuf", __LINE__);
        char *got;
        /* gzip in a long bytes field: decompressed and sniffed */
        size_t zn = zlib_make((const uint8_t *)text, strlen(text), b, sizeof(b), 16 + 15);
        for (size_t i = zn; i < 66000; i++)
            b[i] = 0; /* (a gzip member's trailing garbage: past the hold) */
        n = pb_len_field(m, 7, b, 66000);
        got = run(P, NULL, m, n);
        /* (the zeros after the member are no gzip: reported after its text) */
        CHECK(strstr(got, "x@y.io") != NULL && g_run_len > 23 &&
              strcmp(got + g_run_len - 23, "!malformed gzip stream!") == 0);
        free(got);
        n = pb_len_field(m, 7, b, zn);
        snprintf(want, sizeof(want), "%s|", text);
        expect_bin(P, NULL, m, n, want, "protobuf", __LINE__);
    }
    /* a message of one string of 32 to 126 bytes is printable (tag '\n',
       the length a character): read as a message, the string alone; a
       string that parses with numbers in it (a 9-digit SSN) stays one */
    an = pb_str(a, 1, "card 4111 1111 1111 1111 paid by bob");
    n = pb_len_field(m, 5, a, an);
    CHECK(a[0] == '\n' && a[1] == '$');
    n += pb_str(m + n, 6, "078051120");
    expect_bin(P, NULL, m, n, "card 4111 1111 1111 1111 paid by bob|078051120|", "protobuf", __LINE__);
    /* a PNG in bytes: uninspectable, the rest read; a trace id (16 random
       bytes) that begins as gzip does is an id: raw (a span in 65,536
       would make its request uninspectable) */
    n = pb_len_field(m, 4, "\x89PNG\r\n\x1a\n................................", 40);
    n += pb_str(m + n, 5, "after all");
    expect_bin(P, NULL, m, n, "!PNG image not inspectable!after all|", NULL, __LINE__);
    n = pb_len_field(m, 1, "\x1f\x8b\x08\x04\x9e\xa1\xb2\xc3\xd4\xe5\xf6\x87\x98\xa9\xba\xcb", 16);
    n += pb_str(m + n, 5, "after all");
    n += pb_str(m + n, 5, "::1"); /* (under 6 bytes: not passed on) */
    expect_bin(P, NULL, m, n, "after all|", NULL, __LINE__);
    /* nesting deeper than 32: the inner bytes are raw data, still scanned */
    an = pb_str(a, 1, "deep e@f.io");
    for (int i = 0; i < 40; i++) {
        memcpy(b, a, an);
        an = pb_len_field(a, 1, b, an);
    }
    {
        char *got = run(P, NULL, a, an);
        CHECK(strstr(got, "deep e@f.io") != NULL);
        free(got);
    }
    /* refused: wire types 3, 4, 6, 7, field 0, a field past its message,
       a cut body */
    expect_bin(P, NULL, "\x0b", 1, "!malformed protobuf at byte 0!", NULL, __LINE__);
    expect_bin(P, NULL, "\x08\x01\x07", 3, "!malformed protobuf at byte 2!", NULL, __LINE__);
    /* (inside a field held whole, bytes that are not fields are bytes) */
    expect_bin(P, NULL, "\x0a\x03\x12\x05hello", 9, "!truncated protobuf message!", NULL, __LINE__);
    expect_bin(P, NULL, "\x0a\x05hel", 5, "hel|!truncated protobuf message!", NULL, __LINE__);
    expect_bin(P, NULL, "\x08\x81", 2, "!truncated protobuf message!", NULL, __LINE__);
    expect_bin(P, NULL, "", 0, "", NULL, __LINE__);
}

/* KPL aggregated records (the Kinesis Producer Library): magic, an
 * AggregatedRecord protobuf, its MD5 (not checked: 16 bytes of 0x11) */
static void test_kpl(void)
{
    static uint8_t k[4096], r[1024], m[1024];
    static char js[8192];
    size_t rn = 0, mn = 0, kn = 0;
    /* partition key "pk", two records whose data are the user's JSON */
    mn = pb_str(m, 1, "partition-7");
    rn = pb_put_varint(r, 1 << 3);
    rn += pb_put_varint(r + rn, 0);
    rn += pb_str(r + rn, 3, "{\"user\":\"bob.smith@corp-mail.de\"}");
    mn += pb_len_field(m + mn, 3, r, rn);
    rn = pb_put_varint(r, 1 << 3);
    rn += pb_put_varint(r + rn, 0);
    rn += pb_str(r + rn, 3, "order 7 paid");
    mn += pb_len_field(m + mn, 3, r, rn);
    memcpy(k, "\xf3\x89\x9a\xc2", 4);
    memcpy(k + 4, m, mn);
    memset(k + 4 + mn, 0x11, 16);
    kn = 4 + mn + 16;
    const char *want = "partition-7|{\"user\":\"bob.smith@corp-mail.de\"}|order 7 paid|";
    /* sniffed, as a body */
    expect_bin(NULL, NULL, k, kn, want, "kpl>protobuf", __LINE__);
    /* in base64 in Kinesis PutRecords' JSON */
    size_t jn = (size_t)sprintf(js, "{\"Records\":[{\"Data\":\"");
    jn += b64_enc(k, kn, js + jn);
    jn += (size_t)sprintf(js + jn, "\",\"PartitionKey\":\"a\"}]}");
    char *got = run("application/x-amz-json-1.1", NULL, js, jn);
    if (!strstr(got, want))
        fprintf(stderr, "KPL in base64: got [%s]\n", got);
    CHECK(strstr(got, want) != NULL && strstr(got, "!") == NULL);
    expect_bin("application/x-amz-json-1.1", NULL, js, jn, got, "json", __LINE__);
    free(got);
    /* in a CBOR byte string (the AWS SDK for Java's Kinesis) */
    {
        static uint8_t cb[4096];
        size_t cn = 0;
        cb[cn++] = 0xa1; /* {"Data": h'…'} */
        cb[cn++] = 0x64;
        memcpy(cb + cn, "Data", 4);
        cn += 4;
        cb[cn++] = 0x59; /* a byte string, 2-byte length */
        cb[cn++] = (uint8_t)(kn >> 8);
        cb[cn++] = (uint8_t)kn;
        memcpy(cb + cn, k, kn);
        cn += kn;
        char w2[512];
        snprintf(w2, sizeof(w2), "Data|{Data}%s", want);
        got = run("application/x-amz-cbor-1.1", NULL, cb, cn);
        if (strncmp(got, w2, strlen(w2)) != 0)
            fprintf(stderr, "KPL in CBOR: got [%s]\n", got);
        CHECK(strncmp(got, w2, strlen(w2)) == 0 && strchr(got, '!') == NULL);
        expect_bin("application/x-amz-cbor-1.1", NULL, cb, cn, got, "cbor", __LINE__);
        free(got);
    }
    /* cut: its last 16 bytes are taken for the MD5, so the protobuf is cut */
    got = run(NULL, NULL, k, kn - 1);
    CHECK(memmem(got, g_run_len, "!truncated protobuf message!", 28) != NULL);
    free(got);
}

/* protobuf in base64 (a Kinesis record, an SQS message, a DynamoDB binary
 * attribute): read as protobuf when its fields hold text; random bytes
 * stay what they were (unread under 1 KiB, opaque from 1 KiB on) */
static void test_protobuf_b64(void)
{
    static uint8_t m[1 << 16], r[256], rnd[3000];
    static char js[1 << 17], want[1 << 16];
    size_t mn = 0, wn = 0;
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof(id), "order-%d", i);
        size_t rn = pb_str(r, 1, id);
        rn += pb_put_varint(r + rn, 2 << 3);
        rn += pb_put_varint(r + rn, (uint64_t)i * 1000);
        rn += pb_str(r + rn, 3, i == 1 ? "bob.smith@corp-mail.de" : "Berlin");
        mn += pb_len_field(m + mn, 1, r, rn);
        wn += (size_t)sprintf(want + wn, "%s|%s|", id, i == 1 ? "bob.smith@corp-mail.de" : "Berlin");
    }
    size_t jn = (size_t)sprintf(js, "{\"Data\":\"");
    jn += b64_enc(m, mn, js + jn);
    jn += (size_t)sprintf(js + jn, "\"}");
    char *got = run("application/json", NULL, js, jn);
    if (!strstr(got, want) || strchr(got, '!'))
        fprintf(stderr, "protobuf in base64: got [%s]\n", got);
    CHECK(strstr(got, want) != NULL && strchr(got, '!') == NULL);
    expect_bin("application/json", NULL, js, jn, got, "json", __LINE__);
    free(got);
    /* a long run (over the 8 KiB the stage holds): judged by its start */
    mn = 0;
    wn = 0;
    for (int i = 0; i < 800; i++) {
        char id[32];
        snprintf(id, sizeof(id), "order-%d", i);
        size_t rn = pb_str(r, 1, id);
        rn += pb_str(r + rn, 3, i == 700 ? "bob.smith@corp-mail.de" : "Berlin");
        mn += pb_len_field(m + mn, 1, r, rn);
    }
    jn = (size_t)sprintf(js, "{\"Data\":\"");
    size_t bn = b64_enc(m, mn, js + jn);
    CHECK(bn > 8192);
    jn += bn;
    jn += (size_t)sprintf(js + jn, "\"}");
    got = run("application/json", NULL, js, jn);
    CHECK(strstr(got, "order-699|Berlin|order-700|bob.smith@corp-mail.de|") != NULL && strchr(got, '!') == NULL);
    expect_bin("application/json", NULL, js, jn, got, "json", __LINE__);
    free(got);
    /* random bytes: opaque from 1 KiB of base64 on, unread below */
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(rnd); i++) {
        x = x * 1103515245u + 12345u;
        rnd[i] = (uint8_t)(x >> 23);
    }
    jn = (size_t)sprintf(js, "{\"Data\":\"");
    jn += b64_enc(rnd, sizeof(rnd), js + jn);
    jn += (size_t)sprintf(js + jn, "\"}");
    got = run("application/json", NULL, js, jn);
    CHECK(strstr(got, "!base64 data that is no text (1 KiB or more)!") != NULL);
    free(got);
    jn = (size_t)sprintf(js, "{\"Data\":\"");
    jn += b64_enc(rnd, 300, js + jn);
    jn += (size_t)sprintf(js + jn, "\"}");
    got = run("application/json", NULL, js, jn);
    CHECK(strchr(got, '!') == NULL);
    free(got);
    /* the check itself: two fields and text; whole or a start */
    CHECK(dec_looks_protobuf((const uint8_t *)"\x0a\x04" "abcd\x10\x01", 8, 1));
    CHECK(!dec_looks_protobuf((const uint8_t *)"\x0a\x04" "abcd", 6, 1));          /* one field */
    CHECK(!dec_looks_protobuf((const uint8_t *)"\x08\x01\x10\x02", 4, 1));     /* no text */
    CHECK(!dec_looks_protobuf((const uint8_t *)"\x0a\x04" "abcd\x10", 7, 1));      /* cut */
    CHECK(dec_looks_protobuf((const uint8_t *)"\x0a\x04" "abcd\x10\x01\x18", 9, 0)); /* ... a start */
    CHECK(dec_looks_protobuf((const uint8_t *)"\x0a\x06\x12\x04" "abcd\x10\x01", 10, 1)); /* text nested */
}

/* ---- snappy ---- */

/* Appends a snappy literal of p[0..n) to o. */
static size_t sn_lit(uint8_t *o, const void *p, size_t n)
{
    size_t k = 0;
    if (n <= 60) {
        o[k++] = (uint8_t)((n - 1) << 2);
    } else {
        o[k++] = 62 << 2; /* three length bytes */
        o[k++] = (uint8_t)(n - 1), o[k++] = (uint8_t)((n - 1) >> 8), o[k++] = (uint8_t)((n - 1) >> 16);
    }
    memcpy(o + k, p, n);
    return k + n;
}

/* Appends a copy of len (1..64) bytes from off back, with a 2-byte or
 * (big) 4-byte offset. */
static size_t sn_cp(uint8_t *o, size_t len, uint32_t off, int big)
{
    o[0] = (uint8_t)((len - 1) << 2 | (big ? 3 : 2));
    for (int i = 0; i < (big ? 4 : 2); i++)
        o[1 + i] = (uint8_t)(off >> (8 * i));
    return big ? 5 : 3;
}

static void test_snappy(void)
{
    static uint8_t s[1 << 18], big[70000];
    size_t n = 0;
    /* "hello a@b.com " + copies: an overlapping one (a run), a 1-byte
       offset (tag 01), a 2-byte one */
    n += pb_put_varint(s + n, 14 + 6 + 7 + 5);
    n += sn_lit(s + n, "hello a@b.com ", 14);
    s[n++] = 0x00; /* (a literal of 1 byte: "x") */
    s[n++] = 'x';
    n += sn_cp(s + n, 5, 1, 0);                 /* xxxxx */
    s[n++] = (uint8_t)(1 | (7 - 4) << 2);       /* copy, 1-byte offset, 7 bytes */
    s[n++] = 14;                                /* from 14 back: "a@b.com" */
    n += sn_cp(s + n, 5, 27, 0);                /* "hello" */
    expect_bin("text/plain", "snappy", s, n, "hello a@b.com xxxxxxa@b.comhello|", "snappy", __LINE__);
    /* a long literal, copies over 64 KiB of output (within 64 KiB back) */
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)"abcdefgh ijklm "[(i * 5 + i / 11) % 15];
    n = pb_put_varint(s, sizeof(big) + 64);
    n += sn_lit(s + n, big, sizeof(big));
    n += sn_cp(s + n, 64, 65536, 1);
    {
        static char want[80000];
        memcpy(want, big, sizeof(big));
        memcpy(want + sizeof(big), big + sizeof(big) - 65536, 64);
        strcpy(want + sizeof(big) + 64, "|");
        expect_bin("text/plain", "snappy", s, n, want, NULL, __LINE__);
        /* one byte further back than 64 KiB: refused */
        n -= 5;
        n += sn_cp(s + n, 64, 65537, 1);
        char *got = run("text/plain", "snappy", s, n);
        CHECK(strstr(got, "!snappy copy beyond 64 KiB!") != NULL);
        free(got);
    }
    /* refused: a copy before the start, offset 0, more than declared, a cut body */
    n = pb_put_varint(s, 10);
    n += sn_lit(s + n, "abc", 3);
    size_t cut = n;
    n += sn_cp(s + n, 4, 4, 0);
    expect_bin("text/plain", "snappy", s, n, "abc!malformed snappy data!", NULL, __LINE__);
    n = cut + sn_cp(s + cut, 4, 0, 0);
    expect_bin("text/plain", "snappy", s, n, "abc!malformed snappy data!", NULL, __LINE__);
    n = cut + sn_lit(s + cut, "defghijk", 8);
    expect_bin("text/plain", "snappy", s, n, "abcdefghij!snappy data longer than declared!", NULL, __LINE__);
    expect_bin("text/plain", "snappy", s, cut, "abc!truncated snappy data!", NULL, __LINE__);
    expect_bin("text/plain", "snappy", s, cut - 1, "ab!truncated snappy data!", NULL, __LINE__);
    expect_bin("text/plain", "snappy", "", 0, "|", NULL, __LINE__);
    /* gzip inside snappy (the gate after the innermost coding) */
    {
        static uint8_t z[256];
        size_t zn = zlib_make((const uint8_t *)"inner c@d.io", 12, z, sizeof(z), 16 + 15);
        n = pb_put_varint(s, zn);
        n += sn_lit(s + n, z, zn);
        expect_bin("text/plain", "snappy", s, n, "inner c@d.io|", "snappy>gzip", __LINE__);
    }
}

/* ---- normalisation ---- */

static void test_norm(void)
{
    /* full-width digits, zero-width characters, NBSP, soft hyphen */
    EXPECT("text/plain", NULL, "\xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91", "4111|");
    EXPECT("text/plain", NULL,
           "41\xe2\x80\x8b"
           "11\xe2\x81\xa0"
           "11\xef\xbb\xbf"
           "11",
           "41111111|");
    EXPECT("text/plain", NULL,
           "a\xc2\xa0"
           "b\xc2\xad"
           "c",
           "a bc|");
    EXPECT("text/plain", NULL, "\xef\xbc\xa1\xef\xbc\xab\xef\xbc\xa9\xef\xbc\xa1", "AKIA|");
    EXPECT("text/plain", NULL, "\xd9\xa4\xd9\xa1", "41|");
    /* other non-ASCII passes unchanged; invalid UTF-8 passes raw (an
       overlong form, C0 AE here, is read as its character in a copy too) */
    EXPECT("text/plain", NULL, "caf\xc3\xa9 \xe4\xb8\xad", "caf\xc3\xa9 \xe4\xb8\xad|");
    EXPECT("text/plain", NULL,
           "a\xc0\xae"
           "b\xff",
           "a\xc0\xae"
           "b\xff|a.b\xff|");
    EXPECT("text/plain", NULL, "a\xc3\x28 b\xff\xfe", "a\xc3\x28 b\xff\xfe|");
    EXPECT("text/plain", NULL, "cut \xe2\x80", "cut \xe2\x80|");
    /* combining marks, variation selectors and the tag characters that
       mirror no ASCII (language tag, cancel tag) are dropped */
    EXPECT("text/plain", NULL,
           "4\xcc\xb2"
           "1\xcc\x81"
           "1\xef\xb8\x8f"
           "1\xf3\xa0\x80\x81"
           "1\xf3\xa0\x81\xbf",
           "41111|");
    /* tag characters U+E0020-E007E are the ASCII they mirror (ASCII
       smuggling: invisible, read by a model), with a gap (a space that
       stands for no source byte) between their run and the text around
       it, across a drop (cancel tag) and a cut anywhere (expect_bin) */
    EXPECT("text/plain", NULL,
           "key\xf3\xa0\x81\x81\xf3\xa0\x81\x8b\xf3\xa0\x80\xa0\xf3\xa0\x80\xb7\xf3\xa0\x81\xbfok \xf3\xa0\x80\xb1",
           "key AK 7 ok  1|");
    EXPECT("application/json", NULL, "[\"a\\udb40\\udc41b\"]", "a A b|");
    /* dashes and the minus sign are '-'; small form variants and the dots
       of domain names (UTS 46) are their ASCII characters */
    EXPECT("text/plain", NULL,
           "536\xe2\x80\x93" "22\xe2\x88\x92" "8451 a\xe2\x80\x90" "b\xe2\x80\x94" "c",
           "536-22-8451 a-b-c|");
    EXPECT("text/plain", NULL, "john\xef\xb9\xab" "example\xef\xb9\x92" "com x\xe3\x80\x82" "y\xef\xbd\xa1" "z",
           "john@example.com x.y.z|");
    EXPECT("text/plain", NULL, "\xef\xb9\x91\xef\xb9\x9d", "\xef\xb9\x91\xef\xb9\x9d|"); /* (none) */
    /* normalisation inside JSON escapes too */
    EXPECT("application/json", NULL, "\"4\\u200b1\\uff11\"", "411|");
    /* what NFKC makes ASCII of: super- and subscript digits, circled digits
       and letters, mathematical letters (bold A, italic K, fraktur K,
       monospace a, double-struck z) */
    EXPECT("text/plain", NULL, "\xc2\xb9\xc2\xb2\xc2\xb3\xe2\x81\xb0\xe2\x81\xb9\xe2\x82\x80\xe2\x82\x89",
           "1230909|");
    EXPECT("text/plain", NULL, "\xe2\x91\xa0\xe2\x91\xa8\xe2\x93\xaa\xe2\x92\xb6\xe2\x93\x8f\xe2\x93\x90\xe2\x93\xa9",
           "190AZaz|");
    EXPECT("text/plain", NULL,
           "\xf0\x9d\x90\x80\xf0\x9d\x90\xbe\xf0\x9d\x94\x8e\xf0\x9d\x9a\x8a\xf0\x9d\x95\xab", "AKKaz|");
    /* the digits of every script: Thai, Tamil, Myanmar, N'Ko, Adlam (the
       first and last zero of the table), mathematical sans-serif */
    EXPECT("text/plain", NULL,
           "\xe0\xb9\x94\xe0\xaf\xa7\xe1\x81\x89\xdf\x80\xf0\x9e\xa5\x99\xf0\x9d\x9f\xa2",
           "419090|");
    /* and not: CJK, kana, Hangul, Arabic letters, the code point after a
       script's nine (U+0E5A) */
    EXPECT("text/plain", NULL, "\xe4\xb8\xad\xe3\x81\x82\xea\xb0\x80\xd8\xa8\xe0\xb9\x9a",
           "\xe4\xb8\xad\xe3\x81\x82\xea\xb0\x80\xd8\xa8\xe0\xb9\x9a|");
}

/* ---- escapes: percent-encoding and HTML character references ---- */

static void test_escapes(void)
{
    const char *T = "text/plain", *J = "application/json";
    /* the original unit, then a decoded copy from up to 64 bytes before the
       escape to 64 bytes after the last one (catalogue 4.1 cases 19, 24) */
    EXPECT(T, NULL, "mail john%40example.com now", "mail john%40example.com now|mail john@example.com now|");
    EXPECT(J, NULL, "{\"p\":\"key %41KIA now\"}", "p|{p}key %41KIA now|key AKIA now|");
    EXPECT(T, NULL, "x &#52;111 &#x34;1 y", "x &#52;111 &#x34;1 y|x 4111 41 y|");
    /* numeric references without their ';', as HTML reads them: up to the
       first character that is no digit; not with more digits than a
       reference takes, nor for a control character */
    EXPECT(T, NULL, "k &#65KIA &#x41KIA bob&#64x.io", "k &#65KIA &#x41KIA bob&#64x.io|k AKIA AKIA bob@x.io|");
    EXPECT(T, NULL, "n &#00000065 &#x0000041 &#9 &#x7f", "n &#00000065 &#x0000041 &#9 &#x7f|");
    EXPECT(T, NULL, "a&commat;b&period;c", "a&commat;b&period;c|a@b.c|");
    EXPECT(T, NULL, "n&nbsp;1", "n&nbsp;1|n 1|"); /* NBSP normalised to a space in the copy */
    /* double percent-encoding: both levels */
    EXPECT(T, NULL, "k %2541KIA", "k %2541KIA|k AKIA|");
    EXPECT(T, NULL, "k %25zz", "k %25zz|k %zz|");
    /* three and four levels (an evasion, a redirect URL encoded once too
       often); a fifth "25" is a '%' of the fourth; "%2525" before no hex
       digits is a '%' */
    EXPECT(T, NULL, "k %252541KIA %25252541KIA", "k %252541KIA %25252541KIA|k AKIA AKIA|");
    EXPECT(T, NULL, "k %2525252541", "k %2525252541|k %41|");
    EXPECT(T, NULL, "k %2525zz", "k %2525zz|k %zz|");
    /* quoted-printable (an e-mail's source pasted as text): a soft line
       break (LF, CRLF) is nothing, "=HH" the byte HH; "=HH" with no '='
       after it is weak (code's "x=0A", a vCard's "TYPE=CELL"), lower-case
       hex and "=00" are none; UTF-8 in it goes through the normalisation */
    EXPECT(T, NULL, "card 4111 1111 11=\n11 1111 ok", "card 4111 1111 11=\n11 1111 ok|card 4111 1111 1111 1111 ok|");
    EXPECT(T, NULL, "key AKIA2E3AYF3B=\r\nQ44C7XQZ", "key AKIA2E3AYF3B=\r\nQ44C7XQZ|key AKIA2E3AYF3BQ44C7XQZ|");
    EXPECT(T, NULL, "k =41=4B=49=41 x", "k =41=4B=49=41 x|k AKIA x|");
    EXPECT(T, NULL, "x=0A c=FF0000 TYPE=CELL:1 LANG=DE a=3d=3d b=00=00 ==",
           "x=0A c=FF0000 TYPE=CELL:1 LANG=DE a=3d=3d b=00=00 ==|");
    EXPECT(T, NULL, "Gr=C3=BC=C3=9Fe j=EF=BC=A0x.io", "Gr=C3=BC=C3=9Fe j=EF=BC=A0x.io|Gr\xc3\xbc\xc3\x9f" "e j@x.io|");
    /* a cut "=" at the end of the unit is plain */
    EXPECT(T, NULL, "end =", "end =|");
    EXPECT(T, NULL, "end =4", "end =4|");
    /* UTF-8 in escapes goes through the normalisation: full-width '@' */
    EXPECT(T, NULL, "j%EF%BC%A0x.io", "j%EF%BC%A0x.io|j@x.io|");
    /* an escape glued to a number: the copy reaches past the space */
    EXPECT(T, NULL, "a %204111 1111 b", "a %204111 1111 b|a  4111 1111 b|");
    /* weak references (&amp; &lt; &gt; &quot; &apos;) start no copy... */
    EXPECT(T, NULL, "Tom &amp; Jerry &lt;b&gt;", "Tom &amp; Jerry &lt;b&gt;|");
    /* ...but are decoded within another's reach */
    EXPECT(T, NULL, "%41&amp;B", "%41&amp;B|A&B|");
    /* not escapes: passed as they are, no copy */
    EXPECT(T, NULL, "100% 50%ZZ %00 %4 &#0; &#xD800; &#1114112; &bogus; &#; &#x; & %",
           "100% 50%ZZ %00 %4 &#0; &#xD800; &#1114112; &bogus; &#; &#x; & %|");
    EXPECT(T, NULL, "&#12345678;", "&#12345678;|");
    EXPECT(T, NULL, "&averyverylongname;", "&averyverylongname;|");
    /* an escape cut by the end of the unit is decided there */
    EXPECT(T, NULL, "end %4", "end %4|");
    EXPECT(T, NULL, "end %25", "end %25|end %|");
    EXPECT(T, NULL, "end %254", "end %254|end %4|");
    EXPECT(J, NULL, "[\"a%2\",\"5\"]", "a%2|5|");
    /* the copy starts at most 64 bytes back and stops 64 bytes after the last escape */
    {
        char in[400], want[800];
        memset(in, 'a', 100);
        memcpy(in + 100, "%41", 3);
        memset(in + 103, 'b', 100);
        in[203] = '\0';
        snprintf(want, sizeof(want), "%s|%.64sA%.64s|", in, in, in + 103);
        EXPECT(T, NULL, in, want);
        /* two escapes near each other: one copy; far apart: two */
        memset(in, 'c', 300);
        memcpy(in, "%41", 3);
        memcpy(in + 40, "%42", 3);
        memcpy(in + 250, "%43", 3);
        in[300] = '\0';
        snprintf(want, sizeof(want), "%s|A%.37sB%.64s|%.64sC%.47s|", in, in + 3, in + 43, in + 186, in + 253);
        EXPECT(T, NULL, in, want);
    }
    /* a unit full of escapes: 8192 bytes of copies are held in the stage,
       up to 262144 on the heap (a web page with &nbsp; on every line is all
       copies), the rest is reported, whatever the split. An escape every 64
       bytes keeps all text in the copies (each reaches 64 bytes past it) */
    {
        static const struct {
            size_t units, plain; /* "%41" and `plain` b's, `units` times */
        } sh[] = {{2000, 0}, {9000, 0}, {4300, 61}};
        size_t hold = 262144;
        char *in = malloc(4300 * 64 + 1), *want = malloc(4300 * 64 * 2 + 64);
        for (size_t t = 0; t < SGW_ARRAY_LEN(sh); t++) {
            size_t w = 0, c = 0, u = 3 + sh[t].plain;
            for (size_t k = 0; k < sh[t].units; k++) {
                memcpy(in + u * k, "%41", 3);
                memset(in + u * k + 3, 'b', sh[t].plain);
            }
            in[u * sh[t].units] = '\0';
            memcpy(want + w, in, u * sh[t].units);
            w += u * sh[t].units;
            want[w++] = '|';
            for (size_t k = 0; k < sh[t].units && c < hold; k++)
                for (size_t j = 0; j < 1 + sh[t].plain && c < hold; j++, c++)
                    want[w++] = j ? 'b' : 'A';
            int over = (1 + sh[t].plain) * sh[t].units > hold;
            snprintf(want + w, 64, over ? "|!escaped text over 262144 bytes in one unit!" : "|");
            EXPECT(T, NULL, in, want);
        }
        free(in);
        free(want);
    }
    /* the reach ends inside an escape-like start cut by a split: the gap to
       the next copy is the same ("&T" then "o=" below) */
    {
        char in[300], want[600];
        memset(in, 'x', 200);
        memcpy(in, "%41", 3);
        memcpy(in + 66, "&To=a%42", 8);
        in[200] = '\0';
        snprintf(want, sizeof(want), "%s|A%.63s&To=aB%.64s|", in, in + 3, in + 74);
        EXPECT(T, NULL, in, want);
    }
    /* homoglyphs (catalogue 4.1 case 25): Cyrillic/Greek letters drawn like
       Latin ones, next to an ASCII letter or digit, start a copy with their
       Latin letters (the lookback's folded too); a word in Cyrillic or
       Greek alone makes none */
    EXPECT(T, NULL, "key \xd0\x90\xd0\x9a\xd0\x86\xd0\x90" "5ZK",
           "key \xd0\x90\xd0\x9a\xd0\x86\xd0\x90" "5ZK|key AKIA5ZK|");
    EXPECT(T, NULL, "\xd1\x98\xd0\xbehn@x.io", "\xd1\x98\xd0\xbehn@x.io|john@x.io|");
    EXPECT(T, NULL, "\xce\x91\xce\x9a\xce\x99\xce\x91" "7", "\xce\x91\xce\x9a\xce\x99\xce\x91" "7|AKIA7|");
    EXPECT(T, NULL, "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 \xd0\x90",
           "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 \xd0\x90|");
    EXPECT(T, NULL, "5\xd0\xba\xd0\xb3", "5\xd0\xba\xd0\xb3|5k\xd0\xb3|");
    /* runs of Cyrillic, Greek and CJK letters are passed over in a loop of
       their own (the splits take the letter-by-letter path): a Latin
       neighbour still makes the copy */
    EXPECT(T, NULL, "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0" "7 \xce\xb1\xce\xb2\xce\xb3 \xe4\xb8\xad\xe6\x96\x87\xd0\x90",
           "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0" "7 \xce\xb1\xce\xb2\xce\xb3 \xe4\xb8\xad\xe6\x96\x87\xd0\x90"
           "|Mock\xd0\xb2" "a7 a\xce\xb2\xce\xb3 \xe4\xb8\xad\xe6\x96\x87" "A|");
    EXPECT(T, NULL, "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 \xe4\xb8\xad\xe3\x80\x82\xe3\x81\x82",
           "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 \xe4\xb8\xad.\xe3\x81\x82|");
    /* accented Latin letters after an '@' in their token (an address with
       an internationalised domain) start a copy with their base letters
       (the lookback's too); German words, an accented local part alone,
       and an '@' in another token or more than 64 bytes back make none */
    EXPECT(T, NULL, "mail bob@m\xc3\xbcller.de end", "mail bob@m\xc3\xbcller.de end|mail bob@muller.de end|");
    EXPECT(T, NULL, "j\xc3\xbcrgen@m\xc3\xbcller-l\xc3\xbc" "denscheid.de",
           "j\xc3\xbcrgen@m\xc3\xbcller-l\xc3\xbc" "denscheid.de|jurgen@muller-ludenscheid.de|");
    EXPECT(T, NULL, "x@\xc8\x99t.ro \xc5\x81\xc3\xb3" "d\xc5\xba", "x@\xc8\x99t.ro \xc5\x81\xc3\xb3" "d\xc5\xba|x@st.ro Lodz|");
    EXPECT(T, NULL, "Gr\xc3\xbc\xc3\x9f" "e, j\xc3\xbcrgen@example.com sch\xc3\xb6n",
           "Gr\xc3\xbc\xc3\x9f" "e, j\xc3\xbcrgen@example.com sch\xc3\xb6n|");
    {
        char in[128], want[300];
        memset(in, 'b', sizeof(in));
        memcpy(in, "a@", 2);
        memcpy(in + 66, "\xc3\xbc", 2); /* '@' 65 bytes back: none */
        in[68] = '\0';
        snprintf(want, sizeof(want), "%s|", in);
        EXPECT(T, NULL, in, want);
        memcpy(in + 65, "\xc3\xbc", 2); /* 64: a copy (of the 64 bytes before it) */
        in[67] = '\0';
        snprintf(want, sizeof(want), "%s|%.64su|", in, in + 1);
        EXPECT(T, NULL, in, want);
    }
    /* overlong UTF-8 (catalogue 4.1 case 27): what a lenient reader makes
       of it, in a copy; an overlong NUL, valid sequences with the same
       lead bytes (Thai, an emoji) and broken ones are left alone */
    EXPECT(T, NULL, "john\xc1\x80" "example.com", "john\xc1\x80" "example.com|john@example.com|");
    EXPECT(T, NULL, "k \xc1\x81\xe0\x81\x8b\xf0\x80\x81\x89" "A7",
           "k \xc1\x81\xe0\x81\x8b\xf0\x80\x81\x89" "A7|k AKIA7|");
    EXPECT(T, NULL, "n \xe0\x81\x90\xe0\x83\x80", "n \xe0\x81\x90\xe0\x83\x80|n P\xc3\x80|");
    EXPECT(T, NULL, "z \xc0\x80 \xe0\xb8\x81 \xf0\x9f\x98\x80 \xc0 \xe0\x81 \xc1",
           "z \xc0\x80 \xe0\xb8\x81 \xf0\x9f\x98\x80 \xc0 \xe0\x81 \xc1|");
    /* the lookback of a copy keeps a 4-byte sequence whose bytes would
       read as a Cyrillic lead (F0 90 ...) */
    EXPECT(T, NULL, "\xf0\x90\x80\x80 x%41", "\xf0\x90\x80\x80 x%41|\xf0\x90\x80\x80 xA|");
    /* the lookback of an escape after a base64-alphabet run that decodes
       to no text, in a unit that comes in one call: the base64 stage passes
       the run's text on at its end, and that piece keeps its tail (only the
       call's last piece need not; a fuzz find) */
    EXPECT(J, NULL, "[\"x QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ$john%40e.io\"]",
           "x QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ$john%40e.io|x QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ$john@e.io|");
    /* escapes in a JSON key: the key's copy comes before its context */
    EXPECT(J, NULL, "{\"a%40b.io\":1}", "a%40b.io|a@b.io|{a%40b.io}1|");
    /* inside base64-decoded text too */
    EXPECT(T, NULL, "bWFpbCBqb2huJTQwZXhhbXBsZS5jb20gbm93", "bWFpbCBqb2huJTQwZXhhbXBsZS5jb20gbm93|mail john%40example.com now|mail john@example.com now||");
    /* backslash escapes written into text (catalogue 4.1 cases 18 and 21
       outside a JSON string): \\xHH and \\uHHHH */
    EXPECT(T, NULL, "k \\x41\\x4bIA7", "k \\x41\\x4bIA7|k AKIA7|");
    EXPECT(T, NULL, "j\\u0040x.io", "j\\u0040x.io|j@x.io|");
    EXPECT(T, NULL, "w \\uFF14 1", "w \\uFF14 1|w 4 1|"); /* full-width, normalised */
    /* \\u{H…} (JavaScript, Rust), \\UHHHHHHHH (Python, C), octal \\ooo of
       printable ASCII, %uHHHH (JavaScript's escape()) */
    EXPECT(T, NULL, "k \\u{41}\\u{4B}IA7 j\\u{1F600}", "k \\u{41}\\u{4B}IA7 j\\u{1F600}|k AKIA7 j\xf0\x9f\x98\x80|");
    EXPECT(T, NULL, "k \\U00000041KIA7", "k \\U00000041KIA7|k AKIA7|");
    EXPECT(T, NULL, "k \\x{41}\\x{4b}IA7", "k \\x{41}\\x{4b}IA7|k AKIA7|");
    EXPECT(T, NULL, "bob\\100x.io \\101K", "bob\\100x.io \\101K|bob@x.io AK|");
    EXPECT(T, NULL, "bob%u0040x.io", "bob%u0040x.io|bob@x.io|");
    /* not those: a path, a control character, %u of printf, an empty or
       too long brace, a code point too large */
    EXPECT(T, NULL, "C:\\2019\\101 \\012 %u items \\u{} \\u{1234567} \\U00110000",
           "C:\\2019\\101 \\012 %u items \\u{} \\u{1234567} \\U00110000|C:\\2019A \\012 %u items \\u{} \\u{1234567} \\U00110000|");
    /* not escapes: no copy (lone surrogates, high or low, are left alone) */
    EXPECT(T, NULL, "C:\\xampp \\x0 \\x00 \\u0000 \\u12 \\ud83d \\ude00\\ud83d \\n \\",
           "C:\\xampp \\x0 \\x00 \\u0000 \\u12 \\ud83d \\ude00\\ud83d \\n \\|");
    /* a high surrogate without its low half: the escape after it is one
       of its own, at every split (the held bytes are looked at again) */
    EXPECT(T, NULL, "h \\ud83d\\u0041", "h \\ud83d\\u0041|h \\ud83dA|");
    EXPECT(T, NULL, "h \\ud83d\\x41", "h \\ud83d\\x41|h \\ud83dA|");
    EXPECT(T, NULL, "h \\ud83d\\ud83d\\ude00", "h \\ud83d\\ud83d\\ude00|h \\ud83d\xf0\x9f\x98\x80|");
    EXPECT(T, NULL, "h \\ud83d\\ud8", "h \\ud83d\\ud8|");
    /* surrogate pairs (catalogue 4.1 case 21 outside JSON): one code point,
       normalised like the rest (mathematical bold "AK" is "AK") */
    EXPECT(T, NULL, "e \\ud83d\\ude00!", "e \\ud83d\\ude00!|e \xf0\x9f\x98\x80!|");
    EXPECT(T, NULL, "k \\uD835\\uDC00\\uD835\\uDC0AIA7", "k \\uD835\\uDC00\\uD835\\uDC0AIA7|k AKIA7|");
    /* the reach of a copy ends inside a held high surrogate that fails:
       the next escape joins the copy (3 bytes apart) at every split */
    {
        char in[300], want[600];
        memset(in, 'x', 200);
        memcpy(in, "%41", 3);
        memcpy(in + 64, "\\ud83d\\x42", 10);
        in[200] = '\0';
        snprintf(want, sizeof(want), "%s|A%.61s\\ud83dB%.64s|", in, in + 3, in + 74);
        EXPECT(T, NULL, in, want);
        /* ... and a held high surrogate with a failed low half across the
           reach's end (bytes 62-71), then an escape 64 and 65 bytes after
           the reach's end: joined, then a copy apart (the held bytes count
           towards the gap at every split) */
        memset(in, 'x', 200);
        memcpy(in, "%41", 3);
        memcpy(in + 62, "\\ud83d\\u00z", 11);
        memcpy(in + 131, "%43", 3);
        snprintf(want, sizeof(want), "%s|A%.128sC%.64s|", in, in + 3, in + 134);
        EXPECT(T, NULL, in, want);
        in[131] = 'x';
        memcpy(in + 132, "%43", 3);
        snprintf(want, sizeof(want), "%s|A%.64s|%.64sC%.64s|", in, in + 3, in + 68, in + 135);
        EXPECT(T, NULL, in, want);
    }
    /* cut by the end of the unit */
    EXPECT(T, NULL, "end \\u004", "end \\u004|");
    /* in JSON the decoder resolves them; an escaped backslash makes one in
       the text, which is then an escape of its own */
    EXPECT(J, NULL, "[\"a\\u0040b \\\\x41\"]", "a@b \\x41|a@b A|");
}

/* ---- UTF-16 ---- */

static size_t to_utf16(const char *s, int be, int bom, uint8_t *out)
{
    size_t o = 0;
    if (bom) {
        out[o++] = be ? 0xfe : 0xff;
        out[o++] = be ? 0xff : 0xfe;
    }
    for (; *s; s++) {
        out[o++] = be ? 0 : (uint8_t)*s;
        out[o++] = be ? (uint8_t)*s : 0;
    }
    return o;
}

static void test_utf16(void)
{
    uint8_t b[256];
    size_t n = to_utf16("{\"email\":\"a@b.com\"}", 0, 1, b);
    expect_bin(NULL, NULL, b, n, "email|{email}a@b.com|", "utf16>json", __LINE__);
    n = to_utf16("{\"email\":\"a@b.com\"}", 1, 1, b);
    expect_bin(NULL, NULL, b, n, "email|{email}a@b.com|", "utf16>json", __LINE__);
    n = to_utf16("card 4111 1111 1111 1111", 0, 0, b);
    expect_bin(NULL, NULL, b, n, "card 4111 1111 1111 1111|", "utf16", __LINE__);
    n = to_utf16("card 4111 1111 1111 1111", 1, 0, b);
    expect_bin(NULL, NULL, b, n, "card 4111 1111 1111 1111|", "utf16", __LINE__);
    n = to_utf16("plain text", 0, 0, b);
    expect_bin("text/plain; charset=utf-16le", NULL, b, n, "plain text|", "utf16", __LINE__);
    n = to_utf16("plain text", 1, 1, b);
    expect_bin("text/plain; charset=utf-16", NULL, b, n, "plain text|", "utf16", __LINE__);
    /* UTF-16 labelled as 8-bit text (text/plain without a charset, or with
       utf-8, an XML type) is decoded too: as bytes, a NUL between every
       letter and digit would hide everything (a regression: `sovgw scan`
       passed such a .txt file as clean) */
    n = to_utf16("card 4111 1111 1111 1111", 0, 1, b);
    expect_bin("text/plain", NULL, b, n, "card 4111 1111 1111 1111|", "utf16", __LINE__);
    n = to_utf16("<c>4111 1111 1111 1111</c>", 1, 1, b);
    expect_bin("application/xml", NULL, b, n, "c|{c}4111 1111 1111 1111|{}c|", "utf16>xml", __LINE__);
    n = to_utf16("mail a@b.com", 0, 0, b);
    expect_bin("text/plain; charset=utf-8", NULL, b, n, "mail a@b.com|", "utf16", __LINE__);
    n = to_utf16("mail a@b.com", 1, 0, b);
    expect_bin("text/csv", NULL, b, n, "mail a@b.com|", "utf16>csv", __LINE__);
    n = to_utf16("{\"email\":\"a@b.com\"}", 0, 1, b);
    expect_bin("text/plain", NULL, b, n, "email|{email}a@b.com|", "utf16", __LINE__);
    /* inside a multipart part of its own content type */
    {
        static const char head[] = "--XyZ\r\nContent-Disposition: form-data; name=\"t\"\r\n"
                                   "Content-Type: text/plain\r\n\r\n";
        static const char tail[] = "\r\n--XyZ--";
        uint8_t mp[256];
        size_t k = sizeof(head) - 1;
        memcpy(mp, head, k);
        k += to_utf16("iban DE89 3704 0044 0532 0130 00", 0, 1, mp + k);
        memcpy(mp + k, tail, sizeof(tail) - 1);
        k += sizeof(tail) - 1;
        expect_bin("multipart/form-data; boundary=XyZ", NULL, mp, k,
                   "t|{t}iban DE89 3704 0044 0532 0130 00||", "multipart>form", __LINE__);
    }
    /* not UTF-16: a NUL in the first code unit, but not one in every other
       byte after it (passes raw); text whose first two bytes hold no NUL is
       decided at once (and UTF-16 without a BOM is not looked for there) */
    static const uint8_t nul1[] = {'a', 0, 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o'};
    for (size_t cut = 0; cut < sizeof(nul1); cut++) {
        char *raw = cut ? run_split("text/plain", NULL, nul1, sizeof(nul1), 0, cut)
                        : run("text/plain", NULL, nul1, sizeof(nul1));
        CHECK(raw[0] == 'a' && raw[1] == '\0' && strcmp(raw + 2, "bcdefghijklmno|") == 0);
        free(raw);
    }
    /* surrogate pair U+1F600 in UTF-16LE */
    const uint8_t sp[] = {0xff, 0xfe, 'a', 0, 0x3d, 0xd8, 0x00, 0xde, 'b', 0};
    expect_bin("text/plain; charset=utf-16", NULL, sp, sizeof(sp),
               "a\xf0\x9f\x98\x80"
               "b|",
               NULL, __LINE__);
    /* many high surrogates without their pair: U+FFFD each, output bounded
       (a regression: the output buffer overflowed) */
    size_t hn = 40000;
    uint8_t *hs = malloc(hn);
    for (size_t i = 0; i < hn; i += 2) {
        hs[i] = 0x00;
        hs[i + 1] = 0xd8;
    }
    char *got = run("text/plain; charset=utf-16le", NULL, hs, hn);
    CHECK(strlen(got) == hn / 2 * 3 + 1);
    free(got);
    free(hs);
}

/* ---- base64 runs ---- */

static void b64enc(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

/* base64 the base64 stage could not see whole: written with escapes, or
 * cut by invisible characters. The copy goes through a base64 pass of its
 * own; its decoding follows as a unit. */
static void test_escapes_base64(void)
{
    const char *T = "text/plain", *J = "application/json";
    const char *secret = "mail bob@example.com key AKIAIOSFODNN7EXAMPLE";
    char enc[200], in[2048], want[8192];
    b64enc((const uint8_t *)secret, strlen(secret), enc);
    size_t el = strlen(enc);
    /* a zero-width space every 8 characters (U+200B), and other invisible
       characters, up to three in a row: the text as normalised, then the
       decoding between boundaries (no copy of the text itself: it is the
       text) */
    const char *zw[] = {"\xe2\x80\x8b", "\xe2\x80\x8c", "\xe2\x80\x8d", "\xe2\x81\xa0", "\xef\xbb\xbf",
                        "\xe2\x80\x8b\xef\xbb\xbf\xe2\x81\xa0"};
    for (size_t z = 0; z < SGW_ARRAY_LEN(zw); z++) {
        size_t n = (size_t)snprintf(in, sizeof(in), "decode: ");
        for (size_t i = 0; i < el; i += 8)
            n += (size_t)snprintf(in + n, sizeof(in) - n, "%s%.*s", i ? zw[z] : "", (int)(el - i < 8 ? el - i : 8),
                                  enc + i);
        snprintf(want, sizeof(want), "decode: %s||%s|", enc, secret);
        expect_bin(T, NULL, in, n, want, NULL, __LINE__);
    }
    /* in a JSON string, as \u escapes */
    {
        size_t n = (size_t)snprintf(in, sizeof(in), "{\"p\":\"");
        for (size_t i = 0; i < el; i += 8)
            n += (size_t)snprintf(in + n, sizeof(in) - n, "%s%.*s", i ? "\\u200b" : "", (int)(el - i < 8 ? el - i : 8),
                                  enc + i);
        snprintf(in + n, sizeof(in) - n, "\"}");
        snprintf(want, sizeof(want), "p|{p}%s||%s|", enc, secret);
        EXPECT(J, NULL, in, want);
    }
    /* percent-encoded and as character references: the copy, then its
       decoding */
    {
        size_t n = 0, m = 0;
        char ref[4096];
        for (size_t i = 0; i < el; i++) {
            n += (size_t)snprintf(in + n, sizeof(in) - n, "%%%02X", (unsigned char)enc[i]);
            m += (size_t)snprintf(ref + m, sizeof(ref) - m, "&#%d;", enc[i]);
        }
        snprintf(want, sizeof(want), "%s|%s||%s|", in, enc, secret);
        EXPECT(T, NULL, in, want);
        snprintf(want, sizeof(want), "%s|%s||%s|", ref, enc, secret);
        EXPECT(T, NULL, ref, want);
    }
    /* invisible characters that are no evasion make no copy: Persian's
       non-joiner, an emoji's joiner, one between words (the text is
       normalised as before), a soft hyphen; a run of four ends the gap */
    EXPECT(T, NULL, "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae", "\xd9\x85\xdb\x8c\xd8\xae|");
    EXPECT(T, NULL, "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x92\xbb", "\xf0\x9f\x91\xa8\xf0\x9f\x92\xbb|");
    EXPECT(T, NULL, "zero\xe2\x80\x8bwidth", "zerowidth|");
    EXPECT(T, NULL, "ab \xe2\x80\x8b cd", "ab  cd|");
    /* the copies' base64 stage holds the chain's limits (a 2,000-byte
       limit; a zip whose entry inflates to 8 KB, its base64
       percent-encoded), not the defaults */
    {
        static uint8_t z[16384];
        static char text[8200], b64[16384], pct[49152];
        for (size_t i = 0; i < 8000; i++)
            text[i] = (char)("abcdefghij klm"[(i * 7 + i / 13) % 14]);
        size_t zn = zip_add(z, 0, "a.txt", text, strlen(text), 8, 0, 0);
        size_t bn = b64_enc(z, zn, b64), pn = 0;
        for (size_t i = 0; i < bn; i++)
            pn += (size_t)sprintf(pct + pn, "%%%02X", (unsigned char)b64[i]);
        for (int lim = 0; lim < 2; lim++) {
            g_lim.max_decoded = lim ? 2000 : 0;
            char *got = run(T, NULL, pct, pn);
            CHECK((strstr(got, "decoded size over 2000 bytes (zip)") != NULL) == lim);
            CHECK((strlen(got) > 8000) == !lim); /* (the entry's text) */
            free(got);
        }
        g_lim.max_decoded = 0;
    }
    /* a short run in a copy is not decoded */
    EXPECT(T, NULL, "ZGVw\xe2\x80\x8b" "bG95", "ZGVwbG95|");
}

static void test_base64(void)
{
    char in[1024], want[2048], enc[400];
    const char *secret = "AKIAIOSFODNN7EXAMPLE and more text";
    b64enc((const uint8_t *)secret, strlen(secret), enc);
    snprintf(in, sizeof(in), "{\"data\":\"%s\"}", enc);
    snprintf(want, sizeof(want), "data|{data}%s|%s||", enc, secret);
    EXPECT("application/json", NULL, in, want);
    /* inside text, with surrounding words */
    snprintf(in, sizeof(in), "key: %s end", enc);
    snprintf(want, sizeof(want), "key: %s|%s| end|", enc, secret);
    EXPECT("text/plain", NULL, in, want);
    /* base64 of base64 of base64 is decoded (three levels); one level
       more is reported, not passed unread: short and long (over 8 KiB)
       runs */
    for (int big = 0; big < 2; big++) {
        size_t cap = 80000;
        char *a = malloc(cap), *b = malloc(cap);
        size_t n = (size_t)snprintf(a, cap, "key %s", secret);
        for (size_t i = 0; big && n < 4000; i++)
            n += (size_t)snprintf(a + n, cap - n, " word%zu", i);
        for (int level = 1; level <= 4; level++) {
            b64enc((const uint8_t *)a, n, b);
            n = (size_t)snprintf(a, cap, "level %d: %s", level, b);
            char *got = run("text/plain", NULL, a, n);
            int deep = strstr(got, "!encoded data nested deeper than 3 levels!") != NULL;
            CHECK(deep == (level == 4));
            CHECK((strstr(got, "|key AKIAIOSFODNN7EXAMPLE and more text") != NULL) == (level < 4));
            if (level == 4)
                expect_bin("text/plain", NULL, a, n, got, NULL, __LINE__);
            free(got);
        }
        free(a);
        free(b);
    }
    /* short runs and identifiers are left alone */
    EXPECT("text/plain", NULL, "aGVsbG8= ordinary words", "aGVsbG8= ordinary words|");
    EXPECT("text/plain", NULL, "someVeryLongCamelCaseIdentifierName",
           "someVeryLongCamelCaseIdentifierName|");
    /* a PDF in base64: read (test_pdf); here its header's line alone */
    const char pdf[] = "%PDF-1.4 binary\x01\x02\x03\x04\x05\x06 stuff here";
    b64enc((const uint8_t *)pdf, sizeof(pdf) - 1, enc);
    snprintf(in, sizeof(in), "[\"%s\"]", enc);
    snprintf(want, sizeof(want), "%s|||", enc);
    EXPECT("application/json", NULL, in, want);
    /* base64 of bytes that are no text and no known format (ciphertext,
       random): reported from 1 KiB of characters on, short (held) and long
       (decided after 8 KiB); shorter ones, and long runs of few symbols (a
       DNA sequence), are not (catalogue 4.1 case 40) */
    {
        static const char opaque[] = "base64 data that is no text (1 KiB or more)";
        size_t sizes[] = {760, 780, 20000};
        for (size_t k = 0; k < 3; k++) {
            uint8_t *bin = malloc(sizes[k]);
            char *e = malloc(sizes[k] * 2), *t = malloc(sizes[k] * 2 + 64),
                 *w = malloc(sizes[k] * 2 + 128);
            uint32_t x = 12345;
            for (size_t i = 0; i < sizes[k]; i++) {
                x = x * 1103515245u + 12345u;
                bin[i] = (uint8_t)(x >> 24);
            }
            bin[0] = 0x80; /* (no format starts so) */
            b64enc(bin, sizes[k], e);
            snprintf(t, sizes[k] * 2 + 64, "x %s y", e);
            if (sizes[k] > 8192) /* reported where the run is decided, after 8 KiB */
                snprintf(w, sizes[k] * 2 + 128, "x %.8192s!%s!%s y|", e, opaque, e + 8192);
            else if (sizes[k] * 4 / 3 >= 1024)
                snprintf(w, sizes[k] * 2 + 128, "x %s!%s! y|", e, opaque);
            else
                snprintf(w, sizes[k] * 2 + 128, "x %s y|", e);
            EXPECT("text/plain", NULL, t, w);
            free(bin);
            free(e);
            free(t);
            free(w);
        }
        /* under a key that names an opaque token (AWS's paging tokens, a
           task token, a receipt handle) such a run may reach 4 KiB: a
           request that pages on was UNINSPECTABLE. JSON (whose keys come
           the short way), XML and a form field; another key's run and one
           past 4 KiB are still reported */
        {
            size_t nb = 2400;
            uint8_t *bin = malloc(nb);
            char *e = malloc(nb * 2), *t = malloc(nb * 2 + 64), *w = malloc(nb * 2 + 128);
            uint32_t x = 777;
            for (size_t i = 0; i < nb; i++) {
                x = x * 1103515245u + 12345u;
                bin[i] = (uint8_t)(x >> 24);
            }
            bin[0] = 0x80;
            b64enc(bin, 1500, e);
            snprintf(t, nb * 2 + 64, "{\"NextToken\":\"%s\",\"n\":1}", e);
            snprintf(w, nb * 2 + 128, "NextToken|{NextToken}%s|n|{n}1|", e);
            EXPECT("application/json", NULL, t, w);
            snprintf(t, nb * 2 + 64, "{\"task_token\":\"%s\"}", e);
            snprintf(w, nb * 2 + 128, "task_token|{task_token}%s|", e);
            EXPECT("application/json", NULL, t, w);
            snprintf(t, nb * 2 + 64, "<r><ContinuationToken>%s</ContinuationToken></r>", e);
            char *got = run("application/xml", NULL, t, strlen(t));
            CHECK(strstr(got, opaque) == NULL);
            free(got);
            snprintf(t, nb * 2 + 64, "{\"Payload\":\"%s\"}", e);
            snprintf(w, nb * 2 + 128, "Payload|{Payload}%s!%s!|", e, opaque);
            EXPECT("application/json", NULL, t, w);
            b64enc(bin, nb, e); /* 3,200 characters: under 4 KiB */
            snprintf(t, nb * 2 + 64, "{\"ReceiptHandle\":\"%s\"}", e);
            got = run("application/json", NULL, t, strlen(t));
            CHECK(strstr(got, opaque) == NULL);
            free(got);
            free(bin);
            bin = malloc(3200);
            for (size_t i = 0; i < 3200; i++) {
                x = x * 1103515245u + 12345u;
                bin[i] = (uint8_t)(x >> 24);
            }
            bin[0] = 0x80;
            free(e);
            free(t);
            e = malloc(5000);
            t = malloc(5100);
            b64enc(bin, 3200, e); /* 4,268 characters */
            snprintf(t, 5100, "{\"NextToken\":\"%s\"}", e);
            got = run("application/json", NULL, t, strlen(t));
            CHECK(strstr(got, opaque) != NULL);
            free(got);
            free(bin);
            free(e);
            free(t);
            free(w);
        }
        char dna[3000];
        for (size_t i = 0; i < sizeof(dna) - 1; i++)
            dna[i] = "ACGT"[(i * 7 + i / 3) % 4];
        dna[sizeof(dna) - 1] = '\0';
        char *wd = malloc(sizeof(dna) + 4);
        snprintf(wd, sizeof(dna) + 4, "%s|", dna);
        EXPECT("text/plain", NULL, dna, wd);
        free(wd);
    }
    /* base64 in base64 */
    char enc2[600];
    b64enc((const uint8_t *)enc, strlen(enc), enc2);
    b64enc((const uint8_t *)secret, strlen(secret), enc);
    b64enc((const uint8_t *)enc, strlen(enc), enc2);
    snprintf(in, sizeof(in), "%s", enc2);
    snprintf(want, sizeof(want), "%s|%s|%s|||", enc2, enc, secret);
    EXPECT("text/plain", NULL, in, want);
    /* URL-safe, unpadded */
    const char *u = "subject=person?x>y email me at someone@example.com";
    b64enc((const uint8_t *)u, strlen(u), enc);
    for (char *q = enc; *q; q++) {
        if (*q == '+')
            *q = '-';
        else if (*q == '/')
            *q = '_';
        else if (*q == '=')
            *q = '\0';
    }
    snprintf(in, sizeof(in), "t %s", enc);
    snprintf(want, sizeof(want), "t %s|%s||", enc, u);
    EXPECT("text/plain", NULL, in, want);
}

/* Hex runs (catalogue 4.1 case 18): hex digits are base64 characters, so
   the run finder finds them; an even run that decodes to text is decoded
   as hex, in either case, with or without 0x. */
static void test_hex_runs(void)
{
    const char *secret = "AKIAIOSFODNN7EXAMPLE";
    char hex[100], in[300], want[400];
    for (size_t i = 0; secret[i]; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)secret[i]);
    snprintf(in, sizeof(in), "key %s end", hex);
    snprintf(want, sizeof(want), "key %s|%s| end|", hex, secret);
    EXPECT("text/plain", NULL, in, want);
    for (char *q = hex; *q; q++)
        if (*q >= 'a' && *q <= 'f')
            *q = (char)(*q - 'a' + 'A');
    snprintf(in, sizeof(in), "{\"k\":\"0x%s\"}", hex);
    snprintf(want, sizeof(want), "k|{k}0x%s|%s||", hex, secret);
    EXPECT("application/json", NULL, in, want);
    /* a hash, a long number, an odd run: no hex decoding (nor base64 text) */
    EXPECT("text/plain", NULL, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855|");
    EXPECT("text/plain", NULL, "123456789012345678901234567890", "123456789012345678901234567890|");
    EXPECT("text/plain", NULL, "414b4941494f53464f444e4e374558414d504c4", "414b4941494f53464f444e4e374558414d504c4|");
}

static void test_base64_long(void)
{
    /* a run longer than the hold window decodes as one stream */
    size_t plain_len = 30000;
    char *plain = malloc(plain_len + 1);
    char *enc = malloc(plain_len * 2);
    char *in = malloc(plain_len * 2 + 16);
    char *want = malloc(plain_len * 4);
    for (size_t i = 0; i < plain_len; i++)
        plain[i] = (char)('a' + i % 26);
    plain[plain_len] = '\0';
    b64enc((const uint8_t *)plain, plain_len, enc);
    snprintf(in, plain_len * 2 + 16, "x %s y", enc);
    /* the first 8192 characters of the run pass as original, then the decoded stream */
    snprintf(want, plain_len * 4, "x %.8192s|%s| y|", enc, plain);
    EXPECT("text/plain", NULL, in, want);
    free(plain);
    free(enc);
    free(in);
    free(want);
}

/* Wraps in[0..n) at `width` characters a line ("\n" between lines, none
 * after the last) into out; returns out. */
static char *wrap_lines(const char *in, size_t width, char *out)
{
    size_t o = 0, n = strlen(in);
    for (size_t i = 0; i < n; i++) {
        if (i && i % width == 0)
            out[o++] = '\n';
        out[o++] = in[i];
    }
    out[o] = '\0';
    return out;
}

/* A long run's lines (MIME base64, `xxd -p` hex): its original text is not
   passed on once it is decided, so a line that does not fit the wrapping
   ends the run and its own characters go on after the decoded text; what
   follows on the next lines is text again. A token on a line of its own
   after 8 KiB of wrapped or unwrapped base64 was lost before. */
static void test_long_run_lines(void)
{
    const char *tok = "AKIAIOSFODNN7EXAMPLE";
    size_t plain_len = 9000; /* a multiple of 3: no padding */
    char *plain = malloc(plain_len + 1);
    for (size_t i = 0; i < plain_len; i++)
        plain[i] = (char)('a' + (i * 7) % 26);
    plain[plain_len] = '\0';
    char *enc = malloc(plain_len * 2), *wr = malloc(plain_len * 3), *in = malloc(plain_len * 4),
         *want = malloc(plain_len * 8);
    b64enc((const uint8_t *)plain, plain_len, enc); /* 12,000 characters */
    wrap_lines(enc, 76, wr);
    size_t last = strlen(enc) % 76; /* the short last line: 68 */
    /* wrapped, the token on the line after the block */
    snprintf(in, plain_len * 4, "%s\n%s\nend", wr, tok);
    snprintf(want, plain_len * 8, "%.8192s|%s|%s\n%s\nend|", wr, plain, enc + strlen(enc) - last,
             tok);
    EXPECT("text/plain", NULL, in, want);
    /* the same block ending with a whole line: the next line is read as
       the block's until it ends short, then passes as itself (a token that
       decodes to text here: its decoding goes on in the stream first) */
    enc[strlen(enc) - last] = '\0';
    wrap_lines(enc, 76, wr);
    snprintf(in, plain_len * 4, "%s\naGVsbG8gd29ybGQh\nend", wr);
    snprintf(want, plain_len * 8, "%.8192s|%.*shello world!|aGVsbG8gd29ybGQh\nend|", wr,
             (int)(strlen(enc) / 4 * 3), plain);
    EXPECT("text/plain", NULL, in, want);
    /* unwrapped: its first line end ends it */
    b64enc((const uint8_t *)plain, plain_len, enc);
    snprintf(in, plain_len * 4, "x %s\n%s\nend", enc, tok);
    snprintf(want, plain_len * 8, "x %.8192s|%s|\n%s\nend|", enc, plain, tok);
    EXPECT("text/plain", NULL, in, want);
    /* in a JSON string, the line ends escaped */
    {
        wrap_lines(enc, 76, wr);
        char *j = malloc(plain_len * 4);
        size_t o = (size_t)sprintf(j, "[\"");
        for (const char *q = wr; *q; q++) {
            if (*q == '\n')
                j[o++] = '\\';
            j[o++] = *q == '\n' ? 'n' : *q;
        }
        sprintf(j + o, "\\n%s\"]", tok);
        snprintf(want, plain_len * 8, "%.8192s|%s|%s\n%s|", wr, plain, enc + strlen(enc) - last,
                 tok);
        EXPECT("application/json", NULL, j, want);
        free(j);
    }
    /* hex, long, as `xxd -p` writes it (60 a line), and a token after it:
       decoded as one stream; the last line (40 digits) passes again */
    {
        size_t tl = 5000;
        char *hx = malloc(tl * 2 + 1);
        for (size_t i = 0; i < tl; i++)
            snprintf(hx + 2 * i, 3, "%02x", (unsigned char)plain[i]);
        wrap_lines(hx, 60, wr);
        snprintf(in, plain_len * 4, "%s\n%s", wr, tok);
        snprintf(want, plain_len * 8, "%.8192s|%.5000s|%s\n%s|", wr, plain,
                 hx + tl * 2 - (tl * 2) % 60, tok);
        EXPECT("text/plain", NULL, in, want);
        /* unwrapped hex, long, ending at a letter that is no hex digit:
           the run ends there and the rest is a run of its own */
        snprintf(in, plain_len * 4, "%sZZ end", hx);
        snprintf(want, plain_len * 8, "%.8192s|%.5000s|ZZ end|", hx, plain);
        EXPECT("text/plain", NULL, in, want);
        free(hx);
    }
    free(plain);
    free(enc);
    free(wr);
    free(in);
    free(want);
}

/* gzip and zstd data in a base64 run (a CloudWatch Logs subscription
   event, `{"awslogs":{"data":"H4sI…"}}`, a Kinesis record) were reported
   `base64 gzip data` (uninspectable); now they are inflated and what comes
   out is read by its content, short and long runs, within the chain's
   limits. */
static void test_base64_compressed(void)
{
    static char js[1 << 17], want[1 << 16], text[40000];
    static uint8_t z[1 << 16];
    const char *ev = "{\"logEvents\":[{\"message\":\"user bob@corp-mail.de paid\"}]}";
    for (int big = 0; big < 2; big++) {
        text[0] = '\0';
        if (big) { /* text that compresses to more than 8 KiB of base64 */
            uint32_t x = 7;
            for (size_t i = 0; i < 30000; i++) {
                x = x * 1103515245u + 12345u;
                text[i] = (char)('a' + (x >> 16) % 26);
            }
        }
        text[big ? 30000 : 0] = '\0';
        char *body = malloc(strlen(text) + 200);
        sprintf(body, "{\"pad\":\"%s\",\"logEvents\":[{\"message\":\"user bob@corp-mail.de paid\"}]}",
                text);
        size_t zn = zlib_make((const uint8_t *)(big ? body : ev), strlen(big ? body : ev), z,
                              sizeof(z), 16 + 15);
        size_t k = (size_t)sprintf(js, "{\"awslogs\":{\"data\":\"");
        size_t b64 = b64_enc(z, zn, js + k);
        sprintf(js + k + b64, "\"}}");
        CHECK(big ? b64 > 8192 : b64 < 8192);
        char *got = run("application/json", NULL, js, strlen(js));
        snprintf(want, sizeof(want), "message|{message}user bob@corp-mail.de paid|");
        if (!strstr(got, want) || strchr(got, '!'))
            fprintf(stderr, "gzip in base64 (%zu characters): got [%.300s]\n", b64, got);
        CHECK(strstr(got, want) != NULL && strchr(got, '!') == NULL);
        expect_bin("application/json", NULL, js, strlen(js), got, NULL, __LINE__);
        free(got);
        free(body);
    }
    /* zstd, in text */
    {
        const char *msg = "mail bob@corp-mail.de now";
        size_t zn = ZSTD_compress(z, sizeof(z), msg, strlen(msg), 3);
        CHECK(!ZSTD_isError(zn));
        size_t k = (size_t)sprintf(js, "x ");
        k += b64_enc(z, zn, js + k);
        sprintf(js + k, " y");
        snprintf(want, sizeof(want), "%.*s|%s|| y|", (int)(k - 2), js + 2, msg);
        memmove(want + 2, want, strlen(want) + 1);
        memcpy(want, "x ", 2);
        EXPECT("text/plain", NULL, js, want);
    }
    /* zlib data (78 9c: zlib.compress, Java's Deflater) in a run and as a
       sniffed body; UTF-16 text (a Converse `txt` document Notepad saved as
       "Unicode": a BOM, little-endian; and without one) in a run: each read
       by its content. Before, under 1 KiB, neither was read nor reported */
    {
        const char *msg = "mail bob@corp-mail.de now";
        size_t zn = zlib_make((const uint8_t *)msg, strlen(msg), z, sizeof(z), 15);
        CHECK(z[0] == 0x78 && z[1] == 0x9c);
        size_t k = (size_t)sprintf(js, "[\"");
        k += b64_enc(z, zn, js + k);
        sprintf(js + k, "\"]");
        char *got = run("application/json", NULL, js, strlen(js));
        CHECK(strstr(got, "|mail bob@corp-mail.de now|") != NULL && !strchr(got, '!'));
        expect_bin("application/json", NULL, js, strlen(js), got, NULL, __LINE__);
        free(got);
        got = run(NULL, NULL, z, zn);
        CHECK(strstr(got, "mail bob@corp-mail.de now") != NULL && !strchr(got, '!'));
        free(got);
        /* the header's bytes, then what inflates to an error: not zlib */
        uint8_t fake[40] = {0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0x07};
        for (size_t i = 7; i < sizeof(fake); i++)
            fake[i] = (uint8_t)(i * 37);
        k = (size_t)sprintf(js, "[\"");
        k += b64_enc(fake, sizeof(fake), js + k);
        sprintf(js + k, "\"]");
        got = run("application/json", NULL, js, strlen(js));
        CHECK(strchr(got, '!') == NULL && strstr(got, "mail") == NULL);
        free(got);
        for (int bom = 0; bom < 2; bom++) {
            uint8_t u[128];
            size_t un = 0;
            if (bom) {
                u[un++] = 0xff;
                u[un++] = 0xfe;
            }
            for (const char *c = msg; *c; c++) {
                u[un++] = (uint8_t)*c;
                u[un++] = 0;
            }
            k = (size_t)sprintf(js, "{\"document\":{\"format\":\"txt\",\"source\":{\"bytes\":\"");
            k += b64_enc(u, un, js + k);
            sprintf(js + k, "\"}}}");
            got = run("application/json", NULL, js, strlen(js));
            CHECK(strstr(got, "mail bob@corp-mail.de now") != NULL && !strchr(got, '!'));
            expect_bin("application/json", NULL, js, strlen(js), got, NULL, __LINE__);
            free(got);
        }
    }
    /* what comes out is no text; a cut stream */
    {
        uint8_t bin[600];
        for (size_t i = 0; i < sizeof(bin); i++)
            bin[i] = (uint8_t)(i * 131 + (i >> 2) * 17);
        size_t zn = zlib_make(bin, sizeof(bin), z, sizeof(z), 16 + 15);
        size_t k = (size_t)sprintf(js, "[\"");
        k += b64_enc(z, zn, js + k);
        sprintf(js + k, "\"]");
        char *got = run("application/json", NULL, js, strlen(js));
        CHECK(strstr(got, "!base64 compressed data that is no text!") != NULL);
        free(got);
        const char *msg = "a fairly long message that compresses into a stream we can cut";
        zn = zlib_make((const uint8_t *)msg, strlen(msg), z, sizeof(z), 16 + 15);
        k = (size_t)sprintf(js, "[\"");
        k += b64_enc(z, zn - 6, js + k);
        sprintf(js + k, "\"]");
        got = run("application/json", NULL, js, strlen(js));
        CHECK(strstr(got, "!truncated gzip stream!") != NULL);
        free(got);
    }
    /* the chain's limits: 2,000 bytes decoded at most */
    {
        memset(text, 'a', 5000);
        memcpy(text + 4000, " bob@corp-mail.de ", 18);
        size_t zn = zlib_make((const uint8_t *)text, 5000, z, sizeof(z), 16 + 15);
        size_t k = (size_t)sprintf(js, "[\"");
        k += b64_enc(z, zn, js + k);
        sprintf(js + k, "\"]");
        g_lim.max_decoded = 2000;
        char *got = run("application/json", NULL, js, strlen(js));
        g_lim.max_decoded = 0;
        if (!strstr(got, "!B:decoded size over 2000 bytes (gzip)!"))
            fprintf(stderr, "gzip in base64, limits: got [%.300s]\n", got);
        CHECK(strstr(got, "!B:decoded size over 2000 bytes (gzip)!") != NULL);
        free(got);
    }
}

/* ---- PDF ---- */

/* Appends object `num` with dictionary `dict` and, when data != NULL, a
 * stream of n bytes (direct /Length when len_direct, else a reference). */
static size_t pdf_obj(char *o, size_t at, unsigned num, const char *dict, const void *data, size_t n, int len_direct)
{
    if (!data)
        return at + (size_t)sprintf(o + at, "%u 0 obj\n%s\nendobj\n", num, dict);
    at += (size_t)sprintf(o + at, "%u 0 obj\n<< %s /Length ", num, dict);
    at += len_direct ? (size_t)sprintf(o + at, "%zu", n) : (size_t)sprintf(o + at, "99 0 R");
    at += (size_t)sprintf(o + at, " >>\nstream\r\n");
    memcpy(o + at, data, n);
    at += n;
    return at + (size_t)sprintf(o + at, "\nendstream\nendobj\n");
}

static void test_pdf(void)
{
    const char *P = "application/pdf";
    static char pdf[1 << 16];
    static uint8_t z[1 << 14];
    size_t n = (size_t)sprintf(pdf, "%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n");
    /* a page in a standard font: strings of Tj, TJ (a wide gap is a
       space), ' (a new line); the Info's strings under their keys; the
       trailer's id is no text */
    const char *c1 = "BT /F1 12 Tf 72 700 Td (Mail a@b.com) Tj [(SSN 536-)-20(22-1847)-400(ok)] TJ (n\\351e \\(x\\)) ' ET";
    n = pdf_obj(pdf, n, 1, "<< /Type /Catalog /Pages 2 0 R >>", NULL, 0, 0);
    n = pdf_obj(pdf, n, 2, "<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 5 0 R >> >> >>", NULL, 0, 0);
    n = pdf_obj(pdf, n, 3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>", NULL, 0, 0);
    n = pdf_obj(pdf, n, 4, "", c1, strlen(c1), 1);
    n = pdf_obj(pdf, n, 5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>", NULL, 0, 0);
    n = pdf_obj(pdf, n, 6, "<< /Author (Jane \\(Doe\\) \\101) /Title <FEFF00410020D83DDE00> /CreationDate (D:2026) >>", NULL, 0, 0);
    n += (size_t)sprintf(pdf + n, "xref\n0 7\n0000000000 65535 f \n0000000015 00000 n \ntrailer\n<< /Root 1 0 R /Info 6 0 R /ID [<0a1b2c3d4e5f60718293a4b5c6d7e8f9> <00ff00ff00ff00ff00ff00ff00ff00ff>] >>\nstartxref\n123\n%%%%EOF\n");
    const char *t1 = "{Author}Jane (Doe) A|{Title}A \xf0\x9f\x98\x80|\n\nMail a@b.comSSN 536-22-1847 ok\nn\xc3\xa9" "e (x)\n|";
    EXPECT_PATH(P, NULL, pdf, t1, "pdf");
    /* the same sniffed, and in base64 in JSON (Bedrock Converse's document) */
    EXPECT_PATH(NULL, NULL, pdf, t1, "pdf");
    static char enc[1 << 17], in[(1 << 17) + 256], want[(1 << 17) + 512];
    b64enc((const uint8_t *)pdf, n, enc);
    snprintf(in, sizeof(in), "{\"document\":{\"format\":\"pdf\",\"source\":{\"bytes\":\"%s\"}}}", enc);
    snprintf(want, sizeof(want), "document|{document}format|{format}pdf|source|{source}bytes|{bytes}%s|%s||", enc, t1);
    EXPECT("application/json", NULL, in, want);

    /* cairo's and LibreOffice's order: the page's content (compressed, its
       length an object after it) before its resources, its font (a Type0
       font, two-byte codes in hex) and the font's ToUnicode map (bfchar,
       bfrange with a destination and with an array) */
    const char *c2 = "q BT /f-0-0 1 Tf 12 0 0 -12 50 100 Tm <00250026002700280029> Tj 12 0 0 -12 50 120 Tm [<002A>-100<0030>] TJ ET Q";
    size_t zn = zlib_make((const uint8_t *)c2, strlen(c2), z, sizeof(z), 15);
    const char *cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
                       "1 begincodespacerange <0000> <ffff> endcodespacerange\n"
                       "2 beginbfchar <0025> <0031> <0026> <0032> endbfchar\n"
                       "2 beginbfrange <0027> <0029> <0033> <002A> <002A> [<00660069>] endbfrange\n"
                       "endcmap CMapName currentdict /CMap defineresource pop end end";
    n = (size_t)sprintf(pdf, "%%PDF-1.5\n");
    n = pdf_obj(pdf, n, 4, "/Filter /FlateDecode", z, zn, 0);
    n = pdf_obj(pdf, n, 99, "200", NULL, 0, 0);
    n = pdf_obj(pdf, n, 3, "<< /Font << /f-0-0 7 0 R >> >>", NULL, 0, 0);
    n = pdf_obj(pdf, n, 2, "<< /Type /Page /Parent 1 0 R /Resources 3 0 R /Contents [4 0 R] >>", NULL, 0, 0);
    n = pdf_obj(pdf, n, 8, "", cmap, strlen(cmap), 0);
    n = pdf_obj(pdf, n, 7, "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /ToUnicode 8 0 R >>", NULL, 0, 0);
    n = pdf_obj(pdf, n, 1, "<< /Type /Pages /Kids [2 0 R] /Count 1 >>", NULL, 0, 0);
    EXPECT_BIN(P, NULL, pdf, n, "\n\n12345\nfi\n|!PDF text with codes its font does not map!");
    /* the same font with no map: its text cannot be read */
    n = (size_t)sprintf(pdf, "%%PDF-1.5\n");
    n = pdf_obj(pdf, n, 4, "/Filter /FlateDecode", z, zn, 1);
    n = pdf_obj(pdf, n, 2, "<< /Type /Page /Resources << /Font << /f-0-0 7 0 R >> >> /Contents 4 0 R >>", NULL, 0, 0);
    n = pdf_obj(pdf, n, 7, "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H >>", NULL, 0, 0);
    EXPECT_BIN(P, NULL, pdf, n, "\n\n!PDF text in a font without a Unicode map!\n\n|");

    /* an object stream: a resources dictionary and an annotation's text;
       an image is reported, the text read all the same; a comment between
       objects is text; an embedded file is read by its type */
    const char *os = "10 0 11 30 << /Font << /F1 12 0 R >> >> << /Type /Annot /Contents (call +49 30 1234567) >>";
    zn = zlib_make((const uint8_t *)os, strlen(os), z, sizeof(z), 15);
    n = (size_t)sprintf(pdf, "%%PDF-1.5\n");
    n = pdf_obj(pdf, n, 9, "/Type /ObjStm /N 2 /First 10 /Filter [/FlateDecode]", z, zn, 1);
    const char *c3 = "BT /F1 9 Tf (x@y.de) Tj ET BI /W 2 /H 1 /BPC 8 /CS /G ID \x01\xff EI BT (z) Tj ET";
    n = pdf_obj(pdf, n, 13, "/Resources 10 0 R", c3, strlen(c3), 1);
    n = pdf_obj(pdf, n, 12, "<< /Type /Font /Subtype /TrueType /FirstChar 32 >>", NULL, 0, 0);
    n += (size_t)sprintf(pdf + n, "%% note: iban DE89 3704 0044 0532 0130 00\n");
    n = pdf_obj(pdf, n, 14, "/Type /XObject /Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8", "\xff\x00\x10", 3, 1);
    n = pdf_obj(pdf, n, 15, "/Type /EmbeddedFile /Subtype /text#2Fcsv", "name,mail\nbob,bob@z.io\n", 23, 0);
    EXPECT_BIN(P, NULL, pdf, n,
               "{Contents}call +49 30 1234567|!image in a PDF! note: iban DE89 3704 0044 0532 0130 00 |"
               "name|,|{name}mail|\n|{name}bob|,|{bob mail}bob@z.io|\n|\n|\nx@y.de\n\nz\n|"); /* (the CSV: cells under their column) */

    /* text no text operator shows still leaves: a string left on the
       stack, marked content's /ActualText, words and numbers no operator
       or coordinate is (in a content stream); a stream of other text
       (JavaScript) whole; XML (an XFA form's data) through the XML decoder */
    n = (size_t)sprintf(pdf, "%%PDF-1.7\n");
    const char *c4 = "BT /F1 9 Tf (shown) Tj ET (kept) pop 0 0 m 4111111111111111 w 12 Tw /P <</ActualText (Jane Roe)>> BDC EMC "
                     "536-22-1847 n q 1 0 0 1 0 0 cm Q";
    n = pdf_obj(pdf, n, 1, "", c4, strlen(c4), 1);
    n = pdf_obj(pdf, n, 2, "", "var card = '4111 1111 1111 1111'; app.alert(card);", 50, 1);
    n = pdf_obj(pdf, n, 3, "", "<?xml version='1.0'?><data><ssn>536-22-1847</ssn></data>", 56, 1);
    EXPECT_BIN(P, NULL, pdf, n,
               "var card = '4111 1111 1111 1111'; app.alert(card);|xml version='1.0'|data|{data}ssn|{ssn}536-22-1847|{}ssn|{}data|"
               "\nshown\nkept pop 4111111111111111 Jane Roe 536-22-1847 |");

    /* a font program (and an xref stream, a colour profile) is binary by
       its kind: its printable runs of 8 bytes or more are text, streamed
       (a font may be megabytes); a binary dictionary string likewise */
    n = (size_t)sprintf(pdf, "%%PDF-1.7\n");
    static const char font[] = "\x00\x01\x02" "card 4111 1111 1111 1111\x00\xff" "abc\x01" "Copyright (c) Foundry\x02";
    n = pdf_obj(pdf, n, 1, "/Length1 99", font, sizeof(font) - 1, 1);
    n = pdf_obj(pdf, n, 2, "<< /Data <0001020300010203000102030001020300010203000102030001020300010203"
                           "63617264203431313120313131312031313131203131313100> >>", NULL, 0, 0);
    EXPECT_BIN(P, NULL, pdf, n, "card 4111 1111 1111 1111|Copyright (c) Foundry|card 4111 1111 1111 1111|");

    /* refused: encryption (the whole document), a filter not read (the
       stream), a cut compressed stream; ASCIIHex before Flate is read */
    n = (size_t)sprintf(pdf, "%%PDF-1.4\n");
    n = pdf_obj(pdf, n, 1, "<< /Title (\x8a\x17garbled) >>", NULL, 0, 0);
    n += (size_t)sprintf(pdf + n, "trailer\n<< /Encrypt 5 0 R /Root 1 0 R >>\nstartxref\n0\n%%%%EOF\n");
    EXPECT_BIN(P, NULL, pdf, n, "{Title}\xc5\xa0 garbled|!encrypted PDF!");
    n = (size_t)sprintf(pdf, "%%PDF-1.4\n");
    n = pdf_obj(pdf, n, 1, "/Filter /LZWDecode", "\x80\x0b\x60", 3, 1);
    static char hex[2 * sizeof(z) + 2];
    zn = zlib_make((const uint8_t *)c1, strlen(c1), z, sizeof(z), 15);
    for (size_t i = 0; i < zn; i++)
        sprintf(hex + 2 * i, "%02x", z[i]);
    strcat(hex, ">");
    n = pdf_obj(pdf, n, 2, "/Filter [/AHx /Fl]", hex, strlen(hex), 0);
    n = pdf_obj(pdf, n, 3, "/Filter /FlateDecode", z, zn / 2, 1);
    EXPECT_BIN(P, NULL, pdf, n,
               "!PDF stream filter LZWDecode!!truncated compressed stream in a PDF!"
               "\n\nMail a@b.comSSN 536-22-1847 ok\nn\xc3\xa9" "e (x)\n|\n\n|");
}

/* ---- Parquet ---- */

/* A Thrift compact protocol writer, enough for page headers and a footer. */
struct tw {
    uint8_t *b;
    size_t n;
    int last[8];
    int depth;
};

static void tw_varint(struct tw *w, uint64_t v)
{
    while (v >= 0x80) {
        w->b[w->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    w->b[w->n++] = (uint8_t)v;
}

static void tw_field(struct tw *w, int id, int type)
{
    w->b[w->n++] = (uint8_t)((id - w->last[w->depth]) << 4 | type);
    w->last[w->depth] = id;
}

static void tw_i32(struct tw *w, int id, int32_t v)
{
    tw_field(w, id, 5);
    tw_varint(w, (uint64_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

static void tw_bin(struct tw *w, int id, const char *s)
{
    tw_field(w, id, 8);
    tw_varint(w, strlen(s));
    memcpy(w->b + w->n, s, strlen(s));
    w->n += strlen(s);
}

static void tw_begin(struct tw *w, int id)
{
    tw_field(w, id, 12);
    w->last[++w->depth] = 0;
}

static void tw_end(struct tw *w)
{
    w->b[w->n++] = 0;
    if (w->depth)
        w->depth--;
    else
        w->last[0] = 0;
}

/* PLAIN byte arrays (a 4-byte length each) of the strings in v. */
static size_t pq_plain(uint8_t *o, const char *const *v, size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        uint32_t l = (uint32_t)strlen(v[i]);
        memcpy(o + n, &l, 4);
        memcpy(o + n + 4, v[i], l);
        n += 4 + l;
    }
    return n;
}

/* A page: its header (type 0 data v1 with `enc`, 2 dictionary, 3 data v2
   with `lv` level bytes) and its bytes. */
static void pq_put(struct tw *w, int type, int enc, const void *page, size_t csize, size_t usize, size_t lv,
                   const char *smax, const char *smin)
{
    tw_i32(w, 1, type);
    tw_i32(w, 2, (int32_t)usize);
    tw_i32(w, 3, (int32_t)csize);
    tw_begin(w, type == 0 ? 5 : type == 2 ? 7 : 8);
    tw_i32(w, 1, 3);
    if (type == 0) {
        tw_i32(w, 2, enc);
        tw_i32(w, 3, 3);
        tw_i32(w, 4, 3);
        if (smax) {
            tw_begin(w, 5);
            tw_bin(w, 1, smax);
            tw_bin(w, 2, smin);
            tw_end(w);
        }
    } else if (type == 2) {
        tw_i32(w, 2, 0);
    } else {
        tw_i32(w, 2, 0);
        tw_i32(w, 3, 3);
        tw_i32(w, 4, enc);
        tw_i32(w, 5, (int32_t)lv);
        tw_i32(w, 6, 0);
    }
    tw_end(w);
    tw_end(w);
    memcpy(w->b + w->n, page, csize);
    w->n += csize;
}

static void tw_i64(struct tw *w, int id, int64_t v)
{
    tw_field(w, id, 6);
    tw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* a list field of k structs (then k structs, each ended by tw_end) */
static void tw_list(struct tw *w, int id, int k)
{
    tw_field(w, id, 9);
    w->b[w->n++] = (uint8_t)(k << 4 | 12);
}

/* Numbers: the footer gives the columns' types, the kept pages are read
 * by them: an INT64 card number (a required column), an INT32 under "ssn"
 * after its definition levels, a DATE in a dictionary page (its data page
 * of indices skipped); a DOUBLE column and short numbers give nothing.
 * Strings: a BYTE_ARRAY column's dictionary under the column's name. */
static void test_parquet_numbers(void)
{
    static uint8_t f[4096];
    struct tw w = {.b = f};
    memcpy(f, "PAR1", 4);
    w.n = 4;
    int64_t at[5], len[5];
    uint8_t v[64];
    at[0] = (int64_t)w.n;
    int64_t card = 4111111111111111LL, small = 42;
    memcpy(v, &card, 8);
    memcpy(v + 8, &small, 8);
    pq_put(&w, 0, 0, v, 16, 16, 0, NULL, NULL);
    len[0] = (int64_t)w.n - at[0];
    at[1] = (int64_t)w.n;
    int32_t ssn = 536221847;
    memcpy(v, "\x02\x00\x00\x00\x02\x01", 6);
    memcpy(v + 6, &ssn, 4);
    pq_put(&w, 0, 0, v, 10, 10, 0, NULL, NULL);
    len[1] = (int64_t)w.n - at[1];
    at[2] = (int64_t)w.n;
    int32_t dob = 5549; /* 1985-03-12 */
    pq_put(&w, 2, 0, &dob, 4, 4, 0, NULL, NULL);
    pq_put(&w, 0, 8, "\x02\x00\x00\x00\x02\x01\x01\x02\x00", 9, 9, 0, NULL, NULL);
    len[2] = (int64_t)w.n - at[2];
    at[3] = (int64_t)w.n;
    double amount = 4111111111111111.0;
    pq_put(&w, 0, 0, &amount, 8, 8, 0, NULL, NULL);
    len[3] = (int64_t)w.n - at[3];
    at[4] = (int64_t)w.n; /* strings: a dictionary page of PLAIN byte arrays */
    pq_put(&w, 2, 0, "\x09\x00\x00\x00" "C01X00T47" "\x01\x00\x00\x00X", 18, 18, 0, NULL, NULL);
    len[4] = (int64_t)w.n - at[4];
    size_t foot = w.n;
    static const char *const names[] = {"card_number", "ssn", "dob", "amount", "passport_number"};
    static const int types[] = {2, 1, 1, 5, 6}, reps[] = {0, 1, 1, 0, 0};
    tw_i32(&w, 1, 2);
    tw_list(&w, 2, 6);
    w.last[++w.depth] = 0;
    tw_bin(&w, 4, "schema");
    tw_i32(&w, 5, 5);
    tw_end(&w);
    for (int c = 0; c < 5; c++) {
        w.last[++w.depth] = 0;
        tw_i32(&w, 1, types[c]);
        tw_i32(&w, 3, reps[c]);
        tw_bin(&w, 4, names[c]);
        if (c == 2)
            tw_i32(&w, 6, 6); /* DATE */
        tw_end(&w);
    }
    tw_i64(&w, 3, 2);
    tw_list(&w, 4, 1);
    w.last[++w.depth] = 0;
    tw_list(&w, 1, 5);
    for (int c = 0; c < 5; c++) {
        w.last[++w.depth] = 0;
        tw_i64(&w, 2, at[c]);
        tw_begin(&w, 3);
        tw_i32(&w, 1, types[c]);
        tw_i64(&w, 7, len[c]);
        tw_i64(&w, 9, at[c] + (c == 2 ? len[2] - 9 - 14 : 0));
        if (c == 2 || c == 4)
            tw_i64(&w, 11, at[c]);
        tw_end(&w);
        tw_end(&w);
    }
    tw_end(&w);
    tw_end(&w);
    uint32_t fl = (uint32_t)(w.n - foot);
    memcpy(f + w.n, &fl, 4);
    memcpy(f + w.n + 4, "PAR1", 4);
    w.n += 8;
    expect_bin("application/vnd.apache.parquet", NULL, f, w.n,
               "schema|card_number|ssn|dob|amount|passport_number|{card_number}4111111111111111|{ssn}536221847|"
               "{dob}1985-03-12|{passport_number}C01X00T47|{passport_number}X|",
               "parquet", __LINE__);
    /* without its footer the types are unknown: nothing read as numbers,
       and the strings go out without their column's name */
    expect_bin("application/vnd.apache.parquet", NULL, f, foot, "C01X00T47|X|!truncated Parquet file!", "parquet",
               __LINE__);
}

static void test_parquet(void)
{
    const char *P = "application/vnd.apache.parquet";
    static uint8_t f[1 << 15], page[4096], packed[4096];
    struct tw w = {.b = f};
    memcpy(f, "PAR1", 4);
    w.n = 4;
    /* a dictionary page (PLAIN), a data page of its indices (skipped: no
       text) with statistics (text), a column chunk's metadata */
    static const char *const dict[] = {"alice@x.io", "bob", "carol smith"};
    size_t pn = pq_plain(page, dict, 3);
    pq_put(&w, 2, 0, page, pn, pn, 0, NULL, NULL);
    pq_put(&w, 0, 8, "\x02\x00\x00\x00\x03\x00\x06\x01\x02", 9, 9, 0, "carol smith", "alice@x.io");
    tw_i32(&w, 1, 6);
    tw_bin(&w, 3, "email");
    tw_end(&w);
    /* PLAIN values after definition levels (optional column) */
    static const char *const v1[] = {"dave@y.io", "erin"};
    memcpy(page, "\x02\x00\x00\x00\x06\x01", 6);
    pn = 6 + pq_plain(page + 6, v1, 2);
    pq_put(&w, 0, 0, page, pn, pn, 0, NULL, NULL);
    /* compressed: snappy (one literal), gzip, zstd; a v2 page (levels
       before its compressed values) */
    static const char *const v2[] = {"frank@z.io", "SSN 536-22-1847"};
    pn = pq_plain(page, v2, 2);
    packed[0] = (uint8_t)pn;
    packed[1] = (uint8_t)((pn - 1) << 2);
    memcpy(packed + 2, page, pn);
    pq_put(&w, 0, 0, packed, pn + 2, pn, 0, NULL, NULL);
    size_t zn = zlib_make(page, pn, packed, sizeof(packed), 16 + 15);
    pq_put(&w, 0, 0, packed, zn, pn, 0, NULL, NULL);
    zn = ZSTD_compress(packed, sizeof(packed), page, pn, 3);
    pq_put(&w, 0, 0, packed, zn, pn, 0, NULL, NULL);
    memcpy(packed, "\x02\x01\x01", 3);
    zn = 3 + zlib_make(page, pn, packed + 3, sizeof(packed) - 3, 16 + 15);
    pq_put(&w, 3, 0, packed, zn, pn + 3, 3, NULL, NULL);
    /* the footer: the Arrow schema's value skipped, the rest text */
    tw_i32(&w, 1, 2);
    tw_field(&w, 5, 9);
    f[w.n++] = 0x1c; /* a list of one struct */
    w.last[++w.depth] = 0;
    tw_bin(&w, 1, "ARROW:schema");
    tw_bin(&w, 2, "/////3ABAAAQAAAAAAAKAAwACgAJAAQA");
    tw_end(&w);
    tw_bin(&w, 6, "parquet-rs version 51.0.0");
    tw_end(&w);
    memcpy(f + w.n, "\x40\x00\x00\x00PAR1", 8);
    w.n += 8;
    /* (the pages' strings are kept for their columns' names; this footer
       names none, so they go out after it without one; the statistics
       of the page headers come at once) */
    const char *want = "carol smith|alice@x.io|email|ARROW:schema|parquet-rs version 51.0.0|alice@x.io|bob|carol smith|"
                       "dave@y.io|erin|frank@z.io|SSN 536-22-1847|frank@z.io|SSN 536-22-1847|frank@z.io|SSN 536-22-1847|"
                       "frank@z.io|SSN 536-22-1847|";
    expect_bin(P, NULL, f, w.n, want, "parquet", __LINE__);
    expect_bin(NULL, NULL, f, w.n, want, "parquet", __LINE__);
    /* cut: what came before, then the report */
    expect_bin(P, NULL, f, w.n - 40,
               "carol smith|alice@x.io|email|alice@x.io|bob|carol smith|dave@y.io|erin|"
               "frank@z.io|SSN 536-22-1847|frank@z.io|SSN 536-22-1847|frank@z.io|SSN 536-22-1847|"
               "frank@z.io|SSN 536-22-1847|!truncated Parquet file!",
               "parquet", __LINE__);
    /* a page whose codec is not told apart (LZ4): reported, the rest read */
    w.n = 4;
    pq_put(&w, 0, 0, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10, 100, 0, NULL, NULL);
    pq_put(&w, 0, 0, "\x04\x00\x00\x00gail", 8, 8, 0, NULL, NULL);
    /* a value mostly binary: its printable runs */
    pq_put(&w, 0, 0, "\x19\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0e\x0fmail e@f.io", 29, 29, 0,
           NULL, NULL);
    memcpy(f + w.n, "\x00\x00\x00\x00PAR1", 8);
    w.n += 8;
    expect_bin(P, NULL, f, w.n, "!Parquet page compressed with a codec not read!gail|mail e@f.io|", "parquet", __LINE__);
    /* no magic */
    expect_bin(P, NULL, "PAR2....", 8, "!malformed Parquet file!", "parquet", __LINE__);
    test_parquet_numbers();
}

/* ---- Avro ---- */

static size_t av_long(uint8_t *o, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (z >= 0x80) {
        o[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    o[n++] = (uint8_t)z;
    return n;
}

static size_t av_str(uint8_t *o, const char *s)
{
    size_t n = av_long(o, (int64_t)strlen(s));
    memcpy(o + n, s, strlen(s));
    return n + strlen(s);
}

/* A container file's header: its schema, codec and sync marker. */
static size_t av_head(uint8_t *o, const char *schema, const char *codec)
{
    size_t n = 4;
    memcpy(o, "Obj\x01", 4);
    n += av_long(o + n, 2);
    n += av_str(o + n, "avro.schema");
    n += av_str(o + n, schema);
    n += av_str(o + n, "avro.codec");
    n += av_str(o + n, codec);
    n += av_long(o + n, 0);
    memcpy(o + n, "0123456789abcdef", 16);
    return n + 16;
}

static size_t av_blk(uint8_t *o, int64_t count, const uint8_t *data, size_t dn)
{
    size_t n = av_long(o, count);
    n += av_long(o + n, (int64_t)dn);
    memcpy(o + n, data, dn);
    memcpy(o + n + dn, "0123456789abcdef", 16);
    return n + dn + 16;
}

static void test_avro(void)
{
    const char *A = "application/avro";
    const char *schema =
        "{\"type\":\"record\",\"name\":\"C\",\"namespace\":\"x.y\",\"fields\":["
        "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"email\",\"type\":[\"null\",\"string\"]},"
        "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
        "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
        "{\"name\":\"tier\",\"type\":{\"type\":\"enum\",\"name\":\"T\",\"symbols\":[\"GOLD\",\"SILVER\"]}},"
        "{\"name\":\"h\",\"type\":{\"type\":\"fixed\",\"name\":\"H\",\"size\":2}},"
        "{\"name\":\"next\",\"type\":[\"null\",\"C\"]},{\"name\":\"score\",\"type\":\"double\"},"
        "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]}";
    static uint8_t f[8192], objs[2048], z[2048];
    size_t on = 0;
    for (int i = 0; i < 2; i++) {
        on += av_long(objs + on, 7 + i);
        on += av_long(objs + on, i ? 0 : 1);
        if (!i)
            on += av_str(objs + on, "bob@corp-mail.de");
        on += av_long(objs + on, -1); /* an array block with its size */
        on += av_long(objs + on, 2);
        on += av_str(objs + on, "t");
        on += av_long(objs + on, 0);
        on += av_long(objs + on, 1);
        on += av_str(objs + on, "ssn");
        on += av_str(objs + on, "536-22-1847");
        on += av_long(objs + on, 0);
        on += av_long(objs + on, 1);
        memcpy(objs + on, "\x01\x02", 2);
        on += 2;
        on += av_long(objs + on, i); /* next: null, or a C */
        if (i) {
            on += av_long(objs + on, 9);
            on += av_long(objs + on, 0);
            on += av_long(objs + on, 0);
            on += av_long(objs + on, 0);
            on += av_long(objs + on, 0);
            memcpy(objs + on, "\x00\x00", 2);
            on += 2;
            on += av_long(objs + on, 0);
            memset(objs + on, 0, 8);
            on += 8;
            on += av_long(objs + on, 1);
        }
        memset(objs + on, 0, 8);
        on += 8;
        on += av_long(objs + on, 1732752000000);
    }
    /* (the schema is text too, first) */
    static char want[4096], objs_want[512];
    snprintf(objs_want, sizeof(objs_want), "{email}bob@corp-mail.de|{tags}t|{attrs}ssn|{ssn}536-22-1847|{tags}t|{attrs}ssn|{ssn}536-22-1847|");
    snprintf(want, sizeof(want), "{avro.schema}%s|%s", schema, objs_want);
    size_t n = av_head(f, schema, "null");
    n += av_blk(f + n, 2, objs, on);
    expect_bin(A, NULL, f, n, want, "avro", __LINE__);
    expect_bin(NULL, NULL, f, n, want, "avro", __LINE__);
    /* deflate (raw; bytes after its end ignored, as Python's writer leaves
       them), and two blocks */
    n = av_head(f, schema, "deflate");
    size_t zn = zlib_make(objs, on, z, sizeof(z), -15);
    memcpy(z + zn, "\xaa\xbb\xcc", 3);
    n += av_blk(f + n, 2, z, zn + 3);
    n += av_blk(f + n, 2, z, zn);
    static char want2[8192];
    snprintf(want2, sizeof(want2), "%s%s", want, objs_want);
    expect_bin(A, NULL, f, n, want2, "avro", __LINE__);
    /* zstandard and bzip2 through the chain's decoders */
    n = av_head(f, schema, "zstandard");
    zn = ZSTD_compress(z, sizeof(z), objs, on, 3);
    n += av_blk(f + n, 2, z, zn);
    expect_bin(A, NULL, f, n, want, "avro", __LINE__);
    /* refused: a wrong sync marker (after the block is read), a block whose
       objects do not fill it, a codec not read, a schema not read, a cut
       file */
    n = av_head(f, schema, "null");
    n += av_blk(f + n, 2, objs, on);
    f[n - 1] ^= 1;
    static char want3[8192];
    snprintf(want3, sizeof(want3), "%s!malformed Avro file (a sync marker)!", want);
    expect_bin(A, NULL, f, n, want3, "avro", __LINE__);
    n = av_head(f, schema, "null");
    n += av_blk(f + n, 1, objs, on);
    snprintf(want3, sizeof(want3), "{avro.schema}%s|{email}bob@corp-mail.de|{tags}t|{attrs}ssn|{ssn}536-22-1847|!malformed Avro block!",
             schema);
    expect_bin(A, NULL, f, n, want3, "avro", __LINE__);
    n = av_head(f, schema, "lz4");
    snprintf(want3, sizeof(want3), "{avro.schema}%s|!Avro codec lz4 not read!", schema);
    expect_bin(A, NULL, f, n, want3, "avro", __LINE__);
    const char *nope = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"Nope\"}]}";
    n = av_head(f, nope, "null");
    snprintf(want3, sizeof(want3), "{avro.schema}%s|!Avro schema not read!", nope);
    expect_bin(A, NULL, f, n, want3, "avro", __LINE__);
    n = av_head(f, schema, "null");
    n += av_blk(f + n, 2, objs, on);
    snprintf(want3, sizeof(want3), "{avro.schema}%s|!truncated Avro file!", schema);
    expect_bin(A, NULL, f, n - 20, want3, "avro", __LINE__);
    /* numbers: a long of six digits or more and an int as decimals under
       their field, a date as its ISO date; shorter numbers, timestamps and
       times are not passed on */
    const char *nums = "{\"type\":\"record\",\"name\":\"N\",\"fields\":["
                       "{\"name\":\"card\",\"type\":\"long\"},{\"name\":\"ssn\",\"type\":\"int\"},"
                       "{\"name\":\"age\",\"type\":\"int\"},{\"name\":\"neg\",\"type\":\"long\"},"
                       "{\"name\":\"dob\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
                       "{\"name\":\"old\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
                       "{\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
                       "{\"name\":\"t\",\"type\":{\"type\":\"int\",\"logicalType\":\"time-millis\"}}]}";
    uint8_t o[128];
    size_t onn = av_long(o, 4111111111111111LL);
    onn += av_long(o + onn, 536221847);
    onn += av_long(o + onn, 42);
    onn += av_long(o + onn, -123456);
    onn += av_long(o + onn, 5549);  /* 1985-03-12 */
    onn += av_long(o + onn, -8000); /* 1948-02-06 */
    onn += av_long(o + onn, 1732752000000000LL);
    onn += av_long(o + onn, 36000000);
    n = av_head(f, nums, "null");
    n += av_blk(f + n, 1, o, onn);
    snprintf(want3, sizeof(want3),
             "{avro.schema}%s|{card}4111111111111111|{ssn}536221847|{neg}-123456|{dob}1985-03-12|{old}1948-02-06|", nums);
    expect_bin(A, NULL, f, n, want3, "avro", __LINE__);
}

/* ---- X.509 ---- */

/* A self-signed certificate (req 0; 3: with an extension of its own), a
   request (1) or a CRL (2) of "Bob Smith" with an email in the name and
   four alternative names (not the CRL); DER into der[], its length. */
static size_t x509_make(int req, uint8_t *der, size_t cap)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_NAME *nm = X509_NAME_new();
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"Bob Smith", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "emailAddress", MBSTRING_ASC,
                               (const unsigned char *)"bob@corp-mail.de", -1, -1, 0);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(
        NULL, &v3, NID_subject_alt_name,
        "email:alice@example.org,DNS:host.example,IP:10.1.2.3,"
        "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:jane@corp-mail.de");
    CHECK(k && nm && san);
    uint8_t *p = der;
    int n = -1;
    if (req == 2) { /* a CRL: the issuer's name */
        X509_CRL *c = X509_CRL_new();
        X509_CRL_set_version(c, 1);
        X509_CRL_set_issuer_name(c, nm);
        ASN1_TIME *t = X509_gmtime_adj(NULL, 0);
        X509_CRL_set1_lastUpdate(c, t);
        ASN1_TIME_free(t);
        X509_CRL_sign(c, k, EVP_sha256());
        if (i2d_X509_CRL(c, NULL) <= (int)cap)
            n = i2d_X509_CRL(c, &p);
        X509_CRL_free(c);
    } else if (req == 1) {
        X509_REQ *r = X509_REQ_new();
        X509_REQ_set_subject_name(r, nm);
        X509_REQ_set_pubkey(r, k);
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        sk_X509_EXTENSION_push(exts, san);
        X509_REQ_add_extensions(r, exts);
        sk_X509_EXTENSION_free(exts);
        X509_REQ_sign(r, k, EVP_sha256());
        if (i2d_X509_REQ(r, NULL) <= (int)cap)
            n = i2d_X509_REQ(r, &p);
        X509_REQ_free(r);
    } else {
        X509 *x = X509_new();
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 4711);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_set_subject_name(x, nm);
        X509_set_issuer_name(x, nm);
        X509_set_pubkey(x, k);
        X509_add_ext(x, san, -1);
        if (req == 3) { /* an extension of its own, holding a UTF8String */
            ASN1_OBJECT *obj = OBJ_txt2obj("1.2.3.4.5", 1);
            ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
            ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x0c\x0atop.secret", 12);
            X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
            CHECK(e && X509_add_ext(x, e, -1));
            X509_EXTENSION_free(e);
            ASN1_OCTET_STRING_free(os);
            ASN1_OBJECT_free(obj);
        }
        X509_sign(x, k, EVP_sha256());
        if (i2d_X509(x, NULL) <= (int)cap)
            n = i2d_X509(x, &p);
        X509_free(x);
    }
    X509_EXTENSION_free(san);
    X509_NAME_free(nm);
    EVP_PKEY_free(k);
    CHECK(n > (req == 2 ? 100 : 300));
    return n > 0 ? (size_t)n : 0;
}

/* Expects the transcript of in[0..n) (type ct, path x509) to begin with
   `names` and to hold `objects` signatures after them: a certificate's,
   request's or CRL's serial number, key and signature go on as bytes,
   through the normalisation like any text (so no exact transcript is
   written here for them); then the same at every split. */
static void x509_expect(const char *ct, const void *in, size_t n, const char *names, int objects, int line)
{
    char *got = run(ct, NULL, in, n);
    size_t len = g_run_len, k = strlen(names);
    int sigs = 0;
    for (const char *q = got; (q = memmem(q, len - (size_t)(q - got), "{signature}", 11)) != NULL; q += 11)
        sigs++;
    if (len < k || memcmp(got, names, k) != 0 || sigs != objects || strcmp(g_path, "x509") != 0 ||
        memmem(got, len, "!DER", 4)) {
        fprintf(stderr, "line %d: x509 transcript [%.*s] (%d signatures)\n", line, (int)(len < 600 ? len : 600), got,
                sigs);
        failures++;
    }
    expect_bin(ct, NULL, in, n, got, "x509", line);
    free(got);
}

/* No uninspectable report in the last transcript (its whole length). */
static int x509_no_report(const char *got)
{
    return memmem(got, g_run_len, "that is no", 10) == NULL && memmem(got, g_run_len, "!DER", 4) == NULL;
}

/* Certificates, requests and CRLs: a PEM certificate of 1 KiB or more was
   reported `base64 data that is no text` (uninspectable), so a policy that
   denies what it cannot see denied every certificate upload (ACM
   ImportCertificate, CA bundles). Their names now go on as text, from DER
   (declared or sniffed), PEM and base64 DER in JSON; other DER is
   reported. */
static void test_x509(void)
{
    static uint8_t der[8192], two[16384], junk[70000];
    static char js[40000], want[2048];
    static const char names[] = "{commonName}Bob Smith|{emailAddress}bob@corp-mail.de|";
    static const char alt[] = "{email}alice@example.org|{DNS}host.example|{IP Address}10.1.2.3|"
                              "{otherName}jane@corp-mail.de|";
    size_t n = x509_make(0, der, sizeof(der));
    /* subject, alternative names, issuer (the subject: self-signed), then
       serial number, key and signature as bytes */
    snprintf(want, sizeof(want), "%s%s%s{serialNumber}\x12\x67|{publicKey}", names, alt, names);
    x509_expect("application/pkix-cert", der, n, want, 1, __LINE__);
    x509_expect(NULL, der, n, want, 1, __LINE__);
    /* a chain: two in a row */
    memcpy(two, der, n);
    memcpy(two + n, der, n);
    x509_expect("application/x-x509-ca-cert", two, 2 * n, want, 2, __LINE__);
    /* PEM in text, base64 DER in JSON (a chain of 2 KiB and more too),
       for a certificate whose base64 has padding and one whose has none
       (the "-----END" after it was read as base64url: x509_finish) */
    int seen[2] = {0, 0};
    for (int t = 0; t < 60 && !(seen[0] && seen[1]); t++) {
        n = x509_make(0, der, sizeof(der));
        if (seen[n % 3 == 0]++)
            continue;
        memcpy(two, der, n);
        memcpy(two + n, der, n);
        for (int chain = 0; chain < 2; chain++) {
            size_t k = (size_t)sprintf(js, "-----BEGIN CERTIFICATE-----\n");
            size_t b = b64_enc(chain ? two : der, chain ? 2 * n : n, js + k);
            for (size_t i = 0; i < b; i += 64) { /* 64 a line, as PEM has it */
                size_t l = b - i < 64 ? b - i : 64;
                memmove(js + k + l + 1, js + k + l, b - i - l + 1);
                js[k + l] = '\n';
                k += l + 1;
            }
            sprintf(js + k, "-----END CERTIFICATE-----\n");
            char *got = run("text/plain", NULL, js, strlen(js));
            if (!strstr(got, alt) || !x509_no_report(got))
                fprintf(stderr, "PEM certificate: got [%s]\n", got);
            CHECK(strstr(got, alt) != NULL && x509_no_report(got));
            expect_bin("text/plain", NULL, js, strlen(js), got, NULL, __LINE__);
            free(got);
            k = (size_t)sprintf(js, "{\"CertificateChain\":\"");
            k += b64_enc(chain ? two : der, chain ? 2 * n : n, js + k);
            sprintf(js + k, "\"}");
            got = run("application/x-amz-json-1.1", NULL, js, strlen(js));
            CHECK(strstr(got, alt) != NULL && x509_no_report(got));
            expect_bin("application/x-amz-json-1.1", NULL, js, strlen(js), got, NULL, __LINE__);
            free(got);
        }
    }
    CHECK(seen[0] && seen[1]);
    /* a PKCS#7 certificate list (.p7b): the certificates' names; signed
       content is reported (it is not names) */
    {
        const unsigned char *q = der;
        X509 *xc = d2i_X509(NULL, &q, (long)n);
        for (int content = 0; content < 2; content++) {
            PKCS7 *p7 = PKCS7_new();
            CHECK(xc && p7 && PKCS7_set_type(p7, NID_pkcs7_signed) && PKCS7_content_new(p7, NID_pkcs7_data) &&
                  PKCS7_add_certificate(p7, xc));
            if (content)
                ASN1_OCTET_STRING_set(p7->d.sign->contents->d.data, (const unsigned char *)"hello", 5);
            uint8_t *w = two;
            int l = i2d_PKCS7(p7, NULL) <= (int)sizeof(two) ? i2d_PKCS7(p7, &w) : -1;
            PKCS7_free(p7);
            CHECK(l > 0);
            snprintf(want, sizeof(want), "%s%s%s{serialNumber}\x12\x67|{publicKey}", names, alt, names);
            for (int typed = 0; typed < 2; typed++) {
                if (content)
                    expect_bin(typed ? "application/x-x509-ca-cert" : NULL, NULL, two, (size_t)(l > 0 ? l : 0),
                               "!PKCS#7 signed data with content!", "x509", __LINE__);
                else
                    x509_expect(typed ? "application/x-x509-ca-cert" : NULL, two, (size_t)(l > 0 ? l : 0), want, 1,
                                __LINE__);
            }
        }
        X509_free(xc);
    }
    /* an extension of its own: its value's bytes (here a UTF8String) */
    n = x509_make(3, der, sizeof(der));
    snprintf(want, sizeof(want), "%s%s{extension}\x0c\x0atop.secret|%s{serialNumber}", names, alt, names);
    x509_expect("application/pkix-cert", der, n, want, 1, __LINE__);
    /* a request: subject and requested alternative names */
    n = x509_make(1, der, sizeof(der));
    snprintf(want, sizeof(want), "%s%s{publicKey}", names, alt);
    x509_expect("application/pkcs10", der, n, want, 1, __LINE__);
    /* a CRL (small: a short-form inner length), declared and sniffed */
    n = x509_make(2, der, sizeof(der));
    snprintf(want, sizeof(want), "%s{signature}", names);
    x509_expect("application/pkix-crl", der, n, want, 1, __LINE__);
    x509_expect(NULL, der, n, want, 1, __LINE__);
    /* DER that is none of them: its bytes looked at ("{data}"); declared,
       and as base64 of 1 KiB or more in JSON, reported; shorter base64 not
       (as any short binary run) */
    uint32_t x = 11;
    for (size_t i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    memcpy(junk, "\x30\x82\x07\xcc\x30\x82\x07\x00", 8);
    static const char no_cert[] = "|!DER data that is no certificate!";
    char *got = run("application/pkix-cert", NULL, junk, 2000);
    CHECK(strncmp(got, "{data}", 6) == 0 && g_run_len > sizeof(no_cert) &&
          memcmp(got + g_run_len - (sizeof(no_cert) - 1), no_cert, sizeof(no_cert) - 1) == 0);
    expect_bin("application/pkix-cert", NULL, junk, 2000, got, "x509", __LINE__);
    free(got);
    size_t k = (size_t)sprintf(js, "[\"");
    k += b64_enc(junk, 2000, js + k);
    sprintf(js + k, "\"]");
    got = run("application/json", NULL, js, strlen(js));
    CHECK(memmem(got, g_run_len, "|{data}", 7) != NULL && memmem(got, g_run_len, no_cert, sizeof(no_cert) - 1) != NULL);
    expect_bin("application/json", NULL, js, strlen(js), got, NULL, __LINE__);
    free(got);
    k = (size_t)sprintf(js, "[\"");
    k += b64_enc(junk, 600, js + k);
    sprintf(js + k, "\"]");
    got = run("application/json", NULL, js, strlen(js));
    CHECK(memmem(got, g_run_len, "|{data}", 7) != NULL && x509_no_report(got));
    free(got);
    /* text glued after a certificate in one base64 run: looked at, found */
    memcpy(two, der, n);
    memcpy(two + n, " key AKIA5ZK6SXQ7BR2LMNOP ", 26);
    k = (size_t)sprintf(js, "[\"");
    k += b64_enc(two, n + 26, js + k);
    sprintf(js + k, "\"]");
    got = run("application/json", NULL, js, strlen(js));
    CHECK(memmem(got, g_run_len, "{data} key AKIA5ZK6SXQ7BR2LMNOP |", 33) != NULL && x509_no_report(got));
    expect_bin("application/json", NULL, js, strlen(js), got, NULL, __LINE__);
    free(got);
    /* over 64 KiB of DER */
    memcpy(junk, "\x30\x82\xff\xff\x30\x82\xff\x00", 8);
    expect_bin("application/pkix-cert", NULL, junk, sizeof(junk), "!DER data over 64 KiB!", "x509",
               __LINE__);
    /* PEM declared under a certificate type is read as text; garbage
       under it gets the type's reason */
    EXPECT("application/x-x509-ca-cert", NULL, "plain words", "plain words|");
    EXPECT_BIN("application/pkix-cert", NULL, "\x01\x02\x03\x00\xff", 5,
               "!content-type application/pkix-cert not inspectable!");
    /* the OpenSSL error queue is left empty (the proxy's TLS code reads it) */
    CHECK(ERR_peek_error() == 0);
}

/* ---- private keys ---- */

/* A private key's DER: 0 PKCS#8 (i2d_PKCS8PrivateKey), 1 the traditional
   form (PKCS#1, SEC1), 2 encrypted PKCS#8, 3 PKCS#12 with a certificate. */
static size_t key_der(EVP_PKEY *k, int form, uint8_t *der, size_t cap)
{
    int n = -1;
    uint8_t *p = der;
    if (form == 0) {
        PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
        if (p8 && i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) <= (int)cap)
            n = i2d_PKCS8_PRIV_KEY_INFO(p8, &p);
        PKCS8_PRIV_KEY_INFO_free(p8);
    } else if (form == 1) {
        if (i2d_PrivateKey(k, NULL) <= (int)cap)
            n = i2d_PrivateKey(k, &p);
    } else if (form == 2) {
        BIO *b = BIO_new(BIO_s_mem());
        char *m = NULL;
        if (b && i2d_PKCS8PrivateKey_bio(b, k, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"pw")) {
            long l = BIO_get_mem_data(b, &m);
            if (l > 0 && (size_t)l <= cap) {
                memcpy(der, m, (size_t)l);
                n = (int)l;
            }
        }
        BIO_free(b);
    } else {
        X509 *x = X509_new();
        X509_NAME *nm = X509_NAME_new();
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"keystore", -1, -1, 0);
        X509_set_version(x, 2);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_set_subject_name(x, nm);
        X509_set_issuer_name(x, nm);
        X509_set_pubkey(x, k);
        X509_sign(x, k, EVP_sha256());
        PKCS12 *p12 = PKCS12_create("pw", NULL, k, x, NULL, 0, 0, 0, 0, 0);
        if (p12 && i2d_PKCS12(p12, NULL) <= (int)cap)
            n = i2d_PKCS12(p12, &p);
        PKCS12_free(p12);
        X509_NAME_free(nm);
        X509_free(x);
    }
    CHECK(n > 0);
    return n > 0 ? (size_t)n : 0;
}

/* Private keys are secrets a decoder recognises by their structure: DER
   (declared, sniffed, base64 in JSON, PEM) is reported as a key
   (CLS_REPORT_KEY, "!K:"), never passed on as text. Without this, an EC or
   Ed25519 key in base64 without its PEM lines (a JSON field) passed clean
   (under 1 KiB: no binary report), an RSA key was merely uninspectable. */
static void test_keys(void)
{
    static uint8_t der[8192], sig[600];
    static char js[16384], want[256];
    EVP_PKEY *keys[3] = {EVP_RSA_gen(1024), EVP_EC_gen("P-256"), EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")};
    static const char *const trad[3] = {"RSA", "EC", NULL};
    for (int ki = 0; ki < 3; ki++) {
        CHECK(keys[ki] != NULL);
        for (int form = 0; form < 4 && keys[ki]; form++) {
            if (form == 1 && !trad[ki])
                continue; /* (Ed25519 has PKCS#8 only) */
            if (form == 3 && ki == 2)
                continue;
            size_t n = key_der(keys[ki], form, der, sizeof(der));
            if (form == 0)
                snprintf(want, sizeof(want), "!K:PKCS#8 private key in DER!");
            else if (form == 1)
                snprintf(want, sizeof(want), "!K:%s private key in DER!", trad[ki]);
            else if (form == 2)
                snprintf(want, sizeof(want), "!K:encrypted PKCS#8 private key in DER!");
            else
                snprintf(want, sizeof(want), "!K:PKCS#12 key store in DER!");
            /* declared, and sniffed: the report alone (nothing of the key
               goes on as text) */
            expect_bin(form == 3 ? "application/x-pkcs12" : "application/pkcs8", NULL, der, n, want, "x509",
                       __LINE__);
            expect_bin(NULL, NULL, der, n, want, "x509", __LINE__);
            /* base64 in JSON, then PEM in text: the report after the run's
               text, and no binary report */
            size_t k = (size_t)sprintf(js, "{\"key\":\"");
            size_t b = b64_enc(der, n, js + k);
            sprintf(js + k + b, "\"}");
            char *got = run("application/json", NULL, js, strlen(js));
            int ok = strncmp(got, "key|{key}", 9) == 0 && strncmp(got + 9, js + k, b) == 0 &&
                     strstr(got, want) && !strstr(got, "that is no") && !strstr(got, "!DER");
            if (!ok)
                fprintf(stderr, "key %d form %d in JSON: got [%.300s]\n", ki, form, got);
            CHECK(ok);
            expect_bin("application/json", NULL, js, strlen(js), got, NULL, __LINE__);
            free(got);
            k = (size_t)sprintf(js, "-----BEGIN PRIVATE KEY-----\n");
            b = b64_enc(der, n, js + k);
            for (size_t i = 0; i < b; i += 64) { /* 64 a line */
                size_t l = b - i < 64 ? b - i : 64;
                memmove(js + k + l + 1, js + k + l, b - i - l + 1);
                js[k + l] = '\n';
                k += l + 1;
            }
            sprintf(js + k, "-----END PRIVATE KEY-----\n");
            got = run("text/plain", NULL, js, strlen(js));
            CHECK(strstr(got, want) != NULL && !strstr(got, "that is no") && !strstr(got, "!DER"));
            expect_bin("text/plain", NULL, js, strlen(js), got, NULL, __LINE__);
            free(got);
            /* byte lists: a C array, a Java one (signed), in text */
            for (int bl = 0; bl < 2 && n * 8 + 64 < sizeof(js); bl++) {
                k = (size_t)sprintf(js, bl ? "byte[] k = {" : "static const uint8_t k[] = {");
                for (size_t i = 0; i < n; i++)
                    k += (size_t)sprintf(js + k, bl ? "%s%d" : "%s0x%02x", i ? (i % 12 ? ", " : ",\n    ") : "",
                                         bl && der[i] > 127 ? der[i] - 256 : der[i]);
                sprintf(js + k, "};\n");
                got = run("text/plain", NULL, js, strlen(js));
                ok = strstr(got, want) && !strstr(got, "that is no") && !strstr(got, "!DER");
                if (!ok)
                    fprintf(stderr, "key %d form %d in a byte list %d: got [%.300s]\n", ki, form, bl, got);
                CHECK(ok);
                free(got);
            }
            /* hex: lower case in JSON; upper case after "0x" in text,
               wrapped as `xxd -p` writes (60 digits a line). Before, an
               Ed25519 key in hex passed clean, the others were "hex data
               that is no text" */
            for (int hx = 0; hx < 2; hx++) {
                k = (size_t)sprintf(js, hx ? "key = 0x" : "{\"key\":\"");
                for (size_t i = 0; i < n; i++)
                    k += (size_t)sprintf(js + k, hx ? "%02X%s" : "%02x%s", der[i],
                                         hx && i % 30 == 29 && i + 1 < n ? "\n" : "");
                sprintf(js + k, hx ? "\n" : "\"}");
                const char *ct = hx ? "text/plain" : "application/json";
                got = run(ct, NULL, js, strlen(js));
                ok = strstr(got, want) && !strstr(got, "that is no") && !strstr(got, "!DER");
                if (!ok)
                    fprintf(stderr, "key %d form %d in hex %d: got [%.300s]\n", ki, form, hx, got);
                CHECK(ok);
                expect_bin(ct, NULL, js, strlen(js), got, NULL, __LINE__);
                free(got);
            }
        }
        EVP_PKEY_free(keys[ki]);
    }
    /* OpenSSH's binary form, in base64 (the lines of an OPENSSH PRIVATE KEY
       block, or a JSON field) */
    {
        static const char magic[] = "openssh-key-v1\0\0\0\0\x04none\0\0\0\x04none";
        memcpy(der, magic, sizeof(magic) - 1);
        for (size_t i = sizeof(magic) - 1; i < 200; i++)
            der[i] = (uint8_t)(i * 37 + 11);
        size_t k = (size_t)sprintf(js, "[\"");
        size_t b = b64_enc(der, 200, js + k);
        sprintf(js + k + b, "\"]");
        char *got = run("application/json", NULL, js, strlen(js));
        CHECK(strstr(got, "!K:OpenSSH private key!") != NULL);
        expect_bin("application/json", NULL, js, strlen(js), got, NULL, __LINE__);
        free(got);
    }
    /* Other formats in hex: gzip is read (its deflate method byte too: a
       hex hash begins 1f8b once in 65,536), a PNG reported */
    {
        static const char *const cases[][2] = {
            {"1f8b08000000000002034b4c4a4e494d4bcfc80400af88a98d09000000", "abcdefghi|"},
            {"1f8b00d4c87e0a14f9c2a3b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8", "1f8b00d4c8"},
            {"89504e470d0a1a0a0000000d49484452000000100000001008060000", "!hex PNG image!"},
        };
        for (size_t c = 0; c < SGW_ARRAY_LEN(cases); c++) {
            char *got = run("text/plain", NULL, cases[c][0], strlen(cases[c][0]));
            int ok = strstr(got, cases[c][1]) != NULL && (c != 1 || !strchr(got, '!'));
            if (!ok)
                fprintf(stderr, "hex case %zu: got [%.300s]\n", c, got);
            CHECK(ok);
            expect_bin("text/plain", NULL, cases[c][0], strlen(cases[c][0]), got, NULL, __LINE__);
            free(got);
        }
    }
    /* A SEQUENCE { AlgorithmIdentifier, OCTET STRING } is an encrypted key
       only under a password-based algorithm: under another (a signature's
       DigestInfo has this form) it is DER of no known kind */
    for (int pbe = 0; pbe < 2; pbe++) {
        X509_SIG *xs = X509_SIG_new();
        X509_ALGOR *alg = NULL;
        ASN1_OCTET_STRING *dig = NULL;
        X509_SIG_getm(xs, &alg, &dig);
        ASN1_OCTET_STRING *par = ASN1_OCTET_STRING_new();
        memset(sig, 0x5a, sizeof(sig));
        ASN1_OCTET_STRING_set(par, sig, 80);
        CHECK(X509_ALGOR_set0(alg, OBJ_txt2obj(pbe ? "1.2.840.113549.1.5.13" : "1.2.3.4", 1), V_ASN1_OCTET_STRING,
                              par));
        ASN1_OCTET_STRING_set(dig, sig, 200);
        uint8_t *p = der;
        int n = i2d_X509_SIG(xs, &p);
        X509_SIG_free(xs);
        CHECK(n > 0 && der[1] == 0x82); /* (long form: shaped as a certificate) */
        char *got = run(NULL, NULL, der, (size_t)(n > 0 ? n : 0));
        if (pbe)
            CHECK(strcmp(got, "!K:encrypted PKCS#8 private key in DER!") == 0);
        else
            CHECK(strncmp(got, "{data}", 6) == 0 && memmem(got, g_run_len, "!DER data that is no certificate!", 33));
        free(got);
    }
    CHECK(ERR_peek_error() == 0);
}

/* Base32 (RFC 4648) runs that decode to text: upper or lower case, with or
   without padding, wrapped (at 40 here; base64's two pads end the run,
   the third is text); mixed case is base64, capitals in prose decode
   to no text. */
static void test_base32(void)
{
    const char *T = "text/plain";
    EXPECT(T, NULL, "k IFFUSQKJJ5JUMT2EJZHDORKYIFGVATCFEBVWK6I= end", "k IFFUSQKJJ5JUMT2EJZHDORKYIFGVATCFEBVWK6I=|AKIAIOSFODNN7EXAMPLE key| end|");
    EXPECT(T, NULL, "k iffusqkjj5jumt2ejzhdorkyifgvatcfebvwk6i= end", "k iffusqkjj5jumt2ejzhdorkyifgvatcfebvwk6i=|AKIAIOSFODNN7EXAMPLE key| end|");
    EXPECT(T, NULL, "NVQWS3BAMJXWEQDFPBQW24DMMUXGG33N", "NVQWS3BAMJXWEQDFPBQW24DMMUXGG33N|mail bob@example.com||");
    EXPECT(T, NULL, "OBWGKYLTMUQHO4TJORSSA5DPEBQW43TBIBSXQYLN\nOBWGKLTPOJTSA5DPMRQXS===",
           "OBWGKYLTMUQHO4TJORSSA5DPEBQW43TBIBSXQYLN\nOBWGKLTPOJTSA5DPMRQXS==|please write to anna@example.org today|=|");
    EXPECT("application/json", NULL, "{\"k\":\"NVQWS3BAMJXWEQDFPBQW24DMMUXGG33N\"}", "k|{k}NVQWS3BAMJXWEQDFPBQW24DMMUXGG33N|mail bob@example.com||");
    EXPECT(T, NULL, "HTTPSWWWEXAMPLECOMANDSOMEMORECAPS words", "HTTPSWWWEXAMPLECOMANDSOMEMORECAPS words|");
    EXPECT(T, NULL, "k NVQWS3BAMJxweqdfpbqw24dmmuxgg33n end", "k NVQWS3BAMJxweqdfpbqw24dmmuxgg33n end|");
}

/* ---- byte lists ---- */

/* A value written one byte per number (C, Java, JavaScript arrays, hex
   dumps with separators) is decoded, and the decoding follows the unit as
   a copy of its own, when it is text or a known format. Before, only
   contiguous hex and \xHH were. */
static void test_byte_lists(void)
{
    const char *T = "text/plain";
    EXPECT(T, NULL, "k = {0x41, 0x4b, 0x49, 0x41, 0x49, 0x4f, 0x53, 0x46};",
           "k = {0x41, 0x4b, 0x49, 0x41, 0x49, 0x4f, 0x53, 0x46};|AKIAIOSF||");
    EXPECT(T, NULL, "41:4b:49:41:49:4f:53:46 end", "41:4b:49:41:49:4f:53:46 end|AKIAIOSF||");
    EXPECT(T, NULL, "hex 41 4B 49 41 49 4F 53 46 47", "hex 41 4B 49 41 49 4F 53 46 47|AKIAIOSFG||");
    EXPECT(T, NULL, "codes: 72, 101, 108, 108, 111, 32, 98, 111, 98.",
           "codes: 72, 101, 108, 108, 111, 32, 98, 111, 98.|Hello bob||");
    /* '-' between hex pairs: a base64url run too, read as a list as well */
    EXPECT(T, NULL, "41-4b-49-41-49-4f-53-46-47-48-49-4a", "41-4b-49-41-49-4f-53-46-47-48-49-4a|AKIAIOSFGHIJ||");
    /* a token glued to a word is none: the list is the tokens around it */
    EXPECT(T, NULL, "k41 4b 49 41 49 4f 53 46 47", "k41 4b 49 41 49 4f 53 46 47|KIAIOSFG||");
    EXPECT(T, NULL, "41 4b 49 41 49 4f 53 46 47g", "41 4b 49 41 49 4f 53 46 47g|AKIAIOSF||");
    /* two decodings of two-digit tokens, each text: both go on */
    EXPECT(T, NULL, "x 65 66 67 68 69 70 71 72 y", "x 65 66 67 68 69 70 71 72 y|efghipqr|ABCDEFGH||");
    /* a list that is a unit's first bytes follows nothing, whatever ended
       the unit before (a letter there, at some split, glued its first
       token: the fuzzer's finding) */
    EXPECT("application/json", NULL, "[\"Buffer\",\"65, 73, 79, 83, 70, 79, 68, 78\"]",
           "Buffer|65, 73, 79, 83, 70, 79, 68, 78|AIOSFODN||");
    /* the byte before a list is the unit's, not that of a piece before
       (in 2-byte pieces a letter two pieces back glued the first token) */
    EXPECT(T, NULL, "Buffer [65, 75, 73, 65, 73, 79, 71, 72]", "Buffer [65, 75, 73, 65, 73, 79, 71, 72]|eusesyqr|AKIAIOGH||");
    /* in a JSON string, over escaped line ends */
    EXPECT("application/json", NULL,
           "{\"c\":\"int k[] = {0x41,\\n 0x4b,\\n 0x49,\\n 0x41,\\n 0x49,\\n 0x4f,\\n 0x53,\\n 0x46};\"}",
           "c|{c}int k[] = {0x41,\n 0x4b,\n 0x49,\n 0x41,\n 0x49,\n 0x4f,\n 0x53,\n 0x46};|AKIAIOSF||");
    /* no list: seven tokens, a table of numbers (no text), dates and
       times, a gap of more than 8 bytes, a number too large, a decimal
       point, a hash */
    static const char *const none[] = {
        "x {0x41, 0x4b, 0x49, 0x41, 0x49, 0x4f, 0x53}",
        "10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120",
        "2024-01-05 10:00:00 2024-01-06 11:30:00 2024-01-07 12:00:00",
        "41 4b 49 41          49 4f 53 46 47 48",
        "65, 66, 67, 68, 300, 69, 70, 71, 72",
        "65.5, 66.5, 67.5, 68.5, 69.5, 70.5, 71.5, 72.5",
        "e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b",
        "a bad face, a dead beef 1999 2000 2001 ",
    };
    for (size_t i = 0; i < SGW_ARRAY_LEN(none); i++) {
        char want[200];
        snprintf(want, sizeof(want), "%s|", none[i]);
        expect_bin(T, NULL, none[i], strlen(none[i]), want, NULL, __LINE__);
    }
    /* JSON arrays of numbers (Node's Buffer.toJSON(), a serialised byte[]):
       each number is a unit, and the array's bytes follow as a copy when
       the list ends (at a value that is no byte, or the array's end) */
    {
        const char *J = "application/json";
        EXPECT(J, NULL, "{\"type\":\"Buffer\",\"data\":[72,101,108,108,111,32,98,111,98]}",
               "type|{type}Buffer|data|{data}72|101|108|108|111|32|98|111|98||Hello bob|");
        /* signed bytes (-61, -87: UTF-8 of an e with an acute); a list ends
           at a value that is no byte, another begins after it */
        EXPECT(J, NULL, "[72, -61, -87, 116, 101, 32, 104, 101, 114, 101, 1.5, 300, 66,121,101,32,110,111,119,33]",
               "72|-61|-87|116|101|32|104|101|114|101|1.5||H\xc3\xa9te here|300|66|121|101|32|110|111|119|33||"
               "Bye now!|");
        /* after a string, at the array's end; seven are no list; a table of
           numbers is no text */
        EXPECT(J, NULL, "[72,101,108,108,111,32,98,111,\"x\"]", "72|101|108|108|111|32|98|111|x||Hello bo|");
        EXPECT(J, NULL, "[72,101,108,108,111,32,98]", "72|101|108|108|111|32|98|");
        EXPECT(J, NULL, "[1,2,3,4,5,6,7,8,9,10]", "1|2|3|4|5|6|7|8|9|10|");
        /* single digits are a number written one digit per value (a card
           in a tool's JSON): their text follows, not bytes 0 to 9 */
        EXPECT(J, NULL, "{\"digits\": [4,1,1,1, 1,1,1,1, 1,1,1,1, 1,1,1,1]}",
               "digits|{digits}4|1|1|1|1|1|1|1|1|1|1|1|1|1|1|1||4111111111111111|");
        EXPECT(J, NULL, "[0,7,8,0,5,1,1,2]", "0|7|8|0|5|1|1|2||07805112|");
        EXPECT(J, NULL, "[0,7,8,0,5,1,1]", "0|7|8|0|5|1|1|");
        /* nested arrays: each its own */
        EXPECT(J, NULL, "[[65,66,67,68,69,70,71,72],[1,2]]", "65|66|67|68|69|70|71|72||ABCDEFGH|1|2|");
    }
    /* adjacent text blocks (Converse; Anthropic's Messages with "type"
       between): the words of one that touch the next and the 64 bytes of
       words before them, and the same of the next one, go on as a copy,
       joined as the model reads them */
    {
        const char *J = "application/json";
        EXPECT(J, NULL, "{\"content\":[{\"text\":\"card 4111 11\"},{\"text\":\"11 1111 1111\"}]}",
               "content|{content}text|{text}card 4111 11|text|{text}11 1111 1111|card 4111 1111 1111 1111|");
        EXPECT(J, NULL, "[{\"type\":\"text\",\"text\":\"AKIAIOSF\"},{\"type\":\"text\",\"text\":\"ODNN7EXAMPLE\"}]",
               "type|{type}text|text|{text}AKIAIOSF|type|{type}text|text|{text}ODNN7EXAMPLE|AKIAIOSFODNN7EXAMPLE|");
        /* three blocks: two seams; long blocks: their ends only; escapes
           decoded */
        EXPECT(J, NULL, "[{\"text\":\"a\"},{\"text\":\"b\"},{\"text\":\"c\\u0040d\"}]",
               "text|{text}a|text|{text}b|ab|text|{text}c@d|bc@d|");
        {
            /* blocks longer than the 256 bytes kept: the part of each that
               the keeping cut begins or ends at white space (the first
               block's tail after its first blank, the second's head up to
               its last) */
            char a[300], b[320], in[800], want[1600], seam[300];
            snprintf(a, sizeof(a), "lead %.20s %.250s", "wwwwwwwwwwwwwwwwwwww",
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
            memset(b, 'z', sizeof(b));
            memcpy(b, "yyyyyyyyyy ", 11);
            b[310] = 0;
            CHECK(strlen(a) == 276);
            snprintf(in, sizeof(in), "[{\"text\":\"%s\"},{\"text\":\"%s\"}]", a, b);
            snprintf(seam, sizeof(seam), "%s%s", a + 26, "yyyyyyyyyy ");
            snprintf(want, sizeof(want), "text|{text}%s|text|{text}%s|%s|", a, b, seam);
            EXPECT(J, NULL, in, want);
            /* at every split, not only EXPECT's every seventh: a piece that
               ends right where a block fills the 256 bytes of its head */
            for (size_t cut = 1; cut < strlen(in); cut++) {
                char *got = run_split(J, NULL, in, strlen(in), 0, cut);
                if (strcmp(got, want) != 0) {
                    fprintf(stderr, "line %d: split at %zu differs:\n  got  [%s]\n", __LINE__, cut, got);
                    failures++;
                }
                free(got);
            }
        }
        /* blocks of prose: only the words near the seam (the word that
           touches it, and whole words of 64 bytes beyond it each way) */
        EXPECT(J, NULL,
               "[{\"text\":\"Thanks for the help yesterday with the order. As we agreed on the phone, "
               "please charge my card 4111 11\"},{\"text\":\"11 1111 1111 for the renewal, and send the receipt "
               "to the billing team before the end of the month as usual.\"}]",
               "text|{text}Thanks for the help yesterday with the order. As we agreed on the phone, please charge "
               "my card 4111 11|text|{text}11 1111 1111 for the renewal, and send the receipt to the billing team "
               "before the end of the month as usual.|the order. As we agreed on the phone, please charge my card "
               "4111 1111 1111 1111 for the renewal, and send the receipt to the billing team|");
        /* no seam: another value between (an image block), blocks of two
           arrays, a "text" key whose value is no string */
        EXPECT(J, NULL, "[{\"text\":\"a\"},{\"image\":{\"format\":\"png\"}},{\"text\":\"b\"},{\"x\":1},{\"y\":2}]",
               "text|{text}a|image|{image}format|{format}png|text|{text}b|x|{x}1|y|{y}2|");
        EXPECT(J, NULL, "[[{\"text\":\"a\"}],[{\"text\":\"b\"}]]", "text|{text}a|text|{text}b|");
        EXPECT(J, NULL, "[{\"text\":{\"v\":\"a\"}},{\"text\":\"b\"}]", "text|{text}v|{v}a|text|{text}b|");
    }
    /* OpenPGP key packets (RFC 4880: old format, 2-byte length, version 4,
       RSA): a public key is not reported, a secret key is a key; a packet
       longer than its decoding is none (reported as opaque) */
    {
        static const struct {
            uint8_t tag;
            size_t len;       /* the length field */
            const char *want; /* the report, or "" */
        } pk[] = {{6, 797, ""},
                  {5, 797, "!K:OpenPGP private key!"},
                  {6, 5000, "!base64 data that is no text (1 KiB or more)!"}};
        for (size_t t = 0; t < SGW_ARRAY_LEN(pk); t++) {
            uint8_t bin[800];
            uint32_t x = 777;
            for (size_t i = 0; i < sizeof(bin); i++) {
                x = x * 1103515245u + 12345u;
                bin[i] = (uint8_t)(x >> 24);
            }
            bin[0] = (uint8_t)(0x80 | pk[t].tag << 2 | 1);
            bin[1] = (uint8_t)(pk[t].len >> 8);
            bin[2] = (uint8_t)pk[t].len;
            bin[3] = 4;                               /* version */
            memcpy(bin + 4, "\x65\x00\x00\x00", 4); /* creation time */
            bin[8] = 1;                               /* RSA */
            char e[1200], in[1300], want[1400];
            b64enc(bin, sizeof(bin), e);
            snprintf(in, sizeof(in), "x %s y", e);
            snprintf(want, sizeof(want), "x %s%s y|", e, pk[t].want);
            EXPECT(T, NULL, in, want);
        }
    }
    /* hex of random bytes in lines: as xxd -p writes it (60 a line) it is
       reported; in lines of a digest's length (a list of SHA-256 digests)
       it is not, up to 8 KiB of hex */
    {
        static const size_t widths[] = {60, 64, 40};
        char *in = malloc(8000), *want = malloc(8200);
        for (size_t t = 0; t < SGW_ARRAY_LEN(widths); t++) {
            size_t k = 0, w = widths[t];
            uint32_t x = 99;
            for (size_t line = 0; line < 2400 / w; line++) {
                for (size_t i = 0; i < w; i++) {
                    x = x * 1103515245u + 12345u;
                    in[k++] = "0123456789abcdef"[x >> 28];
                }
                in[k++] = '\n';
            }
            in[k] = '\0';
            snprintf(want, 8200, "%s%s|", in, w == 60 ? "!hex data that is no text (1 KiB or more)!" : "");
            EXPECT(T, NULL, in, want);
        }
        free(in);
        free(want);
    }
    /* known formats: a PNG's start is reported, OpenSSH's key too */
    EXPECT(T, NULL, "png = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00}",
           "png = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00}|!PNG image in a byte list!|");
    {
        static char in[400], want[500];
        static const uint8_t ssh[] = "openssh-key-v1\0\0\0\0\x04none";
        size_t k = (size_t)sprintf(in, "b = [");
        for (size_t i = 0; i < sizeof(ssh) - 1; i++)
            k += (size_t)sprintf(in + k, "%s%d", i ? ", " : "", ssh[i]);
        sprintf(in + k, "]");
        snprintf(want, sizeof(want), "%s|!K:OpenSSH private key!|", in);
        EXPECT(T, NULL, in, want);
    }
    /* a list longer than LIST_HOLD goes on in a second copy; lists of more
       than 8 KiB in one text are reported, not dropped */
    {
        size_t cap = 80000, k = 0;
        char *in = malloc(cap), *want = malloc(cap);
        for (size_t i = 0; i < LIST_HOLD + 100; i++)
            k += (size_t)sprintf(in + k, "%s%d", i ? "," : "", 'a' + (int)(i % 26));
        size_t w = (size_t)sprintf(want, "%s|", in);
        for (size_t i = 0; i < LIST_HOLD + 100; i++) {
            if (i == LIST_HOLD)
                want[w++] = '|';
            want[w++] = (char)('a' + i % 26);
        }
        sprintf(want + w, "||");
        char *got = run(T, NULL, in, k);
        CHECK(strcmp(got, want) == 0);
        free(got);
        /* three of them: 12 KiB */
        size_t one = k;
        for (int r = 0; r < 2; r++) {
            in[k++] = ' ';
            memmove(in + k, in, one);
            k += one;
        }
        in[k] = '\0';
        got = run(T, NULL, in, k);
        CHECK(strstr(got, "!byte lists that decode to more than 8 KiB in one text!") != NULL);
        free(got);
        free(in);
        free(want);
    }
}

/* ---- form ---- */

static void test_form(void)
{
    const char *F = "application/x-www-form-urlencoded";
    EXPECT_PATH(F, NULL, "Action=SendEmail&To=a%40b.com&Msg=hello+world",
                "Action|{Action}SendEmail|To|{To}a@b.com|Msg|{Msg}hello world|", "form");
    EXPECT(F, NULL, "a=%zz%4&b=%", "a|{a}%zz%4|b|{b}%|");
    /* the second level is decoded by the text pipeline's escapes (a copy) */
    EXPECT(F, NULL, "n%61me=v%2541", "name|{name}v%41|vA|");
    EXPECT(F, NULL, "lonely&x=", "lonely|x|{x}|");
    /* AWS's query protocol: a P.Value field is named by the P.Name or P.Key
       field before it (message attributes, tags); another prefix is not */
    EXPECT(F, NULL, "A.entry.1.Name=s%73n&A.entry.1.Value.StringValue=5&T.member.2.Key=dob&T.member.2.Value=d&X.Value=7",
           "A.entry.1.Name|{A.entry.1.Name}ssn|A.entry.1.Value.StringValue|{ssn}5|T.member.2.Key|{T.member.2.Key}dob|"
           "T.member.2.Value|{dob}d|X.Value|{X.Value}7|");
    /* a value hidden in a field name is data too; a long name is scanned whole and
       kept (truncated to DEC_CONTEXT_MAX) only as context */
    EXPECT("application/x-www-form-urlencoded", NULL, "4111111111111111=x",
           "4111111111111111|{4111111111111111}x|");
    {
        char in[400], want[1000];
        memset(in, 'n', 300);
        memcpy(in + 300, "=v", 3);
        memset(want, 'n', 300);
        want[300] = '|';
        want[301] = '{';
        memset(want + 302, 'n', DEC_CONTEXT_MAX);
        memcpy(want + 302 + DEC_CONTEXT_MAX, "}v|", 4);
        EXPECT("application/x-www-form-urlencoded", NULL, in, want);
    }
    EXPECT(F, NULL, "", "");
}

/* ---- compression ---- */

static size_t zlib_make(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int wbits)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    size_t r = zs.total_out;
    deflateEnd(&zs);
    return r;
}

static void test_compress(void)
{
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"card 4111111111111111\"}]}";
    const char *want = "messages|{messages}role|{role}user|content|{content}card 4111111111111111|";
    size_t n = strlen(body);
    uint8_t z[1024], z2[2048];
    size_t zn = zlib_make((const uint8_t *)body, n, z, sizeof(z), 16 + 15);
    expect_bin("application/json", "gzip", z, zn, want, "gzip>json", __LINE__);
    expect_bin("application/json", "x-gzip", z, zn, want, "gzip>json", __LINE__);
    expect_bin(NULL, NULL, z, zn, want, "gzip>json", __LINE__);
    /* two members */
    memcpy(z2, z, zn);
    memcpy(z2 + zn, z, zn);
    expect_bin("application/json", "gzip", z2, 2 * zn,
               "messages|{messages}role|{role}user|content|{content}card 4111111111111111|!malformed JSON at byte 64!",
               NULL, __LINE__);
    expect_bin("application/x-ndjson", "gzip", z2, 2 * zn,
               "messages|{messages}role|{role}user|content|{content}card 4111111111111111|"
               "messages|{messages}role|{role}user|content|{content}card 4111111111111111|",
               NULL, __LINE__);
    /* truncated */
    expect_bin("application/json", "gzip", z, zn - 5,
               "messages|{messages}role|{role}user|content|{content}card 4111111111111111|!truncated gzip stream!", NULL,
               __LINE__);
    expect_bin("application/json", "gzip", z, 5, "!truncated gzip stream!", NULL, __LINE__);
    /* corrupt header */
    memcpy(z2, z, zn);
    z2[3] = 0xff; /* reserved flag bits */
    expect_bin("application/json", "gzip", z2, zn, "!malformed gzip stream!", NULL, __LINE__);
    /* deflate: zlib-wrapped and raw */
    zn = zlib_make((const uint8_t *)body, n, z, sizeof(z), 15);
    expect_bin("application/json", "deflate", z, zn, want, "deflate>json", __LINE__);
    zn = zlib_make((const uint8_t *)body, n, z, sizeof(z), -15);
    expect_bin("application/json", "deflate", z, zn, want, "deflate>json", __LINE__);
    memcpy(z2, z, zn);
    memcpy(z2 + zn, "xx", 2);
    expect_bin(
        "application/json", "deflate", z2, zn + 2,
        "messages|{messages}role|{role}user|content|{content}card 4111111111111111|!trailing data after deflate stream!",
        NULL, __LINE__);
    /* zstd */
    zn = ZSTD_compress(z, sizeof(z), body, n, 3);
    CHECK(!ZSTD_isError(zn));
    expect_bin("application/json", "zstd", z, zn, want, "zstd>json", __LINE__);
    expect_bin("application/octet-stream", NULL, z, zn, want, "zstd>json", __LINE__);
    expect_bin("application/json", "zstd", z, zn - 3, "!truncated zstd stream!", NULL, __LINE__);
    /* a legacy zstd v0.5 frame magic is refused */
    expect_bin("text/plain", "zstd", "\x25\xb5\x2f\xfd\x1e\x00\x00\x00\x74", 9,
               "!malformed zstd stream!", NULL, __LINE__);
    /* xz and bzip2 files: sniffed (no content coding names them); two
       streams one after another are read as one; cut and corrupt ones
       reported */
    {
        uint8_t x[4096], b2[4096];
        size_t xn = 0, bn = 0;
        CHECK(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)body, n, x, &xn, sizeof(x) / 2) ==
              LZMA_OK);
        size_t x1 = xn;
        CHECK(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL, (const uint8_t *)"mail c@d.io", 11, x, &xn,
                                      sizeof(x)) == LZMA_OK);
        expect_bin("application/x-xz", NULL, x, x1, want, "xz>json", __LINE__);
        expect_bin(NULL, NULL, x, xn, "messages|{messages}role|{role}user|content|{content}card 4111111111111111||mail c@d.io|",
                   "xz>json", __LINE__);
        /* (the text is still held by the sniffer after it: as for zstd,
           the report alone) */
        expect_bin(NULL, NULL, x, x1 - 5, "!truncated xz stream!", "xz", __LINE__);
        memcpy(b2, x, x1);
        b2[x1 - 9] ^= 0x40; /* (its CRC64) */
        expect_bin(NULL, NULL, b2, x1, "!malformed xz stream!", "xz", __LINE__);
        unsigned bl = sizeof(b2);
        CHECK(BZ2_bzBuffToBuffCompress((char *)b2, &bl, (char *)(uintptr_t)body, (unsigned)n, 9, 0, 0) == BZ_OK);
        bn = bl;
        bl = (unsigned)(sizeof(b2) - bn);
        CHECK(BZ2_bzBuffToBuffCompress((char *)b2 + bn, &bl, (char *)"mail c@d.io", 11, 1, 0, 0) == BZ_OK);
        expect_bin("application/x-bzip2", NULL, b2, bn, want, "bzip2>json", __LINE__);
        expect_bin(NULL, NULL, b2, bn + bl, "messages|{messages}role|{role}user|content|{content}card 4111111111111111||mail c@d.io|",
                   "bzip2>json", __LINE__);
        expect_bin(NULL, NULL, b2, bn - 4, "!truncated bzip2 stream!", "bzip2", __LINE__);
        b2[bn / 2] ^= 0x21;
        expect_bin(NULL, NULL, b2, bn, "!malformed bzip2 stream!", "bzip2", __LINE__);
        /* a tar.xz in base64 in JSON (a backup posted as a value) */
        uint8_t tar[2048] = {0}, tx[2048];
        size_t tn = tar_put(tar, 0, "notes.txt", '0', "mail e@f.io", 11, NULL) + 1024;
        size_t txn = 0;
        CHECK(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, tar, tn, tx, &txn, sizeof(tx)) == LZMA_OK);
        static char enc64[4096], in64[4200];
        b64_enc(tx, txn, enc64);
        snprintf(in64, sizeof(in64), "{\"k\":\"%s\"}", enc64);
        char *got = run("application/json", NULL, in64, strlen(in64));
        CHECK(strstr(got, "{notes.txt}mail e@f.io") != NULL);
        free(got);
    }
    /* stacked: gzip then zstd applied → zstd decoded first */
    size_t gn = zlib_make((const uint8_t *)body, n, z2, sizeof(z2), 16 + 15);
    zn = ZSTD_compress(z, sizeof(z), z2, gn, 3);
    expect_bin("application/json", "gzip, zstd", z, zn, want, "zstd>gzip>json", __LINE__);
    expect_bin("application/json", "gzip, zstd", z2, gn, "!malformed zstd stream!", NULL, __LINE__);
    expect_bin("application/json", "gzip,,identity, zstd", z, zn, want, "zstd>gzip>json", __LINE__);
    /* compression inside one declared coding (catalogue 4.1 case 6): gzip
       in gzip, zstd in gzip, up to three layers in all */
    {
        uint8_t g2[2048], g3[2048], g4[2048];
        size_t g2n = zlib_make(z2, gn, g2, sizeof(g2), 16 + 15);
        expect_bin("application/json", "gzip", g2, g2n, want, "gzip>gzip>json", __LINE__);
        size_t g3n = zlib_make(g2, g2n, g3, sizeof(g3), 16 + 15);
        expect_bin("application/json", "gzip", g3, g3n, want, "gzip>gzip>gzip>json", __LINE__);
        size_t g4n = zlib_make(g3, g3n, g4, sizeof(g4), 16 + 15);
        expect_bin("application/json", "gzip", g4, g4n, "!B:too many nested compression layers!", NULL,
                   __LINE__);
        /* two declared, one inside: three */
        zn = ZSTD_compress(z, sizeof(z), g2, g2n, 3);
        expect_bin("application/json", "gzip, zstd", z, zn, want, "zstd>gzip>gzip>json", __LINE__);
        zn = ZSTD_compress(z, sizeof(z), g3, g3n, 3);
        expect_bin("application/json", "gzip, zstd", z, zn, "!B:too many nested compression layers!", NULL,
                   __LINE__);
        /* zstd in gzip */
        zn = ZSTD_compress(z, sizeof(z), body, n, 3);
        g2n = zlib_make(z, zn, g2, sizeof(g2), 16 + 15);
        expect_bin("application/json", "gzip", g2, g2n, want, "gzip>zstd>json", __LINE__);
        /* decompressed bodies shorter than a magic, or starting like one */
        g2n = zlib_make((const uint8_t *)"7", 1, g2, sizeof(g2), 16 + 15);
        expect_bin("application/json", "gzip", g2, g2n, "7|", "gzip>json", __LINE__);
        g2n = zlib_make((const uint8_t *)"\x1f\x8a", 2, g2, sizeof(g2), 16 + 15);
        expect_bin("text/plain", "gzip", g2, g2n, "\x1f\x8a|", "gzip", __LINE__);
        g2n = zlib_make((const uint8_t *)"\x28\xb5\x2f", 3, g2, sizeof(g2), 16 + 15);
        expect_bin("text/plain", "gzip", g2, g2n, "(\xb5/|", "gzip", __LINE__);
    }
    /* br: a stored (uncompressed) meta-block written by hand: WBITS=16
       (bit 0), ISLAST=0, MNIBBLES=4, MLEN-1, ISUNCOMPRESSED=1, then an empty
       last meta-block. */
    {
        const char *txt = "email a@b.com";
        size_t tl = strlen(txt);
        uint8_t br[64];
        size_t bn = 0;
        /* bits: 0 (WBITS 16), 0 (ISLAST), 00 (MNIBBLES=4), MLEN-1 in 16 bits,
           1 (ISUNCOMPRESSED), pad to byte */
        uint64_t bits = 0;
        unsigned nb = 0;
        bits |= 0ull << nb;
        nb += 1;
        bits |= 0ull << nb;
        nb += 1;
        bits |= 0ull << nb;
        nb += 2;
        bits |= (uint64_t)(tl - 1) << nb;
        nb += 16;
        bits |= 1ull << nb;
        nb += 1;
        nb = (nb + 7) & ~7u;
        for (unsigned i = 0; i < nb / 8; i++)
            br[bn++] = (uint8_t)(bits >> (8 * i));
        memcpy(br + bn, txt, tl);
        bn += tl;
        br[bn++] = 0x03; /* ISLAST=1, ISLASTEMPTY=1 */
        expect_bin("text/plain", "br", br, bn, "email a@b.com|", "br", __LINE__);
        expect_bin("text/plain", "br", br, bn - 1, "email a@b.com!truncated br stream!", NULL,
                   __LINE__);
    }
}

static void test_bomb(void)
{
    /* 1 GiB of zeros: 1024 gzip members of 1 MiB each */
    size_t mib = 1u << 20;
    uint8_t *zeros = calloc(1, 2 * mib);
    uint8_t member[4096];
    size_t mn = zlib_make(zeros, mib, member, sizeof(member), 16 + 15);
    size_t total = mn * 1024;
    uint8_t *bomb = malloc(total);
    for (size_t i = 0; i < 1024; i++)
        memcpy(bomb + i * mn, member, mn);
    {
        struct rec r = {0};
        struct cls_sink s = {.ctx = &r,
                             .data = rec_data,
                             .boundary = rec_boundary,
                             .context = rec_context,
                             .uninspectable = rec_unins};
        struct cls_decode_chain *c = NULL;
        CHECK(cls_decode_chain_new("text/plain", "gzip", &g_lim, &s, &c) == SGW_OK);
        for (size_t off = 0; off < total; off += 65536)
            CHECK(cls_decode_chain_feed(c, bomb + off, total - off < 65536 ? total - off : 65536) ==
                  SGW_OK);
        CHECK(cls_decode_chain_finish(c) == SGW_OK);
        const char *want = "!B:decompression ratio over 100 (gzip)!";
        CHECK(r.n_unins == 1 && r.len < (2u << 20) &&
              memmem(r.buf, r.len, want, strlen(want)) != NULL);
        cls_decode_chain_free(c);
        free(r.buf);
    }
    char *got;
    /* size limit at N-1, N, N+1 (ratio out of the way) */
    g_lim.max_ratio = 100000;
    for (int d = -1; d <= 1; d++) {
        g_lim.max_decoded = (uint64_t)((int64_t)mib + d);
        struct rec r = {0};
        struct cls_sink s = {.ctx = &r,
                             .data = rec_data,
                             .boundary = rec_boundary,
                             .context = rec_context,
                             .uninspectable = rec_unins};
        struct cls_decode_chain *c = NULL;
        CHECK(cls_decode_chain_new("text/plain", "gzip", &g_lim, &s, &c) == SGW_OK);
        CHECK(cls_decode_chain_feed(c, member, mn) == SGW_OK);
        CHECK(cls_decode_chain_finish(c) == SGW_OK);
        if (d < 0)
            CHECK(r.n_unins == 1 && (r.flags & CLS_FF_BOMB));
        else
            CHECK(r.n_unins == 0 && r.len == mib + 1);
        cls_decode_chain_free(c);
        free(r.buf);
    }
    g_lim.max_decoded = 0;
    g_lim.max_ratio = 0;
    /* past the size limit, the bytes up to it go on, then the report: how
       much one call of the decompressor makes depends on how the input was
       split, the output must not (found by fuzz_classifiers_tar: a gzip'd
       tar over the fuzzer's 1 MiB limit) */
    {
        static uint8_t text[40000], packed[40000], want[40100];
        for (size_t i = 0; i < sizeof(text); i++)
            text[i] = (uint8_t)"abcdefgh ijklmnop"[(i * 7 + i / 5) % 17];
        size_t pn = zlib_make(text, sizeof(text), packed, sizeof(packed), 16 + 15);
        g_lim.max_decoded = 30001;
        memcpy(want, text, 30001);
        strcpy((char *)want + 30001, "!B:decoded size over 30001 bytes (gzip)!");
        expect_bin("text/plain", "gzip", packed, pn, (const char *)want, NULL, __LINE__);
        pn = ZSTD_compress(packed, sizeof(packed), text, sizeof(text), 3);
        strcpy((char *)want + 30001, "!B:decoded size over 30001 bytes (zstd)!");
        expect_bin("text/plain", "zstd", packed, pn, (const char *)want, NULL, __LINE__);
        g_lim.max_decoded = 0;
    }
    /* the ratio (here ~1000:1) counts only once more than 1 MiB was made */
    {
        uint32_t ratios[] = {500, 5000};
        size_t sizes[] = {mib / 2, 2 * mib};
        for (size_t k = 0; k < 2; k++) {
            for (size_t q = 0; q < 2; q++) {
                g_lim.max_ratio = ratios[k];
                uint8_t small[8192];
                size_t sn = zlib_make(zeros, sizes[q], small, sizeof(small), 16 + 15);
                struct rec r = {0};
                struct cls_sink s = {.ctx = &r,
                                     .data = rec_data,
                                     .boundary = rec_boundary,
                                     .context = rec_context,
                                     .uninspectable = rec_unins};
                struct cls_decode_chain *c = NULL;
                CHECK(cls_decode_chain_new("text/plain", "gzip", &g_lim, &s, &c) == SGW_OK);
                CHECK(cls_decode_chain_feed(c, small, sn) == SGW_OK);
                CHECK(cls_decode_chain_finish(c) == SGW_OK);
                int is_bomb = (r.flags & CLS_FF_BOMB) != 0;
                CHECK(is_bomb == (k == 0 && q == 1));
                cls_decode_chain_free(c);
                free(r.buf);
            }
        }
        g_lim.max_ratio = 0;
    }
    /* nested gzip beyond the layer limit */
    uint8_t a[8192], b[8192];
    const char *t = "hello";
    size_t an = zlib_make((const uint8_t *)t, 5, a, sizeof(a), 16 + 15);
    for (int i = 0; i < 3; i++) {
        size_t bn = zlib_make(a, an, b, sizeof(b), 16 + 15);
        memcpy(a, b, bn);
        an = bn;
    }
    got = run(NULL, NULL, a, an);
    CHECK(strcmp(got, "!B:too many nested compression layers!") == 0);
    free(got);
    free(zeros);
    free(bomb);
}

/* ---- multipart ---- */

/* ---- mail (message/rfc822) ---- */

static void test_message(void)
{
    const char *R = "message/rfc822";
    /* headers are data under their names; a quoted-printable body is
       decoded (its soft line break no longer cuts the IBAN) */
    EXPECT_PATH(R, NULL,
                "From: Jane <jane@corp.example>\r\nTo: bank@partner.example\r\nSubject: pay\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                "IBAN DE8937040044=\r\n0532013000 gr=C3=BC=C3=9Fe\r\n",
                "{From}Jane <jane@corp.example>|{To}bank@partner.example|{Subject}pay|{MIME-Version}1.0|"
                "{Content-Type}text/plain; charset=utf-8|{Content-Transfer-Encoding}quoted-printable|{}"
                "IBAN DE89370400440532013000 gr\xc3\xbc\xc3\x9f" "e\r\n||",
                "message");
    /* LF-only lines, a folded header, encoded words (B and Q, the space
       between two of them gone), no body */
    EXPECT(R, NULL,
           "Subject: =?utf-8?B?Sm9obiBTbWl0aA==?= =?ISO-8859-1?Q?M=FCller_x?=\n"
           "To: a@b.example,\n\tc@d.example\n",
           "{Subject}John SmithM\xc3\xbcller x|{To}a@b.example,\tc@d.example|{}||");
    /* encoded words in their charsets (ISO-2022-JP, as Japanese mail
       writes subjects: stateful, but held whole here), an unknown one as
       it is */
    EXPECT(R, NULL, "Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= =?x-none*de?Q?F=DCR?=\n\n",
           "{Subject}\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" "F\xdcR|{}||");
    /* (TSCII's 0x82 is 12 bytes of UTF-8: more than the room, the word's
       bytes go as they are, none lost) */
    EXPECT(R, NULL, "Subject: =?TSCII?Q?a=82b?=\n\n", "{Subject}a\x82" "b|{}||");
    /* multipart as mail writes it: preamble, LF lines, the boundary on a
       folded line, padding after a boundary, base64 and QP parts, a
       forwarded message, an epilogue */
    EXPECT(R, NULL,
           "MIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=\"b1\"\n\n"
           "This is a multi-part message in MIME format.\n"
           "--b1  \nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
           "Y2FyZCA0MTExIDExMTEgMTExMSAxMTEx\n"
           "--b1\nContent-Type: message/rfc822\n\n"
           "From: x@y.example\n\nfwd body\n"
           "--b1\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nsoft=\nbreak\n"
           "--b1--\nepilogue\n",
           "{MIME-Version}1.0|{Content-Type}multipart/mixed; boundary=\"b1\"|{}This is a multi-part message in MIME format.||"
           "{Content-Type}text/plain|{Content-Transfer-Encoding}base64|{}card 4111 1111 1111 1111||"
           "{Content-Type}message/rfc822|{}{From}x@y.example|{}fwd body|||"
           "{Content-Type}text/plain|{Content-Transfer-Encoding}quoted-printable|{}softbreak||\nepilogue\n|||");
    /* a declared message with a line that is no header: refused */
    EXPECT(R, NULL, "From: a@b.example\nnot a header\n\nbody", "!malformed message header!");
    /* transfer encodings and content types stay strict */
    EXPECT(R, NULL, "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 a", "!unsupported multipart transfer encoding!");
    EXPECT(R, NULL, "Content-Type: image/png\n\n\x89PNG", "{Content-Type}image/png|{}!MIME part of type image/png!|");
    EXPECT(R, NULL, "Content-Type: multipart/mixed\n\n--x\n",
           "{Content-Type}multipart/mixed|{}!multipart without a valid boundary!|");
    EXPECT(R, NULL, "Content-Type: multipart/mixed; boundary=q\n\n--q\n\nab\n--q", "{Content-Type}multipart/mixed; boundary=q|{}ab||!truncated multipart body!|");
    /* sniffed: mail without a content type (an .eml, an S3 object) */
    EXPECT_PATH(NULL, NULL,
                "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                "4111 1111 =\r\n1111 1111",
                "{From}a@b.example|{MIME-Version}1.0|{Content-Transfer-Encoding}quoted-printable|{}4111 1111 1111 1111||",
                "message");
    /* prose after header lines: no mail */
    EXPECT_PATH(NULL, NULL, "Subject: notes\nMIME-Version: 1.0\nthe rest is prose\n\nmore",
                "Subject: notes\nMIME-Version: 1.0\nthe rest is prose\n\nmore|", "");
    /* guessed wrongly (the prose after the bytes sniffed): text from its
       first byte */
    {
        char in[1200], want[1300];
        snprintf(in, sizeof(in), "Subject: notes\nMIME-Version: 1.0\nX-Pad: %0600d\nthe rest is prose\n\nmore", 0);
        snprintf(want, sizeof(want), "%s||", in);
        EXPECT_PATH(NULL, NULL, in, want, "message");
    }
    /* nodemailer writes MIME-Version last: the bytes seen end in the
       header block (headers only, after Content-Type: multipart/...) */
    {
        char in[1200], want[1400];
        snprintf(in, sizeof(in),
                 "Content-Type: multipart/mixed; boundary=\"--_NmP-1\"\nFrom: a@b.example\nTo: c@d.example\n"
                 "Subject: x\nMessage-ID: <%0480d@b.example>\nDate: Tue, 26 Nov 2024 10:00:00 +0000\n"
                 "MIME-Version: 1.0\n\n----_NmP-1\nContent-Type: text/plain\nContent-Transfer-Encoding: "
                 "quoted-printable\n\n4111 1111 =\n1111 1111\n----_NmP-1--\n", 0);
        snprintf(want, sizeof(want),
                 "{Content-Type}multipart/mixed; boundary=\"--_NmP-1\"|{From}a@b.example|{To}c@d.example|{Subject}x|"
                 "{Message-ID}<%0480d@b.example>|{Date}Tue, 26 Nov 2024 10:00:00 +0000|{MIME-Version}1.0|{}"
                 "{Content-Type}text/plain|{Content-Transfer-Encoding}quoted-printable|{}4111 1111 1111 1111||\n|||",
                 0);
        EXPECT_PATH(NULL, NULL, in, want, "message");
        /* (not with Content-Type: application/json first: an HTTP dump) */
        EXPECT_PATH(NULL, NULL, "Content-Type: application/json\nX-A: 1\n", "Content-Type: application/json\nX-A: 1\n|",
                    "");
    }
    /* a header name longer than a context may be: truncated (fuzzer) */
    {
        char in[400], want[400];
        memset(in, 'X', 300);
        memcpy(in + 300, ": v\n", 5);
        memcpy(want, "{", 1);
        memset(want + 1, 'X', DEC_CONTEXT_MAX);
        memcpy(want + 1 + DEC_CONTEXT_MAX, "}v|{}||", 8);
        EXPECT(R, NULL, in, want);
    }
    /* SES's raw e-mail: base64 under a JSON key, decoded and read as mail */
    EXPECT("application/json", NULL,
           "{\"Data\":\"RnJvbTogYUBiLmV4YW1wbGUNCk1JTUUtVmVyc2lvbjogMS4wDQpDb250ZW50LVRyYW5zZmVyLUVuY29kaW5nOiBxdW90"
           "ZWQtcHJpbnRhYmxlDQoNCjQxMTEgMTExMSA9DQoxMTExIDExMTE=\"}",
           "Data|{Data}RnJvbTogYUBiLmV4YW1wbGUNCk1JTUUtVmVyc2lvbjogMS4wDQpDb250ZW50LVRyYW5zZmVyLUVuY29kaW5nOiBxdW90"
           "ZWQtcHJpbnRhYmxlDQoNCjQxMTEgMTExMSA9DQoxMTExIDExMTE=|{From}a@b.example|{MIME-Version}1.0|"
           "{Content-Transfer-Encoding}quoted-printable|{}"
           "4111 1111 1111 1111||||");
    /* a guessed header block over 64 KiB: text, every byte of it */
    {
        size_t n = 70000;
        char *in = malloc(n + 1), *want = malloc(n + 8);
        if (in && want) {
            const char *head = "From: a@b.example\nMIME-Version: 1.0\nX-Long: ";
            memcpy(in, head, strlen(head));
            memset(in + strlen(head), 'y', n - strlen(head));
            in[n] = '\0';
            memcpy(want, in, n);
            memcpy(want + n, "||", 3);
            expect_bin(NULL, NULL, in, n, want, "message", __LINE__);
        }
        free(in);
        free(want);
    }
    /* format=flowed: a line that ends in a space goes on (the IBAN in
       groups, broken at a space by Thunderbird), not the signature's "-- ",
       not a line without the space; delsp=yes drops the space */
    EXPECT(R, NULL,
           "Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
           "IBAN DE89 3704 0044 \r\n0532 0130 00 thanks\r\nnext line\r\n-- \r\nJane  \nDoe\n",
           "{Content-Type}text/plain; charset=utf-8; format=flowed|{}"
           "IBAN DE89 3704 0044 0532 0130 00 thanks\r\nnext line\r\n-- \r\nJane  Doe\n||");
    EXPECT(R, NULL, "Content-Type: text/plain; format=flowed; delsp=yes\n\nab \ncd \r", "{Content-Type}text/plain; format=flowed; delsp=yes|{}abcd \r||");
    EXPECT(R, NULL, "Content-Type: text/plain\n\nab \ncd", "{Content-Type}text/plain|{}ab \ncd||");
    /* vCard and iCalendar fold long lines anywhere, in a value too */
    EXPECT_PATH("text/vcard", NULL,
                "BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL;TYPE=INTERNET;TYPE=WORK:jane.doe@corp.exa\r\n mple.net\r\n"
                "TEL;TYPE=CELL:+49 30 1234\n\t5678\r\nEND:VCARD\r\n",
                "BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL;TYPE=INTERNET;TYPE=WORK:jane.doe@corp.example.net\r\n"
                "TEL;TYPE=CELL:+49 30 12345678\r\nEND:VCARD\r\n|",
                "unfold");
    EXPECT_PATH(NULL, NULL, "BEGIN:VCALENDAR\nATTENDEE:mailto:bob@x.ex\n ample\n\nX\r", "BEGIN:VCALENDAR\nATTENDEE:mailto:bob@x.example\n\nX\r|",
                "unfold");
    /* mbox: each message after its "From " line (data); an escaped
       ">From " in a body stays; a quoted-printable body decoded */
    EXPECT_PATH(NULL, NULL,
                "From jane@corp.example Mon Nov 25 10:00:00 2024\n"
                "From: jane@corp.example\nSubject: one\n\nbody one\n>From here\n\n"
                "From bob@x.example Tue Nov 26 10:00:00 2024\r\n"
                "Subject: two\nContent-Transfer-Encoding: quoted-printable\n\n4111 1111 =\n1111 1111\n",
                "From jane@corp.example Mon Nov 25 10:00:00 2024|{From}jane@corp.example|{Subject}one|{}"
                "body one\n>From here\n\n|||"
                "From bob@x.example Tue Nov 26 10:00:00 2024\r|{Subject}two|{Content-Transfer-Encoding}quoted-printable|{}"
                "4111 1111 1111 1111\n|||",
                "mbox");
    /* declared, without a first "From " line; a message that is no mail */
    EXPECT("application/mbox", NULL, "Subject: a\n\nx\nFrom b\nno header here\n",
           "{Subject}a|{}x\n|||From b|no header here\n|||");
    /* not mail: no MIME-Version among the headers */
    EXPECT_PATH(NULL, NULL, "From: a@b.example\nSubject: x\n\nbody", "From: a@b.example\nSubject: x\n\nbody|", "");
}

static void test_multipart(void)
{
    const char *M = "multipart/form-data; boundary=XyZ";
    EXPECT_PATH(M, NULL,
                "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue a\r\n"
                "--XyZ\r\nContent-Disposition: form-data; name=\"j\"\r\n"
                "Content-Type: application/json\r\n\r\n{\"email\":\"a@b.com\"}\r\n--XyZ--\r\n",
                "a|{a}value a||j|{j}email|{email}a@b.com||", "multipart>form");
    /* a part's name is data too: a value can hide in it */
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"4111111111111111\"\r\n\r\nx\r\n--XyZ--",
           "4111111111111111|{4111111111111111}x||");
    /* CR, LF and "--" inside a body are data; a near-boundary too */
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; "
           "name=\"a\"\r\n\r\nl1\r\nl2\r\n--Xy\r\n\r\r\n--XyZ--",
           "a|{a}l1\r\nl2\r\n--Xy\r\n\r||");
    /* quoted boundary with a space, multipart/mixed without names */
    EXPECT("multipart/mixed; boundary=\"a b\"", NULL,
           "--a b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--a b--", "hello||");
    /* file name is scanned, image part refused, next part still decoded */
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"jane doe.png\"\r\n"
           "Content-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ\r\n"
           "Content-Disposition: form-data; name=\"t\"\r\n\r\nafter\r\n--XyZ--",
           "f|{f}jane doe.png|!multipart part of type image/png!|t|{t}after||");
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\nxx\r\n--XyZ--",
           "f|{f}!multipart part of type application/octet-stream!|");
    /* transfer encodings */
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nY2FyZCA0MTEx\r\nIDExMTE=\r\n--XyZ--",
           "b|{b}card 4111 1111||");
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\na=40b.com=\r\n x\r\n--XyZ--",
           "q|{q}a@b.com x||");
    /* strictness */
    EXPECT(M, NULL, "preamble\r\n--XyZ\r\n\r\nx\r\n--XyZ--",
           "!data before the first multipart boundary!");
    EXPECT(M, NULL, "--XyZ \r\n", "!invalid multipart boundary line!");
    EXPECT(M, NULL, "--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nx\n--XyZ--",
           "!invalid multipart boundary line!");
    EXPECT(M, NULL, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\n\r\n",
           "!LF-only line in multipart part headers!");
    EXPECT(M, NULL, "--XyZ\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nx\r\n--XyZ--",
           "!folded multipart part header!");
    EXPECT(M, NULL, "--XyZ\r\nContent-Disposition: form-data name=\"a\"\r\n\r\nx\r\n--XyZ--",
           "!malformed multipart Content-Disposition!");
    EXPECT(M, NULL, "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
           "!multipart form-data part without a name!");
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ--\r\nepilogue",
           "a|{a}x||!data after the closing multipart boundary!");
    EXPECT(M, NULL, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
           "a|{a}no end!truncated multipart body!");
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
           "Content-Disposition: form-data; name=\"b\"\r\n\r\nx\r\n--XyZ--",
           "!duplicate multipart part header!");
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
           "Content-Transfer-Encoding: x-uue\r\n\r\nx\r\n--XyZ--",
           "!unsupported multipart transfer encoding!");
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
           "Content-Encoding: gzip\r\n\r\nx\r\n--XyZ--",
           "!multipart part with a content-encoding!");
    EXPECT(M, NULL,
           "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
           "\x1f\x8b\x08xxxxx\r\n--XyZ\r\n"
           "Content-Disposition: form-data; name=\"b\"\r\n\r\nok\r\n--XyZ--",
           "a|{a}!text body holds gzip data!|b|{b}ok||");
    /* multipart inside multipart: bounded nesting */
    {
        size_t cap = 8192, n = 0;
        char *in = malloc(cap);
        for (int lvl = 0; lvl < 12; lvl++)
            n += (size_t)snprintf(in + n, cap - n,
                                  "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n",
                                  lvl, lvl + 1);
        char *got = run("multipart/mixed; boundary=b0", NULL, in, n);
        CHECK(strstr(got, "!decoder nesting too deep!") != NULL);
        free(got);
        free(in);
    }
    /* header block at N-1 / N / N+1 of MP_HDR_MAX (8192, final CRLF included) */
    for (int d = -1; d <= 1; d++) {
        size_t fixed = strlen("Content-Disposition: form-data; name=\"a\"\r\nX-Pad: \r\n\r\n");
        size_t pad = (size_t)(8192 + d) - fixed;
        char *in = malloc(pad + 200);
        int k = snprintf(in, 200, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: ");
        memset(in + k, 'p', pad);
        snprintf(in + k + pad, 100, "\r\n\r\nv\r\n--XyZ--");
        char *got = run(M, NULL, in, strlen(in));
        if (d <= 0)
            CHECK(strcmp(got, "a|{a}v||") == 0);
        else
            CHECK(strcmp(got, "!multipart part headers over 8192 bytes!") == 0);
        free(got);
        free(in);
    }
}

/* ---- aws-chunked ---- */

static void test_awschunked(void)
{
    char sig[65], in[1024];
    memset(sig, 'a', 64);
    sig[64] = '\0';
    const char *b1 = "{\"Key\":\"card 41", *b2 = "11 1111 1111 1111\"}";
    snprintf(in, sizeof(in),
             "%zx;chunk-signature=%s\r\n%s\r\n%zx;chunk-signature=%s\r\n%s\r\n"
             "0;chunk-signature=%s\r\n\r\n",
             strlen(b1), sig, b1, strlen(b2), sig, b2, sig);
    EXPECT_PATH("aws-chunked", NULL, in, "Key|{Key}card 4111 1111 1111 1111|", "aws-chunked>json");
    EXPECT_PATH("application/json", "aws-chunked", in, "Key|{Key}card 4111 1111 1111 1111|",
                "aws-chunked>json");
    /* unsigned payload with a trailer */
    EXPECT_PATH("text/plain", "aws-chunked",
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", "hello|",
                "aws-chunked");
    /* aws-chunked around gzip: "aws-chunked, gzip" means gzip applied first */
    {
        uint8_t gz[256];
        const char *t = "secret text";
        size_t gn = zlib_make((const uint8_t *)t, strlen(t), gz, sizeof(gz), 16 + 15);
        char hdr[32];
        int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", gn);
        uint8_t buf[512];
        size_t bn = 0;
        memcpy(buf, hdr, (size_t)hl);
        bn += (size_t)hl;
        memcpy(buf + bn, gz, gn);
        bn += gn;
        memcpy(buf + bn, "\r\n0\r\n\r\n", 7);
        bn += 7;
        expect_bin("text/plain", "gzip, aws-chunked", buf, bn, "secret text|", "aws-chunked>gzip",
                   __LINE__);
    }
    EXPECT("aws-chunked", NULL, "5;chunk-signature=abc\r\nhello\r\n0\r\n\r\n",
           "!malformed aws-chunked framing at byte 21!");
    EXPECT("text/plain", "aws-chunked", "5;foo=bar\r\nhello\r\n0\r\n\r\n",
           "!malformed aws-chunked framing at byte 9!");
    EXPECT("text/plain", "aws-chunked", "5\nhello\r\n0\r\n\r\n",
           "!malformed aws-chunked framing at byte 1!");
    EXPECT("text/plain", "aws-chunked", "5\r\nhelloX\r\n0\r\n\r\n",
           "hello!malformed aws-chunked framing at byte 8!");
    EXPECT("text/plain", "aws-chunked", "5\r\nhello\r\n0\r\n\r\nextra",
           "hello!data after the final aws-chunked chunk!");
    EXPECT("text/plain", "aws-chunked", "5\r\nhel", "hel!truncated aws-chunked body!");
    EXPECT("text/plain", "aws-chunked", "-5\r\nhello\r\n0\r\n\r\n",
           "!malformed aws-chunked framing at byte 0!");
    EXPECT("text/plain", "aws-chunked", "11111111111111111\r\n",
           "!malformed aws-chunked framing at byte 16!");
}

/* ---- AWS event-stream ---- */

static size_t es_hdr_str(uint8_t *o, const char *name, const char *val)
{
    size_t n = 0, nl = strlen(name), vl = strlen(val);
    o[n++] = (uint8_t)nl;
    memcpy(o + n, name, nl);
    n += nl;
    o[n++] = 7;
    o[n++] = (uint8_t)(vl >> 8);
    o[n++] = (uint8_t)vl;
    memcpy(o + n, val, vl);
    return n + vl;
}

static void be32(uint8_t *o, uint32_t v)
{
    o[0] = (uint8_t)(v >> 24);
    o[1] = (uint8_t)(v >> 16);
    o[2] = (uint8_t)(v >> 8);
    o[3] = (uint8_t)v;
}

/* One message: headers h[0..hl), payload. Returns its length. */
static size_t es_msg(uint8_t *o, const uint8_t *h, size_t hl, const char *payload)
{
    size_t pl = strlen(payload), total = 12 + hl + pl + 4;
    be32(o, (uint32_t)total);
    be32(o + 4, (uint32_t)hl);
    be32(o + 8, (uint32_t)crc32(0, o, 8));
    memcpy(o + 12, h, hl);
    memcpy(o + 12 + hl, payload, pl);
    be32(o + 12 + hl + pl, (uint32_t)crc32(0, o, (uInt)(12 + hl + pl)));
    return total;
}

static void test_eventstream(void)
{
    const char *E = "application/vnd.amazon.eventstream";
    uint8_t h[256], m[1024];
    size_t hl = es_hdr_str(h, ":event-type", "chunk");
    hl += es_hdr_str(h + hl, ":content-type", "application/json");
    size_t n = es_msg(m, h, hl, "{\"bytes\":\"eyJ0ZXh0IjoiY2FyZCA0MTExMTExMTExMTExMTExIn0=\"}");
    n += es_msg(m + n, h, hl, "{\"text\":\"two\"}");
    expect_bin(E, NULL, m, n,
               "chunk|{chunk}application/json|{application/json}bytes|{bytes}eyJ0ZXh0IjoiY2FyZCA0MTExMTExMTExMTExMTExIn0=|"
               "{\"text\":\"card 4111111111111111\"}||"
               "|chunk|{chunk}application/json|{application/json}text|{text}two||",
               "eventstream>json", __LINE__);
    /* sniffed */
    expect_bin(NULL, NULL, m, n,
               "chunk|{chunk}application/json|{application/json}bytes|{bytes}eyJ0ZXh0IjoiY2FyZCA0MTExMTExMTExMTExMTExIn0=|"
               "{\"text\":\"card 4111111111111111\"}||"
               "|chunk|{chunk}application/json|{application/json}text|{text}two||",
               "eventstream>json", __LINE__);
    /* header names and pseudo-header values are data too */
    hl = es_hdr_str(h, ":event-type", "078-05-1120");
    hl += es_hdr_str(h + hl, "a@b.example", "v");
    n = es_msg(m, h, hl, "{}");
    expect_bin(E, NULL, m, n, "078-05-1120|{078-05-1120}a@b.example|{a@b.example}v||", NULL, __LINE__);
    /* custom header values are data; binary payload type refused */
    hl = es_hdr_str(h, "x-note", "ssn 078-05-1120");
    hl += es_hdr_str(h + hl, ":content-type", "audio/wav");
    n = es_msg(m, h, hl, "RIFF....");
    expect_bin(E, NULL, m, n,
               "x-note|{x-note}ssn 078-05-1120|audio/wav|{audio/wav}!event payload of type audio/wav!|", NULL,
               __LINE__);
    /* no headers, empty payload */
    n = es_msg(m, h, 0, "");
    expect_bin(E, NULL, m, n, "|", NULL, __LINE__);
    /* CRC errors, truncation, bounds */
    hl = es_hdr_str(h, ":event-type", "chunk");
    n = es_msg(m, h, hl, "{\"a\":\"b\"}");
    m[n - 1] ^= 1;
    expect_bin(E, NULL, m, n, "chunk|{chunk}a|{a}b||!event-stream message CRC mismatch!", NULL, __LINE__);
    m[n - 1] ^= 1;
    m[8] ^= 1;
    expect_bin(E, NULL, m, n, "!event-stream prelude CRC mismatch!", NULL, __LINE__);
    m[8] ^= 1;
    /* cut in the payload: the payload's decoder ends first (its report),
       at every split (fuzz_classifiers_eventstream: an Avro payload
       waiting for its header said nothing at some splits) */
    expect_bin(E, NULL, m, n - 6, "chunk|{chunk}a|{a}b!truncated JSON at byte 7!!truncated event-stream message!", NULL,
               __LINE__);
    expect_bin(E, NULL, m, 5, "!truncated event-stream message!", NULL, __LINE__);
    for (int d = -1; d <= 1; d++) {
        uint8_t pre[12];
        be32(pre, (uint32_t)(16u * 1024u * 1024u + (uint32_t)d));
        be32(pre + 4, 0);
        be32(pre + 8, (uint32_t)crc32(0, pre, 8));
        char *got = run(E, NULL, pre, sizeof(pre));
        if (d <= 0)
            CHECK(strcmp(got, "!truncated event-stream message!") == 0);
        else
            CHECK(strcmp(got, "!event-stream message over 16777216 bytes!") == 0);
        free(got);
    }
    /* a malformed header block */
    h[0] = 0;
    n = es_msg(m, h, 3, "");
    expect_bin(E, NULL, m, n, "!malformed event-stream headers!", NULL, __LINE__);
}

/* ---- CBOR ---- */

static void test_cbor(void)
{
    const char *C = "application/cbor";
    /* {"modelId":"m1","messages":[{"text":"a@b.com"}]} */
    const uint8_t doc[] = {0xa2, 0x67, 'm', 'o', 'd',  'e', 'l', 'I', 'd', 0x62, 'm',  '1',
                           0x68, 'm',  'e', 's', 's',  'a', 'g', 'e', 's', 0x81, 0xa1, 0x64,
                           't',  'e',  'x', 't', 0x67, 'a', '@', 'b', '.', 'c',  'o',  'm'};
    expect_bin(C, NULL, doc, sizeof(doc), "modelId|{modelId}m1|messages|{messages}text|{text}a@b.com|", "cbor", __LINE__);
    expect_bin(NULL, NULL, doc, sizeof(doc), "modelId|{modelId}m1|messages|{messages}text|{text}a@b.com|", "cbor",
               __LINE__);
    /* integers: 4111111111111111 (uint64), -5, 0; float; tag; true/null */
    const uint8_t ints[] = {0x87, 0x1b, 0x00, 0x0e, 0x9b, 0x08, 0xa5, 0x68, 0xf1, 0xc7,
                            0x24, 0x00, 0xfb, 0x3f, 0xf8, 0,    0,    0,    0,    0,
                            0,    0xc1, 0x1a, 0x65, 0x53, 0xf1, 0x00, 0xf5, 0xf6};
    expect_bin(C, NULL, ints, sizeof(ints), "4111111111111111|-5|0|1700000000|", NULL, __LINE__);
    /* indefinite map, indefinite text in chunks, indefinite array */
    const uint8_t indef[] = {0xbf, 0x61, 'k',  0x7f, 0x63, 'a',  'b', 'c',  0x62, 'd',
                             'e',  0xff, 0x61, 'l',  0x9f, 0x61, 'x', 0xff, 0xff};
    expect_bin(C, NULL, indef, sizeof(indef), "k|{k}abcde|l|{l}x|", NULL, __LINE__);
    /* byte strings: text is scanned, a PNG reported, the rest still decoded */
    const uint8_t bs[] = {0xa2, 0x61, 'b',  0x4b, 'h',  'e',  'l', 'l',  'o',  ' ',
                          'w',  'o',  'r',  'l',  'd',  0x61, 'p', 0x4c, 0x89, 'P',
                          'N',  'G',  '\r', '\n', 0x1a, '\n', 0,   0,    0,    0x0d};
    expect_bin(C, NULL, bs, sizeof(bs), "b|{b}hello world|p|{p}!CBOR byte string holds a PNG image!",
               NULL, __LINE__);
    const uint8_t bin[] = {0x82, 0x48, 1, 2, 3, 4, 5, 6, 7, 8, 0x61, 'z'};
    expect_bin(C, NULL, bin, sizeof(bin), "!binary CBOR byte string!z|", NULL, __LINE__);
    /* the AWS SDK for Java's CBOR protocol (Kinesis): no sniffing needed */
    expect_bin("application/x-amz-cbor-1.1", NULL, bin, sizeof(bin), "!binary CBOR byte string!z|", NULL, __LINE__);
    /* a byte string that is a zip archive (a docx in a Smithy RPC v2 CBOR
       request) is read through the zip decoder */
    {
        static uint8_t zb[512], cb[600];
        size_t zn = zip_add(zb, 0, "a.txt", "mail c@d.io", 11, 8, 0, 0), k = 0;
        const uint8_t head[] = {0xa2, 0x61, 'd', 0x58, (uint8_t)zn};
        memcpy(cb, head, sizeof(head));
        k = sizeof(head);
        memcpy(cb + k, zb, zn);
        k += zn;
        memcpy(cb + k, "\x61z\x65" "after", 8);
        k += 8;
        expect_bin(C, NULL, cb, k, "d|{d}a.txt|{a.txt}mail c@d.io|z|{z}after|", "cbor", __LINE__);
        /* (cut before the 64 bytes that decide what the string is) */
        expect_bin(C, NULL, cb, 5 + zn - 4, "d|{d}!truncated CBOR at byte 49!", NULL, __LINE__);
    }
    /* self-described */
    const uint8_t sd[] = {0xd9, 0xd9, 0xf7, 0xa1, 0x61, 'x', 0x61, 'y'};
    expect_bin(NULL, NULL, sd, sizeof(sd), "x|{x}y|", "cbor", __LINE__);
    /* malformed */
    const uint8_t trunc[] = {0xa1, 0x61, 'k', 0x65, 'a', 'b'};
    expect_bin(C, NULL, trunc, sizeof(trunc), "k|{k}ab!truncated CBOR at byte 6!", NULL, __LINE__);
    const uint8_t resv[] = {0x81, 0x1c};
    expect_bin(C, NULL, resv, sizeof(resv), "!malformed CBOR at byte 1!", NULL, __LINE__);
    const uint8_t brk[] = {0x82, 0x01, 0xff};
    expect_bin(C, NULL, brk, sizeof(brk), "1|!malformed CBOR at byte 2!", NULL, __LINE__);
    const uint8_t chunk[] = {0x7f, 0x41, 'a', 0xff};
    expect_bin(C, NULL, chunk, sizeof(chunk), "!malformed CBOR at byte 1!", NULL, __LINE__);
    const uint8_t extra[] = {0x01, 0x02};
    expect_bin(C, NULL, extra, sizeof(extra), "1|!data after the CBOR item at byte 1!", NULL,
               __LINE__);
    const uint8_t oddmap[] = {0xbf, 0x61, 'k', 0xff};
    expect_bin(C, NULL, oddmap, sizeof(oddmap), "k|{k}!malformed CBOR at byte 3!", NULL, __LINE__);
    const uint8_t simple[] = {0xf8, 0x10};
    expect_bin(C, NULL, simple, sizeof(simple), "!malformed CBOR at byte 2!", NULL, __LINE__);
    /* depth N-1 / N / N+1 */
    g_lim.max_depth = 8;
    for (int depth = 7; depth <= 9; depth++) {
        uint8_t b[16];
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            b[n++] = 0x81;
        b[n++] = 0x07;
        char *got = run(C, NULL, b, n);
        if (depth <= 8)
            CHECK(strcmp(got, "7|") == 0);
        else
            CHECK(strcmp(got, "!CBOR nesting deeper than 8!") == 0);
        free(got);
    }
    g_lim.max_depth = 0;
}

/* ---- large inputs: random splits give the one-shot transcript ---- */

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static char *run_random(const char *ct, const char *ce, const uint8_t *in, size_t n)
{
    struct rec r = {0};
    struct cls_sink s = {.ctx = &r,
                         .data = rec_data,
                         .boundary = rec_boundary,
                         .context = rec_context,
                         .uninspectable = rec_unins};
    struct cls_decode_chain *c = NULL;
    rec_put(&r, "", 0);
    if (cls_decode_chain_new(ct, ce, &g_lim, &s, &c) != SGW_OK)
        abort();
    size_t off = 0;
    while (off < n) {
        size_t take = 1 + rnd() % (rnd() % 3 == 0 ? 16 : 9000);
        if (take > n - off)
            take = n - off;
        CHECK(cls_decode_chain_feed(c, in + off, take) == SGW_OK);
        off += take;
    }
    CHECK(cls_decode_chain_finish(c) == SGW_OK);
    cls_decode_chain_free(c);
    return r.buf;
}

/* The whole pipeline at every SIMD level this CPU runs gives the same
   transcript, in one call and in random splits: JSON with base64 runs of
   text and binary (short, long, wrapped), escapes and text to normalise,
   and the same as plain text. */
/* The transcript of t at the top SIMD level, checked against every level
   below it and random splits (failures reported with `what` and round). */
static char *levels_agree(const char *ct, const char *t, size_t n, const char *what, int round)
{
    int top = dec_simd_level();
    char *want = run(ct, NULL, t, n);
    for (int level = DEC_SIMD_SCALAR; level < top; level++) {
        dec_simd_cap(level);
        char *got = run(ct, NULL, t, n);
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "%s, round %d: level %d differs\n", what, round, level);
            failures++;
        }
        free(got);
    }
    dec_simd_cap(DEC_SIMD_TOP);
    char *split = run_random(ct, NULL, (const uint8_t *)t, n);
    if (strcmp(want, split) != 0) {
        fprintf(stderr, "%s, round %d: random splits differ\n", what, round);
        failures++;
    }
    free(split);
    return want;
}

/* The normalisation's finder passes accented Latin letters over in blocks
   when no '@' is near (norm_stop_avx2); the scalar level stops at each.
   Text of accented words, addresses with accented domains, escapes and
   '@'s at every offset of the blocks: the same events at every level and
   split. '@' is rare enough that most letters have none within 128 bytes;
   every other round is Latin letters only (other letters stop the finder
   before it gets to the blocks). */
static void test_norm_letters_levels(void)
{
    static const char *const toks[] = {"Gr\xc3\xbc\xc3\x9f\x65 ", "sch\xc3\xb6n ", "\xc3\x9f", "\xc3\xa9", "x",
                                       " ", "\xd0\x96", "\xe4\xb8\xad", "\xc3", "\xcb\x86", "%41"};
    static const char *const at_toks[] = {"bob@m\xc3\xbcller.de ", "a@", "mail j\xc3\xbcrgen@b\xc3\xbc\x63her.de. "};
    /* Greek and Cyrillic: words, lookalikes next to ASCII letters and
       digits (homoglyph copies), combining marks (dropped), Armenian */
    static const char *const cyr_toks[] = {"\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 ", "\xd0\x96", " ",
                                           "\xce\xb1\xce\xb2", "\xd0\xb0", "7", "x", "\xcd\x81", "\xcd\xb0",
                                           "\xd4\xb1", "\xd4\x81", ". "};
    char *t = malloc(20000);
    for (int round = 0; round < 18; round++) {
        size_t n = 0;
        while (n < 6000) {
        
            /* ASCII letters and digits rare in the Cyrillic rounds, so
               that most letters have none next to them */
            const char *k = round % 3 == 2 ? cyr_toks[rnd() % (rnd() % 8 ? 5 : SGW_ARRAY_LEN(cyr_toks))]
                            : rnd() % 40 ? toks[rnd() % (round % 2 ? SGW_ARRAY_LEN(toks) : 5)]
                                         : at_toks[rnd() % SGW_ARRAY_LEN(at_toks)];
            size_t l = strlen(k);
            memcpy(t + n, k, l);
            n += l;
        }
        t[n] = '\0';
        char *want = levels_agree("text/plain", t, n, "accented text", round);
        CHECK(strchr(want, '|') != NULL); /* (copies were made) */
        free(want);
    }
    free(t);
    /* a lookalike before a digit, and one after a letter, deep in a block
       of Cyrillic (the finder passes the others over): their copies */
    char in[400], want[900];
    for (int side = 0; side < 2; side++) {
        size_t n = 0;
        for (int k = 0; k < 60; k++)
            n += (size_t)snprintf(in + n, sizeof(in) - n, "\xd0\x96");
        n += (size_t)snprintf(in + n, sizeof(in) - n, side ? "x\xd0\xb0" : "\xd0\xb0" "7");
        for (int k = 0; k < 60; k++)
            n += (size_t)snprintf(in + n, sizeof(in) - n, "\xd0\x96");
        /* the copy: the 64 bytes before the lookalike, its letter, the 64
           after it (the last cut in a letter, as a copy's reach is) */
        size_t at = 120 + (size_t)side;
        snprintf(want, sizeof(want), "%s|%.64sa%.64s|", in, in + at - 64, in + at + 2);
        char *got = levels_agree("text/plain", in, n, "lookalike in Cyrillic", side);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "lookalike in Cyrillic (%d): got [%s]\n", side, got);
            failures++;
        }
        free(got);
    }
}

/* JSON strings of letters other than ASCII go on over whole 2- and 3-byte
   sequences in 64-byte blocks (js_text_stop_avx2); the levels below stop at
   each. Long strings of such letters, 4-byte ones, the leads with narrow
   second bytes (E0, ED), and in half the rounds one invalid sequence at a
   random place (cut, stray, surrogate, overlong): the same events, error
   offsets included, at every level and split. */
static void test_json_letters_levels(void)
{
    /* the first 7 never stop the block finder; the rest do (so in half
       the rounds the blocks run long and sequences cross their ends) */
    static const char *const toks[] = {"ab", " ", "\xc3\xa9", "\xd0\x96", "\xe4\xb8\xad", "\xef\xbf\xbd",
                                       "\xdf\xbf", "\xf0\x9f\x98\x80", "\xe0\xa4\x85", "\xed\x9f\xbf"};
    static const char *const bad[] = {"\xc3" "a", "\x80", "\xe4\xb8" "a", "\xed\xa0\x80", "\xc0\xaf", "\xe0\x80\x80",
                                      "\xf4\x90\x80\x80", "\xff"};
    char *t = malloc(20000);
    for (int round = 0; round < 24; round++) {
        size_t n = (size_t)snprintf(t, 20000, "[\"");
        size_t at_bad = round % 2 ? 100 + rnd() % 5000 : SIZE_MAX;
        while (n < 6000) {
            const char *k = toks[rnd() % (round % 4 < 2 ? 7 : SGW_ARRAY_LEN(toks))];
            if (n >= at_bad) {
                k = bad[rnd() % SGW_ARRAY_LEN(bad)];
                at_bad = SIZE_MAX;
            }
            size_t l = strlen(k);
            memcpy(t + n, k, l);
            n += l;
        }
        n += (size_t)snprintf(t + n, 20000 - n, "\"]");
        char *want = levels_agree("application/json", t, n, "JSON letters", round);
        CHECK((round % 2 == 1) == (strstr(want, "!invalid UTF-8 in JSON at byte") != NULL));
        free(want);
    }
    free(t);
}

static void test_simd_levels_pipeline(void)
{
    size_t cap = 400000, n = 0;
    char *j = malloc(cap);
    char *blob = malloc(20000);
    uint8_t raw[12000];
    static const char words[] = "wordsand 4111 1111 1111 1111 \xc3\xa9";
    n += (size_t)snprintf(j + n, cap - n, "[");
    for (int i = 0; i < 300; i++) {
        size_t rl = 1 + rnd() % (i % 37 == 0 ? sizeof(raw) : 200);
        for (size_t k = 0; k < rl; k++)
            raw[k] = (i % 3) ? (uint8_t)words[rnd() % (sizeof(words) - 1)] : (uint8_t)rnd();
        b64enc(raw, rl, blob);
        n += (size_t)snprintf(j + n, cap - n,
                              "%s{\"k%d\":\"pre \\u00e9\xef\xbc\x94\xe2\x80\x8b %s%s post\\n\"}",
                              i ? "," : "", i, (i % 4 == 0) ? "x" : "", blob);
        CHECK(n < cap - 30000);
    }
    /* short values (the short path of the base64 stage): every length up to
       20 from an alphabet of run characters, separators and UTF-8 */
    static const char *const bits[] = {"a", "Z", "9", "+", "/", "_", "-", " ", ".", "=",
                                       "\xc3\xa9", "\xef\xbc\x94"};
    for (int i = 0; i < 2000; i++) {
        n += (size_t)snprintf(j + n, cap - n, ",\"");
        for (size_t k = rnd() % 21; k > 0; k--)
            n += (size_t)snprintf(j + n, cap - n, "%s", bits[rnd() % SGW_ARRAY_LEN(bits)]);
        n += (size_t)snprintf(j + n, cap - n, "\"");
        CHECK(n < cap - 100);
    }
    /* byte lists after prose of every length (a list's run of the
       alphabet across the AVX-512 finder's blocks), of every kind */
    for (int i = 0; i < 400; i++) {
        n += (size_t)snprintf(j + n, cap - n, ",\"%.*s", i % 97, "the quick brown fox jumps over the lazy dog, "
                                                                 "who is tired of it all; then a face, 1999 add "
                                                                 "more");
        for (int t = 0, len = 6 + i % 11; t < len; t++)
        {
            int c = "AKIAIOSFODNN7EXAMPLE"[(t + i) % 20];
            n += (size_t)(i % 4 == 0   ? snprintf(j + n, cap - n, "0x%02x, ", c)
                          : i % 4 == 1 ? snprintf(j + n, cap - n, "%02X:", c)
                          : i % 4 == 2 ? snprintf(j + n, cap - n, "%d,", c)
                                       : snprintf(j + n, cap - n, "%02x ", c));
        }
        n += (size_t)snprintf(j + n, cap - n, "%s\"", i % 3 ? "tail" : "");
        CHECK(n < cap - 100);
    }
    n += (size_t)snprintf(j + n, cap - n, "]");
    static const char *const types[] = {"application/json", "text/plain"};
    int top = dec_simd_level();
    for (size_t t = 0; t < SGW_ARRAY_LEN(types); t++) {
        char *want = run(types[t], NULL, j, n);
        for (int level = DEC_SIMD_SCALAR; level < top; level++) {
            dec_simd_cap(level);
            char *got = run(types[t], NULL, j, n);
            char *split = run_random(types[t], NULL, (const uint8_t *)j, n);
            if (strcmp(want, got) != 0 || strcmp(want, split) != 0) {
                fprintf(stderr, "pipeline at SIMD level %d differs (%s)\n", level, types[t]);
                failures++;
            }
            free(got);
            free(split);
        }
        dec_simd_cap(DEC_SIMD_TOP);
        free(want);
    }
    free(blob);
    free(j);
}

/* Text pieces for the combined steps: base64 runs of 0..40 characters
 * (both sides of B64_MIN_RUN), some decoding to text, others binary, pads,
 * line ends, separators, UTF-8 (mapped, dropped, kept, invalid) and its
 * sequences cut at the piece's end. */
static size_t text_piece(uint8_t *o, size_t cap)
{
    static const char *const bits[] = {
        "a", "Z", "9", "+", "/", "_", "-", " ", ".", "=", "\r\n", "\n", "\xc3\xa9",
        "\xef\xbc\x94", "\xe2\x80\x8b", "\xff", "\xc3", "\xef\xbc", "\xf0\x9f\x98",
        "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQh", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "////////////////"};
    size_t n = 0, want = rnd() % (rnd() % 4 == 0 ? 200 : 20);
    while (n < want) {
        const char *b = bits[rnd() % SGW_ARRAY_LEN(bits)];
        size_t l = strlen(b);
        if (n + l > cap)
            break;
        memcpy(o + n, b, l);
        n += l;
    }
    return n;
}

/* The combined steps of struct dec_text_out (data then boundary, data then
 * boundary then context) give the transcript of the separate calls, at
 * every SIMD level, after any state the stages may hold (a base64 run held
 * across calls, a UTF-8 sequence cut by a call), with data of every length
 * (the short path below 16 bytes and the finder above), empty data too. */
static void test_text_out_combined(void)
{
    void *mem[2];
    for (int k = 0; k < 2; k++)
        mem[k] = aligned_alloc(64, (dec_text_stages_size() + 63u) & ~(size_t)63u);
    CHECK(mem[0] && mem[1]);
    if (!mem[0] || !mem[1])
        return;
    int top = dec_simd_level();
    for (int level = DEC_SIMD_SCALAR; level <= top; level++) {
        dec_simd_cap(level);
        for (int iter = 0; iter < 4000; iter++) {
            /* most through both stages, as a chain has them; some through a
               base64 stage straight into the sink (no normalisation) */
            int alone = iter % 4 == 3;
            struct rec r[2] = {{0}, {0}};
            struct cls_sink fin[2] = {{.ctx = &r[0],
                                       .data = rec_data,
                                       .boundary = rec_boundary,
                                       .context = rec_context,
                                       .uninspectable = rec_unins},
                                      {.ctx = &r[1],
                                       .data = rec_data,
                                       .boundary = rec_boundary,
                                       .context = rec_context,
                                       .uninspectable = rec_unins}};
            struct dec_b64 *b[2];
            struct dec_norm *z[2];
            struct dec_text_out o, plain;
            for (int k = 0; k < 2; k++) {
                rec_put(&r[k], "", 0);
                if (alone) {
                    z[k] = NULL;
                    CHECK(dec_b64_new(0, &fin[k], &b[k]) == SGW_OK);
                } else {
                    dec_text_stages_init(mem[k], &fin[k], &b[k], &z[k]);
                }
            }
            const struct cls_sink *sep = dec_b64_sink(b[0]);
            dec_text_out_init(&o, dec_b64_sink(b[1]));
            dec_text_out_init(&plain, &fin[0]);
            /* the stage's own steps, not the calls in a row */
            CHECK(o.data_end != plain.data_end && o.key_end != plain.key_end);
            uint8_t buf[400], key[64];
            for (int ev = 0; ev < 12; ev++) {
                size_t n = text_piece(buf, sizeof(buf));
                unsigned what = rnd() % 4;
                if (what == 0) { /* a piece in the middle of a unit */
                    if (n) {
                        CHECK(sep->data(sep->ctx, buf, n) == SGW_OK);
                        CHECK(o.data(o.ctx, buf, n) == SGW_OK);
                    }
                    continue;
                }
                if (n)
                    CHECK(sep->data(sep->ctx, buf, n) == SGW_OK);
                CHECK(sep->boundary(sep->ctx) == SGW_OK);
                if (what == 1) {
                    CHECK(o.data_end(&o, buf, n) == SGW_OK);
                    continue;
                }
                size_t kn = text_piece(key, sizeof(key));
                CHECK(sep->context(sep->ctx, key, kn) == SGW_OK);
                CHECK(o.key_end(&o, buf, n, key, kn) == SGW_OK);
            }
            for (int k = 0; k < 2; k++) {
                CHECK(dec_b64_finish(b[k]) == SGW_OK);
                if (z[k])
                    CHECK(dec_norm_finish(z[k]) == SGW_OK);
                dec_b64_free(b[k]);
                dec_norm_free(z[k]);
            }
            if (strcmp(r[0].buf, r[1].buf) != 0) {
                fprintf(stderr, "combined text steps differ at SIMD level %d (iter %d)\n",
                        level, iter);
                failures++;
            }
            free(r[0].buf);
            free(r[1].buf);
        }
    }
    dec_simd_cap(DEC_SIMD_TOP);
    /* a sink that is not a base64 stage: the calls one after another */
    struct rec r = {0};
    struct cls_sink fin = {.ctx = &r,
                           .data = rec_data,
                           .boundary = rec_boundary,
                           .context = rec_context,
                           .uninspectable = rec_unins};
    struct dec_text_out o;
    rec_put(&r, "", 0);
    dec_text_out_init(&o, &fin);
    CHECK(o.data_end(&o, (const uint8_t *)"ab", 2) == SGW_OK);
    CHECK(o.data_end(&o, (const uint8_t *)"", 0) == SGW_OK);
    CHECK(o.key_end(&o, (const uint8_t *)"k", 1, (const uint8_t *)"key", 3) == SGW_OK);
    CHECK(o.key_end(&o, (const uint8_t *)"", 0, (const uint8_t *)"", 0) == SGW_OK);
    CHECK(strcmp(r.buf, "ab||k|{key}|{}") == 0);
    free(r.buf);
    free(mem[0]);
    free(mem[1]);
}

static void test_large_random_splits(void)
{
    /* ~400 KB of JSON with escapes, non-ASCII, base64 blobs, numbers */
    size_t cap = 600000, n = 0;
    char *j = malloc(cap);
    char b64[200];
    const char *secret = "card 4111 1111 1111 1111 for jane@example.com";
    b64enc((const uint8_t *)secret, strlen(secret), b64);
    n += (size_t)snprintf(j + n, cap - n, "{\"messages\":[");
    for (int i = 0; i < 4000; i++) {
        n += (size_t)snprintf(j + n, cap - n,
                              "%s{\"role\":\"user\",\"n\":%d,\"content\":\"line %d\\n\\u0041KIA "
                              "\xef\xbc\x94"
                              "\xe2\x80\x8b"
                              "1 caf\xc3\xa9 %s tail words here\"}",
                              i ? "," : "", i * 7919, i, (i % 5 == 0) ? b64 : "no blob");
    }
    n += (size_t)snprintf(j + n, cap - n, "]}");
    CHECK(n < cap);
    char *one = run((const char *)"application/json", NULL, j, n);
    CHECK(strstr(one, secret) != NULL);
    CHECK(strstr(one, "!") == NULL);
    for (int k = 0; k < 3; k++) {
        char *got = run_random("application/json", NULL, (const uint8_t *)j, n);
        CHECK(strcmp(one, got) == 0);
        free(got);
    }
    /* the same through gzip */
    uLong zcap = compressBound(n) + 64;
    uint8_t *z = malloc(zcap);
    size_t zn = zlib_make((const uint8_t *)j, n, z, zcap, 16 + 15);
    for (int k = 0; k < 3; k++) {
        char *got = run_random("application/json", "gzip", z, zn);
        CHECK(strcmp(one, got) == 0);
        free(got);
    }
    /* zstd, intact and corrupted: the output before the error must not
       depend on the split either */
    size_t zc = ZSTD_compressBound(n);
    uint8_t *zs = malloc(zc);
    size_t zsn = ZSTD_compress(zs, zc, j, n, 1);
    CHECK(!ZSTD_isError(zsn));
    for (int k = 0; k < 2; k++) {
        char *got = run_random("application/json", "zstd", zs, zsn);
        CHECK(strcmp(one, got) == 0);
        free(got);
    }
    zs[zsn / 2] ^= 0x55;
    char *bad = run("application/json", "zstd", zs, zsn);
    CHECK(strstr(bad, "!") != NULL);
    for (int k = 0; k < 3; k++) {
        char *got = run_random("application/json", "zstd", zs, zsn);
        CHECK(strcmp(bad, got) == 0);
        free(got);
    }
    free(bad);
    /* xz and bzip2 likewise (sniffed: no content coding names them) */
    {
        size_t xc = n + n / 2 + 4096, xn = 0;
        uint8_t *xb = malloc(xc);
        CHECK(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, (const uint8_t *)j, n, xb, &xn, xc) == LZMA_OK);
        for (int pass = 0; pass < 2; pass++) {
            for (int k = 0; k < 2; k++) {
                char *a = run(NULL, NULL, xb, xn), *got = run_random(NULL, NULL, xb, xn);
                CHECK(strcmp(a, got) == 0);
                CHECK(pass || strcmp(a, one) == 0);
                free(a);
                free(got);
            }
            xb[xn / 2] ^= 0x55;
        }
        unsigned bl = (unsigned)xc;
        CHECK(BZ2_bzBuffToBuffCompress((char *)xb, &bl, j, (unsigned)n, 1, 0, 0) == BZ_OK);
        for (int pass = 0; pass < 2; pass++) {
            for (int k = 0; k < 2; k++) {
                char *a = run(NULL, NULL, xb, bl), *got = run_random(NULL, NULL, xb, bl);
                CHECK(strcmp(a, got) == 0);
                CHECK(pass || strcmp(a, one) == 0);
                free(a);
                free(got);
            }
            xb[bl / 2] ^= 0x55;
        }
        free(xb);
    }
    /* A frame whose block emits a byte from its first part and fails in its
       second (found by fuzz_classifiers_decode): held until the unit is
       whole, any split gives what one call gives (the error, no data). */
    static const uint8_t cut[] = {
        0x28, 0xb5, 0x2f, 0xfd, 0x50, 0x4b, 0x05, 0x06, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x00, 0x41,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd3, 0x6d, 0x26, 0xc5, 0x36,
    };
    const char *mp = "multipart/form-data; boundary=XyZ";
    char *cut_one = run(mp, "zstd", cut, sizeof(cut));
    CHECK(strcmp(cut_one, "!malformed zstd stream!") == 0);
    for (int k = 0; k < 4; k++) {
        char *got = run_random(mp, "zstd", cut, sizeof(cut));
        CHECK(strcmp(cut_one, got) == 0);
        free(got);
    }
    free(cut_one);
    free(zs);
    free(z);
    free(one);
    free(j);
}

/* ---- the public contract ---- */

static void test_api(void)
{
    struct rec r = {0};
    struct cls_sink s = {.ctx = &r,
                         .data = rec_data,
                         .boundary = rec_boundary,
                         .context = rec_context,
                         .uninspectable = rec_unins};
    struct cls_sink bad = {.ctx = &r,
                           .data = rec_data,
                           .boundary = NULL,
                           .context = rec_context,
                           .uninspectable = rec_unins};
    struct cls_decode_chain *c = NULL;
    CHECK(cls_decode_chain_new("text/plain", NULL, NULL, NULL, &c) == SGW_EINVAL);
    CHECK(cls_decode_chain_new("text/plain", NULL, NULL, &bad, &c) == SGW_EINVAL);
    /* NULL limits: defaults */
    CHECK(cls_decode_chain_new("application/json", "gzip", NULL, &s, &c) == SGW_OK);
    CHECK(strcmp(cls_decode_chain_path(c), "gzip>json") == 0);
    CHECK(cls_decode_chain_feed(c, (const uint8_t *)"", 0) == SGW_OK);
    CHECK(cls_decode_chain_finish(c) == SGW_OK);
    CHECK(cls_decode_chain_finish(c) == SGW_OK);                            /* idempotent */
    CHECK(cls_decode_chain_feed(c, (const uint8_t *)"x", 1) == SGW_EINVAL); /* after finish */
    CHECK(r.len == 0); /* empty body: nothing to report */
    cls_decode_chain_free(c);
    cls_decode_chain_free(NULL);
    free(r.buf);
    /* at most DEC_MAX_REPORTS distinct reasons, then a fixed one */
    struct rec r2 = {0};
    s.ctx = &r2;
    CHECK(cls_decode_chain_new("multipart/form-data; boundary=b", NULL, NULL, &s, &c) == SGW_OK);
    CHECK(cls_decode_chain_feed(c, (const uint8_t *)"--b\r\n", 5) == SGW_OK);
    for (int i = 0; i < 20; i++) {
        const char *part = "Content-Disposition: form-data; name=\"f\"\r\n"
                           "Content-Type: image/png\r\n\r\nx\r\n--b\r\n";
        CHECK(cls_decode_chain_feed(c, (const uint8_t *)part, strlen(part)) == SGW_OK);
    }
    CHECK(cls_decode_chain_finish(c) == SGW_OK);
    CHECK(r2.n_unins == 21); /* 20 image parts + the truncated body */
    CHECK(strstr(r2.buf, "!more uninspectable content!") != NULL);
    cls_decode_chain_free(c);
    free(r2.buf);
}

int main(void)
{
    test_find_special();
    test_simd_b64_find();
    test_simd_list_find();
    test_looks_text_step();
    test_json();
    test_json_tables();
    test_json_html();
    test_text_tables();
    test_json_stage();
    test_json_depth();
    test_charsets();
    test_types();
    test_norm();
    test_escapes();
    test_escapes_base64();
    test_utf16();
    test_xml();
    test_zip();
    test_xlsx();
    test_b64_csv();
    test_doc_tables();
    test_tar();
    test_pdf();
    test_parquet();
    test_avro();
    test_ole();
    test_csv();
    test_protobuf();
    test_snappy();
    test_kpl();
    test_protobuf_b64();
    test_base64();
    test_base64_long();
    test_hex_runs();
    test_base32();
    test_byte_lists();
    test_long_run_lines();
    test_base64_compressed();
    test_x509();
    test_keys();
    test_form();
    test_compress();
    test_bomb();
    test_multipart();
    test_message();
    test_awschunked();
    test_eventstream();
    test_cbor();
    test_large_random_splits();
    test_simd_levels_pipeline();
    test_norm_letters_levels();
    test_json_letters_levels();
    test_text_out_combined();
    test_api();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_decode: ok\n");
    return 0;
}
