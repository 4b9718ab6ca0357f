/* fuzz/fuzz_classifiers_xml.c — the streaming XML decoder: random splits
 * must give the same transcript as one call; no crash, no leak, no empty
 * data call. The first byte seeds the split points and picks the way in:
 * declared XML, XML sent as text ("<?xml" sniffed), or gzip-free UTF-16
 * XML. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const types[] = {"application/xml", "text/plain", "text/xml; charset=utf-16",
                                        "application/atom+xml"};
    const char *ct = types[data[0] & 3];
    fz_check(ct, NULL, data + 1, size - 1, data[0]);
    return 0;
}
