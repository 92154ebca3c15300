package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightFormat;
import dev.unet4j.quantization.WeightPrecision;

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

    QuantizedWeight(String path, QuantizedTensor weight, float[] bias) {
        this.path = path;
        this.weight = weight;
        if (bias != null && bias.length != weight.channels()) {
            throw new IllegalArgumentException(path + ": bias of " + bias.length + " for " + weight.channels() + " output channels");
        }
        this.bias = bias == null ? null : Tensor.of(bias, bias.length);
    }

    String path() {
        return path;
    }

    QuantizedTensor weight() {
        return weight;
    }

    Tensor bias() {
        return bias;
    }

    /** Bits this layer runs at in {@code ws}: the workspace's precision for INT8 weights, the stored 8 for FP8. */
    int bits(Workspace ws) {
        if (weight.format() != WeightFormat.INT8) return 8;
        return ws.attributes().getOrDefault(WeightPrecision.class, WeightPrecision.STORED).bitsFor(path);
    }

    /** A fresh float32 weight tensor for one call; the caller closes it after the kernel ran. */
    Tensor decode(Workspace ws) {
        Allocator a = ws.allocator();
        Tensor w = Tensor.allocate(a, weight.shape());
        try {
            weight.decodeInto(w, bits(ws));
            return w;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    @Override
    public void close() {
        if (bias != null) bias.close();
    }
}
