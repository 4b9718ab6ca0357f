/* Unit tests for the policy's classifiers.fingerprints section: parsing,
 * positioned errors, and what rl_policy_classifiers_load hands the engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/internal.h"

#include "../check.h"

#define KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define H1 "893867826449ce5bfb21b560f728f146de06f65132547658fdb9a80d4696586a"
#define H2 "A59FC578D4CB46FAAB1D6EB348E7C74B33B85122D6459FDB7BF5654B333ACAB4"

static int parse(const char *src, char **msgs, struct rl_policy **out)
{
    size_t ml = 0, nerr = 0;
    *msgs = NULL;
    FILE *f = open_memstream(msgs, &ml);
    struct rl_policy *p = NULL;
    int rc = rl_policy_parse("p.yaml", src, strlen(src), &p, f, &nerr);
    fclose(f);
    if (out)
        *out = p;
    else
        rl_policy_free(p);
    return rc;
}

static void test_good(void)
{
    const char *src = "version: 1\n"
                      "classifiers:\n"
                      "  fingerprints:\n"
                      "    - name: CUSTOMER_ID\n"
                      "      key: \"" KEY "\"\n"
                      "      hashes: [\"" H1 "\", \"" H2 "\"]\n";
    char *msgs;
    struct rl_policy *p = NULL;
    CHECK(parse(src, &msgs, &p) == SGW_OK);
    CHECK(p && p->n_fps == 1);
    if (p && p->n_fps == 1) {
        CHECK(strcmp(p->fps[0].name, "CUSTOMER_ID") == 0);
        CHECK(p->fps[0].key[0] == 0x00 && p->fps[0].key[31] == 0x1f);
        CHECK(p->fps[0].n_hashes == 2);
        CHECK(p->fps[0].hashes[0][0] == 0x89 && p->fps[0].hashes[1][0] == 0xa5); /* upper hex ok */
    }
    rl_policy_free(p);
    free(msgs);

    /* the loader hands them to the engine */
    char path[] = "/tmp/sgw-fp-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, src, strlen(src)) == (ssize_t)strlen(src));
    close(fd);
    struct cls_config cfg;
    char err[256] = "";
    CHECK(rl_policy_classifiers_load(path, &cfg, err, sizeof err) == SGW_OK);
    CHECK(cfg.n_fingerprints == 1 && cfg.fingerprints && cfg.fingerprints[0].n_hashes == 2);
    unlink(path);
}

struct bad {
    const char *body; /* under "classifiers:\n  fingerprints:\n" */
    const char *want; /* exact first error line */
};

static const struct bad k_bad[] = {
    {"    - name: CUSTOMER_ID\n      key: \"00\"\n      hashes: [\"" H1 "\"]\n",
     "p.yaml:5:12: fingerprint key must be 64 hex digits (a 256-bit HMAC key)"},
    {"    - name: CUSTOMER_ID\n      key: \"" KEY "\"\n      hashes: [\"xyz\"]\n",
     "p.yaml:6:16: fingerprint hashes must be 64 hex digits (HMAC-SHA256, from `sovgw policy "
     "fingerprint`)"},
    {"    - name: customer\n      key: \"" KEY "\"\n      hashes: [\"" H1 "\"]\n",
     "p.yaml:4:13: finding type name 'customer' must be UPPER_SNAKE_CASE (1-63 characters)"},
    {"    - key: \"" KEY "\"\n      hashes: [\"" H1 "\"]\n",
     "p.yaml:4:7: fingerprint set has no name"},
    {"    - name: CUSTOMER_ID\n      hashes: [\"" H1 "\"]\n",
     "p.yaml:4:7: fingerprint set has no key"},
    {"    - name: CUSTOMER_ID\n      key: \"" KEY "\"\n",
     "p.yaml:4:7: fingerprint set has no hashes"},
    {"    - name: CUSTOMER_ID\n      key: \"" KEY "\"\n      hashes: [\"" H1 "\"]\n      salt: x\n",
     NULL /* unknown key: any positioned error */},
    {"    - CUSTOMER_ID\n", NULL},
};

static void test_bad(void)
{
    for (size_t i = 0; i < SGW_ARRAY_LEN(k_bad); i++) {
        char src[1024];
        snprintf(src, sizeof src, "version: 1\nclassifiers:\n  fingerprints:\n%s", k_bad[i].body);
        char *msgs;
        int rc = parse(src, &msgs, NULL);
        CHECK(rc == SGW_EPROTO);
        if (k_bad[i].want) {
            size_t wl = strlen(k_bad[i].want);
            int ok = msgs && strncmp(msgs, k_bad[i].want, wl) == 0 && msgs[wl] == '\n';
            if (!ok)
                fprintf(stderr, "case %zu: want '%s'\n        got  '%s'\n", i, k_bad[i].want,
                        msgs ? msgs : "(none)");
            CHECK(ok);
        } else {
            CHECK(msgs && strncmp(msgs, "p.yaml:", 7) == 0);
        }
        free(msgs);
    }
}

int main(void)
{
    test_good();
    test_bad();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("test_fingerprints: ok");
    return 0;
}
