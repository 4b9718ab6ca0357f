/* classifiers/scan.c — the streaming scanner: the final cls_sink of the
 * decoder chain. Decoded text arrives in pieces of any size; the scanner
 * keeps a bounded carry (the last CARRY bytes of the current text unit) and
 * at most one open window, so its memory does not depend on the body size.
 *
 * Split invariance: every decision (trigger positions, window extents, cut
 * edges, which patterns run) depends on absolute offsets and content only,
 * never on where a chunk ended, so any split of the input yields the same
 * findings. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifiers/engine.h"
#include "classifiers/internal.h"
#include "common/sgw.h"

#define SLICE 4096          /* data is processed in slices of at most this */
#define CARRY 512           /* bytes of the text unit kept from earlier slices */
#define PRECTX 64           /* context bytes kept before a window */
#define LEFT_TOK 64         /* token extension to the left of a trigger */
#define MAXW 2048           /* longest window; longer runs are cut */
#define CUSTOM_LEFT CLS_CUSTOM_SPAN /* custom regex matches are at most this long */
#define WBUF_CAP (PRECTX + LEFT_TOK + CUSTOM_LEFT + MAXW + 64)
#define LB_SPARSE 16 /* a window's edges are sparse below one per this many bytes (lb_sparse) */
#define LB_SPARSE_MAX (WBUF_CAP / LB_SPARSE + 1)
#define LB_LONG 256         /* ... in a window of at least this many bytes from its first edge */
#define R_DIGIT 6           /* a digit keeps the window open this far (IBAN letter groups) */
#define L_DIGIT 4
#define R_AT 2
#define MAX_LITS 8192       /* prefilter hits per slice */
#define BATCH_EV 128        /* boundaries/contexts held in one batch */
#define BATCH_SMALL (SLICE / 2) /* data calls below this are batched */
#define BPAD 32             /* readable bytes kept on either side of the batch */
#define KEY_MAX 63          /* context (key) bytes kept */
#define MAX_WHITS 128       /* dictionary/custom hits per window */
#define MAX_CANDS 256       /* candidates per window */
#define MAX_EXTRA 32        /* room kept for UNINSPECTABLE findings */
#define ANCH_REACH (CARRY + WBUF_CAP) /* no finding starts this far before the window or carry */
#define ANCH_MAX 16384      /* anchors kept: more than the reach holds (one per byte at most) */

struct lit_hit {
    uint64_t pos;           /* absolute offset of the hit's last byte */
    uint32_t id;
};

struct ctxhit {
    uint64_t start, end;    /* absolute span of a context word */
    uint64_t types;
};

struct whit {
    uint64_t end;           /* absolute end (exclusive) */
    uint32_t id;
};

struct cand {
    size_t ms, me;          /* wbuf offsets */
    const char *type;
    enum cls_category cat;
    uint8_t conf, secret;
    uint16_t rank;          /* overlap resolution: confidence, then priority; 0 = exempt */
    uint32_t flags;
};

/* Where the stream's bytes from pos on come from (cls_sink.origin): the
 * offsets findings report. Kinds (enum cls_origin): AT, byte for byte from
 * src on; SPAN, the byte at pos stands for source [src, src + w), then byte
 * for byte; COPY, the bytes up to the next anchor (a region) stand for
 * [src, src + w); COPY_B64 and COPY_HEX, such a region whose bytes before
 * `dirty` are the decoding of those characters one for one. */
struct anchor {
    uint64_t pos, src, w;
    uint64_t dirty; /* COPY_B64, COPY_HEX: the first byte that is not (else UINT64_MAX) */
    uint8_t kind;   /* AT, SPAN, COPY, COPY_B64 or COPY_HEX */
    uint8_t copy;   /* in a decoded copy (CLS_FF_COPY) */
    uint8_t twice;  /* a region percent-encoded twice (CLS_FF_TWICE) */
    uint8_t seam;   /* in the copy of two units' joined ends (CLS_ORIG_SEAM) */
};

/* A region: its bytes map to its source as a whole (or by its ratio). */
static inline int region_kind(unsigned kind)
{
    return kind == CLS_ORIG_COPY || kind == CLS_ORIG_COPY_B64 || kind == CLS_ORIG_COPY_HEX;
}

/* The first source character of decoded byte k of a ratio region. */
static inline uint64_t ratio_char(const struct anchor *a, uint64_t k)
{
    return a->kind == CLS_ORIG_COPY_HEX ? 2 * k : 4 * (k / 3) + k % 3;
}

/* A finding's span in the stream (the scanner's own offsets, which order
 * and merge findings), parallel to f[] (whose spans are source spans). */
struct sspan {
    uint64_t start, end;
    int pend;    /* ends in the copy being received: f[]'s end is set when it ends */
    uint64_t vh; /* a hash of the matched value (never reported), 0: none; settle_copies */
    int seam;    /* starts in a seam's copy (settle_copies) */
};

struct wfeat {
    uint32_t ndig, nup, flags; /* flags: every enum cls_wflag bit the window has */
};

struct cls_scanner {
    struct cls_worker *w;   /* borrowed; outlives the scanner */
    const struct cls_engine *e;
    hs_stream_t *hs;        /* owned */
    uint64_t off;           /* absolute offset of the next byte */
    uint64_t seg_start;     /* start of the current text unit */
    size_t carry_len;       /* valid bytes in carry[] */
    /* the slice being processed */
    const uint8_t *sp;
    uint64_t soff;
    size_t sn;
    struct lit_hit *lits;   /* owned, grows up to MAX_LITS */
    size_t nlits, ilit, caplits;
    int lit_overflow;
    struct ctxhit *ctxh;    /* owned: context words of the recent past */
    size_t nctx, capctx;
    /* the open window */
    int win;
    uint64_t w_start, w_need, w_ctx;
    int w_cut_left;
    size_t wlen;            /* valid bytes in wbuf[] */
    uint64_t w_anchors;
    size_t n_whits;
    /* the features skip_window computed for the window [pre_a0, pre_end)
       (pre_end 0: none) */
    uint64_t pre_a0, pre_end;
    struct wfeat pre_ft;
    int piece_unit_end;     /* the piece being scanned ends where its unit ends */
    /* the unit memo (struct cls_unit_memo): what the scan of a unit did */
    uint64_t nins;          /* findings offered (insert_finding, add_special) */
    int ctx_used;           /* the context decided something (ctx_types, ctx_in) */
    int memo_probe;         /* scanning a unit the memo does not know: probe context */
    int ctx_dep;            /* a pattern skipped for want of a context word would match */
    int lossy;              /* something was dropped at a limit (hits, candidates) */
    int batch_overflow;     /* the batch's prefilter dropped literal hits */
    size_t rd_before, rd_after; /* readable bytes before the piece and from its start */
    int noskip;             /* tests: open every window (cls_scanner_set_skip) */
    int short_mode;         /* tests: enum short_mode (cls_scanner_set_short) */
    int whits_overflow;
    /* structural context (JSON key) */
    char key[KEY_MAX + 1];
    size_t key_len;
    uint64_t key_types;     /* types the key is a context word of */
    int key_types_ok;
    int key_folded;         /* key[] is in lower case (key_lower) */
    int kv_on;              /* the key names a secret (CLS_KV_*): its value's bytes are kept */
    size_t kv_len;          /* bytes of the unit so far (kv_buf keeps the first CLS_KV_MAX) */
    int kv_spaced;          /* a byte past those was white space or a quote: no token */
    size_t kv_plen;         /* kv_pend: the length of its unit, whose text kv_buf still holds */
    int kv_pend;            /* kv_f waits: the unit may have been a key's own text */
    /* findings */
    struct cls_finding *f;  /* owned */
    uint16_t *frank;        /* owned, parallel to f: the rank of each finding */
    struct sspan *ss;       /* owned, parallel to f: the stream span of each finding */
    struct anchor *anch;    /* owned: origin anchors in stream order, nanch of capanch */
    size_t nanch, capanch;
    int mapped;             /* an origin event came: spans are mapped through anch[] */
    size_t nf, capf;
    uint64_t span_max; /* the longest stream span of a finding so far (insert_finding) */
    int truncated, n_uninsp; /* truncated: no more windows (the finding limit, or stopped) */
    int stopped;             /* the time limit ran out (cls_scanner_stop) */
    uint64_t deadline;       /* monotonic ns when the time limit runs out (0: none) */
    uint64_t clock_left;     /* ... looked at after this many more bytes are scanned */
    size_t n_keys;          /* keys found by their structure (add_key) */
    int excerpts;
    const char *(*path_fn)(void *);
    void *path_arg;
    int finished, failed;
    int lower_ok;
    /* ctx_in's memo for the window (reset with lower_ok): whether any of
       a list of words is anywhere in it or in the key */
    struct {
        const char *const *words;
        int any;
    } ctx_memo[2];
    unsigned ctx_calls;
    /* lb_from's memo for the window: bit k set when lb_at[k] (the first
       offset after an edge of class k) and lb_n[k] (how many offsets of
       the window are) hold */
    unsigned lb_ok;
    size_t lb_at[3], lb_n[3];
    uint16_t lb_pos[3][LB_SPARSE_MAX]; /* the first LB_SPARSE_MAX of those offsets */
    int timing;             /* time confirm/validate into st (benchmarks) */
    struct cls_scan_stats st;
    /* the batch: small text pieces of several units, held so that the
       prefilter runs once over up to SLICE bytes instead of once per piece
       (a JSON body is hundreds of ~100-byte strings). The batch holds bytes
       [off, off + blen); bev[] are the unit boundaries and context changes
       inside it, in order. */
    size_t blen, nbev, bkeys_len;
    uint64_t hs_unit;       /* while the prefilter runs: start of the unit before the batch */
    /* ---- buffers: not cleared at creation; every byte read was written, except
       that the SIMD mask loads read whole 64-byte blocks of wbuf and clear
       the bits past its valid bytes ---- */
    struct cls_cand_buf {
        size_t n;
        struct cand c[MAX_CANDS];
    } cands;
    uint8_t kv_buf[CLS_KV_MAX];     /* the unit after a key that names a secret */
    struct cls_finding kv_f;        /* its finding while kv_pend */
    struct bevent {
        uint64_t pos;       /* absolute offset */
        uint16_t key_off, key_len;
        uint8_t is_ctx;     /* 0: unit boundary, 1: context (key) change */
    } bev[BATCH_EV];
    /* the batch's bytes are bmem[BPAD, BPAD + blen): the short path's
       64-byte loads around a trigger may read up to 32 bytes either side
       of them (their bits are cleared) */
    uint8_t bmem[BPAD + SLICE + BPAD];
    uint8_t bkeys[SLICE];   /* context bytes of bev[] (a full arena flushes) */
    uint8_t carry[CARRY];   /* bytes [off - carry_len, off) of the unit */
    uint8_t wbuf[WBUF_CAP]; /* bytes [w_ctx, off) while a window is open */
    /* the triggers (digits, '@') of the batch or slice being scanned, one
       bit per byte from tbase on (engine trigger_bits) */
    const uint8_t *tbase;
    uint64_t tbits[SLICE / 64];
    uint8_t lower[WBUF_CAP];
    struct whit whits[MAX_WHITS];
};

/* byte classes */
enum {
    C_TOK = 1,   /* may belong to a token (window extends over it) */
    C_DIG = 2,
    C_AT = 4,
    C_WORD = 8,  /* alnum or '_' */
    C_UP = 16,
    C_DOT = 32,
    C_LBN = 64,  /* C_WORD or ".+/-": what packs.c's LBN edge may not follow (lb_class) */
};

static uint8_t cls_tab[256];
/* the short path's punctuation ('(' '+' '-' '.' '/' ':' '='): its feature
   flag, and its count increments (dots in bits 0-7, colons in 8-15,
   colons and dashes in 16-23) */
static uint16_t sw_pf[256];
static uint32_t sw_pc[256];

/* monotonic nanoseconds: the stage timing of benchmarks, the time limit */
uint64_t cls_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static void select_masks(void);

static void build_tables(void)
{
    uint8_t t[256] = {0};
    for (int c = 0; c < 256; c++) {
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (alnum || strchr("._%+-/=@:~!#$*^|&?", c))
            t[c] |= C_TOK;
        if (c >= '0' && c <= '9')
            t[c] |= C_DIG;
        if (alnum || c == '_')
            t[c] |= C_WORD | C_TOK;
        if (c >= 'A' && c <= 'Z')
            t[c] |= C_UP;
    }
    t['@'] |= C_AT;
    t['.'] |= C_DOT;
    for (int c = 0; c < 256; c++)
        if ((t[c] & C_WORD) || c == '.' || c == '+' || c == '/' || c == '-')
            t[c] |= C_LBN;
    t[0] &= (uint8_t)~C_TOK;
    memcpy(cls_tab, t, sizeof(t));
    static const struct {
        uint8_t c;
        uint16_t flag;
        uint32_t cnt;
    } pm[] = {{'(', CLS_WF_PAREN, 0},      {'+', CLS_WF_PLUS, 0},          {'-', CLS_WF_DASH, 1u << 16},
              {'.', CLS_WF_DOT, 1u},        {'/', CLS_WF_SLASH, 0},         {':', CLS_WF_COLON, 1u << 8 | 1u << 16},
              {'=', CLS_WF_EQ, 0}};
    for (size_t k = 0; k < SGW_ARRAY_LEN(pm); k++) {
        sw_pf[pm[k].c] = pm[k].flag;
        sw_pc[pm[k].c] = pm[k].cnt;
    }
    select_masks();
}

/* ---- byte-class bit masks over 64 bytes ----
 * A window's end and its features (digit count, longest digit run,
 * upper-case letters, dots, separators, which punctuation it holds) are
 * computed from 64-bit masks, one bit per byte, instead of a byte loop.
 * end_masks: token bytes, digits, '@'. feat_masks: digits, upper case and
 * the punctuation of enum cls_wflag. Both read exactly 64 bytes; callers
 * clear the bits past the bytes they own. AVX2 when the CPU has it (chosen
 * once in build_tables), else a byte loop over the same tables. */
struct end_masks {
    uint64_t tok, dig, at;
};

enum { FM_AT, FM_DOT, FM_COLON, FM_DASH, FM_PLUS, FM_SLASH, FM_PAREN, FM_SPACE, FM_EQ, FM__N };
static const uint8_t fm_char[FM__N] = {'@', '.', ':', '-', '+', '/', '(', ' ', '='};
static const uint32_t fm_flag[FM__N] = {CLS_WF_AT,    CLS_WF_DOT,   CLS_WF_COLON, CLS_WF_DASH, CLS_WF_PLUS,
                                        CLS_WF_SLASH, CLS_WF_PAREN, CLS_WF_SPACE, CLS_WF_EQ};

struct feat_masks {
    uint64_t dig, up;
    uint64_t ch[FM__N];
};

static void end_masks_scalar(const uint8_t *p, struct end_masks *m)
{
    uint64_t tok = 0, dig = 0, at = 0;
    for (unsigned k = 0; k < 64; k++) {
        uint8_t c = cls_tab[p[k]];
        tok |= (uint64_t)((c & C_TOK) != 0) << k;
        dig |= (uint64_t)((c & C_DIG) != 0) << k;
        at |= (uint64_t)((c & C_AT) != 0) << k;
    }
    m->tok = tok;
    m->dig = dig;
    m->at = at;
}

static inline __attribute__((always_inline)) void feat_masks_scalar_n(const uint8_t *p, struct feat_masks *m,
                                                                      unsigned n)
{
    memset(m, 0, sizeof(*m));
    for (unsigned k = 0; k < n; k++) {
        uint8_t c = cls_tab[p[k]];
        m->dig |= (uint64_t)((c & C_DIG) != 0) << k;
        m->up |= (uint64_t)((c & C_UP) != 0) << k;
        for (unsigned f = 0; f < FM__N; f++)
            m->ch[f] |= (uint64_t)(p[k] == fm_char[f]) << k;
    }
}

static void feat_masks_scalar(const uint8_t *p, struct feat_masks *m)
{
    feat_masks_scalar_n(p, m, 64);
}

/* the first 32 bytes only (the bits above are 0) */
static void feat_masks32_scalar(const uint8_t *p, struct feat_masks *m)
{
    feat_masks_scalar_n(p, m, 32);
}

static void (*end_masks)(const uint8_t *p, struct end_masks *m) = end_masks_scalar;
static void window_features_scalar(const uint8_t *buf, size_t n, struct wfeat *w);
static void (*window_features)(const uint8_t *buf, size_t n, struct wfeat *w) = window_features_scalar;
/* the short path's masks of 64 bytes (see short_window) */
/* A two-byte UTF-8 letter's lead: Latin with diacritics (U+00C0-U+04FF
 * leads C3-D3 also hold Greek and Cyrillic), as in an address's local part
 * (josé@, иван@). */
static inline int u8_letter_lead(uint8_t c)
{
    return c >= 0xc3 && c <= 0xd3;
}

struct sw_masks {
    uint64_t tok, dig, at, up, sp, pm; /* pm: '(' '+' '-' '.' '/' ':' '=' */
    uint64_t u8l, u8c;                 /* two-byte letters' leads (C3-D3), continuation bytes */
};
static void sw_masks_scalar(const uint8_t *q, struct sw_masks *m)
{
    uint64_t tok = 0, dig = 0, at = 0, up = 0, sp = 0, pm = 0, u8l = 0, u8c = 0;
    for (unsigned k = 0; k < 64; k++) {
        uint8_t c = q[k], cl = cls_tab[c];
        tok |= (uint64_t)((cl & C_TOK) != 0) << k;
        dig |= (uint64_t)((cl & C_DIG) != 0) << k;
        at |= (uint64_t)(c == '@') << k;
        up |= (uint64_t)((cl & C_UP) != 0) << k;
        sp |= (uint64_t)(c == ' ') << k;
        pm |= (uint64_t)(sw_pf[c] != 0) << k;
        u8l |= (uint64_t)u8_letter_lead(c) << k;
        u8c |= (uint64_t)(c >= 0x80 && c <= 0xbf) << k;
    }
    m->u8l = u8l;
    m->u8c = u8c;
    m->tok = tok;
    m->dig = dig;
    m->at = at;
    m->up = up;
    m->sp = sp;
    m->pm = pm;
}
static int sw_simd; /* the masks' SIMD (select_masks): 1 AVX2, 2 AVX-512BW */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2,popcnt"))) static void window_features_avx2(const uint8_t *buf, size_t n,
                                                                       struct wfeat *w);

/* token bytes by nibble lookup: tok_lo[low nibble] has bit (high nibble - 2)
   set when that byte is a token byte; only high nibbles 2..7 hold any */
static uint8_t tok_lo[16], tok_hi[16];

