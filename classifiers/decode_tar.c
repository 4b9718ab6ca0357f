/* classifiers/decode_tar.c — tar archives (application/x-tar, `.tar`;
 * `.tar.gz` / `.tgz` through the gzip layer in front; sniffed by the
 * `ustar` magic), read as a stream: SageMaker's `sourcedir.tar.gz` and
 * `model.tar.gz`, backups and log bundles put to S3.
 *
 * Each 512-byte header is checked (its checksum) and its text fields
 * (name, link name, owner and group names, the ustar prefix) are data;
 * the entry's name is then the context of its content, which goes through
 * the decoder of the type its name says (cls_type_by_name: .json → JSON,
 * .csv → text, a .zip or .tar.gz → that decoder again up to DEC_MAX_NEST,
 * an image → uninspectable, other names sniffed). GNU long names (`L`,
 * `K`) and pax extended headers (`x`, `g`: each record's value as data
 * under its key as context; `path`, `linkpath` and `size` applied to the
 * next entry, as tar does) are read too. Bytes that are not zero in the
 * padding after an entry, and whatever follows the end of the archive,
 * are scanned as raw bytes: extractors skip them, nothing is lost.
 *
 * Refused (uninspectable, the rest of the archive with it): a header whose
 * checksum or size field is wrong (no tar where a header belongs), sparse
 * and multi-volume entries (their content is not the file's bytes in
 * order), a malformed pax record (its `size` could move every header
 * after it), a truncated archive.
 *
 * Why by hand: libarchive pulls its input through a blocking callback;
 * tar's sequential headers are the easy part of it, and a streaming reader
 * keeps memory fixed (one header, one name) for any split of the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/decode_internal.h"

#define TAR_BLOCK 512u
#define TAR_NAME 1024u  /* bytes of a long name kept to choose the decoder */
#define TAR_PAX_KEY 32u /* bytes of a pax key kept */
#define TAR_PAX_NUM 24u /* bytes of a pax size kept */

enum tar_state {
    TS_HEAD, /* a header block */
    TS_DATA, /* an entry's content: `left` bytes */
    TS_PAD,  /* the rest of the content's last block */
    TS_LONG, /* a GNU long name (L) or link name (K) */
    TS_PAX,  /* pax records (x, g) */
    TS_TAIL, /* after the two zero blocks that end the archive */
};

enum pax_state {
    PX_LEN, /* the record's length, in decimal */
    PX_KEY, /* its key, up to '=' */
    PX_VAL, /* its value, up to the record's last byte */
    PX_NL,  /* that byte: a line feed */
};

struct dec_tar {
    struct dec base;
    enum tar_state st;
    enum pax_state px;
    char type;       /* the current special header's type flag */
    int zeros;       /* zero blocks in a row */
    int raw_open;    /* raw bytes (padding, tail) were passed on since a boundary */
    int raw_gap;     /* ... and zero bytes came after them */
    int have_name;   /* name[] holds the next entry's name (L or pax path) */
    int have_size;   /* pax_size holds the next entry's size */
    uint64_t left;   /* bytes of content, padding or record still to come */
    uint64_t pad;    /* padding after the content */
    uint64_t head_at; /* where the current header began (for reasons) */
    uint64_t rec_len, rec_got; /* pax: the record's length and its bytes read */
    uint64_t pax_size;
    size_t hlen;     /* bytes in hdr[] */
    size_t name_len, key_len, num_len, val_len;
    int val_kind;    /* 0 none, 1 path, 2 size */
    struct dec *entry; /* owned: the decoder of the current entry's content */
    uint8_t hdr[TAR_BLOCK];
    char key[TAR_PAX_KEY];
    char num[TAR_PAX_NUM];
    char name[TAR_NAME + 1];
    char val[TAR_NAME + 1]; /* a pax path being read */
};

static int tar_fail(struct dec_tar *t, const char *reason)
{
    return dec_fail(&t->base, 0, "%s", reason);
}

static int tar_malformed(struct dec_tar *t)
{
    return dec_fail(&t->base, 0, "malformed tar archive at byte %llu",
                    (unsigned long long)t->head_at);
}

