/* tests/unit/classifiers/test_offsets.c — findings give offsets in the text
 * the decoders were fed (for a plain file, the file's own) although the
 * normalisation changes lengths (NBSP, zero-width characters, full-width
 * digits) and decoded copies are inserted (base64 and hex runs, escapes,
 * lookalike letters): exact spans for the text itself, and for a copy a
 * span inside the encoded text that holds the match. The same for any
 * split of the body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "scan_feed.h"
#include "classifiers/classifiers.h"

static struct cls_worker *W;
static unsigned rs = 7;
static unsigned rnd(void)
{
    rs = rs * 1103515245u + 12345u;
    return rs >> 16;
}

/* Scans buf as ct in pieces of `piece` bytes (0: random 1..64). */
static void scan(const char *ct, const char *buf, size_t n, size_t piece, struct fset *out)
{
    struct cls_stream_opts o = {.content_type = ct, .excerpts = 1};
    struct cls_stream *s = NULL;
    if (cls_stream_new(W, &o, &s) != 0)
        abort();
    for (size_t off = 0; off < n;) {
        size_t k = piece ? piece : 1 + rnd() % 64;
        if (k > n - off)
            k = n - off;
        if (cls_stream_feed(s, buf + off, k) != 0)
            abort();
        off += k;
    }
    if (cls_stream_close(s) != 0)
        abort();
    size_t nf = 0;
    const struct cls_finding *f = cls_stream_findings(s, &nf);
    out->n = nf;
    memcpy(out->f, f, nf * sizeof(*f));
    cls_stream_free(s);
}

static struct fset A, B;

/* The findings of buf in one piece, checked the same in every other
 * split (all piece sizes up to 40, random pieces); returns them in A. */
static void scan_all_splits(const char *ct, const char *buf, size_t n)
{
    scan(ct, buf, n, n ? n : 1, &A);
    for (size_t piece = 0; piece <= 40; piece++) {
        scan(ct, buf, n, piece, &B);
        CHECK(B.n == A.n);
        for (size_t i = 0; i < A.n && i < B.n; i++)
            if (!same_finding(&A.f[i], &B.f[i]))
                FAIL("piece %zu: finding %zu %s [%llu,%llu) vs %s [%llu,%llu)", piece, i,
                     B.f[i].type, (unsigned long long)B.f[i].start, (unsigned long long)B.f[i].end,
                     A.f[i].type, (unsigned long long)A.f[i].start, (unsigned long long)A.f[i].end);
    }
    for (size_t i = 0; i < A.n; i++) {
        CHECK(A.f[i].start <= A.f[i].end && A.f[i].end <= n);
        if (i)
            CHECK(A.f[i - 1].start <= A.f[i].start);
    }
}

static size_t count(const char *type)
{
    size_t k = 0;
    for (size_t i = 0; i < A.n; i++)
        k += strcmp(A.f[i].type, type) == 0;
    return k;
}

/* A finding of `type` spans exactly `text`'s first occurrence in buf from
 * `from` on (copy: from a copy), or fails. */
static const struct cls_finding *exact_as(const char *buf, const char *type, const char *text,
                                          size_t from, int copy)
{
    const char *at = strstr(buf + from, text);
    if (!at) {
        FAIL("\"%s\" not in the input", text);
        return NULL;
    }
    size_t s = (size_t)(at - buf), e = s + strlen(text);
    for (size_t i = 0; i < A.n; i++)
        if (strcmp(A.f[i].type, type) == 0 && A.f[i].start == s && A.f[i].end == e &&
            !(A.f[i].flags & CLS_FF_COPY) == !copy)
            return &A.f[i];
    FAIL("no %s%s at [%zu,%zu) (\"%s\")", type, copy ? " from a copy" : "", s, e, text);
    for (size_t i = 0; i < A.n; i++)
        fprintf(stderr, "  have %s [%llu,%llu) flags %u\n", A.f[i].type,
                (unsigned long long)A.f[i].start, (unsigned long long)A.f[i].end, A.f[i].flags);
    return NULL;
}

static void exact(const char *buf, const char *type, const char *text, size_t from)
{
    exact_as(buf, type, text, from, 0);
}

