package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

/** What {@link QuantizedConv2d} and {@link QuantizedLinear} share: the W8A32 weight decoded per call. */
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

    public QuantizedTensor quantizedWeight() {
        return weight.weight();
    }

    /** Runs {@code kernel} with the weight decoded at the bit width {@code ws} asks for. */
    protected final Tensor runDecoded(Workspace ws, Kernel kernel) {
        int bits = weight.bits(ws);
        try (QuantizedWeight.Decoded w = weight.decode(ws, bits)) {
            return kernel.run(w.view(), weight.bias(bits));
        }
    }

    @Override
    public void close() {
        weight.close();
    }
}
