/* fuzz/fuzz_classifiers_ole.c — OLE2 compound files (Word and Excel 97-2003):
 * the FAT, directory tree, mini stream, Word piece tables, BIFF records:
 * random splits must give the same transcript as one call; no crash, no
 * leak, no empty data call. The first byte seeds the split points and
 * picks the way in: declared Word, or sniffed. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fz_check((data[0] & 1) ? NULL : "application/msword", NULL, data + 1, size - 1, data[0]);
    return 0;
}
