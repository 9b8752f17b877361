#ifndef CIMAGEKERNELS_H
#define CIMAGEKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Hot 8-bit image kernels, pixel-exact with OpenCV (see Docs and the Swift filters that call them).
///
/// Every function works on tightly packed, interleaved 8-bit images (`width * channels` samples
/// per row, no padding). Borders are BORDER_REFLECT_101 unless stated otherwise. On x86-64 each
/// kernel is compiled twice, for the SSE2 baseline and for AVX2, and the AVX2 version is chosen at
/// run time when the CPU has it. Functions that allocate scratch memory return 0 on success and
/// -1 when memory is exhausted; the others cannot fail.

/// Returns 1 when the AVX2 code paths are used (the CPU has AVX2 and the environment variable
/// CIMAGEKERNELS_DISABLE_AVX2 is unset or "0"), 0 when the SSE2 baseline runs.
int CImageKernels_usesAVX2(void);

/// The number of kernel calls since the process started that ran the AVX2 code (`avx2` = 1) or
/// the baseline code (`avx2` = 0): which path really ran, for tests and diagnostics.
unsigned long long CImageKernels_pathCalls(int avx2);

/// Y = (9798 R + 19235 G + 3735 B + 16384) >> 15 (cv2.COLOR_RGB2GRAY). `channels` is 3 or 4
/// (alpha ignored); `dst` has `count` samples, `src` has `count * channels`.
void CImageKernels_grayscale(const uint8_t *src, uint8_t *dst, size_t count, int channels);

/// Binary threshold: dst[i] = src[i] > limit ? 255 : 0 (cv2.threshold THRESH_BINARY, maxval 255).
/// `src` may equal `dst` (in place); otherwise the two must not overlap.
void CImageKernels_threshold(const uint8_t *src, uint8_t *dst, size_t count, uint8_t limit);

/// dst[i] = 255 - src[i] (cv2.bitwise_not). `src` may equal `dst` (in place); otherwise the two
/// must not overlap.
void CImageKernels_invert(const uint8_t *src, uint8_t *dst, size_t count);

/// Separable Gaussian with 8-bit fixed-point taps (`n` odd, taps sum to 256):
/// h = Σ taps[i]·src (horizontal), out = (Σ taps[i]·h + 32768) >> 16 (vertical).
int CImageKernels_gaussian(const uint8_t *src, uint8_t *dst, int width, int height, int channels,
                           const uint16_t *taps, int n);

/// Normalised box filter of odd size `k`: out = round(Σ k×k neighbours / k²) (cv2.blur).
int CImageKernels_box(const uint8_t *src, uint8_t *dst, int width, int height, int channels, int k);

/// 3×3 sharpen [[0,-1,0],[-1,5,-1],[0,-1,0]], clamped to 0...255 (cv2.filter2D).
int CImageKernels_sharpen(const uint8_t *src, uint8_t *dst, int width, int height, int channels);

/// Gray in, gray out: min(255, roundeven(sqrtf(gx² + gy²))) with 3×3 Sobel gx, gy
/// (cv2.convertScaleAbs(cv2.magnitude(Sobel dx, Sobel dy)) in CV_32F).
int CImageKernels_sobelMagnitude(const uint8_t *src, uint8_t *dst, int width, int height);

/// cv2.Canny(gray, low, high) with apertureSize 3 and the L1 gradient; output 0 or 255.
/// The internal Sobel uses BORDER_REPLICATE as OpenCV's does.
int CImageKernels_canny(const uint8_t *src, uint8_t *dst, int width, int height, int low, int high);

/// Halves both sides: out = (a + b + c + d + 2) >> 2 over 2×2 blocks (cv2.resize INTER_AREA by
/// exactly 2). `dst` is (width/2)×(height/2); an odd last row or column is ignored.
int CImageKernels_halve(const uint8_t *src, uint8_t *dst, int width, int height, int channels);

/// cv2.resize INTER_AREA for factors that are not whole numbers (OpenCV's ResizeArea_Invoker in
/// float, same operations in the same order). Horizontal weights: destination pixel `dx` is
/// Σ_k src pixel `xofs[dx·taps + k]` · `xalpha[dx·taps + k]`, in OpenCV's table order, padded to
/// `taps` entries with weight 0. Vertical: for each of the `ycount` entries in order, source row
/// `ysrc[j]` weighted by `ybeta[j]` is added to destination row `ydst[j]` (non-decreasing).
/// `dst` is `dwidth` pixels wide.
int CImageKernels_resizeArea(const uint8_t *src, uint8_t *dst, int swidth, int dwidth, int channels,
                             const int32_t *xofs, const float *xalpha, int taps, const int32_t *ysrc,
                             const int32_t *ydst, const float *ybeta, int ycount);

#ifdef __cplusplus
}
#endif

#endif
