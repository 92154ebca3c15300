package dev.unet4j.quantization.mixed;

import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightQuantizer;

import java.util.HashMap;
import java.util.Map;

/**
 * A layer-local {@link SensitivityProbe}: the mean squared difference between {@code X W^T} and {@code X W_b^T}
 * over recorded calibration inputs {@code X} of the layer, where {@code W_b} is the layer's INT8 per-channel
 * quantization derived to {@code b} bits by double rounding. A convolution enters as its {@code [out, in*kh*kw]}
 * matrix with im2col rows of its input. Not thread-safe (it caches each layer's quantization).
 */
public final class LinearOutputErrorProbe implements SensitivityProbe {
    /** A layer's float weights {@code [out, k]} and calibration input rows {@code [rows, k]}. */
    public record Layer(float[] weight, int out, int k, float[] inputs) {
        public Layer {
            if (weight.length != (long) out * k || inputs.length % k != 0) {
                throw new IllegalArgumentException("probe layer: " + weight.length + " weights for [" + out + ", " + k + "], "
                        + inputs.length + " inputs not rows of " + k);
            }
        }
    }

    private final Map<String, Layer> layers;
    private final Map<String, QuantizedTensor> quantized = new HashMap<>();

    public LinearOutputErrorProbe(Map<String, Layer> layers) {
        this.layers = Map.copyOf(layers);
    }

    @Override
    public double outputError(String layer, int bits) {
        Layer l = layers.get(layer);
        if (l == null) throw new IllegalArgumentException("no calibration data for layer " + layer);
        QuantizedTensor q = quantized.computeIfAbsent(layer, n -> WeightQuantizer.int8PerChannel().quantize(n, l.weight(), new long[]{l.out(), l.k()}));
        float[] wq = q.dequantize(bits);
        int rows = l.inputs().length / l.k();
        double err = 0;
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < l.out(); o++) {
                double d = 0;
                for (int i = 0; i < l.k(); i++) d += (double) (wq[o * l.k() + i] - l.weight()[o * l.k() + i]) * l.inputs()[r * l.k() + i];
                err += d * d;
            }
        }
        return err / ((double) rows * l.out());
    }
}
