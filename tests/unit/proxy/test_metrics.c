/* Unit tests for proxy/metrics.c: exact counts after recording from two
 * threads, a line-by-line check of the text exposition format, label escaping
 * and the bound on distinct rule labels. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sgw.h"
#include "proxy/metrics.h"

#include "../check.h"

#define PER_THREAD 20000

static int is_name_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int is_name(int c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Checks one exposition line; returns 1 when it is well formed. */
static int line_ok(const char *l, size_t n)
{
    if (n >= 7 && (memcmp(l, "# HELP ", 7) == 0))
        return n > 7 && is_name_start((unsigned char)l[7]);
    if (n >= 7 && memcmp(l, "# TYPE ", 7) == 0) {
        const char *sp = memchr(l + 7, ' ', n - 7);
        if (sp == NULL)
            return 0;
        size_t tl = n - (size_t)(sp + 1 - l);
        return (tl == 7 && memcmp(sp + 1, "counter", 7) == 0) ||
               (tl == 5 && memcmp(sp + 1, "gauge", 5) == 0) ||
               (tl == 9 && memcmp(sp + 1, "histogram", 9) == 0);
    }
    size_t i = 0;
    if (n == 0 || !is_name_start((unsigned char)l[0]))
        return 0;
    while (i < n && is_name((unsigned char)l[i]))
        i++;
    if (i < n && l[i] == '{') {
        i++;
        for (;;) {
            if (i >= n || !is_name_start((unsigned char)l[i]))
                return 0;
            while (i < n && is_name((unsigned char)l[i]))
                i++;
            if (i + 1 >= n || l[i] != '=' || l[i + 1] != '"')
                return 0;
            i += 2;
            while (i < n && l[i] != '"') {
                if ((unsigned char)l[i] < 0x20)
                    return 0;
                if (l[i] == '\\') {
                    if (i + 1 >= n || (l[i + 1] != '\\' && l[i + 1] != '"' && l[i + 1] != 'n'))
                        return 0;
                    i++;
                }
                i++;
            }
            if (i >= n)
                return 0;
            i++; /* closing quote */
            if (i < n && l[i] == ',') {
                i++;
                continue;
            }
            if (i < n && l[i] == '}') {
                i++;
                break;
            }
            return 0;
        }
    }
    if (i >= n || l[i] != ' ')
        return 0;
    i++;
    char num[64];
    size_t vl = n - i;
    if (vl == 0 || vl >= sizeof num)
        return 0;
    memcpy(num, l + i, vl);
    num[vl] = '\0';
    if (strcmp(num, "+Inf") == 0)
        return 1;
    char *end;
    strtod(num, &end);
    return *end == '\0';
}

/* Checks every line of text; returns the number of malformed lines. */
static int check_format(const char *text)
{
    int bad = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL) {
            fprintf(stderr, "missing final newline\n");
            return bad + 1;
        }
        if (!line_ok(p, (size_t)(nl - p))) {
            fprintf(stderr, "bad line: %.*s\n", (int)(nl - p), p);
            bad++;
        }
        p = nl + 1;
    }
    return bad;
}

/* Value of the series whose text before the space is exactly series; -1 if absent. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;
    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p += n;
    }
    return -1;
}

static int count_lines_with(const char *text, const char *prefix)
{
    int k = 0;
    size_t n = strlen(prefix);
    for (const char *p = text; *p;) {
        if (strncmp(p, prefix, n) == 0)
            k++;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return k;
}

static void *worker(void *arg)
{
    int id = *(int *)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        /* 0.0002 s lands in the first bucket, 0.3 s in le=0.5, 20 s only in +Inf */
        double secs = (i % 3 == 0) ? 0.0002 : (i % 3 == 1) ? 0.3 : 20.0;
        px_metrics_request(i % 2 ? "deny" : "allow", id == 0 ? "rule-a" : "rule-b", secs, 10, 3);
        px_metrics_conn(+1);
        px_metrics_upstream_conn(+1);
        px_metrics_conn(-1);
    }
    return NULL;
}

