#include "CImageKernels.h"
#include "internal.h"

// Every float operation below is one of OpenCV's, in its order (ResizeArea_Invoker<uchar, float>):
// no contraction into fused multiply-adds, which would round differently.
#pragma STDC FP_CONTRACT OFF

// buf[dx·cn + c] = Σ_k S[(xofs[dx·K + k])·cn + c] · xalpha[dx·K + k], summed in table order from
// 0 as OpenCV's `buf[dxn] += S[sxn]*alpha`. The padding taps (weight 0) add +0: no change.
CIK_INLINE void area_row(const uint8_t *restrict s, float *restrict buf, int dw, int cn, const int32_t *restrict xofs,
                         const float *restrict xalpha, int taps) {
    for (int dx = 0; dx < dw; dx++) {
        const int32_t *restrict o = xofs + (size_t)dx * taps;
        const float *restrict a = xalpha + (size_t)dx * taps;
        for (int c = 0; c < cn; c++) {
            float acc = 0.0f;
            for (int k = 0; k < taps; k++) acc = acc + (float)s[(size_t)o[k] * cn + c] * a[k];
            buf[(size_t)dx * cn + c] = acc;
        }
    }
}

// Constant channel and tap counts, so that the inner loops unroll into straight code.
CIK_INLINE void area_row_dispatch(const uint8_t *s, float *buf, int dw, int cn, const int32_t *xofs,
                                  const float *xalpha, int taps) {
#define AREA_CASE(CN, K) \
    if (cn == CN && taps == K) { area_row(s, buf, dw, CN, xofs, xalpha, K); return; }
    AREA_CASE(1, 2) AREA_CASE(1, 3) AREA_CASE(1, 4)
    AREA_CASE(3, 2) AREA_CASE(3, 3) AREA_CASE(3, 4)
    AREA_CASE(4, 2) AREA_CASE(4, 3) AREA_CASE(4, 4)
#undef AREA_CASE
    area_row(s, buf, dw, cn, xofs, xalpha, taps);
}

// saturate_cast<uchar>(float): round half to even (cvRound), then clamp. The values are in
// [0, 2²²), where adding and subtracting 1.5·2²³ rounds to an integer in the current (nearest
// even) mode; this vectorises, lrintf would not on the baseline.
CIK_INLINE void area_store(const float *restrict sum, uint8_t *restrict d, size_t n) {
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < n; i++) {
        float r = (sum[i] + 12582912.0f) - 12582912.0f;
        int v = (int)r;
        d[i] = (uint8_t)(v > 255 ? 255 : (v < 0 ? 0 : v));
    }
}

CIK_INLINE int area_impl(const uint8_t *src, uint8_t *dst, int swidth, int dwidth, int cn, const int32_t *xofs,
                         const float *xalpha, int taps, const int32_t *ysrc, const int32_t *ydst, const float *ybeta,
                         int ycount) {
    const size_t n = (size_t)dwidth * cn, sstride = (size_t)swidth * cn;
    float *buf = malloc(2 * n * sizeof(float));
    if (!buf) return -1;
    float *sum = buf + n;
    for (size_t i = 0; i < n; i++) sum[i] = 0.0f;
    int cached = -1, prev = ycount > 0 ? ydst[0] : 0;
    for (int j = 0; j < ycount; j++) {
        const int sy = ysrc[j], dy = ydst[j];
        const float beta = ybeta[j];
        // a source row on the boundary of two output rows comes twice in a row: same buf
        if (sy != cached) {
            area_row_dispatch(src + (size_t)sy * sstride, buf, dwidth, cn, xofs, xalpha, taps);
            cached = sy;
        }
        if (dy != prev) {
            area_store(sum, dst + (size_t)prev * n, n);
#pragma clang loop vectorize(assume_safety)
            for (size_t i = 0; i < n; i++) sum[i] = beta * buf[i];
            prev = dy;
        } else {
#pragma clang loop vectorize(assume_safety)
            for (size_t i = 0; i < n; i++) sum[i] = sum[i] + beta * buf[i];
        }
    }
    area_store(sum, dst + (size_t)prev * n, n);
    free(buf);
    return 0;
}

CIK_DISPATCH(int, area_run,
             (const uint8_t *src, uint8_t *dst, int swidth, int dwidth, int cn, const int32_t *xofs,
              const float *xalpha, int taps, const int32_t *ysrc, const int32_t *ydst, const float *ybeta, int ycount),
             area_impl, (src, dst, swidth, dwidth, cn, xofs, xalpha, taps, ysrc, ydst, ybeta, ycount))

int CImageKernels_resizeArea(const uint8_t *src, uint8_t *dst, int swidth, int dwidth, int channels,
                             const int32_t *xofs, const float *xalpha, int taps, const int32_t *ysrc,
                             const int32_t *ydst, const float *ybeta, int ycount) {
    return area_run(src, dst, swidth, dwidth, channels, xofs, xalpha, taps, ysrc, ydst, ybeta, ycount);
}
