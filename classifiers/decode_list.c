/* classifiers/decode_list.c — byte lists in text: a value written one byte
 * per number, as code and tools print bytes (catalogue 4.1 case 18):
 *
 *   0x41, 0x4b, 0x49, 0x41          C, Go, Rust, `xxd -i`
 *   41 4b 49 41   41:4b:49:41       hex dumps, Wireshark, openssl -text
 *   [65, 75, 73, 65]  {48, -126}    JavaScript, Python, Java (signed)
 *
 * The base64 stage looks for them (decode_text.c): a finder here
 * (dec_list_finder; on AVX-512 the base64 finder flags the data first)
 * finds where a run of at least LIST_MIN_RUN bytes of the lists' alphabet
 * (hex digits, 'x', spaces, ',', ':', ';', '-', tabs and line ends)
 * starts, and this tokenizer reads the run one byte at a time. A list is at least
 * LIST_MIN_TOK tokens of one kind: "0x" and one or two hex digits (X), two
 * hex digits (H), or a decimal number up to 255, or down to -128 after a
 * ',' or a space (D). Two decimal digits are both H and D until a token
 * says which; both decodings are kept until then. Prose rarely has 24
 * bytes of that alphabet in a row; a table of numbers has, and its
 * decoding is rarely text. */
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "classifiers/decode_internal.h"

static size_t find_scalar(const uint8_t *p, size_t n, uint32_t *carry)
{
    uint32_t run = *carry & ~LIST_NO_TAIL;
    for (size_t i = 0; i < n; i++) {
        if (!dec_list_alpha(p[i])) {
            run = 0;
            continue;
        }
        if (++run >= LIST_MIN_RUN) {
            size_t back = run - 1; /* bytes of the run before p[i] */
            *carry = back > i ? (uint32_t)(back - i) : 0;
            return back > i ? 0 : i - back;
        }
    }
    *carry = run;
    return n;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static inline uint32_t alpha32(const uint8_t *p)
{
    const __m256i lo = _mm256_broadcastsi128_si256(_mm_setr_epi8(DEC_LIST_LO));
    const __m256i hi = _mm256_broadcastsi128_si256(_mm_setr_epi8(DEC_LIST_HI));
    const __m256i m0f = _mm256_set1_epi8(0x0f);
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i a = _mm256_shuffle_epi8(lo, _mm256_and_si256(v, m0f));
    __m256i b = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), m0f));
    __m256i z = _mm256_cmpeq_epi8(_mm256_and_si256(a, b), _mm256_setzero_si256());
    return ~(uint32_t)_mm256_movemask_epi8(z);
}

/* The run found in a block of masks m (bit k: byte i + k is in the
 * alphabet; bits past the data clear), the run before it `run` long: the
 * index of the run's first byte (*carry: how many of them came before p),
 * or SIZE_MAX with *run the run that ends the block (w bits wide). */
static inline __attribute__((always_inline)) size_t block_run(uint64_t m, unsigned w, size_t i, uint64_t *run,
                                                              uint32_t *carry)
{
    uint64_t full = w == 64 ? ~0ull : (1ull << w) - 1;
    unsigned lead = (~m & full) ? (unsigned)__builtin_ctzll(~m) : w;
    if (*run + lead >= LIST_MIN_RUN) {
        *carry = *run > i ? (uint32_t)(*run - i) : 0;
        return *run > i ? 0 : i - *run;
    }
    if ((unsigned)__builtin_popcountll(m) >= LIST_MIN_RUN) {
        /* bit k of r: the 24 bits from k on are set */
        uint64_t r = m & (m >> 1);
        r &= r >> 2;
        r &= r >> 4;
        r &= r >> 8;
        r &= r >> 8;
        if (r) {
            *carry = 0;
            return i + (size_t)__builtin_ctzll(r);
        }
    }
    /* the run that ends the block: its top bits (all of them: the run
       before goes on) */
    if (m == full)
        *run += w;
    else
        *run = (unsigned)__builtin_clzll(~(m << (64 - w)));
    return SIZE_MAX;
}

