/* Unit tests for proxy/declog.c: 4 threads x 1000 records into one file (two
 * of them batching on their own event loop, as workers do), read back and
 * checked line by line with a small strict JSON checker (no interleaving,
 * every record present once); batches held until the end of the loop pass
 * and flushed when full and at thread end; escaping of hostile strings;
 * truncation of long paths within the 8 KiB line bound; reopen for rotation;
 * pipes; lost lines counted. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/sgw.h"
#include "proxy/declog.h"
#include "proxy/metrics.h"

#include "../check.h"

#define THREADS 4
#define PER_THREAD 1000

/* ---- a tiny strict JSON checker for one flat object per line ---- */

struct jp {
    const char *p, *end;
};

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses a JSON string; decoded bytes (\u escapes below 0x80 only, others as
 * '?') go to out when given. Returns 1 on success. */
static int j_string(struct jp *j, char *out, size_t cap)
{
    size_t k = 0;
    if (j->p >= j->end || *j->p != '"')
        return 0;
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        int ch;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (j->end - j->p < 2)
                return 0;
            char e = j->p[1];
            j->p += 2;
            switch (e) {
            case '"':
                ch = '"';
                break;
            case '\\':
                ch = '\\';
                break;
            case '/':
                ch = '/';
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case 'n':
                ch = '\n';
                break;
            case 'r':
                ch = '\r';
                break;
            case 't':
                ch = '\t';
                break;
            case 'u': {
                if (j->end - j->p < 4)
                    return 0;
                int v = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hexv(j->p[i]);
                    if (h < 0)
                        return 0;
                    v = v * 16 + h;
                }
                j->p += 4;
                ch = v < 0x80 ? v : '?';
                break;
            }
            default:
                return 0;
            }
        } else {
            int l = (int)sgw_utf8_valid_len((const uint8_t *)j->p, (size_t)(j->end - j->p));
            if (l == 0)
                return 0;
            if (out && l > 1) {
                for (int i = 0; i < l && k + 1 < cap; i++)
                    out[k++] = j->p[i];
                j->p += l;
                continue;
            }
            ch = c;
            j->p += l;
        }
        if (out && k + 1 < cap)
            out[k++] = (char)ch;
    }
    if (j->p >= j->end)
        return 0;
    j->p++;
    if (out)
        out[k] = '\0';
    return 1;
}

static int j_number(struct jp *j)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return 0;
    if (*j->p == '0')
        j->p++;
    else
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return 0;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    return j->p > s;
}

/* Validates {"k":v,...} exactly spanning [p, end). If want_key is given,
 * copies that key's decoded string value into out. */
static int json_line_ok(const char *p, size_t n, const char *want_key, char *out, size_t cap)
{
    struct jp j = {p, p + n};
    if (n < 2 || *j.p != '{')
        return 0;
    j.p++;
    for (;;) {
        char key[64];
        if (!j_string(&j, key, sizeof key))
            return 0;
        if (j.p >= j.end || *j.p != ':')
            return 0;
        j.p++;
        if (j.p >= j.end)
            return 0;
        int want = want_key && strcmp(key, want_key) == 0;
        if (*j.p == '"') {
            if (!j_string(&j, want ? out : NULL, cap))
                return 0;
        } else if (j.end - j.p >= 4 && memcmp(j.p, "null", 4) == 0) {
            j.p += 4;
            if (want && out)
                snprintf(out, cap, "(null)");
        } else if (!j_number(&j)) {
            return 0;
        }
        if (j.p >= j.end)
            return 0;
        if (*j.p == ',') {
            j.p++;
            continue;
        }
        if (*j.p == '}') {
            j.p++;
            break;
        }
        return 0;
    }
    return j.p == j.end;
}

/* ---- tests ---- */

static char dir[] = "/tmp/sgw_test_declog_XXXXXX";
static char long_path[20000];

