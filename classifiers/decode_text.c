/* classifiers/decode_text.c — the text pipeline (base64-run detection and
 * Unicode normalisation) and the small text decoders: UTF-16, form
 * urlencoding, base64 and quoted-printable transfer encodings. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "classifiers/decode_internal.h"

/* ====================================================================== */
/* Unicode normalisation: the last stage before the final sink.           */
/* ====================================================================== */

/* Escapes inside text (percent-encoding, HTML character references):
 * the original text passes unchanged, and a decoded copy of the text around
 * the escapes (from ESC_BACK bytes before one to ESC_AHEAD bytes after the
 * last of a stretch) follows the unit it is in, between boundaries. */
#define ESC_BACK 64u   /* bytes of the unit before an escape that its copy starts with */
#define ESC_AHEAD 64u  /* bytes after an escape that its copy goes on with */
#define ESC_HOLD 8192u /* decoded copies held per unit in the stage itself */
#define ESC_HOLD_MAX (256u * 1024u) /* ... and on the heap past that; more is reported uninspectable */
#define ESC_MAXSEQ 12u /* longest escape looked at: "&#x0010FFFF;" */
#define ESC_PCT_LEVELS 4u /* percent-encoding levels decoded: "%25252541" (9 bytes) */
#define ESC_TAIL (ESC_BACK + ESC_MAXSEQ) /* kept: ESC_BACK before a held escape start */
#define ESC_PIECES 16u /* copies of a unit with source spans of their own (more share) */
#define ESC_ELEMS 128u /* decoded parts of a unit's copies mapped one by one (more: by spans) */

struct dec_norm {
    struct cls_sink sink;
    /* a copy of the final sink (set before the chain is made, never changed
       by its owner): one load less per event than through a pointer */
    struct cls_sink fin;
    /* the final sink's unit end in one call, when it has both (the
       scanner), else NULL */
    int (*fin_data_end)(void *ctx, const uint8_t *p, size_t n);
    int (*fin_key_end)(void *ctx, const uint8_t *p, size_t n, const uint8_t *k, size_t kn);
    uint8_t pend[4]; /* a UTF-8 sequence cut by a data call */
    size_t pend_len;
    size_t need;
    int embedded;                                       /* lives in a block owned by the chain */
    size_t (*find_special)(const uint8_t *p, size_t n); /* this CPU's next_special */
    size_t (*find_text)(const uint8_t *p, size_t i, size_t n); /* ... its norm_stop */
    /* escapes (norm_idle() is false while any of these is set) */
    uint8_t esc_busy;  /* epend_len || esc_on || copy_len */
    uint8_t esc_on;    /* less than ESC_AHEAD bytes after an escape: bytes go to the copy */
    uint8_t ahead;     /* bytes the copy still takes when no escape comes */
    uint8_t handed;    /* norm_text_impl handed the data to esc_data */
    uint8_t tag_run;   /* the last character out was a tag character's ASCII
                          (norm_seq): a gap goes before the text after it */
    uint8_t esc_over;  /* the copies of this unit did not fit in ESC_HOLD_MAX bytes */
    uint8_t esc_oom;   /* ... or the heap block for them could not be had (an error) */
    uint8_t epend_len; /* an escape's first bytes, cut by the end of a data call */
    uint8_t tail_len;  /* the unit's last bytes (raw), at most ESC_TAIL */
    uint8_t epend[ESC_MAXSEQ];
    size_t since_copy; /* raw bytes of the unit since the copy's text ended */
    size_t copy_len;
    /* the copies: copy[] or, past ESC_HOLD bytes, a heap block of cp_cap
       bytes (at most ESC_HOLD_MAX) while the unit lasts */
    uint8_t *cp;
    size_t cp_cap;
    struct norm_b64 *zb; /* owned, made on first use: base64 in the copies (esc_b64) */
    const struct cls_decode_limits *lim; /* the chain's (borrowed, for zb), or NULL: defaults */
    /* source offsets (cls_sink.origin), when the final sink takes them */
    uint8_t track;    /* the final sink has origin and where */
    uint8_t in_copy;  /* the text is a copy announced by the stage before (base64) */
    uint8_t dirtied;  /* ... and this stage changed a length in it (CLS_ORIG_DIRTY sent) */
    uint8_t emitting; /* the escape copies are going out */
    uint8_t npieces;  /* source spans of this unit's copies in piece[] */
    uint8_t el_over;  /* more decoded parts than el[] holds */
    uint8_t twice;    /* a part of this unit's copies was percent-encoded twice */
    uint8_t esc_text; /* an escape of this unit decoded to a character (not esc_zw's
                         nothing: a copy of only those is the text already out,
                         and goes to esc_b64 alone) */
    uint16_t nel;
    uint64_t call_src; /* source offset of the data call's first byte (escapes' path) */
    uint8_t tail[ESC_TAIL];
    /* (from here on not cleared: written before read) */
    struct {
        uint64_t a, b;
    } piece[ESC_PIECES];
    /* the decoded parts of the copies (escapes, lookalike letters), in
       order: copy[at, at + dl) stands for r source bytes; the rest of a
       copy is its source byte for byte */
    struct {
        uint32_t at, dl;
        uint32_t r;
    } el[ESC_ELEMS];
    /* decoded copies of this unit; a 0 byte separates two that are apart */
    uint8_t copy[ESC_HOLD];
};

#define EL_TWICE (1u << 31) /* in dec_norm.el[].r: the part holds a twice-encoded escape */

#define NORM_KEEP (-2)
#define NORM_DROP (-1)

/* What a code point becomes: NORM_KEEP, NORM_DROP or an ASCII byte. */
static int norm_map(uint32_t cp)
{
    /* the letters of most non-English text first (Latin with diacritics,
       Greek, Cyrillic; kana and CJK; Hangul), which nothing below maps:
       a prompt in German was a chain of twenty range tests per letter */
    if ((cp >= 0xc0 && cp < 0x300) || (cp >= 0x370 && cp < 0x530) || (cp >= 0x3040 && cp < 0xa000) ||
        (cp >= 0xac00 && cp < 0xd7a4))
        return NORM_KEEP;
    if (cp == 0xa0)
        return ' ';
    if (cp == 0xad || cp == 0x34f || cp == 0x180e || cp == 0xfeff)
        return NORM_DROP;
    if (cp >= 0x2000 && cp <= 0x200a)
        return ' ';
    if (cp >= 0x200b && cp <= 0x200f)
        return NORM_DROP;
    if (cp == 0x202f || cp == 0x205f || cp == 0x3000)
        return ' ';
    if (cp >= 0x2060 && cp <= 0x2064)
        return NORM_DROP;
    /* tag characters U+E0020-E007E mirror printable ASCII: invisible, yet
       a model reads them ("ASCII smuggling": a key or a card number written
       in them passes the eye and the prompt both), so they are the ASCII
       they mirror */
    if (cp >= 0xe0020 && cp <= 0xe007e)
        return (int)(cp - 0xe0000);
    /* combining marks (a mark between digits hides a number: catalogue 4.1
       case 25), variation selectors and the other tag characters: invisible */
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
        (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) ||
        (cp >= 0xfe20 && cp <= 0xfe2f) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
        (cp >= 0xe0000 && cp <= 0xe0fff))
        return NORM_DROP;
    if (cp >= 0xff01 && cp <= 0xff5e)
        return (int)(cp - 0xfee0); /* full-width ASCII */
    /* dashes and the minus sign: no NFKC mapping, but a card or an SSN
       written 4111–1111–… with en dashes (a word processor's, or an
       evasion) is still one */
    if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xfe58)
        return '-';
    /* small form variants (U+FE50-FE6B), which NFKC makes ASCII: an
       address written john﹫example﹒com */
    if (cp >= 0xfe50 && cp <= 0xfe6b) {
        static const char small[] = ",\0.\0;:?!-(){}\0\0#&*+-<>=\0\\$%@";
        char c = small[cp - 0xfe50];
        if (c)
            return c;
    }
    /* the dots UTS 46 reads as a domain's label separator (and NFKC's one
       dot leader) */
    if (cp == 0x2024 || cp == 0x3002 || cp == 0xff61)
        return '.';
    /* what NFKC makes ASCII of: superscript, subscript and circled digits,
       circled and mathematical letters (U+1D400-1D6A3: 13 styles of A-Z
       a-z) */
    if (cp == 0xb9)
        return '1';
    if (cp == 0xb2 || cp == 0xb3)
        return (int)('0' + cp - 0xb0);
    if (cp == 0x2070 || (cp >= 0x2074 && cp <= 0x2079))
        return (int)('0' + cp - 0x2070);
    if (cp >= 0x2080 && cp <= 0x2089)
        return (int)('0' + cp - 0x2080);
    if (cp >= 0x2460 && cp <= 0x2468)
        return (int)('1' + cp - 0x2460);
    if (cp == 0x24ea)
        return '0';
    if (cp >= 0x24b6 && cp <= 0x24e9)
        return (int)(cp < 0x24d0 ? 'A' + cp - 0x24b6 : 'a' + cp - 0x24d0);
    if (cp >= 0x1d400 && cp <= 0x1d6a3) {
        uint32_t k = (cp - 0x1d400) % 52;
        return (int)(k < 26 ? 'A' + k : 'a' + k - 26);
    }
    /* the decimal digits of every script (Unicode 14 Nd: Arabic-Indic,
       Devanagari, Bengali, Thai, mathematical…), which NFKC leaves alone
       but a number in them is still a number */
    static const uint32_t zero[] = {
        0x660,   0x6f0,   0x7c0,   0x966,   0x9e6,   0xa66,   0xae6,   0xb66,   0xbe6,   0xc66,
        0xce6,   0xd66,   0xde6,   0xe50,   0xed0,   0xf20,   0x1040,  0x1090,  0x17e0,  0x1810,
        0x1946,  0x19d0,  0x1a80,  0x1a90,  0x1b50,  0x1bb0,  0x1c40,  0x1c50,  0xa620,  0xa8d0,
        0xa900,  0xa9d0,  0xa9f0,  0xaa50,  0xabf0,  0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136,
        0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50,
        0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6,
        0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0};
    /* (kana, CJK and Hangul lie in the gaps) */
    if (cp >= zero[0] && cp < zero[SGW_ARRAY_LEN(zero) - 1] + 10 &&
        !(cp >= 0x1c5a && cp < 0xa620) && !(cp >= 0xabfa && cp < 0x104a0)) {
        size_t lo = 0, hi = SGW_ARRAY_LEN(zero);
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (zero[mid] <= cp)
                lo = mid;
            else
                hi = mid;
        }
        if (cp - zero[lo] < 10)
            return (int)('0' + cp - zero[lo]);
    }
    return NORM_KEEP;
}

/* Expected length from a lead byte, 0 for a byte that cannot start one. */
static size_t utf8_len(uint8_t c)
{
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    return 0;
}

/* Decodes a complete sequence of length len; returns the code point or
 * UINT32_MAX when invalid (overlong, surrogate, bad continuation). */
static uint32_t utf8_decode(const uint8_t *s, size_t len)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t cp = s[0] & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return UINT32_MAX;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return UINT32_MAX;
    return cp;
}

/* Source offsets are told to the final sink (cls_sink.origin) for the
 * original text: not inside a copy, whose findings have its span. */
static inline int norm_tells(const struct dec_norm *z)
{
    return z->track && !z->in_copy && !z->emitting;
}

/* Inside a copy announced by the stage before: a length changes from here
 * on, so its bytes are no longer the decoding one for one. */
static int norm_dirty(struct dec_norm *z)
{
    if (!z->track || !z->in_copy || z->dirtied)
        return SGW_OK;
    z->dirtied = 1;
    return z->fin.origin(z->fin.ctx, CLS_ORIG_DIRTY, 0, 0);
}

/* A space that stands for no source byte: the gap between a run of tag
 * characters and the text around it. Smuggled text is glued to the words
 * that carry it ("Summarise this" and then an invisible key), and a key or
 * a number must not read as part of a word; a model reads the run as a
 * token of its own. */
static int norm_gap(struct dec_norm *z)
{
    static const uint8_t sp = ' ';
    int rc = norm_dirty(z);
    if (rc == SGW_OK && norm_tells(z))
        rc = z->fin.origin(z->fin.ctx, CLS_ORIG_SPAN, 0, 0);
    return rc == SGW_OK ? z->fin.data(z->fin.ctx, &sp, 1) : rc;
}

/* Text out of norm_text_impl: after a run of tag characters, the gap
 * first. */
static inline int norm_out(struct dec_norm *z, const uint8_t *p, size_t n)
{
    if (__builtin_expect(z->tag_run, 0)) {
        z->tag_run = 0;
        int rc = norm_gap(z);
        if (rc != SGW_OK)
            return rc;
    }
    return z->fin.data(z->fin.ctx, p, n);
}

static __attribute__((noinline)) int norm_flush_pend_some(struct dec_norm *z)
{
    size_t n = z->pend_len;
    z->pend_len = 0;
    return norm_out(z, z->pend, n);
}

static inline int norm_flush_pend(struct dec_norm *z)
{
    return z->pend_len ? norm_flush_pend_some(z) : SGW_OK;
}

/* Emits a complete sequence s (length len) after mapping. */
static int norm_seq(struct dec_norm *z, const uint8_t *s, size_t len)
{
    uint32_t cp = utf8_decode(s, len);
    int m = cp == UINT32_MAX ? NORM_KEEP : norm_map(cp);
    int tag = cp >= 0xe0020 && cp <= 0xe007e;
    if (__builtin_expect(z->tag_run != tag, 0) && m != NORM_DROP) { /* (a run begins or ends) */
        z->tag_run = (uint8_t)tag;
        int rc = norm_gap(z);
        if (rc != SGW_OK)
            return rc;
    }
    if (m == NORM_KEEP)
        return z->fin.data(z->fin.ctx, s, len);
    int rc = norm_dirty(z);
    if (rc != SGW_OK)
        return rc;
    if (m == NORM_DROP)
        return norm_tells(z) ? z->fin.origin(z->fin.ctx, CLS_ORIG_SKIP, 0, len) : SGW_OK;
    if (norm_tells(z)) {
        rc = z->fin.origin(z->fin.ctx, CLS_ORIG_SPAN, 0, len);
        if (rc != SGW_OK)
            return rc;
    }
    uint8_t b = (uint8_t)m;
    return z->fin.data(z->fin.ctx, &b, 1);
}

static size_t next_high(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if defined(__x86_64__)
    for (; i + 16 <= n; i += 16) {
        unsigned m =
            (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull)
            break;
    }
    for (; i < n; i++)
        if (p[i] & 0x80)
            return i;
    return n;
}

/* The first byte >= 0x80, '%', '&', '\\' or '=' in p[0..n), else n. */
static size_t next_special_scalar(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i < n; i++)
        if (p[i] >= 0x80 || p[i] == '%' || p[i] == '&' || p[i] == '\\' || p[i] == '=')
            return i;
    return n;
}

#if defined(__x86_64__)
static size_t next_special_sse2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    const __m128i pc = _mm_set1_epi8('%'), am = _mm_set1_epi8('&'), bs = _mm_set1_epi8('\\'),
                  eq = _mm_set1_epi8('=');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        v = _mm_or_si128(_mm_or_si128(_mm_or_si128(v, _mm_cmpeq_epi8(v, bs)), _mm_cmpeq_epi8(v, eq)),
                         _mm_or_si128(_mm_cmpeq_epi8(v, pc), _mm_cmpeq_epi8(v, am)));
        unsigned m = (unsigned)_mm_movemask_epi8(v);
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
    return i + next_special_scalar(p + i, n - i);
}

__attribute__((target("avx2"))) static size_t next_special_avx2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    const __m256i pc = _mm256_set1_epi8('%'), am = _mm256_set1_epi8('&'),
                  bs = _mm256_set1_epi8('\\'), eq = _mm256_set1_epi8('=');
    for (; i + 32 <= n; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        v = _mm256_or_si256(_mm256_or_si256(_mm256_or_si256(v, _mm256_cmpeq_epi8(v, bs)), _mm256_cmpeq_epi8(v, eq)),
                            _mm256_or_si256(_mm256_cmpeq_epi8(v, pc), _mm256_cmpeq_epi8(v, am)));
        unsigned m = (unsigned)_mm256_movemask_epi8(v);
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
    return i + next_special_sse2(p + i, n - i);
}

/* 64 bytes a step; the last partial block is a masked load (nothing is
   read past p + n). */
__attribute__((target("avx512f,avx512bw,bmi,bmi2"))) static size_t
next_special_avx512(const uint8_t *p, size_t n)
{
    const __m512i pc = _mm512_set1_epi8('%'), am = _mm512_set1_epi8('&'),
                  bs = _mm512_set1_epi8('\\'), eq = _mm512_set1_epi8('=');
    for (size_t i = 0; i < n; i += 64) {
        __mmask64 k = n - i >= 64 ? ~0ull : _bzhi_u64(~0ull, (unsigned)(n - i));
        __m512i v = _mm512_maskz_loadu_epi8(k, (const void *)(p + i));
        uint64_t m = (_mm512_movepi8_mask(v) | _mm512_cmpeq_epi8_mask(v, pc) |
                      _mm512_cmpeq_epi8_mask(v, am) | _mm512_cmpeq_epi8_mask(v, bs) |
                      _mm512_cmpeq_epi8_mask(v, eq)) &
                     k;
        if (m)
            return i + (size_t)__builtin_ctzll(m);
    }
    return n;
}

/* Leads of the letters norm_stop_avx2 may pass over: accented Latin
 * (C3-CB) and Greek/Cyrillic (CD-D4). */
__attribute__((unused)) static inline int norm_stop_lead(uint8_t c)
{
    return c >= 0xc3 && c <= 0xd4 && c != 0xcc;
}

static inline int ascii_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Where norm_text_impl (no copy on) must stop from p[i] on: as next_special,
 * but in 64-byte blocks that lie at least 64 bytes into p, two kinds of
 * letter (a lead and one continuation, both before n) are passed over:
 *  - a Latin letter with a diacritic (U+00C0-U+02FF, lead C3-CB) when no
 *    '@' is in its block nor in the 64 bytes before it: at_in_token would
 *    find none (it looks 64 bytes back);
 *  - a Greek or Cyrillic letter (U+0370-U+052F) with no ASCII letter or
 *    digit on either side: esc_match could not make it a strong homoglyph.
 * norm_map keeps both: the stop only cost time, one per letter of German,
 * French, Polish, Greek or Russian text. Returns an index into p. The
 * levels below AVX2 stop at every byte >= 0x80, as next_special. */
static size_t norm_stop_scalar(const uint8_t *p, size_t i, size_t n)
{
    return i + next_special_scalar(p + i, n - i);
}

#if defined(__x86_64__)
static size_t norm_stop_sse2(const uint8_t *p, size_t i, size_t n)
{
    return i + next_special_sse2(p + i, n - i);
}

/* The ASCII bytes the normalisation must see by low nibble: the high nibble
 * that makes one ('%' 25, '&' 26, '\\' 5C, '=' 3D), else 16 (none is). */
#define SPEC_HI 16, 16, 16, 16, 16, 2, 2, 16, 16, 16, 16, 16, 5, 3, 16, 16

/* 0xff where a byte of v is '%', '&', '\\' or '=' (two nibble lookups'
 * worth: one shuffle, one compare). */
__attribute__((target("avx2"))) static inline __m256i spec_avx2(__m256i v)
{
    const __m256i m0f = _mm256_set1_epi8(0x0f);
    return _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_srli_epi16(v, 4), m0f),
                             _mm256_shuffle_epi8(_mm256_setr_epi8(SPEC_HI, SPEC_HI), _mm256_and_si256(v, m0f)));
}

__attribute__((target("avx2"))) static inline uint64_t mask64_avx2(__m256i a, __m256i b)
{
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(a) | (uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32;
}

__attribute__((target("avx2"))) static inline uint64_t bytes_in_avx2(__m256i a, __m256i b, char lo, char hi)
{
    /* signed compares: lo < byte < hi */
    const __m256i l = _mm256_set1_epi8(lo), h = _mm256_set1_epi8(hi);
    return mask64_avx2(_mm256_and_si256(_mm256_cmpgt_epi8(a, l), _mm256_cmpgt_epi8(h, a)),
                       _mm256_and_si256(_mm256_cmpgt_epi8(b, l), _mm256_cmpgt_epi8(h, b)));
}

__attribute__((target("avx2"))) static size_t norm_stop_avx2(const uint8_t *p, size_t i, size_t n)
{
    const __m256i pc = _mm256_set1_epi8('%'), am = _mm256_set1_epi8('&'), bs = _mm256_set1_epi8('\\'),
                  eq = _mm256_set1_epi8('='), at = _mm256_set1_epi8('@'), c0 = _mm256_set1_epi8((char)0xc0), c80 = _mm256_set1_epi8((char)0x80),
                  c30 = _mm256_set1_epi8(0x30), c20 = _mm256_set1_epi8(0x20);
    uint64_t carry = 0; /* bit 0: the continuation of a letter passed over at the block's end */
    if (i + 32 <= n) {
        /* the first 32 bytes as next_special looks at them: a stop there
           that is no such letter (CJK, '%') costs no more */
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        v = _mm256_or_si256(_mm256_or_si256(_mm256_or_si256(v, _mm256_cmpeq_epi8(v, bs)), _mm256_cmpeq_epi8(v, eq)),
                            _mm256_or_si256(_mm256_cmpeq_epi8(v, pc), _mm256_cmpeq_epi8(v, am)));
        unsigned m = (unsigned)_mm256_movemask_epi8(v);
        if (!m)
            i += 32;
        else if (!norm_stop_lead(p[i + (size_t)__builtin_ctz(m)]) || i < 64)
            return i + (size_t)__builtin_ctz(m);
    }
    for (; i + 64 <= n; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
        __m256i spa = spec_avx2(a), spb = spec_avx2(b);
        /* the sign bit: a byte >= 0x80 or a special one (as next_special) */
        uint64_t stop = mask64_avx2(_mm256_or_si256(a, spa), _mm256_or_si256(b, spb)) & ~carry;
        carry = 0;
        if (!stop)
            continue;
        /* the first stop a letter of those (else it is one: CJK, '%') */
        if (!norm_stop_lead(p[i + (size_t)__builtin_ctzll(stop)]) || i < 64)
            return i + (size_t)__builtin_ctzll(stop);
        uint64_t sp = mask64_avx2(spa, spb);
        uint64_t cont = mask64_avx2(_mm256_cmpeq_epi8(_mm256_and_si256(a, c0), c80),
                                    _mm256_cmpeq_epi8(_mm256_and_si256(b, c0), c80));
        /* for a lead at bit k: the byte after it is a continuation (next),
           and one of B0-BF (high2: U+0370 on after CD, U+0530 on after D4) */
        uint64_t high2 = mask64_avx2(_mm256_cmpeq_epi8(_mm256_and_si256(a, c30), c30),
                                     _mm256_cmpeq_epi8(_mm256_and_si256(b, c30), c30)) >> 1;
        uint64_t next = cont >> 1;
        if (i + 64 < n && (p[i + 64] & 0xc0) == 0x80) {
            next |= 1ull << 63;
            high2 |= (uint64_t)((p[i + 64] & 0x30) == 0x30) << 63;
        }
        uint64_t letters = 0;
        /* accented Latin (C3-CB): no '@' in the block or the 64 bytes
           before it (at_in_token looks no further) */
        uint64_t latin = bytes_in_avx2(a, b, (char)0xc2, (char)0xcc) & next & stop;
        if (latin) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(p + i - 64));
            __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(p + i - 32));
            __m256i ats = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(a, at), _mm256_cmpeq_epi8(b, at)),
                                          _mm256_or_si256(_mm256_cmpeq_epi8(x, at), _mm256_cmpeq_epi8(y, at)));
            if (_mm256_testz_si256(ats, ats))
                letters |= latin;
        }
        /* Greek and Cyrillic letters (U+0370-U+052F: CE-D3, CD with B0-BF,
           D4 with 80-AF) with no ASCII letter or digit on either side (no
           homoglyph of a Latin word: esc_match could not make them strong);
           the combining marks before U+0370 are left to the general path */
        uint64_t greek = bytes_in_avx2(a, b, (char)0xcc, (char)0xd5) & next & stop;
        if (greek) {
            uint64_t cd = mask64_avx2(_mm256_cmpeq_epi8(a, _mm256_set1_epi8((char)0xcd)),
                                      _mm256_cmpeq_epi8(b, _mm256_set1_epi8((char)0xcd)));
            uint64_t d4 = mask64_avx2(_mm256_cmpeq_epi8(a, _mm256_set1_epi8((char)0xd4)),
                                      _mm256_cmpeq_epi8(b, _mm256_set1_epi8((char)0xd4)));
            greek &= ~(cd & ~high2) & ~(d4 & high2);
            __m256i wa = _mm256_or_si256(a, c20), wb = _mm256_or_si256(b, c20);
            uint64_t al = bytes_in_avx2(a, b, '0' - 1, '9' + 1) | bytes_in_avx2(wa, wb, 'a' - 1, 'z' + 1);
            uint64_t before = al << 1 | (uint64_t)ascii_alnum(p[i - 1]);
            uint64_t after = al >> 2;
            /* (beyond the data: not known, taken as a letter) */
            after |= (uint64_t)(i + 64 >= n || ascii_alnum(p[i + 64])) << 62;
            after |= (uint64_t)(i + 65 >= n || ascii_alnum(p[i + 65])) << 63;
            letters |= greek & ~before & ~after;
        }
        stop &= ~(letters | letters << 1) | sp;
        carry = letters >> 63;
        if (stop)
            return i + (size_t)__builtin_ctzll(stop);
    }
    i += carry; /* (the last letter's continuation) */
    return i + next_special_sse2(p + i, n - i);
}
#endif
#endif