/* An octal number field (leading spaces and NULs, digits, then a space or
 * NUL to the end), or GNU's base-256 (the first byte's top bit set, a
 * positive value). Returns 0 when the field is neither. */
static int tar_number(const uint8_t *f, size_t n, uint64_t *v)
{
    *v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80)
            return 0; /* negative, or more than 63 bits */
        for (size_t i = 1; i < n; i++) {
            if (*v >> 55)
                return 0;
            *v = *v << 8 | f[i];
        }
        return 1;
    }
    size_t i = 0;
    while (i < n && (f[i] == ' ' || f[i] == 0))
        i++;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (*v >> 60)
            return 0;
        *v = *v << 3 | (uint64_t)(f[i] - '0');
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != 0)
            return 0;
    return 1; /* (all blanks: 0, as tar reads it) */
}

/* The header's checksum: its bytes summed with the checksum field as
 * spaces, unsigned (POSIX) or signed (old writers). */
static int tar_sum_ok(const uint8_t *h)
{
    uint64_t want;
    if (!tar_number(h + 148, 8, &want))
        return 0;
    uint64_t u = 0;
    int64_t s = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++) {
        uint8_t c = (i >= 148 && i < 156) ? ' ' : h[i];
        u += c;
        s += (int8_t)c;
    }
    return u == want || (uint64_t)s == want;
}

int dec_looks_tar(const uint8_t *b, size_t n)
{
    return n >= TAR_BLOCK && memcmp(b + 257, "ustar", 5) == 0 && (b[262] == 0 || b[262] == ' ') &&
           tar_sum_ok(b);
}

/* Length of a text field up to its last byte that is not NUL (bytes after
 * a NUL are no part of the name for tar, but can carry data). */
static size_t field_len(const uint8_t *f, size_t n)
{
    while (n && f[n - 1] == 0)
        n--;
    return n;
}

/* A text field as one unit of data. */
static int tar_field(struct dec_tar *t, const uint8_t *f, size_t n)
{
    size_t k = field_len(f, n);
    if (k == 0)
        return SGW_OK;
    int rc = dec_text_data(t->base.env, f, k);
    return rc == SGW_OK ? dec_text_boundary(t->base.env) : rc;
}

/* Bytes tar skips (padding, what follows the archive): the runs that are
 * not zero go on as data, a boundary where zeros cut them. */
static int tar_raw(struct dec_tar *t, const uint8_t *p, size_t n)
{
    struct dec_env *env = t->base.env;
    size_t i = 0;
    while (i < n) {
        if (p[i] == 0) {
            while (i < n && p[i] == 0)
                i++;
            t->raw_gap = t->raw_open;
            continue;
        }
        size_t s = i;
        while (i < n && p[i] != 0)
            i++;
        if (t->raw_gap) {
            int rc = dec_text_boundary(env);
            if (rc != SGW_OK)
                return rc;
            t->raw_gap = 0;
        }
        int rc = dec_text_data(env, p + s, i - s);
        if (rc != SGW_OK)
            return rc;
        t->raw_open = 1;
    }
    return SGW_OK;
}

/* Ends the raw bytes passed on, if any. */
static int tar_raw_end(struct dec_tar *t)
{
    if (!t->raw_open)
        return SGW_OK;
    t->raw_open = 0;
    t->raw_gap = 0;
    return dec_text_boundary(t->base.env);
}

/* The current entry's content (and its padding) came. */
static int tar_entry_end(struct dec_tar *t)
{
    return dec_close(&t->entry);
}

/* Content of `size` bytes follows in state st (then its padding). */
static void tar_content(struct dec_tar *t, enum tar_state st, uint64_t size)
{
    t->st = size ? st : TS_HEAD;
    t->left = size;
    t->pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
    if (!size)
        t->hlen = 0;
}

/* A regular (or unknown) entry's header: its name is the context of its
 * content, which goes through the decoder its name says. */
