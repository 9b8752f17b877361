#include "CImageKernels.h"
#include "internal.h"

CIK_INLINE void gray_impl(const uint8_t *restrict src, uint8_t *restrict dst, size_t count, int channels) {
    if (channels == 3) {
        for (size_t i = 0; i < count; i++) {
            uint32_t v = 9798u * src[3 * i] + 19235u * src[3 * i + 1] + 3735u * src[3 * i + 2] + 16384u;
            dst[i] = (uint8_t)(v >> 15);
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            uint32_t v = 9798u * src[4 * i] + 19235u * src[4 * i + 1] + 3735u * src[4 * i + 2] + 16384u;
            dst[i] = (uint8_t)(v >> 15);
        }
    }
}

CIK_DISPATCH(void, gray_run, (const uint8_t *src, uint8_t *dst, size_t count, int channels), gray_impl,
             (src, dst, count, channels))

void CImageKernels_grayscale(const uint8_t *src, uint8_t *dst, size_t count, int channels) {
    gray_run(src, dst, count, channels);
}
