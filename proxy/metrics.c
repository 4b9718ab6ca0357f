/* proxy/metrics.c — process-wide Prometheus metrics.
 *
 * Counters are C11 atomics updated from every worker without a lock. The only
 * lock serialises inserts into the rule-label table; lookups of a known rule
 * id are lock-free (a slot is published with a release store after its entry
 * is written, and slots never change until px_metrics_init). The table is bounded
 * at PX_METRICS_MAX_RULES distinct ids, after which requests are counted under
 * rule="other", so a policy with unbounded ids cannot grow memory or the
 * exposition without limit. */
#include "proxy/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sgw.h"

#define RULE_ID_MAX 128 /* longer rule ids are truncated for the label */
#define HASH_SLOTS (PX_METRICS_MAX_RULES * 2)

enum verdict { V_ALLOW, V_DENY, V_ERROR, V_OTHER, V__COUNT };
static const char *const verdict_names[V__COUNT] = {"allow", "deny", "error", "other"};

/* Upper bounds in seconds; +Inf is implicit. */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

struct rule_entry {
    char id[RULE_ID_MAX];
    _Atomic uint64_t count[V__COUNT];
};

static struct {
    pthread_mutex_t lock;              /* serialises inserts (n_rules, new slots) */
    _Atomic size_t n_rules;            /* entries in rules[] in use; [0] is "other" */
    _Atomic int32_t slots[HASH_SLOTS]; /* index into rules[]; 0 = empty */
    struct rule_entry rules[PX_METRICS_MAX_RULES + 1];
    _Atomic uint64_t bucket[N_BUCKETS + 1]; /* non-cumulative; last = above all bounds */
    _Atomic uint64_t sum_us;
    _Atomic uint64_t count;
    _Atomic uint64_t bytes_in, bytes_out;
    _Atomic int64_t active, upstream;
    _Atomic uint64_t policy_version;
    _Atomic uint64_t declog_lost;
    _Atomic uint64_t dc_hits, dc_misses;
    _Atomic int up;
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};

void px_metrics_init(void)
{
    pthread_mutex_lock(&M.lock);
    for (size_t i = 0; i < HASH_SLOTS; i++)
        atomic_store(&M.slots[i], 0);
    memcpy(M.rules[0].id, "other", sizeof "other");
    atomic_store(&M.n_rules, 1);
    for (size_t i = 0; i <= PX_METRICS_MAX_RULES; i++)
        for (size_t v = 0; v < V__COUNT; v++)
            atomic_store(&M.rules[i].count[v], 0);
    pthread_mutex_unlock(&M.lock);
    for (size_t i = 0; i <= N_BUCKETS; i++)
        atomic_store(&M.bucket[i], 0);
    atomic_store(&M.sum_us, 0);
    atomic_store(&M.count, 0);
    atomic_store(&M.bytes_in, 0);
    atomic_store(&M.bytes_out, 0);
    atomic_store(&M.active, 0);
    atomic_store(&M.upstream, 0);
    atomic_store(&M.policy_version, 0);
    atomic_store(&M.declog_lost, 0);
    atomic_store(&M.dc_hits, 0);
    atomic_store(&M.dc_misses, 0);
    atomic_store(&M.up, 1);
}

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Probes the table for id (n bytes); returns the entry, or NULL with *slot
 * set to the first empty slot (SIZE_MAX when the table is full). */
static struct rule_entry *probe(const char *id, size_t n, uint32_t h, size_t *slot)
{
    *slot = SIZE_MAX;
    for (size_t i = 0; i < HASH_SLOTS; i++) {
        size_t s = (h + i) & (HASH_SLOTS - 1);
        int32_t idx = atomic_load_explicit(&M.slots[s], memory_order_acquire);
        if (idx == 0) {
            *slot = s;
            return NULL;
        }
        struct rule_entry *c = &M.rules[idx];
        if (strncmp(c->id, id, RULE_ID_MAX) == 0 && strlen(c->id) == n)
            return c;
    }
    return NULL;
}

/* Returns the entry for rule id (truncated to RULE_ID_MAX-1 bytes), inserting
 * it when there is room, else the shared "other" entry. */