static int tar_entry_begin(struct dec_tar *t, const uint8_t *h, uint64_t size, int regular)
{
    struct dec *d = &t->base;
    char path[TAR_NAME + 1];
    size_t pl;
    if (t->have_name) {
        pl = t->name_len;
        memcpy(path, t->name, pl);
    } else {
        const uint8_t *nul = memchr(h, 0, 100);
        size_t nl = nul ? (size_t)(nul - h) : 100, xl = 0;
        pl = 0;
        if (memcmp(h + 257, "ustar\0", 6) == 0) {
            const uint8_t *pn = memchr(h + 345, 0, 155);
            xl = pn ? (size_t)(pn - (h + 345)) : 155;
        }
        if (xl) {
            memcpy(path, h + 345, xl);
            path[xl] = '/';
            pl = xl + 1;
        }
        memcpy(path + pl, h, nl);
        pl += nl;
    }
    path[pl] = '\0';
    t->have_name = 0;
    int rc = dec_text_context(d->env, (const uint8_t *)path, pl < DEC_CONTEXT_MAX ? pl : DEC_CONTEXT_MAX);
    if (rc != SGW_OK)
        return rc;
    if (size) {
        const char *type = regular ? cls_type_by_name(path, pl) : NULL;
        rc = dec_build_nested(d->env, type, type ? strlen(type) : 0, d->nest + 1, "tar entry",
                              &t->entry);
        if (rc != SGW_OK)
            return rc;
    }
    tar_content(t, TS_DATA, size);
    return SGW_OK;
}

/* A whole header block is in hdr[]. */
static int tar_head(struct dec_tar *t)
{
    const uint8_t *h = t->hdr;
    size_t z = 0;
    while (z < TAR_BLOCK && h[z] == 0)
        z++;
    if (z == TAR_BLOCK) {
        t->hlen = 0;
        if (++t->zeros == 2)
            t->st = TS_TAIL;
        return SGW_OK;
    }
    t->zeros = 0;
    uint64_t size;
    if (!tar_sum_ok(h) || !tar_number(h + 124, 12, &size))
        return tar_malformed(t);
    char type = (char)h[156];
    if (t->have_size && type != 'L' && type != 'K' && type != 'x' && type != 'g') {
        size = t->pax_size; /* (a pax size is the next entry's) */
        t->have_size = 0;
    }
    int gnu = memcmp(h + 257, "ustar  \0", 8) == 0;
    /* the text fields are data: name, link name, owner, group, prefix */
    int rc = tar_field(t, h, 100);
    if (rc == SGW_OK)
        rc = tar_field(t, h + 157, 100);
    if (rc == SGW_OK && (gnu || memcmp(h + 257, "ustar", 5) == 0)) {
        rc = tar_field(t, h + 265, 32);
        if (rc == SGW_OK)
            rc = tar_field(t, h + 297, 32);
        if (rc == SGW_OK && !gnu)
            rc = tar_field(t, h + 345, 155);
    }
    if (rc != SGW_OK)
        return rc;
    switch (type) {
    case 'L':
    case 'K':
        if (size > (uint64_t)64 * 1024)
            return tar_fail(t, "tar long name over 64 KiB");
        t->type = type;
        if (type == 'L')
            t->name_len = 0;
        tar_content(t, TS_LONG, size);
        if (size == 0 && type == 'L')
            t->have_name = 1;
        return SGW_OK;
    case 'x':
    case 'g':
        t->type = type;
        t->px = PX_LEN;
        t->rec_len = 0;
        t->rec_got = 0;
        tar_content(t, TS_PAX, size);
        return SGW_OK;
    case 'S':
        return tar_fail(t, "sparse tar entry");
    case 'M':
        return tar_fail(t, "multi-volume tar entry");
    case '0':
    case '\0':
    case '7':
        return tar_entry_begin(t, h, size, 1);
    default:
        /* links, devices, directories, labels (no content, as a rule) and
           types of other writers: content, if any, is sniffed */
        return tar_entry_begin(t, h, size, 0);
    }
}

