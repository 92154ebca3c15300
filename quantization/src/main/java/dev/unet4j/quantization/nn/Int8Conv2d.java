package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ForwardingLayer;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.quantization.QuantizedTensor;

/**
 * A W8A8 convolution: INT8 weights (per output channel) and s8 activations, run by oneDNN's s8 x s8 -> f32 kernel
 * (VNNI/AMX). The input is quantized per call with one per-tensor scale, dynamic ({@code max|x| / 127}) or static
 * (calibrated), {@code q = rint(clamp(x * (1/scale), -127, 127))}; the result is {@code scale * wScale[o] * sum(q * qw) + bias}.
 * The weight codes live only in oneDNN's packed native copy; no float32 weight is kept.
 */
public final class Int8Conv2d extends Int8Layer<Conv2d> implements ForwardingLayer.OfConv2d {
    /**
     * @param activationScale static activation scale, or 0 for a dynamic one
     * @param bias            float32 bias or null; copied
     */
    public Int8Conv2d(DnnlKernels kernels, String path, Conv2dSpec spec, QuantizedTensor weight, float[] bias, float activationScale) {
        super(path, WeightShapes.conv2d(path, spec, weight), bias, activationScale, (scales, b) -> activationScale == 0f
                ? kernels.int8Conv2d(spec, weight.codes(), scales, b)
                : kernels.int8Conv2d(spec, weight.codes(), scales, b, activationScale));
    }
}
