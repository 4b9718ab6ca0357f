/* fuzz/fuzz_classifiers_cbor.c — the streaming CBOR decoder: random splits
 * must give the same transcript as one call; no crash, leak, or contract
 * breach (depth limit 32 in the harness). Byte 0 seeds the splits. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fz_check("application/cbor", NULL, data + 1, size - 1, data[0]);
    return 0;
}
