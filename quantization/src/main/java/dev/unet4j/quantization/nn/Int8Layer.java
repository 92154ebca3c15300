package dev.unet4j.quantization.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

/**
 * What {@link Int8Conv2d} and {@link Int8Linear} share: the oneDNN s8 layer {@code L} built from the weight's channel
 * scales and a copy of the bias, its module path, activation scale and resident size.
 */
abstract class Int8Layer<L> {
    /** Builds the backend layer from the per-output-channel scales and the bias tensor (null without bias). */
    interface Backend<L> {
        L build(float[] channelScales, Tensor bias);
    }

    protected final String path;
    protected final L layer;
    private final float activationScale;
    private final long residentBytes;

    Int8Layer(String path, QuantizedTensor weight, float[] bias, float activationScale, Backend<L> backend) {
        float[] scales = Int8Weights.channelScales(path, weight);
        try (Tensor b = bias == null ? null : Tensor.of(bias, bias.length)) {
            this.layer = backend.build(scales, b);
        }
        this.path = path;
        this.activationScale = activationScale;
        this.residentBytes = Int8Weights.residentBytes(weight, bias);
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
}