static void *writer(void *arg)
{
    int t = *(int *)arg;
    /* even threads batch, as worker threads do, and run a loop pass every
       7 records */
    struct event_base *base = t % 2 == 0 ? event_base_new() : NULL;
    if (base && px_declog_thread_begin(base) != 0) {
        fprintf(stderr, "thread %d: cannot batch\n", t);
        failures++;
    }
    for (int i = 0; i < PER_THREAD; i++) {
        if (base && i % 7 == 6)
            event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        char client[64];
        snprintf(client, sizeof client, "10.0.0.%d:%d", t, i);
        struct px_declog_rec r = {
            .client = client,
            .method = "GET",
            .host = "h\"os\\t\x01.example",
            .port = 443,
            .path = (i % 10 == 0)   ? long_path
                    : (i % 10 == 1) ? NULL
                                    : "/a\xff\xfe\n\tb\xc3\xa9",
            .proto = "http/1.1",
            .rule_id = "r1",
            .verdict = (i & 1) ? "deny" : "allow",
            .reason = "pii: \x7f",
            .status = 403,
            .bytes_in = (uint64_t)i,
            .bytes_out = UINT64_MAX,
            .decision_ms = 0.25,
            .upstream_ms = 1e300,
            .total_ms = -0.0,
            .policy_version = 7,
        };
        px_declog_write(&r);
    }
    if (base) {
        px_declog_thread_end();
        event_base_free(base);
    }
    return NULL;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        *len = (size_t)n;
    }
    return b;
}

