package dev.unet4j.samplers.schedule;

/** Re-statements of the few torch CPU float32 kernels whose exact rounding shows in the schedules. */
public final class TorchMath {
    private TorchMath() {
    }

    private static final int VEC = 8; // AVX2 float lanes

    /**
     * {@code torch.linspace(start, end, n, dtype=float32)} on CPU (AVX2): step = (end-start)/(n-1) in float; the
     * first half counts up from start and the second half down from end; full 16-value chunks are filled as two
     * 8-lane {@code arange(base, step)} vectors whose base is computed at the chunk lane 0, the tail element by
     * element. The bases and the tail elements are fused multiply-adds, the arange lanes are not (as GCC compiled
     * it; this reproduces torch's float32 betas of the fixtures bit for bit).
     */
    public static float[] linspaceF32(double startD, double endD, int n) {
        if (n < 1) throw new IllegalArgumentException("linspace needs at least one step, got " + n);
        float start = (float) startD;
        float end = (float) endD;
        float[] out = new float[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (n - 1);
        int half = n / 2;
        int vectorEnd = n - n % (2 * VEC);
        for (int blk = 0; blk < vectorEnd; blk += VEC) {
            float base = blk < half ? Math.fma(step, (float) blk, start) : Math.fma(-step, (float) (n - blk - 1), end);
            for (int i = 0; i < VEC; i++) out[blk + i] = base + (float) i * step; // arange: not fused
        }
        for (int idx = vectorEnd; idx < n; idx++) {
            out[idx] = idx < half ? Math.fma(step, (float) idx, start) : Math.fma(-step, (float) (n - idx - 1), end);
        }
        return out;
    }

    /** {@code torch.cumprod} on a float32 CPU tensor: accumulates in double, rounds each element to float. */
    public static float[] cumprodF32(float[] x) {
        float[] out = new float[x.length];
        double acc = 1.0;
        for (int i = 0; i < x.length; i++) {
            acc *= x[i];
            out[i] = (float) acc;
        }
        return out;
    }

    /** {@code float32 ** 0.5} (torch's pow with exponent 0.5 is a sqrt). */
    public static float sqrt(float x) {
        return (float) Math.sqrt(x);
    }
}
