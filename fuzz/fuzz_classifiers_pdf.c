/* fuzz/fuzz_classifiers_pdf.c — the streaming PDF reader (objects, object
 * streams, content streams, ToUnicode maps, ASCII85/ASCIIHex/Flate
 * filters, embedded files): random splits must give the same transcript
 * as one call; no crash, no leak, no empty data call. The first byte
 * seeds the split points and picks the way in: declared PDF, sniffed, or
 * deflate-encoded PDF. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const types[] = {"application/pdf", NULL, "application/pdf", "application/pdf"};
    const char *ct = types[data[0] & 3];
    fz_check(ct, (data[0] & 3) == 3 ? "deflate" : NULL, data + 1, size - 1, data[0]);
    return 0;
}
