/* classifiers/decode_avro.c — Apache Avro object container files
 * (`.avro`, application/avro; sniffed by `Obj` 0x01): what Spark, Hadoop,
 * Kafka Connect's S3 sink and Glue write to S3.
 *
 * The header's metadata gives the writer's schema (JSON) and the codec;
 * the schema is parsed once (records, enums, arrays, maps, unions, fixed,
 * named references; 4,096 types at most) and each block's objects are
 * decoded by it: every string (and every bytes value that is mostly
 * printable) is one text unit under its field's name as context (a map's
 * key is data, and the context of its value); so is every int and long of
 * six digits or more, as its decimal, and every date (ISO 8601: a birth
 * date under "dob"); times and timestamps are not. Floats, booleans, enum symbols (the
 * schema's own words) and shorter numbers are not passed on. Blocks are held
 * whole (16 MiB) and decompressed through the chain's own decoders with
 * their bomb limits: null, deflate, snappy (its CRC not checked), zstandard,
 * bzip2, xz. Each block's sync marker is checked.
 *
 * Uninspectable: a schema that is no JSON or names an unknown type, an
 * unknown codec, a block whose objects do not end at its end or whose
 * sync marker is wrong, a cut file, past the holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "classifiers/decode_internal.h"

#define AV_HEAD_MAX (1u << 20) /* the header (the schema in it) */
#define AV_BLOCK_MAX (16u << 20)
#define AV_TYPES 4096u
#define AV_DEPTH 64u
#define AV_NAME 128u
/* logical types of ints and longs: a date (days since 1970) is passed on
 * as one (a birth date), times and timestamps are not */
enum { AV_LOG_NONE, AV_LOG_DATE, AV_LOG_TIME };

enum av_kind { AV_NULL, AV_BOOL, AV_INT, AV_LONG, AV_FLOAT, AV_DOUBLE, AV_BYTES, AV_STRING,
               AV_RECORD, AV_ENUM, AV_ARRAY, AV_MAP, AV_UNION, AV_FIXED, AV_REF };

struct av_type {
    uint8_t kind;
    uint32_t a, n;  /* record: first field, count; union: first branch, count; array/map: a = item;
                       fixed: n = size; ref: a = the type referred to; int, long: n = AV_LOG_* */
    char name[AV_NAME]; /* named types: the full name; ref: the name */
};

struct av_field {
    uint32_t type;
    char name[AV_NAME];
};

enum av_state { AS_HEAD, AS_BLOCK, AS_DATA };

struct dec_avro {
    struct dec base;
    enum av_state st;
    uint8_t sync[16];
    int codec; /* 0 null, 1 deflate, 2 snappy, 3 zstandard, 4 bzip2, 5 xz */
    uint32_t root;
    struct av_type *types;
    size_t ntypes;
    struct av_field *fields;
    size_t nfields;
    uint32_t *branches;
    size_t nbranches;
    uint8_t *buf;         /* input held: buf[off..len) not read yet */
    size_t off, len, cap, next_try;
    int64_t count, size;  /* the current block's */
    uint8_t *blk;         /* a decompressed block */
    size_t blen, bcap;
    int blk_over;
};

/* ---- a reader of Avro's binary encoding ---- */

struct ar {
    const uint8_t *b;
    size_t n, pos;
    int bad, more; /* more: the bytes ended (held input may grow) */
};

static int64_t ar_long(struct ar *r)
{
    uint64_t v = 0;
    for (unsigned s = 0; s < 64; s += 7) {
        if (r->pos >= r->n) {
            r->bad = r->more = 1;
            return 0;
        }
        uint8_t c = r->b[r->pos++];
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    }
    r->bad = 1;
    return 0;
}

/* An array's or a map's block count: negative counts are followed by
 * the block's size in bytes (skipped); 0 ends the items (also when bad). */
static int64_t ar_count(struct ar *r)
{
    int64_t count = ar_long(r);
    if (count < 0) {
        if (count == INT64_MIN) { /* (its negation is no int64_t) */
            r->bad = 1;
            return 0;
        }
        count = -count;
        (void)ar_long(r);
    }
    return r->bad ? 0 : count;
}