static struct rule_entry *rule_get(const char *rule_id)
{
    if (rule_id == NULL || rule_id[0] == '\0')
        rule_id = "none";
    struct rule_entry *other = &M.rules[0];
    if (strcmp(rule_id, "other") == 0) /* one series per label set: share the overflow entry */
        return other;
    char id[RULE_ID_MAX];
    size_t n = strnlen(rule_id, RULE_ID_MAX - 1);
    memcpy(id, rule_id, n);
    id[n] = '\0';
    uint32_t h = hash(id, n);
    size_t slot;
    struct rule_entry *e = probe(id, n, h, &slot);
    if (e != NULL)
        return e;
    pthread_mutex_lock(&M.lock);
    e = probe(id, n, h, &slot); /* another thread may have inserted it meanwhile */
    if (e == NULL) {
        size_t k = atomic_load(&M.n_rules);
        if (k == 0) { /* px_metrics_init not called yet */
            memcpy(other->id, "other", sizeof "other");
            k = 1;
        }
        e = other;
        if (slot != SIZE_MAX && k <= PX_METRICS_MAX_RULES) {
            e = &M.rules[k];
            memcpy(e->id, id, n + 1);
            atomic_store(&M.n_rules, k + 1);
            atomic_store_explicit(&M.slots[slot], (int32_t)k, memory_order_release);
        }
    }
    pthread_mutex_unlock(&M.lock);
    return e;
}

static enum verdict verdict_of(const char *v)
{
    for (int i = 0; i < V_OTHER; i++)
        if (v != NULL && strcmp(v, verdict_names[i]) == 0)
            return (enum verdict)i;
    return V_OTHER;
}

void px_metrics_request(const char *verdict, const char *rule_id, double seconds, uint64_t bytes_in,
                        uint64_t bytes_out)
{
    struct rule_entry *e = rule_get(rule_id);
    atomic_fetch_add_explicit(&e->count[verdict_of(verdict)], 1, memory_order_relaxed);
    if (!(seconds >= 0) || isinf(seconds)) /* NaN, negative, infinite → 0 */
        seconds = seconds > 0 ? 1e9 : 0;
    size_t b = 0;
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    atomic_fetch_add_explicit(&M.bucket[b], 1, memory_order_relaxed);
    double us = seconds * 1e6;
    atomic_fetch_add_explicit(&M.sum_us, us >= 1.8e19 ? UINT64_MAX / 4 : (uint64_t)(us + 0.5),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&M.count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&M.bytes_in, bytes_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&M.bytes_out, bytes_out, memory_order_relaxed);
}

void px_metrics_conn(int delta)
{
    atomic_fetch_add_explicit(&M.active, delta, memory_order_relaxed);
}

void px_metrics_upstream_conn(int delta)
{
    atomic_fetch_add_explicit(&M.upstream, delta, memory_order_relaxed);
}

void px_metrics_policy_version(uint64_t v)
{
    atomic_store(&M.policy_version, v);
}

void px_metrics_decision_cache(int hit)
{
    atomic_fetch_add_explicit(hit ? &M.dc_hits : &M.dc_misses, 1, memory_order_relaxed);
}

void px_metrics_declog_lost(void)
{
    atomic_fetch_add_explicit(&M.declog_lost, 1, memory_order_relaxed);
}

/* Growable output buffer; on allocation failure it sticks in a failed state. */
struct out {
    char *p;
    size_t len, cap;
    int failed;
};

static void out_reserve(struct out *o, size_t n)
{
    if (o->failed || o->len + n + 1 <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + n + 1)
        cap *= 2;
    char *p = realloc(o->p, cap);
    if (p == NULL) {
        o->failed = 1;
        return;
    }
    o->p = p;
    o->cap = cap;
}

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->failed = 1;
        return;
    }
    out_reserve(o, (size_t)n);
    if (o->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    o->len += (size_t)n;
}


/* Label value escaping per the text exposition format: backslash, double
 * quote and newline escaped; other control bytes and invalid UTF-8 become
 * U+FFFD so the output always parses. */
static void out_label(struct out *o, const char *v)
{
    size_t n = strlen(v);
    out_reserve(o, n * 3);
    for (size_t i = 0; i < n && !o->failed;) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\\' || c == '"') {
            o->p[o->len++] = '\\';
            o->p[o->len++] = (char)c;
            i++;
        } else if (c == '\n') {
            o->p[o->len++] = '\\';
            o->p[o->len++] = 'n';
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(o->p + o->len, "\xef\xbf\xbd", 3);
            o->len += 3;
            i++;
        } else {
            size_t l = sgw_utf8_valid_len((const uint8_t *)v + i, n - i);
            if (l == 0) {
                memcpy(o->p + o->len, "\xef\xbf\xbd", 3);
                o->len += 3;
                i++;
            } else {
                memcpy(o->p + o->len, v + i, l);
                o->len += l;
                i += l;
            }
        }
    }
}

