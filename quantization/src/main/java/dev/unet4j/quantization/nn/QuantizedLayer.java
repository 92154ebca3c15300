package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Int8WeightLayer;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

/**
 * What {@link QuantizedConv2d} and {@link QuantizedLinear} share: the W8A32 weight, run by the backend's
 * {@link Int8WeightLayer} for INT8 codes (at the session's double-rounding precision through a code remapping), or
 * decoded per call for FP8 codes.
 */
abstract class QuantizedLayer implements AutoCloseable {
    /** The backend's float32 kernel, given the decoded weight and the bias for its bit width (may be null). */
    interface Kernel {
        Tensor run(Tensor weight, Tensor bias);
    }

    protected final QuantizedWeight weight;

    QuantizedLayer(QuantizedWeight weight) {
        this.weight = weight;
    }

    public String path() {
        return weight.path();
    }

    /** The quantized weight; for INT8 a copy read back from the backend's codes. */
    public QuantizedTensor quantizedWeight() {
        return weight.weight();
    }

    /** Bytes this layer keeps for its weight: codes and scales (not the biases). */
    long weightBytes() {
        return weight.weightBytes();
    }

    /** {@code (op(x, w) + bias + residual) * outputScale} at the bit width {@code ws} asks for. */
    protected final Tensor run(Workspace ws, Tensor x, Tensor residual, float outputScale, Kernel fp8Kernel) {
        int bits = weight.bits(ws);
        Int8WeightLayer int8 = weight.int8();
        if (int8 != null) return int8.forward(ws, x, weight.bias(bits), residual, outputScale, QuantizedWeight.remap(bits));
        try (QuantizedWeight.Decoded w = weight.decode(ws, bits)) {
            return fp8Kernel.run(w.view(), weight.bias(bits));
        }
    }

    @Override
    public void close() {
        weight.close();
    }
}
