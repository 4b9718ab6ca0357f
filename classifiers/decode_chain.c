/* classifiers/decode_chain.c — builds the decoder chain from a media type and
 * a Content-Encoding list, sniffs untyped bodies, and owns the text pipeline
 * (base64 runs → Unicode normalisation → final sink). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <strings.h>
#include <zlib.h>

#include "classifiers/decode_internal.h"

/* One allocation: this header, then the two text stages
 * (dec_text_stages_size() bytes at a 64-byte offset), then room for the
 * first decoder that fits in DEC_CHAIN_SPARE bytes. */
struct cls_decode_chain {
    struct dec *head;      /* owned */
    struct dec_b64 *b64;   /* first text stage (in this block) */
    struct dec_norm *norm; /* last text stage (in this block) */
    int finished;
    struct dec_env env; /* last: its reasons need no zeroing */
};

#define CHAIN_HEAD_SIZE ((sizeof(struct cls_decode_chain) + 63u) & ~(size_t)63u)

/* ---- generic decoder plumbing ---- */

void *dec_alloc(size_t size, const struct dec_ops *ops, struct dec_env *env, unsigned nest)
{
    return dec_alloc_head(size, size, ops, env, nest);
}

void *dec_alloc_head(size_t size, size_t zero, const struct dec_ops *ops, struct dec_env *env,
                     unsigned nest)
{
    struct dec *d;
    int in_chain = 0;
    if (env->spare && size <= env->spare_len) {
        d = env->spare;
        env->spare = NULL;
        in_chain = 1;
    } else {
        d = malloc(size);
        if (!d)
            return NULL;
    }
    memset(d, 0, zero < sizeof(*d) ? sizeof(*d) : zero > size ? size : zero);
    d->in_chain = in_chain;
    d->ops = ops;
    d->env = env;
    d->nest = nest;
    return d;
}

int dec_feed(struct dec *d, const uint8_t *p, size_t n)
{
    if (!d || d->dead || d->finished || n == 0)
        return SGW_OK;
    int rc = d->ops->feed(d, p, n);
    d->fed += n;
    return rc;
}

int dec_finish(struct dec *d)
{
    if (!d || d->finished)
        return SGW_OK;
    d->finished = 1;
    if (d->dead)
        return SGW_OK;
    return d->ops->finish(d);
}

int dec_close(struct dec **d)
{
    struct dec *x = *d;
    *d = NULL;
    int rc = dec_finish(x);
    dec_free(x);
    return rc;
}

void dec_free(struct dec *d)
{
    while (d) {
        struct dec *next = d->next;
        if (d->ops->destroy)
            d->ops->destroy(d);
        if (!d->in_chain)
            free(d);
        d = next;
    }
}

__attribute__((format(printf, 3, 0))) static int env_vfail(struct dec_env *env, uint32_t flags,
                                                           const char *fmt, va_list ap)
{
    if (env->n_reports >= DEC_MAX_REPORTS)
        return env->text->uninspectable(env->text->ctx, "more uninspectable content", flags);
    char *r = env->reasons[env->n_reports++];
    vsnprintf(r, DEC_REASON_LEN, fmt, ap);
    return env->text->uninspectable(env->text->ctx, r, flags);
}

int dec_env_fail(struct dec_env *env, uint32_t flags, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = env_vfail(env, flags, fmt, ap);
    va_end(ap);
    return rc;
}

int dec_vfail(struct dec *d, uint32_t flags, const char *fmt, va_list ap)
{
    d->dead = 1;
    return env_vfail(d->env, flags, fmt, ap);
}

int dec_fail(struct dec *d, uint32_t flags, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dec_vfail(d, flags, fmt, ap);
    va_end(ap);
    return rc;
}

int dec_append(uint8_t **b, size_t *len, size_t *cap, const uint8_t *p, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        uint8_t *nb = realloc(*b, c);
        if (!nb)
            return SGW_ENOMEM;
        *b = nb;
        *cap = c;
    }
    if (n)
        memcpy(*b + *len, p, n);
    *len += n;
    return SGW_OK;
}

size_t dec_int_text(int64_t v, int date, char *d)
{
    int k = 0;
    if (date && v > -183000 && v < 183000) {
        /* days to a civil date (Howard Hinnant's civil_from_days) */
        int64_t z = v + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        int64_t day = doy - (153 * mp + 2) / 5 + 1, mon = mp < 10 ? mp + 3 : mp - 9;
        k = snprintf(d, 24, "%04lld-%02lld-%02lld", (long long)(yoe + era * 400 + (mon <= 2)), (long long)mon,
                     (long long)day);
    } else if (!date && (v >= DEC_INT_MIN || v <= -DEC_INT_MIN)) {
        k = snprintf(d, 24, "%lld", (long long)v);
    }
    return k > 0 ? (size_t)k : 0;
}

int dec_text_runs(struct dec_env *env, const uint8_t *p, size_t n, size_t min, int utf8)
{
    int rc = SGW_OK;
    size_t i = 0;
    while (i < n && rc == SGW_OK) {
        size_t j = i;
        while (j < n && ((p[j] >= 0x20 && p[j] < 0x7f) || (utf8 && p[j] >= 0x80) || p[j] == '\t'))
            j++;
        if (j - i >= min) {
            rc = dec_text_data(env, p + i, j - i);
            if (rc == SGW_OK)
                rc = dec_text_boundary(env);
        }
        i = j + 1;
    }
    return rc;
}

int dec_bomb_emit(struct dec *d, struct dec_bomb *b, const uint8_t *p, size_t k,
                  int (*emit)(void *arg, const uint8_t *p, size_t n), void *arg)
{
    const struct cls_decode_limits *lim = &d->env->lim;
    if (b->produced + k > lim->max_decoded) {
        size_t room = b->produced < lim->max_decoded ? (size_t)(lim->max_decoded - b->produced) : 0;
        b->produced += k;
        int rc = room ? emit(arg, p, room) : SGW_OK;
        if (rc != SGW_OK || d->dead)
            return rc;
        return dec_fail(d, CLS_FF_BOMB, "decoded size over %llu bytes (%s)",
                        (unsigned long long)lim->max_decoded, d->ops->name);
    }
    b->produced += k;
    if (b->produced > DEC_RATIO_FLOOR && b->produced / lim->max_ratio > b->consumed)
        return dec_fail(d, CLS_FF_BOMB, "decompression ratio over %u (%s)", (unsigned)lim->max_ratio,
                        d->ops->name);
    return emit(arg, p, k);
}

int dec_once(struct dec *w, int rc, const uint8_t *p, size_t n)
{
    if (rc == SGW_OK)
        rc = dec_feed(w, p, n);
    if (rc == SGW_OK)
        rc = dec_finish(w);
    dec_free(w);
    return rc;
}

int dec_feed_arg(void *arg, const uint8_t *p, size_t n)
{
    return dec_feed(arg, p, n);
}

int dec_bomb_feed(struct dec *d, struct dec_bomb *b, const uint8_t *p, size_t k)
{
    return dec_bomb_emit(d, b, p, k, dec_feed_arg, d->next);
}

void dec_path_add(struct dec_env *env, const char *name)
{
    size_t len = strlen(env->path);
    if (name[0] == '\0')
        return;
    /* ">" when not first, then the name, cut to fit (as snprintf would) */
    if (len && len + 1 < sizeof(env->path))
        env->path[len++] = '>';
    size_t n = strlen(name), room = sizeof(env->path) - 1 - len;
    if (n > room)
        n = room;
    memcpy(env->path + len, name, n);
    env->path[len + n] = '\0';
}

/* ---- shared helpers ---- */

static const struct magic {
    const char *magic;
    size_t len;
    const char *name;
    const char *b64name;
    const char *hexname;
    const char *listname;
} magic_tab[] = {
    {"%PDF", 4, "PDF document", "base64 PDF document", "hex PDF document",
     "PDF document in a byte list"},
    {"\x89PNG", 4, "PNG image", "base64 PNG image", "hex PNG image",
     "PNG image in a byte list"},
    {"\xff\xd8\xff", 3, "JPEG image", "base64 JPEG image", "hex JPEG image",
     "JPEG image in a byte list"},
    {"GIF8", 4, "GIF image", "base64 GIF image", "hex GIF image",
     "GIF image in a byte list"},
    {"PK\x03\x04", 4, "zip archive", "base64 zip archive", "hex zip archive",
     "zip archive in a byte list"},
    {"PK\x05\x06", 4, "zip archive", "base64 zip archive", "hex zip archive",
     "zip archive in a byte list"},
    {"\x1f\x8b", 2, "gzip data", "base64 gzip data", "hex gzip data",
     "gzip data in a byte list"},
    {"\x28\xb5\x2f\xfd", 4, "zstd data", "base64 zstd data", "hex zstd data",
     "zstd data in a byte list"},
    {"BZh", 3, "bzip2 data", "base64 bzip2 data", "hex bzip2 data",
     "bzip2 data in a byte list"},
    {"\xfd"
     "7zXZ",
     5, "xz data", "base64 xz data", "hex xz data",
     "xz data in a byte list"},
    {"7z\xbc\xaf\x27\x1c", 6, "7z archive", "base64 7z archive", "hex 7z archive",
     "7z archive in a byte list"},
    {"Rar!", 4, "rar archive", "base64 rar archive", "hex rar archive",
     "rar archive in a byte list"},
    {"\x7f"
     "ELF",
     4, "ELF executable", "base64 ELF executable", "hex ELF executable",
     "ELF executable in a byte list"},
    {"RIFF", 4, "RIFF media", "base64 RIFF media", "hex RIFF media",
     "RIFF media in a byte list"},
    {"OggS", 4, "Ogg media", "base64 Ogg media", "hex Ogg media",
     "Ogg media in a byte list"},
    {"\xd0\xcf\x11\xe0", 4, "OLE document", "base64 OLE document", "hex OLE document",
     "OLE document in a byte list"},
};

static const struct magic *magic_find(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < SGW_ARRAY_LEN(magic_tab); i++)
        if (n >= magic_tab[i].len && memcmp(p, magic_tab[i].magic, magic_tab[i].len) == 0)
            return &magic_tab[i];
    return NULL;
}

const char *dec_binary_magic(const uint8_t *p, size_t n)
{
    const struct magic *m = magic_find(p, n);
    return m ? m->name : NULL;
}

int dec_binary_magic_prefix(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < SGW_ARRAY_LEN(magic_tab); i++) {
        size_t k = n < magic_tab[i].len ? n : magic_tab[i].len;
        if (memcmp(p, magic_tab[i].magic, k) == 0)
            return 1;
    }
    return 0;
}

