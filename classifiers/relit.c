/* classifiers/relit.c — the longest literal every match of a custom regex
 * must contain. The prefilter database then holds that literal (Hyperscan
 * literal matching: cost flat in the number of regexes) instead of the
 * regex's Hyperscan prefilter form (cost grows with each regex).
 *
 * Only the top-level concatenation is read; groups, classes, escapes with
 * arguments and anything this reader does not understand end the current
 * literal run or, when it could change what a later literal means (inline
 * options, \Q, verbs, top-level '|'), give up: 0 is always a safe answer,
 * the regex then keeps its prefilter form. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "classifiers/engine.h"

static int is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the escape at re[i] == '\\' as far as skipping it goes: "\\c"
 * takes the next character whatever it is ("\\c]" is one character, not the
 * end of a class); "\\Q" quotes up to "\\E" (not followed: 0); 0 at the end. */
static size_t escape_len(const char *re, size_t i)
{
    char d = re[i + 1];
    if (!d || d == 'Q')
        return 0;
    if (d == 'c')
        return re[i + 2] ? 3 : 0;
    return 2;
}

/* Index just past the character class opening at re[i] == '[', or 0. */
static size_t skip_class(const char *re, size_t i)
{
    size_t j = i + 1;
    if (re[j] == '^')
        j++;
    if (re[j] == ']')
        j++;
    while (re[j] && re[j] != ']') {
        if (re[j] == '\\') {
            size_t k = escape_len(re, j);
            if (!k)
                return 0;
            j += k;
        } else if (re[j] == '[' && re[j + 1] == ':') {
            /* a POSIX class "[:name:]" only as PCRE2 reads one (its
               check_posix_syntax): a ']' or another "[:" before the ":]"
               makes the '[' an ordinary member */
            size_t k = j + 2, end = 0;
            for (; re[k]; k++) {
                if (re[k] == '\\' && (re[k + 1] == ']' || re[k + 1] == '\\'))
                    k++;
                else if ((re[k] == '[' && re[k + 1] == ':') || re[k] == ']')
                    break;
                else if (re[k] == ':' && re[k + 1] == ']') {
                    end = k + 2;
                    break;
                }
            }
            j = end ? end : j + 1;
        } else {
            j++;
        }
    }
    return re[j] == ']' ? j + 1 : 0;
}

/* Index just past the group opening at re[i] == '(', or 0. Inline option
 * settings ("(?i)", "(?x:") and verbs ("(*UTF)") return 0: they change how
 * the rest of the pattern reads. */
static size_t skip_group(const char *re, size_t i)
{
    if (re[i + 1] == '*')
        return 0;
    if (re[i + 1] == '?') {
        char k = re[i + 2];
        int plain = k == ':' || k == '=' || k == '!' || (k == '<' && (re[i + 3] == '=' || re[i + 3] == '!'));
        if (!plain)
            return 0;
    }
    size_t j = i + 1;
    int depth = 1;
    while (re[j]) {
        char c = re[j];
        if (c == '\\') {
            size_t k = escape_len(re, j);
            if (!k)
                return 0;
            j += k;
        } else if (c == '[') {
            j = skip_class(re, j);
            if (!j)
                return 0;
        } else if (c == '(') {
            if (re[j + 1] == '*')
                return 0;
            if (re[j + 1] == '?' && re[j + 2] != ':' && re[j + 2] != '=' && re[j + 2] != '!' &&
                re[j + 2] != '<')
                return 0;
            depth++;
            j++;
        } else if (c == ')') {
            depth--;
            j++;
            if (depth == 0)
                return j;
        } else {
            j++;
        }
    }
    return 0;
}

/* Length of a quantifier "{m}", "{m,}", "{m,n}" at re[i] == '{' and its
 * minimum in *min; 0 when re[i] does not start one (then '{' is a literal). */
static size_t quant_len(const char *re, size_t i, unsigned long *min)
{
    size_t j = i + 1;
    unsigned long m = 0;
    if (!is_digit(re[j]))
        return 0;
    while (is_digit(re[j])) {
        if (m < 100000)
            m = m * 10 + (unsigned long)(re[j] - '0');
        j++;
    }
    if (re[j] == ',') {
        j++;
        while (is_digit(re[j]))
            j++;
    }
    if (re[j] != '}')
        return 0;
    *min = m;
    return j + 1 - i;
}

size_t cls_regex_literal(const char *re, uint8_t *out, size_t cap, int *caseless)
{
    uint8_t run[CLS_RELIT_MAX];
    size_t run_len = 0, best = 0, i = 0;
    int last_lit = 0; /* the previous atom is run[run_len - 1] */
    *caseless = 0;
    if (!re)
        return 0;
    if (strncmp(re, "(?i)", 4) == 0) {
        *caseless = 1;
        i = 4;
    }
#define END_RUN()                                                                                   \
    do {                                                                                            \
        if (run_len > best && run_len <= cap) {                                                     \
            memcpy(out, run, run_len);                                                              \
            best = run_len;                                                                         \
        }                                                                                           \
        run_len = 0;                                                                                \
        last_lit = 0;                                                                               \
    } while (0)
    while (re[i]) {
        char c = re[i];
        int lit = -1; /* a literal byte to append */
        if (c == '\\') {
            char d = re[i + 1];
            if (!d)
                return 0;
            if (is_alnum(d)) {
                /* zero-argument escapes only; anything with an argument
                   (\x41, \p{L}, \g1, \c], \Q...) is not read, nor \K (it
                   moves the start of the reported match) */
                if (!strchr("dDwWsSbBhHvVRXAzZGnrtfea", d))
                    return 0;
                END_RUN();
            } else {
                lit = (unsigned char)d;
            }
            i += 2;
        } else if (c == '[') {
            size_t j = skip_class(re, i);
            if (!j)
                return 0;
            END_RUN();
            i = j;
        } else if (c == '(') {
            size_t j = skip_group(re, i);
            if (!j)
                return 0;
            END_RUN();
            i = j;
        } else if (c == ')' || c == '|') {
            return 0;
        } else if (c == '?' || c == '*' || c == '+' || c == '{') {
            unsigned long min = 1;
            size_t ql = 1;
            if (c == '{') {
                ql = quant_len(re, i, &min);
                if (ql == 0 && re[i + 1] == ',')
                    return 0; /* "{,n}": literal text in PCRE2 10.42, {0,n} from 10.43 */
                if (ql == 0) {
                    END_RUN(); /* a literal '{': not used */
                    i++;
                    continue;
                }
            } else if (c != '+') {
                min = 0;
            }
            if (last_lit && min == 0)
                run_len--; /* the atom may be absent */
            END_RUN();
            i += ql;
            if (re[i] == '?' || re[i] == '+')
                i++; /* lazy / possessive */
            continue;
        } else if (c == '.' || c == '^' || c == '$') {
            END_RUN();
            i++;
        } else {
            lit = (unsigned char)c;
            i++;
        }
        if (lit >= 0) {
            if ((*caseless && lit >= 0x80) || run_len == sizeof(run)) {
                END_RUN();
                continue;
            }
            run[run_len++] = (uint8_t)lit;
            last_lit = 1;
        } else {
            last_lit = 0;
        }
    }
    END_RUN();
#undef END_RUN
    return best >= CLS_RELIT_MIN ? best : 0;
}