__attribute__((target("avx2"))) static inline uint64_t mm_mask64(__m256i a, __m256i b)
{
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(a) | ((uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32);
}

__attribute__((target("avx2"))) static inline __m256i mm_range(__m256i v, char lo, char span)
{
    __m256i d = _mm256_sub_epi8(v, _mm256_set1_epi8(lo));
    return _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(span)), d);
}

__attribute__((target("avx2"))) static void end_masks_avx2(const uint8_t *p, struct end_masks *m)
{
    const __m256i lo_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)tok_lo));
    const __m256i hi_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)tok_hi));
    const __m256i nib = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256(), at = _mm256_set1_epi8('@');
    __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    __m256i t0 = _mm256_and_si256(_mm256_shuffle_epi8(lo_t, _mm256_and_si256(v0, nib)),
                                  _mm256_shuffle_epi8(hi_t, _mm256_and_si256(_mm256_srli_epi16(v0, 4), nib)));
    __m256i t1 = _mm256_and_si256(_mm256_shuffle_epi8(lo_t, _mm256_and_si256(v1, nib)),
                                  _mm256_shuffle_epi8(hi_t, _mm256_and_si256(_mm256_srli_epi16(v1, 4), nib)));
    m->tok = ~mm_mask64(_mm256_cmpeq_epi8(t0, zero), _mm256_cmpeq_epi8(t1, zero));
    m->dig = mm_mask64(mm_range(v0, '0', 9), mm_range(v1, '0', 9));
    m->at = mm_mask64(_mm256_cmpeq_epi8(v0, at), _mm256_cmpeq_epi8(v1, at));
}

__attribute__((target("avx2"))) static void feat_masks32_avx2(const uint8_t *p, struct feat_masks *m)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    m->dig = (uint32_t)_mm256_movemask_epi8(mm_range(v, '0', 9));
    m->up = (uint32_t)_mm256_movemask_epi8(mm_range(v, 'A', 25));
    for (unsigned f = 0; f < FM__N; f++)
        m->ch[f] = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8((char)fm_char[f])));
}

__attribute__((target("avx2"))) static void feat_masks_avx2(const uint8_t *p, struct feat_masks *m)
{
    __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    m->dig = mm_mask64(mm_range(v0, '0', 9), mm_range(v1, '0', 9));
    m->up = mm_mask64(mm_range(v0, 'A', 25), mm_range(v1, 'A', 25));
    for (unsigned f = 0; f < FM__N; f++) {
        __m256i c = _mm256_set1_epi8((char)fm_char[f]);
        m->ch[f] = mm_mask64(_mm256_cmpeq_epi8(v0, c), _mm256_cmpeq_epi8(v1, c));
    }
}

/* the short path's punctuation by nibble lookup, built like tok_lo/tok_hi */
static uint8_t pm_lo[16], pm_hi[16];

__attribute__((target("avx2"))) static inline void sw_masks_avx2(const uint8_t *q, struct sw_masks *m)
{
    const __m256i lo_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)tok_lo));
    const __m256i hi_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)tok_hi));
    const __m256i lo_p = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)pm_lo));
    const __m256i hi_p = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)pm_hi));
    const __m256i nib = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
    const __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)q);
    const __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(q + 32));
    const __m256i l0 = _mm256_and_si256(v0, nib), h0 = _mm256_and_si256(_mm256_srli_epi16(v0, 4), nib);
    const __m256i l1 = _mm256_and_si256(v1, nib), h1 = _mm256_and_si256(_mm256_srli_epi16(v1, 4), nib);
    __m256i t0 = _mm256_and_si256(_mm256_shuffle_epi8(lo_t, l0), _mm256_shuffle_epi8(hi_t, h0));
    __m256i t1 = _mm256_and_si256(_mm256_shuffle_epi8(lo_t, l1), _mm256_shuffle_epi8(hi_t, h1));
    m->tok = ~mm_mask64(_mm256_cmpeq_epi8(t0, zero), _mm256_cmpeq_epi8(t1, zero));
    t0 = _mm256_and_si256(_mm256_shuffle_epi8(lo_p, l0), _mm256_shuffle_epi8(hi_p, h0));
    t1 = _mm256_and_si256(_mm256_shuffle_epi8(lo_p, l1), _mm256_shuffle_epi8(hi_p, h1));
    m->pm = ~mm_mask64(_mm256_cmpeq_epi8(t0, zero), _mm256_cmpeq_epi8(t1, zero));
    m->dig = mm_mask64(mm_range(v0, '0', 9), mm_range(v1, '0', 9));
    m->up = mm_mask64(mm_range(v0, 'A', 25), mm_range(v1, 'A', 25));
    const __m256i at = _mm256_set1_epi8('@'), sp = _mm256_set1_epi8(' ');
    m->at = mm_mask64(_mm256_cmpeq_epi8(v0, at), _mm256_cmpeq_epi8(v1, at));
    m->sp = mm_mask64(_mm256_cmpeq_epi8(v0, sp), _mm256_cmpeq_epi8(v1, sp));
    m->u8l = mm_mask64(mm_range(v0, (char)0xc3, 0x10), mm_range(v1, (char)0xc3, 0x10));
    m->u8c = mm_mask64(mm_range(v0, (char)0x80, 0x3f), mm_range(v1, (char)0x80, 0x3f));
}

/* The same masks from one 64-byte load (AVX-512BW: the tests straight into
 * mask registers, no movemask). */
#define SW_AVX512 "avx512f,avx512bw,avx2,popcnt"

__attribute__((target(SW_AVX512))) static inline uint64_t mm512_range(__m512i v, char lo, char span)
{
    return _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(lo)), _mm512_set1_epi8(span));
}

__attribute__((target(SW_AVX512))) static inline void sw_masks_avx512(const uint8_t *q, struct sw_masks *m)
{
    const __m512i lo_t = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)tok_lo));
    const __m512i hi_t = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)tok_hi));
    const __m512i lo_p = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)pm_lo));
    const __m512i hi_p = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)pm_hi));
    const __m512i nib = _mm512_set1_epi8(0x0f);
    const __m512i v = _mm512_loadu_si512((const void *)q);
    const __m512i l = _mm512_and_si512(v, nib), h = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
    m->tok = _mm512_test_epi8_mask(_mm512_shuffle_epi8(lo_t, l), _mm512_shuffle_epi8(hi_t, h));
    m->pm = _mm512_test_epi8_mask(_mm512_shuffle_epi8(lo_p, l), _mm512_shuffle_epi8(hi_p, h));
    m->dig = mm512_range(v, '0', 9);
    m->up = mm512_range(v, 'A', 25);
    m->at = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('@'));
    m->sp = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' '));
    m->u8l = mm512_range(v, (char)0xc3, 0x10);
    m->u8c = mm512_range(v, (char)0x80, 0x3f);
}

static void select_masks(void)
{
    for (int c = 0; c < 256; c++) {
        if ((cls_tab[c] & C_TOK) && c >= 0x20 && c < 0x80)
            tok_lo[c & 15] |= (uint8_t)(1u << ((c >> 4) - 2));
        if (sw_pf[c] && c >= 0x20 && c < 0x80)
            pm_lo[c & 15] |= (uint8_t)(1u << ((c >> 4) - 2));
    }
    for (int h = 2; h < 8; h++)
        tok_hi[h] = pm_hi[h] = (uint8_t)(1u << (h - 2));
    /* the lookups must agree with the tables for every byte, else stay scalar */
    for (int c = 0; c < 256; c++) {
        int lut = (tok_lo[c & 15] & tok_hi[c >> 4]) != 0;
        if (lut != ((cls_tab[c] & C_TOK) != 0))
            return;
        if (((pm_lo[c & 15] & pm_hi[c >> 4]) != 0) != (sw_pf[c] != 0))
            return;
    }
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        end_masks = end_masks_avx2;
        if (__builtin_cpu_supports("popcnt")) {
            window_features = window_features_avx2;
            sw_simd = 1;
            if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
                sw_simd = 2;
        }
    }
}
#else
static void select_masks(void)
{
}
#endif

static void init_tables(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, build_tables);
}

static inline uint64_t low_bits(size_t k)
{
    return k >= 64 ? ~0ull : ((1ull << k) - 1);
}


/* The features of a window that fits one 64-bit block of masks (digits,
 * capitals, '.', '-', ':', separators, and sx = '.', '-' or '/'): runs by
 * shifted ANDs, counts by popcount. fl holds the presence flags already
 * found. Shared by the generic one-block path and the 32-byte AVX2 one. */
static inline __attribute__((always_inline)) void block_features(uint64_t dg, uint64_t up, uint64_t dot,
                                                                 uint64_t dash, uint64_t colon, uint64_t sep,
                                                                 uint64_t sx, uint32_t fl, struct wfeat *w)
{
    uint64_t r2 = dg & (dg >> 1), r4 = r2 & (r2 >> 2);
    uint64_t u2 = up & (up >> 1), u4 = u2 & (u2 >> 2);
    uint64_t au = up | dg, a2 = au & (au >> 1), a4 = a2 & (a2 >> 2);
    uint64_t dsd2 = (dg << 1) & sx & (dg >> 1);
    fl |= (r4 ? CLS_WF_RUN4 : 0u) | ((r4 & (r2 >> 4)) ? CLS_WF_RUN6 : 0u) | ((r4 & (r4 >> 3)) ? CLS_WF_RUN7 : 0u) |
          ((r4 & (r4 >> 4)) ? CLS_WF_RUN8 : 0u) | (__builtin_popcountll(dot) >= 3 ? CLS_WF_3DOTS : 0u) |
          (__builtin_popcountll(colon | dash) >= 5 ? CLS_WF_SEP5 : 0u) |
          (__builtin_popcountll(colon) >= 2 ? CLS_WF_COLON2 : 0u);
    fl |= (((dg << 1) & up) ? CLS_WF_DU : 0u) | (((up << 1) & dg) ? CLS_WF_UD : 0u) | (u2 ? CLS_WF_UU : 0u) |
          (((dg << 2) & (sep << 1) & dg) ? CLS_WF_DSD : 0u) | (((dg << 2) & (dash << 1) & up) ? CLS_WF_DDU : 0u) |
          ((u2 & (dg >> 2)) ? CLS_WF_UUD : 0u) |
          (__builtin_popcountll((dg << 1) & dot & (dg >> 1)) >= 3 ? CLS_WF_IP3 : 0u) |
          ((u4 & (u2 >> 4)) ? CLS_WF_UP6 : 0u) | ((a4 & (a2 >> 4)) ? CLS_WF_AU6 : 0u) |
          (__builtin_popcountll(dsd2) >= 2 ? CLS_WF_DSD2 : 0u);
    w->ndig = (uint32_t)__builtin_popcountll(dg);
    w->nup = (uint32_t)__builtin_popcountll(up);
    w->flags = fl;
}

/* the features of buf[0, n): buf must be readable up to n rounded up to 64.
 * Instantiated per instruction set (fm is a constant there, inlined; the
 * popcounts become single instructions where the CPU has them). */
static inline __attribute__((always_inline)) void wf_impl(const uint8_t *buf, size_t n, struct wfeat *w,
                                                          void (*fm)(const uint8_t *, struct feat_masks *),
                                                          void (*fm32)(const uint8_t *, struct feat_masks *))
{
    struct feat_masks m;
    if (n <= 64) {
        /* one block (half of one for most windows): every feature from its
           masks, runs by shifted ANDs */
        if (n <= 32)
            fm32(buf, &m);
        else
            fm(buf, &m);
        uint64_t valid = low_bits(n);
        uint64_t dg = m.dig & valid, up = m.up & valid, dash = m.ch[FM_DASH] & valid;
        uint64_t dot = m.ch[FM_DOT] & valid, colon = m.ch[FM_COLON] & valid;
        uint32_t fl = 0;
        for (unsigned f = 0; f < FM__N; f++)
            fl |= fm_flag[f] & (0u - (uint32_t)((m.ch[f] & valid) != 0));
        uint64_t sep = (m.ch[FM_SPACE] & valid) | dot | dash;
        uint64_t sx = dot | dash | (m.ch[FM_SLASH] & valid);
        block_features(dg, up, dot, dash, colon, sep, sx, fl, w);
        return;
    }
    /* longer windows: block by block, with what a shape needs of the block
       before (its last two bits, the run of capitals and of [A-Z0-9] that
       reaches its end) carried over, so that every feature is as exact as
       in one block; the longest digit run likewise */
    uint32_t run = 0, ncolon = 0, ndot = 0, nsep = 0, maxrun = 0, ndig = 0, nup = 0, fl = 0;
    uint32_t nip = 0, ndsd2 = 0;
    uint64_t pdg = 0, pup = 0, psep = 0, pdash = 0, pdot = 0, psx = 0, shp = 0;
    size_t uprun = 0, aurun = 0; /* capitals, [A-Z0-9] up to the end of the block before */
    for (size_t off = 0; off < n; off += 64) {
        fm(buf + off, &m);
        size_t len = n - off < 64 ? n - off : 64;
        uint64_t valid = low_bits(len);
        uint64_t d = m.dig & valid, up = m.up & valid, dot = m.ch[FM_DOT] & valid, dash = m.ch[FM_DASH] & valid;
        uint64_t sep = (m.ch[FM_SPACE] & valid) | dot | dash, sx = dot | dash | (m.ch[FM_SLASH] & valid);
        ndig += (uint32_t)__builtin_popcountll(d);
        nup += (uint32_t)__builtin_popcountll(up);
        ndot += (uint32_t)__builtin_popcountll(dot);
        nsep += (uint32_t)__builtin_popcountll((m.ch[FM_COLON] | m.ch[FM_DASH]) & valid);
        ncolon += (uint32_t)__builtin_popcountll(m.ch[FM_COLON] & valid);
        for (unsigned f = 0; f < FM__N; f++)
            fl |= fm_flag[f] & (0u - (uint32_t)((m.ch[f] & valid) != 0));
        /* the masks shifted up by one and two, the block before's top bits
           shifted in (it was a full block) */
        uint64_t dg1 = d << 1 | pdg >> 63, dg2 = d << 2 | pdg >> 62, up1 = up << 1 | pup >> 63;
        uint64_t up2 = up << 2 | pup >> 62;
        uint64_t sep1 = sep << 1 | psep >> 63, dash1 = dash << 1 | pdash >> 63, dot1 = dot << 1 | pdot >> 63;
        uint64_t sx1 = sx << 1 | psx >> 63;
        shp |= ((dg1 & up) ? CLS_WF_DU : 0u) | ((up1 & d) ? CLS_WF_UD : 0u) | ((up1 & up) ? CLS_WF_UU : 0u) |
               ((dg2 & sep1 & d) ? CLS_WF_DSD : 0u) | ((dg2 & dash1 & up) ? CLS_WF_DDU : 0u) |
               ((up2 & up1 & d) ? CLS_WF_UUD : 0u);
        nip += (uint32_t)__builtin_popcountll(dg2 & dot1 & d);
        ndsd2 += (uint32_t)__builtin_popcountll(dg2 & sx1 & d);
        /* six in a row: inside the block, or the run reaching the block's
           start continued from the block before */
        uint64_t au = up | d;
        uint64_t u2 = up & (up >> 1), u4 = u2 & (u2 >> 2), a2 = au & (au >> 1), a4 = a2 & (a2 >> 2);
        size_t ulead = ~up ? (size_t)__builtin_ctzll(~up) : 64, alead = ~au ? (size_t)__builtin_ctzll(~au) : 64;
        if ((u4 & (u2 >> 4)) || uprun + ulead >= 6)
            shp |= CLS_WF_UP6;
        if ((a4 & (a2 >> 4)) || aurun + alead >= 6)
            shp |= CLS_WF_AU6;
        uprun = ~up ? (size_t)__builtin_clzll(~up) : uprun + 64;
        aurun = ~au ? (size_t)__builtin_clzll(~au) : aurun + 64;
        pdg = d;
        pup = up;
        psep = sep;
        pdash = dash;
        pdot = dot;
        psx = sx;
        size_t pos = 0;
        while (d) {
            size_t st = (size_t)__builtin_ctzll(d);
            if (st > pos)
                run = 0;
            uint64_t x = ~(d >> st);
            size_t l = x ? (size_t)__builtin_ctzll(x) : 64 - st;
            run += (uint32_t)l;
            if (run > maxrun)
                maxrun = run;
            pos = st + l;
            d = pos >= 64 ? 0 : d & (~0ull << pos);
        }
        if (pos < len)
            run = 0;
    }
    fl |= shp | (nip >= 3 ? CLS_WF_IP3 : 0u) | (ndsd2 >= 2 ? CLS_WF_DSD2 : 0u);
    fl |= (ncolon >= 2 ? CLS_WF_COLON2 : 0u) | (ndot >= 3 ? CLS_WF_3DOTS : 0u) | (nsep >= 5 ? CLS_WF_SEP5 : 0u) |
          (maxrun >= 4 ? CLS_WF_RUN4 : 0u) | (maxrun >= 6 ? CLS_WF_RUN6 : 0u) | (maxrun >= 7 ? CLS_WF_RUN7 : 0u) |
          (maxrun >= 8 ? CLS_WF_RUN8 : 0u);
    w->ndig = ndig;
    w->nup = nup;
    w->flags = fl;
}

static void window_features_scalar(const uint8_t *buf, size_t n, struct wfeat *w)
{
    wf_impl(buf, n, w, feat_masks_scalar, feat_masks32_scalar);
}

#if defined(__x86_64__) || defined(__i386__)
/* A window of at most 32 bytes (nearly all of them) in one function: the
 * bytes past n cleared in the register (a 0 byte is in no class), which
 * punctuation occurs from one OR of the compares (flag f in byte bit f:
 * CLS_WF_AT .. CLS_WF_SPACE are bits 0 to 7), masks only for the classes
 * the shapes and counts need. The same features as wf_impl's (the scalar
 * twin, compared by test_scan_simd). */
_Static_assert(CLS_WF_AT == 1u << FM_AT && CLS_WF_DOT == 1u << FM_DOT && CLS_WF_COLON == 1u << FM_COLON &&
                   CLS_WF_DASH == 1u << FM_DASH && CLS_WF_PLUS == 1u << FM_PLUS && CLS_WF_SLASH == 1u << FM_SLASH &&
                   CLS_WF_PAREN == 1u << FM_PAREN && CLS_WF_SPACE == 1u << FM_SPACE,
               "wf32_avx2: punctuation flag f is bit f");
