#include "CImageKernels.h"
#include "internal.h"
#ifdef CIK_X86
#include <immintrin.h>
#endif

// Horizontal sums of k samples `cn` apart (k ≤ 257, so they fit UInt16).
CIK_INLINE void box_h(const uint8_t *restrict p, uint16_t *restrict h, int len, int cn, const int k) {
#pragma clang loop vectorize(assume_safety)
    for (int j = 0; j < len; j++) {
        uint16_t s = 0;
        for (int i = 0; i < k; i++) s = (uint16_t)(s + p[i * cn + j]);
        h[j] = s;
    }
}

CIK_INLINE void box_h_switch(const uint8_t *p, uint16_t *h, int len, int cn, int k) {
    switch (k) {
    case 3: box_h(p, h, len, cn, 3); break;
    case 5: box_h(p, h, len, cn, 5); break;
    case 7: box_h(p, h, len, cn, 7); break;
    case 9: box_h(p, h, len, cn, 9); break;
    case 11: box_h(p, h, len, cn, 11); break;
    case 13: box_h(p, h, len, cn, 13); break;
    case 15: box_h(p, h, len, cn, 15); break;
    default: {
        // running sum per channel
        for (int c = 0; c < cn; c++) {
            uint32_t s = 0;
            for (int i = 0; i < k; i++) s += p[i * cn + c];
            for (int j = c; j < len; j += cn) {
                h[j] = (uint16_t)s;
                s += (uint32_t)p[j + k * cn] - p[j];
            }
        }
        break;
    }
    }
}

// out = round(sum / d) for sums below 2^24: float reciprocal, then one correction step each way.
CIK_INLINE void box_v(uint32_t *restrict col, const uint16_t *restrict add, const uint16_t *restrict sub,
                      uint8_t *restrict out, int len, uint32_t d, int update) {
    const uint32_t half = d / 2;
    const float inv = 1.0f / (float)d;
    if (update) {
#pragma clang loop vectorize(assume_safety)
        for (int j = 0; j < len; j++) col[j] = col[j] + add[j] - sub[j];
    }
#pragma clang loop vectorize(assume_safety)
    for (int j = 0; j < len; j++) {
        uint32_t v = col[j] + half;
        int32_t q = (int32_t)((float)(int32_t)v * inv);
        q += ((uint32_t)(q + 1) * d <= v) ? 1 : 0;
        q -= ((uint32_t)q * d > v) ? 1 : 0;
        out[j] = (uint8_t)q;
    }
}

// k ≤ 15: sums fit UInt16 (k²·255 + k²/2 < 2^16) and out = ((v · m) >> 16) >> shift with a
// multiplier checked exhaustively for every reachable v, so everything runs in 16-bit lanes.
// Vertical first: running column sums straight from the source rows, then k column sums across.
CIK_INLINE void box_h16(const uint16_t *restrict colpad, uint8_t *restrict out, int len, int cn, const int k,
                        uint16_t half, uint16_t m, int shift) {
#pragma clang loop vectorize(assume_safety)
    for (int j = 0; j < len; j++) {
        uint16_t v = half;
#pragma clang loop unroll(full)
        for (int i = 0; i < k; i++) v = (uint16_t)(v + colpad[i * cn + j]);
        uint16_t hi = (uint16_t)(((uint32_t)v * m) >> 16);
        out[j] = (uint8_t)(hi >> shift);
    }
}

