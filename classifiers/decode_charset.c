/* classifiers/decode_charset.c — text in a declared character set other
 * than UTF-8 and UTF-16 (windows-1251, KOI8-R, ISO-8859-7, EBCDIC, Shift_JIS,
 * GBK, Big5…) converted to UTF-8 with the C library's iconv, so that
 * the scanner reads its letters and context words, not only its ASCII.
 *
 * Streaming: a sequence cut by the chunk boundary waits in `held` (a
 * multi-byte character is at most a few bytes; a longer wait is a defect).
 * A byte iconv cannot read becomes U+FFFD. Memory: this struct and the
 * iconv descriptor, whatever the body's size. */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

#include "classifiers/decode_internal.h"

#define CS_OUT 4096u
#define CS_HELD 16u

#define CS_PEEK 16u

struct dec_charset {
    struct dec base;
    iconv_t cd;
    int checked;     /* the body's first bytes were checked for a binary signature */
    size_t peek_len; /* ... held in peek until then */
    uint8_t peek[CS_PEEK];
    size_t olen, held_len;
    char name[32];
    uint8_t held[CS_HELD];
    uint8_t out[CS_OUT];
};

static int cs_flush(struct dec_charset *c)
{
    size_t n = c->olen;
    c->olen = 0;
    return n ? dec_feed(c->base.next, c->out, n) : SGW_OK;
}

/* U+FFFD in place of a byte iconv rejects */
static int cs_replacement(struct dec_charset *c)
{
    if (c->olen + 3 > CS_OUT) {
        int rc = cs_flush(c);
        if (rc != SGW_OK)
            return rc;
    }
    memcpy(c->out + c->olen, "\xef\xbf\xbd", 3);
    c->olen += 3;
    return SGW_OK;
}

/* Converts what it can of in[0..*left); on return *left bytes remain: an
 * incomplete sequence at the end, or none. */
static int cs_convert(struct dec_charset *c, const uint8_t **in, size_t *left)
{
    while (*left) {
        char *ip = (char *)(uintptr_t)*in;
        char *op = (char *)c->out + c->olen;
        size_t ol = CS_OUT - c->olen;
        size_t r = iconv(c->cd, &ip, left, &op, &ol);
        int e = errno;
        *in = (const uint8_t *)ip;
        c->olen = CS_OUT - ol;
        if (r != (size_t)-1)
            break;
        int rc = SGW_OK;
        if (e == E2BIG) {
            rc = cs_flush(c);
        } else if (e == EILSEQ) {
            rc = cs_replacement(c);
            (*in)++;
            (*left)--;
        } else if (e == EINVAL) {
            return SGW_OK;
        } else {
            return dec_fail(&c->base, 0, "text in charset not convertible");
        }
        if (rc != SGW_OK)
            return rc;
    }
    return SGW_OK;
}

/* Keeps an incomplete sequence for the next chunk (p may point into held);
 * one as long as the hold reads as a bad first byte and the rest is
 * converted again. */
static int cs_hold(struct dec_charset *c, const uint8_t *p, size_t n)
{
    while (n >= CS_HELD) {
        int rc = cs_replacement(c);
        if (rc != SGW_OK)
            return rc;
        p++;
        n--;
        rc = cs_convert(c, &p, &n);
        if (rc != SGW_OK || c->base.dead)
            return rc;
    }
    memmove(c->held, p, n);
    c->held_len = n;
    return SGW_OK;
}

static int cs_convert_feed(struct dec_charset *c, const uint8_t *p, size_t n);

/* Compressed or binary data declared as text in some charset would pass
 * as converted garbage: its raw first bytes are checked for a signature as
 * raw text's are ("text body holds gzip data"), before any conversion. */
static int cs_check(struct dec_charset *c)
{
    c->checked = 1;
    const char *magic = dec_binary_magic(c->peek, c->peek_len);
    if (magic)
        return dec_fail(&c->base, 0, "text body holds %s", magic);
    return cs_convert_feed(c, c->peek, c->peek_len);
}

static int charset_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_charset *c = (struct dec_charset *)d;
    if (!c->checked) {
        size_t take = CS_PEEK - c->peek_len < n ? CS_PEEK - c->peek_len : n;
        memcpy(c->peek + c->peek_len, p, take);
        c->peek_len += take;
        p += take;
        n -= take;
        if (c->peek_len < CS_PEEK && dec_binary_magic_prefix(c->peek, c->peek_len))
            return SGW_OK; /* (held while they may still begin one) */
        int rc = cs_check(c);
        if (rc != SGW_OK || d->dead || n == 0)
            return rc;
    }
    return cs_convert_feed(c, p, n);
}

