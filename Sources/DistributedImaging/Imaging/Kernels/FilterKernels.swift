import CImageKernels

/// Facts about the compiled filter kernels.
public enum FilterKernels {
    /// Whether the hot kernels (Gaussian, box, sharpen, Sobel, Canny, grayscale) run their AVX2
    /// code: true when the CPU has AVX2 unless the environment variable
    /// `CIMAGEKERNELS_DISABLE_AVX2` is set to a non-zero value before the first filter runs.
    /// Both code paths give identical output.
    public static var usesAVX2: Bool { CImageKernels_usesAVX2() != 0 }

    /// How many kernel calls since the process started ran the baseline (SSE2 on x86-64) code
    /// and how many the AVX2 code: which path really ran.
    public static var callsByPath: (baseline: UInt64, avx2: UInt64) {
        (UInt64(CImageKernels_pathCalls(0)), UInt64(CImageKernels_pathCalls(1)))
    }
}
