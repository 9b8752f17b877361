#include "CImageKernels.h"
#include "internal.h"

// Horizontal pass: h[j] = Σ q[i]·p[j + i·cn] for j in 0..<len. Fits UInt16 because the taps sum
// to 256 (Σ ≤ 255·256) and a non-centre tap is at most 128 (so q·(a+b) ≤ 65280).
CIK_INLINE void gauss_h(const uint8_t *restrict p, uint16_t *restrict h, int len, int cn,
                        const uint16_t *restrict q, const int n) {
    const int r = n / 2;
    uint16_t t[64];
    for (int i = 0; i <= r && i < 64; i++) t[i] = q[i];
#pragma clang loop vectorize(assume_safety)
    for (int j = 0; j < len; j++) {
        uint16_t s = (uint16_t)(t[r] * p[r * cn + j]);
#pragma clang loop unroll(full)
        for (int i = 0; i < r; i++)
            s = (uint16_t)(s + t[i] * (uint16_t)(p[i * cn + j] + p[(n - 1 - i) * cn + j]));
        h[j] = s;
    }
}

// Vertical pass: out[j] = (Σ q[i]·rows[i][j] + 32768) >> 16; never exceeds 255.
CIK_INLINE void gauss_v(const uint16_t *const *rows, uint8_t *restrict out, int len,
                        const uint16_t *restrict q, const int n) {
    const int r = n / 2;
    uint32_t t[64];
    const uint16_t *rp[129];
    for (int i = 0; i <= r && i < 64; i++) t[i] = q[i];
    for (int i = 0; i < n && i < 129; i++) rp[i] = rows[i];
#pragma clang loop vectorize(assume_safety)
    for (int j = 0; j < len; j++) {
        uint32_t s = t[r] * (uint32_t)rp[r][j];
#pragma clang loop unroll(full)
        for (int i = 0; i < r; i++) s += t[i] * ((uint32_t)rp[i][j] + rp[n - 1 - i][j]);
        out[j] = (uint8_t)((s + 32768u) >> 16);
    }
}

// Generic (slow) versions for kernels longer than the specialised sizes.
CIK_INLINE void gauss_h_any(const uint8_t *restrict p, uint16_t *restrict h, int len, int cn,
                            const uint16_t *restrict q, int n) {
    for (int j = 0; j < len; j++) {
        uint32_t s = 0;
        for (int i = 0; i < n; i++) s += (uint32_t)q[i] * p[i * cn + j];
        h[j] = (uint16_t)s;
    }
}

CIK_INLINE void gauss_v_any(const uint16_t *const *rows, uint8_t *restrict out, int len,
                            const uint16_t *restrict q, int n) {
    for (int j = 0; j < len; j++) {
        uint32_t s = 0;
        for (int i = 0; i < n; i++) s += (uint32_t)q[i] * rows[i][j];
        out[j] = (uint8_t)((s + 32768u) >> 16);
    }
}

#define GAUSS_CASES(X) X(1) X(3) X(5) X(7) X(9) X(11) X(13) X(15) X(17) X(19) X(21) X(23) X(25) X(27) X(29) X(31) X(33) X(35) X(37) X(39) X(41) X(43) X(45) X(47) X(49) X(51)

CIK_INLINE void gauss_h_switch(const uint8_t *p, uint16_t *h, int len, int cn, const uint16_t *q, int n) {
    switch (n) {
#define X(N) case N: gauss_h(p, h, len, cn, q, N); break;
        GAUSS_CASES(X)
#undef X
    default: gauss_h_any(p, h, len, cn, q, n); break;
    }
}

CIK_INLINE void gauss_v_switch(const uint16_t *const *rows, uint8_t *out, int len, const uint16_t *q, int n) {
    switch (n) {
#define X(N) case N: gauss_v(rows, out, len, q, N); break;
        GAUSS_CASES(X)
#undef X
    default: gauss_v_any(rows, out, len, q, n); break;
    }
}

CIK_INLINE int gauss_impl(const uint8_t *src, uint8_t *dst, int width, int height, int cn,
                          const uint16_t *taps, int n) {
    const int r = n / 2;
    const size_t len = (size_t)width * cn;
    uint8_t *pad = malloc(((size_t)width + 2 * (size_t)r) * cn);
    uint16_t *ring = malloc(len * (size_t)n * sizeof(uint16_t));
    const uint16_t **rows = malloc((size_t)n * sizeof(uint16_t *));
    if (!pad || !ring || !rows) {
        free(pad); free(ring); free(rows);
        return -1;
    }
    int computed = 0;  // source rows 0..<computed have their horizontal sums in the ring
    for (int y = 0; y < height; y++) {
        int need = y + r < height - 1 ? y + r : height - 1;
        while (computed <= need) {
            cik_pad_row(src + (size_t)computed * len, pad, width, cn, r);
            gauss_h_switch(pad, ring + (size_t)(computed % n) * len, (int)len, cn, taps, n);
            computed++;
        }
        for (int i = 0; i < n; i++) {
            int sy = cik_reflect101(y - r + i, height);
            rows[i] = ring + (size_t)(sy % n) * len;
        }
        gauss_v_switch(rows, dst + (size_t)y * len, (int)len, taps, n);
    }
    free(pad); free(ring); free(rows);
    return 0;
}

CIK_DISPATCH(int, gauss_run,
             (const uint8_t *src, uint8_t *dst, int width, int height, int cn, const uint16_t *taps, int n),
             gauss_impl, (src, dst, width, height, cn, taps, n))

int CImageKernels_gaussian(const uint8_t *src, uint8_t *dst, int width, int height, int channels,
                           const uint16_t *taps, int n) {
    if (n < 1 || (n & 1) == 0) return -1;
    return gauss_run(src, dst, width, height, channels, taps, n);
}
