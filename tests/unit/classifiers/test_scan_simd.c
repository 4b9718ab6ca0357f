/* tests/unit/classifiers/test_scan_simd.c — the scanner's window features
 * (classifiers/scan.c): the SIMD variant, the scalar variant and a naive
 * byte loop written from the definitions in engine.h (enum cls_wflag) must
 * agree on random windows of every length, including those just under and
 * over one 64-byte block, and each shape across the block edges of long
 * windows. The gates and the unopened-window skip decide on
 * these features, so a disagreement would change findings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/engine.h"

static int failures;

static int is_d(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int is_u(uint8_t c)
{
    return c >= 'A' && c <= 'Z';
}

/* the definitions, one byte at a time */
static void naive(const uint8_t *b, size_t n, uint32_t out[3])
{
    static const char chars[] = "@.:-+/( =";
    static const uint32_t flag[] = {CLS_WF_AT,    CLS_WF_DOT,   CLS_WF_COLON, CLS_WF_DASH, CLS_WF_PLUS,
                                    CLS_WF_SLASH, CLS_WF_PAREN, CLS_WF_SPACE, CLS_WF_EQ};
    uint32_t nd = 0, nu = 0, ndot = 0, nsep = 0, ncolon = 0, run = 0, maxrun = 0, fl = 0;
    for (size_t i = 0; i < n; i++) {
        nd += (uint32_t)is_d(b[i]);
        nu += (uint32_t)is_u(b[i]);
        ndot += b[i] == '.';
        nsep += b[i] == ':' || b[i] == '-';
        ncolon += b[i] == ':';
        run = is_d(b[i]) ? run + 1 : 0;
        if (run > maxrun)
            maxrun = run;
        for (size_t f = 0; f < 9; f++)
            if (b[i] == (uint8_t)chars[f])
                fl |= flag[f];
    }
    fl |= (ndot >= 3 ? CLS_WF_3DOTS : 0u) | (nsep >= 5 ? CLS_WF_SEP5 : 0u) | (ncolon >= 2 ? CLS_WF_COLON2 : 0u) |
          (maxrun >= 4 ? CLS_WF_RUN4 : 0u) | (maxrun >= 6 ? CLS_WF_RUN6 : 0u) | (maxrun >= 7 ? CLS_WF_RUN7 : 0u) |
          (maxrun >= 8 ? CLS_WF_RUN8 : 0u);
    {
        uint32_t ip = 0, dsd2 = 0, up = 0, au = 0;
        for (size_t i = 0; i < n; i++) {
            up = is_u(b[i]) ? up + 1 : 0;
            au = (is_u(b[i]) || is_d(b[i])) ? au + 1 : 0;
            if (up >= 6)
                fl |= CLS_WF_UP6;
            if (au >= 6)
                fl |= CLS_WF_AU6;
            if (i + 1 < n) {
                if (is_d(b[i]) && is_u(b[i + 1]))
                    fl |= CLS_WF_DU;
                if (is_u(b[i]) && is_d(b[i + 1]))
                    fl |= CLS_WF_UD;
                if (is_u(b[i]) && is_u(b[i + 1]))
                    fl |= CLS_WF_UU;
            }
            if (i + 2 < n) {
                uint8_t m = b[i + 1];
                if (is_u(b[i]) && is_u(m) && is_d(b[i + 2]))
                    fl |= CLS_WF_UUD;
                if (is_d(b[i]) && (m == ' ' || m == '.' || m == '-') && is_d(b[i + 2]))
                    fl |= CLS_WF_DSD;
                if (is_d(b[i]) && m == '-' && is_u(b[i + 2]))
                    fl |= CLS_WF_DDU;
                ip += is_d(b[i]) && m == '.' && is_d(b[i + 2]);
                dsd2 += is_d(b[i]) && (m == '.' || m == '-' || m == '/') && is_d(b[i + 2]);
            }
        }
        if (ip >= 3)
            fl |= CLS_WF_IP3;
        if (dsd2 >= 2)
            fl |= CLS_WF_DSD2;
    }
    out[0] = nd;
    out[1] = nu;
    out[2] = fl;
}