static int esc_check(const uint8_t *p, size_t n, uint8_t prev, int at);

/* A lead byte of U+0340-U+053F (where the homoglyphs are). */
static inline int glyph_lead(uint8_t c)
{
    return c >= 0xcd && c <= 0xd4;
}

/* A lead byte of U+00C0-U+027F (Latin letters with diacritics). */
static inline int diac_lead(uint8_t c)
{
    return c >= 0xc3 && c <= 0xc9;
}

/* A byte >= 0x80 the escapes look at: a homoglyph's or an accented
 * letter's lead, one that can start an overlong form (C0, C1, E0, F0), or
 * an invisible character's (E2, EF: zw_run). */
static inline int conf_lead(uint8_t c)
{
    return glyph_lead(c) || diac_lead(c) || c == 0xc0 || c == 0xc1 || c == 0xe0 || c == 0xf0 ||
           c == 0xe2 || c == 0xef;
}

/* An upper-case hex digit's value, else -1 (quoted-printable's). */
static inline int qp_hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A character of base64 or hex text (either alphabet). */
static inline int b64_letter(uint8_t c)
{
    return ascii_alnum(c) || c == '+' || c == '/' || c == '-' || c == '_';
}


static int at_in_token(const struct dec_norm *z, const uint8_t *p, size_t k, size_t skip);
static inline void tail_note(struct dec_norm *z, const uint8_t *p, size_t n);
static int esc_data(struct dec_norm *z, const uint8_t *p, size_t n);

/* The UTF-8 normalisation of p[0..n) into the final sink. With `esc`, a
 * '%' or '&' that starts an escape (esc_check) hands the rest of the data
 * to the escapes' path; the bytes before it are passed on and noted. */
static inline __attribute__((always_inline)) int norm_text_impl(struct dec_norm *z,
                                                                const uint8_t *p, size_t n, int esc)
{
    size_t i = 0, start;
    int rc;
    if (z->pend_len) {
        while (i < n && z->pend_len < z->need && z->pend_len < sizeof(z->pend) &&
               (p[i] & 0xc0) == 0x80)
            z->pend[z->pend_len++] = p[i++];
        if (z->pend_len == z->need) {
            size_t len = z->pend_len;
            z->pend_len = 0;
            rc = norm_seq(z, z->pend, len);
        } else if (i < n) {
            rc = norm_flush_pend(z); /* broken sequence: pass it raw */
        } else {
            return SGW_OK;
        }
        if (rc != SGW_OK)
            return rc;
    }
    start = i;
    while (i < n) {
        i = esc ? z->find_text(p, i, n) : i + next_high(p + i, n - i);
        if (i >= n)
            break;
        if (esc && (p[i] < 0x80 || conf_lead(p[i]))) {
            /* '%', '&' or maybe a homoglyph */
            int at = 0;
            if (diac_lead(p[i])) {
                /* an accented letter with no '@' before it in its token
                   is a letter (weak whatever follows: no copy is on) */
                if (!at_in_token(z, p, i, 0))
                    goto utf8;
                at = 1;
            }
            uint8_t prev = i ? p[i - 1] : (z->tail_len ? z->tail[z->tail_len - 1] : 0);
            /* a Cyrillic or Greek letter with no ASCII letter or digit on
               either side is a letter (what esc_match would say, without
               its table): Russian or Greek text */
            if (glyph_lead(p[i]) && i + 2 < n && !ascii_alnum(p[i + 2]) && !ascii_alnum(prev))
                goto utf8;
            if (!esc_check(p + i, n - i, prev, at)) {
                if (p[i] >= 0x80)
                    goto utf8; /* (a letter like another) */
                i++;
                continue;
            }
            if (i > start) {
                rc = norm_out(z, p + start, i - start);
                if (rc != SGW_OK)
                    return rc;
            }
            tail_note(z, p, i);
            z->handed = 1;
            return esc_data(z, p + i, n - i);
        }
    utf8:;
        size_t len = utf8_len(p[i]);
        if (len == 0) {
            i++;
            continue;
        }
        if (i + len > n) {
            /* cut sequence: hold it (only if the bytes so far are continuations) */
            size_t k = i + 1;
            while (k < n && (p[k] & 0xc0) == 0x80)
                k++;
            if (k < n) {
                i = k;
                continue;
            }
            if (i > start) {
                rc = norm_out(z, p + start, i - start);
                if (rc != SGW_OK)
                    return rc;
            }
            memcpy(z->pend, p + i, n - i);
            z->pend_len = n - i;
            z->need = len;
            return SGW_OK;
        }
        uint32_t cp = utf8_decode(p + i, len);
        if (cp == UINT32_MAX || norm_map(cp) == NORM_KEEP) {
            i += cp == UINT32_MAX ? 1 : len;
            /* the letters after it, while they are kana, CJK or Hangul
               (U+3040-U+9FFF, U+B000-U+CFFF: nothing maps them, no escape
               begins with their leads), or Greek and Cyrillic (U+0370-
               U+052F) with no ASCII letter or digit after them (so no
               homoglyph of a Latin word: the byte before is theirs),
               without a finder call each */
            while (i + 3 <= n) {
                uint8_t a = p[i], b = p[i + 1], c = p[i + 2];
                if ((b & 0xc0) != 0x80)
                    break; /* (mostly: ASCII follows) */
                if (a >= 0xe3) {
                    if ((c & 0xc0) != 0x80 ||
                        !((uint8_t)(a - 0xe4) <= 0xe9 - 0xe4 || a == 0xeb || a == 0xec || (a == 0xe3 && b >= 0x81)))
                        break;
                    i += 3;
                } else {
                    if (!((uint8_t)(a - 0xce) <= 0xd3 - 0xce || (a == 0xcd && b >= 0xb0) || (a == 0xd4 && b < 0xb0)) ||
                        ascii_alnum(c))
                        break;
                    i += 2;
                }
            }
            continue;
        }
        if (i > start) {
            rc = norm_out(z, p + start, i - start);
            if (rc != SGW_OK)
                return rc;
        }
        rc = norm_seq(z, p + i, len);
        if (rc != SGW_OK)
            return rc;
        i += len;
        start = i;
    }
    if (n > start)
        return norm_out(z, p + start, n - start);
    return SGW_OK;
}

/* The original text, or a copy: no escape is looked for. */
static int norm_text(struct dec_norm *z, const uint8_t *p, size_t n)
{
    return norm_text_impl(z, p, n, 0);
}

/* ---- escapes: percent-encoding and HTML character references ---- */

enum { ESC_NO = 0, ESC_MORE = -1 };

/* Named references that are decoded (what hides an address, a number or a
 * key: punctuation and spaces). `weak` ones (&amp; &lt; &gt; &quot; &apos;,
 * everywhere in HTML) are decoded within the reach of another escape but
 * do not start a copy by themselves. */
static const struct {
    char name[8];
    uint16_t cp;
    uint8_t weak;
} esc_names[] = {
    {"amp", '&', 1},     {"lt", '<', 1},      {"gt", '>', 1},        {"quot", '"', 1},
    {"apos", '\'', 1},   {"nbsp", 0xa0, 0},   {"commat", '@', 0},    {"period", '.', 0},
    {"colon", ':', 0},   {"hyphen", '-', 0},  {"minus", '-', 0},     {"dash", '-', 0},
    {"plus", '+', 0},    {"equals", '=', 0},  {"sol", '/', 0},       {"bsol", '\\', 0},
    {"lowbar", '_', 0},  {"num", '#', 0},     {"percnt", '%', 0},    {"lpar", '(', 0},
    {"rpar", ')', 0},    {"comma", ',', 0},   {"semi", ';', 0},      {"dollar", '$', 0},
    {"ast", '*', 0},     {"excl", '!', 0},    {"quest", '?', 0},     {"shy", 0xad, 0},
    {"ensp", 0x2002, 0}, {"emsp", 0x2003, 0}, {"thinsp", 0x2009, 0},
};

/* Cyrillic and Greek letters drawn like Latin ones (homoglyphs: catalogue
 * 4.1 case 25), U+0370-U+052F: the Latin letter, or 0. */
static uint8_t confusable(uint32_t cp)
{
    static const struct {
        uint16_t cp;
        char latin;
    } tab[] = {
        /* Greek */
        {0x391, 'A'},
        {0x392, 'B'},
        {0x395, 'E'},
        {0x396, 'Z'},
        {0x397, 'H'},
        {0x399, 'I'},
        {0x39a, 'K'},
        {0x39c, 'M'},
        {0x39d, 'N'},
        {0x39f, 'O'},
        {0x3a1, 'P'},
        {0x3a4, 'T'},
        {0x3a5, 'Y'},
        {0x3a7, 'X'},
        {0x3b1, 'a'},
        {0x3b9, 'i'},
        {0x3ba, 'k'},
        {0x3bd, 'v'},
        {0x3bf, 'o'},
        {0x3c1, 'p'},
        {0x3c5, 'u'},
        {0x3c7, 'x'},
        /* Cyrillic */
        {0x405, 'S'},
        {0x406, 'I'},
        {0x408, 'J'},
        {0x410, 'A'},
        {0x412, 'B'},
        {0x415, 'E'},
        {0x41a, 'K'},
        {0x41c, 'M'},
        {0x41d, 'H'},
        {0x41e, 'O'},
        {0x420, 'P'},
        {0x421, 'C'},
        {0x422, 'T'},
        {0x423, 'Y'},
        {0x425, 'X'},
        {0x430, 'a'},
        {0x435, 'e'},
        {0x43a, 'k'},
        {0x43e, 'o'},
        {0x440, 'p'},
        {0x441, 'c'},
        {0x443, 'y'},
        {0x445, 'x'},
        {0x455, 's'},
        {0x456, 'i'},
        {0x458, 'j'},
        {0x4bb, 'h'},
        {0x501, 'd'},
        {0x51a, 'Q'},
        {0x51b, 'q'},
        {0x51c, 'W'},
        {0x51d, 'w'},
    };
    for (size_t k = 0; k < SGW_ARRAY_LEN(tab); k++)
        if (tab[k].cp == cp)
            return (uint8_t)tab[k].latin;
    return 0;
}

/* The ASCII letter a Latin letter with a diacritic is written with
 * (U+00C0-U+017F, and the Romanian comma-below letters), or 0. Used for
 * e-mail addresses with an internationalised domain (bob@müller.de), which
 * the patterns, ASCII as RFC 5321 is, cannot see: see esc_match. */
static uint8_t latin_base(uint32_t cp)
{
    static const char tab[] = "AAAAAAACEEEEIIIIDNOOOOO\0OUUUUYTsaaaaaaaceeeeiiiidnooooo\0ouuuuyty"
                              "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlL"
                              "lLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
    if (cp >= 0xc0 && cp < 0x180)
        return (uint8_t)tab[cp - 0xc0];
    if (cp >= 0x218 && cp <= 0x21b)
        return (uint8_t)"SsTt"[cp - 0x218];
    return 0;
}

/* Bytes an e-mail address can hold: '1' for ASCII letters and digits,
 * ._%+- and bytes >= 0x80 (letters of other alphabets, perhaps); '2' for
 * '@'; '0' for the rest. A table: at_in_token runs for every accented
 * letter of a text. */
static const char mail_tok[257] = "0000000000000000000000000000000000000100000101101111111111000000"
                                  "2111111111111111111111111110000101111111111111111111111111100000"
                                  "1111111111111111111111111111111111111111111111111111111111111111"
                                  "1111111111111111111111111111111111111111111111111111111111111111";

#define AT_BACK 64u /* bytes looked back for an '@' (the tail always holds them) */

/* Is there an '@' in the e-mail-like token that ends at p[k - 1] (within
 * AT_BACK bytes back: through p[0..k), then the unit's tail before p, whose
 * last `skip` bytes are not counted)? The tail holds at least AT_BACK bytes
 * before a held escape, so any split of the unit gives the same answer. */
static int at_in_token(const struct dec_norm *z, const uint8_t *p, size_t k, size_t skip)
{
    size_t left = AT_BACK;
#if defined(__x86_64__)
    /* mostly there is no '@' at all in the AT_BACK bytes before: said
       without a loop whose exit the CPU cannot predict */
    if (k >= AT_BACK) {
        const __m128i at = _mm_set1_epi8('@');
        const uint8_t *q = p + k - AT_BACK;
        __m128i e = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)q), at),
                         _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(q + 16)), at)),
            _mm_or_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(q + 32)), at),
                         _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(q + 48)), at)));
        if (_mm_movemask_epi8(e) == 0)
            return 0;
    }
#endif
    for (; k > 0 && left > 0; k--, left--)
        if (mail_tok[p[k - 1]] != '1')
            return mail_tok[p[k - 1]] == '2';
    for (size_t t = z->tail_len > skip ? z->tail_len - skip : 0; t > 0 && left > 0; t--, left--)
        if (mail_tok[z->tail[t - 1]] != '1')
            return mail_tok[z->tail[t - 1]] == '2';
    return 0;
}

/* "\xHH" or "\uHHHH" at s[0] (a backslash; n bytes, more unless `final`):
 * as esc_match. The escapes of C, JavaScript, Python and JSON written into
 * text (catalogue 4.1 cases 18 and 21 outside a JSON string), and a
 * surrogate pair "\uD835\uDC00" as its one code point (U+1D400, a letter
 * the normalisation folds: catalogue 4.1 case 25 through case 21). \x00,
 * \u0000 and lone surrogates are left alone. A high surrogate is held only
 * while the bytes after it can still be its low half: those hold one more
 * backslash, which esc_pending looks at again when the pair fails. */
/* `count` hex digits from s[from]: their value in *cp; returns the index
 * after them, ESC_NO, or ESC_MORE when the data ends before them (and is
 * not final). */
static int esc_hex_digits(const uint8_t *s, size_t n, size_t from, size_t count, int final, uint32_t *cp)
{
    uint32_t v = 0;
    size_t i;
    for (i = from; i < n && i < from + count; i++) {
        int h = dec_hexval(s[i]);
        if (h < 0)
            return ESC_NO;
        v = v << 4 | (uint32_t)h;
    }
    if (i < from + count)
        return final ? ESC_NO : ESC_MORE;
    *cp = v;
    return (int)i;
}

/* "\u{H…}" (JavaScript, Rust, Swift: one to six hex digits; "\x{H…}" in
 * Perl, Ruby and PCRE), "\UHHHHHHHH"
 * (Python, C) and octal "\ooo" (C, Python, printf; three digits, printable
 * ASCII only: "C:\2019\" is a path) at s[0], as esc_backslash. */
static int esc_backslash_more(const uint8_t *s, size_t n, int final, uint8_t out[4], size_t *olen)
{
    uint32_t cp = 0;
    size_t i;
    if (s[1] >= '0' && s[1] <= '3') {
        for (i = 1; i < n && i < 4; i++) {
            if (s[i] < '0' || s[i] > '7')
                return ESC_NO;
            cp = cp << 3 | (uint32_t)(s[i] - '0');
        }
        if (i < 4)
            return final ? ESC_NO : ESC_MORE;
        if (cp < 0x20 || cp > 0x7e)
            return ESC_NO;
        out[0] = (uint8_t)cp;
        *olen = 1;
        return 4;
    }
    if (s[1] == 'U') {
        int r = esc_hex_digits(s, n, 2, 8, final, &cp);
        if (r <= ESC_NO)
            return r;
        i = (size_t)r;
    } else { /* "\u{" or "\x{" */
        for (i = 3; i < n && s[i] != '}'; i++) {
            if (dec_hexval(s[i]) < 0 || i == 9)
                return ESC_NO;
            cp = cp << 4 | (uint32_t)dec_hexval(s[i]);
        }
        if (i == n)
            return final ? ESC_NO : ESC_MORE;
        if (i == 3)
            return ESC_NO;
        i++;
    }
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return ESC_NO;
    *olen = dec_utf8_put(cp, out);
    return (int)i;
}

static int esc_backslash(const uint8_t *s, size_t n, int final, uint8_t out[4], size_t *olen)
{
    if (n >= 2 && ((s[1] >= '0' && s[1] <= '3') || s[1] == 'U'))
        return esc_backslash_more(s, n, final, out, olen);
    if (n >= 3 && (s[1] == 'u' || s[1] == 'x') && s[2] == '{')
        return esc_backslash_more(s, n, final, out, olen);
    size_t want = n >= 2 && s[1] == 'x' ? 4 : 6;
    if (n >= 2 && s[1] != 'x' && s[1] != 'u')
        return ESC_NO;
    uint32_t cp = 0;
    int r = esc_hex_digits(s, n, 2, want - 2, final, &cp);
    if (r <= ESC_NO)
        return r;
    if (cp >= 0xd800 && cp <= 0xdbff && want == 6) {
        /* the low half, "\uDC00" to "\uDFFF" */
        for (size_t i = 6; i < n && i < 12; i++) {
            int v = dec_hexval(s[i]);
            int ok = i == 6   ? s[i] == '\\'
                     : i == 7 ? s[i] == 'u'
                     : i == 8 ? v == 0xd
                     : i == 9 ? v >= 0xc
                              : v >= 0;
            if (!ok)
                return ESC_NO;
        }
        if (n < 12)
            return final ? ESC_NO : ESC_MORE;
        uint32_t low = 0;
        for (size_t i = 8; i < 12; i++)
            low = low << 4 | (uint32_t)dec_hexval(s[i]);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        *olen = dec_utf8_put(cp, out);
        return 12;
    }
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
        return ESC_NO;
    *olen = dec_utf8_put(cp, out);
    return (int)want;
}

/* An overlong UTF-8 form at s[0] (C0 or C1 and one continuation byte; E0
 * and 80-9F, F0 and 80-8F, then continuations): the character it spells
 * in too many bytes, as esc_match. Invalid UTF-8 that a lenient reader
 * still decodes ("john\xc1\x80example.com" is an address to it:
 * catalogue 4.1 case 27); an overlong NUL (C0 80, "modified UTF-8") is left
 * alone. Only continuation bytes are held while it is cut. */
static int esc_overlong(const uint8_t *s, size_t n, int final, uint8_t out[4], size_t *olen)
{
    size_t len = s[0] < 0xc2 ? 2 : s[0] == 0xe0 ? 3 : 4;
    uint8_t hi = len == 2 ? 0xbf : len == 3 ? 0x9f : 0x8f; /* second bytes of overlong forms */
    for (size_t i = 1; i < n && i < len; i++)
        if ((s[i] & 0xc0) != 0x80 || (i == 1 && s[i] > hi))
            return ESC_NO;
    if (n < len)
        return final ? ESC_NO : ESC_MORE;
    uint32_t cp = s[0] & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++)
        cp = cp << 6 | (s[i] & 0x3fu);
    if (cp == 0)
        return ESC_NO;
    *olen = dec_utf8_put(cp, out);
    return (int)len;
}

/* The invisible characters that an evasion puts between the characters of
 * an encoded value: U+200B-U+200D (zero-width space, non-joiner, joiner),
 * U+2060 (word joiner), U+FEFF (zero-width no-break space). The length of
 * the one at s[0] (3), 0 when none is, -1 when the bytes are cut. */
static int zw_seq(const uint8_t *s, size_t n)
{
    static const uint8_t zw[5][3] = {
        {0xe2, 0x80, 0x8b}, {0xe2, 0x80, 0x8c}, {0xe2, 0x80, 0x8d}, {0xe2, 0x81, 0xa0}, {0xef, 0xbb, 0xbf}};
    for (int k = 0; k < 5; k++) {
        size_t m = n < 3 ? n : 3;
        if (memcmp(s, zw[k], m) == 0)
            return n < 3 ? -1 : 3;
    }
    return 0;
}

#define ZW_RUN_MAX 3u /* invisible characters in a row read as one gap */

/* Invisible characters glued between two characters of base64 or hex text
 * ("ZGVw\u200bbG95…"): an escape that decodes to nothing, so that the copy
 * holds the run whole and the base64 pass over the copies (esc_b64) decodes
 * it. The byte before (`prev`) and the one after must be such characters:
 * Persian's non-joiners, an emoji's joiners and a soft hyphen in a word
 * make no copy. Returns as esc_match does. */
static int esc_zw(const uint8_t *s, size_t n, int final, uint8_t prev)
{
    if (!b64_letter(prev))
        return ESC_NO;
    size_t i = 0;
    for (unsigned k = 0; k < ZW_RUN_MAX; k++) {
        if (i == n)
            break;
        int l = zw_seq(s + i, n - i);
        if (l < 0)
            return final ? ESC_NO : ESC_MORE;
        if (l == 0)
            break;
        i += (size_t)l;
    }
    if (i == 0)
        return ESC_NO;
    if (i == n)
        return final ? ESC_NO : ESC_MORE;
    return b64_letter(s[i]) ? (int)i : ESC_NO;
}

/* Quoted-printable (RFC 2045) in text: an e-mail's source pasted into a
 * prompt ("Summarise this email:" and its raw body), or a value written
 * so. "=HH" (upper-case hex, not 00) is the byte HH; a soft line break
 * ("=" at a line's end, LF or CRLF) is nothing, so a key or a card number
 * that the 76-column wrapping cut is whole in the copy. "=HH" starts a
 * copy when another '=' follows it ("=C3=BC", "=41=4B…"); else it is
 * weak: "x=0A", "color=FF0000" in code or a vCard's "TYPE=CELL" makes no
 * copy (the last byte of "=C3=BC" is decoded in the reach of the first). A soft line break always starts
 * one (the line ends of a QP body) when it cuts a word: not after white
 * space (code's "x =", and a break between two words cuts nothing), nor
 * after another '=' (QP writes a '=' as "=3D": "=====" is the underline
 * of a markdown or reST heading), nor alone on its line. */
static int esc_qp(const uint8_t *s, size_t n, int final, uint8_t prev, uint8_t out[4], size_t *olen,
                  int *weak)
{
    if (n < 2)
        return final ? ESC_NO : ESC_MORE;
    if (s[1] == '\n' || s[1] == '\r') {
        if (prev == '=' || prev <= ' ')
            return ESC_NO; /* (a heading's underline "=====", code's "x =", a line of one '=') */
        if (s[1] == '\r' && n < 3)
            return final ? ESC_NO : ESC_MORE;
        if (s[1] == '\r' && s[2] != '\n')
            return ESC_NO;
        *olen = 0;
        return s[1] == '\r' ? 3 : 2;
    }
    int h = qp_hexval(s[1]);
    if (h < 0)
        return ESC_NO;
    if (n < 3)
        return final ? ESC_NO : ESC_MORE;
    int l = qp_hexval(s[2]);
    if (l < 0 || (h | l) == 0)
        return ESC_NO;
    if (n < 4 && !final)
        return ESC_MORE;
    out[0] = (uint8_t)(h << 4 | l);
    *olen = 1;
    *weak = !(n >= 4 && s[3] == '=');
    return 3;
}

