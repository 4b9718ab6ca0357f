/* fuzz/fuzz_classifiers_tar.c — the streaming tar reader (ustar, GNU long
 * names, pax records) and the decoders of its entries: random splits must
 * give the same transcript as one call; no crash, no leak, no empty data
 * call. The first byte seeds the split points and picks the way in:
 * declared tar, declared gzip (a .tar.gz), or sniffed. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const types[] = {"application/x-tar", "application/gzip", NULL, "application/x-tar"};
    const char *ct = types[data[0] & 3];
    fz_check(ct, NULL, data + 1, size - 1, data[0]);
    return 0;
}
