#include "CImageKernels.h"
#include "internal.h"

CIK_INLINE uint8_t sharpen_clamp(int v) { return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

CIK_INLINE int sharpen_impl(const uint8_t *src, uint8_t *dst, int width, int height, int cn) {
    const size_t len = (size_t)width * cn;
    for (int y = 0; y < height; y++) {
        const uint8_t *restrict u = src + (size_t)cik_reflect101(y - 1, height) * len;
        const uint8_t *restrict c = src + (size_t)y * len;
        const uint8_t *restrict d = src + (size_t)cik_reflect101(y + 1, height) * len;
        uint8_t *restrict o = dst + (size_t)y * len;
        // interior columns 1 ... width-2
        const int end = (int)len - cn;
#pragma clang loop vectorize(assume_safety)
        for (int j = cn; j < end; j++) {
            int16_t v = (int16_t)(5 * c[j] - c[j - cn] - c[j + cn] - u[j] - d[j]);
            v = v < 0 ? 0 : v;
            v = v > 255 ? 255 : v;
            o[j] = (uint8_t)v;
        }
        // first and last columns
        const int xs[2] = {0, width - 1};
        for (int e = 0; e < (width > 1 ? 2 : 1); e++) {
            int x = xs[e];
            int xl = cik_reflect101(x - 1, width), xr = cik_reflect101(x + 1, width);
            for (int ch = 0; ch < cn; ch++) {
                size_t j = (size_t)x * cn + ch;
                int v = 5 * c[j] - c[(size_t)xl * cn + ch] - c[(size_t)xr * cn + ch] - u[j] - d[j];
                o[j] = sharpen_clamp(v);
            }
        }
    }
    return 0;
}

CIK_DISPATCH(int, sharpen_run, (const uint8_t *src, uint8_t *dst, int width, int height, int cn), sharpen_impl,
             (src, dst, width, height, cn))

int CImageKernels_sharpen(const uint8_t *src, uint8_t *dst, int width, int height, int channels) {
    return sharpen_run(src, dst, width, height, channels);
}