/* An escape at s[0] ('%', '&', '\\', '=' or a byte >= 0x80) with n bytes available (more may follow
 * unless `final`). Returns ESC_NO (s[0] is a plain character), ESC_MORE
 * (a possible escape cut by the end of the bytes) or the bytes it takes,
 * its decoding in out (1-4 bytes, *olen) and *weak. Percent: %HH, and
 * %25HH (double encoding) as the byte HH, %2525HH too (up to
 * ESC_PCT_LEVELS); %00 is left alone. Backslash:
 * esc_backslash. References:
 * &#D…; (up to 7 digits), &#xH…; (up to 6), and the names above. A
 * homoglyph (a lead byte, glyph_lead) is the Latin letter it looks like,
 * weak unless an ASCII letter or digit is next to it (`prev`, the byte
 * before s[0], or s[2]): a Cyrillic word alone makes no copy, a Latin one
 * with a Cyrillic letter in it does. An accented Latin letter (U+00C0-
 * U+017F: `ü`) is its base letter (latin_base), weak unless an '@' comes
 * before it in its e-mail-like token (`at`, at_in_token): an address with
 * an internationalised domain (bob@müller.de) gets a copy in ASCII
 * (bob@muller.de), found with the span of the original; a German word
 * makes none. An overlong form: esc_overlong. */
static int esc_match(const uint8_t *s, size_t n, int final, uint8_t prev, int at, uint8_t out[4],
                     size_t *olen, int *weak)
{
    *weak = 0;
    if (s[0] >= 0x80) {
        if (!conf_lead(s[0]))
            return ESC_NO;
        if (s[0] == 0xe2 || s[0] == 0xef) {
            *olen = 0;
            return esc_zw(s, n, final, prev);
        }
        if (s[0] < 0xc2 || s[0] == 0xe0 || s[0] == 0xf0)
            return esc_overlong(s, n, final, out, olen);
        /* a two-byte letter: an accented Latin one is its base letter,
           strong after an '@' in its token (`at`: the copy spells the
           domain in ASCII); a Cyrillic or Greek lookalike is its Latin
           letter, strong next to an ASCII letter or digit */
        if (n < 2)
            return final ? ESC_NO : ESC_MORE;
        if ((s[1] & 0xc0) != 0x80)
            return ESC_NO;
        int diac = diac_lead(s[0]);
        uint32_t cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3fu);
        uint8_t a = diac ? latin_base(cp) : confusable(cp);
        if (!a)
            return ESC_NO;
        int strong = diac ? at : ascii_alnum(prev);
        if (!diac && !strong && n < 3 && !final)
            return ESC_MORE;
        if (!diac && !strong && n >= 3)
            strong = ascii_alnum(s[2]);
        out[0] = a;
        *olen = 1;
        *weak = !strong;
        return 2;
    }
    if (s[0] == '\\')
        return esc_backslash(s, n, final, out, olen);
    if (s[0] == '=')
        return esc_qp(s, n, final, prev, out, olen, weak);
    if (s[0] == '%') {
        if (n >= 2 && (s[1] | 0x20) == 'u') {
            /* "%uHHHH" (JavaScript's escape(), IIS) */
            uint32_t cp = 0;
            int r = esc_hex_digits(s, n, 2, 4, final, &cp);
            if (r <= ESC_NO)
                return r;
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                return ESC_NO;
            *olen = dec_utf8_put(cp, out);
            return 6;
        }
        if (n < 3)
            return !final && (n < 2 || dec_hexval(s[1]) >= 0) ? ESC_MORE : ESC_NO;
        int h = dec_hexval(s[1]), l = dec_hexval(s[2]);
        if (h < 0 || l < 0 || (h | l) == 0)
            return ESC_NO;
        if (h == 2 && l == 5) {
            /* "%25": a further level when two hex digits follow, and one
               more while they are "25" again (%252541: three levels, an
               evasion or a redirect URL encoded once too often), up to
               ESC_PCT_LEVELS */
            size_t k = 3;
            int v = -1;
            for (unsigned lev = 2; lev <= ESC_PCT_LEVELS; lev++) {
                if (n < k + 2 && !final && (n < k + 1 || dec_hexval(s[k]) >= 0))
                    return ESC_MORE;
                int h2 = n >= k + 2 ? dec_hexval(s[k]) : -1, l2 = n >= k + 2 ? dec_hexval(s[k + 1]) : -1;
                if (h2 < 0 || l2 < 0 || (h2 | l2) == 0)
                    break;
                v = h2 << 4 | l2;
                k += 2;
                if (v != 0x25)
                    break;
            }
            if (v >= 0) {
                out[0] = (uint8_t)v;
                *olen = 1;
                return (int)k;
            }
        }
        out[0] = (uint8_t)(h << 4 | l);
        *olen = 1;
        return 3;
    }
    /* '&' */
    size_t i = 1;
    uint32_t cp = 0;
    if (i == n)
        return final ? ESC_NO : ESC_MORE;
    if (s[1] == '#') {
        int hex = 0;
        i = 2;
        if (i < n && (s[i] | 0x20) == 'x') {
            hex = 1;
            i++;
        }
        size_t d0 = i, maxd = hex ? 6 : 7;
        while (i < n && i - d0 < maxd) {
            int v = hex ? dec_hexval(s[i]) : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
            if (v < 0)
                break;
            cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
            i++;
        }
        if (i == n && !(final && i > d0))
            return final ? ESC_NO : ESC_MORE;
        if (i == d0 || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return ESC_NO;
        if (i == n || s[i] != ';') {
            /* without its ';' (HTML reads "&#65KIA" as "AKIA"): where the
               digits end, unless more follow than a reference takes; no
               control character */
            if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ||
                (i < n && (hex ? dec_hexval(s[i]) >= 0 : (s[i] >= '0' && s[i] <= '9'))))
                return ESC_NO;
            *olen = dec_utf8_put(cp, out);
            return (int)i;
        }
        *olen = dec_utf8_put(cp, out);
        return (int)i + 1;
    }
    while (i < n && i < 9 && ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))
        i++;
    if (i == n)
        return final || i >= 9 ? ESC_NO : ESC_MORE;
    if (s[i] != ';' || i == 1)
        return ESC_NO;
    for (size_t k = 0; k < SGW_ARRAY_LEN(esc_names); k++) {
        if (strlen(esc_names[k].name) == i - 1 && memcmp(esc_names[k].name, s + 1, i - 1) == 0) {
            *olen = dec_utf8_put(esc_names[k].cp, out);
            *weak = esc_names[k].weak;
            return (int)i + 1;
        }
    }
    return ESC_NO;
}

/* The unit's last raw bytes, for the start of a copy. */
static inline void tail_note(struct dec_norm *z, const uint8_t *p, size_t n)
{
    if (n >= ESC_TAIL) {
        memcpy(z->tail, p + n - ESC_TAIL, ESC_TAIL);
        z->tail_len = ESC_TAIL;
        return;
    }
    if (z->tail_len + n > ESC_TAIL) {
        size_t keep = ESC_TAIL - n;
        memmove(z->tail, z->tail + z->tail_len - keep, keep);
        z->tail_len = (uint8_t)keep;
    }
    memcpy(z->tail + z->tail_len, p, n);
    z->tail_len = (uint8_t)(z->tail_len + n);
}

static inline int norm_idle(const struct dec_norm *z)
{
    return !(z->pend_len | z->esc_busy | z->tag_run);
}

static void esc_state(struct dec_norm *z)
{
    z->esc_busy = (uint8_t)(z->epend_len || z->esc_on || z->copy_len);
}

/* The copies went out: a heap block goes (memory while no such unit is
 * open is the stage's own). */
static void copy_release(struct dec_norm *z)
{
    if (z->cp != z->copy)
        free(z->cp);
    z->cp = z->copy;
    z->cp_cap = ESC_HOLD;
}

/* A copy copy[s, e) of source from `src` on, told part by part: its
 * decoded parts (el[*ie...]) as regions, the rest byte for byte (with the
 * normalisation's own events), so that a finding in it gets the span of
 * its own encoded text. */
static int esc_emit_mapped(struct dec_norm *z, size_t s, size_t e, uint64_t src, size_t *ie)
{
    int rc = z->fin.origin(z->fin.ctx, CLS_ORIG_COPY_AT, src, 0);
    size_t at = s;
    /* (a part of nothing, esc_zw's or a soft line break's, may end the
       copy: it is this copy's, not the next one's) */
    while (rc == SGW_OK && *ie < z->nel && (z->el[*ie].at < e || (z->el[*ie].at == e && !z->el[*ie].dl))) {
        size_t a = z->el[*ie].at, dl = z->el[*ie].dl, r = z->el[*ie].r & ~EL_TWICE;
        int kind = z->el[*ie].r & EL_TWICE ? CLS_ORIG_COPY_TWICE : CLS_ORIG_COPY;
        (*ie)++;
        z->emitting = 0; /* (the normalisation tells its changes) */
        rc = norm_text(z, z->cp + at, a - at);
        z->emitting = 1;
        src += a - at;
        if (rc == SGW_OK)
            rc = z->fin.origin(z->fin.ctx, kind, src, r);
        if (rc == SGW_OK)
            rc = norm_text(z, z->cp + a, dl);
        src += r;
        if (rc == SGW_OK)
            rc = z->fin.origin(z->fin.ctx, CLS_ORIG_COPY_AT, src, 0);
        at = a + dl;
    }
    if (rc == SGW_OK) {
        z->emitting = 0;
        rc = norm_text(z, z->cp + at, e - at);
        z->emitting = 1;
    }
    return rc;
}

/* A copy copy[s, e) as one region of the source span of piece[j] (the
 * parts were more than el[] holds, or the copies did not fit). */
static int esc_emit_span(struct dec_norm *z, size_t s, size_t e, size_t j)
{
    int rc = z->fin.origin(z->fin.ctx, z->twice ? CLS_ORIG_COPY_TWICE : CLS_ORIG_COPY, z->piece[j].a,
                           z->piece[j].b - z->piece[j].a);
    return rc != SGW_OK ? rc : norm_text(z, z->cp + s, e - s);
}

static int esc_b64(struct dec_norm *z, size_t s, size_t e, const uint64_t *span);

/* The copies held, each as a unit of its own (normalised like the rest):
 * the original unit is cut here. */
static int esc_emit(struct dec_norm *z)
{
    if (z->copy_len == 0)
        return SGW_OK;
    int rc = norm_flush_pend(z);
    if (rc == SGW_OK)
        rc = z->fin.boundary(z->fin.ctx);
    int tell = norm_tells(z) && z->npieces;
    uint64_t resume = tell ? z->fin.where(z->fin.ctx) : 0;
    if (rc == SGW_OK)
        rc = norm_dirty(z); /* (copies inside a copy: more bytes) */
    size_t s = 0, k = 0, ie = 0;
    z->emitting = 1;
    while (rc == SGW_OK && s < z->copy_len) {
        const uint8_t *q = memchr(z->cp + s, 0, z->copy_len - s);
        size_t e = q ? (size_t)(q - z->cp) : z->copy_len;
        if (!z->esc_text)
            ; /* (the normalised original is this copy, with its own offsets) */
        else if (tell && k < z->npieces && !z->el_over && !z->esc_over)
            rc = esc_emit_mapped(z, s, e, z->piece[k].a, &ie);
        else if (tell)
            rc = esc_emit_span(z, s, e, k < z->npieces ? k : z->npieces - 1u);
        else
            rc = norm_text(z, z->cp + s, e - s);
        if (rc == SGW_OK && z->esc_text)
            rc = norm_flush_pend(z);
        if (rc == SGW_OK && z->esc_text)
            rc = z->fin.boundary(z->fin.ctx);
        if (rc == SGW_OK) {
            uint64_t span[2] = {0, 0};
            if (tell) {
                size_t j = k < z->npieces ? k : z->npieces - 1u;
                span[0] = z->piece[j].a;
                span[1] = z->piece[j].b;
            }
            rc = esc_b64(z, s, e, tell ? span : NULL);
        }
        k++;
        s = e + 1;
    }
    z->emitting = 0;
    if (rc == SGW_OK && tell)
        rc = z->fin.origin(z->fin.ctx, CLS_ORIG_AT, resume, 0);
    z->copy_len = 0;
    copy_release(z);
    z->npieces = 0;
    z->nel = 0;
    z->el_over = 0;
    z->twice = 0;
    z->esc_text = 0;
    return rc;
}

/* copy[at, at + dl) decodes r source bytes (joined to the part before
 * when they touch). */
static void el_note(struct dec_norm *z, size_t at, size_t dl, size_t r)
{
    if (z->nel && z->el[z->nel - 1].at + z->el[z->nel - 1].dl == at) {
        uint32_t *pr = &z->el[z->nel - 1].r;
        z->el[z->nel - 1].dl = (uint32_t)(z->el[z->nel - 1].dl + dl);
        *pr = (((*pr & ~EL_TWICE) + ((uint32_t)r & ~EL_TWICE)) & ~EL_TWICE) | ((*pr | (uint32_t)r) & EL_TWICE);
    } else if (z->nel < ESC_ELEMS) {
        z->el[z->nel].at = (uint32_t)at;
        z->el[z->nel].dl = (uint32_t)dl;
        z->el[z->nel].r = (uint32_t)r;
        z->nel++;
    } else {
        z->el_over = 1;
    }
}

/* Adds bytes to the copies, past ESC_HOLD in a heap block that grows to
 * ESC_HOLD_MAX (a web page with &nbsp; on every line is all copies); what
 * does not fit is dropped and the unit reported (at its end). When no
 * memory is left the data call fails (esc_oom). */
static void copy_add(struct dec_norm *z, const uint8_t *p, size_t n)
{
    if (z->cp_cap - z->copy_len < n && z->cp_cap < ESC_HOLD_MAX) {
        size_t cap = z->cp_cap * 2 > z->copy_len + n ? z->cp_cap * 2 : z->copy_len + n;
        if (cap > ESC_HOLD_MAX)
            cap = ESC_HOLD_MAX;
        uint8_t *b = z->cp == z->copy ? malloc(cap) : realloc(z->cp, cap);
        if (b) {
            if (z->cp == z->copy)
                memcpy(b, z->copy, z->copy_len);
            z->cp = b;
            z->cp_cap = cap;
        } else {
            z->esc_oom = 1;
        }
    }
    size_t k = z->cp_cap - z->copy_len < n ? z->cp_cap - z->copy_len : n;
    memcpy(z->cp + z->copy_len, p, k);
    z->copy_len += k;
    if (k < n)
        z->esc_over = 1;
}

/* The copy being built takes the source up to `end`. */
static inline void piece_to(struct dec_norm *z, uint64_t end)
{
    if (z->npieces && end > z->piece[z->npieces - 1].b)
        z->piece[z->npieces - 1].b = end;
}

/* Plain bytes within the copy's reach (ESC_AHEAD after an escape). Where
 * the reach ends, the gap to a later copy starts (since_copy: the bytes of
 * p after it). src: the source offset of p[0] (when tracked). */
static void copy_plain(struct dec_norm *z, const uint8_t *p, size_t n, uint64_t src)
{
    if (!z->esc_on)
        return;
    size_t k = n > z->ahead ? z->ahead : n;
    copy_add(z, p, k);
    z->ahead = (uint8_t)(z->ahead - k);
    if (z->ahead == 0) {
        z->esc_on = 0;
        z->since_copy = n - k;
        piece_to(z, src + k);
    }
}

/* White space, where a copy may begin (copy_start). */
static inline int copy_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An escape out of the copy's reach: a copy starts with the unit's bytes before it
 * (at most ESC_BACK; those after the last copy when that is nearer), the
 * last `skip` bytes of the tail being the escape's own; the escape begins
 * at source offset esc_src. */
static void copy_start(struct dec_norm *z, size_t skip, uint64_t esc_src)
{
    size_t end = z->tail_len - skip; /* the tail up to the escape */
    size_t have = end < ESC_BACK ? end : ESC_BACK;
    size_t gap = z->since_copy - skip;
    int apart = z->copy_len && gap > have;
    if (apart) {
        uint8_t sep = 0;
        copy_add(z, &sep, 1);
    }
    size_t take = z->copy_len && gap <= have ? gap : have;
    if (apart || z->copy_len == 0) {
        /* a new copy that would begin inside a word ("…simrw@sim-basis.de>"
           cut to "mrw@sim-basis.de", found again as a shorter address)
           begins after the first white space in its bytes that no digit
           follows (a row of numbers cut there reads as a shorter one), if
           any */
        int cut = take < end ? !copy_space(z->tail[end - take - 1]) : z->tail_len == ESC_TAIL;
        for (size_t k = end - take; cut && k + 1 < end; k++)
            if (copy_space(z->tail[k]) && !copy_space(z->tail[k + 1]) &&
                !(z->tail[k + 1] >= '0' && z->tail[k + 1] <= '9') && z->tail[k + 1] != '+' &&
                z->tail[k + 1] != '(') {
                take = end - k - 1;
                break;
            }
    }
    if ((apart || z->copy_len == 0) && z->npieces < ESC_PIECES) {
        z->piece[z->npieces].a = esc_src - take;
        z->piece[z->npieces].b = esc_src;
        z->npieces++;
    }
    /* homoglyphs in those bytes become their Latin letters too, and
       accented letters their base letters (the local part of an address
       whose domain made the copy: jürgen@müller.de) */
    const uint8_t *t = z->tail + end - take;
    for (size_t k = 0; k < take;) {
        uint8_t a = 0;
        if (glyph_lead(t[k]) && k + 1 < take && (t[k + 1] & 0xc0) == 0x80)
            a = confusable((uint32_t)(t[k] & 0x1f) << 6 | (t[k + 1] & 0x3fu));
        else if (diac_lead(t[k]) && k + 1 < take && (t[k + 1] & 0xc0) == 0x80)
            a = latin_base((uint32_t)(t[k] & 0x1f) << 6 | (t[k + 1] & 0x3fu));
        if (a) {
            if (z->copy_len < ESC_HOLD_MAX)
                el_note(z, z->copy_len, 1, 2);
            copy_add(z, &a, 1);
            k += 2;
        } else {
            copy_add(z, t + k, 1);
            k++;
        }
    }
    z->esc_on = 1;
}

/* An escape matched (r bytes from source offset src, decoded in d[0..dl)):
 * `skip` of its bytes are in the tail already (a pending start). */
static void esc_hit(struct dec_norm *z, const uint8_t *d, size_t dl, int weak, size_t skip,
                    uint64_t src, size_t r, int twice, int text)
{
    if (!z->esc_on) {
        if (weak)
            return;
        copy_start(z, skip, src);
    }
    z->twice |= (uint8_t)twice;
    z->esc_text |= (uint8_t)(text || dl != 0);
    if (z->copy_len + dl <= ESC_HOLD_MAX)
        el_note(z, z->copy_len, dl, r | (twice ? EL_TWICE : 0));
    copy_add(z, d, dl);
    piece_to(z, src + r);
    z->ahead = ESC_AHEAD;
}

/* The pending escape start with the next bytes p[0..n) (none and `final`
 * at the end of a unit); returns the bytes of p it took. */
static size_t esc_pending(struct dec_norm *z, const uint8_t *p, size_t n, int final)
{
    uint8_t tmp[2 * ESC_MAXSEQ], d[4];
    size_t k = n < ESC_MAXSEQ ? n : ESC_MAXSEQ, dl = 0, pl = z->epend_len;
    int weak;
    memcpy(tmp, z->epend, pl);
    if (k)
        memcpy(tmp + pl, p, k);
    uint8_t prev = z->tail_len > pl ? z->tail[z->tail_len - pl - 1] : 0; /* the byte before it */
    int at = diac_lead(tmp[0]) && at_in_token(z, NULL, 0, pl);
    int r = esc_match(tmp, pl + k, final, prev, at, d, &dl, &weak);
    if (r == ESC_MORE) { /* still cut: all of p is in it (k == n) */
        memcpy(z->epend + pl, p, n);
        z->epend_len = (uint8_t)(pl + n);
        return n;
    }
    z->epend_len = 0;
    uint64_t src = z->call_src - pl; /* where the held bytes began */
    if (r > 0) {
        esc_hit(z, d, dl, weak, pl, src, (size_t)r, tmp[0] == '%' && r >= 5, tmp[0] < 0x80);
        if ((size_t)r >= pl)
            return (size_t)r - pl;
        /* (final only: "%25" and one hex digit) the rest is plain */
        copy_plain(z, tmp + r, pl - (size_t)r, src + (size_t)r);
        return 0;
    }
    /* not an escape: its bytes are plain up to one that may start another
       (the second backslash of a surrogate pair that failed) */
    size_t j = 1;
    while (j < pl && tmp[j] != '\\')
        j++;
    int was_on = z->esc_on;
    copy_plain(z, tmp, j, src);
    if (j == pl)
        return 0;
    /* the rest is held again and looked at as in one buffer. When the
       copy's reach ended in the plain bytes, the bytes from there on count
       towards the gap to the next copy, as they would have (esc_data
       counts only what comes while no copy is on) */
    int ended = was_on && !z->esc_on;
    if (ended)
        z->since_copy += pl - j;
    memmove(z->epend, tmp + j, pl - j);
    z->epend_len = (uint8_t)(pl - j);
    size_t took = esc_pending(z, p, n, final);
    if (ended)
        z->since_copy += took;
    return took;
}

static inline uint8_t tail_last(const struct dec_norm *z)
{
    return z->tail_len ? z->tail[z->tail_len - 1] : 0;
}

/* One escape, or a plain '%', '&' or byte >= 0x80, at p[0] (n bytes left;
 * prev the byte before, `at` as esc_match's); returns the bytes taken (all of them when it is
 * cut by the end: held). */
static size_t esc_one(struct dec_norm *z, const uint8_t *p, size_t n, uint8_t prev, int at,
                      uint64_t src)
{
    uint8_t d[4];
    size_t dl = 0;
    int weak, r = esc_match(p, n, 0, prev, at, d, &dl, &weak);
    if (r == ESC_MORE) {
        memcpy(z->epend, p, n);
        z->epend_len = (uint8_t)n;
        return n;
    }
    if (r > 0) {
        esc_hit(z, d, dl, weak, 0, src, (size_t)r, p[0] == '%' && r >= 5, /* ("%25XX", "%2525XX") */
                p[0] < 0x80); /* (esc_zw's nothing is the normalised text already) */
        return (size_t)r;
    }
    copy_plain(z, p, 1, src);
    return 1;
}

/* Data with an escape, or while one is being decoded: the original goes on
 * unchanged (through norm_text), the copy is built beside it. The copies go
 * out when the unit ends (esc_unit_end), so that how the text was split
 * into calls makes no difference. */
static int esc_data(struct dec_norm *z, const uint8_t *p, size_t n)
{
    size_t i = 0;
    /* (the original text before p is with the final sink, but for a cut
       UTF-8 sequence held) */
    z->call_src = norm_tells(z) ? z->fin.where(z->fin.ctx) + z->pend_len : 0;
    while (i < n) {
        size_t from = i;
        int was_on = z->esc_on;
        if (z->epend_len) {
            i += esc_pending(z, p + i, n - i, 0);
        } else if (z->esc_on) {
            /* the copy goes on: plain bytes up to an escape or the end of
               its reach */
            size_t lim = n - i < z->ahead ? n : i + z->ahead;
            size_t e = i + z->find_special(p + i, lim - i);
            copy_plain(z, p + i, e - i, z->call_src + i);
            i = e;
            /* (`at` matters only when the copy's reach ended here: the
               tail holds the bytes before p + from) */
            if (i < lim)
                i += esc_one(z, p + i, n - i, i ? p[i - 1] : tail_last(z),
                             diac_lead(p[i]) && at_in_token(z, p + from, i - from, 0), z->call_src + i);
        } else {
            /* plain text up to the next '%', '&' or byte >= 0x80 (noted
               before the escape, whose copy starts with it) */
            size_t e = i + z->find_special(p + i, n - i);
            uint8_t prev = e ? p[e - 1] : tail_last(z);
            tail_note(z, p + i, e - i);
            z->since_copy += e - i;
            from = i = e;
            if (i < n)
                i += esc_one(z, p + i, n - i, prev, diac_lead(p[i]) && at_in_token(z, NULL, 0, 0),
                             z->call_src + i);
        }
        tail_note(z, p + from, i - from);
        if (!was_on)
            z->since_copy += i - from; /* (when the reach ended, copy_plain set it) */
    }
    esc_state(z);
    if (z->esc_oom)
        return SGW_ENOMEM;
    return norm_text(z, p, n);
}

/* Does the '%', '&' or homoglyph at p[0] start a copy (an escape that is
 * not weak, or one cut by the end of the data)? */
static int esc_check(const uint8_t *p, size_t n, uint8_t prev, int at)
{
    uint8_t d[4];
    size_t dl;
    int weak, r = esc_match(p, n, 0, prev, at, d, &dl, &weak);
    return r == ESC_MORE || (r > 0 && !weak);
}

