/* classifiers/prefilter.c — stage 1, the byte-class trigger map: one bit
 * per byte that is an ASCII digit or '@', for a whole batch (or slice) of
 * text at once, 64 bytes a step. The scanner then takes the next set bit
 * instead of searching byte by byte for each trigger (one per ~95 bytes
 * of prose: a search per trigger was mostly call and mispredicted exit).
 * The AVX-512BW or AVX2 variant is chosen at run time; SSE2 is the x86-64
 * baseline. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "classifiers/engine.h"

void cls_trigger_bits_scalar(const uint8_t *p, size_t n, uint64_t *out)
{
    memset(out, 0, (n + 63) / 64 * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)(p[i] - '0') < 10 || p[i] == '@')
            out[i / 64] |= 1ull << (i % 64);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2"))) static inline uint64_t trigger_mask64_avx2(const uint8_t *q)
{
    const __m256i zero = _mm256_set1_epi8('0'), nine = _mm256_set1_epi8(9), at = _mm256_set1_epi8('@');
    __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)q);
    __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(q + 32));
    __m256i d0 = _mm256_sub_epi8(v0, zero), d1 = _mm256_sub_epi8(v1, zero);
    __m256i m0 = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d0, nine), d0), _mm256_cmpeq_epi8(v0, at));
    __m256i m1 = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d1, nine), d1), _mm256_cmpeq_epi8(v1, at));
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(m0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(m1) << 32;
}

/* 64 bytes a step, one mask word each; the tail (under 64 bytes) from a
   zeroed copy, so that nothing past p + n is read */
__attribute__((target("avx2"))) void cls_trigger_bits_avx2(const uint8_t *p, size_t n, uint64_t *out)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        out[i / 64] = trigger_mask64_avx2(p + i);
    if (i < n) {
        uint8_t tail[64] = {0};
        memcpy(tail, p + i, n - i);
        out[i / 64] = trigger_mask64_avx2(tail);
    }
}

/* AVX-512BW: the tests straight into a mask; the tail (under 64 bytes) a
   masked load, which reads nothing past p + n */
__attribute__((target("avx512f,avx512bw,bmi2"))) void cls_trigger_bits_avx512(const uint8_t *p, size_t n,
                                                                               uint64_t *out)
{
    const __m512i zero = _mm512_set1_epi8('0'), nine = _mm512_set1_epi8(9), at = _mm512_set1_epi8('@');
    for (size_t i = 0; i < n; i += 64) {
        __m512i v = n - i >= 64 ? _mm512_loadu_si512((const void *)(p + i))
                                : _mm512_maskz_loadu_epi8(_bzhi_u64(~0ull, (unsigned)(n - i)), p + i);
        out[i / 64] = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, zero), nine) | _mm512_cmpeq_epi8_mask(v, at);
    }
}

void cls_trigger_bits_sse2(const uint8_t *p, size_t n, uint64_t *out)
{
    const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9), at = _mm_set1_epi8('@');
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint64_t m = 0;
        for (unsigned k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16 * k));
            __m128i d = _mm_sub_epi8(v, zero);
            __m128i t = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d), _mm_cmpeq_epi8(v, at));
            m |= (uint64_t)(uint32_t)_mm_movemask_epi8(t) << (16 * k);
        }
        out[i / 64] = m;
    }
    if (i < n)
        cls_trigger_bits_scalar(p + i, n - i, out + i / 64);
}

const char *cls_simd_select(void (**fn)(const uint8_t *, size_t, uint64_t *))
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("bmi2")) {
        *fn = cls_trigger_bits_avx512;
        return "avx512";
    }
    if (__builtin_cpu_supports("avx2")) {
        *fn = cls_trigger_bits_avx2;
        return "avx2";
    }
    *fn = cls_trigger_bits_sse2;
    return "sse2";
}
#else
void cls_trigger_bits_sse2(const uint8_t *p, size_t n, uint64_t *out)
{
    cls_trigger_bits_scalar(p, n, out);
}

void cls_trigger_bits_avx2(const uint8_t *p, size_t n, uint64_t *out)
{
    cls_trigger_bits_scalar(p, n, out);
}

void cls_trigger_bits_avx512(const uint8_t *p, size_t n, uint64_t *out)
{
    cls_trigger_bits_scalar(p, n, out);
}

const char *cls_simd_select(void (**fn)(const uint8_t *, size_t, uint64_t *))
{
    *fn = cls_trigger_bits_scalar;
    return "scalar";
}
#endif