__attribute__((target("avx2,popcnt"))) static void wf32_avx2(const uint8_t *buf, size_t n, struct wfeat *w)
{
    static const int8_t iota[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
    const __m256i in = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)n), _mm256_loadu_si256((const __m256i *)(const void *)iota));
    const __m256i v = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(const void *)buf), in);
    __m256i c[FM__N];
    for (unsigned f = 0; f < FM__N; f++)
        c[f] = _mm256_cmpeq_epi8(v, _mm256_set1_epi8((char)fm_char[f]));
    __m256i pres = _mm256_setzero_si256();
    for (unsigned f = 0; f < 8; f++)
        pres = _mm256_or_si256(pres, _mm256_and_si256(c[f], _mm256_set1_epi8((char)(1u << f))));
    __m128i x = _mm_or_si128(_mm256_castsi256_si128(pres), _mm256_extracti128_si256(pres, 1));
    x = _mm_or_si128(x, _mm_srli_si128(x, 8));
    x = _mm_or_si128(x, _mm_srli_si128(x, 4));
    x = _mm_or_si128(x, _mm_srli_si128(x, 2));
    x = _mm_or_si128(x, _mm_srli_si128(x, 1));
    uint32_t fl = (uint32_t)_mm_cvtsi128_si32(x) & 0xffu;
    fl |= _mm256_movemask_epi8(c[FM_EQ]) ? CLS_WF_EQ : 0u;
    const uint64_t dg = (uint32_t)_mm256_movemask_epi8(mm_range(v, '0', 9));
    const uint64_t up = (uint32_t)_mm256_movemask_epi8(mm_range(v, 'A', 25));
    const uint64_t dot = (uint32_t)_mm256_movemask_epi8(c[FM_DOT]), dash = (uint32_t)_mm256_movemask_epi8(c[FM_DASH]);
    const uint64_t colon = (uint32_t)_mm256_movemask_epi8(c[FM_COLON]);
    const uint64_t sep = (uint32_t)_mm256_movemask_epi8(c[FM_SPACE]) | dot | dash;
    const uint64_t sx = (uint32_t)_mm256_movemask_epi8(c[FM_SLASH]) | dot | dash;
    block_features(dg, up, dot, dash, colon, sep, sx, fl, w);
}

__attribute__((target("avx2,popcnt"))) static void window_features_avx2(const uint8_t *buf, size_t n,
                                                                       struct wfeat *w)
{
    if (n <= 32) {
        wf32_avx2(buf, n, w);
        return;
    }
    wf_impl(buf, n, w, feat_masks_avx2, feat_masks32_avx2);
}
#endif

void cls_scan_window_features(const uint8_t *buf, size_t n, int simd, uint32_t out[3])
{
    init_tables();
    struct wfeat w;
#if defined(__x86_64__) || defined(__i386__)
    if (simd && window_features == window_features_avx2)
        window_features_avx2(buf, n, &w);
    else
#endif
        window_features_scalar(buf, n, &w);
    (void)simd;
    out[0] = w.ndig;
    out[1] = w.nup;
    out[2] = w.flags;
}

/* sc->key in lower case (set_key keeps it as it came), its words apart:
 * '_' and a step from a lower-case to an upper-case letter become spaces,
 * so that context words of several words ("date of birth", "social
 * security") are found in the field names of code and databases
 * (date_of_birth, dateOfBirth, social_security_number). */
static const char *key_lower(struct cls_scanner *sc)
{
    if (!sc->key_folded) {
        char t[KEY_MAX + 1];
        size_t o = 0;
        for (size_t i = 0; i < sc->key_len && o < KEY_MAX; i++) {
            char c = sc->key[i];
            if (c >= 'A' && c <= 'Z' && i && sc->key[i - 1] >= 'a' && sc->key[i - 1] <= 'z' && o + 1 < KEY_MAX)
                t[o++] = ' ';
            t[o++] = c == '_' ? ' ' : c;
        }
        cls_fold_lower((uint8_t *)sc->key, (const uint8_t *)t, o);
        sc->key[o] = '\0';
        sc->key_len = o;
        sc->key_folded = 1;
    }
    return sc->key;
}

/* byte at absolute offset x of the current unit; x in [soff - carry_len, soff + sn) */
static uint8_t byte_at(const struct cls_scanner *sc, uint64_t x)
{
    if (x >= sc->soff)
        return sc->sp[x - sc->soff];
    uint64_t back = sc->soff - x;
    SGW_INVARIANT(back <= sc->carry_len);
    return sc->carry[sc->carry_len - back];
}


/* Does the window's left edge go on over the byte(s) before x (x > lim)?
 * 1: a token byte; 2: a two-byte letter (its lead at x - 2 >= lim); 0: no. */
static inline unsigned left_step(const struct cls_scanner *sc, uint64_t x, uint64_t lim)
{
    uint8_t c = byte_at(sc, x - 1);
    if (cls_tab[c] & C_TOK)
        return 1;
    return c >= 0x80 && c <= 0xbf && x - 1 > lim && u8_letter_lead(byte_at(sc, x - 2)) ? 2 : 0;
}

/* A window's left edge: from a0 back over token bytes and two-byte letters
 * down to lim; *cut when lim stopped it inside a token (not at the unit's
 * start). open_window and skip_window take it alike. */
static uint64_t left_edge(const struct cls_scanner *sc, uint64_t a0, uint64_t lim, int *cut)
{
    unsigned k;
    /* (a0, a fixed reach before the trigger, may split a letter: é@) */
    if (a0 > lim && byte_at(sc, a0) >= 0x80 && byte_at(sc, a0) <= 0xbf && u8_letter_lead(byte_at(sc, a0 - 1)))
        a0--;
    while (a0 > lim && (k = left_step(sc, a0, lim)) != 0)
        a0 -= k;
    if (cut)
        *cut = a0 > sc->seg_start && left_step(sc, a0, sc->seg_start) != 0;
    return a0;
}

/* ---- findings ---- */

/* Masked excerpt: the first and last characters (4 each from 12 on, 2 from
 * 6 on, none below; no last ones for a secret), a '*' for each character
 * between (at most 24); an e-mail shows its first character and its domain
 * (from its '@', or the bracket of an obfuscated one's [at]).
 * Characters, not bytes: a name in another script keeps whole letters.
 * Control bytes and invalid UTF-8 show as '?'. */
static void mask_excerpt(char out[48], const uint8_t *v, size_t n, int secret)
{
    size_t o = 0;
    const size_t cap = 47;
    size_t at = n, nch = 0;
    size_t ob = n; /* an obfuscated address's bracketed "at": bob [at] example [dot] com */
    for (size_t i = 0; i < n; i += cls_utf8_char(v, i, n)) {
        if (v[i] == '@' && at == n)
            at = i;
        if ((v[i] == '[' || v[i] == '(' || v[i] == '{' || v[i] == '<') && ob == n)
            ob = i;
        nch++;
    }
    if (at < n && at > 0 && ob + 1 == at)
        at = ob; /* bob [@] example.com */
    if (at == n && ob < n && !secret && n - ob > 3 &&
        ((v[ob + 1] | 0x20) == 'a' || v[ob + 1] == '@' || v[ob + 1] == ' ' || v[ob + 1] == '\t'))
        at = ob;
    /* puts the character at v[i] whole, or '?' (nothing once full) */
#define PUT_AT(i)                                                                                  \
    do {                                                                                           \
        size_t l_ = cls_utf8_char(v, (i), n);                                                       \
        uint8_t c_ = v[(i)];                                                                       \
        if (l_ > 1 && o + l_ <= cap) {                                                             \
            memcpy(out + o, v + (i), l_);                                                          \
            o += l_;                                                                               \
        } else if (o < cap) {                                                                      \
            out[o++] = (char)(l_ == 1 && c_ >= 0x20 && c_ < 0x7f ? c_ : '?');                      \
        }                                                                                          \
    } while (0)
#define PUT_STAR()                                                                                 \
    do {                                                                                           \
        if (o < cap)                                                                               \
            out[o++] = '*';                                                                        \
    } while (0)
    if (!secret && at < n && at > 0) { /* e-mail: j***@example.com */
        PUT_AT(0);
        for (int k = 0; k < 3; k++)
            PUT_STAR();
        for (size_t i = at; i < n; i += cls_utf8_char(v, i, n))
            PUT_AT(i);
    } else {
        size_t head, tail;
        if (nch >= 12) {
            head = 4;
            tail = secret ? 0 : 4;
        } else if (nch >= 6) {
            head = 2;
            tail = secret ? 0 : 2;
        } else {
            head = tail = 0;
        }
        size_t stars = nch - head - tail;
        if (stars > 24)
            stars = 24;
        size_t i = 0, k = 0;
        for (; k < head; k++, i += cls_utf8_char(v, i, n))
            PUT_AT(i);
        for (size_t s = 0; s < stars; s++)
            PUT_STAR();
        for (; k < nch - tail; k++)
            i += cls_utf8_char(v, i, n);
        for (; i < n; i += cls_utf8_char(v, i, n))
            PUT_AT(i);
    }
#undef PUT_AT
#undef PUT_STAR
    out[o] = '\0';
}

/* Room for one more finding (f[] and its parallel arrays). */
static int grow_findings(struct cls_scanner *sc)
{
    if (sc->nf < sc->capf)
        return SGW_OK;
    size_t nc = sc->capf ? sc->capf * 2 : 16;
    if (nc > CLS_MAX_FINDINGS + MAX_EXTRA)
        nc = CLS_MAX_FINDINGS + MAX_EXTRA;
    if (nc <= sc->capf)
        return SGW_ELIMIT;
    struct cls_finding *f = realloc(sc->f, nc * sizeof(*f));
    if (!f)
        return SGW_ENOMEM;
    sc->f = f;
    uint16_t *p = realloc(sc->frank, nc * sizeof(*p));
    if (!p)
        return SGW_ENOMEM;
    sc->frank = p;
    struct sspan *ss = realloc(sc->ss, nc * sizeof(*ss));
    if (!ss)
        return SGW_ENOMEM;
    sc->ss = ss;
    sc->capf = nc;
    return SGW_OK;
}

/* ---- source offsets (cls_sink.origin) ---- */

/* The last anchor at or before stream offset x, or NULL (no event before
 * x: the stream's offsets are the source's). */
