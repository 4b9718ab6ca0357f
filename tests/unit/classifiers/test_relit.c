/* tests/unit/classifiers/test_relit.c — the required literal of a custom
 * regex (classifiers/relit.c): what is extracted, and every shape where
 * nothing may be (0 keeps the regex's prefilter form, always safe). */
#include <stdio.h>
#include <string.h>

#include "classifiers/engine.h"

static int failures;

static void expect(const char *re, const char *lit, int caseless)
{
    uint8_t out[CLS_RELIT_MAX];
    int ci = -1;
    size_t n = cls_regex_literal(re, out, sizeof(out), &ci);
    size_t want = lit ? strlen(lit) : 0;
    if (n != want || (n && memcmp(out, lit, n) != 0) || (n && ci != caseless)) {
        fprintf(stderr, "%s:%d: /%s/: got '%.*s' (caseless %d), want '%s' (caseless %d)\n", __FILE__, __LINE__,
                re, (int)n, (const char *)out, ci, lit ? lit : "", caseless);
        failures++;
    }
}

int main(void)
{
    expect("\\bKAB12-[0-9]{4,8}\\b", "KAB12-", 0);
    expect("PRJ-[0-9]{4}", "PRJ-", 0);
    expect("PRJX-?[0-9]+", "PRJX", 0);          /* the optional '-' is dropped */
    expect("(?i)strictly confidential", "strictly confidential", 1);
    expect("abcd+efg", "abcd", 0);              /* d+ ends the run after one d */
    expect("ab+cdefg", "cdefg", 0);
    expect("(abc|def)ghij", "ghij", 0);         /* alternation inside a group is fine */
    expect("[A-Z]{3}-SECRET-\\d+", "-SECRET-", 0);
    expect("abc\\.def", "abc.def", 0);
    expect("[]abc]xyz", "xyz", 0);
    expect("[[:digit:]]{3}abcd", "abcd", 0);
    /* "[:" that PCRE2 does not read as a POSIX class (a ']' or another "[:"
       before the ":]"): the '[' is a member and the class ends at the first
       ']' (a fuzz find: "abbc" was taken for a literal outside it) */
    expect("[[::abbc[[:]?[]::0]?", "", 0);
    expect("[[:ab]cdef", "cdef", 0);
    expect("[[:a\\]b:]]wxyz", "wxyz", 0);
    expect("x{0,3}abc", "abc", 0);
    expect("abc{2}de", "abc", 0);
    expect("abcd{0}e", "abc", 0);
    expect("a.bcd.ef", "bcd", 0);
    expect("abc{x}de", "x}de", 0);              /* "{x}" is literal text: still required */
    expect("abcd*?ef", "abc", 0);               /* lazy quantifier */
    expect("(?:foo)?barbaz", "barbaz", 0);
    expect("(?<=x)abcdef", "abcdef", 0);
    /* nothing safe to extract */
    expect("ab", NULL, 0);                       /* shorter than CLS_RELIT_MIN */
    expect("foo|barbaz", NULL, 0);               /* top-level alternation */
    expect("\\x41BCDEF", NULL, 0);               /* escape with an argument */
    expect("\\QSECRET\\E", NULL, 0);
    expect("a(?i)bcdef", NULL, 0);               /* option changes later literals */
    expect("(?x) a b c d", NULL, 0);
    expect("(*UTF)abcdef", NULL, 0);
    expect("abc(def", NULL, 0);                  /* unbalanced */
    expect("abc)def", NULL, 0);
    expect("[abc", NULL, 0);
    expect("abc\\", NULL, 0);
    expect("[a\\c]bcd]xy", NULL, 0);           /* \c] is one character: the class ends later */
    expect("[a\\c]bcd]wxyz", "wxyz", 0);
    expect("(\\c)abcd)", NULL, 0);             /* inside a group too: that ")" does not close it */
    expect("abc\\Kdefg", NULL, 0);             /* \K moves the match start */
    expect("a{,3}bcdef", NULL, 0);               /* {,n}: its meaning depends on the PCRE2 version */
    expect("(?i)caf\xc3\xa9s", "caf", 1);        /* caseless: ASCII only */
    expect(NULL, NULL, 0);
    /* the longest run wins; a run longer than the buffer is cut, not overrun */
    char big[200];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    uint8_t out[CLS_RELIT_MAX];
    int ci = 0;
    size_t n = cls_regex_literal(big, out, sizeof(out), &ci);
    if (n != CLS_RELIT_MAX) {
        fprintf(stderr, "%s:%d: long literal: %zu\n", __FILE__, __LINE__, n);
        failures++;
    }
    n = cls_regex_literal("abcdefgh", out, 4, &ci);
    if (n != 0) {
        fprintf(stderr, "%s:%d: literal longer than cap returned %zu\n", __FILE__, __LINE__, n);
        failures++;
    }
    if (failures)
        fprintf(stderr, "test_relit: %d failure(s)\n", failures);
    else
        printf("test_relit: ok\n");
    return failures != 0;
}