const char *dec_binary_magic_b64(const uint8_t *p, size_t n)
{
    const struct magic *m = magic_find(p, n);
    return m ? m->b64name : NULL;
}

const char *dec_binary_magic_hex(const uint8_t *p, size_t n)
{
    const struct magic *m = magic_find(p, n);
    return m ? m->hexname : NULL;
}

const char *dec_binary_magic_list(const uint8_t *p, size_t n)
{
    const struct magic *m = magic_find(p, n);
    return m ? m->listname : NULL;
}

/* Length of a valid UTF-8 sequence at p (2..4), 0 when invalid or cut. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    uint32_t cp = c & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* 1 for a byte that is a defect wherever it stands (a control other than
 * tab/LF/FF/CR, DEL, 0xc0, 0xc1, 0xf5..0xff: never part of valid UTF-8); 0
 * counts too (it ends the verdict at once anyway). */
static const uint8_t text_defect[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

int dec_looks_text_step(const uint8_t *p, size_t avail, size_t n, size_t *at, size_t *bad)
{
    size_t i = *at, nbad = *bad;
    /* binary gives itself away by the bytes that are defects wherever they
       stand: counted branch-free first, they can settle the verdict before
       the exact pass. Those before n - 3 are all seen by the exact pass (a
       sequence cut at the end stops it only within the last 3 bytes), so
       the count never exceeds what it would find. */
    size_t safe = n > 3 ? n - 3 : 0, end = avail < safe ? avail : safe;
    if (i < end) {
        size_t lb = 0;
        for (size_t k = i; k < end; k++)
            lb += text_defect[p[k]];
        if ((nbad + lb) * 20 > n)
            return 0;
    }
    /* a position is decided from at most 4 bytes, or from the end */
    size_t lim = avail == n ? n : (avail > 3 ? avail - 3 : 0);
    while (i < lim) {
        if (i + 8 <= avail) {
            /* eight printable ASCII bytes at once */
            uint64_t w;
            memcpy(&w, p + i, 8);
            const uint64_t hi = 0x8080808080808080ull, one = 0x0101010101010101ull;
            uint64_t ctl = (w - 0x20 * one) & ~w & hi; /* a byte < 0x20 */
            uint64_t x = w ^ (0x7f * one);
            uint64_t del = (x - one) & ~x & hi; /* a byte 0x7f */
            if (((w & hi) | ctl | del) == 0) {
                i += 8;
                continue;
            }
        }
        uint8_t c = p[i];
        if (c >= 0x20 && c < 0x7f) {
            i++;
        } else if (c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            i++;
        } else if (c == 0) {
            return 0;
        } else if (c >= 0x80) {
            size_t l = utf8_seq(p + i, n - i);
            if (l == 0) {
                /* a sequence cut at the end of a sample is not a defect */
                if (n - i < 4 && c >= 0xc2 && c <= 0xf4) {
                    i = n;
                    break;
                }
                nbad++;
                i++;
            } else {
                i += l;
            }
        } else {
            nbad++;
            i++;
        }
    }
    *at = i;
    *bad = nbad;
    return nbad * 20 <= n; /* bad only grows: over the limit is final */
}

int dec_looks_text(const uint8_t *p, size_t n)
{
    size_t at = 0, bad = 0;
    return dec_looks_text_step(p, n, n, &at, &bad);
}

int dec_looks_8bit_text(const uint8_t *p, size_t n)
{
    /* no control byte but the line's, and ASCII spaces or line ends at
       least one byte in 16: words in windows-1251, KOI8-R, ISO-8859-7…
       Random bytes hold a control byte one in eight; EBCDIC has no 0x20 */
    size_t spaces = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c < 0x80 && text_defect[c])
            return 0;
        spaces += c == ' ' || c == '\n';
    }
    return n > 0 && spaces * 16 >= n;
}

static int simd_cap = DEC_SIMD_TOP;

int dec_simd_level(void)
{
    int l = DEC_SIMD_SCALAR;
#if defined(__x86_64__)
    static int level = -1;
    l = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (l < 0) {
        __builtin_cpu_init();
        /* AVX-512 here means the byte and mask instructions (BW) on 64 bytes */
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
            l = DEC_SIMD_AVX512;
        else
            l = __builtin_cpu_supports("avx2") ? DEC_SIMD_AVX2 : DEC_SIMD_SSE2;
        __atomic_store_n(&level, l, __ATOMIC_RELAXED);
    }
#endif
    int cap = __atomic_load_n(&simd_cap, __ATOMIC_RELAXED);
    return l < cap ? l : cap;
}

void dec_simd_cap(int level)
{
    __atomic_store_n(&simd_cap, level, __ATOMIC_RELAXED);
}

/* ---- media types ---- */

struct media {
    char type[96];     /* lower-case type/subtype, "" when absent */
    char boundary[72]; /* multipart boundary (1..70 chars) or "" */
    char charset[32];  /* lower-case charset or "" */
    int bad_params;    /* malformed or duplicate boundary parameter */
    int flowed, delsp; /* format=flowed, delsp=yes (RFC 3676) */
};

static int is_ows(int c)
{
    return c == ' ' || c == '\t';
}

