#include "CImageKernels.h"
#include "internal.h"

#include <stdatomic.h>

static atomic_int cik_avx2_state = -1;  // -1 unknown, 0 off, 1 on

int cik_avx2_enabled(void) {
    int state = atomic_load_explicit(&cik_avx2_state, memory_order_relaxed);
    if (state < 0) {
#ifdef CIK_X86
        const char *disable = getenv("CIMAGEKERNELS_DISABLE_AVX2");
        state = (__builtin_cpu_supports("avx2") && !(disable && disable[0] && disable[0] != '0')) ? 1 : 0;
#else
        state = 0;
#endif
        atomic_store_explicit(&cik_avx2_state, state, memory_order_relaxed);
    }
    return state;
}

int CImageKernels_usesAVX2(void) { return cik_avx2_enabled(); }

static atomic_ullong cik_path_calls[2];

void cik_count_path(int avx2) { atomic_fetch_add_explicit(&cik_path_calls[avx2 ? 1 : 0], 1, memory_order_relaxed); }

unsigned long long CImageKernels_pathCalls(int avx2) {
    return atomic_load_explicit(&cik_path_calls[avx2 ? 1 : 0], memory_order_relaxed);
}
