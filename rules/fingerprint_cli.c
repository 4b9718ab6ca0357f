/* rules/fingerprint_cli.c — `sovgw policy fingerprint`: turns a list of known
 * sensitive values (customer ids, patient numbers, e-mail addresses) into the
 * keyed hashes a policy's classifiers.fingerprints section carries, so the
 * gateway can recognise the values without holding them in clear. Uses the
 * classifiers' own normalisation, so what is hashed here is what the scanner
 * hashes in a body. */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "rules/internal.h"

static void put_hex(FILE *f, const uint8_t *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        fputc(hex[b[i] >> 4], f);
        fputc(hex[b[i] & 15], f);
    }
}


static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* sovgw policy fingerprint --name NAME [--key HEX64] [FILE | -]
 * Prints a YAML list item for classifiers.fingerprints; errors name the input
 * line (never its value). Exit 0 ok, 1 a value is not a fingerprintable
 * token, 2 usage or I/O error. */
int rl_cli_fingerprint(int argc, char **argv)
{
    const char *name = NULL, *keyhex = NULL, *path = "-";
    int have_path = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
            keyhex = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "sovgw policy fingerprint: unknown or incomplete option '%s'\n",
                    argv[i]);
            return 2;
        } else if (!have_path) {
            path = argv[i];
            have_path = 1;
        } else {
            fprintf(stderr, "sovgw policy fingerprint: one input file at most\n");
            return 2;
        }
    }
    if (!name || !valid_name(name)) {
        fprintf(stderr, "sovgw policy fingerprint: --name NAME is required, UPPER_SNAKE_CASE "
                        "(the finding type, e.g. CUSTOMER_ID)\n");
        return 2;
    }
    uint8_t key[32];
    if (keyhex) {
        if (sgw_hex_decode(keyhex, strlen(keyhex), key, sizeof key) != 0) {
            fprintf(stderr, "sovgw policy fingerprint: --key must be 64 hex digits\n");
            return 2;
        }
    } else if (RAND_bytes(key, sizeof key) != 1) {
        fprintf(stderr, "sovgw policy fingerprint: no random key available\n");
        return 2;
    }
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "sovgw policy fingerprint: %s: %s\n", path, strerror(errno));
        return 2;
    }
    int rc = 2;
    uint8_t(*hashes)[32] = NULL;
    size_t n = 0, cap = 0, bad = 0, lineno = 0;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, in)) >= 0) {
        lineno++;
        size_t s = 0, t = (size_t)len;
        while (s < t && (line[s] == ' ' || line[s] == '\t'))
            s++;
        while (t > s && (line[t - 1] == '\n' || line[t - 1] == '\r' || line[t - 1] == ' ' ||
                         line[t - 1] == '\t'))
            t--;
        if (s == t || line[s] == '#')
            continue;
        uint8_t norm[CLS_FP_MAX_TOKEN];
        size_t nl = cls_fingerprint_normalise((const uint8_t *)line + s, t - s, norm, NULL);
        if (nl == 0) {
            fprintf(stderr,
                    "%s:%zu: not a fingerprintable value: one token of [A-Za-z0-9_@.+-], "
                    "%d-%d characters, holding a digit or '@'\n",
                    path, lineno, CLS_FP_MIN_TOKEN, CLS_FP_MAX_TOKEN);
            bad++;
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            void *nh = realloc(hashes, nc * sizeof *hashes);
            if (!nh) {
                fprintf(stderr, "sovgw policy fingerprint: out of memory\n");
                goto out;
            }
            hashes = nh;
            cap = nc;
        }
        if (cls_fingerprint_hash(key, norm, nl, hashes[n]) != 0) {
            fprintf(stderr, "sovgw policy fingerprint: HMAC failed\n");
            goto out;
        }
        n++;
    }
    if (ferror(in)) {
        fprintf(stderr, "sovgw policy fingerprint: %s: read error\n", path);
        goto out;
    }
    if (bad) {
        rc = 1;
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "sovgw policy fingerprint: %s: no values\n", path);
        rc = 1;
        goto out;
    }
    /* Sorted and deduplicated: the order of the source list is not leaked. */
    qsort(hashes, n, 32, cmp32);
    printf("# %zu values; paste under classifiers: fingerprints:\n- name: %s\n  key: \"", n, name);
    put_hex(stdout, key, 32);
    printf("\"\n  hashes:\n");
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && memcmp(hashes[i], hashes[i - 1], 32) == 0)
            continue;
        printf("    - \"");
        put_hex(stdout, hashes[i], 32);
        printf("\"\n");
    }
    rc = fflush(stdout) == 0 ? 0 : 2;
out:
    free(line);
    free(hashes);
    if (in != stdin)
        fclose(in);
    return rc;
}