static void test_threads(void)
{
    memset(long_path, 'p', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/decisions.jsonl", dir);
    CHECK(px_declog_open(path, err, sizeof err) == 0);
    pthread_t th[THREADS];
    int ids[THREADS];
    for (int t = 0; t < THREADS; t++) {
        ids[t] = t;
        CHECK(pthread_create(&th[t], NULL, writer, &ids[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    px_declog_close();

    size_t len = 0;
    char *text = slurp(path, &len);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    static unsigned char seen[THREADS][PER_THREAD];
    int lines = 0, bad = 0, truncated = 0;
    for (char *p = text; p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        if (nl == NULL) {
            bad++;
            break;
        }
        size_t n = (size_t)(nl - p);
        char client[64] = "";
        if (n + 1 > PX_DECLOG_MAX_LINE || !json_line_ok(p, n, "client", client, sizeof client)) {
            if (bad++ < 3)
                fprintf(stderr, "bad line (%zu bytes): %.200s\n", n, p);
        } else {
            int t = -1, i = -1;
            if (strncmp(client, "10.0.0.", 7) == 0) {
                t = client[7] - '0';
                i = (int)strtol(client + 9, NULL, 10);
            }
            if (t >= 0 && t < THREADS && i >= 0 && i < PER_THREAD)
                seen[t][i]++;
            else
                bad++;
        }
        if (memmem(p, n, "...[truncated]\"}", 16) != NULL)
            truncated++;
        lines++;
        p = nl + 1;
    }
    CHECK(bad == 0);
    CHECK(lines == THREADS * PER_THREAD);
    CHECK(truncated == THREADS * PER_THREAD / 10);
    int missing = 0;
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++)
            missing += seen[t][i] != 1;
    CHECK(missing == 0);
    free(text);
}

/* Formats r and returns the decoded value of key (or "" on failure). */
static const char *field(const struct px_declog_rec *r, const char *key, char *line, size_t *n)
{
    static char val[PX_DECLOG_MAX_LINE];
    *n = px_declog_format(r, line, PX_DECLOG_MAX_LINE);
    val[0] = '\0';
    if (*n == 0 || line[*n - 1] != '\n' || !json_line_ok(line, *n - 1, key, val, sizeof val))
        return "";
    return val;
}

/* Values of every length up to 80 with bytes that need escaping (quote,
 * backslash, controls, DEL) or are UTF-8 at random places, among plain ones:
 * each decodes back to itself and the line stays valid JSON, whether the
 * value is the client's or the path's. */
static void test_escape_positions(void)
{
    static const char *special[] = {"\"", "\\", "\n", "\x01", "\x1f", "\x7f", "\xc3\xa9",
                                    "\xe2\x82\xac", " ", "~"};
    char line[PX_DECLOG_MAX_LINE];
    char v[256];
    size_t n;
    unsigned seed = 12345;
    struct px_declog_rec r = {.client = "c", .method = "GET", .host = "h", .proto = "h2",
                              .rule_id = "x", .verdict = "allow", .reason = "r"};
    int bad = 0;
    for (int round = 0; round < 4000; round++) {
        size_t len = 0, want = (size_t)(round % 81);
        while (len < want) {
            seed = seed * 1103515245u + 12345u;
            unsigned k = (seed >> 16) % 40;
            const char *add = k < (unsigned)(sizeof special / sizeof special[0])
                                  ? special[k]
                                  : (const char[]){(char)('A' + k - 10), 0};
            size_t al = strlen(add);
            if (len + al >= sizeof v)
                break;
            memcpy(v + len, add, al);
            len += al;
        }
        v[len] = '\0';
        r.path = v;
        r.client = (round & 1) ? v : "c";
        const char *got = field(&r, "path", line, &n);
        if (strcmp(got, v) != 0 || !json_line_ok(line, n - 1, NULL, NULL, 0))
            bad++;
    }
    CHECK(bad == 0);
}

static void test_escapes(void)
{
    char line[PX_DECLOG_MAX_LINE];
    size_t n;
    struct px_declog_rec r = {.client = "c",
                              .method = "GET",
                              .host = "h",
                              .proto = "h2",
                              .rule_id = "x",
                              .verdict = "allow",
                              .reason = "r"};
    r.path = "/q\"b\\s\n\x01\x1f";
    CHECK(strcmp(field(&r, "path", line, &n), "/q\"b\\s\n\x01\x1f") == 0);
    CHECK(strstr(line, "\"path\":\"/q\\\"b\\\\s\\n\\u0001\\u001f\"") != NULL);
    r.path = "\xff\xc3(\xed\xa0\x80\xf0\x9f\x98\x80"; /* bad, bad lead, surrogate, then U+1F600 */
    field(&r, "path", line, &n);
    CHECK(strstr(line, "\"path\":\"\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\xf0\x9f\x98\x80\"") !=
          NULL);
    r.path = NULL;
    CHECK(strcmp(field(&r, "path", line, &n), "(null)") == 0);
    r.rule_id = NULL;
    CHECK(strcmp(field(&r, "rule", line, &n), "(null)") == 0);
    /* time: RFC 3339 UTC with milliseconds */
    const char *t = field(&r, "time", line, &n);
    CHECK(strlen(t) == 24 && t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
    /* numbers stay JSON numbers even for NaN/Inf input */
    r.total_ms = INFINITY;
    r.decision_ms = -INFINITY;
    r.port = 65535;
    r.status = 0;
    field(&r, "path", line, &n);
    CHECK(n > 0 && strstr(line, "\"port\":65535,") != NULL &&
          strstr(line, "\"status\":0,") != NULL);
    CHECK(json_line_ok(line, n - 1, NULL, NULL, 0));
    /* Durations print like "%.3f" and counters like "%llu" (formatted by hand). */
    static const double ms[] = {0, 0.0004, 0.0005, 0.25, 1, 12.3456, 999.9995, 86400000.5};
    for (size_t i = 0; i < SGW_ARRAY_LEN(ms); i++) {
        char want[64];
        r.total_ms = ms[i];
        r.bytes_in = UINT64_MAX - i;
        snprintf(want, sizeof want, "\"total_ms\":%.3f,", ms[i]);
        field(&r, "path", line, &n);
        CHECK(strstr(line, want) != NULL);
        snprintf(want, sizeof want, "\"bytes_in\":%llu,", (unsigned long long)(UINT64_MAX - i));
        CHECK(strstr(line, want) != NULL);
    }
    r.status = -1;
    field(&r, "path", line, &n);
    CHECK(strstr(line, "\"status\":-1,") != NULL);
    r.status = 0;

    /* Length bound: the line never exceeds PX_DECLOG_MAX_LINE; a path that
     * just fits is not cut, one byte more is. */
    static char big[PX_DECLOG_MAX_LINE * 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r.path = big;
    r.total_ms = 1;
    r.decision_ms = 1;
    field(&r, "path", line, &n);
    CHECK(n > 0 && n <= PX_DECLOG_MAX_LINE && strstr(line, "...[truncated]\"}") != NULL);
    size_t room = PX_DECLOG_MAX_LINE - n + (strlen(field(&r, "path", line, &n)));
    /* room = longest path that fits untruncated (same other fields, same-width time) */
    big[room] = '\0';
    CHECK(strcmp(field(&r, "path", line, &n), big) == 0 && n == PX_DECLOG_MAX_LINE);
    big[room] = 'x';
    big[room + 1] = '\0';
    const char *v = field(&r, "path", line, &n);
    CHECK(n <= PX_DECLOG_MAX_LINE && strstr(v, "...[truncated]") != NULL);
    big[room + 1] = 'x';
    /* Escapes are never cut in half: a path of quotes truncates on a boundary. */
    memset(big, '"', sizeof big - 1);
    v = field(&r, "path", line, &n);
    CHECK(n > 0 && strstr(v, "...[truncated]") != NULL);
    /* Hostile long values in every field still give a valid, bounded line. */
    r.client = r.method = r.host = r.proto = r.rule_id = r.verdict = r.reason = big;
    n = px_declog_format(&r, line, sizeof line);
    CHECK(n > 0 && n <= PX_DECLOG_MAX_LINE && json_line_ok(line, n - 1, NULL, NULL, 0));
    /* Too small a buffer is refused, not overrun. */
    char small[64];
    CHECK(px_declog_format(&r, small, sizeof small) == 0);
}

static void test_reopen(void)
{
    char path[256], rotated[256], err[256];
    snprintf(path, sizeof path, "%s/rot.jsonl", dir);
    snprintf(rotated, sizeof rotated, "%s/rot.jsonl.1", dir);
    struct px_declog_rec r = {.client = "first",
                              .method = "GET",
                              .host = "h",
                              .proto = "h2",
                              .rule_id = "x",
                              .verdict = "allow",
                              .reason = "r"};
    CHECK(px_declog_open(path, err, sizeof err) == 0);
    px_declog_write(&r);
    CHECK(rename(path, rotated) == 0);
    r.client = "second";
    px_declog_write(&r); /* still goes to the renamed file */
    CHECK(px_declog_reopen() == 0);
    r.client = "third";
    px_declog_write(&r);
    px_declog_close();
    px_declog_write(&r); /* after close: dropped, no crash */
    size_t l1 = 0, l2 = 0;
    char *a = slurp(rotated, &l1), *b = slurp(path, &l2);
    CHECK(a && strstr(a, "\"first\"") && strstr(a, "\"second\"") && !strstr(a, "\"third\""));
    CHECK(b && strstr(b, "\"third\"") && !strstr(b, "\"first\""));
    free(a);
    free(b);
    /* Open errors are reported, not fatal. */
    CHECK(px_declog_open("/nonexistent-dir/x.jsonl", err, sizeof err) == -1);
    CHECK(strstr(err, "cannot open decision log /nonexistent-dir/x.jsonl") != NULL);
    CHECK(px_declog_open("", err, sizeof err) == -1);
}

/* stdout that is a pipe: lines capped at PIPE_BUF so the pipe keeps them whole. */
static void test_pipe(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    CHECK(saved >= 0 && dup2(fds[1], STDOUT_FILENO) == STDOUT_FILENO);
    char err[256];
    CHECK(px_declog_open("-", err, sizeof err) == 0);
    struct px_declog_rec r = {.client = "pipe",
                              .method = "GET",
                              .host = "h",
                              .proto = "h2",
                              .rule_id = "x",
                              .verdict = "allow",
                              .reason = "r",
                              .path = long_path};
    px_declog_write(&r);
    r.path = "/short";
    px_declog_write(&r);
    px_declog_close();
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fds[1]);
    static char buf[3 * PX_DECLOG_MAX_LINE];
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    buf[len] = '\0';
    char *nl = strchr(buf, '\n');
    CHECK(nl != NULL);
    if (nl == NULL)
        return;
    size_t first = (size_t)(nl - buf) + 1;
    CHECK(first <= PIPE_BUF && first > PIPE_BUF - 64);
    CHECK(json_line_ok(buf, first - 1, NULL, NULL, 0));
    CHECK(strstr(buf, "...[truncated]\"}\n") == nl - 16);
    CHECK(strstr(nl + 1, "\"path\":\"/short\"}\n") != NULL);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int count_lines(const char *path)
{
    size_t len = 0;
    char *t = slurp(path, &len);
    int n = 0;
    for (size_t i = 0; t && i < len; i++)
        n += t[i] == '\n';
    free(t);
    return t ? n : -1;
}

/* A batching thread holds its lines until the end of the loop pass, writes
 * them when the batch is full, and at thread end; a second begin is refused. */
static void test_batch(void)
{
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/batch.jsonl", dir);
    CHECK(px_declog_open(path, err, sizeof err) == 0);
    struct event_base *base = event_base_new();
    CHECK(base != NULL && px_declog_thread_begin(base) == 0);
    CHECK(px_declog_thread_begin(base) == -1);
    struct px_declog_rec r = {.client = "b", .method = "GET", .host = "h", .proto = "http/1.1",
                              .rule_id = "x", .verdict = "allow", .reason = "r", .path = "/p"};
    for (int i = 0; i < 3; i++)
        px_declog_write(&r);
    CHECK(file_size(path) == 0);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    CHECK(count_lines(path) == 3);
    /* 2,000 lines without a pass: full batches go out on their own, whole */
    for (int i = 0; i < 2000; i++)
        px_declog_write(&r);
    int mid = count_lines(path);
    char line[PX_DECLOG_MAX_LINE];
    size_t one = px_declog_format(&r, line, sizeof line);
    CHECK(mid > 3 && mid < 2003 && (size_t)(2003 - mid) * one <= PX_DECLOG_BATCH);
    px_declog_thread_end();
    CHECK(count_lines(path) == 2003);
    size_t len = 0;
    char *text = slurp(path, &len);
    int bad = 0;
    for (char *p = text; p && p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        if (!nl || !json_line_ok(p, (size_t)(nl - p), NULL, NULL, 0)) {
            bad++;
            break;
        }
        p = nl + 1;
    }
    CHECK(text != NULL && bad == 0);
    free(text);
    /* after the end the thread writes line by line again */
    px_declog_write(&r);
    CHECK(count_lines(path) == 2004);
    event_base_free(base);
    px_declog_close();
}

/* A full disk loses lines: counted in the metrics, the writer carries on. */
static void test_lost(void)
{
    char err[256];
    if (access("/dev/full", W_OK) != 0)
        return; /* not in this sandbox */
    px_metrics_init();
    CHECK(px_declog_open("/dev/full", err, sizeof err) == 0);
    struct px_declog_rec r = {.client = "c", .method = "GET", .host = "h", .path = "/"};
    for (int i = 0; i < 3; i++)
        px_declog_write(&r);
    /* a batch of 2 that cannot be written: 2 more lost */
    struct event_base *base = event_base_new();
    CHECK(base != NULL && px_declog_thread_begin(base) == 0);
    px_declog_write(&r);
    px_declog_write(&r);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    px_declog_thread_end();
    event_base_free(base);
    px_declog_close();
    char *text = px_metrics_render();
    CHECK(text != NULL && strstr(text, "\nsovgw_decision_log_lost_total 5\n") != NULL);
    free(text);
}

int main(void)
{
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_threads();
    test_escapes();
    test_escape_positions();
    test_reopen();
    test_pipe();
    test_batch();
    test_lost();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    puts("test_declog: ok");
    return 0;
}
