/* fuzz/fuzz_classifiers_eventstream.c — the AWS event-stream decoder (CRCs,
 * headers, nested payload decoders): random splits must give the same
 * transcript as one call. Byte 0 seeds the splits; when its low bit is set
 * the harness first rewrites both CRCs of every message so that mutations
 * reach the header and payload code instead of failing the CRC check. */
#include <zlib.h>

#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put32(uint8_t *o, uint32_t v)
{
    o[0] = (uint8_t)(v >> 24);
    o[1] = (uint8_t)(v >> 16);
    o[2] = (uint8_t)(v >> 8);
    o[3] = (uint8_t)v;
}

static void fix_crcs(uint8_t *p, size_t n)
{
    size_t o = 0;
    while (n - o >= 16) {
        uint32_t total =
            (uint32_t)p[o] << 24 | (uint32_t)p[o + 1] << 16 | (uint32_t)p[o + 2] << 8 | p[o + 3];
        if (total < 16 || total > n - o)
            return;
        put32(p + o + 8, (uint32_t)crc32(0, p + o, 8));
        put32(p + o + total - 4, (uint32_t)crc32(0, p + o, total - 4));
        o += total;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    if (data[0] & 1)
        fix_crcs(buf, size - 1);
    fz_check("application/vnd.amazon.eventstream", NULL, buf, size - 1, data[0]);
    free(buf);
    return 0;
}
