package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.CodedWeightLayer;
import dev.unet4j.core.kernels.Layer;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

/**
 * What {@link QuantizedConv2d} and {@link QuantizedLinear} share: the W8A32 weight, run by the backend's
 * {@link CodedWeightLayer} (INT8 codes at the session's double-rounding precision through a code remapping, FP8 codes
 * at their stored precision).
 */
abstract class QuantizedLayer implements Layer {
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
    @Override
    public final Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale) {
        int bits = weight.bits(ws);
        return weight.layer().forward(ws, x, weight.bias(bits), residual, outputScale, QuantizedWeight.remap(bits));
    }

    @Override
    public void close() {
        weight.close();
    }
}