static int norm_data(void *ctx, const uint8_t *p, size_t n)
{
    struct dec_norm *z = ctx;
    if (z->esc_busy)
        return esc_data(z, p, n);
    /* one pass for UTF-8 and escapes; it hands over at the first escape */
    int rc = norm_text_impl(z, p, n, 1);
    if (z->handed) {
        z->handed = 0; /* (the escapes' path noted the tail) */
        return rc;
    }
    tail_note(z, p, n);
    return rc;
}

/* The end of a unit: a pending escape start is decided, the copies follow
 * the unit. */
static int esc_unit_end(struct dec_norm *z)
{
    int rc = SGW_OK;
    /* (the unit's text is all with the final sink: nothing is held) */
    uint64_t end = norm_tells(z) ? z->fin.where(z->fin.ctx) : 0;
    z->call_src = end;
    if (z->epend_len)
        esc_pending(z, NULL, 0, 1);
    if (z->esc_oom)
        return SGW_ENOMEM;
    if (z->esc_on)
        piece_to(z, end);
    z->esc_on = 0;
    z->tail_len = 0;
    z->since_copy = 0;
    if (rc == SGW_OK && z->copy_len) {
        rc = esc_emit(z); /* (its boundary ends the original unit) */
        if (rc == SGW_OK && z->esc_over)
            rc = z->fin.uninspectable(z->fin.ctx, "escaped text over 262144 bytes in one unit", 0);
        z->esc_over = 0;
        z->esc_busy = 0;
        return rc == SGW_OK ? 1 : rc;
    }
    z->esc_busy = 0;
    return rc;
}

static int norm_boundary(void *ctx)
{
    struct dec_norm *z = ctx;
    int rc = norm_flush_pend(z);
    z->tag_run = 0; /* (the unit ends: no gap) */
    if (rc == SGW_OK && z->esc_busy) {
        rc = esc_unit_end(z);
        if (rc == 1)
            return SGW_OK; /* the copies' boundaries ended the unit */
    } else {
        z->tail_len = 0;
    }
    return rc != SGW_OK ? rc : z->fin.boundary(z->fin.ctx);
}

static int norm_context(void *ctx, const uint8_t *p, size_t n)
{
    struct dec_norm *z = ctx;
    int rc = norm_flush_pend(z);
    if (rc == SGW_OK && z->esc_busy && (rc = esc_unit_end(z)) == 1)
        rc = SGW_OK;
    z->tail_len = 0;
    return rc != SGW_OK ? rc : z->fin.context(z->fin.ctx, p, n);
}

static int norm_uninspectable(void *ctx, const char *reason, uint32_t flags)
{
    struct dec_norm *z = ctx;
    int rc = norm_flush_pend(z);
    if (rc == SGW_OK && z->esc_busy && (rc = esc_unit_end(z)) == 1)
        rc = SGW_OK;
    z->tail_len = 0;
    return rc != SGW_OK ? rc : z->fin.uninspectable(z->fin.ctx, reason, flags);
}

/* The stage before (base64) says where its data comes from: a decoded
 * copy (no event of this stage's own inside it) or the original again. */
static int norm_origin(void *ctx, int kind, uint64_t src, uint64_t w)
{
    struct dec_norm *z = ctx;
    if (!z->track)
        return SGW_OK;
    if (kind == CLS_ORIG_DIRTY) {
        if (z->dirtied)
            return SGW_OK;
        z->dirtied = 1;
    } else {
        z->in_copy =
            kind == CLS_ORIG_COPY || kind == CLS_ORIG_COPY_B64 || kind == CLS_ORIG_COPY_HEX;
        z->dirtied = 0;
    }
    return z->fin.origin(z->fin.ctx, kind, src, w);
}

static uint64_t norm_where(void *ctx)
{
    struct dec_norm *z = ctx;
    return z->track ? z->fin.where(z->fin.ctx) + z->pend_len : 0;
}

static void norm_init(struct dec_norm *z, const struct cls_sink *out)
{
    /* the buffers need no zeroing: only the fields before them */
    memset(z, 0, offsetof(struct dec_norm, tail));
    z->fin = *out;
    if (out->data_end && out->key_end) {
        z->fin_data_end = out->data_end;
        z->fin_key_end = out->key_end;
    }
    z->sink.ctx = z;
    z->find_special = next_special_scalar;
    z->find_text = norm_stop_scalar;
#if defined(__x86_64__)
    int level = dec_simd_level();
    z->find_special = level >= DEC_SIMD_AVX512 ? next_special_avx512
                      : level >= DEC_SIMD_AVX2 ? next_special_avx2
                                               : next_special_sse2;
    z->find_text = level >= DEC_SIMD_AVX2 ? norm_stop_avx2 : norm_stop_sse2;
#endif
    z->sink.data = norm_data;
    z->sink.boundary = norm_boundary;
    z->sink.context = norm_context;
    z->sink.uninspectable = norm_uninspectable;
    z->sink.origin = norm_origin;
    z->sink.where = norm_where;
    z->track = out->origin && out->where;
    z->cp = z->copy;
    z->cp_cap = ESC_HOLD;
}

int dec_norm_new(const struct cls_sink *out, struct dec_norm **res)
{
    struct dec_norm *z = malloc(sizeof(*z));
    if (!z)
        return SGW_ENOMEM;
    norm_init(z, out);
    *res = z;
    return SGW_OK;
}

const struct cls_sink *dec_norm_sink(struct dec_norm *z)
{
    return &z->sink;
}

int dec_norm_finish(struct dec_norm *z)
{
    int rc = norm_flush_pend(z);
    if (rc == SGW_OK && z->esc_busy && (rc = esc_unit_end(z)) == 1)
        rc = SGW_OK;
    return rc;
}

static void norm_b64_free(struct norm_b64 *zb);

void dec_norm_free(struct dec_norm *z)
{
    if (!z)
        return;
    copy_release(z);
    norm_b64_free(z->zb);
    if (!z->embedded)
        free(z);
}

/* ====================================================================== */
/* Base64 runs inside text: the text passes on unchanged, and a run of     */
/* >= 24 base64 characters is also decoded and pushed (between boundaries) */
/* when the result looks like text. A known binary format is reported.     */
/* ====================================================================== */

#define B64_MIN_RUN 24u
#define B64_HOLD 8192u    /* run characters held before deciding */
#define B64_MAX_DEPTH 3u  /* base64 inside decoded base64: levels decoded; a run that
                             would be a level more is reported (B64_DEEP) */
#define B64_REGION 4096u  /* a long run's copy is told in regions of this many characters */
#define B64_BIN_MIN 1024u /* base64 characters of a run that is no text: reported */
#define B64_TOKEN_MIN 4096u /* ... under a key that names an opaque token (b64_token_key) */
#define B64_BIN_SYMS 32u  /* ... when it uses this many of the 64 symbols (not DNA, not hex) */

enum { B64C_OTHER = 0, B64C_CHAR = 1, B64C_PAD = 2, B64C_EOL = 3 };

static const uint8_t b64_class[256] = {
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,  ['E'] = 1,  ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,  ['M'] = 1,  ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,  ['U'] = 1,  ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1,  ['c'] = 1,  ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,  ['k'] = 1,  ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,  ['s'] = 1,  ['t'] = 1, ['u'] = 1, ['v'] = 1,
    ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,  ['0'] = 1,  ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,  ['8'] = 1,  ['9'] = 1, ['+'] = 1, ['/'] = 1,
    ['-'] = 1, ['_'] = 1, ['='] = 2, ['\r'] = 3, ['\n'] = 3,
};

/* 1 + the value of a base64 character (both alphabets), 0 for any other
 * byte. */
static const uint8_t b64_vals1[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['-'] = 63,
    ['/'] = 64, ['_'] = 64,
};

#define B64_VAL(c) ((int32_t)b64_vals1[(uint8_t)(c)] - 1)

static int b64_val(uint8_t c)
{
    return B64_VAL(c);
}

/* Streaming quad decoder (skips CR/LF; stops at '='). */
struct b64q {
    uint32_t acc;
    unsigned n;
};

/* Decodes s into out (room for 3*n/4+3); returns bytes written. Between
 * quads, four characters at a time while they are all base64. */
static size_t b64q_put(struct b64q *q, const uint8_t *s, size_t n, uint8_t *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        if (q->n == 0) {
            while (i + 4 <= n) {
                int32_t a = B64_VAL(s[i]), b = B64_VAL(s[i + 1]), c = B64_VAL(s[i + 2]),
                        d = B64_VAL(s[i + 3]);
                if ((a | b | c | d) < 0)
                    break;
                uint32_t w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
                out[o] = (uint8_t)(w >> 16);
                out[o + 1] = (uint8_t)(w >> 8);
                out[o + 2] = (uint8_t)w;
                o += 3;
                i += 4;
            }
            if (i == n)
                break;
        }
        int v = B64_VAL(s[i++]);
        if (v < 0)
            continue;
        q->acc = (q->acc << 6) | (uint32_t)v;
        if (++q->n == 4) {
            out[o++] = (uint8_t)(q->acc >> 16);
            out[o++] = (uint8_t)(q->acc >> 8);
            out[o++] = (uint8_t)q->acc;
            q->n = 0;
            q->acc = 0;
        }
    }
    return o;
}

/* Flushes a final partial quad (2 or 3 characters: unpadded base64). */
static size_t b64q_end(struct b64q *q, uint8_t *out)
{
    size_t o = 0;
    if (q->n == 2) {
        out[o++] = (uint8_t)(q->acc >> 4);
    } else if (q->n == 3) {
        out[o++] = (uint8_t)(q->acc >> 10);
        out[o++] = (uint8_t)(q->acc >> 2);
    }
    q->n = 0;
    q->acc = 0;
    return o;
}

/* Skips `align` base64 characters at the start of s; returns the offset. */
static size_t b64_skip(const uint8_t *s, size_t n, unsigned align)
{
    size_t i = 0;
    while (i < n && align > 0) {
        if (b64_val(s[i]) >= 0)
            align--;
        i++;
    }
    return i;
}

enum b64_mode {
    B64M_SHORT,     /* run held (<= B64_HOLD characters), undecided */
    B64M_LONG_TEXT, /* long run that decodes to text: decoded is streamed */
    B64M_LONG_RAW,  /* long run that is not text: passes as is */
};

struct dec_b64 {
    struct cls_sink sink;
    const struct cls_sink *out; /* borrowed: original text goes on here */
    struct dec_b64 *inner;      /* owned: decoded text goes through it (or to out) */
    struct dec_norm *norm;      /* out's stage when out is the normalisation, else NULL */
    unsigned depth;
    int embedded;  /* lives in a block owned by the chain */
    int unit_ends; /* the data being passed ends its unit: its last piece keeps no tail */
    size_t run;    /* characters in the run (pads, CR/LF included) */
    size_t nb64;   /* base64 characters in the run */
    int token_key; /* the context names an opaque token (NextToken, taskToken…) */
    unsigned pad;
    int in_held;        /* the run's characters are in held[] */
    int tell;           /* source offsets go to the next stage (first stage, cls_sink.origin) */
    int magic;          /* b64_pick reported the run as a known binary format */
    int zip;            /* b64_pick found a zip archive or compressed data (B64Z_*: read, not reported) */
    int zip_on;         /* the run's decoding goes into zx->zip */
    struct b64_zip *zx; /* owned, made on first use, kept until the stage is freed */
    const struct cls_decode_limits *lim; /* the chain's (borrowed), or NULL: defaults */
    uint64_t run_src;                    /* long run: source offset of its first character */
    uint64_t long_src;                   /* long run: source offset of the next character */
    uint32_t region_left;                /* long run: characters left in the region told last */
    /* A long run's lines (wrapped base64 or hex: MIME, PEM, `xxd -p`). Its
       original text is not passed on, so a line that does not fit the
       wrapping (the short last line of the block, or a token on a line of
       its own after it) ends the run, and its original characters, kept in
       held[], are passed on after the decoded text. */
    int wrapped;     /* a line ended within the run's first B64_HOLD characters */
    uint32_t line_p; /* characters of the run's first line (it may start mid-line) */
    uint32_t line_w; /* characters of a whole line: the first one after the first line end (0: none yet) */
    uint32_t line_n; /* characters of the current line so far (in held[] up to B64_HOLD) */
    int hexrun;      /* the long run decodes as hex digits, not base64 */
    int hex_hi;      /* long hex run: 1 + the high nibble waiting for its pair, or 0 */
    enum b64_mode mode;
    struct b64q q;
    /* byte lists (decode_list.c): found while the text goes by, their
       decodings held and passed on after the unit (b64_list_*) */
    uint8_t lst;   /* a carried run, a list being read or one held: the list path is taken */
    uint8_t lprev; /* the byte before the carried run (0: the unit's start) */
    uint8_t llast; /* the last byte of the unit's data so far (0: none yet) */
    uint8_t npend; /* decodings held */
    uint8_t lcand; /* B64F_LIST from the finder, or run characters consumed (this data) */
    uint32_t lrun; /* bytes of the lists' alphabet that end the unit's text so far (< LIST_MIN_RUN) */
    uint8_t lbuf[LIST_MIN_RUN];
    dec_list_find_fn lfind;  /* this CPU's dec_list_finder */
    struct b64_list *lists; /* owned, made on first use */
    size_t held_len;
    uint8_t held[B64_HOLD];
    uint8_t dec[B64_HOLD / 4 * 3 + 8];
};

/* A zip archive in a base64 run (an Office document in a Bedrock Converse
 * `document` block): its decoding goes through the zip decoder, whose
 * entries go on through the next stages as units of their own. gzip or
 * zstd data in a run (CloudWatch Logs subscription events, Kinesis
 * records: `H4sI…`) goes through the sniffer, which inflates it and reads
 * what comes out by its content. A certificate (a PEM block, or base64 DER
 * in JSON: ACM ImportCertificate) goes through the X.509 decoder, which
 * passes its names on. A KPL aggregated record (a Kinesis record of the
 * Kinesis Producer Library) goes through its decoder, whose protobuf holds
 * the user records. The environment lives as long as the
 * stage (the reasons of its reports stay valid, as a chain's do). */
enum { B64Z_NONE = 0, B64Z_ZIP = 1, B64Z_COMPRESSED = 2, B64Z_DER = 3, B64Z_MESSAGE = 4, B64Z_KPL = 5, B64Z_PROTOBUF = 6, B64Z_PDF = 7, B64Z_PARQUET = 8, B64Z_OLE = 9, B64Z_CSV = 10, B64Z_UTF16 = 11 };

struct b64_zip {
    struct dec_env env;
    struct dec *zip;
};

static const struct cls_sink *b64_dec_out(struct dec_b64 *b)
{
    return b->inner ? &b->inner->sink : b->out;
}

static int b64_zip_begin(struct dec_b64 *b)
{
    if (!b->zx) {
        b->zx = calloc(1, sizeof(*b->zx));
        if (!b->zx)
            return SGW_ENOMEM;
        if (b->lim) {
            b->zx->env.lim = *b->lim; /* (the chain's, defaults filled in) */
        } else {
            b->zx->env.lim.max_decoded = DEC_DEFAULT_MAX_DECODED;
            b->zx->env.lim.max_ratio = DEC_DEFAULT_MAX_RATIO;
            b->zx->env.lim.max_depth = DEC_DEFAULT_MAX_DEPTH;
        }
    }
    b->zx->env.text = b64_dec_out(b);
    b->zx->env.codings = 0; /* (compression layers of this run only) */
    int rc = b->zip == B64Z_ZIP       ? dec_new_zip(&b->zx->env, 0, &b->zx->zip)
             : b->zip == B64Z_MESSAGE ? dec_new_message(&b->zx->env, 0, 1, &b->zx->zip)
             : b->zip == B64Z_KPL     ? dec_new_kpl(&b->zx->env, 0, &b->zx->zip)
             : b->zip == B64Z_PROTOBUF ? dec_new_protobuf(&b->zx->env, 0, 0, &b->zx->zip)
             : b->zip == B64Z_PDF     ? dec_new_pdf(&b->zx->env, 0, &b->zx->zip)
             : b->zip == B64Z_PARQUET ? dec_new_parquet(&b->zx->env, 0, &b->zx->zip)
             : b->zip == B64Z_OLE     ? dec_new_ole(&b->zx->env, 0, &b->zx->zip)
             : b->zip == B64Z_CSV     ? dec_new_csv(&b->zx->env, 0, &b->zx->zip)
             : b->zip == B64Z_DER
                 ? dec_new_x509(&b->zx->env, 0, B64_BIN_MIN / 4 * 3, &b->zx->zip)
                 : dec_new_sniff(&b->zx->env, 0, 0, "base64 compressed data that is no text",
                                 &b->zx->zip);
    b->zip_on = rc == SGW_OK;
    return rc;
}

static int b64_zip_end(struct dec_b64 *b)
{
    int rc = dec_close(&b->zx->zip);
    b->zip_on = 0;
    return rc;
}

/* The whole run s[0..n) decoded from its first character. */
static size_t b64_decode_all(const uint8_t *s, size_t n, int final, struct b64q *q, uint8_t *out)
{
    q->acc = 0;
    q->n = 0;
    size_t o = b64q_put(q, s, n, out);
    return final ? o + b64q_end(q, out + o) : o;
}

/* The stage for base64 inside decoded base64 is made on first use. */
static int b64_ensure_inner(struct dec_b64 *b)
{
    if (b->inner || b->depth >= B64_MAX_DEPTH)
        return SGW_OK; /* (the stage at B64_MAX_DEPTH decodes nothing: B64_DEEP) */
    int rc = dec_b64_new(b->depth + 1, b->out, &b->inner);
    if (rc == SGW_OK)
        b->inner->lim = b->lim;
    return rc;
}

/* A known binary format at the start of a decoding d[0..n) (total: the
 * whole decoding's length; strict: the bytes were hex or a byte list, where
 * gzip needs its method byte too: two bytes begin a hex hash once in
 * 65,536). Returns B64Z_* for the formats read by a decoder (a zip, gzip or
 * zstd data, DER: a certificate or a private key), BIN_SSH for OpenSSH's
 * private key, BIN_PGP_PUB / BIN_PGP_SEC for an OpenPGP public / secret
 * key packet, BIN_MAGIC for another format (*magic: its magic bytes'
 * index into the table, through dec_binary_magic_*), or 0. */
/* (after the last B64Z_*: both come back from bin_known) */
enum { BIN_SSH = 16, BIN_MAGIC, BIN_PGP_PUB, BIN_PGP_SEC };
_Static_assert((int)B64Z_UTF16 < (int)BIN_SSH, "B64Z_* and BIN_* share bin_known's result");

/* An OpenPGP key packet at d[0..n) of a decoding of `total` bytes (RFC
 * 4880/9580: old or new packet format, a body of 40 bytes or more that
 * the decoding holds, then version 3-6, a creation time and a public-key
 * algorithm the RFCs list): 6 for a public key (or subkey: 14), 5 for a
 * secret key (or subkey: 7), else 0. An armored public key block
 * ("-----BEGIN PGP PUBLIC KEY BLOCK-----") is this in base64; a hash's 32
 * bytes cannot be. */
static int pgp_key_packet(const uint8_t *d, size_t n, size_t total)
{
    if (n < 12 || !(d[0] & 0x80))
        return 0;
    unsigned tag;
    size_t h, len;
    if (d[0] & 0x40) { /* new format: a length of 1, 2 or 5 bytes */
        tag = d[0] & 0x3f;
        h = d[1] < 192 ? 2 : d[1] < 224 ? 3 : d[1] == 255 ? 6 : 0;
        len = h == 2 ? d[1] : h == 3 ? ((size_t)(d[1] - 192) << 8) + d[2] + 192
                            : (size_t)d[2] << 24 | (size_t)d[3] << 16 | (size_t)d[4] << 8 | d[5];
    } else {
        tag = (d[0] >> 2) & 0x0f;
        h = (d[0] & 3) == 0 ? 2 : (d[0] & 3) == 1 ? 3 : (d[0] & 3) == 2 ? 5 : 0;
        len = h == 2 ? d[1] : h == 3 ? (size_t)d[1] << 8 | d[2]
                            : (size_t)d[1] << 24 | (size_t)d[2] << 16 | (size_t)d[3] << 8 | d[4];
    }
    if (h == 0 || h + 8 > n || len < 40 || len > total - h || !(tag == 5 || tag == 6 || tag == 7 || tag == 14))
        return 0;
    unsigned ver = d[h], algo = ver == 3 ? d[h + 7] : d[h + 5];
    if (ver < 3 || ver > 6)
        return 0;
    static const uint8_t algos[] = {1, 2, 3, 16, 17, 18, 19, 20, 22, 25, 26, 27, 28};
    if (!memchr(algos, (int)algo, sizeof(algos)))
        return 0;
    return tag == 6 || tag == 14 ? 6 : 5;
}

static int bin_known(const uint8_t *d, size_t n, size_t total, int strict)
{
    if (total >= 4 && (memcmp(d, "PK\x03\x04", 4) == 0 || memcmp(d, "PK\x05\x06", 4) == 0))
        return B64Z_ZIP;
    if ((total >= 3 - !strict && memcmp(d, "\x1f\x8b\x08", 3 - !strict) == 0) ||
        (total >= 4 && memcmp(d, "\x28\xb5\x2f\xfd", 4) == 0) || dec_looks_xz(d, n) || dec_looks_bzip2(d, n) ||
        (!strict && dec_looks_zlib(d, n)))
        return B64Z_COMPRESSED;
    if (strict && total >= 2 && d[0] == 0x1f && d[1] == 0x8b)
        return 0;
    if (dec_x509_shape(d, n))
        return B64Z_DER;
    if (dec_looks_pdf(d, n))
        return B64Z_PDF; /* (Bedrock Converse's documents) */
    if (dec_looks_parquet(d, n))
        return B64Z_PARQUET;
    if (dec_looks_ole(d, n))
        return B64Z_OLE; /* (Converse's .doc and .xls documents) */
    if (!strict && total >= 20 && n >= 4 && memcmp(d, "\xf3\x89\x9a\xc2", 4) == 0)
        return B64Z_KPL; /* (a Kinesis record of the KPL: user records inside) */
    if (n >= 15 && memcmp(d, "openssh-key-v1", 15) == 0)
        return BIN_SSH; /* (the OpenSSH format's magic, its NUL included) */
    int pgp = pgp_key_packet(d, n, total);
    if (pgp)
        return pgp == 6 ? BIN_PGP_PUB : BIN_PGP_SEC;
    return dec_binary_magic(d, total) ? BIN_MAGIC : 0;
}

/* A known format at the start of a run's decoding b->dec[0..n) (hex: the
 * run is hex digits): the formats read by a decoder set b->zip (a
 * certificate in a PEM block: its names read; a key), the others are
 * reported (b->magic). Returns 1 when the run is one of them. */
static int b64_known(struct dec_b64 *b, size_t n, size_t total, int hex, int *rc)
{
    int k = bin_known(b->dec, n, total, hex);
    if (!k && dec_looks_message(b->dec, n))
        k = B64Z_MESSAGE; /* (SES's raw e-mail: its transfer encodings read) */
    if (!k && !hex && dec_looks_csv(b->dec, n))
        k = B64Z_CSV; /* (a Converse `csv` document: cells under their column's name) */
    if (!k && !hex && dec_looks_utf16(b->dec, n))
        k = B64Z_UTF16; /* (a `txt` document Notepad saved as "Unicode": the sniffer
                           reads it as UTF-16 text) */
    if (k == BIN_SSH || k == BIN_PGP_SEC) {
        b->magic = 1;
        *rc = b->out->uninspectable(b->out->ctx, k == BIN_SSH ? "OpenSSH private key" : "OpenPGP private key",
                                    CLS_REPORT_KEY);
    } else if (k == BIN_PGP_PUB) {
        b->magic = 1; /* a public key: no one's secret, nothing hidden (not reported) */
    } else if (k == BIN_MAGIC) {
        b->magic = 1;
        *rc = b->out->uninspectable(
            b->out->ctx, hex ? dec_binary_magic_hex(b->dec, total) : dec_binary_magic_b64(b->dec, total), 0);
    } else if (k) {
        b->zip = k; /* read, not reported */
    }
    return k != 0;
}

/* Decodes a held run with an alignment; returns the decoded length. */
/* Characters decoded per step of b64_pick (multiples of 4): the first
 * step of the first alignment holds what a known format's magic needs; the
 * others are small, so that a run of random characters (a key, a token)
 * is dropped after a few bytes of each alignment, not decoded whole three
 * times (dec_looks_text_step's verdict is the same at any step). */
#define B64_PICK_STEP 256u
#define B64_PICK_SMALL 32u

