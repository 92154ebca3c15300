package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;

import java.util.Optional;

/**
 * Builds a model's conv/linear layers from a {@link WeightSource} (a {@link QuantizationPlan} applied at load time,
 * or a stored {@link dev.unet4j.quantization.io.QuantizedCheckpoint}): quantized layers where it yields a weight,
 * the backend's float32 layers for the rest. Shaped like the UNet builder's layer factory hook
 * ({@code (path, spec, weight, bias) -> Conv2d}, {@code (path, weight, bias) -> Linear}); the weight and bias are
 * copied, so the caller may close them after the call.
 */
public class QuantizingLayerFactory {
    private final Kernels kernels;
    private final WeightSource weights;

    public QuantizingLayerFactory(Kernels kernels, WeightSource weights) {
        this.kernels = kernels;
        this.weights = weights;
    }

    public QuantizingLayerFactory(Kernels kernels, QuantizationPlan plan) {
        this(kernels, WeightSource.of(plan));
    }

    public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return kernels.conv2d(spec, weight, bias);
        return new QuantizedConv2d(kernels, path, spec, q.get(), bias == null ? null : bias.toFloatArray());
    }

    public Linear linear(String path, Tensor weight, Tensor bias) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return kernels.linear(weight, bias);
        return new QuantizedLinear(kernels, path, q.get(), bias == null ? null : bias.toFloatArray());
    }
}