#ifdef CIK_X86
// The horizontal pass with the division kept in 16-bit lanes: a multiply-high and a shift. Written
// with intrinsics because, from plain C, the compiler widens the multiply-high to 32-bit lanes
// when a shift follows it (a third of the filter's time). Same results as box_h16.
#define CIK_BOX_H16_SIMD(NAME, TARGET, VEC, WIDTH, LOADU, STOREU, SET1, ADD, MULHI, SRL, PACK)                     \
    TARGET static void NAME(const uint16_t *restrict colpad, uint8_t *restrict out, int len, int cn, int k,            \
                            uint16_t half, uint16_t m, int shift) {                                                  \
        const VEC vhalf = SET1((short)half), vm = SET1((short)m);                                                    \
        const __m128i count = _mm_cvtsi32_si128(shift);                                                              \
        int j = 0;                                                                                                   \
        for (; j + 2 * WIDTH <= len; j += 2 * WIDTH) {                                                               \
            VEC a = vhalf, b = vhalf;                                                                                \
            for (int i = 0; i < k; i++) {                                                                            \
                a = ADD(a, LOADU((const VEC *)(colpad + (size_t)i * cn + j)));                                       \
                b = ADD(b, LOADU((const VEC *)(colpad + (size_t)i * cn + j + WIDTH)));                               \
            }                                                                                                        \
            STOREU((VEC *)(out + j), PACK(SRL(MULHI(a, vm), count), SRL(MULHI(b, vm), count)));                      \
        }                                                                                                            \
        /* The last pixels of the row, one at a time (box_h16 wants a constant k). */                              \
        for (; j < len; j++) {                                                                                       \
            uint16_t v = half;                                                                                       \
            for (int i = 0; i < k; i++) v = (uint16_t)(v + colpad[(size_t)i * cn + j]);                              \
            out[j] = (uint8_t)((uint16_t)(((uint32_t)v * m) >> 16) >> shift);                                        \
        }                                                                                                            \
    }

// AVX2's 16→8-bit pack works within 128-bit halves: put the quarters back in order.
#define CIK_PACK_AVX2(a, b) _mm256_permute4x64_epi64(_mm256_packus_epi16(a, b), 0xD8)
CIK_BOX_H16_SIMD(box_h16_avx2, CIK_AVX2, __m256i, 16, _mm256_loadu_si256, _mm256_storeu_si256, _mm256_set1_epi16,
                 _mm256_add_epi16, _mm256_mulhi_epu16, _mm256_srl_epi16, CIK_PACK_AVX2)
CIK_BOX_H16_SIMD(box_h16_sse2, , __m128i, 8, _mm_loadu_si128, _mm_storeu_si128, _mm_set1_epi16, _mm_add_epi16,
                 _mm_mulhi_epu16, _mm_srl_epi16, _mm_packus_epi16)
#undef CIK_PACK_AVX2
#undef CIK_BOX_H16_SIMD
#endif

/// Finds m < 2^16 and shift with ((v·m) >> 16) >> shift == v / d for every v ≤ vmax.
static int box_magic(uint32_t d, uint32_t vmax, uint16_t *m_out, int *shift_out) {
    for (int shift = 0; shift < 16; shift++) {
        uint64_t m = (((uint64_t)1 << (16 + shift)) + d - 1) / d;
        if (m >= 65536) break;
        int ok = 1;
        for (uint32_t v = 0; v <= vmax && ok; v++)
            if (((((uint32_t)v * (uint32_t)m) >> 16) >> shift) != v / d) ok = 0;
        if (ok) {
            *m_out = (uint16_t)m;
            *shift_out = shift;
            return 1;
        }
    }
    return 0;
}

CIK_INLINE int box16_impl(const uint8_t *src, uint8_t *dst, int width, int height, int cn, int k,
                          uint16_t m, int shift, int avx2) {
    const int r = k / 2;
    const size_t len = (size_t)width * cn;
    const uint16_t half = (uint16_t)((k * k) / 2);
    uint16_t *colpad = calloc(((size_t)width + 2 * (size_t)r) * cn, sizeof(uint16_t));
    if (!colpad) return -1;
    uint16_t *restrict col = colpad + (size_t)r * cn;
    for (int i = -r; i <= r; i++) {
        const uint8_t *row = src + (size_t)cik_reflect101(i, height) * len;
        for (size_t j = 0; j < len; j++) col[j] = (uint16_t)(col[j] + row[j]);
    }
    for (int y = 0; y < height; y++) {
        if (y > 0) {
            const uint8_t *restrict add = src + (size_t)cik_reflect101(y + r, height) * len;
            const uint8_t *restrict sub = src + (size_t)cik_reflect101(y - r - 1, height) * len;
#pragma clang loop vectorize(assume_safety)
            for (size_t j = 0; j < len; j++) col[j] = (uint16_t)(col[j] + add[j] - sub[j]);
        }
        for (int i = 0; i < r; i++) {
            int left = cik_reflect101(i - r, width), right = cik_reflect101(width + i, width);
            for (int c = 0; c < cn; c++) {
                colpad[(size_t)i * cn + c] = col[(size_t)left * cn + c];
                colpad[(size_t)(r + width + i) * cn + c] = col[(size_t)right * cn + c];
            }
        }
        uint8_t *out = dst + (size_t)y * len;
#ifdef CIK_X86
        if (avx2) box_h16_avx2(colpad, out, (int)len, cn, k, half, m, shift);
        else box_h16_sse2(colpad, out, (int)len, cn, k, half, m, shift);
#else
        (void)avx2;
        switch (k) {
        case 3: box_h16(colpad, out, (int)len, cn, 3, half, m, shift); break;
        case 5: box_h16(colpad, out, (int)len, cn, 5, half, m, shift); break;
        case 7: box_h16(colpad, out, (int)len, cn, 7, half, m, shift); break;
        case 9: box_h16(colpad, out, (int)len, cn, 9, half, m, shift); break;
        case 11: box_h16(colpad, out, (int)len, cn, 11, half, m, shift); break;
        case 13: box_h16(colpad, out, (int)len, cn, 13, half, m, shift); break;
        default: box_h16(colpad, out, (int)len, cn, 15, half, m, shift); break;
        }
#endif
    }
    free(colpad);
    return 0;
}