static void test_two_threads(void)
{
    px_metrics_init();
    pthread_t t[2];
    int ids[2] = {0, 1};
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, worker, &ids[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    px_metrics_policy_version(42);
    px_metrics_declog_lost();
    px_metrics_declog_lost();
    px_metrics_upstream_conn(-5);

    char *text = px_metrics_render();
    CHECK(text != NULL);
    if (text == NULL)
        return;
    CHECK(check_format(text) == 0);
    const double half = PER_THREAD / 2;
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"allow\",rule=\"rule-a\"}") == half);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"deny\",rule=\"rule-a\"}") == half);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"allow\",rule=\"rule-b\"}") == half);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"deny\",rule=\"rule-b\"}") == half);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"error\",rule=\"rule-a\"}") == -1);
    CHECK(value_of(text, "sovgw_bytes_in_total") == 2.0 * PER_THREAD * 10);
    CHECK(value_of(text, "sovgw_bytes_out_total") == 2.0 * PER_THREAD * 3);
    CHECK(value_of(text, "sovgw_active_connections") == 0);
    CHECK(value_of(text, "sovgw_upstream_connections") == 2.0 * PER_THREAD - 5);
    CHECK(value_of(text, "sovgw_policy_version") == 42);
    CHECK(value_of(text, "sovgw_up") == 1);
    CHECK(value_of(text, "sovgw_decision_log_lost_total") == 2);

    /* i%3==0 → 0.0002 s: ceil(PER_THREAD/3) per thread */
    double fast = 2.0 * ((PER_THREAD + 2) / 3), mid = 2.0 * ((PER_THREAD + 1) / 3);
    CHECK(value_of(text, "sovgw_request_duration_seconds_bucket{le=\"0.0005\"}") == fast);
    CHECK(value_of(text, "sovgw_request_duration_seconds_bucket{le=\"0.25\"}") == fast);
    CHECK(value_of(text, "sovgw_request_duration_seconds_bucket{le=\"0.5\"}") == fast + mid);
    CHECK(value_of(text, "sovgw_request_duration_seconds_bucket{le=\"10\"}") == fast + mid);
    CHECK(value_of(text, "sovgw_request_duration_seconds_bucket{le=\"+Inf\"}") == 2.0 * PER_THREAD);
    CHECK(value_of(text, "sovgw_request_duration_seconds_count") == 2.0 * PER_THREAD);
    double want_sum = fast * 0.0002 + mid * 0.3 + (2.0 * PER_THREAD - fast - mid) * 20.0;
    double sum = value_of(text, "sovgw_request_duration_seconds_sum");
    CHECK(sum > want_sum - 0.01 && sum < want_sum + 0.01);

    /* Buckets are cumulative: never decreasing. */
    double prev = 0;
    int nb = 0;
    for (const char *p = text; (p = strstr(p, "sovgw_request_duration_seconds_bucket{")) != NULL;
         p++) {
        const char *sp = strchr(p, ' ');
        double v = strtod(sp + 1, NULL);
        CHECK(v >= prev);
        prev = v;
        nb++;
    }
    CHECK(nb >= 10);
    /* Each metric has HELP and TYPE exactly once. */
    const char *names[] = {"sovgw_requests_total",     "sovgw_request_duration_seconds",
                           "sovgw_bytes_in_total",     "sovgw_bytes_out_total",
                           "sovgw_active_connections", "sovgw_upstream_connections",
                           "sovgw_policy_version",     "sovgw_up"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(names); i++) {
        char h[96], ty[96];
        snprintf(h, sizeof h, "# HELP %s ", names[i]);
        snprintf(ty, sizeof ty, "# TYPE %s ", names[i]);
        CHECK(count_lines_with(text, h) == 1);
        CHECK(count_lines_with(text, ty) == 1);
    }
    free(text);
}

static void test_escaping(void)
{
    px_metrics_init();
    px_metrics_request("allow", "a\"b\\c\nd", 0.001, 0, 0);
    px_metrics_request("allow", "bad\xff\x01utf8", 0.001, 0, 0);
    px_metrics_request("allow", "caf\xc3\xa9", 0.001, 0, 0);
    px_metrics_request("weird", NULL, 0.001, 0, 0);
    px_metrics_request(NULL, "", -1.0, 0, 0); /* negative duration counts as 0 */
    px_metrics_request("deny", "other", NAN, 0, 0);
    char *text = px_metrics_render();
    CHECK(text != NULL);
    if (text == NULL)
        return;
    CHECK(check_format(text) == 0);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"allow\",rule=\"a\\\"b\\\\c\\nd\"}") == 1);
    CHECK(value_of(
              text,
              "sovgw_requests_total{verdict=\"allow\",rule=\"bad\xef\xbf\xbd\xef\xbf\xbdutf8\"}") ==
          1);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"allow\",rule=\"caf\xc3\xa9\"}") == 1);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"other\",rule=\"none\"}") == 2);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"deny\",rule=\"other\"}") == 1);
    CHECK(count_lines_with(text, "sovgw_requests_total{verdict=\"deny\",rule=\"other\"}") == 1);
    CHECK(value_of(text, "sovgw_request_duration_seconds_bucket{le=\"0.0005\"}") == 2);
    free(text);
}

static void test_rule_bound(void)
{
    px_metrics_init();
    char id[32];
    /* "none" is not used here, so N-1 distinct ids keep their own label, the
     * N-th too, and from N+1 on requests fall into rule="other". */
    for (int i = 0; i < PX_METRICS_MAX_RULES + 10; i++) {
        snprintf(id, sizeof id, "r%d", i);
        px_metrics_request("allow", id, 0.001, 0, 0);
    }
    px_metrics_request("allow", "r0", 0.001, 0, 0); /* an existing id still counts */
    char *text = px_metrics_render();
    CHECK(text != NULL);
    if (text == NULL)
        return;
    CHECK(check_format(text) == 0);
    CHECK(count_lines_with(text, "sovgw_requests_total{") == PX_METRICS_MAX_RULES + 1);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"allow\",rule=\"r0\"}") == 2);
    snprintf(id, sizeof id, "r%d", PX_METRICS_MAX_RULES - 1);
    char series[96];
    snprintf(series, sizeof series, "sovgw_requests_total{verdict=\"allow\",rule=\"%s\"}", id);
    CHECK(value_of(text, series) == 1);
    snprintf(series, sizeof series, "sovgw_requests_total{verdict=\"allow\",rule=\"r%d\"}",
             PX_METRICS_MAX_RULES);
    CHECK(value_of(text, series) == -1);
    CHECK(value_of(text, "sovgw_requests_total{verdict=\"allow\",rule=\"other\"}") == 10);
    free(text);
}

int main(void)
{
    test_two_threads();
    test_escaping();
    test_rule_bound();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    puts("test_metrics: ok");
    return 0;
}
