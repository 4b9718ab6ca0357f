/* fuzz/fuzz_classifiers_text.c — the text decoders and the text pipeline:
 * raw text (binary-signature check, lenient JSON), base64-run detection,
 * normalisation, UTF-16 (both byte orders, BOM detection), other
 * charsets through iconv (single-byte, multi-byte, stateful), form
 * urlencoding. Random splits must give the same transcript as one call.
 * Byte 0 picks the type and seeds the splits. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
    "text/plain",
    "text/plain; charset=utf-16",
    "text/plain; charset=utf-16le",
    "text/plain; charset=utf-16be",
    "application/x-www-form-urlencoded",
    "text/csv",
    NULL,
    "application/x-unknown",
    "text/plain; charset=shift_jis",
    "text/plain; charset=utf-7",
    "text/plain; charset=iso-2022-jp",
    "text/plain; charset=windows-1251",
    "application/json; charset=gb18030",
    "text/plain; charset=ibm037",
    "text/plain; charset=euc-kr",
    "text/plain; charset=big5",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fz_check(types[data[0] & 15], NULL, data + 1, size - 1, data[0]);
    return 0;
}
