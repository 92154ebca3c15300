package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.unet.LayerFactory;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Builds a model's conv/linear layers from a {@link WeightSource} (a {@link QuantizationPlan} applied at load time,
 * or a stored {@link dev.unet4j.quantization.io.QuantizedCheckpoint}): quantized layers where it yields a weight,
 * the backend's float32 layers for the rest. Plug it into a UNet load with
 * {@code LoadOptions.withLayerFactory(k -> new QuantizingLayerFactory(k, plan))} (or use {@link QuantizedUNets}).
 * The weight and bias are copied, so the builder may close them after the call.
 */
public class QuantizingLayerFactory implements LayerFactory {
    private final Kernels kernels;
    private final WeightSource weights;
    private final Map<String, QuantizedTensor> made = new LinkedHashMap<>();

    public QuantizingLayerFactory(Kernels kernels, WeightSource weights) {
        this.kernels = kernels;
        this.weights = weights;
    }

    public QuantizingLayerFactory(Kernels kernels, QuantizationPlan plan) {
        this(kernels, WeightSource.of(plan));
    }

    @Override
    public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return kernels.conv2d(spec, weight, bias);
        record(path, q.get());
        return new QuantizedConv2d(kernels, path, spec, q.get(), bias == null ? null : bias.toFloatArray());
    }

    @Override
    public Linear linear(String path, Tensor weight, Tensor bias) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return kernels.linear(weight, bias);
        record(path, q.get());
        return new QuantizedLinear(kernels, path, q.get(), bias == null ? null : bias.toFloatArray());
    }

    /** The quantized layers made so far, by module path, in build order. */
    public synchronized Map<String, QuantizedTensor> quantizedLayers() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(made));
    }

    private synchronized void record(String path, QuantizedTensor w) {
        made.put(path, w);
    }
}