/* Chooses the alignment of a run whose decoding looks like text; returns 0
 * when none does. *len gets the decoded length, b->dec the bytes, *qs the
 * quad state after them. Reports a known binary format. Each alignment is
 * decoded a step at a time and dropped as soon as its text verdict is lost
 * (the verdict is that of dec_looks_text on the whole decoding, whose
 * length is known beforehand). */
static int b64_pick(struct dec_b64 *b, const uint8_t *s, size_t n, int final, size_t *len,
                    struct b64q *qs, unsigned *alignp, int *rc)
{
    static const size_t tail_len[4] = {0, 0, 1, 2};
    size_t all = 0; /* base64 characters in the run (pads, line ends not) */
    for (size_t k = 0; k < n; k++)
        all += b64_vals1[s[k]] != 0;
    *rc = SGW_OK;
    for (unsigned align = 0; align < 3; align++) {
        /* the alignment skips `align` of them */
        size_t off = b64_skip(s, n, align), cnt = all > align ? all - align : 0;
        size_t total = cnt / 4 * 3 + (final ? tail_len[cnt % 4] : 0);
        size_t o = 0, at = 0, bad = 0, pos = off;
        int ok = 1;
        qs->acc = 0;
        qs->n = 0;
        while (pos < n) {
            size_t step = align == 0 && pos == off ? B64_PICK_STEP : B64_PICK_SMALL;
            size_t take = n - pos < step ? n - pos : step;
            o += b64q_put(qs, s + pos, take, b->dec + o);
            pos += take;
            if (pos == n && final)
                o += b64q_end(qs, b->dec + o);
            /* the first bytes are decoded (all of them when fewer than a
               step): a known binary format? */
            if (align == 0 && pos == off + take && b64_known(b, o, total, 0, rc))
                return 0;
            if (total < 8)
                ok = 0;
            if (!ok)
                break;
            ok = dec_looks_text_step(b->dec, o, total, &at, &bad);
            if (!ok)
                break;
        }
        if (ok && total >= 8) {
            *len = o;
            *alignp = align;
            return 1;
        }
    }
    return 0;
}

/* A run s[0..n) (whole: all of it) that decodes to no text and is no
 * known format, but to protobuf with text in it (a Kinesis record, an SQS
 * message, a DynamoDB binary attribute holding a message): read by the
 * protobuf decoder (b->zip) instead of passing unread or, from 1 KiB on,
 * being reported opaque. */
static int b64_protobuf(struct dec_b64 *b, const uint8_t *s, size_t n, int whole)
{
    struct b64q q;
    size_t len = b64_decode_all(s, n, whole, &q, b->dec);
    if (!dec_looks_protobuf(b->dec, len, whole))
        return 0;
    b->zip = B64Z_PROTOBUF;
    return 1;
}

/* A run that decodes to no text and is not a known format: when it is
 * long and uses most of the base64 alphabet (random bytes, ciphertext,
 * compressed data: not a DNA sequence, a hex dump or a row of one letter),
 * the engine cannot see into it (catalogue 4.1 case 40). s[0..n) are the
 * run's first characters. */
static int b64_opaque(const struct dec_b64 *b, const uint8_t *s, size_t n)
{
    if (b->magic || b->nb64 < (b->token_key ? B64_TOKEN_MIN : B64_BIN_MIN))
        return 0;
    uint64_t seen = 0;
    for (size_t i = 0; i < n; i++)
        if (b64_vals1[s[i]])
            seen |= 1ull << (b64_vals1[s[i]] - 1);
    return (unsigned)__builtin_popcountll(seen) >= B64_BIN_SYMS;
}

static const char B64_OPAQUE[] = "base64 data that is no text (1 KiB or more)";
/* A run the stage would decode, B64_MAX_DEPTH levels down (base64 of
 * base64 of base64 of base64: what no writer makes but an evasion): not
 * decoded, reported, so that the policy can deny what is hidden there. */
static const char B64_DEEP[] = "encoded data nested deeper than 3 levels";

/* What a run of hex digits decodes to (hex_pick). */
enum { HEX_NO = 0, HEX_TEXT = 1, HEX_BIN = 2 };

/* A run of hex digits (after an optional "0x"; line ends between them are
 * skipped: a wrapped hex dump such as `xxd -p` writes), at least
 * B64_MIN_RUN of them and, when the run is final, an even number (catalogue
 * 4.1 case 18: hex digits are base64 characters, so the finder has found
 * the run). The bytes go to b->dec, *len gets their count, *hi the high
 * nibble of a pair the run's end cut (1 + nibble, or 0; not final only),
 * *eol whether a line end was skipped. Returns HEX_TEXT when the bytes look
 * like text, HEX_BIN when not, HEX_NO when the run is not hex. */
static int hex_pick(struct dec_b64 *b, const uint8_t *s, size_t n, int final, size_t *len,
                    size_t *prefix, int *hi, int *eol)
{
    *prefix = 0;
    *eol = 0;
    *hi = 0;
    if (n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x') {
        s += 2;
        n -= 2;
        *prefix = 2;
    }
    size_t o = 0, digits = 0;
    int h = -1;
    for (size_t i = 0; i < n; i++) {
        int v = dec_hexval(s[i]);
        if (v < 0) {
            if (s[i] != '\n' && s[i] != '\r')
                return HEX_NO;
            *eol = 1;
            continue;
        }
        digits++;
        if (h < 0) {
            h = v;
        } else {
            b->dec[o++] = (uint8_t)(h << 4 | v);
            h = -1;
        }
    }
    if (digits < B64_MIN_RUN || (final && h >= 0))
        return HEX_NO;
    *len = o;
    *hi = h >= 0 ? h + 1 : 0;
    return dec_looks_text(b->dec, o) ? HEX_TEXT : HEX_BIN;
}

/* A run that is base32 (RFC 4648: 'A'-'Z' and '2'-'7', or all in lower
 * case, '=' padding at its end, line ends skipped) and decodes to text: its
 * bytes go to b->dec, *len gets their count. A run of capitals and digits
 * 2-7 in prose decodes to no text. Returns 1 when picked. */
static int b32_pick(struct dec_b64 *b, const uint8_t *s, size_t n, size_t *len)
{
    uint32_t acc = 0, bits = 0;
    size_t o = 0, chars = 0;
    int lower = -1, pad = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        int v;
        if (c == '\n' || c == '\r')
            continue;
        if (c == '=') {
            pad = 1;
            continue;
        }
        if (pad)
            return 0;
        if (c >= '2' && c <= '7') {
            v = c - '2' + 26;
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            int lc = (c & 0x20) != 0;
            if (lower >= 0 && lc != lower)
                return 0; /* (mixed case: base64) */
            lower = lc;
            v = (c | 0x20) - 'a';
        } else {
            return 0;
        }
        acc = acc << 5 | (uint32_t)v;
        bits += 5;
        chars++;
        if (bits >= 8) {
            bits -= 8;
            b->dec[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (chars < B64_MIN_RUN || o < 8 || !dec_looks_text(b->dec, o))
        return 0;
    *len = o;
    return 1;
}

/* Hex digits that decode to no text, 1 KiB of them or more, using most of
 * the sixteen (random bytes, ciphertext, compressed data written as hex;
 * not a row of zeros): the engine cannot see into them, as for base64
 * (b64_opaque, catalogue 4.1 case 40). */
/* A list of digests, one a line (MD5, SHA-1, SHA-224, SHA-256, SHA-384,
 * SHA-512: every line as long as one): what a prompt about file hashes
 * holds, random bytes by nature, no hidden data's dump (xxd -p writes 60
 * a line). */
static int hex_digest_lines(const uint8_t *s, size_t n)
{
    size_t len = 0, lines = 0, i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && s[e] != '\n')
            e++;
        size_t l = e > i && s[e - 1] == '\r' ? e - 1 - i : e - i;
        for (size_t k = i; k < i + l; k++)
            if (dec_hexval(s[k]) < 0)
                return 0;
        if (lines == 0)
            len = l;
        else if (l != len && !(e == n && l == 0))
            return 0;
        lines += l != 0;
        i = e + 1;
    }
    return lines >= 2 && (len == 32 || len == 40 || len == 56 || len == 64 || len == 96 || len == 128);
}

/* whole: s[0, n) is all of the run (a list of digests in it is none). */
static int hex_opaque(const struct dec_b64 *b, const uint8_t *s, size_t n, int whole)
{
    if (b->magic || b->nb64 < B64_BIN_MIN || (whole && hex_digest_lines(s, n)))
        return 0;
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        int v = dec_hexval(s[i]);
        if (v >= 0)
            seen |= 1u << v;
    }
    return __builtin_popcount(seen) >= 14;
}

static const char HEX_OPAQUE[] = "hex data that is no text (1 KiB or more)";

/* The decoded text that follows stands for source [src, src + w) (kind:
 * COPY, or COPY_B64 / COPY_HEX where it is their decoding one for one). */
static int b64_tell_copy(struct dec_b64 *b, int kind, uint64_t src, uint64_t w)
{
    return b->tell ? b->out->origin(b->out->ctx, kind, src, w) : SGW_OK;
}

/* After a copy: the original text again, from source offset src. */
static int b64_tell_at(struct dec_b64 *b, uint64_t src)
{
    return b->tell ? b->out->origin(b->out->ctx, CLS_ORIG_AT, src, 0) : SGW_OK;
}

/* The source offset of the next original byte (all before it passed on). */
static uint64_t b64_where(const struct dec_b64 *b)
{
    return b->tell ? b->out->where(b->out->ctx) : 0;
}

/* A stage inside a copy (base64 in decoded base64) adds its own decoded
 * copy: the outer copy's bytes are no longer its decoding one for one. */
static int b64_dirty(struct dec_b64 *b)
{
    return b->depth && b->out->origin ? b->out->origin(b->out->ctx, CLS_ORIG_DIRTY, 0, 0) : SGW_OK;
}

static int b64_emit_decoded(struct dec_b64 *b, const uint8_t *p, size_t n)
{
    if (b->zip_on)
        return dec_feed(b->zx->zip, p, n);
    const struct cls_sink *o = b64_dec_out(b);
    return o->data(o->ctx, p, n);
}

/* ---- byte lists (decode_list.c) ----
 * Lists are read while the text goes by (b64_list_scan, before the run
 * finder); what one decodes to is held, when it is text or a known binary
 * format, and goes on after the unit ends (b64_list_end), as a copy between
 * boundaries that stands for the list's source bytes: the unit's own text
 * is never cut, so the same text in other pieces gives the same units. */
#define LIST_PENDS 8u   /* decodings held per unit */
#define LIST_PEND 8192u /* ... their bytes; more is reported uninspectable */
enum { LIST_TEXT = 32 }; /* (after every B64Z_* and BIN_*: kinds share one int) */
_Static_assert((int)BIN_PGP_SEC < (int)LIST_TEXT, "list kinds overlap");

struct b64_list {
    struct dec_list tk;
    uint8_t over; /* decodings of this unit did not fit */
    size_t used;
    struct {
        uint32_t off, len;
        uint64_t src, w;
        int kind; /* LIST_TEXT, B64Z_*, BIN_SSH, BIN_MAGIC */
    } pend[LIST_PENDS];
    uint8_t buf[LIST_PEND];
};

/* The source offset of p[0] of the data being looked at. */
static uint64_t b64_list_base(struct dec_b64 *b)
{
    if (!b->tell)
        return 0;
    return b->run && b->mode == B64M_LONG_TEXT ? b->long_src : b64_where(b);
}

static void b64_list_hold(struct dec_b64 *b, const uint8_t *d, size_t n, uint64_t src, uint64_t w);

/* A list is complete: its decodings that are text or a known format are
 * held (the others, a table of numbers, are not looked at again). */
static void b64_list_take(struct dec_b64 *b)
{
    struct b64_list *L = b->lists;
    const struct dec_list *l = &L->tk;
    for (int v = 0; v < 2; v++) {
        size_t n = v ? l->dec_len : l->hex_len;
        if ((l->modes & (v ? 4u : 3u)) && n >= LIST_MIN_TOK)
            b64_list_hold(b, v ? l->dec : l->hex, n, l->start_src, l->end_src - l->start_src);
    }
}

/* Holds the decodings of a list that are text or a known format. */
static void b64_list_hold(struct dec_b64 *b, const uint8_t *d, size_t n, uint64_t src, uint64_t w)
{
    struct b64_list *L = b->lists;
    int kind = dec_looks_text(d, n) ? LIST_TEXT : bin_known(d, n, n, 1);
    if (!kind)
        return;
    if (b->npend == LIST_PENDS || L->used + n > LIST_PEND) {
        L->over = 1;
        return;
    }
    L->pend[b->npend].off = (uint32_t)L->used;
    L->pend[b->npend].len = (uint32_t)n;
    L->pend[b->npend].src = src;
    L->pend[b->npend].w = w;
    L->pend[b->npend].kind = kind;
    memcpy(L->buf + L->used, d, n);
    L->used += n;
    b->npend++;
}

static int b64_list_alloc(struct dec_b64 *b)
{
    if (b->lists)
        return SGW_OK;
    struct b64_list *L = malloc(sizeof(*L));
    if (!L)
        return SGW_ENOMEM;
    L->tk.active = 0;
    L->over = 0;
    L->used = 0;
    b->lists = L;
    return SGW_OK;
}

/* Reads p[0..n) (source offsets from src) with the list being read; stops
 * where the run of the alphabet ends. Returns the bytes read. */
static size_t b64_list_feed(struct dec_b64 *b, const uint8_t *p, size_t n, uint64_t src)
{
    struct dec_list *l = &b->lists->tk;
    size_t i = 0;
    for (;;) {
        int done;
        i += dec_list_feed(l, p + i, n - i, src + i, &done);
        if (done) {
            b64_list_take(b);
            dec_list_next(l);
        }
        if (!done || !l->active || i == n)
            return i;
    }
}

/* The run of the alphabet that ends p[0..n) (carry bytes, all of p when
 * carry >= n) is carried to the next data. */
static void b64_list_carry(struct dec_b64 *b, const uint8_t *p, size_t n, uint32_t carry)
{
    if (carry >= n) {
        if (b->lrun == 0)
            b->lprev = b->llast; /* (the run begins with p) */
        memcpy(b->lbuf + b->lrun, p, n);
    } else {
        b->lprev = p[n - carry - 1];
        memcpy(b->lbuf, p + n - carry, carry);
    }
    b->lrun = carry;
}

/* Looks for byte lists in p[0..n), the next data of the unit (`after`:
 * the base64 stage has passed it on already). */
static int b64_list_scan(struct dec_b64 *b, const uint8_t *p, size_t n, int after)
{
    size_t i = 0;
    uint64_t base = 0;
    int based = 0;
#define LIST_BASE() (b64_list_base(b) - (after ? n : 0))
    while (i < n) {
        struct b64_list *L = b->lists;
        if (!L || !L->tk.active) {
            uint32_t carry = b->lrun;
            size_t s = b->lfind(p + i, n - i, &carry);
            if (s == n - i) {
                b64_list_carry(b, p + i, n - i, carry);
                break;
            }
            if (!L) {
                if (b64_list_alloc(b) != SGW_OK)
                    return SGW_ENOMEM;
                L = b->lists;
            }
            dec_list_begin(&L->tk, carry ? b->lprev : i + s ? p[i + s - 1] : b->llast);
            if (!based) {
                base = LIST_BASE();
                based = 1;
            }
            if (carry) /* (all of the alphabet: the run goes on in p) */
                b64_list_feed(b, b->lbuf, b->lrun, base - b->lrun);
            b->lrun = 0;
            i += s;
        }
        if (!based) {
            base = LIST_BASE();
            based = 1;
        }
        i += b64_list_feed(b, p + i, n - i, base + i);
    }
#undef LIST_BASE
    b->lst = (uint8_t)(b->lrun || b->npend || (b->lists && (b->lists->tk.active || b->lists->over)));
    return SGW_OK;
}

static void b64_list_tail(struct dec_b64 *b, const uint8_t *p, size_t n);

/* The finder has looked at p[0..n) on its way (B64F_LIST, b->lcand):
 * looks again where it may have seen a run of the alphabet, else carries
 * the one that ends p. */
static __attribute__((noinline)) int b64_list_after(struct dec_b64 *b, const uint8_t *p, size_t n)
{
    if (b->lcand)
        return b64_list_scan(b, p, n, 1);
    if (!b->unit_ends)
        b64_list_tail(b, p, n);
    return SGW_OK;
}

/* No run of the alphabet was in p[0..n) (the finder says, with what it
 * looked at): the one that ends p is carried. */
static void b64_list_tail(struct dec_b64 *b, const uint8_t *p, size_t n)
{
    size_t k = 0;
    while (k < n && k < LIST_MIN_RUN - 1 && dec_list_alpha(p[n - 1 - k]))
        k++;
    b64_list_carry(b, p, n, (uint32_t)k);
    b->lst = k != 0;
}

/* The unit ends: the list being read ends, the decodings held go on. */
static int b64_list_end(struct dec_b64 *b)
{
    struct b64_list *L = b->lists;
    int rc = SGW_OK;
    uint64_t end = b64_where(b);
    b->lrun = 0;
    b->lprev = b->llast = 0;
    b->lst = 0;
    if (!L)
        return rc;
    if (L->tk.active && dec_list_unit_end(&L->tk, end))
        b64_list_take(b);
    if (b->npend || L->over) {
        rc = b64_ensure_inner(b);
        const struct cls_sink *o = b64_dec_out(b);
        if (rc == SGW_OK)
            rc = o->boundary(o->ctx);
        for (unsigned k = 0; k < b->npend && rc == SGW_OK; k++) {
            const uint8_t *d = L->buf + L->pend[k].off;
            size_t len = L->pend[k].len;
            int kind = L->pend[k].kind;
            if (kind == BIN_SSH || kind == BIN_PGP_SEC) {
                rc = b->out->uninspectable(b->out->ctx, kind == BIN_SSH ? "OpenSSH private key" : "OpenPGP private key",
                                           CLS_REPORT_KEY);
                continue;
            }
            if (kind == BIN_PGP_PUB)
                continue;
            if (kind == BIN_MAGIC) {
                rc = b->out->uninspectable(b->out->ctx, dec_binary_magic_list(d, len), 0);
                continue;
            }
            rc = b64_tell_copy(b, CLS_ORIG_COPY, L->pend[k].src, L->pend[k].w);
            if (rc == SGW_OK)
                rc = b64_dirty(b);
            if (rc == SGW_OK && kind == LIST_TEXT) {
                rc = o->data(o->ctx, d, len);
            } else if (rc == SGW_OK) {
                /* (no run is being decoded: the zip decoders are free) */
                b->zip = kind;
                rc = b64_zip_begin(b);
                if (rc == SGW_OK)
                    rc = dec_feed(b->zx->zip, d, len);
                int rc2 = b->zip_on ? b64_zip_end(b) : SGW_OK;
                b->zip = 0;
                if (rc == SGW_OK)
                    rc = rc2;
            }
            if (rc == SGW_OK)
                rc = o->boundary(o->ctx);
        }
        if (rc == SGW_OK && L->over)
            rc = b->out->uninspectable(b->out->ctx, "byte lists that decode to more than 8 KiB in one text", 0);
        if (rc == SGW_OK)
            rc = b64_tell_at(b, end);
    }
    b->npend = 0;
    L->used = 0;
    L->over = 0;
    return rc;
}

static int b64_flush(struct dec_b64 *b);
static int b64_boundary(void *ctx);

uint64_t dec_text_where(const struct cls_sink *text)
{
    return text->boundary == b64_boundary ? b64_list_base(text->ctx) : 0;
}

int dec_text_resume(const struct cls_sink *text, uint64_t src)
{
    if (text->boundary != b64_boundary)
        return SGW_OK;
    struct dec_b64 *b = text->ctx;
    int rc = b64_flush(b);
    return rc == SGW_OK ? b64_tell_at(b, src) : rc;
}

int dec_text_byte_list(const struct cls_sink *text, const uint8_t *d, size_t n, uint64_t src, uint64_t end)
{
    if (text->boundary != b64_boundary)
        return SGW_OK;
    struct dec_b64 *b = text->ctx;
    int rc = b64_flush(b);
    if (rc == SGW_OK)
        rc = b64_list_alloc(b);
    if (rc != SGW_OK)
        return rc;
    b64_list_hold(b, d, n, src, end > src ? end - src : 0);
    b->lst = 1;
    return b64_list_end(b);
}

int dec_text_seam(const struct cls_sink *text, const uint8_t *a, size_t an, uint64_t asrc, const uint8_t *h,
                  size_t hn, uint64_t hsrc, uint64_t end)
{
    if (text->boundary != b64_boundary)
        return SGW_OK;
    struct dec_b64 *b = text->ctx;
    const struct cls_sink *o = b->out;
    int rc = b64_flush(b);
    if (rc == SGW_OK && b->tell)
        rc = o->origin(o->ctx, CLS_ORIG_SEAM, asrc, 0);
    if (rc == SGW_OK)
        rc = o->data(o->ctx, a, an);
    if (rc == SGW_OK && b->tell)
        rc = o->origin(o->ctx, CLS_ORIG_SEAM, hsrc, 0);
    if (rc == SGW_OK)
        rc = o->data(o->ctx, h, hn);
    if (rc == SGW_OK)
        rc = o->boundary(o->ctx);
    return rc == SGW_OK ? b64_tell_at(b, end) : rc;
}

/* A run goes long: its lines so far, from its first B64_HOLD characters
 * s[0..n) (which may be held[] itself). The current line's characters move
 * to the start of held[]. */
static void b64_lines_begin(struct dec_b64 *b, const uint8_t *s, size_t n)
{
    size_t first = 0, last = n;
    while (first < n && b64_class[s[first]] != B64C_EOL)
        first++;
    b->wrapped = first < n;
    b->line_p = (uint32_t)first;
    b->line_w = 0;
    if (b->wrapped) {
        /* the first whole line, when one ended in s */
        size_t a = first;
        while (a < n && b64_class[s[a]] == B64C_EOL)
            a++;
        size_t e = a;
        while (e < n && b64_class[s[e]] != B64C_EOL)
            e++;
        if (e < n)
            b->line_w = (uint32_t)(e - a);
        if (b->line_w && b->line_p > b->line_w)
            b->line_w = 0; /* (the next line end decides, see b64_line_ends_run) */
        while (last > 0 && b64_class[s[last - 1]] != B64C_EOL)
            last--;
        b->line_n = (uint32_t)(n - last);
        memmove(b->held, s + last, n - last);
    } else {
        /* one line so far, passed on whole as original text: its end is
           never passed again (longer than held[] can keep) */
        b->line_n = B64_HOLD + 1;
    }
}

/* Long text mode: a line end after b->line_n characters of the current
 * line. Returns 1 when the line does not fit the run's wrapping: the run
 * ends before the line end. A run whose first B64_HOLD characters held no
 * line end is not wrapped: its first line end ends it. The first whole
 * line sets the width; it ends the run when the first (partial) line was
 * longer. */
static int b64_line_ends_run(struct dec_b64 *b)
{
    if (!b->wrapped)
        return 1;
    if (b->line_w == 0) {
        if (b->line_p > b->line_n)
            return 1;
        b->line_w = b->line_n;
        return 0;
    }
    return b->line_n != b->line_w;
}

/* A long run ends: does its current line (kept whole in held[]) need its
 * original characters passed on? Yes when it is not a line of the
 * wrapping's width. */
static int b64_line_odd_end(const struct dec_b64 *b)
{
    return b->line_n && b->line_n <= B64_HOLD && b->line_n != b->line_w;
}

/* Ends the current run. `chunk` is the run's characters when it lives in the
 * current data call (from rs to the end position), else the run is held. */
