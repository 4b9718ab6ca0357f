/* fuzz/fuzz_classifiers_avro.c — Avro object container files: the header,
 * the schema's JSON, blocks in each codec, objects decoded by the schema:
 * random splits must give the same transcript as one call; no crash, no
 * leak, no empty data call. The first byte seeds the split points and
 * picks the way in: declared Avro, or sniffed. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fz_check((data[0] & 1) ? NULL : "application/avro", NULL, data + 1, size - 1, data[0]);
    return 0;
}