/* A length-prefixed byte string: its start, *len its length (NULL: bad). */
static const uint8_t *ar_bytes(struct ar *r, size_t *len)
{
    int64_t l = ar_long(r);
    if (r->bad)
        return NULL;
    if (l < 0) {
        r->bad = 1;
        return NULL;
    }
    if ((uint64_t)l > r->n - r->pos) {
        r->bad = r->more = 1;
        return NULL;
    }
    const uint8_t *s = r->b + r->pos;
    r->pos += (size_t)l;
    *len = (size_t)l;
    return s;
}

/* ---- the schema (JSON, parsed once) ---- */

struct js {
    const char *s;
    size_t n, pos;
    int bad;
};

static void js_ws(struct js *j)
{
    while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\n' || j->s[j->pos] == '\r' || j->s[j->pos] == '\t'))
        j->pos++;
}

/* A JSON string into out (cap bytes, truncated; escapes kept but \" and \\). */
static void js_string(struct js *j, char *out, size_t cap)
{
    js_ws(j);
    size_t o = 0;
    if (j->pos >= j->n || j->s[j->pos] != '"') {
        j->bad = 1;
        return;
    }
    j->pos++;
    while (j->pos < j->n && j->s[j->pos] != '"') {
        char c = j->s[j->pos++];
        if (c == '\\' && j->pos < j->n)
            c = j->s[j->pos++];
        if (o + 1 < cap)
            out[o++] = c;
    }
    if (j->pos >= j->n)
        j->bad = 1;
    j->pos++;
    if (cap)
        out[o] = 0;
}

/* An object's key and its ':' (0: malformed, j->bad). */
static int js_key(struct js *j, char *key, size_t cap)
{
    js_string(j, key, cap);
    js_ws(j);
    if (j->bad || j->pos >= j->n || j->s[j->pos] != ':') {
        j->bad = 1;
        return 0;
    }
    j->pos++;
    return 1;
}

/* After a member: 1 when a ',' says another follows, 0 at `close` (or
 * when malformed: j->bad). */
static int js_more(struct js *j, char close)
{
    js_ws(j);
    if (j->pos < j->n && j->s[j->pos] == ',') {
        j->pos++;
        return 1;
    }
    if (j->pos < j->n && j->s[j->pos] == close)
        j->pos++;
    else
        j->bad = 1;
    return 0;
}

/* Skips any JSON value. */
static void js_skip(struct js *j, unsigned depth)
{
    js_ws(j);
    if (j->pos >= j->n || depth > AV_DEPTH) {
        j->bad = 1;
        return;
    }
    char c = j->s[j->pos];
    if (c == '"') {
        char tmp[1];
        js_string(j, tmp, 0);
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->pos++;
        js_ws(j);
        if (j->pos < j->n && j->s[j->pos] == close) {
            j->pos++;
            return;
        }
        while (!j->bad) {
            if (c == '{') {
                char tmp[1];
                js_string(j, tmp, 0);
                js_ws(j);
                if (j->pos >= j->n || j->s[j->pos] != ':') {
                    j->bad = 1;
                    return;
                }
                j->pos++;
            }
            js_skip(j, depth + 1);
            if (!js_more(j, close))
                return;
        }
    } else {
        while (j->pos < j->n && !strchr(",}] \n\r\t", j->s[j->pos]))
            j->pos++;
    }
}

static uint32_t av_new(struct dec_avro *a, uint8_t kind, int *bad)
{
    if (a->ntypes >= AV_TYPES) {
        *bad = 1;
        return 0;
    }
    if (a->ntypes % 64 == 0) {
        struct av_type *t = realloc(a->types, (a->ntypes + 64) * sizeof(*t));
        if (!t) {
            *bad = 1;
            return 0;
        }
        a->types = t;
    }
    a->types[a->ntypes] = (struct av_type){.kind = kind};
    return (uint32_t)a->ntypes++;
}

static int av_primitive(const char *s)
{
    static const char *const p[] = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"};
    for (int i = 0; i < 8; i++)
        if (strcmp(s, p[i]) == 0)
            return i;
    return -1;
}

static uint32_t av_parse(struct dec_avro *a, struct js *j, unsigned depth, const char *ns);

