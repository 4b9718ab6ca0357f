/* fuzz/fuzz_classifiers_json.c — the streaming JSON decoder: random splits
 * must give the same transcript as one call; no crash, no leak, no empty
 * data call. The first byte seeds the split points and picks JSON, NDJSON or
 * text/plain (JSON in a text body: lenient, falls back to raw text). */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* JSON, NDJSON, or JSON sent as text (the lenient decoder) */
    static const char *const types[] = {"application/json", "application/x-ndjson", "text/plain",
                                        "application/json"};
    const char *ct = types[data[0] & 3];
    fz_check(ct, NULL, data + 1, size - 1, data[0]);
    return 0;
}
