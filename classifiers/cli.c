/* classifiers/cli.c — `sovgw scan`: run the engine over files, directories
 * (recursively) or stdin, streaming each in 64 KiB chunks, and print one
 * line (text) or one JSON object (jsonl) per finding. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classifiers/classifiers.h"
#include "classifiers/internal.h"
#include "common/sgw.h"

#define CHUNK (64 * 1024)
#define MAX_PACKS 8
#define MAX_DEPTH 64

struct scan_cli {
    struct cls_worker *w;
    int jsonl;
    const char *ctype;
    const char *cenc;
    uint32_t time_ms; /* --time-limit (0: none) */
    uint8_t *buf;
    unsigned long found;
    int errors;
};

static void usage(FILE *f)
{
    fputs("usage: sovgw scan [--packs LIST] [--policy FILE] [--format text|jsonl]\n"
          "                  [--content-type T] [--content-encoding E] [--time-limit MS]\n"
          "                  PATH... | -\n"
          "  Scans files, directories (recursively; only their regular files) or stdin\n"
          "  (-) for personal data and secrets. LIST is comma-separated:\n"
          "  pii-core,pii-eu,pii-world,secrets\n"
          "  (default: all). Content type and encoding are guessed from the file\n"
          "  extension unless given (other files are sniffed: a zip, docx, xlsx,\n"
          "  pptx, tar or .tar.gz is read entry by entry). Exit 0 clean, 1 findings,\n"
          "  2 error.\n"
          "  Offsets: a plain file's own bytes; JSON, XML, HTML, zip, tar: the stream of\n"
          "  the text they hold (keys and values, text and names, entries).\n"
          "  \"encoded\": found in decoded base64, hex or escaped text (the span is the\n"
          "  encoded text's). \"joined\": found across two adjacent text blocks of a\n"
          "  JSON request (Converse, Anthropic's Messages), which a model reads joined.\n"
          "  --time-limit MS: each file's inspection may take MS milliseconds (1 to\n"
          "  3600000), the limit a body's inspection can be given; past it the file\n"
          "  gets an UNINSPECTABLE finding \"inspection time limit exceeded\" and its\n"
          "  rest is not inspected.\n",
          f);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

/* Guess from the name: an outer compression suffix, then the inner type. */
static void guess_type(const char *path, const char **ct, const char **ce, char *inner, size_t innerlen)
{
    *ct = NULL;
    *ce = NULL;
    snprintf(inner, innerlen, "%s", path);
    static const struct {
        const char *suf, *enc;
    } encs[] = {{".gz", "gzip"}, {".gzip", "gzip"}, {".br", "br"}, {".zst", "zstd"}, {".zz", "deflate"}};
    for (size_t i = 0; i < SGW_ARRAY_LEN(encs); i++) {
        if (ends_with(inner, encs[i].suf)) {
            *ce = encs[i].enc;
            inner[strlen(inner) - strlen(encs[i].suf)] = '\0';
            break;
        }
    }
    *ct = cls_type_by_name(inner, strlen(inner));
}

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(o, "\\u%04x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

static void print_findings(struct scan_cli *c, const char *name, const struct cls_finding *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct cls_finding *x = &f[i];
        if (c->jsonl) {
            fputs("{\"path\":", stdout);
            json_str(stdout, name);
            fputs(",\"type\":", stdout);
            json_str(stdout, x->type);
            printf(",\"category\":\"%s\",\"start\":%llu,\"end\":%llu,\"decoders\":",
                   cls_category_str(x->category), (unsigned long long)x->start, (unsigned long long)x->end);
            json_str(stdout, x->decoders);
            printf(",\"confidence\":%u,\"excerpt\":", (unsigned)x->confidence);
            json_str(stdout, x->excerpt);
            if (x->flags & CLS_FF_EXAMPLE)
                fputs(",\"example\":true", stdout);
            if (x->flags & CLS_FF_COPY)
                fputs(",\"encoded\":true", stdout);
            if (x->flags & CLS_FF_TWICE)
                fputs(",\"double_encoded\":true", stdout);
            if (x->flags & CLS_FF_JOINED)
                fputs(",\"joined\":true", stdout);
            if (x->reason[0]) {
                fputs(",\"reason\":", stdout);
                json_str(stdout, x->reason);
            }
            fputs("}\n", stdout);
        } else {
            printf("%s:%llu-%llu: %s (%s, confidence %u, %s%s%s%s)%s%s%s%s\n", name,
                   (unsigned long long)x->start, (unsigned long long)x->end, x->type,
                   cls_category_str(x->category), (unsigned)x->confidence,
                   x->decoders[0] ? x->decoders : "raw", x->flags & CLS_FF_COPY ? ", encoded" : "",
                   x->flags & CLS_FF_TWICE ? ", double-encoded" : "", x->flags & CLS_FF_JOINED ? ", joined" : "",
                   x->excerpt[0] ? " " : "", x->excerpt,
                   x->reason[0] ? " - " : "", x->reason);
        }
    }
}

static int scan_fd(struct scan_cli *c, int fd, const char *name)
{
    const char *ct = c->ctype, *ce = c->cenc;
    char inner[4096];
    if (!c->ctype && !c->cenc && strcmp(name, "-") != 0) {
        guess_type(name, &ct, &ce, inner, sizeof(inner));
    }
    struct cls_stream_opts o = {
        .content_type = ct, .content_encoding = ce, .excerpts = 1, .max_time_ms = c->time_ms};
    struct cls_stream *s = NULL;
    int rc = cls_stream_new(c->w, &o, &s);
    if (rc != SGW_OK) {
        fprintf(stderr, "sovgw scan: %s: cannot open a classifier stream (%s)\n", name, sgw_rc_str(rc));
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, c->buf, CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "sovgw scan: %s: read error: %s\n", name, strerror(errno));
            cls_stream_free(s);
            return -1;
        }
        if (r == 0)
            break;
        rc = cls_stream_feed(s, c->buf, (size_t)r);
        if (rc != SGW_OK) {
            fprintf(stderr, "sovgw scan: %s: classifier error (%s)\n", name, sgw_rc_str(rc));
            cls_stream_free(s);
            return -1;
        }
    }
    rc = cls_stream_close(s);
    if (rc != SGW_OK) {
        fprintf(stderr, "sovgw scan: %s: classifier error (%s)\n", name, sgw_rc_str(rc));
        cls_stream_free(s);
        return -1;
    }
    size_t n = 0;
    const struct cls_finding *f = cls_stream_findings(s, &n);
    print_findings(c, name, f, n);
    c->found += n;
    cls_stream_free(s);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_path(struct scan_cli *c, const char *path, int depth)
{
    if (strcmp(path, "-") == 0) {
        if (scan_fd(c, 0, "-") != 0)
            c->errors++;
        return;
    }
    /* a file found in a directory is opened without blocking: a FIFO there
       has no writer to wait for (it is skipped below) */
    int fl = O_RDONLY | O_CLOEXEC | (depth > 0 ? O_NONBLOCK : 0);
    int fd = open(path, fl | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP)
        fd = open(path, fl); /* named symlinks are followed, found ones not */
    if (fd < 0) {
        fprintf(stderr, "sovgw scan: %s: %s\n", path, strerror(errno));
        c->errors++;
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        fprintf(stderr, "sovgw scan: %s: %s\n", path, strerror(errno));
        close(fd);
        c->errors++;
        return;
    }
    if (depth > 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* a FIFO, socket or device in a tree is no file's content (and
           /dev/zero would never end): said, not read. Named on the command
           line, a FIFO or device is read (`sovgw scan <(cmd)`). */
        fprintf(stderr, "sovgw scan: %s: skipped: not a regular file\n", path);
        close(fd);
        return;
    }
    if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        if (scan_fd(c, fd, path) != 0)
            c->errors++;
        close(fd);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        close(fd);
        return;
    }
    if (depth >= MAX_DEPTH) {
        fprintf(stderr, "sovgw scan: %s: directory nesting deeper than %d\n", path, MAX_DEPTH);
        close(fd);
        c->errors++;
        return;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        fprintf(stderr, "sovgw scan: %s: %s\n", path, strerror(errno));
        close(fd);
        c->errors++;
        return;
    }
    /* sorted, so output is reproducible */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type == DT_LNK)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **nn = realloc(names, nc * sizeof(*nn));
            if (!nn)
                break;
            names = nn;
            cap = nc;
        }
        size_t l = strlen(path) + 1 + strlen(de->d_name) + 1;
        names[n] = malloc(l);
        if (!names[n])
            break;
        snprintf(names[n], l, "%s/%s", path, de->d_name);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        scan_path(c, names[i], depth + 1);
        free(names[i]);
    }
    free(names);
}