// Each clone tells box16_impl which horizontal pass it may call.
CIK_DISPATCH_TOLD(int, box16_run,
                  (const uint8_t *src, uint8_t *dst, int width, int height, int cn, int k, uint16_t m, int shift),
                  box16_impl, (src, dst, width, height, cn, k, m, shift))

CIK_INLINE int box_impl(const uint8_t *src, uint8_t *dst, int width, int height, int cn, int k) {
    const int r = k / 2;
    const int slots = k + 1;
    const size_t len = (size_t)width * cn;
    const uint32_t d = (uint32_t)k * (uint32_t)k;
    uint8_t *pad = malloc(((size_t)width + 2 * (size_t)r + 1) * cn);
    uint16_t *ring = malloc(len * (size_t)slots * sizeof(uint16_t));
    uint32_t *col = calloc(len, sizeof(uint32_t));
    if (!pad || !ring || !col) {
        free(pad); free(ring); free(col);
        return -1;
    }
    memset(pad, 0, ((size_t)width + 2 * (size_t)r + 1) * cn);
    int computed = 0;
    for (int y = 0; y < height; y++) {
        int need = y + r < height - 1 ? y + r : height - 1;
        while (computed <= need) {
            cik_pad_row(src + (size_t)computed * len, pad, width, cn, r);
            box_h_switch(pad, ring + (size_t)(computed % slots) * len, (int)len, cn, k);
            computed++;
        }
        if (y == 0) {
            for (int i = -r; i <= r; i++) {
                const uint16_t *h = ring + (size_t)(cik_reflect101(i, height) % slots) * len;
                for (size_t j = 0; j < len; j++) col[j] += h[j];
            }
            box_v(col, NULL, NULL, dst, (int)len, d, 0);
        } else {
            const uint16_t *add = ring + (size_t)(cik_reflect101(y + r, height) % slots) * len;
            const uint16_t *sub = ring + (size_t)(cik_reflect101(y - r - 1, height) % slots) * len;
            box_v(col, add, sub, dst + (size_t)y * len, (int)len, d, 1);
        }
    }
    free(pad); free(ring); free(col);
    return 0;
}

CIK_DISPATCH(int, box_run, (const uint8_t *src, uint8_t *dst, int width, int height, int cn, int k), box_impl,
             (src, dst, width, height, cn, k))

int CImageKernels_box(const uint8_t *src, uint8_t *dst, int width, int height, int channels, int k) {
    if (k < 1 || (k & 1) == 0 || k > 255) return -1;
    if (k == 1) {
        memcpy(dst, src, (size_t)width * height * channels);
        return 0;
    }
    if (k <= 15) {
        static _Atomic uint32_t magic[16];  // (m << 8 | shift) + 1 per k, 0 = not computed yet
        uint32_t cached = magic[k];
        if (cached == 0) {
            uint16_t m = 0;
            int shift = 0;
            uint32_t d = (uint32_t)(k * k);
            cached = box_magic(d, d * 255 + d / 2, &m, &shift) ? (((uint32_t)m << 8) | (uint32_t)shift) + 1 : 1;
            magic[k] = cached;
        }
        if (cached > 1) {
            uint32_t value = cached - 1;
            return box16_run(src, dst, width, height, channels, k, (uint16_t)(value >> 8), (int)(value & 0xFF));
        }
    }
    return box_run(src, dst, width, height, channels, k);
}