int main(void)
{
    /* digits, upper case, the feature punctuation and some other bytes */
    static const char alpha[] = "0123456789012345ABCDEFXYZ@.:-+/( =abcxyz_,;\n\"\x80\xff";
    uint8_t buf[512 + 64];
    srand(7);
    for (int iter = 0; iter < 60000; iter++) {
        size_t n = 1 + (size_t)rand() % (iter % 4 == 0 ? 300 : 70);
        /* mostly one class, as windows are: runs of digits, then mixes */
        int mode = rand() % 3;
        for (size_t i = 0; i < sizeof(buf); i++) {
            int r = rand();
            if (mode == 0)
                buf[i] = (uint8_t)alpha[r % 16];
            else if (mode == 1)
                buf[i] = (uint8_t)alpha[r % 32];
            else
                buf[i] = (uint8_t)alpha[r % (int)(sizeof(alpha) - 1)];
        }
        uint32_t want[3], got_s[3], got_v[3];
        naive(buf, n, want);
        cls_scan_window_features(buf, n, 0, got_s);
        cls_scan_window_features(buf, n, 1, got_v);
        if (memcmp(want, got_s, sizeof(want)) != 0 || memcmp(want, got_v, sizeof(want)) != 0) {
            fprintf(stderr, "%s: n=%zu '%.*s': naive %u/%u/%#x scalar %u/%u/%#x simd %u/%u/%#x\n", __FILE__, n,
                    (int)n, (const char *)buf, want[0], want[1], want[2], got_s[0], got_s[1], got_s[2], got_v[0],
                    got_v[1], got_v[2]);
            if (++failures > 10)
                break;
        }
    }
    /* each shape alone in neutral bytes, straddling the 64-byte block
       edges of long windows at every offset near them */
    static const char *const shapes[] = {"1A", "A1", "AB", "1 2", "1.2", "1-2", "1-A", "1.2.3.4", "1/2/3",
                                         "ABCDEF", "AB12CD", "1234567", "12345678", "AB1"};
    for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
        size_t sl = strlen(shapes[k]);
        for (size_t n = 60; n <= 200; n += 7)
            for (size_t at = 50; at + sl <= n && at < 140; at++) {
                memset(buf, 'a', sizeof(buf));
                memcpy(buf + at, shapes[k], sl);
                uint32_t want[3], got_s[3], got_v[3];
                naive(buf, n, want);
                cls_scan_window_features(buf, n, 0, got_s);
                cls_scan_window_features(buf, n, 1, got_v);
                if (memcmp(want, got_s, sizeof(want)) != 0 || memcmp(want, got_v, sizeof(want)) != 0) {
                    fprintf(stderr, "%s: '%s' at %zu of %zu: naive %#x scalar %#x simd %#x\n", __FILE__, shapes[k],
                            at, n, want[2], got_s[2], got_v[2]);
                    if (++failures > 10)
                        return 1;
                }
            }
    }
    /* the short path's eight masks of 64 bytes (token bytes, digits, '@',
       capitals, spaces, the punctuation "(+-./:=", two-byte letters' leads
       and continuation bytes): SIMD, scalar and the definitions agree on
       random blocks, every byte value included */
    static const char tokpunct[] = "._%+-/=@:~!#$*^|&?";
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t q[64];
        for (size_t i = 0; i < 64; i++) {
            int r = rand();
            q[i] = iter % 3 == 0 ? (uint8_t)(r & 0xff) : (uint8_t)alpha[r % (int)(sizeof(alpha) - 1)];
        }
        uint64_t want[8] = {0}, got_s[8], got_v[8], got_w[8];
        for (size_t i = 0; i < 64; i++) {
            uint8_t c = q[i];
            int alnum = is_d(c) || is_u(c) || (c >= 'a' && c <= 'z');
            int tok = c != 0 && (alnum || c == '_' || memchr(tokpunct, c, sizeof(tokpunct) - 1) != NULL);
            want[0] |= (uint64_t)tok << i;
            want[1] |= (uint64_t)is_d(c) << i;
            want[2] |= (uint64_t)(c == '@') << i;
            want[3] |= (uint64_t)is_u(c) << i;
            want[4] |= (uint64_t)(c == ' ') << i;
            want[5] |= (uint64_t)(c != 0 && memchr("(+-./:=", c, 7) != NULL) << i;
            want[6] |= (uint64_t)(c >= 0xc3 && c <= 0xd3) << i;
            want[7] |= (uint64_t)(c >= 0x80 && c <= 0xbf) << i;
        }
        cls_scan_short_masks(q, 0, got_s);
        cls_scan_short_masks(q, 1, got_v);
        cls_scan_short_masks(q, 2, got_w); /* AVX-512 where the CPU has it */
        if (memcmp(want, got_s, sizeof(want)) != 0 || memcmp(want, got_v, sizeof(want)) != 0 ||
            memcmp(want, got_w, sizeof(want)) != 0) {
            for (size_t k = 0; k < 8; k++)
                if (want[k] != got_s[k] || want[k] != got_v[k] || want[k] != got_w[k])
                    fprintf(stderr, "%s: short masks %zu: want %#llx scalar %#llx avx2 %#llx avx512 %#llx\n",
                            __FILE__, k, (unsigned long long)want[k], (unsigned long long)got_s[k],
                            (unsigned long long)got_v[k], (unsigned long long)got_w[k]);
            if (++failures > 10)
                return 1;
        }
    }
    /* bytes past n must not count, whatever they are */
    memset(buf, '9', sizeof(buf));
    memcpy(buf, "ab", 2);
    uint32_t got[3];
    cls_scan_window_features(buf, 2, 1, got);
    if (got[0] != 0 || got[2] != 0) {
        fprintf(stderr, "%s: bytes past the window counted\n", __FILE__);
        failures++;
    }
    if (failures)
        return 1;
    printf("test_scan_simd: ok\n");
    return 0;
}