static const struct anchor *anch_at(const struct cls_scanner *sc, uint64_t x)
{
    size_t lo = 0, hi = sc->nanch;
    if (hi == 0 || sc->anch[0].pos > x)
        return NULL;
    if (sc->anch[hi - 1].pos <= x)
        return &sc->anch[hi - 1]; /* (most asks are at the stream's end) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sc->anch[mid].pos <= x)
            lo = mid;
        else
            hi = mid;
    }
    return &sc->anch[lo];
}

/* Source offset where the stream byte x begins (a the anchor at x). In a
 * region (COPY) every byte stands for one source byte or more, in order
 * (decoding only shrinks text): the byte x - a->pos bytes into it begins
 * at least that far into its source. */
static uint64_t src_start(const struct anchor *a, uint64_t x)
{
    if (!a)
        return x;
    uint64_t d = x - a->pos;
    switch (a->kind) {
    case CLS_ORIG_COPY_B64:
    case CLS_ORIG_COPY_HEX:
        if (x < a->dirty) {
            uint64_t c = ratio_char(a, d);
            return a->src + (c < a->w ? c : a->w);
        }
        /* fall through */
    case CLS_ORIG_COPY:
        return a->src + (d < a->w ? d : a->w);
    case CLS_ORIG_SPAN:
        return d == 0 ? a->src : a->src + a->w + d - 1;
    default:
        return a->src + d;
    }
}

/* Source offset where the stream bytes before e end (a the anchor at
 * e - 1; q the end of its region when it is one: e is q - e bytes before
 * it, so at least that far before its source's end). */
static uint64_t src_end(const struct anchor *a, uint64_t e, uint64_t q)
{
    if (!a)
        return e;
    uint64_t d = e - 1 - a->pos;
    switch (a->kind) {
    case CLS_ORIG_COPY_B64:
    case CLS_ORIG_COPY_HEX:
        if (e - 1 < a->dirty) {
            uint64_t c = ratio_char(a, d) + 2;
            return a->src + (c < a->w ? c : a->w);
        }
        /* fall through */
    case CLS_ORIG_COPY:
        return a->src + a->w - (q - e < a->w ? q - e : a->w);
    case CLS_ORIG_SPAN:
        return d == 0 ? a->src + a->w : a->src + a->w + d;
    default:
        return a->src + d + 1;
    }
}

/* Fills f's source span (and copy flag) from its stream span s. A span
 * ending in the region still being received waits for the region's end
 * (s->pend, copy_ends). */
static void map_span(const struct cls_scanner *sc, struct cls_finding *f, struct sspan *s)
{
    f->start = s->start;
    f->end = s->end;
    s->pend = 0;
    if (!sc->mapped)
        return;
    const struct anchor *a = anch_at(sc, s->start);
    if (a && a->copy)
        f->flags |= CLS_FF_COPY;
    s->seam = a && a->seam;
    f->start = src_start(a, s->start);
    if (s->end == s->start) {
        f->end = f->start;
        if (a && a->twice)
            f->flags |= CLS_FF_TWICE;
        return;
    }
    const struct anchor *b = anch_at(sc, s->end - 1);
    for (const struct anchor *x = a ? a : sc->anch; b && x <= b; x++)
        if (x->twice)
            f->flags |= CLS_FF_TWICE;
    if (b && region_kind(b->kind) && (b->kind == CLS_ORIG_COPY || s->end - 1 >= b->dirty) &&
        b + 1 == sc->anch + sc->nanch) {
        s->pend = 1; /* (a ratio region needs not its end where it is pristine) */
        return;
    }
    f->end = src_end(b, s->end, b && b + 1 < sc->anch + sc->nanch ? b[1].pos : s->end);
    if (f->end < f->start)
        f->end = f->start;
}

/* The region of the last anchor ends at stream offset q: the findings that
 * end in it get their ends (they are the last ones by stream offset). */
static void copy_ends(struct cls_scanner *sc, uint64_t q)
{
    if (sc->nanch == 0 || !region_kind(sc->anch[sc->nanch - 1].kind))
        return;
    const struct anchor *b = &sc->anch[sc->nanch - 1];
    for (size_t j = sc->nf; j > 0 && sc->ss[j - 1].start + 4 * MAXW >= b->pos; j--) {
        struct sspan *s = &sc->ss[j - 1];
        if (!s->pend)
            continue;
        struct cls_finding *f = &sc->f[j - 1];
        f->start = src_start(anch_at(sc, s->start), s->start);
        f->end = src_end(b, s->end, q);
        if (f->end < f->start)
            f->end = f->start;
        s->pend = 0;
    }
}

uint64_t cls_scanner_where(void *ctx)
{
    struct cls_scanner *sc = ctx;
    uint64_t x = sc->off + sc->blen;
    const struct anchor *a = anch_at(sc, x);
    if (a && region_kind(a->kind))
        return a->src + a->w;
    return src_start(a, x);
}

/* Room for one more anchor: the anchors no finding to come can need go
 * (findings start in the open window or the carry, ANCH_REACH at most
 * before the bytes scanned so far; the last anchor at or before that
 * limit is kept), then the array grows. */
static int anch_room(struct cls_scanner *sc)
{
    uint64_t low = sc->win && sc->w_ctx < sc->off ? sc->w_ctx : sc->off;
    uint64_t limit = low > ANCH_REACH ? low - ANCH_REACH : 0;
    size_t k = 0;
    while (k + 1 < sc->nanch && sc->anch[k + 1].pos <= limit)
        k++;
    if (sc->nanch == sc->capanch && k == 0 && sc->capanch == ANCH_MAX)
        k = ANCH_MAX / 4; /* (the reach holds fewer: never taken) */
    if (k) {
        memmove(sc->anch, sc->anch + k, (sc->nanch - k) * sizeof(*sc->anch));
        sc->nanch -= k;
    }
    if (sc->nanch < sc->capanch)
        return SGW_OK;
    size_t nc = sc->capanch ? sc->capanch * 2 : 64;
    struct anchor *a = realloc(sc->anch, nc * sizeof(*a));
    if (!a)
        return SGW_ENOMEM;
    sc->anch = a;
    sc->capanch = nc;
    if (nc > sc->st.anchor_cap)
        sc->st.anchor_cap = nc;
    return SGW_OK;
}

int cls_scanner_origin(void *ctx, int kind, uint64_t src, uint64_t w)
{
    struct cls_scanner *sc = ctx;
    if (sc->failed || sc->finished)
        return SGW_ERR;
    struct anchor *last = sc->nanch ? &sc->anch[sc->nanch - 1] : NULL;
    struct anchor a = {
        .pos = sc->off + sc->blen, .src = src, .w = w, .dirty = UINT64_MAX, .kind = (uint8_t)kind};
    switch (kind) {
    case CLS_ORIG_DIRTY:
        if (last && last->dirty == UINT64_MAX)
            last->dirty = a.pos;
        return SGW_OK;
    case CLS_ORIG_SKIP:
        a.kind = CLS_ORIG_AT;
        a.src = cls_scanner_where(sc) + w;
        a.w = 0;
        a.copy = last && last->copy;
        break;
    case CLS_ORIG_SPAN:
        a.src = cls_scanner_where(sc);
        a.copy = last && last->copy;
        break;
    case CLS_ORIG_COPY_TWICE:
        a.kind = CLS_ORIG_COPY;
        a.twice = 1;
        a.copy = 1;
        break;
    case CLS_ORIG_COPY:
    case CLS_ORIG_COPY_B64:
    case CLS_ORIG_COPY_HEX:
        a.copy = 1;
        break;
    case CLS_ORIG_COPY_AT:
        a.kind = CLS_ORIG_AT;
        a.copy = 1;
        break;
    case CLS_ORIG_SEAM:
        a.kind = CLS_ORIG_AT;
        a.copy = 1;
        a.seam = 1;
        break;
    case CLS_ORIG_AT:
        break;
    default:
        return SGW_EINVAL;
    }
    sc->mapped = 1;
    copy_ends(sc, a.pos);
    if (last && last->pos == a.pos) {
        sc->anch[sc->nanch - 1] = a; /* the one before covers no byte */
        return SGW_OK;
    }
    if (sc->nanch == sc->capanch) {
        int rc = anch_room(sc);
        if (rc != SGW_OK) {
            sc->failed = 1;
            return rc;
        }
    }
    sc->anch[sc->nanch++] = a;
    return SGW_OK;
}

static void set_path(const struct cls_scanner *sc, struct cls_finding *f)
{
    const char *p = sc->path_fn ? sc->path_fn(sc->path_arg) : NULL;
    size_t n = p ? strnlen(p, sizeof(f->decoders) - 1) : 0;
    memcpy(f->decoders, p ? p : "", n);
    f->decoders[n] = '\0';
}

/* FNV-1a of a matched value, never 0 (settle_copies compares them: the
 * value itself is not kept). */
static uint64_t value_hash(const uint8_t *v, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 0x100000001b3ull;
    return h | 1;
}

/* Inserts f (sorted by start). Same type and span: kept once. Overlapping
 * built-in findings: the higher rank (confidence, then type priority) wins. */
static int insert_finding(struct cls_scanner *sc, const struct cls_finding *nf, uint16_t prio, uint64_t vh)
{
    size_t j = sc->nf;
    sc->nins++;
    /* the findings are in order of their start: one that starts more than
       the longest span before nf can neither overlap nor equal it (dense
       findings, an address every few bytes, would otherwise each look
       back over all the others of the last 4 * MAXW bytes) */
    const uint64_t reach = sc->span_max < 4 * MAXW ? sc->span_max : 4 * MAXW;
    while (j > 0) {
        struct cls_finding *g = &sc->f[j - 1];
        const struct sspan *gs = &sc->ss[j - 1];
        if (gs->start + reach < nf->start)
            break;
        int overlap = gs->start < nf->end && nf->start < gs->end;
        if (g->type == nf->type && gs->start == nf->start && gs->end == nf->end) {
            if (nf->confidence > g->confidence)
                g->confidence = nf->confidence;
            return SGW_OK;
        }
        if (overlap && prio && sc->frank[j - 1]) {
            if (sc->frank[j - 1] > prio)
                return SGW_OK;
            if (prio > sc->frank[j - 1]) {
                memmove(&sc->f[j - 1], &sc->f[j], (sc->nf - j) * sizeof(*sc->f));
                memmove(&sc->frank[j - 1], &sc->frank[j], (sc->nf - j) * sizeof(*sc->frank));
                memmove(&sc->ss[j - 1], &sc->ss[j], (sc->nf - j) * sizeof(*sc->ss));
                sc->nf--;
            }
        }
        j--;
    }
    if (sc->nf >= CLS_MAX_FINDINGS) {
        sc->truncated = 1;
        return SGW_OK;
    }
    int rc = grow_findings(sc);
    if (rc != SGW_OK)
        return rc;
    size_t pos = sc->nf;
    while (pos > 0 && sc->ss[pos - 1].start > nf->start)
        pos--;
    memmove(&sc->f[pos + 1], &sc->f[pos], (sc->nf - pos) * sizeof(*sc->f));
    memmove(&sc->frank[pos + 1], &sc->frank[pos], (sc->nf - pos) * sizeof(*sc->frank));
    memmove(&sc->ss[pos + 1], &sc->ss[pos], (sc->nf - pos) * sizeof(*sc->ss));
    sc->f[pos] = *nf;
    sc->frank[pos] = prio;
    sc->ss[pos] = (struct sspan){nf->start, nf->end, 0, vh, 0};
    map_span(sc, &sc->f[pos], &sc->ss[pos]);
    sc->nf++;
    if (nf->end - nf->start > sc->span_max)
        sc->span_max = nf->end - nf->start;
    return SGW_OK;
}

static int add_special_cat(struct cls_scanner *sc, const char *type, enum cls_category cat,
                           const char *reason, uint32_t flags)
{
    sc->nins++;
    if (sc->n_uninsp >= MAX_EXTRA - 1)
        return SGW_OK; /* already recorded as uninspectable many times */
    int rc = grow_findings(sc);
    if (rc != SGW_OK)
        return rc;
    struct cls_finding f;
    memset(&f, 0, sizeof(f));
    f.type = type;
    f.category = cat;
    f.start = f.end = sc->off;
    f.confidence = 100;
    f.flags = flags;
    snprintf(f.reason, sizeof(f.reason), "%s", reason ? reason : "");
    set_path(sc, &f);
    sc->f[sc->nf] = f;
    sc->frank[sc->nf] = 0;
    sc->ss[sc->nf] = (struct sspan){sc->off, sc->off, 0, 0, 0};
    map_span(sc, &sc->f[sc->nf], &sc->ss[sc->nf]);
    sc->nf++;
    sc->n_uninsp++;
    return SGW_OK;
}

static int add_special(struct cls_scanner *sc, const char *type, const char *reason, uint32_t flags)
{
    return add_special_cat(sc, type, CLS_CAT_UNINSPECTABLE, reason, flags);
}

/* How far back (scanner offsets) a PEM header's PRIVATE_KEY finding makes
 * the key its body decodes to no second finding: a 16,384-bit RSA key's
 * base64 is ~12 KiB. */
#define KEY_PEM_REACH 16384u

/* A private key a decoder recognised by its structure (CLS_REPORT_KEY);
 * settle_keys drops it at the end when it is a PEM block's. */
static int add_key(struct cls_scanner *sc, const char *reason, uint32_t flags)
{
    if (!(sc->e->packs & CLS_PACK_SECRETS))
        return add_special(sc, "UNINSPECTABLE", reason, flags);
    sc->n_keys++;
    return add_special_cat(sc, "PRIVATE_KEY", CLS_CAT_SECRET, reason, flags);
}

/* One finding a key: a key found by its structure (it has a reason) goes
 * when a PEM header's PRIVATE_KEY finding (no reason) starts at most
 * KEY_PEM_REACH before it: the key is its block's body. At the end, when
 * every window has closed (the header's may still be open when the body's
 * key is reported). */
static void settle_keys(struct cls_scanner *sc)
{
    size_t o = 0;
    for (size_t i = 0; i < sc->nf; i++) {
        const struct cls_finding *k = &sc->f[i];
        int pem = 0;
        if (k->reason[0] && strcmp(k->type, "PRIVATE_KEY") == 0)
            for (size_t j = 0; j < sc->nf && !pem; j++)
                pem = !sc->f[j].reason[0] && strcmp(sc->f[j].type, "PRIVATE_KEY") == 0 &&
                      sc->f[j].start <= k->start && k->start - sc->f[j].start <= KEY_PEM_REACH;
        if (!pem) {
            sc->f[o] = sc->f[i];
            sc->ss[o] = sc->ss[i];
            o++;
        }
    }
    sc->nf = o;
}

/* ---- confirmation inside a window ---- */

static const uint8_t *lower_window(struct cls_scanner *sc)
{
    if (!sc->lower_ok) {
        cls_fold_lower(sc->lower, sc->wbuf, sc->wlen);
        /* (as in keys: "date_of_birth:", "user_ssn=" hold their words) */
        for (uint8_t *u = memchr(sc->lower, '_', sc->wlen); u; u = memchr(u + 1, '_', (size_t)(sc->lower + sc->wlen - u - 1)))
            *u = ' ';
        sc->lower_ok = 1;
    }
    return sc->lower;
}

/* The first w[0..wl) in h[0..n) (wl >= 1), or NULL. The haystacks here are
 * a key or the 64 bytes before a match: memchr for the first byte and a
 * compare beat memmem, which sets up a shift table for every call. */
static const uint8_t *find_word(const uint8_t *h, size_t n, const uint8_t *w, size_t wl)
{
    if (wl == 0)
        return h;
    while (n >= wl) {
        const uint8_t *c = memchr(h, w[0], n - wl + 1);
        if (!c)
            return NULL;
        if (memcmp(c + 1, w + 1, wl - 1) == 0)
            return c;
        n -= (size_t)(c - h) + 1;
        h = c + 1;
    }
    return NULL;
}

/* Four digits in a row in lower[a, b)? */
static int year_in(const uint8_t *lower, size_t a, size_t b)
{
    size_t run = 0;
    for (size_t i = a; i < b; i++) {
        if (lower[i] >= '0' && lower[i] <= '9') {
            run++;
        } else {
            if (run == 4)
                return 1;
            run = 0;
        }
    }
    return run == 4;
}

/* Is one of words anywhere in the window lower[0..wlen) or in the key (a
 * superset of ctx_in's answer over any part of the window)? */
static int ctx_anywhere(struct cls_scanner *sc, const uint8_t *lower, const char *const *words)
{
    for (size_t k = 0; words[k]; k++) {
        const uint8_t *wd = (const uint8_t *)words[k];
        size_t wl = strlen(words[k]);
        if ((sc->key_len >= wl && find_word((const uint8_t *)key_lower(sc), sc->key_len, wd, wl)) ||
            find_word(lower, sc->wlen, wd, wl))
            return 1;
    }
    return 0;
}

/* Is one of words in lower[from, to) (word-start aligned) or in the key?
 * near (CLS_PF_CTXNEAR): with no year between the word and `to`. */
static int ctx_in(struct cls_scanner *sc, const uint8_t *lower, size_t from, size_t to,
                  const char *const *words, int near)
{
    sc->ctx_used = 1;
    if (!words)
        return 0;
    /* a window with many matches (a page of addresses or numbers) asks
       for each: after the first few, once whether the words are in it at
       all, so that each match need not search its 64 bytes for each word */
    if (++sc->ctx_calls > 3) {
        int m = sc->ctx_memo[0].words == words ? 0 : sc->ctx_memo[1].words == words ? 1 : -1;
        if (m < 0) {
            m = sc->ctx_memo[0].words != NULL;
            sc->ctx_memo[m].words = words;
            sc->ctx_memo[m].any = ctx_anywhere(sc, lower, words);
        }
        if (!sc->ctx_memo[m].any)
            return 0;
    }
    for (size_t k = 0; words[k]; k++) {
        const uint8_t *wd = (const uint8_t *)words[k];
        size_t wl = strlen(words[k]);
        if (sc->key_len >= wl && find_word((const uint8_t *)key_lower(sc), sc->key_len, wd, wl))
            return 1;
        if (to - from < wl)
            continue;
        const uint8_t *p = lower + from;
        size_t left = to - from;
        while (left >= wl) {
            const uint8_t *h = find_word(p, left, wd, wl);
            if (!h)
                break;
            size_t at = (size_t)(h - lower);
            int start_ok = at == 0 || !(cls_tab[lower[at - 1]] & C_WORD); /* (a word cut by from is none) */
            size_t after = at + wl;
            int end_ok = wl >= 5 || after >= sc->wlen || !((lower[after] >= 'a' && lower[after] <= 'z'));
            if (start_ok && end_ok && !(near && year_in(lower, after, to)))
                return 1;
            left -= (size_t)(h - p) + 1;
            p = h + 1;
        }
    }
    return 0;
}

static void add_cand(struct cls_scanner *sc, size_t ms, size_t me, const char *type, enum cls_category cat,
                     uint8_t conf, uint8_t prio, int secret)
{
    if (sc->cands.n >= MAX_CANDS) {
        sc->truncated = 1;
        sc->lossy = 1;
        return;
    }
    struct cand *c = &sc->cands.c[sc->cands.n++];
    c->ms = ms;
    c->me = me;
    c->type = type;
    c->cat = cat;
    c->conf = conf;
    c->rank = prio ? (uint16_t)(conf << 7 | prio) : 0;
    c->secret = (uint8_t)secret;
    c->flags = cls_is_example((const char *)sc->wbuf + ms, me - ms) ? CLS_FF_EXAMPLE : 0;
    sc->st.candidates++;
}

/* Runs one compiled regex over the window; validated matches become
 * candidates. Returns SGW_OK or SGW_ERR on a matcher failure. */
/* CLS_PF_TRUNK0: can a match begin in w[ws, we)? Most windows with nine
 * digits have no trunk '0' (dates, amounts, card numbers): a byte loop
 * there spares the regex run. */
static int trunk0_in(const uint8_t *w, size_t ws, size_t we)
{
    for (size_t i = ws; i + 1 < we; i++) {
        if (w[i] == '0' && w[i + 1] >= '1' && w[i + 1] <= '9' && !(i && w[i - 1] >= '0' && w[i - 1] <= '9'))
            return 1;
        if (w[i] == '(' && w[i + 1] == '0')
            return 1;
    }
    return 0;
}

/* The cls_tab bit of left edge lb's class: no match of a pattern with
 * that edge starts after a byte that has it. */
static inline uint8_t lb_class(uint8_t lb)
{
    return lb == CLS_LB_NUMTOK ? C_LBN : C_WORD;
}

#if defined(__x86_64__) || defined(__i386__)
/* Bit k set when p[k] has class cl (C_WORD: [A-Za-z0-9_]; C_LBN: also
 * ".+/-"), for the 32 bytes at p: lb_class by compares, 32 bytes a step. */
__attribute__((target("avx2"))) static uint32_t lb_in32_avx2(const uint8_t *p, uint8_t cl)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    const __m256i d = _mm256_sub_epi8(v, _mm256_set1_epi8('0'));
    const __m256i l = _mm256_sub_epi8(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), _mm256_set1_epi8('a'));
    __m256i in = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(9)), d),
                                 _mm256_cmpeq_epi8(_mm256_min_epu8(l, _mm256_set1_epi8(25)), l));
    in = _mm256_or_si256(in, _mm256_cmpeq_epi8(v, _mm256_set1_epi8('_')));
    if (cl == C_LBN)
        in = _mm256_or_si256(
            _mm256_or_si256(in, _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('.')),
                                                _mm256_cmpeq_epi8(v, _mm256_set1_epi8('+')))),
            _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('/')),
                            _mm256_cmpeq_epi8(v, _mm256_set1_epi8('-'))));
    return (uint32_t)_mm256_movemask_epi8(in);
}
#endif

/* The first offset in [ws, we) of the window where a match of a pattern
 * that begins with left edge lb (CLS_LB_*) could start, or we when none. A
 * window inside one long token (a random key, 2 KiB of hex) holds none,
 * and each such pattern's regex would otherwise try every byte. With the
 * number of such offsets in the window: remembered per window and edge. */
static size_t lb_from(struct cls_scanner *sc, uint8_t lb, size_t ws, size_t we)
{
    if (lb == CLS_LB_NONE || ws == 0 || sc->noskip)
        return ws;
    if (!(sc->lb_ok & (1u << lb))) {
        const uint8_t *w = sc->wbuf;
        const uint8_t cl = lb_class(lb);
        size_t i = ws, n = 0;
        while (i < we && (cls_tab[w[i - 1]] & cl))
            i++;
        sc->lb_at[lb] = i;
        /* only a long window may be run at its edges (lb_sparse): their
           offsets, until there are too many for that, or as many in its
           first LB_LONG bytes (prose: a few dozen bytes looked at) */
        const size_t first = i, len = we - i;
        while (len >= LB_LONG && i < we) {
            /* the offsets in [i, i + 32) whose byte before is no class
               byte: 32 a step (the bytes before we are all in wbuf) */
            size_t span = we - i < 32 ? we - i : 32;
            uint32_t edge = 0;
#if defined(__x86_64__) || defined(__i386__)
            if (sw_simd && span == 32)
                edge = ~lb_in32_avx2(w + i - 1, cl);
            else
#endif
                for (size_t k = 0; k < span; k++)
                    edge |= (uint32_t)!(cls_tab[w[i - 1 + k]] & cl) << k;
            for (; edge; edge &= edge - 1) {
                const size_t at = i + (size_t)__builtin_ctz(edge);
                if (n < LB_SPARSE_MAX)
                    sc->lb_pos[lb][n] = (uint16_t)at;
                if (++n * LB_SPARSE >= len || (n >= LB_LONG / LB_SPARSE && at - first < LB_LONG)) {
                    n = len; /* dense: run as the search from the first edge */
                    break;
                }
            }
            if (n == len)
                break;
            i += span;
        }
        sc->lb_n[lb] = n;
        sc->lb_ok |= 1u << lb;
    }
    return sc->lb_at[lb];
}

/* Run a pattern with left edge lb only at the offsets where a match could
 * start (its anchored code), instead of letting its regex try every byte
 * from `from` on? When they are few in a long window: the inside of a
 * base64 image or document (an edge at each '+' and '/'), a long key. */
static inline int lb_sparse(const struct cls_scanner *sc, uint8_t lb, size_t from, size_t we)
{
    return lb != CLS_LB_NONE && (sc->lb_ok & (1u << lb)) && we - from >= LB_LONG &&
           sc->lb_n[lb] * LB_SPARSE < we - from;
}

static int run_regex(struct cls_scanner *sc, const pcre2_code *code, const pcre2_code *code_at,
                     const uint16_t *starts, size_t nstarts, cls_validator_fn validate,
                     uint32_t pflags, size_t ws, size_t we, size_t from, int cut_left,
                     int cut_right, int unit_end, const char *type, enum cls_category cat,
                     uint8_t conf, uint8_t conf_ctx, uint8_t prio, const char *const *ctx_words,
                     int secret)
{
    pcre2_match_data *md = (pcre2_match_data *)sc->w->md;
    size_t off = from, k = 0; /* (no match starts in [ws, from)) */
    while (off < we) {
        /* code_at: tried only at starts[] (where a match could start, in
           order), each time the match the search from off would find
           first, or none there */
        if (code_at) {
            while (k < nstarts && starts[k] < off)
                k++;
            if (k == nstarts)
                break;
            off = starts[k];
        }
        sc->st.regex_runs++;
        uint64_t t0 = sc->timing ? cls_clock_ns() : 0;
        int rc = pcre2_jit_match(code_at ? code_at : code, sc->wbuf, we, off, 0, md, NULL);
        if (sc->timing)
            sc->st.confirm_ns += cls_clock_ns() - t0;
        if (rc == PCRE2_ERROR_NOMATCH && code_at) {
            off++;
            continue;
        }
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0)
            return SGW_ERR;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        size_t vs = ms, ve = me;
        if ((pflags & CLS_PF_VALUE) && rc >= 2 && ov[2] != PCRE2_UNSET) {
            vs = ov[2];
            ve = ov[3];
        }
        if (me <= ms || ms < ws) {
            off = (ms < ws ? ws : ms) + 1;
            continue;
        }
        if ((cut_left && ms == ws) || (cut_right && me == we) ||
            ((pflags & CLS_PF_UNITEND) && !(unit_end && me == we))) {
            off = ms + 1;
            continue;
        }
        uint64_t t1 = sc->timing && validate ? cls_clock_ns() : 0;
        int ok = validate ? validate((const char *)sc->wbuf + vs, ve - vs) : 1;
        if (!ok && (pflags & CLS_PF_TRIM) && vs == ms && ve == me) {
            for (size_t e2 = me - 1; e2 > ms + 1; e2--) {
                uint8_t c = sc->wbuf[e2];
                if ((c == ' ' || c == '-') && (cls_tab[sc->wbuf[e2 - 1]] & C_WORD) &&
                    (ok = validate((const char *)sc->wbuf + ms, e2 - ms)) != 0) {
                    me = ve = e2;
                    break;
                }
            }
        }
        if (t1)
            sc->st.validate_ns += cls_clock_ns() - t1;
        if (!ok) {
            off = ms + 1;
            continue;
        }
        sc->st.validated++;
        uint8_t c = conf;
        /* (a validator can ask for a context word for this value's shape;
           a custom regex has none to offer: valid) */
        int needctx = (pflags & CLS_PF_NEEDCTX) || (ok == CLS_V_NEEDCTX && ctx_words);
        if (ctx_words) {
            const uint8_t *lower = lower_window(sc);
            size_t cfrom = vs > PRECTX ? vs - PRECTX : 0;
            if (ctx_in(sc, lower, cfrom, vs, ctx_words, (pflags & CLS_PF_CTXNEAR) != 0))
                c = conf_ctx;
            else if (needctx)
                c = 0;
        } else if (needctx) {
            c = 0;
        }
        if (c > 0)
            add_cand(sc, vs, ve, type, cat, c, prio, secret);
        off = me;
    }
    return SGW_OK;
}

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    return x->me < y->me ? -1 : (x->me > y->me);
}

