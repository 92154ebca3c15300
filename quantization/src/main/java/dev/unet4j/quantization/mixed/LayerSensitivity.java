package dev.unet4j.quantization.mixed;

import java.util.List;

/**
 * The candidate precisions of one layer, for {@link MixedPrecisionKnapsack}.
 *
 * @param layer   diffusers module path
 * @param options at least one candidate
 */
public record LayerSensitivity(String layer, List<LayerOption> options) {
    public LayerSensitivity {
        options = List.copyOf(options);
        if (options.isEmpty()) throw new IllegalArgumentException("layer " + layer + " has no candidate precision");
    }

    /**
     * Storage of a layer of {@code parameters} weights with {@code channels} float32 scales at {@code bits} bits,
     * packed: {@code ceil(parameters * bits / 8) + 4 * channels} bytes.
     */
    public static long packedBytes(long parameters, int channels, int bits) {
        return Math.floorDiv(Math.multiplyExact(parameters, bits) + 7, 8) + 4L * channels;
    }
}
