/* fuzz/fuzz_classifiers_json.c — the streaming JSON decoder: random splits
 * must give the same transcript as one call; no crash, no leak, no empty
 * data call. The first byte seeds the split points and picks JSON/NDJSON. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *ct = (data[0] & 1) ? "application/x-ndjson" : "application/json";
    fz_check(ct, NULL, data + 1, size - 1, data[0]);
    return 0;
}