/* The list of a record's fields: [{"name": …, "type": …}, …]. */
static void av_fields(struct dec_avro *a, struct js *j, uint32_t rec, unsigned depth, const char *ns)
{
    js_ws(j);
    if (j->pos >= j->n || j->s[j->pos] != '[') {
        j->bad = 1;
        return;
    }
    j->pos++;
    js_ws(j);
    if (j->pos < j->n && j->s[j->pos] == ']') {
        j->pos++;
        return;
    }
    /* fields are parsed one by one; a field's own type may add fields, so
       a record's fields are first collected here, then stored together */
    struct av_field *tmp = malloc(256 * sizeof(*tmp));
    size_t nt = 0;
    if (!tmp) {
        j->bad = 1;
        return;
    }
    while (!j->bad) {
        js_ws(j);
        if (j->pos >= j->n || j->s[j->pos] != '{') {
            j->bad = 1;
            break;
        }
        j->pos++;
        struct av_field f = {.type = UINT32_MAX};
        while (!j->bad) {
            char key[32];
            if (!js_key(j, key, sizeof(key)))
                break;
            if (strcmp(key, "name") == 0)
                js_string(j, f.name, sizeof(f.name));
            else if (strcmp(key, "type") == 0)
                f.type = av_parse(a, j, depth + 1, ns);
            else
                js_skip(j, depth + 1);
            if (!js_more(j, '}'))
                break;
        }
        if (f.type == UINT32_MAX || nt == 256) {
            j->bad = 1;
            break;
        }
        tmp[nt++] = f;
        if (!js_more(j, ']'))
            break;
    }
    struct av_field *nf = j->bad ? NULL : realloc(a->fields, (a->nfields + nt + 1) * sizeof(*nf));
    if (nf) {
        a->fields = nf;
        memcpy(a->fields + a->nfields, tmp, nt * sizeof(*tmp));
        a->types[rec].a = (uint32_t)a->nfields;
        a->types[rec].n = (uint32_t)nt;
        a->nfields += nt;
    } else {
        j->bad = 1;
    }
    free(tmp);
}

