/* fuzz/fuzz_classifiers_decode.c — the whole decoder chain: the first byte
 * picks a content type and a content encoding among all supported ones (and
 * a few refused ones), the second seeds the split points. Random splits must
 * give the same transcript as one call. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
    NULL,
    "application/json",
    "application/x-ndjson",
    "application/x-amz-json-1.1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ",
    "multipart/mixed; boundary=\"a b\"",
    "application/cbor",
    "application/vnd.amazon.eventstream",
    "aws-chunked",
    "text/plain",
    "text/plain; charset=utf-16",
    "application/octet-stream",
    "image/png",
    "application/x-unknown",
    "text/plain; charset=utf-16le",
};

static const char *const encodings[] = {
    NULL,
    "gzip",
    "deflate",
    "br",
    "zstd",
    "gzip, br",
    "aws-chunked",
    "identity",
    "x-foo",
    "br, zstd",
    "aws-chunked, gzip",
    "deflate, gzip",
    "snappy",
    "gzip",
    NULL,
    NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *ct = types[data[0] & 15];
    const char *ce = encodings[data[0] >> 4];
    fz_check(ct, ce, data + 2, size - 2, data[1]);
    return 0;
}