static int emit_cands(struct cls_scanner *sc)
{
    size_t n = sc->cands.n;
    struct cand *c = sc->cands.c;
    if (n > 1)
        qsort(c, n, sizeof(*c), cmp_cand);
    for (size_t i = 0; i < n; i++) {
        int drop = 0;
        for (size_t j = 0; j < n && !drop; j++) {
            if (j == i || !c[i].rank || !c[j].rank)
                continue;
            if (c[j].ms < c[i].me && c[i].ms < c[j].me && c[j].rank > c[i].rank)
                drop = 1;
        }
        if (drop)
            continue;
        struct cls_finding f;
        memset(&f, 0, sizeof(f));
        f.type = c[i].type;
        f.category = c[i].cat;
        f.start = sc->w_ctx + c[i].ms;
        f.end = sc->w_ctx + c[i].me;
        f.confidence = c[i].conf;
        f.flags = c[i].flags;
        set_path(sc, &f);
        if (sc->excerpts)
            mask_excerpt(f.excerpt, sc->wbuf + c[i].ms, c[i].me - c[i].ms, c[i].secret);
        int rc = insert_finding(sc, &f, c[i].rank, value_hash(sc->wbuf + c[i].ms, c[i].me - c[i].ms));
        if (rc != SGW_OK)
            return rc;
    }
    sc->cands.n = 0;
    return SGW_OK;
}

static int fp_cmp(const void *k, const void *h)
{
    return memcmp(k, h, 32);
}

/* Fingerprints: the window's tokens in the normal form shared with
 * `sovgw policy fingerprint` (classifiers/fingerprint.c), HMAC-SHA256 with
 * each set's key, looked up in its sorted hashes. */
static void run_fingerprints(struct cls_scanner *sc, size_t ws, size_t we, int cut_left, int cut_right)
{
    const struct cls_engine *e = sc->e;
    size_t i = ws;
    while (i < we) {
        while (i < we && !cls_fingerprint_char(sc->wbuf[i]))
            i++;
        size_t s = i;
        while (i < we && cls_fingerprint_char(sc->wbuf[i]))
            i++;
        size_t t = i;
        if ((cut_left && s == ws) || (cut_right && t == we))
            continue;
        uint8_t norm[CLS_FP_MAX_TOKEN];
        size_t off = 0;
        size_t n = cls_fingerprint_normalise(sc->wbuf + s, t - s, norm, &off);
        if (n == 0)
            continue;
        for (size_t f = 0; f < e->n_fps; f++) {
            const struct cls_fpset *fs = &e->fps[f];
            uint8_t mac[32];
            if (!fs->n || cls_fingerprint_hash(fs->key, norm, n, mac) != SGW_OK)
                continue;
            if (bsearch(mac, fs->hashes, fs->n, 32, fp_cmp))
                add_cand(sc, s + off, s + off + n, fs->name, CLS_CAT_CUSTOM, 95, 0, 0);
        }
    }
}

/* Which types the current key is a context word of (the prefilter's
 * context words), cached per worker: keys repeat from body to body. */
static uint64_t key_types(struct cls_scanner *sc)
{
    const struct cls_engine *e = sc->e;
    struct cls_key_cache *slot = NULL;
    key_lower(sc);
    if (sc->key_len < sizeof(slot->key)) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < sc->key_len; i++)
            h = (h ^ (uint8_t)sc->key[i]) * 16777619u;
        slot = &sc->w->kc[h % SGW_ARRAY_LEN(sc->w->kc)];
        if (slot->len == sc->key_len && memcmp(slot->key, sc->key, sc->key_len) == 0)
            return slot->types;
    }
    uint64_t t = 0;
    for (size_t id = 0; id < e->n_ids; id++) {
        const struct cls_hs_id *h = &e->ids[id];
        if (h->kind == CLS_HIT_CTX && h->len <= sc->key_len && memmem(sc->key, sc->key_len, e->ctx_words[id], h->len))
            t |= h->types;
    }
    if (slot) {
        slot->len = (uint8_t)sc->key_len;
        memcpy(slot->key, sc->key, sc->key_len);
        slot->types = t;
    }
    return t;
}

/* Types with a context word inside the window (from the prefilter's context
 * literals; a superset, ctx_in() decides per match) or in the JSON key. */
static uint64_t ctx_types(struct cls_scanner *sc, uint64_t from, uint64_t end)
{
    uint64_t m = 0;
    sc->ctx_used = 1;
    uint64_t t0 = sc->timing ? cls_clock_ns() : 0;
    for (size_t k = 0; k < sc->nctx; k++)
        if (sc->ctxh[k].start >= from && sc->ctxh[k].end <= end)
            m |= sc->ctxh[k].types;
    if (sc->timing) {
        sc->st.context_ns += cls_clock_ns() - t0;
        sc->st.context_scans++;
    }
    if (sc->key_len) {
        if (!sc->key_types_ok) {
            sc->key_types = key_types(sc);
            sc->key_types_ok = 1;
        }
        m |= sc->key_types;
    }
    return m;
}

/* The built-in patterns whose gates a window with features ft and anchor
 * bits anch passes, all at once (intersections of precomputed sets);
 * returns nonzero when there is one. */
static inline __attribute__((always_inline)) uint64_t gate_set(const struct cls_gates *gs, const struct wfeat *ft,
                                                               uint64_t anch, struct cls_pset *run)
{
    const uint32_t ndig = ft->ndig, nup = ft->nup, wfl = ft->flags;
    const struct cls_pset *gd = &gs->digits[ndig < CLS_GATE_DIGITS ? ndig : CLS_GATE_DIGITS - 1];
    const struct cls_pset *gu = &gs->upper[nup < CLS_GATE_UPPER ? nup : CLS_GATE_UPPER - 1];
    const uint32_t b0 = wfl & 0xff, b1 = (wfl >> 8) & 0xff, b2 = (wfl >> 16) & 0xff, b3 = wfl >> 24;
    uint64_t any_set = 0;
    for (size_t k = 0; k < SGW_ARRAY_LEN(run->w); k++) {
        uint64_t an = gs->unanchored.w[k];
        for (uint64_t a = anch; a; a &= a - 1)
            an |= gs->anchor[__builtin_ctzll(a)].w[k];
        uint64_t any = gs->any[0][b0].w[k] | gs->any[1][b1].w[k] | gs->any[2][b2].w[k] | gs->any[3][b3].w[k];
        run->w[k] = gd->w[k] & gu->w[k] & an & any & gs->need[0][b0].w[k] & gs->need[1][b1].w[k] &
                    gs->need[2][b2].w[k] & gs->need[3][b3].w[k];
        any_set |= run->w[k];
    }
    return any_set;
}

/* cut_right: the window was cut at MAXW; unit_end: it ended with its unit */
static int confirm_window(struct cls_scanner *sc, uint64_t end, int cut_right, int unit_end)
{
    const struct cls_engine *e = sc->e;
    size_t ws = (size_t)(sc->w_start - sc->w_ctx);
    size_t we = sc->wlen;
    SGW_INVARIANT(end - sc->w_ctx == we && ws <= we);
    sc->st.windows++;
    sc->st.window_bytes += we - ws;
    if (sc->truncated)
        return SGW_OK; /* the finding cap is reached: nothing more is recorded */
    sc->lower_ok = 0;
    sc->ctx_memo[0].words = sc->ctx_memo[1].words = NULL;
    sc->ctx_calls = 0;
    sc->lb_ok = 0;
    sc->cands.n = 0;
    int cut_left = sc->w_cut_left;
    int rc;
    struct wfeat ft;
    if (sc->pre_end == end && sc->pre_a0 == sc->w_start)
        ft = sc->pre_ft; /* skip_window computed them over the same bytes */
    else
        window_features(sc->wbuf + ws, we - ws, &ft);
    const uint64_t anch = sc->w_anchors;
    uint64_t ctxm = 0;
    int ctxm_ok = 0;
    /* the patterns whose gates pass, all at once */
    struct cls_pset run;
    gate_set(&e->gates, &ft, anch, &run);
    for (size_t i = 0; i < e->n_pats; i++) {
        uint64_t rest = run.w[i / 64] >> (i % 64);
        if (!rest) {
            i = (i / 64 + 1) * 64 - 1; /* nothing more in this word */
            continue;
        }
        i += (size_t)__builtin_ctzll(rest);
        const struct cls_cpattern *g = &e->pats[i];
        const struct cls_pattern_def *d = g->def;
        const struct cls_type_def *t = &cls_types[d->type];
        if (g->needctx) {
            if (!ctxm_ok) {
                int used = sc->ctx_used;
                ctxm = ctx_types(sc, sc->w_ctx, end);
                sc->ctx_used = used; /* (set below where it decides) */
                ctxm_ok = 1;
            }
            if (!((ctxm >> g->type) & 1)) {
                if (sc->memo_probe && !sc->ctx_dep) {
                    /* for the unit memo: would a context word make it a
                       candidate? (its candidates are dropped again) */
                    size_t before = sc->cands.n;
                    if (before >= MAX_CANDS - 1) {
                        sc->ctx_dep = 1;
                        continue;
                    }
                    rc = run_regex(sc, (const pcre2_code *)e->pats[i].code, NULL, NULL, 0,
                                   d->validate, d->pflags, ws, we, lb_from(sc, g->lb, ws, we),
                                   cut_left, cut_right, unit_end, t->name, t->category, d->conf,
                                   d->conf_ctx, d->prio, t->ctx_words,
                                   t->category == CLS_CAT_SECRET);
                    if (rc != SGW_OK)
                        return rc;
                    if (sc->cands.n != before) {
                        sc->ctx_dep = 1;
                        sc->cands.n = before;
                    }
                }
                continue;
            }
            sc->ctx_used = 1;
        }
        if ((d->pflags & CLS_PF_TRUNK0) && !trunk0_in(sc->wbuf, ws, we))
            continue;
        const size_t from = lb_from(sc, g->lb, ws, we);
        if (from >= we)
            continue; /* no byte where one of its matches could start */
        const int sparse = lb_sparse(sc, g->lb, from, we);
        rc = run_regex(sc, (const pcre2_code *)g->code,
                       sparse ? (const pcre2_code *)g->code_at : NULL, sc->lb_pos[g->lb],
                       sparse ? sc->lb_n[g->lb] : 0, d->validate, d->pflags, ws, we, from, cut_left,
                       cut_right, unit_end, t->name, t->category, d->conf, d->conf_ctx, d->prio,
                       t->ctx_words, t->category == CLS_CAT_SECRET);
        if (rc != SGW_OK)
            return rc;
    }
    /* dictionary terms: whole words inside the unit */
    for (size_t k = 0; k < sc->n_whits; k++) {
        const struct cls_hs_id *h = &e->ids[sc->whits[k].id];
        if (h->kind != CLS_HIT_DICT)
            continue;
        uint64_t lend = sc->whits[k].end; /* the end of its literal word */
        if (lend - h->len < sc->w_ctx || lend > end)
            continue;
        /* the words before and after it, whitespace runs between them */
        const char *term = e->terms[sc->whits[k].id];
        size_t ls = (size_t)(lend - h->len - sc->w_ctx);
        size_t ms = cls_dict_start(term, h->woff, sc->wbuf, ls);
        size_t me = cls_dict_end(term + h->woff + h->len, strlen(term + h->woff + h->len), sc->wbuf,
                                 ls + h->len, (size_t)(end - sc->w_ctx));
        if (ms == SIZE_MAX || me == SIZE_MAX || sc->w_ctx + ms < sc->seg_start)
            continue;
        uint64_t tstart = sc->w_ctx + ms;
        if (tstart > sc->seg_start && (ms == 0 || (cls_tab[sc->wbuf[ms - 1]] & C_WORD)))
            continue;
        if (me < we && (cls_tab[sc->wbuf[me]] & C_WORD))
            continue;
        if (me == we && cut_right)
            continue;
        add_cand(sc, ms, me, e->dicts[h->index].name, CLS_CAT_CUSTOM, 90, 0, 0);
    }
    /* custom regexes whose trigger fired in this window (all of them after
       an overflow), in ascending order: the cost follows the hits, not the
       number of regexes */
    size_t nrun = 0;
    uint32_t torun[MAX_WHITS];
    if (!sc->whits_overflow) {
        for (size_t k = 0; k < sc->n_whits; k++) {
            const struct cls_hs_id *h = &e->ids[sc->whits[k].id];
            if (h->kind != CLS_HIT_CUSTOM)
                continue;
            size_t j = nrun;
            while (j > 0 && torun[j - 1] > h->index) {
                torun[j] = torun[j - 1];
                j--;
            }
            if (j > 0 && torun[j - 1] == h->index) {
                memmove(&torun[j], &torun[j + 1], (nrun - j) * sizeof(*torun));
                continue;
            }
            torun[j] = h->index;
            nrun++;
        }
    }
    size_t nall = sc->whits_overflow ? e->n_customs : nrun;
    for (size_t k = 0; k < nall; k++) {
        size_t r = sc->whits_overflow ? k : torun[k];
        /* custom matches may start before the trigger: search the whole buffer
           from the unit start we still hold */
        rc = run_regex(sc, (const pcre2_code *)e->customs[r].code, NULL, NULL, 0,
                       e->customs[r].validate, 0, ws, we, ws, cut_left, cut_right, unit_end,
                       e->customs[r].name, CLS_CAT_CUSTOM, 80, 80, 0, NULL, 0);
        if (rc != SGW_OK)
            return rc;
    }
    if (e->n_fps)
        run_fingerprints(sc, ws, we, cut_left, cut_right);
    return emit_cands(sc);
}

/* ---- windows ---- */

/* How far before an '@' at t its window begins: right before it; or, when
 * an opening bracket stands there (bob [@] example.com: the literal hit
 * that anchors its pattern comes after the '@', so the window is the
 * '@''s), as far back as that pattern's local part and spaces reach. */
#define AT_WIDE 73u
static uint64_t at_reach(const struct cls_scanner *sc, uint64_t t)
{
    if (t == sc->seg_start)
        return 1;
    uint8_t c = byte_at(sc, t - 1);
    return c == '[' || c == '(' || c == '{' || c == '<' ? AT_WIDE : 1;
}

static void open_window(struct cls_scanner *sc, uint64_t t)
{
    const struct cls_engine *e = sc->e;
    uint64_t lfix = L_DIGIT;
    if (sc->sp[t - sc->soff] == '@')
        lfix = at_reach(sc, t);
    for (size_t k = sc->ilit; k < sc->nlits && sc->lits[k].pos == t; k++) {
        const struct cls_hs_id *h = &e->ids[sc->lits[k].id];
        uint64_t l = h->kind == CLS_HIT_CUSTOM ? CUSTOM_LEFT
                     : h->kind == CLS_HIT_DICT || h->maxlen > h->len ? (uint64_t)h->maxlen + 1
                                                                    : (uint64_t)h->len + 1;
        if (l > lfix)
            lfix = l;
    }
    uint64_t room = t - sc->seg_start;
    uint64_t a0 = t - (lfix < room ? lfix : room);
    uint64_t lim = (a0 - sc->seg_start > LEFT_TOK) ? a0 - LEFT_TOK : sc->seg_start;
    a0 = left_edge(sc, a0, lim, &sc->w_cut_left);
    uint64_t ctx = a0 - ((a0 - sc->seg_start) < PRECTX ? (a0 - sc->seg_start) : PRECTX);
    sc->wlen = 0;
    sc->w_anchors = 0;
    sc->n_whits = 0;
    sc->whits_overflow = 0;
    /* [ctx, t): the part before the slice comes from the carry */
    if (ctx < sc->soff) {
        size_t k = (size_t)(sc->soff - ctx);
        SGW_INVARIANT(k <= sc->carry_len);
        memcpy(sc->wbuf, sc->carry + sc->carry_len - k, k);
        memcpy(sc->wbuf + k, sc->sp, (size_t)(t - sc->soff));
    } else {
        memcpy(sc->wbuf, sc->sp + (ctx - sc->soff), (size_t)(t - ctx));
    }
    sc->wlen = (size_t)(t - ctx);
    sc->w_ctx = ctx;
    sc->w_start = a0;
    sc->w_need = t;
    sc->win = 1;
}

static void apply_lit(struct cls_scanner *sc, const struct lit_hit *l)
{
    const struct cls_hs_id *h = &sc->e->ids[l->id];
    uint64_t need = l->pos + 1 + h->right;
    if (need > sc->w_need)
        sc->w_need = need;
    if (h->kind == CLS_HIT_ANCHOR) {
        sc->w_anchors |= 1ull << h->anchor;
    } else if (sc->n_whits < MAX_WHITS) {
        sc->whits[sc->n_whits].end = l->pos + 1;
        sc->whits[sc->n_whits].id = l->id;
        sc->n_whits++;
    } else {
        sc->whits_overflow = 1;
        sc->lossy = 1;
    }
}

static int close_window(struct cls_scanner *sc, uint64_t end, int cut_right, int unit_end)
{
    sc->win = 0;
    return confirm_window(sc, end, cut_right, unit_end);
}

/* need after the digits and '@' of a 64-byte block at offset base (dig and
 * at are their masks, already cut to the bytes taken): a digit reaches
 * R_DIGIT bytes past itself, an '@' R_AT; need only grows. */
static inline uint64_t need_past(uint64_t base, uint64_t dig, uint64_t at, uint64_t need)
{
    if (dig) {
        uint64_t x = base + (uint64_t)(63 - __builtin_clzll(dig)) + 1 + R_DIGIT;
        if (x > need)
            need = x;
    }
    if (at) {
        uint64_t x = base + (uint64_t)(63 - __builtin_clzll(at)) + 1 + R_AT;
        if (x > need)
            need = x;
    }
    return need;
}

/* The digit, '@' and non-token masks of the k <= 64 bytes at p (a short
 * block is read from a zero-filled copy). */
static inline void block_masks(const uint8_t *p, size_t k, uint64_t *dig, uint64_t *at,
                               uint64_t *cand)
{
    uint8_t pad[64];
    if (k < 64) {
        memcpy(pad, p, k);
        memset(pad + k, 0, 64 - k);
        p = pad;
    }
    struct end_masks m;
    end_masks(p, &m);
    uint64_t valid = low_bits(k);
    *dig = m.dig & valid;
    *at = m.at & valid;
    *cand = ~m.tok & valid;
}

