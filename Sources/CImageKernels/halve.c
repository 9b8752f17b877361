#include "CImageKernels.h"
#include "internal.h"

CIK_INLINE void halve_impl(const uint8_t *src, uint8_t *dst, int width, int height, int cn) {
    const int dw = width / 2, dh = height / 2;
    const size_t sstride = (size_t)width * cn, dstride = (size_t)dw * cn;
    for (int y = 0; y < dh; y++) {
        const uint8_t *restrict a = src + (size_t)(2 * y) * sstride;
        const uint8_t *restrict b = a + sstride;
        uint8_t *restrict o = dst + (size_t)y * dstride;
        if (cn == 1) {
            for (int x = 0; x < dw; x++)
                o[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
        } else if (cn == 3) {
            for (int x = 0; x < dw; x++)
                for (int c = 0; c < 3; c++)
                    o[3 * x + c] = (uint8_t)((a[6 * x + c] + a[6 * x + 3 + c] + b[6 * x + c] + b[6 * x + 3 + c] + 2) >> 2);
        } else {
            for (int x = 0; x < dw; x++)
                for (int c = 0; c < 4; c++)
                    o[4 * x + c] = (uint8_t)((a[8 * x + c] + a[8 * x + 4 + c] + b[8 * x + c] + b[8 * x + 4 + c] + 2) >> 2);
        }
    }
}

CIK_DISPATCH(void, halve_run, (const uint8_t *src, uint8_t *dst, int width, int height, int cn), halve_impl,
             (src, dst, width, height, cn))

void CImageKernels_halve(const uint8_t *src, uint8_t *dst, int width, int height, int channels) {
    halve_run(src, dst, width, height, channels);
}
