#include "CImageKernels.h"
#include "internal.h"

// Sample-by-sample kernels. `src` may equal `dst` (in place): each sample is read before the
// same sample is written, so `assume_safety` holds for exact aliasing.

CIK_INLINE void threshold_impl(const uint8_t *src, uint8_t *dst, size_t count, uint8_t limit) {
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < count; i++) dst[i] = (uint8_t)-(uint8_t)(src[i] > limit);
}

CIK_INLINE void invert_impl(const uint8_t *src, uint8_t *dst, size_t count) {
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < count; i++) dst[i] = (uint8_t)~src[i];
}

CIK_DISPATCH(void, threshold_run, (const uint8_t *src, uint8_t *dst, size_t count, uint8_t limit), threshold_impl,
             (src, dst, count, limit))
CIK_DISPATCH(void, invert_run, (const uint8_t *src, uint8_t *dst, size_t count), invert_impl, (src, dst, count))

void CImageKernels_threshold(const uint8_t *src, uint8_t *dst, size_t count, uint8_t limit) {
    threshold_run(src, dst, count, limit);
}

void CImageKernels_invert(const uint8_t *src, uint8_t *dst, size_t count) { invert_run(src, dst, count); }
