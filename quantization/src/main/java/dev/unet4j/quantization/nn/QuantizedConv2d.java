package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

import java.util.Arrays;
import java.util.Map;

/**
 * A convolution with INT8 or FP8 weights (W8A32): each forward decodes the codes into a workspace tensor and runs
 * the backend's call-time-weight convolution, so only the bytes and scales stay resident. INT8 layers run at the
 * precision of the workspace's {@link dev.unet4j.quantization.WeightPrecision}.
 */
public final class QuantizedConv2d implements Conv2d {
    private final Kernels kernels;
    private final Conv2dSpec spec;
    private final QuantizedWeight weight;

    /** {@code bias} may be null; it is copied. */
    public QuantizedConv2d(Kernels kernels, String path, Conv2dSpec spec, QuantizedTensor weight, float[] bias) {
        this(kernels, path, spec, weight, bias, Map.of());
    }

    /** With biases corrected per bit width ({@code bits -> bias}), used instead of {@code bias} at those widths; copied. */
    public QuantizedConv2d(Kernels kernels, String path, Conv2dSpec spec, QuantizedTensor weight, float[] bias, Map<Integer, float[]> correctedBias) {
        if (!Arrays.equals(weight.shape(), spec.weightShape())) {
            throw new IllegalArgumentException(path + ": quantized weight " + Arrays.toString(weight.shape()) + " does not match " + spec
                    + " (expected " + Arrays.toString(spec.weightShape()) + ")");
        }
        this.kernels = kernels;
        this.spec = spec;
        this.weight = new QuantizedWeight(path, weight, bias, correctedBias);
    }

    @Override
    public Conv2dSpec spec() {
        return spec;
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
            return kernels.conv2d(ws, spec, x, w, weight.bias(bits), residual, outputScale);
        }
    }

    @Override
    public void close() {
        weight.close();
    }
}