/* A finding of `type` from a copy lies inside `enc` (the encoded text,
 * its first occurrence in buf) and holds [ms, me) (the match's true place
 * in the source, when known: else 0, 0). */
static void within(const char *buf, const char *type, const char *enc, size_t ms, size_t me)
{
    const char *at = strstr(buf, enc);
    if (!at) {
        FAIL("encoded text not in the input");
        return;
    }
    size_t s = (size_t)(at - buf), e = s + strlen(enc);
    for (size_t i = 0; i < A.n; i++) {
        const struct cls_finding *f = &A.f[i];
        if (strcmp(f->type, type) == 0 && (f->flags & CLS_FF_COPY) && f->start >= s &&
            f->end <= e && f->start < f->end && (!me || (f->start <= ms && f->end >= me)))
            return;
    }
    FAIL("no %s from a copy inside [%zu,%zu) holding [%zu,%zu)", type, s, e, ms, me);
    for (size_t i = 0; i < A.n; i++)
        fprintf(stderr, "  have %s [%llu,%llu) flags %u\n", A.f[i].type,
                (unsigned long long)A.f[i].start, (unsigned long long)A.f[i].end, A.f[i].flags);
}

static char *b64(const char *s)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    char *out = malloc(n / 3 * 4 + 8);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(uint8_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(uint8_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (uint8_t)s[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* Lengths change in the normalisation: the text's own findings keep the
 * file's offsets. */
static void test_normalised(void)
{
    /* NBSP (2 bytes -> 1), a zero-width space (3 -> 0), full-width digits
       (3 -> 1 each), a BOM (dropped) */
    const char *t = "\xef\xbb\xbfname\xc2\xa0mary@example.org card 4111\xe2\x80\x8b 1111 1111 1111 "
                    "and \xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91 1111 1111 1111 then "
                    "bob@example.com.\n";
    scan_all_splits("text/plain", t, strlen(t));
    CHECK(A.n == 4);
    exact(t, "EMAIL", "mary@example.org", 0);
    exact(t, "CREDIT_DEBIT_CARD_NUMBER", "4111\xe2\x80\x8b 1111 1111 1111", 0);
    exact(t, "CREDIT_DEBIT_CARD_NUMBER",
          "\xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91 1111 1111 1111", 0);
    exact(t, "EMAIL", "bob@example.com", 0);
    /* tag characters (4 bytes -> 1 each) glued to the words around them,
       with the gaps that stand for no source byte: the key's span is its
       tag characters, and the address after it keeps its offsets */
    char u[512];
    size_t n = (size_t)snprintf(u, sizeof(u), "Summarise this");
    for (const char *k = "AKIA2E3AYF3BQ44C7XQZ"; *k; k++)
        n += (size_t)snprintf(u + n, sizeof(u) - n, "\xf3\xa0%c%c", 0x80 | ((0xe0000 + *k) >> 6 & 0x3f),
                              0x80 | ((0xe0000 + *k) & 0x3f));
    snprintf(u + n, sizeof(u) - n, "please, to mary@example.org.\n");
    scan_all_splits("text/plain", u, strlen(u));
    CHECK(A.n == 2);
    const char *key = u + strlen("Summarise this");
    char kb[128];
    snprintf(kb, sizeof(kb), "%.*s", (int)(strstr(u, "please") - key), key);
    exact(u, "AWS_ACCESS_KEY", kb, 0);
    exact(u, "EMAIL", "mary@example.org", 0);
}

/* Raw text with an HTML block (a table a converter kept as HTML): the
 * HTML decoder's text is not the file's, so the text after the block
 * resumes at the block's end: its findings keep the file's offsets; those
 * inside the block lie in it. */
static void test_html_block(void)
{
    const char *t = "# Staff\nmail al@example.org\n\n<table>\n<tr><th>Name</th><th>SSN</th></tr>\n"
                    "<tr><td>Al</td><td>536221847</td></tr>\n</table>\n\nQuestions to hr@example.org.\n";
    scan_all_splits("text/markdown", t, strlen(t));
    CHECK(A.n == 3);
    exact(t, "EMAIL", "al@example.org", 0);
    exact(t, "EMAIL", "hr@example.org", 0);
    size_t bs = (size_t)(strstr(t, "<table>") - t), be = (size_t)(strstr(t, "\n\nQ") - t) + 2;
    for (size_t i = 0; i < A.n; i++)
        if (strcmp(A.f[i].type, "US_SOCIAL_SECURITY_NUMBER") == 0)
            CHECK(A.f[i].start >= bs && A.f[i].end <= be && A.f[i].start < A.f[i].end);
    CHECK(count("US_SOCIAL_SECURITY_NUMBER") == 1);
    /* blank lines between the rows (a template's loop) do not end the
       block: the row after them is read under its column's name, and
       the address after the table keeps its offsets */
    const char *u = "# Staff\n\n<table>\n<tr><th>Name</th><th>SSN</th></tr>\n  \n\n"
                    "<tr><td>Al</td><td>536221847</td></tr>\n  \n</table>\n\nQuestions to hr@example.org.\n";
    scan_all_splits("text/markdown", u, strlen(u));
    CHECK(A.n == 2);
    exact(u, "EMAIL", "hr@example.org", 0);
    bs = (size_t)(strstr(u, "<table>") - u);
    be = (size_t)(strstr(u, "\n\nQ") - u) + 2;
    CHECK(count("US_SOCIAL_SECURITY_NUMBER") == 1);
    for (size_t i = 0; i < A.n; i++)
        if (strcmp(A.f[i].type, "US_SOCIAL_SECURITY_NUMBER") == 0)
            CHECK(A.f[i].start >= bs && A.f[i].end <= be && A.f[i].start < A.f[i].end);
}

/* JSON: offsets in the decoded stream of its keys and string values
 * (UTF-8, escapes resolved), through the normalisation as for text. */
static void test_json(void)
{
    const char *t =
        "{\"note\":\"x\\u00a0\\u200bmary@example.org\",\"k\":\"4111\\u00a01111 1111 1111\"}";
    /* the decoded stream: note, x NBSP ZWSP mary@example.org, k, 4111 NBSP 1111… */
    const char *d = "notex\xc2\xa0\xe2\x80\x8bmary@example.orgk4111\xc2\xa0"
                    "1111 1111 1111";
    scan_all_splits("application/json", t, strlen(t));
    CHECK(A.n == 2);
    exact_as(d, "EMAIL", "mary@example.org", 0, 0);
    exact_as(d, "CREDIT_DEBIT_CARD_NUMBER",
             "4111\xc2\xa0"
             "1111 1111 1111",
             0, 0);
}

/* A value split across two adjacent text blocks: found once, in the copy
 * of the seam, inside the two blocks' span and across their join. */
static void test_seams(void)
{
    const char *t = "{\"content\":[{\"text\":\"card 4111 11\"},{\"text\":\"11 1111 1111\"}]}";
    /* the decoded stream: contenttextcard 4111 11text11 1111 1111 */
    const char *d;
    scan_all_splits("application/json", t, strlen(t));
    CHECK(count("CREDIT_DEBIT_CARD_NUMBER") == 1);
    /* from its first digit to its last, exactly (the two parts map one
       for one), marked joined, not encoded */
    CHECK(A.n == 1 && A.f[0].start == 16 && A.f[0].end == 39);
    CHECK(A.n == 1 && (A.f[0].flags & CLS_FF_JOINED) && !(A.f[0].flags & CLS_FF_COPY));
    /* an address whole in one block is found there alone, not again in
       the seam's copy */
    t = "[{\"text\":\"mail ann@example.org\"},{\"text\":\"thanks\"}]";
    d = "textmail ann@example.orgtextthanks";
    scan_all_splits("application/json", t, strlen(t));
    CHECK(A.n == 1);
    exact(d, "EMAIL", "ann@example.org", 0);
    /* ... nor one that the next block holds in part ("jo" + "e@…"): the
       seam's "joe@example.com" overlaps it */
    t = "[{\"text\":\"write to jo\"},{\"text\":\"e@example.com now\"}]";
    d = "textwrite to jotexte@example.com now";
    scan_all_splits("application/json", t, strlen(t));
    CHECK(A.n == 1);
    exact(d, "EMAIL", "e@example.com", 0);
    /* a key longer than 64 bytes on one side of the cut (an Azure
       storage account key, 88 characters, cut after 80) */
    t = "[{\"text\":\"conn DefaultEndpointsProtocol=https;AccountName=acct01;AccountKey="
        "PJeLIV7qmnmglBCbA+jWeEKNOzH+t3iK1ox5ZaPcJjuiJt7thWO9A6vGECjC9ZcKTccH0t1EeZi46+Bj\"},"
        "{\"text\":\"tsnrbQ==;EndpointSuffix=core.windows.net ok\"}]";
    scan_all_splits("application/json", t, strlen(t));
    CHECK(A.n == 1 && strcmp(A.f[0].type, "AZURE_STORAGE_KEY") == 0 && (A.f[0].flags & CLS_FF_JOINED));
    /* Anthropic's blocks: their "type" and a "cache_control" between are
       no other block; an image block is */
    t = "[{\"type\":\"text\",\"text\":\"key AKIAIOSF\",\"cache_control\":{\"type\":\"ephemeral\"}},"
        "{\"type\":\"text\",\"text\":\"ODNN7EXAMPLE ok\"}]";
    scan_all_splits("application/json", t, strlen(t));
    CHECK(count("AWS_ACCESS_KEY") == 1);
    t = "[{\"type\":\"text\",\"text\":\"key AKIAIOSF\"},{\"type\":\"image\",\"source\":{\"data\":\"\"}},"
        "{\"type\":\"text\",\"text\":\"ODNN7EXAMPLE ok\"}]";
    scan_all_splits("application/json", t, strlen(t));
    CHECK(count("AWS_ACCESS_KEY") == 0);
}

/* Escapes and lookalike letters: the copy's finding gets the span of its
 * encoded text, exactly when nothing else in the copy is decoded. */
static void test_escapes(void)
{
    const char *t = "a john%40example.com b mary@example.org c &#52;111 1111 1111 1111 d "
                    "key \xd0\x90KIA5ZK6SXQ7BR2LMNOP e "
                    "f joe&commat;example&period;net g\n";
    scan_all_splits("text/plain", t, strlen(t));
    exact(t, "EMAIL", "mary@example.org", 0);
    exact_as(t, "EMAIL", "john%40example.com", 0, 1);
    exact_as(t, "CREDIT_DEBIT_CARD_NUMBER", "&#52;111 1111 1111 1111", 0, 1);
    exact_as(t, "AWS_ACCESS_KEY", "\xd0\x90KIA5ZK6SXQ7BR2LMNOP", 0, 1);
    exact_as(t, "EMAIL", "joe&commat;example&period;net", 0, 1);
    /* the text's own e-mail is not reported again from the copy */
    CHECK(count("EMAIL") == 3);
    /* percent-encoded twice: flagged (catalogue 4.1 case 19), exact span,
       at every split; once: not */
    const char *d = "x bob%2540corp-mail.de y ann%40corp-mail.de z cy%252540corp-mail.de\n";
    scan_all_splits("text/plain", d, strlen(d));
    const struct cls_finding *f2 = exact_as(d, "EMAIL", "bob%2540corp-mail.de", 0, 1);
    const struct cls_finding *f1 = exact_as(d, "EMAIL", "ann%40corp-mail.de", 0, 1);
    const struct cls_finding *f3 = exact_as(d, "EMAIL", "cy%252540corp-mail.de", 0, 1);
    CHECK(f2 && (f2->flags & CLS_FF_TWICE));
    CHECK(f1 && !(f1->flags & CLS_FF_TWICE));
    CHECK(f3 && (f3->flags & CLS_FF_TWICE)); /* (three times: flagged too) */
    /* addresses with an internationalised domain: found through their
       ASCII copy, with the span of the original, the accented local part
       included; an accented local part alone keeps the span it had (the
       ASCII letters from the last accented one on) */
    const char *u = "a bob@m\xc3\xbcller.de b j\xc3\xbcrgen@b\xc3\xbc" "cher.de c "
                    "Gr\xc3\xbc\xc3\x9f" "e an ann@corp-mail.de, sch\xc3\xb6n\n";
    scan_all_splits("text/plain", u, strlen(u));
    exact_as(u, "EMAIL", "bob@m\xc3\xbcller.de", 0, 1);
    exact_as(u, "EMAIL", "j\xc3\xbcrgen@b\xc3\xbc" "cher.de", 0, 1);
    exact(u, "EMAIL", "ann@corp-mail.de", 0);
    CHECK(count("EMAIL") == 3);
}

/* base64 cut by zero-width spaces: the copy without them is decoded, its
 * finding lies in the copy's span (from the run's start to 64 bytes after
 * the last invisible character); the text after keeps its offsets, and
 * the same key written plainly with one zero-width space in it keeps its
 * exact span (the copy's finding is the same and is not reported again). */
static void test_escapes_b64(void)
{
    char *r = b64("please contact john@example.com about the invoice today");
    char t[1024];
    size_t n = 0, rl = strlen(r), last = 0;
    for (size_t i = 0; i < rl; i += 8) {
        if (i) {
            n += (size_t)sprintf(t + n, "\xe2\x80\x8b");
            last = n;
        }
        n += (size_t)sprintf(t + n, "%.*s", (int)(rl - i < 8 ? rl - i : 8), r + i);
    }
    n += (size_t)sprintf(t + n, " then mary@example.org and AKIA5ZK6\xe2\x80\x8bSXQ7BR2LMNOP ok\n");
    scan_all_splits("text/plain", t, n);
    char region[1024];
    memcpy(region, t, last + 64);
    region[last + 64] = '\0';
    within(t, "EMAIL", region, 0, 0);
    exact(t, "EMAIL", "mary@example.org", 0);
    exact(t, "AWS_ACCESS_KEY", "AKIA5ZK6\xe2\x80\x8bSXQ7BR2LMNOP", 0);
    CHECK(count("EMAIL") == 2);
    CHECK(count("AWS_ACCESS_KEY") == 1);
    free(r);
    /* base64 that the first stage decodes in two runs (a '+' written
       %2B between them) and the copy decodes whole: the address in the
       second run is reported once, with the first stage's narrower span */
    {
        const char *e = "ZGVwbG95IHdpdGgga2V5IEFLSUEyRTNBWUYzQlE0NEM3WFFaIG5vdyA%2BPj4gYW5kIG1haWwgb3BzLWxlYWRAY29ycC1l"
                        "eGFtcGxlLm5ldCBvaw%3D%3D";
        char u[512];
        snprintf(u, sizeof(u), "state=%s\n", e);
        scan_all_splits("text/plain", u, strlen(u));
        CHECK(count("EMAIL") == 1);
        CHECK(count("AWS_ACCESS_KEY") == 1);
        const char *second = strstr(u, "Pj4g");
        for (size_t i = 0; i < A.n; i++)
            if (strcmp(A.f[i].type, "EMAIL") == 0)
                CHECK(second && A.f[i].start >= (size_t)(second - u));
    }
    /* quoted-printable: a card and a key cut by soft line breaks, an
       address with escapes; exact spans, the soft breaks included */
    const char *q = "Please charge my card 4111 1111 11=\r\n11 1111 and use AKIA2E3AYF3B=\nQ44C7XQZ, mail "
                    "j=6Fe=40example.org or ann@example.net.\n";
    scan_all_splits("text/plain", q, strlen(q));
    exact_as(q, "CREDIT_DEBIT_CARD_NUMBER", "4111 1111 11=\r\n11 1111", 0, 1);
    exact_as(q, "AWS_ACCESS_KEY", "AKIA2E3AYF3B=\nQ44C7XQZ", 0, 1);
    exact_as(q, "EMAIL", "j=6Fe=40example.org", 0, 1);
    exact(q, "EMAIL", "ann@example.net", 0);
    /* a soft line break that ends a copy (a NUL byte after it splits the
       copy; the next part's decoded parts were read from before it: found
       by fuzz_classifiers_json, an overread under ASan), at every split:
       the key in the copy's second part, inside the copy's span (a NUL
       byte in text cuts the copy's exact mapping) */
    const char nul[] = "ab=\n\0cd =41=4B=49=41=32E3AYF3BQ44C7XQZ ok";
    scan_all_splits("text/plain", nul, sizeof(nul) - 1);
    CHECK(A.n == 1 && strcmp(A.f[0].type, "AWS_ACCESS_KEY") == 0 && (A.f[0].flags & CLS_FF_COPY) &&
          A.f[0].start <= 8 && A.f[0].end == 38);
}

/* Base64 runs, short and long (more than 8192 characters: decoded as they
 * come, in regions), and a hex run: inside the run, holding the match's
 * own characters; the text after them keeps its offsets. */
static void test_runs(void)
{
    const char *inner = "please contact john@example.com about the invoice today";
    char *r1 = b64(inner);
    /* a long run: text with an e-mail in its middle */
    size_t big = 9000;
    char *plain = malloc(big + 64);
    size_t o = 0;
    while (o < big / 2)
        o += (size_t)sprintf(plain + o, "lorem ipsum dolor sit amet %zu ", o);
    o += (size_t)sprintf(plain + o, " write to anna@example.net now ");
    while (o < big)
        o += (size_t)sprintf(plain + o, "consectetur adipiscing %zu ", o);
    char *r2 = b64(plain);
    /* hex of an access key */
    const char *hex = "414b494135584b3653585137425232414d4e4f50"; /* AKIA5XK6SXQ7BR2AMNOP */
    size_t n = strlen(r1) + strlen(r2) + 256;
    char *t = malloc(n);
    snprintf(t, n, "x %s y\n%s\nkey %s z mary@example.org\n", r1, r2, hex);
    scan_all_splits("text/plain", t, strlen(t));
    size_t at1 = (size_t)(strstr(t, r1) - t);
    /* decoded bytes [15, 31) are characters [4*5 + 0, 4*10 + 0 + 2) of the
       run (byte k: characters 4(k/3) + k%3 and the one after) */
    char want[64];
    memcpy(want, r1 + 20, 22);
    want[22] = '\0';
    exact_as(t, "EMAIL", want, at1, 1);
    size_t at2 = (size_t)(strstr(t, r2) - t);
    size_t mail = (size_t)(strstr(plain, "anna@") - plain);
    within(t, "EMAIL", r2, at2 + mail * 4 / 3 + 1, at2 + (mail + 16) * 4 / 3);
    for (size_t i = 0; i < A.n; i++) /* a region, not the whole run */
        CHECK(A.f[i].end - A.f[i].start < 8192);
    exact_as(t, "AWS_ACCESS_KEY", hex, 0, 1); /* two digits a byte: all of them */
    exact(t, "EMAIL", "mary@example.org", 0);
    free(t);
    free(r1);
    free(r2);
    free(plain);
}

/* Base64 whose decoding is not the copy one for one (an NBSP the
 * normalisation shortens, base64 in it decoded too) or that has line ends:
 * spans inside the run, holding the match where the copy only shrank; a
 * run decoded from its second character (alignment 1) is exact. */
static void test_runs_changed(void)
{
    char *r1 = b64("a\xc2\xa0\xc2\xa0 mail tom@example.com now please");
    char *nested = b64("note: bWFpbCBqb2VAZXhhbXBsZS5jb20gbm93 and dan@example.org end");
    char *r3 = b64("the address is eve@example.net, the rest is filler text");
    char *r4 = b64("send it to kim@example.com today");
    size_t n = strlen(r1) + strlen(nested) + strlen(r3) + strlen(r4) + 64;
    char *t = malloc(n);
    /* r3 wrapped after 20 characters, MIME style; r4 glued to a "Q"
       (decoded from alignment 1) */
    snprintf(t, n, "a %s b %s c %.20s\r\n%s d Q%s e\n", r1, nested, r3, r3 + 20, r4);
    scan_all_splits("text/plain", t, strlen(t));
    CHECK(count("EMAIL") == 5);
    /* "tom@example.com" is decoded bytes [11, 26): characters [14, 35) */
    size_t at1 = (size_t)(strstr(t, r1) - t);
    within(t, "EMAIL", r1, at1 + 14, at1 + 35);
    /* joe (in the nested copy) and dan (after it): inside the run */
    size_t at2 = (size_t)(strstr(t, nested) - t), k2 = 0;
    for (size_t i = 0; i < A.n; i++)
        if (A.f[i].start >= at2 && A.f[i].end <= at2 + strlen(nested))
            k2++;
    CHECK(k2 == 2);
    /* eve, in the wrapped run: inside it, line end included */
    char wrapped[128];
    snprintf(wrapped, sizeof(wrapped), "%.20s\r\n%s", r3, r3 + 20);
    within(t, "EMAIL", wrapped, 0, 0);
    /* kim: "kim@example.com" is decoded bytes [11, 26), characters [14, 35)
       after the "Q" */
    size_t at4 = (size_t)(strstr(t, r4) - t);
    char want[64];
    memcpy(want, r4 + 14, 21);
    want[21] = '\0';
    exact_as(t, "EMAIL", want, at4, 1);
    free(t);
    free(r1);
    free(nested);
    free(r3);
    free(r4);
}

/* Many escapes far apart: each copy has a span of its own, and more
 * copies than the spans kept still lie in the unit's text. */
static void test_many_copies(void)
{
    char t[8192];
    size_t o = 0;
    for (int i = 0; i < 24; i++)
        o += (size_t)snprintf(t + o, sizeof(t) - o,
                              "user%d%%40example.org ......................................"
                              "..................................................................."
                              "..............\n",
                              i);
    scan("text/plain", t, o, o, &A);
    CHECK(count("EMAIL") == 24);
    for (int i = 0; i < 16; i++) {
        char want[40];
        snprintf(want, sizeof(want), "user%d%%40example.org", i);
        exact_as(t, "EMAIL", want, 0, 1);
    }
    for (size_t i = 0; i < A.n; i++)
        CHECK(A.f[i].end <= o && (A.f[i].flags & CLS_FF_COPY));
}

/* A long body where every other character changes length (NBSP, a
 * zero-width space) and escapes come every few bytes: the anchors stay
 * within a window's reach (bounded, whatever the body size), and a finding
 * at the end still has its exact offset. */
static void test_bounded(void)
{
    const size_t reps = 200000; /* 2.2 MB */
    const char *unit = "a\xc2\xa0"
                       "b\xe2\x80\x8b"
                       "%41 ";
    const char *tail = " mail mary@example.org\n";
    size_t ul = strlen(unit), n = reps * ul + strlen(tail);
    char *t = malloc(n + 1);
    for (size_t i = 0; i < reps; i++)
        memcpy(t + i * ul, unit, ul);
    memcpy(t + reps * ul, tail, strlen(tail) + 1);
    struct cls_scanner *sc = NULL;
    struct cls_decode_chain *c = NULL;
    struct cls_decode_limits lim = {0, 0, 0};
    if (cls_scanner_new(W, 0, NULL, NULL, &sc) != 0)
        abort();
    struct cls_sink sink = scanner_sink(sc);
    if (cls_decode_chain_new("text/plain", NULL, &lim, &sink, &c) != 0)
        abort();
    for (size_t off = 0; off < n; off += 65536)
        CHECK(cls_decode_chain_feed(c, (const uint8_t *)t + off,
                                    n - off < 65536 ? n - off : 65536) == 0);
    CHECK(cls_decode_chain_finish(c) == 0);
    CHECK(cls_scanner_finish(sc) == 0);
    size_t nf = 0;
    const struct cls_finding *f = cls_scanner_findings(sc, &nf);
    size_t at = (size_t)(strstr(t, "mary@") - t);
    int found = 0;
    for (size_t i = 0; i < nf; i++)
        found |= strcmp(f[i].type, "EMAIL") == 0 && f[i].start == at && f[i].end == at + 16;
    CHECK(found);
    uint64_t cap = cls_scanner_stats(sc)->anchor_cap;
    fprintf(stderr, "test_offsets: %llu anchors held at most for %zu bytes\n",
            (unsigned long long)cap, n);
    if (cap == 0 || cap > 16384)
        FAIL("anchors held: %llu", (unsigned long long)cap);
    cls_decode_chain_free(c);
    cls_scanner_free(sc);
    free(t);
}

int main(void)
{
    W = worker(NULL);
    test_normalised();
    test_json();
    test_seams();
    test_html_block();
    test_escapes();
    test_escapes_b64();
    test_runs();
    test_runs_changed();
    test_many_copies();
    test_bounded();
    cls_worker_free(W);
    return failures != 0;
}