/* A pax record's value is complete: applied to the next entry. */
static int pax_value_end(struct dec_tar *t)
{
    if (t->type != 'x')
        return SGW_OK;
    if (t->val_kind == 1) {
        memcpy(t->name, t->val, t->val_len);
        t->name_len = t->val_len;
        t->have_name = 1;
    } else if (t->val_kind == 2) {
        uint64_t v = 0;
        if (t->num_len == 0 || t->num_len >= TAR_PAX_NUM)
            return tar_fail(t, "malformed pax size");
        for (size_t i = 0; i < t->num_len; i++) {
            if (t->num[i] < '0' || t->num[i] > '9' || v > UINT64_MAX / 10 - 1)
                return tar_fail(t, "malformed pax size");
            v = v * 10 + (uint64_t)(t->num[i] - '0');
        }
        t->pax_size = v;
        t->have_size = 1;
    }
    return SGW_OK;
}

/* pax records ("<len> <key>=<value>\n"): each value is data under its key
 * as context. */
static int tar_pax(struct dec_tar *t, const uint8_t *p, size_t n)
{
    struct dec_env *env = t->base.env;
    size_t i = 0;
    int rc = SGW_OK;
    while (i < n && rc == SGW_OK && !t->base.dead) {
        uint8_t c = p[i];
        switch (t->px) {
        case PX_LEN:
            i++;
            t->rec_got++;
            if (c >= '0' && c <= '9' && t->rec_len < (uint64_t)1 << 40) {
                t->rec_len = t->rec_len * 10 + (uint64_t)(c - '0');
            } else if (c == ' ' && t->rec_got > 1 && t->rec_len > t->rec_got + 1) {
                t->px = PX_KEY;
                t->key_len = 0;
            } else {
                return tar_fail(t, "malformed pax record");
            }
            break;
        case PX_KEY:
            i++;
            if (++t->rec_got >= t->rec_len)
                return tar_fail(t, "malformed pax record"); /* (no room for its line feed) */
            if (c == '=') {
                t->px = PX_VAL;
                t->val_len = 0;
                t->num_len = 0;
                t->val_kind = 0;
                if (t->key_len == 4 && memcmp(t->key, "path", 4) == 0)
                    t->val_kind = 1;
                else if (t->key_len == 4 && memcmp(t->key, "size", 4) == 0)
                    t->val_kind = 2;
                else if (t->key_len >= 11 && memcmp(t->key, "GNU.sparse.", 11) == 0)
                    return tar_fail(t, "sparse tar entry");
                rc = dec_text_context(env, (const uint8_t *)t->key, t->key_len);
                if (rc == SGW_OK && t->rec_got + 1 == t->rec_len)
                    t->px = PX_NL;
            } else if (t->key_len < TAR_PAX_KEY) {
                t->key[t->key_len++] = (char)c;
            }
            break;
        case PX_VAL: {
            uint64_t room = t->rec_len - 1 - t->rec_got;
            size_t k = room < n - i ? (size_t)room : n - i;
            if (t->val_kind == 1) {
                size_t keep = TAR_NAME - t->val_len < k ? TAR_NAME - t->val_len : k;
                memcpy(t->val + t->val_len, p + i, keep);
                t->val_len += keep;
            } else if (t->val_kind == 2) {
                size_t keep = TAR_PAX_NUM - t->num_len < k ? TAR_PAX_NUM - t->num_len : k;
                memcpy(t->num + t->num_len, p + i, keep);
                t->num_len += keep;
            }
            rc = dec_text_data(env, p + i, k);
            i += k;
            t->rec_got += k;
            if (t->rec_got + 1 == t->rec_len)
                t->px = PX_NL;
            break;
        }
        case PX_NL:
            i++;
            if (c != '\n')
                return tar_fail(t, "malformed pax record");
            rc = dec_text_boundary(env);
            if (rc == SGW_OK)
                rc = pax_value_end(t);
            t->px = PX_LEN;
            t->rec_len = 0;
            t->rec_got = 0;
            break;
        }
    }
    return rc;
}