static int b64_run_end(struct dec_b64 *b, const uint8_t *chunk, size_t chunk_len)
{
    int rc = SGW_OK;
    const struct cls_sink *o;
    if (b->mode == B64M_LONG_TEXT) {
        o = b64_dec_out(b);
        size_t k = b64q_end(&b->q, b->dec);
        if (k)
            rc = b64_emit_decoded(b, b->dec, k);
        if (rc == SGW_OK && b->zip_on)
            rc = b64_zip_end(b);
        if (rc == SGW_OK)
            rc = o->boundary(o->ctx);
        if (rc == SGW_OK && b64_line_odd_end(b)) {
            /* the last line does not fit the wrapping: its original
               characters go on too (from where they are in the source) */
            rc = b64_tell_at(b, b->long_src - b->line_n);
            if (rc == SGW_OK)
                rc = b->out->data(b->out->ctx, b->held, b->line_n);
        } else if (rc == SGW_OK) {
            rc = b64_tell_at(b, b->long_src);
        }
    } else if (b->mode == B64M_SHORT) {
        const uint8_t *s = b->in_held ? b->held : chunk;
        size_t n = b->in_held ? b->held_len : chunk_len;
        if (b->nb64 >= B64_MIN_RUN) {
            size_t len = 0, prefix = 0;
            unsigned align = 0;
            struct b64q qs;
            int hi, eol;
            int hx = hex_pick(b, s, n, 1, &len, &prefix, &hi, &eol), hex = hx == HEX_TEXT;
            int known = hx == HEX_BIN && b64_known(b, len, len, 1, &rc);
            int b32 = !hex && !known && b32_pick(b, s, n, &len);
            int picked = hex || b32 || (!known && b64_pick(b, s, n, 1, &len, &qs, &align, &rc) && rc == SGW_OK);
            if (!picked && !known && rc == SGW_OK && !b->zip && !b->magic && hx == HEX_NO)
                b64_protobuf(b, s, n, 1);
            int zipped = !picked && rc == SGW_OK && b->zip;
            if ((picked || zipped) && b->depth >= B64_MAX_DEPTH) {
                rc = b->out->uninspectable(b->out->ctx, B64_DEEP, 0);
            } else if (picked || zipped) {
                rc = b64_ensure_inner(b);
                o = b64_dec_out(b);
                if (rc == SGW_OK)
                    rc = o->boundary(o->ctx);
                /* the run's text is with the next stage: it ends here. Its
                   decoding maps by ratio unless line ends are in it */
                uint64_t end = b64_where(b), start = end >= b->run ? end - b->run : 0;
                int kind = hex ? (eol ? CLS_ORIG_COPY : CLS_ORIG_COPY_HEX)
                           : b32 || zipped || memchr(s, '\n', n) || memchr(s, '\r', n) ? CLS_ORIG_COPY
                                                                                       : CLS_ORIG_COPY_B64;
                size_t skip = hex ? prefix : kind == CLS_ORIG_COPY_B64 ? align : 0;
                if (rc == SGW_OK)
                    rc = b64_tell_copy(b, kind, start + skip, b->run - skip);
                if (rc == SGW_OK)
                    rc = b64_dirty(b);
                if (rc == SGW_OK && zipped) {
                    if (!known) /* (hex_pick has decoded a hex run) */
                        len = b64_decode_all(s, n, 1, &qs, b->dec);
                    rc = b64_zip_begin(b);
                }
                if (rc == SGW_OK)
                    rc = b64_emit_decoded(b, b->dec, len);
                if (rc == SGW_OK && b->zip_on)
                    rc = b64_zip_end(b);
                if (rc == SGW_OK)
                    rc = o->boundary(o->ctx);
                if (rc == SGW_OK)
                    rc = b64_tell_at(b, end);
            } else if (rc == SGW_OK && b64_opaque(b, s, n)) {
                rc = b->out->uninspectable(b->out->ctx, B64_OPAQUE, 0);
            } else if (rc == SGW_OK && hx == HEX_BIN && hex_opaque(b, s, n, 1)) {
                rc = b->out->uninspectable(b->out->ctx, HEX_OPAQUE, 0);
            }
        }
    }
    b->run = 0;
    b->nb64 = 0;
    b->pad = 0;
    b->in_held = 0;
    b->held_len = 0;
    b->magic = 0;
    b->zip = 0;
    b->hexrun = 0;
    b->hex_hi = 0;
    b->line_n = 0;
    b->mode = B64M_SHORT;
    return rc;
}

/* The short run reached B64_HOLD characters and continues: decide. Its
 * original text has been passed on by the caller. */
static int b64_go_long(struct dec_b64 *b, const uint8_t *s, size_t n)
{
    int rc = SGW_OK;
    size_t len = 0, prefix;
    struct b64q qs = {0, 0};
    unsigned align;
    int hi, eol;
    int hx = hex_pick(b, s, n, 0, &len, &prefix, &hi, &eol);
    int known = hx == HEX_BIN && b64_known(b, len, len, 1, &rc);
    int picked = hx == HEX_TEXT || (!known && b64_pick(b, s, n, 0, &len, &qs, &align, &rc) && rc == SGW_OK);
    if (!picked && !known && rc == SGW_OK && !b->zip && !b->magic && hx == HEX_NO)
        b64_protobuf(b, s, n, 0);
    if ((picked || (rc == SGW_OK && b->zip)) && b->depth >= B64_MAX_DEPTH) {
        b->mode = B64M_LONG_RAW;
        rc = b->out->uninspectable(b->out->ctx, B64_DEEP, 0);
    } else if (picked || (rc == SGW_OK && b->zip)) {
        b->hexrun = hx == HEX_TEXT || known;
        b->hex_hi = hi;
        rc = b64_ensure_inner(b);
        const struct cls_sink *o = b64_dec_out(b);
        if (rc == SGW_OK)
            rc = o->boundary(o->ctx);
        /* the first B64_HOLD characters are the first region; from here
           on the run's text is not passed on, its source offsets are
           counted (b64_long_put, b64_long_skip) */
        uint64_t end = b64_where(b);
        b->run_src = end >= b->run ? end - b->run : 0;
        b->long_src = end;
        b->region_left = 0;
        if (rc == SGW_OK)
            rc = b64_tell_copy(b, CLS_ORIG_COPY, b->run_src, b->run);
        if (rc == SGW_OK)
            rc = b64_dirty(b);
        if (rc == SGW_OK && !picked) {
            /* a zip: all of it from the first character on, through the
               zip decoder (b64_emit_decoded; hex_pick has decoded a hex
               run) */
            if (!known)
                len = b64_decode_all(s, n, 0, &qs, b->dec);
            rc = b64_zip_begin(b);
        }
        if (rc == SGW_OK)
            rc = b64_emit_decoded(b, b->dec, len);
        b->q = qs;
        b->mode = B64M_LONG_TEXT;
        b64_lines_begin(b, s, n);
    } else {
        b->mode = B64M_LONG_RAW;
        if (rc == SGW_OK && b64_opaque(b, s, n))
            rc = b->out->uninspectable(b->out->ctx, B64_OPAQUE, 0);
        else if (rc == SGW_OK && hx == HEX_BIN && hex_opaque(b, s, n, 0))
            rc = b->out->uninspectable(b->out->ctx, HEX_OPAQUE, 0);
    }
    b->in_held = 0;
    b->held_len = 0;
    return rc;
}

/* Long text mode: the current line's characters go on in held[] while it
 * can keep them (its count goes on regardless). */
static inline void b64_line_keep(struct dec_b64 *b, const uint8_t *p, size_t n)
{
    if (b->line_n + n <= B64_HOLD)
        memcpy(b->held + b->line_n, p, n);
    b->line_n = b->line_n + n <= B64_HOLD ? b->line_n + (uint32_t)n : B64_HOLD + 1;
}

/* Long hex run: decodes hex digits p[0..n) (all hex: the data stage ends
 * the run at any other character) into out, pairs carried across calls. */
static size_t hex_put(struct dec_b64 *b, const uint8_t *p, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = dec_hexval(p[i]);
        if (b->hex_hi) {
            out[o++] = (uint8_t)((b->hex_hi - 1) << 4 | v);
            b->hex_hi = 0;
        } else {
            b->hex_hi = v + 1;
        }
    }
    return o;
}

/* Long text mode: decode run characters p[0..n) and stream them on. Each
 * B64_REGION characters are told as a copy of their own (from a few
 * characters before, for the quad the last region left open), at the same
 * characters however the run was split. */
static int b64_long_put(struct dec_b64 *b, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t take = n > B64_HOLD ? B64_HOLD : n;
        if (b->tell) {
            if (b->region_left == 0) {
                uint64_t from = b->long_src - b->run_src > 8 ? b->long_src - 8 : b->run_src;
                int rc = b64_tell_copy(b, CLS_ORIG_COPY, from, b->long_src + B64_REGION - from);
                if (rc != SGW_OK)
                    return rc;
                b->region_left = B64_REGION;
            }
            if (take > b->region_left)
                take = b->region_left;
            b->long_src += take;
            b->region_left -= (uint32_t)take;
        }
        b64_line_keep(b, p, take);
        size_t k = b->hexrun ? hex_put(b, p, take, b->dec) : b64q_put(&b->q, p, take, b->dec);
        if (k) {
            int rc = b64_emit_decoded(b, b->dec, k);
            if (rc != SGW_OK)
                return rc;
        }
        p += take;
        n -= take;
    }
    return SGW_OK;
}

/* Long text mode: a pad or line end c, not passed on. A line end that
 * reaches here ends a line that fits the wrapping. */
static void b64_long_skip(struct dec_b64 *b, uint8_t c)
{
    b->long_src++;
    if (b->region_left)
        b->region_left--;
    if (b64_class[c] == B64C_EOL)
        b->line_n = 0;
    else
        b64_line_keep(b, &c, 1);
}

/* Start of the first run of >= B64_MIN_RUN base64 characters in p (not in
 * a run at p[0]), else the start of the run that ends p (a longer run may
 * continue in the next call), else n. Text has a separator every few bytes:
 * probing B64_MIN_RUN - 1 ahead skips most of it without looking at every
 * byte. */
static size_t b64_find_run(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i + B64_MIN_RUN <= n) {
        if (b64_class[p[i + B64_MIN_RUN - 1]] != B64C_CHAR) {
            i += B64_MIN_RUN;
            continue;
        }
        size_t k = i + B64_MIN_RUN - 1;
        while (k > i && b64_class[p[k - 1]] == B64C_CHAR)
            k--;
        size_t j = i + B64_MIN_RUN;
        while (j < k + B64_MIN_RUN && j < n && b64_class[p[j]] == B64C_CHAR)
            j++;
        if (j == k + B64_MIN_RUN || j == n)
            return k;
        i = j + 1;
    }
    size_t t = n;
    while (t > i && b64_class[p[t - 1]] == B64C_CHAR)
        t--;
    return t;
}

#if defined(__x86_64__)
/* Bit k set when byte k of v is a base64 character (SSE2 compares); the
 * mask16/mask32 forms load p and also give the bytes >= 0x80 in *hi. */
static inline uint32_t b64_class16_sse2(__m128i v)
{
    const __m128i lo_a = _mm_set1_epi8('a'), hi_z = _mm_set1_epi8('z');
    const __m128i lo_0 = _mm_set1_epi8('0'), hi_9 = _mm_set1_epi8('9');
    const __m128i c20 = _mm_set1_epi8(0x20);
    const __m128i plus = _mm_set1_epi8('+'), slash = _mm_set1_epi8('/');
    const __m128i dash = _mm_set1_epi8('-'), under = _mm_set1_epi8('_');
    __m128i l = _mm_or_si128(v, c20); /* letters folded to lower case */
    __m128i letter = _mm_and_si128(_mm_cmpeq_epi8(_mm_max_epu8(l, lo_a), l),
                                   _mm_cmpeq_epi8(_mm_min_epu8(l, hi_z), l));
    __m128i digit = _mm_and_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, lo_0), v),
                                  _mm_cmpeq_epi8(_mm_min_epu8(v, hi_9), v));
    __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, plus), _mm_cmpeq_epi8(v, slash)),
                              _mm_or_si128(_mm_cmpeq_epi8(v, dash), _mm_cmpeq_epi8(v, under)));
    __m128i all = _mm_or_si128(_mm_or_si128(letter, digit), sp);
    return (uint32_t)_mm_movemask_epi8(all);
}

/* The bytes that the normalisation must see: >= 0x80, '%', '&', '\\' and
 * '=' (their top bits, as a movemask takes them). */
static inline __m128i special16(__m128i v)
{
    return _mm_or_si128(
        _mm_or_si128(_mm_or_si128(v, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), _mm_cmpeq_epi8(v, _mm_set1_epi8('='))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('%')), _mm_cmpeq_epi8(v, _mm_set1_epi8('&'))));
}

static inline uint32_t b64_mask16_sse2(const uint8_t *p, uint32_t *hi)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    *hi = (uint32_t)_mm_movemask_epi8(special16(v));
    return b64_class16_sse2(v);
}

static inline uint32_t b64_mask32_sse2(const uint8_t *p, uint32_t *hi)
{
    uint32_t h0, h1;
    uint32_t m = b64_mask16_sse2(p, &h0) | b64_mask16_sse2(p + 16, &h1) << 16;
    *hi = h0 | h1 << 16;
    return m;
}

/* The same with AVX2: two nibble lookups. The base64 characters fall in
 * five groups by high nibble (2: + - /, 3: digits, 4 and 6: letters from 1,
 * 5 and 7: letters up to A, 5: '_'); B64_LO has the groups a low nibble may
 * be in, B64_HI the groups of a high nibble (none for 0, 1, 8..F). */
#define B64_LO 10, 14, 14, 14, 14, 14, 14, 14, 14, 14, 12, 5, 4, 5, 4, 21
#define B64_HI 0, 0, 1, 2, 4, 24, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0

__attribute__((target("avx2"))) static inline uint32_t b64_class16_avx2(__m128i v)
{
    const __m128i lo = _mm_setr_epi8(B64_LO), ht = _mm_setr_epi8(B64_HI);
    const __m128i m0f = _mm_set1_epi8(0x0f);
    __m128i c = _mm_and_si128(_mm_shuffle_epi8(lo, _mm_and_si128(v, m0f)),
                              _mm_shuffle_epi8(ht, _mm_and_si128(_mm_srli_epi16(v, 4), m0f)));
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(c, _mm_setzero_si128())) ^ 0xffffu;
}

__attribute__((target("avx2"))) static inline uint32_t b64_mask16_avx2(const uint8_t *p,
                                                                       uint32_t *hi)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    *hi = (uint32_t)_mm_movemask_epi8(special16(v));
    return b64_class16_avx2(v);
}

__attribute__((target("avx2"))) static inline uint32_t b64_mask32_avx2(const uint8_t *p,
                                                                       uint32_t *hi)
{
    const __m256i lo = _mm256_setr_epi8(B64_LO, B64_LO), ht = _mm256_setr_epi8(B64_HI, B64_HI);
    const __m256i m0f = _mm256_set1_epi8(0x0f);
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i c =
        _mm256_and_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(v, m0f)),
                         _mm256_shuffle_epi8(ht, _mm256_and_si256(_mm256_srli_epi16(v, 4), m0f)));
    *hi = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(v, spec_avx2(v)));
    return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(c, _mm256_setzero_si256()));
}
#endif

/* For p[0..n), n < 16: the start of the run of base64 characters that ends
 * it; *hi nonzero when a byte is >= 0x80. From 8 bytes on, the two
 * overlapping words are classified together (CLASS16: a 16-byte class mask),
 * below that byte by byte. */
#define B64_SHORT_TAIL(p, n, hi, CLASS16)                                                          \
    do {                                                                                           \
        if ((n) >= 8) {                                                                            \
            uint64_t a_, b_;                                                                       \
            memcpy(&a_, p, 8);                                                                     \
            memcpy(&b_, (p) + (n)-8, 8);                                                           \
            __m128i v_ = _mm_set_epi64x((long long)b_, (long long)a_);                             \
            uint32_t m16_ = CLASS16(v_);                                                           \
            uint32_t m_ = (m16_ & 0xffu) | (m16_ >> 8) << ((n)-8); /* bit k: p[k] */               \
            *(hi) = (uint64_t)_mm_movemask_epi8(special16(v_));                                    \
            return (n) - (size_t)__builtin_clz(~(m_ << (32 - (n))));                               \
        }                                                                                          \
        size_t t_ = (n);                                                                           \
        while (t_ > 0 && b64_class[(p)[t_ - 1]] == B64C_CHAR)                                      \
            t_--;                                                                                  \
        *(hi) = b64_short_special(p, n);                                                           \
        return t_;                                                                                 \
    } while (0)

#if !defined(__x86_64__)
/* Nonzero when a byte of w is >= 0x80, '%', '&', '\\' or '=' (a zero byte of w ^ c
 * for each of them). */
static inline uint64_t swar_special(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t x = w ^ (ones * '%'), y = w ^ (ones * '&'), z = w ^ (ones * '\\'), e = w ^ (ones * '=');
    return (w | ((x - ones) & ~x) | ((y - ones) & ~y) | ((z - ones) & ~z) | ((e - ones) & ~e)) & (ones * 0x80);
}

static inline uint32_t swar_special32(uint32_t w)
{
    const uint32_t ones = 0x01010101u;
    uint32_t x = w ^ (ones * '%'), y = w ^ (ones * '&'), z = w ^ (ones * '\\'), e = w ^ (ones * '=');
    return (w | ((x - ones) & ~x) | ((y - ones) & ~y) | ((z - ones) & ~z) | ((e - ones) & ~e)) & (ones * 0x80);
}
#endif

static inline int byte_special(uint8_t c)
{
    return c >= 0x80 || c == '%' || c == '&' || c == '\\' || c == '=';
}

/* Nonzero when one of p[0..v) (v < 16) is >= 0x80, '%', '&', '\\' or '=' (what the
 * normalisation must see): overlapping words. */
static inline uint64_t b64_short_special(const uint8_t *p, size_t v)
{
#if defined(__x86_64__)
    if (v >= 4) {
        __m128i x;
        if (v >= 8) {
            uint64_t a, b;
            memcpy(&a, p, 8);
            memcpy(&b, p + v - 8, 8);
            x = _mm_set_epi64x((long long)b, (long long)a);
        } else {
            uint32_t a, b;
            memcpy(&a, p, 4);
            memcpy(&b, p + v - 4, 4);
            x = _mm_set_epi32(0, 0, (int)b, (int)a);
        }
        return (uint64_t)_mm_movemask_epi8(special16(x));
    }
#else
    if (v >= 8) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + v - 8, 8);
        return swar_special(a) | swar_special(b);
    }
    if (v >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + v - 4, 4);
        return swar_special32(a) | swar_special32(b);
    }
#endif
    return v ? (uint64_t)(byte_special(p[0]) | byte_special(p[v / 2]) | byte_special(p[v - 1])) : 0;
}

static size_t b64_short_tail_scalar(const uint8_t *p, size_t n, uint64_t *hi)
{
    size_t t = n;
    while (t > 0 && b64_class[p[t - 1]] == B64C_CHAR)
        t--;
    *hi = b64_short_special(p, n);
    return t;
}

#if defined(__x86_64__)
static inline size_t b64_short_tail_sse2(const uint8_t *p, size_t n, uint64_t *hi)
{
    B64_SHORT_TAIL(p, n, hi, b64_class16_sse2);
}

__attribute__((target("avx2"))) static inline size_t b64_short_tail_avx2(const uint8_t *p, size_t n,
                                                                         uint64_t *hi)
{
    B64_SHORT_TAIL(p, n, hi, b64_class16_avx2);
}
#endif

/* The class mask of p[0..v), 0 < v < 64 (the whole input), without reading
 * past p + v: overlapping loads. Below 16 bytes no run of 24 fits, so only
 * the run that ends p is marked (all that the finder then needs) and hm is
 * nonzero when any byte is >= 0x80; bits from v on are 0. */
#define B64_PARTIAL(p, v, m, hm, M16, M32)                                                         \
    do {                                                                                           \
        uint32_t h0_, h1_;                                                                         \
        if ((v) >= 32) {                                                                           \
            m = M32(p, &h0_) | (uint64_t)M32((p) + (v)-32, &h1_) << ((v)-32);                      \
            hm = h0_ | (uint64_t)h1_ << ((v)-32);                                                  \
        } else if ((v) >= 16) {                                                                    \
            m = M16(p, &h0_) | (uint64_t)M16((p) + (v)-16, &h1_) << ((v)-16);                      \
            hm = h0_ | (uint64_t)h1_ << ((v)-16);                                                  \
        } else {                                                                                   \
            m = 0;                                                                                 \
            hm = b64_short_special(p, v);                                                          \
            for (size_t k_ = v; k_-- > 0 && b64_class[(p)[k_]] == B64C_CHAR;)                      \
                m |= 1ull << k_;                                                                   \
        }                                                                                          \
    } while (0)

/* b64_find_run, 64 bytes at a time on a class mask: bit b of
 * r = m & m<<1 & ... & m<<23 (five shifted ANDs) says that the 24 bytes
 * ending at b are run characters; `carry` is the run that ends the previous
 * block (< B64_MIN_RUN, else it would have been found). *flags gets
 * B64F_PLAIN when no byte before the returned position is >= 0x80, B64F_TAIL
 * when that position starts the (short) run that ends p. */
#define B64_FIND_BODY(M16, M32)                                                                    \
    size_t i = 0;                                                                                  \
    unsigned carry = 0;                                                                            \
    uint64_t anyhi = 0;                                                                            \
    for (; i < n; i += 64) {                                                                       \
        size_t v = n - i;                                                                          \
        uint64_t m, hm;                                                                            \
        uint32_t h0, h1;                                                                           \
        if (v >= 64) {                                                                             \
            m = M32(p + i, &h0) | (uint64_t)M32(p + i + 32, &h1) << 32;                            \
            hm = h0 | (uint64_t)h1 << 32;                                                          \
        } else if (n >= 64) {                                                                      \
            /* the last 64 bytes of the input, shifted down to p + i */                            \
            m = M32(p + n - 64, &h0) | (uint64_t)M32(p + n - 32, &h1) << 32;                       \
            hm = (h0 | (uint64_t)h1 << 32) >> (64 - v);                                            \
            m >>= 64 - v;                                                                          \
        } else {                                                                                   \
            B64_PARTIAL(p, v, m, hm, M16, M32);                                                    \
        }                                                                                          \
        unsigned lead = ~m ? (unsigned)__builtin_ctzll(~m) : 64u;                                  \
        if (carry + lead >= B64_MIN_RUN) {                                                         \
            *flags = anyhi == 0 ? B64F_PLAIN : 0;                                                  \
            return i - carry;                                                                      \
        }                                                                                          \
        uint64_t y_ = ~(m & (m >> 8)); /* see b64_find_run_avx512 */                               \
        if ((y_ - 0x0101010101010101ull) & ~y_ & 0x0080808080808080ull) {                          \
            uint64_t r = m & (m << 1);                                                             \
            r &= r << 2;                                                                           \
            r &= r << 4;                                                                           \
            r &= r << 8;                                                                           \
            r &= r << 8;                                                                           \
            if (r) {                                                                               \
                unsigned at = (unsigned)__builtin_ctzll(r) - (B64_MIN_RUN - 1);                    \
                *flags = (anyhi | (hm & ((1ull << at) - 1))) == 0 ? B64F_PLAIN : 0;                \
                return i + at;                                                                     \
            }                                                                                      \
        }                                                                                          \
        anyhi |= hm;                                                                               \
        if (v < 64) {                                                                              \
            unsigned tail = (unsigned)__builtin_clzll(~(m << (64 - v)));                           \
            size_t at = tail == v ? i - carry : n - tail;                                          \
            *flags = (anyhi == 0 ? B64F_PLAIN : 0) | (at < n ? B64F_TAIL : 0);                     \
            return at;                                                                             \
        }                                                                                          \
        carry = (unsigned)__builtin_clzll(~m); /* ~m != 0: else lead was 64 */                     \
    }                                                                                              \
    *flags = (anyhi == 0 ? B64F_PLAIN : 0) | (carry ? B64F_TAIL : 0);                              \
    return n - carry;

#if defined(__x86_64__)
static size_t b64_find_run_sse2(const uint8_t *p, size_t n, int *flags)
{
    B64_FIND_BODY(b64_mask16_sse2, b64_mask32_sse2)
}

__attribute__((target("avx2"))) static size_t b64_find_run_avx2(const uint8_t *p, size_t n,
                                                                int *flags)
{
    B64_FIND_BODY(b64_mask16_avx2, b64_mask32_avx2)
}
#endif

#if defined(__x86_64__)
#define B64_AVX512 "avx512f,avx512bw,avx512vl,avx2,bmi,bmi2"

/* The class mask of 64 bytes with AVX-512 (BW): the same two nibble
 * lookups as AVX2, tested straight into a mask register; *hi gets the
 * bytes >= 0x80, and *list the quadwords (8 bytes at a multiple of 8) all
 * in the byte lists' alphabet (decode_list.c), from the same nibbles. */