/* 1 when a byte of mask m is 0xff: 8 bytes of the alphabet in a row at
 * a multiple of 8. A run of LIST_MIN_RUN has two such bytes, in one block
 * or in two next to each other: a block without one (most blocks of prose)
 * needs no more than its mask kept (its run at the end is at most 7 long),
 * unless the run before it is long enough to reach 24 with its first 7. */
static inline int full_byte(uint64_t m)
{
    uint64_t y = ~m;
    return ((y - 0x0101010101010101ull) & ~y & 0x8080808080808080ull) != 0;
}

/* 32 bytes a step; the last part of the data as the last 32 bytes shifted
 * down (or, under 32 bytes, copied into a block of zero bytes, which are
 * not in the alphabet), so nothing is read past p + n. */
__attribute__((target("avx2,bmi,popcnt,lzcnt"))) static size_t find_avx2(const uint8_t *p, size_t n,
                                                                         uint32_t *carry)
{
    uint64_t run = *carry & ~LIST_NO_TAIL, prev = 0;
    int skipped = 0; /* the last block was passed over: run is prev's */
    for (size_t i = 0; i < n; i += 32) {
        size_t v = n - i;
        uint64_t m;
        if (v >= 32) {
            m = alpha32(p + i);
        } else if (n >= 32) {
            m = alpha32(p + n - 32) >> (32 - v);
        } else {
            uint8_t tmp[32] = {0};
            memcpy(tmp, p + i, v);
            m = alpha32(tmp);
        }
        unsigned w = v >= 32 ? 32u : (unsigned)v;
        if (!full_byte(m) && (skipped || run <= 16) && v > 32) {
            prev = m;
            skipped = 1;
            continue;
        }
        if (skipped)
            run = (unsigned)__builtin_clzll(~(prev << 32));
        skipped = 0;
        size_t at = block_run(m, w, i, &run, carry);
        if (at != SIZE_MAX)
            return at;
        if (v <= 32) {
            /* (a block of all the alphabet continues the run) */
            break;
        }
    }
    *carry = (uint32_t)run;
    return n;
}

#define LIST_AVX512 "avx512f,avx512bw,bmi,bmi2,popcnt,lzcnt"

__attribute__((target(LIST_AVX512))) static inline uint64_t alpha64(__m512i x)
{
    const __m512i lo = _mm512_broadcast_i32x4(_mm_setr_epi8(DEC_LIST_LO));
    const __m512i hi = _mm512_broadcast_i32x4(_mm_setr_epi8(DEC_LIST_HI));
    const __m512i m0f = _mm512_set1_epi8(0x0f);
    __m512i a = _mm512_shuffle_epi8(lo, _mm512_and_si512(x, m0f));
    __m512i b = _mm512_shuffle_epi8(hi, _mm512_and_si512(_mm512_srli_epi16(x, 4), m0f));
    return _mm512_test_epi8_mask(a, b);
}

/* 64 bytes a step. A block is first tested on a wider class (its bytes
 * with 0x20 set at most 'f', or 'x': the alphabet and more punctuation):
 * without 8 of those in a row at a multiple of 8 it has no run of the
 * alphabet's (full_byte), and only a block that has is classified
 * exactly. The last part is a masked load (nothing read past p + n). */
__attribute__((target(LIST_AVX512))) static size_t find_avx512(const uint8_t *p, size_t n, uint32_t *carry)
{
    const __m512i c20 = _mm512_set1_epi8(0x20), cf = _mm512_set1_epi8(0x66), cx = _mm512_set1_epi8(0x78);
    int tail = !(*carry & LIST_NO_TAIL);
    uint64_t run = *carry & ~LIST_NO_TAIL;
    int skipped = 0; /* the last block was passed over: the run is its own */
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i x = _mm512_loadu_si512((const void *)(p + i));
        __m512i y = _mm512_or_si512(x, c20);
        uint64_t wide = _mm512_cmple_epu8_mask(y, cf) | _mm512_cmpeq_epi8_mask(y, cx);
        if (!full_byte(wide) && (skipped || run <= 16)) {
            skipped = 1;
            continue;
        }
        if (skipped)
            run = (unsigned)__builtin_clzll(~alpha64(_mm512_loadu_si512((const void *)(p + i - 64))));
        skipped = 0;
        size_t at = block_run(alpha64(x), 64, i, &run, carry);
        if (at != SIZE_MAX)
            return at;
    }
    if (skipped)
        run = (unsigned)__builtin_clzll(~alpha64(_mm512_loadu_si512((const void *)(p + i - 64))));
    if (i < n) {
        unsigned w = (unsigned)(n - i);
        __m512i x = _mm512_maskz_loadu_epi8(_bzhi_u64(~0ull, w), (const void *)(p + i));
        __m512i y = _mm512_or_si512(x, c20);
        uint64_t wide = _mm512_cmple_epu8_mask(y, cf) | _mm512_cmpeq_epi8_mask(y, cx);
        if (full_byte(wide & _bzhi_u64(~0ull, w)) || run > 16 || tail) {
            size_t at = block_run(alpha64(x), w, i, &run, carry);
            if (at != SIZE_MAX)
                return at;
        }
    }
    *carry = (uint32_t)run;
    return n;
}
#endif

