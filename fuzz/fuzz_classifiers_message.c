/* fuzz/fuzz_classifiers_message.c — mail (message/rfc822): the header block,
 * encoded words, transfer encodings, multipart as mail writes it (preamble,
 * LF lines, folds, epilogue), forwarded messages, mbox files; and the
 * same bytes sniffed (no content type: vCard and iCalendar files, whose
 * folded lines are unfolded, come this way too) and in base64 under a
 * JSON key, as SES's raw e-mail comes. Byte 0 picks the way in and seeds the splits: random splits
 * must give the same transcript as one call. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    switch (data[0] & 3) {
    case 0:
        fz_check("message/rfc822", NULL, data + 1, size - 1, data[0]);
        break;
    case 1:
        fz_check("application/mbox", NULL, data + 1, size - 1, data[0]);
        break;
    case 2:
        fz_check(NULL, NULL, data + 1, size - 1, data[0]);
        break;
    default: {
        /* {"Data":"<base64>"} */
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = size - 1, k = 9;
        uint8_t *j = malloc(4 * (n / 3 + 1) + 16);
        if (!j)
            return 0;
        memcpy(j, "{\"Data\":\"", 9);
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)data[1 + i] << 16 | (i + 1 < n ? (uint32_t)data[2 + i] << 8 : 0) |
                         (i + 2 < n ? data[3 + i] : 0);
            j[k++] = (uint8_t)b64[v >> 18];
            j[k++] = (uint8_t)b64[(v >> 12) & 63];
            j[k++] = i + 1 < n ? (uint8_t)b64[(v >> 6) & 63] : '=';
            j[k++] = i + 2 < n ? (uint8_t)b64[v & 63] : '=';
        }
        memcpy(j + k, "\"}", 2);
        fz_check("application/json", NULL, j, k + 2, data[0]);
        free(j);
        break;
    }
    }
    return 0;
}
