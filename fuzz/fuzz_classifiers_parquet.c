/* fuzz/fuzz_classifiers_parquet.c — the streaming Parquet reader (Thrift
 * compact page headers and metadata, pages told apart by their codec's
 * bytes, PLAIN byte arrays, the footer): random splits must give the same
 * transcript as one call; no crash, no leak, no empty data call. The first
 * byte seeds the split points and picks the way in: declared Parquet, or
 * sniffed. */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fz_check((data[0] & 1) ? NULL : "application/vnd.apache.parquet", NULL, data + 1, size - 1, data[0]);
    return 0;
}