static int lower_c(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int boundary_char(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           strchr("'()+_,-./:=? ", c) != NULL;
}

/* Parses "type/subtype; a=b; c=\"d\"" into m. Never fails: unknown shapes give
 * a type the dispatcher does not know. */
static void media_parse(const char *s, size_t n, struct media *m)
{
    memset(m, 0, sizeof(*m));
    size_t i = 0;
    while (i < n && is_ows((unsigned char)s[i]))
        i++;
    size_t t = 0;
    while (i < n && s[i] != ';' && !is_ows((unsigned char)s[i])) {
        if (t + 1 < sizeof(m->type))
            m->type[t++] = (char)lower_c((unsigned char)s[i]);
        i++;
    }
    m->type[t] = '\0';
    int seen_boundary = 0;
    while (i < n) {
        while (i < n && (is_ows((unsigned char)s[i]) || s[i] == ';'))
            i++;
        size_t ns = i;
        while (i < n && s[i] != '=' && s[i] != ';')
            i++;
        size_t nl = i - ns;
        while (nl > 0 && is_ows((unsigned char)s[ns + nl - 1]))
            nl--;
        if (i >= n || s[i] != '=') {
            continue;
        }
        i++;
        char val[96];
        size_t vl = 0;
        int quoted = 0, vbad = 0;
        if (i < n && s[i] == '"') {
            quoted = 1;
            i++;
            while (i < n && s[i] != '"') {
                if (s[i] == '\\')
                    vbad = 1; /* quoted-pair in a boundary: refuse, ambiguous */
                if (vl + 1 < sizeof(val))
                    val[vl++] = s[i];
                else
                    vbad = 1;
                i++;
            }
            if (i >= n)
                vbad = 1;
            else
                i++;
        } else {
            while (i < n && s[i] != ';') {
                if (vl + 1 < sizeof(val))
                    val[vl++] = s[i];
                else
                    vbad = 1;
                i++;
            }
            while (vl > 0 && is_ows((unsigned char)val[vl - 1]))
                vl--;
        }
        val[vl] = '\0';
        (void)quoted;
        struct sgw_slice name = sgw_slice_make(s + ns, nl);
        if (sgw_slice_eq_nocase(name, "boundary")) {
            if (seen_boundary || vbad || vl == 0 || vl > 70 || val[vl - 1] == ' ') {
                m->bad_params = 1;
            } else {
                for (size_t k = 0; k < vl; k++)
                    if (!boundary_char((unsigned char)val[k]))
                        m->bad_params = 1;
                memcpy(m->boundary, val, vl + 1);
            }
            seen_boundary = 1;
        } else if (sgw_slice_eq_nocase(name, "format")) {
            m->flowed = vl == 6 && strncasecmp(val, "flowed", 6) == 0;
        } else if (sgw_slice_eq_nocase(name, "delsp")) {
            m->delsp = vl == 3 && strncasecmp(val, "yes", 3) == 0;
        } else if (sgw_slice_eq_nocase(name, "charset")) {
            size_t k;
            for (k = 0; k < vl && k + 1 < sizeof(m->charset); k++)
                m->charset[k] = (char)lower_c((unsigned char)val[k]);
            m->charset[k] = '\0';
        }
    }
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && memcmp(s + a - b, suf, b) == 0;
}

static int starts_with(const char *s, const char *pre)
{
    return strncmp(s, pre, strlen(pre)) == 0;
}

__attribute__((format(printf, 4, 5))) static int
build_reject_fmt(struct dec_env *env, unsigned nest, struct dec **out, const char *fmt, ...)
{
    char r[DEC_REASON_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r, sizeof(r), fmt, ap);
    va_end(ap);
    return dec_new_reject(env, nest, r, out);
}

enum media_kind {
    MK_SNIFF,
    MK_JSON,
    MK_NDJSON,
    MK_FORM,
    MK_MULTIPART_FORM,
    MK_MULTIPART,
    MK_CBOR,
    MK_MESSAGE,
    MK_MBOX,
    MK_FOLDED,
    MK_EVENTSTREAM,
    MK_AWSCHUNKED,
    MK_TEXT,
    MK_XML,
    MK_HTML,
    MK_ZIP,
    MK_TAR,
    MK_PROTOBUF,
    MK_GRPC,
    MK_GRPC_WEB,
    MK_X509,
    MK_PDF,
    MK_PARQUET,
    MK_AVRO,
    MK_OLE,
    MK_CSV,
    MK_REJECT,
    MK_UNKNOWN,
};

static enum media_kind media_kind(const char *t)
{
    static const char *const json[] = {"application/json", "text/json",
                                       "application/x-amz-json-1.0", "application/x-amz-json-1.1"};
    static const char *const ndjson[] = {"application/x-ndjson", "application/jsonl",
                                         "application/x-jsonlines", "application/jsonlines",
                                         "application/json-seq"};
    static const char *const text_app[] = {"application/javascript", "application/x-yaml",
                                           "application/yaml",       "application/graphql",
                                           "application/sql",        "application/x-sh",
                                           "application/ecmascript", "application/x-pem-file",
                                           "application/pem-certificate-chain"};
    /* DER, or PEM under the same names: sniffed (dec_x509_shape); keys
       reported as PRIVATE_KEY */
    static const char *const x509[] = {"application/pkix-cert", "application/x-x509-ca-cert",
                                       "application/x-x509-user-cert", "application/pkcs10",
                                       "application/pkix-crl", "application/pkcs8",
                                       "application/pkcs8-encrypted", "application/pkcs12",
                                       "application/x-pkcs12"};
    /* (gzip, zstd, xz and bzip2 files are sniffed: the sniffer decompresses them) */
    static const char *const reject_app[] = {"application/x-7z-compressed",
                                             "application/x-rar-compressed",
                                             "application/vnd.rar",
                                             "application/java-archive",
                                             "application/x-msdownload"};
    /* Office 97-2003, Outlook messages, other compound files */
    static const char *const ole[] = {"application/msword", "application/vnd.ms-excel",
                                      "application/vnd.ms-powerpoint", "application/vnd.ms-outlook",
                                      "application/x-ole-storage", "application/x-msi"};
    if (t[0] == '\0' || strcmp(t, "application/octet-stream") == 0)
        return MK_SNIFF;
    for (size_t i = 0; i < SGW_ARRAY_LEN(json); i++)
        if (strcmp(t, json[i]) == 0)
            return MK_JSON;
    for (size_t i = 0; i < SGW_ARRAY_LEN(ndjson); i++)
        if (strcmp(t, ndjson[i]) == 0)
            return MK_NDJSON;
    if (starts_with(t, "application/") && ends_with(t, "+json"))
        return MK_JSON;
    if (strcmp(t, "application/x-www-form-urlencoded") == 0)
        return MK_FORM;
    if (strcmp(t, "multipart/form-data") == 0)
        return MK_MULTIPART_FORM;
    if (strcmp(t, "multipart/mixed") == 0 || strcmp(t, "multipart/related") == 0 ||
        strcmp(t, "multipart/alternative") == 0)
        return MK_MULTIPART;
    /* (the AWS SDK for Java sends Kinesis and CloudWatch CBOR as x-amz-cbor-1.1) */
    if (strcmp(t, "application/cbor") == 0 || strcmp(t, "application/x-amz-cbor-1.1") == 0)
        return MK_CBOR;
    if (strcmp(t, "message/rfc822") == 0 || strcmp(t, "message/global") == 0)
        return MK_MESSAGE;
    if (strcmp(t, "application/mbox") == 0)
        return MK_MBOX;
    if (strcmp(t, "text/vcard") == 0 || strcmp(t, "text/x-vcard") == 0 || strcmp(t, "text/directory") == 0 ||
        strcmp(t, "text/calendar") == 0)
        return MK_FOLDED;
    if (strcmp(t, "application/vnd.amazon.eventstream") == 0)
        return MK_EVENTSTREAM;
    if (strcmp(t, "aws-chunked") == 0)
        return MK_AWSCHUNKED;
    if (strcmp(t, "text/html") == 0 || strcmp(t, "application/xhtml+xml") == 0)
        return MK_HTML;
    if (strcmp(t, "application/xml") == 0 || strcmp(t, "text/xml") == 0 ||
        (starts_with(t, "application/") && ends_with(t, "+xml")))
        return MK_XML;
    if (strcmp(t, "text/csv") == 0 || strcmp(t, "text/tab-separated-values") == 0 ||
        strcmp(t, "application/csv") == 0 || strcmp(t, "text/x-csv") == 0)
        return MK_CSV;
    if (starts_with(t, "text/"))
        return MK_TEXT;
    for (size_t i = 0; i < SGW_ARRAY_LEN(text_app); i++)
        if (strcmp(t, text_app[i]) == 0)
            return MK_TEXT;
    if (starts_with(t, "image/") || starts_with(t, "audio/") || starts_with(t, "video/") ||
        starts_with(t, "font/") || starts_with(t, "model/"))
        return MK_REJECT;
    for (size_t i = 0; i < SGW_ARRAY_LEN(reject_app); i++)
        if (strcmp(t, reject_app[i]) == 0)
            return MK_REJECT;
    if (strcmp(t, "application/zip") == 0 || strcmp(t, "application/x-zip-compressed") == 0 ||
        strcmp(t, "application/epub+zip") == 0 ||
        starts_with(t, "application/vnd.openxmlformats") ||
        starts_with(t, "application/vnd.oasis.opendocument"))
        return MK_ZIP;
    /* OTLP/HTTP (CloudWatch Logs' and X-Ray's OTLP endpoints), Prometheus
       remote write; gRPC */
    if (strcmp(t, "application/x-protobuf") == 0 || strcmp(t, "application/protobuf") == 0 ||
        strcmp(t, "application/vnd.google.protobuf") == 0 || strcmp(t, "application/x-google-protobuf") == 0)
        return MK_PROTOBUF;
    if (strcmp(t, "application/grpc") == 0 || strcmp(t, "application/grpc+proto") == 0)
        return MK_GRPC;
    if (strcmp(t, "application/grpc-web") == 0 || strcmp(t, "application/grpc-web+proto") == 0)
        return MK_GRPC_WEB;
    if (strcmp(t, "application/x-tar") == 0 || strcmp(t, "application/x-gtar") == 0 ||
        strcmp(t, "application/x-ustar") == 0 || strcmp(t, "application/tar") == 0)
        return MK_TAR;
    for (size_t i = 0; i < SGW_ARRAY_LEN(x509); i++)
        if (strcmp(t, x509[i]) == 0)
            return MK_X509;
    if (strcmp(t, "application/pdf") == 0 || strcmp(t, "application/x-pdf") == 0)
        return MK_PDF;
    if (strcmp(t, "application/vnd.apache.parquet") == 0 || strcmp(t, "application/x-parquet") == 0 ||
        strcmp(t, "application/parquet") == 0)
        return MK_PARQUET;
    if (strcmp(t, "application/avro") == 0 || strcmp(t, "avro/binary") == 0 || strcmp(t, "application/x-avro") == 0)
        return MK_AVRO;
    for (size_t i = 0; i < SGW_ARRAY_LEN(ole); i++)
        if (strcmp(t, ole[i]) == 0)
            return MK_OLE;
    return MK_UNKNOWN;
}

/* ---- types by file name (archive entries, `sovgw scan`) ---- */

const char *cls_type_by_name(const char *name, size_t n)
{
    static const struct {
        const char *ext, *type;
    } map[] = {
        {"json", "application/json"},
        {"jsonl", "application/x-ndjson"},
        {"ndjson", "application/x-ndjson"},
        {"cbor", "application/cbor"},
        {"xml", "application/xml"},
        {"rels", "application/xml"},
        {"vml", "application/xml"},
        {"svg", "application/xml"},
        {"xhtml", "application/xml"},
        {"opf", "application/xml"},
        {"ncx", "application/xml"},
        {"html", "text/html"},
        {"htm", "text/html"},
        {"txt", "text/plain"},
        {"md", "text/plain"},
        {"csv", "text/csv"},
        {"log", "text/plain"},
        {"yaml", "text/plain"},
        {"yml", "text/plain"},
        {"ini", "text/plain"},
        {"form", "application/x-www-form-urlencoded"},
        {"eml", "message/rfc822"},
        {"mbox", "application/mbox"},
        {"vcf", "text/vcard"},
        {"tsv", "text/tab-separated-values"},
        {"ics", "text/calendar"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"bmp", "image/bmp"},
        {"tif", "image/tiff"},
        {"tiff", "image/tiff"},
        {"emf", "image/emf"},
        {"wmf", "image/wmf"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"zip", "application/zip"},
        {"docx", "application/zip"},
        {"xlsx", "application/zip"},
        {"pptx", "application/zip"},
        {"odt", "application/zip"},
        {"ods", "application/zip"},
        {"odp", "application/zip"},
        {"epub", "application/zip"},
        {"tar", "application/x-tar"},
        {"tgz", "application/gzip"},
        {"gz", "application/gzip"},
        {"zst", "application/zstd"},
        {"parquet", "application/vnd.apache.parquet"},
        {"avro", "application/avro"},
        {"xz", "application/x-xz"},
        {"txz", "application/x-xz"},
        {"bz2", "application/x-bzip2"},
        {"tbz", "application/x-bzip2"},
        {"tbz2", "application/x-bzip2"},
        {"pdf", "application/pdf"},
        {"doc", "application/msword"},
        {"dot", "application/msword"},
        {"xls", "application/vnd.ms-excel"},
        {"xlt", "application/vnd.ms-excel"},
        {"ppt", "application/vnd.ms-powerpoint"},
        {"msg", "application/vnd.ms-outlook"},
        {"bin", "application/octet-stream"},
    };
    size_t dot = n;
    for (size_t i = n; i > 0 && name[i - 1] != '/'; i--)
        if (name[i - 1] == '.') {
            dot = i - 1;
            break;
        }
    if (dot == n)
        return NULL;
    char ext[8];
    size_t el = n - dot - 1;
    if (el == 0 || el >= sizeof(ext))
        return NULL;
    for (size_t i = 0; i < el; i++) {
        char c = name[dot + 1 + i];
        ext[i] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    }
    ext[el] = '\0';
    for (size_t k = 0; k < SGW_ARRAY_LEN(map); k++)
        if (strcmp(ext, map[k].ext) == 0)
            return map[k].type;
    return NULL;
}

static int text_new(struct dec_env *env, unsigned nest, int record, int xml, struct dec **out);

/* vCard, iCalendar: raw text with its folded lines unfolded */
static int folded_new(struct dec_env *env, unsigned nest, int record, struct dec **out)
{
    struct dec *inner = NULL;
    if (record)
        dec_path_add(env, "unfold");
    int rc = dec_new_text(env, nest + 1, 0, &inner);
    return rc == SGW_OK ? dec_new_unfold(env, nest, inner, out) : rc;
}

/* Builds the structure decoder for a kind (charset handled by the caller). */
static int build_kind(struct dec_env *env, enum media_kind k, const struct media *m, unsigned nest,
                      int record, struct dec **out)
{
    int rc;
    struct dec *inner = NULL;
    switch (k) {
    case MK_JSON:
    case MK_NDJSON:
        if (record)
            dec_path_add(env, "json");
        return dec_new_json(env, nest, k == MK_NDJSON, out);
    case MK_FORM:
        if (record)
            dec_path_add(env, "form");
        return dec_new_form(env, nest, out);
    case MK_MULTIPART_FORM:
    case MK_MULTIPART:
        if (m->boundary[0] == '\0' || m->bad_params)
            return dec_new_reject(env, nest, "multipart without a valid boundary", out);
        if (record)
            dec_path_add(env, k == MK_MULTIPART_FORM ? "multipart>form" : "multipart");
        return dec_new_multipart(env, nest, m->boundary, strlen(m->boundary),
                                 k == MK_MULTIPART_FORM, out);
    case MK_CBOR:
        if (record)
            dec_path_add(env, "cbor");
        return dec_new_cbor(env, nest, out);
    case MK_MESSAGE:
        if (record)
            dec_path_add(env, "message");
        return dec_new_message(env, nest, 0, out);
    case MK_MBOX:
        if (record)
            dec_path_add(env, "mbox");
        return dec_new_mbox(env, nest, out);
    case MK_FOLDED:
        return folded_new(env, nest, record, out);
    case MK_EVENTSTREAM:
        if (record)
            dec_path_add(env, "eventstream>json");
        return dec_new_eventstream(env, nest, out);
    case MK_AWSCHUNKED:
        if (record)
            dec_path_add(env, "aws-chunked");
        rc = dec_new_sniff(env, nest + 1, record, NULL, &inner);
        if (rc != SGW_OK)
            return rc;
        return dec_new_awschunked(env, nest, inner, out);
    case MK_TEXT:
        return dec_new_text(env, nest, record, out);
    case MK_XML:
        return text_new(env, nest, record, 1, out);
    case MK_CSV:
        return text_new(env, nest, record, 3, out);
    case MK_HTML:
        return text_new(env, nest, record, 2, out);
    case MK_ZIP:
        if (record)
            dec_path_add(env, "zip");
        return dec_new_zip(env, nest, out);
    case MK_TAR:
        if (record)
            dec_path_add(env, "tar");
        return dec_new_tar(env, nest, out);
    case MK_PDF:
        if (record)
            dec_path_add(env, "pdf");
        return dec_new_pdf(env, nest, out);
    case MK_PARQUET:
        if (record)
            dec_path_add(env, "parquet");
        return dec_new_parquet(env, nest, out);
    case MK_AVRO:
        if (record)
            dec_path_add(env, "avro");
        return dec_new_avro(env, nest, out);
    case MK_PROTOBUF:
    case MK_GRPC:
    case MK_GRPC_WEB:
        if (record)
            dec_path_add(env, k == MK_PROTOBUF ? "protobuf" : "grpc>protobuf");
        return dec_new_protobuf(env, nest, k == MK_PROTOBUF ? 0 : k == MK_GRPC ? 1 : 2, out);
    case MK_X509:
        break; /* sniffed: DER, or PEM text */
    case MK_REJECT:
        return build_reject_fmt(env, nest, out, "content-type %.34s not inspectable", m->type);
    case MK_OLE:    /* sniffed: a `.doc` or `.msg` may be text (Tcl's message
                       catalogs), an `.xls` HTML or CSV (web exports); the
                       signature makes it a compound file */
    case MK_SNIFF:
    case MK_UNKNOWN:
        break;
    }
    char fb[DEC_REASON_LEN];
    if (m->type[0])
        snprintf(fb, sizeof(fb), "content-type %.34s not inspectable", m->type);
    else
        snprintf(fb, sizeof(fb), "binary content without a content-type not inspectable");
    return dec_new_sniff(env, nest, record, fb, out);
}

int dec_build_type(struct dec_env *env, const char *ct, size_t ctlen, unsigned nest, int record,
                   struct dec **out)
{
    struct media m;
    if (nest > DEC_MAX_NEST)
        return dec_new_reject(env, nest, "decoder nesting too deep", out);
    if (ct && ctlen == 16 && memcmp(ct, "application/json", 16) == 0) {
        /* the most common type, without parameters: what parsing gives */
        static const struct media json_media = {"application/json", "", "", 0, 0, 0};
        return build_kind(env, MK_JSON, &json_media, nest, record, out);
    }
    media_parse(ct ? ct : "", ct ? ctlen : 0, &m);
    enum media_kind k = media_kind(m.type);
    const char *cs = m.charset;
    int utf16 = -1; /* -1 none, 0 LE, 1 BE, 2 detect by BOM (default BE), 3 another charset */
    if (cs[0] == '\0' || strcmp(cs, "utf-8") == 0 || strcmp(cs, "utf8") == 0 ||
        strcmp(cs, "us-ascii") == 0) {
        utf16 = -1;
    } else if (strcmp(cs, "utf-16le") == 0) {
        utf16 = 0;
    } else if (strcmp(cs, "utf-16be") == 0) {
        utf16 = 1;
    } else if (strcmp(cs, "utf-16") == 0) {
        utf16 = 2;
    } else if (k != MK_REJECT && k != MK_MULTIPART && k != MK_MULTIPART_FORM && k != MK_CBOR && k != MK_MESSAGE && k != MK_MBOX &&
               k != MK_EVENTSTREAM && k != MK_ZIP && k != MK_TAR && k != MK_PROTOBUF && k != MK_GRPC &&
               k != MK_GRPC_WEB && k != MK_PDF && k != MK_PARQUET && k != MK_AVRO && k != MK_OLE) {
        utf16 = 3; /* windows-1251, iso-8859-7, shift_jis…: converted to UTF-8 */
    }
    if (utf16 < 0 || k == MK_REJECT || k == MK_ZIP || k == MK_TAR || k == MK_PROTOBUF || k == MK_GRPC ||
        k == MK_GRPC_WEB || k == MK_PDF || k == MK_PARQUET || k == MK_AVRO || k == MK_OLE)
        return build_kind(env, k, &m, nest, record, out);
    if (record)
        dec_path_add(env, utf16 == 3 ? cs : "utf16");
    struct dec *inner = NULL;
    int rc = build_kind(env, k, &m, nest + 1, record, &inner);
    if (rc != SGW_OK)
        return rc;
    if (utf16 == 3)
        return dec_new_charset(env, nest, cs, inner, out);
    return dec_new_utf16(env, nest, utf16 == 1 || utf16 == 2, utf16 == 2, inner, out);
}

int dec_build_nested(struct dec_env *env, const char *ct, size_t ctlen, unsigned nest,
                     const char *what, struct dec **out)
{
    struct media m;
    media_parse(ct ? ct : "", ct ? ctlen : 0, &m);
    if (m.type[0] == '\0') {
        char fb[DEC_REASON_LEN];
        snprintf(fb, sizeof(fb), "%.20s without a content type is binary", what);
        return dec_new_sniff(env, nest, 0, fb, out);
    }
    enum media_kind k = media_kind(m.type);
    if (k == MK_REJECT || strcmp(m.type, "application/octet-stream") == 0)
        return build_reject_fmt(env, nest, out, "%.20s of type %.30s", what, m.type);
    return dec_build_type(env, ct, ctlen, nest, 0, out);
}

int dec_build_mime(struct dec_env *env, const char *ct, size_t ctlen, unsigned nest, struct dec **out)
{
    struct media m;
    media_parse(ct, ctlen, &m);
    if (m.flowed && strcmp(m.type, "text/plain") == 0) {
        /* (Thunderbird's and Apple Mail's text: lines broken at spaces) */
        struct dec *inner = NULL;
        int rc = dec_build_nested(env, ct, ctlen, nest + 1, "MIME part", &inner);
        return rc == SGW_OK ? dec_new_unflow(env, nest, m.delsp, inner, out) : rc;
    }
    if (!starts_with(m.type, "multipart/"))
        return dec_build_nested(env, ct, ctlen, nest, "MIME part", out);
    if (nest > DEC_MAX_NEST)
        return dec_new_reject(env, nest, "decoder nesting too deep", out);
    if (m.boundary[0] == '\0' || m.bad_params)
        return dec_new_reject(env, nest, "multipart without a valid boundary", out);
    return dec_new_multipart_mime(env, nest, m.boundary, strlen(m.boundary), out);
}

/* Content-Encoding tokens, in the order they were applied. */
struct coding {
    const char *p;
    size_t n;
};

enum coding_kind {
    CK_IDENTITY,
    CK_GZIP,
    CK_DEFLATE,
    CK_BR,
    CK_ZSTD,
    CK_SNAPPY,
    CK_AWSCHUNKED,
    CK_UNKNOWN,
};

static enum coding_kind coding_kind(struct coding c)
{
    struct sgw_slice s = sgw_slice_make(c.p, c.n);
    if (sgw_slice_eq_nocase(s, "identity"))
        return CK_IDENTITY;
    if (sgw_slice_eq_nocase(s, "gzip") || sgw_slice_eq_nocase(s, "x-gzip"))
        return CK_GZIP;
    if (sgw_slice_eq_nocase(s, "deflate"))
        return CK_DEFLATE;
    if (sgw_slice_eq_nocase(s, "br"))
        return CK_BR;
    if (sgw_slice_eq_nocase(s, "zstd"))
        return CK_ZSTD;
    if (sgw_slice_eq_nocase(s, "snappy"))
        return CK_SNAPPY;
    if (sgw_slice_eq_nocase(s, "aws-chunked"))
        return CK_AWSCHUNKED;
    return CK_UNKNOWN;
}

static const char *coding_name(enum coding_kind k)
{
    switch (k) {
    case CK_GZIP:
        return "gzip";
    case CK_DEFLATE:
        return "deflate";
    case CK_BR:
        return "br";
    case CK_ZSTD:
        return "zstd";
    case CK_SNAPPY:
        return "snappy";
    case CK_AWSCHUNKED:
        return "aws-chunked";
    default:
        return "";
    }
}

/* ---- compression inside a declared coding (catalogue 4.1 case 6) ---- */

/* Between the innermost declared coding's decompressor and the body's
 * decoder: when the decompressed bytes start with gzip or zstd magic, one
 * more layer is decoded (DEC_MAX_CODINGS in all, declared or not), else the
 * bytes go on unchanged. */
struct dec_gate {
    struct dec base;
    int record;
    int decided;
    size_t path_at; /* where this layer's name goes in env->path */
    size_t len;
    uint8_t buf[4];
};

static const uint8_t gzip_magic[2] = {0x1f, 0x8b};
static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

/* Inserts ">name" into env->path at `at` (the rest moves right, cut to fit). */
static void path_insert(struct dec_env *env, size_t at, const char *name)
{
    char tail[DEC_PATH_LEN];
    snprintf(tail, sizeof(tail), "%s", env->path + at);
    snprintf(env->path + at, sizeof(env->path) - at, ">%s%s", name, tail);
}

static int gate_new(struct dec_env *env, unsigned nest, int record, size_t path_at,
                    struct dec *next, struct dec **out);

static int gate_decide(struct dec_gate *g)
{
    struct dec *d = &g->base;
    struct dec_env *env = d->env;
    int gz = g->len >= 2 && memcmp(g->buf, gzip_magic, 2) == 0;
    int zs = g->len == 4 && memcmp(g->buf, zstd_magic, 4) == 0;
    g->decided = 1;
    if (gz || zs) {
        if (env->codings >= DEC_MAX_CODINGS)
            return dec_fail(d, CLS_FF_BOMB, "too many nested compression layers");
        env->codings++;
        const char *name = gz ? "gzip" : "zstd";
        struct dec *inner = NULL, *w = NULL;
        int rc = gate_new(env, d->nest + 2, g->record,
                          g->path_at + (g->record ? strlen(name) + 1 : 0), d->next, &inner);
        if (rc != SGW_OK)
            return rc;
        d->next = NULL; /* the new gate has it */
        rc = gz ? dec_new_inflate(env, d->nest + 1, DEC_INF_GZIP, inner, &w)
                : dec_new_zstd(env, d->nest + 1, inner, &w);
        if (rc != SGW_OK)
            return rc; /* (inner, and the body's decoder with it, freed) */
        d->next = w;
        if (g->record)
            path_insert(env, g->path_at, name);
    }
    return dec_feed(d->next, g->buf, g->len);
}

/* Can buf[0..len) still become one of the two magics? */
static int gate_undecided(const struct dec_gate *g)
{
    if (g->len < 2)
        return g->len == 0 || g->buf[0] == gzip_magic[0] || g->buf[0] == zstd_magic[0];
    return g->len < 4 && memcmp(g->buf, zstd_magic, g->len) == 0;
}

static int gate_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_gate *g = (struct dec_gate *)d;
    if (g->decided)
        return dec_feed(d->next, p, n);
    size_t i = 0;
    while (i < n && gate_undecided(g))
        g->buf[g->len++] = p[i++];
    if (gate_undecided(g))
        return SGW_OK;
    int rc = gate_decide(g);
    if (rc != SGW_OK || d->dead)
        return rc;
    return dec_feed(d->next, p + i, n - i);
}

