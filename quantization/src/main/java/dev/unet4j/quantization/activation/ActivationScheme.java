package dev.unet4j.quantization.activation;

/**
 * How activations map to 8-bit integers.
 *
 * <ul>
 *   <li>{@link #SYMMETRIC_S8}: {@code q = clamp(rint(x / s), -127, 127)}, zero point 0, {@code s = max(|min|, |max|) / 127}.
 *   For roughly zero-centred inputs (the residual stream, attention projections' inputs after LayerNorm). -128 is
 *   unused so that the range is symmetric like the weights' and an s8 x s8 product never overflows asymmetrically.</li>
 *   <li>{@link #ASYMMETRIC_U8}: {@code q = clamp(rint(x / s) + z, 0, 255)}, {@code s = (hi - lo) / 255},
 *   {@code z = clamp(rint(-lo / s), 0, 255)} with {@code [lo, hi]} the observed range widened to contain 0 (so 0 is
 *   exact, which zero padding needs). For skewed inputs such as post-SiLU/GELU activations (bounded below by
 *   about -0.28 and -0.17), where a symmetric grid would waste almost half its codes.</li>
 * </ul>
 *
 * An all-zero range gets scale 1 and zero point 0 (everything quantizes to exact zero).
 */
public enum ActivationScheme {
    SYMMETRIC_S8(-127, 127),
    ASYMMETRIC_U8(0, 255);

    private final int qmin;
    private final int qmax;

    ActivationScheme(int qmin, int qmax) {
        this.qmin = qmin;
        this.qmax = qmax;
    }

    public int qmin() {
        return qmin;
    }

    public int qmax() {
        return qmax;
    }

    /** Parameters covering the observed range {@code [min, max]}. */
    public ActivationQuantParams params(float min, float max) {
        if (!(min <= max) || !Float.isFinite(min) || !Float.isFinite(max)) {
            throw new IllegalArgumentException("activation range [" + min + ", " + max + "] is not a finite interval");
        }
        if (this == SYMMETRIC_S8) {
            float amax = Math.max(Math.abs(min), Math.abs(max));
            return new ActivationQuantParams(this, amax > 0 ? amax / qmax : 1f, 0);
        }
        float lo = Math.min(min, 0f), hi = Math.max(max, 0f);
        if (hi - lo <= 0) return new ActivationQuantParams(this, 1f, 0);
        float scale = (hi - lo) / (qmax - qmin);
        int zero = (int) Math.max(qmin, Math.min(qmax, Math.rint(-lo / scale)));
        return new ActivationQuantParams(this, scale, zero);
    }
}