/* The finder of `level`. */
static dec_list_find_fn finder_at(int level)
{
#if defined(__x86_64__)
    if (level >= DEC_SIMD_AVX512)
        return find_avx512;
    if (level >= DEC_SIMD_AVX2)
        return find_avx2;
#endif
    (void)level;
    return find_scalar;
}

size_t dec_list_find_impl(const uint8_t *p, size_t n, uint32_t *carry, int level)
{
    return finder_at(level)(p, n, carry);
}

dec_list_find_fn dec_list_finder(void)
{
    return finder_at(dec_simd_level());
}

/* ---- the tokenizer ---- */

enum { TK_X = 1, TK_H = 2, TK_D = 4 };

/* A character that glues a token to a word: a letter outside the
 * alphabet, or '_' ("0x41g", "key41"). (A decimal point ends the run: a
 * list of fractions has no run of 24.) */
static inline int gluing(uint8_t c)
{
    return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
}

void dec_list_begin(struct dec_list *l, uint8_t before)
{
    l->tok_len = 0;
    l->glued = gluing(before);
    l->sep_len = 0;
    l->sep_mark = 0;
    l->neg = 0;
    l->modes = 0;
    l->ntok = 0;
    l->hex_len = l->dec_len = 0;
    l->active = 1;
}

/* The kinds the token read fits, and its values. */
static unsigned tok_kinds(const struct dec_list *l, uint8_t *hv, uint8_t *dv)
{
    const uint8_t *t = l->tok;
    unsigned k = 0, len = l->tok_len;
    if (l->glued || len == 0 || len > 4)
        return 0;
    if (len >= 3 && t[0] == '0' && (t[1] | 0x20) == 'x') {
        int a = dec_hexval(t[2]), b = len == 4 ? dec_hexval(t[3]) : 0;
        if (a >= 0 && b >= 0) {
            *hv = (uint8_t)(len == 4 ? a << 4 | b : a);
            return TK_X;
        }
        return 0;
    }
    if (len == 2 && dec_hexval(t[0]) >= 0 && dec_hexval(t[1]) >= 0) {
        *hv = (uint8_t)(dec_hexval(t[0]) << 4 | dec_hexval(t[1]));
        k |= TK_H;
    }
    if (len <= 3) {
        unsigned v = 0, i;
        for (i = 0; i < len && t[i] >= '0' && t[i] <= '9'; i++)
            v = v * 10 + (unsigned)(t[i] - '0');
        if (i == len && (l->neg ? v >= 1 && v <= 128 : v <= 255)) {
            *dv = (uint8_t)(l->neg ? 256 - v : v);
            k |= TK_D;
        }
    }
    return k;
}

/* The token read ends (at src_end): into the list, or it ends the list.
 * Returns 1 when a list is complete (the token waits, l->pend). */
