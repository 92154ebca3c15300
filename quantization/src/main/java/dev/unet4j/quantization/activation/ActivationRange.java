package dev.unet4j.quantization.activation;

/**
 * Observed extent of an activation: min, max and how many values were seen.
 */
public record ActivationRange(float min, float max, long count) {
    public static final ActivationRange EMPTY = new ActivationRange(Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0);

    public ActivationRange merge(ActivationRange o) {
        return new ActivationRange(Math.min(min, o.min), Math.max(max, o.max), count + o.count);
    }

    static ActivationRange of(float[] values) {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float v : values) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return new ActivationRange(lo, hi, values.length);
    }
}
