/* fuzz/fuzz_classifiers_xml.c — the streaming XML decoder: random splits
 * must give the same transcript as one call; no crash, no leak, no empty
 * data call. The first byte seeds the split points and picks the way in:
 * declared XML, XML or HTML sent as text ("<?xml", "<html" sniffed),
 * UTF-16 XML, or declared HTML. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const types[] = {"application/xml", "text/plain", "text/xml; charset=utf-16",
                                        "text/html"};
    const char *ct = types[data[0] & 3];
    fz_check(ct, NULL, data + 1, size - 1, data[0]);
    return 0;
}
