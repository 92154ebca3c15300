package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.DoubleRounding;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightFormat;
import dev.unet4j.quantization.mixed.BiasCorrection;
import dev.unet4j.unet.LayerFactory;

import java.util.Collections;
import java.util.HashMap;
import java.util.function.Function;
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
    private final Function<String, float[]> inputMeans;
    private final Map<String, QuantizedTensor> made = new LinkedHashMap<>();

    public QuantizingLayerFactory(Kernels kernels, WeightSource weights) {
        this(kernels, weights, null);
    }

    /**
     * With bias correction: {@code inputMeans} gives a layer's per-input-channel mean calibration input by module
     * path (e.g. {@link dev.unet4j.quantization.activation.Calibrator#channelMeans}), or null to leave that layer's
     * bias alone. Each quantized layer then keeps a corrected bias for every precision it can run at (2..8 bits for
     * INT8, 8 for FP8), computed against the float weight it was built from.
     */
    public QuantizingLayerFactory(Kernels kernels, WeightSource weights, Function<String, float[]> inputMeans) {
        this.kernels = kernels;
        this.weights = weights;
        this.inputMeans = inputMeans;
    }

    public QuantizingLayerFactory(Kernels kernels, QuantizationPlan plan) {
        this(kernels, WeightSource.of(plan));
    }

    @Override
    public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return kernels.conv2d(spec, weight, bias);
        record(path, q.get());
        float[] b = bias == null ? null : bias.toFloatArray();
        Map<Integer, float[]> corrected = corrections(path, q.get(), weight, spec.inChannels(),
                (wf, wq, mean) -> BiasCorrection.conv2d(spec, b, wf, wq, mean));
        return new QuantizedConv2d(kernels, path, spec, q.get(), b, corrected);
    }

    @Override
    public Linear linear(String path, Tensor weight, Tensor bias) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return kernels.linear(weight, bias);
        record(path, q.get());
        float[] b = bias == null ? null : bias.toFloatArray();
        int out = (int) weight.dim(0), in = (int) weight.dim(1);
        Map<Integer, float[]> corrected = corrections(path, q.get(), weight, in,
                (wf, wq, mean) -> BiasCorrection.linear(b, wf, wq, out, in, mean));
        return new QuantizedLinear(kernels, path, q.get(), b, corrected);
    }

    private interface Corrector {
        float[] correct(float[] weight, float[] quantizedWeight, float[] meanInput);
    }

    private Map<Integer, float[]> corrections(String path, QuantizedTensor q, Tensor weight, int inChannels, Corrector corrector) {
        float[] mean = inputMeans == null ? null : inputMeans.apply(path);
        if (mean == null) return Map.of();
        if (mean.length != inChannels) {
            throw new IllegalArgumentException(path + ": " + mean.length + " input channel means for a layer of " + inChannels + " input channels");
        }
        float[] w = weight.toFloatArray();
        Map<Integer, float[]> out = new HashMap<>();
        int lowest = q.format() == WeightFormat.INT8 ? DoubleRounding.MIN_BITS : DoubleRounding.MAX_BITS;
        for (int bits = lowest; bits <= DoubleRounding.MAX_BITS; bits++) out.put(bits, corrector.correct(w, q.dequantize(bits), mean));
        return out;
    }

    /** The quantized layers made so far, by module path, in build order. */
    public synchronized Map<String, QuantizedTensor> quantizedLayers() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(made));
    }

    private synchronized void record(String path, QuantizedTensor w) {
        made.put(path, w);
    }
}
