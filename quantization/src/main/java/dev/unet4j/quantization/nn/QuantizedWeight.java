package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightFormat;
import dev.unet4j.quantization.WeightPrecision;

import java.util.HashMap;
import java.util.Map;

/**
 * What a quantized layer keeps: the byte codes and scales of its weight and a float32 copy of its bias (small), plus
 * the module path the precision is looked up by. {@link #decode} materialises the float32 weight for one call
 * from the workspace's allocator (a pooled buffer in steady state), at the precision the workspace's
 * {@link WeightPrecision} asks for.
 */
final class QuantizedWeight implements AutoCloseable {
    private final String path;
    private final QuantizedTensor weight;
    private final Tensor bias; // owned; null when the layer has none
    private final Map<Integer, Tensor> correctedBias = new HashMap<>(); // owned; by bits

    /**
     * @param bias          float32 bias or null
     * @param correctedBias biases corrected for the quantization error at given bit widths (see
     *                      {@link dev.unet4j.quantization.mixed.BiasCorrection}); used instead of {@code bias} at those widths
     */
    QuantizedWeight(String path, QuantizedTensor weight, float[] bias, Map<Integer, float[]> correctedBias) {
        this.path = path;
        this.weight = weight;
        checkBias(bias, "bias");
        correctedBias.forEach((bits, b) -> checkBias(b, bits + "-bit corrected bias"));
        this.bias = bias == null ? null : Tensor.of(bias, bias.length);
        correctedBias.forEach((bits, b) -> this.correctedBias.put(bits, Tensor.of(b, b.length)));
    }

    private void checkBias(float[] b, String what) {
        if (b != null && b.length != weight.channels()) {
            throw new IllegalArgumentException(path + ": " + what + " of " + b.length + " for " + weight.channels() + " output channels");
        }
    }

    String path() {
        return path;
    }

    QuantizedTensor weight() {
        return weight;
    }

    /** The bias to use at {@code bits}: its corrected bias if there is one, else the plain bias (may be null). */
    Tensor bias(int bits) {
        return correctedBias.getOrDefault(bits, bias);
    }

    /** Bits this layer runs at in {@code ws}: the workspace's precision for INT8 weights, the stored 8 for FP8. */
    int bits(Workspace ws) {
        if (weight.format() != WeightFormat.INT8) return 8;
        return ws.attributes().getOrDefault(WeightPrecision.class, WeightPrecision.STORED).bitsFor(path);
    }

    /** A fresh float32 weight tensor at {@code bits} for one call; the caller closes it after the kernel ran. */
    Tensor decode(Workspace ws, int bits) {
        Allocator a = ws.allocator();
        Tensor w = Tensor.allocate(a, weight.shape());
        try {
            weight.decodeInto(w, bits);
            return w;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    @Override
    public void close() {
        if (bias != null) bias.close();
        correctedBias.values().forEach(Tensor::close);
    }
}