static int tok_end(struct dec_list *l, uint64_t src_end)
{
    uint8_t hv = 0, dv = 0;
    unsigned k = tok_kinds(l, &hv, &dv), m = l->ntok ? l->modes & k : k;
    l->tok_len = 0;
    l->glued = 0;
    l->sep_len = 0;
    l->sep_mark = 0;
    if (l->ntok && (!m || l->hex_len == LIST_HOLD || l->dec_len == LIST_HOLD)) {
        if (l->ntok >= LIST_MIN_TOK) {
            l->pend = 1; /* dec_list_next starts the next list with it */
            l->pend_kinds = (uint8_t)k;
            l->pend_hv = hv;
            l->pend_dv = dv;
            l->pend_src = l->tok_src;
            l->pend_end = src_end;
            return 1;
        }
        l->ntok = 0; /* too short: the token may start another */
        m = k;
    }
    if (!m) {
        l->ntok = 0;
        return 0;
    }
    if (l->modes != m || l->ntok == 0) {
        if (l->ntok == 0) {
            l->start_src = l->tok_src;
            l->hex_len = l->dec_len = 0;
        }
        l->modes = (uint8_t)m;
    }
    if (m & (TK_X | TK_H))
        l->hex[l->hex_len++] = hv;
    if (m & TK_D)
        l->dec[l->dec_len++] = dv;
    l->ntok++;
    l->end_src = src_end;
    return 0;
}

void dec_list_next(struct dec_list *l)
{
    l->ntok = 0;
    l->hex_len = l->dec_len = 0;
    if (!l->pend || !l->pend_kinds) {
        l->pend = 0;
        return;
    }
    l->pend = 0;
    l->start_src = l->pend_src;
    l->end_src = l->pend_end;
    l->modes = l->pend_kinds;
    if (l->modes & (TK_X | TK_H))
        l->hex[l->hex_len++] = l->pend_hv;
    if (l->modes & TK_D)
        l->dec[l->dec_len++] = l->pend_dv;
    l->ntok = 1;
}

static inline int is_sep(uint8_t c)
{
    return c == ' ' || c == ',' || c == ':' || c == ';' || c == '-' || c == '\t' || c == '\n' || c == '\r';
}

size_t dec_list_feed(struct dec_list *l, const uint8_t *p, size_t n, uint64_t src, int *done)
{
    *done = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (!dec_list_alpha(c)) {
            /* the run ends; a token glued to what follows is no token */
            if (l->tok_len && gluing(c))
                l->glued = 1;
            int full = l->tok_len ? tok_end(l, src + i) : 0;
            if (!full && l->ntok >= LIST_MIN_TOK) {
                full = 1;
                l->pend = 0;
            }
            l->active = 0;
            *done = full;
            return i;
        }
        if (!is_sep(c)) {
            if (l->tok_len > 4) {
                /* the rest of a word too long for a token */
                while (i + 1 < n && dec_list_alpha(p[i + 1]) && !is_sep(p[i + 1]))
                    i++;
                continue;
            }
            if (l->tok_len == 0) {
                l->tok_src = src + i;
                l->neg = l->sep_len && l->sep_last == '-' && l->sep_mark;
                if (l->sep_len > LIST_MAX_SEP && l->ntok) {
                    /* a long gap ends the list before this token (read
                       again after dec_list_next: the gap is forgotten) */
                    l->sep_len = 0;
                    if (l->ntok >= LIST_MIN_TOK) {
                        l->pend = 0;
                        *done = 1;
                        return i;
                    }
                    l->ntok = 0;
                }
            }
            if (l->tok_len < sizeof(l->tok))
                l->tok[l->tok_len] = c;
            if (l->tok_len < 255)
                l->tok_len++;
            if (l->tok_len == 5) {
                /* no token is this long: a list ends here (at a point of
                   the text, not of its pieces) */
                if (l->ntok >= LIST_MIN_TOK) {
                    l->pend = 0;
                    *done = 1;
                    return i + 1;
                }
                l->ntok = 0;
            }
            continue;
        }
        if (l->tok_len && tok_end(l, src + i)) {
            *done = 1;
            return i;
        }
        l->glued = 0;
        if (l->sep_len < 255)
            l->sep_len++;
        /* '-' is a sign after a ',' or a blank in the same gap */
        if (c != '-')
            l->sep_mark = 1;
        l->sep_last = c;
    }
    return n;
}

int dec_list_unit_end(struct dec_list *l, uint64_t src)
{
    int full = l->tok_len ? tok_end(l, src) : 0;
    if (!full && l->ntok >= LIST_MIN_TOK) {
        full = 1;
        l->pend = 0;
    }
    l->active = 0;
    return full;
}
