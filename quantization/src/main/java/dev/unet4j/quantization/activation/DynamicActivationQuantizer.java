package dev.unet4j.quantization.activation;

import dev.unet4j.core.tensor.Tensor;

/**
 * Activation scales computed from the tensor being quantized, at run time (no calibration): one per tensor, or one
 * per token (row of the last dimension, e.g. each of the {@code B*T} rows of {@code [B, T, C]}, or each pixel's
 * channel vector of a channels-last image), which follows outlier tokens without spending range on the others.
 */
public final class DynamicActivationQuantizer {
    private DynamicActivationQuantizer() {
    }

    public static ActivationQuantParams perTensor(ActivationScheme scheme, float[] x) {
        return range(scheme, x, 0, x.length);
    }

    public static ActivationQuantParams perTensor(ActivationScheme scheme, Tensor x) {
        return perTensor(scheme, x.toFloatArray());
    }

    /** One parameter set per row of {@code x}, read as {@code x.length / channels} rows of {@code channels}. */
    public static ActivationQuantParams[] perToken(ActivationScheme scheme, float[] x, int channels) {
        if (channels <= 0 || x.length % channels != 0) {
            throw new IllegalArgumentException("per-token quantization: " + x.length + " values are not rows of " + channels + " channels");
        }
        ActivationQuantParams[] p = new ActivationQuantParams[x.length / channels];
        for (int t = 0; t < p.length; t++) p[t] = range(scheme, x, t * channels, channels);
        return p;
    }

    /** Per token over the last dimension of {@code x} (logical order, any layout). */
    public static ActivationQuantParams[] perToken(ActivationScheme scheme, Tensor x) {
        return perToken(scheme, x.toFloatArray(), (int) x.dim(-1));
    }

    /** Fake-quantizes rows of {@code channels} values in place, each with its own dynamic parameters. */
    public static void fakeQuantizePerToken(ActivationScheme scheme, float[] x, int channels) {
        ActivationQuantParams[] p = perToken(scheme, x, channels);
        for (int t = 0; t < p.length; t++) p[t].fakeQuantize(x, t * channels, channels);
    }

    private static ActivationQuantParams range(ActivationScheme scheme, float[] x, int off, int len) {
        float min = 0, max = 0;
        for (int i = off; i < off + len; i++) {
            min = Math.min(min, x[i]);
            max = Math.max(max, x[i]);
        }
        return scheme.params(min, max);
    }
}
