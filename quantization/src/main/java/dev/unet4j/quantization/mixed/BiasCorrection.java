package dev.unet4j.quantization.mixed;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvSpec;

/**
 * Bias correction (Hubara et al., "Improving Post Training Neural Quantization", 2021; also Nagel et al. 2019):
 * quantizing {@code W} to {@code W_q} shifts the expected output by {@code E[(W_q - W) x] = (W_q - W) E[x]}, which
 * the bias absorbs: {@code b' = b - (W_q - W) E[x]}, with {@code E[x]} the per-input-channel mean of the layer's
 * calibration inputs. Correct the bias for the precision the layer runs at.
 */
public final class BiasCorrection {
    private BiasCorrection() {
    }

    /**
     * Linear layer, weights {@code [out, in]} row-major; {@code bias} may be null (zeros).
     *
     * @return a new corrected bias of length {@code out}
     */
    public static float[] linear(float[] bias, float[] weight, float[] quantizedWeight, int out, int in, float[] meanInput) {
        check(weight, quantizedWeight, (long) out * in, meanInput, in, bias, out);
        float[] b = new float[out];
        for (int o = 0; o < out; o++) {
            double shift = 0;
            for (int i = 0; i < in; i++) shift += (double) (quantizedWeight[o * in + i] - weight[o * in + i]) * meanInput[i];
            b[o] = (float) ((bias == null ? 0 : bias[o]) - shift);
        }
        return b;
    }

    /**
     * Convolution, weights {@code [out, in/groups, kh, kw]}; {@code meanInput} per input channel. Border pixels see
     * zero padding for part of the kernel; like the paper, the correction uses the interior expectation.
     */
    public static float[] conv2d(Conv2dSpec spec, float[] bias, float[] weight, float[] quantizedWeight, float[] meanInput) {
        return conv(spec.inChannels(), spec.outChannels(), spec.groups(), spec.kernelH() * spec.kernelW(), bias, weight, quantizedWeight, meanInput);
    }

    /** {@link #conv2d} for an N-d convolution (a volume's taps {@code kd * kh * kw}); not transposed. */
    public static float[] conv(ConvSpec spec, float[] bias, float[] weight, float[] quantizedWeight, float[] meanInput) {
        if (spec.transposed()) throw new IllegalArgumentException("bias correction of " + spec + ": transposed convolutions are not quantized");
        int taps = 1;
        for (int k : spec.kernel()) taps *= k;
        return conv(spec.inChannels(), spec.outChannels(), spec.groups(), taps, bias, weight, quantizedWeight, meanInput);
    }

    private static float[] conv(int in, int out, int groups, int taps, float[] bias, float[] weight, float[] quantizedWeight, float[] meanInput) {
        int inPerGroup = in / groups, outPerGroup = out / groups;
        check(weight, quantizedWeight, (long) out * inPerGroup * taps, meanInput, in, bias, out);
        float[] b = new float[out];
        for (int o = 0; o < out; o++) {
            int firstIn = (o / outPerGroup) * inPerGroup;
            double shift = 0;
            for (int ic = 0; ic < inPerGroup; ic++) {
                double dw = 0;
                int base = (o * inPerGroup + ic) * taps;
                for (int t = 0; t < taps; t++) dw += quantizedWeight[base + t] - weight[base + t];
                shift += dw * meanInput[firstIn + ic];
            }
            b[o] = (float) ((bias == null ? 0 : bias[o]) - shift);
        }
        return b;
    }

    /** Per-channel means of calibration samples given as rows of {@code channels} values (e.g. NHWC pixels or tokens). */
    public static float[] channelMeans(float[] rows, int channels) {
        if (channels <= 0 || rows.length % channels != 0) throw new IllegalArgumentException(rows.length + " values are not rows of " + channels);
        double[] sum = new double[channels];
        for (int i = 0; i < rows.length; i++) sum[i % channels] += rows[i];
        float[] m = new float[channels];
        int n = rows.length / channels;
        for (int c = 0; c < channels; c++) m[c] = (float) (sum[c] / n);
        return m;
    }

    private static void check(float[] w, float[] wq, long n, float[] mean, int in, float[] bias, int out) {
        if (w.length != n || wq.length != n) throw new IllegalArgumentException("bias correction: weights " + w.length + " and " + wq.length + ", expected " + n);
        if (mean.length != in) throw new IllegalArgumentException("bias correction: " + mean.length + " input means, expected " + in);
        if (bias != null && bias.length != out) throw new IllegalArgumentException("bias correction: bias of " + bias.length + ", expected " + out);
    }
}