/* The first candidate (bit of cand: a non-token byte) of a 64-byte block at
 * offset base that lies at or past need, need growing past the digits and
 * '@' before it; 64 when none does. */
static inline unsigned block_close(uint64_t base, uint64_t dig, uint64_t at, uint64_t cand,
                                   uint64_t need)
{
    while (cand) {
        unsigned j = (unsigned)__builtin_ctzll(cand);
        uint64_t before = (1ull << j) - 1;
        if (base + j >= need_past(base, dig & before, at & before, need))
            return j;
        cand &= cand - 1;
    }
    return 64;
}

/* Consumes slice bytes into the open window from index i; returns the index
 * where the window closed (that byte is not part of it) or sn.
 *
 * The window closes at the first byte a that is no token byte, is no
 * literal hit and lies at or past `need` (a digit before it sets need to
 * its offset + 1 + R_DIGIT, an '@' to + 1 + R_AT, a literal to its `right`);
 * it is cut at w_start + MAXW. 64 bytes at a time: the candidates are the
 * bits of the non-token mask, and need at each of them follows from the
 * last digit and '@' before it. A chunk holding a literal hit or the MAXW
 * edge goes byte by byte. */
static int window_run(struct cls_scanner *sc, size_t *pi)
{
    const uint8_t *p = sc->sp;
    size_t i = *pi, n = sc->sn;
    uint64_t need = sc->w_need, next_lit = sc->ilit < sc->nlits ? sc->lits[sc->ilit].pos : UINT64_MAX;
    const uint64_t soff = sc->soff, wend = sc->w_start + MAXW;
    size_t wlen = sc->wlen;
    int closing = 0, cut = 0;
    while (i < n && !closing) {
        uint64_t base = soff + i;
        size_t k = n - i < 64 ? n - i : 64;
        if (next_lit < base + k || wend < base + k) {
            /* byte by byte through this chunk, or only up to the literal
               hit (the bytes after it take the masks again) */
            size_t stop = wend < base + k || next_lit < base ? i + k : (size_t)(next_lit - soff) + 1;
            for (; i < stop; i++) {
                uint64_t a = soff + i;
                uint8_t b = p[i];
                uint8_t cl = cls_tab[b];
                if (a >= need && !(cl & C_TOK) && a != next_lit) {
                    closing = 1;
                    break;
                }
                if (a >= wend) {
                    closing = cut = 1;
                    break;
                }
                sc->wbuf[wlen++] = b;
                if (cl & C_DIG) {
                    if (a + 1 + R_DIGIT > need)
                        need = a + 1 + R_DIGIT;
                } else if ((cl & C_AT) && a + 1 + R_AT > need) {
                    need = a + 1 + R_AT;
                }
                if (a == next_lit) {
                    sc->w_need = need;
                    while (sc->ilit < sc->nlits && sc->lits[sc->ilit].pos == a) {
                        apply_lit(sc, &sc->lits[sc->ilit]);
                        sc->ilit++;
                    }
                    need = sc->w_need;
                    next_lit = sc->ilit < sc->nlits ? sc->lits[sc->ilit].pos : UINT64_MAX;
                }
            }
            continue;
        }
        uint64_t dig, at, cand;
        block_masks(p + i, k, &dig, &at, &cand);
        size_t take = k;
        unsigned j = block_close(base, dig, at, cand, need);
        if (j < 64) {
            take = j;
            closing = 1;
        }
        uint64_t used = low_bits(take);
        need = need_past(base, dig & used, at & used, need);
        memcpy(sc->wbuf + wlen, p + i, take);
        wlen += take;
        i += take;
    }
    sc->w_need = need;
    sc->wlen = wlen;
    *pi = i;
    if (closing)
        return close_window(sc, soff + i, cut, 0);
    return SGW_OK;
}

/* Where a window opened at trigger index t of p[0, n) closes when no
 * literal hit and no MAXW cut come first: the first index at or past `need`
 * that is no token byte, need growing past digits and '@' exactly as in
 * window_run. Returns n when the window does not close inside p. */
static size_t fast_end(const uint8_t *p, size_t n, size_t t)
{
    size_t need = t, i = t;
    while (i < n) {
        size_t k = n - i < 64 ? n - i : 64;
        uint64_t dig, at, cand;
        block_masks(p + i, k, &dig, &at, &cand);
        unsigned j = block_close(i, dig, at, cand, need);
        if (j < 64)
            return i + j;
        need = (size_t)need_past(i, dig, at, need);
        i += k;
    }
    return n;
}

#define FAST_MAX 256 /* longest window the skip test copies out of place */

enum short_mode {
    SHORT_ON,               /* the default: the short path first, then skip_window */
    SHORT_OFF,              /* skip_window alone */
    SHORT_CHECK,            /* both; skip_window decides, disagreements are counted */
};

/* A window that no built-in gate lets through, holds no literal hit and
 * closes inside the current piece finds nothing: confirm_window would run
 * no regex, no dictionary term, no custom regex (those need literal hits)
 * and (without fingerprint sets) nothing else. Such a window is decided
 * here from its bytes where they lie, without opening it: same extent as
 * open_window/window_run give it, same features, same gates. Returns 1 and
 * the index where it closed when it was skipped; 0 to open it as usual. */
static int skip_window(struct cls_scanner *sc, size_t t, uint64_t next_lit, size_t *pend)
{
    const uint8_t *p = sc->sp;
    const size_t n = sc->sn;
    const uint64_t soff = sc->soff, ta = soff + t;
    size_t end = fast_end(p, n, t);
    if (end >= n) {
        /* open at the end of the piece: decided here only when the unit
           ends there, so that the window closes with it (how it closed
           does not enter the gates) */
        if (!sc->piece_unit_end)
            return 0;
        end = n;
        if (next_lit < soff + n)
            return 0;
    } else if (next_lit <= soff + end) {
        return 0; /* a literal hit lies inside it or where it would close */
    }
    /* the left edge exactly as open_window takes it (no literal hit at t) */
    uint64_t lfix = p[t] == '@' ? at_reach(sc, ta) : L_DIGIT;
    uint64_t room = ta - sc->seg_start;
    uint64_t a0 = ta - (lfix < room ? lfix : room);
    uint64_t lim = (a0 - sc->seg_start > LEFT_TOK) ? a0 - LEFT_TOK : sc->seg_start;
    a0 = left_edge(sc, a0, lim, NULL);
    if (a0 < soff || soff + end > a0 + MAXW)
        return 0; /* starts in the carry, or would be cut */
    size_t s0 = (size_t)(a0 - soff), len = end - s0;
    const uint8_t *buf = p + s0;
    uint8_t tmp[FAST_MAX + 64];
    if (s0 + ((len + 63) & ~(size_t)63) > n) {
        /* the 64-byte mask loads would read past the piece: copy */
        if (len > FAST_MAX)
            return 0;
        memcpy(tmp, buf, len);
        memset(tmp + len, 0, ((len + 63) & ~(size_t)63) - len);
        buf = tmp;
    }
    struct wfeat ft;
    window_features(buf, len, &ft);
    /* kept for confirm_window in case the window is opened after all */
    sc->pre_ft = ft;
    sc->pre_a0 = a0;
    sc->pre_end = soff + end;
    struct cls_pset run;
    if (gate_set(&sc->e->gates, &ft, 0, &run)) {
        /* patterns that need a context word pass only with one of their
           type's words in the window's context or the key, as in
           confirm_window (same context start: PRECTX before a0) */
        const struct cls_engine *e = sc->e;
        uint64_t ctxm = 0;
        int ctxm_ok = 0;
        for (size_t k = 0; k < SGW_ARRAY_LEN(run.w); k++)
            for (uint64_t b = run.w[k]; b; b &= b - 1) {
                const struct cls_cpattern *g = &e->pats[k * 64 + (size_t)__builtin_ctzll(b)];
                if (!g->needctx || sc->memo_probe)
                    return 0; /* (probing for the memo: confirm_window asks) */
                if (!ctxm_ok) {
                    uint64_t from = a0 - ((a0 - sc->seg_start) < PRECTX ? (a0 - sc->seg_start) : PRECTX);
                    ctxm = ctx_types(sc, from, soff + end);
                    ctxm_ok = 1;
                }
                if ((ctxm >> g->type) & 1)
                    return 0;
            }
    }
    sc->st.windows++;
    sc->st.window_bytes += len;
    sc->st.skipped++;
    *pend = end;
    return 1;
}

/* block_close for a block at offset 0 and need 32 (the short path's
 * trigger bit), by jumps from need0: the first candidate at or past need,
 * need grown past the digits and '@' before it, until need stays. The same
 * answer: need only grows with the candidate (need_past is monotone), so
 * every candidate jumped over fails block_close's test as well; need0 is
 * the need of the trigger's digit run, which every later candidate has. */
static inline unsigned block_close_jump(uint64_t dig, uint64_t at, uint64_t cand, uint64_t need0)
{
    uint64_t need = need0;
    while (need < 64) {
        uint64_t c = cand & ~low_bits((size_t)need);
        if (!c)
            break;
        unsigned j = (unsigned)__builtin_ctzll(c);
        uint64_t before = (1ull << j) - 1;
        uint64_t nn = need_past(0, dig & before, at & before, need);
        if (nn <= j)
            return j;
        need = nn;
    }
    return 64;
}

/* The short path's verdict for a key (short_impl): the bound of the
 * features it stands for, through the gates. The bound: counts,
 * punctuation, digit runs, the counted flags and the shapes of digits and
 * capitals (DU, UD, UU, UUD, IP3) as the key has them; each other shape
 * present unless the counts or the punctuation rule it out. Every feature
 * of a window with that key is in the bound. */
__attribute__((noinline)) static void short_verdict(const struct cls_gates *gs, const struct cls_engine *e,
                                                    uint32_t key, struct cls_gate_memo *gm)
{
    const uint32_t nd = key & 0x7f, nu = (key >> 7) & 0x1f, counted = (key >> 21) & 7, runs = (key >> 24) & 7;
    const uint32_t shapes = key >> 27;
    uint32_t fl = (key >> 12) & 0x1ff;
    fl |= (runs >= 1 ? CLS_WF_RUN4 : 0u) | (runs >= 2 ? CLS_WF_RUN6 : 0u) | (runs >= 3 ? CLS_WF_RUN7 : 0u) |
          (runs >= 4 ? CLS_WF_RUN8 : 0u) | ((counted & 1) ? CLS_WF_3DOTS : 0u) | ((counted & 2) ? CLS_WF_SEP5 : 0u) |
          ((counted & 4) ? CLS_WF_COLON2 : 0u);
    /* exact in the key: DU, UD, UU, UUD, IP3 */
    fl |= ((shapes & 1) ? CLS_WF_DU : 0u) | ((shapes & 2) ? CLS_WF_UD : 0u) | ((shapes & 4) ? CLS_WF_UU : 0u) |
          ((shapes & 8) ? CLS_WF_UUD : 0u) | ((shapes & 16) ? CLS_WF_IP3 : 0u);
    if (nd && nu && (fl & CLS_WF_DASH))
        fl |= CLS_WF_DDU;
    if (nd >= 2)
        fl |= ((fl & (CLS_WF_SPACE | CLS_WF_DOT | CLS_WF_DASH)) ? CLS_WF_DSD : 0u) |
              ((fl & (CLS_WF_DOT | CLS_WF_DASH | CLS_WF_SLASH)) ? CLS_WF_DSD2 : 0u);
    if (nu >= 6)
        fl |= CLS_WF_UP6;
    /* six of [A-Z0-9] in a row: without capitals, a run of six digits */
    if (nu ? nd + nu >= 6 : runs >= 2)
        fl |= CLS_WF_AU6;
    const struct wfeat ft = {nd, nu, fl};
    struct cls_pset run;
    uint32_t verdict = 1;
    uint64_t types = 0;
    if (gate_set(gs, &ft, 0, &run)) {
        verdict = 2;
        for (size_t k = 0; k < SGW_ARRAY_LEN(run.w); k++)
            for (uint64_t b = run.w[k]; b; b &= b - 1) {
                const struct cls_cpattern *g = &e->pats[k * 64 + (size_t)__builtin_ctzll(b)];
                if (!g->needctx)
                    verdict = 3;
                types |= 1ull << g->type;
            }
    }
    gm->key = key;
    gm->verdict = verdict;
    gm->types = types;
}

/* ---- the short path: a digit's window decided from one 64-byte block ----
 *
 * Most windows are decided unopened, and most of skip_window's cost is its
 * machinery: the end found block by block from the trigger, the left edge
 * byte by byte, the features from masks built once more over the window.
 * The short path loads the 64 bytes around a digit trigger (32 before it,
 * 32 from it) once, builds six masks (token bytes, digits, '@', capitals,
 * spaces, the other punctuation of the features) and takes from them:
 *   - the window's end and left edge, exactly as skip_window finds them;
 *   - a bound of its features: counts, punctuation, digit runs and the
 *     counted flags exact, and each shape of adjacent bytes (DU, UU, DSD,
 *     ...) assumed present whenever the counts and punctuation allow it.
 * The gates only grow with the features (more digits, capitals or flags
 * never fail a gate that fewer pass), so when the bound passes no gate, or
 * only gates of types that need a context word and have none in the
 * window's context, the exact features pass none either: skip_window would
 * skip the window with the same end. Anything else (an '@' trigger, a
 * window that leaves the block or the readable bytes, a literal hit, a
 * gate the bound passes) goes on to skip_window, which decides as before.
 * Returns 1 with the window's end (piece index) and length when skipped. */
static inline __attribute__((always_inline)) int
short_impl(struct cls_scanner *sc, size_t t, uint64_t next_lit, size_t *pend, size_t *plen,
           void (*mk)(const uint8_t *, struct sw_masks *))
{
    const uint8_t *p = sc->sp;
    const size_t n = sc->sn;
    const uint64_t soff = sc->soff;
    if (!(cls_tab[p[t]] & C_DIG) || t + sc->rd_before < 32 || t + 32 > sc->rd_after)
        return 0;
    /* block bit k is piece byte t - 32 + k; bits outside the unit's bytes
       in the piece, [ulo, n), are cleared (no class, not a token) */
    const uint8_t *q = p + t - 32;
    struct sw_masks m;
    mk(q, &m);
    const size_t ulo = sc->seg_start > soff ? (size_t)(sc->seg_start - soff) : 0;
    const size_t vlo = ulo + 32 > t ? ulo + 32 - t : 0;
    const size_t vhi = n - t < 32 ? n - t + 32 : 64;
    /* vhi in [33, 64], vlo in [0, 32]: no shift by 64 */
    const uint64_t valid = (~0ull >> (64 - vhi)) & ~((1ull << vlo) - 1);
    const uint64_t tok = m.tok & valid;
    /* the end: fast_end from the trigger (bit 32), by jumps from the need
       of the trigger's digit run (no candidate lies before it) */
    const uint64_t right = ~low_bits(32);
    const uint64_t dig = m.dig & valid;
    const unsigned rend = 32 + (unsigned)__builtin_ctzll(~(dig >> 32)); /* the run's end (bit 32 is a digit) */
    unsigned j = block_close_jump(dig & right, m.at & right & valid, ~tok & right & valid, rend + R_DIGIT);
    size_t je, end;
    if (j < 64) {
        je = j;
        end = t + j - 32;
        if (next_lit <= soff + end)
            return 0; /* a literal hit inside or where it closes */
    } else {
        /* open up to the piece's end: only when that is the unit's end and
           lies inside the block */
        if (vhi == 64 || !sc->piece_unit_end || next_lit < soff + n)
            return 0;
        je = vhi;
        end = n;
    }
    /* the left edge: L_DIGIT bytes back (not past the unit's start), then
       over token bytes down to the first that is none; it must lie in the
       block. Bits below vlo: when the unit begins in the piece, its start
       (a0 stops there, as open_window's limit does); when it began
       before, bytes that are not its own here, which stop nothing) */
    const uint64_t room = soff + t - sc->seg_start;
    const size_t j0 = 32 - (size_t)(room < L_DIGIT ? room : L_DIGIT);
    if (j0 < vlo)
        return 0;
    /* left_edge goes over two-byte letters too: a lead and the continuation
       byte after it, both in the unit */
    const uint64_t u8l = m.u8l & valid, u8c = m.u8c & valid;
    const uint64_t letters = (u8l & (u8c >> 1)) | (u8c & (u8l << 1));
    uint64_t stop = ~(tok | letters) & low_bits(j0);
    if (sc->seg_start < soff)
        stop &= ~low_bits(vlo); /* the unit goes on before the piece (in the carry) */
    if (!stop)
        return 0;
    const size_t ja = (size_t)(64 - __builtin_clzll(stop)); /* a0's bit */
    if (ja - 1 <= vlo && q[ja - 1] >= 0x80 && q[ja - 1] <= 0xbf)
        return 0; /* a letter's lead may lie before the bits looked at (left_edge) */
    /* the bound of the features of bits [ja, je) */
    const uint64_t w = low_bits(je) & ~low_bits(ja);
    const uint64_t dg = m.dig & w, up = m.up & w;
    const uint32_t nd = (uint32_t)__builtin_popcountll(dg), nu = (uint32_t)__builtin_popcountll(up);
    uint32_t pres = ((m.at & w) ? CLS_WF_AT : 0u) | ((m.sp & w) ? CLS_WF_SPACE : 0u), cnt = 0;
    for (uint64_t x = m.pm & w; x; x &= x - 1) {
        uint8_t c = q[__builtin_ctzll(x)];
        pres |= sw_pf[c];
        cnt += sw_pc[c];
    }
    const uint64_t r2 = dg & (dg >> 1), r4 = r2 & (r2 >> 2);
    /* the verdict's key: digits (up to 64), capitals (31 and more alike,
       as in the gates), punctuation present, the counted flags, the
       longest digit run's class */
    const uint32_t runs = (uint32_t)(r4 != 0) + (uint32_t)((r4 & (r2 >> 4)) != 0) +
                          (uint32_t)((r4 & (r4 >> 3)) != 0) + (uint32_t)((r4 & (r4 >> 4)) != 0);
    const uint32_t counted = (uint32_t)((cnt & 0xff) >= 3) | (uint32_t)((cnt >> 16) >= 5) << 1 |
                             (uint32_t)(((cnt >> 8) & 0xff) >= 2) << 2;
    /* the shapes of digits and capitals exact, as block_features has them
       (two capitals next to digits anywhere in the window would pass the
       gates of ES_DNI, IE_PPS_NUMBER, EU_VAT_NUMBER otherwise); three dots
       between digits too, when there are three dots */
    uint32_t shapes = 0;
    if (up) {
        const uint64_t u2 = up & (up >> 1);
        shapes = (uint32_t)(((dg << 1) & up) != 0) | (uint32_t)(((up << 1) & dg) != 0) << 1 |
                 (uint32_t)(u2 != 0) << 2 | (uint32_t)((u2 & (dg >> 2)) != 0) << 3;
    }
    if ((cnt & 0xff) >= 3) {
        uint64_t dot = 0;
        for (uint64_t x = m.pm & w; x; x &= x - 1) {
            unsigned b = (unsigned)__builtin_ctzll(x);
            dot |= (uint64_t)(q[b] == '.') << b;
        }
        shapes |= (uint32_t)(__builtin_popcountll((dg << 1) & dot & (dg >> 1)) >= 3) << 4;
    }
    const uint32_t key = nd | (nu < 31 ? nu : 31) << 7 | pres << 12 | counted << 21 | runs << 24 | shapes << 27;
    struct cls_gate_memo *gm = &sc->w->gm[(key * 2654435761u) >> 24];
    if (gm->key != key)
        short_verdict(&sc->e->gates, sc->e, key, gm);
    if (gm->verdict != 1) {
        if (gm->verdict != 2 || sc->memo_probe)
            return 0;
        /* as skip_window: none of those types' words in the window's
           context or the key */
        const uint64_t a0 = soff + t - 32 + ja;
        uint64_t from = a0 - ((a0 - sc->seg_start) < PRECTX ? (a0 - sc->seg_start) : PRECTX);
        if (ctx_types(sc, from, soff + end) & gm->types)
            return 0;
    }
    *pend = end;
    *plen = je - ja;
    return 1;
}