char *px_metrics_render(void)
{
    struct out o = {0};
    outf(&o,
         "# HELP sovgw_up 1 while the gateway process is running.\n"
         "# TYPE sovgw_up gauge\nsovgw_up %d\n",
         atomic_load(&M.up));

    outf(&o, "# HELP sovgw_requests_total Requests decided, by verdict and matching rule.\n"
             "# TYPE sovgw_requests_total counter\n");
    pthread_mutex_lock(&M.lock); /* ids of entries below n_rules are stable */
    size_t n = atomic_load(&M.n_rules);
    for (size_t i = 0; i < n && !o.failed; i++) {
        struct rule_entry *e = &M.rules[i];
        for (size_t v = 0; v < V__COUNT; v++) {
            uint64_t c = atomic_load_explicit(&e->count[v], memory_order_relaxed);
            if (c == 0)
                continue;
            outf(&o, "sovgw_requests_total{verdict=\"%s\",rule=\"", verdict_names[v]);
            out_label(&o, e->id);
            outf(&o, "\"} %llu\n", (unsigned long long)c);
        }
    }
    pthread_mutex_unlock(&M.lock);

    outf(&o, "# HELP sovgw_request_duration_seconds Time from request head to the end of the "
             "response.\n# TYPE sovgw_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b <= N_BUCKETS; b++) {
        cum += atomic_load_explicit(&M.bucket[b], memory_order_relaxed);
        if (b < N_BUCKETS)
            outf(&o, "sovgw_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
                 (unsigned long long)cum);
        else
            outf(&o, "sovgw_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                 (unsigned long long)cum);
    }
    uint64_t sum = atomic_load(&M.sum_us);
    /* _count equals the +Inf bucket even while writers race with this render. */
    outf(&o, "sovgw_request_duration_seconds_sum %llu.%06llu\n",
         (unsigned long long)(sum / 1000000), (unsigned long long)(sum % 1000000));
    outf(&o, "sovgw_request_duration_seconds_count %llu\n", (unsigned long long)cum);

    outf(&o,
         "# HELP sovgw_bytes_in_total Bytes received from clients.\n"
         "# TYPE sovgw_bytes_in_total counter\nsovgw_bytes_in_total %llu\n",
         (unsigned long long)atomic_load(&M.bytes_in));
    outf(&o,
         "# HELP sovgw_bytes_out_total Bytes sent to clients.\n"
         "# TYPE sovgw_bytes_out_total counter\nsovgw_bytes_out_total %llu\n",
         (unsigned long long)atomic_load(&M.bytes_out));
    outf(&o,
         "# HELP sovgw_active_connections Open client connections.\n"
         "# TYPE sovgw_active_connections gauge\nsovgw_active_connections %lld\n",
         (long long)atomic_load(&M.active));
    outf(&o,
         "# HELP sovgw_upstream_connections Open upstream connections.\n"
         "# TYPE sovgw_upstream_connections gauge\nsovgw_upstream_connections %lld\n",
         (long long)atomic_load(&M.upstream));
    outf(&o,
         "# HELP sovgw_policy_version Version of the policy in use.\n"
         "# TYPE sovgw_policy_version gauge\nsovgw_policy_version %llu\n",
         (unsigned long long)atomic_load(&M.policy_version));
    outf(&o,
         "# HELP sovgw_decision_log_lost_total Decision-log lines that could not be written.\n"
         "# TYPE sovgw_decision_log_lost_total counter\nsovgw_decision_log_lost_total %llu\n",
         (unsigned long long)atomic_load(&M.declog_lost));
    outf(&o,
         "# HELP sovgw_decision_cache_hits_total Policy decisions answered by a worker's "
         "decision cache.\n"
         "# TYPE sovgw_decision_cache_hits_total counter\nsovgw_decision_cache_hits_total %llu\n"
         "# HELP sovgw_decision_cache_misses_total Policy decisions looked up in the store.\n"
         "# TYPE sovgw_decision_cache_misses_total counter\n"
         "sovgw_decision_cache_misses_total %llu\n",
         (unsigned long long)atomic_load(&M.dc_hits),
         (unsigned long long)atomic_load(&M.dc_misses));
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    return o.p;
}
