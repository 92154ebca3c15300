package dev.unet4j.quantization.nn;

import java.util.Map;

/**
 * Resident weight bytes of a model's conv and linear layers (weights and biases; norms and embedding tables are
 * not built through the layer factory and are not counted, they are well under 1% of a UNet), against what the
 * same layers take in float32.
 *
 * @param float32Bytes  bytes of the layers' weights and biases in float32
 * @param residentBytes bytes the built layers keep: float32 layers as float32, quantized ones as codes, float32
 *                      scales, bias (and any bias-corrected copies)
 * @param layers        how each layer was built, by module path, in build order
 */
public record WeightFootprint(long float32Bytes, long residentBytes, Map<String, LayerKind> layers) {
    public WeightFootprint {
        layers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(layers));
    }

    /** How a conv/linear layer runs. */
    public enum LayerKind {
        /** float32 weights and activations. */
        FLOAT32,
        /** INT8 or FP8 weight codes decoded per call, float32 activations. */
        W8A32,
        /** INT8 weight codes and s8 activations on the int8 kernels. */
        W8A8
    }

    /** {@code residentBytes / float32Bytes}. */
    public double ratio() {
        return float32Bytes == 0 ? 1 : (double) residentBytes / float32Bytes;
    }

    @Override
    public String toString() {
        return String.format("%,d of %,d float32 bytes (%.3fx)", residentBytes, float32Bytes, ratio());
    }
}
