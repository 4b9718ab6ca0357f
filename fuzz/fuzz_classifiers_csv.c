/* fuzz/fuzz_classifiers_csv.c — CSV and TSV: the delimiter chosen from the
 * first line, quoted cells with delimiters, line ends and doubled quotes,
 * cells under their column's header: random splits must give the same
 * transcript as one call; no crash, no leak, no empty data call. The first
 * byte seeds the split points and picks the type: CSV or TSV. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fz_check((data[0] & 1) ? "text/tab-separated-values" : "text/csv", NULL, data + 1, size - 1, data[0]);
    return 0;
}
