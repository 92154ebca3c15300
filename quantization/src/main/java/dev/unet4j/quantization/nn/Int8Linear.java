package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.ForwardingLayer;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.quantization.QuantizedTensor;

/** The linear-layer counterpart of {@link Int8Conv2d}: W8A8 on oneDNN's s8 x s8 matmul, weights {@code [out, in]}. */
public final class Int8Linear extends Int8Layer<Linear> implements ForwardingLayer.OfLinear {
    /**
     * @param activationScale static activation scale, or 0 for a dynamic one
     * @param bias            float32 bias or null; copied
     */
    public Int8Linear(DnnlKernels kernels, String path, QuantizedTensor weight, float[] bias, float activationScale) {
        super(path, WeightShapes.linear(path, weight), bias, activationScale, (scales, b) -> activationScale == 0f
                ? kernels.int8Linear(weight.codes(), weight.channels(), weight.channelLength(), scales, b)
                : kernels.int8Linear(weight.codes(), weight.channels(), weight.channelLength(), scales, b, activationScale));
    }
}
