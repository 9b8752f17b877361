#ifndef CIMAGEKERNELS_INTERNAL_H
#define CIMAGEKERNELS_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

#define CIK_INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__) || defined(__i386__)
#define CIK_X86 1
#define CIK_AVX2 __attribute__((target("avx2")))
#endif

/// Whether the AVX2 code paths may run: the CPU has AVX2 and the environment variable
/// CIMAGEKERNELS_DISABLE_AVX2 is not set (read once).
int cik_avx2_enabled(void);

/// Counts one dispatched kernel call on the AVX2 (`avx2` = 1) or baseline (0) path.
void cik_count_path(int avx2);

/// Defines `name(params)` that runs `impl(args)` compiled for AVX2 when the CPU has it and for the
/// baseline otherwise, counting which one ran (CImageKernels_pathCalls). `impl` must be
/// CIK_INLINE so that its loops are generated for each target.
///
/// CIK_DISPATCH_TOLD is the same for an `impl` that calls target-specific code of its own: it
/// takes one more argument, 1 in the AVX2 clone and 0 in the baseline.
#define CIK_UNPAREN(...) __VA_ARGS__
#ifdef CIK_X86
#define CIK_SELECT(ret, name, params, args) \
    static ret name params { \
        if (cik_avx2_enabled()) { cik_count_path(1); return name##_avx2 args; } \
        cik_count_path(0); \
        return name##_base args; \
    }
#define CIK_DISPATCH(ret, name, params, impl, args) \
    static ret name##_base params { return impl args; } \
    CIK_AVX2 static ret name##_avx2 params { return impl args; } \
    CIK_SELECT(ret, name, params, args)
#define CIK_DISPATCH_TOLD(ret, name, params, impl, args) \
    static ret name##_base params { return impl(CIK_UNPAREN args, 0); } \
    CIK_AVX2 static ret name##_avx2 params { return impl(CIK_UNPAREN args, 1); } \
    CIK_SELECT(ret, name, params, args)
#else
#define CIK_DISPATCH(ret, name, params, impl, args) \
    static ret name params { cik_count_path(0); return impl args; }
#define CIK_DISPATCH_TOLD(ret, name, params, impl, args) \
    static ret name params { cik_count_path(0); return impl(CIK_UNPAREN args, 0); }
#endif

/// OpenCV's borderInterpolate for BORDER_REFLECT_101 (…c b | a b c… ).
CIK_INLINE int cik_reflect101(int p, int len) {
    if (len == 1) return 0;
    while (p < 0 || p >= len) {
        if (p < 0) p = -p;
        else p = 2 * (len - 1) - p;
    }
    return p;
}

/// BORDER_REPLICATE.
CIK_INLINE int cik_replicate(int p, int len) {
    return p < 0 ? 0 : (p >= len ? len - 1 : p);
}

/// Copies row `row` into `out[r*cn ... (r+width)*cn)` and fills `r` pixels of reflect-101 border
/// on each side.
CIK_INLINE void cik_pad_row(const uint8_t *row, uint8_t *out, int width, int cn, int r) {
    memcpy(out + (size_t)r * cn, row, (size_t)width * cn);
    for (int i = 0; i < r; i++) {
        int left = cik_reflect101(i - r, width);
        int right = cik_reflect101(width + i, width);
        for (int c = 0; c < cn; c++) {
            out[(size_t)i * cn + c] = row[(size_t)left * cn + c];
            out[(size_t)(r + width + i) * cn + c] = row[(size_t)right * cn + c];
        }
    }
}

#endif