static int gate_finish(struct dec *d)
{
    struct dec_gate *g = (struct dec_gate *)d;
    if (!g->decided) {
        int rc = gate_decide(g);
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    return dec_finish(d->next);
}

static const struct dec_ops gate_ops = {"gate", gate_feed, gate_finish, NULL};

/* Takes `next` on success only. */
static int gate_new(struct dec_env *env, unsigned nest, int record, size_t path_at,
                    struct dec *next, struct dec **out)
{
    struct dec_gate *g = dec_alloc(sizeof(*g), &gate_ops, env, nest);
    if (!g)
        return SGW_ENOMEM;
    g->record = record;
    g->path_at = path_at;
    g->base.next = next;
    *out = &g->base;
    return SGW_OK;
}

#define MAX_CODING_TOKENS 8

int dec_build_chain(struct dec_env *env, const char *ct, const char *ce, unsigned nest, int record,
                    struct dec **out)
{
    enum coding_kind ks[MAX_CODING_TOKENS];
    size_t nk = 0, ncompress = 0;
    if (ce) {
        size_t len = strlen(ce), i = 0;
        while (i <= len) {
            size_t s = i;
            while (i < len && ce[i] != ',')
                i++;
            size_t e = i;
            while (s < e && is_ows((unsigned char)ce[s]))
                s++;
            while (e > s && is_ows((unsigned char)ce[e - 1]))
                e--;
            i++;
            if (e == s)
                continue; /* empty list elements are allowed (RFC 9110 §5.6.1) */
            struct coding c = {ce + s, e - s};
            enum coding_kind k = coding_kind(c);
            if (k == CK_UNKNOWN) {
                char name[40];
                size_t n = c.n < sizeof(name) - 1 ? c.n : sizeof(name) - 1;
                for (size_t j = 0; j < n; j++) {
                    unsigned char ch = (unsigned char)c.p[j];
                    name[j] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
                }
                name[n] = '\0';
                return build_reject_fmt(env, nest, out, "unsupported content-encoding %s", name);
            }
            if (k == CK_IDENTITY)
                continue;
            if (nk == MAX_CODING_TOKENS)
                return dec_new_reject(env, nest, "too many content-encodings", out);
            if (k != CK_AWSCHUNKED)
                ncompress++;
            ks[nk++] = k;
        }
    }
    if (ncompress > DEC_MAX_CODINGS)
        return dec_new_reject(env, nest, "too many content-encodings", out);
    if (nest + nk > DEC_MAX_NEST)
        return dec_new_reject(env, nest, "decoder nesting too deep", out);
    if (record)
        for (size_t i = nk; i-- > 0;)
            dec_path_add(env, coding_name(ks[i]));
    env->codings += (unsigned)ncompress;
    size_t path_at = strlen(env->path); /* after the codings' names */
    struct dec *d = NULL;
    int rc = dec_build_type(env, ct, ct ? strlen(ct) : 0, nest + (unsigned)nk, record, &d);
    if (rc != SGW_OK)
        return rc;
    if (nk && ks[0] != CK_AWSCHUNKED) {
        /* the innermost coding decompresses: what comes out may be
           compressed again */
        struct dec *g = NULL;
        rc = gate_new(env, nest + (unsigned)nk, record, path_at, d, &g);
        if (rc != SGW_OK) {
            dec_free(d);
            return rc;
        }
        d = g;
    }
    /* wrap from the first-applied coding (innermost) to the last (outermost) */
    for (size_t i = 0; i < nk; i++) {
        unsigned dn = nest + (unsigned)(nk - 1 - i);
        struct dec *w = NULL;
        switch (ks[i]) {
        case CK_GZIP:
            rc = dec_new_inflate(env, dn, DEC_INF_GZIP, d, &w);
            break;
        case CK_DEFLATE:
            rc = dec_new_inflate(env, dn, DEC_INF_DEFLATE, d, &w);
            break;
        case CK_BR:
            rc = dec_new_brotli(env, dn, d, &w);
            break;
        case CK_ZSTD:
            rc = dec_new_zstd(env, dn, d, &w);
            break;
        case CK_SNAPPY:
            rc = dec_new_snappy(env, dn, d, &w);
            break;
        case CK_AWSCHUNKED:
            rc = dec_new_awschunked(env, dn, d, &w);
            break;
        default:
            rc = SGW_EINVAL;
            dec_free(d);
            break;
        }
        if (rc != SGW_OK)
            return rc; /* the constructors free `d` on failure */
        d = w;
    }
    *out = d;
    return SGW_OK;
}

/* ---- reject: uninspectable on the first byte ---- */

struct dec_reject {
    struct dec base;
    char reason[DEC_REASON_LEN];
};

static int reject_feed(struct dec *d, const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    struct dec_reject *r = (struct dec_reject *)d;
    return dec_fail(d, 0, "%s", r->reason);
}

static int reject_finish(struct dec *d)
{
    (void)d;
    return SGW_OK;
}

static const struct dec_ops reject_ops = {"reject", reject_feed, reject_finish, NULL};

int dec_new_reject(struct dec_env *env, unsigned nest, const char *reason, struct dec **out)
{
    struct dec_reject *r = dec_alloc(sizeof(*r), &reject_ops, env, nest);
    if (!r)
        return SGW_ENOMEM;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    *out = &r->base;
    return SGW_OK;
}

/* ---- raw text ---- */

/* Declared text is passed on as is, but compressed or binary data labelled
 * text (a classic evasion) is refused: the first bytes are checked for a
 * known binary signature first. UTF-16 labelled as text (or as UTF-8: a
 * label costs nothing to forge) would pass as bytes with a NUL between
 * letters and digits, where nothing matches: it is decoded as UTF-16
 * instead, found by its BOM or by the NULs of its first bytes (text_u16). */
#define TEXT_PEEK 16u
#define TEXT_HTML_SPAN (1u << 20) /* an HTML block's bytes past which a blank line ends it
                                     even inside a table (text_html) */

struct dec_text {
    struct dec base;
    int checked;
    int record; /* name "utf16" in the chain's path when found */
    int xml;    /* declared XML (1) or HTML (2): through the XML decoder; CSV (3):
                   through the CSV decoder */
    size_t peek_len;
    struct dec *inner; /* owned: JSON or UTF-16 decoding of the text, or NULL */
    struct dec_tab *tab; /* owned, made for the first markdown table */
    int tab_on;          /* the text goes through tab */
    struct dec *htm;     /* owned: an HTML block (dec_html_line) the text goes
                            through, until a blank line */
    uint64_t hsrc;       /* ... the source offset of its first byte (dec_text_where) */
    uint64_t hin;        /* ... its bytes so far */
    int8_t lead;         /* the line so far is this many spaces (0..3: a '|'
                            or '<' next may begin a table), -1 when it is more */
    int8_t hws;          /* in htm: a line began and is white space so far */
    int8_t hold_lead;    /* lead before the held line */
    uint8_t hold_len;    /* a line's first bytes ('<' first) that do not tell
                            yet whether it begins HTML, held */
    uint8_t hold[DEC_HTML_LINE];
    uint8_t peek[TEXT_PEEK];
};

static int sniff_utf16(const uint8_t *b, size_t n);
static int text_plain(struct dec_text *t, const uint8_t *p, size_t n);

/* UTF-16 as the text decoder takes it: a BOM, or a first code unit with
 * one NUL byte (ASCII, the shape of nearly all text that gets through) and
 * sniff_utf16 agreeing over the first TEXT_PEEK bytes. 0 not UTF-16, 1 LE,
 * 2 BE, 3 by its BOM. */
static int text_u16(const uint8_t *b, size_t n)
{
    if (n >= 2 && ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff)))
        return 3;
    if (n >= 2 && (b[0] == 0) != (b[1] == 0))
        return sniff_utf16(b, n < TEXT_PEEK ? n : TEXT_PEEK);
    return 0;
}

