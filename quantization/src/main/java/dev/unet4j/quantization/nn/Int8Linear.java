package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

/** The linear-layer counterpart of {@link Int8Conv2d}: W8A8 on oneDNN's s8 x s8 matmul, weights {@code [out, in]}. */
public final class Int8Linear implements Linear {
    private final String path;
    private final Linear layer;
    private final float activationScale;
    private final long residentBytes;

    /**
     * @param activationScale static activation scale, or 0 for a dynamic one
     * @param bias            float32 bias or null; copied
     */
    public Int8Linear(DnnlKernels kernels, String path, QuantizedTensor weight, float[] bias, float activationScale) {
        if (weight.shape().length != 2) throw new IllegalArgumentException(path + ": linear weight must be [out, in], got " + weight);
        float[] scales = Int8Weights.channelScales(path, weight);
        int out = weight.channels(), in = weight.channelLength();
        try (Tensor b = bias == null ? null : Tensor.of(bias, bias.length)) {
            this.layer = activationScale == 0f ? kernels.int8Linear(weight.codes(), out, in, scales, b)
                    : kernels.int8Linear(weight.codes(), out, in, scales, b, activationScale);
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

    @Override
    public int inFeatures() {
        return layer.inFeatures();
    }

    @Override
    public int outFeatures() {
        return layer.outFeatures();
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale) {
        Int8Weights.checkPrecision(ws, path);
        return layer.forward(ws, x, residual, outputScale);
    }

    @Override
    public void close() {
        layer.close();
    }
}
