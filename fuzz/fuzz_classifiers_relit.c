/* fuzz/fuzz_classifiers_relit.c — the required-literal reader of custom
 * regexes (classifiers/relit.c). Input: a regex, a NUL byte, a subject.
 * Property: whenever PCRE2 matches the subject, the match contains the
 * extracted literal (case-insensitively for a "(?i)" regex), so a
 * literal-triggered regex never misses what its prefilter form would find. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int contains(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn, int caseless)
{
    for (size_t i = 0; i + nn <= hn; i++) {
        size_t k = 0;
        while (k < nn && (caseless ? lc(h[i + k]) == lc(n[k]) : h[i + k] == n[k]))
            k++;
        if (k == nn)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t rl = nul ? (size_t)(nul - data) : size;
    if (rl > 256)
        return 0;
    char re[257];
    memcpy(re, data, rl);
    re[rl] = '\0';
    const uint8_t *subj = nul ? nul + 1 : data + size;
    size_t sn = nul ? size - rl - 1 : 0;
    uint8_t lit[CLS_RELIT_MAX];
    int caseless = 0;
    size_t ll = cls_regex_literal(re, lit, sizeof(lit), &caseless);
    if (ll == 0)
        return 0;
    if (ll < CLS_RELIT_MIN || ll > CLS_RELIT_MAX)
        abort();
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, rl, 0, &ec, &eo, NULL);
    if (!code)
        return 0;
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(mc, 20000);
    pcre2_set_depth_limit(mc, 200);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int rc = pcre2_match(code, subj, sn, 0, 0, md, mc);
    if (rc >= 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] >= ov[0] && !contains(subj + ov[0], ov[1] - ov[0], lit, ll, caseless))
            abort();
    }
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    pcre2_code_free(code);
    return 0;
}