int dec_looks_utf16(const uint8_t *b, size_t n)
{
    /* (a BOM alone is no proof where the bytes come from a guess: "//" in
       a path begins base64 that decodes to FF FE) */
    size_t k = n >= 2 && ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff)) ? 2 : 0;
    return n - k >= TEXT_PEEK && (b[k] == 0) != (b[k + 1] == 0) && sniff_utf16(b + k, TEXT_PEEK) != 0;
}

/* Can more bytes still change text_u16's verdict on b[0, n)? The bytes are
 * held while they can, so that the verdict is taken on the same bytes
 * however the body was cut into pieces; ordinary text is decided on its
 * first two bytes. */
static int text_u16_open(const uint8_t *b, size_t n)
{
    if (n < 2)
        return 1;
    if ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff))
        return 0;
    return (b[0] == 0) != (b[1] == 0) && n < TEXT_PEEK;
}

/* How the text begins (dec_begins_markup): markup_start[k] whole (1), a
 * proper prefix of it only (2), or neither (0). */
static const char *const markup_start[] = {"<?xml", "<!doctype html", "<html"};

int dec_begins_markup(const uint8_t *b, size_t n, const char *m)
{
    size_t l = strlen(m), i = 0;
    while (i < l && i < n && (b[i] >= 'A' && b[i] <= 'Z' ? b[i] | 0x20 : b[i]) == m[i])
        i++;
    return i == l ? 1 : i == n ? 2 : 0;
}