static int short_scalar(struct cls_scanner *sc, size_t t, uint64_t next_lit, size_t *pend, size_t *plen)
{
    return short_impl(sc, t, next_lit, pend, plen, sw_masks_scalar);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,popcnt"))) static int short_avx2(struct cls_scanner *sc, size_t t, uint64_t next_lit,
                                                            size_t *pend, size_t *plen)
{
    return short_impl(sc, t, next_lit, pend, plen, sw_masks_avx2);
}

__attribute__((target(SW_AVX512))) static int short_avx512(struct cls_scanner *sc, size_t t, uint64_t next_lit,
                                                          size_t *pend, size_t *plen)
{
    return short_impl(sc, t, next_lit, pend, plen, sw_masks_avx512);
}
#endif

static inline __attribute__((always_inline)) int short_window(struct cls_scanner *sc, size_t t, uint64_t next_lit,
                                                              size_t *pend, size_t *plen)
{
#if defined(__x86_64__) || defined(__i386__)
    if (sw_simd == 2)
        return short_avx512(sc, t, next_lit, pend, plen);
    if (sw_simd)
        return short_avx2(sc, t, next_lit, pend, plen);
#endif
    return short_scalar(sc, t, next_lit, pend, plen);
}

void cls_scan_short_masks(const uint8_t *q, int simd, uint64_t out[8])
{
    init_tables();
    struct sw_masks m;
#if defined(__x86_64__) || defined(__i386__)
    if (simd >= 2 && sw_simd == 2)
        sw_masks_avx512(q, &m);
    else if (simd && sw_simd)
        sw_masks_avx2(q, &m);
    else
#endif
        sw_masks_scalar(q, &m);
    (void)simd;
    out[0] = m.tok;
    out[1] = m.dig;
    out[2] = m.at;
    out[3] = m.up;
    out[4] = m.sp;
    out[5] = m.pm;
    out[6] = m.u8l;
    out[7] = m.u8c;
}

/* Start of the unit holding absolute offset x, while the prefilter runs over
 * a slice or a batch (boundaries of the batch are in bev[]). */
static uint64_t unit_start(const struct cls_scanner *sc, uint64_t x)
{
    uint64_t u = sc->hs_unit;
    size_t lo = 0, hi = sc->nbev; /* last boundary <= x */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sc->bev[mid].pos <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k > 0; k--)
        if (!sc->bev[k - 1].is_ctx) {
            u = sc->bev[k - 1].pos;
            break;
        }
    return u;
}

static int on_hs(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
    (void)from;
    (void)flags;
    struct cls_scanner *sc = ctx;
    const struct cls_hs_id *h = &sc->e->ids[id];
    if (to == 0)
        return 0;
    if (h->len && (to < h->len || to - h->len < unit_start(sc, to - 1)))
        return 0; /* straddles a unit boundary */
    if (h->kind == CLS_HIT_CTX) {
        if (sc->nctx == sc->capctx) {
            size_t nc = sc->capctx ? sc->capctx * 2 : 16;
            if (nc > MAX_LITS) {
                sc->lit_overflow = 1;
                return 0;
            }
            struct ctxhit *c = realloc(sc->ctxh, nc * sizeof(*c));
            if (!c) {
                sc->failed = 1;
                return 1;
            }
            sc->ctxh = c;
            sc->capctx = nc;
        }
        sc->ctxh[sc->nctx].start = to - h->len;
        sc->ctxh[sc->nctx].end = to;
        sc->ctxh[sc->nctx].types = h->types;
        sc->nctx++;
        return 0;
    }
    uint64_t pos = to - 1;
    if (pos < sc->soff)
        pos = sc->soff;
    if (sc->nlits == sc->caplits) {
        if (sc->caplits >= MAX_LITS) {
            sc->lit_overflow = 1;
            return 0;
        }
        size_t nc = sc->caplits ? sc->caplits * 2 : 64;
        struct lit_hit *l = realloc(sc->lits, nc * sizeof(*l));
        if (!l) {
            sc->failed = 1;
            return 1;
        }
        sc->lits = l;
        sc->caplits = nc;
    }
    sc->lits[sc->nlits].pos = pos;
    sc->lits[sc->nlits].id = id;
    sc->nlits++;
    return 0;
}

static void sort_lits(struct cls_scanner *sc)
{
    for (size_t i = 1; i < sc->nlits; i++) {
        struct lit_hit x = sc->lits[i];
        size_t j = i;
        while (j > 0 && (sc->lits[j - 1].pos > x.pos ||
                         (sc->lits[j - 1].pos == x.pos && sc->lits[j - 1].id > x.id))) {
            sc->lits[j] = sc->lits[j - 1];
            j--;
        }
        sc->lits[j] = x;
    }
}

/* The prefilter over p[0..n) (absolute offsets from sc->off): literal hits
 * into lits[], sorted; context words into ctxh[]. */
static int prefilter(struct cls_scanner *sc, const uint8_t *p, size_t n)
{
    sc->soff = sc->off;
    sc->nlits = 0;
    sc->ilit = 0;
    if (!sc->hs || n == 0 || sc->truncated)
        return SGW_OK; /* (past the finding limit no window can record anything) */
    sc->hs_unit = sc->seg_start;
    if (hs_scan_stream(sc->hs, (const char *)p, (unsigned)n, 0, (hs_scratch_t *)sc->w->scratch, on_hs, sc) !=
            HS_SUCCESS ||
        sc->failed)
        return SGW_ERR;
    if (sc->lit_overflow) {
        sc->lit_overflow = 0;
        sc->batch_overflow = 1;
        int rc = add_special(sc, "UNINSPECTABLE", "too many prefilter matches", 0);
        if (rc != SGW_OK)
            return rc;
    }
    sort_lits(sc);
    return SGW_OK;
}

/* the first trigger bit in [i, n) of bits, or n */
static inline size_t next_trigger(const uint64_t *bits, size_t i, size_t n)
{
    size_t w = i / 64;
    const size_t last = (n - 1) / 64; /* n > i */
    uint64_t m = bits[w] & (~0ull << (i % 64));
    while (!m) {
        if (++w > last)
            return n;
        m = bits[w];
    }
    const size_t t = w * 64 + (size_t)__builtin_ctzll(m);
    return t < n ? t : n;
}

/* Triggers and windows over p[0..n), the next bytes of the current unit
 * (absolute offset sc->off); the literal hits are already in lits[]. */
static int scan_piece(struct cls_scanner *sc, const uint8_t *p, size_t n)
{
    int rc;
    sc->sp = p;
    sc->soff = sc->off;
    sc->sn = n;
    const size_t toff = (size_t)(p - sc->tbase); /* p's first bit in tbits */
    size_t i = 0;
    while (i < n) {
        if (!sc->win) {
            if (sc->truncated)
                break; /* past the finding limit: no window can record anything */
            while (sc->ilit < sc->nlits && sc->lits[sc->ilit].pos < sc->soff + i)
                sc->ilit++;
            size_t t = next_trigger(sc->tbits, toff + i, toff + n) - toff;
            uint64_t next_lit = sc->ilit < sc->nlits ? sc->lits[sc->ilit].pos : UINT64_MAX;
            if (next_lit - sc->soff < t)
                t = (size_t)(next_lit - sc->soff);
            if (t >= n)
                break;
            size_t end;
            if (next_lit != sc->soff + t && !sc->e->n_fps && !sc->noskip) {
                size_t len;
                if (sc->short_mode == SHORT_ON && short_window(sc, t, next_lit, &end, &len)) {
                    sc->st.windows++;
                    sc->st.window_bytes += len;
                    sc->st.skipped++;
                    sc->st.short_decided++;
                    i = end;
                    continue;
                }
                if (sc->short_mode == SHORT_CHECK) {
                    int dec = short_window(sc, t, next_lit, &end, &len);
                    size_t end2 = 0;
                    uint64_t wb = sc->st.window_bytes;
                    int full = skip_window(sc, t, next_lit, &end2);
                    sc->st.short_decided += (uint64_t)dec;
                    if (dec && (!full || end2 != end || sc->st.window_bytes - wb != len))
                        sc->st.short_bad++;
                    if (full) {
                        i = end2;
                        continue;
                    }
                } else if (skip_window(sc, t, next_lit, &end)) {
                    i = end;
                    continue;
                }
            }
            open_window(sc, sc->soff + t);
            i = t;
        }
        rc = window_run(sc, &i);
        if (rc != SGW_OK)
            return rc;
    }
    sc->off += n;
    return SGW_OK;
}

/* After the last piece of a slice or batch: keep the tail of the unit for
 * windows that start before the next piece, drop old context words. */
static void piece_tail(struct cls_scanner *sc, const uint8_t *p, size_t n)
{
    cls_keep_tail(sc->carry, &sc->carry_len, CARRY, p, n);
    /* context words older than any window can reach are dropped */
    uint64_t keep = sc->win ? sc->w_ctx : (sc->off > CUSTOM_LEFT + LEFT_TOK + PRECTX + 16
                                               ? sc->off - (CUSTOM_LEFT + LEFT_TOK + PRECTX + 16)
                                               : 0);
    if (keep < sc->seg_start)
        keep = sc->seg_start;
    size_t kept = 0;
    for (size_t k = 0; k < sc->nctx; k++)
        if (sc->ctxh[k].end > keep)
            sc->ctxh[kept++] = sc->ctxh[k];
    sc->nctx = kept;
    uint64_t unit = sc->off - sc->seg_start;
    if (sc->carry_len > unit) {
        memmove(sc->carry, sc->carry + sc->carry_len - unit, (size_t)unit);
        sc->carry_len = (size_t)unit;
    }
}

/* The bytes of a unit after a key that names a secret, as they go by in
 * order (every piece of the unit passes here, scanned or not, so the unit
 * is the same however its text was split). */
static inline void kv_feed(struct cls_scanner *sc, const uint8_t *p, size_t n)
{
    if (!sc->kv_on)
        return;
    size_t k = 0;
    if (sc->kv_len < CLS_KV_MAX) {
        k = CLS_KV_MAX - sc->kv_len < n ? CLS_KV_MAX - sc->kv_len : n;
        memcpy(sc->kv_buf + sc->kv_len, p, k);
    }
    /* a longer value (an STS session token, a long OAuth token) is one
       token to its end, or none */
    for (size_t i = k; i < n && !sc->kv_spaced; i++)
        sc->kv_spaced = p[i] <= ' ' || p[i] == '"' || p[i] == '\'';
    sc->kv_len += n;
}

static int kv_commit(struct cls_scanner *sc);

/* The time limit: the clock every SCAN_CLOCK_STEP bytes of text (a read
 * of the monotonic clock costs ~25 ns; a scan of 16 KiB takes from ~30 us
 * to ~1 ms on the slowest bodies known, bench/scan_bench.sh worst). */
#define SCAN_CLOCK_STEP 16384u

__attribute__((noinline, cold)) static int over_time_slow(struct cls_scanner *sc, size_t n)
{
    if (sc->clock_left > n) {
        sc->clock_left -= n;
        return 0;
    }
    sc->clock_left = SCAN_CLOCK_STEP;
    if (cls_clock_ns() >= sc->deadline)
        cls_scanner_stop(sc);
    return sc->failed;
}

static inline int over_time(struct cls_scanner *sc, size_t n)
{
    return __builtin_expect(sc->deadline != 0, 0) && over_time_slow(sc, n);
}

static int process_slice(struct cls_scanner *sc, const uint8_t *p, size_t n)
{
    if (over_time(sc, n))
        return SGW_ERR;
    int rc = sc->kv_pend ? kv_commit(sc) : SGW_OK;
    if (rc != SGW_OK)
        return rc;
    kv_feed(sc, p, n);
    rc = prefilter(sc, p, n);
    sc->e->trigger_bits(p, n, sc->tbits);
    sc->tbase = p;
    sc->rd_before = 0;
    sc->rd_after = n;
    if (rc == SGW_OK)
        rc = scan_piece(sc, p, n);
    if (rc == SGW_OK)
        piece_tail(sc, p, n);
    return rc;
}

/* The unit after a key that names a secret ends: a GENERIC_SECRET when it
 * is one ({"password": "…"}, whose text holds no "password=" for the
 * patterns). The finding spans the unit, after an authorization scheme. It
 * waits (kv_pend): a key's own text is a unit too, and a context of that
 * text right at its end says that it was one ({"SecretAccessKey":
 * {"locationName": …}} has "locationName" after the secret's key); another
 * context (an XML start tag's end after its attributes) or anything else
 * that comes commits it (kv_commit). */
__attribute__((noinline, cold)) static void kv_check(struct cls_scanner *sc)
{
    size_t n = sc->kv_len, from = 0, kept = n < CLS_KV_MAX ? n : CLS_KV_MAX;
    int spaced = sc->kv_spaced;
    sc->kv_len = 0;
    sc->kv_spaced = 0;
    if (n < 8 || spaced || sc->off - sc->seg_start != n ||
        !cls_kv_secret_value(sc->kv_buf, kept, sc->kv_on, &from))
        return;
    struct cls_finding *f = &sc->kv_f;
    memset(f, 0, sizeof(*f));
    f->type = cls_types[cls_kv_type].name;
    f->category = CLS_CAT_SECRET;
    f->start = sc->seg_start + from;
    f->end = sc->off;
    f->confidence = 80;
    set_path(sc, f);
    if (sc->excerpts)
        mask_excerpt(f->excerpt, sc->kv_buf + from, kept - from, 1);
    sc->kv_plen = n;
    sc->kv_pend = 1;
}

__attribute__((noinline, cold)) static int kv_commit(struct cls_scanner *sc)
{
    sc->kv_pend = 0;
    return insert_finding(sc, &sc->kv_f, cls_kv_prio, 0);
}

static inline __attribute__((always_inline)) int unit_boundary(struct cls_scanner *sc)
{
    if (sc->win) {
        int rc = close_window(sc, sc->off, 0, 1);
        if (rc != SGW_OK)
            return rc;
    }
    if (sc->kv_pend) {
        int rc = kv_commit(sc);
        if (rc != SGW_OK)
            return rc;
    }
    if (sc->kv_on)
        kv_check(sc);
    sc->seg_start = sc->off;
    sc->carry_len = 0;
    /* context words of the unit that ended are older than any later window:
       drop them (the batch may hold words of later units already) */
    size_t kept = 0;
    for (size_t k = 0; k < sc->nctx; k++)
        if (sc->ctxh[k].start >= sc->off)
            sc->ctxh[kept++] = sc->ctxh[k];
    sc->nctx = kept;
    return SGW_OK;
}

/* The key is kept as it came; key_lower() folds its case when a window
 * first asks for it (most keys are never asked). */