static int cs_convert_feed(struct dec_charset *c, const uint8_t *p, size_t n)
{
    struct dec *d = &c->base;
    int rc = SGW_OK;
    /* complete a held sequence one byte at a time */
    while (c->held_len && n && rc == SGW_OK) {
        c->held[c->held_len++] = *p++;
        n--;
        const uint8_t *h = c->held;
        size_t hl = c->held_len;
        rc = cs_convert(c, &h, &hl);
        if (rc == SGW_OK && !d->dead)
            rc = cs_hold(c, h, hl);
    }
    if (rc == SGW_OK && n && !d->dead) {
        rc = cs_convert(c, &p, &n);
        if (rc == SGW_OK && n && !d->dead)
            rc = cs_hold(c, p, n);
    }
    if (rc != SGW_OK || d->dead)
        return rc;
    return cs_flush(c);
}

static int charset_finish(struct dec *d)
{
    struct dec_charset *c = (struct dec_charset *)d;
    if (!c->checked) {
        int rc = cs_check(c);
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    char *op = (char *)c->out + c->olen;
    size_t ol = CS_OUT - c->olen;
    if (iconv(c->cd, NULL, NULL, &op, &ol) != (size_t)-1) /* a shift state's end */
        c->olen = CS_OUT - ol;
    int rc = cs_flush(c);
    if (rc != SGW_OK)
        return rc;
    if (c->held_len)
        return dec_fail(d, 0, "truncated %s text", c->name);
    return dec_finish(d->next);
}

static void charset_destroy(struct dec *d)
{
    struct dec_charset *c = (struct dec_charset *)d;
    if (c->cd != (iconv_t)-1)
        iconv_close(c->cd);
}

static const struct dec_ops charset_ops = {"charset", charset_feed, charset_finish, charset_destroy};

/* Split-invariance needs a stateless charset: a byte sequence's reading
 * must not depend on where a chunk ended. A single-byte charset is stateless
 * (each byte alone gives one character or none); of the multi-byte ones,
 * those that only wait for a character's remaining bytes. Stateful ones
 * (UTF-7, ISO-2022-*, EBCDIC with shift codes) read an invalid byte
 * differently by where iconv's state was cut: refused. */
static int cs_single_byte(iconv_t cd)
{
    for (unsigned b = 0; b < 256; b++) {
        char in = (char)b, out[8];
        char *ip = &in, *op = out;
        size_t il = 1, ol = sizeof(out);
        iconv(cd, NULL, NULL, NULL, NULL);
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        if (r == (size_t)-1 ? errno != EILSEQ : (il != 0 || ol == sizeof(out)))
            return 0;
    }
    iconv(cd, NULL, NULL, NULL, NULL);
    return 1;
}

static int cs_multibyte_stateless(const char *cs)
{
    static const char *const names[] = {
        "shiftjis", "sjis",   "cp932", "windows31j", "mskanji", "eucjp",    "euckr",     "cp949",
        "uhc",      "gbk",    "cp936", "gb2312",     "gb18030", "big5",     "big5hkscs", "cp950",
        "euctw",    "utf32",  "utf32le", "utf32be",  "ucs2",    "ucs2le",   "ucs2be",    "ucs4",
        "ucs4le",   "ucs4be",
        /* stateful, but its state is only what the escape sequences set,
           which iconv keeps across chunks (Japanese mail's charset) */
        "iso2022jp", "csiso2022jp",
    };
    char k[32];
    size_t n = 0;
    for (const char *s = cs; *s && n + 1 < sizeof(k); s++)
        if (*s != '-' && *s != '_')
            k[n++] = *s;
    k[n] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(k, names[i]) == 0)
            return 1;
    return 0;
}

/* A charset name as a header carries it: letters, digits, "-_.:" (no "//"
 * suffixes that would change iconv's behaviour). */
static int cs_name_ok(const char *cs)
{
    if (!cs[0])
        return 0;
    for (const char *s = cs; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
              *s == '.' || *s == ':'))
            return 0;
    return 1;
}

/* Labels mail and browsers write (the WHATWG Encoding Standard's) that
 * glibc's iconv does not know, by the charset it knows them as: Outlook
 * labels Korean ks_c_5601-1987, Hebrew mail is iso-8859-8-i; and mail
 * gateways' unknown-8bit (no charset known), read as Latin-1. cs: lower
 * case. Returns cs itself for the others. */
