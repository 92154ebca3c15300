package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

/** The linear-layer counterpart of {@link Int8Conv2d}: W8A8 on oneDNN's s8 x s8 matmul, weights {@code [out, in]}. */
public final class Int8Linear extends Int8Layer<Linear> implements Linear {
    /**
     * @param activationScale static activation scale, or 0 for a dynamic one
     * @param bias            float32 bias or null; copied
     */
    public Int8Linear(DnnlKernels kernels, String path, QuantizedTensor weight, float[] bias, float activationScale) {
        super(path, twoDimensional(path, weight), bias, activationScale, (scales, b) -> activationScale == 0f
                ? kernels.int8Linear(weight.codes(), weight.channels(), weight.channelLength(), scales, b)
                : kernels.int8Linear(weight.codes(), weight.channels(), weight.channelLength(), scales, b, activationScale));
    }

    private static QuantizedTensor twoDimensional(String path, QuantizedTensor weight) {
        if (weight.shape().length != 2) throw new IllegalArgumentException(path + ": linear weight must be [out, in], got " + weight);
        return weight;
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
