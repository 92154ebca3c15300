package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.ForwardingLayer;
import dev.unet4j.core.kernels.Layer;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

/**
 * What {@link Int8Conv2d} and {@link Int8Linear} share: the oneDNN s8 layer {@code L} built from the weight's channel
 * scales and a copy of the bias, which every call runs after checking the session asks for no lower precision; its
 * module path, activation scale and resident size.
 */
abstract class Int8Layer<L extends Layer> extends ForwardingLayer<L> {
    /** Builds the backend layer from the per-output-channel scales and the bias tensor (null without bias). */
    interface Backend<L> {
        L build(float[] channelScales, Tensor bias);
    }

    private final String path;
    private final float activationScale;
    private final long residentBytes;

    Int8Layer(String path, QuantizedTensor weight, float[] bias, float activationScale, Backend<L> backend) {
        super(build(path, weight, bias, backend));
        this.path = path;
        this.activationScale = activationScale;
        this.residentBytes = Int8Weights.residentBytes(weight, bias);
    }

    /** The backend layer from {@code weight}'s channel scales and a temporary tensor of {@code bias} (null without). */
    static <L> L build(String path, QuantizedTensor weight, float[] bias, Backend<L> backend) {
        float[] scales = Int8Weights.channelScales(path, weight);
        try (Tensor b = bias == null ? null : Tensor.of(bias, bias.length)) {
            return backend.build(scales, b);
        }
    }

    public String path() {
        return path;
    }

    /** The static activation scale, or 0 when it is measured per call. */
    public float activationScale() {
        return activationScale;
    }

    /** Bytes this layer keeps for its weight and bias. */
    public long residentBytes() {
        return residentBytes;
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale) {
        Int8Weights.checkPrecision(ws, path);
        return super.forward(ws, x, residual, outputScale);
    }
}
