/* classifiers/prefilter.c — stage 1, the byte-class trigger scan: find the
 * next ASCII digit or '@'. Most of a prompt body is words, so the common
 * path is a few SIMD compares per 32 bytes with no branch taken. The AVX2
 * variant is chosen at run time; SSE2 is the x86-64 baseline. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "classifiers/engine.h"

size_t cls_find_trigger_scalar(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)(p[i] - '0') < 10 || p[i] == '@')
            return i;
    return n;
}

void cls_trigger_bits_scalar(const uint8_t *p, size_t n, uint64_t *out)
{
    memset(out, 0, (n + 63) / 64 * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)(p[i] - '0') < 10 || p[i] == '@')
            out[i / 64] |= 1ull << (i % 64);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

size_t cls_find_trigger_sse2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    const __m128i zero = _mm_set1_epi8('0');
    const __m128i nine = _mm_set1_epi8(9);
    const __m128i at = _mm_set1_epi8('@');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i d = _mm_sub_epi8(v, zero);
        __m128i isd = _mm_cmpeq_epi8(_mm_min_epu8(d, nine), d);
        __m128i m = _mm_or_si128(isd, _mm_cmpeq_epi8(v, at));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
    if (i < n && n >= 16) {
        /* the last 16 bytes, overlapping: bits below i dropped */
        size_t o = n - 16;
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + o));
        __m128i d = _mm_sub_epi8(v, zero);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d), _mm_cmpeq_epi8(v, at));
        unsigned mask = (unsigned)_mm_movemask_epi8(m) >> (i - o);
        return mask ? i + (size_t)__builtin_ctz(mask) : n;
    }
    return i + cls_find_trigger_scalar(p + i, n - i);
}

__attribute__((target("avx2"))) size_t cls_find_trigger_avx2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    const __m256i zero = _mm256_set1_epi8('0');
    const __m256i nine = _mm256_set1_epi8(9);
    const __m256i at = _mm256_set1_epi8('@');
    for (; i + 64 <= n; i += 64) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
        __m256i d0 = _mm256_sub_epi8(v0, zero);
        __m256i d1 = _mm256_sub_epi8(v1, zero);
        __m256i m0 = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d0, nine), d0),
                                     _mm256_cmpeq_epi8(v0, at));
        __m256i m1 = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d1, nine), d1),
                                     _mm256_cmpeq_epi8(v1, at));
        if (!_mm256_testz_si256(_mm256_or_si256(m0, m1), _mm256_or_si256(m0, m1))) {
            uint64_t mask = (uint32_t)_mm256_movemask_epi8(m0) |
                            ((uint64_t)(uint32_t)_mm256_movemask_epi8(m1) << 32);
            return i + (size_t)__builtin_ctzll(mask);
        }
    }
    for (; i + 32 <= n; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i d = _mm256_sub_epi8(v, zero);
        __m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d, nine), d),
                                    _mm256_cmpeq_epi8(v, at));
        unsigned mask = (unsigned)_mm256_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
    if (i >= n)
        return n;
    if (n >= 32) {
        /* the last 32 bytes, overlapping what was already checked: bits
           below i are dropped, so no byte is read outside p[0, n) */
        size_t o = n - 32;
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + o));
        __m256i d = _mm256_sub_epi8(v, zero);
        __m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d, nine), d),
                                    _mm256_cmpeq_epi8(v, at));
        unsigned mask = (unsigned)_mm256_movemask_epi8(m) >> (i - o);
        return mask ? i + (size_t)__builtin_ctz(mask) : n;
    }
    if (n >= 16) {
        /* 16..31 bytes: two overlapping 16-byte loads (VEX-encoded here, no
           call into the legacy-SSE function) */
        const __m128i z = _mm_set1_epi8('0'), nn = _mm_set1_epi8(9), a = _mm_set1_epi8('@');
        __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
        __m128i d0 = _mm_sub_epi8(v0, z), d1 = _mm_sub_epi8(v1, z);
        unsigned m0 = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d0, nn), d0), _mm_cmpeq_epi8(v0, a)));
        unsigned m1 = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d1, nn), d1), _mm_cmpeq_epi8(v1, a)));
        if (m0)
            return (size_t)__builtin_ctz(m0);
        return m1 ? n - 16 + (size_t)__builtin_ctz(m1) : n;
    }
    if (n >= 4) {
        /* 4..15 bytes (JSON numbers, short strings): the first and the last
           8 (or 4) bytes, overlapping, in one register */
        uint64_t a = 0, b = 0;
        size_t w;
        if (n >= 8) {
            w = 8;
            memcpy(&a, p, 8);
            memcpy(&b, p + n - 8, 8);
        } else {
            uint32_t a4, b4;
            w = 4;
            memcpy(&a4, p, 4);
            memcpy(&b4, p + n - 4, 4);
            a = a4;
            b = b4;
        }
        const __m128i z = _mm_set1_epi8('0'), nn = _mm_set1_epi8(9), a8 = _mm_set1_epi8('@');
        __m128i v = _mm_set_epi64x((long long)b, (long long)a);
        __m128i d = _mm_sub_epi8(v, z);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, nn), d), _mm_cmpeq_epi8(v, a8)));
        unsigned lo = m & ((1u << w) - 1), hi = (m >> 8) & ((1u << w) - 1);
        if (lo)
            return (size_t)__builtin_ctz(lo);
        return hi ? n - w + (size_t)__builtin_ctz(hi) : n;
    }
    return i + cls_find_trigger_scalar(p + i, n - i);
}

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

void (*cls_trigger_bits_select(void))(const uint8_t *, size_t, uint64_t *)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? cls_trigger_bits_avx2 : cls_trigger_bits_sse2;
}

const char *cls_simd_select(size_t (**fn)(const uint8_t *, size_t))
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        *fn = cls_find_trigger_avx2;
        return "avx2";
    }
    *fn = cls_find_trigger_sse2;
    return "sse2";
}
#else
size_t cls_find_trigger_sse2(const uint8_t *p, size_t n)
{
    return cls_find_trigger_scalar(p, n);
}

size_t cls_find_trigger_avx2(const uint8_t *p, size_t n)
{
    return cls_find_trigger_scalar(p, n);
}

const char *cls_simd_select(size_t (**fn)(const uint8_t *, size_t))
{
    *fn = cls_find_trigger_scalar;
    return "scalar";
}

void cls_trigger_bits_sse2(const uint8_t *p, size_t n, uint64_t *out)
{
    cls_trigger_bits_scalar(p, n, out);
}

void cls_trigger_bits_avx2(const uint8_t *p, size_t n, uint64_t *out)
{
    cls_trigger_bits_scalar(p, n, out);
}

void (*cls_trigger_bits_select(void))(const uint8_t *, size_t, uint64_t *)
{
    return cls_trigger_bits_scalar;
}
#endif