__attribute__((target(B64_AVX512))) static inline uint64_t b64_class64_list_avx512(__m512i v, uint64_t *hi,
                                                                                   unsigned *list)
{
    const __m512i lo = _mm512_broadcast_i32x4(_mm_setr_epi8(B64_LO));
    const __m512i ht = _mm512_broadcast_i32x4(_mm_setr_epi8(B64_HI));
    const __m512i llo = _mm512_broadcast_i32x4(_mm_setr_epi8(DEC_LIST_LO));
    const __m512i lhi = _mm512_broadcast_i32x4(_mm_setr_epi8(DEC_LIST_HI));
    const __m512i m0f = _mm512_set1_epi8(0x0f), one = _mm512_set1_epi8(1);
    __m512i ln = _mm512_and_si512(v, m0f), hn = _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f);
    __m512i in = _mm512_min_epu8(_mm512_and_si512(_mm512_shuffle_epi8(llo, ln), _mm512_shuffle_epi8(lhi, hn)), one);
    *list = (unsigned)_mm512_cmpeq_epi64_mask(in, one);
    *hi = _mm512_movepi8_mask(v) |
          _mm512_cmpeq_epi8_mask(hn, _mm512_shuffle_epi8(_mm512_broadcast_i32x4(_mm_setr_epi8(SPEC_HI)), ln));
    return _mm512_test_epi8_mask(_mm512_shuffle_epi8(lo, ln), _mm512_shuffle_epi8(ht, hn));
}

/* B64_FIND_BODY with one 64-byte mask per block; the last partial block is
 * a masked load (zero bytes are in no class: the bits from the end on are
 * 0, as the other levels make them), so nothing is read past p + n. */
__attribute__((target(B64_AVX512))) static size_t b64_find_run_avx512(const uint8_t *p, size_t n,
                                                                      int *flags)
{
    size_t i = 0;
    unsigned carry = 0;
    uint64_t anyhi = 0;
    /* B64F_LIST: 16 bytes of the lists' alphabet in a row at a multiple
       of 8 (two full quadwords, next to each other in a block or the last
       and the first of two blocks): a run of 24 has them, so one may be in
       what was looked at; b64_data_body looks again, exactly */
    int lw = 0;
    unsigned ltop = 0; /* the last block's last quadword was full */
    for (; i < n; i += 64) {
        size_t v = n - i;
        uint64_t m, hm;
        unsigned lm;
        if (v >= 64)
            m = b64_class64_list_avx512(_mm512_loadu_si512((const void *)(p + i)), &hm, &lm);
        else
            m = b64_class64_list_avx512(
                _mm512_maskz_loadu_epi8(_bzhi_u64(~0ull, (unsigned)v), (const void *)(p + i)), &hm, &lm);
        lw |= ((lm & (lm >> 1)) | (ltop & lm)) != 0;
        ltop = lm >> 7;
        int lf = lw ? B64F_LIST : 0;
        unsigned lead = ~m ? (unsigned)__builtin_ctzll(~m) : 64u;
        if (carry + lead >= B64_MIN_RUN) {
            *flags = (anyhi == 0 ? B64F_PLAIN : 0) | lf;
            return i - carry;
        }
        /* a run of 24 inside the block covers two whole aligned bytes of
           the mask: without two neighbouring 0xff bytes there is none */
        uint64_t y = ~(m & (m >> 8));
        if ((y - 0x0101010101010101ull) & ~y & 0x0080808080808080ull) {
            uint64_t r = m & (m << 1);
            r &= r << 2;
            r &= r << 4;
            r &= r << 8;
            r &= r << 8;
            if (r) {
                unsigned at = (unsigned)__builtin_ctzll(r) - (B64_MIN_RUN - 1);
                *flags = ((anyhi | (hm & ((1ull << at) - 1))) == 0 ? B64F_PLAIN : 0) | lf;
                return i + at;
            }
        }
        anyhi |= hm;
        if (v < 64) {
            unsigned tail = (unsigned)__builtin_clzll(~(m << (64 - v)));
            size_t at = tail == v ? i - carry : n - tail;
            *flags = (anyhi == 0 ? B64F_PLAIN : 0) | (at < n ? B64F_TAIL : 0) | lf;
            return at;
        }
        carry = (unsigned)__builtin_clzll(~m); /* ~m != 0: else lead was 64 */
    }
    *flags = (anyhi == 0 ? B64F_PLAIN : 0) | (carry ? B64F_TAIL : 0) | (lw ? B64F_LIST : 0);
    return n - carry;
}
#endif

/* The scalar finder; says nothing more (*flags = 0). */
static size_t b64_find_run_scalar(const uint8_t *p, size_t n, int *flags)
{
    *flags = 0;
    return b64_find_run(p, n);
}

size_t dec_b64_find_run_impl(const uint8_t *p, size_t n, int level, int *flags)
{
#if defined(__x86_64__)
    if (level >= DEC_SIMD_AVX512) {
        size_t at = b64_find_run_avx512(p, n, flags);
        *flags &= ~B64F_LIST;
        return at;
    }
    if (level >= DEC_SIMD_AVX2)
        return b64_find_run_avx2(p, n, flags);
    if (level >= DEC_SIMD_SSE2)
        return b64_find_run_sse2(p, n, flags);
#endif
    (void)level;
    return b64_find_run_scalar(p, n, flags);
}

/* Copies n < 16 bytes with fixed-size moves (used alone where gcc would
 * see copy_short's 16-byte case writing before d). */
static inline void copy_under16(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t k = 0; k < n; k++)
            d[k] = s[k];
    }
}

/* Copies n <= 32 bytes with fixed-size moves. */
static inline void copy_short(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n >= 16) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else {
        copy_under16(d, s, n);
    }
}

/* Original text known to hold no byte >= 0x80, '%', '&', '\\' or '=': when the next
 * stage is the normalisation and it holds nothing (a cut UTF-8 sequence, an
 * escape being decoded), it has nothing to do but keep the unit's tail, so
 * the text goes straight on. */
static int b64_pass_plain(struct dec_b64 *b, const uint8_t *p, size_t n, int last)
{
    struct dec_norm *z = b->norm;
    if (!z)
        return b->out->data(b->out->ctx, p, n);
    if (!norm_idle(z))
        return norm_data(z, p, n);
    if (!(last && b->unit_ends))
        tail_note(z, p, n); /* (for an escape later in the unit) */
    return z->fin.data(z->fin.ctx, p, n);
}

typedef size_t (*b64_find_fn)(const uint8_t *, size_t, int *);

/* The data stage, instantiated per SIMD level with its finder inlined. */
typedef size_t (*b64_tail_fn)(const uint8_t *, size_t, uint64_t *);

size_t dec_b64_short_tail_impl(const uint8_t *p, size_t n, int level, int *high)
{
    uint64_t h = 0;
    size_t t;
#if defined(__x86_64__)
    if (level >= DEC_SIMD_AVX2)
        t = b64_short_tail_avx2(p, n, &h);
    else if (level >= DEC_SIMD_SSE2)
        t = b64_short_tail_sse2(p, n, &h);
    else
#endif
        t = b64_short_tail_scalar(p, n, &h);
    (void)level;
    *high = h != 0;
    return t;
}

/* Short data (a key, a number, a word: n < 16, no run held): no run of
 * B64_MIN_RUN fits, only the run that ends it is held, and a byte >= 0x80
 * is looked for with a word or two; the finder's setup would cost more. A
 * leaf ending in a tail call (the copy is inline), so the data stage takes
 * this path without saving registers. */
static inline __attribute__((always_inline)) int b64_data_short(struct dec_b64 *b, const uint8_t *p,
                                                                size_t n, b64_tail_fn short_tail)
{
    uint64_t special;
    size_t t = short_tail(p, n, &special);
    if (t < n) {
        b->mode = B64M_SHORT;
        b->run = n - t;
        b->nb64 = n - t;
        copy_under16(b->held, p + t, n - t);
        b->held_len = n - t;
        b->in_held = 1;
    }
    return special ? b->out->data(b->out->ctx, p, n) : b64_pass_plain(b, p, n, 1);
}

static inline __attribute__((always_inline)) int
b64_data_core(void *ctx, const uint8_t *p, size_t n, b64_find_fn find, b64_tail_fn short_tail)
{
    struct dec_b64 *b = ctx;
    size_t i = 0, fwd = 0, rs = 0;
    int rc = SGW_OK;
    /* every byte of the call is either looked at by the finder (which says
       whether it met a byte >= 0x80, '%', '&', '\\' or '=') or is a run character, pad
       or line end: `plain` is about the bytes from fwd on, the original text
       not passed on yet */
    int plain = 1;
    if (b->run == 0 && n < 16)
        return b64_data_short(b, p, n, short_tail);
    while (i < n) {
        if (b->run == 0) {
            int f;
            i += find(p + i, n - i, &f);
            plain &= f & B64F_PLAIN;
            b->lcand |= (uint8_t)(f & B64F_LIST);
            if (i == n)
                break;
            rs = i;
            b->mode = B64M_SHORT;
            b->in_held = 0;
            if (f & B64F_TAIL) {
                /* p[i..n) are run characters, fewer than B64_MIN_RUN: held
                   for a run that may go on in the next call (what the loop
                   below and the end of the call would do) */
                size_t cnt = n - i;
                b->run = cnt;
                b->nb64 = cnt;
                copy_short(b->held, p + i, cnt);
                b->held_len = cnt;
                b->in_held = 1;
                break;
            }
        }
        /* consume run characters */
        size_t j = i;
        if (b->pad == 0) {
            size_t lim = n;
            if (b->mode == B64M_SHORT && lim - i > B64_HOLD - b->run)
                lim = i + (B64_HOLD - b->run);
            if (b->hexrun)
                while (j < lim && dec_hexval(p[j]) >= 0)
                    j++;
            else
                while (j < lim && b64_class[p[j]] == B64C_CHAR)
                    j++;
        }
        size_t cnt = j - i;
        if (cnt) {
            if (!b->lcand) {
                /* bytes the finder did not look at, and 23 on either side:
                   a run of the alphabet there? ('-' and line ends are in
                   base64 runs: a list may be one) */
                size_t a = i > LIST_MIN_RUN - 1 ? i - (LIST_MIN_RUN - 1) : 0;
                size_t e = n - j > LIST_MIN_RUN - 1 ? j + (LIST_MIN_RUN - 1) : n;
                uint32_t none = LIST_NO_TAIL;
                b->lcand = b->lfind(p + a, e - a, &none) < e - a;
            }
            if (b->mode == B64M_SHORT && b->in_held) {
                memcpy(b->held + b->held_len, p + i, cnt);
                b->held_len += cnt;
            } else if (b->mode == B64M_LONG_TEXT) {
                rc = b64_long_put(b, p + i, cnt);
                if (rc != SGW_OK)
                    return rc;
                fwd = j;
                plain = 1;
            }
            b->run += cnt;
            b->nb64 += cnt;
            i = j;
        }
        if (i == n)
            break;
        uint8_t cl = b64_class[p[i]];
        int cont = (cl == B64C_CHAR && b->pad == 0 && !b->hexrun) ||
                   (cl == B64C_PAD && b->pad < 2 && b->nb64 > 0 && !b->hexrun) ||
                   (cl == B64C_EOL && b->pad == 0 && b->nb64 >= B64_MIN_RUN);
        /* a long run's line that does not fit its wrapping ends it (a hex
           run also ends at a character that is no hex digit) */
        if (cont && cl == B64C_EOL && b->mode == B64M_LONG_TEXT && b->line_n &&
            b64_line_ends_run(b))
            cont = 0;
        if (cont && b->mode == B64M_SHORT && b->run == B64_HOLD) {
            /* the held window is full and the run goes on: decide now */
            if (i > fwd) {
                rc = plain ? b64_pass_plain(b, p + fwd, i - fwd, 0)
                           : b->out->data(b->out->ctx, p + fwd, i - fwd);
                if (rc != SGW_OK)
                    return rc;
            }
            if (!b->in_held)
                rc = b64_go_long(b, p + rs, i - rs);
            else
                rc = b64_go_long(b, b->held, B64_HOLD);
            if (rc != SGW_OK)
                return rc;
            fwd = i;
            plain = 1;
            continue;
        }
        if (cont && cl != B64C_CHAR) {
            if (cl == B64C_PAD) {
                b->pad++;
                plain = 0; /* (a '=' the finder did not look at: quoted-printable's) */
            }
            if (b->mode == B64M_SHORT && b->in_held)
                b->held[b->held_len++] = p[i];
            else if (b->mode == B64M_LONG_TEXT) {
                fwd = i + 1; /* (plain stays: a pad or line end is neither) */
                b64_long_skip(b, p[i]);
            }
            b->run++;
            i++;
            continue;
        }
        /* p[i] ends the run: its original text goes first, then what it
           decodes to */
        if (b->mode == B64M_SHORT && b->nb64 >= B64_MIN_RUN && i > fwd) {
            rc = plain ? b64_pass_plain(b, p + fwd, i - fwd, 0)
                       : b->out->data(b->out->ctx, p + fwd, i - fwd);
            if (rc != SGW_OK)
                return rc;
            fwd = i;
            plain = 1;
        }
        if (b->mode == B64M_SHORT && !b->in_held)
            rc = b64_run_end(b, p + rs, i - rs);
        else
            rc = b64_run_end(b, NULL, 0);
        if (rc != SGW_OK)
            return rc;
    }
    /* end of this call: a short run that may go on is copied for decoding
       (its text is passed on now, like the rest) */
    if (b->run > 0 && b->mode == B64M_SHORT && !b->in_held) {
        memcpy(b->held, p + rs, n - rs);
        b->held_len = n - rs;
        b->in_held = 1;
    }
    if (n > fwd)
        rc = plain ? b64_pass_plain(b, p + fwd, n - fwd, 1)
                   : b->out->data(b->out->ctx, p + fwd, n - fwd);
    return rc;
}

/* Data that needs the byte lists' look: a list may be in it, or one may
 * begin in it and go on in the next data of the unit. */
static inline int b64_list_wants(const struct dec_b64 *b, const uint8_t *p, size_t n)
{
    return b->lst || n >= LIST_MIN_RUN || (n && !b->unit_ends && dec_list_alpha(p[n - 1]));
}

/* `fused`: the finder says B64F_LIST (AVX-512), so data with no list in
 * it (almost all) costs the lists no pass of their own: only data it flags
 * is looked at again, exactly. Other levels run dec_list_finder first. */
static inline __attribute__((always_inline)) int b64_data_body(void *ctx, const uint8_t *p, size_t n,
                                                               b64_find_fn find, b64_tail_fn short_tail,
                                                               int fused)
{
    struct dec_b64 *b = ctx;
    int rc = SGW_OK, after = 0;
    if (!b64_list_wants(b, p, n)) {
        if (n)
            b->llast = p[n - 1];
    } else {
        if (b->lst) {
            rc = b64_list_scan(b, p, n, 0);
        } else if (fused && n >= LIST_MIN_RUN) {
            b->lcand = 0;
            after = 1;
        } else {
            uint32_t carry = b->unit_ends ? LIST_NO_TAIL : 0;
            size_t s = b->lfind(p, n, &carry);
            if (s < n) {
                rc = b64_list_scan(b, p, n, 0);
            } else if (!b->unit_ends) {
                b64_list_carry(b, p, n, carry);
                b->lst = carry != 0;
            }
        }
        if (rc != SGW_OK)
            return rc;
    }
    rc = b64_data_core(ctx, p, n, find, short_tail);
    if (after && rc == SGW_OK && (b->lcand || !b->unit_ends))
        rc = b64_list_after(b, p, n);
    if (n)
        b->llast = p[n - 1];
    return rc;
}

static int b64_data_scalar(void *ctx, const uint8_t *p, size_t n)
{
    return b64_data_body(ctx, p, n, b64_find_run_scalar, b64_short_tail_scalar, 0);
}

#if defined(__x86_64__)
static int b64_data_sse2(void *ctx, const uint8_t *p, size_t n)
{
    return b64_data_body(ctx, p, n, b64_find_run_sse2, b64_short_tail_sse2, 0);
}

/* With SIMD, the short path is taken in a small function of its own and
   the rest (the finder, runs) in another: one frame less per short call. */
__attribute__((target("avx2"), noinline)) static int b64_data_avx2_long(void *ctx, const uint8_t *p,
                                                                        size_t n)
{
    return b64_data_body(ctx, p, n, b64_find_run_avx2, b64_short_tail_avx2, 0);
}

__attribute__((target("avx2"))) static int b64_data_avx2(void *ctx, const uint8_t *p, size_t n)
{
    struct dec_b64 *b = ctx;
    if (b->run == 0 && n < 16 && !b64_list_wants(b, p, n)) {
        if (n)
            b->llast = p[n - 1];
        return b64_data_short(b, p, n, b64_short_tail_avx2);
    }
    return b64_data_avx2_long(ctx, p, n);
}

/* short data (< 16 bytes) keeps the AVX2 classification of two words */
__attribute__((target(B64_AVX512), noinline)) static int
b64_data_avx512_long(void *ctx, const uint8_t *p, size_t n)
{
    return b64_data_body(ctx, p, n, b64_find_run_avx512, b64_short_tail_avx2, 1);
}

__attribute__((target(B64_AVX512))) static int b64_data_avx512(void *ctx, const uint8_t *p,
                                                               size_t n)
{
    struct dec_b64 *b = ctx;
    if (b->run == 0 && n < 16 && !b64_list_wants(b, p, n)) {
        if (n)
            b->llast = p[n - 1];
        return b64_data_short(b, p, n, b64_short_tail_avx2);
    }
    return b64_data_avx512_long(ctx, p, n);
}
#endif

/* The data stage of this CPU. */
static int (*b64_data_fn(void))(void *, const uint8_t *, size_t)
{
#if defined(__x86_64__)
    int level = dec_simd_level();
    if (level >= DEC_SIMD_AVX512)
        return b64_data_avx512;
    if (level >= DEC_SIMD_AVX2)
        return b64_data_avx2;
    if (level >= DEC_SIMD_SSE2)
        return b64_data_sse2;
#endif
    return b64_data_scalar;
}

static int b64_flush(struct dec_b64 *b)
{
    if (b->run == 0)
        return SGW_OK;
    if (b->mode == B64M_SHORT && b->nb64 < B64_MIN_RUN) {
        /* a short run ends: nothing to decode (b64_run_end's reset) */
        b->run = 0;
        b->nb64 = 0;
        b->pad = 0;
        b->in_held = 0;
        b->held_len = 0;
        return SGW_OK;
    }
    return b64_run_end(b, NULL, 0);
}

/* Boundaries and contexts go to the normalisation stage by a direct call
 * when it is next (as in every chain): one indirect call less per event. */
static int b64_boundary(void *ctx)
{
    struct dec_b64 *b = ctx;
    int rc = b64_flush(b);
    b->lprev = b->llast = 0; /* (the next unit's first byte follows nothing) */
    if (rc == SGW_OK && b->lst)
        rc = b64_list_end(b);
    if (rc != SGW_OK)
        return rc;
    if (b->norm)
        return norm_boundary(b->norm);
    return b->out->boundary(b->out->ctx);
}

/* A key whose value is an opaque token the service made and the client
 * hands back: AWS's paging tokens (NextToken, nextToken, PaginationToken,
 * ContinuationToken, NextMarker), Step Functions' taskToken (up to 2,048
 * characters), SQS's ReceiptHandle. Encrypted bytes in base64, often past
 * the 1 KiB that reports other such runs: a request that pages on was
 * UNINSPECTABLE. Under such a key the run may reach 4 KiB. */
static int b64_token_key_slow(const uint8_t *k, size_t n)
{
    static const char *const ends[] = {"token", "marker", "cursor", "receipthandle"};
    char f[16];
    size_t m = 0;
    for (size_t i = n; i > 0 && m < sizeof(f); i--) {
        uint8_t c = k[i - 1];
        if (c == '_' || c == '-' || c == '.')
            continue;
        f[m++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c); /* reversed */
    }
    for (size_t e = 0; e < SGW_ARRAY_LEN(ends); e++) {
        size_t l = strlen(ends[e]), j = 0;
        while (j < l && j < m && f[j] == ends[e][l - 1 - j])
            j++;
        if (j == l)
            return 1;
    }
    return 0;
}

/* (every key comes here: its last two letters first) */
static inline int b64_token_key(const uint8_t *k, size_t n)
{
    if (n < 5)
        return 0;
    unsigned e = ((unsigned)(k[n - 2] | 0x20) << 8) | (k[n - 1] | 0x20);
    if (e != ('e' << 8 | 'n') && e != ('e' << 8 | 'r') && e != ('o' << 8 | 'r') && e != ('l' << 8 | 'e'))
        return 0;
    return b64_token_key_slow(k, n);
}

static int b64_context(void *ctx, const uint8_t *p, size_t n)
{
    struct dec_b64 *b = ctx;
    int rc = b64_flush(b);
    b->token_key = b64_token_key(p, n);
    b->lprev = b->llast = 0;
    if (rc == SGW_OK && b->lst)
        rc = b64_list_end(b);
    if (rc != SGW_OK)
        return rc;
    if (b->norm)
        return norm_context(b->norm, p, n);
    return b->out->context(b->out->ctx, p, n);
}

static int b64_uninspectable(void *ctx, const char *reason, uint32_t flags)
{
    struct dec_b64 *b = ctx;
    int rc = b64_flush(b);
    return rc != SGW_OK ? rc : b->out->uninspectable(b->out->ctx, reason, flags);
}

/* ---- a text unit's end in one hop (struct dec_text_out) ---- */

/* Data then a boundary, for short data (n < 16) with no run held: the run
 * that would be held ends at the boundary, shorter than B64_MIN_RUN, so
 * nothing is decoded and only the bytes >= 0x80 matter (the path of
 * b64_data_short, then b64_boundary, without holding the run). */
static inline __attribute__((always_inline)) int b64_short_end(struct dec_b64 *b, const uint8_t *p,
                                                               size_t n)
{
    b->lprev = b->llast = 0; /* (the unit ends: what follows is glued to nothing) */
    int rc = SGW_OK;
    struct dec_norm *z = b->norm;
    if (!z) {
        if (n)
            rc = b->out->data(b->out->ctx, p, n);
        return rc != SGW_OK ? rc : b->out->boundary(b->out->ctx);
    }
    if (n) {
        if (b64_short_special(p, n) || !norm_idle(z)) {
            rc = norm_data(z, p, n);
        } else if (z->fin_data_end) {
            z->tail_len = 0;
            return z->fin_data_end(z->fin.ctx, p, n); /* nothing held: the unit ends in one call */
        } else {
            rc = z->fin.data(z->fin.ctx, p, n);
        }
        if (rc != SGW_OK)
            return rc;
    }
    return norm_boundary(z);
}

/* A key's context after its boundary: the run and the normalisation's
 * held sequence were both ended by the boundary, so it goes straight on
 * (what b64_context then norm_context do with nothing held). */
static inline int b64_key_context(struct dec_b64 *b, const uint8_t *k, size_t kn)
{
    b->token_key = b64_token_key(k, kn);
    if (b->norm)
        return b->norm->fin.context(b->norm->fin.ctx, k, kn);
    return b->out->context(b->out->ctx, k, kn);
}

/* b64_short_end, then a key's context: in one call at the final sink when
 * it has one and nothing is held (ASCII, no cut UTF-8 sequence). */
static inline __attribute__((always_inline)) int
b64_short_key_end(struct dec_b64 *b, const uint8_t *p, size_t n, const uint8_t *k, size_t kn)
{
    struct dec_norm *z = b->norm;
    if (z && z->fin_key_end && norm_idle(z) && (n == 0 || !b64_short_special(p, n))) {
        z->tail_len = 0;
        b->lprev = b->llast = 0;
        b->token_key = b64_token_key(k, kn);
        return z->fin_key_end(z->fin.ctx, p, n, k, kn);
    }
    int rc = b64_short_end(b, p, n);
    return rc != SGW_OK ? rc : b64_key_context(b, k, kn);
}

/* The combined steps per SIMD level, each with its data stage. */
#define B64_END_FNS(SUFFIX, TARGET, LONG)                                                          \
    TARGET static inline __attribute__((always_inline)) int b64_end_##SUFFIX(                      \
        struct dec_b64 *b, const uint8_t *p, size_t n)                                             \
    {                                                                                              \
        if (b->run == 0 && n < 16 && !b->lst)                                                      \
            return b64_short_end(b, p, n);                                                         \
        b->unit_ends = 1;                                                                          \
        int rc = n ? LONG(b, p, n) : SGW_OK;                                                       \
        b->unit_ends = 0;                                                                          \
        return rc != SGW_OK ? rc : b64_boundary(b);                                                \
    }                                                                                              \
    TARGET static int b64_data_end_##SUFFIX(const struct dec_text_out *o, const uint8_t *p,        \
                                            size_t n)                                              \
    {                                                                                              \
        return b64_end_##SUFFIX(o->ctx, p, n);                                                     \
    }                                                                                              \
    TARGET static int b64_key_end_##SUFFIX(const struct dec_text_out *o, const uint8_t *p,         \
                                           size_t n, const uint8_t *k, size_t kn)                  \
    {                                                                                              \
        struct dec_b64 *b = o->ctx;                                                                \
        if (b->run == 0 && n < 16 && !b->lst)                                                      \
            return b64_short_key_end(b, p, n, k, kn);                                              \
        int rc = b64_end_##SUFFIX(b, p, n);                                                        \
        return rc != SGW_OK ? rc : b64_key_context(b, k, kn);                                      \
    }

