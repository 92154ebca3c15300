package dev.unet4j.quantization.nn;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.DoubleRounding;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.mixed.BiasCorrection;
import dev.unet4j.unet.LayerFactory;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Builds a model's conv/linear layers (2-D and N-d convolutions) from a {@link WeightSource} (a {@link QuantizationPlan} applied at load time,
 * or a stored {@link dev.unet4j.quantization.io.QuantizedCheckpoint}): quantized layers where it yields a weight,
 * the backend's float32 layers for the rest. Plug it into a UNet load with
 * {@code LoadOptions.withLayerFactory(k -> new QuantizingLayerFactory(k, plan))} (or use {@link QuantizedUNets}).
 * The weight and bias are copied, so the builder may close them after the call.
 */
public class QuantizingLayerFactory implements LayerFactory {
    private final Kernels kernels;
    private final WeightSource weights;
    private final Function<String, float[]> inputMeans;
    private final Int8Activations int8Activations;
    private final Map<String, QuantizedTensor> made = new LinkedHashMap<>();
    private final Map<String, WeightFootprint.LayerKind> kinds = new LinkedHashMap<>();
    private long float32Bytes, residentBytes;

    public QuantizingLayerFactory(Kernels kernels, WeightSource weights) {
        this(kernels, weights, null);
    }

    public QuantizingLayerFactory(Kernels kernels, WeightSource weights, Function<String, float[]> inputMeans) {
        this(kernels, weights, inputMeans, null);
    }

    /**
     * With bias correction: {@code inputMeans} gives a layer's per-input-channel mean calibration input by module
     * path (e.g. {@link dev.unet4j.quantization.activation.Calibrator#channelMeans}), or null to leave that layer's
     * bias alone. Each quantized layer then keeps a corrected bias for every precision it can run at (2..8 bits for
     * INT8, 8 for FP8), computed against the float weight it was built from.
     *
     * <p>With {@code int8Activations} (null for none) INT8 layers become W8A8 {@link Int8Conv2d}/{@link Int8Linear}
     * on oneDNN's int8 kernels (so {@code kernels} must be {@link DnnlKernels}), using the 8-bit corrected bias if
     * any; FP8 layers stay W8A32. W8A8 layers keep their codes only in oneDNN's packed copy and are not listed in
     * {@link #quantizedLayers()} (which serves the double-rounding tools of W8A32 layers).
     */
    public QuantizingLayerFactory(Kernels kernels, WeightSource weights, Function<String, float[]> inputMeans, Int8Activations int8Activations) {
        if (int8Activations != null && !(kernels instanceof DnnlKernels)) {
            throw new IllegalArgumentException("W8A8 layers run on oneDNN's int8 kernels; the " + kernels.name() + " backend has none");
        }
        this.kernels = kernels;
        this.weights = weights;
        this.inputMeans = inputMeans;
        this.int8Activations = int8Activations;
    }

    public QuantizingLayerFactory(Kernels kernels, QuantizationPlan plan) {
        this(kernels, WeightSource.of(plan));
    }