static uint32_t av_parse(struct dec_avro *a, struct js *j, unsigned depth, const char *ns)
{
    int bad = 0;
    js_ws(j);
    if (j->bad || j->pos >= j->n || depth > AV_DEPTH) {
        j->bad = 1;
        return 0;
    }
    char c = j->s[j->pos];
    if (c == '"') { /* a primitive or a named type */
        char name[AV_NAME];
        js_string(j, name, sizeof(name));
        int p = av_primitive(name);
        uint32_t t = av_new(a, p >= 0 ? (uint8_t)p : AV_REF, &bad);
        if (bad) {
            j->bad = 1;
            return 0;
        }
        if (p < 0) {
            if (!strchr(name, '.') && ns[0])
                snprintf(a->types[t].name, AV_NAME, "%.63s.%.63s", ns, name);
            else
                snprintf(a->types[t].name, AV_NAME, "%s", name);
        }
        return t;
    }
    if (c == '[') { /* a union */
        uint32_t br[64];
        uint32_t nb = 0;
        j->pos++;
        js_ws(j);
        while (!j->bad && j->pos < j->n && j->s[j->pos] != ']') {
            if (nb == 64) {
                j->bad = 1;
                return 0;
            }
            br[nb++] = av_parse(a, j, depth + 1, ns);
            js_ws(j);
            if (j->pos < j->n && j->s[j->pos] == ',')
                j->pos++;
            js_ws(j);
        }
        j->pos++;
        uint32_t t = av_new(a, AV_UNION, &bad);
        uint32_t *nbr = bad ? NULL : realloc(a->branches, (a->nbranches + nb) * sizeof(*nbr));
        if (!nbr) {
            j->bad = 1;
            return 0;
        }
        a->branches = nbr;
        memcpy(a->branches + a->nbranches, br, nb * sizeof(*br));
        a->types[t].a = (uint32_t)a->nbranches;
        a->types[t].n = nb;
        a->nbranches += nb;
        return t;
    }
    if (c != '{') {
        j->bad = 1;
        return 0;
    }
    /* an object: its "type" decides; keys come in any order, so the
       object is read twice: first its type, name, namespace and size */
    size_t start = j->pos;
    char type[AV_NAME] = "", name[AV_NAME] = "", space[AV_NAME] = "", logical[32] = "";
    int64_t size = -1;
    size_t type_at = 0, n_symbols = 0;
    j->pos++;
    while (!j->bad) {
        char key[32];
        if (!js_key(j, key, sizeof(key)))
            return 0;
        js_ws(j);
        if (strcmp(key, "type") == 0) {
            type_at = j->pos;
            if (j->pos < j->n && j->s[j->pos] == '"')
                js_string(j, type, sizeof(type));
            else
                js_skip(j, depth + 1);
        } else if (strcmp(key, "name") == 0) {
            js_string(j, name, sizeof(name));
        } else if (strcmp(key, "namespace") == 0) {
            js_string(j, space, sizeof(space));
        } else if (strcmp(key, "logicalType") == 0) {
            js_string(j, logical, sizeof(logical));
        } else if (strcmp(key, "size") == 0) {
            size = strtoll(j->s + j->pos, NULL, 10);
            js_skip(j, depth + 1);
        } else if (strcmp(key, "symbols") == 0) {
            size_t before = j->pos;
            js_skip(j, depth + 1);
            for (size_t i = before; i < j->pos; i++)
                n_symbols += j->s[i] == ',';
            n_symbols++;
        } else {
            js_skip(j, depth + 1);
        }
        if (!js_more(j, '}'))
            break;
    }
    if (j->bad || !type_at)
        return j->bad = 1, 0;
    size_t end = j->pos;
    char full[AV_NAME];
    const char *use_ns = space[0] ? space : ns;
    if (strchr(name, '.') || !use_ns[0])
        snprintf(full, sizeof(full), "%s", name);
    else
        snprintf(full, sizeof(full), "%.63s.%.63s", use_ns, name);
    if (!type[0]) { /* {"type": {…}} or {"type": […]} */
        struct js sub = {.s = j->s, .n = j->n, .pos = type_at};
        uint32_t t = av_parse(a, &sub, depth + 1, ns);
        j->bad |= sub.bad;
        return t;
    }
    int p = av_primitive(type);
    if (p >= 0) { /* (a logical type on a primitive) */
        uint32_t t = av_new(a, (uint8_t)p, &bad);
        j->bad |= bad;
        if (!bad) /* (n: AV_LOG_*) */
            a->types[t].n = strcmp(logical, "date") == 0                                      ? AV_LOG_DATE
                            : strncmp(logical, "time", 4) == 0 || strstr(logical, "timestamp") ? AV_LOG_TIME
                                                                                                : 0;
        return t;
    }
    uint8_t kind = strcmp(type, "record") == 0 || strcmp(type, "error") == 0 ? AV_RECORD
                   : strcmp(type, "enum") == 0                               ? AV_ENUM
                   : strcmp(type, "array") == 0                              ? AV_ARRAY
                   : strcmp(type, "map") == 0                                ? AV_MAP
                   : strcmp(type, "fixed") == 0                              ? AV_FIXED
                                                                             : AV_REF;
    uint32_t t = av_new(a, kind, &bad);
    if (bad) {
        j->bad = 1;
        return 0;
    }
    if (kind == AV_REF) {
        snprintf(a->types[t].name, AV_NAME, "%s", type);
        return t;
    }
    if (kind == AV_RECORD || kind == AV_ENUM || kind == AV_FIXED)
        snprintf(a->types[t].name, AV_NAME, "%s", full);
    if (kind == AV_FIXED) {
        if (size < 0 || size > (1 << 20))
            j->bad = 1;
        a->types[t].n = (uint32_t)size;
        return t;
    }
    if (kind == AV_ENUM) {
        a->types[t].n = (uint32_t)n_symbols;
        return t;
    }
    /* second pass for what the kind needs: fields, items, values */
    const char *want = kind == AV_RECORD ? "fields" : kind == AV_ARRAY ? "items" : "values";
    struct js k = {.s = j->s, .n = end, .pos = start + 1};
    int found = 0;
    while (!k.bad && !found) {
        char key[32];
        if (!js_key(&k, key, sizeof(key)))
            break;
        if (strcmp(key, want) == 0) {
            found = 1;
            if (kind == AV_RECORD) {
                /* (its fields' names default to the record's namespace) */
                char rns[AV_NAME];
                snprintf(rns, sizeof(rns), "%s", full);
                char *dot = strrchr(rns, '.');
                if (dot)
                    *dot = 0;
                else
                    rns[0] = 0;
                av_fields(a, &k, t, depth + 1, rns);
            } else
                a->types[t].a = av_parse(a, &k, depth + 1, use_ns);
            break;
        }
        js_skip(&k, depth + 1);
        js_ws(&k);
        if (k.pos < k.n && k.s[k.pos] == ',')
            k.pos++;
    }
    if (!found || k.bad)
        j->bad = 1;
    return t;
}

