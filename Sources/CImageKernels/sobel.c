#include "CImageKernels.h"
#include "internal.h"
#include <math.h>

#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt) && __has_builtin(__builtin_elementwise_roundeven)
#define CIK_SQRT(x) __builtin_elementwise_sqrt(x)
#define CIK_ROUNDEVEN(x) __builtin_elementwise_roundeven(x)
#endif
#endif
#ifndef CIK_SQRT
#define CIK_SQRT(x) sqrtf(x)
#define CIK_ROUNDEVEN(x) nearbyintf(x)
#endif

// gx² + gy² is an integer below 2^22, exact in Float; sqrtf is correctly rounded as OpenCV's
// v_sqrt, and convertScaleAbs rounds half to even.
CIK_INLINE uint8_t sobel_mag(int dx, int dy) {
    float f = CIK_ROUNDEVEN(CIK_SQRT((float)(dx * dx + dy * dy)));
    return (uint8_t)(f > 255.0f ? 255.0f : f);
}

CIK_INLINE int sobel_impl(const uint8_t *src, uint8_t *dst, int width, int height) {
    const size_t len = (size_t)width;
    for (int y = 0; y < height; y++) {
        const uint8_t *restrict u = src + (size_t)cik_reflect101(y - 1, height) * len;
        const uint8_t *restrict c = src + (size_t)y * len;
        const uint8_t *restrict d = src + (size_t)cik_reflect101(y + 1, height) * len;
        uint8_t *restrict o = dst + (size_t)y * len;
#pragma clang loop vectorize(assume_safety)
        for (int x = 1; x < width - 1; x++) {
            int dx = (u[x + 1] - u[x - 1]) + 2 * (c[x + 1] - c[x - 1]) + (d[x + 1] - d[x - 1]);
            int dy = (d[x - 1] + 2 * d[x] + d[x + 1]) - (u[x - 1] + 2 * u[x] + u[x + 1]);
            o[x] = sobel_mag(dx, dy);
        }
        const int xs[2] = {0, width - 1};
        for (int e = 0; e < (width > 1 ? 2 : 1); e++) {
            int x = xs[e];
            int l = cik_reflect101(x - 1, width), r = cik_reflect101(x + 1, width);
            int dx = (u[r] - u[l]) + 2 * (c[r] - c[l]) + (d[r] - d[l]);
            int dy = (d[l] + 2 * d[x] + d[r]) - (u[l] + 2 * u[x] + u[r]);
            o[x] = sobel_mag(dx, dy);
        }
    }
    return 0;
}

CIK_DISPATCH(int, sobel_run, (const uint8_t *src, uint8_t *dst, int width, int height), sobel_impl,
             (src, dst, width, height))

int CImageKernels_sobelMagnitude(const uint8_t *src, uint8_t *dst, int width, int height) {
    return sobel_run(src, dst, width, height);
}
