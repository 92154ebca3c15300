package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

/**
 * The N-d (volume) counterpart of {@link Int8Conv2d}: a W8A8 convolution on oneDNN's s8 x s8 -> f32 kernel
 * ({@link DnnlKernels#int8Conv}; on CPUs without 8-bit dot products the same quantized operands in float32), the
 * input quantized per call with one per-tensor scale, dynamic or static. The codes live only in oneDNN's copy.
 */
public final class Int8ConvNd implements ConvLayer {
    private final String path;
    private final ConvLayer layer;
    private final float activationScale;
    private final long residentBytes;

    /**
     * @param activationScale static activation scale, or 0 for a dynamic one
     * @param bias            float32 bias or null; copied
     */
    public Int8ConvNd(DnnlKernels kernels, String path, ConvSpec spec, QuantizedTensor weight, float[] bias, float activationScale) {
        WeightShapes.conv(path, spec, weight);
        // Int8Layer's build: its forward is Layer's (residual, output scale), this one ConvLayer's
        this.layer = Int8Layer.build(path, weight, bias, (scales, b) -> activationScale == 0f
                ? kernels.int8Conv(spec, weight.codes(), scales, b)
                : kernels.int8Conv(spec, weight.codes(), scales, b, activationScale));
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
    public ConvSpec spec() {
        return layer.spec();
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x) {
        Int8Weights.checkPrecision(ws, path);
        return layer.forward(ws, x);
    }

    @Override
    public void close() {
        layer.close();
    }
}