/* References resolved: by full name, else by the last part of a name. */
static int av_resolve(struct dec_avro *a)
{
    for (size_t i = 0; i < a->ntypes; i++) {
        struct av_type *t = &a->types[i];
        if (t->kind != AV_REF)
            continue;
        const char *want = t->name, *short_want = strrchr(want, '.');
        short_want = short_want ? short_want + 1 : want;
        size_t hit = SIZE_MAX;
        for (size_t k = 0; k < a->ntypes && hit == SIZE_MAX; k++) {
            const struct av_type *u = &a->types[k];
            if (u->kind != AV_RECORD && u->kind != AV_ENUM && u->kind != AV_FIXED)
                continue;
            const char *us = strrchr(u->name, '.');
            us = us ? us + 1 : u->name;
            if (strcmp(u->name, want) == 0 || strcmp(us, short_want) == 0)
                hit = k;
        }
        if (hit == SIZE_MAX)
            return 0;
        t->a = (uint32_t)hit;
    }
    return 1;
}

/* ---- values ---- */

struct av_out {
    struct dec_avro *a;
    int rc;
};

static int av_text(struct dec_avro *a, const char *ctx, const uint8_t *s, size_t n)
{
    if (n == 0)
        return SGW_OK;
    int rc = ctx && ctx[0] ? dec_text_context(a->base.env, (const uint8_t *)ctx, strlen(ctx)) : SGW_OK;
    if (rc == SGW_OK)
        rc = dec_text_data(a->base.env, s, n);
    return rc == SGW_OK ? dec_text_boundary(a->base.env) : rc;
}

/* One value of type t from r; strings out under ctx. */
static void av_value(struct dec_avro *a, struct ar *r, uint32_t t, const char *ctx, unsigned depth, int *rc)
{
    if (depth > AV_DEPTH || r->bad || *rc != SGW_OK) {
        r->bad = 1;
        return;
    }
    const struct av_type *ty = &a->types[t];
    switch (ty->kind) {
    case AV_NULL:
        return;
    case AV_BOOL:
        if (r->pos >= r->n)
            r->bad = 1;
        else
            r->pos++;
        return;
    case AV_INT:
    case AV_LONG: {
        /* a number of 6 digits or more (a card number in a long, an SSN
           in an int under "ssn") or a date, under its field's name */
        int64_t v = ar_long(r);
        if (r->bad || ty->n == AV_LOG_TIME)
            return;
        char d[24];
        size_t k = dec_int_text(v, ty->n == AV_LOG_DATE, d);
        if (k)
            *rc = av_text(a, ctx, (const uint8_t *)d, k);
        return;
    }
    case AV_ENUM:
        (void)ar_long(r);
        return;
    case AV_FLOAT:
    case AV_DOUBLE: {
        size_t k = ty->kind == AV_FLOAT ? 4 : 8;
        if (r->n - r->pos < k)
            r->bad = 1;
        else
            r->pos += k;
        return;
    }
    case AV_BYTES:
    case AV_STRING: {
        size_t n = 0;
        const uint8_t *s = ar_bytes(r, &n);
        if (!s)
            return;
        if (ty->kind == AV_BYTES) { /* (mostly printable bytes are text; else their runs) */
            size_t good = 0;
            for (size_t i = 0; i < n; i++)
                good += (s[i] >= 0x20 && s[i] < 0x7f) || s[i] >= 0x80 || s[i] == '\n' || s[i] == '\t';
            if (good * 10 < n * 9) {
                *rc = dec_text_runs(a->base.env, s, n, DEC_RUN_MIN, 1);
                return;
            }
        }
        *rc = av_text(a, ctx, s, n);
        return;
    }
    case AV_FIXED: /* (a hash, an id: its printable runs, if any) */
        if (r->n - r->pos < ty->n) {
            r->bad = 1;
        } else {
            *rc = dec_text_runs(a->base.env, r->b + r->pos, ty->n, DEC_RUN_MIN, 0);
            r->pos += ty->n;
        }
        return;
    case AV_RECORD:
        for (uint32_t i = 0; i < ty->n && !r->bad && *rc == SGW_OK; i++)
            av_value(a, r, a->fields[ty->a + i].type, a->fields[ty->a + i].name, depth + 1, rc);
        return;
    case AV_UNION: {
        int64_t k = ar_long(r);
        if (r->bad || k < 0 || (uint64_t)k >= ty->n) {
            r->bad = 1;
            return;
        }
        av_value(a, r, a->branches[ty->a + (uint32_t)k], ctx, depth + 1, rc);
        return;
    }
    case AV_REF:
        av_value(a, r, ty->a, ctx, depth + 1, rc);
        return;
    case AV_ARRAY:
    case AV_MAP:
        for (;;) {
            int64_t count = ar_count(r);
            if (count == 0)
                return;
            for (int64_t i = 0; i < count && !r->bad && *rc == SGW_OK; i++) {
                size_t before = r->pos;
                char key[AV_NAME];
                const char *c = ctx;
                if (ty->kind == AV_MAP) {
                    size_t kl = 0;
                    const uint8_t *ks = ar_bytes(r, &kl);
                    if (!ks)
                        return;
                    *rc = av_text(a, ctx, ks, kl); /* (a key is data too) */
                    snprintf(key, sizeof(key), "%.*s", (int)(kl < AV_NAME - 1 ? kl : AV_NAME - 1), (const char *)ks);
                    c = key;
                }
                av_value(a, r, ty->a, c, depth + 1, rc);
                if (r->pos == before) /* (items of no bytes: the rest are the same) */
                    break;
            }
            if (*rc != SGW_OK)
                return;
        }
    }
}