int dec_html_line(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, int whole)
{
    static const char *const tag[] = {"<!doctype html", "<html", "<head", "<body", "<table"};
    uint8_t h[DEC_HTML_LINE]; /* (the longest tag, and the byte after it) */
    size_t hn = an < sizeof(h) ? an : sizeof(h);
    memcpy(h, a, hn);
    size_t bk = bn < sizeof(h) - hn ? bn : sizeof(h) - hn;
    if (bk) /* (b may be NULL when bn is 0) */
        memcpy(h + hn, b, bk);
    hn += bk;
    int wait = 0;
    for (size_t t = 0; t < SGW_ARRAY_LEN(tag); t++) {
        int r = dec_begins_markup(h, hn, tag[t]);
        size_t l = strlen(tag[t]);
        if (r == 1 && hn > l) { /* a tag's name ends there ("<header" is none) */
            uint8_t c = h[l];
            if (c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/')
                return 1;
        } else if (r == 1 && whole) {
            return 1;
        } else if (r != 0 && !whole) {
            wait = 1;
        }
    }
    return wait ? -1 : 0;
}

static int text_begins(const uint8_t *b, size_t n, size_t k)
{
    return dec_begins_markup(b, n, markup_start[k]);
}

/* Does the text begin as an HTML document ("<!doctype html", "<html")? */
static int text_is_html(const uint8_t *b, size_t n)
{
    return text_begins(b, n, 1) == 1 || text_begins(b, n, 2) == 1;
}

/* Can more bytes still make the text begin as XML or HTML? (held until
 * then, so that the verdict does not depend on the split) */
static int text_markup_open(const uint8_t *b, size_t n)
{
    for (size_t k = 0; k < SGW_ARRAY_LEN(markup_start); k++)
        if (text_begins(b, n, k) == 2)
            return 1;
    return 0;
}

/* Text that begins with '{' or '[' (a JSON body sent as text/plain) goes
 * through the lenient JSON decoder: its escapes ("\u0041KIA") are resolved,
 * and text that is not JSON after all passes raw from the first error.
 * Declared XML, and text that begins with "<?xml", go through the XML
 * decoder. UTF-16 goes through the UTF-16 decoder into text decoding
 * again. */
static int text_check(struct dec_text *t)
{
    t->checked = 1;
    const char *magic = dec_binary_magic(t->peek, t->peek_len);
    if (magic)
        return dec_fail(&t->base, 0, "text body holds %s", magic);
    int u16 = text_u16(t->peek, t->peek_len);
    if (u16) {
        if (t->base.nest + 2 > DEC_MAX_NEST)
            return dec_fail(&t->base, 0, "decoder nesting too deep");
        if (t->record)
            dec_path_add(t->base.env, "utf16");
        struct dec *text = NULL;
        int rc = text_new(t->base.env, t->base.nest + 2, t->record, t->xml, &text);
        if (rc == SGW_OK)
            rc = dec_new_utf16(t->base.env, t->base.nest + 1, u16 != 1, u16 == 3, text, &t->inner);
        if (rc != SGW_OK)
            return rc;
        return dec_feed(t->inner, t->peek, t->peek_len);
    }
    if (t->xml == 3 && t->base.nest + 1 <= DEC_MAX_NEST) {
        if (t->record)
            dec_path_add(t->base.env, "csv");
        int rc = dec_new_csv(t->base.env, t->base.nest + 1, &t->inner);
        if (rc != SGW_OK)
            return rc;
        return dec_feed(t->inner, t->peek, t->peek_len);
    }
    int html = t->xml == 2 || text_is_html(t->peek, t->peek_len);
    if ((t->xml == 1 || html || text_begins(t->peek, t->peek_len, 0) == 1) &&
        t->base.nest + 1 <= DEC_MAX_NEST) {
        if (t->record)
            dec_path_add(t->base.env, html ? "html" : "xml");
        int rc = dec_new_xml(t->base.env, t->base.nest + 1, html, &t->inner);
        if (rc != SGW_OK)
            return rc;
        return dec_feed(t->inner, t->peek, t->peek_len);
    }
    if (t->peek_len && (t->peek[0] == '{' || t->peek[0] == '[') &&
        t->base.nest + 1 <= DEC_MAX_NEST) {
        int rc = dec_new_json_lenient(t->base.env, t->base.nest + 1, &t->inner);
        if (rc != SGW_OK)
            return rc;
        return dec_feed(t->inner, t->peek, t->peek_len);
    }
    return text_plain(t, t->peek, t->peek_len);
}

/* Is the '|' or '<' at p[j] a line's first byte after up to three spaces
 * (*ind of them), the line before p being lead spaces so far (-1: more)? */
static int pipe_leads(const uint8_t *p, size_t j, int lead, unsigned *ind)
{
    size_t k = j;
    while (k > 0 && j - k < 3 && p[k - 1] == ' ')
        k--;
    if (k > 0 ? p[k - 1] != '\n' : lead < 0 || lead + (int)j > 3)
        return 0;
    *ind = (unsigned)(j - k) + (k == 0 ? (unsigned)lead : 0u);
    return 1;
}

/* Where in p[from..n) a '|' or '<' is a line's first byte after up to
 * three spaces (a markdown row, or an indented one; an HTML block), the
 * line before p being lead spaces so far (-1: more than that): n when
 * nowhere; *ind the spaces before it. Pipes and '<' in the middle of
 * lines (code's "||", shell pipes, prose) are passed over. */
static size_t line_mark_scalar(const uint8_t *p, size_t from, size_t n, int lead, unsigned *ind)
{
    for (size_t j = from; j < n; j++)
        if ((p[j] == '|' || p[j] == '<') && pipe_leads(p, j, lead, ind))
            return j;
    return n;
}

/* The lead of the line that p[0..n) ends in (lead: the line's before p) */
static int line_lead(const uint8_t *p, size_t n, int lead)
{
    size_t c = 0;
    while (c < n && c <= 3 && p[n - 1 - c] == ' ')
        c++;
    if (c == n)
        return lead >= 0 && lead + (int)c <= 3 ? lead + (int)c : -1;
    return p[n - 1 - c] == '\n' && c <= 3 ? (int)c : -1;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static size_t line_mark_avx2(const uint8_t *p, size_t n, int lead, unsigned *ind)
{
    const __m256i bar = _mm256_set1_epi8('|'), lt = _mm256_set1_epi8('<');
    size_t i = 0;
    for (; i + 32 <= n; i += 32) { /* (both are rare in prose: a block has none) */
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i e = _mm256_or_si256(_mm256_cmpeq_epi8(b, bar), _mm256_cmpeq_epi8(b, lt));
        for (unsigned m = (unsigned)_mm256_movemask_epi8(e); m; m &= m - 1) {
            size_t j = i + (size_t)__builtin_ctz(m);
            if (pipe_leads(p, j, lead, ind))
                return j;
        }
    }
    return line_mark_scalar(p, i, n, lead, ind);
}
#endif

size_t dec_line_mark_impl(const uint8_t *p, size_t n, int lead, unsigned *ind, int level)
{
#if defined(__x86_64__)
    if (level >= DEC_SIMD_AVX2)
        return line_mark_avx2(p, n, lead, ind);
#endif
    (void)level;
    return line_mark_scalar(p, 0, n, lead, ind);
}

static size_t line_mark(const uint8_t *p, size_t n, int lead, unsigned *ind)
{
    return dec_line_mark_impl(p, n, lead, ind, dec_simd_level());
}

/* An HTML block begins (the text before it went out): its own units, and
 * where its first byte comes from. */
static int text_html_begin(struct dec_text *t)
{
    struct dec_env *env = t->base.env;
    int rc = dec_text_boundary(env);
    if (rc != SGW_OK)
        return rc;
    t->hsrc = dec_text_where(env->text);
    t->hin = 0;
    t->hws = 0;
    return dec_new_xml(env, t->base.nest + 1, 1, &t->htm);
}

/* The HTML block ends: the HTML decoder finishes, and the text after it
 * comes from the block's source offset and length: the HTML decoder's
 * text is not the source's (it drops the markup), and raw text's findings
 * give the file's own offsets. (Findings inside the block lie in it, not
 * on their bytes.) */
static int text_html_end(struct dec_text *t)
{
    struct dec_env *env = t->base.env;
    int rc = dec_close(&t->htm);
    if (rc == SGW_OK)
        rc = dec_text_boundary(env);
    return rc == SGW_OK ? dec_text_resume(env->text, t->hsrc + t->hin) : rc;
}

/* Bytes of an HTML block, p[0..n): to the HTML decoder up to and with the
 * first blank line (white space only), which ends the block, as CommonMark
 * ends one; the text after it is read as before. A blank line inside a
 * table, a tag or a comment (dec_xml_open: a page from a template engine
 * has them between rows) does not end it, up to TEXT_HTML_SPAN bytes of
 * the block. Returns what it took. */
static size_t text_html(struct dec_text *t, const uint8_t *p, size_t n, int *rc)
{
    size_t i = 0;
    int end = 0;
    while (i < n && !end) {
        if (t->hws) {
            uint8_t c = p[i];
            int ws = c == ' ' || c == '\t' || c == '\r';
            end = c == '\n';
            i += ws || end;
            t->hws = (int8_t)(ws || end);
            continue;
        }
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        i = nl ? (size_t)(nl - p) + 1 : n;
        t->hws = nl != NULL;
    }
    *rc = dec_feed(t->htm, p, i);
    t->hin += i;
    if (end && t->hin < TEXT_HTML_SPAN && dec_xml_open(t->htm))
        end = 0;
    if (end && *rc == SGW_OK) {
        *rc = text_html_end(t);
        t->lead = 0; /* (a line begins) */
    }
    return i;
}

static int text_plain_once(struct dec_text *t, const uint8_t *p, size_t n);

/* The held line's first bytes, then p[0..n) (p NULL at the end: whole):
 * HTML begins there, or the '<' is text; or, when they still do not tell,
 * all of p is held too. *took: what of p was taken. */
static int text_unhold(struct dec_text *t, const uint8_t *p, size_t n, size_t *took)
{
    int h = dec_html_line(t->hold, t->hold_len, p, n, p == NULL);
    *took = 0;
    if (h < 0) { /* (then hold_len + n < DEC_HTML_LINE) */
        memcpy(t->hold + t->hold_len, p, n);
        t->hold_len = (uint8_t)(t->hold_len + n);
        *took = n;
        return SGW_OK;
    }
    uint8_t b[DEC_HTML_LINE];
    size_t bl = t->hold_len;
    memcpy(b, t->hold, bl);
    t->hold_len = 0;
    t->lead = t->hold_lead;
    if (h > 0) {
        int rc = text_html_begin(t);
        return rc == SGW_OK ? text_plain_once(t, b, bl) : rc;
    }
    int rc = dec_text_data(t->base.env, b, 1); /* (the '<' is text) */
    t->lead = -1;
    return rc == SGW_OK ? text_plain_once(t, b + 1, bl - 1) : rc;
}

/* Raw text passed on, with its markdown tables: a '|' first on a line
 * begins one (struct dec_tab: each cell a unit under its column's name,
 * as in a CSV file), which ends where a line that is no row begins; after
 * up to three spaces (a table indented under a list item) one whose rows
 * are the lines with a '|' (bare: split as its header's line). A
 * knowledge base's .md file, a text/plain prompt with a table, otherwise
 * had the header's words for the first row or two. A line that begins an
 * HTML document or table (dec_html_line; after up to three spaces, as
 * markdown's HTML blocks: a table a converter kept as HTML) goes through
 * the HTML decoder with the lines after it, up to a blank line
 * (text_html); until its first bytes tell, they are held. Outside a table
 * the cost is one SIMD pass for the text's pipes and '<' (line_mark). */
static int text_plain(struct dec_text *t, const uint8_t *p, size_t n)
{
    int rc = SGW_OK;
    while (t->hold_len && n > 0 && rc == SGW_OK) {
        size_t took;
        rc = text_unhold(t, p, n, &took);
        p += took;
        n -= took;
    }
    return rc == SGW_OK ? text_plain_once(t, p, n) : rc;
}

static int text_plain_once(struct dec_text *t, const uint8_t *p, size_t n)
{
    struct dec_env *env = t->base.env;
    int rc = SGW_OK;
    while (n > 0 && rc == SGW_OK) {
        if (t->htm) {
            size_t k = text_html(t, p, n, &rc);
            p += k;
            n -= k;
            continue;
        }
        if (t->tab_on) {
            size_t k = dec_tab_feed(env, t->tab, p, n, &rc);
            t->lead = (int8_t)line_lead(p, k, t->lead);
            t->tab_on = !t->tab->ended;
            p += k;
            n -= k;
            continue;
        }
        unsigned ind = 0;
        size_t k = line_mark(p, n, t->lead, &ind);
        const uint8_t *q = k < n ? p + k : NULL;
        if (k)
            rc = dec_text_data(env, p, k);
        t->lead = (int8_t)line_lead(p, k, t->lead);
        p += k;
        n -= k;
        if (!q || rc != SGW_OK)
            continue;
        if (*q == '<') {
            int h = t->base.nest + 1 <= DEC_MAX_NEST ? dec_html_line(p, n, NULL, 0, 0) : 0;
            if (h < 0) { /* (held: n < DEC_HTML_LINE) */
                memcpy(t->hold, p, n);
                t->hold_len = (uint8_t)n;
                t->hold_lead = t->lead;
                return SGW_OK;
            }
            if (h > 0) {
                rc = text_html_begin(t);
                continue;
            }
            rc = dec_text_data(env, p, 1); /* (a '<' that begins no block) */
            t->lead = -1;
            p++;
            n--;
            continue;
        }
        if (!t->tab && !(t->tab = malloc(sizeof(*t->tab))))
            return SGW_ENOMEM;
        rc = dec_text_boundary(env); /* (the text before the table is a unit) */
        dec_tab_begin(t->tab, '|', NULL, 0);
        t->tab->bare = ind > 0; /* (indented rows: the lines with a '|') */
        t->tab_on = 1;
    }
    return rc;
}

static int text_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_text *t = (struct dec_text *)d;
    if (!t->checked) {
        size_t take = TEXT_PEEK - t->peek_len;
        if (take > n)
            take = n;
        memcpy(t->peek + t->peek_len, p, take);
        t->peek_len += take;
        p += take;
        n -= take;
        /* hold bytes only while they may still begin a signature or be
           UTF-16 */
        if (t->peek_len < TEXT_PEEK &&
            (dec_binary_magic_prefix(t->peek, t->peek_len) || text_u16_open(t->peek, t->peek_len) ||
             text_markup_open(t->peek, t->peek_len)))
            return SGW_OK;
        int rc = text_check(t);
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    if (t->inner)
        return dec_feed(t->inner, p, n);
    return text_plain(t, p, n);
}

static int text_finish(struct dec *d)
{
    struct dec_text *t = (struct dec_text *)d;
    if (!t->checked) {
        int rc = text_check(t);
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    if (t->inner)
        return dec_finish(t->inner);
    if (t->hold_len) { /* (the end tells) */
        size_t took;
        int rc = text_unhold(t, NULL, 0, &took);
        if (rc != SGW_OK)
            return rc;
    }
    if (t->htm)
        return dec_close(&t->htm);
    return t->tab_on ? dec_tab_end(d->env, t->tab) : dec_text_boundary(d->env);
}

static void text_destroy(struct dec *d)
{
    dec_free(((struct dec_text *)d)->inner);
    dec_free(((struct dec_text *)d)->htm);
    free(((struct dec_text *)d)->tab);
}

static const struct dec_ops text_ops = {"text", text_feed, text_finish, text_destroy};

static int text_new(struct dec_env *env, unsigned nest, int record, int xml, struct dec **out)
{
    struct dec_text *t = dec_alloc(sizeof(*t), &text_ops, env, nest);
    if (!t)
        return SGW_ENOMEM;
    t->record = record;
    t->xml = xml;
    *out = &t->base; /* (lead 0: the text begins a line) */
    return SGW_OK;
}

int dec_new_text(struct dec_env *env, unsigned nest, int record, struct dec **out)
{
    return text_new(env, nest, record, 0, out);
}

/* ---- sniffing ---- */

#define SNIFF_MAX 512u

struct dec_sniff {
    struct dec base;
    int record;
    int decided;
    size_t len;
    uint8_t buf[SNIFF_MAX];
    char fallback[DEC_REASON_LEN]; /* reason when not text; "" = "binary body" */
};

static int sniff_is_eventstream(const uint8_t *b, size_t n)
{
    if (n < 12)
        return 0;
    struct sgw_cursor c;
    sgw_cursor_init(&c, b, 12);
    uint32_t total = sgw_cursor_be32(&c);
    uint32_t hlen = sgw_cursor_be32(&c);
    uint32_t crc = sgw_cursor_be32(&c);
    if (total < 16 || hlen > total - 16)
        return 0;
    return (uint32_t)crc32(0L, b, 8) == crc;
}

/* The header a mail message begins with (Python's email, nodemailer, an
 * MTA's trace headers), then header lines only, and MIME-Version among
 * them: only MIME mail has transfer encodings worth reading. When the
 * bytes seen end inside the header block (a base64 run is judged on its
 * first 192 decoded bytes; nodemailer writes MIME-Version last), two
 * header lines or more do, after a first header that only mail begins
 * with (not Date, and Content-Type only with a multipart type). */
int dec_looks_message(const uint8_t *b, size_t n)
{
    static const char *const first[] = {"return-path",  "received", "from",           "to",
                                        "subject",      "date",     "message-id",     "mime-version",
                                        "delivered-to", "reply-to", "dkim-signature", "content-type",
                                        "sender",       "cc",       "x-mailer",       "x-ses-configuration-set"};
    size_t c = 0;
    while (c < n && c < 32 && b[c] != ':')
        c++;
    if (c == n || b[c] != ':' || c == 0)
        return 0;
    size_t known = SGW_ARRAY_LEN(first);
    for (size_t k = 0; k < SGW_ARRAY_LEN(first) && known == SGW_ARRAY_LEN(first); k++)
        if (strlen(first[k]) == c && strncasecmp((const char *)b, first[k], c) == 0)
            known = k;
    if (known == SGW_ARRAY_LEN(first))
        return 0;
    size_t i = 0, lines = 0;
    int mime = 0;
    for (;;) {
        const uint8_t *nl = i < n ? memchr(b + i, '\n', n - i) : NULL;
        if (!nl)
            break; /* (the bytes seen end in a line) */
        size_t e = (size_t)(nl - b), le = e;
        if (le > i && b[le - 1] == '\r')
            le--;
        if (le == i)
            return mime; /* the header block ended */
        if (!dec_mime_header_line(b + i, le - i, lines == 0))
            return 0; /* no header: prose that begins like one */
        mime |= le - i >= 13 && strncasecmp((const char *)b + i, "mime-version:", 13) == 0;
        lines++;
        i = e + 1;
    }
    if (mime)
        return 1;
    if (lines < 2 || strcmp(first[known], "date") == 0)
        return 0;
    if (strcmp(first[known], "content-type") != 0)
        return 1;
    size_t v = c + 1;
    while (v < n && (b[v] == ' ' || b[v] == '\t'))
        v++;
    return n - v >= 10 && strncasecmp((const char *)b + v, "multipart/", 10) == 0;
}

static int sniff_is_cbor(const uint8_t *b, size_t n)
{
    if (n >= 3 && b[0] == 0xd9 && b[1] == 0xd9 && b[2] == 0xf7)
        return 1; /* self-described CBOR tag 55799 */
    if (n >= 1 && ((b[0] >= 0xa1 && b[0] <= 0xb7) || b[0] == 0xbf))
        return n >= 2 && ((b[1] >= 0x60 && b[1] <= 0x77) || b[1] == 0x7f);
    return 0;
}

/* 0 none, 1 LE, 2 BE: many NULs at alternating positions. */
static int sniff_utf16(const uint8_t *b, size_t n)
{
    if (n < 8)
        return 0;
    size_t z_even = 0, z_odd = 0, half = n / 2;
    for (size_t i = 0; i + 1 < n; i += 2) {
        z_even += b[i] == 0;
        z_odd += b[i + 1] == 0;
    }
    if (z_odd * 10 >= half * 6 && z_even * 10 <= half)
        return 1;
    if (z_even * 10 >= half * 6 && z_odd * 10 <= half)
        return 2;
    return 0;
}

/* The compression whose data b[0..n) begins as (the sniffer inflates it,
 * then reads what comes out), or 0. */
enum { SC_GZIP = 1, SC_ZSTD, SC_ZLIB, SC_XZ, SC_BZIP2 };
static int sniff_coding(const uint8_t *b, size_t n)
{
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return SC_GZIP;
    if (n >= 4 && memcmp(b, "\x28\xb5\x2f\xfd", 4) == 0)
        return SC_ZSTD;
    if (dec_looks_zlib(b, n))
        return SC_ZLIB;
    return dec_looks_xz(b, n) ? SC_XZ : dec_looks_bzip2(b, n) ? SC_BZIP2 : 0;
}

static int sniff_decide(struct dec_sniff *s)
{
    struct dec *d = &s->base;
    struct dec_env *env = d->env;
    const uint8_t *b = s->buf;
    size_t n = s->len, skip = 0;
    struct dec *inner = NULL, *w = NULL;
    unsigned nest = d->nest + 1;
    int rc;
    s->decided = 1;
    if (n == 0)
        return SGW_OK;
    if (nest > DEC_MAX_NEST)
        return dec_fail(d, 0, "decoder nesting too deep");
    int ck = sniff_coding(b, n);
    if (ck) {
        static const char *const name[] = {"", "gzip", "zstd", "zlib", "xz", "bzip2"};
        if (env->codings >= DEC_MAX_CODINGS)
            return dec_fail(d, CLS_FF_BOMB, "too many nested compression layers");
        env->codings++;
        if (s->record)
            dec_path_add(env, name[ck]);
        rc = dec_new_sniff(env, nest + 1, s->record, s->fallback, &inner);
        if (rc == SGW_OK)
            rc = ck == SC_GZIP || ck == SC_ZLIB ? dec_new_inflate(env, nest, ck == SC_GZIP ? DEC_INF_GZIP : DEC_INF_DEFLATE, inner, &w)
                 : ck == SC_ZSTD ? dec_new_zstd(env, nest, inner, &w)
                 : ck == SC_XZ   ? dec_new_xz(env, nest, inner, &w)
                                 : dec_new_bzip2(env, nest, inner, &w);
    } else if (n >= 2 && ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff))) {
        if (s->record)
            dec_path_add(env, "utf16");
        rc = dec_new_sniff(env, nest + 1, s->record, s->fallback, &inner);
        if (rc == SGW_OK)
            rc = dec_new_utf16(env, nest, 1, 1, inner, &w);
    } else if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) {
        /* UTF-8 BOM: decide on what follows it */
        skip = 3;
        rc = dec_new_sniff(env, nest, s->record, s->fallback, &w);
    } else if (n >= 4 && memcmp(b, "PK\x03\x04", 4) == 0) {
        if (s->record)
            dec_path_add(env, "zip");
        rc = dec_new_zip(env, nest, &w);
    } else if (dec_looks_kpl(b, n)) {
        if (s->record)
            dec_path_add(env, "kpl>protobuf");
        rc = dec_new_kpl(env, nest, &w);
    } else if (dec_looks_tar(b, n)) {
        if (s->record)
            dec_path_add(env, "tar");
        rc = dec_new_tar(env, nest, &w);
    } else if (dec_looks_pdf(b, n)) {
        if (s->record)
            dec_path_add(env, "pdf");
        rc = dec_new_pdf(env, nest, &w);
    } else if (dec_looks_parquet(b, n)) {
        if (s->record)
            dec_path_add(env, "parquet");
        rc = dec_new_parquet(env, nest, &w);
    } else if (dec_looks_avro(b, n)) {
        if (s->record)
            dec_path_add(env, "avro");
        rc = dec_new_avro(env, nest, &w);
    } else if (dec_looks_ole(b, n)) {
        if (s->record)
            dec_path_add(env, "ole");
        rc = dec_new_ole(env, nest, &w);
    } else if (dec_x509_shape(b, n)) {
        if (s->record)
            dec_path_add(env, "x509");
        rc = dec_new_x509(env, nest, 0, &w);
    } else if (sniff_is_eventstream(b, n)) {
        if (s->record)
            dec_path_add(env, "eventstream>json");
        rc = dec_new_eventstream(env, nest, &w);
    } else if (sniff_is_cbor(b, n)) {
        if (s->record)
            dec_path_add(env, "cbor");
        rc = dec_new_cbor(env, nest, &w);
    } else {
        const char *magic = dec_binary_magic(b, n);
        if (magic)
            return dec_fail(d, 0, "%s not inspectable", magic);
        int u16 = sniff_utf16(b, n);
        size_t i = 0;
        while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
            i++;
        if (u16) {
            if (s->record)
                dec_path_add(env, "utf16");
            rc = dec_new_sniff(env, nest + 1, s->record, s->fallback, &inner);
            if (rc == SGW_OK)
                rc = dec_new_utf16(env, nest, u16 == 2, 0, inner, &w);
        } else if (n - i >= 11 && (strncasecmp((const char *)b + i, "BEGIN:VCARD", 11) == 0 ||
                                   (n - i >= 15 && strncasecmp((const char *)b + i, "BEGIN:VCALENDAR", 15) == 0))) {
            rc = folded_new(env, nest, s->record, &w);
        } else if (dec_looks_mbox(b, n)) {
            if (s->record)
                dec_path_add(env, "mbox");
            rc = dec_new_mbox(env, nest, &w);
        } else if (dec_looks_message(b, n)) {
            if (s->record)
                dec_path_add(env, "message");
            rc = dec_new_message(env, nest, 1, &w);
        } else if (i < n && (b[i] == '{' || b[i] == '[')) {
            /* as JSON sent as text/plain: leniently, text that only looks
               like JSON (an INI file's "[section]", a log's "[INFO]")
               passes raw from its first syntax error, all of it scanned */
            if (s->record)
                dec_path_add(env, "json");
            rc = dec_new_json_lenient(env, nest, &w);
        } else if (dec_looks_text(b, n) && dec_looks_csv(b, n)) {
            /* a table without its type (an S3 upload with none, a file
               without its name): cells under their column's name */
            rc = text_new(env, nest, s->record, 3, &w);
        } else if (dec_looks_text(b, n)) {
            rc = dec_new_text(env, nest, s->record, &w);
        } else if (dec_looks_8bit_text(b, n)) {
            /* its charset unknown: its ASCII is read, letters pass raw */
            if (s->record)
                dec_path_add(env, "8bit");
            rc = dec_new_text(env, nest, s->record, &w);
        } else if (s->fallback[0]) {
            return dec_fail(d, 0, "%s", s->fallback);
        } else {
            return dec_fail(d, 0, "binary content not inspectable");
        }
    }
    if (rc != SGW_OK)
        return rc;
    d->next = w;
    return dec_feed(w, b + skip, n - skip);
}

