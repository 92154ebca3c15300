package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

/**
 * The timestep projections of diffusers, reproduced in float32 step by step as torch computes them (the product
 * {@code t * freq} is rounded to float32 before sin/cos, which matters at t near 1000). Pure functions; the
 * learned MLP that follows ({@code TimestepEmbedding} in diffusers) is built from {@link Linear} layers elsewhere.
 */
public final class TimestepEmbedding {
    /** diffusers' default {@code max_period}. */
    public static final int DEFAULT_MAX_PERIOD = 10000;

    private TimestepEmbedding() {
    }

    /**
     * diffusers {@code get_timestep_embedding}: for each timestep t (cast to float32 as {@code timesteps.float()}),
     * {@code emb = scale * t * exp(-ln(maxPeriod) * i / (half - downscaleFreqShift))} for {@code i < half = dim/2},
     * then {@code [sin(emb), cos(emb)]}, flipped to {@code [cos, sin]} when {@code flipSinToCos}, zero-padded by one
     * column when {@code dim} is odd.
     *
     * @return {@code [timesteps.length * dim]} row-major
     */
    public static float[] sinusoidal(double[] timesteps, int dim, boolean flipSinToCos, double downscaleFreqShift,
                                     double scale, int maxPeriod) {
        if (dim <= 0) throw new IllegalArgumentException("timestep embedding dim must be positive, got " + dim);
        if (maxPeriod <= 0) throw new IllegalArgumentException("timestep embedding max_period must be positive, got " + maxPeriod);
        int half = dim / 2;
        float[] freqs = frequencies(half, downscaleFreqShift, maxPeriod);
        float s = (float) scale;
        float[] out = new float[timesteps.length * dim]; // the odd-dim pad column stays 0
        for (int b = 0; b < timesteps.length; b++) {
            float t = (float) timesteps[b];
            int row = b * dim;
            int sinAt = row + (flipSinToCos ? half : 0), cosAt = row + (flipSinToCos ? 0 : half);
            for (int i = 0; i < half; i++) {
                float arg = s * (t * freqs[i]); // two float32 roundings, as torch: t * emb, then scale * emb
                out[sinAt + i] = (float) Math.sin(arg);
                out[cosAt + i] = (float) Math.cos(arg);
            }
        }
        return out;
    }

    /** {@link #sinusoidal} with diffusers' defaults {@code scale = 1}, {@code max_period = 10000}. */
    public static float[] sinusoidal(double[] timesteps, int dim, boolean flipSinToCos, double downscaleFreqShift) {
        return sinusoidal(timesteps, dim, flipSinToCos, downscaleFreqShift, 1.0, DEFAULT_MAX_PERIOD);
    }

    /** {@link #sinusoidal} as a new standalone {@code [B, dim]} tensor (the caller closes it). */
    public static Tensor sinusoidalTensor(double[] timesteps, int dim, boolean flipSinToCos, double downscaleFreqShift,
                                          double scale, int maxPeriod) {
        return Tensor.of(sinusoidal(timesteps, dim, flipSinToCos, downscaleFreqShift, scale, maxPeriod), timesteps.length, dim);
    }

    /**
     * {@code exp(-ln(maxPeriod) * arange(half) / (half - shift))} in float32, each torch op rounded as torch rounds it:
     * the python-float factor becomes a float32 scalar, the product and the quotient are float32.
     */
    static float[] frequencies(int half, double downscaleFreqShift, int maxPeriod) {
        float negLog = (float) -Math.log(maxPeriod);
        float denom = (float) (half - downscaleFreqShift);
        float[] f = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (negLog * (float) i) / denom;
            f[i] = torchExpf(exponent);
        }
        return f;
    }

    /**
     * float32 {@code exp} as torch's vectorised CPU kernel computes it (SLEEF {@code expf_u10}: range reduction by
     * ln 2 in two parts, a degree-6 polynomial with fused multiply-adds, scaling by 2^q). It is within 1 ulp but not
     * always correctly rounded: for {@code exp(-ln(10000) * 7 / 16)} it returns 0.017782796, not 0.017782794, and the
     * difference shows in {@code sin(999 * freq)}. The golden time_proj tensors agree with it at all three frequencies
     * where it differs from the correctly rounded value.
     */
    static float torchExpf(float d) {
        if (Float.isNaN(d)) return d;
        if (d < -104f) return 0f;
        if (d > 100f) return Float.POSITIVE_INFINITY;
        int q = (int) Math.rint(d * 1.442695040888963407359924681001892137426645954152985934135449406931f);
        float s = Math.fma((float) q, -0.693145751953125f, d);
        s = Math.fma((float) q, -1.428606765330187045e-06f, s);
        float u = 0.000198527617612853646278381f;
        u = Math.fma(u, s, 0.00139304355252534151077271f);
        u = Math.fma(u, s, 0.00833336077630519866943359f);
        u = Math.fma(u, s, 0.0416664853692054748535156f);
        u = Math.fma(u, s, 0.166666671633720397949219f);
        u = Math.fma(u, s, 0.5f);
        u = 1f + Math.fma(s * s, u, s);
        return Math.scalb(u, q);
    }

    /**
     * diffusers {@code GaussianFourierProjection} ({@code time_embedding_type="fourier"}): {@code x = log(t)} when
     * {@code log} (the module's default; UNet2DConditionModel passes false), {@code x_proj = x * W * 2 * pi} in
     * float32, output {@code [sin, cos]} or {@code [cos, sin]} when {@code flipSinToCos}.
     *
     * @param weight the module's {@code weight} ({@code [E]}, already multiplied by its {@code scale} at init)
     * @return {@code [timesteps.length * 2E]} row-major
     */
    public static float[] gaussianFourier(double[] timesteps, float[] weight, boolean log, boolean flipSinToCos) {
        int e = weight.length;
        float pi = (float) Math.PI; // np.pi becomes a float32 scalar; "* 2" is exact
        float[] out = new float[timesteps.length * 2 * e];
        for (int b = 0; b < timesteps.length; b++) {
            float t = (float) timesteps[b];
            float x = log ? (float) Math.log(t) : t;
            int row = b * 2 * e;
            int sinAt = row + (flipSinToCos ? e : 0), cosAt = row + (flipSinToCos ? 0 : e);
            for (int i = 0; i < e; i++) {
                float proj = x * weight[i] * 2f * pi;
                out[sinAt + i] = (float) Math.sin(proj);
                out[cosAt + i] = (float) Math.cos(proj);
            }
        }
        return out;
    }
}
