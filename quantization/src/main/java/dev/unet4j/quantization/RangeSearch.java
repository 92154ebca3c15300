package dev.unet4j.quantization;

import dev.unet4j.core.codes.WeightFormat;
import java.util.Arrays;

/**
 * Chooses the clipping range {@code c} of a group of values (one channel, or a whole tensor) before
 * {@code scale = c / format.maxCode()}: values beyond {@code ±c} saturate. Clipping trades a large error on a few
 * outliers for a finer grid under everything else.
 */
@FunctionalInterface
public interface RangeSearch {

    /** The clip magnitude for {@code values[offset, offset+length)} stored in {@code format}; at most their amax. */
    float clip(float[] values, int offset, int length, WeightFormat format);

    /** No clipping: {@code c = max |v|}. */
    static RangeSearch minMax() {
        return (v, off, len, fmt) -> absMax(v, off, len);
    }

    /**
     * {@code c} = the {@code percentile}-th percentile of {@code |v|} (nearest rank: the smallest value with at least
     * that share of the magnitudes at or below it). {@code 100} is the same as {@link #minMax()}.
     */
    static RangeSearch percentile(double percentile) {
        if (!(percentile > 0 && percentile <= 100)) throw new IllegalArgumentException("percentile must be in (0, 100], got " + percentile);
        return (v, off, len, fmt) -> {
            if (len == 0) return 0f;
            float[] a = new float[len];
            for (int i = 0; i < len; i++) a[i] = Math.abs(v[off + i]);
            Arrays.sort(a);
            int rank = (int) Math.ceil(percentile / 100.0 * len);
            return a[Math.max(0, Math.min(len, rank) - 1)];
        };
    }

    /**
     * MSE-optimal clipping by grid search: tries {@code c = r * amax} for {@code steps} ratios {@code r} evenly
     * spaced from {@code minRatio} to 1 and keeps the one whose quantize-dequantize squared error over the group is
     * smallest (the largest such {@code r} on ties). Costs {@code steps} fake-quantizations of the group.
     */
    static RangeSearch mse(int steps, double minRatio) {
        if (steps < 1) throw new IllegalArgumentException("MSE range search needs at least one step, got " + steps);
        if (!(minRatio > 0 && minRatio <= 1)) throw new IllegalArgumentException("minRatio must be in (0, 1], got " + minRatio);
        return (v, off, len, fmt) -> {
            float amax = absMax(v, off, len);
            if (amax == 0) return 0f;
            float best = amax;
            double bestErr = Double.POSITIVE_INFINITY;
            for (int s = steps - 1; s >= 0; s--) {
                double r = steps == 1 ? 1 : minRatio + (1 - minRatio) * s / (steps - 1);
                float c = (float) (r * amax);
                float scale = c / fmt.maxCode();
                if (!(scale > 0)) continue;
                double err = 0;
                for (int i = 0; i < len; i++) {
                    double d = fmt.fakeQuantize(v[off + i], scale) - v[off + i];
                    err += d * d;
                }
                if (err < bestErr) {
                    bestErr = err;
                    best = c;
                }
            }
            return best;
        };
    }

    static float absMax(float[] v, int off, int len) {
        float m = 0;
        for (int i = 0; i < len; i++) m = Math.max(m, Math.abs(v[off + i]));
        return m;
    }
}
