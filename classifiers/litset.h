/* classifiers/litset.h — exact multi-literal search for small sets (the scanner's built-in anchors). */
#ifndef SGW_CLASSIFIERS_LITSET_H
#define SGW_CLASSIFIERS_LITSET_H

#include <stddef.h>
#include <stdint.h>

struct cls_litset; /* immutable after build; shared read-only by threads */
struct cls_litset_lit {
    const uint8_t *bytes;
    size_t len;       /* 1..CLS_LITSET_MAXLEN */
    int caseless;     /* ASCII letters match either case (as Hyperscan's HS_FLAG_CASELESS); other bytes exact */
    uint32_t id;      /* reported as given */
};
#define CLS_LITSET_MAX 128
#define CLS_LITSET_MAXLEN 32
/* SGW_OK, SGW_EINVAL (n == 0, n > CLS_LITSET_MAX, a bad length) or SGW_ENOMEM. Duplicates allowed (each reported). */
int cls_litset_new(const struct cls_litset_lit *lits, size_t n, struct cls_litset **out);
void cls_litset_free(struct cls_litset *s);
size_t cls_litset_maxlen(const struct cls_litset *s);
/* Reports every occurrence of every literal whose LAST byte lies in p[0, n) and whose first byte lies at
 * or after p - back (the caller guarantees p[-back, 0) is readable and is the text just before p: this is
 * how a stream of pieces is searched — pass back = min(maxlen - 1, bytes before)). cb(id, end, ctx) with
 * end = index one past the last byte, relative to p (so 1..n); occurrences in nondecreasing order of end
 * (any order among equal ends). A nonzero return from cb stops the scan; the function returns that value,
 * else 0. Never reads outside [p - back, p + n). */
typedef int (*cls_litset_cb)(uint32_t id, size_t end, void *ctx);
int cls_litset_scan(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, cls_litset_cb cb, void *ctx);

/* Added (not part of the original contract): */

/* Candidate statistics of one scan, for benchmarks: the number of (end
 * position, bucket) pairs the filter passed to verification, and the number
 * of literal compares made. Same results as cls_litset_scan; slower. */
struct cls_litset_stats {
    uint64_t cand_pos;     /* end positions with at least one candidate bucket */
    uint64_t cand_buckets; /* (end position, bucket) pairs */
    uint64_t compares;     /* literal compares */
};
int cls_litset_scan_stats(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back,
                          cls_litset_cb cb, void *ctx, struct cls_litset_stats *st);

/* tests only: 0 = the best path this CPU has (AVX-512VBMI for sets whose
 * filter bytes are ASCII, else AVX-512BW, else AVX2, else SSSE3, else
 * scalar), 1 = scalar, 2 = at most SSSE3, 3 = at most AVX2, 4 = at most
 * AVX-512BW. Process-wide; not for production. */
void cls_litset_force_scalar(int on);
/* tests only: the path cls_litset_scan takes now: "avx512vbmi", "avx512bw",
 * "avx2", "ssse3" or "scalar". */
const char *cls_litset_path(void);

#endif
