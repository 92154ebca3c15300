package dev.unet4j.quantization;

import java.util.Map;

/**
 * The weight precision quantized INT8 layers run at, read from the session's
 * {@link dev.unet4j.core.kernels.Workspace#attributes() workspace attributes} on every forward, so one loaded
 * model serves 8-, 6-, 4- or 2-bit generations without reloading ({@link DoubleRounding}): put a different value
 * before the next generation. Absent from the attributes means {@link #STORED} (the stored 8 bits). FP8 layers
 * have no lower precision and ignore this setting.
 *
 * @param defaultBits bits for every layer without an override, 2..8
 * @param perLayer    bits by layer path (e.g. a mixed-precision assignment); may be empty
 */
public record WeightPrecision(int defaultBits, Map<String, Integer> perLayer) {
    public static final WeightPrecision STORED = uniform(8);

    public WeightPrecision {
        DoubleRounding.checkBits(defaultBits);
        perLayer = Map.copyOf(perLayer);
        perLayer.forEach((path, bits) -> DoubleRounding.checkBits(bits));
    }

    public static WeightPrecision uniform(int bits) {
        return new WeightPrecision(bits, Map.of());
    }

    /** Bits for the layer at {@code path}. */
    public int bitsFor(String path) {
        return perLayer.getOrDefault(path, defaultBits);
    }
}
