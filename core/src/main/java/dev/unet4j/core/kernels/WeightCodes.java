package dev.unet4j.core.kernels;

import dev.unet4j.core.io.Float8;

/**
 * How the 8-bit codes of a W8A32 weight ({@link Int8WeightLayer}) stand for numbers before the per-output-channel
 * scale: {@code w = value(code) * scale[o]}.
 */
public enum WeightCodes {
    /** Two's-complement int8: the code itself. */
    S8,
    /** OCP FP8 E4M3 (no infinities; {@code S.1111.111} is NaN), decoded exactly by {@link Float8#decodeE4M3}. */
    F8_E4M3,
    /** OCP FP8 E5M2 (IEEE-like: infinities and NaNs), decoded exactly by {@link Float8#decodeE5M2}. */
    F8_E5M2;

    /** The exact value of {@code code}. */
    public float value(byte code) {
        return switch (this) {
            case S8 -> code;
            case F8_E4M3 -> Float8.decodeE4M3(code);
            case F8_E5M2 -> Float8.decodeE5M2(code);
        };
    }

    /** The 256 values indexed by the unsigned code. */
    public float[] table() {
        float[] t = new float[256];
        for (int k = 0; k < 256; k++) t[k] = value((byte) k);
        return t;
    }

    /** The layer name prefix, e.g. {@code "int8-weight"} or {@code "f8_e4m3-weight"}. */
    public String label() {
        return this == S8 ? "int8-weight" : name().toLowerCase(java.util.Locale.ROOT) + "-weight";
    }
}
