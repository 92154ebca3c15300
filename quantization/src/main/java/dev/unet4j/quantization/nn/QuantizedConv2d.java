package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.quantization.QuantizedTensor;

import java.util.Map;

/**
 * A convolution with INT8 or FP8 weights (W8A32), so only the codes and scales stay resident: the weights run as the
 * backend's {@link Kernels#codedWeightConv2d} (on oneDNN, codes in native memory decoded by oneDNN per call), INT8
 * ones at the precision of the workspace's {@link dev.unet4j.quantization.WeightPrecision}.
 */
public final class QuantizedConv2d extends QuantizedLayer implements Conv2d {
    private final Conv2dSpec spec;

    /** {@code bias} may be null; it is copied. */
    public QuantizedConv2d(Kernels kernels, String path, Conv2dSpec spec, QuantizedTensor weight, float[] bias) {
        this(kernels, path, spec, weight, bias, Map.of());
    }

    /** With biases corrected per bit width ({@code bits -> bias}), used instead of {@code bias} at those widths; copied. */
    public QuantizedConv2d(Kernels kernels, String path, Conv2dSpec spec, QuantizedTensor weight, float[] bias, Map<Integer, float[]> correctedBias) {
        super(new QuantizedWeight(path, WeightShapes.conv2d(path, spec, weight), bias, correctedBias,
                (format, codes, scales) -> kernels.codedWeightConv2d(spec, format, codes, scales)));
        this.spec = spec;
    }

    @Override
    public Conv2dSpec spec() {
        return spec;
    }
}