static int sniff_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_sniff *s = (struct dec_sniff *)d;
    if (s->decided)
        return dec_feed(d->next, p, n);
    size_t take = SNIFF_MAX - s->len;
    if (take > n)
        take = n;
    memcpy(s->buf + s->len, p, take);
    s->len += take;
    if (s->len < SNIFF_MAX)
        return SGW_OK;
    int rc = sniff_decide(s);
    if (rc != SGW_OK || d->dead)
        return rc;
    return dec_feed(d->next, p + take, n - take);
}

static int sniff_finish(struct dec *d)
{
    struct dec_sniff *s = (struct dec_sniff *)d;
    if (!s->decided) {
        int rc = sniff_decide(s);
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    return dec_finish(d->next);
}

static const struct dec_ops sniff_ops = {"sniff", sniff_feed, sniff_finish, NULL};

int dec_new_sniff(struct dec_env *env, unsigned nest, int record, const char *fallback_ct,
                  struct dec **out)
{
    struct dec_sniff *s = dec_alloc(sizeof(*s), &sniff_ops, env, nest);
    if (!s)
        return SGW_ENOMEM;
    s->record = record;
    if (fallback_ct)
        snprintf(s->fallback, sizeof(s->fallback), "%s", fallback_ct);
    *out = &s->base;
    return SGW_OK;
}

/* ---- the public chain ---- */

size_t cls_decode_chain_mem(void)
{
    return CHAIN_HEAD_SIZE + ((dec_text_stages_size() + 63u) & ~(size_t)63u) + DEC_CHAIN_SPARE;
}

int cls_decode_chain_new(const char *content_type, const char *content_encoding,
                         const struct cls_decode_limits *lim, const struct cls_sink *final,
                         struct cls_decode_chain **out)
{
    if (!out)
        return SGW_EINVAL;
    *out = NULL;
    void *mem = malloc(cls_decode_chain_mem());
    if (!mem)
        return SGW_ENOMEM;
    int rc = cls_decode_chain_init(mem, content_type, content_encoding, lim, final, out);
    if (rc != SGW_OK)
        free(mem);
    return rc;
}

int cls_decode_chain_init(void *mem, const char *content_type, const char *content_encoding,
                          const struct cls_decode_limits *lim, const struct cls_sink *final,
                          struct cls_decode_chain **out)
{
    int rc = SGW_EINVAL;
    struct cls_decode_chain *c = NULL;
    if (!mem || !final || !out || !final->data || !final->boundary || !final->context ||
        !final->uninspectable)
        goto fail;
    size_t stages = (dec_text_stages_size() + 63u) & ~(size_t)63u;
    c = mem;
    memset(c, 0, offsetof(struct cls_decode_chain, env) + offsetof(struct dec_env, reasons));
    if (lim)
        c->env.lim = *lim;
    if (c->env.lim.max_decoded == 0)
        c->env.lim.max_decoded = DEC_DEFAULT_MAX_DECODED;
    if (c->env.lim.max_ratio == 0)
        c->env.lim.max_ratio = DEC_DEFAULT_MAX_RATIO;
    if (c->env.lim.max_depth == 0)
        c->env.lim.max_depth = DEC_DEFAULT_MAX_DEPTH;
    if (c->env.lim.max_depth > 1024)
        c->env.lim.max_depth = 1024;
    dec_text_stages_init((uint8_t *)c + CHAIN_HEAD_SIZE, final, &c->b64, &c->norm);
    dec_b64_set_limits(c->b64, &c->env.lim);
    c->env.spare = (uint8_t *)c + CHAIN_HEAD_SIZE + stages;
    c->env.spare_len = DEC_CHAIN_SPARE;
    c->env.text = dec_b64_sink(c->b64);
    rc = dec_build_chain(&c->env, content_type, content_encoding, 0, 1, &c->head);
    if (rc != SGW_OK)
        goto fail;
    *out = c;
    return SGW_OK;
fail:
    cls_decode_chain_release(c);
    return rc;
}

int cls_decode_chain_feed(struct cls_decode_chain *c, const uint8_t *p, size_t n)
{
    if (c->finished)
        return SGW_EINVAL;
    return dec_feed(c->head, p, n);
}

int cls_decode_chain_finish(struct cls_decode_chain *c)
{
    if (c->finished)
        return SGW_OK;
    c->finished = 1;
    int rc = dec_finish(c->head);
    if (rc != SGW_OK)
        return rc;
    rc = dec_b64_finish(c->b64);
    if (rc != SGW_OK)
        return rc;
    return dec_norm_finish(c->norm);
}

const char *cls_decode_chain_path(const struct cls_decode_chain *c)
{
    return c->env.path;
}

void cls_decode_chain_release(struct cls_decode_chain *c)
{
    if (!c)
        return;
    dec_free(c->head);
    dec_b64_free(c->b64);
    dec_norm_free(c->norm);
}

void cls_decode_chain_free(struct cls_decode_chain *c)
{
    cls_decode_chain_release(c);
    free(c);
}
