/* tests/unit/classifiers/test_oom_stream.c — every allocation of the
 * classifiers library fails once (tests/unit/oom.h) while an engine with all
 * packs and custom definitions is built and a gzip'd JSON body, a multipart
 * body, a base64-in-JSON body and a text full of escapes (whose decoded
 * copies pass the 8 KiB the stage holds itself) are scanned: each failure
 * must surface as an error code, or the findings must equal the clean
 * run's. */
#include <string.h>
#include <zlib.h>

#include "../oom.h"
#include "classifiers/classifiers.h"
#include "common/sgw.h"

static const char json_body[] =
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"card 4111 1111 1111 1111, mail "
    "a.b@example.com, ssn 078-05-1120, key AKIAIOSFODNN7EXAMPLE\\n and Project Falcon PRJ-1234\"},"
    "{\"role\":\"user\",\"content\":\"aWJhbiBERTg5MzcwNDAwNDQwNTMyMDEzMDAwIGFuZCBtb3Jl\"}]}";
static const char mp_body[] = "--b1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
                              "call +44 20 7946 0958\r\n--b1\r\nContent-Disposition: form-data; "
                              "name=\"f\"; filename=\"x.json\"\r\nContent-Type: application/json\r\n\r\n"
                              "{\"iban\":\"DE89370400440532013000\"}\r\n--b1--\r\n";

static uint8_t gz[1024];
static size_t gz_len;

struct ref {
    size_t n;
    char sig[4096];
};
static char esc_body[9000 * 3 + 64];
static struct ref refs[4];
static int have_ref;

static void sign(const struct cls_finding *f, size_t n, struct ref *r)
{
    size_t o = 0;
    r->n = n;
    r->sig[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof(r->sig) - 64; i++)
        o += (size_t)snprintf(r->sig + o, sizeof(r->sig) - o, "%s@%llu-%llu;", f[i].type,
                              (unsigned long long)f[i].start, (unsigned long long)f[i].end);
}

static int scan_one(struct cls_worker *w, const char *ct, const char *ce, const void *body, size_t len,
                    struct ref *out)
{
    struct cls_stream_opts o = {.content_type = ct, .content_encoding = ce};
    struct cls_stream *s = NULL;
    if (cls_stream_new(w, &o, &s) != SGW_OK)
        return 1;
    int rc = SGW_OK;
    /* small feeds: the scanner's batch, the decoders' carries */
    for (size_t off = 0; off < len && rc == SGW_OK; off += 37)
        rc = cls_stream_feed(s, (const char *)body + off, len - off < 37 ? len - off : 37);
    if (rc == SGW_OK)
        rc = cls_stream_close(s);
    if (rc == SGW_OK) {
        size_t n = 0;
        const struct cls_finding *f = cls_stream_findings(s, &n);
        sign(f, n, out);
    }
    cls_stream_free(s);
    return rc == SGW_OK ? 0 : 1;
}

static int scenario(void)
{
    static const char *const terms[] = {"project falcon", "bluebird"};
    struct cls_dictionary dict = {"CODENAME", terms, 2};
    struct cls_custom_regex rx[] = {{"TICKET", "PRJ-[0-9]{4}", NULL}, {"ANY", "[A-Z]{3}[0-9]{9}", NULL}};
    static const uint8_t hashes[1][32] = {{1}};
    struct cls_fingerprints fp = {"FP", {2}, hashes, 1};
    struct cls_config cfg = {NULL, 0, &dict, 1, rx, 2, &fp, 1};
    struct cls_engine *e = NULL;
    char err[256];
    if (cls_engine_new(&cfg, &e, err, sizeof(err)) != SGW_OK)
        return 1;
    struct cls_worker *w = NULL;
    int rc = cls_worker_new(e, &w);
    cls_engine_unref(e);
    if (rc != SGW_OK)
        return 1;
    struct ref got[4];
    int res = scan_one(w, "application/json", "gzip", gz, gz_len, &got[0]);
    if (res == 0)
        res = scan_one(w, "multipart/form-data; boundary=b1", NULL, mp_body, sizeof(mp_body) - 1, &got[1]);
    if (res == 0)
        res = scan_one(w, "application/json", NULL, json_body, sizeof(json_body) - 1, &got[2]);
    if (res == 0)
        res = scan_one(w, "text/plain", NULL, esc_body, strlen(esc_body), &got[3]);
    cls_worker_free(w);
    if (res != 0)
        return res;
    if (!have_ref) {
        memcpy(refs, got, sizeof(refs));
        have_ref = 1;
        return refs[0].n && refs[1].n && refs[2].n && refs[3].n ? 0 : -1;
    }
    for (int i = 0; i < 4; i++)
        if (got[i].n != refs[i].n || strcmp(got[i].sig, refs[i].sig) != 0) {
            fprintf(stderr, "body %d: got %s want %s\n", i, got[i].sig, refs[i].sig);
            return -1;
        }
    return 0;
}

int main(void)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 2;
    z.next_in = (Bytef *)json_body;
    z.avail_in = sizeof(json_body) - 1;
    z.next_out = gz;
    z.avail_out = sizeof(gz);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        return 2;
    gz_len = sizeof(gz) - z.avail_out;
    deflateEnd(&z);
    /* mail bob@example.com, then 9000 escapes: 9000 bytes of copies */
    size_t k = (size_t)snprintf(esc_body, sizeof(esc_body), "mail bob@example.com ");
    for (size_t i = 0; i < 9000; i++, k += 3)
        memcpy(esc_body + k, "%41", 3);
    esc_body[k] = '\0';
    int bad = oom_run("classifiers stream", scenario);
    if (bad)
        fprintf(stderr, "test_oom_stream: %d allocation failure(s) mishandled\n", bad);
    return bad != 0;
}