static inline __attribute__((always_inline)) void set_key(struct cls_scanner *sc, const uint8_t *p, size_t n)
{
    if (n > KEY_MAX)
        n = KEY_MAX;
    memcpy(sc->key, p, n);
    sc->key[n] = '\0';
    sc->key_len = n;
    sc->key_types_ok = 0;
    sc->key_folded = 0;
    sc->kv_on = (sc->e->packs & CLS_PACK_SECRETS) && cls_kv_maybe_key(sc->key, n) ? cls_kv_secret_key(sc->key, n) : 0;
    sc->kv_len = 0;
    sc->kv_spaced = 0;
    if (sc->kv_pend && sc->kv_f.end == sc->off && (n == sc->kv_plen || (n == KEY_MAX && sc->kv_plen > KEY_MAX)) &&
        memcmp(sc->kv_buf, p, n) == 0)
        sc->kv_pend = 0; /* the unit was this key's own text (a key longer than KEY_MAX: its first bytes) */
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

static inline uint64_t load32(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/* The unit memo's slot for p[0..n): a multiply-xorshift hash eight bytes a
 * step (the last word overlaps the one before it; units under eight bytes
 * are read as two four-byte words, or three single bytes), and the length.
 * A byte-at-a-time hash is a chain of ~4 cycles per byte on every short
 * unit with a trigger. */
static inline __attribute__((always_inline)) struct cls_unit_memo *
memo_slot(struct cls_scanner *sc, const uint8_t *p, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    uint64_t h = (uint64_t)n * k;
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            h = ((h ^ load64(p + i)) * k) ^ (h >> 29);
        h = ((h ^ load64(p + n - 8)) * k) ^ (h >> 29);
    } else if (n >= 4) {
        h = ((h ^ (load32(p) << 32 | load32(p + n - 4))) * k);
    } else if (n) {
        h = ((h ^ ((uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1])) * k);
    }
    h = (h ^ (h >> 32)) * k;
    return &sc->w->um[(h >> 32) % CLS_UNIT_MEMO_SLOTS];
}

/* Scans what the batch holds: one prefilter pass, then its pieces between
 * the boundaries in order, exactly as if each had come in its own call. A
 * piece that is a whole short unit the memo holds as clean is passed over:
 * its bytes scanned clean before and would have whatever their context, so
 * they do again (the literal hits in it are passed with it; its context
 * words would be dropped at its end). */
static int flush_batch(struct cls_scanner *sc)
{
    if (sc->blen == 0 && sc->nbev == 0)
        return SGW_OK;
    if (over_time(sc, sc->blen))
        return SGW_ERR;
    const uint8_t *p = sc->bmem + BPAD;
    const uint64_t base = sc->off;
    sc->batch_overflow = 0;
    int rc = prefilter(sc, p, sc->blen);
    /* a whole unit scanned in this call, for the memo after its end */
    struct cls_unit_memo *cand = NULL;
    const uint8_t *cand_p = NULL;
    size_t cand_n = 0;
    uint64_t cand_nins = 0;
    sc->e->trigger_bits(p, sc->blen, sc->tbits);
    sc->tbase = p;
    size_t pos = 0;
    for (size_t k = 0; k <= sc->nbev && rc == SGW_OK; k++) {
        size_t end = k < sc->nbev ? (size_t)(sc->bev[k].pos - base) : sc->blen;
        if (end > pos) {
            if (sc->kv_pend && (rc = kv_commit(sc)) != SGW_OK)
                break;
            kv_feed(sc, p + pos, end - pos);
            if (!sc->win && next_trigger(sc->tbits, pos, end) == end &&
                (sc->ilit == sc->nlits || sc->lits[sc->ilit].pos >= sc->off + (end - pos))) {
                /* no window open, none to open: what scan_piece would do */
                sc->off += end - pos;
            } else {
                sc->piece_unit_end = k < sc->nbev && !sc->bev[k].is_ctx;
                size_t un = end - pos;
                struct cls_unit_memo *m = NULL;
                if (sc->piece_unit_end && !sc->win && sc->seg_start == sc->off && un <= CLS_UNIT_MEMO_MAX &&
                    !sc->noskip && sc->short_mode != SHORT_CHECK && !sc->batch_overflow) {
                    m = memo_slot(sc, p + pos, un);
                    if (m->len == un && memcmp(m->b, p + pos, un) == 0) {
                        if (m->neg)
                            m = NULL; /* known to need its context: scanned */
                    } else {
                        m->len = 0; /* the slot is this unit's now */
                    }
                    if (m && m->len) {
                        sc->off += un; /* scanned clean before */
                        while (sc->ilit < sc->nlits && sc->lits[sc->ilit].pos < sc->off)
                            sc->ilit++;
                        sc->st.memo_units++;
                        sc->piece_unit_end = 0;
                        pos = end;
                        goto event;
                    }
                }
                cand = m;
                cand_p = p + pos;
                cand_n = un;
                cand_nins = sc->nins;
                sc->ctx_used = 0;
                sc->ctx_dep = 0;
                sc->lossy = 0;
                sc->memo_probe = m != NULL;
                sc->rd_before = BPAD + pos; /* the whole batch buffer is readable */
                sc->rd_after = SLICE + BPAD - pos;
                rc = scan_piece(sc, p + pos, end - pos);
                sc->piece_unit_end = 0;
            }
            pos = end;
        }
    event:
        if (rc != SGW_OK || k == sc->nbev)
            break;
        if (sc->bev[k].is_ctx) {
            set_key(sc, sc->bkeys + sc->bev[k].key_off, sc->bev[k].key_len);
        } else {
            rc = unit_boundary(sc);
            if (cand && rc == SGW_OK && !sc->truncated && !sc->lossy && !sc->batch_overflow) {
                /* clean whatever the context, or not: remembered either way */
                cand->neg = sc->nins != cand_nins || sc->ctx_used || sc->ctx_dep;
                cand->len = (uint8_t)cand_n;
                memcpy(cand->b, cand_p, cand_n);
            }
            sc->memo_probe = 0;
        }
        cand = NULL;
    }
    if (rc == SGW_OK && sc->blen) {
        /* the tail of the last unit: the bytes after its boundary in the
           batch (all of them when the unit began before the batch) */
        size_t from = sc->seg_start > base ? (size_t)(sc->seg_start - base) : 0;
        piece_tail(sc, p + from, sc->blen - from);
    }
    sc->blen = 0;
    sc->nbev = 0;
    sc->bkeys_len = 0;
    return rc;
}

/* ---- the sink ---- */

int cls_scanner_data(void *ctx, const uint8_t *p, size_t n)
{
    struct cls_scanner *sc = ctx;
    if (sc->failed || sc->finished)
        return SGW_ERR;
    sc->st.bytes += n;
    int rc = SGW_OK;
    if (n == 0)
        return SGW_OK;
    /* findings name the decoder path when their batch is scanned: that is
       the path of their text, because a chain's path is complete before its
       first text event (decode_chain.c adds to it only while building and
       sniffing, before the decoder that emits text runs) */
    if (n < BATCH_SMALL) {
        if (sc->blen + n > SLICE)
            rc = flush_batch(sc);
        if (rc == SGW_OK) {
            memcpy(sc->bmem + BPAD + sc->blen, p, n);
            sc->blen += n;
            return SGW_OK;
        }
    } else {
        rc = flush_batch(sc);
    }
    while (rc == SGW_OK && n > 0) {
        size_t k = n > SLICE ? SLICE : n;
        rc = process_slice(sc, p, k);
        p += k;
        n -= k;
    }
    if (rc != SGW_OK)
        sc->failed = 1;
    return rc;
}

/* Records a boundary or a context change in the batch; 0 when the batch is
 * empty or full (the caller then applies it directly). */
static int batch_event(struct cls_scanner *sc, int is_ctx, const uint8_t *p, size_t n)
{
    if (sc->blen == 0 || sc->nbev == BATCH_EV || sc->bkeys_len + KEY_MAX > sizeof(sc->bkeys))
        return 0;
    /* pieces in a batch are whole units: a context change is batched only
       where a unit begins (after a key, as JSON has it) */
    if (is_ctx && !(sc->nbev && !sc->bev[sc->nbev - 1].is_ctx && sc->bev[sc->nbev - 1].pos == sc->off + sc->blen))
        return 0;
    struct bevent *ev = &sc->bev[sc->nbev++];
    ev->pos = sc->off + sc->blen;
    ev->is_ctx = (uint8_t)is_ctx;
    ev->key_off = (uint16_t)sc->bkeys_len;
    ev->key_len = 0;
    if (is_ctx) {
        if (n > KEY_MAX)
            n = KEY_MAX;
        memcpy(sc->bkeys + sc->bkeys_len, p, n);
        ev->key_len = (uint16_t)n;
        sc->bkeys_len += n;
    }
    return 1;
}

int cls_scanner_boundary(void *ctx)
{
    struct cls_scanner *sc = ctx;
    if (sc->failed || sc->finished)
        return SGW_ERR;
    if (batch_event(sc, 0, NULL, 0))
        return SGW_OK;
    int rc = flush_batch(sc);
    if (rc == SGW_OK)
        rc = unit_boundary(sc);
    if (rc != SGW_OK)
        sc->failed = 1;
    return rc;
}

int cls_scanner_context(void *ctx, const uint8_t *p, size_t n)
{
    struct cls_scanner *sc = ctx;
    if (sc->failed || sc->finished)
        return SGW_ERR;
    if (batch_event(sc, 1, p, n))
        return SGW_OK;
    int rc = flush_batch(sc);
    if (rc != SGW_OK) {
        sc->failed = 1;
        return rc;
    }
    set_key(sc, p, n);
    return SGW_OK;
}

/* Data and the boundary after it: what cls_scanner_data then
 * cls_scanner_boundary do, with the batch's bookkeeping done once when
 * both fit in the batch (the data is small, the batch has room for it and
 * for the event), else those two calls. */
static inline int unit_end_fits(const struct cls_scanner *sc, size_t n, size_t events)
{
    return n < BATCH_SMALL && sc->blen + n <= SLICE && sc->blen + n > 0 && sc->nbev + events <= BATCH_EV &&
           sc->bkeys_len + KEY_MAX <= sizeof(sc->bkeys);
}

static inline void unit_end_batch(struct cls_scanner *sc, const uint8_t *p, size_t n)
{
    sc->st.bytes += n;
    sc->st.unit_ends++;
    if (n)
        memcpy(sc->bmem + BPAD + sc->blen, p, n);
    sc->blen += n;
    struct bevent *ev = &sc->bev[sc->nbev++];
    ev->pos = sc->off + sc->blen;
    ev->is_ctx = 0;
    ev->key_off = (uint16_t)sc->bkeys_len;
    ev->key_len = 0;
}

int cls_scanner_data_end(void *ctx, const uint8_t *p, size_t n)
{
    struct cls_scanner *sc = ctx;
    if (sc->failed || sc->finished)
        return SGW_ERR;
    if (unit_end_fits(sc, n, 1)) {
        unit_end_batch(sc, p, n);
        return SGW_OK;
    }
    int rc = cls_scanner_data(sc, p, n);
    return rc != SGW_OK ? rc : cls_scanner_boundary(sc);
}

/* The same, then a context (a JSON key after its own text): batched right
 * after the boundary, where batch_event takes a context too. */
int cls_scanner_key_end(void *ctx, const uint8_t *p, size_t n, const uint8_t *k, size_t kn)
{
    struct cls_scanner *sc = ctx;
    if (sc->failed || sc->finished)
        return SGW_ERR;
    if (unit_end_fits(sc, n, 2)) {
        unit_end_batch(sc, p, n);
        struct bevent *ev = &sc->bev[sc->nbev++];
        size_t kl = kn > KEY_MAX ? KEY_MAX : kn;
        ev->pos = sc->off + sc->blen;
        ev->is_ctx = 1;
        ev->key_off = (uint16_t)sc->bkeys_len;
        ev->key_len = (uint16_t)kl;
        if (kl)
            memcpy(sc->bkeys + sc->bkeys_len, k, kl);
        sc->bkeys_len += kl;
        return SGW_OK;
    }
    int rc = cls_scanner_data(sc, p, n);
    if (rc == SGW_OK)
        rc = cls_scanner_boundary(sc);
    return rc != SGW_OK ? rc : cls_scanner_context(sc, k, kn);
}

int cls_scanner_uninspectable(void *ctx, const char *reason, uint32_t flags)
{
    struct cls_scanner *sc = ctx;
    int rc = flush_batch(sc);
    if (rc == SGW_OK)
        rc = flags & CLS_REPORT_KEY ? add_key(sc, reason, flags & ~CLS_REPORT_KEY)
                                    : add_special(sc, "UNINSPECTABLE", reason, flags);
    if (rc != SGW_OK)
        sc->failed = 1;
    return rc;
}

/* At the end, when findings came from copies: one with the span and type
 * of a finding in the text itself (the copy of an escape holds the text
 * around it) says nothing more and goes; the rest are put in order of
 * their source spans (a copy's findings have the span of the text it
 * decodes, before them). */
static void settle_copies(struct cls_scanner *sc)
{
    /* (a long base64 run's last region may reach past the end) */
    uint64_t total = cls_scanner_where(sc);
    for (size_t i = 0; i < sc->nf; i++) {
        if (sc->f[i].end > total)
            sc->f[i].end = total;
        if (sc->f[i].start > sc->f[i].end)
            sc->f[i].start = sc->f[i].end;
    }
    size_t o = 0;
    for (size_t i = 0; i < sc->nf; i++) {
        const struct cls_finding *c = &sc->f[i];
        int dup = 0;
        if ((c->flags & CLS_FF_COPY) && c->category != CLS_CAT_UNINSPECTABLE) {
            for (size_t j = 0; j < sc->nf && !dup; j++) {
                const struct cls_finding *g = &sc->f[j];
                dup = !(g->flags & CLS_FF_COPY) && g->type == c->type && g->start == c->start &&
                      g->end == c->end;
                /* the same value found in a narrower span (base64 both
                   seen by the first stage and escaped: the copy's
                   decoding spans the whole copy) */
                dup = dup || (j != i && sc->ss[i].vh && sc->ss[j].vh == sc->ss[i].vh && g->type == c->type &&
                              g->start >= c->start && g->end <= c->end &&
                              (g->end - g->start < c->end - c->start || !(g->flags & CLS_FF_COPY)));
                /* a seam's copy glues the end of one unit to the start of
                   the next: a value one of them holds alone, extended by
                   the other's first or last bytes ("ann@example.org" and
                   "thanks"), is that value again */
                dup = dup || (sc->ss[i].seam && !(g->flags & CLS_FF_COPY) && g->type == c->type &&
                              g->start < c->end && g->end > c->start);
            }
        }
        if (!dup) {
            sc->f[o] = sc->f[i];
            sc->ss[o] = sc->ss[i];
            if (sc->ss[o].seam) /* (joined, not decoded) */
                sc->f[o].flags = (sc->f[o].flags & ~(uint32_t)CLS_FF_COPY) | CLS_FF_JOINED;
            o++;
        }
    }
    sc->nf = o;
    /* stable insertion sort by start (the findings are nearly in order) */
    for (size_t i = 1; i < sc->nf; i++) {
        struct cls_finding f = sc->f[i];
        struct sspan s = sc->ss[i];
        size_t j = i;
        while (j > 0 && sc->f[j - 1].start > f.start) {
            sc->f[j] = sc->f[j - 1];
            sc->ss[j] = sc->ss[j - 1];
            j--;
        }
        sc->f[j] = f;
        sc->ss[j] = s;
    }
}

int cls_scanner_finish(struct cls_scanner *sc)
{
    if (sc->finished)
        return SGW_OK;
    int rc = sc->failed ? SGW_ERR : flush_batch(sc);
    if (rc != SGW_OK)
        sc->failed = 1;
    else
        rc = cls_scanner_boundary(sc);
    if (rc == SGW_OK && sc->kv_pend)
        rc = kv_commit(sc);
    sc->finished = 1;
    if (rc != SGW_OK)
        return rc;
    if (sc->truncated && !sc->stopped) {
        rc = add_special(sc, "FINDINGS_TRUNCATED", "finding limit reached; later findings not recorded", 0);
        if (rc != SGW_OK)
            return rc;
        sc->f[sc->nf - 1].category = CLS_CAT_UNINSPECTABLE;
    }
    if (sc->mapped) {
        copy_ends(sc, sc->off + sc->blen);
        size_t k = 0;
        while (k < sc->nf && !(sc->f[k].flags & CLS_FF_COPY))
            k++;
        if (k < sc->nf)
            settle_copies(sc);
    }
    if (sc->n_keys)
        settle_keys(sc);
    return SGW_OK;
}

static void scanner_destroy(struct cls_scanner *sc)
{
    if (sc->hs)
        hs_close_stream(sc->hs, (hs_scratch_t *)sc->w->scratch, NULL, NULL);
    free(sc->lits);
    free(sc->ctxh);
    free(sc->f);
    free(sc->frank);
    free(sc->ss);
    free(sc->anch);
    free(sc);
}

int cls_scanner_new(struct cls_worker *w, int excerpts, const char *(*path_fn)(void *), void *path_arg,
                    struct cls_scanner **out)
{
    init_tables();
    /* the state is small; the buffers behind it are large and need no
       clearing. The worker's spare scanner (the last one freed) is reused
       with its Hyperscan stream (reset when it was freed) and the capacity
       of its growable arrays, which saves an allocation, a stream open and
       a close per body. */
    struct cls_scanner *sc = w->spare;
    hs_stream_t *hs = NULL;
    struct lit_hit *lits = NULL;
    struct ctxhit *ctxh = NULL;
    struct cls_finding *f = NULL;
    uint16_t *frank = NULL;
    struct sspan *ss = NULL;
    struct anchor *anch = NULL;
    size_t caplits = 0, capctx = 0, capf = 0, capanch = 0;
    if (sc) {
        w->spare = NULL;
        hs = sc->hs;
        lits = sc->lits;
        caplits = sc->caplits;
        ctxh = sc->ctxh;
        capctx = sc->capctx;
        f = sc->f;
        frank = sc->frank;
        ss = sc->ss;
        capf = sc->capf;
        anch = sc->anch;
        capanch = sc->capanch;
    } else {
        sc = malloc(sizeof(*sc));
        if (!sc)
            return SGW_ENOMEM;
    }
    memset(sc, 0, offsetof(struct cls_scanner, cands) + sizeof(sc->cands.n));
    /* the pads around the batch: read by the short path's loads, never
       written (their bits are cleared; zeroed so that no load reads
       uninitialised bytes there) */
    memset(sc->bmem, 0, BPAD);
    memset(sc->bmem + BPAD + SLICE, 0, BPAD);
    sc->hs = hs;
    sc->lits = lits;
    sc->caplits = caplits;
    sc->ctxh = ctxh;
    sc->capctx = capctx;
    sc->f = f;
    sc->frank = frank;
    sc->ss = ss;
    sc->capf = capf;
    sc->anch = anch;
    sc->capanch = capanch;
    sc->st.anchor_cap = capanch;
    sc->w = w;
    sc->e = w->e;
    sc->excerpts = excerpts;
    sc->path_fn = path_fn;
    sc->path_arg = path_arg;
    if (sc->e->hsdb && !sc->hs) {
        if (hs_open_stream((const hs_database_t *)sc->e->hsdb, 0, &sc->hs) != HS_SUCCESS) {
            sc->hs = NULL;
            scanner_destroy(sc);
            return SGW_ENOMEM;
        }
    }
    *out = sc;
    return SGW_OK;
}

void cls_scanner_free(struct cls_scanner *sc)
{
    if (!sc)
        return;
    struct cls_worker *w = sc->w;
    /* keep it for the next scanner of this worker: the stream goes back to
       its initial state now (no callback: nothing is reported) */
    if (!w->spare && (!sc->hs || hs_reset_stream(sc->hs, 0, NULL, NULL, NULL) == HS_SUCCESS)) {
        w->spare = sc;
        return;
    }
    scanner_destroy(sc);
}

void cls_scanner_drop_spare(struct cls_worker *w)
{
    if (w && w->spare) {
        scanner_destroy(w->spare);
        w->spare = NULL;
    }
}

const struct cls_finding *cls_scanner_findings(const struct cls_scanner *sc, size_t *n)
{
    *n = sc->nf;
    return sc->f;
}

void cls_scanner_set_timing(struct cls_scanner *sc, int on)
{
    sc->timing = on;
}

void cls_scanner_set_deadline(struct cls_scanner *sc, uint64_t deadline)
{
    sc->deadline = deadline;
    sc->clock_left = SCAN_CLOCK_STEP;
}

void cls_scanner_stop(struct cls_scanner *sc)
{
    if (sc->stopped)
        return;
    sc->stopped = 1;
    sc->truncated = 1; /* (no window, no literal stream) */
    sc->deadline = 0;
    if (add_special(sc, "UNINSPECTABLE", "inspection time limit exceeded", 0) != SGW_OK)
        sc->failed = 1;
}

int cls_scanner_stopped(const struct cls_scanner *sc)
{
    return sc->stopped;
}

void cls_scanner_set_skip(struct cls_scanner *sc, int on)
{
    sc->noskip = !on;
}

void cls_scanner_set_short(struct cls_scanner *sc, int mode)
{
    sc->short_mode = mode == 0 ? SHORT_OFF : mode == 2 ? SHORT_CHECK : SHORT_ON;
}

const struct cls_scan_stats *cls_scanner_stats(const struct cls_scanner *sc)
{
    return &sc->st;
}
