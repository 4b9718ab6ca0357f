/* Precision and recall per finding type on tests/data/classifiers/labelled.jsonl
 * (positives and hard negatives; regenerate with gen_labelled.py). Prints the
 * table and fails when any type falls below 0.95 on either measure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"
#include "common/sgw.h"

#define MAX_TYPES 96
#define MAX_EXPECT 8

struct tally {
    const char *type;
    unsigned tp, fp, fn;
};

static struct tally tallies[MAX_TYPES];
static size_t ntallies;
static char names[MAX_TYPES][64];

static struct tally *tally_for(const char *type)
{
    for (size_t i = 0; i < ntallies; i++)
        if (strcmp(tallies[i].type, type) == 0)
            return &tallies[i];
    if (ntallies == MAX_TYPES)
        return &tallies[MAX_TYPES - 1];
    size_t n = strnlen(type, sizeof(names[0]) - 1);
    memcpy(names[ntallies], type, n);
    names[ntallies][n] = '\0';
    tallies[ntallies].type = names[ntallies];
    return &tallies[ntallies++];
}

/* Parses the JSON string starting at *p (just after the opening quote) into
 * out; returns 0 and advances *p past the closing quote, -1 on bad input. */
static int json_string(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    size_t o = 0;
    while (*s && *s != '"') {
        unsigned c = (unsigned char)*s++;
        if (c == '\\') {
            char e = *s++;
            if (e == 'n')
                c = '\n';
            else if (e == 't')
                c = '\t';
            else if (e == 'r')
                c = '\r';
            else if (e == 'u') {
                unsigned v = 0;
                for (int k = 0; k < 4; k++) {
                    char h = *s++;
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                }
                if (v < 0x80) {
                    c = v;
                } else if (v < 0x800) {
                    if (o + 2 >= cap)
                        return -1;
                    out[o++] = (char)(0xc0 | (v >> 6));
                    c = 0x80 | (v & 0x3f);
                } else {
                    if (o + 3 >= cap)
                        return -1;
                    out[o++] = (char)(0xe0 | (v >> 12));
                    out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
                    c = 0x80 | (v & 0x3f);
                }
            } else {
                c = (unsigned char)e;
            }
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    if (*s != '"')
        return -1;
    out[o] = '\0';
    *p = s + 1;
    return 0;
}

/* the value of "key": "..." at or after *p */
static int json_field(const char **p, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": \"", key);
    const char *k = strstr(*p, pat);
    if (!k)
        return -1;
    *p = k + strlen(pat);
    return json_string(p, out, cap);
}

int main(void)
{
    FILE *f = fopen("tests/data/classifiers/labelled.jsonl", "r");
    if (!f) {
        perror("tests/data/classifiers/labelled.jsonl");
        return 1;
    }
    struct cls_engine *e = NULL;
    char err[256];
    if (cls_engine_new(NULL, &e, err, sizeof(err)) != SGW_OK) {
        fprintf(stderr, "engine: %s\n", err);
        return 1;
    }
    struct cls_worker *w = NULL;
    cls_worker_new(e, &w);
    cls_engine_unref(e);
    static char line[65536], text[16384];
    char types[MAX_EXPECT][64], values[MAX_EXPECT][2048]; /* session tokens: ~1 KB */
    unsigned entries = 0, verbose = getenv("CORPUS_VERBOSE") != NULL;
    while (fgets(line, sizeof(line), f)) {
        const char *p = line;
        if (json_field(&p, "text", text, sizeof(text)) != 0)
            continue;
        entries++;
        size_t ne = 0;
        while (ne < MAX_EXPECT && json_field(&p, "type", types[ne], sizeof(types[0])) == 0 &&
               json_field(&p, "value", values[ne], sizeof(values[0])) == 0)
            ne++;
        int matched[MAX_EXPECT] = {0};
        struct cls_scanner *sc = NULL;
        cls_scanner_new(w, 0, NULL, NULL, &sc);
        cls_scanner_data(sc, (const uint8_t *)text, strlen(text));
        cls_scanner_finish(sc);
        size_t nf = 0;
        const struct cls_finding *fd = cls_scanner_findings(sc, &nf);
        for (size_t i = 0; i < nf; i++) {
            int hit = 0;
            for (size_t k = 0; k < ne && !hit; k++) {
                const char *at = strstr(text, values[k]);
                if (matched[k] || !at || strcmp(types[k], fd[i].type) != 0)
                    continue;
                uint64_t vs = (uint64_t)(at - text), ve = vs + strlen(values[k]);
                if (fd[i].start < ve && vs < fd[i].end) {
                    matched[k] = hit = 1;
                    tally_for(types[k])->tp++;
                }
            }
            if (!hit) {
                tally_for(fd[i].type)->fp++;
                if (verbose)
                    fprintf(stderr, "FP %s [%llu,%llu) in: %s\n", fd[i].type, (unsigned long long)fd[i].start,
                            (unsigned long long)fd[i].end, text);
            }
        }
        for (size_t k = 0; k < ne; k++) {
            if (!matched[k]) {
                tally_for(types[k])->fn++;
                if (verbose)
                    fprintf(stderr, "FN %s '%s' in: %s\n", types[k], values[k], text);
            }
        }
        cls_scanner_free(sc);
    }
    fclose(f);
    cls_worker_free(w);
    int bad = 0;
    printf("%-40s %5s %5s %5s %9s %7s\n", "type", "tp", "fp", "fn", "precision", "recall");
    for (size_t i = 0; i < ntallies; i++) {
        const struct tally *t = &tallies[i];
        double prec = t->tp + t->fp ? (double)t->tp / (t->tp + t->fp) : 1.0;
        double rec = t->tp + t->fn ? (double)t->tp / (t->tp + t->fn) : 1.0;
        int low = prec < 0.95 || rec < 0.95;
        printf("%-40s %5u %5u %5u %9.3f %7.3f%s\n", t->type, t->tp, t->fp, t->fn, prec, rec,
               low ? "  <-- below 0.95" : "");
        bad |= low;
    }
    printf("%u entries\n", entries);
    if (entries < 300) {
        fprintf(stderr, "labelled corpus too small (%u entries)\n", entries);
        return 1;
    }
    return bad ? 1 : 0;
}
