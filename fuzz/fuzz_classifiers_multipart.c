/* fuzz/fuzz_classifiers_multipart.c — the strict multipart decoder (form-data
 * and mixed, boundary "XyZ"): random splits must give the same transcript as
 * one call; no crash, leak or contract breach. Byte 0 seeds the splits and
 * picks form-data / mixed. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *ct =
        (data[0] & 1) ? "multipart/mixed; boundary=XyZ" : "multipart/form-data; boundary=XyZ";
    fz_check(ct, NULL, data + 1, size - 1, data[0]);
    return 0;
}
