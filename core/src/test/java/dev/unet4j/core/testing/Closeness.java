package dev.unet4j.core.testing;

import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * How far a result is from its golden values, the measures the modules' tests assert on: the largest absolute
 * difference and that difference relative to the golden's largest magnitude. Differences are taken in double; a NaN
 * anywhere makes the measure NaN, so no comparison with a tolerance passes.
 */
public final class Closeness {
    private Closeness() {
    }

    /** {@code max|x|}. */
    public static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    /** {@code max|a - b|} over two arrays of one length. */
    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    /** {@code max|a - b|} over two tensors of one shape. */
    public static double maxAbsDiff(Tensor a, Tensor b) {
        requireSameShape(a, b);
        return maxAbsDiff(a.toFloatArray(), b.toFloatArray());
    }

    /** {@code max|want - got| / max|want|}. */
    public static double relError(float[] want, float[] got) {
        return maxAbsDiff(want, got) / maxAbs(want);
    }

    /** {@code max|want - got| / max|want|} over two tensors of one shape. */
    public static double relError(Tensor want, Tensor got) {
        requireSameShape(want, got);
        return relError(want.toFloatArray(), got.toFloatArray());
    }

    private static void requireSameShape(Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new AssertionError("shapes differ: " + Arrays.toString(a.shape()) + " vs " + Arrays.toString(b.shape()));
        }
    }
}