/* ---- blocks ---- */

/* A decoder that keeps what it is fed in a->blk (the codecs' output). */
struct av_sink {
    struct dec base;
    struct dec_avro *a;
};

static int sink_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_avro *a = ((struct av_sink *)d)->a;
    if (a->blk_over || a->blen + n > (size_t)AV_BLOCK_MAX * 4) {
        if (!a->blk_over) {
            a->blk_over = 1;
            return dec_env_fail(d->env, 0, "Avro block over 64 MiB decoded");
        }
        return SGW_OK;
    }
    return dec_append(&a->blk, &a->blen, &a->bcap, p, n);
}

static int sink_finish(struct dec *d)
{
    (void)d;
    return SGW_OK;
}

static const struct dec_ops sink_ops = {"avro-block", sink_feed, sink_finish, NULL};

static int sink_emit(void *arg, const uint8_t *p, size_t n)
{
    return sink_feed(arg, p, n);
}

/* deflate, raw: what follows the stream's end is ignored, as Avro's
 * readers do (Python's writer leaves three bytes of zlib's checksum). */
static int av_inflate(struct dec_avro *a, struct av_sink *s, const uint8_t *b, size_t n)
{
    z_stream zs = {0};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return SGW_ENOMEM;
    struct dec_bomb bomb = {0};
    uint8_t out[16384];
    int rc = SGW_OK;
    zs.next_in = (Bytef *)(uintptr_t)b;
    zs.avail_in = (uInt)n;
    for (;;) {
        size_t k;
        uInt before = zs.avail_in;
        int r = dec_inflate_step(&a->base, &zs, &bomb, out, sizeof(out), sink_emit, &s->base, &rc, &k);
        if (rc != SGW_OK || a->base.dead || r == Z_STREAM_END)
            break;
        if (r == Z_NEED_DICT || r == Z_DATA_ERROR || r == Z_STREAM_ERROR || (k == 0 && before == zs.avail_in)) {
            rc = dec_env_fail(a->base.env, 0, "malformed deflate data in an Avro block");
            a->blk_over = 1;
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}

/* The objects of a whole block b[0..n) (compressed as the codec says). */
static int av_block(struct dec_avro *a, const uint8_t *b, size_t n)
{
    const uint8_t *data = b;
    size_t dn = n;
    if (a->codec == 1) {
        struct av_sink s = {.base = {.env = a->base.env}, .a = a};
        a->blen = 0;
        a->blk_over = 0;
        int rc = av_inflate(a, &s, b, n);
        if (rc != SGW_OK || a->base.dead || a->blk_over)
            return rc;
        data = a->blk;
        dn = a->blen;
    } else if (a->codec) {
        struct av_sink *s = dec_alloc(sizeof(*s), &sink_ops, a->base.env, a->base.nest + 2);
        if (!s)
            return SGW_ENOMEM;
        s->a = a;
        a->blen = 0;
        a->blk_over = 0;
        struct dec *c = NULL;
        int rc;
        unsigned nest = a->base.nest + 1;
        switch (a->codec) {
        case 2:
            rc = dec_new_snappy(a->base.env, nest, &s->base, &c);
            n = n >= 4 ? n - 4 : 0; /* (its CRC32) */
            break;
        case 3: rc = dec_new_zstd(a->base.env, nest, &s->base, &c); break;
        case 4: rc = dec_new_bzip2(a->base.env, nest, &s->base, &c); break;
        default: rc = dec_new_xz(a->base.env, nest, &s->base, &c); break;
        }
        if (rc != SGW_OK)
            return rc;
        rc = dec_feed(c, b, n);
        if (rc == SGW_OK)
            rc = dec_finish(c);
        int dead = c->dead;
        dec_free(c);
        if (rc != SGW_OK || dead || a->blk_over)
            return rc; /* (the codec reported) */
        data = a->blk;
        dn = a->blen;
    }
    struct ar r = {.b = data, .n = dn};
    int rc = SGW_OK;
    for (int64_t i = 0; i < a->count && !r.bad && rc == SGW_OK; i++) {
        size_t before = r.pos;
        av_value(a, &r, a->root, NULL, 0, &rc);
        if (r.pos == before)
            break;
    }
    if (rc == SGW_OK && (r.bad || r.pos != dn))
        rc = dec_env_fail(a->base.env, 0, "malformed Avro block");
    return rc;
}

/* ---- the stream ---- */

/* The header's metadata other than avro.*, in b[0..n) (whole): each
 * value under its key. */
static int av_user_meta(struct dec_avro *a, const uint8_t *b, size_t n)
{
    struct ar r = {.b = b, .n = n, .pos = 4};
    int rc = SGW_OK;
    for (;;) {
        int64_t count = ar_count(&r);
        if (count == 0)
            return rc;
        for (int64_t i = 0; i < count && !r.bad && rc == SGW_OK; i++) {
            size_t kl = 0, vl = 0;
            const uint8_t *k = ar_bytes(&r, &kl), *v = k ? ar_bytes(&r, &vl) : NULL;
            if (!v)
                return rc;
            if (kl > 5 && memcmp(k, "avro.", 5) == 0)
                continue;
            char key[AV_NAME];
            snprintf(key, sizeof(key), "%.*s", (int)(kl < AV_NAME - 1 ? kl : AV_NAME - 1), (const char *)k);
            rc = av_text(a, key, v, vl);
        }
        if (rc != SGW_OK)
            return rc;
    }
}

/* The header at buf[off..len): 1 read, 0 more bytes needed, <0 an rc. */
static int av_header(struct dec_avro *a, int final)
{
    struct ar r = {.b = a->buf + a->off, .n = a->len - a->off};
    if (r.n < 4)
        return final ? dec_fail(&a->base, 0, "truncated Avro file") : 0;
    if (memcmp(r.b, "Obj\x01", 4) != 0)
        return dec_fail(&a->base, 0, "malformed Avro file");
    r.pos = 4;
    const uint8_t *schema = NULL;
    size_t schema_len = 0;
    char codec[16] = "null";
    int user = 0;
    for (;;) {
        int64_t count = ar_count(&r);
        if (count == 0)
            break;
        for (int64_t i = 0; i < count && !r.bad; i++) {
            size_t kl = 0, vl = 0;
            const uint8_t *k = ar_bytes(&r, &kl), *v = k ? ar_bytes(&r, &vl) : NULL;
            if (!v)
                break;
            if (kl == 11 && memcmp(k, "avro.schema", 11) == 0) {
                schema = v;
                schema_len = vl;
            } else if (kl == 10 && memcmp(k, "avro.codec", 10) == 0) {
                snprintf(codec, sizeof(codec), "%.*s", (int)(vl < 15 ? vl : 15), (const char *)v);
            } else if (!(kl > 5 && memcmp(k, "avro.", 5) == 0)) {
                user = 1; /* (user metadata: out once the header is whole) */
            }
        }
    }
    if (!r.bad && r.n - r.pos < 16)
        r.bad = r.more = 1;
    if (r.bad) {
        if (r.more && !final && r.n < AV_HEAD_MAX)
            return 0;
        return dec_fail(&a->base, 0, r.more ? "truncated Avro file" : "malformed Avro file");
    }
    memcpy(a->sync, r.b + r.pos, 16);
    r.pos += 16;
    int rc = user ? av_user_meta(a, r.b, r.pos) : SGW_OK;
    /* the schema is text too (its docs, defaults, names) */
    if (rc == SGW_OK && schema)
        rc = av_text(a, "avro.schema", schema, schema_len);
    if (rc != SGW_OK)
        return rc;
    static const char *const codecs[] = {"null", "deflate", "snappy", "zstandard", "bzip2", "xz"};
    a->codec = -1;
    for (int i = 0; i < 6; i++)
        if (strcmp(codec, codecs[i]) == 0)
            a->codec = i;
    if (a->codec < 0)
        return dec_fail(&a->base, 0, "Avro codec %.15s not read", codec);
    struct js j = {.s = (const char *)schema, .n = schema_len};
    a->root = schema ? av_parse(a, &j, 0, "") : 0;
    if (!schema || j.bad || !av_resolve(a))
        return dec_fail(&a->base, 0, "Avro schema not read");
    a->off += r.pos;
    return 1;
}

static int av_run(struct dec_avro *a, int final)
{
    struct dec *d = &a->base;
    int rc = SGW_OK;
    while (rc == SGW_OK && !d->dead) {
        size_t n = a->len - a->off;
        if (a->st == AS_HEAD) {
            if (!final && n < a->next_try)
                break;
            int r = av_header(a, final);
            if (r < 0)
                return r;
            if (r == 0) {
                a->next_try = 2 * n;
                break;
            }
            a->st = AS_BLOCK;
        } else if (a->st == AS_BLOCK) {
            if (n == 0)
                break;
            struct ar r = {.b = a->buf + a->off, .n = n};
            a->count = ar_long(&r);
            a->size = r.bad ? 0 : ar_long(&r);
            if (r.bad) {
                if (r.more && !final)
                    break;
                return dec_fail(d, 0, r.more ? "truncated Avro file" : "malformed Avro file");
            }
            if (a->count < 0 || a->size < 0 || a->size > (int64_t)AV_BLOCK_MAX)
                return dec_fail(d, 0, a->size > (int64_t)AV_BLOCK_MAX ? "Avro block over 16 MiB" : "malformed Avro file");
            a->off += r.pos;
            a->st = AS_DATA;
        } else {
            if (n < (size_t)a->size + 16) {
                if (final)
                    return dec_fail(d, 0, "truncated Avro file");
                break;
            }
            const uint8_t *b = a->buf + a->off;
            rc = av_block(a, b, (size_t)a->size);
            if (rc == SGW_OK && memcmp(b + a->size, a->sync, 16) != 0)
                return dec_fail(d, 0, "malformed Avro file (a sync marker)");
            a->off += (size_t)a->size + 16;
            a->st = AS_BLOCK;
        }
    }
    return rc;
}

static int av_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_avro *a = (struct dec_avro *)d;
    if (a->off) {
        memmove(a->buf, a->buf + a->off, a->len - a->off);
        a->len -= a->off;
        a->off = 0;
    }
    int rc = dec_append(&a->buf, &a->len, &a->cap, p, n);
    return rc == SGW_OK ? av_run(a, 0) : rc;
}

static int av_finish(struct dec *d)
{
    struct dec_avro *a = (struct dec_avro *)d;
    if (a->st == AS_HEAD && a->len == 0)
        return SGW_OK;
    return av_run(a, 1);
}

static void av_destroy(struct dec *d)
{
    struct dec_avro *a = (struct dec_avro *)d;
    free(a->buf);
    free(a->blk);
    free(a->types);
    free(a->fields);
    free(a->branches);
}

static const struct dec_ops avro_ops = {"avro", av_feed, av_finish, av_destroy};

int dec_new_avro(struct dec_env *env, unsigned nest, struct dec **out)
{
    struct dec_avro *a = dec_alloc(sizeof(*a), &avro_ops, env, nest);
    if (!a)
        return SGW_ENOMEM;
    *out = &a->base;
    return SGW_OK;
}

int dec_looks_avro(const uint8_t *b, size_t n)
{
    return n >= 5 && memcmp(b, "Obj\x01", 4) == 0;
}