int cls_cli_scan(int argc, char **argv, cls_policy_loader_fn loader)
{
    const char *packs_arg = NULL, *policy = NULL, *format = "text", *time_arg = NULL;
    struct scan_cli c;
    memset(&c, 0, sizeof(c));
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--packs") == 0)
            dst = &packs_arg;
        else if (strcmp(a, "--policy") == 0)
            dst = &policy;
        else if (strcmp(a, "--format") == 0)
            dst = &format;
        else if (strcmp(a, "--content-type") == 0)
            dst = &c.ctype;
        else if (strcmp(a, "--content-encoding") == 0)
            dst = &c.cenc;
        else if (strcmp(a, "--time-limit") == 0)
            dst = &time_arg;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sovgw scan: %s needs a value\n", a);
                return 2;
            }
            *dst = argv[++i];
            continue;
        }
        if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sovgw scan: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        break;
    }
    if (i >= argc) {
        fputs("sovgw scan: no PATH given (use - for stdin)\n", stderr);
        usage(stderr);
        return 2;
    }
    if (time_arg) {
        char *end = NULL;
        errno = 0;
        unsigned long ms = strtoul(time_arg, &end, 10);
        if (errno || end == time_arg || *end || time_arg[0] == '-' || ms < 1 || ms > 3600000) {
            fprintf(stderr,
                    "sovgw scan: --time-limit must be a number of milliseconds from 1 to 3600000, "
                    "not '%s'\n",
                    time_arg);
            return 2;
        }
        c.time_ms = (uint32_t)ms;
    }
    if (strcmp(format, "text") == 0)
        c.jsonl = 0;
    else if (strcmp(format, "jsonl") == 0)
        c.jsonl = 1;
    else {
        fprintf(stderr, "sovgw scan: --format must be text or jsonl, not '%s'\n", format);
        return 2;
    }
    struct cls_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    char err[256] = "";
    if (policy) {
        if (!loader) {
            fputs("sovgw scan: --policy not available in this build\n", stderr);
            return 2;
        }
        if (loader(policy, &cfg, err, sizeof(err)) != 0) {
            fprintf(stderr, "sovgw scan: %s: %s\n", policy, err[0] ? err : "cannot load the policy");
            return 2;
        }
    }
    char packbuf[256];
    const char *plist[MAX_PACKS];
    if (packs_arg) {
        snprintf(packbuf, sizeof(packbuf), "%s", packs_arg);
        size_t np = 0;
        char *p = packbuf;
        while (*p) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            if (*p) {
                if (np == MAX_PACKS) {
                    fputs("sovgw scan: too many packs\n", stderr);
                    return 2;
                }
                plist[np++] = p;
            }
            if (!comma)
                break;
            p = comma + 1;
        }
        if (np == 0) {
            fputs("sovgw scan: --packs is empty\n", stderr);
            return 2;
        }
        cfg.packs = plist;
        cfg.n_packs = np;
    }
    struct cls_engine *e = NULL;
    int rc = cls_engine_new(&cfg, &e, err, sizeof(err));
    if (rc != SGW_OK) {
        fprintf(stderr, "sovgw scan: %s\n", err[0] ? err : sgw_rc_str(rc));
        return 2;
    }
    rc = cls_worker_new(e, &c.w);
    cls_engine_unref(e);
    c.buf = malloc(CHUNK);
    if (rc != SGW_OK || !c.buf) {
        fputs("sovgw scan: out of memory\n", stderr);
        cls_worker_free(c.w);
        free(c.buf);
        return 2;
    }
    for (; i < argc; i++)
        scan_path(&c, argv[i], 0);
    fflush(stdout);
    cls_worker_free(c.w);
    free(c.buf);
    if (c.errors)
        return 2;
    return c.found ? 1 : 0;
}