B64_END_FNS(scalar, , b64_data_scalar)
#if defined(__x86_64__)
B64_END_FNS(sse2, , b64_data_sse2)
B64_END_FNS(avx2, __attribute__((target("avx2"))), b64_data_avx2_long)
B64_END_FNS(avx512, __attribute__((target(B64_AVX512))), b64_data_avx512_long)
#endif

/* The other sinks: the calls one after another. */
static int out_data_end(const struct dec_text_out *o, const uint8_t *p, size_t n)
{
    int rc = dec_out_data(o, p, n);
    return rc != SGW_OK ? rc : o->boundary(o->ctx);
}

static int out_key_end(const struct dec_text_out *o, const uint8_t *p, size_t n, const uint8_t *k,
                       size_t kn)
{
    int rc = out_data_end(o, p, n);
    return rc != SGW_OK ? rc : o->context(o->ctx, k, kn);
}

void dec_text_out_init(struct dec_text_out *o, const struct cls_sink *text)
{
    o->ctx = text->ctx;
    o->data = text->data;
    o->boundary = text->boundary;
    o->context = text->context;
    o->data_end = out_data_end;
    o->key_end = out_key_end;
    if (text->boundary != b64_boundary)
        return;
        /* the base64 stage's data entry says its level */
#if defined(__x86_64__)
    if (text->data == b64_data_avx512) {
        o->data_end = b64_data_end_avx512;
        o->key_end = b64_key_end_avx512;
    } else if (text->data == b64_data_avx2) {
        o->data_end = b64_data_end_avx2;
        o->key_end = b64_key_end_avx2;
    } else if (text->data == b64_data_sse2) {
        o->data_end = b64_data_end_sse2;
        o->key_end = b64_key_end_sse2;
    } else
#endif
        if (text->data == b64_data_scalar) {
        o->data_end = b64_data_end_scalar;
        o->key_end = b64_key_end_scalar;
    }
}

static void b64_init(struct dec_b64 *b, unsigned depth, const struct cls_sink *out)
{
    /* the buffers need no zeroing: only the fields before them */
    memset(b, 0, offsetof(struct dec_b64, held));
    b->out = out;
    b->norm = out->data == norm_data ? out->ctx : NULL;
    b->depth = depth;
    b->tell = depth == 0 && out->origin && out->where && (!b->norm || b->norm->track);
    b->sink.ctx = b;
    b->sink.data = b64_data_fn();
    b->lfind = dec_list_finder();
    b->sink.boundary = b64_boundary;
    b->sink.context = b64_context;
    b->sink.uninspectable = b64_uninspectable;
}

int dec_b64_new(unsigned depth, const struct cls_sink *out, struct dec_b64 **res)
{
    struct dec_b64 *b = malloc(sizeof(*b));
    if (!b)
        return SGW_ENOMEM;
    b64_init(b, depth, out);
    *res = b;
    return SGW_OK;
}

#define STAGE_ALIGN(x) (((x) + 63u) & ~(size_t)63u)

size_t dec_text_stages_size(void)
{
    return STAGE_ALIGN(sizeof(struct dec_norm)) + sizeof(struct dec_b64);
}

void dec_text_stages_init(void *mem, const struct cls_sink *final, struct dec_b64 **b64,
                          struct dec_norm **norm)
{
    struct dec_norm *z = mem;
    struct dec_b64 *b =
        (struct dec_b64 *)(void *)((uint8_t *)mem + STAGE_ALIGN(sizeof(struct dec_norm)));
    norm_init(z, final);
    z->embedded = 1;
    b64_init(b, 0, &z->sink);
    b->embedded = 1;
    *b64 = b;
    *norm = z;
}

void dec_b64_set_limits(struct dec_b64 *b, const struct cls_decode_limits *lim)
{
    b->lim = lim;
    if (b->norm)
        b->norm->lim = lim; /* (for the copies' base64 stage) */
}

const struct cls_sink *dec_b64_sink(struct dec_b64 *b)
{
    return &b->sink;
}

int dec_b64_finish(struct dec_b64 *b)
{
    int rc = b64_flush(b);
    if (rc == SGW_OK && b->lst)
        rc = b64_list_end(b);
    if (rc == SGW_OK && b->inner)
        rc = dec_b64_finish(b->inner);
    return rc;
}

void dec_b64_free(struct dec_b64 *b)
{
    if (!b)
        return;
    dec_b64_free(b->inner);
    free(b->lists);
    b->lists = NULL;
    if (b->zx) {
        dec_free(b->zx->zip);
        free(b->zx);
    }
    if (!b->embedded)
        free(b);
}

/* ---- base64 in the escapes' copies ----
 * A copy is text the stage before never saw whole: base64 written with
 * percent-encoding or character references (a URL's query, an HTML page's
 * attribute), or cut by invisible characters (esc_zw). A copy that holds a
 * run of B64_MIN_RUN base64 characters goes through a base64 stage of its
 * own, as the unit's text went through the first one. Its original text is
 * with the final sink already and is dropped here; what the stage decodes
 * goes through a second normalisation (no further copies of copies get
 * this pass: the levels are bounded) as a copy of the piece's span. */
struct norm_b64 {
    struct cls_sink drop;     /* the stage's out: the copy's own text is dropped */
    const struct cls_sink *fin;
    struct dec_b64 *b;        /* depth 0, out = drop; its inner goes to n2 */
    struct dec_norm *n2;      /* out = the final sink, always inside a copy */
};

static int drop_data(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx, (void)p, (void)n;
    return SGW_OK;
}

static int drop_boundary(void *ctx)
{
    (void)ctx;
    return SGW_OK;
}

static int drop_context(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx, (void)p, (void)n;
    return SGW_OK;
}

static int drop_uninspectable(void *ctx, const char *reason, uint32_t flags)
{
    const struct norm_b64 *zb = ctx;
    return zb->fin->uninspectable(zb->fin->ctx, reason, flags);
}

static void norm_b64_free(struct norm_b64 *zb)
{
    if (!zb)
        return;
    dec_b64_free(zb->b);
    dec_norm_free(zb->n2);
    free(zb);
}

static int norm_b64_new(struct dec_norm *z)
{
    struct norm_b64 *zb = calloc(1, sizeof(*zb));
    if (!zb)
        return SGW_ENOMEM;
    zb->fin = &z->fin;
    zb->drop.ctx = zb;
    zb->drop.data = drop_data;
    zb->drop.boundary = drop_boundary;
    zb->drop.context = drop_context;
    zb->drop.uninspectable = drop_uninspectable;
    int rc = dec_norm_new(&z->fin, &zb->n2);
    if (rc == SGW_OK)
        rc = dec_b64_new(0, &zb->drop, &zb->b);
    if (rc == SGW_OK)
        rc = dec_b64_new(1, &zb->n2->sink, &zb->b->inner);
    if (rc != SGW_OK) {
        norm_b64_free(zb);
        return rc;
    }
    zb->b->lim = zb->b->inner->lim = z->lim; /* (the chain's, as the first stage's) */
    zb->n2->in_copy = 1; /* (it tells no offsets of its own) */
    z->zb = zb;
    return SGW_OK;
}

/* Does a decoded part of the copies (el[]) lie in copy[rs, re) or join
 * two of its characters (a part of nothing, esc_zw's)? */
static int el_in(const struct dec_norm *z, size_t rs, size_t re)
{
    if (z->el_over || z->esc_over)
        return 1; /* (not known: the pass is made) */
    for (size_t k = 0; k < z->nel; k++) {
        size_t a = z->el[k].at, e = a + z->el[k].dl;
        if (z->el[k].dl ? a < re && e > rs : a > rs && a < re)
            return 1;
    }
    return 0;
}

/* A run of B64_MIN_RUN base64 characters in the copy cp[s, e) that an
 * escape made (one of its decoded parts lies in it): a run the first
 * base64 stage could not see. The end of a base64 block ("…AB==" and a
 * line end: quoted-printable's soft line break) or a run the escapes only
 * border was decoded there already. */
static int esc_run(const struct dec_norm *z, size_t s, size_t e)
{
    size_t run = 0;
    for (size_t i = s; i <= e; i++) {
        if (i < e && b64_class[z->cp[i]] == B64C_CHAR) {
            run++;
            continue;
        }
        if (run >= B64_MIN_RUN && el_in(z, i - run, i))
            return 1;
        run = 0;
    }
    return 0;
}

/* The copy cp[s, e) went out: base64 that escapes made in it is decoded
 * (with `span`, the source span the copy stands for, when offsets are
 * told). */
static int esc_b64(struct dec_norm *z, size_t s, size_t e, const uint64_t *span)
{
    if (!esc_run(z, s, e))
        return SGW_OK;
    const uint8_t *p = z->cp + s;
    size_t n = e - s;
    if (!z->zb) {
        int rc = norm_b64_new(z);
        if (rc != SGW_OK)
            return rc;
    }
    struct norm_b64 *zb = z->zb;
    int rc = span ? z->fin.origin(z->fin.ctx, CLS_ORIG_COPY, span[0], span[1] - span[0]) : SGW_OK;
    zb->n2->dirtied = 0;
    if (rc == SGW_OK)
        rc = zb->b->sink.data(zb->b, p, n);
    if (rc == SGW_OK)
        rc = zb->b->sink.boundary(zb->b);
    return rc;
}

/* ====================================================================== */
/* UTF-16 → UTF-8                                                         */
/* ====================================================================== */

#define OUTBUF 4096u

struct dec_utf16 {
    struct dec base;
    int be;
    int detect; /* a BOM at the start decides the byte order */
    int started;
    int have_byte;
    uint8_t byte;
    uint32_t hi; /* pending high surrogate */
    size_t olen;
    uint8_t out[OUTBUF + 8];
};

static int u16_flush(struct dec_utf16 *u)
{
    size_t n = u->olen;
    u->olen = 0;
    return dec_feed(u->base.next, u->out, n);
}

/* Appends a code point, flushing first when it might not fit. */
static int u16_put(struct dec_utf16 *u, uint32_t cp)
{
    if (u->olen + 4 > OUTBUF) {
        int rc = u16_flush(u);
        if (rc != SGW_OK)
            return rc;
    }
    u->olen += sgw_utf8_encode(u->out + u->olen, cp);
    return SGW_OK;
}

static int u16_unit(struct dec_utf16 *u, uint16_t w)
{
    if (!u->started) {
        u->started = 1;
        if (u->detect && (w == 0xfeff || w == 0xfffe)) {
            if (w == 0xfffe)
                u->be = !u->be;
            return SGW_OK;
        }
    }
    uint32_t cp;
    if (u->hi) {
        if (w >= 0xdc00 && w <= 0xdfff) {
            cp = 0x10000 + ((u->hi - 0xd800) << 10) + (w - 0xdc00u);
            u->hi = 0;
        } else {
            u->hi = 0;
            int rc = u16_put(u, 0xfffd); /* a high surrogate without its pair */
            return rc != SGW_OK ? rc : u16_unit(u, w);
        }
    } else if (w >= 0xd800 && w <= 0xdbff) {
        u->hi = w;
        return SGW_OK;
    } else if (w >= 0xdc00 && w <= 0xdfff) {
        cp = 0xfffd;
    } else {
        cp = w;
    }
    return u16_put(u, cp);
}

static int utf16_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_utf16 *u = (struct dec_utf16 *)d;
    size_t i = 0;
    int rc = SGW_OK;
    if (u->have_byte && n > 0) {
        uint8_t a = u->byte, b = p[0];
        u->have_byte = 0;
        i = 1;
        rc = u16_unit(u, u->be ? (uint16_t)((a << 8) | b) : (uint16_t)((b << 8) | a));
    }
    for (; rc == SGW_OK && i + 1 < n; i += 2) {
        uint8_t a = p[i], b = p[i + 1];
        rc = u16_unit(u, u->be ? (uint16_t)((a << 8) | b) : (uint16_t)((b << 8) | a));
    }
    if (rc != SGW_OK)
        return rc;
    if (i < n) {
        u->byte = p[i];
        u->have_byte = 1;
    }
    return u->olen ? u16_flush(u) : SGW_OK;
}

static int utf16_finish(struct dec *d)
{
    struct dec_utf16 *u = (struct dec_utf16 *)d;
    int rc = u->hi ? u16_put(u, 0xfffd) : SGW_OK;
    u->hi = 0;
    if (rc == SGW_OK && u->olen)
        rc = u16_flush(u);
    if (rc != SGW_OK)
        return rc;
    if (u->have_byte)
        return dec_fail(d, 0, "truncated UTF-16 text");
    return dec_finish(d->next);
}

static const struct dec_ops utf16_ops = {"utf16", utf16_feed, utf16_finish, NULL};

int dec_new_utf16(struct dec_env *env, unsigned nest, int big_endian, int detect, struct dec *inner,
                  struct dec **out)
{
    struct dec_utf16 *u = dec_alloc(sizeof(*u), &utf16_ops, env, nest);
    if (!u) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    u->be = big_endian;
    u->detect = detect;
    u->base.next = inner;
    *out = &u->base;
    return SGW_OK;
}

/* ====================================================================== */
/* application/x-www-form-urlencoded                                      */
/* ====================================================================== */

#define FORM_KEEP 64u /* bytes of a Name field's value kept */

struct dec_form {
    struct dec base;
    int in_value;
    int pct; /* 0: none, 1: '%' seen, 2: '%X' seen */
    uint8_t pct_hi;
    uint8_t kwant;   /* the value is a "P.Name"'s: kept in kname */
    size_t name_len;
    size_t olen;
    size_t kname_len, kpre_len;
    uint8_t name[DEC_CONTEXT_MAX];
    uint8_t kname[FORM_KEEP];
    uint8_t kpre[DEC_CONTEXT_MAX]; /* the P of the last "P.Name" or "P.Key" */
    uint8_t out[OUTBUF + 4];
};

static int form_flush(struct dec_form *f)
{
    size_t n = f->olen;
    f->olen = 0;
    return dec_text_data(f->base.env, f->out, n);
}

/* Field names are data too (a value can hide in a name) and are also kept,
 * bounded, as the context of their value. */
static int form_put(struct dec_form *f, uint8_t c)
{
    if (!f->in_value && f->name_len < sizeof(f->name))
        f->name[f->name_len++] = c;
    else if (f->kwant && f->in_value && f->kname_len < FORM_KEEP)
        f->kname[f->kname_len++] = c;
    f->out[f->olen++] = c;
    if (f->olen >= OUTBUF)
        return form_flush(f);
    return SGW_OK;
}

/* Emits a pending incomplete percent sequence raw. */
static int form_pct_raw(struct dec_form *f)
{
    int rc = SGW_OK;
    if (f->pct >= 1)
        rc = form_put(f, '%');
    if (rc == SGW_OK && f->pct == 2)
        rc = form_put(f, f->pct_hi);
    f->pct = 0;
    return rc;
}

/* End of a field (at '&' or the end). */
static int form_field_end(struct dec_form *f)
{
    int rc = form_pct_raw(f);
    if (rc != SGW_OK)
        return rc;
    rc = form_flush(f);
    /* a field without '=' is a value in disguise: its bytes were scanned */
    if (rc == SGW_OK && (f->in_value || f->name_len > 0))
        rc = dec_text_boundary(f->base.env);
    f->in_value = 0;
    f->name_len = 0;
    f->kwant = 0;
    return rc;
}

/* The context a field's name gives its value. AWS's query protocol (SNS,
 * SQS, STS, IAM, CloudWatch) sends name and value pairs as two fields,
 * "P.Name=ssn&P.Value.StringValue=536221847" (message attributes),
 * "Tags.member.1.Key=owner&Tags.member.1.Value=…": a P.Value field is
 * named by the P.Name or P.Key field before it, not by "Value". */
static void form_context(struct dec_form *f, const uint8_t **k, size_t *kn)
{
    const uint8_t *n = f->name;
    size_t len = f->name_len, dot = len;
    while (dot > 0 && n[dot - 1] != '.')
        dot--;
    size_t last = len - dot; /* the last part, after the last '.' (or all of it) */
    if ((last == 4 && memcmp(n + dot, "Name", 4) == 0) || (last == 3 && memcmp(n + dot, "Key", 3) == 0)) {
        f->kwant = 1;
        f->kname_len = 0;
        f->kpre_len = dot;
        memcpy(f->kpre, n, dot);
    } else if (f->kname_len && len >= f->kpre_len + 5 && memcmp(n, f->kpre, f->kpre_len) == 0 &&
               memcmp(n + f->kpre_len, "Value", 5) == 0) {
        *k = f->kname;
        *kn = f->kname_len;
        return;
    }
    *k = n;
    *kn = len;
}

static int form_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_form *f = (struct dec_form *)d;
    int rc = SGW_OK;
    for (size_t i = 0; i < n && rc == SGW_OK; i++) {
        uint8_t c = p[i];
        if (f->pct) {
            if (sgw_hex_val(c) >= 0) {
                if (f->pct == 1) {
                    f->pct_hi = c;
                    f->pct = 2;
                    continue;
                }
                f->pct = 0;
                rc = form_put(f, (uint8_t)(sgw_hex_val(f->pct_hi) << 4 | sgw_hex_val(c)));
                continue;
            }
            rc = form_pct_raw(f); /* invalid sequence passes raw */
            if (rc != SGW_OK)
                break;
        }
        if (c == '&') {
            rc = form_field_end(f);
        } else if (c == '=' && !f->in_value) {
            rc = form_flush(f);
            if (rc == SGW_OK && f->name_len > 0)
                rc = dec_text_boundary(d->env);
            const uint8_t *k;
            size_t kn;
            form_context(f, &k, &kn);
            if (rc == SGW_OK)
                rc = dec_text_context(d->env, k, kn);
            f->in_value = 1;
        } else if (c == '%') {
            f->pct = 1;
        } else if (c == '+') {
            rc = form_put(f, ' ');
        } else {
            rc = form_put(f, c);
        }
    }
    if (rc == SGW_OK && f->olen)
        rc = form_flush(f);
    return rc;
}

static int form_finish(struct dec *d)
{
    return form_field_end((struct dec_form *)d);
}

static const struct dec_ops form_ops = {"form", form_feed, form_finish, NULL};

int dec_new_form(struct dec_env *env, unsigned nest, struct dec **out)
{
    struct dec_form *f = dec_alloc(sizeof(*f), &form_ops, env, nest);
    if (!f)
        return SGW_ENOMEM;
    *out = &f->base;
    return SGW_OK;
}

/* ====================================================================== */
/* Content-Transfer-Encoding: base64 (multipart parts), strict            */
/* ====================================================================== */

struct dec_b64te {
    struct dec base;
    struct b64q q;
    int pads;
    size_t olen;
    uint8_t out[OUTBUF + 8];
};

/* Pushes what was decoded before an error, then reports it. */
static int b64te_bad(struct dec_b64te *t, size_t at)
{
    struct dec *d = &t->base;
    int rc = dec_feed(d->next, t->out, t->olen);
    t->olen = 0;
    if (rc != SGW_OK)
        return rc;
    return dec_fail(d, 0, "invalid base64 at byte %llu", (unsigned long long)at);
}

static int b64te_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_b64te *t = (struct dec_b64te *)d;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
            continue;
        if (c == '=') {
            if (t->q.n < 2 || ++t->pads > 2)
                return b64te_bad(t, d->fed + i);
            continue;
        }
        if (b64_val(c) < 0 || t->pads)
            return b64te_bad(t, d->fed + i);
        t->olen += b64q_put(&t->q, &c, 1, t->out + t->olen);
        if (t->olen >= OUTBUF) {
            int rc = dec_feed(d->next, t->out, t->olen);
            t->olen = 0;
            if (rc != SGW_OK)
                return rc;
        }
    }
    int rc = dec_feed(d->next, t->out, t->olen);
    t->olen = 0;
    return rc;
}

static int b64te_finish(struct dec *d)
{
    struct dec_b64te *t = (struct dec_b64te *)d;
    if (t->q.n == 1)
        return dec_fail(d, 0, "truncated base64");
    size_t k = b64q_end(&t->q, t->out);
    int rc = dec_feed(d->next, t->out, k);
    return rc != SGW_OK ? rc : dec_finish(d->next);
}

static const struct dec_ops b64te_ops = {"base64", b64te_feed, b64te_finish, NULL};

int dec_new_b64te(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    struct dec_b64te *t = dec_alloc(sizeof(*t), &b64te_ops, env, nest);
    if (!t) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    t->base.next = inner;
    *out = &t->base;
    return SGW_OK;
}

/* ====================================================================== */
/* Content-Transfer-Encoding: quoted-printable                            */
/* ====================================================================== */

struct dec_qp {
    struct dec base;
    int st; /* 0 text, 1 '=' seen, 2 '=X' seen, 3 '=\r' seen */
    uint8_t hi;
    size_t olen;
    uint8_t out[OUTBUF + 4];
};

static int qp_put(struct dec_qp *q, uint8_t c)
{
    q->out[q->olen++] = c;
    if (q->olen >= OUTBUF) {
        int rc = dec_feed(q->base.next, q->out, q->olen);
        q->olen = 0;
        return rc;
    }
    return SGW_OK;
}

/* Bytes that need no decoding, p[0..n), out in runs. */
static int qp_put_run(struct dec_qp *q, const uint8_t *p, size_t n)
{
    while (n) {
        size_t k = OUTBUF - q->olen < n ? OUTBUF - q->olen : n;
        memcpy(q->out + q->olen, p, k);
        q->olen += k;
        p += k;
        n -= k;
        if (q->olen >= OUTBUF) {
            int rc = dec_feed(q->base.next, q->out, q->olen);
            q->olen = 0;
            if (rc != SGW_OK)
                return rc;
        }
    }
    return SGW_OK;
}

static int qp_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_qp *q = (struct dec_qp *)d;
    int rc = SGW_OK;
    for (size_t i = 0; i < n && rc == SGW_OK; i++) {
        uint8_t c = p[i];
        switch (q->st) {
        case 0:
            if (c == '=') {
                q->st = 1;
            } else { /* (up to the next '=' at once: most of a text is plain) */
                const uint8_t *eq = memchr(p + i, '=', n - i);
                size_t e = eq ? (size_t)(eq - p) : n;
                rc = qp_put_run(q, p + i, e - i);
                i = e - 1;
            }
            break;
        case 1:
            if (c == '\n') {
                q->st = 0; /* soft line break */
            } else if (c == '\r') {
                q->st = 3;
            } else if (sgw_hex_val(c) >= 0) {
                q->hi = c;
                q->st = 2;
            } else {
                q->st = 0;
                rc = qp_put(q, '=');
                if (rc == SGW_OK)
                    rc = qp_put(q, c);
            }
            break;
        case 2:
            q->st = 0;
            if (sgw_hex_val(c) >= 0) {
                rc = qp_put(q, (uint8_t)(sgw_hex_val(q->hi) << 4 | sgw_hex_val(c)));
            } else {
                rc = qp_put(q, '=');
                if (rc == SGW_OK)
                    rc = qp_put(q, q->hi);
                if (rc == SGW_OK)
                    rc = qp_put(q, c);
            }
            break;
        default: /* '=\r' */
            q->st = 0;
            if (c != '\n')
                rc = qp_put(q, c);
            break;
        }
    }
    if (rc == SGW_OK && q->olen) {
        rc = dec_feed(d->next, q->out, q->olen);
        q->olen = 0;
    }
    return rc;
}

static int qp_finish(struct dec *d)
{
    struct dec_qp *q = (struct dec_qp *)d;
    int rc = SGW_OK;
    if (q->st == 1 || q->st == 2)
        rc = qp_put(q, '=');
    if (rc == SGW_OK && q->st == 2)
        rc = qp_put(q, q->hi);
    if (rc == SGW_OK && q->olen)
        rc = dec_feed(d->next, q->out, q->olen);
    q->olen = 0;
    return rc != SGW_OK ? rc : dec_finish(d->next);
}

static const struct dec_ops qp_ops = {"quoted-printable", qp_feed, qp_finish, NULL};

int dec_new_qp(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    struct dec_qp *q = dec_alloc(sizeof(*q), &qp_ops, env, nest);
    if (!q) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    q->base.next = inner;
    *out = &q->base;
    return SGW_OK;
}