    @Override
    public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return floatLayer(path, weight, bias, kernels.conv2d(spec, weight, bias));
        float[] b = bias == null ? null : bias.toFloatArray();
        Map<Integer, float[]> corrected = corrections(path, q.get(), weight, spec.inChannels(),
                (wf, wq, mean) -> BiasCorrection.conv2d(spec, b, wf, wq, mean));
        if (runsW8A8(q.get())) {
            Int8Conv2d layer = new Int8Conv2d((DnnlKernels) kernels, path, spec, q.get(), corrected.getOrDefault(8, b), int8Activations.scaleFor(path));
            return count(path, weight, bias, WeightFootprint.LayerKind.W8A8, layer.residentBytes(), layer);
        }
        record(path, q.get());
        QuantizedConv2d layer = new QuantizedConv2d(kernels, path, spec, q.get(), b, corrected);
        return count(path, weight, bias, WeightFootprint.LayerKind.W8A32, w8a32Bytes(layer, b, corrected), layer);
    }

    /**
     * N-d convolutions (volumes) through the same weight source as {@link #conv2d}: W8A8 {@link Int8ConvNd} with
     * activations, else W8A32 {@link QuantizedConvNd}; float32 on this factory's kernels where no weight is quantized.
     */
    @Override
    public ConvLayer conv(String path, ConvSpec spec, Tensor weight, Tensor bias, Kernels modelKernels) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return floatLayer(path, weight, bias, kernels.conv(spec, weight, bias));
        float[] b = bias == null ? null : bias.toFloatArray();
        Map<Integer, float[]> corrected = corrections(path, q.get(), weight, spec.inChannels(),
                (wf, wq, mean) -> BiasCorrection.conv(spec, b, wf, wq, mean));
        if (runsW8A8(q.get())) {
            Int8ConvNd layer = new Int8ConvNd((DnnlKernels) kernels, path, spec, q.get(), corrected.getOrDefault(8, b), int8Activations.scaleFor(path));
            return count(path, weight, bias, WeightFootprint.LayerKind.W8A8, layer.residentBytes(), layer);
        }
        record(path, q.get());
        QuantizedConvNd layer = new QuantizedConvNd(kernels, path, spec, q.get(), b, corrected);
        return count(path, weight, bias, WeightFootprint.LayerKind.W8A32, w8a32Bytes(layer, b, corrected), layer);
    }

    @Override
    public Linear linear(String path, Tensor weight, Tensor bias) {
        Optional<QuantizedTensor> q = weights.weightFor(path, weight);
        if (q.isEmpty()) return floatLayer(path, weight, bias, kernels.linear(weight, bias));
        float[] b = bias == null ? null : bias.toFloatArray();
        int out = (int) weight.dim(0), in = (int) weight.dim(1);
        Map<Integer, float[]> corrected = corrections(path, q.get(), weight, in,
                (wf, wq, mean) -> BiasCorrection.linear(b, wf, wq, out, in, mean));
        if (runsW8A8(q.get())) {
            Int8Linear layer = new Int8Linear((DnnlKernels) kernels, path, q.get(), corrected.getOrDefault(8, b), int8Activations.scaleFor(path));
            return count(path, weight, bias, WeightFootprint.LayerKind.W8A8, layer.residentBytes(), layer);
        }
        record(path, q.get());
        QuantizedLinear layer = new QuantizedLinear(kernels, path, q.get(), b, corrected);
        return count(path, weight, bias, WeightFootprint.LayerKind.W8A32, w8a32Bytes(layer, b, corrected), layer);
    }

    private boolean runsW8A8(QuantizedTensor q) {
        return int8Activations != null && q.format() == WeightFormat.INT8;
    }

    private static long w8a32Bytes(QuantizedLayer layer, float[] bias, Map<Integer, float[]> corrected) {
        long b = bias == null ? 0 : 4L * bias.length;
        for (float[] c : corrected.values()) b += 4L * c.length;
        return layer.weightBytes() + b;
    }

    private <L> L floatLayer(String path, Tensor weight, Tensor bias, L layer) {
        long bytes = 4L * (weight.numel() + (bias == null ? 0 : bias.numel()));
        return count(path, weight, bias, WeightFootprint.LayerKind.FLOAT32, bytes, layer);
    }

    private synchronized <L> L count(String path, Tensor weight, Tensor bias, WeightFootprint.LayerKind kind, long resident, L layer) {
        float32Bytes += 4L * (weight.numel() + (bias == null ? 0 : bias.numel()));
        residentBytes += resident;
        kinds.put(path, kind);
        return layer;
    }

    /** Resident bytes and kinds of the layers made so far. */
    public synchronized WeightFootprint footprint() {
        return new WeightFootprint(float32Bytes, residentBytes, kinds);
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
