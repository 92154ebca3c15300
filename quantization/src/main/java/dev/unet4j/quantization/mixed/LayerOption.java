package dev.unet4j.quantization.mixed;

/**
 * One candidate precision of one layer.
 *
 * @param bits        weight bit width
 * @param bytes       storage of the layer at that width (packed codes plus scales)
 * @param sensitivity model output error when only this layer is quantized at {@code bits} (lower is better)
 */
public record LayerOption(int bits, long bytes, double sensitivity) {
    public LayerOption {
        if (bits <= 0 || bytes < 0 || !(sensitivity >= 0) || Double.isInfinite(sensitivity)) {
            throw new IllegalArgumentException("invalid layer option: " + bits + " bits, " + bytes + " bytes, sensitivity " + sensitivity);
        }
    }
}
