/* fuzz/fuzz_classifiers_xlsx.c — an xlsx workbook's parts as the zip
 * decoder holds and reads them (decode_xlsx.c: the shared strings and the
 * styles; decode_xml.c: a worksheet's cells shown through them, tables):
 * random splits must give the same transcript as one call; no crash, no
 * leak, no empty data call.
 *
 * The input is three parts apart by "\n--\n" (a worksheet, the shared
 * strings, the styles), put into a stored zip under their names in an
 * order the first byte picks (held worksheets or not); the first byte
 * also seeds the split points. */
#include <string.h>

#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t put_entry(uint8_t *z, size_t at, const char *name, const uint8_t *p, size_t n)
{
    size_t nl = strlen(name);
    uint8_t *h = z + at;
    memset(h, 0, 30);
    memcpy(h, "PK\x03\x04", 4);
    h[4] = 20;
    for (int k = 0; k < 4; k++)
        h[18 + k] = h[22 + k] = (uint8_t)(n >> (8 * k));
    h[26] = (uint8_t)nl;
    memcpy(h + 30, name, nl);
    memcpy(h + 30 + nl, p, n);
    return at + 30 + nl + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[3] = {"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/styles.xml"};
    static const uint8_t orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    if (size < 1 || size > 200000)
        return 0;
    const uint8_t *part[3] = {data + 1, NULL, NULL};
    size_t len[3] = {size - 1, 0, 0};
    for (int k = 1; k < 3; k++) {
        const uint8_t *s = memmem(part[k - 1], len[k - 1], "\n--\n", 4);
        if (!s)
            break;
        part[k] = s + 4;
        len[k] = (size_t)(part[k - 1] + len[k - 1] - part[k]);
        len[k - 1] = (size_t)(s - part[k - 1]);
    }
    uint8_t *z = malloc(size + 3 * 64 + 64);
    if (!z)
        return 0;
    size_t n = 0;
    const uint8_t *ord = orders[data[0] % 6];
    for (int k = 0; k < 3; k++)
        if (part[ord[k]])
            n = put_entry(z, n, names[ord[k]], part[ord[k]], len[ord[k]]);
    memcpy(z + n, "PK\x05\x06", 4); /* (the end record: the workbook's end) */
    n += 4;
    fz_check("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", NULL, z, n, data[0]);
    free(z);
    return 0;
}