static const char *cs_alias(const char *cs)
{
    static const char *const alias[][2] = {
        {"ks_c_5601-1987", "cp949"}, {"ks_c_5601-1989", "cp949"}, {"ksc_5601", "cp949"},
        {"ksc5601", "cp949"},        {"csksc56011987", "cp949"},  {"iso-ir-149", "cp949"},
        {"windows-949", "cp949"},    {"korean", "cp949"},         {"iso-8859-8-i", "iso-8859-8"},
        {"csiso88598i", "iso-8859-8"}, {"logical", "iso-8859-8"}, {"iso-8859-6-i", "iso-8859-6"},
        {"iso-8859-6-e", "iso-8859-6"}, {"x-mac-roman", "macintosh"}, {"mac", "macintosh"},
        {"x-mac-cyrillic", "mac-cyrillic"}, {"x-mac-ukrainian", "mac-cyrillic"}, {"x-sjis", "shift_jis"},
        {"x-euc-jp", "euc-jp"},      {"x-gbk", "gbk"},            {"x-x-big5", "big5"},
        {"dos-874", "tis-620"},      {"x-cp1250", "windows-1250"}, {"x-cp1251", "windows-1251"},
        /* no charset named (RFC 1428: mail gateways write unknown-8bit):
           read as Latin-1, every byte a character, ASCII as it is */
        {"unknown-8bit", "iso-8859-1"}, {"x-unknown", "iso-8859-1"}, {"unknown", "iso-8859-1"},
    };
    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (strcmp(cs, alias[i][0]) == 0)
            return alias[i][1];
    return cs;
}

int dec_new_charset(struct dec_env *env, unsigned nest, const char *charset, struct dec *inner,
                    struct dec **out)
{
    *out = NULL;
    if (!cs_name_ok(charset)) {
        dec_free(inner);
        return dec_new_reject(env, nest, "charset not inspectable", out);
    }
    const char *known = cs_alias(charset);
    errno = 0;
    iconv_t cd = iconv_open("UTF-8", known);
    if (cd == (iconv_t)-1) {
        dec_free(inner);
        if (errno != EINVAL)
            return SGW_ENOMEM;
        char why[DEC_REASON_LEN];
        snprintf(why, sizeof(why), "charset %.31s not inspectable", charset);
        return dec_new_reject(env, nest, why, out);
    }
    if (!cs_single_byte(cd) && !cs_multibyte_stateless(charset) && !cs_multibyte_stateless(known)) {
        iconv_close(cd);
        dec_free(inner);
        char why[DEC_REASON_LEN];
        snprintf(why, sizeof(why), "stateful charset %.30s not inspectable", charset);
        return dec_new_reject(env, nest, why, out);
    }
    struct dec_charset *c = dec_alloc(sizeof(*c), &charset_ops, env, nest);
    if (!c) {
        iconv_close(cd);
        dec_free(inner);
        return SGW_ENOMEM;
    }
    c->cd = cd;
    snprintf(c->name, sizeof(c->name), "%s", charset);
    c->base.next = inner;
    *out = &c->base;
    return SGW_OK;
}

size_t dec_charset_once(const char *cs, size_t cslen, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    char name[40];
    size_t k = 0;
    for (; k < cslen && k + 1 < sizeof(name) && cs[k] != '*'; k++) /* (RFC 2231's "*lang" off) */
        name[k] = (char)(cs[k] >= 'A' && cs[k] <= 'Z' ? cs[k] + 32 : cs[k]);
    name[k] = '\0';
    iconv_t cd = (iconv_t)-1;
    if (k < cslen && cs[k] != '*')
        name[0] = '\0'; /* (too long a name) */
    if (cs_name_ok(name) && strcmp(name, "utf-8") != 0 && strcmp(name, "us-ascii") != 0)
        cd = iconv_open("UTF-8", cs_alias(name));
    if (cd == (iconv_t)-1) {
        size_t m = n < cap ? n : cap;
        memcpy(out, in, m);
        return m;
    }
    char *ip = (char *)(uintptr_t)in, *op = (char *)out;
    size_t il = n, ol = cap;
    int full = 0;
    while (il > 0) {
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno == E2BIG || ol == 0) {
            full = 1;
            break;
        }
        *op++ = *ip++; /* a byte the charset does not have: as it is */
        il--;
        ol--;
    }
    if (!full && iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) /* (a stateful charset's return to its start) */
        full = 1;
    iconv_close(cd);
    if (full) { /* more than cap as UTF-8: the bytes as they are, none lost */
        size_t m = n < cap ? n : cap;
        memcpy(out, in, m);
        return m;
    }
    return (size_t)(op - (char *)out);
}
