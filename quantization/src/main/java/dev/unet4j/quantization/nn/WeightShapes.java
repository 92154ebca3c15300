package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.quantization.QuantizedTensor;

import java.util.Arrays;

/** The weight-shape checks of the quantized layers (W8A32 and W8A8 alike). */
final class WeightShapes {
    private WeightShapes() {
    }

    /** {@code weight}, checked to have {@code spec}'s weight shape. */
    static QuantizedTensor conv2d(String path, Conv2dSpec spec, QuantizedTensor weight) {
        return shaped(path, spec, spec.weightShape(), weight);
    }

    /** {@code weight}, checked to have the N-d {@code spec}'s weight shape. */
    static QuantizedTensor conv(String path, ConvSpec spec, QuantizedTensor weight) {
        return shaped(path, spec, spec.weightShape(), weight);
    }

    private static QuantizedTensor shaped(String path, Object layer, long[] expected, QuantizedTensor weight) {
        if (!Arrays.equals(weight.shape(), expected)) {
            throw new IllegalArgumentException(path + ": quantized weight " + Arrays.toString(weight.shape()) + " does not match " + layer
                    + " (expected " + Arrays.toString(expected) + ")");
        }
        return weight;
    }

    /** {@code weight}, checked to be {@code [out, in]}. */
    static QuantizedTensor linear(String path, QuantizedTensor weight) {
        if (weight.shape().length != 2) throw new IllegalArgumentException(path + ": linear weight must be [out, in], got " + weight);
        return weight;
    }
}
