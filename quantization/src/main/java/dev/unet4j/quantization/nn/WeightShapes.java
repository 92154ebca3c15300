package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.quantization.QuantizedTensor;

import java.util.Arrays;

/** The weight-shape checks of the quantized layers (W8A32 and W8A8 alike). */
final class WeightShapes {
    private WeightShapes() {
    }

    /** {@code weight}, checked to have {@code spec}'s weight shape. */
    static QuantizedTensor conv2d(String path, Conv2dSpec spec, QuantizedTensor weight) {
        if (!Arrays.equals(weight.shape(), spec.weightShape())) {
            throw new IllegalArgumentException(path + ": quantized weight " + Arrays.toString(weight.shape()) + " does not match " + spec
                    + " (expected " + Arrays.toString(spec.weightShape()) + ")");
        }
        return weight;
    }

    /** {@code weight}, checked to be {@code [out, in]}. */
    static QuantizedTensor linear(String path, QuantizedTensor weight) {
        if (weight.shape().length != 2) throw new IllegalArgumentException(path + ": linear weight must be [out, in], got " + weight);
        return weight;
    }
}
