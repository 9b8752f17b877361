#include "CImageKernels.h"
#include "internal.h"

// Vertical pair sums first (contiguous, vectorises in 16-bit lanes), then horizontal pairs
// `cn` samples apart: h[j] = v[j] + v[j + cn] for every j, and every other pixel of h is kept.
CIK_INLINE int halve_impl(const uint8_t *src, uint8_t *dst, int width, int height, int cn) {
    const int dw = width / 2, dh = height / 2;
    const size_t sstride = (size_t)width * cn, dstride = (size_t)dw * cn, used = 2 * dstride;
    uint16_t *v = malloc((used + (size_t)cn) * sizeof(uint16_t));
    uint8_t *h = malloc(used);
    if (!v || !h) { free(v); free(h); return -1; }
    memset(v + used, 0, (size_t)cn * sizeof(uint16_t));
    for (int y = 0; y < dh; y++) {
        const uint8_t *restrict a = src + (size_t)(2 * y) * sstride;
        const uint8_t *restrict b = a + sstride;
        uint8_t *restrict o = dst + (size_t)y * dstride;
#pragma clang loop vectorize(assume_safety)
        for (size_t j = 0; j < used; j++) v[j] = (uint16_t)(a[j] + b[j]);
#pragma clang loop vectorize(assume_safety)
        for (size_t j = 0; j < used; j++) h[j] = (uint8_t)((v[j] + v[j + (size_t)cn] + 2) >> 2);
        if (cn == 1) {
            for (int x = 0; x < dw; x++) o[x] = h[2 * x];
        } else if (cn == 3) {
            for (int x = 0; x < dw; x++) {
                o[3 * x] = h[6 * x];
                o[3 * x + 1] = h[6 * x + 1];
                o[3 * x + 2] = h[6 * x + 2];
            }
        } else {
            for (int x = 0; x < dw; x++) memcpy(o + 4 * x, h + 8 * x, 4);
        }
    }
    free(v); free(h);
    return 0;
}

CIK_DISPATCH(int, halve_run, (const uint8_t *src, uint8_t *dst, int width, int height, int cn), halve_impl,
             (src, dst, width, height, cn))

int CImageKernels_halve(const uint8_t *src, uint8_t *dst, int width, int height, int channels) {
    return halve_run(src, dst, width, height, channels);
}
