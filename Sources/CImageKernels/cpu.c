#include "CImageKernels.h"
#include "internal.h"

int CImageKernels_usesAVX2(void) {
#ifdef CIK_X86
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}
