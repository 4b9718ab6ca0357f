/* classifiers/internal.h — interfaces between the parts of classifiers/
 * (decoders, scanner, packs). Never included outside classifiers/. */
#ifndef SGW_CLASSIFIERS_INTERNAL_H
#define SGW_CLASSIFIERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "classifiers/classifiers.h"

/* Where a decoder stage pushes its output: the next decoder or, last, the
 * scanner. Every callback returns SGW_OK or a negative sgw_rc (internal
 * error: the stream fails closed). */
struct cls_sink {
    void *ctx;
    /* decoded bytes, in stream order; p is borrowed for the call only */
    int (*data)(void *ctx, const uint8_t *p, size_t n);
    /* end of a logical text unit (a JSON string value, a multipart part, a
       base64 run): no match may span it */
    int (*boundary)(void *ctx);
    /* structural context that precedes the next data (a JSON key, a form field
       name, a multipart part name): used as context words, never scanned */
    int (*context)(void *ctx, const uint8_t *p, size_t n);
    /* something could not be decoded/inspected; reason is static text;
       flags are enum cls_finding_flag */
    int (*uninspectable)(void *ctx, const char *reason, uint32_t flags);
    /* Optional (NULL: the calls in a row), for a final sink that takes a
       short unit's end in one call: data_end = data then boundary; key_end =
       data, boundary, then k as context. The text pipeline uses them for
       short ASCII units with nothing held (the scanner has them). Initialise
       sinks with designated initialisers so that these stay NULL. */
    int (*data_end)(void *ctx, const uint8_t *p, size_t n);
    int (*key_end)(void *ctx, const uint8_t *p, size_t n, const uint8_t *k, size_t kn);
    /* Optional, both or neither (NULL: findings give the offsets of the
       data as it arrived). Where the data that follows comes from, so that
       findings give offsets in the text the pipeline was fed (for a plain
       file, the file's own) although the normalisation changes lengths and
       decoded copies are inserted: kind is enum cls_origin. */
    int (*origin)(void *ctx, int kind, uint64_t src, uint64_t w);
    /* the source offset of the next data byte (outside a copy) */
    uint64_t (*where)(void *ctx);
};

/* The media type a file's name says by its extension (`a.JSON` →
 * application/json, `x.tgz` → application/gzip, `i.png` → image/png), or
 * NULL (none: sniffed). For archive entries and `sovgw scan`'s files. */
const char *cls_type_by_name(const char *name, size_t n);

/* A flag of cls_sink.uninspectable that never reaches a finding: the
 * report is no content the engine could not see into but a private key a
 * decoder recognised by its structure (DER: PKCS#8, PKCS#1, SEC1, encrypted
 * PKCS#8, PKCS#12; OpenSSH's binary form), `reason` saying which. The
 * scanner makes it a PRIVATE_KEY finding when the secrets pack is on, and
 * an UNINSPECTABLE one otherwise (a key's bytes are no text). */
#define CLS_REPORT_KEY (1u << 31)

/* The events of cls_sink.origin. Source offsets count the bytes the text
 * pipeline was fed (its data calls), copies not included. */
enum cls_origin {
    CLS_ORIG_SKIP, /* w source bytes were dropped here */
    CLS_ORIG_SPAN, /* the next data byte stands for w source bytes (0: a byte put in) */
    CLS_ORIG_COPY, /* the data up to the next event is a decoded copy of
                      source [src, src + w): its findings get that span */
    CLS_ORIG_AT,   /* the next data byte is source byte src (after a copy) */
    CLS_ORIG_COPY_AT, /* a decoded copy follows whose bytes are source bytes
                         from src on, one for one, but where other events
                         say otherwise (its decoded escapes: COPY regions) */
    CLS_ORIG_COPY_B64, /* a COPY decoded from base64 characters src on (no
                          line ends): decoded byte k stands for characters
                          4(k/3) + k%3 and the one after */
    CLS_ORIG_COPY_HEX, /* a COPY decoded from hex digits src on: byte k
                          stands for digits 2k and 2k+1 */
    CLS_ORIG_DIRTY,    /* inside a copy: from here on its bytes are no longer
                          its decoding one for one (a normalised character,
                          a nested copy); src, w unused */
    CLS_ORIG_COPY_TWICE, /* a COPY of text percent-encoded twice (%2541):
                            its findings are flagged CLS_FF_TWICE */
    CLS_ORIG_SEAM,       /* a copy of the ends of two units joined (JSON's
                            adjacent text blocks): the bytes that follow are
                            source bytes from src on, one for one; a second
                            SEAM says where the next unit's part begins. A
                            finding in it that overlaps one of the same type
                            found in a unit alone is dropped */
};

struct cls_decode_limits {
    uint64_t max_decoded;  /* total bytes a decompressor may produce */
    uint32_t max_ratio;    /* produced / consumed, checked once > 1 MiB produced */
    uint32_t max_depth;    /* JSON and CBOR nesting (0: 256) */
};

/* A chain of decoders built from a content type and encoding. Feeding the
 * chain pushes decoded text into `final`. path receives the decoder path
 * ("gzip>json") for findings. Bounded memory, independent of body size. */
struct cls_decode_chain;
int cls_decode_chain_new(const char *content_type, const char *content_encoding,
                         const struct cls_decode_limits *lim, const struct cls_sink *final,
                         struct cls_decode_chain **out);
int cls_decode_chain_feed(struct cls_decode_chain *c, const uint8_t *p, size_t n);
int cls_decode_chain_finish(struct cls_decode_chain *c);
const char *cls_decode_chain_path(const struct cls_decode_chain *c);
void cls_decode_chain_free(struct cls_decode_chain *c);
/* The same chain in memory the caller holds (cls_decode_chain_mem bytes
 * from malloc), so that one block serves body after body:
 * cls_decode_chain_release frees what the chain allocated, not the block. */
size_t cls_decode_chain_mem(void);
int cls_decode_chain_init(void *mem, const char *content_type, const char *content_encoding,
                          const struct cls_decode_limits *lim, const struct cls_sink *final,
                          struct cls_decode_chain **out);
void cls_decode_chain_release(struct cls_decode_chain *c);

/* The last `cap` bytes of a stream kept in buf[0..*len), p[0..n) being
 * the stream's next bytes (a unit's tail carried over a piece's end, a
 * text block's last bytes). */
static inline void cls_keep_tail(uint8_t *buf, size_t *len, size_t cap, const uint8_t *p, size_t n)
{
    if (n >= cap) {
        memcpy(buf, p + n - cap, cap);
        *len = cap;
        return;
    }
    size_t keep = *len + n > cap ? cap - n : *len;
    memmove(buf, buf + *len - keep, keep);
    memcpy(buf + keep, p, n);
    *len = keep + n;
}

#endif
