package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightQuantizer;

import java.util.Optional;

/**
 * Builds a model's conv/linear layers as its {@link QuantizationPlan} says: quantized layers for planned paths,
 * the backend's float32 layers for the rest. Shaped like the UNet builder's layer factory hook
 * ({@code (path, spec, weight, bias) -> Conv2d}, {@code (path, weight, bias) -> Linear}); the weight and bias are
 * copied, so the caller may close them after the call.
 */
public class QuantizingLayerFactory {
    private final Kernels kernels;
    private final QuantizationPlan plan;

    public QuantizingLayerFactory(Kernels kernels, QuantizationPlan plan) {
        this.kernels = kernels;
        this.plan = plan;
    }

    public QuantizationPlan plan() {
        return plan;
    }

    public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
        Optional<WeightQuantizer> q = plan.quantizerFor(path);
        if (q.isEmpty()) return kernels.conv2d(spec, weight, bias);
        QuantizedTensor w = q.get().quantize(path + ".weight", weight);
        return new QuantizedConv2d(kernels, path, spec, w, bias == null ? null : bias.toFloatArray());
    }

    public Linear linear(String path, Tensor weight, Tensor bias) {
        Optional<WeightQuantizer> q = plan.quantizerFor(path);
        if (q.isEmpty()) return kernels.linear(weight, bias);
        QuantizedTensor w = q.get().quantize(path + ".weight", weight);
        return new QuantizedLinear(kernels, path, w, bias == null ? null : bias.toFloatArray());
    }
}