static int tar_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_tar *t = (struct dec_tar *)d;
    int rc = SGW_OK;
    size_t i = 0;
    while (i < n && rc == SGW_OK && !d->dead) {
        switch (t->st) {
        case TS_HEAD: {
            if (t->hlen == 0) {
                t->head_at = d->fed + i;
                rc = tar_raw_end(t);
                if (rc != SGW_OK)
                    break;
            }
            size_t k = TAR_BLOCK - t->hlen < n - i ? TAR_BLOCK - t->hlen : n - i;
            memcpy(t->hdr + t->hlen, p + i, k);
            t->hlen += k;
            i += k;
            if (t->hlen == TAR_BLOCK)
                rc = tar_head(t);
            break;
        }
        case TS_DATA:
        case TS_LONG:
        case TS_PAX: {
            size_t k = t->left < n - i ? (size_t)t->left : n - i;
            if (t->st == TS_DATA) {
                if (t->entry)
                    rc = dec_feed(t->entry, p + i, k);
            } else if (t->st == TS_PAX) {
                rc = tar_pax(t, p + i, k);
            } else {
                if (t->type == 'L') {
                    size_t keep = TAR_NAME - t->name_len < k ? TAR_NAME - t->name_len : k;
                    memcpy(t->name + t->name_len, p + i, keep);
                    t->name_len += keep;
                }
                rc = tar_raw(t, p + i, k); /* (the name's NUL is no text) */
            }
            i += k;
            t->left -= k;
            if (rc != SGW_OK || d->dead || t->left)
                break;
            if (t->st == TS_DATA) {
                rc = tar_entry_end(t);
            } else if (t->st == TS_LONG) {
                rc = tar_raw_end(t);
                if (t->type == 'L') {
                    /* the name ends at its NUL */
                    char *nul = memchr(t->name, 0, t->name_len);
                    if (nul)
                        t->name_len = (size_t)(nul - t->name);
                    t->have_name = 1;
                }
            } else if (t->px != PX_LEN || t->rec_got) {
                rc = tar_fail(t, "malformed pax record");
            }
            t->st = TS_PAD;
            t->left = t->pad;
            if (t->left == 0) {
                t->st = TS_HEAD;
                t->hlen = 0;
            }
            break;
        }
        case TS_PAD: {
            size_t k = t->left < n - i ? (size_t)t->left : n - i;
            rc = tar_raw(t, p + i, k);
            i += k;
            t->left -= k;
            if (t->left == 0) {
                t->st = TS_HEAD;
                t->hlen = 0;
            }
            break;
        }
        case TS_TAIL:
            rc = tar_raw(t, p + i, n - i);
            i = n;
            break;
        }
    }
    return rc;
}

static int tar_finish(struct dec *d)
{
    struct dec_tar *t = (struct dec_tar *)d;
    if (d->dead)
        return SGW_OK;
    if (t->st == TS_TAIL || (t->st == TS_HEAD && t->hlen == 0))
        return tar_raw_end(t); /* (an archive without its zero blocks is whole too) */
    /* cut inside a record: what came of it goes on; the rest is missing */
    int rc = tar_entry_end(t);
    if (rc == SGW_OK && (t->st == TS_LONG || t->st == TS_PAX || t->st == TS_PAD))
        rc = dec_text_boundary(d->env);
    return rc != SGW_OK ? rc : tar_fail(t, "truncated tar archive");
}

static void tar_destroy(struct dec *d)
{
    struct dec_tar *t = (struct dec_tar *)d;
    dec_free(t->entry);
}

static const struct dec_ops tar_ops = {"tar", tar_feed, tar_finish, tar_destroy};

int dec_new_tar(struct dec_env *env, unsigned nest, struct dec **out)
{
    if (nest + 1 > DEC_MAX_NEST)
        return dec_new_reject(env, nest, "decoder nesting too deep", out);
    struct dec_tar *t =
        dec_alloc_head(sizeof(*t), offsetof(struct dec_tar, hdr), &tar_ops, env, nest);
    if (!t)
        return SGW_ENOMEM;
    *out = &t->base;
    return SGW_OK;
}
