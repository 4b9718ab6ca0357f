/* fuzz/fuzz_classifiers_protobuf.c — Protocol Buffers read without a
 * schema (fields held and judged: text, message or bytes; long ones judged
 * by their first 64 KiB and read on as a stream) and gRPC's frames: random
 * splits must give the same transcript as one call; no crash, no leak, no
 * empty data call. The first byte seeds the split points and picks the way
 * in: a protobuf body, gRPC, grpc-web, or sniffed (a KPL aggregated
 * record: its magic, a protobuf, its MD5). */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const types[] = {"application/x-protobuf", "application/grpc", "application/grpc-web", NULL};
    const char *ct = types[data[0] & 3];
    fz_check(ct, NULL, data + 1, size - 1, data[0]);
    return 0;
}
