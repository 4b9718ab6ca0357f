/* classifiers/internal.h — interfaces between the parts of classifiers/
 * (decoders, scanner, packs). Never included outside classifiers/. */
#ifndef SGW_CLASSIFIERS_INTERNAL_H
#define SGW_CLASSIFIERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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
};

struct cls_decode_limits {
    uint64_t max_decoded;  /* total bytes a decompressor may produce */
    uint32_t max_ratio;    /* produced / consumed, checked once > 1 MiB produced */
    uint32_t max_depth;    /* nesting (JSON, CBOR, stacked encodings, base64) */
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

#endif
