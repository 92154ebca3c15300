package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

import java.util.Map;

/** The linear-layer counterpart of {@link QuantizedConv2d}: weights {@code [out, in]} decoded per call (W8A32). */
public final class QuantizedLinear implements Linear {
    private final Kernels kernels;
    private final QuantizedWeight weight;

    /** {@code bias} may be null; it is copied. */
    public QuantizedLinear(Kernels kernels, String path, QuantizedTensor weight, float[] bias) {
        this(kernels, path, weight, bias, Map.of());
    }

    /** With biases corrected per bit width ({@code bits -> bias}), used instead of {@code bias} at those widths; copied. */
    public QuantizedLinear(Kernels kernels, String path, QuantizedTensor weight, float[] bias, Map<Integer, float[]> correctedBias) {
        if (weight.shape().length != 2) throw new IllegalArgumentException(path + ": linear weight must be [out, in], got " + weight);
        this.kernels = kernels;
        this.weight = new QuantizedWeight(path, weight, bias, correctedBias);
    }

    @Override
    public int inFeatures() {
        return weight.weight().channelLength();
    }

    @Override
    public int outFeatures() {
        return weight.weight().channels();
    }

    public String path() {
        return weight.path();
    }

    public QuantizedTensor quantizedWeight() {
        return weight.weight();
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale) {
        int bits = weight.bits(ws);
        try (Tensor w = weight.decode(ws, bits)) {
            return kernels.linear(ws, x, w, weight.bias(bits), residual, outputScale);
        }
    }

    @Override
    public void close() {
        weight.close();
    }
}
