package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

import java.util.Map;

/**
 * The N-d (volume) counterpart of {@link QuantizedConv2d}: INT8 or FP8 weights (W8A32) run as the backend's
 * {@link Kernels#codedWeightConv(ConvSpec, dev.unet4j.core.codes.WeightFormat, byte[], float[])}, INT8 ones at the
 * workspace's {@link dev.unet4j.quantization.WeightPrecision} as every {@link QuantizedLayer}.
 */
public final class QuantizedConvNd extends QuantizedLayer implements ConvLayer {
    private final ConvSpec spec;

    /** With biases corrected per bit width ({@code bits -> bias}, may be empty); {@code bias} may be null; copied. */
    public QuantizedConvNd(Kernels kernels, String path, ConvSpec spec, QuantizedTensor weight, float[] bias, Map<Integer, float[]> correctedBias) {
        super(new QuantizedWeight(path, WeightShapes.conv(path, spec, weight), bias, correctedBias,
                (format, codes, scales) -> kernels.codedWeightConv(spec, format, codes, scales)));
        this.spec = spec;
    }

    @Override
    public ConvSpec spec() {
        return spec;
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x) {
        return forward(ws, x, null, 1f);
    }
}
