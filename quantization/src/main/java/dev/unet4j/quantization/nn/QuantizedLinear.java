package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.quantization.QuantizedTensor;

import java.util.Map;

/** The linear-layer counterpart of {@link QuantizedConv2d} (W8A32): weights {@code [out, in]}. */
public final class QuantizedLinear extends QuantizedLayer implements Linear {
    private final int in, out;

    /** {@code bias} may be null; it is copied. */
    public QuantizedLinear(Kernels kernels, String path, QuantizedTensor weight, float[] bias) {
        this(kernels, path, weight, bias, Map.of());
    }

    /** With biases corrected per bit width ({@code bits -> bias}), used instead of {@code bias} at those widths; copied. */
    public QuantizedLinear(Kernels kernels, String path, QuantizedTensor weight, float[] bias, Map<Integer, float[]> correctedBias) {
        super(new QuantizedWeight(path, WeightShapes.linear(path, weight), bias, correctedBias,
                (format, codes, scales) -> kernels.codedWeightLinear(format, codes, (int) weight.shape()[0], (int) weight.shape()[1], scales)));
        this.out = weight.channels();
        this.in = weight.channelLength();
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }
}
