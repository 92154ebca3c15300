package dev.unet4j.core.kernels;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * A convolution or linear layer whose weight is 8-bit codes (int8, or OCP FP8: {@link #format()}) with one float32
 * scale per output channel, kept by the backend (W8A32: {@code w[o, ...] = value(code[o, ...]) * scale[o]}, float32
 * activations, no float32 weight kept). Made by {@link Kernels#codedWeightConv2d} and {@link Kernels#codedWeightLinear}
 * (int8: {@link Kernels#int8WeightConv2d}, {@link Kernels#int8WeightLinear}). The bias comes with each call (callers
 * switch between bias-corrected copies by precision), and so may a code remapping (double rounding derives
 * lower-precision codes from the stored ones). Thread-safe; closing frees the codes.
 */
public interface CodedWeightLayer extends AutoCloseable {
    /**
     * {@code y = (op(x, w) + bias + residual) * outputScale} with {@code w = value(remap[code & 0xFF]) * scale} (the
     * stored codes when {@code remap} is null); {@code op} is the convolution or {@code x w^T}; {@code bias}
     * {@code [out]} and {@code residual} may be null.
     */
    Tensor forward(Workspace ws, Tensor x, Tensor bias, Tensor residual, float outputScale, byte[] remap);

    /** How the codes stand for numbers. */
    default WeightFormat format() {
        return WeightFormat.INT8;
    }

    /** The stored codes, row-major in torch's weight order ({@code [out, in/groups, kh, kw]} or {@code [out, in]}); a copy. */
    byte[] codes();

    /** The per-output-channel scales; a copy. */
    float[] scales();

    /** Bytes kept for the weight: one per code plus the float32 scales. */
    long residentBytes();

    @Override
    void close();

    /** Checks a {@link #forward} remapping table: null or 256 entries. */
    static void checkRemap(String layer, byte[] remap) {
        if (remap != null && remap.length != 256) {
            throw new IllegalArgumentException(layer + ": code remapping of " + remap.length + " entries, expected 256 (one per code)");
        }
    }

    /** Checks a layer's weight: one code per element of {@code shape}, {@code shape[0]} positive finite scales. */
    static void checkWeight(String layer, long[] shape, byte[] codes, float[] scales) {
        if (codes.length != Tensor.numel(shape)) {
            throw new IllegalArgumentException(layer + ": " + codes.length + " codes for weight " + Arrays.toString(shape));
        }
        if (scales.length != shape[0]) {
            throw new IllegalArgumentException(layer + ": " + scales.length + " scales for " + shape[0] + " output channels");
        }
        for (float s : scales) {
            if (!(s > 0) || !Float.isFinite(s)) throw new IllegalArgumentException(layer + ": weight scale " + s + " is not positive and finite");
        }
    }
}
